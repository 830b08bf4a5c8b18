/*
 * day.c - a service day's state: creation, vehicles, the booking table,
 * events, and read access for callers.
 *
 * Bookings live in one growing array indexed by id (ids are dense, 0..n-1,
 * never reused), so a booking is found in O(1) and the event log can refer to
 * it by id.  Vehicles are an array in the order they were added.  Every
 * status change goes through dsp_set_status, which emits the event; nothing
 * else writes a booking's status.
 */
#include "dispatcher/dsp_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dsp_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define DSP_ERR_CASE(name, code, msg)                                                              \
    case code:                                                                                     \
        return msg;
        DSP_ERRNO_MAP(DSP_ERR_CASE)
#undef DSP_ERR_CASE
    default:
        return "unknown error";
    }
}

static const char *const status_names[DSP_STATUS_COUNT] = {
    "requested",   "offered",  "confirmed", "assigned",  "picked_up",
    "dropped_off", "rejected", "expired",   "cancelled", "no_show"};

const char *dsp_status_name(dsp_status s)
{
    return (unsigned)s < DSP_STATUS_COUNT ? status_names[s] : "unknown";
}

int dsp_status_parse(const char *name)
{
    for (int s = 0; s < DSP_STATUS_COUNT; s++)
        if (name && strcmp(name, status_names[s]) == 0)
            return s;
    return -1;
}

const char *dsp_reason_name(dsp_reason r)
{
    switch (r) {
    case DSP_REASON_NONE:
        return "";
    case DSP_REASON_NO_VEHICLE:
        return "no_vehicle";
    case DSP_REASON_CAPACITY:
        return "capacity";
    case DSP_REASON_RIDE_TIME:
        return "ride_time";
    case DSP_REASON_WINDOW:
        return "window";
    case DSP_REASON_OUT_OF_HOURS:
        return "out_of_hours";
    case DSP_REASON_VEHICLE_LOST:
        return "vehicle_lost";
    }
    return "unknown";
}

/* The one source of the service rules' defaults (those of the demo town):
 * the daemon's configuration (api/server/config.c) and every simulator
 * scenario (simulator/scenario.c) start from these and change only what
 * their file sets. */
void dsp_rules_default(dsp_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->service_start_s = 7 * 3600;
    r->service_end_s = 19 * 3600;
    r->max_wait_s = 30 * 60;
    r->ride_alpha = 1.5;
    r->ride_beta_s = 10 * 60;
    r->window_s = 10 * 60;
    r->min_lead_s = 0;
    r->max_lead_s = 2 * 86400;
    r->pickup_service_s = 60;
    r->drop_service_s = 30;
    r->wheelchair_service_s = 120;
    r->offer_ttl_s = 120;
    r->noshow_wait_s = 5 * 60;
    r->depart_buffer_s = 120;
    r->w_drive = 1.0;
    r->w_excess_ride = 0.3;
    r->w_wait = 0.0;
    r->w_rider_wait = 0.5;
}

int dsp_day_create(const area *a, const dsp_rules *rules, const dsp_sink *sink, dsp_day **out)
{
    dsp_day *d;

    *out = NULL;
    if (a == NULL || rules == NULL)
        return DSP_EINVAL;
    if (rules->window_s < 0 || rules->max_wait_s < 0 || rules->ride_alpha < 1.0 ||
        rules->ride_beta_s < 0 || rules->service_end_s <= rules->service_start_s)
        return DSP_EINVAL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return DSP_ENOMEM;
    d->area = a;
    d->rules = *rules;
    if (sink)
        d->sink = *sink;
    *out = d;
    return 0;
}

void dsp_day_destroy(dsp_day *d)
{
    if (d == NULL)
        return;
    for (int64_t i = 0; i < d->n_bk; i++)
        free(d->bk[i].ext_id);
    free(d->bk);
    for (int v = 0; v < d->n_veh; v++) {
        dsp_veh *x = &d->veh[v];
        free(x->id);
        free(x->stops);
        free(x->onboard);
        free(x->early);
        free(x->late);
        free(x->sched);
        free(x->load_after);
    }
    free(d->veh);
    free(d->cand);
    free(d->seq);
    dsp_work_cleanup(&d->w);
    free(d);
}

dsp_booking *dsp_bk(const dsp_day *d, int64_t id)
{
    return id >= 0 && id < d->n_bk ? &d->bk[id] : NULL;
}

int dsp_booking_new(dsp_day *d, int64_t *id)
{
    if (d->n_bk == d->cap_bk) {
        int64_t cap = d->cap_bk ? 2 * d->cap_bk : 256;
        dsp_booking *nb = realloc(d->bk, (size_t)cap * sizeof(*nb));
        if (nb == NULL)
            return DSP_ENOMEM;
        d->bk = nb;
        d->cap_bk = cap;
    }
    dsp_booking *b = &d->bk[d->n_bk];
    memset(b, 0, sizeof(*b));
    b->id = d->n_bk;
    b->vehicle = -1;
    b->promise_from_s = b->promise_to_s = b->latest_drop_s = -1;
    b->pickup_s = b->dropoff_s = -1;
    b->planned_pickup_s = b->planned_dropoff_s = -1;
    b->expires_s = -1;
    *id = d->n_bk++;
    return 0;
}

void dsp_emit(dsp_day *d, int now, int64_t b, int v, dsp_status from, dsp_status to,
              const char *kind, const char *detail)
{
    dsp_event e = {.time_s = now,
                   .booking = b,
                   .vehicle = v,
                   .from = from,
                   .to = to,
                   .kind = kind,
                   .detail = detail ? detail : ""};
    if (d->sink.event)
        d->sink.event(d->sink.ud, &e);
}

void dsp_set_status(dsp_day *d, int now, dsp_booking *b, dsp_status to, const char *detail)
{
    dsp_status from = b->status;

    b->status = to;
    if (!b->is_break)
        dsp_emit(d, now, b->id, b->vehicle, from, to, "status", detail);
}

int dsp_stops_reserve(dsp_veh *v, int n)
{
    if (n <= v->cap_stops)
        return 0;
    int cap = v->cap_stops ? v->cap_stops : 16;
    while (cap < n)
        cap *= 2;
    dsp_stop *ns = realloc(v->stops, (size_t)cap * sizeof(*ns));
    if (ns == NULL)
        return DSP_ENOMEM;
    v->stops = ns;
    v->cap_stops = cap;
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* A break: a booking pinned to the van, at its depot, filling the marker. */
static int add_break(dsp_day *d, int v, int earliest_s, int latest_s, int duration_s)
{
    dsp_veh *x = &d->veh[v];
    int64_t id;
    int rc;

    if ((rc = dsp_booking_new(d, &id)) < 0)
        return rc;
    dsp_booking *b = &d->bk[id];
    b->is_break = 1;
    b->status = DSP_CONFIRMED;
    b->pickup = b->drop = x->depot;
    b->when = DSP_DEPART_AFTER;
    b->requested_s = earliest_s;
    b->time_s = earliest_s;
    b->load[DSP_DIM_MARKER] = DSP_MARKER_CAP;
    b->pickup_service_s = duration_s;
    b->drop_service_s = 0;
    b->max_ride_s = duration_s; /* ends exactly when its time is up */
    b->promise_from_s = earliest_s;
    b->promise_to_s = latest_s;
    b->latest_drop_s = DSP_NEVER;
    b->eff_pick_close_s = latest_s;
    b->eff_drop_close_s = DSP_NEVER;
    b->eff_max_ride_s = duration_s;
    b->vehicle = v;
    /* Breaks go into the plan in time order; requests are inserted around them. */
    if ((rc = dsp_stops_reserve(x, x->n + 2)) < 0)
        return rc;
    x->stops[x->n++] = (dsp_stop){.b = id, .drop = 0};
    x->stops[x->n++] = (dsp_stop){.b = id, .drop = 1};
    return 0;
}

int dsp_vehicle_add(dsp_day *d, const dsp_vehicle_def *def)
{
    dsp_veh *x;
    int rc, v, fit, clock;
    int64_t n_bk = d->n_bk;

    if (def == NULL || def->id == NULL || def->n_configs < 1 || def->n_configs > SLV_MAX_CONFIGS ||
        def->shift_end_s <= def->shift_start_s || def->n_breaks < 0 ||
        def->n_breaks > DSP_MAX_BREAKS || !dsp_place_valid(d, &def->depot))
        return DSP_EINVAL;
    for (int k = 0; k < def->n_configs; k++)
        if (def->seats[k] < 0 || def->wheelchairs[k] < 0 ||
            def->seats[k] + def->wheelchairs[k] == 0)
            return DSP_EINVAL;
    for (int k = 0; k < def->n_breaks; k++)
        if (def->breaks[k].duration_s <= 0 || def->breaks[k].latest_s < def->breaks[k].earliest_s)
            return DSP_EINVAL;
    if (d->n_veh == d->cap_veh) {
        int cap = d->cap_veh ? 2 * d->cap_veh : 8;
        dsp_veh *nv = realloc(d->veh, (size_t)cap * sizeof(*nv));
        if (nv == NULL)
            return DSP_ENOMEM;
        d->veh = nv;
        d->cap_veh = cap;
    }
    v = d->n_veh;
    x = &d->veh[v];
    memset(x, 0, sizeof(*x));
    if ((x->id = dup_str(def->id)) == NULL)
        return DSP_ENOMEM;
    d->n_veh++;
    x->n_configs = def->n_configs;
    for (int k = 0; k < def->n_configs; k++) {
        x->cap[k][DSP_DIM_SEATS] = def->seats[k];
        x->cap[k][DSP_DIM_WHEELCHAIRS] = def->wheelchairs[k];
        x->cap[k][DSP_DIM_MARKER] = DSP_MARKER_CAP;
    }
    x->depot = def->depot;
    x->shift_start_s = def->shift_start_s;
    x->shift_end_s = x->eff_shift_end_s = def->shift_end_s;
    x->in_service = 1;
    x->pos = def->depot;
    x->pos_s = def->shift_start_s;
    for (int k = 0; k < def->n_breaks; k++)
        if ((rc = add_break(d, v, def->breaks[k].earliest_s, def->breaks[k].latest_s,
                            def->breaks[k].duration_s)) < 0)
            goto fail;
    /* Breaks that do not fit the shift are refused.  They are judged on the
     * shift as defined, from its start whatever the clock says: dsp_refresh
     * would stretch them, and the shift, as if the van were running late. */
    clock = d->now;
    d->now = 0;
    fit = dsp_eval(d, x, x->stops, x->n, NULL, NULL);
    d->now = clock;
    if (fit != 1) {
        rc = fit < 0 ? fit : DSP_EINVAL;
        goto fail;
    }
    if ((rc = dsp_refresh(d, def->shift_start_s, v)) < 0)
        goto fail;
    return v;
fail:
    /* Nothing of the van stays: its break bookings were the last ones made. */
    d->n_bk = n_bk;
    free(x->id);
    free(x->stops);
    free(x->early);
    free(x->late);
    free(x->sched);
    free(x->load_after);
    d->n_veh--;
    return rc;
}

int dsp_n_vehicles(const dsp_day *d)
{
    return d->n_veh;
}

int64_t dsp_n_bookings(const dsp_day *d)
{
    return d->n_bk;
}

int dsp_booking_get(const dsp_day *d, int64_t id, dsp_booking_info *out)
{
    const dsp_booking *b = dsp_bk(d, id);

    if (b == NULL)
        return DSP_ENOTFOUND;
    memset(out, 0, sizeof(*out));
    out->id = b->id;
    out->ext_id = b->ext_id;
    out->status = b->status;
    out->is_break = b->is_break;
    out->pickup = b->pickup;
    out->drop = b->drop;
    out->when = b->when;
    out->requested_s = b->requested_s;
    out->time_s = b->time_s;
    out->passengers = b->passengers;
    out->wheelchairs = b->wheelchairs;
    out->promise_from_s = b->promise_from_s;
    out->promise_to_s = b->promise_to_s;
    out->latest_dropoff_s = b->latest_drop_s;
    out->max_ride_s = b->max_ride_s;
    out->direct_s = b->direct_s;
    out->vehicle = b->vehicle;
    out->planned_pickup_s = b->planned_pickup_s;
    out->planned_dropoff_s = b->planned_dropoff_s;
    out->pickup_s = b->pickup_s;
    out->dropoff_s = b->dropoff_s;
    out->delayed = b->delayed;
    out->reason = b->reason;
    return 0;
}

int dsp_vehicle_get(const dsp_day *d, int v, dsp_vehicle_info *out)
{
    const dsp_veh *x;

    if (v < 0 || v >= d->n_veh)
        return DSP_ENOTFOUND;
    x = &d->veh[v];
    memset(out, 0, sizeof(*out));
    out->id = x->id;
    out->in_service = x->in_service;
    out->en_route = x->en_route;
    out->place = x->pos;
    out->ready_s = x->pos_s;
    out->shift_start_s = x->shift_start_s;
    out->shift_end_s = x->shift_end_s;
    out->depot = x->depot;
    out->n_onboard = x->n_onboard;
    for (int i = 0; i < x->n_onboard; i++) {
        const dsp_booking *b = &d->bk[x->onboard[i]];
        out->seats_used += b->load[DSP_DIM_SEATS];
        out->wheelchairs_used += b->load[DSP_DIM_WHEELCHAIRS];
    }
    out->version = x->version;
    for (int k = 0; k < x->n; k++)
        out->n_stops += !(x->stops[k].drop && d->bk[x->stops[k].b].is_break);
    return 0;
}

int dsp_plan_get(const dsp_day *d, int v, dsp_plan_stop *stops, int max)
{
    const dsp_veh *x;
    int m = 0;

    if (v < 0 || v >= d->n_veh)
        return DSP_ENOTFOUND;
    x = &d->veh[v];
    for (int k = 0; k < x->n; k++) {
        const dsp_booking *b = &d->bk[x->stops[k].b];
        if (b->is_break && x->stops[k].drop)
            continue;
        if (m < max) {
            dsp_plan_stop *s = &stops[m];
            s->booking = b->id;
            s->kind =
                b->is_break ? DSP_STOP_BREAK : (x->stops[k].drop ? DSP_STOP_DROP : DSP_STOP_PICKUP);
            s->place = x->stops[k].drop ? b->drop : b->pickup;
            s->planned_s = x->feasible ? (int)(x->sched[k + 1] + 0.5) : -1;
            s->service_s = x->stops[k].drop ? b->drop_service_s : b->pickup_service_s;
            s->committed = k < x->n_committed;
        }
        m++;
    }
    return m;
}

void dsp_travel(const dsp_day *d, const dsp_place *a, const dsp_place *b, int32_t *time_s,
                int32_t *dist_m)
{
    const area *ar = d->area;

    if (a->stop >= 0 && b->stop >= 0 && ar->time_s != NULL) {
        area_travel(ar, a->stop, b->stop, time_s, dist_m);
        return;
    }
    if (a->lat == b->lat && a->lon == b->lon) {
        *time_s = 0;
        *dist_m = 0;
        return;
    }
    net_crowfly_travel(&ar->crowfly, a->lat, a->lon, b->lat, b->lon, time_s, dist_m);
}

int dsp_travel_slow_s(const dsp_day *d, const dsp_place *a, const dsp_place *b)
{
    int32_t t, m;

    dsp_travel(d, a, b, &t, &m);
    return t;
}

int dsp_clock_parse(const char *s, int *out_s)
{
    int part[3] = {0, 0, 0}, n_parts = 0;
    const char *p = s;

    if (s == NULL)
        return DSP_EINVAL;
    for (;;) {
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || digits > 2)
            return DSP_EINVAL;
        part[n_parts++] = v;
        if (*p == '\0')
            break;
        if (*p != ':' || n_parts == 3)
            return DSP_EINVAL;
        p++;
    }
    if (n_parts < 2 || part[1] > 59 || part[2] > 59)
        return DSP_EINVAL;
    if (part[0] * 3600 + part[1] * 60 + part[2] > DSP_MAX_CLOCK_S)
        return DSP_EINVAL;
    *out_s = part[0] * 3600 + part[1] * 60 + part[2];
    return 0;
}

void dsp_clock_format(int t_s, char *buf, size_t len)
{
    const char *sign = t_s < 0 ? "-" : "";
    int a = t_s < 0 ? -t_s : t_s;

    if (a % 60 == 0)
        snprintf(buf, len, "%s%02d:%02d", sign, a / 3600, a / 60 % 60);
    else
        snprintf(buf, len, "%s%02d:%02d:%02d", sign, a / 3600, a / 60 % 60, a % 60);
}
