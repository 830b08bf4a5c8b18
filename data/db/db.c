/*
 * db.c - the store's asynchronous connection to PostgreSQL: libpq in
 * non-blocking pipeline mode, driven by the libuv loop.
 *
 * Two connections ("pipes"), each a PGconn watched by a uv_poll on its
 * socket, with its own reconnect timer:
 *
 *   write pipe - every read-write transaction.  Group commit: at most one
 *     batch is in flight; whatever was submitted meanwhile waits in a FIFO.
 *     When the batch's result arrives, the whole FIFO (up to
 *     max_group_statements statements) goes out as one batch:
 *         BEGIN; stmts of txn 1; stmts of txn 2; ...; COMMIT; Sync
 *     queued with PQsendQueryParams and PQpipelineSync and flushed in one
 *     write, so one round trip and one WAL fsync acknowledge every
 *     transaction in it.  Submissions made in one loop turn always share a
 *     batch: sending is deferred to the next idle phase.
 *   read pipe - transactions marked read-only.  Each is its own pipeline
 *     segment (stmts; Sync, an implicit transaction) sent at once, up to
 *     DB_READ_INFLIGHT_MAX in flight, so reads never wait behind a group's
 *     fsync.  The session runs with default_transaction_read_only, so a
 *     write marked read-only fails instead of slipping past the group
 *     commit.  Reads see every transaction whose callback has already run
 *     (COMMIT answered means visible to new snapshots).  When the read pipe
 *     is down, reads go through the write pipe instead, each alone in a
 *     BEGIN READ ONLY .. COMMIT batch; a read cut off by a lost read
 *     connection is moved there too (reads are safe to repeat).
 *
 * Results: per batch a cursor (stage, transaction, statement) follows the
 * order libpq returns them in pipeline mode: per query its result and a
 * NULL, PGRES_PIPELINE_ABORTED for queries skipped after an error, and
 * PGRES_PIPELINE_SYNC at the end.  A failed group (explicit BEGIN) leaves
 * the session in an aborted transaction; a ROLLBACK segment goes ahead of
 * the next batch.
 *
 * Failure of a group: the statement that failed names a transaction k.
 * Transactions before k ran without error on the same state, so they go
 * back to the head of the FIFO as an ordinary group; k is retried alone
 * (its error becomes final only then); those after k wait as usual.  The
 * order of execution stays the order of submission and one bad transaction
 * fails alone, at the cost of about three extra round trips rather than one
 * per transaction.  An error not tied to a statement (at BEGIN, or a
 * deferred constraint at COMMIT) sends every transaction of the group back
 * alone.
 *
 * Connection loss: the socket is closed and the pipe retries after 100 ms,
 * doubling to 2 s (also when a connection attempt fails, or takes more than
 * DB_CONNECT_TIMEOUT_MS).  Waiting transactions fail with DB_EUNAVAIL.  The
 * in-flight group succeeds if COMMIT was answered before the loss, fails
 * with DB_EUNAVAIL if a statement of it had already failed or its COMMIT
 * never reached libpq, and with DB_EUNKNOWN otherwise: libpq flushes its
 * buffer whenever it fills, and the server commits when it executes the
 * COMMIT message, Sync or no Sync, so once COMMIT is queued nothing on our
 * side can prove it did not commit.  DB_EUNAVAIL thus always means "not
 * committed"; a retry after it cannot apply anything twice.
 *
 * Callbacks never run inside db_txn_submit or db_close: every completion
 * goes on a "done" list delivered by a uv_idle handle, which also sends the
 * pending batches and reports state changes of the write pipe (the state
 * db_ready tells).  Nothing that calls back into user code runs while a
 * pipe is half-updated, so callbacks may submit or close freely.
 *
 * db_close: waiting transactions fail with DB_ECLOSED at once; batches in
 * flight get DB_CLOSE_GRACE_MS to finish with their real outcome, then the
 * connections are dropped (DB_EUNKNOWN / DB_ECLOSED).  Every handle is
 * closed and done() is called from the last close callback, after db has
 * been freed.
 *
 * Statements: one SQL command each (the extended protocol refuses "a; b"),
 * parameters as text.  A transaction one of whose db_txn_add calls failed
 * is never run: its submission fails with DB_EINVAL.  An empty one too.
 *
 * Stats: groups counts write batches executed (failed ones too, reads
 * not); statements and latency count committed transactions only;
 * latency_hist[i] counts latencies in (2^(i-1), 2^i] * 100 us (bucket 0 up
 * to 100 us, bucket 15 everything above 1.6 s), each transaction once, so a
 * cumulative (Prometheus) histogram is the running sum; reconnects counts
 * write-connection re-establishments.
 *
 * Cost: per batch one PQsendQueryParams per statement (unnamed statement,
 * parsed each time), one write and one read syscall burst; memory per
 * transaction is its SQL and parameters (copied in one block per statement)
 * and its PGresults until the callback returns.  The waiting FIFO is not
 * bounded here: the caller limits what it submits.  PQconnectStartParams
 * resolves a host name synchronously; use a Unix socket, an IP address or
 * hostaddr= so that a reconnect never waits for DNS on the loop.
 */
#include "data/db/db_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 2000
#define DB_CONNECT_TIMEOUT_MS 10000
#define DB_CLOSE_GRACE_MS 5000
#define DB_READ_INFLIGHT_MAX 64
#define DB_MAX_PARAMS 65535 /* the protocol's limit */
#define DB_DEFAULT_GROUP_STATEMENTS 2000
#define DB_ERRMSG_MAX 600

typedef struct db_stmt {
    const char *sql;
    const char **params; /* n_params entries; NULL = SQL NULL */
    int n_params;
    PGresult *res;
    void *mem; /* one block holding params, sql and the parameter texts */
} db_stmt;

struct db_result {
    const db_txn *t;
};

struct db_txn {
    db *d;
    db_txn *next; /* link in exactly one queue: waiting, a batch, or done */
    db_stmt *stmts;
    int n_stmts, cap_stmts;
    int readonly, submitted, solo;
    int broken; /* a db_txn_add failed: the transaction must not run */
    db_done_cb cb;
    void *ud;
    uint64_t submit_ns;
    int rc;
    char *err; /* NULL: use db_strerror(rc) */
    db_result res;
};

typedef struct db_queue {
    db_txn *head, *tail;
} db_queue;

enum db_batch_kind {
    B_WRITE,   /* BEGIN; stmts...; COMMIT; Sync */
    B_READ_TX, /* BEGIN READ ONLY; stmts; COMMIT; Sync (a read on the write pipe) */
    B_READ,    /* stmts; Sync (read pipe, implicit transaction) */
    B_CONTROL  /* one statement of our own; Sync */
};

enum db_stage { S_BEGIN, S_STMTS, S_END, S_CONTROL, S_SYNC };

typedef struct db_batch {
    struct db_batch *next;
    int kind;
    const char *control_sql;
    db_queue txns;
    int n_txns, n_stmts;
    /* cursor over the results */
    int stage;
    db_txn *cur;
    int cur_stmt;
    int commit_queued; /* COMMIT handed to libpq: it may reach the server any time */
    int committed;     /* COMMIT answered "COMMIT" */
    /* first error */
    int failed;
    db_txn *fail_txn; /* NULL: not tied to a statement */
    char sqlstate[6];
    char *fail_msg;
} db_batch;

enum db_pipe_state { P_DOWN, P_CONNECTING, P_READY, P_SHUT };

typedef struct db_pipe {
    db *d;
    int is_read;
    int state;
    PGconn *pg;
    uv_poll_t *poll; /* heap: freed in its close callback */
    int sock;
    int poll_events;
    uv_timer_t timer; /* reconnect delay, or connect deadline */
    int backoff_ms;
    int connected_once;
    int want_write;
    int need_rollback;
    db_queue waiting;
    db_batch *inflight_head, *inflight_tail;
    int n_txn_batches; /* in flight, not counting control batches */
    char last_err[300];
} db_pipe;

struct db {
    uv_loop_t *loop;
    char *conninfo;
    db_opts opts;
    db_pipe w, r;
    uv_idle_t idle;
    uv_timer_t close_timer;
    db_queue done;
    int pump_pending;
    int reported_ready;
    int delivering; /* inside db_on_idle */
    int closing, finish_started, open_handles;
    void (*close_cb)(void *ud);
    void *close_ud;
    db_stats stats;
};

static const struct {
    int code;
    const char *msg;
} db_errors[] = {
#define DB_ERR_ROW(name, code, msg) {code, msg},
    DB_ERRNO_MAP(DB_ERR_ROW)
#undef DB_ERR_ROW
};

const char *db_strerror(int err)
{
    size_t i;

    if (err == 0)
        return "success";
    for (i = 0; i < sizeof(db_errors) / sizeof(db_errors[0]); i++)
        if (db_errors[i].code == err)
            return db_errors[i].msg;
    return "unknown store error";
}

/* ---- queues ---- */

static void q_push(db_queue *q, db_txn *t)
{
    t->next = NULL;
    if (q->tail != NULL)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static db_txn *q_pop(db_queue *q)
{
    db_txn *t = q->head;

    if (t != NULL) {
        q->head = t->next;
        if (q->head == NULL)
            q->tail = NULL;
        t->next = NULL;
    }
    return t;
}

/* Puts all of src (in its order) in front of q; src ends empty. */
static void q_prepend(db_queue *q, db_queue *src)
{
    if (src->head == NULL)
        return;
    src->tail->next = q->head;
    if (q->tail == NULL)
        q->tail = src->tail;
    q->head = src->head;
    src->head = src->tail = NULL;
}

/* ---- transactions ---- */

static void txn_clear_results(db_txn *t)
{
    int i;

    for (i = 0; i < t->n_stmts; i++) {
        PQclear(t->stmts[i].res);
        t->stmts[i].res = NULL;
    }
}

static void txn_destroy(db_txn *t)
{
    int i;

    for (i = 0; i < t->n_stmts; i++) {
        PQclear(t->stmts[i].res);
        free(t->stmts[i].mem);
    }
    free(t->stmts);
    free(t->err);
    free(t);
}

db_txn *db_txn_new(db *d)
{
    db_txn *t;

    if (d == NULL)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->d = d;
    t->res.t = t;
    return t;
}

int db_txn_add(db_txn *t, const char *sql, int n_params, const char *const *params)
{
    size_t sql_len, total, off;
    db_stmt *s;
    char *p;
    int i;

    if (t == NULL)
        return DB_EINVAL;
    if (t->submitted)
        return DB_EINVAL;
    if (sql == NULL || n_params < 0 || n_params > DB_MAX_PARAMS ||
        (n_params > 0 && params == NULL)) {
        t->broken = DB_EINVAL;
        return DB_EINVAL;
    }
    if (t->n_stmts == t->cap_stmts) {
        int ncap = t->cap_stmts ? t->cap_stmts * 2 : 4;
        db_stmt *ns = ncap < INT_MAX / 2 ? realloc(t->stmts, (size_t)ncap * sizeof(*ns)) : NULL;
        if (ns == NULL) {
            t->broken = DB_ENOMEM;
            return DB_ENOMEM;
        }
        t->stmts = ns;
        t->cap_stmts = ncap;
    }
    sql_len = strlen(sql) + 1;
    total = (size_t)n_params * sizeof(char *) + sql_len;
    for (i = 0; i < n_params; i++)
        if (params[i] != NULL)
            total += strlen(params[i]) + 1;
    p = malloc(total);
    if (p == NULL) {
        t->broken = DB_ENOMEM;
        return DB_ENOMEM;
    }
    s = &t->stmts[t->n_stmts];
    memset(s, 0, sizeof(*s));
    s->mem = p;
    s->params = (const char **)(void *)p;
    s->n_params = n_params;
    off = (size_t)n_params * sizeof(char *);
    memcpy(p + off, sql, sql_len);
    s->sql = p + off;
    off += sql_len;
    for (i = 0; i < n_params; i++) {
        if (params[i] == NULL) {
            s->params[i] = NULL;
            continue;
        }
        size_t n = strlen(params[i]) + 1;
        memcpy(p + off, params[i], n);
        s->params[i] = p + off;
        off += n;
    }
    t->n_stmts++;
    return 0;
}

void db_txn_set_readonly(db_txn *t)
{
    if (t != NULL && !t->submitted)
        t->readonly = 1;
}

void db_txn_free(db_txn *t)
{
    if (t != NULL && !t->submitted)
        txn_destroy(t);
}

/* ---- results ---- */

static const PGresult *result_of(const db_result *r, int stmt)
{
    if (r == NULL || r->t == NULL || stmt < 0 || stmt >= r->t->n_stmts)
        return NULL;
    return r->t->stmts[stmt].res;
}

int db_result_rows(const db_result *r, int stmt)
{
    const PGresult *res = result_of(r, stmt);
    return res != NULL ? PQntuples(res) : 0;
}

int db_result_cols(const db_result *r, int stmt)
{
    const PGresult *res = result_of(r, stmt);
    return res != NULL ? PQnfields(res) : 0;
}

const char *db_result_value(const db_result *r, int stmt, int row, int col)
{
    const PGresult *res = result_of(r, stmt);

    if (res == NULL || row < 0 || row >= PQntuples(res) || col < 0 || col >= PQnfields(res))
        return NULL;
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

/* ---- completion and delivery ---- */

static void db_on_idle(uv_idle_t *h);

/* Makes the idle handle run soon: deliveries, sends, state reports. */
static void db_kick(db *d)
{
    if (!uv_is_closing((uv_handle_t *)&d->idle))
        uv_idle_start(&d->idle, db_on_idle);
}

static char *db_vfmt(const char *fmt, va_list ap)
{
    char buf[DB_ERRMSG_MAX];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    return strdup(buf);
}

/* Finishes t with rc (and a message, printf-style, NULL for none): its
 * callback runs from the idle handle. */
static void txn_complete(db *d, db_txn *t, int rc, const char *fmt, ...)
{
    va_list ap;

    t->rc = rc;
    free(t->err);
    t->err = NULL;
    if (fmt != NULL) {
        va_start(ap, fmt);
        t->err = db_vfmt(fmt, ap);
        va_end(ap);
    }
    if (rc != 0)
        txn_clear_results(t);
    q_push(&d->done, t);
    db_kick(d);
}

static void db_deliver(db *d, db_txn *t)
{
    uint64_t lat_us = (uv_hrtime() - t->submit_ns) / 1000;
    uint64_t limit_us = 100;
    int b = 0;

    if (t->rc == 0) {
        d->stats.txns_ok++;
        d->stats.statements += (uint64_t)t->n_stmts;
        d->stats.latency_us_sum += lat_us;
        while (b < 15 && lat_us > limit_us) {
            limit_us *= 2;
            b++;
        }
        d->stats.latency_hist[b]++;
    } else {
        d->stats.txns_failed++;
    }
    if (t->cb != NULL)
        t->cb(t->ud, t->rc, &t->res,
              t->rc == 0 ? "" : (t->err != NULL ? t->err : db_strerror(t->rc)));
    txn_destroy(t);
}

static void pipe_pump(db_pipe *p);
static void db_maybe_finish(db *d);

static void db_on_idle(uv_idle_t *h)
{
    db *d = h->data;
    db_queue list = d->done;
    db_txn *t;
    int ready;

    d->done.head = d->done.tail = NULL;
    d->delivering = 1; /* a callback calling db_close must not finish d under us */
    if (!d->closing) {
        ready = db_ready(d);
        if (ready != d->reported_ready) {
            d->reported_ready = ready;
            if (d->opts.state_changed != NULL)
                d->opts.state_changed(d->opts.ud, ready);
        }
    }
    while ((t = q_pop(&list)) != NULL)
        db_deliver(d, t);
    if (d->pump_pending) {
        d->pump_pending = 0;
        pipe_pump(&d->w);
        pipe_pump(&d->r);
    }
    d->delivering = 0;
    if (d->done.head == NULL && !d->pump_pending)
        uv_idle_stop(&d->idle);
    db_maybe_finish(d);
}

/* ---- pipes: connection management ---- */

static void pipe_lost(db_pipe *p, const char *why);
static void pipe_connect_step(db_pipe *p);
static int pipe_read_results(db_pipe *p);
static int pipe_flush(db_pipe *p);

static void db_handle_closed(db *d)
{
    void (*cb)(void *ud);
    void *ud;

    d->open_handles--;
    if (!d->finish_started || d->open_handles > 0)
        return;
    cb = d->close_cb;
    ud = d->close_ud;
    free(d->conninfo);
    free(d);
    if (cb != NULL)
        cb(ud);
}

static void on_poll_closed(uv_handle_t *h)
{
    db_pipe *p = h->data;
    db *d = p->d;

    free(h);
    db_handle_closed(d);
}

static void on_pipe_timer_closed(uv_handle_t *h)
{
    db_pipe *p = h->data;
    db_handle_closed(p->d);
}

static void on_db_handle_closed(uv_handle_t *h)
{
    db_handle_closed(h->data);
}

/* Stops watching the socket.  Must come before PQfinish closes it: libuv
 * unregisters the fd from epoll right here, while the number still means
 * this socket. */
static void pipe_unwatch(db_pipe *p)
{
    if (p->poll != NULL) {
        uv_close((uv_handle_t *)p->poll, on_poll_closed);
        p->poll = NULL;
    }
    p->sock = -1;
    p->poll_events = 0;
}

static void pipe_on_poll(uv_poll_t *h, int status, int events);

/* Watches PQsocket for events; a new socket (libpq may switch during
 * connect) gets a new poll handle, the old one closed first.  0 or -1. */
static int pipe_watch(db_pipe *p, int events)
{
    int sock = PQsocket(p->pg);
    uv_poll_t *h;

    if (sock < 0) {
        snprintf(p->last_err, sizeof(p->last_err), "libpq has no socket");
        return -1;
    }
    if (sock != p->sock || p->poll == NULL) {
        pipe_unwatch(p);
        h = malloc(sizeof(*h));
        if (h == NULL) {
            snprintf(p->last_err, sizeof(p->last_err), "out of memory");
            return -1;
        }
        if (uv_poll_init(p->d->loop, h, sock) != 0) {
            snprintf(p->last_err, sizeof(p->last_err), "cannot watch socket %d", sock);
            free(h);
            return -1;
        }
        h->data = p;
        p->d->open_handles++;
        p->poll = h;
        p->sock = sock;
    }
    if (events != p->poll_events) {
        if (uv_poll_start(p->poll, events, pipe_on_poll) != 0) {
            snprintf(p->last_err, sizeof(p->last_err), "cannot poll socket %d", sock);
            return -1;
        }
        p->poll_events = events;
    }
    return 0;
}

static void pipe_on_timer(uv_timer_t *h);

static void pipe_schedule_retry(db_pipe *p)
{
    p->state = P_DOWN;
    uv_timer_start(&p->timer, pipe_on_timer, (uint64_t)p->backoff_ms, 0);
    p->backoff_ms = p->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/*
 * Keywords before "dbname" are defaults the conninfo may override: a dead
 * server host (no FIN, no RST) is noticed within about half a minute
 * instead of the kernel's two hours.  They do nothing on a Unix socket.
 */
static void pipe_connect(db_pipe *p)
{
    static const char *const kw[] = {"keepalives_idle",
                                     "keepalives_interval",
                                     "keepalives_count",
                                     "tcp_user_timeout",
                                     "dbname",
                                     "fallback_application_name",
                                     NULL};
    const char *val[7] = {"10", "5", "3", "30000", NULL, NULL, NULL};

    val[4] = p->d->conninfo;
    val[5] = p->is_read ? "noriai-read" : "noriai";
    p->pg = PQconnectStartParams(kw, val, 1);
    if (p->pg == NULL) {
        pipe_lost(p, "out of memory starting a connection");
        return;
    }
    PQsetNoticeProcessor(p->pg, db_notice_quiet, NULL);
    if (PQstatus(p->pg) == CONNECTION_BAD) {
        pipe_lost(p, PQerrorMessage(p->pg));
        return;
    }
    p->state = P_CONNECTING;
    /* As if PQconnectPoll had said PGRES_POLLING_WRITING. */
    if (pipe_watch(p, UV_WRITABLE) != 0) {
        pipe_lost(p, p->last_err);
        return;
    }
    uv_timer_start(&p->timer, pipe_on_timer, DB_CONNECT_TIMEOUT_MS, 0);
}

static void pipe_on_timer(uv_timer_t *h)
{
    db_pipe *p = h->data;

    if (p->state == P_DOWN)
        pipe_connect(p);
    else if (p->state == P_CONNECTING)
        pipe_lost(p, "connection attempt timed out");
}

static void batch_push(db_pipe *p, db_batch *b)
{
    b->next = NULL;
    if (p->inflight_tail != NULL)
        p->inflight_tail->next = b;
    else
        p->inflight_head = b;
    p->inflight_tail = b;
    if (b->kind != B_CONTROL)
        p->n_txn_batches++;
}

static db_batch *batch_pop(db_pipe *p)
{
    db_batch *b = p->inflight_head;

    if (b != NULL) {
        p->inflight_head = b->next;
        if (p->inflight_head == NULL)
            p->inflight_tail = NULL;
        if (b->kind != B_CONTROL)
            p->n_txn_batches--;
    }
    return b;
}

static void batch_free(db_batch *b)
{
    free(b->fail_msg);
    free(b);
}

static int pipe_send_control(db_pipe *p, const char *sql);

static void pipe_connected(db_pipe *p)
{
    db *d = p->d;

    if (PQsetnonblocking(p->pg, 1) != 0 || PQenterPipelineMode(p->pg) != 1) {
        pipe_lost(p, PQerrorMessage(p->pg));
        return;
    }
    uv_timer_stop(&p->timer);
    p->state = P_READY;
    p->backoff_ms = DB_BACKOFF_MIN_MS;
    p->need_rollback = 0;
    p->want_write = 0;
    p->last_err[0] = '\0';
    if (p->connected_once && !p->is_read)
        d->stats.reconnects++;
    p->connected_once = 1;
    if (pipe_watch(p, UV_READABLE) != 0) {
        pipe_lost(p, p->last_err);
        return;
    }
    if (p->is_read) {
        if (pipe_send_control(p, "SET default_transaction_read_only = on") != 0 ||
            pipe_flush(p) != 0)
            return; /* pipe_lost has run */
    }
    d->pump_pending = 1;
    db_kick(d); /* reports the state, sends what waits */
}

static void pipe_connect_step(db_pipe *p)
{
    PostgresPollingStatusType st = PQconnectPoll(p->pg);

    /* libpq may have closed the socket and opened another, possibly under
     * the same number (next host, SSL or GSS fallback); the kernel forgot
     * the old registration with the old socket.  A fresh poll handle per
     * step is cheap and always right. */
    pipe_unwatch(p);
    switch (st) {
    case PGRES_POLLING_READING:
        if (pipe_watch(p, UV_READABLE) != 0)
            pipe_lost(p, p->last_err);
        break;
    case PGRES_POLLING_WRITING:
        if (pipe_watch(p, UV_WRITABLE) != 0)
            pipe_lost(p, p->last_err);
        break;
    case PGRES_POLLING_OK:
        pipe_connected(p);
        break;
    default:
        pipe_lost(p, PQerrorMessage(p->pg));
        break;
    }
}

/* Ends every batch in flight: committed ones succeed, a write group whose
 * COMMIT was wholly sent is unknown, the rest fail with code (reads cut
 * off by a lost read pipe move to the write pipe instead). */
static void pipe_fail_inflight(db_pipe *p, int code, const char *why)
{
    db *d = p->d;
    db_batch *b;
    db_txn *t;
    int reroute = p->is_read && code == DB_EUNAVAIL && !d->closing && d->w.state == P_READY;

    while ((b = batch_pop(p)) != NULL) {
        if (b->kind == B_WRITE)
            d->stats.groups += b->committed ? 1 : 0;
        while ((t = q_pop(&b->txns)) != NULL) {
            if (b->committed) {
                txn_complete(d, t, 0, NULL);
            } else if (reroute && t->readonly) {
                txn_clear_results(t);
                q_push(&d->w.waiting, t);
                d->pump_pending = 1;
                db_kick(d);
            } else if (b->kind == B_WRITE && b->commit_queued && !b->failed) {
                txn_complete(d, t, DB_EUNKNOWN,
                             "connection lost after COMMIT was sent; the transaction may or "
                             "may not have committed (%s)",
                             why);
            } else if (code == DB_ECLOSED) {
                txn_complete(d, t, code, "store is closing");
            } else {
                txn_complete(d, t, code, "database unavailable: connection lost (%s)", why);
            }
        }
        batch_free(b);
    }
}

static void pipe_fail_waiting(db_pipe *p, int code, const char *why)
{
    db *d = p->d;
    db_txn *t;

    while ((t = q_pop(&p->waiting)) != NULL) {
        if (p->is_read && code == DB_EUNAVAIL && !d->closing && d->w.state == P_READY) {
            q_push(&d->w.waiting, t);
            d->pump_pending = 1;
            db_kick(d);
        } else if (code == DB_ECLOSED) {
            txn_complete(d, t, code, "store is closing");
        } else {
            txn_complete(d, t, code, "database unavailable: connection lost (%s)", why);
        }
    }
}

/* Closes the pipe for good (db_close). */
static void pipe_shutdown(db_pipe *p)
{
    if (p->state == P_SHUT)
        return;
    pipe_fail_waiting(p, DB_ECLOSED, "closing"); /* e.g. a failed group sent back */
    pipe_unwatch(p);
    if (p->pg != NULL) {
        PQfinish(p->pg);
        p->pg = NULL;
    }
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_pipe_timer_closed);
    p->state = P_SHUT;
    db_maybe_finish(p->d);
}

/* The connection failed or was lost: everything on it ends, and the pipe
 * reconnects after the backoff (or shuts, when closing). */
static void pipe_lost(db_pipe *p, const char *why)
{
    db *d = p->d;
    char msg[sizeof(p->last_err)];

    db_msg_clean(msg, sizeof(msg), why != NULL && *why ? why : "connection failed");
    memcpy(p->last_err, msg, sizeof(msg));
    pipe_unwatch(p);
    if (p->pg != NULL) {
        PQfinish(p->pg);
        p->pg = NULL;
    }
    uv_timer_stop(&p->timer);
    p->want_write = 0;
    p->need_rollback = 0;
    if (p->state == P_READY && !p->is_read)
        db_kick(d); /* report the state change */
    pipe_fail_inflight(p, d->closing ? DB_ECLOSED : DB_EUNAVAIL, msg);
    pipe_fail_waiting(p, d->closing ? DB_ECLOSED : DB_EUNAVAIL, msg);
    if (d->closing) {
        p->state = P_DOWN;
        pipe_shutdown(p);
        return;
    }
    pipe_schedule_retry(p);
}

/* ---- pipes: sending ---- */

static int pipe_send(db_pipe *p, const char *sql, int n_params, const char *const *params)
{
    return PQsendQueryParams(p->pg, sql, n_params, NULL, params, NULL, NULL, 0) == 1 ? 0 : -1;
}

/* Queues b's messages in libpq (b is already in flight); 0, or -1 after
 * pipe_lost. */
static int pipe_send_batch(db_pipe *p, db_batch *b)
{
    db_txn *t;
    int i;

    if (b->kind == B_CONTROL) {
        if (pipe_send(p, b->control_sql, 0, NULL) != 0)
            goto fail;
    } else {
        if (b->kind == B_WRITE && pipe_send(p, "BEGIN", 0, NULL) != 0)
            goto fail;
        if (b->kind == B_READ_TX && pipe_send(p, "BEGIN READ ONLY", 0, NULL) != 0)
            goto fail;
        for (t = b->txns.head; t != NULL; t = t->next)
            for (i = 0; i < t->n_stmts; i++)
                if (pipe_send(p, t->stmts[i].sql, t->stmts[i].n_params,
                              (const char *const *)t->stmts[i].params) != 0)
                    goto fail;
        if (b->kind != B_READ && pipe_send(p, "COMMIT", 0, NULL) != 0)
            goto fail;
        b->commit_queued = b->kind == B_WRITE;
    }
    if (PQpipelineSync(p->pg) != 1)
        goto fail;
    return 0;
fail:
    pipe_lost(p, PQerrorMessage(p->pg));
    return -1;
}

static db_batch *batch_new(int kind)
{
    db_batch *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    b->kind = kind;
    switch (kind) {
    case B_WRITE:
    case B_READ_TX:
        b->stage = S_BEGIN;
        break;
    case B_READ:
        b->stage = S_STMTS;
        break;
    default:
        b->stage = S_CONTROL;
        break;
    }
    return b;
}

static int pipe_send_control(db_pipe *p, const char *sql)
{
    db_batch *b = batch_new(B_CONTROL);

    if (b == NULL) {
        pipe_lost(p, "out of memory");
        return -1;
    }
    b->control_sql = sql;
    batch_push(p, b);
    return pipe_send_batch(p, b);
}

static void batch_take(db_batch *b, db_txn *t)
{
    q_push(&b->txns, t);
    b->n_txns++;
    b->n_stmts += t->n_stmts;
    if (b->cur == NULL && b->kind == B_READ)
        b->cur = t;
}

/* Hands libpq's output buffer to the kernel; watches for writability while
 * some is left.  0, or -1 after pipe_lost. */
static int pipe_flush(db_pipe *p)
{
    int r = PQflush(p->pg);

    if (r < 0) {
        pipe_lost(p, PQerrorMessage(p->pg));
        return -1;
    }
    p->want_write = r == 1;
    if (pipe_watch(p, UV_READABLE | (p->want_write ? UV_WRITABLE : 0)) != 0) {
        pipe_lost(p, p->last_err);
        return -1;
    }
    return 0;
}

/* Sends what the pipe's policy allows: on the write pipe the next group
 * when nothing is in flight, on the read pipe every waiting read. */
static void pipe_pump(db_pipe *p)
{
    db *d = p->d;
    int sent = 0;
    db_batch *b;
    db_txn *t;

    if (p->state != P_READY || d->closing)
        return;
    while (p->waiting.head != NULL) {
        if (!p->is_read && p->n_txn_batches > 0)
            break;
        if (p->is_read && p->n_txn_batches >= DB_READ_INFLIGHT_MAX)
            break;
        if (p->need_rollback) {
            p->need_rollback = 0;
            if (pipe_send_control(p, "ROLLBACK") != 0)
                return;
        }
        t = p->waiting.head;
        b = batch_new(p->is_read ? B_READ : (t->readonly ? B_READ_TX : B_WRITE));
        if (b == NULL) {
            pipe_lost(p, "out of memory");
            return;
        }
        batch_take(b, q_pop(&p->waiting));
        if (b->kind == B_WRITE && !t->solo) {
            while ((t = p->waiting.head) != NULL && !t->readonly && !t->solo &&
                   b->n_stmts + t->n_stmts <= d->opts.max_group_statements)
                batch_take(b, q_pop(&p->waiting));
        }
        batch_push(p, b);
        if (pipe_send_batch(p, b) != 0)
            return;
        sent = 1;
    }
    if (sent)
        pipe_flush(p);
}

/* ---- pipes: results ---- */

static void batch_record_error(db_batch *b, const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    char msg[DB_ERRMSG_MAX - 120];
    char where[120];
    int idx;

    if (b->failed)
        return;
    b->failed = 1;
    snprintf(b->sqlstate, sizeof(b->sqlstate), "%s", state != NULL ? state : "");
    db_msg_clean(msg, sizeof(msg), PQresultErrorMessage(res));
    if (b->stage == S_STMTS && b->cur != NULL) {
        b->fail_txn = b->cur;
        idx = b->cur_stmt;
        snprintf(where, sizeof(where), "statement %d (%.60s%s)", idx + 1, b->cur->stmts[idx].sql,
                 strlen(b->cur->stmts[idx].sql) > 60 ? "..." : "");
    } else {
        snprintf(where, sizeof(where), "%s",
                 b->stage == S_BEGIN ? "BEGIN" : (b->stage == S_END ? "COMMIT" : "control"));
    }
    free(b->fail_msg);
    b->fail_msg = malloc(sizeof(where) + sizeof(msg) + 16);
    if (b->fail_msg != NULL)
        snprintf(b->fail_msg, sizeof(where) + sizeof(msg) + 16, "%s failed: %s", where, msg);
}

/* The NULL that ends one query's results: on to the next query. */
static int batch_advance(db_batch *b)
{
    switch (b->stage) {
    case S_BEGIN:
        b->stage = S_STMTS;
        b->cur = b->txns.head;
        b->cur_stmt = 0;
        break;
    case S_STMTS:
        if (b->cur == NULL)
            return -1;
        if (++b->cur_stmt >= b->cur->n_stmts) {
            b->cur = b->cur->next;
            b->cur_stmt = 0;
        }
        if (b->cur == NULL)
            b->stage = b->kind == B_READ ? S_SYNC : S_END;
        break;
    case S_END:
    case S_CONTROL:
        b->stage = S_SYNC;
        break;
    default:
        return -1; /* a NULL where the sync was due */
    }
    return 0;
}

static void batch_fail_txn(db *d, db_batch *b, db_txn *t)
{
    txn_complete(d, t, db_sqlstate_rc(b->sqlstate), "%s",
                 b->fail_msg != NULL ? b->fail_msg : "statement failed");
}

/* The batch's sync arrived: every transaction in it ends or goes back to
 * the head of the queue (see the essay). */
static void batch_finish(db_pipe *p, db_batch *b)
{
    db *d = p->d;
    db_queue back = {NULL, NULL};
    db_txn *t;
    int before = 1;

    if (b->kind == B_WRITE)
        d->stats.groups++;
    if (b->failed && b->kind != B_READ && b->kind != B_CONTROL)
        p->need_rollback = 1; /* an explicit block left aborted */
    if (b->kind == B_CONTROL) {
        batch_free(b);
        return;
    }
    if (!b->failed) {
        while ((t = q_pop(&b->txns)) != NULL)
            txn_complete(d, t, 0, NULL);
    } else if (b->n_txns == 1 || b->kind != B_WRITE) {
        while ((t = q_pop(&b->txns)) != NULL)
            batch_fail_txn(d, b, t);
    } else {
        while ((t = q_pop(&b->txns)) != NULL) {
            txn_clear_results(t);
            if (b->fail_txn == NULL) {
                t->solo = 1;
            } else if (t == b->fail_txn) {
                t->solo = 1;
                before = 0;
            } else if (before) {
                t->solo = 0;
            }
            q_push(&back, t);
        }
        q_prepend(&p->waiting, &back);
    }
    batch_free(b);
}

/* Takes every result libpq has complete.  0, or -1 after pipe_lost. */
static int pipe_read_results(db_pipe *p)
{
    db_batch *b;
    PGresult *res;
    char msg[DB_ERRMSG_MAX];
    db_stmt *s;

    while ((b = p->inflight_head) != NULL) {
        if (PQisBusy(p->pg))
            return 0;
        res = PQgetResult(p->pg);
        if (res == NULL) {
            if (batch_advance(b) != 0)
                goto out_of_step;
            continue;
        }
        if (b->stage == S_SYNC) {
            if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
                PQclear(res);
                goto out_of_step;
            }
            PQclear(res);
            batch_finish(p, batch_pop(p));
            continue;
        }
        switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            if (b->stage == S_STMTS && b->cur != NULL) {
                s = &b->cur->stmts[b->cur_stmt];
                PQclear(s->res);
                s->res = res;
                break;
            }
            if (b->stage == S_END && strcmp(PQcmdStatus(res), "COMMIT") == 0)
                b->committed = 1;
            else if (b->stage == S_END)
                batch_record_error(b, res); /* COMMIT answered ROLLBACK */
            PQclear(res);
            break;
        case PGRES_PIPELINE_ABORTED:
            PQclear(res);
            break;
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE:
            if (db_sqlstate_is_conn_loss(PQresultErrorField(res, PG_DIAG_SQLSTATE)) ||
                PQstatus(p->pg) == CONNECTION_BAD) {
                snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
                PQclear(res);
                pipe_lost(p, msg);
                return -1;
            }
            batch_record_error(b, res);
            PQclear(res);
            break;
        default: /* COPY and the like: the session is in a state we do not drive */
            PQclear(res);
            pipe_lost(p, "a statement started COPY, which the store does not support");
            return -1;
        }
    }
    return 0;
out_of_step:
    pipe_lost(p, "results out of step with the pipeline");
    return -1;
}

static void pipe_on_poll(uv_poll_t *h, int status, int events)
{
    db_pipe *p = h->data;
    db *d = p->d;

    if (p->poll != h)
        return; /* an old handle, already closing */
    if (p->state == P_CONNECTING) {
        pipe_connect_step(p);
        return;
    }
    if (p->state != P_READY)
        return;
    if (status < 0) {
        pipe_lost(p, uv_strerror(status));
        return;
    }
    if ((events & UV_WRITABLE) && pipe_flush(p) != 0)
        return;
    if ((events & UV_READABLE) && PQconsumeInput(p->pg) != 1) {
        pipe_lost(p, PQerrorMessage(p->pg));
        return;
    }
    /* libpq: after reading, flush again what a full socket held back. */
    if ((events & UV_READABLE) && p->want_write && pipe_flush(p) != 0)
        return;
    if (pipe_read_results(p) != 0)
        return;
    if (PQstatus(p->pg) == CONNECTION_BAD) {
        pipe_lost(p, PQerrorMessage(p->pg));
        return;
    }
    if (d->closing) {
        if (p->inflight_head == NULL)
            pipe_shutdown(p);
        return;
    }
    pipe_pump(p);
}

/* ---- the store ---- */

static void pipe_init(db *d, db_pipe *p, int is_read)
{
    p->d = d;
    p->is_read = is_read;
    p->state = P_DOWN;
    p->sock = -1;
    p->backoff_ms = DB_BACKOFF_MIN_MS;
    uv_timer_init(d->loop, &p->timer);
    p->timer.data = p;
}

int db_create(uv_loop_t *loop, const char *conninfo, const db_opts *opts, db **out)
{
    PQconninfoOption *parsed;
    char *perr = NULL;
    db *d;

    if (out != NULL)
        *out = NULL;
    if (loop == NULL || conninfo == NULL || out == NULL)
        return DB_EINVAL;
    parsed = PQconninfoParse(conninfo, &perr);
    if (parsed == NULL) {
        int rc = perr != NULL ? DB_EINVAL : DB_ENOMEM;
        PQfreemem(perr);
        return rc;
    }
    PQconninfoFree(parsed);
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return DB_ENOMEM;
    d->conninfo = strdup(conninfo);
    if (d->conninfo == NULL) {
        free(d);
        return DB_ENOMEM;
    }
    d->loop = loop;
    if (opts != NULL)
        d->opts = *opts;
    if (d->opts.max_group_statements <= 0)
        d->opts.max_group_statements = DB_DEFAULT_GROUP_STATEMENTS;
    uv_idle_init(loop, &d->idle);
    d->idle.data = d;
    uv_timer_init(loop, &d->close_timer);
    d->close_timer.data = d;
    d->open_handles = 2;
    pipe_init(d, &d->w, 0);
    pipe_init(d, &d->r, 1);
    d->open_handles += 2;
    pipe_connect(&d->w);
    pipe_connect(&d->r);
    *out = d;
    return 0;
}

int db_ready(const db *d)
{
    return d != NULL && !d->closing && d->w.state == P_READY;
}

static const char *pipe_state_text(const db_pipe *p)
{
    return p->connected_once ? "connection lost, reconnecting" : "not connected yet";
}

void db_txn_submit(db_txn *t, db_done_cb cb, void *ud)
{
    db *d;

    if (t == NULL || t->submitted)
        return;
    d = t->d;
    t->submitted = 1;
    t->cb = cb;
    t->ud = ud;
    t->submit_ns = uv_hrtime();
    t->next = NULL;
    if (d->closing) {
        txn_complete(d, t, DB_ECLOSED, "store is closing");
    } else if (t->broken) {
        txn_complete(d, t, DB_EINVAL, "a statement could not be added to the transaction (%s)",
                     db_strerror(t->broken));
    } else if (t->n_stmts == 0) {
        txn_complete(d, t, DB_EINVAL, "the transaction has no statements");
    } else if (t->readonly && d->r.state == P_READY) {
        q_push(&d->r.waiting, t);
        d->pump_pending = 1;
        db_kick(d);
    } else if (d->w.state == P_READY) {
        q_push(&d->w.waiting, t);
        d->pump_pending = 1;
        db_kick(d);
    } else {
        txn_complete(d, t, DB_EUNAVAIL, "database unavailable (%s%s%s)", pipe_state_text(&d->w),
                     d->w.last_err[0] ? "; last error: " : "", d->w.last_err);
    }
}

static void db_on_close_timer(uv_timer_t *h)
{
    db *d = h->data;
    db_pipe *pipes[2] = {&d->w, &d->r};
    int i;

    for (i = 0; i < 2; i++) {
        if (pipes[i]->state == P_SHUT)
            continue;
        pipe_unwatch(pipes[i]); /* before PQfinish in pipe_shutdown */
        pipe_fail_inflight(pipes[i], DB_ECLOSED, "no answer within the grace period of db_close");
        pipe_shutdown(pipes[i]);
    }
}

/* When closing and nothing is left to deliver, closes the db's own handles;
 * the last close callback frees d. */
static void db_maybe_finish(db *d)
{
    if (!d->closing || d->finish_started)
        return;
    if (d->w.state != P_SHUT || d->r.state != P_SHUT || d->done.head != NULL || d->delivering)
        return;
    d->finish_started = 1;
    uv_timer_stop(&d->close_timer);
    uv_close((uv_handle_t *)&d->close_timer, on_db_handle_closed);
    uv_close((uv_handle_t *)&d->idle, on_db_handle_closed);
}

void db_close(db *d, void (*done)(void *ud), void *ud)
{
    db_pipe *pipes[2];
    int i, waiting = 0;

    if (d == NULL || d->closing)
        return;
    d->closing = 1;
    d->close_cb = done;
    d->close_ud = ud;
    pipes[0] = &d->w;
    pipes[1] = &d->r;
    for (i = 0; i < 2; i++) {
        pipe_fail_waiting(pipes[i], DB_ECLOSED, "closing");
        if (pipes[i]->inflight_head == NULL)
            pipe_shutdown(pipes[i]);
        else
            waiting = 1;
    }
    if (waiting)
        uv_timer_start(&d->close_timer, db_on_close_timer, DB_CLOSE_GRACE_MS, 0);
    db_kick(d);
}

void db_stats_get(const db *d, db_stats *out)
{
    if (out == NULL)
        return;
    if (d == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = d->stats;
}

/* ---- shared with db_blocking.c ---- */

int db_sqlstate_rc(const char *sqlstate)
{
    return sqlstate != NULL && strcmp(sqlstate, "23505") == 0 ? DB_ECONFLICT : DB_EQUERY;
}

int db_sqlstate_is_conn_loss(const char *sqlstate)
{
    if (sqlstate == NULL || sqlstate[0] == '\0')
        return 1;
    return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
           strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0;
}

void db_msg_clean(char *buf, size_t len, const char *msg)
{
    size_t o = 0;
    const char *s;

    if (len == 0)
        return;
    for (s = msg != NULL ? msg : ""; *s != '\0' && o + 1 < len; s++) {
        if (*s == '\n' || *s == '\r') {
            if (o > 0 && o + 3 < len && s[1] != '\0' && s[1] != '\n') {
                buf[o++] = ';';
                buf[o++] = ' ';
            }
            continue;
        }
        buf[o++] = *s;
    }
    while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\t' || buf[o - 1] == ';'))
        o--;
    buf[o] = '\0';
}

void db_notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}
