/*
 * wsclient.h - a small blocking WebSocket client for the driver channel's
 * tests (RFC 6455, client side, written by hand so the server is checked
 * against something that is not wslay).
 *
 *   wsc w;
 *   const char *hdr[] = {"Authorization: Bearer nt_...", NULL};
 *   if (wsc_open(&w, port, "/v1/driver/ws", hdr, 2000) == 0) ...   101, Accept checked
 *   wsc_send(&w, WSC_BINARY, bytes, len);
 *   int op = wsc_recv(&w, 1000, &payload, &len);   frame opcode, 0 timeout, -1 EOF
 *   wsc_close(&w);
 *
 * The handshake uses the key of RFC 6455 section 1.3, whose accept value
 * the RFC gives, so the server's SHA-1 and base64 are checked without one
 * here.  Frames sent are masked (as a client must), FIN set, unless
 * wsc_send_frame is told otherwise; frames received must be unmasked and
 * whole (the server does not fragment).  Pings are answered with pongs
 * inside wsc_recv; a close frame is returned (opcode 8) with its code in
 * w->close_code.  Payloads are at most WSC_MAX_PAYLOAD bytes.
 */
#ifndef NORIAI_TEST_WSCLIENT_H
#define NORIAI_TEST_WSCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WSC_TEXT 1
#define WSC_BINARY 2
#define WSC_CLOSE 8
#define WSC_PING 9
#define WSC_PONG 10
#define WSC_MAX_PAYLOAD (1u << 20)
#define WSC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WSC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

typedef struct wsc {
    int fd;
    uint8_t *buf; /* received, not yet parsed */
    size_t len, cap;
    int status;      /* HTTP status of the upgrade's answer */
    char head[4096]; /* its head (and body when not 101), NUL-terminated */
    int close_code;  /* of the close frame received, 0 none */
    uint32_t mask_state;
} wsc;

static inline int64_t wsc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int wsc_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The first place of needle in hay, ignoring case (ASCII), or NULL. */
static inline char *wsc_find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return (char *)hay;
    return NULL;
}

/* Reads what is there within timeout_ms into the buffer: 1 read, 0 timeout, -1 EOF/error. */
static inline int wsc_fill(wsc *w, int timeout_ms)
{
    struct pollfd pfd = {w->fd, POLLIN, 0};
    ssize_t n;
    int rc;

    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    if (w->cap - w->len < 65536) {
        size_t cap = w->cap ? 2 * w->cap : 131072;
        uint8_t *nb;
        if (cap > 4 * WSC_MAX_PAYLOAD)
            return -1;
        if ((nb = realloc(w->buf, cap)) == NULL)
            return -1;
        w->buf = nb;
        w->cap = cap;
    }
    do {
        n = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    w->len += (size_t)n;
    return 1;
}

/*
 * Connects to 127.0.0.1:port and sends the upgrade GET for path with the
 * extra header lines (NULL-terminated list of "Name: value", may be NULL;
 * with_ws 0 leaves out the WebSocket headers).  Returns 0 on 101 with the
 * right Sec-WebSocket-Accept, 1 on another answer (w->status, w->head hold
 * it; the socket is closed), -1 on failure (message on stderr).
 */
static inline int wsc_open_ex(wsc *w, int port, const char *path, const char *const *headers,
                              int with_ws, int timeout_ms)
{
    struct sockaddr_in a;
    char req[4096];
    size_t k = 0;
    int64_t deadline = wsc_now_ms() + timeout_ms;
    int one = 1;
    char *end;

    memset(w, 0, sizeof(*w));
    w->mask_state = 0x9e3779b9u ^ (uint32_t)getpid();
    if ((w->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(w->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "wsc: connect to port %d: %s\n", port, strerror(errno));
        close(w->fd);
        w->fd = -1;
        return -1;
    }
    k += (size_t)snprintf(req + k, sizeof(req) - k, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n",
                          path, port);
    if (with_ws)
        k += (size_t)snprintf(req + k, sizeof(req) - k,
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: " WSC_KEY "\r\nSec-WebSocket-Version: 13\r\n");
    for (int i = 0; headers != NULL && headers[i] != NULL; i++)
        k += (size_t)snprintf(req + k, sizeof(req) - k, "%s\r\n", headers[i]);
    k += (size_t)snprintf(req + k, sizeof(req) - k, "\r\n");
    if (k >= sizeof(req) || wsc_write_all(w->fd, req, k) != 0)
        goto fail;
    /* The head; bytes after it stay in the buffer (the first frames). */
    for (;;) {
        uint8_t *p = w->buf;
        size_t i;
        for (i = 0; p != NULL && i + 3 < w->len; i++)
            if (memcmp(p + i, "\r\n\r\n", 4) == 0)
                break;
        if (p != NULL && i + 3 < w->len) {
            size_t hl = i + 4, body = 0;
            if (hl >= sizeof(w->head))
                goto fail;
            memcpy(w->head, p, hl);
            w->head[hl] = '\0';
            if (sscanf(w->head, "HTTP/1.1 %d", &w->status) != 1)
                goto fail;
            if (w->status != 101) {
                /* an error answer: its body too (Content-Length) */
                const char *cl = wsc_find_nocase(w->head, "\r\nContent-Length:");
                body = cl != NULL ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
                while (w->len < hl + body && wsc_now_ms() < deadline)
                    if (wsc_fill(w, (int)(deadline - wsc_now_ms())) < 0)
                        break;
                if (hl + body < sizeof(w->head) && w->len >= hl + body) {
                    memcpy(w->head + hl, p + hl, body);
                    w->head[hl + body] = '\0';
                }
                close(w->fd);
                w->fd = -1;
                free(w->buf);
                w->buf = NULL;
                w->len = w->cap = 0;
                return 1;
            }
            memmove(w->buf, w->buf + hl, w->len - hl);
            w->len -= hl;
            break;
        }
        if (wsc_now_ms() >= deadline || wsc_fill(w, (int)(deadline - wsc_now_ms())) <= 0) {
            fprintf(stderr, "wsc: no answer to the upgrade\n");
            goto fail;
        }
    }
    end = wsc_find_nocase(w->head, "\r\nSec-WebSocket-Accept:");
    if (end == NULL) {
        fprintf(stderr, "wsc: 101 without Sec-WebSocket-Accept:\n%s\n", w->head);
        goto fail;
    }
    end += 23;
    while (*end == ' ')
        end++;
    if (strncmp(end, WSC_ACCEPT "\r\n", strlen(WSC_ACCEPT) + 2) != 0) {
        fprintf(stderr, "wsc: wrong Sec-WebSocket-Accept:\n%s\n", w->head);
        goto fail;
    }
    return 0;
fail:
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    return -1;
}

static inline int wsc_open(wsc *w, int port, const char *path, const char *const *headers,
                           int timeout_ms)
{
    return wsc_open_ex(w, port, path, headers, 1, timeout_ms);
}

/* One frame (masked); payload of any length (the header says it). */
static inline int wsc_send_frame(wsc *w, int fin, int opcode, const void *data, size_t len)
{
    uint8_t hdr[14], mask[4], *buf;
    size_t h = 0;
    int rc;

    hdr[h++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    w->mask_state = w->mask_state * 1664525u + 1013904223u;
    for (int i = 0; i < 4; i++)
        mask[i] = (uint8_t)(w->mask_state >> (8 * i));
    memcpy(hdr + h, mask, 4);
    h += 4;
    if ((buf = malloc(h + len + 1)) == NULL)
        return -1;
    memcpy(buf, hdr, h);
    for (size_t i = 0; i < len; i++)
        buf[h + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
    rc = wsc_write_all(w->fd, buf, h + len);
    free(buf);
    return rc;
}

static inline int wsc_send(wsc *w, int opcode, const void *data, size_t len)
{
    return wsc_send_frame(w, 1, opcode, data, len);
}

/*
 * The next frame within timeout_ms: its opcode (WSC_TEXT, WSC_BINARY,
 * WSC_CLOSE, WSC_PONG), 0 on timeout, -1 on EOF or a malformed frame.
 * *out (malloc'd, NUL-terminated, the caller frees) and *out_len get the
 * payload.  Pings are answered here.
 */
static inline int wsc_recv(wsc *w, int timeout_ms, uint8_t **out, size_t *out_len)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;

    *out = NULL;
    *out_len = 0;
    for (;;) {
        if (w->len >= 2) {
            uint8_t b0 = w->buf[0], b1 = w->buf[1];
            size_t h = 2;
            uint64_t plen = b1 & 0x7f;
            if (b1 & 0x80)
                return -1; /* servers do not mask */
            if (plen == 126 && w->len >= 4) {
                plen = (uint64_t)w->buf[2] << 8 | w->buf[3];
                h = 4;
            } else if (plen == 127 && w->len >= 10) {
                plen = 0;
                for (int i = 0; i < 8; i++)
                    plen = plen << 8 | w->buf[2 + i];
                h = 10;
            } else if (plen >= 126) {
                h = 0; /* header incomplete */
            }
            if (plen > WSC_MAX_PAYLOAD)
                return -1;
            if (h > 0 && w->len >= h + plen) {
                int op = b0 & 0x0f;
                uint8_t *p = malloc((size_t)plen + 1);
                if (p == NULL)
                    return -1;
                memcpy(p, w->buf + h, (size_t)plen);
                p[plen] = '\0';
                memmove(w->buf, w->buf + h + plen, w->len - h - (size_t)plen);
                w->len -= h + (size_t)plen;
                if (op == WSC_PING) {
                    wsc_send(w, WSC_PONG, p, (size_t)plen);
                    free(p);
                    continue;
                }
                if (op == WSC_CLOSE)
                    w->close_code = plen >= 2 ? (p[0] << 8 | p[1]) : 1005;
                *out = p;
                *out_len = (size_t)plen;
                return op;
            }
        }
        int left = (int)(deadline - wsc_now_ms());
        int rc = wsc_fill(w, left > 0 ? left : 0);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0;
    }
}

/* Waits for the server to close the TCP connection (frames are skipped):
 * 1 closed, 0 still open after timeout_ms. */
static inline int wsc_wait_eof(wsc *w, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;

    for (;;) {
        int left = (int)(deadline - wsc_now_ms());
        int rc;
        if (left <= 0)
            return 0;
        rc = wsc_fill(w, left);
        if (rc < 0)
            return 1;
        if (rc == 0)
            return 0;
        w->len = 0;
    }
}

static inline void wsc_close(wsc *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

#endif
