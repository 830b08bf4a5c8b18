/*
 * insert.c - where a request fits in a route, and the insertion heuristics.
 *
 * The test.  Inserting pickup p after position i and drop-off d after
 * position j adds two nodes and their edges to the route's difference-
 * constraint graph (search.c).  The old graph has no negative cycle, so the
 * new one has one exactly when a cycle runs through p or d; between the
 * points where such a cycle leaves and re-enters the new nodes it follows a
 * shortest path of the old graph, whose length D already holds.  Writing
 * a = s_i + t(i,p) and b = s_p + t(p,i+1) (and likewise for d at j), the
 * cycles through p alone are
 *
 *   E_i + a <= close_p,  open_p + b <= L_{i+1},  a + b <= D(i, i+1),
 *
 * the same three for d, and one more family through both: the tightest upper
 * bound on B_d - B_p (the ride limit, or a path p -> old nodes -> d) plus the
 * tightest upper bound on B_p - B_d must not be negative.  Every bound is a
 * lookup, so one position pair costs O(1) after the O(n^3) preparation of the
 * route, and the answer is exact: it equals a full re-evaluation (the tests
 * check this), provided travel times obey the triangle inequality (shortest
 * path matrices do) - otherwise it may refuse, never accept wrongly, an
 * insertion.
 *
 * The loops stop early: under the triangle inequality the earliest arrival at
 * d and the shortest ride from p grow with j, and a capacity excess on the arc
 * after j rules out every later j.
 *
 * Cost.  The change in distance and drive time (exact) plus, where the
 * objective prices rider time, an estimate of the extra ride time (the new
 * rider's shortest ride beyond the direct trip, and the detours times the
 * riders on board); the route's exact cost is recomputed once the insertion
 * is made.
 */
#include "solver/search.h"

#include <math.h>
#include <string.h>

#define TOL SLV_EPS

typedef struct ins_ctx {
    const slv_instance *in;
    const slv_rstate *R;
    int n;
    double w_dist, w_time, w_ride;
    int loc_p, loc_d;
    double open_p, close_p, open_d, close_d, s_p, s_d, ride; /* ride: max B_d - B_p */
    double direct;
    const int *q;
} ins_ctx;

static int fits_plus(const slv_instance *in, int v, const int *load, const int *q)
{
    int sum[SLV_MAX_DIMS];

    for (int d = 0; d < in->n_dims; d++)
        sum[d] = load[d] + q[d];
    return slv_load_fits(in, v, sum);
}

/* Only the drop-off of r goes in (its pickup is done or committed). */
static int best_drop_only(const ins_ctx *x, int r, int first, int last, slv_ins *best)
{
    const slv_rstate *R = x->R;
    const slv_instance *in = x->in;
    int pk = 0;

    /* With the pickup in the route the drop must follow it. */
    for (int k = 1; k <= R->n; k++)
        if (R->stops[k - 1] == SLV_PICKUP(r))
            pk = k;
    if (pk > first)
        first = pk;
    for (int j = first; j <= last; j++) {
        int lj = R->loc[j], lj1 = R->loc[j + 1];
        double a = R->serv[j] + slv_t(in, lj, x->loc_d);
        double b = x->s_d + slv_t(in, x->loc_d, lj1);
        if (R->E[j] + a > x->close_d + TOL)
            break;
        if (x->open_d + b > R->L[j + 1] + TOL || a + b > SLV_RS_D(R, j, j + 1) + TOL)
            continue;
        if (pk > 0 && x->ride < SLV_INF) {
            /* The only new cycle besides d's own: the ride edge p -> d, back d -> old -> p. */
            double d2p = slv_min(-a + SLV_RS_D(R, j, pk), -x->open_d + R->L[pk]);
            if (x->ride + d2p < -TOL)
                continue;
        }
        double dd = slv_d(in, lj, x->loc_d) + slv_d(in, x->loc_d, lj1) - slv_d(in, lj, lj1);
        double dt = slv_t(in, lj, x->loc_d) + slv_t(in, x->loc_d, lj1) - slv_t(in, lj, lj1);
        double cost = x->w_dist * dd + x->w_time * dt + x->w_ride * dt * (R->riders[j] - 1);
        if (cost < best->cost) {
            best->cost = cost;
            best->i = j;
            best->j = j;
        }
    }
    return 0;
}

/*
 * The search over positions; only_i/only_j >= 0 restrict it to one position
 * pair (for tests), which the early exits never skip wrongly.
 */
static int insertion_search(const slv_search *s, const slv_rstate *R, int r, slv_ins *best,
                            int only_i, int only_j)
{
    const slv_instance *in = s->in;
    const slv_request *req = &in->req[r];
    const slv_vehicle *veh = &in->veh[R->v];
    ins_ctx x;
    int first = veh->n_fixed;

    best->v = R->v;
    best->i = best->j = -1;
    best->cost = SLV_INF;
    if (!R->feasible || (s->only_veh[r] >= 0 && s->only_veh[r] != R->v))
        return 0;
    memset(&x, 0, sizeof(x));
    x.in = in;
    x.R = R;
    x.n = R->n;
    x.w_dist = in->obj.per_distance;
    x.w_time = in->obj.per_drive_time;
    x.w_ride = in->obj.per_excess_ride;
    x.loc_p = req->pickup_loc;
    x.loc_d = req->drop_loc;
    x.open_p = req->pickup_open;
    x.close_p = req->pickup_close;
    x.open_d = req->drop_open;
    x.close_d = req->drop_close;
    x.s_p = req->pickup_service;
    x.s_d = req->drop_service;
    x.ride = req->max_ride < SLV_INF ? req->max_ride + req->pickup_service : SLV_INF;
    x.direct = in->direct[r];
    x.q = req->load;
    if (s->drop_only[r]) {
        if (req->onboard_vehicle >= 0 && req->max_ride < SLV_INF)
            x.close_d = slv_min(x.close_d, req->pickup_done_at + req->max_ride);
        return best_drop_only(&x, r, only_j >= 0 ? slv_max(first, only_j) : first,
                              only_j >= 0 ? only_j : x.n, best);
    }
    /* An unused van drives nothing: its first request pays the whole trip and the van. */
    double empty_cost = 0;
    if (R->n == 0 && R->riders[0] == 0)
        empty_cost = in->obj.per_vehicle + veh->fixed_cost +
                     x.w_dist * slv_d(in, R->loc[0], R->loc[1]) +
                     x.w_time * slv_t(in, R->loc[0], R->loc[1]);
    int i_lo = first, i_hi = x.n;
    if (only_i >= 0) {
        if (only_i < first)
            return 0;
        i_lo = i_hi = only_i;
    }
    for (int i = i_lo; i <= i_hi; i++) {
        int li = R->loc[i], li1 = R->loc[i + 1];
        double a_p = R->serv[i] + slv_t(in, li, x.loc_p);
        double b_p = x.s_p + slv_t(in, x.loc_p, li1);
        double ei = R->E[i];
        if (ei + a_p > x.close_p + TOL)
            break; /* later i arrive later still (triangle inequality) */
        if (x.open_p + b_p > R->L[i + 1] + TOL || a_p + b_p > SLV_RS_D(R, i, i + 1) + TOL)
            continue;
        if (!fits_plus(in, R->v, R->load + (size_t)i * SLV_MAX_DIMS, x.q))
            continue;
        double tp = slv_t(in, li, x.loc_p), dp = slv_d(in, li, x.loc_p);
        double base_d = slv_d(in, li, li1), base_t = slv_t(in, li, li1);

        /* d right after p. */
        if (only_j < 0 || only_j == i) {
            double m = x.s_p + slv_t(in, x.loc_p, x.loc_d);
            double b_d = x.s_d + slv_t(in, x.loc_d, li1);
            /* p-alone cycles were checked above; d alone, then through both. */
            int ok = x.open_d + b_d <= R->L[i + 1] + TOL;
            double p2d = x.ride;
            p2d = slv_min(p2d, -a_p + SLV_RS_D(R, i, i + 1) - b_d);
            p2d = slv_min(p2d, -a_p - ei + x.close_d);
            p2d = slv_min(p2d, -x.open_p + R->L[i + 1] - b_d);
            p2d = slv_min(p2d, -x.open_p + x.close_d);
            double d2p = slv_min(-m, -x.open_d + x.close_p);
            ok = ok && p2d + d2p >= -TOL;
            if (ok) {
                double dd = dp + slv_d(in, x.loc_p, x.loc_d) + slv_d(in, x.loc_d, li1) - base_d;
                double dt = tp + slv_t(in, x.loc_p, x.loc_d) + slv_t(in, x.loc_d, li1) - base_t;
                double cost = x.w_dist * dd + x.w_time * dt + x.w_ride * dt * R->riders[i];
                if (cost < best->cost) {
                    best->cost = cost;
                    best->i = i;
                    best->j = i;
                }
            }
        }
        /* d later: after position j > i. */
        double dd_p = dp + slv_d(in, x.loc_p, li1) - base_d;
        double dt_p = tp + slv_t(in, x.loc_p, li1) - base_t;
        double ride0 = slv_t(in, x.loc_p, li1); /* from the end of service at p to i+1 */
        for (int j = i + 1; j <= (only_j >= 0 ? only_j : x.n); j++) {
            int lj = R->loc[j], lj1 = R->loc[j + 1];
            if (!fits_plus(in, R->v, R->load + (size_t)j * SLV_MAX_DIMS, x.q))
                break;
            double a_d = R->serv[j] + slv_t(in, lj, x.loc_d);
            double b_d = x.s_d + slv_t(in, x.loc_d, lj1);
            double min_ride = ride0 + (R->cum[j] - R->cum[i + 1]) + a_d;
            if (min_ride + x.s_p > x.ride + TOL)
                break;
            if (R->E[j] + a_d > x.close_d + TOL)
                break;
            if (x.open_d + b_d > R->L[j + 1] + TOL || a_d + b_d > SLV_RS_D(R, j, j + 1) + TOL)
                continue;
            if (only_j >= 0 && j != only_j)
                continue;
            /* Cycles through both p and d. */
            double p2d = x.ride;
            p2d = slv_min(p2d, -a_p + SLV_RS_D(R, i, j + 1) - b_d);
            p2d = slv_min(p2d, -a_p - ei + x.close_d);
            p2d = slv_min(p2d, -x.open_p + R->L[j + 1] - b_d);
            p2d = slv_min(p2d, -x.open_p + x.close_d);
            double d2p = -a_d + SLV_RS_D(R, j, i + 1) - b_p;
            d2p = slv_min(d2p, -a_d - R->E[j] + x.close_p);
            d2p = slv_min(d2p, -x.open_d + R->L[i + 1] - b_p);
            d2p = slv_min(d2p, -x.open_d + x.close_p);
            if (p2d + d2p < -TOL)
                continue;
            double dd = dd_p + slv_d(in, lj, x.loc_d) + slv_d(in, x.loc_d, lj1) - slv_d(in, lj, lj1);
            double dt_d = slv_t(in, lj, x.loc_d) + slv_t(in, x.loc_d, lj1) - slv_t(in, lj, lj1);
            double cost = x.w_dist * dd + x.w_time * (dt_p + dt_d);
            if (x.w_ride != 0)
                cost += x.w_ride * (min_ride - x.direct + dt_p * R->riders[i] +
                                    dt_d * R->riders[j]);
            if (cost < best->cost) {
                best->cost = cost;
                best->i = i;
                best->j = j;
            }
        }
    }
    if (best->i >= 0)
        best->cost += empty_cost;
    return 0;
}

int slv_best_insertion(const slv_search *s, const slv_rstate *R, int r, slv_ins *best)
{
    return insertion_search(s, R, r, best, -1, -1);
}

int slv_insertion_at(const slv_search *s, const slv_rstate *R, int r, int i, int j, slv_ins *out)
{
    return insertion_search(s, R, r, out, i, j);
}

/* Vehicles first: opening an unused van costs the big weight. */
static double open_cost(const slv_search *s, const slv_rstate *R)
{
    if (s->in->obj.vehicles_first && R->n == 0)
        return s->in->vehicle_weight;
    return 0;
}

static int eval_column(slv_search *s, int v, const int *pending, int n_pending)
{
    int rc;

    for (int k = 0; k < n_pending; k++) {
        int r = pending[k];
        slv_ins *b = &s->ins_best[(size_t)r * s->n_veh + v];
        if ((rc = slv_best_insertion(s, &s->route[v], r, b)) < 0)
            return rc;
        if (b->i >= 0) {
            b->cost += open_cost(s, &s->route[v]);
            if (s->noise > 0)
                b->cost = slv_max(0, b->cost + s->noise * (2 * slv_rng_unit(&s->rng) - 1));
        }
    }
    return 0;
}

/*
 * Inserts the unassigned requests one at a time, choosing by regret-k
 * (regret_k <= 1: greedy, the cheapest insertion first): the request whose
 * best insertion is most ahead of its k-1 next best routes goes first.
 * Requests that fit nowhere stay unassigned.  Only the route that changed is
 * re-examined after each insertion.
 */
int slv_repair(slv_search *s, int regret_k)
{
    int *pending = s->ibuf, n_pending = 0, rc;
    int nv = s->n_veh;

    for (int k = 0; k < s->n_unassigned; k++)
        pending[n_pending++] = s->unassigned[k];
    if (n_pending == 0)
        return 0;
    for (int v = 0; v < nv; v++)
        if ((rc = eval_column(s, v, pending, n_pending)) < 0)
            return rc;
    while (n_pending > 0) {
        int pick = -1;
        double pick_regret = -1, pick_cost = SLV_INF;
        slv_ins pick_ins = {0, 0, 0, 0};

        for (int k = 0; k < n_pending; k++) {
            int r = pending[k];
            const slv_ins *row = &s->ins_best[(size_t)r * nv];
            double c1 = SLV_INF, c2 = SLV_INF, c3 = SLV_INF;
            int b1 = -1;
            for (int v = 0; v < nv; v++) {
                double c = row[v].i >= 0 ? row[v].cost : SLV_INF;
                if (c < c1) {
                    c3 = c2;
                    c2 = c1;
                    c1 = c;
                    b1 = v;
                } else if (c < c2) {
                    c3 = c2;
                    c2 = c;
                } else if (c < c3) {
                    c3 = c;
                }
            }
            if (b1 < 0)
                continue;
            double regret;
            if (regret_k <= 1)
                regret = -c1;
            else if (c2 >= SLV_INF)
                regret = SLV_INF; /* one route left: place it now */
            else if (regret_k == 2 || c3 >= SLV_INF)
                regret = (c2 - c1) + (regret_k >= 3 && c3 >= SLV_INF ? SLV_INF / 4 : 0);
            else
                regret = (c2 - c1) + (c3 - c1);
            if (regret > pick_regret || (regret == pick_regret && c1 < pick_cost)) {
                pick = k;
                pick_regret = regret;
                pick_cost = c1;
                pick_ins = row[b1];
            }
        }
        if (pick < 0)
            break; /* nothing fits anywhere */
        int r = pending[pick];
        pending[pick] = pending[--n_pending];
        if ((rc = slv_search_insert(s, r, &pick_ins)) < 0)
            return rc;
        if ((rc = eval_column(s, pick_ins.v, pending, n_pending)) < 0)
            return rc;
    }
    return 0;
}
