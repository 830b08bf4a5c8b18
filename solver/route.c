/*
 * route.c - the reference evaluation of one vehicle's route.
 *
 * A route is the stop sequence between the start depot (position 0) and the
 * end depot (position n+1).  With B_k the start of service at position k, the
 * route is feasible when a schedule exists with
 *
 *   B_{k+1} >= B_k + s_k + t(k, k+1)          (driving and dwelling)
 *   open_k  <= B_k <= close_k                 (windows, shift at the depots)
 *   B_q - (B_p + s_p) <= max_ride             (ride time, pickup p, drop q)
 *   B_{n+1} - B_0 <= max_duration             (route duration)
 *
 * and the load after every stop fits one capacity configuration.  The upper
 * bounds between two stops turn into lower bounds of the earlier one
 * (B_p >= B_q - max_ride - s_p), so the least solution is the fixpoint of a
 * monotone system: sweep forward raising each B_k to its predecessor's
 * finish, then raise pickups (and the depot start) that violate a ride or
 * duration limit, and sweep again.  Each sweep is one Bellman-Ford round of the
 * longest-path problem, so a feasible route settles within n+2 sweeps and
 * anything still moving after that has a positive cycle; a value past its
 * window's close is infeasible at once, since the least solution only grows.
 * The greatest solution is the mirror image (backward sweeps).
 *
 * Schedule.  The least solution starts everything as early as possible, which
 * can leave riders waiting on board for a window further on.  Wherever the
 * van arrives empty we push that stop later, by at most the on-board waiting
 * of the stretch until the van is empty again and at most the slack towards
 * the greatest solution (and the duration limit); the later stops follow
 * forward.  Stops after such a point move by no more than the point itself,
 * so no ride time grows and every bound still holds: waiting moves to where
 * the van is empty.
 *
 * Cost O(n * sweeps) time, O(n) memory; this is the reference the search's
 * incremental tests are compared with, not the search's hot path.
 */
#include "solver/slv_int.h"

#include <math.h>

/* max/min of two finite doubles, inlined (libm's fmax/fmin are calls, and
 * NaN never occurs here); the timeline is the hottest loop of offers and
 * local search. */
static inline double dmax(double a, double b)
{
    return a > b ? a : b;
}
static inline double dmin(double a, double b)
{
    return a < b ? a : b;
}
#include <stdlib.h>
#include <string.h>

typedef struct rv_work {
    int n;          /* stops; positions 0..n+1 */
    int *loc;       /* [n+2] */
    double *open;   /* [n+2] */
    double *close;  /* [n+2] */
    double *serv;   /* [n+2] */
    double *c;      /* [n+1] time from start of service at k to arrival at k+1 */
    int *mate;      /* [n+2] position of the pickup of a drop, or -1 */
    double *ride;   /* [n+2] at a drop: max B_q - B_p */
    double *early;  /* [n+2] least schedule */
    double *late;   /* [n+2] greatest schedule */
    double *sched;  /* [n+2] chosen schedule */
    char *empty_in; /* [n+2] van empty on the arc into k */
    double dur;
} rv_work;

static void rv_free(rv_work *w)
{
    free(w->loc);
    free(w->open);
    free(w->close);
    free(w->serv);
    free(w->c);
    free(w->mate);
    free(w->ride);
    free(w->early);
    free(w->late);
    free(w->sched);
    free(w->empty_in);
}

static int rv_alloc(rv_work *w, int n)
{
    size_t m = (size_t)n + 2;

    memset(w, 0, sizeof(*w));
    w->n = n;
    w->loc = malloc(m * sizeof(*w->loc));
    w->open = malloc(m * sizeof(double));
    w->close = malloc(m * sizeof(double));
    w->serv = malloc(m * sizeof(double));
    w->c = malloc(m * sizeof(double));
    w->mate = malloc(m * sizeof(int));
    w->ride = malloc(m * sizeof(double));
    w->early = malloc(m * sizeof(double));
    w->late = malloc(m * sizeof(double));
    w->sched = malloc(m * sizeof(double));
    w->empty_in = malloc(m);
    if (!w->loc || !w->open || !w->close || !w->serv || !w->c || !w->mate || !w->ride ||
        !w->early || !w->late || !w->sched || !w->empty_in) {
        rv_free(w);
        return SLV_ENOMEM;
    }
    return 0;
}

typedef struct rv_pos {
    int stop, pos;
} rv_pos;

static int rv_pos_cmp(const void *a, const void *b)
{
    const rv_pos *x = a, *y = b;

    return (x->stop > y->stop) - (x->stop < y->stop);
}

/* Position (1..n) of stop in the route, or 0 when absent. */
static int rv_find(const rv_pos *map, int n, int stop)
{
    int lo = 0, hi = n - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (map[mid].stop == stop)
            return map[mid].pos;
        if (map[mid].stop < stop)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/*
 * Structure: stop codes, pairing, on-board riders, fixed prefix, capacity.
 * Fills loc/open/close/serv/mate/ride/empty_in/c.  Returns 1 if the structure
 * is valid, 0 if not, or a negative error for unknown stop codes.
 */
static int rv_structure(const slv_instance *in, int v, const int *stops, rv_work *w, rv_pos *map)
{
    const slv_vehicle *veh = &in->veh[v];
    int n = w->n, load[SLV_MAX_DIMS] = {0}, on_board = 0, dropped_onboard = 0, total_onboard = 0;

    for (int k = 0; k < n; k++)
        if (stops[k] < 0 || SLV_REQ(stops[k]) >= in->n_req)
            return SLV_ERANGE;
    if (n < veh->n_fixed)
        return 0;
    for (int k = 0; k < veh->n_fixed; k++)
        if (stops[k] != veh->fixed[k])
            return 0;
    for (int k = 0; k < n; k++) {
        map[k].stop = stops[k];
        map[k].pos = k + 1;
    }
    qsort(map, (size_t)n, sizeof(*map), rv_pos_cmp);
    for (int k = 1; k < n; k++)
        if (map[k].stop == map[k - 1].stop)
            return 0; /* a stop twice */
    /* Riders on board at the start. */
    for (int r = 0; r < in->n_req; r++) {
        if (in->req[r].onboard_vehicle != v)
            continue;
        for (int d = 0; d < in->n_dims; d++)
            load[d] += in->req[r].load[d];
        on_board++;
        total_onboard++;
    }
    w->loc[0] = veh->start_loc;
    w->open[0] = veh->shift_start;
    w->close[0] = veh->shift_end;
    w->serv[0] = 0;
    w->mate[0] = -1;
    w->loc[n + 1] = veh->end_loc;
    w->open[n + 1] = veh->shift_start;
    w->close[n + 1] = veh->shift_end;
    w->serv[n + 1] = 0;
    w->mate[n + 1] = -1;
    w->empty_in[0] = 1;
    for (int k = 1; k <= n; k++) {
        int s = stops[k - 1], r = SLV_REQ(s);
        const slv_request *q = &in->req[r];
        w->loc[k] = slv_stop_loc(in, s);
        w->open[k] = slv_stop_open(in, s);
        w->close[k] = slv_stop_close(in, s);
        w->serv[k] = slv_stop_service(in, s);
        w->mate[k] = -1;
        w->empty_in[k] = on_board == 0;
        if (q->pinned && q->pinned_vehicle != v)
            return 0; /* tied to another van */
        if (!SLV_IS_DROP(s)) {
            if (q->onboard_vehicle >= 0)
                return 0; /* already picked up */
            if (rv_find(map, n, SLV_DROP(r)) <= k)
                return 0; /* no drop-off after the pickup */
            for (int d = 0; d < in->n_dims; d++)
                load[d] += q->load[d];
            on_board++;
        } else {
            if (q->onboard_vehicle >= 0) {
                if (q->onboard_vehicle != v)
                    return 0;
                double lim = q->pickup_done_at + q->max_ride;
                if (q->max_ride < SLV_INF && lim < w->close[k])
                    w->close[k] = lim;
                dropped_onboard++;
            } else {
                int pk = rv_find(map, n, SLV_PICKUP(r));
                if (pk <= 0 || pk >= k)
                    return 0;
                w->mate[k] = pk;
                w->ride[k] = q->max_ride + q->pickup_service;
            }
            for (int d = 0; d < in->n_dims; d++)
                load[d] -= q->load[d];
            on_board--;
        }
        if (!slv_load_fits(in, v, load))
            return 0;
    }
    w->empty_in[n + 1] = on_board == 0;
    if (on_board != 0 || dropped_onboard != total_onboard)
        return 0; /* someone never gets off */
    for (int k = 0; k <= n; k++)
        w->c[k] = w->serv[k] + slv_t(in, w->loc[k], w->loc[k + 1]);
    w->dur = veh->max_duration;
    return 1;
}

/* Least solution of the constraint system; returns 1 if feasible. */
static int rv_earliest(const slv_timeline *w)
{
    int n = w->n, last = n + 1;
    double *b = w->early;

    b[0] = w->open[0];
    for (int k = 1; k <= last; k++)
        b[k] = dmax(w->open[k], b[k - 1] + w->c[k - 1]);
    for (int round = 0; round <= n + 2; round++) {
        int from = last + 1;
        for (int k = 0; k <= last; k++)
            if (b[k] > w->close[k] + SLV_EPS)
                return 0;
        for (int k = 1; k <= last; k++) {
            int p = w->mate[k];
            if (p >= 0 && b[k] - b[p] > w->ride[k] + SLV_EPS) {
                b[p] = b[k] - w->ride[k];
                if (p < from)
                    from = p;
            }
        }
        if (w->max_duration < SLV_INF && b[last] - b[0] > w->max_duration + SLV_EPS) {
            b[0] = b[last] - w->max_duration;
            from = 0;
        }
        if (from > last)
            return 1;
        for (int k = from + 1; k <= last; k++)
            b[k] = dmax(b[k], b[k - 1] + w->c[k - 1]);
    }
    return 0;
}

/* Greatest solution; call only on a feasible route. */
static void rv_latest(const slv_timeline *w)
{
    int n = w->n, last = n + 1;
    double *b = w->late;

    b[last] = w->close[last];
    for (int k = last - 1; k >= 0; k--)
        b[k] = dmin(w->close[k], b[k + 1] - w->c[k]);
    for (int round = 0; round <= n + 2; round++) {
        int from = -1;
        for (int k = 1; k <= last; k++) {
            int p = w->mate[k];
            if (p >= 0 && b[k] - b[p] > w->ride[k] + SLV_EPS) {
                b[k] = b[p] + w->ride[k];
                if (k > from)
                    from = k;
            }
        }
        if (w->max_duration < SLV_INF && b[last] - b[0] > w->max_duration + SLV_EPS) {
            b[last] = b[0] + w->max_duration;
            from = last;
        }
        if (from < 0)
            return;
        for (int k = from - 1; k >= 0; k--)
            b[k] = dmin(b[k], b[k + 1] - w->c[k]);
    }
}

/* Moves waiting to where the van is empty; see the essay at the top. */
static void rv_schedule(const slv_timeline *w)
{
    int n = w->n, last = n + 1;
    double *b = w->sched;

    memcpy(b, w->early, ((size_t)n + 2) * sizeof(*b));
    for (int k = 0; k <= n; k++) {
        double onboard_wait = 0, slack, cum = 0;
        int j;

        if (!w->empty_in[k])
            continue;
        /* Waiting on board in the stretch that starts at k. */
        for (j = k + 1; j <= last && !w->empty_in[j]; j++)
            onboard_wait += b[j] - (b[j - 1] + w->c[j - 1]);
        if (onboard_wait <= SLV_EPS)
            continue;
        slack = w->late[k] - b[k];
        for (j = k + 1; j <= last && slack > 0; j++) {
            cum += b[j] - (b[j - 1] + w->c[j - 1]);
            slack = dmin(slack, cum + (w->late[j] - b[j]));
        }
        if (k > 0 && w->max_duration < SLV_INF)
            slack = dmin(slack, (b[0] + w->max_duration - b[last]) + cum);
        slack = dmin(slack, onboard_wait);
        if (slack <= SLV_EPS)
            continue;
        b[k] += slack;
        for (j = k + 1; j <= last; j++)
            b[j] = dmax(b[j], b[j - 1] + w->c[j - 1]);
    }
    /* An empty van leaves the depot just in time for its first stop. */
    if (n > 0 && w->empty_in[1])
        b[0] = dmin(w->late[0], dmax(b[0], b[1] - w->c[0]));
}

int slv_timeline_solve(const slv_timeline *t)
{
    if (!rv_earliest(t))
        return 0;
    rv_latest(t);
    rv_schedule(t);
    return 1;
}

int slv_route_evaluate(const slv_instance *in, int v, const int *stops, int n, slv_route_eval *out,
                       double *schedule)
{
    rv_work w;
    rv_pos *map = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!in->finalized)
        return SLV_ESTATE;
    if (v < 0 || v >= in->n_veh || n < 0 || (n > 0 && stops == NULL))
        return SLV_EINVAL;
    if ((rc = rv_alloc(&w, n)) < 0)
        return rc;
    map = malloc(((size_t)n + 1) * sizeof(*map));
    if (map == NULL) {
        rc = SLV_ENOMEM;
        goto out;
    }
    rc = rv_structure(in, v, stops, &w, map);
    if (rc < 0)
        goto out;
    if (n == 0 && rc == 1) {
        /* An unused vehicle: stays at the depot, costs nothing. */
        out->feasible = 1;
        out->start = out->end = in->veh[v].shift_start;
        rc = 0;
        goto out;
    }
    slv_timeline tl = {.n = n,
                       .open = w.open,
                       .close = w.close,
                       .c = w.c,
                       .mate = w.mate,
                       .ride = w.ride,
                       .empty_in = w.empty_in,
                       .max_duration = w.dur,
                       .early = w.early,
                       .late = w.late,
                       .sched = w.sched};
    out->feasible = rc == 1 && slv_timeline_solve(&tl);
    rc = 0;
    if (!out->feasible)
        goto out;
    for (int k = 0; k <= n; k++) {
        out->distance += slv_d(in, w.loc[k], w.loc[k + 1]);
        out->drive_time += slv_t(in, w.loc[k], w.loc[k + 1]);
        if (k > 0)
            out->wait += w.sched[k] - (w.sched[k - 1] + w.c[k - 1]);
    }
    out->wait += w.sched[n + 1] - (w.sched[n] + w.c[n]);
    for (int k = 1; k <= n; k++) {
        int s = stops[k - 1], r = SLV_REQ(s);
        double ride;
        if (!SLV_IS_DROP(s))
            continue;
        if (w.mate[k] >= 0)
            ride = w.sched[k] - (w.sched[w.mate[k]] + w.serv[w.mate[k]]);
        else
            ride = w.sched[k] - in->req[r].pickup_done_at;
        if (ride > in->direct[r])
            out->excess_ride += ride - in->direct[r];
    }
    out->start = w.sched[0];
    out->end = w.sched[n + 1];
    out->cost = in->obj.per_distance * out->distance + in->obj.per_drive_time * out->drive_time +
                in->obj.per_excess_ride * out->excess_ride + in->obj.per_wait * out->wait +
                in->obj.per_vehicle + in->veh[v].fixed_cost;
    if (schedule != NULL)
        memcpy(schedule, w.sched + 1, (size_t)n * sizeof(*schedule));
out:
    free(map);
    rv_free(&w);
    return rc;
}

int slv_solution_evaluate(const slv_instance *in, slv_solution *sol, double *total)
{
    char *served;
    int rc = 0, ok = 1;
    double penalty = 0;

    served = calloc((size_t)in->n_req + 1, 1);
    if (served == NULL)
        return SLV_ENOMEM;
    sol->cost = 0;
    sol->distance = 0;
    sol->vehicles_used = 0;
    for (int v = 0; v < sol->n_vehicles && v < in->n_veh; v++) {
        slv_route_eval ev;
        if ((rc = slv_route_evaluate(in, v, sol->route[v], sol->route_len[v], &ev, NULL)) < 0)
            goto out;
        if (!ev.feasible)
            ok = 0;
        for (int k = 0; k < sol->route_len[v]; k++) {
            int s = sol->route[v][k];
            if (!SLV_IS_DROP(s) || in->req[SLV_REQ(s)].onboard_vehicle >= 0) {
                if (served[SLV_REQ(s)])
                    ok = 0;
                served[SLV_REQ(s)] = 1;
            }
        }
        if (sol->route_len[v] > 0) {
            sol->vehicles_used++;
            sol->cost += ev.cost;
            sol->distance += ev.distance;
        }
    }
    if (sol->n_vehicles != in->n_veh)
        ok = 0;
    for (int r = 0; r < in->n_req; r++) {
        if (served[r])
            continue;
        if (in->req[r].promised)
            ok = 0;
        else
            penalty += in->req[r].unserved_penalty;
    }
    sol->cost += penalty;
    if (total != NULL)
        *total = sol->cost + (in->obj.vehicles_first ? in->vehicle_weight * sol->vehicles_used : 0);
    rc = ok ? 0 : SLV_EINFEASIBLE;
out:
    free(served);
    return rc;
}
