/*
 * io_text.c - the scanner under every reader: a file read whole into memory,
 * cut into lines and white-space separated fields, and strict number parsing.
 *
 * Why whole files: the benchmark formats state counts in a header ("n
 * requests") and a reader that trusted them would allocate whatever a broken
 * or hostile header asks for.  With the file in memory the reader first counts
 * the lines that are really there and compares; every allocation is then
 * bounded by the file's size, which is itself capped (IO_MAX_FILE_BYTES).
 * The largest benchmark file is a few hundred kilobytes, a JSON instance with
 * a 2,000-location matrix some tens of megabytes, so the cost is nothing.
 *
 * Numbers: a field is a number only if strtod/strtoll consume all of it and
 * the value is finite ("nan", "inf", "12abc", "" are errors).  Integers may be
 * written as reals with a zero fraction ("3.0"), as some generators do.
 * Parsing runs in the C locale that the program never changes, so the decimal
 * separator is always '.'.
 */
#include "data/csv/csv.h"
#include "data/io/io_int.h"
#include "solver/errf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int io_text_load(io_text *t, const char *path, char *err, size_t err_len)
{
    char *buf = NULL, *p;
    size_t len = 0;
    int rc = 0;

    memset(t, 0, sizeof(*t));
    t->path = path;
    if ((rc = csv_read_file(path, IO_MAX_FILE_BYTES, &buf, &len, err, err_len)) < 0)
        return rc == CSV_ENOMEM ? IO_ENOMEM : rc == CSV_ETOOBIG ? IO_EPARSE : IO_EOPEN;
    p = memchr(buf, '\0', len);
    if (p != NULL) {
        int line = 1;
        for (char *q = buf; q < p; q++)
            line += *q == '\n';
        rc = slv_errf(err, err_len, IO_EPARSE, "%s:%d: NUL byte: not a text file", path, line);
        goto out;
    }
    t->buf = buf;
    t->len = len;
    buf = NULL;
out:
    free(buf);
    return rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int io_text_split(io_text *t, char *err, size_t err_len)
{
    size_t n_nl = 1;
    char *p, *start, *end;
    int line_no = 1, rc = 0;

    for (size_t k = 0; k < t->len; k++)
        n_nl += t->buf[k] == '\n';
    if (n_nl > (size_t)1 << 30)
        return slv_errf(err, err_len, IO_EPARSE, "%s: too many lines", t->path);
    t->line = malloc(n_nl * sizeof(*t->line));
    t->line_no = malloc(n_nl * sizeof(*t->line_no));
    if (t->line == NULL || t->line_no == NULL) {
        rc = slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", t->path);
        goto out;
    }
    t->n_lines = 0;
    start = t->buf;
    for (;;) {
        end = strchr(start, '\n');
        if (end != NULL)
            *end = '\0';
        for (p = start; *p != '\0' && is_space(*p); p++)
            ;
        if (*p != '\0') {
            size_t l = strlen(start);
            while (l > 0 && start[l - 1] == '\r')
                start[--l] = '\0';
            t->line[t->n_lines] = start;
            t->line_no[t->n_lines] = line_no;
            t->n_lines++;
        }
        if (end == NULL)
            break;
        start = end + 1;
        line_no++;
    }
out:
    return rc;
}

void io_text_cleanup(io_text *t)
{
    free(t->buf);
    free(t->line);
    free(t->line_no);
    memset(t, 0, sizeof(*t));
}

int io_fields(char *line, char **field, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        while (*p != '\0' && is_space(*p))
            p++;
        if (*p == '\0')
            break;
        if (n == max)
            return max + 1;
        field[n++] = p;
        while (*p != '\0' && !is_space(*p))
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
    return n;
}

int io_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int io_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;
    double d;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) {
        /* "3.0", "1e2": accept reals that are whole numbers */
        if (io_parse_double(s, &d) < 0 || d != floor(d) || d < -9e18 || d > 9e18)
            return -1;
        v = (long long)d;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int io_parse_clock(const char *s, double *out)
{
    int h = 0, m = 0, sec = 0, n_parts = 0;
    const char *p = s;

    for (;;) {
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || digits > 2)
            return -1;
        if (n_parts == 0)
            h = v;
        else if (n_parts == 1)
            m = v;
        else
            sec = v;
        n_parts++;
        if (*p == '\0')
            break;
        if (*p != ':' || n_parts == 3)
            return -1;
        p++;
    }
    if (n_parts < 2 || h > 48 || m > 59 || sec > 59)
        return -1;
    *out = h * 3600.0 + m * 60.0 + sec;
    return 0;
}

int io_euclid_matrix(const double *x, const double *y, int n, double **out)
{
    double *m = malloc((size_t)n * (size_t)n * sizeof(*m));

    *out = NULL;
    if (m == NULL)
        return IO_ENOMEM;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            m[(size_t)i * (size_t)n + (size_t)j] =
                sqrt((x[i] - x[j]) * (x[i] - x[j]) + (y[i] - y[j]) * (y[i] - y[j]));
    *out = m;
    return 0;
}

double io_bench_penalty(const double *dist, int n_locs, int n_requests, int n_vehicles)
{
    double big = 0;

    for (size_t k = 0; k < (size_t)n_locs * (size_t)n_locs; k++)
        if (dist[k] > big)
            big = dist[k];
    /*
     * A route set drives at most 2n + 2K arcs, each at most `big` long; the
     * solver's vehicles-first term is of the same order times 4.  A hundred
     * times that bound, and at least a million, keeps leaving a request out
     * always the worse choice.
     */
    return fmax(1e6, 100.0 * (big + 1.0) * (2.0 * n_requests + 2.0 * n_vehicles + 2.0));
}
