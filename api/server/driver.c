/*
 * driver.c - the driver channel (issue 6): a WebSocket on /v1/driver/ws,
 * framed by wslay, one protobuf message per binary frame
 * (data/proto/driver.proto).  Everything runs on the daemon's loop thread.
 *
 * Connection.  routes.c has checked the token (role driver); the upgrade
 * is checked here (GET, Upgrade/Connection, version 13, a 16-byte key) and
 * answered 101 with Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) (SHA-1
 * below, RFC 3174; the project has SHA-256 only), then api_http_takeover
 * hands us the raw connection.  Bytes from api_http_raw's on_data are fed
 * to a wslay server context; its writes go to api_http_raw_write.  Limits:
 * a message is at most DRV_MAX_MSG_BYTES (wslay closes with 1009), a text
 * frame closes with 1003, bytes that are no TabletMessage with 1007, a Hello
 * naming another vehicle than the token's with 1008; after we close, the
 * tablet's frames are ignored, so a bad frame never changes state.  Each
 * connection gets a ping and a KeepAlive message every DRV_KEEPALIVE_MS and
 * is dropped after DRV_IDLE_MS without a byte, or when more than
 * DRV_MAX_PENDING_BYTES wait to be written (a tablet that stopped reading).
 * A vehicle has at most DRV_MAX_CONNS_PER_VEHICLE connections; a newer one
 * pushes the oldest out (close 4001), since a tablet that lost its network
 * often comes back before the old TCP connection notices.
 *
 * Route updates.  The tablet sees the vehicle's plan of today: every stop
 * except those of offers not yet confirmed (unless the van is already on
 * its way there), with rider details from the riders table.  service.c calls
 * api_driver_plan_stored after a commit stored a plan; the route is then
 * built from live state, but only when the plan has not changed again since
 * (plan_dirty clear), so the content sent is what the store holds under that
 * seq (d->seq_base[v] + version); a vehicle with no tablet connected is only
 * marked stale and built at its next Hello.  The serialized message is kept
 * per vehicle: a Hello whose last_seq differs from it gets it (it replaces
 * whatever was missed; "differs" rather than "is lower", so a tablet holding
 * yesterday's higher numbers is not left with them), else nothing.  A
 * stored plan whose visible content is unchanged - same stops, riders and
 * flags, planned times in the same minute - is not pushed to a tablet that
 * got the previous one: an idle van behind its plan is re-timed by the
 * dispatcher every second, and the driver would see nothing new.
 *
 * A confirmation makes a hidden stop visible without changing the plan, so
 * its version stays; to keep "one seq, one content", service.c's event sink
 * bumps that vehicle's seq_base and marks its plan dirty, so the new seq is
 * stored in the confirmation's own commit and pushed right after it.  A
 * confirmed booking that is cancelled gets a Cancellation notice after the
 * route update that removed it.
 *
 * Rider details are cached (rider id -> name, kana, phone, needs, notes);
 * a route that names a rider not in the cache waits for one read-only query
 * for the missing ids (a negative entry is kept for ids not found), so no
 * blocking call is ever made on the loop.
 *
 * Tablet events.  arrived, departed, boarded, alighted, no_show and breaks
 * carry an event_id (printable ASCII, 1..64 bytes).  Each is applied once:
 * an in-memory map (vehicle, event_id) -> answer, filled at start by a
 * read-only query of the last 48 hours of driver_events (events that come
 * before it is loaded wait in their connection, at most DRV_MAX_HELD) and
 * by every event since.  A new event is checked against today's plan - it
 * must concern the first stop of the vehicle's plan, in the right state -
 * and then applied to the dispatcher, or refused with nothing changed; the
 * row (with 'ok' or the refusal) is inserted in the same api_commit as the
 * change, and the Ack goes out only once that committed.  The same event_id
 * again gets the stored answer without being applied; while its commit is
 * in flight the new request waits for it.  If the commit fails, the change
 * stays applied in memory (service.c re-queues its part), the row is kept
 * and retried every second, and the Ack follows the retry.  A tablet that
 * forgets "arrived" (or "departed" and "arrived") before "boarded" is taken
 * to be at the stop: the missing moves are made first, after the whole
 * event has been checked, so they never happen for a refused event.
 *
 * Breaks have no booking id; a RouteStop of a break and the events about it
 * name it "break-<n>" (n: the dispatcher's index of the break that day).
 *
 * Positions are kept in memory, the last one per vehicle
 * (api_driver_position); they do not move the plan.
 *
 * Lifetime: api_driver_close closes every connection (1001) and the timers;
 * the state is freed once the last connection, timer and database callback
 * of ours has finished.
 *
 * Cost: a route update is O(stops) to build and one protobuf pack; it is
 * built once per stored plan and sent as the same bytes to each connection
 * of the vehicle.  An event is O(1) plus one commit.  Memory: per vehicle
 * one serialized route; per event about 100 bytes for 48 hours (bounded by
 * DRV_MAX_EVENTS).
 */
#include "api/server/srv_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "data/proto/driver.pb-c.h"

#define DRV_MAX_MSG_BYTES (64 * 1024)
#define DRV_MAX_PENDING_BYTES (4u << 20)
#define DRV_KEEPALIVE_MS 20000
#define DRV_IDLE_MS 65000
#define DRV_CLOSE_WAIT_MS 5000
#define DRV_MAX_CONNS_PER_VEHICLE 4
#define DRV_MAX_ID 64
#define DRV_MAX_HELD 64
/* Limits against a tablet (or a stolen driver token) that floods: events a
 * vehicle may have accepted within DRV_EVENT_KEEP_MS; refusals stored per
 * vehicle (so a re-send after a restart keeps its refusal) up to a bound,
 * past which they are remembered in memory only, in a ring; and a token
 * bucket per vehicle (not per connection: reconnecting gives no credit). */
#define DRV_MAX_EVENTS_PER_VEHICLE 20000
#define DRV_MAX_REFUSED_PER_VEHICLE 256
#define DRV_MAX_REFUSED_STORED_PER_VEHICLE 100
#define DRV_RATE_BURST 100.0
#define DRV_RATE_PER_S 10.0
#define DRV_EVENT_KEEP_MS (48LL * 3600 * 1000)
#define DRV_MAX_WAITERS 4
#define DRV_MAX_RETRY_ROWS 500
#define DRV_SUBPROTOCOL "noriai.driver.v1"
#define DRV_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define DRV_CLOSE_REPLACED 4001
#define DRV_CLOSE_REVOKED 4003

/* ------------------------------------------------------------------------ */
/* The handshake's digest: base64(SHA-1(key + GUID)), RFC 6455 4.2.2         */

/* accept gets 28 characters and a NUL; 0, or -1 when libcrypto fails. */
static int ws_accept_of(const char *key, char accept[29])
{
    char src[128];
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int dg_len = 0;
    int n = snprintf(src, sizeof(src), "%s%s", key, DRV_WS_GUID);

    if (n < 0 || (size_t)n >= sizeof(src) ||
        EVP_Digest(src, (size_t)n, dg, &dg_len, EVP_sha1(), NULL) != 1 || dg_len != 20)
        return -1;
    return EVP_EncodeBlock((unsigned char *)accept, dg, 20) == 28 ? 0 : -1;
}

/* Sec-WebSocket-Key: base64 of 16 bytes, in its one canonical spelling
 * (decoded and encoded again by libcrypto, it must come out the same). */
static int ws_key_valid(const char *key)
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

/* ------------------------------------------------------------------------ */
/* State                                                                    */

typedef struct drv_state drv_state;

typedef struct drv_rider {
    const char *name, *kana, *phone, *needs, *notes; /* in the same block; "" when unknown */
} drv_rider;

/* The last stored route of a vehicle, as the frame payload sent. */
typedef struct drv_route {
    char date[11]; /* "" none */
    uint64_t seq;
    uint64_t sig; /* what a driver sees (see route_sig) */
    uint8_t *bytes;
    size_t len;
} drv_route;

typedef struct drv_vehicle {
    drv_route route;
    int n_events;                                /* accepted, in the event map */
    int n_refused_stored;                        /* refusals stored, in the event map */
    double bucket;                               /* events it may still send now (DRV_RATE_*) */
    uint64_t bucket_ms;
    char *refused[DRV_MAX_REFUSED_PER_VEHICLE]; /* map keys, a ring */
    int refused_next;
    int want_push; /* stored, waiting for rider details */
    int stale;     /* stored since the route was built; nobody connected to see it */
    int has_pos;
    double lat, lon;
    int64_t pos_unix_ms;
} drv_vehicle;

/* What goes into driver_events, kept until stored. */
typedef struct drv_row {
    char vehicle[48], event_id[DRV_MAX_ID + 1], kind[16], booking[DRV_MAX_ID + 1], date[11];
    int64_t unix_ms;
} drv_row;

/* One tablet event, by (vehicle, event_id). */
typedef struct drv_event {
    int veh;     /* vehicle index, -1 for one no longer in the fleet */
    int counted; /* in its vehicle's n_events or n_refused_stored */
    int pending; /* applied (or refused), not yet stored */
    int ok;
    char *error;     /* the refusal (NULL when ok) */
    uint64_t seen_ms; /* loop time, for pruning */
    uint64_t waiters[DRV_MAX_WAITERS]; /* connections waiting for the Ack */
    int n_waiters;
    drv_row *row; /* until stored */
} drv_event;

typedef struct drv_held {
    uint8_t *data;
    size_t len;
} drv_held;

typedef struct drv_conn {
    drv_state *ds;
    struct drv_conn *prev, *next;
    uint64_t id;
    api_http_raw *raw; /* NULL once closing for good */
    wslay_event_context_ptr ws;
    int v;
    char vehicle_id[48];
    char tok_id[40];
    int hello;
    int has_sent; /* the tablet holds route (sent_seq, sent_sig) */
    uint64_t sent_seq, sent_sig;
    uint64_t acked_seq;
    uint64_t opened_ms, last_rx_ms, last_ka_ms, close_ms; /* loop times; close_ms 0 = open */
    const uint8_t *in; /* bytes being fed to wslay */
    size_t in_len, in_off;
    int in_recv; /* inside wslay_event_recv: sending waits */
    drv_held *held;
    int n_held;
} drv_conn;

typedef struct drv_batch {
    drv_state *ds;
    int retry; /* the retry of rows that failed before */
    int n;
    drv_event *ev[];
} drv_batch;

typedef struct drv_fetch {
    drv_state *ds;
    int n;
    char *ids[];
} drv_fetch;

struct drv_state {
    api_svc *s;
    uv_timer_t tick; /* 1 s: keep-alive, idle, retries, pruning, day change */
    uv_timer_t soon; /* one-shot: the event map's load, a commit after a seq bump */
    int timers_open;
    int closing;
    int inflight; /* our database callbacks still to come */
    drv_vehicle *veh;
    int n_veh;
    drv_conn *conns;
    int n_conns;
    uint64_t next_conn_id;
    char today[11];
    /* riders */
    svc_map riders; /* id -> drv_rider */
    char **fetch_ids;
    int n_fetch, cap_fetch;
    int fetch_busy;
    /* events */
    svc_map events; /* vehicle "\n" event_id -> drv_event */
    int events_loaded, load_busy;
    drv_event **unstored;
    int n_unstored, cap_unstored;
    int retry_busy;
    int commit_wanted;
    uint64_t last_prune_ms;
};

static uint64_t loop_ms(const drv_state *ds)
{
    return uv_now(ds->s->loop);
}

static int64_t unix_ms_now(const drv_state *ds)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + ds->s->cfg.clock_shift_s) * 1000 + ts.tv_nsec / 1000000;
}

/* Today's service day, or NULL; also notes the date in ds->today. */
static svc_day *today_day(drv_state *ds)
{
    char date[11];

    svc_today(ds->s->core, date);
    return svc_day_get(ds->s->core, date, 0);
}

static void maybe_free_state(drv_state *ds);

/* ------------------------------------------------------------------------ */
/* Sending                                                                  */

static void conn_flush(drv_conn *c);

/* Closes the WebSocket with code and reason (once); frames that come after
 * are ignored. */
static void conn_close(drv_conn *c, uint16_t code, const char *reason)
{
    if (c->raw == NULL || c->close_ms != 0)
        return;
    c->close_ms = loop_ms(c->ds);
    if (wslay_event_queue_close(c->ws, code, (const uint8_t *)reason, strlen(reason)) != 0) {
        api_http_raw_close(c->raw);
        c->raw = NULL;
        return;
    }
    conn_flush(c);
}

/* Drops the connection without a close handshake (it cannot take one). */
static void conn_drop(drv_conn *c)
{
    if (c->raw == NULL)
        return;
    wslay_event_shutdown_write(c->ws);
    wslay_event_shutdown_read(c->ws);
    api_http_raw_close(c->raw);
    c->raw = NULL;
    if (c->close_ms == 0)
        c->close_ms = loop_ms(c->ds);
}

static void conn_flush(drv_conn *c)
{
    if (c->raw == NULL || c->in_recv)
        return;
    if (wslay_event_send(c->ws) != 0) {
        conn_drop(c);
        return;
    }
    if (c->raw == NULL)
        return;
    if (api_http_raw_pending(c->raw) > DRV_MAX_PENDING_BYTES) {
        api_log(API_LOG_WARN, "driver tablet not reading; connection dropped",
                "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id, (unsigned long long)c->id);
        conn_drop(c);
        return;
    }
    /* Both close frames exchanged (or reading over): the TCP connection goes. */
    if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws)) {
        api_http_raw_close(c->raw);
        c->raw = NULL;
    }
}

static void conn_send_bytes(drv_conn *c, const uint8_t *data, size_t len)
{
    struct wslay_event_msg m = {WSLAY_BINARY_FRAME, data, len};

    if (c->raw == NULL || c->close_ms != 0)
        return;
    if (wslay_event_queue_msg(c->ws, &m) != 0) {
        conn_drop(c);
        return;
    }
    conn_flush(c);
}

static void conn_send(drv_conn *c, const Noriai__Driver__ServerMessage *m)
{
    size_t len = noriai__driver__server_message__get_packed_size(m);
    uint8_t stack[512], *buf = len <= sizeof(stack) ? stack : malloc(len);

    if (buf == NULL) {
        conn_drop(c);
        return;
    }
    noriai__driver__server_message__pack(m, buf);
    conn_send_bytes(c, buf, len);
    if (buf != stack)
        free(buf);
}

static void send_ack(drv_conn *c, const char *event_id, int ok, const char *error)
{
    Noriai__Driver__ServerMessage m = NORIAI__DRIVER__SERVER_MESSAGE__INIT;
    Noriai__Driver__Ack a = NORIAI__DRIVER__ACK__INIT;

    a.event_id = (char *)event_id;
    a.ok = ok != 0;
    a.error = (char *)(error != NULL ? error : "");
    m.msg_case = NORIAI__DRIVER__SERVER_MESSAGE__MSG_ACK;
    m.ack = &a;
    conn_send(c, &m);
}

static void send_keepalive(drv_conn *c)
{
    Noriai__Driver__ServerMessage m = NORIAI__DRIVER__SERVER_MESSAGE__INIT;
    Noriai__Driver__KeepAlive k = NORIAI__DRIVER__KEEP_ALIVE__INIT;
    struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};

    k.unix_ms = unix_ms_now(c->ds);
    m.msg_case = NORIAI__DRIVER__SERVER_MESSAGE__MSG_KEEPALIVE;
    m.keepalive = &k;
    if (c->raw != NULL && c->close_ms == 0 && wslay_event_queue_msg(c->ws, &ping) != 0)
        conn_drop(c);
    conn_send(c, &m);
}

static drv_conn *conn_by_id(drv_state *ds, uint64_t id)
{
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Riders' details                                                          */

static const drv_rider no_rider = {"", "", "", "", ""};

static int rider_put(drv_state *ds, const char *id, const char *const vals[5])
{
    size_t len[5], total = sizeof(drv_rider);
    drv_rider *r;
    char *p;
    const char **dst[5];

    for (int i = 0; i < 5; i++) {
        len[i] = vals[i] != NULL ? strlen(vals[i]) : 0;
        total += len[i] + 1;
    }
    if ((r = malloc(total)) == NULL)
        return -1;
    p = (char *)(r + 1);
    dst[0] = &r->name;
    dst[1] = &r->kana;
    dst[2] = &r->phone;
    dst[3] = &r->needs;
    dst[4] = &r->notes;
    for (int i = 0; i < 5; i++) {
        if (len[i] > 0)
            memcpy(p, vals[i], len[i]);
        p[len[i]] = '\0';
        *dst[i] = p;
        p += len[i] + 1;
    }
    free(svc_map_get(&ds->riders, id));
    if (svc_map_put(&ds->riders, id, r) < 0) {
        free(r);
        svc_map_del(&ds->riders, id);
        return -1;
    }
    return 0;
}

/* Notes a rider id to fetch (once). */
static void rider_want(drv_state *ds, const char *id)
{
    for (int i = 0; i < ds->n_fetch; i++)
        if (strcmp(ds->fetch_ids[i], id) == 0)
            return;
    if (ds->n_fetch == ds->cap_fetch) {
        int cap = ds->cap_fetch ? 2 * ds->cap_fetch : 16;
        char **n = realloc(ds->fetch_ids, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return;
        ds->fetch_ids = n;
        ds->cap_fetch = cap;
    }
    if ((ds->fetch_ids[ds->n_fetch] = strdup(id)) != NULL)
        ds->n_fetch++;
}

static void push_route(drv_state *ds, svc_day *d, int v, int allow_missing);

/* Routes waiting for riders: built again (fetching what is still missing,
 * or without the details when that cannot be had). */
static void push_waiting(drv_state *ds, int allow_missing)
{
    svc_day *d = today_day(ds);

    for (int v = 0; v < ds->n_veh; v++) {
        if (!ds->veh[v].want_push)
            continue;
        if (d == NULL)
            ds->veh[v].want_push = 0;
        else
            push_route(ds, d, v, allow_missing);
    }
}

static void riders_got(void *ud, int rc, const store_rider_row *rows, int n)
{
    drv_fetch *f = ud;
    drv_state *ds = f->ds;

    ds->inflight--;
    ds->fetch_busy = 0;
    if (rc == 0) {
        for (int i = 0; i < n; i++) {
            const char *vals[5] = {rows[i].name, rows[i].name_kana, rows[i].phone,
                                   rows[i].mobility, rows[i].notes};
            rider_put(ds, rows[i].id, vals);
        }
        /* Not in the table: remembered as unknown, not asked again. */
        for (int i = 0; i < f->n; i++)
            if (svc_map_get(&ds->riders, f->ids[i]) == NULL)
                rider_put(ds, f->ids[i], (const char *const[5]){NULL, NULL, NULL, NULL, NULL});
    } else {
        api_log(API_LOG_WARN, "driver channel: rider details not read; routes sent without them",
                "\"error\":\"%s\"", db_strerror(rc));
    }
    for (int i = 0; i < f->n; i++)
        free(f->ids[i]);
    free(f);
    if (ds->closing) {
        maybe_free_state(ds);
        return;
    }
    push_waiting(ds, rc != 0);
}

/* Starts the read of the ids noted; 0 started (or nothing to do), -1 not
 * possible now. */
static int riders_fetch(drv_state *ds)
{
    store st = api_store(ds->s);
    drv_fetch *f;

    if (ds->fetch_busy || ds->n_fetch == 0)
        return 0;
    if (!api_store_ready(ds->s))
        return -1;
    f = malloc(sizeof(*f) + (size_t)ds->n_fetch * sizeof(char *));
    if (f == NULL)
        return -1;
    f->ds = ds;
    f->n = ds->n_fetch;
    memcpy(f->ids, ds->fetch_ids, (size_t)ds->n_fetch * sizeof(char *));
    ds->n_fetch = 0;
    ds->fetch_busy = 1;
    ds->inflight++;
    st.ops->riders_get(st.ctx, (const char *const *)f->ids, f->n, riders_got, f);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Route updates                                                            */

static uint64_t fnv_add(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv_add(h, s, strlen(s) + 1);
}

static uint64_t fnv_int(uint64_t h, int64_t x)
{
    return fnv_add(h, &x, sizeof(x));
}

/* What a driver sees of a stop: planned times to the minute. */
static uint64_t stop_sig(uint64_t h, const Noriai__Driver__RouteStop *st)
{
    const Noriai__Driver__StopRider *r = st->rider;

    h = fnv_int(h, st->kind);
    h = fnv_str(h, st->booking_id);
    h = fnv_str(h, st->stop_id);
    h = fnv_int(h, st->planned_s / 60);
    h = fnv_int(h, st->window_from_s);
    h = fnv_int(h, st->window_to_s);
    h = fnv_int(h, st->committed);
    if (r != NULL) {
        h = fnv_int(h, r->passengers);
        h = fnv_int(h, r->wheelchairs);
        h = fnv_str(h, r->name);
        h = fnv_str(h, r->name_kana);
        h = fnv_str(h, r->needs);
        h = fnv_str(h, r->notes);
        h = fnv_str(h, r->phone);
    }
    return h;
}

typedef struct stop_buf {
    Noriai__Driver__RouteStop st;
    Noriai__Driver__StopRider rider;
    char bid[24];
    char notes[1024 + 3 + 2048]; /* booking notes / rider notes */
} stop_buf;

static const char *place_stop_id(const api_svc *s, const dsp_place *p)
{
    return p->stop >= 0 && p->stop < s->area->n_stops ? s->area->stops[p->stop].id : "";
}

static const char *place_stop_name(const api_svc *s, const dsp_place *p)
{
    const char *n =
        p->stop >= 0 && p->stop < s->area->n_stops ? s->area->stops[p->stop].name : NULL;
    return n != NULL ? n : "";
}

/*
 * The route of (d, v) now, packed as a ServerMessage into out (bytes
 * malloc'd).  Returns 0, 1 when a rider's details are not cached (noted
 * for fetching; nothing built unless allow_missing), -1 on no memory.
 */
static int build_route(drv_state *ds, svc_day *d, int v, int allow_missing, drv_route *out)
{
    api_svc *s = ds->s;
    Noriai__Driver__ServerMessage m = NORIAI__DRIVER__SERVER_MESSAGE__INIT;
    Noriai__Driver__RouteUpdate ru = NORIAI__DRIVER__ROUTE_UPDATE__INIT;
    Noriai__Driver__RouteStop **ptrs = NULL;
    dsp_plan_stop *stops = NULL;
    stop_buf *bufs = NULL;
    dsp_vehicle_info vi;
    int n, n_vis = 0, missing = 0, rc = -1;
    uint64_t sig = 1469598103934665603ULL;

    memset(out, 0, sizeof(*out));
    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return -1;
    n = vi.n_stops;
    if (n > 0) {
        stops = malloc((size_t)n * sizeof(*stops));
        bufs = calloc((size_t)n, sizeof(*bufs));
        ptrs = malloc((size_t)n * sizeof(*ptrs));
        if (stops == NULL || bufs == NULL || ptrs == NULL)
            goto out;
        n = dsp_plan_get(d->dsp, v, stops, n);
    }
    for (int k = 0; k < n; k++) {
        const dsp_plan_stop *p = &stops[k];
        const svc_bk *b = p->booking < d->cap_idx ? d->by_idx[p->booking] : NULL;
        stop_buf *sb = &bufs[n_vis];
        dsp_booking_info bi;

        if (dsp_booking_get(d->dsp, p->booking, &bi) < 0)
            continue;
        /* An offer is not the driver's business until confirmed, unless
         * the van is already driving there. */
        if (!bi.is_break && bi.status == DSP_OFFERED && !p->committed)
            continue;
        noriai__driver__route_stop__init(&sb->st);
        sb->st.kind = p->kind == DSP_STOP_PICKUP ? NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP
                      : p->kind == DSP_STOP_DROP ? NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF
                                                 : NORIAI__DRIVER__ROUTE_STOP__KIND__BREAK;
        if (bi.is_break || b == NULL)
            snprintf(sb->bid, sizeof(sb->bid), "break-%lld", (long long)p->booking);
        else
            snprintf(sb->bid, sizeof(sb->bid), "%s", b->id);
        sb->st.booking_id = sb->bid;
        sb->st.stop_id = (char *)place_stop_id(s, &p->place);
        sb->st.stop_name = (char *)place_stop_name(s, &p->place);
        sb->st.lat = p->place.lat;
        sb->st.lon = p->place.lon;
        sb->st.planned_s = p->planned_s;
        if (p->kind == DSP_STOP_PICKUP && bi.promise_from_s >= 0) {
            sb->st.window_from_s = bi.promise_from_s;
            sb->st.window_to_s = bi.promise_to_s;
        }
        sb->st.service_s = p->service_s;
        sb->st.committed = p->committed != 0;
        if (b != NULL && !bi.is_break) {
            const drv_rider *r = &no_rider;
            if (b->rider_id[0]) {
                const drv_rider *c = svc_map_get(&ds->riders, b->rider_id);
                if (c != NULL) {
                    r = c;
                } else {
                    missing = 1;
                    rider_want(ds, b->rider_id);
                }
            }
            noriai__driver__stop_rider__init(&sb->rider);
            sb->rider.booking_id = (char *)b->id;
            sb->rider.rider_id = (char *)b->rider_id;
            sb->rider.name = (char *)r->name;
            sb->rider.name_kana = (char *)r->kana;
            sb->rider.passengers = (uint32_t)(bi.passengers > 0 ? bi.passengers : 0);
            sb->rider.wheelchairs = (uint32_t)(bi.wheelchairs > 0 ? bi.wheelchairs : 0);
            sb->rider.needs = (char *)r->needs;
            char both[sizeof(sb->notes)];
            snprintf(both, sizeof(both), "%s%s%.2047s", b->notes,
                     b->notes[0] && r->notes[0] ? " / " : "", r->notes);
            svc_text_copy(sb->notes, sizeof(sb->notes), both);
            sb->rider.notes = sb->notes;
            sb->rider.phone = (char *)r->phone;
            sb->st.rider = &sb->rider;
        }
        sig = stop_sig(sig, &sb->st);
        ptrs[n_vis] = &sb->st;
        n_vis++;
    }
    if (missing && !allow_missing) {
        rc = 1;
        goto out;
    }
    ru.vehicle_id = (char *)svc_vehicle_id(s->core, v);
    ru.service_date = d->date;
    ru.seq = (uint64_t)(d->seq_base[v] + vi.version);
    ru.n_stops = (size_t)n_vis;
    ru.stops = ptrs;
    ru.generated_s = svc_day_now(s->core, d);
    m.msg_case = NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE;
    m.route = &ru;
    out->len = noriai__driver__server_message__get_packed_size(&m);
    if ((out->bytes = malloc(out->len > 0 ? out->len : 1)) == NULL)
        goto out;
    noriai__driver__server_message__pack(&m, out->bytes);
    snprintf(out->date, sizeof(out->date), "%s", d->date);
    out->seq = ru.seq;
    out->sig = fnv_int(sig, n_vis);
    rc = missing ? 1 : 0;
out:
    free(stops);
    free(bufs);
    free(ptrs);
    return rc;
}

/* Sends v's route to the connection unless it holds that seq, or one
 * that looks the same to the driver. */
static void route_deliver(drv_state *ds, drv_conn *c)
{
    const drv_route *r = &ds->veh[c->v].route;

    if (!c->hello || r->bytes == NULL ||
        (c->has_sent && (c->sent_seq == r->seq || c->sent_sig == r->sig)))
        return;
    conn_send_bytes(c, r->bytes, r->len);
    c->has_sent = 1;
    c->sent_seq = r->seq;
    c->sent_sig = r->sig;
}

/*
 * The stored plan of (d, v) becomes the vehicle's route and goes to its
 * tablets.  Skipped while the plan has changed since it was stored (the
 * next commit calls again).
 */
static void push_route(drv_state *ds, svc_day *d, int v, int allow_missing)
{
    drv_vehicle *x = &ds->veh[v];
    drv_route r;
    int rc, seen = 0;

    if (d->plan_dirty[v])
        return;
    for (drv_conn *c = ds->conns; c != NULL && !seen; c = c->next)
        seen = c->v == v && c->raw != NULL;
    if (!seen) {
        /* Built when a tablet of v says Hello. */
        x->stale = 1;
        x->want_push = 0;
        return;
    }
    rc = build_route(ds, d, v, allow_missing, &r);
    if (rc < 0) {
        api_log(API_LOG_ERROR, "driver channel: out of memory building a route",
                "\"vehicle\":\"%s\"", svc_vehicle_id(ds->s->core, v));
        return;
    }
    if (rc == 1 && r.bytes == NULL) {
        x->want_push = 1;
        if (riders_fetch(ds) < 0)
            push_route(ds, d, v, 1);
        return;
    }
    x->want_push = 0;
    x->stale = 0;
    free(x->route.bytes);
    x->route = r;
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        if (c->v == v)
            route_deliver(ds, c);
}

/* ------------------------------------------------------------------------ */
/* Tablet events                                                            */

static int same_place(const dsp_place *a, const dsp_place *b)
{
    if (a->stop >= 0 || b->stop >= 0)
        return a->stop == b->stop;
    return a->lat == b->lat && a->lon == b->lon;
}

/* Ids from tablets: printable ASCII without spaces, 1..DRV_MAX_ID bytes. */
static int id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > DRV_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

typedef struct ev_ctx {
    drv_state *ds;
    svc_day *d;
    int v;
    int now;
    dsp_vehicle_info vi;
    int n_plan;
    dsp_plan_stop first;
    char *err;
    size_t err_len;
} ev_ctx;

static int refuse(ev_ctx *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(ev_ctx *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->err, e->err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* The booking (or break "break-N") named by a tablet, on this vehicle. */
static int resolve(ev_ctx *e, const char *id, int want_break, int64_t *idx, dsp_booking_info *bi)
{
    api_svc *s = e->ds->s;
    const char *vid = svc_vehicle_id(s->core, e->v);

    if (strncmp(id, "break-", 6) == 0) {
        char *end;
        long long k = strtoll(id + 6, &end, 10);
        if (id[6] < '0' || id[6] > '9' || *end != '\0' || k < 0 ||
            k >= dsp_n_bookings(e->d->dsp) || dsp_booking_get(e->d->dsp, k, bi) < 0 ||
            !bi->is_break)
            return refuse(e, "no break \"%s\" today", id);
        *idx = k;
    } else {
        svc_bk *b = svc_map_get(&s->core->bookings, id);
        if (b == NULL)
            return refuse(e, "no booking \"%s\" in service", id);
        if (&s->core->days[b->day] != e->d)
            return refuse(e, "booking %s is not for today", id);
        if (dsp_booking_get(e->d->dsp, b->idx, bi) < 0)
            return refuse(e, "no booking \"%s\" in service", id);
        *idx = b->idx;
    }
    if (bi->vehicle != e->v)
        return refuse(e, "%s is not on %s", id, vid);
    if (want_break && !bi->is_break)
        return refuse(e, "%s is a booking, not a break", id);
    if (!want_break && bi->is_break)
        return refuse(e, "%s is a break, not a booking", id);
    return 0;
}

/* Is the first stop of the plan (idx, kind)?  Refuses with the reason. */
static int first_is(ev_ctx *e, const char *id, int64_t idx, dsp_stop_kind kind)
{
    static const char *const what[] = {"pickup", "drop-off", "break"};

    if (e->n_plan == 0)
        return refuse(e, "%s has no stop left in its plan", svc_vehicle_id(e->ds->s->core, e->v));
    if (e->first.booking != idx || e->first.kind != kind)
        return refuse(e, "the %s of %s is not the next stop of %s", what[kind], id,
                      svc_vehicle_id(e->ds->s->core, e->v));
    return 0;
}

/* After everything was checked: the van to the first stop of its plan, as
 * if "departed" and "arrived" had been reported where they were not. */
static int reach_first(ev_ctx *e)
{
    int rc;

    if (e->vi.en_route) {
        if (!same_place(&e->vi.place, &e->first.place)) {
            /* The stop it drove to was withdrawn meanwhile (a cancellation):
             * it got there, then went on to the plan's first stop. */
            if ((rc = dsp_vehicle_arrive(e->d->dsp, e->now, e->v)) < 0 ||
                (rc = dsp_vehicle_depart(e->d->dsp, e->now, e->v)) < 0)
                return rc;
        }
        return dsp_vehicle_arrive(e->d->dsp, e->now, e->v);
    }
    if (same_place(&e->vi.place, &e->first.place))
        return 0;
    if ((rc = dsp_vehicle_depart(e->d->dsp, e->now, e->v)) < 0)
        return rc;
    return dsp_vehicle_arrive(e->d->dsp, e->now, e->v);
}

static int check_stop_id(ev_ctx *e, const char *stop_id, const dsp_place *p)
{
    api_svc *s = e->ds->s;

    if (stop_id[0] && p->stop >= 0 && strcmp(stop_id, place_stop_id(s, p)) != 0)
        return refuse(e, "%s is at or bound for %s, not %s", svc_vehicle_id(s->core, e->v),
                      place_stop_id(s, p), stop_id);
    return 0;
}

/* Finds the break of v under way (picked up, not ended). */
static int64_t break_under_way(ev_ctx *e)
{
    int64_t n = dsp_n_bookings(e->d->dsp);
    dsp_booking_info bi;

    for (int64_t k = 0; k < n; k++)
        if (dsp_booking_get(e->d->dsp, k, &bi) == 0 && bi.is_break && bi.vehicle == e->v &&
            bi.status == DSP_PICKED_UP)
            return k;
    return -1;
}

/*
 * Applies a tablet event to today's dispatcher day: 0 applied, -1 refused
 * with e->err (nothing changed).  *booking: the id it named, for the row.
 */
static int apply_event(drv_conn *c, const Noriai__Driver__TabletMessage *m, ev_ctx *e,
                       char booking[DRV_MAX_ID + 1])
{
    drv_state *ds = c->ds;
    api_svc *s = ds->s;
    const char *bid = "", *vid = svc_vehicle_id(s->core, c->v);
    dsp_booking_info bi;
    int64_t idx = -1;
    int rc = 0;

    switch (m->msg_case) {
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED: {
        const Noriai__Driver__StopEvent *se =
            m->msg_case == NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED ? m->arrived : m->departed;
        bid = se->booking_id;
        if ((bid[0] && !id_ok(bid)) || (se->stop_id[0] && !id_ok(se->stop_id)))
            return refuse(e, "booking_id and stop_id must be printable ids of at most %d bytes",
                          DRV_MAX_ID);
        break;
    }
    default: {
        const Noriai__Driver__RiderEvent *re = m->boarded; /* every rider event has this shape */
        bid = re != NULL ? re->booking_id : "";
        if (bid[0] && !id_ok(bid))
            return refuse(e, "booking_id must be a printable id of at most %d bytes", DRV_MAX_ID);
        break;
    }
    }
    snprintf(booking, DRV_MAX_ID + 1, "%s", bid);
    if ((e->d = today_day(ds)) == NULL)
        return refuse(e, "no service day is open today");
    e->now = svc_day_now(s->core, e->d);
    if (dsp_vehicle_get(e->d->dsp, c->v, &e->vi) < 0)
        return refuse(e, "%s is not in today's fleet", vid);
    if (!e->vi.in_service)
        return refuse(e, "%s is out of service", vid);
    e->n_plan = dsp_plan_get(e->d->dsp, c->v, &e->first, 1);
    snprintf(s->core->actor, sizeof(s->core->actor), "%s", c->tok_id);

    switch (m->msg_case) {
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED: {
        /* Its stop was withdrawn while it drove there: it is at that place
         * now and leaves it for the plan's first stop.  Every check comes
         * before any move, so a refused event changes nothing. */
        int withdrawn = e->vi.en_route && e->n_plan > 0 &&
                        !same_place(&e->vi.place, &e->first.place) && !bid[0];
        if (e->vi.en_route && !withdrawn)
            return refuse(e, "%s is already on its way to its next stop", vid);
        if (e->n_plan == 0)
            return refuse(e, "%s has no stop to drive to", vid);
        if (check_stop_id(e, m->departed->stop_id, &e->vi.place) < 0)
            return -1;
        if (bid[0] && resolve(e, bid, strncmp(bid, "break-", 6) == 0, &idx, &bi) < 0)
            return -1;
        if (withdrawn && (rc = dsp_vehicle_arrive(e->d->dsp, e->now, c->v)) < 0)
            break;
        rc = dsp_vehicle_depart(e->d->dsp, e->now, c->v);
        break;
    }
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED:
        if (e->n_plan == 0)
            return refuse(e, "%s has no stop to arrive at", vid);
        if (bid[0] && resolve(e, bid, strncmp(bid, "break-", 6) == 0, &idx, &bi) < 0)
            return -1;
        if (bid[0] && e->first.booking != idx)
            return refuse(e, "%s is not the next stop of %s", bid, vid);
        if (check_stop_id(e, m->arrived->stop_id, &e->first.place) < 0)
            return -1;
        rc = reach_first(e);
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_NO_SHOW:
        if (!bid[0])
            return refuse(e, "booking_id is required");
        if (resolve(e, bid, 0, &idx, &bi) < 0)
            return -1;
        if (bi.status != DSP_CONFIRMED && bi.status != DSP_ASSIGNED)
            return refuse(e, "booking %s is %s; only a confirmed or assigned rider can %s", bid,
                          dsp_status_name(bi.status),
                          m->msg_case == NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED
                              ? "board"
                              : "be a no-show");
        if (first_is(e, bid, idx, DSP_STOP_PICKUP) < 0)
            return -1;
        if ((rc = reach_first(e)) < 0)
            break;
        rc = m->msg_case == NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED
                 ? dsp_rider_boarded(e->d->dsp, e->now, c->v, idx)
                 : dsp_rider_no_show(e->d->dsp, e->now, c->v, idx);
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED:
        if (!bid[0])
            return refuse(e, "booking_id is required");
        if (resolve(e, bid, 0, &idx, &bi) < 0)
            return -1;
        if (bi.status != DSP_PICKED_UP)
            return refuse(e, "booking %s is %s; only a rider on board can alight", bid,
                          dsp_status_name(bi.status));
        if (first_is(e, bid, idx, DSP_STOP_DROP) < 0)
            return -1;
        if ((rc = reach_first(e)) < 0)
            break;
        rc = dsp_rider_alighted(e->d->dsp, e->now, c->v, idx);
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_START:
        if (!bid[0]) {
            if (e->n_plan == 0 || e->first.kind != DSP_STOP_BREAK)
                return refuse(e, "the next stop of %s is no break", vid);
            idx = e->first.booking;
            snprintf(booking, DRV_MAX_ID + 1, "break-%lld", (long long)idx);
            bid = booking;
        } else if (resolve(e, bid, 1, &idx, &bi) < 0) {
            return -1;
        }
        if (first_is(e, bid, idx, DSP_STOP_BREAK) < 0)
            return -1;
        if ((rc = reach_first(e)) < 0)
            break;
        rc = dsp_break_start(e->d->dsp, e->now, c->v, idx);
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_END:
        if (!bid[0]) {
            if ((idx = break_under_way(e)) < 0)
                return refuse(e, "%s has no break under way", vid);
            snprintf(booking, DRV_MAX_ID + 1, "break-%lld", (long long)idx);
        } else if (resolve(e, bid, 1, &idx, &bi) < 0) {
            return -1;
        } else if (bi.status != DSP_PICKED_UP) {
            return refuse(e, "break %s is not under way", bid);
        }
        rc = dsp_break_end(e->d->dsp, e->now, c->v, idx);
        break;
    default:
        return refuse(e, "not an event");
    }
    if (rc == -1 && e->err[0])
        return -1; /* refused by a check above */
    if (rc < 0)
        return refuse(e, "%s refused it: %s", vid, dsp_strerror(rc));
    return 0;
}

static const char *event_kind(int msg_case)
{
    switch (msg_case) {
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED:
        return "arrived";
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED:
        return "departed";
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED:
        return "boarded";
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED:
        return "alighted";
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_NO_SHOW:
        return "no_show";
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_START:
        return "break_start";
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_END:
        return "break_end";
    default:
        return NULL;
    }
}

/* When even the refusal's text could not be kept. */
static const char refused_text[] = "refused";

static void event_free(drv_event *ev)
{
    if (ev->error != refused_text)
        free(ev->error);
    free(ev->row);
    free(ev);
}

/* Stored: the Ack to whoever waits for it. */
static void event_resolved(drv_state *ds, drv_event *ev)
{
    for (int i = 0; i < ev->n_waiters && ev->row != NULL; i++) {
        drv_conn *c = conn_by_id(ds, ev->waiters[i]);
        if (c != NULL)
            send_ack(c, ev->row->event_id, ev->ok, ev->error);
    }
    ev->n_waiters = 0;
    ev->pending = 0;
    free(ev->row);
    ev->row = NULL;
}

static void unstored_add(drv_state *ds, drv_event *ev)
{
    if (ds->n_unstored == ds->cap_unstored) {
        int cap = ds->cap_unstored ? 2 * ds->cap_unstored : 16;
        drv_event **n = realloc(ds->unstored, (size_t)cap * sizeof(*n));
        if (n == NULL) {
            /* The row is lost; the event stays answered from memory. */
            api_log(API_LOG_ERROR, "driver channel: out of memory keeping an event to store",
                    NULL);
            ev->pending = 0;
            free(ev->row);
            ev->row = NULL;
            return;
        }
        ds->unstored = n;
        ds->cap_unstored = cap;
    }
    ds->unstored[ds->n_unstored++] = ev;
}

static void rows_committed(void *ud, int rc)
{
    drv_batch *b = ud;
    drv_state *ds = b->ds;

    ds->inflight--;
    if (b->retry)
        ds->retry_busy = 0;
    /* A retried row the database refuses for good (not a lost
     * connection) is given up: the change it answered for is stored by
     * the service layer's own commits, and the tablet must not wait forever. */
    if (rc < 0 && b->retry && rc != DB_EUNAVAIL && rc != DB_EUNKNOWN && rc != DB_ECLOSED &&
        rc != DB_ENOMEM) {
        api_log(API_LOG_ERROR, "driver events could not be stored; answered anyway",
                "\"events\":%d,\"error\":\"%s\"", b->n, db_strerror(rc));
        rc = 0;
    } else if (rc < 0) {
        api_log(API_LOG_WARN, "driver events not stored yet; retrying",
                "\"events\":%d,\"error\":\"%s\"", b->n, db_strerror(rc));
    }
    for (int i = 0; i < b->n; i++) {
        if (rc == 0)
            event_resolved(ds, b->ev[i]);
        else
            unstored_add(ds, b->ev[i]);
    }
    free(b);
    if (ds->closing)
        maybe_free_state(ds);
}

/*
 * Stores the rows of evs with everything the service layer has queued (the
 * change the events made), in one transaction; the Acks follow the commit.
 * A retry goes alone: the service layer has re-queued its part of the
 * failed commit, and a row that cannot be stored must not hold up anything
 * else.
 */
static void store_events(drv_state *ds, drv_event **evs, int n, int retry)
{
    store st = api_store(ds->s);
    drv_batch *b = malloc(sizeof(*b) + (size_t)n * sizeof(drv_event *));
    store_txn *t = st.ops->txn_new(st.ctx);
    int rc = 0;

    if (b == NULL || t == NULL) {
        free(b);
        if (t != NULL)
            st.ops->txn_free(t);
        for (int i = 0; i < n; i++)
            unstored_add(ds, evs[i]);
        return;
    }
    b->ds = ds;
    b->retry = retry;
    b->n = n;
    for (int i = 0; i < n && rc == 0; i++) {
        const drv_row *r = evs[i]->row;
        store_driver_event_row row = {.vehicle_id = r->vehicle,
                                      .event_id = r->event_id,
                                      .kind = r->kind,
                                      .booking_id = r->booking,
                                      .date = r->date,
                                      .unix_ms = r->unix_ms,
                                      .result = evs[i]->ok ? "ok" : evs[i]->error};
        b->ev[i] = evs[i];
        rc = st.ops->put_driver_event(t, &row);
    }
    if (rc < 0) {
        st.ops->txn_free(t);
        for (int i = 0; i < n; i++)
            unstored_add(ds, evs[i]);
        free(b);
        return;
    }
    ds->inflight++;
    if (retry) {
        ds->retry_busy = 1;
        st.ops->txn_submit(t, rows_committed, b);
        return;
    }
    svc_commit(ds->s->core, t, rows_committed, b);
}

/* Stored rows that failed before: again, all in one transaction. */
static void retry_unstored(drv_state *ds)
{
    int n = ds->n_unstored < DRV_MAX_RETRY_ROWS ? ds->n_unstored : DRV_MAX_RETRY_ROWS;
    drv_event **evs;

    if (n == 0 || ds->retry_busy || !api_store_ready(ds->s))
        return;
    if ((evs = malloc((size_t)n * sizeof(*evs))) == NULL)
        return;
    memcpy(evs, ds->unstored, (size_t)n * sizeof(*evs));
    memmove(ds->unstored, ds->unstored + n, (size_t)(ds->n_unstored - n) * sizeof(*evs));
    ds->n_unstored -= n;
    store_events(ds, evs, n, 1);
    free(evs);
}

/* Remembers refused event ev under key in vehicle v's ring; the oldest
 * refusal is forgotten when the ring is full. */
static void refused_keep(drv_state *ds, int v, const char *key, drv_event *ev)
{
    drv_vehicle *x = &ds->veh[v];
    char **slot = &x->refused[x->refused_next];

    x->refused_next = (x->refused_next + 1) % DRV_MAX_REFUSED_PER_VEHICLE;
    if (*slot != NULL) {
        drv_event *old = svc_map_get(&ds->events, *slot);
        if (old != NULL && !old->ok && !old->pending && !old->counted) {
            svc_map_del(&ds->events, *slot);
            event_free(old);
        }
        free(*slot);
    }
    if ((*slot = strdup(key)) == NULL) {
        /* Not remembered at all: a re-send is judged again. */
        svc_map_del(&ds->events, key);
        event_free(ev);
    }
}

/* Token bucket of connection c's vehicle: 1 when it may send one more
 * event now. */
static int rate_ok(drv_conn *c)
{
    drv_vehicle *x = &c->ds->veh[c->v];
    uint64_t now = loop_ms(c->ds);

    if (x->bucket_ms == 0)
        x->bucket = DRV_RATE_BURST;
    else
        x->bucket += (double)(now - x->bucket_ms) / 1000.0 * DRV_RATE_PER_S;
    if (x->bucket > DRV_RATE_BURST)
        x->bucket = DRV_RATE_BURST;
    x->bucket_ms = now > 0 ? now : 1;
    if (x->bucket < 1.0)
        return 0;
    x->bucket -= 1.0;
    return 1;
}

/* A tablet event: answered from memory when known, else applied (or
 * refused) and stored, then acknowledged. */
static void event_handle(drv_conn *c, const Noriai__Driver__TabletMessage *m)
{
    drv_state *ds = c->ds;
    const char *kind = event_kind(m->msg_case);
    char key[sizeof(c->vehicle_id) + DRV_MAX_ID + 2], err[300] = "";
    drv_event *ev;
    ev_ctx e;
    int rc;

    if (!id_ok(m->event_id)) {
        send_ack(c, "", 0,
                 "event_id is required: printable ASCII, 1 to 64 bytes, no spaces");
        return;
    }
    if (!rate_ok(c)) {
        api_log(API_LOG_WARN, "driver tablet sends events too fast; closed",
                "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id, (unsigned long long)c->id);
        conn_close(c, WSLAY_CODE_POLICY_VIOLATION, "too many events; slow down");
        return;
    }
    snprintf(key, sizeof(key), "%s\n%s", c->vehicle_id, m->event_id);
    if ((ev = svc_map_get(&ds->events, key)) != NULL) {
        if (!ev->pending) {
            send_ack(c, m->event_id, ev->ok, ev->error);
        } else {
            int known = 0;
            for (int i = 0; i < ev->n_waiters; i++)
                known |= ev->waiters[i] == c->id;
            if (!known && ev->n_waiters < DRV_MAX_WAITERS)
                ev->waiters[ev->n_waiters++] = c->id;
        }
        return;
    }
    if (ds->veh[c->v].n_events >= DRV_MAX_EVENTS_PER_VEHICLE) {
        send_ack(c, m->event_id, 0, "too many events from this vehicle today; call the office");
        return;
    }
    if ((ev = calloc(1, sizeof(*ev))) == NULL || (ev->row = calloc(1, sizeof(*ev->row))) == NULL ||
        svc_map_put(&ds->events, key, ev) < 0) {
        if (ev != NULL)
            free(ev->row);
        free(ev);
        send_ack(c, m->event_id, 0, "the server is out of memory; send it again later");
        return;
    }
    ev->veh = c->v;
    memset(&e, 0, sizeof(e));
    e.ds = ds;
    e.v = c->v;
    e.err = err;
    e.err_len = sizeof(err);
    rc = apply_event(c, m, &e, ev->row->booking);
    ev->pending = 1;
    ev->ok = rc == 0;
    ev->seen_ms = loop_ms(ds);
    if (rc < 0 && (ev->error = strdup(err[0] ? err : "refused")) == NULL)
        ev->error = (char *)refused_text;
    ev->waiters[ev->n_waiters++] = c->id;
    snprintf(ev->row->vehicle, sizeof(ev->row->vehicle), "%s", c->vehicle_id);
    snprintf(ev->row->event_id, sizeof(ev->row->event_id), "%s", m->event_id);
    snprintf(ev->row->kind, sizeof(ev->row->kind), "%s", kind);
    snprintf(ev->row->date, sizeof(ev->row->date), "%s", e.d != NULL ? e.d->date : ds->today);
    ev->row->unix_ms = m->unix_ms > 0 ? m->unix_ms : unix_ms_now(ds);
    api_log(API_LOG_DEBUG, "driver event", "\"vehicle\":\"%s\",\"kind\":\"%s\",\"ok\":%d",
            c->vehicle_id, kind, ev->ok);
    if (!ev->ok && ds->veh[c->v].n_refused_stored >= DRV_MAX_REFUSED_STORED_PER_VEHICLE) {
        /* Nothing changed, and this vehicle has had its share of stored
         * refusals: the answer now, the refusal remembered in memory for a
         * re-send of the same id. */
        event_resolved(ds, ev);
        refused_keep(ds, c->v, key, ev);
        return;
    }
    if (ev->ok)
        ds->veh[c->v].n_events++;
    else
        ds->veh[c->v].n_refused_stored++;
    ev->counted = 1;
    store_events(ds, &ev, 1, 0);
}

/* ------------------------------------------------------------------------ */
/* Tablet messages                                                          */

static void on_hello(drv_conn *c, const Noriai__Driver__Hello *h)
{
    drv_state *ds = c->ds;
    drv_vehicle *x = &ds->veh[c->v];
    svc_day *d;

    if (h->vehicle_id[0] && strcmp(h->vehicle_id, c->vehicle_id) != 0) {
        api_log(API_LOG_WARN, "driver Hello for another vehicle; closed",
                "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id, (unsigned long long)c->id);
        conn_close(c, WSLAY_CODE_POLICY_VIOLATION, "this token is for another vehicle");
        return;
    }
    /* It holds last_seq, content unknown (0: nothing). */
    c->hello = 1;
    c->has_sent = h->last_seq != 0;
    c->sent_seq = h->last_seq;
    c->sent_sig = 0;
    d = today_day(ds);
    if (d != NULL && (x->stale || strcmp(x->route.date, d->date) != 0)) {
        /* Not built for today's stored plan yet: now, or when the commit
         * that stores it calls. */
        push_route(ds, d, c->v, 0);
        return;
    }
    route_deliver(ds, c);
}

static void on_position(drv_conn *c, const Noriai__Driver__TabletMessage *m)
{
    const Noriai__Driver__Position *p = m->position;
    drv_vehicle *x = &c->ds->veh[c->v];
    int64_t ms = p->unix_ms > 0 ? p->unix_ms : m->unix_ms;

    if (!isfinite(p->lat) || !isfinite(p->lon) || fabs(p->lat) > 90 || fabs(p->lon) > 180 ||
        (p->lat == 0 && p->lon == 0)) {
        send_ack(c, id_ok(m->event_id) ? m->event_id : "", 0,
                 "position needs lat in -90..90 and lon in -180..180");
        return;
    }
    if (ms <= 0)
        ms = unix_ms_now(c->ds);
    if (x->has_pos && ms < x->pos_unix_ms)
        return; /* an older fix re-sent after a reconnect */
    x->has_pos = 1;
    x->lat = p->lat;
    x->lon = p->lon;
    x->pos_unix_ms = ms;
}

static void handle_message(drv_conn *c, const uint8_t *data, size_t len);

/* Events that came before the event map was loaded wait in their
 * connection (a copy of the frame). */
static void hold_message(drv_conn *c, const uint8_t *data, size_t len)
{
    drv_held *n;

    if (c->n_held >= DRV_MAX_HELD) {
        conn_close(c, 1013, "the server is starting; connect again shortly");
        return;
    }
    n = realloc(c->held, (size_t)(c->n_held + 1) * sizeof(*n));
    if (n == NULL) {
        conn_close(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    c->held = n;
    if ((c->held[c->n_held].data = malloc(len > 0 ? len : 1)) == NULL) {
        conn_close(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    if (len > 0)
        memcpy(c->held[c->n_held].data, data, len);
    c->held[c->n_held].len = len;
    c->n_held++;
}

static void release_held(drv_conn *c)
{
    drv_held *held = c->held;
    int n = c->n_held;

    c->held = NULL;
    c->n_held = 0;
    for (int i = 0; i < n; i++) {
        if (c->raw != NULL && c->close_ms == 0)
            handle_message(c, held[i].data, held[i].len);
        free(held[i].data);
    }
    free(held);
}

static void handle_message(drv_conn *c, const uint8_t *data, size_t len)
{
    Noriai__Driver__TabletMessage *m = noriai__driver__tablet_message__unpack(NULL, len, data);

    if (m == NULL) {
        api_log(API_LOG_WARN, "driver frame is not a TabletMessage; closed",
                "\"vehicle\":\"%s\",\"conn\":%llu,\"bytes\":%zu", c->vehicle_id,
                (unsigned long long)c->id, len);
        conn_close(c, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "not a TabletMessage (protobuf)");
        return;
    }
    switch (m->msg_case) {
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_HELLO:
        on_hello(c, m->hello);
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_POSITION:
        on_position(c, m);
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_KEEPALIVE:
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ACK: {
        const char *id = m->ack->event_id;
        char *end;
        if (strncmp(id, "seq:", 4) == 0) {
            unsigned long long q = strtoull(id + 4, &end, 10);
            if (*end == '\0' && q > c->acked_seq)
                c->acked_seq = q;
        }
        break;
    }
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_NO_SHOW:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_START:
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_END:
        if (!c->ds->events_loaded)
            hold_message(c, data, len);
        else
            event_handle(c, m);
        break;
    default:
        send_ack(c, id_ok(m->event_id) ? m->event_id : "", 0,
                 "unknown message kind (the server speaks noriai.driver of driver.proto)");
        break;
    }
    noriai__driver__tablet_message__free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------------ */
/* wslay and the raw connection                                             */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    drv_conn *c = ud;
    size_t n = c->in_len - c->in_off;

    (void)flags;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, c->in + c->in_off, n);
    c->in_off += n;
    return (ssize_t)n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    drv_conn *c = ud;

    (void)flags;
    if (c->raw == NULL || api_http_raw_write(c->raw, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    drv_conn *c = ud;

    (void)ctx;
    if (c->raw == NULL || c->close_ms != 0)
        return; /* closing: nothing the tablet says counts any more */
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        conn_close(c, WSLAY_CODE_UNSUPPORTED_DATA, "binary frames only (protobuf TabletMessage)");
        return;
    }
    if (arg->opcode != WSLAY_BINARY_FRAME)
        return; /* ping, pong and close are wslay's */
    handle_message(c, arg->msg, arg->msg_length);
}

static void raw_on_data(void *ud, const char *data, size_t len)
{
    drv_conn *c = ud;
    int rc;

    if (c->raw == NULL)
        return;
    c->last_rx_ms = loop_ms(c->ds);
    c->in = (const uint8_t *)data;
    c->in_len = len;
    c->in_off = 0;
    c->in_recv = 1;
    rc = wslay_event_recv(c->ws);
    c->in_recv = 0;
    c->in = NULL;
    c->in_len = c->in_off = 0;
    if (rc != 0) {
        /* A frame wslay cannot take (a control frame over 125 bytes, a bad
         * opcode, reserved bits): say so with 1002 before the connection
         * goes, unless a close was sent already. */
        if (c->raw != NULL && !wslay_event_get_close_sent(c->ws)) {
            static const uint8_t close_1002[] = {0x88, 0x02, 0x03, 0xea};
            api_log(API_LOG_WARN, "driver tablet broke the WebSocket protocol; closed 1002",
                    "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id,
                    (unsigned long long)c->id);
            api_http_raw_write(c->raw, close_1002, sizeof(close_1002));
        }
        conn_drop(c);
        return;
    }
    conn_flush(c);
}

static void raw_on_close(void *ud)
{
    drv_conn *c = ud;
    drv_state *ds = c->ds;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        ds->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    ds->n_conns--;
    api_log(API_LOG_INFO, "driver tablet disconnected",
            "\"vehicle\":\"%s\",\"conn\":%llu,\"close_sent\":%d,\"close_received\":%d",
            c->vehicle_id, (unsigned long long)c->id, wslay_event_get_status_code_sent(c->ws),
            wslay_event_get_status_code_received(c->ws));
    for (int i = 0; i < c->n_held; i++)
        free(c->held[i].data);
    free(c->held);
    wslay_event_context_free(c->ws);
    free(c);
    if (ds->closing)
        maybe_free_state(ds);
}

/* ------------------------------------------------------------------------ */
/* The upgrade                                                              */

static void http_refuse(api_http_req *req, int status, const char *code, const char *msg,
                        const char *extra)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
                     msg);

    api_http_respond(req, status, "application/json", body, (size_t)n, extra);
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

void api_driver_upgrade(api_svc *s, const api_token *tok, api_http_req *req)
{
    static const struct wslay_event_callbacks cbs = {ws_recv, ws_send, NULL, NULL, NULL, NULL,
                                                     ws_msg};
    static const api_http_raw_cbs raw_cbs = {raw_on_data, raw_on_close};
    drv_state *ds = s->driver;
    const char *up = api_http_header_get(req, "Upgrade");
    const char *conn = api_http_header_get(req, "Connection");
    const char *ver = api_http_header_get(req, "Sec-WebSocket-Version");
    const char *key = api_http_header_get(req, "Sec-WebSocket-Key");
    const char *proto = api_http_header_get(req, "Sec-WebSocket-Protocol");
    char accept[32], head[400], peer[64];
    drv_conn *c, *oldest = NULL;
    int v, n_same = 0, n;

    if (ds == NULL || ds->closing) {
        http_refuse(req, 503, "unavailable", "the driver channel is shutting down", NULL);
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        http_refuse(req, 400, "bad_upgrade", "the driver channel is a WebSocket: GET with Upgrade",
                    NULL);
        return;
    }
    if ((v = svc_vehicle_index(s->core, tok->vehicle_id)) < 0) {
        http_refuse(req, 403, "forbidden", "this driver token's vehicle is not in the fleet",
                    NULL);
        return;
    }
    if (!header_has_token(up, "websocket") || !header_has_token(conn, "upgrade")) {
        http_refuse(req, 426, "upgrade_required",
                    "the driver channel is a WebSocket (Upgrade: websocket, Connection: Upgrade)",
                    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        return;
    }
    if (ver == NULL || strcmp(ver, "13") != 0) {
        http_refuse(req, 426, "unsupported_websocket_version",
                    "Sec-WebSocket-Version must be 13", "Sec-WebSocket-Version: 13\r\n");
        return;
    }
    if (key == NULL || !ws_key_valid(key)) {
        http_refuse(req, 400, "bad_websocket_key",
                    "Sec-WebSocket-Key must be 16 random bytes in base64", NULL);
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        http_refuse(req, 500, "internal", "out of memory", NULL);
        return;
    }
    if (wslay_event_context_server_init(&c->ws, &cbs, c) != 0) {
        free(c);
        http_refuse(req, 500, "internal", "out of memory", NULL);
        return;
    }
    wslay_event_config_set_max_recv_msg_length(c->ws, DRV_MAX_MSG_BYTES);
    c->ds = ds;
    c->id = ++ds->next_conn_id;
    c->v = v;
    snprintf(c->vehicle_id, sizeof(c->vehicle_id), "%s", svc_vehicle_id(s->core, v));
    snprintf(c->tok_id, sizeof(c->tok_id), "%s", tok->id);
    c->opened_ms = c->last_rx_ms = c->last_ka_ms = loop_ms(ds);
    snprintf(peer, sizeof(peer), "%s", req->peer);
    if (ws_accept_of(key, accept) < 0) {
        wslay_event_context_free(c->ws);
        free(c);
        http_refuse(req, 500, "internal", "cannot compute the WebSocket handshake", NULL);
        return;
    }
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n%s\r\n",
                 accept,
                 header_has_token(proto, DRV_SUBPROTOCOL)
                     ? "Sec-WebSocket-Protocol: " DRV_SUBPROTOCOL "\r\n"
                     : "");
    c->raw = api_http_takeover(req, head, (size_t)n, &raw_cbs, c);
    if (c->raw == NULL) {
        wslay_event_context_free(c->ws);
        free(c);
        return;
    }
    for (drv_conn *o = ds->conns; o != NULL; o = o->next) {
        if (o->v != v || o->raw == NULL || o->close_ms != 0)
            continue;
        n_same++;
        if (oldest == NULL || o->opened_ms <= oldest->opened_ms)
            oldest = o;
    }
    c->next = ds->conns;
    if (ds->conns != NULL)
        ds->conns->prev = c;
    ds->conns = c;
    ds->n_conns++;
    api_log(API_LOG_INFO, "driver tablet connected",
            "\"vehicle\":\"%s\",\"conn\":%llu,\"peer\":\"%s\"", c->vehicle_id,
            (unsigned long long)c->id, peer);
    if (n_same >= DRV_MAX_CONNS_PER_VEHICLE && oldest != NULL)
        conn_close(oldest, DRV_CLOSE_REPLACED, "replaced by a newer connection of this vehicle");
}

/* ------------------------------------------------------------------------ */
/* Hooks from service.c                                                     */

void api_driver_plan_stored(api_svc *s, svc_day *d, int v)
{
    drv_state *ds = s->driver;

    if (ds == NULL || ds->closing || v < 0 || v >= ds->n_veh || d != today_day(ds))
        return;
    push_route(ds, d, v, 0);
}

static void on_soon(uv_timer_t *t);

/* on_soon in ms (0: the next loop turn), unless it is due sooner. */
static void soon(drv_state *ds, uint64_t ms)
{
    if (ds->closing)
        return;
    if (uv_is_active((uv_handle_t *)&ds->soon) && uv_timer_get_due_in(&ds->soon) <= ms)
        return;
    uv_timer_start(&ds->soon, on_soon, ms, 0);
}

void api_driver_event_stored(api_svc *s, const svc_evq *e)
{
    drv_state *ds = s->driver;
    svc_day *d;
    svc_bk *b;

    if (ds == NULL || ds->closing || e->day < 0 || e->day >= SVC_MAX_DAYS || e->vehicle < 0 ||
        e->vehicle >= ds->n_veh)
        return;
    d = &s->core->days[e->day];
    if (!d->used || d != today_day(ds))
        return;
    if (e->to == DSP_CANCELLED && e->from != DSP_CANCELLED && e->from != DSP_OFFERED) {
        Noriai__Driver__ServerMessage m = NORIAI__DRIVER__SERVER_MESSAGE__INIT;
        Noriai__Driver__Cancellation cn = NORIAI__DRIVER__CANCELLATION__INIT;
        dsp_vehicle_info vi;

        b = e->idx >= 0 && e->idx < d->cap_idx ? d->by_idx[e->idx] : NULL;
        if (b == NULL || dsp_vehicle_get(d->dsp, e->vehicle, &vi) < 0)
            return;
        cn.booking_id = b->id;
        cn.reason = (char *)(e->detail[0] ? e->detail : "rider");
        cn.seq = (uint64_t)(d->seq_base[e->vehicle] + vi.version);
        m.msg_case = NORIAI__DRIVER__SERVER_MESSAGE__MSG_CANCELLATION;
        m.cancellation = &cn;
        for (drv_conn *c = ds->conns; c != NULL; c = c->next)
            if (c->v == e->vehicle && c->hello)
                conn_send(c, &m);
    }
}

void api_driver_token_revoked(api_svc *s, const char *token_id)
{
    drv_state *ds = s->driver;

    if (ds == NULL)
        return;
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        if (strcmp(c->tok_id, token_id) == 0) {
            api_log(API_LOG_INFO, "driver token revoked; tablet closed",
                    "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id, (unsigned long long)c->id);
            conn_close(c, DRV_CLOSE_REVOKED, "token revoked");
        }
}

int api_driver_position(api_svc *s, int v, double *lat, double *lon, int64_t *unix_ms)
{
    drv_state *ds = s->driver;

    if (ds == NULL || v < 0 || v >= ds->n_veh || !ds->veh[v].has_pos)
        return -1;
    *lat = ds->veh[v].lat;
    *lon = ds->veh[v].lon;
    *unix_ms = ds->veh[v].pos_unix_ms;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Timers, start and stop                                                   */

static void events_loaded(void *ud, int rc, const store_driver_event_row *rows, int n_rows)
{
    drv_state *ds = ud;
    uint64_t now;
    int n = 0;

    ds->inflight--;
    ds->load_busy = 0;
    if (ds->closing) {
        maybe_free_state(ds);
        return;
    }
    if (rc < 0) {
        soon(ds, 500);
        return;
    }
    now = loop_ms(ds);
    for (int i = 0; i < n_rows; i++) {
        const char *veh = rows[i].vehicle_id, *id = rows[i].event_id;
        const char *result = rows[i].result;
        char key[sizeof(((drv_conn *)0)->vehicle_id) + DRV_MAX_ID + 2];
        drv_event *ev;

        if (veh == NULL || id == NULL || result == NULL || strlen(veh) >= 48 ||
            strlen(id) > DRV_MAX_ID)
            continue;
        snprintf(key, sizeof(key), "%s\n%s", veh, id);
        if (svc_map_get(&ds->events, key) != NULL || (ev = calloc(1, sizeof(*ev))) == NULL)
            continue;
        ev->ok = strcmp(result, "ok") == 0;
        ev->seen_ms = now;
        ev->veh = svc_vehicle_index(ds->s->core, veh);
        if (!ev->ok && (ev->error = strdup(result)) == NULL)
            ev->error = (char *)refused_text;
        if (svc_map_put(&ds->events, key, ev) < 0) {
            event_free(ev);
            continue;
        }
        if (ev->veh >= 0 && ev->veh < ds->n_veh) {
            *(ev->ok ? &ds->veh[ev->veh].n_events : &ds->veh[ev->veh].n_refused_stored) += 1;
            ev->counted = 1;
        }
        n++;
    }
    ds->events_loaded = 1;
    api_log(API_LOG_INFO, "driver events of the last 48 hours loaded", "\"count\":%d", n);
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        if (c->n_held > 0) {
            release_held(c);
            conn_flush(c);
        }
}

static void load_events(drv_state *ds)
{
    store st = api_store(ds->s);

    if (ds->events_loaded || ds->load_busy)
        return;
    if (!api_store_ready(ds->s)) {
        soon(ds, 100);
        return;
    }
    ds->load_busy = 1;
    ds->inflight++;
    st.ops->driver_events_recent(st.ctx, (int)(DRV_EVENT_KEEP_MS / 3600000), events_loaded, ds);
}

static void on_soon(uv_timer_t *t)
{
    drv_state *ds = t->data;
    api_svc *s = ds->s;

    if (ds->closing)
        return;
    if (!ds->events_loaded)
        load_events(ds);
    if (ds->commit_wanted && api_store_ready(s)) {
        int dirty = 0;
        ds->commit_wanted = 0;
        for (int i = 0; i < SVC_MAX_DAYS && !dirty; i++)
            for (int v = 0; s->core->days[i].used && v < ds->n_veh && !dirty; v++)
                dirty = s->core->days[i].plan_dirty[v];
        /* Someone else's commit may have taken it meanwhile. */
        if (dirty)
            svc_commit(s->core, NULL, NULL, NULL);
    }
}

/* Drops events older than DRV_EVENT_KEEP_MS from the map. */
static void prune_events(drv_state *ds, uint64_t now)
{
    for (size_t i = 0; i < ds->events.cap; i++) {
        svc_map_slot *sl = &ds->events.slots[i];
        drv_event *ev = sl->val;
        if (ev == NULL || ev->pending || now - ev->seen_ms < (uint64_t)DRV_EVENT_KEEP_MS)
            continue;
        if (ev->veh >= 0 && ev->veh < ds->n_veh && ev->counted)
            *(ev->ok ? &ds->veh[ev->veh].n_events : &ds->veh[ev->veh].n_refused_stored) -= 1;
        svc_map_del(&ds->events, sl->key);
        event_free(ev);
    }
}

static void on_tick(uv_timer_t *t)
{
    drv_state *ds = t->data;
    uint64_t now = loop_ms(ds);
    char date[11];

    if (ds->closing)
        return;
    /* A new service day: today's stored plans become the routes. */
    svc_today(ds->s->core, date);
    if (strcmp(date, ds->today) != 0) {
        svc_day *d = svc_day_get(ds->s->core, date, 0);
        snprintf(ds->today, sizeof(ds->today), "%s", date);
        /* Riders' details are read again each day (edits, and no growth). */
        if (!ds->fetch_busy) {
            for (size_t i = 0; i < ds->riders.cap; i++)
                free(ds->riders.slots[i].val);
            svc_map_cleanup(&ds->riders);
        }
        for (int v = 0; d != NULL && v < ds->n_veh; v++)
            push_route(ds, d, v, 0);
    }
    for (drv_conn *c = ds->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->raw == NULL)
            continue;
        if (c->close_ms != 0) {
            if (now - c->close_ms >= DRV_CLOSE_WAIT_MS)
                conn_drop(c); /* no close frame back in time */
            continue;
        }
        if (now - c->last_rx_ms >= DRV_IDLE_MS) {
            conn_close(c, WSLAY_CODE_GOING_AWAY, "nothing heard from the tablet for a minute");
            continue;
        }
        if (now - c->last_ka_ms >= DRV_KEEPALIVE_MS) {
            c->last_ka_ms = now;
            send_keepalive(c);
        }
    }
    retry_unstored(ds);
    if (!ds->fetch_busy)
        push_waiting(ds, !api_store_ready(ds->s));
    if (now - ds->last_prune_ms >= 60000) {
        ds->last_prune_ms = now;
        prune_events(ds, now);
    }
}

int api_driver_init(api_svc *s)
{
    drv_state *ds = calloc(1, sizeof(*ds));

    s->driver = NULL;
    if (ds == NULL)
        return -1;
    ds->s = s;
    ds->n_veh = s->cfg.n_vehicles;
    if ((ds->veh = calloc((size_t)(ds->n_veh > 0 ? ds->n_veh : 1), sizeof(*ds->veh))) == NULL) {
        free(ds);
        return -1;
    }
    svc_today(s->core, ds->today);
    uv_timer_init(s->loop, &ds->tick);
    uv_timer_init(s->loop, &ds->soon);
    ds->tick.data = ds->soon.data = ds;
    ds->timers_open = 2;
    ds->last_prune_ms = loop_ms(ds);
    uv_timer_start(&ds->tick, on_tick, 1000, 1000);
    s->driver = ds;
    soon(ds, 0); /* the event map's load, once the store is connected */
    return 0;
}

static void free_state(drv_state *ds)
{
    for (size_t i = 0; i < ds->riders.cap; i++)
        if (ds->riders.slots[i].val != NULL)
            free(ds->riders.slots[i].val);
    svc_map_cleanup(&ds->riders);
    for (size_t i = 0; i < ds->events.cap; i++)
        if (ds->events.slots[i].val != NULL)
            event_free(ds->events.slots[i].val);
    svc_map_cleanup(&ds->events);
    for (int i = 0; i < ds->n_fetch; i++)
        free(ds->fetch_ids[i]);
    free(ds->fetch_ids);
    free(ds->unstored);
    for (int v = 0; v < ds->n_veh; v++) {
        free(ds->veh[v].route.bytes);
        for (int k = 0; k < DRV_MAX_REFUSED_PER_VEHICLE; k++)
            free(ds->veh[v].refused[k]);
    }
    free(ds->veh);
    free(ds);
}

static void maybe_free_state(drv_state *ds)
{
    if (!ds->closing || ds->n_conns > 0 || ds->inflight > 0 || ds->timers_open > 0)
        return;
    if (ds->s->driver == ds)
        ds->s->driver = NULL;
    free_state(ds);
}

static void timer_closed(uv_handle_t *h)
{
    drv_state *ds = h->data;

    ds->timers_open--;
    maybe_free_state(ds);
}

void api_driver_close(api_svc *s)
{
    drv_state *ds = s->driver;

    if (ds == NULL || ds->closing)
        return;
    ds->closing = 1;
    for (drv_conn *c = ds->conns; c != NULL; c = c->next) {
        conn_close(c, WSLAY_CODE_GOING_AWAY, "the server is shutting down");
        conn_drop(c); /* the close frame goes out first; no wait for the answer */
    }
    uv_timer_stop(&ds->tick);
    uv_timer_stop(&ds->soon);
    uv_close((uv_handle_t *)&ds->tick, timer_closed);
    uv_close((uv_handle_t *)&ds->soon, timer_closed);
}
