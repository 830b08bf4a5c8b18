/*
 * instance.c - building and validating a routing instance.
 *
 * An instance is filled in by an adapter (a benchmark reader, the dispatcher's
 * snapshot) and then frozen by slv_instance_finalize, which rejects anything
 * the search could not honour (a location outside the matrix, a window that
 * closes before it opens, a load larger than every configuration, a fixed
 * prefix with a stop of another vehicle's on-board rider) and derives what the
 * search reads often: direct ride times and vehicle types (vehicles equal in
 * every attribute and without a fixed prefix are interchangeable, which the
 * set-partitioning refinement uses).
 */
#include "solver/slv_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *slv_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SLV_ERR_CASE(name, code, msg)                                                              \
    case code:                                                                                     \
        return msg;
        SLV_ERRNO_MAP(SLV_ERR_CASE)
#undef SLV_ERR_CASE
    default:
        return "unknown error";
    }
}

int slv_instance_create(slv_instance **out, int n_locs, int n_dims)
{
    slv_instance *in;

    *out = NULL;
    if (n_locs <= 0 || n_dims <= 0 || n_dims > SLV_MAX_DIMS)
        return SLV_EINVAL;
    in = calloc(1, sizeof(*in));
    if (in == NULL)
        return SLV_ENOMEM;
    in->n_locs = n_locs;
    in->n_dims = n_dims;
    in->obj.per_distance = 1.0;
    *out = in;
    return 0;
}

void slv_instance_destroy(slv_instance *in)
{
    if (in == NULL)
        return;
    if (in->dist != in->time)
        free(in->dist);
    free(in->time);
    for (int v = 0; v < in->n_veh; v++)
        free(in->fixed_store[v]);
    free(in->fixed_store);
    free(in->veh);
    free(in->req);
    free(in->direct);
    free(in->veh_type);
    free(in->name);
    free(in);
}

int slv_instance_set_matrix(slv_instance *in, const double *time, const double *dist)
{
    size_t n = (size_t)in->n_locs * (size_t)in->n_locs;
    double *t, *d;

    if (time == NULL || in->finalized)
        return in->finalized ? SLV_ESTATE : SLV_EINVAL;
    t = malloc(n * sizeof(*t));
    if (t == NULL)
        return SLV_ENOMEM;
    memcpy(t, time, n * sizeof(*t));
    d = t;
    if (dist != NULL) {
        d = malloc(n * sizeof(*d));
        if (d == NULL) {
            free(t);
            return SLV_ENOMEM;
        }
        memcpy(d, dist, n * sizeof(*d));
    }
    if (in->dist != in->time)
        free(in->dist);
    free(in->time);
    in->time = t;
    in->dist = d;
    return 0;
}

static int grow(void **arr, int *cap, int need, size_t elem)
{
    int ncap;
    void *p;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return SLV_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int slv_instance_add_request(slv_instance *in, const slv_request *r)
{
    int rc;

    if (in->finalized)
        return SLV_ESTATE;
    rc = grow((void **)&in->req, &in->cap_req, in->n_req + 1, sizeof(*in->req));
    if (rc < 0)
        return rc;
    in->req[in->n_req] = *r;
    return in->n_req++;
}

int slv_instance_add_vehicle(slv_instance *in, const slv_vehicle *v)
{
    int rc, cap_before = in->cap_veh;
    int *fixed = NULL;

    if (in->finalized)
        return SLV_ESTATE;
    if (v->n_fixed < 0 || (v->n_fixed > 0 && v->fixed == NULL))
        return SLV_EINVAL;
    rc = grow((void **)&in->veh, &in->cap_veh, in->n_veh + 1, sizeof(*in->veh));
    if (rc < 0)
        return rc;
    if (in->cap_veh != cap_before || in->fixed_store == NULL) {
        int **p = realloc(in->fixed_store, (size_t)in->cap_veh * sizeof(*p));
        if (p == NULL)
            return SLV_ENOMEM;
        in->fixed_store = p;
    }
    if (v->n_fixed > 0) {
        fixed = malloc((size_t)v->n_fixed * sizeof(*fixed));
        if (fixed == NULL)
            return SLV_ENOMEM;
        memcpy(fixed, v->fixed, (size_t)v->n_fixed * sizeof(*fixed));
    }
    in->veh[in->n_veh] = *v;
    in->veh[in->n_veh].fixed = fixed;
    in->fixed_store[in->n_veh] = fixed;
    return in->n_veh++;
}

void slv_instance_set_objective(slv_instance *in, const slv_objective *obj)
{
    in->obj = *obj;
}

int slv_instance_set_name(slv_instance *in, const char *name)
{
    char *c = strdup(name ? name : "");

    if (c == NULL)
        return SLV_ENOMEM;
    free(in->name);
    in->name = c;
    return 0;
}

static int fail(slv_instance *in, const char **why, const char *fmt, int a, int b)
{
    snprintf(in->why, sizeof(in->why), fmt, a, b);
    if (why)
        *why = in->why;
    return SLV_EINVAL;
}

static int same_vehicle(const slv_vehicle *a, const slv_vehicle *b, int n_dims)
{
    if (a->start_loc != b->start_loc || a->end_loc != b->end_loc ||
        a->shift_start != b->shift_start || a->shift_end != b->shift_end ||
        a->max_duration != b->max_duration || a->n_configs != b->n_configs ||
        a->fixed_cost != b->fixed_cost || a->n_fixed || b->n_fixed)
        return 0;
    for (int c = 0; c < a->n_configs; c++)
        for (int d = 0; d < n_dims; d++)
            if (a->capacity[c][d] != b->capacity[c][d])
                return 0;
    return 1;
}

static int check_request(slv_instance *in, int i, const char **why)
{
    const slv_request *r = &in->req[i];
    int zero = 1;

    if (r->drop_loc < 0 || r->drop_loc >= in->n_locs)
        return fail(in, why, "request %d: drop-off location %d outside the matrix", i, r->drop_loc);
    if (r->onboard_vehicle < 0 && (r->pickup_loc < 0 || r->pickup_loc >= in->n_locs))
        return fail(in, why, "request %d: pickup location %d outside the matrix", i, r->pickup_loc);
    if (r->onboard_vehicle >= in->n_veh)
        return fail(in, why, "request %d: on board unknown vehicle %d", i, r->onboard_vehicle);
    if (r->pinned && (r->pinned_vehicle < 0 || r->pinned_vehicle >= in->n_veh))
        return fail(in, why, "request %d: pinned to unknown vehicle %d", i, r->pinned_vehicle);
    if (r->pinned && r->onboard_vehicle >= 0 && r->onboard_vehicle != r->pinned_vehicle)
        return fail(in, why, "request %d: on board one vehicle but pinned to another%.0d", i, 0);
    if (!(r->pickup_open <= r->pickup_close + SLV_EPS) ||
        !(r->drop_open <= r->drop_close + SLV_EPS))
        return fail(in, why, "request %d: a time window closes before it opens%.0d", i, 0);
    if (!(r->pickup_service >= 0) || !(r->drop_service >= 0) || !(r->max_ride >= 0))
        return fail(in, why, "request %d: negative or invalid service or ride time%.0d", i, 0);
    for (int d = 0; d < in->n_dims; d++) {
        if (r->load[d] < 0)
            return fail(in, why, "request %d: negative load in dimension %d", i, d);
        if (r->load[d] > 0)
            zero = 0;
    }
    (void)zero; /* an empty load (a parcel-free visit) is allowed */
    if (!(r->unserved_penalty >= 0))
        return fail(in, why, "request %d: negative unserved penalty%.0d", i, 0);
    return 0;
}

static int check_vehicle(slv_instance *in, int v, const char **why)
{
    const slv_vehicle *veh = &in->veh[v];

    if (veh->start_loc < 0 || veh->start_loc >= in->n_locs || veh->end_loc < 0 ||
        veh->end_loc >= in->n_locs)
        return fail(in, why, "vehicle %d: depot location outside the matrix%.0d", v, 0);
    if (!(veh->shift_start <= veh->shift_end + SLV_EPS))
        return fail(in, why, "vehicle %d: shift ends before it starts%.0d", v, 0);
    if (!(veh->max_duration >= 0))
        return fail(in, why, "vehicle %d: invalid maximum duration%.0d", v, 0);
    if (veh->n_configs < 1 || veh->n_configs > SLV_MAX_CONFIGS)
        return fail(in, why, "vehicle %d: needs 1 to %d capacity configurations", v,
                    SLV_MAX_CONFIGS);
    for (int k = 0; k < veh->n_fixed; k++) {
        int s = veh->fixed[k];
        if (s < 0 || SLV_REQ(s) >= in->n_req)
            return fail(in, why, "vehicle %d: fixed stop %d is no stop of any request", v, s);
        for (int u = 0; u < in->n_veh; u++)
            for (int j = 0; u != v && j < in->veh[u].n_fixed; j++)
                if (SLV_REQ(in->veh[u].fixed[j]) == SLV_REQ(s))
                    return fail(in, why, "request %d is in the fixed prefix of two vehicles (%d)",
                                SLV_REQ(s), v);
        if (!SLV_IS_DROP(s) && in->req[SLV_REQ(s)].onboard_vehicle >= 0)
            return fail(in, why, "vehicle %d: fixed pickup of request %d already on board", v,
                        SLV_REQ(s));
        if (SLV_IS_DROP(s) && in->req[SLV_REQ(s)].onboard_vehicle >= 0 &&
            in->req[SLV_REQ(s)].onboard_vehicle != v)
            return fail(in, why, "vehicle %d: fixed drop-off of request %d on board elsewhere", v,
                        SLV_REQ(s));
    }
    return 0;
}

int slv_instance_finalize(slv_instance *in, const char **why)
{
    int rc;
    int *onboard_load;

    if (why)
        *why = NULL;
    if (in->finalized)
        return SLV_ESTATE;
    if (in->time == NULL)
        return fail(in, why, "no travel-time matrix%.0d%.0d", 0, 0);
    for (size_t k = 0; k < (size_t)in->n_locs * (size_t)in->n_locs; k++)
        if (!(in->time[k] >= 0) || !(in->dist[k] >= 0) || isinf(in->time[k]))
            return fail(in, why, "matrix entry (%d, %d) is negative or not a number",
                        (int)(k / (size_t)in->n_locs), (int)(k % (size_t)in->n_locs));
    for (int i = 0; i < in->n_req; i++)
        if ((rc = check_request(in, i, why)) < 0)
            return rc;
    for (int v = 0; v < in->n_veh; v++)
        if ((rc = check_vehicle(in, v, why)) < 0)
            return rc;

    in->direct = calloc((size_t)in->n_req + 1, sizeof(*in->direct));
    in->veh_type = calloc((size_t)in->n_veh + 1, sizeof(*in->veh_type));
    onboard_load = calloc((size_t)in->n_veh * SLV_MAX_DIMS + 1, sizeof(*onboard_load));
    if (in->direct == NULL || in->veh_type == NULL || onboard_load == NULL) {
        free(onboard_load);
        return SLV_ENOMEM;
    }
    for (int i = 0; i < in->n_req; i++) {
        const slv_request *r = &in->req[i];
        if (r->onboard_vehicle < 0) {
            in->direct[i] = slv_t(in, r->pickup_loc, r->drop_loc);
        } else {
            in->direct[i] = slv_t(in, in->veh[r->onboard_vehicle].start_loc, r->drop_loc);
            for (int d = 0; d < in->n_dims; d++)
                onboard_load[r->onboard_vehicle * SLV_MAX_DIMS + d] += r->load[d];
        }
    }
    for (int v = 0; v < in->n_veh; v++) {
        if (!slv_load_fits(in, v, &onboard_load[v * SLV_MAX_DIMS])) {
            free(onboard_load);
            return fail(in, why, "vehicle %d: riders on board exceed every configuration%.0d", v,
                        0);
        }
    }
    free(onboard_load);
    in->n_types = 0;
    for (int v = 0; v < in->n_veh; v++) {
        in->veh_type[v] = -1;
        for (int u = 0; u < v; u++) {
            if (same_vehicle(&in->veh[u], &in->veh[v], in->n_dims)) {
                in->veh_type[v] = in->veh_type[u];
                break;
            }
        }
        if (in->veh_type[v] < 0)
            in->veh_type[v] = in->n_types++;
    }
    /* A vehicle with riders on board (or pinned requests) is unique too: they
     * may only ride in it. */
    for (int i = 0; i < in->n_req; i++) {
        int v = in->req[i].pinned ? in->req[i].pinned_vehicle : in->req[i].onboard_vehicle;
        if (v >= 0) {
            int shared = 0;
            for (int u = 0; u < in->n_veh; u++)
                if (u != v && in->veh_type[u] == in->veh_type[v])
                    shared = 1;
            if (shared)
                in->veh_type[v] = in->n_types++;
        }
    }
    if (in->obj.vehicles_first) {
        /* Large enough that one vehicle outweighs any distance and time. */
        double big = 0;
        for (size_t k = 0; k < (size_t)in->n_locs * (size_t)in->n_locs; k++)
            if (in->dist[k] > big)
                big = in->dist[k];
        in->vehicle_weight = (big * in->obj.per_distance + big * in->obj.per_drive_time + 1.0) *
                             (2.0 * in->n_req + 2.0 * in->n_veh + 2.0) * 4.0;
    } else {
        in->vehicle_weight = in->obj.per_vehicle;
    }
    if (in->name == NULL && (rc = slv_instance_set_name(in, "instance")) < 0)
        return rc;
    in->finalized = 1;
    return 0;
}

int slv_load_fits(const slv_instance *in, int v, const int *load)
{
    const slv_vehicle *veh = &in->veh[v];

    for (int c = 0; c < veh->n_configs; c++) {
        int ok = 1;
        for (int d = 0; d < in->n_dims && ok; d++)
            ok = load[d] <= veh->capacity[c][d];
        if (ok)
            return 1;
    }
    return 0;
}

double slv_unserved_cost(const slv_instance *in, int r)
{
    return in->req[r].promised ? SLV_INF : in->req[r].unserved_penalty;
}

int slv_instance_n_requests(const slv_instance *in)
{
    return in->n_req;
}
int slv_instance_n_vehicles(const slv_instance *in)
{
    return in->n_veh;
}
int slv_instance_n_locs(const slv_instance *in)
{
    return in->n_locs;
}
int slv_instance_n_dims(const slv_instance *in)
{
    return in->n_dims;
}
const char *slv_instance_name(const slv_instance *in)
{
    return in->name ? in->name : "";
}
const slv_request *slv_instance_request(const slv_instance *in, int r)
{
    return &in->req[r];
}
const slv_vehicle *slv_instance_vehicle(const slv_instance *in, int v)
{
    return &in->veh[v];
}
const slv_objective *slv_instance_objective(const slv_instance *in)
{
    return &in->obj;
}
double slv_instance_time(const slv_instance *in, int a, int b)
{
    return slv_t(in, a, b);
}
double slv_instance_dist(const slv_instance *in, int a, int b)
{
    return slv_d(in, a, b);
}
