/*
 * csv.h - a small, strict reader for comma-separated files from outside
 * (RFC 4180): GTFS tables, stop lists, demand replays, area bundle tables.
 *
 * The whole input is held in memory (a file is capped at CSV_MAX_FILE_BYTES)
 * and rows are cut in place, so field pointers stay valid until the next
 * csv_next or csv_destroy.  Accepted: an optional UTF-8 byte order mark,
 * fields quoted with '"' (with "" for a quote, and commas and line breaks
 * inside), CRLF or LF line ends, a last line without a line end.  Empty lines
 * are skipped.  Refused with an error naming the source and the line: an
 * unterminated quote, a quote inside an unquoted field, text after a closing
 * quote, a carriage return not followed by a line feed outside quotes, a NUL
 * byte, a row with more than CSV_MAX_FIELDS fields.
 *
 * Typical use:
 *
 *   csv_reader *r;
 *   if (csv_open_file(path, &r, err, len) < 0 || csv_read_header(r, err, len) < 0) ...
 *   int lat = csv_col(r, "stop_lat");
 *   while ((rc = csv_next(r, err, len)) > 0) {
 *       const char *s = csv_field(r, lat);  // NULL if the row is too short
 *       ... messages use csv_name(r), csv_line(r)
 *   }
 *   csv_destroy(r);
 *
 * Ownership: a reader owns its copy of the data; field and header strings
 * belong to it.  One reader is used by one thread at a time.
 */
#ifndef NORIAI_CSV_H
#define NORIAI_CSV_H

#include <stddef.h>

#define CSV_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(TOOBIG, -4, "input too large")                                                               \
    X(FORMAT, -5, "malformed CSV")                                                                 \
    X(HEADER, -6, "bad or missing header")                                                         \
    X(VALUE, -7, "bad value in a field")

enum {
#define CSV_ERR_ENUM(name, code, msg) CSV_E##name = (code),
    CSV_ERRNO_MAP(CSV_ERR_ENUM)
#undef CSV_ERR_ENUM
};

const char *csv_strerror(int err);

/* Inputs above this are refused (CSV_ETOOBIG). */
#define CSV_MAX_FILE_BYTES ((size_t)512 << 20)
/* Rows with more fields than this are refused (CSV_EFORMAT). */
#define CSV_MAX_FIELDS 4096

typedef struct csv_reader csv_reader;

/* Reads a whole file.  Messages start with path. */
int csv_open_file(const char *path, csv_reader **out, char *err, size_t err_len);

/*
 * A whole file into *out (NUL-terminated, *out_len bytes before the NUL;
 * the caller frees it), refusing folders and files over max_bytes before
 * holding more than that.  0 or CSV_EOPEN / CSV_ETOOBIG / CSV_ENOMEM with a
 * message starting with path.  (Any text reader of the project uses it.)
 */
int csv_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len, char *err,
                  size_t err_len);
/* Reads from a copy of buf[0..len).  name (e.g. "feed.zip:stops.txt") starts
 * messages; it is copied. */
int csv_open_mem(const char *name, const char *buf, size_t len, csv_reader **out, char *err,
                 size_t err_len);
void csv_destroy(csv_reader *r);

/* Reads the next row as the header: names must be non-empty and distinct
 * (surrounding blanks are ignored).  CSV_EHEADER if the input is empty. */
int csv_read_header(csv_reader *r, char *err, size_t err_len);
/* Index of the header column called name, or -1. */
int csv_col(const csv_reader *r, const char *name);
int csv_n_cols(const csv_reader *r);

/* Advances to the next row: 1 if there is one, 0 at the end, or CSV_E*. */
int csv_next(csv_reader *r, char *err, size_t err_len);
/* Fields of the current row; csv_field is NULL when i is out of range. */
int csv_n_fields(const csv_reader *r);
const char *csv_field(const csv_reader *r, int i);
/* 1-based line of the start of the current row (or of the header). */
int csv_line(const csv_reader *r);
/* The name given at opening (the path for files). */
const char *csv_name(const csv_reader *r);

/*
 * Numbers in fields, strictly: optional blanks around, then a decimal number
 * (sign, digits, '.', exponent for doubles; sign and digits for longs) that
 * must fill the field, finite and within [lo, hi].  0 or CSV_EVALUE; *out is
 * written only on success.
 */
int csv_parse_double(const char *s, double lo, double hi, double *out);
int csv_parse_long(const char *s, long lo, long hi, long *out);

/* 1 if s is well-formed UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF), else 0. */
int csv_utf8_valid(const char *s);

#endif
