/*
 * jsonin.h - strict JSON input over jansson: objects with only known keys,
 * typed fields with ranges and lengths, and messages that name the field.
 *
 * Every reader of outside JSON (instance files, scenarios, the daemon's
 * configuration, HTTP request bodies) wants the same checks; this is the
 * one place they are written.  The functions never allocate and never keep
 * pointers: strings are handed back borrowed from the json_t.
 *
 * Errors: each function returns 0 (or 1 for "present and read", see the
 * jin_opt_* ones) or JIN_EINVAL, and then writes "<where>: <what>" into the
 * caller's buffer err[err_len] (NULL / 0: no message), e.g.
 *   "fleet.vehicles[2].seats: must be an integer in [1, 100], found 0"
 *   "service: unknown field \"max_wait_mn\" (known: hours, max_wait_min)"
 * where is the JSON path of the value as the caller names it ("" or NULL
 * for the top level; then the message is just <what>).  Callers add the
 * file name or wrap the message in their HTTP error as they need.
 *
 * Lengths of strings are in characters (Unicode code points), as people
 * count them; text that is not valid UTF-8 (overlong forms, surrogates,
 * code points past U+10FFFF) or that holds a NUL is refused.
 *
 * For HTTP handlers (api/server/routes.c's only_keys / opt_str / opt_int):
 *   only_keys(c, o, where, names)   -> jin_object(o, where, names, 0, ...)
 *   opt_str(c, o, key, max, &s)     -> jin_opt_str(o, key, NULL, 0, max, JIN_TEXT, &s, ...)
 *                                      (null counts as absent: JIN_NULL_ABSENT)
 *   opt_int(c, o, key, lo, hi, &x)  -> jin_opt_int(o, key, NULL, lo, hi, &x, ...)
 *                                      (takes 3.0 as 3; jin_int with JIN_STRICT_INT
 *                                      refuses it, as opt_int does today)
 * and answer 400 with the message when the result is negative.
 */
#ifndef NORIAI_DATA_JSONIN_H
#define NORIAI_DATA_JSONIN_H

#include <jansson.h>
#include <stddef.h>

#define JIN_EINVAL (-1)

/* Flags. */
#define JIN_COMMENT 1u     /* jin_object: a "comment" key is allowed too */
#define JIN_TEXT 2u        /* strings: no control characters except tab and newline */
#define JIN_NULL_ABSENT 4u /* jin_opt_str: a null value counts as absent */

/* Characters (code points) in the UTF-8 text s[0..len), or -1 if it is not
 * valid UTF-8.  NUL bytes count as characters here. */
long jin_utf8_chars(const char *s, size_t len);

/* "an object", "an array", "a string", "a number", "a boolean", "null". */
const char *jin_type_name(const json_t *v);

/* The path of a member: "where.key", or "key" when where is empty/NULL;
 * cut short (still terminated) when w is too small. */
void jin_path(char *w, size_t w_len, const char *where, const char *key);

/* v must be an object whose keys are all in allowed (NULL-terminated) - or
 * "comment" with JIN_COMMENT.  The message of an unknown key lists the
 * known ones. */
int jin_object(const json_t *v, const char *where, const char *const *allowed, unsigned flags,
               char *err, size_t err_len);

/* An integer in [lo, hi]; a number like 3.0 is taken as 3 unless flags has
 * JIN_STRICT_INT. */
#define JIN_STRICT_INT 8u
int jin_int(const json_t *v, const char *where, long long lo, long long hi, unsigned flags,
            long long *out, char *err, size_t err_len);
/* A finite number in [lo, hi]. */
int jin_number(const json_t *v, const char *where, double lo, double hi, double *out, char *err,
               size_t err_len);
/* true or false. */
int jin_bool(const json_t *v, const char *where, int *out, char *err, size_t err_len);
/* A string of min_chars..max_chars characters (see above); *out borrows
 * from v.  flags: JIN_TEXT. */
int jin_str(const json_t *v, const char *where, size_t min_chars, size_t max_chars, unsigned flags,
            const char **out, char *err, size_t err_len);

/* Optional members of object obj: 0 when key is absent (*out untouched), 1
 * when present and valid (*out set), JIN_EINVAL otherwise.  where is the
 * path of obj; messages name "where.key". */
int jin_opt_int(const json_t *obj, const char *key, const char *where, int lo, int hi, int *out,
                char *err, size_t err_len);
int jin_opt_number(const json_t *obj, const char *key, const char *where, double lo, double hi,
                   double *out, char *err, size_t err_len);
int jin_opt_bool(const json_t *obj, const char *key, const char *where, int *out, char *err,
                 size_t err_len);
/* flags: JIN_TEXT, JIN_NULL_ABSENT. */
int jin_opt_str(const json_t *obj, const char *key, const char *where, size_t min_chars,
                size_t max_chars, unsigned flags, const char **out, char *err, size_t err_len);

#endif
