/*
 * r_fleet.c - the fleet and the area as the API shows them: vans with
 * their live state and plan, a van taken out of service (its riders moved
 * where possible, kept out after a restart), shifts, stops.
 */
#include "api/server/routes_int.h"
#include "data/text/jtext.h"

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

static json_t *stop_json(const area_stop *st)
{
    return json_pack("{s:s,s:s,s:o,s:f,s:f,s:s}", "id", st->id, "name", st->name ? st->name : "",
                     "name_en", st->name_en ? json_string(st->name_en) : json_null(), "lat",
                     st->lat, "lon", st->lon, "kind", st->kind);
}

/*
 * Stop search (GET /v1/stops?q=).  People look for a stop by what is there
 * (びょういん, スーパー, 市役所, えき) as often as by its name, and type it
 * in any kana or width.  The query is folded (data/text/jtext) and a stop
 * matches when the folded query is found in:
 *   - its id, its folded name, its English name (any case), or the
 *     reading of its name derived from the table below;
 *   - a point of interest whose nearest stop it is: the place's folded
 *     name or reading, or the words for the place's kind (place_words:
 *     the query is a prefix of a word, or contains one: 総合病院 contains
 *     病院).  Such a stop lists those places under "places".
 * area_stop has no reading (yomi) field: readings here come only from the
 * common words of stop and place names below (駅, 前, 病院, 丁目, ...);
 * district names (栄町, 緑が丘) are found by their kanji only until the area
 * data carries readings (GTFS-JP translations / a yomi column).
 * Cost: one pass over the stops and the places per request, a few hundred
 * of each.
 */

/* What people call each kind of place, folded (hiragana, no spaces). */
static const struct {
    const char *kind;
    const char *words[10];
} place_words[] = {
    {"hospital", {"病院", "びょういん", "医院", "いいん", "hospital"}},
    {"clinic",
     {"病院", "びょういん", "医院", "いいん", "診療所", "しんりょうじょ", "くりにっく", "clinic"}},
    {"supermarket",
     {"すーぱー", "すーぱーまーけっと", "買い物", "かいもの", "supermarket", "shop"}},
    {"station", {"駅", "えき", "station"}},
    {"city_hall",
     {"市役所", "しやくしょ", "役場", "やくば", "役所", "やくしょ", "cityhall", "townoffice"}},
    {"community_hall", {"公民館", "こうみんかん", "communityhall"}},
    {"pharmacy", {"薬局", "やっきょく", "くすり", "pharmacy"}},
    {"elderly_care", {"でいさーびす", "介護", "かいご", "daycare"}},
    {"post_office", {"郵便局", "ゆうびんきょく", "postoffice"}},
    {"library", {"図書館", "としょかん", "library"}},
};

/* Readings of the words stop and place names are made of, longest first
 * where one begins another (駅前 before 駅). */
static const char *const readings[][2] = {
    {"駅前", "えきまえ"},
    {"駅", "えき"},
    {"市役所", "しやくしょ"},
    {"町役場", "まちやくば"},
    {"役場", "やくば"},
    {"総合病院", "そうごうびょういん"},
    {"病院", "びょういん"},
    {"医院", "いいん"},
    {"診療所", "しんりょうじょ"},
    {"公民館", "こうみんかん"},
    {"郵便局", "ゆうびんきょく"},
    {"薬局", "やっきょく"},
    {"図書館", "としょかん"},
    {"団地", "だんち"},
    {"丁目", "ちょうめ"},
    {"前", "まえ"},
    {"東", "ひがし"},
    {"西", "にし"},
    {"南", "みなみ"},
    {"北", "きた"},
    {"中央", "ちゅうおう"},
    {"一", "いち"},
    {"二", "に"},
    {"三", "さん"},
    {"四", "よん"},
    {"五", "ご"},
    {"六", "ろく"},
    {"七", "なな"},
    {"八", "はち"},
    {"九", "きゅう"},
    {"十", "じゅう"},
};

/* The reading of folded text: known words replaced, the rest kept; ""
 * when it does not fit. */
static void reading_of(const char *folded, char *out, size_t cap)
{
    size_t k = 0;
    const char *p = folded;

    while (*p) {
        const char *rep = NULL;
        size_t len = 0;
        for (size_t i = 0; i < sizeof(readings) / sizeof(readings[0]) && rep == NULL; i++) {
            len = strlen(readings[i][0]);
            if (strncmp(p, readings[i][0], len) == 0)
                rep = readings[i][1];
        }
        if (rep == NULL) {
            rep = p;
            len = 1;
        }
        size_t n = rep == p ? 1 : strlen(rep);
        if (k + n + 1 > cap) {
            out[0] = '\0';
            return;
        }
        memcpy(out + k, rep, n);
        k += n;
        p += len;
    }
    out[k] = '\0';
}

/* 1 when folded query q matches text (the name itself or its reading). */
static int text_matches(const char *text, const char *q)
{
    char f[512], r[1536];

    if (text == NULL || jt_fold_name(text, f, sizeof(f)) < 0)
        return 0;
    if (strstr(f, q) != NULL)
        return 1;
    reading_of(f, r, sizeof(r));
    return strstr(r, q) != NULL;
}

static int kind_matches(const char *kind, const char *q)
{
    size_t n = strlen(q);

    for (size_t i = 0; i < sizeof(place_words) / sizeof(place_words[0]); i++) {
        if (strcmp(place_words[i].kind, kind) != 0)
            continue;
        for (int w = 0; w < 10 && place_words[i].words[w] != NULL; w++)
            if (strncmp(place_words[i].words[w], q, n) == 0 ||
                strstr(q, place_words[i].words[w]) != NULL)
                return 1;
    }
    return 0;
}

void h_stops(rctx *c)
{
    char q[128] = "", fq[128] = "", lim[8] = "";
    int limit = 100;
    const area *a = c->s->area;
    json_t *arr, **places = NULL;

    if (c->n_param > 0) {
        intptr_t k = (intptr_t)svc_map_get(&c->s->core->stop_ids, c->param[0]);
        if (k <= 0) {
            rt_err(c, 404, "not_found", "no stop \"%s\"", c->param[0]);
            return;
        }
        rt_reply(c, 200, stop_json(&a->stops[k - 1]), NULL);
        return;
    }
    if (api_http_query_get(c->req, "q", q, sizeof(q)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "limit", lim, sizeof(lim)) == API_HTTP_EINVAL ||
        jt_fold_name(q, fq, sizeof(fq)) < 0) {
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
    /* the places that match, gathered per stop first */
    if (fq[0] && a->n_stops > 0 && (places = calloc((size_t)a->n_stops, sizeof(*places))) == NULL) {
        rt_err(c, 503, "unavailable", "out of memory; try again");
        return;
    }
    for (int i = 0; places != NULL && i < a->n_pois; i++) {
        const area_poi *p = &a->pois[i];
        if (p->stop < 0 || p->stop >= a->n_stops ||
            !(kind_matches(p->kind, fq) || text_matches(p->name, fq) ||
              (p->name_en != NULL && text_matches(p->name_en, fq))))
            continue;
        if (places[p->stop] == NULL)
            places[p->stop] = json_array();
        json_array_append_new(places[p->stop],
                              json_pack("{s:s,s:o,s:s}", "name", p->name ? p->name : "", "name_en",
                                        p->name_en ? json_string(p->name_en) : json_null(), "kind",
                                        p->kind));
    }
    arr = json_array();
    for (int k = 0; k < a->n_stops; k++) {
        const area_stop *st = &a->stops[k];
        json_t *o;
        if (fq[0] && places[k] == NULL && (q[0] == '\0' || strstr(st->id, q) == NULL) &&
            !text_matches(st->name, fq) && !text_matches(st->name_en, fq))
            continue;
        if ((int)json_array_size(arr) >= limit)
            continue; /* still walked to free the places */
        o = stop_json(st);
        if (places != NULL && places[k] != NULL) {
            json_object_set(o, "places", places[k]);
        }
        json_array_append_new(arr, o);
    }
    for (int k = 0; places != NULL && k < a->n_stops; k++)
        json_decref(places[k]);
    free(places);
    rt_reply(c, 200, json_pack("{s:o}", "stops", arr), NULL);
}
