/*
 * r_bookings.c - quotes and bookings: ask, book (an offer held for a short
 * time), read, confirm, cancel, list.
 *
 * A trip request (pickup and drop-off as stop ids or coordinates snapped to
 * the nearest stop, asap / depart_after / arrive_by with a local or ISO
 * time, passengers, wheelchairs, rider) is checked whole before any day is
 * opened; an offer is the dispatcher's best insertion, stated as a pickup
 * window.  Live bookings are answered from the service layer's memory,
 * others (finished, other days, or not placed after a restart) from the
 * store's rows with the same fields.  Confirming or cancelling a booking
 * that already has that status answers 2xx only once its change is stored.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "api/server/routes_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct trip {
    dsp_request req;
    svc_day *day;
    const char *rider;
    const char *notes;
} trip;

/* A place: {"stop_id": "..."} or {"lat": .., "lon": ..} snapped to the
 * nearest stop within max_snap_m. */
static int parse_place(rctx *c, json_t *o, const char *key, dsp_place *p)
{
    static const char *const keys[] = {"stop_id", "lat", "lon", NULL};
    api_svc *s = c->s;
    json_t *v = json_object_get(o, key), *lat, *lon;
    const char *sid;

    if (v == NULL || !json_is_object(v)) {
        rt_err(c, 400, "invalid_field",
                  "\"%s\" must be an object: {\"stop_id\": \"...\"} or {\"lat\": .., \"lon\": ..}",
                  key);
        return -1;
    }
    if (rt_keys(c, v, key, keys) < 0)
        return -1;
    if (rt_id(c, v, "stop_id", 100, &sid) < 0)
        return -1;
    if (sid != NULL) {
        intptr_t k = (intptr_t)svc_map_get(&s->core->stop_ids, sid);
        if (k <= 0) {
            rt_err(c, 422, "unknown_stop", "%s: no stop \"%s\" in this service area", key, sid);
            return -1;
        }
        p->stop = (int)k - 1;
        p->lat = s->area->stops[p->stop].lat;
        p->lon = s->area->stops[p->stop].lon;
        return 0;
    }
    lat = json_object_get(v, "lat");
    lon = json_object_get(v, "lon");
    if (!json_is_number(lat) || !json_is_number(lon) || fabs(json_number_value(lat)) > 90 ||
        fabs(json_number_value(lon)) > 180) {
        rt_err(c, 400, "invalid_field",
                  "%s: give \"stop_id\", or \"lat\" (-90..90) and \"lon\" (-180..180) as numbers",
                  key);
        return -1;
    }
    double dist = 0;
    int k = area_nearest_stop(s->area, json_number_value(lat), json_number_value(lon), &dist);
    if (k < 0 || dist > s->cfg.max_snap_m) {
        rt_err(c, 422, "out_of_area",
                  "%s (%.5f, %.5f) is %.0f m from the nearest stop; the service reaches %.0f m",
                  key, json_number_value(lat), json_number_value(lon), k < 0 ? 0.0 : dist,
                  s->cfg.max_snap_m);
        return -1;
    }
    p->stop = k;
    p->lat = s->area->stops[k].lat;
    p->lon = s->area->stops[k].lon;
    return 0;
}

/* "HH:MM[:SS]" on `date`, or "YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm]" (sets date). */
/*
 * "HH:MM[:SS]" on the request's date, or an ISO 8601 local time
 * "YYYY-MM-DDTHH:MM[:SS]" with an optional offset ("Z", "+09:00"; at most
 * 14 hours, minutes below 60).  With an offset the instant decides: it is
 * converted to the area's zone, and its local date may differ from the
 * string's (23:30-10:00 is the next morning in Tokyo).  0, or -1 answered.
 */
static int parse_when_time(rctx *c, const char *t, char date[11], int *t_s)
{
    if (strlen(t) >= 16 && t[10] == 'T') {
        int y, mo, dd, h, mi, se = 0, n = 0, oh = 0, om = 0, sign = 0;
        char d[32], hm[32];
        if (sscanf(t, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &dd, &h, &mi, &n) != 5 || n != 16)
            goto bad;
        if (t[16] == ':') {
            if (!isdigit((unsigned char)t[17]) || !isdigit((unsigned char)t[18]))
                goto bad;
            se = (t[17] - '0') * 10 + (t[18] - '0');
            n = 19;
        }
        const char *z = t + n;
        if (*z == 'Z' && z[1] == '\0') {
            sign = 1;
        } else if ((*z == '+' || *z == '-') && strlen(z) == 6 && isdigit((unsigned char)z[1]) &&
                   isdigit((unsigned char)z[2]) && z[3] == ':' && isdigit((unsigned char)z[4]) &&
                   isdigit((unsigned char)z[5])) {
            sign = *z == '+' ? 1 : -1;
            oh = (z[1] - '0') * 10 + (z[2] - '0');
            om = (z[4] - '0') * 10 + (z[5] - '0');
            if (oh > 14 || om > 59 || (oh == 14 && om > 0))
                goto bad;
        } else if (*z != '\0') {
            goto bad;
        }
        snprintf(d, sizeof(d), "%.10s", t);
        snprintf(hm, sizeof(hm), "%02d:%02d:%02d", h, mi, se);
        if (h > 23 || mi > 59 || se > 59 || svc_date_midnight(d) < 0 ||
            dsp_clock_parse(hm, t_s) < 0)
            goto bad;
        if (sign != 0) {
            /* The instant: the reading as if UTC, less the offset; then
             * its date and seconds in the area's zone. */
            struct tm tm = {0};
            tm.tm_year = y - 1900;
            tm.tm_mon = mo - 1;
            tm.tm_mday = dd;
            tm.tm_hour = h;
            tm.tm_min = mi;
            tm.tm_sec = se;
            time_t unix_s = timegm(&tm) - (time_t)sign * (oh * 3600 + om * 60);
            struct tm lt;
            if (localtime_r(&unix_s, &lt) == NULL)
                goto bad;
            snprintf(d, sizeof(d), "%04d-%02d-%02d", lt.tm_year + 1900, lt.tm_mon + 1,
                     lt.tm_mday);
            int64_t mid = svc_date_midnight(d);
            if (mid < 0)
                goto bad;
            *t_s = (int)((int64_t)unix_s - mid);
        }
        snprintf(date, 11, "%.10s", d);
        return 0;
    }
    if (dsp_clock_parse(t, t_s) == 0)
        return 0;
bad:
    rt_err(c, 400, "invalid_field",
              "\"time\" must be \"HH:MM\" or an ISO 8601 time \"YYYY-MM-DDTHH:MM[:SS][+09:00]\"");
    return -1;
}

/* The trip request of quotes and bookings; 0, or -1 answered. */
static int parse_trip(rctx *c, trip *t, int booking)
{
    static const char *const keys[] = {"rider_id", "pickup",   "dropoff",     "when", "time",
                                       "date",     "passengers", "wheelchairs", "notes", NULL};
    api_svc *s = c->s;
    const char *when = NULL, *time_str = NULL, *date_str = NULL;
    char date[11], today[11];
    int now;

    memset(t, 0, sizeof(*t));
    t->req.passengers = 1;
    if (rt_keys(c, c->body, "body", keys) < 0 || rt_id(c, c->body, "rider_id", 39, &t->rider) < 0 ||
        rt_id(c, c->body, "when", 20, &when) < 0 ||
        rt_id(c, c->body, "time", 40, &time_str) < 0 ||
        rt_id(c, c->body, "date", 10, &date_str) < 0 ||
        rt_str(c, c->body, "notes", 250, &t->notes) < 0 ||
        rt_int(c, c->body, "passengers", 1, 20, &t->req.passengers) < 0 ||
        rt_int(c, c->body, "wheelchairs", 0, 20, &t->req.wheelchairs) < 0)
        return -1;
    if (t->req.wheelchairs > t->req.passengers) {
        rt_err(c, 400, "invalid_field", "\"wheelchairs\" cannot exceed \"passengers\"");
        return -1;
    }
    if (parse_place(c, c->body, "pickup", &t->req.pickup) < 0 ||
        parse_place(c, c->body, "dropoff", &t->req.drop) < 0)
        return -1;
    if (t->req.pickup.stop == t->req.drop.stop && t->req.pickup.stop >= 0) {
        rt_err(c, 422, "same_place", "pickup and dropoff are the same stop");
        return -1;
    }
    if (when == NULL || strcmp(when, "asap") == 0)
        t->req.when = DSP_ASAP;
    else if (strcmp(when, "depart_after") == 0)
        t->req.when = DSP_DEPART_AFTER;
    else if (strcmp(when, "arrive_by") == 0)
        t->req.when = DSP_ARRIVE_BY;
    else {
        rt_err(c, 400, "invalid_field", "\"when\" must be asap, depart_after or arrive_by");
        return -1;
    }
    svc_today(s->core, today);
    snprintf(date, sizeof(date), "%s", date_str ? date_str : today);
    if (date_str != NULL && svc_date_midnight(date) < 0) {
        rt_err(c, 400, "invalid_field", "\"date\" must be a date YYYY-MM-DD");
        return -1;
    }
    if (t->req.when != DSP_ASAP) {
        if (time_str == NULL) {
            rt_err(c, 400, "missing_field", "\"time\" is required with \"when\": \"%s\"", when);
            return -1;
        }
        if (parse_when_time(c, time_str, date, &t->req.time_s) < 0)
            return -1;
    } else if (time_str != NULL) {
        rt_err(c, 400, "invalid_field", "\"time\" makes no sense with \"when\": \"asap\"");
        return -1;
    }
    if (t->req.when == DSP_ASAP && strcmp(date, today) != 0) {
        rt_err(c, 422, "invalid_time", "\"asap\" is for today (%s) only", today);
        return -1;
    }
    int64_t mid = svc_date_midnight(date), mid_today = svc_date_midnight(today);
    if (mid < mid_today) {
        rt_err(c, 422, "time_in_past", "%s is in the past", date);
        return -1;
    }
    if (mid > mid_today + (int64_t)s->cfg.max_lead_days * 86400 + 7200) {
        rt_err(c, 422, "too_far_ahead", "bookings are taken up to %d day(s) ahead",
                  s->cfg.max_lead_days);
        return -1;
    }
    now = (int)(svc_unix_now(s->core) - mid);
    if (t->req.when != DSP_ASAP && t->req.time_s < now - 60) {
        rt_err(c, 422, "time_in_past", "the requested time has passed");
        return -1;
    }
    /* Who travels. */
    if (c->tok->role == API_ROLE_RIDER) {
        if (t->rider != NULL && strcmp(t->rider, c->tok->rider_id) != 0) {
            rt_err(c, 403, "forbidden", "riders book for themselves only");
            return -1;
        }
        t->rider = c->tok->rider_id;
    } else if (booking && t->rider == NULL) {
        rt_err(c, 400, "missing_field",
                  "\"rider_id\" is required: register the caller first (POST /v1/riders)");
        return -1;
    }
    if (t->rider != NULL && svc_map_get(&s->core->riders, t->rider) == NULL) {
        rt_err(c, 422, "unknown_rider", "no rider \"%s\"", t->rider);
        return -1;
    }
    /* Everything is checked before the day is opened: a refused request
     * leaves nothing behind. */
    t->day = svc_day_get(s->core, date, 1);
    if (t->day == NULL) {
        rt_err(c, 503, "unavailable", "the service day %s cannot be opened", date);
        return -1;
    }
    return 0;
}

static json_t *option_json(svc_day *d, const dsp_option *o)
{
    char a[40], b[40], l[40], pp[40], pd[40];

    svc_day_iso(d, o->pickup_from_s, a, sizeof(a));
    svc_day_iso(d, o->pickup_to_s, b, sizeof(b));
    svc_day_iso(d, o->latest_dropoff_s, l, sizeof(l));
    svc_day_iso(d, o->planned_pickup_s, pp, sizeof(pp));
    svc_day_iso(d, o->planned_dropoff_s, pd, sizeof(pd));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i}", "pickup_from", a, "pickup_to", b,
                     "latest_dropoff", l, "planned_pickup", pp, "planned_dropoff", pd,
                     "pickup_from_s", o->pickup_from_s, "pickup_to_s", o->pickup_to_s,
                     "latest_dropoff_s", o->latest_dropoff_s, "planned_pickup_s",
                     o->planned_pickup_s, "planned_dropoff_s", o->planned_dropoff_s);
}

void h_quote(rctx *c)
{
    trip t;
    dsp_offer off;
    uint64_t t0;
    int rc;

    if (rt_body(c, 1) < 0 || parse_trip(c, &t, 0) < 0)
        return;
    t0 = uv_hrtime();
    rc = dsp_request_offer(t.day->dsp, svc_day_now(c->s->core, t.day), &t.req, 0, &off);
    api_hist_add(&c->s->m.offer_latency, (double)(uv_hrtime() - t0) / 1e9);
    c->s->m.quotes++;
    if (rc < 0) {
        rt_err(c, 422, "invalid_request", "%s", dsp_strerror(rc));
        return;
    }
    json_t *opts = json_array();
    if (off.ok)
        json_array_append_new(opts, option_json(t.day, &off.option));
    for (int i = 0; i < off.n_alts; i++)
        json_array_append_new(opts, option_json(t.day, &off.alts[i]));
    rt_reply(c, 200,
          json_pack("{s:s,s:b,s:o,s:s}", "date", t.day->date, "available", off.ok, "options", opts,
                    "reason", off.ok ? "" : dsp_reason_name(off.reason)),
          NULL);
}

void h_book(rctx *c)
{
    trip t;
    dsp_offer off;
    svc_bk *b;
    uint64_t t0;
    int rc;

    if (rt_body(c, 1) < 0 || parse_trip(c, &t, 1) < 0 || rt_store_down(c))
        return;
    t0 = uv_hrtime();
    rc = dsp_request_offer(t.day->dsp, svc_day_now(c->s->core, t.day), &t.req, 1, &off);
    api_hist_add(&c->s->m.offer_latency, (double)(uv_hrtime() - t0) / 1e9);
    c->s->m.offers++;
    if (rc < 0) {
        rt_err(c, 422, "invalid_request", "%s", dsp_strerror(rc));
        return;
    }
    b = svc_bk_new(c->s->core, t.day, off.booking, t.rider, t.notes);
    if (b == NULL) {
        if (off.ok)
            dsp_cancel(t.day->dsp, svc_day_now(c->s->core, t.day), off.booking, "internal");
        rt_err(c, 503, "unavailable",
                  "the booking could not be recorded (out of memory or no randomness for its "
                  "id); nothing was booked, try again shortly");
        return;
    }
    if (off.ok) {
        char loc[80];
        snprintf(loc, sizeof(loc), "Location: /v1/bookings/%s\r\n", b->id);
        rt_commit_reply(c, NULL, 201, api_bk_json(c->s, b), loc);
        return;
    }
    if ((int)off.reason < 8)
        c->s->m.offers_rejected[off.reason]++;
    json_t *alts = json_array();
    for (int i = 0; i < off.n_alts; i++)
        json_array_append_new(alts, option_json(t.day, &off.alts[i]));
    char msg[200];
    snprintf(msg, sizeof(msg), "no van can take this trip (%s)%s", dsp_reason_name(off.reason),
             off.n_alts ? "; other times that fit are listed" : "");
    rt_commit_reply(c, NULL, 409,
                      json_pack("{s:{s:s,s:s,s:s,s:s,s:o}}", "error", "code", "no_availability",
                                "message", msg, "reason", dsp_reason_name(off.reason), "booking_id",
                                b->id, "alternatives", alts),
                      NULL);
}

/* The live booking c->param[0] the caller may see, or NULL (answered 404
 * unless *in_store says to look in the store). */
static svc_bk *visible_booking(rctx *c)
{
    svc_bk *b = svc_map_get(&c->s->core->bookings, c->param[0]);

    if (b == NULL)
        return NULL;
    if (c->tok->role == API_ROLE_RIDER && strcmp(b->rider_id, c->tok->rider_id) != 0)
        return NULL;
    if (c->tok->role == API_ROLE_DRIVER) {
        dsp_booking_info bi;
        svc_day *d = &c->s->core->days[b->day];
        if (dsp_booking_get(d->dsp, b->idx, &bi) < 0 ||
            strcmp(svc_vehicle_id(c->s->core, bi.vehicle), c->tok->vehicle_id) != 0)
            return NULL;
    }
    return b;
}

/* Stored booking rows as JSON. */
static json_t *row_place(const char *stop, double lat, double lon)
{
    json_t *o = json_object();

    if (stop != NULL)
        json_object_set_new(o, "stop_id", json_string(stop));
    json_object_set_new(o, "lat", json_real(lat));
    json_object_set_new(o, "lon", json_real(lon));
    return o;
}

/* A booking as the store keeps it (finished ones, other days, listings). */
static json_t *row_booking_json(const store_booking_row *r)
{
    const struct {
        int v;
        const char *key;
    } times[] = {{r->time_s, "time"},
                 {r->requested_s, "requested"},
                 {r->promise_from_s, "pickup_from"},
                 {r->promise_to_s, "pickup_to"},
                 {r->latest_dropoff_s, "latest_dropoff"},
                 {r->planned_pickup_s, "planned_pickup"},
                 {r->planned_dropoff_s, "planned_dropoff"},
                 {r->pickup_s, "picked_up"},
                 {r->dropoff_s, "dropped_off"}};
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "date", json_string(r->date));
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "rider_id", r->rider_id ? json_string(r->rider_id) : json_null());
    json_object_set_new(o, "created_by", json_string(r->created_by ? r->created_by : ""));
    json_object_set_new(o, "pickup", row_place(r->pickup_stop, r->pickup_lat, r->pickup_lon));
    json_object_set_new(o, "dropoff", row_place(r->drop_stop, r->drop_lat, r->drop_lon));
    json_object_set_new(o, "when", json_string(r->when_kind ? r->when_kind : "asap"));
    json_object_set_new(o, "passengers", json_integer(r->passengers));
    json_object_set_new(o, "wheelchairs", json_integer(r->wheelchairs));
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char iso[40], key_s[40];
        snprintf(key_s, sizeof(key_s), "%s_s", times[i].key);
        if (times[i].v < 0 || svc_date_iso(r->date, times[i].v, iso, sizeof(iso)) < 0) {
            json_object_set_new(o, times[i].key, json_null());
            json_object_set_new(o, key_s, json_null());
        } else {
            json_object_set_new(o, times[i].key, json_string(iso));
            json_object_set_new(o, key_s, json_integer(times[i].v));
        }
    }
    json_object_set_new(o, "vehicle_id", r->vehicle_id ? json_string(r->vehicle_id) : json_null());
    json_object_set_new(o, "reason", json_string(r->reason ? r->reason : ""));
    json_object_set_new(o, "notes", json_string(r->notes ? r->notes : ""));
    json_object_set_new(o, "needs_attention", json_boolean(r->attention != NULL));
    json_object_set_new(o, "attention", r->attention ? json_string(r->attention) : json_null());
    return o;
}

/* A confirmed booking that no van could take after a restart lives only in
 * the store: cancelling it is a change of the row and one event, committed
 * before the answer like any other. */
static void cancel_unplanned(rctx *c, const store_booking_row *r)
{
    store st = api_store(c->s);
    const char *why = NULL;
    char key[64];
    store_txn *txn;
    json_t *j;

    if (json_is_object(c->body))
        why = json_string_value(json_object_get(c->body, "reason"));
    if (why == NULL)
        why = c->tok->role == API_ROLE_RIDER ? "" : "operator";
    if (svc_random_id("ca_", key, sizeof(key)) < 0) {
        rt_err(c, 503, "unavailable", "no randomness for the event's key; try again shortly");
        return;
    }
    int now_s = (int)(svc_unix_now(c->s->core) - svc_date_midnight(r->date));
    txn = st.ops->txn_new(st.ctx);
    if (txn == NULL || st.ops->end_stored_booking(txn, r->id, r->status, "cancelled", now_s, why,
                                                  c->tok->id, key) < 0) {
        if (txn != NULL)
            st.ops->txn_free(txn);
        rt_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return;
    }
    j = row_booking_json(r);
    json_object_set_new(j, "status", json_string("cancelled"));
    json_object_set_new(j, "needs_attention", json_false());
    json_object_set_new(j, "attention", json_null());
    json_object_set_new(j, "reason", json_string(why));
    c->s->m.cancels++;
    rt_commit_reply(c, txn, 200, j, NULL);
}

static void got_stored_booking(void *ud, int rc, const store_booking_row *rows, int n)
{
    rctx *c = ud;

    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    if (n == 0) {
        rt_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
        return;
    }
    const store_booking_row *r = &rows[0];
    if ((c->tok->role == API_ROLE_RIDER &&
         (r->rider_id == NULL || strcmp(r->rider_id, c->tok->rider_id))) ||
        (c->tok->role == API_ROLE_DRIVER &&
         (r->vehicle_id == NULL || strcmp(r->vehicle_id, c->tok->vehicle_id)))) {
        rt_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
        return;
    }
    if (strcmp(c->req->method, "POST") == 0) {
        if (rt_is_cancel(c) && r->attention != NULL &&
            (strcmp(r->status, "confirmed") == 0 || strcmp(r->status, "assigned") == 0)) {
            cancel_unplanned(c, r);
            return;
        }
        rt_err(c, 409, "invalid_state", "booking %s is %s and can no longer change",
                  c->param[0], r->status);
        return;
    }
    rt_reply(c, 200, row_booking_json(r), NULL);
}

/* Not live: look in the store (finished bookings of earlier days). */
static void stored_booking(rctx *c)
{
    store st = api_store(c->s);

    if (rt_store_down(c))
        return;
    st.ops->booking_get(st.ctx, c->param[0], got_stored_booking, c);
}

void h_booking_get(rctx *c)
{
    svc_bk *b = visible_booking(c);

    if (b == NULL) {
        if (svc_map_get(&c->s->core->bookings, c->param[0]) != NULL) {
            rt_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
            return;
        }
        stored_booking(c);
        return;
    }
    rt_reply(c, 200, api_bk_json(c->s, b), NULL);
}

/* The live booking a change is asked for, with its day and state; NULL
 * when answered here (404, a stored booking that can no longer change, or
 * the store down). */
static svc_bk *booking_to_change(rctx *c, svc_day **d, dsp_booking_info *bi)
{
    svc_bk *b = visible_booking(c);

    if (b == NULL) {
        if (svc_map_get(&c->s->core->bookings, c->param[0]) != NULL)
            rt_err(c, 404, "not_found", "no booking \"%s\"", c->param[0]);
        else
            stored_booking(c);
        return NULL;
    }
    if (rt_store_down(c))
        return NULL;
    *d = &c->s->core->days[b->day];
    dsp_booking_get((*d)->dsp, b->idx, bi);
    return b;
}

/* After the commit of answer_settled: 200 only if the booking's change is
 * stored by now; a commit before ours that failed has put it back into
 * the queue. */
static void settled_committed(void *ud, int rc)
{
    rctx *c = ud;
    svc_bk *b = svc_bk_find(c->s->core, c->param[0]);

    if (rc == 0 && (b == NULL || svc_bk_unstored(c->s->core, b)))
        rc = DB_EUNAVAIL;
    rt_after_commit(ud, rc);
}

/* The booking already has the state asked for.  That answer may come from
 * memory only once the change that made it is stored (it may be queued
 * behind a database outage, or its commit still in flight). */
static void answer_settled(rctx *c, svc_bk *b)
{
    if (!svc_bk_unstored(c->s->core, b)) {
        rt_reply(c, 200, api_bk_json(c->s, b), NULL);
        return;
    }
    rt_idem_drop(c); /* nothing of its own to record: a retry asks again */
    rt_commit_reply_cb(c, NULL, 200, api_bk_json(c->s, b), NULL, settled_committed);
}

void h_confirm(rctx *c)
{
    dsp_booking_info bi;
    svc_day *d;
    svc_bk *b;
    int rc;

    if ((b = booking_to_change(c, &d, &bi)) == NULL)
        return;
    if (bi.status == DSP_CONFIRMED || bi.status == DSP_ASSIGNED) {
        answer_settled(c, b); /* already: confirming is idempotent */
        return;
    }
    rc = dsp_confirm(d->dsp, svc_day_now(c->s->core, d), b->idx);
    if (rc < 0) {
        api_svc *s = c->s; /* c is freed by the answer */
        dsp_booking_get(d->dsp, b->idx, &bi);
        /* An expiry found on the way is a change of its own. */
        if (s->core->n_evq > 0 && api_store_ready(s))
            svc_commit(s->core, NULL, NULL, NULL);
        if (bi.status == DSP_EXPIRED)
            rt_err(c, 409, "offer_expired", "the offer of booking %s has expired; ask again",
                      b->id);
        else
            rt_err(c, 409, "invalid_state", "booking %s is %s and cannot be confirmed", b->id,
                      dsp_status_name(bi.status));
        return;
    }
    c->s->m.confirms++;
    rt_commit_reply(c, NULL, 200, api_bk_json(c->s, b), NULL);
}

void h_cancel(rctx *c)
{
    static const char *const keys[] = {"reason", NULL};
    svc_bk *b;
    dsp_booking_info bi;
    const char *why = NULL;
    svc_day *d;
    int rc;

    if (rt_body(c, 0) < 0 || rt_keys(c, c->body, "body", keys) < 0 ||
        rt_str(c, c->body, "reason", 40, &why) < 0 || (b = booking_to_change(c, &d, &bi)) == NULL)
        return;
    if (bi.status == DSP_CANCELLED) {
        answer_settled(c, b);
        return;
    }
    rc = dsp_cancel(d->dsp, svc_day_now(c->s->core, d), b->idx,
                    why ? why : c->tok->role == API_ROLE_RIDER ? "" : "operator");
    if (rc < 0) {
        rt_err(c, 409, "invalid_state", "booking %s is %s and cannot be cancelled", b->id,
                  dsp_status_name(bi.status));
        return;
    }
    c->s->m.cancels++;
    rt_commit_reply(c, NULL, 200, api_bk_json(c->s, b), NULL);
}

static void got_list(void *ud, int rc, const store_booking_row *rows, int n)
{
    rctx *c = ud;
    json_t *arr;
    int limit = c->status;

    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    arr = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(arr, row_booking_json(&rows[i]));
    rt_reply(c, 200,
          json_pack("{s:o,s:o}", "bookings", arr, "next_cursor",
                    n > limit ? json_string(rows[limit - 1].id) : json_null()),
          NULL);
}

void h_bookings_list(rctx *c)
{
    char rider[64] = "", date[16] = "", status[24] = "", cursor[64] = "", lim[8] = "",
         attention[8] = "";
    int limit = 50;

    if (api_http_query_get(c->req, "rider", rider, sizeof(rider)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "date", date, sizeof(date)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "status", status, sizeof(status)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "cursor", cursor, sizeof(cursor)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "limit", lim, sizeof(lim)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "needs_attention", attention, sizeof(attention)) ==
            API_HTTP_EINVAL) {
        rt_err(c, 400, "invalid_query", "a query parameter is malformed or too long");
        return;
    }
    if (date[0] && svc_date_midnight(date) < 0) {
        rt_err(c, 400, "invalid_query", "date must be YYYY-MM-DD");
        return;
    }
    if (attention[0] && strcmp(attention, "true") != 0 && strcmp(attention, "false") != 0) {
        rt_err(c, 400, "invalid_query", "needs_attention must be true or false");
        return;
    }
    if (status[0] && dsp_status_parse(status) < 0) {
        rt_err(c, 400, "invalid_query", "unknown status \"%s\"", status);
        return;
    }
    if (lim[0]) {
        char *end;
        long l = strtol(lim, &end, 10);
        if (*end != '\0' || l < 1 || l > 200) {
            rt_err(c, 400, "invalid_query", "limit must be 1..200");
            return;
        }
        limit = (int)l;
    }
    if (c->tok->role == API_ROLE_RIDER) {
        if (rider[0] && strcmp(rider, c->tok->rider_id) != 0) {
            rt_err(c, 403, "forbidden", "riders list their own bookings only");
            return;
        }
        snprintf(rider, sizeof(rider), "%s", c->tok->rider_id);
    }
    if (rt_store_down(c))
        return;
    store_booking_filter f = {.rider_id = rider[0] ? rider : NULL,
                              .date = date[0] ? date : NULL,
                              .status = status[0] ? status : NULL,
                              .after_id = cursor[0] ? cursor : NULL,
                              .attention = attention[0] ? strcmp(attention, "true") == 0 : -1,
                              .limit = limit + 1};
    store st = api_store(c->s);
    c->status = limit;
    st.ops->bookings(st.ctx, &f, got_list, c);
}
