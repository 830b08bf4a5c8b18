/*
 * test_demand.c - the day's requests (simulator/demand.c).
 *
 * Generation on a synthetic town: the same seed gives the same day, another
 * seed another one; counts are exact and shares (returns, day-before
 * bookings, ASAP, groups, wheelchairs, POI destinations, behaviour rates)
 * close to the configured ones; times respect the service hours and the
 * hourly profile; return legs mirror their outbound trip; changing a
 * behaviour rate leaves the trips themselves alone.
 *
 * Replay: the shared 20,000-request Manhattan sample ($NORIAI_SHARED, else
 * ../shared) read in a crow-fly area, with and without the example
 * scenario's bounding box, and with a row limit; small hand-written files in
 * every time format, with stop ids, with rows too far from any stop or out
 * of hours; and malformed files, each refused with "file:line" and the
 * column.
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
#include <sys/stat.h>

static char tmp_dir[256];
static area *town; /* synthetic town, seed 7, "small" */

static int setup(void **state)
{
    char err[256];

    (void)state;
    if (tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "demand") != 0)
        return -1;
    if (area_synth(7, AREA_SYNTH_SMALL, &town, err, sizeof(err)) != 0) {
        fprintf(stderr, "area_synth: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    area_destroy(town);
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

static const char *shared_dir(void)
{
    static char shared[1024];
    const char *env = getenv("NORIAI_SHARED");
    char probe[1200];
    struct stat st;

    char cwd[512];

    snprintf(shared, sizeof(shared), "%s", env && *env ? env : "../shared");
    snprintf(probe, sizeof(probe), "%s/data/demand/nyc_manhattan_20k_requests.csv", shared);
    if (stat(probe, &st) != 0)
        fail_msg("shared data folder not found: %s is missing (set NORIAI_SHARED to the folder "
                 "holding data/demand)",
                 probe);
    /* absolute: scenarios in the temporary folder refer to it */
    if (shared[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
        strlen(cwd) + strlen(shared) + 2 < sizeof(probe)) {
        memcpy(probe, shared, strlen(shared) + 1);
        snprintf(shared, sizeof(shared), "%.500s/%.500s", cwd, probe);
    }
    return shared;
}

static sim_scenario *load_text(const char *name, const char *text)
{
    sim_scenario *s = NULL;
    char err[512];
    int rc = sim_scenario_load(write_tmp(name, text), &s, err, sizeof(err));

    if (rc != 0)
        fail_msg("scenario: %s", err);
    return s;
}

static sim_scenario *gen_scenario(uint64_t seed, int trips, const char *extra_gen,
                                  const char *extra)
{
    char text[4096];

    snprintf(text, sizeof(text),
             "{\"seed\": %llu, \"area\": {\"synthetic\": {\"seed\": 7, \"size\": \"small\"}},\n"
             " \"fleet\": {\"vehicles\": [{\"id\": \"van\", \"seats\": 8}]},\n"
             " \"demand\": {\"generated\": {\"trips\": %d%s%s}}%s%s}\n",
             (unsigned long long)seed, trips, extra_gen ? ", " : "", extra_gen ? extra_gen : "",
             extra ? ", " : "", extra ? extra : "");
    return load_text("gen.json", text);
}

static void generate(const sim_scenario *s, const area *a, sim_demand *d)
{
    char err[512];
    int rc = sim_demand_generate(s, a, d, err, sizeof(err));

    if (rc != 0)
        fail_msg("generate: %s", err);
}

static int same_request(const sim_request *a, const sim_request *b, int with_behaviour)
{
    int same = strcmp(a->id, b->id) == 0 && a->request_s == b->request_s &&
               a->pickup.stop == b->pickup.stop && a->drop.stop == b->drop.stop &&
               a->pickup.lat == b->pickup.lat && a->drop.lon == b->drop.lon && a->when == b->when &&
               a->desired_s == b->desired_s && a->passengers == b->passengers &&
               a->wheelchairs == b->wheelchairs && a->prebooked == b->prebooked &&
               a->is_return == b->is_return;

    if (with_behaviour)
        same = same && a->will_decline == b->will_decline && a->will_cancel == b->will_cancel &&
               a->cancel_s == b->cancel_s && a->will_no_show == b->will_no_show;
    return same;
}

static void check_sorted(const sim_demand *d)
{
    for (int i = 1; i < d->n; i++) {
        const sim_request *p = &d->req[i - 1], *q = &d->req[i];
        assert_true(p->request_s < q->request_s ||
                    (p->request_s == q->request_s && strcmp(p->id, q->id) < 0));
    }
}

/* ------------------------------------------------------------------------ */

static void test_determinism(void **state)
{
    sim_scenario *s1 = gen_scenario(5, 300, NULL, NULL), *s2 = gen_scenario(5, 300, NULL, NULL);
    sim_scenario *s3 = gen_scenario(6, 300, NULL, NULL);
    sim_demand a, b, c;
    int differ = 0;

    (void)state;
    generate(s1, town, &a);
    generate(s2, town, &b);
    generate(s3, town, &c);
    assert_int_equal(a.n, 300);
    assert_int_equal(b.n, 300);
    assert_int_equal(c.n, 300);
    for (int i = 0; i < a.n; i++)
        assert_true(same_request(&a.req[i], &b.req[i], 1));
    for (int i = 0; i < a.n; i++)
        differ += !same_request(&a.req[i], &c.req[i], 0);
    assert_true(differ > 250);
    check_sorted(&a);
    sim_demand_cleanup(&a);
    sim_demand_cleanup(&b);
    sim_demand_cleanup(&c);
    sim_scenario_destroy(s1);
    sim_scenario_destroy(s2);
    sim_scenario_destroy(s3);
}

static const sim_request *find_id(const sim_demand *d, const char *id)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->req[i].id, id) == 0)
            return &d->req[i];
    return NULL;
}

static int is_poi_stop(const area *a, int stop)
{
    for (int i = 0; i < a->n_pois; i++)
        if (a->pois[i].stop == stop)
            return 1;
    return 0;
}

static void test_shares(void **state)
{
    const int trips = 4000;
    sim_scenario *s = gen_scenario(11, trips, NULL,
                                   "\"disruptions\": {\"no_show_rate\": 0.03, \"cancel_rate\": "
                                   "0.05, \"decline_rate\": 0.02}");
    const sim_demand_gen *g = &s->gen;
    sim_demand d;
    int n_out = 0, n_ret = 0, pre = 0, same_day_out = 0, asap = 0, g2 = 0, g3 = 0, wc = 0;
    int poi = 0, decl = 0, canc = 0, nos = 0, peak = 0, late = 0, timed = 0, arrive = 0;

    (void)state;
    generate(s, town, &d);
    assert_int_equal(d.n, trips);
    check_sorted(&d);
    for (int i = 0; i < d.n; i++) {
        const sim_request *r = &d.req[i];
        int pick = r->when == SIM_ASAP ? r->request_s : r->desired_s;
        assert_true(r->pickup.stop >= 0 && r->pickup.stop < town->n_stops);
        assert_true(r->drop.stop >= 0 && r->drop.stop < town->n_stops);
        assert_int_not_equal(r->pickup.stop, r->drop.stop);
        assert_true(r->passengers >= 1 && r->passengers <= 3);
        assert_true(r->wheelchairs >= 0 && r->wheelchairs <= r->passengers);
        assert_true((r->request_s < 0) == r->prebooked);
        if (r->when != SIM_ARRIVE_BY) {
            assert_true(pick >= s->service.start_s && pick < s->service.end_s);
            assert_true(r->request_s <= pick);
        } else {
            assert_int_equal(r->desired_s % 900, 0);
            assert_true(r->desired_s > s->service.start_s);
        }
        if (r->will_cancel) {
            assert_false(r->will_decline);
            assert_true(r->cancel_s >= r->request_s + 60);
        } else {
            assert_int_equal(r->cancel_s, -1);
        }
        assert_false(r->will_no_show && (r->will_cancel || r->will_decline));
        decl += r->will_decline;
        canc += r->will_cancel;
        nos += r->will_no_show;
        pre += r->prebooked;
        g2 += r->passengers == 2;
        g3 += r->passengers == 3;
        wc += r->wheelchairs > 0;
        if (!r->is_return && r->when != SIM_ARRIVE_BY) {
            peak += pick >= 8 * 3600 && pick < 10 * 3600;
            late += pick >= 17 * 3600 && pick < 19 * 3600;
        }
        if (r->is_return) {
            char out_id[64];
            const sim_request *o;
            snprintf(out_id, sizeof(out_id), "%.*s", (int)(strlen(r->id) - 5), r->id);
            o = find_id(&d, out_id);
            assert_non_null(o);
            assert_string_equal(r->id + strlen(r->id) - 5, "-back");
            assert_int_equal(r->pickup.stop, o->drop.stop);
            assert_int_equal(r->drop.stop, o->pickup.stop);
            assert_int_equal(r->passengers, o->passengers);
            assert_int_equal(r->wheelchairs, o->wheelchairs);
            assert_int_equal(r->prebooked, o->prebooked);
            assert_int_equal(r->when, SIM_DEPART_AFTER);
            assert_true(r->desired_s >=
                        (o->when == SIM_ASAP ? o->request_s : o->desired_s) + 90 * 60 - 60);
            assert_true(r->desired_s <= s->service.end_s - 600);
            n_ret++;
            continue;
        }
        n_out++;
        poi += is_poi_stop(town, r->drop.stop);
        if (!r->prebooked) {
            same_day_out++;
            asap += r->when == SIM_ASAP;
        }
        if (r->when != SIM_ASAP) {
            timed++;
            arrive += r->when == SIM_ARRIVE_BY;
        }
    }
    printf("    %d outbound, %d returns (%.2f), day before %.3f, asap %.3f, arrive-by %.3f, "
           "groups %.3f/%.3f, wheelchairs %.3f, poi %.3f\n",
           n_out, n_ret, (double)n_ret / n_out, (double)pre / trips, (double)asap / same_day_out,
           (double)arrive / timed, (double)g2 / trips, (double)g3 / trips, (double)wc / trips,
           (double)poi / n_out);
    assert_int_equal(n_out + n_ret, trips);
    /* late outbound trips lose their return (it would leave after service end) */
    assert_true((double)n_ret / n_out > 0.6 * g->return_share &&
                (double)n_ret / n_out <= g->return_share + 0.03);
    assert_true(fabs((double)pre / trips - g->prebooked_share) < 0.03);
    assert_true(fabs((double)asap / same_day_out - g->asap_share) < 0.04);
    assert_true(fabs((double)arrive / timed - g->arrive_by_share) < 0.05);
    assert_true(fabs((double)g2 / trips - g->group2_share) < 0.02);
    assert_true(fabs((double)g3 / trips - g->group3_share) < 0.01);
    assert_true(fabs((double)wc / trips - g->wheelchair_share) < 0.015);
    assert_true((double)poi / n_out > g->poi_share - 0.04);
    assert_true(fabs((double)decl / trips - 0.02) < 0.01);
    assert_true(fabs((double)canc / trips - 0.05 * 0.98) < 0.015);
    assert_true(fabs((double)nos / trips - 0.03 * 0.93) < 0.012);
    assert_true(peak > 2 * late); /* the morning clinic peak */
    sim_demand_cleanup(&d);
    sim_scenario_destroy(s);
}

static void test_rates_keep_trips(void **state)
{
    sim_scenario *a = gen_scenario(3, 500, NULL, NULL);
    sim_scenario *b = gen_scenario(
        3, 500, NULL, "\"disruptions\": {\"cancel_rate\": 0.5, \"no_show_rate\": 0.2}");
    sim_demand da, db;
    int cancels = 0;

    (void)state;
    generate(a, town, &da);
    generate(b, town, &db);
    assert_int_equal(da.n, db.n);
    for (int i = 0; i < da.n; i++) {
        assert_true(same_request(&da.req[i], &db.req[i], 0));
        assert_false(da.req[i].will_cancel || da.req[i].will_no_show || da.req[i].will_decline);
        cancels += db.req[i].will_cancel;
    }
    assert_true(cancels > 200 && cancels < 300);
    sim_demand_cleanup(&da);
    sim_demand_cleanup(&db);
    sim_scenario_destroy(a);
    sim_scenario_destroy(b);
}

static void test_hours_and_profile(void **state)
{
    /* all weight in hours 9 and 10, service 09:30-10:30: only [09:30, 10:30) */
    sim_scenario *s = gen_scenario(
        4, 400,
        "\"return_share\": 0, \"asap_share\": 1, \"prebooked_share\": 0, \"hourly\": [0, 0, 0, 0, "
        "0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
        "\"service\": {\"hours\": [\"09:30\", \"10:30\"]}");
    sim_demand d;

    (void)state;
    generate(s, town, &d);
    assert_int_equal(d.n, 400);
    for (int i = 0; i < d.n; i++) {
        assert_int_equal(d.req[i].when, SIM_ASAP);
        assert_true(d.req[i].request_s >= 9 * 3600 + 1800 && d.req[i].request_s < 10 * 3600 + 1800);
        assert_int_equal(d.req[i].desired_s, d.req[i].request_s);
        assert_false(d.req[i].is_return);
    }
    sim_demand_cleanup(&d);
    sim_scenario_destroy(s);
}

/* A crow-fly area with free points: generation needs its bbox. */
static void test_generate_crowfly(void **state)
{
    sim_scenario *s = load_text(
        "fly.json", "{\"area\": {\"crowfly\": {\"bbox\": [137.0, 35.0, 137.1, 35.1]}}, \"fleet\": "
                    "{\"vehicles\": [{\"id\": \"v\", \"seats\": 4}]}, \"demand\": {\"generated\": "
                    "{\"trips\": 50}}}");
    area *a;
    sim_demand d;
    char err[256];

    (void)state;
    assert_int_equal(sim_scenario_area(s, &a, err, sizeof(err)), 0);
    generate(s, a, &d);
    assert_int_equal(d.n, 50);
    for (int i = 0; i < d.n; i++) {
        assert_int_equal(d.req[i].pickup.stop, -1);
        assert_true(d.req[i].pickup.lat >= 35.0 && d.req[i].pickup.lat <= 35.1);
        assert_true(d.req[i].drop.lon >= 137.0 && d.req[i].drop.lon <= 137.1);
    }
    sim_demand_cleanup(&d);
    area_destroy(a);
    sim_scenario_destroy(s);

    /* without a bbox there is nowhere to put the points */
    s = load_text("fly2.json", "{\"area\": {\"crowfly\": {}}, \"fleet\": {\"vehicles\": [{\"id\": "
                               "\"v\", \"seats\": 4, \"depot\": {\"lat\": 35, \"lon\": 137}}]}, "
                               "\"demand\": {\"generated\": {\"trips\": 5}}}");
    assert_int_equal(sim_scenario_area(s, &a, err, sizeof(err)), 0);
    assert_int_equal(sim_demand_generate(s, a, &d, err, sizeof(err)), SIM_EDEMAND);
    assert_non_null(strstr(err, "bbox"));
    assert_int_equal(d.n, 0);
    area_destroy(a);
    sim_scenario_destroy(s);
}

/* ------------------------------------------------------------------------ */
/* Replay                                                                   */

static const char *nyc_columns =
    "\"columns\": {\"id\": \"request_id\", \"request_time\": \"departure_time\", \"pickup_lat\": "
    "\"o_lat\", \"pickup_lon\": \"o_lon\", \"drop_lat\": \"d_lat\", \"drop_lon\": \"d_lon\", "
    "\"passengers\": \"passengers\"}";

static void replay(const sim_scenario *s, const area *a, sim_demand *d)
{
    char err[512];
    int rc = sim_demand_replay_read(s, a, d, err, sizeof(err));

    if (rc != 0)
        fail_msg("replay: %s", err);
}

static void test_replay_nyc(void **state)
{
    char text[4096], err[512];
    sim_scenario *s;
    area *a;
    sim_demand d;
    const sim_request *r0;

    (void)state;
    snprintf(
        text, sizeof(text),
        "{\"area\": {\"crowfly\": {}}, \"service\": {\"hours\": [\"00:00\", \"24:00\"]},\n"
        " \"fleet\": {\"vehicles\": [{\"id\": \"v\", \"seats\": 4, \"depot\": {\"lat\": "
        "40.75, \"lon\": -73.98}}]},\n"
        " \"demand\": {\"replay\": {\"file\": \"%s/data/demand/nyc_manhattan_20k_requests.csv\", "
        "%s}}}",
        shared_dir(), nyc_columns);
    s = load_text("nyc.json", text);
    assert_int_equal(sim_scenario_area(s, &a, err, sizeof(err)), 0);
    replay(s, a, &d);
    assert_int_equal(d.n, 19979);
    assert_int_equal(d.skipped, 0);
    check_sorted(&d);
    r0 = find_id(&d, "0");
    assert_non_null(r0);
    assert_int_equal(r0->request_s, 0);
    assert_int_equal(r0->when, SIM_ASAP);
    assert_true(fabs(r0->pickup.lat - 40.720845) < 1e-9);
    assert_true(fabs(r0->drop.lon - -74.005622) < 1e-9);
    assert_int_equal(r0->pickup.stop, -1);
    assert_int_equal(r0->passengers, 1);
    r0 = find_id(&d, "19999");
    assert_non_null(r0);
    assert_int_equal(r0->request_s, 23 * 3600 + 59 * 60);
    assert_int_equal(d.req[d.n - 1].request_s, 23 * 3600 + 59 * 60);
    for (int i = 0; i < d.n; i++)
        assert_false(d.req[i].prebooked || d.req[i].will_cancel || d.req[i].will_no_show);
    sim_demand_cleanup(&d);

    /* limit: the first rows of the file */
    s->replay.limit = 250;
    replay(s, a, &d);
    assert_int_equal(d.n, 250);
    sim_demand_cleanup(&d);
    area_destroy(a);
    sim_scenario_destroy(s);

    /* the example scenario: its bbox drops the two rows far outside New York */
    assert_int_equal(sim_scenario_load("examples/scenarios/nyc-replay.json", &s, err, sizeof(err)),
                     0);
    if (getenv("NORIAI_SHARED") != NULL) {
        free(s->replay.path);
        snprintf(text, sizeof(text), "%s/data/demand/nyc_manhattan_20k_requests.csv", shared_dir());
        s->replay.path = strdup(text);
    }
    assert_int_equal(sim_scenario_area(s, &a, err, sizeof(err)), 0);
    assert_int_equal(sim_scenario_resolve(s, a, err, sizeof(err)), 0);
    assert_int_equal(s->vehicles[0].depot_stop, -1);
    replay(s, a, &d);
    printf("    example replay: %d requests, %d skipped off the area\n", d.n, d.skipped_far);
    assert_int_equal(d.n + d.skipped, 19979);
    assert_int_equal(d.skipped, d.skipped_far);
    assert_true(d.skipped <= 5);
    sim_demand_cleanup(&d);
    area_destroy(a);
    sim_scenario_destroy(s);
}

/* A replay scenario over the small town with the given columns and format. */
static sim_scenario *town_replay(const char *csv_name, const char *columns, const char *format,
                                 const char *extra)
{
    char text[4096];

    snprintf(text, sizeof(text),
             "{\"area\": {\"synthetic\": {\"seed\": 7, \"size\": \"small\"}},\n"
             " \"service\": {\"hours\": [\"08:00\", \"18:00\"], \"max_snap_m\": 300},\n"
             " \"fleet\": {\"vehicles\": [{\"id\": \"v\", \"seats\": 4}]},\n"
             " \"demand\": {\"replay\": {\"file\": \"%s\", \"columns\": {%s}, \"time_format\": "
             "\"%s\"%s%s}}}",
             csv_name, columns, format, extra ? ", " : "", extra ? extra : "");
    return load_text("town-replay.json", text);
}

static void test_replay_town(void **state)
{
    const area_stop *s0 = &town->stops[0], *s1 = &town->stops[1], *s2 = &town->stops[2];
    char csv[4096];
    sim_scenario *s;
    sim_demand d;
    const sim_request *r;

    (void)state;
    /* lat/lon snapped to stops; hms times; a desired time; one row too far,
     * one out of hours, one with both ends at the same stop */
    snprintf(csv, sizeof(csv),
             "id,t,olat,olon,dlat,dlon,n,wc,want\n"
             "a,08:10,%.6f,%.6f,%.6f,%.6f,2,1,\n"
             "b,09:00:30,%.6f,%.6f,%.6f,%.6f,1,0,09:45\n"
             "far,09:00,%.6f,%.6f,%.6f,%.6f,1,0,\n"
             "night,19:00,%.6f,%.6f,%.6f,%.6f,1,0,\n"
             "same,10:00,%.6f,%.6f,%.6f,%.6f,1,0,\n",
             s0->lat, s0->lon, s1->lat, s1->lon, s1->lat + 0.0005, s1->lon, s2->lat, s2->lon,
             s0->lat + 0.5, s0->lon, s1->lat, s1->lon, s0->lat, s0->lon, s1->lat, s1->lon, s2->lat,
             s2->lon, s2->lat, s2->lon);
    write_tmp("town.csv", csv);
    s = town_replay("town.csv",
                    "\"id\": \"id\", \"request_time\": \"t\", \"pickup_lat\": \"olat\", "
                    "\"pickup_lon\": \"olon\", \"drop_lat\": \"dlat\", \"drop_lon\": \"dlon\", "
                    "\"passengers\": \"n\", \"wheelchairs\": \"wc\", \"desired_time\": \"want\"",
                    "hms", NULL);
    replay(s, town, &d);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.skipped, 3);
    assert_int_equal(d.skipped_far, 1);
    assert_int_equal(d.skipped_hours, 1);
    r = &d.req[0];
    assert_string_equal(r->id, "a");
    assert_int_equal(r->request_s, 8 * 3600 + 600);
    assert_int_equal(r->pickup.stop, 0);
    assert_int_equal(r->drop.stop, 1);
    assert_int_equal(r->passengers, 2);
    assert_int_equal(r->wheelchairs, 1);
    assert_int_equal(r->when, SIM_ASAP);
    r = &d.req[1];
    assert_string_equal(r->id, "b");
    assert_int_equal(r->request_s, 9 * 3600 + 30);
    assert_int_equal(r->when, SIM_DEPART_AFTER);
    assert_int_equal(r->desired_s, 9 * 3600 + 45 * 60);
    assert_int_equal(r->pickup.stop, 1);
    assert_true(fabs(r->pickup.lat - s1->lat) < 1e-12); /* the stop's coordinates */
    sim_demand_cleanup(&d);
    sim_scenario_destroy(s);

    /* stop ids, seconds, no id column (row numbers) */
    snprintf(csv, sizeof(csv), "when,from,to\n30000,%s,%s\n29000.4,%s,%s\n", s2->id, s0->id, s1->id,
             s2->id);
    write_tmp("stops.csv", csv);
    s = town_replay("stops.csv",
                    "\"request_time\": \"when\", \"pickup_stop\": \"from\", \"drop_stop\": \"to\"",
                    "seconds", NULL);
    replay(s, town, &d);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.req[0].id, "row2");
    assert_int_equal(d.req[0].request_s, 29000);
    assert_int_equal(d.req[0].pickup.stop, 1);
    assert_int_equal(d.req[1].drop.stop, 0);
    assert_int_equal(d.req[1].passengers, 1);
    sim_demand_cleanup(&d);
    sim_scenario_destroy(s);

    /* datetime with a time scale about the service start: 10:00 -> 09:00 */
    snprintf(csv, sizeof(csv), "t,from,to\n2024-04-01 10:00:00,%s,%s\n", s0->id, s1->id);
    write_tmp("scaled.csv", csv);
    s = town_replay("scaled.csv",
                    "\"request_time\": \"t\", \"pickup_stop\": \"from\", \"drop_stop\": \"to\"",
                    "datetime", "\"time_scale\": 0.5");
    replay(s, town, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.req[0].request_s, 9 * 3600);
    sim_demand_cleanup(&d);
    sim_scenario_destroy(s);
}

/* csv (written as bad.csv) read with the NYC column layout; expects an
 * error naming bad.csv:line and needle. */
static void expect_replay_error(const char *csv, const char *columns, const char *format,
                                const char *needle1, const char *needle2)
{
    sim_scenario *s;
    sim_demand d;
    char err[512] = "";
    int rc;

    write_tmp("bad.csv", csv);
    s = town_replay("bad.csv", columns, format, NULL);
    rc = sim_demand_replay_read(s, town, &d, err, sizeof(err));
    if (getenv("SHOW_ERRORS") != NULL)
        printf("    %s\n", err);
    if (rc >= 0 || strstr(err, "bad.csv") == NULL || strstr(err, needle1) == NULL ||
        (needle2 != NULL && strstr(err, needle2) == NULL))
        fail_msg("rc %d, message \"%s\" (expected \"%s\")\n--- input:\n%s", rc, err, needle1, csv);
    assert_int_equal(d.n, 0);
    assert_null(d.req);
    sim_scenario_destroy(s);
}

static void test_replay_malformed(void **state)
{
    const char *cols = "\"id\": \"id\", \"request_time\": \"t\", \"pickup_lat\": \"olat\", "
                       "\"pickup_lon\": \"olon\", \"drop_lat\": \"dlat\", \"drop_lon\": \"dlon\", "
                       "\"passengers\": \"n\"";
    const char *hdr = "id,t,olat,olon,dlat,dlon,n\n";
    char good[256], csv[1024];

    (void)state;
    snprintf(good, sizeof(good), "g,2024-04-01 09:00:00,%.6f,%.6f,%.6f,%.6f,1\n",
             town->stops[0].lat, town->stops[0].lon, town->stops[1].lat, town->stops[1].lon);

    snprintf(csv, sizeof(csv), "%s%sx,2024-04-01 9h00,35,137,35,137,1\n", hdr, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:3: column \"t\"", "9h00");
    snprintf(csv, sizeof(csv), "%s%sx,2024-02-30 09:00:00,35,137,35,137,1\n", hdr, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:3: column \"t\"", "date");
    snprintf(csv, sizeof(csv), "%s%sx,2024-04-01 09:00:00,north,137,35,137,1\n", hdr, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:3: column \"olat\"", "\"north\"");
    snprintf(csv, sizeof(csv), "%s%sx,2024-04-01 09:00:00,35,137,95,137,1\n", hdr, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:3: column \"dlat\"", "latitude");
    snprintf(csv, sizeof(csv), "%s%s%sx,2024-04-01 09:00:00,35,137,35,137,two\n", hdr, good, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:4: column \"n\"", "passengers");
    snprintf(csv, sizeof(csv), "%s%sx,2024-04-01 09:00:00,35,137\n", hdr, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:3:", "fields");
    snprintf(csv, sizeof(csv), "%s%sx,2024-04-01 09:00:00,\"35,137,35,137,1\n", hdr, good);
    expect_replay_error(csv, cols, "datetime", "bad.csv:3", NULL);
    /* a mapped column missing from the header */
    expect_replay_error("id,time,olat,olon,dlat,dlon,n\n", cols, "datetime",
                        "no column \"t\" (demand.replay.columns.request_time", "id,time,olat");
    expect_replay_error("", cols, "datetime", "bad.csv", NULL);
    /* other time formats */
    snprintf(csv, sizeof(csv), "%sx,25:61,35,137,35,137,1\n", hdr);
    expect_replay_error(csv, cols, "hms", "bad.csv:2: column \"t\"", "HH:MM");
    snprintf(csv, sizeof(csv), "%sx,9am,35,137,35,137,1\n", hdr);
    expect_replay_error(csv, cols, "seconds", "bad.csv:2: column \"t\"", "seconds");
    /* desired before the request, too many wheelchairs, unknown stop, duplicate id */
    snprintf(csv, sizeof(csv), "t,want,from,to\n09:00,08:00,%s,%s\n", town->stops[0].id,
             town->stops[1].id);
    expect_replay_error(csv,
                        "\"request_time\": \"t\", \"desired_time\": \"want\", \"pickup_stop\": "
                        "\"from\", \"drop_stop\": \"to\"",
                        "hms", "bad.csv:2: column \"want\"", "before");
    snprintf(csv, sizeof(csv), "t,n,wc,from,to\n09:00,1,2,%s,%s\n", town->stops[0].id,
             town->stops[1].id);
    expect_replay_error(csv,
                        "\"request_time\": \"t\", \"passengers\": \"n\", \"wheelchairs\": \"wc\", "
                        "\"pickup_stop\": \"from\", \"drop_stop\": \"to\"",
                        "hms", "bad.csv:2: column \"wc\"", "wheelchairs");
    expect_replay_error("t,from,to\n09:00,nowhere,s1\n",
                        "\"request_time\": \"t\", \"pickup_stop\": \"from\", \"drop_stop\": \"to\"",
                        "hms", "bad.csv:2: column \"from\"", "\"nowhere\" is not a stop");
    snprintf(csv, sizeof(csv), "%s%s%s", hdr, good, good);
    expect_replay_error(csv, cols, "datetime", "request id \"g\" appears twice", NULL);

    /* a missing file */
    {
        sim_scenario *s = town_replay("missing.csv",
                                      "\"request_time\": \"t\", \"pickup_stop\": "
                                      "\"a\", \"drop_stop\": \"b\"",
                                      "hms", NULL);
        sim_demand d;
        char err[512];
        assert_int_equal(sim_demand_replay_read(s, town, &d, err, sizeof(err)), SIM_EOPEN);
        assert_non_null(strstr(err, "missing.csv"));
        sim_scenario_destroy(s);
    }
}

/* Byte flips and truncations of a small replay file: each read succeeds or
 * fails naming the file; none crashes (the sanitizer build checks). */
static void test_replay_damaged(void **state)
{
    const char *cols = "\"id\": \"id\", \"request_time\": \"t\", \"pickup_lat\": \"olat\", "
                       "\"pickup_lon\": \"olon\", \"drop_stop\": \"to\", \"passengers\": \"n\", "
                       "\"desired_time\": \"want\"";
    char csv[2048], bad[2048], err[512];
    sim_scenario *s;
    sim_rng r;
    size_t n;

    (void)state;
    n = (size_t)snprintf(csv, sizeof(csv),
                         "id,t,olat,olon,to,n,want\n"
                         "a,2024-04-01 08:10:00,%.6f,%.6f,%s,2,\n"
                         "\"b,1\",2024-04-01 09:00:30,%.6f,%.6f,%s,1,2024-04-01 09:30:00\n"
                         "c,2024-04-01 10:00:00,%.6f,%.6f,%s,3,\n",
                         town->stops[0].lat, town->stops[0].lon, town->stops[1].id,
                         town->stops[2].lat, town->stops[2].lon, town->stops[3].id,
                         town->stops[4].lat, town->stops[4].lon, town->stops[0].id);
    s = town_replay("damaged.csv", cols, "datetime", NULL);
    sim_rng_seed(&r, 5);
    for (int k = 0; k < 600; k++) {
        sim_demand d;
        size_t len = n;
        memcpy(bad, csv, n + 1);
        if (k < 200) {
            len = (size_t)sim_rng_below(&r, (int)n);
            bad[len] = '\0';
        } else {
            static const char junk[] = ",\"\n\r:-. 9aZ\x01\xff";
            bad[sim_rng_below(&r, (int)n)] = junk[sim_rng_below(&r, (int)sizeof(junk) - 1)];
        }
        write_tmp("damaged.csv", bad);
        if (sim_demand_replay_read(s, town, &d, err, sizeof(err)) == 0) {
            assert_true(d.n <= 3);
            sim_demand_cleanup(&d);
        } else {
            assert_non_null(strstr(err, "damaged.csv"));
            assert_int_equal(d.n, 0);
        }
    }
    sim_scenario_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),      cmocka_unit_test(test_shares),
        cmocka_unit_test(test_rates_keep_trips), cmocka_unit_test(test_hours_and_profile),
        cmocka_unit_test(test_generate_crowfly), cmocka_unit_test(test_replay_nyc),
        cmocka_unit_test(test_replay_town),      cmocka_unit_test(test_replay_malformed),
        cmocka_unit_test(test_replay_damaged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
