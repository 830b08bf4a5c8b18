/*
 * lifecycle.c - what moves a booking or a van on: the rider's answers
 * (confirm, cancel), time passing (offers expiring, vans running late), and
 * the road (departures, arrivals, boardings, alightings, no-shows, breaks, a
 * van taken out of service).
 *
 * Every road event acts on the first stop of the van's plan at the place the
 * van is, and is refused (DSP_ESTATE, nothing changed) otherwise, so a
 * confused or replayed report cannot corrupt a plan.  Each change ends with
 * dsp_refresh, which reschedules the plan and tells the sink.
 */
#include "dispatcher/dsp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_place(const dsp_place *a, const dsp_place *b)
{
    if (a->stop >= 0 || b->stop >= 0)
        return a->stop == b->stop;
    return a->lat == b->lat && a->lon == b->lon;
}

int dsp_plan_remove_booking(dsp_day *d, int v, int64_t b)
{
    dsp_veh *x = &d->veh[v];
    int m = 0, committed = x->n_committed;

    for (int k = 0; k < x->n; k++) {
        if (x->stops[k].b == b) {
            if (k < x->n_committed)
                committed--;
            continue;
        }
        x->stops[m++] = x->stops[k];
    }
    x->n = m;
    x->n_committed = committed;
    return 0;
}

static int onboard_add(dsp_veh *x, int64_t b)
{
    if (x->n_onboard == x->cap_onboard) {
        int cap = x->cap_onboard ? 2 * x->cap_onboard : 8;
        int64_t *no = realloc(x->onboard, (size_t)cap * sizeof(*no));
        if (no == NULL)
            return DSP_ENOMEM;
        x->onboard = no;
        x->cap_onboard = cap;
    }
    x->onboard[x->n_onboard++] = b;
    return 0;
}

static int onboard_remove(dsp_veh *x, int64_t b)
{
    for (int i = 0; i < x->n_onboard; i++) {
        if (x->onboard[i] == b) {
            x->onboard[i] = x->onboard[--x->n_onboard];
            return 0;
        }
    }
    return DSP_ESTATE;
}

int dsp_confirm(dsp_day *d, int now, int64_t id)
{
    dsp_booking *b = dsp_bk(d, id);
    dsp_clock(d, now);

    if (b == NULL || b->is_break)
        return DSP_ENOTFOUND;
    if (b->status != DSP_OFFERED)
        return DSP_ESTATE;
    if (now > b->expires_s) {
        dsp_tick(d, now);
        return DSP_ESTATE;
    }
    dsp_set_status(d, now, b, DSP_CONFIRMED, "");
    /* Already dispatched towards it (the van left while the offer was open). */
    const dsp_veh *x = &d->veh[b->vehicle];
    for (int k = 0; k < x->n_committed; k++)
        if (x->stops[k].b == id && !x->stops[k].drop)
            dsp_set_status(d, now, b, DSP_ASSIGNED, "");
    return 0;
}

static int withdraw(dsp_day *d, int now, dsp_booking *b, dsp_status to, const char *why)
{
    int v = b->vehicle, rc;

    if (v >= 0) {
        dsp_plan_remove_booking(d, v, b->id);
        if ((rc = dsp_refresh(d, now, v)) < 0)
            return rc;
    }
    dsp_set_status(d, now, b, to, why);
    return 0;
}

int dsp_cancel(dsp_day *d, int now, int64_t id, const char *reason)
{
    dsp_booking *b = dsp_bk(d, id);
    dsp_clock(d, now);

    if (b == NULL || b->is_break)
        return DSP_ENOTFOUND;
    if (b->status != DSP_OFFERED && b->status != DSP_CONFIRMED && b->status != DSP_ASSIGNED)
        return DSP_ESTATE;
    return withdraw(d, now, b, DSP_CANCELLED, reason);
}

int dsp_tick(dsp_day *d, int now)
{
    char *touched = NULL;
    int rc = 0;
    dsp_clock(d, now);

    /* Offers past their time all leave their plans first, then each van
     * they left is rescheduled once: rescheduling after each one would judge
     * a plan still holding the next expired offer, and could report that
     * offer late (a "delayed" event) just before it goes. */
    for (int64_t i = 0; i < d->n_bk; i++) {
        dsp_booking *b = &d->bk[i];
        if (b->status != DSP_OFFERED || now <= b->expires_s)
            continue;
        if (touched == NULL && (touched = calloc((size_t)d->n_veh + 1, 1)) == NULL)
            return DSP_ENOMEM;
        if (b->vehicle >= 0) {
            dsp_plan_remove_booking(d, b->vehicle, b->id);
            touched[b->vehicle] = 1;
        }
        dsp_set_status(d, now, b, DSP_EXPIRED, "offer not confirmed in time");
    }
    for (int v = 0; touched != NULL && v < d->n_veh; v++)
        if (touched[v] && (rc = dsp_refresh(d, now, v)) < 0)
            goto out;
    for (int v = 0; v < d->n_veh; v++) {
        dsp_veh *x = &d->veh[v];
        if (!x->in_service || x->pos_s >= now)
            continue;
        /* Not there yet although it should be (late), or idle past the
         * plan's departure: the van cannot leave before now. */
        int stale = x->en_route || (x->n > 0 && x->feasible && x->sched[0] < now - 0.5);
        x->pos_s = now;
        if (stale && (rc = dsp_refresh(d, now, v)) < 0)
            goto out;
    }
out:
    free(touched);
    return rc;
}

static dsp_veh *van(dsp_day *d, int v)
{
    return v >= 0 && v < d->n_veh ? &d->veh[v] : NULL;
}

/* A break under way (started, not ended): the van stays where it is. */
static int on_break(const dsp_day *d, const dsp_veh *x)
{
    for (int i = 0; i < x->n_onboard; i++)
        if (d->bk[x->onboard[i]].is_break)
            return 1;
    return 0;
}

int dsp_vehicle_depart(dsp_day *d, int now, int v)
{
    dsp_veh *x = van(d, v);
    dsp_clock(d, now);

    if (x == NULL)
        return DSP_ENOTFOUND;
    if (!x->in_service || x->en_route || x->n == 0 || on_break(d, x))
        return DSP_ESTATE;
    const dsp_stop *s = &x->stops[0];
    dsp_booking *b = &d->bk[s->b];
    const dsp_place *dest = s->drop ? &b->drop : &b->pickup;
    x->from = x->pos;
    x->depart_s = now;
    x->pos = *dest;
    x->pos_s = now + dsp_travel_s(d, &x->from, dest);
    x->en_route = 1;
    if (x->n_committed < 1)
        x->n_committed = 1;
    if (!s->drop && b->status == DSP_CONFIRMED)
        dsp_set_status(d, now, b, DSP_ASSIGNED, "");
    return dsp_refresh(d, now, v);
}

int dsp_vehicle_depart_to(dsp_day *d, int now, int v, const dsp_place *place)
{
    dsp_veh *x = van(d, v);
    dsp_clock(d, now);

    if (x == NULL)
        return DSP_ENOTFOUND;
    if (!x->in_service || x->en_route || x->n_committed > 0 || place == NULL || on_break(d, x))
        return DSP_ESTATE;
    x->from = x->pos;
    x->depart_s = now;
    x->pos = *place;
    x->pos_s = now + dsp_travel_s(d, &x->from, place);
    x->en_route = 1;
    return dsp_refresh(d, now, v);
}

int dsp_vehicle_arrive(dsp_day *d, int now, int v)
{
    dsp_veh *x = van(d, v);
    dsp_clock(d, now);

    if (x == NULL)
        return DSP_ENOTFOUND;
    if (!x->en_route)
        return DSP_ESTATE;
    x->en_route = 0;
    x->pos_s = now;
    return dsp_refresh(d, now, v);
}

/* The first stop of v's plan, if it is (b, drop) and the van is there. */
static int first_stop_is(dsp_day *d, dsp_veh *x, int64_t b, int drop)
{
    if (x->en_route || x->n == 0 || x->stops[0].b != b || x->stops[0].drop != drop)
        return 0;
    const dsp_booking *bk = &d->bk[b];
    return same_place(&x->pos, drop ? &bk->drop : &bk->pickup);
}

static void pop_first(dsp_veh *x)
{
    memmove(x->stops, x->stops + 1, (size_t)(x->n - 1) * sizeof(*x->stops));
    x->n--;
    if (x->n_committed > 0)
        x->n_committed--;
}

int dsp_rider_boarded(dsp_day *d, int now, int v, int64_t id)
{
    dsp_veh *x = van(d, v);
    dsp_booking *b = dsp_bk(d, id);
    int rc;
    dsp_clock(d, now);

    if (x == NULL || b == NULL)
        return DSP_ENOTFOUND;
    if (b->is_break || !first_stop_is(d, x, id, 0) ||
        (b->status != DSP_CONFIRMED && b->status != DSP_ASSIGNED))
        return DSP_ESTATE;
    if ((rc = onboard_add(x, id)) < 0)
        return rc;
    if (b->status == DSP_CONFIRMED)
        dsp_set_status(d, now, b, DSP_ASSIGNED, "");
    b->pickup_s = now;
    dsp_set_status(d, now, b, DSP_PICKED_UP, "");
    pop_first(x);
    x->pos_s = now + b->pickup_service_s;
    return dsp_refresh(d, now, v);
}

int dsp_rider_alighted(dsp_day *d, int now, int v, int64_t id)
{
    dsp_veh *x = van(d, v);
    dsp_booking *b = dsp_bk(d, id);
    dsp_clock(d, now);

    if (x == NULL || b == NULL)
        return DSP_ENOTFOUND;
    if (b->is_break || !first_stop_is(d, x, id, 1) || b->status != DSP_PICKED_UP)
        return DSP_ESTATE;
    onboard_remove(x, id);
    b->dropoff_s = now;
    dsp_set_status(d, now, b, DSP_DROPPED_OFF, "");
    pop_first(x);
    x->pos_s = now + b->drop_service_s;
    return dsp_refresh(d, now, v);
}

int dsp_rider_no_show(dsp_day *d, int now, int v, int64_t id)
{
    dsp_veh *x = van(d, v);
    dsp_booking *b = dsp_bk(d, id);
    dsp_clock(d, now);

    if (x == NULL || b == NULL)
        return DSP_ENOTFOUND;
    if (b->is_break || !first_stop_is(d, x, id, 0) ||
        (b->status != DSP_CONFIRMED && b->status != DSP_ASSIGNED))
        return DSP_ESTATE;
    x->pos_s = now;
    dsp_plan_remove_booking(d, v, id);
    dsp_set_status(d, now, b, DSP_NO_SHOW, "");
    return dsp_refresh(d, now, v);
}

int dsp_break_start(dsp_day *d, int now, int v, int64_t id)
{
    dsp_veh *x = van(d, v);
    dsp_booking *b = dsp_bk(d, id);
    int rc;
    dsp_clock(d, now);

    if (x == NULL || b == NULL)
        return DSP_ENOTFOUND;
    if (!b->is_break || !first_stop_is(d, x, id, 0))
        return DSP_ESTATE;
    if ((rc = onboard_add(x, id)) < 0)
        return rc;
    b->pickup_s = now;
    b->status = DSP_PICKED_UP;
    pop_first(x);
    x->pos_s = now + b->pickup_service_s;
    dsp_emit(d, now, id, v, DSP_PICKED_UP, DSP_PICKED_UP, "break_start", "");
    return dsp_refresh(d, now, v);
}

int dsp_break_end(dsp_day *d, int now, int v, int64_t id)
{
    dsp_veh *x = van(d, v);
    dsp_booking *b = dsp_bk(d, id);
    dsp_clock(d, now);

    if (x == NULL || b == NULL)
        return DSP_ENOTFOUND;
    if (!b->is_break || !first_stop_is(d, x, id, 1) || b->status != DSP_PICKED_UP)
        return DSP_ESTATE;
    onboard_remove(x, id);
    b->dropoff_s = now;
    b->status = DSP_DROPPED_OFF;
    pop_first(x);
    x->pos_s = now;
    dsp_emit(d, now, id, v, DSP_DROPPED_OFF, DSP_DROPPED_OFF, "break_end", "");
    return dsp_refresh(d, now, v);
}

int dsp_vehicle_out_of_service(dsp_day *d, int now, int v)
{
    dsp_veh *x = van(d, v);
    int64_t *move = NULL;
    int n_move = 0, rc = 0;
    dsp_clock(d, now);

    if (x == NULL)
        return DSP_ENOTFOUND;
    if (!x->in_service)
        return DSP_ESTATE;
    move = malloc(((size_t)x->n + (size_t)x->n_onboard + 1) * sizeof(*move));
    if (move == NULL)
        return DSP_ENOMEM;
    /* Riders on board get off where the van stopped and wait there. */
    for (int i = 0; i < x->n_onboard; i++) {
        dsp_booking *b = &d->bk[x->onboard[i]];
        if (b->is_break) {
            b->status = DSP_DROPPED_OFF;
            continue;
        }
        if (same_place(&x->pos, &b->drop)) {
            /* It broke down where this rider was going: trip done. */
            b->dropoff_s = now;
            dsp_set_status(d, now, b, DSP_DROPPED_OFF, "");
            continue;
        }
        b->pickup = x->pos;
        b->promise_from_s = now;
        b->eff_pick_close_s = now + d->rules.max_wait_s;
        b->direct_s = dsp_travel_s(d, &b->pickup, &b->drop);
        int lim = b->eff_pick_close_s + b->max_ride_s;
        if (b->eff_drop_close_s < lim)
            b->eff_drop_close_s = lim;
        b->delayed = 1;
        dsp_emit(d, now, b->id, v, b->status, DSP_ASSIGNED, "transfer", "vehicle out of service");
        b->status = DSP_ASSIGNED;
        move[n_move++] = b->id;
    }
    for (int k = 0; k < x->n; k++) {
        dsp_booking *b = &d->bk[x->stops[k].b];
        if (x->stops[k].drop)
            continue;
        if (b->is_break) {
            b->status = DSP_CANCELLED;
            continue;
        }
        move[n_move++] = b->id;
    }
    x->n = x->n_committed = x->n_onboard = 0;
    x->in_service = 0;
    x->en_route = 0;
    dsp_emit(d, now, -1, v, DSP_REQUESTED, DSP_REQUESTED, "vehicle_out", "");
    if ((rc = dsp_refresh(d, now, v)) < 0)
        goto out;
    for (int i = 0; i < n_move; i++) {
        dsp_booking *b = &d->bk[move[i]];
        dsp_insertion ins;
        b->vehicle = -1;
        rc = dsp_best_insertion(d, b->id, -1, NULL, &ins);
        if (rc < 0)
            goto out;
        if (rc > 0) {
            if ((rc = dsp_apply_insertion(d, now, b->id, &ins)) < 0)
                goto out;
            dsp_emit(d, now, b->id, ins.vehicle, b->status, b->status, "transfer", x->id);
        } else {
            b->reason = DSP_REASON_VEHICLE_LOST;
            dsp_set_status(d, now, b, DSP_CANCELLED, "vehicle_lost");
        }
        rc = 0;
    }
out:
    free(move);
    return rc;
}

int dsp_check(const dsp_day *dc, int now, char *msg, size_t msg_len)
{
    dsp_day *d = (dsp_day *)dc; /* dsp_eval uses the day's scratch only */
    int64_t *seen_pick, *seen_drop;
    int rc = 0;

    (void)now;
    msg[0] = '\0';
    seen_pick = calloc((size_t)d->n_bk + 1, sizeof(*seen_pick));
    seen_drop = calloc((size_t)d->n_bk + 1, sizeof(*seen_drop));
    if (seen_pick == NULL || seen_drop == NULL) {
        rc = DSP_ENOMEM;
        goto out;
    }
    for (int v = 0; v < d->n_veh; v++) {
        dsp_veh *x = &d->veh[v];
        if (!x->in_service) {
            if (x->n || x->n_onboard) {
                snprintf(msg, msg_len, "van %s out of service still has stops", x->id);
                rc = DSP_ESTATE;
                goto out;
            }
            continue;
        }
        if (dsp_eval(d, x, x->stops, x->n, NULL, NULL) != 1) {
            snprintf(msg, msg_len, "van %s: plan of %d stops is infeasible", x->id, x->n);
            rc = DSP_ESTATE;
            goto out;
        }
        for (int k = 0; k < x->n; k++) {
            int64_t b = x->stops[k].b;
            (x->stops[k].drop ? seen_drop : seen_pick)[b]++;
            if (d->bk[b].vehicle != v) {
                snprintf(msg, msg_len, "booking %lld in van %s's plan but assigned to %d",
                         (long long)b, x->id, d->bk[b].vehicle);
                rc = DSP_ESTATE;
                goto out;
            }
        }
        for (int i = 0; i < x->n_onboard; i++)
            seen_pick[x->onboard[i]]++;
    }
    for (int64_t i = 0; i < d->n_bk; i++) {
        const dsp_booking *b = &d->bk[i];
        int active = b->status == DSP_OFFERED || b->status == DSP_CONFIRMED ||
                     b->status == DSP_ASSIGNED || b->status == DSP_PICKED_UP;
        if (b->is_break)
            continue;
        if (active != (seen_pick[i] == 1 && seen_drop[i] == 1) || seen_pick[i] > 1 ||
            seen_drop[i] > 1) {
            snprintf(msg, msg_len, "booking %lld (%s) planned %lld/%lld times", (long long)i,
                     dsp_status_name(b->status), (long long)seen_pick[i], (long long)seen_drop[i]);
            rc = DSP_ESTATE;
            goto out;
        }
        if (active && !b->delayed && b->status != DSP_OFFERED &&
            (b->eff_pick_close_s != b->promise_to_s || b->eff_drop_close_s != b->latest_drop_s ||
             b->eff_max_ride_s != b->max_ride_s)) {
            snprintf(msg, msg_len, "booking %lld: promise changed without a disruption",
                     (long long)i);
            rc = DSP_ESTATE;
            goto out;
        }
    }
out:
    free(seen_pick);
    free(seen_drop);
    return rc;
}

/*
 * A rider who was on board when the daemon stopped comes back on board van
 * v, with only the drop-off left to plan: at the cheapest feasible place in
 * the plan after its committed stops, or where it is least late if none is
 * feasible any more (the plan then relaxes that promise).
 */
int dsp_restore_onboard(dsp_day *d, int now, int64_t id, int v)
{
    dsp_veh *x = van(d, v);
    dsp_booking *b = dsp_bk(d, id);
    dsp_stop *seq;
    int best = -1, rc;
    double best_cost = 0;

    if (x == NULL || b == NULL)
        return DSP_ENOTFOUND;
    seq = malloc((size_t)(x->n + 1) * sizeof(*seq));
    if (seq == NULL || (rc = onboard_add(x, id)) < 0) {
        free(seq);
        return DSP_ENOMEM;
    }
    b->pickup_s = b->pickup_s < 0 ? now : b->pickup_s;
    dsp_status was = b->status;
    b->status = DSP_PICKED_UP; /* what the timeline needs to see a rider on board */
    b->vehicle = v;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        dsp_eval_opts o = {.probe = -1, .no_closes = pass, .no_rides = pass};
        for (int k = x->n_committed; k <= x->n; k++) {
            double cost = 0;
            int m = 0;
            for (int i = 0; i <= x->n; i++) {
                if (i == k)
                    seq[m++] = (dsp_stop){.b = id, .drop = 1};
                if (i < x->n)
                    seq[m++] = x->stops[i];
            }
            rc = dsp_eval(d, x, seq, m, &o, &cost);
            if (rc < 0) {
                free(seq);
                onboard_remove(x, id);
                b->status = was;
                b->vehicle = -1;
                return rc;
            }
            if (rc == 1 && (best < 0 || cost < best_cost)) {
                best = k;
                best_cost = cost;
            }
        }
    }
    free(seq);
    if (best < 0 || (rc = dsp_stops_reserve(x, x->n + 1)) < 0) {
        onboard_remove(x, id);
        b->status = was;
        b->vehicle = -1;
        return best < 0 ? DSP_ENOFIT : rc;
    }
    memmove(&x->stops[best + 1], &x->stops[best], (size_t)(x->n - best) * sizeof(*x->stops));
    x->stops[best] = (dsp_stop){.b = id, .drop = 1};
    x->n++;
    b->vehicle = v;
    b->status = DSP_PICKED_UP;
    return dsp_refresh(d, now, v);
}
