/*
 * ws.c - WebSocket framing for the daemon (ws.h): the upgrade, wslay over
 * the HTTP server's raw connection, sending, closing, keep-alive.
 *
 * Upgrade.  A GET with Upgrade: websocket, Connection: upgrade, version 13
 * and a Sec-WebSocket-Key that is 16 bytes in base64, in its one canonical
 * spelling, is answered 101 with Sec-WebSocket-Accept = base64(SHA-1(key +
 * GUID)) (RFC 6455 4.2.2; SHA-1 and base64 from libcrypto), then
 * api_http_takeover hands us the raw connection.
 *
 * Frames.  Bytes from the raw connection's on_data are fed to a wslay
 * server context (its recv callback reads them from the buffer being fed);
 * its writes go to api_http_raw_write.  A message is at most max_msg_bytes
 * (wslay closes with 1009), a text frame is answered with a close 1003,
 * pings, pongs and close frames are wslay's; binary messages go to the
 * user's on_message.  A frame wslay cannot take at all (a control frame
 * over 125 bytes, a bad opcode, reserved bits) gets a 1002 close frame
 * written directly, unless one was sent already, and the connection is
 * dropped.  Once we have started to close, nothing the peer sends is passed
 * on, so a bad frame followed by a good one changes nothing.
 *
 * Writing.  Messages queued inside on_message wait until wslay_event_recv
 * has returned (wslay does not allow sending from inside it); otherwise
 * each send writes at once.  When more than max_pending_bytes wait in the
 * connection (a peer that stopped reading), it is dropped.  When both close
 * frames have been exchanged, the TCP connection is closed.
 *
 * Time (api_ws_tick, loop milliseconds).  A ping every keepalive_ms, a
 * close 1001 after idle_ms without a byte from the peer, and a drop
 * close_wait_ms after our close frame if the peer never answered it.
 *
 * Lifetime: the api_ws lives until the raw connection's on_close, which
 * calls the user's on_close and frees it.  raw is NULL from the moment the
 * connection is closed for good (api_http_raw_close) until then.
 */
#include "api/server/ws.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct api_ws {
    api_ws_opts o;
    api_ws_cbs cbs;
    void *ud;
    api_http_raw *raw; /* NULL once closing for good */
    wslay_event_context_ptr ctx;
    uint64_t last_rx_ms, last_ka_ms, close_ms; /* loop times; close_ms 0 = open */
    const uint8_t *in;                         /* bytes being fed to wslay */
    size_t in_len, in_off;
    int in_recv; /* inside wslay_event_recv: sending waits */
};

static uint64_t now_ms(const api_ws *w)
{
    return uv_now(w->o.loop);
}

/* ------------------------------------------------------------------------ */
/* The handshake                                                            */

/* accept gets 28 characters and a NUL; 0, or -1 when libcrypto fails. */
static int accept_of(const char *key, char accept[29])
{
    char src[128];
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int dg_len = 0;
    int n = snprintf(src, sizeof(src), "%s%s", key, WS_GUID);

    if (n < 0 || (size_t)n >= sizeof(src) ||
        EVP_Digest(src, (size_t)n, dg, &dg_len, EVP_sha1(), NULL) != 1 || dg_len != 20)
        return -1;
    return EVP_EncodeBlock((unsigned char *)accept, dg, 20) == 28 ? 0 : -1;
}

/* Sec-WebSocket-Key: base64 of 16 bytes, in its one canonical spelling
 * (decoded and encoded again by libcrypto, it must come out the same). */
static int key_valid(const char *key)
{
    unsigned char raw[18];
    char again[25];

    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return 0;
    if (EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18) /* 16 + 2 padding */
        return 0;
    if (EVP_EncodeBlock((unsigned char *)again, raw, 16) != 24)
        return 0;
    return memcmp(again, key, 24) == 0;
}

/* Does the comma-separated header value contain token (any case)? */
static int header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);

    while (value != NULL && *value) {
        while (*value == ' ' || *value == '\t' || *value == ',')
            value++;
        const char *end = value;
        while (*end && *end != ',')
            end++;
        const char *e = end;
        while (e > value && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - value) == tl && strncasecmp(value, token, tl) == 0)
            return 1;
        value = end;
    }
    return 0;
}

void api_ws_refuse(api_http_req *req, int status, const char *code, const char *msg,
                   const char *extra_headers)
{
    char body[512];
    int n =
        snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);

    api_http_respond(req, status, "application/json", body, (size_t)n, extra_headers);
}

int api_ws_check_method(api_http_req *req)
{
    if (strcmp(req->method, "GET") != 0) {
        api_ws_refuse(req, 400, "bad_upgrade",
                      "the driver channel is a WebSocket: GET with Upgrade", NULL);
        return -1;
    }
    return 0;
}

int api_ws_check_upgrade(api_http_req *req)
{
    const char *up = api_http_header_get(req, "Upgrade");
    const char *conn = api_http_header_get(req, "Connection");
    const char *ver = api_http_header_get(req, "Sec-WebSocket-Version");
    const char *key = api_http_header_get(req, "Sec-WebSocket-Key");

    if (!header_has_token(up, "websocket") || !header_has_token(conn, "upgrade")) {
        api_ws_refuse(req, 426, "upgrade_required",
                      "the driver channel is a WebSocket (Upgrade: websocket, Connection: Upgrade)",
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        return -1;
    }
    if (ver == NULL || strcmp(ver, "13") != 0) {
        api_ws_refuse(req, 426, "unsupported_websocket_version", "Sec-WebSocket-Version must be 13",
                      "Sec-WebSocket-Version: 13\r\n");
        return -1;
    }
    if (key == NULL || !key_valid(key)) {
        api_ws_refuse(req, 400, "bad_websocket_key",
                      "Sec-WebSocket-Key must be 16 random bytes in base64", NULL);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sending and closing                                                      */

void api_ws_drop(api_ws *w)
{
    if (w->raw == NULL)
        return;
    wslay_event_shutdown_write(w->ctx);
    wslay_event_shutdown_read(w->ctx);
    api_http_raw_close(w->raw);
    w->raw = NULL;
    if (w->close_ms == 0)
        w->close_ms = now_ms(w);
}

static void flush(api_ws *w)
{
    if (w->raw == NULL || w->in_recv)
        return;
    if (wslay_event_send(w->ctx) != 0) {
        api_ws_drop(w);
        return;
    }
    if (w->raw == NULL)
        return;
    if (api_http_raw_pending(w->raw) > w->o.max_pending_bytes) {
        if (w->cbs.on_fault != NULL)
            w->cbs.on_fault(w->ud, API_WS_NOT_READING);
        api_ws_drop(w);
        return;
    }
    /* Both close frames exchanged (or reading over): the TCP connection goes. */
    if (!wslay_event_want_read(w->ctx) && !wslay_event_want_write(w->ctx)) {
        api_http_raw_close(w->raw);
        w->raw = NULL;
    }
}

void api_ws_close(api_ws *w, uint16_t code, const char *reason)
{
    if (w->raw == NULL || w->close_ms != 0)
        return;
    w->close_ms = now_ms(w);
    if (wslay_event_queue_close(w->ctx, code, (const uint8_t *)reason, strlen(reason)) != 0) {
        api_http_raw_close(w->raw);
        w->raw = NULL;
        return;
    }
    flush(w);
}

void api_ws_send(api_ws *w, const uint8_t *data, size_t len)
{
    struct wslay_event_msg m = {WSLAY_BINARY_FRAME, data, len};

    if (w->raw == NULL || w->close_ms != 0)
        return;
    if (wslay_event_queue_msg(w->ctx, &m) != 0) {
        api_ws_drop(w);
        return;
    }
    flush(w);
}

int api_ws_alive(const api_ws *w)
{
    return w->raw != NULL;
}

int api_ws_open(const api_ws *w)
{
    return w->raw != NULL && w->close_ms == 0;
}

void api_ws_tick(api_ws *w)
{
    uint64_t now = now_ms(w);
    struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};

    if (w->raw == NULL)
        return;
    if (w->close_ms != 0) {
        if (now - w->close_ms >= w->o.close_wait_ms)
            api_ws_drop(w); /* no close frame back in time */
        return;
    }
    if (now - w->last_rx_ms >= w->o.idle_ms) {
        api_ws_close(w, API_WS_GOING_AWAY, w->o.idle_reason);
        return;
    }
    if (now - w->last_ka_ms < w->o.keepalive_ms)
        return;
    w->last_ka_ms = now;
    if (wslay_event_queue_msg(w->ctx, &ping) != 0)
        api_ws_drop(w);
    if (w->cbs.on_keepalive != NULL)
        w->cbs.on_keepalive(w->ud);
    flush(w);
}

/* ------------------------------------------------------------------------ */
/* wslay and the raw connection                                             */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    api_ws *w = ud;
    size_t n = w->in_len - w->in_off;

    (void)flags;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, w->in + w->in_off, n);
    w->in_off += n;
    return (ssize_t)n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    api_ws *w = ud;

    (void)flags;
    if (w->raw == NULL || api_http_raw_write(w->raw, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    api_ws *w = ud;

    (void)ctx;
    if (w->raw == NULL || w->close_ms != 0)
        return; /* closing: nothing the peer says counts any more */
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        api_ws_close(w, API_WS_UNSUPPORTED_DATA, w->o.text_reason);
        return;
    }
    if (arg->opcode != WSLAY_BINARY_FRAME)
        return; /* ping, pong and close are wslay's */
    w->cbs.on_message(w->ud, arg->msg, arg->msg_length);
}

static void raw_on_data(void *ud, const char *data, size_t len)
{
    api_ws *w = ud;
    int rc;

    if (w->raw == NULL)
        return;
    w->last_rx_ms = now_ms(w);
    w->in = (const uint8_t *)data;
    w->in_len = len;
    w->in_off = 0;
    w->in_recv = 1;
    rc = wslay_event_recv(w->ctx);
    w->in_recv = 0;
    w->in = NULL;
    w->in_len = w->in_off = 0;
    if (rc != 0) {
        /* A frame wslay cannot take: say so with 1002 before the connection
         * goes, unless a close was sent already. */
        if (w->raw != NULL && !wslay_event_get_close_sent(w->ctx)) {
            static const uint8_t close_1002[] = {0x88, 0x02, 0x03, 0xea};
            if (w->cbs.on_fault != NULL)
                w->cbs.on_fault(w->ud, API_WS_BROKEN);
            if (w->raw != NULL)
                api_http_raw_write(w->raw, close_1002, sizeof(close_1002));
        }
        api_ws_drop(w);
        return;
    }
    flush(w);
}

static void raw_on_close(void *ud)
{
    api_ws *w = ud;

    w->raw = NULL;
    w->cbs.on_close(w->ud, wslay_event_get_status_code_sent(w->ctx),
                    wslay_event_get_status_code_received(w->ctx));
    wslay_event_context_free(w->ctx);
    free(w);
}

api_ws *api_ws_accept(api_http_req *req, const api_ws_opts *o, const api_ws_cbs *cbs, void *ud)
{
    static const struct wslay_event_callbacks wcbs = {ws_recv, ws_send, NULL,  NULL,
                                                      NULL,    NULL,    ws_msg};
    static const api_http_raw_cbs raw_cbs = {raw_on_data, raw_on_close};
    const char *key = api_http_header_get(req, "Sec-WebSocket-Key");
    const char *proto = api_http_header_get(req, "Sec-WebSocket-Protocol");
    char accept[32], head[400], offer[160] = "";
    api_ws *w;
    int n;

    if ((w = calloc(1, sizeof(*w))) == NULL) {
        api_ws_refuse(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    if (wslay_event_context_server_init(&w->ctx, &wcbs, w) != 0) {
        free(w);
        api_ws_refuse(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(w->ctx, o->max_msg_bytes);
    w->o = *o;
    w->cbs = *cbs;
    w->ud = ud;
    w->last_rx_ms = w->last_ka_ms = now_ms(w);
    if (key == NULL || accept_of(key, accept) < 0) {
        wslay_event_context_free(w->ctx);
        free(w);
        api_ws_refuse(req, 500, "internal", "cannot compute the WebSocket handshake", NULL);
        return NULL;
    }
    if (o->subprotocol != NULL && header_has_token(proto, o->subprotocol))
        snprintf(offer, sizeof(offer), "Sec-WebSocket-Protocol: %s\r\n", o->subprotocol);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n%s\r\n",
                 accept, offer);
    w->raw = api_http_takeover(req, head, (size_t)n, &raw_cbs, w);
    if (w->raw == NULL) {
        wslay_event_context_free(w->ctx);
        free(w);
        return NULL;
    }
    return w;
}
