/*
 * scenario.c - reading and checking a scenario file (docs/scenario-format.md),
 * resolving its stop references against an area, and the fleet-size copies a
 * parameter sweep runs.
 *
 * A scenario is a planner's question in one JSON object: an area, service
 * rules, a fleet, the day's demand, disruptions and dispatcher settings.
 * Every object is checked strictly: an unknown key is an error (a misspelt
 * "max_wait_mn" must not fall back to a default unnoticed; "comment" is
 * allowed everywhere), every value is range-checked, and every message names
 * the file and the JSON path of the offending value, e.g.
 * "demo.json: fleet.vehicles[2].seats: must be a positive integer, found 0".
 * Syntax errors carry jansson's line and column instead.
 *
 * Loading never looks at the area: depots written as stop ids or points are
 * kept as written, and sim_scenario_resolve turns them into stop indices
 * once the area exists.  Paths in the file (area bundle, replay CSV) are
 * taken relative to the scenario's folder and stored joined.
 *
 * Bounds: the file is capped at SCN_MAX_FILE_BYTES before jansson sees it;
 * fleets at SIM_MAX_VEHICLES vans; every count and time has a stated range,
 * so nothing read here can make a later stage allocate without limit.
 */
#include "simulator/sim.h"
#include "data/json/jsonin.h"
#include "dispatcher/dsp.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCN_MAX_FILE_BYTES ((off_t)16 << 20)
#define SCN_MAX_TIME_S (48 * 3600) /* a service day may run past midnight */
#define SCN_MAX_ID 64

const char *sim_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SIM_ERR_CASE(name, code, msg)                                                              \
    case code:                                                                                     \
        return msg;
        SIM_ERRNO_MAP(SIM_ERR_CASE)
#undef SIM_ERR_CASE
    default:
        return "unknown error";
    }
}

int sim_parse_clock(const char *s, int *out_s)
{
    return dsp_clock_parse(s, out_s) < 0 ? SIM_EINVAL : 0;
}

void sim_format_clock(int t_s, char *buf, size_t len)
{
    dsp_clock_format(t_s, buf, len);
}

/* ------------------------------------------------------------------------ */
/* Defaults                                                                 */

/* Relative weights by hour: a clinic peak 8-10 h, a smaller midday bump and
 * an afternoon one; service hours cut the rest. */
static const double default_hourly[24] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.3, 1.0, 2.2, 2.0, 1.3, 1.0,
    1.1, 0.9, 1.2, 1.1, 0.9, 0.6, 0.4, 0.2, 0.1, 0.1, 0.0, 0.0,
};

void sim_scenario_defaults(sim_scenario *s)
{
    dsp_rules r;

    memset(s, 0, sizeof(*s));
    s->seed = 1;
    s->area_kind = SIM_AREA_SYNTH;
    s->synth_seed = 1;
    s->synth_size = AREA_SYNTH_TOWN;
    s->crowfly.detour = 1.3;
    s->crowfly.speed_kmh = 25;

    /* Service rules: the dispatcher's defaults (dsp_rules_default), which
     * the daemon's configuration starts from too. */
    dsp_rules_default(&r);
    s->service.start_s = r.service_start_s;
    s->service.end_s = r.service_end_s;
    s->service.max_wait_s = r.max_wait_s;
    s->service.ride_alpha = r.ride_alpha;
    s->service.ride_beta_s = r.ride_beta_s;
    s->service.window_s = r.window_s;
    s->service.min_lead_s = r.min_lead_s;
    s->service.max_lead_days = r.max_lead_s / 86400 - 1;
    s->service.pickup_service_s = r.pickup_service_s;
    s->service.drop_service_s = r.drop_service_s;
    s->service.wheelchair_service_s = r.wheelchair_service_s;
    s->service.offer_ttl_s = r.offer_ttl_s;
    s->service.noshow_wait_s = r.noshow_wait_s;
    s->service.max_snap_m = 400;

    s->gen.trips = 300;
    memcpy(s->gen.hourly, default_hourly, sizeof(default_hourly));
    s->gen.return_share = 0.6;
    s->gen.prebooked_share = 0.3;
    s->gen.asap_share = 0.5;
    s->gen.arrive_by_share = 0.3;
    s->gen.group2_share = 0.12;
    s->gen.group3_share = 0.03;
    s->gen.wheelchair_share = 0.05;
    s->gen.poi_share = 0.7;

    s->replay.limit = 0;
    s->replay.time_scale = 1.0;

    s->dispatch.replan_interval_s = 600;
    s->dispatch.replan_iterations = 300;
    s->dispatch.replan_glpk = 0;
    s->dispatch.replan_time_limit_s = 0;
}

static void vehicle_free(sim_vehicle_def *v)
{
    free(v->id);
    free(v->depot_ref);
    v->id = v->depot_ref = NULL;
}

void sim_scenario_destroy(sim_scenario *s)
{
    sim_demand_replay *r;

    if (s == NULL)
        return;
    r = &s->replay;
    for (int i = 0; i < s->n_vehicles; i++)
        vehicle_free(&s->vehicles[i]);
    free(s->vehicles);
    free(s->name);
    free(s->path);
    free(s->bundle_dir);
    free(r->path);
    free(r->col_id);
    free(r->col_time);
    free(r->col_o_lat);
    free(r->col_o_lon);
    free(r->col_d_lat);
    free(r->col_d_lon);
    free(r->col_o_stop);
    free(r->col_d_stop);
    free(r->col_passengers);
    free(r->col_wheelchairs);
    free(r->col_desired);
    free(r->time_format);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Reading context and value getters                                        */

typedef struct sctx {
    const char *path;
    char *err;
    size_t err_len;
    sim_scenario *s;
} sctx;

static int sfail(sctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int sfail(sctx *c, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->err != NULL && c->err_len > 0)
        snprintf(c->err, c->err_len, "%s: %s%s%s", c->path, where ? where : "",
                 where && *where ? ": " : "", msg);
    return SIM_ESCENARIO;
}

static int nomem(sctx *c)
{
    if (c->err != NULL && c->err_len > 0)
        snprintf(c->err, c->err_len, "%s: out of memory", c->path);
    return SIM_ENOMEM;
}

/* JSON paths for messages: "fleet.vehicles[2].seats"; cut short if too long. */
static void wpath(char *w, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void wpath(char *w, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w, len, fmt, ap);
    va_end(ap);
}

/* The strict-JSON checks are data/json's (jin_*); these wrappers put the
 * file name before its message and return the simulator's code. */
#define type_name jin_type_name

static int jfail(sctx *c, int rc, const char *msg)
{
    return rc < 0 ? sfail(c, NULL, "%s", msg) : 0;
}

/* obj must be an object whose keys are all in allowed (NULL-terminated) or
 * "comment". */
static int want_object(sctx *c, json_t *obj, const char *where, const char *const *allowed)
{
    char msg[512];

    return jfail(c, jin_object(obj, where, allowed, JIN_COMMENT, msg, sizeof(msg)), msg);
}

static int get_int(sctx *c, json_t *v, const char *where, long long lo, long long hi,
                   long long *out)
{
    char msg[512];

    return jfail(c, jin_int(v, where, lo, hi, 0, out, msg, sizeof(msg)), msg);
}

/* An int field of obj, if present. */
static int opt_int(sctx *c, json_t *obj, const char *key, const char *where, long long lo,
                   long long hi, int *out)
{
    char msg[512];

    return jfail(c, jin_opt_int(obj, key, where, (int)lo, (int)hi, out, msg, sizeof(msg)), msg);
}

static int get_number(sctx *c, json_t *v, const char *where, double lo, double hi, double *out)
{
    char msg[512];

    return jfail(c, jin_number(v, where, lo, hi, out, msg, sizeof(msg)), msg);
}

static int opt_number(sctx *c, json_t *obj, const char *key, const char *where, double lo,
                      double hi, double *out)
{
    char msg[512];

    return jfail(c, jin_opt_number(obj, key, where, lo, hi, out, msg, sizeof(msg)), msg);
}

/* A duration written in unit_s seconds (minutes: 60), rounded to seconds. */
static int opt_duration(sctx *c, json_t *obj, const char *key, const char *where, double max_s,
                        int unit_s, int *out_s)
{
    double x = -1;
    int rc = opt_number(c, obj, key, where, 0, max_s / unit_s, &x);

    if (rc == 0 && x >= 0)
        *out_s = (int)lround(x * unit_s);
    return rc;
}

static int opt_share(sctx *c, json_t *obj, const char *key, const char *where, double *out)
{
    return opt_number(c, obj, key, where, 0, 1, out);
}

static int opt_bool(sctx *c, json_t *obj, const char *key, const char *where, int *out)
{
    char msg[512];

    return jfail(c, jin_opt_bool(obj, key, where, out, msg, sizeof(msg)), msg);
}

/* A non-empty string of at most max_len characters, copied into *out
 * (replacing it). */
static int get_string(sctx *c, json_t *v, const char *where, size_t max_len, char **out)
{
    const char *s;
    char msg[512], *copy;
    int rc;

    if ((rc = jfail(c, jin_str(v, where, 1, max_len, 0, &s, msg, sizeof(msg)), msg)) < 0)
        return rc;
    if ((copy = strdup(s)) == NULL)
        return nomem(c);
    free(*out);
    *out = copy;
    return 0;
}

/* A time of day: "HH:MM", "HH:MM:SS" (hours up to 48) or seconds. */
static int get_time(sctx *c, json_t *v, const char *where, int *out_s)
{
    long long x;

    if (json_is_string(v)) {
        if (sim_parse_clock(json_string_value(v), out_s) < 0)
            return sfail(c, where,
                         "\"%s\" is not a time of day \"HH:MM\" or \"HH:MM:SS\" (up to 48:00)",
                         json_string_value(v));
        return 0;
    }
    if (json_is_number(v)) {
        int rc = get_int(c, v, where, 0, SCN_MAX_TIME_S, &x);
        if (rc == 0)
            *out_s = (int)x;
        return rc;
    }
    return sfail(c, where, "must be a time of day (\"HH:MM\" or seconds), found %s", type_name(v));
}

/* ["07:00", "19:00"]: from < to. */
static int get_span(sctx *c, json_t *v, const char *where, int *from_s, int *to_s)
{
    char w[256];
    int a, b, rc;

    if (!json_is_array(v) || json_array_size(v) != 2)
        return sfail(c, where, "must be [from, to], two times of day, found %s%s", type_name(v),
                     json_is_array(v) ? " of another length" : "");
    wpath(w, sizeof(w), "%s[0]", where);
    if ((rc = get_time(c, json_array_get(v, 0), w, &a)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s[1]", where);
    if ((rc = get_time(c, json_array_get(v, 1), w, &b)) < 0)
        return rc;
    if (b <= a)
        return sfail(c, where, "ends (%s) no later than it starts (%s)",
                     json_is_string(json_array_get(v, 1)) ? json_string_value(json_array_get(v, 1))
                                                          : "seconds",
                     json_is_string(json_array_get(v, 0)) ? json_string_value(json_array_get(v, 0))
                                                          : "seconds");
    *from_s = a;
    *to_s = b;
    return 0;
}

/* A path from the file, joined to the scenario's folder when relative. */
static int get_path(sctx *c, json_t *v, const char *where, char **out)
{
    char *raw = NULL, *joined;
    const char *slash = strrchr(c->path, '/');
    size_t dir_len, len;
    int rc;

    if ((rc = get_string(c, v, where, 4000, &raw)) < 0)
        return rc;
    if (raw[0] == '/' || slash == NULL) {
        free(*out);
        *out = raw;
        return 0;
    }
    dir_len = (size_t)(slash - c->path) + 1;
    len = dir_len + strlen(raw) + 1;
    joined = malloc(len);
    if (joined == NULL) {
        free(raw);
        return nomem(c);
    }
    memcpy(joined, c->path, dir_len);
    memcpy(joined + dir_len, raw, strlen(raw) + 1);
    free(raw);
    free(*out);
    *out = joined;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sections                                                                 */

static int read_area(sctx *c, json_t *v)
{
    static const char *const keys[] = {"synthetic", "bundle", "crowfly", NULL};
    static const char *const synth_keys[] = {"seed", "size", NULL};
    static const char *const fly_keys[] = {"detour", "speed_kmh", "bbox", NULL};
    sim_scenario *s = c->s;
    json_t *x;
    int kinds, rc;

    if ((rc = want_object(c, v, "area", keys)) < 0)
        return rc;
    kinds = (json_object_get(v, "synthetic") != NULL) + (json_object_get(v, "bundle") != NULL) +
            (json_object_get(v, "crowfly") != NULL);
    if (kinds != 1)
        return sfail(c, "area", "give exactly one of \"synthetic\", \"bundle\" or \"crowfly\"%s",
                     kinds ? " (found several)" : "");
    if ((x = json_object_get(v, "synthetic")) != NULL) {
        json_t *size;
        long long seed;
        s->area_kind = SIM_AREA_SYNTH;
        if ((rc = want_object(c, x, "area.synthetic", synth_keys)) < 0)
            return rc;
        if (json_object_get(x, "seed") != NULL) {
            if ((rc = get_int(c, json_object_get(x, "seed"), "area.synthetic.seed", 0, LLONG_MAX,
                              &seed)) < 0)
                return rc;
            s->synth_seed = (uint64_t)seed;
        }
        if ((size = json_object_get(x, "size")) != NULL) {
            const char *t = json_is_string(size) ? json_string_value(size) : "";
            if (strcmp(t, "small") == 0)
                s->synth_size = AREA_SYNTH_SMALL;
            else if (strcmp(t, "town") == 0)
                s->synth_size = AREA_SYNTH_TOWN;
            else if (strcmp(t, "city") == 0)
                s->synth_size = AREA_SYNTH_CITY;
            else
                return sfail(c, "area.synthetic.size",
                             "must be \"small\", \"town\" or \"city\", found %s%s%s",
                             json_is_string(size) ? "\"" : "",
                             json_is_string(size) ? t : type_name(size),
                             json_is_string(size) ? "\"" : "");
        }
    } else if ((x = json_object_get(v, "bundle")) != NULL) {
        s->area_kind = SIM_AREA_BUNDLE;
        if ((rc = get_path(c, x, "area.bundle", &s->bundle_dir)) < 0)
            return rc;
    } else {
        json_t *bbox;
        x = json_object_get(v, "crowfly");
        s->area_kind = SIM_AREA_CROWFLY;
        if ((rc = want_object(c, x, "area.crowfly", fly_keys)) < 0 ||
            (rc = opt_number(c, x, "detour", "area.crowfly", 1, 5, &s->crowfly.detour)) < 0 ||
            (rc = opt_number(c, x, "speed_kmh", "area.crowfly", 1, 200, &s->crowfly.speed_kmh)) < 0)
            return rc;
        if ((bbox = json_object_get(x, "bbox")) != NULL) {
            static const double lo[4] = {-180, -90, -180, -90}, hi[4] = {180, 90, 180, 90};
            char w[64];
            if (!json_is_array(bbox) || json_array_size(bbox) != 4)
                return sfail(c, "area.crowfly.bbox",
                             "must be [min_lon, min_lat, max_lon, max_lat], found %s%s",
                             type_name(bbox), json_is_array(bbox) ? " of another length" : "");
            for (int i = 0; i < 4; i++) {
                wpath(w, sizeof(w), "area.crowfly.bbox[%d]", i);
                if ((rc = get_number(c, json_array_get(bbox, (size_t)i), w, lo[i], hi[i],
                                     &s->bbox[i])) < 0)
                    return rc;
            }
            if (s->bbox[2] <= s->bbox[0] || s->bbox[3] <= s->bbox[1])
                return sfail(c, "area.crowfly.bbox", "is empty (max below min)");
            s->has_bbox = 1;
        }
    }
    return 0;
}

static int read_service(sctx *c, json_t *v)
{
    static const char *const keys[] = {
        "hours",   "max_wait_min", "ride_time",        "window_min", "lead_time",
        "dwell_s", "offer_ttl_s",  "no_show_wait_min", "max_snap_m", NULL};
    static const char *const ride_keys[] = {"alpha", "beta_min", NULL};
    static const char *const lead_keys[] = {"min_min", "max_days", NULL};
    static const char *const dwell_keys[] = {"pickup", "drop", "wheelchair", NULL};
    sim_service *sv = &c->s->service;
    json_t *x;
    int rc;

    if ((rc = want_object(c, v, "service", keys)) < 0)
        return rc;
    if ((x = json_object_get(v, "hours")) != NULL &&
        (rc = get_span(c, x, "service.hours", &sv->start_s, &sv->end_s)) < 0)
        return rc;
    if ((rc = opt_duration(c, v, "max_wait_min", "service", 86400, 60, &sv->max_wait_s)) < 0 ||
        (rc = opt_duration(c, v, "window_min", "service", 86400, 60, &sv->window_s)) < 0 ||
        (rc = opt_int(c, v, "offer_ttl_s", "service", 1, 86400, &sv->offer_ttl_s)) < 0 ||
        (rc = opt_duration(c, v, "no_show_wait_min", "service", 3600, 60, &sv->noshow_wait_s)) <
            0 ||
        (rc = opt_number(c, v, "max_snap_m", "service", 0, 1e6, &sv->max_snap_m)) < 0)
        return rc;
    if ((x = json_object_get(v, "ride_time")) != NULL) {
        if ((rc = want_object(c, x, "service.ride_time", ride_keys)) < 0 ||
            (rc = opt_number(c, x, "alpha", "service.ride_time", 1, 10, &sv->ride_alpha)) < 0 ||
            (rc = opt_duration(c, x, "beta_min", "service.ride_time", 86400, 60,
                               &sv->ride_beta_s)) < 0)
            return rc;
    }
    if ((x = json_object_get(v, "lead_time")) != NULL) {
        if ((rc = want_object(c, x, "service.lead_time", lead_keys)) < 0 ||
            (rc = opt_duration(c, x, "min_min", "service.lead_time", 86400, 60, &sv->min_lead_s)) <
                0 ||
            (rc = opt_int(c, x, "max_days", "service.lead_time", 0, 1, &sv->max_lead_days)) < 0)
            return rc;
    }
    if ((x = json_object_get(v, "dwell_s")) != NULL) {
        if ((rc = want_object(c, x, "service.dwell_s", dwell_keys)) < 0 ||
            (rc = opt_int(c, x, "pickup", "service.dwell_s", 0, 3600, &sv->pickup_service_s)) < 0 ||
            (rc = opt_int(c, x, "drop", "service.dwell_s", 0, 3600, &sv->drop_service_s)) < 0 ||
            (rc = opt_int(c, x, "wheelchair", "service.dwell_s", 0, 3600,
                          &sv->wheelchair_service_s)) < 0)
            return rc;
    }
    if (sv->window_s <= 0)
        return sfail(c, "service.window_min", "must be positive");
    return 0;
}

/* One capacity configuration {"seats": 8, "wheelchairs": 0}. */
static int read_config(sctx *c, json_t *v, const char *where, int *seats, int *wheelchairs)
{
    static const char *const keys[] = {"seats", "wheelchairs", NULL};
    char w[256];
    long long x;
    int rc;

    if ((rc = want_object(c, v, where, keys)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s.seats", where);
    if (json_object_get(v, "seats") == NULL)
        return sfail(c, w, "is missing (seats per van)");
    if (!json_is_integer(json_object_get(v, "seats")) ||
        json_integer_value(json_object_get(v, "seats")) < 1 ||
        json_integer_value(json_object_get(v, "seats")) > 200) {
        json_t *sv = json_object_get(v, "seats");
        if (json_is_integer(sv))
            return sfail(c, w,
                         "must be a positive integer (at most 200), found %" JSON_INTEGER_FORMAT,
                         json_integer_value(sv));
        return sfail(c, w, "must be a positive integer, found %s", type_name(sv));
    }
    *seats = (int)json_integer_value(json_object_get(v, "seats"));
    *wheelchairs = 0;
    if (json_object_get(v, "wheelchairs") != NULL) {
        wpath(w, sizeof(w), "%s.wheelchairs", where);
        if ((rc = get_int(c, json_object_get(v, "wheelchairs"), w, 0, 50, &x)) < 0)
            return rc;
        *wheelchairs = (int)x;
    }
    return 0;
}

/* One entry of fleet.vehicles, expanded into def[0..count-1]. */
static int read_vehicle_group(sctx *c, json_t *v, int index, sim_vehicle_def *proto, int *count)
{
    static const char *const keys[] = {
        "id",    "count",  "configs",           "seats", "wheelchairs", "depot",
        "shift", "breaks", "out_of_service_at", NULL};
    static const char *const break_keys[] = {"window", "duration_min", NULL};
    static const char *const point_keys[] = {"lat", "lon", NULL};
    sim_service *sv = &c->s->service;
    char where[64], w[256];
    json_t *x;
    long long n;
    int rc;

    wpath(where, sizeof(where), "fleet.vehicles[%d]", index);
    if ((rc = want_object(c, v, where, keys)) < 0)
        return rc;
    wpath(w, sizeof(w), "%s.id", where);
    if ((x = json_object_get(v, "id")) == NULL)
        return sfail(c, w, "is missing (a name for the van, e.g. \"van\")");
    if ((rc = get_string(c, x, w, SCN_MAX_ID, &proto->id)) < 0)
        return rc;
    *count = 0;
    if ((x = json_object_get(v, "count")) != NULL) {
        wpath(w, sizeof(w), "%s.count", where);
        if (!json_is_integer(x) || json_integer_value(x) < 1 ||
            json_integer_value(x) > SIM_MAX_VEHICLES) {
            if (json_is_integer(x))
                return sfail(
                    c, w,
                    "must be a positive number of vans (at most %d), found %" JSON_INTEGER_FORMAT,
                    SIM_MAX_VEHICLES, json_integer_value(x));
            return sfail(c, w, "must be a positive integer, found %s", type_name(x));
        }
        n = json_integer_value(x);
        *count = (int)n;
    }

    /* capacity: "configs", or "seats" (+ "wheelchairs") for a single one */
    if ((x = json_object_get(v, "configs")) != NULL) {
        wpath(w, sizeof(w), "%s.configs", where);
        if (json_object_get(v, "seats") != NULL || json_object_get(v, "wheelchairs") != NULL)
            return sfail(c, where,
                         "give either \"configs\" or \"seats\"/\"wheelchairs\", not both");
        if (!json_is_array(x) || json_array_size(x) < 1 || json_array_size(x) > SIM_MAX_CONFIGS)
            return sfail(c, w, "must be a list of 1 to %d configurations, found %s%s",
                         SIM_MAX_CONFIGS, type_name(x),
                         json_is_array(x) ? " of another length" : "");
        proto->n_configs = (int)json_array_size(x);
        for (int k = 0; k < proto->n_configs; k++) {
            wpath(w, sizeof(w), "%s.configs[%d]", where, k);
            if ((rc = read_config(c, json_array_get(x, (size_t)k), w, &proto->seats[k],
                                  &proto->wheelchairs[k])) < 0)
                return rc;
        }
    } else {
        json_t *one = json_object(); /* {"seats", "wheelchairs"} of the vehicle itself */
        if (one == NULL)
            return nomem(c);
        if (json_object_get(v, "seats") != NULL)
            json_object_set(one, "seats", json_object_get(v, "seats"));
        if (json_object_get(v, "wheelchairs") != NULL)
            json_object_set(one, "wheelchairs", json_object_get(v, "wheelchairs"));
        rc = read_config(c, one, where, &proto->seats[0], &proto->wheelchairs[0]);
        json_decref(one);
        if (rc < 0)
            return rc;
        proto->n_configs = 1;
    }

    /* depot: a stop id, {"lat", "lon"}, or the area's depot */
    if ((x = json_object_get(v, "depot")) != NULL) {
        wpath(w, sizeof(w), "%s.depot", where);
        if (json_is_string(x)) {
            if ((rc = get_string(c, x, w, 256, &proto->depot_ref)) < 0)
                return rc;
        } else if (json_is_object(x)) {
            if ((rc = want_object(c, x, w, point_keys)) < 0)
                return rc;
            if (json_object_get(x, "lat") == NULL || json_object_get(x, "lon") == NULL)
                return sfail(c, w, "a point needs both \"lat\" and \"lon\"");
            if ((rc = opt_number(c, x, "lat", w, -90, 90, &proto->depot_lat)) < 0 ||
                (rc = opt_number(c, x, "lon", w, -180, 180, &proto->depot_lon)) < 0)
                return rc;
            proto->depot_is_point = 1;
        } else {
            return sfail(c, w, "must be a stop id or {\"lat\", \"lon\"}, found %s", type_name(x));
        }
    }

    proto->shift_start_s = sv->start_s;
    proto->shift_end_s = sv->end_s;
    if ((x = json_object_get(v, "shift")) != NULL) {
        wpath(w, sizeof(w), "%s.shift", where);
        if ((rc = get_span(c, x, w, &proto->shift_start_s, &proto->shift_end_s)) < 0)
            return rc;
    }

    if ((x = json_object_get(v, "breaks")) != NULL) {
        wpath(w, sizeof(w), "%s.breaks", where);
        if (!json_is_array(x) || json_array_size(x) > SIM_MAX_BREAKS)
            return sfail(c, w, "must be a list of at most %d breaks, found %s%s", SIM_MAX_BREAKS,
                         type_name(x), json_is_array(x) ? " that is longer" : "");
        proto->n_breaks = (int)json_array_size(x);
        for (int k = 0; k < proto->n_breaks; k++) {
            json_t *b = json_array_get(x, (size_t)k);
            sim_break *br = &proto->breaks[k];
            char bw[256];
            wpath(w, sizeof(w), "%s.breaks[%d]", where, k);
            if ((rc = want_object(c, b, w, break_keys)) < 0)
                return rc;
            wpath(bw, sizeof(bw), "%s.window", w);
            if (json_object_get(b, "window") == NULL)
                return sfail(c, bw, "is missing (when the break may start, [from, to])");
            if ((rc = get_span(c, json_object_get(b, "window"), bw, &br->earliest_s,
                               &br->latest_s)) < 0)
                return rc;
            wpath(bw, sizeof(bw), "%s.duration_min", w);
            if (json_object_get(b, "duration_min") == NULL)
                return sfail(c, bw, "is missing (length of the break in minutes)");
            br->duration_s = 0;
            if ((rc = opt_duration(c, b, "duration_min", w, 8 * 3600, 60, &br->duration_s)) < 0)
                return rc;
            if (br->duration_s <= 0)
                return sfail(c, bw, "must be positive");
            if (br->earliest_s < proto->shift_start_s ||
                br->latest_s + br->duration_s > proto->shift_end_s)
                return sfail(c, w, "the break (window and duration) does not fit in the shift");
            if (k > 0 && br->earliest_s < proto->breaks[k - 1].earliest_s)
                return sfail(c, w, "breaks must be listed in order of their windows");
        }
    }

    proto->fail_at_s = -1;
    if ((x = json_object_get(v, "out_of_service_at")) != NULL) {
        wpath(w, sizeof(w), "%s.out_of_service_at", where);
        if ((rc = get_time(c, x, w, &proto->fail_at_s)) < 0)
            return rc;
    }
    return 0;
}

static int read_fleet(sctx *c, json_t *v)
{
    static const char *const keys[] = {"vehicles", NULL};
    sim_scenario *s = c->s;
    json_t *vehs;
    size_t n_groups;
    int rc = 0, total = 0;

    if ((rc = want_object(c, v, "fleet", keys)) < 0)
        return rc;
    vehs = json_object_get(v, "vehicles");
    if (vehs == NULL)
        return sfail(c, "fleet.vehicles", "is missing (the list of vans)");
    if (!json_is_array(vehs) || json_array_size(vehs) == 0)
        return sfail(c, "fleet.vehicles", "must be a non-empty list of vans, found %s%s",
                     type_name(vehs), json_is_array(vehs) ? " that is empty" : "");
    n_groups = json_array_size(vehs);
    if (n_groups > SIM_MAX_VEHICLES)
        return sfail(c, "fleet.vehicles", "more than %d entries", SIM_MAX_VEHICLES);

    /* First pass: counts, so the array is allocated once and bounded. */
    for (size_t g = 0; g < n_groups; g++) {
        json_t *cnt = json_is_object(json_array_get(vehs, g))
                          ? json_object_get(json_array_get(vehs, g), "count")
                          : NULL;
        long long n = 1;
        if (cnt != NULL && json_is_integer(cnt) && json_integer_value(cnt) >= 1 &&
            json_integer_value(cnt) <= SIM_MAX_VEHICLES)
            n = json_integer_value(cnt);
        total += (int)n;
        if (total > SIM_MAX_VEHICLES)
            return sfail(c, "fleet.vehicles", "more than %d vans in all", SIM_MAX_VEHICLES);
    }
    s->vehicles = calloc((size_t)total, sizeof(*s->vehicles));
    if (s->vehicles == NULL)
        return nomem(c);

    for (size_t g = 0; g < n_groups; g++) {
        sim_vehicle_def proto;
        int count = 0;
        memset(&proto, 0, sizeof(proto));
        rc = read_vehicle_group(c, json_array_get(vehs, g), (int)g, &proto, &count);
        for (int k = 0; rc == 0 && k < (count ? count : 1); k++) {
            sim_vehicle_def *d = &s->vehicles[s->n_vehicles];
            char id[SCN_MAX_ID + 16];
            *d = proto;
            d->id = d->depot_ref = NULL;
            if (count)
                snprintf(id, sizeof(id), "%s%d", proto.id, k + 1);
            else
                snprintf(id, sizeof(id), "%s", proto.id);
            d->id = strdup(id);
            d->depot_ref = proto.depot_ref ? strdup(proto.depot_ref) : NULL;
            s->n_vehicles++;
            if (d->id == NULL || (proto.depot_ref && d->depot_ref == NULL))
                rc = nomem(c);
        }
        vehicle_free(&proto);
        if (rc < 0)
            return rc;
    }

    /* ids must be unique (quadratic, but fleets are small and this runs once) */
    for (int i = 0; i < s->n_vehicles; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(s->vehicles[i].id, s->vehicles[j].id) == 0)
                return sfail(c, "fleet.vehicles",
                             "two vans are called \"%s\" (a group with \"count\" gets ids "
                             "id1..idN)",
                             s->vehicles[i].id);
    return 0;
}

static int read_generated(sctx *c, json_t *v)
{
    static const char *const keys[] = {"trips",
                                       "hourly",
                                       "return_share",
                                       "prebooked_share",
                                       "asap_share",
                                       "arrive_by_share",
                                       "group2_share",
                                       "group3_share",
                                       "wheelchair_share",
                                       "poi_share",
                                       NULL};
    const char *where = "demand.generated";
    sim_demand_gen *g = &c->s->gen;
    json_t *x;
    int rc;

    if ((rc = want_object(c, v, where, keys)) < 0)
        return rc;
    if (json_object_get(v, "trips") == NULL)
        return sfail(c, "demand.generated.trips", "is missing (requests per day)");
    if ((rc = opt_int(c, v, "trips", where, 0, SIM_MAX_REQUESTS, &g->trips)) < 0 ||
        (rc = opt_share(c, v, "return_share", where, &g->return_share)) < 0 ||
        (rc = opt_share(c, v, "prebooked_share", where, &g->prebooked_share)) < 0 ||
        (rc = opt_share(c, v, "asap_share", where, &g->asap_share)) < 0 ||
        (rc = opt_share(c, v, "arrive_by_share", where, &g->arrive_by_share)) < 0 ||
        (rc = opt_share(c, v, "group2_share", where, &g->group2_share)) < 0 ||
        (rc = opt_share(c, v, "group3_share", where, &g->group3_share)) < 0 ||
        (rc = opt_share(c, v, "wheelchair_share", where, &g->wheelchair_share)) < 0 ||
        (rc = opt_share(c, v, "poi_share", where, &g->poi_share)) < 0)
        return rc;
    /* The default share is dropped quietly when the day before is not
     * bookable; one written explicitly is a contradiction worth a message. */
    if (json_object_get(v, "prebooked_share") != NULL && g->prebooked_share > 0 &&
        c->s->service.max_lead_days == 0)
        return sfail(c, "demand.generated.prebooked_share",
                     "is above 0 but service.lead_time.max_days is 0 (no booking the day before)");
    if (c->s->service.max_lead_days == 0)
        g->prebooked_share = 0;
    if (g->group2_share + g->group3_share > 1)
        return sfail(c, where, "group2_share + group3_share is above 1");
    if ((x = json_object_get(v, "hourly")) != NULL) {
        double sum = 0;
        if (!json_is_array(x) || json_array_size(x) != 24)
            return sfail(c, "demand.generated.hourly",
                         "must be a list of 24 weights (hours 0 to 23), found %s%s", type_name(x),
                         json_is_array(x) ? " of another length" : "");
        for (int h = 0; h < 24; h++) {
            char w[64];
            wpath(w, sizeof(w), "demand.generated.hourly[%d]", h);
            if ((rc = get_number(c, json_array_get(x, (size_t)h), w, 0, 1e6, &g->hourly[h])) < 0)
                return rc;
            sum += g->hourly[h];
        }
        if (sum <= 0)
            return sfail(c, "demand.generated.hourly", "all weights are zero");
    }
    return 0;
}

static int read_replay(sctx *c, json_t *v)
{
    static const char *const keys[] = {"file",  "columns",    "time_format",
                                       "limit", "time_scale", NULL};
    static const char *const col_keys[] = {
        "id",          "request_time", "pickup_lat", "pickup_lon",  "drop_lat",     "drop_lon",
        "pickup_stop", "drop_stop",    "passengers", "wheelchairs", "desired_time", NULL};
    sim_demand_replay *r = &c->s->replay;
    char **slot[] = {&r->col_id,         &r->col_time,        &r->col_o_lat,  &r->col_o_lon,
                     &r->col_d_lat,      &r->col_d_lon,       &r->col_o_stop, &r->col_d_stop,
                     &r->col_passengers, &r->col_wheelchairs, &r->col_desired};
    json_t *x, *cols;
    int rc;

    if ((rc = want_object(c, v, "demand.replay", keys)) < 0)
        return rc;
    if ((x = json_object_get(v, "file")) == NULL)
        return sfail(c, "demand.replay.file", "is missing (the CSV of requests)");
    if ((rc = get_path(c, x, "demand.replay.file", &r->path)) < 0)
        return rc;
    if ((cols = json_object_get(v, "columns")) == NULL)
        return sfail(c, "demand.replay.columns",
                     "is missing (which CSV column holds each field, e.g. {\"request_time\": "
                     "\"departure_time\", \"pickup_lat\": \"o_lat\", ...})");
    if ((rc = want_object(c, cols, "demand.replay.columns", col_keys)) < 0)
        return rc;
    for (int k = 0; col_keys[k] != NULL; k++) {
        char w[128];
        wpath(w, sizeof(w), "demand.replay.columns.%s", col_keys[k]);
        if ((x = json_object_get(cols, col_keys[k])) != NULL &&
            (rc = get_string(c, x, w, 256, slot[k])) < 0)
            return rc;
    }
    if (r->col_time == NULL)
        return sfail(c, "demand.replay.columns.request_time",
                     "is missing (the column with the time of each request)");
    if ((r->col_o_lat == NULL) != (r->col_o_lon == NULL))
        return sfail(c, "demand.replay.columns", "give both pickup_lat and pickup_lon, or neither");
    if ((r->col_d_lat == NULL) != (r->col_d_lon == NULL))
        return sfail(c, "demand.replay.columns", "give both drop_lat and drop_lon, or neither");
    if (r->col_o_lat == NULL && r->col_o_stop == NULL)
        return sfail(c, "demand.replay.columns",
                     "no pickup place: give pickup_lat and pickup_lon, or pickup_stop");
    if (r->col_d_lat == NULL && r->col_d_stop == NULL)
        return sfail(c, "demand.replay.columns",
                     "no drop-off place: give drop_lat and drop_lon, or drop_stop");
    if ((x = json_object_get(v, "time_format")) != NULL) {
        if ((rc = get_string(c, x, "demand.replay.time_format", 16, &r->time_format)) < 0)
            return rc;
        if (strcmp(r->time_format, "datetime") != 0 && strcmp(r->time_format, "hms") != 0 &&
            strcmp(r->time_format, "seconds") != 0)
            return sfail(c, "demand.replay.time_format",
                         "must be \"datetime\" (YYYY-MM-DD HH:MM:SS), \"hms\" (HH:MM[:SS]) or "
                         "\"seconds\", found \"%s\"",
                         r->time_format);
    } else if ((r->time_format = strdup("datetime")) == NULL) {
        return nomem(c);
    }
    if ((rc = opt_int(c, v, "limit", "demand.replay", 0, SIM_MAX_REQUESTS, &r->limit)) < 0 ||
        (rc = opt_number(c, v, "time_scale", "demand.replay", 0.01, 100, &r->time_scale)) < 0)
        return rc;
    return 0;
}

static int read_demand(sctx *c, json_t *v)
{
    static const char *const keys[] = {"generated", "replay", NULL};
    int kinds, rc;

    if ((rc = want_object(c, v, "demand", keys)) < 0)
        return rc;
    kinds = (json_object_get(v, "generated") != NULL) + (json_object_get(v, "replay") != NULL);
    if (kinds != 1)
        return sfail(c, "demand", "give exactly one of \"generated\" or \"replay\"%s",
                     kinds ? " (found both)" : "");
    if (json_object_get(v, "generated") != NULL)
        return read_generated(c, json_object_get(v, "generated"));
    c->s->demand_is_replay = 1;
    return read_replay(c, json_object_get(v, "replay"));
}

static int read_disruptions(sctx *c, json_t *v)
{
    static const char *const keys[] = {"travel_noise", "late_bias",    "no_show_rate",
                                       "cancel_rate",  "decline_rate", NULL};
    const char *where = "disruptions";
    sim_disruptions *d = &c->s->dis;
    int rc;

    if ((rc = want_object(c, v, where, keys)) < 0 ||
        (rc = opt_number(c, v, "travel_noise", where, 0, 2, &d->travel_noise)) < 0 ||
        (rc = opt_number(c, v, "late_bias", where, -0.5, 2, &d->late_bias)) < 0 ||
        (rc = opt_share(c, v, "no_show_rate", where, &d->no_show_rate)) < 0 ||
        (rc = opt_share(c, v, "cancel_rate", where, &d->cancel_rate)) < 0 ||
        (rc = opt_share(c, v, "decline_rate", where, &d->decline_rate)) < 0)
        return rc;
    return 0;
}

static int read_dispatcher(sctx *c, json_t *v)
{
    static const char *const keys[] = {"replan_interval_s", "replan_iterations", "glpk",
                                       "replan_time_limit_s", NULL};
    const char *where = "dispatcher";
    sim_dispatch *d = &c->s->dispatch;
    json_t *x;
    long long it;
    int rc;

    if ((rc = want_object(c, v, where, keys)) < 0 ||
        (rc = opt_int(c, v, "replan_interval_s", where, 0, 86400, &d->replan_interval_s)) < 0 ||
        (rc = opt_bool(c, v, "glpk", where, &d->replan_glpk)) < 0 ||
        (rc = opt_number(c, v, "replan_time_limit_s", where, 0, 3600, &d->replan_time_limit_s)) < 0)
        return rc;
    if ((x = json_object_get(v, "replan_iterations")) != NULL) {
        if ((rc = get_int(c, x, "dispatcher.replan_iterations", 0, 1000000000, &it)) < 0)
            return rc;
        d->replan_iterations = (long)it;
    }
    return 0;
}

static int read_sweep(sctx *c, json_t *v)
{
    static const char *const keys[] = {"fleet", NULL};
    sim_sweep *sw = &c->s->sweep;
    json_t *x;
    int rc;

    if ((rc = want_object(c, v, "sweep", keys)) < 0)
        return rc;
    if ((x = json_object_get(v, "fleet")) == NULL)
        return 0;
    if (!json_is_array(x) || json_array_size(x) < 1 ||
        json_array_size(x) > sizeof(sw->fleet) / sizeof(sw->fleet[0]))
        return sfail(c, "sweep.fleet", "must be a list of 1 to %zu fleet sizes, found %s%s",
                     sizeof(sw->fleet) / sizeof(sw->fleet[0]), type_name(x),
                     json_is_array(x) ? " of another length" : "");
    for (size_t i = 0; i < json_array_size(x); i++) {
        char w[64];
        long long n;
        wpath(w, sizeof(w), "sweep.fleet[%zu]", i);
        if ((rc = get_int(c, json_array_get(x, i), w, 1, SIM_MAX_VEHICLES, &n)) < 0)
            return rc;
        sw->fleet[sw->n_fleet++] = (int)n;
    }
    return 0;
}

/* Checks across sections, once everything is read. */
static int check_whole(sctx *c)
{
    sim_scenario *s = c->s;
    sim_service *sv = &s->service;

    for (int i = 0; i < s->n_vehicles; i++) {
        sim_vehicle_def *d = &s->vehicles[i];
        if (d->shift_end_s <= sv->start_s || d->shift_start_s >= sv->end_s)
            return sfail(c, "fleet.vehicles",
                         "van \"%s\": its shift does not overlap the service hours", d->id);
        if (s->area_kind == SIM_AREA_CROWFLY && d->depot_ref != NULL)
            return sfail(c, "fleet.vehicles",
                         "van \"%s\": depot \"%s\": a crow-fly area has no stops; give the depot "
                         "as {\"lat\", \"lon\"}",
                         d->id, d->depot_ref);
        if (s->area_kind == SIM_AREA_CROWFLY && !d->depot_is_point && !s->has_bbox)
            return sfail(c, "fleet.vehicles",
                         "van \"%s\": no depot: a crow-fly area without a bbox has no default "
                         "depot; give {\"lat\", \"lon\"}",
                         d->id);
    }
    return 0;
}

int sim_scenario_load(const char *path, sim_scenario **out, char *err, size_t err_len)
{
    static const char *const keys[] = {"name",   "seed",        "area",       "service", "fleet",
                                       "demand", "disruptions", "dispatcher", "sweep",   NULL};
    sim_scenario *s = NULL;
    json_t *root = NULL, *x;
    json_error_t jerr;
    struct stat st;
    sctx c;
    int rc = 0;

    *out = NULL;
    if (path == NULL)
        return SIM_EINVAL;
    c.path = path;
    c.err = err;
    c.err_len = err_len;
    if (stat(path, &st) != 0) {
        snprintf(err, err_len, "%s: cannot read the scenario (no such file?)", path);
        return SIM_EOPEN;
    }
    if (st.st_size > SCN_MAX_FILE_BYTES) {
        snprintf(err, err_len, "%s: scenario file larger than %lld bytes", path,
                 (long long)SCN_MAX_FILE_BYTES);
        return SIM_ESCENARIO;
    }
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (jerr.line <= 0) {
            snprintf(err, err_len, "%s: %s", path, jerr.text);
            return SIM_EOPEN;
        }
        snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return SIM_ESCENARIO;
    }
    s = malloc(sizeof(*s));
    if (s == NULL) {
        rc = nomem(&c);
        goto out;
    }
    sim_scenario_defaults(s);
    c.s = s;
    if ((s->path = strdup(path)) == NULL) {
        rc = nomem(&c);
        goto out;
    }
    if ((rc = want_object(&c, root, "top level", keys)) < 0)
        goto out;

    if ((x = json_object_get(root, "name")) != NULL) {
        if ((rc = get_string(&c, x, "name", 200, &s->name)) < 0)
            goto out;
    } else {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".json") == 0)
            n -= 5;
        if ((s->name = strndup(base, n)) == NULL) {
            rc = nomem(&c);
            goto out;
        }
    }
    if ((x = json_object_get(root, "seed")) != NULL) {
        long long seed;
        if ((rc = get_int(&c, x, "seed", 0, LLONG_MAX, &seed)) < 0)
            goto out;
        s->seed = (uint64_t)seed;
    }

    /* In this order: the fleet's default shift is the service hours. */
    if ((x = json_object_get(root, "area")) == NULL) {
        rc = sfail(&c, "area",
                   "is missing ({\"synthetic\": {...}}, {\"bundle\": \"folder\"} or "
                   "{\"crowfly\": {...}})");
        goto out;
    }
    if ((rc = read_area(&c, x)) < 0)
        goto out;
    if ((x = json_object_get(root, "service")) != NULL && (rc = read_service(&c, x)) < 0)
        goto out;
    if ((x = json_object_get(root, "fleet")) == NULL) {
        rc = sfail(&c, "fleet", "is missing ({\"vehicles\": [...]})");
        goto out;
    }
    if ((rc = read_fleet(&c, x)) < 0)
        goto out;
    if ((x = json_object_get(root, "demand")) == NULL) {
        rc = sfail(&c, "demand", "is missing ({\"generated\": {...}} or {\"replay\": {...}})");
        goto out;
    }
    if ((rc = read_demand(&c, x)) < 0)
        goto out;
    if ((x = json_object_get(root, "disruptions")) != NULL && (rc = read_disruptions(&c, x)) < 0)
        goto out;
    if ((x = json_object_get(root, "dispatcher")) != NULL && (rc = read_dispatcher(&c, x)) < 0)
        goto out;
    if ((x = json_object_get(root, "sweep")) != NULL && (rc = read_sweep(&c, x)) < 0)
        goto out;
    rc = check_whole(&c);

out:
    json_decref(root);
    if (rc < 0) {
        sim_scenario_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Resolving against an area                                                */

int sim_scenario_resolve(sim_scenario *s, const area *a, char *err, size_t err_len)
{
    int default_depot = -1;

    if (s == NULL || a == NULL)
        return SIM_EINVAL;
    for (int i = 0; i < a->n_stops && default_depot < 0; i++)
        if (strcmp(a->stops[i].kind, "depot") == 0)
            default_depot = i;
    if (default_depot < 0 && a->n_stops > 0)
        default_depot = 0;

    for (int i = 0; i < s->n_vehicles; i++) {
        sim_vehicle_def *d = &s->vehicles[i];
        if (d->depot_ref != NULL) {
            int k = 0;
            while (k < a->n_stops && strcmp(a->stops[k].id, d->depot_ref) != 0)
                k++;
            if (k == a->n_stops) {
                snprintf(err, err_len, "%s: van \"%s\": depot: no stop \"%s\" in area \"%s\"",
                         s->path ? s->path : "scenario", d->id, d->depot_ref,
                         a->name ? a->name : "");
                return SIM_ESCENARIO;
            }
            d->depot_stop = k;
        } else if (d->depot_is_point && a->n_stops > 0) {
            double dist_m = 0;
            int k = area_nearest_stop(a, d->depot_lat, d->depot_lon, &dist_m);
            if (k < 0 || dist_m > s->service.max_snap_m) {
                snprintf(err, err_len,
                         "%s: van \"%s\": depot (%.6f, %.6f): the nearest stop is %.0f m away, "
                         "more than service.max_snap_m (%.0f m)",
                         s->path ? s->path : "scenario", d->id, d->depot_lat, d->depot_lon, dist_m,
                         s->service.max_snap_m);
                return SIM_ESCENARIO;
            }
            d->depot_stop = k;
        } else if (d->depot_is_point) {
            d->depot_stop = -1; /* a free point: crow-fly area */
            continue;
        } else if (default_depot >= 0) {
            d->depot_stop = default_depot;
        } else if (s->has_bbox) {
            d->depot_stop = -1;
            d->depot_lat = (s->bbox[1] + s->bbox[3]) / 2;
            d->depot_lon = (s->bbox[0] + s->bbox[2]) / 2;
            continue;
        } else {
            snprintf(err, err_len,
                     "%s: van \"%s\": no depot given and the area has no stops to take one from",
                     s->path ? s->path : "scenario", d->id);
            return SIM_ESCENARIO;
        }
        d->depot_lat = a->stops[d->depot_stop].lat;
        d->depot_lon = a->stops[d->depot_stop].lon;
    }
    return 0;
}

int sim_scenario_area(const sim_scenario *s, area **out, char *err, size_t err_len)
{
    area *a;
    int rc;

    *out = NULL;
    if (s == NULL)
        return SIM_EINVAL;
    if (s->area_kind == SIM_AREA_SYNTH) {
        rc = area_synth(s->synth_seed, s->synth_size, out, err, err_len);
        return rc < 0 ? SIM_EAREA : 0;
    }
    if (s->area_kind == SIM_AREA_BUNDLE) {
        rc = area_load(s->bundle_dir, out, err, err_len);
        return rc < 0 ? SIM_EAREA : 0;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return SIM_ENOMEM;
    a->model = AREA_CROWFLY;
    a->crowfly = s->crowfly;
    a->epsg = 4326;
    if (s->has_bbox) {
        memcpy(a->bbox, s->bbox, sizeof(a->bbox));
    } else {
        a->bbox[0] = -180;
        a->bbox[1] = -90;
        a->bbox[2] = 180;
        a->bbox[3] = 90;
    }
    a->name = strdup(s->name ? s->name : "crow-fly");
    a->attribution = strdup("");
    a->license = strdup("");
    if (a->name == NULL || a->attribution == NULL || a->license == NULL) {
        area_destroy(a);
        snprintf(err, err_len, "out of memory");
        return SIM_ENOMEM;
    }
    *out = a;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Copies for sweeps                                                        */

static char *dup_or_null(const char *s, int *failed)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

int sim_scenario_with_fleet(const sim_scenario *s, int n, sim_scenario **out)
{
    const sim_demand_replay *r;
    sim_scenario *c;
    int failed = 0, unique = 1;

    *out = NULL;
    if (s == NULL || n < 1 || n > SIM_MAX_VEHICLES || s->n_vehicles < 1)
        return SIM_EINVAL;
    c = malloc(sizeof(*c));
    if (c == NULL)
        return SIM_ENOMEM;
    *c = *s;
    r = &s->replay;
    c->name = dup_or_null(s->name, &failed);
    c->path = dup_or_null(s->path, &failed);
    c->bundle_dir = dup_or_null(s->bundle_dir, &failed);
    c->replay.path = dup_or_null(r->path, &failed);
    c->replay.col_id = dup_or_null(r->col_id, &failed);
    c->replay.col_time = dup_or_null(r->col_time, &failed);
    c->replay.col_o_lat = dup_or_null(r->col_o_lat, &failed);
    c->replay.col_o_lon = dup_or_null(r->col_o_lon, &failed);
    c->replay.col_d_lat = dup_or_null(r->col_d_lat, &failed);
    c->replay.col_d_lon = dup_or_null(r->col_d_lon, &failed);
    c->replay.col_o_stop = dup_or_null(r->col_o_stop, &failed);
    c->replay.col_d_stop = dup_or_null(r->col_d_stop, &failed);
    c->replay.col_passengers = dup_or_null(r->col_passengers, &failed);
    c->replay.col_wheelchairs = dup_or_null(r->col_wheelchairs, &failed);
    c->replay.col_desired = dup_or_null(r->col_desired, &failed);
    c->replay.time_format = dup_or_null(r->time_format, &failed);
    c->n_vehicles = 0;
    c->vehicles = calloc((size_t)n, sizeof(*c->vehicles));
    if (c->vehicles == NULL)
        failed = 1;

    /* Van i copies definition i mod m; repeats get "-2", "-3", ... */
    for (int i = 0; !failed && i < n; i++) {
        const sim_vehicle_def *src = &s->vehicles[i % s->n_vehicles];
        sim_vehicle_def *d = &c->vehicles[i];
        char id[SCN_MAX_ID + 32];
        *d = *src;
        if (i < s->n_vehicles)
            snprintf(id, sizeof(id), "%s", src->id);
        else
            snprintf(id, sizeof(id), "%s-%d", src->id, i / s->n_vehicles + 1);
        d->id = strdup(id);
        d->depot_ref = NULL;
        c->n_vehicles++;
        d->depot_ref = dup_or_null(src->depot_ref, &failed);
        if (d->id == NULL)
            failed = 1;
    }
    for (int i = 0; !failed && unique && i < n; i++)
        for (int j = 0; unique && j < i; j++)
            unique = strcmp(c->vehicles[i].id, c->vehicles[j].id) != 0;
    for (int i = 0; !failed && !unique && i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "v%d", i + 1);
        free(c->vehicles[i].id);
        if ((c->vehicles[i].id = strdup(id)) == NULL)
            failed = 1;
    }
    if (failed) {
        sim_scenario_destroy(c);
        return SIM_ENOMEM;
    }
    *out = c;
    return 0;
}
