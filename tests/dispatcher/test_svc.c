/*
 * test_svc.c - the service layer (dispatcher/svc.h) over the in-memory
 * store: the commit queue, what happens when a commit fails or its outcome
 * is unknown, idempotency records the store refuses for good, the day
 * roll-over with a commit in flight, rows a re-plan moved, and restore.
 *
 * Each case drives the layer as the daemon does (offers through the day
 * core of an svc_day, side data with svc_bk_new, svc_commit, svc_tick) with
 * a clock of the test's own (svc_hooks.unix_now) in Asia/Tokyo, and reads
 * back what the memory store kept.  Store failures are injected with
 * store_mem_fail_next; callbacks run at store_mem_pump.
 *
 * Checks:
 *   commit          a booking's events, row and the vans' plans stored once
 *   failed          a failed commit keeps everything queued (unstored), the
 *                   next one stores it, each event once
 *   unknown         an outcome-unknown commit re-sent: events once (keys)
 *   half_built      rows a half-built commit never reached are stored later
 *   resweep         rows that could not be queued: every booking re-stored
 *   idem_refused    an idempotency record refused for good is dropped, the
 *                   queue goes on, the key is free again
 *   rollover        yesterday is kept while a commit holding its rows is in
 *                   flight and that commit fails; dropped once stored
 *   moved_rows      a booking moved to another van is queued again
 *   random_no_fds   ids from the kernel's randomness also with every file
 *                   descriptor in use (the old fallback made tokens from the
 *                   clock then); 2,000 ids, all distinct and all hex
 *   restore         offers that cannot be restored expire (row + event); a
 *                   confirmed trip whose window passed is marked for the
 *                   operators once; an open one comes back into a plan
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
#include <time.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "data/db/db.h"
#include "dispatcher/svc.h"

static area *g_area;
static int64_t g_now; /* the test's clock, unix seconds */

static int64_t test_clock(void *ud)
{
    (void)ud;
    return g_now;
}

/* Unix seconds of hh:mm on the local date of `base` shifted by days. */
static int64_t local_at(int days, int hh, int mm)
{
    time_t t = (time_t)1796000000 + (time_t)days * 86400; /* a day in 2026 */
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

typedef struct fx {
    store_mem *mem;
    svc *s;
    svc_vehicle_def vans[3];
    int done_rc, n_done;
} fx;

static void on_done(void *ud, int rc)
{
    fx *f = ud;
    f->done_rc = rc;
    f->n_done++;
}

/* The fleet (by the restore of an empty store) and the rider the trips
 * are for, as the daemon's start and POST /v1/riders make them. */
static void add_rider(store_mem *mem, svc *s)
{
    store st = store_mem_store(mem);
    store_rider_row r = {.id = "r_test", .name = "試験 太郎", .home_lat = NAN, .home_lon = NAN};
    char err[256];
    store_txn *t = st.ops->txn_new(st.ctx);

    assert_int_equal(svc_restore(s, err, sizeof(err)), 0);
    assert_non_null(t);
    assert_int_equal(st.ops->put_rider(t, &r), 0);
    assert_int_equal(st.ops->exec_txn_blocking(st.ctx, t, err, sizeof(err)), 0);
    svc_rider_add(s, "r_test");
}

/* A service layer over f->mem with f->vans (n of them). */
static void fx_open(fx *f, int n_vans, int max_lead_days)
{
    svc_config cfg;
    svc_hooks hooks = {.ud = f, .unix_now = test_clock};

    memset(&cfg, 0, sizeof(cfg));
    cfg.vehicles = f->vans;
    cfg.n_vehicles = n_vans;
    dsp_rules_default(&cfg.rules);
    cfg.rules.service_start_s = 7 * 3600;
    cfg.rules.service_end_s = 23 * 3600 + 30 * 60;
    cfg.max_lead_days = max_lead_days;
    cfg.rules.max_lead_s = (max_lead_days + 1) * 86400;
    assert_int_equal(svc_create(&cfg, g_area, store_mem_store(f->mem), &hooks, &f->s), 0);
}

static void fx_init(fx *f, int n_vans, int max_lead_days)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(store_mem_create(&f->mem), 0);
    for (int v = 0; v < n_vans; v++) {
        snprintf(f->vans[v].id, sizeof(f->vans[v].id), "van%d", v + 1);
        f->vans[v].n_configs = 1;
        f->vans[v].seats[0] = 6;
        f->vans[v].depot_stop = -1;
        f->vans[v].shift_start_s = 7 * 3600;
        f->vans[v].shift_end_s = 23 * 3600 + 59 * 60;
    }
    fx_open(f, n_vans, max_lead_days);
    add_rider(f->mem, f->s);
}

static void fx_done(fx *f)
{
    svc_destroy(f->s);
    store_mem_destroy(f->mem);
}

/* An offer on today's day from stop a to stop b, as the API makes it;
 * confirmed when confirm is set.  Its side data. */
static svc_bk *book(fx *f, int a, int b, int confirm)
{
    svc_day *d = svc_day_today(f->s, 1);
    dsp_request req;
    dsp_offer off;
    svc_bk *bk;

    assert_non_null(d);
    memset(&req, 0, sizeof(req));
    req.pickup = (dsp_place){g_area->stops[a].lat, g_area->stops[a].lon, a};
    req.drop = (dsp_place){g_area->stops[b].lat, g_area->stops[b].lon, b};
    req.when = DSP_ASAP;
    req.passengers = 1;
    assert_int_equal(dsp_request_offer(d->dsp, svc_day_now(f->s, d), &req, 1, &off), 0);
    assert_true(off.ok);
    bk = svc_bk_new(f->s, d, off.booking, "r_test", "");
    assert_non_null(bk);
    if (confirm)
        assert_int_equal(dsp_confirm(d->dsp, svc_day_now(f->s, d), bk->idx), 0);
    return bk;
}

/* Commits what is queued and runs the store's callbacks; the rc. */
static int commit_now(fx *f)
{
    int n = f->n_done;

    svc_commit(f->s, NULL, on_done, f);
    store_mem_pump(f->mem);
    assert_int_equal(f->n_done, n + 1);
    return f->done_rc;
}

static void test_commit(void **state)
{
    fx f;
    svc_bk *b;

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    b = book(&f, 3, 9, 1);
    assert_true(svc_bk_unstored(f.s, b));
    assert_int_equal(commit_now(&f), 0);
    assert_false(svc_bk_unstored(f.s, b));
    assert_false(svc_has_pending(f.s));
    assert_int_equal(store_mem_count(f.mem, "bookings"), 1);
    /* requested -> offered -> confirmed */
    assert_int_equal(store_mem_count(f.mem, "booking_events"), 3);
    assert_int_equal(store_mem_count(f.mem, "plans"), 2);
    const store_booking_row *r = store_mem_booking(f.mem, b->id);
    assert_non_null(r);
    assert_string_equal(r->status, "confirmed");
    assert_non_null(r->vehicle_id);
    fx_done(&f);
}

static void test_failed(void **state)
{
    fx f;
    svc_bk *b;

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    b = book(&f, 3, 9, 1);
    store_mem_fail_next(f.mem, 1, DB_EUNAVAIL);
    assert_int_equal(commit_now(&f), DB_EUNAVAIL);
    assert_int_equal(store_mem_count(f.mem, "bookings"), 0);
    assert_true(svc_has_pending(f.s));
    assert_true(svc_bk_unstored(f.s, b));
    assert_int_equal(f.s->m.commits_failed, 1);
    assert_int_equal(commit_now(&f), 0);
    assert_false(svc_bk_unstored(f.s, b));
    assert_int_equal(store_mem_count(f.mem, "bookings"), 1);
    assert_int_equal(store_mem_count(f.mem, "booking_events"), 3);
    fx_done(&f);
}

static void test_unknown(void **state)
{
    fx f;

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    book(&f, 3, 9, 1);
    book(&f, 4, 12, 0);
    store_mem_fail_next(f.mem, 1, DB_EUNKNOWN); /* kept, but reported unknown */
    assert_int_equal(commit_now(&f), DB_EUNKNOWN);
    assert_int_equal(store_mem_count(f.mem, "booking_events"), 5);
    assert_int_equal(commit_now(&f), 0); /* the same rows again */
    assert_int_equal(store_mem_count(f.mem, "bookings"), 2);
    assert_int_equal(store_mem_count(f.mem, "booking_events"), 5);
    fx_done(&f);
}

static void test_half_built(void **state)
{
    fx f;
    svc_bk *b[3];

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    for (int i = 0; i < 3; i++)
        b[i] = book(&f, 3 + i, 12 + i, 1);
    /* A commit that fails after taking every row marks them all again. */
    store_mem_fail_next(f.mem, 1, DB_ENOMEM);
    assert_int_equal(commit_now(&f), DB_ENOMEM);
    for (int i = 0; i < 3; i++)
        assert_true(svc_bk_unstored(f.s, b[i]));
    assert_int_equal(commit_now(&f), 0);
    assert_int_equal(store_mem_count(f.mem, "bookings"), 3);
    for (int i = 0; i < 3; i++)
        assert_false(svc_bk_unstored(f.s, b[i]));
    fx_done(&f);
}

static void test_resweep(void **state)
{
    fx f;
    svc_bk *a, *b;

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    a = book(&f, 3, 9, 1);
    b = book(&f, 4, 10, 1);
    assert_int_equal(commit_now(&f), 0);
    assert_int_equal(store_mem_count(f.mem, "bookings"), 2);
    /* An event that could not be queued (out of memory) sets resweep: the
     * next commit stores every booking's row, which carries its state. */
    svc_day *d = svc_day_today(f.s, 0);
    int n_events = f.s->n_evq;
    assert_int_equal(dsp_cancel(d->dsp, svc_day_now(f.s, d), a->idx, ""), 0);
    f.s->n_evq = n_events; /* as if the cancellation's event had been lost */
    f.s->resweep = 1;
    assert_true(svc_bk_unstored(f.s, b));
    assert_int_equal(commit_now(&f), 0);
    assert_string_equal(store_mem_booking(f.mem, a->id)->status, "cancelled");
    assert_false(svc_bk_unstored(f.s, a));
    assert_false(svc_bk_unstored(f.s, b));
    fx_done(&f);
}

static void test_idem_refused(void **state)
{
    fx f;
    svc_idem *e, *again;

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    /* Keys are checked first: not UTF-8, too long, control characters. */
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "\xff", "sha", &e), SVC_IDEM_INVALID);
    char long_key[260];
    memset(long_key, 'k', 201);
    long_key[201] = '\0';
    assert_int_equal(svc_idem_begin(f.s, "tk_1", long_key, "sha", &e), SVC_IDEM_INVALID);
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "a\tb", "sha", &e), SVC_IDEM_INVALID);
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "", "sha", &e), SVC_IDEM_INVALID);
    /* 200 characters of Japanese (600 bytes) is a key. */
    char ja[700] = "";
    for (int i = 0; i < 200; i++)
        strcat(ja, "あ");
    assert_int_equal(svc_idem_begin(f.s, "tk_1", ja, "sha", &e), SVC_IDEM_NEW);
    svc_idem_drop(f.s, e);

    assert_int_equal(svc_idem_begin(f.s, "tk_1", "key-1", "sha1", &e), SVC_IDEM_NEW);
    book(&f, 3, 9, 1);
    assert_int_equal(svc_idem_queue(f.s, e, 201, "{}", "POST", "/v1/bookings"), 0);
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "key-1", "sha1", &again), SVC_IDEM_BUSY);
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "key-1", "sha2", &again), SVC_IDEM_MISMATCH);
    /* The store refuses the transaction for good: the record is dropped,
     * the change goes on to the next commit, which succeeds. */
    store_mem_fail_next(f.mem, 1, DB_EQUERY);
    assert_int_equal(commit_now(&f), DB_EQUERY);
    assert_int_equal(f.s->m.idem_refused, 1);
    assert_int_equal(commit_now(&f), 0);
    assert_int_equal(store_mem_count(f.mem, "bookings"), 1);
    assert_int_equal(store_mem_count(f.mem, "idempotency_keys"), 0);
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "key-1", "sha1", &again), SVC_IDEM_NEW);
    svc_idem_drop(f.s, again);
    /* A record that commits is replayed. */
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "key-2", "sha1", &e), SVC_IDEM_NEW);
    assert_int_equal(svc_idem_queue(f.s, e, 200, "{\"x\":1}", "POST", "/v1/x"), 0);
    assert_int_equal(commit_now(&f), 0);
    assert_int_equal(svc_idem_begin(f.s, "tk_1", "key-2", "sha1", &again), SVC_IDEM_REPLAY);
    assert_string_equal(again->body, "{\"x\":1}");
    assert_int_equal(store_mem_count(f.mem, "idempotency_keys"), 1);
    fx_done(&f);
}

static int days_open(const svc *s)
{
    int n = 0;
    for (int i = 0; i < SVC_MAX_DAYS; i++)
        n += s->days[i].used;
    return n;
}

static void test_rollover(void **state)
{
    fx f;
    svc_bk *b;
    char id[24];

    (void)state;
    g_now = local_at(0, 23, 0);
    fx_init(&f, 2, 1);
    b = book(&f, 3, 9, 1);
    snprintf(id, sizeof(id), "%s", b->id);
    /* A commit holding yesterday's rows is in flight at midnight, and
     * fails: its rows must still exist when they come back. */
    store_mem_fail_next(f.mem, 1, DB_EUNAVAIL);
    svc_commit(f.s, NULL, on_done, &f);
    g_now = local_at(1, 0, 0) + 5;
    store_mem_set_unavailable(f.mem, 1); /* the tick cannot commit either */
    svc_tick(f.s);
    assert_int_equal(days_open(f.s), 1); /* kept: a commit is in flight */
    store_mem_pump(f.mem);                 /* it fails: rows back in the queue */
    assert_int_equal(f.done_rc, DB_EUNAVAIL);
    svc_tick(f.s);
    assert_int_equal(days_open(f.s), 1); /* kept: its rows wait to be stored */
    assert_true(svc_has_pending(f.s));
    store_mem_set_unavailable(f.mem, 0);
    svc_tick(f.s); /* commits what is queued */
    store_mem_pump(f.mem);
    assert_non_null(store_mem_booking(f.mem, id));
    assert_false(svc_has_pending(f.s));
    svc_tick(f.s); /* now yesterday goes */
    assert_int_equal(days_open(f.s), 0);
    assert_null(svc_bk_find(f.s, id));
    fx_done(&f);
}

static void test_moved_rows(void **state)
{
    fx f;
    svc_bk *b;

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    b = book(&f, 3, 9, 1);
    assert_int_equal(commit_now(&f), 0);
    /* As if a re-plan had put it on another van. */
    b->stored_vehicle = b->stored_vehicle == 0 ? 1 : 0;
    assert_int_equal(svc_refresh_moved_rows(f.s, 10), 1);
    assert_true(svc_bk_unstored(f.s, b));
    assert_int_equal(commit_now(&f), 0);
    assert_false(svc_bk_unstored(f.s, b));
    /* Nothing moved: nothing queued. */
    assert_int_equal(svc_refresh_moved_rows(f.s, 10), 0);
    assert_false(svc_bk_unstored(f.s, b));
    fx_done(&f);
}

static void test_restore(void **state)
{
    fx f, g;
    svc_bk *offer, *late, *open;
    char offer_id[24], late_id[24], open_id[24];
    char err[256];

    (void)state;
    g_now = local_at(0, 9, 0);
    fx_init(&f, 2, 1);
    offer = book(&f, 3, 9, 0);
    late = book(&f, 4, 10, 1);
    assert_int_equal(commit_now(&f), 0);
    snprintf(offer_id, sizeof(offer_id), "%s", offer->id);
    snprintf(late_id, sizeof(late_id), "%s", late->id);
    /* Later the same day, one more trip; then the daemon dies (no tick:
     * the offer is still "offered" in the store). */
    g_now = local_at(0, 14, 0);
    open = book(&f, 5, 12, 1);
    snprintf(open_id, sizeof(open_id), "%s", open->id);
    assert_int_equal(commit_now(&f), 0);
    assert_string_equal(store_mem_booking(f.mem, offer_id)->status, "offered");

    /* A new service layer over the same store, restored at 14:00. */
    store_mem *mem = f.mem;
    svc_destroy(f.s);
    memset(&g, 0, sizeof(g));
    g.mem = mem;
    memcpy(g.vans, f.vans, sizeof(g.vans));
    fx_open(&g, 2, 1);
    int events_before = store_mem_count(mem, "booking_events");
    assert_int_equal(svc_restore(g.s, err, sizeof(err)), 0);
    /* The offer expired at the restore's tick; the first commit stores it. */
    assert_int_equal(commit_now(&g), 0);
    const store_booking_row *r = store_mem_booking(mem, offer_id);
    assert_string_equal(r->status, "expired");
    r = store_mem_booking(mem, late_id);
    assert_string_equal(r->status, "confirmed");
    assert_non_null(r->attention);
    assert_string_equal(r->attention, "not_planned");
    assert_null(svc_bk_find(g.s, late_id)); /* not in any plan */
    assert_non_null(svc_bk_find(g.s, open_id));
    /* the expiry and the mark, and what the tick did to the open trip */
    int events_after = store_mem_count(mem, "booking_events");
    assert_true(events_after >= events_before + 2);
    assert_int_equal(g.s->m.not_restored, 1); /* the late trip; the offer expired at the tick */
    svc_destroy(g.s);

    /* Again: nothing more happens to them. */
    fx_open(&g, 2, 1);
    assert_int_equal(svc_restore(g.s, err, sizeof(err)), 0);
    assert_int_equal(commit_now(&g), 0);
    assert_int_equal(store_mem_count(mem, "booking_events"), events_after);
    assert_int_equal(g.s->m.not_restored, 1); /* tried again, marked already */
    svc_destroy(g.s);
    store_mem_destroy(mem);
}

static void test_random_no_fds(void **state)
{
    struct rlimit old, low;
    int fds[64], n_fds = 0;
    char ids[2000][40];

    (void)state;
    /* Exhaust descriptors: a low limit, then open until it refuses. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 48;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fd;
    while (n_fds < 64 && (fd = open("/dev/null", O_RDONLY)) >= 0)
        fds[n_fds++] = fd;
    assert_true(open("/dev/null", O_RDONLY) < 0); /* none left */
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(svc_random_id("tk_", ids[i], sizeof(ids[i])), 0);
        assert_int_equal(strlen(ids[i]), 3 + 32);
        for (const char *p = ids[i] + 3; *p; p++)
            assert_non_null(strchr("0123456789abcdef", *p));
    }
    for (int i = 0; i < n_fds; i++)
        close(fds[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    qsort(ids, 2000, sizeof(ids[0]), (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < 2000; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

int main(void)
{
    char err[256];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit),     cmocka_unit_test(test_failed),
        cmocka_unit_test(test_unknown),    cmocka_unit_test(test_half_built),
        cmocka_unit_test(test_resweep),    cmocka_unit_test(test_idem_refused),
        cmocka_unit_test(test_rollover),   cmocka_unit_test(test_moved_rows),
        cmocka_unit_test(test_restore),   cmocka_unit_test(test_random_no_fds),
    };
    int rc;

    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    if (area_synth(11, AREA_SYNTH_SMALL, &g_area, err, sizeof(err)) != 0) {
        fprintf(stderr, "area_synth: %s\n", err);
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    area_destroy(g_area);
    return rc;
}
