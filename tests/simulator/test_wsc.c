/*
 * test_wsc.c - the blocking WebSocket client (simulator/wsc.c) against a
 * server written here on plain sockets (miniserver.h, one connection at a
 * time), so the client meets what the daemon never sends: fragments,
 * pings between them, masked or oversized frames, broken sequences.
 *
 * The server reads the upgrade, checks it (method, path, Upgrade,
 * Connection, the key, version 13, the caller's header) and answers as the
 * test's mode says, then plays the mode's frames and records what the
 * client sent (unmasked; whether each frame was masked).
 *
 * Cases: a fragmented message with a ping inside it (answered with the
 * same payload), a text frame, a close with its code; client frames masked,
 * 125/126/65536-byte lengths echoed, a fragmented send, a close sent with
 * code and reason; a refused upgrade (status and body kept), a wrong
 * accept, no upgrade headers; protocol errors (masked server frame,
 * oversized length, reserved bit, continuation of nothing, a long
 * control frame); end of stream, timeout, connect refused, bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "simulator/wsc.h"

#include "miniserver.h"

#include <stdio.h>

enum mode {
    W_SCRIPT,     /* 101, then the fragmented message, a text frame, a close */
    W_ECHO,       /* 101, then every data message echoed until a close */
    W_REFUSE,     /* 403 with a JSON body */
    W_BAD_ACCEPT, /* 101 with a wrong Sec-WebSocket-Accept */
    W_RAW,        /* 101, then the bytes in raw[] */
    W_PLAIN,      /* answers 426 and records whether the upgrade headers came */
};

typedef struct wsrv {
    msv srv;
    int mode;
    uint8_t raw[64];
    size_t raw_len;
    /* what the client did */
    int upgrade_ok; /* the upgrade request was right */
    int had_ws_headers;
    int n_frames, unmasked; /* frames received, of them not masked */
    int last_op;
    uint8_t last[70000];
    size_t last_len;
    int pong_ok;
    int close_code;
    char close_reason[128];
} wsrv;

static const char accept_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: " SIM_WSC_ACCEPT "\r\n\r\n";

/* A server frame (unmasked) of payload n. */
static void frame(int fd, int b0, const void *p, size_t n)
{
    uint8_t h[10];
    size_t k = 0;

    h[k++] = (uint8_t)b0;
    if (n < 126) {
        h[k++] = (uint8_t)n;
    } else if (n < 65536) {
        h[k++] = 126;
        h[k++] = (uint8_t)(n >> 8);
        h[k++] = (uint8_t)n;
    } else {
        h[k++] = 127;
        for (int i = 7; i >= 0; i--)
            h[k++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    msv_send(fd, h, k);
    msv_send(fd, p, n);
}

/* Exactly n bytes; 0 or -1. */
static int read_n(msv *m, int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r;
        if (!msv_wait_readable(m, fd) || (r = recv(fd, p, n, 0)) <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One client frame, unmasked into s->last: its opcode and FIN, or -1. */
static int read_frame(msv *m, int fd, wsrv *s, int *fin)
{
    uint8_t h[14], mask[4] = {0};
    uint64_t n;

    if (read_n(m, fd, h, 2) < 0)
        return -1;
    n = h[1] & 0x7f;
    if (n == 126) {
        if (read_n(m, fd, h + 2, 2) < 0)
            return -1;
        n = (uint64_t)h[2] << 8 | h[3];
    } else if (n == 127) {
        if (read_n(m, fd, h + 2, 8) < 0)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | h[2 + i];
    }
    if (n > sizeof(s->last))
        return -1;
    if ((h[1] & 0x80) && read_n(m, fd, mask, 4) < 0)
        return -1;
    if (read_n(m, fd, s->last, (size_t)n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        s->last[i] ^= mask[i & 3];
    s->last_len = (size_t)n;
    s->n_frames++;
    s->unmasked += !(h[1] & 0x80);
    *fin = (h[0] & 0x80) != 0;
    return h[0] & 0x0f;
}

static void serve_conn(msv *m, int fd, int conn)
{
    wsrv *s = m->ud;
    msv_req q;
    int fin, op;

    (void)conn;
    msv_req_init(&q);
    if (!msv_next_request(m, fd, &q)) {
        close(fd);
        return;
    }
    q.buf[q.head_len] = '\0';
    s->had_ws_headers = msv_find_nocase(q.buf, "\r\nSec-WebSocket-Key:") != NULL;
    s->upgrade_ok = strncmp(q.buf, "GET /ws?x=1 HTTP/1.1\r\n", 22) == 0 &&
                    msv_find_nocase(q.buf, "\r\nUpgrade: websocket\r\n") &&
                    msv_find_nocase(q.buf, "\r\nConnection: Upgrade\r\n") &&
                    msv_find_nocase(q.buf, "\r\nSec-WebSocket-Key: " SIM_WSC_KEY "\r\n") &&
                    msv_find_nocase(q.buf, "\r\nSec-WebSocket-Version: 13\r\n") &&
                    msv_find_nocase(q.buf, "\r\nX-Test: yes\r\n");
    switch (s->mode) {
    case W_REFUSE:
        msv_send_str(fd, "HTTP/1.1 403 Forbidden\r\nContent-Length: 22\r\n\r\n"
                         "{\"error\":\"forbidden\"}\n");
        break;
    case W_PLAIN:
        msv_send_str(fd, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n");
        break;
    case W_BAD_ACCEPT:
        msv_send_str(fd, "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n\r\n");
        break;
    case W_RAW:
        msv_send_str(fd, accept_101);
        msv_send(fd, s->raw, s->raw_len);
        msv_pause_ms(200);
        break;
    case W_SCRIPT:
        /* The 101 and the first fragment in one write. */
        {
            char first[sizeof(accept_101) + 16];
            size_t n = strlen(accept_101);
            memcpy(first, accept_101, n);
            memcpy(first + n,
                   "\x02\x03"
                   "abc",
                   5);
            msv_send(fd, first, n + 5);
        }
        msv_pause_ms(5);
        frame(fd, 0x89, "ping!", 5); /* a ping between fragments */
        frame(fd, 0x00, "def", 3);   /* continuation */
        frame(fd, 0x80, "ghi", 3);   /* last continuation */
        frame(fd, 0x81, "hello", 5); /* text */
        frame(fd, 0x88,
              "\x03\xe9"
              "bye",
              5); /* close 1001 */
        op = read_frame(m, fd, s, &fin);
        s->pong_ok =
            op == SIM_WSC_PONG && fin && s->last_len == 5 && memcmp(s->last, "ping!", 5) == 0;
        break;
    case W_ECHO:
        msv_send_str(fd, accept_101);
        for (;;) {
            op = read_frame(m, fd, s, &fin);
            if (op < 0)
                break;
            s->last_op = op;
            if (op == SIM_WSC_CLOSE) {
                s->close_code = s->last_len >= 2 ? (s->last[0] << 8 | s->last[1]) : 1005;
                snprintf(s->close_reason, sizeof(s->close_reason), "%.*s",
                         (int)(s->last_len >= 2 ? s->last_len - 2 : 0), (char *)s->last + 2);
                frame(fd, 0x88, s->last, s->last_len);
                break;
            }
            if (fin)
                frame(fd, 0x80 | (op == SIM_WSC_CONT ? SIM_WSC_BINARY : op), s->last, s->last_len);
        }
        break;
    }
    close(fd);
}

static int setup(void **state)
{
    wsrv *s = calloc(1, sizeof(*s));

    if (s == NULL || msv_start(&s->srv, 0, serve_conn, s) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    wsrv *s = *state;

    msv_stop(&s->srv);
    free(s);
    return 0;
}

static int open_ws(wsrv *s, sim_wsc *w, int flags, char *err, size_t len)
{
    const char *hdr[] = {"X-Test: yes", NULL};

    return sim_wsc_open(w, "127.0.0.1", s->srv.port, "/ws?x=1", hdr, flags, 2000, err, len);
}

static void test_fragments_ping_close(void **state)
{
    wsrv *s = *state;
    sim_wsc w;
    uint8_t *p;
    size_t n;
    char err[200], v[64];

    s->mode = W_SCRIPT;
    assert_int_equal(open_ws(s, &w, 0, err, sizeof(err)), 0);
    assert_int_equal(w.status, 101);
    assert_int_equal(sim_wsc_header(&w, "sec-websocket-accept", v, sizeof(v)), 1);
    assert_string_equal(v, SIM_WSC_ACCEPT);
    assert_int_equal(sim_wsc_header(&w, "X-Missing", v, sizeof(v)), 0);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_BINARY);
    assert_int_equal(n, 9);
    assert_memory_equal(p, "abcdefghi", 9);
    assert_int_equal(p[9], 0);
    free(p);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_TEXT);
    assert_string_equal((char *)p, "hello");
    free(p);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_CLOSE);
    assert_int_equal(w.close_code, 1001);
    assert_int_equal(n, 5);
    free(p);
    assert_int_equal(sim_wsc_wait_eof(&w, 2000), 1);
    sim_wsc_cleanup(&w);
    assert_true(s->upgrade_ok);
    assert_true(s->pong_ok);
    assert_int_equal(s->unmasked, 0);
}

static void test_echo_lengths(void **state)
{
    wsrv *s = *state;
    static uint8_t big[65536];
    const size_t lens[] = {0, 1, 125, 126, 65535, 65536};
    sim_wsc w;
    uint8_t *p;
    size_t n;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
    s->mode = W_ECHO;
    assert_int_equal(open_ws(s, &w, 0, NULL, 0), 0);
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        assert_int_equal(sim_wsc_send(&w, SIM_WSC_BINARY, big, lens[k]), 0);
        assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_BINARY);
        assert_int_equal(n, lens[k]);
        if (lens[k] > 0)
            assert_memory_equal(p, big, lens[k]);
        free(p);
    }
    /* A message in two fragments comes back whole (the server echoes the
     * last one, so: the client sent them right). */
    assert_int_equal(sim_wsc_send_frame(&w, 0, SIM_WSC_TEXT, "ab", 2), 0);
    assert_int_equal(sim_wsc_send_frame(&w, 1, SIM_WSC_CONT, "cd", 2), 0);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_BINARY);
    assert_string_equal((char *)p, "cd");
    free(p);
    assert_int_equal(sim_wsc_send_close(&w, 4001, "replaced"), 0);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_CLOSE);
    assert_int_equal(w.close_code, 4001);
    free(p);
    assert_int_equal(sim_wsc_wait_eof(&w, 2000), 1);
    sim_wsc_cleanup(&w);
    assert_int_equal(s->close_code, 4001);
    assert_string_equal(s->close_reason, "replaced");
    assert_int_equal(s->unmasked, 0);
    assert_int_equal(s->n_frames, 6 + 2 + 1);
    /* bad arguments */
    assert_int_equal(sim_wsc_send(&w, SIM_WSC_BINARY, "x", 1), SIM_WSC_ECLOSED);
    assert_int_equal(sim_wsc_send_close(&w, 99, NULL), SIM_WSC_EINVAL);
}

static void test_refused_and_bad_answers(void **state)
{
    wsrv *s = *state;
    sim_wsc w;
    char err[200];

    s->mode = W_REFUSE;
    assert_int_equal(open_ws(s, &w, 0, err, sizeof(err)), SIM_WSC_EREFUSED);
    assert_int_equal(w.status, 403);
    assert_non_null(strstr(w.head, "{\"error\":\"forbidden\"}"));
    assert_non_null(strstr(err, "403"));
    assert_int_equal(w.fd, -1);
    sim_wsc_cleanup(&w);

    s->mode = W_BAD_ACCEPT;
    assert_int_equal(open_ws(s, &w, 0, err, sizeof(err)), SIM_WSC_EHANDSHAKE);
    assert_non_null(strstr(err, "Sec-WebSocket-Accept"));
    sim_wsc_cleanup(&w);

    s->mode = W_PLAIN;
    assert_int_equal(open_ws(s, &w, SIM_WSC_NO_WS_HEADERS, err, sizeof(err)), SIM_WSC_EREFUSED);
    assert_int_equal(w.status, 426);
    assert_false(s->had_ws_headers);
    sim_wsc_cleanup(&w);

    {
        const char *bad[] = {"X-Evil: a\r\nX-More: b", NULL};
        assert_int_equal(
            sim_wsc_open(&w, "127.0.0.1", s->srv.port, "/ws", bad, 0, 1000, err, sizeof(err)),
            SIM_WSC_EINVAL);
        assert_int_equal(
            sim_wsc_open(&w, "127.0.0.1", s->srv.port, "no-slash", NULL, 0, 1000, err, sizeof(err)),
            SIM_WSC_EINVAL);
        assert_int_equal(sim_wsc_open(&w, "127.0.0.1", 0, "/ws", NULL, 0, 1000, err, sizeof(err)),
                         SIM_WSC_EINVAL);
    }
}

/* Frames a server must not send: each a protocol error. */
static void test_protocol_errors(void **state)
{
    wsrv *s = *state;
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } cases[] = {
        {"masked", {0x82, 0x81, 1, 2, 3, 4, 'x'}, 7},
        {"oversized", {0x82, 127, 0, 0, 0, 0, 0, 0x20, 0, 0}, 10},
        {"reserved bit", {0xc2, 0x01, 'x'}, 3},
        {"continuation of nothing", {0x80, 0x01, 'x'}, 3},
        {"long ping", {0x89, 126, 0, 126}, 4},
        {"fragmented close", {0x08, 0x00}, 2},
        {"unknown opcode", {0x83, 0x00}, 2},
        {"new message inside a fragmented one", {0x02, 0x01, 'a', 0x82, 0x01, 'b'}, 6},
    };

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        sim_wsc w;
        uint8_t *p;
        size_t n;
        int rc;
        s->mode = W_RAW;
        memcpy(s->raw, cases[k].bytes, cases[k].len);
        s->raw_len = cases[k].len;
        assert_int_equal(open_ws(s, &w, 0, NULL, 0), 0);
        rc = sim_wsc_recv(&w, 2000, &p, &n);
        if (rc != SIM_WSC_EPROTO)
            print_error("%s: got %d\n", cases[k].what, rc);
        assert_int_equal(rc, SIM_WSC_EPROTO);
        assert_null(p);
        sim_wsc_cleanup(&w);
    }
}

static void test_eof_timeout_refused(void **state)
{
    wsrv *s = *state;
    sim_wsc w;
    uint8_t *p;
    size_t n;
    char err[200];
    int port;

    /* A frame, then the server goes quiet (timeout), then closes (EOF). */
    s->mode = W_RAW;
    memcpy(s->raw, "\x82\x02hi", 4);
    s->raw_len = 4;
    assert_int_equal(open_ws(s, &w, 0, NULL, 0), 0);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_BINARY);
    free(p);
    assert_int_equal(sim_wsc_buffered(&w), 0);
    assert_int_equal(sim_wsc_recv(&w, 30, &p, &n), 0);
    assert_null(p);
    assert_int_equal(sim_wsc_recv(&w, 2000, &p, &n), SIM_WSC_ECLOSED);
    sim_wsc_cleanup(&w);

    /* Nobody listening. */
    port = s->srv.port;
    msv_stop(&s->srv);
    assert_int_equal(sim_wsc_open(&w, "127.0.0.1", port, "/", NULL, 0, 1000, err, sizeof(err)),
                     SIM_WSC_ECONNECT);
    assert_non_null(strstr(err, "cannot connect"));
    sim_wsc_cleanup(&w);
    assert_int_equal(msv_start(&s->srv, 0, serve_conn, s), 0);
    assert_string_equal(sim_wsc_strerror(SIM_WSC_EPROTO),
                        "WebSocket protocol error from the server");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fragments_ping_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_bad_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_timeout_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
