/*
 * io_instance.c - the io_instance: a solver instance plus the ids its file
 * gave to stops, requests, vehicles and locations.
 *
 * io_read_instance loads the file whole (io_text.c), picks the format (given,
 * or guessed from the name and the first line), hands the text to the
 * format's reader, then finalizes the solver instance and indexes the ids.
 *
 * Ids are kept as text with a flag saying whether the file wrote a number,
 * so that a solution names nodes exactly as the instance file did.  Lookups
 * go through an index array sorted by text and a binary search: O(log n) per
 * id, one allocation per table, and duplicates show up as equal neighbours.
 * Solution reading is the only heavy user (one lookup per stop).
 */
#include "data/io/io_int.h"
#include "solver/errf.h"

#include <stdlib.h>
#include <string.h>

const char *io_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define IO_ERR_CASE(name, code, msg)                                                               \
    case code:                                                                                     \
        return msg;
        IO_ERRNO_MAP(IO_ERR_CASE)
#undef IO_ERR_CASE
    default:
        return "unknown error";
    }
}

int io_format_parse(const char *name, io_format *out)
{
    static const struct {
        const char *name;
        io_format fmt;
    } names[] = {
        {"auto", IO_FORMAT_AUTO},   {"cordeau", IO_FORMAT_CORDEAU}, {"darp", IO_FORMAT_CORDEAU},
        {"lilim", IO_FORMAT_LILIM}, {"pdptw", IO_FORMAT_LILIM},     {"json", IO_FORMAT_JSON},
    };

    if (name == NULL) {
        *out = IO_FORMAT_AUTO;
        return 0;
    }
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (strcmp(name, names[k].name) == 0) {
            *out = names[k].fmt;
            return 0;
        }
    }
    return IO_EINVAL;
}

const char *io_format_name(io_format fmt)
{
    switch (fmt) {
    case IO_FORMAT_CORDEAU:
        return "cordeau";
    case IO_FORMAT_LILIM:
        return "lilim";
    case IO_FORMAT_JSON:
        return "json";
    default:
        return "auto";
    }
}

int io_id_set(io_id *id, const char *text, int numeric)
{
    char *c = strdup(text);

    if (c == NULL)
        return IO_ENOMEM;
    free(id->text);
    id->text = c;
    id->numeric = numeric;
    return 0;
}

int io_id_set_int(io_id *id, long long v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", v);
    return io_id_set(id, buf, 1);
}

void io_ids_free(io_id *ids, int n)
{
    if (ids == NULL)
        return;
    for (int k = 0; k < n; k++)
        free(ids[k].text);
    free(ids);
}

/* qsort has no context argument; the table being sorted is passed this way. */
static _Thread_local const io_id *sort_ids;

static int cmp_index(const void *a, const void *b)
{
    const char *ta = sort_ids[*(const int *)a].text, *tb = sort_ids[*(const int *)b].text;
    int c = strcmp(ta ? ta : "", tb ? tb : "");

    if (c != 0)
        return c;
    return *(const int *)a - *(const int *)b;
}

int io_ids_index(const io_id *ids, int n, int **order, int *dup_a, int *dup_b)
{
    int *o = malloc(((size_t)n + 1) * sizeof(*o));

    *order = NULL;
    *dup_a = *dup_b = -1;
    if (o == NULL)
        return IO_ENOMEM;
    for (int k = 0; k < n; k++)
        o[k] = k;
    sort_ids = ids;
    qsort(o, (size_t)n, sizeof(*o), cmp_index);
    sort_ids = NULL;
    for (int k = 1; k < n; k++) {
        if (ids[o[k - 1]].text && ids[o[k]].text &&
            strcmp(ids[o[k - 1]].text, ids[o[k]].text) == 0) {
            *dup_a = o[k - 1];
            *dup_b = o[k];
            break;
        }
    }
    *order = o;
    return 0;
}

int io_ids_find(const io_id *ids, const int *order, int n, const char *text)
{
    int lo = 0, hi = n - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *t = ids[order[mid]].text;
        int c = strcmp(t ? t : "", text);
        if (c == 0)
            return order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int io_instance_alloc(io_instance *in, int n_requests, int n_vehicles, int n_locs, int n_dims)
{
    int rc;

    in->n_requests = n_requests;
    in->n_vehicles = n_vehicles;
    in->n_locs = n_locs;
    in->n_dims = n_dims;
    in->stop_id = calloc(2 * (size_t)n_requests + 1, sizeof(*in->stop_id));
    in->request_id = calloc((size_t)n_requests + 1, sizeof(*in->request_id));
    in->vehicle_id = calloc((size_t)n_vehicles + 1, sizeof(*in->vehicle_id));
    if (in->loc_id == NULL)
        in->loc_id = calloc((size_t)n_locs + 1, sizeof(*in->loc_id));
    if (in->dim_name == NULL)
        in->dim_name = calloc((size_t)n_dims + 1, sizeof(*in->dim_name));
    if (in->stop_id == NULL || in->request_id == NULL || in->vehicle_id == NULL ||
        in->loc_id == NULL || in->dim_name == NULL)
        return IO_ENOMEM;
    rc = slv_instance_create(&in->inst, n_locs, n_dims);
    if (rc == SLV_ENOMEM)
        return IO_ENOMEM;
    return rc < 0 ? IO_EINVAL : 0;
}

void io_instance_destroy(io_instance *in)
{
    if (in == NULL)
        return;
    slv_instance_destroy(in->inst);
    io_ids_free(in->stop_id, 2 * in->n_requests);
    io_ids_free(in->request_id, in->n_requests);
    io_ids_free(in->vehicle_id, in->n_vehicles);
    io_ids_free(in->loc_id, in->n_locs);
    if (in->dim_name != NULL)
        for (int d = 0; d < in->n_dims; d++)
            free(in->dim_name[d]);
    free(in->dim_name);
    free(in->stop_order);
    free(in->vehicle_order);
    free(in->name);
    free(in->path);
    free(in);
}

/* "dir/a2-16.txt" -> "a2-16" */
static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    const char *dot;
    char *s;

    b = b ? b + 1 : path;
    dot = strrchr(b, '.');
    if (dot == NULL || dot == b)
        dot = b + strlen(b);
    s = malloc((size_t)(dot - b) + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, b, (size_t)(dot - b));
    s[dot - b] = '\0';
    return s;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);

    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/*
 * A .json name or a first non-blank character '{' is JSON; otherwise Li &
 * Lim's first line has three fields (K Q speed) and Cordeau's five.
 */
static io_format guess_format(const char *path, const io_text *t)
{
    char line[256], *field[8];
    size_t k = 0, n = 0;

    if (ends_with(path, ".json") || ends_with(path, ".JSON"))
        return IO_FORMAT_JSON;
    while (k < t->len &&
           (t->buf[k] == ' ' || t->buf[k] == '\t' || t->buf[k] == '\n' || t->buf[k] == '\r'))
        k++;
    if (k < t->len && t->buf[k] == '{')
        return IO_FORMAT_JSON;
    while (k < t->len && t->buf[k] != '\n' && n + 1 < sizeof(line))
        line[n++] = t->buf[k++];
    line[n] = '\0';
    if (io_fields(line, field, 6) == 3)
        return IO_FORMAT_LILIM;
    return IO_FORMAT_CORDEAU;
}

static int finish(io_instance *in, char *err, size_t err_len)
{
    const char *why = NULL;
    int rc, a, b;

    if (slv_instance_set_name(in->inst, in->name) < 0)
        return slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", in->path);
    rc = slv_instance_finalize(in->inst, &why);
    if (rc < 0)
        return slv_errf(err, err_len, rc == SLV_ENOMEM ? IO_ENOMEM : IO_ESOLVER,
                        "%s: instance rejected: %s", in->path, why ? why : slv_strerror(rc));
    free(in->stop_order); /* a reader may have indexed already */
    free(in->vehicle_order);
    in->stop_order = in->vehicle_order = NULL;
    rc = io_ids_index(in->stop_id, 2 * in->n_requests, &in->stop_order, &a, &b);
    if (rc == 0 && a >= 0)
        return slv_errf(
            err, err_len, IO_EPARSE, "%s: stops of requests %s and %s have the same node id \"%s\"",
            in->path, in->request_id[a / 2].text, in->request_id[b / 2].text, in->stop_id[a].text);
    if (rc == 0)
        rc = io_ids_index(in->vehicle_id, in->n_vehicles, &in->vehicle_order, &a, &b);
    if (rc == 0 && a >= 0)
        return slv_errf(err, err_len, IO_EPARSE, "%s: two vehicles have the id \"%s\"", in->path,
                        in->vehicle_id[a].text);
    if (rc < 0)
        return slv_errf(err, err_len, rc, "%s: out of memory", in->path);
    return 0;
}

int io_read_instance(const char *path, const char *format, io_instance **out, char *err,
                     size_t err_len)
{
    io_instance *in = NULL;
    io_text text;
    io_format fmt;
    int rc;

    memset(&text, 0, sizeof(text));
    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL) {
        rc = slv_errf(err, err_len, IO_EINVAL, "no instance file given");
        goto out;
    }
    if (io_format_parse(format, &fmt) < 0) {
        rc = slv_errf(err, err_len, IO_EINVAL,
                      "%s: unknown format \"%s\" (expected cordeau, lilim or json)", path, format);
        goto out;
    }
    in = calloc(1, sizeof(*in));
    if (in == NULL) {
        rc = slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    in->path = strdup(path);
    in->name = base_name(path);
    if (in->path == NULL || in->name == NULL) {
        rc = slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    rc = io_text_load(&text, path, err, err_len);
    if (rc < 0)
        goto out;
    if (fmt == IO_FORMAT_AUTO)
        fmt = guess_format(path, &text);
    in->format = fmt;
    if (fmt != IO_FORMAT_JSON) {
        rc = io_text_split(&text, err, err_len);
        if (rc < 0)
            goto out;
        if (text.n_lines == 0) {
            rc = slv_errf(err, err_len, IO_EPARSE, "%s:1: empty file", path);
            goto out;
        }
    }
    if (fmt == IO_FORMAT_CORDEAU)
        rc = io_read_cordeau(in, &text, err, err_len);
    else if (fmt == IO_FORMAT_LILIM)
        rc = io_read_lilim(in, &text, err, err_len);
    else
        rc = io_read_json(in, &text, err, err_len);
    if (rc < 0)
        goto out;
    rc = finish(in, err, err_len);
    if (rc < 0)
        goto out;
    *out = in;
    in = NULL;
out:
    io_text_cleanup(&text);
    io_instance_destroy(in);
    return rc;
}

int io_find_stop(const io_instance *in, const char *id)
{
    int k = io_ids_find(in->stop_id, in->stop_order, 2 * in->n_requests, id);

    return k < 0 ? IO_EMATCH : k;
}

int io_find_vehicle(const io_instance *in, const char *id)
{
    int k = io_ids_find(in->vehicle_id, in->vehicle_order, in->n_vehicles, id);

    return k < 0 ? IO_EMATCH : k;
}

int io_bench_fleet(io_instance *in, int k, int start_loc, int end_loc, int cap, double shift_start,
                   double shift_end, double max_duration, int vehicles_first)
{
    slv_objective obj;
    int rc = 0;

    for (int v = 0; v < k && rc == 0; v++) {
        slv_vehicle veh;

        memset(&veh, 0, sizeof(veh));
        veh.start_loc = start_loc;
        veh.end_loc = end_loc;
        veh.shift_start = shift_start;
        veh.shift_end = shift_end;
        veh.max_duration = max_duration;
        veh.n_configs = 1;
        veh.capacity[0][0] = cap;
        veh.ext_id = v + 1;
        if (slv_instance_add_vehicle(in->inst, &veh) < 0)
            rc = IO_ENOMEM;
        if (rc == 0)
            rc = io_id_set_int(&in->vehicle_id[v], v + 1);
    }
    memset(&obj, 0, sizeof(obj));
    obj.per_distance = 1.0;
    obj.vehicles_first = vehicles_first;
    slv_instance_set_objective(in->inst, &obj);
    return rc;
}

int io_bench_setup(io_instance *in, const char *path, int n_req, int k_veh, int n_locs,
                   const double *x, const double *y, double **mat, double *penalty, char *err,
                   size_t err_len)
{
    int rc = io_instance_alloc(in, n_req, k_veh, n_locs, 1);

    if (rc < 0)
        return slv_errf(err, err_len, rc, "%s: cannot create the instance: %s", path,
                        io_strerror(rc));
    rc = io_euclid_matrix(x, y, n_locs, mat);
    if (rc == 0)
        rc = slv_instance_set_matrix(in->inst, *mat, NULL) < 0 ? IO_ENOMEM : 0;
    if (rc == 0) {
        *penalty = io_bench_penalty(*mat, n_locs, n_req, k_veh);
        in->dim_name[0] = strdup("load");
        if (in->dim_name[0] == NULL)
            rc = IO_ENOMEM;
    }
    for (int i = 0; i < n_locs && rc == 0; i++)
        rc = io_id_set_int(&in->loc_id[i], i);
    if (rc < 0)
        return slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", path);
    return 0;
}
