/*
 * test_db.c - the store's connection layer (data/db) against a real
 * PostgreSQL started in a temporary folder (tests/pgtest.h), one cluster for
 * the whole program: migrations and their checksums and lock, the blocking
 * helper, transactions with parameters and results, errors and unique
 * violations, group commit (200 transactions in one turn, a bad one inside a
 * group), read-only statements, a database restart under a running loop,
 * closing with transactions waiting, and bad input.  Callbacks only record;
 * the checks run after the loop returns.
 *
 * Throughput (printed, not asserted): single-insert transactions submitted
 * all at once (group commit) against one at a time.  NORIAI_DB_BENCH=1 runs
 * the full measure (2,000 transactions, median of 3).
 */
#include "data/area/sha256.h"
#include "data/db/db.h"
#include "data/db/db_int.h"
#include "pgtest.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

static char g_dir[512], g_conn[512];

/* ---- helpers ---- */

static double now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void exec_ok(const char *sql)
{
    char err[512];
    int rc = db_exec_blocking(g_conn, sql, 0, NULL, NULL, NULL, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: %s (%s)", sql, db_strerror(rc), err);
}

static void count_row(void *ud, int n_cols, const char *const *values)
{
    long *n = ud;
    assert_int_equal(n_cols, 1);
    *n = values[0] != NULL ? atol(values[0]) : -1;
}

static long count_of(const char *sql)
{
    char err[512];
    long n = -2;
    int rc = db_exec_blocking(g_conn, sql, 0, NULL, count_row, &n, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: %s", sql, err);
    return n;
}

/* A loop with a store, a tick (so UV_RUN_ONCE wakes up), state reports. */
typedef struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    db *d;
    int closed;
    int ups, downs;
} fx;

static void on_tick(uv_timer_t *h)
{
    (void)h;
}

static void on_state(void *ud, int connected)
{
    fx *f = ud;
    if (connected)
        f->ups++;
    else
        f->downs++;
}

static void on_closed(void *ud)
{
    ((fx *)ud)->closed = 1;
}

typedef int (*cond_fn)(void *arg);

/* Runs the loop until cond(arg) holds; 1, or 0 after timeout_ms. */
static int run_until(fx *f, cond_fn cond, void *arg, int timeout_ms)
{
    double end = now_s() + timeout_ms / 1000.0;
    int ok;

    uv_timer_start(&f->tick, on_tick, 5, 5);
    while (!(ok = cond(arg)) && now_s() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->tick);
    return ok;
}

/* Ready, and the state callback has said so (it runs a loop turn later). */
static int is_up(void *arg)
{
    fx *f = arg;
    return db_ready(f->d) && f->ups > f->downs;
}

static int is_reported_down(void *arg)
{
    fx *f = arg;
    return !db_ready(f->d) && f->downs >= f->ups;
}

static int is_closed(void *arg)
{
    return ((fx *)arg)->closed;
}

static void fx_open_group(fx *f, int max_group_statements)
{
    db_opts o;

    memset(f, 0, sizeof(*f));
    memset(&o, 0, sizeof(o));
    o.max_group_statements = max_group_statements;
    o.state_changed = on_state;
    o.ud = f;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->tick);
    assert_int_equal(db_create(&f->loop, g_conn, &o, &f->d), 0);
    assert_true(run_until(f, is_up, f, 5000));
}

static void fx_open(fx *f)
{
    fx_open_group(f, 0);
}

static void fx_close(fx *f)
{
    db_close(f->d, on_closed, f);
    assert_true(run_until(f, is_closed, f, 8000));
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* no handle left behind */
}

/* What the callbacks of a set of transactions saw. */
#define REC_MAX 2100
typedef struct rec {
    int n_done;
    int order[REC_MAX];
    int rc[REC_MAX];
    char err[REC_MAX][160];
    /* the first value of statement 0 and the row counts, when asked */
    char first[REC_MAX][32];
    int rows0[REC_MAX];
} rec;

typedef struct call {
    rec *r;
    int idx;
} call;

static call g_calls[REC_MAX];

static void on_done(void *ud, int rc, const db_result *res, const char *err)
{
    call *c = ud;
    rec *r = c->r;
    const char *v = db_result_value(res, 0, 0, 0);

    r->order[r->n_done++] = c->idx;
    r->rc[c->idx] = rc;
    snprintf(r->err[c->idx], sizeof(r->err[c->idx]), "%s", err != NULL ? err : "(null)");
    snprintf(r->first[c->idx], sizeof(r->first[c->idx]), "%s", v != NULL ? v : "(null)");
    r->rows0[c->idx] = db_result_rows(res, 0);
}

typedef struct want {
    rec *r;
    int n;
} want;

static int all_done(void *arg)
{
    want *w = arg;
    return w->r->n_done >= w->n;
}

/* Submits txn idx of r (set up by the caller) with the recording callback. */
static void submit(db_txn *t, rec *r, int idx)
{
    g_calls[idx].r = r;
    g_calls[idx].idx = idx;
    db_txn_submit(t, on_done, &g_calls[idx]);
}

/* One-statement transaction: sql with one integer parameter. */
static db_txn *txn1(db *d, const char *sql, int i)
{
    char buf[24];
    const char *p[1] = {buf};
    db_txn *t = db_txn_new(d);

    assert_non_null(t);
    snprintf(buf, sizeof(buf), "%d", i);
    assert_int_equal(db_txn_add(t, sql, strchr(sql, '$') != NULL ? 1 : 0, p), 0);
    return t;
}

/* ---- migrations and the blocking helper ---- */

typedef struct mig_thread {
    int rc, applied, done;
    char err[512];
} mig_thread;

static void *migrate_thread(void *arg)
{
    mig_thread *m = arg;
    m->rc = db_migrate(g_conn, &m->applied, m->err, sizeof(m->err));
    __atomic_store_n(&m->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void sha_row(void *ud, int n_cols, const char *const *values)
{
    char *out = ud;
    assert_int_equal(n_cols, 2);
    if (strcmp(values[0], "1") == 0)
        snprintf(out, 65, "%s", values[1]);
}

static void test_migrate(void **state)
{
    char err[512], sha[65] = "", want_sha[65], other[600];
    int applied = -1, rc, i;
    PGconn *c;
    pthread_t th;
    mig_thread m;
    double t0;

    (void)state;
    assert_true(db_migration_count() >= 1);
    assert_int_equal(db_migration_count(), db_sql_count);
    assert_string_equal(db_migration_name(0), "001_init.sql");
    assert_null(db_migration_name(-1));
    assert_null(db_migration_name(db_migration_count()));

    /* An empty database gets every migration. */
    rc = db_migrate(g_conn, &applied, err, sizeof(err));
    if (rc != 0)
        fail_msg("db_migrate: %s", err);
    assert_int_equal(applied, db_migration_count());
    assert_int_equal(count_of("SELECT count(*) FROM riders"), 0);
    assert_int_equal(count_of("SELECT count(*) FROM booking_events"), 0);
    assert_int_equal(count_of("SELECT count(*) FROM schema_migrations"), db_migration_count());
    area_sha256_hex(db_sql_texts[0], db_sql_lens[0], want_sha);
    assert_int_equal(db_exec_blocking(g_conn, "SELECT version, sha256 FROM schema_migrations", 0,
                                      NULL, sha_row, sha, err, sizeof(err)),
                     0);
    assert_string_equal(sha, want_sha);

    /* The schema's append-only trigger works. */
    exec_ok("INSERT INTO booking_events (booking_id, service_date, time_s, kind) "
            "VALUES ('b1', '2026-01-01', 0, 'status')");
    assert_int_equal(db_exec_blocking(g_conn, "DELETE FROM booking_events", 0, NULL, NULL, NULL,
                                      err, sizeof(err)),
                     DB_EQUERY);
    assert_non_null(strstr(err, "append-only"));

    /* A second run applies nothing. */
    applied = -1;
    assert_int_equal(db_migrate(g_conn, &applied, err, sizeof(err)), 0);
    assert_int_equal(applied, 0);

    /* An applied migration edited afterwards is refused, nothing changes. */
    exec_ok("UPDATE schema_migrations SET sha256 = repeat('0', 64) WHERE version = 1");
    applied = -1;
    rc = db_migrate(g_conn, &applied, err, sizeof(err));
    assert_int_equal(rc, DB_EMIGRATE);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "001_init.sql"));
    assert_non_null(strstr(err, "changed"));
    {
        const char *p[1] = {want_sha};
        assert_int_equal(db_exec_blocking(g_conn,
                                          "UPDATE schema_migrations SET sha256 = $1 "
                                          "WHERE version = 1",
                                          1, p, NULL, NULL, err, sizeof(err)),
                         0);
    }

    /* A database migrated by a newer binary is refused. */
    exec_ok("INSERT INTO schema_migrations (version, name, sha256) VALUES (999, '999_x.sql', 'x')");
    assert_int_equal(db_migrate(g_conn, &applied, err, sizeof(err)), DB_EMIGRATE);
    assert_non_null(strstr(err, "999"));
    exec_ok("DELETE FROM schema_migrations WHERE version = 999");
    assert_int_equal(db_migrate(g_conn, &applied, err, sizeof(err)), 0);

    /* A migration that fails leaves nothing behind and says why. */
    exec_ok("CREATE DATABASE mfail");
    snprintf(other, sizeof(other), "%s dbname=mfail", g_conn);
    assert_int_equal(db_exec_blocking(other, "CREATE TABLE riders (x integer)", 0, NULL, NULL, NULL,
                                      err, sizeof(err)),
                     0);
    rc = db_migrate(other, &applied, err, sizeof(err));
    assert_int_equal(rc, DB_EMIGRATE);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "001_init.sql failed"));
    assert_non_null(strstr(err, "riders"));
    {
        long n = -2;
        assert_int_equal(db_exec_blocking(other,
                                          "SELECT count(*) FROM pg_tables WHERE tablename IN "
                                          "('vehicles', 'bookings', 'tokens')",
                                          0, NULL, count_row, &n, err, sizeof(err)),
                         0);
        assert_int_equal(n, 0);
        assert_int_equal(db_exec_blocking(other, "SELECT count(*) FROM schema_migrations", 0, NULL,
                                          count_row, &n, err, sizeof(err)),
                         0);
        assert_int_equal(n, 0);
    }

    /* No server: unavailable, with libpq's reason. */
    rc = db_migrate("host=/nonexistent-noriai port=1 dbname=x user=x", &applied, err, sizeof(err));
    assert_int_equal(rc, DB_EUNAVAIL);
    assert_non_null(strstr(err, "cannot connect"));
    assert_int_equal(db_migrate(NULL, &applied, err, sizeof(err)), DB_EINVAL);

    /* The advisory lock: a migration waits while another session holds it. */
    c = PQconnectdb(g_conn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SELECT pg_advisory_lock(" DB_MIGRATE_LOCK_KEY ")"));
    memset(&m, 0, sizeof(m));
    t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, migrate_thread, &m), 0);
    for (i = 0; i < 30; i++)
        sleep_ms(10);
    assert_int_equal(__atomic_load_n(&m.done, __ATOMIC_SEQ_CST), 0);
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" DB_MIGRATE_LOCK_KEY ")"));
    pthread_join(th, NULL);
    PQfinish(c);
    assert_int_equal(m.rc, 0);
    assert_int_equal(m.applied, 0);
    assert_true(now_s() - t0 >= 0.29);
}

typedef struct rows_seen {
    int n;
    char v[4][3][16];
    int nulls;
} rows_seen;

static void collect_row(void *ud, int n_cols, const char *const *values)
{
    rows_seen *s = ud;
    int j;

    for (j = 0; j < n_cols && j < 3 && s->n < 4; j++) {
        if (values[j] == NULL)
            s->nulls++;
        snprintf(s->v[s->n][j], sizeof(s->v[s->n][j]), "%s", values[j] ? values[j] : "(null)");
    }
    s->n++;
}

static void test_exec_blocking(void **state)
{
    const char *params[2] = {"abc", NULL};
    rows_seen s;
    char err[512];

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(db_exec_blocking(g_conn, "SELECT $1::text, $2::text, 42", 2, params,
                                      collect_row, &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.v[0][0], "abc");
    assert_string_equal(s.v[0][1], "(null)");
    assert_string_equal(s.v[0][2], "42");
    assert_int_equal(s.nulls, 1);

    memset(&s, 0, sizeof(s));
    assert_int_equal(db_exec_blocking(g_conn, "SELECT 1 WHERE false", 0, NULL, collect_row, &s, err,
                                      sizeof(err)),
                     0);
    assert_int_equal(s.n, 0);

    assert_int_equal(db_exec_blocking(g_conn, "SELEC 1", 0, NULL, NULL, NULL, err, sizeof(err)),
                     DB_EQUERY);
    assert_non_null(strstr(err, "syntax error"));
    assert_int_equal(db_exec_blocking(g_conn, NULL, 0, NULL, NULL, NULL, err, sizeof(err)),
                     DB_EINVAL);
    assert_int_equal(db_exec_blocking(g_conn, "SELECT $1", 1, NULL, NULL, NULL, err, sizeof(err)),
                     DB_EINVAL);
    assert_int_equal(db_exec_blocking(g_conn, "SELECT 1", -1, NULL, NULL, NULL, err, sizeof(err)),
                     DB_EINVAL);
    assert_int_equal(db_exec_blocking("host=/nonexistent-noriai port=1 dbname=x", "SELECT 1", 0,
                                      NULL, NULL, NULL, err, sizeof(err)),
                     DB_EUNAVAIL);
    exec_ok("CREATE TABLE uq (k text PRIMARY KEY)");
    exec_ok("INSERT INTO uq VALUES ('a')");
    assert_int_equal(db_exec_blocking(g_conn, "INSERT INTO uq VALUES ('a')", 0, NULL, NULL, NULL,
                                      err, sizeof(err)),
                     DB_ECONFLICT);
    assert_non_null(strstr(err, "duplicate key"));
}

/* ---- transactions on the loop ---- */

typedef struct kv_seen {
    int done, rc;
    char err[256];
    int rows[3], cols1;
    char ret_k[16], ret_n[16], sel_k[16];
    int v_is_null, n_results_ok;
    const char *oob[5];
} kv_seen;

static void on_kv(void *ud, int rc, const db_result *res, const char *err)
{
    kv_seen *s = ud;
    const char *v;
    int i;

    s->done = 1;
    s->rc = rc;
    snprintf(s->err, sizeof(s->err), "%s", err);
    for (i = 0; i < 3; i++)
        s->rows[i] = db_result_rows(res, i);
    s->cols1 = db_result_cols(res, 1);
    v = db_result_value(res, 0, 0, 0);
    snprintf(s->ret_k, sizeof(s->ret_k), "%s", v ? v : "(null)");
    v = db_result_value(res, 0, 0, 1);
    snprintf(s->ret_n, sizeof(s->ret_n), "%s", v ? v : "(null)");
    v = db_result_value(res, 1, 0, 0);
    snprintf(s->sel_k, sizeof(s->sel_k), "%s", v ? v : "(null)");
    s->v_is_null = db_result_value(res, 1, 0, 1) == NULL;
    s->oob[0] = db_result_value(res, 5, 0, 0);
    s->oob[1] = db_result_value(res, 1, 1, 0);
    s->oob[2] = db_result_value(res, 1, 0, 3);
    s->oob[3] = db_result_value(res, -1, 0, 0);
    s->oob[4] = db_result_value(res, 1, -1, 0);
}

static int kv_done(void *arg)
{
    return ((kv_seen *)arg)->done;
}

static void test_txn_params_and_results(void **state)
{
    const char *ins[3] = {"a", NULL, "7"};
    const char *sel[1] = {"a"};
    kv_seen s;
    db_txn *t;
    fx f;

    (void)state;
    exec_ok("CREATE TABLE kv (k text PRIMARY KEY, v text, n integer)");
    fx_open(&f);
    assert_int_equal(f.ups, 1);
    memset(&s, 0, sizeof(s));
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO kv VALUES ($1, $2, $3) RETURNING k, n", 3, ins), 0);
    assert_int_equal(db_txn_add(t, "SELECT k, v, n FROM kv WHERE k = $1", 1, sel), 0);
    ins[0] = "changed after add"; /* parameters were copied */
    db_txn_submit(t, on_kv, &s);
    assert_int_equal(s.done, 0); /* never called from inside submit */
    assert_true(run_until(&f, kv_done, &s, 5000));
    assert_int_equal(s.rc, 0);
    assert_string_equal(s.err, "");
    assert_int_equal(s.rows[0], 1);
    assert_int_equal(s.rows[1], 1);
    assert_int_equal(s.rows[2], 0);
    assert_int_equal(s.cols1, 3);
    assert_string_equal(s.ret_k, "a");
    assert_string_equal(s.ret_n, "7");
    assert_string_equal(s.sel_k, "a");
    assert_true(s.v_is_null);
    for (int i = 0; i < 5; i++)
        assert_null(s.oob[i]);
    assert_int_equal(count_of("SELECT count(*) FROM kv WHERE k = 'a' AND n = 7"), 1);

    /* A read-only statement sees the committed row. */
    memset(&s, 0, sizeof(s));
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "SELECT k, n FROM kv WHERE k = $1", 1, sel), 0);
    db_txn_set_readonly(t);
    db_txn_submit(t, on_kv, &s);
    assert_true(run_until(&f, kv_done, &s, 5000));
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.rows[0], 1);
    assert_string_equal(s.ret_k, "a");
    assert_string_equal(s.ret_n, "7");

    /* A write marked read-only fails and changes nothing. */
    memset(&s, 0, sizeof(s));
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO kv VALUES ('ro', NULL, 1)", 0, NULL), 0);
    db_txn_set_readonly(t);
    db_txn_submit(t, on_kv, &s);
    assert_true(run_until(&f, kv_done, &s, 5000));
    assert_int_equal(s.rc, DB_EQUERY);
    assert_non_null(strstr(s.err, "read-only"));
    assert_int_equal(count_of("SELECT count(*) FROM kv WHERE k = 'ro'"), 0);
    fx_close(&f);
}

static void test_query_error_and_conflict(void **state)
{
    static rec r;
    db_stats before, after;
    db_txn *t;
    want w = {&r, 4};
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE qe (k text PRIMARY KEY)");
    fx_open(&f);
    db_stats_get(f.d, &before);

    /* 0: a syntax error in the second statement: nothing of it commits. */
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO qe VALUES ('b')", 0, NULL), 0);
    assert_int_equal(db_txn_add(t, "SELEC oops", 0, NULL), 0);
    submit(t, &r, 0);
    /* 1, 2: the same key twice (one group: the second conflicts). */
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO qe VALUES ('c')", 0, NULL), 0);
    submit(t, &r, 1);
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO qe VALUES ('c')", 0, NULL), 0);
    submit(t, &r, 2);
    /* 3: a plain good one after them. */
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO qe VALUES ('d')", 0, NULL), 0);
    submit(t, &r, 3);
    assert_int_equal(r.n_done, 0);
    assert_true(run_until(&f, all_done, &w, 5000));

    assert_int_equal(r.rc[0], DB_EQUERY);
    assert_non_null(strstr(r.err[0], "syntax error"));
    assert_non_null(strstr(r.err[0], "statement 2"));
    assert_int_equal(r.rc[1], 0);
    assert_int_equal(r.rc[2], DB_ECONFLICT);
    assert_non_null(strstr(r.err[2], "duplicate key"));
    assert_int_equal(r.rows0[2], 0); /* no results on failure */
    assert_int_equal(r.rc[3], 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.order[i], i);
    assert_int_equal(count_of("SELECT count(*) FROM qe WHERE k = 'b'"), 0);
    assert_int_equal(count_of("SELECT count(*) FROM qe"), 2);
    db_stats_get(f.d, &after);
    assert_int_equal(after.txns_ok - before.txns_ok, 2);
    assert_int_equal(after.txns_failed - before.txns_failed, 2);
    fx_close(&f);
}

static void test_group_commit(void **state)
{
    static rec r;
    db_stats before, after;
    want w = {&r, 200};
    uint64_t hist = 0;
    int i;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE gc (i integer PRIMARY KEY)");
    fx_open(&f);
    db_stats_get(f.d, &before);
    for (i = 0; i < 200; i++)
        submit(txn1(f.d, "INSERT INTO gc VALUES ($1) RETURNING i", i), &r, i);
    assert_true(run_until(&f, all_done, &w, 10000));
    db_stats_get(f.d, &after);
    for (i = 0; i < 200; i++) {
        assert_int_equal(r.order[i], i);
        assert_int_equal(r.rc[i], 0);
        assert_int_equal(r.rows0[i], 1);
        assert_int_equal(atoi(r.first[i]), i);
    }
    assert_int_equal(count_of("SELECT count(*) FROM gc"), 200);
    assert_int_equal(after.txns_ok - before.txns_ok, 200);
    assert_int_equal(after.statements - before.statements, 200);
    assert_true(after.groups - before.groups <= 5);
    for (i = 0; i < 16; i++)
        hist += after.latency_hist[i] - before.latency_hist[i];
    assert_int_equal(hist, 200);
    assert_true(after.latency_us_sum > before.latency_us_sum);
    print_message("group commit: 200 txns in %llu group(s)\n",
                  (unsigned long long)(after.groups - before.groups));
    fx_close(&f);
}

/* Groups bounded by max_group_statements, and batches larger than the
 * socket buffer (flushed as the socket drains). */
static void test_large_batches(void **state)
{
    static rec r;
    static char big[16384];
    const char *p[2];
    char num[16];
    db_stats before, after;
    want w = {&r, 300};
    db_txn *t;
    int i;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(big, 'x', sizeof(big) - 1);
    exec_ok("CREATE TABLE lb (i integer PRIMARY KEY, pad text)");
    fx_open_group(&f, 100);
    db_stats_get(f.d, &before);
    for (i = 0; i < 300; i++) {
        snprintf(num, sizeof(num), "%d", i);
        p[0] = num;
        p[1] = big;
        t = db_txn_new(f.d);
        assert_int_equal(db_txn_add(t, "INSERT INTO lb VALUES ($1, $2)", 2, p), 0);
        submit(t, &r, i);
    }
    assert_true(run_until(&f, all_done, &w, 20000));
    db_stats_get(f.d, &after);
    for (i = 0; i < 300; i++) {
        assert_int_equal(r.order[i], i);
        assert_int_equal(r.rc[i], 0);
    }
    assert_int_equal(count_of("SELECT count(*) FROM lb WHERE length(pad) = 16383"), 300);
    /* 100 statements per group at most: the first alone is possible. */
    assert_true(after.groups - before.groups >= 3);
    assert_true(after.groups - before.groups <= 4);
    fx_close(&f);
}

static void test_group_one_bad(void **state)
{
    static rec r;
    db_stats before, after;
    want w = {&r, 60};
    db_txn *t;
    int i;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE gb (i integer PRIMARY KEY)");
    exec_ok("INSERT INTO gb VALUES (20)");
    fx_open(&f);
    db_stats_get(f.d, &before);
    for (i = 0; i < 60; i++) {
        if (i == 35) {
            t = txn1(f.d, "INSERT INTO no_such_table VALUES ($1)", i);
        } else if (i == 40) { /* conflicts with itself: its first insert goes too */
            t = txn1(f.d, "INSERT INTO gb VALUES ($1)", i);
            assert_int_equal(db_txn_add(t, "INSERT INTO gb VALUES (40)", 0, NULL), 0);
        } else {
            t = txn1(f.d, "INSERT INTO gb VALUES ($1)", i); /* 20 already exists */
        }
        submit(t, &r, i);
    }
    assert_true(run_until(&f, all_done, &w, 10000));
    db_stats_get(f.d, &after);
    for (i = 0; i < 60; i++) {
        assert_int_equal(r.order[i], i);
        if (i == 20 || i == 40)
            assert_int_equal(r.rc[i], DB_ECONFLICT);
        else if (i == 35)
            assert_int_equal(r.rc[i], DB_EQUERY);
        else
            assert_int_equal(r.rc[i], 0);
    }
    assert_non_null(strstr(r.err[35], "no_such_table"));
    assert_int_equal(count_of("SELECT count(*) FROM gb"), 58);
    assert_int_equal(count_of("SELECT count(*) FROM gb WHERE i IN (35, 40)"), 0);
    assert_int_equal(after.txns_ok - before.txns_ok, 57);
    assert_int_equal(after.txns_failed - before.txns_failed, 3);
    /* Far fewer round trips than one per transaction. */
    assert_true(after.groups - before.groups <= 15);
    print_message("one bad in a group: 60 txns (3 failing) in %llu groups\n",
                  (unsigned long long)(after.groups - before.groups));
    fx_close(&f);
}

static void test_readonly_beside_writes(void **state)
{
    static rec r;
    want w = {&r, 101};
    db_txn *t;
    int i, last;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE rw (i integer PRIMARY KEY)");
    fx_open(&f);
    for (i = 0; i < 100; i++)
        submit(txn1(f.d, "INSERT INTO rw VALUES ($1)", i), &r, i);
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "SELECT count(*) >= 0 FROM rw", 0, NULL), 0);
    db_txn_set_readonly(t);
    submit(t, &r, 100);
    assert_true(run_until(&f, all_done, &w, 10000));
    for (i = 0; i <= 100; i++)
        assert_int_equal(r.rc[i], 0);
    assert_string_equal(r.first[100], "t");
    for (i = 0, last = -1; i <= 100; i++) { /* the writes keep their order */
        if (r.order[i] == 100)
            continue;
        assert_int_equal(r.order[i], last + 1);
        last = r.order[i];
    }
    fx_close(&f);
}

static void test_bad_input(void **state)
{
    static rec r;
    want w = {&r, 3};
    db *d = NULL;
    db_stats st;
    db_txn *t;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(db_txn_add(NULL, "SELECT 1", 0, NULL), DB_EINVAL);
    assert_null(db_txn_new(NULL));
    db_txn_free(NULL);
    db_txn_submit(NULL, on_done, NULL);
    db_txn_set_readonly(NULL);
    db_close(NULL, NULL, NULL);
    assert_int_equal(db_ready(NULL), 0);
    assert_int_equal(db_result_rows(NULL, 0), 0);
    assert_int_equal(db_result_cols(NULL, 0), 0);
    assert_null(db_result_value(NULL, 0, 0, 0));
    db_stats_get(NULL, &st);
    assert_int_equal(st.txns_ok, 0);
    assert_string_equal(db_strerror(DB_ECONFLICT), "unique constraint violated");
    assert_string_equal(db_strerror(DB_ECLOSED), "store is closing");
    assert_string_equal(db_strerror(0), "success");
    assert_string_equal(db_strerror(-99), "unknown store error");

    fx_open(&f);
    assert_int_equal(db_create(NULL, g_conn, NULL, &d), DB_EINVAL);
    assert_int_equal(db_create(&f.loop, NULL, NULL, &d), DB_EINVAL);
    assert_int_equal(db_create(&f.loop, "host='unterminated", NULL, &d), DB_EINVAL);
    assert_int_equal(db_create(&f.loop, "nosuchkey=1", NULL, &d), DB_EINVAL);
    assert_null(d);

    /* 0: a NULL statement poisons the transaction: it never runs. */
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "INSERT INTO kv VALUES ('bad0', NULL, 0)", 0, NULL), 0);
    assert_int_equal(db_txn_add(t, NULL, 0, NULL), DB_EINVAL);
    assert_int_equal(db_txn_add(t, "SELECT $1", 1, NULL), DB_EINVAL);
    assert_int_equal(db_txn_add(t, "SELECT 1", -1, NULL), DB_EINVAL);
    assert_int_equal(db_txn_add(t, "SELECT 1", 70000, NULL), DB_EINVAL);
    submit(t, &r, 0);
    assert_int_equal(db_txn_add(t, "SELECT 1", 0, NULL), DB_EINVAL); /* after submit */
    /* 1: no statements. */
    submit(db_txn_new(f.d), &r, 1);
    /* 2: a statement of several commands is refused by the server. */
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "SELECT 1; SELECT 2", 0, NULL), 0);
    submit(t, &r, 2);
    assert_int_equal(r.n_done, 0);
    assert_true(run_until(&f, all_done, &w, 5000));
    assert_int_equal(r.rc[0], DB_EINVAL);
    assert_int_equal(r.rc[1], DB_EINVAL);
    assert_int_equal(r.rc[2], DB_EQUERY);
    assert_int_equal(count_of("SELECT count(*) FROM kv WHERE k = 'bad0'"), 0);

    /* An unfinished transaction is freed by its owner. */
    t = db_txn_new(f.d);
    assert_int_equal(db_txn_add(t, "SELECT 1", 0, NULL), 0);
    db_txn_free(t);
    fx_close(&f);

    /* A store that never reaches its server: unavailable, never hanging. */
    memset(&r, 0, sizeof(r));
    w.n = 1;
    memset(&f, 0, sizeof(f));
    assert_int_equal(uv_loop_init(&f.loop), 0);
    uv_timer_init(&f.loop, &f.tick);
    assert_int_equal(db_create(&f.loop, "host=/nonexistent-noriai port=1 dbname=x", NULL, &f.d), 0);
    submit(txn1(f.d, "SELECT 1", 0), &r, 0);
    assert_true(run_until(&f, all_done, &w, 1000));
    assert_int_equal(r.rc[0], DB_EUNAVAIL);
    assert_non_null(strstr(r.err[0], "unavailable"));
    fx_close(&f);
}

/* Runs the loop for ms milliseconds. */
static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(fx *f, int ms)
{
    run_until(f, never, NULL, ms);
}

static void test_connection_killed(void **state)
{
    static rec r;
    want w = {&r, 1};
    db_txn *t;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE ck (i integer PRIMARY KEY)");
    exec_ok("INSERT INTO ck VALUES (1)");
    fx_open(&f);
    run_for(&f, 20); /* the read connection is up too */
    assert_int_equal(count_of("SELECT count(*) FROM pg_stat_activity "
                              "WHERE application_name IN ('noriai', 'noriai-read')"),
                     2);

    /* The read connection dies under a read: the read is repeated on the
     * write connection. */
    assert_int_equal(count_of("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'noriai-read'"),
                     1);
    sleep_ms(20);
    t = txn1(f.d, "SELECT count(*) FROM ck", 0);
    db_txn_set_readonly(t);
    submit(t, &r, 0);
    assert_true(run_until(&f, all_done, &w, 3000));
    assert_int_equal(r.rc[0], 0);
    assert_string_equal(r.first[0], "1");

    /* While it is down, reads go through the write connection, read-only. */
    run_for(&f, 30);
    t = txn1(f.d, "SELECT count(*) FROM ck", 0);
    db_txn_set_readonly(t);
    submit(t, &r, 1);
    t = txn1(f.d, "INSERT INTO ck VALUES ($1)", 2);
    db_txn_set_readonly(t);
    submit(t, &r, 2);
    submit(txn1(f.d, "INSERT INTO ck VALUES ($1)", 3), &r, 3);
    w.n = 4;
    assert_true(run_until(&f, all_done, &w, 3000));
    assert_int_equal(r.rc[1], 0);
    assert_string_equal(r.first[1], "1");
    assert_int_equal(r.rc[2], DB_EQUERY);
    assert_non_null(strstr(r.err[2], "read-only"));
    assert_int_equal(r.rc[3], 0);
    assert_int_equal(count_of("SELECT count(*) FROM ck"), 2);

    /* The write connection dies while idle: reported down, then up again. */
    assert_int_equal(count_of("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'noriai'"),
                     1);
    assert_true(run_until(&f, is_reported_down, &f, 3000));
    assert_true(run_until(&f, is_up, &f, 3000));
    assert_int_equal(f.downs, 1);
    submit(txn1(f.d, "INSERT INTO ck VALUES ($1)", 4), &r, 4);
    w.n = 5;
    assert_true(run_until(&f, all_done, &w, 3000));
    assert_int_equal(r.rc[4], 0);
    run_for(&f, 300); /* both back */
    assert_int_equal(count_of("SELECT count(*) FROM pg_stat_activity "
                              "WHERE application_name IN ('noriai', 'noriai-read')"),
                     2);
    fx_close(&f);
}

/* ---- restart and close ---- */

typedef struct proc {
    uv_process_t h;
    int exited;
    int64_t status;
} proc;

static void on_exit_proc(uv_process_t *h, int64_t status, int sig)
{
    proc *p = h->data;
    (void)sig;
    p->status = status;
    p->exited = 1;
    uv_close((uv_handle_t *)h, NULL);
}

static void spawn_script(fx *f, proc *p, const char *cmd)
{
    char *args[4];
    uv_process_options_t o;
    uv_stdio_container_t io[3];

    memset(p, 0, sizeof(*p));
    memset(&o, 0, sizeof(o));
    args[0] = (char *)PGT_SCRIPT;
    args[1] = (char *)cmd;
    args[2] = g_dir;
    args[3] = NULL;
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_IGNORE;
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = 2;
    o.file = PGT_SCRIPT;
    o.args = args;
    o.stdio = io;
    o.stdio_count = 3;
    o.exit_cb = on_exit_proc;
    p->h.data = p;
    assert_int_equal(uv_spawn(&f->loop, &p->h, &o), 0);
}

/* During the outage: one insert every tick of this timer. */
typedef struct pump {
    fx *f;
    rec *r;
    uv_timer_t t;
    int next, limit;
} pump;

static void on_pump(uv_timer_t *h)
{
    pump *p = h->data;
    if (p->next < p->limit) {
        submit(txn1(p->f->d, "INSERT INTO rs VALUES ($1)", p->next), p->r, p->next);
        p->next++;
    }
}

static int proc_exited(void *arg)
{
    return ((proc *)arg)->exited;
}

static void test_restart(void **state)
{
    static rec r;
    want w;
    proc pr;
    pump pm;
    db_stats st;
    double t0, fail_s, back_s;
    char sql[96];
    int i, n_ok = 0, n_unavail = 0, n_unknown = 0;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE rs (i integer PRIMARY KEY)");
    fx_open(&f);

    /* Stop the server while the loop runs and inserts keep coming. */
    memset(&pm, 0, sizeof(pm));
    pm.f = &f;
    pm.r = &r;
    pm.limit = 1000;
    uv_timer_init(&f.loop, &pm.t);
    pm.t.data = &pm;
    uv_timer_start(&pm.t, on_pump, 2, 2);
    spawn_script(&f, &pr, "stop");
    assert_true(run_until(&f, proc_exited, &pr, 20000));
    assert_int_equal(pr.status, 0);
    uv_timer_stop(&pm.t);
    assert_true(run_until(&f, is_reported_down, &f, 3000));
    w.r = &r;
    w.n = pm.next;
    assert_true(run_until(&f, all_done, &w, 3000));
    assert_true(f.downs >= 1);

    /* During the outage: unavailable at once. */
    t0 = now_s();
    for (i = 0; i < 5; i++)
        submit(txn1(f.d, "INSERT INTO rs VALUES ($1)", pm.next + i), &r, pm.next + i);
    w.n = pm.next + 5;
    assert_true(run_until(&f, all_done, &w, 1000));
    fail_s = now_s() - t0;
    assert_true(fail_s < 0.2);
    for (i = 0; i < 5; i++) {
        assert_int_equal(r.rc[pm.next + i], DB_EUNAVAIL);
        assert_non_null(strstr(r.err[pm.next + i], "unavailable"));
    }

    /* Back up while the loop runs: the store reconnects by itself. */
    spawn_script(&f, &pr, "start");
    assert_true(run_until(&f, proc_exited, &pr, 30000));
    assert_int_equal(pr.status, 0);
    t0 = now_s();
    assert_true(run_until(&f, is_up, &f, 5000));
    back_s = now_s() - t0;
    assert_int_equal(f.ups, 2);
    assert_int_equal(f.downs, 1);
    i = pm.next + 5;
    submit(txn1(f.d, "INSERT INTO rs VALUES ($1)", i), &r, i);
    w.n = i + 1;
    assert_true(run_until(&f, all_done, &w, 5000));
    assert_int_equal(r.rc[i], 0);
    db_stats_get(f.d, &st);
    assert_true(st.reconnects >= 1);

    /* What the callbacks said during the stop is what the table holds. */
    for (i = 0; i < pm.next; i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM rs WHERE i = %d", i);
        if (r.rc[i] == 0) {
            n_ok++;
            assert_int_equal(count_of(sql), 1);
        } else if (r.rc[i] == DB_EUNAVAIL) {
            n_unavail++;
            assert_int_equal(count_of(sql), 0);
        } else {
            assert_int_equal(r.rc[i], DB_EUNKNOWN);
            n_unknown++;
        }
    }
    print_message("restart: %d inserts during the stop (%d committed, %d unavailable, %d unknown), "
                  "outage failures in %.1f ms, ready %.2f s after the server (backoff), "
                  "%llu reconnect(s)\n",
                  pm.next, n_ok, n_unavail, n_unknown, fail_s * 1000, back_s,
                  (unsigned long long)st.reconnects);
    uv_close((uv_handle_t *)&pm.t, NULL);
    fx_close(&f);
}

static void test_close_with_waiting(void **state)
{
    static rec r;
    want w = {&r, 101};
    int i, n_ok = 0, n_closed = 0, before;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    exec_ok("CREATE TABLE cw (i integer PRIMARY KEY)");
    fx_open(&f);
    for (i = 0; i < 50; i++)
        submit(txn1(f.d, "INSERT INTO cw VALUES ($1)", i), &r, i);
    uv_run(&f.loop, UV_RUN_NOWAIT); /* the first group goes out */
    for (i = 50; i < 100; i++)
        submit(txn1(f.d, "INSERT INTO cw VALUES ($1)", i), &r, i);
    db_close(f.d, on_closed, &f);
    before = r.n_done;
    submit(txn1(f.d, "INSERT INTO cw VALUES ($1)", 100), &r, 100);
    assert_int_equal(r.n_done, before); /* not from inside submit */
    assert_true(run_until(&f, is_closed, &f, 8000));
    assert_true(all_done(&w));
    for (i = 0; i <= 100; i++) {
        if (r.rc[i] == 0)
            n_ok++;
        else if (r.rc[i] == DB_ECLOSED)
            n_closed++;
    }
    assert_int_equal(n_ok + n_closed, 101);
    for (i = 50; i <= 100; i++)
        assert_int_equal(r.rc[i], DB_ECLOSED);
    assert_int_equal(count_of("SELECT count(*) FROM cw"), n_ok);
    uv_close((uv_handle_t *)&f.tick, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* A callback that closes the store and submits once more. */
typedef struct closer {
    fx *f;
    rec *r;
    int rc_first, n_after;
} closer;

static closer g_closer;

static void on_close_first(void *ud, int rc, const db_result *res, const char *err)
{
    closer *c = ud;
    (void)res;
    (void)err;
    c->rc_first = rc;
    db_close(c->f->d, on_closed, c->f);
    db_close(c->f->d, on_closed, c->f); /* a second call is ignored */
    submit(txn1(c->f->d, "INSERT INTO cc VALUES ($1)", 99), c->r, 3);
    c->n_after = c->r->n_done;
}

static void test_close_from_callback(void **state)
{
    static rec r;
    want w = {&r, 3};
    db_txn *t;
    fx f;

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&g_closer, 0, sizeof(g_closer));
    exec_ok("CREATE TABLE cc (i integer PRIMARY KEY)");
    fx_open(&f);
    g_closer.f = &f;
    g_closer.r = &r;
    g_closer.rc_first = 1;
    t = txn1(f.d, "INSERT INTO cc VALUES ($1)", 0);
    db_txn_submit(t, on_close_first, &g_closer);
    submit(txn1(f.d, "INSERT INTO cc VALUES ($1)", 1), &r, 1);
    submit(txn1(f.d, "INSERT INTO cc VALUES ($1)", 2), &r, 2);
    assert_true(run_until(&f, is_closed, &f, 8000));
    assert_int_equal(g_closer.rc_first, 0);
    assert_int_equal(g_closer.n_after, 0); /* the ECLOSED came later, not from submit */
    assert_true(all_done(&w));
    assert_int_equal(r.rc[1], 0); /* same group as the first: already committed */
    assert_int_equal(r.rc[2], 0);
    assert_int_equal(r.rc[3], DB_ECLOSED);
    assert_int_equal(count_of("SELECT count(*) FROM cc"), 3);
    uv_close((uv_handle_t *)&f.tick, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* ---- throughput (printed) ---- */

typedef struct seq {
    fx *f;
    int next, n, done;
} seq;

static void on_seq(void *ud, int rc, const db_result *res, const char *err)
{
    seq *s = ud;
    (void)res;
    if (rc != 0)
        fail_msg("insert failed: %s", err);
    s->done++;
    if (s->next < s->n)
        db_txn_submit(txn1(s->f->d, "INSERT INTO tp VALUES ($1)", s->next++), on_seq, s);
}

static int seq_done(void *arg)
{
    seq *s = arg;
    return s->done >= s->n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_throughput(void **state)
{
    const char *env = getenv("NORIAI_DB_BENCH");
    int full = env != NULL && *env != '\0' && strcmp(env, "0") != 0;
    int n = full ? 2000 : 300, runs = full ? 3 : 1, k, i;
    double group_rate[3], one_rate[3], t0;
    db_stats a, b;
    uint64_t groups = 0;
    seq s;
    fx f;

    (void)state;
    exec_ok("CREATE TABLE tp (i integer PRIMARY KEY)");
    fx_open(&f);
    for (k = 0; k < runs; k++) {
        exec_ok("TRUNCATE tp");
        memset(&s, 0, sizeof(s));
        s.f = &f;
        s.n = n;
        db_stats_get(f.d, &a);
        t0 = now_s();
        for (i = 0; i < n; i++)
            db_txn_submit(txn1(f.d, "INSERT INTO tp VALUES ($1)", s.next++), on_seq, &s);
        assert_true(run_until(&f, seq_done, &s, 60000));
        group_rate[k] = n / (now_s() - t0);
        db_stats_get(f.d, &b);
        groups = b.groups - a.groups;

        exec_ok("TRUNCATE tp");
        memset(&s, 0, sizeof(s));
        s.f = &f;
        s.n = n;
        t0 = now_s();
        db_txn_submit(txn1(f.d, "INSERT INTO tp VALUES ($1)", s.next++), on_seq, &s);
        assert_true(run_until(&f, seq_done, &s, 120000));
        one_rate[k] = n / (now_s() - t0);
    }
    qsort(group_rate, (size_t)runs, sizeof(double), cmp_double);
    qsort(one_rate, (size_t)runs, sizeof(double), cmp_double);
    print_message("throughput (%d single-insert txns, median of %d): all at once %.0f commits/s "
                  "(%llu groups), one at a time %.0f commits/s%s\n",
                  n, runs, group_rate[runs / 2], (unsigned long long)groups, one_rate[runs / 2],
                  full ? "" : " [NORIAI_DB_BENCH=1 for 2,000 x 3]");
    fx_close(&f);
}

/* ---- the cluster ---- */

static int setup_cluster(void **state)
{
    (void)state;
    if (pgt_start(g_dir, g_conn, sizeof(g_conn)) != 0) {
        fprintf(stderr, "test_db: could not start PostgreSQL (scripts/pg-local.sh)\n");
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate),
        cmocka_unit_test(test_exec_blocking),
        cmocka_unit_test(test_txn_params_and_results),
        cmocka_unit_test(test_query_error_and_conflict),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_large_batches),
        cmocka_unit_test(test_group_one_bad),
        cmocka_unit_test(test_readonly_beside_writes),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_connection_killed),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_close_with_waiting),
        cmocka_unit_test(test_close_from_callback),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, setup_cluster, teardown_cluster);
}
