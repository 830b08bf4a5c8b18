/*
 * svc_commit.c - the commit queue: keeping the store in step with the
 * service's memory, and answering only after it is.
 *
 * The dispatcher reports every transition to the day's sink; the sink only
 * queues it (and marks a van's plan when its stop sequence changed).
 * svc_commit turns everything queued into one store transaction: the
 * idempotency records, the events (append-only, each with a unique key so a
 * re-send after an unknown outcome is stored once), an upsert of every
 * booking they touched or that was marked, an upsert of every changed plan
 * with its seq - after the caller's own records (a rider, a token, a tablet
 * event's row).  The caller answers from the done callback, so a 2xx means
 * committed.
 *
 * Failure.  When a commit fails, everything it carried goes back into the
 * queue ahead of what came meanwhile and rides with the next commit - except
 * an idempotency record the store refuses for good (DB_EQUERY and kin),
 * which would otherwise fail every later commit: it is dropped and its key
 * freed (its request was answered 503).  Rows that could not even be queued
 * for want of memory set `resweep`: the next commit upserts every booking,
 * whose rows carry their state.  The queue keeps EVQ_SPARE free entries, so
 * one dispatcher call that meets out of memory still has room for the
 * events it emits.
 *
 * In flight.  Each commit is on a list until its callback; a day is not
 * dropped while any commit is in flight (its rows may come back), and a
 * booking is "unstored" while an event of it is queued or in flight.
 *
 * Cost: O(queued) per commit; plan rows are built only for vans whose stop
 * sequence changed (times alone every 30 s, by the tick).
 */
#include "dispatcher/svc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/db/db_err.h" /* DB_E codes */

#define EVQ_SPARE 64

struct svc_commit_ctx {
    svc_commit_ctx *next; /* s->inflight */
    svc *s;
    svc_commit_cb done;
    void *ud;
    svc_evq *events;
    int n_events;
    svc_bk **bks;
    int n_bks;
    int *plans; /* day * n_vehicles + v */
    int n_plans;
    svc_idem **idem;
    int n_idem;
};

/* ------------------------------------------------------------------------ */
/* The dispatcher's sink                                                    */

static void evq_grow(svc *s)
{
    if (s->cap_evq - s->n_evq >= EVQ_SPARE)
        return;
    int cap = s->cap_evq ? 2 * s->cap_evq : 256;
    svc_evq *n = realloc(s->evq, (size_t)cap * sizeof(*n));
    if (n == NULL)
        return; /* tried again after the next event */
    s->evq = n;
    s->cap_evq = cap;
}

static void sink_event(void *ud, const dsp_event *e)
{
    svc_day *d = ud;
    svc *s = d->s;
    svc_evq *q;

    if (e->to == DSP_EXPIRED)
        s->m.expired++;
    if (e->booking < 0)
        return; /* vehicle events are not stored as booking events */
    evq_grow(s);
    if (s->n_evq == s->cap_evq) {
        /* Even the spare is used up: the event's row is lost, but the
         * booking's own row (its state) is stored by the next commit. */
        s->m.events_lost++;
        s->resweep = 1;
        return;
    }
    q = &s->evq[s->n_evq++];
    q->day = (int)(d - s->days);
    q->idx = e->booking;
    q->vehicle = e->vehicle;
    q->time_s = e->time_s;
    q->from = e->from;
    q->to = e->to;
    snprintf(q->kind, sizeof(q->kind), "%s", e->kind);
    svc_text_copy(q->detail, sizeof(q->detail), e->detail ? e->detail : "");
    snprintf(q->key, sizeof(q->key), "%s-%llu", s->run_id, (unsigned long long)++s->event_counter);
    snprintf(q->actor, sizeof(q->actor), "%s", s->actor);
    /* A confirmed offer's stops become visible to the tablet while the plan
     * keeps its version: a new seq for the new content, stored in the same
     * commit as the confirmation. */
    if (e->from == DSP_OFFERED && e->to == DSP_CONFIRMED && e->vehicle >= 0 &&
        e->vehicle < s->cfg.n_vehicles) {
        d->seq_base[e->vehicle]++;
        d->plan_dirty[e->vehicle] = 1;
    }
}

/* Signature of vehicle v's stop sequence (bookings, kinds, committed). */
static uint64_t plan_signature(svc_day *d, int v)
{
    dsp_plan_stop small[64], *st = small;
    dsp_vehicle_info vi;
    uint64_t h = 1469598103934665603ULL;
    int n;

    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return 0;
    if (vi.n_stops > 64 && (st = malloc((size_t)vi.n_stops * sizeof(*st))) == NULL)
        return 0; /* differs from any stored signature: the plan is stored */
    n = dsp_plan_get(d->dsp, v, st, vi.n_stops > 64 ? vi.n_stops : 64);
    h = (h ^ (uint64_t)vi.in_service) * 1099511628211ULL;
    for (int k = 0; k < n; k++) {
        h = (h ^ (uint64_t)st[k].booking) * 1099511628211ULL;
        h = (h ^ (uint64_t)(st[k].kind * 2 + st[k].committed)) * 1099511628211ULL;
    }
    if (st != small)
        free(st);
    return h;
}

/* The dispatcher re-times plans often (every tick for a van behind its
 * plan); the store gets a plan row when the stop sequence changes, and the
 * times alone at most every 30 s (svc_tick). */
static void sink_plan(void *ud, int vehicle, uint32_t version)
{
    svc_day *d = ud;

    (void)version;
    if (vehicle < 0 || vehicle >= d->s->cfg.n_vehicles)
        return;
    if (plan_signature(d, vehicle) != d->plan_sig[vehicle])
        d->plan_dirty[vehicle] = 1;
}

dsp_sink svc_day_sink(svc_day *d)
{
    dsp_sink sink = {.ud = d, .event = sink_event, .plan_changed = sink_plan};
    return sink;
}

/* ------------------------------------------------------------------------ */
/* Rows                                                                     */

static const char *when_name(dsp_when w)
{
    return w == DSP_ASAP ? "asap" : w == DSP_DEPART_AFTER ? "depart_after" : "arrive_by";
}

static const char *stop_id_of(const svc *s, const dsp_place *p)
{
    return p->stop >= 0 && p->stop < s->area->n_stops ? s->area->stops[p->stop].id : NULL;
}

static int put_booking_row(svc *s, store_txn *t, svc_bk *b)
{
    svc_day *d = &s->days[b->day];
    dsp_booking_info bi;
    store_booking_row r;

    if (dsp_booking_get(d->dsp, b->idx, &bi) < 0)
        return 0;
    memset(&r, 0, sizeof(r));
    r.id = b->id;
    r.date = d->date;
    r.rider_id = b->rider_id[0] ? b->rider_id : NULL;
    r.created_by = b->created_by;
    r.status = dsp_status_name(bi.status);
    r.pickup_stop = stop_id_of(s, &bi.pickup);
    r.pickup_lat = bi.pickup.lat;
    r.pickup_lon = bi.pickup.lon;
    r.drop_stop = stop_id_of(s, &bi.drop);
    r.drop_lat = bi.drop.lat;
    r.drop_lon = bi.drop.lon;
    r.when_kind = when_name(bi.when);
    r.time_s = bi.when == DSP_ASAP ? -1 : bi.time_s;
    r.passengers = bi.passengers;
    r.wheelchairs = bi.wheelchairs;
    r.requested_s = bi.requested_s;
    r.expires_s = bi.status == DSP_OFFERED ? bi.requested_s + s->cfg.rules.offer_ttl_s : -1;
    r.promise_from_s = bi.promise_from_s;
    r.promise_to_s = bi.promise_to_s;
    r.latest_dropoff_s = bi.latest_dropoff_s;
    r.vehicle_id = bi.vehicle >= 0 ? svc_vehicle_id(s, bi.vehicle) : NULL;
    r.planned_pickup_s = bi.vehicle >= 0 ? bi.planned_pickup_s : -1;
    r.planned_dropoff_s = bi.vehicle >= 0 ? bi.planned_dropoff_s : -1;
    r.pickup_s = bi.pickup_s;
    r.dropoff_s = bi.dropoff_s;
    r.reason = bi.reason ? dsp_reason_name(bi.reason) : "";
    r.notes = b->notes;
    r.attention = NULL;
    b->stored_vehicle = bi.vehicle;
    b->stored_pickup_s = bi.vehicle >= 0 ? bi.planned_pickup_s : -1;
    return s->st.ops->put_booking(t, &r);
}

static int put_event_row(svc *s, store_txn *t, const svc_evq *e, const svc_bk *b)
{
    store_event_row r = {
        .booking_id = b->id,
        .date = s->days[e->day].date,
        .time_s = e->time_s,
        .kind = e->kind,
        .from_status = dsp_status_name(e->from),
        .to_status = dsp_status_name(e->to),
        .vehicle_id = e->vehicle >= 0 ? svc_vehicle_id(s, e->vehicle) : NULL,
        .detail = e->detail,
        .actor = e->actor,
        .event_key = e->key,
    };
    return s->st.ops->put_event(t, &r);
}

/* The stored plan: compact, [[booking id, "p"|"d"|"b", planned_s, committed], ...]
 * (what a standby needs; names and places are in bookings and stops). */
static int put_plan_row(svc *s, store_txn *t, svc_day *d, int v)
{
    dsp_vehicle_info vi;
    dsp_plan_stop *st = NULL;
    char *buf;
    size_t len = 0, cap;
    int n, rc;

    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return DB_EINVAL;
    n = vi.n_stops;
    cap = 16 + (size_t)n * 64;
    if ((n > 0 && (st = malloc((size_t)n * sizeof(*st))) == NULL) || (buf = malloc(cap)) == NULL) {
        free(st);
        return DB_ENOMEM;
    }
    n = dsp_plan_get(d->dsp, v, st, n);
    buf[len++] = '[';
    for (int k = 0; k < n; k++) {
        const svc_bk *b = svc_bk_of(d, st[k].booking);
        char brk[32];
        snprintf(brk, sizeof(brk), "break-%lld", (long long)st[k].booking);
        len += (size_t)snprintf(buf + len, cap - len, "%s[\"%s\",\"%c\",%d,%d]", k ? "," : "",
                                b != NULL ? b->id : brk,
                                st[k].kind == DSP_STOP_PICKUP ? 'p'
                                : st[k].kind == DSP_STOP_DROP ? 'd'
                                                              : 'b',
                                st[k].planned_s, st[k].committed);
    }
    buf[len++] = ']';
    buf[len] = '\0';
    store_plan_row r = {.vehicle_id = svc_vehicle_id(s, v),
                        .date = d->date,
                        .seq = d->seq_base[v] + vi.version,
                        .stops = buf};
    rc = s->st.ops->put_plan(t, &r);
    free(buf);
    free(st);
    d->plan_sig[v] = plan_signature(d, v);
    d->stored_version[v] = vi.version;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The queue                                                                */

/* Adds b to a list of rows to store.  When the list cannot grow, b stays
 * marked and the next commit sweeps every booking for marked ones, so a
 * row is never forgotten for want of memory. */
static void mark_dirty(svc *s, svc_bk *b, svc_bk ***list, int *n, int *cap)
{
    if (b->dirty)
        return;
    b->dirty = 1;
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 64;
        svc_bk **nl = realloc(*list, (size_t)c * sizeof(*nl));
        if (nl == NULL) {
            s->resweep = 1;
            return;
        }
        *list = nl;
        *cap = c;
    }
    (*list)[(*n)++] = b;
}

static void mark_pending(svc *s, svc_bk *b)
{
    mark_dirty(s, b, &s->pending_bks, &s->n_pending_bks, &s->cap_pending_bks);
}

int svc_bk_unstored(const svc *s, const svc_bk *b)
{
    int day = b->day;

    if (b->dirty || s->resweep)
        return 1;
    for (int i = 0; i < s->n_evq; i++)
        if (s->evq[i].day == day && s->evq[i].idx == b->idx)
            return 1;
    for (const svc_commit_ctx *c = s->inflight; c != NULL; c = c->next) {
        for (int i = 0; i < c->n_events; i++)
            if (c->events[i].day == day && c->events[i].idx == b->idx)
                return 1;
        for (int i = 0; i < c->n_bks; i++)
            if (c->bks[i] == b)
                return 1;
    }
    return 0;
}

int svc_has_pending(const svc *s)
{
    if (s->n_evq > 0 || s->n_pending_bks > 0 || s->n_pending_idem > 0 || s->resweep)
        return 1;
    for (int day = 0; day < SVC_MAX_DAYS; day++)
        if (s->days[day].used)
            for (int v = 0; v < s->cfg.n_vehicles; v++)
                if (s->days[day].plan_dirty[v])
                    return 1;
    return 0;
}

int svc_refresh_moved_rows(svc *s, int budget)
{
    int marked = 0;
    int64_t total = 0;

    for (int day = 0; day < SVC_MAX_DAYS; day++)
        total += s->days[day].used ? s->days[day].cap_idx : 0;
    /* One pass at most, from where the last call stopped, so every booking
     * gets its turn however small the budget. */
    for (int64_t seen = 0; seen < total && marked < budget; seen++) {
        /* the next slot of a day that is open (total > 0: one exists) */
        while (s->refresh_day >= SVC_MAX_DAYS || !s->days[s->refresh_day].used ||
               s->refresh_idx >= s->days[s->refresh_day].cap_idx) {
            s->refresh_day = s->refresh_day >= SVC_MAX_DAYS - 1 ? 0 : s->refresh_day + 1;
            s->refresh_idx = 0;
        }
        svc_day *d = &s->days[s->refresh_day];
        svc_bk *b = d->by_idx[s->refresh_idx++];
        dsp_booking_info bi;
        if (b == NULL || b->dirty || b->stored_vehicle == -2 ||
            dsp_booking_get(d->dsp, b->idx, &bi) < 0)
            continue;
        if (bi.status != DSP_OFFERED && bi.status != DSP_CONFIRMED &&
            bi.status != DSP_ASSIGNED && bi.status != DSP_PICKED_UP)
            continue;
        int pickup = bi.vehicle >= 0 ? bi.planned_pickup_s : -1;
        int moved = pickup - b->stored_pickup_s;
        if (bi.vehicle != b->stored_vehicle || (pickup >= 0) != (b->stored_pickup_s >= 0) ||
            moved >= 60 || moved <= -60) {
            mark_pending(s, b);
            marked++;
        }
    }
    return marked;
}

/* A store error that a retry of the same records cannot cure (as opposed
 * to a lost connection or memory). */
static int permanent_failure(int rc)
{
    return rc == DB_EQUERY || rc == DB_ECONFLICT || rc == DB_EINVAL;
}

static void commit_done(void *ud, int rc)
{
    svc_commit_ctx *c = ud;
    svc *s = c->s;

    for (svc_commit_ctx **pp = &s->inflight; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            s->n_inflight--;
            break;
        }
    if (rc < 0) {
        /* Back into the queue, ahead of what came meanwhile. */
        s->m.commits_failed++;
        if (c->n_events > 0) {
            /* Never shrink: the queue's capacity stays what it was, or more. */
            int cap = s->n_evq + c->n_events + EVQ_SPARE;
            svc_evq *n = cap > s->cap_evq ? realloc(s->evq, (size_t)cap * sizeof(*n)) : s->evq;
            if (n != NULL) {
                if (cap > s->cap_evq)
                    s->cap_evq = cap;
                memmove(n + c->n_events, n, (size_t)s->n_evq * sizeof(*n));
                memcpy(n, c->events, (size_t)c->n_events * sizeof(*n));
                s->evq = n;
                s->n_evq += c->n_events;
            } else {
                /* The events' rows are lost; their bookings' rows are not. */
                s->m.events_lost += (uint64_t)c->n_events;
                s->resweep = 1;
            }
        }
        /* Every row this commit carried is to be stored again, also those
         * it never reached (a failure while building it). */
        for (int i = 0; i < c->n_bks; i++)
            c->bks[i]->dirty = 0;
        for (int i = 0; i < c->n_bks; i++)
            mark_pending(s, c->bks[i]);
        for (int i = 0; i < c->n_plans; i++) {
            int day = c->plans[i] / s->cfg.n_vehicles, v = c->plans[i] % s->cfg.n_vehicles;
            if (s->days[day].used)
                s->days[day].plan_dirty[v] = 1;
        }
        for (int i = 0; i < c->n_idem; i++) {
            svc_idem *e = c->idem[i];
            /* A record the store refuses for good must not ride with, and
             * fail, every later commit: it is given up. */
            if (!permanent_failure(rc) && svc_idem_queue_record(s, e) == 0)
                continue;
            s->m.idem_refused++;
            svc_idem_drop(s, e);
        }
    } else {
        for (int i = 0; i < c->n_idem; i++)
            c->idem[i]->done = 1;
        /* Stored: now the tablets may hear of it. */
        for (int i = 0; i < c->n_plans && s->hooks.plan_stored != NULL; i++) {
            int day = c->plans[i] / s->cfg.n_vehicles, v = c->plans[i] % s->cfg.n_vehicles;
            if (s->days[day].used)
                s->hooks.plan_stored(s->hooks.ud, &s->days[day], v);
        }
        for (int i = 0; i < c->n_events && s->hooks.event_stored != NULL; i++)
            s->hooks.event_stored(s->hooks.ud, &c->events[i]);
    }
    if (c->done != NULL)
        c->done(c->ud, rc);
    free(c->events);
    free(c->bks);
    free(c->plans);
    free(c->idem);
    free(c);
}

void svc_commit(svc *s, store_txn *own, svc_commit_cb done, void *ud)
{
    svc_commit_ctx *c = calloc(1, sizeof(*c));
    store_txn *txn = own != NULL ? own : s->st.ops->txn_new(s->st.ctx);
    int cap_bks = 0, rc = 0;

    if (c == NULL || txn == NULL) {
        free(c);
        if (txn != NULL)
            s->st.ops->txn_free(txn);
        if (done != NULL)
            done(ud, DB_ENOMEM);
        return;
    }
    c->s = s;
    c->done = done;
    c->ud = ud;
    /* In flight from here on: the rows it holds keep their day alive. */
    c->next = s->inflight;
    s->inflight = c;
    s->n_inflight++;
    /* Take the queue. */
    c->events = s->evq;
    c->n_events = s->n_evq;
    s->evq = NULL;
    s->n_evq = s->cap_evq = 0;
    evq_grow(s);
    c->bks = s->pending_bks;
    c->n_bks = s->n_pending_bks;
    cap_bks = s->cap_pending_bks;
    s->pending_bks = NULL;
    s->n_pending_bks = s->cap_pending_bks = 0;
    c->idem = s->pending_idem;
    c->n_idem = s->n_pending_idem;
    s->pending_idem = NULL;
    s->n_pending_idem = s->cap_pending_idem = 0;
    if (s->resweep) {
        /* Something could not be queued: every booking is stored (their
         * rows carry their state). */
        s->resweep = 0;
        for (size_t i = 0; i < s->bookings.cap; i++) {
            if (!svc_map_live(&s->bookings, i))
                continue;
            svc_bk *b = s->bookings.slots[i].val;
            b->dirty = 0;
            for (int k = 0; k < c->n_bks; k++)
                if (c->bks[k] == b)
                    b->dirty = 1;
            mark_dirty(s, b, &c->bks, &c->n_bks, &cap_bks);
        }
    }
    for (int i = 0; i < c->n_idem && rc == 0; i++) {
        store_idem_row r;
        svc_idem_row(c->idem[i], &r);
        rc = s->st.ops->put_idem(txn, &r);
    }
    for (int i = 0; i < c->n_events && rc == 0; i++) {
        svc_evq *e = &c->events[i];
        svc_day *d = &s->days[e->day];
        svc_bk *b = d->used ? svc_bk_of(d, e->idx) : NULL;
        if (b == NULL)
            continue; /* a break, or a quote */
        rc = put_event_row(s, txn, e, b);
        mark_dirty(s, b, &c->bks, &c->n_bks, &cap_bks);
    }
    for (int i = 0; i < c->n_bks && rc == 0; i++) {
        c->bks[i]->dirty = 0;
        rc = put_booking_row(s, txn, c->bks[i]);
    }
    for (int day = 0; day < SVC_MAX_DAYS && rc == 0; day++) {
        svc_day *d = &s->days[day];
        if (!d->used)
            continue;
        for (int v = 0; v < s->cfg.n_vehicles && rc == 0; v++) {
            if (!d->plan_dirty[v])
                continue;
            int *np = realloc(c->plans, (size_t)(c->n_plans + 1) * sizeof(*np));
            if (np == NULL) {
                rc = DB_ENOMEM;
                break;
            }
            c->plans = np;
            c->plans[c->n_plans++] = day * s->cfg.n_vehicles + v;
            d->plan_dirty[v] = 0;
            rc = put_plan_row(s, txn, d, v);
        }
    }
    if (rc < 0) {
        s->st.ops->txn_free(txn);
        commit_done(c, rc);
        return;
    }
    s->st.ops->txn_submit(txn, commit_done, c);
}

void svc_mark_row(svc *s, svc_bk *b)
{
    mark_pending(s, b);
}
