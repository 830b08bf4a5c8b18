/*
 * csv.c - the strict RFC 4180 reader behind every outside table.
 *
 * The input is copied whole into one buffer with a NUL after its end (files
 * are capped at CSV_MAX_FILE_BYTES, so memory is bounded by the input, never
 * by anything the input says).  csv_next scans one record from the current
 * position and cuts it in place: an unquoted field is already its own text
 * and only gets a NUL where its delimiter was; a quoted field is copied
 * leftwards over its own opening quote as "" pairs collapse, so the write
 * position never passes the read position and nothing unread is overwritten.
 * Bytes before the read position are never touched again, which keeps the
 * header's strings (cut first) valid for the reader's life.
 *
 * Line numbers count '\n' bytes consumed, including those inside quoted
 * fields, so csv_line is the file line where a record starts - what a person
 * looks for in an editor.
 *
 * Strictness is deliberate: a stray quote or a lone carriage return usually
 * means a file in another dialect or a broken export, and guessing would
 * silently shift columns.  The error names the line so the file can be fixed.
 *
 * Cost: one pass over the input per record, O(fields) extra memory for the
 * field pointer array (at most CSV_MAX_FIELDS).
 */
#include "data/csv/csv.h"
#include "solver/errf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct csv_reader {
    char *name;
    char *buf; /* len bytes of input and a NUL */
    size_t len;
    size_t pos;   /* next byte to read */
    int line;     /* 1-based line of buf[pos] */
    int row_line; /* line where the current row starts */
    int failed;   /* first error returned by csv_next, returned again after */
    char **field;
    int n_field, cap_field;
    char **hdr; /* header names, trimmed; point into buf */
    int n_hdr;
};

static const char *const csv_msgs[] = {
#define CSV_ERR_MSG(name, code, msg) [-(code)] = msg,
    CSV_ERRNO_MAP(CSV_ERR_MSG)
#undef CSV_ERR_MSG
};

const char *csv_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && (size_t)-err < sizeof(csv_msgs) / sizeof(csv_msgs[0]) && csv_msgs[-err])
        return csv_msgs[-err];
    return "unknown error";
}

/* Takes buf (len bytes + NUL) into a new reader; frees buf on failure. */
static int reader_make(const char *name, char *buf, size_t len, csv_reader **out, char *err,
                       size_t err_len)
{
    csv_reader *r = NULL;
    const char *nul = memchr(buf, '\0', len);
    int rc = 0;

    if (nul != NULL) {
        int line = 1;
        for (const char *q = buf; q < nul; q++)
            line += *q == '\n';
        rc = slv_errf(err, err_len, CSV_EFORMAT, "%s:%d: NUL byte: not a text file", name, line);
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || (r->name = strdup(name)) == NULL) {
        rc = slv_errf(err, err_len, CSV_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    r->buf = buf;
    r->len = len;
    buf = NULL;
    r->line = 1;
    if (len >= 3 && (unsigned char)r->buf[0] == 0xEF && (unsigned char)r->buf[1] == 0xBB &&
        (unsigned char)r->buf[2] == 0xBF)
        r->pos = 3;
    *out = r;
    r = NULL;
out:
    free(buf);
    csv_destroy(r);
    return rc;
}

int csv_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len, char *err,
                  size_t err_len)
{
    FILE *f = NULL;
    char *buf = NULL, *p;
    size_t cap = 0, len = 0, got, hint = 65536;
    struct stat st;
    int rc = 0;

    if (path == NULL || out == NULL || out_len == NULL)
        return slv_errf(err, err_len, CSV_EINVAL, "csv_read_file: no path or output");
    *out = NULL;
    *out_len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = slv_errf(err, err_len, CSV_EOPEN, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            rc = slv_errf(err, err_len, CSV_EOPEN, "%s: is a folder, not a file", path);
            goto out;
        }
        if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max_bytes) {
            rc = slv_errf(err, err_len, CSV_ETOOBIG, "%s: file larger than %zu bytes", path,
                          max_bytes);
            goto out;
        }
        if (S_ISREG(st.st_mode))
            hint = (size_t)st.st_size + 2; /* the NUL, and room to see the end */
    }
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : hint;
            if (ncap > max_bytes + 2)
                ncap = max_bytes + 2;
            if (len + 1 >= ncap) {
                rc = slv_errf(err, err_len, CSV_ETOOBIG, "%s: file larger than %zu bytes", path,
                              max_bytes);
                goto out;
            }
            p = realloc(buf, ncap);
            if (p == NULL) {
                rc = slv_errf(err, err_len, CSV_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = p;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = slv_errf(err, err_len, CSV_EOPEN, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (len > max_bytes) {
        rc = slv_errf(err, err_len, CSV_ETOOBIG, "%s: file larger than %zu bytes", path, max_bytes);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

int csv_open_file(const char *path, csv_reader **out, char *err, size_t err_len)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (path == NULL || out == NULL)
        return slv_errf(err, err_len, CSV_EINVAL, "csv_open_file: no path or output");
    *out = NULL;
    if ((rc = csv_read_file(path, CSV_MAX_FILE_BYTES, &buf, &len, err, err_len)) < 0)
        return rc;
    return reader_make(path, buf, len, out, err, err_len);
}

int csv_open_mem(const char *name, const char *buf, size_t len, csv_reader **out, char *err,
                 size_t err_len)
{
    char *copy;

    if (name == NULL || out == NULL || (buf == NULL && len > 0))
        return slv_errf(err, err_len, CSV_EINVAL, "csv_open_mem: no name, buffer or output");
    *out = NULL;
    if (len > CSV_MAX_FILE_BYTES)
        return slv_errf(err, err_len, CSV_ETOOBIG, "%s: larger than %zu bytes", name,
                        CSV_MAX_FILE_BYTES);
    copy = malloc(len + 1);
    if (copy == NULL)
        return slv_errf(err, err_len, CSV_ENOMEM, "%s: out of memory", name);
    if (len > 0)
        memcpy(copy, buf, len);
    copy[len] = '\0';
    return reader_make(name, copy, len, out, err, err_len);
}

void csv_destroy(csv_reader *r)
{
    if (r == NULL)
        return;
    free(r->name);
    free(r->buf);
    free(r->field);
    free(r->hdr);
    free(r);
}

static int push_field(csv_reader *r, char *s, char *err, size_t err_len)
{
    if (r->n_field == r->cap_field) {
        int ncap = r->cap_field ? r->cap_field * 2 : 32;
        char **p;

        if (r->n_field >= CSV_MAX_FIELDS)
            return slv_errf(err, err_len, CSV_EFORMAT, "%s:%d: more than %d fields in a row",
                            r->name, r->row_line, CSV_MAX_FIELDS);
        if (ncap > CSV_MAX_FIELDS)
            ncap = CSV_MAX_FIELDS;
        p = realloc(r->field, (size_t)ncap * sizeof(*p));
        if (p == NULL)
            return slv_errf(err, err_len, CSV_ENOMEM, "%s: out of memory", r->name);
        r->field = p;
        r->cap_field = ncap;
    }
    r->field[r->n_field++] = s;
    return 0;
}

/* Reads one field starting at r->pos; *end_of_row set when the row ends. */
static int read_field(csv_reader *r, int *end_of_row, char *err, size_t err_len)
{
    char *b = r->buf;
    size_t start = r->pos, w = r->pos;
    char c;
    int rc;

    if (b[r->pos] == '"') {
        int open_line = r->line;

        r->pos++;
        for (;;) {
            if (r->pos >= r->len)
                return slv_errf(err, err_len, CSV_EFORMAT,
                                "%s:%d: quoted field not closed (the quote opens here)", r->name,
                                open_line);
            c = b[r->pos];
            if (c == '"') {
                if (b[r->pos + 1] != '"') {
                    r->pos++;
                    break;
                }
                r->pos++;
            } else if (c == '\n') {
                if (r->line == INT_MAX)
                    return slv_errf(err, err_len, CSV_ETOOBIG, "%s: too many lines", r->name);
                r->line++;
            }
            b[w++] = c;
            r->pos++;
        }
        c = b[r->pos];
        if (!(r->pos >= r->len || c == ',' || c == '\n' || (c == '\r' && b[r->pos + 1] == '\n')))
            return slv_errf(err, err_len, CSV_EFORMAT,
                            "%s:%d: text after the closing quote of a field (a quote inside a "
                            "quoted field is written \"\")",
                            r->name, r->line);
    } else {
        for (;;) {
            c = b[r->pos];
            if (r->pos >= r->len || c == ',' || c == '\n')
                break;
            if (c == '\r') {
                if (b[r->pos + 1] == '\n')
                    break;
                return slv_errf(err, err_len, CSV_EFORMAT,
                                "%s:%d: carriage return without a line feed outside quotes",
                                r->name, r->line);
            }
            if (c == '"')
                return slv_errf(err, err_len, CSV_EFORMAT,
                                "%s:%d: quote inside an unquoted field (quote the whole field "
                                "and write the quote as \"\")",
                                r->name, r->line);
            r->pos++;
        }
        w = r->pos;
    }
    /* c is the delimiter (or the NUL after the input); cut the field. */
    if (r->pos >= r->len) {
        *end_of_row = 1;
    } else if (c == ',') {
        r->pos++;
    } else {
        r->pos += c == '\r' ? 2 : 1;
        if (r->line == INT_MAX)
            return slv_errf(err, err_len, CSV_ETOOBIG, "%s: too many lines", r->name);
        r->line++;
        *end_of_row = 1;
    }
    b[w] = '\0';
    rc = push_field(r, b + start, err, err_len);
    return rc;
}

int csv_next(csv_reader *r, char *err, size_t err_len)
{
    int end_of_row = 0, rc;

    if (r == NULL)
        return slv_errf(err, err_len, CSV_EINVAL, "csv_next: no reader");
    if (r->failed < 0)
        return slv_errf(err, err_len, r->failed, "%s:%d: reading stopped at an earlier error",
                        r->name, r->line);
    r->n_field = 0;
    /* Empty lines carry no record. */
    while (r->pos < r->len) {
        char c = r->buf[r->pos];
        if (c == '\n')
            r->pos++;
        else if (c == '\r' && r->buf[r->pos + 1] == '\n')
            r->pos += 2;
        else
            break;
        if (r->line == INT_MAX)
            return r->failed = slv_errf(err, err_len, CSV_ETOOBIG, "%s: too many lines", r->name);
        r->line++;
    }
    if (r->pos >= r->len)
        return 0;
    r->row_line = r->line;
    while (!end_of_row) {
        rc = read_field(r, &end_of_row, err, err_len);
        if (rc < 0) {
            r->n_field = 0;
            return r->failed = rc;
        }
    }
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int csv_read_header(csv_reader *r, char *err, size_t err_len)
{
    int rc;

    if (r == NULL)
        return slv_errf(err, err_len, CSV_EINVAL, "csv_read_header: no reader");
    rc = csv_next(r, err, err_len);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return slv_errf(err, err_len, CSV_EHEADER, "%s: empty file, expected a header row",
                        r->name);
    free(r->hdr);
    r->n_hdr = 0;
    r->hdr = malloc((size_t)r->n_field * sizeof(*r->hdr));
    if (r->hdr == NULL)
        return slv_errf(err, err_len, CSV_ENOMEM, "%s: out of memory", r->name);
    for (int i = 0; i < r->n_field; i++) {
        char *s = r->field[i];
        size_t l;

        while (is_blank(*s))
            s++;
        l = strlen(s);
        while (l > 0 && is_blank(s[l - 1]))
            s[--l] = '\0';
        if (l == 0)
            return slv_errf(err, err_len, CSV_EHEADER, "%s:%d: header column %d has no name",
                            r->name, r->row_line, i + 1);
        for (int j = 0; j < i; j++)
            if (strcmp(r->hdr[j], s) == 0)
                return slv_errf(err, err_len, CSV_EHEADER,
                                "%s:%d: header names column \"%s\" twice", r->name, r->row_line, s);
        r->hdr[i] = s;
        r->n_hdr = i + 1;
    }
    return 0;
}

int csv_col(const csv_reader *r, const char *name)
{
    if (r == NULL || name == NULL)
        return -1;
    for (int i = 0; i < r->n_hdr; i++)
        if (strcmp(r->hdr[i], name) == 0)
            return i;
    return -1;
}

int csv_n_cols(const csv_reader *r)
{
    return r != NULL ? r->n_hdr : 0;
}

int csv_n_fields(const csv_reader *r)
{
    return r != NULL ? r->n_field : 0;
}

const char *csv_field(const csv_reader *r, int i)
{
    if (r == NULL || i < 0 || i >= r->n_field)
        return NULL;
    return r->field[i];
}

int csv_line(const csv_reader *r)
{
    return r != NULL ? r->row_line : 0;
}

const char *csv_name(const csv_reader *r)
{
    return r != NULL ? r->name : "";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skips blanks, then a number per the grammar; *end after the number or NULL. */
static const char *scan_number(const char *s, int real, const char **end)
{
    const char *p = s, *start;
    int digits = 0;

    *end = NULL;
    while (is_blank(*p))
        p++;
    start = p;
    if (*p == '+' || *p == '-')
        p++;
    while (is_digit(*p)) {
        p++;
        digits++;
    }
    if (real && *p == '.') {
        p++;
        while (is_digit(*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return start;
    if (real && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        int exp_digits = 0;
        if (*q == '+' || *q == '-')
            q++;
        while (is_digit(*q)) {
            q++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return start;
        p = q;
    }
    *end = p;
    while (is_blank(*p))
        p++;
    if (*p != '\0')
        *end = NULL;
    return start;
}

int csv_parse_double(const char *s, double lo, double hi, double *out)
{
    const char *start, *end;
    char *stop;
    double v;

    if (s == NULL || out == NULL)
        return CSV_EVALUE;
    start = scan_number(s, 1, &end);
    if (end == NULL)
        return CSV_EVALUE;
    errno = 0;
    v = strtod(start, &stop);
    if (stop != end || !isfinite(v) || !(v >= lo && v <= hi))
        return CSV_EVALUE;
    *out = v;
    return 0;
}

int csv_parse_long(const char *s, long lo, long hi, long *out)
{
    const char *start, *end;
    char *stop;
    long v;

    if (s == NULL || out == NULL)
        return CSV_EVALUE;
    start = scan_number(s, 0, &end);
    if (end == NULL)
        return CSV_EVALUE;
    errno = 0;
    v = strtol(start, &stop, 10);
    if (stop != end || errno == ERANGE || v < lo || v > hi)
        return CSV_EVALUE;
    *out = v;
    return 0;
}

int csv_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (s == NULL)
        return 0;
    while (*p != '\0') {
        unsigned cp;
        int more;

        if (*p < 0x80) {
            p++;
            continue;
        }
        if (*p >= 0xC2 && *p <= 0xDF) {
            cp = *p & 0x1F;
            more = 1;
        } else if (*p >= 0xE0 && *p <= 0xEF) {
            cp = *p & 0x0F;
            more = 2;
        } else if (*p >= 0xF0 && *p <= 0xF4) {
            cp = *p & 0x07;
            more = 3;
        } else {
            return 0;
        }
        p++;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p & 0x3F);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    return 1;
}
