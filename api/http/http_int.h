/*
 * http_int.h - private to api/http/: the server, connection and request
 * structures shared by server.c (accept, read, parse, answer), request.c
 * (request storage, headers, query, path decoding, status texts) and raw.c
 * (connections taken over after an upgrade).  Nothing outside api/http
 * includes this.
 *
 * Lifetimes in one place:
 *   - api_http_server: freed by api_http_server_close once the listener, the
 *     resume handle and every connection are closed (after `closed` ran).
 *   - http_conn (struct api_http_raw): one per accepted socket, with two
 *     handles (tcp, timer); freed in the close callback of the last of them.
 *     After a takeover the same object is the caller's api_http_raw.
 *   - http_req: created when a request's first byte is parsed (c->cur),
 *     handed to the handler when complete (c->outstanding), freed by
 *     api_http_respond / api_http_takeover.  A connection that closes while
 *     its request is outstanding only clears req->c ("detached"); the request
 *     then outlives the connection and the server until it is answered.
 *     A request still being parsed when its connection closes (c->cur) is
 *     freed with the connection.
 */
#ifndef NORIAI_API_HTTP_INT_H
#define NORIAI_API_HTTP_INT_H

#include "api/http/http.h"

#include <http_parser.h>

/* Input kept per connection: unparsed (pipelined) bytes stop reading beyond this. */
#define API_HTTP_IN_MIN ((size_t)4096)
#define API_HTTP_IN_MAX ((size_t)64 << 10)
/* Responses queued in the kernel's stead beyond this pause parsing. */
#define API_HTTP_WQ_MAX ((size_t)256 << 10)
/* Time a closing connection is given to read our last answer (lingering close). */
#define API_HTTP_LINGER_MS 2000
/* A connection refused as busy (503) lingers this long at most, and no more than
 * API_HTTP_BUSY_MAX of them at once: beyond, a refused connection is closed
 * without an answer - under a flood the courtesy of a 503 must not cost more
 * than the connections it keeps out. */
#define API_HTTP_BUSY_LINGER_MS 500
#define API_HTTP_BUSY_MAX 64
/* Inline storage of a request; bigger heads go to the heap. */
#define API_HTTP_REQ_INLINE 1024
#define API_HTTP_REQ_INLINE_HDRS 16

/* A connection; after a takeover the same object is the caller's api_http_raw. */
typedef struct api_http_raw http_conn;
typedef struct http_req http_req;

typedef enum http_conn_state {
    API_HTTP_ST_HTTP,   /* parsing requests and answering them */
    API_HTTP_ST_RAW,    /* taken over: bytes go to the raw callbacks */
    API_HTTP_ST_LINGER, /* last bytes written, write side shut, reading and dropping */
    API_HTTP_ST_CLOSED  /* uv_close called on both handles */
} http_conn_state;

typedef struct http_hdr_off {
    size_t name, value; /* offsets into the request's arena */
} http_hdr_off;

struct http_req {
    api_http_req pub; /* first: the handler's view */
    http_conn *c;     /* NULL once the connection is gone (detached) */
    /* arena: the URL, then header names and values, each NUL-terminated,
     * then the decoded path and the query */
    char *arena;
    size_t alen, acap;
    int last; /* last data callback: 0 none, 1 url, 2 header name, 3 header value */
    http_hdr_off *hoff;
    int nh, hcap;
    api_http_header *hdrs;
    char *body;
    size_t blen, bcap;
    size_t bmax;       /* the body buffer never grows beyond: Content-Length or the limit, + 1 */
    int is_head;       /* HEAD: the answer carries no body */
    int keep_alive;    /* the client allows another request after this one */
    int proto_upgrade; /* http-parser saw an upgrade: no HTTP may follow this request */
    char inl[API_HTTP_REQ_INLINE];
    http_hdr_off inl_hoff[API_HTTP_REQ_INLINE_HDRS];
    api_http_header inl_hdrs[API_HTTP_REQ_INLINE_HDRS];
};

typedef struct http_write {
    uv_write_t req;
    http_conn *c;
    size_t len;
    char data[]; /* the bytes not taken by uv_try_write */
} http_write;

struct api_http_raw {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    api_http_server *s;
    http_conn *prev, *next; /* the server's connections */
    http_conn *resume_next; /* the server's queue of connections to parse again */
    int resume_queued;
    http_conn_state state;
    int open_handles; /* handles not yet through their close callback */
    int reading;      /* uv_read_start in effect */
    int dispatching;  /* inside the handler call of conn_drive */
    int in_msg;       /* a request has begun and is not complete */
    int shut_started;
    uint64_t id;
    char peer[64];
    /* the client address the per-address limit counts: IPv4 (4 bytes) or an IPv6
     * /64 (8 bytes); addr_len 0 when unknown (then never counted) */
    unsigned char addr[8];
    int addr_len;
    int busy; /* refused with 503: counted in n_busy, not in n_conns */
    http_parser parser;
    http_req *cur;         /* request being parsed */
    http_req *outstanding; /* request handed to the handler, not answered */
    uint64_t deadline_ms;  /* uv_now deadline of the request being received */
    size_t head_bytes;     /* bytes of the current head (approximate: stored bytes + 4 a line) */
    int head_done;         /* headers of the current request complete (trailers follow) */
    int err_status;        /* answer chosen inside a parser callback; 0 none, -1 close quietly */
    const char *err_code;
    char err_msg[160];
    char *in; /* received bytes; [in_off, in_len) not parsed yet */
    size_t in_off, in_len, in_cap;
    /* after a takeover */
    int raw;
    api_http_raw_cbs cbs;
    void *raw_ud;
};

struct api_http_server {
    uv_loop_t *loop;
    api_http_limits lim;
    api_http_handler handler;
    void *ud;
    uv_tcp_t listener;
    uv_idle_t resume; /* parses connections whose late answer left bytes waiting */
    int listening, closing, fixed_open;
    http_conn *conns;
    int n_conns;
    int n_busy;         /* refused connections still lingering */
    uint64_t n_refused; /* connections refused as busy, in all */
    http_conn *resume_head;
    uint64_t next_id;
    void (*closed)(void *ud);
    void *closed_ud;
    int64_t date_sec;
    char date[40];
};

/* request.c */
http_req *api_http_req_new(void);
void api_http_req_free(http_req *r);
/* Appends len bytes to the arena; 0 or API_HTTP_ENOMEM. */
int api_http_req_put(http_req *r, const char *data, size_t len);
/* Adds a new header (name and value offsets to be filled); 0 or ENOMEM. */
int api_http_req_add_header(http_req *r);
/*
 * Called once the head is complete: terminates the last string, decodes the
 * path, splits the query and points pub's strings into the arena.  0,
 * API_HTTP_ENOMEM, or API_HTTP_EINVAL when the path has a bad escape or a
 * NUL byte.
 */
int api_http_req_finish_head(http_req *r, const char *method);
/* Percent-decodes in[0..n) into out (capacity out_cap, NUL added); '+' becomes
 * ' ' when plus.  Returns the length, API_HTTP_EINVAL on a bad escape or a
 * decoded NUL, or API_HTTP_ENOMEM when out_cap is too small. */
long api_http_pct_decode(const char *in, size_t n, char *out, size_t out_cap, int plus);

/* server.c, used by raw.c */
/* Writes bufs (try_write, then a queued copy of the rest): 0 or a libuv error. */
int api_http_conn_write(http_conn *c, const uv_buf_t *bufs, unsigned nbufs);
/* Closes both handles at once; the outstanding request is detached. */
void api_http_conn_close(http_conn *c);
/* Shuts the write side after queued bytes and closes when the peer does (or
 * after API_HTTP_LINGER_MS). */
void api_http_conn_linger(http_conn *c);
/* Reads again (after a full buffer, a takeover, a lingering close). */
void api_http_conn_read_start(http_conn *c);
/* Starts the connection's one timer; what it does when it fires depends on the state. */
void api_http_conn_timer(http_conn *c, uint64_t ms);
/* Writes a complete answer; keep = 0 adds Connection: close. */
int api_http_conn_answer(http_conn *c, int status, const char *content_type, const char *body,
                         size_t body_len, const char *extra, int keep, int is_head);

/* raw.c, used by server.c */
/* Passes the bytes waiting in c->in to on_data. */
void api_http_raw_deliver(http_conn *c);

#endif
