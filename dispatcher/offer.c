/*
 * offer.c - answering a booking request: the cheapest feasible insertion into
 * the vans' plans, the promise made from it, and what to say when nothing
 * fits.
 *
 * Search.  For every van in service and every pair (pickup before stop a,
 * drop-off before stop b, a <= b, after the committed stops) a few O(1)
 * filters run on the van's cached schedule: the pickup must be reachable
 * before its window closes (early[] only grows along a route, so the first
 * position too late ends the scan), the load after every stop the party
 * rides through must fit a configuration, the stops pushed back must stay
 * before their greatest feasible times (late[]).  Survivors get a lower
 * bound: the added driving time plus the rider's wait from the desired time
 * to the earliest pickup possible there, both weighted as in the cost; they
 * are sorted by it and checked exactly (dsp_eval, the solver's own
 * timeline) in that order until the bound exceeds the best cost found.
 * The cost is the change of the van's plan cost plus the rider's own wait
 * past the desired time.
 *
 * Promise.  The chosen schedule's pickup time P gives the offered window:
 * [max(E, P - w/2), that + w] for window width w and earliest desired time E,
 * and a latest drop-off of the window's end plus the ride limit (or the
 * arrive-by time).  P lies inside, so the plan stays feasible with the
 * promise as its constraint.
 *
 * Nothing fits: the reason is found by asking again with one limit lifted
 * (no van in service; the party's load; its ride limit; else the windows),
 * and up to three alternatives are searched at desired times shifted by
 * 15-minute steps, nearest first.
 */
#include "dispatcher/dsp_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct dsp_cand {
    int v, a, b;
    double lb;
} dsp_cand;

static int cand_cmp(const void *x, const void *y)
{
    const dsp_cand *p = x, *q = y;

    if (p->lb != q->lb)
        return p->lb < q->lb ? -1 : 1;
    if (p->v != q->v)
        return p->v - q->v;
    if (p->a != q->a)
        return p->a - q->a;
    return p->b - q->b;
}

static int push_cand(dsp_day *d, int *n, int v, int a, int b, double lb)
{
    if (*n == d->cap_cand) {
        int cap = d->cap_cand ? 2 * d->cap_cand : 1024;
        dsp_cand *nc = realloc(d->cand, (size_t)cap * sizeof(*nc));
        if (nc == NULL)
            return DSP_ENOMEM;
        d->cand = nc;
        d->cap_cand = cap;
    }
    d->cand[(*n)++] = (dsp_cand){.v = v, .a = a, .b = b, .lb = lb};
    return 0;
}

/* Place and service time of timeline position k of van x (0 = van, n+1 = depot). */
static inline const dsp_place *pos_place(const dsp_day *d, const dsp_veh *x, int k, int *serv)
{
    if (k == 0) {
        *serv = 0;
        return &x->pos;
    }
    if (k == x->n + 1) {
        *serv = 0;
        return &x->depot;
    }
    const dsp_stop *s = &x->stops[k - 1];
    const dsp_booking *b = &d->bk[s->b];
    *serv = s->drop ? b->drop_service_s : b->pickup_service_s;
    return s->drop ? &b->drop : &b->pickup;
}

static int fits_plus(const dsp_veh *x, const int *load, const int *q)
{
    int sum[DSP_DIMS];

    for (int dim = 0; dim < DSP_DIMS; dim++)
        sum[dim] = load[dim] + q[dim];
    return dsp_fits(x, sum);
}

/* Candidates of van v for booking bk (filters described at the top). */
static int van_candidates(dsp_day *d, int v, const dsp_booking *bk, const dsp_eval_opts *o,
                          int *n_cand)
{
    const dsp_veh *x = &d->veh[v];
    int n = x->n, rc;
    int q[DSP_DIMS];
    double E = bk->promise_from_s, Lp = bk->eff_pick_close_s, Ld = bk->eff_drop_close_s;
    int sp = bk->pickup_service_s, sd = bk->drop_service_s;
    int tpd = dsp_travel_s(d, &bk->pickup, &bk->drop);
    double w_drive = d->rules.w_drive;

    for (int dim = 0; dim < DSP_DIMS; dim++)
        q[dim] = (o && o->probe == bk->id && o->probe_no_load) ? 0 : bk->load[dim];
    for (int a = x->n_committed; a <= n; a++) {
        int serv_a, serv_n;
        const dsp_place *pa = pos_place(d, x, a, &serv_a);
        const dsp_place *pn = pos_place(d, x, a + 1, &serv_n);
        double ready = x->early[a] + serv_a;
        if (ready > Lp)
            break;
        int ta = dsp_travel_s(d, pa, &bk->pickup);
        double bp = ready + ta > E ? ready + ta : E;
        /* The rider waits at least from E to the earliest pickup here. */
        double wait_lb = d->rules.w_rider_wait * (bp - E);
        if (ready + ta > Lp)
            continue;
        if (!fits_plus(x, &x->load_after[a * DSP_DIMS], q))
            continue;
        int t_an = dsp_travel_s(d, pa, pn);
        /* Drop-off right after the pickup. */
        {
            int tdn = dsp_travel_s(d, &bk->drop, pn);
            double bd = bp + sp + tpd;
            if (bd <= Ld && bd + sd + tdn <= x->late[a + 1] + 1e-6) {
                if ((rc = push_cand(d, n_cand, v, a, a,
                                    w_drive * (ta + tpd + tdn - t_an) + wait_lb)) < 0)
                    return rc;
            }
        }
        /* Drop-off further on: the pickup pushes stop a+1. */
        if (a == n)
            continue;
        int tpn = dsp_travel_s(d, &bk->pickup, pn);
        if (bp + sp + tpn > x->late[a + 1] + 1e-6)
            continue;
        double dp = ta + tpn - t_an;
        for (int b = a + 1; b <= n; b++) {
            int serv_b, serv_bn;
            const dsp_place *pb = pos_place(d, x, b, &serv_b);
            const dsp_place *pbn = pos_place(d, x, b + 1, &serv_bn);
            if (!fits_plus(x, &x->load_after[b * DSP_DIMS], q))
                break;
            double eb = x->early[b] + serv_b;
            int tbd = dsp_travel_s(d, pb, &bk->drop);
            if (eb > Ld)
                break;
            if (eb + tbd > Ld)
                continue;
            int tdn = dsp_travel_s(d, &bk->drop, pbn);
            if (eb + tbd + sd + tdn > x->late[b + 1] + 1e-6)
                continue;
            if ((rc = push_cand(d, n_cand, v, a, b,
                                w_drive * (dp + tbd + tdn - dsp_travel_s(d, pb, pbn)) + wait_lb)) <
                0)
                return rc;
        }
    }
    return 0;
}

/* The plan of van v with booking bk inserted at (a, b), into d->seq. */
static int build_seq(dsp_day *d, const dsp_veh *x, int64_t bid, int a, int b)
{
    int n = x->n, m = 0;

    if (d->cap_seq < n + 2) {
        int cap = n + 2 + 64;
        dsp_stop *ns = realloc(d->seq, (size_t)cap * sizeof(*ns));
        if (ns == NULL)
            return DSP_ENOMEM;
        d->seq = ns;
        d->cap_seq = cap;
    }
    for (int k = 0; k <= n; k++) {
        if (k == a)
            d->seq[m++] = (dsp_stop){.b = bid, .drop = 0};
        if (k == b)
            d->seq[m++] = (dsp_stop){.b = bid, .drop = 1};
        if (k < n)
            d->seq[m++] = x->stops[k];
    }
    return m;
}

int dsp_best_insertion(dsp_day *d, int64_t bid, int only, const dsp_eval_opts *o,
                       dsp_insertion *out)
{
    const dsp_booking *bk = &d->bk[bid];
    int n_cand = 0, rc, found = 0;
    double best = INFINITY;

    memset(out, 0, sizeof(*out));
    out->vehicle = -1;
    for (int v = 0; v < d->n_veh; v++) {
        const dsp_veh *x = &d->veh[v];
        if (only >= 0 && v != only)
            continue;
        if (!x->in_service || !x->feasible)
            continue;
        if (bk->promise_from_s > x->eff_shift_end_s || bk->eff_pick_close_s < x->shift_start_s)
            continue;
        if ((rc = van_candidates(d, v, bk, o, &n_cand)) < 0)
            return rc;
    }
    if (n_cand > 1) /* d->cand is NULL until a first candidate */
        qsort(d->cand, (size_t)n_cand, sizeof(*d->cand), cand_cmp);
    for (int i = 0; i < n_cand; i++) {
        const dsp_cand *c = &d->cand[i];
        const dsp_veh *x = &d->veh[c->v];
        double cost;
        if (c->lb >= best)
            break;
        int m = build_seq(d, x, bid, c->a, c->b);
        if (m < 0)
            return m;
        rc = dsp_eval(d, x, d->seq, m, o, &cost);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        double bp = d->w.sched[c->a + 1], bd = d->w.sched[c->b + 2];
        double dcost = cost - x->cost + d->rules.w_rider_wait * (bp > bk->promise_from_s ? bp - bk->promise_from_s : 0);
        if (dcost < best - 1e-9) {
            best = dcost;
            found = 1;
            out->vehicle = c->v;
            out->at_pick = c->a;
            out->at_drop = c->b;
            out->dcost = dcost;
            out->pickup_s = (int)lround(bp);
            out->dropoff_s = (int)lround(bd);
        }
    }
    return found;
}

int dsp_apply_insertion(dsp_day *d, int now, int64_t bid, const dsp_insertion *ins)
{
    dsp_veh *x = &d->veh[ins->vehicle];
    int m, rc;

    if ((m = build_seq(d, x, bid, ins->at_pick, ins->at_drop)) < 0)
        return m;
    if ((rc = dsp_stops_reserve(x, m)) < 0)
        return rc;
    memcpy(x->stops, d->seq, (size_t)m * sizeof(*x->stops));
    x->n = m;
    d->bk[bid].vehicle = ins->vehicle;
    return dsp_refresh(d, now, ins->vehicle);
}

/* The desired pickup window and latest drop-off of booking b for a desired
 * time shifted by `shift` seconds; 0 when outside hours or lead times. */
static int desired(const dsp_day *d, int now, dsp_booking *b, int shift)
{
    const dsp_rules *r = &d->rules;
    int earliest = now + r->min_lead_s, E, Lp, Ld = DSP_NEVER;

    switch (b->when) {
    case DSP_ASAP:
        E = earliest + shift;
        Lp = E + r->max_wait_s;
        break;
    case DSP_DEPART_AFTER:
        E = b->time_s + shift;
        Lp = E + r->max_wait_s;
        break;
    default: /* arrive by */
        Ld = b->time_s + shift;
        E = Ld - b->max_ride_s;
        Lp = Ld - b->direct_s - b->pickup_service_s;
        break;
    }
    if (E < earliest)
        E = earliest;
    if (E < r->service_start_s)
        E = r->service_start_s;
    if (Lp > r->service_end_s)
        Lp = r->service_end_s;
    if (E > Lp || E - now > r->max_lead_s)
        return 0;
    b->promise_from_s = E;
    b->eff_pick_close_s = Lp;
    b->eff_drop_close_s = Ld;
    b->eff_max_ride_s = b->max_ride_s;
    return 1;
}

/* The window promised around the planned pickup. */
static void promise(const dsp_day *d, dsp_booking *b, const dsp_insertion *ins, dsp_option *opt)
{
    int w = d->rules.window_s, from = ins->pickup_s - w / 2;

    if (from < b->promise_from_s)
        from = b->promise_from_s;
    if (from + w < ins->pickup_s)
        from = ins->pickup_s - w;
    opt->pickup_from_s = from;
    opt->pickup_to_s = from + w;
    opt->latest_dropoff_s = from + w + b->max_ride_s;
    if (b->when == DSP_ARRIVE_BY && b->eff_drop_close_s < opt->latest_dropoff_s)
        opt->latest_dropoff_s = b->eff_drop_close_s;
    opt->planned_pickup_s = ins->pickup_s;
    opt->planned_dropoff_s = ins->dropoff_s;
    opt->vehicle = ins->vehicle;
}

static dsp_reason why_not(dsp_day *d, dsp_booking *b)
{
    dsp_insertion ins;
    int any_van = 0, party_fits = 0, rc;

    for (int v = 0; v < d->n_veh; v++) {
        const dsp_veh *x = &d->veh[v];
        if (!x->in_service || x->shift_start_s > b->eff_pick_close_s ||
            x->eff_shift_end_s < b->promise_from_s + b->direct_s)
            continue;
        any_van = 1;
        party_fits |= dsp_fits(x, b->load);
    }
    if (!any_van)
        return DSP_REASON_NO_VEHICLE;
    if (!party_fits)
        return DSP_REASON_CAPACITY;
    dsp_eval_opts o = {.probe = b->id, .probe_no_load = 1};
    if ((rc = dsp_best_insertion(d, b->id, -1, &o, &ins)) > 0)
        return DSP_REASON_CAPACITY;
    o.probe_no_load = 0;
    o.probe_no_ride = 1;
    if ((rc = dsp_best_insertion(d, b->id, -1, &o, &ins)) > 0)
        return DSP_REASON_RIDE_TIME;
    return DSP_REASON_WINDOW;
}

int dsp_place_valid(const dsp_day *d, const dsp_place *p)
{
    if (p->stop >= d->area->n_stops || p->stop < -1)
        return 0;
    if (p->stop < 0 && d->area->time_s != NULL)
        return 0; /* a road area plans between its stops only */
    return isfinite(p->lat) && isfinite(p->lon) && fabs(p->lat) <= 90 && fabs(p->lon) <= 180;
}

/* A new booking of request req in d->bk (requested at `requested`), with
 * everything but its windows set; ext_id copied when keep. */
static int booking_init(dsp_day *d, int requested, const dsp_request *req, int keep, int64_t *out)
{
    const dsp_rules *r = &d->rules;
    dsp_booking *b;
    int64_t bid;
    int rc;

    if (req == NULL || req->passengers < 1 || req->wheelchairs < 0 ||
        req->wheelchairs > req->passengers || req->passengers > 100 ||
        (unsigned)req->when > DSP_ARRIVE_BY || !dsp_place_valid(d, &req->pickup) ||
        !dsp_place_valid(d, &req->drop))
        return DSP_EINVAL;
    if ((rc = dsp_booking_new(d, &bid)) < 0)
        return rc;
    b = &d->bk[bid];
    if (req->ext_id && keep) {
        size_t len = strlen(req->ext_id) + 1;
        if ((b->ext_id = malloc(len)) == NULL) {
            d->n_bk--;
            return DSP_ENOMEM;
        }
        memcpy(b->ext_id, req->ext_id, len);
    }
    b->status = DSP_REQUESTED;
    b->pickup = req->pickup;
    b->drop = req->drop;
    b->when = req->when;
    b->requested_s = requested;
    b->time_s = req->when == DSP_ASAP ? requested : req->time_s;
    b->passengers = req->passengers;
    b->wheelchairs = req->wheelchairs;
    b->load[DSP_DIM_SEATS] = req->passengers - req->wheelchairs;
    b->load[DSP_DIM_WHEELCHAIRS] = req->wheelchairs;
    b->load[DSP_DIM_MARKER] = 1;
    b->pickup_service_s = r->pickup_service_s + req->wheelchairs * r->wheelchair_service_s;
    b->drop_service_s = r->drop_service_s + req->wheelchairs * r->wheelchair_service_s;
    b->direct_s = dsp_travel_s(d, &b->pickup, &b->drop);
    /* Ride time runs from the start of boarding to the start of alighting. */
    b->max_ride_s = (int)lround(r->ride_alpha * b->direct_s) + r->ride_beta_s;
    if (b->max_ride_s < b->direct_s + b->pickup_service_s)
        b->max_ride_s = b->direct_s + b->pickup_service_s;
    *out = bid;
    return 0;
}

int dsp_request_offer(dsp_day *d, int now, const dsp_request *req, int hold, dsp_offer *out)
{
    const dsp_rules *r = &d->rules;
    dsp_booking *b;
    dsp_insertion ins;
    int64_t bid;
    int rc;

    memset(out, 0, sizeof(*out));
    out->booking = -1;
    dsp_clock(d, now);
    if ((rc = booking_init(d, now, req, hold, &bid)) < 0)
        return rc;
    b = &d->bk[bid];
    if (hold)
        dsp_emit(d, now, bid, -1, DSP_REQUESTED, DSP_REQUESTED, "status", "");

    rc = desired(d, now, b, 0) ? dsp_best_insertion(d, bid, -1, NULL, &ins) : 0;
    if (rc < 0)
        goto fail;
    if (rc > 0) {
        promise(d, b, &ins, &out->option);
        out->ok = 1;
        if (hold) {
            b->promise_from_s = out->option.pickup_from_s;
            b->promise_to_s = b->eff_pick_close_s = out->option.pickup_to_s;
            b->latest_drop_s = b->eff_drop_close_s = out->option.latest_dropoff_s;
            b->eff_max_ride_s = b->max_ride_s;
            b->expires_s = now + r->offer_ttl_s;
            out->expires_s = b->expires_s;
            b->vehicle = ins.vehicle;
            dsp_set_status(d, now, b, DSP_OFFERED, "");
            if ((rc = dsp_apply_insertion(d, now, bid, &ins)) < 0)
                goto fail;
            out->option.planned_pickup_s = b->planned_pickup_s;
            out->option.planned_dropoff_s = b->planned_dropoff_s;
            out->booking = bid;
        } else {
            d->n_bk--;
        }
        return 0;
    }
    /* Nothing fits: why, and which other times would. */
    if (!desired(d, now, b, 0)) {
        out->reason = DSP_REASON_OUT_OF_HOURS;
    } else {
        out->reason = why_not(d, b);
    }
    static const int steps_min[] = {15, -15, 30, -30, 45, -45, 60, -60, 90, -90, 120, -120};
    for (size_t i = 0; i < sizeof(steps_min) / sizeof(steps_min[0]) && out->n_alts < DSP_MAX_ALTS;
         i++) {
        int shift = steps_min[i] * 60;
        if (b->when == DSP_ASAP && shift < 0)
            continue;
        if (!desired(d, now, b, shift))
            continue;
        rc = dsp_best_insertion(d, bid, -1, NULL, &ins);
        if (rc < 0)
            goto fail;
        if (rc > 0)
            promise(d, b, &ins, &out->alts[out->n_alts++]);
    }
    b->reason = out->reason;
    b->promise_from_s = b->promise_to_s = b->latest_drop_s = -1;
    if (hold) {
        dsp_set_status(d, now, b, DSP_REJECTED, dsp_reason_name(out->reason));
        out->booking = bid;
    } else {
        d->n_bk--;
    }
    return 0;
fail:
    if (!hold)
        d->n_bk--;
    return rc;
}

/*
 * Restoring after a restart: the booking comes back with the promise it was
 * given, as hard windows, into the van it had if it still fits there, else
 * the cheapest van.  If time moved on so far that the promise cannot be kept
 * any more, it goes where it is least late and the plan relaxes it (a
 * "delayed" event) - a restart must not lose a confirmed rider.
 */
int dsp_booking_restore(dsp_day *d, int now, const dsp_restore *rs, int64_t *booking)
{
    dsp_booking *b;
    dsp_insertion ins;
    int64_t bid;
    int rc;

    *booking = -1;
    dsp_clock(d, now);
    if (rs == NULL || (rs->status != DSP_OFFERED && rs->status != DSP_CONFIRMED &&
                       rs->status != DSP_ASSIGNED && rs->status != DSP_PICKED_UP))
        return DSP_EINVAL;
    if (rs->status == DSP_PICKED_UP && (rs->vehicle < 0 || rs->pickup_s < 0))
        return DSP_EINVAL;
    if (rs->promise_from_s > rs->promise_to_s || rs->promise_to_s > rs->latest_dropoff_s ||
        rs->vehicle >= d->n_veh)
        return DSP_EINVAL;
    if ((rc = booking_init(d, rs->requested_s, rs->req, 1, &bid)) < 0)
        return rc;
    b = &d->bk[bid];
    b->promise_from_s = rs->promise_from_s;
    b->promise_to_s = b->eff_pick_close_s = rs->promise_to_s;
    b->latest_drop_s = b->eff_drop_close_s = rs->latest_dropoff_s;
    b->eff_max_ride_s = b->max_ride_s;
    b->expires_s = rs->expires_s;
    /* Assigned means the van was on its way; after a restart the tablet says
     * so again, until then it is a confirmed booking. */
    b->status = rs->status == DSP_OFFERED ? DSP_OFFERED : DSP_CONFIRMED;
    if (rs->status == DSP_PICKED_UP) {
        b->pickup_s = rs->pickup_s;
        if ((rc = dsp_restore_onboard(d, now, bid, rs->vehicle)) < 0) {
            if (b->vehicle < 0) { /* not placed: forget it (it is the last booking) */
                free(b->ext_id);
                b->ext_id = NULL;
                d->n_bk--;
            }
            return rc;
        }
        *booking = bid;
        return 0;
    }
    rc = 0;
    if (rs->vehicle >= 0)
        rc = dsp_best_insertion(d, bid, rs->vehicle, NULL, &ins);
    if (rc == 0)
        rc = dsp_best_insertion(d, bid, -1, NULL, &ins);
    if (rc == 0) {
        dsp_eval_opts o = {.probe = -1, .no_closes = 1, .no_rides = 1};
        rc = dsp_best_insertion(d, bid, -1, &o, &ins);
    }
    if (rc <= 0) {
        free(b->ext_id);
        b->ext_id = NULL;
        d->n_bk--;
        return rc < 0 ? rc : DSP_ENOFIT;
    }
    b->vehicle = ins.vehicle;
    if ((rc = dsp_apply_insertion(d, now, bid, &ins)) < 0)
        return rc;
    *booking = bid;
    return 0;
}
