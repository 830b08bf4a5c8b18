/*
 * jsonin.c - strict JSON input (jsonin.h).
 *
 * Each check is a type test, then a range or length test, and on failure
 * one message "<where>: <what>" that says what was expected and what was
 * found, so that a person can fix the file or the request without reading
 * code.  Numbers are compared as jansson holds them: integers as
 * json_int_t, reals as doubles (NaN and infinities cannot come from a JSON
 * text, but a real must still be finite to pass).
 *
 * jin_utf8_chars follows RFC 3629: a lead byte says how many continuation
 * bytes (10xxxxxx) follow; overlong encodings, UTF-16 surrogates
 * (U+D800..U+DFFF) and code points above U+10FFFF are invalid.  jansson
 * already refuses invalid UTF-8 in what it parses, but strings can also be
 * built by hand (json_stringn_nocheck), and the counter serves headers and
 * query strings too.
 *
 * Cost: linear in the text of the value checked; nothing allocates.
 */
#include "data/json/jsonin.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int jfail(char *err, size_t err_len, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int jfail(char *err, size_t err_len, const char *where, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (err == NULL || err_len == 0)
        return JIN_EINVAL;
    if (where != NULL && *where != '\0')
        n = snprintf(err, err_len, "%s: ", where);
    if (n < 0 || (size_t)n >= err_len)
        return JIN_EINVAL; /* the path alone filled the buffer */
    va_start(ap, fmt);
    vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return JIN_EINVAL;
}

long jin_utf8_chars(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long n = 0;

    while (p < end) {
        unsigned c = *p++;
        unsigned long cp;
        int more;

        if (c < 0x80) {
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return -1; /* a continuation byte, 0xc0/0xc1 (overlong) or past U+10FFFF */
        }
        if (end - p < more)
            return -1;
        for (int k = 0; k < more; k++, p++) {
            if ((*p & 0xc0) != 0x80)
                return -1;
            cp = cp << 6 | (*p & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        n++;
    }
    return n;
}

const char *jin_type_name(const json_t *v)
{
    if (v == NULL)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

void jin_path(char *w, size_t w_len, const char *where, const char *key)
{
    if (w_len == 0)
        return;
    if (where == NULL || *where == '\0')
        snprintf(w, w_len, "%s", key);
    else
        snprintf(w, w_len, "%s.%s", where, key);
}

int jin_object(const json_t *v, const char *where, const char *const *allowed, unsigned flags,
               char *err, size_t err_len)
{
    const char *key;
    json_t *val;

    if (!json_is_object(v))
        return jfail(err, err_len, where, "expected an object, found %s", jin_type_name(v));
    /* json_object_foreach wants a non-const object; it does not change it. */
    json_object_foreach((json_t *)v, key, val)
    {
        int ok = (flags & JIN_COMMENT) && strcmp(key, "comment") == 0;
        char list[400] = "";
        size_t used = 0;

        for (int k = 0; !ok && allowed[k] != NULL; k++)
            ok = strcmp(key, allowed[k]) == 0;
        if (ok)
            continue;
        for (int k = 0; allowed[k] != NULL && used < sizeof(list); k++) {
            int n = snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "", allowed[k]);
            used = n < 0 ? sizeof(list) : used + (size_t)n;
        }
        return jfail(err, err_len, where, "unknown field \"%s\" (known: %s%s)", key, list,
                     (flags & JIN_COMMENT) ? ", comment" : "");
    }
    return 0;
}

int jin_int(const json_t *v, const char *where, long long lo, long long hi, unsigned flags,
            long long *out, char *err, size_t err_len)
{
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!(flags & JIN_STRICT_INT) && json_is_real(v)) {
        double x = json_real_value(v);

        if (isfinite(x) && x == floor(x) && x >= (double)lo && x <= (double)hi) {
            *out = (long long)x;
            return 0;
        }
    }
    if (json_is_integer(v))
        return jfail(err, err_len, where, "must be an integer in [%lld, %lld], found %lld", lo, hi,
                     (long long)json_integer_value(v));
    if (json_is_number(v))
        return jfail(err, err_len, where, "must be an integer in [%lld, %lld], found %g", lo, hi,
                     json_number_value(v));
    return jfail(err, err_len, where, "must be an integer in [%lld, %lld], found %s", lo, hi,
                 jin_type_name(v));
}

int jin_number(const json_t *v, const char *where, double lo, double hi, double *out, char *err,
               size_t err_len)
{
    double x;

    if (!json_is_number(v))
        return jfail(err, err_len, where, "must be a number in [%g, %g], found %s", lo, hi,
                     jin_type_name(v));
    x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi)
        return jfail(err, err_len, where, "must be a number in [%g, %g], found %g", lo, hi, x);
    *out = x;
    return 0;
}

int jin_bool(const json_t *v, const char *where, int *out, char *err, size_t err_len)
{
    if (!json_is_boolean(v))
        return jfail(err, err_len, where, "must be true or false, found %s", jin_type_name(v));
    *out = json_is_true(v);
    return 0;
}

int jin_str(const json_t *v, const char *where, size_t min_chars, size_t max_chars, unsigned flags,
            const char **out, char *err, size_t err_len)
{
    const char *s;
    size_t len;
    long chars;

    if (!json_is_string(v))
        return jfail(err, err_len, where, "must be a string, found %s", jin_type_name(v));
    s = json_string_value(v);
    len = json_string_length(v);
    if (strlen(s) != len)
        return jfail(err, err_len, where, "must not contain NUL characters");
    chars = jin_utf8_chars(s, len);
    if (chars < 0)
        return jfail(err, err_len, where, "is not valid UTF-8 text");
    if (min_chars > 0 && chars == 0)
        return jfail(err, err_len, where, "must not be empty");
    if ((size_t)chars < min_chars)
        return jfail(err, err_len, where, "is shorter than %zu characters", min_chars);
    if ((size_t)chars > max_chars)
        return jfail(err, err_len, where, "is longer than %zu characters", max_chars);
    if (flags & JIN_TEXT) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                return jfail(err, err_len, where, "holds control characters");
    }
    *out = s;
    return 0;
}

int jin_opt_int(const json_t *obj, const char *key, const char *where, int lo, int hi, int *out,
                char *err, size_t err_len)
{
    json_t *v = json_object_get(obj, key);
    char w[256];
    long long x;

    if (v == NULL)
        return 0;
    jin_path(w, sizeof(w), where, key);
    if (jin_int(v, w, lo, hi, 0, &x, err, err_len) < 0)
        return JIN_EINVAL;
    *out = (int)x;
    return 1;
}

int jin_opt_number(const json_t *obj, const char *key, const char *where, double lo, double hi,
                   double *out, char *err, size_t err_len)
{
    json_t *v = json_object_get(obj, key);
    char w[256];

    if (v == NULL)
        return 0;
    jin_path(w, sizeof(w), where, key);
    return jin_number(v, w, lo, hi, out, err, err_len) < 0 ? JIN_EINVAL : 1;
}

int jin_opt_bool(const json_t *obj, const char *key, const char *where, int *out, char *err,
                 size_t err_len)
{
    json_t *v = json_object_get(obj, key);
    char w[256];

    if (v == NULL)
        return 0;
    jin_path(w, sizeof(w), where, key);
    return jin_bool(v, w, out, err, err_len) < 0 ? JIN_EINVAL : 1;
}

int jin_opt_str(const json_t *obj, const char *key, const char *where, size_t min_chars,
                size_t max_chars, unsigned flags, const char **out, char *err, size_t err_len)
{
    json_t *v = json_object_get(obj, key);
    char w[256];

    if (v == NULL || ((flags & JIN_NULL_ABSENT) && json_is_null(v)))
        return 0;
    jin_path(w, sizeof(w), where, key);
    return jin_str(v, w, min_chars, max_chars, flags, out, err, err_len) < 0 ? JIN_EINVAL : 1;
}
