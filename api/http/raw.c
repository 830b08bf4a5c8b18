/*
 * raw.c - connections taken over after an upgrade request (the WebSocket
 * driver channel): from the takeover on, the server only moves bytes.
 *
 * The connection object stays the same; its state becomes RAW and the
 * caller holds it as api_http_raw.  Bytes that arrived after the upgrade
 * request's head (a client may send its first frame right behind the head)
 * are still in the connection's input buffer; they are passed to on_data on
 * the next loop turn through the connection's timer, never inside
 * api_http_takeover (the caller does not have its api_http_raw yet), and a
 * read arriving first delivers them in order with its own bytes.
 *
 * Writes go out like answers: uv_try_write, the remainder copied into a
 * queued write; api_http_raw_pending is libuv's queue size.  raw_close
 * shuts the write side after the queued bytes and closes when the peer does
 * (lingering, as for HTTP).  on_close runs once, from the last handle's
 * close callback, right before the memory is freed: whatever the reason -
 * peer, error, raw_close, server close - it is the last call on that raw.
 */
#include "api/http/http_int.h"

#include <limits.h>
#include <stdlib.h>

static const char takeover_error_body[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"the connection could not be taken over\"}}";

api_http_raw *api_http_takeover(api_http_req *req, const char *head, size_t head_len,
                                const api_http_raw_cbs *cbs, void *ud)
{
    http_req *r = (http_req *)req;
    http_conn *c;

    if (r == NULL)
        return NULL;
    c = r->c;
    if (c == NULL) {
        api_http_req_free(r);
        return NULL;
    }
    if (cbs == NULL || cbs->on_data == NULL || (head == NULL && head_len > 0) ||
        head_len > UINT_MAX) {
        api_http_respond(req, 500, "application/json", takeover_error_body,
                         sizeof(takeover_error_body) - 1, NULL);
        return NULL;
    }
    c->outstanding = NULL;
    r->c = NULL;
    api_http_req_free(r);
    if (head_len > 0) {
        uv_buf_t b = uv_buf_init((char *)head, (unsigned)head_len);

        if (api_http_conn_write(c, &b, 1) < 0) {
            api_http_conn_close(c);
            return NULL;
        }
    }
    c->state = API_HTTP_ST_RAW;
    c->raw = 1;
    c->cbs = *cbs;
    c->raw_ud = ud;
    uv_timer_stop(&c->timer);
    api_http_conn_read_start(c);
    if (c->state == API_HTTP_ST_CLOSED) {
        c->raw = 0; /* NULL returned: no on_close either */
        return NULL;
    }
    if (c->in_off < c->in_len)
        api_http_conn_timer(c, 0);
    return c;
}

void api_http_raw_deliver(http_conn *c)
{
    size_t off = c->in_off, n = c->in_len - c->in_off;

    if (c->state != API_HTTP_ST_RAW || n == 0)
        return;
    /* consumed before the call: on_data may write, close or take the loop
     * anywhere, but no read lands in the buffer before it returns */
    c->in_off = c->in_len = 0;
    c->cbs.on_data(c->raw_ud, c->in + off, n);
}

int api_http_raw_write(api_http_raw *c, const void *data, size_t len)
{
    uv_buf_t b;

    if (c == NULL || (data == NULL && len > 0) || len > UINT_MAX)
        return API_HTTP_EINVAL;
    if (c->state != API_HTTP_ST_RAW)
        return API_HTTP_EGONE;
    if (len == 0)
        return 0;
    b = uv_buf_init((char *)data, (unsigned)len);
    if (api_http_conn_write(c, &b, 1) < 0) {
        api_http_conn_close(c);
        return API_HTTP_EGONE;
    }
    return 0;
}

size_t api_http_raw_pending(const api_http_raw *c)
{
    if (c == NULL || c->state == API_HTTP_ST_CLOSED)
        return 0;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

void api_http_raw_close(api_http_raw *c)
{
    if (c == NULL || c->state != API_HTTP_ST_RAW)
        return;
    api_http_conn_linger(c);
}
