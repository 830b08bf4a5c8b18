/*
 * driver.c - the driver channel (issue 6): a WebSocket on /v1/driver/ws,
 * one protobuf message per binary frame (data/proto/driver.proto).  This
 * file holds the connections and speaks the messages; the framing is
 * ws.c's, the route a tablet sees driver_route.c's, what a driver may
 * report when the service layer's svc_tablet, and the once-only store of
 * tablet events the service layer's svc_tevents.  Everything runs on the
 * daemon's loop thread.
 *
 * Connection.  routes.c has checked the token (role driver); the upgrade
 * is checked (ws.c, with the van of the token in the fleet between the
 * method and the headers) and answered 101.  Limits: a message is at most
 * DRV_MAX_MSG_BYTES (1009), a text frame closes with 1003, bytes that are
 * no TabletMessage with 1007, a Hello naming another vehicle than the
 * token's with 1008; after we close, the tablet's frames are ignored, so a
 * bad frame never changes state.  Each connection gets a ping and a
 * KeepAlive message every DRV_KEEPALIVE_MS and is dropped after DRV_IDLE_MS
 * without a byte, or when more than DRV_MAX_PENDING_BYTES wait to be
 * written (a tablet that stopped reading).  A vehicle has at most
 * DRV_MAX_CONNS_PER_VEHICLE connections; a newer one pushes the oldest out
 * (close 4001), since a tablet that lost its network often comes back
 * before the old TCP connection notices.  A revoked token's connections
 * close with 4003.
 *
 * Route updates.  The tablet sees the vehicle's plan of today
 * (driver_route.c).  The service layer calls api_driver_plan_stored after
 * a commit stored a plan; the route is then built from live state, but
 * only when the plan has not changed again since (plan_dirty clear), so
 * the content sent is what the store holds under that seq (seq_base +
 * version); a vehicle with no tablet connected is only marked stale and
 * built at its next Hello.  The serialized message is kept per vehicle: a
 * Hello whose last_seq differs from it gets it (it replaces whatever was
 * missed; "differs" rather than "is lower", so a tablet holding
 * yesterday's higher numbers is not left with them), else nothing.  A
 * stored plan whose visible content is unchanged (the same signature) is
 * not pushed to a tablet that got the previous one.  A route that names a
 * rider whose details are not cached waits for their read.
 *
 * A confirmation makes a hidden stop visible without changing the plan, so
 * its version stays; to keep "one seq, one content", the service layer's
 * event sink (svc_commit.c) bumps that vehicle's seq_base and marks its
 * plan dirty, so the new seq is stored in the confirmation's own commit
 * and pushed right after it.  A confirmed booking that is cancelled gets a
 * Cancellation notice after the route update that removed it.
 *
 * Tablet events.  arrived, departed, boarded, alighted, no_show and breaks
 * carry an event_id (printable ASCII, 1..64 bytes).  Each is judged once:
 * svc_tev_begin answers a known one (or lets the connection wait while its
 * row commits); a new one is checked and applied by svc_tablet against
 * today's day - refused with nothing changed, or applied - and handed to
 * svc_tev_finish, which stores its row with the change and sends the Ack
 * (hook answer) once that committed.  Events that come before the store of
 * events has loaded the last 48 hours wait in their connection (a copy of
 * the frame, at most DRV_MAX_HELD).  Too many events from one vehicle in a
 * short time close its connection (1008).
 *
 * Positions are kept in memory, the last one per vehicle
 * (api_driver_position); they do not move the plan.
 *
 * Lifetime: api_driver_close closes every connection (1001) and the timers;
 * the state is freed once the last connection, timer and store callback of
 * ours has finished (the store of events goes by itself, svc_tev_destroy).
 *
 * Cost: a route update is built once per stored plan and sent as the same
 * bytes to each connection of the vehicle.  An event is O(1) plus one
 * commit.  Memory: per vehicle one serialized route; per connection its
 * held frames (bounded).
 */
#include "api/server/driver_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/server/ws.h"
#include "data/proto/driver.pb-c.h"
#include "dispatcher/svc_tablet.h"

#define DRV_MAX_MSG_BYTES (64 * 1024)
#define DRV_MAX_PENDING_BYTES (4u << 20)
#define DRV_KEEPALIVE_MS 20000
#define DRV_IDLE_MS 65000
#define DRV_CLOSE_WAIT_MS 5000
#define DRV_MAX_CONNS_PER_VEHICLE 4
#define DRV_MAX_HELD 64
#define DRV_SUBPROTOCOL "noriai.driver.v1"
#define DRV_CLOSE_REPLACED 4001
#define DRV_CLOSE_REVOKED 4003

typedef struct drv_held {
    uint8_t *data;
    size_t len;
} drv_held;

struct drv_conn {
    drv_state *ds;
    struct drv_conn *prev, *next;
    uint64_t id;
    api_ws *ws; /* until its on_close */
    int v;
    char vehicle_id[48];
    char tok_id[40];
    int hello;
    int has_sent; /* the tablet holds route (sent_seq, sent_sig) */
    uint64_t sent_seq, sent_sig;
    uint64_t acked_seq;
    uint64_t opened_ms; /* loop time */
    drv_held *held;
    int n_held;
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

svc_day *drv_today(drv_state *ds)
{
    char date[11];

    svc_today(ds->s->core, date);
    return svc_day_get(ds->s->core, date, 0);
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                  */

static void conn_close(drv_conn *c, uint16_t code, const char *reason)
{
    api_ws_close(c->ws, code, reason);
}

static void conn_send(drv_conn *c, const Noriai__Driver__ServerMessage *m)
{
    size_t len = noriai__driver__server_message__get_packed_size(m);
    uint8_t stack[512], *buf = len <= sizeof(stack) ? stack : malloc(len);

    if (buf == NULL) {
        api_ws_drop(c->ws);
        return;
    }
    noriai__driver__server_message__pack(m, buf);
    api_ws_send(c->ws, buf, len);
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

static drv_conn *conn_by_id(drv_state *ds, uint64_t id)
{
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Route updates                                                            */

/* Sends v's route to the connection unless it holds that seq, or one
 * that looks the same to the driver. */
static void route_deliver(drv_state *ds, drv_conn *c)
{
    const drv_route *r = &ds->veh[c->v].route;

    if (!c->hello || r->bytes == NULL ||
        (c->has_sent && (c->sent_seq == r->seq || c->sent_sig == r->sig)))
        return;
    api_ws_send(c->ws, r->bytes, r->len);
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
        seen = c->v == v && api_ws_alive(c->ws);
    if (!seen) {
        /* Built when a tablet of v says Hello. */
        x->stale = 1;
        x->want_push = 0;
        return;
    }
    rc = drv_route_build(ds, d, v, allow_missing, &r);
    if (rc < 0) {
        api_log(API_LOG_ERROR, "driver channel: out of memory building a route",
                "\"vehicle\":\"%s\"", svc_vehicle_id(ds->s->core, v));
        return;
    }
    if (rc == 1 && r.bytes == NULL) {
        x->want_push = 1;
        if (drv_riders_fetch(ds) < 0)
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

void drv_push_waiting(drv_state *ds, int allow_missing)
{
    svc_day *d = drv_today(ds);

    for (int v = 0; v < ds->n_veh; v++) {
        if (!ds->veh[v].want_push)
            continue;
        if (d == NULL)
            ds->veh[v].want_push = 0;
        else
            push_route(ds, d, v, allow_missing);
    }
}

/* ------------------------------------------------------------------------ */
/* Tablet events                                                            */

/* svc_tablet_ctx's names: a public booking id on the day judged. */
typedef struct names {
    api_svc *s;
    svc_day *d;
} names;

static int64_t booking_index(void *ud, const char *public_id)
{
    const names *nm = ud;
    const svc_bk *b = svc_bk_find(nm->s->core, public_id);

    if (b == NULL)
        return SVC_TABLET_BK_UNKNOWN;
    if (b->day != (int)(nm->d - nm->s->core->days))
        return SVC_TABLET_BK_OTHER_DAY;
    return b->idx;
}

static const char *stop_id_of(void *ud, int stop)
{
    return drv_stop_id(((const names *)ud)->s, stop);
}

/* The event a TabletMessage carries, in svc_tablet's terms. */
static void tablet_event_of(const Noriai__Driver__TabletMessage *m, svc_tablet_event *te)
{
    const Noriai__Driver__StopEvent *se = NULL;
    const Noriai__Driver__RiderEvent *re = NULL;

    memset(te, 0, sizeof(*te));
    te->kind = -1;
    switch (m->msg_case) {
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED:
        te->kind = SVC_TABLET_ARRIVED;
        se = m->arrived;
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED:
        te->kind = SVC_TABLET_DEPARTED;
        se = m->departed;
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED:
        te->kind = SVC_TABLET_BOARDED;
        re = m->boarded;
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED:
        te->kind = SVC_TABLET_ALIGHTED;
        re = m->alighted;
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_NO_SHOW:
        te->kind = SVC_TABLET_NO_SHOW;
        re = m->no_show;
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_START:
        te->kind = SVC_TABLET_BREAK_START;
        re = m->break_start;
        break;
    case NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_END:
        te->kind = SVC_TABLET_BREAK_END;
        re = m->break_end;
        break;
    default:
        break;
    }
    te->booking_id = se != NULL ? se->booking_id : re != NULL ? re->booking_id : "";
    te->stop_id = se != NULL ? se->stop_id : "";
}

/* A tablet event: answered from the store of events when known, else
 * judged on today's day and stored, then acknowledged (svc_tev's hook). */
static void event_handle(drv_conn *c, const Noriai__Driver__TabletMessage *m)
{
    drv_state *ds = c->ds;
    api_svc *s = ds->s;
    svc_tablet_event te;
    svc_tablet_result r;
    svc_tev_event *ev;
    const char *error;
    int ok, rc;

    if (!svc_tablet_id_ok(m->event_id)) {
        send_ack(c, "", 0, "event_id is required: printable ASCII, 1 to 64 bytes, no spaces");
        return;
    }
    if (!svc_tev_rate_ok(ds->tev, c->v, (int64_t)loop_ms(ds))) {
        api_log(API_LOG_WARN, "driver tablet sends events too fast; closed",
                "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id, (unsigned long long)c->id);
        conn_close(c, API_WS_POLICY_VIOLATION, "too many events; slow down");
        return;
    }
    switch (svc_tev_begin(ds->tev, c->v, m->event_id, c->id, &ev, &ok, &error)) {
    case SVC_TEV_NEW:
        break;
    case SVC_TEV_ANSWERED:
        send_ack(c, m->event_id, ok, error);
        return;
    case SVC_TEV_WAITING:
        return;
    case SVC_TEV_FULL:
        send_ack(c, m->event_id, 0, "too many events from this vehicle today; call the office");
        return;
    case SVC_TEV_INVALID:
        send_ack(c, m->event_id, 0, "the server is starting; send it again later");
        return;
    default:
        send_ack(c, m->event_id, 0, "the server is out of memory; send it again later");
        return;
    }

    names nm = {.s = s, .d = drv_today(ds)};
    svc_tablet_ctx tc = {.day = nm.d != NULL ? nm.d->dsp : NULL,
                         .now = nm.d != NULL ? svc_day_now(s->core, nm.d) : 0,
                         .vehicle = c->v,
                         .vehicle_id = c->vehicle_id,
                         .ud = &nm,
                         .booking_index = booking_index,
                         .stop_id = stop_id_of};
    tablet_event_of(m, &te);
    if (nm.d != NULL)
        api_set_actor(s, c->tok_id);
    rc = svc_tablet_event_handle(&tc, &te, &r);
    if (rc == SVC_TABLET_EAPPLY) {
        /* Checked, then refused by the day core: a bug of ours, told to the
         * driver as the day core's refusal (some moves may have happened). */
        api_log(API_LOG_ERROR, "driver event: the day core refused a checked event",
                "\"vehicle\":\"%s\",\"moves_done\":%d,\"error\":\"%s\"", c->vehicle_id, r.n_applied,
                dsp_strerror(r.dsp_rc));
        snprintf(r.error, sizeof(r.error), "%s refused it: %s", c->vehicle_id,
                 dsp_strerror(r.dsp_rc));
    }
    const char *kind = svc_tablet_kind_name(te.kind);
    svc_tev_outcome o = {.ok = rc == 0,
                         .error = r.error,
                         .kind = kind != NULL ? kind : "",
                         .booking_id = r.booking_id,
                         .date = nm.d != NULL ? nm.d->date : ds->today,
                         .unix_ms = m->unix_ms > 0 ? m->unix_ms : unix_ms_now(ds)};
    api_log(API_LOG_DEBUG, "driver event", "\"vehicle\":\"%s\",\"kind\":\"%s\",\"ok\":%d",
            c->vehicle_id, o.kind, o.ok);
    svc_tev_finish(ds->tev, ev, &o, (int64_t)loop_ms(ds));
}

/* svc_tev's hook: the stored answer for the connection waiting for it. */
static void tev_answer(void *ud, uint64_t waiter, const char *event_id, int ok, const char *error)
{
    drv_state *ds = ud;
    drv_conn *c = conn_by_id(ds, waiter);

    if (c != NULL)
        send_ack(c, event_id, ok, error);
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
        conn_close(c, API_WS_POLICY_VIOLATION, "this token is for another vehicle");
        return;
    }
    /* It holds last_seq, content unknown (0: nothing). */
    c->hello = 1;
    c->has_sent = h->last_seq != 0;
    c->sent_seq = h->last_seq;
    c->sent_sig = 0;
    d = drv_today(ds);
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
        send_ack(c, svc_tablet_id_ok(m->event_id) ? m->event_id : "", 0,
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

/* Events that came before the store of events was loaded wait in their
 * connection (a copy of the frame). */
static void hold_message(drv_conn *c, const uint8_t *data, size_t len)
{
    drv_held *n;

    if (c->n_held >= DRV_MAX_HELD) {
        conn_close(c, API_WS_TRY_AGAIN_LATER, "the server is starting; connect again shortly");
        return;
    }
    n = realloc(c->held, (size_t)(c->n_held + 1) * sizeof(*n));
    if (n == NULL) {
        conn_close(c, API_WS_INTERNAL_ERROR, "out of memory");
        return;
    }
    c->held = n;
    if ((c->held[c->n_held].data = malloc(len > 0 ? len : 1)) == NULL) {
        conn_close(c, API_WS_INTERNAL_ERROR, "out of memory");
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
        if (api_ws_open(c->ws))
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
        conn_close(c, API_WS_INVALID_PAYLOAD, "not a TabletMessage (protobuf)");
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
        if (!svc_tev_loaded(c->ds->tev))
            hold_message(c, data, len);
        else
            event_handle(c, m);
        break;
    default:
        send_ack(c, svc_tablet_id_ok(m->event_id) ? m->event_id : "", 0,
                 "unknown message kind (the server speaks noriai.driver of driver.proto)");
        break;
    }
    noriai__driver__tablet_message__free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------------ */
/* The connection's callbacks (ws.h)                                        */

static void ws_on_message(void *ud, const uint8_t *data, size_t len)
{
    handle_message(ud, data, len);
}

static void ws_on_keepalive(void *ud)
{
    drv_conn *c = ud;
    Noriai__Driver__ServerMessage m = NORIAI__DRIVER__SERVER_MESSAGE__INIT;
    Noriai__Driver__KeepAlive k = NORIAI__DRIVER__KEEP_ALIVE__INIT;

    k.unix_ms = unix_ms_now(c->ds);
    m.msg_case = NORIAI__DRIVER__SERVER_MESSAGE__MSG_KEEPALIVE;
    m.keepalive = &k;
    conn_send(c, &m);
}

static void ws_on_fault(void *ud, api_ws_fault fault)
{
    drv_conn *c = ud;

    api_log(API_LOG_WARN,
            fault == API_WS_NOT_READING ? "driver tablet not reading; connection dropped"
                                        : "driver tablet broke the WebSocket protocol; closed 1002",
            "\"vehicle\":\"%s\",\"conn\":%llu", c->vehicle_id, (unsigned long long)c->id);
}

static void ws_on_close(void *ud, int code_sent, int code_received)
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
            c->vehicle_id, (unsigned long long)c->id, code_sent, code_received);
    for (int i = 0; i < c->n_held; i++)
        free(c->held[i].data);
    free(c->held);
    free(c);
    if (ds->closing)
        drv_maybe_free(ds);
}

/* ------------------------------------------------------------------------ */
/* The upgrade                                                              */

void api_driver_upgrade(api_svc *s, const api_token *tok, api_http_req *req)
{
    static const api_ws_cbs cbs = {ws_on_message, ws_on_keepalive, ws_on_fault, ws_on_close};
    drv_state *ds = s->driver;
    api_ws_opts o = {.loop = s->loop,
                     .max_msg_bytes = DRV_MAX_MSG_BYTES,
                     .max_pending_bytes = DRV_MAX_PENDING_BYTES,
                     .keepalive_ms = DRV_KEEPALIVE_MS,
                     .idle_ms = DRV_IDLE_MS,
                     .close_wait_ms = DRV_CLOSE_WAIT_MS,
                     .subprotocol = DRV_SUBPROTOCOL,
                     .text_reason = "binary frames only (protobuf TabletMessage)",
                     .idle_reason = "nothing heard from the tablet for a minute"};
    char peer[64];
    drv_conn *c, *oldest = NULL;
    int v, n_same = 0;

    if (ds == NULL || ds->closing) {
        api_ws_refuse(req, 503, "unavailable", "the driver channel is shutting down", NULL);
        return;
    }
    if (api_ws_check_method(req) < 0)
        return;
    if ((v = svc_vehicle_index(s->core, tok->vehicle_id)) < 0) {
        api_ws_refuse(req, 403, "forbidden", "this driver token's vehicle is not in the fleet",
                      NULL);
        return;
    }
    if (api_ws_check_upgrade(req) < 0)
        return;
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        api_ws_refuse(req, 500, "internal", "out of memory", NULL);
        return;
    }
    c->ds = ds;
    c->id = ++ds->next_conn_id;
    c->v = v;
    snprintf(c->vehicle_id, sizeof(c->vehicle_id), "%s", svc_vehicle_id(s->core, v));
    snprintf(c->tok_id, sizeof(c->tok_id), "%s", tok->id);
    c->opened_ms = loop_ms(ds);
    snprintf(peer, sizeof(peer), "%s", req->peer); /* req is gone after the takeover */
    if ((c->ws = api_ws_accept(req, &o, &cbs, c)) == NULL) {
        free(c);
        return;
    }
    for (drv_conn *x = ds->conns; x != NULL; x = x->next) {
        if (x->v != v || !api_ws_open(x->ws))
            continue;
        n_same++;
        if (oldest == NULL || x->opened_ms <= oldest->opened_ms)
            oldest = x;
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
/* Hooks from the service layer (daemon.c)                                  */

void api_driver_plan_stored(api_svc *s, svc_day *d, int v)
{
    drv_state *ds = s->driver;

    if (ds == NULL || ds->closing || v < 0 || v >= ds->n_veh || d != drv_today(ds))
        return;
    push_route(ds, d, v, 0);
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
    if (!d->used || d != drv_today(ds))
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

/* svc_tev's hook: the last 48 hours of events are read (or not: again). */
static void tev_loaded(void *ud, int rc, int count)
{
    drv_state *ds = ud;

    if (ds->closing)
        return;
    if (rc < 0) {
        soon(ds, 500);
        return;
    }
    api_log(API_LOG_INFO, "driver events of the last 48 hours loaded", "\"count\":%d", count);
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        if (c->n_held > 0)
            release_held(c);
}

static void on_soon(uv_timer_t *t)
{
    drv_state *ds = t->data;

    if (ds->closing)
        return;
    if (!svc_tev_loaded(ds->tev) && svc_tev_load(ds->tev, (int64_t)loop_ms(ds)) < 0)
        soon(ds, 100); /* the store is not connected yet */
}

static void on_tick(uv_timer_t *t)
{
    drv_state *ds = t->data;
    char date[11];

    if (ds->closing)
        return;
    /* A new service day: today's stored plans become the routes. */
    svc_today(ds->s->core, date);
    if (strcmp(date, ds->today) != 0) {
        svc_day *d = svc_day_get(ds->s->core, date, 0);
        snprintf(ds->today, sizeof(ds->today), "%s", date);
        drv_riders_forget(ds);
        for (int v = 0; d != NULL && v < ds->n_veh; v++)
            push_route(ds, d, v, 0);
    }
    for (drv_conn *c = ds->conns; c != NULL; c = c->next)
        api_ws_tick(c->ws);
    svc_tev_tick(ds->tev, (int64_t)loop_ms(ds));
    if (!ds->fetch_busy)
        drv_push_waiting(ds, !api_store_ready(ds->s));
}

int api_driver_init(api_svc *s)
{
    drv_state *ds = calloc(1, sizeof(*ds));
    svc_tev_hooks h = {.ud = ds, .answer = tev_answer, .loaded = tev_loaded};

    s->driver = NULL;
    if (ds == NULL)
        return -1;
    ds->s = s;
    ds->n_veh = s->cfg.n_vehicles;
    if ((ds->veh = calloc((size_t)(ds->n_veh > 0 ? ds->n_veh : 1), sizeof(*ds->veh))) == NULL ||
        svc_tev_create(s->core, NULL, &h, (int64_t)uv_now(s->loop), &ds->tev) < 0) {
        free(ds->veh);
        free(ds);
        return -1;
    }
    svc_today(s->core, ds->today);
    uv_timer_init(s->loop, &ds->tick);
    uv_timer_init(s->loop, &ds->soon);
    ds->tick.data = ds->soon.data = ds;
    ds->timers_open = 2;
    uv_timer_start(&ds->tick, on_tick, 1000, 1000);
    s->driver = ds;
    soon(ds, 0); /* the store of events loads once the store is connected */
    return 0;
}

static void free_state(drv_state *ds)
{
    drv_riders_cleanup(ds);
    svc_tev_destroy(ds->tev);
    for (int v = 0; v < ds->n_veh; v++)
        free(ds->veh[v].route.bytes);
    free(ds->veh);
    free(ds);
}

void drv_maybe_free(drv_state *ds)
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
    drv_maybe_free(ds);
}

void api_driver_close(api_svc *s)
{
    drv_state *ds = s->driver;

    if (ds == NULL || ds->closing)
        return;
    ds->closing = 1;
    for (drv_conn *c = ds->conns; c != NULL; c = c->next) {
        conn_close(c, API_WS_GOING_AWAY, "the server is shutting down");
        api_ws_drop(c->ws); /* the close frame goes out first; no wait for the answer */
    }
    uv_timer_stop(&ds->tick);
    uv_timer_stop(&ds->soon);
    uv_close((uv_handle_t *)&ds->tick, timer_closed);
    uv_close((uv_handle_t *)&ds->soon, timer_closed);
}
