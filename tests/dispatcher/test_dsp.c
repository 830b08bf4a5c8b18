/*
 * test_dsp.c - the dispatcher core on its own, through its public API only:
 * offers and the promises made from them, rejections with their reasons and
 * alternatives, quotes, expiry, cancellation, the event log, re-plans adopted
 * while the state moved on, a van taken out of service, and driver breaks.
 *
 * Every case runs on one synthetic small town (area_synth: 50 stops, road
 * travel times up to about 7 minutes).  After each call that can change the
 * day, audit() checks the whole day with code of its own rather than the
 * dispatcher's: every plan drivable (each stop no earlier than the one
 * before plus its service plus the travel time, home before the end of the
 * shift), every load within one of the configurations the van was defined
 * with, every active booking planned exactly once with its pickup inside
 * the window it was offered and its drop-off before the latest drop-off and
 * within its ride limit, nothing else planned, breaks inside their windows
 * with the van empty, and the sink told of every plan version.  dsp_check
 * must agree.
 *
 * The dispatcher never moves a van by itself, so the cases that let time
 * pass keep every pickup an hour or more ahead (min_lead_s): a van that is
 * never told to leave is a late van, and its promises would rightly be
 * relaxed.  Times given to the day only move forward, as in real use.
 *
 * Cases: 1 offer basics; 2 random sequences of offers, confirmations,
 * cancellations, ticks, quotes and re-plans keep every promise; 3 reasons
 * and alternatives; 4 quotes leave nothing; 5 expiry; 6 cancel; 7 events;
 * 8 re-plans adopted (or refused) after the state moved on; 9 a van out of
 * service; 10 breaks; and vehicle definitions that must be refused.
 */
#include <setjmp.h> /* cmocka needs these four first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher/dsp.h"

#define H(h, m) ((h)*3600 + (m)*60)
#define MAX_VANS 8

static area *g_area;

/* ---------------------------------------------------------------------- */
/* fixture: a day, its sink, and what the test was told                    */

typedef struct rec_event {
    int time_s;
    int64_t booking;
    int vehicle;
    dsp_status from, to;
    char kind[16];
    char detail[48];
} rec_event;

/* What the day said about a booking when it was offered. */
typedef struct known {
    int offered;
    dsp_option opt;
    int expires_s;
} known;

typedef struct fx {
    dsp_day *d;
    dsp_rules rules;
    int n_vans;
    dsp_vehicle_def defs[MAX_VANS];
    rec_event *ev;
    int n_ev, cap_ev;
    int n_plan_changed;
    uint32_t version_seen[MAX_VANS];
    known *kn;
    int64_t cap_kn;
    int allow_delayed; /* a disruption may have relaxed promises */
} fx;

static void on_event(void *ud, const dsp_event *e)
{
    fx *f = ud;

    if (f->n_ev == f->cap_ev) {
        f->cap_ev = f->cap_ev ? 2 * f->cap_ev : 256;
        f->ev = realloc(f->ev, (size_t)f->cap_ev * sizeof(*f->ev));
        assert_non_null(f->ev);
    }
    rec_event *r = &f->ev[f->n_ev++];
    r->time_s = e->time_s;
    r->booking = e->booking;
    r->vehicle = e->vehicle;
    r->from = e->from;
    r->to = e->to;
    assert_non_null(e->kind);
    assert_non_null(e->detail);
    snprintf(r->kind, sizeof(r->kind), "%s", e->kind);
    snprintf(r->detail, sizeof(r->detail), "%s", e->detail);
}

static void on_plan(void *ud, int vehicle, uint32_t version)
{
    fx *f = ud;

    assert_true(vehicle >= 0 && vehicle < MAX_VANS);
    f->version_seen[vehicle] = version;
    f->n_plan_changed++;
}

static void fx_init(fx *f, const dsp_rules *r)
{
    memset(f, 0, sizeof(*f));
    f->rules = *r;
    dsp_sink sink = {.ud = f, .event = on_event, .plan_changed = on_plan};
    assert_int_equal(dsp_day_create(g_area, r, &sink, &f->d), 0);
}

static void fx_free(fx *f)
{
    dsp_day_destroy(f->d);
    free(f->ev);
    free(f->kn);
    memset(f, 0, sizeof(*f));
}

static dsp_place at(int stop)
{
    return (dsp_place){
        .lat = g_area->stops[stop].lat, .lon = g_area->stops[stop].lon, .stop = stop};
}

static int travel(const fx *f, const dsp_place *a, const dsp_place *b)
{
    int32_t t, m;

    dsp_travel(f->d, a, b, &t, &m);
    return t;
}

static int stop_travel(const fx *f, int a, int b)
{
    dsp_place pa = at(a), pb = at(b);
    return travel(f, &pa, &pb);
}

/* A van with `seats` seats; wheelchair != 0 adds a configuration trading two
 * seats for one wheelchair place. */
static int add_van(fx *f, const char *id, int seats, int wheelchair, int depot, int from_s,
                   int to_s)
{
    dsp_vehicle_def def;

    memset(&def, 0, sizeof(def));
    def.id = id;
    def.n_configs = 1;
    def.seats[0] = seats;
    if (wheelchair) {
        def.n_configs = 2;
        def.seats[1] = seats - 2;
        def.wheelchairs[1] = 1;
    }
    def.depot = at(depot);
    def.shift_start_s = from_s;
    def.shift_end_s = to_s;
    int v = dsp_vehicle_add(f->d, &def);
    assert_int_equal(v, f->n_vans);
    f->defs[f->n_vans++] = def;
    return v;
}

static dsp_request trip(int from, int to, dsp_when when, int t, int pax, int wc)
{
    dsp_request q;

    memset(&q, 0, sizeof(q));
    q.pickup = at(from);
    q.drop = at(to);
    q.when = when;
    q.time_s = t;
    q.passengers = pax;
    q.wheelchairs = wc;
    return q;
}

static known *kn_at(fx *f, int64_t id)
{
    assert_true(id >= 0);
    if (id >= f->cap_kn) {
        int64_t cap = f->cap_kn ? f->cap_kn : 64;
        while (cap <= id)
            cap *= 2;
        f->kn = realloc(f->kn, (size_t)cap * sizeof(*f->kn));
        assert_non_null(f->kn);
        memset(f->kn + f->cap_kn, 0, (size_t)(cap - f->cap_kn) * sizeof(*f->kn));
        f->cap_kn = cap;
    }
    return &f->kn[id];
}

/* The ride limit as dsp.h states it: alpha * direct + beta. */
static int max_ride_of(const fx *f, const dsp_request *q)
{
    int direct = travel(f, &q->pickup, &q->drop);
    return (int)lround(f->rules.ride_alpha * direct) + f->rules.ride_beta_s;
}

/* The earliest pickup the rider asked for, within the lead time and hours. */
static int earliest_of(const fx *f, int now, const dsp_request *q)
{
    int e = now + f->rules.min_lead_s, t;

    switch (q->when) {
    case DSP_ASAP:
        t = e;
        break;
    case DSP_DEPART_AFTER:
        t = q->time_s;
        break;
    default:
        t = q->time_s - max_ride_of(f, q);
        break;
    }
    if (t < e)
        t = e;
    if (t < f->rules.service_start_s)
        t = f->rules.service_start_s;
    return t;
}

/*
 * An option must be the promise offer.c documents: window of width w around
 * the planned pickup P, [max(E, P - w/2), that + w]; latest drop-off the
 * window's end plus the ride limit (at most the arrive-by time); P no later
 * than the rider accepts, and the planned ride possible and within its limit.
 */
static void check_option(const fx *f, int now, const dsp_request *q, const dsp_option *o)
{
    int w = f->rules.window_s, E = earliest_of(f, now, q), P = o->planned_pickup_s;
    int ride = max_ride_of(f, q), direct = travel(f, &q->pickup, &q->drop);
    int serv = f->rules.pickup_service_s + q->wheelchairs * f->rules.wheelchair_service_s;
    int from = P - w / 2 > E ? P - w / 2 : E;

    assert_true(o->vehicle >= 0 && o->vehicle < f->n_vans);
    assert_int_equal(o->pickup_from_s, from);
    assert_int_equal(o->pickup_to_s - o->pickup_from_s, w);
    assert_in_range(P, o->pickup_from_s, o->pickup_to_s);
    if (q->when == DSP_ARRIVE_BY) {
        int latest = o->pickup_to_s + ride < q->time_s ? o->pickup_to_s + ride : q->time_s;
        assert_int_equal(o->latest_dropoff_s, latest);
        assert_true(P <= q->time_s - direct - serv);
    } else {
        assert_int_equal(o->latest_dropoff_s, o->pickup_to_s + ride);
        assert_true(P <= E + f->rules.max_wait_s);
    }
    assert_true(P <= f->rules.service_end_s);
    assert_true(o->planned_dropoff_s <= o->latest_dropoff_s);
    assert_true(o->planned_dropoff_s - P >= direct + serv);
    assert_true(o->planned_dropoff_s - P <= ride);
}

/* dsp_request_offer, which must succeed as a call; ok offers are checked
 * against the promise rule and remembered. */
static void offer(fx *f, int now, const dsp_request *q, int hold, dsp_offer *o)
{
    int64_t before = dsp_n_bookings(f->d);

    assert_int_equal(dsp_request_offer(f->d, now, q, hold, o), 0);
    if (!hold) {
        assert_int_equal(o->booking, -1);
        assert_int_equal(dsp_n_bookings(f->d), before);
    } else {
        assert_int_equal(o->booking, before);
        assert_int_equal(dsp_n_bookings(f->d), before + 1);
    }
    if (o->ok) {
        check_option(f, now, q, &o->option);
        if (hold) {
            known *k = kn_at(f, o->booking);
            k->offered = 1;
            k->opt = o->option;
            k->expires_s = o->expires_s;
            assert_int_equal(o->expires_s, now + f->rules.offer_ttl_s);
        }
    } else {
        assert_int_not_equal(o->reason, DSP_REASON_NONE);
        assert_in_range(o->n_alts, 0, DSP_MAX_ALTS);
    }
}

static int is_active(dsp_status s)
{
    return s == DSP_OFFERED || s == DSP_CONFIRMED || s == DSP_ASSIGNED;
}

static int fits_def(const dsp_vehicle_def *def, int seats, int wc)
{
    for (int k = 0; k < def->n_configs; k++)
        if (seats <= def->seats[k] && wc <= def->wheelchairs[k])
            return 1;
    return 0;
}

/* The independent audit described at the top. */
static void audit(fx *f, int now)
{
    char msg[256];
    int64_t nb = dsp_n_bookings(f->d);
    int *n_pick = calloc((size_t)nb + 1, sizeof(int));
    int *n_drop = calloc((size_t)nb + 1, sizeof(int));
    int *pick_s = calloc((size_t)nb + 1, sizeof(int));
    int *drop_s = calloc((size_t)nb + 1, sizeof(int));
    int *van_of = calloc((size_t)nb + 1, sizeof(int));

    assert_true(n_pick && n_drop && pick_s && drop_s && van_of);
    if (dsp_check(f->d, now, msg, sizeof(msg)) != 0)
        fail_msg("dsp_check at %d: %s", now, msg);
    assert_int_equal(dsp_n_vehicles(f->d), f->n_vans);
    for (int v = 0; v < f->n_vans; v++) {
        dsp_vehicle_info vi;
        const dsp_vehicle_def *def = &f->defs[v];
        assert_int_equal(dsp_vehicle_get(f->d, v, &vi), 0);
        assert_int_equal(vi.version, f->version_seen[v]);
        int n = dsp_plan_get(f->d, v, NULL, 0);
        assert_int_equal(n, vi.n_stops);
        if (!vi.in_service) {
            assert_int_equal(n, 0);
            assert_int_equal(vi.n_onboard, 0);
            continue;
        }
        dsp_plan_stop *ps = calloc((size_t)n + 1, sizeof(*ps));
        assert_non_null(ps);
        assert_int_equal(dsp_plan_get(f->d, v, ps, n), n);
        int t = vi.ready_s > now ? vi.ready_s : now, seats = vi.seats_used,
            wc = vi.wheelchairs_used;
        int n_breaks = 0;
        dsp_place prev = vi.place;
        for (int k = 0; k < n; k++) {
            const dsp_plan_stop *s = &ps[k];
            int arrive = t + travel(f, &prev, &s->place);
            if (s->planned_s + 1 < arrive)
                fail_msg("van %d stop %d (booking %lld) planned at %d, cannot be there before %d",
                         v, k, (long long)s->booking, s->planned_s, arrive);
            t = s->planned_s + s->service_s;
            prev = s->place;
            if (s->kind == DSP_STOP_BREAK) {
                int inside = 0;
                for (int j = 0; j < def->n_breaks; j++)
                    inside |= s->planned_s >= def->breaks[j].earliest_s &&
                              s->planned_s <= def->breaks[j].latest_s &&
                              s->service_s == def->breaks[j].duration_s;
                if (!inside)
                    fail_msg("van %d: break planned at %d outside every break window", v,
                             s->planned_s);
                assert_int_equal(s->place.stop, def->depot.stop);
                if (seats != 0 || wc != 0)
                    fail_msg("van %d: break at %d with %d seats, %d wheelchairs taken", v,
                             s->planned_s, seats, wc);
                n_breaks++;
                continue;
            }
            dsp_booking_info bi;
            assert_int_equal(dsp_booking_get(f->d, s->booking, &bi), 0);
            assert_int_equal(bi.vehicle, v);
            int q_seats = bi.passengers - bi.wheelchairs;
            if (s->kind == DSP_STOP_PICKUP) {
                n_pick[s->booking]++;
                pick_s[s->booking] = s->planned_s;
                assert_int_equal(s->place.stop, bi.pickup.stop);
                assert_int_equal(n_drop[s->booking], 0);
                seats += q_seats;
                wc += bi.wheelchairs;
            } else {
                n_drop[s->booking]++;
                drop_s[s->booking] = s->planned_s;
                assert_int_equal(s->place.stop, bi.drop.stop);
                seats -= q_seats;
                wc -= bi.wheelchairs;
            }
            van_of[s->booking] = v;
            if (!fits_def(def, seats, wc))
                fail_msg("van %d after stop %d: %d seats and %d wheelchairs fit no configuration",
                         v, k, seats, wc);
        }
        assert_int_equal(seats, 0);
        assert_int_equal(wc, 0);
        assert_int_equal(n_breaks, def->n_breaks);
        if (t + travel(f, &prev, &def->depot) > vi.shift_end_s + 1)
            fail_msg("van %d home at %d, shift ends %d", v, t + travel(f, &prev, &def->depot),
                     vi.shift_end_s);
        free(ps);
    }
    for (int64_t i = 0; i < nb; i++) {
        dsp_booking_info bi;
        assert_int_equal(dsp_booking_get(f->d, i, &bi), 0);
        assert_int_equal(bi.id, i);
        if (bi.is_break)
            continue;
        if (!f->allow_delayed && bi.delayed)
            fail_msg("booking %lld (%s) delayed with no disruption", (long long)i,
                     dsp_status_name(bi.status));
        if (!is_active(bi.status)) {
            if (bi.status != DSP_PICKED_UP)
                assert_int_equal(n_pick[i], 0);
            if (bi.status != DSP_PICKED_UP && n_drop[i] != 0)
                fail_msg("booking %lld (%s) still in a plan", (long long)i,
                         dsp_status_name(bi.status));
            continue;
        }
        if (n_pick[i] != 1 || n_drop[i] != 1)
            fail_msg("booking %lld (%s) planned %d/%d times", (long long)i,
                     dsp_status_name(bi.status), n_pick[i], n_drop[i]);
        assert_int_equal(bi.planned_pickup_s, pick_s[i]);
        assert_int_equal(bi.planned_dropoff_s, drop_s[i]);
        if (bi.delayed)
            continue;
        if (pick_s[i] < bi.promise_from_s || pick_s[i] > bi.promise_to_s)
            fail_msg("booking %lld (%s): pickup %d outside its window [%d, %d]", (long long)i,
                     dsp_status_name(bi.status), pick_s[i], bi.promise_from_s, bi.promise_to_s);
        if (drop_s[i] > bi.latest_dropoff_s)
            fail_msg("booking %lld: drop-off %d after the latest %d", (long long)i, drop_s[i],
                     bi.latest_dropoff_s);
        if (drop_s[i] - pick_s[i] > bi.max_ride_s)
            fail_msg("booking %lld: ride %d over its limit %d", (long long)i, drop_s[i] - pick_s[i],
                     bi.max_ride_s);
        if (i < f->cap_kn && f->kn[i].offered) {
            /* The promise is the one offered, unchanged. */
            assert_int_equal(bi.promise_from_s, f->kn[i].opt.pickup_from_s);
            assert_int_equal(bi.promise_to_s, f->kn[i].opt.pickup_to_s);
            assert_int_equal(bi.latest_dropoff_s, f->kn[i].opt.latest_dropoff_s);
        }
    }
    free(n_pick);
    free(n_drop);
    free(pick_s);
    free(drop_s);
    free(van_of);
}

static void get(const fx *f, int64_t id, dsp_booking_info *bi)
{
    assert_int_equal(dsp_booking_get(f->d, id, bi), 0);
}

static dsp_status status_of(const fx *f, int64_t id)
{
    dsp_booking_info bi;
    get(f, id, &bi);
    return bi.status;
}

/* Whether booking id has a stop in any plan. */
static int in_some_plan(const fx *f, int64_t id)
{
    dsp_plan_stop ps[256];

    for (int v = 0; v < f->n_vans; v++) {
        int n = dsp_plan_get(f->d, v, ps, 256);
        assert_true(n <= 256);
        for (int k = 0; k < n; k++)
            if (ps[k].booking == id)
                return 1;
    }
    return 0;
}

/* Two distinct stops (not the depot, stop 0) at least min_s apart both ways,
 * the farthest such pair. */
static void far_pair(const fx *f, int min_s, int *a, int *b)
{
    int best = -1;

    for (int i = 1; i < g_area->n_stops; i++) {
        for (int j = 1; j < g_area->n_stops; j++) {
            int t = stop_travel(f, i, j), back = stop_travel(f, j, i);
            if (i == j || t < min_s || back < min_s)
                continue;
            if (t + back > best) {
                best = t + back;
                *a = i;
                *b = j;
            }
        }
    }
    assert_true(best > 0);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 32);
}

static int rnd_stop(rng *r)
{
    return 1 + (int)(rnd(r) % (uint32_t)(g_area->n_stops - 1));
}

/* A random trip between distinct stops, its time an hour or more ahead and
 * spread over spread_s. */
static dsp_request rnd_trip(rng *r, int now, int spread_s)
{
    int a = rnd_stop(r), b;
    do {
        b = rnd_stop(r);
    } while (b == a);
    int pax = 1 + (int)(rnd(r) % 3), wc = rnd(r) % 8 == 0;
    switch (rnd(r) % 3) {
    case 0:
        return trip(a, b, DSP_ASAP, 0, pax, wc);
    case 1:
        return trip(a, b, DSP_DEPART_AFTER, now + 3600 + (int)(rnd(r) % (uint32_t)spread_s), pax,
                    wc);
    default:
        return trip(a, b, DSP_ARRIVE_BY, now + 5400 + (int)(rnd(r) % (uint32_t)spread_s), pax, wc);
    }
}

static void replan_params(slv_params *p, uint64_t seed, long iterations, int glpk)
{
    slv_params_init(p);
    p->seed = seed;
    p->max_iterations = iterations;
    p->use_glpk = glpk;
}

/* ---------------------------------------------------------------------- */
/* 1. offers                                                               */

static void test_offer_basics(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    dsp_booking_info bi;
    dsp_plan_stop ps[8];
    int now = H(8, 0), A = 10, B = 30;

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 1, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 6, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v2", 8, 0, 0, H(7, 0), H(19, 0));
    assert_true(stop_travel(&f, A, B) > 0);

    /* As soon as possible. */
    dsp_request q = trip(A, B, DSP_ASAP, 0, 2, 0);
    q.ext_id = "rider-1";
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.booking, 0);
    assert_int_equal(o.option.pickup_to_s - o.option.pickup_from_s, r.window_s);
    assert_in_range(o.option.planned_pickup_s, o.option.pickup_from_s, o.option.pickup_to_s);
    assert_int_equal(o.option.latest_dropoff_s, o.option.pickup_to_s + max_ride_of(&f, &q));
    /* Every van waits at the depot: the pickup is as soon as one can be
     * there, the ride straight, the window [now, now + w] as P - w/2 < now. */
    assert_int_equal(o.option.planned_pickup_s, now + stop_travel(&f, 0, A));
    assert_int_equal(o.option.planned_dropoff_s,
                     o.option.planned_pickup_s + r.pickup_service_s + stop_travel(&f, A, B));
    assert_int_equal(o.option.pickup_from_s, now);
    get(&f, o.booking, &bi);
    assert_int_equal(bi.status, DSP_OFFERED);
    assert_string_equal(bi.ext_id, "rider-1");
    assert_int_equal(bi.vehicle, o.option.vehicle);
    assert_int_equal(bi.requested_s, now);
    assert_int_equal(bi.passengers, 2);
    assert_int_equal(bi.direct_s, stop_travel(&f, A, B));
    assert_int_equal(bi.max_ride_s, max_ride_of(&f, &q));
    assert_int_equal(bi.planned_pickup_s, o.option.planned_pickup_s);
    assert_int_equal(bi.planned_dropoff_s, o.option.planned_dropoff_s);
    assert_in_range(bi.planned_pickup_s, bi.promise_from_s, bi.promise_to_s);
    assert_int_equal(bi.promise_from_s, o.option.pickup_from_s);
    assert_int_equal(bi.promise_to_s, o.option.pickup_to_s);
    assert_int_equal(bi.latest_dropoff_s, o.option.latest_dropoff_s);
    /* Held in exactly that van's plan: pickup then drop-off, at the planned times. */
    for (int v = 0; v < 3; v++) {
        int n = dsp_plan_get(f.d, v, ps, 8);
        if (v != o.option.vehicle) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_int_equal(n, 2);
        assert_int_equal(ps[0].booking, o.booking);
        assert_int_equal(ps[0].kind, DSP_STOP_PICKUP);
        assert_int_equal(ps[0].place.stop, A);
        assert_int_equal(ps[0].planned_s, o.option.planned_pickup_s);
        assert_int_equal(ps[1].booking, o.booking);
        assert_int_equal(ps[1].kind, DSP_STOP_DROP);
        assert_int_equal(ps[1].place.stop, B);
        assert_int_equal(ps[1].planned_s, o.option.planned_dropoff_s);
    }
    audit(&f, now);

    /* Depart after T. */
    int T = H(10, 0);
    q = trip(B, A, DSP_DEPART_AFTER, T, 1, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_true(o.option.pickup_from_s >= T);
    assert_true(o.option.planned_pickup_s >= T);
    get(&f, o.booking, &bi);
    assert_true(bi.planned_pickup_s >= T);
    assert_int_equal(bi.time_s, T);
    audit(&f, now);

    /* Arrive by T: the latest drop-off is T itself. */
    T = H(11, 0);
    q = trip(A, 40, DSP_ARRIVE_BY, T, 1, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_true(o.option.planned_dropoff_s <= T);
    assert_int_equal(o.option.latest_dropoff_s, T);
    get(&f, o.booking, &bi);
    assert_true(bi.planned_dropoff_s <= T);
    assert_int_equal(bi.latest_dropoff_s, T);
    audit(&f, now);

    /* A wheelchair user goes to the van with a wheelchair configuration. */
    q = trip(40, A, DSP_DEPART_AFTER, H(12, 0), 1, 1);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.option.vehicle, 0);
    audit(&f, now);

    /* Bad input changes nothing. */
    int64_t nb = dsp_n_bookings(f.d);
    q = trip(A, B, DSP_ASAP, 0, 0, 0);
    assert_int_equal(dsp_request_offer(f.d, now, &q, 1, &o), DSP_EINVAL);
    q = trip(A, B, DSP_ASAP, 0, 1, 2);
    assert_int_equal(dsp_request_offer(f.d, now, &q, 1, &o), DSP_EINVAL);
    q = trip(A, B, DSP_ASAP, 0, 1, 0);
    q.pickup.stop = g_area->n_stops;
    assert_int_equal(dsp_request_offer(f.d, now, &q, 1, &o), DSP_EINVAL);
    q = trip(A, B, DSP_ASAP, 0, 1, 0);
    q.drop.stop = -1; /* a free point in a road area */
    assert_int_equal(dsp_request_offer(f.d, now, &q, 1, &o), DSP_EINVAL);
    assert_int_equal(dsp_n_bookings(f.d), nb);
    audit(&f, now);
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 2. promises hold through any sequence of later calls                    */

static void random_day(uint64_t seed, int steps)
{
    fx f;
    dsp_rules r;
    dsp_offer o;
    rng g = {.s = seed * 0x9E3779B97F4A7C15ull + 1};
    int now = H(8, 0), n_adopted = 0;
    int64_t confirmed_first;

    dsp_rules_default(&r);
    r.min_lead_s = 3600;
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 1, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 6, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v2", 8, 1, 0, H(7, 0), H(19, 0));

    dsp_request q = trip(5, 25, DSP_ASAP, 0, 2, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    confirmed_first = o.booking;
    assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
    assert_int_equal(status_of(&f, o.booking), DSP_CONFIRMED);
    audit(&f, now);

    /* Bookings the test itself confirmed and never cancelled stay confirmed. */
    char *mine = calloc((size_t)steps + 2, 1);
    assert_non_null(mine);
    mine[confirmed_first] = 1;
    for (int step = 0; step < steps; step++) {
        uint32_t op = rnd(&g) % 100;
        int64_t nb = dsp_n_bookings(f.d);
        if (op < 35) {
            q = rnd_trip(&g, now, 5400);
            offer(&f, now, &q, 1, &o);
            if (o.ok && rnd(&g) % 3 != 0) {
                assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
                mine[o.booking] = 1;
            }
        } else if (op < 45 && nb > 0) {
            int64_t b = (int64_t)(rnd(&g) % (uint32_t)nb);
            dsp_booking_info bi;
            get(&f, b, &bi);
            int rc = dsp_confirm(f.d, now, b);
            if (bi.is_break) {
                assert_int_equal(rc, DSP_ENOTFOUND);
            } else if (bi.status == DSP_OFFERED && now <= f.kn[b].expires_s) {
                assert_int_equal(rc, 0);
                mine[b] = 1;
            } else {
                assert_int_equal(rc, DSP_ESTATE);
                if (bi.status == DSP_OFFERED)
                    assert_int_equal(status_of(&f, b), DSP_EXPIRED);
            }
        } else if (op < 55 && nb > 0) {
            int64_t b = (int64_t)(rnd(&g) % (uint32_t)nb);
            dsp_booking_info bi;
            get(&f, b, &bi);
            int rc = dsp_cancel(f.d, now, b, "");
            if (bi.is_break)
                assert_int_equal(rc, DSP_ENOTFOUND);
            else if (is_active(bi.status))
                assert_int_equal(rc, 0);
            else
                assert_int_equal(rc, DSP_ESTATE);
            mine[b] = 0;
            assert_false(in_some_plan(&f, b));
        } else if (op < 75) {
            now += (int)(rnd(&g) % 40);
            assert_int_equal(dsp_tick(f.d, now), 0);
            for (int64_t b = 0; b < nb; b++)
                if (b < f.cap_kn && f.kn[b].offered && now > f.kn[b].expires_s && !mine[b] &&
                    status_of(&f, b) != DSP_CANCELLED)
                    assert_int_equal(status_of(&f, b), DSP_EXPIRED);
        } else if (op < 85) {
            slv_params p;
            int improved = -1;
            replan_params(&p, rnd(&g), 30, rnd(&g) % 5 == 0);
            int rc = dsp_replan_run(f.d, now, &p, &improved);
            if (rc != 0 && rc != DSP_ESTALE)
                fail_msg("re-plan: %s", dsp_strerror(rc));
            assert_true(improved == 0 || improved == 1);
            n_adopted += rc == 0;
        } else {
            q = rnd_trip(&g, now, 5400);
            offer(&f, now, &q, 0, &o);
        }
        audit(&f, now);
        for (int64_t b = 0; b < dsp_n_bookings(f.d); b++)
            if (mine[b] && status_of(&f, b) != DSP_CONFIRMED)
                fail_msg("seed %llu step %d: confirmed booking %lld is now %s",
                         (unsigned long long)seed, step, (long long)b,
                         dsp_status_name(status_of(&f, b)));
    }
    assert_true(n_adopted > 0);
    free(mine);
    fx_free(&f);
}

static void test_promises_hold(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++)
        random_day(seed, 200);
}

/* ---------------------------------------------------------------------- */
/* 3. rejections: reasons and alternatives                                 */

static void test_reason_no_vehicle(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    dsp_booking_info bi;

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 6, 0, 0, H(9, 0), H(17, 0));
    add_van(&f, "v1", 6, 0, 0, H(9, 0), H(17, 0));

    /* 07:30, service open, no shift started yet (and none by 08:00). */
    dsp_request q = trip(10, 30, DSP_ASAP, 0, 1, 0);
    offer(&f, H(7, 30), &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_NO_VEHICLE);
    get(&f, o.booking, &bi);
    assert_int_equal(bi.status, DSP_REJECTED);
    assert_int_equal(bi.reason, DSP_REASON_NO_VEHICLE);
    assert_int_equal(bi.vehicle, -1);
    /* Later times that fit: +90 and +120 min (09:00, 09:30); +60 would need
     * a pickup by 08:30 + max wait = 09:00 from a van leaving at 09:00. */
    assert_int_equal(o.n_alts, 2);
    for (int i = 0; i < o.n_alts; i++) {
        assert_true(o.alts[i].pickup_from_s >= H(9, 0));
        assert_true(o.alts[i].planned_pickup_s >= H(9, 0) + stop_travel(&f, 0, 10));
        assert_int_equal(o.alts[i].pickup_to_s - o.alts[i].pickup_from_s, r.window_s);
    }
    audit(&f, H(7, 30));

    /* Every van out of service: nothing at any time. */
    assert_int_equal(dsp_vehicle_out_of_service(f.d, H(10, 0), 0), 0);
    assert_int_equal(dsp_vehicle_out_of_service(f.d, H(10, 0), 1), 0);
    assert_int_equal(dsp_vehicle_out_of_service(f.d, H(10, 0), 1), DSP_ESTATE);
    offer(&f, H(10, 0), &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_NO_VEHICLE);
    assert_int_equal(o.n_alts, 0);
    audit(&f, H(10, 0));
    fx_free(&f);
}

static void test_reason_capacity(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    int now = H(8, 0);

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 5, 0, 0, H(7, 0), H(19, 0));

    /* A party of six fits no van, at no time. */
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(10, 0), 6, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_CAPACITY);
    assert_int_equal(o.n_alts, 0);
    /* Five fit the bigger van. */
    q.passengers = 5;
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.option.vehicle, 1);

    /* A wheelchair and no wheelchair configuration anywhere. */
    q = trip(10, 30, DSP_DEPART_AFTER, H(10, 0), 1, 1);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_CAPACITY);
    assert_int_equal(o.n_alts, 0);
    /* ... until a van with one joins. */
    add_van(&f, "wc", 4, 1, 0, H(7, 0), H(19, 0));
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.option.vehicle, 2);
    audit(&f, now);
    fx_free(&f);
}

static void test_reason_out_of_hours(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    int now = H(8, 0);

    dsp_rules_default(&r);
    r.max_lead_s = 3 * 3600;
    r.min_lead_s = 20 * 60;
    fx_init(&f, &r);
    add_van(&f, "v0", 6, 0, 0, H(6, 0), H(22, 0));

    /* Times only move forward: 05:00, then 08:00, then 17:00.
     * Before service hours: desired 06:00, the latest acceptable pickup
     * 06:30 < 07:00; desired 06:45 can still be served from 07:00. */
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(6, 0), 1, 0);
    offer(&f, H(5, 0), &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_OUT_OF_HOURS);
    q.time_s = H(6, 45);
    offer(&f, H(5, 0), &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_true(o.option.pickup_from_s >= r.service_start_s);
    /* (The caller ticks: an offer left open holds its place until then.) */
    assert_int_equal(dsp_tick(f.d, now), 0);
    assert_int_equal(status_of(&f, o.booking), DSP_EXPIRED);
    /* Booked further ahead than max_lead_s (3 h). */
    q = trip(10, 30, DSP_DEPART_AFTER, now + 3 * 3600 + 60, 1, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_OUT_OF_HOURS);
    q.time_s = now + 3 * 3600 - 60;
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    /* Arrive by a time that even a trip right after min_lead_s misses. */
    q = trip(10, 30, DSP_ARRIVE_BY, now + 20 * 60 + 60, 1, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_OUT_OF_HOURS);
    /* ASAP honours the minimum lead time. */
    q = trip(10, 30, DSP_ASAP, 0, 1, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_true(o.option.pickup_from_s >= now + r.min_lead_s);
    assert_true(o.option.planned_pickup_s >= now + r.min_lead_s);
    audit(&f, now);
    assert_int_equal(dsp_tick(f.d, now + r.offer_ttl_s + 1), 0);
    assert_int_equal(status_of(&f, o.booking), DSP_EXPIRED);
    audit(&f, now + r.offer_ttl_s + 1);
    /* After service hours (19:00). */
    q = trip(10, 30, DSP_DEPART_AFTER, H(19, 30), 1, 0);
    offer(&f, H(17, 0), &q, 1, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_OUT_OF_HOURS);
    audit(&f, H(17, 0));
    fx_free(&f);
}

/* One van of four seats, two parties of two riding together from A at 09:00:
 * a third rider at 09:00 cannot fit, but other times can. */
static void test_full_van_alternatives(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o, rej;
    int now = H(8, 0), A = 0, B = 0;

    dsp_rules_default(&r);
    r.max_wait_s = 10 * 60;
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    far_pair(&f, 300, &A, &B);

    for (int i = 0; i < 2; i++) {
        dsp_request q = trip(A, B, DSP_DEPART_AFTER, H(9, 0), 2, 0);
        offer(&f, now, &q, 1, &o);
        assert_int_equal(o.ok, 1);
        assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
    }
    audit(&f, now);
    dsp_request q = trip(A, B, DSP_DEPART_AFTER, H(9, 0), 1, 0);
    offer(&f, now, &q, 1, &rej);
    assert_int_equal(rej.ok, 0);
    assert_int_equal(rej.reason, DSP_REASON_CAPACITY);
    assert_int_equal(status_of(&f, rej.booking), DSP_REJECTED);
    assert_false(in_some_plan(&f, rej.booking));
    assert_in_range(rej.n_alts, 1, DSP_MAX_ALTS);
    audit(&f, now);
    /* Each alternative is real: asking for "depart after" its window's start
     * gets an offer in that window (released again before the next). */
    for (int i = 0; i < rej.n_alts; i++) {
        const dsp_option *alt = &rej.alts[i];
        assert_int_equal(alt->vehicle, 0);
        assert_int_equal(alt->pickup_to_s - alt->pickup_from_s, r.window_s);
        assert_in_range(alt->planned_pickup_s, alt->pickup_from_s, alt->pickup_to_s);
        dsp_request qa = trip(A, B, DSP_DEPART_AFTER, alt->pickup_from_s, 1, 0);
        offer(&f, now, &qa, 1, &o);
        if (!o.ok)
            fail_msg("alternative %d (pickup from %d) refused: %s", i, alt->pickup_from_s,
                     dsp_reason_name(o.reason));
        assert_true(o.option.planned_pickup_s >= alt->pickup_from_s);
        assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
        audit(&f, now);
        assert_int_equal(dsp_cancel(f.d, now, o.booking, ""), 0);
        audit(&f, now);
    }
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 4. quotes                                                               */

typedef struct snapshot {
    int64_t n_bk;
    int n_ev, n_plan_changed;
    uint32_t version[MAX_VANS];
    int n[MAX_VANS];
    dsp_plan_stop stops[MAX_VANS][64];
    dsp_booking_info bk[64];
} snapshot;

static void take(const fx *f, snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->n_bk = dsp_n_bookings(f->d);
    s->n_ev = f->n_ev;
    s->n_plan_changed = f->n_plan_changed;
    assert_true(s->n_bk <= 64);
    for (int v = 0; v < f->n_vans; v++) {
        dsp_vehicle_info vi;
        assert_int_equal(dsp_vehicle_get(f->d, v, &vi), 0);
        s->version[v] = vi.version;
        s->n[v] = dsp_plan_get(f->d, v, s->stops[v], 64);
        assert_true(s->n[v] <= 64);
    }
    for (int64_t i = 0; i < s->n_bk; i++)
        get(f, i, &s->bk[i]);
}

/* Same bookings and plans; with versions, also no event and no plan pushed. */
static void same(const fx *f, const snapshot *a, const snapshot *b, int versions)
{
    assert_int_equal(a->n_bk, b->n_bk);
    if (versions) {
        assert_int_equal(a->n_ev, b->n_ev);
        assert_int_equal(a->n_plan_changed, b->n_plan_changed);
    }
    for (int v = 0; v < f->n_vans; v++) {
        if (versions)
            assert_int_equal(a->version[v], b->version[v]);
        assert_int_equal(a->n[v], b->n[v]);
        for (int k = 0; k < a->n[v]; k++) {
            const dsp_plan_stop *x = &a->stops[v][k], *y = &b->stops[v][k];
            assert_int_equal(x->booking, y->booking);
            assert_int_equal(x->kind, y->kind);
            assert_int_equal(x->place.stop, y->place.stop);
            assert_int_equal(x->planned_s, y->planned_s);
            assert_int_equal(x->service_s, y->service_s);
            assert_int_equal(x->committed, y->committed);
        }
    }
    for (int64_t i = 0; i < a->n_bk; i++) {
        const dsp_booking_info *x = &a->bk[i], *y = &b->bk[i];
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->vehicle, y->vehicle);
        assert_int_equal(x->planned_pickup_s, y->planned_pickup_s);
        assert_int_equal(x->planned_dropoff_s, y->planned_dropoff_s);
        assert_int_equal(x->promise_from_s, y->promise_from_s);
        assert_int_equal(x->promise_to_s, y->promise_to_s);
        assert_int_equal(x->latest_dropoff_s, y->latest_dropoff_s);
    }
}

static void test_quotes(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o, quote;
    snapshot *s0 = malloc(sizeof(*s0)), *s1 = malloc(sizeof(*s1));
    int now = H(8, 0);

    assert_true(s0 && s1);
    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 6, 0, 0, H(7, 0), H(19, 0));
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(9, 0), 2, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
    q = trip(12, 33, DSP_DEPART_AFTER, H(9, 5), 1, 0);
    offer(&f, now, &q, 1, &o); /* left offered */
    assert_int_equal(o.ok, 1);

    take(&f, s0);
    q = trip(11, 31, DSP_DEPART_AFTER, H(9, 0), 2, 0);
    offer(&f, now, &q, 0, &quote);
    assert_int_equal(quote.ok, 1);
    assert_int_equal(quote.booking, -1);
    take(&f, s1);
    same(&f, s0, s1, 1);
    /* A rejected quote leaves nothing either. */
    dsp_request big = trip(11, 31, DSP_DEPART_AFTER, H(9, 0), 9, 0);
    offer(&f, now, &big, 0, &o);
    assert_int_equal(o.ok, 0);
    assert_int_equal(o.reason, DSP_REASON_CAPACITY);
    assert_int_equal(o.booking, -1);
    take(&f, s1);
    same(&f, s0, s1, 1);
    audit(&f, now);

    /* The quote is what booking it right away gives. */
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.option.vehicle, quote.option.vehicle);
    assert_int_equal(o.option.pickup_from_s, quote.option.pickup_from_s);
    assert_int_equal(o.option.pickup_to_s, quote.option.pickup_to_s);
    assert_int_equal(o.option.latest_dropoff_s, quote.option.latest_dropoff_s);
    assert_int_equal(o.option.planned_pickup_s, quote.option.planned_pickup_s);
    assert_int_equal(o.option.planned_dropoff_s, quote.option.planned_dropoff_s);
    audit(&f, now);
    free(s0);
    free(s1);
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 5. expiry                                                               */

static void test_expiry(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o1, o2, o3;
    int now = H(8, 0);

    dsp_rules_default(&r);
    r.offer_ttl_s = 120;
    fx_init(&f, &r);
    int v = add_van(&f, "v0", 6, 0, 0, H(7, 0), H(19, 0));
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(10, 0), 1, 0);
    offer(&f, now, &q, 1, &o1);
    q = trip(11, 31, DSP_DEPART_AFTER, H(10, 5), 1, 0);
    offer(&f, now, &q, 1, &o2);
    assert_true(o1.ok && o2.ok);
    assert_int_equal(o1.expires_s, now + 120);
    assert_int_equal(dsp_plan_get(f.d, v, NULL, 0), 4);

    /* Still open at its expiry time; o1 confirmed then. */
    assert_int_equal(dsp_tick(f.d, now + 120), 0);
    assert_int_equal(status_of(&f, o2.booking), DSP_OFFERED);
    assert_int_equal(dsp_confirm(f.d, now + 120, o1.booking), 0);
    /* One second later o2 is gone from the plan. */
    assert_int_equal(dsp_tick(f.d, now + 121), 0);
    assert_int_equal(status_of(&f, o1.booking), DSP_CONFIRMED);
    assert_int_equal(status_of(&f, o2.booking), DSP_EXPIRED);
    assert_false(in_some_plan(&f, o2.booking));
    assert_true(in_some_plan(&f, o1.booking));
    assert_int_equal(dsp_plan_get(f.d, v, NULL, 0), 2);
    assert_int_equal(dsp_confirm(f.d, now + 122, o2.booking), DSP_ESTATE);
    assert_int_equal(dsp_cancel(f.d, now + 122, o2.booking, ""), DSP_ESTATE);
    audit(&f, now + 122);

    /* Confirming late with no tick in between: refused, and expired by it. */
    q = trip(12, 32, DSP_DEPART_AFTER, H(11, 0), 1, 0);
    offer(&f, now + 200, &q, 1, &o3);
    assert_int_equal(o3.ok, 1);
    assert_int_equal(dsp_confirm(f.d, now + 200 + 121, o3.booking), DSP_ESTATE);
    assert_int_equal(status_of(&f, o3.booking), DSP_EXPIRED);
    assert_false(in_some_plan(&f, o3.booking));
    audit(&f, now + 321);
    fx_free(&f);
}

/* Several offers expiring in one tick: none of them is reported late on the
 * way out.  Offer 0 (10:00) and offer 1 (as soon as possible, pickup about
 * 08:02) on one van; at 08:30 both are past their time.  Rescheduling the
 * van after removing offer 0 alone would find offer 1 unreachable and
 * mark it delayed just before expiring it too. */
static void test_expiry_batch(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o1, o2;
    dsp_booking_info bi;
    int now = H(8, 0);

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 6, 0, 0, H(7, 0), H(19, 0));
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(10, 0), 1, 0);
    offer(&f, now, &q, 1, &o1);
    q = trip(11, 31, DSP_ASAP, 0, 1, 0);
    offer(&f, now, &q, 1, &o2);
    assert_true(o1.ok && o2.ok);
    assert_true(o1.booking < o2.booking);
    assert_true(o2.option.pickup_to_s < H(8, 30));
    int ev0 = f.n_ev;
    assert_int_equal(dsp_tick(f.d, H(8, 30)), 0);
    get(&f, o1.booking, &bi);
    assert_int_equal(bi.status, DSP_EXPIRED);
    get(&f, o2.booking, &bi);
    assert_int_equal(bi.status, DSP_EXPIRED);
    assert_int_equal(bi.delayed, 0);
    for (int i = ev0; i < f.n_ev; i++)
        if (strcmp(f.ev[i].kind, "status") != 0)
            fail_msg("tick emitted a \"%s\" event (%s) for booking %lld", f.ev[i].kind,
                     f.ev[i].detail, (long long)f.ev[i].booking);
    assert_int_equal(f.n_ev - ev0, 2);
    assert_int_equal(dsp_plan_get(f.d, 0, NULL, 0), 0);
    audit(&f, H(8, 30));
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 6. cancel                                                               */

static void test_cancel(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o1, o2, o3;
    dsp_booking_info bi;
    int now = H(8, 0);

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 6, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 6, 0, 0, H(7, 0), H(19, 0));
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(10, 0), 1, 0);
    offer(&f, now, &q, 1, &o1);
    q = trip(11, 31, DSP_DEPART_AFTER, H(10, 0), 1, 0);
    offer(&f, now, &q, 1, &o2);
    q = trip(12, 32, DSP_DEPART_AFTER, H(10, 0), 1, 0);
    offer(&f, now, &q, 1, &o3);
    assert_true(o1.ok && o2.ok && o3.ok);
    assert_int_equal(dsp_confirm(f.d, now, o1.booking), 0);
    assert_int_equal(dsp_confirm(f.d, now, o2.booking), 0);

    int stops_before = 0;
    for (int v = 0; v < f.n_vans; v++)
        stops_before += dsp_plan_get(f.d, v, NULL, 0);
    assert_int_equal(stops_before, 6);
    assert_int_equal(dsp_cancel(f.d, now + 10, o1.booking, "changed plans"), 0);
    get(&f, o1.booking, &bi);
    assert_int_equal(bi.status, DSP_CANCELLED);
    assert_false(in_some_plan(&f, o1.booking));
    assert_true(in_some_plan(&f, o2.booking));
    int stops_after = 0;
    for (int v = 0; v < f.n_vans; v++)
        stops_after += dsp_plan_get(f.d, v, NULL, 0);
    assert_int_equal(stops_after, 4);
    audit(&f, now + 10);
    assert_int_equal(dsp_cancel(f.d, now + 20, o1.booking, ""), DSP_ESTATE);
    assert_int_equal(status_of(&f, o1.booking), DSP_CANCELLED);
    /* An offer not yet confirmed can be cancelled too. */
    assert_int_equal(dsp_cancel(f.d, now + 20, o3.booking, ""), 0);
    assert_false(in_some_plan(&f, o3.booking));
    assert_int_equal(dsp_cancel(f.d, now + 20, dsp_n_bookings(f.d), ""), DSP_ENOTFOUND);
    assert_int_equal(dsp_cancel(f.d, now + 20, 1000000, ""), DSP_ENOTFOUND);
    assert_int_equal(dsp_cancel(f.d, now + 20, -1, ""), DSP_ENOTFOUND);
    assert_int_equal(dsp_confirm(f.d, now + 20, -1), DSP_ENOTFOUND);
    assert_int_equal(dsp_booking_get(f.d, dsp_n_bookings(f.d), &bi), DSP_ENOTFOUND);
    /* A rejected booking cannot be cancelled. */
    q = trip(11, 31, DSP_DEPART_AFTER, H(10, 0), 9, 0);
    offer(&f, now + 20, &q, 1, &o3);
    assert_int_equal(o3.ok, 0);
    assert_int_equal(dsp_cancel(f.d, now + 20, o3.booking, ""), DSP_ESTATE);
    audit(&f, now + 20);
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 7. events                                                               */

static void test_events(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o, rej;
    int now = H(8, 0);

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 4, 0, 0, H(7, 0), H(19, 0));
    int ev0 = f.n_ev;
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(9, 0), 1, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(dsp_confirm(f.d, now + 30, o.booking), 0);
    assert_int_equal(dsp_cancel(f.d, now + 60, o.booking, "by phone"), 0);
    q = trip(10, 30, DSP_DEPART_AFTER, H(9, 0), 5, 0);
    offer(&f, now + 90, &q, 1, &rej);
    assert_int_equal(rej.ok, 0);

    /* The transitions of the first booking, in order. */
    static const dsp_status want[][2] = {
        {DSP_REQUESTED, DSP_OFFERED}, {DSP_OFFERED, DSP_CONFIRMED}, {DSP_CONFIRMED, DSP_CANCELLED}};
    static const int want_t[] = {0, 30, 60};
    int n = 0;
    dsp_status last = DSP_REQUESTED;
    for (int i = ev0; i < f.n_ev; i++) {
        const rec_event *e = &f.ev[i];
        if (e->booking != o.booking || strcmp(e->kind, "status") != 0)
            continue;
        /* Every status event starts where the previous one ended. */
        assert_int_equal(e->from, last);
        last = e->to;
        if (e->from == e->to)
            continue;
        assert_true(n < 3);
        assert_int_equal(e->from, want[n][0]);
        assert_int_equal(e->to, want[n][1]);
        assert_int_equal(e->time_s, now + want_t[n]);
        assert_int_equal(e->vehicle, o.option.vehicle);
        if (n == 2)
            assert_string_equal(e->detail, "by phone");
        n++;
    }
    assert_int_equal(n, 3);
    assert_int_equal(last, DSP_CANCELLED);
    /* The rejection: requested -> rejected with its reason. */
    n = 0;
    for (int i = ev0; i < f.n_ev; i++) {
        const rec_event *e = &f.ev[i];
        if (e->booking != rej.booking || e->from == e->to)
            continue;
        assert_string_equal(e->kind, "status");
        assert_int_equal(e->from, DSP_REQUESTED);
        assert_int_equal(e->to, DSP_REJECTED);
        assert_int_equal(e->time_s, now + 90);
        assert_string_equal(e->detail, dsp_reason_name(rej.reason));
        n++;
    }
    assert_int_equal(n, 1);
    /* A quote emits nothing. */
    int before = f.n_ev;
    q.passengers = 1;
    offer(&f, now + 100, &q, 0, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(f.n_ev, before);
    audit(&f, now + 100);

    /* Confirmed after the van already left for the pickup: confirmed, then
     * assigned at once; cancelled on the way: the van's plan is empty. */
    q = trip(10, 30, DSP_ASAP, 0, 1, 0);
    offer(&f, now + 110, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    int v = o.option.vehicle;
    assert_int_equal(dsp_vehicle_depart(f.d, now + 110, v), 0);
    assert_int_equal(status_of(&f, o.booking), DSP_OFFERED);
    before = f.n_ev;
    assert_int_equal(dsp_confirm(f.d, now + 120, o.booking), 0);
    assert_int_equal(dsp_cancel(f.d, now + 130, o.booking, ""), 0);
    static const dsp_status want2[][2] = {
        {DSP_OFFERED, DSP_CONFIRMED}, {DSP_CONFIRMED, DSP_ASSIGNED}, {DSP_ASSIGNED, DSP_CANCELLED}};
    n = 0;
    for (int i = before; i < f.n_ev; i++) {
        const rec_event *e = &f.ev[i];
        if (e->booking != o.booking || e->from == e->to)
            continue;
        assert_true(n < 3);
        assert_int_equal(e->from, want2[n][0]);
        assert_int_equal(e->to, want2[n][1]);
        assert_int_equal(e->time_s, now + (n < 2 ? 120 : 130));
        n++;
    }
    assert_int_equal(n, 3);
    assert_int_equal(dsp_plan_get(f.d, v, NULL, 0), 0);
    audit(&f, now + 130);
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 8. re-plan adopted after the state moved on                             */

static void replan_moved_on(uint64_t seed, int *adopted, int *stale)
{
    fx f;
    dsp_rules r;
    dsp_offer o;
    rng g = {.s = seed * 0xD1B54A32D192ED03ull + 7};
    int now = H(8, 0);
    int64_t conf[32];
    int n_conf = 0;

    dsp_rules_default(&r);
    r.min_lead_s = 3600;
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 1, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 6, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v2", 6, 0, 0, H(7, 0), H(19, 0));
    while (n_conf < 12) {
        dsp_request q = rnd_trip(&g, now, 3 * 3600);
        offer(&f, now, &q, 1, &o);
        if (o.ok) {
            assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
            conf[n_conf++] = o.booking;
        }
    }
    audit(&f, now);

    dsp_replan *rp = NULL;
    slv_params p;
    assert_int_equal(dsp_replan_prepare(f.d, now, &rp), 0);
    assert_non_null(rp);
    /* Meanwhile: a new booking confirmed, an old one cancelled, an offer
     * left open, time passing. */
    int64_t fresh = -1, open_offer = -1;
    for (int tries = 0; tries < 50 && (fresh < 0 || open_offer < 0); tries++) {
        dsp_request q = rnd_trip(&g, now + 5, 3 * 3600);
        offer(&f, now + 5, &q, 1, &o);
        if (!o.ok)
            continue;
        if (fresh < 0) {
            fresh = o.booking;
            assert_int_equal(dsp_confirm(f.d, now + 5, fresh), 0);
        } else {
            open_offer = o.booking;
        }
    }
    assert_true(fresh >= 0 && open_offer >= 0);
    int64_t gone = conf[rnd(&g) % (uint32_t)n_conf];
    assert_int_equal(dsp_cancel(f.d, now + 8, gone, ""), 0);
    assert_int_equal(dsp_tick(f.d, now + 10), 0);
    audit(&f, now + 10);

    replan_params(&p, seed, 200, 0);
    assert_int_equal(dsp_replan_solve(rp, &p), 0);
    int improved = -1;
    int rc = dsp_replan_adopt(f.d, now + 10, rp, &improved);
    dsp_replan_destroy(rp);
    if (rc == 0)
        (*adopted)++;
    else if (rc == DSP_ESTALE)
        (*stale)++;
    else
        fail_msg("adopt: %s", dsp_strerror(rc));
    audit(&f, now + 10);
    assert_int_equal(status_of(&f, fresh), DSP_CONFIRMED);
    assert_true(in_some_plan(&f, fresh));
    assert_int_equal(status_of(&f, open_offer), DSP_OFFERED);
    assert_true(in_some_plan(&f, open_offer));
    assert_int_equal(status_of(&f, gone), DSP_CANCELLED);
    assert_false(in_some_plan(&f, gone));
    for (int i = 0; i < n_conf; i++)
        if (conf[i] != gone)
            assert_int_equal(status_of(&f, conf[i]), DSP_CONFIRMED);

    /* With nothing moved on, the result (at least as good as the plans it
     * started from) is taken. */
    assert_int_equal(dsp_replan_prepare(f.d, now + 10, &rp), 0);
    replan_params(&p, seed + 100, 100, 0);
    assert_int_equal(dsp_replan_solve(rp, &p), 0);
    rc = dsp_replan_adopt(f.d, now + 10, rp, &improved);
    dsp_replan_destroy(rp);
    if (rc != 0)
        fail_msg("seed %llu: untouched re-plan not adopted: %s", (unsigned long long)seed,
                 dsp_strerror(rc));
    audit(&f, now + 10);
    fx_free(&f);
}

static void test_replan_moved_on(void **state)
{
    (void)state;
    int adopted = 0, stale = 0;

    for (uint64_t seed = 1; seed <= 10; seed++)
        replan_moved_on(seed, &adopted, &stale);
    assert_int_equal(adopted + stale, 10);
    print_message("re-plans after changes: %d adopted, %d stale\n", adopted, stale);
}

/* A re-plan whose van went out of service meanwhile: the result still
 * routes that van (only it can carry the party of six), so it is refused
 * and every plan stays exactly as it was. */
static void test_replan_van_lost_meanwhile(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    rng g = {.s = 99};
    int now = H(8, 0);
    snapshot *s0 = malloc(sizeof(*s0)), *s1 = malloc(sizeof(*s1));

    assert_true(s0 && s1);
    dsp_rules_default(&r);
    r.min_lead_s = 3600;
    fx_init(&f, &r);
    add_van(&f, "v0", 8, 1, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 4, 1, 0, H(7, 0), H(19, 0));
    add_van(&f, "v2", 4, 1, 0, H(7, 0), H(19, 0));
    dsp_request six = trip(7, 27, DSP_DEPART_AFTER, H(10, 0), 6, 0);
    offer(&f, now, &six, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.option.vehicle, 0);
    int64_t party = o.booking;
    assert_int_equal(dsp_confirm(f.d, now, party), 0);
    for (int i = 0; i < 10; i++) {
        dsp_request q = rnd_trip(&g, now, 3 * 3600);
        offer(&f, now, &q, 1, &o);
        if (o.ok)
            assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
    }
    dsp_replan *rp = NULL;
    slv_params p;
    assert_int_equal(dsp_replan_prepare(f.d, now, &rp), 0);
    assert_int_equal(dsp_vehicle_out_of_service(f.d, now + 5, 0), 0);
    assert_int_equal(status_of(&f, party), DSP_CANCELLED);
    audit(&f, now + 5);
    take(&f, s0);
    replan_params(&p, 3, 100, 0);
    assert_int_equal(dsp_replan_solve(rp, &p), 0);
    int rc = dsp_replan_adopt(f.d, now + 5, rp, NULL);
    dsp_replan_destroy(rp);
    assert_int_equal(rc, DSP_ESTALE);
    take(&f, s1);
    same(&f, s0, s1, 0);
    audit(&f, now + 5);
    assert_int_equal(dsp_plan_get(f.d, 0, NULL, 0), 0);
    free(s0);
    free(s1);
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 9. a van out of service                                                 */

static int count_events(const fx *f, int from, int64_t booking, const char *kind,
                        const rec_event **last)
{
    int n = 0;
    for (int i = from; i < f->n_ev; i++) {
        if (f->ev[i].booking == booking && strcmp(f->ev[i].kind, kind) == 0) {
            n++;
            if (last)
                *last = &f->ev[i];
        }
    }
    return n;
}

static void test_out_of_service(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    int64_t big, small[3];
    int now = H(8, 0);

    dsp_rules_default(&r);
    fx_init(&f, &r);
    /* Everything booked while the big van is the only one. */
    add_van(&f, "big", 8, 0, 0, H(7, 0), H(19, 0));
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(10, 0), 6, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    big = o.booking;
    assert_int_equal(dsp_confirm(f.d, now, big), 0);
    for (int i = 0; i < 3; i++) {
        q = trip(11 + i, 31 + i, DSP_DEPART_AFTER, H(11, 0) + i * 1800, 2, 0);
        offer(&f, now, &q, 1, &o);
        assert_int_equal(o.ok, 1);
        assert_int_equal(o.option.vehicle, 0);
        small[i] = o.booking;
        if (i < 2)
            assert_int_equal(dsp_confirm(f.d, now, small[i]), 0); /* the third stays offered */
    }
    add_van(&f, "s1", 4, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "s2", 4, 0, 0, H(7, 0), H(19, 0));
    audit(&f, now);

    int ev0 = f.n_ev;
    assert_int_equal(dsp_vehicle_out_of_service(f.d, now + 60, 0), 0);
    audit(&f, now + 60);
    dsp_vehicle_info vi;
    assert_int_equal(dsp_vehicle_get(f.d, 0, &vi), 0);
    assert_int_equal(vi.in_service, 0);
    assert_int_equal(vi.n_stops, 0);
    /* Six riders fit no other van: cancelled, vehicle_lost. */
    dsp_booking_info bi;
    const rec_event *e = NULL;
    get(&f, big, &bi);
    assert_int_equal(bi.status, DSP_CANCELLED);
    assert_int_equal(bi.reason, DSP_REASON_VEHICLE_LOST);
    assert_false(in_some_plan(&f, big));
    assert_int_equal(count_events(&f, ev0, big, "status", &e), 1);
    assert_int_equal(e->from, DSP_CONFIRMED);
    assert_int_equal(e->to, DSP_CANCELLED);
    assert_string_equal(e->detail, "vehicle_lost");
    /* The others moved, promises unchanged (audit), status unchanged. */
    for (int i = 0; i < 3; i++) {
        get(&f, small[i], &bi);
        assert_int_equal(bi.status, i < 2 ? DSP_CONFIRMED : DSP_OFFERED);
        assert_true(bi.vehicle == 1 || bi.vehicle == 2);
        assert_int_equal(bi.delayed, 0);
        assert_int_equal(count_events(&f, ev0, small[i], "transfer", &e), 1);
        assert_int_equal(e->vehicle, bi.vehicle);
        assert_int_equal(count_events(&f, ev0, small[i], "status", NULL), 0);
    }
    assert_int_equal(count_events(&f, ev0, -1, "vehicle_out", &e), 1);
    assert_int_equal(e->vehicle, 0);
    assert_int_equal(dsp_vehicle_out_of_service(f.d, now + 70, 0), DSP_ESTATE);
    assert_int_equal(dsp_vehicle_out_of_service(f.d, now + 70, 3), DSP_ENOTFOUND);
    /* Nothing goes to the broken van any more. */
    for (int i = 0; i < 6; i++) {
        q = trip(20 + i, 40 + i, DSP_DEPART_AFTER, H(12, 0) + 600 * i, 1 + i % 4, 0);
        offer(&f, now + 80, &q, 1, &o);
        if (o.ok)
            assert_int_not_equal(o.option.vehicle, 0);
    }
    audit(&f, now + 80);
    fx_free(&f);
}

/* A rider on board when the van breaks down gets off where it stopped and is
 * picked up from there by another van. */
static void test_out_of_service_onboard(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    int now = H(8, 0), A = 10, B = 30;

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    dsp_request q = trip(A, B, DSP_ASAP, 0, 2, 0);
    offer(&f, now, &q, 1, &o);
    assert_int_equal(o.ok, 1);
    assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
    int t = now + stop_travel(&f, 0, A);
    assert_int_equal(dsp_vehicle_depart(f.d, now, 0), 0);
    assert_int_equal(status_of(&f, o.booking), DSP_ASSIGNED);
    assert_int_equal(dsp_vehicle_arrive(f.d, t, 0), 0);
    assert_int_equal(dsp_rider_boarded(f.d, t, 0, o.booking), 0);
    assert_int_equal(status_of(&f, o.booking), DSP_PICKED_UP);
    /* Boarding twice, or cancelling a rider on board, is refused. */
    assert_int_equal(dsp_rider_boarded(f.d, t, 0, o.booking), DSP_ESTATE);
    assert_int_equal(dsp_cancel(f.d, t, o.booking, ""), DSP_ESTATE);
    audit(&f, t);
    add_van(&f, "v1", 4, 0, 0, H(7, 0), H(19, 0));
    int ev0 = f.n_ev;
    assert_int_equal(dsp_vehicle_out_of_service(f.d, t + 30, 0), 0);
    f.allow_delayed = 1;
    audit(&f, t + 30);
    dsp_booking_info bi;
    get(&f, o.booking, &bi);
    assert_int_equal(bi.status, DSP_ASSIGNED);
    assert_int_equal(bi.vehicle, 1);
    assert_int_equal(bi.delayed, 1);
    assert_int_equal(bi.pickup.stop, A); /* the van stood at A */
    assert_true(bi.planned_pickup_s >= t + 30 + stop_travel(&f, 0, A));
    assert_true(count_events(&f, ev0, o.booking, "transfer", NULL) >= 1);
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */
/* 10. breaks                                                              */

static void test_breaks(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_offer o;
    dsp_vehicle_def def;
    rng g = {.s = 4242};
    int now = H(8, 0), n_ok = 0, n_no = 0;

    dsp_rules_default(&r);
    /* Rides so loose that only the rule "a break is taken with the van
     * empty" keeps riders from sitting through a short break. */
    r.ride_beta_s = 40 * 60;
    fx_init(&f, &r);
    memset(&def, 0, sizeof(def));
    def.id = "brk";
    def.n_configs = 1;
    def.seats[0] = 6;
    def.depot = at(0);
    def.shift_start_s = H(7, 0);
    def.shift_end_s = H(19, 0);
    def.n_breaks = 1;
    def.breaks[0].earliest_s = H(11, 0);
    def.breaks[0].latest_s = H(12, 0);
    def.breaks[0].duration_s = 10 * 60;
    assert_int_equal(dsp_vehicle_add(f.d, &def), 0);
    f.defs[f.n_vans++] = def;
    dsp_plan_stop ps[4];
    assert_int_equal(dsp_plan_get(f.d, 0, ps, 4), 1);
    assert_int_equal(ps[0].kind, DSP_STOP_BREAK);
    assert_in_range(ps[0].planned_s, H(11, 0), H(12, 0));
    assert_int_equal(ps[0].service_s, 10 * 60);
    int64_t brk = ps[0].booking;
    dsp_booking_info bi;
    get(&f, brk, &bi);
    assert_int_equal(bi.is_break, 1);
    /* Not the riders' to confirm or cancel. */
    assert_int_equal(dsp_cancel(f.d, now, brk, ""), DSP_ENOTFOUND);
    assert_int_equal(dsp_confirm(f.d, now, brk), DSP_ENOTFOUND);
    audit(&f, now);

    /* A busy late morning around the break; audit() checks after every call
     * that the break stays in [11:00, 12:00], 30 min long, van empty. */
    for (int i = 0; i < 40; i++) {
        int a = rnd_stop(&g), b;
        do {
            b = rnd_stop(&g);
        } while (b == a);
        dsp_request q = trip(a, b, DSP_DEPART_AFTER, H(10, 0) + (int)(rnd(&g) % (3 * 3600)),
                             1 + rnd(&g) % 3, 0);
        offer(&f, now, &q, 1, &o);
        if (o.ok) {
            n_ok++;
            assert_int_equal(dsp_confirm(f.d, now, o.booking), 0);
        } else {
            n_no++;
        }
        audit(&f, now);
        if (i % 10 == 9) {
            slv_params p;
            replan_params(&p, (uint64_t)i, 50, 0);
            int rc = dsp_replan_run(f.d, now, &p, NULL);
            assert_true(rc == 0 || rc == DSP_ESTALE);
            audit(&f, now);
        }
    }
    assert_true(n_ok >= 5);
    assert_true(n_no >= 1); /* the van did fill up: the break held against pressure */
    print_message("break van: %d offers made, %d refused\n", n_ok, n_no);

    /* A break pinned to 11:00-11:30 and a rider who wants to leave within
     * it (11:00-11:20, stops away from the depot): refused for the window,
     * and every alternative keeps clear of the break. */
    dsp_rules r2;
    fx f2;
    dsp_rules_default(&r2);
    r2.max_wait_s = 20 * 60;
    fx_init(&f2, &r2);
    def.breaks[0].earliest_s = H(11, 0);
    def.breaks[0].latest_s = H(11, 0);
    def.breaks[0].duration_s = 30 * 60;
    assert_int_equal(dsp_vehicle_add(f2.d, &def), 0);
    f2.defs[f2.n_vans++] = def;
    dsp_request q = trip(10, 30, DSP_DEPART_AFTER, H(11, 0), 1, 0);
    offer(&f2, now, &q, 1, &o);
    if (o.ok)
        fail_msg("pickup at %d during the break 11:00-11:30", o.option.planned_pickup_s);
    assert_int_equal(o.reason, DSP_REASON_WINDOW);
    for (int i = 0; i < o.n_alts; i++) {
        const dsp_option *alt = &o.alts[i];
        int after = alt->planned_pickup_s >= H(11, 30) + stop_travel(&f2, 0, 10);
        int before =
            alt->planned_dropoff_s + r2.drop_service_s + stop_travel(&f2, 30, 0) <= H(11, 0);
        if (!after && !before)
            fail_msg("alternative %d (%d-%d) overlaps the break", i, alt->planned_pickup_s,
                     alt->planned_dropoff_s);
    }
    audit(&f2, now);
    fx_free(&f2);
    fx_free(&f);
}

/* Vehicle definitions that make no sense are refused and add nothing. */
static void test_bad_vehicles(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_vehicle_def good, bad;

    dsp_rules_default(&r);
    fx_init(&f, &r);
    memset(&good, 0, sizeof(good));
    good.id = "ok";
    good.n_configs = 1;
    good.seats[0] = 4;
    good.depot = at(0);
    good.shift_start_s = H(7, 0);
    good.shift_end_s = H(19, 0);
    for (int c = 0; c < 9; c++) {
        bad = good;
        switch (c) {
        case 0:
            bad.id = NULL;
            break;
        case 1:
            bad.n_configs = 0;
            break;
        case 2:
            bad.n_configs = SLV_MAX_CONFIGS + 1;
            break;
        case 3:
            bad.seats[0] = 0;
            break;
        case 4:
            bad.shift_end_s = bad.shift_start_s;
            break;
        case 5:
            bad.n_breaks = 1;
            bad.breaks[0].earliest_s = H(12, 0);
            bad.breaks[0].latest_s = H(11, 0);
            bad.breaks[0].duration_s = 600;
            break;
        case 6:
            bad.depot.stop = g_area->n_stops; /* no such stop */
            break;
        case 7:
            bad.depot.stop = -1; /* a free point in a road area */
            break;
        default:
            bad.depot.stop = -7;
            break;
        }
        if (dsp_vehicle_add(f.d, &bad) != DSP_EINVAL)
            fail_msg("bad vehicle definition %d accepted", c);
        if (dsp_n_vehicles(f.d) != 0 || dsp_n_bookings(f.d) != 0)
            fail_msg("bad vehicle definition %d left %d vehicles, %lld bookings", c,
                     dsp_n_vehicles(f.d), (long long)dsp_n_bookings(f.d));
    }
    assert_int_equal(dsp_vehicle_add(f.d, &good), 0);
    f.defs[f.n_vans++] = good;
    audit(&f, H(8, 0));
    fx_free(&f);
}

/* A van whose break cannot fit its shift is refused and leaves no trace. */
static void test_break_not_fitting(void **state)
{
    (void)state;
    fx f;
    dsp_rules r;
    dsp_vehicle_def def;
    char msg[256];

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    int64_t nb = dsp_n_bookings(f.d);
    memset(&def, 0, sizeof(def));
    def.id = "late-break";
    def.n_configs = 1;
    def.seats[0] = 4;
    def.depot = at(0);
    def.shift_start_s = H(7, 0);
    def.shift_end_s = H(12, 0);
    def.n_breaks = 1;
    def.breaks[0].earliest_s = H(11, 50);
    def.breaks[0].latest_s = H(11, 55);
    def.breaks[0].duration_s = 30 * 60;
    assert_int_equal(dsp_vehicle_add(f.d, &def), DSP_EINVAL);
    assert_int_equal(dsp_n_vehicles(f.d), 1);
    assert_int_equal(dsp_n_bookings(f.d), nb);
    if (dsp_check(f.d, H(8, 0), msg, sizeof(msg)) != 0)
        fail_msg("after a refused van: %s", msg);
    audit(&f, H(8, 0));
    fx_free(&f);
}

/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* 11. restore after a restart                                             */

/* A day with one rider on board and two confirmed bookings is rebuilt in a
 * fresh day from what a store would hold: the same promises hold, the rider
 * on board has only the drop-off planned, on the same van. */
static void test_restore(void **state)
{
    (void)state;
    fx f, g;
    dsp_rules r;
    dsp_offer o[3];
    int now = H(8, 0), A = 10, B = 30;
    dsp_request q[3] = {trip(A, B, DSP_ASAP, 0, 1, 0), trip(5, 40, DSP_DEPART_AFTER, H(9, 0), 2, 0),
                        trip(12, 33, DSP_DEPART_AFTER, H(10, 0), 1, 0)};
    dsp_booking_info bi[3];

    dsp_rules_default(&r);
    fx_init(&f, &r);
    add_van(&f, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    add_van(&f, "v1", 4, 0, 0, H(7, 0), H(19, 0));
    for (int i = 0; i < 3; i++) {
        offer(&f, now, &q[i], 1, &o[i]);
        assert_int_equal(o[i].ok, 1);
        assert_int_equal(dsp_confirm(f.d, now, o[i].booking), 0);
    }
    get(&f, o[0].booking, &bi[0]);
    int v0 = bi[0].vehicle;
    /* drive to the first booking's pickup and board it */
    dsp_plan_stop first;
    assert_true(dsp_plan_get(f.d, v0, &first, 1) >= 1);
    int t = now;
    while (first.booking != o[0].booking) { /* serve whatever comes first on that van */
        assert_int_equal(dsp_vehicle_depart(f.d, t, v0), 0);
        t = first.planned_s;
        assert_int_equal(dsp_vehicle_arrive(f.d, t, v0), 0);
        if (first.kind == DSP_STOP_PICKUP)
            assert_int_equal(dsp_rider_boarded(f.d, t, v0, first.booking), 0);
        else
            assert_int_equal(dsp_rider_alighted(f.d, t, v0, first.booking), 0);
        assert_true(dsp_plan_get(f.d, v0, &first, 1) >= 1);
    }
    assert_int_equal(dsp_vehicle_depart(f.d, t, v0), 0);
    t = first.planned_s;
    assert_int_equal(dsp_vehicle_arrive(f.d, t, v0), 0);
    assert_int_equal(dsp_rider_boarded(f.d, t, v0, o[0].booking), 0);
    for (int i = 0; i < 3; i++)
        get(&f, o[i].booking, &bi[i]);
    assert_int_equal(bi[0].status, DSP_PICKED_UP);

    /* The restart: a fresh day, the same vans, the stored bookings. */
    fx_init(&g, &r);
    add_van(&g, "v0", 4, 0, 0, H(7, 0), H(19, 0));
    add_van(&g, "v1", 4, 0, 0, H(7, 0), H(19, 0));
    int64_t id[3];
    for (int i = 0; i < 3; i++) {
        if (bi[i].status != DSP_PICKED_UP && bi[i].status != DSP_CONFIRMED &&
            bi[i].status != DSP_ASSIGNED)
            continue; /* served meanwhile: nothing to restore */
        dsp_restore rs = {.req = &q[i],
                          .status = bi[i].status,
                          .requested_s = bi[i].requested_s,
                          .expires_s = -1,
                          .promise_from_s = bi[i].promise_from_s,
                          .promise_to_s = bi[i].promise_to_s,
                          .latest_dropoff_s = bi[i].latest_dropoff_s,
                          .vehicle = bi[i].vehicle,
                          .pickup_s = bi[i].pickup_s};
        assert_int_equal(dsp_booking_restore(g.d, t, &rs, &id[i]), 0);
        dsp_booking_info nb;
        get(&g, id[i], &nb);
        assert_int_equal(nb.status, bi[i].status == DSP_PICKED_UP ? DSP_PICKED_UP : DSP_CONFIRMED);
        assert_int_equal(nb.promise_from_s, bi[i].promise_from_s);
        assert_int_equal(nb.promise_to_s, bi[i].promise_to_s);
        assert_int_equal(nb.latest_dropoff_s, bi[i].latest_dropoff_s);
        if (bi[i].status == DSP_PICKED_UP) {
            assert_int_equal(nb.vehicle, v0);
            assert_int_equal(nb.pickup_s, bi[i].pickup_s);
        }
    }
    /* the rider on board: one drop-off stop on v0 and no pickup anywhere */
    dsp_plan_stop st[16];
    int n = dsp_plan_get(g.d, v0, st, 16), drops = 0, picks = 0;
    for (int k = 0; k < n; k++)
        if (st[k].booking == id[0]) {
            drops += st[k].kind == DSP_STOP_DROP;
            picks += st[k].kind == DSP_STOP_PICKUP;
        }
    assert_int_equal(drops, 1);
    assert_int_equal(picks, 0);
    dsp_vehicle_info vi;
    assert_int_equal(dsp_vehicle_get(g.d, v0, &vi), 0);
    assert_int_equal(vi.n_onboard, 1);
    char msg[256];
    assert_int_equal(dsp_check(g.d, t, msg, sizeof(msg)), 0);
    /* statuses the restore does not take */
    dsp_restore bad = {.req = &q[1], .status = DSP_CANCELLED, .vehicle = -1};
    int64_t x;
    assert_int_equal(dsp_booking_restore(g.d, t, &bad, &x), DSP_EINVAL);
    bad.status = DSP_PICKED_UP; /* on board needs a van and a boarding time */
    bad.pickup_s = -1;
    assert_int_equal(dsp_booking_restore(g.d, t, &bad, &x), DSP_EINVAL);
    fx_free(&g);
    fx_free(&f);
}

static int setup_area(void **state)
{
    char err[256] = "";
    (void)state;
    if (area_synth(11, AREA_SYNTH_SMALL, &g_area, err, sizeof(err)) != 0) {
        fprintf(stderr, "area_synth: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown_area(void **state)
{
    (void)state;
    area_destroy(g_area);
    g_area = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_basics),
        cmocka_unit_test(test_promises_hold),
        cmocka_unit_test(test_reason_no_vehicle),
        cmocka_unit_test(test_reason_capacity),
        cmocka_unit_test(test_reason_out_of_hours),
        cmocka_unit_test(test_full_van_alternatives),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_expiry_batch),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_replan_moved_on),
        cmocka_unit_test(test_replan_van_lost_meanwhile),
        cmocka_unit_test(test_out_of_service),
        cmocka_unit_test(test_out_of_service_onboard),
        cmocka_unit_test(test_breaks),
        cmocka_unit_test(test_break_not_fitting),
        cmocka_unit_test(test_bad_vehicles),
        cmocka_unit_test(test_restore),
    };
    return cmocka_run_group_tests(tests, setup_area, teardown_area);
}
