/*
 * build.c - an area from real data: an OpenStreetMap extract for the roads
 * and a stop list (GTFS feed, CSV, the extract's own bus stops, or points
 * chosen on the roads).
 *
 * Steps:
 *   1. roads: net_build_from_osm (largest strongly connected component,
 *      projected to the requested EPSG code or the data's UTM zone);
 *   2. stops: from --stops (a folder, a .zip or a file named stops.txt is a
 *      GTFS feed; anything else a CSV with id,name,lat,lon), from the
 *      extract's highway=bus_stop nodes, or, when neither is given, chosen
 *      automatically (below);
 *   3. projection of the stops into the graph's CRS (geo) and snapping to
 *      the nearest road node (net_index); a stop further than
 *      AREA_FAR_SNAP_M from every road node is kept but flagged `far` and
 *      listed in verbose output: its travel times start at a road it may not
 *      really be near;
 *   4. the travel-time and distance matrix between the snapped nodes,
 *      through the matrix cache when a cache folder is given (the cache key
 *      is the bundle's own matrix key: graph hash, stop nodes,
 *      AREA_MATRIX_TAG).
 *
 * Automatic stops: the graph's extent is cut into square cells of
 * AUTO_SPACING_M (400 m, a usual walking distance between bus stops); the
 * road node nearest each cell's centre becomes a stop if it lies within
 * half a cell of that centre (so each stop is inside "its" circle and no
 * two cells share one).  Empty countryside gets no stops.  If that gives
 * more than AUTO_MAX_STOPS, the spacing grows until it does not, which keeps
 * the matrix (n^2) affordable for large extracts.
 *
 * Points of interest and residential zones are not taken from OSM: an area
 * built from real data has none (the simulator draws demand between stops).
 *
 * Progress: with verbose, lines on stderr for each step and for the matrix
 * ("matrix 300/1000 sources") once it has run for a second, at most once a
 * second.
 */
#include "data/area/area.h"
#include "data/geo/geo.h"
#include "solver/errf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define AUTO_SPACING_M 400.0
#define AUTO_MAX_STOPS 1000
#define FAR_LISTED 20 /* far stops named one by one in verbose output */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void area_build_opts_default(area_build_opts *o)
{
    memset(o, 0, sizeof(*o));
    net_speeds_default(&o->speeds);
}

static int from_net(int rc)
{
    switch (rc) {
    case NET_ENOMEM:
        return AREA_ENOMEM;
    case NET_EINVAL:
        return AREA_EINVAL;
    case NET_EOPEN:
        return AREA_EOPEN;
    case NET_EFORMAT:
        return AREA_EFORMAT;
    case NET_EEMPTY:
        return AREA_EEMPTY;
    case NET_EPROJ:
        return AREA_EGEO;
    default:
        return AREA_ENET;
    }
}

/* A GTFS feed: a folder, a .zip, or a file called stops.txt. */
static int is_gtfs(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n = strlen(path);
    struct stat st;

    base = base ? base + 1 : path;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    return (n >= 4 && strcmp(path + n - 4, ".zip") == 0) || strcmp(base, "stops.txt") == 0;
}

static int stops_from_osm(const net_osm_result *r, area_stop **out, int *n, char *err,
                          size_t err_len)
{
    area_stop *s;
    char id[40];

    *out = NULL;
    *n = 0;
    if (r->n_bus_stops == 0)
        return 0;
    s = calloc((size_t)r->n_bus_stops, sizeof(*s));
    if (s == NULL)
        return slv_errf(err, err_len, AREA_ENOMEM, "out of memory for %d bus stops",
                        r->n_bus_stops);
    for (int i = 0; i < r->n_bus_stops; i++) {
        const net_osm_stop *b = &r->bus_stops[i];
        snprintf(id, sizeof(id), "osm:%lld", (long long)b->osm_id);
        s[i].id = xstrdup(id);
        s[i].name = xstrdup(b->name ? b->name : "");
        s[i].name_en = b->name_en ? xstrdup(b->name_en) : NULL;
        s[i].lat = b->lat;
        s[i].lon = b->lon;
        s[i].node = -1;
        snprintf(s[i].kind, sizeof(s[i].kind), "stop");
        if (s[i].id == NULL || s[i].name == NULL || (b->name_en && s[i].name_en == NULL)) {
            area_stops_free(s, r->n_bus_stops);
            return slv_errf(err, err_len, AREA_ENOMEM, "out of memory for bus stops");
        }
    }
    *out = s;
    *n = r->n_bus_stops;
    return 0;
}

/* Road nodes on a grid of `spacing` metres (see the top of the file). */
static int auto_pick(const net_graph *g, const net_index *ix, double spacing, int32_t *nodes,
                     int cap)
{
    double x0 = g->x[0], y0 = g->y[0], x1 = x0, y1 = y0;
    int n = 0;

    for (int32_t v = 1; v < g->n_nodes; v++) {
        x0 = fmin(x0, g->x[v]);
        y0 = fmin(y0, g->y[v]);
        x1 = fmax(x1, g->x[v]);
        y1 = fmax(y1, g->y[v]);
    }
    for (double cy = y0 + spacing / 2; cy < y1 + spacing / 2; cy += spacing)
        for (double cx = x0 + spacing / 2; cx < x1 + spacing / 2; cx += spacing) {
            double d;
            int32_t v = net_index_nearest(ix, cx, cy, &d);
            if (v < 0 || d > spacing / 2)
                continue;
            if (n >= cap)
                return cap + 1;
            nodes[n++] = v;
        }
    return n;
}

static int stops_auto(const net_graph *g, const net_index *ix, int verbose, area_stop **out,
                      int *n_out, char *err, size_t err_len)
{
    int32_t *nodes = malloc((AUTO_MAX_STOPS + 1) * sizeof(*nodes));
    double spacing = AUTO_SPACING_M;
    area_stop *s = NULL;
    int n;

    if (nodes == NULL)
        return slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
    while ((n = auto_pick(g, ix, spacing, nodes, AUTO_MAX_STOPS)) > AUTO_MAX_STOPS)
        spacing *= 1.15;
    if (verbose)
        fprintf(stderr, "area: no stop list given: %d stops on the roads, one per %.0f m cell\n", n,
                spacing);
    s = calloc(n > 0 ? (size_t)n : 1, sizeof(*s));
    if (s == NULL) {
        free(nodes);
        return slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof(id), "g%04d", i + 1);
        s[i].id = xstrdup(id);
        s[i].name = xstrdup("");
        s[i].lat = g->lat[nodes[i]];
        s[i].lon = g->lon[nodes[i]];
        s[i].node = -1;
        snprintf(s[i].kind, sizeof(s[i].kind), "stop");
        if (s[i].id == NULL || s[i].name == NULL) {
            area_stops_free(s, n);
            free(nodes);
            return slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
        }
    }
    free(nodes);
    *out = s;
    *n_out = n;
    return 0;
}

static int project_and_snap(const area_build_opts *o, area *a, const net_index *ix, char *err,
                            size_t err_len)
{
    char gerr[256];
    geo_proj *geo = NULL;
    int rc, far = 0;

    if ((rc = geo_proj_create(a->graph->epsg, &geo, gerr, sizeof(gerr))) < 0)
        return slv_errf(err, err_len, rc == GEO_ENOMEM ? AREA_ENOMEM : AREA_EGEO, "%s", gerr);
    for (int i = 0; i < a->n_stops; i++) {
        area_stop *s = &a->stops[i];
        if (geo_forward(geo, s->lat, s->lon, &s->x, &s->y) < 0) {
            geo_proj_destroy(geo);
            return slv_errf(err, err_len, AREA_EGEO,
                            "stop %s at (%.7f, %.7f): cannot project to EPSG:%d", s->id, s->lat,
                            s->lon, a->graph->epsg);
        }
        s->node = net_index_nearest(ix, s->x, s->y, &s->snap_m);
        s->far = s->snap_m > AREA_FAR_SNAP_M;
        if (s->far && o->verbose && far < FAR_LISTED)
            fprintf(stderr, "area: far stop %s \"%s\": %.0f m from the nearest road node\n", s->id,
                    s->name ? s->name : "", s->snap_m);
        far += s->far;
    }
    geo_proj_destroy(geo);
    if (o->verbose) {
        if (far > FAR_LISTED)
            fprintf(stderr, "area: ... and %d more far stops\n", far - FAR_LISTED);
        fprintf(stderr, "area: %d stops snapped, %d further than %.0f m from a road\n", a->n_stops,
                far, AREA_FAR_SNAP_M);
    }
    return 0;
}

typedef struct progress {
    double t0, last;
} progress;

static void matrix_progress(void *ud, int done, int total)
{
    progress *p = ud;
    double t = now_s();

    if (t - p->t0 < 1.0 || (t - p->last < 1.0 && done < total))
        return;
    p->last = t;
    fprintf(stderr, "area: matrix %d/%d sources\n", done, total);
}

static int compute_matrix(const area_build_opts *o, area *a, char *err, size_t err_len)
{
    size_t nn = (size_t)a->n_stops * (size_t)a->n_stops;
    int32_t *nodes = malloc((size_t)a->n_stops * sizeof(*nodes));
    net_cache_status st;
    char msg[1024];
    progress p;
    int rc;

    a->time_s = malloc(nn * sizeof(int32_t));
    a->dist_m = malloc(nn * sizeof(int32_t));
    if (nodes == NULL || a->time_s == NULL || a->dist_m == NULL) {
        free(nodes);
        return slv_errf(err, err_len, AREA_ENOMEM, "out of memory for a %d x %d matrix", a->n_stops,
                        a->n_stops);
    }
    for (int i = 0; i < a->n_stops; i++)
        nodes[i] = a->stops[i].node;
    p.t0 = p.last = now_s();
    msg[0] = '\0';
    rc = net_matrix_cached(a->graph, nodes, a->n_stops, o->threads, o->cache_dir, AREA_MATRIX_TAG,
                           a->time_s, a->dist_m, o->verbose ? matrix_progress : NULL, &p, &st, msg,
                           sizeof(msg));
    free(nodes);
    if (rc < 0)
        return slv_errf(err, err_len, from_net(rc), "%s", msg);
    if (o->verbose) {
        if (o->cache_dir != NULL && *o->cache_dir != '\0')
            fprintf(stderr, "area: matrix cache: %s\n", msg);
        fprintf(stderr, "area: matrix %d x %d in %.2f s\n", a->n_stops, a->n_stops, now_s() - p.t0);
    } else if (o->cache_dir != NULL && *o->cache_dir != '\0' &&
               (st == NET_CACHE_NOT_STORED || st == NET_CACHE_REPLACED)) {
        fprintf(stderr, "area: matrix cache: %s\n", msg);
    }
    return 0;
}

/* "monaco" from ".../monaco.osm.pbf". */
static char *area_name(const char *path)
{
    const char *base = strrchr(path, '/');
    char *name;

    name = xstrdup(base ? base + 1 : path);
    if (name != NULL) {
        char *dot = strstr(name, ".osm.pbf");
        if (dot == NULL)
            dot = strrchr(name, '.');
        if (dot != NULL && dot != name)
            *dot = '\0';
    }
    return name;
}

int area_build(const area_build_opts *o, area **out, char *err, size_t err_len)
{
    net_osm_result res;
    net_osm_opts oo;
    net_index *ix = NULL;
    area *a = NULL;
    double t0 = now_s();
    int rc;

    if (out != NULL)
        *out = NULL;
    memset(&res, 0, sizeof(res));
    if (o == NULL || out == NULL || o->osm_path == NULL)
        return slv_errf(err, err_len, AREA_EINVAL, "area build: no OpenStreetMap file given");
    if (o->stops_path != NULL && o->osm_bus_stops)
        return slv_errf(err, err_len, AREA_EINVAL,
                        "area build: a stop file and the OSM bus stops both given; choose one");
    net_osm_opts_default(&oo);
    oo.speeds = o->speeds;
    oo.epsg = o->epsg;
    oo.want_bus_stops = o->osm_bus_stops;
    oo.verbose = o->verbose;
    if ((rc = net_build_from_osm(o->osm_path, &oo, &res, err, err_len)) < 0) {
        rc = from_net(rc);
        goto out;
    }
    if (o->verbose)
        fprintf(stderr, "area: road graph: %d nodes, %d edges (EPSG:%d), %.1f s\n",
                res.graph->n_nodes, res.graph->n_edges, res.graph->epsg, now_s() - t0);
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        rc = slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
        goto out;
    }
    a->graph = res.graph;
    res.graph = NULL;
    a->epsg = a->graph->epsg;
    a->model = AREA_ROAD;
    net_crowfly_default(&a->crowfly);
    memcpy(a->bbox, res.bbox, sizeof(a->bbox));
    a->name = area_name(o->osm_path);
    a->attribution = xstrdup("© OpenStreetMap contributors (ODbL 1.0)");
    a->license = xstrdup("ODbL-1.0");
    if (a->name == NULL || a->attribution == NULL || a->license == NULL) {
        rc = slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = net_index_create(a->graph, 0, &ix)) < 0) {
        rc = slv_errf(err, err_len, from_net(rc), "road index: %s", net_strerror(rc));
        goto out;
    }
    if (o->stops_path != NULL)
        rc = is_gtfs(o->stops_path)
                 ? area_stops_read_gtfs(o->stops_path, &a->stops, &a->n_stops, err, err_len)
                 : area_stops_read_csv(o->stops_path, &a->stops, &a->n_stops, err, err_len);
    else if (o->osm_bus_stops)
        rc = stops_from_osm(&res, &a->stops, &a->n_stops, err, err_len);
    else
        rc = stops_auto(a->graph, ix, o->verbose, &a->stops, &a->n_stops, err, err_len);
    if (rc < 0)
        goto out;
    if (a->n_stops == 0) {
        rc = slv_errf(err, err_len, AREA_EEMPTY, "%s: no stops%s",
                      o->stops_path ? o->stops_path : o->osm_path,
                      o->osm_bus_stops ? " (the extract has no highway=bus_stop nodes)" : "");
        goto out;
    }
    if (a->n_stops > AREA_MAX_STOPS) {
        rc = slv_errf(err, err_len, AREA_EINVAL, "%d stops: more than the %d an area may have",
                      a->n_stops, AREA_MAX_STOPS);
        goto out;
    }
    if ((rc = project_and_snap(o, a, ix, err, err_len)) < 0 ||
        (rc = compute_matrix(o, a, err, err_len)) < 0)
        goto out;
    *out = a;
    a = NULL;
    rc = 0;
out:
    net_index_destroy(ix);
    net_osm_result_cleanup(&res);
    area_destroy(a);
    return rc;
}
