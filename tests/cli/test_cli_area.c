/*
 * test_cli_area.c - `noriai area` end to end.
 *
 * Runs the built binary ($NORIAI_BIN, else build/noriai; tests run from the
 * repository root) with posix_spawn, output captured in files of a
 * temporary folder: a synthetic town written, described (text and JSON) and
 * routed on; an area built from the Shibuya extract of the shared data
 * folder ($NORIAI_SHARED, else ../shared; without it the tests fail); the
 * developer matrix benchmark; and the errors a user meets - usage mistakes,
 * missing and damaged files - with their exit statuses (2) and messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"
#include "cli/cliutil.h"

#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char town_dir[300];
static char shared[1024];


static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    if (j == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, text);
    return j;
}

static long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        fail_msg("no integer \"%s\"", key);
    return (long)json_integer_value(v);
}

static int setup(void **state)
{
    const char *env = getenv("NORIAI_SHARED");
    char probe[1200];
    struct stat st;
    run_result r;

    (void)state;
    bin = getenv("NORIAI_BIN");
    if (bin == NULL || *bin == '\0')
        bin = "build/noriai";
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "test_cli_area: %s is not an executable (build it, or set NORIAI_BIN)\n",
                bin);
        return -1;
    }
    snprintf(shared, sizeof(shared), "%s", env && *env ? env : "../shared");
    snprintf(probe, sizeof(probe), "%s/data/osm/tokyo_shibuya.osm.pbf", shared);
    if (stat(probe, &st) != 0) {
        fprintf(stderr, "test_cli_area: shared data not found (%s); set NORIAI_SHARED\n", probe);
        return -1;
    }
    if (tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "cli-area") < 0)
        return -1;
    snprintf(town_dir, sizeof(town_dir), "%s/town", tmp_dir);
    r = run("area", "synth", "--seed", "5", "--size", "small", "--out", town_dir, NULL);
    if (r.status != 0) {
        fprintf(stderr, "test_cli_area: area synth failed (%d): %s\n", r.status, r.err);
        run_free(&r);
        return -1;
    }
    run_free(&r);
    return 0;
}

static int teardown(void **state)
{
    char sub[300];

    (void)state;
    tu_tmpdir_remove(town_dir);
    snprintf(sub, sizeof(sub), "%s/shibuya", tmp_dir);
    tu_tmpdir_remove(sub);
    snprintf(sub, sizeof(sub), "%s/bad", tmp_dir);
    tu_tmpdir_remove(sub);
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

static void test_synth_info(void **state)
{
    run_result r;
    json_t *j, *kinds;

    (void)state;
    r = run("area", "info", town_dir, "--json", NULL);
    if (r.status != 0)
        fail_msg("info --json: exit %d: %s", r.status, r.err);
    j = parse(r.out);
    assert_true(jint(j, "nodes") > 500);
    assert_true(jint(j, "edges") > jint(j, "nodes"));
    assert_int_equal(jint(j, "stops"), 50);
    assert_int_equal(jint(j, "matrix_n"), 50);
    assert_int_equal(jint(j, "depots"), 1);
    assert_int_equal(jint(j, "far_stops"), 0);
    assert_string_equal(json_string_value(json_object_get(j, "crs")), "EPSG:6677");
    kinds = json_object_get(j, "poi_kinds");
    assert_int_equal(jint(kinds, "hospital"), 1);
    assert_true(jint(kinds, "clinic") >= 1);
    assert_true(jint(kinds, "supermarket") >= 1);
    assert_true(jint(kinds, "station") >= 1);
    assert_int_equal(jint(kinds, "city_hall"), 1);
    json_decref(j);
    run_free(&r);
    r = run("area", "info", town_dir, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "EPSG:6677"));
    assert_non_null(strstr(r.out, "50 x 50"));
    assert_non_null(strstr(r.out, "hospital 1"));
    run_free(&r);
}

static void test_route(void **state)
{
    run_result r;
    json_t *j, *bb;
    char from[64], to[64];
    double lon0, lat0, lon1, lat1;

    (void)state;
    r = run("area", "info", town_dir, "--json", NULL);
    j = parse(r.out);
    bb = json_object_get(j, "bbox");
    lon0 = json_real_value(json_array_get(bb, 0));
    lat0 = json_real_value(json_array_get(bb, 1));
    lon1 = json_real_value(json_array_get(bb, 2));
    lat1 = json_real_value(json_array_get(bb, 3));
    json_decref(j);
    run_free(&r);
    snprintf(from, sizeof(from), "%.6f,%.6f", lat0 + 0.3 * (lat1 - lat0),
             lon0 + 0.3 * (lon1 - lon0));
    snprintf(to, sizeof(to), "%.6f,%.6f", lat0 + 0.7 * (lat1 - lat0), lon0 + 0.7 * (lon1 - lon0));
    r = run("area", "route", town_dir, "--from", from, "--to", to, "--json", NULL);
    if (r.status != 0)
        fail_msg("route --json: exit %d: %s", r.status, r.err);
    j = parse(r.out);
    assert_true(json_number_value(json_object_get(j, "time_s")) > 60);
    assert_true(json_number_value(json_object_get(j, "distance_m")) > 500);
    assert_true(json_is_integer(json_object_get(json_object_get(j, "from"), "node")));
    assert_true(json_number_value(json_object_get(json_object_get(j, "to"), "snap_m")) < 250);
    json_decref(j);
    run_free(&r);
    r = run("area", "route", town_dir, "--from", from, "--to", to, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "time_s "));
    assert_non_null(strstr(r.out, "distance_m "));
    assert_non_null(strstr(r.out, "-> node "));
    run_free(&r);
    r = run("area", "route", town_dir, "--from", from, "--to", from, "--json", NULL);
    assert_int_equal(r.status, 0);
    j = parse(r.out);
    assert_true(json_number_value(json_object_get(j, "time_s")) == 0);
    json_decref(j);
    run_free(&r);
}

static void test_build_shibuya(void **state)
{
    char pbf[1200], out[300];
    run_result r;
    json_t *j;

    (void)state;
    snprintf(pbf, sizeof(pbf), "%s/data/osm/tokyo_shibuya.osm.pbf", shared);
    snprintf(out, sizeof(out), "%s/shibuya", tmp_dir);
    r = run("area", "build", "--osm", pbf, "--epsg", "6677", "--out", out, NULL);
    if (r.status != 0)
        fail_msg("area build: exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "stops snapped")); /* progress on stderr */
    run_free(&r);
    r = run("area", "info", out, "--json", NULL);
    assert_int_equal(r.status, 0);
    j = parse(r.out);
    assert_true(jint(j, "nodes") > 1000);
    assert_true(jint(j, "stops") > 5);
    assert_int_equal(jint(j, "epsg"), 6677);
    assert_non_null(strstr(json_string_value(json_object_get(j, "attribution")), "OpenStreetMap"));
    assert_int_equal(json_array_size(json_object_get(j, "sources")), 1);
    json_decref(j);
    run_free(&r);
    /* Shibuya station to Harajuku: a couple of kilometres by road */
    r = run("area", "route", out, "--from", "35.6580,139.7016", "--to", "35.6655,139.7020",
            "--json", NULL);
    if (r.status != 0)
        fail_msg("route: exit %d: %s", r.status, r.err);
    j = parse(r.out);
    assert_true(json_number_value(json_object_get(j, "distance_m")) > 800);
    assert_true(json_number_value(json_object_get(j, "distance_m")) < 4000);
    json_decref(j);
    run_free(&r);
    r = run("area", "build", "--osm", pbf, "--osm-bus-stops", "--quiet", "--out", out, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "1 stops"));
    run_free(&r);
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[400];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A crow-fly bundle written by hand, as documented in area.h. */
static void test_crowfly_bundle(void **state)
{
    char dir[300];
    run_result r;
    json_t *j;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/crow", tmp_dir);
    assert_int_equal(mkdir(dir, 0777), 0);
    put(dir, "area.json",
        "{\"format\": \"noriai-area\", \"version\": 1, \"name\": \"Vaduz\",\n"
        " \"crs\": \"EPSG:32632\", \"epsg\": 32632, \"bbox\": [9.5, 47.1, 9.55, 47.2],\n"
        " \"model\": \"crowfly\", \"crowfly\": {\"detour\": 1.4, \"speed_kmh\": 30},\n"
        " \"attribution\": \"\", \"license\": \"\", \"sources\": [],\n"
        " \"counts\": {\"nodes\": 0, \"edges\": 0, \"stops\": 2, \"far_stops\": 0, "
        "\"depots\": 0, \"pois\": 0, \"zones\": 0}}\n");
    put(dir, "stops.csv",
        "id,name,name_en,lat,lon,x,y,node,snap_m,far,kind\n"
        "a,Post,,47.14,9.52,0,0,-1,0,0,stop\n"
        "b,Schaan,,47.165,9.51,0,0,-1,0,0,stop\n");
    put(dir, "pois.csv", "name,name_en,kind,lat,lon,stop,weight\n");
    put(dir, "zones.csv", "name,name_en,lat,lon,radius_m,weight\n");
    r = run("area", "info", dir, "--json", NULL);
    if (r.status != 0)
        fail_msg("info: exit %d: %s", r.status, r.err);
    j = parse(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "crowfly");
    assert_int_equal(jint(j, "stops"), 2);
    assert_int_equal(jint(j, "nodes"), 0);
    json_decref(j);
    run_free(&r);
    r = run("area", "route", dir, "--from", "47.14,9.52", "--to", "47.165,9.51", "--json", NULL);
    assert_int_equal(r.status, 0);
    j = parse(r.out);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "crowfly");
    /* 2.9 km as the crow flies, x 1.4 at 30 km/h */
    assert_true(json_number_value(json_object_get(j, "distance_m")) > 3800);
    assert_true(json_number_value(json_object_get(j, "distance_m")) < 4400);
    assert_true(json_number_value(json_object_get(j, "time_s")) > 450);
    assert_true(json_number_value(json_object_get(j, "time_s")) < 530);
    json_decref(j);
    run_free(&r);
    tu_tmpdir_remove(dir);
}

static void test_bench_matrix(void **state)
{
    run_result r;

    (void)state;
    r = run("area", "bench-matrix", town_dir, "--nodes", "40", "--repeat", "1", "--threads", "2",
            NULL);
    if (r.status != 0)
        fail_msg("bench-matrix: exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "matrix 40 x 40 on 2 threads"));
    assert_non_null(strstr(r.out, "median: "));
    run_free(&r);
}

static void test_errors(void **state)
{
    char bad[300], p[400], pbf[1200];
    run_result r;

    (void)state;
    r = run("area", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("area", "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown subcommand"));
    run_free(&r);
    r = run("help", "area", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "noriai area synth"));
    run_free(&r);
    r = run("area", "synth", "--size", "huge", "--out", "/tmp/x", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "small, town or city"));
    run_free(&r);
    r = run("area", "synth", "--seed", "-4", "--out", "/tmp/x", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("area", "synth", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--out"));
    run_free(&r);
    r = run("area", "build", "--out", "/tmp/x", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--osm"));
    run_free(&r);
    r = run("area", "build", "--osm", "/nonexistent.osm.pbf", "--out", "/tmp/x", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent.osm.pbf"));
    run_free(&r);
    snprintf(pbf, sizeof(pbf), "%s/data/osm/tokyo_shibuya.osm.pbf", shared);
    r = run("area", "build", "--osm", pbf, "--stops", "x.csv", "--osm-bus-stops", "--out", "/tmp/x",
            NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("area", "build", "--osm", pbf, "--epsg", "abc", "--out", "/tmp/x", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("area", "route", town_dir, "--from", "35.9,139.6", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("area", "route", town_dir, "--from", "35.9;139.6", "--to", "35.9,139.6", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "LAT,LON"));
    run_free(&r);
    r = run("area", "route", town_dir, "--from", "95,139.6", "--to", "35.9,139.6", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    r = run("area", "info", "/nonexistent/area", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent/area"));
    run_free(&r);
    r = run("area", "info", town_dir, "--bogus", NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    /* a damaged bundle: its matrix cut short */
    snprintf(bad, sizeof(bad), "%s/bad", tmp_dir);
    r = run("area", "synth", "--seed", "5", "--size", "small", "--out", bad, NULL);
    assert_int_equal(r.status, 0);
    run_free(&r);
    snprintf(p, sizeof(p), "%s/matrix.bin", bad);
    assert_int_equal(truncate(p, 1000), 0);
    r = run("area", "info", bad, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "matrix.bin"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_info),     cmocka_unit_test(test_route),
        cmocka_unit_test(test_build_shibuya),  cmocka_unit_test(test_bench_matrix),
        cmocka_unit_test(test_crowfly_bundle), cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
