/*
 * db_blocking.c - the store's blocking helpers, for before the loop serves:
 * schema migrations and one-off statements on a short-lived connection.
 *
 * Migrations are the files data/sql/NNN_name.sql compiled into the binary
 * (scripts/embed.c), applied in file-name order.  NNN is the version.  The
 * table schema_migrations(version, name, sha256, applied_at) records what
 * has been applied.  One run:
 *
 *   1. take the session advisory lock DB_MIGRATE_LOCK_KEY (a second daemon
 *      starting at the same moment waits here, then finds everything
 *      applied);
 *   2. create schema_migrations if missing;
 *   3. check the record against the compiled list: a version recorded with
 *      another SHA-256 means an applied file was edited, a version recorded
 *      that the binary does not have means the database is newer than the
 *      binary; both stop the run before anything changes;
 *   4. apply each missing migration in its own transaction together with
 *      its schema_migrations row, so a failed one leaves no trace and the
 *      ones before it stay applied.
 *
 * A migration file must not contain BEGIN/COMMIT itself (it runs as one
 * simple-protocol query string inside our transaction).  Cost: one
 * round trip per statement of the migration; migrations are small.
 */
#include "data/area/sha256.h"
#include "data/db/db_int.h"
#include "solver/errf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_MIGRATIONS_MAX 256

int db_migration_count(void)
{
    return db_sql_count;
}

const char *db_migration_name(int i)
{
    if (i < 0 || i >= db_sql_count)
        return NULL;
    return db_sql_names[i];
}

/* Opens a blocking connection (notices silenced); 0 or DB_EUNAVAIL. */
static int db_open(const char *conninfo, PGconn **out, char *err, size_t err_len)
{
    char msg[400];
    PGconn *c;

    *out = NULL;
    c = PQconnectdb(conninfo);
    if (c == NULL)
        return slv_errf(err, err_len, DB_ENOMEM, "cannot connect to the database: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        db_msg_clean(msg, sizeof(msg), PQerrorMessage(c));
        PQfinish(c);
        return slv_errf(err, err_len, DB_EUNAVAIL, "cannot connect to the database: %s", msg);
    }
    PQsetNoticeProcessor(c, db_notice_quiet, NULL);
    *out = c;
    return 0;
}

/* Runs sql (no parameters, or n params); 0, or the DB_E code of its error
 * with "what: message" in err.  *res_out (may be NULL) gets the result of a
 * successful statement. */
static int db_run(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                  PGresult **res_out, char *err, size_t err_len)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    const char *state;
    char msg[500];
    int rc;

    if (res_out != NULL)
        *res_out = NULL;
    if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
        if (res_out != NULL)
            *res_out = res;
        else
            PQclear(res);
        return 0;
    }
    if (res == NULL) {
        db_msg_clean(msg, sizeof(msg), PQerrorMessage(c));
        rc = DB_EUNAVAIL;
    } else {
        db_msg_clean(msg, sizeof(msg), PQresultErrorMessage(res));
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR) {
            snprintf(msg, sizeof(msg), "unsupported result (%s)", PQresStatus(st));
            rc = DB_EQUERY;
        } else if (db_sqlstate_is_conn_loss(state) || PQstatus(c) == CONNECTION_BAD) {
            rc = DB_EUNAVAIL;
        } else {
            rc = db_sqlstate_rc(state);
        }
        PQclear(res);
    }
    return slv_errf(err, err_len, rc, "%s: %s", what, msg);
}

int db_exec_blocking(const char *conninfo, const char *sql, int n_params, const char *const *params,
                     void (*row)(void *ud, int n_cols, const char *const *values), void *ud,
                     char *err, size_t err_len)
{
    PGconn *c = NULL;
    PGresult *res = NULL;
    const char **values = NULL;
    int rc, i, j, rows, cols;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (conninfo == NULL || sql == NULL || n_params < 0 || n_params > 65535 ||
        (n_params > 0 && params == NULL))
        return slv_errf(err, err_len, DB_EINVAL,
                        "db_exec_blocking: conninfo and sql are required, and params when "
                        "n_params > 0 (0..65535)");
    rc = db_open(conninfo, &c, err, err_len);
    if (rc != 0)
        goto out;
    rc = db_run(c, "statement failed", sql, n_params, params, &res, err, err_len);
    if (rc != 0)
        goto out;
    rows = PQntuples(res);
    cols = PQnfields(res);
    if (row != NULL && rows > 0) {
        values = malloc((size_t)(cols > 0 ? cols : 1) * sizeof(*values));
        if (values == NULL) {
            rc = slv_errf(err, err_len, DB_ENOMEM, "out of memory reading %d columns", cols);
            goto out;
        }
        for (i = 0; i < rows; i++) {
            for (j = 0; j < cols; j++)
                values[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
            row(ud, cols, values);
        }
    }
out:
    free(values);
    PQclear(res);
    PQfinish(c);
    return rc;
}

/* The statements in one transaction: a failure rolls back all of them (the
 * ROLLBACK's own result does not matter: the session ends right after).
 * Only a lost answer to COMMIT leaves the outcome unknown. */
int db_exec_blocking_txn(const char *conninfo, const db_blocking_stmt *stmts, int n, char *err,
                         size_t err_len)
{
    PGconn *c = NULL;
    char what[64];
    int rc, i;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (conninfo == NULL || n < 0 || (n > 0 && stmts == NULL))
        return slv_errf(err, err_len, DB_EINVAL,
                        "db_exec_blocking_txn: conninfo is required, and statements when n > 0");
    for (i = 0; i < n; i++)
        if (stmts[i].sql == NULL || stmts[i].n_params < 0 || stmts[i].n_params > 65535 ||
            (stmts[i].n_params > 0 && stmts[i].params == NULL))
            return slv_errf(err, err_len, DB_EINVAL,
                            "db_exec_blocking_txn: statement %d has no sql or bad params", i + 1);
    if (n == 0)
        return 0;
    rc = db_open(conninfo, &c, err, err_len);
    if (rc != 0)
        goto out;
    rc = db_run(c, "BEGIN", "BEGIN", 0, NULL, NULL, err, err_len);
    for (i = 0; i < n && rc == 0; i++) {
        snprintf(what, sizeof(what), "statement %d of %d", i + 1, n);
        rc = db_run(c, what, stmts[i].sql, stmts[i].n_params, stmts[i].params, NULL, err, err_len);
    }
    if (rc != 0) {
        if (PQstatus(c) == CONNECTION_OK)
            PQclear(PQexec(c, "ROLLBACK"));
        goto out;
    }
    rc = db_run(c, "COMMIT", "COMMIT", 0, NULL, NULL, err, err_len);
    if (rc == DB_EUNAVAIL) {
        /* The COMMIT was sent: it may have been applied before the loss. */
        rc = DB_EUNKNOWN;
        if (err != NULL && err_len > 0)
            snprintf(err + strlen(err), err_len - strlen(err), " (outcome unknown)");
    }
out:
    PQfinish(c);
    return rc;
}

/* NNN of "NNN_name.sql" (1..9 digits, then '_'); -1 if the name is not so. */
static long migration_version(const char *name)
{
    long v = 0;
    int n = 0;

    while (name[n] >= '0' && name[n] <= '9' && n < 9)
        v = v * 10 + (name[n++] - '0');
    if (n == 0 || name[n] != '_')
        return -1;
    return v;
}

typedef struct applied_row {
    long version;
    char name[128];
    char sha[65];
} applied_row;

int db_migrate(const char *conninfo, int *applied, char *err, size_t err_len)
{
    PGconn *c = NULL;
    PGresult *res = NULL;
    applied_row *rec = NULL;
    long versions[DB_MIGRATIONS_MAX];
    char shas[DB_MIGRATIONS_MAX][65];
    char what[200], vbuf[24];
    const char *params[3];
    int rc, i, k, n_rec = 0, found;

    if (applied != NULL)
        *applied = 0;
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (conninfo == NULL)
        return slv_errf(err, err_len, DB_EINVAL, "db_migrate: no conninfo");
    if (db_sql_count > DB_MIGRATIONS_MAX)
        return slv_errf(err, err_len, DB_EMIGRATE, "more than %d migrations compiled in",
                        DB_MIGRATIONS_MAX);
    /* The compiled list must be well formed before the database is touched. */
    for (i = 0; i < db_sql_count; i++) {
        versions[i] = migration_version(db_sql_names[i]);
        if (versions[i] < 0 || (i > 0 && versions[i] <= versions[i - 1]))
            return slv_errf(err, err_len, DB_EMIGRATE,
                            "compiled migration %s: names must be NNN_name.sql with versions "
                            "increasing",
                            db_sql_names[i]);
        area_sha256_hex(db_sql_texts[i], db_sql_lens[i], shas[i]);
    }
    rc = db_open(conninfo, &c, err, err_len);
    if (rc != 0)
        goto out;
    rc = db_run(c, "taking the migration lock", "SELECT pg_advisory_lock(" DB_MIGRATE_LOCK_KEY ")",
                0, NULL, NULL, err, err_len);
    if (rc != 0)
        goto out;
    rc = db_run(c, "creating schema_migrations",
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())",
                0, NULL, NULL, err, err_len);
    if (rc != 0)
        goto out;
    rc = db_run(c, "reading schema_migrations",
                "SELECT version, name, sha256 FROM schema_migrations ORDER BY version", 0, NULL,
                &res, err, err_len);
    if (rc != 0)
        goto out;
    n_rec = PQntuples(res);
    rec = calloc((size_t)(n_rec > 0 ? n_rec : 1), sizeof(*rec));
    if (rec == NULL) {
        rc = slv_errf(err, err_len, DB_ENOMEM, "out of memory reading schema_migrations");
        goto out;
    }
    for (i = 0; i < n_rec; i++) {
        rec[i].version = strtol(PQgetvalue(res, i, 0), NULL, 10);
        snprintf(rec[i].name, sizeof(rec[i].name), "%s", PQgetvalue(res, i, 1));
        snprintf(rec[i].sha, sizeof(rec[i].sha), "%s", PQgetvalue(res, i, 2));
    }
    PQclear(res);
    res = NULL;
    for (k = 0; k < n_rec; k++) {
        found = 0;
        for (i = 0; i < db_sql_count && !found; i++) {
            if (versions[i] != rec[k].version)
                continue;
            found = 1;
            if (strcmp(shas[i], rec[k].sha) != 0) {
                rc = slv_errf(err, err_len, DB_EMIGRATE,
                              "migration %s was changed after it was applied (recorded sha256 "
                              "%.16s..., compiled %.16s...); never edit an applied migration, add "
                              "a new one",
                              db_sql_names[i], rec[k].sha, shas[i]);
                goto out;
            }
        }
        if (!found) {
            rc = slv_errf(err, err_len, DB_EMIGRATE,
                          "the database has migration %ld (%s) which this binary does not know; "
                          "it was migrated by a newer noriai",
                          rec[k].version, rec[k].name);
            goto out;
        }
    }
    for (i = 0; i < db_sql_count; i++) {
        found = 0;
        for (k = 0; k < n_rec; k++)
            found |= rec[k].version == versions[i];
        if (found)
            continue;
        snprintf(what, sizeof(what), "migration %s", db_sql_names[i]);
        rc = db_run(c, what, "BEGIN", 0, NULL, NULL, err, err_len);
        if (rc == 0) {
            /* PQexec: a migration holds many statements (simple protocol). */
            res = PQexec(c, db_sql_texts[i]);
            if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
                char msg[500];
                db_msg_clean(msg, sizeof(msg),
                             res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c));
                rc = slv_errf(err, err_len, DB_EMIGRATE, "%s failed: %s", what, msg);
            }
            PQclear(res);
            res = NULL;
        }
        if (rc == 0) {
            snprintf(vbuf, sizeof(vbuf), "%ld", versions[i]);
            params[0] = vbuf;
            params[1] = db_sql_names[i];
            params[2] = shas[i];
            rc = db_run(c, what,
                        "INSERT INTO schema_migrations (version, name, sha256) "
                        "VALUES ($1, $2, $3)",
                        3, params, NULL, err, err_len);
        }
        if (rc == 0)
            rc = db_run(c, what, "COMMIT", 0, NULL, NULL, err, err_len);
        if (rc != 0) {
            PQclear(PQexec(c, "ROLLBACK"));
            if (rc != DB_EUNAVAIL)
                rc = DB_EMIGRATE;
            goto out;
        }
        if (applied != NULL)
            (*applied)++;
    }
    rc = 0;
out:
    free(rec);
    PQclear(res);
    PQfinish(c); /* ends the session: the advisory lock goes with it */
    return rc;
}
