/*
 * srv_int.h - private to api/server/: the daemon's state (api_svc: the
 * loop, the HTTP server, the store's connection, tokens, metrics, and the
 * service layer it drives) shared by daemon.c, the routes (routes.c,
 * r_*.c), views.c, the driver channel and metrics.c.
 */
#ifndef NORIAI_SRV_INT_H
#define NORIAI_SRV_INT_H

#include <jansson.h>
#include <uv.h>

#include "api/http/http.h"
#include "api/server/server.h"
#include "data/db/db.h"
#include "data/store/store.h"
#include "dispatcher/svc.h"

/* ---- roles ---- */
enum {
    API_ROLE_ADMIN = 1,
    API_ROLE_OPERATOR = 2,
    API_ROLE_RIDER = 4,
    API_ROLE_DRIVER = 8,
    API_ROLE_PLANNER = 16,
    API_ROLE_PUBLIC = 32 /* no token needed */
};
const char *api_role_name(int role);
int api_role_parse(const char *name); /* role bit or 0 */

typedef struct api_token {
    char id[40];
    int role;
    char rider_id[40];
    char vehicle_id[48];
} api_token;

/* ---- metrics.c ---- */
#define API_HIST_BUCKETS 18
typedef struct api_hist {
    uint64_t count, bucket[API_HIST_BUCKETS];
    double sum;
} api_hist;
extern const double api_hist_bounds[API_HIST_BUCKETS]; /* seconds */
void api_hist_add(api_hist *h, double seconds);

#define API_N_ROUTES_MAX 40
typedef struct api_metrics {
    uint64_t http_requests[API_N_ROUTES_MAX][6]; /* by route, status class 1xx..5xx; [5] = other */
    api_hist http_latency[API_N_ROUTES_MAX];
    uint64_t offers, offers_rejected[8], quotes, confirms, cancels;
    api_hist offer_latency; /* dispatcher time per offer */
    api_hist replan_latency;
    /* the service layer counts the rest (svc_counters) */
} api_metrics;

/* ---- the daemon's state ---- */

/* The service layer's types, under the names the wire code used. */
typedef svc_bk svc_bk;
typedef svc_day svc_day;
typedef svc_evq svc_evq;
typedef svc_idem svc_idem;
typedef svc_map svc_map;
typedef svc_map_slot svc_map_slot;

typedef struct api_svc {
    api_config cfg;
    uv_loop_t *loop;
    area *area;
    svc *core;         /* the service layer: days, bookings, commit queue */
    db *db;            /* the store's connection */
    db_store *dbst;    /* the store interface over it */
    api_http_server *http;
    int port;
    svc_map tokens;    /* sha256 hex of the token -> api_token */
    api_metrics m;
    uv_timer_t tick_timer, replan_timer;
    uv_signal_t sig_term, sig_int;
    int replan_busy;
    int stopping;
    int64_t started;
    char demo_tok[5][64];
    void *driver; /* driver.c's state */
} api_svc;

/* daemon.c */
/* 1 when the store takes writes now. */
int api_store_ready(const api_svc *s);
/* The store interface. */
static inline store api_store(const api_svc *s)
{
    return s->core->st;
}
/* Sets who is behind the changes made next (events' actor). */
void api_set_actor(api_svc *s, const char *actor);

/* views.c: JSON of live state (the booking, a van's plan) */
json_t *api_bk_json(api_svc *s, const svc_bk *b);
json_t *api_plan_json(api_svc *s, svc_day *d, int v);
json_t *api_place_json(const api_svc *s, const dsp_place *p);
void api_set_time(json_t *o, const svc_day *d, const char *key, int t_s);

/* routes.c */
void api_routes_handle(void *ud, api_http_req *req);
int api_route_count(void);
void api_route_get(int i, const char **method, const char **pattern);

/* driver.c: the driver channel (WebSocket + protobuf, data/proto/driver.proto) */
int api_driver_init(api_svc *s);  /* after the loop exists; 0 or -1 */
void api_driver_close(api_svc *s); /* closes every tablet connection */
/* The route's handler after auth (token role driver): takes req over. */
void api_driver_upgrade(api_svc *s, const api_token *tok, api_http_req *req);
/* After a commit stored these: push the plan of (day, v), tell of cancellations. */
void api_driver_plan_stored(api_svc *s, svc_day *d, int v);
void api_driver_event_stored(api_svc *s, const svc_evq *e);
/* The last position vehicle v's tablet reported (WGS84, the tablet's unix
 * ms): 0, or -1 when none since the start. */
int api_driver_position(api_svc *s, int v, double *lat, double *lon, int64_t *unix_ms);
/* A token was revoked: its tablet connections are closed (4003) at once. */
void api_driver_token_revoked(api_svc *s, const char *token_id);

/* web.c: static console files under /web/; 1 when it answered req */
int api_web_serve(api_svc *s, api_http_req *req);

/* metrics.c */
char *api_metrics_text(api_svc *s, size_t *len);

#endif
