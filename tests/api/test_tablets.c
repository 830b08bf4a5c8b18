/*
 * test_tablets.c - simulated driver tablets (simulator/tablets.c) against
 * the real daemon: PostgreSQL and `noriai serve` ($NORIAI_BIN, else
 * build/noriai) started by tests/api/daemon.h with --clock 09:00 and three
 * vans with a ten-minute break, about 20 trips booked and confirmed over
 * HTTP, then sim_tablets_run in this process: three tablets (their driver
 * tokens made with the admin token) driving at speed 2000 for 12 s, each
 * dropping its connection on a fifth of its events.
 *
 * What is checked:
 *   the run       nothing lost (every acknowledged boarding, alighting and
 *                 no-show shows in its booking), nothing applied twice,
 *                 every event answered, repeated events answered the same;
 *                 it really drove (boardings, alightings, drops, reconnects,
 *                 resends or duplicates)
 *   the store     one driver_events row per event, 'ok' exactly for those
 *                 acknowledged ok; per booking at most one transition to
 *                 picked_up, dropped_off or no_show, and as many of each as
 *                 acknowledged boardings, alightings and no-shows
 *   the daemon    still running and healthy
 *   the edges     bad options refused before anything is sent; a driver
 *                 token file read (JSON and lines) and one with a bad line
 *                 refused with its line number
 *
 * Ports come from 18681..18699.  About 20 s with initdb.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <jansson.h>

#include "simulator/httpc.h"
#include "simulator/tablets.h"

#define PORT_FIRST 18681
#define PORT_LAST 18699
#define N_TRIPS 20

static dmn_env g_env;
static dmn g_d;
static sim_httpc *g_c;
static char g_admin[80], g_op[80];

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* One number from the store. */
static long long query_num(const char *sql)
{
    char out[256];

    if (dmn_query(g_env.conninfo, sql, NULL, out, sizeof(out)) < 0) {
        print_error("query failed: %s\n", out);
        fail();
    }
    return atoll(out);
}

static int group_setup(void **state)
{
    (void)state;
    if (dmn_env_start(&g_env, "test_tablets", "tab", PORT_FIRST, PORT_LAST) != 0)
        return -1;
    dmn_init(&g_d, &g_env, "main");
    if (dmn_config(&g_d, "{\"fleet\":[{\"id\":\"van\",\"count\":3,\"configs\":[{\"seats\":8,"
                         "\"wheelchairs\":0}],\"shift\":[\"07:00\",\"19:00\"],\"breaks\":[{"
                         "\"window\":[\"09:30\",\"10:30\"],\"duration_min\":10}]}],"
                         "\"replan\":{\"interval_s\":0}}") != 0 ||
        dmn_start(&g_d, "09:00") != 0)
        goto fail;
    if (dmn_token(&g_d, "admin", g_admin, sizeof(g_admin)) != 0 ||
        dmn_token(&g_d, "operator", g_op, sizeof(g_op)) != 0 ||
        sim_httpc_create("127.0.0.1", g_d.port, 5000, &g_c) != 0)
        goto fail;
    return 0;
fail:
    dmn_kill9(&g_d);
    dmn_env_stop(&g_env);
    return -1;
}

static int group_teardown(void **state)
{
    (void)state;
    sim_httpc_destroy(g_c);
    if (dmn_term(&g_d, 5000, NULL) != 0)
        fprintf(stderr, "test_tablets: the daemon had to be killed\n");
    dmn_env_stop(&g_env);
    return 0;
}

/* Books and confirms N_TRIPS trips between the area's stops; how many
 * were confirmed. */
static int book_trips(void)
{
    char stops[64][16];
    int n_stops = 0, n_ok = 0, st;
    unsigned x = 12345;
    json_t *j = dmn_call(g_c, g_op, "GET", "/v1/stops", NULL, NULL, &st), *s;
    size_t i;

    assert_int_equal(st, 200);
    json_array_foreach(json_object_get(j, "stops"), i, s)
    {
        if (strcmp(jstr(s, "kind"), "stop") == 0 && n_stops < 64)
            snprintf(stops[n_stops++], sizeof(stops[0]), "%s", jstr(s, "id"));
    }
    json_decref(j);
    assert_true(n_stops >= 10);
    for (int k = 0; k < N_TRIPS; k++) {
        char body[400], path[128];
        int a, b;
        x = x * 1103515245u + 12345u;
        a = (int)((x >> 8) % (unsigned)n_stops);
        x = x * 1103515245u + 12345u;
        b = (int)((x >> 8) % (unsigned)(n_stops - 1));
        b += b >= a;
        snprintf(body, sizeof(body),
                 "{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"%s\"},\"dropoff\":{"
                 "\"stop_id\":\"%s\"},\"when\":\"depart_after\",\"time\":\"%02d:%02d\"}",
                 stops[a], stops[b], 9 + (15 + 3 * k) / 60, (15 + 3 * k) % 60);
        j = dmn_call(g_c, g_op, "POST", "/v1/bookings", NULL, body, &st);
        if (st != 201) {
            json_decref(j);
            continue;
        }
        snprintf(path, sizeof(path), "/v1/bookings/%s/confirm", jstr(j, "id"));
        json_decref(j);
        json_decref(dmn_call(g_c, g_op, "POST", path, NULL, NULL, &st));
        n_ok += st == 200;
    }
    return n_ok;
}

static void test_drive(void **state)
{
    sim_tablets_opts o;
    sim_tablets_result r;
    char err[512] = "";
    int n_booked;

    (void)state;
    n_booked = book_trips();
    print_message("      %d of %d trips booked and confirmed\n", n_booked, N_TRIPS);
    assert_true(n_booked >= N_TRIPS / 2);

    sim_tablets_opts_default(&o);
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = g_d.port;
    o.token = g_op;
    o.admin_token = g_admin;
    o.n_tablets = 3;
    o.speed = 2000;
    o.drop_rate = 0.2;
    o.no_show_share = 0.1;
    o.duration_s = 12;
    o.settle_s = 10;
    o.seed = 7;
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), 0);
    sim_tablets_print(stderr, &r);

    assert_int_equal(r.lost, 0);
    assert_int_equal(r.applied_twice, 0);
    assert_int_equal(r.dup_mismatch, 0);
    assert_int_equal(r.unanswered, 0);
    assert_int_equal(r.check_errors, 0);
    assert_int_equal(r.seq_back, 0);
    assert_int_equal(r.connect_failures, 0);
    assert_true(r.events >= 30);
    assert_int_equal(r.events, r.acked_ok + r.refused);
    assert_true(r.by_kind_ok[2] >= 5); /* boarded */
    assert_true(r.by_kind_ok[3] >= 3); /* alighted */
    assert_true(r.drops >= 3);
    assert_true(r.reconnects >= 3);
    assert_true(r.resends + r.duplicates >= 1);
    assert_true(r.routes >= 10);
    assert_true(r.checked >= r.by_kind_ok[2]); /* one booking a boarding */

    /* The store: one row per event, once each. */
    assert_int_equal(query_num("SELECT count(*) FROM driver_events WHERE event_id LIKE 'lg%'"),
                     r.events);
    assert_int_equal(query_num("SELECT count(*) FROM driver_events WHERE event_id LIKE 'lg%' "
                               "AND result = 'ok'"),
                     r.acked_ok);
    assert_int_equal(query_num("SELECT count(*) FROM (SELECT booking_id, to_status FROM "
                               "booking_events WHERE kind = 'status' AND to_status IN "
                               "('picked_up', 'dropped_off', 'no_show') GROUP BY 1, 2 "
                               "HAVING count(*) > 1) x"),
                     0);
    assert_int_equal(query_num("SELECT count(*) FROM booking_events WHERE kind = 'status' AND "
                               "to_status = 'picked_up'"),
                     r.by_kind_ok[2]);
    assert_int_equal(query_num("SELECT count(*) FROM booking_events WHERE kind = 'status' AND "
                               "to_status = 'dropped_off'"),
                     r.by_kind_ok[3]);
    assert_int_equal(query_num("SELECT count(*) FROM booking_events WHERE kind = 'status' AND "
                               "to_status = 'no_show'"),
                     r.by_kind_ok[4]);

    /* The daemon lived through it. */
    assert_int_equal(dmn_exited(&g_d, NULL), 0);
    assert_int_equal(dmn_health(g_d.port, NULL, 0), 200);
}

/* Driver tokens read from a file name in the program's folder holding text. */
static int creds_from(const char *name, const char *text, sim_tablet_cred **creds, int *n,
                      char err[512])
{
    char path[400];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_env.dir, name);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
    return sim_tablets_read_creds(path, creds, n, err, 512);
}

static void test_edges(void **state)
{
    sim_tablets_opts o;
    sim_tablets_result r;
    sim_tablet_cred *creds = NULL;
    char err[512], path[400];
    int n = 0;

    (void)state;
    sim_tablets_opts_default(&o);
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = g_d.port;
    o.token = g_op;
    o.n_tablets = 2;
    o.duration_s = 1;
    /* no driver tokens and no admin token */
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    assert_non_null(strstr(err, "driver tokens"));
    o.admin_token = g_admin;
    o.drop_rate = 1.5;
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_EINVAL);
    o.drop_rate = 0;
    o.n_tablets = 4; /* three vans */
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_ESETUP);
    assert_non_null(strstr(err, "3 vehicles"));
    o.n_tablets = 1;
    o.admin_token = g_op; /* not an admin */
    assert_int_equal(sim_tablets_run(&o, &r, err, sizeof(err)), SIM_LOADGEN_ESETUP);
    assert_non_null(strstr(err, "admin"));

    /* Token files. */
    assert_int_equal(
        creds_from("d.json", " {\"van1\": \"nt_a\", \"van2\": \"nt_b\"}\n", &creds, &n, err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(creds[1].vehicle_id, "van2");
    assert_string_equal(creds[1].token, "nt_b");
    free(creds);
    assert_int_equal(
        creds_from("d.txt", "# vehicle token\n\nvan3 nt_c\n  van1\tnt_a  \n", &creds, &n, err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(creds[0].vehicle_id, "van3");
    assert_string_equal(creds[1].token, "nt_a");
    free(creds);
    assert_int_equal(creds_from("d.txt", "van1 nt_a\nvan2 nt_b extra\n", &creds, &n, err),
                     SIM_LOADGEN_EINVAL);
    assert_non_null(strstr(err, ":2:"));
    assert_null(creds);
    assert_int_equal(creds_from("d.json", "{\"van1\": 7}", &creds, &n, err), SIM_LOADGEN_EINVAL);
    assert_non_null(strstr(err, "van1"));
    snprintf(path, sizeof(path), "%s/missing.txt", g_env.dir);
    assert_int_equal(sim_tablets_read_creds(path, &creds, &n, err, sizeof(err)),
                     SIM_LOADGEN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drive),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
