/*
 * views.c - the JSON the API shows of live state: a booking as the
 * dispatcher holds it now, and a van's plan.  Bookings that live only in
 * the store (finished, other days) are shown from their rows by the
 * bookings routes, with the same fields.
 *
 * Times are ISO 8601 with the area's offset, each beside its seconds of the
 * service day ("pickup_from" and "pickup_from_s"); places are a stop id
 * with its coordinates, or coordinates alone.
 */
#include "api/server/srv_int.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

json_t *api_place_json(const api_svc *s, const dsp_place *p)
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

void api_set_time(json_t *o, const svc_day *d, const char *key, int t_s)
{
    char iso[40], key_s[48];

    snprintf(key_s, sizeof(key_s), "%s_s", key);
    if (t_s < 0 && strcmp(key, "requested") != 0 && strcmp(key, "expires") != 0) {
        json_object_set_new(o, key, json_null());
        json_object_set_new(o, key_s, json_null());
        return;
    }
    svc_day_iso(d, t_s, iso, sizeof(iso));
    json_object_set_new(o, key, json_string(iso));
    json_object_set_new(o, key_s, json_integer(t_s));
}

static const char *when_name(dsp_when w)
{
    return w == DSP_ASAP ? "asap" : w == DSP_DEPART_AFTER ? "depart_after" : "arrive_by";
}

json_t *api_bk_json(api_svc *s, const svc_bk *b)
{
    svc_day *d = &s->core->days[b->day];
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
    json_object_set_new(o, "pickup", api_place_json(s, &bi.pickup));
    json_object_set_new(o, "dropoff", api_place_json(s, &bi.drop));
    json_object_set_new(o, "when", json_string(when_name(bi.when)));
    api_set_time(o, d, "time", bi.when == DSP_ASAP ? -1 : bi.time_s);
    json_object_set_new(o, "passengers", json_integer(bi.passengers));
    json_object_set_new(o, "wheelchairs", json_integer(bi.wheelchairs));
    api_set_time(o, d, "requested", bi.requested_s);
    api_set_time(o, d, "pickup_from", bi.promise_from_s);
    api_set_time(o, d, "pickup_to", bi.promise_to_s);
    api_set_time(o, d, "latest_dropoff", bi.latest_dropoff_s);
    api_set_time(o, d, "planned_pickup", bi.vehicle >= 0 ? bi.planned_pickup_s : -1);
    api_set_time(o, d, "planned_dropoff", bi.vehicle >= 0 ? bi.planned_dropoff_s : -1);
    api_set_time(o, d, "picked_up", bi.pickup_s);
    api_set_time(o, d, "dropped_off", bi.dropoff_s);
    if (bi.status == DSP_OFFERED) {
        const dsp_day *dd = d->dsp;
        (void)dd;
        api_set_time(o, d, "expires", bi.requested_s + s->cfg.rules.offer_ttl_s);
    }
    json_object_set_new(o, "vehicle_id",
                        bi.vehicle >= 0 ? json_string(svc_vehicle_id(s->core, bi.vehicle)) : json_null());
    json_object_set_new(o, "delayed", json_boolean(bi.delayed));
    json_object_set_new(o, "reason", json_string(bi.reason ? dsp_reason_name(bi.reason) : ""));
    json_object_set_new(o, "notes", json_string(b->notes));
    json_object_set_new(o, "needs_attention", json_false()); /* live: in a plan */
    json_object_set_new(o, "attention", json_null());
    return o;
}

json_t *api_plan_json(api_svc *s, svc_day *d, int v)
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
    json_object_set_new(o, "vehicle_id", json_string(svc_vehicle_id(s->core, v)));
    json_object_set_new(o, "date", json_string(d->date));
    json_object_set_new(o, "seq", json_integer(d->seq_base[v] + vi.version));
    json_object_set_new(o, "in_service", json_boolean(vi.in_service));
    json_object_set_new(o, "position", api_place_json(s, &vi.place));
    json_object_set_new(o, "en_route", json_boolean(vi.en_route));
    json_object_set_new(o, "seats_used", json_integer(vi.seats_used));
    json_object_set_new(o, "wheelchairs_used", json_integer(vi.wheelchairs_used));
    for (int k = 0; k < n; k++) {
        const dsp_plan_stop *p = &stops[k];
        json_t *st = json_object();
        const svc_bk *b = p->booking < d->cap_idx ? d->by_idx[p->booking] : NULL;
        dsp_booking_info bi;
        json_object_set_new(st, "kind", json_string(p->kind == DSP_STOP_PICKUP ? "pickup"
                                                    : p->kind == DSP_STOP_DROP ? "dropoff"
                                                                               : "break"));
        json_object_set_new(st, "booking_id", b != NULL ? json_string(b->id) : json_null());
        json_object_set_new(st, "place", api_place_json(s, &p->place));
        api_set_time(st, d, "planned", p->planned_s);
        json_object_set_new(st, "service_s", json_integer(p->service_s));
        json_object_set_new(st, "committed", json_boolean(p->committed));
        if (b != NULL && dsp_booking_get(d->dsp, p->booking, &bi) == 0) {
            json_object_set_new(st, "rider_id",
                                b->rider_id[0] ? json_string(b->rider_id) : json_null());
            json_object_set_new(st, "passengers", json_integer(bi.passengers));
            json_object_set_new(st, "wheelchairs", json_integer(bi.wheelchairs));
            json_object_set_new(st, "status", json_string(dsp_status_name(bi.status)));
            api_set_time(st, d, "window_from", bi.promise_from_s);
            api_set_time(st, d, "window_to", bi.promise_to_s);
            json_object_set_new(st, "notes", json_string(b->notes));
        }
        json_array_append_new(arr, st);
    }
    json_object_set_new(o, "stops", arr);
    free(stops);
    return o;
}

