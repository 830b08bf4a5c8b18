/*
 * test_geo.c - the PROJ wrapper: round trips within a centimetre in the CRSs
 * the project's areas use, the axis order (EPSG:4326 -> 6677 against cs2cs),
 * CRSs refused with clear messages, failed points, UTM zones, and one
 * geo_proj per thread.  Also ties the crow-fly great-circle distance to
 * projected distances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "data/geo/geo.h"
#include "data/net/net.h"

typedef struct place {
    int epsg;
    double lat, lon;
} place;

/* Points inside each CRS's area: Saitama, Shibuya (IX), Nagoya (VII),
 * Muroran and Kumagaya (UTM 54N JGD2011), Monaco, Vaduz (32N), Cobb County
 * (16N). */
static const place places[] = {
    {6677, 36.15, 139.39},      {6677, 35.6595, 139.7005},  {6677, 36.23517, 139.43708},
    {6675, 35.1709, 136.8815},  {6675, 34.9, 137.3},        {6691, 42.3154, 140.9738},
    {6691, 36.1473, 139.3886},  {32632, 43.7384, 7.4246},   {32632, 47.1410, 9.5209},
    {32616, 33.8195, -84.5799}, {32616, 33.7383, -84.6540},
};

static void lat_lon_close(double lat0, double lon0, double lat1, double lon1, double tol_m)
{
    double dn = (lat1 - lat0) * 111320.0;
    double de = (lon1 - lon0) * 111320.0 * cos(lat0 * 3.14159265358979 / 180.0);

    if (fabs(dn) > tol_m || fabs(de) > tol_m)
        fail_msg("(%.9f, %.9f) came back as (%.9f, %.9f): off by %.4f m north, %.4f m east", lat0,
                 lon0, lat1, lon1, dn, de);
}

static void test_round_trip(void **state)
{
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        geo_proj *p = NULL;
        const place *q = &places[i];

        assert_int_equal(geo_proj_create(q->epsg, &p, err, sizeof(err)), 0);
        assert_int_equal(geo_proj_epsg(p), q->epsg);
        /* A 5 x 5 km patch around the place. */
        for (int a = -2; a <= 2; a++) {
            for (int b = -2; b <= 2; b++) {
                double lat = q->lat + a * 0.01, lon = q->lon + b * 0.013, x, y, lat2, lon2;

                assert_int_equal(geo_forward(p, lat, lon, &x, &y), 0);
                assert_int_equal(geo_inverse(p, x, y, &lat2, &lon2), 0);
                lat_lon_close(lat, lon, lat2, lon2, 0.01);
            }
        }
        geo_proj_destroy(p);
    }
}

static void test_axis_order_6677(void **state)
{
    geo_proj *p = NULL;
    char err[512];
    double x, y, lat, lon;

    (void)state;
    assert_int_equal(geo_proj_create(6677, &p, err, sizeof(err)), 0);
    /* cs2cs EPSG:4326 EPSG:6677 on "36.15 139.39" prints "16733.44 -39892.87":
     * northing first.  Ours is x = easting, y = northing. */
    assert_int_equal(geo_forward(p, 36.15, 139.39, &x, &y), 0);
    assert_true(fabs(x - -39892.87) < 0.01);
    assert_true(fabs(y - 16733.44) < 0.01);
    assert_int_equal(geo_inverse(p, -39892.87, 16733.44, &lat, &lon), 0);
    lat_lon_close(36.15, 139.39, lat, lon, 0.01);
    /* East is +x, north is +y. */
    {
        double x2, y2;
        assert_int_equal(geo_forward(p, 36.15, 139.40, &x2, &y2), 0);
        assert_true(x2 > x + 800 && fabs(y2 - y) < 50);
        assert_int_equal(geo_forward(p, 36.16, 139.39, &x2, &y2), 0);
        assert_true(y2 > y + 1000 && fabs(x2 - x) < 50);
    }
    geo_proj_destroy(p);
}

static void test_forward_n(void **state)
{
    enum { N = 200 };
    double lat[N], lon[N], x[N], y[N];
    geo_proj *p = NULL;
    char err[512];

    (void)state;
    for (int i = 0; i < N; i++) {
        lat[i] = 36.07 + 0.17 * i / N;
        lon[i] = 139.30 + 0.14 * ((i * 37) % N) / N;
    }
    assert_int_equal(geo_proj_create(6677, &p, err, sizeof(err)), 0);
    assert_int_equal(geo_forward_n(p, N, lat, lon, x, y), 0);
    for (int i = 0; i < N; i++) {
        double x1, y1;
        assert_int_equal(geo_forward(p, lat[i], lon[i], &x1, &y1), 0);
        assert_true(fabs(x1 - x[i]) < 1e-6 && fabs(y1 - y[i]) < 1e-6);
    }
    assert_int_equal(geo_forward_n(p, 0, NULL, NULL, NULL, NULL), 0);
    lat[7] = 95.0;
    assert_int_equal(geo_forward_n(p, N, lat, lon, x, y), GEO_EINVAL);
    geo_proj_destroy(p);
}

/* Projected distances agree with the crow-fly great circle within the
 * projection's scale error (under 0.1 % in a plane rectangular zone). */
static void test_distance_agrees_with_haversine(void **state)
{
    geo_proj *p = NULL;
    char err[512];
    double x0, y0, x1, y1;

    (void)state;
    assert_int_equal(geo_proj_create(6677, &p, err, sizeof(err)), 0);
    assert_int_equal(geo_forward(p, 36.07271, 139.30810, &x0, &y0), 0);
    assert_int_equal(geo_forward(p, 36.23517, 139.43708, &x1, &y1), 0);
    {
        double plane = hypot(x1 - x0, y1 - y0);
        double sphere = net_haversine_m(36.07271, 139.30810, 36.23517, 139.43708);
        assert_true(fabs(plane - sphere) / sphere < 0.003);
    }
    geo_proj_destroy(p);
}

static void expect_crs_error(int epsg, const char *needle)
{
    geo_proj *p = (geo_proj *)&p; /* must be reset to NULL */
    char err[512] = "";

    assert_int_equal(geo_proj_create(epsg, &p, err, sizeof(err)), GEO_ECRS);
    assert_null(p);
    if (strstr(err, needle) == NULL)
        fail_msg("EPSG:%d: message \"%s\" lacks \"%s\"", epsg, err, needle);
}

static void test_bad_crs(void **state)
{
    (void)state;
    expect_crs_error(4326, "not a projected CRS");
    expect_crs_error(6668, "not a projected CRS"); /* JGD2011 geographic */
    expect_crs_error(4978, "not a projected CRS"); /* geocentric */
    expect_crs_error(0, "not a valid EPSG code");
    expect_crs_error(-32654, "not a valid EPSG code");
    expect_crs_error(999999, "EPSG:999999");
    expect_crs_error(12345678, "not a valid EPSG code");
    expect_crs_error(2240, "not metres");     /* Georgia West, US survey feet */
    expect_crs_error(3413, "east and north"); /* polar stereographic */
    expect_crs_error(5714, "EPSG:5714");      /* a vertical CRS (MSL height) */
    assert_string_equal(geo_strerror(GEO_ECRS), "unknown or unusable coordinate reference system");
    assert_string_equal(geo_strerror(0), "success");
    assert_string_equal(geo_strerror(-99), "unknown error");
    assert_int_equal(geo_proj_create(6677, NULL, NULL, 0), GEO_EINVAL);
}

static void test_bad_points(void **state)
{
    geo_proj *p = NULL;
    char err[512];
    double x = 1, y = 2, lat, lon;

    (void)state;
    assert_int_equal(geo_proj_create(2154, &p, err, sizeof(err)), 0); /* Lambert-93, France */
    assert_int_equal(geo_forward(p, 91.0, 0.0, &x, &y), GEO_EINVAL);
    assert_int_equal(geo_forward(p, 0.0, -180.5, &x, &y), GEO_EINVAL);
    assert_int_equal(geo_forward(p, NAN, 2.0, &x, &y), GEO_EINVAL);
    assert_int_equal(geo_forward(p, 45.0, INFINITY, &x, &y), GEO_EINVAL);
    /* The conic cannot map the opposite pole: PROJ gives HUGE_VAL. */
    assert_int_equal(geo_forward(p, -90.0, 3.0, &x, &y), GEO_ETRANSFORM);
    assert_true(x == 1 && y == 2); /* outputs untouched on failure */
    /* ... and the object still works after a failure. */
    assert_int_equal(geo_forward(p, 48.8566, 2.3522, &x, &y), 0);
    assert_int_equal(geo_inverse(p, x, y, &lat, &lon), 0);
    lat_lon_close(48.8566, 2.3522, lat, lon, 0.01);
    assert_int_equal(geo_inverse(p, NAN, 0, &lat, &lon), GEO_EINVAL);
    {
        double la[2] = {48.0, -90.0}, lo[2] = {2.0, 3.0}, xs[2], ys[2];
        assert_int_equal(geo_forward_n(p, 2, la, lo, xs, ys), GEO_ETRANSFORM);
    }
    geo_proj_destroy(p);
    /* Far outside a transverse Mercator zone there is no inverse. */
    assert_int_equal(geo_proj_create(6677, &p, err, sizeof(err)), 0);
    assert_int_equal(geo_inverse(p, 1e8, 1e8, &lat, &lon), GEO_ETRANSFORM);
    geo_proj_destroy(p);
    geo_proj_destroy(NULL);
    assert_int_equal(geo_forward(NULL, 0, 0, &x, &y), GEO_EINVAL);
}

static void test_utm_zones(void **state)
{
    (void)state;
    assert_int_equal(geo_utm_epsg(35.6595, 139.7005), 32654);  /* Shibuya */
    assert_int_equal(geo_utm_epsg(42.3154, 140.9738), 32654);  /* Muroran */
    assert_int_equal(geo_utm_epsg(43.7384, 7.4246), 32632);    /* Monaco */
    assert_int_equal(geo_utm_epsg(47.1410, 9.5209), 32632);    /* Vaduz */
    assert_int_equal(geo_utm_epsg(33.8195, -84.5799), 32616);  /* Cobb County */
    assert_int_equal(geo_utm_epsg(-33.8688, 151.2093), 32756); /* Sydney */
    assert_int_equal(geo_utm_epsg(-34.6037, -58.3816), 32721); /* Buenos Aires */
    assert_int_equal(geo_utm_epsg(51.4779, 0.0), 32631);       /* Greenwich */
    assert_int_equal(geo_utm_epsg(51.4779, -0.0001), 32630);
    assert_int_equal(geo_utm_epsg(0.0, -180.0), 32601);
    assert_int_equal(geo_utm_epsg(0.0, 180.0), 32601);
    assert_int_equal(geo_utm_epsg(0.0, 179.99), 32660);
    assert_int_equal(geo_utm_epsg(60.39, 5.32), 32632);  /* Bergen: Norway exception */
    assert_int_equal(geo_utm_epsg(55.9, 5.32), 32631);   /* south of it: the normal zone */
    assert_int_equal(geo_utm_epsg(78.22, 15.65), 32633); /* Longyearbyen: Svalbard */
    assert_int_equal(geo_utm_epsg(79.0, 8.0), 32631);
    assert_int_equal(geo_utm_epsg(79.0, 25.0), 32635);
    assert_int_equal(geo_utm_epsg(79.0, 40.0), 32637);
    assert_int_equal(geo_utm_epsg(91.0, 0.0), 0);
    assert_int_equal(geo_utm_epsg(NAN, 0.0), 0);
    /* Every zone the function names is a CRS the wrapper accepts. */
    {
        geo_proj *p = NULL;
        char err[512];
        assert_int_equal(geo_proj_create(geo_utm_epsg(-33.8688, 151.2093), &p, err, sizeof(err)),
                         0);
        geo_proj_destroy(p);
    }
}

typedef struct thread_job {
    int epsg;
    double sum;
    int rc;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    geo_proj *p = NULL;
    char err[256];

    job->rc = geo_proj_create(job->epsg, &p, err, sizeof(err));
    for (int i = 0; i < 2000 && job->rc == 0; i++) {
        double x, y;
        job->rc = geo_forward(p, 35.0 + i * 1e-4, 139.0 + i * 1e-4, &x, &y);
        job->sum += x + y;
    }
    geo_proj_destroy(p);
    return NULL;
}

/* One geo_proj per thread: results equal a single-threaded run. */
static void test_threads(void **state)
{
    thread_job jobs[4], ref = {6677, 0, 0};
    pthread_t t[4];

    (void)state;
    thread_main(&ref);
    assert_int_equal(ref.rc, 0);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){6677, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].rc, 0);
        assert_true(jobs[i].sum == ref.sum);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_axis_order_6677),
        cmocka_unit_test(test_forward_n),  cmocka_unit_test(test_distance_agrees_with_haversine),
        cmocka_unit_test(test_bad_crs),    cmocka_unit_test(test_bad_points),
        cmocka_unit_test(test_utm_zones),  cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
