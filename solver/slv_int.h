/*
 * slv_int.h - private to solver/: the instance's layout and the helpers the
 * search modules share.  Nothing outside solver/ includes this.
 */
#ifndef NORIAI_SLV_INT_H
#define NORIAI_SLV_INT_H

#include "solver/slv.h"

struct slv_instance {
    char *name;
    int n_locs, n_dims;
    double *time, *dist; /* n_locs * n_locs, dist may alias time */
    int n_req, cap_req;
    slv_request *req;
    int n_veh, cap_veh;
    slv_vehicle *veh; /* veh[v].fixed points into fixed_store */
    int **fixed_store;
    slv_objective obj;
    int finalized;
    char why[160];
    /* derived by finalize */
    double *direct;    /* [n_req] direct travel time pickup -> drop */
    int *veh_type;     /* [n_veh] vehicles with equal attributes share a type */
    int n_types;
    double vehicle_weight; /* per_vehicle, or the big weight of vehicles_first */
};

/* min/max without libm's NaN handling (inputs here are never NaN), so they inline. */
static inline double slv_min(double a, double b)
{
    return a < b ? a : b;
}

static inline double slv_max(double a, double b)
{
    return a > b ? a : b;
}

static inline double slv_t(const slv_instance *in, int a, int b)
{
    return in->time[(size_t)a * (size_t)in->n_locs + (size_t)b];
}

static inline double slv_d(const slv_instance *in, int a, int b)
{
    return in->dist[(size_t)a * (size_t)in->n_locs + (size_t)b];
}

/* Location, window and service time of a stop code. */
static inline int slv_stop_loc(const slv_instance *in, int s)
{
    const slv_request *r = &in->req[SLV_REQ(s)];
    return SLV_IS_DROP(s) ? r->drop_loc : r->pickup_loc;
}

static inline double slv_stop_open(const slv_instance *in, int s)
{
    const slv_request *r = &in->req[SLV_REQ(s)];
    return SLV_IS_DROP(s) ? r->drop_open : r->pickup_open;
}

static inline double slv_stop_close(const slv_instance *in, int s)
{
    const slv_request *r = &in->req[SLV_REQ(s)];
    return SLV_IS_DROP(s) ? r->drop_close : r->pickup_close;
}

static inline double slv_stop_service(const slv_instance *in, int s)
{
    const slv_request *r = &in->req[SLV_REQ(s)];
    return SLV_IS_DROP(s) ? r->drop_service : r->pickup_service;
}

/* Does load[0..n_dims) fit at least one configuration of vehicle v? */
int slv_load_fits(const slv_instance *in, int v, const int *load);

/* Penalty for leaving request r out; SLV_INF for promised ones. */
double slv_unserved_cost(const slv_instance *in, int r);

#endif
