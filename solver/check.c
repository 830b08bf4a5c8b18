/*
 * check.c - the independent solution checker.
 *
 * Everything the search claims about a solution is re-derived here with code
 * that is deliberately plain and shares nothing with route.c: no forward time
 * slacks, no segment data, no incremental state.  If the search and this file
 * disagree, one of them has a bug, and this one is meant to be easy to read.
 *
 * Structure.  One pass over all routes checks the stop codes and records where
 * each request is picked up and dropped off; a pass over the requests then
 * checks pairing (same vehicle, pickup first, served at most once), riders on
 * board (only their drop-off, only in their vehicle) and promised requests.
 * Each vehicle's route is then checked on its own: the fixed prefix, the load
 * after every stop against the capacity configurations, and the schedule.
 *
 * The schedule.  With B_0 the service start at the start depot, B_1..B_n at
 * the stops and B_{n+1} at the end depot, every time rule of the model is a
 * difference constraint x_b - x_a <= w:
 *
 *   B_{k+1} >= B_k + service_k + time(loc_k, loc_{k+1})  (depot service 0)
 *   open_k <= B_k <= close_k,  shift_start <= B_0,  B_{n+1} <= shift_end
 *   B_{n+1} - B_0 <= max_duration
 *   B_drop - (B_pickup + pickup_service) <= max_ride
 *   B_drop - pickup_done_at <= max_ride                 (rider already on board)
 *
 * Absolute bounds become differences against an origin variable Z fixed at 0.
 * The system is feasible iff its constraint graph (edge a->b of weight w per
 * constraint) has no negative cycle.  Bellman-Ford is run in the "longest
 * path" form, x_a = max(x_a, x_b - w): first with every variable starting at
 * 0, which still changes after V rounds iff there is a cycle (even one among
 * points nothing bounds from below); then from Z = 0 with everything else at
 * minus infinity, which converges to the EARLIEST feasible schedule - every
 * feasible schedule is componentwise later.  O(V*E) with V = n+3 and
 * E about 3n, trivial next to a search.  Upper bounds (closes, shift end,
 * duration, ride times) are loosened by SLV_EPS, so rounding noise in
 * unrounded Euclidean data is no violation and every cycle that is exactly
 * tight has weight >= SLV_EPS.
 *
 * Words for a violation.  A negative cycle says "infeasible" but not why.  To
 * name the culprit, the lower-bound constraints (travel, window opens, shift
 * start) are taken as a base, which is always feasible, and the limits are
 * added one at a time in route order (window close of each stop, then its ride
 * time, then shift end and duration).  The first limit x_j - x_i <= w that
 * closes a negative cycle is reported, with the best value achievable without
 * it: min (x_j - x_i) = -dist(j -> i), one Bellman-Ford run from j.  This
 * costs O(n) runs, and is done only for an infeasible route.
 *
 * Cost.  The objective of slv_instance_objective without the vehicles_first
 * term: distance, drive time, vehicle and fixed costs of non-empty routes, and
 * the penalties of unserved optional requests.  Excess ride and waiting depend
 * on the schedule, which a route leaves partly free; they are priced on the
 * documented schedule rule (policy_schedule below: waiting moved to where the
 * van is empty), computed here from this file's own earliest and latest
 * schedules, so the checker and the solver agree on the cost without sharing
 * code.  For the benchmarks their weights are 0.
 *
 * Conventions.  Stop positions in messages are 0-based indices into the
 * route array.  An empty route (no stops, no fixed prefix) is an unused
 * vehicle.  A request no route mentions is unserved; sol->unassigned is not
 * consulted.  Only the first violation is put into msg, but the cost and
 * vehicle count are still computed for the whole solution.
 */
#include "solver/slv_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kinds of schedule constraints, for the words of a violation. */
enum ck_kind {
    CK_TRAVEL,
    CK_OPEN,
    CK_SHIFT_START,
    CK_CLOSE,
    CK_RIDE,
    CK_ONBOARD_RIDE,
    CK_SHIFT_END,
    CK_DURATION,
};

/* Constraint x_b - x_a <= w over nodes 0 = Z, k + 1 = B_k. */
typedef struct ck_edge {
    int a, b;
    double w;   /* including tol */
    double tol; /* SLV_EPS on limits, 0 on lower bounds */
    int kind;
    int pos;    /* route position of the stop concerned, -1 for a depot */
    double lim; /* the limit as stated, for messages */
} ck_edge;

typedef struct ck_state {
    const slv_instance *in;
    const slv_solution *sol;
    char *msg;
    size_t msg_len;
    int bad; /* a violation was found */
} ck_state;

static int finite_bound(double x)
{
    return fabs(x) < SLV_INF / 2;
}

/*
 * Records a violation; only the first one reaches msg.  v < 0: no vehicle;
 * pos < 0: no stop position.
 */
#if defined(__GNUC__)
#define CK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CK_PRINTF(f, a)
#endif
static void violation(ck_state *st, int v, int pos, const char *fmt, ...) CK_PRINTF(4, 5);

static void violation(ck_state *st, int v, int pos, const char *fmt, ...)
{
    va_list ap;
    size_t used = 0;
    int n;

    if (st->bad++ || st->msg == NULL || st->msg_len == 0)
        return;
    st->msg[0] = '\0';
    if (v >= 0) {
        n = snprintf(st->msg, st->msg_len, "vehicle %d (id %lld)%s", v,
                     (long long)st->in->veh[v].ext_id, pos >= 0 ? ", " : ": ");
        used = n > 0 ? (size_t)n : 0;
    }
    if (pos >= 0 && used < st->msg_len) {
        n = snprintf(st->msg + used, st->msg_len - used, "stop %d: ", pos);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < st->msg_len) {
        va_start(ap, fmt);
        vsnprintf(st->msg + used, st->msg_len - used, fmt, ap);
        va_end(ap);
    }
}

static long long req_id(const ck_state *st, int r)
{
    return (long long)st->in->req[r].ext_id;
}

static long long veh_id(const ck_state *st, int v)
{
    return (long long)st->in->veh[v].ext_id;
}

static const char *stop_kind(int s)
{
    return SLV_IS_DROP(s) ? "drop-off" : "pickup";
}

/* ------------------------------------------------------------------------ */
/* Difference constraints                                                    */

/*
 * Longest paths (x_a >= x_b - w for every edge).  With from_origin, from Z
 * alone: the earliest schedule.  Without, from every node at once (all start
 * at 0), which also finds a cycle among points that nothing bounds from below.
 * x[0..n_nodes) receives the values; returns 1 if they converged (feasible),
 * 0 if a positive cycle keeps pushing (infeasible).
 */
static int longest(const ck_edge *e, int n_edges, int n_nodes, int from_origin, double *x)
{
    x[0] = 0;
    for (int i = 1; i < n_nodes; i++)
        x[i] = from_origin ? -HUGE_VAL : 0;
    for (int round = 0; round < n_nodes; round++) {
        int changed = 0;
        for (int k = 0; k < n_edges; k++) {
            double cand = x[e[k].b] - e[k].w;
            if (cand > x[e[k].a]) {
                x[e[k].a] = cand;
                changed = 1;
            }
        }
        if (!changed)
            return 1;
    }
    return 0;
}

/*
 * Shortest distances from src over e[0..n_edges), which must hold no negative
 * cycle; with exact, the limits are taken without their tolerance (for the
 * numbers in a message).  d[i] = HUGE_VAL when i is unreachable.
 */
static void shortest_from(const ck_edge *e, int n_edges, int n_nodes, int src, int exact, double *d)
{
    for (int i = 0; i < n_nodes; i++)
        d[i] = HUGE_VAL;
    d[src] = 0;
    for (int round = 0; round < n_nodes; round++) {
        int changed = 0;
        for (int k = 0; k < n_edges; k++) {
            if (d[e[k].a] == HUGE_VAL)
                continue;
            double w = exact ? e[k].w - e[k].tol : e[k].w;
            if (d[e[k].a] + w < d[e[k].b]) {
                d[e[k].b] = d[e[k].a] + w;
                changed = 1;
            }
        }
        if (!changed)
            break;
    }
}

static void add_edge(ck_edge *e, int *n, int a, int b, double w, int kind, int pos, double lim)
{
    e[*n].a = a;
    e[*n].b = b;
    e[*n].tol = kind >= CK_CLOSE ? SLV_EPS : 0;
    e[*n].w = w + e[*n].tol;
    e[*n].kind = kind;
    e[*n].pos = pos;
    e[*n].lim = lim;
    (*n)++;
}

/* Location and service time of schedule point k (0 and n+1 are the depots). */
static int point_loc(const slv_instance *in, int v, const int *stops, int n, int k)
{
    if (k == 0)
        return in->veh[v].start_loc;
    if (k == n + 1)
        return in->veh[v].end_loc;
    return slv_stop_loc(in, stops[k - 1]);
}

static double point_service(const slv_instance *in, const int *stops, int n, int k)
{
    return k == 0 || k == n + 1 ? 0.0 : slv_stop_service(in, stops[k - 1]);
}

/* Explains the first limit that makes the system infeasible. */
static void diagnose(ck_state *st, int v, const int *stops, const ck_edge *e, int n_base,
                     int n_edges, int n_nodes, double *d)
{
    const slv_instance *in = st->in;

    for (int m = n_base; m < n_edges; m++) {
        const ck_edge *c = &e[m];
        double best;
        int s = c->pos >= 0 ? stops[c->pos] : 0;
        int r = SLV_REQ(s);

        shortest_from(e, m, n_nodes, c->b, 0, d);
        if (d[c->a] == HUGE_VAL || d[c->a] + c->w >= 0)
            continue;
        shortest_from(e, m, n_nodes, c->b, 1, d);
        best = -d[c->a]; /* least x_b - x_a the other constraints allow */
        switch (c->kind) {
        case CK_CLOSE:
            violation(st, v, c->pos,
                      "service at the %s of request %d (id %lld) starts at %.10g at the "
                      "earliest, after its window closes at %.10g",
                      stop_kind(s), r, req_id(st, r), best, c->lim);
            break;
        case CK_RIDE:
            violation(st, v, c->pos,
                      "ride time of request %d (id %lld) is at least %.10g > max ride %.10g", r,
                      req_id(st, r), best - in->req[r].pickup_service, c->lim);
            break;
        case CK_ONBOARD_RIDE:
            violation(st, v, c->pos,
                      "ride time of request %d (id %lld), on board since %.10g, is at least "
                      "%.10g > max ride %.10g",
                      r, req_id(st, r), in->req[r].pickup_done_at, best - in->req[r].pickup_done_at,
                      c->lim);
            break;
        case CK_SHIFT_END:
            violation(st, v, -1,
                      "returns to the end depot at %.10g at the earliest, after the shift ends "
                      "at %.10g",
                      best, c->lim);
            break;
        case CK_DURATION:
            violation(st, v, -1, "route duration is at least %.10g > max duration %.10g", best,
                      c->lim);
            break;
        default:
            violation(st, v, c->pos, "schedule infeasible");
            break;
        }
        return;
    }
    /* Only reachable through rounding at the very edge of the tolerance. */
    violation(st, v, -1, "no schedule meets all time constraints");
}

/*
 * The schedule the objective is priced on (documented in
 * docs/solution-format.md; the solver's route.c implements the same rule):
 * from the earliest schedule, wherever the van arrives empty, push that point
 * later by the waiting riders would otherwise do on board before the van is
 * empty again, as far as the latest schedule (late[], HUGE_VAL if unbounded)
 * and the duration limit allow, the points after it following; finally an
 * empty van leaves the depot just in time for its first stop.
 */
static void policy_schedule(const slv_instance *in, int v, const int *stops, int n, double *b,
                            const double *late)
{
    const slv_vehicle *veh = &in->veh[v];
    int last = n + 1, riders = 0;
    char *empty = malloc((size_t)n + 2);
    double *gap = malloc(((size_t)n + 2) * sizeof(double));

    if (empty == NULL || gap == NULL)
        goto out;
    for (int r = 0; r < in->n_req; r++)
        riders += in->req[r].onboard_vehicle == v;
    empty[0] = 1;
    for (int k = 1; k <= last; k++) {
        empty[k] = riders == 0;
        if (k <= n)
            riders += SLV_IS_DROP(stops[k - 1]) ? -1 : 1;
    }
    for (int k = 0; k <= n; k++)
        gap[k] = point_service(in, stops, n, k) +
                 slv_t(in, point_loc(in, v, stops, n, k), point_loc(in, v, stops, n, k + 1));
    for (int k = 0; k <= n; k++) {
        double onboard = 0, slack, waited = 0;
        if (!empty[k])
            continue;
        for (int j = k + 1; j <= last && !empty[j]; j++)
            onboard += b[j] - (b[j - 1] + gap[j - 1]);
        if (onboard <= SLV_EPS)
            continue;
        slack = late[k] - b[k];
        for (int j = k + 1; j <= last; j++) {
            waited += b[j] - (b[j - 1] + gap[j - 1]);
            if (waited + (late[j] - b[j]) < slack)
                slack = waited + (late[j] - b[j]);
        }
        if (k > 0 && finite_bound(veh->max_duration) &&
            b[0] + veh->max_duration - b[last] + waited < slack)
            slack = b[0] + veh->max_duration - b[last] + waited;
        if (onboard < slack)
            slack = onboard;
        if (slack <= SLV_EPS)
            continue;
        b[k] += slack;
        for (int j = k + 1; j <= last; j++)
            if (b[j] < b[j - 1] + gap[j - 1])
                b[j] = b[j - 1] + gap[j - 1];
    }
    if (n > 0 && empty[1] && b[1] - gap[0] > b[0])
        b[0] = b[1] - gap[0] < late[0] ? b[1] - gap[0] : late[0];
out:
    free(empty);
    free(gap);
}

/*
 * Checks the schedule of vehicle v driving stops[0..n), whose structure is
 * already known to be valid.  On success sched[0..n+2) receives the earliest
 * schedule B_0..B_{n+1}.  Returns 1 if feasible, 0 if not, negative on
 * allocation failure.
 */
static int check_schedule(ck_state *st, int v, const int *stops, int n, double *sched)
{
    const slv_instance *in = st->in;
    const slv_vehicle *veh = &in->veh[v];
    int n_nodes = n + 3, n_edges = 0, n_base, ok, rc;
    int *pick_pos = NULL;
    ck_edge *e = NULL;
    double *x = NULL, *d = NULL;

    e = malloc((size_t)(4 * n + 8) * sizeof(*e));
    x = malloc((size_t)n_nodes * sizeof(*x));
    d = malloc((size_t)n_nodes * sizeof(*d));
    pick_pos = malloc(((size_t)in->n_req + 1) * sizeof(*pick_pos));
    if (e == NULL || x == NULL || d == NULL || pick_pos == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    for (int k = 0; k < n; k++)
        if (!SLV_IS_DROP(stops[k]))
            pick_pos[SLV_REQ(stops[k])] = k;

    /* Base: travel and lower bounds.  Node of B_k is k + 1. */
    for (int k = 0; k <= n; k++) {
        double gap = point_service(in, stops, n, k) +
                     slv_t(in, point_loc(in, v, stops, n, k), point_loc(in, v, stops, n, k + 1));
        add_edge(e, &n_edges, k + 2, k + 1, -gap, CK_TRAVEL, k < n ? k : -1, 0);
    }
    if (finite_bound(veh->shift_start))
        add_edge(e, &n_edges, 1, 0, -veh->shift_start, CK_SHIFT_START, -1, veh->shift_start);
    for (int k = 0; k < n; k++) {
        double open = slv_stop_open(in, stops[k]);
        if (finite_bound(open))
            add_edge(e, &n_edges, k + 2, 0, -open, CK_OPEN, k, open);
    }
    n_base = n_edges;

    /* Limits, in route order. */
    for (int k = 0; k < n; k++) {
        int s = stops[k], r = SLV_REQ(s);
        const slv_request *rq = &in->req[r];
        double close = slv_stop_close(in, s);

        if (finite_bound(close))
            add_edge(e, &n_edges, 0, k + 2, close, CK_CLOSE, k, close);
        if (!SLV_IS_DROP(s) || !finite_bound(rq->max_ride))
            continue;
        if (rq->onboard_vehicle >= 0)
            add_edge(e, &n_edges, 0, k + 2, rq->pickup_done_at + rq->max_ride, CK_ONBOARD_RIDE, k,
                     rq->max_ride);
        else
            add_edge(e, &n_edges, pick_pos[r] + 2, k + 2, rq->pickup_service + rq->max_ride,
                     CK_RIDE, k, rq->max_ride);
    }
    if (finite_bound(veh->shift_end))
        add_edge(e, &n_edges, 0, n + 2, veh->shift_end, CK_SHIFT_END, -1, veh->shift_end);
    if (finite_bound(veh->max_duration))
        add_edge(e, &n_edges, 1, n + 2, veh->max_duration, CK_DURATION, -1, veh->max_duration);

    ok = longest(e, n_edges, n_nodes, 0, x) && longest(e, n_edges, n_nodes, 1, x);
    if (!ok) {
        diagnose(st, v, stops, e, n_base, n_edges, n_nodes, d);
        rc = 0;
        goto out;
    }
    /*
     * Without a finite shift start nothing may bound B_0 (or the first stops)
     * from below; leave the depot just in time for the first bounded point.
     */
    for (int k = n; k >= 0; k--)
        if (x[k + 1] == -HUGE_VAL && x[k + 2] != -HUGE_VAL)
            x[k + 1] = x[k + 2] + e[k].w;
    if (x[1] == -HUGE_VAL)
        x[1] = 0;
    for (int k = 1; k <= n + 1; k++)
        if (x[k + 1] == -HUGE_VAL)
            x[k + 1] = x[k] - e[k - 1].w;
    for (int k = 0; k < n + 2; k++)
        sched[k] = x[k + 1];
    /* Latest schedule: shortest distances from the origin. */
    shortest_from(e, n_edges, n_nodes, 0, 1, d);
    policy_schedule(in, v, stops, n, sched, d + 1);
    rc = 1;
out:
    free(e);
    free(x);
    free(d);
    free(pick_pos);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Structure, capacity, cost                                                 */

static int check_fixed(ck_state *st, int v)
{
    const slv_vehicle *veh = &st->in->veh[v];
    const int *route = st->sol->route[v];
    int len = st->sol->route_len[v];

    for (int k = 0; k < veh->n_fixed; k++) {
        int want = veh->fixed[k];
        if (k >= len) {
            violation(st, v, k,
                      "route ends but the fixed prefix requires the %s of request %d (id %lld)",
                      stop_kind(want), SLV_REQ(want), req_id(st, SLV_REQ(want)));
            return 0;
        }
        if (route[k] != want) {
            violation(st, v, k,
                      "fixed prefix changed: expected the %s of request %d (id %lld), found "
                      "stop code %d",
                      stop_kind(want), SLV_REQ(want), req_id(st, SLV_REQ(want)), route[k]);
            return 0;
        }
    }
    return 1;
}

static void format_load(char *buf, size_t len, const int *load, int n_dims)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int d = 0; d < n_dims && used < len; d++) {
        int n = snprintf(buf + used, len - used, "%s%d", d ? "," : "", load[d]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static int check_capacity(ck_state *st, int v)
{
    const slv_instance *in = st->in;
    const int *route = st->sol->route[v];
    int load[SLV_MAX_DIMS] = {0};
    char buf[64];

    for (int r = 0; r < in->n_req; r++)
        if (in->req[r].onboard_vehicle == v)
            for (int d = 0; d < in->n_dims; d++)
                load[d] += in->req[r].load[d];
    if (!slv_load_fits(in, v, load)) {
        format_load(buf, sizeof(buf), load, in->n_dims);
        violation(st, v, -1,
                  "riders on board at the start, load (%s), fit no capacity "
                  "configuration",
                  buf);
        return 0;
    }
    for (int k = 0; k < st->sol->route_len[v]; k++) {
        int s = route[k], r = SLV_REQ(s);
        for (int d = 0; d < in->n_dims; d++)
            load[d] += SLV_IS_DROP(s) ? -in->req[r].load[d] : in->req[r].load[d];
        if (!slv_load_fits(in, v, load)) {
            format_load(buf, sizeof(buf), load, in->n_dims);
            violation(st, v, k,
                      "load (%s) after the %s of request %d (id %lld) fits no capacity "
                      "configuration of the vehicle",
                      buf, stop_kind(s), r, req_id(st, r));
            return 0;
        }
    }
    return 1;
}

/* Schedule-dependent cost terms on the schedule sched[0..n+2). */
static void schedule_terms(const slv_instance *in, int v, const int *stops, int n,
                           const double *sched, double *excess, double *wait)
{
    *excess = 0;
    *wait = 0;
    for (int k = 1; k <= n + 1; k++) {
        double arrive = sched[k - 1] + point_service(in, stops, n, k - 1) +
                        slv_t(in, point_loc(in, v, stops, n, k - 1), point_loc(in, v, stops, n, k));
        if (sched[k] > arrive)
            *wait += sched[k] - arrive;
    }
    for (int k = 0; k < n; k++) {
        int s = stops[k], r = SLV_REQ(s);
        const slv_request *rq = &in->req[r];
        double ride, direct;

        if (!SLV_IS_DROP(s))
            continue;
        if (rq->onboard_vehicle >= 0) {
            ride = sched[k + 1] - rq->pickup_done_at;
            direct = slv_t(in, in->veh[v].start_loc, rq->drop_loc);
        } else {
            int p = -1;
            for (int j = 0; j < k; j++)
                if (stops[j] == SLV_PICKUP(r))
                    p = j;
            if (p < 0)
                continue;
            ride = sched[k + 1] - (sched[p + 1] + rq->pickup_service);
            direct = slv_t(in, rq->pickup_loc, rq->drop_loc);
        }
        if (ride > direct)
            *excess += ride - direct;
    }
}

int slv_check_solution(const slv_instance *in, const slv_solution *sol, char *msg, size_t msg_len,
                       double *cost, int *vehicles)
{
    ck_state st = {in, sol, msg, msg_len, 0};
    int n_req, n_veh, rc = 0, used = 0, max_len = 0;
    int *pick_veh = NULL, *pick_pos = NULL, *drop_veh = NULL, *drop_pos = NULL;
    char *route_bad = NULL;
    double *sched = NULL;
    double total = 0;

    if (msg != NULL && msg_len > 0)
        msg[0] = '\0';
    if (cost != NULL)
        *cost = 0;
    if (vehicles != NULL)
        *vehicles = 0;
    if (in == NULL || sol == NULL)
        return SLV_EINVAL;
    if (!in->finalized)
        return SLV_ESTATE;
    n_req = in->n_req;
    n_veh = in->n_veh;
    if (sol->n_vehicles != n_veh || sol->n_requests != n_req) {
        violation(&st, -1, -1,
                  "solution is for %d vehicles and %d requests, the instance has %d and %d",
                  sol->n_vehicles, sol->n_requests, n_veh, n_req);
        rc = SLV_EINFEASIBLE;
        goto out;
    }
    pick_veh = malloc(((size_t)n_req + 1) * sizeof(*pick_veh));
    pick_pos = malloc(((size_t)n_req + 1) * sizeof(*pick_pos));
    drop_veh = malloc(((size_t)n_req + 1) * sizeof(*drop_veh));
    drop_pos = malloc(((size_t)n_req + 1) * sizeof(*drop_pos));
    route_bad = calloc((size_t)n_veh + 1, 1);
    if (pick_veh == NULL || pick_pos == NULL || drop_veh == NULL || drop_pos == NULL ||
        route_bad == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    for (int r = 0; r < n_req; r++)
        pick_veh[r] = pick_pos[r] = drop_veh[r] = drop_pos[r] = -1;

    /* Stop codes; where each request is picked up and dropped off. */
    for (int v = 0; v < n_veh; v++) {
        if (sol->route_len[v] > max_len)
            max_len = sol->route_len[v];
        for (int k = 0; k < sol->route_len[v]; k++) {
            int s = sol->route[v][k], r;
            if (s < 0 || s >= 2 * n_req) {
                violation(&st, v, k, "stop code %d is no stop of any request (%d requests)", s,
                          n_req);
                route_bad[v] = 2; /* not even locations: no distance either */
                continue;
            }
            r = SLV_REQ(s);
            if (!SLV_IS_DROP(s) && in->req[r].onboard_vehicle >= 0) {
                violation(&st, v, k,
                          "pickup of request %d (id %lld), whose rider is already on board "
                          "vehicle %d (id %lld)",
                          r, req_id(&st, r), in->req[r].onboard_vehicle,
                          veh_id(&st, in->req[r].onboard_vehicle));
                route_bad[v] |= 1;
                continue;
            }
            if (in->req[r].pinned && in->req[r].pinned_vehicle != v) {
                violation(&st, v, k, "%s of request %d (id %lld), which is pinned to vehicle %d",
                          stop_kind(s), r, req_id(&st, r), in->req[r].pinned_vehicle);
                route_bad[v] |= 1;
                continue;
            }
            int *wv = SLV_IS_DROP(s) ? drop_veh : pick_veh;
            int *wp = SLV_IS_DROP(s) ? drop_pos : pick_pos;
            if (wv[r] >= 0) {
                violation(&st, v, k,
                          "%s of request %d (id %lld) visited again (first by vehicle %d (id "
                          "%lld), stop %d)",
                          stop_kind(s), r, req_id(&st, r), wv[r], veh_id(&st, wv[r]), wp[r]);
                route_bad[v] |= 1;
                route_bad[wv[r]] |= 1;
                continue;
            }
            wv[r] = v;
            wp[r] = k;
        }
    }

    /* Pairing, riders on board, unserved requests. */
    for (int r = 0; r < n_req; r++) {
        const slv_request *rq = &in->req[r];
        int u = rq->onboard_vehicle;

        if (u >= 0) {
            if (drop_veh[r] < 0) {
                violation(&st, u, -1,
                          "rider of request %d (id %lld) is on board but never "
                          "dropped off",
                          r, req_id(&st, r));
                route_bad[u] |= 1;
            } else if (drop_veh[r] != u) {
                violation(&st, drop_veh[r], drop_pos[r],
                          "drop-off of request %d (id %lld), whose rider is on board vehicle %d "
                          "(id %lld)",
                          r, req_id(&st, r), u, veh_id(&st, u));
                route_bad[drop_veh[r]] |= 1;
                route_bad[u] |= 1;
            }
            continue;
        }
        if (pick_veh[r] < 0 && drop_veh[r] < 0) {
            if (rq->promised)
                violation(&st, -1, -1, "promised request %d (id %lld) is not served", r,
                          req_id(&st, r));
            else
                total += rq->unserved_penalty;
        } else if (drop_veh[r] < 0) {
            violation(&st, pick_veh[r], pick_pos[r],
                      "request %d (id %lld) is picked up but never dropped off", r, req_id(&st, r));
            route_bad[pick_veh[r]] |= 1;
        } else if (pick_veh[r] < 0) {
            violation(&st, drop_veh[r], drop_pos[r],
                      "request %d (id %lld) is dropped off but never picked up", r, req_id(&st, r));
            route_bad[drop_veh[r]] |= 1;
        } else if (pick_veh[r] != drop_veh[r]) {
            violation(&st, pick_veh[r], pick_pos[r],
                      "request %d (id %lld) is picked up here but dropped off by vehicle %d "
                      "(id %lld) at stop %d",
                      r, req_id(&st, r), drop_veh[r], veh_id(&st, drop_veh[r]), drop_pos[r]);
            route_bad[pick_veh[r]] |= 1;
            route_bad[drop_veh[r]] |= 1;
        } else if (drop_pos[r] < pick_pos[r]) {
            violation(&st, drop_veh[r], drop_pos[r],
                      "drop-off of request %d (id %lld) comes before its pickup at stop %d", r,
                      req_id(&st, r), pick_pos[r]);
            route_bad[drop_veh[r]] |= 1;
        }
    }

    sched = malloc(((size_t)max_len + 2) * sizeof(*sched));
    if (sched == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }

    /* Each route: fixed prefix, capacity, schedule; cost. */
    for (int v = 0; v < n_veh; v++) {
        const slv_vehicle *veh = &in->veh[v];
        const int *route = sol->route[v];
        int n = sol->route_len[v];
        double dist = 0, drive = 0, excess = 0, wait = 0;
        int feasible;

        if (!check_fixed(&st, v))
            route_bad[v] |= 1;
        if (n == 0)
            continue;
        used++;
        total += in->obj.per_vehicle + veh->fixed_cost;
        if (route_bad[v] & 2)
            continue;
        for (int k = 0; k <= n; k++) {
            int a = point_loc(in, v, route, n, k), b = point_loc(in, v, route, n, k + 1);
            dist += slv_d(in, a, b);
            drive += slv_t(in, a, b);
        }
        total += in->obj.per_distance * dist + in->obj.per_drive_time * drive;
        if (route_bad[v] || !check_capacity(&st, v))
            continue;
        feasible = check_schedule(&st, v, route, n, sched);
        if (feasible < 0) {
            rc = feasible;
            goto out;
        }
        if (!feasible)
            continue;
        schedule_terms(in, v, route, n, sched, &excess, &wait);
        total += in->obj.per_excess_ride * excess + in->obj.per_wait * wait;
    }
    rc = st.bad ? SLV_EINFEASIBLE : 0;
out:
    if (rc != SLV_ENOMEM && cost != NULL)
        *cost = total;
    if (rc != SLV_ENOMEM && vehicles != NULL)
        *vehicles = used;
    if (st.bad && rc == 0)
        rc = SLV_EINFEASIBLE;
    free(pick_veh);
    free(pick_pos);
    free(drop_veh);
    free(drop_pos);
    free(route_bad);
    free(sched);
    return rc;
}
