/*
 * test_scenario.c - scenario files (simulator/scenario.c) and the
 * simulator's random numbers (simulator/rng.c).
 *
 * The bundled examples must load with the values they state; each kind of
 * mistake a planner makes in a scenario (a missing section, a negative
 * fleet, a typo in a key, an unknown area kind, a malformed time, a bad
 * column mapping, ...) must be refused with a message naming the file and
 * the JSON path.  Depot references resolve against a small hand-made area.
 * Fleet copies for sweeps cycle the defined vans with unique ids.  The PRNG
 * is checked for determinism, ranges and rough distribution shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "simulator/sim.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmp_dir[256];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "scenario");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A minimal valid scenario (a small synthetic town, one van, 20 generated
 * trips) with the area, fleet or demand replaced and extra top-level fields. */
static const char *scenario_text(const char *area_json, const char *fleet, const char *demand,
                                 const char *extra)
{
    static char buf[8192];

    snprintf(buf, sizeof(buf), "{\n  \"area\": %s,\n  \"fleet\": %s,\n  \"demand\": %s%s%s\n}\n",
             area_json ? area_json : "{\"synthetic\": {\"seed\": 3, \"size\": \"small\"}}",
             fleet ? fleet : "{\"vehicles\": [{\"id\": \"van\", \"seats\": 8}]}",
             demand ? demand : "{\"generated\": {\"trips\": 20}}", extra ? ",\n  " : "",
             extra ? extra : "");
    return buf;
}

/* Loads text; expects failure with code and every needle in the message. */
static void expect_error(const char *text, int code, const char *needle1, const char *needle2)
{
    const char *path = write_tmp("bad.json", text);
    sim_scenario *s = (sim_scenario *)0x1;
    char err[512] = "";
    int rc = sim_scenario_load(path, &s, err, sizeof(err));

    if (getenv("SHOW_ERRORS") != NULL)
        printf("    %s\n", err);

    if (rc != code || strstr(err, "bad.json") == NULL || strstr(err, needle1) == NULL ||
        (needle2 != NULL && strstr(err, needle2) == NULL))
        fail_msg("rc %d (expected %d), message \"%s\" (expected \"%s\"%s%s)\n--- input:\n%s", rc,
                 code, err, needle1, needle2 ? " and " : "", needle2 ? needle2 : "", text);
    assert_null(s);
}

/* ------------------------------------------------------------------------ */

static void test_demo_town(void **state)
{
    sim_scenario *s;
    char err[512];

    (void)state;
    assert_int_equal(sim_scenario_load("examples/scenarios/demo-town.json", &s, err, sizeof(err)),
                     0);
    assert_int_equal(s->area_kind, SIM_AREA_SYNTH);
    assert_int_equal(s->synth_size, AREA_SYNTH_TOWN);
    assert_int_equal((int)s->synth_seed, 7);
    assert_int_equal(s->n_vehicles, 5);
    assert_string_equal(s->vehicles[0].id, "van1");
    assert_string_equal(s->vehicles[4].id, "van5");
    for (int i = 0; i < 5; i++) {
        const sim_vehicle_def *v = &s->vehicles[i];
        assert_int_equal(v->n_configs, 2);
        assert_int_equal(v->seats[0], 8);
        assert_int_equal(v->wheelchairs[0], 0);
        assert_int_equal(v->seats[1], 6);
        assert_int_equal(v->wheelchairs[1], 1);
        assert_int_equal(v->shift_start_s, 7 * 3600);
        assert_int_equal(v->shift_end_s, 19 * 3600);
        assert_int_equal(v->n_breaks, 1);
        assert_int_equal(v->breaks[0].earliest_s, 11 * 3600 + 1800);
        assert_int_equal(v->breaks[0].latest_s, 13 * 3600 + 1800);
        assert_int_equal(v->breaks[0].duration_s, 45 * 60);
        assert_int_equal(v->fail_at_s, -1);
        assert_null(v->depot_ref);
        assert_false(v->depot_is_point);
    }
    assert_false(s->demand_is_replay);
    assert_int_equal(s->gen.trips, 300);
    assert_int_equal(s->service.window_s, 600);
    assert_int_equal(s->service.start_s, 7 * 3600);
    assert_int_equal(s->service.end_s, 19 * 3600);
    assert_true(fabs(s->service.ride_alpha - 1.5) < 1e-12);
    assert_int_equal(s->service.ride_beta_s, 600);
    assert_true(fabs(s->dis.travel_noise - 0.1) < 1e-12);
    assert_true(fabs(s->dis.no_show_rate - 0.03) < 1e-12);
    assert_true(fabs(s->dis.cancel_rate - 0.05) < 1e-12);
    assert_int_equal(s->dispatch.replan_interval_s, 600);
    assert_true(s->dispatch.replan_iterations >= 100);
    assert_int_equal(s->sweep.n_fleet, 5);
    assert_int_equal(s->sweep.fleet[0], 3);
    assert_string_equal(s->path, "examples/scenarios/demo-town.json");
    sim_scenario_destroy(s);
}

static void test_nyc_and_disruptions(void **state)
{
    sim_scenario *s;
    char err[512];

    (void)state;
    assert_int_equal(sim_scenario_load("examples/scenarios/nyc-replay.json", &s, err, sizeof(err)),
                     0);
    assert_int_equal(s->area_kind, SIM_AREA_CROWFLY);
    assert_true(s->has_bbox);
    assert_int_equal(s->n_vehicles, 300);
    assert_string_equal(s->vehicles[0].id, "down1");
    assert_string_equal(s->vehicles[299].id, "up100");
    assert_true(s->vehicles[150].depot_is_point);
    assert_true(s->demand_is_replay);
    assert_string_equal(
        s->replay.path,
        "examples/scenarios/../../../shared/data/demand/nyc_manhattan_20k_requests.csv");
    assert_string_equal(s->replay.col_time, "departure_time");
    assert_string_equal(s->replay.col_o_lat, "o_lat");
    assert_string_equal(s->replay.col_passengers, "passengers");
    assert_null(s->replay.col_desired);
    assert_string_equal(s->replay.time_format, "datetime");
    assert_int_equal(s->service.start_s, 0);
    assert_int_equal(s->service.end_s, 24 * 3600);
    sim_scenario_destroy(s);

    assert_int_equal(sim_scenario_load("examples/scenarios/disruptions.json", &s, err, sizeof(err)),
                     0);
    assert_int_equal(s->n_vehicles, 3);
    assert_string_equal(s->vehicles[1].id, "van2");
    assert_int_equal(s->vehicles[1].fail_at_s, 11 * 3600);
    assert_int_equal(s->vehicles[2].seats[0], 4);
    assert_int_equal(s->vehicles[2].wheelchairs[0], 1);
    assert_int_equal(s->vehicles[2].shift_start_s, 8 * 3600); /* default: service hours */
    assert_int_equal(s->service.noshow_wait_s, 180);
    assert_true(s->dis.travel_noise > 0.2);
    sim_scenario_destroy(s);
}

static void test_defaults(void **state)
{
    sim_scenario *s, d;
    char err[512];

    (void)state;
    assert_int_equal(sim_scenario_load(write_tmp("min.json", scenario_text(NULL, NULL, NULL, NULL)),
                                       &s, err, sizeof(err)),
                     0);
    sim_scenario_defaults(&d);
    assert_string_equal(s->name, "min");
    assert_int_equal((int)s->seed, 1);
    assert_int_equal(s->service.start_s, d.service.start_s);
    assert_int_equal(s->service.max_wait_s, 30 * 60);
    assert_int_equal(s->service.window_s, 10 * 60);
    assert_int_equal(s->service.pickup_service_s, 60);
    assert_int_equal(s->service.offer_ttl_s, d.service.offer_ttl_s);
    assert_int_equal(s->n_vehicles, 1);
    assert_string_equal(s->vehicles[0].id, "van");
    assert_int_equal(s->vehicles[0].n_configs, 1);
    assert_int_equal(s->vehicles[0].seats[0], 8);
    assert_int_equal(s->vehicles[0].wheelchairs[0], 0);
    assert_int_equal(s->gen.trips, 20);
    assert_true(fabs(s->gen.hourly[8] - d.gen.hourly[8]) < 1e-12);
    assert_true(s->gen.hourly[8] > s->gen.hourly[12]); /* the morning clinic peak */
    assert_int_equal(s->dispatch.replan_interval_s, d.dispatch.replan_interval_s);
    assert_int_equal(s->sweep.n_fleet, 0);
    sim_scenario_destroy(s);

    /* times as seconds work too */
    assert_int_equal(
        sim_scenario_load(write_tmp("secs.json", scenario_text(NULL, NULL, NULL,
                                                               "\"service\": {\"hours\": [25200, "
                                                               "\"18:30:15\"]}")),
                          &s, err, sizeof(err)),
        0);
    assert_int_equal(s->service.start_s, 25200);
    assert_int_equal(s->service.end_s, 18 * 3600 + 30 * 60 + 15);
    sim_scenario_destroy(s);
}

static void test_invalid(void **state)
{
    (void)state;
    /* missing sections and fields */
    expect_error("{\"area\": {\"synthetic\": {}}, \"demand\": {\"generated\": {\"trips\": 5}}}",
                 SIM_ESCENARIO, "fleet: is missing", NULL);
    expect_error("{\"fleet\": {\"vehicles\": [{\"id\": \"v\", \"seats\": 4}]}, \"demand\": "
                 "{\"generated\": {\"trips\": 5}}}",
                 SIM_ESCENARIO, "area: is missing", NULL);
    expect_error(scenario_text(NULL, NULL, "{}", NULL), SIM_ESCENARIO, "demand", "exactly one of");
    expect_error(scenario_text(NULL, NULL, "{\"generated\": {}}", NULL), SIM_ESCENARIO,
                 "demand.generated.trips: is missing", NULL);
    expect_error(scenario_text(NULL, "{\"vehicles\": [{\"seats\": 4}]}", NULL, NULL), SIM_ESCENARIO,
                 "fleet.vehicles[0].id: is missing", NULL);
    expect_error(scenario_text(NULL, "{\"vehicles\": [{\"id\": \"v\"}]}", NULL, NULL),
                 SIM_ESCENARIO, "fleet.vehicles[0].seats: is missing", NULL);
    expect_error(scenario_text(NULL, "{\"vehicles\": []}", NULL, NULL), SIM_ESCENARIO,
                 "fleet.vehicles", "non-empty");

    /* negative or zero fleet and capacities */
    expect_error(scenario_text(NULL,
                               "{\"vehicles\": [{\"id\": \"v\", \"count\": -3, \"seats\": 4}]}",
                               NULL, NULL),
                 SIM_ESCENARIO, "fleet.vehicles[0].count: must be a positive", NULL);
    expect_error(scenario_text(NULL,
                               "{\"vehicles\": [{\"id\": \"a\", \"seats\": 4}, {\"id\": \"b\", "
                               "\"seats\": 4}, {\"id\": \"c\", \"seats\": 0}]}",
                               NULL, NULL),
                 SIM_ESCENARIO, "fleet.vehicles[2].seats: must be a positive integer", NULL);
    expect_error(scenario_text(NULL,
                               "{\"vehicles\": [{\"id\": \"v\", \"configs\": [{\"seats\": 8}, "
                               "{\"seats\": 6, \"wheelchairs\": -1}]}]}",
                               NULL, NULL),
                 SIM_ESCENARIO, "fleet.vehicles[0].configs[1].wheelchairs", NULL);
    expect_error(
        scenario_text(NULL, "{\"vehicles\": [{\"id\": \"v\", \"seats\": \"8\"}]}", NULL, NULL),
        SIM_ESCENARIO, "fleet.vehicles[0].seats: must be a positive integer, found a string", NULL);
    expect_error(scenario_text(NULL,
                               "{\"vehicles\": [{\"id\": \"v\", \"seats\": 8}, {\"id\": \"v\", "
                               "\"seats\": 4}]}",
                               NULL, NULL),
                 SIM_ESCENARIO, "two vans are called \"v\"", NULL);

    /* unknown keys: a typo must not pass silently */
    expect_error(scenario_text(NULL, NULL, NULL, "\"service\": {\"max_wait_mn\": 20}"),
                 SIM_ESCENARIO, "service: unknown field \"max_wait_mn\"", "max_wait_min");
    expect_error(scenario_text(NULL, NULL, NULL, "\"fleets\": 3"), SIM_ESCENARIO,
                 "top level: unknown field \"fleets\"", NULL);
    expect_error(scenario_text(NULL, "{\"vehicles\": [{\"id\": \"v\", \"seats\": 8, \"sets\": 2}]}",
                               NULL, NULL),
                 SIM_ESCENARIO, "fleet.vehicles[0]: unknown field \"sets\"", NULL);

    /* unknown area kinds */
    expect_error(scenario_text("{\"osm\": \"town.pbf\"}", NULL, NULL, NULL), SIM_ESCENARIO,
                 "area: unknown field \"osm\"", NULL);
    expect_error(scenario_text("{\"synthetic\": {\"size\": \"village\"}}", NULL, NULL, NULL),
                 SIM_ESCENARIO, "area.synthetic.size", "\"village\"");
    expect_error(scenario_text("{}", NULL, NULL, NULL), SIM_ESCENARIO, "area: give exactly one",
                 NULL);
    expect_error(scenario_text("{\"synthetic\": {}, \"bundle\": \"x\"}", NULL, NULL, NULL),
                 SIM_ESCENARIO, "area: give exactly one", "several");

    /* malformed times */
    expect_error(
        scenario_text(NULL, NULL, NULL, "\"service\": {\"hours\": [\"07:00\", \"25:99\"]}"),
        SIM_ESCENARIO, "service.hours[1]: \"25:99\" is not a time of day", NULL);
    expect_error(scenario_text(NULL, NULL, NULL, "\"service\": {\"hours\": [\"7h\", \"19:00\"]}"),
                 SIM_ESCENARIO, "service.hours[0]", "\"7h\"");
    expect_error(
        scenario_text(NULL, NULL, NULL, "\"service\": {\"hours\": [\"19:00\", \"07:00\"]}"),
        SIM_ESCENARIO, "service.hours: ends", NULL);
    expect_error(scenario_text(NULL, NULL, NULL, "\"service\": {\"hours\": [\"07:00\"]}"),
                 SIM_ESCENARIO, "service.hours: must be [from, to]", NULL);
    expect_error(
        scenario_text(NULL,
                      "{\"vehicles\": [{\"id\": \"v\", \"seats\": 8, \"breaks\": [{\"window\": "
                      "[\"12:00\", \"13:00\"], \"duration_min\": 0}]}]}",
                      NULL, NULL),
        SIM_ESCENARIO, "fleet.vehicles[0].breaks[0].duration_min: must be positive", NULL);
    expect_error(
        scenario_text(NULL,
                      "{\"vehicles\": [{\"id\": \"v\", \"seats\": 8, \"breaks\": [{\"window\": "
                      "[\"18:30\", \"18:50\"], \"duration_min\": 30}]}]}",
                      NULL, NULL),
        SIM_ESCENARIO, "fleet.vehicles[0].breaks[0]", "does not fit in the shift");

    /* bad column mappings */
    expect_error(scenario_text(NULL, NULL,
                               "{\"replay\": {\"file\": \"x.csv\", \"columns\": {\"pickup_lat\": "
                               "\"a\", \"pickup_lon\": \"b\", \"drop_lat\": \"c\", \"drop_lon\": "
                               "\"d\"}}}",
                               NULL),
                 SIM_ESCENARIO, "demand.replay.columns.request_time: is missing", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"replay\": {\"file\": \"x.csv\", \"columns\": {\"request_time\": "
                               "\"t\", \"pickup_latitude\": \"a\"}}}",
                               NULL),
                 SIM_ESCENARIO, "demand.replay.columns: unknown field \"pickup_latitude\"", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"replay\": {\"file\": \"x.csv\", \"columns\": {\"request_time\": "
                               "\"t\", \"pickup_lat\": \"a\", \"drop_stop\": \"d\"}}}",
                               NULL),
                 SIM_ESCENARIO, "pickup_lat and pickup_lon", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"replay\": {\"file\": \"x.csv\", \"columns\": {\"request_time\": "
                               "\"t\", \"pickup_stop\": \"a\"}}}",
                               NULL),
                 SIM_ESCENARIO, "no drop-off place", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"replay\": {\"file\": \"x.csv\", \"columns\": {\"request_time\": "
                               "\"t\", \"pickup_stop\": \"a\", \"drop_stop\": \"\"}}}",
                               NULL),
                 SIM_ESCENARIO, "demand.replay.columns.drop_stop: must not be empty", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"replay\": {\"file\": \"x.csv\", \"time_format\": \"unix\", "
                               "\"columns\": {\"request_time\": \"t\", \"pickup_stop\": \"a\", "
                               "\"drop_stop\": \"b\"}}}",
                               NULL),
                 SIM_ESCENARIO, "demand.replay.time_format", "\"unix\"");

    /* ranges, shapes and cross-checks */
    expect_error(
        scenario_text(NULL, NULL, "{\"generated\": {\"trips\": 10, \"poi_share\": 1.5}}", NULL),
        SIM_ESCENARIO, "demand.generated.poi_share: must be a number in [0, 1]", NULL);
    expect_error(
        scenario_text(NULL, NULL, "{\"generated\": {\"trips\": 10, \"hourly\": [1, 2]}}", NULL),
        SIM_ESCENARIO, "demand.generated.hourly", "24");
    expect_error(scenario_text(NULL, NULL,
                               "{\"generated\": {\"trips\": 10, \"group2_share\": 0.7, "
                               "\"group3_share\": 0.6}}",
                               NULL),
                 SIM_ESCENARIO, "group2_share + group3_share", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"generated\": {\"trips\": 10}, \"replay\": {\"file\": \"x\"}}",
                               NULL),
                 SIM_ESCENARIO, "demand: give exactly one", NULL);
    expect_error(scenario_text(NULL, NULL, NULL, "\"disruptions\": {\"no_show_rate\": -0.1}"),
                 SIM_ESCENARIO, "disruptions.no_show_rate", NULL);
    expect_error(scenario_text(NULL, NULL, NULL, "\"sweep\": {\"fleet\": [3, 0]}"), SIM_ESCENARIO,
                 "sweep.fleet[1]", NULL);
    expect_error(scenario_text(NULL, NULL, NULL, "\"dispatcher\": {\"glpk\": \"yes\"}"),
                 SIM_ESCENARIO, "dispatcher.glpk: must be true or false", NULL);
    expect_error(scenario_text("{\"crowfly\": {\"speed_kmh\": 0}}", NULL, NULL, NULL),
                 SIM_ESCENARIO, "area.crowfly.speed_kmh", NULL);
    expect_error(scenario_text("{\"crowfly\": {\"bbox\": [1, 2, 3]}}", NULL, NULL, NULL),
                 SIM_ESCENARIO, "area.crowfly.bbox", NULL);
    expect_error(scenario_text("{\"crowfly\": {}}",
                               "{\"vehicles\": [{\"id\": \"v\", \"seats\": 4, \"depot\": \"s1\"}]}",
                               NULL, NULL),
                 SIM_ESCENARIO, "crow-fly area has no stops", NULL);
    expect_error(scenario_text(NULL, NULL,
                               "{\"generated\": {\"trips\": 10, \"prebooked_share\": 0.5}}",
                               "\"service\": {\"lead_time\": {\"max_days\": 0}}"),
                 SIM_ESCENARIO, "prebooked_share", "max_days");

    /* not JSON, not an object, no file */
    expect_error("{\n  \"area\": {\"synthetic\": {}},\n  \"fleet\": [,]\n}\n", SIM_ESCENARIO,
                 "bad.json:3:", NULL);
    expect_error("[1, 2]", SIM_ESCENARIO, "top level: expected an object", NULL);
    {
        sim_scenario *s = NULL;
        char err[512];
        assert_int_equal(sim_scenario_load("/nonexistent/scenario.json", &s, err, sizeof(err)),
                         SIM_EOPEN);
        assert_non_null(strstr(err, "/nonexistent/scenario.json"));
        assert_null(s);
    }
}

/* A three-stop area made by hand: s0, the depot "garage", s2. */
static void tiny_area(area *a, area_stop *st)
{
    static const char *ids[3] = {"s0", "garage", "s2"};

    memset(a, 0, sizeof(*a));
    memset(st, 0, 3 * sizeof(*st));
    for (int i = 0; i < 3; i++) {
        st[i].id = (char *)ids[i];
        st[i].lat = 35.0 + 0.01 * i;
        st[i].lon = 137.0;
        snprintf(st[i].kind, sizeof(st[i].kind), "%s", i == 1 ? "depot" : "stop");
    }
    a->name = (char *)"tiny";
    a->n_stops = 3;
    a->stops = st;
    a->model = AREA_CROWFLY;
    a->crowfly.detour = 1.3;
    a->crowfly.speed_kmh = 25;
}

static void test_resolve(void **state)
{
    area a;
    area_stop st[3];
    sim_scenario *s;
    char err[512];
    const char *fleet = "{\"vehicles\": [{\"id\": \"a\", \"seats\": 4, \"depot\": \"s2\"}, "
                        "{\"id\": \"b\", \"seats\": 4}, {\"id\": \"c\", \"seats\": 4, \"depot\": "
                        "{\"lat\": 35.0001, \"lon\": 137.0001}}]}";

    (void)state;
    tiny_area(&a, st);
    assert_int_equal(
        sim_scenario_load(write_tmp("res.json", scenario_text(NULL, fleet, NULL, NULL)), &s, err,
                          sizeof(err)),
        0);
    assert_int_equal(sim_scenario_resolve(s, &a, err, sizeof(err)), 0);
    assert_int_equal(s->vehicles[0].depot_stop, 2);
    assert_int_equal(s->vehicles[1].depot_stop, 1); /* the area's depot */
    assert_int_equal(s->vehicles[2].depot_stop, 0); /* nearest stop */
    assert_true(fabs(s->vehicles[2].depot_lat - 35.0) < 1e-12);
    assert_true(fabs(s->vehicles[0].depot_lat - 35.02) < 1e-12);
    sim_scenario_destroy(s);

    /* an unknown stop id, a point far from every stop */
    fleet = "{\"vehicles\": [{\"id\": \"a\", \"seats\": 4, \"depot\": \"s9\"}]}";
    assert_int_equal(
        sim_scenario_load(write_tmp("res.json", scenario_text(NULL, fleet, NULL, NULL)), &s, err,
                          sizeof(err)),
        0);
    assert_int_equal(sim_scenario_resolve(s, &a, err, sizeof(err)), SIM_ESCENARIO);
    assert_non_null(strstr(err, "no stop \"s9\""));
    sim_scenario_destroy(s);
    fleet =
        "{\"vehicles\": [{\"id\": \"a\", \"seats\": 4, \"depot\": {\"lat\": 36, \"lon\": 137}}]}";
    assert_int_equal(
        sim_scenario_load(write_tmp("res.json", scenario_text(NULL, fleet, NULL, NULL)), &s, err,
                          sizeof(err)),
        0);
    assert_int_equal(sim_scenario_resolve(s, &a, err, sizeof(err)), SIM_ESCENARIO);
    assert_non_null(strstr(err, "max_snap_m"));
    sim_scenario_destroy(s);

    /* crow-fly area without stops: the bbox centre is the default depot */
    assert_int_equal(
        sim_scenario_load(write_tmp("fly.json", scenario_text("{\"crowfly\": {\"bbox\": [137, 35, "
                                                              "137.2, 35.2]}}",
                                                              NULL, NULL, NULL)),
                          &s, err, sizeof(err)),
        0);
    {
        area *fa;
        assert_int_equal(sim_scenario_area(s, &fa, err, sizeof(err)), 0);
        assert_int_equal(fa->n_stops, 0);
        assert_int_equal(fa->model, AREA_CROWFLY);
        assert_int_equal(sim_scenario_resolve(s, fa, err, sizeof(err)), 0);
        assert_int_equal(s->vehicles[0].depot_stop, -1);
        assert_true(fabs(s->vehicles[0].depot_lat - 35.1) < 1e-9);
        assert_true(fabs(s->vehicles[0].depot_lon - 137.1) < 1e-9);
        area_destroy(fa);
    }
    sim_scenario_destroy(s);
}

static void test_with_fleet(void **state)
{
    sim_scenario *s, *c;
    char err[512];

    (void)state;
    assert_int_equal(sim_scenario_load("examples/scenarios/disruptions.json", &s, err, sizeof(err)),
                     0);
    assert_int_equal(sim_scenario_with_fleet(s, 7, &c), 0);
    assert_int_equal(c->n_vehicles, 7);
    assert_string_equal(c->vehicles[0].id, "van1");
    assert_string_equal(c->vehicles[2].id, "van3");
    assert_string_equal(c->vehicles[3].id, "van1-2");
    assert_string_equal(c->vehicles[6].id, "van1-3");
    assert_int_equal(c->vehicles[4].fail_at_s, 11 * 3600);
    assert_int_equal(c->vehicles[5].n_breaks, 1);
    assert_int_equal(c->vehicles[3].n_configs, 2);
    assert_string_equal(c->name, s->name);
    assert_ptr_not_equal(c->name, s->name);
    sim_scenario_destroy(c);
    assert_int_equal(sim_scenario_with_fleet(s, 1, &c), 0);
    assert_int_equal(c->n_vehicles, 1);
    sim_scenario_destroy(c);
    assert_int_equal(sim_scenario_with_fleet(s, 0, &c), SIM_EINVAL);
    assert_null(c);
    sim_scenario_destroy(s);
}

/* Truncations and byte flips of the demo scenario: every load either
 * succeeds or fails with a message naming the file; none crashes or leaks
 * (the sanitizer build checks). */
static void test_damaged(void **state)
{
    FILE *f = fopen("examples/scenarios/demo-town.json", "rb");
    char text[8192], damaged[8192], err[512];
    size_t n;
    sim_rng r;

    (void)state;
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    sim_rng_seed(&r, 99);
    for (size_t len = 0; len < n; len += 3) {
        sim_scenario *s;
        memcpy(damaged, text, len);
        damaged[len] = '\0';
        if (sim_scenario_load(write_tmp("cut.json", damaged), &s, err, sizeof(err)) == 0)
            sim_scenario_destroy(s);
        else
            assert_non_null(strstr(err, "cut.json"));
    }
    for (int k = 0; k < 400; k++) {
        sim_scenario *s;
        memcpy(damaged, text, n + 1);
        for (int j = 0; j < 1 + k % 3; j++) {
            size_t at = (size_t)sim_rng_below(&r, (int)n);
            static const char junk[] = "{}[]\",:0-9.e\\ xZ\x01\xff";
            damaged[at] = junk[sim_rng_below(&r, (int)sizeof(junk) - 1)];
        }
        if (sim_scenario_load(write_tmp("flip.json", damaged), &s, err, sizeof(err)) == 0)
            sim_scenario_destroy(s);
        else
            assert_non_null(strstr(err, "flip.json"));
    }
}

static void test_clock(void **state)
{
    int t;
    char buf[32];

    (void)state;
    assert_int_equal(sim_parse_clock("07:30", &t), 0);
    assert_int_equal(t, 27000);
    assert_int_equal(sim_parse_clock("7:05:09", &t), 0);
    assert_int_equal(t, 7 * 3600 + 309);
    assert_int_equal(sim_parse_clock("48:00", &t), 0);
    assert_int_equal(sim_parse_clock("48:01", &t), SIM_EINVAL);
    assert_int_equal(sim_parse_clock("12:60", &t), SIM_EINVAL);
    assert_int_equal(sim_parse_clock("12", &t), SIM_EINVAL);
    assert_int_equal(sim_parse_clock("12:00:00:00", &t), SIM_EINVAL);
    assert_int_equal(sim_parse_clock(" 12:00", &t), SIM_EINVAL);
    assert_int_equal(sim_parse_clock("123:00", &t), SIM_EINVAL);
    assert_int_equal(sim_parse_clock("", &t), SIM_EINVAL);
    sim_format_clock(27000, buf, sizeof(buf));
    assert_string_equal(buf, "07:30");
    sim_format_clock(-3 * 3600 - 61, buf, sizeof(buf));
    assert_string_equal(buf, "-03:01:01");
    assert_string_equal(sim_strerror(SIM_ESCENARIO), "invalid scenario");
    assert_string_equal(sim_strerror(0), "success");
}

static void test_rng(void **state)
{
    sim_rng a, b;
    double sum = 0, sum2 = 0, w[4] = {1, 0, 3, 0}, zero[3] = {0, 0, 0};
    int hits[4] = {0}, below[7] = {0};
    const int n = 200000;

    (void)state;
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_rng_next(&a) == sim_rng_next(&b));
    sim_rng_seed(&b, 43);
    assert_true(sim_rng_next(&a) != sim_rng_next(&b));
    sim_rng_seed(&a, 0); /* a zero seed still gives a working generator */
    assert_true(sim_rng_next(&a) != 0 || sim_rng_next(&a) != 0);

    sim_rng_seed(&a, 7);
    for (int i = 0; i < n; i++) {
        double u = sim_rng_uniform(&a);
        int k = sim_rng_below(&a, 7);
        assert_true(u >= 0 && u < 1);
        assert_true(k >= 0 && k < 7);
        below[k]++;
        hits[sim_rng_pick(&a, w, 4)]++;
    }
    for (int k = 0; k < 7; k++)
        assert_true(fabs(below[k] / (double)n - 1.0 / 7) < 0.01);
    assert_int_equal(hits[1], 0);
    assert_int_equal(hits[3], 0);
    assert_true(fabs(hits[2] / (double)n - 0.75) < 0.01);
    assert_int_equal(sim_rng_pick(&a, zero, 3), -1);
    assert_int_equal(sim_rng_below(&a, 1), 0);

    for (int i = 0; i < n; i++) {
        double x = sim_rng_normal(&a);
        sum += x;
        sum2 += x * x;
    }
    assert_true(fabs(sum / n) < 0.01);
    assert_true(fabs(sum2 / n - 1) < 0.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_town), cmocka_unit_test(test_nyc_and_disruptions),
        cmocka_unit_test(test_defaults),  cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_resolve),   cmocka_unit_test(test_with_fleet),
        cmocka_unit_test(test_damaged),   cmocka_unit_test(test_clock),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
