/*
 * httpc.c - the blocking HTTP/1.1 client of httpc.h: one keep-alive
 * connection per client, one request at a time, responses parsed by
 * http-parser (Content-Length, chunked, or read-until-close bodies).
 *
 * Connection.  The socket is opened lazily, by the first request, and kept
 * open for the next one while the server allows it (http_should_keep_alive
 * on the response).  Before a request is written on a socket that has been
 * idle, a zero-timeout poll and a peeked read tell whether the server has
 * closed it meanwhile (keep-alive timeout, restart); such a socket is
 * replaced by a fresh connection.  If writing the first byte of a request
 * still fails with a reset or a broken pipe, the request is retried once
 * on a new connection: nothing of it reached the server.  Once any byte is
 * out, a failure is the caller's (SIM_HTTPC_EIO), because a POST must
 * never be applied twice behind the caller's back.
 *
 * Time.  The socket is non-blocking; every wait is a poll() bounded by a
 * deadline on CLOCK_MONOTONIC: connect gets timeout_ms, and the request's
 * writing plus its whole response get timeout_ms together.  A timeout or
 * any error leaves the connection in an unknown state, so it is closed.
 *
 * Parsing.  http-parser calls back with pieces of the status line, header
 * names and values and body; they are appended to growing buffers (header
 * block as "Name: value\r\n" lines, the body NUL-terminated).  Both have
 * hard caps (SIM_HTTPC_MAX_HEADER_BYTES, SIM_HTTPC_MAX_BODY_BYTES): a
 * length field from the server only ever makes us read, never allocate
 * ahead.  1xx interim responses are skipped.  The parser is paused at the
 * end of a message; bytes after it (the server talking out of turn) make
 * the connection unusable for the next request, so it is closed.
 *
 * Cost.  One write() per request (request line, headers and body built in
 * one buffer), reads of 16 KiB, amortised O(1) appends.
 */
#include "simulator/httpc.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SIM_HTTPC_MAX_HEADER_BYTES (64 * 1024)
#define SIM_HTTPC_MAX_BODY_BYTES (64 * 1024 * 1024)
#define SIM_HTTPC_READ_CHUNK 16384
#define SIM_HTTPC_MAX_HOST 256

typedef struct hc_buf {
    char *p;
    size_t len, cap;
} hc_buf;

struct sim_httpc {
    char host[SIM_HTTPC_MAX_HOST];
    int port;
    int timeout_ms;
    int fd; /* -1 when not connected */
    /* the response being parsed */
    http_parser parser;
    int head_only;    /* a HEAD request: no body follows the headers */
    int last_cb;      /* 0 none, 1 header field, 2 header value */
    int complete;     /* the final (non-1xx) response is complete */
    int keep_alive;   /* the server allows another request on this socket */
    int too_big;      /* a cap was hit */
    int status;
    hc_buf headers, body;
};

const char *sim_httpc_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SIM_HTTPC_ERR_CASE(name, code, msg)                                                        \
    case code:                                                                                     \
        return msg;
        SIM_HTTPC_ERRNO_MAP(SIM_HTTPC_ERR_CASE)
#undef SIM_HTTPC_ERR_CASE
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

static int buf_add(hc_buf *b, const void *data, size_t n, size_t max)
{
    if (b->len + n + 1 > max)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *np = realloc(b->p, cap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before the deadline, at least 0. */
static int left_ms(int64_t deadline)
{
    int64_t d = deadline - now_ms();

    return d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : (int)d;
}

static void conn_close(sim_httpc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Waits for events on the socket until the deadline: 0 ready, ETIMEOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int r = poll(&p, 1, left_ms(deadline));
        if (r > 0)
            return 0;
        if (r == 0)
            return SIM_HTTPC_ETIMEOUT;
        if (errno != EINTR)
            return SIM_HTTPC_EIO;
    }
}

/* ------------------------------------------------------------------------ */
/* URL and client objects                                                   */

int sim_url_parse(const char *url, char *host, size_t host_len, int *port)
{
    const char *h, *end, *p;
    size_t n;
    long v = 80;

    if (url == NULL || host == NULL || host_len == 0 || port == NULL ||
        strncasecmp(url, "http://", 7) != 0)
        return SIM_HTTPC_EINVAL;
    h = url + 7;
    if (*h == '[') { /* [v6-address] */
        end = strchr(h, ']');
        if (end == NULL)
            return SIM_HTTPC_EINVAL;
        h++;
        n = (size_t)(end - h);
        p = end + 1;
    } else {
        end = h + strcspn(h, ":/?#");
        n = (size_t)(end - h);
        p = end;
    }
    if (n == 0 || n >= host_len)
        return SIM_HTTPC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h[i] <= ' ' || h[i] == '@')
            return SIM_HTTPC_EINVAL;
    if (*p == ':') {
        char *e;
        if (p[1] < '0' || p[1] > '9')
            return SIM_HTTPC_EINVAL;
        v = strtol(p + 1, &e, 10);
        if (v < 1 || v > 65535 || (*e != '\0' && *e != '/' && *e != '?' && *e != '#'))
            return SIM_HTTPC_EINVAL;
    } else if (*p != '\0' && *p != '/' && *p != '?' && *p != '#') {
        return SIM_HTTPC_EINVAL;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)v;
    return 0;
}

int sim_httpc_create(const char *host, int port, int timeout_ms, sim_httpc **out)
{
    sim_httpc *c;

    if (out == NULL)
        return SIM_HTTPC_EINVAL;
    *out = NULL;
    if (host == NULL || host[0] == '\0' || strlen(host) >= SIM_HTTPC_MAX_HOST || port < 1 ||
        port > 65535 || timeout_ms <= 0)
        return SIM_HTTPC_EINVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return SIM_HTTPC_ENOMEM;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    c->timeout_ms = timeout_ms;
    c->fd = -1;
    *out = c;
    return 0;
}

void sim_httpc_destroy(sim_httpc *c)
{
    if (c == NULL)
        return;
    conn_close(c);
    free(c->headers.p);
    free(c->body.p);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Connecting                                                               */

/* One address: non-blocking connect bounded by the deadline. */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), one = 1, rc = 0;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (fd < 0)
        return SIM_HTTPC_ECONNECT;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        rc = SIM_HTTPC_ECONNECT;
        goto out;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto out;
    if (errno != EINPROGRESS) {
        rc = SIM_HTTPC_ECONNECT;
        goto out;
    }
    if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
        goto out;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
        rc = SIM_HTTPC_ECONNECT;
out:
    if (rc < 0)
        close(fd);
    else
        *fd_out = fd;
    return rc;
}

static int conn_open(sim_httpc *c)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    int64_t deadline = now_ms() + c->timeout_ms;
    int rc = SIM_HTTPC_ECONNECT;

    conn_close(c);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", c->port);
    if (getaddrinfo(c->host, port, &hints, &res) != 0)
        return SIM_HTTPC_ECONNECT;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai, deadline, &c->fd);
        if (rc == 0 || rc == SIM_HTTPC_ETIMEOUT)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

/* An idle connection the server has closed (or spoken on) is no use. */
static int conn_alive(sim_httpc *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    char b;
    ssize_t r;

    if (c->fd < 0)
        return 0;
    if (poll(&p, 1, 0) <= 0)
        return p.revents == 0;
    r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ------------------------------------------------------------------------ */
/* Response parsing (http-parser callbacks)                                 */

static int on_message_begin(http_parser *p)
{
    sim_httpc *c = p->data;

    c->headers.len = 0;
    c->body.len = 0;
    if (c->headers.p != NULL)
        c->headers.p[0] = '\0';
    if (c->body.p != NULL)
        c->body.p[0] = '\0';
    c->last_cb = 0;
    c->status = 0;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    sim_httpc *c = p->data;

    if (c->last_cb == 2 && buf_add(&c->headers, "\r\n", 2, SIM_HTTPC_MAX_HEADER_BYTES) < 0)
        goto big;
    c->last_cb = 1;
    if (buf_add(&c->headers, at, n, SIM_HTTPC_MAX_HEADER_BYTES) < 0)
        goto big;
    return 0;
big:
    c->too_big = 1;
    return -1;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    sim_httpc *c = p->data;

    if (c->last_cb != 2 && buf_add(&c->headers, ": ", 2, SIM_HTTPC_MAX_HEADER_BYTES) < 0)
        goto big;
    c->last_cb = 2;
    if (buf_add(&c->headers, at, n, SIM_HTTPC_MAX_HEADER_BYTES) < 0)
        goto big;
    return 0;
big:
    c->too_big = 1;
    return -1;
}

static int on_headers_complete(http_parser *p)
{
    sim_httpc *c = p->data;

    if (c->last_cb == 2 && buf_add(&c->headers, "\r\n", 2, SIM_HTTPC_MAX_HEADER_BYTES) < 0) {
        c->too_big = 1;
        return -1;
    }
    if (c->headers.p == NULL && buf_add(&c->headers, "", 0, SIM_HTTPC_MAX_HEADER_BYTES) < 0) {
        c->too_big = 1;
        return -1;
    }
    c->last_cb = 0;
    c->status = (int)p->status_code;
    /* 1 tells http-parser that no body follows (the answer to HEAD). */
    return c->head_only && c->status >= 200 ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    sim_httpc *c = p->data;

    if (buf_add(&c->body, at, n, SIM_HTTPC_MAX_BODY_BYTES) < 0) {
        c->too_big = 1;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    sim_httpc *c = p->data;

    if (c->status >= 100 && c->status < 200 && c->status != 101)
        return 0; /* an interim answer: the real one follows */
    c->complete = 1;
    c->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1); /* anything after this belongs to no request of ours */
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Moves the parsed response into out (which takes the buffers). */
static int take_response(sim_httpc *c, sim_http_resp *out)
{
    if (c->body.p == NULL && buf_add(&c->body, "", 0, SIM_HTTPC_MAX_BODY_BYTES) < 0)
        return SIM_HTTPC_ENOMEM;
    if (c->headers.p == NULL && buf_add(&c->headers, "", 0, SIM_HTTPC_MAX_HEADER_BYTES) < 0)
        return SIM_HTTPC_ENOMEM;
    out->status = c->status;
    out->body = c->body.p;
    out->body_len = c->body.len;
    out->headers = c->headers.p;
    memset(&c->body, 0, sizeof(c->body));
    memset(&c->headers, 0, sizeof(c->headers));
    return 0;
}

/* Reads and parses one response before the deadline. */
static int read_response(sim_httpc *c, int64_t deadline, sim_http_resp *out)
{
    char rb[SIM_HTTPC_READ_CHUNK];
    int rc;

    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->complete = c->keep_alive = c->too_big = 0;
    c->status = 0;
    c->last_cb = 0;
    c->headers.len = c->body.len = 0;
    while (!c->complete) {
        ssize_t r = recv(c->fd, rb, sizeof(rb), 0);
        size_t used;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if ((rc = wait_fd(c->fd, POLLIN, deadline)) < 0)
                    return rc;
                continue;
            }
            return SIM_HTTPC_EIO;
        }
        /* r == 0: the end of the stream, which ends a read-until-close body. */
        used = http_parser_execute(&c->parser, &parser_settings, rb, (size_t)r);
        if (c->complete) {
            if (used < (size_t)r)
                c->keep_alive = 0; /* extra bytes: the stream is out of step */
            break;
        }
        /* Closed before the answer was whole: the connection failed. */
        if (r == 0)
            return SIM_HTTPC_EIO;
        if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK)
            return SIM_HTTPC_EPROTO; /* not HTTP, or over a cap */
    }
    if (!c->keep_alive)
        conn_close(c);
    return take_response(c, out);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

/* Writes len bytes; *sent counts what went out. */
static int write_all(sim_httpc *c, const char *p, size_t len, int64_t deadline, size_t *sent)
{
    int rc;

    while (*sent < len) {
        ssize_t w = send(c->fd, p + *sent, len - *sent, MSG_NOSIGNAL);
        if (w >= 0) {
            *sent += (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if ((rc = wait_fd(c->fd, POLLOUT, deadline)) < 0)
                return rc;
            continue;
        }
        return SIM_HTTPC_EIO;
    }
    return 0;
}

/*
 * The exchange shared by requests and raw sends: connection checked (or
 * made), bytes written with the one retry the header allows, response read.
 */
static int exchange(sim_httpc *c, const char *bytes, size_t len, int head_only,
                    sim_http_resp *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    c->head_only = head_only;
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t sent = 0;
        int64_t deadline;
        int reused = c->fd >= 0;

        if (reused && !conn_alive(c)) {
            conn_close(c);
            reused = 0;
        }
        if (c->fd < 0 && (rc = conn_open(c)) < 0)
            return rc;
        deadline = now_ms() + c->timeout_ms;
        rc = write_all(c, bytes, len, deadline, &sent);
        if (rc == SIM_HTTPC_EIO && sent == 0 && reused && attempt == 0) {
            conn_close(c); /* closed under us before a byte went out */
            continue;
        }
        if (rc == 0)
            rc = read_response(c, deadline, out);
        break;
    }
    if (rc < 0) {
        conn_close(c);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int sim_httpc_request(sim_httpc *c, const char *method, const char *path,
                      const char *const *headers, const char *body, size_t body_len,
                      sim_http_resp *out)
{
    hc_buf req = {0};
    char line[512];
    int rc, n;
    const size_t max = (size_t)SIM_HTTPC_MAX_BODY_BYTES + SIM_HTTPC_MAX_HEADER_BYTES;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL || method == NULL || path == NULL || out == NULL || method[0] == '\0' ||
        path[0] != '/' || strpbrk(method, " \r\n") != NULL || strpbrk(path, " \r\n") != NULL ||
        (body == NULL && body_len > 0) || body_len > SIM_HTTPC_MAX_BODY_BYTES)
        return SIM_HTTPC_EINVAL;
    for (int i = 0; headers != NULL && headers[i] != NULL; i++)
        if (has_crlf(headers[i]) || strchr(headers[i], ':') == NULL)
            return SIM_HTTPC_EINVAL;
    n = snprintf(line, sizeof(line), " HTTP/1.1\r\nHost: %s:%d\r\n", c->host, c->port);
    if (buf_add(&req, method, strlen(method), max) < 0 || buf_add(&req, " ", 1, max) < 0 ||
        buf_add(&req, path, strlen(path), max) < 0 || buf_add(&req, line, (size_t)n, max) < 0) {
        rc = SIM_HTTPC_ENOMEM;
        goto out;
    }
    for (int i = 0; headers != NULL && headers[i] != NULL; i++)
        if (buf_add(&req, headers[i], strlen(headers[i]), max) < 0 ||
            buf_add(&req, "\r\n", 2, max) < 0) {
            rc = SIM_HTTPC_ENOMEM;
            goto out;
        }
    n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n\r\n", body_len);
    if (buf_add(&req, line, (size_t)n, max) < 0 || buf_add(&req, body, body_len, max) < 0) {
        rc = SIM_HTTPC_ENOMEM;
        goto out;
    }
    rc = exchange(c, req.p, req.len, strcmp(method, "HEAD") == 0, out);
out:
    free(req.p);
    return rc;
}

int sim_httpc_raw(sim_httpc *c, const void *bytes, size_t len, sim_http_resp *out)
{
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (c == NULL || out == NULL || (bytes == NULL && len > 0))
        return SIM_HTTPC_EINVAL;
    rc = exchange(c, bytes, len, 0, out);
    conn_close(c);
    return rc;
}

void sim_http_resp_free(sim_http_resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

int sim_http_resp_header(const sim_http_resp *r, const char *name, char *buf, size_t len)
{
    size_t n;

    if (r == NULL || r->headers == NULL || name == NULL || (n = strlen(name)) == 0)
        return 0;
    for (const char *l = r->headers; *l != '\0';) {
        const char *eol = strstr(l, "\r\n");
        const char *end = eol != NULL ? eol : l + strlen(l);
        if ((size_t)(end - l) > n && l[n] == ':' && strncasecmp(l, name, n) == 0) {
            const char *v = l + n + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = end;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (buf != NULL && len > 0) {
                size_t k = (size_t)(ve - v) < len - 1 ? (size_t)(ve - v) : len - 1;
                memcpy(buf, v, k);
                buf[k] = '\0';
            }
            return 1;
        }
        if (eol == NULL)
            break;
        l = eol + 2;
    }
    return 0;
}
