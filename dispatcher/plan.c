/*
 * plan.c - scheduling a van's plan: the one exact test every decision uses.
 *
 * A plan is turned into the solver's timeline (slv_timeline): position 0 is
 * the van where it is (or will arrive) and when it is free there, positions
 * 1..n the stops, n+1 its depot by the end of the shift.  Windows come from
 * the bookings' promises (as relaxed after disruptions), ride limits from
 * each booking, riders already on board bound their drop-off by the time they
 * boarded.  slv_timeline_solve then gives the schedule by exactly the rule
 * the solver's own evaluation uses, so a plan the dispatcher accepts is one
 * the solver accepts, and the reverse.
 *
 * Cost of a plan: w_drive per second of driving, w_excess_ride per second of
 * ride beyond the direct trip, w_wait per second the van waits.
 *
 * Relaxation.  When the world runs late the current plan can become
 * infeasible although nothing changed in it.  dsp_refresh then solves it
 * without window closes (and, if that is not enough, without ride limits),
 * raises just the limits the least schedule breaks, marks those bookings
 * delayed with an event, and plans on; every other promise stays hard.
 *
 * Cost: O(n) to build, O(n * rounds) to solve (rounds is 1 or 2 in practice).
 */
#include "dispatcher/dsp_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dsp_work_cleanup(dsp_work *w)
{
    free(w->place);
    free(w->open);
    free(w->close);
    free(w->serv);
    free(w->c);
    free(w->tt);
    free(w->ride);
    free(w->early);
    free(w->late);
    free(w->sched);
    free(w->mate);
    free(w->empty_in);
    free(w->load);
    memset(w, 0, sizeof(*w));
}

#define GROW(p, n)                                                                                 \
    do {                                                                                           \
        void *np_ = realloc((p), (size_t)(n) * sizeof(*(p)));                                      \
        if (np_ == NULL)                                                                           \
            return DSP_ENOMEM;                                                                     \
        (p) = np_;                                                                                 \
    } while (0)

int dsp_work_reserve(dsp_work *w, int n_stops)
{
    int need = n_stops + 2;

    if (need <= w->cap)
        return 0;
    int cap = w->cap ? w->cap : 32;
    while (cap < need)
        cap *= 2;
    GROW(w->place, cap);
    GROW(w->open, cap);
    GROW(w->close, cap);
    GROW(w->serv, cap);
    GROW(w->c, cap);
    GROW(w->tt, cap);
    GROW(w->ride, cap);
    GROW(w->early, cap);
    GROW(w->late, cap);
    GROW(w->sched, cap);
    GROW(w->mate, cap);
    GROW(w->empty_in, cap);
    GROW(w->load, cap * DSP_DIMS);
    w->cap = cap;
    return 0;
}

int dsp_fits(const dsp_veh *v, const int *load)
{
    for (int k = 0; k < v->n_configs; k++) {
        int ok = 1;
        for (int dim = 0; dim < DSP_DIMS && ok; dim++)
            ok = load[dim] <= v->cap[k][dim];
        if (ok)
            return 1;
    }
    return 0;
}

int dsp_eval(dsp_day *d, const dsp_veh *v, const dsp_stop *stops, int n, const dsp_eval_opts *o,
             double *cost)
{
    static const dsp_eval_opts none = {.probe = -1};
    dsp_work *w = &d->w;
    int load[DSP_DIMS] = {0}, riders = 0, rc;
    unsigned stamp;

    if (o == NULL)
        o = &none;
    if ((rc = dsp_work_reserve(w, n)) < 0)
        return rc;
    stamp = ++d->stamp;
    for (int i = 0; i < v->n_onboard; i++) {
        const dsp_booking *b = &d->bk[v->onboard[i]];
        for (int dim = 0; dim < DSP_DIMS; dim++)
            load[dim] += b->load[dim];
        riders += !b->is_break; /* a break under way has no drop-off stop */
    }
    w->place[0] = v->pos;
    w->open[0] = dsp_ready_s(d, v);
    w->close[0] = DSP_NEVER;
    w->serv[0] = 0;
    w->mate[0] = -1;
    w->empty_in[0] = 1;
    memcpy(&w->load[0], load, sizeof(load));
    for (int k = 1; k <= n; k++) {
        const dsp_stop *s = &stops[k - 1];
        dsp_booking *b = &d->bk[s->b];
        int probe = s->b == o->probe;
        w->empty_in[k] = riders == 0;
        w->mate[k] = -1;
        if (!s->drop) {
            if (b->status == DSP_PICKED_UP)
                return 0;
            w->place[k] = b->pickup;
            w->open[k] = b->promise_from_s;
            w->close[k] = o->no_closes ? DSP_NEVER : b->eff_pick_close_s;
            w->serv[k] = b->pickup_service_s;
            b->scratch_pos = k;
            b->scratch_stamp = stamp;
            if (!(probe && o->probe_no_load))
                for (int dim = 0; dim < DSP_DIMS; dim++)
                    load[dim] += b->load[dim];
            riders += !b->is_break;
        } else {
            double ride_lim =
                (o->no_rides || (probe && o->probe_no_ride)) ? DSP_NEVER : b->eff_max_ride_s;
            w->place[k] = b->drop;
            w->open[k] = 0;
            w->close[k] = o->no_closes ? DSP_NEVER : b->eff_drop_close_s;
            w->serv[k] = b->drop_service_s;
            if (b->scratch_stamp == stamp) {
                w->mate[k] = b->scratch_pos;
                w->ride[k] = ride_lim;
            } else if (b->status == DSP_PICKED_UP && b->vehicle == v - d->veh) {
                double lim = b->pickup_s + ride_lim;
                if (lim < w->close[k])
                    w->close[k] = lim;
            } else {
                return 0; /* a drop-off with no pickup */
            }
            if (!(probe && o->probe_no_load))
                for (int dim = 0; dim < DSP_DIMS; dim++)
                    load[dim] -= b->load[dim];
            riders -= !b->is_break;
        }
        memcpy(&w->load[k * DSP_DIMS], load, sizeof(load));
        if (!dsp_fits(v, load))
            return 0;
    }
    if (riders != 0)
        return 0; /* someone never gets off */
    w->place[n + 1] = v->depot;
    w->open[n + 1] = 0;
    w->close[n + 1] = o->no_closes ? DSP_NEVER : v->eff_shift_end_s;
    w->serv[n + 1] = 0;
    w->mate[n + 1] = -1;
    w->empty_in[n + 1] = 1;
    memset(&w->load[(n + 1) * DSP_DIMS], 0, sizeof(load));
    for (int k = 0; k <= n; k++) {
        w->tt[k] = dsp_travel_s(d, &w->place[k], &w->place[k + 1]);
        w->c[k] = w->serv[k] + w->tt[k];
    }
    slv_timeline tl = {.n = n,
                       .open = w->open,
                       .close = w->close,
                       .c = w->c,
                       .mate = w->mate,
                       .ride = w->ride,
                       .empty_in = w->empty_in,
                       .max_duration = SLV_INF,
                       .early = w->early,
                       .late = w->late,
                       .sched = w->sched};
    if (!slv_timeline_solve(&tl))
        return 0;
    if (cost) {
        double drive = 0, excess = 0, wait = 0;
        for (int k = 0; k <= n; k++)
            drive += w->tt[k];
        for (int k = 1; k <= n + 1; k++)
            wait += w->sched[k] - (w->sched[k - 1] + w->c[k - 1]);
        for (int k = 1; k <= n; k++) {
            const dsp_booking *b = &d->bk[stops[k - 1].b];
            double ride;
            if (!stops[k - 1].drop || b->is_break)
                continue;
            if (w->mate[k] >= 0)
                ride = w->sched[k] - w->sched[w->mate[k]];
            else
                ride = w->sched[k] - b->pickup_s;
            if (ride > b->direct_s + b->pickup_service_s)
                excess += ride - b->direct_s - b->pickup_service_s;
        }
        *cost = d->rules.w_drive * drive + d->rules.w_excess_ride * excess + d->rules.w_wait * wait;
    }
    return 1;
}

/* Raises the limits the least schedule in d->w breaks; stage 2 also ride limits. */
static void relax(dsp_day *d, int now, int v, int stage)
{
    dsp_veh *x = &d->veh[v];
    dsp_work *w = &d->w;
    int n = x->n;

    for (int k = 1; k <= n; k++) {
        dsp_booking *b = &d->bk[x->stops[k - 1].b];
        int t = (int)ceil(w->early[k] - 1e-6), changed = 0;
        if (!x->stops[k - 1].drop) {
            if (t > b->eff_pick_close_s) {
                b->eff_pick_close_s = t;
                changed = 1;
            }
        } else {
            if (t > b->eff_drop_close_s) {
                b->eff_drop_close_s = t;
                changed = 1;
            }
            if (stage == 2) {
                double from = w->mate[k] >= 0 ? w->early[w->mate[k]] : b->pickup_s;
                int ride = (int)ceil(w->early[k] - from - 1e-6);
                if (ride > b->eff_max_ride_s) {
                    b->eff_max_ride_s = ride;
                    changed = 1;
                }
            }
        }
        if (changed) {
            b->delayed = 1;
            if (!b->is_break)
                dsp_emit(d, now, b->id, v, b->status, b->status, "delayed",
                         x->stops[k - 1].drop ? "dropoff" : "pickup");
        }
    }
    int t_end = (int)ceil(w->early[n + 1] - 1e-6);
    if (t_end > x->eff_shift_end_s) {
        x->eff_shift_end_s = t_end;
        dsp_emit(d, now, -1, v, DSP_REQUESTED, DSP_REQUESTED, "overtime", "");
    }
}

int dsp_refresh(dsp_day *d, int now, int v)
{
    dsp_veh *x = &d->veh[v];
    double cost = 0;
    int rc, n = x->n;

    rc = dsp_eval(d, x, x->stops, n, NULL, &cost);
    if (rc == 0) {
        dsp_eval_opts o = {.probe = -1, .no_closes = 1};
        int stage = 1;
        rc = dsp_eval(d, x, x->stops, n, &o, NULL);
        if (rc == 0) {
            o.no_rides = 1;
            stage = 2;
            rc = dsp_eval(d, x, x->stops, n, &o, NULL);
        }
        if (rc == 1) {
            relax(d, now, v, stage);
            rc = dsp_eval(d, x, x->stops, n, NULL, &cost);
        }
    }
    if (rc < 0)
        return rc;
    x->feasible = rc;
    x->cost = rc ? cost : 0;
    if (x->cap_cache < n + 2) {
        int cap = n + 2 + 16;
        GROW(x->early, cap);
        GROW(x->late, cap);
        GROW(x->sched, cap);
        GROW(x->load_after, cap * DSP_DIMS);
        x->cap_cache = cap;
    }
    if (rc) {
        memcpy(x->early, d->w.early, (size_t)(n + 2) * sizeof(double));
        memcpy(x->late, d->w.late, (size_t)(n + 2) * sizeof(double));
        memcpy(x->sched, d->w.sched, (size_t)(n + 2) * sizeof(double));
        memcpy(x->load_after, d->w.load, (size_t)(n + 2) * DSP_DIMS * sizeof(int));
        for (int k = 0; k < n; k++) {
            dsp_booking *b = &d->bk[x->stops[k].b];
            int t = (int)lround(x->sched[k + 1]);
            if (x->stops[k].drop)
                b->planned_dropoff_s = t;
            else
                b->planned_pickup_s = t;
        }
    }
    x->version++;
    if (d->sink.plan_changed)
        d->sink.plan_changed(d->sink.ud, v, x->version);
    return 0;
}
