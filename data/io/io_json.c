/*
 * io_json.c - noriai's own JSON instance format (docs/instance-format.md).
 *
 * The format is made for real services: locations have names, requests and
 * vehicles have ids, times may be written "08:30", loads name their
 * dimensions ({"seats": 2, "wheelchairs": 1}), and everything that has a
 * sensible default may be left out.  It is read in passes so that references
 * can point forwards: load dimensions; locations and their travel times (an
 * explicit matrix, or coordinates and a speed); vehicle ids; request ids and
 * stop ids; then the requests and the vehicles themselves, which refer to
 * locations, to each other (a rider on board a vehicle) and to stops (a
 * vehicle's fixed prefix).
 *
 * Strictness: an unknown field is an error, not silently ignored, because a
 * misspelt "pickup_window" would otherwise vanish into a default; "comment"
 * is allowed everywhere for people's notes.  Syntax errors report jansson's
 * line and column; content errors report the JSON path of the offending
 * value (jansson keeps no positions after parsing), e.g.
 * "town.json: requests[4] "R05": pickup.window: closes before it opens".
 *
 * Bounds: jansson's parse is bounded by the file (itself capped), arrays are
 * as long as the file makes them, and a coordinate model's n x n matrix is
 * capped at IO_MAX_LOCS locations.  Numbers must be finite (JSON has no NaN;
 * jansson rejects overflowing literals).
 */
#include "data/io/io_int.h"
#include "data/json/jsonin.h"
#include "solver/errf.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PENALTY 1e6
#define MAX_TIME 1e9 /* about 31 years of seconds: beyond it a time is a mistake */

typedef struct ride_rule {
    int kind; /* 0 none, 1 fixed, 2 alpha * direct + beta */
    double value, alpha, beta;
} ride_rule;

typedef struct jctx {
    const char *path;
    char *err;
    size_t err_len;
    io_instance *in;
    int n_dims;
    int n_locs;
    int *loc_order;
    int *req_order;
    json_t *vehs;        /* the "vehicles" array, for forward references */
    double *time, *dist; /* owned until handed to the solver */
    double max_time;     /* largest finite time seen, for the clock display guess */
    int clock_seen;      /* some time written "HH:MM" */
    double def_pickup_service, def_drop_service, def_penalty;
    ride_rule def_ride;
} jctx;

static int jfail(jctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jfail(jctx *c, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return slv_errf(c->err, c->err_len, IO_EPARSE, "%s: %s%s%s", c->path, where ? where : "",
                    where && *where ? ": " : "", msg);
}

/* JSON paths for messages; a path too long for its buffer is just cut short. */
static void wpath(char *w, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void wpath(char *w, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w, len, fmt, ap);
    va_end(ap);
}

static int nomem(jctx *c)
{
    return slv_errf(c->err, c->err_len, IO_ENOMEM, "%s: out of memory", c->path);
}

/* The strict-JSON checks come from data/json (jin_*); jfail puts the file
 * name before their messages. */
#define type_name jin_type_name

/* Every key of obj must be in allowed (NULL-terminated) or be "comment". */
static int check_keys(jctx *c, json_t *obj, const char *where, const char *const *allowed)
{
    char msg[512];

    if (jin_object(obj, where, allowed, JIN_COMMENT, msg, sizeof(msg)) < 0)
        return jfail(c, NULL, "%s", msg);
    return 0;
}

static int want_object(jctx *c, json_t *v, const char *where)
{
    if (!json_is_object(v))
        return jfail(c, where, "expected an object, found %s", type_name(v));
    return 0;
}

static int want_array(jctx *c, json_t *v, const char *where)
{
    if (!json_is_array(v))
        return jfail(c, where, "expected an array, found %s", type_name(v));
    return 0;
}

/* Text of an id: a non-empty string, or an integer. */
static int id_text(jctx *c, json_t *v, const char *where, char *buf, size_t len, int *numeric)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s == '\0' || strlen(s) >= len)
            return jfail(c, where, "an id must be a non-empty string shorter than %zu bytes", len);
        if (strlen(s) != json_string_length(v))
            return jfail(c, where, "an id must not contain NUL characters");
        snprintf(buf, len, "%s", s);
        *numeric = 0;
        return 0;
    }
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *numeric = 1;
        return 0;
    }
    return jfail(c, where, "expected an id (a string or an integer), found %s", type_name(v));
}

static int get_number(jctx *c, json_t *v, const char *where, double lo, double *out)
{
    char msg[512];

    if (jin_number(v, where, lo, SLV_INF / 10, out, msg, sizeof(msg)) < 0)
        return jfail(c, NULL, "%s", msg);
    return 0;
}

static int get_int(jctx *c, json_t *v, const char *where, long long lo, long long hi, int *out)
{
    char msg[512];
    long long x;

    if (jin_int(v, where, lo, hi, 0, &x, msg, sizeof(msg)) < 0)
        return jfail(c, NULL, "%s", msg);
    *out = (int)x;
    return 0;
}

static int get_bool(jctx *c, json_t *v, const char *where, int *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    return jfail(c, where, "expected true or false, found %s", type_name(v));
}

/* A point in time: seconds (a number >= 0) or "HH:MM[:SS]". */
static int get_time(jctx *c, json_t *v, const char *where, double *out)
{
    if (json_is_string(v)) {
        if (io_parse_clock(json_string_value(v), out) < 0)
            return jfail(c, where, "\"%s\" is not a time of day \"HH:MM\" or \"HH:MM:SS\"",
                         json_string_value(v));
        c->clock_seen = 1;
    } else if (json_is_number(v)) {
        *out = json_number_value(v);
        if (!(*out >= 0 && *out <= MAX_TIME))
            return jfail(c, where, "time %g is outside [0, %g]", *out, MAX_TIME);
    } else {
        return jfail(c, where, "expected a time (seconds or \"HH:MM\"), found %s", type_name(v));
    }
    if (*out > c->max_time)
        c->max_time = *out;
    return 0;
}

/* [open, close], either end null (unlimited); absent: [0, unlimited). */
static int get_window(jctx *c, json_t *v, const char *where, double *open, double *close)
{
    char w[256];
    int rc;

    *open = 0;
    *close = SLV_INF;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) != 2)
        return jfail(c, where, "expected [open, close] (either may be null), found %s%s",
                     type_name(v), json_is_array(v) ? " of another length" : "");
    wpath(w, sizeof(w), "%s[0]", where);
    if (!json_is_null(json_array_get(v, 0)) &&
        (rc = get_time(c, json_array_get(v, 0), w, open)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s[1]", where);
    if (!json_is_null(json_array_get(v, 1)) &&
        (rc = get_time(c, json_array_get(v, 1), w, close)) < 0)
        return rc;
    if (*open > *close)
        return jfail(c, where, "the window closes (%g) before it opens (%g)", *close, *open);
    return 0;
}

/* A load vector: {"seats": 2, ...}, [2, 0] or a bare integer (first dimension). */
static int get_load(jctx *c, json_t *v, const char *where, int *load)
{
    char w[256];
    int rc;

    for (int d = 0; d < SLV_MAX_DIMS; d++)
        load[d] = 0;
    if (json_is_number(v))
        return get_int(c, v, where, 0, INT_MAX / 4, &load[0]);
    if (json_is_array(v)) {
        if (json_array_size(v) > (size_t)c->n_dims)
            return jfail(c, where, "%zu values for %d load dimension%s", json_array_size(v),
                         c->n_dims, c->n_dims == 1 ? "" : "s");
        for (size_t d = 0; d < json_array_size(v); d++) {
            wpath(w, sizeof(w), "%s[%zu]", where, d);
            if ((rc = get_int(c, json_array_get(v, d), w, 0, INT_MAX / 4, &load[d])) < 0)
                return rc;
        }
        return 0;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
        {
            int d = 0;
            while (d < c->n_dims && strcmp(c->in->dim_name[d], key) != 0)
                d++;
            if (d == c->n_dims)
                return jfail(c, where, "\"%s\" is not a load dimension (see \"dimensions\")", key);
            wpath(w, sizeof(w), "%s.%s", where, key);
            if ((rc = get_int(c, val, w, 0, INT_MAX / 4, &load[d])) < 0)
                return rc;
        }
        return 0;
    }
    return jfail(c, where, "expected a load (object, array or integer), found %s", type_name(v));
}

/* A maximum ride time: seconds, null (none) or {"alpha": a, "beta": b}. */
static int get_ride(jctx *c, json_t *v, const char *where, ride_rule *out)
{
    static const char *const keys[] = {"alpha", "beta", NULL};
    char w[256];
    json_t *a, *b;
    int rc;

    memset(out, 0, sizeof(*out));
    if (json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        out->kind = 1;
        return get_number(c, v, where, 0, &out->value);
    }
    if (!json_is_object(v))
        return jfail(c, where, "expected seconds, null or {\"alpha\", \"beta\"}, found %s",
                     type_name(v));
    if ((rc = check_keys(c, v, where, keys)) < 0)
        return rc;
    out->kind = 2;
    out->alpha = 1;
    a = json_object_get(v, "alpha");
    b = json_object_get(v, "beta");
    wpath(w, sizeof(w), "%s.alpha", where);
    if (a != NULL && (rc = get_number(c, a, w, 0, &out->alpha)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s.beta", where);
    if (b != NULL && (rc = get_number(c, b, w, 0, &out->beta)) < 0)
        return rc;
    return 0;
}

static int get_loc(jctx *c, json_t *v, const char *where, int *loc)
{
    char text[256];
    int numeric, rc, k;

    if ((rc = id_text(c, v, where, text, sizeof(text), &numeric)) < 0)
        return rc;
    k = io_ids_find(c->in->loc_id, c->loc_order, c->n_locs, text);
    if (k < 0)
        return jfail(c, where, "unknown location \"%s\"", text);
    *loc = k;
    return 0;
}

/* ---------------------------------------------------------------------- */

static int parse_dimensions(jctx *c, json_t *root, char ***names, int *n)
{
    json_t *v = json_object_get(root, "dimensions");
    char **dn = NULL;
    int rc = 0, count;

    *names = NULL;
    *n = 0;
    count = v == NULL ? 1 : (int)json_array_size(v);
    if (v != NULL) {
        if ((rc = want_array(c, v, "dimensions")) < 0)
            return rc;
        if (count < 1 || count > SLV_MAX_DIMS)
            return jfail(c, "dimensions", "between 1 and %d names expected, found %d", SLV_MAX_DIMS,
                         count);
    }
    dn = calloc((size_t)count, sizeof(*dn));
    if (dn == NULL)
        return nomem(c);
    for (int d = 0; d < count; d++) {
        const char *s = "seats";
        if (v != NULL) {
            json_t *e = json_array_get(v, (size_t)d);
            if (!json_is_string(e) || json_string_length(e) == 0) {
                rc = jfail(c, "dimensions", "entry %d is not a non-empty string", d);
                goto out;
            }
            s = json_string_value(e);
            for (int k = 0; k < d; k++)
                if (strcmp(dn[k], s) == 0) {
                    rc = jfail(c, "dimensions", "\"%s\" appears twice", s);
                    goto out;
                }
        }
        dn[d] = strdup(s);
        if (dn[d] == NULL) {
            rc = nomem(c);
            goto out;
        }
    }
    *names = dn;
    *n = count;
    dn = NULL;
out:
    if (dn != NULL) {
        for (int d = 0; d < count; d++)
            free(dn[d]);
        free(dn);
    }
    return rc;
}

static int parse_matrix_rows(jctx *c, json_t *m, const char *what, double **out)
{
    char w[96];
    size_t n = (size_t)c->n_locs;
    double *a;
    int rc;

    *out = NULL;
    wpath(w, sizeof(w), "matrix.%s", what);
    if (!json_is_array(m) || json_array_size(m) != n)
        return jfail(c, w, "expected an array of %zu rows (one per location)", n);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(m, i);
        if (!json_is_array(row) || json_array_size(row) != n) {
            wpath(w, sizeof(w), "matrix.%s[%zu]", what, i);
            return jfail(c, w, "expected an array of %zu numbers", n);
        }
    }
    a = malloc(n * n * sizeof(*a) + 1);
    if (a == NULL)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(m, i);
        for (size_t j = 0; j < n; j++) {
            wpath(w, sizeof(w), "matrix.%s[%zu][%zu]", what, i, j);
            if ((rc = get_number(c, json_array_get(row, j), w, 0, &a[i * n + j])) < 0) {
                free(a);
                return rc;
            }
        }
    }
    *out = a;
    return 0;
}

static int parse_locations(jctx *c, json_t *root)
{
    static const char *const loc_keys[] = {"id", "name", "x", "y", NULL};
    static const char *const matrix_keys[] = {"time", "distance", NULL};
    static const char *const travel_keys[] = {"model", "speed", NULL};
    json_t *locs = json_object_get(root, "locations");
    json_t *matrix = json_object_get(root, "matrix");
    json_t *travel = json_object_get(root, "travel");
    double *x = NULL, *y = NULL, speed = 1.0;
    int n, rc = 0, have_xy = 1, a, b;
    char w[128], text[256];

    if (locs == NULL)
        return jfail(c, NULL, "missing \"locations\"");
    if ((rc = want_array(c, locs, "locations")) < 0)
        return rc;
    n = (int)json_array_size(locs);
    if (n < 1)
        return jfail(c, "locations", "at least one location expected");
    if (n > IO_MAX_LOCS)
        return jfail(c, "locations", "%d locations, more than the %d supported", n, IO_MAX_LOCS);
    c->n_locs = n;
    c->in->n_locs = n;
    c->in->loc_id = calloc((size_t)n, sizeof(*c->in->loc_id));
    x = calloc((size_t)n, sizeof(*x));
    y = calloc((size_t)n, sizeof(*y));
    if (c->in->loc_id == NULL || x == NULL || y == NULL) {
        rc = nomem(c);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(locs, (size_t)i), *id = e;
        int numeric;
        wpath(w, sizeof(w), "locations[%d]", i);
        if (json_is_object(e)) {
            json_t *jx = json_object_get(e, "x"), *jy = json_object_get(e, "y");
            if ((rc = check_keys(c, e, w, loc_keys)) < 0)
                goto out;
            id = json_object_get(e, "id");
            if (id == NULL) {
                rc = jfail(c, w, "missing \"id\"");
                goto out;
            }
            if ((jx == NULL) != (jy == NULL)) {
                rc = jfail(c, w, "give both \"x\" and \"y\" or neither");
                goto out;
            }
            if (jx == NULL) {
                have_xy = 0;
            } else {
                wpath(w, sizeof(w), "locations[%d].x", i);
                if ((rc = get_number(c, jx, w, -SLV_INF, &x[i])) < 0)
                    goto out;
                wpath(w, sizeof(w), "locations[%d].y", i);
                if ((rc = get_number(c, jy, w, -SLV_INF, &y[i])) < 0)
                    goto out;
            }
        } else {
            have_xy = 0;
        }
        wpath(w, sizeof(w), "locations[%d]", i);
        if ((rc = id_text(c, id, w, text, sizeof(text), &numeric)) < 0)
            goto out;
        if (io_id_set(&c->in->loc_id[i], text, numeric) < 0) {
            rc = nomem(c);
            goto out;
        }
    }
    if ((rc = io_ids_index(c->in->loc_id, n, &c->loc_order, &a, &b)) < 0) {
        rc = nomem(c);
        goto out;
    }
    if (a >= 0) {
        wpath(w, sizeof(w), "locations[%d]", a > b ? a : b);
        rc = jfail(c, w, "id \"%s\" is already used by locations[%d]", c->in->loc_id[a].text,
                   a < b ? a : b);
        goto out;
    }

    if (matrix != NULL && travel != NULL) {
        rc = jfail(c, NULL, "give either \"matrix\" or \"travel\", not both");
        goto out;
    }
    if (matrix != NULL) {
        json_t *mt, *md;
        if ((rc = want_object(c, matrix, "matrix")) < 0 ||
            (rc = check_keys(c, matrix, "matrix", matrix_keys)) < 0)
            goto out;
        mt = json_object_get(matrix, "time");
        md = json_object_get(matrix, "distance");
        if (mt == NULL) {
            rc = jfail(c, "matrix", "missing \"time\"");
            goto out;
        }
        if ((rc = parse_matrix_rows(c, mt, "time", &c->time)) < 0)
            goto out;
        if (md != NULL && (rc = parse_matrix_rows(c, md, "distance", &c->dist)) < 0)
            goto out;
        goto out;
    }
    if (travel != NULL) {
        json_t *model, *sp;
        if ((rc = want_object(c, travel, "travel")) < 0 ||
            (rc = check_keys(c, travel, "travel", travel_keys)) < 0)
            goto out;
        model = json_object_get(travel, "model");
        sp = json_object_get(travel, "speed");
        if (model != NULL &&
            (!json_is_string(model) || strcmp(json_string_value(model), "euclidean") != 0)) {
            rc = jfail(c, "travel.model", "only \"euclidean\" is known");
            goto out;
        }
        if (sp != NULL && (rc = get_number(c, sp, "travel.speed", 0, &speed)) < 0)
            goto out;
        if (!(speed > 0)) {
            rc = jfail(c, "travel.speed", "must be positive");
            goto out;
        }
    }
    if (!have_xy) {
        rc = jfail(c, NULL,
                   "no travel times: give \"matrix\", or \"x\" and \"y\" for every location");
        goto out;
    }
    if ((rc = io_euclid_matrix(x, y, n, &c->dist)) < 0) {
        rc = nomem(c);
        goto out;
    }
    if (speed != 1.0) {
        c->time = malloc((size_t)n * (size_t)n * sizeof(*c->time));
        if (c->time == NULL) {
            rc = nomem(c);
            goto out;
        }
        for (size_t k = 0; k < (size_t)n * (size_t)n; k++)
            c->time[k] = c->dist[k] / speed;
    } else {
        c->time = c->dist;
        c->dist = NULL;
    }
out:
    free(x);
    free(y);
    return rc;
}

static int parse_objective(jctx *c, json_t *root)
{
    static const char *const keys[] = {"per_distance",
                                       "per_drive_time",
                                       "per_excess_ride",
                                       "per_wait",
                                       "per_vehicle",
                                       "vehicles_first",
                                       NULL};
    json_t *o = json_object_get(root, "objective");
    slv_objective obj;
    double *field[5] = {&obj.per_distance, &obj.per_drive_time, &obj.per_excess_ride, &obj.per_wait,
                        &obj.per_vehicle};
    char w[64];
    int rc;

    memset(&obj, 0, sizeof(obj));
    if (o == NULL) {
        obj.per_distance = 1.0;
    } else {
        if ((rc = want_object(c, o, "objective")) < 0 ||
            (rc = check_keys(c, o, "objective", keys)) < 0)
            return rc;
        for (int k = 0; k < 5; k++) {
            json_t *v = json_object_get(o, keys[k]);
            wpath(w, sizeof(w), "objective.%s", keys[k]);
            if (v != NULL && (rc = get_number(c, v, w, 0, field[k])) < 0)
                return rc;
        }
        if (json_object_get(o, "vehicles_first") != NULL &&
            (rc = get_bool(c, json_object_get(o, "vehicles_first"), "objective.vehicles_first",
                           &obj.vehicles_first)) < 0)
            return rc;
    }
    slv_instance_set_objective(c->in->inst, &obj);
    return 0;
}

static int parse_defaults(jctx *c, json_t *root)
{
    static const char *const keys[] = {"pickup_service", "dropoff_service", "max_ride",
                                       "unserved_penalty", NULL};
    json_t *o = json_object_get(root, "defaults"), *v;
    int rc;

    c->def_penalty = DEFAULT_PENALTY;
    if (o == NULL)
        return 0;
    if ((rc = want_object(c, o, "defaults")) < 0 || (rc = check_keys(c, o, "defaults", keys)) < 0)
        return rc;
    if ((v = json_object_get(o, "pickup_service")) != NULL &&
        (rc = get_number(c, v, "defaults.pickup_service", 0, &c->def_pickup_service)) < 0)
        return rc;
    if ((v = json_object_get(o, "dropoff_service")) != NULL &&
        (rc = get_number(c, v, "defaults.dropoff_service", 0, &c->def_drop_service)) < 0)
        return rc;
    if ((v = json_object_get(o, "max_ride")) != NULL &&
        (rc = get_ride(c, v, "defaults.max_ride", &c->def_ride)) < 0)
        return rc;
    if ((v = json_object_get(o, "unserved_penalty")) != NULL &&
        (rc = get_number(c, v, "defaults.unserved_penalty", 0, &c->def_penalty)) < 0)
        return rc;
    return 0;
}

/* Ids of all requests and vehicles (first pass), and the stop ids. */
static int parse_ids(jctx *c, json_t *reqs, json_t *vehs)
{
    io_instance *in = c->in;
    char w[128], text[256], stop[300];
    int numeric, rc, a, b;

    for (int v = 0; v < in->n_vehicles; v++) {
        json_t *e = json_array_get(vehs, (size_t)v);
        wpath(w, sizeof(w), "vehicles[%d]", v);
        if ((rc = want_object(c, e, w)) < 0)
            return rc;
        if (json_object_get(e, "id") == NULL)
            return jfail(c, w, "missing \"id\"");
        wpath(w, sizeof(w), "vehicles[%d].id", v);
        if ((rc = id_text(c, json_object_get(e, "id"), w, text, sizeof(text), &numeric)) < 0)
            return rc;
        if (io_id_set(&in->vehicle_id[v], text, numeric) < 0)
            return nomem(c);
    }
    if (io_ids_index(in->vehicle_id, in->n_vehicles, &in->vehicle_order, &a, &b) < 0)
        return nomem(c);
    if (a >= 0) {
        wpath(w, sizeof(w), "vehicles[%d]", a > b ? a : b);
        return jfail(c, w, "id \"%s\" is already used by vehicles[%d]", in->vehicle_id[a].text,
                     a < b ? a : b);
    }
    for (int r = 0; r < in->n_requests; r++) {
        json_t *e = json_array_get(reqs, (size_t)r);
        static const char *const side[2] = {"pickup", "dropoff"};
        wpath(w, sizeof(w), "requests[%d]", r);
        if ((rc = want_object(c, e, w)) < 0)
            return rc;
        if (json_object_get(e, "id") == NULL)
            return jfail(c, w, "missing \"id\"");
        wpath(w, sizeof(w), "requests[%d].id", r);
        if ((rc = id_text(c, json_object_get(e, "id"), w, text, sizeof(text), &numeric)) < 0)
            return rc;
        if (io_id_set(&in->request_id[r], text, numeric) < 0)
            return nomem(c);
        for (int s = 0; s < 2; s++) {
            json_t *st = json_object_get(e, side[s]);
            json_t *sid = json_is_object(st) ? json_object_get(st, "stop_id") : NULL;
            int snum = 0;
            if (sid != NULL) {
                wpath(w, sizeof(w), "requests[%d].%s.stop_id", r, side[s]);
                if ((rc = id_text(c, sid, w, stop, sizeof(stop), &snum)) < 0)
                    return rc;
            } else {
                snprintf(stop, sizeof(stop), "%s:%s", text, side[s]);
            }
            if (io_id_set(&in->stop_id[2 * r + s], stop, snum) < 0)
                return nomem(c);
        }
    }
    if (io_ids_index(in->request_id, in->n_requests, &c->req_order, &a, &b) < 0)
        return nomem(c);
    if (a >= 0) {
        wpath(w, sizeof(w), "requests[%d]", a > b ? a : b);
        return jfail(c, w, "id \"%s\" is already used by requests[%d]", in->request_id[a].text,
                     a < b ? a : b);
    }
    if (io_ids_index(in->stop_id, 2 * in->n_requests, &in->stop_order, &a, &b) < 0)
        return nomem(c);
    if (a >= 0) {
        wpath(w, sizeof(w), "requests[%d]", (a > b ? a : b) / 2);
        return jfail(c, w, "stop id \"%s\" is already used by requests[%d]", in->stop_id[a].text,
                     (a < b ? a : b) / 2);
    }
    return 0;
}

static int parse_stop(jctx *c, json_t *st, const char *where, int required, int *loc, double *open,
                      double *close, double *service)
{
    static const char *const keys[] = {"location", "window", "service", "stop_id", NULL};
    char w[256];
    json_t *v;
    int rc;

    if (st == NULL) {
        if (required)
            return jfail(c, where, "missing");
        return 0;
    }
    if ((rc = want_object(c, st, where)) < 0 || (rc = check_keys(c, st, where, keys)) < 0)
        return rc;
    v = json_object_get(st, "location");
    wpath(w, sizeof(w), "%s.location", where);
    if (v == NULL)
        return jfail(c, where, "missing \"location\"");
    if ((rc = get_loc(c, v, w, loc)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s.window", where);
    if ((rc = get_window(c, json_object_get(st, "window"), w, open, close)) < 0)
        return rc;
    v = json_object_get(st, "service");
    wpath(w, sizeof(w), "%s.service", where);
    if (v != NULL && (rc = get_number(c, v, w, 0, service)) < 0)
        return rc;
    return 0;
}

static int parse_request(jctx *c, json_t *e, int r)
{
    static const char *const keys[] = {
        "id",       "name",     "pickup",           "dropoff",         "load",
        "max_ride", "promised", "unserved_penalty", "onboard_vehicle", "pickup_done_at",
        NULL};
    io_instance *in = c->in;
    char base[300], w[400];
    slv_request req;
    ride_rule ride = c->def_ride;
    json_t *v;
    int rc, ploc = -1;

    wpath(base, sizeof(base), "requests[%d] \"%s\"", r, in->request_id[r].text);
    if ((rc = check_keys(c, e, base, keys)) < 0)
        return rc;
    memset(&req, 0, sizeof(req));
    req.pickup_service = c->def_pickup_service;
    req.drop_service = c->def_drop_service;
    req.unserved_penalty = c->def_penalty;
    req.onboard_vehicle = -1;
    req.pickup_open = req.drop_open = 0;
    req.pickup_close = req.drop_close = SLV_INF;
    req.ext_id = in->request_id[r].numeric ? strtoll(in->request_id[r].text, NULL, 10) : r;

    v = json_object_get(e, "onboard_vehicle");
    if (v != NULL) {
        char text[256];
        int numeric, k;
        wpath(w, sizeof(w), "%s.onboard_vehicle", base);
        if ((rc = id_text(c, v, w, text, sizeof(text), &numeric)) < 0)
            return rc;
        k = io_ids_find(in->vehicle_id, in->vehicle_order, in->n_vehicles, text);
        if (k < 0)
            return jfail(c, w, "unknown vehicle \"%s\"", text);
        req.onboard_vehicle = k;
        v = json_object_get(e, "pickup_done_at");
        wpath(w, sizeof(w), "%s.pickup_done_at", base);
        if (v == NULL)
            return jfail(c, base, "a rider on board needs \"pickup_done_at\"");
        if ((rc = get_time(c, v, w, &req.pickup_done_at)) < 0)
            return rc;
    } else if (json_object_get(e, "pickup_done_at") != NULL) {
        return jfail(c, base, "\"pickup_done_at\" without \"onboard_vehicle\"");
    }
    wpath(w, sizeof(w), "%s.pickup", base);
    rc = parse_stop(c, json_object_get(e, "pickup"), w, req.onboard_vehicle < 0, &ploc,
                    &req.pickup_open, &req.pickup_close, &req.pickup_service);
    if (rc < 0)
        return rc;
    if (ploc < 0) {
        /* on board, pickup left out: ride time counts from the vehicle's start, as in the
         * solver */
        json_t *vj = json_array_get(c->vehs, (size_t)req.onboard_vehicle);
        wpath(w, sizeof(w), "vehicles[%d].start", req.onboard_vehicle);
        if (json_object_get(vj, "start") == NULL)
            return jfail(c, w, "missing");
        if ((rc = get_loc(c, json_object_get(vj, "start"), w, &ploc)) < 0)
            return rc;
    }
    req.pickup_loc = ploc;
    wpath(w, sizeof(w), "%s.dropoff", base);
    rc = parse_stop(c, json_object_get(e, "dropoff"), w, 1, &req.drop_loc, &req.drop_open,
                    &req.drop_close, &req.drop_service);
    if (rc < 0)
        return rc;
    v = json_object_get(e, "load");
    wpath(w, sizeof(w), "%s.load", base);
    if (v == NULL)
        req.load[0] = 1;
    else if ((rc = get_load(c, v, w, req.load)) < 0)
        return rc;
    v = json_object_get(e, "max_ride");
    wpath(w, sizeof(w), "%s.max_ride", base);
    if (v != NULL && (rc = get_ride(c, v, w, &ride)) < 0)
        return rc;
    v = json_object_get(e, "promised");
    wpath(w, sizeof(w), "%s.promised", base);
    if (v != NULL && (rc = get_bool(c, v, w, &req.promised)) < 0)
        return rc;
    v = json_object_get(e, "unserved_penalty");
    wpath(w, sizeof(w), "%s.unserved_penalty", base);
    if (v != NULL && (rc = get_number(c, v, w, 0, &req.unserved_penalty)) < 0)
        return rc;

    if (ride.kind == 0) {
        req.max_ride = SLV_INF;
    } else if (ride.kind == 1) {
        req.max_ride = ride.value;
    } else {
        double direct = c->time[(size_t)req.pickup_loc * (size_t)c->n_locs + (size_t)req.drop_loc];
        req.max_ride = ride.alpha * direct + ride.beta;
    }
    if (slv_instance_add_request(in->inst, &req) < 0)
        return nomem(c);
    return 0;
}

static int parse_capacity(jctx *c, json_t *v, const char *where, slv_vehicle *veh)
{
    char w[300];
    int rc;

    /* one vector (object, integer, or array of integers) or a list of vectors */
    if (json_is_array(v) && json_array_size(v) > 0 &&
        (json_is_array(json_array_get(v, 0)) || json_is_object(json_array_get(v, 0)))) {
        size_t n = json_array_size(v);
        if (n > SLV_MAX_CONFIGS)
            return jfail(c, where, "%zu capacity configurations, at most %d allowed", n,
                         SLV_MAX_CONFIGS);
        for (size_t k = 0; k < n; k++) {
            wpath(w, sizeof(w), "%s[%zu]", where, k);
            if ((rc = get_load(c, json_array_get(v, k), w, veh->capacity[k])) < 0)
                return rc;
        }
        veh->n_configs = (int)n;
        return 0;
    }
    veh->n_configs = 1;
    return get_load(c, v, where, veh->capacity[0]);
}

static int parse_fixed(jctx *c, json_t *v, const char *where, int **fixed, int *n_fixed)
{
    static const char *const keys[] = {"request", "stop", NULL};
    char w[300], text[256];
    int rc, numeric, n;
    int *f;

    *fixed = NULL;
    *n_fixed = 0;
    if ((rc = want_array(c, v, where)) < 0)
        return rc;
    n = (int)json_array_size(v);
    f = malloc((size_t)n * sizeof(*f) + 1);
    if (f == NULL)
        return nomem(c);
    for (int k = 0; k < n; k++) {
        json_t *e = json_array_get(v, (size_t)k), *rq, *st;
        const char *s;
        int r;
        wpath(w, sizeof(w), "%s[%d]", where, k);
        if ((rc = want_object(c, e, w)) < 0 || (rc = check_keys(c, e, w, keys)) < 0)
            goto fail;
        rq = json_object_get(e, "request");
        st = json_object_get(e, "stop");
        if (rq == NULL || st == NULL) {
            rc = jfail(c, w, "needs \"request\" and \"stop\" (\"pickup\" or \"dropoff\")");
            goto fail;
        }
        if ((rc = id_text(c, rq, w, text, sizeof(text), &numeric)) < 0)
            goto fail;
        r = io_ids_find(c->in->request_id, c->req_order, c->in->n_requests, text);
        if (r < 0) {
            rc = jfail(c, w, "unknown request \"%s\"", text);
            goto fail;
        }
        s = json_is_string(st) ? json_string_value(st) : "";
        if (strcmp(s, "pickup") == 0) {
            f[k] = SLV_PICKUP(r);
        } else if (strcmp(s, "dropoff") == 0) {
            f[k] = SLV_DROP(r);
        } else {
            rc = jfail(c, w, "\"stop\" must be \"pickup\" or \"dropoff\"");
            goto fail;
        }
    }
    *fixed = f;
    *n_fixed = n;
    return 0;
fail:
    free(f);
    return rc;
}

static int parse_vehicle(jctx *c, json_t *e, int v)
{
    static const char *const keys[] = {"id",           "name",     "start",      "end",   "shift",
                                       "max_duration", "capacity", "fixed_cost", "fixed", NULL};
    io_instance *in = c->in;
    char base[300], w[400];
    slv_vehicle veh;
    json_t *x;
    int rc, *fixed = NULL;

    wpath(base, sizeof(base), "vehicles[%d] \"%s\"", v, in->vehicle_id[v].text);
    if ((rc = check_keys(c, e, base, keys)) < 0)
        return rc;
    memset(&veh, 0, sizeof(veh));
    veh.max_duration = SLV_INF;
    veh.ext_id = in->vehicle_id[v].numeric ? strtoll(in->vehicle_id[v].text, NULL, 10) : v;
    x = json_object_get(e, "start");
    wpath(w, sizeof(w), "%s.start", base);
    if (x == NULL)
        return jfail(c, base, "missing \"start\" (a location id)");
    if ((rc = get_loc(c, x, w, &veh.start_loc)) < 0)
        return rc;
    veh.end_loc = veh.start_loc;
    x = json_object_get(e, "end");
    wpath(w, sizeof(w), "%s.end", base);
    if (x != NULL && (rc = get_loc(c, x, w, &veh.end_loc)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s.shift", base);
    if ((rc = get_window(c, json_object_get(e, "shift"), w, &veh.shift_start, &veh.shift_end)) < 0)
        return rc;
    x = json_object_get(e, "max_duration");
    wpath(w, sizeof(w), "%s.max_duration", base);
    if (x != NULL && !json_is_null(x) && (rc = get_number(c, x, w, 0, &veh.max_duration)) < 0)
        return rc;
    x = json_object_get(e, "capacity");
    wpath(w, sizeof(w), "%s.capacity", base);
    if (x == NULL)
        return jfail(c, base, "missing \"capacity\"");
    if ((rc = parse_capacity(c, x, w, &veh)) < 0)
        return rc;
    x = json_object_get(e, "fixed_cost");
    wpath(w, sizeof(w), "%s.fixed_cost", base);
    if (x != NULL && (rc = get_number(c, x, w, 0, &veh.fixed_cost)) < 0)
        return rc;
    x = json_object_get(e, "fixed");
    wpath(w, sizeof(w), "%s.fixed", base);
    if (x != NULL && (rc = parse_fixed(c, x, w, &fixed, &veh.n_fixed)) < 0)
        return rc;
    veh.fixed = fixed;
    rc = slv_instance_add_vehicle(in->inst, &veh);
    free(fixed);
    return rc < 0 ? nomem(c) : 0;
}

int io_read_json(io_instance *in, io_text *t, char *err, size_t err_len)
{
    static const char *const keys[] = {"name",     "description", "dimensions", "locations",
                                       "matrix",   "travel",      "objective",  "defaults",
                                       "vehicles", "requests",    NULL};
    jctx c;
    json_error_t jerr;
    json_t *root = NULL, *reqs, *vehs, *name;
    char **dims = NULL;
    int n_dims = 0, rc;

    memset(&c, 0, sizeof(c));
    c.path = t->path;
    c.err = err;
    c.err_len = err_len;
    c.in = in;
    root = json_loadb(t->buf, t->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = slv_errf(err, err_len, IO_EPARSE, "%s:%d:%d: %s", t->path, jerr.line, jerr.column,
                      jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = jfail(&c, NULL, "the instance must be a JSON object, found %s", type_name(root));
        goto out;
    }
    if ((rc = check_keys(&c, root, "top level", keys)) < 0)
        goto out;
    name = json_object_get(root, "name");
    if (name != NULL) {
        if (!json_is_string(name) || json_string_length(name) == 0) {
            rc = jfail(&c, "name", "expected a non-empty string");
            goto out;
        }
        free(in->name);
        in->name = strdup(json_string_value(name));
        if (in->name == NULL) {
            rc = nomem(&c);
            goto out;
        }
    }
    reqs = json_object_get(root, "requests");
    vehs = json_object_get(root, "vehicles");
    if (reqs == NULL || vehs == NULL) {
        rc = jfail(&c, NULL, "missing \"%s\"", reqs == NULL ? "requests" : "vehicles");
        goto out;
    }
    if ((rc = want_array(&c, reqs, "requests")) < 0 || (rc = want_array(&c, vehs, "vehicles")) < 0)
        goto out;
    if (json_array_size(vehs) < 1) {
        rc = jfail(&c, "vehicles", "at least one vehicle expected");
        goto out;
    }
    if ((rc = parse_dimensions(&c, root, &dims, &n_dims)) < 0)
        goto out;
    c.n_dims = n_dims;
    /* io_instance_alloc keeps the location ids and dimension names already made */
    in->dim_name = dims;
    in->n_dims = n_dims;
    dims = NULL;
    if ((rc = parse_locations(&c, root)) < 0)
        goto out;
    rc = io_instance_alloc(in, (int)json_array_size(reqs), (int)json_array_size(vehs), c.n_locs,
                           n_dims);
    if (rc < 0) {
        rc = nomem(&c);
        goto out;
    }
    c.vehs = vehs;
    if (slv_instance_set_matrix(in->inst, c.time, c.dist) < 0) {
        rc = nomem(&c);
        goto out;
    }
    if ((rc = parse_objective(&c, root)) < 0 || (rc = parse_defaults(&c, root)) < 0)
        goto out;
    if ((rc = parse_ids(&c, reqs, vehs)) < 0)
        goto out;
    for (int r = 0; r < in->n_requests; r++)
        if ((rc = parse_request(&c, json_array_get(reqs, (size_t)r), r)) < 0)
            goto out;
    for (int v = 0; v < in->n_vehicles; v++)
        if ((rc = parse_vehicle(&c, json_array_get(vehs, (size_t)v), v)) < 0)
            goto out;
    in->clock_times = c.clock_seen || (c.max_time >= 3600 && c.max_time <= 2 * 86400.0);
out:
    if (dims != NULL) {
        for (int d = 0; d < n_dims; d++)
            free(dims[d]);
        free(dims);
    }
    free(c.loc_order);
    free(c.req_order);
    free(c.time);
    free(c.dist);
    json_decref(root);
    return rc;
}
