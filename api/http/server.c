/*
 * server.c - the HTTP/1.1 server: accepting, reading, parsing with
 * http-parser, handing requests to the handler, writing answers, timeouts and
 * closing.
 *
 * One connection, one input buffer.  Reads land directly in the connection's
 * buffer (alloc callback); http-parser runs over its unparsed part and copies
 * what it recognises into the request being built (request.c), so the buffer
 * only ever holds bytes not parsed yet.  on_message_complete pauses the
 * parser: http_parser_execute then returns exactly the bytes of that request,
 * the request is handed to the handler, and the parser is not run again on
 * this connection until the handler has answered.  Pipelined requests thus
 * wait as raw bytes in the buffer and are answered strictly in order; the
 * buffer is bounded (API_HTTP_IN_MAX), reading stops when it is full and
 * starts again once it has been parsed.  Reading otherwise goes on while a
 * request is outstanding, so that a client who hangs up is noticed and the
 * late answer gets API_HTTP_EGONE.
 *
 * A late answer (from another loop callback) never re-enters the handler: if
 * bytes are waiting, the connection is queued on the server's idle handle and
 * parsed on the next loop turn.  An answer given inside the handler call lets
 * the parsing loop go on with the next request at once.
 *
 * Writing: the answer's head is formatted on the stack and head + body go out
 * in one uv_try_write (one writev); only a remainder the kernel did not take
 * is copied into a uv_write request.  A connection whose queued bytes pass
 * API_HTTP_WQ_MAX stops parsing until they drain (a pipelining client that
 * does not read cannot make the server buffer without bound).
 *
 * Timers: one per connection.  Idle (no request begun, none outstanding):
 * idle_timeout_ms, then a quiet close.  Receiving a request: request_timeout_ms
 * after its first byte was parsed (for a pipelined request, when the server
 * turned to it), then 408.  Outstanding: none - the handler decides.
 * Lingering: API_HTTP_LINGER_MS.
 *
 * Closing: an answer with Connection: close (our errors, Connection: close,
 * HTTP/1.0, an upgrade not taken over) shuts the write side after the bytes
 * and keeps reading and dropping until the peer closes or the linger time
 * ends - closing at once with unread input would reset the connection and
 * the client could lose the answer.  End of input, a read or write error, an
 * idle timeout and api_http_server_close close at once.  Memory of a
 * connection is freed only when both its handles are through uv_close; an
 * outstanding request is detached then (see http_int.h).
 *
 * Accepting: a connection over max_connections, or over
 * max_connections_per_addr from one address (IPv4, or an IPv6 /64; counted
 * by walking the open connections, at most max_connections steps), is
 * answered 503 "busy" with Retry-After and closed after a short linger; it
 * stops counting as open at once, so refusals never keep anyone else out.
 *
 * api_http_server_create sets SIGPIPE to ignored when it is at its default:
 * libuv writes with writev, and a write to a socket the client has reset
 * would otherwise end the whole daemon.
 */
#include "api/http/http_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static const char internal_error_body[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"the server could not build this answer\"}}";

/* ---- server ---------------------------------------------------------------------------- */

static void server_maybe_finish(api_http_server *s)
{
    void (*closed)(void *);
    void *ud;

    if (!s->closing || s->fixed_open > 0 || s->conns != NULL)
        return;
    closed = s->closed;
    ud = s->closed_ud;
    free(s);
    if (closed != NULL)
        closed(ud);
}

static void on_fixed_closed(uv_handle_t *h)
{
    api_http_server *s = h->data;

    s->fixed_open--;
    server_maybe_finish(s);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT", formatted once a second. */
static const char *server_date(api_http_server *s)
{
    static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    if ((int64_t)now == s->date_sec)
        return s->date;
    if (gmtime_r(&now, &tm) == NULL)
        return s->date;
    snprintf(s->date, sizeof(s->date), "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday % 7],
             tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    s->date_sec = (int64_t)now;
    return s->date;
}

/* ---- connection: handles, timer, closing ----------------------------------------------- */

static void conn_drive(http_conn *c);
static void on_resume(uv_idle_t *h);

static void conn_unqueue(http_conn *c)
{
    http_conn **pp = &c->s->resume_head;

    while (*pp != NULL && *pp != c)
        pp = &(*pp)->resume_next;
    if (*pp == c)
        *pp = c->resume_next;
    c->resume_next = NULL;
    c->resume_queued = 0;
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    http_conn *c = h->data;
    api_http_server *s = c->s;

    if (--c->open_handles > 0)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->busy)
        s->n_busy--;
    else
        s->n_conns--;
    if (c->resume_queued)
        conn_unqueue(c);
    api_http_req_free(c->cur);
    free(c->in);
    if (c->raw && c->cbs.on_close != NULL)
        c->cbs.on_close(c->raw_ud);
    free(c);
    server_maybe_finish(s);
}

void api_http_conn_close(http_conn *c)
{
    if (c->state == API_HTTP_ST_CLOSED)
        return;
    c->state = API_HTTP_ST_CLOSED;
    if (c->outstanding != NULL) {
        c->outstanding->c = NULL;
        c->outstanding = NULL;
    }
    c->reading = 0;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_timer(uv_timer_t *t);

void api_http_conn_timer(http_conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void conn_timer_update(http_conn *c)
{
    if (c->state != API_HTTP_ST_HTTP)
        return;
    if (c->outstanding != NULL) {
        uv_timer_stop(&c->timer);
    } else if (c->in_msg) {
        uint64_t now = uv_now(c->s->loop);

        api_http_conn_timer(c, c->deadline_ms > now ? c->deadline_ms - now : 0);
    } else {
        api_http_conn_timer(c, (uint64_t)c->s->lim.idle_timeout_ms);
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn *c = req->data;

    if (status < 0)
        api_http_conn_close(c);
}

void api_http_conn_linger(http_conn *c)
{
    if (c->state == API_HTTP_ST_CLOSED || c->state == API_HTTP_ST_LINGER)
        return;
    c->state = API_HTTP_ST_LINGER;
    c->in_off = c->in_len = 0;
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        api_http_conn_close(c);
        return;
    }
    c->shut_started = 1;
    api_http_conn_read_start(c);
    if (c->state == API_HTTP_ST_LINGER)
        api_http_conn_timer(c, c->busy ? API_HTTP_BUSY_LINGER_MS : API_HTTP_LINGER_MS);
}

static void conn_queue_resume(http_conn *c)
{
    api_http_server *s = c->s;

    if (c->resume_queued || s->closing)
        return;
    c->resume_queued = 1;
    c->resume_next = s->resume_head;
    s->resume_head = c;
    uv_idle_start(&s->resume, on_resume);
}

/* ---- writing ---------------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    http_write *w = (http_write *)req;
    http_conn *c = w->c;

    free(w);
    if (status < 0) {
        api_http_conn_close(c);
        return;
    }
    if (c->state == API_HTTP_ST_HTTP && c->outstanding == NULL) {
        if (c->in_off < c->in_len)
            conn_drive(c);
        else
            conn_timer_update(c);
    }
}

int api_http_conn_write(http_conn *c, const uv_buf_t *bufs, unsigned nbufs)
{
    size_t total = 0, done, skip;
    http_write *w;
    uv_buf_t b;
    char *dst;
    int n;

    if (c->state == API_HTTP_ST_CLOSED)
        return UV_EPIPE;
    for (unsigned i = 0; i < nbufs; i++)
        total += bufs[i].len;
    if (total == 0)
        return 0;
    if (total > UINT_MAX)
        return UV_E2BIG;
    n = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
    if (n < 0 && n != UV_EAGAIN)
        return n;
    done = n < 0 ? 0 : (size_t)n;
    if (done == total)
        return 0;
    w = malloc(sizeof(*w) + total - done);
    if (w == NULL)
        return UV_ENOMEM;
    w->c = c;
    w->len = total - done;
    dst = w->data;
    skip = done;
    for (unsigned i = 0; i < nbufs; i++) {
        size_t len = bufs[i].len;

        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(dst, bufs[i].base + skip, len - skip);
        dst += len - skip;
        skip = 0;
    }
    b = uv_buf_init(w->data, (unsigned)w->len);
    n = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (n < 0) {
        free(w);
        return n;
    }
    return 0;
}

/* Appends s[0..n) at *pos in dst (capacity cap); the caller sized dst. */
static void put(char *dst, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos + n > cap)
        n = cap - *pos;
    memcpy(dst + *pos, s, n);
    *pos += n;
}

static void put_str(char *dst, size_t cap, size_t *pos, const char *s)
{
    put(dst, cap, pos, s, strlen(s));
}

int api_http_conn_answer(http_conn *c, int status, const char *content_type, const char *body,
                         size_t body_len, const char *extra, int keep, int is_head)
{
    char stack[512], num[32], *head = stack;
    size_t cap = sizeof(stack), pos = 0;
    size_t ct_len = content_type != NULL ? strlen(content_type) : 0;
    size_t extra_len = extra != NULL ? strlen(extra) : 0;
    int no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
    uv_buf_t bufs[2];
    unsigned nbufs = 1;
    int rc;

    /* the fixed lines need under 200 bytes; the rest is what the caller gave */
    if (ct_len + extra_len + 256 > cap) {
        cap = ct_len + extra_len + 256;
        head = malloc(cap);
        if (head == NULL)
            return UV_ENOMEM;
    }
    snprintf(num, sizeof(num), "HTTP/1.1 %03d ", status);
    put_str(head, cap, &pos, num);
    put_str(head, cap, &pos, api_http_status_text(status));
    put_str(head, cap, &pos, "\r\nDate: ");
    put_str(head, cap, &pos, server_date(c->s));
    put_str(head, cap, &pos, "\r\n");
    if (!no_body) {
        snprintf(num, sizeof(num), "Content-Length: %zu\r\n", body_len);
        put_str(head, cap, &pos, num);
    }
    if (content_type != NULL) {
        put_str(head, cap, &pos, "Content-Type: ");
        put(head, cap, &pos, content_type, ct_len);
        put_str(head, cap, &pos, "\r\n");
    }
    put_str(head, cap, &pos, keep ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    if (extra_len > 0) {
        put(head, cap, &pos, extra, extra_len);
        if (extra_len < 2 || extra[extra_len - 2] != '\r' || extra[extra_len - 1] != '\n')
            put_str(head, cap, &pos, "\r\n");
    }
    put_str(head, cap, &pos, "\r\n");
    bufs[0] = uv_buf_init(head, (unsigned)pos);
    if (!no_body && !is_head && body_len > 0) {
        if (body_len > UINT_MAX) {
            rc = UV_E2BIG;
            goto out;
        }
        bufs[1] = uv_buf_init((char *)body, (unsigned)body_len);
        nbufs = 2;
    }
    rc = api_http_conn_write(c, bufs, nbufs);
out:
    if (head != stack)
        free(head);
    return rc;
}

/* Copies msg into out as the inside of a JSON string. */
static void json_text(char *out, size_t cap, const char *msg)
{
    size_t o = 0;

    for (const char *p = msg; *p != '\0' && o + 7 < cap; p++) {
        unsigned char ch = (unsigned char)*p;

        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

/* Our own error answer (extra: NULL or header lines), then a lingering close. */
static void conn_error(http_conn *c, int status, const char *code, const char *msg,
                       const char *extra)
{
    char text[400], body[600];
    int n;

    json_text(text, sizeof(text), msg);
    n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
                 text);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = 0;
    if (api_http_conn_answer(c, status, "application/json", body, (size_t)n, extra, 0, 0) < 0) {
        api_http_conn_close(c);
        return;
    }
    api_http_conn_linger(c);
}

static void conn_fail(http_conn *c, int status, const char *code, const char *msg)
{
    conn_error(c, status, code, msg, NULL);
}

/* ---- reading and parsing --------------------------------------------------------------- */

static int conn_has_room(const http_conn *c)
{
    return c->in_cap < API_HTTP_IN_MAX || c->in_len - c->in_off < c->in_cap;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    http_conn *c = h->data;

    (void)suggested;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    if (c->in_cap - c->in_len < API_HTTP_IN_MIN && c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len < API_HTTP_IN_MIN && c->in_cap < API_HTTP_IN_MAX) {
        size_t cap = c->in_cap == 0 ? 2 * API_HTTP_IN_MIN : c->in_cap * 2;
        char *p;

        if (cap > API_HTTP_IN_MAX)
            cap = API_HTTP_IN_MAX;
        p = realloc(c->in, cap);
        if (p != NULL) {
            c->in = p;
            c->in_cap = cap;
        }
    }
    *buf = uv_buf_init(c->in == NULL ? NULL : c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void conn_read_stop(http_conn *c)
{
    if (c->reading && c->state != API_HTTP_ST_CLOSED)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    http_conn *c = st->data;

    (void)buf;
    if (nread == UV_ENOBUFS) {
        conn_read_stop(c);
        return;
    }
    if (nread < 0) {
        api_http_raw_deliver(c); /* what came before the end, if still waiting */
        api_http_conn_close(c);
        return;
    }
    if (nread == 0 || c->state == API_HTTP_ST_CLOSED)
        return;
    c->in_len += (size_t)nread;
    switch (c->state) {
    case API_HTTP_ST_LINGER:
        c->in_off = c->in_len = 0;
        break;
    case API_HTTP_ST_RAW:
        api_http_raw_deliver(c);
        break;
    case API_HTTP_ST_HTTP:
        if (c->outstanding == NULL)
            conn_drive(c);
        else if (!conn_has_room(c))
            conn_read_stop(c);
        break;
    default:
        break;
    }
}

void api_http_conn_read_start(http_conn *c)
{
    if (c->reading || c->state == API_HTTP_ST_CLOSED)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        api_http_conn_close(c);
        return;
    }
    c->reading = 1;
}

/* Hands the request just completed to the handler. */
static void conn_dispatch(http_conn *c)
{
    http_req *r = c->cur;

    c->cur = NULL;
    c->in_msg = 0;
    if (r == NULL)
        return;
    r->c = c;
    c->outstanding = r;
    uv_timer_stop(&c->timer);
    c->dispatching = 1;
    c->s->handler(c->s->ud, &r->pub);
    c->dispatching = 0;
}

static void conn_parse_failed(http_conn *c, enum http_errno e)
{
    char msg[200];

    if (c->err_status < 0) {
        api_http_conn_close(c);
    } else if (c->err_status > 0) {
        conn_fail(c, c->err_status, c->err_code, c->err_msg);
    } else if (e == HPE_HEADER_OVERFLOW) {
        conn_fail(c, 431, "headers_too_large", "the request head is too large");
    } else {
        snprintf(msg, sizeof(msg), "malformed HTTP request: %s", http_errno_description(e));
        conn_fail(c, 400, "bad_request", msg);
    }
}

/*
 * Parses waiting bytes while the connection may take a request: none
 * outstanding, not too much queued for writing.  Each complete request goes
 * to the handler before the next byte is parsed.
 */
static void conn_drive(http_conn *c)
{
    while (c->state == API_HTTP_ST_HTTP && c->outstanding == NULL && c->in_off < c->in_len) {
        size_t len = c->in_len - c->in_off, n;
        enum http_errno e;

        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > API_HTTP_WQ_MAX)
            break;
        n = http_parser_execute(&c->parser, &parser_settings, c->in + c->in_off, len);
        c->in_off += n;
        e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            conn_dispatch(c);
        } else if (e != HPE_OK || n < len) {
            conn_parse_failed(c, e);
        }
    }
    if (c->state != API_HTTP_ST_HTTP)
        return;
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
        if (c->in_cap > 2 * API_HTTP_IN_MIN) {
            free(c->in); /* a burst is over: back to the small buffer on the next read */
            c->in = NULL;
            c->in_cap = 0;
        }
    }
    if (!c->reading && conn_has_room(c))
        api_http_conn_read_start(c);
    conn_timer_update(c);
}

static void on_resume(uv_idle_t *h)
{
    api_http_server *s = h->data;
    http_conn *c;

    while ((c = s->resume_head) != NULL) {
        s->resume_head = c->resume_next;
        c->resume_next = NULL;
        c->resume_queued = 0;
        conn_drive(c);
    }
    if (!s->closing)
        uv_idle_stop(h);
}

static void on_timer(uv_timer_t *t)
{
    http_conn *c = t->data;
    char msg[120];

    switch (c->state) {
    case API_HTTP_ST_HTTP:
        if (c->outstanding != NULL)
            break;
        if (c->in_msg) {
            snprintf(msg, sizeof(msg), "the request was not complete within %d ms",
                     c->s->lim.request_timeout_ms);
            conn_fail(c, 408, "request_timeout", msg);
        } else {
            api_http_conn_close(c);
        }
        break;
    case API_HTTP_ST_RAW:
        api_http_raw_deliver(c);
        break;
    case API_HTTP_ST_LINGER:
        api_http_conn_close(c);
        break;
    default:
        break;
    }
}

/* ---- http-parser callbacks -------------------------------------------------------------- */

/* Remembers the answer for conn_parse_failed and stops the parser. */
static int cb_fail(http_conn *c, int status, const char *code, const char *msg)
{
    c->err_status = status;
    c->err_code = code;
    snprintf(c->err_msg, sizeof(c->err_msg), "%s", msg);
    return -1;
}

static int head_grow(http_conn *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes > c->s->lim.max_head_bytes) {
        char msg[120];

        snprintf(msg, sizeof(msg), "the request head is over the limit of %zu bytes",
                 c->s->lim.max_head_bytes);
        return cb_fail(c, 431, "headers_too_large", msg);
    }
    return 0;
}

static int oom(http_conn *c)
{
    return cb_fail(c, 500, "internal", "the server is out of memory");
}

static int on_message_begin(http_parser *p)
{
    http_conn *c = p->data;
    http_req *r;

    api_http_req_free(c->cur);
    c->cur = r = api_http_req_new();
    if (r == NULL)
        return oom(c);
    r->pub.conn_id = c->id;
    memcpy(r->pub.peer, c->peer, sizeof(r->pub.peer));
    r->pub.received_ns = (int64_t)uv_hrtime();
    c->in_msg = 1;
    c->head_done = 0;
    c->head_bytes = 0;
    c->deadline_ms = uv_now(c->s->loop) + (uint64_t)c->s->lim.request_timeout_ms;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    http_req *r = c->cur;

    if (r->last != 1) {
        r->last = 1;
        if (head_grow(c, 16) < 0) /* method, version, line ends */
            return -1;
    }
    if (head_grow(c, len) < 0)
        return -1;
    return api_http_req_put(r, at, len) < 0 ? oom(c) : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    static const char nul = '\0';
    http_conn *c = p->data;
    http_req *r = c->cur;

    if (r->last != 2 && head_grow(c, 4) < 0) /* ": " and CRLF */
        return -1;
    if (head_grow(c, len) < 0)
        return -1;
    /* http-parser (not built strict) lets blanks into names; "Content-Length :"
     * must not pass for some other header here and for Content-Length elsewhere */
    if (memchr(at, ' ', len) != NULL)
        return cb_fail(c, 400, "bad_request", "a header name contains a blank");
    if (c->head_done) { /* a trailer of a chunked body: counted, not kept */
        r->last = 2;
        return 0;
    }
    if (r->last != 2) {
        if (api_http_req_put(r, &nul, 1) < 0 || api_http_req_add_header(r) < 0)
            return oom(c);
        r->last = 2;
    }
    return api_http_req_put(r, at, len) < 0 ? oom(c) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    static const char nul = '\0';
    http_conn *c = p->data;
    http_req *r = c->cur;

    if (head_grow(c, len) < 0)
        return -1;
    if (c->head_done) {
        r->last = 3;
        return 0;
    }
    if (r->last != 3) {
        if (r->nh == 0 || api_http_req_put(r, &nul, 1) < 0)
            return r->nh == 0 ? cb_fail(c, 400, "bad_request", "header value without a name")
                              : oom(c);
        r->hoff[r->nh - 1].value = r->alen;
        r->last = 3;
    }
    return api_http_req_put(r, at, len) < 0 ? oom(c) : 0;
}

static int on_headers_complete(http_parser *p)
{
    static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
    http_conn *c = p->data;
    http_req *r = c->cur;
    const api_http_limits *lim = &c->s->lim;
    int chunked = (p->flags & F_CHUNKED) != 0;
    int has_length = !chunked && p->content_length > 0 && p->content_length != ULLONG_MAX;
    const char *expect;
    char msg[160];
    int rc;

    c->head_done = 1;
    if (p->http_major != 1)
        return cb_fail(c, 505, "http_version_not_supported",
                       "only HTTP/1.0 and HTTP/1.1 are served");
    rc = api_http_req_finish_head(r, http_method_str((enum http_method)p->method));
    if (rc == API_HTTP_EINVAL)
        return cb_fail(c, 400, "bad_request",
                       "the request path has a malformed percent-escape or a NUL byte");
    if (rc < 0)
        return oom(c);
    r->is_head = p->method == HTTP_HEAD;
    r->keep_alive = http_should_keep_alive(p);
    r->proto_upgrade = p->upgrade;
    r->pub.upgrade = api_http_header_get(&r->pub, "Upgrade") != NULL;

    if (has_length && p->content_length > lim->max_body_bytes) {
        snprintf(msg, sizeof(msg),
                 "the request body of %" PRIu64 " bytes is over the limit of %zu bytes",
                 (uint64_t)p->content_length, lim->max_body_bytes);
        return cb_fail(c, 413, "payload_too_large", msg);
    }
    expect = api_http_header_get(&r->pub, "Expect");
    if (expect != NULL && p->http_minor >= 1) {
        if (strcasecmp(expect, "100-continue") != 0)
            return cb_fail(c, 417, "expectation_failed",
                           "only \"Expect: 100-continue\" is understood");
        if (chunked || has_length) {
            uv_buf_t b = uv_buf_init((char *)continue_100, sizeof(continue_100) - 1);

            if (api_http_conn_write(c, &b, 1) < 0) {
                c->err_status = -1;
                return -1;
            }
        }
    }
    /* The body buffer grows with the bytes that arrive, up to Content-Length:
     * a head alone does not make the server set aside max_body_bytes. */
    r->bmax = has_length ? (size_t)p->content_length + 1 : lim->max_body_bytes + 1;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    http_req *r = c->cur;
    size_t max = c->s->lim.max_body_bytes;

    if (len > max - r->blen) {
        char msg[120];

        snprintf(msg, sizeof(msg), "the request body is over the limit of %zu bytes", max);
        return cb_fail(c, 413, "payload_too_large", msg);
    }
    if (r->bcap - r->blen < len + 1) {
        size_t cap = r->bcap < 4096 ? 4096 : r->bcap;
        char *b;

        while (cap - r->blen < len + 1)
            cap *= 2;
        if (cap > r->bmax)
            cap = r->bmax;
        b = realloc(r->body, cap);
        if (b == NULL)
            return oom(c);
        r->body = b;
        r->bcap = cap;
    }
    memcpy(r->body + r->blen, at, len);
    r->blen += len;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_conn *c = p->data;
    http_req *r = c->cur;

    if (r->body != NULL) {
        r->body[r->blen] = '\0';
        r->pub.body = r->body;
        r->pub.body_len = r->blen;
    }
    http_parser_pause(p, 1);
    return 0;
}

/* ---- accepting ------------------------------------------------------------------------- */

/*
 * Sets the peer's text ("127.0.0.1:53412") and the address the per-address
 * limit counts: an IPv4 address as its 4 bytes (also when it comes mapped
 * into IPv6), an IPv6 address as its /64 - a host is usually given a whole
 * /64 and could otherwise open its connections from as many addresses.
 */
static void conn_set_peer(http_conn *c)
{
    static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    char ip[INET6_ADDRSTRLEN];

    snprintf(c->peer, sizeof(c->peer), "?");
    c->addr_len = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

        memcpy(c->addr, &a->sin_addr, 4);
        c->addr_len = 4;
        if (uv_ip4_name(a, ip, sizeof(ip)) == 0)
            snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        const unsigned char *b = a->sin6_addr.s6_addr;

        if (memcmp(b, v4_mapped, sizeof(v4_mapped)) == 0) {
            memcpy(c->addr, b + 12, 4);
            c->addr_len = 4;
        } else {
            memcpy(c->addr, b, 8);
            c->addr_len = 8;
        }
        if (uv_ip6_name(a, ip, sizeof(ip)) == 0)
            snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    }
}

/* Connections served now from c's address, c included (refused ones are not counted). */
static int conn_count_addr(const http_conn *c)
{
    int n = 0;

    if (c->addr_len == 0)
        return 0;
    for (const http_conn *o = c->s->conns; o != NULL; o = o->next)
        if (!o->busy && o->addr_len == c->addr_len && memcmp(o->addr, c->addr, c->addr_len) == 0)
            n++;
    return n;
}

/*
 * Refuses a connection beyond a connection limit: 503 with Retry-After, then
 * a short lingering close so the client reads the answer instead of a reset.
 * The connection stops counting as served at once, so it keeps nobody else
 * out while it lingers; past API_HTTP_BUSY_MAX lingering refusals it is
 * closed without an answer.
 */
static void conn_refuse(http_conn *c, const char *msg)
{
    api_http_server *s = c->s;

    c->busy = 1;
    s->n_conns--;
    s->n_busy++;
    s->n_refused++;
    if (s->n_busy > API_HTTP_BUSY_MAX) {
        api_http_conn_close(c);
        return;
    }
    conn_error(c, 503, "busy", msg, "Retry-After: 1\r\n");
}

static void on_connection(uv_stream_t *ls, int status)
{
    api_http_server *s = ls->data;
    http_conn *c;
    int per_addr = s->lim.max_connections_per_addr;
    char msg[120];

    if (status < 0 || s->closing)
        return;
    /* Without memory the connection stays in libuv's hands and accepting
     * pauses until a later uv_accept; nothing better is possible here. */
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->s = s;
    c->state = API_HTTP_ST_HTTP;
    c->id = ++s->next_id;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        api_http_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_set_peer(c);
    if (s->n_conns > s->lim.max_connections) {
        snprintf(msg, sizeof(msg), "the server is serving its limit of %d connections; try again",
                 s->lim.max_connections);
        conn_refuse(c, msg);
        return;
    }
    /* counting walks the open connections: at most max_connections steps per accept */
    if (per_addr > 0 && conn_count_addr(c) > per_addr) {
        snprintf(msg, sizeof(msg),
                 "your address has its limit of %d open connections; close one or try again",
                 per_addr);
        conn_refuse(c, msg);
        return;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    api_http_conn_read_start(c);
    conn_timer_update(c);
}

/* ---- public API ------------------------------------------------------------------------ */

/*
 * A write to a socket the peer has reset raises SIGPIPE, whose default action
 * ends the process; libuv writes with writev and does not block it.  One
 * client hanging up mid-answer must not stop the daemon, so SIGPIPE is
 * ignored - unless the program already chose a handler of its own.
 */
static void ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

int api_http_server_create(uv_loop_t *loop, const api_http_limits *limits, api_http_handler handler,
                           void *ud, api_http_server **out)
{
    api_http_server *s;

    if (out != NULL)
        *out = NULL;
    if (loop == NULL || handler == NULL || out == NULL)
        return API_HTTP_EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return API_HTTP_ENOMEM;
    if (limits != NULL)
        s->lim = *limits;
    else
        api_http_limits_default(&s->lim);
    if (s->lim.max_head_bytes < 64 || s->lim.request_timeout_ms <= 0 ||
        s->lim.idle_timeout_ms <= 0 || s->lim.max_connections < 1 ||
        s->lim.max_connections_per_addr < 0 || s->lim.max_body_bytes > (size_t)1 << 40) {
        free(s);
        return API_HTTP_EINVAL;
    }
    if (uv_tcp_init(loop, &s->listener) != 0) {
        free(s);
        return API_HTTP_ENOMEM;
    }
    uv_idle_init(loop, &s->resume);
    ignore_sigpipe();
    s->loop = loop;
    s->handler = handler;
    s->ud = ud;
    s->listener.data = s;
    s->resume.data = s;
    s->fixed_open = 2;
    s->date_sec = -1;
    *out = s;
    return 0;
}

int api_http_listen(api_http_server *s, const char *host, int port, int *bound_port)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    int rc;

    if (s == NULL || host == NULL || port < 0 || port > 65535)
        return API_HTTP_EINVAL;
    if (s->closing || s->listening)
        return API_HTTP_ESTATE;
    if (strchr(host, ':') != NULL)
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc != 0)
        return API_HTTP_EADDR;
    if (uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0) != 0)
        return API_HTTP_EADDR;
    if (uv_listen((uv_stream_t *)&s->listener, 511, on_connection) != 0)
        return API_HTTP_EADDR;
    s->listening = 1;
    if (bound_port != NULL) {
        *bound_port = port;
        if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) == 0)
            *bound_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                                   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return 0;
}

void api_http_server_close(api_http_server *s, void (*closed)(void *ud), void *ud)
{
    if (s == NULL || s->closing)
        return;
    s->closing = 1;
    s->closed = closed;
    s->closed_ud = ud;
    uv_close((uv_handle_t *)&s->listener, on_fixed_closed);
    uv_close((uv_handle_t *)&s->resume, on_fixed_closed);
    for (http_conn *c = s->conns; c != NULL; c = c->next)
        api_http_conn_close(c);
}

int api_http_n_connections(const api_http_server *s)
{
    return s != NULL ? s->n_conns : 0;
}

uint64_t api_http_n_refused(const api_http_server *s)
{
    return s != NULL ? s->n_refused : 0;
}

int api_http_respond(api_http_req *req, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers)
{
    http_req *r = (http_req *)req;
    http_conn *c;
    int rc = 0, keep;

    if (r == NULL)
        return API_HTTP_EINVAL;
    c = r->c;
    if (c == NULL) {
        api_http_req_free(r);
        return API_HTTP_EGONE;
    }
    c->outstanding = NULL;
    r->c = NULL;
    if (status < 200 || status > 999 || (body == NULL && body_len > 0)) {
        rc = API_HTTP_EINVAL;
        status = 500;
        content_type = "application/json";
        body = internal_error_body;
        body_len = sizeof(internal_error_body) - 1;
        extra_headers = NULL;
    }
    keep = r->keep_alive && !r->proto_upgrade && !c->s->closing;
    if (api_http_conn_answer(c, status, content_type, body, body_len, extra_headers, keep,
                             r->is_head) < 0) {
        api_http_req_free(r);
        api_http_conn_close(c);
        return API_HTTP_EGONE;
    }
    api_http_req_free(r);
    if (!keep) {
        api_http_conn_linger(c);
    } else if (!c->dispatching) {
        if (c->in_off < c->in_len) {
            conn_queue_resume(c);
        } else {
            if (!c->reading)
                api_http_conn_read_start(c);
            conn_timer_update(c);
        }
    }
    return rc;
}
