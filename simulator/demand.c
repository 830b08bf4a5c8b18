/*
 * demand.c - the day's requests: generated from the area's residential zones
 * and points of interest, or replayed from a CSV of real requests.
 *
 * Generation (sim_demand_generate) imitates a rural demand-responsive
 * service: elderly riders going from home to the clinic, the hospital, the
 * supermarket, the station or city hall, most of them back home a few hours
 * later.  For each outbound trip, in this order:
 *   - a time t: an hour picked by the hourly profile times the part of that
 *     hour inside the service hours (so nothing falls outside them), then a
 *     uniform second within it;
 *   - the origin: a residential zone by weight, a uniform point in its disc,
 *     the nearest stop (a free point in areas without stops);
 *   - the destination: with poi_share a POI by weight (its stop), else a
 *     uniform stop; never the origin's stop;
 *   - how it is booked: the day before (prebooked_share; request made between
 *     09:00 and 18:00 the day before, "depart after t" or "arrive by" the
 *     next quarter hour after t + the direct drive), or on the day: "as soon
 *     as possible" (asap_share, request at t) or timed (requested 15 min to
 *     2 h ahead, plus the minimum lead);
 *   - party of 1, 2 or 3 (group shares), one wheelchair with wheelchair_share;
 *   - with return_share a return leg, booked in the same call: the same party
 *     from the destination home, departing after the outbound arrival plus
 *     1.5 to 4 h, kept only if that is at least 10 min before service end.
 * Trips are added until `trips` requests exist, so the count is exact and the
 * shares are close to (not exactly) the configured ones.
 *
 * Behaviour (decline, cancel and when, no-show) is drawn from a second
 * stream, four draws per request whatever the rates, so changing a rate
 * changes only those flags and never the trips themselves.  Both streams are
 * seeded from the scenario seed: same scenario and seed, same day.
 *
 * Replay (sim_demand_replay_read) reads a CSV through data/csv with the
 * scenario's column mapping.  Rows are checked strictly (a malformed value
 * stops the read with "file:line: column \"x\": ..."); rows that are well
 * formed but unusable - a point too far from every stop (or off the area's
 * bbox for crow-fly areas), a pickup time outside the service hours, pickup
 * and drop-off at the same stop - are skipped and counted.  Free points
 * (crow-fly) are kept as they are, even two equal ones: a short hop is still
 * a request someone made.
 *
 * Both results are sorted by request time, then id.  Cost: O(n log n) plus a
 * nearest-stop query per place.
 */
#include "simulator/sim.h"

#include "data/csv/csv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEG_M 111320.0 /* metres per degree of latitude (and of longitude at the equator) */
#define PI 3.14159265358979323846
#define BBOX_MARGIN_M 2000.0   /* crow-fly replay: points this far outside the bbox still count */
#define RETURN_MIN_S (90 * 60) /* return legs depart 1.5 to 4 h after the outbound arrival */
#define RETURN_MAX_S (240 * 60)
#define RETURN_LATEST_S (10 * 60) /* ...and at least this long before service end */

static const uint64_t STREAM_TRIPS = 0x7472697073ull;  /* "trips" */
static const uint64_t STREAM_BEHAVE = 0x6265686176ull; /* "behav" */

void sim_demand_cleanup(sim_demand *d)
{
    if (d == NULL)
        return;
    for (int i = 0; i < d->n; i++)
        free(d->req[i].id);
    free(d->req);
    memset(d, 0, sizeof(*d));
}

void sim_place_travel(const area *a, const sim_place *from, const sim_place *to, int32_t *time_s,
                      int32_t *dist_m)
{
    if (from->stop >= 0 && to->stop >= 0 && from->stop < a->n_stops && to->stop < a->n_stops) {
        area_travel(a, from->stop, to->stop, time_s, dist_m);
        return;
    }
    net_crowfly_travel(&a->crowfly, from->lat, from->lon, to->lat, to->lon, time_s, dist_m);
}

static int cmp_request(const void *pa, const void *pb)
{
    const sim_request *a = pa, *b = pb;

    if (a->request_s != b->request_s)
        return a->request_s < b->request_s ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* A growable request array, capped at SIM_MAX_REQUESTS. */
static int push_request(sim_demand *d, int *cap, const sim_request *r)
{
    if (d->n == *cap) {
        int ncap = *cap ? *cap * 2 : 256;
        sim_request *nr;
        if (ncap > SIM_MAX_REQUESTS)
            ncap = SIM_MAX_REQUESTS;
        if (d->n >= ncap)
            return SIM_EDEMAND;
        nr = realloc(d->req, (size_t)ncap * sizeof(*nr));
        if (nr == NULL)
            return SIM_ENOMEM;
        d->req = nr;
        *cap = ncap;
    }
    d->req[d->n++] = *r;
    return 0;
}

/* Draws decline / cancel / no-show from the behaviour stream: always four
 * draws.  pickup_est_s is when the pickup is expected, for the cancel time. */
static void draw_behaviour(sim_rng *rb, const sim_disruptions *dis, int pickup_est_s,
                           sim_request *r)
{
    double u_decline = sim_rng_uniform(rb), u_cancel = sim_rng_uniform(rb);
    double u_when = sim_rng_uniform(rb), u_noshow = sim_rng_uniform(rb);
    int span;

    r->will_decline = u_decline < dis->decline_rate;
    r->will_cancel = !r->will_decline && u_cancel < dis->cancel_rate;
    r->will_no_show = !r->will_decline && !r->will_cancel && u_noshow < dis->no_show_rate;
    /* Cancelled between the confirmation (a minute after the request) and
     * the expected pickup. */
    span = pickup_est_s - r->request_s - 60;
    r->cancel_s = r->request_s + 60 + (span > 0 ? (int)(u_when * span) : 0);
    if (!r->will_cancel)
        r->cancel_s = -1;
}

static int pickup_estimate(const sim_scenario *s, const sim_request *r, int direct_s)
{
    switch (r->when) {
    case SIM_DEPART_AFTER:
        return r->desired_s;
    case SIM_ARRIVE_BY:
        return r->desired_s - direct_s;
    default:
        return r->request_s + s->service.max_wait_s / 2;
    }
}

/* ------------------------------------------------------------------------ */
/* Generation                                                               */

typedef struct gen_ctx {
    const sim_scenario *s;
    const area *a;
    sim_rng rt, rb;
    double slot_w[48]; /* weight of each hour of the (up to 48 h) day */
    double *zone_w, *poi_w;
    int free_points; /* the area has no stops */
} gen_ctx;

/* A uniform second of the service day, shaped by the hourly profile. */
static int draw_time(gen_ctx *g)
{
    const sim_service *sv = &g->s->service;
    int h = sim_rng_pick(&g->rt, g->slot_w, 48);
    int lo = h * 3600, hi = (h + 1) * 3600;

    if (lo < sv->start_s)
        lo = sv->start_s;
    if (hi > sv->end_s)
        hi = sv->end_s;
    return lo + sim_rng_below(&g->rt, hi - lo);
}

static void set_stop(gen_ctx *g, sim_place *p, int stop)
{
    p->stop = stop;
    p->lat = g->a->stops[stop].lat;
    p->lon = g->a->stops[stop].lon;
}

/* A uniform point in a disc of radius_m around (lat, lon). */
static void point_in_disc(sim_rng *r, double lat, double lon, double radius_m, double *plat,
                          double *plon)
{
    double rr = radius_m * sqrt(sim_rng_uniform(r));
    double th = 2 * PI * sim_rng_uniform(r);
    double coslat = cos(lat * PI / 180);

    *plat = lat + rr * cos(th) / DEG_M;
    *plon = lon + rr * sin(th) / (DEG_M * (coslat > 0.01 ? coslat : 0.01));
}

/* A free point or a uniform stop anywhere in the area. */
static void draw_anywhere(gen_ctx *g, sim_place *p)
{
    const area *a = g->a;

    if (!g->free_points) {
        set_stop(g, p, sim_rng_below(&g->rt, a->n_stops));
        return;
    }
    p->stop = -1;
    p->lat = a->bbox[1] + sim_rng_uniform(&g->rt) * (a->bbox[3] - a->bbox[1]);
    p->lon = a->bbox[0] + sim_rng_uniform(&g->rt) * (a->bbox[2] - a->bbox[0]);
}

static void draw_home(gen_ctx *g, sim_place *p)
{
    const area *a = g->a;
    int z = a->n_zones > 0 ? sim_rng_pick(&g->rt, g->zone_w, a->n_zones) : -1;
    double lat, lon, dist_m;

    if (z < 0) {
        draw_anywhere(g, p);
        return;
    }
    point_in_disc(&g->rt, a->zones[z].lat, a->zones[z].lon, a->zones[z].radius_m, &lat, &lon);
    if (g->free_points) {
        p->stop = -1;
        p->lat = lat;
        p->lon = lon;
        return;
    }
    set_stop(g, p, area_nearest_stop(a, lat, lon, &dist_m));
}

static void draw_destination(gen_ctx *g, sim_place *p)
{
    const area *a = g->a;
    int k = -1;

    if (a->n_pois > 0 && sim_rng_uniform(&g->rt) < g->s->gen.poi_share)
        k = sim_rng_pick(&g->rt, g->poi_w, a->n_pois);
    if (k < 0) {
        draw_anywhere(g, p);
        return;
    }
    if (!g->free_points && a->pois[k].stop >= 0 && a->pois[k].stop < a->n_stops) {
        set_stop(g, p, a->pois[k].stop);
        return;
    }
    p->stop = -1;
    p->lat = a->pois[k].lat;
    p->lon = a->pois[k].lon;
    if (!g->free_points) {
        double dist_m;
        set_stop(g, p, area_nearest_stop(a, p->lat, p->lon, &dist_m));
    }
}

static int same_place(const sim_place *a, const sim_place *b)
{
    if (a->stop >= 0 || b->stop >= 0)
        return a->stop == b->stop;
    return a->lat == b->lat && a->lon == b->lon;
}

static int add_generated(gen_ctx *g, sim_demand *d, int *cap, sim_request *r, int pickup_est_s)
{
    int rc;

    draw_behaviour(&g->rb, &g->s->dis, pickup_est_s, r);
    rc = push_request(d, cap, r);
    if (rc < 0)
        free(r->id);
    return rc;
}

int sim_demand_generate(const sim_scenario *s, const area *a, sim_demand *out, char *err,
                        size_t err_len)
{
    const sim_demand_gen *gp = &s->gen;
    const sim_service *sv = &s->service;
    gen_ctx g;
    double slot_sum = 0;
    int cap = 0, n_out = 0, rc = 0;

    memset(out, 0, sizeof(*out));
    memset(&g, 0, sizeof(g));
    if (s == NULL || a == NULL)
        return SIM_EINVAL;
    g.s = s;
    g.a = a;
    g.free_points = a->n_stops == 0;
    if (g.free_points && !(a->bbox[2] > a->bbox[0] && a->bbox[3] > a->bbox[1] &&
                           a->bbox[2] - a->bbox[0] < 10 && a->bbox[3] - a->bbox[1] < 10)) {
        snprintf(err, err_len,
                 "%s: generated demand in an area without stops needs a bounding box of at most "
                 "10 degrees (area.crowfly.bbox)",
                 s->path ? s->path : "scenario");
        return SIM_EDEMAND;
    }
    for (int h = 0; h < 48; h++) {
        int lo = h * 3600 > sv->start_s ? h * 3600 : sv->start_s;
        int hi = (h + 1) * 3600 < sv->end_s ? (h + 1) * 3600 : sv->end_s;
        g.slot_w[h] = hi > lo ? gp->hourly[h % 24] * (hi - lo) / 3600.0 : 0;
        slot_sum += g.slot_w[h];
    }
    if (gp->trips > 0 && slot_sum <= 0) {
        snprintf(err, err_len,
                 "%s: demand.generated.hourly gives no weight to any hour of the service hours",
                 s->path ? s->path : "scenario");
        return SIM_EDEMAND;
    }
    g.zone_w = malloc(((size_t)a->n_zones + 1) * sizeof(double));
    g.poi_w = malloc(((size_t)a->n_pois + 1) * sizeof(double));
    if (g.zone_w == NULL || g.poi_w == NULL) {
        rc = SIM_ENOMEM;
        goto out;
    }
    for (int i = 0; i < a->n_zones; i++)
        g.zone_w[i] = a->zones[i].weight;
    for (int i = 0; i < a->n_pois; i++)
        g.poi_w[i] = a->pois[i].weight;
    sim_rng_seed(&g.rt, s->seed ^ STREAM_TRIPS);
    sim_rng_seed(&g.rb, s->seed ^ STREAM_BEHAVE);

    while (rc == 0 && out->n < gp->trips) {
        sim_request r, back;
        int32_t direct_s, dist_m;
        int t = draw_time(&g), arrive_s, tries = 0;
        double u_book, u_when, u_group, u_wc, u_ret;
        char id[32];

        memset(&r, 0, sizeof(r));
        draw_home(&g, &r.pickup);
        do {
            draw_destination(&g, &r.drop);
        } while (same_place(&r.pickup, &r.drop) && ++tries < 20);
        if (same_place(&r.pickup, &r.drop) && !g.free_points && a->n_stops > 1)
            set_stop(&g, &r.drop, (r.pickup.stop + 1) % a->n_stops);
        sim_place_travel(a, &r.pickup, &r.drop, &direct_s, &dist_m);

        u_book = sim_rng_uniform(&g.rt);
        u_when = sim_rng_uniform(&g.rt);
        u_group = sim_rng_uniform(&g.rt);
        u_wc = sim_rng_uniform(&g.rt);
        r.prebooked = sv->max_lead_days >= 1 && u_book < gp->prebooked_share;
        if (r.prebooked) {
            r.request_s = -86400 + 9 * 3600 + sim_rng_below(&g.rt, 9 * 3600);
            r.when = u_when < gp->arrive_by_share ? SIM_ARRIVE_BY : SIM_DEPART_AFTER;
        } else if (u_when < gp->asap_share) {
            r.when = SIM_ASAP;
            r.request_s = t;
        } else {
            int lead = sv->min_lead_s + 15 * 60 + sim_rng_below(&g.rt, 105 * 60);
            /* the rest of the timed requests split like the prebooked ones */
            double u_kind = (u_when - gp->asap_share) / (1 - gp->asap_share);
            r.when = u_kind < gp->arrive_by_share ? SIM_ARRIVE_BY : SIM_DEPART_AFTER;
            r.request_s = t - lead > 0 ? t - lead : 0;
        }
        if (r.when == SIM_ARRIVE_BY)
            r.desired_s = (t + direct_s + 899) / 900 * 900; /* appointments on the quarter hour */
        else
            r.desired_s = t;
        arrive_s = r.when == SIM_ARRIVE_BY ? r.desired_s : t + direct_s;
        r.passengers = u_group < gp->group3_share                      ? 3
                       : u_group < gp->group3_share + gp->group2_share ? 2
                                                                       : 1;
        r.wheelchairs = u_wc < gp->wheelchair_share;

        n_out++;
        snprintf(id, sizeof(id), "R%04d", n_out);
        if ((r.id = strdup(id)) == NULL) {
            rc = SIM_ENOMEM;
            break;
        }
        back = r;
        if ((rc = add_generated(&g, out, &cap, &r, pickup_estimate(s, &r, direct_s))) < 0)
            break;

        /* The return leg, booked in the same call. */
        u_ret = sim_rng_uniform(&g.rt);
        back.desired_s =
            arrive_s + RETURN_MIN_S + sim_rng_below(&g.rt, RETURN_MAX_S - RETURN_MIN_S);
        back.desired_s = back.desired_s / 60 * 60;
        if (out->n >= gp->trips || u_ret >= gp->return_share ||
            back.desired_s > sv->end_s - RETURN_LATEST_S)
            continue;
        back.pickup = r.drop;
        back.drop = r.pickup;
        back.when = SIM_DEPART_AFTER;
        back.request_s = r.request_s + 30;
        back.is_return = 1;
        snprintf(id, sizeof(id), "R%04d-back", n_out);
        if ((back.id = strdup(id)) == NULL) {
            rc = SIM_ENOMEM;
            break;
        }
        rc = add_generated(&g, out, &cap, &back, back.desired_s);
    }
    if (rc == 0 && out->n > 1)
        qsort(out->req, (size_t)out->n, sizeof(*out->req), cmp_request);

out:
    free(g.zone_w);
    free(g.poi_w);
    if (rc < 0) {
        sim_demand_cleanup(out);
        snprintf(err, err_len, "%s: generating demand: %s", s->path ? s->path : "scenario",
                 sim_strerror(rc));
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Replay                                                                   */

typedef struct stop_key {
    const char *id;
    int stop;
} stop_key;

typedef struct replay_ctx {
    const sim_scenario *s;
    const area *a;
    csv_reader *csv;
    char *err;
    size_t err_len;
    /* column indices, -1 absent */
    int c_id, c_time, c_olat, c_olon, c_dlat, c_dlon, c_ostop, c_dstop, c_pass, c_wc, c_desired;
    int fmt;   /* 0 datetime, 1 hms, 2 seconds */
    long day0; /* datetime: day number of the first row's date */
    int have_day0;
    char **hdr; /* header names, trimmed copies */
    int n_hdr;
    stop_key *stop_order; /* stops sorted by id, for stop-id columns */
    double bbox[4];       /* crow-fly: accepted points (bbox grown by the margin) */
    int check_bbox;
} replay_ctx;

static int rfail(replay_ctx *c, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "file:line: column \"x\": msg" */
static int rfail(replay_ctx *c, int col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (col >= 0)
        snprintf(c->err, c->err_len, "%s:%d: column \"%s\": %s", csv_name(c->csv), csv_line(c->csv),
                 c->hdr[col], msg);
    else
        snprintf(c->err, c->err_len, "%s:%d: %s", csv_name(c->csv), csv_line(c->csv), msg);
    return SIM_EDEMAND;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's formula). */
static long days_from_civil(long y, int m, int d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD HH:MM[:SS]" (or a 'T' between): day number and seconds. */
static int parse_datetime(const char *s, long *day, int *sec)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, tod;
    size_t len;

    while (*s == ' ')
        s++;
    len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        len--;
    if (len < 16 || len > 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T'))
        return -1;
    if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return -1;
    {
        char clock[9];
        memcpy(clock, s + 11, len - 11);
        clock[len - 11] = '\0';
        if (sim_parse_clock(clock, &tod) < 0 || tod >= 86400)
            return -1;
    }
    *day = days_from_civil(y, mo, d);
    *sec = tod;
    return 0;
}

/* A time field in the replay's format, as seconds of the service day. */
static int parse_time(replay_ctx *c, int col, int *out_s)
{
    const char *f = csv_field(c->csv, col);
    double x;
    long day;
    int sec;

    if (c->fmt == 0) {
        if (parse_datetime(f, &day, &sec) < 0)
            return rfail(c, col, "\"%s\" is not a date and time YYYY-MM-DD HH:MM:SS", f);
        if (!c->have_day0) {
            c->day0 = day;
            c->have_day0 = 1;
        }
        if (day - c->day0 < -1 || day - c->day0 > 1)
            return rfail(c, col, "\"%s\" is more than a day away from the first row's date", f);
        *out_s = (int)(day - c->day0) * 86400 + sec;
        return 0;
    }
    if (c->fmt == 1) {
        char buf[16];
        size_t n = strlen(f);
        while (*f == ' ')
            f++, n--;
        while (n > 0 && f[n - 1] == ' ')
            n--;
        if (n >= sizeof(buf))
            return rfail(c, col, "\"%s\" is not a time of day HH:MM[:SS]", csv_field(c->csv, col));
        memcpy(buf, f, n);
        buf[n] = '\0';
        if (sim_parse_clock(buf, &sec) < 0)
            return rfail(c, col, "\"%s\" is not a time of day HH:MM[:SS]", buf);
        *out_s = sec;
        return 0;
    }
    if (csv_parse_double(f, -86400, 2 * 86400, &x) < 0)
        return rfail(c, col, "\"%s\" is not a number of seconds in [-86400, 172800]", f);
    *out_s = (int)lround(x);
    return 0;
}

static int cmp_stop_key(const void *pa, const void *pb)
{
    return strcmp(((const stop_key *)pa)->id, ((const stop_key *)pb)->id);
}

static int find_stop(const replay_ctx *c, const char *id)
{
    int lo = 0, hi = c->a->n_stops - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int k = strcmp(c->stop_order[mid].id, id);
        if (k == 0)
            return c->stop_order[mid].stop;
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* One end of a trip as written: a stop id, or a point with stop -1. */
static int parse_place(replay_ctx *c, int c_lat, int c_lon, int c_stop, sim_place *p)
{
    const area *a = c->a;
    const char *f;

    if (c_stop >= 0 && *(f = csv_field(c->csv, c_stop)) != '\0') {
        int k = a->n_stops > 0 ? find_stop(c, f) : -1;
        if (k < 0)
            return rfail(c, c_stop, "\"%s\" is not a stop of area \"%s\"", f,
                         a->name ? a->name : "");
        p->stop = k;
        p->lat = a->stops[k].lat;
        p->lon = a->stops[k].lon;
        return 0;
    }
    if (c_lat < 0)
        return rfail(c, c_stop, "is empty and there are no latitude/longitude columns");
    if (csv_parse_double(csv_field(c->csv, c_lat), -90, 90, &p->lat) < 0)
        return rfail(c, c_lat, "\"%s\" is not a latitude in [-90, 90]", csv_field(c->csv, c_lat));
    if (csv_parse_double(csv_field(c->csv, c_lon), -180, 180, &p->lon) < 0)
        return rfail(c, c_lon, "\"%s\" is not a longitude in [-180, 180]",
                     csv_field(c->csv, c_lon));
    p->stop = -1;
    return 0;
}

/* A point onto the area: its nearest stop, or (no stops) kept free if
 * inside the grown bbox.  0, or 1 if the row is to be skipped. */
static int snap_place(replay_ctx *c, sim_place *p)
{
    const area *a = c->a;
    double dist_m;

    if (p->stop >= 0)
        return 0;
    if (a->n_stops == 0)
        return c->check_bbox && (p->lon < c->bbox[0] || p->lat < c->bbox[1] ||
                                 p->lon > c->bbox[2] || p->lat > c->bbox[3]);
    p->stop = area_nearest_stop(a, p->lat, p->lon, &dist_m);
    if (p->stop < 0 || dist_m > c->s->service.max_snap_m)
        return 1;
    p->lat = a->stops[p->stop].lat;
    p->lon = a->stops[p->stop].lon;
    return 0;
}

/* Column index of a mapped name, or an error naming the mapping and the header. */
static int find_column(replay_ctx *c, const char *name, const char *field, int *col)
{
    char list[600] = "";
    size_t used = 0;

    *col = -1;
    if (name == NULL)
        return 0;
    for (int i = 0; i < c->n_hdr; i++) {
        if (strcmp(c->hdr[i], name) != 0)
            continue;
        if (*col >= 0) {
            snprintf(c->err, c->err_len, "%s:%d: column \"%s\" appears twice in the header",
                     csv_name(c->csv), csv_line(c->csv), name);
            return SIM_EDEMAND;
        }
        *col = i;
    }
    if (*col >= 0)
        return 0;
    for (int i = 0; i < c->n_hdr && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "", c->hdr[i]);
    snprintf(c->err, c->err_len,
             "%s:%d: no column \"%s\" (demand.replay.columns.%s in %s); the header has: %s",
             csv_name(c->csv), csv_line(c->csv), name, field,
             c->s->path ? c->s->path : "the scenario", list);
    return SIM_EDEMAND;
}

/* The first row, kept as trimmed copies: messages name columns by it. */
static int read_header(replay_ctx *c)
{
    int rc = csv_next(c->csv, c->err, c->err_len);

    if (rc == 0) {
        snprintf(c->err, c->err_len, "%s: empty file (a header row is expected)", csv_name(c->csv));
        return SIM_EDEMAND;
    }
    if (rc < 0)
        return rc;
    c->hdr = calloc((size_t)csv_n_fields(c->csv), sizeof(*c->hdr));
    if (c->hdr == NULL)
        return SIM_ENOMEM;
    for (int i = 0; i < csv_n_fields(c->csv); i++) {
        const char *f = csv_field(c->csv, i);
        size_t n;
        while (*f == ' ' || *f == '\t')
            f++;
        n = strlen(f);
        while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
            n--;
        if ((c->hdr[i] = strndup(f, n)) == NULL)
            return SIM_ENOMEM;
        c->n_hdr = i + 1;
    }
    return 0;
}

static int cmp_id_ptr(const void *pa, const void *pb)
{
    return strcmp((*(const sim_request *const *)pa)->id, (*(const sim_request *const *)pb)->id);
}

/* Ids must be unique: a replayed id is how outputs are matched to the file. */
static int check_unique_ids(const sim_demand *d, const char *path, char *err, size_t err_len)
{
    const sim_request **by_id;
    int rc = 0;

    if (d->n < 2)
        return 0;
    by_id = malloc((size_t)d->n * sizeof(*by_id));
    if (by_id == NULL)
        return SIM_ENOMEM;
    for (int i = 0; i < d->n; i++)
        by_id[i] = &d->req[i];
    qsort(by_id, (size_t)d->n, sizeof(*by_id), cmp_id_ptr);
    for (int i = 1; i < d->n && rc == 0; i++) {
        if (strcmp(by_id[i]->id, by_id[i - 1]->id) == 0) {
            snprintf(err, err_len, "%s: request id \"%s\" appears twice", path, by_id[i]->id);
            rc = SIM_EDEMAND;
        }
    }
    free(by_id);
    return rc;
}

static int read_row(replay_ctx *c, sim_rng *rb, int row, sim_request *r, int *skip)
{
    const sim_service *sv = &c->s->service;
    const sim_demand_replay *rp = &c->s->replay;
    int need = c->c_time, rc, t_pick;
    long v;
    char id[32];
    const char *f;

    memset(r, 0, sizeof(*r));
    *skip = 0;
    /* Every mapped column must be present in the row. */
    {
        const int cols[] = {c->c_id,    c->c_time,  c->c_olat, c->c_olon, c->c_dlat,   c->c_dlon,
                            c->c_ostop, c->c_dstop, c->c_pass, c->c_wc,   c->c_desired};
        for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
            if (cols[k] > need)
                need = cols[k];
        if (csv_n_fields(c->csv) <= need)
            return rfail(c, -1, "%d fields, but column \"%s\" is number %d", csv_n_fields(c->csv),
                         c->hdr[need], need + 1);
    }
    if ((rc = parse_time(c, c->c_time, &r->request_s)) < 0)
        return rc;
    r->when = SIM_ASAP;
    r->desired_s = r->request_s;
    if (c->c_desired >= 0 && *csv_field(c->csv, c->c_desired) != '\0') {
        if ((rc = parse_time(c, c->c_desired, &r->desired_s)) < 0)
            return rc;
        if (r->desired_s < r->request_s)
            return rfail(c, c->c_desired, "the desired time is before the request time");
        r->when = SIM_DEPART_AFTER;
    }
    if (rp->time_scale != 1.0) {
        r->request_s = sv->start_s + (int)lround((r->request_s - sv->start_s) * rp->time_scale);
        r->desired_s = sv->start_s + (int)lround((r->desired_s - sv->start_s) * rp->time_scale);
    }
    r->prebooked = r->request_s < 0;
    r->passengers = 1;
    if (c->c_pass >= 0) {
        f = csv_field(c->csv, c->c_pass);
        if (csv_parse_long(f, 1, 50, &v) < 0)
            return rfail(c, c->c_pass, "\"%s\" is not a number of passengers in [1, 50]", f);
        r->passengers = (int)v;
    }
    if (c->c_wc >= 0) {
        f = csv_field(c->csv, c->c_wc);
        if (csv_parse_long(f, 0, r->passengers, &v) < 0)
            return rfail(c, c->c_wc, "\"%s\" is not a number of wheelchairs in [0, %d]", f,
                         r->passengers);
        r->wheelchairs = (int)v;
    }
    if ((rc = parse_place(c, c->c_olat, c->c_olon, c->c_ostop, &r->pickup)) < 0 ||
        (rc = parse_place(c, c->c_dlat, c->c_dlon, c->c_dstop, &r->drop)) < 0)
        return rc;
    if (c->c_id >= 0) {
        f = csv_field(c->csv, c->c_id);
        if (*f == '\0' || strlen(f) > 64 || !csv_utf8_valid(f))
            return rfail(c, c->c_id, "an id must be 1 to 64 bytes of UTF-8");
    }
    /* The row is well formed; now whether it is usable. */
    if (snap_place(c, &r->pickup) || snap_place(c, &r->drop)) {
        *skip = 1; /* too far from every stop / off the area */
        return 0;
    }
    t_pick = r->when == SIM_ASAP ? r->request_s : r->desired_s;
    if (t_pick < sv->start_s || t_pick >= sv->end_s) {
        *skip = 2;
        return 0;
    }
    if (r->pickup.stop >= 0 && r->pickup.stop == r->drop.stop) {
        *skip = 3; /* both ends snap to one stop: nothing to drive */
        return 0;
    }
    if (c->c_id >= 0) {
        r->id = strdup(csv_field(c->csv, c->c_id));
    } else {
        snprintf(id, sizeof(id), "row%d", row);
        r->id = strdup(id);
    }
    if (r->id == NULL)
        return SIM_ENOMEM;
    {
        int32_t direct_s, dist_m;
        sim_place_travel(c->a, &r->pickup, &r->drop, &direct_s, &dist_m);
        draw_behaviour(rb, &c->s->dis, pickup_estimate(c->s, r, direct_s), r);
    }
    return 0;
}

int sim_demand_replay_read(const sim_scenario *s, const area *a, sim_demand *out, char *err,
                           size_t err_len)
{
    const sim_demand_replay *rp = &s->replay;
    replay_ctx c;
    sim_rng rb;
    int cap = 0, rc, row = 0;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    if (s == NULL || a == NULL || !s->demand_is_replay || rp->path == NULL || rp->col_time == NULL)
        return SIM_EINVAL;
    c.s = s;
    c.a = a;
    c.err = err;
    c.err_len = err_len;
    c.fmt = rp->time_format == NULL || strcmp(rp->time_format, "datetime") == 0 ? 0
            : strcmp(rp->time_format, "hms") == 0                               ? 1
                                                                                : 2;
    if (a->n_stops == 0 && a->bbox[2] > a->bbox[0] && a->bbox[3] > a->bbox[1] &&
        (a->bbox[2] - a->bbox[0] < 360 || a->bbox[3] - a->bbox[1] < 180)) {
        double mid = (a->bbox[1] + a->bbox[3]) / 2, coslat = cos(mid * PI / 180);
        double dlat = BBOX_MARGIN_M / DEG_M, dlon = BBOX_MARGIN_M / (DEG_M * fmax(coslat, 0.01));
        c.bbox[0] = a->bbox[0] - dlon;
        c.bbox[1] = a->bbox[1] - dlat;
        c.bbox[2] = a->bbox[2] + dlon;
        c.bbox[3] = a->bbox[3] + dlat;
        c.check_bbox = 1;
    }

    rc = csv_open_file(rp->path, &c.csv, err, err_len);
    if (rc == CSV_EOPEN) {
        rc = SIM_EOPEN;
        goto out;
    }
    if (rc < 0 || (rc = read_header(&c)) < 0) {
        rc = rc == CSV_ENOMEM || rc == SIM_ENOMEM ? SIM_ENOMEM : SIM_EDEMAND;
        goto out;
    }
    if ((rc = find_column(&c, rp->col_id, "id", &c.c_id)) < 0 ||
        (rc = find_column(&c, rp->col_time, "request_time", &c.c_time)) < 0 ||
        (rc = find_column(&c, rp->col_o_lat, "pickup_lat", &c.c_olat)) < 0 ||
        (rc = find_column(&c, rp->col_o_lon, "pickup_lon", &c.c_olon)) < 0 ||
        (rc = find_column(&c, rp->col_d_lat, "drop_lat", &c.c_dlat)) < 0 ||
        (rc = find_column(&c, rp->col_d_lon, "drop_lon", &c.c_dlon)) < 0 ||
        (rc = find_column(&c, rp->col_o_stop, "pickup_stop", &c.c_ostop)) < 0 ||
        (rc = find_column(&c, rp->col_d_stop, "drop_stop", &c.c_dstop)) < 0 ||
        (rc = find_column(&c, rp->col_passengers, "passengers", &c.c_pass)) < 0 ||
        (rc = find_column(&c, rp->col_wheelchairs, "wheelchairs", &c.c_wc)) < 0 ||
        (rc = find_column(&c, rp->col_desired, "desired_time", &c.c_desired)) < 0)
        goto out;
    if ((c.c_ostop >= 0 || c.c_dstop >= 0) && a->n_stops > 0) {
        c.stop_order = malloc((size_t)a->n_stops * sizeof(*c.stop_order));
        if (c.stop_order == NULL) {
            rc = SIM_ENOMEM;
            goto out;
        }
        for (int i = 0; i < a->n_stops; i++) {
            c.stop_order[i].id = a->stops[i].id;
            c.stop_order[i].stop = i;
        }
        qsort(c.stop_order, (size_t)a->n_stops, sizeof(*c.stop_order), cmp_stop_key);
    }

    sim_rng_seed(&rb, s->seed ^ STREAM_BEHAVE);
    while ((rp->limit == 0 || row < rp->limit) && (rc = csv_next(c.csv, err, err_len)) > 0) {
        sim_request r;
        int skip;
        row++;
        if ((rc = read_row(&c, &rb, row, &r, &skip)) < 0)
            goto out;
        if (skip) {
            out->skipped++;
            out->skipped_far += skip == 1;
            out->skipped_hours += skip == 2;
            continue;
        }
        if ((rc = push_request(out, &cap, &r)) < 0) {
            free(r.id);
            if (rc == SIM_EDEMAND)
                snprintf(err, err_len, "%s: more than %d requests", rp->path, SIM_MAX_REQUESTS);
            goto out;
        }
    }
    if (rc < 0) {
        rc = rc == CSV_ENOMEM ? SIM_ENOMEM : SIM_EDEMAND;
        goto out;
    }
    rc = 0;
    if (out->n > 1)
        qsort(out->req, (size_t)out->n, sizeof(*out->req), cmp_request);
    rc = check_unique_ids(out, rp->path, err, err_len);

out:
    if (rc == SIM_ENOMEM)
        snprintf(err, err_len, "%s: out of memory", rp->path);
    csv_destroy(c.csv);
    free(c.stop_order);
    for (int i = 0; i < c.n_hdr; i++)
        free(c.hdr[i]);
    free(c.hdr);
    if (rc < 0)
        sim_demand_cleanup(out);
    return rc;
}
