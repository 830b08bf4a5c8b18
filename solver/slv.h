/*
 * slv.h - noriai's routing library: the public interface.
 *
 * The solver is pure: no I/O, no globals, no clock reads of its own (a clock
 * callback and an iteration budget are passed in), deterministic for a given
 * seed and iteration budget.  It knows locations only as indices into a
 * travel-time matrix.
 *
 * Time and cost are doubles.  A real service uses whole seconds from midnight
 * of the service day; the benchmark readers put unrounded Euclidean distances
 * here so that the published objectives are reproduced exactly.  Feasibility
 * tests allow SLV_EPS of rounding slack.
 *
 * Stops.  A stop in a route is coded as 2*r for the pickup of request r and
 * 2*r+1 for its drop-off (SLV_PICKUP/SLV_DROP/SLV_REQ below).
 *
 * Ownership.  slv_instance copies everything handed to it (matrices, fixed
 * prefixes, capacity configurations); the caller keeps its own buffers.  A
 * slv_solution owns its route arrays; slv_solution_destroy frees them.
 */
#ifndef NORIAI_SLV_H
#define NORIAI_SLV_H

#include <stddef.h>
#include <stdint.h>

#define SLV_MAX_DIMS 4    /* load dimensions: seats, wheelchairs, ... */
#define SLV_MAX_CONFIGS 4 /* capacity configurations of one vehicle */
#define SLV_EPS 1e-7      /* tolerance of every time comparison */
#define SLV_INF 1e30      /* "no limit" for windows, ride times, durations */

#define SLV_PICKUP(r) (2 * (r))
#define SLV_DROP(r) (2 * (r) + 1)
#define SLV_REQ(stop) ((stop) >> 1)
#define SLV_IS_DROP(stop) ((stop)&1)

/* Error codes: 0 or one of these negatives.  slv_strerror names each. */
#define SLV_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(RANGE, -3, "index out of range")                                                             \
    X(INFEASIBLE, -4, "no feasible solution")                                                      \
    X(GLPK, -5, "GLPK failed")                                                                     \
    X(STATE, -6, "call out of order")

enum {
#define SLV_ERR_ENUM(name, code, msg) SLV_E##name = (code),
    SLV_ERRNO_MAP(SLV_ERR_ENUM)
#undef SLV_ERR_ENUM
};

const char *slv_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Instance                                                                 */

/*
 * One rider's trip (or a group travelling together).  Windows bound the START
 * of service at each end.  Ride time runs from the end of service at the
 * pickup to the start of service at the drop-off.
 */
typedef struct slv_request {
    int pickup_loc, drop_loc;            /* matrix indices */
    double pickup_open, pickup_close;    /* window at the pickup */
    double drop_open, drop_close;        /* window at the drop-off */
    double pickup_service, drop_service; /* dwell times */
    double max_ride;                     /* SLV_INF for none */
    int load[SLV_MAX_DIMS];              /* seats, wheelchair places, ... */
    int promised;                        /* 1: must stay served */
    double unserved_penalty;             /* cost of leaving it out (optional ones) */
    /*
     * A rider already on board: onboard_vehicle is the vehicle, pickup_done_at
     * the end of service at the pickup (ride time counts from it).  Such a
     * request has no pickup stop; its drop-off must be in that vehicle's route.
     */
    int onboard_vehicle; /* -1 when not on board */
    double pickup_done_at;
    /*
     * Pinned: only vehicle pinned_vehicle may serve it (a driver's break, a
     * trip an operator tied to one van).  Zero-initialised requests are free.
     */
    int pinned;
    int pinned_vehicle;
    int64_t ext_id; /* caller's id, carried through untouched */
} slv_request;

/*
 * A van and its driver's shift.  The route starts at start_loc no earlier than
 * shift_start and ends at end_loc no later than shift_end; its duration (end
 * minus start of service at the depots) is at most max_duration.
 *
 * Capacity: the load after every stop must fit at least one of n_configs
 * configurations (a fold-away seat: {8 seats, 0 wheelchairs} or {6, 1}).
 *
 * Fixed prefix: the first n_fixed stops of the route are committed (the van
 * is driving to them or riders are already promised that order); no move may
 * change or reorder them.
 */
typedef struct slv_vehicle {
    int start_loc, end_loc;
    double shift_start, shift_end;
    double max_duration; /* SLV_INF for none */
    int n_configs;
    int capacity[SLV_MAX_CONFIGS][SLV_MAX_DIMS];
    double fixed_cost; /* added when the vehicle is used, on top of per_vehicle */
    int n_fixed;
    const int *fixed; /* stop codes, copied by slv_instance_add_vehicle */
    int64_t ext_id;
} slv_vehicle;

/*
 * The objective, a weighted sum.  Distance and drive time come from the
 * matrices; excess ride time (ride minus direct travel time) and waiting come
 * from the schedule.  vehicles_first makes the number of used vehicles the
 * first criterion (Li & Lim); the reported cost leaves that term out.
 */
typedef struct slv_objective {
    double per_distance;
    double per_drive_time;
    double per_excess_ride;
    double per_wait;
    double per_vehicle;
    int vehicles_first;
} slv_objective;

typedef struct slv_instance slv_instance;

/* A new empty instance over n_locs locations and n_dims load dimensions. */
int slv_instance_create(slv_instance **out, int n_locs, int n_dims);
void slv_instance_destroy(slv_instance *inst);

/*
 * Matrices are row-major n_locs x n_locs; travel time is required, distance
 * may be NULL (then distance = time).  Both are copied.
 */
int slv_instance_set_matrix(slv_instance *inst, const double *time, const double *dist);
/* Returns the new request's index (>= 0) or a negative error. */
int slv_instance_add_request(slv_instance *inst, const slv_request *req);
/* Returns the new vehicle's index (>= 0) or a negative error. */
int slv_instance_add_vehicle(slv_instance *inst, const slv_vehicle *veh);
void slv_instance_set_objective(slv_instance *inst, const slv_objective *obj);
/* Optional name, copied; shown in outputs. */
int slv_instance_set_name(slv_instance *inst, const char *name);

/*
 * Checks everything added so far and builds derived data.  Must be called once
 * before the instance is used; on error *why (if not NULL) points at a static
 * or instance-owned message naming the offending request or vehicle.
 */
int slv_instance_finalize(slv_instance *inst, const char **why);

int slv_instance_n_requests(const slv_instance *inst);
int slv_instance_n_vehicles(const slv_instance *inst);
int slv_instance_n_locs(const slv_instance *inst);
int slv_instance_n_dims(const slv_instance *inst);
const char *slv_instance_name(const slv_instance *inst);
const slv_request *slv_instance_request(const slv_instance *inst, int r);
const slv_vehicle *slv_instance_vehicle(const slv_instance *inst, int v);
const slv_objective *slv_instance_objective(const slv_instance *inst);
double slv_instance_time(const slv_instance *inst, int from, int to);
double slv_instance_dist(const slv_instance *inst, int from, int to);

/* ------------------------------------------------------------------------ */
/* Solutions                                                                */

/* One route per vehicle (possibly empty) and the requests left unserved. */
typedef struct slv_solution {
    int n_vehicles;
    int n_requests; /* of the instance it was made for */
    int *route_len; /* [n_vehicles] */
    int **route;    /* [n_vehicles][route_len[v]] stop codes, fixed prefix included */
    int n_unassigned;
    int *unassigned; /* request indices */
    /* Filled by slv_solution_evaluate: */
    double cost; /* objective without the vehicles_first term */
    double distance;
    int vehicles_used;
} slv_solution;

int slv_solution_create(slv_solution **out, const slv_instance *inst);
void slv_solution_destroy(slv_solution *sol);
/* Replaces vehicle v's route by a copy of stops[0..n). */
int slv_solution_set_route(slv_solution *sol, int v, const int *stops, int n);
/* Recomputes n_unassigned/unassigned as the requests no route serves. */
int slv_solution_fill_unassigned(slv_solution *sol, const slv_instance *inst);
int slv_solution_copy(slv_solution **out, const slv_solution *src);

/*
 * Per-route result of the reference evaluation.  The schedule is the start of
 * service at each stop; riders are not kept waiting on board where the wait
 * can be taken earlier, with the van empty.
 */
typedef struct slv_route_eval {
    int feasible;
    double distance, drive_time, excess_ride, wait;
    double cost;       /* weighted, including vehicle cost when non-empty */
    double start, end; /* service start at the start and end depots */
} slv_route_eval;

/*
 * Reference evaluation of vehicle v driving stops[0..n): exact feasibility
 * (time windows, ride times, capacity configurations, shift, duration, fixed
 * prefix, pairing) and cost.  If schedule is not NULL it receives n values.
 * Returns 0 (see out->feasible) or a negative error for malformed input such
 * as an unknown stop code.
 */
int slv_route_evaluate(const slv_instance *inst, int v, const int *stops, int n,
                       slv_route_eval *out, double *schedule);

/*
 * Evaluates every route; sets sol->cost, distance, vehicles_used.  Returns 0
 * when all routes are feasible, every request is served at most once, and all
 * promised requests are served; SLV_EINFEASIBLE otherwise.  total (optional)
 * receives the full objective including unserved penalties and the
 * vehicles_first term.
 */
int slv_solution_evaluate(const slv_instance *inst, slv_solution *sol, double *total);

/*
 * The timing problem of one route, exposed so that callers that keep routes
 * of their own (the dispatcher's live plans) schedule them by exactly the rule
 * the solver uses.  Positions 0..n+1: 0 is where and when the van starts, n+1
 * where it ends; arrays have n+2 entries (c has n+1).  All arrays are the
 * caller's; early, late and sched are written.
 */
typedef struct slv_timeline {
    int n;                /* stops between the two ends */
    const double *open;   /* earliest start of service at k */
    const double *close;  /* latest start of service at k */
    const double *c;      /* c[k]: service at k plus travel from k to k+1 */
    const int *mate;      /* at a drop: position of its pickup, else -1 */
    const double *ride;   /* at a drop with a mate: max B_k - B_mate (max ride + pickup service) */
    const char *empty_in; /* 1 when the van is empty on the arc into k */
    double max_duration;  /* B_{n+1} - B_0, SLV_INF for none */
    double *early;        /* OUT: least schedule */
    double *late;         /* OUT: greatest schedule */
    double *sched;        /* OUT: the schedule driven (waiting moved to where the van is empty) */
} slv_timeline;

/*
 * Solves t.  Returns 1 when a schedule exists (early, late and sched filled),
 * 0 when not (early partly written, late and sched untouched).  Cost
 * O(n * rounds); see solver/route.c.
 */
int slv_timeline_solve(const slv_timeline *t);

/* ------------------------------------------------------------------------ */
/* Independent checker                                                       */

/*
 * Validates a solution with deliberately simple code that shares nothing
 * with the search's incremental structures: pairing, precedence, capacity,
 * and the schedule as a system of difference constraints solved by
 * Bellman-Ford.  On failure msg receives the first violation in words.
 * Returns 0 if valid, SLV_EINFEASIBLE if not.
 */
int slv_check_solution(const slv_instance *inst, const slv_solution *sol, char *msg, size_t msg_len,
                       double *cost, int *vehicles);

/* ------------------------------------------------------------------------ */
/* Search                                                                    */

typedef double (*slv_clock_fn)(void *ctx); /* seconds, monotonic */

typedef struct slv_params {
    uint64_t seed;
    long max_iterations; /* LNS iterations; <= 0: no limit */
    double time_limit_s; /* <= 0: no limit; needs clock */
    slv_clock_fn clock;  /* NULL: iteration budget only */
    void *clock_ctx;
    volatile int *cancel;   /* optional: non-zero stops the search */
    int use_glpk;           /* set-partitioning refinement on the route pool */
    double glpk_time_share; /* share of the time limit given to GLPK */
    int pool_max_routes;    /* cap on the route pool */
    int verbose;            /* progress through log callback */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
} slv_params;

void slv_params_init(slv_params *p);

typedef struct slv_stats {
    long iterations;
    long improvements;
    double construction_cost;
    double lns_cost; /* best after LNS, before refinement */
    double final_cost;
    int pool_routes;
    int glpk_runs;
    int glpk_improved;
    double elapsed_s;
} slv_stats;

/*
 * Solves inst.  initial (optional) is a starting solution, e.g. the current
 * plan; its fixed prefixes must match the instance.  *out receives a new
 * solution owned by the caller.  stats may be NULL.
 */
int slv_solve(const slv_instance *inst, const slv_params *params, const slv_solution *initial,
              slv_solution **out, slv_stats *stats);

#endif
