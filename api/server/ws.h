/*
 * ws.h - private to api/server/: a server-side WebSocket connection
 * (RFC 6455) over the HTTP server's raw connection (api/http: takeover),
 * framed by wslay.  The user of it speaks in whole binary messages: bytes
 * of one message in (on_message), bytes of one message out (api_ws_send).
 *
 * Ownership: an api_ws belongs to ws.c from api_ws_accept until on_close,
 * after which it is freed; the caller must not use it past on_close (and
 * gets on_close exactly once for every api_ws it was given).  Everything
 * runs on the loop's thread.
 */
#ifndef NORIAI_API_WS_H
#define NORIAI_API_WS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "api/http/http.h"

/* Close codes (RFC 6455 7.4.1) the server sends. */
#define API_WS_GOING_AWAY 1001
#define API_WS_PROTOCOL_ERROR 1002
#define API_WS_UNSUPPORTED_DATA 1003
#define API_WS_INVALID_PAYLOAD 1007
#define API_WS_POLICY_VIOLATION 1008
#define API_WS_MESSAGE_TOO_BIG 1009
#define API_WS_INTERNAL_ERROR 1011
#define API_WS_TRY_AGAIN_LATER 1013

typedef struct api_ws api_ws;

/* Why a connection is dropped without a close handshake. */
typedef enum api_ws_fault {
    API_WS_NOT_READING = 1, /* more than max_pending_bytes wait to be written */
    API_WS_BROKEN           /* a frame wslay cannot take: closed 1002 */
} api_ws_fault;

typedef struct api_ws_cbs {
    /* One binary message, while the connection is open (not closing). */
    void (*on_message)(void *ud, const uint8_t *data, size_t len);
    /* A ping was queued (api_ws_tick): the place for the application's own
     * keep-alive message.  May be NULL. */
    void (*on_keepalive)(void *ud);
    /* The connection is about to be dropped for a fault.  May be NULL. */
    void (*on_fault)(void *ud, api_ws_fault fault);
    /* The connection is gone: the close codes sent and received (0 none);
     * the api_ws is freed right after this returns. */
    void (*on_close)(void *ud, int code_sent, int code_received);
} api_ws_cbs;

typedef struct api_ws_opts {
    uv_loop_t *loop;          /* for the times of api_ws_tick */
    size_t max_msg_bytes;     /* a longer message closes with 1009 */
    size_t max_pending_bytes; /* unwritten bytes past this drop the connection */
    uint64_t keepalive_ms;    /* a ping (and on_keepalive) this often */
    uint64_t idle_ms;         /* closed 1001 after this long without a byte */
    uint64_t close_wait_ms;   /* dropped this long after our close frame */
    const char *subprotocol;  /* answered when the client offers it; NULL none */
    const char *text_reason;  /* the reason of the 1003 that answers a text frame */
    const char *idle_reason;  /* the reason of the idle 1001 */
} api_ws_opts;

/* An upgrade refused: the API's JSON error {"error":{"code","message"}}
 * with status and extra header lines (NULL none). */
void api_ws_refuse(api_http_req *req, int status, const char *code, const char *msg,
                   const char *extra_headers);

/* The upgrade's checks, in two steps so a caller can put its own between
 * them: 0, or -1 with req answered (400 a method but GET; 426 without
 * Upgrade: websocket and Connection: upgrade, or a version but 13; 400 a
 * Sec-WebSocket-Key that is not 16 bytes in base64). */
int api_ws_check_method(api_http_req *req);
int api_ws_check_upgrade(api_http_req *req);

/*
 * Answers 101 Switching Protocols (Sec-WebSocket-Accept, and the
 * subprotocol when offered) and takes req's connection over.  Returns the
 * connection, or NULL with req answered (500) or its connection gone; no
 * callback comes for a NULL.  Checked requests only (api_ws_check_*).
 */
api_ws *api_ws_accept(api_http_req *req, const api_ws_opts *o, const api_ws_cbs *cbs, void *ud);

/* Queues one binary message and writes what it can (later, when called
 * from inside on_message).  Nothing once closing. */
void api_ws_send(api_ws *w, const uint8_t *data, size_t len);
/* Starts the close handshake with code and reason (once); what the peer
 * sends after it is ignored. */
void api_ws_close(api_ws *w, uint16_t code, const char *reason);
/* Drops the connection without waiting for a close handshake. */
void api_ws_drop(api_ws *w);
/* 1 until the connection is dropped or closed for good (on_close follows). */
int api_ws_alive(const api_ws *w);
/* 1 while alive and no close started. */
int api_ws_open(const api_ws *w);
/* Every second or so: the close wait, the idle limit, the keep-alive. */
void api_ws_tick(api_ws *w);

#endif
