/*
 * test_insert.c - the search's incremental machinery against the reference.
 *
 * Random small instances (Euclidean times on a grid, so the triangle
 * inequality holds; windows, ride limits, two load dimensions with capacity
 * configurations, riders on board, fixed prefixes).  Routes are grown by
 * random feasible insertions; after each one:
 *  - the incrementally updated slack matrix equals a full Floyd-Warshall;
 *  - for every remaining request and every position pair, the O(1) insertion
 *    test says "fits" exactly when slv_route_evaluate finds the new route
 *    feasible, and its cost is the exact change in distance.
 * Then whole solves: fixed prefixes and promised requests are kept by every
 * operator, the same seed and iteration budget give the same solution, and
 * the GLPK refinement never ends worse than the LNS it started from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solver/search.h"

typedef struct trng {
    uint64_t s;
} trng;

static uint64_t tr_next(trng *g)
{
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    return g->s;
}

static int tr_int(trng *g, int n)
{
    return (int)(tr_next(g) % (uint64_t)n);
}

/*
 * A random instance: n_req requests, n_veh vehicles over n_req*2+2 locations.
 * special: 1 adds a rider on board vehicle 0 and a fixed pickup on vehicle 1.
 */
static slv_instance *random_instance(trng *g, int n_req, int n_veh, int special, int promised)
{
    int n_locs = 2 * n_req + 2;
    double *x = malloc(n_locs * sizeof(double)), *y = malloc(n_locs * sizeof(double));
    double *t = malloc((size_t)n_locs * n_locs * sizeof(double));
    slv_instance *in;
    const char *why = NULL;

    for (int k = 0; k < n_locs; k++) {
        x[k] = tr_int(g, 21);
        y[k] = tr_int(g, 21);
    }
    for (int a = 0; a < n_locs; a++)
        for (int b = 0; b < n_locs; b++)
            t[a * n_locs + b] = hypot(x[a] - x[b], y[a] - y[b]);
    assert_int_equal(slv_instance_create(&in, n_locs, 2), 0);
    assert_int_equal(slv_instance_set_matrix(in, t, NULL), 0);
    for (int r = 0; r < n_req; r++) {
        slv_request q;
        memset(&q, 0, sizeof(q));
        q.pickup_loc = 2 + 2 * r;
        q.drop_loc = 3 + 2 * r;
        double direct = t[q.pickup_loc * n_locs + q.drop_loc];
        double c = 10 + tr_int(g, 100);
        q.pickup_open = 0;
        q.pickup_close = SLV_INF;
        q.drop_open = 0;
        q.drop_close = SLV_INF;
        if (tr_int(g, 2)) {
            q.pickup_open = c;
            q.pickup_close = c + 5 + tr_int(g, 30);
        } else {
            q.drop_open = c + direct;
            q.drop_close = c + direct + 5 + tr_int(g, 30);
        }
        q.pickup_service = tr_int(g, 4);
        q.drop_service = tr_int(g, 4);
        q.max_ride = tr_int(g, 4) == 0 ? SLV_INF : direct * (1.2 + tr_int(g, 10) / 10.0) + 3;
        q.load[0] = 1 + tr_int(g, 2);
        q.load[1] = tr_int(g, 5) == 0;
        q.unserved_penalty = 1000;
        q.promised = promised && tr_int(g, 3) == 0;
        q.onboard_vehicle = -1;
        slv_instance_add_request(in, &q);
    }
    if (special) {
        slv_request q;
        memset(&q, 0, sizeof(q));
        q.pickup_loc = 0;
        q.drop_loc = 3;
        q.pickup_close = q.drop_close = SLV_INF;
        q.max_ride = 60;
        q.load[0] = 1;
        q.onboard_vehicle = 0;
        q.pickup_done_at = 0;
        q.unserved_penalty = 1000;
        slv_instance_add_request(in, &q);
    }
    for (int v = 0; v < n_veh; v++) {
        slv_vehicle veh;
        int fixed[1] = {SLV_PICKUP(0)};
        memset(&veh, 0, sizeof(veh));
        veh.start_loc = 0;
        veh.end_loc = 1;
        veh.shift_start = 0;
        veh.shift_end = 400;
        veh.max_duration = tr_int(g, 2) ? SLV_INF : 250 + tr_int(g, 100);
        veh.n_configs = 2;
        veh.capacity[0][0] = 4;
        veh.capacity[0][1] = 0;
        veh.capacity[1][0] = 2;
        veh.capacity[1][1] = 1;
        if (special && v == 1) {
            veh.n_fixed = 1;
            veh.fixed = fixed;
        }
        slv_instance_add_vehicle(in, &veh);
    }
    int rc = slv_instance_finalize(in, &why);
    if (rc != 0)
        fail_msg("finalize: %s", why ? why : "?");
    free(x);
    free(y);
    free(t);
    return in;
}

/* The stop list of R with request r inserted at (i, j). */
static int build_inserted(const slv_search *s, const slv_rstate *R, int r, int i, int j, int *out)
{
    int m = 0;

    if (s->drop_only[r]) {
        for (int k = 0; k < R->n; k++) {
            if (k == j)
                out[m++] = SLV_DROP(r);
            out[m++] = R->stops[k];
        }
        if (j == R->n)
            out[m++] = SLV_DROP(r);
        return m;
    }
    for (int k = 0; k <= R->n; k++) {
        if (k == i)
            out[m++] = SLV_PICKUP(r);
        if (k == j)
            out[m++] = SLV_DROP(r);
        if (k < R->n)
            out[m++] = R->stops[k];
    }
    return m;
}

static long n_pos_checked, n_pos_feasible;

static void check_all_positions(slv_search *s, int v)
{
    const slv_rstate *R = &s->route[v];
    int buf[64];
    slv_route_eval base, ev;

    /* The reference judges whole routes: a rider on board (or a committed pickup) whose
     * drop-off is still missing makes every other insertion incomparable. */
    int pending = -1, n_pending = 0;
    for (int u = 0; u < s->n_unassigned; u++)
        if (s->drop_only[s->unassigned[u]] && s->only_veh[s->unassigned[u]] == v) {
            pending = s->unassigned[u];
            n_pending++;
        }
    assert_int_equal(slv_route_evaluate(s->in, v, R->stops, R->n, &base, NULL), 0);
    for (int u = 0; u < s->n_unassigned; u++) {
        int r = s->unassigned[u];
        if (n_pending > 1 || (n_pending == 1 && r != pending))
            continue;
        for (int i = 0; i <= R->n; i++) {
            for (int j = i; j <= R->n; j++) {
                slv_ins ins;
                if (s->drop_only[r] && i != j)
                    continue;
                assert_int_equal(slv_insertion_at(s, R, r, i, j, &ins), 0);
                int m = build_inserted(s, R, r, i, j, buf);
                assert_int_equal(slv_route_evaluate(s->in, v, buf, m, &ev, NULL), 0);
                int eligible = s->only_veh[r] < 0 || s->only_veh[r] == v;
                int fixed_ok = i >= s->in->veh[v].n_fixed && j >= s->in->veh[v].n_fixed;
                int want = ev.feasible && eligible && fixed_ok;
                n_pos_checked++;
                if (want != (ins.i >= 0)) {
                    fail_msg("vehicle %d request %d at (%d,%d): insertion test says %d, full "
                             "evaluation %d (route of %d stops)",
                             v, r, i, j, ins.i >= 0, want, R->n);
                }
                if (want) {
                    n_pos_feasible++;
                    /* An unused van costs nothing; otherwise the route drives R->dist. */
                    double before = (R->n == 0 && R->riders[0] == 0) ? 0 : R->dist;
                    if (fabs(ins.cost - (ev.distance - before)) > 1e-6)
                        fail_msg("vehicle %d request %d at (%d,%d): insertion cost %g, full "
                                 "evaluation %g", v, r, i, j, ins.cost, ev.distance - before);
                }
            }
        }
    }
}

static void check_apsp(slv_search *s, slv_rstate *R)
{
    int N = R->n + 3;
    double *inc = malloc((size_t)N * N * sizeof(double));

    memcpy(inc, R->D, (size_t)N * N * sizeof(double));
    assert_int_equal(slv_rstate_rebuild(s, R), 0);
    for (int a = 0; a < N * N; a++) {
        double x = inc[a], y = R->D[a];
        if (x >= SLV_INF / 2 && y >= SLV_INF / 2)
            continue;
        if (fabs(x - y) > 1e-6 * (1 + fabs(y)))
            fail_msg("slack matrix (%d,%d): incremental %g, full %g", a / N, a % N, x, y);
    }
    free(inc);
}

static void test_insertion_matches_full_evaluation(void **state)
{
    trng g = {0x1234567ULL};
    slv_params par;

    (void)state;
    slv_params_init(&par);
    n_pos_checked = n_pos_feasible = 0;
    for (int round = 0; round < 400; round++) {
        int special = round % 3 == 0;
        slv_instance *in = random_instance(&g, 3 + tr_int(&g, 4), 2, special, 0);
        slv_search s;
        assert_int_equal(slv_search_init(&s, in, &par), 0);
        for (int step = 0; step < 12 && s.n_unassigned > 0; step++) {
            int v = tr_int(&g, 2);
            check_all_positions(&s, v);
            /* Insert a random request at a random feasible place of v. */
            int r = s.unassigned[tr_int(&g, s.n_unassigned)];
            slv_ins cand[64 * 64 / 2];
            int nc = 0;
            for (int i = 0; i <= s.route[v].n; i++)
                for (int j = i; j <= s.route[v].n; j++) {
                    slv_ins ins;
                    slv_insertion_at(&s, &s.route[v], r, i, j, &ins);
                    if (ins.i >= 0 && nc < (int)(sizeof(cand) / sizeof(cand[0])))
                        cand[nc++] = ins;
                }
            if (nc == 0)
                continue;
            assert_int_equal(slv_search_insert(&s, r, &cand[tr_int(&g, nc)]), 0);
            check_apsp(&s, &s.route[v]);
            assert_true(s.route[v].feasible);
            slv_search_commit(&s);
        }
        slv_search_cleanup(&s);
        slv_instance_destroy(in);
    }
    printf("insertion positions checked: %ld (%ld feasible)\n", n_pos_checked, n_pos_feasible);
    assert_true(n_pos_feasible > 1000);
    assert_true(n_pos_checked - n_pos_feasible > 1000);
}

static void test_solve_keeps_prefix_and_promises(void **state)
{
    trng g = {0x99ULL};

    (void)state;
    for (int round = 0; round < 30; round++) {
        slv_instance *in = random_instance(&g, 6 + tr_int(&g, 6), 3, 1, 1);
        slv_params par;
        slv_solution *sol = NULL;
        slv_stats st;
        char msg[256];
        double cost;
        int veh;
        slv_params_init(&par);
        par.seed = (uint64_t)round;
        par.max_iterations = 300;
        assert_int_equal(slv_solve(in, &par, NULL, &sol, &st), 0);
        /* Vehicle 1 keeps its fixed pickup first; the on-board rider is dropped by vehicle 0. */
        assert_true(sol->route_len[1] >= 1);
        assert_int_equal(sol->route[1][0], SLV_PICKUP(0));
        int onboard = slv_instance_n_requests(in) - 1, found = 0;
        for (int k = 0; k < sol->route_len[0]; k++)
            found |= sol->route[0][k] == SLV_DROP(onboard);
        assert_true(found);
        int promised_missing = 0;
        for (int k = 0; k < sol->n_unassigned; k++)
            promised_missing += slv_instance_request(in, sol->unassigned[k])->promised;
        if (promised_missing == 0) {
            int rc = slv_check_solution(in, sol, msg, sizeof(msg), &cost, &veh);
            if (rc != 0)
                fail_msg("checker: %s", msg);
        }
        assert_true(st.final_cost <= st.lns_cost + 1e-6);
        slv_solution_destroy(sol);
        slv_instance_destroy(in);
    }
}

static void test_solve_is_deterministic(void **state)
{
    trng g = {0x4242ULL};
    slv_instance *in = random_instance(&g, 14, 3, 0, 0);
    slv_solution *a = NULL, *b = NULL;
    slv_params par;

    (void)state;
    slv_params_init(&par);
    par.seed = 7;
    par.max_iterations = 500;
    assert_int_equal(slv_solve(in, &par, NULL, &a, NULL), 0);
    assert_int_equal(slv_solve(in, &par, NULL, &b, NULL), 0);
    assert_int_equal(a->n_unassigned, b->n_unassigned);
    for (int v = 0; v < a->n_vehicles; v++) {
        assert_int_equal(a->route_len[v], b->route_len[v]);
        assert_memory_equal(a->route[v], b->route[v], (size_t)a->route_len[v] * sizeof(int));
    }
    assert_true(fabs(a->cost - b->cost) < 1e-9);
    slv_solution_destroy(a);
    slv_solution_destroy(b);
    slv_instance_destroy(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insertion_matches_full_evaluation),
        cmocka_unit_test(test_solve_keeps_prefix_and_promises),
        cmocka_unit_test(test_solve_is_deterministic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
