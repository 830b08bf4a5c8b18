/*
 * test_area.c - service areas: the synthetic town generator, bundles on disk
 * and their damage checks, the matrix cache, building from OpenStreetMap, and
 * SHA-256.
 *
 * Determinism is tested on bytes: the same seed and size saved twice give
 * identical files, and a loaded bundle saved again is unchanged.  Damaged
 * bundles are made from a good one file by file (truncated, bit-flipped,
 * edited); each must be refused with a message naming the file and what is
 * wrong, never loaded and never crash (the sanitizer build runs this too).
 * The OSM build uses the Shibuya extract of the shared data folder
 * ($NORIAI_SHARED, else ../shared); the test fails if it is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/area/area.h"
#include "data/area/sha256.h"
#include "data/geo/geo.h"
#include "data/net/net.h"

static const char *const bundle_files[] = {"area.json", "graph.bin",  "stops.csv", "pois.csv",
                                           "zones.csv", "matrix.bin", NULL};

/* ---------------------------------------------------------------------- */
/* helpers                                                                 */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void file_path(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static int same_file(const char *dir1, const char *dir2, const char *name)
{
    char p1[600], p2[600];
    size_t l1, l2;
    char *a, *b;
    int same;

    file_path(p1, sizeof(p1), dir1, name);
    file_path(p2, sizeof(p2), dir2, name);
    a = slurp(p1, &l1);
    b = slurp(p2, &l2);
    same = l1 == l2 && memcmp(a, b, l1) == 0;
    free(a);
    free(b);
    return same;
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char p[600];
    size_t len;
    char *buf;

    file_path(p, sizeof(p), from_dir, name);
    buf = slurp(p, &len);
    file_path(p, sizeof(p), to_dir, name);
    spit(p, buf, len);
    free(buf);
}

static void copy_bundle(const char *from, const char *to)
{
    for (int k = 0; bundle_files[k] != NULL; k++)
        copy_file(from, to, bundle_files[k]);
}

/* Replaces the first `old` in dir/name by `new`. */
static void edit_file(const char *dir, const char *name, const char *old, const char *new)
{
    char p[600], *buf, *at, *out;
    size_t len;

    file_path(p, sizeof(p), dir, name);
    buf = slurp(p, &len);
    at = strstr(buf, old);
    if (at == NULL)
        fail_msg("%s: \"%s\" not found", p, old);
    out = malloc(len + strlen(new) + 1);
    assert_non_null(out);
    memcpy(out, buf, (size_t)(at - buf));
    strcpy(out + (at - buf), new);
    strcat(out, at + strlen(old));
    spit(p, out, strlen(out));
    free(buf);
    free(out);
}

static void truncate_file(const char *dir, const char *name, size_t keep)
{
    char p[600];

    file_path(p, sizeof(p), dir, name);
    assert_int_equal(truncate(p, (off_t)keep), 0);
}

static size_t file_size(const char *dir, const char *name)
{
    char p[600];
    struct stat st;

    file_path(p, sizeof(p), dir, name);
    assert_int_equal(stat(p, &st), 0);
    return (size_t)st.st_size;
}

static void flip_byte(const char *dir, const char *name, size_t at)
{
    char p[600], *buf;
    size_t len;

    file_path(p, sizeof(p), dir, name);
    buf = slurp(p, &len);
    assert_true(at < len);
    buf[at] ^= 0x10;
    spit(p, buf, len);
    free(buf);
}

/* The load must fail with rc and a message holding `want`. */
static void expect_refused(const char *dir, int rc_want, const char *want)
{
    char err[2048] = "";
    area *a = (area *)1;
    int rc = area_load(dir, &a, err, sizeof(err));

    if (rc >= 0)
        fail_msg("damaged bundle loaded (expected \"%s\")", want);
    assert_null(a);
    if (rc_want != 0 && rc != rc_want)
        fail_msg("rc %d (%s), expected %d: %s", rc, area_strerror(rc), rc_want, err);
    if (strstr(err, want) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err, want);
}

static const char *shared_osm(char *buf, size_t len, const char *name)
{
    const char *env = getenv("NORIAI_SHARED");
    struct stat st;

    snprintf(buf, len, "%s/data/osm/%s", env && *env ? env : "../shared", name);
    if (stat(buf, &st) != 0)
        fail_msg("shared data not found: %s is missing (set NORIAI_SHARED to the folder holding "
                 "data/osm)",
                 buf);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* SHA-256                                                                 */

static void test_sha256_vectors(void **state)
{
    static const char *msg448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65], hex2[65], dir[256], p[300];
    uint8_t d[32];
    area_sha256 s;
    uint64_t bytes;
    char *million;

    (void)state;
    area_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    area_sha256_hex(msg448, strlen(msg448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    area_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* one million 'a' fed in odd pieces */
    million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    area_sha256_init(&s);
    for (size_t at = 0, step = 1; at < 1000000; at += step, step = step * 3 % 1000 + 1)
        area_sha256_update(&s, million + at, at + step > 1000000 ? 1000000 - at : step);
    area_sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* a file */
    assert_int_equal(tu_tmpdir_create(dir, sizeof(dir), "sha"), 0);
    snprintf(p, sizeof(p), "%s/m", dir);
    spit(p, million, 1000000);
    assert_int_equal(area_sha256_file(p, hex2, &bytes), 0);
    assert_string_equal(hex2, hex);
    assert_int_equal(bytes, 1000000);
    snprintf(p, sizeof(p), "%s/missing", dir);
    assert_int_equal(area_sha256_file(p, hex2, &bytes), -1);
    tu_tmpdir_remove(dir);
    free(million);
}

/* ---------------------------------------------------------------------- */
/* synthetic towns                                                         */

static void check_town(const area *a, int n_stops)
{
    const net_graph *g = a->graph;
    int kinds[6] = {0}, depots = 0;
    static const char *const want[] = {"hospital", "clinic",    "supermarket",
                                       "station",  "city_hall", "community_hall"};
    uint32_t *t = malloc((size_t)g->n_nodes * sizeof(*t));
    geo_proj *geo;
    char err[256];

    assert_non_null(t);
    assert_int_equal(a->epsg, 6677);
    assert_int_equal(g->epsg, 6677);
    assert_int_equal(a->model, AREA_ROAD);
    assert_int_equal(a->n_stops, n_stops);
    assert_true(a->n_stops >= 50 && a->n_stops <= 500);
    assert_non_null(a->name);
    assert_non_null(a->attribution);
    assert_string_equal(a->license, "CC0-1.0");
    /* one strongly connected component */
    assert_int_equal(net_dijkstra(g, 0, t, NULL), 0);
    for (int32_t v = 0; v < g->n_nodes; v++)
        assert_true(t[v] != UINT32_MAX);
    assert_int_equal(geo_proj_create(6677, &geo, err, sizeof(err)), 0);
    for (int i = 0; i < a->n_stops; i++) {
        const area_stop *s = &a->stops[i];
        double x, y;
        assert_true(s->node >= 0 && s->node < g->n_nodes);
        assert_true(s->snap_m == 0 && !s->far);
        assert_true(strlen(s->name) > 0 && strlen(s->name_en) > 0);
        assert_true(s->lat > 35.85 && s->lat < 36.05 && s->lon > 139.45 && s->lon < 139.75);
        assert_true(s->lon >= a->bbox[0] && s->lat >= a->bbox[1] && s->lon <= a->bbox[2] &&
                    s->lat <= a->bbox[3]);
        assert_int_equal(geo_forward(geo, s->lat, s->lon, &x, &y), 0);
        assert_true(fabs(x - s->x) < 0.01 && fabs(y - s->y) < 0.01);
        depots += strcmp(s->kind, "depot") == 0;
        for (int j = 0; j < i; j++)
            assert_true(a->stops[j].node != s->node);
    }
    geo_proj_destroy(geo);
    assert_int_equal(depots, 1);
    assert_string_equal(a->stops[0].kind, "depot");
    for (int i = 0; i < a->n_pois; i++) {
        const area_poi *p = &a->pois[i];
        for (int k = 0; k < 6; k++)
            kinds[k] += strcmp(p->kind, want[k]) == 0;
        assert_true(p->stop > 0 && p->stop < a->n_stops);
        assert_true(p->weight > 0);
        assert_true(strlen(p->name) > 0 && strlen(p->name_en) > 0);
    }
    assert_int_equal(kinds[0], 1); /* one general hospital */
    for (int k = 1; k < 6; k++)
        if (kinds[k] < 1)
            fail_msg("no point of interest of kind %s", want[k]);
    assert_true(a->n_zones >= 9);
    for (int i = 0; i < a->n_zones; i++)
        assert_true(a->zones[i].weight > 0 && a->zones[i].radius_m > 0);
    for (int i = 0; i < a->n_stops; i++)
        for (int j = 0; j < a->n_stops; j++) {
            int32_t tt = a->time_s[i * a->n_stops + j];
            assert_true(i == j ? tt == 0 : tt > 0 && tt < 3600);
        }
    free(t);
}

static void test_synth_sizes(void **state)
{
    static const int stops[] = {50, 150, 500};
    char err[512];
    area *a;

    (void)state;
    for (int s = AREA_SYNTH_SMALL; s <= AREA_SYNTH_CITY; s++) {
        if (area_synth(4, (area_synth_size)s, &a, err, sizeof(err)) < 0)
            fail_msg("area_synth size %d: %s", s, err);
        check_town(a, stops[s]);
        area_destroy(a);
    }
    assert_int_equal(area_synth(1, (area_synth_size)7, &a, err, sizeof(err)), AREA_EINVAL);
    assert_null(a);
}

static void save_synth(uint64_t seed, area_synth_size size, const char *dir)
{
    char err[1024];
    area *a;

    if (area_synth(seed, size, &a, err, sizeof(err)) < 0)
        fail_msg("area_synth: %s", err);
    if (area_save(a, dir, NULL, 0, err, sizeof(err)) < 0)
        fail_msg("area_save: %s", err);
    area_destroy(a);
}

static void test_synth_deterministic(void **state)
{
    char d1[256], d2[256], d3[256];

    (void)state;
    assert_int_equal(tu_tmpdir_create(d1, sizeof(d1), "synth1"), 0);
    assert_int_equal(tu_tmpdir_create(d2, sizeof(d2), "synth2"), 0);
    assert_int_equal(tu_tmpdir_create(d3, sizeof(d3), "synth3"), 0);
    save_synth(42, AREA_SYNTH_TOWN, d1);
    save_synth(42, AREA_SYNTH_TOWN, d2);
    save_synth(43, AREA_SYNTH_TOWN, d3);
    for (int k = 0; bundle_files[k] != NULL; k++) {
        if (!same_file(d1, d2, bundle_files[k]))
            fail_msg("%s differs between two runs with the same seed", bundle_files[k]);
    }
    assert_false(same_file(d1, d3, "graph.bin"));
    assert_false(same_file(d1, d3, "stops.csv"));
    assert_false(same_file(d1, d3, "matrix.bin"));
    tu_tmpdir_remove(d1);
    tu_tmpdir_remove(d2);
    tu_tmpdir_remove(d3);
}

/* ---------------------------------------------------------------------- */
/* bundles                                                                 */

static void test_bundle_round_trip(void **state)
{
    char d1[256], d2[256], err[1024];
    area *a, *b;

    (void)state;
    assert_int_equal(tu_tmpdir_create(d1, sizeof(d1), "rt1"), 0);
    assert_int_equal(tu_tmpdir_create(d2, sizeof(d2), "rt2"), 0);
    assert_int_equal(area_synth(8, AREA_SYNTH_SMALL, &a, err, sizeof(err)), 0);
    assert_int_equal(area_save(a, d1, NULL, 0, err, sizeof(err)), 0);
    if (area_load(d1, &b, err, sizeof(err)) < 0)
        fail_msg("area_load: %s", err);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->attribution, b->attribution);
    assert_string_equal(a->license, b->license);
    assert_int_equal(a->epsg, b->epsg);
    assert_int_equal(b->model, AREA_ROAD);
    assert_int_equal(a->graph->n_nodes, b->graph->n_nodes);
    assert_int_equal(a->graph->n_edges, b->graph->n_edges);
    assert_true(net_graph_hash(a->graph) == net_graph_hash(b->graph));
    assert_int_equal(a->n_stops, b->n_stops);
    assert_int_equal(a->n_pois, b->n_pois);
    assert_int_equal(a->n_zones, b->n_zones);
    for (int i = 0; i < a->n_stops; i++) {
        assert_string_equal(a->stops[i].id, b->stops[i].id);
        assert_string_equal(a->stops[i].name, b->stops[i].name);
        assert_string_equal(a->stops[i].name_en, b->stops[i].name_en);
        assert_string_equal(a->stops[i].kind, b->stops[i].kind);
        assert_int_equal(a->stops[i].node, b->stops[i].node);
        assert_true(fabs(a->stops[i].lat - b->stops[i].lat) < 1e-7);
        assert_true(fabs(a->stops[i].x - b->stops[i].x) < 1e-3);
    }
    for (int i = 0; i < a->n_pois; i++) {
        assert_string_equal(a->pois[i].name, b->pois[i].name);
        assert_string_equal(a->pois[i].kind, b->pois[i].kind);
        assert_int_equal(a->pois[i].stop, b->pois[i].stop);
    }
    for (int i = 0; i < a->n_zones; i++) {
        assert_string_equal(a->zones[i].name_en, b->zones[i].name_en);
        assert_true(a->zones[i].weight == b->zones[i].weight);
    }
    assert_memory_equal(a->time_s, b->time_s, (size_t)a->n_stops * a->n_stops * 4);
    assert_memory_equal(a->dist_m, b->dist_m, (size_t)a->n_stops * a->n_stops * 4);
    /* saving what was loaded gives the same bytes */
    assert_int_equal(area_save(b, d2, NULL, 0, err, sizeof(err)), 0);
    for (int k = 0; bundle_files[k] != NULL; k++)
        if (!same_file(d1, d2, bundle_files[k]))
            fail_msg("%s changed when saved again after loading", bundle_files[k]);
    /* nearest stop and travel */
    for (int i = 0; i < b->n_stops; i++) {
        double dist;
        int k = area_nearest_stop(b, b->stops[i].lat, b->stops[i].lon, &dist);
        assert_true(dist < 0.01);
        assert_int_equal(b->stops[k].node, b->stops[i].node);
    }
    {
        int32_t t, d;
        area_travel(b, 0, b->n_stops, &t, &d);
        assert_int_equal(t, NET_UNREACHABLE_S);
        assert_int_equal(d, NET_UNREACHABLE_M);
        area_travel(b, 1, 2, &t, &d);
        assert_int_equal(t, b->time_s[1 * b->n_stops + 2]);
    }
    area_destroy(a);
    area_destroy(b);
    tu_tmpdir_remove(d1);
    tu_tmpdir_remove(d2);
}

/* A crow-fly area written by hand, with text that needs CSV quoting. */
static void test_crowfly_bundle(void **state)
{
    char dir[256], err[1024], src[300];
    area a, *b;
    area_stop stops[3];
    area_poi poi;
    area_zone zone;
    const char *sources[2];
    int32_t t, d, t2, d2;
    json_t *man;

    (void)state;
    assert_int_equal(tu_tmpdir_create(dir, sizeof(dir), "crow"), 0);
    memset(&a, 0, sizeof(a));
    memset(stops, 0, sizeof(stops));
    a.name = "Village, \"quoted\"";
    a.attribution = "";
    a.license = "";
    a.epsg = 32632;
    a.model = AREA_CROWFLY;
    net_crowfly_default(&a.crowfly);
    a.bbox[0] = 9.4, a.bbox[1] = 47.0, a.bbox[2] = 9.6, a.bbox[3] = 47.3;
    for (int i = 0; i < 3; i++) {
        stops[i].lat = 47.1 + 0.01 * i;
        stops[i].lon = 9.5;
        stops[i].node = -1;
        snprintf(stops[i].kind, sizeof(stops[i].kind), "stop");
    }
    stops[0].id = "a,1";
    stops[0].name = "line\nbreak";
    stops[1].id = "\"b\"";
    stops[1].name = " padded ";
    stops[1].name_en = "Padded";
    stops[2].id = "c";
    stops[2].name = "Vaduz, Post";
    snprintf(stops[2].kind, sizeof(stops[2].kind), "depot");
    a.n_stops = 3;
    a.stops = stops;
    memset(&poi, 0, sizeof(poi));
    poi.name = "Landesspital";
    poi.name_en = "Hospital";
    snprintf(poi.kind, sizeof(poi.kind), "hospital");
    poi.lat = 47.14;
    poi.lon = 9.52;
    poi.stop = 2;
    poi.weight = 2.5;
    a.n_pois = 1;
    a.pois = &poi;
    memset(&zone, 0, sizeof(zone));
    zone.name = "Schaan";
    zone.lat = 47.16;
    zone.lon = 9.51;
    zone.radius_m = 800;
    zone.weight = 6000;
    a.n_zones = 1;
    a.zones = &zone;
    snprintf(src, sizeof(src), "%s/source.txt", dir);
    spit(src, "abc", 3);
    sources[0] = src;
    sources[1] = "stops";
    if (area_save(&a, dir, sources, 1, err, sizeof(err)) < 0)
        fail_msg("area_save: %s", err);
    if (area_load(dir, &b, err, sizeof(err)) < 0)
        fail_msg("area_load: %s", err);
    assert_int_equal(b->model, AREA_CROWFLY);
    assert_null(b->graph);
    assert_null(b->time_s);
    assert_string_equal(b->name, a.name);
    assert_string_equal(b->stops[0].id, "a,1");
    assert_string_equal(b->stops[0].name, "line\nbreak");
    assert_null(b->stops[0].name_en);
    assert_string_equal(b->stops[1].id, "\"b\"");
    assert_string_equal(b->stops[1].name, " padded ");
    assert_string_equal(b->stops[1].name_en, "Padded");
    assert_string_equal(b->stops[2].kind, "depot");
    assert_int_equal(b->stops[2].node, -1);
    assert_string_equal(b->pois[0].name, "Landesspital");
    assert_true(b->pois[0].weight == 2.5);
    assert_string_equal(b->zones[0].name, "Schaan");
    area_travel(b, 0, 2, &t, &d);
    net_crowfly_travel(&b->crowfly, 47.1, 9.5, 47.12, 9.5, &t2, &d2);
    assert_int_equal(t, t2);
    assert_int_equal(d, d2);
    assert_true(d > 2000 && d < 4000);
    /* the source's hash in the manifest */
    file_path(src, sizeof(src), dir, "area.json");
    man = json_load_file(src, 0, NULL);
    assert_non_null(man);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(man, "sources"), 0), "sha256")),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    json_decref(man);
    /* a missing source fails before anything is written */
    sources[0] = "/nonexistent/file.osm.pbf";
    assert_int_equal(area_save(&a, dir, sources, 1, err, sizeof(err)), AREA_EOPEN);
    assert_non_null(strstr(err, "/nonexistent/file.osm.pbf"));
    area_destroy(b);
    snprintf(src, sizeof(src), "%s/source.txt", dir);
    unlink(src);
    tu_tmpdir_remove(dir);
}

static void test_damaged_bundles(void **state)
{
    char good[256], bad[256], other[256], err[1024], p[600], *text;
    size_t len;
    area *a;

    (void)state;
    assert_int_equal(tu_tmpdir_create(good, sizeof(good), "good"), 0);
    assert_int_equal(tu_tmpdir_create(bad, sizeof(bad), "bad"), 0);
    assert_int_equal(tu_tmpdir_create(other, sizeof(other), "other"), 0);
    save_synth(21, AREA_SYNTH_SMALL, good);
    save_synth(22, AREA_SYNTH_SMALL, other);
    assert_int_equal(area_load(good, &a, err, sizeof(err)), 0);
    area_destroy(a);

    /* matrix.bin */
    copy_bundle(good, bad);
    truncate_file(bad, "matrix.bin", file_size(bad, "matrix.bin") - 1);
    expect_refused(bad, AREA_EFORMAT, "matrix.bin");
    expect_refused(bad, AREA_EFORMAT, "truncated");
    copy_bundle(good, bad);
    truncate_file(bad, "matrix.bin", 10);
    expect_refused(bad, AREA_EFORMAT, "matrix.bin");
    copy_bundle(good, bad);
    flip_byte(bad, "matrix.bin", file_size(bad, "matrix.bin") / 2);
    expect_refused(bad, AREA_EFORMAT, "checksum");
    copy_bundle(good, bad);
    flip_byte(bad, "matrix.bin", 2);
    expect_refused(bad, AREA_EFORMAT, "magic");
    copy_bundle(good, bad);
    copy_file(other, bad, "matrix.bin"); /* same size, another town */
    expect_refused(bad, AREA_EFORMAT, "key");
    copy_bundle(good, bad);
    file_path(p, sizeof(p), bad, "matrix.bin");
    unlink(p);
    expect_refused(bad, AREA_EOPEN, "matrix.bin");

    /* area.json */
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"epsg\"", "\"epsg\" 6677,");
    expect_refused(bad, AREA_EFORMAT, "area.json:");
    copy_bundle(good, bad);
    truncate_file(bad, "area.json", file_size(bad, "area.json") / 2);
    expect_refused(bad, AREA_EFORMAT, "area.json:");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"stops\": 50", "\"stops\": 51");
    expect_refused(bad, AREA_EFORMAT, "counts");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"stops\": 50", "\"stops\": 49");
    expect_refused(bad, AREA_EFORMAT, "more stops than");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"stops\": 50", "\"stops\": -3");
    expect_refused(bad, AREA_EFORMAT, "\"stops\"");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"nodes\": ", "\"nodes\": 1");
    expect_refused(bad, AREA_EFORMAT, "counts");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"crs\": \"EPSG:6677\"", "\"crs\": \"EPSG:6678\"");
    expect_refused(bad, AREA_EFORMAT, "\"crs\"");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"model\"", "\"colour\": 1, \"model\"");
    expect_refused(bad, AREA_EFORMAT, "unknown key \"colour\"");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"version\": 1", "\"version\": 2");
    expect_refused(bad, AREA_EFORMAT, "version");
    copy_bundle(good, bad);
    edit_file(bad, "area.json", "\"model\": \"road\"", "\"model\": \"boat\"");
    expect_refused(bad, AREA_EFORMAT, "\"model\"");
    copy_bundle(good, bad);
    file_path(p, sizeof(p), bad, "area.json");
    unlink(p);
    expect_refused(bad, AREA_EOPEN, "area.json");
    expect_refused("/nonexistent/bundle", AREA_EOPEN, "/nonexistent/bundle");

    /* stops.csv */
    copy_bundle(good, bad);
    edit_file(bad, "stops.csv", ",0.00,0,stop", ",0.00,7,stop");
    expect_refused(bad, AREA_EFORMAT, "far");
    copy_bundle(good, bad);
    edit_file(bad, "stops.csv", "\ns001,", "\ns001,\"unterminated,");
    expect_refused(bad, AREA_EFORMAT, "stops.csv");
    copy_bundle(good, bad);
    edit_file(bad, "stops.csv", "\ns002,", "\ns001,");
    expect_refused(bad, AREA_EFORMAT, "\"s001\" twice");
    copy_bundle(good, bad);
    edit_file(bad, "stops.csv", "id,name,", "ident,name,");
    expect_refused(bad, AREA_EFORMAT, "no column \"id\"");
    copy_bundle(good, bad);
    file_path(p, sizeof(p), bad, "stops.csv");
    text = slurp(p, &len);
    text[len - 1] = '\0';
    *strrchr(text, '\n') = '\0'; /* the last row gone */
    spit(p, text, strlen(text));
    free(text);
    expect_refused(bad, AREA_EFORMAT, "49 stops");
    /* a node beyond the graph, and a node moved: the matrix key no longer fits */
    copy_bundle(good, bad);
    file_path(p, sizeof(p), bad, "stops.csv");
    text = slurp(p, &len);
    {
        /* the depot row: "depot,...,<x>,<y>,<node>,0.00,0,depot" */
        char *row = strstr(text, "\ndepot,") + 1, *end = strchr(row, '\n'), *f = row, line[512];
        int commas = 0;
        long node;
        while (commas < 7)
            commas += *f++ == ',';
        node = strtol(f, NULL, 10);
        snprintf(line, sizeof(line), "%.*s%ld%.*s", (int)(f - row), row, 999999L,
                 (int)(end - strchr(f, ',')), strchr(f, ','));
        char *out = malloc(len + 64);
        assert_non_null(out);
        snprintf(out, len + 64, "%.*s%s%s", (int)(row - text), text, line, end);
        spit(p, out, strlen(out));
        expect_refused(bad, AREA_EFORMAT, "node \"999999\"");
        snprintf(line, sizeof(line), "%.*s%ld%.*s", (int)(f - row), row, node == 0 ? 1L : 0L,
                 (int)(end - strchr(f, ',')), strchr(f, ','));
        snprintf(out, len + 64, "%.*s%s%s", (int)(row - text), text, line, end);
        spit(p, out, strlen(out));
        expect_refused(bad, AREA_EFORMAT, "different builds");
        free(out);
    }
    free(text);
    /* truncation sweep over stops.csv: always refused */
    for (int k = 1; k < 24; k++) {
        copy_bundle(good, bad);
        truncate_file(bad, "stops.csv", file_size(good, "stops.csv") * (size_t)k / 24);
        expect_refused(bad, AREA_EFORMAT, "stops.csv");
    }

    /* pois.csv, zones.csv, graph.bin */
    copy_bundle(good, bad);
    edit_file(bad, "pois.csv", "station,", "station!,");
    expect_refused(bad, AREA_EFORMAT, "kind");
    copy_bundle(good, bad);
    edit_file(bad, "zones.csv", "weight\n", "weight,extra\n");
    expect_refused(bad, AREA_EFORMAT, "zones.csv");
    copy_bundle(good, bad);
    truncate_file(bad, "graph.bin", file_size(bad, "graph.bin") - 100);
    expect_refused(bad, AREA_EFORMAT, "graph.bin");
    copy_bundle(good, bad);
    copy_file(other, bad, "graph.bin");
    expect_refused(bad, AREA_EFORMAT, "");

    tu_tmpdir_remove(good);
    tu_tmpdir_remove(bad);
    tu_tmpdir_remove(other);
}

/* ---------------------------------------------------------------------- */
/* matrix cache                                                            */

static void test_matrix_cache(void **state)
{
    char dir[256], cache[300], p[600], err[1024], bad_dir[300];
    int32_t *nodes, *t1, *d1, *t2, *d2;
    net_cache_status st;
    area *a;
    int n;
    uint64_t key;

    (void)state;
    assert_int_equal(area_synth(3, AREA_SYNTH_SMALL, &a, err, sizeof(err)), 0);
    n = a->n_stops;
    nodes = malloc((size_t)n * sizeof(*nodes));
    t1 = malloc((size_t)n * n * 4), d1 = malloc((size_t)n * n * 4);
    t2 = malloc((size_t)n * n * 4), d2 = malloc((size_t)n * n * 4);
    assert_true(nodes && t1 && d1 && t2 && d2);
    for (int i = 0; i < n; i++)
        nodes[i] = a->stops[i].node;
    assert_int_equal(tu_tmpdir_create(dir, sizeof(dir), "cache"), 0);
    snprintf(cache, sizeof(cache), "%s/c", dir);

    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 2, cache, "t1", t1, d1, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_STORED);
    assert_memory_equal(t1, a->time_s, (size_t)n * n * 4);
    key = net_matrix_key(a->graph, nodes, n, "t1");
    snprintf(p, sizeof(p), "%s/%016llx.matrix", cache, (unsigned long long)key);
    assert_int_equal(access(p, R_OK), 0);
    /* hit */
    memset(t2, 0, (size_t)n * n * 4);
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, cache, "t1", t2, d2, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_HIT);
    assert_memory_equal(t1, t2, (size_t)n * n * 4);
    assert_memory_equal(d1, d2, (size_t)n * n * 4);
    /* damaged: a flipped byte, then a truncation; recomputed, never trusted */
    flip_byte(cache, strrchr(p, '/') + 1, 24 + 4 * 7);
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, cache, "t1", t2, d2, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_REPLACED);
    assert_non_null(strstr(err, "checksum"));
    assert_memory_equal(t1, t2, (size_t)n * n * 4);
    truncate_file(cache, strrchr(p, '/') + 1, 100);
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, cache, "t1", t2, d2, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_REPLACED);
    assert_memory_equal(d1, d2, (size_t)n * n * 4);
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, cache, "t1", t2, d2, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_HIT);
    /* another tag or another node order is another entry */
    assert_true(net_matrix_key(a->graph, nodes, n, "t2") != key);
    nodes[0] ^= 1;
    assert_true(net_matrix_key(a->graph, nodes, n, "t1") != key);
    nodes[0] ^= 1;
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, cache, "t2", t2, d2, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_STORED);
    /* direct reads with the wrong key or size */
    assert_int_equal(net_matrix_read(p, key + 1, n, t2, d2, err, sizeof(err)), NET_EFORMAT);
    assert_non_null(strstr(err, "key"));
    assert_int_equal(net_matrix_read(p, key, n - 1, t2, d2, err, sizeof(err)), NET_EFORMAT);
    snprintf(bad_dir, sizeof(bad_dir), "%s/nothing", dir);
    assert_int_equal(net_matrix_read(bad_dir, key, n, t2, d2, err, sizeof(err)), NET_EOPEN);
    /* no cache, and a cache that cannot be created: computed all the same */
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, NULL, "t1", t2, d2, NULL, NULL, &st,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_NOT_STORED);
    assert_memory_equal(t1, t2, (size_t)n * n * 4);
    snprintf(bad_dir, sizeof(bad_dir), "%s/file", dir);
    spit(bad_dir, "x", 1);
    strcat(bad_dir, "/sub");
    assert_int_equal(net_matrix_cached(a->graph, nodes, n, 1, bad_dir, "t1", t2, d2, NULL, NULL,
                                       &st, err, sizeof(err)),
                     0);
    assert_int_equal(st, NET_CACHE_NOT_STORED);
    assert_memory_equal(t1, t2, (size_t)n * n * 4);
    tu_tmpdir_remove(cache);
    tu_tmpdir_remove(dir);
    free(nodes);
    free(t1);
    free(d1);
    free(t2);
    free(d2);
    area_destroy(a);
}

/* ---------------------------------------------------------------------- */
/* building from OpenStreetMap                                             */

static void test_build_shibuya(void **state)
{
    char pbf[1200], dir[256], out[300], cache[300], csv[400], err[2048], hex[65];
    const char *sources[4];
    area_build_opts o;
    area *a, *b;
    json_t *man;

    (void)state;
    shared_osm(pbf, sizeof(pbf), "tokyo_shibuya.osm.pbf");
    assert_int_equal(tu_tmpdir_create(dir, sizeof(dir), "build"), 0);
    snprintf(csv, sizeof(csv), "%s/stops.csv", dir);
    /* Shibuya station, Shibuya's Hachiko side, and Kumagaya, 60 km away */
    spit(csv,
         "id,name,lat,lon\n"
         "st1,渋谷駅,35.6580,139.7016\n"
         "st2,\"Dogenzaka, upper\",35.6575,139.6975\n"
         "far,熊谷,36.1472,139.3886\n",
         strlen("id,name,lat,lon\n"
                "st1,渋谷駅,35.6580,139.7016\n"
                "st2,\"Dogenzaka, upper\",35.6575,139.6975\n"
                "far,熊谷,36.1472,139.3886\n"));
    snprintf(cache, sizeof(cache), "%s/cache", dir);
    area_build_opts_default(&o);
    o.osm_path = pbf;
    o.stops_path = csv;
    o.epsg = 6677;
    o.threads = 2;
    o.cache_dir = cache;
    if (area_build(&o, &a, err, sizeof(err)) < 0)
        fail_msg("area_build: %s", err);
    assert_int_equal(a->epsg, 6677);
    assert_int_equal(a->n_stops, 3);
    assert_false(a->stops[0].far);
    assert_false(a->stops[1].far);
    assert_true(a->stops[0].snap_m < 60);
    assert_true(a->stops[2].far);
    assert_true(a->stops[2].snap_m > 50000);
    assert_string_equal(a->stops[1].name, "Dogenzaka, upper");
    assert_true(a->time_s[0 * 3 + 1] > 0 && a->time_s[0 * 3 + 1] < 900);
    assert_true(a->dist_m[0 * 3 + 1] > 300 && a->dist_m[0 * 3 + 1] < 3000);
    assert_non_null(strstr(a->attribution, "OpenStreetMap"));
    sources[0] = pbf;
    sources[1] = "osm";
    sources[2] = csv;
    sources[3] = "stops";
    snprintf(out, sizeof(out), "%s/bundle", dir);
    if (area_save(a, out, sources, 2, err, sizeof(err)) < 0)
        fail_msg("area_save: %s", err);
    if (area_load(out, &b, err, sizeof(err)) < 0)
        fail_msg("area_load: %s", err);
    assert_true(b->stops[2].far);
    assert_memory_equal(a->time_s, b->time_s, 9 * 4);
    area_destroy(b);
    snprintf(csv, sizeof(csv), "%s/area.json", out);
    man = json_load_file(csv, 0, NULL);
    assert_non_null(man);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(man, "counts"), "far_stops")), 1);
    assert_int_equal(area_sha256_file(pbf, hex, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(man, "sources"), 0), "sha256")),
                        hex);
    json_decref(man);
    area_destroy(a);
    /* the same build again finds its matrix in the cache (one entry) */
    snprintf(csv, sizeof(csv), "%s/stops.csv", dir);
    assert_int_equal(area_build(&o, &a, err, sizeof(err)), 0);
    area_destroy(a);
    {
        DIR *d = opendir(cache);
        struct dirent *e;
        int entries = 0;
        assert_non_null(d);
        while ((e = readdir(d)) != NULL)
            entries += e->d_name[0] != '.';
        closedir(d);
        assert_int_equal(entries, 1);
    }
    /* the extract's one bus stop; automatic stops on the roads */
    o.stops_path = NULL;
    o.cache_dir = NULL;
    o.osm_bus_stops = 1;
    assert_int_equal(area_build(&o, &a, err, sizeof(err)), 0);
    assert_int_equal(a->n_stops, 1);
    assert_int_equal(strncmp(a->stops[0].id, "osm:", 4), 0);
    area_destroy(a);
    o.osm_bus_stops = 0;
    assert_int_equal(area_build(&o, &a, err, sizeof(err)), 0);
    assert_true(a->n_stops >= 6 && a->n_stops <= 40);
    for (int i = 0; i < a->n_stops; i++) {
        assert_false(a->stops[i].far);
        assert_true(a->stops[i].snap_m < 1e-6);
    }
    area_destroy(a);
    /* refusals */
    o.osm_bus_stops = 1;
    o.stops_path = csv;
    assert_int_equal(area_build(&o, &a, err, sizeof(err)), AREA_EINVAL);
    o.osm_bus_stops = 0;
    o.osm_path = "/nonexistent.osm.pbf";
    assert_true(area_build(&o, &a, err, sizeof(err)) < 0);
    assert_null(a);
    assert_non_null(strstr(err, "/nonexistent.osm.pbf"));
    o.osm_path = pbf;
    o.stops_path = "/nonexistent/stops.csv";
    assert_true(area_build(&o, &a, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "/nonexistent/stops.csv"));
    tu_tmpdir_remove(cache);
    tu_tmpdir_remove(out);
    tu_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),      cmocka_unit_test(test_synth_sizes),
        cmocka_unit_test(test_synth_deterministic), cmocka_unit_test(test_bundle_round_trip),
        cmocka_unit_test(test_crowfly_bundle),      cmocka_unit_test(test_damaged_bundles),
        cmocka_unit_test(test_matrix_cache),        cmocka_unit_test(test_build_shibuya),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
