/*
 * test_store_mem.c - the in-memory store (data/store/store_mem.c): the
 * shared checks of the store interface (tests/data/store_checks.h, also run
 * against PostgreSQL by tests/api/test_store_pg.c), then what only this
 * store has: failure injection (nothing kept, or kept but reported
 * unknown, and a re-send stored once), unavailability, callbacks at the
 * pump only (and what a callback submits waits for the next pump), the
 * look-ups for tests, and destroying with work still queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_checks.h"

typedef struct mem_fx {
    chk_env e;
    store_mem *m;
} mem_fx;

/* Pumps until nothing is waiting; a callback left unrun fails the check. */
static void mem_settle(chk_env *e)
{
    store_mem *m = e->impl;

    for (int i = 0; i < 100 && store_mem_pump(m) > 0; i++) {
    }
    assert_int_equal(chk_pending, 0);
}

static long mem_count(chk_env *e, const char *table)
{
    return store_mem_count(e->impl, table);
}

static int setup(void **state)
{
    mem_fx *f = calloc(1, sizeof(*f));

    if (f == NULL || store_mem_create(&f->m) != 0) {
        free(f);
        return -1;
    }
    f->e.st = store_mem_store(f->m);
    f->e.settle = mem_settle;
    f->e.count = mem_count;
    f->e.impl = f->m;
    chk_pending = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    mem_fx *f = *state;

    store_mem_destroy(f->m);
    free(f);
    return 0;
}

#define WRAP(name)                                                                                 \
    static void t_##name(void **state)                                                             \
    {                                                                                              \
        name(&((mem_fx *)*state)->e);                                                              \
    }
CHK_EACH(WRAP)
#undef WRAP

/* ---- this store only ---- */

static store_txn *event_txn(chk_env *e, const char *key)
{
    store_txn *t = chk_txn(e);

    chk_one_event(e, t, "bk_a", key);
    return t;
}

static void submit(chk_env *e, store_txn *t, chk_done *d)
{
    memset(d, 0, sizeof(*d));
    chk_pending++;
    e->st.ops->txn_submit(t, chk_on_done, d);
}

/* DB_EUNAVAIL and DB_EQUERY keep nothing; DB_EUNKNOWN keeps the change
 * and says it does not know, and the change sent again is kept once. */
static void t_fail_next(void **state)
{
    mem_fx *f = *state;
    chk_env *e = &f->e;
    chk_done d[4];

    store_mem_fail_next(f->m, 2, DB_EUNAVAIL);
    submit(e, event_txn(e, "ev_1"), &d[0]);
    submit(e, event_txn(e, "ev_1"), &d[1]);
    submit(e, event_txn(e, "ev_1"), &d[2]); /* the third is not failed */
    e->settle(e);
    assert_int_equal(d[0].rc, DB_EUNAVAIL);
    assert_int_equal(d[1].rc, DB_EUNAVAIL);
    assert_int_equal(d[2].rc, 0);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 1);

    store_mem_fail_next(f->m, 1, DB_EUNKNOWN);
    submit(e, event_txn(e, "ev_2"), &d[0]);
    e->settle(e);
    assert_int_equal(d[0].rc, DB_EUNKNOWN);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 2);
    submit(e, event_txn(e, "ev_2"), &d[1]); /* the caller re-sends */
    e->settle(e);
    assert_int_equal(d[1].rc, 0);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 2);

    store_mem_fail_next(f->m, 1, DB_EQUERY);
    submit(e, event_txn(e, "ev_3"), &d[0]);
    submit(e, event_txn(e, "ev_4"), &d[1]);
    e->settle(e);
    assert_int_equal(d[0].rc, DB_EQUERY);
    assert_int_equal(d[1].rc, 0);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 3);

    /* blocking transactions count as submissions too */
    store_mem_fail_next(f->m, 1, DB_EUNKNOWN);
    {
        char err[200];
        assert_int_equal(
            e->st.ops->exec_txn_blocking(e->st.ctx, event_txn(e, "ev_5"), err, sizeof(err)),
            DB_EUNKNOWN);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(store_mem_count(f->m, "booking_events"), 4);
}

/* Unavailable: ready() 0, writes and reads fail at the pump, blocking
 * calls fail at once; back again, everything works. */
static void t_unavailable(void **state)
{
    mem_fx *f = *state;
    chk_env *e = &f->e;
    chk_done d;
    chk_bks got;
    chk_riders rs;
    chk_drvs dv;
    store_booking_filter flt = {NULL, NULL, NULL, NULL, -1, 0};
    const char *ids[1] = {"r_a"};
    char err[200];

    assert_int_equal(e->st.ops->ready(e->st.ctx), 1);
    store_mem_set_unavailable(f->m, 1);
    assert_int_equal(e->st.ops->ready(e->st.ctx), 0);
    submit(e, event_txn(e, "ev_1"), &d);
    memset(&got, 0, sizeof(got));
    memset(&rs, 0, sizeof(rs));
    memset(&dv, 0, sizeof(dv));
    chk_pending += 4;
    e->st.ops->bookings(e->st.ctx, &flt, chk_on_bookings, &got);
    e->st.ops->riders_search(e->st.ctx, "1", NULL, 5, chk_on_riders, &rs);
    e->st.ops->riders_get(e->st.ctx, ids, 1, chk_on_riders, &rs);
    e->st.ops->driver_events_recent(e->st.ctx, 48, chk_on_drvs, &dv);
    assert_int_equal(d.called + got.called + rs.called + dv.called, 0);
    e->settle(e);
    assert_int_equal(d.rc, DB_EUNAVAIL);
    assert_int_equal(got.rc, DB_EUNAVAIL);
    assert_int_equal(rs.called, 2);
    assert_int_equal(rs.rc, DB_EUNAVAIL);
    assert_int_equal(dv.rc, DB_EUNAVAIL);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 0);
    assert_int_equal(e->st.ops->load_rider_ids(e->st.ctx, chk_ids, NULL, err, sizeof(err)),
                     DB_EUNAVAIL);
    assert_int_equal(e->st.ops->upsert_fleet(e->st.ctx, NULL, 0, err, sizeof(err)), DB_EUNAVAIL);
    store_mem_set_unavailable(f->m, 0);
    assert_int_equal(e->st.ops->ready(e->st.ctx), 1);
    submit(e, event_txn(e, "ev_1"), &d);
    e->settle(e);
    assert_int_equal(d.rc, 0);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 1);
}

/* A callback's own submission waits for the next pump; the pump says how
 * many ran. */
typedef struct chain {
    chk_env *e;
    chk_done first, second;
} chain;

static void on_first(void *ud, int rc)
{
    chain *c = ud;

    chk_on_done(&c->first, rc);
    chk_pending++;
    c->e->st.ops->txn_submit(event_txn(c->e, "ev_2"), chk_on_done, &c->second);
}

static void t_pump(void **state)
{
    mem_fx *f = *state;
    chain c;

    memset(&c, 0, sizeof(c));
    c.e = &f->e;
    assert_int_equal(store_mem_pump(f->m), 0);
    chk_pending++;
    f->e.st.ops->txn_submit(event_txn(&f->e, "ev_1"), on_first, &c);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 0); /* committed at the pump */
    assert_int_equal(store_mem_pump(f->m), 1);
    assert_int_equal(c.first.called, 1);
    assert_int_equal(c.second.called, 0);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 1);
    assert_int_equal(store_mem_pump(f->m), 1);
    assert_int_equal(c.second.called, 1);
    assert_int_equal(c.second.rc, 0);
    assert_int_equal(store_mem_count(f->m, "booking_events"), 2);
    assert_int_equal(store_mem_pump(f->m), 0);
}

/* The look-ups for tests. */
static void t_lookups(void **state)
{
    mem_fx *f = *state;
    store_booking_row b = chk_booking("bk_a", "2030-04-01", NULL, "confirmed");
    store_txn *t = chk_txn(&f->e);
    const store_booking_row *k;

    assert_int_equal(store_mem_count(f->m, "no_such_table"), -1);
    assert_null(store_mem_booking(f->m, "bk_a"));
    assert_int_equal(f->e.st.ops->put_booking(t, &b), 0);
    assert_int_equal(chk_commit(&f->e, t), 0);
    k = store_mem_booking(f->m, "bk_a");
    assert_non_null(k);
    assert_string_equal(k->status, "confirmed");
    assert_string_equal(k->notes, "first notes");
    assert_true(k->pickup_lat == 35.6812345); /* kept exact */
    assert_int_equal(store_mem_count(f->m, "bookings"), 1);
}

/* Destroyed with transactions and reads waiting: freed, no callback (a
 * leak here fails the sanitizer build). */
static int g_called;

static void count_cb(void *ud, int rc)
{
    (void)ud;
    (void)rc;
    g_called++;
}

static void count_bk(void *ud, int rc, const store_booking_row *rows, int n)
{
    (void)ud;
    (void)rc;
    (void)rows;
    (void)n;
    g_called++;
}

static void t_destroy_waiting(void **state)
{
    store_mem *m;
    store s;
    store_booking_filter flt = {"r", "2030-04-01", "confirmed", "a", -1, 3};

    (void)state;
    assert_int_equal(store_mem_create(&m), 0);
    s = store_mem_store(m);
    store_txn *t = s.ops->txn_new(s.ctx);
    assert_non_null(t);
    store_event_row ev = {"bk", "2030-04-01", 1, "status", NULL, NULL, NULL, NULL, NULL, "k"};
    assert_int_equal(s.ops->put_event(t, &ev), 0);
    s.ops->txn_submit(t, count_cb, NULL);
    s.ops->bookings(s.ctx, &flt, count_bk, NULL);
    s.ops->booking_get(s.ctx, "bk", count_bk, NULL);
    g_called = 0;
    store_mem_destroy(m);
    assert_int_equal(g_called, 0);
}

int main(void)
{
#define ENTRY(name) cmocka_unit_test_setup_teardown(t_##name, setup, teardown),
    const struct CMUnitTest tests[] = {
        CHK_EACH(ENTRY) cmocka_unit_test_setup_teardown(t_fail_next, setup, teardown),
        cmocka_unit_test_setup_teardown(t_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(t_pump, setup, teardown),
        cmocka_unit_test_setup_teardown(t_lookups, setup, teardown),
        cmocka_unit_test(t_destroy_waiting),
    };
#undef ENTRY
    return cmocka_run_group_tests(tests, NULL, NULL);
}
