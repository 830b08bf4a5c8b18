/*
 * test_io.c - the file edge: every instance format, the solution formats, and
 * bad input.
 *
 * Real files come from the shared benchmark folder ($NORIAI_SHARED, else
 * ../shared from the repository root, where tests run).  Without it the tests
 * fail: they are the only proof that the readers agree with the published
 * instances and their best known solutions.
 *
 * The best known solutions are read and handed to the solver's independent
 * checker, which must accept them at the published cost; that ties reader
 * and checker together against numbers neither of them produced.  Malformed
 * files are written to a temporary folder; each must give an error naming
 * the file and the line (or, for JSON content, the JSON path), and none may
 * crash - a truncation sweep and byte flips over real files back that up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/io/io.h"

static char tmp_dir[256];
static char shared[1024];

/* ---------------------------------------------------------------------- */
/* helpers                                                                */

static const char *shared_dir(void)
{
    if (tu_shared_dir(shared, sizeof(shared), "bench/darp/README.md") != 0)
        fail_msg("shared benchmark folder not found: %s is missing (set NORIAI_SHARED to the "
                 "folder holding bench/darp and bench/pdptw)",
                 shared);
    return shared;
}

static void bench_path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/bench/%s", shared_dir(), rel);
}

static const char *write_tmp(const char *name, const char *content, size_t len)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static const char *write_tmp_str(const char *name, const char *content)
{
    return write_tmp(name, content, strlen(content));
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static io_instance *read_ok(const char *path, const char *format)
{
    io_instance *in = NULL;
    char err[1024] = "";
    int rc = io_read_instance(path, format, &in, err, sizeof(err));

    if (rc != 0)
        fail_msg("reading %s failed: %s", path, err);
    assert_non_null(in);
    return in;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "io");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Cordeau                                                                */

static void test_cordeau_2006_a2_16(void **state)
{
    char path[1200];
    io_instance *in;
    const slv_instance *s;
    const slv_request *r0, *r15;
    const slv_vehicle *v;

    (void)state;
    bench_path(path, sizeof(path), "darp/cordeau2006/a2-16.txt");
    in = read_ok(path, NULL);
    s = in->inst;
    assert_int_equal(in->format, IO_FORMAT_CORDEAU);
    assert_int_equal(in->layout, 2006);
    assert_string_equal(in->name, "a2-16");
    assert_string_equal(slv_instance_name(s), "a2-16");
    assert_int_equal(slv_instance_n_requests(s), 16);
    assert_int_equal(slv_instance_n_vehicles(s), 2);
    assert_int_equal(slv_instance_n_locs(s), 34);
    assert_int_equal(slv_instance_n_dims(s), 1);
    r0 = slv_instance_request(s, 0);
    assert_int_equal(r0->pickup_loc, 1);
    assert_int_equal(r0->drop_loc, 17);
    assert_int_equal(r0->load[0], 1);
    assert_true(r0->max_ride == 30);
    assert_true(r0->pickup_service == 3 && r0->drop_service == 3);
    assert_int_equal(r0->onboard_vehicle, -1);
    assert_int_equal(r0->promised, 0);
    assert_true(r0->unserved_penalty > 1e5);
    r15 = slv_instance_request(s, 15);
    assert_int_equal(r15->pickup_loc, 16);
    assert_int_equal(r15->drop_loc, 32);
    v = slv_instance_vehicle(s, 1);
    assert_int_equal(v->start_loc, 0);
    assert_int_equal(v->end_loc, 33);
    assert_true(v->shift_start == 0 && v->shift_end == 480);
    assert_true(v->max_duration == 480);
    assert_int_equal(v->n_configs, 1);
    assert_int_equal(v->capacity[0][0], 3);
    /* node 1 at (-1.198, -5.164), depot at the origin: unrounded Euclidean */
    assert_true(fabs(slv_instance_time(s, 0, 1) - sqrt(1.198 * 1.198 + 5.164 * 5.164)) < 1e-12);
    assert_true(slv_instance_dist(s, 0, 1) == slv_instance_time(s, 0, 1));
    assert_true(slv_instance_objective(s)->per_distance == 1.0);
    assert_int_equal(slv_instance_objective(s)->vehicles_first, 0);
    assert_string_equal(in->stop_id[SLV_DROP(0)].text, "17");
    assert_int_equal(io_find_stop(in, "17"), SLV_DROP(0));
    assert_int_equal(io_find_stop(in, "0"), IO_EMATCH);
    assert_int_equal(io_find_stop(in, "33"), IO_EMATCH);
    io_instance_destroy(in);
}

static void test_cordeau_2003_pr01(void **state)
{
    char path[1200];
    io_instance *in;
    const slv_instance *s;
    const slv_vehicle *v;

    (void)state;
    bench_path(path, sizeof(path), "darp/cordeau_laporte2003/pr01.txt");
    in = read_ok(path, "cordeau");
    s = in->inst;
    assert_int_equal(in->layout, 2003);
    assert_int_equal(slv_instance_n_requests(s), 24);
    assert_int_equal(slv_instance_n_vehicles(s), 3);
    assert_int_equal(slv_instance_n_locs(s), 49);
    v = slv_instance_vehicle(s, 2);
    assert_int_equal(v->start_loc, 0);
    assert_int_equal(v->end_loc, 0);
    assert_true(v->shift_end == 1440);
    assert_true(v->max_duration == 480);
    assert_int_equal(v->capacity[0][0], 6);
    assert_true(slv_instance_request(s, 0)->max_ride == 90);
    assert_true(slv_instance_request(s, 0)->pickup_service == 10);
    assert_int_equal(slv_instance_request(s, 23)->drop_loc, 48);
    io_instance_destroy(in);
}

/* Every Cordeau file of the shared folder; the counts come from the names. */
static void test_cordeau_all_files(void **state)
{
    static const char *dirs[2] = {"darp/cordeau2006", "darp/cordeau_laporte2003"};
    char dir[1200], path[1600];
    int count = 0;

    (void)state;
    for (int k = 0; k < 2; k++) {
        DIR *d;
        struct dirent *e;
        bench_path(dir, sizeof(dir), dirs[k]);
        d = opendir(dir);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            io_instance *in;
            int kv, n;
            if (!has_suffix(e->d_name, ".txt"))
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            in = read_ok(path, NULL);
            assert_int_equal(in->format, IO_FORMAT_CORDEAU);
            if (e->d_name[0] == 'a' || e->d_name[0] == 'b') {
                assert_int_equal(sscanf(e->d_name + 1, "%d-%d", &kv, &n), 2);
                assert_int_equal(in->layout, 2006);
                assert_int_equal(in->n_requests, n);
                assert_int_equal(in->n_vehicles, kv);
            } else {
                assert_int_equal(in->layout, 2003);
            }
            count++;
            io_instance_destroy(in);
        }
        closedir(d);
    }
    assert_true(count >= 40);
}

/* ---------------------------------------------------------------------- */
/* Li & Lim                                                               */

static void test_lilim_lc101(void **state)
{
    char path[1200];
    io_instance *in;
    const slv_instance *s;
    const slv_request *r;
    int prev = 0;

    (void)state;
    bench_path(path, sizeof(path), "pdptw/li_lim_100/lc101.txt");
    in = read_ok(path, NULL);
    s = in->inst;
    assert_int_equal(in->format, IO_FORMAT_LILIM);
    assert_string_equal(in->name, "lc101");
    assert_int_equal(slv_instance_n_vehicles(s), 25);
    assert_int_equal(slv_instance_n_locs(s), 107);
    assert_int_equal(slv_instance_n_requests(s), 53);
    assert_int_equal(slv_instance_objective(s)->vehicles_first, 1);
    assert_true(slv_instance_objective(s)->per_distance == 1.0);
    assert_int_equal(slv_instance_vehicle(s, 0)->capacity[0][0], 200);
    assert_true(slv_instance_vehicle(s, 0)->shift_end == 1236);
    assert_true(slv_instance_vehicle(s, 0)->max_duration >= SLV_INF);
    /* node 1: demand -10, pickup 11: request of pickup 11 drops at 1 */
    r = slv_instance_request(s, SLV_REQ(io_find_stop(in, "1")));
    assert_int_equal(io_find_stop(in, "1"), SLV_DROP(SLV_REQ(io_find_stop(in, "11"))));
    assert_int_equal(r->pickup_loc, 11);
    assert_int_equal(r->drop_loc, 1);
    assert_int_equal(r->load[0], 10);
    assert_true(r->drop_open == 912 && r->drop_close == 967 && r->drop_service == 90);
    assert_true(r->max_ride >= SLV_INF);
    /* requests in increasing pickup id */
    for (int k = 0; k < in->n_requests; k++) {
        int p = atoi(in->stop_id[SLV_PICKUP(k)].text);
        assert_true(p > prev);
        prev = p;
        assert_true(slv_instance_request(s, k)->load[0] > 0);
    }
    io_instance_destroy(in);
}

static void test_lilim_all_files(void **state)
{
    static const char *dirs[3] = {"pdptw/li_lim_100", "pdptw/li_lim_200", "pdptw/li_lim_400"};
    static const int fleet[3] = {25, 50, 100};
    char dir[1200], path[1600];
    int count = 0;

    (void)state;
    for (int k = 0; k < 3; k++) {
        DIR *d;
        struct dirent *e;
        bench_path(dir, sizeof(dir), dirs[k]);
        d = opendir(dir);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            io_instance *in;
            if (!has_suffix(e->d_name, ".txt"))
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            in = read_ok(path, NULL);
            assert_int_equal(in->format, IO_FORMAT_LILIM);
            assert_int_equal(in->n_vehicles, fleet[k]);
            assert_int_equal(2 * in->n_requests + 1, in->n_locs);
            count++;
            io_instance_destroy(in);
        }
        closedir(d);
    }
    assert_true(count >= 100);
}

/* ---------------------------------------------------------------------- */
/* best known solutions through the checker                                */

static void check_solution(const char *inst_path, const char *sol_path, double want_cost,
                           int want_vehicles)
{
    io_instance *in = read_ok(inst_path, NULL);
    slv_solution *sol = NULL;
    char err[1024] = "", msg[1024] = "";
    double cost = -1, claimed;
    int vehicles = -1, rc;

    rc = io_read_solution(in, sol_path, &sol, &claimed, err, sizeof(err));
    if (rc != 0)
        fail_msg("reading solution %s: %s", sol_path, err);
    rc = slv_check_solution(in->inst, sol, msg, sizeof(msg), &cost, &vehicles);
    if (rc != 0)
        fail_msg("checker rejects %s: %s", sol_path, msg);
    if (fabs(cost - want_cost) > 1e-4)
        fail_msg("%s: cost %.6f, expected %.6f", sol_path, cost, want_cost);
    if (want_vehicles >= 0)
        assert_int_equal(vehicles, want_vehicles);
    assert_int_equal(sol->n_unassigned, 0);
    slv_solution_destroy(sol);
    io_instance_destroy(in);
}

static void test_darp_bks(void **state)
{
    char dir[1200], sol_path[1600], inst_path[1600], name[256];
    DIR *d;
    struct dirent *e;
    int count = 0;

    (void)state;
    bench_path(dir, sizeof(dir), "darp/bks_solutions");
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        json_t *root;
        json_error_t jerr;
        struct stat st;
        if (!has_suffix(e->d_name, ".json"))
            continue;
        snprintf(sol_path, sizeof(sol_path), "%s/%s", dir, e->d_name);
        snprintf(name, sizeof(name), "%.*s", (int)(strlen(e->d_name) - 5), e->d_name);
        snprintf(inst_path, sizeof(inst_path), "%s/bench/darp/%s/%s.txt", shared,
                 name[0] == 'p' ? "cordeau_laporte2003" : "cordeau2006", name);
        assert_int_equal(stat(inst_path, &st), 0);
        root = json_load_file(sol_path, 0, &jerr);
        assert_non_null(root);
        check_solution(inst_path, sol_path, json_number_value(json_object_get(root, "obj")), -1);
        json_decref(root);
        count++;
    }
    closedir(d);
    assert_int_equal(count, 5);
}

static void test_pdptw_bks(void **state)
{
    static const char *dirs[3] = {"li_lim_100", "li_lim_200", "li_lim_400"};
    char dir[1200], sol_path[1600], inst_path[1600], name[256];
    DIR *d;
    struct dirent *e;
    int count = 0;

    (void)state;
    bench_path(dir, sizeof(dir), "pdptw/bks_solutions");
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        int vehicles, found = 0;
        double dist;
        const char *dot;
        struct stat st;
        if (!has_suffix(e->d_name, ".txt"))
            continue;
        /* <instance>.<vehicles>_<distance>.txt */
        dot = strchr(e->d_name, '.');
        assert_non_null(dot);
        snprintf(name, sizeof(name), "%.*s", (int)(dot - e->d_name), e->d_name);
        assert_int_equal(sscanf(dot + 1, "%d_%lf", &vehicles, &dist), 2);
        for (int k = 0; k < 3 && !found; k++) {
            snprintf(inst_path, sizeof(inst_path), "%s/bench/pdptw/%s/%s.txt", shared, dirs[k],
                     name);
            found = stat(inst_path, &st) == 0;
        }
        assert_true(found);
        snprintf(sol_path, sizeof(sol_path), "%s/%s", dir, e->d_name);
        check_solution(inst_path, sol_path, dist, vehicles);
        count++;
    }
    closedir(d);
    assert_int_equal(count, 5);
}

/* ---------------------------------------------------------------------- */
/* noriai JSON                                                            */

static void test_json_example(void **state)
{
    io_instance *in = read_ok("examples/small-town.json", NULL);
    const slv_instance *s = in->inst;
    int v1 = io_find_vehicle(in, "van-1");
    const slv_vehicle *veh;
    const slv_request *r;

    (void)state;
    assert_int_equal(in->format, IO_FORMAT_JSON);
    assert_string_equal(in->name, "small-town");
    assert_int_equal(in->n_requests, 12);
    assert_int_equal(in->n_vehicles, 3);
    assert_int_equal(in->n_dims, 2);
    assert_string_equal(in->dim_name[1], "wheelchairs");
    assert_true(in->clock_times);
    assert_true(v1 >= 0);
    veh = slv_instance_vehicle(s, v1);
    assert_int_equal(veh->n_configs, 2);
    assert_int_equal(veh->capacity[0][0], 8);
    assert_int_equal(veh->capacity[1][1], 1);
    assert_true(veh->shift_start == 8 * 3600 && veh->shift_end == 12 * 3600);
    veh = slv_instance_vehicle(s, io_find_vehicle(in, "van-2"));
    assert_int_equal(veh->n_configs, 1);
    assert_int_equal(veh->capacity[0][0], 4);
    assert_int_equal(veh->capacity[0][1], 0);
    /* R02: wheelchair, drop-off by 09:00 */
    r = slv_instance_request(s, SLV_REQ(io_find_stop(in, "R02:pickup")));
    assert_int_equal(r->load[0], 0);
    assert_int_equal(r->load[1], 1);
    assert_true(r->drop_close == 9 * 3600);
    assert_true(r->pickup_open == 0 && r->pickup_close >= SLV_INF);
    assert_true(r->pickup_service == 180);
    /* alpha/beta max ride from the defaults */
    assert_true(fabs(r->max_ride - (1.5 * slv_instance_time(s, r->pickup_loc, r->drop_loc) + 600)) <
                1e-9);
    r = slv_instance_request(s, SLV_REQ(io_find_stop(in, "R07:pickup")));
    assert_true(r->max_ride == 1800);
    assert_true(r->pickup_service == 60);
    r = slv_instance_request(s, SLV_REQ(io_find_stop(in, "R04:dropoff")));
    assert_int_equal(r->promised, 1);
    r = slv_instance_request(s, SLV_REQ(io_find_stop(in, "R03:pickup")));
    assert_int_equal(r->load[0], 2);
    assert_true(slv_instance_objective(s)->per_vehicle == 600);
    assert_true(slv_instance_objective(s)->per_drive_time == 1.0);
    assert_true(slv_instance_objective(s)->per_distance == 0.0);
    /* asymmetric matrix kept as given, distance separate from time */
    assert_true(slv_instance_dist(s, 0, 1) != slv_instance_time(s, 0, 1));
    io_instance_destroy(in);
}

static const char *features_json =
    "{\n"
    "  \"dimensions\": [\"seats\", \"wheelchairs\"],\n"
    "  \"locations\": [{\"id\": 10, \"x\": 0, \"y\": 0}, {\"id\": 11, \"x\": 300, \"y\": 400},\n"
    "                {\"id\": \"far\", \"x\": 3000, \"y\": 4000}],\n"
    "  \"travel\": {\"model\": \"euclidean\", \"speed\": 10},\n"
    "  \"objective\": {\"per_distance\": 0.5, \"vehicles_first\": true},\n"
    "  \"vehicles\": [\n"
    "    {\"id\": 7, \"start\": 10, \"end\": \"far\", \"capacity\": 3,\n"
    "     \"fixed\": [{\"request\": \"b\", \"stop\": \"dropoff\"}], \"fixed_cost\": 5},\n"
    "    {\"id\": \"spare\", \"start\": 10, \"capacity\": [[4, 0], {\"seats\": 2, \"wheelchairs\": "
    "1}],\n"
    "     \"shift\": [null, \"10:30\"], \"max_duration\": 3600}\n"
    "  ],\n"
    "  \"requests\": [\n"
    "    {\"id\": \"a\", \"pickup\": {\"location\": 11, \"window\": [100, 200], \"stop_id\": "
    "1001},\n"
    "     \"dropoff\": {\"location\": \"far\", \"stop_id\": \"a-off\"}, \"load\": [1, 1],\n"
    "     \"max_ride\": {\"alpha\": 2, \"beta\": 10}, \"unserved_penalty\": 99},\n"
    "    {\"id\": \"b\", \"dropoff\": {\"location\": 11}, \"onboard_vehicle\": 7,\n"
    "     \"pickup_done_at\": \"08:00\", \"max_ride\": {\"beta\": 60}}\n"
    "  ]\n"
    "}\n";

static void test_json_features(void **state)
{
    const char *path = write_tmp_str("features.json", features_json);
    io_instance *in = read_ok(path, NULL);
    const slv_instance *s = in->inst;
    const slv_request *a, *b;
    const slv_vehicle *v7, *spare;

    (void)state;
    assert_string_equal(in->name, "features");
    assert_int_equal(in->n_locs, 3);
    /* coordinates: distance Euclidean, time = distance / speed */
    assert_true(fabs(slv_instance_dist(s, 0, 1) - 500) < 1e-9);
    assert_true(fabs(slv_instance_time(s, 0, 1) - 50) < 1e-9);
    assert_int_equal(io_find_stop(in, "1001"), SLV_PICKUP(0));
    assert_int_equal(in->stop_id[SLV_PICKUP(0)].numeric, 1);
    assert_int_equal(io_find_stop(in, "a-off"), SLV_DROP(0));
    assert_int_equal(io_find_stop(in, "b:dropoff"), SLV_DROP(1));
    assert_int_equal(io_find_stop(in, "b:pickup"), SLV_PICKUP(1));
    a = slv_instance_request(s, 0);
    assert_int_equal(a->load[0], 1);
    assert_int_equal(a->load[1], 1);
    assert_true(a->pickup_open == 100 && a->pickup_close == 200);
    assert_true(fabs(a->max_ride - (2 * 450 + 10)) < 1e-9);
    assert_true(a->unserved_penalty == 99);
    assert_true(a->pickup_service == 0);
    b = slv_instance_request(s, 1);
    assert_int_equal(b->onboard_vehicle, io_find_vehicle(in, "7"));
    assert_true(b->pickup_done_at == 8 * 3600);
    assert_int_equal(b->load[0], 1);                   /* default: one seat */
    assert_true(fabs(b->max_ride - (50 + 60)) < 1e-9); /* from the vehicle's start */
    v7 = slv_instance_vehicle(s, io_find_vehicle(in, "7"));
    assert_int_equal(v7->end_loc, 2);
    assert_int_equal(v7->n_fixed, 1);
    assert_int_equal(v7->fixed[0], SLV_DROP(1));
    assert_true(v7->fixed_cost == 5);
    assert_true(v7->max_duration >= SLV_INF);
    spare = slv_instance_vehicle(s, io_find_vehicle(in, "spare"));
    assert_int_equal(spare->n_configs, 2);
    assert_int_equal(spare->capacity[1][0], 2);
    assert_int_equal(spare->capacity[1][1], 1);
    assert_true(spare->shift_start == 0 && spare->shift_end == 10.5 * 3600);
    assert_true(spare->max_duration == 3600);
    assert_int_equal(slv_instance_objective(s)->vehicles_first, 1);
    assert_true(slv_instance_objective(s)->per_distance == 0.5);
    io_instance_destroy(in);
}

/* ---------------------------------------------------------------------- */
/* malformed instances                                                    */

static const char *tiny_cordeau = "1 2 480 3 30\n"
                                  "0 0.0 0.0 0 0 0 480\n"
                                  "1 1.0 0.0 3 1 0 1440\n"
                                  "2 2.0 0.0 3 1 0 1440\n"
                                  "3 1.0 1.0 3 -1 0 1440\n"
                                  "4 2.0 1.0 3 -1 0 1440\n"
                                  "5 0.0 0.0 0 0 0 480\n";

static const char *tiny_lilim = "2\t10\t1\r\n"
                                "0\t0\t0\t0\t0\t100\t0\t0\t0\r\n"
                                "1\t1\t0\t5\t0\t100\t1\t0\t2\r\n"
                                "2\t2\t0\t-5\t0\t100\t1\t1\t0\r\n";

static const char *tiny_json =
    "{\"locations\": [\"depot\", \"a\", \"b\"],\n"
    " \"matrix\": {\"time\": [[0, 5, 6], [5, 0, 3], [6, 3, 0]]},\n"
    " \"vehicles\": [{\"id\": \"v\", \"start\": \"depot\", \"capacity\": 2}],\n"
    " \"requests\": [{\"id\": \"r\", \"pickup\": {\"location\": \"a\"},\n"
    "               \"dropoff\": {\"location\": \"b\"}}]}\n";

typedef struct bad_case {
    const char *file;   /* name in the temp folder */
    const char *format; /* NULL: guess */
    const char *content;
    const char *expect; /* must appear in the message, after the file name */
} bad_case;

static const bad_case bad_instances[] = {
    /* Cordeau */
    {"empty.txt", NULL, "", ":1: empty file"},
    {"blank.txt", NULL, "\n\n  \n", ":1: empty file"},
    {"garbage.txt", NULL, "hello world\n", ":1: header"},
    {"binary.txt", NULL, "1 2 3\n\0\0\0", ":2: NUL byte"},
    {"truncated.txt", NULL, "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 1 0 1440\n",
     ":1: header field 2 is 2"},
    {"negative.txt", NULL, "-1 2 480 3 30\n", ":1: header field 1"},
    {"huge.txt", NULL, "1 99999999999999 480 3 30\n0 0 0 0 0 0 480\n", ":1: header field 2"},
    {"hugeveh.txt", NULL, "99999999999 1 480 3 30\n", ":1: header field 1"},
    {"nan.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 nan 0.0 3 1 0 1440\n2 2.0 0.0 3 1 0 1440\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":3: node 1: x \"nan\" is not a number"},
    {"inf.txt", NULL,
     "1 2 inf 3 30\n0 0.0 0.0 0 0 0 480\n1 1 0.0 3 1 0 1440\n2 2.0 0.0 3 1 0 1440\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":1: header field 3"},
    {"extra.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 1 0 1440\n2 2.0 0.0 3 1 0 1440 9\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":4: node line: expected 7 fields"},
    {"missing.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 1 0 1440\n2 2.0 0.0 3 1 0\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":4: node line: expected 7 fields"},
    {"badid.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 1 0 1440\n7 2.0 0.0 3 1 0 1440\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":4: node id \"7\": expected 2"},
    {"mismatch.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 1 0 1440\n2 2.0 0.0 3 2 0 1440\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":6: drop-off node 4 has load -1, but its pickup node 2 has 2"},
    {"window.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 1 50 40\n2 2.0 0.0 3 1 0 1440\n"
     "3 1.0 1.0 3 -1 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":3: node 1: time window"},
    {"overcap.txt", NULL,
     "1 2 480 3 30\n0 0.0 0.0 0 0 0 480\n1 1.0 0.0 3 4 0 1440\n2 2.0 0.0 3 1 0 1440\n"
     "3 1.0 1.0 3 -4 0 1440\n4 2.0 1.0 3 -1 0 1440\n5 0.0 0.0 0 0 0 480\n",
     ":3: pickup node 1: load 4 outside"},
    {"oddpr.txt", "cordeau",
     "1 3 480 6 90\n0 0 0 0 0 0 1440\n1 1 0 10 1 0 1440\n"
     "2 1 1 10 -1 0 1440\n3 2 2 10 1 0 1440\n",
     ":1: header field 2 is 3"},
    /* Li & Lim */
    {"ll_header.txt", "lilim", "2\t10\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n", ":1: header"},
    {"ll_short.txt", NULL, "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n", ":2: expected a depot"},
    {"ll_pair.txt", NULL,
     "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n1\t1\t0\t5\t0\t100\t1\t0\t2\r\n"
     "2\t2\t0\t-5\t0\t100\t1\t3\t0\r\n3\t2\t0\t-5\t0\t100\t1\t1\t0\r\n",
     ":3: pickup node 1 names delivery 2, but node 2 names pickup 3"},
    {"ll_demand.txt", NULL,
     "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n1\t1\t0\t5\t0\t100\t1\t0\t2\r\n"
     "2\t2\t0\t-4\t0\t100\t1\t1\t0\r\n",
     ":3: pickup node 1 has demand 5, its delivery 2 has -4"},
    {"ll_range.txt", NULL,
     "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n1\t1\t0\t5\t0\t100\t1\t0\t9\r\n"
     "2\t2\t0\t-5\t0\t100\t1\t1\t0\r\n",
     ":3: node 1: pickup/delivery columns"},
    {"ll_neither.txt", NULL,
     "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n1\t1\t0\t5\t0\t100\t1\t0\t2\r\n"
     "2\t2\t0\t-5\t0\t100\t1\t1\t0\r\n3\t2\t0\t0\t0\t100\t1\t0\t0\r\n",
     ":5: node 3 must name either"},
    {"ll_text.txt", NULL,
     "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n1\tone\t0\t5\t0\t100\t1\t0\t2\r\n"
     "2\t2\t0\t-5\t0\t100\t1\t1\t0\r\n",
     ":3: node 1: x \"one\""},
    {"ll_fields.txt", NULL,
     "2\t10\t1\r\n0\t0\t0\t0\t0\t100\t0\t0\t0\r\n1\t1\t0\t5\t0\t100\t1\t0\r\n"
     "2\t2\t0\t-5\t0\t100\t1\t1\t0\r\n",
     ":3: node line: expected 9 fields"},
    /* JSON */
    {"syntax.json", NULL, "{\"locations\": [\"a\",\n  \"b\" \"c\"]}\n", ":2:9:"},
    {"truncated.json", NULL, "{\"locations\": [\"a\",\n", ":2:"},
    {"nan.json", NULL, "{\"locations\": [NaN]}\n", ":1:"},
    {"dupkey.json", NULL, "{\"name\": \"x\",\n \"name\": \"y\"}\n", ":2:"},
    {"array.json", NULL, "[1, 2]\n", "must be a JSON object"},
    {"unknown.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}],\n"
     " \"requests\": [{\"id\": \"r\", \"pickup\": {\"location\": \"d\", \"windw\": [1, 2]},\n"
     " \"dropoff\": {\"location\": \"d\"}}]}\n",
     "requests[0] \"r\".pickup: unknown field \"windw\""},
    {"noloc.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}],\n"
     " \"requests\": [{\"id\": \"r\", \"pickup\": {\"location\": \"home\"},\n"
     " \"dropoff\": {\"location\": \"d\"}}]}\n",
     "requests[0] \"r\".pickup.location: unknown location \"home\""},
    {"badwin.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}],\n"
     " \"requests\": [{\"id\": \"r\", \"pickup\": {\"location\": \"d\", \"window\": [\"10:00\", "
     "\"09:00\"]},\n \"dropoff\": {\"location\": \"d\"}}]}\n",
     "requests[0] \"r\".pickup.window: the window closes"},
    {"badclock.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1, \"shift\": [\"8h\", null]}],\n"
     " \"requests\": []}\n",
     "vehicles[0] \"1\".shift[0]: \"8h\" is not a time of day"},
    {"dupreq.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}],\n"
     " \"requests\": [{\"id\": \"r\", \"pickup\": {\"location\": \"d\"}, \"dropoff\": "
     "{\"location\": \"d\"}},\n {\"id\": \"r\", \"pickup\": {\"location\": \"d\"}, \"dropoff\": "
     "{\"location\": \"d\"}}]}\n",
     "requests[1]: id \"r\" is already used by requests[0]"},
    {"matrix.json", NULL,
     "{\"locations\": [\"d\", \"e\"], \"matrix\": {\"time\": [[0, 1], [1]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}], \"requests\": []}\n",
     "matrix.time[1]: expected an array of 2 numbers"},
    {"negmatrix.json", NULL,
     "{\"locations\": [\"d\", \"e\"], \"matrix\": {\"time\": [[0, 1], [-1, 0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}], \"requests\": []}\n",
     "matrix.time[1][0]"},
    {"dim.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": {\"seat\": 1}}],\n"
     " \"requests\": []}\n",
     "vehicles[0] \"1\".capacity: \"seat\" is not a load dimension"},
    {"onboard.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}],\n"
     " \"requests\": [{\"id\": \"r\", \"onboard_vehicle\": 2, \"pickup_done_at\": 0,\n"
     "   \"dropoff\": {\"location\": \"d\"}}]}\n",
     "requests[0] \"r\".onboard_vehicle: unknown vehicle \"2\""},
    {"nocoords.json", NULL,
     "{\"locations\": [\"d\"], \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1}],\n"
     " \"requests\": []}\n",
     "no travel times"},
    {"fixed.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1,\n"
     "   \"fixed\": [{\"request\": \"x\", \"stop\": \"pickup\"}]}], \"requests\": []}\n",
     "vehicles[0] \"1\".fixed[0]: unknown request \"x\""},
    {"toplevel.json", NULL, "{\"locations\": [\"d\"], \"vehicle\": []}\n",
     "top level: unknown field \"vehicle\""},
    {"overload.json", NULL,
     "{\"locations\": [\"d\"], \"matrix\": {\"time\": [[0]]},\n"
     " \"vehicles\": [{\"id\": 1, \"start\": \"d\", \"capacity\": 1, \"shift\": [10, 20]}],\n"
     " \"requests\": [{\"id\": \"r\", \"onboard_vehicle\": 1, \"pickup_done_at\": 0, \"load\": 2,\n"
     "   \"dropoff\": {\"location\": \"d\"}}]}\n",
     "instance rejected"},
};

static void test_bad_instances(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(bad_instances) / sizeof(bad_instances[0]); k++) {
        const bad_case *c = &bad_instances[k];
        size_t len = strlen(c->content);
        const char *path;
        io_instance *in = (io_instance *)&in; /* must be reset to NULL */
        char err[1024] = "";
        int rc;

        if (strcmp(c->file, "binary.txt") == 0)
            len = 9;
        path = write_tmp(c->file, c->content, len);
        rc = io_read_instance(path, c->format, &in, err, sizeof(err));
        if (rc >= 0)
            fail_msg("%s: accepted", c->file);
        assert_null(in);
        if (strstr(err, path) == NULL || strstr(err, c->expect) == NULL)
            fail_msg("%s: message \"%s\" lacks the file name or \"%s\"", c->file, err, c->expect);
    }
}

static void test_tiny_instances_ok(void **state)
{
    io_instance *in;

    (void)state;
    in = read_ok(write_tmp_str("tiny.txt", tiny_cordeau), NULL);
    assert_int_equal(in->n_requests, 2);
    assert_int_equal(in->layout, 2006);
    io_instance_destroy(in);
    in = read_ok(write_tmp_str("tiny_ll.txt", tiny_lilim), NULL);
    assert_int_equal(in->n_requests, 1);
    assert_int_equal(in->format, IO_FORMAT_LILIM);
    io_instance_destroy(in);
    in = read_ok(write_tmp_str("tiny.json", tiny_json), NULL);
    assert_int_equal(in->n_requests, 1);
    assert_int_equal(in->clock_times, 0);
    io_instance_destroy(in);
    /* JSON content in a file without the .json name */
    in = read_ok(write_tmp_str("tiny_json.dat", tiny_json), NULL);
    assert_int_equal(in->format, IO_FORMAT_JSON);
    io_instance_destroy(in);
}

static void test_missing_and_wrong_format(void **state)
{
    char err[1024] = "", path[1200];
    io_instance *in = NULL;

    (void)state;
    assert_int_equal(io_read_instance("/nonexistent/x.txt", NULL, &in, err, sizeof(err)), IO_EOPEN);
    assert_non_null(strstr(err, "/nonexistent/x.txt"));
    assert_int_equal(io_read_instance("x.txt", "xml", &in, err, sizeof(err)), IO_EINVAL);
    bench_path(path, sizeof(path), "pdptw/li_lim_100/lc101.txt");
    assert_true(io_read_instance(path, "cordeau", &in, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, ":1: header"));
    bench_path(path, sizeof(path), "darp/cordeau2006/a2-16.txt");
    assert_true(io_read_instance(path, "lilim", &in, err, sizeof(err)) < 0);
    assert_true(io_read_instance(path, "json", &in, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, ":1:"));
    assert_null(in);
}

/*
 * Every prefix of real files (in steps) and single-byte corruptions: each
 * read either succeeds or fails with a message naming the file; never a
 * crash (run under the sanitizers to make that strict).
 */
static void sweep(const char *src, const char *name, size_t step)
{
    size_t len;
    char *buf = slurp(src, &len), err[1024];
    static const char junk[] = {'x', '-', '9', '\n', ' ', '.', '{', '"', 'e'};

    for (size_t cut = 0; cut < len; cut += step) {
        const char *path = write_tmp(name, buf, cut);
        io_instance *in = NULL;
        err[0] = '\0';
        if (io_read_instance(path, NULL, &in, err, sizeof(err)) < 0)
            assert_non_null(strstr(err, path));
        io_instance_destroy(in);
    }
    for (size_t k = 0; k < 60; k++) {
        size_t pos = (k * 7919) % len;
        char old = buf[pos];
        const char *path;
        io_instance *in = NULL;
        buf[pos] = junk[k % sizeof(junk)];
        path = write_tmp(name, buf, len);
        err[0] = '\0';
        if (io_read_instance(path, NULL, &in, err, sizeof(err)) < 0)
            assert_non_null(strstr(err, path));
        io_instance_destroy(in);
        buf[pos] = old;
    }
    free(buf);
}

static void test_truncation_sweep(void **state)
{
    char path[1200];

    (void)state;
    bench_path(path, sizeof(path), "darp/cordeau2006/a2-16.txt");
    sweep(path, "sweep_a.txt", 23);
    bench_path(path, sizeof(path), "darp/cordeau_laporte2003/pr01.txt");
    sweep(path, "sweep_pr.txt", 97);
    bench_path(path, sizeof(path), "pdptw/li_lim_100/lc101.txt");
    sweep(path, "sweep_ll.txt", 61);
    sweep("examples/small-town.json", "sweep.json", 41);
}

/* ---------------------------------------------------------------------- */
/* solutions                                                              */

static const bad_case bad_solutions[] = {
    {"s_unknown.json", NULL, "{\"routes\": [[1, 3, 99, 4]]}",
     "routes[0]: \"99\" is not the node id"},
    {"s_depot.json", NULL, "{\"routes\": [[0, 1, 3]]}", "routes[0]: \"0\" is not the node id"},
    {"s_twice.json", NULL, "{\"routes\": [[1, 3, 1]]}", "routes[0]: node 1 appears twice"},
    {"s_toomany.json", NULL, "{\"routes\": [[1, 3], [2, 4]]}",
     "routes[1]: more routes than the instance's 1 vehicle"},
    {"s_nopickup.json", NULL, "{\"routes\": [[3, 1, 4]]}",
     "routes[0]: drop-off 4 of request 2 without its pickup 2"},
    {"s_nodrop.json", NULL, "{\"routes\": [[1, 2, 3]]}",
     "routes[0]: pickup 2 of request 2 without its drop-off 4"},
    {"s_float.json", NULL, "{\"routes\": [[1.5]]}", "routes[0][0]: not a node id"},
    {"s_shape.json", NULL, "{\"route\": []}", "expected an object with a \"routes\" array"},
    {"s_syntax.json", NULL, "{\"routes\": [[1, 3],\n [2 4]]}", ":2:"},
    {"s_vids.json", NULL, "{\"routes\": [[1, 3]], \"vehicle_ids\": [5]}",
     "vehicle_ids[0]: the instance has no vehicle \"5\""},
    {"s_garbage.txt", NULL, "this is not a solution\n", "no JSON object and no"},
    {"s_text.txt", NULL, "Solution\nRoute 1 : 1 3 2 4\nRoute 2 : 5\n", ":3: more routes"},
    {"s_textid.txt", NULL, "Solution\nRoute 1 : 1 x 3\n", ":2: \"x\" is not a node id"},
    {"s_textjunk.txt", NULL, "Solution\nRoute 1 : 1 3\nthe end\n", ":3: expected a route line"},
};

static void test_bad_solutions(void **state)
{
    io_instance *in;

    (void)state;
    in = read_ok(write_tmp_str("tiny.txt", tiny_cordeau), NULL);
    for (size_t k = 0; k < sizeof(bad_solutions) / sizeof(bad_solutions[0]); k++) {
        const bad_case *c = &bad_solutions[k];
        const char *path = write_tmp_str(c->file, c->content);
        slv_solution *sol = (slv_solution *)&sol;
        char err[1024] = "";
        int rc = io_read_solution(in, path, &sol, NULL, err, sizeof(err));
        if (rc >= 0)
            fail_msg("%s: accepted", c->file);
        assert_null(sol);
        if (strstr(err, path) == NULL || strstr(err, c->expect) == NULL)
            fail_msg("%s: message \"%s\" lacks the file name or \"%s\"", c->file, err, c->expect);
    }
    io_instance_destroy(in);
}

static void test_solution_formats(void **state)
{
    io_instance *in;
    slv_solution *sol = NULL;
    char err[1024] = "";
    double claimed;

    (void)state;
    in = read_ok(write_tmp_str("tiny.txt", tiny_cordeau), NULL);
    /* SINTEF text with a header, CRLF, one request left out */
    assert_int_equal(io_read_solution(in,
                                      write_tmp_str("s.txt", "Instance name : tiny\r\n"
                                                             "Solution\r\nRoute 1 : 2 4\r\n"),
                                      &sol, &claimed, err, sizeof(err)),
                     0);
    assert_true(isnan(claimed));
    assert_int_equal(sol->route_len[0], 2);
    assert_int_equal(sol->route[0][0], SLV_PICKUP(1));
    assert_int_equal(sol->route[0][1], SLV_DROP(1));
    assert_int_equal(sol->n_unassigned, 1);
    assert_int_equal(sol->unassigned[0], 0);
    slv_solution_destroy(sol);
    /* bks JSON with ids as strings, an empty route list */
    assert_int_equal(io_read_solution(in,
                                      write_tmp_str("s.json", "{\"obj\": 12.5, \"routes\": "
                                                              "[[\"1\", 2, 3, \"4\"]]}"),
                                      &sol, &claimed, err, sizeof(err)),
                     0);
    assert_true(claimed == 12.5);
    assert_int_equal(sol->route_len[0], 4);
    assert_int_equal(sol->n_unassigned, 0);
    slv_solution_destroy(sol);
    assert_int_equal(io_read_solution(in, write_tmp_str("s0.json", "{\"routes\": []}"), &sol,
                                      &claimed, err, sizeof(err)),
                     0);
    assert_int_equal(sol->n_unassigned, 2);
    slv_solution_destroy(sol);
    io_instance_destroy(in);
}

static void same_routes(const slv_solution *a, const slv_solution *b)
{
    assert_int_equal(a->n_vehicles, b->n_vehicles);
    for (int v = 0; v < a->n_vehicles; v++) {
        assert_int_equal(a->route_len[v], b->route_len[v]);
        for (int k = 0; k < a->route_len[v]; k++)
            assert_int_equal(a->route[v][k], b->route[v][k]);
    }
    assert_int_equal(a->n_unassigned, b->n_unassigned);
}

static void test_roundtrip_benchmark(void **state)
{
    char ipath[1200], spath[1200], err[1024] = "";
    io_instance *in;
    slv_solution *sol = NULL, *back = NULL;
    double claimed;
    json_t *root;
    json_error_t jerr;
    const char *out = NULL;

    (void)state;
    bench_path(ipath, sizeof(ipath), "darp/cordeau2006/a2-16.txt");
    bench_path(spath, sizeof(spath), "darp/bks_solutions/a2-16.json");
    in = read_ok(ipath, NULL);
    assert_int_equal(io_read_solution(in, spath, &sol, NULL, err, sizeof(err)), 0);
    sol->cost = 1.0 / 3.0; /* every digit must survive */
    sol->distance = 294.24795014249145;
    out = write_tmp_str("rt.json", "");
    assert_int_equal(io_save_solution(in, sol, out, err, sizeof(err)), 0);
    assert_int_equal(io_read_solution(in, out, &back, &claimed, err, sizeof(err)), 0);
    assert_true(claimed == 1.0 / 3.0);
    same_routes(sol, back);
    root = json_load_file(out, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "instance")), "a2-16");
    assert_int_equal(json_integer_value(json_object_get(root, "vehicles")), 2);
    assert_true(json_real_value(json_object_get(root, "distance")) == 294.24795014249145);
    assert_int_equal(json_array_size(json_object_get(root, "routes")), 2);
    assert_int_equal(json_array_size(json_object_get(root, "vehicle_ids")), 2);
    assert_int_equal(json_array_size(json_object_get(root, "unassigned")), 0);
    assert_int_equal(
        json_integer_value(json_array_get(json_array_get(json_object_get(root, "routes"), 0), 0)),
        10);
    json_decref(root);
    slv_solution_destroy(sol);
    slv_solution_destroy(back);
    io_instance_destroy(in);
}

static void test_roundtrip_json_ids(void **state)
{
    io_instance *in = read_ok("examples/small-town.json", NULL);
    slv_solution *sol = NULL, *back = NULL;
    char err[1024] = "";
    const char *out;
    int stops[8];
    json_t *root;
    json_error_t jerr;

    (void)state;
    assert_int_equal(slv_solution_create(&sol, in->inst), 0);
    /* R01..R03 in van-3 (the third vehicle), R04 in van-1, the rest unserved */
    stops[0] = SLV_PICKUP(0);
    stops[1] = SLV_PICKUP(1);
    stops[2] = SLV_DROP(0);
    stops[3] = SLV_DROP(1);
    stops[4] = SLV_PICKUP(2);
    stops[5] = SLV_DROP(2);
    assert_int_equal(slv_solution_set_route(sol, 2, stops, 6), 0);
    stops[0] = SLV_PICKUP(3);
    stops[1] = SLV_DROP(3);
    assert_int_equal(slv_solution_set_route(sol, 0, stops, 2), 0);
    assert_int_equal(slv_solution_fill_unassigned(sol, in->inst), 0);
    out = write_tmp_str("rt_town.json", "");
    assert_int_equal(io_save_solution(in, sol, out, err, sizeof(err)), 0);
    assert_int_equal(io_read_solution(in, out, &back, NULL, err, sizeof(err)), 0);
    same_routes(sol, back);
    root = json_load_file(out, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_array_get(json_object_get(root, "vehicle_ids"), 1)),
                        "van-3");
    assert_string_equal(
        json_string_value(json_array_get(json_array_get(json_object_get(root, "routes"), 0), 0)),
        "R04:pickup");
    assert_int_equal(json_array_size(json_object_get(root, "unassigned")), 8);
    assert_string_equal(json_string_value(json_array_get(json_object_get(root, "unassigned"), 0)),
                        "R05");
    json_decref(root);
    slv_solution_destroy(sol);
    slv_solution_destroy(back);
    io_instance_destroy(in);
}

static void test_onboard_solution(void **state)
{
    const char *ipath = write_tmp_str("features.json", features_json);
    io_instance *in = read_ok(ipath, NULL);
    slv_solution *sol = NULL;
    char err[1024] = "";

    (void)state;
    /* the rider of "b" is on board vehicle 7: only the drop-off may appear */
    assert_int_equal(io_read_solution(in,
                                      write_tmp_str("ob.json", "{\"routes\": [[\"b:dropoff\", "
                                                               "1001, \"a-off\"]]}"),
                                      &sol, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(sol->route_len[0], 3);
    slv_solution_destroy(sol);
    sol = NULL;
    assert_int_equal(io_read_solution(in,
                                      write_tmp_str("ob2.json", "{\"routes\": [[\"b:pickup\", "
                                                                "\"b:dropoff\"]]}"),
                                      &sol, NULL, err, sizeof(err)),
                     IO_EMATCH);
    assert_non_null(strstr(err, "already on board"));
    io_instance_destroy(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cordeau_2006_a2_16), cmocka_unit_test(test_cordeau_2003_pr01),
        cmocka_unit_test(test_cordeau_all_files),  cmocka_unit_test(test_lilim_lc101),
        cmocka_unit_test(test_lilim_all_files),    cmocka_unit_test(test_darp_bks),
        cmocka_unit_test(test_pdptw_bks),          cmocka_unit_test(test_json_example),
        cmocka_unit_test(test_json_features),      cmocka_unit_test(test_tiny_instances_ok),
        cmocka_unit_test(test_bad_instances),      cmocka_unit_test(test_missing_and_wrong_format),
        cmocka_unit_test(test_truncation_sweep),   cmocka_unit_test(test_bad_solutions),
        cmocka_unit_test(test_solution_formats),   cmocka_unit_test(test_roundtrip_benchmark),
        cmocka_unit_test(test_roundtrip_json_ids), cmocka_unit_test(test_onboard_solution),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
