/*
 * test_loadgen.c - the load generator (simulator/loadgen.c) against a fake
 * reservation API served from threads of this program (miniserver.h, a
 * thread per connection), so it runs without PostgreSQL or a daemon.
 *
 * The fake answers the setup reads (health, shifts, stops with a depot),
 * registers riders, and books: every fifth booking gets 409 (no room),
 * the others 201 with a fresh id; confirms and cancels answer 200.  It
 * checks as it goes what loadgen sends: a bearer token, an
 * Idempotency-Key on every POST never seen before, pickup and drop-off
 * distinct and never the depot, times inside the service hours.
 *
 * Cases: a short open-loop run (counts by status, pairs, cancels with the
 * cleanup, JSON summary that parses), a closed-loop run, a token the
 * fake refuses (setup error naming the role), no server (connect error),
 * invalid options; the simulated tablets' options and their setup with no
 * server (their run against the daemon is tests/api/test_tablets.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "simulator/loadgen.h"
#include "simulator/tablets.h"

#include "miniserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_KEYS 4096

typedef struct fake {
    msv srv;           /* a thread per connection */
    const char *token; /* the one accepted */
    pthread_mutex_t mu;
    char *keys[MAX_KEYS];
    int n_keys, dup_keys, bad_requests, n_riders, n_bookings, n_confirms, n_cancels, n_refused;
} fake;

/* One send per answer: two would meet Nagle and delayed ACKs (40 ms). */
static void reply(int fd, int status, const char *body)
{
    char out[1024];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "\r\n%s",
                     status, strlen(body), body);
    (void)!send(fd, out, (size_t)n, MSG_NOSIGNAL);
}

static void bad(fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->bad_requests++;
    pthread_mutex_unlock(&f->mu);
}

/* Records an Idempotency-Key; 0 new, -1 seen before or missing. */
static int key_seen(fake *f, const char *req)
{
    const char *k = msv_find_nocase(req, "\r\nIdempotency-Key: ");
    char key[160];
    int rc = 0;

    if (k == NULL || sscanf(k + 19, "%159[^\r]", key) != 1)
        return -1;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n_keys; i++)
        if (strcmp(f->keys[i], key) == 0)
            rc = -1;
    if (rc == 0 && f->n_keys < MAX_KEYS)
        f->keys[f->n_keys++] = strdup(key);
    if (rc < 0)
        f->dup_keys++;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void check_booking(fake *f, const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *a = json_string_value(json_object_get(json_object_get(j, "pickup"), "stop_id"));
    const char *b = json_string_value(json_object_get(json_object_get(j, "dropoff"), "stop_id"));
    const char *when = json_string_value(json_object_get(j, "when"));
    const char *t = json_string_value(json_object_get(j, "time"));
    int ok = a && b && when && strcmp(a, b) != 0 && strcmp(a, "depot") != 0 &&
             strcmp(b, "depot") != 0 && json_string_value(json_object_get(j, "rider_id"));

    if (ok && strcmp(when, "depart_after") == 0) {
        /* clock 09:00, service 07:00-19:00: from 09:20 to 18:00 */
        int h, m;
        ok = t && sscanf(t, "%d:%d", &h, &m) == 2 && h * 60 + m >= 9 * 60 + 20 &&
             h * 60 + m <= 18 * 60;
    } else if (ok) {
        ok = strcmp(when, "asap") == 0 && t == NULL;
    }
    if (!ok)
        bad(f);
    json_decref(j);
}

static void answer(fake *f, int fd, const char *req, const char *body)
{
    char method[8], path[200], auth[300], out[200];
    const char *a = msv_find_nocase(req, "\r\nAuthorization: Bearer ");

    if (sscanf(req, "%7s %199s", method, path) != 2) {
        bad(f);
        reply(fd, 400, "{}");
        return;
    }
    if (strcmp(path, "/v1/health") == 0) {
        reply(fd, 200, "{\"now\":\"2026-11-22T09:00:00+09:00\",\"service_date\":\"2026-11-22\"}");
        return;
    }
    if (a == NULL || sscanf(a + 24, "%299[^\r]", auth) != 1 || strcmp(auth, f->token) != 0) {
        reply(fd, 403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"not for you\"}}");
        return;
    }
    if (strcmp(method, "POST") == 0 && key_seen(f, req) < 0) {
        bad(f);
        reply(fd, 422, "{}");
        return;
    }
    pthread_mutex_lock(&f->mu);
    if (strcmp(path, "/v1/shifts") == 0) {
        snprintf(out, sizeof(out),
                 "{\"shifts\":[{\"date\":\"2026-11-22\",\"start\":\"2026-11-22T07:00:00+09:00\","
                 "\"end\":\"2026-11-22T19:00:00+09:00\"}]}");
    } else if (strcmp(path, "/v1/stops?limit=1000") == 0) {
        snprintf(out, sizeof(out),
                 "{\"stops\":[{\"id\":\"depot\",\"kind\":\"depot\"},{\"id\":\"s1\",\"kind\":\"stop\"},"
                 "{\"id\":\"s2\",\"kind\":\"stop\"},{\"id\":\"s3\",\"kind\":\"stop\"}]}");
    } else if (strcmp(path, "/v1/riders") == 0) {
        snprintf(out, sizeof(out), "{\"id\":\"r_%d\"}", ++f->n_riders);
    } else if (strcmp(path, "/v1/bookings") == 0) {
        if (++f->n_bookings % 5 == 0) {
            f->n_refused++;
            snprintf(out, sizeof(out), "{\"error\":{\"code\":\"no_availability\"}}");
        } else {
            snprintf(out, sizeof(out), "{\"id\":\"bk_%d\"}", f->n_bookings);
        }
    } else if (strstr(path, "/confirm") != NULL) {
        f->n_confirms++;
        snprintf(out, sizeof(out), "{\"status\":\"confirmed\"}");
    } else if (strstr(path, "/cancel") != NULL) {
        f->n_cancels++;
        snprintf(out, sizeof(out), "{\"status\":\"cancelled\"}");
    } else {
        f->bad_requests++;
        snprintf(out, sizeof(out), "{}");
    }
    pthread_mutex_unlock(&f->mu);
    if (strcmp(path, "/v1/bookings") == 0)
        check_booking(f, body);
    if (strcmp(path, "/v1/bookings") == 0 && strstr(out, "no_availability") != NULL)
        reply(fd, 409, out);
    else if (strcmp(method, "POST") == 0)
        reply(fd, strstr(path, "/confirm") || strstr(path, "/cancel") ? 200 : 201, out);
    else
        reply(fd, 200, out);
}

static void serve_conn(msv *m, int fd, int conn)
{
    msv_req *q = malloc(sizeof(*q));

    (void)conn;
    if (q != NULL) {
        msv_req_init(q);
        while (msv_next_request(m, fd, q)) {
            char body[4096];
            size_t k = q->body_len < sizeof(body) - 1 ? q->body_len : sizeof(body) - 1;
            memcpy(body, q->buf + q->head_len, k);
            body[k] = '\0';
            q->buf[q->head_len - 4] = '\0'; /* the head without its blank line */
            answer(m->ud, fd, q->buf, body);
        }
    }
    free(q);
    close(fd);
}

static int setup(void **state)
{
    fake *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->token = "tok-operator";
    pthread_mutex_init(&f->mu, NULL);
    if (msv_start(&f->srv, 1, serve_conn, f) != 0) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake *f = *state;

    msv_stop(&f->srv);
    for (int i = 0; i < f->n_keys; i++)
        free(f->keys[i]);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void opts(fake *f, sim_loadgen_opts *o)
{
    sim_loadgen_opts_default(o);
    snprintf(o->host, sizeof(o->host), "127.0.0.1");
    o->port = f->srv.port;
    o->token = f->token;
    o->rate = 200;
    o->duration_s = 0.5;
    o->n_riders = 7;
    o->n_threads = 4;
    o->seed = 42;
    o->timeout_ms = 2000;
}

static void test_open_loop_run(void **state)
{
    fake *f = *state;
    sim_loadgen_opts o;
    sim_loadgen_result *r = calloc(1, sizeof(*r));
    char err[256] = "", *txt = NULL;
    size_t len = 0;
    FILE *mem;

    opts(f, &o);
    o.cancel_share = 0.5;
    o.cleanup = 1;
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), 0);
    assert_int_equal(f->bad_requests, 0);
    assert_int_equal(f->dup_keys, 0);
    assert_int_equal(r->n_riders, 7);
    assert_int_equal(f->n_riders, 7);
    assert_int_equal(r->n_stops, 3); /* the depot left out */
    assert_int_equal(r->service_start_s, 7 * 3600);
    assert_int_equal(r->service_end_s, 19 * 3600);
    assert_int_equal(r->now_s, 9 * 3600);
    assert_int_equal(r->pairs_scheduled, 100);
    assert_int_equal(r->pairs_sent, 100);
    assert_int_equal(r->pairs_missed, 0);
    assert_int_equal(r->bookings_rejected, 20);
    assert_int_equal(r->by_status[409], 20);
    assert_int_equal(r->by_status[201], 80);
    assert_int_equal(r->pairs_confirmed, 80);
    assert_int_equal(r->confirm.n, 80);
    assert_int_equal(r->pair.n, 80);
    assert_int_equal(r->booking.n, 100);
    /* every confirmed booking cancelled: during the run or in the cleanup */
    assert_int_equal(r->cancels + r->cleanup_cancels, 80);
    assert_true(r->cancels > 10 && r->cancels < 70);
    assert_int_equal(f->n_cancels, 80);
    assert_int_equal(r->by_status[200], 80 + r->cancels);
    assert_int_equal(r->requests, 100 + 80 + r->cancels);
    assert_int_equal(r->transport_errors, 0);
    assert_true(r->pairs_per_s > 100 && r->pairs_per_s <= 200);
    assert_true(r->pair.p50_ms <= r->pair.p99_ms && r->pair.p99_ms <= r->pair.max_ms + 1e-9);
    assert_true(r->booking.p50_ms > 0);
    assert_string_equal(r->first_error, "");
    /* JSON summary: one object that parses, with the counts */
    mem = open_memstream(&txt, &len);
    assert_int_equal(sim_loadgen_print_json(mem, r), 0);
    fclose(mem);
    json_t *j = json_loads(txt, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "pairs"), "confirmed")),
                     80);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "by_status"), "409")),
                     20);
    assert_non_null(json_object_get(json_object_get(j, "pair"), "p99_ms"));
    json_decref(j);
    free(txt);
    /* text summary */
    mem = open_memstream(&txt, &len);
    sim_loadgen_print(mem, r);
    fclose(mem);
    assert_non_null(strstr(txt, "409: 20"));
    assert_non_null(strstr(txt, "summary rate=200 "));
    free(txt);
    free(r);
}

static void test_closed_loop_run(void **state)
{
    fake *f = *state;
    sim_loadgen_opts o;
    sim_loadgen_result *r = calloc(1, sizeof(*r));
    char err[256];

    opts(f, &o);
    o.open_loop = 0;
    o.cancel_share = 0;
    o.asap_share = 1;
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), 0);
    assert_int_equal(f->bad_requests, 0);
    assert_int_equal(r->open_loop, 0);
    assert_int_equal(r->pairs_sent + r->pairs_missed, 100);
    assert_int_equal(r->cancels, 0);
    assert_int_equal(f->n_cancels, 0);
    assert_int_equal(r->pairs_confirmed, r->by_status[201]);
    free(r);
}

static void test_token_refused(void **state)
{
    fake *f = *state;
    sim_loadgen_opts o;
    sim_loadgen_result *r = calloc(1, sizeof(*r));
    char err[256];

    opts(f, &o);
    o.token = "tok-rider";
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_ESETUP);
    assert_non_null(strstr(err, "403"));
    assert_non_null(strstr(err, "operator"));
    assert_int_equal(f->n_bookings, 0);
    free(r);
}

static void test_no_server(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sim_loadgen_opts o;
    sim_loadgen_result *r = calloc(1, sizeof(*r));
    char err[256];

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd); /* nobody listens there now */
    opts(*state, &o);
    o.port = ntohs(a.sin_port);
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_ECONNECT);
    assert_non_null(strstr(err, "cannot connect"));
    free(r);
}

static void test_invalid_options(void **state)
{
    sim_loadgen_opts o;
    sim_loadgen_result *r = calloc(1, sizeof(*r));
    char err[256];

    opts(*state, &o);
    o.rate = 0;
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    opts(*state, &o);
    o.duration_s = -1;
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    opts(*state, &o);
    o.n_threads = 0;
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    opts(*state, &o);
    o.cancel_share = 1.5;
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    opts(*state, &o);
    o.token = "a\r\nb";
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    opts(*state, &o);
    o.rate = 0.1;
    o.duration_s = 1; /* rate x duration below half a pair */
    assert_int_equal(sim_loadgen_run(&o, r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    assert_string_equal(sim_loadgen_strerror(SIM_LOADGEN_EINVAL), "invalid option");
    free(r);
}

static void test_tablets_options(void **state)
{
    const sim_tablet_cred creds[2] = {{"van1", "nt_a"}, {"van2", "nt_b"}};
    sim_tablets_opts o;
    sim_tablets_result r;
    char err[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);

    (void)state;
    sim_tablets_opts_default(&o);
    assert_true(o.speed == 60 && o.no_show_share == 0.05 && o.min_gap_ms == 50);
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = 1;
    o.token = "tok";
    o.creds = creds;
    o.n_creds = 2;
    o.n_tablets = 3; /* more than tokens */
    o.duration_s = 1;
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    assert_non_null(strstr(err, "fewer than tablets"));
    o.n_tablets = 2;
    o.speed = 0.5;
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    o.speed = 60;
    o.token = "two words";
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    o.token = "tok";
    o.duration_s = 0;
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    o.duration_s = 1;
    /* nobody listens there */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    o.port = ntohs(a.sin_port);
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_ECONNECT);
    assert_non_null(strstr(err, "/v1/health"));
    assert_string_equal(sim_loadgen_strerror(SIM_LOADGEN_ECONNECT), "cannot reach the server");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_loop_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_loop_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_options, setup, teardown),
        cmocka_unit_test(test_tablets_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
