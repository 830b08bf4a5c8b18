/*
 * test_http.c - the HTTP/1.1 server (api/http) over real sockets.
 *
 * Each test starts a server on 127.0.0.1 (port 0) on a fresh loop in the
 * test's thread and runs a client of plain blocking sockets
 * (tests/api/httpclient.h) in a second thread.  The client records its first
 * failed check as text (cmocka's asserts are not for other threads) and, when
 * done, wakes the loop with a uv_async; the loop then closes the server and
 * every handle of the test, and the test asserts that uv_run came back with a
 * loop that closes cleanly (a leaked handle fails it) and, under ASan, that no
 * request or connection leaked or was used after it was freed.
 *
 * The handler's behaviour is chosen by the path: "/late" answers after
 * 150 ms from a timer, "/gone" after 400 ms (the client has hung up by
 * then), "/hold" only once the server is closed, "/ws" takes the connection
 * over and echoes, "/big" answers with 4 MiB, "/shutdown" closes the server
 * from inside the handler, anything else echoes the request back as
 * "M=method P=path Q=query C=conn U=upgrade H=X-Echo B=body".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/http/http.h"
#include "api/httpclient.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SLOTS 8
#define BIG_BYTES ((size_t)4 << 20)

typedef struct tctx tctx;

/* A request answered later from a timer (or at server close). */
typedef struct slot {
    uv_timer_t tm;
    tctx *t;
    api_http_req *req;
    int rc;     /* what api_http_respond returned; 1 = not answered */
    int n_conn; /* api_http_n_connections when answered */
} slot;

typedef struct rawc {
    tctx *t;
    api_http_raw *raw;
} rawc;

struct tctx {
    uv_loop_t loop;
    api_http_server *srv;
    api_http_limits lim;
    int port;
    uv_async_t done;
    uv_timer_t watchdog;
    pthread_t th;
    void (*client)(tctx *t);
    char err[512]; /* the client's first failed check */
    int n_closed_cb, watchdog_fired;
    int n_handled, outstanding, max_outstanding;
    char log[1024];
    slot slots[N_SLOTS];
    int n_raw_closed;
    int shutdown_rc;
    int odd_rc;         /* api_http_respond / takeover misuse */
    uint64_t n_refused; /* api_http_n_refused when the client was done */
};

/* ---- the handler (loop thread) --------------------------------------------------------- */

static void log_add(tctx *t, const char *what, const char *path)
{
    size_t n = strlen(t->log);

    snprintf(t->log + n, sizeof(t->log) - n, "%s%s ", what, path);
}

static int echo(tctx *t, api_http_req *req)
{
    const char *x = api_http_header_get(req, "X-Echo");
    size_t cap = req->body_len + strlen(req->path) + strlen(req->query) + (x ? strlen(x) : 0) + 256;
    char *b = malloc(cap);
    int n, rc;

    assert_non_null(b);
    n = snprintf(b, cap, "M=%s P=%s Q=%s C=%llu U=%d H=%s B=", req->method, req->path, req->query,
                 (unsigned long long)req->conn_id, req->upgrade, x ? x : "-");
    memcpy(b + n, req->body, req->body_len);
    log_add(t, "r", req->path);
    t->outstanding--;
    rc = api_http_respond(req, 200, "text/plain", b, (size_t)n + req->body_len, "X-Test: yes\r\n");
    free(b);
    return rc;
}

static void on_slot_timer(uv_timer_t *tm)
{
    slot *sl = tm->data;
    api_http_req *req = sl->req;

    sl->req = NULL;
    sl->n_conn = sl->t->srv != NULL ? api_http_n_connections(sl->t->srv) : -1;
    sl->rc = echo(sl->t, req);
}

static void hold(tctx *t, api_http_req *req, int ms)
{
    for (int i = 0; i < N_SLOTS; i++) {
        slot *sl = &t->slots[i];

        if (sl->req == NULL && sl->rc == 1) {
            sl->req = req;
            if (ms > 0)
                uv_timer_start(&sl->tm, on_slot_timer, (uint64_t)ms, 0);
            return;
        }
    }
    fail_msg("no free slot");
}

static void raw_on_data(void *ud, const char *data, size_t len)
{
    rawc *rc = ud;

    /* an echo the peer may no longer want: EGONE is fine here */
    api_http_raw_write(rc->raw, data, len);
    if (len >= 3 && memcmp(data + len - 3, "bye", 3) == 0) {
        api_http_raw_write(rc->raw, "ok", 2);
        api_http_raw_close(rc->raw);
        /* closing: writes are refused from now on */
        assert_int_equal(api_http_raw_write(rc->raw, "x", 1), API_HTTP_EGONE);
    }
}

static void raw_on_close(void *ud)
{
    rawc *rc = ud;

    rc->t->n_raw_closed++;
    free(rc);
}

static void on_closed(void *ud);

static void handler(void *ud, api_http_req *req)
{
    static const char head_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n\r\n";
    tctx *t = ud;

    t->n_handled++;
    t->outstanding++;
    if (t->outstanding > t->max_outstanding)
        t->max_outstanding = t->outstanding;
    log_add(t, "h", req->path);
    if (strcmp(req->path, "/late") == 0) {
        hold(t, req, 150);
    } else if (strcmp(req->path, "/gone") == 0) {
        hold(t, req, 400);
    } else if (strcmp(req->path, "/hold") == 0) {
        hold(t, req, 0);
    } else if (strcmp(req->path, "/ws") == 0 && req->upgrade) {
        static const api_http_raw_cbs cbs = {raw_on_data, raw_on_close};
        rawc *rc = calloc(1, sizeof(*rc));

        assert_non_null(rc);
        rc->t = t;
        t->outstanding--;
        rc->raw = api_http_takeover(req, head_101, sizeof(head_101) - 1, &cbs, rc);
        if (rc->raw == NULL)
            free(rc);
    } else if (strcmp(req->path, "/big") == 0) {
        char *b = malloc(BIG_BYTES);

        assert_non_null(b);
        for (size_t i = 0; i < BIG_BYTES; i++)
            b[i] = (char)('a' + i % 26);
        t->outstanding--;
        log_add(t, "r", req->path);
        assert_int_equal(api_http_respond(req, 200, "text/plain", b, BIG_BYTES, NULL), 0);
        free(b);
    } else if (strcmp(req->path, "/shutdown") == 0) {
        api_http_server_close(t->srv, on_closed, t);
        t->shutdown_rc = echo(t, req);
    } else if (strcmp(req->path, "/badstatus") == 0) {
        t->outstanding--;
        t->odd_rc = api_http_respond(req, 42, "text/plain", "x", 1, NULL);
    } else if (strcmp(req->path, "/nocontent") == 0) {
        t->outstanding--;
        assert_int_equal(api_http_respond(req, 204, "text/plain", "dropped", 7, NULL), 0);
    } else if (strcmp(req->path, "/ws-bad") == 0) {
        t->outstanding--;
        assert_null(api_http_takeover(req, "HTTP/1.1 101 x\r\n\r\n", 18, NULL, NULL));
    } else if (strcmp(req->path, "/head") == 0) {
        t->outstanding--;
        assert_int_equal(api_http_respond(req, 200, "text/plain", "hello", 5, NULL), 0);
    } else {
        echo(t, req);
    }
}

/* ---- running a test ---------------------------------------------------------------------- */

static void on_closed(void *ud)
{
    tctx *t = ud;

    t->n_closed_cb++;
    t->srv = NULL;
    /* requests still held: their connections are gone, the answer frees them */
    for (int i = 0; i < N_SLOTS; i++) {
        slot *sl = &t->slots[i];

        if (sl->req != NULL) {
            api_http_req *req = sl->req;

            sl->req = NULL;
            uv_timer_stop(&sl->tm);
            sl->n_conn = 0;
            sl->rc = echo(t, req);
        }
    }
}

static void on_done(uv_async_t *a)
{
    tctx *t = a->data;

    if (t->srv != NULL)
        t->n_refused = api_http_n_refused(t->srv);
    if (t->srv != NULL)
        api_http_server_close(t->srv, on_closed, t);
    uv_close((uv_handle_t *)&t->done, NULL);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
    for (int i = 0; i < N_SLOTS; i++)
        uv_close((uv_handle_t *)&t->slots[i].tm, NULL);
}

static void on_watchdog(uv_timer_t *w)
{
    tctx *t = w->data;

    t->watchdog_fired = 1;
    if (t->srv != NULL)
        api_http_server_close(t->srv, on_closed, t);
}

static void *client_main(void *arg)
{
    tctx *t = arg;

    t->client(t);
    uv_async_send(&t->done);
    return NULL;
}

static tctx *tctx_new(void)
{
    tctx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    api_http_limits_default(&t->lim);
    t->shutdown_rc = 1;
    return t;
}

static void run(tctx *t, void (*client)(tctx *t))
{
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(api_http_server_create(&t->loop, &t->lim, handler, t, &t->srv), 0);
    assert_int_equal(api_http_listen(t->srv, "127.0.0.1", 0, &t->port), 0);
    assert_true(t->port > 0);
    assert_int_equal(uv_async_init(&t->loop, &t->done, on_done), 0);
    t->done.data = t;
    uv_timer_init(&t->loop, &t->watchdog);
    t->watchdog.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, 8000, 0);
    for (int i = 0; i < N_SLOTS; i++) {
        uv_timer_init(&t->loop, &t->slots[i].tm);
        t->slots[i].tm.data = &t->slots[i];
        t->slots[i].t = t;
        t->slots[i].rc = 1;
    }
    t->client = client;
    assert_int_equal(pthread_create(&t->th, NULL, client_main, t), 0);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    pthread_join(t->th, NULL);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    if (t->err[0] != '\0')
        fail_msg("%s", t->err);
    assert_false(t->watchdog_fired);
    assert_int_equal(t->n_closed_cb, 1);
}

/* ---- client side (second thread) --------------------------------------------------------- */

static void ck_fail(tctx *t, int line, const char *what)
{
    if (t->err[0] == '\0')
        snprintf(t->err, sizeof(t->err), "client check failed at line %d: %s", line, what);
}

#define CK(cond)                                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ck_fail(t, __LINE__, #cond);                                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static hc_conn *conn_new(void)
{
    hc_conn *k = malloc(sizeof(*k));

    if (k != NULL)
        k->fd = -1;
    return k;
}

static void conn_free(hc_conn *k)
{
    if (k != NULL) {
        hc_close(k);
        free(k);
    }
}

/* Sends req on k and reads one answer into r (body unless no_body). */
static int ask(hc_conn *k, const char *req, hc_resp *r, int no_body)
{
    if (hc_sends(k, req) != 0)
        return -1;
    return hc_read_resp(k, r, no_body);
}

/* The error code in one of our JSON error bodies. */
static int is_error(const hc_resp *r, int status, const char *code)
{
    char pat[80];

    snprintf(pat, sizeof(pat), "{\"error\":{\"code\":\"%s\",\"message\":\"", code);
    return r->status == status && strncmp(r->body, pat, strlen(pat)) == 0;
}

/* One request on a new connection that must end in error `status` and a close. */
static int expect_error(tctx *t, const char *req, int status, const char *code)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    char v[64];
    int ok = 0;

    if (k != NULL && hc_open(k, t->port, 3000) == 0 && ask(k, req, &r, 0) == 0 &&
        is_error(&r, status, code) && r.conn_close && hc_header(&r, "Content-Type", v, sizeof(v)) &&
        strcmp(v, "application/json") == 0 && hc_drain_close(k, 3000) == 1)
        ok = 1;
    hc_resp_free(&r);
    conn_free(k);
    return ok;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void client_get_post(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    char v[128];

    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /v1/things?x=1 HTTP/1.1\r\nHost: t\r\nX-Echo: e1 \r\n\r\n", &r, 0) == 0);
    CK(r.status == 200);
    CK(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CK(strstr(r.body, "M=GET P=/v1/things Q=x=1 ") != NULL);
    CK(strstr(r.body, " U=0 H=e1 B=") != NULL); /* trailing blank of the value trimmed */
    CK(hc_header(&r, "Content-Type", v, sizeof(v)) && strcmp(v, "text/plain") == 0);
    CK(hc_header(&r, "Content-Length", v, sizeof(v)) && (size_t)atol(v) == r.body_len);
    CK(hc_header(&r, "Connection", v, sizeof(v)) && strcmp(v, "keep-alive") == 0);
    CK(hc_header(&r, "X-Test", v, sizeof(v)) && strcmp(v, "yes") == 0);
    CK(hc_header(&r, "Date", v, sizeof(v)) && strlen(v) == 29 && strstr(v, " GMT") != NULL);
    hc_resp_free(&r);

    CK(ask(k, "POST /v1/p HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world", &r, 0) ==
       0);
    CK(r.status == 200 && strstr(r.body, "M=POST P=/v1/p Q= ") != NULL);
    CK(strstr(r.body, "B=hello world") != NULL);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_get_post(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_get_post);
    assert_int_equal(t->n_handled, 2);
    free(t);
}

static void client_keep_alive(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    char first[64] = "", *c;

    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    for (int i = 0; i < 5; i++) {
        CK(ask(k, "GET /k HTTP/1.1\r\nHost: t\r\n\r\n", &r, 0) == 0);
        CK(r.status == 200 && !r.conn_close);
        c = strstr(r.body, " C=");
        CK(c != NULL);
        if (i == 0)
            snprintf(first, sizeof(first), "%.*s", (int)strcspn(c + 3, " "), c + 3);
        else
            CK(strncmp(c + 3, first, strlen(first)) == 0); /* the same connection */
        hc_resp_free(&r);
    }
    /* 204: neither body nor Content-Length, and the connection goes on */
    CK(ask(k, "GET /nocontent HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(r.status == 204 && r.content_length == -1 && !r.conn_close);
    hc_resp_free(&r);
    /* a status the server cannot send becomes 500 */
    CK(ask(k, "GET /badstatus HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(is_error(&r, 500, "internal"));
    hc_resp_free(&r);
    /* a takeover without callbacks: 500, the connection stays HTTP */
    CK(ask(k, "GET /ws-bad HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(is_error(&r, 500, "internal"));
    hc_resp_free(&r);
    /* HEAD: the head of the GET answer, no body; the next answer follows at once */
    CK(ask(k, "HEAD /head HTTP/1.1\r\nHost: t\r\n\r\n", &r, 1) == 0);
    CK(r.status == 200 && r.content_length == 5);
    hc_resp_free(&r);
    CK(ask(k, "GET /head HTTP/1.1\r\nHost: t\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && strcmp(r.body, "hello") == 0);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_keep_alive_and_head(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_keep_alive);
    assert_int_equal(t->n_handled, 10);
    assert_int_equal(t->odd_rc, API_HTTP_EINVAL);
    free(t);
}

static void client_pipelined(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};

    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(hc_sends(k, "GET /late HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
                   "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz") == 0);
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && strstr(r.body, "P=/late ") != NULL);
    hc_resp_free(&r);
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && strstr(r.body, "P=/a ") != NULL);
    hc_resp_free(&r);
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && strstr(r.body, "P=/b ") != NULL);
    CK(strstr(r.body, "B=xyz") != NULL);
    hc_resp_free(&r);

    /* two 4 MiB answers the client does not read at once, then a small one: the
     * kernel takes part, the rest waits in libuv's queue, the order holds */
    CK(hc_sends(k, "GET /big HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n") ==
       0);
    hc_sleep_ms(200);
    for (int i = 0; i < 2; i++) {
        CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && r.body_len == BIG_BYTES);
        for (size_t j = 0; j < BIG_BYTES; j += 4093)
            CK(r.body[j] == (char)('a' + j % 26));
        hc_resp_free(&r);
    }
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && strstr(r.body, "P=/c ") != NULL);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_pipelined_in_order(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_pipelined);
    /* the second request reached the handler only after the first was answered */
    assert_string_equal(t->log, "h/late r/late h/a r/a h/b r/b h/big r/big h/big r/big h/c r/c ");
    assert_int_equal(t->max_outstanding, 1);
    free(t);
}

static void client_close_and_10(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    char v[64];

    /* Connection: close */
    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && r.conn_close);
    CK(hc_wait_close(k, 2000) == 1);
    hc_resp_free(&r);
    hc_close(k);

    /* HTTP/1.0: closed after one answer */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /y HTTP/1.0\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && r.conn_close && strstr(r.body, "P=/y ") != NULL);
    CK(hc_wait_close(k, 2000) == 1);
    hc_resp_free(&r);
    hc_close(k);

    /* HTTP/1.0 with keep-alive: stays open */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /z1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && !r.conn_close);
    CK(hc_header(&r, "Connection", v, sizeof(v)) && strcmp(v, "keep-alive") == 0);
    hc_resp_free(&r);
    CK(ask(k, "GET /z2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && strstr(r.body, "P=/z2 ") != NULL);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_connection_close_and_http10(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_close_and_10);
    assert_int_equal(t->n_handled, 4);
    free(t);
}

static void client_chunked(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};

    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(hc_sends(k, "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel") ==
       0);
    hc_sleep_ms(30);
    CK(hc_sends(k, "lo\r\n") == 0);
    hc_sleep_ms(30);
    CK(hc_sends(k, "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n") == 0);
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200);
    CK(strstr(r.body, "P=/c ") != NULL && strstr(r.body, "B=hello world") != NULL);
    hc_resp_free(&r);
    /* an empty chunked body, then a plain request on the same connection */
    CK(ask(k, "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && strstr(r.body, "P=/e ") != NULL);
    hc_resp_free(&r);
    CK(ask(k, "GET /f HTTP/1.1\r\n\r\n", &r, 0) == 0 && strstr(r.body, "P=/f ") != NULL);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_chunked_body(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_chunked);
    assert_int_equal(t->n_handled, 3);
    free(t);
}

static void client_limits(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    char *big = malloc(20000);
    size_t n;

    CK(k != NULL && big != NULL);
    /* body too large by Content-Length: refused before any body byte is read */
    CK(expect_error(t, "POST /x HTTP/1.1\r\nContent-Length: 10000000\r\n\r\nsome", 413,
                    "payload_too_large"));
    /* body too large while reading chunks */
    n = (size_t)snprintf(big, 20000, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += (size_t)snprintf(big + n, 20000 - n, "1f4\r\n");
        memset(big + n, 'b', 500);
        n += 500;
        n += (size_t)snprintf(big + n, 20000 - n, "\r\n");
    }
    big[n] = '\0';
    CK(expect_error(t, big, 413, "payload_too_large"));
    /* Expect: 100-continue, too large: 413 at once, no 100 */
    CK(expect_error(t, "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
                    413, "payload_too_large"));
    CK(expect_error(t, "POST /x HTTP/1.1\r\nExpect: something\r\nContent-Length: 5\r\n\r\n", 417,
                    "expectation_failed"));
    /* head too large: one long header, many headers, a long URL */
    n = (size_t)snprintf(big, 20000, "GET / HTTP/1.1\r\nX-Long: ");
    memset(big + n, 'v', 8000);
    strcpy(big + n + 8000, "\r\n\r\n");
    CK(expect_error(t, big, 431, "headers_too_large"));
    n = (size_t)snprintf(big, 20000, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(big + n, 20000 - n, "X-H%d: 0123456789abcdef\r\n", i);
    snprintf(big + n, 20000 - n, "\r\n");
    CK(expect_error(t, big, 431, "headers_too_large"));
    n = (size_t)snprintf(big, 20000, "GET /");
    memset(big + n, 'u', 5000);
    strcpy(big + n + 5000, " HTTP/1.1\r\n\r\n");
    CK(expect_error(t, big, 431, "headers_too_large"));

    /* Expect: 100-continue within the limit: 100 first, the answer after the body */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n", &r, 0) ==
       0);
    CK(r.status == 100);
    hc_resp_free(&r);
    CK(ask(k, "0123456789", &r, 0) == 0 && r.status == 200);
    CK(strstr(r.body, "B=0123456789") != NULL);
    hc_resp_free(&r);
    /* a body exactly at the limit */
    n = (size_t)snprintf(big, 20000, "POST /y HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
    memset(big + n, 'z', 1000);
    big[n + 1000] = '\0';
    CK(ask(k, big, &r, 0) == 0 && r.status == 200 && r.body_len > 1000);
out:
    hc_resp_free(&r);
    free(big);
    conn_free(k);
}

static void test_limits(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    t->lim.max_body_bytes = 1000;
    t->lim.max_head_bytes = 4096;
    run(t, client_limits);
    assert_int_equal(t->n_handled, 2); /* none of the refused ones reached the handler */
    free(t);
}

static void client_timeouts(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    double t0, dt;

    /* a request left half-sent: 408 about 200 ms after its first byte */
    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    t0 = hc_now_ms();
    CK(hc_sends(k, "GET /slow HTTP/1.1\r\nHost: t\r\n") == 0);
    CK(hc_read_resp(k, &r, 0) == 0);
    dt = hc_now_ms() - t0;
    CK(is_error(&r, 408, "request_timeout") && r.conn_close);
    CK(dt > 150 && dt < 1500);
    CK(hc_drain_close(k, 3000) == 1);
    hc_resp_free(&r);
    hc_close(k);

    /* trickling bytes does not extend the request's time */
    CK(hc_open(k, t->port, 3000) == 0);
    t0 = hc_now_ms();
    for (int i = 0; i < 3; i++) {
        CK(hc_sends(k, i == 0 ? "GET /sl" : "o") == 0);
        hc_sleep_ms(80);
    }
    CK(hc_read_resp(k, &r, 0) == 0 && is_error(&r, 408, "request_timeout"));
    CK(hc_now_ms() - t0 < 1000);
    hc_resp_free(&r);
    hc_close(k);

    /* idle after an answer: closed quietly after about 300 ms */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /i HTTP/1.1\r\n\r\n", &r, 0) == 0 && r.status == 200);
    t0 = hc_now_ms();
    CK(hc_wait_close(k, 2000) == 1);
    dt = hc_now_ms() - t0;
    CK(dt > 200 && dt < 1500);
    hc_close(k);

    /* a connection that never sends anything */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(hc_wait_close(k, 2000) == 1);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_timeouts(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    t->lim.request_timeout_ms = 200;
    t->lim.idle_timeout_ms = 300;
    run(t, client_timeouts);
    assert_int_equal(t->n_handled, 1);
    free(t);
}

static void client_malformed(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};

    CK(k != NULL);
    CK(expect_error(t, "GARBAGE\r\n\r\n", 400, "bad_request"));
    CK(expect_error(t, "GET /a%zz HTTP/1.1\r\n\r\n", 400, "bad_request"));
    CK(expect_error(t, "GET /a%4 HTTP/1.1\r\n\r\n", 400, "bad_request"));
    CK(expect_error(t, "GET /a%00b HTTP/1.1\r\n\r\n", 400, "bad_request"));
    CK(expect_error(t, "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad_request"));
    CK(expect_error(t, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", 400,
                    "bad_request"));
    CK(expect_error(t, "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                    400, "bad_request"));
    CK(expect_error(t, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "bad_request"));
    CK(expect_error(t, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
                    "bad_request"));
    CK(expect_error(t, "GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"));
    /* a good request, then garbage on the same connection */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(hc_sends(k, "GET /ok HTTP/1.1\r\n\r\n\x01\x02garbage\r\n\r\n") == 0);
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 200 && strstr(r.body, "P=/ok ") != NULL);
    hc_resp_free(&r);
    CK(hc_read_resp(k, &r, 0) == 0 && is_error(&r, 400, "bad_request"));
    CK(hc_drain_close(k, 3000) == 1);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_malformed(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_malformed);
    assert_int_equal(t->n_handled, 1);
    free(t);
}

static void client_paths(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};

    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /v1/a%20b/%E3%81%82?x=%20&y=a+b#frag HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200);
    CK(strstr(r.body, "P=/v1/a b/\xE3\x81\x82 Q=x=%20&y=a+b C=") != NULL);
    hc_resp_free(&r);
    CK(ask(k, "GET http://example.com:8080/p%41th?q=1 HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && strstr(r.body, "P=/pAth Q=q=1 ") != NULL);
    hc_resp_free(&r);
    CK(ask(k, "OPTIONS * HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && strstr(r.body, "M=OPTIONS P=* Q= ") != NULL);
    hc_resp_free(&r);
    CK(ask(k, "GET /p?a HTTP/1.1\r\n\r\n", &r, 0) == 0);
    CK(r.status == 200 && strstr(r.body, "P=/p Q=a ") != NULL);
    hc_resp_free(&r);

    /* a head beyond the request's inline storage: 40 headers, a 3000-byte path */
    {
        char *big = malloc(16384), *want = malloc(3100);
        size_t n;

        CK(big != NULL && want != NULL);
        n = (size_t)snprintf(big, 16384, "GET /");
        memset(big + n, 'q', 3000);
        n += 3000;
        n += (size_t)snprintf(big + n, 16384 - n, "?z=1 HTTP/1.1\r\n");
        for (int i = 0; i < 40; i++)
            n += (size_t)snprintf(big + n, 16384 - n, "X-H%d: value %d\r\n", i, i);
        snprintf(big + n, 16384 - n, "X-Echo: last\r\n\r\n");
        memcpy(want, "P=/", 3);
        memset(want + 3, 'q', 3000);
        strcpy(want + 3003, " Q=z=1 ");
        if (ask(k, big, &r, 0) != 0 || r.status != 200 || strstr(r.body, want) == NULL ||
            strstr(r.body, " H=last ") == NULL)
            ck_fail(t, __LINE__, "40 headers and a 3000-byte path");
        free(big);
        free(want);
    }
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_paths(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_paths);
    free(t);
}

static void test_query_get(void **state)
{
    api_http_req r;
    char out[32];

    (void)state;
    memset(&r, 0, sizeof(r));
    r.query = "a=1&b=hello+world&c=%41%42&d=&e&bad=%zz&bad2=%4&nul=%00&long=0123456789&k%20x=y&"
              "a=2&&plus+key=p&enc=%26%3D";
    assert_int_equal(api_http_query_get(&r, "a", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    assert_int_equal(api_http_query_get(&r, "b", out, sizeof(out)), 11);
    assert_string_equal(out, "hello world");
    assert_int_equal(api_http_query_get(&r, "c", out, sizeof(out)), 2);
    assert_string_equal(out, "AB");
    assert_int_equal(api_http_query_get(&r, "d", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(api_http_query_get(&r, "e", out, sizeof(out)), 0);
    assert_int_equal(api_http_query_get(&r, "missing", out, sizeof(out)), -1);
    assert_int_equal(api_http_query_get(&r, "bad", out, sizeof(out)), API_HTTP_EINVAL);
    assert_int_equal(api_http_query_get(&r, "bad2", out, sizeof(out)), API_HTTP_EINVAL);
    assert_int_equal(api_http_query_get(&r, "nul", out, sizeof(out)), API_HTTP_EINVAL);
    assert_int_equal(api_http_query_get(&r, "long", out, 10), API_HTTP_EINVAL);
    assert_int_equal(api_http_query_get(&r, "long", out, 11), 10);
    assert_string_equal(out, "0123456789");
    assert_int_equal(api_http_query_get(&r, "k x", out, sizeof(out)), 1);
    assert_string_equal(out, "y");
    assert_int_equal(api_http_query_get(&r, "plus key", out, sizeof(out)), 1);
    assert_int_equal(api_http_query_get(&r, "enc", out, sizeof(out)), 2);
    assert_string_equal(out, "&=");
    assert_int_equal(api_http_query_get(&r, "a", out, 0), API_HTTP_EINVAL);
    r.query = "";
    assert_int_equal(api_http_query_get(&r, "a", out, sizeof(out)), -1);
    r.query = NULL;
    assert_int_equal(api_http_query_get(&r, "a", out, sizeof(out)), -1);
}

static void client_gone(tctx *t)
{
    hc_conn *k = conn_new();

    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(hc_sends(k, "GET /gone HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    hc_sleep_ms(50);
    hc_close(k);
    hc_sleep_ms(600); /* the handler answers at 400 ms */
out:
    conn_free(k);
}

static void test_answer_after_client_left(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_gone);
    assert_int_equal(t->slots[0].rc, API_HTTP_EGONE);
    assert_int_equal(t->slots[0].n_conn, 0);
    free(t);
}

static void client_takeover(tctx *t)
{
    hc_conn *k = conn_new(), *k2 = conn_new();
    hc_resp r = {0};
    char got[16];
    char v[64];

    CK(k != NULL && k2 != NULL && hc_open(k, t->port, 3000) == 0);
    /* the first bytes of the new protocol come right behind the head */
    CK(hc_sends(k, "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "\r\nearly") == 0);
    CK(hc_read_resp(k, &r, 0) == 0 && r.status == 101);
    CK(hc_header(&r, "Upgrade", v, sizeof(v)) && strcmp(v, "websocket") == 0);
    CK(hc_read_n(k, got, 5) == 0 && memcmp(got, "early", 5) == 0);
    CK(hc_sends(k, "ping") == 0);
    CK(hc_read_n(k, got, 4) == 0 && memcmp(got, "ping", 4) == 0);
    /* HTTP-looking bytes are not parsed any more */
    CK(hc_sends(k, "GET / HTTP/1.1\r\n\r\n") == 0);
    CK(hc_read_n(k, got, 16) == 0 && memcmp(got, "GET / HTTP/1.1\r\n", 16) == 0);
    CK(hc_read_n(k, got, 2) == 0);
    /* the server closes after its last bytes */
    CK(hc_sends(k, "bye") == 0);
    CK(hc_read_n(k, got, 5) == 0 && memcmp(got, "byeok", 5) == 0);
    CK(hc_wait_close(k, 2000) == 1);

    /* a second one that the client closes */
    CK(hc_open(k2, t->port, 3000) == 0);
    CK(hc_sends(k2, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n") == 0);
    hc_resp_free(&r);
    CK(hc_read_resp(k2, &r, 0) == 0 && r.status == 101);
    CK(hc_sends(k2, "x") == 0 && hc_read_n(k2, got, 1) == 0 && got[0] == 'x');
    hc_close(k2);
    hc_sleep_ms(100);
    hc_resp_free(&r);

    /* an upgrade request answered normally: closed after the answer */
    hc_close(k);
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /no-ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", &r, 0) ==
       0);
    CK(r.status == 200 && strstr(r.body, " U=1 ") != NULL && r.conn_close);
    CK(hc_drain_close(k, 2000) == 1);
out:
    hc_resp_free(&r);
    conn_free(k);
    conn_free(k2);
}

static void test_takeover(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_takeover);
    assert_int_equal(t->n_raw_closed, 2);
    free(t);
}

static void client_server_close(tctx *t)
{
    hc_conn *a = conn_new(), *b = conn_new(), *c = conn_new();
    hc_resp r = {0};

    CK(a != NULL && b != NULL && c != NULL);
    CK(hc_open(a, t->port, 3000) == 0);
    CK(ask(a, "GET /idle HTTP/1.1\r\n\r\n", &r, 0) == 0 && r.status == 200);
    CK(hc_open(b, t->port, 3000) == 0);
    CK(hc_sends(b, "GET /hold HTTP/1.1\r\n\r\n") == 0);
    CK(hc_open(c, t->port, 3000) == 0);
    hc_sleep_ms(100);
    CK(hc_sends(c, "GET /shutdown HTTP/1.1\r\n\r\n") == 0);
    /* every connection closes, none gets an answer */
    CK(hc_wait_close(a, 2000) == 1);
    CK(hc_wait_close(b, 2000) == 1);
    CK(hc_wait_close(c, 2000) == 1);
out:
    hc_resp_free(&r);
    conn_free(a);
    conn_free(b);
    conn_free(c);
}

static void test_server_close_with_open_connections(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_server_close);
    assert_int_equal(t->shutdown_rc, API_HTTP_EGONE); /* answered after its server closed */
    assert_int_equal(t->slots[0].rc, API_HTTP_EGONE); /* /hold, answered in the closed callback */
    free(t);
}

/* Connects to 127.0.0.1:port from source address src ("127.0.0.2": all of
 * 127/8 is loopback), so one test can be several clients.  0 or -1. */
static int open_from(hc_conn *k, int port, const char *src)
{
    struct sockaddr_in a, me;
    struct timeval tv = {3, 0};

    k->len = 0;
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (k->fd < 0)
        return -1;
    memset(&me, 0, sizeof(me));
    me.sin_family = AF_INET;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (inet_pton(AF_INET, src, &me.sin_addr) != 1 ||
        bind(k->fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
        connect(k->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        hc_close(k);
        return -1;
    }
    return 0;
}

/* The server's busy answer, read on a connection that sent nothing or req:
 * 503, our JSON error "busy", Retry-After, Connection: close, then the close. */
static int expect_busy(hc_conn *k, const char *req)
{
    hc_resp r = {0};
    char v[64];
    int ok = 0;

    if (req != NULL && hc_sends(k, req) != 0)
        goto out;
    if (hc_read_resp(k, &r, 0) != 0)
        goto out;
    ok = is_error(&r, 503, "busy") && strstr(r.head, "HTTP/1.1 503 Service Unavailable\r\n") &&
         r.conn_close && hc_header(&r, "Retry-After", v, sizeof(v)) && atoi(v) >= 1 &&
         hc_header(&r, "Content-Type", v, sizeof(v)) && strcmp(v, "application/json") == 0 &&
         hc_drain_close(k, 3000) == 1;
out:
    hc_resp_free(&r);
    hc_close(k);
    return ok;
}

/* One request on k (opened from src) answered 200, the connection kept.
 * A slot freed by a client who just hung up is free once the server has seen
 * the hang-up: a 503 meanwhile is tried again, for up to 3 s. */
static int served_from(tctx *t, hc_conn *k, const char *src, const char *path)
{
    char req[128];
    hc_resp r = {0};
    int ok = 0;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", path);
    for (int i = 0; i < 60 && !ok; i++) {
        if (i > 0)
            hc_sleep_ms(50);
        if (open_from(k, t->port, src) != 0 || ask(k, req, &r, 0) != 0)
            break;
        ok = r.status == 200 && !r.conn_close;
        if (r.status != 503)
            break;
        hc_resp_free(&r);
        hc_close(k);
    }
    hc_resp_free(&r);
    return ok;
}

/* GET path on the open connection k: 200 and kept open. */
static int ask_ok(hc_conn *k, const char *path)
{
    char req[128];
    hc_resp r = {0};
    int ok;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", path);
    ok = ask(k, req, &r, 0) == 0 && r.status == 200 && !r.conn_close;
    hc_resp_free(&r);
    return ok;
}

static void client_max_conns(tctx *t)
{
    hc_conn *a = conn_new(), *b = conn_new(), *c = conn_new();

    CK(a != NULL && b != NULL && c != NULL);
    /* two clients, two addresses: the global limit of 2 is reached */
    CK(served_from(t, a, "127.0.0.2", "/1"));
    CK(served_from(t, b, "127.0.0.3", "/2"));
    /* a third, from a third address: 503 at once, before it says anything */
    CK(open_from(c, t->port, "127.0.0.4") == 0 && expect_busy(c, NULL));
    /* and one that sends its request at once gets the 503 all the same */
    CK(open_from(c, t->port, "127.0.0.4") == 0 && expect_busy(c, "GET /x HTTP/1.1\r\n\r\n"));
    /* full for an address already served as well */
    CK(open_from(c, t->port, "127.0.0.2") == 0 && expect_busy(c, NULL));
    /* the served ones go on being served; once one leaves, a new one is served */
    CK(ask_ok(b, "/2b"));
    hc_close(a);
    CK(served_from(t, a, "127.0.0.4", "/3"));
out:
    conn_free(a);
    conn_free(b);
    conn_free(c);
}

static void test_max_connections(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    t->lim.max_connections = 2;
    t->lim.max_connections_per_addr = 0; /* no per-address limit: the global one alone */
    run(t, client_max_conns);
    assert_int_equal(t->n_handled,
                     4); /* /1 /2 /2b /3: nothing of the refused reached the handler */
    assert_true(t->n_refused >= 3);
    free(t);
}

static void client_per_addr(tctx *t)
{
    hc_conn *k[4] = {conn_new(), conn_new(), conn_new(), conn_new()};
    hc_conn *o = conn_new();

    CK(k[0] != NULL && k[1] != NULL && k[2] != NULL && k[3] != NULL && o != NULL);
    /* 127.0.0.2 may hold three */
    CK(served_from(t, k[0], "127.0.0.2", "/a0"));
    CK(served_from(t, k[1], "127.0.0.2", "/a1"));
    CK(served_from(t, k[2], "127.0.0.2", "/a2"));
    /* the fourth from the same address is refused, with or without a request */
    CK(open_from(k[3], t->port, "127.0.0.2") == 0 && expect_busy(k[3], NULL));
    CK(open_from(k[3], t->port, "127.0.0.2") == 0 &&
       expect_busy(k[3], "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
    /* another address is served meanwhile, and so are the three already open */
    CK(served_from(t, o, "127.0.0.3", "/b0"));
    for (int i = 0; i < 3; i++)
        CK(ask_ok(k[i], "/again"));
    /* one of .2's connections closes: .2 gets a slot back */
    hc_close(k[0]);
    CK(served_from(t, k[3], "127.0.0.2", "/a3"));
out:
    for (int i = 0; i < 4; i++)
        conn_free(k[i]);
    conn_free(o);
}

static void test_max_connections_per_addr(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    t->lim.max_connections_per_addr = 3;
    run(t, client_per_addr);
    assert_int_equal(t->n_handled, 8); /* a0-a2, b0, three /again, a3 */
    assert_true(t->n_refused >= 2);
    free(t);
}

static void client_reset(tctx *t)
{
    hc_conn *k = conn_new();
    hc_resp r = {0};
    struct linger lg = {1, 0};

    /* a client that resets the connection in the middle of a 4 MiB answer: the
     * server's queued write fails (EPIPE/ECONNRESET, no SIGPIPE) and it lives on */
    CK(k != NULL && hc_open(k, t->port, 3000) == 0);
    CK(hc_sends(k, "GET /big HTTP/1.1\r\n\r\n") == 0);
    CK(hc_fill(k) > 0);
    setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    hc_close(k);
    hc_sleep_ms(100);

    /* many pipelined requests, then a close at once: the first answer draws a
     * reset from the client's kernel, the next writes fail with EPIPE */
    for (int round = 0; round < 5; round++) {
        char many[50 * 24 + 1];
        size_t n = 0;

        for (int i = 0; i < 50; i++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, "GET /p%02d HTTP/1.1\r\n\r\n", i);
        CK(hc_open(k, t->port, 3000) == 0);
        CK(hc_send(k, many, n) == 0);
        hc_close(k);
    }
    hc_sleep_ms(100);
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /after HTTP/1.1\r\n\r\n", &r, 0) == 0 && r.status == 200);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_client_reset_mid_answer(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    run(t, client_reset);
    free(t);
}

/* ---- fuzz: random and mutated requests must never crash the server ---------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t mutate(uint64_t *rs, char *buf, size_t len, size_t cap)
{
    static const char *tokens[] = {"\r\n",
                                   "\r\n\r\n",
                                   "%",
                                   "%0",
                                   ":",
                                   " ",
                                   "\n",
                                   "\0",
                                   "Content-Length: 99999999999999999999\r\n",
                                   "Transfer-Encoding: chunked\r\n",
                                   "ffffffffffffffff\r\n",
                                   "Expect: 100-continue\r\n",
                                   "Connection: close\r\n"};
    int n_ops = 1 + (int)(rng_next(rs) % 4);

    for (int op = 0; op < n_ops; op++) {
        size_t at = len > 0 ? rng_next(rs) % len : 0;

        switch (rng_next(rs) % 5) {
        case 0: /* flip a byte */
            if (len > 0)
                buf[at] = (char)rng_next(rs);
            break;
        case 1: /* drop a byte */
            if (len > 0) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            }
            break;
        case 2: { /* insert a token */
            const char *tk = tokens[rng_next(rs) % (sizeof(tokens) / sizeof(tokens[0]))];
            size_t tl = tk[0] == '\0' ? 1 : strlen(tk);

            if (len + tl < cap) {
                memmove(buf + at + tl, buf + at, len - at);
                memcpy(buf + at, tk, tl);
                len += tl;
            }
            break;
        }
        case 3: /* cut */
            len = at;
            break;
        default: /* repeat a stretch */
            if (len > 0 && len * 2 < cap) {
                memcpy(buf + len, buf, len);
                len *= 2;
            }
            break;
        }
    }
    return len;
}

static void client_fuzz(tctx *t)
{
    static const char *seeds[] = {
        "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbytes",
        "HEAD /head HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    };
    hc_conn *k = conn_new();
    hc_resp r = {0};
    uint64_t rs = 0x9e3779b97f4a7c15ull;
    char buf[4096];

    CK(k != NULL);
    for (int i = 0; i < 400; i++) {
        size_t len = 0;

        if (i % 4 == 0) { /* random bytes, sometimes behind a valid request line */
            size_t n = 1 + rng_next(&rs) % 300;

            if (i % 8 == 0) {
                strcpy(buf, "GET / HTTP/1.1\r\n");
                len = strlen(buf);
            }
            for (size_t j = 0; j < n; j++)
                buf[len++] = (char)rng_next(&rs);
        } else { /* one to three mutated requests, pipelined */
            int n_req = 1 + (int)(rng_next(&rs) % 3);

            for (int j = 0; j < n_req; j++) {
                const char *sd = seeds[rng_next(&rs) % (sizeof(seeds) / sizeof(seeds[0]))];
                size_t sl = strlen(sd), part;

                if (len + sl * 4 >= sizeof(buf))
                    break;
                memcpy(buf + len, sd, sl);
                part = mutate(&rs, buf + len, sl, sizeof(buf) - len);
                len += part;
            }
        }
        CK(hc_open(k, t->port, 3000) == 0);
        hc_send(k, buf, len); /* the server may have closed already */
        shutdown(k->fd, SHUT_WR);
        CK(hc_drain_close(k, 3000) == 1);
        hc_close(k);
    }
    /* still serving */
    CK(hc_open(k, t->port, 3000) == 0);
    CK(ask(k, "GET /alive HTTP/1.1\r\n\r\n", &r, 0) == 0 && r.status == 200);
out:
    hc_resp_free(&r);
    conn_free(k);
}

static void test_fuzz(void **state)
{
    tctx *t = tctx_new();

    (void)state;
    t->lim.request_timeout_ms = 300;
    t->lim.max_head_bytes = 2048;
    t->lim.max_body_bytes = 2048;
    run(t, client_fuzz);
    assert_true(t->n_handled > 20); /* not all noise: many mutants were still requests */
    free(t);
}

/* ---- API edges without a client ----------------------------------------------------------- */

static void on_closed_count(void *ud)
{
    (*(int *)ud)++;
}

static int dummy_calls;

static void dummy_handler(void *ud, api_http_req *req)
{
    (void)ud;
    (void)req;
    dummy_calls++;
}

static void test_api_edges(void **state)
{
    uv_loop_t loop;
    api_http_server *s = NULL, *s2 = NULL;
    api_http_limits lim;
    int port = 0, port2 = 0, closed = 0;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    api_http_limits_default(&lim);
    assert_int_equal(lim.max_head_bytes, 16 << 10);
    assert_int_equal(lim.max_body_bytes, 1 << 20);
    assert_int_equal(lim.request_timeout_ms, 10000);
    assert_int_equal(lim.idle_timeout_ms, 60000);
    assert_int_equal(lim.max_connections, 1024);
    assert_int_equal(lim.max_connections_per_addr, 64);
    lim.max_connections_per_addr = -1;
    assert_int_equal(api_http_server_create(&loop, &lim, dummy_handler, NULL, &s), API_HTTP_EINVAL);
    assert_null(s);
    lim.max_connections_per_addr = 0; /* no limit: allowed */
    lim.max_connections = 0;
    assert_int_equal(api_http_server_create(&loop, &lim, dummy_handler, NULL, &s), API_HTTP_EINVAL);
    assert_null(s);
    assert_int_equal(api_http_server_create(&loop, NULL, NULL, NULL, &s), API_HTTP_EINVAL);
    assert_int_equal(api_http_server_create(&loop, NULL, dummy_handler, NULL, &s), 0);
    assert_int_equal(api_http_listen(s, "not-an-address", 0, &port), API_HTTP_EADDR);
    assert_int_equal(api_http_listen(s, "127.0.0.1", 70000, &port), API_HTTP_EINVAL);
    assert_int_equal(api_http_listen(s, "127.0.0.1", 0, &port), 0);
    assert_true(port > 0);
    assert_int_equal(api_http_listen(s, "127.0.0.1", 0, &port), API_HTTP_ESTATE);
    assert_int_equal(api_http_n_connections(s), 0);
    /* the port is taken */
    assert_int_equal(api_http_server_create(&loop, NULL, dummy_handler, NULL, &s2), 0);
    assert_int_equal(api_http_listen(s2, "127.0.0.1", port, &port2), API_HTTP_EADDR);
    api_http_server_close(s2, on_closed_count, &closed);
    api_http_server_close(s, on_closed_count, &closed);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(closed, 2);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(dummy_calls, 0);

    assert_string_equal(api_http_status_text(404), "Not Found");
    assert_string_equal(api_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(api_http_status_text(599), "Server Error");
    assert_string_equal(api_http_strerror(API_HTTP_EGONE),
                        "the connection of this request is gone");
    assert_string_equal(api_http_strerror(0), "success");
    assert_string_equal(api_http_strerror(-99), "unknown error");
    assert_int_equal(api_http_respond(NULL, 200, NULL, NULL, 0, NULL), API_HTTP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_edges),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_get_post),
        cmocka_unit_test(test_keep_alive_and_head),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_connection_close_and_http10),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_answer_after_client_left),
        cmocka_unit_test(test_takeover),
        cmocka_unit_test(test_server_close_with_open_connections),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_max_connections_per_addr),
        cmocka_unit_test(test_client_reset_mid_answer),
        cmocka_unit_test(test_fuzz),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
