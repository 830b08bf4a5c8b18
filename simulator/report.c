/*
 * report.c - what a simulated day leaves behind: the KPIs, trips.csv,
 * stops.csv, kpis.json, report.html, and a sweep's table.
 *
 * KPIs are computed from the result alone (trips and stop records), with the
 * definitions stated in sim.h; one table (kpi_table) names them, in order,
 * for kpis.json, the sweep CSV and the report's table, so the three always
 * agree.
 *
 * CSV files follow RFC 4180 (fields with commas, quotes or line breaks are
 * quoted); times are seconds of the service day, empty where a value does not
 * apply (a rejected trip has no pickup).  Stop records are written per
 * vehicle in sequence order whatever order the engine produced them in.
 *
 * report.html is one self-contained UTF-8 page: inline CSS and SVG, no
 * scripts, no fonts or images fetched, so it opens offline and can be mailed
 * as it is.  Charts: trips by hour and outcome (stacked bars), waiting and
 * ride-time histograms, riders on board and vans on duty over the day, a map
 * of stops, points of interest, depots and pickup density (a grid shaded by
 * count; with thousands of free points a grid stays readable where dots
 * would not).  The map projects longitude scaled by cos(latitude) so shapes
 * keep their proportions at the area's latitude.
 *
 * Cost: O(trips + stops log stops); the page grows with the number of stops
 * and POIs only (pickups are binned), so a 20,000-request replay still gives
 * a small file.
 */
#include "simulator/sim.h"
#include "solver/errf.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------ */
/* KPIs                                                                     */

typedef struct kpi_def {
    const char *name;
    size_t offset;
    int is_int;
    const char *what; /* for the report's table */
} kpi_def;

#define KI(f, what)                                                                                \
    {                                                                                              \
#f, offsetof(sim_kpis, f), 1, what                                                         \
    }
#define KD(f, what)                                                                                \
    {                                                                                              \
#f, offsetof(sim_kpis, f), 0, what                                                         \
    }

static const kpi_def kpi_table[] = {
    KI(requests, "requests in the day"),
    KI(served, "trips completed (dropped off)"),
    KI(rejected, "requests with no feasible offer"),
    KI(expired, "offers not confirmed in time"),
    KI(cancelled, "cancelled by the rider after confirming"),
    KI(no_show, "rider not at the pickup"),
    KD(service_rate, "served / requests"),
    KD(wait_mean_s, "mean wait, s (pickup minus requested time)"),
    KD(wait_p50_s, "median wait, s"),
    KD(wait_p95_s, "95th percentile of the wait, s"),
    KD(wait_max_s, "longest wait, s"),
    KD(ride_time_mean_s, "mean time on board, s"),
    KD(ride_time_p95_s, "95th percentile of the time on board, s"),
    KD(detour_factor_mean, "mean ride time / direct drive time"),
    KD(promise_kept_share, "pickups inside the promised window"),
    KD(dropoff_kept_share, "drop-offs by the promised latest time"),
    KD(vehicle_km, "km driven by all vans"),
    KD(vehicle_hours, "hours on duty, all vans"),
    KI(vehicles_used, "vans that carried riders"),
    KI(passengers_served, "riders carried (party sizes)"),
    KD(passengers_per_vehicle_hour, "riders carried per van-hour"),
    KD(occupancy_mean, "riders on board per km driven (passenger-km / vehicle-km)"),
    KD(empty_km_share, "share of km driven with nobody on board"),
    KD(offer_ms_p50, "median time to answer a request, ms"),
    KD(offer_ms_p99, "99th percentile of the time to answer, ms"),
    KI(tablet_events, "driver reports checked by the service day's tablet rules"),
    KD(wall_s, "wall-clock time of the run, s"),
};

#define N_KPIS ((int)(sizeof(kpi_table) / sizeof(kpi_table[0])))

static double kpi_value(const sim_kpis *k, int i)
{
    const char *base = (const char *)k + kpi_table[i].offset;

    if (kpi_table[i].is_int)
        return *(const int *)(const void *)base;
    return *(const double *)(const void *)base;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;

    return a < b ? -1 : a > b;
}

/* Nearest-rank percentile of sorted x[0..n). */
static double percentile(const double *x, int n, double p)
{
    int k;

    if (n == 0)
        return 0;
    k = (int)ceil(p * n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return x[k];
}

static int is_served(const sim_trip *t)
{
    return strcmp(t->status, "dropped_off") == 0 && t->pickup_s >= 0 && t->dropoff_s >= 0;
}

/* The time a rider's wait counts from (sim.h). */
static int wait_reference(const sim_trip *t)
{
    switch (t->req->when) {
    case SIM_DEPART_AFTER:
        return t->req->desired_s;
    case SIM_ARRIVE_BY:
        return t->promise_from_s >= 0 ? t->promise_from_s : t->req->desired_s - t->direct_s;
    default:
        return t->req->request_s;
    }
}

/* The pickup time a rider asked for: the hour a trip is counted in. */
static int wanted_pickup(const sim_trip *t)
{
    switch (t->req->when) {
    case SIM_DEPART_AFTER:
        return t->req->desired_s;
    case SIM_ARRIVE_BY:
        return t->req->desired_s - t->direct_s;
    default:
        return t->req->request_s;
    }
}

static int cmp_stop_order(const void *pa, const void *pb, const sim_stop_rec *st)
{
    const sim_stop_rec *a = &st[*(const int *)pa], *b = &st[*(const int *)pb];

    if (a->vehicle != b->vehicle)
        return a->vehicle < b->vehicle ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (*(const int *)pa > *(const int *)pb) - (*(const int *)pa < *(const int *)pb);
}

/* Indices of r->stops by (vehicle, seq): a merge sort, as qsort cannot take
 * the records as context and a global would not be thread-safe. */
static void sort_stops(const sim_stop_rec *st, int *idx, int *tmp, int n)
{
    int h;

    if (n < 2)
        return;
    h = n / 2;
    sort_stops(st, idx, tmp, h);
    sort_stops(st, idx + h, tmp, n - h);
    for (int i = 0, j = h, k = 0; k < n; k++) {
        if (j >= n || (i < h && cmp_stop_order(&idx[i], &idx[j], st) <= 0))
            tmp[k] = idx[i++];
        else
            tmp[k] = idx[j++];
    }
    memcpy(idx, tmp, (size_t)n * sizeof(*idx));
}

static int *stop_order(const sim_result *r)
{
    int *idx = malloc(((size_t)r->n_stops + 1) * sizeof(int));
    int *tmp = malloc(((size_t)r->n_stops + 1) * sizeof(int));

    if (idx == NULL || tmp == NULL) {
        free(idx);
        free(tmp);
        return NULL;
    }
    for (int i = 0; i < r->n_stops; i++)
        idx[i] = i;
    sort_stops(r->stops, idx, tmp, r->n_stops);
    free(tmp);
    return idx;
}

void sim_kpis_compute(const sim_result *r, sim_kpis *k)
{
    double *wait = NULL, *ride = NULL, *offer = NULL;
    double wait_sum = 0, ride_sum = 0, detour_sum = 0, m_all = 0, m_empty = 0, pkm = 0;
    int n_wait = 0, n_offer = 0, n_detour = 0, n_prom = 0, kept = 0, n_drop = 0, drop_kept = 0;
    int *used = NULL, *order = NULL;

    memset(k, 0, sizeof(*k));
    k->requests = r->n_trips;
    k->wall_s = r->wall_s;
    k->promise_kept_share = 1;
    k->dropoff_kept_share = 1;
    wait = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    ride = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    offer = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    used = calloc((size_t)r->n_vehicles + 1, sizeof(int));
    order = stop_order(r);
    if (wait == NULL || ride == NULL || offer == NULL || used == NULL || order == NULL)
        goto out; /* counts stay zero; callers see requests without the rest */

    for (int i = 0; i < r->n_trips; i++) {
        const sim_trip *t = &r->trips[i];
        if (strcmp(t->status, "rejected") == 0)
            k->rejected++;
        else if (strcmp(t->status, "expired") == 0)
            k->expired++;
        else if (strcmp(t->status, "cancelled") == 0)
            k->cancelled++;
        else if (strcmp(t->status, "no_show") == 0)
            k->no_show++;
        if (t->offer_ms >= 0)
            offer[n_offer++] = t->offer_ms;
        if (!is_served(t))
            continue;
        k->served++;
        k->passengers_served += t->req->passengers;
        if (t->vehicle >= 0 && t->vehicle < r->n_vehicles)
            used[t->vehicle] = 1;
        wait[n_wait] = t->pickup_s - wait_reference(t);
        wait_sum += wait[n_wait];
        ride[n_wait] = t->dropoff_s - t->pickup_s;
        ride_sum += ride[n_wait];
        if (t->direct_s > 0) {
            detour_sum += ride[n_wait] / t->direct_s;
            n_detour++;
        }
        n_wait++;
        if (t->promise_from_s >= 0 && t->promise_to_s >= 0) {
            n_prom++;
            kept += t->pickup_s >= t->promise_from_s && t->pickup_s <= t->promise_to_s;
        }
        if (t->latest_dropoff_s >= 0) {
            n_drop++;
            drop_kept += t->dropoff_s <= t->latest_dropoff_s;
        }
    }
    qsort(wait, (size_t)n_wait, sizeof(double), cmp_double);
    qsort(ride, (size_t)n_wait, sizeof(double), cmp_double);
    qsort(offer, (size_t)n_offer, sizeof(double), cmp_double);
    if (n_wait > 0) {
        k->wait_mean_s = wait_sum / n_wait;
        k->ride_time_mean_s = ride_sum / n_wait;
        k->wait_max_s = wait[n_wait - 1];
    }
    k->wait_p50_s = percentile(wait, n_wait, 0.50);
    k->wait_p95_s = percentile(wait, n_wait, 0.95);
    k->ride_time_p95_s = percentile(ride, n_wait, 0.95);
    k->offer_ms_p50 = percentile(offer, n_offer, 0.50);
    k->offer_ms_p99 = percentile(offer, n_offer, 0.99);
    if (n_detour > 0)
        k->detour_factor_mean = detour_sum / n_detour;
    if (n_prom > 0)
        k->promise_kept_share = (double)kept / n_prom;
    if (n_drop > 0)
        k->dropoff_kept_share = (double)drop_kept / n_drop;
    if (k->requests > 0)
        k->service_rate = (double)k->served / k->requests;
    k->tablet_events = (int)r->tablet_events;
    for (int v = 0; v < r->n_vehicles; v++)
        k->vehicles_used += used[v];

    /* Distances: each drive carries the load the van left its previous stop with. */
    for (int i = 0; i < r->n_stops; i++) {
        const sim_stop_rec *s = &r->stops[order[i]];
        const sim_stop_rec *prev = i > 0 ? &r->stops[order[i - 1]] : NULL;
        double m = s->drive_m > 0 ? s->drive_m : 0;
        m_all += m;
        if (s->empty_drive)
            m_empty += m;
        if (prev != NULL && prev->vehicle == s->vehicle)
            pkm += m * (prev->seats_used + prev->wheelchairs_used);
    }
    k->vehicle_km = m_all / 1000;
    if (m_all > 0) {
        k->empty_km_share = m_empty / m_all;
        k->occupancy_mean = pkm / m_all;
    }
    for (int v = 0; v < r->n_vehicles; v++) {
        if (r->veh_first_s != NULL && r->veh_last_s != NULL && r->veh_first_s[v] >= 0 &&
            r->veh_last_s[v] > r->veh_first_s[v])
            k->vehicle_hours += (r->veh_last_s[v] - r->veh_first_s[v]) / 3600.0;
    }
    if (k->vehicle_hours > 0)
        k->passengers_per_vehicle_hour = k->passengers_served / k->vehicle_hours;

out:
    free(wait);
    free(ride);
    free(offer);
    free(used);
    free(order);
}

/* ------------------------------------------------------------------------ */
/* Small output helpers                                                     */

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char p[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return -1;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        p[i] = i < n ? '/' : '\0';
    }
    return 0;
}

/* A CSV field, quoted when it has to be. */
static void csv_put(FILE *f, const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* An integer field, empty when negative ("not applicable"). */
static void csv_time(FILE *f, int t)
{
    if (t >= 0)
        fprintf(f, "%d", t);
}

static const char *vehicle_name(const sim_result *r, int v, char *buf, size_t len)
{
    if (v < 0)
        return "";
    if (r->scn != NULL && v < r->scn->n_vehicles && r->scn->vehicles[v].id != NULL)
        return r->scn->vehicles[v].id;
    snprintf(buf, len, "v%d", v + 1);
    return buf;
}

static const char *stop_name(const sim_result *r, int stop)
{
    if (r->area != NULL && stop >= 0 && stop < r->area->n_stops && r->area->stops[stop].id != NULL)
        return r->area->stops[stop].id;
    return "";
}

static const char *when_name(sim_when w)
{
    return w == SIM_DEPART_AFTER ? "depart_after" : w == SIM_ARRIVE_BY ? "arrive_by" : "asap";
}

static int close_file(FILE *f, const char *path, char *err, size_t err_len)
{
    int bad = ferror(f);

    if (fclose(f) != 0 || bad)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: write failed: %s", path,
                        strerror(errno ? errno : EIO));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* trips.csv, stops.csv                                                     */

static int write_trips(const sim_result *r, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");
    char vb[32];

    if (f == NULL)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: cannot create: %s", path, strerror(errno));
    fputs("request_id,status,requested_s,promise_from_s,promise_to_s,pickup_s,dropoff_s,"
          "latest_dropoff_s,vehicle_id,passengers,wheelchairs,reason,when,desired_s,prebooked,"
          "is_return,direct_s,wait_s,ride_s,pickup_stop,pickup_lat,pickup_lon,drop_stop,drop_lat,"
          "drop_lon,offer_ms\n",
          f);
    for (int i = 0; i < r->n_trips; i++) {
        const sim_trip *t = &r->trips[i];
        const sim_request *q = t->req;
        int served = is_served(t);
        csv_put(f, q->id);
        fputc(',', f);
        csv_put(f, t->status);
        fprintf(f, ",%d,", q->request_s);
        csv_time(f, t->promise_from_s);
        fputc(',', f);
        csv_time(f, t->promise_to_s);
        fputc(',', f);
        csv_time(f, t->pickup_s);
        fputc(',', f);
        csv_time(f, t->dropoff_s);
        fputc(',', f);
        csv_time(f, t->latest_dropoff_s);
        fputc(',', f);
        csv_put(f, vehicle_name(r, t->vehicle, vb, sizeof(vb)));
        fprintf(f, ",%d,%d,", q->passengers, q->wheelchairs);
        csv_put(f, t->reason);
        fprintf(f, ",%s,%d,%d,%d,%d,", when_name(q->when), q->desired_s, q->prebooked, q->is_return,
                t->direct_s);
        if (served)
            fprintf(f, "%d,%d", t->pickup_s - wait_reference(t), t->dropoff_s - t->pickup_s);
        else
            fputc(',', f);
        fputc(',', f);
        csv_put(f, stop_name(r, q->pickup.stop));
        fprintf(f, ",%.6f,%.6f,", q->pickup.lat, q->pickup.lon);
        csv_put(f, stop_name(r, q->drop.stop));
        fprintf(f, ",%.6f,%.6f,", q->drop.lat, q->drop.lon);
        if (t->offer_ms >= 0)
            fprintf(f, "%.3f", t->offer_ms);
        fputc('\n', f);
    }
    return close_file(f, path, err, err_len);
}

static int write_stops(const sim_result *r, const int *order, const char *path, char *err,
                       size_t err_len)
{
    FILE *f = fopen(path, "w");
    char vb[32], loc[64];

    if (f == NULL)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: cannot create: %s", path, strerror(errno));
    fputs("vehicle_id,seq,location,arrival_s,departure_s,boarded,alighted,seats_used,"
          "wheelchairs_used,kind,lat,lon,drive_s,drive_m,empty_drive\n",
          f);
    for (int i = 0; i < r->n_stops; i++) {
        const sim_stop_rec *s = &r->stops[order[i]];
        csv_put(f, vehicle_name(r, s->vehicle, vb, sizeof(vb)));
        fprintf(f, ",%d,", s->seq);
        if (s->stop >= 0 && *stop_name(r, s->stop)) {
            csv_put(f, stop_name(r, s->stop));
        } else {
            snprintf(loc, sizeof(loc), "%.6f,%.6f", s->lat, s->lon);
            csv_put(f, loc);
        }
        fputc(',', f);
        csv_time(f, s->arrival_s);
        fputc(',', f);
        csv_time(f, s->departure_s);
        fputc(',', f);
        csv_put(f, s->boarded);
        fputc(',', f);
        csv_put(f, s->alighted);
        fprintf(f, ",%d,%d,", s->seats_used, s->wheelchairs_used);
        csv_put(f, s->kind);
        fprintf(f, ",%.6f,%.6f,%d,%d,%d\n", s->lat, s->lon, s->drive_s, s->drive_m, s->empty_drive);
    }
    return close_file(f, path, err, err_len);
}

/* ------------------------------------------------------------------------ */
/* kpis.json and the sweep table                                            */

static json_t *kpis_json(const sim_kpis *k, const char *name)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (name != NULL && json_object_set_new(o, "scenario", json_string(name)) < 0)
        goto fail;
    for (int i = 0; i < N_KPIS; i++) {
        double v = kpi_value(k, i);
        json_t *x = kpi_table[i].is_int ? json_integer((json_int_t)v)
                                        : json_real(isfinite(v) ? round(v * 1e4) / 1e4 : 0);
        if (json_object_set_new(o, kpi_table[i].name, x) < 0)
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

int sim_kpis_write_json(const sim_kpis *k, const char *name, const char *path, char *err,
                        size_t err_len)
{
    json_t *o = kpis_json(k, name);
    int rc = 0;

    if (o == NULL)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: out of memory", path);
    if (json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) !=
        0)
        rc = slv_errf(err, err_len, SIM_EWRITE, "%s: cannot write: %s", path,
                      strerror(errno ? errno : EIO));
    json_decref(o);
    return rc;
}

int sim_sweep_write_csv(const char *path, const char *param, const double *values,
                        const sim_kpis *kpis, int n, char *err, size_t err_len)
{
    FILE *f;

    if (path == NULL || param == NULL || n < 0 || (n > 0 && (values == NULL || kpis == NULL)))
        return SIM_EINVAL;
    if ((f = fopen(path, "w")) == NULL)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: cannot create: %s", path, strerror(errno));
    csv_put(f, param);
    for (int i = 0; i < N_KPIS; i++)
        fprintf(f, ",%s", kpi_table[i].name);
    fputc('\n', f);
    for (int j = 0; j < n; j++) {
        fprintf(f, "%.10g", values[j]);
        for (int i = 0; i < N_KPIS; i++) {
            double v = kpi_value(&kpis[j], i);
            if (kpi_table[i].is_int)
                fprintf(f, ",%d", (int)v);
            else
                fprintf(f, ",%.4f", isfinite(v) ? v : 0);
        }
        fputc('\n', f);
    }
    return close_file(f, path, err, err_len);
}

/* ------------------------------------------------------------------------ */
/* report.html: SVG helpers                                                 */

#define CH_W 720
#define CH_H 240
#define CH_L 52 /* margins */
#define CH_R 12
#define CH_T 14
#define CH_B 36

static void html_text(FILE *f, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A step of 1, 2 or 5 times a power of ten giving about five ticks up to max. */
static double nice_step(double max)
{
    double raw = max / 5, p;

    if (!(raw > 0))
        return 1;
    p = pow(10, floor(log10(raw)));
    if (raw / p <= 1)
        return p;
    if (raw / p <= 2)
        return 2 * p;
    if (raw / p <= 5)
        return 5 * p;
    return 10 * p;
}

/* Frame, horizontal grid lines and y labels for values 0..ymax; returns the
 * rounded-up top of the axis. */
static double chart_frame(FILE *f, double ymax, const char *ylabel)
{
    double step = nice_step(ymax), top;
    int ph = CH_H - CH_T - CH_B;

    top = ceil((ymax > 0 ? ymax : 1) / step) * step;
    fprintf(f, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n", CH_W, CH_H,
            CH_W, CH_H);
    for (double v = 0; v <= top + step / 2; v += step) {
        double y = CH_T + ph - v / top * ph;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%d\" y=\"%.1f\" class=\"yl\">%g</text>\n",
                CH_L, y, CH_W - CH_R, y, CH_L - 4, y + 4, v);
    }
    fprintf(f, "<text x=\"12\" y=\"%d\" class=\"axis\" transform=\"rotate(-90 12 %d)\">",
            CH_T + ph / 2, CH_T + ph / 2);
    html_text(f, ylabel);
    fputs("</text>\n", f);
    return top;
}

static double plot_x(double v, double lo, double hi)
{
    return CH_L + (v - lo) / (hi - lo) * (CH_W - CH_L - CH_R);
}

static double plot_y(double v, double top)
{
    int ph = CH_H - CH_T - CH_B;

    return CH_T + ph - v / top * ph;
}

static void x_label(FILE *f, double x, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">", x, CH_H - CH_B + 16);
    html_text(f, text);
    fputs("</text>\n", f);
}

static void x_title(FILE *f, const char *text)
{
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"axis\">", (CH_L + CH_W - CH_R) / 2, CH_H - 4);
    html_text(f, text);
    fputs("</text>\n", f);
}

/* ------------------------------------------------------------------------ */
/* report.html: charts                                                      */

enum { OUT_SERVED, OUT_REJECTED, OUT_EXPIRED, OUT_CANCELLED, OUT_NOSHOW, OUT_OTHER, N_OUT };
static const char *const out_name[N_OUT] = {"served",    "rejected", "expired",
                                            "cancelled", "no show",  "other"};
static const char *const out_color[N_OUT] = {"#2f9e44", "#e03131", "#f08c00",
                                             "#868e96", "#9c36b5", "#339af0"};

static int outcome(const sim_trip *t)
{
    if (is_served(t))
        return OUT_SERVED;
    if (strcmp(t->status, "rejected") == 0)
        return OUT_REJECTED;
    if (strcmp(t->status, "expired") == 0)
        return OUT_EXPIRED;
    if (strcmp(t->status, "cancelled") == 0)
        return OUT_CANCELLED;
    if (strcmp(t->status, "no_show") == 0)
        return OUT_NOSHOW;
    return OUT_OTHER;
}

static void legend(FILE *f, const char *const *names, const char *const *colors, int n)
{
    fputs("<div class=\"legend\">", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<span><i style=\"background:%s\"></i>%s</span>", colors[i], names[i]);
    fputs("</div>\n", f);
}

/* Trips by the hour of the pickup asked for, stacked by outcome. */
static void chart_by_hour(FILE *f, const sim_result *r)
{
    int cnt[48][N_OUT], h_lo = 47, h_hi = 0;
    double ymax = 0;

    memset(cnt, 0, sizeof(cnt));
    for (int i = 0; i < r->n_trips; i++) {
        int h = wanted_pickup(&r->trips[i]) / 3600;
        h = h < 0 ? 0 : h > 47 ? 47 : h;
        cnt[h][outcome(&r->trips[i])]++;
        h_lo = h < h_lo ? h : h_lo;
        h_hi = h > h_hi ? h : h_hi;
    }
    if (r->n_trips == 0) {
        h_lo = 0;
        h_hi = 23;
    }
    for (int h = h_lo; h <= h_hi; h++) {
        double sum = 0;
        for (int o = 0; o < N_OUT; o++)
            sum += cnt[h][o];
        ymax = sum > ymax ? sum : ymax;
    }
    fputs("<h2>Requests by hour of the asked pickup time</h2>\n", f);
    legend(f, out_name, out_color, N_OUT);
    {
        double top = chart_frame(f, ymax, "requests");
        double lo = h_lo, hi = h_hi + 1, bw = plot_x(1, 0, hi - lo) - plot_x(0, 0, hi - lo);
        for (int h = h_lo; h <= h_hi; h++) {
            double acc = 0, x = plot_x(h, lo, hi);
            char lab[16];
            for (int o = 0; o < N_OUT; o++) {
                if (cnt[h][o] == 0)
                    continue;
                fprintf(f,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"%s\"><title>%02d:00 %s: %d</title></rect>\n",
                        x + 1, plot_y(acc + cnt[h][o], top), bw - 2,
                        plot_y(acc, top) - plot_y(acc + cnt[h][o], top), out_color[o], h % 24,
                        out_name[o], cnt[h][o]);
                acc += cnt[h][o];
            }
            snprintf(lab, sizeof(lab), "%d", h);
            x_label(f, x + bw / 2, lab);
        }
        x_title(f, "hour of the day");
    }
    fputs("</svg>\n", f);
}

/* A histogram of x[0..n) in bins of width bin (values beyond max_bins bins
 * are counted in the last one). */
static void chart_histogram(FILE *f, const char *title, const double *x, int n, double bin,
                            const char *xunit, double unit_div, const char *color)
{
    enum { MAX_BINS = 40 };
    int cnt[MAX_BINS] = {0}, n_bins = 1;
    double ymax = 0, top;

    for (int i = 0; i < n; i++) {
        int b = x[i] < 0 ? 0 : (int)(x[i] / bin);
        if (b >= MAX_BINS)
            b = MAX_BINS - 1;
        cnt[b]++;
        if (b + 1 > n_bins)
            n_bins = b + 1;
    }
    for (int b = 0; b < n_bins; b++)
        ymax = cnt[b] > ymax ? cnt[b] : ymax;
    fprintf(f, "<h2>");
    html_text(f, title);
    fprintf(f, "</h2>\n");
    top = chart_frame(f, ymax, "trips");
    for (int b = 0; b < n_bins; b++) {
        double x0 = plot_x(b, 0, n_bins), x1 = plot_x(b + 1, 0, n_bins);
        char lab[32];
        if (cnt[b] > 0)
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                    "<title>%g-%g %s: %d</title></rect>\n",
                    x0 + 1, plot_y(cnt[b], top), x1 - x0 - 2, plot_y(0, top) - plot_y(cnt[b], top),
                    color, b * bin / unit_div, (b + 1) * bin / unit_div, xunit, cnt[b]);
        if (n_bins <= 20 || b % 2 == 0) {
            snprintf(lab, sizeof(lab), "%g", b * bin / unit_div);
            x_label(f, x0, lab);
        }
    }
    {
        char t[64];
        snprintf(t, sizeof(t), "%s (last bar: that much or more)", xunit);
        x_title(f, n_bins == MAX_BINS ? t : xunit);
    }
    fputs("</svg>\n", f);
}

/* A bin width from 1, 2, 5, 10, ... minutes giving at most about 30 bins. */
static double minute_bin(const double *x, int n)
{
    static const double steps[] = {60, 120, 300, 600, 900, 1800, 3600, 7200};
    double max = 0;

    for (int i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (max / steps[i] <= 30)
            return steps[i];
    return 7200;
}

/* Riders on board (all vans) and vans on duty, averaged over 10-minute bins. */
static void chart_occupancy(FILE *f, const sim_result *r, const int *order)
{
    enum { BIN_S = 600, MAX_BINS = 48 * 6 };
    double riders[MAX_BINS], duty[MAX_BINS];
    int t_lo = 48 * 3600, t_hi = 0, b_lo, b_hi;
    double ymax = 0, top;

    memset(riders, 0, sizeof(riders));
    memset(duty, 0, sizeof(duty));
    for (int i = 0; i < r->n_stops; i++) {
        const sim_stop_rec *s = &r->stops[i];
        if (s->arrival_s >= 0 && s->arrival_s < t_lo)
            t_lo = s->arrival_s;
        if (s->departure_s > t_hi)
            t_hi = s->departure_s;
        if (s->arrival_s > t_hi)
            t_hi = s->arrival_s;
    }
    if (t_hi <= t_lo) {
        t_lo = r->scn ? r->scn->service.start_s : 7 * 3600;
        t_hi = r->scn ? r->scn->service.end_s : 19 * 3600;
    }
    /* the chart covers at most 48 hours: clamp both ends into them */
    t_lo = t_lo < 0 ? 0 : t_lo > (MAX_BINS - 1) * BIN_S ? (MAX_BINS - 1) * BIN_S : t_lo;
    t_hi = t_hi > MAX_BINS * BIN_S ? MAX_BINS * BIN_S : t_hi;
    b_lo = t_lo / BIN_S;
    b_hi = (t_hi + BIN_S - 1) / BIN_S;
    if (b_hi <= b_lo)
        b_hi = b_lo + 1; /* <= MAX_BINS as b_lo < MAX_BINS */

    /* load after stop k holds from its arrival to the next stop's arrival */
    for (int i = 0; i + 1 < r->n_stops; i++) {
        const sim_stop_rec *s = &r->stops[order[i]], *nx = &r->stops[order[i + 1]];
        int load = s->seats_used + s->wheelchairs_used;
        if (nx->vehicle != s->vehicle || load == 0)
            continue;
        for (int b = b_lo; b < b_hi; b++) {
            int a = s->arrival_s > b * BIN_S ? s->arrival_s : b * BIN_S;
            int e = nx->arrival_s < (b + 1) * BIN_S ? nx->arrival_s : (b + 1) * BIN_S;
            if (e > a)
                riders[b] += (double)load * (e - a) / BIN_S;
        }
    }
    for (int v = 0; r->veh_first_s != NULL && r->veh_last_s != NULL && v < r->n_vehicles; v++) {
        for (int b = b_lo; b < b_hi && r->veh_first_s[v] >= 0; b++) {
            int a = r->veh_first_s[v] > b * BIN_S ? r->veh_first_s[v] : b * BIN_S;
            int e = r->veh_last_s[v] < (b + 1) * BIN_S ? r->veh_last_s[v] : (b + 1) * BIN_S;
            if (e > a)
                duty[b] += (double)(e - a) / BIN_S;
        }
    }
    for (int b = b_lo; b < b_hi; b++) {
        ymax = riders[b] > ymax ? riders[b] : ymax;
        ymax = duty[b] > ymax ? duty[b] : ymax;
    }
    fputs("<h2>Riders on board and vans on duty over the day</h2>\n", f);
    {
        static const char *const names[] = {"riders on board (all vans)", "vans on duty"};
        static const char *const colors[] = {"#4dabf7", "#212529"};
        legend(f, names, colors, 2);
    }
    top = chart_frame(f, ymax, "count (10-minute mean)");
    fprintf(f, "<path fill=\"#4dabf7\" fill-opacity=\"0.6\" stroke=\"#1c7ed6\" d=\"M%.1f %.1f",
            plot_x(b_lo, b_lo, b_hi), plot_y(0, top));
    for (int b = b_lo; b < b_hi; b++)
        fprintf(f, " L%.1f %.1f L%.1f %.1f", plot_x(b, b_lo, b_hi), plot_y(riders[b], top),
                plot_x(b + 1, b_lo, b_hi), plot_y(riders[b], top));
    fprintf(f, " L%.1f %.1f Z\"/>\n", plot_x(b_hi, b_lo, b_hi), plot_y(0, top));
    fprintf(f, "<path fill=\"none\" stroke=\"#212529\" stroke-width=\"1.5\" d=\"M%.1f %.1f",
            plot_x(b_lo, b_lo, b_hi), plot_y(duty[b_lo], top));
    for (int b = b_lo; b < b_hi; b++)
        fprintf(f, " L%.1f %.1f L%.1f %.1f", plot_x(b, b_lo, b_hi), plot_y(duty[b], top),
                plot_x(b + 1, b_lo, b_hi), plot_y(duty[b], top));
    fputs("\"/>\n", f);
    for (int b = b_lo; b <= b_hi; b++) {
        if ((b * BIN_S) % 7200 == 0) {
            char lab[16];
            snprintf(lab, sizeof(lab), "%d:00", b * BIN_S / 3600);
            x_label(f, plot_x(b, b_lo, b_hi), lab);
        }
    }
    x_title(f, "time of day");
    fputs("</svg>\n", f);
}

/* ------------------------------------------------------------------------ */
/* report.html: map                                                         */

typedef struct map_view {
    double lon0, lat0, lon1, lat1, kx; /* bounds; kx = cos(mid latitude) */
    double scale, w, h;
} map_view;

static void grow(double *b, double lat, double lon)
{
    if (!isfinite(lat) || !isfinite(lon))
        return;
    b[0] = lon < b[0] ? lon : b[0];
    b[1] = lat < b[1] ? lat : b[1];
    b[2] = lon > b[2] ? lon : b[2];
    b[3] = lat > b[3] ? lat : b[3];
}

static double mx(const map_view *m, double lon)
{
    return 10 + (lon - m->lon0) * m->kx * m->scale;
}

static double my(const map_view *m, double lat)
{
    return 10 + (m->lat1 - lat) * m->scale;
}

static const char *const poi_kinds[][2] = {
    {"hospital", "#e03131"},       {"clinic", "#f06595"},      {"pharmacy", "#e64980"},
    {"elderly_care", "#ae3ec9"},   {"supermarket", "#2f9e44"}, {"station", "#1971c2"},
    {"city_hall", "#f08c00"},      {"post_office", "#fab005"}, {"library", "#7048e8"},
    {"community_hall", "#15aabf"}, {"school", "#5c940d"},
};
#define N_POI_KINDS ((int)(sizeof(poi_kinds) / sizeof(poi_kinds[0])))
#define POI_OTHER_COLOR "#495057"

static const char *poi_color(const char *kind)
{
    for (int i = 0; i < N_POI_KINDS; i++)
        if (strcmp(kind, poi_kinds[i][0]) == 0)
            return poi_kinds[i][1];
    return POI_OTHER_COLOR;
}

/* Roads of the area's graph as thin lines, each two-way street once;
 * skipped for very large graphs (the page would grow past a few MB). */
static void map_roads(FILE *f, const map_view *m, const net_graph *g)
{
    if (g == NULL || g->n_edges > 60000)
        return;
    fputs("<g stroke=\"#dee2e6\" stroke-width=\"1\" fill=\"none\">\n", f);
    for (int32_t u = 0; u < g->n_nodes; u++) {
        for (int32_t e = g->first_out[u]; e < g->first_out[u + 1]; e++) {
            int32_t v = g->head[e], back = 0;
            if (v > u) {
                for (int32_t k = g->first_out[v]; k < g->first_out[v + 1] && !back; k++)
                    back = g->head[k] == u;
            }
            if (v < u) {
                /* drawn from v's side if the street is two-way */
                for (int32_t k = g->first_out[v]; k < g->first_out[v + 1] && !back; k++)
                    back = g->head[k] == u;
                if (back)
                    continue;
            }
            fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1f\"/>\n", mx(m, g->lon[u]), my(m, g->lat[u]),
                    mx(m, g->lon[v]), my(m, g->lat[v]));
        }
    }
    fputs("</g>\n", f);
}

/* Pickups asked at stops: a disc per stop, its area proportional to the count. */
static void map_pickups_at_stops(FILE *f, const map_view *m, const sim_result *r)
{
    const area *a = r->area;
    int *cnt = calloc((size_t)a->n_stops, sizeof(int)), cmax = 0;

    if (cnt == NULL)
        return;
    for (int i = 0; i < r->n_trips; i++) {
        int s = r->trips[i].req->pickup.stop;
        if (s >= 0 && s < a->n_stops && ++cnt[s] > cmax)
            cmax = cnt[s];
    }
    for (int s = 0; s < a->n_stops; s++) {
        if (cnt[s] == 0)
            continue;
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#fd7e14\" fill-opacity=\"0.45\" "
                "stroke=\"#e8590c\" stroke-width=\"0.6\"><title>",
                mx(m, a->stops[s].lon), my(m, a->stops[s].lat),
                2 + 12 * sqrt((double)cnt[s] / cmax));
        html_text(f, a->stops[s].id);
        if (a->stops[s].name != NULL && *a->stops[s].name) {
            fputc(' ', f);
            html_text(f, a->stops[s].name);
        }
        fprintf(f, ": %d pickups</title></circle>\n", cnt[s]);
    }
    free(cnt);
}

/* Pickups at free points: a grid of cells shaded by count. */
static void map_pickups_grid(FILE *f, const map_view *m, const sim_result *r)
{
    enum { GRID = 60 };
    int cell[GRID][GRID], cmax = 0;

    memset(cell, 0, sizeof(cell));
    for (int i = 0; i < r->n_trips; i++) {
        const sim_place *p = &r->trips[i].req->pickup;
        int cx = (int)((p->lon - m->lon0) / (m->lon1 - m->lon0) * GRID);
        int cy = (int)((m->lat1 - p->lat) / (m->lat1 - m->lat0) * GRID);
        if (cx < 0 || cy < 0 || cx >= GRID || cy >= GRID)
            continue;
        cell[cy][cx]++;
        cmax = cell[cy][cx] > cmax ? cell[cy][cx] : cmax;
    }
    for (int cy = 0; cy < GRID; cy++) {
        for (int cx = 0; cx < GRID; cx++) {
            double lon_a = m->lon0 + (m->lon1 - m->lon0) * cx / GRID;
            double lon_b = m->lon0 + (m->lon1 - m->lon0) * (cx + 1) / GRID;
            double lat_a = m->lat1 - (m->lat1 - m->lat0) * cy / GRID;
            double lat_b = m->lat1 - (m->lat1 - m->lat0) * (cy + 1) / GRID;
            if (cell[cy][cx] == 0)
                continue;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fd7e14\" "
                    "fill-opacity=\"%.2f\"><title>%d pickups</title></rect>\n",
                    mx(m, lon_a), my(m, lat_a), mx(m, lon_b) - mx(m, lon_a),
                    my(m, lat_b) - my(m, lat_a), 0.12 + 0.85 * sqrt((double)cell[cy][cx] / cmax),
                    cell[cy][cx]);
        }
    }
}

/* Grows b by the pickups, leaving out the outer 0.5 % on each side when
 * there are many (a few stray coordinates would shrink the rest to a dot). */
static void pickup_extent(const sim_result *r, double *b)
{
    double *lat = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    double *lon = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    int n = 0, lo, hi;

    if (lat == NULL || lon == NULL) {
        free(lat);
        free(lon);
        return;
    }
    for (int i = 0; i < r->n_trips; i++) {
        const sim_place *p = &r->trips[i].req->pickup;
        if (isfinite(p->lat) && isfinite(p->lon)) {
            lat[n] = p->lat;
            lon[n++] = p->lon;
        }
    }
    if (n > 0) {
        qsort(lat, (size_t)n, sizeof(double), cmp_double);
        qsort(lon, (size_t)n, sizeof(double), cmp_double);
        lo = n >= 200 ? n / 200 : 0;
        hi = n - 1 - lo;
        grow(b, lat[lo], lon[lo]);
        grow(b, lat[hi], lon[hi]);
    }
    free(lat);
    free(lon);
}

static void chart_map(FILE *f, const sim_result *r)
{
    const area *a = r->area;
    double b[4] = {HUGE_VAL, HUGE_VAL, -HUGE_VAL, -HUGE_VAL}, max_w = 640, max_h = 560;
    int at_stops = a != NULL && a->n_stops > 0;
    map_view m;

    if (a != NULL) {
        for (int i = 0; i < a->n_stops; i++)
            grow(b, a->stops[i].lat, a->stops[i].lon);
        for (int i = 0; i < a->n_pois; i++)
            grow(b, a->pois[i].lat, a->pois[i].lon);
    }
    pickup_extent(r, b);
    fputs("<h2>Map: where pickups were asked, stops, points of interest and depots</h2>\n", f);
    if (!(b[2] >= b[0] && b[3] >= b[1])) {
        fputs("<p>No places to show.</p>\n", f);
        return;
    }
    {
        double pad_lat = (b[3] - b[1]) * 0.04 + 1e-4, pad_lon = (b[2] - b[0]) * 0.04 + 1e-4;
        m.lon0 = b[0] - pad_lon;
        m.lon1 = b[2] + pad_lon;
        m.lat0 = b[1] - pad_lat;
        m.lat1 = b[3] + pad_lat;
    }
    m.kx = cos((m.lat0 + m.lat1) / 2 * 3.14159265358979323846 / 180);
    m.scale = fmin(max_w / ((m.lon1 - m.lon0) * m.kx), max_h / (m.lat1 - m.lat0));
    m.w = (m.lon1 - m.lon0) * m.kx * m.scale + 20;
    m.h = (m.lat1 - m.lat0) * m.scale + 20;

    fprintf(f,
            "<div class=\"legend\"><span><i style=\"background:#fd7e14;border-radius:50%%\"></i>"
            "pickups asked (%s)</span><span><i style=\"background:#adb5bd;border-radius:50%%\"></i>"
            "stop</span><span><i style=\"background:#212529\"></i>depot</span>",
            at_stops ? "larger: more" : "darker: more");
    {
        int other = 0;
        for (int k = 0; k < N_POI_KINDS; k++) {
            int present = 0;
            for (int i = 0; a != NULL && i < a->n_pois && !present; i++)
                present = strcmp(a->pois[i].kind, poi_kinds[k][0]) == 0;
            if (present)
                fprintf(f, "<span><i style=\"background:%s;border-radius:50%%\"></i>%s</span>",
                        poi_kinds[k][1], poi_kinds[k][0]);
        }
        for (int i = 0; a != NULL && i < a->n_pois; i++)
            other |= strcmp(poi_color(a->pois[i].kind), POI_OTHER_COLOR) == 0;
        if (other)
            fputs("<span><i style=\"background:" POI_OTHER_COLOR
                  ";border-radius:50%\"></i>other place</span>",
                  f);
    }
    fputs("</div>\n", f);
    fprintf(f,
            "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "class=\"map\">\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
            "fill=\"#f8f9fa\"/>\n",
            m.w, m.h, m.w, m.h, m.w, m.h);
    if (a != NULL)
        map_roads(f, &m, a->graph);
    if (at_stops)
        map_pickups_at_stops(f, &m, r);
    else
        map_pickups_grid(f, &m, r);
    if (a != NULL) {
        for (int i = 0; i < a->n_stops; i++) {
            const area_stop *s = &a->stops[i];
            int depot = strcmp(s->kind, "depot") == 0;
            if (depot)
                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"#212529\">",
                        mx(&m, s->lon) - 4, my(&m, s->lat) - 4);
            else
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#868e96\">",
                        mx(&m, s->lon), my(&m, s->lat));
            fputs("<title>", f);
            html_text(f, s->id);
            if (s->name != NULL && *s->name) {
                fputs(" ", f);
                html_text(f, s->name);
            }
            fputs(depot ? "</title></rect>\n" : "</title></circle>\n", f);
        }
        for (int i = 0; i < a->n_pois; i++) {
            const area_poi *p = &a->pois[i];
            fprintf(f,
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" stroke=\"#fff\"><title>",
                    mx(&m, p->lon), my(&m, p->lat), poi_color(p->kind));
            html_text(f, p->name);
            if (p->name_en != NULL && *p->name_en) {
                fputs(" / ", f);
                html_text(f, p->name_en);
            }
            fputs(" (", f);
            html_text(f, p->kind);
            fputs(")</title></circle>\n", f);
        }
    }
    if (r->scn != NULL) {
        for (int v = 0; v < r->scn->n_vehicles; v++) {
            const sim_vehicle_def *d = &r->scn->vehicles[v];
            if (d->depot_stop >= 0 || !(d->depot_lat != 0 || d->depot_lon != 0))
                continue; /* depot stops are drawn with the stops */
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"#212529\">"
                    "<title>depot of ",
                    mx(&m, d->depot_lon) - 4, my(&m, d->depot_lat) - 4);
            html_text(f, d->id);
            fputs("</title></rect>\n", f);
        }
    }
    fputs("</svg>\n", f);
}

/* ------------------------------------------------------------------------ */
/* report.html: page                                                        */

static void kpi_cell(FILE *f, const sim_kpis *k, int i)
{
    double v = kpi_value(k, i);

    if (kpi_table[i].is_int)
        fprintf(f, "%d", (int)v);
    else if (strstr(kpi_table[i].name, "_share") != NULL ||
             strcmp(kpi_table[i].name, "service_rate") == 0)
        fprintf(f, "%.1f %%", 100 * v);
    else if (strcmp(kpi_table[i].name + strlen(kpi_table[i].name) - 2, "_s") == 0 && v >= 60)
        fprintf(f, "%.0f (%.1f min)", v, v / 60);
    else
        fprintf(f, "%.3g", v);
}

static void scenario_summary(FILE *f, const sim_result *r)
{
    const sim_scenario *s = r->scn;
    char a[16], b[16];
    int seats_max = 0, wc_max = 0;

    fputs("<h2>Scenario</h2>\n<table class=\"kv\">\n", f);
    if (s == NULL) {
        fputs("</table>\n", f);
        return;
    }
    fputs("<tr><th>name</th><td>", f);
    html_text(f, s->name);
    fprintf(f, "</td></tr>\n<tr><th>seed</th><td>%llu</td></tr>\n", (unsigned long long)s->seed);
    fputs("<tr><th>area</th><td>", f);
    if (r->area != NULL && r->area->name != NULL)
        html_text(f, r->area->name);
    fprintf(f, " (%s",
            s->area_kind == SIM_AREA_SYNTH    ? "synthetic town"
            : s->area_kind == SIM_AREA_BUNDLE ? "area bundle"
                                              : "crow-fly travel");
    if (r->area != NULL)
        fprintf(f, ", %d stops, %d points of interest, %d residential zones", r->area->n_stops,
                r->area->n_pois, r->area->n_zones);
    fputs(")</td></tr>\n", f);
    sim_format_clock(s->service.start_s, a, sizeof(a));
    sim_format_clock(s->service.end_s, b, sizeof(b));
    fprintf(f,
            "<tr><th>service</th><td>%s&ndash;%s, pickup window %d min, max wait %d min, "
            "ride time &le; %.2f &times; direct + %d min</td></tr>\n",
            a, b, s->service.window_s / 60, s->service.max_wait_s / 60, s->service.ride_alpha,
            s->service.ride_beta_s / 60);
    for (int v = 0; v < s->n_vehicles; v++) {
        for (int c = 0; c < s->vehicles[v].n_configs; c++) {
            seats_max = s->vehicles[v].seats[c] > seats_max ? s->vehicles[v].seats[c] : seats_max;
            wc_max =
                s->vehicles[v].wheelchairs[c] > wc_max ? s->vehicles[v].wheelchairs[c] : wc_max;
        }
    }
    fprintf(
        f, "<tr><th>fleet</th><td>%d vans (up to %d seats, up to %d wheelchair places)</td></tr>\n",
        s->n_vehicles, seats_max, wc_max);
    if (s->demand_is_replay) {
        fputs("<tr><th>demand</th><td>replayed from ", f);
        html_text(f, s->replay.path);
        fprintf(f, ", %d requests used</td></tr>\n", r->n_trips);
    } else {
        fprintf(f,
                "<tr><th>demand</th><td>generated: %d trips, %.0f %% with a return, %.0f %% "
                "booked the day before, %.0f %% wheelchair</td></tr>\n",
                s->gen.trips, 100 * s->gen.return_share, 100 * s->gen.prebooked_share,
                100 * s->gen.wheelchair_share);
    }
    fprintf(f,
            "<tr><th>disruptions</th><td>travel-time noise %.2f, late bias %.2f, no-show %.1f "
            "%%, cancellations %.1f %%, declined offers %.1f %%</td></tr>\n",
            s->dis.travel_noise, s->dis.late_bias, 100 * s->dis.no_show_rate,
            100 * s->dis.cancel_rate, 100 * s->dis.decline_rate);
    fprintf(f,
            "<tr><th>dispatcher</th><td>re-plan every %d s, %ld iterations%s; %ld re-plans, %ld "
            "adopted</td></tr>\n</table>\n",
            s->dispatch.replan_interval_s, s->dispatch.replan_iterations,
            s->dispatch.replan_glpk ? " with GLPK" : "", r->replans, r->replans_adopted);
}

static int write_html(const sim_result *r, const sim_kpis *k, const int *order, const char *path,
                      char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");
    double *wait = NULL, *ride = NULL;
    int n = 0;

    if (f == NULL)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: cannot create: %s", path, strerror(errno));
    wait = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    ride = malloc(((size_t)r->n_trips + 1) * sizeof(double));
    if (wait == NULL || ride == NULL) {
        free(wait);
        free(ride);
        fclose(f);
        return slv_errf(err, err_len, SIM_EWRITE, "%s: out of memory", path);
    }
    for (int i = 0; i < r->n_trips; i++) {
        const sim_trip *t = &r->trips[i];
        if (!is_served(t))
            continue;
        wait[n] = t->pickup_s - wait_reference(t);
        ride[n] = t->dropoff_s - t->pickup_s;
        n++;
    }

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>noriai "
          "simulation: ",
          f);
    html_text(f, r->scn && r->scn->name ? r->scn->name : "day");
    fputs("</title>\n<style>\n"
          "body{font-family:system-ui,\"Noto Sans JP\",\"Hiragino Sans\",\"Yu Gothic\",Meiryo,"
          "sans-serif;margin:24px auto;max-width:980px;color:#212529;padding:0 12px}\n"
          "h1{font-size:1.5em}h2{font-size:1.1em;margin-top:1.8em}\n"
          "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #dee2e6;"
          "text-align:left;vertical-align:top}\ntd.num{text-align:right;font-variant-numeric:"
          "tabular-nums}\n.kpi td:first-child{font-family:monospace}\n"
          "svg{max-width:100%;height:auto;display:block}\n"
          "svg text{font-size:11px;fill:#495057}\nsvg .yl{text-anchor:end}\n"
          "svg .xl{text-anchor:middle}\nsvg .axis{text-anchor:middle;font-size:12px}\n"
          "svg .grid{stroke:#e9ecef}\n.map{border:1px solid #dee2e6}\n"
          ".legend span{margin-right:14px;font-size:.9em}.legend i{display:inline-block;"
          "width:11px;height:11px;margin-right:4px;vertical-align:-1px}\n"
          ".note{color:#868e96;font-size:.85em}\n</style>\n</head>\n<body>\n<h1>",
          f);
    html_text(f, r->scn && r->scn->name ? r->scn->name : "Simulated day");
    fprintf(f,
            "</h1>\n<p>%d requests, %d served (%.1f %%), %d rejected, %d expired, %d "
            "cancelled, %d no-shows.</p>\n",
            k->requests, k->served, 100 * k->service_rate, k->rejected, k->expired, k->cancelled,
            k->no_show);

    fputs("<h2>Key figures</h2>\n<table class=\"kpi\">\n", f);
    for (int i = 0; i < N_KPIS; i++) {
        fprintf(f, "<tr><td>%s</td><td class=\"num\">", kpi_table[i].name);
        kpi_cell(f, k, i);
        fprintf(f, "</td><td>%s</td></tr>\n", kpi_table[i].what);
    }
    fputs("</table>\n", f);

    chart_by_hour(f, r);
    chart_histogram(f, "Waiting time of served riders", wait, n, minute_bin(wait, n), "minutes", 60,
                    "#4dabf7");
    chart_histogram(f, "Time on board of served riders", ride, n, minute_bin(ride, n), "minutes",
                    60, "#20c997");
    chart_occupancy(f, r, order);
    chart_map(f, r);
    scenario_summary(f, r);

    fputs("<p class=\"note\">Wait: from the request for &ldquo;as soon as possible&rdquo;, from "
          "the asked time for &ldquo;depart after&rdquo;, from the start of the promised window "
          "for &ldquo;arrive by&rdquo;. Occupancy: passenger-km / vehicle-km.",
          f);
    if (r->area != NULL && r->area->attribution != NULL && *r->area->attribution) {
        fputs(" Map data: ", f);
        html_text(f, r->area->attribution);
        fputs(".", f);
    }
    fputs(" Written by noriai simulate.</p>\n</body>\n</html>\n", f);
    free(wait);
    free(ride);
    return close_file(f, path, err, err_len);
}

/* ------------------------------------------------------------------------ */

int sim_report_write(const sim_result *r, const char *dir, char *err, size_t err_len)
{
    char path[4200];
    sim_kpis k;
    int *order = NULL, rc;

    if (r == NULL || dir == NULL)
        return SIM_EINVAL;
    if (make_dirs(dir) != 0)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: cannot create the output folder: %s", dir,
                        strerror(errno));
    if ((order = stop_order(r)) == NULL)
        return slv_errf(err, err_len, SIM_EWRITE, "%s: out of memory", dir);
    sim_kpis_compute(r, &k);
    snprintf(path, sizeof(path), "%s/trips.csv", dir);
    if ((rc = write_trips(r, path, err, err_len)) < 0)
        goto out;
    snprintf(path, sizeof(path), "%s/stops.csv", dir);
    if ((rc = write_stops(r, order, path, err, err_len)) < 0)
        goto out;
    snprintf(path, sizeof(path), "%s/kpis.json", dir);
    if ((rc = sim_kpis_write_json(&k, r->scn ? r->scn->name : NULL, path, err, err_len)) < 0)
        goto out;
    snprintf(path, sizeof(path), "%s/report.html", dir);
    rc = write_html(r, &k, order, path, err, err_len);
out:
    free(order);
    return rc;
}

void sim_result_cleanup(sim_result *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->n_stops; i++) {
        free(r->stops[i].boarded);
        free(r->stops[i].alighted);
    }
    free(r->stops);
    free(r->trips);
    free(r->veh_first_s);
    free(r->veh_last_s);
    memset(r, 0, sizeof(*r));
}
