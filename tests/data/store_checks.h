/*
 * store_checks.h - the checks of the store interface (data/store/store.h),
 * written once against store_ops and run against both stores: the in-memory
 * one (tests/data/test_store_mem.c) and PostgreSQL (tests/api/test_store_pg.c).
 * A check sees only the interface, plus two hooks of its program:
 *
 *   settle(e)        runs until every submitted callback has run (the mem
 *                    store's pump; the PostgreSQL store's loop)
 *   count(e, table)  rows of a table (store_mem_count; SELECT count(*))
 *
 * Every check starts from an empty store.  Callbacks only record (strings
 * copied: rows are valid inside the callback only); assertions run after.
 * Include after <cmocka.h>.
 */
#ifndef NORIAI_TEST_STORE_CHECKS_H
#define NORIAI_TEST_STORE_CHECKS_H

#include "data/db/db.h"
#include "data/store/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct chk_env chk_env;
struct chk_env {
    store st;
    void (*settle)(chk_env *e);
    long (*count)(chk_env *e, const char *table);
    void *impl;
};

/* Callbacks not yet run, and the order they ran in. */
static int chk_pending, chk_seq;

/* ---- what callbacks saw ---- */

typedef struct chk_done {
    int called, rc, order;
} chk_done;

static void chk_on_done(void *ud, int rc)
{
    chk_done *d = ud;

    d->called++;
    d->rc = rc;
    d->order = ++chk_seq;
    chk_pending--;
}

#define CHK_ROWS 16
#define CHK_S(dst, src) snprintf((dst), sizeof(dst), "%s", (src) != NULL ? (src) : "(null)")

typedef struct chk_bk {
    char id[40], date[16], rider[40], created_by[40], status[24], pickup_stop[40], when[16];
    char vehicle[40], reason[40], notes[40], attention[40];
    double plat, plon, dlat, dlon;
    int time_s, passengers, wheelchairs, requested_s, expires_s, promise_from_s;
    int planned_pickup_s, pickup_s;
} chk_bk;

typedef struct chk_bks {
    int called, rc, n, order;
    chk_bk r[CHK_ROWS];
} chk_bks;

static void chk_copy_booking(chk_bk *o, const store_booking_row *b)
{
    CHK_S(o->id, b->id);
    CHK_S(o->date, b->date);
    CHK_S(o->rider, b->rider_id);
    CHK_S(o->created_by, b->created_by);
    CHK_S(o->status, b->status);
    CHK_S(o->pickup_stop, b->pickup_stop);
    CHK_S(o->when, b->when_kind);
    CHK_S(o->vehicle, b->vehicle_id);
    CHK_S(o->reason, b->reason);
    CHK_S(o->notes, b->notes);
    CHK_S(o->attention, b->attention);
    o->plat = b->pickup_lat;
    o->plon = b->pickup_lon;
    o->dlat = b->drop_lat;
    o->dlon = b->drop_lon;
    o->time_s = b->time_s;
    o->passengers = b->passengers;
    o->wheelchairs = b->wheelchairs;
    o->requested_s = b->requested_s;
    o->expires_s = b->expires_s;
    o->promise_from_s = b->promise_from_s;
    o->planned_pickup_s = b->planned_pickup_s;
    o->pickup_s = b->pickup_s;
}

static void chk_on_bookings(void *ud, int rc, const store_booking_row *rows, int n)
{
    chk_bks *o = ud;

    o->called++;
    o->rc = rc;
    o->n = n;
    o->order = ++chk_seq;
    for (int i = 0; i < n && i < CHK_ROWS; i++)
        chk_copy_booking(&o->r[i], &rows[i]);
    chk_pending--;
}

typedef struct chk_rider {
    char id[40], name[64], kana[64], phone[32], digits[32], stop[40], mobility[40], created[40];
    char fold[128], merged[40];
    double lat, lon;
    int wheelchair;
} chk_rider;

typedef struct chk_riders {
    int called, rc, n;
    chk_rider r[CHK_ROWS];
} chk_riders;

static void chk_on_riders(void *ud, int rc, const store_rider_row *rows, int n)
{
    chk_riders *o = ud;

    o->called++;
    o->rc = rc;
    o->n = n;
    for (int i = 0; i < n && i < CHK_ROWS; i++) {
        chk_rider *r = &o->r[i];
        CHK_S(r->id, rows[i].id);
        CHK_S(r->name, rows[i].name);
        CHK_S(r->kana, rows[i].name_kana);
        CHK_S(r->phone, rows[i].phone);
        CHK_S(r->digits, rows[i].phone_digits);
        CHK_S(r->stop, rows[i].home_stop_id);
        CHK_S(r->mobility, rows[i].mobility);
        CHK_S(r->created, rows[i].created);
        CHK_S(r->fold, rows[i].name_fold);
        CHK_S(r->merged, rows[i].merged_into);
        r->lat = rows[i].home_lat;
        r->lon = rows[i].home_lon;
        r->wheelchair = rows[i].wheelchair;
    }
    chk_pending--;
}

typedef struct chk_drvs {
    int called, rc, n;
    char vehicle[CHK_ROWS][16], event[CHK_ROWS][32], result[CHK_ROWS][40], booking[CHK_ROWS][32];
    int64_t unix_ms[CHK_ROWS];
} chk_drvs;

static void chk_on_drvs(void *ud, int rc, const store_driver_event_row *rows, int n)
{
    chk_drvs *o = ud;

    o->called++;
    o->rc = rc;
    o->n = n;
    for (int i = 0; i < n && i < CHK_ROWS; i++) {
        CHK_S(o->vehicle[i], rows[i].vehicle_id);
        CHK_S(o->event[i], rows[i].event_id);
        CHK_S(o->result[i], rows[i].result);
        CHK_S(o->booking[i], rows[i].booking_id);
        o->unix_ms[i] = rows[i].unix_ms;
    }
    chk_pending--;
}

/* ---- helpers ---- */

static store_txn *chk_txn(chk_env *e)
{
    store_txn *t = e->st.ops->txn_new(e->st.ctx);

    assert_non_null(t);
    return t;
}

/* Submits t and waits for its callback; its rc. */
static int chk_commit(chk_env *e, store_txn *t)
{
    chk_done d = {0, 0, 0};

    chk_pending++;
    e->st.ops->txn_submit(t, chk_on_done, &d);
    e->settle(e);
    assert_int_equal(d.called, 1);
    return d.rc;
}

static void chk_get(chk_env *e, const char *id, chk_bks *out)
{
    memset(out, 0, sizeof(*out));
    chk_pending++;
    e->st.ops->booking_get(e->st.ctx, id, chk_on_bookings, out);
    e->settle(e);
    assert_int_equal(out->called, 1);
    assert_int_equal(out->rc, 0);
}

static void chk_list(chk_env *e, const store_booking_filter *f, chk_bks *out)
{
    memset(out, 0, sizeof(*out));
    chk_pending++;
    e->st.ops->bookings(e->st.ctx, f, chk_on_bookings, out);
    e->settle(e);
    assert_int_equal(out->called, 1);
    assert_int_equal(out->rc, 0);
}

static void chk_search(chk_env *e, const char *digits, const char *text, int limit, chk_riders *out)
{
    memset(out, 0, sizeof(*out));
    chk_pending++;
    e->st.ops->riders_search(e->st.ctx, digits, text, limit, chk_on_riders, out);
    e->settle(e);
    assert_int_equal(out->called, 1);
    assert_int_equal(out->rc, 0);
}

/* A booking of date for rider (NULL: none), confirmed, with every field set. */
static store_booking_row chk_booking(const char *id, const char *date, const char *rider,
                                     const char *status)
{
    store_booking_row b;

    memset(&b, 0, sizeof(b));
    b.id = id;
    b.date = date;
    b.rider_id = rider;
    b.created_by = "tk_op";
    b.status = status;
    b.pickup_stop = "s_station";
    b.pickup_lat = 35.6812345;
    b.pickup_lon = 139.7671234;
    b.drop_stop = NULL;
    b.drop_lat = 35.7000001;
    b.drop_lon = 139.8000002;
    b.when_kind = "depart_after";
    b.time_s = 9 * 3600;
    b.passengers = 2;
    b.wheelchairs = 1;
    b.requested_s = 8 * 3600;
    b.expires_s = -1;
    b.promise_from_s = 9 * 3600;
    b.promise_to_s = 9 * 3600 + 900;
    b.latest_dropoff_s = 10 * 3600;
    b.vehicle_id = "v1";
    b.planned_pickup_s = 9 * 3600 + 300;
    b.planned_dropoff_s = 9 * 3600 + 1500;
    b.pickup_s = -1;
    b.dropoff_s = -1;
    b.reason = "";
    b.notes = "first notes";
    b.attention = NULL;
    return b;
}

static void chk_fleet(chk_env *e)
{
    store_vehicle_row v[2] = {
        {"v1", "[{\"seats\":8,\"wheelchairs\":1}]", 35.68, 139.76, "s_depot"},
        {"v2", "[{\"seats\":4,\"wheelchairs\":0}]", 35.69, 139.77, NULL},
    };
    char err[300];
    int rc = e->st.ops->upsert_fleet(e->st.ctx, v, 2, err, sizeof(err));

    if (rc != 0)
        fail_msg("upsert_fleet: %s (%s)", db_strerror(rc), err);
}

static void chk_rider_put(chk_env *e, store_txn *t, const char *id, const char *name,
                          const char *kana, const char *phone)
{
    store_rider_row r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    r.name = name;
    r.name_kana = kana;
    r.phone = phone;
    r.home_lat = NAN;
    r.home_lon = NAN;
    assert_int_equal(e->st.ops->put_rider(t, &r), 0);
}

static void chk_one_event(chk_env *e, store_txn *t, const char *booking, const char *key)
{
    store_event_row ev = {booking,     "2030-04-01", 9 * 3600, "status", "offered",
                          "confirmed", "v1",         "",       "tk_op",  key};

    assert_int_equal(e->st.ops->put_event(t, &ev), 0);
}

/* ---- the checks ---- */

/* put_booking inserts, then updates only what a booking's life changes
 * (its identity and notes stay), and clears attention. */
static void chk_booking_upsert(chk_env *e)
{
    store_booking_row b = chk_booking("bk_a", "2030-04-01", NULL, "offered");
    store_txn *t;
    chk_bks got;

    chk_fleet(e);
    b.expires_s = 8 * 3600 + 120;
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_booking(t, &b), 0);
    assert_int_equal(chk_commit(e, t), 0);
    chk_get(e, "bk_a", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].status, "offered");
    assert_string_equal(got.r[0].date, "2030-04-01");
    assert_string_equal(got.r[0].rider, "(null)");
    assert_string_equal(got.r[0].pickup_stop, "s_station");
    assert_string_equal(got.r[0].when, "depart_after");
    assert_true(fabs(got.r[0].plat - 35.6812345) < 1e-6);
    assert_true(fabs(got.r[0].dlon - 139.8000002) < 1e-6);
    assert_int_equal(got.r[0].expires_s, 8 * 3600 + 120);
    assert_int_equal(got.r[0].pickup_s, -1);
    assert_int_equal(got.r[0].passengers, 2);
    assert_int_equal(got.r[0].wheelchairs, 1);
    assert_string_equal(got.r[0].attention, "(null)");

    /* the booking is confirmed; notes and passengers in the record are not the row's to change */
    b.status = "confirmed";
    b.expires_s = -1;
    b.notes = "other notes";
    b.passengers = 5;
    b.vehicle_id = "v2";
    b.pickup_s = 9 * 3600 + 400;
    b.reason = "r1";
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_booking(t, &b), 0);
    assert_int_equal(chk_commit(e, t), 0);
    chk_get(e, "bk_a", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].status, "confirmed");
    assert_int_equal(got.r[0].expires_s, -1);
    assert_string_equal(got.r[0].vehicle, "v2");
    assert_int_equal(got.r[0].pickup_s, 9 * 3600 + 400);
    assert_string_equal(got.r[0].reason, "r1");
    assert_string_equal(got.r[0].notes, "first notes");
    assert_int_equal(got.r[0].passengers, 2);
    assert_int_equal(e->count(e, "bookings"), 1);

    /* marked for the operators, then stored again: the mark goes */
    t = chk_txn(e);
    assert_int_equal(e->st.ops->mark_attention(t, "bk_a", "confirmed", "not_planned", 100,
                                               "restore", "ev_mark1"),
                     0);
    assert_int_equal(chk_commit(e, t), 0);
    chk_get(e, "bk_a", &got);
    assert_string_equal(got.r[0].attention, "not_planned");
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_booking(t, &b), 0);
    assert_int_equal(chk_commit(e, t), 0);
    chk_get(e, "bk_a", &got);
    assert_string_equal(got.r[0].attention, "(null)");

    /* an unknown id: no rows, rc 0 */
    chk_get(e, "bk_none", &got);
    assert_int_equal(got.n, 0);
}

/* Events are kept once per key, also within one transaction. */
static void chk_event_once(chk_env *e)
{
    store_txn *t = chk_txn(e);

    chk_one_event(e, t, "bk_a", "ev_1");
    chk_one_event(e, t, "bk_a", "ev_1");
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "booking_events"), 1);
    t = chk_txn(e);
    chk_one_event(e, t, "bk_a", "ev_1");
    chk_one_event(e, t, "bk_a", "ev_2");
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "booking_events"), 2);
}

typedef struct chk_seqs {
    int n;
    char v[8][16], d[8][16];
    int64_t seq[8];
} chk_seqs;

static void chk_on_seq(void *ud, const char *v, const char *d, int64_t seq)
{
    chk_seqs *s = ud;

    if (s->n < 8) {
        CHK_S(s->v[s->n], v);
        CHK_S(s->d[s->n], d);
        s->seq[s->n++] = seq;
    }
}

static int64_t chk_seq_of(chk_env *e, const char *v, const char *d)
{
    chk_seqs s;
    char err[300];

    memset(&s, 0, sizeof(s));
    assert_int_equal(e->st.ops->load_plan_seqs(e->st.ctx, chk_on_seq, &s, err, sizeof(err)), 0);
    for (int i = 0; i < s.n; i++)
        if (strcmp(s.v[i], v) == 0 && strcmp(s.d[i], d) == 0)
            return s.seq[i];
    return -1;
}

static void chk_plan(chk_env *e, const char *v, const char *d, int64_t seq)
{
    store_plan_row p = {v, d, seq, "[[\"bk_a\",\"p\",32400,0]]"};
    store_txn *t = chk_txn(e);

    assert_int_equal(e->st.ops->put_plan(t, &p), 0);
    assert_int_equal(chk_commit(e, t), 0);
}

/* Plans keep the newest seq; an older one never replaces it. */
static void chk_plan_newest(chk_env *e)
{
    chk_fleet(e);
    chk_plan(e, "v1", "2030-04-01", 5);
    assert_int_equal(chk_seq_of(e, "v1", "2030-04-01"), 5);
    chk_plan(e, "v1", "2030-04-01", 3);
    assert_int_equal(chk_seq_of(e, "v1", "2030-04-01"), 5);
    chk_plan(e, "v1", "2030-04-01", 7);
    assert_int_equal(chk_seq_of(e, "v1", "2030-04-01"), 7);
    chk_plan(e, "v1", "2030-04-02", 1);
    chk_plan(e, "v2", "2030-04-01", 2);
    assert_int_equal(chk_seq_of(e, "v1", "2030-04-02"), 1);
    assert_int_equal(chk_seq_of(e, "v2", "2030-04-01"), 2);
    assert_int_equal(e->count(e, "plans"), 3);
}

typedef struct chk_idems {
    int n;
    char token[4][16], key[4][16], method[4][8], path[4][32], response[4][32];
    int status[4];
    int64_t created[4];
} chk_idems;

static void chk_on_idem(void *ud, const store_idem_row *r)
{
    chk_idems *s = ud;

    if (s->n < 4) {
        CHK_S(s->token[s->n], r->token_id);
        CHK_S(s->key[s->n], r->key);
        CHK_S(s->method[s->n], r->method);
        CHK_S(s->path[s->n], r->path);
        CHK_S(s->response[s->n], r->response);
        s->status[s->n] = r->status;
        s->created[s->n++] = r->created_unix;
    }
}

/* Idempotency records: once per (token, key); the first answer stays. */
static void chk_idem_once(chk_env *e)
{
    store_idem_row a = {"tk_1", "key-1", "POST", "/v1/bookings", "abc", 201, "{\"id\":1}", 0};
    store_idem_row b = {"tk_1", "key-1", "POST", "/v1/bookings", "abc", 500, "{\"id\":2}", 0};
    store_idem_row c = {"tk_2", "key-1", "POST", "/v1/riders", "def", 200, "{}", 0};
    int64_t before = (int64_t)time(NULL) - 600;
    store_txn *t = chk_txn(e);
    chk_idems s;
    char err[300];

    assert_int_equal(e->st.ops->put_idem(t, &a), 0);
    assert_int_equal(chk_commit(e, t), 0);
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_idem(t, &b), 0);
    assert_int_equal(e->st.ops->put_idem(t, &c), 0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "idempotency_keys"), 2);
    memset(&s, 0, sizeof(s));
    assert_int_equal(e->st.ops->load_idem(e->st.ctx, 24, chk_on_idem, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(s.created[i] > before); /* unix seconds, not ms or 0 */
        assert_true(s.created[i] < before + 100000);
        if (strcmp(s.token[i], "tk_1") == 0) {
            assert_int_equal(s.status[i], 201);
            assert_string_equal(s.response[i], "{\"id\":1}");
            assert_string_equal(s.path[i], "/v1/bookings");
        }
    }
}

/* Driver events: once per (vehicle, event id); recent ones read back. */
static void chk_driver_events_once(chk_env *e)
{
    store_driver_event_row a = {"v1",         "e-1",           "arrived", "bk_a",
                                "2030-04-01", 1700000000123LL, "ok"};
    store_driver_event_row b = {"v1", "e-1", "arrived", "bk_a", "2030-04-01", 5, "refused"};
    store_driver_event_row c = {"v2", "e-1", "break_start", NULL, "2030-04-01", -1, "ok"};
    store_txn *t;
    chk_drvs got;

    chk_fleet(e);
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_driver_event(t, &a), 0);
    assert_int_equal(e->st.ops->put_driver_event(t, &b), 0);
    assert_int_equal(chk_commit(e, t), 0);
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_driver_event(t, &b), 0);
    assert_int_equal(e->st.ops->put_driver_event(t, &c), 0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "driver_events"), 2);
    memset(&got, 0, sizeof(got));
    chk_pending++;
    e->st.ops->driver_events_recent(e->st.ctx, 48, chk_on_drvs, &got);
    e->settle(e);
    assert_int_equal(got.called, 1);
    assert_int_equal(got.rc, 0);
    assert_int_equal(got.n, 2);
    for (int i = 0; i < 2; i++) {
        if (strcmp(got.vehicle[i], "v1") == 0) {
            assert_string_equal(got.result[i], "ok");
            assert_true(got.unix_ms[i] == 1700000000123LL);
            assert_string_equal(got.booking[i], "bk_a");
        } else {
            assert_string_equal(got.vehicle[i], "v2");
            assert_string_equal(got.booking[i], "");
            assert_true(got.unix_ms[i] == 0);
        }
    }
}

/* Riders: inserted, searched by phone digits and by name/kana (wildcards
 * taken literally), read by ids (a quote in an id), a duplicate refused. */
static void chk_riders_ops(chk_env *e)
{
    store_txn *t = chk_txn(e);
    store_rider_row r;
    chk_riders got;
    const char *ids[3] = {"r_\"q", "r_b", "r_none"};

    chk_rider_put(e, t, "r_a", "Suzuki Ichiro", "すずき いちろう", "090-1234-5678");
    chk_rider_put(e, t, "r_b", "Sato 100% Hanako", "さとう はなこ", "03 5555 0000");
    chk_rider_put(e, t, "r_\"q", "Tanaka_Jiro", "たなか じろう", "");
    memset(&r, 0, sizeof(r));
    r.id = "r_home";
    r.name = "Home Owner";
    r.name_kana = "ほーむ";
    r.phone_digits = "0311112222";
    r.home_stop_id = "s_home";
    r.home_lat = 35.1234567;
    r.home_lon = 139.7654321;
    r.wheelchair = 1;
    r.mobility = "walker";
    assert_int_equal(e->st.ops->put_rider(t, &r), 0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "riders"), 4);

    chk_search(e, "1234", NULL, 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_a");
    assert_string_equal(got.r[0].digits, "09012345678");
    assert_true(isnan(got.r[0].lat));
    assert_true(strlen(got.r[0].created) >= 20); /* ISO time */
    chk_search(e, "(090) 1234", NULL, 10, &got); /* only the digits count */
    assert_int_equal(got.n, 1);
    chk_search(e, NULL, "suzuki", 10, &got); /* any case */
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_a");
    chk_search(e, NULL, "はなこ", 10, &got); /* kana */
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_b");
    chk_search(e, NULL, "%", 10, &got); /* literally */
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_b");
    chk_search(e, NULL, "_", 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_\"q");
    chk_search(e, "0", NULL, 10, &got); /* ordered by kana */
    assert_int_equal(got.n, 3);
    assert_string_equal(got.r[0].id, "r_b");    /* さとう */
    assert_string_equal(got.r[1].id, "r_a");    /* すずき */
    assert_string_equal(got.r[2].id, "r_home"); /* ほーむ */
    chk_search(e, "0", NULL, 2, &got);
    assert_int_equal(got.n, 2);
    chk_search(e, "0", "sato", 10, &got); /* both given: both must match */
    assert_int_equal(got.n, 1);
    chk_search(e, "0311112222", NULL, 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].stop, "s_home");
    assert_true(fabs(got.r[0].lat - 35.1234567) < 1e-6);
    assert_true(fabs(got.r[0].lon - 139.7654321) < 1e-6);
    assert_int_equal(got.r[0].wheelchair, 1);
    assert_string_equal(got.r[0].mobility, "walker");

    memset(&got, 0, sizeof(got));
    chk_pending++;
    e->st.ops->riders_get(e->st.ctx, ids, 3, chk_on_riders, &got);
    e->settle(e);
    assert_int_equal(got.rc, 0);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.r[0].id, "r_\"q"); /* by id */
    assert_string_equal(got.r[1].id, "r_b");
    assert_string_equal(got.r[1].phone, "03 5555 0000");

    /* a duplicate id refuses the whole transaction */
    t = chk_txn(e);
    chk_rider_put(e, t, "r_new", "New", "", "");
    chk_rider_put(e, t, "r_a", "Again", "", "");
    assert_int_equal(chk_commit(e, t), DB_ECONFLICT);
    assert_int_equal(e->count(e, "riders"), 4);
}

typedef struct chk_toks {
    int n;
    char id[8][16], role[8][16], rider[8][16], vehicle[8][16], label[8][16];
} chk_toks;

static void chk_on_token(void *ud, const store_token_row *r)
{
    chk_toks *s = ud;

    if (s->n < 8) {
        CHK_S(s->id[s->n], r->id);
        CHK_S(s->role[s->n], r->role);
        CHK_S(s->rider[s->n], r->rider_id);
        CHK_S(s->vehicle[s->n], r->vehicle_id);
        CHK_S(s->label[s->n++], r->label);
    }
}

static void chk_ids(void *ud, const char *id)
{
    chk_toks *s = ud;

    if (s->n < 8)
        CHK_S(s->id[s->n++], id);
}

/* Tokens: inserted, revoked (twice is harmless), loaded when not revoked;
 * a second token with the same hash is refused. */
static void chk_tokens(chk_env *e)
{
    store_token_row a = {"tk_a", "sha-a", "admin", NULL, NULL, "first"};
    store_token_row r = {"tk_r", "sha-r", "rider", "r_a", "", NULL};
    store_token_row d = {"tk_d", "sha-d", "driver", NULL, "v1", "van"};
    store_token_row dup = {"tk_x", "sha-a", "operator", NULL, NULL, ""};
    store_txn *t;
    chk_toks s;
    char err[300];

    chk_fleet(e);
    t = chk_txn(e);
    chk_rider_put(e, t, "r_a", "A", "", "");
    assert_int_equal(e->st.ops->put_token(t, &a), 0);
    assert_int_equal(e->st.ops->put_token(t, &r), 0);
    assert_int_equal(e->st.ops->put_token(t, &d), 0);
    assert_int_equal(chk_commit(e, t), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(e->st.ops->load_tokens(e->st.ctx, chk_on_token, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++) {
        if (strcmp(s.id[i], "tk_r") == 0) {
            assert_string_equal(s.rider[i], "r_a");
            assert_string_equal(s.vehicle[i], "(null)"); /* "" is none */
            assert_string_equal(s.label[i], "");
        } else if (strcmp(s.id[i], "tk_d") == 0) {
            assert_string_equal(s.vehicle[i], "v1");
            assert_string_equal(s.role[i], "driver");
        }
    }
    t = chk_txn(e);
    assert_int_equal(e->st.ops->revoke_token(t, "tk_r"), 0);
    assert_int_equal(e->st.ops->revoke_token(t, "tk_r"), 0);
    assert_int_equal(e->st.ops->revoke_token(t, "tk_none"), 0);
    assert_int_equal(chk_commit(e, t), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(e->st.ops->load_tokens(e->st.ctx, chk_on_token, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 2);
    assert_true(strcmp(s.id[0], "tk_r") != 0 && strcmp(s.id[1], "tk_r") != 0);
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_token(t, &dup), 0);
    assert_int_equal(chk_commit(e, t), DB_ECONFLICT);
    assert_int_equal(e->count(e, "tokens"), 3);
    memset(&s, 0, sizeof(s));
    assert_int_equal(e->st.ops->load_rider_ids(e->st.ctx, chk_ids, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], "r_a");
}

/* A van out of service on a date is read back for that date only. */
static void chk_vehicle_out(chk_env *e)
{
    store_txn *t;
    chk_toks s;
    char err[300];

    chk_fleet(e);
    t = chk_txn(e);
    assert_int_equal(e->st.ops->vehicle_out(t, "v2", "2030-04-01"), 0);
    assert_int_equal(e->st.ops->vehicle_out(t, "v_none", "2030-04-01"), 0);
    assert_int_equal(chk_commit(e, t), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        e->st.ops->load_out_of_service(e->st.ctx, "2030-04-01", chk_ids, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], "v2");
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        e->st.ops->load_out_of_service(e->st.ctx, "2030-04-02", chk_ids, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 0);
    /* the fleet upserted again keeps the mark (it is not the fleet's) */
    chk_fleet(e);
    assert_int_equal(e->count(e, "vehicles"), 2);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        e->st.ops->load_out_of_service(e->st.ctx, "2030-04-01", chk_ids, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
}

static void chk_put_bookings(chk_env *e, const store_booking_row *b, int n)
{
    store_txn *t = chk_txn(e);

    for (int i = 0; i < n; i++)
        assert_int_equal(e->st.ops->put_booking(t, &b[i]), 0);
    assert_int_equal(chk_commit(e, t), 0);
}

/* A stored booking ends once: the status moves only from the status the
 * caller saw, with one event; a cancellation's detail is its reason. */
static void chk_end_stored(chk_env *e)
{
    store_booking_row b[2] = {chk_booking("bk_a", "2030-04-01", NULL, "confirmed"),
                              chk_booking("bk_o", "2030-04-01", NULL, "offered")};
    store_txn *t;
    chk_bks got;

    chk_fleet(e);
    chk_put_bookings(e, b, 2);
    t = chk_txn(e);
    assert_int_equal(
        e->st.ops->mark_attention(t, "bk_a", "confirmed", "not_planned", 50, "restore", "ev_m"), 0);
    assert_int_equal(chk_commit(e, t), 0);
    t = chk_txn(e);
    assert_int_equal(e->st.ops->end_stored_booking(t, "bk_a", "confirmed", "cancelled", 100,
                                                   "operator", "tk_op", "ev_c1"),
                     0);
    assert_int_equal(e->st.ops->end_stored_booking(t, "bk_o", "offered", "expired", 100,
                                                   "not_restored", "restore", "ev_x1"),
                     0);
    assert_int_equal(chk_commit(e, t), 0);
    chk_get(e, "bk_a", &got);
    assert_string_equal(got.r[0].status, "cancelled");
    assert_string_equal(got.r[0].reason, "operator");
    assert_string_equal(got.r[0].attention, "(null)");
    chk_get(e, "bk_o", &got);
    assert_string_equal(got.r[0].status, "expired");
    assert_string_equal(got.r[0].reason, ""); /* an expiry leaves the reason */
    assert_int_equal(e->count(e, "booking_events"), 3);
    /* again (a re-send, or a second try with a new key): nothing more */
    t = chk_txn(e);
    assert_int_equal(e->st.ops->end_stored_booking(t, "bk_a", "confirmed", "cancelled", 100,
                                                   "operator", "tk_op", "ev_c1"),
                     0);
    assert_int_equal(e->st.ops->end_stored_booking(t, "bk_a", "confirmed", "cancelled", 100,
                                                   "operator", "tk_op", "ev_c2"),
                     0);
    assert_int_equal(e->st.ops->end_stored_booking(t, "bk_none", "confirmed", "cancelled", 100,
                                                   "operator", "tk_op", "ev_c3"),
                     0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "booking_events"), 3);
    chk_get(e, "bk_a", &got);
    assert_string_equal(got.r[0].status, "cancelled");
}

/* The start's mark: once (a later failing start adds nothing), the van and
 * planned times dropped; listed by the attention filter. */
static void chk_mark_attention(chk_env *e)
{
    store_booking_row b[2] = {chk_booking("bk_a", "2030-04-01", NULL, "confirmed"),
                              chk_booking("bk_b", "2030-04-01", NULL, "confirmed")};
    store_booking_filter f = {NULL, NULL, NULL, NULL, 1, 0};
    store_txn *t;
    chk_bks got;

    chk_fleet(e);
    chk_put_bookings(e, b, 2);
    t = chk_txn(e);
    assert_int_equal(
        e->st.ops->mark_attention(t, "bk_a", "confirmed", "not_planned", 50, "restore", "ev_m1"),
        0);
    assert_int_equal(
        e->st.ops->mark_attention(t, "bk_b", "offered", "not_planned", 50, "restore", "ev_m2"),
        0); /* not its status: nothing */
    assert_int_equal(chk_commit(e, t), 0);
    t = chk_txn(e);
    assert_int_equal(
        e->st.ops->mark_attention(t, "bk_a", "confirmed", "not_planned", 60, "restore", "ev_m3"),
        0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "booking_events"), 1);
    chk_get(e, "bk_a", &got);
    assert_string_equal(got.r[0].attention, "not_planned");
    assert_string_equal(got.r[0].status, "confirmed");
    assert_string_equal(got.r[0].vehicle, "(null)");
    assert_int_equal(got.r[0].planned_pickup_s, -1);
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "bk_a");
    f.attention = 0;
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "bk_b");
    f.attention = -1;
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 2);
}

/* The bookings list: each filter, the cursor, the limit, ordered by id. */
static void chk_booking_filters(chk_env *e)
{
    store_booking_row b[5] = {
        chk_booking("bk_c", "2030-04-01", "r_1", "confirmed"),
        chk_booking("bk_a", "2030-04-01", "r_2", "cancelled"),
        chk_booking("bk_e", "2030-04-02", "r_1", "confirmed"),
        chk_booking("bk_b", "2030-04-02", NULL, "offered"),
        chk_booking("bk_d", "2030-04-01", "r_1", "completed"),
    };
    store_booking_filter f = {NULL, NULL, NULL, NULL, -1, 0};
    store_txn *t = chk_txn(e);
    chk_bks got;

    chk_fleet(e);
    chk_rider_put(e, t, "r_1", "One", "", "");
    chk_rider_put(e, t, "r_2", "Two", "", "");
    assert_int_equal(chk_commit(e, t), 0);
    chk_put_bookings(e, b, 5);
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 5);
    for (int i = 0; i < 5; i++) {
        char want[8] = "bk_a";
        want[3] = (char)('a' + i);
        assert_string_equal(got.r[i].id, want);
    }
    f.rider_id = "r_1";
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 3);
    assert_string_equal(got.r[0].id, "bk_c");
    f.date = "2030-04-01";
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 2);
    f.status = "completed";
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "bk_d");
    f.rider_id = f.date = f.status = NULL;
    f.after_id = "bk_b";
    f.limit = 2;
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.r[0].id, "bk_c");
    assert_string_equal(got.r[1].id, "bk_d");
    f.after_id = "bk_e";
    chk_list(e, &f, &got);
    assert_int_equal(got.n, 0);
}

typedef struct chk_opens {
    int n;
    char id[8][16];
} chk_opens;

static void chk_on_open(void *ud, const store_booking_row *r)
{
    chk_opens *s = ud;

    if (s->n < 8)
        CHK_S(s->id[s->n++], r->id);
}

/* Open bookings from a date: picked up, then confirmed/assigned, offers
 * last, within a date, by promised pickup; the rest left out. */
static void chk_open_bookings_order(chk_env *e)
{
    store_booking_row b[7] = {
        chk_booking("bk_1", "2030-04-01", NULL, "offered"),
        chk_booking("bk_2", "2030-04-01", NULL, "confirmed"),
        chk_booking("bk_3", "2030-04-01", NULL, "picked_up"),
        chk_booking("bk_4", "2030-04-01", NULL, "assigned"),
        chk_booking("bk_5", "2030-04-02", NULL, "picked_up"),
        chk_booking("bk_6", "2030-03-31", NULL, "confirmed"),
        chk_booking("bk_7", "2030-04-01", NULL, "completed"),
    };
    chk_opens s;
    char err[300];

    chk_fleet(e);
    b[1].promise_from_s = 10 * 3600;
    b[3].promise_from_s = 8 * 3600;
    chk_put_bookings(e, b, 7);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        e->st.ops->load_open_bookings(e->st.ctx, "2030-04-01", chk_on_open, &s, err, sizeof(err)),
        0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.id[0], "bk_3");
    assert_string_equal(s.id[1], "bk_4");
    assert_string_equal(s.id[2], "bk_2");
    assert_string_equal(s.id[3], "bk_1");
    assert_string_equal(s.id[4], "bk_5");
}

/* exec_txn_blocking: one transaction, committed at once or not at all. */
static void chk_blocking_txn(chk_env *e)
{
    store_booking_row b = chk_booking("bk_a", "2030-04-01", "r_1", "confirmed");
    store_txn *t = chk_txn(e);
    char err[300];
    chk_bks got;

    chk_fleet(e);
    chk_rider_put(e, t, "r_1", "One", "", "");
    assert_int_equal(e->st.ops->put_booking(t, &b), 0);
    chk_one_event(e, t, "bk_a", "ev_1");
    assert_int_equal(e->st.ops->exec_txn_blocking(e->st.ctx, t, err, sizeof(err)), 0);
    assert_int_equal(e->count(e, "riders"), 1);
    chk_get(e, "bk_a", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].rider, "r_1");

    t = chk_txn(e);
    chk_rider_put(e, t, "r_2", "Two", "", "");
    chk_one_event(e, t, "bk_a", "ev_2");
    chk_rider_put(e, t, "r_1", "Again", "", "");
    assert_int_equal(e->st.ops->exec_txn_blocking(e->st.ctx, t, err, sizeof(err)), DB_ECONFLICT);
    assert_true(err[0] != '\0');
    assert_int_equal(e->count(e, "riders"), 1);
    assert_int_equal(e->count(e, "booking_events"), 1);

    t = chk_txn(e); /* empty: nothing to do */
    assert_int_equal(e->st.ops->exec_txn_blocking(e->st.ctx, t, err, sizeof(err)), 0);
}

/* Transactions' callbacks come in order of submission; an empty
 * transaction commits (rc 0) in its turn.  A read is not ordered with the
 * writes: PostgreSQL's may run on the second connection before a group
 * commit it was submitted after (its answer is the old or the new row,
 * never an error). */
static void chk_callback_order(chk_env *e)
{
    store_booking_row b = chk_booking("bk_a", "2030-04-01", NULL, "confirmed");
    chk_done d[4];
    chk_bks got;
    store_txn *t[4];

    chk_fleet(e);
    memset(d, 0, sizeof(d));
    memset(&got, 0, sizeof(got));
    for (int i = 0; i < 4; i++)
        t[i] = chk_txn(e);
    chk_one_event(e, t[0], "bk_a", "ev_1");
    assert_int_equal(e->st.ops->put_booking(t[1], &b), 0);
    chk_one_event(e, t[3], "bk_a", "ev_2");
    for (int i = 0; i < 3; i++) {
        chk_pending++;
        e->st.ops->txn_submit(t[i], chk_on_done, &d[i]);
    }
    chk_pending++;
    e->st.ops->booking_get(e->st.ctx, "bk_a", chk_on_bookings, &got);
    chk_pending++;
    e->st.ops->txn_submit(t[3], chk_on_done, &d[3]);
    /* never from inside a submit */
    for (int i = 0; i < 4; i++)
        assert_int_equal(d[i].called, 0);
    assert_int_equal(got.called, 0);
    e->settle(e);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(d[i].called, 1);
        assert_int_equal(d[i].rc, 0);
    }
    assert_true(d[0].order < d[1].order);
    assert_true(d[1].order < d[2].order);
    assert_true(d[2].order < d[3].order);
    assert_int_equal(got.called, 1);
    assert_int_equal(got.rc, 0);
    assert_true(got.n == 0 || got.n == 1);
    assert_int_equal(e->count(e, "booking_events"), 2);
}

/* A record the SQL refuses (passengers 0; a plan of an unknown van) fails
 * its whole transaction for good, and nothing of it is kept. */
static void chk_refused(chk_env *e)
{
    store_booking_row b = chk_booking("bk_a", "2030-04-01", NULL, "confirmed");
    store_plan_row p = {"v_none", "2030-04-01", 1, "[]"};
    store_txn *t;
    int rc;

    chk_fleet(e);
    b.passengers = 0;
    t = chk_txn(e);
    chk_one_event(e, t, "bk_a", "ev_1");
    assert_int_equal(e->st.ops->put_booking(t, &b), 0);
    rc = chk_commit(e, t);
    assert_true(rc == DB_EQUERY);
    t = chk_txn(e);
    chk_one_event(e, t, "bk_a", "ev_2");
    assert_int_equal(e->st.ops->put_plan(t, &p), 0);
    rc = chk_commit(e, t);
    assert_true(rc == DB_EQUERY);
    assert_int_equal(e->count(e, "booking_events"), 0);
    assert_int_equal(e->count(e, "bookings"), 0);
    assert_int_equal(e->count(e, "plans"), 0);
    /* a transaction never submitted is freed */
    t = chk_txn(e);
    chk_one_event(e, t, "bk_a", "ev_3");
    e->st.ops->txn_free(t);
    assert_int_equal(e->count(e, "booking_events"), 0);
}

static void chk_riders_get1(chk_env *e, const char *id, chk_riders *got)
{
    const char *ids[1] = {id};

    memset(got, 0, sizeof(*got));
    chk_pending++;
    e->st.ops->riders_get(e->st.ctx, ids, 1, chk_on_riders, got);
    e->settle(e);
    assert_int_equal(got->rc, 0);
}

static void chk_by_phone(chk_env *e, const char *phone, chk_riders *got)
{
    memset(got, 0, sizeof(*got));
    chk_pending++;
    e->st.ops->riders_by_phone(e->st.ctx, phone, chk_on_riders, got);
    e->settle(e);
    assert_int_equal(got->called, 1);
    assert_int_equal(got->rc, 0);
}

/* Riders folded for search (issue 12): name and kana across katakana,
 * hiragana, half-width and spaces; phone numbers in every form; the exact
 * look-up by phone of the duplicate check; an edit re-folds. */
static void chk_riders_fold(chk_env *e)
{
    static const char *const names[] = {"ヤマダ", "やまだ", "ﾔﾏﾀﾞ", "やまだはな",
                                         "やまだ　はな", "ハナコ", "山田"};
    store_txn *t = chk_txn(e);
    store_rider_row r;
    chk_riders got;

    chk_rider_put(e, t, "r_y", "山田 花子", "やまだ はなこ", "+81 90-1234-5678");
    chk_rider_put(e, t, "r_s", "ＳＵＺＵＫＩ　Ｔａｒｏ", "ｽｽﾞｷ ﾀﾛｳ", "０３（５５５５）００００");
    chk_rider_put(e, t, "r_n", "No Phone", "", "");
    assert_int_equal(chk_commit(e, t), 0);
    chk_riders_get1(e, "r_y", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].fold, "山田花子 やまだはなこ");
    assert_string_equal(got.r[0].digits, "09012345678");
    assert_string_equal(got.r[0].phone, "+81 90-1234-5678"); /* as given */
    assert_string_equal(got.r[0].merged, "(null)");
    chk_riders_get1(e, "r_s", &got);
    assert_string_equal(got.r[0].fold, "suzukitaro すずきたろう");
    assert_string_equal(got.r[0].digits, "0355550000");

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        chk_search(e, NULL, names[i], 10, &got);
        if (got.n != 1 || strcmp(got.r[0].id, "r_y") != 0)
            fail_msg("\"%s\" found %d riders", names[i], got.n);
    }
    chk_search(e, NULL, "すずき", 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_s");
    chk_search(e, NULL, "Suzuki Taro", 10, &got);
    assert_int_equal(got.n, 1);
    chk_search(e, NULL, "はなこ すずき", 10, &got); /* never across riders or fields */
    assert_int_equal(got.n, 0);
    chk_search(e, "090-1234-5678", NULL, 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_y");
    chk_search(e, "+81 90 1234 5678", NULL, 10, &got);
    assert_int_equal(got.n, 1);
    chk_search(e, "５６７８", NULL, 10, &got);
    assert_int_equal(got.n, 1);

    /* exact: the whole number in any form, never a part of it, never "" */
    chk_by_phone(e, "０９０ー１２３４ー５６７８", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_y");
    chk_by_phone(e, "81 90 1234 5678", &got);
    assert_int_equal(got.n, 1);
    chk_by_phone(e, "1234-5678", &got);
    assert_int_equal(got.n, 0);
    chk_by_phone(e, "", &got);
    assert_int_equal(got.n, 0);

    /* an edit replaces the editable fields and folds them again */
    memset(&r, 0, sizeof(r));
    r.id = "r_y";
    r.name = "山田 花江";
    r.name_kana = "ヤマダ ハナエ";
    r.phone = "03-1111-2222";
    r.home_address = "中央1-2";
    r.home_stop_id = "s_home";
    r.home_lat = 35.5;
    r.home_lon = 139.5;
    r.wheelchair = 1;
    r.mobility = "cane";
    r.notes = "edited";
    t = chk_txn(e);
    assert_int_equal(e->st.ops->update_rider(t, &r), 0);
    r.id = "r_none"; /* an unknown id changes nothing */
    assert_int_equal(e->st.ops->update_rider(t, &r), 0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(e->count(e, "riders"), 3);
    chk_riders_get1(e, "r_y", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].name, "山田 花江");
    assert_string_equal(got.r[0].fold, "山田花江 やまだはなえ");
    assert_string_equal(got.r[0].digits, "0311112222");
    assert_string_equal(got.r[0].stop, "s_home");
    assert_string_equal(got.r[0].mobility, "cane");
    assert_int_equal(got.r[0].wheelchair, 1);
    assert_true(fabs(got.r[0].lat - 35.5) < 1e-6);
    assert_true(strlen(got.r[0].created) >= 20); /* kept */
    chk_search(e, NULL, "はなこ", 10, &got);
    assert_int_equal(got.n, 0);
    chk_search(e, NULL, "ﾊﾅｴ", 10, &got);
    assert_int_equal(got.n, 1);
    chk_by_phone(e, "090-1234-5678", &got);
    assert_int_equal(got.n, 0);
}

/* Merging riders: the bookings move, the rider stays but is found by no
 * search; refused (nothing changed) with a trip in progress, into itself,
 * into a merged rider, from or into an unknown one. */
static void chk_riders_merge(chk_env *e)
{
    store_booking_row b[4] = {
        chk_booking("bk_m1", "2030-04-01", "r_old", "confirmed"),
        chk_booking("bk_m2", "2030-04-02", "r_old", "completed"),
        chk_booking("bk_m3", "2030-04-01", "r_new", "confirmed"),
        chk_booking("bk_m4", "2030-04-01", "r_busy", "picked_up"),
    };
    store_booking_filter f = {NULL, NULL, NULL, NULL, -1, 0};
    store_txn *t = chk_txn(e);
    chk_riders got;
    chk_bks bks;

    chk_fleet(e);
    chk_rider_put(e, t, "r_old", "重複 太郎", "ちょうふく たろう", "090-0000-1111");
    chk_rider_put(e, t, "r_new", "重複 太郎", "チョウフク タロウ", "09000001111");
    chk_rider_put(e, t, "r_busy", "乗車中", "じょうしゃちゅう", "");
    chk_rider_put(e, t, "r_x", "Other", "", "");
    assert_int_equal(chk_commit(e, t), 0);
    chk_put_bookings(e, b, 4);
    chk_by_phone(e, "090-0000-1111", &got); /* the duplicate */
    assert_int_equal(got.n, 2);
    assert_string_equal(got.r[0].id, "r_new");
    assert_string_equal(got.r[1].id, "r_old");

    t = chk_txn(e);
    assert_int_equal(e->st.ops->merge_rider(t, "r_old", "r_new"), 0);
    assert_int_equal(chk_commit(e, t), 0);
    f.rider_id = "r_new";
    chk_list(e, &f, &bks);
    assert_int_equal(bks.n, 3);
    assert_string_equal(bks.r[0].id, "bk_m1");
    assert_string_equal(bks.r[1].id, "bk_m2");
    assert_string_equal(bks.r[2].id, "bk_m3");
    f.rider_id = "r_old";
    chk_list(e, &f, &bks);
    assert_int_equal(bks.n, 0);
    chk_riders_get1(e, "r_old", &got); /* kept, marked */
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].merged, "r_new");
    chk_search(e, NULL, "ちょうふく", 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_new");
    chk_search(e, "0000-1111", NULL, 10, &got);
    assert_int_equal(got.n, 1);
    chk_by_phone(e, "090-0000-1111", &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.r[0].id, "r_new");
    assert_int_equal(e->count(e, "riders"), 4);

    /* each refused merge changes nothing: a trip in progress, a merged
     * rider (either side), itself, unknown riders; a merge sent twice is
     * the first one only */
    t = chk_txn(e);
    assert_int_equal(e->st.ops->merge_rider(t, "r_busy", "r_x"), 0);
    assert_int_equal(e->st.ops->merge_rider(t, "r_x", "r_old"), 0);
    assert_int_equal(e->st.ops->merge_rider(t, "r_old", "r_x"), 0);
    assert_int_equal(e->st.ops->merge_rider(t, "r_x", "r_x"), 0);
    assert_int_equal(e->st.ops->merge_rider(t, "r_none", "r_x"), 0);
    assert_int_equal(e->st.ops->merge_rider(t, "r_x", "r_none"), 0);
    assert_int_equal(chk_commit(e, t), 0);
    f.rider_id = "r_busy";
    chk_list(e, &f, &bks);
    assert_int_equal(bks.n, 1);
    f.rider_id = "r_x";
    chk_list(e, &f, &bks);
    assert_int_equal(bks.n, 0);
    f.rider_id = "r_new";
    chk_list(e, &f, &bks);
    assert_int_equal(bks.n, 3);
    for (int i = 0; i < 2; i++) {
        chk_riders_get1(e, i == 0 ? "r_busy" : "r_x", &got);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.r[0].merged, "(null)");
    }
    chk_riders_get1(e, "r_old", &got);
    assert_string_equal(got.r[0].merged, "r_new");
}

/* Every shared check: X(name) for each (no separators, so a program can
 * define a wrapper per check and list them with the same macro). */
#define CHK_EACH(X)                                                                                \
    X(chk_booking_upsert)                                                                          \
    X(chk_event_once)                                                                              \
    X(chk_plan_newest)                                                                             \
    X(chk_idem_once)                                                                               \
    X(chk_driver_events_once)                                                                      \
    X(chk_riders_ops)                                                                              \
    X(chk_riders_fold)                                                                             \
    X(chk_riders_merge)                                                                            \
    X(chk_tokens)                                                                                  \
    X(chk_vehicle_out)                                                                             \
    X(chk_end_stored)                                                                              \
    X(chk_mark_attention)                                                                          \
    X(chk_booking_filters)                                                                         \
    X(chk_open_bookings_order)                                                                     \
    X(chk_blocking_txn)                                                                            \
    X(chk_callback_order)                                                                          \
    X(chk_refused)

#endif
