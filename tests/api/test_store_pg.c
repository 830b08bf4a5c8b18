/*
 * test_store_pg.c - the PostgreSQL store (data/db/db_store.c) against a real
 * cluster in a temporary folder (tests/pgtest.h), migrated by db_migrate:
 * the shared checks of the store interface (tests/data/store_checks.h, the
 * same ones test_store_mem runs against the in-memory store), each on
 * emptied tables with its own loop and connection, then what only this
 * store has: a store without a connection (blocking calls work, the rest
 * answers DB_EUNAVAIL), a connection given later (db_store_set_db), the
 * statements' exact ON CONFLICT effects seen in SQL, and
 * db_exec_blocking_txn's own errors.  The cluster listens on a Unix socket
 * only: no TCP port range is needed.
 */
#include "data/db/db.h"
#include "pgtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../data/store_checks.h"

static char g_dir[512], g_conn[512];

typedef struct pg_fx {
    chk_env e;
    uv_loop_t loop;
    uv_timer_t tick;
    db *d;
    db_store *s;
    int closed;
} pg_fx;

static void on_tick(uv_timer_t *h)
{
    (void)h;
}

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* Runs the loop until every callback has run (10 s at most). */
static void pg_settle(chk_env *e)
{
    pg_fx *f = e->impl;
    double end = now_s() + 10;

    uv_timer_start(&f->tick, on_tick, 5, 5);
    while (chk_pending > 0 && now_s() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->tick);
    assert_int_equal(chk_pending, 0);
}

static void count_row(void *ud, int n_cols, const char *const *v)
{
    long *n = ud;

    *n = n_cols == 1 && v[0] != NULL ? atol(v[0]) : -1;
}

static long sql_long(const char *sql, const char *param)
{
    const char *p[1] = {param};
    char err[300];
    long n = -2;
    int rc = db_exec_blocking(g_conn, sql, param ? 1 : 0, param ? p : NULL, count_row, &n, err,
                              sizeof(err));

    if (rc != 0)
        fail_msg("%s: %s", sql, err);
    return n;
}

static long pg_count(chk_env *e, const char *table)
{
    char sql[128];

    (void)e;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    return sql_long(sql, NULL);
}

static void exec_ok(const char *sql)
{
    char err[300];
    int rc = db_exec_blocking(g_conn, sql, 0, NULL, NULL, NULL, err, sizeof(err));

    if (rc != 0)
        fail_msg("%s: %s", sql, err);
}

static int setup(void **state)
{
    pg_fx *f = calloc(1, sizeof(*f));
    double end;

    if (f == NULL)
        return -1;
    exec_ok("TRUNCATE bookings, booking_events, plans, idempotency_keys, driver_events, tokens, "
            "riders, shifts, vehicles");
    if (uv_loop_init(&f->loop) != 0 || uv_timer_init(&f->loop, &f->tick) != 0 ||
        db_create(&f->loop, g_conn, NULL, &f->d) != 0 || db_store_create(f->d, g_conn, &f->s) != 0)
        return -1;
    uv_timer_start(&f->tick, on_tick, 5, 5);
    end = now_s() + 10;
    while (!db_ready(f->d) && now_s() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->tick);
    f->e.st = db_store_get(f->s);
    f->e.settle = pg_settle;
    f->e.count = pg_count;
    f->e.impl = f;
    chk_pending = 0;
    *state = f;
    return f->e.st.ops->ready(f->e.st.ctx) ? 0 : -1;
}

static void on_closed(void *ud)
{
    ((pg_fx *)ud)->closed = 1;
}

static int teardown(void **state)
{
    pg_fx *f = *state;
    double end = now_s() + 10;

    db_close(f->d, on_closed, f);
    uv_timer_start(&f->tick, on_tick, 5, 5);
    while (!f->closed && now_s() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    db_store_destroy(f->s);
    /* no handle left behind */
    int rc = f->closed && uv_loop_close(&f->loop) == 0 ? 0 : -1;
    free(f);
    return rc;
}

#define WRAP(name)                                                                                 \
    static void t_##name(void **state)                                                             \
    {                                                                                              \
        name(&((pg_fx *)*state)->e);                                                               \
    }
CHK_EACH(WRAP)
#undef WRAP

/* ---- this store only ---- */

/* What the rows hold in SQL terms: NULLs, the rounding of coordinates,
 * the event's columns, updated_at moved by the upsert. */
static void t_sql_effects(void **state)
{
    pg_fx *f = *state;
    chk_env *e = &f->e;
    store_booking_row b = chk_booking("bk_a", "2030-04-01", NULL, "offered");
    store_txn *t;

    chk_fleet(e);
    b.time_s = -1;
    b.when_kind = "asap";
    b.pickup_lat = 35.123456789;
    t = chk_txn(e);
    assert_int_equal(e->st.ops->put_booking(t, &b), 0);
    assert_int_equal(e->st.ops->end_stored_booking(t, "bk_a", "offered", "expired", 4000,
                                                   "not_restored", "restore", "ev_x"),
                     0);
    assert_int_equal(chk_commit(e, t), 0);
    assert_int_equal(sql_long("SELECT count(*) FROM bookings WHERE id = $1 AND time_s IS NULL "
                              "AND expires_s IS NULL AND pickup_s IS NULL AND rider_id IS NULL "
                              "AND pickup_lat = 35.1234568 AND status = 'expired'",
                              "bk_a"),
                     1);
    assert_int_equal(sql_long("SELECT count(*) FROM booking_events WHERE event_key = $1 AND "
                              "booking_id = 'bk_a' AND service_date = '2030-04-01' AND time_s = "
                              "4000 AND kind = 'status' AND from_status = 'offered' AND "
                              "to_status = 'expired' AND vehicle_id IS NULL AND detail = "
                              "'not_restored' AND actor = 'restore'",
                              "ev_x"),
                     1);
}

static void on_bk_now(void *ud, int rc, const store_booking_row *rows, int n)
{
    chk_bks *o = ud;

    (void)rows;
    o->called++;
    o->rc = rc;
    o->n = n;
}

static void on_done_now(void *ud, int rc)
{
    chk_done *d = ud;

    d->called++;
    d->rc = rc;
}

/* No connection: the blocking calls work; ready() 0; the rest answers
 * DB_EUNAVAIL; then the loop's connection is given and all works. */
static void t_no_connection(void **state)
{
    pg_fx *f = *state;
    db_store *s;
    store st;
    store_txn *t;
    chk_done d = {0, 0, 0};
    chk_bks got;
    chk_toks ids;
    char err[300];

    assert_int_equal(db_store_create(NULL, g_conn, &s), 0);
    st = db_store_get(s);
    assert_int_equal(st.ops->ready(st.ctx), 0);
    chk_env e = {st, NULL, pg_count, f};
    chk_fleet(&e);
    t = st.ops->txn_new(st.ctx);
    chk_rider_put(&e, t, "r_1", "One", "", "");
    assert_int_equal(st.ops->exec_txn_blocking(st.ctx, t, err, sizeof(err)), 0);
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(st.ops->load_rider_ids(st.ctx, chk_ids, &ids, err, sizeof(err)), 0);
    assert_int_equal(ids.n, 1);

    t = st.ops->txn_new(st.ctx);
    chk_rider_put(&e, t, "r_2", "Two", "", "");
    st.ops->txn_submit(t, on_done_now, &d);
    assert_int_equal(d.called, 1); /* no loop to defer on */
    assert_int_equal(d.rc, DB_EUNAVAIL);
    memset(&got, 0, sizeof(got));
    st.ops->booking_get(st.ctx, "bk", on_bk_now, &got);
    assert_int_equal(got.called, 1);
    assert_int_equal(got.rc, DB_EUNAVAIL);
    assert_int_equal(pg_count(&e, "riders"), 1);

    /* the loop's connection, given later */
    db_store_set_db(s, f->d);
    assert_int_equal(st.ops->ready(st.ctx), 1);
    e.settle = pg_settle;
    t = st.ops->txn_new(st.ctx);
    chk_rider_put(&e, t, "r_2", "Two", "", "");
    assert_int_equal(chk_commit(&e, t), 0);
    assert_int_equal(pg_count(&e, "riders"), 2);
    db_store_destroy(s);
}

/* A store whose connection cannot connect: submissions fail DB_EUNAVAIL,
 * from the loop, never inside the call. */
static void t_unavailable(void **state)
{
    pg_fx *f = *state;
    db *dead;
    db_store *s;
    store st;
    chk_done d;
    chk_bks got;
    store_booking_filter flt = {NULL, NULL, NULL, NULL, -1, 0};

    assert_int_equal(
        db_create(&f->loop, "host=/nonexistent port=1 dbname=x connect_timeout=1", NULL, &dead), 0);
    assert_int_equal(db_store_create(dead, NULL, &s), 0);
    st = db_store_get(s);
    chk_env e = {st, pg_settle, pg_count, f};
    assert_int_equal(st.ops->ready(st.ctx), 0);
    memset(&d, 0, sizeof(d));
    memset(&got, 0, sizeof(got));
    chk_pending += 2;
    st.ops->txn_submit(st.ops->txn_new(st.ctx), chk_on_done, &d);
    st.ops->bookings(st.ctx, &flt, chk_on_bookings, &got);
    assert_int_equal(d.called + got.called, 0);
    e.settle(&e);
    assert_int_equal(d.rc, DB_EUNAVAIL);
    assert_int_equal(got.rc, DB_EUNAVAIL);
    {
        char err[300];
        /* no conninfo: blocking calls say so */
        assert_int_equal(st.ops->load_rider_ids(st.ctx, chk_ids, NULL, err, sizeof(err)),
                         DB_EINVAL);
        assert_true(err[0] != '\0');
    }
    db_store_destroy(s);
    f->closed = 0;
    db_close(dead, on_closed, f);
    while (!f->closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    f->closed = 0;
}

/* db_exec_blocking_txn itself: bad input, a refused statement rolls back
 * the ones before it, an unreachable server. */
static void t_blocking_txn(void **state)
{
    const char *p1[1] = {"r_t1"};
    db_blocking_stmt ok[2] = {
        {"INSERT INTO riders (id, name) VALUES ($1, 'x')", 1, p1},
        {"UPDATE riders SET notes = 'n' WHERE id = $1", 1, p1},
    };
    db_blocking_stmt bad[2] = {
        {"INSERT INTO riders (id, name) VALUES ('r_t2', 'y')", 0, NULL},
        {"INSERT INTO no_such_table VALUES (1)", 0, NULL},
    };
    db_blocking_stmt nul[1] = {{NULL, 0, NULL}};
    char err[300];

    (void)state;
    assert_int_equal(db_exec_blocking_txn(g_conn, ok, 2, err, sizeof(err)), 0);
    assert_int_equal(sql_long("SELECT count(*) FROM riders WHERE notes = 'n' AND id = $1", "r_t1"),
                     1);
    assert_int_equal(db_exec_blocking_txn(g_conn, bad, 2, err, sizeof(err)), DB_EQUERY);
    assert_non_null(strstr(err, "statement 2 of 2"));
    assert_int_equal(sql_long("SELECT count(*) FROM riders WHERE id = $1", "r_t2"), 0);
    assert_int_equal(db_exec_blocking_txn(g_conn, nul, 1, err, sizeof(err)), DB_EINVAL);
    assert_int_equal(db_exec_blocking_txn(NULL, ok, 2, err, sizeof(err)), DB_EINVAL);
    assert_int_equal(db_exec_blocking_txn(g_conn, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(db_exec_blocking_txn("host=/nonexistent port=1 dbname=x connect_timeout=1", ok,
                                          2, err, sizeof(err)),
                     DB_EUNAVAIL);
}

/* ---- the cluster ---- */

static int setup_cluster(void **state)
{
    char err[400];
    int applied = 0;

    (void)state;
    if (pgt_start(g_dir, g_conn, sizeof(g_conn)) != 0) {
        fprintf(stderr, "test_store_pg: could not start PostgreSQL (scripts/pg-local.sh)\n");
        return -1;
    }
    if (db_migrate(g_conn, &applied, err, sizeof(err)) != 0) {
        fprintf(stderr, "test_store_pg: db_migrate: %s\n", err);
        pgt_destroy(g_dir);
        return -1;
    }
    return 0;
}

static int teardown_cluster(void **state)
{
    (void)state;
    pgt_destroy(g_dir);
    return 0;
}

int main(void)
{
#define ENTRY(name) cmocka_unit_test_setup_teardown(t_##name, setup, teardown),
    const struct CMUnitTest tests[] = {
        CHK_EACH(ENTRY) cmocka_unit_test_setup_teardown(t_sql_effects, setup, teardown),
        cmocka_unit_test_setup_teardown(t_no_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(t_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(t_blocking_txn, setup, teardown),
    };
#undef ENTRY
    return cmocka_run_group_tests(tests, setup_cluster, teardown_cluster);
}
