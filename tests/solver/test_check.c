/*
 * test_check.c - the independent checker on hand-built cases.
 *
 * Every instance lives on a line: location i sits at position X[i] and travel
 * time = distance = |X[i] - X[j]|, so every number below can be verified with
 * a pencil.  Location 0 is the depot of every vehicle.  Vehicle v has ext_id
 * 7 + v and request r has ext_id 100 + r, so messages can be matched exactly.
 * Each test starts from a valid solution and breaks one rule, and asserts that
 * the checker both rejects it and says which vehicle, stop and rule.
 */
#include <setjmp.h> /* cmocka needs these four first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "solver/slv.h"

static const double X[] = {0, 10, 20, 30, 40, 50};
#define N_LOCS ((int)(sizeof(X) / sizeof(X[0])))

typedef struct fx {
    slv_instance *in;
    slv_solution *sol;
    char msg[512];
    double cost;
    int vehicles;
} fx;

static slv_request mkreq(int pickup_loc, int drop_loc)
{
    slv_request r;

    memset(&r, 0, sizeof(r));
    r.pickup_loc = pickup_loc;
    r.drop_loc = drop_loc;
    r.pickup_open = 0;
    r.pickup_close = SLV_INF;
    r.drop_open = 0;
    r.drop_close = SLV_INF;
    r.max_ride = SLV_INF;
    r.load[0] = 1;
    r.onboard_vehicle = -1;
    return r;
}

static slv_vehicle mkveh(void)
{
    slv_vehicle v;

    memset(&v, 0, sizeof(v));
    v.start_loc = 0;
    v.end_loc = 0;
    v.shift_start = 0;
    v.shift_end = 1000;
    v.max_duration = SLV_INF;
    v.n_configs = 1;
    v.capacity[0][0] = 4;
    v.capacity[0][1] = 0;
    return v;
}

/* Builds f->in and an all-empty f->sol; ext ids are assigned here. */
static void build(fx *f, int n_dims, slv_request *reqs, int n_req, slv_vehicle *vehs, int n_veh)
{
    double time[N_LOCS * N_LOCS];
    const char *why = NULL;
    int rc;

    memset(f, 0, sizeof(*f));
    for (int i = 0; i < N_LOCS; i++)
        for (int j = 0; j < N_LOCS; j++)
            time[i * N_LOCS + j] = fabs(X[i] - X[j]);
    assert_int_equal(slv_instance_create(&f->in, N_LOCS, n_dims), 0);
    assert_int_equal(slv_instance_set_matrix(f->in, time, NULL), 0);
    for (int r = 0; r < n_req; r++) {
        reqs[r].ext_id = 100 + r;
        assert_int_equal(slv_instance_add_request(f->in, &reqs[r]), r);
    }
    for (int v = 0; v < n_veh; v++) {
        vehs[v].ext_id = 7 + v;
        assert_int_equal(slv_instance_add_vehicle(f->in, &vehs[v]), v);
    }
    rc = slv_instance_finalize(f->in, &why);
    if (rc != 0)
        fail_msg("finalize: %s", why ? why : "?");
    assert_int_equal(slv_solution_create(&f->sol, f->in), 0);
}

static void teardown_fx(fx *f)
{
    slv_solution_destroy(f->sol);
    slv_instance_destroy(f->in);
}

static void route(fx *f, int v, int n, ...)
{
    int stops[32];
    va_list ap;

    assert_true(n <= 32);
    va_start(ap, n);
    for (int k = 0; k < n; k++)
        stops[k] = va_arg(ap, int);
    va_end(ap);
    assert_int_equal(slv_solution_set_route(f->sol, v, stops, n), 0);
}

static int run(fx *f)
{
    assert_int_equal(slv_solution_fill_unassigned(f->sol, f->in), 0);
    return slv_check_solution(f->in, f->sol, f->msg, sizeof(f->msg), &f->cost, &f->vehicles);
}

static void expect_ok(fx *f)
{
    int rc = run(f);

    if (rc != 0)
        fail_msg("checker rejected a valid solution: %s", f->msg);
    assert_string_equal(f->msg, "");
}

/* Rejected, with every given fragment in the message. */
static void expect_fail(fx *f, const char *a, const char *b, const char *c)
{
    const char *want[3] = {a, b, c};
    int rc = run(f);

    if (rc != SLV_EINFEASIBLE)
        fail_msg("checker accepted an invalid solution (rc %d), expected \"%s\"", rc, a);
    for (int i = 0; i < 3; i++)
        if (want[i] != NULL && strstr(f->msg, want[i]) == NULL)
            fail_msg("message \"%s\" lacks \"%s\"", f->msg, want[i]);
}

#define P(r) SLV_PICKUP(r)
#define D(r) SLV_DROP(r)

/* ------------------------------------------------------------------------ */

static void test_valid_solution(void **state)
{
    slv_request q[3] = {mkreq(1, 3), mkreq(2, 4), mkreq(5, 1)};
    slv_vehicle v[3] = {mkveh(), mkveh(), mkveh()};
    fx f;

    (void)state;
    build(&f, 1, q, 3, v, 3);
    route(&f, 0, 4, P(0), P(1), D(0), D(1)); /* 0-10-20-30-40-0: 80 */
    route(&f, 1, 2, P(2), D(2));             /* 0-50-10-0: 100 */
    expect_ok(&f);
    assert_int_equal(f.vehicles, 2); /* vehicle 2 stays at the depot */
    assert_true(fabs(f.cost - 180) < 1e-9);
    teardown_fx(&f);
}

static void test_cost_terms(void **state)
{
    slv_request q[2] = {mkreq(1, 3), mkreq(2, 4)};
    slv_vehicle v[2] = {mkveh(), mkveh()};
    slv_objective obj = {.per_distance = 2, .per_drive_time = 0.5, .per_vehicle = 1000};
    fx f;

    (void)state;
    v[0].fixed_cost = 5;
    q[1].unserved_penalty = 300;
    build(&f, 1, q, 2, v, 2);
    slv_instance_set_objective(f.in, &obj);
    route(&f, 0, 2, P(0), D(0)); /* 0-10-30-0: 60 */
    expect_ok(&f);
    assert_int_equal(f.vehicles, 1);
    assert_true(fabs(f.cost - (2 * 60 + 0.5 * 60 + 1000 + 5 + 300)) < 1e-9);
    teardown_fx(&f);
}

static void test_pickup_window(void **state)
{
    slv_request q[1] = {mkreq(3, 1)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    q[0].pickup_close = 25; /* the van cannot be at 30 before 30 */
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "pickup of request 0 (id 100)",
                "window closes at 25");
    teardown_fx(&f);

    q[0].pickup_close = 30; /* exactly on time is on time */
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_ok(&f);
    teardown_fx(&f);
}

static void test_drop_window(void **state)
{
    slv_request q[2] = {mkreq(1, 3), mkreq(2, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    q[0].drop_close = 35; /* detour to location 4 first: at 3 only at 50 */
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(1), D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 3: ", "drop-off of request 0 (id 100)",
                "starts at 50 at the earliest");
    teardown_fx(&f);

    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_ok(&f);
    teardown_fx(&f);
}

static void test_ride_time(void **state)
{
    slv_request q[2] = {mkreq(1, 2), mkreq(3, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    q[0].max_ride = 15; /* 10 -> 30 -> 20 rides 30 */
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_fail(&f, "vehicle 0 (id 7), stop 2: ", "ride time of request 0 (id 100) is at least 30",
                "> max ride 15");
    teardown_fx(&f);
}

/* Ride time counts from the END of service at the pickup. */
static void test_ride_time_from_end_of_service(void **state)
{
    slv_request q[1] = {mkreq(1, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    q[0].pickup_service = 5;
    q[0].max_ride = 30; /* 35 from the start of service, exactly 30 from its end */
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_ok(&f);
    teardown_fx(&f);

    q[0].max_ride = 29.5;
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_fail(&f, "stop 1: ", "ride time of request 0 (id 100) is at least 30", "29.5");
    teardown_fx(&f);
}

static void test_capacity(void **state)
{
    slv_request q[3] = {mkreq(1, 4), mkreq(2, 4), mkreq(3, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    v[0].capacity[0][0] = 2;
    build(&f, 1, q, 3, v, 1);
    route(&f, 0, 6, P(0), P(1), P(2), D(0), D(1), D(2));
    expect_fail(&f, "vehicle 0 (id 7), stop 2: ", "load (3)", "pickup of request 2 (id 102)");
    teardown_fx(&f);

    build(&f, 1, q, 3, v, 1);
    route(&f, 0, 6, P(0), P(1), D(0), P(2), D(1), D(2));
    expect_ok(&f);
    teardown_fx(&f);
}

/* 8 seats, or 6 seats and a wheelchair place with the fold-away seats up. */
static void test_capacity_configurations(void **state)
{
    slv_request q[2] = {mkreq(1, 3), mkreq(2, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    v[0].n_configs = 2;
    v[0].capacity[0][0] = 8;
    v[0].capacity[0][1] = 0;
    v[0].capacity[1][0] = 6;
    v[0].capacity[1][1] = 1;
    q[0].load[0] = 7; /* a group of seven */
    q[1].load[0] = 0;
    q[1].load[1] = 1; /* a wheelchair */
    build(&f, 2, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_fail(&f, "vehicle 0 (id 7), stop 1: ", "load (7,1)", "request 1 (id 101)");
    teardown_fx(&f);

    q[0].load[0] = 6;
    build(&f, 2, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_ok(&f);
    teardown_fx(&f);

    q[0].load[0] = 8; /* 8 seats alone fit the first configuration */
    build(&f, 2, q, 2, v, 1);
    route(&f, 0, 4, P(0), D(0), P(1), D(1)); /* (8,0) then (0,1) */
    expect_ok(&f);
    teardown_fx(&f);
}

static void test_shift_end(void **state)
{
    slv_request q[1] = {mkreq(1, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    v[0].shift_end = 79; /* back at 80 */
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_fail(&f, "vehicle 0 (id 7): ", "end depot at 80 at the earliest", "shift ends at 79");
    teardown_fx(&f);

    v[0].shift_end = 80;
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_ok(&f);
    teardown_fx(&f);
}

static void test_max_duration(void **state)
{
    slv_request q[1] = {mkreq(1, 3)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    /* Pickup opens at 50: leaving at 0 would last 100; leaving at 40 lasts 60. */
    q[0].pickup_open = 50;
    v[0].max_duration = 60;
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_ok(&f);
    teardown_fx(&f);

    v[0].max_duration = 55;
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_fail(&f, "vehicle 0 (id 7): ", "route duration is at least 60", "max duration 55");
    teardown_fx(&f);
}

static void test_drop_before_pickup(void **state)
{
    slv_request q[1] = {mkreq(1, 3)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 2, D(0), P(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "drop-off of request 0 (id 100)",
                "before its pickup at stop 1");
    teardown_fx(&f);
}

static void test_served_twice(void **state)
{
    slv_request q[1] = {mkreq(1, 3)};
    slv_vehicle v[2] = {mkveh(), mkveh()};
    fx f;

    (void)state;
    build(&f, 1, q, 1, v, 2);
    route(&f, 0, 2, P(0), D(0));
    route(&f, 1, 2, P(0), D(0));
    expect_fail(&f, "vehicle 1 (id 8), stop 0: ", "pickup of request 0 (id 100) visited again",
                "vehicle 0 (id 7), stop 0");
    teardown_fx(&f);

    build(&f, 1, q, 1, v, 2);
    route(&f, 0, 4, P(0), D(0), P(0), D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 2: ", "visited again", NULL);
    teardown_fx(&f);
}

static void test_split_between_vehicles(void **state)
{
    slv_request q[1] = {mkreq(1, 3)};
    slv_vehicle v[2] = {mkveh(), mkveh()};
    fx f;

    (void)state;
    build(&f, 1, q, 1, v, 2);
    route(&f, 0, 1, P(0));
    route(&f, 1, 1, D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "request 0 (id 100)",
                "dropped off by vehicle 1 (id 8) at stop 0");
    teardown_fx(&f);

    build(&f, 1, q, 1, v, 2);
    route(&f, 0, 1, P(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "never dropped off", NULL);
    teardown_fx(&f);
}

static void test_fixed_prefix(void **state)
{
    slv_request q[2] = {mkreq(1, 3), mkreq(2, 4)};
    slv_vehicle v[1] = {mkveh()};
    const int fixed[1] = {P(1)};
    fx f;

    (void)state;
    v[0].n_fixed = 1;
    v[0].fixed = fixed;
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(1), P(0), D(0), D(1));
    expect_ok(&f);
    teardown_fx(&f);

    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "fixed prefix changed",
                "pickup of request 1 (id 101)");
    teardown_fx(&f);

    build(&f, 1, q, 2, v, 1); /* a committed vehicle cannot be left unused */
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "fixed prefix requires", NULL);
    teardown_fx(&f);
}

static void test_rider_on_board(void **state)
{
    slv_request q[2] = {mkreq(0, 3), mkreq(1, 2)};
    slv_vehicle v[2] = {mkveh(), mkveh()};
    fx f;

    (void)state;
    q[0].onboard_vehicle = 0;
    q[0].pickup_done_at = 0;

    build(&f, 1, q, 2, v, 2); /* right vehicle */
    route(&f, 0, 3, P(1), D(1), D(0));
    expect_ok(&f);
    teardown_fx(&f);

    build(&f, 1, q, 2, v, 2); /* wrong vehicle */
    route(&f, 1, 3, P(1), D(1), D(0));
    expect_fail(&f, "vehicle 1 (id 8), stop 2: ", "drop-off of request 0 (id 100)",
                "on board vehicle 0 (id 7)");
    teardown_fx(&f);

    build(&f, 1, q, 2, v, 2); /* never dropped */
    route(&f, 0, 2, P(1), D(1));
    expect_fail(&f, "vehicle 0 (id 7): ", "request 0 (id 100) is on board but never", NULL);
    teardown_fx(&f);

    build(&f, 1, q, 2, v, 2); /* picked up again */
    route(&f, 0, 2, P(0), D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "already on board", NULL);
    teardown_fx(&f);

    v[0].capacity[0][0] = 1; /* the rider on board takes the only seat */
    build(&f, 1, q, 2, v, 2);
    route(&f, 0, 3, P(1), D(1), D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "load (2)", NULL);
    teardown_fx(&f);
    v[0].capacity[0][0] = 4;

    q[0].pickup_done_at = -5; /* on board since -5, max 30: off by 25 */
    q[0].max_ride = 30;
    build(&f, 1, q, 2, v, 2);
    route(&f, 0, 1, D(0));
    expect_fail(&f, "vehicle 0 (id 7), stop 0: ", "on board since -5",
                "is at least 35 > max ride 30");
    teardown_fx(&f);
}

static void test_unserved(void **state)
{
    slv_request q[2] = {mkreq(1, 3), mkreq(2, 4)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    q[1].unserved_penalty = 1000;
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_ok(&f);
    assert_true(fabs(f.cost - (60 + 1000)) < 1e-9);
    teardown_fx(&f);

    q[1].promised = 1;
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 2, P(0), D(0));
    expect_fail(&f, "promised request 1 (id 101) is not served", NULL, NULL);
    teardown_fx(&f);

    q[1].promised = 0; /* nothing served, nothing used */
    q[0].unserved_penalty = 1000;
    build(&f, 1, q, 2, v, 1);
    expect_ok(&f);
    assert_int_equal(f.vehicles, 0);
    assert_true(fabs(f.cost - 2000) < 1e-9);
    teardown_fx(&f);
}

/*
 * Request 1's pickup opens at 100.  Earliest start everywhere picks request 0
 * up at 10 and keeps it waiting on board until 100: ride 100 > 30.  Waiting at
 * the depot (or before the first pickup) instead gives ride 20.
 */
static void test_wait_before_pickup_for_ride_time(void **state)
{
    slv_request q[2] = {mkreq(1, 3), mkreq(2, 3)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    q[0].max_ride = 30;
    q[1].pickup_open = 100;
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_ok(&f);
    teardown_fx(&f);

    q[0].pickup_close = 50; /* now it cannot wait long enough */
    build(&f, 1, q, 2, v, 1);
    route(&f, 0, 4, P(0), P(1), D(0), D(1));
    expect_fail(&f, "vehicle 0 (id 7), stop 2: ", "ride time of request 0 (id 100) is at least 60",
                NULL);
    teardown_fx(&f);
}

static void test_bad_stop_code(void **state)
{
    slv_request q[1] = {mkreq(1, 3)};
    slv_vehicle v[1] = {mkveh()};
    fx f;

    (void)state;
    build(&f, 1, q, 1, v, 1);
    route(&f, 0, 3, P(0), D(0), 2);
    expect_fail(&f, "vehicle 0 (id 7), stop 2: ", "stop code 2 is no stop", NULL);
    teardown_fx(&f);
}

/* A pinned request (a driver's break) served by another van is rejected by the
 * checker, by the reference evaluation, and never produced by the search. */
static void test_pinned(void **state)
{
    slv_request q[3] = {mkreq(1, 3), mkreq(2, 4), mkreq(5, 5)};
    slv_vehicle v[2] = {mkveh(), mkveh()};
    slv_route_eval ev;
    slv_params prm;
    slv_solution *best = NULL;
    fx f;

    (void)state;
    q[2].pinned = 1;
    q[2].pinned_vehicle = 1;
    q[2].promised = 1;
    build(&f, 1, q, 3, v, 2);
    route(&f, 0, 4, P(0), D(0), P(2), D(2));
    route(&f, 1, 2, P(1), D(1));
    expect_fail(&f, "vehicle 0", "pinned to vehicle 1", NULL);
    int bad[4] = {P(0), D(0), P(2), D(2)};
    assert_int_equal(slv_route_evaluate(f.in, 0, bad, 4, &ev, NULL), 0);
    assert_false(ev.feasible);
    assert_int_equal(slv_route_evaluate(f.in, 1, bad + 2, 2, &ev, NULL), 0);
    assert_true(ev.feasible);
    slv_params_init(&prm);
    prm.seed = 3;
    prm.max_iterations = 200;
    prm.use_glpk = 1;
    assert_int_equal(slv_solve(f.in, &prm, NULL, &best, NULL), 0);
    for (int k = 0; k < best->route_len[0]; k++)
        assert_int_not_equal(SLV_REQ(best->route[0][k]), 2);
    int seen = 0;
    for (int k = 0; k < best->route_len[1]; k++)
        seen += SLV_REQ(best->route[1][k]) == 2;
    assert_int_equal(seen, 2);
    assert_int_equal(slv_check_solution(f.in, best, f.msg, sizeof(f.msg), NULL, NULL), 0);
    slv_solution_destroy(best);
    teardown_fx(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_solution),
        cmocka_unit_test(test_cost_terms),
        cmocka_unit_test(test_pickup_window),
        cmocka_unit_test(test_drop_window),
        cmocka_unit_test(test_ride_time),
        cmocka_unit_test(test_ride_time_from_end_of_service),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_capacity_configurations),
        cmocka_unit_test(test_shift_end),
        cmocka_unit_test(test_max_duration),
        cmocka_unit_test(test_drop_before_pickup),
        cmocka_unit_test(test_served_twice),
        cmocka_unit_test(test_split_between_vehicles),
        cmocka_unit_test(test_fixed_prefix),
        cmocka_unit_test(test_rider_on_board),
        cmocka_unit_test(test_unserved),
        cmocka_unit_test(test_wait_before_pickup_for_ride_time),
        cmocka_unit_test(test_bad_stop_code),
        cmocka_unit_test(test_pinned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
