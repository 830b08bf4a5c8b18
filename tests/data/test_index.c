/*
 * test_index.c - the nearest-node grid against a brute-force scan: random and
 * clustered nodes, queries inside and far outside the nodes' box, lines,
 * duplicates and exact ties (lowest node index wins in both), tiny and huge
 * cell sizes, and bad input.  Graphs are built by hand: the index reads only
 * n_nodes, x and y.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "data/net/net.h"

static uint64_t rng_state = 0x853C49E6748FEA9Bull;

static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static net_graph *graph_new(int32_t n)
{
    net_graph *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    g->n_nodes = n;
    g->x = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    g->y = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    assert_non_null(g->x);
    assert_non_null(g->y);
    return g;
}

static int32_t brute_nearest(const net_graph *g, double x, double y, double *d)
{
    int32_t best = -1;
    double best_d2 = INFINITY;

    for (int32_t v = 0; v < g->n_nodes; v++) {
        double dx = g->x[v] - x, dy = g->y[v] - y, d2 = dx * dx + dy * dy;
        if (d2 < best_d2) {
            best_d2 = d2;
            best = v;
        }
    }
    *d = sqrt(best_d2);
    return best;
}

static void check_query(const net_graph *g, const net_index *ix, double x, double y)
{
    double d_ix, d_bf;
    int32_t a = net_index_nearest(ix, x, y, &d_ix), b = brute_nearest(g, x, y, &d_bf);

    if (a != b || d_ix != d_bf)
        fail_msg("query (%.3f, %.3f): index gives node %d at %.6f m, brute force %d at %.6f m", x,
                 y, a, d_ix, b, d_bf);
}

/* Queries spread over the box, its surroundings and far away. */
static void check_many(const net_graph *g, double cell_m, int n_queries)
{
    net_index *ix = NULL;
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY, w, h;

    assert_int_equal(net_index_create(g, cell_m, &ix), 0);
    for (int32_t v = 0; v < g->n_nodes; v++) {
        x0 = fmin(x0, g->x[v]);
        x1 = fmax(x1, g->x[v]);
        y0 = fmin(y0, g->y[v]);
        y1 = fmax(y1, g->y[v]);
    }
    w = fmax(x1 - x0, 1.0);
    h = fmax(y1 - y0, 1.0);
    for (int q = 0; q < n_queries; q++) {
        double spread = q % 10 == 0 ? 50.0 : q % 3 == 0 ? 1.5 : 1.0;
        check_query(g, ix, x0 + w * (0.5 + spread * (urand() - 0.5)),
                    y0 + h * (0.5 + spread * (urand() - 0.5)));
    }
    /* exactly on nodes */
    for (int32_t v = 0; v < g->n_nodes; v += 1 + g->n_nodes / 50)
        check_query(g, ix, g->x[v], g->y[v]);
    check_query(g, ix, 1e12, -1e12);
    net_index_destroy(ix);
}

static void test_random_uniform(void **state)
{
    net_graph *g = graph_new(5000);

    (void)state;
    /* a 10 km town in JGD2011 zone IX coordinates */
    for (int32_t v = 0; v < g->n_nodes; v++) {
        g->x[v] = -45000.0 + 10000.0 * urand();
        g->y[v] = 10000.0 + 10000.0 * urand();
    }
    check_many(g, 0, 3000);
    check_many(g, 25.0, 500);
    check_many(g, 1e-9, 300); /* enlarged to keep the grid O(n) */
    check_many(g, 1e9, 300);  /* one cell */
    net_graph_destroy(g);
}

static void test_clustered(void **state)
{
    net_graph *g = graph_new(3000);

    (void)state;
    /* two villages 40 km apart, a road between them, repeated points */
    for (int32_t v = 0; v < g->n_nodes; v++) {
        double cx = v % 3 == 0 ? 0.0 : 40000.0;
        if (v % 7 == 0) {
            g->x[v] = 40000.0 * urand();
            g->y[v] = 0.0;
        } else if (v % 11 == 0) {
            g->x[v] = g->x[v / 2];
            g->y[v] = g->y[v / 2];
        } else {
            g->x[v] = cx + 300.0 * (urand() - 0.5) * (urand() + 0.1);
            g->y[v] = 300.0 * (urand() - 0.5);
        }
    }
    check_many(g, 0, 3000);
    net_graph_destroy(g);
}

static void test_degenerate(void **state)
{
    net_graph *g;
    net_index *ix = NULL;
    double d;

    (void)state;
    /* all nodes on a horizontal line */
    g = graph_new(400);
    for (int32_t v = 0; v < g->n_nodes; v++) {
        g->x[v] = 1000.0 * urand();
        g->y[v] = 5.0;
    }
    check_many(g, 0, 1000);
    net_graph_destroy(g);

    /* all nodes at one point: ties go to node 0 */
    g = graph_new(50);
    for (int32_t v = 0; v < g->n_nodes; v++) {
        g->x[v] = 123.0;
        g->y[v] = -456.0;
    }
    check_many(g, 0, 200);
    assert_int_equal(net_index_create(g, 0, &ix), 0);
    assert_int_equal(net_index_nearest(ix, 0, 0, &d), 0);
    assert_true(fabs(d - hypot(123.0, 456.0)) < 1e-9);
    net_index_destroy(ix);
    net_graph_destroy(g);

    /* a single node */
    g = graph_new(1);
    g->x[0] = 7.0;
    g->y[0] = 8.0;
    check_many(g, 0, 50);
    net_graph_destroy(g);
}

/* A 10 m lattice queried at cell centres and edge midpoints: exact ties. */
static void test_ties(void **state)
{
    net_graph *g = graph_new(30 * 20);
    net_index *ix = NULL;

    (void)state;
    for (int32_t v = 0; v < g->n_nodes; v++) {
        g->x[v] = 10.0 * (v % 30);
        g->y[v] = 10.0 * (v / 30);
    }
    for (int k = 0; k < 3; k++) {
        double cell = k == 0 ? 0.0 : k == 1 ? 10.0 : 7.0;
        assert_int_equal(net_index_create(g, cell, &ix), 0);
        for (int i = -2; i < 62; i++)
            for (int j = -2; j < 42; j++)
                check_query(g, ix, 5.0 * i, 5.0 * j);
        net_index_destroy(ix);
    }
    net_graph_destroy(g);
}

static void test_empty_and_bad_input(void **state)
{
    net_graph *g = graph_new(0);
    net_index *ix = NULL;
    double d = 0;

    (void)state;
    assert_int_equal(net_index_create(g, 0, &ix), 0);
    assert_int_equal(net_index_nearest(ix, 1, 2, &d), -1);
    assert_true(isinf(d));
    net_index_destroy(ix);
    net_index_destroy(NULL);
    assert_int_equal(net_index_nearest(NULL, 1, 2, NULL), -1);
    net_graph_destroy(g);

    g = graph_new(3);
    for (int32_t v = 0; v < 3; v++) {
        g->x[v] = v;
        g->y[v] = v;
    }
    ix = (net_index *)&ix;
    assert_int_equal(net_index_create(g, -1.0, &ix), NET_EINVAL);
    assert_null(ix);
    assert_int_equal(net_index_create(g, NAN, &ix), NET_EINVAL);
    assert_int_equal(net_index_create(g, INFINITY, &ix), NET_EINVAL);
    assert_int_equal(net_index_create(NULL, 0, &ix), NET_EINVAL);
    assert_int_equal(net_index_create(g, 0, NULL), NET_EINVAL);
    assert_int_equal(net_index_create(g, 0, &ix), 0);
    assert_int_equal(net_index_nearest(ix, NAN, 0, &d), -1);
    assert_int_equal(net_index_nearest(ix, 0, INFINITY, &d), -1);
    assert_int_equal(net_index_nearest(ix, 1.9, 2.2, NULL), 2);
    /* so far away that squared distances overflow: still a node, the lowest */
    assert_int_equal(net_index_nearest(ix, 1e300, -1e300, &d), 0);
    net_index_destroy(ix);
    g->y[1] = NAN;
    assert_int_equal(net_index_create(g, 0, &ix), NET_EINVAL);
    assert_null(ix);
    net_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_uniform),      cmocka_unit_test(test_clustered),
        cmocka_unit_test(test_degenerate),          cmocka_unit_test(test_ties),
        cmocka_unit_test(test_empty_and_bad_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
