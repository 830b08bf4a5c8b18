/*
 * test_report.c - KPIs and output files (simulator/report.c), and the
 * independent audit the end-to-end tests use (tests/simulator/audit.h).
 *
 * A hand-made day (two vans, seven requests of every outcome, ten stop
 * records given out of order) has KPIs worked out by hand in the comments
 * below; the files written for it must exist, parse, carry the required
 * columns and values, and report.html must be self-contained.  The audit
 * must pass that day (except the promise the day breaks on purpose) and
 * find exactly the violations planted in hand-written CSVs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audit.h"
#include "simulator/sim.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmp_dir[256];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "report");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The hand-made day                                                        */

/*
 * Stops A (0), B (1) and the depot D (2); drives D-A 300 s, A-B 600 s,
 * D-B 300 s.  Van v1 (configs 4+0 and 2+1) serves r1 and r2, van v2 (4+0)
 * serves r3 and ends at a free point.
 *
 *   r1 ASAP requested 28800, pickup 29400 (wait 600), drop 30600 (ride
 *      1200, direct 600: detour 2), promise [29000, 29600] kept, by 31000 kept
 *   r2 depart after 32400, pickup 32700 (wait 300), drop 33600 (ride 900,
 *      direct 900: detour 1), kept, by 34000 kept; one wheelchair
 *   r3 arrive by 36000, promise [34000, 34600], pickup 34700 (wait 700,
 *      NOT kept), drop 35500 (ride 800, direct 400: detour 2), by 35400 NOT kept
 *   r4 rejected, r5 cancelled, r6 no_show, r7 expired
 *
 * waits 300, 600, 700: mean 533.33, p50 600, p95 700, max 700
 * offers 1, 3, 5, 2, 4, 0.5 ms (r7 none): p50 2, p99 5
 * km: v1 0 + 2 + 4 + 4 + 4 + 1, v2 0 + 3 + 4 + 2 = 24 km; empty 2+4+1+3+2 = 12
 * passenger-km: 2 x 4 + 1 x 4 (v1) + 1 x 4 (v2) = 16: occupancy 0.6667
 * hours: v1 29000-34000, v2 34000-36000 = 7000 s; 4 riders / 1.9444 h
 */
typedef struct day {
    area a;
    area_stop stops[3];
    area_poi poi;
    sim_scenario *scn;
    sim_request req[7];
    sim_trip trips[7];
    sim_stop_rec recs[10];
    int first[2], last[2];
    sim_result r;
} day;

static void set_trip(sim_trip *t, const sim_request *q, const char *status, int from, int to,
                     int latest, int pickup, int drop, int direct, int vehicle, double offer_ms)
{
    memset(t, 0, sizeof(*t));
    t->req = q;
    snprintf(t->status, sizeof(t->status), "%s", status);
    t->promise_from_s = from;
    t->promise_to_s = to;
    t->latest_dropoff_s = latest;
    t->pickup_s = pickup;
    t->dropoff_s = drop;
    t->direct_s = direct;
    t->vehicle = vehicle;
    t->offer_ms = offer_ms;
}

static void set_rec(sim_stop_rec *s, int vehicle, int seq, int stop, int arr, int dep,
                    const char *boarded, const char *alighted, int seats, int wc, int drive_m,
                    int empty, const char *kind)
{
    memset(s, 0, sizeof(*s));
    s->vehicle = vehicle;
    s->seq = seq;
    s->stop = stop;
    s->lat = stop >= 0 ? 35.0 + 0.01 * stop : 35.1;
    s->lon = stop >= 0 ? 137.0 : 137.2;
    s->arrival_s = arr;
    s->departure_s = dep;
    s->boarded = strdup(boarded);
    s->alighted = strdup(alighted);
    s->seats_used = seats;
    s->wheelchairs_used = wc;
    s->drive_m = drive_m;
    s->drive_s = drive_m / 10;
    s->empty_drive = empty;
    snprintf(s->kind, sizeof(s->kind), "%s", kind);
}

static void make_day(day *d)
{
    static const char *ids[3] = {"A", "B", "D"};
    static const char *rid[7] = {"r1", "r2", "r3", "r4", "r5", "r6", "r7"};
    sim_scenario *s;

    memset(d, 0, sizeof(*d));
    for (int i = 0; i < 3; i++) {
        d->stops[i].id = (char *)ids[i];
        d->stops[i].name = (char *)(i == 0 ? "駅前" : i == 1 ? "病院" : "車庫");
        d->stops[i].lat = 35.0 + 0.01 * i;
        d->stops[i].lon = 137.0;
        snprintf(d->stops[i].kind, sizeof(d->stops[i].kind), "%s", i == 2 ? "depot" : "stop");
    }
    d->poi.name = (char *)"テスト病院 <main>";
    d->poi.name_en = (char *)"Test Hospital";
    snprintf(d->poi.kind, sizeof(d->poi.kind), "hospital");
    d->poi.lat = 35.01;
    d->poi.lon = 137.0;
    d->poi.stop = 1;
    d->poi.weight = 1;
    d->a.name = (char *)"テスト町 (Test Town)";
    d->a.attribution = (char *)"synthetic";
    d->a.n_stops = 3;
    d->a.stops = d->stops;
    d->a.n_pois = 1;
    d->a.pois = &d->poi;

    s = malloc(sizeof(*s));
    assert_non_null(s);
    sim_scenario_defaults(s);
    s->name = strdup("hand-made day");
    s->n_vehicles = 2;
    s->vehicles = calloc(2, sizeof(*s->vehicles));
    s->vehicles[0].id = strdup("v1");
    s->vehicles[0].n_configs = 2;
    s->vehicles[0].seats[0] = 4;
    s->vehicles[0].seats[1] = 2;
    s->vehicles[0].wheelchairs[1] = 1;
    s->vehicles[0].depot_stop = 2;
    s->vehicles[1].id = strdup("v2");
    s->vehicles[1].n_configs = 1;
    s->vehicles[1].seats[0] = 4;
    s->vehicles[1].depot_stop = 2;
    d->scn = s;

    for (int i = 0; i < 7; i++) {
        sim_request *q = &d->req[i];
        q->id = (char *)rid[i];
        q->request_s = 28800 + 600 * i;
        q->desired_s = q->request_s;
        q->passengers = 1;
        q->pickup.stop = 0;
        q->drop.stop = 1;
        q->pickup.lat = 35.0;
        q->drop.lat = 35.01;
        q->pickup.lon = q->drop.lon = 137.0;
    }
    d->req[0].passengers = 2;
    d->req[1].when = SIM_DEPART_AFTER;
    d->req[1].desired_s = 32400;
    d->req[1].wheelchairs = 1;
    d->req[2].when = SIM_ARRIVE_BY;
    d->req[2].desired_s = 36000;
    d->req[2].pickup.stop = 1;
    d->req[2].drop.stop = 0;

    set_trip(&d->trips[0], &d->req[0], "dropped_off", 29000, 29600, 31000, 29400, 30600, 600, 0,
             1.0);
    set_trip(&d->trips[1], &d->req[1], "dropped_off", 32400, 33000, 34000, 32700, 33600, 900, 0,
             3.0);
    set_trip(&d->trips[2], &d->req[2], "dropped_off", 34000, 34600, 35400, 34700, 35500, 400, 1,
             5.0);
    set_trip(&d->trips[3], &d->req[3], "rejected", -1, -1, -1, -1, -1, 600, -1, 2.0);
    snprintf(d->trips[3].reason, sizeof(d->trips[3].reason), "capacity, no van free");
    set_trip(&d->trips[4], &d->req[4], "cancelled", 36000, 36600, 38000, -1, -1, 600, -1, 4.0);
    set_trip(&d->trips[5], &d->req[5], "no_show", 37000, 37600, 39000, -1, -1, 600, 1, 0.5);
    set_trip(&d->trips[6], &d->req[6], "expired", -1, -1, -1, -1, -1, 600, -1, -1);

    /* out of order on purpose: v2's records first */
    set_rec(&d->recs[0], 1, 0, 2, 34000, 34000, "", "", 0, 0, 0, 1, "depot");
    set_rec(&d->recs[1], 1, 1, 1, 34700, 34760, "r3", "", 1, 0, 3000, 1, "stop");
    set_rec(&d->recs[2], 1, 3, -1, 36000, 36000, "", "", 0, 0, 2000, 1, "depot");
    set_rec(&d->recs[3], 1, 2, 0, 35500, 35530, "", "r3", 0, 0, 4000, 0, "stop");
    set_rec(&d->recs[4], 0, 0, 2, 29000, 29000, "", "", 0, 0, 0, 1, "depot");
    set_rec(&d->recs[5], 0, 1, 0, 29400, 29460, "r1", "", 2, 0, 2000, 1, "stop");
    set_rec(&d->recs[6], 0, 2, 1, 30600, 30630, "", "r1", 0, 0, 4000, 0, "stop");
    set_rec(&d->recs[7], 0, 3, 0, 32700, 32820, "r2", "", 0, 1, 4000, 1, "stop");
    set_rec(&d->recs[8], 0, 4, 1, 33600, 33630, "", "r2", 0, 0, 4000, 0, "stop");
    set_rec(&d->recs[9], 0, 5, 2, 34000, 34000, "", "", 0, 0, 1000, 1, "depot");

    d->first[0] = 29000;
    d->last[0] = 34000;
    d->first[1] = 34000;
    d->last[1] = 36000;
    d->r.scn = s;
    d->r.area = &d->a;
    d->r.n_trips = 7;
    d->r.trips = d->trips;
    d->r.n_stops = d->r.cap_stops = 10;
    d->r.stops = d->recs;
    d->r.n_vehicles = 2;
    d->r.veh_first_s = d->first;
    d->r.veh_last_s = d->last;
    d->r.wall_s = 0.25;
    d->r.replans = 4;
    d->r.replans_adopted = 3;
}

static void free_day(day *d)
{
    for (int i = 0; i < 10; i++) {
        free(d->recs[i].boarded);
        free(d->recs[i].alighted);
    }
    sim_scenario_destroy(d->scn);
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-3)

static void test_kpis(void **state)
{
    day d;
    sim_kpis k;

    (void)state;
    make_day(&d);
    sim_kpis_compute(&d.r, &k);
    assert_int_equal(k.requests, 7);
    assert_int_equal(k.served, 3);
    assert_int_equal(k.rejected, 1);
    assert_int_equal(k.expired, 1);
    assert_int_equal(k.cancelled, 1);
    assert_int_equal(k.no_show, 1);
    NEAR(k.wait_mean_s, 1600.0 / 3);
    NEAR(k.wait_p50_s, 600);
    NEAR(k.wait_p95_s, 700);
    NEAR(k.wait_max_s, 700);
    NEAR(k.ride_time_mean_s, 2900.0 / 3);
    NEAR(k.ride_time_p95_s, 1200);
    NEAR(k.detour_factor_mean, 5.0 / 3);
    NEAR(k.promise_kept_share, 2.0 / 3);
    NEAR(k.dropoff_kept_share, 2.0 / 3);
    NEAR(k.vehicle_km, 24);
    NEAR(k.empty_km_share, 0.5);
    NEAR(k.occupancy_mean, 16.0 / 24);
    NEAR(k.vehicle_hours, 7000.0 / 3600);
    assert_int_equal(k.passengers_served, 4);
    NEAR(k.passengers_per_vehicle_hour, 4 / (7000.0 / 3600));
    assert_int_equal(k.vehicles_used, 2);
    NEAR(k.service_rate, 3.0 / 7);
    NEAR(k.offer_ms_p50, 2);
    NEAR(k.offer_ms_p99, 5);
    NEAR(k.wall_s, 0.25);
    free_day(&d);

    /* an empty day: zeros, and nothing undefined */
    {
        sim_result r;
        memset(&r, 0, sizeof(r));
        sim_kpis_compute(&r, &k);
        assert_int_equal(k.requests, 0);
        NEAR(k.wait_mean_s, 0);
        NEAR(k.promise_kept_share, 1);
        NEAR(k.occupancy_mean, 0);
        NEAR(k.passengers_per_vehicle_hour, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf != NULL)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *text)
{
    int n = 0;

    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* The header (first line) has every name in the comma-separated list. */
static void expect_columns(const char *text, const char *names)
{
    char header[2048], want[1024], *save = NULL;
    size_t n = strcspn(text, "\n");

    assert_true(n < sizeof(header));
    memcpy(header, text, n);
    header[n] = '\0';
    snprintf(want, sizeof(want), "%s", names);
    for (char *w = strtok_r(want, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        char fields[2048], *s2 = NULL;
        int found = 0;
        snprintf(fields, sizeof(fields), "%s", header);
        for (char *f = strtok_r(fields, ",", &s2); f != NULL; f = strtok_r(NULL, ",", &s2))
            found |= strcmp(f, w) == 0;
        if (!found)
            fail_msg("column %s missing from header \"%s\"", w, header);
    }
}

static void out_path(char *buf, size_t len, const char *sub, const char *name)
{
    snprintf(buf, len, "%s/%s/%s", tmp_dir, sub, name);
}

static void test_files(void **state)
{
    day d;
    char p[600], err[512];
    char *text;
    json_t *k;
    json_error_t jerr;

    (void)state;
    make_day(&d);
    snprintf(p, sizeof(p), "%s/out/day1", tmp_dir);
    assert_int_equal(sim_report_write(&d.r, p, err, sizeof(err)), 0);

    out_path(p, sizeof(p), "out/day1", "trips.csv");
    text = slurp(p);
    assert_non_null(text);
    expect_columns(text, "request_id,status,requested_s,promise_from_s,promise_to_s,pickup_s,"
                         "dropoff_s,latest_dropoff_s,vehicle_id,passengers,wheelchairs,reason");
    assert_int_equal(count_lines(text), 8);
    {
        const char *first = "request_id,status,requested_s,promise_from_s,promise_to_s,pickup_s,"
                            "dropoff_s,latest_dropoff_s,vehicle_id,passengers,wheelchairs,reason,";
        assert_true(strncmp(text, first, strlen(first)) == 0); /* the order first */
    }
    assert_non_null(strstr(text, "\nr1,dropped_off,28800,29000,29600,29400,30600,31000,v1,2,0,,"));
    assert_non_null(strstr(text, "\nr4,rejected,30600,,,,,,,1,0,\"capacity, no van free\","));
    assert_non_null(strstr(text, "\nr6,no_show,31800,37000,37600,,,39000,v2,1,0,,"));
    free(text);

    out_path(p, sizeof(p), "out/day1", "stops.csv");
    text = slurp(p);
    assert_non_null(text);
    expect_columns(text, "vehicle_id,seq,location,arrival_s,departure_s,boarded,alighted,"
                         "seats_used,wheelchairs_used");
    assert_int_equal(count_lines(text), 11);
    /* per van, in sequence order, whatever order the records came in */
    assert_non_null(strstr(text, "\nv1,0,D,29000,29000,,,0,0,"));
    assert_non_null(strstr(text, "\nv1,1,A,29400,29460,r1,,2,0,"));
    assert_non_null(strstr(text, "\nv1,3,A,32700,32820,r2,,0,1,"));
    assert_non_null(strstr(text, "\nv2,3,\"35.100000,137.200000\",36000,36000,,,0,0,"));
    assert_true(strstr(text, "\nv1,5,") < strstr(text, "\nv2,0,"));
    assert_true(strstr(text, "\nv2,2,") < strstr(text, "\nv2,3,"));
    free(text);

    out_path(p, sizeof(p), "out/day1", "kpis.json");
    k = json_load_file(p, 0, &jerr);
    assert_non_null(k);
    {
        static const char *const names[] = {"requests",
                                            "served",
                                            "rejected",
                                            "cancelled",
                                            "no_show",
                                            "wait_mean_s",
                                            "wait_p95_s",
                                            "ride_time_mean_s",
                                            "detour_factor_mean",
                                            "promise_kept_share",
                                            "vehicle_km",
                                            "vehicle_hours",
                                            "passengers_per_vehicle_hour",
                                            "occupancy_mean",
                                            "empty_km_share",
                                            "offer_ms_p50",
                                            "offer_ms_p99"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!json_is_number(json_object_get(k, names[i])))
                fail_msg("kpis.json: %s missing or not a number", names[i]);
    }
    assert_int_equal(json_integer_value(json_object_get(k, "served")), 3);
    NEAR(json_number_value(json_object_get(k, "vehicle_km")), 24);
    NEAR(json_number_value(json_object_get(k, "promise_kept_share")), 0.6667);
    assert_string_equal(json_string_value(json_object_get(k, "scenario")), "hand-made day");
    json_decref(k);

    out_path(p, sizeof(p), "out/day1", "report.html");
    text = slurp(p);
    assert_non_null(text);
    assert_null(strstr(text, "http://"));
    assert_null(strstr(text, "https://"));
    assert_null(strstr(text, "<script"));
    assert_null(strstr(text, "<link"));
    assert_null(strstr(text, "<img"));
    assert_non_null(strstr(text, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(text, "テスト町 (Test Town)"));
    assert_non_null(strstr(text, "テスト病院 &lt;main&gt; / Test Hospital"));
    assert_true(count_lines(text) > 50);
    {
        int svgs = 0;
        for (const char *q = text; (q = strstr(q, "<svg")) != NULL; q++)
            svgs++;
        assert_int_equal(svgs, 5); /* by hour, wait, ride, occupancy, map */
        assert_non_null(strstr(text, "promise_kept_share"));
        assert_non_null(strstr(text, "</html>"));
    }
    free(text);
    free_day(&d);

    /* an empty day still writes every file */
    {
        sim_result r;
        memset(&r, 0, sizeof(r));
        snprintf(p, sizeof(p), "%s/empty", tmp_dir);
        assert_int_equal(sim_report_write(&r, p, err, sizeof(err)), 0);
        out_path(p, sizeof(p), "empty", "report.html");
        text = slurp(p);
        assert_non_null(text);
        free(text);
        out_path(p, sizeof(p), "empty", "trips.csv");
        text = slurp(p);
        assert_int_equal(count_lines(text), 1);
        free(text);
    }

    /* an output folder that cannot be made */
    {
        sim_result r;
        memset(&r, 0, sizeof(r));
        assert_int_equal(sim_report_write(&r, "/proc/noriai/out", err, sizeof(err)), SIM_EWRITE);
        assert_non_null(strstr(err, "/proc/noriai/out"));
    }
}

static void test_sweep_csv(void **state)
{
    day d;
    sim_kpis k[2];
    double fleet[2] = {3, 4};
    char p[600], err[256], *text;

    (void)state;
    make_day(&d);
    sim_kpis_compute(&d.r, &k[0]);
    k[1] = k[0];
    k[1].served = 5;
    snprintf(p, sizeof(p), "%s/sweep.csv", tmp_dir);
    assert_int_equal(sim_sweep_write_csv(p, "fleet", fleet, k, 2, err, sizeof(err)), 0);
    text = slurp(p);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 3);
    assert_true(strncmp(text, "fleet,requests,served,rejected,", 31) == 0);
    expect_columns(text, "wait_mean_s,wait_p95_s,promise_kept_share,vehicle_km,occupancy_mean,"
                         "offer_ms_p99");
    assert_non_null(strstr(text, "\n3,7,3,1,"));
    assert_non_null(strstr(text, "\n4,7,5,1,"));
    free(text);
    free_day(&d);
}

/* Free points (a crow-fly area without stops), times before midnight and
 * past 48 h, a van with one record: the page is still written, nothing is
 * read out of bounds (the sanitizer build checks). */
static void test_odd_day(void **state)
{
    day d;
    area fly;
    char p[600], err[512], *text;

    (void)state;
    make_day(&d);
    memset(&fly, 0, sizeof(fly));
    fly.name = (char *)"crow-fly";
    fly.model = AREA_CROWFLY;
    d.r.area = &fly;
    for (int i = 0; i < 7; i++) {
        d.req[i].pickup.stop = d.req[i].drop.stop = -1;
        d.req[i].pickup.lat += 0.001 * i;
    }
    d.req[3].request_s = -40000;
    for (int i = 0; i < 10; i++)
        d.recs[i].stop = -1;
    d.recs[2].arrival_s = d.recs[2].departure_s = 200000;
    d.recs[9].arrival_s = -5;
    d.r.n_stops = 9; /* v1 loses its last record */
    d.last[1] = 200000;
    snprintf(p, sizeof(p), "%s/odd", tmp_dir);
    assert_int_equal(sim_report_write(&d.r, p, err, sizeof(err)), 0);
    out_path(p, sizeof(p), "odd", "stops.csv");
    text = slurp(p);
    assert_non_null(strstr(text, "\nv1,0,\"35.020000,137.000000\","));
    free(text);
    out_path(p, sizeof(p), "odd", "report.html");
    text = slurp(p);
    assert_non_null(strstr(text, "pickups</title></rect>")); /* the grid */
    free(text);
    d.r.n_stops = 10;
    free_day(&d);
}

/* ------------------------------------------------------------------------ */
/* The audit                                                                */

/* Drives between A, B and D; free points unknown. */
static int day_travel(void *ud, const char *from, const char *to)
{
    static const char *ids = "ABD";
    static const int t[3][3] = {{0, 600, 300}, {600, 0, 300}, {300, 300, 0}};
    const char *a = strlen(from) == 1 ? strchr(ids, from[0]) : NULL;
    const char *b = strlen(to) == 1 ? strchr(ids, to[0]) : NULL;

    (void)ud;
    if (a == NULL || b == NULL)
        return -1;
    return t[a - ids][b - ids];
}

static const audit_vehicle day_vans[2] = {
    {"v1", 2, {4, 2}, {0, 1}},
    {"v2", 1, {4}, {0}},
};

static FILE *devnull(void)
{
    FILE *f = fopen("/dev/null", "w");

    assert_non_null(f);
    return f;
}

static void test_audit_day(void **state)
{
    day d;
    char p[600], err[512];
    audit_opts o;
    FILE *quiet = devnull();

    (void)state;
    make_day(&d);
    snprintf(p, sizeof(p), "%s/audit-day", tmp_dir);
    assert_int_equal(sim_report_write(&d.r, p, err, sizeof(err)), 0);
    memset(&o, 0, sizeof(o));
    o.vehicles = day_vans;
    o.n_vehicles = 2;
    o.travel = day_travel;
    o.ride_alpha = 1.5;
    o.ride_beta_s = 600;
    o.log = quiet;
    assert_int_equal(audit_day(p, &o), 0);
    o.check_promises = 1; /* r3: picked up late and dropped off late */
    assert_int_equal(audit_day(p, &o), 2);
    o.ride_alpha = 1.0; /* limit = direct (600 s): r1 1200, r2 900, r3 800 all exceed it */
    o.ride_beta_s = 0;
    assert_int_equal(audit_day(p, &o), 5);
    free_day(&d);
    fclose(quiet);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[600];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_audit_finds_violations(void **state)
{
    static const char *trips =
        "request_id,status,requested_s,promise_from_s,promise_to_s,pickup_s,dropoff_s,"
        "latest_dropoff_s,vehicle_id,passengers,wheelchairs,reason\n"
        "p1,dropped_off,0,100,700,400,1100,2000,v1,2,0,\n"
        "p2,dropped_off,0,100,700,400,1100,2000,v1,2,0,\n"
        "p3,dropped_off,0,100,700,400,1100,2000,v1,1,1,\n"
        "p4,dropped_off,0,1000,1600,1700,3000,2500,v2,1,0,\n"
        "p5,no_show,0,1000,1600,,,,v2,1,0,\n";
    /* v1: p1, p2 and p3 board together at A: 4 seated + 1 wheelchair fits
     * neither 4+0 nor 2+1 (1); it then reaches B 300 s after leaving A
     * although the drive takes 600 s (2); it reports 3 seats used where the
     * riders make 4 (3).  v2: p4 boards at B, arrives at A in time, but p4
     * was picked up after its promise (4) and dropped off after its latest
     * time (5) and rides 1300 s > 1.5 x 600 + 0 (6); p5 rides along on v2
     * although it is a no_show (boards, and is left on board: 7, 8).  v3 is
     * not in the fleet (9). */
    static const char *stops = "vehicle_id,seq,location,arrival_s,departure_s,boarded,alighted,"
                               "seats_used,wheelchairs_used\n"
                               "v1,0,D,0,0,,,0,0\n"
                               "v1,1,A,300,400,p1;p2;p3,,3,1\n"
                               "v1,2,B,700,1100,,p1;p2;p3,0,0\n"
                               "v2,0,D,0,1400,,,0,0\n"
                               "v2,1,B,1700,1700,p4;p5,,2,0\n"
                               "v2,2,A,2300,3000,,p4,1,0\n"
                               "v3,0,D,0,0,,,0,0\n";
    char dir[600];
    audit_opts o;
    FILE *quiet = devnull();

    (void)state;
    snprintf(dir, sizeof(dir), "%s/planted", tmp_dir);
    mkdir(dir, 0755);
    write_file(dir, "trips.csv", trips);
    write_file(dir, "stops.csv", stops);
    memset(&o, 0, sizeof(o));
    o.vehicles = day_vans;
    o.n_vehicles = 2;
    o.travel = day_travel;
    o.ride_alpha = 1.5;
    o.check_promises = 1;
    o.log = getenv("SHOW_AUDIT") ? stdout : quiet;
    assert_int_equal(audit_day(dir, &o), 9);

    /* a noise allowance of 50 % excuses the fast drive A -> B (300 >= 600 x 0.5) and
     * lifts the ride limit to 1350 s */
    o.noise_allowance = 0.5;
    assert_int_equal(audit_day(dir, &o), 7);

    /* without capacities, promises and travel only the bookkeeping remains:
     * the wrong seat count (v1), p5 left on board, and the no_show that rode */
    o.vehicles = NULL;
    o.travel = NULL;
    o.check_promises = 0;
    assert_int_equal(audit_day(dir, &o), 3);

    /* missing files and columns count */
    write_file(dir, "stops.csv", "vehicle_id,seq,location\nv1,0,D\n");
    assert_true(audit_day(dir, &o) >= 6);
    snprintf(dir, sizeof(dir), "%s/nothing-here", tmp_dir);
    assert_int_equal(audit_day(dir, &o), 1);
    fclose(quiet);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpis),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_sweep_csv),
        cmocka_unit_test(test_odd_day),
        cmocka_unit_test(test_audit_day),
        cmocka_unit_test(test_audit_finds_violations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
