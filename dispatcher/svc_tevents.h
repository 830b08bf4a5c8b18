/*
 * svc_tevents.h - the once-only store of tablet events: a driver's report
 * (vehicle, event_id) is judged once, and every copy of it - a re-send
 * after a lost Ack, a reconnect, a restart of the daemon - gets the same
 * answer, given only once that answer is stored.
 *
 * The caller (the daemon's driver channel) asks svc_tev_begin first.  A
 * known event is answered from memory (or, while its row commits, the
 * asker is added to those waiting for it); a new one is reserved, judged
 * by the caller (svc_tablet.h) and handed back with svc_tev_finish, which
 * stores its row with svc_commit - so the row goes in the same transaction
 * as the change the event made - and answers the waiters from the commit's
 * callback.  A failed commit leaves the answer pending; the row is retried
 * by svc_tev_tick, alone, until it is stored (or refused for good, then
 * answered anyway: the change itself is the service layer's to store).
 *
 * Bounds, per vehicle, against a tablet (or a stolen token) that floods:
 * accepted events kept (max_events, within keep_ms); refusals stored
 * (max_refused_stored) - past that a refusal is answered at once and only
 * remembered in a ring in memory (max_refused_ring); and a token bucket of
 * events (rate_burst, rate_per_s) per vehicle, so reconnecting gives no
 * credit.  Events older than keep_ms are forgotten (pruned every minute);
 * at the start the last keep_ms of stored events are read back
 * (svc_tev_load), and no event may be begun before that is done.
 *
 * Waiters are the caller's opaque ids (a connection's number); the hook
 * answer is called for each once the event's row is stored.  Time is the
 * caller's: now_ms is any monotonic millisecond count (the loop's), never
 * compared with the rows' unix_ms.
 *
 * Prefix svc_tev_.  No wire, no loop, no clock: the store interface and
 * svc_commit only.  Ownership: a svc_tev owns its events and rows; the svc
 * it is given must outlive it (svc_tev_destroy may have to wait for
 * callbacks of the store, see there).  One thread, the svc's.
 */
#ifndef NORIAI_SVC_TEVENTS_H
#define NORIAI_SVC_TEVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "dispatcher/svc.h"
#include "dispatcher/svc_tablet.h"

/* The daemon's limits (svc_tev_limits_default). */
#define SVC_TEV_MAX_EVENTS_PER_VEHICLE 20000
#define SVC_TEV_MAX_REFUSED_STORED_PER_VEHICLE 100
#define SVC_TEV_MAX_REFUSED_PER_VEHICLE 256
#define SVC_TEV_RATE_BURST 100.0
#define SVC_TEV_RATE_PER_S 10.0
#define SVC_TEV_KEEP_MS (48LL * 3600 * 1000)
#define SVC_TEV_MAX_RETRY_ROWS 500
/* Askers kept per pending event (more re-sends of it wait for nothing). */
#define SVC_TEV_MAX_WAITERS 4

typedef struct svc_tev_limits {
    int max_events;         /* accepted events per vehicle within keep_ms */
    int max_refused_stored; /* refusals stored per vehicle within keep_ms */
    int max_refused_ring;   /* refusals past that, remembered in memory (>= 1) */
    double rate_burst;      /* events a vehicle may send at once */
    double rate_per_s;      /* and then per second */
    int64_t keep_ms;        /* how long an event is remembered (and read back) */
    int max_retry_rows;     /* rows per retry transaction */
} svc_tev_limits;

void svc_tev_limits_default(svc_tev_limits *out);

typedef struct svc_tev_hooks {
    void *ud;
    /* The stored answer of event_id for waiter. */
    void (*answer)(void *ud, uint64_t waiter, const char *event_id, int ok, const char *error);
    /* svc_tev_load's read ended: rc 0 with the events read, or a DB_E*
     * code (nothing loaded; call svc_tev_load again). May be NULL. */
    void (*loaded)(void *ud, int rc, int count);
} svc_tev_hooks;

typedef struct svc_tev svc_tev;
typedef struct svc_tev_event svc_tev_event;

/* 0, or DSP_ENOMEM / DSP_EINVAL (lim NULL for the defaults). */
int svc_tev_create(svc *core, const svc_tev_limits *lim, const svc_tev_hooks *hooks, int64_t now_ms,
                   svc_tev **out);
/*
 * Frees t, or, while store callbacks of its are still to come, marks it to
 * be freed by the last of them (no hook is called any more).  NULL is ok.
 */
void svc_tev_destroy(svc_tev *t);
/* Store callbacks of t still to come (0 once t may go with nothing left). */
int svc_tev_inflight(const svc_tev *t);

/* Starts reading the events of the last keep_ms: 0 started, already done
 * or running; -1 when the store is not ready now (try again later). */
int svc_tev_load(svc_tev *t, int64_t now_ms);
int svc_tev_loaded(const svc_tev *t);

/* The token bucket of vehicle v: 1 when it may send one more event now
 * (and takes it), 0 when it sends too fast. */
int svc_tev_rate_ok(svc_tev *t, int v, int64_t now_ms);

typedef enum svc_tev_state {
    SVC_TEV_NEW = 0,  /* *out reserved: judge it, then svc_tev_finish */
    SVC_TEV_ANSWERED, /* *ok and *error: its answer (error valid until the next call) */
    SVC_TEV_WAITING,  /* its row is committing: waiter gets the answer with the others */
    SVC_TEV_FULL,     /* v has max_events accepted events: refuse without judging */
    SVC_TEV_NOMEM,
    SVC_TEV_INVALID /* event_id no id (svc_tablet_id_ok), v no vehicle, or not loaded */
} svc_tev_state;

svc_tev_state svc_tev_begin(svc_tev *t, int v, const char *event_id, uint64_t waiter,
                            svc_tev_event **out, int *ok, const char **error);

/* How a reserved event was judged, and its row. */
typedef struct svc_tev_outcome {
    int ok;
    const char *error;      /* the refusal, when !ok ("refused" when NULL or "") */
    const char *kind;       /* svc_tablet_kind_name */
    const char *booking_id; /* as named by the event (or taken to mean), "" none */
    const char *date;       /* the service day it was judged on */
    int64_t unix_ms;        /* when the tablet says it happened */
} svc_tev_outcome;

/*
 * Records the outcome of reserved event ev (taken; the next svc_tev_begin
 * answers it) and stores its row with everything the service layer has
 * queued, the answer following the commit.  A refusal past the vehicle's
 * stored bound is answered at once (hook answer) and kept in memory only.
 */
void svc_tev_finish(svc_tev *t, svc_tev_event *ev, const svc_tev_outcome *o, int64_t now_ms);

/* Every second or so: rows that failed to store are tried again (when the
 * store is ready), and once a minute events older than keep_ms go. */
void svc_tev_tick(svc_tev *t, int64_t now_ms);

/* For tests and metrics. */
typedef struct svc_tev_stats {
    int events;      /* in memory */
    int unstored;    /* rows waiting for a retry */
    int committing;  /* rows in a commit now */
    uint64_t stored; /* rows stored since the start */
} svc_tev_stats;
void svc_tev_stats_get(const svc_tev *t, svc_tev_stats *out);

#endif
