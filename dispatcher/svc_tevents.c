/*
 * svc_tevents.c - the once-only store of tablet events (svc_tevents.h).
 *
 * One map, (vehicle id "\n" event_id) -> event: its answer (ok, or the
 * refusal's text), whether that answer is still pending (judged, row not
 * yet stored), the askers waiting for it, and its row until stored.  An
 * event is judged once; while pending, every copy of it waits; once
 * stored, every copy is answered from the map.  The map is filled at the
 * start from the store (the last keep_ms of driver_events rows) and by
 * every event since; entries older than keep_ms and not pending are pruned
 * once a minute.
 *
 * Storing.  A new event's row goes to svc_commit as the caller's own record,
 * so it is committed with the change the event made (the service layer's
 * queue); the answer goes out from the commit's callback.  A failed commit
 * puts the row into the unstored list - the service layer re-queues its own
 * part - and svc_tev_tick submits up to max_retry_rows of them in one
 * transaction of their own, so a row that cannot be stored never holds up
 * the service's commits.  A retry the store refuses for good (not a lost
 * connection, not memory) is answered anyway: the change it answers for is
 * stored by the service layer's commits, and a tablet must not wait for
 * ever.  The store's put_driver_event is an insert once per (vehicle,
 * event_id), so a retry after an unknown outcome stores the row once.
 *
 * Bounds per vehicle.  n_events counts accepted events in the map (past
 * max_events a new event is refused without being judged); n_refused_stored
 * counts refusals in the map that were (or are being) stored; past
 * max_refused_stored a refusal is answered at once, not stored, and its key
 * goes into a ring of max_refused_ring: when the ring wraps, the oldest
 * such refusal is forgotten (a re-send of it is judged again, and refused
 * again, since nothing changed).  An event counts in its vehicle's numbers
 * from when it is recorded until it is pruned ("counted").  The token
 * bucket refills at rate_per_s up to rate_burst; a vehicle that has never
 * sent starts full.
 *
 * Lifetime.  Store callbacks (the load, commits, retries) hold t; destroy
 * while any is to come only marks t, and the last callback frees it without
 * calling a hook.
 *
 * Cost: O(1) per event (a map look-up, one row); a prune is O(map).  Memory:
 * about 150 bytes per event kept, at most max_events + max_refused_stored +
 * max_refused_ring per vehicle, plus the rows not yet stored.
 */
#include "dispatcher/svc_tevents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/db/db_err.h" /* DB_E codes */
#include "dispatcher/svc_int.h"

/* The event key's size: vehicle id, "\n", event_id, NUL. */
#define TEV_KEY_LEN (sizeof(((svc_vehicle_def *)0)->id) + SVC_TABLET_MAX_ID + 2)
#define TEV_PRUNE_EVERY_MS 60000

/* What goes into driver_events, kept until stored. */
typedef struct tev_row {
    char vehicle[sizeof(((svc_vehicle_def *)0)->id)];
    char event_id[SVC_TABLET_MAX_ID + 1], kind[16], booking[SVC_TABLET_MAX_ID + 1], date[11];
    int64_t unix_ms;
} tev_row;

struct svc_tev_event {
    int veh;     /* vehicle index, -1 for one no longer in the fleet */
    int counted; /* in its vehicle's n_events or n_refused_stored */
    int pending; /* reserved or judged, its row not yet stored */
    int ok;
    char *error;     /* the refusal (NULL when ok) */
    int64_t seen_ms; /* caller's time, for pruning */
    uint64_t waiters[SVC_TEV_MAX_WAITERS];
    int n_waiters;
    tev_row *row; /* until stored */
};

typedef struct tev_vehicle {
    int n_events;         /* accepted, in the map */
    int n_refused_stored; /* refusals stored, in the map */
    double bucket;        /* events it may still send now */
    int64_t bucket_ms;    /* 0: never sent */
    char **refused;       /* keys of refusals kept in memory only, a ring */
    int refused_next;
} tev_vehicle;

typedef struct tev_batch {
    svc_tev *t;
    int retry; /* the retry of rows that failed before */
    int n;
    svc_tev_event *ev[];
} tev_batch;

struct svc_tev {
    svc *core;
    svc_tev_limits lim;
    svc_tev_hooks hooks;
    int n_veh;
    tev_vehicle *veh;
    svc_map events; /* key -> svc_tev_event */
    int loaded, load_busy;
    int64_t load_ms;
    svc_tev_event **unstored;
    int n_unstored, cap_unstored;
    int retry_busy;
    int inflight; /* store callbacks to come */
    int closing;
    int committing;
    uint64_t stored;
    int64_t last_prune_ms;
};

/* When even the refusal's text could not be kept. */
static char refused_text[] = "refused";

void svc_tev_limits_default(svc_tev_limits *out)
{
    out->max_events = SVC_TEV_MAX_EVENTS_PER_VEHICLE;
    out->max_refused_stored = SVC_TEV_MAX_REFUSED_STORED_PER_VEHICLE;
    out->max_refused_ring = SVC_TEV_MAX_REFUSED_PER_VEHICLE;
    out->rate_burst = SVC_TEV_RATE_BURST;
    out->rate_per_s = SVC_TEV_RATE_PER_S;
    out->keep_ms = SVC_TEV_KEEP_MS;
    out->max_retry_rows = SVC_TEV_MAX_RETRY_ROWS;
}

static void key_of(char key[TEV_KEY_LEN], const char *vehicle_id, const char *event_id)
{
    snprintf(key, TEV_KEY_LEN, "%s\n%s", vehicle_id, event_id);
}

static void event_free(svc_tev_event *ev)
{
    if (ev->error != refused_text)
        free(ev->error);
    free(ev->row);
    free(ev);
}

static void free_all(svc_tev *t)
{
    for (size_t i = 0; i < t->events.cap; i++)
        if (svc_map_live(&t->events, i))
            event_free(t->events.slots[i].val);
    svc_map_cleanup(&t->events);
    free(t->unstored);
    for (int v = 0; v < t->n_veh; v++) {
        for (int k = 0; t->veh[v].refused != NULL && k < t->lim.max_refused_ring; k++)
            free(t->veh[v].refused[k]);
        free(t->veh[v].refused);
    }
    free(t->veh);
    free(t);
}

/* A store callback of t ended: 1 when t was destroyed meanwhile (and is
 * now freed if it was the last). */
static int callback_end(svc_tev *t)
{
    t->inflight--;
    if (!t->closing)
        return 0;
    if (t->inflight == 0)
        free_all(t);
    return 1;
}

int svc_tev_create(svc *core, const svc_tev_limits *lim, const svc_tev_hooks *hooks, int64_t now_ms,
                   svc_tev **out)
{
    svc_tev *t;

    *out = NULL;
    if (core == NULL || (lim != NULL && (lim->max_refused_ring < 1 || lim->max_retry_rows < 1)))
        return DSP_EINVAL;
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return DSP_ENOMEM;
    t->core = core;
    if (lim != NULL)
        t->lim = *lim;
    else
        svc_tev_limits_default(&t->lim);
    if (hooks != NULL)
        t->hooks = *hooks;
    t->n_veh = core->cfg.n_vehicles;
    t->last_prune_ms = now_ms;
    if ((t->veh = calloc((size_t)(t->n_veh > 0 ? t->n_veh : 1), sizeof(*t->veh))) == NULL) {
        free(t);
        return DSP_ENOMEM;
    }
    *out = t;
    return 0;
}

void svc_tev_destroy(svc_tev *t)
{
    if (t == NULL)
        return;
    t->closing = 1;
    if (t->inflight == 0)
        free_all(t);
}

int svc_tev_inflight(const svc_tev *t)
{
    return t->inflight;
}

/* ------------------------------------------------------------------------ */
/* Answers and rows                                                         */

/* Stored (or given up): the answer to whoever waits for it. */
static void event_resolved(svc_tev *t, svc_tev_event *ev)
{
    for (int i = 0; i < ev->n_waiters && ev->row != NULL; i++)
        if (!t->closing && t->hooks.answer != NULL)
            t->hooks.answer(t->hooks.ud, ev->waiters[i], ev->row->event_id, ev->ok, ev->error);
    ev->n_waiters = 0;
    ev->pending = 0;
    free(ev->row);
    ev->row = NULL;
}

static void unstored_add(svc_tev *t, svc_tev_event *ev)
{
    if (t->n_unstored == t->cap_unstored) {
        int cap = t->cap_unstored ? 2 * t->cap_unstored : 16;
        svc_tev_event **n = realloc(t->unstored, (size_t)cap * sizeof(*n));
        if (n == NULL) {
            /* The row is lost; the event stays answered from memory. */
            svc_log(t->core, 0, "driver channel: out of memory keeping an event to store", NULL,
                    ev->row != NULL ? ev->row->event_id : NULL);
            ev->pending = 0;
            free(ev->row);
            ev->row = NULL;
            return;
        }
        t->unstored = n;
        t->cap_unstored = cap;
    }
    t->unstored[t->n_unstored++] = ev;
}

static void rows_committed(void *ud, int rc)
{
    tev_batch *b = ud;
    svc_tev *t = b->t;
    char detail[120] = "";

    if (b->retry)
        t->retry_busy = 0;
    t->committing -= b->n;
    /* A retried row the store refuses for good (not a lost connection) is
     * given up: the change it answered for is stored by the service layer's
     * own commits, and the tablet must not wait for ever. */
    if (rc < 0)
        snprintf(detail, sizeof(detail), "%d events: %s", b->n, db_strerror(rc));
    if (rc < 0 && b->retry && rc != DB_EUNAVAIL && rc != DB_EUNKNOWN && rc != DB_ECLOSED &&
        rc != DB_ENOMEM) {
        svc_log(t->core, 0, "driver events could not be stored; answered anyway", NULL, detail);
        rc = 0;
    } else if (rc < 0) {
        svc_log(t->core, 1, "driver events not stored yet; retrying", NULL, detail);
    }
    for (int i = 0; i < b->n; i++) {
        if (rc == 0) {
            t->stored++;
            event_resolved(t, b->ev[i]);
        } else {
            unstored_add(t, b->ev[i]);
        }
    }
    free(b);
    callback_end(t);
}

/*
 * Stores the rows of evs; with retry 0 through svc_commit, with everything
 * the service layer has queued (the change the events made), else alone.
 * The answers follow the commit.
 */
static void store_events(svc_tev *t, svc_tev_event **evs, int n, int retry)
{
    store st = t->core->st;
    tev_batch *b = malloc(sizeof(*b) + (size_t)n * sizeof(svc_tev_event *));
    store_txn *txn = st.ops->txn_new(st.ctx);
    int rc = 0;

    if (b == NULL || txn == NULL) {
        free(b);
        if (txn != NULL)
            st.ops->txn_free(txn);
        for (int i = 0; i < n; i++)
            unstored_add(t, evs[i]);
        return;
    }
    b->t = t;
    b->retry = retry;
    b->n = n;
    for (int i = 0; i < n && rc == 0; i++) {
        const tev_row *r = evs[i]->row;
        store_driver_event_row row = {.vehicle_id = r->vehicle,
                                      .event_id = r->event_id,
                                      .kind = r->kind,
                                      .booking_id = r->booking,
                                      .date = r->date,
                                      .unix_ms = r->unix_ms,
                                      .result = evs[i]->ok ? "ok" : evs[i]->error};
        b->ev[i] = evs[i];
        rc = st.ops->put_driver_event(txn, &row);
    }
    if (rc < 0) {
        st.ops->txn_free(txn);
        for (int i = 0; i < n; i++)
            unstored_add(t, evs[i]);
        free(b);
        return;
    }
    t->inflight++;
    t->committing += n;
    if (retry) {
        t->retry_busy = 1;
        st.ops->txn_submit(txn, rows_committed, b);
        return;
    }
    svc_commit(t->core, txn, rows_committed, b);
}

/* Rows that failed before: again, up to max_retry_rows in one transaction. */
static void retry_unstored(svc_tev *t)
{
    store st = t->core->st;
    int n = t->n_unstored < t->lim.max_retry_rows ? t->n_unstored : t->lim.max_retry_rows;
    svc_tev_event **evs;

    if (n == 0 || t->retry_busy || !st.ops->ready(st.ctx))
        return;
    if ((evs = malloc((size_t)n * sizeof(*evs))) == NULL)
        return;
    memcpy(evs, t->unstored, (size_t)n * sizeof(*evs));
    memmove(t->unstored, t->unstored + n, (size_t)(t->n_unstored - n) * sizeof(*evs));
    t->n_unstored -= n;
    store_events(t, evs, n, 1);
    free(evs);
}

/* Remembers refused event ev under key in vehicle v's ring; the oldest
 * refusal there is forgotten when the ring is full. */
static void refused_keep(svc_tev *t, int v, const char *key, svc_tev_event *ev)
{
    tev_vehicle *x = &t->veh[v];
    char **slot;

    if (x->refused == NULL &&
        (x->refused = calloc((size_t)t->lim.max_refused_ring, sizeof(char *))) == NULL) {
        svc_map_del(&t->events, key);
        event_free(ev);
        return;
    }
    slot = &x->refused[x->refused_next];
    x->refused_next = (x->refused_next + 1) % t->lim.max_refused_ring;
    if (*slot != NULL) {
        svc_tev_event *old = svc_map_get(&t->events, *slot);
        if (old != NULL && !old->ok && !old->pending && !old->counted) {
            svc_map_del(&t->events, *slot);
            event_free(old);
        }
        free(*slot);
    }
    if ((*slot = strdup(key)) == NULL) {
        /* Not remembered at all: a re-send is judged again. */
        svc_map_del(&t->events, key);
        event_free(ev);
    }
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

int svc_tev_rate_ok(svc_tev *t, int v, int64_t now_ms)
{
    tev_vehicle *x;

    if (v < 0 || v >= t->n_veh)
        return 0;
    x = &t->veh[v];
    if (x->bucket_ms == 0)
        x->bucket = t->lim.rate_burst;
    else
        x->bucket += (double)(now_ms - x->bucket_ms) / 1000.0 * t->lim.rate_per_s;
    if (x->bucket > t->lim.rate_burst)
        x->bucket = t->lim.rate_burst;
    x->bucket_ms = now_ms > 0 ? now_ms : 1;
    if (x->bucket < 1.0)
        return 0;
    x->bucket -= 1.0;
    return 1;
}

svc_tev_state svc_tev_begin(svc_tev *t, int v, const char *event_id, uint64_t waiter,
                            svc_tev_event **out, int *ok, const char **error)
{
    char key[TEV_KEY_LEN];
    svc_tev_event *ev;

    *out = NULL;
    *ok = 0;
    *error = NULL;
    if (!t->loaded || t->closing || v < 0 || v >= t->n_veh || !svc_tablet_id_ok(event_id))
        return SVC_TEV_INVALID;
    key_of(key, svc_vehicle_id(t->core, v), event_id);
    if ((ev = svc_map_get(&t->events, key)) != NULL) {
        int known = 0;
        if (!ev->pending) {
            *ok = ev->ok;
            *error = ev->error;
            return SVC_TEV_ANSWERED;
        }
        for (int i = 0; i < ev->n_waiters; i++)
            known |= ev->waiters[i] == waiter;
        if (!known && ev->n_waiters < SVC_TEV_MAX_WAITERS)
            ev->waiters[ev->n_waiters++] = waiter;
        return SVC_TEV_WAITING;
    }
    if (t->veh[v].n_events >= t->lim.max_events)
        return SVC_TEV_FULL;
    if ((ev = calloc(1, sizeof(*ev))) == NULL || (ev->row = calloc(1, sizeof(*ev->row))) == NULL ||
        svc_map_put(&t->events, key, ev) < 0) {
        if (ev != NULL)
            free(ev->row);
        free(ev);
        return SVC_TEV_NOMEM;
    }
    ev->veh = v;
    ev->pending = 1; /* a copy that comes while it is judged waits */
    ev->waiters[ev->n_waiters++] = waiter;
    snprintf(ev->row->vehicle, sizeof(ev->row->vehicle), "%s", svc_vehicle_id(t->core, v));
    snprintf(ev->row->event_id, sizeof(ev->row->event_id), "%s", event_id);
    *out = ev;
    return SVC_TEV_NEW;
}

void svc_tev_finish(svc_tev *t, svc_tev_event *ev, const svc_tev_outcome *o, int64_t now_ms)
{
    tev_row *r = ev->row;
    tev_vehicle *x = &t->veh[ev->veh];
    char key[TEV_KEY_LEN];

    ev->ok = o->ok != 0;
    ev->seen_ms = now_ms;
    if (!ev->ok) {
        const char *e = o->error != NULL && o->error[0] ? o->error : refused_text;
        if ((ev->error = strdup(e)) == NULL)
            ev->error = refused_text;
    }
    snprintf(r->kind, sizeof(r->kind), "%s", o->kind != NULL ? o->kind : "");
    snprintf(r->booking, sizeof(r->booking), "%s", o->booking_id != NULL ? o->booking_id : "");
    snprintf(r->date, sizeof(r->date), "%s", o->date != NULL ? o->date : "");
    r->unix_ms = o->unix_ms;
    if (!ev->ok && x->n_refused_stored >= t->lim.max_refused_stored) {
        /* Nothing changed, and this vehicle has had its share of stored
         * refusals: the answer now, the refusal remembered in memory for a
         * re-send of the same id. */
        key_of(key, r->vehicle, r->event_id);
        event_resolved(t, ev);
        refused_keep(t, ev->veh, key, ev);
        return;
    }
    if (ev->ok)
        x->n_events++;
    else
        x->n_refused_stored++;
    ev->counted = 1;
    store_events(t, &ev, 1, 0);
}

/* ------------------------------------------------------------------------ */
/* Loading, pruning                                                         */

static void events_read(void *ud, int rc, const store_driver_event_row *rows, int n_rows)
{
    svc_tev *t = ud;
    int n = 0;

    t->load_busy = 0;
    if (callback_end(t))
        return;
    if (rc < 0) {
        if (t->hooks.loaded != NULL)
            t->hooks.loaded(t->hooks.ud, rc, 0);
        return;
    }
    for (int i = 0; i < n_rows; i++) {
        const char *veh = rows[i].vehicle_id, *id = rows[i].event_id;
        const char *result = rows[i].result;
        char key[TEV_KEY_LEN];
        svc_tev_event *ev;

        if (veh == NULL || id == NULL || result == NULL ||
            strlen(veh) >= sizeof(((svc_vehicle_def *)0)->id) || strlen(id) > SVC_TABLET_MAX_ID)
            continue;
        key_of(key, veh, id);
        if (svc_map_get(&t->events, key) != NULL || (ev = calloc(1, sizeof(*ev))) == NULL)
            continue;
        ev->ok = strcmp(result, "ok") == 0;
        ev->seen_ms = t->load_ms;
        ev->veh = svc_vehicle_index(t->core, veh);
        if (!ev->ok && (ev->error = strdup(result)) == NULL)
            ev->error = refused_text;
        if (svc_map_put(&t->events, key, ev) < 0) {
            event_free(ev);
            continue;
        }
        if (ev->veh >= 0 && ev->veh < t->n_veh) {
            *(ev->ok ? &t->veh[ev->veh].n_events : &t->veh[ev->veh].n_refused_stored) += 1;
            ev->counted = 1;
        }
        n++;
    }
    t->loaded = 1;
    if (t->hooks.loaded != NULL)
        t->hooks.loaded(t->hooks.ud, 0, n);
}

int svc_tev_load(svc_tev *t, int64_t now_ms)
{
    store st = t->core->st;

    if (t->loaded || t->load_busy)
        return 0;
    if (!st.ops->ready(st.ctx))
        return -1;
    t->load_busy = 1;
    t->inflight++;
    t->load_ms = now_ms;
    st.ops->driver_events_recent(st.ctx, (int)(t->lim.keep_ms / 3600000), events_read, t);
    return 0;
}

int svc_tev_loaded(const svc_tev *t)
{
    return t->loaded;
}

/* Drops events older than keep_ms (and not pending) from the map. */
static void prune_events(svc_tev *t, int64_t now_ms)
{
    for (size_t i = 0; i < t->events.cap; i++) {
        svc_tev_event *ev;
        if (!svc_map_live(&t->events, i))
            continue;
        ev = t->events.slots[i].val;
        if (ev->pending || now_ms - ev->seen_ms < t->lim.keep_ms)
            continue;
        if (ev->veh >= 0 && ev->veh < t->n_veh && ev->counted)
            *(ev->ok ? &t->veh[ev->veh].n_events : &t->veh[ev->veh].n_refused_stored) -= 1;
        svc_map_del(&t->events, t->events.slots[i].key);
        event_free(ev);
    }
}

void svc_tev_tick(svc_tev *t, int64_t now_ms)
{
    if (t->closing)
        return;
    retry_unstored(t);
    if (now_ms - t->last_prune_ms >= TEV_PRUNE_EVERY_MS) {
        t->last_prune_ms = now_ms;
        prune_events(t, now_ms);
    }
}

void svc_tev_stats_get(const svc_tev *t, svc_tev_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->events = (int)t->events.n;
    out->unstored = t->n_unstored;
    out->committing = t->committing;
    out->stored = t->stored;
}
