/*
 * search.c - the search state: route states with their slack data, the
 * assignment of requests to vehicles, and undo.
 *
 * Route state.  For each route the difference constraints of its schedule
 * (see route.c) form a graph over the positions and a time origin z.  We keep
 * that graph's all-pairs shortest paths D, computed by Floyd-Warshall when
 * the route changes (O(n^3), n the stops of one route, a few dozen in a
 * dial-a-ride service).  D(a,b) is the largest B_b - B_a any feasible schedule
 * allows; with it, inserting one or two stops is a question about a handful
 * of numbers (insert.c), whatever ride-time and duration limits couple the
 * route's stops.  A negative cycle (D(a,a) < 0) means the route is infeasible.
 *
 * Undo.  An iteration first copies each route it is about to change
 * (slv_search_touch); rollback swaps the copies back and restores the
 * assignment of the requests involved.  Nothing else needs undoing.
 */
#include "solver/search.h"

#include <math.h>
#ifdef SLV_DEBUG_INCREMENTAL
#include <assert.h>
#include <stdio.h>
#endif
#include <stdlib.h>
#include <string.h>

static void rs_free(slv_rstate *R)
{
    free(R->stops);
    free(R->loc);
    free(R->serv);
    free(R->c);
    free(R->cum);
    free(R->E);
    free(R->L);
    free(R->D);
    free(R->D2);
    free(R->load);
    free(R->riders);
    memset(R, 0, sizeof(*R));
}

/* Makes room for n stops; keeps the stops already there. */
static int rs_reserve(slv_rstate *R, int n)
{
    int cap;
    size_t m, dn;

    if (n <= R->cap && R->D != NULL)
        return 0;
    cap = R->cap ? R->cap : 8;
    while (cap < n)
        cap *= 2;
    m = (size_t)cap + 2;
    dn = ((size_t)cap + 3) * ((size_t)cap + 3);
    int *stops = realloc(R->stops, (size_t)cap * sizeof(int));
    if (stops == NULL)
        return SLV_ENOMEM;
    R->stops = stops;
#define RS_GROW(field, count)                                                                      \
    do {                                                                                           \
        void *p_ = realloc(R->field, (count) * sizeof(*R->field));                                 \
        if (p_ == NULL)                                                                            \
            return SLV_ENOMEM;                                                                     \
        R->field = p_;                                                                             \
    } while (0)
    RS_GROW(loc, m);
    RS_GROW(serv, m);
    RS_GROW(c, m);
    RS_GROW(cum, m);
    RS_GROW(E, m);
    RS_GROW(L, m);
    RS_GROW(D, dn);
    RS_GROW(D2, dn);
    RS_GROW(load, m * SLV_MAX_DIMS);
    RS_GROW(riders, m);
#undef RS_GROW
    R->cap = cap;
    return 0;
}

static int rs_copy(slv_rstate *dst, const slv_rstate *src)
{
    int rc = rs_reserve(dst, src->n);
    size_t m = (size_t)src->n + 2, N = (size_t)src->n + 3;

    if (rc < 0)
        return rc;
    dst->v = src->v;
    dst->n = src->n;
    memcpy(dst->stops, src->stops, (size_t)src->n * sizeof(int));
    memcpy(dst->loc, src->loc, m * sizeof(int));
    memcpy(dst->serv, src->serv, m * sizeof(double));
    memcpy(dst->c, src->c, m * sizeof(double));
    memcpy(dst->cum, src->cum, m * sizeof(double));
    memcpy(dst->E, src->E, m * sizeof(double));
    memcpy(dst->L, src->L, m * sizeof(double));
    memcpy(dst->D, src->D, N * N * sizeof(double));
    memcpy(dst->load, src->load, m * SLV_MAX_DIMS * sizeof(int));
    memcpy(dst->riders, src->riders, m * sizeof(int));
    dst->dist = src->dist;
    dst->time = src->time;
    dst->cost = src->cost;
    dst->feasible = src->feasible;
    return 0;
}

static int schedule_in_objective(const slv_instance *in)
{
    return in->obj.per_excess_ride != 0 || in->obj.per_wait != 0;
}

/*
 * The parts of a route state that are linear in its length: locations,
 * loads, riders, the driving chain and its sums.  With fill_graph, also the
 * difference-constraint graph's edges into D (before Floyd-Warshall).
 */
static void rs_linear(slv_search *s, slv_rstate *R, int fill_graph)
{
    const slv_instance *in = s->in;
    const slv_vehicle *veh = &in->veh[R->v];
    int n = R->n, N = n + 3;
    double *D = R->D;

    if (fill_graph) {
        for (int a = 0; a < N * N; a++)
            D[a] = SLV_INF;
        for (int a = 0; a < N; a++)
            D[a * N + a] = 0;
        /* Windows of the depots (the shift) and the route duration. */
        D[0 * N + 1] = veh->shift_end;
        D[1 * N + 0] = -veh->shift_start;
        D[0 * N + n + 2] = veh->shift_end;
        D[(n + 2) * N + 0] = -veh->shift_start;
        if (veh->max_duration < SLV_INF)
            D[1 * N + n + 2] = veh->max_duration;
    }
    R->loc[0] = veh->start_loc;
    R->serv[0] = 0;
    R->loc[n + 1] = veh->end_loc;
    R->serv[n + 1] = 0;
    memset(R->load, 0, SLV_MAX_DIMS * sizeof(int));
    R->riders[0] = 0;
    for (int r = 0; r < in->n_req; r++) {
        if (in->req[r].onboard_vehicle != R->v)
            continue;
        for (int d = 0; d < in->n_dims; d++)
            R->load[d] += in->req[r].load[d];
        R->riders[0]++;
    }
    R->feasible = slv_load_fits(in, R->v, R->load);
    for (int k = 1; k <= n; k++) {
        int st = R->stops[k - 1], r = SLV_REQ(st);
        const slv_request *q = &in->req[r];
        int *ld = R->load + (size_t)k * SLV_MAX_DIMS, *prev = ld - SLV_MAX_DIMS;
        R->loc[k] = slv_stop_loc(in, st);
        R->serv[k] = slv_stop_service(in, st);
        if (SLV_IS_DROP(st)) {
            for (int d = 0; d < SLV_MAX_DIMS; d++)
                ld[d] = prev[d] - (d < in->n_dims ? q->load[d] : 0);
            R->riders[k] = R->riders[k - 1] - 1;
        } else {
            for (int d = 0; d < SLV_MAX_DIMS; d++)
                ld[d] = prev[d] + (d < in->n_dims ? q->load[d] : 0);
            R->riders[k] = R->riders[k - 1] + 1;
        }
        if (R->feasible && !slv_load_fits(in, R->v, ld))
            R->feasible = 0;
        if (!fill_graph)
            continue;
        double close = slv_stop_close(in, st);
        s->pos_scratch[st] = k;
        if (SLV_IS_DROP(st)) {
            int pk = s->pos_scratch[SLV_PICKUP(r)];
            if (pk > 0 && pk < k && q->max_ride < SLV_INF)
                D[(pk + 1) * N + k + 1] = q->max_ride + q->pickup_service;
            if (q->onboard_vehicle >= 0 && q->max_ride < SLV_INF)
                close = slv_min(close, q->pickup_done_at + q->max_ride);
        }
        D[0 * N + k + 1] = slv_min(D[0 * N + k + 1], close);
        D[(k + 1) * N + 0] = slv_min(D[(k + 1) * N + 0], -slv_stop_open(in, st));
    }
    memcpy(R->load + (size_t)(n + 1) * SLV_MAX_DIMS, R->load + (size_t)n * SLV_MAX_DIMS,
           SLV_MAX_DIMS * sizeof(int));
    R->riders[n + 1] = R->riders[n];
    if (fill_graph)
        for (int k = 1; k <= n; k++)
            s->pos_scratch[R->stops[k - 1]] = -1;
    R->dist = 0;
    R->time = 0;
    R->cum[0] = 0;
    for (int k = 0; k <= n; k++) {
        double t = slv_t(in, R->loc[k], R->loc[k + 1]);
        R->c[k] = R->serv[k] + t;
        R->cum[k + 1] = R->cum[k] + R->c[k];
        R->dist += slv_d(in, R->loc[k], R->loc[k + 1]);
        R->time += t;
        /* B_{k+1} - B_k >= c_k  is the edge (k+1) -> k of weight -c_k. */
        if (fill_graph)
            D[(k + 2) * N + k + 1] = slv_min(D[(k + 2) * N + k + 1], -R->c[k]);
    }
}

static void rs_floyd(slv_rstate *R)
{
    int N = R->n + 3;
    double *D = R->D;

    for (int k = 0; k < N; k++) {
        const double *Dk = D + (size_t)k * N;
        for (int a = 0; a < N; a++) {
            double *Da = D + (size_t)a * N;
            double dak = Da[k];
            if (dak >= SLV_INF / 2)
                continue;
            for (int b = 0; b < N; b++) {
                double via = dak + Dk[b];
                if (via < Da[b])
                    Da[b] = via;
            }
        }
        if (D[(size_t)k * N + k] < -SLV_EPS)
            break;
    }
    for (int a = 0; a < N && R->feasible; a++)
        if (D[(size_t)a * N + a] < -SLV_EPS)
            R->feasible = 0;
}

/* Least and greatest schedules from D, then the route's cost. */
static int rs_finish(slv_search *s, slv_rstate *R)
{
    const slv_instance *in = s->in;
    int n = R->n, N = n + 3, rc;

    for (int k = 0; k <= n + 1; k++) {
        R->E[k] = -R->D[(size_t)(k + 1) * N];
        R->L[k] = R->D[k + 1];
    }
    if (n == 0 && R->riders[0] == 0) {
        R->cost = 0;
    } else if (schedule_in_objective(in)) {
        slv_route_eval ev;
        rc = slv_route_evaluate(in, R->v, R->stops, n, &ev, NULL);
        if (rc < 0)
            return rc;
        R->cost = ev.cost;
        if (!ev.feasible)
            R->feasible = 0;
    } else {
        R->cost = in->obj.per_distance * R->dist + in->obj.per_drive_time * R->time +
                  in->obj.per_vehicle + in->veh[R->v].fixed_cost;
    }
    return 0;
}

int slv_rstate_rebuild(slv_search *s, slv_rstate *R)
{
    int rc;

    if ((rc = rs_reserve(R, R->n)) < 0)
        return rc;
    rs_linear(s, R, 1);
    rs_floyd(R);
    return rs_finish(s, R);
}

/* One new node of an insertion: its edges to the old graph (node indices of D). */
typedef struct rs_new {
    int n_out, n_in;
    int out[2], in[3];
    double w_out[2], w_in[3];
} rs_new;

static void rs_new_edges(const slv_search *s, const slv_rstate *R, int st, int before, int after,
                         rs_new *x)
{
    const slv_instance *in = s->in;
    int loc = slv_stop_loc(in, st);
    double close = slv_stop_close(in, st);
    const slv_request *q = &in->req[SLV_REQ(st)];

    if (SLV_IS_DROP(st) && q->onboard_vehicle >= 0 && q->max_ride < SLV_INF)
        close = slv_min(close, q->pickup_done_at + q->max_ride);
    x->n_out = x->n_in = 0;
    x->out[x->n_out] = 0; /* to z */
    x->w_out[x->n_out++] = -slv_stop_open(in, st);
    x->in[x->n_in] = 0; /* from z */
    x->w_in[x->n_in++] = close;
    if (before >= 0) {
        x->out[x->n_out] = before + 1;
        x->w_out[x->n_out++] = -(R->serv[before] + slv_t(in, R->loc[before], loc));
    }
    if (after >= 0) {
        x->in[x->n_in] = after + 1;
        x->w_in[x->n_in++] = -(slv_stop_service(in, st) + slv_t(in, loc, R->loc[after]));
    }
}

/* Distances from x to every old node (out) and from every old node to x (in), not through
 * the other new node. */
static void rs_new_dists(const rs_new *x, const double *D, int N, double *out, double *in)
{
    for (int b = 0; b < N; b++) {
        double v = SLV_INF;
        for (int e = 0; e < x->n_out; e++)
            v = slv_min(v, x->w_out[e] + D[(size_t)x->out[e] * N + b]);
        out[b] = v;
        v = SLV_INF;
        for (int e = 0; e < x->n_in; e++)
            v = slv_min(v, D[(size_t)b * N + x->in[e]] + x->w_in[e]);
        in[b] = v;
    }
}

/*
 * Exact O(n^2) update of D for an insertion that passed slv_best_insertion:
 * the new shortest paths are the old ones or pass through the new nodes, so
 * D'(a,b) = min(D(a,b), D'(a,p) + D'(p,b), D'(a,d) + D'(d,b)), where the
 * distances to and from p and d follow from their few edges (see rs_new).
 * Leaves the result in R->D2 laid out for the new route (n_new stops).
 * The old chain edge i+1 -> i stays in the graph; under the triangle
 * inequality the path through the new stop implies it, so D' is exact.
 */
static void rs_insert_apsp(const slv_search *s, const slv_rstate *R, int r, const slv_ins *ins,
                           int drop_only)
{
    const slv_request *q = &s->in->req[r];
    int N = R->n + 3, add = drop_only ? 1 : 2, N2 = N + add;
    double *pout = s->rbuf, *pin = pout + N, *dout = pin + N, *din = dout + N;
    double ride = q->max_ride < SLV_INF ? q->max_ride + q->pickup_service : SLV_INF;
    double p2d = SLV_INF, d2p = SLV_INF;
    rs_new P, Dn;
    const double *D = R->D;
    double *M = R->D2;
    int i = ins->i, j = ins->j, newp = -1, newd;

    if (drop_only) {
        rs_new_edges(s, R, SLV_DROP(r), j, j + 1, &Dn);
        for (int k = 0; k < R->n; k++)
            if (R->stops[k] == SLV_PICKUP(r) && ride < SLV_INF) {
                Dn.in[Dn.n_in] = k + 2;
                Dn.w_in[Dn.n_in++] = ride;
            }
    } else if (j == i) {
        rs_new_edges(s, R, SLV_PICKUP(r), i, -1, &P);
        rs_new_edges(s, R, SLV_DROP(r), -1, i + 1, &Dn);
        p2d = ride;
        d2p = -(q->pickup_service + slv_t(s->in, q->pickup_loc, q->drop_loc));
    } else {
        rs_new_edges(s, R, SLV_PICKUP(r), i, i + 1, &P);
        rs_new_edges(s, R, SLV_DROP(r), j, j + 1, &Dn);
        p2d = ride;
    }
    rs_new_dists(&Dn, D, N, dout, din);
    if (!drop_only) {
        rs_new_dists(&P, D, N, pout, pin);
        for (int e = 0; e < Dn.n_in; e++)
            p2d = slv_min(p2d, pout[Dn.in[e]] + Dn.w_in[e]);
        for (int e = 0; e < P.n_in; e++)
            d2p = slv_min(d2p, dout[P.in[e]] + P.w_in[e]);
        /* Through the other new node. */
        for (int b = 0; b < N; b++) {
            double po = slv_min(pout[b], p2d + dout[b]);
            double dO = slv_min(dout[b], d2p + pout[b]);
            double pi_ = slv_min(pin[b], din[b] + d2p);
            double di = slv_min(din[b], pin[b] + p2d);
            pout[b] = po;
            dout[b] = dO;
            pin[b] = pi_;
            din[b] = di;
        }
        newp = i + 2; /* node index of p: position i+1 */
        newd = j + 3; /* position j+2 */
    } else {
        newd = j + 2; /* position j+1 */
    }
    /* New index of old node x. */
    for (int a = 0; a < N; a++) {
        int na =
            a == 0 ? 0 : a + (drop_only ? (a - 1 >= j + 1) : (a - 1 >= i + 1) + (a - 1 >= j + 1));
        double *Ma = M + (size_t)na * N2;
        const double *Da = D + (size_t)a * N;
        for (int b = 0; b < N; b++) {
            int nb = b == 0
                         ? 0
                         : b + (drop_only ? (b - 1 >= j + 1) : (b - 1 >= i + 1) + (b - 1 >= j + 1));
            double v = Da[b];
            if (!drop_only)
                v = slv_min(v, pin[a] + pout[b]);
            v = slv_min(v, din[a] + dout[b]);
            Ma[nb] = v;
        }
        Ma[newd] = din[a];
        M[(size_t)newd * N2 + na] = dout[a];
        if (!drop_only) {
            Ma[newp] = pin[a];
            M[(size_t)newp * N2 + na] = pout[a];
        }
    }
    M[(size_t)newd * N2 + newd] = 0;
    if (!drop_only) {
        M[(size_t)newp * N2 + newp] = 0;
        M[(size_t)newp * N2 + newd] = p2d;
        M[(size_t)newd * N2 + newp] = d2p;
    }
}

int slv_search_init(slv_search *s, const slv_instance *in, const slv_params *par)
{
    int rc = SLV_ENOMEM;
    size_t nr = (size_t)in->n_req + 1, nv = (size_t)in->n_veh + 1;

    memset(s, 0, sizeof(*s));
    s->in = in;
    s->par = par;
    s->rng.s = par->seed ^ 0x6e6f72696169ULL;
    s->n_veh = in->n_veh;
    s->n_req = in->n_req;
    s->route = calloc(nv, sizeof(*s->route));
    s->saved = calloc(nv, sizeof(*s->saved));
    s->touched = calloc(nv, 1);
    s->touched_list = calloc(nv, sizeof(int));
    s->veh_of = malloc(nr * sizeof(int));
    s->only_veh = malloc(nr * sizeof(int));
    s->drop_only = calloc(nr, 1);
    s->locked = calloc(nr, 1);
    s->must_serve = calloc(nr, 1);
    s->unassigned = malloc(nr * sizeof(int));
    s->pos_scratch = malloc(2 * nr * sizeof(int));
    s->removed = malloc(nr * sizeof(int));
    s->rbuf = malloc((nr + nv + 4 * (2 * nr + 8)) * sizeof(double));
    s->ibuf = malloc((nr + nv) * 2 * sizeof(int));
    s->obuf = malloc(nr * sizeof(int));
    s->ins_best = malloc(nr * nv * sizeof(slv_ins));
    s->type_count = calloc((size_t)in->n_types + 1, sizeof(int));
    if (!s->route || !s->saved || !s->touched || !s->touched_list || !s->veh_of || !s->only_veh ||
        !s->drop_only || !s->locked || !s->must_serve || !s->unassigned || !s->pos_scratch ||
        !s->removed || !s->rbuf || !s->ibuf || !s->obuf || !s->ins_best || !s->type_count)
        goto fail;
    for (size_t k = 0; k < 2 * nr; k++)
        s->pos_scratch[k] = -1;
    s->n_types = in->n_types;
    for (int v = 0; v < in->n_veh; v++)
        s->type_count[in->veh_type[v]]++;
    for (int r = 0; r < in->n_req; r++) {
        s->veh_of[r] = -1;
        s->only_veh[r] = in->req[r].pinned ? in->req[r].pinned_vehicle : in->req[r].onboard_vehicle;
        s->drop_only[r] = in->req[r].onboard_vehicle >= 0;
        s->must_serve[r] = in->req[r].promised || in->req[r].onboard_vehicle >= 0;
    }
    for (int v = 0; v < in->n_veh; v++) {
        const slv_vehicle *veh = &in->veh[v];
        for (int k = 0; k < veh->n_fixed; k++) {
            int r = SLV_REQ(veh->fixed[k]);
            s->only_veh[r] = v;
            s->must_serve[r] = 1;
            if (!SLV_IS_DROP(veh->fixed[k])) {
                s->drop_only[r] = 1; /* the pickup is committed; the drop may move */
            } else {
                s->locked[r] = 1; /* the drop-off is committed: the request stays put */
                s->veh_of[r] = v;
            }
        }
    }
    for (int v = 0; v < in->n_veh; v++) {
        const slv_vehicle *veh = &in->veh[v];
        slv_rstate *R = &s->route[v];
        R->v = v;
        s->saved[v].v = v;
        if ((rc = rs_reserve(R, veh->n_fixed + 4)) < 0)
            goto fail;
        if (veh->n_fixed > 0)
            memcpy(R->stops, veh->fixed, (size_t)veh->n_fixed * sizeof(int));
        R->n = veh->n_fixed;
        if ((rc = slv_rstate_rebuild(s, R)) < 0)
            goto fail;
    }
    for (int r = 0; r < in->n_req; r++)
        if (s->veh_of[r] < 0)
            s->unassigned[s->n_unassigned++] = r;
    s->max_dist = 0;
    for (size_t k = 0; k < (size_t)in->n_locs * (size_t)in->n_locs; k++)
        if (in->dist[k] > s->max_dist)
            s->max_dist = in->dist[k];
    if ((rc = slv_pool_init(&s->pool, par->pool_max_routes)) < 0)
        goto fail;
    return 0;
fail:
    slv_search_cleanup(s);
    return rc;
}

void slv_search_cleanup(slv_search *s)
{
    for (int v = 0; s->route && v < s->n_veh; v++)
        rs_free(&s->route[v]);
    for (int v = 0; s->saved && v < s->n_veh; v++)
        rs_free(&s->saved[v]);
    free(s->route);
    free(s->saved);
    free(s->touched);
    free(s->touched_list);
    free(s->veh_of);
    free(s->only_veh);
    free(s->drop_only);
    free(s->locked);
    free(s->must_serve);
    free(s->unassigned);
    free(s->pos_scratch);
    free(s->removed);
    free(s->rbuf);
    free(s->ibuf);
    free(s->obuf);
    free(s->ins_best);
    free(s->type_count);
    slv_pool_cleanup(&s->pool);
    memset(s, 0, sizeof(*s));
}

void slv_search_touch(slv_search *s, int v)
{
    if (s->touched[v])
        return;
    if (rs_copy(&s->saved[v], &s->route[v]) < 0)
        return; /* out of memory: the route cannot be undone, keep going */
    s->touched[v] = 1;
    s->touched_list[s->n_touched++] = v;
}

void slv_search_commit(slv_search *s)
{
    for (int k = 0; k < s->n_touched; k++)
        s->touched[s->touched_list[k]] = 0;
    s->n_touched = 0;
    s->n_removed = 0;
}

void slv_search_rollback(slv_search *s)
{
    /* Requests in the changed routes lose their vehicle, those in the restored routes get it
     * back; a request is served where its drop-off is. */
    for (int k = 0; k < s->n_touched; k++) {
        const slv_rstate *R = &s->route[s->touched_list[k]];
        for (int j = 0; j < R->n; j++)
            s->veh_of[SLV_REQ(R->stops[j])] = -1;
    }
    for (int k = 0; k < s->n_touched; k++) {
        int v = s->touched_list[k];
        slv_rstate tmp = s->route[v];
        s->route[v] = s->saved[v];
        s->saved[v] = tmp;
        s->touched[v] = 0;
        for (int j = 0; j < s->route[v].n; j++)
            if (SLV_IS_DROP(s->route[v].stops[j]))
                s->veh_of[SLV_REQ(s->route[v].stops[j])] = v;
    }
    s->n_unassigned = 0;
    for (int r = 0; r < s->n_req; r++)
        if (s->veh_of[r] < 0)
            s->unassigned[s->n_unassigned++] = r;
    s->n_touched = 0;
    s->n_removed = 0;
}

double slv_search_plain_cost(const slv_search *s)
{
    double c = 0;

    for (int v = 0; v < s->n_veh; v++)
        c += s->route[v].cost;
    for (int k = 0; k < s->n_unassigned; k++) {
        int r = s->unassigned[k];
        c += s->must_serve[r] ? SLV_BIG_UNSERVED : s->in->req[r].unserved_penalty;
    }
    return c;
}

double slv_search_cost(const slv_search *s)
{
    double c = slv_search_plain_cost(s);

    if (s->in->obj.vehicles_first)
        for (int v = 0; v < s->n_veh; v++)
            if (s->route[v].n > 0)
                c += s->in->vehicle_weight;
    return c;
}

int slv_removable(const slv_search *s, int r)
{
    return s->veh_of[r] >= 0 && !s->locked[r];
}

int slv_search_remove(slv_search *s, const int *reqs, int n)
{
    int rc;

    for (int k = 0; k < n; k++) {
        int r = reqs[k], v = s->veh_of[r];
        if (v < 0 || s->locked[r])
            continue;
        slv_search_touch(s, v);
        s->pos_scratch[SLV_DROP(r)] = 1;
        if (!s->drop_only[r])
            s->pos_scratch[SLV_PICKUP(r)] = 1;
        s->veh_of[r] = -1;
        s->unassigned[s->n_unassigned++] = r;
        s->removed[s->n_removed++] = r;
    }
    for (int k = 0; k < s->n_touched; k++) {
        slv_rstate *R = &s->route[s->touched_list[k]];
        int m = 0, changed = 0;
        for (int j = 0; j < R->n; j++) {
            if (s->pos_scratch[R->stops[j]] == 1) {
                s->pos_scratch[R->stops[j]] = -1;
                changed = 1;
                continue;
            }
            R->stops[m++] = R->stops[j];
        }
        R->n = m;
        if (changed && (rc = slv_rstate_rebuild(s, R)) < 0)
            return rc;
    }
    return 0;
}

#ifdef SLV_DEBUG_INCREMENTAL
/* Debug builds: the incremental matrix equals a full Floyd-Warshall. */
static int rs_check_apsp(slv_search *s, slv_rstate *R)
{
    int N = R->n + 3, ok = 1;
    double *inc = malloc((size_t)N * N * sizeof(double));

    memcpy(inc, R->D, (size_t)N * N * sizeof(double));
    rs_linear(s, R, 1);
    rs_floyd(R);
    for (int a = 0; a < N * N; a++) {
        double x = inc[a], y = R->D[a];
        if (!(fabs(x - y) <= 1e-6 * (1 + fabs(y)) || (x >= SLV_INF / 2 && y >= SLV_INF / 2))) {
            fprintf(stderr, "apsp mismatch at %d,%d: %g vs %g (n=%d)\n", a / N, a % N, x, y, R->n);
            ok = 0;
            break;
        }
    }
    free(inc);
    return ok && R->feasible;
}
#endif

int slv_search_insert(slv_search *s, int r, const slv_ins *ins)
{
    slv_rstate *R = &s->route[ins->v];
    int rc, n = R->n, add = s->drop_only[r] ? 1 : 2;
    double *tmp;

    slv_search_touch(s, ins->v);
    if ((rc = rs_reserve(R, n + 2)) < 0)
        return rc;
    rs_insert_apsp(s, R, r, ins, add == 1);
    tmp = R->D;
    R->D = R->D2;
    R->D2 = tmp;
    if (add == 1) {
        memmove(R->stops + ins->j + 1, R->stops + ins->j, (size_t)(n - ins->j) * sizeof(int));
        R->stops[ins->j] = SLV_DROP(r);
    } else {
        memmove(R->stops + ins->j + 2, R->stops + ins->j, (size_t)(n - ins->j) * sizeof(int));
        R->stops[ins->j + 1] = SLV_DROP(r);
        memmove(R->stops + ins->i + 1, R->stops + ins->i, (size_t)(ins->j - ins->i) * sizeof(int));
        R->stops[ins->i] = SLV_PICKUP(r);
    }
    R->n = n + add;
    rs_linear(s, R, 0);
    if ((rc = rs_finish(s, R)) < 0)
        return rc;
#ifdef SLV_DEBUG_INCREMENTAL
    assert(rs_check_apsp(s, R));
#endif
    s->veh_of[r] = ins->v;
    for (int k = 0; k < s->n_unassigned; k++) {
        if (s->unassigned[k] == r) {
            s->unassigned[k] = s->unassigned[--s->n_unassigned];
            break;
        }
    }
    return 0;
}

int slv_search_set_route(slv_search *s, int v, const int *stops, int n)
{
    slv_rstate *R = &s->route[v];
    int rc;

    slv_search_touch(s, v);
    if ((rc = rs_reserve(R, n)) < 0)
        return rc;
    if (n > 0)
        memmove(R->stops, stops, (size_t)n * sizeof(int));
    R->n = n;
    return slv_rstate_rebuild(s, R);
}

int slv_search_load(slv_search *s, const slv_solution *sol)
{
    int rc;

    if (sol->n_vehicles != s->n_veh)
        return SLV_EINVAL;
    for (int r = 0; r < s->n_req; r++)
        s->veh_of[r] = -1;
    for (int v = 0; v < s->n_veh; v++) {
        slv_rstate *R = &s->route[v];
        if ((rc = rs_reserve(R, sol->route_len[v])) < 0)
            return rc;
        for (int k = 0; k < sol->route_len[v]; k++) {
            int st = sol->route[v][k];
            if (st < 0 || SLV_REQ(st) >= s->n_req)
                return SLV_EINVAL;
            if (SLV_IS_DROP(st))
                s->veh_of[SLV_REQ(st)] = v;
        }
        memcpy(R->stops, sol->route[v], (size_t)sol->route_len[v] * sizeof(int));
        R->n = sol->route_len[v];
        if ((rc = slv_rstate_rebuild(s, R)) < 0)
            return rc;
        if (!R->feasible || R->n < s->in->veh[v].n_fixed)
            return SLV_EINVAL;
        for (int k = 0; k < s->in->veh[v].n_fixed; k++)
            if (R->stops[k] != s->in->veh[v].fixed[k])
                return SLV_EINVAL;
    }
    s->n_unassigned = 0;
    for (int r = 0; r < s->n_req; r++)
        if (s->veh_of[r] < 0)
            s->unassigned[s->n_unassigned++] = r;
    s->n_touched = 0;
    s->n_removed = 0;
    return 0;
}

int slv_search_store(const slv_search *s, slv_solution *sol)
{
    int rc;

    for (int v = 0; v < s->n_veh; v++)
        if ((rc = slv_solution_set_route(sol, v, s->route[v].stops, s->route[v].n)) < 0)
            return rc;
    return slv_solution_fill_unassigned(sol, s->in);
}
