/*
 * test_stops.c - stop import: the GTFS-JP feeds of ../shared/data (Kumagaya as
 * a folder and as a zip, Muroran with its parent stations), stop lists in
 * CSV, malformed rows, and damaged or unusual zip archives.
 *
 * The real feeds come from the shared data folder ($NORIAI_SHARED, else
 * ../shared from the repository root, where tests run); without it the tests
 * fail with a message saying where they looked.  Counts and the bounding box
 * are the ones ../shared/data/README.md states.  Damaged archives are made by
 * truncating and flipping bytes of the Kumagaya zip; every one must give an
 * error naming the file, or - when the damage misses everything that matters -
 * the same 395 stops.  Small archives built here cover what the feed does
 * not: stored entries, folders inside the archive, encryption, other methods,
 * zip64 markers.
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

#include "data/area/area.h"
#include "data/csv/zip.h"

static char tmp_dir[256];
static char shared[1024];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "stops");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

/* ../shared/data/gtfs/<rel> */
static void gtfs_path(char *buf, size_t len, const char *rel)
{
    const char *env = getenv("NORIAI_SHARED");
    char probe[1200];
    struct stat st;

    snprintf(shared, sizeof(shared), "%s", env && *env ? env : "../shared");
    snprintf(probe, sizeof(probe), "%s/data/gtfs/kumagaya_yuyubus_gtfs-jp/stops.txt", shared);
    if (stat(probe, &st) != 0)
        fail_msg("shared data folder not found: %s is missing (set NORIAI_SHARED to the folder "
                 "holding data/gtfs)",
                 probe);
    snprintf(buf, len, "%s/data/gtfs/%s", shared, rel);
}

static const char *tmp_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    return path;
}

static const char *write_tmp(const char *name, const void *content, size_t len)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static const char *write_tmp_str(const char *name, const char *content)
{
    return write_tmp(name, content, strlen(content));
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void assert_same_stops(const area_stop *a, int na, const area_stop *b, int nb)
{
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_string_equal(a[i].id, b[i].id);
        assert_string_equal(a[i].name, b[i].name);
        assert_true(a[i].lat == b[i].lat && a[i].lon == b[i].lon);
        assert_string_equal(a[i].kind, b[i].kind);
    }
}

static void test_kumagaya_folder_and_zip(void **state)
{
    char dir[1200], zip[1200], txt[1400], line[512], err[512] = "";
    area_stop *s = NULL, *z = NULL;
    int n = 0, nz = 0;
    double bb[4] = {180, 90, -180, -90};
    FILE *f;

    (void)state;
    gtfs_path(dir, sizeof(dir), "kumagaya_yuyubus_gtfs-jp");
    gtfs_path(zip, sizeof(zip), "kumagaya_yuyubus_gtfs-jp.zip");
    if (area_stops_read_gtfs(dir, &s, &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    if (area_stops_read_gtfs(zip, &z, &nz, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 395);
    assert_same_stops(s, n, z, nz);

    /* Ids kept as strings (zero padding), names intact multibyte UTF-8. */
    assert_string_equal(s[0].id, "000001_001");
    assert_string_equal(s[0].name, "籠原駅南口");
    assert_string_equal(s[n - 1].id, "000020_024");
    assert_string_equal(s[n - 1].name, "別府１丁目");
    /* ... and equal to the bytes of the file's first data line. */
    snprintf(txt, sizeof(txt), "%s/stops.txt", dir);
    f = fopen(txt, "rb");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    {
        char *name = strchr(line, ',') + 1;
        *strchr(name, ',') = '\0';
        assert_string_equal(s[0].name, name);
    }
    for (int i = 0; i < n; i++) {
        assert_string_equal(s[i].kind, "stop");
        assert_int_equal(s[i].node, -1);
        assert_true(s[i].x == 0 && s[i].y == 0 && s[i].snap_m == 0 && s[i].far == 0);
        assert_null(s[i].name_en);
        bb[0] = fmin(bb[0], s[i].lon);
        bb[1] = fmin(bb[1], s[i].lat);
        bb[2] = fmax(bb[2], s[i].lon);
        bb[3] = fmax(bb[3], s[i].lat);
    }
    /* README: bbox of stops 139.30810,36.07271,139.43708,36.23517 */
    assert_true(fabs(bb[0] - 139.30810) < 5e-6);
    assert_true(fabs(bb[1] - 36.07271) < 5e-6);
    assert_true(fabs(bb[2] - 139.43708) < 5e-6);
    assert_true(fabs(bb[3] - 36.23517) < 5e-6);
    area_stops_free(z, nz);

    /* stops.txt given directly reads the same. */
    assert_int_equal(area_stops_read_gtfs(txt, &z, &nz, err, sizeof(err)), 0);
    assert_same_stops(s, n, z, nz);
    area_stops_free(z, nz);
    /* So does the CSV reader, which accepts the GTFS column names. */
    assert_int_equal(area_stops_read_csv(txt, &z, &nz, err, sizeof(err)), 0);
    assert_same_stops(s, n, z, nz);
    area_stops_free(z, nz);
    area_stops_free(s, n);
    area_stops_free(NULL, 0);
}

static void test_muroran_poles(void **state)
{
    char dir[1200], err[512] = "";
    area_stop *s = NULL;
    int n = 0;

    (void)state;
    gtfs_path(dir, sizeof(dir), "donanbus_muroran_gtfs-jp");
    if (area_stops_read_gtfs(dir, &s, &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 466); /* 706 rows, 240 parent stations skipped */
    assert_string_equal(s[0].id, "0001_A");
    assert_string_equal(s[0].name, "絵鞆団地");
    for (int i = 0; i < n; i++) {
        assert_string_not_equal(s[i].id, "0001"); /* the station of 0001_A */
        assert_true(s[i].lat > 42.30 && s[i].lat < 42.43);
        assert_true(s[i].lon > 140.91 && s[i].lon < 141.13);
    }
    area_stops_free(s, n);
}

static void test_csv_stops(void **state)
{
    area_stop *s = NULL;
    int n = 0;
    char err[512] = "";
    const char *path;

    (void)state;
    path = write_tmp_str("list.csv", "note,lon,lat,name,id,kind\n"
                                     "x,139.39,36.15,\"Hall, east\",h1,\n"
                                     ",139.40,36.16,病院,h2,depot\n"
                                     "\"q\"\"q\",-84.5,33.8,,03,stop\n");
    if (area_stops_read_csv(path, &s, &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 3);
    assert_string_equal(s[0].id, "h1");
    assert_string_equal(s[0].name, "Hall, east");
    assert_true(s[0].lat == 36.15 && s[0].lon == 139.39);
    assert_string_equal(s[0].kind, "stop");
    assert_string_equal(s[1].name, "病院");
    assert_string_equal(s[1].kind, "depot");
    assert_string_equal(s[2].id, "03");
    assert_string_equal(s[2].name, "");
    assert_int_equal(s[2].node, -1);
    area_stops_free(s, n);

    /* No name column, CRLF, BOM, GTFS names. */
    path = write_tmp_str("plain.csv", "\xEF\xBB\xBFstop_id,stop_lat,stop_lon\r\n"
                                      "a,35.0,139.0\r\nb,35.1,139.1\r\n");
    assert_int_equal(area_stops_read_csv(path, &s, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[1].id, "b");
    assert_string_equal(s[1].name, "");
    area_stops_free(s, n);
}

typedef struct bad_case {
    const char *text;
    int code;
    const char *frag1, *frag2;
} bad_case;

static const char hdr[] = "stop_id,stop_name,stop_lat,stop_lon,location_type\n";

static void check_bad(const char *path, int gtfs, const bad_case *c)
{
    area_stop *s = (area_stop *)&s;
    int n = -1, rc;
    char err[512] = "";

    rc = gtfs ? area_stops_read_gtfs(path, &s, &n, err, sizeof(err))
              : area_stops_read_csv(path, &s, &n, err, sizeof(err));
    if (rc != c->code)
        fail_msg("%s: expected %d, got %d (%s)", c->text, c->code, rc, err);
    assert_null(s);
    assert_int_equal(n, 0);
    if (strstr(err, c->frag1) == NULL || (c->frag2 && strstr(err, c->frag2) == NULL))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err, c->frag1, c->frag2 ? c->frag2 : "");
}

static void test_malformed_rows(void **state)
{
    static const bad_case rows[] = {
        {"a,A,abc,139.0,0\n", AREA_EFORMAT, "stops.txt:2:", "latitude \"abc\""},
        {"a,A,36.0,139.0,0\nb,B,95.0,139.0,\n", AREA_EFORMAT, "stops.txt:3:", "-90..90"},
        {"a,A,36.0,200,0\n", AREA_EFORMAT, "stops.txt:2:", "longitude \"200\""},
        {"a,A,36.0,,0\n", AREA_EFORMAT, "stops.txt:2:", "longitude \"\""},
        {"a,A,0,0,0\n", AREA_EFORMAT, "stops.txt:2:", "(0, 0)"},
        {"a,A,36.0,139.0\n", AREA_EFORMAT, "stops.txt:2:", "row has 4 fields, header has 5"},
        {"a,A,36.0,139.0,0,x\n", AREA_EFORMAT, "stops.txt:2:", "row has 6 fields"},
        {"a,A,36.0,139.0,0\nb,B,36.1,139.1,0\n\na,C,36.2,139.2,\n", AREA_EFORMAT,
         "stops.txt:5:", "stop id a appears again (first on line 2)"},
        {"a,A,36.0,139.0,station\n", AREA_EFORMAT, "stops.txt:2:", "location_type \"station\""},
        {"a,A,36.0,139.0,7\n", AREA_EFORMAT, "stops.txt:2:", "location_type"},
        {",A,36.0,139.0,0\n", AREA_EFORMAT, "stops.txt:2:", "empty stop id"},
        {"a,\x93\xfa\x96\x7b,36.0,139.0,0\n", AREA_EFORMAT, "stops.txt:2:", "not UTF-8"},
        {"a,A,36.0,139.0,0\nb,\"B\n,36.1,139.1,0\n", AREA_EFORMAT, "stops.txt:3:", "not closed"},
        {"s,S,36.0,139.0,1\ne,E,36.0,139.0,2\n", AREA_EEMPTY, "stops.txt", "no stops"},
        {"", AREA_EEMPTY, "stops.txt", "no stops"},
    };
    static const bad_case headers[] = {
        {"stop_id,stop_name,stop_lon\na,A,139\n", AREA_EFORMAT, "stops.txt:1:", "stop_lat"},
        {"stop_name,stop_lat,stop_lon\nA,36,139\n", AREA_EFORMAT, "stops.txt:1:", "stop_id"},
        {"stop_id,stop_id,stop_lat,stop_lon\n", AREA_EFORMAT, "stops.txt:1:", "twice"},
        {"", AREA_EFORMAT, "stops.txt", "empty file"},
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", hdr, rows[i].text);
        write_tmp_str("stops.txt", text);
        check_bad(tmp_dir, 1, &rows[i]); /* the folder holding stops.txt */
        check_bad(tmp_path("stops.txt"), 0, &rows[i]);
    }
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        write_tmp_str("stops.txt", headers[i].text);
        check_bad(tmp_dir, 1, &headers[i]);
    }
    unlink(tmp_path("stops.txt"));
    {
        static const bad_case nofile = {"", AREA_EOPEN, "no stops.txt", NULL};
        static const bad_case missing = {"", AREA_EOPEN, "nothing-here: cannot open", NULL};
        static const bad_case csv_names = {"", AREA_EFORMAT, "list.csv:1:", "needs id, lat, lon"};
        check_bad(tmp_dir, 1, &nofile);
        check_bad(tmp_path("nothing-here"), 1, &missing);
        check_bad(tmp_path("nothing-here"), 0, &missing);
        write_tmp_str("list.csv", "code,lat,lon\n1,36,139\n");
        check_bad(tmp_path("list.csv"), 0, &csv_names);
        write_tmp_str("list.csv", "id,lat,lon,kind\n1,36,139,garage\n");
        check_bad(tmp_path("list.csv"), 0,
                  &(bad_case){"", AREA_EFORMAT, "list.csv:2:", "neither stop nor depot"});
    }
}

/* ---- zip archives ---- */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xFFFF);
    put16(p + 2, v >> 16);
}

typedef struct zentry {
    const char *name;
    const char *data;
    unsigned method; /* 0 stored, 8 deflate, anything else written as stored bytes */
    unsigned flags;
} zentry;

/* Writes a small zip of the given entries; returns its path. */
static const char *make_zip(const char *file, const zentry *e, int n)
{
    static unsigned char buf[1 << 16];
    unsigned char cd[4096];
    uint32_t offs[8];
    size_t pos = 0, cdlen = 0;

    assert_true(n <= 8);
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(e[i].name), dl = strlen(e[i].data);
        uLong crc = crc32(0L, (const Bytef *)e[i].data, (uInt)dl);
        unsigned char *lh = buf + pos, *payload;
        uLongf clen = sizeof(buf) - pos - 30 - nl;

        offs[i] = (uint32_t)pos;
        memset(lh, 0, 30);
        put32(lh, 0x04034b50);
        put16(lh + 4, 20);
        put16(lh + 6, e[i].flags);
        put16(lh + 8, e[i].method);
        put16(lh + 26, (unsigned)nl);
        memcpy(lh + 30, e[i].name, nl);
        payload = lh + 30 + nl;
        if (e[i].method == 8) {
            z_stream zs;
            memset(&zs, 0, sizeof(zs));
            assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
            zs.next_in = (Bytef *)e[i].data;
            zs.avail_in = (uInt)dl;
            zs.next_out = payload;
            zs.avail_out = (uInt)clen;
            assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
            clen = zs.total_out;
            deflateEnd(&zs);
        } else {
            memcpy(payload, e[i].data, dl);
            clen = dl;
        }
        pos += 30 + nl + clen;
        if (e[i].flags & 8) {
            /* sizes and CRC follow the data, as streaming writers do */
            put32(buf + pos, 0x08074b50);
            put32(buf + pos + 4, (uint32_t)crc);
            put32(buf + pos + 8, (uint32_t)clen);
            put32(buf + pos + 12, (uint32_t)dl);
            pos += 16;
        } else {
            put32(lh + 14, (uint32_t)crc);
            put32(lh + 18, (uint32_t)clen);
            put32(lh + 22, (uint32_t)dl);
        }

        memset(cd + cdlen, 0, 46);
        put32(cd + cdlen, 0x02014b50);
        put16(cd + cdlen + 4, 20);
        put16(cd + cdlen + 6, 20);
        put16(cd + cdlen + 8, e[i].flags);
        put16(cd + cdlen + 10, e[i].method);
        put32(cd + cdlen + 16, (uint32_t)crc);
        put32(cd + cdlen + 20, (uint32_t)clen);
        put32(cd + cdlen + 24, (uint32_t)dl);
        put16(cd + cdlen + 28, (unsigned)nl);
        put32(cd + cdlen + 42, offs[i]);
        memcpy(cd + cdlen + 46, e[i].name, nl);
        cdlen += 46 + nl;
    }
    memcpy(buf + pos, cd, cdlen);
    {
        unsigned char *eo = buf + pos + cdlen;
        memset(eo, 0, 22);
        put32(eo, 0x06054b50);
        put16(eo + 8, (unsigned)n);
        put16(eo + 10, (unsigned)n);
        put32(eo + 12, (uint32_t)cdlen);
        put32(eo + 16, (uint32_t)pos);
    }
    return write_tmp(file, buf, pos + cdlen + 22);
}

static const char small_stops[] = "stop_id,stop_name,stop_lat,stop_lon\n"
                                  "1,駅前,36.15,139.39\n2,\"市役所, 本庁\",36.16,139.40\n";

static void expect_two(const char *path)
{
    area_stop *s = NULL;
    int n = 0;
    char err[512] = "";

    if (area_stops_read_gtfs(path, &s, &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 2);
    assert_string_equal(s[1].name, "市役所, 本庁");
    area_stops_free(s, n);
}

static void expect_zip_error(const char *path, int zip_code, const char *frag)
{
    area_stop *s = NULL;
    int n = 0;
    char err[512] = "", *data = (char *)&data;
    size_t len = 7;

    assert_int_equal(zip_read_entry(path, "stops.txt", 1 << 20, &data, &len, err, sizeof(err)),
                     zip_code);
    assert_null(data);
    assert_int_equal(len, 0);
    if (strstr(err, frag) == NULL || strstr(err, path) != err)
        fail_msg("zip message \"%s\" lacks \"%s\" or the path", err, frag);
    assert_true(area_stops_read_gtfs(path, &s, &n, err, sizeof(err)) < 0);
    assert_null(s);
    if (strstr(err, frag) == NULL)
        fail_msg("stops message \"%s\" lacks \"%s\"", err, frag);
}

static void test_zip_variants(void **state)
{
    const char *p;

    (void)state;
    /* stored and deflated, at the root or in a folder, among other files */
    p = make_zip("stored.zip",
                 (zentry[]){{"agency.txt", "x\n", 0, 0}, {"stops.txt", small_stops, 0, 0}}, 2);
    expect_two(p);
    p = make_zip("deflated.zip",
                 (zentry[]){{"feed/stops.txt", small_stops, 8, 0},
                            {"feed/stop_times.txt", "a,b\n", 8, 0},
                            {"__MACOSX/feed/._stops.txt", "junk", 0, 0}},
                 3);
    expect_two(p);
    p = make_zip("stream.zip",
                 (zentry[]){{"stops.txt", small_stops, 8, 8}, {"routes.txt", "r\n", 8, 8}}, 2);
    expect_two(p);
    /* an exact name wins over base names */
    p = make_zip("exact.zip",
                 (zentry[]){{"old/stops.txt", "x", 0, 0}, {"stops.txt", small_stops, 8, 0}}, 2);
    expect_two(p);

    p = make_zip("two.zip",
                 (zentry[]){{"a/stops.txt", small_stops, 0, 0}, {"b/stops.txt", small_stops, 0, 0}},
                 2);
    expect_zip_error(p, ZIP_EFORMAT, "2 files called stops.txt");
    p = make_zip("none.zip", (zentry[]){{"agency.txt", "x\n", 8, 0}}, 1);
    expect_zip_error(p, ZIP_ENOTFOUND, "no stops.txt");
    p = make_zip("crypt.zip", (zentry[]){{"stops.txt", small_stops, 0, 1}}, 1);
    expect_zip_error(p, ZIP_EUNSUPPORTED, "encrypted");
    p = make_zip("bzip2.zip", (zentry[]){{"stops.txt", small_stops, 12, 0}}, 1);
    expect_zip_error(p, ZIP_EUNSUPPORTED, "method 12");
    p = make_zip("empty.zip", NULL, 0);
    expect_zip_error(p, ZIP_ENOTFOUND, "no stops.txt");
    {
        area_stop *s = NULL;
        int n = 0;
        char err[512] = "";
        p = write_tmp_str("text.zip", small_stops);
        assert_int_equal(area_stops_read_gtfs(p, &s, &n, err, sizeof(err)), AREA_EFORMAT);
        assert_non_null(strstr(err, "text.zip: not a zip archive"));
    }
    {
        /* zip64 marker in the end record */
        size_t len;
        unsigned char *b;
        make_zip("z64.zip", (zentry[]){{"stops.txt", small_stops, 8, 0}}, 1);
        b = slurp(tmp_path("z64.zip"), &len);
        put16(b + len - 22 + 8, 0xFFFF);
        put16(b + len - 22 + 10, 0xFFFF);
        p = write_tmp("z64.zip", b, len);
        expect_zip_error(p, ZIP_EUNSUPPORTED, "zip64");
        /* a size in the central directory over the cap */
        make_zip("big.zip", (zentry[]){{"stops.txt", small_stops, 8, 0}}, 1);
        free(b);
        b = slurp(tmp_path("big.zip"), &len);
        {
            size_t cdo = b[len - 22 + 16] | (size_t)b[len - 22 + 17] << 8;
            put32(b + cdo + 24, 0x7FFFFFF0u);
        }
        p = write_tmp("big.zip", b, len);
        expect_zip_error(p, ZIP_ETOOBIG, "more than the");
        free(b);
    }
    assert_string_equal(zip_strerror(ZIP_ECRC), "checksum mismatch");
}

/* Offset of stops.txt's central directory record in the Kumagaya zip. */
static size_t find_cd_record(const unsigned char *b, size_t len, const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i + 46 + nl <= len; i++)
        if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 1 && b[i + 3] == 2 &&
            (size_t)(b[i + 28] | b[i + 29] << 8) == nl && memcmp(b + i + 46, name, nl) == 0)
            return i;
    fail_msg("no central directory record for %s", name);
    return 0;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Reads a damaged archive: an error naming it, or the intact 395 stops. */
static int read_damaged(const char *path, const area_stop *ref, int n_ref)
{
    area_stop *s = NULL;
    int n = 0, rc;
    char err[512] = "";

    rc = area_stops_read_gtfs(path, &s, &n, err, sizeof(err));
    if (rc == 0) {
        assert_same_stops(ref, n_ref, s, n);
        area_stops_free(s, n);
        return 0;
    }
    assert_null(s);
    assert_true(rc == AREA_EFORMAT || rc == AREA_EEMPTY);
    if (strstr(err, path) != err)
        fail_msg("message \"%s\" does not start with the file", err);
    return rc;
}

static void test_damaged_zip(void **state)
{
    char zip[1200], err[512];
    unsigned char *orig, *b;
    size_t len;
    area_stop *ref = NULL;
    int n_ref = 0, errors = 0;
    const char *p;

    (void)state;
    gtfs_path(zip, sizeof(zip), "kumagaya_yuyubus_gtfs-jp.zip");
    assert_int_equal(area_stops_read_gtfs(zip, &ref, &n_ref, err, sizeof(err)), 0);
    orig = slurp(zip, &len);
    b = malloc(len);
    assert_non_null(b);

    /* Truncated anywhere: the end record is gone, always an error. */
    for (size_t cut = 0; cut < len; cut += cut + 200 < len ? 997 : 7) {
        p = write_tmp("cut.zip", orig, cut);
        assert_true(read_damaged(p, ref, n_ref) < 0);
    }

    /* Wrong CRC in the directory; data bytes changed under a right CRC. */
    {
        size_t rec = find_cd_record(orig, len, "stops.txt");
        size_t lh = orig[rec + 42] | (size_t)orig[rec + 43] << 8 | (size_t)orig[rec + 44] << 16 |
                    (size_t)orig[rec + 45] << 24;
        size_t data = lh + 30 + (orig[lh + 26] | (size_t)orig[lh + 27] << 8) +
                      (orig[lh + 28] | (size_t)orig[lh + 29] << 8);
        size_t clen = orig[rec + 20] | (size_t)orig[rec + 21] << 8 | (size_t)orig[rec + 22] << 16;

        memcpy(b, orig, len);
        b[rec + 16] ^= 0x01;
        p = write_tmp("crc.zip", b, len);
        assert_true(read_damaged(p, ref, n_ref) < 0);
        {
            area_stop *s = NULL;
            int n = 0;
            assert_int_equal(area_stops_read_gtfs(p, &s, &n, err, sizeof(err)), AREA_EFORMAT);
            assert_non_null(strstr(err, "CRC-32 mismatch"));
        }
        for (int k = 0; k < 40; k++) {
            memcpy(b, orig, len);
            b[data + rnd((uint32_t)clen)] ^= (unsigned char)(1u << rnd(8));
            p = write_tmp("data.zip", b, len);
            assert_true(read_damaged(p, ref, n_ref) < 0);
        }
        /* the uncompressed size one byte off */
        memcpy(b, orig, len);
        b[rec + 24] ^= 0x01;
        p = write_tmp("usize.zip", b, len);
        assert_true(read_damaged(p, ref, n_ref) < 0);
    }

    /* Single bit flips anywhere. */
    for (int k = 0; k < 400; k++) {
        memcpy(b, orig, len);
        b[rnd((uint32_t)len)] ^= (unsigned char)(1u << rnd(8));
        p = write_tmp("flip.zip", b, len);
        errors += read_damaged(p, ref, n_ref) < 0;
    }
    /* Most of the archive is other files: many flips leave stops.txt intact,
     * but the ones that hit it, or the directory, must have been noticed. */
    assert_true(errors > 0);

    /* Bursts of random bytes. */
    for (int k = 0; k < 100; k++) {
        size_t at;
        memcpy(b, orig, len);
        at = rnd((uint32_t)len);
        for (int j = 0; j < 16 && at + (size_t)j < len; j++)
            b[at + (size_t)j] = (unsigned char)rnd(256);
        p = write_tmp("burst.zip", b, len);
        read_damaged(p, ref, n_ref);
    }
    free(b);
    free(orig);
    area_stops_free(ref, n_ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kumagaya_folder_and_zip),
        cmocka_unit_test(test_muroran_poles),
        cmocka_unit_test(test_csv_stops),
        cmocka_unit_test(test_malformed_rows),
        cmocka_unit_test(test_zip_variants),
        cmocka_unit_test(test_damaged_zip),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
