/*
 * io_int.h - private to data/io/: the text scanner, error formatting, id
 * tables and the per-format readers.  Nothing outside data/io includes this.
 */
#ifndef NORIAI_IO_INT_H
#define NORIAI_IO_INT_H

#include "data/io/io.h"

#include <stdarg.h>

/* No file is read into memory beyond this size. */
#define IO_MAX_FILE_BYTES ((size_t)256 << 20)
/* Locations given as coordinates become an n x n matrix; this bounds n. */
#define IO_MAX_LOCS 20000

/* A whole file in memory, NUL-terminated, cut into its non-blank lines. */
typedef struct io_text {
    const char *path;
    char *buf;
    size_t len;
    int n_lines;
    char **line;  /* [n_lines] NUL-terminated, trailing CR removed */
    int *line_no; /* [n_lines] 1-based line number in the file */
} io_text;

/*
 * Reads path into t->buf (NUL-terminated).  Refuses files larger than
 * IO_MAX_FILE_BYTES and files with NUL bytes (not text).
 */
int io_text_load(io_text *t, const char *path, char *err, size_t err_len);
/* Cuts t->buf in place into non-blank lines. */
int io_text_split(io_text *t, char *err, size_t err_len);
void io_text_cleanup(io_text *t);

/*
 * Splits line in place at white space into at most max fields; returns the
 * number of fields, or max + 1 if there are more.
 */
int io_fields(char *line, char **field, int max);

/* Whole-token numbers: finite doubles; integers within [lo, hi]. 0 or -1. */
int io_parse_double(const char *s, double *out);
int io_parse_int(const char *s, long long lo, long long hi, long long *out);

/* ids */
int io_id_set(io_id *id, const char *text, int numeric);
int io_id_set_int(io_id *id, long long v);
void io_ids_free(io_id *ids, int n);
/*
 * Sorts indices 0..n-1 of ids by text into *order (new array).  If two ids are
 * equal, *dup_a and *dup_b receive their indices (else -1) and 0 is returned
 * all the same; the caller decides whether that is an error.
 */
int io_ids_index(const io_id *ids, int n, int **order, int *dup_a, int *dup_b);
/* Index of text among ids via order, or -1. */
int io_ids_find(const io_id *ids, const int *order, int n, const char *text);

/*
 * Allocates in's id arrays for the given sizes (all texts NULL; loc_id and
 * dim_name are kept if a reader made them already) and creates the solver
 * instance.  Counts must already be bounded by the caller.
 */
int io_instance_alloc(io_instance *in, int n_requests, int n_vehicles, int n_locs, int n_dims);

/* Euclidean matrix over n points; *out receives a new n*n array. */
int io_euclid_matrix(const double *x, const double *y, int n, double **out);

/*
 * The benchmark fleet: k identical vehicles (ids 1..k) from start_loc to
 * end_loc, capacity cap in the single load dimension, the given shift and
 * duration limit; and the benchmark objective (distance, with vehicles_first
 * for Li & Lim).  Returns 0 or IO_ENOMEM.
 */
/*
 * A benchmark instance's common part: the solver instance over n_locs
 * Euclidean points (x, y), one load dimension "load", location ids 0..n-1.
 * *mat receives the matrix (caller frees), *penalty the unserved penalty
 * for its requests.  On error err says why, naming path.
 */
int io_bench_setup(io_instance *in, const char *path, int n_req, int k_veh, int n_locs,
                   const double *x, const double *y, double **mat, double *penalty, char *err,
                   size_t err_len);

int io_bench_fleet(io_instance *in, int k, int start_loc, int end_loc, int cap, double shift_start,
                   double shift_end, double max_duration, int vehicles_first);

/*
 * Penalty that makes the solver serve every request of a benchmark: far
 * above the cost of any route set (and of any vehicle count term).
 */
double io_bench_penalty(const double *dist, int n_locs, int n_requests, int n_vehicles);

/* Per-format readers: fill in (ids, in->inst) from the loaded file. */
int io_read_cordeau(io_instance *in, io_text *t, char *err, size_t err_len);
int io_read_lilim(io_instance *in, io_text *t, char *err, size_t err_len);
int io_read_json(io_instance *in, io_text *t, char *err, size_t err_len);

/* Parses "HH:MM" or "HH:MM:SS" into seconds; 0 or -1. */
int io_parse_clock(const char *s, double *out);

#endif
