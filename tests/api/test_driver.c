/*
 * test_driver.c - the driver channel (/v1/driver/ws) end to end: a real
 * PostgreSQL cluster (tests/pgtest.h), `noriai serve` as a child process
 * ($NORIAI_BIN, else build/noriai) on a loopback port with --clock 09:00 and
 * two vans (van1, van2; no breaks, no timed re-plans, so only the tests move
 * the plans), bookings made over HTTP as the operator (simulator/httpc.h),
 * tablets played by simulator/wsc.h with protobuf-c messages; the daemon
 * and its cluster started by tests/api/daemon.h.
 *
 * What is checked (one cmocka test each):
 *   upgrade     no token 401, operator 403, no Upgrade 426, version 12 426,
 *               bad key 400; the token in ?access_token=; 101 with the
 *               right Sec-WebSocket-Accept; Hello gets today's route
 *   latency     ~50 bookings confirmed: each one's stops reach its van's
 *               tablet in a RouteUpdate (an offer not yet confirmed does
 *               not show), seq strictly growing, rider details filled;
 *               confirm -> update latency p50/p99 printed (not asserted)
 *   resume      a tablet away while 2 bookings are confirmed comes back with
 *               its last seq: exactly one RouteUpdate, the current seq,
 *               both bookings' stops; back with the current seq: none
 *   cancel      a confirmed booking cancelled: the route without it, then a
 *               Cancellation naming it and that route's seq; a position is
 *               taken silently, one out of range refused
 *   events      departed/arrived/boarded acknowledged after commit; the
 *               same boarded (event_id) again after a reconnect and after a
 *               daemon restart: Ack ok, applied once (status picked_up, one
 *               booking_events transition, one driver_events row); another
 *               event_id for it: refused, nothing changed; no event_id and
 *               a wrong booking refused
 *   outage      PostgreSQL stopped under a boarding: no Ack (also not for
 *               the event sent again) until the store is back, then one Ack,
 *               the event and the booking's change stored once
 *   bad frames  text frame 1003, not protobuf 1007, 70 kB 1009, Hello for
 *               van2 with van1's token 1008, each followed by a valid event
 *               in the same write that must be ignored: store and plan
 *               unchanged
 *
 * Ports come from 18481..18499.  Takes about 10 s plus initdb.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <jansson.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "data/db/db.h"
#include "data/proto/driver.pb-c.h"
#include "simulator/httpc.h"
#include "simulator/wsc.h"

#define PORT_FIRST 18481
#define PORT_LAST 18499
#define N_LATENCY 50

typedef Noriai__Driver__ServerMessage smsg;
typedef Noriai__Driver__TabletMessage tmsg;

/* ------------------------------------------------------------------------ */
/* The daemon (tests/api/daemon.h)                                          */

static dmn_env g_env;
static dmn g_d;
static char g_tok_admin[80], g_tok_op[80], g_tok_van1[80], g_tok_van2[80];
static char g_today[11];
static char g_stops[64][16];
static int g_n_stops;
static sim_httpc *g_c;
static int g_confirms; /* raw confirms sent (their Idempotency-Keys) */

/* ------------------------------------------------------------------------ */
/* HTTP                                                                     */

/* One request as tok; the answer's JSON (NULL when none) and status. */
static json_t *http(const char *tok, const char *method, const char *path, const char *body,
                    int *status)
{
    json_t *j = dmn_call(g_c, tok, method, path, NULL, body, status);

    if (j == NULL)
        fprintf(stderr, "test_driver: %s %s -> %d, no JSON\n", method, path, *status);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Books pickup -> drop, depart after hhmm; the booking's id and van into
 * id/vid; 0 offered, 1 no room, -1 error. */
static int book(int from, int to, const char *hhmm, char id[40], char vid[48])
{
    char body[400];
    json_t *j;
    int st;

    snprintf(body, sizeof(body),
             "{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"%s\"},\"dropoff\":{\"stop_id\":"
             "\"%s\"},\"when\":\"depart_after\",\"time\":\"%s\",\"notes\":\"test\"}",
             g_stops[from], g_stops[to], hhmm);
    j = http(g_tok_op, "POST", "/v1/bookings", body, &st);
    if (st == 409) {
        json_decref(j);
        return 1;
    }
    if (st != 201) {
        fprintf(stderr, "test_driver: booking answered %d\n", st);
        json_decref(j);
        return -1;
    }
    snprintf(id, 40, "%s", jstr(j, "id"));
    snprintf(vid, 48, "%s", jstr(j, "vehicle_id"));
    json_decref(j);
    return 0;
}

static int confirm(const char *id)
{
    char path[128];
    int st;

    snprintf(path, sizeof(path), "/v1/bookings/%s/confirm", id);
    json_decref(http(g_tok_op, "POST", path, NULL, &st));
    return st;
}

static long long plan_seq(const char *vid)
{
    char path[128];
    int st;
    json_t *j;
    long long seq;

    snprintf(path, sizeof(path), "/v1/vehicles/%s/plan", vid);
    j = http(g_tok_op, "GET", path, NULL, &st);
    seq = st == 200 ? (long long)json_integer_value(json_object_get(j, "seq")) : -1;
    json_decref(j);
    return seq;
}

/* One query's rows as text (512 bytes); fails the test on an error. */
static void query_text(const char *sql, const char *param, char out[512])
{
    if (dmn_query(g_env.conninfo, sql, param, out, 512) < 0) {
        print_error("query failed: %s\n", out);
        fail();
    }
}

static void store_counts(char out[512])
{
    query_text("SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM booking_events), "
               "(SELECT count(*) FROM driver_events), (SELECT max(seq) FROM plans)",
               NULL, out);
}

/* ------------------------------------------------------------------------ */
/* Tablets                                                                  */

/* The upgrade to path on the daemon: 0, SIM_WSC_EREFUSED (answer in w), or < 0. */
static int ws_open(sim_wsc *w, const char *path, const char *const *hdr, int flags)
{
    return sim_wsc_open(w, "127.0.0.1", g_d.port, path, hdr, flags, 3000, NULL, 0);
}

static int tablet_open(sim_wsc *w, const char *tok)
{
    char auth[160];
    const char *hdr[2] = {auth, NULL};

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    return ws_open(w, "/v1/driver/ws", hdr, 0);
}

static void tablet_send(sim_wsc *w, const tmsg *m)
{
    size_t len = noriai__driver__tablet_message__get_packed_size(m);
    uint8_t *buf = malloc(len + 1);

    assert_non_null(buf);
    noriai__driver__tablet_message__pack(m, buf);
    assert_int_equal(sim_wsc_send(w, SIM_WSC_BINARY, buf, len), 0);
    free(buf);
}

static void hello(sim_wsc *w, const char *vid, uint64_t last_seq)
{
    tmsg m = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
    Noriai__Driver__Hello h = NORIAI__DRIVER__HELLO__INIT;

    h.vehicle_id = (char *)vid;
    h.last_seq = last_seq;
    h.app_version = (char *)"test_driver";
    m.msg_case = NORIAI__DRIVER__TABLET_MESSAGE__MSG_HELLO;
    m.hello = &h;
    tablet_send(w, &m);
}

/* A tablet event: kind one of the TabletMessage cases; booking "" none. */
static size_t event_bytes(int kind, const char *event_id, const char *booking, uint8_t *out)
{
    tmsg m = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
    Noriai__Driver__StopEvent se = NORIAI__DRIVER__STOP_EVENT__INIT;
    Noriai__Driver__RiderEvent re = NORIAI__DRIVER__RIDER_EVENT__INIT;

    m.event_id = (char *)event_id;
    m.unix_ms = 1700000000000LL;
    m.msg_case = (Noriai__Driver__TabletMessage__MsgCase)kind;
    se.booking_id = re.booking_id = (char *)booking;
    if (kind == NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED ||
        kind == NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED)
        m.arrived = &se;
    else
        m.boarded = &re;
    return noriai__driver__tablet_message__pack(&m, out);
}

static void send_event(sim_wsc *w, int kind, const char *event_id, const char *booking)
{
    uint8_t buf[512];
    size_t n = event_bytes(kind, event_id, booking, buf);

    assert_int_equal(sim_wsc_send(w, SIM_WSC_BINARY, buf, n), 0);
}

/* The next server message other than KeepAlive within timeout_ms; NULL on
 * timeout; fails the test on a close or EOF. */
static smsg *next_msg(sim_wsc *w, int timeout_ms)
{
    int64_t deadline = dmn_now_ms() + timeout_ms;

    for (;;) {
        int left = (int)(deadline - dmn_now_ms());
        uint8_t *p;
        size_t len;
        int op = sim_wsc_recv(w, left > 0 ? left : 0, &p, &len);
        smsg *m;

        if (op == 0)
            return NULL;
        if (op < 0 || op == SIM_WSC_CLOSE) {
            print_error("tablet connection ended (close code %d)\n", w->close_code);
            free(p);
            fail();
        }
        if (op != SIM_WSC_BINARY) {
            free(p);
            continue;
        }
        m = noriai__driver__server_message__unpack(NULL, len, p);
        free(p);
        assert_non_null(m);
        if (m->msg_case == NORIAI__DRIVER__SERVER_MESSAGE__MSG_KEEPALIVE) {
            noriai__driver__server_message__free_unpacked(m, NULL);
            continue;
        }
        return m;
    }
}

static void msg_free(smsg *m)
{
    if (m != NULL)
        noriai__driver__server_message__free_unpacked(m, NULL);
}

/* Does route r hold a stop of booking id (kind -1: any)? */
static const Noriai__Driver__RouteStop *route_stop(const Noriai__Driver__RouteUpdate *r,
                                                   const char *id, int kind)
{
    for (size_t i = 0; i < r->n_stops; i++)
        if (strcmp(r->stops[i]->booking_id, id) == 0 && (kind < 0 || (int)r->stops[i]->kind == kind))
            return r->stops[i];
    return NULL;
}

/* The next RouteUpdate (other messages skipped) or NULL on timeout. */
static smsg *next_route(sim_wsc *w, int timeout_ms)
{
    int64_t deadline = dmn_now_ms() + timeout_ms;

    for (;;) {
        int left = (int)(deadline - dmn_now_ms());
        smsg *m = next_msg(w, left > 0 ? left : 0);
        if (m == NULL || m->msg_case == NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE)
            return m;
        msg_free(m);
    }
}

/* The next Ack (routes skipped) for event_id; fails on timeout. */
static smsg *expect_ack(sim_wsc *w, const char *event_id)
{
    int64_t deadline = dmn_now_ms() + 3000;

    for (;;) {
        int left = (int)(deadline - dmn_now_ms());
        smsg *m = next_msg(w, left > 0 ? left : 0);
        if (m == NULL) {
            print_error("no Ack for %s\n", event_id);
            fail();
        }
        if (m->msg_case == NORIAI__DRIVER__SERVER_MESSAGE__MSG_ACK &&
            strcmp(m->ack->event_id, event_id) == 0)
            return m;
        msg_free(m);
    }
}

/* After a close code, the connection ends; nothing else arrives. */
static void expect_close(sim_wsc *w, int code)
{
    int64_t deadline = dmn_now_ms() + 3000;

    for (;;) {
        uint8_t *p;
        size_t len;
        int left = (int)(deadline - dmn_now_ms());
        int op = sim_wsc_recv(w, left > 0 ? left : 0, &p, &len);
        if (op == SIM_WSC_BINARY) {
            smsg *m = noriai__driver__server_message__unpack(NULL, len, p);
            int ack = m != NULL && m->msg_case == NORIAI__DRIVER__SERVER_MESSAGE__MSG_ACK;
            msg_free(m);
            free(p);
            if (ack) {
                print_error("an event after the bad frame was answered\n");
                fail();
            }
            continue;
        }
        free(p);
        if (op == SIM_WSC_CLOSE)
            break;
        print_error("expected close %d, got %s\n", code, op == 0 ? "nothing" : "EOF");
        fail();
    }
    assert_int_equal(w->close_code, code);
    /* as a client should: the close echoed, then the server ends TCP */
    {
        uint8_t echo[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        sim_wsc_send(w, SIM_WSC_CLOSE, echo, 2);
    }
    assert_int_equal(sim_wsc_wait_eof(w, 3000), 1);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

static int group_setup(void **state)
{
    json_t *j;
    int st;

    (void)state;
    if (dmn_env_start(&g_env, "test_driver", "drv", PORT_FIRST, PORT_LAST) != 0)
        return -1;
    dmn_init(&g_d, &g_env, "main");
    if (dmn_config(&g_d, "{\"fleet\":[{\"id\":\"van\",\"count\":2,\"configs\":[{\"seats\":8,"
                         "\"wheelchairs\":0}],\"shift\":[\"07:00\",\"19:00\"]}],"
                         "\"replan\":{\"interval_s\":0}}") != 0 ||
        dmn_start(&g_d, "09:00") != 0)
        return -1;
    if (dmn_token(&g_d, "admin", g_tok_admin, sizeof(g_tok_admin)) != 0 ||
        dmn_token(&g_d, "operator", g_tok_op, sizeof(g_tok_op)) != 0 ||
        dmn_token(&g_d, "driver", g_tok_van1, sizeof(g_tok_van1)) != 0)
        return -1;
    if (sim_httpc_create("127.0.0.1", g_d.port, 5000, &g_c) != 0)
        return -1;
    j = http(g_tok_admin, "POST", "/v1/tokens", "{\"role\":\"driver\",\"vehicle_id\":\"van2\"}",
             &st);
    snprintf(g_tok_van2, sizeof(g_tok_van2), "%s", jstr(j, "token"));
    json_decref(j);
    j = http(g_tok_op, "GET", "/v1/health", NULL, &st);
    snprintf(g_today, sizeof(g_today), "%s", jstr(j, "service_date"));
    json_decref(j);
    j = http(g_tok_op, "GET", "/v1/stops", NULL, &st);
    json_t *s;
    size_t i;
    json_array_foreach(json_object_get(j, "stops"), i, s) {
        if (strcmp(jstr(s, "kind"), "stop") == 0 && g_n_stops < 64)
            snprintf(g_stops[g_n_stops++], sizeof(g_stops[0]), "%s", jstr(s, "id"));
    }
    json_decref(j);
    if (!g_tok_van2[0] || strlen(g_today) != 10 || g_n_stops < 20) {
        fprintf(stderr, "test_driver: setup incomplete (van2 token, date, %d stops)\n",
                g_n_stops);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_c != NULL)
        sim_httpc_destroy(g_c);
    if (dmn_term(&g_d, 5000, NULL) != 0)
        fprintf(stderr, "test_driver: the daemon had to be killed\n");
    dmn_env_stop(&g_env);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* 1. The upgrade                                                           */

static void test_upgrade(void **state)
{
    char auth[160], path[200];
    const char *hdr[2] = {auth, NULL};
    sim_wsc w;
    smsg *m;

    (void)state;
    assert_int_equal(ws_open(&w, "/v1/driver/ws", NULL, 0), SIM_WSC_EREFUSED);
    assert_int_equal(w.status, 401);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g_tok_op);
    assert_int_equal(ws_open(&w, "/v1/driver/ws", hdr, 0), SIM_WSC_EREFUSED);
    assert_int_equal(w.status, 403);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g_tok_van1);
    assert_int_equal(ws_open(&w, "/v1/driver/ws", hdr, SIM_WSC_NO_WS_HEADERS), SIM_WSC_EREFUSED);
    assert_int_equal(w.status, 426);
    assert_non_null(strstr(w.head, "upgrade_required"));
    {
        const char *bad[] = {auth, "Upgrade: websocket", "Connection: Upgrade",
                             "Sec-WebSocket-Key: " SIM_WSC_KEY, "Sec-WebSocket-Version: 12", NULL};
        assert_int_equal(ws_open(&w, "/v1/driver/ws", bad, SIM_WSC_NO_WS_HEADERS),
                         SIM_WSC_EREFUSED);
        assert_int_equal(w.status, 426);
        {
            char v[16];
            assert_int_equal(sim_wsc_header(&w, "Sec-WebSocket-Version", v, sizeof(v)), 1);
            assert_string_equal(v, "13");
        }
    }
    {
        const char *bad[] = {auth, "Upgrade: websocket", "Connection: keep-alive, Upgrade",
                             "Sec-WebSocket-Key: short", "Sec-WebSocket-Version: 13", NULL};
        assert_int_equal(ws_open(&w, "/v1/driver/ws", bad, SIM_WSC_NO_WS_HEADERS),
                         SIM_WSC_EREFUSED);
        assert_int_equal(w.status, 400);
    }
    /* A browser cannot set headers: the token in the query.  The Hello
     * comes in two fragments, split across writes. */
    snprintf(path, sizeof(path), "/v1/driver/ws?access_token=%s", g_tok_van1);
    assert_int_equal(ws_open(&w, path, NULL, 0), 0);
    {
        tmsg t = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
        Noriai__Driver__Hello h = NORIAI__DRIVER__HELLO__INIT;
        uint8_t buf[128];
        size_t n;
        h.vehicle_id = (char *)"van1";
        t.msg_case = NORIAI__DRIVER__TABLET_MESSAGE__MSG_HELLO;
        t.hello = &h;
        n = noriai__driver__tablet_message__pack(&t, buf);
        assert_int_equal(sim_wsc_send_frame(&w, 0, SIM_WSC_BINARY, buf, 3), 0);
        dmn_sleep_ms(20);
        assert_int_equal(sim_wsc_send_frame(&w, 1, 0, buf + 3, n - 3), 0);
    }
    m = next_route(&w, 3000);
    assert_non_null(m);
    assert_string_equal(m->route->vehicle_id, "van1");
    assert_string_equal(m->route->service_date, g_today);
    assert_true(m->route->seq >= 1);
    msg_free(m);
    sim_wsc_cleanup(&w);
}

/* ------------------------------------------------------------------------ */
/* 2. Confirmed bookings reach the tablet; latency                          */

/* Waits on tablet w for a route with booking id's pickup, timing its
 * arrival; the raw HTTP confirm runs meanwhile on fd hfd. */
typedef struct timed {
    int64_t route_ms, http_ms;
    int http_status;
    uint64_t seq;
} timed;

/* Sends the confirm on a fresh socket and polls it and the tablet. */
static int confirm_timed(sim_wsc *w, const char *id, timed *t)
{
    char req[600], resp[2048];
    size_t rl = 0;
    struct sockaddr_in a;
    int64_t t0, deadline;
    int hfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, n;

    memset(t, 0, sizeof(*t));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_d.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(hfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (hfd < 0 || connect(hfd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return -1;
    n = snprintf(req, sizeof(req),
                 "POST /v1/bookings/%s/confirm HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                 "Bearer %s\r\nIdempotency-Key: drv-c-%d-%d\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n",
                 id, g_tok_op, (int)getpid(), ++g_confirms);
    t0 = dmn_now_ms();
    if (send(hfd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(hfd);
        return -1;
    }
    deadline = t0 + 3000;
    while ((t->route_ms == 0 || t->http_ms == 0) && dmn_now_ms() < deadline) {
        struct pollfd p[2] = {{w->fd, POLLIN, 0}, {hfd, POLLIN, 0}};
        int np = t->http_ms == 0 ? 2 : 1;
        if (sim_wsc_buffered(w) > 0)
            p[0].revents = POLLIN; /* frames already buffered */
        else if (poll(p, (nfds_t)np, (int)(deadline - dmn_now_ms())) <= 0)
            continue;
        if (p[0].revents) {
            smsg *m = next_msg(w, 0);
            if (m != NULL && m->msg_case == NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE &&
                route_stop(m->route, id, NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP) != NULL) {
                t->route_ms = dmn_now_ms() - t0;
                t->seq = m->route->seq;
                /* the rider's details came along */
                const Noriai__Driver__RouteStop *st =
                    route_stop(m->route, id, NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP);
                assert_non_null(st->rider);
                assert_string_equal(st->rider->name, "乗合 花子");
                assert_int_equal(st->rider->passengers, 1);
                assert_non_null(strstr(st->rider->notes, "test"));
                assert_true(st->window_to_s > st->window_from_s);
                assert_non_null(route_stop(m->route, id, NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF));
            }
            msg_free(m);
        }
        if (np == 2 && p[1].revents) {
            ssize_t k = recv(hfd, resp + rl, sizeof(resp) - 1 - rl, 0);
            if (k <= 0) {
                resp[rl] = '\0';
                t->http_ms = dmn_now_ms() - t0;
                sscanf(resp, "HTTP/1.1 %d", &t->http_status);
            } else {
                rl += (size_t)k;
            }
        }
    }
    close(hfd);
    return t->route_ms > 0 && t->http_status == 200 ? 0 : -1;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void test_latency(void **state)
{
    sim_wsc tab[2];
    uint64_t last_seq[2];
    long long lat[N_LATENCY], http_lat[N_LATENCY];
    int n = 0, no_room = 0;

    (void)state;
    assert_int_equal(tablet_open(&tab[0], g_tok_van1), 0);
    assert_int_equal(tablet_open(&tab[1], g_tok_van2), 0);
    for (int k = 0; k < 2; k++) {
        smsg *m;
        hello(&tab[k], k == 0 ? "van1" : "van2", 0);
        m = next_route(&tab[k], 3000);
        assert_non_null(m);
        last_seq[k] = m->route->seq;
        msg_free(m);
    }
    for (int i = 0; i < N_LATENCY + 10 && n < N_LATENCY; i++) {
        char id[40], vid[48], hhmm[32];
        int t_min = 10 * 60 + i * 9, from = (i * 7) % g_n_stops, to = (i * 7 + 11) % g_n_stops;
        int k, rc;
        timed t;
        smsg *m;

        snprintf(hhmm, sizeof(hhmm), "%02d:%02d", t_min / 60, t_min % 60);
        rc = book(from, to, hhmm, id, vid);
        assert_true(rc >= 0);
        if (rc == 1) {
            no_room++;
            continue;
        }
        k = strcmp(vid, "van1") == 0 ? 0 : 1;
        assert_string_equal(vid, k == 0 ? "van1" : "van2");
        /* The offer's plan change may reach the tablet, without the offer. */
        while ((m = next_msg(&tab[k], 30)) != NULL) {
            if (m->msg_case == NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE) {
                assert_null(route_stop(m->route, id, -1));
                assert_true(m->route->seq > last_seq[k]);
                last_seq[k] = m->route->seq;
            }
            msg_free(m);
        }
        if (confirm_timed(&tab[k], id, &t) != 0) {
            print_error("booking %s on %s: no route update within 3 s (HTTP %d)\n", id, vid,
                        t.http_status);
            fail();
        }
        assert_true(t.seq > last_seq[k]);
        last_seq[k] = t.seq;
        lat[n] = t.route_ms;
        http_lat[n] = t.http_ms;
        n++;
    }
    assert_true(n >= N_LATENCY * 8 / 10);
    qsort(lat, (size_t)n, sizeof(lat[0]), cmp_ll);
    qsort(http_lat, (size_t)n, sizeof(http_lat[0]), cmp_ll);
    print_message("      %d bookings confirmed (%d without room): confirm -> route update on the "
                  "tablet p50 %lld ms, p99 %lld ms, max %lld ms; confirm answered p50 %lld ms, "
                  "p99 %lld ms\n",
                  n, no_room, lat[n / 2], lat[(n * 99 + 99) / 100 - 1], lat[n - 1],
                  http_lat[n / 2], http_lat[(n * 99 + 99) / 100 - 1]);
    sim_wsc_cleanup(&tab[0]);
    sim_wsc_cleanup(&tab[1]);
}

/* ------------------------------------------------------------------------ */
/* 3. Resume after a reconnect                                              */

static void test_resume(void **state)
{
    sim_wsc tab, mon;
    char ids[2][40];
    uint64_t seq0, seq_now = 0;
    int got = 0;
    smsg *m;

    (void)state;
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    m = next_route(&tab, 3000);
    assert_non_null(m);
    seq0 = m->route->seq;
    msg_free(m);
    sim_wsc_cleanup(&tab);
    /* Another tablet of van1 stays on, to know when the store has it all. */
    assert_int_equal(tablet_open(&mon, g_tok_van1), 0);
    hello(&mon, "van1", seq0);
    assert_null(next_route(&mon, 300));

    for (int i = 0; i < 30 && got < 2; i++) {
        char id[40], vid[48], hhmm[32];
        int t_min = 10 * 60 + 5 + i * 13, from = (i * 5 + 3) % g_n_stops,
            to = (i * 5 + 17) % g_n_stops;
        snprintf(hhmm, sizeof(hhmm), "%02d:%02d", t_min / 60, t_min % 60);
        int rc = book(from, to, hhmm, id, vid);
        assert_true(rc >= 0);
        if (rc != 0)
            continue;
        assert_int_equal(confirm(id), 200);
        if (strcmp(vid, "van1") == 0)
            snprintf(ids[got++], sizeof(ids[0]), "%s", id);
    }
    assert_int_equal(got, 2);
    /* The monitor sees the second one: stored, and the route with it sent. */
    for (;;) {
        m = next_route(&mon, 3000);
        assert_non_null(m);
        int done = route_stop(m->route, ids[1], -1) != NULL;
        seq_now = m->route->seq;
        msg_free(m);
        if (done)
            break;
    }
    assert_true(seq_now > seq0);
    assert_int_equal((long long)seq_now, plan_seq("van1"));

    /* Back with the old seq: the current route, once. */
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", seq0);
    m = next_route(&tab, 3000);
    assert_non_null(m);
    assert_int_equal(m->route->seq, seq_now);
    for (int k = 0; k < 2; k++) {
        assert_non_null(route_stop(m->route, ids[k], NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP));
        assert_non_null(route_stop(m->route, ids[k], NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF));
    }
    msg_free(m);
    assert_null(next_route(&tab, 700));
    sim_wsc_cleanup(&tab);

    /* Back with the current seq: nothing. */
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", seq_now);
    assert_null(next_route(&tab, 700));
    sim_wsc_cleanup(&tab);
    sim_wsc_cleanup(&mon);
}

/* ------------------------------------------------------------------------ */
/* 4. Cancellation notice; positions                                        */

static void test_cancel_position(void **state)
{
    char bid[40] = "", path[128];
    sim_wsc tab;
    smsg *m;
    int st;
    uint64_t seq;

    (void)state;
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    m = next_route(&tab, 3000);
    assert_non_null(m);
    for (size_t i = 0; i < m->route->n_stops; i++)
        if (m->route->stops[i]->kind == NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP)
            snprintf(bid, sizeof(bid), "%s", m->route->stops[i]->booking_id); /* the last */
    msg_free(m);
    assert_true(bid[0] != '\0');
    snprintf(path, sizeof(path), "/v1/bookings/%s/cancel", bid);
    json_decref(http(g_tok_op, "POST", path, "{\"reason\":\"test\"}", &st));
    assert_int_equal(st, 200);
    /* first the route without it, then the notice naming that route */
    m = next_msg(&tab, 3000);
    assert_non_null(m);
    assert_int_equal(m->msg_case, NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE);
    assert_null(route_stop(m->route, bid, -1));
    seq = m->route->seq;
    msg_free(m);
    m = next_msg(&tab, 3000);
    assert_non_null(m);
    assert_int_equal(m->msg_case, NORIAI__DRIVER__SERVER_MESSAGE__MSG_CANCELLATION);
    assert_string_equal(m->cancellation->booking_id, bid);
    assert_string_equal(m->cancellation->reason, "test");
    assert_int_equal(m->cancellation->seq, seq);
    msg_free(m);

    /* A position is kept without an answer; a wrong one is refused. */
    {
        tmsg t = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
        Noriai__Driver__Position p = NORIAI__DRIVER__POSITION__INIT;
        t.msg_case = NORIAI__DRIVER__TABLET_MESSAGE__MSG_POSITION;
        t.position = &p;
        p.lat = 35.95;
        p.lon = 139.58;
        p.unix_ms = 1700000000000LL;
        tablet_send(&tab, &t);
        assert_null(next_msg(&tab, 300));
        p.lat = 135.0;
        tablet_send(&tab, &t);
        m = expect_ack(&tab, "");
        assert_false(m->ack->ok);
        msg_free(m);
    }
    sim_wsc_cleanup(&tab);
}

/* ------------------------------------------------------------------------ */
/* 5. Events, applied once                                                  */

static void expect_ok(sim_wsc *w, const char *event_id, int ok)
{
    smsg *m = expect_ack(w, event_id);

    if (m->ack->ok != ok) {
        print_error("Ack %s: ok=%d (%s), expected %d\n", event_id, m->ack->ok, m->ack->error, ok);
        fail();
    }
    if (!ok)
        assert_true(strlen(m->ack->error) > 0);
    msg_free(m);
}

static void test_events(void **state)
{
    char bid[40], sql_out[512], path[128], evid[3][48], clock[8];
    sim_wsc tab;
    smsg *m;
    int st;
    json_t *j;

    (void)state;
    for (int i = 0; i < 3; i++)
        snprintf(evid[i], sizeof(evid[i]), "ev-%d-%d", (int)getpid(), i);
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    m = next_route(&tab, 3000);
    assert_non_null(m);
    assert_true(m->route->n_stops > 0);
    assert_int_equal(m->route->stops[0]->kind, NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP);
    snprintf(bid, sizeof(bid), "%s", m->route->stops[0]->booking_id);
    msg_free(m);

    /* Refused, nothing changed: no id, a booking not next, alighting before boarding. */
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, "", bid);
    expect_ok(&tab, "", 0);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, "ev-nobody", "bk_nobody");
    expect_ok(&tab, "ev-nobody", 0);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED, "ev-early", bid);
    expect_ok(&tab, "ev-early", 0);

    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED, evid[0], "");
    expect_ok(&tab, evid[0], 1);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED, evid[1], bid);
    expect_ok(&tab, evid[1], 1);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, evid[2], bid);
    expect_ok(&tab, evid[2], 1);
    /* the route without the pickup came before the Ack */
    sim_wsc_cleanup(&tab);

    /* The same boarding again over a new connection: the same answer, once. */
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, evid[2], bid);
    expect_ok(&tab, evid[2], 1);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, "ev-board-again", bid);
    expect_ok(&tab, "ev-board-again", 0);
    sim_wsc_cleanup(&tab);

    snprintf(path, sizeof(path), "/v1/bookings/%s", bid);
    j = http(g_tok_op, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "status"), "picked_up");
    json_decref(j);
    query_text("SELECT string_agg(kind || ' ' || from_status || '>' || to_status, "
               "';' ORDER BY id) FROM booking_events WHERE booking_id = $1",
               bid, sql_out);
    print_message("      booking_events of %s: %s\n", bid, sql_out);
    query_text("SELECT count(*) FROM booking_events WHERE booking_id = $1 AND "
               "kind = 'status' AND to_status = 'picked_up'",
               bid, sql_out);
    assert_string_equal(sql_out, "1");
    query_text("SELECT string_agg(kind || '=' || result, ';' ORDER BY kind) FROM driver_events "
               "WHERE event_id LIKE 'ev-%'",
               NULL, sql_out);
    print_message("      driver_events: %s\n", sql_out);
    query_text("SELECT count(*) FROM driver_events WHERE event_id = $1 AND result = 'ok'", evid[2],
               sql_out);
    assert_string_equal(sql_out, "1");

    /* And after a restart, from the store. */
    {
        char now[40] = "";
        int h = 9, mi = 0;
        dmn_health(g_d.port, now, sizeof(now));
        if (strlen(now) >= 16)
            sscanf(now + 11, "%2d:%2d", &h, &mi);
        mi += 1;
        snprintf(clock, sizeof(clock), "%02d:%02d", (h + mi / 60) % 24, mi % 60);
    }
    sim_httpc_destroy(g_c);
    g_c = NULL;
    /* A tablet still on at shutdown hears 1001 and the daemon exits in time. */
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    msg_free(next_route(&tab, 3000));
    assert_int_equal(dmn_term(&g_d, 5000, NULL), 0);
    {
        uint8_t *p;
        size_t len;
        int op;
        while ((op = sim_wsc_recv(&tab, 2000, &p, &len)) == SIM_WSC_BINARY)
            free(p);
        free(p);
        assert_int_equal(op, SIM_WSC_CLOSE);
        assert_int_equal(tab.close_code, 1001);
    }
    sim_wsc_cleanup(&tab);
    assert_int_equal(dmn_start(&g_d, clock), 0);
    assert_int_equal(sim_httpc_create("127.0.0.1", g_d.port, 5000, &g_c), 0);
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, evid[2], bid);
    expect_ok(&tab, evid[2], 1);
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED, "ev-early", bid);
    expect_ok(&tab, "ev-early", 0);
    sim_wsc_cleanup(&tab);
    query_text("SELECT count(*) FROM booking_events WHERE booking_id = $1 AND "
               "kind = 'status' AND to_status = 'picked_up'",
               bid, sql_out);
    assert_string_equal(sql_out, "1");
}

/* ------------------------------------------------------------------------ */
/* 6. Bad frames                                                            */

static void test_bad_frames(void **state)
{
    static const uint8_t not_pb[] = {0x52, 0x10, 'a', 'b'}; /* field 10, 16 bytes promised */
    char before[512], after[512], bid[40] = "";
    long long seq_before;
    uint8_t ev[512];
    size_t ev_len;
    sim_wsc w;
    smsg *m;

    (void)state;
    /* A booking of van1 still waiting for its pickup, for the event that
     * must be ignored after each bad frame. */
    assert_int_equal(tablet_open(&w, g_tok_van1), 0);
    hello(&w, "van1", 0);
    m = next_route(&w, 3000);
    assert_non_null(m);
    for (size_t i = 0; i < m->route->n_stops && !bid[0]; i++)
        if (m->route->stops[i]->kind == NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP)
            snprintf(bid, sizeof(bid), "%s", m->route->stops[i]->booking_id);
    msg_free(m);
    sim_wsc_cleanup(&w);
    assert_true(bid[0] != '\0');
    ev_len = event_bytes(NORIAI__DRIVER__TABLET_MESSAGE__MSG_NO_SHOW, "ev-ignored", bid, ev);
    store_counts(before);
    seq_before = plan_seq("van1");

    for (int k = 0; k < 4; k++) {
        static const int codes[] = {1003, 1007, 1009, 1008};
        assert_int_equal(tablet_open(&w, g_tok_van1), 0);
        if (k == 0) {
            assert_int_equal(sim_wsc_send(&w, SIM_WSC_TEXT, "hello", 5), 0);
        } else if (k == 1) {
            assert_int_equal(sim_wsc_send(&w, SIM_WSC_BINARY, not_pb, sizeof(not_pb)), 0);
        } else if (k == 2) {
            size_t big = 70 * 1024;
            uint8_t *p = calloc(1, big);
            assert_non_null(p);
            assert_int_equal(sim_wsc_send(&w, SIM_WSC_BINARY, p, big), 0);
            free(p);
        } else {
            hello(&w, "van2", 0);
        }
        /* right behind it, an event that must not count */
        assert_int_equal(sim_wsc_send(&w, SIM_WSC_BINARY, ev, ev_len), 0);
        expect_close(&w, codes[k]);
        sim_wsc_cleanup(&w);
    }
    store_counts(after);
    assert_string_equal(before, after);
    assert_int_equal(plan_seq("van1"), seq_before);

    /* Random frames and damaged events (as van2, whose state nobody
     * checks): the daemon answers or closes, and stays up. */
    {
        uint32_t x = 12345u ^ (uint32_t)getpid();
        int closes = 0;
        assert_int_equal(tablet_open(&w, g_tok_van2), 0);
        for (int i = 0; i < 300; i++) {
            uint8_t buf[256];
            size_t n;
            x = x * 1103515245u + 12345u;
            if (i % 2 == 0) {
                n = (x >> 8) % sizeof(buf);
                for (size_t k = 0; k < n; k++) {
                    x = x * 1103515245u + 12345u;
                    buf[k] = (uint8_t)(x >> 16);
                }
            } else {
                n = event_bytes(NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED + (int)(x % 6),
                                "ev-fuzz", "bk_x", buf);
                buf[(x >> 8) % n] ^= (uint8_t)(1u << ((x >> 4) % 8));
            }
            if (sim_wsc_send(&w, SIM_WSC_BINARY, buf, n) != 0 || w.fd < 0) {
                sim_wsc_cleanup(&w);
                closes++;
                assert_int_equal(tablet_open(&w, g_tok_van2), 0);
                continue;
            }
            {
                /* drain; a close means: connect again */
                uint8_t *p;
                size_t len;
                int op;
                while ((op = sim_wsc_recv(&w, 5, &p, &len)) > 0 && op != SIM_WSC_CLOSE)
                    free(p);
                free(p);
                if (op != 0) {
                    sim_wsc_cleanup(&w);
                    closes++;
                    assert_int_equal(tablet_open(&w, g_tok_van2), 0);
                }
            }
        }
        sim_wsc_cleanup(&w);
        print_message("      300 random or damaged frames: %d connections closed by the daemon\n",
                      closes);
        assert_int_equal(dmn_health(g_d.port, NULL, 0), 200);
    }

    /* A valid frame that is no known kind gets a refusal, not a close. */
    assert_int_equal(tablet_open(&w, g_tok_van1), 0);
    {
        uint8_t empty = 0;
        assert_int_equal(sim_wsc_send(&w, SIM_WSC_BINARY, &empty, 0), 0);
    }
    m = expect_ack(&w, "");
    assert_false(m->ack->ok);
    msg_free(m);
    sim_wsc_cleanup(&w);
}

/* ------------------------------------------------------------------------ */
/* 7. The store away while a tablet reports                                 */

static void test_store_outage(void **state)
{
    char bid[40], evid[48], sql_out[512], path[128];
    sim_wsc tab;
    smsg *m;
    int st;
    json_t *j;

    (void)state;
    snprintf(evid, sizeof(evid), "ev-outage-%d", (int)getpid());
    assert_int_equal(tablet_open(&tab, g_tok_van1), 0);
    hello(&tab, "van1", 0);
    m = next_route(&tab, 3000);
    assert_non_null(m);
    assert_true(m->route->n_stops > 0);
    /* Riders still on board from the earlier tests (restored on board after
     * the restart) get off first: the events concern the plan's first stop. */
    for (int guard = 0; guard < 20 && m->route->stops[0]->kind !=
                                          NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP;
         guard++) {
        char drop_ev[64];
        assert_int_equal(m->route->stops[0]->kind, NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF);
        snprintf(bid, sizeof(bid), "%s", m->route->stops[0]->booking_id);
        msg_free(m);
        snprintf(drop_ev, sizeof(drop_ev), "%s-off-%d", evid, guard);
        send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED, drop_ev, bid);
        m = expect_ack(&tab, drop_ev);
        assert_true(m->ack->ok);
        msg_free(m);
        hello(&tab, "van1", 0); /* the current route again (expect_ack skipped it) */
        m = next_route(&tab, 3000);
        assert_non_null(m);
        assert_true(m->route->n_stops > 0);
    }
    assert_int_equal(m->route->stops[0]->kind, NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP);
    snprintf(bid, sizeof(bid), "%s", m->route->stops[0]->booking_id);
    msg_free(m);

    assert_int_equal(pgt_stop(g_env.pg), 0);
    /* Applied in memory, not stored: no Ack, also not for the same event again. */
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, evid, bid);
    assert_null(next_msg(&tab, 800));
    send_event(&tab, NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED, evid, bid);
    assert_null(next_msg(&tab, 300));
    assert_int_equal(pgt_run("start", g_env.pg, NULL, 0), 0);
    /* Stored once the store is back, then acknowledged (route first). */
    m = expect_ack(&tab, evid);
    assert_true(m->ack->ok);
    msg_free(m);
    sim_wsc_cleanup(&tab);

    snprintf(path, sizeof(path), "/v1/bookings/%s", bid);
    j = http(g_tok_op, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "status"), "picked_up");
    json_decref(j);
    query_text("SELECT count(*) FROM driver_events WHERE event_id = $1 AND result = 'ok'", evid,
               sql_out);
    assert_string_equal(sql_out, "1");
    /* the booking's own change is stored by the daemon's next commit */
    for (int i = 0; i < 50; i++) {
        query_text("SELECT count(*) FROM booking_events WHERE booking_id = $1 AND "
                   "kind = 'status' AND to_status = 'picked_up'",
                   bid, sql_out);
        if (strcmp(sql_out, "0") != 0)
            break;
        dmn_sleep_ms(100);
    }
    assert_string_equal(sql_out, "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade),     cmocka_unit_test(test_latency),
        cmocka_unit_test(test_resume),      cmocka_unit_test(test_cancel_position),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_events),      cmocka_unit_test(test_store_outage),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
