/*
 * test_net_build.c - road graphs from OpenStreetMap, the graph file, the
 * strongly connected component and the speed table.
 *
 * The four shared extracts ($NORIAI_SHARED, else ../shared) must give the
 * README's drivable way counts, a strongly connected graph (checked by a
 * forward and a backward search from node 0) that passes net_graph_check,
 * and projected coordinates in the right UTM zone.  One-way streets of the
 * Shibuya extract must have no reverse edge where no other way supplies one.
 *
 * Each tag rule (oneway=yes/-1, roundabouts, implied one-way motorways,
 * access, area=yes, maxspeed in mph and as a zone code, missing nodes, bus
 * stops) is pinned on a six-junction network written here as a PBF file, so
 * that every edge, direction, class and travel time is known exactly.
 *
 * The graph file must round-trip bit for bit (same hash, same arrays) and
 * refuse damage: a flipped byte, a cut, another version, a forged size, and
 * a structurally broken graph carrying a valid checksum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pbfutil.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/geo/geo.h"
#include "data/net/net.h"
#include "data/osm/osm.h"

static char tmp_dir[256];
static char shared[1024];

/* ---------------------------------------------------------------------- */
/* helpers                                                                */

static const char *shared_dir(void)
{
    if (tu_shared_dir(shared, sizeof(shared), "data/osm/tokyo_shibuya.osm.pbf") != 0)
        fail_msg("shared data folder not found: %s is missing (set NORIAI_SHARED to the folder "
                 "holding data/osm)",
                 shared);
    return shared;
}

static void osm_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/data/osm/%s", shared_dir(), name);
}

static const char *tmp_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    return path;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static net_osm_result build_ok(const char *path, const net_osm_opts *o)
{
    net_osm_result r;
    char err[1024] = "";
    int rc = net_build_from_osm(path, o, &r, err, sizeof(err));

    if (rc != 0)
        fail_msg("building %s failed: %s", path, err);
    assert_non_null(r.graph);
    return r;
}

/* Edge u -> v, or -1. */
static int32_t find_edge(const net_graph *g, int32_t u, int32_t v)
{
    for (int32_t e = g->first_out[u]; e < g->first_out[u + 1]; e++) {
        if (g->head[e] == v)
            return e;
    }
    return -1;
}

/* Nodes reached from node 0 forward (reverse = 0) or backward. */
static int32_t reach_from_0(const net_graph *g, int reverse)
{
    int32_t n = g->n_nodes, m = g->n_edges, *queue = malloc((size_t)n * sizeof(int32_t));
    int32_t *rfirst = calloc((size_t)n + 1, sizeof(int32_t)), *rhead = malloc((size_t)m * 4 + 4);
    uint8_t *seen = calloc((size_t)n, 1);
    int32_t qh = 0, qt = 0;

    assert_non_null(queue);
    assert_non_null(rfirst);
    assert_non_null(rhead);
    assert_non_null(seen);
    /* reverse graph in CSR */
    for (int32_t e = 0; e < m; e++)
        rfirst[g->head[e] + 1]++;
    for (int32_t v = 0; v < n; v++)
        rfirst[v + 1] += rfirst[v];
    {
        int32_t *pos = malloc((size_t)n * sizeof(int32_t) + 4);
        assert_non_null(pos);
        memcpy(pos, rfirst, (size_t)n * sizeof(int32_t));
        for (int32_t u = 0; u < n; u++) {
            for (int32_t e = g->first_out[u]; e < g->first_out[u + 1]; e++)
                rhead[pos[g->head[e]]++] = u;
        }
        free(pos);
    }
    seen[0] = 1;
    queue[qt++] = 0;
    while (qh < qt) {
        int32_t u = queue[qh++];
        int32_t lo = reverse ? rfirst[u] : g->first_out[u];
        int32_t hi = reverse ? rfirst[u + 1] : g->first_out[u + 1];

        for (int32_t e = lo; e < hi; e++) {
            int32_t w = reverse ? rhead[e] : g->head[e];
            if (!seen[w]) {
                seen[w] = 1;
                queue[qt++] = w;
            }
        }
    }
    free(queue);
    free(rfirst);
    free(rhead);
    free(seen);
    return qt;
}

static void assert_strongly_connected(const net_graph *g)
{
    assert_true(g->n_nodes > 0);
    assert_int_equal(reach_from_0(g, 0), g->n_nodes);
    assert_int_equal(reach_from_0(g, 1), g->n_nodes);
}

static void assert_valid(const net_graph *g)
{
    char err[512] = "";

    if (net_graph_check(g, err, sizeof(err)) != 0)
        fail_msg("graph check: %s", err);
}

/* ---------------------------------------------------------------------- */
/* the shared extracts                                                    */

typedef struct extract {
    const char *file;
    int64_t nodes, ways, relations;
    int64_t drivable; /* README: drivable highway ways, service included */
    int64_t bus_stop_nodes;
    int epsg; /* UTM zone of the centre */
    double data_bbox[4];
} extract;

static const extract extracts[] = {
    {"tokyo_shibuya.osm.pbf",
     5057,
     1651,
     0,
     647,
     1,
     32654,
     {139.6787882, 35.6477383, 139.7111745, 35.6720881}},
    {"monaco.osm.pbf",
     180118,
     27377,
     212,
     1763,
     161,
     32632,
     {7.3490007, 43.7147967, 7.490996, 43.77}},
    {"liechtenstein.osm.pbf",
     142832,
     15247,
     358,
     2388,
     307,
     32632,
     {9.3977818, 46.7862853, 9.6714552, 47.525823}},
    {"cobb_county_ga.filtered.osm.pbf",
     14796,
     2966,
     79,
     2806,
     0,
     32616,
     {-84.6540309, 33.738318, -84.433938, 33.8953663}},
};

/* Bus stops as the builder defines them, counted with the reader. */
typedef struct stop_count {
    int64_t bus_stop, platform_only;
} stop_count;

static int count_stop(void *ud, const osm_node *n)
{
    stop_count *c = ud;
    const char *hw = osm_tag(&n->tags, "highway"), *pt = osm_tag(&n->tags, "public_transport");
    const char *bus = osm_tag(&n->tags, "bus");

    if (hw != NULL && strcmp(hw, "bus_stop") == 0)
        c->bus_stop++;
    else if (pt != NULL && strcmp(pt, "platform") == 0 && bus != NULL && strcmp(bus, "yes") == 0)
        c->platform_only++;
    return 0;
}

static void test_shared_extracts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(extracts) / sizeof(extracts[0]); i++) {
        const extract *x = &extracts[i];
        char path[1400], err[512];
        net_osm_opts o;
        net_osm_result r;
        const net_graph *g;
        stop_count sc = {0, 0};
        osm_handler h;
        osm_counts c;
        int64_t kept;

        osm_path(path, sizeof(path), x->file);
        net_osm_opts_default(&o);
        r = build_ok(path, &o);
        g = r.graph;
        assert_int_equal(r.nodes_read, x->nodes);
        assert_int_equal(r.ways_read, x->ways);
        assert_int_equal(r.relations_read, x->relations);
        /* the README counts ways by class alone; the builder then leaves out
         * ways closed to motor vehicles, areas and one-node ways */
        assert_int_equal(r.drivable_ways, x->drivable);
        kept = r.drivable_ways - r.ways_no_access - r.ways_area - r.ways_short;
        assert_true(kept > 0.9 * (double)x->drivable);
        assert_true(r.nodes_before_scc >= g->n_nodes);
        assert_true(r.edges_before_scc >= g->n_edges);
        assert_true(g->n_nodes > 0.75 * r.nodes_before_scc);
        assert_valid(g);
        assert_strongly_connected(g);
        assert_int_equal(g->epsg, x->epsg);
        /* graph bbox inside the data's bbox */
        assert_true(r.bbox[0] >= x->data_bbox[0] - 1e-7 && r.bbox[2] <= x->data_bbox[2] + 1e-7);
        assert_true(r.bbox[1] >= x->data_bbox[1] - 1e-7 && r.bbox[3] <= x->data_bbox[3] + 1e-7);
        assert_true(r.bbox[0] < r.bbox[2] && r.bbox[1] < r.bbox[3]);
        /* UTM: eastings within a zone, northings of the right latitude */
        for (int32_t v = 0; v < g->n_nodes; v += 97) {
            assert_true(g->x[v] > 160000 && g->x[v] < 840000);
            assert_true(fabs(g->y[v] - g->lat[v] * 110900) < 40000);
        }
        /* edge lengths agree with the projected geometry (UTM scale, sphere) */
        for (int32_t u = 0; u < g->n_nodes; u += 13) {
            for (int32_t e = g->first_out[u]; e < g->first_out[u + 1]; e++) {
                int32_t v = g->head[e];
                double d = hypot(g->x[u] - g->x[v], g->y[u] - g->y[v]);
                assert_true(fabs(d - g->len_mm[e] / 1000.0) < 0.01 * d + 0.01);
            }
        }
        /* top speed: a van's, from the table or a maxspeed tag */
        assert_true(g->max_speed_mps > 40 / 3.6 && g->max_speed_mps <= 300 * 0.9 / 3.6);

        memset(&h, 0, sizeof(h));
        h.ud = &sc;
        h.node = count_stop;
        assert_int_equal(osm_pbf_read(path, &h, &c, err, sizeof(err)), 0);
        assert_int_equal(sc.bus_stop, x->bus_stop_nodes);
        assert_int_equal(r.n_bus_stops, sc.bus_stop + sc.platform_only);
        net_osm_result_cleanup(&r);
        assert_null(r.graph);
    }
}

/* ---------------------------------------------------------------------- */
/* one-way streets of Shibuya                                             */

typedef struct seg {
    int64_t a, b;
    int64_t way;
    int dir; /* 1 forward only, 0 both */
} seg;

typedef struct segs {
    seg *s;
    size_t n, cap;
    int64_t oneway_ways;
} segs;

static int collect_segs(void *ud, const osm_way *w)
{
    segs *ss = ud;
    const char *hw = osm_tag(&w->tags, "highway"), *ow = osm_tag(&w->tags, "oneway");
    int dir;

    if (net_class_parse(hw) < 0)
        return 0;
    dir = ow != NULL && strcmp(ow, "yes") == 0;
    ss->oneway_ways += dir;
    for (int i = 0; i + 1 < w->n_refs; i++) {
        if (ss->n == ss->cap) {
            ss->cap = ss->cap ? 2 * ss->cap : 1024;
            ss->s = realloc(ss->s, ss->cap * sizeof(*ss->s));
            assert_non_null(ss->s);
        }
        ss->s[ss->n++] = (seg){w->refs[i], w->refs[i + 1], w->id, dir};
    }
    return 0;
}

typedef struct id_index {
    int64_t id;
    int32_t node;
} id_index;

static int cmp_id_index(const void *a, const void *b)
{
    int64_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return (x > y) - (x < y);
}

static int32_t node_of(const id_index *ix, int32_t n, int64_t id)
{
    id_index key = {id, 0}, *hit = bsearch(&key, ix, (size_t)n, sizeof(*ix), cmp_id_index);
    return hit != NULL ? hit->node : -1;
}

static void test_oneway_shibuya(void **state)
{
    char path[1400], err[512];
    net_osm_opts o;
    net_osm_result r;
    const net_graph *g;
    segs ss = {NULL, 0, 0, 0};
    osm_handler h;
    osm_counts c;
    id_index *ix;
    int checked_oneway = 0, checked_twoway = 0;

    (void)state;
    osm_path(path, sizeof(path), "tokyo_shibuya.osm.pbf");
    memset(&h, 0, sizeof(h));
    h.ud = &ss;
    h.way = collect_segs;
    assert_int_equal(osm_pbf_read(path, &h, &c, err, sizeof(err)), 0);
    assert_true(ss.oneway_ways > 100);

    net_osm_opts_default(&o);
    r = build_ok(path, &o);
    g = r.graph;
    ix = malloc((size_t)g->n_nodes * sizeof(*ix));
    assert_non_null(ix);
    for (int32_t v = 0; v < g->n_nodes; v++)
        ix[v] = (id_index){g->osm_id[v], v};
    qsort(ix, (size_t)g->n_nodes, sizeof(*ix), cmp_id_index);

    for (size_t i = 0; i < ss.n; i++) {
        const seg *s = &ss.s[i];
        int32_t u = node_of(ix, g->n_nodes, s->a), v = node_of(ix, g->n_nodes, s->b);
        int shared_pair = 0;

        if (u < 0 || v < 0)
            continue; /* outside the largest component, or a way left out */
        /* does any other drivable way run along the same pair? */
        for (size_t j = 0; j < ss.n && !shared_pair; j++) {
            const seg *t = &ss.s[j];
            shared_pair =
                j != i && ((t->a == s->a && t->b == s->b) || (t->a == s->b && t->b == s->a));
        }
        if (shared_pair)
            continue;
        if (s->dir == 1) {
            if (find_edge(g, v, u) >= 0)
                fail_msg("oneway=yes way %lld: segment %lld -> %lld has a reverse edge",
                         (long long)s->way, (long long)s->a, (long long)s->b);
            checked_oneway += find_edge(g, u, v) >= 0; /* else the way was left out */
        } else if (find_edge(g, u, v) >= 0 && find_edge(g, v, u) >= 0) {
            checked_twoway++;
        }
    }
    if (getenv("NORIAI_TEST_VERBOSE") != NULL)
        fprintf(stderr, "one-way segments checked %d, two-way %d\n", checked_oneway,
                checked_twoway);
    assert_true(checked_oneway > 800);
    assert_true(checked_twoway > 1100);
    free(ix);
    free(ss.s);
    net_osm_result_cleanup(&r);
}

/* ---------------------------------------------------------------------- */
/* every rule on a small crafted network                                  */

/*
 * Junctions about 110 m apart near 35N 139E:
 *
 *     E(5)
 *     |  \
 *     D(4)--C(3)
 *     |  \   |
 *   F-A(1)--B(2)-G(7)
 *
 * Strings of the block's table, by index.
 */
static char *net_strings[] = {
    "",                 /* 0 */
    "highway",          /* 1 */
    "residential",      /* 2 */
    "oneway",           /* 3 */
    "yes",              /* 4 */
    "-1",               /* 5 */
    "tertiary",         /* 6 */
    "junction",         /* 7 */
    "roundabout",       /* 8 */
    "unclassified",     /* 9 */
    "maxspeed",         /* 10 */
    "30 mph",           /* 11 */
    "access",           /* 12 */
    "private",          /* 13 */
    "service",          /* 14 */
    "motor_vehicle",    /* 15 */
    "footway",          /* 16 */
    "area",             /* 17 */
    "motorway",         /* 18 */
    "living_street",    /* 19 */
    "no",               /* 20 */
    "JP:urban",         /* 21 */
    "primary",          /* 22 */
    "reversible",       /* 23 */
    "bus_stop",         /* 24 */
    "name",             /* 25 */
    "駅前",             /* 26 */
    "name:en",          /* 27 */
    "Ekimae",           /* 28 */
    "public_transport", /* 29 */
    "platform",         /* 30 */
    "bus",              /* 31 */
};

typedef struct cway {
    int64_t id;
    int n_refs;
    int64_t refs[4];
    int n_tags;
    uint32_t k[4], v[4];
} cway;

static const cway crafted_ways[] = {
    {1, 2, {1, 2}, 2, {1, 3}, {2, 4}},            /* A->B residential oneway=yes */
    {2, 2, {3, 2}, 2, {1, 3}, {6, 5}},            /* [C,B] tertiary oneway=-1: B->C */
    {3, 3, {3, 4, 1}, 2, {1, 7}, {9, 8}},         /* C->D->A roundabout */
    {4, 2, {4, 5}, 2, {1, 10}, {2, 11}},          /* D<->E residential 30 mph */
    {5, 2, {1, 6}, 2, {1, 12}, {2, 13}},          /* A-F private: left out */
    {6, 2, {1, 6}, 3, {1, 12, 15}, {14, 13, 4}},  /* A<->F service, private but motor_vehicle=yes */
    {7, 2, {2, 7}, 1, {1}, {16}},                 /* footway: not a road */
    {8, 2, {2, 7}, 2, {1, 17}, {2, 4}},           /* residential area=yes: left out */
    {9, 2, {5, 999}, 1, {1}, {2}},                /* to a node not in the file */
    {10, 2, {4, 2}, 1, {1}, {18}},                /* motorway: D->B only */
    {11, 2, {5, 1}, 3, {1, 3, 10}, {19, 20, 21}}, /* E<->A living_street, JP:urban */
    {12, 1, {6}, 1, {1}, {2}},                    /* one node */
    {13, 2, {3, 5}, 2, {1, 3}, {22, 23}},         /* reversible: left out */
    {14, 2, {2, 3}, 1, {1}, {14}},                /* B<->C service */
};

static void write_crafted(const char *path)
{
    Noriai__Osm__PrimitiveBlock pb = NORIAI__OSM__PRIMITIVE_BLOCK__INIT;
    Noriai__Osm__StringTable st = NORIAI__OSM__STRING_TABLE__INIT;
    Noriai__Osm__PrimitiveGroup g1 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup g2 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup *groups[2] = {&g1, &g2};
    Noriai__Osm__DenseNodes dense = NORIAI__OSM__DENSE_NODES__INIT;
    const size_t n_ways = sizeof(crafted_ways) / sizeof(crafted_ways[0]);
    Noriai__Osm__Way ways[sizeof(crafted_ways) / sizeof(crafted_ways[0])];
    Noriai__Osm__Way *way_ptr[sizeof(crafted_ways) / sizeof(crafted_ways[0])];
    int64_t refs[sizeof(crafted_ways) / sizeof(crafted_ways[0])][4];
    ProtobufCBinaryData s[sizeof(net_strings) / sizeof(net_strings[0])];
    /* nodes 1..9: A..G, then H a bus stop and I a bus platform off the roads */
    static const double lat[9] = {35.000, 35.000, 35.001,  35.001, 35.002,
                                  35.000, 35.000, 35.0005, 35.0015};
    static const double lon[9] = {139.000, 139.001, 139.001,  139.000, 139.000,
                                  138.999, 139.002, 139.0005, 139.0015};
    int64_t d_id[9], d_lat[9], d_lon[9], prev_lat = 0, prev_lon = 0;
    int32_t kv[32];
    size_t n_kv = 0;
    pu_bytes b = {0};
    FILE *f;

    for (size_t i = 0; i < sizeof(net_strings) / sizeof(net_strings[0]); i++) {
        s[i].data = (uint8_t *)net_strings[i];
        s[i].len = strlen(net_strings[i]);
    }
    st.n_s = sizeof(net_strings) / sizeof(net_strings[0]);
    st.s = s;
    for (int i = 0; i < 9; i++) {
        int64_t la = llround(lat[i] * 1e7), lo = llround(lon[i] * 1e7);
        d_id[i] = 1; /* ids 1..9 */
        d_lat[i] = la - prev_lat;
        d_lon[i] = lo - prev_lon;
        prev_lat = la;
        prev_lon = lo;
        if (i == 7) { /* H: highway=bus_stop name=駅前 name:en=Ekimae */
            int32_t t[6] = {1, 24, 25, 26, 27, 28};
            memcpy(kv + n_kv, t, sizeof(t));
            n_kv += 6;
        } else if (i == 8) { /* I: public_transport=platform bus=yes */
            int32_t t[4] = {29, 30, 31, 4};
            memcpy(kv + n_kv, t, sizeof(t));
            n_kv += 4;
        }
        kv[n_kv++] = 0;
    }
    dense.n_id = dense.n_lat = dense.n_lon = 9;
    dense.id = d_id;
    dense.lat = d_lat;
    dense.lon = d_lon;
    dense.n_keys_vals = n_kv;
    dense.keys_vals = kv;
    g1.dense = &dense;
    for (size_t w = 0; w < n_ways; w++) {
        const cway *cw = &crafted_ways[w];

        noriai__osm__way__init(&ways[w]);
        ways[w].id = cw->id;
        for (int i = 0; i < cw->n_refs; i++)
            refs[w][i] = cw->refs[i] - (i > 0 ? cw->refs[i - 1] : 0);
        ways[w].n_refs = (size_t)cw->n_refs;
        ways[w].refs = refs[w];
        ways[w].n_keys = ways[w].n_vals = (size_t)cw->n_tags;
        ways[w].keys = (uint32_t *)cw->k;
        ways[w].vals = (uint32_t *)cw->v;
        way_ptr[w] = &ways[w];
    }
    g2.n_ways = n_ways;
    g2.ways = way_ptr;
    pb.stringtable = &st;
    pb.n_primitivegroup = 2;
    pb.primitivegroup = groups;
    pu_std_header(&b);
    pu_block(&b, &pb, PU_ZLIB);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.len, f), b.len);
    assert_int_equal(fclose(f), 0);
    free(b.p);
}

/* The edge between OSM nodes a and b, which must exist; -1 if absent. */
static int32_t osm_edge(const net_graph *g, int64_t a, int64_t b)
{
    int32_t u = -1, v = -1;

    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->osm_id[i] == a)
            u = i;
        if (g->osm_id[i] == b)
            v = i;
    }
    assert_true(u >= 0 && v >= 0);
    return find_edge(g, u, v);
}

static uint32_t expect_ms(const net_graph *g, int32_t e, double kmh)
{
    return (uint32_t)ceil(g->len_mm[e] / (kmh / 3.6));
}

static void test_rules_crafted(void **state)
{
    const char *path = tmp_path("crafted.osm.pbf");
    net_osm_opts o;
    net_osm_result r;
    const net_graph *g;
    int32_t e;
    /* (from, to, present, class) */
    static const struct {
        int64_t a, b;
        int present;
        int cls;
    } edges[] = {
        {1, 2, 1, NET_RESIDENTIAL},
        {2, 1, 0, 0}, /* oneway=yes */
        {2, 3, 1, NET_TERTIARY},
        {3, 4, 1, NET_UNCLASSIFIED}, /* -1; roundabout */
        {4, 3, 0, 0},
        {4, 1, 1, NET_UNCLASSIFIED}, /* roundabout one-way */
        {1, 4, 0, 0},
        {4, 5, 1, NET_RESIDENTIAL}, /* 30 mph two-way */
        {5, 4, 1, NET_RESIDENTIAL},
        {1, 6, 1, NET_SERVICE}, /* motor_vehicle=yes */
        {6, 1, 1, NET_SERVICE},
        {4, 2, 1, NET_MOTORWAY}, /* implied one-way */
        {2, 4, 0, 0},
        {5, 1, 1, NET_LIVING_STREET}, /* oneway=no */
        {1, 5, 1, NET_LIVING_STREET},
        {3, 5, 0, 0}, /* reversible */
        {5, 3, 0, 0},
        {3, 2, 1, NET_SERVICE},
    };

    (void)state;
    write_crafted(path);
    net_osm_opts_default(&o);
    o.epsg = 6677; /* JGD2011 plane rectangular IX */
    r = build_ok(path, &o);
    g = r.graph;
    assert_int_equal(r.nodes_read, 9);
    assert_int_equal(r.ways_read, 14);
    assert_int_equal(r.drivable_ways, 13); /* all but the footway */
    assert_int_equal(r.ways_no_access, 2);
    assert_int_equal(r.ways_area, 1);
    assert_int_equal(r.ways_short, 1);
    assert_int_equal(r.segments_missing, 1);
    assert_int_equal(r.segments_too_long, 0);
    assert_int_equal(r.nodes_before_scc, 6);
    assert_int_equal(r.edges_before_scc, 13);
    assert_int_equal(g->n_nodes, 6);
    assert_int_equal(g->n_edges, 13);
    assert_int_equal(g->epsg, 6677);
    assert_valid(g);
    assert_strongly_connected(g);
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        e = osm_edge(g, edges[i].a, edges[i].b);
        if ((e >= 0) != edges[i].present)
            fail_msg("edge %lld -> %lld: %s", (long long)edges[i].a, (long long)edges[i].b,
                     e >= 0 ? "present, should not be" : "missing");
        if (e >= 0)
            assert_int_equal(g->cls[e], edges[i].cls);
    }
    /* times from the class table, the mph limit and the zone code */
    e = osm_edge(g, 1, 2);
    assert_true(fabs(g->len_mm[e] / 1000.0 - 91.3) < 0.5); /* 0.001 deg of longitude at 35N */
    assert_int_equal(g->time_ms[e], expect_ms(g, e, 25));
    e = osm_edge(g, 4, 5);
    assert_true(fabs(g->len_mm[e] / 1000.0 - 111.2) < 0.5);
    assert_int_equal(g->time_ms[e], expect_ms(g, e, 30 * 1.609344 * 0.9));
    e = osm_edge(g, 5, 1);
    assert_int_equal(g->time_ms[e], expect_ms(g, e, 10));
    e = osm_edge(g, 4, 2);
    assert_int_equal(g->time_ms[e], expect_ms(g, e, 80));
    assert_true(fabs(g->max_speed_mps - 80 / 3.6) < 0.01);
    /* JGD2011 IX: origin 36N 139 50'E; 35N 139E is ~111 km south, ~76 km west */
    for (int32_t v = 0; v < g->n_nodes; v++) {
        assert_true(g->x[v] < -70000 && g->x[v] > -80000);
        assert_true(g->y[v] < -105000 && g->y[v] > -115000);
    }

    /* bus stops with their names */
    assert_int_equal(r.n_bus_stops, 2);
    assert_int_equal(r.bus_stops[0].osm_id, 8);
    assert_string_equal(r.bus_stops[0].name, "駅前");
    assert_string_equal(r.bus_stops[0].name_en, "Ekimae");
    assert_true(fabs(r.bus_stops[0].lat - 35.0005) < 1e-9);
    assert_int_equal(r.bus_stops[1].osm_id, 9);
    assert_null(r.bus_stops[1].name);
    assert_null(r.bus_stops[1].name_en);
    net_osm_result_cleanup(&r);

    /* without service roads F drops out; without stops none are kept */
    net_osm_opts_default(&o);
    o.speeds.use_service = 0;
    o.want_bus_stops = 0;
    r = build_ok(path, &o);
    assert_int_equal(r.drivable_ways, 11);
    assert_int_equal(r.graph->n_nodes, 5);
    assert_int_equal(r.n_bus_stops, 0);
    assert_int_equal(osm_edge(r.graph, 3, 2), -1);
    assert_int_equal(r.graph->epsg, 32654);
    net_osm_result_cleanup(&r);
}

static void test_build_errors(void **state)
{
    char path[1400], err[1024] = "";
    net_osm_result r;
    uint8_t *buf;
    size_t len;
    net_osm_opts o;

    (void)state;
    assert_int_equal(net_build_from_osm("/nonexistent/x.pbf", NULL, &r, err, sizeof(err)),
                     NET_EOPEN);
    assert_non_null(strstr(err, "/nonexistent/x.pbf"));
    assert_null(r.graph);

    osm_path(path, sizeof(path), "tokyo_shibuya.osm.pbf");
    buf = slurp(path, &len);
    spit(tmp_path("cut.osm.pbf"), buf, len / 2);
    assert_int_equal(net_build_from_osm(tmp_path("cut.osm.pbf"), NULL, &r, err, sizeof(err)),
                     NET_EFORMAT);
    assert_non_null(strstr(err, "cut.osm.pbf"));
    assert_null(r.graph);
    assert_int_equal(r.n_bus_stops, 0);
    free(buf);

    /* an unknown CRS */
    net_osm_opts_default(&o);
    o.epsg = 4; /* not a CRS */
    assert_int_equal(net_build_from_osm(path, &o, &r, err, sizeof(err)), NET_EPROJ);
    assert_null(r.graph);

    /* a file with roads but none drivable */
    {
        pu_bytes b = {0};
        pu_std_header(&b);
        spit(tmp_path("empty.osm.pbf"), b.p, b.len);
        free(b.p);
        assert_int_equal(net_build_from_osm(tmp_path("empty.osm.pbf"), NULL, &r, err, sizeof(err)),
                         NET_EEMPTY);
        assert_non_null(strstr(err, "no usable road"));
    }
}

/* ---------------------------------------------------------------------- */
/* the graph file                                                         */

static void assert_same_graph(const net_graph *a, const net_graph *b)
{
    size_t n = (size_t)a->n_nodes, m = (size_t)a->n_edges;

    assert_int_equal(a->n_nodes, b->n_nodes);
    assert_int_equal(a->n_edges, b->n_edges);
    assert_int_equal(a->epsg, b->epsg);
    assert_true(a->max_speed_mps == b->max_speed_mps);
    assert_memory_equal(a->lat, b->lat, n * sizeof(double));
    assert_memory_equal(a->lon, b->lon, n * sizeof(double));
    assert_memory_equal(a->x, b->x, n * sizeof(double));
    assert_memory_equal(a->y, b->y, n * sizeof(double));
    assert_memory_equal(a->osm_id, b->osm_id, n * sizeof(int64_t));
    assert_memory_equal(a->first_out, b->first_out, (n + 1) * sizeof(int32_t));
    assert_memory_equal(a->head, b->head, m * sizeof(int32_t));
    assert_memory_equal(a->len_mm, b->len_mm, m * sizeof(uint32_t));
    assert_memory_equal(a->time_ms, b->time_ms, m * sizeof(uint32_t));
    assert_memory_equal(a->cls, b->cls, m);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Rewrites the trailing checksum so that only deeper checks can refuse. */
static void reseal(uint8_t *buf, size_t len)
{
    uint64_t h = fnv(buf, len - 8);

    for (int i = 0; i < 8; i++)
        buf[len - 8 + i] = (uint8_t)(h >> (8 * i));
}

static void expect_refused(const uint8_t *buf, size_t len, const char *what, const char *msg)
{
    const char *p = tmp_path("bad.graph");
    net_graph *g = (net_graph *)1;
    char err[512] = "";
    int rc;

    spit(p, buf, len);
    rc = net_graph_load(p, &g, err, sizeof(err));
    if (rc != NET_EFORMAT || strstr(err, msg) == NULL)
        fail_msg("%s: rc %d, \"%s\" (expected \"%s\")", what, rc, err, msg);
    assert_null(g);
    assert_non_null(strstr(err, "bad.graph"));
}

static void test_save_load(void **state)
{
    char path[1400], err[512] = "";
    net_osm_result r;
    net_graph *g2 = NULL;
    const char *gp = tmp_path("shibuya.graph");
    uint8_t *buf, *bad;
    size_t len;
    uint32_t n, m;

    (void)state;
    osm_path(path, sizeof(path), "tokyo_shibuya.osm.pbf");
    r = build_ok(path, NULL);
    if (net_graph_save(r.graph, gp, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    if (net_graph_load(gp, &g2, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_same_graph(r.graph, g2);
    assert_true(net_graph_hash(r.graph) == net_graph_hash(g2));
    net_graph_destroy(g2);

    /* the hash sees times: a slower edge is another graph */
    {
        uint64_t h = net_graph_hash(r.graph);
        r.graph->time_ms[0]++;
        assert_true(net_graph_hash(r.graph) != h);
        r.graph->time_ms[0]--;
    }

    buf = slurp(gp, &len);
    n = (uint32_t)r.graph->n_nodes;
    m = (uint32_t)r.graph->n_edges;
    assert_int_equal(len, 32 + 40 * (size_t)n + 4 * ((size_t)n + 1) + 13 * (size_t)m + 8);
    bad = malloc(len);
    assert_non_null(bad);

    memcpy(bad, buf, len);
    bad[len / 2] ^= 0x10;
    expect_refused(bad, len, "flipped byte", "checksum mismatch");
    expect_refused(buf, len - 1, "cut by one byte", "truncated or damaged");
    expect_refused(buf, 20, "cut in the header", "too short");
    memcpy(bad, buf, len);
    bad[0] = 'X';
    expect_refused(bad, len, "magic", "not a noriai graph file");
    memcpy(bad, buf, len);
    bad[8] = 2;
    expect_refused(bad, len, "version", "version 2");
    memcpy(bad, buf, len);
    bad[12] = bad[13] = bad[14] = 0xff;
    bad[15] = 0x7f; /* 2^31 - 1 nodes */
    expect_refused(bad, len, "huge node count", "impossible size");
    memcpy(bad, buf, len);
    bad[17] ^= 0x01; /* edges count off by 256 */
    expect_refused(bad, len, "edge count", "truncated or damaged");
    /* valid checksum, broken structure: a head outside the graph */
    {
        size_t head_at = 32 + 40 * (size_t)n + 4 * ((size_t)n + 1);
        memcpy(bad, buf, len);
        bad[head_at + 3] = 0x7f;
        reseal(bad, len);
        expect_refused(bad, len, "head out of range", "is not a node");
        /* an edge faster than the top speed */
        memcpy(bad, buf, len);
        memset(bad + head_at + 8 * (size_t)m, 0, 4); /* time_ms[0] = 0 with a length */
        reseal(bad, len);
        expect_refused(bad, len, "zero time", "in no time");
        /* a latitude off the globe */
        memcpy(bad, buf, len);
        memset(bad + 32, 0x7f, 8);
        reseal(bad, len);
        expect_refused(bad, len, "latitude", "not on the globe");
    }

    assert_int_equal(net_graph_load("/nonexistent/g.graph", &g2, err, sizeof(err)), NET_EOPEN);
    assert_int_equal(net_graph_save(r.graph, "/nonexistent/dir/g.graph", err, sizeof(err)),
                     NET_EWRITE);
    assert_non_null(strstr(err, "/nonexistent/dir/g.graph"));
    free(bad);
    free(buf);
    net_osm_result_cleanup(&r);
}

/* ---------------------------------------------------------------------- */
/* strongly connected components                                          */

/* A graph from an edge list (lengths 1000 mm, 100 ms). */
static net_graph *graph_of(int32_t n, const int32_t (*edge)[2], int32_t m)
{
    net_graph *g;
    int32_t *pos;

    assert_int_equal(net_graph_create(n, m, &g), 0);
    for (int32_t i = 0; i < m; i++)
        g->first_out[edge[i][0] + 1]++;
    for (int32_t v = 0; v < n; v++)
        g->first_out[v + 1] += g->first_out[v];
    pos = malloc(((size_t)n + 1) * sizeof(*pos));
    assert_non_null(pos);
    memcpy(pos, g->first_out, ((size_t)n + 1) * sizeof(*pos));
    for (int32_t i = 0; i < m; i++) {
        int32_t e = pos[edge[i][0]]++;
        g->head[e] = edge[i][1];
        g->len_mm[e] = 1000;
        g->time_ms[e] = 100;
        g->cls[e] = NET_RESIDENTIAL;
    }
    for (int32_t v = 0; v < n; v++) {
        g->osm_id[v] = 100 + v;
        g->lat[v] = 35;
        g->lon[v] = 139;
    }
    g->max_speed_mps = 10;
    free(pos);
    return g;
}

static void test_scc_small(void **state)
{
    /* 0->1->2->0, 2->3, 3<->4<->5<->6, 6->0: {0,1,2} reaches {3..6} and back
     * through 6->0, so all seven form one component; without 6->0 the
     * largest is {3,4,5,6} */
    static const int32_t edges[][2] = {{0, 1}, {1, 2}, {2, 0}, {2, 3}, {3, 4}, {4, 3},
                                       {4, 5}, {5, 4}, {5, 6}, {6, 5}, {6, 0}};
    net_graph *g = graph_of(7, edges, 11);

    (void)state;
    assert_int_equal(net_graph_keep_largest_scc(&g), 0);
    assert_int_equal(g->n_nodes, 7);
    assert_int_equal(g->n_edges, 11);
    net_graph_destroy(g);

    g = graph_of(7, edges, 10);
    g->time_ms[0] = 50; /* the fastest edge, 0->1, goes with its component */
    assert_int_equal(net_graph_keep_largest_scc(&g), 0);
    assert_int_equal(g->n_nodes, 4);
    assert_int_equal(g->n_edges, 6);
    for (int32_t v = 0; v < 4; v++)
        assert_int_equal(g->osm_id[v], 103 + v);
    assert_int_equal(find_edge(g, 0, 1) >= 0, 1);
    assert_int_equal(find_edge(g, 3, 2) >= 0, 1);
    assert_true(fabs(g->max_speed_mps - 10) < 1e-12);
    assert_valid(g);
    assert_strongly_connected(g);
    net_graph_destroy(g);

    g = graph_of(3, edges, 0);
    assert_int_equal(net_graph_keep_largest_scc(&g), 0);
    assert_int_equal(g->n_nodes, 1);
    net_graph_destroy(g);
    g = graph_of(0, edges, 0);
    assert_int_equal(net_graph_keep_largest_scc(&g), NET_EEMPTY);
    net_graph_destroy(g);
}

/* One long cycle plus a tail: a depth-first search 300,000 nodes deep. */
static void test_scc_deep(void **state)
{
    int32_t n = 300000, m = n + 100;
    int32_t(*edges)[2] = malloc((size_t)m * sizeof(*edges));
    net_graph *g;

    (void)state;
    assert_non_null(edges);
    for (int32_t v = 0; v < n - 100; v++) {
        edges[v][0] = v;
        edges[v][1] = v + 1 < n - 100 ? v + 1 : 0;
    }
    for (int32_t v = n - 100; v < n; v++) { /* a path hanging off node 5 */
        edges[v][0] = v == n - 100 ? 5 : v - 1;
        edges[v][1] = v;
    }
    for (int32_t i = n; i < m; i++) { /* chords inside the cycle */
        edges[i][0] = (i - n) * 1000 + 7;
        edges[i][1] = (i - n) * 1000 + 3;
    }
    g = graph_of(n, (const int32_t(*)[2])edges, m);
    assert_int_equal(net_graph_keep_largest_scc(&g), 0);
    assert_int_equal(g->n_nodes, n - 100);
    assert_int_equal(g->n_edges, n - 100 + 100);
    assert_strongly_connected(g);
    net_graph_destroy(g);
    free(edges);
}

/* ---------------------------------------------------------------------- */
/* speeds and names                                                       */

static void test_speeds_and_classes(void **state)
{
    net_speeds s, before;
    char err[512] = "";

    (void)state;
    net_speeds_default(&s);
    assert_true(s.kmh[NET_MOTORWAY] == 80 && s.kmh[NET_RESIDENTIAL] == 25);
    assert_true(s.kmh[NET_LIVING_STREET] == 10 && s.kmh[NET_SERVICE] == 15);
    assert_true(s.maxspeed_factor == 0.9 && s.use_service == 1);
    for (int c = 0; c < NET_CLASS_COUNT; c++) {
        assert_true(s.kmh[c] >= 10 && s.kmh[c] <= 80);
        assert_int_equal(net_class_parse(net_class_name((net_class)c)), c);
    }
    assert_int_equal(net_class_parse("footway"), -1);
    assert_int_equal(net_class_parse(NULL), -1);
    assert_string_equal(net_class_name(NET_TERTIARY_LINK), "tertiary_link");

    assert_int_equal(net_speeds_parse_json(&s,
                                           "{\"residential\": 20, \"motorway\": 90.5, "
                                           "\"maxspeed_factor\": 0.8, \"use_service\": false}",
                                           err, sizeof(err)),
                     0);
    assert_true(s.kmh[NET_RESIDENTIAL] == 20 && s.kmh[NET_MOTORWAY] == 90.5);
    assert_true(s.maxspeed_factor == 0.8 && s.use_service == 0);
    assert_true(s.kmh[NET_PRIMARY] == 50);

    before = s;
    assert_int_equal(net_speeds_parse_json(&s, "{\"residental\": 20}", err, sizeof(err)),
                     NET_EFORMAT);
    assert_non_null(strstr(err, "unknown key \"residental\""));
    assert_int_equal(net_speeds_parse_json(&s, "{\"primary\": 10, \"trunk\": 0}", err, sizeof(err)),
                     NET_EFORMAT);
    assert_non_null(strstr(err, "trunk"));
    assert_int_equal(net_speeds_parse_json(&s, "{\"primary\": \"fast\"}", err, sizeof(err)),
                     NET_EFORMAT);
    assert_int_equal(net_speeds_parse_json(&s, "{\"maxspeed_factor\": 5}", err, sizeof(err)),
                     NET_EFORMAT);
    assert_int_equal(net_speeds_parse_json(&s, "{\"use_service\": 1}", err, sizeof(err)),
                     NET_EFORMAT);
    assert_int_equal(net_speeds_parse_json(&s, "[25]", err, sizeof(err)), NET_EFORMAT);
    assert_int_equal(net_speeds_parse_json(&s, "{\"primary\": 10,\n", err, sizeof(err)),
                     NET_EFORMAT);
    assert_non_null(strstr(err, "line "));
    assert_int_equal(net_speeds_parse_json(&s, NULL, err, sizeof(err)), NET_EINVAL);
    assert_memory_equal(&s, &before, sizeof(s)); /* untouched by every failure */

    assert_string_equal(net_strerror(NET_EPROJ), "coordinate transformation failed");
    assert_string_equal(net_strerror(0), "success");
}

/* ---------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "netbuild");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_extracts), cmocka_unit_test(test_oneway_shibuya),
        cmocka_unit_test(test_rules_crafted),   cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_save_load),       cmocka_unit_test(test_scc_small),
        cmocka_unit_test(test_scc_deep),        cmocka_unit_test(test_speeds_and_classes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
