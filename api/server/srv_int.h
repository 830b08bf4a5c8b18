/*
 * srv_int.h - private to api/server/: the live service state shared by
 * service.c (state, store, timers) and routes.c (the HTTP API).
 */
#ifndef NORIAI_SRV_INT_H
#define NORIAI_SRV_INT_H

#include <jansson.h>
#include <uv.h>

#include "api/http/http.h"
#include "api/server/server.h"
#include "data/db/db.h"

/* ---- map.c: string keys to pointers (open addressing, keys copied) ---- */
typedef struct api_map_slot {
    char *key;
    void *val;
} api_map_slot;

typedef struct api_map {
    api_map_slot *slots;
    size_t cap, n, used; /* used counts tombstones too */
} api_map;

int api_map_put(api_map *m, const char *key, void *val); /* 0 or -1 (memory) */
void *api_map_get(const api_map *m, const char *key);
void *api_map_del(api_map *m, const char *key);
void api_map_cleanup(api_map *m); /* frees keys, not values */

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
    uint64_t offers, offers_rejected[8], quotes, confirms, cancels, expired;
    api_hist offer_latency; /* dispatcher time per offer */
    uint64_t replans, replans_adopted, replans_stale, replans_failed;
    api_hist replan_latency;
    uint64_t commits_failed;
    uint64_t events_lost;  /* booking events not queued for want of memory */
    uint64_t idem_refused; /* idempotency records the store refused for good */
} api_metrics;

/* ---- live state ---- */
typedef struct api_svc api_svc;

typedef struct api_bk {
    char id[24];
    int day;
    int64_t idx;
    char rider_id[40];
    char created_by[40];
    char notes[1024]; /* up to 250 characters of UTF-8 */
    int dirty;
    /* what the store's row says, to notice a re-plan moving it (-1 unknown) */
    int stored_vehicle, stored_pickup_s;
} api_bk;

#define API_MAX_DAYS 8

typedef struct api_day {
    api_svc *svc;
    int used;
    char date[11];    /* YYYY-MM-DD */
    int64_t midnight; /* unix seconds of local midnight */
    dsp_day *dsp;
    api_bk **by_idx;
    int64_t cap_idx;
    int64_t *seq_base;   /* per vehicle: plan seq = base + dsp version */
    uint8_t *plan_dirty; /* per vehicle: to be stored with the next commit */
    /* What was last stored per vehicle: the stop sequence's signature and
     * the plan version (times alone are stored at most every 30 s). */
    uint64_t *plan_sig;
    uint32_t *stored_version;
} api_day;

typedef struct api_evq {
    int day;
    int64_t idx;
    int vehicle, time_s;
    dsp_status from, to;
    char kind[16];
    char detail[192]; /* a cancel reason: up to 40 characters of UTF-8 */
    char key[40]; /* unique: daemon run id + counter (booking_events.event_key) */
    char actor[40]; /* token id (or system/replan/restore) behind it */
} api_evq;

/* Idempotency-Key: 1..API_IDEM_KEY_MAX_CHARS characters of UTF-8 without
 * control characters (checked before anything is queued). */
#define API_IDEM_KEY_MAX_CHARS 200
#define API_IDEM_KEY_MAX_BYTES (4 * API_IDEM_KEY_MAX_CHARS)

typedef struct api_idem {
    char req_sha[65];
    int done; /* 0 while its change is committing */
    int status;
    char *body;
    int64_t created;
    /* while queued for the store (api_idem_queue) */
    char token_id[40];
    char key[API_IDEM_KEY_MAX_BYTES + 1];
    char method[8];
    char path[200];
} api_idem;

struct api_svc {
    api_config cfg;
    uv_loop_t *loop;
    area *area;
    api_map stop_ids; /* stop id -> index + 1 */
    db *db;
    api_http_server *http;
    int port;
    api_day days[API_MAX_DAYS];
    api_map bookings; /* id -> api_bk */
    api_map tokens;   /* sha256 hex of the token -> api_token */
    api_map riders;   /* id -> (void *)1 */
    api_map idem;     /* token id "\n" key -> api_idem */
    api_evq *evq;
    int n_evq, cap_evq;
    api_metrics m;
    uv_timer_t tick_timer, replan_timer;
    uv_signal_t sig_term, sig_int;
    int replan_busy;
    int stopping;
    int64_t started;
    char actor[40]; /* token id behind the change being made (events' actor) */
    char run_id[24]; /* random per daemon run: booking_events.event_key prefix */
    uint64_t event_counter;
    int resweep;           /* a row could not be queued: the next commit upserts every booking */
    void *inflight;        /* service.c's commits in flight (a list) */
    int n_inflight;
    char demo_tok[5][64];
    void *driver; /* driver.c's state */
};

/* service.c */
/* Copies src into dst (of len bytes), cut at a character boundary of UTF-8
 * text so the store never gets half a character. */
void api_text_copy(char *dst, size_t len, const char *src);
int64_t api_unix_now(const api_svc *s);          /* real time + shift */
int api_today(api_svc *s, char date[11]);        /* today's date in the area's zone */
int api_day_now(const api_svc *s, const api_day *d); /* seconds of d's service day now */
/* The day of date (created when within today .. today + max_lead_days), or NULL. */
api_day *api_day_get(api_svc *s, const char *date, int create);
/* Formats second t_s of day d as ISO 8601 with offset into buf (>= 32). */
void api_day_iso(const api_svc *s, const api_day *d, int t_s, char *buf, size_t len);
/* The same for a date string (-1 if not a valid date), and a unix time. */
int api_date_iso(const char *date, int t_s, char *buf, size_t len);
void api_unix_iso(int64_t unix_s, char *buf, size_t len);
int64_t api_date_midnight(const char *date); /* -1 if not a valid YYYY-MM-DD */
const char *api_vehicle_id(const api_svc *s, int v);
int api_vehicle_index(const api_svc *s, const char *id); /* -1 */
api_bk *api_bk_new(api_svc *s, api_day *d, int64_t idx, const char *rider, const char *notes);
/* 1 while a change of b is queued or its commit is in flight: its state in
 * memory is not yet the stored one, so nothing may answer 2xx from it. */
int api_bk_unstored(const api_svc *s, const api_bk *b);
/* The booking's JSON from live state. */
json_t *api_bk_json(api_svc *s, const api_bk *b);
json_t *api_plan_json(api_svc *s, api_day *d, int v);
/* prefix + 32 hex digits of the kernel's randomness (uv_random); 0, or -1
 * when none is to be had (the caller refuses the request: ids and tokens
 * are never made from a guessable fallback). */
int api_random_id(const char *prefix, char *out, size_t len);

/*
 * Persists every change made so far (queued events, dirty bookings, dirty
 * plans) plus the caller's own statements in txn (may be NULL) in one
 * transaction, then calls done(ud, rc) on the loop; rc 0 = committed.  On
 * failure the changes stay queued for the next commit.
 */
typedef void (*api_commit_cb)(void *ud, int rc, const db_result *res, const char *err);
void api_commit(api_svc *s, db_txn *txn, api_commit_cb done, void *ud);
/* Queues e (status and body set, done 0) to be stored with the next commit;
 * it is marked done when that commit succeeds, and stays queued (with the
 * change it answers) until one does. */
int api_idem_queue(api_svc *s, api_idem *e);

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
void api_driver_plan_stored(api_svc *s, api_day *d, int v);
void api_driver_event_stored(api_svc *s, const api_evq *e);
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
