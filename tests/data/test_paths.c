/*
 * test_paths.c - shortest paths and matrices on the road graph against a
 * reference that is too simple to be wrong.
 *
 * The reference is Dijkstra in its O(n^2) array form (no heap): each round
 * settles the unsettled node with the smallest (time, length) label.  It
 * defines the same labels net_dijkstra promises - the fastest time and,
 * among the fastest paths, the shortest length - so every node's time and
 * length must be equal, not merely close.  Graphs: a synthetic town (one-way
 * streets, a river, a ring road) and the real Shibuya extract from the
 * shared data folder ($NORIAI_SHARED, else ../shared; the test fails if it is
 * missing).
 *
 * Also: routes are real paths whose edges add up to the reported time; a
 * one-way street cannot be driven backwards, so the way back is longer; no
 * travel time is below distance / top speed; a matrix row is the rounded
 * single-source search, whatever the number of threads; unreachable pairs
 * and bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/area/area.h"
#include "data/net/net.h"

static area *town;
static net_graph *shibuya;

/* ---------------------------------------------------------------------- */
/* reference                                                               */

/* O(n^2) Dijkstra on (time, len) labels; UINT32_MAX where unreachable. */
static void ref_dijkstra(const net_graph *g, int32_t src, uint32_t *t_out, uint32_t *l_out)
{
    int32_t n = g->n_nodes;
    uint64_t *t = malloc((size_t)n * sizeof(*t)), *l = malloc((size_t)n * sizeof(*l));
    char *done = calloc((size_t)n, 1);

    assert_non_null(t);
    assert_non_null(l);
    assert_non_null(done);
    for (int32_t v = 0; v < n; v++)
        t[v] = l[v] = UINT64_MAX;
    t[src] = l[src] = 0;
    for (;;) {
        int32_t u = -1;
        for (int32_t v = 0; v < n; v++)
            if (!done[v] && t[v] != UINT64_MAX &&
                (u < 0 || t[v] < t[u] || (t[v] == t[u] && l[v] < l[u])))
                u = v;
        if (u < 0)
            break;
        done[u] = 1;
        for (int32_t e = g->first_out[u]; e < g->first_out[u + 1]; e++) {
            int32_t v = g->head[e];
            uint64_t nt = t[u] + g->time_ms[e], nl = l[u] + g->len_mm[e];
            if (nt < t[v] || (nt == t[v] && nl < l[v])) {
                t[v] = nt;
                l[v] = nl;
            }
        }
    }
    for (int32_t v = 0; v < n; v++) {
        t_out[v] = t[v] == UINT64_MAX ? UINT32_MAX : (uint32_t)t[v];
        l_out[v] = l[v] == UINT64_MAX ? UINT32_MAX : (uint32_t)l[v];
    }
    free(t);
    free(l);
    free(done);
}

static uint64_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rnd_state >> 33) % n);
}

/* The fastest (then shortest) edge u -> v, or -1. */
static int32_t best_edge(const net_graph *g, int32_t u, int32_t v)
{
    int32_t best = -1;

    for (int32_t e = g->first_out[u]; e < g->first_out[u + 1]; e++)
        if (g->head[e] == v &&
            (best < 0 || g->time_ms[e] < g->time_ms[best] ||
             (g->time_ms[e] == g->time_ms[best] && g->len_mm[e] < g->len_mm[best])))
            best = e;
    return best;
}

/* ---------------------------------------------------------------------- */
/* fixtures                                                                */

static int setup(void **state)
{
    const char *env = getenv("NORIAI_SHARED");
    char shared[1024], path[1200], err[1024];
    net_osm_result res;
    net_osm_opts o;
    struct stat st;

    (void)state;
    if (area_synth(11, AREA_SYNTH_SMALL, &town, err, sizeof(err)) < 0) {
        fprintf(stderr, "test_paths: area_synth: %s\n", err);
        return -1;
    }
    snprintf(shared, sizeof(shared), "%s", env && *env ? env : "../shared");
    snprintf(path, sizeof(path), "%s/data/osm/tokyo_shibuya.osm.pbf", shared);
    if (stat(path, &st) != 0) {
        fprintf(stderr,
                "test_paths: shared data not found: %s is missing (set NORIAI_SHARED to the "
                "folder holding data/osm)\n",
                path);
        return -1;
    }
    net_osm_opts_default(&o);
    o.epsg = 6677;
    if (net_build_from_osm(path, &o, &res, err, sizeof(err)) < 0) {
        fprintf(stderr, "test_paths: %s\n", err);
        return -1;
    }
    shibuya = res.graph;
    res.graph = NULL;
    net_osm_result_cleanup(&res);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    area_destroy(town);
    net_graph_destroy(shibuya);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* tests                                                                   */

static void check_against_reference(const net_graph *g, int sources, int pairs)
{
    size_t n = (size_t)g->n_nodes;
    uint32_t *t = malloc(n * sizeof(*t)), *l = malloc(n * sizeof(*l));
    uint32_t *rt = malloc(n * sizeof(*rt)), *rl = malloc(n * sizeof(*rl));

    assert_non_null(t);
    assert_non_null(l);
    assert_non_null(rt);
    assert_non_null(rl);
    for (int k = 0; k < sources; k++) {
        int32_t src = (int32_t)rnd((uint32_t)n);
        assert_int_equal(net_dijkstra(g, src, t, l), 0);
        ref_dijkstra(g, src, rt, rl);
        for (size_t v = 0; v < n; v++) {
            if (t[v] != rt[v] || l[v] != rl[v])
                fail_msg("source %d, node %zu: dijkstra (%u ms, %u mm), reference (%u ms, %u mm)",
                         src, v, t[v], l[v], rt[v], rl[v]);
        }
        /* routes from this source to random targets agree and are real paths */
        for (int p = 0; p < pairs; p++) {
            int32_t to = (int32_t)rnd((uint32_t)n), *path = NULL, len = 0;
            uint32_t tt, ll;
            uint64_t sum_t = 0, sum_l = 0;
            int rc = net_route(g, src, to, &tt, &ll, &path, &len);
            if (rt[to] == UINT32_MAX) {
                assert_int_equal(rc, NET_EUNREACHABLE);
                assert_null(path);
                continue;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(tt, rt[to]);
            assert_int_equal(ll, rl[to]);
            assert_true(len >= 1);
            assert_int_equal(path[0], src);
            assert_int_equal(path[len - 1], to);
            for (int32_t k2 = 0; k2 + 1 < len; k2++) {
                int32_t e = best_edge(g, path[k2], path[k2 + 1]);
                assert_true(e >= 0);
                sum_t += g->time_ms[e];
                sum_l += g->len_mm[e];
            }
            assert_int_equal(sum_t, tt);
            assert_int_equal(sum_l, ll);
            free(path);
        }
    }
    free(t);
    free(l);
    free(rt);
    free(rl);
}

static void test_synthetic_town_matches_reference(void **state)
{
    (void)state;
    check_against_reference(town->graph, 12, 10);
}

static void test_shibuya_matches_reference(void **state)
{
    (void)state;
    assert_true(shibuya->n_nodes > 1000);
    check_against_reference(shibuya, 12, 10);
}

/* A one-way edge u -> v of the town: driving v -> u must go round. */
static void test_one_way_streets(void **state)
{
    const net_graph *g = town->graph;
    int found = 0;

    (void)state;
    for (int32_t u = 0; u < g->n_nodes && found < 5; u++)
        for (int32_t e = g->first_out[u]; e < g->first_out[u + 1] && found < 5; e++) {
            int32_t v = g->head[e], *path = NULL, len = 0;
            uint32_t fwd_t, back_t, back_l;
            if (best_edge(g, v, u) >= 0)
                continue;
            found++;
            assert_int_equal(net_route(g, u, v, &fwd_t, NULL, NULL, NULL), 0);
            assert_true(fwd_t <= g->time_ms[e]);
            assert_int_equal(net_route(g, v, u, &back_t, &back_l, &path, &len), 0);
            assert_true(len > 2); /* not the edge itself backwards */
            assert_true(back_t > g->time_ms[e]);
            assert_true(back_l > g->len_mm[e]);
            for (int32_t k = 0; k + 1 < len; k++)
                assert_true(best_edge(g, path[k], path[k + 1]) >= 0);
            free(path);
        }
    assert_int_equal(found, 5); /* the town has one-way streets */
}

/* A hand-made graph: a one-way triangle and an island. */
static net_graph *triangle(void)
{
    net_graph *g;

    assert_int_equal(net_graph_create(4, 3, &g), 0);
    /* 0 -> 1 -> 2 -> 0, node 3 alone */
    g->first_out[0] = 0;
    g->first_out[1] = 1;
    g->first_out[2] = 2;
    g->first_out[3] = 3;
    g->first_out[4] = 3;
    g->head[0] = 1;
    g->head[1] = 2;
    g->head[2] = 0;
    for (int e = 0; e < 3; e++) {
        g->len_mm[e] = 100000; /* 100 m in 10 s */
        g->time_ms[e] = 10000;
        g->cls[e] = NET_RESIDENTIAL;
    }
    g->max_speed_mps = 10;
    return g;
}

static void test_triangle_and_unreachable(void **state)
{
    net_graph *g = triangle();
    int32_t nodes[3] = {0, 1, 3}, ts[9], ds[9], *path = NULL, len = 0;
    uint32_t t, l;

    (void)state;
    assert_int_equal(net_route(g, 1, 0, &t, &l, &path, &len), 0);
    assert_int_equal(t, 20000);
    assert_int_equal(l, 200000);
    assert_int_equal(len, 3);
    assert_int_equal(path[1], 2);
    free(path);
    assert_int_equal(net_route(g, 0, 3, &t, &l, &path, &len), NET_EUNREACHABLE);
    assert_null(path);
    assert_int_equal(net_route(g, 2, 2, &t, &l, NULL, NULL), 0);
    assert_int_equal(t, 0);
    assert_int_equal(net_matrix(g, nodes, 3, 2, ts, ds, NULL, NULL), 0);
    assert_int_equal(ts[0 * 3 + 1], 10);
    assert_int_equal(ds[0 * 3 + 1], 100);
    assert_int_equal(ts[1 * 3 + 0], 20);
    assert_int_equal(ts[0 * 3 + 2], NET_UNREACHABLE_S);
    assert_int_equal(ds[2 * 3 + 0], NET_UNREACHABLE_M);
    assert_int_equal(ts[2 * 3 + 2], 0);
    /* bad arguments */
    assert_int_equal(net_route(g, 0, 4, &t, &l, NULL, NULL), NET_EINVAL);
    assert_int_equal(net_route(g, -1, 0, &t, &l, NULL, NULL), NET_EINVAL);
    assert_int_equal(net_dijkstra(g, 4, &t, &l), NET_EINVAL);
    nodes[2] = 7;
    assert_int_equal(net_matrix(g, nodes, 3, 1, ts, ds, NULL, NULL), NET_EINVAL);
    assert_int_equal(net_matrix(g, nodes, 0, 1, ts, ds, NULL, NULL), 0);
    net_graph_destroy(g);
}

static void check_speed_bound(const net_graph *g)
{
    size_t n = (size_t)g->n_nodes;
    uint32_t *t = malloc(n * sizeof(*t)), *l = malloc(n * sizeof(*l));

    assert_non_null(t);
    assert_non_null(l);
    assert_true(g->max_speed_mps > 0);
    for (int k = 0; k < 20; k++) {
        assert_int_equal(net_dijkstra(g, (int32_t)rnd((uint32_t)n), t, l), 0);
        for (size_t v = 0; v < n; v++) {
            if (t[v] == UINT32_MAX)
                continue;
            /* mm / ms is m / s */
            if ((double)l[v] > g->max_speed_mps * (double)t[v] * (1 + 1e-12))
                fail_msg("node %zu: %u mm in %u ms, faster than %g m/s", v, l[v], t[v],
                         g->max_speed_mps);
        }
    }
    free(t);
    free(l);
}

static void test_never_faster_than_top_speed(void **state)
{
    (void)state;
    check_speed_bound(town->graph);
    check_speed_bound(shibuya);
}

typedef struct prog {
    int calls, last, total;
} prog;

static void on_progress(void *ud, int done, int total)
{
    prog *p = ud;

    assert_true(done >= p->last);
    assert_true(done <= total);
    p->calls++;
    p->last = done;
    p->total = total;
}

static void test_matrix_rows_are_searches(void **state)
{
    const net_graph *g = town->graph;
    enum { N = 60 };
    int32_t nodes[N], *t1 = malloc(N * N * sizeof(int32_t)), *d1 = malloc(N * N * sizeof(int32_t));
    int32_t *t2 = malloc(N * N * sizeof(int32_t)), *d2 = malloc(N * N * sizeof(int32_t));
    uint32_t *t = malloc((size_t)g->n_nodes * sizeof(*t)), *l = malloc((size_t)g->n_nodes * 4);
    prog p = {0, 0, 0};

    (void)state;
    assert_non_null(t1);
    assert_non_null(t2);
    assert_non_null(d1);
    assert_non_null(d2);
    assert_non_null(t);
    assert_non_null(l);
    for (int i = 0; i < N; i++)
        nodes[i] = (int32_t)rnd((uint32_t)g->n_nodes);
    nodes[7] = nodes[3]; /* a node twice */
    assert_int_equal(net_matrix(g, nodes, N, 1, t1, d1, on_progress, &p), 0);
    assert_int_equal(p.last, N);
    assert_int_equal(p.total, N);
    assert_true(p.calls >= 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(net_dijkstra(g, nodes[i], t, l), 0);
        for (int j = 0; j < N; j++) {
            uint32_t tm = t[nodes[j]], mm = l[nodes[j]];
            assert_true(tm != UINT32_MAX); /* one component */
            assert_int_equal(t1[i * N + j], (int32_t)((tm + 500) / 1000));
            assert_int_equal(d1[i * N + j], (int32_t)((mm + 500) / 1000));
        }
        assert_int_equal(t1[i * N + i], 0);
    }
    assert_memory_equal(&t1[3 * N], &t1[7 * N], N * sizeof(int32_t));
    for (int threads = 0; threads <= 3; threads++) {
        memset(t2, 0xff, N * N * sizeof(int32_t));
        assert_int_equal(net_matrix(g, nodes, N, threads, t2, d2, NULL, NULL), 0);
        assert_memory_equal(t1, t2, N * N * sizeof(int32_t));
        assert_memory_equal(d1, d2, N * N * sizeof(int32_t));
    }
    free(t1);
    free(t2);
    free(d1);
    free(d2);
    free(t);
    free(l);
}

/* The bundled synthetic town's matrix is the one net_matrix computes. */
static void test_town_matrix(void **state)
{
    int n = town->n_stops;
    int32_t *nodes = malloc((size_t)n * sizeof(*nodes));
    int32_t *t = malloc((size_t)n * (size_t)n * sizeof(*t));
    int32_t *d = malloc((size_t)n * (size_t)n * sizeof(*d));

    (void)state;
    assert_non_null(nodes);
    assert_non_null(t);
    assert_non_null(d);
    for (int i = 0; i < n; i++)
        nodes[i] = town->stops[i].node;
    assert_int_equal(net_matrix(town->graph, nodes, n, 2, t, d, NULL, NULL), 0);
    assert_memory_equal(t, town->time_s, (size_t)n * (size_t)n * sizeof(*t));
    assert_memory_equal(d, town->dist_m, (size_t)n * (size_t)n * sizeof(*d));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int32_t tt, dd;
            area_travel(town, i, j, &tt, &dd);
            assert_int_equal(tt, t[i * n + j]);
            assert_int_equal(dd, d[i * n + j]);
            assert_true(i == j || tt > 0);
        }
    free(nodes);
    free(t);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_town_matches_reference),
        cmocka_unit_test(test_shibuya_matches_reference),
        cmocka_unit_test(test_one_way_streets),
        cmocka_unit_test(test_triangle_and_unreachable),
        cmocka_unit_test(test_never_faster_than_top_speed),
        cmocka_unit_test(test_matrix_rows_are_searches),
        cmocka_unit_test(test_town_matrix),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
