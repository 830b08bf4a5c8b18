/*
 * db.h - the store's connection to PostgreSQL: libpq driven asynchronously
 * by a libuv loop, plus the blocking helpers used before the loop serves
 * (migrations, loading state at start).
 *
 * Writes are transactions: a db_txn collects statements (SQL text with $1..
 * parameters, all passed as text) and is submitted with a callback.  The
 * callback runs on the loop thread once the transaction is committed (rc 0)
 * or has failed (rc < 0); only after rc 0 may the caller acknowledge the
 * change to anyone.  Results of every statement are readable inside the
 * callback.
 *
 * Group commit: while one transaction is in flight, newly submitted ones
 * wait; when it completes, everything waiting (up to a statement limit) is
 * sent as ONE transaction (BEGIN, statements, COMMIT, in libpq pipeline
 * mode), so one fsync acknowledges many requests.  If such a group fails,
 * its transactions are retried one by one, so one bad transaction fails
 * alone.  Order of submission is order of execution.
 *
 * Connection loss: in-flight and waiting transactions fail with DB_EUNAVAIL
 * (a transaction whose COMMIT was sent but not answered fails with
 * DB_EUNKNOWN: it may or may not have committed); new submissions fail at
 * once with DB_EUNAVAIL until the connection is back.  The module reconnects
 * by itself with backoff (100 ms doubling to 2 s) and reports state changes
 * through an optional callback.
 *
 * The socket is watched with uv_poll on PQsocket; no call blocks the loop
 * thread.  Query latency (submit to completion) is accumulated for metrics.
 *
 * Ownership: db owns its connection, transactions and results.  A db_txn
 * belongs to the caller until db_txn_submit (which always takes it, also on
 * failure: the callback is then called from the loop soon after, never from
 * inside db_txn_submit).
 */
#ifndef NORIAI_DB_H
#define NORIAI_DB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "data/db/db_err.h"

typedef struct db db;
typedef struct db_txn db_txn;
typedef struct db_result db_result;

typedef struct db_opts {
    int max_group_statements; /* default 2000 */
    void (*state_changed)(void *ud, int connected);
    void *ud;
} db_opts;

/* Connects in the background; db_ready() tells when usable. */
int db_create(uv_loop_t *loop, const char *conninfo, const db_opts *opts, db **out);
/* Fails what is waiting with DB_ECLOSED, closes handles, then calls done. */
void db_close(db *d, void (*done)(void *ud), void *ud);
int db_ready(const db *d); /* 1: connected and usable */

db_txn *db_txn_new(db *d); /* NULL on out of memory */
/* Adds a statement; params copied (NULL entry = SQL NULL).  Statements run
 * in the order added.  0 or DB_ENOMEM. */
int db_txn_add(db_txn *t, const char *sql, int n_params, const char *const *params);
/* A read-only single statement needs no transaction: db_txn_set_readonly
 * sends it without BEGIN/COMMIT and it never waits behind a group commit's
 * fsync (it may run on a second connection). */
void db_txn_set_readonly(db_txn *t);
void db_txn_free(db_txn *t); /* only for a transaction never submitted */

typedef void (*db_done_cb)(void *ud, int rc, const db_result *res, const char *err);
void db_txn_submit(db_txn *t, db_done_cb cb, void *ud);

/* Results (valid only inside the callback); stmt indexes the statements. */
int db_result_rows(const db_result *r, int stmt);
int db_result_cols(const db_result *r, int stmt);
const char *db_result_value(const db_result *r, int stmt, int row, int col); /* NULL for SQL NULL */

typedef struct db_stats {
    uint64_t txns_ok, txns_failed, groups, statements;
    uint64_t latency_us_sum; /* submit -> callback, committed transactions */
    uint64_t latency_hist[16]; /* counts of latency <= 2^i * 100 us, last bucket = rest */
    uint64_t reconnects;
} db_stats;
void db_stats_get(const db *d, db_stats *out);

/* ---- blocking helpers (never on a serving loop) ---- */

/*
 * Applies the migrations compiled into the binary (data/sql/NNN_*.sql) that
 * are not yet applied, each in its own transaction, recording version, name
 * and SHA-256 in schema_migrations.  A migration whose recorded checksum
 * differs from the compiled one is an error (someone edited an applied
 * migration).  *applied = number applied now.
 */
int db_migrate(const char *conninfo, int *applied, char *err, size_t err_len);

/* Number and names of the compiled-in migrations (for `noriai migrate --list`). */
int db_migration_count(void);
const char *db_migration_name(int i); /* "001_init.sql" */

/*
 * Runs one statement on a short-lived blocking connection and calls row()
 * for each result row (values NULL for SQL NULL).  For loading state at
 * start.  0 or a negative DB_E code with err filled.
 */
int db_exec_blocking(const char *conninfo, const char *sql, int n_params,
                     const char *const *params,
                     void (*row)(void *ud, int n_cols, const char *const *values), void *ud,
                     char *err, size_t err_len);

/* One statement of a blocking transaction (db_exec_blocking_txn). */
typedef struct db_blocking_stmt {
    const char *sql;
    int n_params;
    const char *const *params; /* NULL entry = SQL NULL */
} db_blocking_stmt;

/*
 * Runs n statements as ONE transaction (BEGIN, the statements in order,
 * COMMIT) on a short-lived blocking connection; results are not read.  The
 * first failing statement rolls everything back.  0, or a negative DB_E
 * code with err filled: DB_EUNAVAIL nothing committed (no connection, or it
 * was lost before COMMIT), DB_EUNKNOWN the connection was lost during
 * COMMIT, DB_ECONFLICT/DB_EQUERY a statement was refused.  n == 0 commits
 * nothing and returns 0 without connecting.
 */
int db_exec_blocking_txn(const char *conninfo, const db_blocking_stmt *stmts, int n, char *err,
                         size_t err_len);

#endif
