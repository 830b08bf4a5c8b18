/*
 * svc.c - the service layer's state: open days, bookings' side data, the
 * service clock, and the tick that moves them on.
 *
 * Days.  One dsp_day per service date, from today up to max_lead_days
 * ahead, opened when first needed (svc_day_get) with the fleet's vans and
 * the seq base of each van's plan as stored (so seqs continue after a
 * restart).  A day behind today is dropped by the tick once nothing of it
 * waits to be stored and no commit in flight holds its rows: a commit that
 * fails puts its rows back into the queue, and they must still exist then.
 *
 * Bookings.  Each booking the service knows has an svc_bk (its public id,
 * rider, who booked it, notes) found by id in a map and by dispatcher index
 * in its day's table.  Breaks and quotes have none; they are never stored
 * as bookings.
 *
 * Time.  svc_unix_now is the real clock shifted by clock_shift_s unless the
 * caller gave a clock of its own (the simulator); dates and seconds of the
 * service day are local to the process's zone (TZ, set by the daemon).
 *
 * Ids.  Public ids and the run id come from getrandom(2) (the kernel's
 * randomness, no file descriptor needed); when it fails the id is not made
 * and the request is refused, never filled from a guessable fallback.
 */
#define _DEFAULT_SOURCE /* getrandom, tm_gmtoff */
#include "dispatcher/svc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

int svc_random_id(const char *prefix, char *out, size_t len)
{
    unsigned char raw[16];
    size_t got = 0, k;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (len > 0)
                out[0] = '\0';
            return -1;
        }
        got += (size_t)n;
    }
    k = (size_t)snprintf(out, len, "%s", prefix);
    for (size_t i = 0; i < sizeof(raw) && k + 2 < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%02x", raw[i]);
    return 0;
}

void svc_text_copy(char *dst, size_t len, const char *src)
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

void svc_log(const svc *s, int level, const char *msg, const char *booking, const char *detail)
{
    if (s->hooks.log != NULL)
        s->hooks.log(s->hooks.ud, level, msg, booking, detail);
}

/* ------------------------------------------------------------------------ */
/* Clock and dates                                                          */

int64_t svc_unix_now(const svc *s)
{
    struct timespec ts;

    if (s->hooks.unix_now != NULL)
        return s->hooks.unix_now(s->hooks.ud);
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

void svc_today(const svc *s, char date[11])
{
    date_of(svc_unix_now(s), date);
}

int64_t svc_date_midnight(const char *date)
{
    struct tm tm;
    int y, mo, d;
    char tail;

    if (date == NULL || strlen(date) != 10 ||
        sscanf(date, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3 || date[4] != '-' ||
        date[7] != '-' || y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31)
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

int svc_day_now(const svc *s, const svc_day *d)
{
    return (int)(svc_unix_now(s) - d->midnight);
}

void svc_unix_iso(int64_t unix_s, char *buf, size_t len)
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

void svc_day_iso(const svc_day *d, int t_s, char *buf, size_t len)
{
    svc_unix_iso(d->midnight + t_s, buf, len);
}

int svc_date_iso(const char *date, int t_s, char *buf, size_t len)
{
    int64_t mid = svc_date_midnight(date);

    if (mid < 0)
        return -1;
    svc_unix_iso(mid + t_s, buf, len);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Fleet and stops                                                          */

const char *svc_vehicle_id(const svc *s, int v)
{
    return v >= 0 && v < s->cfg.n_vehicles ? s->cfg.vehicles[v].id : "";
}

int svc_vehicle_index(const svc *s, const char *id)
{
    for (int v = 0; id != NULL && v < s->cfg.n_vehicles; v++)
        if (strcmp(s->cfg.vehicles[v].id, id) == 0)
            return v;
    return -1;
}

int svc_stop_index(const svc *s, const char *stop_id)
{
    intptr_t k = stop_id != NULL ? (intptr_t)svc_map_get(&s->stop_ids, stop_id) : 0;

    return k > 0 ? (int)(k - 1) : -1;
}

/* The depot stop of vehicle f: its own, else the area's depot, else stop 0. */
int svc_depot_of(const svc *s, const svc_vehicle_def *f)
{
    if (f->depot_stop >= 0 && f->depot_stop < s->area->n_stops)
        return f->depot_stop;
    for (int k = 0; k < s->area->n_stops; k++)
        if (strcmp(s->area->stops[k].kind, "depot") == 0)
            return k;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Days                                                                     */

static void day_free(svc *s, svc_day *d)
{
    for (int64_t i = 0; i < d->cap_idx; i++) {
        svc_bk *b = d->by_idx[i];
        if (b != NULL) {
            svc_map_del(&s->bookings, b->id);
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

svc_day *svc_day_get(svc *s, const char *date, int create)
{
    char today[11];
    int64_t mid, mid_today;
    svc_day *d = NULL;
    int rc;

    for (int i = 0; i < SVC_MAX_DAYS; i++)
        if (s->days[i].used && strcmp(s->days[i].date, date) == 0)
            return &s->days[i];
    if (!create)
        return NULL;
    svc_today(s, today);
    mid = svc_date_midnight(date);
    mid_today = svc_date_midnight(today);
    if (mid < 0 || mid < mid_today ||
        mid > mid_today + (int64_t)s->cfg.max_lead_days * 86400 + 7200)
        return NULL;
    for (int i = 0; i < SVC_MAX_DAYS && d == NULL; i++)
        if (!s->days[i].used)
            d = &s->days[i];
    if (d == NULL)
        return NULL;
    memset(d, 0, sizeof(*d));
    d->s = s;
    snprintf(d->date, sizeof(d->date), "%s", date);
    d->midnight = mid;
    d->seq_base = calloc((size_t)s->cfg.n_vehicles + 1, sizeof(*d->seq_base));
    d->plan_dirty = calloc((size_t)s->cfg.n_vehicles + 1, 1);
    d->plan_sig = calloc((size_t)s->cfg.n_vehicles + 1, sizeof(*d->plan_sig));
    d->stored_version = calloc((size_t)s->cfg.n_vehicles + 1, sizeof(*d->stored_version));
    if (d->seq_base == NULL || d->plan_dirty == NULL || d->plan_sig == NULL ||
        d->stored_version == NULL)
        goto fail;
    dsp_sink sink = svc_day_sink(d);
    if (dsp_day_create(s->area, &s->cfg.rules, &sink, &d->dsp) < 0)
        goto fail;
    for (int v = 0; v < s->cfg.n_vehicles; v++) {
        const svc_vehicle_def *f = &s->cfg.vehicles[v];
        dsp_vehicle_def def;
        char key[80];
        memset(&def, 0, sizeof(def));
        def.id = f->id;
        def.n_configs = f->n_configs;
        for (int k = 0; k < f->n_configs; k++) {
            def.seats[k] = f->seats[k];
            def.wheelchairs[k] = f->wheelchairs[k];
        }
        int stop = svc_depot_of(s, f);
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
        if ((rc = dsp_vehicle_add(d->dsp, &def)) < 0)
            goto fail;
        snprintf(key, sizeof(key), "%s\n%s", f->id, date);
        d->seq_base[v] = (int64_t)(intptr_t)svc_map_get(&s->seq_loaded, key);
        d->plan_dirty[v] = 1;
    }
    d->used = 1;
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

svc_day *svc_day_today(svc *s, int create)
{
    char today[11];

    svc_today(s, today);
    return svc_day_get(s, today, create);
}

/* ------------------------------------------------------------------------ */
/* Bookings' side data and riders                                           */

svc_bk *svc_bk_new(svc *s, svc_day *d, int64_t idx, const char *rider, const char *notes)
{
    svc_bk *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    if (idx >= d->cap_idx) {
        int64_t cap = d->cap_idx ? d->cap_idx : 256;
        while (cap <= idx)
            cap *= 2;
        svc_bk **n = realloc(d->by_idx, (size_t)cap * sizeof(*n));
        if (n == NULL) {
            free(b);
            return NULL;
        }
        memset(n + d->cap_idx, 0, (size_t)(cap - d->cap_idx) * sizeof(*n));
        d->by_idx = n;
        d->cap_idx = cap;
    }
    if (svc_random_id("bk_", b->id, sizeof(b->id)) < 0) {
        free(b);
        return NULL;
    }
    b->day = (int)(d - s->days);
    b->idx = idx;
    snprintf(b->rider_id, sizeof(b->rider_id), "%s", rider ? rider : "");
    snprintf(b->created_by, sizeof(b->created_by), "%s", s->actor);
    svc_text_copy(b->notes, sizeof(b->notes), notes ? notes : "");
    b->stored_vehicle = -2; /* no row yet */
    b->stored_pickup_s = -1;
    if (svc_map_put(&s->bookings, b->id, b) < 0) {
        free(b);
        return NULL;
    }
    d->by_idx[idx] = b;
    return b;
}

svc_bk *svc_bk_find(const svc *s, const char *id)
{
    return id != NULL ? svc_map_get(&s->bookings, id) : NULL;
}

svc_bk *svc_bk_of(const svc_day *d, int64_t idx)
{
    return idx >= 0 && idx < d->cap_idx ? d->by_idx[idx] : NULL;
}

int svc_rider_known(const svc *s, const char *rider_id)
{
    return rider_id != NULL && svc_map_get(&s->riders, rider_id) != NULL;
}

int svc_rider_add(svc *s, const char *rider_id)
{
    return svc_map_put(&s->riders, rider_id, (void *)1);
}

/* ------------------------------------------------------------------------ */
/* The tick                                                                 */

void svc_tick(svc *s)
{
    char today[11];
    int64_t mid_today;

    svc_today(s, today);
    mid_today = svc_date_midnight(today);
    snprintf(s->actor, sizeof(s->actor), "system");
    for (int i = 0; i < SVC_MAX_DAYS; i++) {
        svc_day *d = &s->days[i];
        if (!d->used)
            continue;
        if (d->midnight < mid_today) {
            /* Yesterday: dropped once nothing of it waits to be stored
             * and no commit in flight holds its rows (a failed one puts
             * them back into the queue). */
            if (!svc_has_pending(s) && s->n_inflight == 0)
                day_free(s, d);
            continue;
        }
        dsp_tick(d->dsp, svc_day_now(s, d));
    }
    s->ticks++;
    /* Rows a re-plan or new bookings moved to another van or time: a few
     * each second, so the store's listings follow the live plans without
     * one commit of every row. */
    svc_refresh_moved_rows(s, SVC_REFRESH_PER_TICK);
    if (s->ticks % 30 == 0) {
        /* Plans whose times alone moved. */
        for (int i = 0; i < SVC_MAX_DAYS; i++) {
            svc_day *d = &s->days[i];
            dsp_vehicle_info vi;
            for (int v = 0; d->used && v < s->cfg.n_vehicles; v++)
                if (dsp_vehicle_get(d->dsp, v, &vi) == 0 && vi.version != d->stored_version[v])
                    d->plan_dirty[v] = 1;
        }
    }
    if (svc_has_pending(s) && s->st.ops->ready(s->st.ctx))
        svc_commit(s, NULL, NULL, NULL);
    if (s->ticks % 60 == 0)
        svc_idem_sweep(s, svc_unix_now(s) - 86400); /* records live 24 hours */
}

/* ------------------------------------------------------------------------ */
/* Life                                                                     */

int svc_create(const svc_config *cfg, const area *a, store st, const svc_hooks *hooks, svc **out)
{
    svc *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return DSP_ENOMEM;
    s->cfg = *cfg;
    if (hooks != NULL)
        s->hooks = *hooks;
    s->area = a;
    s->st = st;
    if (svc_random_id("", s->run_id, 17) < 0) {
        free(s);
        return DSP_EINVAL;
    }
    for (int k = 0; k < a->n_stops; k++)
        if (svc_map_put(&s->stop_ids, a->stops[k].id, (void *)(intptr_t)(k + 1)) < 0) {
            svc_destroy(s);
            return DSP_ENOMEM;
        }
    snprintf(s->actor, sizeof(s->actor), "system");
    *out = s;
    return 0;
}

void svc_destroy(svc *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < SVC_MAX_DAYS; i++)
        if (s->days[i].used)
            day_free(s, &s->days[i]);
    for (size_t i = 0; i < s->idem.cap; i++)
        if (svc_map_live(&s->idem, i)) {
            svc_idem *e = s->idem.slots[i].val;
            free(e->body);
            free(e);
        }
    svc_map_cleanup(&s->idem);
    svc_map_cleanup(&s->bookings);
    svc_map_cleanup(&s->riders);
    svc_map_cleanup(&s->stop_ids);
    svc_map_cleanup(&s->seq_loaded);
    free(s->evq);
    free(s->pending_bks);
    free(s->pending_idem);
    free(s);
}
