/*
 * replan.c - improving the whole day's plans with the solver, safely.
 *
 * prepare   turns everything not yet committed into a solver instance: one
 *           location per distinct place (vans, depots, stops), travel times
 *           from the area, one request per booking in a plan (riders on
 *           board as on-board requests, breaks pinned to their van), each
 *           with its promise as hard windows, one vehicle per van in service
 *           starting where and when it is free, its committed stops as the
 *           fixed prefix; the current plans are the starting solution, so
 *           the solver can only return something at least as good.
 * solve     runs slv_solve on that snapshot; it touches nothing of the day,
 *           so it may run on a worker thread.
 * adopt     maps the result back and takes it only if it still fits: stops
 *           of bookings that ended meanwhile are dropped, each van's current
 *           committed stops must still lead its new plan, bookings that came
 *           in meanwhile are inserted again, every plan must pass the exact
 *           test with every promise as it stands, and the total cost must
 *           not be worse.  Otherwise nothing changes (DSP_ESTALE).
 */
#include "dispatcher/dsp_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dsp_replan {
    slv_instance *inst;
    slv_solution *init, *result;
    int n_sv;
    int *sv_veh; /* snapshot vehicle -> day vehicle */
    int n_req;
    int64_t *req_bk; /* snapshot request -> booking */
    int *req_veh;    /* the booking's van when the snapshot was taken */
    int solve_rc;
    slv_stats stats;
};

void dsp_replan_destroy(dsp_replan *rp)
{
    if (rp == NULL)
        return;
    slv_instance_destroy(rp->inst);
    slv_solution_destroy(rp->init);
    slv_solution_destroy(rp->result);
    free(rp->sv_veh);
    free(rp->req_bk);
    free(rp->req_veh);
    free(rp);
}

/* Distinct places: stops by index, free points by their coordinates. */
typedef struct place_set {
    dsp_place *p;
    int n, cap;
    int *by_stop; /* [n_stops] -> index or -1 */
    int *slot;    /* open addressing over free points */
    int n_slot;
} place_set;

static uint64_t place_hash(const dsp_place *p)
{
    uint64_t a, b;
    memcpy(&a, &p->lat, sizeof(a));
    memcpy(&b, &p->lon, sizeof(b));
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    return h ^ (h >> 29);
}

static int place_index(place_set *s, const dsp_place *p)
{
    if (p->stop >= 0 && s->by_stop[p->stop] >= 0)
        return s->by_stop[p->stop];
    size_t h = 0;
    if (p->stop < 0) {
        h = (size_t)(place_hash(p) & (uint64_t)(s->n_slot - 1));
        while (s->slot[h] >= 0) {
            const dsp_place *q = &s->p[s->slot[h]];
            if (q->lat == p->lat && q->lon == p->lon)
                return s->slot[h];
            h = (h + 1) & (size_t)(s->n_slot - 1);
        }
    }
    if (s->n == s->cap)
        return DSP_ENOMEM; /* sized in advance */
    s->p[s->n] = *p;
    if (p->stop >= 0)
        s->by_stop[p->stop] = s->n;
    else
        s->slot[h] = s->n;
    return s->n++;
}

static const dsp_place *stop_place(const dsp_day *d, const dsp_stop *s)
{
    const dsp_booking *b = &d->bk[s->b];
    return s->drop ? &b->drop : &b->pickup;
}

int dsp_replan_prepare(dsp_day *d, int now, dsp_replan **out)
{
    dsp_replan *rp;
    place_set ps = {0};
    int *loc_of = NULL, *req_of = NULL, rc = 0, max_places = 0, n_req = 0;
    double *tm = NULL, *dm = NULL;
    int *fixed = NULL;

    dsp_clock(d, now);
    *out = NULL;
    rp = calloc(1, sizeof(*rp));
    if (rp == NULL)
        return DSP_ENOMEM;
    for (int v = 0; v < d->n_veh; v++) {
        const dsp_veh *x = &d->veh[v];
        if (x->in_service && x->feasible) {
            max_places += 2 + x->n;
            n_req += x->n + x->n_onboard;
        }
    }
    ps.cap = max_places + 1;
    ps.p = malloc((size_t)ps.cap * sizeof(*ps.p));
    ps.by_stop = malloc(((size_t)d->area->n_stops + 1) * sizeof(int));
    ps.n_slot = 16;
    while (ps.n_slot < 2 * ps.cap)
        ps.n_slot *= 2;
    ps.slot = malloc((size_t)ps.n_slot * sizeof(int));
    req_of = malloc(((size_t)d->n_bk + 1) * sizeof(int));
    rp->sv_veh = malloc(((size_t)d->n_veh + 1) * sizeof(int));
    rp->req_bk = malloc(((size_t)n_req + 1) * sizeof(int64_t));
    rp->req_veh = malloc(((size_t)n_req + 1) * sizeof(int));
    loc_of = malloc(((size_t)d->n_veh + 1) * 2 * sizeof(int));
    if (!ps.p || !ps.by_stop || !ps.slot || !req_of || !rp->sv_veh || !rp->req_bk || !rp->req_veh ||
        !loc_of) {
        rc = DSP_ENOMEM;
        goto out;
    }
    for (int i = 0; i < d->area->n_stops; i++)
        ps.by_stop[i] = -1;
    for (int i = 0; i < ps.n_slot; i++)
        ps.slot[i] = -1;
    for (int64_t i = 0; i < d->n_bk; i++)
        req_of[i] = -1;
    /* Places, vehicles and requests in one pass over the vans. */
    for (int v = 0; v < d->n_veh; v++) {
        const dsp_veh *x = &d->veh[v];
        if (!x->in_service || !x->feasible)
            continue;
        rp->sv_veh[rp->n_sv] = v;
        loc_of[2 * rp->n_sv] = place_index(&ps, &x->pos);
        loc_of[2 * rp->n_sv + 1] = place_index(&ps, &x->depot);
        rp->n_sv++;
        for (int k = 0; k < x->n; k++) {
            if ((rc = place_index(&ps, stop_place(d, &x->stops[k]))) < 0)
                goto out;
            if (!x->stops[k].drop || req_of[x->stops[k].b] < 0) {
                if (req_of[x->stops[k].b] < 0) {
                    req_of[x->stops[k].b] = rp->n_req;
                    rp->req_bk[rp->n_req++] = x->stops[k].b;
                }
            }
        }
        for (int i = 0; i < x->n_onboard; i++) {
            if (req_of[x->onboard[i]] < 0) {
                req_of[x->onboard[i]] = rp->n_req;
                rp->req_bk[rp->n_req++] = x->onboard[i];
            }
        }
    }
    rc = 0;
    int np = ps.n > 0 ? ps.n : 1;
    tm = malloc((size_t)np * (size_t)np * sizeof(double));
    dm = malloc((size_t)np * (size_t)np * sizeof(double));
    if (tm == NULL || dm == NULL) {
        rc = DSP_ENOMEM;
        goto out;
    }
    for (int i = 0; i < ps.n; i++) {
        for (int j = 0; j < ps.n; j++) {
            int32_t t, m;
            dsp_travel(d, &ps.p[i], &ps.p[j], &t, &m);
            tm[(size_t)i * np + j] = t;
            dm[(size_t)i * np + j] = m;
        }
    }
    if (slv_instance_create(&rp->inst, np, DSP_DIMS) < 0 ||
        slv_instance_set_matrix(rp->inst, tm, dm) < 0) {
        rc = DSP_ENOMEM;
        goto out;
    }
    for (int r = 0; r < rp->n_req; r++) {
        const dsp_booking *b = &d->bk[rp->req_bk[r]];
        rp->req_veh[r] = b->vehicle;
        slv_request q;
        memset(&q, 0, sizeof(q));
        q.onboard_vehicle = -1;
        q.pickup_loc = place_index(&ps, &b->pickup);
        q.drop_loc = place_index(&ps, &b->drop);
        q.pickup_open = b->promise_from_s;
        q.pickup_close = b->eff_pick_close_s;
        q.drop_open = 0;
        q.drop_close = b->eff_drop_close_s >= DSP_NEVER ? SLV_INF : b->eff_drop_close_s;
        q.pickup_service = b->pickup_service_s;
        q.drop_service = b->drop_service_s;
        /* The solver counts ride time from the end of boarding. */
        q.max_ride = b->eff_max_ride_s >= DSP_NEVER ? SLV_INF
                                                    : (b->eff_max_ride_s > b->pickup_service_s
                                                           ? b->eff_max_ride_s - b->pickup_service_s
                                                           : 0);
        for (int dim = 0; dim < DSP_DIMS; dim++)
            q.load[dim] = b->load[dim];
        q.promised = 1;
        q.ext_id = b->id;
        int sv = -1;
        for (int i = 0; i < rp->n_sv; i++)
            if (rp->sv_veh[i] == b->vehicle)
                sv = i;
        if (b->status == DSP_PICKED_UP) {
            q.onboard_vehicle = sv;
            q.pickup_done_at = b->pickup_s + b->pickup_service_s;
            q.pickup_loc = q.drop_loc;
        }
        if (b->is_break) {
            q.pinned = 1;
            q.pinned_vehicle = sv;
        }
        if (slv_instance_add_request(rp->inst, &q) < 0) {
            rc = DSP_ESOLVER;
            goto out;
        }
    }
    fixed = malloc(((size_t)max_places + 1) * sizeof(int));
    if (fixed == NULL) {
        rc = DSP_ENOMEM;
        goto out;
    }
    for (int i = 0; i < rp->n_sv; i++) {
        const dsp_veh *x = &d->veh[rp->sv_veh[i]];
        slv_vehicle sv;
        memset(&sv, 0, sizeof(sv));
        sv.start_loc = loc_of[2 * i];
        sv.end_loc = loc_of[2 * i + 1];
        sv.shift_start = dsp_ready_s(d, x);
        sv.shift_end = x->eff_shift_end_s;
        sv.max_duration = SLV_INF;
        sv.n_configs = x->n_configs;
        for (int k = 0; k < x->n_configs; k++)
            for (int dim = 0; dim < DSP_DIMS; dim++)
                sv.capacity[k][dim] = x->cap[k][dim];
        for (int k = 0; k < x->n_committed; k++) {
            int r = req_of[x->stops[k].b];
            fixed[k] = x->stops[k].drop ? SLV_DROP(r) : SLV_PICKUP(r);
        }
        sv.n_fixed = x->n_committed;
        sv.fixed = fixed;
        sv.ext_id = rp->sv_veh[i];
        if (slv_instance_add_vehicle(rp->inst, &sv) < 0) {
            rc = DSP_ESOLVER;
            goto out;
        }
    }
    slv_objective obj = {.per_drive_time = d->rules.w_drive,
                         .per_excess_ride = d->rules.w_excess_ride,
                         .per_wait = d->rules.w_wait};
    slv_instance_set_objective(rp->inst, &obj);
    if (slv_instance_finalize(rp->inst, NULL) < 0 || slv_solution_create(&rp->init, rp->inst) < 0) {
        rc = DSP_ESOLVER;
        goto out;
    }
    for (int i = 0; i < rp->n_sv; i++) {
        const dsp_veh *x = &d->veh[rp->sv_veh[i]];
        for (int k = 0; k < x->n; k++) {
            int r = req_of[x->stops[k].b];
            fixed[k] = x->stops[k].drop ? SLV_DROP(r) : SLV_PICKUP(r);
        }
        if (slv_solution_set_route(rp->init, i, fixed, x->n) < 0) {
            rc = DSP_ENOMEM;
            goto out;
        }
    }
    slv_solution_fill_unassigned(rp->init, rp->inst);
out:
    free(ps.p);
    free(ps.by_stop);
    free(ps.slot);
    free(req_of);
    free(loc_of);
    free(tm);
    free(dm);
    free(fixed);
    if (rc < 0) {
        dsp_replan_destroy(rp);
        return rc;
    }
    *out = rp;
    return 0;
}

int dsp_replan_solve(dsp_replan *rp, const slv_params *params)
{
    if (rp == NULL || params == NULL)
        return DSP_EINVAL;
    if (rp->n_req == 0) {
        rp->solve_rc = 0;
        return 0;
    }
    rp->solve_rc = slv_solve(rp->inst, params, rp->init, &rp->result, &rp->stats);
    return rp->solve_rc < 0 ? DSP_ESOLVER : 0;
}

typedef struct saved_plan {
    dsp_stop *stops;
    int n, n_committed;
} saved_plan;

static int still_planned(const dsp_booking *b, int drop)
{
    if (b->is_break)
        return drop ? b->status != DSP_DROPPED_OFF && b->status != DSP_CANCELLED
                    : b->status == DSP_CONFIRMED;
    switch (b->status) {
    case DSP_OFFERED:
    case DSP_CONFIRMED:
    case DSP_ASSIGNED:
        return 1;
    case DSP_PICKED_UP:
        return drop;
    default:
        return 0;
    }
}

int dsp_replan_adopt(dsp_day *d, int now, dsp_replan *rp, int *improved)
{
    saved_plan *old = NULL;
    char *placed = NULL;
    int rc = 0, installed = 0;
    double old_cost = 0, new_cost = 0;

    if (improved)
        *improved = 0;
    dsp_clock(d, now);
    if (rp == NULL || rp->result == NULL)
        return rp && rp->n_req == 0 ? 0 : DSP_ESTALE;
    old = calloc((size_t)d->n_veh + 1, sizeof(*old));
    placed = calloc((size_t)d->n_bk + 1, 1);
    if (old == NULL || placed == NULL) {
        rc = DSP_ENOMEM;
        goto out;
    }
    for (int v = 0; v < d->n_veh; v++) {
        dsp_veh *x = &d->veh[v];
        old[v].n = x->n;
        old[v].n_committed = x->n_committed;
        old[v].stops = malloc(((size_t)x->n + 1) * sizeof(dsp_stop));
        if (old[v].stops == NULL) {
            rc = DSP_ENOMEM;
            goto out;
        }
        if (x->n > 0)
            memcpy(old[v].stops, x->stops, (size_t)x->n * sizeof(dsp_stop));
        if (x->in_service)
            old_cost += x->cost;
    }
    /* New plans: the solver's routes without what ended meanwhile.  From
     * here on a failure restores every old plan. */
    installed = 1;
    for (int i = 0; i < rp->n_sv; i++) {
        int v = rp->sv_veh[i];
        dsp_veh *x = &d->veh[v];
        const int *route = rp->result->route[i];
        int len = rp->result->route_len[i], m = 0;
        if (!x->in_service) {
            if (len > 0) {
                rc = DSP_ESTALE;
                goto out;
            }
            continue;
        }
        if ((rc = dsp_stops_reserve(x, len + x->n)) < 0)
            goto out;
        dsp_stop *ns = malloc(((size_t)len + 1) * sizeof(*ns));
        if (ns == NULL) {
            rc = DSP_ENOMEM;
            goto out;
        }
        for (int k = 0; k < len; k++) {
            int64_t b = rp->req_bk[SLV_REQ(route[k])];
            int drop = SLV_IS_DROP(route[k]);
            /* Ended meanwhile, or moved to another van meanwhile (then it is
             * missing below and goes in again). */
            if (!still_planned(&d->bk[b], drop) ||
                d->bk[b].vehicle != rp->req_veh[SLV_REQ(route[k])])
                continue;
            ns[m++] = (dsp_stop){.b = b, .drop = drop};
        }
        /* The van's committed stops must still lead. */
        for (int k = 0; k < x->n_committed; k++) {
            if (k >= m || ns[k].b != x->stops[k].b || ns[k].drop != x->stops[k].drop) {
                free(ns);
                rc = DSP_ESTALE;
                goto out;
            }
        }
        if (m > 0)
            memcpy(x->stops, ns, (size_t)m * sizeof(*ns));
        x->n = m;
        free(ns);
    }
    /* Each booking in exactly one new plan (a booking moved to another van
     * meanwhile, e.g. by a van going out of service, may now appear twice). */
    for (int v = 0; v < d->n_veh; v++) {
        dsp_veh *x = &d->veh[v];
        int m = 0;
        for (int k = 0; k < x->n; k++) {
            int64_t b = x->stops[k].b;
            int bit = x->stops[k].drop ? 2 : 1;
            if (placed[b] & bit)
                continue;
            placed[b] |= (char)bit;
            x->stops[m++] = x->stops[k];
        }
        x->n = m;
    }
    for (int v = 0; v < d->n_veh; v++) {
        dsp_veh *x = &d->veh[v];
        if (!x->in_service)
            continue;
        for (int k = 0; k < x->n; k++)
            d->bk[x->stops[k].b].vehicle = v;
        if (dsp_eval(d, x, x->stops, x->n, NULL, NULL) != 1) {
            rc = DSP_ESTALE;
            goto out;
        }
    }
    for (int v = 0; v < d->n_veh; v++)
        if (d->veh[v].in_service && (rc = dsp_refresh(d, now, v)) < 0)
            goto out;
    /* Bookings planned now but not in the result: insert them again. */
    for (int v = 0; v < d->n_veh; v++) {
        for (int k = 0; k < old[v].n; k++) {
            int64_t b = old[v].stops[k].b;
            dsp_insertion ins;
            if (old[v].stops[k].drop || placed[b] || !still_planned(&d->bk[b], 0))
                continue;
            if (d->bk[b].is_break || d->bk[b].status == DSP_PICKED_UP) {
                rc = DSP_ESTALE;
                goto out;
            }
            int keep_from = d->bk[b].promise_from_s;
            rc = dsp_best_insertion(d, b, -1, NULL, &ins);
            d->bk[b].promise_from_s = keep_from;
            if (rc <= 0) {
                rc = rc < 0 ? rc : DSP_ESTALE;
                goto out;
            }
            if ((rc = dsp_apply_insertion(d, now, b, &ins)) < 0)
                goto out;
            placed[b] = 3;
        }
    }
    for (int v = 0; v < d->n_veh; v++)
        if (d->veh[v].in_service) {
            if (!d->veh[v].feasible) {
                rc = DSP_ESTALE;
                goto out;
            }
            new_cost += d->veh[v].cost;
        }
    if (new_cost > old_cost + 1e-6) {
        rc = DSP_ESTALE;
        goto out;
    }
    if (improved)
        *improved = new_cost < old_cost - 1e-6;
    rc = 0;
out:
    if (rc < 0 && installed) {
        for (int v = 0; v < d->n_veh; v++) {
            dsp_veh *x = &d->veh[v];
            if (old[v].n > 0)
                memcpy(x->stops, old[v].stops, (size_t)old[v].n * sizeof(dsp_stop));
            x->n = old[v].n;
            for (int k = 0; k < x->n; k++)
                d->bk[x->stops[k].b].vehicle = v;
            if (x->in_service)
                dsp_refresh(d, now, v);
        }
    }
    if (old)
        for (int v = 0; v < d->n_veh; v++)
            free(old[v].stops);
    free(old);
    free(placed);
    return rc;
}

int dsp_replan_run(dsp_day *d, int now, const slv_params *params, int *improved)
{
    dsp_replan *rp = NULL;
    int rc;

    if (improved)
        *improved = 0;
    if ((rc = dsp_replan_prepare(d, now, &rp)) < 0)
        return rc;
    if ((rc = dsp_replan_solve(rp, params)) == 0)
        rc = dsp_replan_adopt(d, now, rp, improved);
    dsp_replan_destroy(rp);
    return rc;
}
