/*
 * httpc.h - a small blocking HTTP/1.1 client for the load generator and the
 * integration tests: one keep-alive connection per client object, requests
 * answered in order, response parsing with http-parser.
 *
 * A client that finds its connection closed by the server (keep-alive ended,
 * daemon restarted) reconnects once before a request and retries it only if
 * nothing of the request was sent.  Timeouts apply to connect and to each
 * whole response.
 *
 * Not thread-safe: one client per thread.
 */
#ifndef NORIAI_SIM_HTTPC_H
#define NORIAI_SIM_HTTPC_H

#include <stddef.h>

#define SIM_HTTPC_ERRNO_MAP(X)                                                                     \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(CONNECT, -3, "cannot connect")                                                               \
    X(IO, -4, "connection failed during the request")                                              \
    X(TIMEOUT, -5, "timed out")                                                                    \
    X(PROTO, -6, "malformed response")

enum {
#define SIM_HTTPC_ERR_ENUM(name, code, msg) SIM_HTTPC_E##name = (code),
    SIM_HTTPC_ERRNO_MAP(SIM_HTTPC_ERR_ENUM)
#undef SIM_HTTPC_ERR_ENUM
};

const char *sim_httpc_strerror(int err);

typedef struct sim_httpc sim_httpc;

typedef struct sim_http_resp {
    int status;
    char *body; /* NUL-terminated, body_len bytes before the NUL */
    size_t body_len;
    char *headers; /* the raw header block "Name: value\r\n..." (NUL-terminated) */
} sim_http_resp;

/* "http://host:port[/...]" into host/port; 0 or SIM_HTTPC_EINVAL. */
int sim_url_parse(const char *url, char *host, size_t host_len, int *port);

int sim_httpc_create(const char *host, int port, int timeout_ms, sim_httpc **out);
void sim_httpc_destroy(sim_httpc *c);

/*
 * Sends one request and reads its response.  headers: NULL or a
 * NULL-terminated list of "Name: value" lines (no CRLF).  Content-Length
 * and Host are added.  out is filled on 0 and must be freed with
 * sim_http_resp_free; on error it is left empty.
 */
int sim_httpc_request(sim_httpc *c, const char *method, const char *path,
                      const char *const *headers, const char *body, size_t body_len,
                      sim_http_resp *out);
void sim_http_resp_free(sim_http_resp *r);
/* Value of a response header (case-insensitive name) into buf; 1 found, 0 not. */
int sim_http_resp_header(const sim_http_resp *r, const char *name, char *buf, size_t len);

/* Sends raw bytes as they are and reads one response (tests of malformed
 * requests); the connection is closed afterwards. */
int sim_httpc_raw(sim_httpc *c, const void *bytes, size_t len, sim_http_resp *out);

#endif
