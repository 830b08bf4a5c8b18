/*
 * http.h - the daemon's HTTP/1.1 server on a libuv loop, parsing with
 * http-parser (Debian libhttp-parser-dev).
 *
 * The server accepts TCP connections on one address, parses requests and
 * hands each complete request (head and body) to one handler callback on
 * the loop thread.  The handler answers with api_http_respond - at once, or
 * later from another loop callback (e.g. after a database commit): a request
 * stays valid until it is answered.
 *
 * Per connection, requests are answered strictly in order: a pipelined
 * request is parsed only after the one before it has been answered (bytes
 * already received wait in the connection's buffer), so handlers never see
 * two requests of one connection at once.
 *
 * Limits (api_http_limits): head bytes (431), body bytes (413, checked
 * against Content-Length before reading the body, and while reading chunked
 * bodies), time to receive a whole request once its first byte arrived
 * (408), idle keep-alive time (connection closed), number of connections in
 * all and per client address.  A connection beyond either connection limit
 * is answered at once with 503 {"error":{"code":"busy",...}} and Retry-After,
 * then closed (quietly, without the 503, while 64 such answers are already
 * going out).  The per-address limit counts an IPv4 address, or
 * an IPv6 /64 (one host usually holds a whole /64); behind a reverse proxy
 * or a carrier NAT many clients share one address, so such a deployment
 * raises it or sets 0.  Malformed requests get 400 and the
 * connection is closed.  Connection: close and HTTP/1.0 without keep-alive
 * are honoured.  Error answers the server writes itself are JSON bodies
 * {"error":{"code":"...","message":"..."}}.
 *
 * A request with "Upgrade: websocket" is handed to the handler like any
 * other (upgrade = 1); the handler may answer normally or take the
 * connection over with api_http_takeover (the driver channel, issue 6).
 *
 * Ownership: the server owns its connections and requests; strings in a
 * request point into the request's own storage and die with it.  All calls
 * on the loop thread.  api_http_server_close stops listening, closes every
 * connection (requests not yet answered are dropped; the handler's later
 * api_http_respond on them just frees them) and calls the callback once all
 * handles are closed.
 */
#ifndef NORIAI_API_HTTP_H
#define NORIAI_API_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define API_HTTP_ERRNO_MAP(X)                                                                      \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(ADDR, -3, "cannot listen on that address")                                                   \
    X(GONE, -4, "the connection of this request is gone")                                          \
    X(STATE, -5, "not allowed in the current state")

enum {
#define API_HTTP_ERR_ENUM(name, code, msg) API_HTTP_E##name = (code),
    API_HTTP_ERRNO_MAP(API_HTTP_ERR_ENUM)
#undef API_HTTP_ERR_ENUM
};

const char *api_http_strerror(int err);

typedef struct api_http_limits {
    size_t max_head_bytes;        /* default 16 KiB */
    size_t max_body_bytes;        /* default 1 MiB */
    int request_timeout_ms;       /* whole request after its first byte; default 10000 */
    int idle_timeout_ms;          /* keep-alive connection with nothing to do; default 60000 */
    int max_connections;          /* default 1024 */
    int max_connections_per_addr; /* per client address (IPv6: /64); default 64; 0 = no limit */
} api_http_limits;

void api_http_limits_default(api_http_limits *l);

typedef struct api_http_header {
    const char *name, *value;
} api_http_header;

typedef struct api_http_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* percent-decoded path without the query, e.g. "/v1/bookings/bk_1" */
    const char *query;  /* raw query string after '?', "" when none */
    const char *body;   /* NUL-terminated copy of the body (body_len bytes before the NUL) */
    size_t body_len;
    int n_headers;
    const api_http_header *headers; /* names as received */
    int upgrade;                    /* "Upgrade:" present (websocket) */
    uint64_t conn_id;               /* stable per connection, for logs */
    char peer[64];                  /* "127.0.0.1:53412" */
    int64_t received_ns;            /* uv_hrtime() when the first byte arrived */
    void *user;                     /* free for the handler's use */
} api_http_req;

/* Value of a header (case-insensitive name), or NULL. */
const char *api_http_header_get(const api_http_req *r, const char *name);

/*
 * Value of query parameter `name`, percent- and '+'-decoded, into out.
 * Returns its length, -1 when absent, API_HTTP_EINVAL when malformed or
 * longer than out_len - 1.
 */
int api_http_query_get(const api_http_req *r, const char *name, char *out, size_t out_len);

typedef void (*api_http_handler)(void *ud, api_http_req *req);

typedef struct api_http_server api_http_server;

int api_http_server_create(uv_loop_t *loop, const api_http_limits *limits, api_http_handler handler,
                           void *ud, api_http_server **out);
/* Listens on host:port ("127.0.0.1", 8080; port 0 = any); the port bound is
 * written to *bound_port. */
int api_http_listen(api_http_server *s, const char *host, int port, int *bound_port);
void api_http_server_close(api_http_server *s, void (*closed)(void *ud), void *ud);
/* Open connections now (for metrics). */
int api_http_n_connections(const api_http_server *s);
/* Connections answered 503 busy since the server was created (for metrics). */
uint64_t api_http_n_refused(const api_http_server *s);

/*
 * Answers req and frees it.  extra_headers: NULL or lines each ending in
 * "\r\n" (e.g. "Location: /v1/bookings/x\r\n").  Content-Length, Date,
 * Connection are set by the server.  Returns 0, or API_HTTP_EGONE when the
 * connection was closed meanwhile (req is freed all the same).
 */
int api_http_respond(api_http_req *req, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers);

/*
 * Takes over the connection of an upgrade request: writes `head` (the 101
 * answer) and from then on the server no longer parses it.  Bytes already
 * received after the request head are passed to on_data first.  req is
 * freed.  Returns a raw connection, NULL on failure (then req is answered
 * with 500 and freed).
 */
typedef struct api_http_raw api_http_raw;
typedef struct api_http_raw_cbs {
    void (*on_data)(void *ud, const char *data, size_t len);
    void (*on_close)(void *ud); /* peer closed, error, or after api_http_raw_close */
} api_http_raw_cbs;

api_http_raw *api_http_takeover(api_http_req *req, const char *head, size_t head_len,
                                const api_http_raw_cbs *cbs, void *ud);
/* Queues bytes for writing (copied).  0 or API_HTTP_EGONE. */
int api_http_raw_write(api_http_raw *c, const void *data, size_t len);
/* Bytes queued and not yet written (back-pressure). */
size_t api_http_raw_pending(const api_http_raw *c);
/* Closes after queued bytes are written; on_close follows. */
void api_http_raw_close(api_http_raw *c);

/* The reason phrase of a status ("Not Found"). */
const char *api_http_status_text(int status);

#endif
