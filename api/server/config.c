/*
 * config.c - the daemon's settings.
 *
 * Defaults describe the demo town (synthetic area seed 7, size "town"; five
 * vans of 8 seats, or 6 seats + 1 wheelchair, 07:00-19:00 with a 45-minute
 * break; the service rules of examples/scenarios/demo-town.json), so
 * `noriai serve` runs with no configuration at all.  A JSON file
 * (docs/serve-config.md) overrides what it names; unknown keys are errors,
 * so a typo never silently keeps a default.  Command-line flags override
 * the file (cmd_serve.c).
 */
#include "api/server/server.h"
#include "data/json/jsonin.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void api_config_default(api_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    c->listen_port = 8080;
    c->synth_seed = 7;
    c->synth_size = AREA_SYNTH_TOWN;
    snprintf(c->timezone, sizeof(c->timezone), "Asia/Tokyo");
    c->log_level = API_LOG_INFO;
    /* The service rules are the dispatcher's defaults, the same ones a
     * scenario starts from (the demo town's); booking ahead is counted in
     * days here. */
    dsp_rules_default(&c->rules);
    c->max_lead_days = c->rules.max_lead_s / 86400 - 1;
    c->rules.max_lead_s = (c->max_lead_days + 1) * 86400;
    c->max_snap_m = 400;
    c->replan_interval_s = 120;
    c->replan_iterations = 300;
    c->replan_time_limit_s = 2.0;
    c->max_body_bytes = 64 * 1024;
    c->max_connections_per_addr = 64;
    snprintf(c->web_dir, sizeof(c->web_dir), "api/web/dist");
    c->n_vehicles = 5;
    for (int i = 0; i < c->n_vehicles; i++) {
        api_fleet_def *v = &c->vehicles[i];
        snprintf(v->id, sizeof(v->id), "van%d", i + 1);
        v->n_configs = 2;
        v->seats[0] = 8;
        v->wheelchairs[0] = 0;
        v->seats[1] = 6;
        v->wheelchairs[1] = 1;
        v->depot_stop = -1;
        v->shift_start_s = 7 * 3600;
        v->shift_end_s = 19 * 3600;
        v->n_breaks = 1;
        v->break_earliest_s[0] = 11 * 3600 + 30 * 60;
        v->break_latest_s[0] = 13 * 3600 + 30 * 60;
        v->break_duration_s[0] = 45 * 60;
    }
}

typedef struct cfg_ctx {
    const char *path;
    char *err;
    size_t err_len;
} cfg_ctx;

static int cfail(cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cfail(cfg_ctx *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->err_len, "%s: %s", c->path, msg);
    return -1;
}

/* The strict-JSON checks are data/json's (jin_*); these put the file name
 * before the message.  The getters return 0 when the key is absent, 1 when
 * it was read and -1 on error. */
static int jin_rc(cfg_ctx *c, int rc, const char *msg)
{
    return rc < 0 ? cfail(c, "%s", msg) : rc;
}

/* Every key of object o must be in names. */
static int known_keys(cfg_ctx *c, json_t *o, const char *where, const char *const *names)
{
    char msg[400];

    return jin_rc(c, jin_object(o, where, names, 0, msg, sizeof(msg)), msg);
}

static int get_num(cfg_ctx *c, json_t *o, const char *key, const char *where, double lo,
                   double hi, double *out)
{
    char msg[400];

    return jin_rc(c, jin_opt_number(o, key, where, lo, hi, out, msg, sizeof(msg)), msg);
}

static int get_int(cfg_ctx *c, json_t *o, const char *key, const char *where, int lo, int hi,
                   int *out)
{
    char msg[400];

    return jin_rc(c, jin_opt_int(o, key, where, lo, hi, out, msg, sizeof(msg)), msg);
}

/* A string of at most len - 1 characters that fits out[len] as UTF-8. */
static int get_str(cfg_ctx *c, json_t *o, const char *key, const char *where, char *out,
                   size_t len)
{
    const char *s = NULL;
    char msg[400], w[128];
    int rc = jin_rc(c, jin_opt_str(o, key, where, 0, len - 1, 0, &s, msg, sizeof(msg)), msg);

    if (rc != 1)
        return rc;
    if (strlen(s) >= len) { /* few characters, many bytes */
        jin_path(w, sizeof(w), where, key);
        return cfail(c, "%s: must be a string of at most %zu bytes", w, len - 1);
    }
    snprintf(out, len, "%s", s);
    return 1;
}

/* ["HH:MM", "HH:MM"] */
static int get_span(cfg_ctx *c, json_t *o, const char *key, const char *where, int *from,
                    int *to)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return 0;
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !json_is_string(json_array_get(v, 1)) ||
        dsp_clock_parse(json_string_value(json_array_get(v, 0)), from) < 0 ||
        dsp_clock_parse(json_string_value(json_array_get(v, 1)), to) < 0 || *to <= *from)
        return cfail(c, "%s.%s must be [\"HH:MM\", \"HH:MM\"] with the end after the start", where,
                     key);
    return 1;
}

static int parse_listen(cfg_ctx *c, const char *s, api_config *cfg)
{
    const char *colon = strrchr(s, ':');
    int port;
    char tail;

    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(cfg->listen_host) ||
        sscanf(colon + 1, "%d%c", &port, &tail) != 1 || port < 0 || port > 65535)
        return cfail(c, "listen must be \"HOST:PORT\", e.g. \"127.0.0.1:8080\"");
    memcpy(cfg->listen_host, s, (size_t)(colon - s));
    cfg->listen_host[colon - s] = '\0';
    cfg->listen_port = port;
    return 0;
}

int api_config_parse_listen(api_config *cfg, const char *s, char *err, size_t err_len)
{
    cfg_ctx c = {.path = "--listen", .err = err, .err_len = err_len};
    return parse_listen(&c, s, cfg);
}

static int parse_fleet(cfg_ctx *c, json_t *arr, api_config *cfg)
{
    static const char *const vkeys[] = {"id", "count", "configs", "shift", "breaks", "depot_stop",
                                        NULL};
    size_t i, j;
    json_t *g;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return cfail(c, "fleet must be a non-empty array of vehicle groups");
    cfg->n_vehicles = 0;
    json_array_foreach(arr, i, g) {
        api_fleet_def proto;
        char where[64], id[40] = "van";
        int count = 1;
        json_t *x;
        snprintf(where, sizeof(where), "fleet[%zu]", i);
        memset(&proto, 0, sizeof(proto));
        proto.depot_stop = -1;
        proto.shift_start_s = cfg->rules.service_start_s;
        proto.shift_end_s = cfg->rules.service_end_s;
        if (known_keys(c, g, where, vkeys) < 0 || get_str(c, g, "id", where, id, 24) < 0 ||
            get_int(c, g, "count", where, 1, API_MAX_VEHICLES, &count) < 0 ||
            get_span(c, g, "shift", where, &proto.shift_start_s, &proto.shift_end_s) < 0 ||
            get_int(c, g, "depot_stop", where, 0, AREA_MAX_STOPS, &proto.depot_stop) < 0)
            return -1;
        x = json_object_get(g, "configs");
        if (x == NULL || !json_is_array(x) || json_array_size(x) < 1 ||
            json_array_size(x) > API_MAX_CONFIGS)
            return cfail(c, "%s.configs must be 1 to %d objects {\"seats\", \"wheelchairs\"}",
                         where, API_MAX_CONFIGS);
        for (j = 0; j < json_array_size(x); j++) {
            static const char *const ckeys[] = {"seats", "wheelchairs", NULL};
            json_t *k = json_array_get(x, j);
            char cw[128];
            snprintf(cw, sizeof(cw), "%s.configs[%zu]", where, j);
            if (known_keys(c, k, cw, ckeys) < 0 ||
                get_int(c, k, "seats", cw, 0, 100, &proto.seats[j]) < 0 ||
                get_int(c, k, "wheelchairs", cw, 0, 20, &proto.wheelchairs[j]) < 0)
                return -1;
            if (proto.seats[j] + proto.wheelchairs[j] < 1)
                return cfail(c, "%s has no room at all", cw);
        }
        proto.n_configs = (int)j;
        x = json_object_get(g, "breaks");
        if (x != NULL) {
            if (!json_is_array(x) || json_array_size(x) > DSP_MAX_BREAKS)
                return cfail(c, "%s.breaks must be an array of at most %d breaks", where,
                             DSP_MAX_BREAKS);
            for (j = 0; j < json_array_size(x); j++) {
                static const char *const bkeys[] = {"window", "duration_min", NULL};
                json_t *k = json_array_get(x, j);
                char bw[128];
                int dur = 30;
                snprintf(bw, sizeof(bw), "%s.breaks[%zu]", where, j);
                if (known_keys(c, k, bw, bkeys) < 0 ||
                    get_span(c, k, "window", bw, &proto.break_earliest_s[j],
                             &proto.break_latest_s[j]) != 1 ||
                    get_int(c, k, "duration_min", bw, 1, 480, &dur) < 0)
                    return cfail(c, "%s needs \"window\": [\"HH:MM\", \"HH:MM\"] and "
                                    "\"duration_min\"", bw);
                proto.break_duration_s[j] = dur * 60;
            }
            proto.n_breaks = (int)j;
        }
        if (cfg->n_vehicles + count > API_MAX_VEHICLES)
            return cfail(c, "more than %d vehicles", API_MAX_VEHICLES);
        for (int k = 0; k < count; k++) {
            api_fleet_def *v = &cfg->vehicles[cfg->n_vehicles++];
            *v = proto;
            if (count == 1)
                snprintf(v->id, sizeof(v->id), "%s", id);
            else
                snprintf(v->id, sizeof(v->id), "%.30s%d", id, k + 1);
        }
    }
    for (int a = 0; a < cfg->n_vehicles; a++)
        for (int b = a + 1; b < cfg->n_vehicles; b++)
            if (strcmp(cfg->vehicles[a].id, cfg->vehicles[b].id) == 0)
                return cfail(c, "vehicle id \"%s\" is used twice", cfg->vehicles[a].id);
    return 0;
}

static int parse_service(cfg_ctx *c, json_t *o, api_config *cfg)
{
    static const char *const keys[] = {"hours",       "max_wait_min", "window_min",
                                       "ride_time",   "offer_ttl_s",  "max_days_ahead",
                                       "min_lead_min", "max_snap_m",  "no_show_wait_min", NULL};
    static const char *const rkeys[] = {"alpha", "beta_min", NULL};
    dsp_rules *r = &cfg->rules;
    int m;
    json_t *x;

    if (known_keys(c, o, "service", keys) < 0 ||
        get_span(c, o, "hours", "service", &r->service_start_s, &r->service_end_s) < 0)
        return -1;
    if ((m = r->max_wait_s / 60, get_int(c, o, "max_wait_min", "service", 1, 600, &m)) < 0)
        return -1;
    r->max_wait_s = m * 60;
    if ((m = r->window_s / 60, get_int(c, o, "window_min", "service", 1, 120, &m)) < 0)
        return -1;
    r->window_s = m * 60;
    if ((m = r->min_lead_s / 60, get_int(c, o, "min_lead_min", "service", 0, 1440, &m)) < 0)
        return -1;
    r->min_lead_s = m * 60;
    if ((m = r->noshow_wait_s / 60, get_int(c, o, "no_show_wait_min", "service", 0, 60, &m)) < 0)
        return -1;
    r->noshow_wait_s = m * 60;
    if (get_int(c, o, "offer_ttl_s", "service", 10, 86400, &r->offer_ttl_s) < 0 ||
        get_int(c, o, "max_days_ahead", "service", 0, 7, &cfg->max_lead_days) < 0 ||
        get_num(c, o, "max_snap_m", "service", 1, 100000, &cfg->max_snap_m) < 0)
        return -1;
    r->max_lead_s = (cfg->max_lead_days + 1) * 86400;
    if ((x = json_object_get(o, "ride_time")) != NULL) {
        m = r->ride_beta_s / 60;
        if (known_keys(c, x, "service.ride_time", rkeys) < 0 ||
            get_num(c, x, "alpha", "service.ride_time", 1, 10, &r->ride_alpha) < 0 ||
            get_int(c, x, "beta_min", "service.ride_time", 0, 240, &m) < 0)
            return -1;
        r->ride_beta_s = m * 60;
    }
    return 0;
}

int api_config_load(api_config *cfg, const char *path, char *err, size_t err_len)
{
    static const char *const keys[] = {"listen",  "database", "area",   "timezone", "log_level",
                                       "service", "fleet",    "replan", "comment",  "web_dir",
                                       "max_connections_per_addr", NULL};
    static const char *const akeys[] = {"bundle", "synthetic", NULL};
    static const char *const skeys[] = {"seed", "size", NULL};
    static const char *const rkeys[] = {"interval_s", "iterations", "time_limit_s", NULL};
    cfg_ctx c = {.path = path, .err = err, .err_len = err_len};
    json_error_t je;
    json_t *root, *x;
    char buf[64];
    int rc = -1;

    root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, err_len, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    if (known_keys(&c, root, "config", keys) < 0)
        goto out;
    if (get_str(&c, root, "listen", "config", buf, sizeof(buf)) < 0 ||
        (json_object_get(root, "listen") && parse_listen(&c, buf, cfg) < 0) ||
        get_str(&c, root, "database", "config", cfg->database, sizeof(cfg->database)) < 0 ||
        get_str(&c, root, "timezone", "config", cfg->timezone, sizeof(cfg->timezone)) < 0 ||
        get_str(&c, root, "web_dir", "config", cfg->web_dir, sizeof(cfg->web_dir)) < 0)
        goto out;
    {
        double per_addr = cfg->max_connections_per_addr;
        if (get_num(&c, root, "max_connections_per_addr", "config", 0, 100000, &per_addr) < 0)
            goto out;
        cfg->max_connections_per_addr = (int)per_addr;
    }
    if (get_str(&c, root, "log_level", "config", buf, sizeof(buf)) == 1) {
        static const char *const lv[] = {"error", "warn", "info", "debug"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(buf, lv[i]) == 0)
                found = i;
        if (found < 0) {
            cfail(&c, "log_level must be error, warn, info or debug");
            goto out;
        }
        cfg->log_level = found;
    }
    if ((x = json_object_get(root, "area")) != NULL) {
        json_t *s;
        if (known_keys(&c, x, "area", akeys) < 0 ||
            get_str(&c, x, "bundle", "area", cfg->area_dir, sizeof(cfg->area_dir)) < 0)
            goto out;
        if ((s = json_object_get(x, "synthetic")) != NULL) {
            double seed = (double)cfg->synth_seed;
            cfg->area_dir[0] = '\0';
            if (known_keys(&c, s, "area.synthetic", skeys) < 0 ||
                get_num(&c, s, "seed", "area.synthetic", 0, 4294967295.0, &seed) < 0 ||
                get_str(&c, s, "size", "area.synthetic", buf, sizeof(buf)) < 0)
                goto out;
            cfg->synth_seed = (uint64_t)seed;
            if (json_object_get(s, "size") != NULL) {
                if (strcmp(buf, "small") == 0)
                    cfg->synth_size = AREA_SYNTH_SMALL;
                else if (strcmp(buf, "town") == 0)
                    cfg->synth_size = AREA_SYNTH_TOWN;
                else if (strcmp(buf, "city") == 0)
                    cfg->synth_size = AREA_SYNTH_CITY;
                else {
                    cfail(&c, "area.synthetic.size must be small, town or city");
                    goto out;
                }
            }
        }
    }
    /* Service before fleet: shifts default to the service hours. */
    if ((x = json_object_get(root, "service")) != NULL && parse_service(&c, x, cfg) < 0)
        goto out;
    if ((x = json_object_get(root, "fleet")) != NULL && parse_fleet(&c, x, cfg) < 0)
        goto out;
    if ((x = json_object_get(root, "replan")) != NULL) {
        double it = (double)cfg->replan_iterations;
        if (known_keys(&c, x, "replan", rkeys) < 0 ||
            get_int(&c, x, "interval_s", "replan", 0, 86400, &cfg->replan_interval_s) < 0 ||
            get_num(&c, x, "iterations", "replan", 0, 1e7, &it) < 0 ||
            get_num(&c, x, "time_limit_s", "replan", 0, 600, &cfg->replan_time_limit_s) < 0)
            goto out;
        cfg->replan_iterations = (long)it;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
