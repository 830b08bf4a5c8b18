/*
 * service.c - the live service: dispatcher days, bookings' side data,
 * tokens, idempotency keys, and keeping PostgreSQL in step with all of it.
 *
 * State.  One dsp_day per service date, from today up to max_lead_days
 * ahead, created when first needed; days behind today are dropped once
 * everything of theirs is stored.  Each booking the API knows has an api_bk
 * (its public id, rider, who booked it, notes) found by id in a hash map and
 * by dispatcher index in its day's table.  Breaks are dispatcher bookings
 * without an api_bk; they are never stored as bookings.
 *
 * Persisting.  The dispatcher reports every transition to the day's sink;
 * the sink only queues it (and marks plans that changed).  api_commit turns
 * everything queued into one transaction: the events (append-only log),
 * an upsert of every booking they touched, an upsert of every changed plan
 * with its sequence number, after the caller's own statements (idempotency
 * record, rider row).  The HTTP answer of the request that caused the
 * change is sent from the commit callback, so a 2xx means committed.  When
 * a commit fails, what it carried goes back into the queue and rides with
 * the next commit; the caller answers 503.
 *
 * Start.  Before the loop serves: migrations, the fleet upserted, tokens,
 * rider ids, recent idempotency keys and plan sequence numbers loaded, and
 * every open booking (offered, confirmed, assigned, picked up) of today and later put
 * back into the dispatcher with its promise (dsp_booking_restore), riders on
 * board back on their vans with their drop-offs to plan.  All of
 * this uses blocking libpq calls - the loop does not run yet.
 *
 * Time.  Service-day seconds come from the real clock in the area's zone
 * (TZ), shifted by clock_shift_s (--clock HH:MM for demos and tests).
 *
 * Timers.  Every second: dsp_tick (expired offers, late vans) and day
 * roll-over.  Every replan_interval_s: a re-plan of today in uv_queue_work
 * on a snapshot, adopted back on the loop when still valid.
 */
#define _DEFAULT_SOURCE /* timegm, tm_gmtoff */
#include "api/server/srv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/area/sha256.h"

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

int api_random_id(const char *prefix, char *out, size_t len)
{
    unsigned char raw[16];
    size_t k;

    /* uv_random without a loop is synchronous: getrandom(2), which needs no
     * file descriptor (descriptors may be exhausted by clients). */
    if (uv_random(NULL, NULL, raw, sizeof(raw), 0, NULL) != 0) {
        if (len > 0)
            out[0] = '\0';
        return -1;
    }
    k = (size_t)snprintf(out, len, "%s", prefix);
    for (size_t i = 0; i < sizeof(raw) && k + 2 < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%02x", raw[i]);
    return 0;
}

const char *api_role_name(int role)
{
    switch (role) {
    case API_ROLE_ADMIN:
        return "admin";
    case API_ROLE_OPERATOR:
        return "operator";
    case API_ROLE_RIDER:
        return "rider";
    case API_ROLE_DRIVER:
        return "driver";
    case API_ROLE_PLANNER:
        return "planner";
    default:
        return "public";
    }
}

int api_role_parse(const char *name)
{
    static const int roles[] = {API_ROLE_ADMIN, API_ROLE_OPERATOR, API_ROLE_RIDER, API_ROLE_DRIVER,
                                API_ROLE_PLANNER};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(name, api_role_name(roles[i])) == 0)
            return roles[i];
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Clock and days                                                           */

int64_t api_unix_now(const api_svc *s)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec + s->cfg.clock_shift_s;
}

static void date_of(int64_t t, char date[11])
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    strftime(date, 11, "%Y-%m-%d", &tm);
}

int api_today(api_svc *s, char date[11])
{
    date_of(api_unix_now(s), date);
    return 0;
}

/* Local midnight of date (YYYY-MM-DD, validated): unix seconds, or -1. */
static int64_t midnight_of(const char *date)
{
    struct tm tm;
    int y, mo, d;
    char tail;

    if (strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3 ||
        date[4] != '-' || date[7] != '-' || y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 ||
        d > 31)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 2026-02-31 normalised away */
        return -1;
    return (int64_t)t;
}

int api_day_now(const api_svc *s, const api_day *d)
{
    return (int)(api_unix_now(s) - d->midnight);
}

void api_day_iso(const api_svc *s, const api_day *d, int t_s, char *buf, size_t len)
{
    (void)s;
    api_unix_iso(d->midnight + t_s, buf, len);
}

int api_date_iso(const char *date, int t_s, char *buf, size_t len)
{
    int64_t mid = midnight_of(date);

    if (mid < 0)
        return -1;
    api_unix_iso(mid + t_s, buf, len);
    return 0;
}

int64_t api_date_midnight(const char *date)
{
    return midnight_of(date);
}

void api_unix_iso(int64_t unix_s, char *buf, size_t len)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    char z[8];

    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(z, sizeof(z), "%z", &tm); /* +0900 -> +09:00 */
    if (strlen(z) == 5) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%c%c%c:%c%c", z[0], z[1], z[2], z[3], z[4]);
    }
}

const char *api_vehicle_id(const api_svc *s, int v)
{
    return v >= 0 && v < s->cfg.n_vehicles ? s->cfg.vehicles[v].id : "";
}

int api_vehicle_index(const api_svc *s, const char *id)
{
    for (int v = 0; v < s->cfg.n_vehicles; v++)
        if (strcmp(s->cfg.vehicles[v].id, id) == 0)
            return v;
    return -1;
}

/* The queue keeps this many free entries: growing it happens after an
 * event is queued, so one dispatcher call that meets out of memory still
 * has room for the events it emits. */
#define EVQ_SPARE 64

static void evq_grow(api_svc *s)
{
    if (s->cap_evq - s->n_evq >= EVQ_SPARE)
        return;
    int cap = s->cap_evq ? 2 * s->cap_evq : 256;
    api_evq *n = realloc(s->evq, (size_t)cap * sizeof(*n));
    if (n == NULL)
        return; /* tried again after the next event */
    s->evq = n;
    s->cap_evq = cap;
}

void api_text_copy(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);

    if (len == 0)
        return;
    if (n >= len) {
        n = len - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--; /* src[n] starts the character that does not fit */
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void sink_event(void *ud, const dsp_event *e)
{
    api_day *d = ud;
    api_svc *s = d->svc;
    api_evq *q;

    if (e->booking < 0)
        return; /* vehicle events are logged, not stored as booking events */
    evq_grow(s);
    if (s->n_evq == s->cap_evq) {
        /* Even the spare is used up: the event's row is lost, but the
         * booking's own row (its state) is stored by the next commit,
         * which upserts every booking (resweep). */
        s->m.events_lost++;
        s->resweep = 1;
        api_log(API_LOG_ERROR, "out of memory queueing an event; its booking is re-stored",
                "\"booking\":%lld", (long long)e->booking);
        return;
    }
    q = &s->evq[s->n_evq++];
    q->day = (int)(d - s->days);
    q->idx = e->booking;
    q->vehicle = e->vehicle;
    q->time_s = e->time_s;
    q->from = e->from;
    q->to = e->to;
    snprintf(q->kind, sizeof(q->kind), "%s", e->kind);
    api_text_copy(q->detail, sizeof(q->detail), e->detail ? e->detail : "");
    snprintf(q->key, sizeof(q->key), "%s-%llu", s->run_id, (unsigned long long)++s->event_counter);
    snprintf(q->actor, sizeof(q->actor), "%s", s->actor);
    /* A confirmed offer's stops become visible to the tablet while the plan
     * keeps its version: a new seq for the new content, stored in the same
     * commit as the confirmation. */
    if (e->from == DSP_OFFERED && e->to == DSP_CONFIRMED && e->vehicle >= 0 &&
        e->vehicle < s->cfg.n_vehicles) {
        d->seq_base[e->vehicle]++;
        d->plan_dirty[e->vehicle] = 1;
    }
    if (e->to == DSP_EXPIRED)
        s->m.expired++;
}

/* Signature of vehicle v's stop sequence (bookings, kinds, committed). */
static uint64_t plan_signature(api_day *d, int v)
{
    dsp_plan_stop small[64], *st = small;
    dsp_vehicle_info vi;
    uint64_t h = 1469598103934665603ULL;
    int n;

    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return 0;
    if (vi.n_stops > 64 && (st = malloc((size_t)vi.n_stops * sizeof(*st))) == NULL)
        return 0; /* differs from any stored signature: the plan is stored */
    n = dsp_plan_get(d->dsp, v, st, vi.n_stops > 64 ? vi.n_stops : 64);
    h = (h ^ (uint64_t)vi.in_service) * 1099511628211ULL;
    for (int k = 0; k < n; k++) {
        h = (h ^ (uint64_t)st[k].booking) * 1099511628211ULL;
        h = (h ^ (uint64_t)(st[k].kind * 2 + st[k].committed)) * 1099511628211ULL;
    }
    if (st != small)
        free(st);
    return h;
}

/* The dispatcher re-times plans often (every tick for a van behind its
 * plan); the store gets a plan row when the stop sequence changes, and the
 * times alone at most every 30 s (on_tick). */
static void sink_plan(void *ud, int vehicle, uint32_t version)
{
    api_day *d = ud;

    (void)version;
    if (vehicle < 0 || vehicle >= d->svc->cfg.n_vehicles)
        return;
    if (plan_signature(d, vehicle) != d->plan_sig[vehicle])
        d->plan_dirty[vehicle] = 1;
}

/* The depot stop of vehicle f: its own, else the area's depot, else stop 0. */
static int depot_of(const api_svc *s, const api_fleet_def *f)
{
    if (f->depot_stop >= 0 && f->depot_stop < s->area->n_stops)
        return f->depot_stop;
    for (int k = 0; k < s->area->n_stops; k++)
        if (strcmp(s->area->stops[k].kind, "depot") == 0)
            return k;
    return 0;
}

/* seq base of (vehicle, date) loaded from the store at start */
static api_map seq_loaded;

static void day_free(api_svc *s, api_day *d)
{
    for (int64_t i = 0; i < d->cap_idx; i++) {
        api_bk *b = d->by_idx[i];
        if (b != NULL) {
            api_map_del(&s->bookings, b->id);
            free(b);
        }
    }
    dsp_day_destroy(d->dsp);
    free(d->by_idx);
    free(d->seq_base);
    free(d->plan_dirty);
    free(d->plan_sig);
    free(d->stored_version);
    memset(d, 0, sizeof(*d));
}

api_day *api_day_get(api_svc *s, const char *date, int create)
{
    char today[11];
    int64_t mid, mid_today;
    api_day *d = NULL;
    int rc;

    for (int i = 0; i < API_MAX_DAYS; i++)
        if (s->days[i].used && strcmp(s->days[i].date, date) == 0)
            return &s->days[i];
    if (!create)
        return NULL;
    api_today(s, today);
    mid = midnight_of(date);
    mid_today = midnight_of(today);
    if (mid < 0 || mid < mid_today || mid > mid_today + (int64_t)s->cfg.max_lead_days * 86400 + 7200)
        return NULL;
    for (int i = 0; i < API_MAX_DAYS && d == NULL; i++)
        if (!s->days[i].used)
            d = &s->days[i];
    if (d == NULL)
        return NULL;
    memset(d, 0, sizeof(*d));
    d->svc = s;
    snprintf(d->date, sizeof(d->date), "%s", date);
    d->midnight = mid;
    d->seq_base = calloc((size_t)s->cfg.n_vehicles, sizeof(*d->seq_base));
    d->plan_dirty = calloc((size_t)s->cfg.n_vehicles, 1);
    d->plan_sig = calloc((size_t)s->cfg.n_vehicles, sizeof(*d->plan_sig));
    d->stored_version = calloc((size_t)s->cfg.n_vehicles, sizeof(*d->stored_version));
    if (d->seq_base == NULL || d->plan_dirty == NULL || d->plan_sig == NULL ||
        d->stored_version == NULL)
        goto fail;
    dsp_sink sink = {.ud = d, .event = sink_event, .plan_changed = sink_plan};
    if (dsp_day_create(s->area, &s->cfg.rules, &sink, &d->dsp) < 0)
        goto fail;
    for (int v = 0; v < s->cfg.n_vehicles; v++) {
        const api_fleet_def *f = &s->cfg.vehicles[v];
        dsp_vehicle_def def;
        char key[80];
        memset(&def, 0, sizeof(def));
        def.id = f->id;
        def.n_configs = f->n_configs;
        for (int k = 0; k < f->n_configs; k++) {
            def.seats[k] = f->seats[k];
            def.wheelchairs[k] = f->wheelchairs[k];
        }
        int stop = depot_of(s, f);
        def.depot.stop = stop;
        def.depot.lat = s->area->stops[stop].lat;
        def.depot.lon = s->area->stops[stop].lon;
        def.shift_start_s = f->shift_start_s;
        def.shift_end_s = f->shift_end_s;
        def.n_breaks = f->n_breaks;
        for (int k = 0; k < f->n_breaks; k++) {
            def.breaks[k].earliest_s = f->break_earliest_s[k];
            def.breaks[k].latest_s = f->break_latest_s[k];
            def.breaks[k].duration_s = f->break_duration_s[k];
        }
        if ((rc = dsp_vehicle_add(d->dsp, &def)) < 0) {
            api_log(API_LOG_ERROR, "vehicle refused by the dispatcher",
                    "\"vehicle\":\"%s\",\"error\":\"%s\"", f->id, dsp_strerror(rc));
            goto fail;
        }
        snprintf(key, sizeof(key), "%s\n%s", f->id, date);
        d->seq_base[v] = (int64_t)(intptr_t)api_map_get(&seq_loaded, key);
        d->plan_dirty[v] = 1;
    }
    d->used = 1;
    api_log(API_LOG_INFO, "service day opened", "\"date\":\"%s\"", date);
    return d;
fail:
    if (d->dsp != NULL)
        dsp_day_destroy(d->dsp);
    free(d->seq_base);
    free(d->plan_dirty);
    free(d->plan_sig);
    free(d->stored_version);
    memset(d, 0, sizeof(*d));
    return NULL;
}

api_bk *api_bk_new(api_svc *s, api_day *d, int64_t idx, const char *rider, const char *notes)
{
    api_bk *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    if (idx >= d->cap_idx) {
        int64_t cap = d->cap_idx ? d->cap_idx : 256;
        while (cap <= idx)
            cap *= 2;
        api_bk **n = realloc(d->by_idx, (size_t)cap * sizeof(*n));
        if (n == NULL) {
            free(b);
            return NULL;
        }
        memset(n + d->cap_idx, 0, (size_t)(cap - d->cap_idx) * sizeof(*n));
        d->by_idx = n;
        d->cap_idx = cap;
    }
    if (api_random_id("bk_", b->id, sizeof(b->id)) < 0) {
        free(b);
        return NULL;
    }
    b->day = (int)(d - s->days);
    b->idx = idx;
    snprintf(b->rider_id, sizeof(b->rider_id), "%s", rider ? rider : "");
    snprintf(b->created_by, sizeof(b->created_by), "%s", s->actor);
    api_text_copy(b->notes, sizeof(b->notes), notes ? notes : "");
    b->stored_vehicle = -2; /* no row yet */
    b->stored_pickup_s = -1;
    if (api_map_put(&s->bookings, b->id, b) < 0) {
        free(b);
        return NULL;
    }
    d->by_idx[idx] = b;
    return b;
}

/* ------------------------------------------------------------------------ */
/* JSON of live state                                                       */

static json_t *place_json(const api_svc *s, const dsp_place *p)
{
    json_t *o = json_object();

    if (p->stop >= 0 && p->stop < s->area->n_stops) {
        const area_stop *st = &s->area->stops[p->stop];
        json_object_set_new(o, "stop_id", json_string(st->id));
        json_object_set_new(o, "name", json_string(st->name ? st->name : ""));
        if (st->name_en != NULL)
            json_object_set_new(o, "name_en", json_string(st->name_en));
    }
    json_object_set_new(o, "lat", json_real(p->lat));
    json_object_set_new(o, "lon", json_real(p->lon));
    return o;
}

static void set_time(json_t *o, const api_svc *s, const api_day *d, const char *key, int t_s)
{
    char iso[40], key_s[48];

    snprintf(key_s, sizeof(key_s), "%s_s", key);
    if (t_s < 0 && strcmp(key, "requested") != 0) {
        json_object_set_new(o, key, json_null());
        json_object_set_new(o, key_s, json_null());
        return;
    }
    api_day_iso(s, d, t_s, iso, sizeof(iso));
    json_object_set_new(o, key, json_string(iso));
    json_object_set_new(o, key_s, json_integer(t_s));
}

static const char *when_name(dsp_when w)
{
    return w == DSP_ASAP ? "asap" : w == DSP_DEPART_AFTER ? "depart_after" : "arrive_by";
}

json_t *api_bk_json(api_svc *s, const api_bk *b)
{
    api_day *d = &s->days[b->day];
    dsp_booking_info bi;
    json_t *o;

    if (dsp_booking_get(d->dsp, b->idx, &bi) < 0)
        return NULL;
    if (bi.status == DSP_CANCELLED || bi.status == DSP_EXPIRED || bi.status == DSP_REJECTED)
        bi.vehicle = -1; /* no van plans for it any more */
    o = json_object();
    json_object_set_new(o, "id", json_string(b->id));
    json_object_set_new(o, "date", json_string(d->date));
    json_object_set_new(o, "status", json_string(dsp_status_name(bi.status)));
    json_object_set_new(o, "rider_id", b->rider_id[0] ? json_string(b->rider_id) : json_null());
    json_object_set_new(o, "created_by", json_string(b->created_by));
    json_object_set_new(o, "pickup", place_json(s, &bi.pickup));
    json_object_set_new(o, "dropoff", place_json(s, &bi.drop));
    json_object_set_new(o, "when", json_string(when_name(bi.when)));
    set_time(o, s, d, "time", bi.when == DSP_ASAP ? -1 : bi.time_s);
    json_object_set_new(o, "passengers", json_integer(bi.passengers));
    json_object_set_new(o, "wheelchairs", json_integer(bi.wheelchairs));
    set_time(o, s, d, "requested", bi.requested_s);
    set_time(o, s, d, "pickup_from", bi.promise_from_s);
    set_time(o, s, d, "pickup_to", bi.promise_to_s);
    set_time(o, s, d, "latest_dropoff", bi.latest_dropoff_s);
    set_time(o, s, d, "planned_pickup", bi.vehicle >= 0 ? bi.planned_pickup_s : -1);
    set_time(o, s, d, "planned_dropoff", bi.vehicle >= 0 ? bi.planned_dropoff_s : -1);
    set_time(o, s, d, "picked_up", bi.pickup_s);
    set_time(o, s, d, "dropped_off", bi.dropoff_s);
    if (bi.status == DSP_OFFERED) {
        const dsp_day *dd = d->dsp;
        (void)dd;
        set_time(o, s, d, "expires", bi.requested_s + s->cfg.rules.offer_ttl_s);
    }
    json_object_set_new(o, "vehicle_id",
                        bi.vehicle >= 0 ? json_string(api_vehicle_id(s, bi.vehicle)) : json_null());
    json_object_set_new(o, "delayed", json_boolean(bi.delayed));
    json_object_set_new(o, "reason", json_string(bi.reason ? dsp_reason_name(bi.reason) : ""));
    json_object_set_new(o, "notes", json_string(b->notes));
    json_object_set_new(o, "needs_attention", json_false()); /* live: in a plan */
    json_object_set_new(o, "attention", json_null());
    return o;
}

json_t *api_plan_json(api_svc *s, api_day *d, int v)
{
    dsp_vehicle_info vi;
    dsp_plan_stop *stops = NULL;
    json_t *o, *arr;
    int n;

    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return NULL;
    n = vi.n_stops;
    if (n > 0 && (stops = malloc((size_t)n * sizeof(*stops))) == NULL)
        return NULL;
    n = dsp_plan_get(d->dsp, v, stops, n);
    o = json_object();
    arr = json_array();
    json_object_set_new(o, "vehicle_id", json_string(api_vehicle_id(s, v)));
    json_object_set_new(o, "date", json_string(d->date));
    json_object_set_new(o, "seq", json_integer(d->seq_base[v] + vi.version));
    json_object_set_new(o, "in_service", json_boolean(vi.in_service));
    json_object_set_new(o, "position", place_json(s, &vi.place));
    json_object_set_new(o, "en_route", json_boolean(vi.en_route));
    json_object_set_new(o, "seats_used", json_integer(vi.seats_used));
    json_object_set_new(o, "wheelchairs_used", json_integer(vi.wheelchairs_used));
    for (int k = 0; k < n; k++) {
        const dsp_plan_stop *p = &stops[k];
        json_t *st = json_object();
        const api_bk *b = p->booking < d->cap_idx ? d->by_idx[p->booking] : NULL;
        dsp_booking_info bi;
        json_object_set_new(st, "kind", json_string(p->kind == DSP_STOP_PICKUP ? "pickup"
                                                    : p->kind == DSP_STOP_DROP ? "dropoff"
                                                                               : "break"));
        json_object_set_new(st, "booking_id", b != NULL ? json_string(b->id) : json_null());
        json_object_set_new(st, "place", place_json(s, &p->place));
        set_time(st, s, d, "planned", p->planned_s);
        json_object_set_new(st, "service_s", json_integer(p->service_s));
        json_object_set_new(st, "committed", json_boolean(p->committed));
        if (b != NULL && dsp_booking_get(d->dsp, p->booking, &bi) == 0) {
            json_object_set_new(st, "rider_id",
                                b->rider_id[0] ? json_string(b->rider_id) : json_null());
            json_object_set_new(st, "passengers", json_integer(bi.passengers));
            json_object_set_new(st, "wheelchairs", json_integer(bi.wheelchairs));
            json_object_set_new(st, "status", json_string(dsp_status_name(bi.status)));
            set_time(st, s, d, "window_from", bi.promise_from_s);
            set_time(st, s, d, "window_to", bi.promise_to_s);
            json_object_set_new(st, "notes", json_string(b->notes));
        }
        json_array_append_new(arr, st);
    }
    json_object_set_new(o, "stops", arr);
    free(stops);
    return o;
}

/* ------------------------------------------------------------------------ */
/* Persisting                                                               */

typedef struct commit_ctx {
    struct commit_ctx *next; /* s->inflight */
    api_svc *s;
    api_commit_cb done;
    void *ud;
    api_evq *events;
    int n_events;
    api_bk **bks;
    int n_bks;
    int *plans; /* day * n_vehicles + v */
    int n_plans;
    api_idem **idem;
    int n_idem;
} commit_ctx;

static void itoa_buf(char *buf, size_t len, int64_t x)
{
    snprintf(buf, len, "%lld", (long long)x);
}

#define NP(x, buf) ((x) < 0 ? NULL : (itoa_buf(buf, sizeof(buf), (x)), buf))

static const char *stop_id_of(const api_svc *s, const dsp_place *p)
{
    return p->stop >= 0 && p->stop < s->area->n_stops ? s->area->stops[p->stop].id : NULL;
}

static int add_booking_row(api_svc *s, db_txn *t, api_bk *b)
{
    static const char *sql =
        "INSERT INTO bookings (id, service_date, rider_id, created_by, status, pickup_stop, "
        "pickup_lat, pickup_lon, drop_stop, drop_lat, drop_lon, when_kind, time_s, passengers, "
        "wheelchairs, requested_s, expires_s, promise_from_s, promise_to_s, latest_dropoff_s, "
        "vehicle_id, planned_pickup_s, planned_dropoff_s, pickup_s, dropoff_s, reason, notes) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,"
        "$23,$24,$25,$26,$27) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
        "expires_s = EXCLUDED.expires_s, promise_from_s = EXCLUDED.promise_from_s, "
        "promise_to_s = EXCLUDED.promise_to_s, latest_dropoff_s = EXCLUDED.latest_dropoff_s, "
        "vehicle_id = EXCLUDED.vehicle_id, planned_pickup_s = EXCLUDED.planned_pickup_s, "
        "planned_dropoff_s = EXCLUDED.planned_dropoff_s, pickup_s = EXCLUDED.pickup_s, "
        "dropoff_s = EXCLUDED.dropoff_s, reason = EXCLUDED.reason, attention = NULL, "
        "updated_at = now()";
    api_day *d = &s->days[b->day];
    dsp_booking_info bi;
    char plat[32], plon[32], dlat[32], dlon[32], ts[16], pax[16], wc[16], rq[16], ex[16], pf[16],
        pt[16], ld[16], pp[16], pd[16], ps[16], dd[16];
    const char *p[27];

    if (dsp_booking_get(d->dsp, b->idx, &bi) < 0)
        return 0;
    snprintf(plat, sizeof(plat), "%.7f", bi.pickup.lat);
    snprintf(plon, sizeof(plon), "%.7f", bi.pickup.lon);
    snprintf(dlat, sizeof(dlat), "%.7f", bi.drop.lat);
    snprintf(dlon, sizeof(dlon), "%.7f", bi.drop.lon);
    p[0] = b->id;
    p[1] = d->date;
    p[2] = b->rider_id[0] ? b->rider_id : NULL;
    p[3] = b->created_by;
    p[4] = dsp_status_name(bi.status);
    p[5] = stop_id_of(s, &bi.pickup);
    p[6] = plat;
    p[7] = plon;
    p[8] = stop_id_of(s, &bi.drop);
    p[9] = dlat;
    p[10] = dlon;
    p[11] = when_name(bi.when);
    p[12] = bi.when == DSP_ASAP ? NULL : NP(bi.time_s, ts);
    p[13] = NP(bi.passengers, pax);
    p[14] = NP(bi.wheelchairs, wc);
    itoa_buf(rq, sizeof(rq), bi.requested_s);
    p[15] = rq;
    p[16] = bi.status == DSP_OFFERED ? NP(bi.requested_s + s->cfg.rules.offer_ttl_s, ex) : NULL;
    p[17] = NP(bi.promise_from_s, pf);
    p[18] = NP(bi.promise_to_s, pt);
    p[19] = NP(bi.latest_dropoff_s, ld);
    p[20] = bi.vehicle >= 0 ? api_vehicle_id(s, bi.vehicle) : NULL;
    p[21] = bi.vehicle >= 0 ? NP(bi.planned_pickup_s, pp) : NULL;
    p[22] = bi.vehicle >= 0 ? NP(bi.planned_dropoff_s, pd) : NULL;
    p[23] = NP(bi.pickup_s, ps);
    p[24] = NP(bi.dropoff_s, dd);
    p[25] = bi.reason ? dsp_reason_name(bi.reason) : "";
    p[26] = b->notes;
    b->stored_vehicle = bi.vehicle;
    b->stored_pickup_s = bi.vehicle >= 0 ? bi.planned_pickup_s : -1;
    return db_txn_add(t, sql, 27, p);
}

static int add_event_row(api_svc *s, db_txn *t, const api_evq *e, const api_bk *b)
{
    static const char *sql =
        "INSERT INTO booking_events (booking_id, service_date, time_s, kind, from_status, "
        "to_status, vehicle_id, detail, actor, event_key) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,"
        "$10) ON CONFLICT (event_key) DO NOTHING";
    char ts[16];
    const char *p[10];

    itoa_buf(ts, sizeof(ts), e->time_s);
    p[0] = b->id;
    p[1] = s->days[e->day].date;
    p[2] = ts;
    p[3] = e->kind;
    p[4] = dsp_status_name(e->from);
    p[5] = dsp_status_name(e->to);
    p[6] = e->vehicle >= 0 ? api_vehicle_id(s, e->vehicle) : NULL;
    p[7] = e->detail;
    p[8] = e->actor;
    p[9] = e->key;
    return db_txn_add(t, sql, 10, p);
}

/* The stored plan: compact, [[booking id, "p"|"d"|"b", planned_s, committed], ...]
 * (what a standby needs; names and places are in bookings and stops). */
static int add_plan_row(api_svc *s, db_txn *t, api_day *d, int v)
{
    static const char *sql =
        "INSERT INTO plans (vehicle_id, service_date, seq, stops) VALUES ($1,$2,$3,$4) "
        "ON CONFLICT (vehicle_id, service_date) DO UPDATE SET seq = EXCLUDED.seq, "
        "stops = EXCLUDED.stops, updated_at = now() WHERE plans.seq < EXCLUDED.seq";
    dsp_vehicle_info vi;
    dsp_plan_stop *st = NULL;
    char seq[24], *buf;
    const char *p[4];
    size_t len = 0, cap;
    int n, rc;

    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return DB_EINVAL;
    n = vi.n_stops;
    cap = 16 + (size_t)n * 64;
    if ((n > 0 && (st = malloc((size_t)n * sizeof(*st))) == NULL) || (buf = malloc(cap)) == NULL) {
        free(st);
        return DB_ENOMEM;
    }
    n = dsp_plan_get(d->dsp, v, st, n);
    buf[len++] = '[';
    for (int k = 0; k < n; k++) {
        const api_bk *b = st[k].booking < d->cap_idx ? d->by_idx[st[k].booking] : NULL;
        char brk[32];
        snprintf(brk, sizeof(brk), "break-%lld", (long long)st[k].booking);
        len += (size_t)snprintf(buf + len, cap - len, "%s[\"%s\",\"%c\",%d,%d]", k ? "," : "",
                                b != NULL ? b->id : brk,
                                st[k].kind == DSP_STOP_PICKUP ? 'p'
                                : st[k].kind == DSP_STOP_DROP ? 'd'
                                                              : 'b',
                                st[k].planned_s, st[k].committed);
    }
    buf[len++] = ']';
    buf[len] = '\0';
    itoa_buf(seq, sizeof(seq), d->seq_base[v] + vi.version);
    p[0] = api_vehicle_id(s, v);
    p[1] = d->date;
    p[2] = seq;
    p[3] = buf;
    rc = db_txn_add(t, sql, 4, p);
    free(buf);
    free(st);
    d->plan_sig[v] = plan_signature(d, v);
    d->stored_version[v] = vi.version;
    return rc;
}

/* Adds b to a list of rows to store.  When the list cannot grow, b stays
 * marked and the next commit sweeps every booking for marked ones, so a
 * row is never forgotten for want of memory. */
static void mark_dirty(api_svc *s, api_bk *b, api_bk ***list, int *n, int *cap)
{
    if (b->dirty)
        return;
    b->dirty = 1;
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 64;
        api_bk **nl = realloc(*list, (size_t)c * sizeof(*nl));
        if (nl == NULL) {
            s->resweep = 1;
            return;
        }
        *list = nl;
        *cap = c;
    }
    (*list)[(*n)++] = b;
}

/* Bookings marked dirty outside events (e.g. planned times after restore). */
static api_bk **pending_bks;
static int n_pending_bks, cap_pending_bks;
/* Idempotency records waiting for their change's commit. */
static api_idem **pending_idem;
static int n_pending_idem, cap_pending_idem;

int api_idem_queue(api_svc *s, api_idem *e)
{
    (void)s;
    if (n_pending_idem == cap_pending_idem) {
        int cap = cap_pending_idem ? 2 * cap_pending_idem : 64;
        api_idem **n = realloc(pending_idem, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return -1;
        pending_idem = n;
        cap_pending_idem = cap;
    }
    pending_idem[n_pending_idem++] = e;
    return 0;
}

int api_bk_unstored(const api_svc *s, const api_bk *b)
{
    const api_day *d = &s->days[b->day];
    int day = b->day;

    if (b->dirty || s->resweep)
        return 1;
    for (int i = 0; i < s->n_evq; i++)
        if (s->evq[i].day == day && s->evq[i].idx == b->idx)
            return 1;
    for (const commit_ctx *c = s->inflight; c != NULL; c = c->next) {
        for (int i = 0; i < c->n_events; i++)
            if (c->events[i].day == day && c->events[i].idx == b->idx)
                return 1;
        for (int i = 0; i < c->n_bks; i++)
            if (c->bks[i] == b)
                return 1;
    }
    (void)d;
    return 0;
}

/* A store error that a retry of the same statements cannot cure (as
 * opposed to a lost connection or memory). */
static int permanent_failure(int rc)
{
    return rc == DB_EQUERY || rc == DB_ECONFLICT || rc == DB_EINVAL;
}

static void commit_done(void *ud, int rc, const db_result *res, const char *err)
{
    commit_ctx *c = ud;
    api_svc *s = c->s;

    for (commit_ctx **pp = (commit_ctx **)&s->inflight; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            s->n_inflight--;
            break;
        }
    if (rc < 0) {
        /* Back into the queue, ahead of what came meanwhile. */
        s->m.commits_failed++;
        api_log(API_LOG_WARN, "commit failed; changes kept for the next one",
                "\"error\":\"%s\",\"events\":%d", db_strerror(rc), c->n_events);
        if (c->n_events > 0) {
            api_evq *n = realloc(s->evq, (size_t)(s->n_evq + c->n_events) * sizeof(*n));
            if (n != NULL) {
                memmove(n + c->n_events, n, (size_t)s->n_evq * sizeof(*n));
                memcpy(n, c->events, (size_t)c->n_events * sizeof(*n));
                s->evq = n;
                s->n_evq += c->n_events;
                if (s->cap_evq < s->n_evq)
                    s->cap_evq = s->n_evq;
            } else {
                /* The events' rows are lost; their bookings' rows are not. */
                s->m.events_lost += (uint64_t)c->n_events;
                s->resweep = 1;
            }
        }
        /* Every row this commit carried is to be stored again, also those
         * it never reached (a failure while building it). */
        for (int i = 0; i < c->n_bks; i++)
            c->bks[i]->dirty = 0;
        for (int i = 0; i < c->n_bks; i++)
            mark_dirty(s, c->bks[i], &pending_bks, &n_pending_bks, &cap_pending_bks);
        for (int i = 0; i < c->n_plans; i++) {
            int day = c->plans[i] / s->cfg.n_vehicles, v = c->plans[i] % s->cfg.n_vehicles;
            if (s->days[day].used)
                s->days[day].plan_dirty[v] = 1;
        }
        for (int i = 0; i < c->n_idem; i++) {
            api_idem *e = c->idem[i];
            /* A record the store refuses for good must not ride with, and
             * fail, every later commit: it is given up (its request was
             * answered 503; the key is free to be used again). */
            if (!permanent_failure(rc) && api_idem_queue(s, e) == 0)
                continue;
            s->m.idem_refused++;
            char mk[40 + 1 + API_IDEM_KEY_MAX_BYTES + 1];
            snprintf(mk, sizeof(mk), "%s\n%s", e->token_id, e->key);
            if (api_map_get(&s->idem, mk) == e)
                api_map_del(&s->idem, mk);
            free(e->body);
            free(e);
        }
    } else {
        for (int i = 0; i < c->n_idem; i++)
            c->idem[i]->done = 1;
    }
    if (rc == 0) {
        /* Stored: now the tablets may hear of it. */
        for (int i = 0; i < c->n_plans; i++) {
            int day = c->plans[i] / s->cfg.n_vehicles, v = c->plans[i] % s->cfg.n_vehicles;
            if (s->days[day].used)
                api_driver_plan_stored(s, &s->days[day], v);
        }
        for (int i = 0; i < c->n_events; i++)
            api_driver_event_stored(s, &c->events[i]);
    }
    if (c->done != NULL)
        c->done(c->ud, rc, res, err);
    free(c->events);
    free(c->bks);
    free(c->plans);
    free(c->idem);
    free(c);
}

void api_commit(api_svc *s, db_txn *txn, api_commit_cb done, void *ud)
{
    commit_ctx *c = calloc(1, sizeof(*c));
    int cap_bks = 0, rc = 0;

    if (txn == NULL)
        txn = db_txn_new(s->db);
    if (c == NULL || txn == NULL) {
        free(c);
        if (txn != NULL)
            db_txn_free(txn);
        if (done != NULL)
            done(ud, DB_ENOMEM, NULL, "out of memory");
        return;
    }
    c->s = s;
    c->done = done;
    c->ud = ud;
    /* In flight from here on: the rows it holds keep their day alive. */
    c->next = s->inflight;
    s->inflight = c;
    s->n_inflight++;
    /* Take the queue. */
    c->events = s->evq;
    c->n_events = s->n_evq;
    s->evq = NULL;
    s->n_evq = s->cap_evq = 0;
    evq_grow(s);
    c->bks = pending_bks;
    c->n_bks = n_pending_bks;
    cap_bks = cap_pending_bks;
    pending_bks = NULL;
    n_pending_bks = cap_pending_bks = 0;
    c->idem = pending_idem;
    c->n_idem = n_pending_idem;
    pending_idem = NULL;
    n_pending_idem = cap_pending_idem = 0;
    if (s->resweep) {
        /* Something could not be queued: every booking marked dirty or not,
         * is stored (their rows carry their state). */
        s->resweep = 0;
        for (size_t i = 0; i < s->bookings.cap; i++) {
            api_bk *b = s->bookings.slots[i].val;
            if (b == NULL || s->bookings.slots[i].key == NULL)
                continue;
            b->dirty = 0;
            for (int k = 0; k < c->n_bks; k++)
                if (c->bks[k] == b)
                    b->dirty = 1;
            mark_dirty(s, b, &c->bks, &c->n_bks, &cap_bks);
        }
    }
    for (int i = 0; i < c->n_idem && rc == 0; i++) {
        api_idem *e = c->idem[i];
        char st[8];
        snprintf(st, sizeof(st), "%d", e->status);
        const char *p[7] = {e->token_id, e->key, e->method, e->path, e->req_sha, st, e->body};
        rc = db_txn_add(txn,
                        "INSERT INTO idempotency_keys (token_id, key, method, path, "
                        "request_sha256, status, response) VALUES ($1,$2,$3,$4,$5,$6,$7) "
                        "ON CONFLICT (token_id, key) DO NOTHING",
                        7, p);
    }
    for (int i = 0; i < c->n_events && rc == 0; i++) {
        api_evq *e = &c->events[i];
        api_day *d = &s->days[e->day];
        api_bk *b = d->used && e->idx < d->cap_idx ? d->by_idx[e->idx] : NULL;
        if (b == NULL)
            continue; /* a break, or a quote */
        rc = add_event_row(s, txn, e, b);
        mark_dirty(s, b, &c->bks, &c->n_bks, &cap_bks);
    }
    for (int i = 0; i < c->n_bks && rc == 0; i++) {
        c->bks[i]->dirty = 0;
        rc = add_booking_row(s, txn, c->bks[i]);
    }
    for (int day = 0; day < API_MAX_DAYS && rc == 0; day++) {
        api_day *d = &s->days[day];
        if (!d->used)
            continue;
        for (int v = 0; v < s->cfg.n_vehicles && rc == 0; v++) {
            if (!d->plan_dirty[v])
                continue;
            int *np = realloc(c->plans, (size_t)(c->n_plans + 1) * sizeof(*np));
            if (np == NULL) {
                rc = DB_ENOMEM;
                break;
            }
            c->plans = np;
            c->plans[c->n_plans++] = day * s->cfg.n_vehicles + v;
            d->plan_dirty[v] = 0;
            rc = add_plan_row(s, txn, d, v);
        }
    }
    if (rc < 0) {
        db_txn_free(txn);
        commit_done(c, rc, NULL, "out of memory building the transaction");
        return;
    }
    db_txn_submit(txn, commit_done, c);
}

/*
 * Booking rows whose van or planned pickup moved since they were stored
 * (a re-plan moves bookings between vans and re-times them without an
 * event of their own) are queued again, so listings read from the store
 * agree with the live plan: a change of van always, times when they moved
 * by a minute or more.
 */
static void refresh_moved_rows(api_svc *s)
{
    for (int day = 0; day < API_MAX_DAYS; day++) {
        api_day *d = &s->days[day];
        for (int64_t i = 0; d->used && i < d->cap_idx; i++) {
            api_bk *b = d->by_idx[i];
            dsp_booking_info bi;
            if (b == NULL || b->dirty || b->stored_vehicle == -2 ||
                dsp_booking_get(d->dsp, b->idx, &bi) < 0)
                continue;
            if (bi.status != DSP_OFFERED && bi.status != DSP_CONFIRMED &&
                bi.status != DSP_ASSIGNED && bi.status != DSP_PICKED_UP)
                continue;
            int pickup = bi.vehicle >= 0 ? bi.planned_pickup_s : -1;
            if (bi.vehicle != b->stored_vehicle ||
                (pickup >= 0) != (b->stored_pickup_s >= 0) || abs(pickup - b->stored_pickup_s) >= 60)
                mark_dirty(s, b, &pending_bks, &n_pending_bks, &cap_pending_bks);
        }
    }
}

static int has_pending(const api_svc *s)
{
    if (s->n_evq > 0 || n_pending_bks > 0 || n_pending_idem > 0 || s->resweep)
        return 1;
    for (int day = 0; day < API_MAX_DAYS; day++)
        if (s->days[day].used)
            for (int v = 0; v < s->cfg.n_vehicles; v++)
                if (s->days[day].plan_dirty[v])
                    return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Timers: tick, roll-over, re-plan                                         */

static void on_tick(uv_timer_t *t)
{
    api_svc *s = t->data;
    char today[11];
    int64_t mid_today;

    api_today(s, today);
    mid_today = midnight_of(today);
    snprintf(s->actor, sizeof(s->actor), "system");
    for (int i = 0; i < API_MAX_DAYS; i++) {
        api_day *d = &s->days[i];
        if (!d->used)
            continue;
        if (d->midnight < mid_today) {
            /* Yesterday: dropped once nothing of it waits to be stored
             * and no commit in flight holds its rows (a failed one puts
             * them back into the queue). */
            if (!has_pending(s) && s->n_inflight == 0)
                day_free(s, d);
            continue;
        }
        dsp_tick(d->dsp, api_day_now(s, d));
    }
    /* Plans whose times alone moved are stored every 30 s. */
    static unsigned ticks;
    ticks++;
    if (ticks % 30 == 0)
        refresh_moved_rows(s);
    if (ticks % 30 == 0)
        for (int i = 0; i < API_MAX_DAYS; i++) {
            api_day *d = &s->days[i];
            dsp_vehicle_info vi;
            for (int v = 0; d->used && v < s->cfg.n_vehicles; v++)
                if (dsp_vehicle_get(d->dsp, v, &vi) == 0 && vi.version != d->stored_version[v])
                    d->plan_dirty[v] = 1;
        }
    if (has_pending(s) && db_ready(s->db))
        api_commit(s, NULL, NULL, NULL);
    if (ticks % 60 != 0)
        return;
    /* Idempotency records live 24 hours. */
    int64_t now = api_unix_now(s);
    for (size_t i = 0; i < s->idem.cap; i++) {
        api_map_slot *sl = &s->idem.slots[i];
        api_idem *e = sl->val;
        if (e != NULL && e->done && now - e->created > 86400) {
            free(e->body);
            free(e);
            api_map_del(&s->idem, sl->key);
        }
    }
}

typedef struct replan_job {
    uv_work_t work;
    api_svc *s;
    int day;
    char date[11];
    dsp_replan *rp;
    slv_params prm;
    int rc;
    uint64_t t0;
} replan_job;

static double mono_s(void *ctx)
{
    (void)ctx;
    return (double)uv_hrtime() / 1e9;
}

static void replan_work(uv_work_t *w)
{
    replan_job *j = w->data;
    j->rc = dsp_replan_solve(j->rp, &j->prm);
}

static void replan_after(uv_work_t *w, int status)
{
    replan_job *j = w->data;
    api_svc *s = j->s;
    api_day *d = &s->days[j->day];
    int improved = 0, rc = j->rc;

    s->replan_busy = 0;
    api_hist_add(&s->m.replan_latency, (double)(uv_hrtime() - j->t0) / 1e9);
    if (status == 0 && rc == 0 && !s->stopping && d->used && strcmp(d->date, j->date) == 0) {
        snprintf(s->actor, sizeof(s->actor), "replan");
        rc = dsp_replan_adopt(d->dsp, api_day_now(s, d), j->rp, &improved);
        if (rc == 0) {
            s->m.replans_adopted += improved != 0;
            refresh_moved_rows(s);
            if (has_pending(s) && db_ready(s->db))
                api_commit(s, NULL, NULL, NULL);
        } else if (rc == DSP_ESTALE) {
            s->m.replans_stale++;
        }
    }
    if (rc < 0 && rc != DSP_ESTALE) {
        s->m.replans_failed++;
        api_log(API_LOG_WARN, "re-plan failed", "\"error\":\"%s\"", dsp_strerror(rc));
    }
    api_log(API_LOG_DEBUG, "re-plan done", "\"rc\":%d,\"improved\":%d", rc, improved);
    dsp_replan_destroy(j->rp);
    free(j);
}

static void on_replan(uv_timer_t *t)
{
    api_svc *s = t->data;
    char today[11];
    api_day *d;
    replan_job *j;

    if (s->replan_busy || s->stopping)
        return;
    api_today(s, today);
    if ((d = api_day_get(s, today, 0)) == NULL)
        return;
    if ((j = calloc(1, sizeof(*j))) == NULL)
        return;
    j->s = s;
    j->day = (int)(d - s->days);
    snprintf(j->date, sizeof(j->date), "%s", d->date);
    j->t0 = uv_hrtime();
    if (dsp_replan_prepare(d->dsp, api_day_now(s, d), &j->rp) < 0) {
        free(j);
        return;
    }
    slv_params_init(&j->prm);
    j->prm.seed = (uint64_t)s->m.replans + 1;
    j->prm.max_iterations = s->cfg.replan_iterations;
    if (s->cfg.replan_time_limit_s > 0) {
        j->prm.time_limit_s = s->cfg.replan_time_limit_s;
        j->prm.clock = mono_s;
    }
    j->work.data = j;
    s->m.replans++;
    s->replan_busy = 1;
    if (uv_queue_work(s->loop, &j->work, replan_work, replan_after) < 0) {
        s->replan_busy = 0;
        dsp_replan_destroy(j->rp);
        free(j);
    }
}

/* ------------------------------------------------------------------------ */
/* Start: bootstrap and restore (blocking, before the loop serves)          */

typedef struct load_ctx {
    api_svc *s;
    int n, failed;
    char err[256];
} load_ctx;

static void row_token(void *ud, int n, const char *const *v)
{
    load_ctx *c = ud;
    api_token *t = calloc(1, sizeof(*t));

    if (t == NULL || n < 5) {
        free(t);
        c->failed = 1;
        return;
    }
    snprintf(t->id, sizeof(t->id), "%s", v[0]);
    t->role = api_role_parse(v[2]);
    snprintf(t->rider_id, sizeof(t->rider_id), "%s", v[3] ? v[3] : "");
    snprintf(t->vehicle_id, sizeof(t->vehicle_id), "%s", v[4] ? v[4] : "");
    if (api_map_put(&c->s->tokens, v[1], t) < 0) {
        free(t);
        c->failed = 1;
    }
    c->n++;
}

static void row_rider(void *ud, int n, const char *const *v)
{
    load_ctx *c = ud;
    (void)n;
    if (api_map_put(&c->s->riders, v[0], (void *)1) < 0)
        c->failed = 1;
    c->n++;
}

static void row_idem(void *ud, int n, const char *const *v)
{
    load_ctx *c = ud;
    api_idem *e = calloc(1, sizeof(*e));
    char key[400];

    if (e == NULL || n < 6 || (e->body = strdup(v[4])) == NULL) {
        free(e);
        c->failed = 1;
        return;
    }
    snprintf(key, sizeof(key), "%s\n%s", v[0], v[1]);
    snprintf(e->req_sha, sizeof(e->req_sha), "%s", v[2]);
    e->status = atoi(v[3]);
    e->created = atoll(v[5]);
    e->done = 1;
    if (api_map_put(&c->s->idem, key, e) < 0) {
        free(e->body);
        free(e);
        c->failed = 1;
    }
    c->n++;
}

static void row_seq(void *ud, int n, const char *const *v)
{
    load_ctx *c = ud;
    char key[80];

    (void)n;
    snprintf(key, sizeof(key), "%s\n%s", v[0], v[1]);
    if (api_map_put(&seq_loaded, key, (void *)(intptr_t)atoll(v[2])) < 0)
        c->failed = 1;
}

static void row_out_of_service(void *ud, int n, const char *const *v)
{
    load_ctx *c = ud;
    char today[11];
    api_day *d;
    int k;

    (void)n;
    api_today(c->s, today);
    if ((k = api_vehicle_index(c->s, v[0])) < 0 || (d = api_day_get(c->s, today, 1)) == NULL)
        return;
    if (dsp_vehicle_out_of_service(d->dsp, api_day_now(c->s, d), k) == 0)
        c->n++;
}

static int place_from_row(api_svc *s, const char *stop, const char *lat, const char *lon,
                          dsp_place *p)
{
    intptr_t k = stop ? (intptr_t)api_map_get(&s->stop_ids, stop) : 0;

    if (k > 0) {
        p->stop = (int)k - 1;
        p->lat = s->area->stops[p->stop].lat;
        p->lon = s->area->stops[p->stop].lon;
        return 0;
    }
    if (s->area->time_s != NULL || lat == NULL || lon == NULL)
        return -1;
    p->stop = -1;
    p->lat = atof(lat);
    p->lon = atof(lon);
    return 0;
}

/* id, date, rider, created_by, status, pstop, plat, plon, dstop, dlat, dlon, when, time_s,
 * passengers, wheelchairs, requested_s, expires_s, pf, pt, ld, vehicle, notes, pickup_s */
/*
 * A stored open booking that no van can take any more (its time passed
 * while the daemon was down, or the fleet changed).  Never left as it is:
 * an offer expires (the row and an event, as the tick would have done); a
 * confirmed trip keeps its status and is marked for the operators
 * (attention 'not_planned', listed by GET /v1/bookings?needs_attention=true),
 * once - a later restart that fails again adds nothing.
 */
static void not_restored(load_ctx *c, const char *id, const char *date, const char *status,
                         int now_s)
{
    char key[40], ts[16];
    const char *p[5];
    int offer = strcmp(status, "offered") == 0, rc;

    if (api_random_id("rs_", key, sizeof(key)) < 0)
        return; /* stays as it is; tried again at the next start */
    snprintf(ts, sizeof(ts), "%d", now_s);
    p[0] = id;
    p[1] = status;
    p[2] = ts;
    p[3] = key;
    p[4] = offer ? "expired" : status;
    rc = db_exec_blocking(
        c->s->cfg.database,
        offer ? "WITH u AS (UPDATE bookings SET status = 'expired', updated_at = now() "
                "WHERE id = $1 AND status = $2 RETURNING id, service_date) "
                "INSERT INTO booking_events (booking_id, service_date, time_s, kind, from_status, "
                "to_status, vehicle_id, detail, actor, event_key) SELECT id, service_date, "
                "$3::int, 'status', $2, $5, NULL, 'not_restored', 'restore', $4 FROM u"
              : "WITH u AS (UPDATE bookings SET attention = 'not_planned', vehicle_id = NULL, "
                "planned_pickup_s = NULL, planned_dropoff_s = NULL, updated_at = now() "
                "WHERE id = $1 AND status = $2 AND attention IS NULL RETURNING id, service_date) "
                "INSERT INTO booking_events (booking_id, service_date, time_s, kind, from_status, "
                "to_status, vehicle_id, detail, actor, event_key) SELECT id, service_date, "
                "$3::int, 'attention', $2, $5, NULL, 'not_planned', 'restore', $4 FROM u",
        5, p, NULL, NULL, c->err, sizeof(c->err));
    if (rc < 0)
        api_log(API_LOG_ERROR, "could not mark a booking that was not restored",
                "\"booking\":\"%s\",\"error\":\"%s\"", id, db_strerror(rc));
    else
        api_log(API_LOG_WARN, offer ? "offer not restored: expired" : "trip not restored: for the operators",
                "\"booking\":\"%s\",\"date\":\"%s\"", id, date);
}

static void row_booking(void *ud, int n, const char *const *v)
{
    load_ctx *c = ud;
    api_svc *s = c->s;
    dsp_request req;
    dsp_restore rs;
    api_day *d;
    api_bk *b;
    int64_t idx;
    int rc;

    if (n < 23)
        return;
    memset(&req, 0, sizeof(req));
    memset(&rs, 0, sizeof(rs));
    d = api_day_get(s, v[1], 1);
    if (d == NULL) {
        api_log(API_LOG_WARN, "booking of a day outside the horizon not restored",
                "\"booking\":\"%s\",\"date\":\"%s\"", v[0], v[1]);
        return;
    }
    if (place_from_row(s, v[5], v[6], v[7], &req.pickup) < 0 ||
        place_from_row(s, v[8], v[9], v[10], &req.drop) < 0) {
        api_log(API_LOG_ERROR, "booking's stops are not in this area; not restored",
                "\"booking\":\"%s\"", v[0]);
        c->failed++;
        not_restored(c, v[0], v[1], v[4], api_day_now(s, d));
        return;
    }
    req.ext_id = v[0];
    req.when = strcmp(v[11], "depart_after") == 0 ? DSP_DEPART_AFTER
               : strcmp(v[11], "arrive_by") == 0  ? DSP_ARRIVE_BY
                                                  : DSP_ASAP;
    req.time_s = v[12] ? atoi(v[12]) : 0;
    req.passengers = atoi(v[13]);
    req.wheelchairs = atoi(v[14]);
    rs.req = &req;
    rs.status = (dsp_status)dsp_status_parse(v[4]);
    rs.requested_s = atoi(v[15]);
    rs.expires_s = v[16] ? atoi(v[16]) : rs.requested_s + s->cfg.rules.offer_ttl_s;
    rs.promise_from_s = v[17] ? atoi(v[17]) : 0;
    rs.promise_to_s = v[18] ? atoi(v[18]) : 0;
    rs.latest_dropoff_s = v[19] ? atoi(v[19]) : 0;
    rs.vehicle = v[20] ? api_vehicle_index(s, v[20]) : -1;
    rs.pickup_s = v[22] ? atoi(v[22]) : -1;
    rc = dsp_booking_restore(d->dsp, api_day_now(s, d), &rs, &idx);
    if (rc < 0) {
        api_log(API_LOG_ERROR, "booking could not be put back into any plan",
                "\"booking\":\"%s\",\"error\":\"%s\"", v[0], dsp_strerror(rc));
        c->failed++;
        not_restored(c, v[0], v[1], v[4], api_day_now(s, d));
        return;
    }
    b = api_bk_new(s, d, idx, v[2], v[21]);
    if (b == NULL) {
        c->failed++;
        return;
    }
    /* Keep the stored identity. */
    api_map_del(&s->bookings, b->id);
    snprintf(b->id, sizeof(b->id), "%s", v[0]);
    snprintf(b->created_by, sizeof(b->created_by), "%s", v[3]);
    api_map_put(&s->bookings, b->id, b);
    mark_dirty(s, b, &pending_bks, &n_pending_bks, &cap_pending_bks);
    c->n++;
}

static int load_all(api_svc *s, char *err, size_t err_len)
{
    const char *conninfo = s->cfg.database;
    load_ctx c = {.s = s};
    char today[11];
    const char *p[1];
    int rc;

    if ((rc = db_exec_blocking(conninfo,
                               "SELECT id, token_sha256, role, rider_id, vehicle_id FROM tokens "
                               "WHERE revoked_at IS NULL",
                               0, NULL, row_token, &c, err, err_len)) < 0)
        return rc;
    api_log(API_LOG_INFO, "tokens loaded", "\"count\":%d", c.n);
    c.n = 0;
    if ((rc = db_exec_blocking(conninfo, "SELECT id FROM riders", 0, NULL, row_rider, &c, err,
                               err_len)) < 0)
        return rc;
    api_log(API_LOG_INFO, "riders known", "\"count\":%d", c.n);
    c.n = 0;
    if ((rc = db_exec_blocking(conninfo,
                               "SELECT token_id, key, request_sha256, status, response, "
                               "extract(epoch FROM created_at)::bigint FROM idempotency_keys "
                               "WHERE created_at > now() - interval '24 hours'",
                               0, NULL, row_idem, &c, err, err_len)) < 0)
        return rc;
    c.n = 0;
    if ((rc = db_exec_blocking(conninfo, "SELECT vehicle_id, service_date::text, seq FROM plans", 0,
                               NULL, row_seq, &c, err, err_len)) < 0)
        return rc;
    api_today(s, today);
    p[0] = today;
    /* Vans taken out of service today stay out: before the bookings come
     * back, so none is planned onto them. */
    c.n = 0;
    if ((rc = db_exec_blocking(conninfo,
                               "SELECT id FROM vehicles WHERE out_of_service_on = $1::date", 1, p,
                               row_out_of_service, &c, err, err_len)) < 0)
        return rc;
    if (c.n > 0)
        api_log(API_LOG_INFO, "vehicles out of service today", "\"count\":%d", c.n);
    c.n = 0;
    c.failed = 0;
    snprintf(s->actor, sizeof(s->actor), "restore");
    if ((rc = db_exec_blocking(
             conninfo,
             "SELECT id, service_date::text, rider_id, created_by, status, pickup_stop, "
             "pickup_lat, pickup_lon, drop_stop, drop_lat, drop_lon, when_kind, time_s, "
             "passengers, wheelchairs, requested_s, expires_s, promise_from_s, promise_to_s, "
             "latest_dropoff_s, vehicle_id, notes, pickup_s FROM bookings WHERE service_date >= "
             "$1::date AND status IN ('offered', 'confirmed', 'assigned', 'picked_up') "
             "ORDER BY service_date, CASE status WHEN 'picked_up' THEN 0 WHEN 'offered' THEN 2 "
             "ELSE 1 END, promise_from_s, id",
             1, p, row_booking, &c, err, err_len)) < 0)
        return rc;
    api_log(API_LOG_INFO, "open bookings restored", "\"count\":%d,\"failed\":%d", c.n, c.failed);
    /* Offers whose time ran out while the daemon was down expire now. */
    for (int i = 0; i < API_MAX_DAYS; i++)
        if (s->days[i].used)
            dsp_tick(s->days[i].dsp, api_day_now(s, &s->days[i]));
    return 0;
}

static int upsert_fleet(api_svc *s, char *err, size_t err_len)
{
    json_t *arr = json_array();
    char *js;
    const char *p[1];
    int rc;

    for (int v = 0; v < s->cfg.n_vehicles; v++) {
        const api_fleet_def *f = &s->cfg.vehicles[v];
        json_t *cf = json_array();
        int stop = depot_of(s, f);
        for (int k = 0; k < f->n_configs; k++)
            json_array_append_new(cf, json_pack("{s:i,s:i}", "seats", f->seats[k], "wheelchairs",
                                                f->wheelchairs[k]));
        json_array_append_new(arr, json_pack("{s:s,s:o,s:f,s:f,s:s}", "id", f->id, "configs", cf,
                                             "depot_lat", s->area->stops[stop].lat, "depot_lon",
                                             s->area->stops[stop].lon, "depot_stop",
                                             s->area->stops[stop].id));
    }
    js = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (js == NULL)
        return DB_ENOMEM;
    p[0] = js;
    rc = db_exec_blocking(
        s->cfg.database,
        "INSERT INTO vehicles (id, name, configs, depot_lat, depot_lon, depot_stop, active) "
        "SELECT x.id, x.id, x.configs, x.depot_lat, x.depot_lon, x.depot_stop, true "
        "FROM jsonb_to_recordset($1::jsonb) AS x(id text, configs jsonb, depot_lat float8, "
        "depot_lon float8, depot_stop text) ON CONFLICT (id) DO UPDATE SET configs = "
        "EXCLUDED.configs, depot_lat = EXCLUDED.depot_lat, depot_lon = EXCLUDED.depot_lon, "
        "depot_stop = EXCLUDED.depot_stop, active = true",
        1, p, NULL, NULL, err, err_len);
    free(js);
    return rc;
}

/* Demo tokens: reused when the file's tokens are still valid, else made. */
static int demo_tokens(api_svc *s, char *err, size_t err_len)
{
    static const char *const roles[] = {"admin", "operator", "rider", "driver", "planner"};
    char tok[5][64], sha[65], tid[40];
    json_t *old = json_load_file(s->cfg.demo_tokens, 0, NULL), *out;
    int valid = old != NULL, rc;

    for (int i = 0; i < 5 && valid; i++) {
        json_t *t = json_object_get(old, roles[i]);
        if (!json_is_string(t) || strlen(json_string_value(t)) >= sizeof(tok[i])) {
            valid = 0;
            break;
        }
        snprintf(tok[i], sizeof(tok[i]), "%s", json_string_value(t));
        area_sha256_hex(tok[i], strlen(tok[i]), sha);
        valid = api_map_get(&s->tokens, sha) != NULL;
    }
    json_decref(old);
    if (!valid) {
        const char *rp[1] = {"r_demo"};
        if ((rc = db_exec_blocking(s->cfg.database,
                                   "INSERT INTO riders (id, name, name_kana, phone, phone_digits, "
                                   "mobility, notes) VALUES ($1, '乗合 花子', 'のりあい はなこ', "
                                   "'0120-000-000', '0120000000', '', 'demo rider') "
                                   "ON CONFLICT (id) DO NOTHING",
                                   1, rp, NULL, NULL, err, err_len)) < 0)
            return rc;
        api_map_put(&s->riders, "r_demo", (void *)1);
        for (int i = 0; i < 5; i++) {
            api_token *t = calloc(1, sizeof(*t));
            const char *p[6];
            if (t == NULL)
                return DB_ENOMEM;
            if (api_random_id("nt_", tok[i], sizeof(tok[i])) < 0 ||
                api_random_id("tk_", tid, 20) < 0) {
                free(t);
                snprintf(err, err_len, "no randomness from the kernel for the demo tokens");
                return DB_EINVAL;
            }
            area_sha256_hex(tok[i], strlen(tok[i]), sha);
            p[0] = tid;
            p[1] = sha;
            p[2] = roles[i];
            p[3] = strcmp(roles[i], "rider") == 0 ? "r_demo" : NULL;
            p[4] = strcmp(roles[i], "driver") == 0 ? s->cfg.vehicles[0].id : NULL;
            p[5] = "demo";
            if ((rc = db_exec_blocking(s->cfg.database,
                                       "INSERT INTO tokens (id, token_sha256, role, rider_id, "
                                       "vehicle_id, label) VALUES ($1,$2,$3,$4,$5,$6)",
                                       6, p, NULL, NULL, err, err_len)) < 0) {
                free(t);
                return rc;
            }
            snprintf(t->id, sizeof(t->id), "%s", tid);
            t->role = api_role_parse(roles[i]);
            snprintf(t->rider_id, sizeof(t->rider_id), "%s", p[3] ? p[3] : "");
            snprintf(t->vehicle_id, sizeof(t->vehicle_id), "%s", p[4] ? p[4] : "");
            api_map_put(&s->tokens, sha, t);
        }
    }
    out = json_object();
    for (int i = 0; i < 5; i++) {
        json_object_set_new(out, roles[i], json_string(tok[i]));
        snprintf(s->demo_tok[i], sizeof(s->demo_tok[i]), "%.60s", tok[i]);
    }
    /* Bearer tokens: readable by the daemon's user alone (0600), also when
     * the file existed before with wider rights. */
    {
        int fd = open(s->cfg.demo_tokens, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        rc = -1;
        if (f == NULL && fd >= 0)
            close(fd);
        if (f != NULL) {
            rc = fchmod(fd, 0600) == 0 ? json_dumpf(out, f, JSON_INDENT(2)) : -1;
            if (fclose(f) != 0)
                rc = -1;
        }
    }
    json_decref(out);
    if (rc != 0) {
        snprintf(err, err_len, "cannot write the demo tokens file %.200s", s->cfg.demo_tokens);
        return DB_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The daemon                                                               */

static void on_db_state(void *ud, int connected)
{
    api_svc *s = ud;
    api_log(connected ? API_LOG_INFO : API_LOG_WARN,
            connected ? "database connected" : "database connection lost", NULL);
    if (connected && has_pending(s))
        api_commit(s, NULL, NULL, NULL);
}

static void closed_cb(void *ud)
{
    (void)ud;
}

static void close_walk(uv_handle_t *h, void *ud)
{
    (void)ud;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void final_commit_done(void *ud, int rc, const db_result *res, const char *err)
{
    api_svc *s = ud;
    (void)res;
    (void)err;
    if (rc < 0)
        api_log(API_LOG_WARN, "last changes not stored at shutdown", NULL);
    db_close(s->db, closed_cb, NULL);
    s->db = NULL;
}

static void on_signal(uv_signal_t *h, int signum)
{
    api_svc *s = h->data;

    if (s->stopping)
        return;
    s->stopping = 1;
    api_log(API_LOG_INFO, "shutting down", "\"signal\":%d", signum);
    uv_timer_stop(&s->tick_timer);
    uv_timer_stop(&s->replan_timer);
    uv_close((uv_handle_t *)&s->tick_timer, NULL);
    uv_close((uv_handle_t *)&s->replan_timer, NULL);
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    api_driver_close(s);
    api_http_server_close(s->http, closed_cb, NULL);
    if (db_ready(s->db) && has_pending(s)) {
        api_commit(s, NULL, final_commit_done, s);
    } else {
        db_close(s->db, closed_cb, NULL);
        s->db = NULL;
    }
}

static int load_area(api_svc *s, char *err, size_t err_len)
{
    int rc;

    if (s->cfg.area_dir[0])
        rc = area_load(s->cfg.area_dir, &s->area, err, err_len);
    else
        rc = area_synth(s->cfg.synth_seed, (area_synth_size)s->cfg.synth_size, &s->area, err,
                        err_len);
    if (rc < 0)
        return rc;
    for (int k = 0; k < s->area->n_stops; k++)
        if (api_map_put(&s->stop_ids, s->area->stops[k].id, (void *)(intptr_t)(k + 1)) < 0)
            return AREA_ENOMEM;
    return 0;
}

int api_serve(const api_config *cfg)
{
    api_svc *s = calloc(1, sizeof(*s));
    uv_loop_t loop;
    char err[512], esc[1100], zone[600];
    int rc, status = 1, applied = 0;
    if (s == NULL)
        return 1;
    s->cfg = *cfg;
    s->started = (int64_t)time(NULL);
    api_log_set_level(cfg->log_level);
    if (api_random_id("", s->run_id, 17) < 0) {
        api_log(API_LOG_ERROR, "no randomness from the kernel: cannot make tokens or ids safely",
                NULL);
        free(s);
        return 1;
    }
    /* An unknown zone would silently become UTC: refuse it. */
    snprintf(zone, sizeof(zone), "/usr/share/zoneinfo/%s", cfg->timezone);
    if (strcmp(cfg->timezone, "UTC") != 0 &&
        (strstr(cfg->timezone, "..") != NULL || access(zone, R_OK) != 0)) {
        api_log(API_LOG_ERROR, "unknown time zone (no tzdata entry)", "\"timezone\":\"%s\"",
                api_log_esc(cfg->timezone, esc, sizeof(esc)));
        free(s);
        return 2;
    }
    if (setenv("TZ", cfg->timezone, 1) != 0) {
        free(s);
        return 1;
    }
    tzset();
    if (cfg->database[0] == '\0') {
        api_log(API_LOG_ERROR, "no database given (--database or \"database\" in the config)",
                NULL);
        free(s);
        return 2;
    }
    if ((rc = load_area(s, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "cannot load the area", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out_area;
    }
    api_log(API_LOG_INFO, "area ready", "\"stops\":%d,\"name\":\"%s\"", s->area->n_stops,
            s->area->name ? s->area->name : "");
    if ((rc = db_migrate(cfg->database, &applied, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "migrations failed", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out_area;
    }
    api_log(API_LOG_INFO, "schema up to date", "\"applied\":%d", applied);
    if ((rc = upsert_fleet(s, err, sizeof(err))) < 0 || (rc = load_all(s, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "cannot load state from the store", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out_area;
    }
    if (cfg->demo_tokens[0] && (rc = demo_tokens(s, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "cannot make demo tokens", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out_area;
    }
    /* Today's day exists from the start, so the fleet's plans are stored. */
    {
        char today[11];
        api_today(s, today);
        api_day_get(s, today, 1);
    }

    if ((rc = uv_loop_init(&loop)) < 0) {
        api_log(API_LOG_ERROR, "cannot start the event loop", "\"error\":\"%s\"",
                uv_strerror(rc));
        goto out_area;
    }
    s->loop = &loop;
    db_opts dbo = {.max_group_statements = 4000, .state_changed = on_db_state, .ud = s};
    if ((rc = db_create(&loop, cfg->database, &dbo, &s->db)) < 0) {
        api_log(API_LOG_ERROR, "cannot start the store connection", "\"error\":\"%s\"",
                db_strerror(rc));
        goto out_loop;
    }
    api_http_limits lim;
    api_http_limits_default(&lim);
    lim.max_body_bytes = (size_t)cfg->max_body_bytes;
    if ((rc = api_http_server_create(&loop, &lim, api_routes_handle, s, &s->http)) < 0 ||
        (rc = api_http_listen(s->http, cfg->listen_host, cfg->listen_port, &s->port)) < 0) {
        api_log(API_LOG_ERROR, "cannot listen", "\"host\":\"%s\",\"port\":%d,\"error\":\"%s\"",
                cfg->listen_host, cfg->listen_port, api_http_strerror(rc));
        fprintf(stderr,
                "noriai serve: cannot listen on %s:%d: %s.\n"
                "  Another program (or another noriai) may be using that address. Choose another\n"
                "  with --listen HOST:PORT, \"listen\" in the config file, or NORIAI_LISTEN=HOST:PORT\n"
                "  for make run.\n",
                cfg->listen_host, cfg->listen_port, api_http_strerror(rc));
        goto out_loop;
    }
    if (api_driver_init(s) < 0) {
        api_log(API_LOG_ERROR, "cannot start the driver channel", NULL);
        goto out_loop;
    }
    uv_timer_init(&loop, &s->tick_timer);
    s->tick_timer.data = s;
    uv_timer_start(&s->tick_timer, on_tick, 1000, 1000);
    uv_timer_init(&loop, &s->replan_timer);
    s->replan_timer.data = s;
    if (cfg->replan_interval_s > 0)
        uv_timer_start(&s->replan_timer, on_replan, (uint64_t)cfg->replan_interval_s * 1000,
                       (uint64_t)cfg->replan_interval_s * 1000);
    uv_signal_init(&loop, &s->sig_term);
    uv_signal_init(&loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    {
        char today[11];
        api_today(s, today);
        api_log(API_LOG_INFO, "listening",
                "\"url\":\"http://%s:%d/\",\"vehicles\":%d,\"service_date\":\"%s\"",
                cfg->listen_host, s->port, cfg->n_vehicles, today);
    }
    if (cfg->demo_tokens[0]) {
        static const char *const roles[] = {"admin", "operator", "rider", "driver", "planner"};
        printf("\nnoriai serves the demo town at http://%s:%d/\n", cfg->listen_host, s->port);
        printf("  consoles: http://%s:%d/web/ (operator, driver tablet, live map)\n\n",
               cfg->listen_host, s->port);
        printf("  tokens (also in %s):\n", cfg->demo_tokens);
        for (int i = 0; i < 5; i++)
            printf("    %-9s %s\n", roles[i], s->demo_tok[i]);
        printf("\n  try:\n    curl http://%s:%d/v1/health\n", cfg->listen_host, s->port);
        printf("    curl -H 'Authorization: Bearer %s' -H 'Idempotency-Key: demo-1' "
               "-d '{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"s010\"},"
               "\"dropoff\":{\"stop_id\":\"s040\"}}' http://%s:%d/v1/bookings\n",
               s->demo_tok[1], cfg->listen_host, s->port);
        printf("    then POST /v1/bookings/<id>/confirm; API: http://%s:%d/v1/openapi.json "
               "(docs/api.md)\n\n",
               cfg->listen_host, s->port);
        fflush(stdout);
    }
    fflush(stderr);
    uv_run(&loop, UV_RUN_DEFAULT);
    status = 0;
out_loop:
    if (!s->stopping) {
        api_driver_close(s);
        if (s->http != NULL)
            api_http_server_close(s->http, closed_cb, NULL);
        if (s->db != NULL)
            db_close(s->db, closed_cb, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        api_log(API_LOG_WARN, "loop closed with handles open", NULL);
out_area:
    for (int i = 0; i < API_MAX_DAYS; i++)
        if (s->days[i].used)
            day_free(s, &s->days[i]);
    for (size_t i = 0; i < s->tokens.cap; i++)
        if (s->tokens.slots[i].key != NULL)
            free(s->tokens.slots[i].val);
    for (size_t i = 0; i < s->idem.cap; i++) {
        api_idem *e = s->idem.slots[i].val;
        if (s->idem.slots[i].key != NULL && e != NULL) {
            free(e->body);
            free(e);
        }
    }
    api_map_cleanup(&s->tokens);
    api_map_cleanup(&s->idem);
    api_map_cleanup(&s->riders);
    api_map_cleanup(&s->bookings);
    api_map_cleanup(&s->stop_ids);
    api_map_cleanup(&seq_loaded);
    free(pending_bks);
    pending_bks = NULL;
    n_pending_bks = cap_pending_bks = 0;
    free(pending_idem); /* the records themselves are in the idem map */
    pending_idem = NULL;
    n_pending_idem = cap_pending_idem = 0;
    free(s->evq);
    area_destroy(s->area);
    free(s);
    api_log(API_LOG_INFO, "stopped", NULL);
    return status;
}
