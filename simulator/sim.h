/*
 * sim.h - the planners' simulator: a whole service day run offline against
 * the dispatcher core, in simulated time.  Its drivers report what happens
 * through the service day's tablet rules (dispatcher/svc_tablet.h), like a
 * real tablet does.
 *
 * Pieces (one file each):
 *   scenario.c  reads and validates a scenario JSON (docs/scenario-format.md)
 *   demand.c    the day's requests: generated from the area's zones and POIs,
 *               or replayed from a CSV with a stated column mapping
 *   engine.c    the event loop in simulated time: requests arrive, riders
 *               confirm or cancel, vans drive their plans with noisy travel
 *               times, the dispatcher hears only what a real one would
 *   report.c    outputs: trips.csv, stops.csv, kpis.json, report.html, and
 *               a fleet sweep's sweep.csv (the CLI runs one day per size)
 *   rng.c       the simulator's random numbers (solver/rng.h underneath)
 *   httpc.c, wsc.c, loadgen.c, tablets.c  the load tools: HTTP and
 *               WebSocket clients, the booking load generator, simulated
 *               driver tablets
 *
 * Times are whole seconds from midnight of the service day.  Everything is
 * deterministic for a given scenario and seed (own PRNG, no clock reads in
 * what is decided).
 */
#ifndef NORIAI_SIM_H
#define NORIAI_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "data/area/area.h"
#include "solver/rng.h"

#define SIM_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(SCENARIO, -4, "invalid scenario")                                                            \
    X(DEMAND, -5, "invalid demand input")                                                          \
    X(AREA, -6, "cannot load the area")                                                            \
    X(WRITE, -7, "cannot write output")                                                            \
    X(DISPATCH, -8, "dispatcher error")

enum {
#define SIM_ERR_ENUM(name, code, msg) SIM_E##name = (code),
    SIM_ERRNO_MAP(SIM_ERR_ENUM)
#undef SIM_ERR_ENUM
};

const char *sim_strerror(int err);

/* Bounds on what a scenario or a demand file may ask for. */
#define SIM_MAX_VEHICLES 10000
#define SIM_MAX_REQUESTS 1000000

/* "HH:MM" or "HH:MM:SS", hours up to 48, into seconds: 0 or SIM_EINVAL. */
int sim_parse_clock(const char *s, int *out_s);
/* Seconds as "HH:MM" (or "HH:MM:SS" when not whole minutes), "-" before negatives. */
void sim_format_clock(int t_s, char *buf, size_t len);

/* ---- deterministic random numbers ----
 * The shared xoshiro256** of solver/rng.h under the simulator's names; only
 * the draws the simulator alone needs (normal, pick) are its own. */

typedef slv_rng sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
double sim_rng_uniform(sim_rng *r);             /* [0, 1) */
int sim_rng_below(sim_rng *r, int n);           /* 0..n-1, unbiased */
double sim_rng_normal(sim_rng *r);              /* N(0, 1) */
/* Index drawn with probability weight[i] / sum; -1 if all weights are 0. */
int sim_rng_pick(sim_rng *r, const double *weight, int n);

/* ---- scenario ---- */

#define SIM_MAX_CONFIGS 4
#define SIM_MAX_BREAKS 4

typedef struct sim_break {
    int earliest_s, latest_s; /* window for the start of the break */
    int duration_s;
} sim_break;

typedef struct sim_vehicle_def {
    char *id;                 /* unique, e.g. "van1" */
    int n_configs;
    int seats[SIM_MAX_CONFIGS];      /* per configuration */
    int wheelchairs[SIM_MAX_CONFIGS];
    int depot_stop;           /* area stop index */
    int shift_start_s, shift_end_s;
    int n_breaks;
    sim_break breaks[SIM_MAX_BREAKS];
    int fail_at_s;            /* taken out of service at this time, -1 never */
    /* The depot as written: a stop id (depot_ref), a point (depot_is_point),
     * or neither (the area's depot stop).  sim_scenario_resolve sets
     * depot_stop and depot_lat/lon; in an area without stops (crow-fly) the
     * depot is a free point and depot_stop is -1. */
    char *depot_ref;
    int depot_is_point;
    double depot_lat, depot_lon;
} sim_vehicle_def;

typedef enum sim_area_kind { SIM_AREA_SYNTH = 0, SIM_AREA_BUNDLE, SIM_AREA_CROWFLY } sim_area_kind;

typedef struct sim_service {
    int start_s, end_s;        /* service hours (pickups) */
    int max_wait_s;            /* ASAP: pickup no later than request + this */
    double ride_alpha;         /* max ride = alpha * direct + beta */
    int ride_beta_s;
    int window_s;              /* width of the promised pickup window */
    int min_lead_s;            /* earliest pickup after the request (same-day) */
    int max_lead_days;         /* 0: same day only; 1: day before allowed */
    int pickup_service_s, drop_service_s, wheelchair_service_s;
    int offer_ttl_s;           /* an unconfirmed offer expires after this */
    int noshow_wait_s;         /* a van waits this long past the window start */
    double max_snap_m;         /* request points further than this from a stop are refused */
} sim_service;

typedef struct sim_demand_gen {
    int trips;                 /* requests per day (outbound + returns) */
    double hourly[24];         /* relative weights of request times by hour */
    double return_share;       /* share of outbound trips that get a return trip */
    double prebooked_share;    /* share booked the day before (rest: on the day) */
    double asap_share;         /* of same-day requests, share "as soon as possible" */
    double arrive_by_share;    /* of timed requests, share "arrive by" */
    double group2_share, group3_share; /* parties of 2 / 3 */
    double wheelchair_share;
    double poi_share;          /* destinations at POIs (rest: other stops) */
} sim_demand_gen;

typedef struct sim_demand_replay {
    char *path;
    /* Column names in the file (header row) for each field; NULL: absent. */
    char *col_id, *col_time, *col_o_lat, *col_o_lon, *col_d_lat, *col_d_lon;
    char *col_o_stop, *col_d_stop, *col_passengers, *col_wheelchairs, *col_desired;
    char *time_format;         /* "datetime" (YYYY-MM-DD HH:MM:SS), "hms" (HH:MM[:SS]), "seconds" */
    int limit;                 /* 0: all rows */
    double time_scale;         /* 1.0; request times may be compressed onto service hours */
} sim_demand_replay;

typedef struct sim_disruptions {
    double travel_noise;       /* sigma of the log-normal factor on each drive; 0: none */
    double late_bias;          /* mean extra factor (0.05: 5% slower on average) */
    double no_show_rate;
    double cancel_rate;        /* share of confirmed bookings cancelled before pickup */
    double decline_rate;       /* share of offers not confirmed (they expire) */
} sim_disruptions;

typedef struct sim_dispatch {
    int replan_interval_s;     /* 0: no periodic re-plan */
    long replan_iterations;    /* LNS iterations per re-plan (deterministic budget) */
    int replan_glpk;
    double replan_time_limit_s; /* wall-clock cap on top, <= 0: none */
} sim_dispatch;

typedef struct sim_sweep {
    int n_fleet;               /* fleet sizes to try (0: no sweep) */
    int fleet[64];
} sim_sweep;

typedef struct sim_scenario {
    char *name;
    char *path;                /* file it came from; relative paths are taken from its folder */
    uint64_t seed;
    sim_area_kind area_kind;
    uint64_t synth_seed;
    area_synth_size synth_size;
    char *bundle_dir;
    net_crowfly crowfly;       /* SIM_AREA_CROWFLY: travel model */
    int has_bbox;              /* SIM_AREA_CROWFLY: bbox given (replay points outside are skipped) */
    double bbox[4];            /* min_lon, min_lat, max_lon, max_lat */
    sim_service service;
    int n_vehicles;
    sim_vehicle_def *vehicles;
    int demand_is_replay;
    sim_demand_gen gen;
    sim_demand_replay replay;
    sim_disruptions dis;
    sim_dispatch dispatch;
    sim_sweep sweep;
} sim_scenario;

/* Every field at its documented default (docs/scenario-format.md); no vehicles, no strings. */
void sim_scenario_defaults(sim_scenario *s);
/* Reads and validates path (docs/scenario-format.md).  Errors name the file and the JSON path:
 * "demo.json: fleet.vehicles[2].seats: must be a positive integer (at most 200), found 0". */
int sim_scenario_load(const char *path, sim_scenario **out, char *err, size_t err_len);
void sim_scenario_destroy(sim_scenario *s);
/* Stop references in the scenario (depots) are resolved against the area. */
int sim_scenario_resolve(sim_scenario *s, const area *a, char *err, size_t err_len);
/* The scenario's area: area_synth, area_load of the bundle, or for crow-fly an
 * area with no stops (model AREA_CROWFLY, the scenario's bbox or the whole
 * world).  Freed with area_destroy. */
int sim_scenario_area(const sim_scenario *s, area **out, char *err, size_t err_len);
/* A copy with the fleet set to n vans (cycling the defined vehicles). */
int sim_scenario_with_fleet(const sim_scenario *s, int n, sim_scenario **out);

/* ---- demand ---- */

typedef enum sim_when { SIM_ASAP = 0, SIM_DEPART_AFTER, SIM_ARRIVE_BY } sim_when;

typedef struct sim_place {
    double lat, lon;
    int stop;                  /* area stop index; -1 for a free point (crow-fly areas) */
} sim_place;

typedef struct sim_request {
    char *id;
    int request_s;             /* when the request is made; negative: the day before */
    sim_place pickup, drop;
    sim_when when;
    int desired_s;             /* depart after / arrive by time; ASAP: request_s */
    int passengers;            /* riders in the party, >= 1 */
    int wheelchairs;           /* of them in wheelchairs */
    int prebooked;             /* booked the day before */
    int is_return;             /* return leg of an earlier trip */
    /* Drawn in advance so runs are reproducible: */
    int will_decline;          /* offer left to expire */
    int will_cancel;           /* cancels after confirming... */
    int cancel_s;              /* ...at this time */
    int will_no_show;
} sim_request;

typedef struct sim_demand {
    int n;
    sim_request *req;          /* sorted by request_s, then id */
    int skipped;               /* replay rows outside the area / service (counted, reported) */
    int skipped_far;           /* of them: a point further than max_snap_m from a stop / off the bbox */
    int skipped_hours;         /* of them: pickup time outside the service hours */
} sim_demand;

int sim_demand_generate(const sim_scenario *s, const area *a, sim_demand *out, char *err,
                        size_t err_len);
int sim_demand_replay_read(const sim_scenario *s, const area *a, sim_demand *out, char *err,
                           size_t err_len);
void sim_demand_cleanup(sim_demand *d);
/* Drive between two places: the area's matrix between stops, else crow-fly
 * over the coordinates with the area's crow-fly model. */
void sim_place_travel(const area *a, const sim_place *from, const sim_place *to, int32_t *time_s,
                      int32_t *dist_m);

/* ---- results ---- */

typedef struct sim_trip {
    const sim_request *req;
    char status[16];           /* dropped_off, rejected, expired, cancelled, no_show, ... */
    char reason[48];           /* rejection reason, "" */
    int promise_from_s, promise_to_s, latest_dropoff_s; /* -1 where none */
    int pickup_s, dropoff_s;   /* actual, -1 where none */
    int direct_s;              /* direct drive time pickup -> drop */
    int vehicle;               /* index into vehicle defs, -1 */
    double offer_ms;           /* time the dispatcher took to answer, -1 */
} sim_trip;

typedef struct sim_stop_rec {
    int vehicle, seq;
    int stop;                  /* area stop index, -1 for a free point */
    double lat, lon;
    int arrival_s, departure_s;
    char *boarded, *alighted;  /* request ids joined by ';' (owned) */
    int seats_used, wheelchairs_used; /* on board when leaving */
    int drive_s, drive_m;      /* from the previous stop (actual) */
    int empty_drive;           /* the drive to this stop was with no one on board */
    char kind[12];             /* "stop", "depot", "break" */
} sim_stop_rec;

typedef struct sim_result {
    const sim_scenario *scn;
    const area *area;
    int n_trips;
    sim_trip *trips;
    int n_stops, cap_stops;
    sim_stop_rec *stops;
    int n_vehicles;
    int *veh_first_s, *veh_last_s; /* service start/end per vehicle (-1 unused) */
    double wall_s;
    long replans, replans_adopted;
    /* the drivers' reports, through the service day's tablet rules
     * (dispatcher/svc_tablet.h); a refusal makes sim_run fail */
    long tablet_events, tablet_refusals;
} sim_result;

void sim_result_cleanup(sim_result *r);

typedef struct sim_kpis {
    int requests, served, rejected, expired, cancelled, no_show;
    double wait_mean_s, wait_p95_s, ride_time_mean_s, detour_factor_mean;
    double promise_kept_share;
    double vehicle_km, vehicle_hours, passengers_per_vehicle_hour;
    double occupancy_mean, empty_km_share;
    double offer_ms_p50, offer_ms_p99;
    double wall_s;
    /* extras (also in kpis.json and sweep rows) */
    int passengers_served;     /* riders (party sizes) of the served trips */
    int vehicles_used;         /* vans that carried at least one rider */
    double wait_p50_s, wait_max_s, ride_time_p95_s;
    double dropoff_kept_share; /* served trips dropped off by their latest drop-off */
    double service_rate;       /* served / requests */
    int tablet_events;         /* driver reports through the tablet rules */
} sim_kpis;

/*
 * Definitions (docs/scenario-format.md, "Outputs"):
 *   served: status "dropped_off"; wait = pickup_s minus the rider's reference
 *   time: request_s for ASAP, desired_s for depart-after, promise_from_s for
 *   arrive-by; ride = dropoff_s - pickup_s; detour = ride / direct_s;
 *   promise kept = promise_from_s <= pickup_s <= promise_to_s (over served
 *   trips with a promise; 1.0 when there are none); vehicle_hours = sum of
 *   veh_last_s - veh_first_s; occupancy_mean = passenger-km / vehicle-km (the
 *   riders on board each drive, weighted by its length); empty_km_share =
 *   km of drives with empty_drive set / all km; percentiles are nearest-rank.
 *   Means over empty sets are 0.
 */
void sim_kpis_compute(const sim_result *r, sim_kpis *k);
/* Writes trips.csv, stops.csv, kpis.json and report.html into dir (created). */
int sim_report_write(const sim_result *r, const char *dir, char *err, size_t err_len);
/* kpis.json alone (name: scenario name or NULL). */
int sim_kpis_write_json(const sim_kpis *k, const char *name, const char *path, char *err,
                        size_t err_len);
/* A sweep's table: a header "<param>,requests,served,...", then one row per
 * run with values[i] and the KPIs of kpis[i]. */
int sim_sweep_write_csv(const char *path, const char *param, const double *values,
                        const sim_kpis *kpis, int n, char *err, size_t err_len);

/* ---- running ---- */

typedef struct sim_run_opts {
    int progress;              /* progress bar on stderr */
} sim_run_opts;

/* Runs one day. */
int sim_run(const sim_scenario *s, const area *a, const sim_demand *d, const sim_run_opts *o,
            sim_result *out, char *err, size_t err_len);

#endif
