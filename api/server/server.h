/*
 * server.h - `noriai serve`: the reservation daemon.  One libuv loop thread
 * owns the live state (the dispatcher days), the HTTP server and the store
 * connection; re-plans run in uv_queue_work on snapshots.
 *
 * Pieces (one file each, prefix api_):
 *   config.c   settings: defaults (the demo town), JSON config file, flags
 *   daemon.c   the process: start (area, migrations, the service layer
 *              restored from the store, tokens), timers, hooks, shutdown
 *   routes.c   the /v1 API: routing, auth by role, idempotency, answers;
 *              the handlers by resource in r_bookings.c, r_riders.c,
 *              r_fleet.c, r_admin.c
 *   views.c    JSON of live bookings and plans
 *   driver.c   the driver channel (WebSocket + protobuf)
 *   web.c      the consoles' static files
 *   metrics.c  Prometheus text exposition of counters and histograms
 *   log.c      structured logs, one JSON object per line on stderr
 *
 * The rules of the service day are not here: they are the service layer's
 * (dispatcher/svc.h), which this daemon drives.
 *
 * Durability rule: an HTTP 2xx for a change is sent only from the store's
 * commit callback of the transaction that holds that change (svc_commit).
 */
#ifndef NORIAI_API_SERVER_H
#define NORIAI_API_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "dispatcher/dsp.h"
#include "dispatcher/svc.h"

#define API_MAX_VEHICLES 1000
#define API_MAX_CONFIGS SVC_MAX_CONFIGS

/* A van of the fleet (the service layer's definition). */
typedef svc_vehicle_def api_fleet_def;

typedef struct api_config {
    char listen_host[64];
    int listen_port;
    char database[512];     /* libpq conninfo; "" = none given */
    char area_dir[512];     /* bundle folder; "" = synthetic */
    uint64_t synth_seed;
    int synth_size;         /* area_synth_size */
    char timezone[64];      /* "Asia/Tokyo" */
    int clock_shift_s;      /* added to real time (demo/tests: --clock HH:MM) */
    int log_level;          /* 0 error, 1 warn, 2 info, 3 debug */
    int n_vehicles;
    api_fleet_def vehicles[API_MAX_VEHICLES];
    dsp_rules rules;
    int max_lead_days;      /* 0: today only */
    double max_snap_m;      /* coordinates further than this from a stop: out of area */
    int replan_interval_s;  /* 0: none */
    long replan_iterations;
    double replan_time_limit_s;
    char demo_tokens[512];  /* write demo tokens here ("" = none) */
    int max_body_bytes;
    int max_connections_per_addr; /* HTTP connections from one client address (0: no limit) */
    char web_dir[512];      /* the consoles' built files (api/web/dist) */
} api_config;

/* The demo town: synthetic area seed 7 "town", 5 vans, 07:00-19:00. */
void api_config_default(api_config *c);
/* Reads a JSON config file over c; 0 or -1 with err. */
int api_config_load(api_config *c, const char *path, char *err, size_t err_len);

/* "HOST:PORT" into c->listen_host/port; 0 or -1 with err. */
int api_config_parse_listen(api_config *c, const char *s, char *err, size_t err_len);

/* Runs the daemon until SIGTERM/SIGINT; returns a process exit status. */
int api_serve(const api_config *c);

/* ---- logs ---- */
void api_log_set_level(int level);
/* One JSON line: {"ts":...,"level":...,"msg":...,<fields>}; fields is a
 * printf format producing `"k":v,...` (or NULL). */
void api_log(int level, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* s escaped for a JSON string into out (truncated to fit); returns out. */
const char *api_log_esc(const char *s, char *out, size_t len);
#define API_LOG_ERROR 0
#define API_LOG_WARN 1
#define API_LOG_INFO 2
#define API_LOG_DEBUG 3

#endif
