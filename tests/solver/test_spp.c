/*
 * test_spp.c - the set-partitioning refinement (solver/spp.c).
 *
 * Hand-made pools with a known optimum, property tests against an exhaustive
 * search on small random pools, validity and "never worse than the incumbent"
 * on larger random pools and under a tiny time limit, rejection of bad input,
 * and a micro-benchmark (printed, not asserted) on a pool of 5000 columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "solver/slv.h"
#include "solver/spp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int rng_int(uint64_t *s, int n)
{
    return (int)(rng_next(s) % (uint64_t)n);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Independent check of a selection: every request at most once, promised
 * ones exactly once, type counts respected.  Returns 1 and the value if so.
 */
static int check_selection(const slv_spp_problem *p, const char *sel, double *value)
{
    int *cover = calloc((size_t)p->n_requests + 1, sizeof(int));
    int *used = calloc((size_t)p->n_types + 1, sizeof(int));
    double v = 0;
    int ok = 1;

    assert_non_null(cover);
    assert_non_null(used);
    for (int c = 0; c < p->n_cols; c++) {
        if (!sel[c])
            continue;
        v += p->cols[c].cost;
        used[p->cols[c].type]++;
        for (int k = 0; k < p->cols[c].n_req; k++)
            cover[p->cols[c].reqs[k]]++;
    }
    for (int t = 0; t < p->n_types; t++)
        ok &= used[t] <= p->type_count[t];
    for (int r = 0; r < p->n_requests; r++) {
        ok &= cover[r] <= 1;
        if (cover[r] == 0) {
            ok &= p->penalty[r] < SLV_INF;
            v += p->penalty[r];
        }
    }
    free(cover);
    free(used);
    *value = v;
    return ok;
}

static double incumbent_value(const slv_spp_problem *p)
{
    char *sel = calloc((size_t)p->n_cols + 1, 1);
    double v;

    assert_non_null(sel);
    for (int i = 0; i < p->n_incumbent; i++)
        sel[p->incumbent[i]] = 1;
    assert_true(check_selection(p, sel, &v));
    free(sel);
    return v;
}

/* Solves, asserts a valid answer no worse than the incumbent, returns its value. */
static double solve_checked(const slv_spp_problem *p, char *chosen)
{
    double obj, recomputed, inc = incumbent_value(p);

    assert_int_equal(slv_spp_solve(p, chosen, &obj), 0);
    assert_true(check_selection(p, chosen, &recomputed));
    assert_true(fabs(obj - recomputed) <= 1e-9 * (1 + fabs(obj)));
    assert_true(obj <= inc);
    return obj;
}

/* A pool owning its columns' request lists. */
typedef struct pool {
    slv_spp_problem p;
    double *penalty;
    int *type_count;
    slv_spp_col *cols;
    int *reqs; /* 5 per column */
    int *incumbent;
} pool;

static void pool_alloc(pool *pl, int n_req, int n_types, int max_cols)
{
    memset(pl, 0, sizeof(*pl));
    pl->penalty = calloc((size_t)n_req + 1, sizeof(double));
    pl->type_count = calloc((size_t)n_types + 1, sizeof(int));
    pl->cols = calloc((size_t)max_cols + 1, sizeof(slv_spp_col));
    pl->reqs = calloc((size_t)max_cols * 5 + 1, sizeof(int));
    pl->incumbent = calloc((size_t)max_cols + 1, sizeof(int));
    assert_true(pl->penalty && pl->type_count && pl->cols && pl->reqs && pl->incumbent);
    pl->p.n_requests = n_req;
    pl->p.penalty = pl->penalty;
    pl->p.n_types = n_types;
    pl->p.type_count = pl->type_count;
    pl->p.cols = pl->cols;
    pl->p.incumbent = pl->incumbent;
}

static void pool_free(pool *pl)
{
    free(pl->penalty);
    free(pl->type_count);
    free(pl->cols);
    free(pl->reqs);
    free(pl->incumbent);
}

/* Appends a column; n <= 5 requests; returns its index. */
static int pool_add(pool *pl, int type, double cost, const int *reqs, int n)
{
    int c = pl->p.n_cols++;
    int *dst = pl->reqs + (size_t)c * 5;

    memcpy(dst, reqs, (size_t)n * sizeof(int));
    pl->cols[c].type = type;
    pl->cols[c].cost = cost;
    pl->cols[c].n_req = n;
    pl->cols[c].reqs = dst;
    return c;
}

/*
 * A random pool over n_req requests scattered in a 100 x 100 square: n_rand
 * routes of 1-5 neighbouring requests (cost: a vehicle charge plus a rough tour
 * length, with noise) of type 0 or 1, then one singleton per request of type 1.
 * Type 0 has few vehicles so that its row binds; type 1 has one per request.
 * A share of the requests is promised.  The incumbent serves every promised
 * request and a random half of the others by their singletons.
 */
static void pool_random(pool *pl, uint64_t seed, int n_req, int n_rand, double penalty,
                        double promised_share)
{
    uint64_t s = seed;
    double *px = malloc(sizeof(double) * (size_t)n_req);
    double *py = malloc(sizeof(double) * (size_t)n_req);
    int *single = malloc(sizeof(int) * (size_t)n_req);

    assert_true(px && py && single);
    pool_alloc(pl, n_req, 2, n_rand + n_req);
    for (int r = 0; r < n_req; r++) {
        px[r] = 100 * rng_unit(&s);
        py[r] = 100 * rng_unit(&s);
        pl->penalty[r] = rng_unit(&s) < promised_share ? SLV_INF : penalty;
    }
    pl->type_count[0] = 1 + n_req / 10;
    pl->type_count[1] = n_req;
    for (int i = 0; i < n_rand; i++) {
        int reqs[5], n = 1 + rng_int(&s, 5), tries = 0;
        double cx, cy, cost;

        reqs[0] = rng_int(&s, n_req);
        for (int k = 1; k < n && tries < 100; tries++) {
            int cand = rng_int(&s, n_req), dup = 0;
            double dx = px[cand] - px[reqs[0]], dy = py[cand] - py[reqs[0]];

            for (int j = 0; j < k; j++)
                dup |= reqs[j] == cand;
            if (!dup && dx * dx + dy * dy < 35.0 * 35.0)
                reqs[k++] = cand;
        }
        if (tries >= 100) {
            i--;
            continue;
        }
        cx = cy = 0;
        for (int k = 0; k < n; k++) {
            cx += px[reqs[k]] / n;
            cy += py[reqs[k]] / n;
        }
        cost = 20 + 2 * hypot(cx - 50, cy - 50);
        for (int k = 0; k < n; k++)
            cost += 2 * hypot(px[reqs[k]] - cx, py[reqs[k]] - cy);
        cost *= 0.9 + 0.3 * rng_unit(&s);
        pool_add(pl, rng_int(&s, 2), cost, reqs, n);
    }
    for (int r = 0; r < n_req; r++)
        single[r] = pool_add(pl, 1, 20 + 2 * hypot(px[r] - 50, py[r] - 50), &r, 1);
    for (int r = 0; r < n_req; r++) {
        if (pl->penalty[r] >= SLV_INF || rng_int(&s, 2))
            pl->incumbent[pl->p.n_incumbent++] = single[r];
    }
    pl->p.time_limit_s = 10;
    free(px);
    free(py);
    free(single);
}

/* ------------------------------------------------------------------------ */
/* Exhaustive search for small pools                                        */

typedef struct brute {
    const slv_spp_problem *p;
    int *decided, *used;
    double best;
} brute;

static void brute_rec(brute *b, int r, double cost)
{
    const slv_spp_problem *p = b->p;

    while (r < p->n_requests && b->decided[r])
        r++;
    if (r == p->n_requests) {
        if (cost < b->best)
            b->best = cost;
        return;
    }
    if (p->penalty[r] < SLV_INF) {
        b->decided[r] = 1;
        brute_rec(b, r + 1, cost + p->penalty[r]);
        b->decided[r] = 0;
    }
    for (int c = 0; c < p->n_cols; c++) {
        const slv_spp_col *col = &p->cols[c];
        int has = 0, free_all = 1;

        for (int k = 0; k < col->n_req; k++) {
            has |= col->reqs[k] == r;
            free_all &= !b->decided[col->reqs[k]];
        }
        if (!has || !free_all || b->used[col->type] >= p->type_count[col->type])
            continue;
        for (int k = 0; k < col->n_req; k++)
            b->decided[col->reqs[k]] = 1;
        b->used[col->type]++;
        brute_rec(b, r + 1, cost + col->cost);
        b->used[col->type]--;
        for (int k = 0; k < col->n_req; k++)
            b->decided[col->reqs[k]] = 0;
    }
}

static double brute_force(const slv_spp_problem *p)
{
    brute b;

    b.p = p;
    b.decided = calloc((size_t)p->n_requests + 1, sizeof(int));
    b.used = calloc((size_t)p->n_types + 1, sizeof(int));
    assert_true(b.decided && b.used);
    b.best = HUGE_VAL;
    brute_rec(&b, 0, 0);
    free(b.decided);
    free(b.used);
    return b.best;
}

/* ------------------------------------------------------------------------ */
/* Hand-made cases                                                           */

/*
 * 4 requests, 6 columns, 2 types.  The incumbent {0,1}+{2,3} costs 20; the
 * optimum is {0,2} (type 0) + {1,3} (type 1) = 9.
 */
static void test_small_known(void **state)
{
    static const int r01[] = {0, 1}, r23[] = {2, 3}, r0123[] = {0, 1, 2, 3}, r02[] = {0, 2},
                     r13[] = {1, 3}, r0[] = {0};
    static const double pen[] = {100, 100, 100, 100};
    static const int types[] = {2, 1};
    const slv_spp_col cols[] = {{0, 10, 2, r01}, {0, 10, 2, r23}, {1, 25, 4, r0123},
                                {0, 4, 2, r02},  {1, 5, 2, r13},  {0, 3, 1, r0}};
    const int inc[] = {0, 1};
    slv_spp_problem p = {4, pen, 2, types, 6, cols, 2, inc, 5};
    char chosen[6];
    double obj;

    (void)state;
    obj = solve_checked(&p, chosen);
    assert_true(fabs(obj - 9) < 1e-9);
    assert_memory_equal(chosen, ((char[]){0, 0, 0, 1, 1, 0}), 6);
}

/* Request 2 costs 50 to serve and 5 to leave out: it is left out. */
static void test_unserved_optimal(void **state)
{
    static const int r01[] = {0, 1}, r012[] = {0, 1, 2}, r2[] = {2}, r0[] = {0}, r1[] = {1};
    static const double pen[] = {100, 100, 5};
    static const int types[] = {3};
    const slv_spp_col cols[] = {
        {0, 10, 2, r01}, {0, 62, 3, r012}, {0, 50, 1, r2}, {0, 8, 1, r0}, {0, 8, 1, r1}};
    const int inc[] = {1};
    slv_spp_problem p = {3, pen, 1, types, 5, cols, 1, inc, 5};
    char chosen[5];
    double obj;

    (void)state;
    obj = solve_checked(&p, chosen);
    assert_true(fabs(obj - 15) < 1e-9);
    assert_memory_equal(chosen, ((char[]){1, 0, 0, 0, 0}), 5);
}

/* The same pool with request 2 promised: it must be served, the cheapest way. */
static void test_promised_covered(void **state)
{
    static const int r01[] = {0, 1}, r012[] = {0, 1, 2}, r2[] = {2}, r0[] = {0}, r1[] = {1};
    static const double pen[] = {100, 100, SLV_INF};
    static const int types[] = {3};
    const slv_spp_col cols[] = {
        {0, 10, 2, r01}, {0, 65, 3, r012}, {0, 50, 1, r2}, {0, 8, 1, r0}, {0, 8, 1, r1}};
    const int inc[] = {1};
    slv_spp_problem p = {3, pen, 1, types, 5, cols, 1, inc, 5};
    char chosen[5];
    double obj;

    (void)state;
    obj = solve_checked(&p, chosen);
    assert_true(fabs(obj - 60) < 1e-9);
    assert_memory_equal(chosen, ((char[]){1, 0, 1, 0, 0}), 5);
}

/* One vehicle of the cheap type: only one of its two routes can be used. */
static void test_type_limit_binding(void **state)
{
    static const int r01[] = {0, 1}, r23[] = {2, 3};
    static const double pen[] = {1e6, 1e6, 1e6, 1e6};
    static const int types[] = {1, 2};
    const slv_spp_col cols[] = {{0, 2, 2, r01}, {0, 2, 2, r23}, {1, 5, 2, r01}, {1, 6, 2, r23}};
    const int inc[] = {2, 3};
    slv_spp_problem p = {4, pen, 2, types, 4, cols, 2, inc, 5};
    char chosen[4];
    double obj;

    (void)state;
    obj = solve_checked(&p, chosen);
    assert_true(fabs(obj - 7) < 1e-9);
    assert_memory_equal(chosen, ((char[]){0, 1, 1, 0}), 4);
}

/* An optimal incumbent comes back unchanged, also against an equal-cost tie. */
static void test_incumbent_optimal(void **state)
{
    static const int r01[] = {0, 1}, r23[] = {2, 3}, r02[] = {0, 2}, r13[] = {1, 3};
    static const double pen[] = {1e6, 1e6, 1e6, 1e6};
    static const int types[] = {4};
    const slv_spp_col cols[] = {{0, 3, 2, r01}, {0, 4, 2, r23}, {0, 3.5, 2, r02}, {0, 3.5, 2, r13}};
    const int inc[] = {2, 3};
    slv_spp_problem p = {4, pen, 1, types, 4, cols, 2, inc, 5};
    char chosen[4];
    double obj;

    (void)state;
    obj = solve_checked(&p, chosen);
    assert_true(obj == 7);
    assert_memory_equal(chosen, ((char[]){0, 0, 1, 1}), 4);
}

/* No columns: everything unserved, or invalid if a request is promised. */
static void test_no_columns(void **state)
{
    static const double pen[] = {3, 4}, pen_promised[] = {3, SLV_INF};
    static const int types[] = {1};
    slv_spp_problem p = {2, pen, 1, types, 0, NULL, 0, NULL, 1};
    char chosen[1];
    double obj;

    (void)state;
    assert_int_equal(slv_spp_solve(&p, chosen, &obj), 0);
    assert_true(obj == 7);
    p.penalty = pen_promised;
    assert_int_equal(slv_spp_solve(&p, chosen, &obj), SLV_EINVAL);
    p.n_requests = 0;
    assert_int_equal(slv_spp_solve(&p, chosen, &obj), 0);
    assert_true(obj == 0);
}

static void expect_einval(const slv_spp_problem *p)
{
    char chosen[8];
    double obj = 0;

    memset(chosen, 7, sizeof(chosen));
    assert_int_equal(slv_spp_solve(p, chosen, &obj), SLV_EINVAL);
    for (int c = 0; c < p->n_cols; c++)
        assert_int_equal(chosen[c], 0);
    assert_true(obj == HUGE_VAL);
}

static void test_invalid_input(void **state)
{
    static const int r01[] = {0, 1}, r23[] = {2, 3}, r_bad[] = {0, 4}, r_neg[] = {-1},
                     r_dup[] = {1, 2, 1}, r1[] = {1};
    static const double pen[] = {9, 9, 9, SLV_INF};
    static const int types[] = {1, 2};
    slv_spp_col cols[] = {{0, 2, 2, r01}, {1, 2, 2, r23}, {1, 3, 1, r1}};
    int inc[] = {0, 1};
    slv_spp_problem p = {4, pen, 2, types, 3, cols, 2, inc, 1};
    char chosen[3];
    double obj;

    (void)state;
    assert_int_equal(slv_spp_solve(&p, chosen, &obj), 0); /* the base case is fine */

    cols[2].reqs = r_bad; /* unknown request */
    cols[2].n_req = 2;
    expect_einval(&p);
    cols[2].reqs = r_neg;
    cols[2].n_req = 1;
    expect_einval(&p);
    cols[2].reqs = r_dup; /* a request twice in one column */
    cols[2].n_req = 3;
    expect_einval(&p);
    cols[2].reqs = r1;
    cols[2].n_req = 1;
    cols[2].type = 2; /* unknown type */
    expect_einval(&p);
    cols[2].type = -1;
    expect_einval(&p);
    cols[2].type = 1;
    cols[2].cost = NAN;
    expect_einval(&p);
    cols[2].cost = 3;

    p.n_incumbent = 1; /* leaves promised request 3 out */
    expect_einval(&p);
    p.n_incumbent = 2;
    inc[1] = 0; /* the same column twice */
    expect_einval(&p);
    inc[0] = 0;
    inc[1] = 3; /* unknown column */
    expect_einval(&p);
    inc[1] = -1;
    expect_einval(&p);

    {
        const int inc3[] = {0, 1, 2}; /* request 1 served twice */
        slv_spp_problem q = p;

        q.incumbent = inc3;
        q.n_incumbent = 3;
        expect_einval(&q);
    }
    {
        static const int types0[] = {0, 2}; /* type 0 has no vehicle */
        const int inc2[] = {0, 1};
        slv_spp_problem q = p;

        q.type_count = types0;
        q.incumbent = inc2;
        expect_einval(&q);
    }
    inc[1] = 1;
    assert_int_equal(slv_spp_solve(NULL, chosen, &obj), SLV_EINVAL);
    assert_int_equal(slv_spp_solve(&p, NULL, &obj), SLV_EINVAL);
    assert_int_equal(slv_spp_solve(&p, chosen, NULL), SLV_EINVAL);
    assert_int_equal(slv_spp_solve(&p, chosen, &obj), 0);
}

/* ------------------------------------------------------------------------ */
/* Random pools                                                              */

/* Small random pools: the answer equals the exhaustive optimum. */
static void test_random_small_vs_brute(void **state)
{
    (void)state;
    for (int iter = 0; iter < 300; iter++) {
        uint64_t s = 1000 + (uint64_t)iter;
        int n_req = 5 + rng_int(&s, 6), n_cols = 10 + rng_int(&s, 25), n_promised = 0;
        pool pl;
        char *chosen;
        double obj, best;

        pool_alloc(&pl, n_req, 2, n_cols + n_req);
        for (int r = 0; r < n_req; r++) {
            int promised = rng_int(&s, 4) == 0;

            pl.penalty[r] = promised ? SLV_INF : 10 + 50 * rng_unit(&s);
            n_promised += promised;
        }
        pl.type_count[0] = 1 + rng_int(&s, 3);
        pl.type_count[1] = n_promised + rng_int(&s, 3);
        for (int i = 0; i < n_cols; i++) {
            int reqs[5], n = 1 + rng_int(&s, 4), k = 0;

            while (k < n) {
                int cand = rng_int(&s, n_req), dup = 0;

                for (int j = 0; j < k; j++)
                    dup |= reqs[j] == cand;
                if (!dup)
                    reqs[k++] = cand;
            }
            pool_add(&pl, rng_int(&s, 2), 5 + 40 * rng_unit(&s) * n, reqs, n);
        }
        for (int r = 0; r < n_req; r++) {
            if (pl.penalty[r] >= SLV_INF) {
                int c = pool_add(&pl, 1, 30 + 20 * rng_unit(&s), &r, 1);

                pl.incumbent[pl.p.n_incumbent++] = c;
            }
        }
        pl.p.time_limit_s = 10;
        chosen = malloc((size_t)pl.p.n_cols);
        assert_non_null(chosen);
        obj = solve_checked(&pl.p, chosen);
        best = brute_force(&pl.p);
        if (fabs(obj - best) > 1e-6) {
            fprintf(stderr, "pool %d: spp %.9g brute force %.9g\n", iter, obj, best);
            fail();
        }
        free(chosen);
        pool_free(&pl);
    }
}

/* 30 requests, 300 random routes plus singletons, several seeds. */
static void test_random_pools(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 20; seed++) {
        pool pl;
        char *chosen;
        double obj, inc;

        pool_random(&pl, (uint64_t)seed, 30, 300, seed % 2 ? 1e6 : 60, 0.2);
        chosen = malloc((size_t)pl.p.n_cols);
        assert_non_null(chosen);
        inc = incumbent_value(&pl.p);
        obj = solve_checked(&pl.p, chosen);
        assert_true(obj < inc); /* singletons and unserved requests are easy to beat */
        free(chosen);
        pool_free(&pl);
    }
}

/* A tiny time limit on a large pool still returns a valid answer. */
static void test_tiny_time_limit(void **state)
{
    const double limits[] = {1e-6, 1e-3, 0.02};

    (void)state;
    for (int i = 0; i < 3; i++) {
        pool pl;
        char *chosen;

        pool_random(&pl, 77, 100, 5000, 1e6, 0.1);
        pl.p.time_limit_s = limits[i];
        chosen = malloc((size_t)pl.p.n_cols);
        assert_non_null(chosen);
        solve_checked(&pl.p, chosen);
        free(chosen);
        pool_free(&pl);
    }
}

/* Micro-benchmark: printed, not asserted. */
static void test_bench(void **state)
{
    (void)state;
    for (int seed = 1; seed <= 3; seed++) {
        pool pl;
        char *chosen;
        double t0, t1, obj, inc;

        pool_random(&pl, (uint64_t)(500 + seed), 100, 5000, 1e6, 0.1);
        pl.p.time_limit_s = 2;
        chosen = malloc((size_t)pl.p.n_cols);
        assert_non_null(chosen);
        inc = incumbent_value(&pl.p);
        t0 = now_s();
        obj = solve_checked(&pl.p, chosen);
        t1 = now_s();
        printf("spp bench: 100 requests, %d columns, 2 s limit: %.3f s, incumbent %.1f -> %.1f\n",
               pl.p.n_cols, t1 - t0, inc, obj);
        free(chosen);
        pool_free(&pl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_known),
        cmocka_unit_test(test_unserved_optimal),
        cmocka_unit_test(test_promised_covered),
        cmocka_unit_test(test_type_limit_binding),
        cmocka_unit_test(test_incumbent_optimal),
        cmocka_unit_test(test_no_columns),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_random_small_vs_brute),
        cmocka_unit_test(test_random_pools),
        cmocka_unit_test(test_tiny_time_limit),
        cmocka_unit_test(test_bench),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
