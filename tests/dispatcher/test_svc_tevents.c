/*
 * test_svc_tevents.c - the once-only store of tablet events
 * (dispatcher/svc_tevents.h) over a service layer (svc.h) on the in-memory
 * store (data/store/store.h), whose callbacks run only at store_mem_pump
 * and whose commits can be made to fail.
 *
 * The tablet's part is played by the test: it begins an event, judges it
 * itself (ok or a refusal text; the rules are test_svc_tablet's business)
 * and finishes it; answers are collected from the hook, by waiter.
 *
 * Cases: an event applied once and answered the same on a re-send (ok and
 * refused); a re-send while its row commits waits and both askers get one
 * answer; a failed commit (nothing kept, or kept with an unknown outcome)
 * keeps the answer pending, re-sends wait, and the retry stores the row
 * once; a retry refused for good is answered anyway; refusals past the
 * per-vehicle bound are answered at once, not stored, remembered in a ring;
 * accepted events past their bound are refused unjudged; the rate bucket
 * per vehicle; the events of a previous run read back at the start; pruning
 * after keep_ms; destroy while a commit is in flight.
 */
#include <setjmp.h> /* cmocka needs these four first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/db/db.h"
#include "data/store/store.h"
#include "dispatcher/svc.h"
#include "dispatcher/svc_tevents.h"

static area *g_area;

/* ---------------------------------------------------------------------- */
/* fixture                                                                 */

#define MAX_ANSWERS 64

typedef struct answer {
    uint64_t waiter;
    char event_id[SVC_TABLET_MAX_ID + 1];
    int ok;
    char error[SVC_TABLET_MAX_ERROR];
} answer;

typedef struct fx {
    svc_vehicle_def vans[2];
    store_mem *m;
    svc *core;
    svc_tev *t;
    svc_tev_limits lim;
    answer got[MAX_ANSWERS];
    int n_got;
    int loaded_rc, loaded_count, n_loaded;
    int64_t now_ms;
} fx;

static void on_answer(void *ud, uint64_t waiter, const char *event_id, int ok, const char *error)
{
    fx *f = ud;
    answer *a;

    assert_true(f->n_got < MAX_ANSWERS);
    a = &f->got[f->n_got++];
    a->waiter = waiter;
    snprintf(a->event_id, sizeof(a->event_id), "%s", event_id);
    a->ok = ok;
    snprintf(a->error, sizeof(a->error), "%s", error != NULL ? error : "");
}

static void on_loaded(void *ud, int rc, int count)
{
    fx *f = ud;

    f->loaded_rc = rc;
    f->loaded_count = count;
    f->n_loaded++;
}

static void pump(fx *f)
{
    for (int i = 0; i < 100 && store_mem_pump(f->m) > 0; i++)
        ;
}

/* A new svc_tev over f's service layer, loaded. */
static void tev_start(fx *f)
{
    svc_tev_hooks h = {.ud = f, .answer = on_answer, .loaded = on_loaded};

    assert_int_equal(svc_tev_create(f->core, &f->lim, &h, f->now_ms, &f->t), 0);
    assert_int_equal(svc_tev_loaded(f->t), 0);
    f->n_loaded = 0;
    assert_int_equal(svc_tev_load(f->t, f->now_ms), 0);
    pump(f);
    assert_int_equal(f->n_loaded, 1);
    assert_int_equal(f->loaded_rc, 0);
    assert_int_equal(svc_tev_loaded(f->t), 1);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    svc_config sc;

    assert_non_null(f);
    for (int v = 0; v < 2; v++) {
        svc_vehicle_def *d = &f->vans[v];
        snprintf(d->id, sizeof(d->id), "van%d", v + 1);
        d->n_configs = 1;
        d->seats[0] = 6;
        d->depot_stop = -1;
        d->shift_start_s = 7 * 3600;
        d->shift_end_s = 19 * 3600;
    }
    memset(&sc, 0, sizeof(sc));
    sc.vehicles = f->vans;
    sc.n_vehicles = 2;
    dsp_rules_default(&sc.rules);
    assert_int_equal(store_mem_create(&f->m), 0);
    /* driver_events rows name a van of the fleet */
    store st = store_mem_store(f->m);
    store_vehicle_row rows[2] = {{.id = "van1", .configs = "[{\"seats\":6,\"wheelchairs\":0}]"},
                                 {.id = "van2", .configs = "[{\"seats\":6,\"wheelchairs\":0}]"}};
    char err[200];
    assert_int_equal(st.ops->upsert_fleet(st.ctx, rows, 2, err, sizeof(err)), 0);
    assert_int_equal(svc_create(&sc, g_area, store_mem_store(f->m), NULL, &f->core), 0);
    svc_tev_limits_default(&f->lim);
    f->now_ms = 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    svc_tev_destroy(f->t);
    pump(f);
    svc_destroy(f->core);
    store_mem_destroy(f->m);
    free(f);
    return 0;
}

/* Begins (v, id) for waiter and, when new, finishes it as judged. */
static svc_tev_state tev_send(fx *f, int v, const char *id, uint64_t waiter, int ok,
                              const char *error)
{
    svc_tev_event *ev;
    const char *err;
    int was_ok;
    svc_tev_state st = svc_tev_begin(f->t, v, id, waiter, &ev, &was_ok, &err);

    if (st == SVC_TEV_NEW) {
        svc_tev_outcome o = {.ok = ok,
                             .error = error,
                             .kind = "boarded",
                             .booking_id = "bk1",
                             .date = "2024-05-01",
                             .unix_ms = 1714521600000};
        assert_non_null(ev);
        svc_tev_finish(f->t, ev, &o, f->now_ms);
    } else if (st == SVC_TEV_ANSWERED) {
        on_answer(f, waiter, id, was_ok, err);
    }
    return st;
}

static int n_rows(fx *f)
{
    return store_mem_count(f->m, "driver_events");
}

/* ---------------------------------------------------------------------- */
/* cases                                                                   */

static void test_once(void **state)
{
    fx *f = *state;

    tev_start(f);
    assert_int_equal(tev_send(f, 0, "e1", 1, 1, NULL), SVC_TEV_NEW);
    /* Not answered before it is stored. */
    assert_int_equal(f->n_got, 0);
    pump(f);
    assert_int_equal(f->n_got, 1);
    assert_int_equal(f->got[0].waiter, 1);
    assert_string_equal(f->got[0].event_id, "e1");
    assert_int_equal(f->got[0].ok, 1);
    assert_int_equal(n_rows(f), 1);

    /* Sent again, from another connection: the same answer, not judged. */
    assert_int_equal(tev_send(f, 0, "e1", 2, 0, "must not be judged"), SVC_TEV_ANSWERED);
    assert_int_equal(f->got[1].ok, 1);
    assert_int_equal(n_rows(f), 1);

    /* A refusal is answered the same way, with its text. */
    assert_int_equal(tev_send(f, 0, "e2", 1, 0, "booking bk1 is not for today"), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(f->n_got, 3);
    assert_int_equal(f->got[2].ok, 0);
    assert_string_equal(f->got[2].error, "booking bk1 is not for today");
    assert_int_equal(tev_send(f, 0, "e2", 1, 1, NULL), SVC_TEV_ANSWERED);
    assert_int_equal(f->got[3].ok, 0);
    assert_string_equal(f->got[3].error, "booking bk1 is not for today");
    assert_int_equal(n_rows(f), 2);

    /* The same event id from another vehicle is another event. */
    assert_int_equal(tev_send(f, 1, "e1", 3, 1, NULL), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(n_rows(f), 3);

    /* Ids that are no ids, and vehicles that are none. */
    svc_tev_event *ev;
    int ok;
    const char *err;
    assert_int_equal(svc_tev_begin(f->t, 0, "", 1, &ev, &ok, &err), SVC_TEV_INVALID);
    assert_int_equal(svc_tev_begin(f->t, 0, "a b", 1, &ev, &ok, &err), SVC_TEV_INVALID);
    assert_int_equal(svc_tev_begin(f->t, 2, "e9", 1, &ev, &ok, &err), SVC_TEV_INVALID);
    assert_int_equal(svc_tev_begin(f->t, -1, "e9", 1, &ev, &ok, &err), SVC_TEV_INVALID);
}

static void test_wait_while_pending(void **state)
{
    fx *f = *state;

    tev_start(f);
    assert_int_equal(tev_send(f, 0, "e1", 1, 1, NULL), SVC_TEV_NEW);
    assert_int_equal(tev_send(f, 0, "e1", 2, 0, "x"), SVC_TEV_WAITING);
    assert_int_equal(tev_send(f, 0, "e1", 2, 0, "x"), SVC_TEV_WAITING); /* not twice */
    assert_int_equal(tev_send(f, 0, "e1", 1, 0, "x"), SVC_TEV_WAITING); /* the first asker again */
    assert_int_equal(f->n_got, 0);
    pump(f);
    assert_int_equal(f->n_got, 2);
    assert_int_equal(f->got[0].waiter + f->got[1].waiter, 3);
    assert_int_equal(f->got[0].ok & f->got[1].ok, 1);
    assert_int_equal(n_rows(f), 1);
}

/* A commit that fails with rc: answered only after the retry stored it, once. */
static void failed_commit(fx *f, int rc)
{
    svc_tev_stats st;

    tev_start(f);
    store_mem_fail_next(f->m, 1, rc);
    assert_int_equal(tev_send(f, 0, "e1", 1, 0, "van1 is out of service"), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(f->n_got, 0);
    svc_tev_stats_get(f->t, &st);
    assert_int_equal(st.unstored, 1);
    /* Sent again meanwhile: it waits (and is not judged again). */
    assert_int_equal(tev_send(f, 0, "e1", 2, 1, NULL), SVC_TEV_WAITING);
    pump(f);
    assert_int_equal(f->n_got, 0);

    f->now_ms += 1000;
    svc_tev_tick(f->t, f->now_ms);
    svc_tev_stats_get(f->t, &st);
    assert_int_equal(st.unstored, 0);
    assert_int_equal(st.committing, 1);
    pump(f);
    assert_int_equal(f->n_got, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(f->got[i].ok, 0);
        assert_string_equal(f->got[i].error, "van1 is out of service");
    }
    assert_int_equal(n_rows(f), 1);
    svc_tev_stats_get(f->t, &st);
    assert_int_equal(st.stored, 1);

    /* Nothing left to retry; a re-send is answered from memory. */
    svc_tev_tick(f->t, f->now_ms + 1000);
    pump(f);
    assert_int_equal(n_rows(f), 1);
    assert_int_equal(tev_send(f, 0, "e1", 3, 1, NULL), SVC_TEV_ANSWERED);
    assert_int_equal(f->got[2].ok, 0);
}

static void test_failed_commit_unavail(void **state)
{
    failed_commit(*state, DB_EUNAVAIL);
}

static void test_failed_commit_unknown(void **state)
{
    failed_commit(*state, DB_EUNKNOWN); /* kept by the store, then stored again: once */
}

static void test_store_unready(void **state)
{
    fx *f = *state;

    tev_start(f);
    store_mem_set_unavailable(f->m, 1);
    assert_int_equal(tev_send(f, 0, "e1", 1, 1, NULL), SVC_TEV_NEW);
    pump(f);
    /* Not retried while the store is down. */
    for (int i = 0; i < 3; i++) {
        f->now_ms += 1000;
        svc_tev_tick(f->t, f->now_ms);
        pump(f);
    }
    assert_int_equal(f->n_got, 0);
    store_mem_set_unavailable(f->m, 0);
    svc_tev_tick(f->t, f->now_ms + 1000);
    pump(f);
    assert_int_equal(f->n_got, 1);
    assert_int_equal(f->got[0].ok, 1);
    assert_int_equal(n_rows(f), 1);
}

static void test_retry_refused_for_good(void **state)
{
    fx *f = *state;

    tev_start(f);
    store_mem_fail_next(f->m, 2, DB_EQUERY);
    assert_int_equal(tev_send(f, 0, "e1", 1, 1, NULL), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(f->n_got, 0);
    svc_tev_tick(f->t, f->now_ms + 1000);
    pump(f);
    /* Given up: answered, though not stored. */
    assert_int_equal(f->n_got, 1);
    assert_int_equal(f->got[0].ok, 1);
    assert_int_equal(n_rows(f), 0);
}

static void test_refusal_bound(void **state)
{
    fx *f = *state;
    char id[16];

    f->lim.max_refused_stored = 3;
    f->lim.max_refused_ring = 2;
    tev_start(f);
    for (int i = 1; i <= 3; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        assert_int_equal(tev_send(f, 0, id, 1, 0, "no"), SVC_TEV_NEW);
    }
    pump(f);
    assert_int_equal(f->n_got, 3);
    assert_int_equal(n_rows(f), 3);

    /* Past the bound: answered at once, nothing stored. */
    assert_int_equal(tev_send(f, 0, "r4", 1, 0, "no 4"), SVC_TEV_NEW);
    assert_int_equal(f->n_got, 4);
    assert_int_equal(f->got[3].ok, 0);
    assert_string_equal(f->got[3].error, "no 4");
    assert_int_equal(tev_send(f, 0, "r5", 1, 0, "no 5"), SVC_TEV_NEW);
    assert_int_equal(f->n_got, 5);
    pump(f);
    assert_int_equal(n_rows(f), 3);
    /* A re-send of r4 is answered from memory, the same. */
    assert_int_equal(tev_send(f, 0, "r4", 2, 1, NULL), SVC_TEV_ANSWERED);
    assert_string_equal(f->got[5].error, "no 4");

    /* The ring holds two: r6 pushes r4 out, so r4 is judged again. */
    assert_int_equal(tev_send(f, 0, "r6", 1, 0, "no 6"), SVC_TEV_NEW);
    assert_int_equal(tev_send(f, 0, "r5", 1, 1, NULL), SVC_TEV_ANSWERED);
    assert_int_equal(tev_send(f, 0, "r4", 1, 0, "no 4 again"), SVC_TEV_NEW);
    assert_string_equal(f->got[f->n_got - 1].error, "no 4 again");

    /* Stored refusals are kept: r1 still answered. */
    assert_int_equal(tev_send(f, 0, "r1", 1, 1, NULL), SVC_TEV_ANSWERED);
    assert_int_equal(f->got[f->n_got - 1].ok, 0);

    /* Another vehicle has its own share. */
    assert_int_equal(tev_send(f, 1, "r1", 1, 0, "no"), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(n_rows(f), 4);

    /* Accepted events are still stored. */
    assert_int_equal(tev_send(f, 0, "ok1", 1, 1, NULL), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(n_rows(f), 5);
}

static void test_event_bound(void **state)
{
    fx *f = *state;
    svc_tev_event *ev;
    int ok;
    const char *err;

    f->lim.max_events = 2;
    tev_start(f);
    assert_int_equal(tev_send(f, 0, "a1", 1, 1, NULL), SVC_TEV_NEW);
    assert_int_equal(tev_send(f, 0, "a2", 1, 1, NULL), SVC_TEV_NEW);
    assert_int_equal(svc_tev_begin(f->t, 0, "a3", 1, &ev, &ok, &err), SVC_TEV_FULL);
    /* Known events are still answered; the other vehicle is not full. */
    pump(f);
    assert_int_equal(tev_send(f, 0, "a1", 1, 0, "x"), SVC_TEV_ANSWERED);
    assert_int_equal(tev_send(f, 1, "a3", 1, 1, NULL), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(n_rows(f), 3);
}

static void test_rate(void **state)
{
    fx *f = *state;

    f->lim.rate_burst = 3;
    f->lim.rate_per_s = 1;
    tev_start(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(svc_tev_rate_ok(f->t, 0, 1000), 1);
    assert_int_equal(svc_tev_rate_ok(f->t, 0, 1000), 0);
    assert_int_equal(svc_tev_rate_ok(f->t, 0, 1500), 0);
    /* The other vehicle has its own bucket. */
    assert_int_equal(svc_tev_rate_ok(f->t, 1, 1500), 1);
    /* One per second comes back... */
    assert_int_equal(svc_tev_rate_ok(f->t, 0, 2500), 1);
    assert_int_equal(svc_tev_rate_ok(f->t, 0, 2500), 0);
    /* ... up to the burst, no more. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(svc_tev_rate_ok(f->t, 0, 100000), 1);
    assert_int_equal(svc_tev_rate_ok(f->t, 0, 100000), 0);
    /* No such vehicle: no credit. */
    assert_int_equal(svc_tev_rate_ok(f->t, 5, 100000), 0);
}

static void test_restart(void **state)
{
    fx *f = *state;
    svc_tev_event *ev;
    int ok;
    const char *err;

    f->lim.max_events = 2;
    tev_start(f);
    assert_int_equal(tev_send(f, 0, "a1", 1, 1, NULL), SVC_TEV_NEW);
    assert_int_equal(tev_send(f, 0, "r1", 1, 0, "no booking \"x\" in service"), SVC_TEV_NEW);
    pump(f);
    svc_tev_destroy(f->t);
    f->t = NULL;

    /* A new run: nothing begins before the load. */
    svc_tev_hooks h = {.ud = f, .answer = on_answer, .loaded = on_loaded};
    assert_int_equal(svc_tev_create(f->core, &f->lim, &h, f->now_ms, &f->t), 0);
    assert_int_equal(svc_tev_begin(f->t, 0, "a1", 1, &ev, &ok, &err), SVC_TEV_INVALID);
    store_mem_set_unavailable(f->m, 1);
    assert_int_equal(svc_tev_load(f->t, f->now_ms), -1);
    store_mem_set_unavailable(f->m, 0);
    f->n_loaded = 0;
    assert_int_equal(svc_tev_load(f->t, f->now_ms), 0);
    assert_int_equal(svc_tev_load(f->t, f->now_ms), 0); /* running: not twice */
    pump(f);
    assert_int_equal(f->n_loaded, 1);
    assert_int_equal(f->loaded_count, 2);

    f->n_got = 0;
    assert_int_equal(tev_send(f, 0, "a1", 1, 0, "x"), SVC_TEV_ANSWERED);
    assert_int_equal(f->got[0].ok, 1);
    assert_int_equal(tev_send(f, 0, "r1", 1, 1, NULL), SVC_TEV_ANSWERED);
    assert_string_equal(f->got[1].error, "no booking \"x\" in service");
    /* What was loaded counts toward the bound. */
    assert_int_equal(tev_send(f, 0, "a2", 1, 1, NULL), SVC_TEV_NEW);
    assert_int_equal(svc_tev_begin(f->t, 0, "a3", 1, &ev, &ok, &err), SVC_TEV_FULL);
    pump(f);
    assert_int_equal(n_rows(f), 3);
}

static void test_prune(void **state)
{
    fx *f = *state;
    svc_tev_stats st;

    f->lim.keep_ms = 10 * 60 * 1000;
    f->lim.max_events = 1;
    tev_start(f);
    assert_int_equal(tev_send(f, 0, "a1", 1, 1, NULL), SVC_TEV_NEW);
    pump(f);
    svc_tev_tick(f->t, f->now_ms + 9 * 60 * 1000);
    assert_int_equal(tev_send(f, 0, "a1", 1, 0, "x"), SVC_TEV_ANSWERED);
    svc_tev_tick(f->t, f->now_ms + 10 * 60 * 1000);
    svc_tev_stats_get(f->t, &st);
    assert_int_equal(st.events, 0);
    /* Forgotten, and no longer counted toward the bound. */
    assert_int_equal(tev_send(f, 0, "a2", 1, 1, NULL), SVC_TEV_NEW);
    pump(f);
    assert_int_equal(n_rows(f), 2);
}

static void test_destroy_in_flight(void **state)
{
    fx *f = *state;

    tev_start(f);
    assert_int_equal(tev_send(f, 0, "a1", 1, 1, NULL), SVC_TEV_NEW);
    assert_int_equal(svc_tev_inflight(f->t), 1);
    svc_tev_destroy(f->t); /* freed by the commit's callback */
    f->t = NULL;
    pump(f);
    assert_int_equal(f->n_got, 0);
    assert_int_equal(n_rows(f), 1);
}

static int setup_area(void **state)
{
    char err[256];

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
        cmocka_unit_test_setup_teardown(test_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_while_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_unavail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_unready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_refused_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, setup_area, teardown_area);
}
