/*
 * test_svc_tablet.c - the tablet-event rules (dispatcher/svc_tablet.h) on
 * real days of the day core, on one synthetic small town.
 *
 * The scripted cases walk a van through its day and check, for each kind
 * of event, that it is accepted in the state it belongs to (with the moves
 * it stands for, including the forgotten departed/arrived before boarded
 * and the stop withdrawn while the van drove there) and refused, with the
 * driver's text, in the others.
 *
 * The property case throws many events at random days - random kinds,
 * real and made-up booking ids, breaks, real and foreign stop ids, some
 * sensible (the event the van's first stop asks for), most not - while
 * time passes and riders cancel.  After every refused event the whole day
 * must be as it was (every vehicle's dsp_vehicle_get and dsp_plan_get,
 * every booking's dsp_booking_get, and not one event or plan change told
 * to the sink); after every accepted one dsp_check must pass.  An apply
 * failure (check and day core disagreeing) fails the test outright.
 *
 * Public booking ids here are "bk<index>"; "old<n>" names a booking of
 * another day.
 */
#include <setjmp.h> /* cmocka needs these four first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher/dsp.h"
#include "dispatcher/svc_tablet.h"
#include "solver/rng.h"

#define H(h, m) ((h)*3600 + (m)*60)

static area *g_area;

/* ---------------------------------------------------------------------- */
/* fixture                                                                 */

typedef struct td {
    dsp_day *d;
    int n_vans;
    char van_ids[4][16];
    long n_sink; /* events and plan changes told so far */
    int now;
    svc_tablet_result res;
} td;

static void on_event(void *ud, const dsp_event *e)
{
    (void)e;
    ((td *)ud)->n_sink++;
}

static void on_plan(void *ud, int vehicle, uint32_t version)
{
    (void)vehicle;
    (void)version;
    ((td *)ud)->n_sink++;
}

static int64_t booking_index(void *ud, const char *id)
{
    td *t = ud;
    char *end;
    long long n;

    if (strncmp(id, "old", 3) == 0)
        return SVC_TABLET_BK_OTHER_DAY;
    if (strncmp(id, "bk", 2) != 0 || id[2] < '0' || id[2] > '9')
        return SVC_TABLET_BK_UNKNOWN;
    n = strtoll(id + 2, &end, 10);
    if (*end != '\0' || n >= dsp_n_bookings(t->d))
        return SVC_TABLET_BK_UNKNOWN;
    return n;
}

static const char *stop_id(void *ud, int stop)
{
    (void)ud;
    return stop >= 0 && stop < g_area->n_stops ? g_area->stops[stop].id : NULL;
}

static dsp_place at(int stop)
{
    return (dsp_place){
        .lat = g_area->stops[stop].lat, .lon = g_area->stops[stop].lon, .stop = stop};
}

static void td_init(td *t, int now)
{
    dsp_rules r;

    memset(t, 0, sizeof(*t));
    dsp_rules_default(&r);
    dsp_sink sink = {.ud = t, .event = on_event, .plan_changed = on_plan};
    assert_int_equal(dsp_day_create(g_area, &r, &sink, &t->d), 0);
    t->now = now;
}

static int add_van(td *t, int depot, int break_at_s, int break_len_s)
{
    dsp_vehicle_def def;

    memset(&def, 0, sizeof(def));
    snprintf(t->van_ids[t->n_vans], sizeof(t->van_ids[0]), "van%d", t->n_vans + 1);
    def.id = t->van_ids[t->n_vans];
    def.n_configs = 1;
    def.seats[0] = 6;
    def.depot = at(depot);
    def.shift_start_s = H(7, 0);
    def.shift_end_s = H(19, 0);
    if (break_len_s > 0) {
        def.n_breaks = 1;
        def.breaks[0].earliest_s = break_at_s;
        def.breaks[0].latest_s = break_at_s;
        def.breaks[0].duration_s = break_len_s;
    }
    assert_int_equal(dsp_vehicle_add(t->d, &def), t->n_vans);
    return t->n_vans++;
}

/* A confirmed trip from stop a to stop b, departing after t_s; its index. */
static int64_t book(td *t, int a, int b, int t_s)
{
    dsp_request q;
    dsp_offer o;

    memset(&q, 0, sizeof(q));
    q.pickup = at(a);
    q.drop = at(b);
    q.when = DSP_DEPART_AFTER;
    q.time_s = t_s;
    q.passengers = 1;
    assert_int_equal(dsp_request_offer(t->d, t->now, &q, 1, &o), 0);
    assert_true(o.ok);
    assert_int_equal(dsp_confirm(t->d, t->now, o.booking), 0);
    return o.booking;
}

static svc_tablet_ctx ctx_of(td *t, int v)
{
    svc_tablet_ctx c = {.day = t->d,
                        .now = t->now,
                        .vehicle = v,
                        .vehicle_id = v >= 0 && v < t->n_vans ? t->van_ids[v] : "ghost",
                        .ud = t,
                        .booking_index = booking_index,
                        .stop_id = stop_id};
    return c;
}

/* ---------------------------------------------------------------------- */
/* the whole day, to compare before and after a refusal                    */

typedef struct snap {
    int n_vans;
    dsp_vehicle_info vi[8];
    dsp_plan_stop *plan[8];
    int n_plan[8];
    int64_t n_bk;
    dsp_booking_info *bk;
    long n_sink;
} snap;

static void snap_take(const td *t, snap *s)
{
    memset(s, 0, sizeof(*s));
    s->n_vans = dsp_n_vehicles(t->d);
    assert_true(s->n_vans <= 8);
    for (int v = 0; v < s->n_vans; v++) {
        assert_int_equal(dsp_vehicle_get(t->d, v, &s->vi[v]), 0);
        s->n_plan[v] = dsp_plan_get(t->d, v, NULL, 0);
        s->plan[v] = calloc((size_t)s->n_plan[v] + 1, sizeof(*s->plan[v]));
        assert_non_null(s->plan[v]);
        assert_int_equal(dsp_plan_get(t->d, v, s->plan[v], s->n_plan[v]), s->n_plan[v]);
    }
    s->n_bk = dsp_n_bookings(t->d);
    s->bk = calloc((size_t)s->n_bk + 1, sizeof(*s->bk));
    assert_non_null(s->bk);
    for (int64_t b = 0; b < s->n_bk; b++)
        assert_int_equal(dsp_booking_get(t->d, b, &s->bk[b]), 0);
    s->n_sink = t->n_sink;
}

static void snap_free(snap *s)
{
    for (int v = 0; v < s->n_vans; v++)
        free(s->plan[v]);
    free(s->bk);
}

static int place_eq(const dsp_place *a, const dsp_place *b)
{
    return a->lat == b->lat && a->lon == b->lon && a->stop == b->stop;
}

static int vi_eq(const dsp_vehicle_info *a, const dsp_vehicle_info *b)
{
    return a->id == b->id && a->in_service == b->in_service && a->en_route == b->en_route &&
           place_eq(&a->place, &b->place) && a->ready_s == b->ready_s &&
           a->shift_start_s == b->shift_start_s && a->shift_end_s == b->shift_end_s &&
           place_eq(&a->depot, &b->depot) && a->n_onboard == b->n_onboard &&
           a->seats_used == b->seats_used && a->wheelchairs_used == b->wheelchairs_used &&
           a->version == b->version && a->n_stops == b->n_stops;
}

static int stop_eq(const dsp_plan_stop *a, const dsp_plan_stop *b)
{
    return a->booking == b->booking && a->kind == b->kind && place_eq(&a->place, &b->place) &&
           a->planned_s == b->planned_s && a->service_s == b->service_s &&
           a->committed == b->committed;
}

static int bk_eq(const dsp_booking_info *a, const dsp_booking_info *b)
{
    return a->id == b->id && a->ext_id == b->ext_id && a->status == b->status &&
           a->is_break == b->is_break && place_eq(&a->pickup, &b->pickup) &&
           place_eq(&a->drop, &b->drop) && a->when == b->when && a->requested_s == b->requested_s &&
           a->time_s == b->time_s && a->passengers == b->passengers &&
           a->wheelchairs == b->wheelchairs && a->promise_from_s == b->promise_from_s &&
           a->promise_to_s == b->promise_to_s && a->latest_dropoff_s == b->latest_dropoff_s &&
           a->max_ride_s == b->max_ride_s && a->direct_s == b->direct_s &&
           a->vehicle == b->vehicle && a->planned_pickup_s == b->planned_pickup_s &&
           a->planned_dropoff_s == b->planned_dropoff_s && a->pickup_s == b->pickup_s &&
           a->dropoff_s == b->dropoff_s && a->delayed == b->delayed && a->reason == b->reason;
}

/* Fails naming the first difference. */
static void snap_same(const snap *a, const snap *b, const char *what)
{
    if (a->n_vans != b->n_vans || a->n_bk != b->n_bk)
        fail_msg("%s: the day has other vans or bookings", what);
    if (a->n_sink != b->n_sink)
        fail_msg("%s: the sink was told %ld things", what, b->n_sink - a->n_sink);
    for (int v = 0; v < a->n_vans; v++) {
        if (!vi_eq(&a->vi[v], &b->vi[v]))
            fail_msg("%s: vehicle %d changed", what, v);
        if (a->n_plan[v] != b->n_plan[v])
            fail_msg("%s: vehicle %d's plan has %d stops, had %d", what, v, b->n_plan[v],
                     a->n_plan[v]);
        for (int k = 0; k < a->n_plan[v]; k++)
            if (!stop_eq(&a->plan[v][k], &b->plan[v][k]))
                fail_msg("%s: vehicle %d's stop %d changed", what, v, k);
    }
    for (int64_t i = 0; i < a->n_bk; i++)
        if (!bk_eq(&a->bk[i], &b->bk[i]))
            fail_msg("%s: booking %lld changed", what, (long long)i);
}

static void day_ok(const td *t, const char *what)
{
    char msg[256];

    if (dsp_check(t->d, t->now, msg, sizeof(msg)) != 0)
        fail_msg("%s: dsp_check: %s", what, msg);
}

/* ---------------------------------------------------------------------- */
/* scripted events                                                         */

/* An event that must be accepted with exactly the moves listed (ended by -1). */
static void expect_ok(td *t, int v, int kind, const char *bid, const char *stop, ...)
{
    svc_tablet_ctx c = ctx_of(t, v);
    svc_tablet_event ev = {.kind = kind, .booking_id = bid, .stop_id = stop};
    int rc = svc_tablet_event_handle(&c, &ev, &t->res), n = 0, m;
    va_list ap;

    if (rc != 0)
        fail_msg("%s %s on %s refused (%d): %s", svc_tablet_kind_name(kind), bid, c.vehicle_id, rc,
                 t->res.error);
    assert_string_equal(t->res.error, "");
    va_start(ap, stop);
    while ((m = va_arg(ap, int)) >= 0) {
        if (n >= t->res.n_moves || (int)t->res.moves[n].kind != m)
            fail_msg("%s %s: move %d is not %d", svc_tablet_kind_name(kind), bid, n, m);
        n++;
    }
    va_end(ap);
    assert_int_equal(t->res.n_moves, n);
    assert_int_equal(t->res.n_applied, n);
    day_ok(t, svc_tablet_kind_name(kind));
}

/* An event that must be refused with this text, the day unchanged. */
static void expect_refused(td *t, int v, int kind, const char *bid, const char *stop,
                           const char *text)
{
    svc_tablet_ctx c = ctx_of(t, v);
    svc_tablet_event ev = {.kind = kind, .booking_id = bid, .stop_id = stop};
    snap before, after;
    int rc;

    snap_take(t, &before);
    rc = svc_tablet_event_handle(&c, &ev, &t->res);
    snap_take(t, &after);
    if (rc != SVC_TABLET_EREFUSED)
        fail_msg("%s %s on %s: %d, not refused (%s)", svc_tablet_kind_name(kind),
                 bid ? bid : "(null)", c.vehicle_id, rc, t->res.error);
    assert_string_equal(t->res.error, text);
    assert_int_equal(t->res.n_moves, 0);
    snap_same(&before, &after, text);
    snap_free(&before);
    snap_free(&after);
}

static dsp_status status(const td *t, int64_t b)
{
    dsp_booking_info bi;

    assert_int_equal(dsp_booking_get(t->d, b, &bi), 0);
    return bi.status;
}

static dsp_plan_stop first_stop(const td *t, int v)
{
    dsp_plan_stop ps;

    assert_true(dsp_plan_get(t->d, v, &ps, 1) >= 1);
    return ps;
}

static void test_names_and_ids(void **state)
{
    char long_id[80];

    (void)state;
    for (int k = 0; k < SVC_TABLET_KIND_COUNT; k++)
        assert_int_equal(svc_tablet_kind_parse(svc_tablet_kind_name(k)), k);
    assert_null(svc_tablet_kind_name(SVC_TABLET_KIND_COUNT));
    assert_null(svc_tablet_kind_name(-1));
    assert_int_equal(svc_tablet_kind_parse("landed"), -1);
    assert_int_equal(svc_tablet_kind_parse(NULL), -1);
    assert_true(svc_tablet_id_ok("bk_01HZX-a.b~"));
    assert_false(svc_tablet_id_ok(""));
    assert_false(svc_tablet_id_ok(NULL));
    assert_false(svc_tablet_id_ok("a b"));
    assert_false(svc_tablet_id_ok("tab\there"));
    assert_false(svc_tablet_id_ok("caf\xc3\xa9"));
    assert_false(svc_tablet_id_ok("del\x7f"));
    memset(long_id, 'x', sizeof(long_id));
    long_id[SVC_TABLET_MAX_ID] = '\0';
    assert_true(svc_tablet_id_ok(long_id));
    long_id[SVC_TABLET_MAX_ID] = 'x';
    long_id[SVC_TABLET_MAX_ID + 1] = '\0';
    assert_false(svc_tablet_id_ok(long_id));
    assert_string_equal(svc_tablet_strerror(SVC_TABLET_EREFUSED),
                        "refused by the rules of the service day");
    assert_string_equal(svc_tablet_strerror(0), "ok");
}

/* One rider's trip, each event in and out of its state. */
static void test_rider_trip(void **state)
{
    td t;
    char bid[16], other[16], long_id[80], text[200];
    const char *s_pick, *s_drop, *s_depot;

    (void)state;
    td_init(&t, H(7, 0));
    add_van(&t, 0, 0, 0);
    int64_t b = book(&t, 5, 9, H(9, 0));
    int64_t b2 = book(&t, 12, 20, H(15, 0));
    snprintf(bid, sizeof(bid), "bk%lld", (long long)b);
    snprintf(other, sizeof(other), "bk%lld", (long long)b2);
    s_pick = g_area->stops[5].id;
    s_drop = g_area->stops[9].id;
    s_depot = g_area->stops[0].id;
    assert_int_equal(first_stop(&t, 0).booking, b);
    t.now = H(8, 30);

    /* Names. */
    memset(long_id, 'x', sizeof(long_id));
    long_id[SVC_TABLET_MAX_ID + 1] = '\0';
    expect_refused(&t, 0, SVC_TABLET_BOARDED, "a b", "",
                   "booking_id must be a printable id of at most 64 bytes");
    expect_refused(&t, 0, SVC_TABLET_ARRIVED, "", long_id,
                   "booking_id and stop_id must be printable ids of at most 64 bytes");
    expect_refused(&t, 0, SVC_TABLET_DEPARTED, long_id, "",
                   "booking_id and stop_id must be printable ids of at most 64 bytes");
    expect_refused(&t, 0, SVC_TABLET_KIND_COUNT, "", "", "not an event");
    expect_refused(&t, 0, -3, "", "", "not an event");
    expect_refused(&t, 3, SVC_TABLET_DEPARTED, "", "", "ghost is not in today's fleet");
    {
        svc_tablet_ctx c = ctx_of(&t, 0);
        svc_tablet_event ev = {.kind = SVC_TABLET_DEPARTED};
        c.day = NULL;
        assert_int_equal(svc_tablet_event_handle(&c, &ev, &t.res), SVC_TABLET_EREFUSED);
        assert_string_equal(t.res.error, "no service day is open today");
        c = ctx_of(&t, 0);
        c.booking_index = NULL;
        assert_int_equal(svc_tablet_check(&c, &ev, &t.res), SVC_TABLET_EINVAL);
        assert_int_equal(svc_tablet_check(NULL, &ev, &t.res), SVC_TABLET_EINVAL);
    }
    expect_refused(&t, 0, SVC_TABLET_BOARDED, "", "", "booking_id is required");
    expect_refused(&t, 0, SVC_TABLET_ALIGHTED, NULL, "", "booking_id is required");
    expect_refused(&t, 0, SVC_TABLET_NO_SHOW, "nope", "", "no booking \"nope\" in service");
    expect_refused(&t, 0, SVC_TABLET_BOARDED, "old7", "", "booking old7 is not for today");
    expect_refused(&t, 0, SVC_TABLET_BOARDED, "bk999", "", "no booking \"bk999\" in service");
    expect_refused(&t, 0, SVC_TABLET_BREAK_START, bid, "", "bk0 is a booking, not a break");
    expect_refused(&t, 0, SVC_TABLET_BREAK_START, "break-", "", "no break \"break-\" today");
    expect_refused(&t, 0, SVC_TABLET_BREAK_END, "break-99", "", "no break \"break-99\" today");
    expect_refused(&t, 0, SVC_TABLET_BREAK_END, "", "", "van1 has no break under way");
    expect_refused(&t, 0, SVC_TABLET_BREAK_START, "", "", "the next stop of van1 is no break");
    expect_refused(&t, 0, SVC_TABLET_ALIGHTED, bid, "",
                   "booking bk0 is confirmed; only a rider on board can alight");
    expect_refused(&t, 0, SVC_TABLET_BOARDED, other, "",
                   "the pickup of bk1 is not the next stop of van1");
    expect_refused(&t, 0, SVC_TABLET_ARRIVED, other, "", "bk1 is not the next stop of van1");
    snprintf(text, sizeof(text), "van1 is at or bound for %s, not %s", s_depot, s_pick);
    expect_refused(&t, 0, SVC_TABLET_DEPARTED, "", s_pick, text);
    snprintf(text, sizeof(text), "van1 is at or bound for %s, not %s", s_pick, s_drop);
    expect_refused(&t, 0, SVC_TABLET_ARRIVED, "", s_drop, text);

    /* Off to the pickup; the booking is then assigned. */
    expect_ok(&t, 0, SVC_TABLET_DEPARTED, "", s_depot, SVC_TABLET_MOVE_DEPART, -1);
    assert_int_equal(status(&t, b), DSP_ASSIGNED);
    expect_refused(&t, 0, SVC_TABLET_DEPARTED, "", "",
                   "van1 is already on its way to its next stop");
    t.now = H(8, 50);
    expect_ok(&t, 0, SVC_TABLET_ARRIVED, bid, s_pick, SVC_TABLET_MOVE_ARRIVE, -1);
    /* Arrived again: it is there; nothing to do. */
    expect_ok(&t, 0, SVC_TABLET_ARRIVED, "", "", -1);
    t.now = H(9, 0);
    expect_ok(&t, 0, SVC_TABLET_BOARDED, bid, "", SVC_TABLET_MOVE_BOARDED, -1);
    assert_int_equal(status(&t, b), DSP_PICKED_UP);
    expect_refused(&t, 0, SVC_TABLET_BOARDED, bid, "",
                   "booking bk0 is picked_up; only a confirmed or assigned rider can board");
    expect_refused(&t, 0, SVC_TABLET_NO_SHOW, bid, "",
                   "booking bk0 is picked_up; only a confirmed or assigned rider can be a no-show");
    /* Alighted at the drop-off with departed and arrived forgotten. */
    t.now = H(9, 20);
    expect_ok(&t, 0, SVC_TABLET_ALIGHTED, bid, "", SVC_TABLET_MOVE_DEPART, SVC_TABLET_MOVE_ARRIVE,
              SVC_TABLET_MOVE_ALIGHTED, -1);
    assert_int_equal(status(&t, b), DSP_DROPPED_OFF);
    expect_refused(&t, 0, SVC_TABLET_ALIGHTED, bid, "",
                   "booking bk0 is dropped_off; only a rider on board can alight");

    /* The second rider: departed naming it, boarded with arrived forgotten. */
    t.now = H(14, 30);
    expect_ok(&t, 0, SVC_TABLET_DEPARTED, other, "", SVC_TABLET_MOVE_DEPART, -1);
    t.now = H(15, 0);
    expect_ok(&t, 0, SVC_TABLET_BOARDED, other, "", SVC_TABLET_MOVE_ARRIVE, SVC_TABLET_MOVE_BOARDED,
              -1);
    t.now = H(15, 30);
    expect_ok(&t, 0, SVC_TABLET_ARRIVED, other, g_area->stops[20].id, SVC_TABLET_MOVE_DEPART,
              SVC_TABLET_MOVE_ARRIVE, -1);
    expect_ok(&t, 0, SVC_TABLET_ALIGHTED, other, "", SVC_TABLET_MOVE_ALIGHTED, -1);
    expect_refused(&t, 0, SVC_TABLET_ARRIVED, "", "", "van1 has no stop to arrive at");
    expect_refused(&t, 0, SVC_TABLET_DEPARTED, "", "", "van1 has no stop to drive to");
    expect_refused(&t, 0, SVC_TABLET_BOARDED, other, "",
                   "booking bk1 is dropped_off; only a confirmed or assigned rider can board");
    dsp_day_destroy(t.d);
}

/* A no-show reported at the pickup with both buttons before forgotten;
 * a rider of another van. */
static void test_no_show(void **state)
{
    td t;
    char bid[16];

    (void)state;
    td_init(&t, H(7, 0));
    add_van(&t, 0, 0, 0);
    add_van(&t, 30, 0, 0);
    int64_t b = book(&t, 7, 11, H(10, 0));
    snprintf(bid, sizeof(bid), "bk%lld", (long long)b);
    dsp_booking_info bi;
    assert_int_equal(dsp_booking_get(t.d, b, &bi), 0);
    int other = 1 - bi.vehicle;
    t.now = H(10, 5);
    expect_refused(&t, other, SVC_TABLET_NO_SHOW, bid, "",
                   other == 0 ? "bk0 is not on van1" : "bk0 is not on van2");
    expect_ok(&t, bi.vehicle, SVC_TABLET_NO_SHOW, bid, "", SVC_TABLET_MOVE_DEPART,
              SVC_TABLET_MOVE_ARRIVE, SVC_TABLET_MOVE_NO_SHOW, -1);
    assert_int_equal(status(&t, b), DSP_NO_SHOW);
    expect_refused(&t, bi.vehicle, SVC_TABLET_BOARDED, bid, "",
                   "booking bk0 is no_show; only a confirmed or assigned rider can board");
    /* Out of service: nothing more from it. */
    assert_int_equal(dsp_vehicle_out_of_service(t.d, t.now, other), 0);
    expect_refused(&t, other, SVC_TABLET_ARRIVED, "", "",
                   other == 0 ? "van1 is out of service" : "van2 is out of service");
    dsp_day_destroy(t.d);
}

/* The van drives to a pickup that is cancelled on the way; the next stop is
 * elsewhere.  depart_first: "departed" from the withdrawn place; else
 * "boarded" at the next stop with everything between forgotten. */
static void withdrawn_case(int depart_first)
{
    td t;
    char a_id[16], b_id[16];

    td_init(&t, H(7, 0));
    add_van(&t, 0, 0, 0);
    int64_t a = book(&t, 5, 9, H(9, 0));
    int64_t b = book(&t, 14, 18, H(10, 30));
    snprintf(a_id, sizeof(a_id), "bk%lld", (long long)a);
    snprintf(b_id, sizeof(b_id), "bk%lld", (long long)b);
    assert_int_equal(first_stop(&t, 0).booking, a);
    t.now = H(8, 40);
    expect_ok(&t, 0, SVC_TABLET_DEPARTED, "", "", SVC_TABLET_MOVE_DEPART, -1);
    assert_int_equal(dsp_cancel(t.d, t.now, a, ""), 0);
    assert_int_equal(first_stop(&t, 0).booking, b);
    t.now = H(8, 50);
    /* Naming a booking, "departed" is the ordinary one: the van is on its way. */
    expect_refused(&t, 0, SVC_TABLET_DEPARTED, b_id, "",
                   "van1 is already on its way to its next stop");
    if (depart_first) {
        char text[200];
        snprintf(text, sizeof(text), "van1 is at or bound for %s, not %s", g_area->stops[5].id,
                 g_area->stops[14].id);
        expect_refused(&t, 0, SVC_TABLET_DEPARTED, "", g_area->stops[14].id, text);
        expect_ok(&t, 0, SVC_TABLET_DEPARTED, "", g_area->stops[5].id, SVC_TABLET_MOVE_ARRIVE,
                  SVC_TABLET_MOVE_DEPART, -1);
        dsp_vehicle_info vi;
        assert_int_equal(dsp_vehicle_get(t.d, 0, &vi), 0);
        assert_true(vi.en_route);
        assert_int_equal(vi.place.stop, 14);
        t.now = H(10, 30);
        expect_ok(&t, 0, SVC_TABLET_BOARDED, b_id, "", SVC_TABLET_MOVE_ARRIVE,
                  SVC_TABLET_MOVE_BOARDED, -1);
    } else {
        t.now = H(10, 30);
        expect_ok(&t, 0, SVC_TABLET_BOARDED, b_id, "", SVC_TABLET_MOVE_ARRIVE,
                  SVC_TABLET_MOVE_DEPART, SVC_TABLET_MOVE_ARRIVE, SVC_TABLET_MOVE_BOARDED, -1);
    }
    assert_int_equal(status(&t, b), DSP_PICKED_UP);
    dsp_day_destroy(t.d);
}

static void test_withdrawn_stop(void **state)
{
    (void)state;
    withdrawn_case(1);
    withdrawn_case(0);
}

/* A break at the depot: started, refused moves while it lasts, ended. */
static void test_break(void **state)
{
    td t;
    char brk[24], bid[16], text[64];

    (void)state;
    td_init(&t, H(7, 0));
    add_van(&t, 0, H(11, 0), 30 * 60);
    dsp_plan_stop ps = first_stop(&t, 0);
    assert_int_equal(ps.kind, DSP_STOP_BREAK);
    snprintf(brk, sizeof(brk), "break-%lld", (long long)ps.booking);
    int64_t b = book(&t, 6, 13, H(13, 0));
    snprintf(bid, sizeof(bid), "bk%lld", (long long)b);
    t.now = H(10, 58);
    snprintf(text, sizeof(text), "%s is a break, not a booking", brk);
    expect_refused(&t, 0, SVC_TABLET_BOARDED, brk, "", text);
    snprintf(text, sizeof(text), "break %s is not under way", brk);
    expect_refused(&t, 0, SVC_TABLET_BREAK_END, brk, "", text);
    expect_refused(&t, 0, SVC_TABLET_BOARDED, bid, "",
                   "the pickup of bk1 is not the next stop of van1");
    t.now = H(11, 0);
    expect_ok(&t, 0, SVC_TABLET_BREAK_START, "", "", SVC_TABLET_MOVE_BREAK_START, -1);
    assert_string_equal(t.res.booking_id, brk);
    assert_int_equal(t.res.booking, ps.booking);
    /* During the break the van stays: the day core refuses every move but
     * the break's end. */
    t.now = H(11, 10);
    expect_refused(&t, 0, SVC_TABLET_DEPARTED, "", "",
                   "van1 refused it: not allowed in the current state");
    expect_refused(&t, 0, SVC_TABLET_BOARDED, bid, "",
                   "van1 refused it: not allowed in the current state");
    expect_refused(&t, 0, SVC_TABLET_BREAK_START, "", "", "the next stop of van1 is no break");
    t.now = H(11, 30);
    expect_ok(&t, 0, SVC_TABLET_BREAK_END, "", "", SVC_TABLET_MOVE_BREAK_END, -1);
    assert_string_equal(t.res.booking_id, brk);
    expect_refused(&t, 0, SVC_TABLET_BREAK_END, "", "", "van1 has no break under way");
    snprintf(text, sizeof(text), "break %s is not under way", brk);
    expect_refused(&t, 0, SVC_TABLET_BREAK_END, brk, "", text);
    t.now = H(13, 0);
    expect_ok(&t, 0, SVC_TABLET_BOARDED, bid, "", SVC_TABLET_MOVE_DEPART, SVC_TABLET_MOVE_ARRIVE,
              SVC_TABLET_MOVE_BOARDED, -1);
    dsp_day_destroy(t.d);

    /* Named both ways: break_start by name, break_end by name. */
    td_init(&t, H(7, 0));
    add_van(&t, 0, H(11, 0), 20 * 60);
    ps = first_stop(&t, 0);
    snprintf(brk, sizeof(brk), "break-%lld", (long long)ps.booking);
    t.now = H(11, 0);
    expect_ok(&t, 0, SVC_TABLET_ARRIVED, brk, g_area->stops[0].id, -1);
    expect_ok(&t, 0, SVC_TABLET_BREAK_START, brk, "", SVC_TABLET_MOVE_BREAK_START, -1);
    t.now = H(11, 20);
    expect_ok(&t, 0, SVC_TABLET_BREAK_END, brk, "", SVC_TABLET_MOVE_BREAK_END, -1);
    dsp_day_destroy(t.d);
}

/* ---------------------------------------------------------------------- */
/* property: refusals change nothing, acceptances keep the day sound       */

/* The event the first stop of v asks for, named one way or another. */
static svc_tablet_event sensible(td *t, slv_rng *g, int v, char *bid, size_t len)
{
    svc_tablet_event ev = {.kind = SVC_TABLET_ARRIVED, .booking_id = "", .stop_id = ""};
    dsp_vehicle_info vi;
    dsp_plan_stop ps;
    dsp_booking_info bi;

    bid[0] = '\0';
    ev.booking_id = bid;
    if (dsp_vehicle_get(t->d, v, &vi) < 0 || dsp_plan_get(t->d, v, &ps, 1) < 1)
        return ev;
    if (dsp_booking_get(t->d, ps.booking, &bi) < 0)
        return ev;
    if (bi.is_break)
        snprintf(bid, len, "break-%lld", (long long)ps.booking);
    else
        snprintf(bid, len, "bk%lld", (long long)ps.booking);
    switch (slv_rng_below(g, 4)) {
    case 0:
        ev.kind = vi.en_route ? SVC_TABLET_ARRIVED : SVC_TABLET_DEPARTED;
        if (slv_rng_below(g, 2))
            bid[0] = '\0';
        break;
    case 1:
        ev.kind = SVC_TABLET_BREAK_END;
        if (slv_rng_below(g, 2))
            bid[0] = '\0';
        break;
    default:
        ev.kind = ps.kind == DSP_STOP_BREAK  ? SVC_TABLET_BREAK_START
                  : ps.kind == DSP_STOP_DROP ? SVC_TABLET_ALIGHTED
                  : slv_rng_below(g, 5) == 0 ? SVC_TABLET_NO_SHOW
                                             : SVC_TABLET_BOARDED;
        break;
    }
    return ev;
}

static svc_tablet_event random_event(td *t, slv_rng *g, char *bid, size_t len, const char **stop)
{
    svc_tablet_event ev;
    int64_t nb = dsp_n_bookings(t->d);

    ev.kind = slv_rng_below(g, SVC_TABLET_KIND_COUNT + 1) - (slv_rng_below(g, 20) == 0);
    switch (slv_rng_below(g, 8)) {
    case 0:
        bid[0] = '\0';
        break;
    case 1:
        snprintf(bid, len, "break-%d", slv_rng_below(g, (int)nb + 3));
        break;
    case 2:
        snprintf(bid, len, "%s", slv_rng_below(g, 2) ? "nope" : "old4");
        break;
    case 3:
        snprintf(bid, len, "%s", slv_rng_below(g, 2) ? "two words" : "break-1x");
        break;
    default:
        snprintf(bid, len, "bk%d", slv_rng_below(g, (int)nb + 2));
        break;
    }
    ev.booking_id = bid;
    switch (slv_rng_below(g, 4)) {
    case 0:
        *stop = g_area->stops[slv_rng_below(g, g_area->n_stops)].id;
        break;
    case 1:
        *stop = "nowhere";
        break;
    default:
        *stop = "";
        break;
    }
    ev.stop_id = *stop;
    return ev;
}

static void test_random_events(void **state)
{
    long n_ok[SVC_TABLET_KIND_COUNT] = {0}, n_no[SVC_TABLET_KIND_COUNT] = {0};
    long n_checked = 0;

    (void)state;
    for (int seed = 1; seed <= 12; seed++) {
        slv_rng g;
        td t;
        char bid[40], what[160];

        slv_rng_seed(&g, (uint64_t)seed * 7919);
        td_init(&t, H(6, 30));
        int vans = 1 + slv_rng_below(&g, 3);
        for (int v = 0; v < vans; v++) {
            int has_break = slv_rng_below(&g, 2);
            add_van(&t, slv_rng_below(&g, g_area->n_stops), H(10, 0) + 900 * slv_rng_below(&g, 8),
                    has_break ? 20 * 60 : 0);
        }
        for (int i = 0; i < 10 + slv_rng_below(&g, 20); i++) {
            dsp_request q;
            dsp_offer o;
            memset(&q, 0, sizeof(q));
            q.pickup = at(slv_rng_below(&g, g_area->n_stops));
            do {
                q.drop = at(slv_rng_below(&g, g_area->n_stops));
            } while (q.drop.stop == q.pickup.stop);
            q.when = DSP_DEPART_AFTER;
            q.time_s = H(8, 0) + slv_rng_below(&g, 6 * 3600);
            q.passengers = 1 + slv_rng_below(&g, 3);
            assert_int_equal(dsp_request_offer(t.d, t.now, &q, 1, &o), 0);
            /* Some offers stay unanswered (they expire). */
            if (o.ok && slv_rng_below(&g, 6) != 0)
                assert_int_equal(dsp_confirm(t.d, t.now, o.booking), 0);
        }
        t.now = H(7, 30);
        for (int step = 0; step < 600; step++) {
            svc_tablet_event ev;
            const char *stop = "";
            snap before, after;
            int v, rc;

            if (slv_rng_below(&g, 4) == 0) {
                t.now += slv_rng_below(&g, 600);
                assert_int_equal(dsp_tick(t.d, t.now), 0);
            }
            if (slv_rng_below(&g, 40) == 0) {
                int64_t b = slv_rng_below(&g, (int)dsp_n_bookings(t.d));
                dsp_booking_info bi;
                assert_int_equal(dsp_booking_get(t.d, b, &bi), 0);
                if (!bi.is_break && (bi.status == DSP_CONFIRMED || bi.status == DSP_ASSIGNED))
                    assert_int_equal(dsp_cancel(t.d, t.now, b, ""), 0);
            }
            v = slv_rng_below(&g, 30) == 0 ? vans : slv_rng_below(&g, vans);
            if (slv_rng_below(&g, 5) < 2 && v < vans)
                ev = sensible(&t, &g, v, bid, sizeof(bid));
            else
                ev = random_event(&t, &g, bid, sizeof(bid), &stop);
            svc_tablet_ctx c = ctx_of(&t, v);
            snprintf(what, sizeof(what), "seed %d step %d: %s \"%s\" \"%s\" on %s at %d", seed,
                     step, svc_tablet_kind_name(ev.kind) ? svc_tablet_kind_name(ev.kind) : "?",
                     ev.booking_id, ev.stop_id, c.vehicle_id, t.now);
            snap_take(&t, &before);
            rc = svc_tablet_event_handle(&c, &ev, &t.res);
            if (rc == SVC_TABLET_EAPPLY)
                fail_msg("%s: %s", what, t.res.error);
            if (rc == SVC_TABLET_EREFUSED) {
                if (t.res.error[0] == '\0')
                    fail_msg("%s: refused without a reason", what);
                snap_take(&t, &after);
                snap_same(&before, &after, what);
                snap_free(&after);
                if (ev.kind >= 0 && ev.kind < SVC_TABLET_KIND_COUNT)
                    n_no[ev.kind]++;
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(t.res.n_applied, t.res.n_moves);
                day_ok(&t, what);
                n_ok[ev.kind]++;
            }
            snap_free(&before);
            n_checked++;
        }
        dsp_day_destroy(t.d);
    }
    /* The walk reached every kind both ways. */
    for (int k = 0; k < SVC_TABLET_KIND_COUNT; k++) {
        print_message("%-12s accepted %5ld, refused %5ld\n", svc_tablet_kind_name(k), n_ok[k],
                      n_no[k]);
        if (n_ok[k] == 0 || n_no[k] == 0)
            fail_msg("%s never %s", svc_tablet_kind_name(k), n_ok[k] ? "refused" : "accepted");
    }
    assert_true(n_checked > 1000);
}

/* ---------------------------------------------------------------------- */

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
        cmocka_unit_test(test_names_and_ids), cmocka_unit_test(test_rider_trip),
        cmocka_unit_test(test_no_show),       cmocka_unit_test(test_withdrawn_stop),
        cmocka_unit_test(test_break),         cmocka_unit_test(test_random_events),
    };
    return cmocka_run_group_tests(tests, setup_area, teardown_area);
}
