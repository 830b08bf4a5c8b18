/*
 * test_osm.c - the OSM PBF reader against real extracts and broken files.
 *
 * Real files come from the shared data folder ($NORIAI_SHARED, else
 * ../shared from the repository root): the counts of all four extracts must
 * equal those osmium gives (../shared/data/README.md), and the Shibuya PBF
 * must agree node for node and way for way with the Shibuya OSM XML, which
 * holds the same data.  Without the folder the tests fail: they are the
 * proof that the reader decodes real writers' output.
 *
 * Small files are also built here with the reader's own generated protobuf-c
 * code, to pin down what no real file shows: granularity and offsets, plain
 * Nodes, bad string indices, unsupported features and compressions, and
 * length fields far beyond the data.  Truncation at many offsets and a few
 * hundred deterministic bit flips - in the zlib file and in a copy with raw
 * blobs, so that flips reach the protobuf layer too - must each give an error
 * with a message or a consistent result, never a crash (these tests also run
 * under ASan and UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/osm/osm.h"
#include "pbfutil.h"

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
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static const char *write_tmp(const char *name, const uint8_t *content, size_t len)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* What a read delivered, kept small: counts, bbox, a hash of everything. */
typedef struct seen {
    int64_t nodes, ways, tagged_nodes;
    int64_t highway_ways, bus_stops;
    double min_lat, min_lon, max_lat, max_lon;
    uint64_t hash;
    int headers, has_bbox;
    double bbox[4];
    int stop_after; /* > 0: abort at that many elements */
    uint64_t last_done, last_total;
    int progress_calls, progress_backwards;
} seen;

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    while (*s)
        h = mix(h, (unsigned char)*s++);
    return mix(h, 0);
}

static void seen_init(seen *s)
{
    memset(s, 0, sizeof(*s));
    s->min_lat = s->min_lon = 1e9;
    s->max_lat = s->max_lon = -1e9;
}

static int on_node(void *ud, const osm_node *n)
{
    seen *s = ud;
    const char *hw = osm_tag(&n->tags, "highway");

    s->nodes++;
    s->tagged_nodes += n->tags.n > 0;
    s->bus_stops += hw != NULL && strcmp(hw, "bus_stop") == 0;
    if (n->lat < s->min_lat)
        s->min_lat = n->lat;
    if (n->lat > s->max_lat)
        s->max_lat = n->lat;
    if (n->lon < s->min_lon)
        s->min_lon = n->lon;
    if (n->lon > s->max_lon)
        s->max_lon = n->lon;
    s->hash = mix(s->hash, (uint64_t)n->id);
    s->hash = mix(s->hash, (uint64_t)llround(n->lat * 1e7));
    s->hash = mix(s->hash, (uint64_t)llround(n->lon * 1e7));
    for (int i = 0; i < n->tags.n; i++) {
        s->hash = mix_str(s->hash, n->tags.keys[i]);
        s->hash = mix_str(s->hash, n->tags.vals[i]);
    }
    return s->stop_after > 0 && s->nodes + s->ways >= s->stop_after;
}

static int on_way(void *ud, const osm_way *w)
{
    seen *s = ud;

    s->ways++;
    s->highway_ways += osm_tag(&w->tags, "highway") != NULL;
    s->hash = mix(s->hash, (uint64_t)w->id);
    for (int i = 0; i < w->n_refs; i++)
        s->hash = mix(s->hash, (uint64_t)w->refs[i]);
    for (int i = 0; i < w->tags.n; i++) {
        s->hash = mix_str(s->hash, w->tags.keys[i]);
        s->hash = mix_str(s->hash, w->tags.vals[i]);
    }
    return s->stop_after > 0 && s->nodes + s->ways >= s->stop_after;
}

static int on_header(void *ud, double min_lon, double min_lat, double max_lon, double max_lat,
                     int has_bbox)
{
    seen *s = ud;

    s->headers++;
    s->has_bbox = has_bbox;
    s->bbox[0] = min_lon;
    s->bbox[1] = min_lat;
    s->bbox[2] = max_lon;
    s->bbox[3] = max_lat;
    return 0;
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    seen *s = ud;

    s->progress_backwards += done < s->last_done;
    s->last_done = done;
    s->last_total = total;
    s->progress_calls++;
}

static osm_handler handler(seen *s)
{
    osm_handler h;

    memset(&h, 0, sizeof(h));
    h.ud = s;
    h.node = on_node;
    h.way = on_way;
    h.header = on_header;
    h.progress = on_progress;
    return h;
}

/* The string table every crafted block uses. */
static char *strings[] = {"", "highway", "bus_stop", "name", "Shibuya", "oneway", "yes"};

static void set_strings(Noriai__Osm__StringTable *st, ProtobufCBinaryData *s)
{
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        s[i].data = (uint8_t *)strings[i];
        s[i].len = strlen(strings[i]);
    }
    st->n_s = sizeof(strings) / sizeof(strings[0]);
    st->s = s;
}

/* Reads a crafted buffer; returns rc, fills s and err. */
static int read_buf(const pu_bytes *b, seen *s, char *err, size_t err_len)
{
    osm_handler h = handler(s);
    osm_counts c;

    seen_init(s);
    return osm_pbf_read_mem(b->p, b->len, "crafted.pbf", &h, &c, err, err_len);
}

/* ---------------------------------------------------------------------- */
/* real extracts                                                          */

typedef struct extract {
    const char *file;
    int64_t nodes, ways, relations;
    int64_t highway_ways, bus_stops;
    int has_bbox;
    double bbox[4];      /* header bbox */
    double data_bbox[4]; /* min_lon, min_lat, max_lon, max_lat of all nodes (osmium) */
} extract;

/* ../shared/data/README.md */
static const extract extracts[] = {
    {"tokyo_shibuya.osm.pbf",
     5057,
     1651,
     0,
     1651,
     1,
     1,
     {139.695, 35.655, 139.710, 35.665},
     {139.6787882, 35.6477383, 139.7111745, 35.6720881}},
    {"monaco.osm.pbf",
     180118,
     27377,
     212,
     2927,
     161,
     1,
     {7.349, 43.71, 7.491, 43.77},
     {7.3490007, 43.7147967, 7.490996, 43.77}},
    {"liechtenstein.osm.pbf",
     142832,
     15247,
     358,
     4660,
     307,
     1,
     {9.471078, 47.04774, 9.636217, 47.27128},
     {9.3977818, 46.7862853, 9.6714552, 47.525823}},
    {"cobb_county_ga.filtered.osm.pbf",
     14796,
     2966,
     79,
     2944,
     0,
     0,
     {0, 0, 0, 0},
     {-84.6540309, 33.738318, -84.433938, 33.8953663}},
};

static void test_extract_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(extracts) / sizeof(extracts[0]); i++) {
        const extract *x = &extracts[i];
        char path[1400], err[1024] = "";
        seen s;
        osm_handler h = handler(&s);
        osm_counts c;
        int rc;

        osm_path(path, sizeof(path), x->file);
        seen_init(&s);
        rc = osm_pbf_read(path, &h, &c, err, sizeof(err));
        if (rc != 0)
            fail_msg("%s: %s", x->file, err);
        assert_int_equal(c.nodes, x->nodes);
        assert_int_equal(c.ways, x->ways);
        assert_int_equal(c.relations, x->relations);
        assert_int_equal(s.nodes, x->nodes);
        assert_int_equal(s.ways, x->ways);
        assert_int_equal(s.highway_ways, x->highway_ways);
        assert_int_equal(s.bus_stops, x->bus_stops);
        assert_int_equal(s.headers, 1);
        assert_int_equal(s.has_bbox, x->has_bbox);
        for (int k = 0; k < 4 && x->has_bbox; k++)
            assert_true(fabs(s.bbox[k] - x->bbox[k]) < 1e-9);
        /* osmium's data bbox, to its 7 decimals */
        assert_true(fabs(s.min_lon - x->data_bbox[0]) < 1.5e-7);
        assert_true(fabs(s.min_lat - x->data_bbox[1]) < 1.5e-7);
        assert_true(fabs(s.max_lon - x->data_bbox[2]) < 1.5e-7);
        assert_true(fabs(s.max_lat - x->data_bbox[3]) < 1.5e-7);
        /* progress went forward and ended at the file's size */
        assert_true(s.progress_calls > 0);
        assert_int_equal(s.progress_backwards, 0);
        assert_true(s.last_total > 0);
        assert_int_equal(s.last_done, s.last_total);
        assert_int_equal(c.blobs, s.progress_calls);
    }
}

/* Reading without callbacks counts the same; memory and file reads agree. */
static void test_counts_only_and_mem(void **state)
{
    char path[1400], err[1024] = "";
    osm_counts c, cm;
    seen s1, s2;
    osm_handler h1 = handler(&s1), h2 = handler(&s2);
    uint8_t *buf;
    size_t len;

    (void)state;
    osm_path(path, sizeof(path), "monaco.osm.pbf");
    assert_int_equal(osm_pbf_read(path, NULL, &c, err, sizeof(err)), 0);
    assert_int_equal(c.nodes, 180118);
    assert_int_equal(c.ways, 27377);
    assert_int_equal(c.relations, 212);
    assert_int_equal(c.blobs, 4);

    seen_init(&s1);
    seen_init(&s2);
    assert_int_equal(osm_pbf_read(path, &h1, &c, err, sizeof(err)), 0);
    buf = slurp(path, &len);
    assert_int_equal(osm_pbf_read_mem(buf, len, "monaco", &h2, &cm, err, sizeof(err)), 0);
    assert_int_equal(c.nodes, cm.nodes);
    assert_int_equal(c.ways, cm.ways);
    assert_true(s1.hash == s2.hash);
    assert_int_equal(s1.tagged_nodes, s2.tagged_nodes);
    free(buf);
}

/* ---------------------------------------------------------------------- */
/* the Shibuya PBF against the Shibuya XML                                */

typedef struct xnode {
    int64_t id;
    double lat, lon;
    int n_tags;
} xnode;

typedef struct xway {
    int64_t id;
    int n_refs, n_tags;
    int64_t *refs;
} xway;

typedef struct xml_data {
    xnode *nodes;
    int n_nodes;
    xway *ways;
    int n_ways;
} xml_data;

/* Just enough of OSM XML as Overpass writes it: one element per line. */
static void xml_load(const char *path, xml_data *d)
{
    size_t len;
    char *text = (char *)slurp(path, &len), *line, *save = NULL;
    int in_node = 0, in_way = 0;

    memset(d, 0, sizeof(*d));
    d->nodes = calloc(10000, sizeof(*d->nodes));
    d->ways = calloc(5000, sizeof(*d->ways));
    assert_non_null(d->nodes);
    assert_non_null(d->ways);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        long long id, ref;
        double lat, lon;

        while (*line == ' ')
            line++;
        if (sscanf(line, "<node id=\"%lld\" lat=\"%lf\" lon=\"%lf\"", &id, &lat, &lon) == 3) {
            assert_true(d->n_nodes < 10000);
            d->nodes[d->n_nodes++] = (xnode){id, lat, lon, 0};
            in_node = strstr(line, "/>") == NULL;
            in_way = 0;
        } else if (sscanf(line, "<way id=\"%lld\"", &id) == 1) {
            assert_true(d->n_ways < 5000);
            d->ways[d->n_ways].id = id;
            d->ways[d->n_ways].refs = malloc(4000 * sizeof(int64_t));
            assert_non_null(d->ways[d->n_ways].refs);
            d->n_ways++;
            in_way = 1;
            in_node = 0;
        } else if (in_way && sscanf(line, "<nd ref=\"%lld\"", &ref) == 1) {
            xway *w = &d->ways[d->n_ways - 1];
            assert_true(w->n_refs < 4000);
            w->refs[w->n_refs++] = ref;
        } else if (strncmp(line, "<tag ", 5) == 0) {
            if (in_node)
                d->nodes[d->n_nodes - 1].n_tags++;
            else if (in_way)
                d->ways[d->n_ways - 1].n_tags++;
        } else if (strncmp(line, "</node>", 7) == 0 || strncmp(line, "</way>", 6) == 0) {
            in_node = in_way = 0;
        } else if (strncmp(line, "<relation", 9) == 0) {
            in_node = in_way = 0;
        }
    }
    free(text);
}

static void xml_free(xml_data *d)
{
    for (int i = 0; i < d->n_ways; i++)
        free(d->ways[i].refs);
    free(d->ways);
    free(d->nodes);
}

typedef struct cmp_state {
    const xml_data *x;
    int node_i, way_i;
    int mismatches;
    char first[256];
} cmp_state;

static void mismatch(cmp_state *c, const char *what, long long id)
{
    if (c->mismatches++ == 0)
        snprintf(c->first, sizeof(c->first), "%s %lld", what, id);
}

static int cmp_node(void *ud, const osm_node *n)
{
    cmp_state *c = ud;
    const xnode *x;

    if (c->node_i >= c->x->n_nodes) {
        mismatch(c, "extra node", (long long)n->id);
        return 0;
    }
    x = &c->x->nodes[c->node_i++];
    if (x->id != n->id || fabs(x->lat - n->lat) > 5e-8 || fabs(x->lon - n->lon) > 5e-8 ||
        x->n_tags != n->tags.n)
        mismatch(c, "node", (long long)n->id);
    return 0;
}

static int cmp_way(void *ud, const osm_way *w)
{
    cmp_state *c = ud;
    const xway *x;

    if (c->way_i >= c->x->n_ways) {
        mismatch(c, "extra way", (long long)w->id);
        return 0;
    }
    x = &c->x->ways[c->way_i++];
    if (x->id != w->id || x->n_refs != w->n_refs || x->n_tags != w->tags.n) {
        mismatch(c, "way", (long long)w->id);
        return 0;
    }
    for (int i = 0; i < w->n_refs; i++) {
        if (x->refs[i] != w->refs[i]) {
            mismatch(c, "way refs", (long long)w->id);
            break;
        }
    }
    return 0;
}

static void test_shibuya_pbf_equals_xml(void **state)
{
    char pbf[1400], xml[1400], err[1024] = "";
    xml_data d;
    cmp_state c;
    osm_handler h;
    osm_counts counts;

    (void)state;
    osm_path(pbf, sizeof(pbf), "tokyo_shibuya.osm.pbf");
    osm_path(xml, sizeof(xml), "tokyo_shibuya.osm");
    xml_load(xml, &d);
    assert_int_equal(d.n_nodes, 5057);
    assert_int_equal(d.n_ways, 1651);
    memset(&c, 0, sizeof(c));
    c.x = &d;
    memset(&h, 0, sizeof(h));
    h.ud = &c;
    h.node = cmp_node;
    h.way = cmp_way;
    assert_int_equal(osm_pbf_read(pbf, &h, &counts, err, sizeof(err)), 0);
    if (c.mismatches != 0)
        fail_msg("%d elements differ from the XML, first: %s", c.mismatches, c.first);
    assert_int_equal(c.node_i, 5057);
    assert_int_equal(c.way_i, 1651);
    xml_free(&d);
}

/* ---------------------------------------------------------------------- */
/* crafted blocks                                                         */

static void test_granularity_offsets_plain_and_dense(void **state)
{
    Noriai__Osm__PrimitiveBlock pb = NORIAI__OSM__PRIMITIVE_BLOCK__INIT;
    Noriai__Osm__StringTable st = NORIAI__OSM__STRING_TABLE__INIT;
    Noriai__Osm__PrimitiveGroup g1 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup g2 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup g3 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup *groups[3] = {&g1, &g2, &g3};
    Noriai__Osm__Node node = NORIAI__OSM__NODE__INIT, *nodes[1] = {&node};
    Noriai__Osm__DenseNodes dense = NORIAI__OSM__DENSE_NODES__INIT;
    Noriai__Osm__Way way = NORIAI__OSM__WAY__INIT, *ways[1] = {&way};
    Noriai__Osm__Relation rel = NORIAI__OSM__RELATION__INIT, *rels[1] = {&rel};
    ProtobufCBinaryData s[8];
    uint32_t nkeys[2] = {1, 3}, nvals[2] = {2, 4};
    /* three dense nodes: ids 100, 101, 105; tags only on the second */
    int64_t d_id[3] = {100, 1, 4}, d_lat[3] = {35000, 10, -20}, d_lon[3] = {139000, -5, 7};
    int32_t d_kv[5] = {0, 5, 6, 0, 0};
    int64_t refs[3] = {100, 5, -4}; /* 100, 105, 101 */
    uint32_t wkeys[1] = {5}, wvals[1] = {6};
    pu_bytes b = {0};
    seen sn;
    char err[512] = "";
    int rc;

    (void)state;
    set_strings(&st, s);
    pb.stringtable = &st;
    pb.has_granularity = 1;
    pb.granularity = 1000; /* 1 unit = 1 microdegree */
    pb.has_lat_offset = 1;
    pb.lat_offset = 1000000000; /* +1 degree */
    pb.has_lon_offset = 1;
    pb.lon_offset = -2000000000; /* -2 degrees */
    node.id = 7;
    node.lat = 35500000; /* 35.5 + 1 */
    node.lon = 139250000;
    node.n_keys = 2;
    node.keys = nkeys;
    node.n_vals = 2;
    node.vals = nvals;
    g1.n_nodes = 1;
    g1.nodes = nodes;
    dense.n_id = dense.n_lat = dense.n_lon = 3;
    dense.id = d_id;
    dense.lat = d_lat;
    dense.lon = d_lon;
    dense.n_keys_vals = 5;
    dense.keys_vals = d_kv;
    g2.dense = &dense;
    way.id = 9;
    way.n_refs = 3;
    way.refs = refs;
    way.n_keys = way.n_vals = 1;
    way.keys = wkeys;
    way.vals = wvals;
    rel.id = 11;
    g3.n_ways = 1;
    g3.ways = ways;
    g3.n_relations = 1;
    g3.relations = rels;
    pb.n_primitivegroup = 3;
    pb.primitivegroup = groups;

    pu_std_header(&b);
    pu_block(&b, &pb, PU_RAW);
    pu_block(&b, &pb, PU_ZLIB);
    rc = read_buf(&b, &sn, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(sn.nodes, 8);
    assert_int_equal(sn.ways, 2);
    assert_int_equal(sn.bus_stops, 2);
    assert_int_equal(sn.tagged_nodes, 4);
    assert_int_equal(sn.has_bbox, 1);
    assert_true(fabs(sn.bbox[0] - 139.6) < 1e-12 && fabs(sn.bbox[3] - 35.7) < 1e-12);
    /* plain node: 1 + 35.5 = 36.5, -2 + 139.25 = 137.25 */
    assert_true(fabs(sn.max_lat - 36.5) < 1e-9);
    assert_true(fabs(sn.max_lon - 137.25) < 1e-9);
    /* dense: lat 35000,35010,34990 -> 1.035, 1.03501, 1.03499; lon 139000,138995,139002 */
    assert_true(fabs(sn.min_lat - 1.03499) < 1e-9);
    assert_true(fabs(sn.min_lon - (-2 + 0.138995)) < 1e-9);
    free(b.p);
}

/* Exact values from a crafted dense group and way, through callbacks. */
typedef struct exact {
    int64_t ids[8], refs[8];
    double lat[8];
    int n, n_refs, tags_of_101;
    char name_of_7[32];
} exact;

static int exact_node(void *ud, const osm_node *n)
{
    exact *e = ud;

    if (e->n < 8) {
        e->ids[e->n] = n->id;
        e->lat[e->n] = n->lat;
    }
    e->n++;
    if (n->id == 101)
        e->tags_of_101 = n->tags.n;
    if (n->id == 7 && osm_tag(&n->tags, "name") != NULL)
        snprintf(e->name_of_7, sizeof(e->name_of_7), "%s", osm_tag(&n->tags, "name"));
    return 0;
}

static int exact_way(void *ud, const osm_way *w)
{
    exact *e = ud;

    e->n_refs = w->n_refs;
    for (int i = 0; i < w->n_refs && i < 8; i++)
        e->refs[i] = w->refs[i];
    return 0;
}

static void test_delta_coding_exact(void **state)
{
    Noriai__Osm__PrimitiveBlock pb = NORIAI__OSM__PRIMITIVE_BLOCK__INIT;
    Noriai__Osm__StringTable st = NORIAI__OSM__STRING_TABLE__INIT;
    Noriai__Osm__PrimitiveGroup g1 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup g2 = NORIAI__OSM__PRIMITIVE_GROUP__INIT;
    Noriai__Osm__PrimitiveGroup *groups[2] = {&g1, &g2};
    Noriai__Osm__Node node = NORIAI__OSM__NODE__INIT, *nodes[1] = {&node};
    Noriai__Osm__DenseNodes dense = NORIAI__OSM__DENSE_NODES__INIT;
    Noriai__Osm__Way way = NORIAI__OSM__WAY__INIT, *ways[1] = {&way};
    ProtobufCBinaryData s[8];
    uint32_t nkeys[1] = {3}, nvals[1] = {4};
    int64_t d_id[3] = {100, 1, 4}, d_lat[3] = {356581000, 1000, -3000};
    int64_t d_lon[3] = {1397016000, 0, 0};
    int32_t d_kv[5] = {0, 5, 6, 1, 2}; /* node 2: oneway=yes highway=bus_stop, no closing 0 */
    int64_t refs[3] = {100, 5, -4};
    pu_bytes b = {0};
    exact e;
    osm_handler h;
    osm_counts c;
    char err[512] = "";

    (void)state;
    set_strings(&st, s);
    pb.stringtable = &st;
    node.id = 7;
    node.lat = 356581000;
    node.lon = 1397016000;
    node.n_keys = node.n_vals = 1;
    node.keys = nkeys;
    node.vals = nvals;
    g1.n_nodes = 1;
    g1.nodes = nodes;
    g1.dense = &dense;
    dense.n_id = dense.n_lat = dense.n_lon = 3;
    dense.id = d_id;
    dense.lat = d_lat;
    dense.lon = d_lon;
    dense.n_keys_vals = 5;
    dense.keys_vals = d_kv;
    way.id = 9;
    way.n_refs = 3;
    way.refs = refs;
    g2.n_ways = 1;
    g2.ways = ways;
    pb.n_primitivegroup = 2;
    pb.primitivegroup = groups;
    pu_std_header(&b);
    pu_block(&b, &pb, PU_ZLIB);

    memset(&e, 0, sizeof(e));
    memset(&h, 0, sizeof(h));
    h.ud = &e;
    h.node = exact_node;
    h.way = exact_way;
    assert_int_equal(osm_pbf_read_mem(b.p, b.len, "x", &h, &c, err, sizeof(err)), 0);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.ids[0], 7);
    assert_int_equal(e.ids[1], 100);
    assert_int_equal(e.ids[2], 101);
    assert_int_equal(e.ids[3], 105);
    assert_true(fabs(e.lat[0] - 35.6581) < 1e-12);
    assert_true(fabs(e.lat[2] - 35.6582) < 1e-12);
    assert_true(fabs(e.lat[3] - 35.6579) < 1e-12);
    assert_int_equal(e.tags_of_101, 2);
    assert_string_equal(e.name_of_7, "Shibuya");
    assert_int_equal(e.n_refs, 3);
    assert_int_equal(e.refs[0], 100);
    assert_int_equal(e.refs[1], 105);
    assert_int_equal(e.refs[2], 101);
    free(b.p);
}

/* A one-group block whose node, dense group or way is broken in one way. */
enum breakage {
    BAD_NODE_KEY,
    BAD_NODE_VAL,
    NODE_KEYS_VALS_DIFFER,
    BAD_DENSE_KEY,
    NEGATIVE_DENSE_KEY,
    DENSE_KEY_WITHOUT_VALUE,
    DENSE_COLUMNS_DIFFER,
    BAD_WAY_KEY,
    OFF_GLOBE,
    ZERO_GRANULARITY,
    N_BREAKAGES
};

static void build_broken(pu_bytes *b, enum breakage k)
{
    Noriai__Osm__PrimitiveBlock pb = NORIAI__OSM__PRIMITIVE_BLOCK__INIT;
    Noriai__Osm__StringTable st = NORIAI__OSM__STRING_TABLE__INIT;
    Noriai__Osm__PrimitiveGroup g = NORIAI__OSM__PRIMITIVE_GROUP__INIT, *groups[1] = {&g};
    Noriai__Osm__Node node = NORIAI__OSM__NODE__INIT, *nodes[1] = {&node};
    Noriai__Osm__DenseNodes dense = NORIAI__OSM__DENSE_NODES__INIT;
    Noriai__Osm__Way way = NORIAI__OSM__WAY__INIT, *ways[1] = {&way};
    ProtobufCBinaryData s[8];
    uint32_t keys[2] = {1, 3}, vals[2] = {2, 4};
    int64_t d_id[2] = {1, 1}, d_lat[2] = {0, 0}, d_lon[2] = {0, 0};
    int32_t kv[4] = {1, 2, 0, 0};

    set_strings(&st, s);
    pb.stringtable = &st;
    pb.n_primitivegroup = 1;
    pb.primitivegroup = groups;
    node.id = 1;
    node.n_keys = node.n_vals = 2;
    node.keys = keys;
    node.vals = vals;
    dense.n_id = dense.n_lat = dense.n_lon = 2;
    dense.id = d_id;
    dense.lat = d_lat;
    dense.lon = d_lon;
    dense.n_keys_vals = 4;
    dense.keys_vals = kv;
    way.id = 1;
    way.n_keys = way.n_vals = 2;
    way.keys = keys;
    way.vals = vals;
    switch (k) {
    case BAD_NODE_KEY:
    case BAD_NODE_VAL:
    case NODE_KEYS_VALS_DIFFER:
    case OFF_GLOBE:
    case ZERO_GRANULARITY:
        g.n_nodes = 1;
        g.nodes = nodes;
        if (k == BAD_NODE_KEY)
            keys[1] = 7; /* the table has 7 strings: 0..6 */
        if (k == BAD_NODE_VAL)
            vals[0] = 1000000;
        if (k == NODE_KEYS_VALS_DIFFER)
            node.n_vals = 1;
        if (k == OFF_GLOBE)
            node.lat = 910000000; /* 91 degrees */
        if (k == ZERO_GRANULARITY) {
            pb.has_granularity = 1;
            pb.granularity = 0;
        }
        break;
    case BAD_DENSE_KEY:
    case NEGATIVE_DENSE_KEY:
    case DENSE_KEY_WITHOUT_VALUE:
    case DENSE_COLUMNS_DIFFER:
        g.dense = &dense;
        if (k == BAD_DENSE_KEY)
            kv[1] = 7;
        if (k == NEGATIVE_DENSE_KEY)
            kv[0] = -3;
        if (k == DENSE_KEY_WITHOUT_VALUE) {
            kv[2] = 5;
            dense.n_keys_vals = 3; /* 1 2 5: key 5 has no value */
        }
        if (k == DENSE_COLUMNS_DIFFER)
            dense.n_lon = 1;
        break;
    case BAD_WAY_KEY:
        g.n_ways = 1;
        g.ways = ways;
        keys[0] = 99;
        break;
    default:
        break;
    }
    pu_std_header(b);
    pu_block(b, &pb, PU_ZLIB);
}

static void test_broken_blocks(void **state)
{
    static const char *expect[N_BREAKAGES] = {
        "string index 7",
        "string index 1000000",
        "2 tag keys but 1 values",
        "string index 7",
        "string index -3",
        "key without a value",
        "2 ids, 2 latitudes, 1 longitudes",
        "string index 99",
        "not on the globe",
        "granularity 0",
    };

    (void)state;
    for (int k = 0; k < N_BREAKAGES; k++) {
        pu_bytes b = {0};
        seen s;
        char err[512] = "";
        int rc;

        build_broken(&b, (enum breakage)k);
        rc = read_buf(&b, &s, err, sizeof(err));
        if (rc != OSM_EFORMAT || strstr(err, expect[k]) == NULL)
            fail_msg("breakage %d: rc %d, message \"%s\", expected \"%s\"", k, rc, err, expect[k]);
        assert_non_null(strstr(err, "crafted.pbf: byte "));
        free(b.p);
    }
}

static void test_unsupported(void **state)
{
    static const char *loc[] = {"OsmSchema-V0.6", "LocationsOnWays"};
    static const char *hist[] = {"OsmSchema-V0.6", "DenseNodes", "HistoricalInformation"};
    Noriai__Osm__PrimitiveBlock pb = NORIAI__OSM__PRIMITIVE_BLOCK__INIT;
    Noriai__Osm__StringTable st = NORIAI__OSM__STRING_TABLE__INIT;
    ProtobufCBinaryData s[8];
    pu_bytes b = {0};
    seen sn;
    char err[512] = "";

    (void)state;
    pu_header(&b, loc, 2, 0);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EUNSUPPORTED);
    assert_non_null(strstr(err, "LocationsOnWays"));
    free(b.p);

    memset(&b, 0, sizeof(b));
    pu_header(&b, hist, 3, 0);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), 0);
    assert_int_equal(sn.has_bbox, 0);
    free(b.p);

    memset(&b, 0, sizeof(b));
    set_strings(&st, s);
    pb.stringtable = &st;
    pu_std_header(&b);
    pu_block(&b, &pb, PU_LZMA);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EUNSUPPORTED);
    assert_non_null(strstr(err, "lzma"));
    free(b.p);
}

/* Records out of order, unknown types, not a PBF at all. */
static void test_structure(void **state)
{
    Noriai__Osm__PrimitiveBlock pb = NORIAI__OSM__PRIMITIVE_BLOCK__INIT;
    Noriai__Osm__StringTable st = NORIAI__OSM__STRING_TABLE__INIT;
    ProtobufCBinaryData s[8];
    pu_bytes b = {0};
    seen sn;
    char err[512] = "", path[1400];
    osm_counts c;
    static const uint8_t junk[] = "OSMHeader but not really";

    (void)state;
    set_strings(&st, s);
    pb.stringtable = &st;

    /* data before the header */
    pu_block(&b, &pb, PU_ZLIB);
    pu_std_header(&b);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "not \"OSMHeader\""));
    free(b.p);

    /* two headers */
    memset(&b, 0, sizeof(b));
    pu_std_header(&b);
    pu_std_header(&b);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "second OSMHeader"));
    free(b.p);

    /* an unknown record type is skipped unread */
    memset(&b, 0, sizeof(b));
    pu_std_header(&b);
    pu_record(&b, "X-Index", junk, sizeof(junk), PU_RAW);
    pu_block(&b, &pb, PU_ZLIB);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), 0);
    free(b.p);

    /* empty input, a missing file, XML */
    assert_int_equal(osm_pbf_read_mem(NULL, 0, "empty", NULL, &c, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(osm_pbf_read("/nonexistent/x.osm.pbf", NULL, &c, err, sizeof(err)), OSM_EOPEN);
    assert_non_null(strstr(err, "/nonexistent/x.osm.pbf"));
    osm_path(path, sizeof(path), "tokyo_shibuya.osm");
    assert_int_equal(osm_pbf_read(path, NULL, &c, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "not an OSM PBF file"));
    assert_int_equal(osm_pbf_read(NULL, NULL, &c, err, sizeof(err)), OSM_EINVAL);
}

/* Big numbers in length fields are refused before anything is allocated. */
static void test_huge_lengths(void **state)
{
    Noriai__Osm__BlobHeader bh = NORIAI__OSM__BLOB_HEADER__INIT;
    Noriai__Osm__Blob blob;
    uint8_t *hp, *bp, be[4], zdata[16];
    size_t hlen, blen;
    pu_bytes b = {0};
    seen sn;
    char err[512] = "";
    uLongf zlen = sizeof(zdata);
    static const uint8_t huge_hdr[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    static const uint8_t big_hdr[] = {0x00, 0x01, 0x11, 0x70};

    (void)state;
    noriai__osm__blob__init(&blob);
    /* BlobHeader length 4 GiB - 1, and 70,000 */
    b.p = (uint8_t *)huge_hdr;
    b.len = sizeof(huge_hdr);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "BlobHeader length 4294967295"));
    b.p = (uint8_t *)big_hdr;
    b.len = sizeof(big_hdr);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "64 KiB"));

    /* datasize 2^31 - 1; then 30 MiB in a file of a few bytes */
    for (int k = 0; k < 2; k++) {
        memset(&b, 0, sizeof(b));
        bh.type = "OSMHeader";
        bh.datasize = k == 0 ? INT32_MAX : 30 << 20;
        hp = pu_pack(&bh.base, &hlen);
        be[0] = be[1] = be[2] = 0;
        be[3] = (uint8_t)hlen;
        pu_put(&b, be, 4);
        pu_put(&b, hp, hlen);
        pu_put(&b, "abc", 3);
        assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
        assert_non_null(strstr(err, k == 0 ? "outside 0..33554432" : "ends inside a blob"));
        free(hp);
        free(b.p);
    }

    /* raw_size 2^31 - 1, then 20 MiB from 11 bytes of zlib data */
    assert_int_equal(compress(zdata, &zlen, (const Bytef *)"x", 1), Z_OK);
    for (int k = 0; k < 2; k++) {
        memset(&b, 0, sizeof(b));
        blob.has_raw_size = 1;
        blob.raw_size = k == 0 ? INT32_MAX : 20 << 20;
        blob.data_case = NORIAI__OSM__BLOB__DATA_ZLIB_DATA;
        blob.zlib_data.data = zdata;
        blob.zlib_data.len = zlen;
        bp = pu_pack(&blob.base, &blen);
        bh.type = "OSMHeader";
        bh.datasize = (int32_t)blen;
        hp = pu_pack(&bh.base, &hlen);
        be[3] = (uint8_t)hlen;
        pu_put(&b, be, 4);
        pu_put(&b, hp, hlen);
        pu_put(&b, bp, blen);
        assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
        assert_non_null(
            strstr(err, k == 0 ? "raw_size 2147483647 is outside" : "cannot come from"));
        free(hp);
        free(bp);
        free(b.p);
    }
}

/* zlib data that does not inflate to exactly raw_size. */
static void test_zlib_sizes(void **state)
{
    Noriai__Osm__BlobHeader bh = NORIAI__OSM__BLOB_HEADER__INIT;
    Noriai__Osm__Blob blob;
    static const char *expect[3] = {"more than its raw_size", "inflates to 100 bytes",
                                    "corrupt zlib data"};
    uint8_t *hp, *bp, be[4] = {0, 0, 0, 0}, plain[100], zdata[256];
    size_t hlen, blen;
    seen sn;
    char err[512] = "";

    (void)state;
    noriai__osm__blob__init(&blob);
    memset(plain, 'a', sizeof(plain));
    for (int k = 0; k < 3; k++) {
        pu_bytes b = {0};
        uLongf zlen = sizeof(zdata);

        assert_int_equal(compress(zdata, &zlen, plain, sizeof(plain)), Z_OK);
        if (k == 2)
            zdata[zlen / 2] ^= 0x55;
        blob.has_raw_size = 1;
        blob.raw_size = k == 0 ? 99 : k == 1 ? 101 : 100;
        blob.data_case = NORIAI__OSM__BLOB__DATA_ZLIB_DATA;
        blob.zlib_data.data = zdata;
        blob.zlib_data.len = zlen;
        bp = pu_pack(&blob.base, &blen);
        bh.type = "OSMHeader";
        bh.datasize = (int32_t)blen;
        hp = pu_pack(&bh.base, &hlen);
        be[3] = (uint8_t)hlen;
        pu_put(&b, be, 4);
        pu_put(&b, hp, hlen);
        pu_put(&b, bp, blen);
        assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EZLIB);
        if (strstr(err, expect[k]) == NULL && !(k == 2 && strstr(err, "ends early")))
            fail_msg("case %d: \"%s\"", k, err);
        free(hp);
        free(bp);
        free(b.p);
    }
}

/* A 2 MB block of a million empty groups would decode to ~100 MB: refused. */
static void test_decode_budget(void **state)
{
    size_t n = 1000000, len = 2 * n + 2;
    uint8_t *block = malloc(len);
    pu_bytes b = {0};
    seen sn;
    char err[512] = "";

    (void)state;
    assert_non_null(block);
    block[0] = 0x0a; /* stringtable, empty */
    block[1] = 0x00;
    for (size_t i = 0; i < n; i++) {
        block[2 + 2 * i] = 0x12; /* primitivegroup, empty */
        block[3 + 2 * i] = 0x00;
    }
    pu_std_header(&b);
    pu_record(&b, "OSMData", block, len, PU_ZLIB);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), OSM_EFORMAT);
    assert_non_null(strstr(err, "once decoded"));
    free(block);
    free(b.p);

    /* while a thousand of them are fine */
    memset(&b, 0, sizeof(b));
    block = malloc(2002);
    assert_non_null(block);
    block[0] = 0x0a;
    block[1] = 0x00;
    for (size_t i = 0; i < 1000; i++) {
        block[2 + 2 * i] = 0x12;
        block[3 + 2 * i] = 0x00;
    }
    pu_std_header(&b);
    pu_record(&b, "OSMData", block, 2002, PU_ZLIB);
    assert_int_equal(read_buf(&b, &sn, err, sizeof(err)), 0);
    free(block);
    free(b.p);
}

static void test_abort_and_misc(void **state)
{
    char path[1400], err[1024] = "";
    seen s;
    osm_handler h = handler(&s);
    osm_counts c;
    osm_tags t;
    const char *keys[2] = {"highway", "name"}, *vals[2] = {"bus_stop", "Hachiko"};

    (void)state;
    osm_path(path, sizeof(path), "liechtenstein.osm.pbf");
    seen_init(&s);
    s.stop_after = 1000;
    assert_int_equal(osm_pbf_read(path, &h, &c, err, sizeof(err)), OSM_EABORTED);
    assert_int_equal(s.nodes + s.ways, 1000);
    assert_non_null(strstr(err, "stopped by the node callback"));

    assert_string_equal(osm_strerror(OSM_EFORMAT), "malformed or truncated PBF file");
    assert_string_equal(osm_strerror(0), "success");
    assert_string_equal(osm_strerror(12345), "unknown error");
    t.n = 2;
    t.keys = keys;
    t.vals = vals;
    assert_string_equal(osm_tag(&t, "name"), "Hachiko");
    assert_null(osm_tag(&t, "ref"));
    assert_null(osm_tag(NULL, "ref"));
}

/* ---------------------------------------------------------------------- */
/* truncation and bit flips                                               */

/* A read must fail with a message naming the input, or succeed with no more
 * than the whole file holds. */
static int check_damaged(const uint8_t *buf, size_t len, const seen *full, const char *what,
                         size_t where)
{
    seen s;
    osm_handler h = handler(&s);
    osm_counts c;
    char err[1024] = "";
    int rc;

    seen_init(&s);
    rc = osm_pbf_read_mem(buf, len, "damaged.pbf", &h, &c, err, sizeof(err));
    if (rc == 0) {
        if (s.nodes > full->nodes + 1000000 || c.nodes != s.nodes || c.ways != s.ways)
            fail_msg("%s at %zu: inconsistent success", what, where);
    } else {
        if (rc > 0 || strstr(err, "damaged.pbf") == NULL)
            fail_msg("%s at %zu: rc %d with message \"%s\"", what, where, rc, err);
    }
    return rc;
}

/* Offsets where records start, so that cuts can also hit boundaries. */
static int record_starts(const uint8_t *buf, size_t len, size_t *starts, int max)
{
    size_t off = 0;
    int n = 0;

    while (off + 4 <= len && n < max) {
        uint32_t hlen = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
                        (uint32_t)buf[off + 2] << 8 | buf[off + 3];
        Noriai__Osm__BlobHeader *bh = noriai__osm__blob_header__unpack(NULL, hlen, buf + off + 4);
        assert_non_null(bh);
        starts[n++] = off;
        off += 4 + hlen + (size_t)bh->datasize;
        noriai__osm__blob_header__free_unpacked(bh, NULL);
    }
    assert_int_equal(off, len);
    return n;
}

static void test_truncated(void **state)
{
    char path[1400], err[1024];
    uint8_t *buf;
    size_t len, starts[64];
    seen full, s;
    osm_handler h = handler(&full);
    osm_counts c;
    int n_rec, rc;

    (void)state;
    osm_path(path, sizeof(path), "tokyo_shibuya.osm.pbf");
    buf = slurp(path, &len);
    seen_init(&full);
    assert_int_equal(osm_pbf_read_mem(buf, len, "full", &h, &c, err, sizeof(err)), 0);
    n_rec = record_starts(buf, len, starts, 64);
    assert_int_equal(n_rec, 3);

    for (size_t cut = 0; cut < 20000 && cut < len; cut += 997)
        check_damaged(buf, cut, &full, "cut", cut);
    for (size_t cut = 20000; cut < len; cut += 4999)
        check_damaged(buf, cut, &full, "cut", cut);
    for (int r = 0; r < n_rec; r++) {
        for (int d = -5; d <= 5; d++) {
            long long cut = (long long)starts[r] + d;
            if (cut > 0 && (size_t)cut < len)
                check_damaged(buf, (size_t)cut, &full, "cut", (size_t)cut);
        }
    }
    check_damaged(buf, len - 1, &full, "cut", len - 1);

    /* a cut exactly between records is a shorter valid file */
    seen_init(&s);
    h.ud = &s;
    assert_int_equal(osm_pbf_read_mem(buf, starts[2], "short", &h, &c, err, sizeof(err)), 0);
    assert_true(s.nodes > 0 && s.nodes <= full.nodes);
    assert_int_equal(c.blobs, 2);

    /* and through a file, which streams instead of seeing the whole buffer */
    for (size_t cut = 3; cut < len; cut += len / 5) {
        const char *p = write_tmp("cut.osm.pbf", buf, cut);
        rc = osm_pbf_read(p, NULL, &c, err, sizeof(err));
        assert_int_equal(rc, OSM_EFORMAT);
        assert_non_null(strstr(err, "truncated"));
        assert_non_null(strstr(err, "cut.osm.pbf"));
    }
    free(buf);
}

/* Re-encodes a file with every blob raw, so flips reach protobuf-c. */
static uint8_t *to_raw_blobs(const uint8_t *buf, size_t len, size_t *out_len)
{
    size_t starts[64];
    int n = record_starts(buf, len, starts, 64);
    pu_bytes out = {0};

    for (int r = 0; r < n; r++) {
        const uint8_t *p = buf + starts[r];
        uint32_t hlen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        Noriai__Osm__BlobHeader *bh = noriai__osm__blob_header__unpack(NULL, hlen, p + 4);
        Noriai__Osm__Blob *blob;
        uint8_t *plain;
        uLongf plen;

        assert_non_null(bh);
        blob = noriai__osm__blob__unpack(NULL, (size_t)bh->datasize, p + 4 + hlen);
        assert_non_null(blob);
        assert_int_equal(blob->data_case, NORIAI__OSM__BLOB__DATA_ZLIB_DATA);
        plen = (uLongf)blob->raw_size;
        plain = malloc(plen + 1);
        assert_non_null(plain);
        assert_int_equal(uncompress(plain, &plen, blob->zlib_data.data, blob->zlib_data.len), Z_OK);
        pu_record(&out, bh->type, plain, plen, PU_RAW);
        free(plain);
        noriai__osm__blob__free_unpacked(blob, NULL);
        noriai__osm__blob_header__free_unpacked(bh, NULL);
    }
    *out_len = out.len;
    return out.p;
}

static void flip_sweep(const uint8_t *orig, size_t len, int flips, uint64_t seed, const char *what)
{
    uint8_t *buf = malloc(len);
    seen full;
    osm_handler h = handler(&full);
    osm_counts c;
    char err[1024];
    uint64_t x = seed;
    int errors = 0;

    assert_non_null(buf);
    seen_init(&full);
    assert_int_equal(osm_pbf_read_mem(orig, len, "orig", &h, &c, err, sizeof(err)), 0);
    for (int i = 0; i < flips; i++) {
        size_t pos;
        int bit;

        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        pos = (size_t)((x >> 33) % len);
        bit = (int)((x >> 20) & 7);
        memcpy(buf, orig, len);
        buf[pos] ^= (uint8_t)(1u << bit);
        errors += check_damaged(buf, len, &full, what, pos) != 0;
    }
    /* many flips must be noticed (zlib's checksum; protobuf structure) */
    if (getenv("NORIAI_TEST_VERBOSE") != NULL)
        fprintf(stderr, "%s: %d of %d flips refused\n", what, errors, flips);
    assert_true(errors > flips / 10);
    free(buf);
}

static void test_bit_flips(void **state)
{
    char path[1400];
    uint8_t *buf, *raw;
    size_t len, raw_len;

    (void)state;
    osm_path(path, sizeof(path), "tokyo_shibuya.osm.pbf");
    buf = slurp(path, &len);
    flip_sweep(buf, len, 150, 1, "zlib flip");
    raw = to_raw_blobs(buf, len, &raw_len);
    assert_true(raw_len > 2 * len);
    flip_sweep(raw, raw_len, 300, 2, "raw flip");
    free(raw);
    free(buf);
}

/* ---------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "osm");
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
        cmocka_unit_test(test_extract_counts),
        cmocka_unit_test(test_counts_only_and_mem),
        cmocka_unit_test(test_shibuya_pbf_equals_xml),
        cmocka_unit_test(test_granularity_offsets_plain_and_dense),
        cmocka_unit_test(test_delta_coding_exact),
        cmocka_unit_test(test_broken_blocks),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_huge_lengths),
        cmocka_unit_test(test_zlib_sizes),
        cmocka_unit_test(test_decode_budget),
        cmocka_unit_test(test_abort_and_misc),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
