/*
 * test_rng.c - the shared random numbers (solver/rng.h).
 *
 * Streams are pinned to published reference outputs (splitmix64 from 0,
 * xoshiro256** from the state {1, 2, 3, 4}) and to the values the old
 * private copies produced for seed 42, since synthetic towns, simulated
 * days and solver runs are reproducible by seed and must stay so.  The
 * derived draws are checked for range and, loosely, for uniformity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "solver/rng.h"

#include <math.h>

static void test_splitmix_reference(void **state)
{
    uint64_t s = 0;

    (void)state;
    assert_true(slv_rng_splitmix64(&s) == 0xe220a8397b1dcdafULL);
    assert_true(slv_rng_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
    assert_true(slv_rng_splitmix64(&s) == 0x06c45d188009454fULL);
    assert_true(s == 3 * 0x9e3779b97f4a7c15ULL);
}

static void test_xoshiro_reference(void **state)
{
    slv_rng r = {{1, 2, 3, 4}};

    (void)state;
    assert_true(slv_rng_next(&r) == 11520);
    assert_true(slv_rng_next(&r) == 0);
    assert_true(slv_rng_next(&r) == 1509978240);
    assert_true(slv_rng_next(&r) == 1215971899390074240ULL);
}

/* The stream the simulator's and the town generator's copies gave. */
static void test_seeded_stream(void **state)
{
    slv_rng r, z;
    uint64_t s = 42;

    (void)state;
    slv_rng_seed(&r, 42);
    assert_true(slv_rng_next(&r) == 0x15780b2e0c2ec716ULL);
    assert_true(slv_rng_next(&r) == 0x6104d9866d113a7eULL);
    assert_true(slv_rng_next(&r) == 0xae17533239e499a1ULL);
    /* the seed is spread by splitmix64 */
    slv_rng_seed(&r, 42);
    for (int i = 0; i < 4; i++)
        assert_true(r.s[i] == slv_rng_splitmix64(&s));
    /* a zero seed still gives a working generator */
    slv_rng_seed(&z, 0);
    assert_false(z.s[0] == 0 && z.s[1] == 0 && z.s[2] == 0 && z.s[3] == 0);
}

static void test_draws(void **state)
{
    enum { N = 200000, K = 7 };
    int below[K] = {0}, scaled[K] = {0};
    double sum = 0;
    slv_rng r;

    (void)state;
    slv_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        double u = slv_rng_uniform(&r), x = slv_rng_range(&r, -3, 5);
        int b = slv_rng_below(&r, K), c = slv_rng_scaled(&r, K);

        assert_true(u >= 0 && u < 1);
        assert_true(x >= -3 && x < 5);
        assert_true(b >= 0 && b < K);
        assert_true(c >= 0 && c < K);
        below[b]++;
        scaled[c]++;
        sum += u;
    }
    assert_true(fabs(sum / N - 0.5) < 0.01);
    for (int k = 0; k < K; k++) {
        assert_true(fabs(below[k] / (double)N - 1.0 / K) < 0.01);
        assert_true(fabs(scaled[k] / (double)N - 1.0 / K) < 0.01);
    }
    assert_int_equal(slv_rng_below(&r, 1), 0);
    assert_int_equal(slv_rng_below(&r, 0), 0);
    assert_int_equal(slv_rng_below(&r, -5), 0);
    /* the largest range: every value stays inside */
    for (int i = 0; i < 1000; i++) {
        int b = slv_rng_below(&r, INT32_MAX);
        assert_true(b >= 0 && b < INT32_MAX);
    }
    assert_true(slv_rng_unit_of(0) == 0.0);
    assert_true(slv_rng_unit_of(UINT64_MAX) < 1.0);
    assert_true(slv_rng_unit_of(1ULL << 63) == 0.5);
}

/* A range that does not divide 2^64, in the two halves of its span. */
static void test_below_large(void **state)
{
    const int n = (1 << 30) + (1 << 29); /* 3 * 2^29: 2^64 mod n is not 0 */
    int lo = 0, total = 100000;
    slv_rng r;

    (void)state;
    slv_rng_seed(&r, 1234);
    for (int i = 0; i < total; i++)
        lo += slv_rng_below(&r, n) < n / 2;
    assert_true(fabs(lo / (double)total - 0.5) < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix_reference), cmocka_unit_test(test_xoshiro_reference),
        cmocka_unit_test(test_seeded_stream),      cmocka_unit_test(test_draws),
        cmocka_unit_test(test_below_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
