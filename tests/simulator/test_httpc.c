/*
 * test_httpc.c - the blocking HTTP client (simulator/httpc.c) against a
 * tiny server running in a thread of this program (miniserver.h, one
 * connection at a time).
 *
 * The server reads requests (headers up to the blank line, then
 * Content-Length bytes) and answers each as the current mode says: a
 * keep-alive answer that reports which connection and which request on it
 * it was, a chunked answer, an answer followed by closing the connection,
 * no answer at all, an answer read until close, a truncated answer, or
 * bytes that are no HTTP.  A test sets the mode, talks, and checks what the
 * client returned and how many connections the server saw.
 *
 * Cases: keep-alive reuse (three requests, one connection), request bytes
 * as sent (Host, Content-Length, caller's headers, body), chunked bodies,
 * the server closing between requests (transparent reconnect, the closing
 * awaited so the test has no race), timeout, malformed and truncated
 * answers, a body that ends with the connection, raw sends, connect
 * refused, header lookup and URL parsing, invalid arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "simulator/httpc.h"

#include "miniserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode {
    M_KEEP,      /* 200, keep-alive, body "conn=C req=R" */
    M_ECHO,      /* 200, body = the whole request as received */
    M_CHUNKED,   /* 200, chunked body in three chunks */
    M_CLOSE,     /* 200 keep-alive, then close the connection, then post `closed` */
    M_SILENT,    /* read the request, never answer */
    M_GARBAGE,   /* bytes that are no HTTP response */
    M_EOF_BODY,  /* 200 with Connection: close and no length: the body ends with the stream */
    M_TRUNCATED, /* Content-Length 100, 10 bytes, close */
};

typedef struct tsrv {
    msv srv; /* one connection at a time */
    atomic_int mode, reqs;
    sem_t closed;
} tsrv;

static void answer(tsrv *s, int fd, int conn, int nreq, const char *req, size_t len)
{
    char out[8192], body[64];
    int n;

    switch (atomic_load(&s->mode)) {
    case M_KEEP:
    case M_CLOSE:
        n = snprintf(body, sizeof(body), "conn=%d req=%d", conn, nreq);
        n = snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test:  padded  \r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     n, body);
        msv_send(fd, out, (size_t)n);
        break;
    case M_ECHO:
        n = snprintf(out, sizeof(out), "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n", len);
        msv_send(fd, out, (size_t)n);
        msv_send(fd, req, len);
        break;
    case M_CHUNKED:
        /* Written in pieces so the client reads the chunks across recv calls. */
        msv_send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        msv_pause_ms(2);
        msv_send_str(fd, "1\r\n \r\n");
        msv_pause_ms(2);
        msv_send_str(fd, "5\r\nworld\r\n0\r\n\r\n");
        break;
    case M_SILENT:
        break;
    case M_GARBAGE:
        msv_send_str(fd, "SMTP ready, not what you expected\r\n\r\n");
        break;
    case M_EOF_BODY:
        msv_send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it, until the end");
        break;
    case M_TRUNCATED:
        msv_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        break;
    }
}

static void serve_conn(msv *m, int fd, int conn)
{
    tsrv *s = m->ud;
    static msv_req q; /* one connection at a time */
    int nreq = 0;

    msv_req_init(&q);
    while (msv_next_request(m, fd, &q)) {
        int md = atomic_load(&s->mode);
        atomic_fetch_add(&s->reqs, 1);
        answer(s, fd, conn, ++nreq, q.buf, q.head_len + q.body_len);
        if (md == M_CLOSE || md == M_EOF_BODY || md == M_TRUNCATED || md == M_GARBAGE)
            break;
    }
    close(fd);
    if (atomic_load(&s->mode) == M_CLOSE)
        sem_post(&s->closed);
}

static int setup(void **state)
{
    tsrv *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    sem_init(&s->closed, 0, 0);
    if (msv_start(&s->srv, 0, serve_conn, s) != 0) {
        sem_destroy(&s->closed);
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    tsrv *s = *state;

    msv_stop(&s->srv);
    sem_destroy(&s->closed);
    free(s);
    return 0;
}

static sim_httpc *client(tsrv *s, int timeout_ms)
{
    sim_httpc *c = NULL;

    assert_int_equal(sim_httpc_create("127.0.0.1", s->srv.port, timeout_ms, &c), 0);
    assert_non_null(c);
    return c;
}

static void test_keepalive_reuse(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    sim_http_resp r;
    char v[64], want[32];

    atomic_store(&s->mode, M_KEEP);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(sim_httpc_request(c, "GET", "/x", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        snprintf(want, sizeof(want), "conn=1 req=%d", i);
        assert_string_equal(r.body, want);
        assert_int_equal(r.body_len, strlen(want));
        assert_int_equal(sim_http_resp_header(&r, "content-type", v, sizeof(v)), 1);
        assert_string_equal(v, "text/plain");
        assert_int_equal(sim_http_resp_header(&r, "X-TEST", v, sizeof(v)), 1);
        assert_string_equal(v, "padded");
        assert_int_equal(sim_http_resp_header(&r, "X-Tes", v, sizeof(v)), 0);
        assert_int_equal(sim_http_resp_header(&r, "Location", v, sizeof(v)), 0);
        sim_http_resp_free(&r);
    }
    assert_int_equal(atomic_load(&s->srv.conns), 1);
    sim_httpc_destroy(c);
}

static void test_request_bytes(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    const char *const hdr[] = {"Authorization: Bearer t0k", "Idempotency-Key: k-1", NULL};
    const char body[] = "{\"a\":1}";
    char want[64];
    sim_http_resp r;

    atomic_store(&s->mode, M_ECHO);
    assert_int_equal(sim_httpc_request(c, "POST", "/v1/bookings", hdr, body, 7, &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "POST /v1/bookings HTTP/1.1\r\n"));
    snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%d\r\n", s->srv.port);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "\r\nAuthorization: Bearer t0k\r\n"));
    assert_non_null(strstr(r.body, "\r\nIdempotency-Key: k-1\r\n"));
    assert_non_null(strstr(r.body, "\r\nContent-Length: 7\r\n\r\n{\"a\":1}"));
    sim_http_resp_free(&r);
    assert_null(r.body);
    sim_http_resp_free(&r); /* twice is harmless */
    sim_httpc_destroy(c);
}

static void test_chunked(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    sim_http_resp r;

    atomic_store(&s->mode, M_CHUNKED);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sim_httpc_request(c, "GET", "/chunks", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 11);
        assert_string_equal(r.body, "hello world");
        sim_http_resp_free(&r);
    }
    assert_int_equal(atomic_load(&s->srv.conns), 1); /* chunked answers keep the connection */
    sim_httpc_destroy(c);
}

static void test_reconnect_after_close(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    sim_http_resp r;

    atomic_store(&s->mode, M_CLOSE);
    for (int i = 1; i <= 3; i++) {
        char want[32];
        assert_int_equal(sim_httpc_request(c, "POST", "/p", NULL, "x", 1, &r), 0);
        snprintf(want, sizeof(want), "conn=%d req=1", i);
        assert_string_equal(r.body, want);
        sim_http_resp_free(&r);
        sem_wait(&s->closed); /* the server has closed before the next request */
    }
    assert_int_equal(atomic_load(&s->srv.conns), 3);
    assert_int_equal(atomic_load(&s->reqs), 3); /* nothing sent twice */
    sim_httpc_destroy(c);
}

static void test_timeout(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 150);
    sim_http_resp r;

    atomic_store(&s->mode, M_SILENT);
    assert_int_equal(sim_httpc_request(c, "GET", "/slow", NULL, NULL, 0, &r), SIM_HTTPC_ETIMEOUT);
    assert_null(r.body);
    assert_null(r.headers);
    /* The client closed that connection; the next request gets a new one. */
    atomic_store(&s->mode, M_KEEP);
    assert_int_equal(sim_httpc_request(c, "GET", "/fast", NULL, NULL, 0, &r), 0);
    assert_string_equal(r.body, "conn=2 req=1");
    sim_http_resp_free(&r);
    sim_httpc_destroy(c);
    assert_string_equal(sim_httpc_strerror(SIM_HTTPC_ETIMEOUT), "timed out");
}

static void test_malformed(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    sim_http_resp r;

    atomic_store(&s->mode, M_GARBAGE);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), SIM_HTTPC_EPROTO);
    assert_null(r.body);
    atomic_store(&s->mode, M_TRUNCATED);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), SIM_HTTPC_EIO);
    assert_null(r.body);
    atomic_store(&s->mode, M_KEEP);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    sim_http_resp_free(&r);
    sim_httpc_destroy(c);
    assert_string_equal(sim_httpc_strerror(SIM_HTTPC_EPROTO), "malformed response");
    assert_string_equal(sim_httpc_strerror(12345), "unknown error");
}

static void test_body_until_close(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    sim_http_resp r;

    atomic_store(&s->mode, M_EOF_BODY);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_string_equal(r.body, "all of it, until the end");
    sim_http_resp_free(&r);
    atomic_store(&s->mode, M_KEEP);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_string_equal(r.body, "conn=2 req=1");
    sim_http_resp_free(&r);
    sim_httpc_destroy(c);
}

static void test_raw(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = client(s, 2000);
    const char raw[] = "GET /raw HTTP/1.1\r\nHost: x\r\nX-Odd: \x01\r\n\r\n";
    sim_http_resp r;

    atomic_store(&s->mode, M_ECHO);
    assert_int_equal(sim_httpc_raw(c, raw, sizeof(raw) - 1, &r), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, sizeof(raw) - 1);
    assert_memory_equal(r.body, raw, sizeof(raw) - 1);
    sim_http_resp_free(&r);
    /* raw closes its connection: the next exchange is on a new one */
    atomic_store(&s->mode, M_KEEP);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_string_equal(r.body, "conn=2 req=1");
    sim_http_resp_free(&r);
    sim_httpc_destroy(c);
}

static void test_connect_refused(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    sim_httpc *c = NULL;
    sim_http_resp r;

    (void)state;
    /* A port that was free a moment ago and has no listener now. */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    port = ntohs(a.sin_port);
    close(fd);
    assert_int_equal(sim_httpc_create("127.0.0.1", port, 1000, &c), 0);
    assert_int_equal(sim_httpc_request(c, "GET", "/", NULL, NULL, 0, &r), SIM_HTTPC_ECONNECT);
    assert_null(r.body);
    sim_httpc_destroy(c);
}

static void test_invalid_arguments(void **state)
{
    tsrv *s = *state;
    sim_httpc *c = NULL;
    sim_http_resp r;
    const char *const bad_hdr[] = {"X-A: 1\r\nX-B: 2", NULL};
    const char *const no_colon[] = {"nothing", NULL};

    assert_int_equal(sim_httpc_create(NULL, 80, 1000, &c), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_create("h", 0, 1000, &c), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_create("h", 70000, 1000, &c), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_create("h", 80, 0, &c), SIM_HTTPC_EINVAL);
    assert_null(c);
    c = client(s, 1000);
    assert_int_equal(sim_httpc_request(c, "GET", "no-slash", NULL, NULL, 0, &r), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_request(c, "GET", "/a b", NULL, NULL, 0, &r), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_request(c, "G\r\nET", "/", NULL, NULL, 0, &r), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_request(c, "GET", "/", bad_hdr, NULL, 0, &r), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_request(c, "GET", "/", no_colon, NULL, 0, &r), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_httpc_request(c, "POST", "/", NULL, NULL, 5, &r), SIM_HTTPC_EINVAL);
    assert_int_equal(atomic_load(&s->srv.conns), 0); /* nothing reached the server */
    sim_httpc_destroy(c);
    sim_httpc_destroy(NULL);
    sim_http_resp_free(NULL);
    assert_int_equal(sim_http_resp_header(NULL, "a", NULL, 0), 0);
}

static void test_url_parse(void **state)
{
    char host[32];
    int port = 0;

    (void)state;
    assert_int_equal(sim_url_parse("http://127.0.0.1:18181", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 18181);
    assert_int_equal(sim_url_parse("http://localhost:9/v1/x?y", host, sizeof(host), &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 9);
    assert_int_equal(sim_url_parse("HTTP://example.org/", host, sizeof(host), &port), 0);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 80);
    assert_int_equal(sim_url_parse("http://[::1]:8000/", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8000);
    static const char *const bad[] = {
        "https://h:1",    "h:1",          "http://",      "http://:80",   "http://h:0",
        "http://h:65536", "http://h:12x", "http://h:",    "http://[::1",  "http://u@h:1",
        "http://h x:1",   "ftp://h:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sim_url_parse(bad[i], host, sizeof(host), &port), SIM_HTTPC_EINVAL);
    assert_int_equal(sim_url_parse("http://a-host-name-longer-than-the-buffer.example:1", host,
                                   sizeof(host), &port),
                     SIM_HTTPC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_until_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
        cmocka_unit_test(test_url_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
