/*
 * driver_route.c - the route a driver's tablet sees: a van's plan of today
 * mapped to a protobuf RouteUpdate (data/proto/driver.proto), with the
 * riders' details it needs.
 *
 * Projection.  Every stop of the plan, in order, except those of offers
 * not yet confirmed (unless the van is already on its way there: then the
 * driver must know).  A stop names its booking by public id, a break as
 * "break-<n>" (n: the day's booking index of the break); a pickup carries
 * the promised window; a rider's stop carries the rider's details and the
 * booking's notes joined with the rider's.  The update's seq is the plan's
 * stored seq (seq_base + version), so one seq always means one content.
 *
 * Signature.  Besides the bytes, a route gets a 64-bit FNV-1a hash of what
 * a driver sees of it: per stop its kind, booking, stop, window, whether
 * committed, the rider's details, and the planned time to the minute.  An
 * idle van behind its plan is re-timed by the dispatcher every second; a
 * stored plan whose signature did not change is not pushed again (driver.c
 * compares).
 *
 * Riders' details are cached by rider id (name, kana, phone, needs, notes,
 * in one block per rider).  A route that names a rider not in the cache
 * notes the id; drv_riders_fetch reads the noted ids in one asynchronous
 * read of the store (riders_get), so no blocking call is ever made on the
 * loop; ids the store does not know are kept as empty details, not asked
 * again.  The route waits for the read (drv_push_waiting follows it), or
 * goes without the details when the read failed or cannot be made.  The
 * cache is emptied at each new day.
 *
 * Cost: a route is O(stops) to build and one protobuf pack; memory per
 * rider about 100 bytes plus the texts.
 */
#include "api/server/driver_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/proto/driver.pb-c.h"

/* ------------------------------------------------------------------------ */
/* Riders' details                                                          */

static const drv_rider no_rider = {"", "", "", "", ""};

static int rider_put(drv_state *ds, const char *id, const char *const vals[5])
{
    size_t len[5], total = sizeof(drv_rider);
    drv_rider *r;
    char *p;
    const char **dst[5];

    for (int i = 0; i < 5; i++) {
        len[i] = vals[i] != NULL ? strlen(vals[i]) : 0;
        total += len[i] + 1;
    }
    if ((r = malloc(total)) == NULL)
        return -1;
    p = (char *)(r + 1);
    dst[0] = &r->name;
    dst[1] = &r->kana;
    dst[2] = &r->phone;
    dst[3] = &r->needs;
    dst[4] = &r->notes;
    for (int i = 0; i < 5; i++) {
        if (len[i] > 0)
            memcpy(p, vals[i], len[i]);
        p[len[i]] = '\0';
        *dst[i] = p;
        p += len[i] + 1;
    }
    free(svc_map_get(&ds->riders, id));
    if (svc_map_put(&ds->riders, id, r) < 0) {
        free(r);
        svc_map_del(&ds->riders, id);
        return -1;
    }
    return 0;
}

/* Notes a rider id to fetch (once). */
static void rider_want(drv_state *ds, const char *id)
{
    for (int i = 0; i < ds->n_fetch; i++)
        if (strcmp(ds->fetch_ids[i], id) == 0)
            return;
    if (ds->n_fetch == ds->cap_fetch) {
        int cap = ds->cap_fetch ? 2 * ds->cap_fetch : 16;
        char **n = realloc(ds->fetch_ids, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return;
        ds->fetch_ids = n;
        ds->cap_fetch = cap;
    }
    if ((ds->fetch_ids[ds->n_fetch] = strdup(id)) != NULL)
        ds->n_fetch++;
}

typedef struct drv_fetch {
    drv_state *ds;
    int n;
    char *ids[];
} drv_fetch;

static void riders_got(void *ud, int rc, const store_rider_row *rows, int n)
{
    drv_fetch *f = ud;
    drv_state *ds = f->ds;

    ds->inflight--;
    ds->fetch_busy = 0;
    if (rc == 0) {
        for (int i = 0; i < n; i++) {
            const char *vals[5] = {rows[i].name, rows[i].name_kana, rows[i].phone, rows[i].mobility,
                                   rows[i].notes};
            rider_put(ds, rows[i].id, vals);
        }
        /* Not in the table: remembered as unknown, not asked again. */
        for (int i = 0; i < f->n; i++)
            if (svc_map_get(&ds->riders, f->ids[i]) == NULL)
                rider_put(ds, f->ids[i], (const char *const[5]){NULL, NULL, NULL, NULL, NULL});
    } else {
        api_log(API_LOG_WARN, "driver channel: rider details not read; routes sent without them",
                "\"error\":\"%s\"", db_strerror(rc));
    }
    for (int i = 0; i < f->n; i++)
        free(f->ids[i]);
    free(f);
    if (ds->closing) {
        drv_maybe_free(ds);
        return;
    }
    drv_push_waiting(ds, rc != 0);
}

int drv_riders_fetch(drv_state *ds)
{
    store st = api_store(ds->s);
    drv_fetch *f;

    if (ds->fetch_busy || ds->n_fetch == 0)
        return 0;
    if (!api_store_ready(ds->s))
        return -1;
    f = malloc(sizeof(*f) + (size_t)ds->n_fetch * sizeof(char *));
    if (f == NULL)
        return -1;
    f->ds = ds;
    f->n = ds->n_fetch;
    memcpy(f->ids, ds->fetch_ids, (size_t)ds->n_fetch * sizeof(char *));
    ds->n_fetch = 0;
    ds->fetch_busy = 1;
    ds->inflight++;
    st.ops->riders_get(st.ctx, (const char *const *)f->ids, f->n, riders_got, f);
    return 0;
}

void drv_riders_forget(drv_state *ds)
{
    /* A read in flight fills the cache when it ends: kept until the next day. */
    if (ds->fetch_busy)
        return;
    for (size_t i = 0; i < ds->riders.cap; i++)
        free(ds->riders.slots[i].val);
    svc_map_cleanup(&ds->riders);
}

void drv_riders_cleanup(drv_state *ds)
{
    for (size_t i = 0; i < ds->riders.cap; i++)
        free(ds->riders.slots[i].val);
    svc_map_cleanup(&ds->riders);
    for (int i = 0; i < ds->n_fetch; i++)
        free(ds->fetch_ids[i]);
    free(ds->fetch_ids);
    ds->fetch_ids = NULL;
    ds->n_fetch = ds->cap_fetch = 0;
}

/* ------------------------------------------------------------------------ */
/* The route                                                                */

static uint64_t fnv_add(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv_add(h, s, strlen(s) + 1);
}

static uint64_t fnv_int(uint64_t h, int64_t x)
{
    return fnv_add(h, &x, sizeof(x));
}

/* What a driver sees of a stop: planned times to the minute. */
static uint64_t stop_sig(uint64_t h, const Noriai__Driver__RouteStop *st)
{
    const Noriai__Driver__StopRider *r = st->rider;

    h = fnv_int(h, st->kind);
    h = fnv_str(h, st->booking_id);
    h = fnv_str(h, st->stop_id);
    h = fnv_int(h, st->planned_s / 60);
    h = fnv_int(h, st->window_from_s);
    h = fnv_int(h, st->window_to_s);
    h = fnv_int(h, st->committed);
    if (r != NULL) {
        h = fnv_int(h, r->passengers);
        h = fnv_int(h, r->wheelchairs);
        h = fnv_str(h, r->name);
        h = fnv_str(h, r->name_kana);
        h = fnv_str(h, r->needs);
        h = fnv_str(h, r->notes);
        h = fnv_str(h, r->phone);
    }
    return h;
}

typedef struct stop_buf {
    Noriai__Driver__RouteStop st;
    Noriai__Driver__StopRider rider;
    char bid[24];
    char notes[1024 + 3 + 2048]; /* booking notes / rider notes */
} stop_buf;

const char *drv_stop_id(const api_svc *s, int stop)
{
    return stop >= 0 && stop < s->area->n_stops ? s->area->stops[stop].id : "";
}

static const char *place_stop_name(const api_svc *s, const dsp_place *p)
{
    const char *n =
        p->stop >= 0 && p->stop < s->area->n_stops ? s->area->stops[p->stop].name : NULL;
    return n != NULL ? n : "";
}

/* The rider's part of a stop of booking b; 1 when the rider's details are
 * not cached (noted for fetching; the stop gets empty ones meanwhile). */
static int stop_rider(drv_state *ds, stop_buf *sb, const svc_bk *b, const dsp_booking_info *bi)
{
    const drv_rider *r = &no_rider;
    char both[sizeof(sb->notes)];
    int missing = 0;

    if (b->rider_id[0]) {
        const drv_rider *c = svc_map_get(&ds->riders, b->rider_id);
        if (c != NULL) {
            r = c;
        } else {
            missing = 1;
            rider_want(ds, b->rider_id);
        }
    }
    noriai__driver__stop_rider__init(&sb->rider);
    sb->rider.booking_id = (char *)b->id;
    sb->rider.rider_id = (char *)b->rider_id;
    sb->rider.name = (char *)r->name;
    sb->rider.name_kana = (char *)r->kana;
    sb->rider.passengers = (uint32_t)(bi->passengers > 0 ? bi->passengers : 0);
    sb->rider.wheelchairs = (uint32_t)(bi->wheelchairs > 0 ? bi->wheelchairs : 0);
    sb->rider.needs = (char *)r->needs;
    snprintf(both, sizeof(both), "%s%s%.2047s", b->notes, b->notes[0] && r->notes[0] ? " / " : "",
             r->notes);
    svc_text_copy(sb->notes, sizeof(sb->notes), both);
    sb->rider.notes = sb->notes;
    sb->rider.phone = (char *)r->phone;
    sb->st.rider = &sb->rider;
    return missing;
}

int drv_route_build(drv_state *ds, svc_day *d, int v, int allow_missing, drv_route *out)
{
    api_svc *s = ds->s;
    Noriai__Driver__ServerMessage m = NORIAI__DRIVER__SERVER_MESSAGE__INIT;
    Noriai__Driver__RouteUpdate ru = NORIAI__DRIVER__ROUTE_UPDATE__INIT;
    Noriai__Driver__RouteStop **ptrs = NULL;
    dsp_plan_stop *stops = NULL;
    stop_buf *bufs = NULL;
    dsp_vehicle_info vi;
    int n, n_vis = 0, missing = 0, rc = -1;
    uint64_t sig = 1469598103934665603ULL;

    memset(out, 0, sizeof(*out));
    if (dsp_vehicle_get(d->dsp, v, &vi) < 0)
        return -1;
    n = vi.n_stops;
    if (n > 0) {
        stops = malloc((size_t)n * sizeof(*stops));
        bufs = calloc((size_t)n, sizeof(*bufs));
        ptrs = malloc((size_t)n * sizeof(*ptrs));
        if (stops == NULL || bufs == NULL || ptrs == NULL)
            goto out;
        n = dsp_plan_get(d->dsp, v, stops, n);
    }
    for (int k = 0; k < n; k++) {
        const dsp_plan_stop *p = &stops[k];
        const svc_bk *b = p->booking < d->cap_idx ? d->by_idx[p->booking] : NULL;
        stop_buf *sb = &bufs[n_vis];
        dsp_booking_info bi;

        if (dsp_booking_get(d->dsp, p->booking, &bi) < 0)
            continue;
        /* An offer is not the driver's business until confirmed, unless
         * the van is already driving there. */
        if (!bi.is_break && bi.status == DSP_OFFERED && !p->committed)
            continue;
        noriai__driver__route_stop__init(&sb->st);
        sb->st.kind = p->kind == DSP_STOP_PICKUP ? NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP
                      : p->kind == DSP_STOP_DROP ? NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF
                                                 : NORIAI__DRIVER__ROUTE_STOP__KIND__BREAK;
        if (bi.is_break || b == NULL)
            snprintf(sb->bid, sizeof(sb->bid), "break-%lld", (long long)p->booking);
        else
            snprintf(sb->bid, sizeof(sb->bid), "%s", b->id);
        sb->st.booking_id = sb->bid;
        sb->st.stop_id = (char *)drv_stop_id(s, p->place.stop);
        sb->st.stop_name = (char *)place_stop_name(s, &p->place);
        sb->st.lat = p->place.lat;
        sb->st.lon = p->place.lon;
        sb->st.planned_s = p->planned_s;
        if (p->kind == DSP_STOP_PICKUP && bi.promise_from_s >= 0) {
            sb->st.window_from_s = bi.promise_from_s;
            sb->st.window_to_s = bi.promise_to_s;
        }
        sb->st.service_s = p->service_s;
        sb->st.committed = p->committed != 0;
        if (b != NULL && !bi.is_break)
            missing |= stop_rider(ds, sb, b, &bi);
        sig = stop_sig(sig, &sb->st);
        ptrs[n_vis] = &sb->st;
        n_vis++;
    }
    if (missing && !allow_missing) {
        rc = 1;
        goto out;
    }
    ru.vehicle_id = (char *)svc_vehicle_id(s->core, v);
    ru.service_date = d->date;
    ru.seq = (uint64_t)(d->seq_base[v] + vi.version);
    ru.n_stops = (size_t)n_vis;
    ru.stops = ptrs;
    ru.generated_s = svc_day_now(s->core, d);
    m.msg_case = NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE;
    m.route = &ru;
    out->len = noriai__driver__server_message__get_packed_size(&m);
    if ((out->bytes = malloc(out->len > 0 ? out->len : 1)) == NULL)
        goto out;
    noriai__driver__server_message__pack(&m, out->bytes);
    snprintf(out->date, sizeof(out->date), "%s", d->date);
    out->seq = ru.seq;
    out->sig = fnv_int(sig, n_vis);
    rc = missing ? 1 : 0;
out:
    free(stops);
    free(bufs);
    free(ptrs);
    return rc;
}
