/*
 * svc.h - the service layer: the rules of a service day above the day core
 * (dsp.h), below the wire (api/).  It owns no sockets, no threads and no
 * loop; the daemon (api/server/daemon.c) and the simulator drive it.
 *
 * What it holds:
 *   - the open days: one dsp_day per service date from today up to
 *     max_lead_days ahead, opened on demand, dropped after midnight once
 *     nothing of theirs waits to be stored (svc.c);
 *   - each booking's side data (public id, rider, who booked it, notes),
 *     found by id and by the day's booking index (svc.c);
 *   - the commit queue: every dispatcher event, booking row and changed
 *     plan is queued and stored by svc_commit in one transaction of the
 *     store interface (data/store/store.h: PostgreSQL in the daemon, memory
 *     in tests); a change is acknowledged only from the commit's callback;
 *     a failed commit puts everything back into the queue (svc_commit.c);
 *   - idempotency records, stored with the change they answer (svc_idem.c);
 *   - restore after a restart from the store, and what happens to a
 *     booking no van can take any more (svc_restore.c);
 *   - the re-plan decision: what to solve and whether to adopt (svc_replan.c;
 *     the solving itself runs where the caller puts it, uv_queue_work in
 *     the daemon);
 *   - the rules for tablet events (svc_tablet.h: what a driver may report
 *     when, checked before anything moves) and their once-only store
 *     (svc_tevents.h: each (van, event id) answered once, bounds per van).
 *
 * Time.  Service-day seconds come from svc_unix_now (the real clock shifted
 * by clock_shift_s, or the caller's clock) in the local zone of the process
 * (TZ is set by the daemon to the area's zone).
 *
 * Prefix svc_.  Ownership: a svc owns its days, bookings' side data, maps
 * and queues; the area, the vehicle definitions and the store it is given
 * must outlive it.
 */
#ifndef NORIAI_SVC_H
#define NORIAI_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "data/area/area.h"
#include "data/store/store.h"
#include "dispatcher/dsp.h"

/* ---- svc_map.c: string keys to pointers (open addressing, keys copied) ---- */
typedef struct svc_map_slot {
    char *key;
    void *val;
} svc_map_slot;

typedef struct svc_map {
    svc_map_slot *slots;
    size_t cap, n, used; /* used counts tombstones too */
} svc_map;

int svc_map_put(svc_map *m, const char *key, void *val); /* 0 or -1 (memory) */
void *svc_map_get(const svc_map *m, const char *key);
void *svc_map_del(svc_map *m, const char *key);
void svc_map_cleanup(svc_map *m); /* frees keys, not values */
/* 1 when slot i holds a live entry. */
int svc_map_live(const svc_map *m, size_t i);

/* ---- configuration ---- */

#define SVC_MAX_DAYS 8
#define SVC_MAX_CONFIGS SLV_MAX_CONFIGS

/* A van of the fleet as configured. */
typedef struct svc_vehicle_def {
    char id[48];
    int n_configs;
    int seats[SVC_MAX_CONFIGS], wheelchairs[SVC_MAX_CONFIGS];
    int depot_stop; /* area stop index; -1: the area's depot */
    int shift_start_s, shift_end_s;
    int n_breaks;
    int break_earliest_s[DSP_MAX_BREAKS], break_latest_s[DSP_MAX_BREAKS],
        break_duration_s[DSP_MAX_BREAKS];
} svc_vehicle_def;

typedef struct svc_config {
    const svc_vehicle_def *vehicles; /* caller's array, outlives the svc */
    int n_vehicles;
    dsp_rules rules;
    int max_lead_days;     /* 0: today only */
    int clock_shift_s;     /* added to real time (demos, tests) */
    long replan_iterations;
    double replan_time_limit_s;
} svc_config;

/* Hooks to the wire: called after a commit stored these (may be NULL). */
typedef struct svc_day svc_day;
typedef struct svc_evq svc_evq;
typedef struct svc_hooks {
    void *ud;
    void (*plan_stored)(void *ud, svc_day *d, int v);
    void (*event_stored)(void *ud, const svc_evq *e);
    /* a clock instead of the real one (the simulator); NULL: real + shift */
    int64_t (*unix_now)(void *ud);
    /* what the layer has to say (level 0 error, 1 warn, 2 info); may be NULL */
    void (*log)(void *ud, int level, const char *msg, const char *booking, const char *detail);
} svc_hooks;

/* ---- state ---- */

typedef struct svc svc;

typedef struct svc_bk {
    char id[24];
    int day;     /* index into svc.days */
    int64_t idx; /* the day's booking index */
    char rider_id[40];
    char created_by[40];
    char notes[1024]; /* up to 250 characters of UTF-8 */
    int dirty;        /* queued for the store */
    /* what the store's row says, to notice a re-plan moving it (-2: no row yet) */
    int stored_vehicle, stored_pickup_s;
} svc_bk;

struct svc_day {
    svc *s;
    int used;
    char date[11];    /* YYYY-MM-DD */
    int64_t midnight; /* unix seconds of local midnight */
    dsp_day *dsp;
    svc_bk **by_idx;
    int64_t cap_idx;
    int64_t *seq_base;   /* per vehicle: plan seq = base + dsp version */
    uint8_t *plan_dirty; /* per vehicle: to be stored with the next commit */
    /* What was last stored per vehicle: the stop sequence's signature and
     * the plan version (times alone are stored at most every 30 s). */
    uint64_t *plan_sig;
    uint32_t *stored_version;
};

struct svc_evq {
    int day;
    int64_t idx;
    int vehicle, time_s;
    dsp_status from, to;
    char kind[16];
    char detail[192]; /* a cancel reason: up to 40 characters of UTF-8 */
    char key[40];     /* unique: daemon run id + counter (booking_events.event_key) */
    char actor[40];   /* token id (or system/replan/restore) behind it */
};

/* Idempotency-Key: 1..SVC_IDEM_KEY_MAX_CHARS characters of UTF-8 without
 * control characters (checked before anything is queued). */
#define SVC_IDEM_KEY_MAX_CHARS 200
#define SVC_IDEM_KEY_MAX_BYTES (4 * SVC_IDEM_KEY_MAX_CHARS)

typedef struct svc_idem {
    char req_sha[65];
    int done; /* 0 while its change is committing */
    int status;
    char *body;
    int64_t created;
    char token_id[40];
    char key[SVC_IDEM_KEY_MAX_BYTES + 1];
    char method[8];
    char path[200];
} svc_idem;

/* What the service layer counts (the daemon's /metrics shows them). */
typedef struct svc_counters {
    uint64_t expired;
    uint64_t commits_failed;
    uint64_t events_lost;  /* booking events not queued for want of memory */
    uint64_t idem_refused; /* idempotency records the store refused for good */
    uint64_t replans, replans_adopted, replans_stale, replans_failed;
    uint64_t restored, not_restored;
} svc_counters;

typedef struct svc_commit_ctx svc_commit_ctx;

struct svc {
    svc_config cfg;
    svc_hooks hooks;
    const area *area;
    store st;
    svc_map stop_ids; /* stop id -> index + 1 */
    svc_day days[SVC_MAX_DAYS];
    svc_map bookings; /* public id -> svc_bk */
    svc_map riders;   /* rider id -> (void *)1 */
    svc_map idem;     /* token id "\n" key -> svc_idem */
    svc_map seq_loaded; /* vehicle "\n" date -> stored plan seq, from the start */
    /* the commit queue */
    svc_evq *evq;
    int n_evq, cap_evq;
    svc_bk **pending_bks;
    int n_pending_bks, cap_pending_bks;
    svc_idem **pending_idem;
    int n_pending_idem, cap_pending_idem;
    int resweep;              /* a row could not be queued: the next commit upserts every booking */
    svc_commit_ctx *inflight; /* commits in flight */
    int n_inflight;
    svc_counters m;
    int refresh_day;     /* where svc_refresh_moved_rows goes on */
    int64_t refresh_idx;
    char actor[40];  /* who is behind the change being made (events' actor) */
    char run_id[24]; /* random per run: event key prefix */
    uint64_t event_counter;
    unsigned ticks;
};

/* ---- svc.c ---- */

/* 0, or DSP_ENOMEM / DSP_EINVAL (no randomness for the run id). */
int svc_create(const svc_config *cfg, const area *a, store st, const svc_hooks *hooks,
               svc **out);
void svc_destroy(svc *s);

/* prefix + 32 hex digits of the kernel's randomness (getrandom); 0, or -1
 * when none is to be had: ids and tokens are never made from a guessable
 * fallback, the caller refuses the request. */
int svc_random_id(const char *prefix, char *out, size_t len);
/* Copies src into dst (len bytes), cut at a UTF-8 character boundary. */
void svc_text_copy(char *dst, size_t len, const char *src);

int64_t svc_unix_now(const svc *s);
void svc_today(const svc *s, char date[11]);
int svc_day_now(const svc *s, const svc_day *d); /* seconds of d's service day now */
int64_t svc_date_midnight(const char *date);     /* -1 if not a valid YYYY-MM-DD */
/* Second t_s of day d / of date as ISO 8601 with offset (buf >= 32). */
void svc_day_iso(const svc_day *d, int t_s, char *buf, size_t len);
int svc_date_iso(const char *date, int t_s, char *buf, size_t len); /* -1 bad date */
void svc_unix_iso(int64_t unix_s, char *buf, size_t len);

const char *svc_vehicle_id(const svc *s, int v);
int svc_vehicle_index(const svc *s, const char *id); /* -1 */
int svc_stop_index(const svc *s, const char *stop_id); /* -1 */

/* The day of date (opened when within today .. today + max_lead_days and
 * create is set), or NULL. */
svc_day *svc_day_get(svc *s, const char *date, int create);
svc_day *svc_day_today(svc *s, int create);
/* Side data of booking idx of d (a new public id); NULL on out of memory or
 * no randomness. */
svc_bk *svc_bk_new(svc *s, svc_day *d, int64_t idx, const char *rider, const char *notes);
svc_bk *svc_bk_find(const svc *s, const char *id);
svc_bk *svc_bk_of(const svc_day *d, int64_t idx); /* NULL for breaks and quotes */
/* 1 while a change of b is queued or its commit in flight: its state in
 * memory is not yet the stored one, so nothing may answer 2xx from it. */
int svc_bk_unstored(const svc *s, const svc_bk *b);

int svc_rider_known(const svc *s, const char *rider_id);
int svc_rider_add(svc *s, const char *rider_id);

/* Every second: expiries, late vans, the roll-over at midnight, rows that a
 * re-plan moved, plans whose times moved (every 30 s), old idempotency
 * records (every minute); then a commit of whatever is queued, when the
 * store is ready. */
void svc_tick(svc *s);

/* ---- svc_commit.c ---- */

typedef void (*svc_commit_cb)(void *ud, int rc);
/*
 * Stores every change made so far (queued events, dirty bookings, dirty
 * plans, idempotency records) plus the caller's own records in own (may be
 * NULL; taken) in one transaction, then calls done(ud, rc): rc 0 stored.
 * On failure the queued changes go back into the queue for the next commit
 * (an idempotency record the store refuses for good is dropped instead).
 */
void svc_commit(svc *s, store_txn *own, svc_commit_cb done, void *ud);
int svc_has_pending(const svc *s);
/* Booking rows whose van or planned pickup (by a minute or more) moved since
 * they were stored are queued again - at most budget of them, going on
 * from where the last call stopped, so a busy day's re-timing is spread
 * over ticks instead of one huge commit.  Returns how many were queued. */
int svc_refresh_moved_rows(svc *s, int budget);
#define SVC_REFRESH_PER_TICK 64
/* The dispatcher's sink of day d (its events and plan changes queue here). */
dsp_sink svc_day_sink(svc_day *d);

/* ---- svc_idem.c ---- */

typedef enum svc_idem_state {
    SVC_IDEM_NEW = 0,   /* *out: a fresh record, to be answered and queued */
    SVC_IDEM_REPLAY,    /* *out: the stored answer */
    SVC_IDEM_BUSY,      /* the same request is still committing */
    SVC_IDEM_MISMATCH,  /* the key was used for another request */
    SVC_IDEM_INVALID,   /* the key is no UTF-8 text of 1..200 characters */
    SVC_IDEM_NOMEM
} svc_idem_state;

svc_idem_state svc_idem_begin(svc *s, const char *token_id, const char *key,
                              const char *req_sha, svc_idem **out);
/* Forgets a record that will not be stored (the request changed nothing). */
void svc_idem_drop(svc *s, svc_idem *e);
/* The answer of e, queued to be stored with the next commit. */
int svc_idem_queue(svc *s, svc_idem *e, int status, const char *body, const char *method,
                   const char *path);
/* The store row of e (for a caller that stores it in its own records). */
void svc_idem_row(const svc_idem *e, store_idem_row *out);
void svc_idem_sweep(svc *s, int64_t older_than_unix);

/* ---- svc_restore.c ---- */

/* At the start, before serving (blocking store calls): the fleet upserted,
 * rider ids, recent idempotency records and plan seqs loaded, vans out of
 * service today taken out, and every open booking of today and later put
 * back into the dispatcher with its promise.  0 or a DB_E code with err. */
int svc_restore(svc *s, char *err, size_t err_len);

/* ---- svc_replan.c ---- */

typedef struct svc_replan_job {
    int day;
    char date[11];
    dsp_replan *rp;
    slv_params prm;
    int rc; /* of the solve */
} svc_replan_job;

/* Prepares a re-plan of today (NULL when there is nothing to do). */
svc_replan_job *svc_replan_prepare(svc *s, double (*clock)(void *), void *clock_ctx);
/* Solves (any thread; touches nothing of s). */
void svc_replan_solve(svc_replan_job *j);
/* Adopts the result when it still fits (on the owner's thread), commits
 * what it changed, and frees j.  Returns 0, DSP_ESTALE or another error. */
int svc_replan_finish(svc *s, svc_replan_job *j, int ran, int *improved);

#endif
