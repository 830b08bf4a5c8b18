/*
 * io_solution.c - solutions in and out, in the node ids of the instance file.
 *
 * Writing: noriai's solution JSON (docs/solution-format.md), by hand rather
 * than through jansson so that each route stays on one line and numbers keep
 * all 17 significant digits.  Only vehicles that drive appear; "vehicle_ids"
 * says which vehicle drives each route.
 *
 * Reading accepts three shapes, told apart by content: a JSON object with
 * "routes" (noriai's own output, or the DARP best-known solutions'
 * {"obj", "routes"}), or SINTEF's text ("Route k : id id ...", after a free
 * header).  All three end in the same builder, which maps ids to stop codes
 * and checks what only the file can get wrong: ids that name no request
 * stop, a stop listed twice, more routes than vehicles, a pickup without its
 * drop-off or the two in different routes, the pickup of a rider already on
 * board.  Everything else - order, times, loads - is the checker's business
 * (slv_check_solution), so that a wrong plan is reported as a violation and
 * not as an unreadable file.
 *
 * The builder uses one int per stop (which route holds it) and one array per
 * route as long as the route in the file: memory stays proportional to the
 * file.
 */
#include "data/io/io_int.h"
#include "solver/errf.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* writing                                                                */

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_id(FILE *f, const io_id *id)
{
    if (id->numeric)
        fputs(id->text, f);
    else
        put_string(f, id->text);
}

static void put_number(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("null", f);
}

int io_write_solution(const io_instance *in, const slv_solution *sol, FILE *f)
{
    int n_req = in->n_requests, used = 0, first;
    char *served;

    if (sol == NULL || f == NULL || sol->n_vehicles != in->n_vehicles || sol->n_requests != n_req)
        return IO_EINVAL;
    for (int v = 0; v < sol->n_vehicles; v++)
        for (int k = 0; k < sol->route_len[v]; k++)
            if (sol->route[v][k] < 0 || sol->route[v][k] >= 2 * n_req)
                return IO_EINVAL;
    served = calloc((size_t)n_req + 1, 1);
    if (served == NULL)
        return IO_ENOMEM;
    for (int v = 0; v < sol->n_vehicles; v++) {
        used += sol->route_len[v] > 0;
        for (int k = 0; k < sol->route_len[v]; k++)
            served[SLV_REQ(sol->route[v][k])] = 1;
    }
    fputs("{\n  \"instance\": ", f);
    put_string(f, in->name);
    fputs(",\n  \"cost\": ", f);
    put_number(f, sol->cost);
    fputs(",\n  \"distance\": ", f);
    put_number(f, sol->distance);
    fprintf(f, ",\n  \"vehicles\": %d,\n  \"routes\": [", used);
    first = 1;
    for (int v = 0; v < sol->n_vehicles; v++) {
        if (sol->route_len[v] == 0)
            continue;
        fputs(first ? "\n    [" : ",\n    [", f);
        first = 0;
        for (int k = 0; k < sol->route_len[v]; k++) {
            if (k > 0)
                fputs(", ", f);
            put_id(f, &in->stop_id[sol->route[v][k]]);
        }
        fputc(']', f);
    }
    fputs(first ? "],\n  \"vehicle_ids\": [" : "\n  ],\n  \"vehicle_ids\": [", f);
    first = 1;
    for (int v = 0; v < sol->n_vehicles; v++) {
        if (sol->route_len[v] == 0)
            continue;
        if (!first)
            fputs(", ", f);
        first = 0;
        put_id(f, &in->vehicle_id[v]);
    }
    fputs("],\n  \"unassigned\": [", f);
    first = 1;
    for (int r = 0; r < n_req; r++) {
        if (served[r])
            continue;
        if (!first)
            fputs(", ", f);
        first = 0;
        put_id(f, &in->request_id[r]);
    }
    fputs("]\n}\n", f);
    free(served);
    return ferror(f) ? IO_EWRITE : 0;
}

int io_save_solution(const io_instance *in, const slv_solution *sol, const char *path, char *err,
                     size_t err_len)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (f == NULL)
        return slv_errf(err, err_len, IO_EWRITE, "%s: cannot create: %s", path, strerror(errno));
    rc = io_write_solution(in, sol, f);
    if (fclose(f) != 0 && rc == 0)
        rc = IO_EWRITE;
    if (rc < 0)
        return slv_errf(err, err_len, rc, "%s: cannot write the solution: %s", path,
                        rc == IO_EWRITE ? strerror(errno) : io_strerror(rc));
    return 0;
}

/* ---------------------------------------------------------------------- */
/* reading                                                                */

typedef struct builder {
    const io_instance *in;
    const char *path;
    char *err;
    size_t err_len;
    slv_solution *sol;
    int *route_of; /* [2 n_req] vehicle whose route holds the stop, or -1 */
    int *veh_used; /* [n_veh] 1 once a route was given to the vehicle */
    int *veh_line; /* [n_veh] line (text) or route index (JSON) of its route */
    int n_routes;
    int text; /* 1: SINTEF text, where[] are line numbers */
} builder;

/* "path:12: " for text, "path: routes[3]: " for JSON. */
static int bfail(builder *b, int where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bfail(builder *b, int where, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (where < 0)
        return slv_errf(b->err, b->err_len, IO_EMATCH, "%s: %s", b->path, msg);
    if (b->text)
        return slv_errf(b->err, b->err_len, IO_EMATCH, "%s:%d: %s", b->path, where, msg);
    return slv_errf(b->err, b->err_len, IO_EMATCH, "%s: routes[%d]: %s", b->path, where, msg);
}

static int builder_init(builder *b, const io_instance *in, const char *path, char *err,
                        size_t err_len)
{
    int n_stops = 2 * in->n_requests;

    memset(b, 0, sizeof(*b));
    b->in = in;
    b->path = path;
    b->err = err;
    b->err_len = err_len;
    b->route_of = malloc(((size_t)n_stops + 1) * sizeof(*b->route_of));
    b->veh_used = calloc((size_t)in->n_vehicles + 1, sizeof(*b->veh_used));
    b->veh_line = calloc((size_t)in->n_vehicles + 1, sizeof(*b->veh_line));
    if (b->route_of == NULL || b->veh_used == NULL || b->veh_line == NULL ||
        slv_solution_create(&b->sol, in->inst) < 0)
        return slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", path);
    for (int s = 0; s < n_stops; s++)
        b->route_of[s] = -1;
    return 0;
}

static void builder_cleanup(builder *b)
{
    free(b->route_of);
    free(b->veh_used);
    free(b->veh_line);
    slv_solution_destroy(b->sol);
    b->sol = NULL;
}

/*
 * Adds the next route of the file: ids[0..n) for vehicle veh (-1: the next
 * route number).  where is the line (text) or the route index (JSON).
 */
static int builder_route(builder *b, int veh, const char *const *ids, int n, int where)
{
    const io_instance *in = b->in;
    int *stops = NULL, rc = 0, k;

    if (veh < 0)
        veh = b->n_routes;
    if (b->n_routes >= in->n_vehicles || veh >= in->n_vehicles) {
        rc = bfail(b, where, "more routes than the instance's %d vehicle%s", in->n_vehicles,
                   in->n_vehicles == 1 ? "" : "s");
        goto out;
    }
    if (b->veh_used[veh]) {
        rc = bfail(b, where, "vehicle \"%s\" already has a route", in->vehicle_id[veh].text);
        goto out;
    }
    b->veh_used[veh] = 1;
    b->veh_line[veh] = where;
    b->n_routes++;
    stops = malloc((size_t)n * sizeof(*stops) + 1);
    if (stops == NULL) {
        rc = slv_errf(b->err, b->err_len, IO_ENOMEM, "%s: out of memory", b->path);
        goto out;
    }
    for (k = 0; k < n; k++) {
        int s = io_find_stop(in, ids[k]);
        if (s < 0) {
            rc = bfail(b, where,
                       "\"%s\" is not the node id of any request's pickup or drop-off (routes "
                       "leave the depots out)",
                       ids[k]);
            goto out;
        }
        if (b->route_of[s] >= 0) {
            rc = bfail(b, where, "node %s appears twice (also in the route of vehicle \"%s\")",
                       ids[k], in->vehicle_id[b->route_of[s]].text);
            goto out;
        }
        b->route_of[s] = veh;
        stops[k] = s;
    }
    if (slv_solution_set_route(b->sol, veh, stops, n) < 0)
        rc = slv_errf(b->err, b->err_len, IO_ENOMEM, "%s: out of memory", b->path);
out:
    free(stops);
    return rc;
}

/* Pairing checks over all routes, then the unassigned list. */
static int builder_finish(builder *b, slv_solution **out)
{
    const io_instance *in = b->in;

    for (int r = 0; r < in->n_requests; r++) {
        const slv_request *req = slv_instance_request(in->inst, r);
        int vp = b->route_of[SLV_PICKUP(r)], vd = b->route_of[SLV_DROP(r)];
        const char *rid = in->request_id[r].text;
        const char *pid = in->stop_id[SLV_PICKUP(r)].text, *did = in->stop_id[SLV_DROP(r)].text;

        if (req->onboard_vehicle >= 0) {
            if (vp >= 0)
                return bfail(b, b->veh_line[vp],
                             "request %s is already on board vehicle \"%s\": its pickup %s "
                             "cannot be in a route",
                             rid, in->vehicle_id[req->onboard_vehicle].text, pid);
            continue;
        }
        if (vp < 0 && vd >= 0)
            return bfail(b, b->veh_line[vd], "drop-off %s of request %s without its pickup %s", did,
                         rid, pid);
        if (vp >= 0 && vd < 0)
            return bfail(b, b->veh_line[vp], "pickup %s of request %s without its drop-off %s", pid,
                         rid, did);
        if (vp != vd)
            return bfail(b, b->veh_line[vd],
                         "request %s is picked up by vehicle \"%s\" but dropped off by \"%s\"", rid,
                         in->vehicle_id[vp].text, in->vehicle_id[vd].text);
    }
    if (slv_solution_fill_unassigned(b->sol, in->inst) < 0)
        return slv_errf(b->err, b->err_len, IO_ENOMEM, "%s: out of memory", b->path);
    *out = b->sol;
    b->sol = NULL;
    return 0;
}

/*
 * Text of an id in a solution: a string (pointed at, not copied) or an
 * integer written into num[0..32).  NULL if neither.
 */
static const char *json_id_text(const json_t *v, char *num)
{
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) != json_string_length(v))
            return NULL;
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        snprintf(num, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return num;
    }
    return NULL;
}

static int read_json(builder *b, io_text *t, double *claimed)
{
    json_error_t jerr;
    json_t *root, *routes, *vids, *cost;
    const char **ids = NULL;
    char *texts = NULL;
    size_t max_len = 0;
    int rc = 0;

    b->text = 0;
    root = json_loadb(t->buf, t->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return slv_errf(b->err, b->err_len, IO_EPARSE, "%s:%d:%d: %s", b->path, jerr.line,
                        jerr.column, jerr.text);
    routes = json_object_get(root, "routes");
    vids = json_object_get(root, "vehicle_ids");
    cost = json_object_get(root, "cost");
    if (cost == NULL)
        cost = json_object_get(root, "obj");
    if (!json_is_object(root) || !json_is_array(routes)) {
        rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                      "%s: not a solution: expected an object with a \"routes\" array", b->path);
        goto out;
    }
    if (cost != NULL && !json_is_number(cost) && !json_is_null(cost)) {
        rc = slv_errf(b->err, b->err_len, IO_EPARSE, "%s: \"cost\" is not a number", b->path);
        goto out;
    }
    if (claimed != NULL && json_is_number(cost))
        *claimed = json_number_value(cost);
    if (vids != NULL &&
        (!json_is_array(vids) || json_array_size(vids) != json_array_size(routes))) {
        rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                      "%s: \"vehicle_ids\" must be an array as long as \"routes\" (%zu)", b->path,
                      json_array_size(routes));
        goto out;
    }
    for (size_t i = 0; i < json_array_size(routes); i++) {
        json_t *r = json_array_get(routes, i);
        if (!json_is_array(r)) {
            rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                          "%s: routes[%zu]: not an array of node ids", b->path, i);
            goto out;
        }
        if (json_array_size(r) > max_len)
            max_len = json_array_size(r);
    }
    ids = malloc((max_len + 1) * sizeof(*ids));
    texts = malloc((max_len + 1) * 32);
    if (ids == NULL || texts == NULL) {
        rc = slv_errf(b->err, b->err_len, IO_ENOMEM, "%s: out of memory", b->path);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(routes); i++) {
        json_t *r = json_array_get(routes, i);
        int veh = (int)i;
        if (vids != NULL) {
            char num[32];
            const char *vt = json_id_text(json_array_get(vids, i), num);
            if (vt == NULL) {
                rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                              "%s: vehicle_ids[%zu]: not a vehicle id (string or integer)", b->path,
                              i);
                goto out;
            }
            veh = io_find_vehicle(b->in, vt);
            if (veh < 0) {
                rc = slv_errf(b->err, b->err_len, IO_EMATCH,
                              "%s: vehicle_ids[%zu]: the instance has no vehicle \"%s\"", b->path,
                              i, vt);
                goto out;
            }
        }
        for (size_t k = 0; k < json_array_size(r); k++) {
            ids[k] = json_id_text(json_array_get(r, k), texts + k * 32);
            if (ids[k] == NULL) {
                rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                              "%s: routes[%zu][%zu]: not a node id (string or integer)", b->path, i,
                              k);
                goto out;
            }
        }
        if ((rc = builder_route(b, veh, ids, (int)json_array_size(r), (int)i)) < 0)
            goto out;
    }
out:
    free(ids);
    free(texts);
    json_decref(root);
    return rc;
}

/* "Route 3 : 12 7 ..." -> the ids after the colon; -1 if not a route line. */
static int route_line(char *line, char **ids_start)
{
    char *colon = strchr(line, ':'), *p = line, *end;
    long k;

    if (strncmp(p, "Route", 5) != 0 && strncmp(p, "route", 5) != 0)
        return -1;
    if (colon == NULL)
        return -1;
    p += 5;
    k = strtol(p, &end, 10);
    if (end == p || k < 0)
        return -1;
    while (end < colon && (*end == ' ' || *end == '\t'))
        end++;
    if (end != colon)
        return -1;
    *ids_start = colon + 1;
    return 0;
}

static int read_text(builder *b, io_text *t)
{
    char **ids = NULL, *start;
    int rc = 0, seen_route = 0;

    b->text = 1;
    if ((rc = io_text_split(t, b->err, b->err_len)) < 0)
        return rc;
    for (int i = 0; i < t->n_lines; i++) {
        int n;
        if (route_line(t->line[i], &start) < 0) {
            if (seen_route) {
                rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                              "%s:%d: expected a route line \"Route k : ids\"", b->path,
                              t->line_no[i]);
                goto out;
            }
            continue; /* header */
        }
        seen_route = 1;
        free(ids);
        ids = malloc((strlen(start) / 2 + 2) * sizeof(*ids));
        if (ids == NULL) {
            rc = slv_errf(b->err, b->err_len, IO_ENOMEM, "%s: out of memory", b->path);
            goto out;
        }
        n = io_fields(start, ids, (int)(strlen(start) / 2 + 1));
        for (int k = 0; k < n; k++) {
            long long dummy;
            if (io_parse_int(ids[k], 0, 1LL << 40, &dummy) < 0) {
                rc = slv_errf(b->err, b->err_len, IO_EPARSE, "%s:%d: \"%s\" is not a node id",
                              b->path, t->line_no[i], ids[k]);
                goto out;
            }
        }
        if ((rc = builder_route(b, -1, (const char *const *)ids, n, t->line_no[i])) < 0)
            goto out;
    }
    if (!seen_route)
        rc = slv_errf(b->err, b->err_len, IO_EPARSE,
                      "%s: not a solution: no JSON object and no \"Route k : ids\" lines", b->path);
out:
    free(ids);
    return rc;
}

int io_read_solution(const io_instance *in, const char *path, slv_solution **out,
                     double *claimed_cost, char *err, size_t err_len)
{
    io_text t;
    builder b;
    size_t k = 0;
    int rc;

    memset(&t, 0, sizeof(t));
    memset(&b, 0, sizeof(b));
    if (out != NULL)
        *out = NULL;
    if (claimed_cost != NULL)
        *claimed_cost = NAN;
    if (in == NULL || path == NULL || out == NULL)
        return slv_errf(err, err_len, IO_EINVAL, "no instance or solution file given");
    if ((rc = io_text_load(&t, path, err, err_len)) < 0)
        goto out;
    if ((rc = builder_init(&b, in, path, err, err_len)) < 0)
        goto out;
    while (k < t.len &&
           (t.buf[k] == ' ' || t.buf[k] == '\t' || t.buf[k] == '\r' || t.buf[k] == '\n'))
        k++;
    if (k < t.len && (t.buf[k] == '{' || t.buf[k] == '['))
        rc = read_json(&b, &t, claimed_cost);
    else
        rc = read_text(&b, &t);
    if (rc < 0)
        goto out;
    rc = builder_finish(&b, out);
out:
    builder_cleanup(&b);
    io_text_cleanup(&t);
    return rc;
}
