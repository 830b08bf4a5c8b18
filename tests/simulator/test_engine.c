/*
 * test_engine.c - whole simulated days, end to end, checked by the
 * independent audit (audit.h) from the output files alone.
 *
 * Each case writes a small scenario on a synthetic town, runs it through the
 * same calls `noriai simulate` makes (load, area, resolve, demand, sim_run,
 * report), and checks the outcome its disruption should have.
 *
 * The simulated drivers report through the tablet rules (svc_tablet.h), and
 * sim_run fails when any of their events was refused (a simulator bug), so
 * every day here also asserts that no tablet event was refused.
 */
#include <setjmp.h> /* cmocka needs these four first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "simulator/sim.h"
#include "testutil.h"

typedef struct day {
    char dir[64];
    char out[64];
    sim_scenario *s;
    area *a;
    sim_demand dm;
    sim_result res;
    sim_kpis k;
} day;

static const char *const BASE =
    "{\"name\": \"t\", \"seed\": %d,"
    " \"area\": {\"synthetic\": {\"seed\": 5, \"size\": \"small\"}},"
    " \"service\": {\"hours\": [\"08:00\", \"13:00\"], \"window_min\": 10,"
    "   \"ride_time\": {\"alpha\": 1.5, \"beta_min\": 10}, \"no_show_wait_min\": 3},"
    " \"fleet\": {\"vehicles\": [%s]},"
    " \"demand\": {\"generated\": {\"trips\": %d, \"return_share\": 0.3,"
    "   \"prebooked_share\": 0.4, \"wheelchair_share\": 0.1}},"
    " \"disruptions\": {%s},"
    " \"dispatcher\": {\"replan_interval_s\": 600, \"replan_iterations\": 150}}";

static const char *const VANS3 =
    "{\"id\": \"van\", \"count\": 3, \"configs\": [{\"seats\": 6}, {\"seats\": 4, "
    "\"wheelchairs\": 1}], \"shift\": [\"07:30\", \"14:00\"]}";

static void run_day(day *d, int seed, const char *vans, int trips, const char *dis)
{
    char path[128], err[512] = "", json[4096];
    FILE *f;

    memset(d, 0, sizeof(*d));
    assert_int_equal(tu_tmpdir_create(d->dir, sizeof(d->dir), "engine"), 0);
    snprintf(path, sizeof(path), "%s/scn.json", d->dir);
    snprintf(json, sizeof(json), BASE, seed, vans, trips, dis);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    if (sim_scenario_load(path, &d->s, err, sizeof(err)) != 0)
        fail_msg("scenario: %s", err);
    if (sim_scenario_area(d->s, &d->a, err, sizeof(err)) != 0 ||
        sim_scenario_resolve(d->s, d->a, err, sizeof(err)) != 0)
        fail_msg("area: %s", err);
    if (sim_demand_generate(d->s, d->a, &d->dm, err, sizeof(err)) != 0)
        fail_msg("demand: %s", err);
    /* Fails on any tablet refusal too (tablet_refusals must be 0). */
    if (sim_run(d->s, d->a, &d->dm, NULL, &d->res, err, sizeof(err)) != 0)
        fail_msg("run: %s", err);
    sim_kpis_compute(&d->res, &d->k);
    snprintf(d->out, sizeof(d->out), "%s", d->dir);
    if (sim_report_write(&d->res, d->out, err, sizeof(err)) != 0)
        fail_msg("report: %s", err);
}

static void free_day(day *d)
{
    sim_result_cleanup(&d->res);
    sim_demand_cleanup(&d->dm);
    area_destroy(d->a);
    sim_scenario_destroy(d->s);
    tu_tmpdir_remove(d->dir);
}

/* Travel between two locations of stops.csv, by the area's matrix. */
static int find_stop(const area *a, const char *id)
{
    for (int i = 0; i < a->n_stops; i++)
        if (strcmp(a->stops[i].id, id) == 0)
            return i;
    return -1;
}

static int travel(void *ud, const char *from, const char *to)
{
    const area *a = ud;
    int i = find_stop(a, from), j = find_stop(a, to);
    int32_t t, m;

    if (i < 0 || j < 0)
        return -1;
    area_travel(a, i, j, &t, &m);
    return t;
}

static int audit(day *d, double noise, int promises)
{
    audit_vehicle v[64];
    audit_opts o;

    memset(&o, 0, sizeof(o));
    assert_true(d->s->n_vehicles <= 64);
    for (int i = 0; i < d->s->n_vehicles; i++) {
        const sim_vehicle_def *vd = &d->s->vehicles[i];
        v[i].id = vd->id;
        v[i].n_configs = vd->n_configs;
        for (int k = 0; k < vd->n_configs; k++) {
            v[i].seats[k] = vd->seats[k];
            v[i].wheelchairs[k] = vd->wheelchairs[k];
        }
    }
    o.vehicles = v;
    o.n_vehicles = d->s->n_vehicles;
    o.travel = travel;
    o.travel_ud = d->a;
    o.noise_allowance = noise;
    o.ride_alpha = promises ? d->s->service.ride_alpha : 0;
    o.ride_beta_s = d->s->service.ride_beta_s;
    o.check_promises = promises;
    o.slack_s = 1;
    return audit_day(d->out, &o);
}

static int count_status(const day *d, const char *status)
{
    int n = 0;
    for (int i = 0; i < d->res.n_trips; i++)
        n += strcmp(d->res.trips[i].status, status) == 0;
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* No disruption: every promise kept, every rule holds, and the same seed
 * gives the same day byte for byte. */
static void test_calm_day(void **state)
{
    day d, e;
    char p1[128], p2[128];

    (void)state;
    run_day(&d, 1, VANS3, 60, "\"travel_noise\": 0");
    assert_true(d.k.served >= d.k.requests / 2);
    assert_int_equal(d.k.no_show, 0);
    assert_true(d.k.promise_kept_share == 1.0);
    assert_int_equal(audit(&d, 0.0, 1), 0);
    for (int i = 0; i < d.res.n_trips; i++) {
        const char *st = d.res.trips[i].status;
        /* At the end of the day nothing is left half done. */
        assert_true(strcmp(st, "dropped_off") == 0 || strcmp(st, "rejected") == 0 ||
                    strcmp(st, "expired") == 0 || strcmp(st, "cancelled") == 0);
    }
    run_day(&e, 1, VANS3, 60, "\"travel_noise\": 0");
    snprintf(p1, sizeof(p1), "%s/trips.csv", d.out);
    snprintf(p2, sizeof(p2), "%s/trips.csv", e.out);
    char *a = slurp(p1), *b = slurp(p2);
    /* offer_ms (wall clock) is the last column; compare everything before it. */
    for (char *s = a; *s; s++)
        if (*s == '\n')
            for (char *q = s - 1; q > a && *q != ','; q--)
                *q = 'x';
    for (char *s = b; *s; s++)
        if (*s == '\n')
            for (char *q = s - 1; q > b && *q != ','; q--)
                *q = 'x';
    assert_string_equal(a, b);
    free(a);
    free(b);
    snprintf(p1, sizeof(p1), "%s/stops.csv", d.out);
    snprintf(p2, sizeof(p2), "%s/stops.csv", e.out);
    a = slurp(p1);
    b = slurp(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free_day(&e);
    free_day(&d);
}

/* Every rider a no-show: nobody rides, each confirmed booking ends no_show
 * after the van waited. */
static void test_no_shows(void **state)
{
    day d;

    (void)state;
    run_day(&d, 2, VANS3, 30, "\"travel_noise\": 0, \"no_show_rate\": 1.0");
    assert_true(d.k.no_show > 0);
    assert_int_equal(d.k.served, 0);
    assert_int_equal(count_status(&d, "dropped_off"), 0);
    assert_int_equal(audit(&d, 0.0, 1), 0);
    free_day(&d);
}

/* Every rider cancels after confirming: all cancelled, nobody rides. */
static void test_cancellations(void **state)
{
    day d;

    (void)state;
    run_day(&d, 3, VANS3, 30, "\"travel_noise\": 0, \"cancel_rate\": 1.0");
    assert_true(d.k.cancelled > 0);
    assert_int_equal(d.k.served, 0);
    assert_int_equal(audit(&d, 0.0, 1), 0);
    free_day(&d);
}

/* Riders who cancel while their van drives to them: the van reaches a stop
 * that is no longer in its plan, where its tablet has nothing to report, and
 * its "departed" later tells the dispatcher it got there.  Such a visit is a
 * row of stops.csv away from the depot with nobody boarding or alighting. */
static void test_withdrawn_stops(void **state)
{
    day d;
    int withdrawn = 0;

    (void)state;
    run_day(&d, 1, VANS3, 120, "\"travel_noise\": 0, \"cancel_rate\": 0.3");
    for (int i = 0; i < d.res.n_stops; i++) {
        const sim_stop_rec *s = &d.res.stops[i];
        if (strcmp(s->kind, "stop") == 0 && s->boarded == NULL && s->alighted == NULL &&
            s->stop != d.s->vehicles[s->vehicle].depot_stop)
            withdrawn++;
    }
    assert_true(withdrawn >= 1);
    assert_true(d.k.cancelled > 0);
    assert_true(d.k.served > 0);
    assert_int_equal(audit(&d, 0.0, 1), 0);
    free_day(&d);
}

/* A van breaks down at 10:00: it serves nothing after, its riders are moved
 * or reported (cancelled, reason vehicle_lost), every other rule holds. */
static void test_breakdown(void **state)
{
    static const char *vans = "{\"id\": \"a\", \"seats\": 6, \"shift\": [\"07:30\", \"14:00\"]},"
                              "{\"id\": \"b\", \"seats\": 6, \"shift\": [\"07:30\", \"14:00\"], "
                              "\"out_of_service_at\": \"10:00\"},"
                              "{\"id\": \"c\", \"seats\": 6, \"shift\": [\"07:30\", \"14:00\"]}";
    day d;

    (void)state;
    run_day(&d, 4, vans, 60, "\"travel_noise\": 0");
    for (int i = 0; i < d.res.n_stops; i++) {
        const sim_stop_rec *s = &d.res.stops[i];
        /* Nothing after 10:00 but the leg it was on (riders get off there). */
        if (s->vehicle == 1 && strcmp(s->kind, "breakdown") != 0)
            assert_true(s->arrival_s <= 10 * 3600);
        if (s->vehicle == 1 && strcmp(s->kind, "breakdown") == 0)
            assert_true(s->boarded == NULL);
    }
    int end_b = 10 * 3600; /* or the end of the leg it was on */
    for (int i = 0; i < d.res.n_stops; i++)
        if (d.res.stops[i].vehicle == 1 && strcmp(d.res.stops[i].kind, "breakdown") == 0)
            end_b = d.res.stops[i].arrival_s;
    for (int i = 0; i < d.res.n_trips; i++) {
        const sim_trip *t = &d.res.trips[i];
        if (strcmp(t->status, "dropped_off") == 0 && t->vehicle == 1)
            assert_true(t->dropoff_s <= end_b);
        if (strcmp(t->status, "cancelled") == 0 && strcmp(t->reason, "vehicle_lost") == 0)
            assert_true(t->req->will_cancel == 0);
    }
    assert_true(d.k.served > 0);
    /* Riders on board at the breakdown finish their trip in another van:
     * capacity and travel still audit clean; promises may be broken. */
    assert_int_equal(audit(&d, 0.0, 0), 0);
    free_day(&d);
}

/* Vans much slower than planned: promises get broken (delayed), but every
 * trip still finishes and loads and travel stay consistent. */
static void test_late_vans(void **state)
{
    day d;

    (void)state;
    run_day(&d, 5, VANS3, 60, "\"travel_noise\": 0.3, \"late_bias\": 0.4");
    assert_true(d.k.served > 0);
    assert_true(d.k.promise_kept_share < 1.0);
    for (int i = 0; i < d.res.n_trips; i++) {
        const char *st = d.res.trips[i].status;
        assert_true(strcmp(st, "picked_up") != 0 && strcmp(st, "confirmed") != 0 &&
                    strcmp(st, "assigned") != 0 && strcmp(st, "offered") != 0);
    }
    assert_int_equal(audit(&d, 0.6, 0), 0);
    free_day(&d);
}

/* A driver's break: taken inside its window, at the depot, with nobody on
 * board, for its whole length. */
static void test_break(void **state)
{
    static const char *vans =
        "{\"id\": \"a\", \"seats\": 6, \"shift\": [\"07:30\", \"14:00\"],"
        " \"breaks\": [{\"window\": [\"10:00\", \"11:00\"], \"duration_min\": 30}]}";
    day d;
    int breaks = 0;

    (void)state;
    run_day(&d, 6, vans, 30, "\"travel_noise\": 0");
    for (int i = 0; i < d.res.n_stops; i++) {
        const sim_stop_rec *s = &d.res.stops[i];
        if (strcmp(s->kind, "break") != 0)
            continue;
        breaks++;
        assert_true(s->departure_s - s->arrival_s >= 30 * 60);
        assert_true(s->seats_used == 0 && s->wheelchairs_used == 0);
        assert_int_equal(s->stop, d.s->vehicles[0].depot_stop);
    }
    assert_int_equal(breaks, 1);
    assert_int_equal(audit(&d, 0.0, 1), 0);
    free_day(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calm_day),        cmocka_unit_test(test_no_shows),
        cmocka_unit_test(test_cancellations),   cmocka_unit_test(test_breakdown),
        cmocka_unit_test(test_late_vans),       cmocka_unit_test(test_break),
        cmocka_unit_test(test_withdrawn_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
