/*
 * test_api.c - `noriai serve` end to end: a real PostgreSQL cluster in a
 * temporary folder (tests/pgtest.h), the daemon as a child process
 * ($NORIAI_BIN, else build/noriai) on a loopback port, and HTTP through the
 * project's own blocking client (simulator/httpc.h).
 *
 * The daemon runs with --clock 09:00, so its service hours hold whenever the
 * test runs; requested times in the tests ("10:30") are on that clock.  The
 * demo tokens (--demo-tokens) give one token per role (rider r_demo, driver
 * of van1); more riders and tokens are made through the API.
 *
 * What is checked (one cmocka test each):
 *   lifecycle     quote (nothing held), book, confirm, read, list with
 *                 filters and paging, cancel, the vehicle's plan following
 *                 along; places by coordinates; arrive_by and depart_after;
 *                 a wheelchair; rider search; confirming a cancelled booking
 *   authorization every route of the daemon's table against every role, no
 *                 token and a bad token; riders and drivers confined to
 *                 their own bookings and vehicle
 *   bad input     every POST endpoint and the query endpoints: malformed,
 *                 mistyped, missing, unknown, out of area, past, too far,
 *                 oversized, unknown ids, replayed idempotency keys (also
 *                 one key from four connections at once); the daemon alive
 *                 afterwards and the store unchanged
 *   no room       a second daemon on a one-seat van (own database): 409 with
 *                 reason and alternatives; offers expiring (offer_ttl_s 10)
 *   openapi       the served document's operations equal the route table
 *   kill -9       every acknowledged booking back after SIGKILL and restart
 *                 with its status and promise, confirmed ones in a plan,
 *                 replays answered without doubles; the same with two
 *                 clients booking while the daemon is killed
 *   db restart    PostgreSQL stopped under the daemon: 503 fast, then back;
 *                 the same under load, where every 503 retried with its key
 *                 must end as exactly one booking
 *   shutdown      SIGTERM: exit 0 within 5 s
 *
 * Ports come from 18281..18299 (the first free one, probed before the
 * start).  About 20 s, 11 of them waiting for an offer to expire.
 *
 * The daemons are started and stopped by tests/api/daemon.h.  Under the
 * sanitizers: point NORIAI_BIN at a sanitized daemon ($(SANDIR)/noriai);
 * its reports land in the daemon logs, kept with NORIAI_KEEP_TEST_LOGS=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/server/srv_int.h"
#include "data/db/db.h"
#include "simulator/httpc.h"

#define PORT_FIRST 18281
#define PORT_LAST 18299
#define CLIENT_TIMEOUT_MS 5000

/* ------------------------------------------------------------------------ */
/* Small things                                                             */

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* A date n days from date (YYYY-MM-DD) into out[11]. */
static void date_add(const char *date, int n, char out[11])
{
    int y = 1970, m = 1, d = 1;

    sscanf(date, "%4d-%2d-%2d", &y, &m, &d);
    civil_from_days(days_from_civil(y, m, d) + n, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* ------------------------------------------------------------------------ */
/* The daemons (tests/api/daemon.h)                                         */

static dmn_env g_env; /* the binary, this program's folder, the cluster */
static dmn g_main;
static sim_httpc *g_c;  /* a client of g_main */
static dmn g_vans;      /* the one-van daemon of test_no_room */
static sim_httpc *g_vc; /* a client of g_vans */

/* ------------------------------------------------------------------------ */
/* HTTP                                                                     */

typedef struct res {
    int status; /* HTTP status, or a negative SIM_HTTPC_E code */
    json_t *j;  /* the body parsed, or NULL */
    sim_http_resp r;
    int64_t ms; /* how long the answer took */
} res;

static void res_free(res *r)
{
    json_decref(r->j);
    r->j = NULL;
    if (r->status > 0)
        sim_http_resp_free(&r->r);
    r->status = 0;
}

/* One request; tok NULL: no Authorization, "" or anything: that bearer. */
static res call_raw(sim_httpc *c, const char *tok, const char *method, const char *path,
                    const char *idem, const char *body, size_t body_len)
{
    char auth[256], key[320];
    const char *hdr[4];
    int n = 0, rc;
    res out;
    int64_t t0 = dmn_now_ms();

    memset(&out, 0, sizeof(out));
    if (tok != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        hdr[n++] = auth;
    }
    if (idem != NULL) {
        snprintf(key, sizeof(key), "Idempotency-Key: %s", idem);
        hdr[n++] = key;
    }
    if (body != NULL)
        hdr[n++] = "Content-Type: application/json";
    hdr[n] = NULL;
    rc = sim_httpc_request(c, method, path, hdr, body, body_len, &out.r);
    out.ms = dmn_now_ms() - t0;
    if (rc != 0) {
        out.status = rc;
        return out;
    }
    out.status = out.r.status;
    if (out.r.body_len > 0)
        out.j = json_loadb(out.r.body, out.r.body_len, 0, NULL);
    return out;
}

static res call(sim_httpc *c, const char *tok, const char *method, const char *path,
                const char *idem, const char *body)
{
    return call_raw(c, tok, method, path, idem, body, body ? strlen(body) : 0);
}

/* POST with a printf-formatted body. */
static res postf(sim_httpc *c, const char *tok, const char *path, const char *idem,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static res postf(sim_httpc *c, const char *tok, const char *path, const char *idem,
                 const char *fmt, ...)
{
    char body[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    return call(c, tok, "POST", path, idem, body);
}

static res getf(sim_httpc *c, const char *tok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static res getf(sim_httpc *c, const char *tok, const char *fmt, ...)
{
    char path[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return call(c, tok, "GET", path, NULL, NULL);
}

static const char *body_of(const res *r)
{
    return r->status > 0 && r->r.body != NULL ? r->r.body : "(no answer)";
}

/* Fails the test with the request and the answer when the status differs. */
#define expect_status(r, want, what)                                                               \
    do {                                                                                           \
        if ((r).status != (want)) {                                                                \
            print_error("%s:%d: %s: expected HTTP %d, got %d%s%s\n   answer: %.600s\n", __FILE__, \
                        __LINE__, (what), (want), (r).status, (r).status < 0 ? " " : "",          \
                        (r).status < 0 ? sim_httpc_strerror((r).status) : "", body_of(&(r)));    \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* The same, and error.code must be code. */
#define expect_error(r, want, code, what)                                                          \
    do {                                                                                           \
        expect_status(r, want, what);                                                              \
        if (strcmp(err_code(&(r)), (code)) != 0) {                                                 \
            print_error("%s:%d: %s: expected error.code \"%s\", got \"%s\"\n   answer: %.600s\n", \
                        __FILE__, __LINE__, (what), (code), err_code(&(r)), body_of(&(r)));       \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

static json_t *jget(json_t *o, const char *key)
{
    return json_object_get(o, key);
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -999999;
}

static const char *err_code(const res *r)
{
    return jstr(jget(r->j, "error"), "code");
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                 */

enum { T_ADMIN, T_OPERATOR, T_RIDER, T_DRIVER, T_PLANNER, T_N };
static const char *const role_names[T_N] = {"admin", "operator", "rider", "driver", "planner"};
static char g_tok[T_N][80];
static char g_today[11];
static int g_idem_n;

/* A fresh Idempotency-Key. */
static const char *new_key(char buf[48])
{
    snprintf(buf, 48, "test-%d-%d", (int)getpid(), ++g_idem_n);
    return buf;
}

static int read_tokens(const char *path)
{
    json_t *j = json_load_file(path, 0, NULL);
    int ok = j != NULL;

    for (int i = 0; i < T_N && ok; i++) {
        const char *t = json_string_value(json_object_get(j, role_names[i]));
        if (t == NULL || strlen(t) >= sizeof(g_tok[i]))
            ok = 0;
        else
            snprintf(g_tok[i], sizeof(g_tok[i]), "%s", t);
    }
    json_decref(j);
    return ok ? 0 : -1;
}

/* Registers a rider (as operator); its id into id[40]. */
static void make_rider(sim_httpc *c, const char *name, char id[40])
{
    char k[48];
    res r = postf(c, g_tok[T_OPERATOR], "/v1/riders", new_key(k),
                  "{\"name\":\"%s\",\"name_kana\":\"てすと\",\"phone\":\"03-1234-5678\",\"allow_duplicate\":true}",
                  name);

    expect_status(r, 201, "POST /v1/riders");
    snprintf(id, 40, "%s", jstr(r.j, "id"));
    assert_true(id[0] != '\0');
    res_free(&r);
}

/* A token (as admin) for role, with a rider or vehicle id as it needs. */
static void make_token(sim_httpc *c, const char *role, const char *rider, const char *vehicle,
                       char tok[80])
{
    char body[300], k[48];
    res r;

    snprintf(body, sizeof(body), "{\"role\":\"%s\"%s%s%s%s%s%s}", role, rider ? ",\"rider_id\":\"" : "",
             rider ? rider : "", rider ? "\"" : "", vehicle ? ",\"vehicle_id\":\"" : "",
             vehicle ? vehicle : "", vehicle ? "\"" : "");
    r = call(c, g_tok[T_ADMIN], "POST", "/v1/tokens", new_key(k), body);
    expect_status(r, 201, "POST /v1/tokens");
    snprintf(tok, 80, "%s", jstr(r.j, "token"));
    assert_true(tok[0] != '\0');
    res_free(&r);
}

/* Books (as tok) a trip; the answer is the caller's to free. */
static res book(sim_httpc *c, const char *tok, const char *idem, const char *rider,
                const char *from, const char *to, const char *when, const char *time_s)
{
    char body[600], k[48];

    snprintf(body, sizeof(body),
             "{%s%s%s\"pickup\":{\"stop_id\":\"%s\"},\"dropoff\":{\"stop_id\":\"%s\"},"
             "\"when\":\"%s\"%s%s%s}",
             rider ? "\"rider_id\":\"" : "", rider ? rider : "", rider ? "\"," : "", from, to,
             when, time_s ? ",\"time\":\"" : "", time_s ? time_s : "", time_s ? "\"" : "");
    return call(c, tok, "POST", "/v1/bookings", idem ? idem : new_key(k), body);
}

static res confirm(sim_httpc *c, const char *tok, const char *id, const char *idem)
{
    char path[128], k[48];

    snprintf(path, sizeof(path), "/v1/bookings/%.100s/confirm", id);
    return call(c, tok, "POST", path, idem ? idem : new_key(k), NULL);
}

static res cancel(sim_httpc *c, const char *tok, const char *id)
{
    char path[128], k[48];

    snprintf(path, sizeof(path), "/v1/bookings/%.100s/cancel", id);
    return call(c, tok, "POST", path, new_key(k), "{\"reason\":\"test\"}");
}

/* How many stops of vehicle vid's plan belong to booking id (kind NULL:
 * any; else "pickup" or "dropoff"); the planned second of the last one
 * into *planned_s when not NULL. */
static int plan_stops_of(sim_httpc *c, const char *vid, const char *id, const char *kind,
                         long long *planned_s)
{
    res r = getf(c, g_tok[T_OPERATOR], "/v1/vehicles/%s/plan", vid);
    json_t *st;
    size_t i;
    int n = 0;

    expect_status(r, 200, "GET plan");
    json_array_foreach(jget(r.j, "stops"), i, st) {
        if (strcmp(jstr(st, "booking_id"), id) != 0)
            continue;
        if (kind != NULL && strcmp(jstr(st, "kind"), kind) != 0)
            continue;
        n++;
        if (planned_s != NULL)
            *planned_s = jint(st, "planned_s");
    }
    res_free(&r);
    return n;
}

/* The sum of n_stops over the vehicles of today. */
static long long total_plan_stops(sim_httpc *c)
{
    res r = getf(c, g_tok[T_OPERATOR], "/v1/vehicles");
    json_t *v;
    size_t i;
    long long n = 0;

    expect_status(r, 200, "GET /v1/vehicles");
    json_array_foreach(jget(r.j, "vehicles"), i, v)
        n += jint(v, "n_stops");
    res_free(&r);
    return n;
}

/* Bookings listed for a query (all pages). */
static int count_listed(sim_httpc *c, const char *query)
{
    char cursor[64] = "";
    int n = 0;

    for (int page = 0; page < 100; page++) {
        res r = getf(c, g_tok[T_OPERATOR], "/v1/bookings?%s&limit=200%s%s", query,
                     cursor[0] ? "&cursor=" : "", cursor);
        expect_status(r, 200, "GET /v1/bookings (count)");
        n += (int)json_array_size(jget(r.j, "bookings"));
        const char *next = json_string_value(jget(r.j, "next_cursor"));
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        res_free(&r);
        if (!cursor[0])
            break;
    }
    return n;
}

/* Row counts of the store's tables as one string (512 bytes). */
static void store_counts(char out[512])
{
    if (dmn_query(g_env.conninfo,
                  "SELECT 'bookings=' || (SELECT count(*) FROM bookings), "
                  "'events=' || (SELECT count(*) FROM booking_events), "
                  "'riders=' || (SELECT count(*) FROM riders), "
                  "'tokens=' || (SELECT count(*) FROM tokens), "
                  "'idem=' || (SELECT count(*) FROM idempotency_keys), "
                  "'vehicles=' || (SELECT count(*) FROM vehicles), "
                  "'shifts=' || (SELECT count(*) FROM shifts)",
                  NULL, out, 512) < 0) {
        print_error("store_counts: %s\n", out);
        fail();
    }
}

/* ------------------------------------------------------------------------ */
/* Group setup: one cluster, the main daemon, its tokens                    */

static int group_setup(void **state)
{
    res r;

    (void)state;
    if (dmn_env_start(&g_env, "test_api", "api", PORT_FIRST, PORT_LAST) != 0)
        return -1;
    dmn_init(&g_main, &g_env, "main");
    if (dmn_start(&g_main, "09:00") != 0 || read_tokens(g_main.tokens) != 0 ||
        sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &g_c) != 0) {
        dmn_kill9(&g_main);
        dmn_env_stop(&g_env);
        return -1;
    }
    r = getf(g_c, NULL, "/v1/health");
    snprintf(g_today, sizeof(g_today), "%s", jstr(r.j, "service_date"));
    res_free(&r);
    return strlen(g_today) == 10 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_c != NULL)
        sim_httpc_destroy(g_c);
    g_c = NULL;
    if (g_vc != NULL)
        sim_httpc_destroy(g_vc);
    g_vc = NULL;
    /* Daemons a failed test left running. */
    if (g_vans.pid != 0 && dmn_term(&g_vans, 5000, NULL) != 0)
        fprintf(stderr, "test_api: the one-van daemon had to be killed at the end\n");
    if (g_main.pid != 0 && dmn_term(&g_main, 5000, NULL) != 0)
        fprintf(stderr, "test_api: the daemon had to be killed at the end\n");
    dmn_env_stop(&g_env);
    return 0;
}

/* Every test starts with the main daemon up (an earlier failure may have
 * left it down) and a fresh connection. */
static int test_setup(void **state)
{
    (void)state;
    if (g_main.pid != 0 && dmn_exited(&g_main, NULL)) {
        fprintf(stderr, "test_api: the daemon died during an earlier test\n");
        dmn_print_tail(g_main.log, 30);
    }
    if (pgt_run("start", g_env.pg, NULL, 0) != 0)
        return -1;
    if (g_main.pid == 0 || dmn_health(g_main.port, NULL, 0) != 200) {
        char clock[16];
        dmn_clock_after(&g_main, clock);
        dmn_kill9(&g_main);
        if (dmn_start(&g_main, clock) != 0)
            return -1;
    }
    if (g_c != NULL)
        sim_httpc_destroy(g_c);
    return sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &g_c) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* 1. The booking lifecycle                                                 */

static void test_lifecycle(void **state)
{
    char rider[40], id[40], vid[48], loc[128], want[128];
    char ids[3][40];
    long long stops0;
    res q1, q2, r;

    (void)state;
    make_rider(g_c, "Lifecycle Rider", rider);

    /* A quote holds nothing: the same question gets the same options, and
     * the vehicles' plans keep their stops. */
    stops0 = total_plan_stops(g_c);
    q1 = postf(g_c, g_tok[T_OPERATOR], "/v1/quotes", NULL,
               "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s012\"},"
               "\"dropoff\":{\"stop_id\":\"s045\"},\"when\":\"depart_after\",\"time\":\"10:30\"}",
               rider);
    expect_status(q1, 200, "POST /v1/quotes");
    assert_true(json_is_true(jget(q1.j, "available")));
    assert_true(json_array_size(jget(q1.j, "options")) >= 1);
    q2 = postf(g_c, g_tok[T_OPERATOR], "/v1/quotes", NULL,
               "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s012\"},"
               "\"dropoff\":{\"stop_id\":\"s045\"},\"when\":\"depart_after\",\"time\":\"10:30\"}",
               rider);
    expect_status(q2, 200, "second POST /v1/quotes");
    if (!json_equal(jget(q1.j, "options"), jget(q2.j, "options"))) {
        print_error("a second identical quote differs:\n%s\n%s\n", q1.r.body, q2.r.body);
        fail();
    }
    assert_int_equal(total_plan_stops(g_c), stops0);

    /* The rider is found by phone and by name. */
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/riders?phone=1234-5678");
    expect_status(r, 200, "riders by phone");
    {
        json_t *x;
        size_t i;
        int found = 0;
        json_array_foreach(jget(r.j, "riders"), i, x)
            found += strcmp(jstr(x, "id"), rider) == 0;
        assert_int_equal(found, 1);
    }
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/riders?name=lifecycle");
    expect_status(r, 200, "riders by name");
    assert_int_equal(json_array_size(jget(r.j, "riders")), 1);
    assert_string_equal(jstr(json_array_get(jget(r.j, "riders"), 0), "id"), rider);
    res_free(&r);

    /* Book: an offer with a 10-minute pickup window, where Location says. */
    r = book(g_c, g_tok[T_OPERATOR], NULL, rider, "s012", "s045", "depart_after", "10:30");
    expect_status(r, 201, "POST /v1/bookings");
    assert_string_equal(jstr(r.j, "status"), "offered");
    assert_int_equal(jint(r.j, "pickup_to_s") - jint(r.j, "pickup_from_s"), 600);
    assert_true(jint(r.j, "pickup_from_s") >= 10 * 3600 + 30 * 60);
    snprintf(id, sizeof(id), "%s", jstr(r.j, "id"));
    snprintf(vid, sizeof(vid), "%s", jstr(r.j, "vehicle_id"));
    assert_true(id[0] && vid[0]);
    assert_true(sim_http_resp_header(&r.r, "Location", loc, sizeof(loc)) == 1);
    snprintf(want, sizeof(want), "/v1/bookings/%s", id);
    assert_string_equal(loc, want);
    /* The offer is an option the quote gave. */
    assert_int_equal(jint(r.j, "pickup_from_s"),
                     jint(json_array_get(jget(q1.j, "options"), 0), "pickup_from_s"));
    res_free(&q1);
    res_free(&q2);
    res_free(&r);
    assert_int_equal(plan_stops_of(g_c, vid, id, "pickup", NULL), 1);
    assert_int_equal(plan_stops_of(g_c, vid, id, "dropoff", NULL), 1);

    /* Confirm, then read it back. */
    r = confirm(g_c, g_tok[T_OPERATOR], id, NULL);
    expect_status(r, 200, "confirm");
    assert_string_equal(jstr(r.j, "status"), "confirmed");
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", id);
    expect_status(r, 200, "GET /v1/bookings/{id}");
    assert_string_equal(jstr(r.j, "id"), id);
    assert_string_equal(jstr(r.j, "status"), "confirmed");
    assert_string_equal(jstr(r.j, "rider_id"), rider);
    assert_string_equal(jstr(jget(r.j, "pickup"), "stop_id"), "s012");
    res_free(&r);

    /* Two more for this rider, one confirmed: list by rider, date, status,
     * and page through with limit + next_cursor. */
    for (int i = 0; i < 2; i++) {
        char t[16];
        snprintf(t, sizeof(t), "1%d:00", 4 + i);
        r = book(g_c, g_tok[T_OPERATOR], NULL, rider, "s020", "s060", "depart_after", t);
        expect_status(r, 201, "POST /v1/bookings (list)");
        snprintf(ids[i], sizeof(ids[i]), "%s", jstr(r.j, "id"));
        res_free(&r);
    }
    r = confirm(g_c, g_tok[T_OPERATOR], ids[0], NULL);
    expect_status(r, 200, "confirm (list)");
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&date=%s", rider, g_today);
    expect_status(r, 200, "list by rider and date");
    assert_int_equal(json_array_size(jget(r.j, "bookings")), 3);
    assert_true(json_is_null(jget(r.j, "next_cursor")));
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&date=%s&status=confirmed", rider,
             g_today);
    expect_status(r, 200, "list confirmed");
    assert_int_equal(json_array_size(jget(r.j, "bookings")), 2);
    {
        json_t *b;
        size_t i;
        json_array_foreach(jget(r.j, "bookings"), i, b)
            assert_string_equal(jstr(b, "status"), "confirmed");
    }
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&status=offered", rider);
    expect_status(r, 200, "list offered");
    assert_int_equal(json_array_size(jget(r.j, "bookings")), 1);
    assert_string_equal(jstr(json_array_get(jget(r.j, "bookings"), 0), "id"), ids[1]);
    res_free(&r);
    {
        char next[64], seen[3][40];
        char tomorrow[11];
        r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&limit=2", rider);
        expect_status(r, 200, "page 1");
        assert_int_equal(json_array_size(jget(r.j, "bookings")), 2);
        assert_true(json_is_string(jget(r.j, "next_cursor")));
        snprintf(next, sizeof(next), "%s", jstr(r.j, "next_cursor"));
        for (int i = 0; i < 2; i++)
            snprintf(seen[i], sizeof(seen[i]), "%s",
                     jstr(json_array_get(jget(r.j, "bookings"), (size_t)i), "id"));
        res_free(&r);
        r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&limit=2&cursor=%s", rider, next);
        expect_status(r, 200, "page 2");
        assert_int_equal(json_array_size(jget(r.j, "bookings")), 1);
        assert_true(json_is_null(jget(r.j, "next_cursor")));
        snprintf(seen[2], sizeof(seen[2]), "%s",
                 jstr(json_array_get(jget(r.j, "bookings"), 0), "id"));
        res_free(&r);
        /* The pages together are the three bookings, each once. */
        const char *all[3] = {id, ids[0], ids[1]};
        for (int a = 0; a < 3; a++) {
            int found = 0;
            for (int b = 0; b < 3; b++)
                found += strcmp(all[a], seen[b]) == 0;
            assert_int_equal(found, 1);
        }
        date_add(g_today, 1, tomorrow);
        r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&date=%s", rider, tomorrow);
        expect_status(r, 200, "list of another date");
        assert_int_equal(json_array_size(jget(r.j, "bookings")), 0);
        res_free(&r);
    }

    /* Cancel: the plan loses both stops. */
    r = cancel(g_c, g_tok[T_OPERATOR], id);
    expect_status(r, 200, "cancel");
    assert_string_equal(jstr(r.j, "status"), "cancelled");
    res_free(&r);
    assert_int_equal(plan_stops_of(g_c, vid, id, NULL, NULL), 0);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", id);
    expect_status(r, 200, "GET cancelled");
    assert_string_equal(jstr(r.j, "status"), "cancelled");
    res_free(&r);
    /* Cancelling again changes nothing; confirming now is a conflict. */
    r = cancel(g_c, g_tok[T_OPERATOR], id);
    expect_status(r, 200, "cancel again");
    assert_string_equal(jstr(r.j, "status"), "cancelled");
    res_free(&r);
    r = confirm(g_c, g_tok[T_OPERATOR], ids[1], NULL);
    expect_status(r, 200, "confirm the second");
    res_free(&r);
    r = cancel(g_c, g_tok[T_OPERATOR], ids[1]);
    expect_status(r, 200, "cancel the second");
    res_free(&r);
    r = confirm(g_c, g_tok[T_OPERATOR], ids[1], NULL);
    expect_error(r, 409, "invalid_state", "confirm a cancelled booking");
    res_free(&r);
    r = getf(g_c, NULL, "/v1/health");
    expect_status(r, 200, "health after a refused confirm");
    res_free(&r);

    /* By coordinates: snapped to the stop ~30 m away. */
    {
        double lat, lon;
        r = getf(g_c, g_tok[T_OPERATOR], "/v1/stops/s030");
        expect_status(r, 200, "GET /v1/stops/s030");
        lat = json_real_value(jget(r.j, "lat"));
        lon = json_real_value(jget(r.j, "lon"));
        res_free(&r);
        r = postf(g_c, g_tok[T_OPERATOR], "/v1/bookings", new_key(want),
                  "{\"rider_id\":\"%s\",\"pickup\":{\"lat\":%.7f,\"lon\":%.7f},"
                  "\"dropoff\":{\"stop_id\":\"s070\"},\"when\":\"depart_after\","
                  "\"time\":\"11:00\"}",
                  rider, lat + 0.0002, lon + 0.0002);
        expect_status(r, 201, "book by coordinates");
        assert_string_equal(jstr(jget(r.j, "pickup"), "stop_id"), "s030");
        assert_true(fabs(json_real_value(jget(jget(r.j, "pickup"), "lat")) - lat) < 1e-9);
        res_free(&r);
    }

    /* arrive_by: dropped off by then; depart_after: not picked up before. */
    r = book(g_c, g_tok[T_OPERATOR], NULL, rider, "s025", "s080", "arrive_by", "11:00");
    expect_status(r, 201, "book arrive_by");
    assert_string_equal(jstr(r.j, "when"), "arrive_by");
    assert_true(jint(r.j, "latest_dropoff_s") <= 11 * 3600);
    assert_true(jint(r.j, "planned_dropoff_s") <= 11 * 3600);
    assert_true(jint(r.j, "planned_pickup_s") < jint(r.j, "planned_dropoff_s"));
    res_free(&r);
    r = book(g_c, g_tok[T_OPERATOR], NULL, rider, "s026", "s081", "depart_after", "12:40");
    expect_status(r, 201, "book depart_after");
    assert_string_equal(jstr(r.j, "when"), "depart_after");
    assert_true(jint(r.j, "planned_pickup_s") >= 12 * 3600 + 40 * 60);
    assert_true(jint(r.j, "pickup_from_s") >= 12 * 3600 + 40 * 60);
    assert_true(jint(r.j, "planned_pickup_s") <= jint(r.j, "pickup_to_s"));
    res_free(&r);
    /* A wheelchair fits the vans' second configuration. */
    r = postf(g_c, g_tok[T_OPERATOR], "/v1/bookings", new_key(want),
              "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s027\"},\"dropoff\":{"
              "\"stop_id\":\"s082\"},\"when\":\"depart_after\",\"time\":\"15:30\","
              "\"passengers\":2,\"wheelchairs\":1,\"notes\":\"車いす\"}",
              rider);
    expect_status(r, 201, "book with a wheelchair");
    assert_int_equal(jint(r.j, "wheelchairs"), 1);
    assert_int_equal(jint(r.j, "passengers"), 2);
    assert_string_equal(jstr(r.j, "notes"), "車いす");
    res_free(&r);
    /* An ISO time with an offset is the same clock. */
    r = postf(g_c, g_tok[T_OPERATOR], "/v1/quotes", NULL,
              "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s012\"},"
              "\"dropoff\":{\"stop_id\":\"s045\"},\"when\":\"depart_after\","
              "\"time\":\"%sT10:30:00+09:00\"}",
              rider, g_today);
    expect_status(r, 200, "quote with an ISO time");
    assert_true(jint(json_array_get(jget(r.j, "options"), 0), "pickup_from_s") >= 37800);
    res_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 2. Authorization                                                         */

#define R_ADMIN API_ROLE_ADMIN
#define R_OPER API_ROLE_OPERATOR
#define R_RIDER API_ROLE_RIDER
#define R_DRIVER API_ROLE_DRIVER
#define R_PLAN API_ROLE_PLANNER
#define R_PUBLIC API_ROLE_PUBLIC
#define R_ALL (R_ADMIN | R_OPER | R_RIDER | R_DRIVER | R_PLAN)
#define R_STAFF (R_ADMIN | R_OPER)
#define R_READ (R_ADMIN | R_OPER | R_PLAN)

/* Who may use what: the daemon's table (api/server/routes.c) as the API
 * promises it.  A route added there without a line here fails the test. */
static const struct {
    const char *method, *pattern;
    int roles;
} auth_table[] = {
    {"GET", "/v1/health", R_PUBLIC},
    {"GET", "/metrics", R_PUBLIC},
    {"GET", "/v1/openapi.json", R_PUBLIC},
    {"POST", "/v1/quotes", R_STAFF | R_RIDER},
    {"POST", "/v1/bookings", R_STAFF | R_RIDER},
    {"GET", "/v1/bookings", R_READ | R_RIDER},
    {"GET", "/v1/bookings/*", R_ALL},
    {"POST", "/v1/bookings/*/confirm", R_STAFF | R_RIDER},
    {"POST", "/v1/bookings/*/cancel", R_STAFF | R_RIDER},
    {"POST", "/v1/riders", R_STAFF},
    {"GET", "/v1/riders", R_STAFF},
    {"GET", "/v1/riders/*", R_STAFF | R_RIDER},
    {"PATCH", "/v1/riders/*", R_STAFF | R_RIDER},
    {"POST", "/v1/riders/*/merge", R_STAFF},
    {"GET", "/v1/vehicles", R_READ | R_DRIVER},
    {"GET", "/v1/vehicles/*", R_READ | R_DRIVER},
    {"GET", "/v1/vehicles/*/plan", R_READ | R_DRIVER},
    {"POST", "/v1/vehicles/*/out-of-service", R_STAFF},
    {"GET", "/v1/shifts", R_READ | R_DRIVER},
    {"GET", "/v1/stops", R_ALL},
    {"GET", "/v1/stops/*", R_ALL},
    {"POST", "/v1/tokens", R_ADMIN},
    {"POST", "/v1/tokens/*/revoke", R_ADMIN},
    {"GET", "/v1/driver/ws", R_DRIVER},
};
#define N_AUTH ((int)(sizeof(auth_table) / sizeof(auth_table[0])))

/* pattern with each '*' replaced by id. */
static void fill_pattern(const char *pattern, const char *id, char *out, size_t len)
{
    size_t n = 0;

    for (const char *p = pattern; *p && n + 1 < len; p++) {
        if (*p == '*') {
            n += (size_t)snprintf(out + n, len - n, "%s", id);
            if (n >= len)
                n = len - 1;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static void test_authorization(void **state)
{
    static const int role_bits[T_N] = {R_ADMIN, R_OPER, R_RIDER, R_DRIVER, R_PLAN};
    char bk_demo[40], rider_b[40], tok_b[80], tok_van2[80], k[48], path[256];
    char counts0[512], counts1[512];
    res r;

    (void)state;
    /* The table here is the daemon's table. */
    assert_int_equal(api_route_count(), N_AUTH);
    for (int i = 0; i < N_AUTH; i++) {
        const char *m, *p;
        api_route_get(i, &m, &p);
        if (strcmp(m, auth_table[i].method) != 0 || strcmp(p, auth_table[i].pattern) != 0) {
            print_error("route %d of the daemon is %s %s, the test expects %s %s\n", i, m, p,
                        auth_table[i].method, auth_table[i].pattern);
            fail();
        }
    }

    /* r_demo (the demo rider token's rider) has a booking. */
    r = book(g_c, g_tok[T_OPERATOR], NULL, "r_demo", "s014", "s050", "depart_after", "13:45");
    expect_status(r, 201, "book for r_demo");
    snprintf(bk_demo, sizeof(bk_demo), "%s", jstr(r.j, "id"));
    res_free(&r);

    /* Every route x every role, no token, a bad token.  POSTs name ids that
     * do not exist and send an empty object, so nothing changes whoever
     * gets through. */
    store_counts(counts0);
    for (int i = 0; i < N_AUTH; i++) {
        int post = strcmp(auth_table[i].method, "POST") == 0;
        const char *id = post                                        ? "zz_none"
                         : strncmp(auth_table[i].pattern, "/v1/bookings", 12) == 0 ? bk_demo
                         : strncmp(auth_table[i].pattern, "/v1/vehicles", 12) == 0 ? "van1"
                         : strncmp(auth_table[i].pattern, "/v1/riders", 10) == 0   ? "r_demo"
                                                                                 : "s010";
        fill_pattern(auth_table[i].pattern, id, path, sizeof(path));
        for (int who = -2; who < T_N; who++) {
            const char *tok = who == -2 ? NULL : who == -1 ? "nt_0000bogus0000" : g_tok[who];
            const char *name = who == -2 ? "no token" : who == -1 ? "bad token" : role_names[who];
            r = call(g_c, tok, auth_table[i].method, path, post ? new_key(k) : NULL,
                     post ? "{}" : NULL);
            int want; /* 401, 403, or 0 for "neither" */
            if (auth_table[i].roles & R_PUBLIC)
                want = 0;
            else if (who < 0)
                want = 401;
            else
                want = auth_table[i].roles & role_bits[who] ? 0 : 403;
            /* Allowed: anything but 401/403 (and no internal error). */
            int ok = want ? r.status == want
                          : r.status >= 200 && r.status != 401 && r.status != 403 &&
                                r.status != 500;
            if (!ok) {
                print_error("%s %s as %s: expected %s, got %d: %.300s\n", auth_table[i].method,
                            path, name,
                            want == 401   ? "401"
                            : want == 403 ? "403"
                                          : "neither 401/403 nor 500",
                            r.status, body_of(&r));
                fail();
            }
            if (want == 401 && strcmp(err_code(&r), "unauthorized") != 0) {
                print_error("%s %s as %s: 401 without error.code unauthorized: %s\n",
                            auth_table[i].method, path, name, body_of(&r));
                fail();
            }
            res_free(&r);
        }
    }
    /* Malformed Authorization headers are no token either. */
    {
        const char *hdr[2] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
        sim_http_resp hr;
        assert_int_equal(sim_httpc_request(g_c, "GET", "/v1/stops", hdr, NULL, 0, &hr), 0);
        assert_int_equal(hr.status, 401);
        sim_http_resp_free(&hr);
        hdr[0] = "Authorization: Bearer ";
        assert_int_equal(sim_httpc_request(g_c, "GET", "/v1/stops", hdr, NULL, 0, &hr), 0);
        assert_int_equal(hr.status, 401);
        sim_http_resp_free(&hr);
    }
    store_counts(counts1);
    assert_string_equal(counts0, counts1);

    /* Riders: their own bookings only. */
    make_rider(g_c, "Rider B", rider_b);
    make_token(g_c, "rider", rider_b, NULL, tok_b);
    r = getf(g_c, g_tok[T_RIDER], "/v1/bookings/%s", bk_demo);
    expect_status(r, 200, "a rider reads its own booking");
    res_free(&r);
    r = getf(g_c, tok_b, "/v1/bookings/%s", bk_demo);
    expect_error(r, 404, "not_found", "rider B reads r_demo's booking");
    res_free(&r);
    r = confirm(g_c, tok_b, bk_demo, NULL);
    expect_error(r, 404, "not_found", "rider B confirms r_demo's booking");
    res_free(&r);
    r = cancel(g_c, tok_b, bk_demo);
    expect_error(r, 404, "not_found", "rider B cancels r_demo's booking");
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", bk_demo);
    expect_status(r, 200, "operator reads it");
    assert_string_equal(jstr(r.j, "status"), "offered"); /* untouched */
    res_free(&r);
    r = book(g_c, tok_b, NULL, "r_demo", "s015", "s051", "depart_after", "13:50");
    expect_error(r, 403, "forbidden", "rider B books for r_demo");
    res_free(&r);
    r = getf(g_c, tok_b, "/v1/bookings?rider=r_demo");
    expect_error(r, 403, "forbidden", "rider B lists r_demo's bookings");
    res_free(&r);
    r = getf(g_c, tok_b, "/v1/bookings");
    expect_status(r, 200, "rider B lists its own bookings");
    assert_int_equal(json_array_size(jget(r.j, "bookings")), 0);
    res_free(&r);
    r = getf(g_c, tok_b, "/v1/riders/r_demo");
    expect_error(r, 404, "not_found", "rider B reads r_demo's record");
    res_free(&r);
    r = getf(g_c, tok_b, "/v1/riders/%s", rider_b);
    expect_status(r, 200, "rider B reads its own record");
    res_free(&r);
    /* A rider's booking is for itself without naming it. */
    r = book(g_c, tok_b, NULL, NULL, "s015", "s051", "depart_after", "13:50");
    expect_status(r, 201, "rider B books for itself");
    assert_string_equal(jstr(r.j, "rider_id"), rider_b);
    {
        char own[40];
        snprintf(own, sizeof(own), "%s", jstr(r.j, "id"));
        res_free(&r);
        r = confirm(g_c, tok_b, own, NULL);
        expect_status(r, 200, "rider B confirms its own");
        res_free(&r);
        r = getf(g_c, g_tok[T_RIDER], "/v1/bookings/%s", own);
        expect_error(r, 404, "not_found", "r_demo reads rider B's booking");
        res_free(&r);
        r = cancel(g_c, g_tok[T_RIDER], own);
        expect_error(r, 404, "not_found", "r_demo cancels rider B's booking");
        res_free(&r);
        r = cancel(g_c, tok_b, own);
        expect_status(r, 200, "rider B cancels its own");
        res_free(&r);
    }

    /* Drivers: their own vehicle only. */
    make_token(g_c, "driver", NULL, "van2", tok_van2);
    r = getf(g_c, g_tok[T_DRIVER], "/v1/vehicles/van1/plan");
    expect_status(r, 200, "van1's driver reads van1's plan");
    res_free(&r);
    r = getf(g_c, g_tok[T_DRIVER], "/v1/vehicles/van2/plan");
    expect_error(r, 404, "not_found", "van1's driver reads van2's plan");
    res_free(&r);
    r = getf(g_c, g_tok[T_DRIVER], "/v1/vehicles/van2");
    expect_error(r, 404, "not_found", "van1's driver reads van2");
    res_free(&r);
    r = getf(g_c, tok_van2, "/v1/vehicles/van2/plan");
    expect_status(r, 200, "van2's driver reads van2's plan");
    res_free(&r);
    r = getf(g_c, tok_van2, "/v1/vehicles/van1/plan");
    expect_error(r, 404, "not_found", "van2's driver reads van1's plan");
    res_free(&r);
    r = getf(g_c, tok_van2, "/v1/vehicles");
    expect_status(r, 200, "van2's driver lists vehicles");
    assert_int_equal(json_array_size(jget(r.j, "vehicles")), 1);
    assert_string_equal(jstr(json_array_get(jget(r.j, "vehicles"), 0), "id"), "van2");
    res_free(&r);
    /* A booking on another van is not the driver's to read. */
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", bk_demo);
    {
        char v[48];
        snprintf(v, sizeof(v), "%s", jstr(r.j, "vehicle_id"));
        res_free(&r);
        const char *drv = strcmp(v, "van2") == 0 ? g_tok[T_DRIVER] : tok_van2;
        r = getf(g_c, drv, "/v1/bookings/%s", bk_demo);
        expect_error(r, 404, "not_found", "a driver of another van reads a booking");
        res_free(&r);
    }
    /* Planners read, never write. */
    r = book(g_c, g_tok[T_PLANNER], NULL, "r_demo", "s015", "s051", "depart_after", "13:50");
    expect_error(r, 403, "forbidden", "planner books");
    res_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 3. Bad input                                                             */

typedef struct bad_case {
    const char *method, *path;
    int tok;          /* T_* */
    const char *body; /* NULL: none */
    int status;
    const char *code; /* NULL: any */
} bad_case;

static void run_bad(const bad_case *bc, const char *what)
{
    char k[48];
    res r = call(g_c, g_tok[bc->tok], bc->method, bc->path,
                 strcmp(bc->method, "POST") == 0 ? new_key(k) : NULL, bc->body);

    if (r.status != bc->status || (bc->code != NULL && strcmp(err_code(&r), bc->code) != 0)) {
        print_error("%s: %s %s %.200s\n   expected %d %s, got %d: %.400s\n", what, bc->method,
                    bc->path, bc->body ? bc->body : "", bc->status, bc->code ? bc->code : "",
                    r.status, body_of(&r));
        fail();
    }
    if (r.status >= 400 && !json_is_string(jget(jget(r.j, "error"), "message"))) {
        print_error("%s: the error has no message: %s\n", what, body_of(&r));
        fail();
    }
    res_free(&r);
}

/* The same request with the same key from several connections at once. */
#define RACERS 4

typedef struct racer {
    const char *key, *body;
    atomic_int *go;
    int status;
    char code[40], id[40];
    pthread_t th;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    sim_httpc *c;

    r->status = -1;
    if (sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &c) != 0)
        return NULL;
    /* Connected; now all at once. */
    while (!atomic_load(r->go))
        sched_yield();
    res a = call(c, g_tok[T_OPERATOR], "POST", "/v1/bookings", r->key, r->body);
    r->status = a.status;
    snprintf(r->code, sizeof(r->code), "%s", err_code(&a));
    snprintf(r->id, sizeof(r->id), "%s", jstr(a.j, "id"));
    res_free(&a);
    sim_httpc_destroy(c);
    return NULL;
}

static void test_bad_input(void **state)
{
    char rider[40], bk[40], yesterday[11], far[11], tomorrow[11];
    char counts0[512], counts1[512], b[64][600], paths[8][128], k[48];
    bad_case cases[160];
    int n = 0, nb = 0;
    long long stops0;
    res r;

    (void)state;
    make_rider(g_c, "Bad Input Rider", rider);
    r = book(g_c, g_tok[T_OPERATOR], NULL, rider, "s016", "s052", "depart_after", "14:30");
    expect_status(r, 201, "a booking to aim at");
    snprintf(bk, sizeof(bk), "%s", jstr(r.j, "id"));
    res_free(&r);
    date_add(g_today, -1, yesterday);
    date_add(g_today, 1, tomorrow);
    date_add(g_today, 5, far);
    snprintf(paths[0], sizeof(paths[0]), "/v1/bookings/%s/confirm", bk);
    snprintf(paths[1], sizeof(paths[1]), "/v1/bookings/%s/cancel", bk);

#define TRIP(fmt, ...) (snprintf(b[nb], sizeof(b[nb]), fmt, __VA_ARGS__), b[nb++])
#define ADD(m, p, t, body_, st, code_)                                                             \
    (cases[n++] = (bad_case){(m), (p), (t), (body_), (st), (code_)})
    /* Quotes and bookings alike. */
    for (int e = 0; e < 2; e++) {
        const char *p = e ? "/v1/bookings" : "/v1/quotes";
        const char *rid = rider;
        ADD("POST", p, T_OPERATOR, NULL, 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "", 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "{", 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "{\"pickup\":{\"stop_id\":\"s010\"},}", 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "[1,2]", 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "\"text\"", 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "{\"a\":1,\"a\":2}", 400, "invalid_json");
        ADD("POST", p, T_OPERATOR, "{}", 400, NULL);
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"dropoff\":{\"stop_id\":\"s040\"}}", rid), 400, NULL);
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"}}", rid), 400, NULL);
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":\"s010\",\"dropoff\":{\"stop_id\":\"s040\"}}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":10},\"dropoff\":{\"stop_id\":"
                 "\"s040\"}}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"lat\":\"35.9\",\"lon\":139.6},\"dropoff\":{"
                 "\"stop_id\":\"s040\"}}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"lat\":135.9,\"lon\":139.6},\"dropoff\":{"
                 "\"stop_id\":\"s040\"}}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\",\"floor\":2},\"dropoff\":"
                 "{\"stop_id\":\"s040\"}}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":5,\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"}}%s",
                 ""),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"passengers\":\"two\"}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"passengers\":2.5}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"passengers\":0}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"passengers\":99999999999}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"passengers\":1,\"wheelchairs\":2}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"colour\":\"red\"}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"tomorrowish\",\"time\":\"10:00\"}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\"}",
                 rid),
            400, "missing_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\",\"time\":\"25:99\"}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\",\"time\":10}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"date\":\"2026-02-31\",\"when\":\"depart_after\",\"time\":\"10:00\"}",
                 rid),
            400, "invalid_field");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"notes\":\"a\\u0000b\"}",
                 rid),
            400, NULL);
        /* Well-formed but not acceptable. */
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"lat\":36.9,\"lon\":139.6},\"dropoff\":{"
                 "\"stop_id\":\"s040\"}}",
                 rid),
            422, "out_of_area");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"lat\":0,"
                 "\"lon\":0}}",
                 rid),
            422, "out_of_area");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"nowhere\"},\"dropoff\":{"
                 "\"stop_id\":\"s040\"}}",
                 rid),
            422, "unknown_stop");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s010\"}}",
                 rid),
            422, "same_place");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\",\"time\":\"08:00\"}",
                 rid),
            422, "time_in_past");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\",\"time\":\"10:00\",\"date\":\"%s\"}",
                 rid, yesterday),
            422, "time_in_past");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\",\"time\":\"%sT10:00:00+09:00\"}",
                 rid, yesterday),
            422, "time_in_past");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"when\":\"depart_after\",\"time\":\"10:00\",\"date\":\"%s\"}",
                 rid, far),
            422, "too_far_ahead");
        ADD("POST", p, T_OPERATOR,
            TRIP("{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":"
                 "\"s040\"},\"date\":\"%s\"}",
                 rid, tomorrow),
            422, "invalid_time");
        ADD("POST", p, T_OPERATOR,
            "{\"rider_id\":\"r_nobody\",\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{"
            "\"stop_id\":\"s040\"}}",
            422, "unknown_rider");
    }
    /* Bookings need a rider when an operator books. */
    ADD("POST", "/v1/bookings", T_OPERATOR,
        "{\"pickup\":{\"stop_id\":\"s010\"},\"dropoff\":{\"stop_id\":\"s040\"}}", 400,
        "missing_field");
    /* Confirm and cancel: unknown ids, bodies. */
    ADD("POST", "/v1/bookings/bk_00000000000000000000/confirm", T_OPERATOR, NULL, 404,
        "not_found");
    ADD("POST", "/v1/bookings/bk_00000000000000000000/cancel", T_OPERATOR, NULL, 404, "not_found");
    ADD("POST", "/v1/bookings/x/cancel", T_OPERATOR, "{}", 404, "not_found");
    ADD("POST", paths[1], T_OPERATOR, "{\"reason\":7}", 400, "invalid_field");
    ADD("POST", paths[1], T_OPERATOR, "{\"why\":\"x\"}", 400, "invalid_field");
    ADD("POST", paths[1], T_OPERATOR, "{", 400, "invalid_json");
    ADD("POST", paths[1], T_OPERATOR, "[]", 400, "invalid_json");
    /* Riders. */
    ADD("POST", "/v1/riders", T_OPERATOR, NULL, 400, "invalid_json");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":", 400, "invalid_json");
    ADD("POST", "/v1/riders", T_OPERATOR, "{}", 400, "missing_field");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":\"\"}", 400, "missing_field");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":42}", 400, "invalid_field");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":\"A\",\"age\":80}", 400, "invalid_field");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":\"A\",\"wheelchair\":\"yes\"}", 400,
        "invalid_field");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":\"A\",\"home_lat\":35.9}", 400,
        "invalid_field");
    ADD("POST", "/v1/riders", T_OPERATOR, "{\"name\":\"A\",\"home_stop_id\":\"nowhere\"}", 422,
        "unknown_stop");
    ADD("POST", "/v1/riders", T_OPERATOR,
        "{\"name\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
        400, "invalid_field");
    /* Tokens. */
    ADD("POST", "/v1/tokens", T_ADMIN, NULL, 400, "invalid_json");
    ADD("POST", "/v1/tokens", T_ADMIN, "{}", 400, "invalid_field");
    ADD("POST", "/v1/tokens", T_ADMIN, "{\"role\":\"king\"}", 400, "invalid_field");
    ADD("POST", "/v1/tokens", T_ADMIN, "{\"role\":\"rider\"}", 400, "invalid_field");
    ADD("POST", "/v1/tokens", T_ADMIN, "{\"role\":\"operator\",\"rider_id\":\"r_demo\"}", 400,
        "invalid_field");
    ADD("POST", "/v1/tokens", T_ADMIN, "{\"role\":\"rider\",\"rider_id\":\"r_nobody\"}", 422,
        "unknown_rider");
    ADD("POST", "/v1/tokens", T_ADMIN, "{\"role\":\"driver\",\"vehicle_id\":\"van99\"}", 422,
        "unknown_vehicle");
    ADD("POST", "/v1/tokens", T_ADMIN, "{\"role\":\"admin\",\"expires\":1}", 400,
        "invalid_field");
    /* Vehicles. */
    ADD("POST", "/v1/vehicles/van99/out-of-service", T_OPERATOR, NULL, 404, "not_found");
    ADD("POST", "/v1/vehicles/van5/out-of-service", T_OPERATOR, "{", 400, "invalid_json");
    ADD("POST", "/v1/vehicles/van5/out-of-service", T_OPERATOR, "[]", 400, "invalid_json");
    /* Queries and unknown ids. */
    ADD("GET", "/v1/bookings?limit=0", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings?limit=201", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings?limit=ten", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings?date=2026-13-40", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings?date=tomorrow", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings?status=flying", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings?rider=%zz", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET",
        "/v1/bookings?rider=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/bookings/bk_00000000000000000000", T_OPERATOR, NULL, 404, "not_found");
    ADD("GET", "/v1/riders", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/riders/r_nobody", T_OPERATOR, NULL, 404, "not_found");
    ADD("GET", "/v1/vehicles?date=yesterday", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/vehicles/van99", T_OPERATOR, NULL, 404, "not_found");
    ADD("GET", "/v1/vehicles/van99/plan", T_OPERATOR, NULL, 404, "not_found");
    ADD("GET", "/v1/vehicles/van1/plan?date=2026-99-01", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/shifts?date=x", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/stops?limit=0", T_OPERATOR, NULL, 400, "invalid_query");
    ADD("GET", "/v1/stops/nowhere", T_OPERATOR, NULL, 404, "not_found");
    ADD("GET", "/v1/nothing", T_OPERATOR, NULL, 404, "not_found");
    ADD("DELETE", "/v1/bookings", T_OPERATOR, NULL, 405, "method_not_allowed");
    ADD("PUT", "/v1/riders", T_OPERATOR, "{}", 405, "method_not_allowed");
#undef ADD
#undef TRIP
    assert_true(n <= (int)(sizeof(cases) / sizeof(cases[0])));
    assert_true(nb <= 64);

    store_counts(counts0);
    stops0 = total_plan_stops(g_c);
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof(what), "bad case %d", i);
        run_bad(&cases[i], what);
    }

    /* Oversized bodies: 413, and the connection may close. */
    {
        size_t big = 200 * 1024;
        char *body = malloc(big + 64);
        assert_non_null(body);
        int len = snprintf(body, 64, "{\"rider_id\":\"%s\",\"notes\":\"", rider);
        memset(body + len, 'x', big - (size_t)len - 2);
        memcpy(body + big - 2, "\"}", 2);
        const char *const ep[] = {"/v1/bookings", "/v1/quotes", "/v1/riders", paths[1]};
        for (int i = 0; i < 4; i++) {
            sim_httpc *c2;
            assert_int_equal(sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &c2),
                             0);
            r = call_raw(c2, g_tok[T_OPERATOR], "POST", ep[i], new_key(k), body, big);
            expect_status(r, 413, ep[i]);
            res_free(&r);
            sim_httpc_destroy(c2);
        }
        free(body);
    }
    /* Not HTTP at all. */
    {
        sim_httpc *c2;
        sim_http_resp hr;
        static const char junk[] = "BOOK ME A VAN PLEASE\r\n\r\n";
        assert_int_equal(sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &c2), 0);
        int rc = sim_httpc_raw(c2, junk, sizeof(junk) - 1, &hr);
        if (rc == 0) {
            assert_true(hr.status >= 400 && hr.status < 500);
            sim_http_resp_free(&hr);
        }
        sim_httpc_destroy(c2);
    }
    /* A bad Idempotency-Key. */
    {
        char longkey[260];
        memset(longkey, 'k', 250);
        longkey[250] = '\0';
        r = postf(g_c, g_tok[T_OPERATOR], "/v1/bookings", longkey,
                  "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s017\"},\"dropoff\":{"
                  "\"stop_id\":\"s053\"},\"when\":\"depart_after\",\"time\":\"14:40\"}",
                  rider);
        expect_error(r, 400, "invalid_idempotency_key", "a 250-byte Idempotency-Key");
        res_free(&r);
    }

    /* The daemon lives, and nothing changed. */
    r = getf(g_c, NULL, "/v1/health");
    expect_status(r, 200, "health after bad input");
    res_free(&r);
    store_counts(counts1);
    assert_string_equal(counts0, counts1);
    assert_int_equal(total_plan_stops(g_c), stops0);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", bk);
    expect_status(r, 200, "the target booking");
    assert_string_equal(jstr(r.j, "status"), "offered");
    res_free(&r);
    assert_int_equal(count_listed(g_c, "status=offered&rider=r_nobody"), 0);

    /* Replays: the same key and body answer the same without a second
     * booking; the same key with another body is refused. */
    {
        char body[400], id[40], hv[16], again[48];
        snprintf(body, sizeof(body),
                 "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s018\"},\"dropoff\":{"
                 "\"stop_id\":\"s054\"},\"when\":\"depart_after\",\"time\":\"14:50\"}",
                 rider);
        new_key(again);
        res first = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", again, body);
        expect_status(first, 201, "first POST with a key");
        snprintf(id, sizeof(id), "%s", jstr(first.j, "id"));
        assert_int_equal(sim_http_resp_header(&first.r, "Idempotent-Replayed", hv, sizeof(hv)),
                         0);
        int before = count_listed(g_c, "status=offered") + count_listed(g_c, "status=confirmed");
        for (int i = 0; i < 2; i++) {
            r = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", again, body);
            expect_status(r, 201, "replayed POST");
            assert_string_equal(r.r.body, first.r.body);
            assert_int_equal(sim_http_resp_header(&r.r, "Idempotent-Replayed", hv, sizeof(hv)),
                             1);
            assert_string_equal(hv, "true");
            res_free(&r);
        }
        body[strlen(body) - 3] = '5'; /* 14:55 */
        r = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", again, body);
        expect_error(r, 422, "idempotency_key_reused", "the key with another body");
        res_free(&r);
        int after = count_listed(g_c, "status=offered") + count_listed(g_c, "status=confirmed");
        assert_int_equal(after, before);
        char q[80];
        snprintf(q, sizeof(q), "rider=%s&status=offered", rider);
        assert_int_equal(count_listed(g_c, q), 2); /* bk and the keyed one */
        /* The same key under another token is another request. */
        res other = call(g_c, g_tok[T_ADMIN], "POST", "/v1/bookings", again, body);
        expect_status(other, 201, "the same key under another token");
        assert_string_not_equal(jstr(other.j, "id"), id);
        res_free(&other);
        /* Confirm replays too. */
        char ck[48];
        new_key(ck);
        r = confirm(g_c, g_tok[T_OPERATOR], id, ck);
        expect_status(r, 200, "confirm with a key");
        res_free(&r);
        r = confirm(g_c, g_tok[T_OPERATOR], id, ck);
        expect_status(r, 200, "confirm replayed");
        assert_int_equal(sim_http_resp_header(&r.r, "Idempotent-Replayed", hv, sizeof(hv)), 1);
        res_free(&r);
        res_free(&first);
    }
    /* One key from several connections at the same moment: one booking;
     * the others hear "in progress" or the stored answer. */
    {
        static racer rc[RACERS];
        atomic_int go;
        char key[48], body[400], q[80], booked[40] = "";
        int ok = 0;

        atomic_init(&go, 0);
        new_key(key);
        snprintf(body, sizeof(body),
                 "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s019\"},\"dropoff\":{"
                 "\"stop_id\":\"s055\"},\"when\":\"depart_after\",\"time\":\"15:40\"}",
                 rider);
        for (int i = 0; i < RACERS; i++) {
            rc[i] = (racer){.key = key, .body = body, .go = &go};
            assert_int_equal(pthread_create(&rc[i].th, NULL, racer_main, &rc[i]), 0);
        }
        dmn_sleep_ms(100);
        atomic_store(&go, 1);
        for (int i = 0; i < RACERS; i++)
            pthread_join(rc[i].th, NULL);
        for (int i = 0; i < RACERS; i++) {
            if (rc[i].status == 201) {
                if (booked[0] && strcmp(booked, rc[i].id) != 0) {
                    print_error("one key, two bookings: %s and %s\n", booked, rc[i].id);
                    fail();
                }
                snprintf(booked, sizeof(booked), "%s", rc[i].id);
                ok++;
            } else if (rc[i].status != 409 ||
                       strcmp(rc[i].code, "idempotency_in_progress") != 0) {
                print_error("racer %d: %d %s\n", i, rc[i].status, rc[i].code);
                fail();
            }
        }
        assert_true(ok >= 1);
        snprintf(q, sizeof(q), "rider=%s&status=offered", rider);
        assert_int_equal(count_listed(g_c, q), 3); /* bk, the keyed one, this one */
    }
    r = getf(g_c, NULL, "/v1/health");
    expect_status(r, 200, "health at the end");
    res_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 4. No room: a second daemon with one van of one seat                     */

static void test_no_room(void **state)
{
    char ci[600], err[300], k[48], rider_tok_file[400];
    sim_httpc *c;
    FILE *f;
    res r;
    int rc, status = -1, got409 = 0;
    char first_id[40] = "";
    int64_t first_ms = 0;

    (void)state;
    dmn_init(&g_vans, &g_env, "vans");
    snprintf(g_vans.config, sizeof(g_vans.config), "%s/one-van.json", g_env.dir);
    snprintf(rider_tok_file, sizeof(rider_tok_file), "%s/vans-tokens.json", g_env.dir);
    snprintf(g_vans.tokens, sizeof(g_vans.tokens), "%s", rider_tok_file);
    f = fopen(g_vans.config, "w");
    assert_non_null(f);
    fputs("{\"comment\":\"test_api: one van, one seat\",\n"
          " \"service\":{\"max_wait_min\":5,\"offer_ttl_s\":10},\n"
          " \"fleet\":[{\"id\":\"van\",\"count\":1,\"configs\":[{\"seats\":1,\"wheelchairs\":0}]}]}\n",
          f);
    fclose(f);
    /* Its own database in the same cluster. */
    rc = db_exec_blocking(g_env.conninfo, "CREATE DATABASE noriai_vans", 0, NULL, NULL, NULL, err,
                          sizeof(err));
    if (rc < 0 && strstr(err, "already exists") == NULL) {
        print_error("CREATE DATABASE: %s\n", err);
        fail();
    }
    {
        const char *dbn = strstr(g_env.conninfo, "dbname=noriai");
        assert_non_null(dbn);
        snprintf(ci, sizeof(ci), "%.*sdbname=noriai_vans%.200s", (int)(dbn - g_env.conninfo), g_env.conninfo,
                 dbn + strlen("dbname=noriai"));
        snprintf(g_vans.conninfo, sizeof(g_vans.conninfo), "%.500s", ci);
    }
    assert_int_equal(dmn_start(&g_vans, "09:00"), 0);
    {
        /* Its own tokens; keep the main daemon's. */
        json_t *j = json_load_file(g_vans.tokens, 0, NULL);
        char op[80];
        snprintf(op, sizeof(op), "%s", json_string_value(json_object_get(j, "operator")));
        json_decref(j);
        assert_int_equal(sim_httpc_create("127.0.0.1", g_vans.port, CLIENT_TIMEOUT_MS, &g_vc), 0);
        c = g_vc;

        r = getf(c, op, "/v1/vehicles");
        expect_status(r, 200, "vehicles of the one-van daemon");
        assert_int_equal(json_array_size(jget(r.j, "vehicles")), 1);
        res_free(&r);

        /* The first trip fits; the same trip at the same time again cannot
         * (the van is busy, the wait limited): 409 with reason and
         * alternatives. */
        for (int i = 0; i < 8 && !got409; i++) {
            r = book(c, op, NULL, "r_demo", "s010", "s090", "depart_after", "10:00");
            if (i == 0) {
                expect_status(r, 201, "the first trip on the one van");
                snprintf(first_id, sizeof(first_id), "%s", jstr(r.j, "id"));
                first_ms = dmn_now_ms();
            }
            if (r.status == 409) {
                json_t *e = jget(r.j, "error");
                got409 = 1;
                assert_string_equal(jstr(e, "code"), "no_availability");
                assert_true(strlen(jstr(e, "reason")) > 0);
                assert_true(json_is_array(jget(e, "alternatives")));
                assert_true(json_is_string(jget(e, "message")));
                /* Any alternative is a full option. */
                json_t *a;
                size_t ai;
                json_array_foreach(jget(e, "alternatives"), ai, a) {
                    assert_true(jint(a, "pickup_to_s") > jint(a, "pickup_from_s"));
                    assert_true(jint(a, "latest_dropoff_s") > 0);
                }
            } else if (i > 0) {
                expect_status(r, 201, "another trip on the one van");
            }
            res_free(&r);
        }
        if (!got409) {
            print_error("eight trips at the same time all fit on one van of one seat\n");
            fail();
        }
        /* Five people never fit one seat. */
        r = postf(c, op, "/v1/bookings", new_key(k),
                  "{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"s020\"},\"dropoff\":{"
                  "\"stop_id\":\"s030\"},\"when\":\"depart_after\",\"time\":\"15:00\","
                  "\"passengers\":5}");
        expect_status(r, 409, "five passengers, one seat");
        assert_string_equal(jstr(jget(r.j, "error"), "reason"), "capacity");
        assert_true(json_is_array(jget(jget(r.j, "error"), "alternatives")));
        res_free(&r);
        /* Nor does a wheelchair where there is no wheelchair place. */
        r = postf(c, op, "/v1/bookings", new_key(k),
                  "{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"s020\"},\"dropoff\":{"
                  "\"stop_id\":\"s030\"},\"when\":\"depart_after\",\"time\":\"15:00\","
                  "\"wheelchairs\":1}");
        expect_status(r, 409, "a wheelchair, no wheelchair place");
        assert_string_equal(jstr(jget(r.j, "error"), "reason"), "capacity");
        res_free(&r);
        /* A quote says the same without holding anything. */
        r = postf(c, op, "/v1/quotes", NULL,
                  "{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"s020\"},\"dropoff\":{"
                  "\"stop_id\":\"s030\"},\"when\":\"depart_after\",\"time\":\"15:00\","
                  "\"passengers\":5}");
        expect_status(r, 200, "quote for five");
        assert_true(json_is_false(jget(r.j, "available")));
        assert_string_equal(jstr(r.j, "reason"), "capacity");
        res_free(&r);

        /* Offers expire (offer_ttl_s 10 here): confirming too late is a
         * 409, and the seat is free again. */
        dmn_sleep_ms((int)(first_ms + 11500 - dmn_now_ms()));
        r = confirm(c, op, first_id, NULL);
        expect_error(r, 409, "offer_expired", "confirming an expired offer");
        res_free(&r);
        r = getf(c, op, "/v1/bookings/%s", first_id);
        expect_status(r, 200, "the expired offer");
        assert_string_equal(jstr(r.j, "status"), "expired");
        res_free(&r);
        r = book(c, op, NULL, "r_demo", "s010", "s090", "depart_after", "10:00");
        expect_status(r, 201, "the same trip once the offers expired");
        res_free(&r);
        sim_httpc_destroy(c);
        g_vc = NULL;
    }
    /* This one stops cleanly too. */
    assert_int_equal(dmn_term(&g_vans, 5000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------------ */
/* 5. kill -9                                                               */

#define N_DUR 20
#define N_DUR_CONFIRMED 15

typedef struct dur_bk {
    char id[40], key[48], status[16], vehicle[48];
    long long from_s, to_s, latest_s;
} dur_bk;

static void test_kill9(void **state)
{
    dur_bk bk[N_DUR];
    char rider[40], last_book_key[160], last_book_body[4096], last_confirm_key[48], clock[16];
    char *last_book_answer = NULL, *last_confirm_answer = NULL, q[80];
    res r;

    (void)state;
    make_rider(g_c, "Durable Rider", rider);
    snprintf(q, sizeof(q), "rider=%s", rider);
    for (int i = 0; i < N_DUR; i++) {
        char t[16], from[16], to[16], body[600];
        int min = 9 * 60 + 30 + 9 * i;
        snprintf(t, sizeof(t), "%02d:%02d", min / 60, min % 60);
        snprintf(from, sizeof(from), "s%03d", 20 + i);
        snprintf(to, sizeof(to), "s%03d", 100 + i);
        new_key(bk[i].key);
        snprintf(body, sizeof(body),
                 "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"%s\"},\"dropoff\":{\"stop_id\":"
                 "\"%s\"},\"when\":\"depart_after\",\"time\":\"%s\"}",
                 rider, from, to, t);
        r = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", bk[i].key, body);
        expect_status(r, 201, "durable booking");
        snprintf(bk[i].id, sizeof(bk[i].id), "%s", jstr(r.j, "id"));
        snprintf(bk[i].status, sizeof(bk[i].status), "%s", jstr(r.j, "status"));
        snprintf(bk[i].vehicle, sizeof(bk[i].vehicle), "%s", jstr(r.j, "vehicle_id"));
        bk[i].from_s = jint(r.j, "pickup_from_s");
        bk[i].to_s = jint(r.j, "pickup_to_s");
        bk[i].latest_s = jint(r.j, "latest_dropoff_s");
        if (i == N_DUR - 1) {
            snprintf(last_book_key, sizeof(last_book_key), "%s", bk[i].key);
            snprintf(last_book_body, sizeof(last_book_body), "%s", body);
            last_book_answer = strdup(r.r.body);
        }
        res_free(&r);
    }
    for (int i = 0; i < N_DUR_CONFIRMED; i++) {
        char key[48];
        new_key(key);
        r = confirm(g_c, g_tok[T_OPERATOR], bk[i].id, key);
        expect_status(r, 200, "durable confirm");
        snprintf(bk[i].status, sizeof(bk[i].status), "%s", jstr(r.j, "status"));
        snprintf(bk[i].vehicle, sizeof(bk[i].vehicle), "%s", jstr(r.j, "vehicle_id"));
        assert_string_equal(bk[i].status, "confirmed");
        if (i == N_DUR_CONFIRMED - 1) {
            snprintf(last_confirm_key, sizeof(last_confirm_key), "%s", key);
            last_confirm_answer = strdup(r.r.body);
        }
        res_free(&r);
    }
    /* Right after the last 2xx. */
    dmn_clock_after(&g_main, clock);
    dmn_kill9(&g_main);
    sim_httpc_destroy(g_c);
    g_c = NULL;
    assert_int_equal(dmn_start(&g_main, clock), 0);
    assert_int_equal(sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &g_c), 0);

    /* Every acknowledged booking, as it was promised. */
    for (int i = 0; i < N_DUR; i++) {
        r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", bk[i].id);
        expect_status(r, 200, "booking after kill -9");
        if (strcmp(jstr(r.j, "status"), bk[i].status) != 0 ||
            jint(r.j, "pickup_from_s") != bk[i].from_s || jint(r.j, "pickup_to_s") != bk[i].to_s ||
            jint(r.j, "latest_dropoff_s") != bk[i].latest_s) {
            print_error("booking %d (%s) after kill -9: was %s %lld..%lld latest %lld, is %s\n", i,
                        bk[i].id, bk[i].status, bk[i].from_s, bk[i].to_s, bk[i].latest_s,
                        body_of(&r));
            fail();
        }
        res_free(&r);
        if (i < N_DUR_CONFIRMED) {
            long long pp = -1, pd = -1;
            r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", bk[i].id);
            char veh[48];
            snprintf(veh, sizeof(veh), "%s", jstr(r.j, "vehicle_id"));
            res_free(&r);
            assert_true(veh[0] != '\0');
            if (plan_stops_of(g_c, veh, bk[i].id, "pickup", &pp) != 1 ||
                plan_stops_of(g_c, veh, bk[i].id, "dropoff", &pd) != 1) {
                print_error("confirmed booking %s is not in %s's plan after kill -9\n", bk[i].id,
                            veh);
                fail();
            }
            if (pp < bk[i].from_s || pp > bk[i].to_s || pd > bk[i].latest_s || pd <= pp) {
                print_error("booking %s: planned pickup %lld / dropoff %lld outside its promise "
                            "%lld..%lld / %lld\n",
                            bk[i].id, pp, pd, bk[i].from_s, bk[i].to_s, bk[i].latest_s);
                fail();
            }
        }
    }
    assert_int_equal(count_listed(g_c, q), N_DUR);

    /* The last POSTs again with their keys: the same answers, no doubles. */
    r = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", last_book_key, last_book_body);
    expect_status(r, 201, "the last booking replayed after kill -9");
    {
        json_t *was = json_loads(last_book_answer, 0, NULL);
        assert_string_equal(jstr(r.j, "id"), jstr(was, "id"));
        assert_int_equal(jint(r.j, "pickup_from_s"), jint(was, "pickup_from_s"));
        json_decref(was);
        char hv[16];
        assert_int_equal(sim_http_resp_header(&r.r, "Idempotent-Replayed", hv, sizeof(hv)), 1);
    }
    res_free(&r);
    {
        char path[128];
        snprintf(path, sizeof(path), "/v1/bookings/%s/confirm", bk[N_DUR_CONFIRMED - 1].id);
        r = call(g_c, g_tok[T_OPERATOR], "POST", path, last_confirm_key, NULL);
        expect_status(r, 200, "the last confirm replayed after kill -9");
        json_t *was = json_loads(last_confirm_answer, 0, NULL);
        assert_string_equal(jstr(r.j, "id"), jstr(was, "id"));
        assert_string_equal(jstr(r.j, "status"), "confirmed");
        json_decref(was);
        res_free(&r);
    }
    assert_int_equal(count_listed(g_c, q), N_DUR);
    free(last_book_answer);
    free(last_confirm_answer);
}

/* ------------------------------------------------------------------------ */
/* 6. The database restarts under the daemon                                */

static void test_db_restart(void **state)
{
    char rider[40], key[48], body[600], offered[40], q[80];
    int64_t t0;
    res r;
    int st;

    (void)state;
    make_rider(g_c, "Outage Rider", rider);
    r = book(g_c, g_tok[T_OPERATOR], NULL, rider, "s031", "s071", "depart_after", "15:10");
    expect_status(r, 201, "a booking before the outage");
    snprintf(offered, sizeof(offered), "%s", jstr(r.j, "id"));
    res_free(&r);

    assert_int_equal(pgt_stop(g_env.pg), 0);
    /* Health notices within a moment. */
    t0 = dmn_now_ms();
    do {
        r = getf(g_c, NULL, "/v1/health");
        st = r.status;
        if (st != 503)
            res_free(&r);
        else
            break;
        dmn_sleep_ms(50);
    } while (dmn_now_ms() - t0 < 5000);
    expect_status(r, 503, "health with the database down");
    assert_true(json_is_false(jget(r.j, "database")));
    res_free(&r);

    snprintf(body, sizeof(body),
             "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s032\"},\"dropoff\":{\"stop_id\":"
             "\"s072\"},\"when\":\"depart_after\",\"time\":\"15:20\"}",
             rider);
    new_key(key);
    r = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", key, body);
    expect_status(r, 503, "booking with the database down");
    assert_true(strlen(err_code(&r)) > 0);
    assert_true(r.ms < 3000);
    res_free(&r);
    r = confirm(g_c, g_tok[T_OPERATOR], offered, NULL);
    expect_status(r, 503, "confirm with the database down");
    assert_true(strlen(err_code(&r)) > 0);
    res_free(&r);
    r = cancel(g_c, g_tok[T_OPERATOR], offered);
    expect_status(r, 503, "cancel with the database down");
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s", rider);
    expect_status(r, 503, "list with the database down");
    assert_true(strlen(err_code(&r)) > 0);
    assert_true(r.ms < 3000);
    res_free(&r);
    r = postf(g_c, g_tok[T_OPERATOR], "/v1/riders", new_key(key), "{\"name\":\"Nobody\"}");
    expect_status(r, 503, "a rider with the database down");
    res_free(&r);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/riders?name=Outage");
    expect_status(r, 503, "rider search with the database down");
    res_free(&r);
    /* What lives in memory still reads. */
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", offered);
    expect_status(r, 200, "a live booking with the database down");
    assert_string_equal(jstr(r.j, "status"), "offered");
    res_free(&r);

    /* Back: within a few seconds bookings work again. */
    assert_int_equal(pgt_run("start", g_env.pg, NULL, 0), 0);
    t0 = dmn_now_ms();
    new_key(key);
    do {
        r = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", key, body);
        st = r.status;
        if (st != 201)
            res_free(&r);
        else
            break;
        dmn_sleep_ms(100);
    } while (dmn_now_ms() - t0 < 10000);
    expect_status(r, 201, "a booking after the database came back");
    res_free(&r);
    print_message("      bookings worked again %lld ms after the database started\n",
                  (long long)(dmn_now_ms() - t0));
    r = getf(g_c, NULL, "/v1/health");
    expect_status(r, 200, "health after the outage");
    res_free(&r);
    r = confirm(g_c, g_tok[T_OPERATOR], offered, NULL);
    expect_status(r, 200, "confirm after the outage");
    res_free(&r);
    /* Nothing from the outage was stored twice or at all. */
    snprintf(q, sizeof(q), "rider=%s", rider);
    assert_int_equal(count_listed(g_c, q), 2);
}

/* ------------------------------------------------------------------------ */
/* 5b, 6b. The same under load: clients booking on their own threads while  */
/* the daemon is killed or the database stops                               */

#define LOAD_MAX 300

typedef struct load_req {
    char key[48];
    char body[400];
    int status; /* HTTP status; negative: no answer (SIM_HTTPC_E*) */
    int replayed;
    int64_t ms;
    char id[40];
    long long from_s, to_s, latest_s;
} load_req;

typedef struct loader {
    int port, first;
    const char *tok;
    const char *rider;
    int stop_on_error;
    atomic_int stop;
    atomic_int acked; /* 2xx answers so far */
    int n;
    load_req req[LOAD_MAX];
    pthread_t th;
} loader;

/* The i-th trip of a loader: stops and times spread over the day. */
static void load_body(const loader *l, int i, char *out, size_t len)
{
    int k = l->first + i;
    int min = 9 * 60 + 20 + (k * 7) % (9 * 60);

    snprintf(out, len,
             "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"s%03d\"},\"dropoff\":{\"stop_id\":"
             "\"s%03d\"},\"when\":\"depart_after\",\"time\":\"%02d:%02d\"}",
             l->rider, 10 + k % 80, 90 + (k * 3) % 50, min / 60, min % 60);
}

/* Notes what a booking answer says. */
static void load_note(load_req *q, const res *r)
{
    q->status = r->status;
    q->ms = r->ms;
    q->replayed = 0;
    if (r->status == 201) {
        snprintf(q->id, sizeof(q->id), "%s", jstr(r->j, "id"));
        q->from_s = jint(r->j, "pickup_from_s");
        q->to_s = jint(r->j, "pickup_to_s");
        q->latest_s = jint(r->j, "latest_dropoff_s");
    } else if (r->status == 409) {
        snprintf(q->id, sizeof(q->id), "%s", jstr(jget(r->j, "error"), "booking_id"));
    }
    if (r->status > 0) {
        char hv[16];
        q->replayed = sim_http_resp_header(&r->r, "Idempotent-Replayed", hv, sizeof(hv)) == 1;
    }
}

static void *load_main(void *arg)
{
    loader *l = arg;
    sim_httpc *c = NULL;

    if (sim_httpc_create("127.0.0.1", l->port, CLIENT_TIMEOUT_MS, &c) != 0)
        return NULL;
    while (!atomic_load(&l->stop) && l->n < LOAD_MAX) {
        load_req *q = &l->req[l->n];
        snprintf(q->key, sizeof(q->key), "load-%d-%d-%d", (int)getpid(), l->first, l->n);
        load_body(l, l->n, q->body, sizeof(q->body));
        res r = call(c, l->tok, "POST", "/v1/bookings", q->key, q->body);
        load_note(q, &r);
        res_free(&r);
        l->n++;
        if (q->status >= 200 && q->status < 300)
            atomic_fetch_add(&l->acked, 1);
        if (q->status < 0 && l->stop_on_error)
            break;
        if (q->status == 503)
            dmn_sleep_ms(20); /* a client backing off a little */
    }
    sim_httpc_destroy(c);
    return NULL;
}

static void load_start(loader *l, int port, const char *tok, const char *rider, int first,
                       int stop_on_error)
{
    memset(l, 0, sizeof(*l));
    l->port = port;
    l->tok = tok;
    l->rider = rider;
    l->first = first;
    l->stop_on_error = stop_on_error;
    atomic_init(&l->stop, 0);
    atomic_init(&l->acked, 0);
    assert_int_equal(pthread_create(&l->th, NULL, load_main, l), 0);
}

static void load_join(loader *l)
{
    atomic_store(&l->stop, 1);
    pthread_join(l->th, NULL);
}

/* Waits until the loaders have n 2xx answers between them (or limit_ms). */
static int load_wait(loader *ls, int n_loaders, int n, int limit_ms)
{
    int64_t deadline = dmn_now_ms() + limit_ms;

    while (dmn_now_ms() < deadline) {
        int sum = 0;
        for (int i = 0; i < n_loaders; i++)
            sum += atomic_load(&ls[i].acked);
        if (sum >= n)
            return sum;
        dmn_sleep_ms(2);
    }
    return -1;
}

/*
 * After the storm: every request without a 2xx/409 answer is sent again
 * with its key and body; then each key must stand for exactly one stored
 * booking of the rider, and nothing else may be stored for the rider.
 */
static void load_settle(loader *ls, int n_loaders, const char *rider, const char *what)
{
    int answered = 0, n_req = 0;
    char q[80];

    for (int i = 0; i < n_loaders; i++)
        for (int k = 0; k < ls[i].n; k++) {
            load_req *r = &ls[i].req[k];
            n_req++;
            if (r->status != 201 && r->status != 409) {
                /* A change still waiting for its commit answers "in
                 * progress" until it is stored. */
                int64_t until = dmn_now_ms() + 10000;
                res a = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", r->key, r->body);
                while (a.status == 409 && strcmp(err_code(&a), "idempotency_in_progress") == 0 &&
                       dmn_now_ms() < until) {
                    res_free(&a);
                    dmn_sleep_ms(100);
                    a = call(g_c, g_tok[T_OPERATOR], "POST", "/v1/bookings", r->key, r->body);
                }
                if ((a.status != 201 && a.status != 409) ||
                    (a.status == 409 && strcmp(err_code(&a), "no_availability") != 0)) {
                    print_error("%s: request %s again after the storm: %d %s\n", what, r->key,
                                a.status, body_of(&a));
                    fail();
                }
                load_note(r, &a);
                res_free(&a);
            }
            answered++;
        }
    snprintf(q, sizeof(q), "rider=%s", rider);
    int stored = count_listed(g_c, q);
    if (stored != answered) {
        print_error("%s: %d requests (one Idempotency-Key each) answered with a booking, but "
                    "the rider has %d stored bookings\n",
                    what, answered, stored);
        /* Which ones nobody was told about. */
        char cursor[64] = "";
        for (int page = 0; page < 10; page++) {
            res l = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings?rider=%s&limit=200%s%s", rider,
                         cursor[0] ? "&cursor=" : "", cursor);
            json_t *b;
            size_t bi;
            json_array_foreach(jget(l.j, "bookings"), bi, b) {
                int known = 0;
                for (int i = 0; i < n_loaders; i++)
                    for (int k = 0; k < ls[i].n; k++)
                        known |= strcmp(ls[i].req[k].id, jstr(b, "id")) == 0;
                if (!known)
                    print_error("   stored, never acknowledged: %s %s requested %s\n",
                                jstr(b, "id"), jstr(b, "status"), jstr(b, "requested"));
            }
            const char *next = json_string_value(jget(l.j, "next_cursor"));
            snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
            res_free(&l);
            if (!cursor[0])
                break;
        }
        fail();
    }
    (void)n_req;
}

/* Events stored twice for one booking (same kind and transition). */
static void dup_events(const char *rider, char out[512])
{
    if (dmn_query(g_env.conninfo,
                  "SELECT count(*) FROM (SELECT e.booking_id FROM booking_events e JOIN "
                  "bookings b ON b.id = e.booking_id WHERE b.rider_id = $1 GROUP BY "
                  "e.booking_id, e.kind, e.from_status, e.to_status HAVING count(*) > 1) x",
                  rider, out, 512) < 0) {
        print_error("dup_events: %s\n", out);
        fail();
    }
}

static void test_kill9_under_load(void **state)
{
    static loader ls[2];
    char rider[40], clock[16], dups[512];
    int acked;

    (void)state;
    make_rider(g_c, "Storm Rider", rider);
    load_start(&ls[0], g_main.port, g_tok[T_OPERATOR], rider, 0, 1);
    load_start(&ls[1], g_main.port, g_tok[T_OPERATOR], rider, 150, 1);
    acked = load_wait(ls, 2, 12, 15000);
    /* In the middle of it. */
    dmn_clock_after(&g_main, clock);
    dmn_kill9(&g_main);
    load_join(&ls[0]);
    load_join(&ls[1]);
    assert_true(acked >= 12);
    sim_httpc_destroy(g_c);
    g_c = NULL;
    assert_int_equal(dmn_start(&g_main, clock), 0);
    assert_int_equal(sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &g_c), 0);

    /* Every 2xx is there as it was promised. */
    int checked = 0;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < ls[i].n; k++) {
            load_req *q = &ls[i].req[k];
            if (q->status != 201)
                continue;
            res r = getf(g_c, g_tok[T_OPERATOR], "/v1/bookings/%s", q->id);
            if (r.status != 200 || jint(r.j, "pickup_from_s") != q->from_s ||
                jint(r.j, "pickup_to_s") != q->to_s ||
                jint(r.j, "latest_dropoff_s") != q->latest_s) {
                print_error("acknowledged booking %s (%lld..%lld, latest %lld) after kill -9: "
                            "%d %s\n",
                            q->id, q->from_s, q->to_s, q->latest_s, r.status, body_of(&r));
                fail();
            }
            res_free(&r);
            checked++;
        }
    print_message("      %d acknowledged bookings checked; %d and %d requests sent\n", checked,
                  ls[0].n, ls[1].n);
    /* Requests whose answer the kill cut off: once more with their keys. */
    load_settle(ls, 2, rider, "kill -9 under load");
    dup_events(rider, dups);
    assert_string_equal(dups, "0");
}

static void test_db_outage_under_load(void **state)
{
    static loader ls[1];
    char rider[40], dups[512];
    int before, n503 = 0, slow = 0;

    (void)state;
    make_rider(g_c, "Outage Storm Rider", rider);
    load_start(&ls[0], g_main.port, g_tok[T_OPERATOR], rider, 40, 0);
    if (load_wait(ls, 1, 5, 10000) < 5) {
        load_join(&ls[0]);
        print_error("no 5 bookings in 10 s before the outage\n");
        fail();
    }
    if (pgt_stop(g_env.pg) != 0) {
        load_join(&ls[0]);
        fail();
    }
    dmn_sleep_ms(300);
    if (pgt_run("start", g_env.pg, NULL, 0) != 0) {
        load_join(&ls[0]);
        fail();
    }
    before = atomic_load(&ls[0].acked);
    int after = load_wait(ls, 1, before + 5, 15000);
    load_join(&ls[0]);
    if (after < 0) {
        print_error("bookings did not work again within 15 s of the database's return\n");
        fail();
    }
    for (int k = 0; k < ls[0].n; k++) {
        load_req *q = &ls[0].req[k];
        if (q->status == 503) {
            n503++;
            slow += q->ms > 3000;
        } else if (q->status != 201 && q->status != 409) {
            print_error("request %d during the outage: %d (%lld ms)\n", k, q->status,
                        (long long)q->ms);
            fail();
        }
    }
    print_message("      %d requests, %d answered 503 during the outage\n", ls[0].n, n503);
    assert_true(n503 > 0);
    assert_int_equal(slow, 0);
    /* The 503s once more with their keys: one booking per key, and none
     * stored that was answered 503. */
    load_settle(ls, 1, rider, "database outage under load");
    dup_events(rider, dups);
    assert_string_equal(dups, "0");
}

/* ------------------------------------------------------------------------ */
/* 7. The OpenAPI document and the route table agree                       */

static void test_openapi(void **state)
{
    static const char *const methods[] = {"get", "put", "post", "delete", "patch",
                                          "head", "options", "trace", NULL};
    char doc_ops[64][160], lib_ops[64][160];
    int n_doc = 0, n_lib = api_route_count();
    const char *path;
    json_t *item;
    res r;

    (void)state;
    r = getf(g_c, NULL, "/v1/openapi.json");
    expect_status(r, 200, "GET /v1/openapi.json");
    if (r.j == NULL) {
        print_error("/v1/openapi.json does not parse as JSON\n");
        fail();
    }
    assert_true(json_is_string(jget(r.j, "openapi")));
    assert_true(strncmp(jstr(r.j, "openapi"), "3.", 2) == 0);
    assert_true(json_is_object(jget(r.j, "paths")));
    json_object_foreach(jget(r.j, "paths"), path, item) {
        for (int m = 0; methods[m] != NULL; m++) {
            char norm[128];
            size_t k = 0;
            if (json_object_get(item, methods[m]) == NULL)
                continue;
            /* "{anything}" segments are the table's '*'. */
            for (const char *p = path; *p && k + 1 < sizeof(norm); p++) {
                if (*p == '{') {
                    const char *e = strchr(p, '}');
                    if (e == NULL)
                        break;
                    norm[k++] = '*';
                    p = e;
                } else {
                    norm[k++] = *p;
                }
            }
            norm[k] = '\0';
            assert_true(n_doc < 64);
            snprintf(doc_ops[n_doc], sizeof(doc_ops[n_doc]), "%s %s", methods[m], norm);
            for (char *u = doc_ops[n_doc]; *u != ' '; u++)
                *u = (char)(*u - 'a' + 'A');
            n_doc++;
        }
    }
    assert_true(n_lib <= 64);
    for (int i = 0; i < n_lib; i++) {
        const char *m, *p;
        api_route_get(i, &m, &p);
        snprintf(lib_ops[i], sizeof(lib_ops[i]), "%s %s", m, p);
    }
    int bad = 0;
    for (int i = 0; i < n_lib; i++) {
        int found = 0;
        for (int j = 0; j < n_doc; j++)
            found += strcmp(lib_ops[i], doc_ops[j]) == 0;
        if (found != 1) {
            print_error("route %s is %s in /v1/openapi.json\n", lib_ops[i],
                        found ? "listed twice" : "not documented");
            bad++;
        }
    }
    for (int j = 0; j < n_doc; j++) {
        int found = 0;
        for (int i = 0; i < n_lib; i++)
            found += strcmp(lib_ops[i], doc_ops[j]) == 0;
        if (!found) {
            print_error("/v1/openapi.json documents %s, which the server does not route\n",
                        doc_ops[j]);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    assert_int_equal(n_doc, n_lib);
    res_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 8. Clean shutdown                                                        */

static void test_shutdown(void **state)
{
    int status = -1;
    int64_t t0;

    (void)state;
    sim_httpc_destroy(g_c);
    g_c = NULL;
    t0 = dmn_now_ms();
    if (dmn_term(&g_main, 5000, &status) != 0) {
        print_error("the daemon did not exit within 5 s of SIGTERM\n");
        dmn_print_tail(g_main.log, 20);
        fail();
    }
    print_message("      exited %lld ms after SIGTERM\n", (long long)(dmn_now_ms() - t0));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* And it comes back with the same state (the next test's setup, or
     * the end: nothing left running). */
}

/* ------------------------------------------------------------------------ */
/* Token revocation; a van out of service stays out across a restart        */

static void test_revoke_and_out_of_service(void **state)
{
    char k[48], tid[48], tok[96], clock[16];
    res r;

    (void)state;
    /* A new operator token works, is revoked, and then answers 401. */
    r = call(g_c, g_tok[T_ADMIN], "POST", "/v1/tokens", new_key(k), "{\"role\":\"operator\"}");
    expect_status(r, 201, "new operator token");
    snprintf(tid, sizeof(tid), "%s", jstr(r.j, "id"));
    snprintf(tok, sizeof(tok), "%s", jstr(r.j, "token"));
    res_free(&r);
    r = getf(g_c, tok, "/v1/vehicles");
    expect_status(r, 200, "new token in use");
    res_free(&r);
    r = postf(g_c, g_tok[T_OPERATOR], "/v1/tokens/x/revoke", new_key(k), "{}");
    expect_status(r, 403, "an operator cannot revoke");
    res_free(&r);
    r = postf(g_c, g_tok[T_ADMIN], "/v1/tokens/tk_nobody/revoke", new_key(k), "{}");
    expect_status(r, 404, "unknown token id");
    res_free(&r);
    char path[96];
    snprintf(path, sizeof(path), "/v1/tokens/%s/revoke", tid);
    r = call(g_c, g_tok[T_ADMIN], "POST", path, new_key(k), NULL);
    expect_status(r, 200, "revoke");
    assert_true(json_is_true(jget(r.j, "revoked")));
    res_free(&r);
    r = getf(g_c, tok, "/v1/vehicles");
    expect_status(r, 401, "revoked token");
    res_free(&r);
    r = call(g_c, g_tok[T_ADMIN], "POST", path, new_key(k), NULL);
    expect_status(r, 404, "revoked twice");
    res_free(&r);

    /* van4 out of service; after a kill -9 and a restart it is still out
     * and no booking is planned onto it. */
    r = postf(g_c, g_tok[T_OPERATOR], "/v1/vehicles/van4/out-of-service", new_key(k),
              "{\"reason\":\"flat tyre\"}");
    expect_status(r, 200, "out of service");
    res_free(&r);
    dmn_clock_after(&g_main, clock);
    dmn_kill9(&g_main);
    sim_httpc_destroy(g_c);
    g_c = NULL;
    assert_int_equal(dmn_start(&g_main, clock), 0);
    assert_int_equal(sim_httpc_create("127.0.0.1", g_main.port, CLIENT_TIMEOUT_MS, &g_c), 0);
    r = getf(g_c, g_tok[T_OPERATOR], "/v1/vehicles/van4");
    expect_status(r, 200, "van4 after restart");
    assert_true(json_is_false(jget(r.j, "in_service")));
    assert_int_equal(jint(r.j, "n_stops"), 0);
    res_free(&r);
    r = getf(g_c, tok, "/v1/vehicles");
    expect_status(r, 401, "revoked token after restart");
    res_free(&r);
    r = postf(g_c, g_tok[T_OPERATOR], "/v1/vehicles/van4/out-of-service", new_key(k), "{}");
    expect_status(r, 409, "out of service twice");
    res_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lifecycle, test_setup),
        cmocka_unit_test_setup(test_authorization, test_setup),
        cmocka_unit_test_setup(test_bad_input, test_setup),
        cmocka_unit_test_setup(test_no_room, test_setup),
        cmocka_unit_test_setup(test_openapi, test_setup),
        cmocka_unit_test_setup(test_kill9, test_setup),
        cmocka_unit_test_setup(test_kill9_under_load, test_setup),
        cmocka_unit_test_setup(test_db_restart, test_setup),
        cmocka_unit_test_setup(test_db_outage_under_load, test_setup),
        cmocka_unit_test_setup(test_revoke_and_out_of_service, test_setup),
        cmocka_unit_test_setup(test_shutdown, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
