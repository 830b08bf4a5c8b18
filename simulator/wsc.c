/*
 * wsc.c - the blocking WebSocket client of wsc.h.
 *
 * Connect: getaddrinfo, then a non-blocking connect per address bounded by
 * the deadline; the socket goes back to blocking with SO_SNDTIMEO set, so
 * a server that stops reading cannot hang a sender for longer than the
 * timeout.  Reads always go through poll with the caller's timeout.
 *
 * Handshake: the GET with Host, the caller's lines and (unless told not
 * to) Upgrade, Connection, Sec-WebSocket-Key (the RFC's sample nonce, see
 * wsc.h) and Sec-WebSocket-Version 13; the answer's head is read up to the
 * blank line (at most sizeof(head) - 1 bytes).  101 needs
 * Sec-WebSocket-Accept equal to the RFC's value; any other status is kept
 * with its body (Content-Length, as much as fits) for the caller.
 *
 * Frames: the receive buffer holds at most one maximal frame plus one read
 * (SIM_WSC_MAX_PAYLOAD + 14 + WSC_READ), so a server cannot make it grow
 * without bound: a frame header announcing more than the maximum is an
 * error before its payload is read.  Fragmented messages are appended to a
 * second buffer, bounded by the same maximum in total.  Each parsed frame
 * is removed from the front of the buffer (a memmove of what follows; the
 * buffer rarely holds more than a few frames).
 *
 * Masking keys come from a 32-bit xorshift generator seeded per
 * connection; RFC 6455 wants them unpredictable to protect intermediaries
 * from cache poisoning by a hostile page, which is not this client's
 * situation.
 */
#include "simulator/wsc.h"
#include "solver/errf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define WSC_READ 65536
#define WSC_MAX_BUF (SIM_WSC_MAX_PAYLOAD + 14 + WSC_READ)
#define WSC_MAX_REQ 8192

const char *sim_wsc_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SIM_WSC_ERR_CASE(name, code, msg)                                                          \
    case code:                                                                                     \
        return msg;
        SIM_WSC_ERRNO_MAP(SIM_WSC_ERR_CASE)
#undef SIM_WSC_ERR_CASE
    default:
        return "unknown error";
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline)
{
    int64_t d = deadline - mono_ms();

    return d < 0 ? 0 : d > 1000000000 ? 1000000000 : (int)d;
}

void sim_wsc_init(sim_wsc *w)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->msg_op = -1;
}

void sim_wsc_cleanup(sim_wsc *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->buf);
    free(w->msg);
    w->buf = w->msg = NULL;
    w->len = w->cap = w->msg_len = w->msg_cap = 0;
    w->msg_op = -1;
}

void sim_wsc_abort(sim_wsc *w)
{
    if (w->fd >= 0) {
        struct linger lg = {1, 0};
        (void)setsockopt(w->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    sim_wsc_cleanup(w);
}

size_t sim_wsc_buffered(const sim_wsc *w)
{
    return w->len;
}

/* ------------------------------------------------------------------------ */
/* Bytes in and out                                                         */

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return SIM_WSC_ETIMEOUT;
        if (n <= 0)
            return SIM_WSC_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads what arrives within timeout_ms into the buffer: 1 read, 0 timeout,
 * or SIM_WSC_ECLOSED / EIO / ENOMEM / EPROTO (buffer full). */
static int fill(sim_wsc *w, int timeout_ms)
{
    struct pollfd pfd = {w->fd, POLLIN, 0};
    ssize_t n;
    int rc;

    if (w->fd < 0)
        return SIM_WSC_ECLOSED;
    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return SIM_WSC_EIO;
    if (rc == 0)
        return 0;
    if (w->cap - w->len < WSC_READ) {
        size_t cap = w->cap ? 2 * w->cap : 2 * WSC_READ;
        uint8_t *nb;
        if (cap > WSC_MAX_BUF)
            cap = WSC_MAX_BUF;
        if (cap <= w->len)
            return SIM_WSC_EPROTO;
        if ((nb = realloc(w->buf, cap)) == NULL)
            return SIM_WSC_ENOMEM;
        w->buf = nb;
        w->cap = cap;
    }
    do {
        n = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return SIM_WSC_ECLOSED;
    if (n < 0)
        return errno == ECONNRESET ? SIM_WSC_ECLOSED : SIM_WSC_EIO;
    w->len += (size_t)n;
    return 1;
}

static void consume(sim_wsc *w, size_t n)
{
    memmove(w->buf, w->buf + n, w->len - n);
    w->len -= n;
}

/* ------------------------------------------------------------------------ */
/* The handshake                                                            */

/* One address: non-blocking connect bounded by the deadline, then back to
 * blocking with a send timeout.  The socket or a negative code. */
static int connect_addr(const struct addrinfo *ai, int64_t deadline, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), one = 1, soerr = 0;
    int flags, rc = SIM_WSC_ECONNECT;
    socklen_t sl = sizeof(soerr);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct pollfd p;

    if (fd < 0)
        return SIM_WSC_ECONNECT;
    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        goto out;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            goto out;
        p.fd = fd;
        p.events = POLLOUT;
        p.revents = 0;
        while ((rc = poll(&p, 1, ms_left(deadline))) < 0 && errno == EINTR) {
        }
        if (rc == 0) {
            rc = SIM_WSC_ETIMEOUT;
            goto out;
        }
        rc = SIM_WSC_ECONNECT;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
            goto out;
    }
    if (fcntl(fd, F_SETFL, flags) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        goto out;
    return fd;
out:
    close(fd);
    return rc;
}

static int connect_host(const char *host, int port, int64_t deadline, int timeout_ms)
{
    struct addrinfo hints, *res = NULL;
    char ps[8];
    int rc = SIM_WSC_ECONNECT;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return SIM_WSC_ECONNECT;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if ((rc = connect_addr(ai, deadline, timeout_ms)) >= 0 || rc == SIM_WSC_ETIMEOUT)
            break;
    freeaddrinfo(res);
    return rc;
}

/* A header line must not smuggle another line in. */
static int line_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

int sim_wsc_header(const sim_wsc *w, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    const char *p = strstr(w->head, "\r\n");

    while (p != NULL && p[2] != '\r' && p[2] != '\0') {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            snprintf(buf, len, "%.*s", (int)(end - v), v);
            return 1;
        }
        p = strstr(line, "\r\n");
    }
    return 0;
}

/* The head of the answer into w->head; the rest stays in the buffer. */
static int read_head(sim_wsc *w, int64_t deadline, char *err, size_t err_len)
{
    for (;;) {
        for (size_t i = 0; i + 3 < w->len; i++) {
            if (memcmp(w->buf + i, "\r\n\r\n", 4) != 0)
                continue;
            if (i + 4 >= sizeof(w->head))
                break;
            memcpy(w->head, w->buf, i + 4);
            w->head[i + 4] = '\0';
            consume(w, i + 4);
            return 0;
        }
        if (w->len >= sizeof(w->head) - 1) {
            slv_errf(err, err_len, 0, "the upgrade answer's head is longer than %d bytes",
                     (int)sizeof(w->head) - 1);
            return SIM_WSC_EHANDSHAKE;
        }
        int rc = fill(w, ms_left(deadline));
        if (rc == 0) {
            slv_errf(err, err_len, 0, "no answer to the upgrade within the timeout");
            return SIM_WSC_ETIMEOUT;
        }
        if (rc < 0) {
            slv_errf(err, err_len, 0, "the upgrade's answer broke off: %s", sim_wsc_strerror(rc));
            return rc == SIM_WSC_ECLOSED ? SIM_WSC_EHANDSHAKE : rc;
        }
    }
}

/* Closed and freed, but the answer kept for the caller. */
static void close_keep_answer(sim_wsc *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

int sim_wsc_open(sim_wsc *w, const char *host, int port, const char *path,
                 const char *const *headers, int flags, int timeout_ms, char *err, size_t err_len)
{
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char req[WSC_MAX_REQ], v[128];
    size_t k;
    int rc;

    sim_wsc_init(w);
    v[0] = '\0';
    if (host == NULL || !line_ok(host) || path == NULL || path[0] != '/' || !line_ok(path) ||
        strchr(path, ' ') != NULL || port < 1 || port > 65535 || timeout_ms <= 0) {
        slv_errf(err, err_len, 0, "invalid host, port, path or timeout");
        return SIM_WSC_EINVAL;
    }
    k = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", path, host, port);
    if (!(flags & SIM_WSC_NO_WS_HEADERS) && k < sizeof(req))
        k += (size_t)snprintf(req + k, sizeof(req) - k,
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: " SIM_WSC_KEY "\r\n"
                              "Sec-WebSocket-Version: 13\r\n");
    for (int i = 0; headers != NULL && headers[i] != NULL && k < sizeof(req); i++) {
        if (!line_ok(headers[i])) {
            slv_errf(err, err_len, 0, "header line %d holds a line break", i);
            return SIM_WSC_EINVAL;
        }
        k += (size_t)snprintf(req + k, sizeof(req) - k, "%s\r\n", headers[i]);
    }
    if (k < sizeof(req))
        k += (size_t)snprintf(req + k, sizeof(req) - k, "\r\n");
    if (k >= sizeof(req)) {
        slv_errf(err, err_len, 0, "the upgrade request is longer than %d bytes", WSC_MAX_REQ);
        return SIM_WSC_EINVAL;
    }
    w->mask_state = (uint32_t)getpid() * 2654435761u ^ (uint32_t)mono_ms() ^
                    (uint32_t)(uintptr_t)w ^ 0x9e3779b9u;
    if (w->mask_state == 0)
        w->mask_state = 1;
    if ((rc = connect_host(host, port, deadline, timeout_ms)) < 0) {
        slv_errf(err, err_len, 0, "connect to %s port %d: %s", host, port, sim_wsc_strerror(rc));
        return rc;
    }
    w->fd = rc;
    if ((rc = write_all(w->fd, req, k)) < 0) {
        slv_errf(err, err_len, 0, "sending the upgrade failed: %s", sim_wsc_strerror(rc));
        goto fail;
    }
    if ((rc = read_head(w, deadline, err, err_len)) < 0)
        goto fail;
    if (sscanf(w->head, "HTTP/1.1 %d", &w->status) != 1) {
        slv_errf(err, err_len, 0, "the answer is no HTTP/1.1 status line: %.60s", w->head);
        rc = SIM_WSC_EHANDSHAKE;
        goto fail;
    }
    if (w->status != 101) {
        /* An error answer: its body too (Content-Length), as much as fits. */
        size_t hl = strlen(w->head), body = 0;
        if (sim_wsc_header(w, "Content-Length", v, sizeof(v)))
            body = (size_t)strtoul(v, NULL, 10);
        if (body > sizeof(w->head) - 1 - hl)
            body = sizeof(w->head) - 1 - hl;
        while (w->len < body && fill(w, ms_left(deadline)) > 0) {
        }
        if (body > w->len)
            body = w->len;
        memcpy(w->head + hl, w->buf, body);
        w->head[hl + body] = '\0';
        slv_errf(err, err_len, 0, "the upgrade was answered HTTP %d", w->status);
        rc = SIM_WSC_EREFUSED;
        goto fail;
    }
    if (!sim_wsc_header(w, "Sec-WebSocket-Accept", v, sizeof(v)) ||
        strcmp(v, SIM_WSC_ACCEPT) != 0) {
        slv_errf(err, err_len, 0, "101 with a missing or wrong Sec-WebSocket-Accept \"%s\"", v);
        rc = SIM_WSC_EHANDSHAKE;
        goto fail;
    }
    return 0;
fail:
    close_keep_answer(w);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */

int sim_wsc_send_frame(sim_wsc *w, int fin, int opcode, const void *data, size_t len)
{
    uint8_t small[256], *buf = small, mask[4];
    size_t h = 0;
    int rc;

    if (w->fd < 0)
        return SIM_WSC_ECLOSED;
    if (opcode < 0 || opcode > 15 || (len > 0 && data == NULL))
        return SIM_WSC_EINVAL;
    if (len + 14 > sizeof(small) && (buf = malloc(len + 14)) == NULL)
        return SIM_WSC_ENOMEM;
    buf[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        buf[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        buf[h++] = 0x80 | 126;
        buf[h++] = (uint8_t)(len >> 8);
        buf[h++] = (uint8_t)len;
    } else {
        buf[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            buf[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    /* xorshift32 */
    w->mask_state ^= w->mask_state << 13;
    w->mask_state ^= w->mask_state >> 17;
    w->mask_state ^= w->mask_state << 5;
    for (int i = 0; i < 4; i++)
        buf[h++] = mask[i] = (uint8_t)(w->mask_state >> (8 * i));
    for (size_t i = 0; i < len; i++)
        buf[h + i] = ((const uint8_t *)data)[i] ^ mask[i & 3];
    rc = write_all(w->fd, buf, h + len);
    if (buf != small)
        free(buf);
    return rc;
}

int sim_wsc_send(sim_wsc *w, int opcode, const void *data, size_t len)
{
    return sim_wsc_send_frame(w, 1, opcode, data, len);
}

int sim_wsc_send_close(sim_wsc *w, int code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0, rl = reason != NULL ? strlen(reason) : 0;

    if (code == 0)
        return sim_wsc_send(w, SIM_WSC_CLOSE, NULL, 0);
    if (code < 1000 || code > 4999 || rl > sizeof(p) - 2)
        return SIM_WSC_EINVAL;
    p[n++] = (uint8_t)(code >> 8);
    p[n++] = (uint8_t)code;
    memcpy(p + n, reason, rl);
    return sim_wsc_send(w, SIM_WSC_CLOSE, p, n + rl);
}

/*
 * The frame at the front of the buffer: 1 with its parts, 0 when not
 * whole yet, SIM_WSC_EPROTO when it breaks the rules a server frame must
 * keep.
 */
static int parse_frame(const sim_wsc *w, int *fin, int *op, size_t *hlen, size_t *plen)
{
    const uint8_t *b = w->buf;
    uint64_t n;
    size_t h = 2;

    if (w->len < 2)
        return 0;
    *fin = (b[0] & 0x80) != 0;
    *op = b[0] & 0x0f;
    if ((b[0] & 0x70) != 0 || (b[1] & 0x80) != 0)
        return SIM_WSC_EPROTO; /* reserved bits, or a masked server frame */
    if (!(*op <= SIM_WSC_BINARY || (*op >= SIM_WSC_CLOSE && *op <= SIM_WSC_PONG)))
        return SIM_WSC_EPROTO;
    n = b[1] & 0x7f;
    if (*op >= SIM_WSC_CLOSE && (n > 125 || !*fin))
        return SIM_WSC_EPROTO; /* control frames: short and whole */
    if (n == 126) {
        if (w->len < 4)
            return 0;
        n = (uint64_t)b[2] << 8 | b[3];
        h = 4;
    } else if (n == 127) {
        if (w->len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | b[2 + i];
        h = 10;
    }
    if (n > SIM_WSC_MAX_PAYLOAD)
        return SIM_WSC_EPROTO;
    *hlen = h;
    *plen = (size_t)n;
    return w->len >= h + n ? 1 : 0;
}

/* A copy of len bytes with a NUL after them. */
static uint8_t *dup_payload(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len + 1);

    if (c != NULL) {
        if (len > 0)
            memcpy(c, p, len);
        c[len] = '\0';
    }
    return c;
}

/* A data frame of a fragmented message: appended; 1 when the message is
 * complete (in w->msg), 0 more to come, or a negative code. */
static int add_fragment(sim_wsc *w, int fin, int op, const uint8_t *p, size_t len)
{
    if (op == SIM_WSC_CONT && w->msg_op < 0)
        return SIM_WSC_EPROTO; /* a continuation of nothing */
    if (op != SIM_WSC_CONT && w->msg_op >= 0)
        return SIM_WSC_EPROTO; /* a new message inside a fragmented one */
    if (op != SIM_WSC_CONT)
        w->msg_op = op;
    if (w->msg_len + len > SIM_WSC_MAX_PAYLOAD)
        return SIM_WSC_EPROTO;
    if (w->msg_len + len + 1 > w->msg_cap) {
        size_t cap = w->msg_cap ? w->msg_cap : 4096;
        uint8_t *nm;
        while (cap < w->msg_len + len + 1)
            cap *= 2;
        if ((nm = realloc(w->msg, cap)) == NULL)
            return SIM_WSC_ENOMEM;
        w->msg = nm;
        w->msg_cap = cap;
    }
    if (len > 0)
        memcpy(w->msg + w->msg_len, p, len);
    w->msg_len += len;
    w->msg[w->msg_len] = '\0';
    return fin ? 1 : 0;
}

int sim_wsc_recv(sim_wsc *w, int timeout_ms, uint8_t **out, size_t *out_len)
{
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    *out = NULL;
    *out_len = 0;
    for (;;) {
        int fin, op, rc;
        size_t h, n;

        rc = parse_frame(w, &fin, &op, &h, &n);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            rc = fill(w, ms_left(deadline));
            if (rc <= 0)
                return rc;
            continue;
        }
        const uint8_t *p = w->buf + h;
        if (op == SIM_WSC_PING) {
            rc = sim_wsc_send(w, SIM_WSC_PONG, p, n);
            consume(w, h + n);
            if (rc < 0)
                return rc;
            continue;
        }
        if (op >= SIM_WSC_CLOSE || (fin && op != SIM_WSC_CONT && w->msg_op < 0)) {
            /* a control frame, or a whole message in one frame */
            if ((*out = dup_payload(p, n)) == NULL)
                return SIM_WSC_ENOMEM;
            *out_len = n;
            if (op == SIM_WSC_CLOSE)
                w->close_code = n >= 2 ? (p[0] << 8 | p[1]) : 1005;
            consume(w, h + n);
            return op;
        }
        rc = add_fragment(w, fin, op, p, n);
        consume(w, h + n);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *out = w->msg;
            *out_len = w->msg_len;
            op = w->msg_op;
            w->msg = NULL;
            w->msg_len = w->msg_cap = 0;
            w->msg_op = -1;
            return op;
        }
    }
}

int sim_wsc_wait_eof(sim_wsc *w, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;

    for (;;) {
        int left = ms_left(deadline), rc;
        if (left <= 0)
            return 0;
        rc = fill(w, left);
        if (rc < 0)
            return 1;
        if (rc == 0)
            return 0;
        w->len = 0;
    }
}
