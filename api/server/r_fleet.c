/*
 * r_fleet.c - the fleet and the area as the API shows them: vans with
 * their live state and plan, a van taken out of service (its riders moved
 * where possible, kept out after a restart), shifts, stops.
 */
#include "api/server/routes_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static svc_day *query_day(rctx *c)
{
    char date[16] = "";

    if (api_http_query_get(c->req, "date", date, sizeof(date)) == API_HTTP_EINVAL ||
        (date[0] && svc_date_midnight(date) < 0)) {
        rt_err(c, 400, "invalid_query", "date must be YYYY-MM-DD");
        return NULL;
    }
    if (!date[0])
        svc_today(c->s->core, date);
    svc_day *d = svc_day_get(c->s->core, date, 1);
    if (d == NULL)
        rt_err(c, 404, "not_found", "no live service day %s (today up to %d day(s) ahead)",
                  date, c->s->cfg.max_lead_days);
    return d;
}

static int own_vehicle(rctx *c, int *v)
{
    *v = svc_vehicle_index(c->s->core, c->param[0]);
    if (*v < 0 ||
        (c->tok->role == API_ROLE_DRIVER && strcmp(c->tok->vehicle_id, c->param[0]) != 0)) {
        rt_err(c, 404, "not_found", "no vehicle \"%s\"", c->param[0]);
        return -1;
    }
    return 0;
}

static json_t *vehicle_json(rctx *c, svc_day *d, int v)
{
    const api_fleet_def *f = &c->s->cfg.vehicles[v];
    dsp_vehicle_info vi;
    json_t *cf = json_array(), *br = json_array();
    char a[40], b[40];

    dsp_vehicle_get(d->dsp, v, &vi);
    for (int k = 0; k < f->n_configs; k++)
        json_array_append_new(cf, json_pack("{s:i,s:i}", "seats", f->seats[k], "wheelchairs",
                                            f->wheelchairs[k]));
    for (int k = 0; k < f->n_breaks; k++) {
        char e[40], l[40];
        svc_day_iso(d, f->break_earliest_s[k], e, sizeof(e));
        svc_day_iso(d, f->break_latest_s[k], l, sizeof(l));
        json_array_append_new(br, json_pack("{s:s,s:s,s:i}", "earliest", e, "latest", l,
                                            "duration_s", f->break_duration_s[k]));
    }
    svc_day_iso(d, vi.shift_start_s, a, sizeof(a));
    svc_day_iso(d, vi.shift_end_s, b, sizeof(b));
    return json_pack("{s:s,s:s,s:o,s:b,s:{s:s,s:s,s:o},s:o,s:i,s:i,s:I}", "id", f->id, "date",
                     d->date, "configs", cf, "in_service", vi.in_service, "shift", "start", a,
                     "end", b, "breaks", br, "depot",
                     json_pack("{s:f,s:f}", "lat", vi.depot.lat, "lon", vi.depot.lon),
                     "n_stops", vi.n_stops, "onboard", vi.n_onboard, "seq",
                     (json_int_t)(d->seq_base[v] + vi.version));
}

/* Drivers see their own vehicle only. */
static int vehicle_visible(const rctx *c, int v)
{
    return c->tok->role != API_ROLE_DRIVER ||
           strcmp(c->tok->vehicle_id, c->s->cfg.vehicles[v].id) == 0;
}

void h_vehicles(rctx *c)
{
    svc_day *d = query_day(c);
    json_t *arr;

    if (d == NULL)
        return;
    arr = json_array();
    for (int v = 0; v < c->s->cfg.n_vehicles; v++)
        if (vehicle_visible(c, v))
            json_array_append_new(arr, vehicle_json(c, d, v));
    rt_reply(c, 200, json_pack("{s:o}", "vehicles", arr), NULL);
}

void h_vehicle(rctx *c)
{
    int v;
    svc_day *d;

    if (own_vehicle(c, &v) < 0 || (d = query_day(c)) == NULL)
        return;
    rt_reply(c, 200, vehicle_json(c, d, v), NULL);
}

void h_plan(rctx *c)
{
    int v;
    svc_day *d;

    if (own_vehicle(c, &v) < 0 || (d = query_day(c)) == NULL)
        return;
    rt_reply(c, 200, api_plan_json(c->s, d, v), NULL);
}

void h_out_of_service(rctx *c)
{
    int v;
    svc_day *d;
    char today[11];

    static const char *const keys[] = {"reason", NULL};
    const char *why;

    if (rt_body(c, 0) < 0 || rt_keys(c, c->body, "body", keys) < 0 ||
        rt_str(c, c->body, "reason", 200, &why) < 0 || own_vehicle(c, &v) < 0 || rt_store_down(c))
        return;
    svc_today(c->s->core, today);
    if ((d = svc_day_get(c->s->core, today, 1)) == NULL) {
        rt_err(c, 503, "unavailable", "today's service day cannot be opened");
        return;
    }
    /* Who rode or was to ride with it, to say what became of them. */
    int64_t n_bk = dsp_n_bookings(d->dsp), *had = malloc((size_t)(n_bk + 1) * sizeof(*had));
    int n_had = 0;
    if (had == NULL) {
        rt_err(c, 500, "internal", "out of memory");
        return;
    }
    for (int64_t i = 0; i < n_bk && i < d->cap_idx; i++) {
        dsp_booking_info bi;
        if (d->by_idx[i] != NULL && dsp_booking_get(d->dsp, i, &bi) == 0 && bi.vehicle == v &&
            bi.status >= DSP_OFFERED && bi.status <= DSP_PICKED_UP)
            had[n_had++] = i;
    }
    if (dsp_vehicle_out_of_service(d->dsp, svc_day_now(c->s->core, d), v) < 0) {
        free(had);
        rt_err(c, 409, "invalid_state", "vehicle %s is already out of service", c->param[0]);
        return;
    }
    json_t *moved = json_array(), *lost = json_array();
    for (int i = 0; i < n_had; i++) {
        dsp_booking_info bi;
        dsp_booking_get(d->dsp, had[i], &bi);
        json_t *id = json_string(d->by_idx[had[i]]->id);
        if (bi.vehicle >= 0 && bi.vehicle != v && bi.status != DSP_CANCELLED)
            json_array_append_new(moved, json_pack("{s:o,s:s}", "booking_id", id, "vehicle_id",
                                                   svc_vehicle_id(c->s->core, bi.vehicle)));
        else
            json_array_append_new(lost, json_pack("{s:o,s:s}", "booking_id", id, "status",
                                                  dsp_status_name(bi.status)));
    }
    free(had);
    /* Stored with the change, so a restart keeps the van out today. */
    store st = api_store(c->s);
    store_txn *t = st.ops->txn_new(st.ctx);
    if (t == NULL || st.ops->vehicle_out(t, c->param[0], d->date) < 0) {
        if (t != NULL)
            st.ops->txn_free(t);
        json_decref(moved);
        json_decref(lost);
        rt_err(c, 500, "internal", "out of memory");
        return;
    }
    rt_commit_reply(c, t, 200,
                      json_pack("{s:s,s:b,s:o,s:o}", "vehicle_id", c->param[0], "in_service", 0,
                                "moved", moved, "not_kept", lost),
                      NULL);
}

void h_shifts(rctx *c)
{
    svc_day *d = query_day(c);
    json_t *arr;

    if (d == NULL)
        return;
    arr = json_array();
    for (int v = 0; v < c->s->cfg.n_vehicles; v++) {
        const api_fleet_def *f = &c->s->cfg.vehicles[v];
        char a[40], b[40];
        if (!vehicle_visible(c, v))
            continue;
        svc_day_iso(d, f->shift_start_s, a, sizeof(a));
        svc_day_iso(d, f->shift_end_s, b, sizeof(b));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:i}", "vehicle_id", f->id, "date",
                                             d->date, "start", a, "end", b, "breaks",
                                             f->n_breaks));
    }
    rt_reply(c, 200, json_pack("{s:o}", "shifts", arr), NULL);
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static json_t *stop_json(const area_stop *st)
{
    return json_pack("{s:s,s:s,s:o,s:f,s:f,s:s}", "id", st->id, "name", st->name ? st->name : "",
                     "name_en", st->name_en ? json_string(st->name_en) : json_null(), "lat",
                     st->lat, "lon", st->lon, "kind", st->kind);
}

void h_stops(rctx *c)
{
    char q[128] = "", lim[8] = "";
    int limit = 100;
    json_t *arr;

    if (c->n_param > 0) {
        intptr_t k = (intptr_t)svc_map_get(&c->s->core->stop_ids, c->param[0]);
        if (k <= 0) {
            rt_err(c, 404, "not_found", "no stop \"%s\"", c->param[0]);
            return;
        }
        rt_reply(c, 200, stop_json(&c->s->area->stops[k - 1]), NULL);
        return;
    }
    if (api_http_query_get(c->req, "q", q, sizeof(q)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "limit", lim, sizeof(lim)) == API_HTTP_EINVAL) {
        rt_err(c, 400, "invalid_query", "q or limit is malformed");
        return;
    }
    if (lim[0]) {
        limit = atoi(lim);
        if (limit < 1 || limit > 1000) {
            rt_err(c, 400, "invalid_query", "limit must be 1..1000");
            return;
        }
    }
    arr = json_array();
    for (int k = 0; k < c->s->area->n_stops && (int)json_array_size(arr) < limit; k++) {
        const area_stop *st = &c->s->area->stops[k];
        if (q[0] && strstr(st->id, q) == NULL && (st->name == NULL || strstr(st->name, q) == NULL) &&
            (st->name_en == NULL || !contains_nocase(st->name_en, q)))
            continue;
        json_array_append_new(arr, stop_json(st));
    }
    rt_reply(c, 200, json_pack("{s:o}", "stops", arr), NULL);
}
