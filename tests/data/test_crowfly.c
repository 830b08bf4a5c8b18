/*
 * test_crowfly.c - travel without roads: the haversine distance against
 * distances known in closed form and a published city pair, the defaults,
 * rounding, symmetry, and models with no usable speed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "data/net/net.h"

#define R_M 6371008.8
#define PI 3.14159265358979323846

static void test_haversine(void **state)
{
    (void)state;
    assert_true(net_haversine_m(36.15, 139.39, 36.15, 139.39) == 0.0);
    /* a quarter meridian, half the equator, antipodes */
    assert_true(fabs(net_haversine_m(0, 0, 90, 0) - R_M * PI / 2) < 1e-6);
    assert_true(fabs(net_haversine_m(0, -90, 0, 90) - R_M * PI) < 1e-6);
    /* near antipodes asin loses digits (a few cm), irrelevant at town scale */
    assert_true(fabs(net_haversine_m(35.0, 139.0, -35.0, -41.0) - R_M * PI) < 1.0);
    /* one degree of longitude at 60 degrees north is about half a degree at the equator */
    assert_true(fabs(net_haversine_m(60, 10, 60, 11) - net_haversine_m(0, 10, 0, 11) / 2) < 100);
    /* Paris - London, about 343.5 km on the mean sphere */
    assert_true(fabs(net_haversine_m(48.8566, 2.3522, 51.5074, -0.1278) - 343.5e3) < 1e3);
    /* a metre apart: the formula keeps its digits at short range */
    assert_true(fabs(net_haversine_m(36.0, 139.0, 36.0 + 1.0 / 111195.08, 139.0) - 1.0) < 1e-3);
    /* symmetric */
    assert_true(net_haversine_m(36.07, 139.30, 36.23, 139.43) ==
                net_haversine_m(36.23, 139.43, 36.07, 139.30));
}

static void test_travel(void **state)
{
    net_crowfly c;
    int32_t t = -1, d = -1;
    double lat2 = 36.0 + 1000.0 / (R_M * PI / 180.0); /* 1,000 m due north */

    (void)state;
    net_crowfly_default(&c);
    assert_true(c.detour == 1.3 && c.speed_kmh == 25.0);
    net_crowfly_travel(&c, 36.0, 139.0, lat2, 139.0, &t, &d);
    assert_int_equal(d, 1300); /* 1,000 m x 1.3 */
    assert_int_equal(t, 187);  /* 1,300 m at 25 km/h = 187.2 s */
    net_crowfly_travel(&c, 36.0, 139.0, 36.0, 139.0, &t, &d);
    assert_int_equal(t, 0);
    assert_int_equal(d, 0);
    /* 1.4 m x 1.3 = 1.82 m rounds to 2 m, 0.26 s rounds to 0 s */
    net_crowfly_travel(&c, 36.0, 139.0, 36.0 + 1.4 / (R_M * PI / 180.0), 139.0, &t, &d);
    assert_int_equal(d, 2);
    assert_int_equal(t, 0);
    c.detour = 1.0;
    c.speed_kmh = 36.0; /* 10 m/s */
    net_crowfly_travel(&c, 36.0, 139.0, lat2, 139.0, &t, &d);
    assert_int_equal(d, 1000);
    assert_int_equal(t, 100);
    /* no usable speed or detour: unreachable, except a point with itself */
    c.speed_kmh = 0;
    net_crowfly_travel(&c, 36.0, 139.0, lat2, 139.0, &t, &d);
    assert_int_equal(t, NET_UNREACHABLE_S);
    assert_int_equal(d, NET_UNREACHABLE_M);
    c.speed_kmh = 25;
    c.detour = NAN;
    net_crowfly_travel(&c, 36.0, 139.0, lat2, 139.0, &t, &d);
    assert_int_equal(t, NET_UNREACHABLE_S);
    net_crowfly_travel(NULL, 36.0, 139.0, lat2, 139.0, &t, &d);
    assert_int_equal(d, NET_UNREACHABLE_M);
    net_crowfly_travel(&c, 36.0, 139.0, 36.0, 139.0, &t, &d);
    assert_int_equal(t, 0);
    /* half the Earth at walking pace still fits in int32 seconds or saturates */
    c.detour = 1.0;
    c.speed_kmh = 0.001;
    net_crowfly_travel(&c, 0, 0, 0, 180, &t, &d);
    assert_int_equal(t, INT32_MAX);
    assert_true(d > 20000000 && d < 20100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_haversine),
        cmocka_unit_test(test_travel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
