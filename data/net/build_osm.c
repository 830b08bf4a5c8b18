/*
 * build_osm.c - the road graph of an OpenStreetMap extract.
 *
 * Two passes over the file, because a PBF file stores all nodes before the
 * ways that use them and the reader streams:
 *
 *   1. ways: each way with a drivable highway class that a van may use is
 *      kept as its node ids plus class, direction and speeds (and, when
 *      asked, bus stop nodes are kept whole: they are tagged nodes, so
 *      their positions arrive in this pass);
 *   2. nodes: the ids referenced by kept ways, sorted and deduplicated, get
 *      their coordinates by binary search; every other node is dropped.
 *
 * Memory is therefore the kept ways and their nodes (about 40 bytes per way
 * node), not the file's nodes: a whole prefecture's extract has tens of
 * millions of nodes, of which the drivable roads use a fraction.  The price
 * is reading and inflating the file twice.
 *
 * Rules (OSM's conventions for cars, as routers apply them):
 *   - class: highway=motorway .. living_street, service if use_service;
 *   - access: the most specific of motorcar, motor_vehicle, vehicle, access
 *     that says yes or no decides; no/private/agricultural/forestry/
 *     emergency/military are no (so access=private + motor_vehicle=yes is
 *     open); area=yes (a pedestrian square drawn as a road) is left out;
 *   - direction: oneway=yes/true/1 forward only, -1/reverse backward only,
 *     no/false/0 and alternating both ways, reversible left out (its
 *     direction changes by the hour); with no oneway tag, junction=
 *     roundabout/circular and motorways and their links are one-way;
 *   - speed: maxspeed ("50", "50 km/h", "30 mph", "20 knots"; the
 *     :forward/:backward variants per direction) times maxspeed_factor,
 *     else the class's speed; zone codes ("JP:urban"), "none", "signals"
 *     give the class's speed.
 *
 * Every node of a kept way becomes a graph node (so snapping lands on real
 * road geometry), and each consecutive pair one edge per allowed direction:
 * length by the haversine formula (net_haversine_m, the mean Earth radius),
 * time = length / speed, in integers: mm rounded, ms rounded up, so that no
 * edge is faster than its speed and max_speed_mps is the top speed of the
 * table or of a maxspeed tag, not an artefact of rounding a short edge.  A
 * pair with an end node missing from the file (ways cut by the extract's
 * border) or more than 1,000 km long (a corrupt position) is dropped and
 * counted.
 *
 * The graph is then cut to its largest strongly connected component (what
 * goes is mostly the halves of divided roads and motorways cut by the
 * extract's border, and service roads behind a private gate) and projected
 * with PROJ to the requested CRS, or to the UTM zone of the graph's centre.
 *
 * Cost: two reads of the file; O(R log R) for R way node references; the
 * graph and SCC linear in its size.
 */
#include "data/net/net.h"
#include "solver/errf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/geo/geo.h"
#include "data/osm/osm.h"

#define MAX_SEGMENT_M 1.0e6
#define MAXSPEED_MIN_KMH 5.0
#define MAXSPEED_MAX_KMH 300.0
#define KMH_FLOOR 1.0

void net_osm_opts_default(net_osm_opts *o)
{
    memset(o, 0, sizeof(*o));
    net_speeds_default(&o->speeds);
    o->epsg = 0;
    o->want_bus_stops = 1;
    o->verbose = 0;
}

void net_osm_result_cleanup(net_osm_result *r)
{
    if (r == NULL)
        return;
    net_graph_destroy(r->graph);
    for (int i = 0; i < r->n_bus_stops; i++) {
        free(r->bus_stops[i].name);
        free(r->bus_stops[i].name_en);
    }
    free(r->bus_stops);
    memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------------- */
/* tag rules                                                              */

static int is(const char *v, const char *s)
{
    return v != NULL && strcmp(v, s) == 0;
}

/* 1 if a motor vehicle may use the way, 0 if not. */
static int motor_access(const osm_tags *t)
{
    static const char *const keys[] = {"motorcar", "motor_vehicle", "vehicle", "access"};

    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const char *v = osm_tag(t, keys[k]);

        if (v == NULL)
            continue;
        if (is(v, "no") || is(v, "private") || is(v, "agricultural") || is(v, "forestry") ||
            is(v, "emergency") || is(v, "military"))
            return 0;
        if (is(v, "yes") || is(v, "permissive") || is(v, "designated") || is(v, "destination") ||
            is(v, "customers") || is(v, "delivery"))
            return 1;
        /* a value we do not know: the less specific key decides */
    }
    return 1;
}

enum { DIR_BOTH = 0, DIR_FORWARD = 1, DIR_BACKWARD = -1, DIR_NONE = 2 };

static int direction(const osm_tags *t, int cls)
{
    const char *v = osm_tag(t, "oneway");
    const char *j = osm_tag(t, "junction");

    if (is(v, "yes") || is(v, "true") || is(v, "1"))
        return DIR_FORWARD;
    if (is(v, "-1") || is(v, "reverse"))
        return DIR_BACKWARD;
    if (is(v, "no") || is(v, "false") || is(v, "0") || is(v, "alternating"))
        return DIR_BOTH;
    if (is(v, "reversible"))
        return DIR_NONE;
    if (is(j, "roundabout") || is(j, "circular"))
        return DIR_FORWARD;
    if (cls == NET_MOTORWAY || cls == NET_MOTORWAY_LINK)
        return DIR_FORWARD;
    return DIR_BOTH;
}

/*
 * km/h of a maxspeed value: a number, optionally followed by km/h, kmh, kph,
 * mph or knots.  0 if usable, -1 otherwise (zone codes, "none", "signals",
 * several values, absurd numbers).
 */
static int parse_maxspeed(const char *s, double *kmh)
{
    double v = 0, scale = 1, unit = 1;
    int digits = 0;

    if (s == NULL)
        return -1;
    while (*s == ' ')
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++)
        v = 10 * v + (*s - '0');
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            scale /= 10;
            v += scale * (*s - '0');
        }
    }
    if (digits == 0 || digits > 6)
        return -1;
    while (*s == ' ')
        s++;
    if (*s == '\0' || strcmp(s, "km/h") == 0 || strcmp(s, "kmh") == 0 || strcmp(s, "kph") == 0)
        unit = 1;
    else if (strcmp(s, "mph") == 0)
        unit = 1.609344;
    else if (strcmp(s, "knots") == 0)
        unit = 1.852;
    else
        return -1;
    v *= unit;
    if (v < MAXSPEED_MIN_KMH || v > MAXSPEED_MAX_KMH)
        return -1;
    *kmh = v;
    return 0;
}

static double way_kmh(const net_speeds *sp, int cls, const osm_tags *t, const char *dir_key)
{
    const char *v = osm_tag(t, dir_key);
    double kmh;

    if (parse_maxspeed(v, &kmh) == 0 || parse_maxspeed(osm_tag(t, "maxspeed"), &kmh) == 0)
        kmh *= sp->maxspeed_factor;
    else
        kmh = sp->kmh[cls];
    return kmh >= KMH_FLOOR ? kmh : KMH_FLOOR;
}

/* ---------------------------------------------------------------------- */
/* the build state                                                        */

typedef struct way_rec {
    size_t first; /* its first node in bld.refs */
    int32_t n_refs;
    uint8_t cls;
    int8_t dir;
    double fwd_kmh, bwd_kmh;
} way_rec;

typedef struct bld {
    const net_osm_opts *o;
    net_osm_result *r;
    way_rec *ways;
    size_t n_ways, ways_cap;
    int64_t *refs; /* node ids of kept ways; after pass 2, indices into ids */
    size_t n_refs, refs_cap;
    net_osm_stop *stops;
    size_t n_stops, stops_cap;
    int64_t *ids; /* referenced node ids, sorted, unique */
    size_t n_ids;
    double *lat, *lon; /* per ids[] entry */
    uint8_t *found;
    int oom;
    /* progress */
    const char *path;
    const char *step;
    double t0, last_print;
    int printed;
} bld;

static int reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 64;
    void *p;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    p = realloc(*buf, n * elem);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void step_begin(bld *b, const char *step)
{
    b->step = step;
    b->t0 = now_s();
    b->last_print = b->t0;
    b->printed = 0;
}

/* Ends a step; says how long it took if it was long enough to be seen. */
static void step_end(bld *b)
{
    double dt = now_s() - b->t0;

    if (b->o->verbose && (b->printed || dt > 1.0))
        fprintf(stderr, "\r%s: %s: done in %.1f s   \n", b->path, b->step, dt);
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    bld *b = ud;
    double t = now_s();

    if (!b->o->verbose || total == 0 || t - b->t0 < 1.0 || t - b->last_print < 0.5)
        return;
    fprintf(stderr, "\r%s: %s: %3d%%", b->path, b->step, (int)(100.0 * (double)done / total));
    b->last_print = t;
    b->printed = 1;
}

/* ---------------------------------------------------------------------- */
/* pass 1: ways and bus stops                                             */

static int on_way(void *ud, const osm_way *w)
{
    bld *b = ud;
    const osm_tags *t = &w->tags;
    int cls = net_class_parse(osm_tag(t, "highway")), dir;
    way_rec *wr;

    if (cls < 0 || (cls == NET_SERVICE && !b->o->speeds.use_service))
        return 0;
    b->r->drivable_ways++;
    dir = direction(t, cls);
    if (!motor_access(t) || dir == DIR_NONE) {
        b->r->ways_no_access++;
        return 0;
    }
    if (is(osm_tag(t, "area"), "yes")) {
        b->r->ways_area++;
        return 0;
    }
    if (w->n_refs < 2) {
        b->r->ways_short++;
        return 0;
    }
    if (reserve((void **)&b->ways, &b->ways_cap, b->n_ways + 1, sizeof(*b->ways)) != 0 ||
        reserve((void **)&b->refs, &b->refs_cap, b->n_refs + (size_t)w->n_refs, sizeof(*b->refs)) !=
            0) {
        b->oom = 1;
        return 1;
    }
    wr = &b->ways[b->n_ways++];
    wr->first = b->n_refs;
    wr->n_refs = w->n_refs;
    wr->cls = (uint8_t)cls;
    wr->dir = (int8_t)dir;
    wr->fwd_kmh = way_kmh(&b->o->speeds, cls, t, "maxspeed:forward");
    wr->bwd_kmh = way_kmh(&b->o->speeds, cls, t, "maxspeed:backward");
    memcpy(b->refs + b->n_refs, w->refs, (size_t)w->n_refs * sizeof(*b->refs));
    b->n_refs += (size_t)w->n_refs;
    return 0;
}

static char *dup_or_null(const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = malloc(strlen(s) + 1);
    if (d != NULL)
        strcpy(d, s);
    return d;
}

static int on_stop_node(void *ud, const osm_node *n)
{
    bld *b = ud;
    const osm_tags *t = &n->tags;
    net_osm_stop *s;
    const char *name, *name_en;

    if (t->n == 0)
        return 0;
    if (!is(osm_tag(t, "highway"), "bus_stop") &&
        !(is(osm_tag(t, "public_transport"), "platform") && is(osm_tag(t, "bus"), "yes")))
        return 0;
    if (b->n_stops >= INT32_MAX ||
        reserve((void **)&b->stops, &b->stops_cap, b->n_stops + 1, sizeof(*b->stops)) != 0) {
        b->oom = 1;
        return 1;
    }
    s = &b->stops[b->n_stops];
    s->osm_id = n->id;
    s->lat = n->lat;
    s->lon = n->lon;
    name = osm_tag(t, "name");
    name_en = osm_tag(t, "name:en");
    s->name = dup_or_null(name);
    s->name_en = dup_or_null(name_en);
    b->n_stops++; /* counted even if a name copy failed, so cleanup frees it */
    if ((name != NULL && s->name == NULL) || (name_en != NULL && s->name_en == NULL)) {
        b->oom = 1;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* pass 2: coordinates of the referenced nodes                            */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t find_id(const bld *b, int64_t id)
{
    size_t lo = 0, hi = b->n_ids;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->n_ids && b->ids[lo] == id ? (int64_t)lo : -1;
}

static int on_coord_node(void *ud, const osm_node *n)
{
    bld *b = ud;
    int64_t i = find_id(b, n->id);

    if (i >= 0) {
        b->lat[i] = n->lat;
        b->lon[i] = n->lon;
        b->found[i] = 1;
    }
    return 0;
}

static int collect_ids(bld *b)
{
    size_t k = 0;

    b->ids = malloc((b->n_refs + 1) * sizeof(*b->ids));
    if (b->ids == NULL)
        return NET_ENOMEM;
    if (b->n_refs > 0)
        memcpy(b->ids, b->refs, b->n_refs * sizeof(*b->ids));
    qsort(b->ids, b->n_refs, sizeof(*b->ids), cmp_i64);
    for (size_t i = 0; i < b->n_refs; i++) {
        if (k == 0 || b->ids[k - 1] != b->ids[i])
            b->ids[k++] = b->ids[i];
    }
    b->n_ids = k;
    b->lat = malloc((k + 1) * sizeof(*b->lat));
    b->lon = malloc((k + 1) * sizeof(*b->lon));
    b->found = calloc(k + 1, 1);
    if (b->lat == NULL || b->lon == NULL || b->found == NULL)
        return NET_ENOMEM;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* the graph                                                              */

/*
 * Walks every usable segment of every kept way.  With g == NULL it counts
 * out-edges per node into deg[] and the dropped segments; with g it places
 * each edge at pos[tail]++.  node[] maps ids[] entries to graph nodes.
 */
static void segments(bld *b, const int32_t *node, int32_t *deg, net_graph *g, int32_t *pos)
{
    for (size_t w = 0; w < b->n_ways; w++) {
        const way_rec *wr = &b->ways[w];

        for (int32_t i = 0; i + 1 < wr->n_refs; i++) {
            int64_t a = b->refs[wr->first + (size_t)i], c = b->refs[wr->first + (size_t)i + 1];
            double d;

            if (a == c)
                continue; /* a node repeated: no segment */
            if (!b->found[a] || !b->found[c]) {
                if (g == NULL)
                    b->r->segments_missing++;
                continue;
            }
            d = net_haversine_m(b->lat[a], b->lon[a], b->lat[c], b->lon[c]);
            if (d > MAX_SEGMENT_M) {
                if (g == NULL)
                    b->r->segments_too_long++;
                continue;
            }
            for (int k = 0; k < 2; k++) {
                int32_t tail = node[k == 0 ? a : c], head = node[k == 0 ? c : a];
                double kmh = k == 0 ? wr->fwd_kmh : wr->bwd_kmh;
                int32_t e;
                long long len_mm, time_ms;

                if ((k == 0 && wr->dir == DIR_BACKWARD) || (k == 1 && wr->dir == DIR_FORWARD))
                    continue;
                if (g == NULL) {
                    deg[tail]++;
                    continue;
                }
                len_mm = llround(d * 1000.0);
                time_ms = (long long)ceil((double)len_mm / (kmh / 3.6));
                e = pos[tail]++;
                g->head[e] = head;
                g->len_mm[e] = (uint32_t)len_mm;
                g->time_ms[e] = (uint32_t)time_ms;
                g->cls[e] = wr->cls;
                if (time_ms > 0 && (double)len_mm / (double)time_ms > g->max_speed_mps)
                    g->max_speed_mps = (double)len_mm / (double)time_ms;
            }
        }
    }
}

static int make_graph(bld *b, net_graph **out, char *err, size_t err_len)
{
    int32_t *node = NULL, *deg = NULL, n = 0;
    int64_t m = 0;
    net_graph *g = NULL;
    int rc = 0;

    *out = NULL;
    if (b->n_ids >= INT32_MAX)
        return slv_errf(err, err_len, NET_EFORMAT, "%s: more than 2^31 road nodes", b->path);
    node = calloc(b->n_ids + 1, sizeof(*node));
    deg = calloc(b->n_ids + 1, sizeof(*deg));
    if (node == NULL || deg == NULL) {
        rc = slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory", b->path);
        goto out;
    }
    for (size_t i = 0; i < b->n_ids; i++)
        node[i] = b->found[i] ? n++ : -1;
    /* refs become indices into ids[] */
    for (size_t r = 0; r < b->n_refs; r++)
        b->refs[r] = find_id(b, b->refs[r]);
    segments(b, node, deg, NULL, NULL);
    for (int32_t v = 0; v < n; v++)
        m += deg[v];
    if (m == 0) {
        rc = slv_errf(err, err_len, NET_EEMPTY,
                      "%s: no usable road segment (%lld ways with a drivable highway class, "
                      "%zu kept, %lld segments without their nodes)",
                      b->path, (long long)b->r->drivable_ways, b->n_ways,
                      (long long)b->r->segments_missing);
        goto out;
    }
    if (m >= INT32_MAX) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: more than 2^31 road edges", b->path);
        goto out;
    }
    if (net_graph_create(n, (int32_t)m, &g) != 0) {
        rc = slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory", b->path);
        goto out;
    }
    for (size_t i = 0; i < b->n_ids; i++) {
        if (node[i] < 0)
            continue;
        g->lat[node[i]] = b->lat[i];
        g->lon[node[i]] = b->lon[i];
        g->osm_id[node[i]] = b->ids[i];
    }
    g->first_out[0] = 0;
    for (int32_t v = 0; v < n; v++)
        g->first_out[v + 1] = g->first_out[v] + deg[v];
    memcpy(deg, g->first_out, (size_t)n * sizeof(*deg)); /* deg becomes the fill cursor */
    segments(b, node, NULL, g, deg);
    *out = g;
out:
    free(node);
    free(deg);
    return rc;
}

static int project(bld *b, net_graph *g, char *err, size_t err_len)
{
    net_osm_result *r = b->r;
    geo_proj *p = NULL;
    char why[512] = "";
    int epsg = b->o->epsg, grc, rc = 0;

    r->bbox[0] = r->bbox[2] = g->lon[0];
    r->bbox[1] = r->bbox[3] = g->lat[0];
    for (int32_t v = 1; v < g->n_nodes; v++) {
        r->bbox[0] = fmin(r->bbox[0], g->lon[v]);
        r->bbox[1] = fmin(r->bbox[1], g->lat[v]);
        r->bbox[2] = fmax(r->bbox[2], g->lon[v]);
        r->bbox[3] = fmax(r->bbox[3], g->lat[v]);
    }
    if (epsg == 0)
        epsg = geo_utm_epsg(0.5 * (r->bbox[1] + r->bbox[3]), 0.5 * (r->bbox[0] + r->bbox[2]));
    grc = geo_proj_create(epsg, &p, why, sizeof(why));
    if (grc != 0)
        return slv_errf(err, err_len, NET_EPROJ, "EPSG:%d: %s", epsg,
                        why[0] ? why : geo_strerror(grc));
    grc = geo_forward_n(p, (size_t)g->n_nodes, g->lat, g->lon, g->x, g->y);
    if (grc != 0) {
        rc = slv_errf(err, err_len, NET_EPROJ,
                      "%s: cannot project the road nodes to EPSG:%d: %s (is the area inside "
                      "that CRS's domain?)",
                      b->path, epsg, geo_strerror(grc));
        goto out;
    }
    for (int32_t v = 0; v < g->n_nodes; v++) {
        if (!isfinite(g->x[v]) || !isfinite(g->y[v])) {
            rc = slv_errf(err, err_len, NET_EPROJ,
                          "%s: node %lld (%.7f, %.7f) has no position in EPSG:%d", b->path,
                          (long long)g->osm_id[v], g->lat[v], g->lon[v], epsg);
            goto out;
        }
    }
    g->epsg = epsg;
out:
    geo_proj_destroy(p);
    return rc;
}

/* Turns a reader status into ours. */
static int read_failed(const bld *b, int orc, char *err, size_t err_len)
{
    if (b->oom)
        return slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory collecting the roads",
                        b->path);
    if (orc == OSM_EOPEN)
        return NET_EOPEN;
    if (orc == OSM_ENOMEM)
        return NET_ENOMEM;
    if (orc == OSM_EINVAL)
        return NET_EINVAL;
    return NET_EFORMAT;
}

int net_build_from_osm(const char *pbf_path, const net_osm_opts *o, net_osm_result *out, char *err,
                       size_t err_len)
{
    net_osm_opts defaults;
    osm_handler h;
    osm_counts counts;
    bld b;
    net_graph *g = NULL;
    int rc = 0, orc;

    if (out == NULL || pbf_path == NULL)
        return slv_errf(err, err_len, NET_EINVAL, "net_build_from_osm: no file or no result");
    memset(out, 0, sizeof(*out));
    if (o == NULL) {
        net_osm_opts_default(&defaults);
        o = &defaults;
    }
    memset(&b, 0, sizeof(b));
    b.o = o;
    b.r = out;
    b.path = pbf_path;

    memset(&h, 0, sizeof(h));
    h.ud = &b;
    h.way = on_way;
    h.node = o->want_bus_stops ? on_stop_node : NULL;
    h.progress = on_progress;
    step_begin(&b, "reading ways (pass 1 of 2)");
    orc = osm_pbf_read(pbf_path, &h, &counts, err, err_len);
    step_end(&b);
    out->nodes_read = counts.nodes;
    out->ways_read = counts.ways;
    out->relations_read = counts.relations;
    out->bus_stops = b.stops;
    out->n_bus_stops = (int)b.n_stops;
    b.stops = NULL;
    if (orc != 0) {
        rc = read_failed(&b, orc, err, err_len);
        goto out;
    }
    if (collect_ids(&b) != 0) {
        rc = slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory", pbf_path);
        goto out;
    }

    memset(&h, 0, sizeof(h));
    h.ud = &b;
    h.node = on_coord_node;
    h.progress = on_progress;
    step_begin(&b, "reading road nodes (pass 2 of 2)");
    orc = osm_pbf_read(pbf_path, &h, NULL, err, err_len);
    step_end(&b);
    if (orc != 0) {
        rc = read_failed(&b, orc, err, err_len);
        goto out;
    }

    step_begin(&b, "building the graph");
    rc = make_graph(&b, &g, err, err_len);
    if (rc != 0)
        goto out;
    out->nodes_before_scc = g->n_nodes;
    out->edges_before_scc = g->n_edges;
    rc = net_graph_keep_largest_scc(&g);
    if (rc != 0) {
        rc = slv_errf(err, err_len, rc, "%s: strongly connected component: %s", pbf_path,
                      net_strerror(rc));
        goto out;
    }
    rc = project(&b, g, err, err_len);
    step_end(&b);
    if (rc != 0)
        goto out;
    out->graph = g;
    g = NULL;
out:
    net_graph_destroy(g);
    free(b.ways);
    free(b.refs);
    free(b.ids);
    free(b.lat);
    free(b.lon);
    free(b.found);
    if (b.stops != NULL) {
        for (size_t i = 0; i < b.n_stops; i++) {
            free(b.stops[i].name);
            free(b.stops[i].name_en);
        }
        free(b.stops);
    }
    if (rc != 0)
        net_osm_result_cleanup(out);
    return rc;
}
