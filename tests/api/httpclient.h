/*
 * httpclient.h - a deliberately plain blocking HTTP/1.1 client for tests and
 * benchmarks of api/http: one socket, a read buffer, answers read by their
 * Content-Length.  Runs in a thread of its own while the server's loop runs
 * in the test's thread.  Every read has a timeout (SO_RCVTIMEO) so a stuck
 * server fails a test instead of hanging it.
 */
#ifndef NORIAI_TESTS_HTTPCLIENT_H
#define NORIAI_TESTS_HTTPCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct hc_conn {
    int fd;
    size_t len; /* bytes in buf not consumed yet */
    char buf[1 << 16];
} hc_conn;

typedef struct hc_resp {
    int status;
    char head[8192]; /* NUL-terminated, ends with the blank line */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
    long content_length; /* -1 when absent */
    int conn_close;      /* "Connection: close" */
} hc_resp;

static inline void hc_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline double hc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Connects to 127.0.0.1:port; reads time out after timeout_ms.  0 or -1. */
static inline int hc_open(hc_conn *k, int port, int timeout_ms)
{
    struct sockaddr_in a;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int one = 1;

    k->len = 0;
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (k->fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(k->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(k->fd);
        k->fd = -1;
        return -1;
    }
    return 0;
}

static inline void hc_close(hc_conn *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
}

static inline int hc_send(hc_conn *k, const void *data, size_t n)
{
    const char *p = data;

    while (n > 0) {
        ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static inline int hc_sends(hc_conn *k, const char *s)
{
    return hc_send(k, s, strlen(s));
}

/* Reads more into the buffer: bytes read, 0 at end of stream, -1 on error or timeout. */
static inline int hc_fill(hc_conn *k)
{
    ssize_t r;

    if (k->len == sizeof(k->buf))
        return -1;
    do {
        r = recv(k->fd, k->buf + k->len, sizeof(k->buf) - k->len, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    k->len += (size_t)r;
    return (int)r;
}

static inline void hc_consume(hc_conn *k, size_t n)
{
    memmove(k->buf, k->buf + n, k->len - n);
    k->len -= n;
}

static inline const char *hc_find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    }
    return NULL;
}

/* Value of header name in a response head into out ("" when absent); 1 if present. */
static inline int hc_header(const hc_resp *r, const char *name, char *out, size_t out_len)
{
    char pat[128];
    const char *p, *e;
    size_t n;

    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    out[0] = '\0';
    p = hc_find_ci(r->head, pat);
    if (p == NULL)
        return 0;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    e = strstr(p, "\r\n");
    n = e != NULL ? (size_t)(e - p) : strlen(p);
    if (n >= out_len)
        n = out_len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static inline void hc_resp_free(hc_resp *r)
{
    free(r->body);
    r->body = NULL;
}

/*
 * Reads one answer: head, then Content-Length bytes of body unless no_body
 * (an answer to HEAD) or the status has none.  0, or -1 on end of stream,
 * timeout or a head that is not HTTP.
 */
static inline int hc_read_resp(hc_conn *k, hc_resp *r, int no_body)
{
    char *end = NULL, val[64];
    size_t head_len, have;

    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    for (;;) {
        if (k->len >= 4) {
            end = NULL;
            for (size_t i = 0; i + 3 < k->len; i++) {
                if (memcmp(k->buf + i, "\r\n\r\n", 4) == 0) {
                    end = k->buf + i + 4;
                    break;
                }
            }
            if (end != NULL)
                break;
        }
        if (hc_fill(k) <= 0)
            return -1;
    }
    head_len = (size_t)(end - k->buf);
    if (head_len >= sizeof(r->head))
        return -1;
    memcpy(r->head, k->buf, head_len);
    r->head[head_len] = '\0';
    hc_consume(k, head_len);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    if (hc_header(r, "Content-Length", val, sizeof(val)))
        r->content_length = atol(val);
    if (hc_header(r, "Connection", val, sizeof(val)))
        r->conn_close = strcasecmp(val, "close") == 0;
    if (no_body || r->status < 200 || r->status == 204 || r->status == 304 ||
        r->content_length <= 0) {
        r->body = calloc(1, 1);
        return r->body != NULL ? 0 : -1;
    }
    r->body_len = (size_t)r->content_length;
    r->body = malloc(r->body_len + 1);
    if (r->body == NULL)
        return -1;
    have = k->len < r->body_len ? k->len : r->body_len;
    memcpy(r->body, k->buf, have);
    hc_consume(k, have);
    while (have < r->body_len) {
        ssize_t n = recv(k->fd, r->body + have, r->body_len - have, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            hc_resp_free(r);
            return -1;
        }
        have += (size_t)n;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

/* Reads exactly n bytes into out (n < sizeof buf).  0 or -1. */
static inline int hc_read_n(hc_conn *k, char *out, size_t n)
{
    while (k->len < n) {
        if (hc_fill(k) <= 0)
            return -1;
    }
    memcpy(out, k->buf, n);
    hc_consume(k, n);
    return 0;
}

/*
 * Waits up to ms for the server to close: 1 closed (end of stream or reset),
 * 0 still open, 2 bytes arrived instead (left in the buffer).
 */
static inline int hc_wait_close(hc_conn *k, int ms)
{
    struct pollfd pfd = {k->fd, POLLIN, 0};
    int rc;

    if (k->len > 0)
        return 2;
    rc = poll(&pfd, 1, ms);
    if (rc == 0)
        return 0;
    rc = hc_fill(k);
    if (rc > 0)
        return 2;
    return 1;
}

/* Reads and drops everything until the server closes (or ms pass): 1 closed, 0 not. */
static inline int hc_drain_close(hc_conn *k, int ms)
{
    double until = hc_now_ms() + ms;

    while (hc_now_ms() < until) {
        struct pollfd pfd = {k->fd, POLLIN, 0};
        int left = (int)(until - hc_now_ms()) + 1;

        if (poll(&pfd, 1, left) <= 0)
            return 0;
        k->len = 0;
        if (hc_fill(k) <= 0)
            return 1;
        k->len = 0;
    }
    return 0;
}

#endif
