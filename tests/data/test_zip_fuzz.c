/*
 * test_zip_fuzz.c - the zip reader (data/csv/zip.c) under mutation fuzzing.
 *
 * The reader parses files that come from outside (GTFS feeds as .zip), so it
 * keeps its place in the tree only if damaged and hostile archives cannot
 * hurt it.  This test checks that in three steps.
 *
 * Seeds.  Archives are built here, byte by byte, with zlib's raw deflate (the
 * reader inflates with zlib): stored and deflated members, empty members of
 * both kinds, a folder entry, a member whose sizes follow its data in a data
 * descriptor, extra fields and comments, an archive comment, 120 members, a
 * 3,000-character name, names with "..", "./" and a NUL byte, a member with
 * zip64 sizes, an archive with a zip64 end record, and one with no members.
 * Each must read back byte for byte (or be refused as unsupported where the
 * reader says it refuses zip64), and the caller's cap on the size must hold
 * to the byte.
 *
 * Lying sizes.  A member whose directory record claims 4 GiB, or just under
 * the importer's 512 MiB cap, from a few dozen compressed bytes must be
 * refused before anything that large is allocated: raw deflate cannot
 * expand one byte into more than 1,032, so such a claim is a lie that the
 * file itself proves.
 *
 * Mutants.  ZF_ITERS times (NORIAI_ZIP_FUZZ_ITERS and NORIAI_ZIP_FUZZ_SEED
 * change the run), a seed archive gets one to four mutations drawn from a
 * seeded slv_rng, so every run and every machine sees the same mutants: bit
 * flips, boundary bytes (0, 0x7f, 0x80, 0xff) and boundary 32-bit words
 * (0, 0x7fffffff, 0x80000000, 0xffffffff, the file's length), truncation,
 * extension, duplicated and spliced regions, and targeted damage to the
 * end record, the directory records and the local headers (counts, sizes,
 * offsets, methods, flags, name lengths), sizes that lie about the
 * compressed or uncompressed length, and names rewritten with "..", "/" and
 * NUL.  zip.h has no separate open or list call: zip_read_entry opens the
 * file, walks the whole directory and reads one member, so each mutant is
 * read three times - by member names, base names and absent names, under
 * several caps, with a full, a short and no message buffer - and every code
 * goes through zip_strerror.  Each read must either succeed sanely
 * (length within the cap, NUL after the data, a CRC-32 and length that some
 * directory record in the file vouches for) or fail with one of the codes a
 * damaged file deserves and a message that starts with the path.
 *
 * Memory.  No single allocation may exceed ZF_ALLOC_LIMIT (64 MiB; seeds and
 * mutants are kept under 48 KiB, so no honest read needs more).  The plain
 * build lowers the address-space limit to that much above what the process
 * uses, the sanitizer build sets ASan's max_allocation_size_mb; either way an
 * absurd allocation fails, the reader answers ZIP_ENOMEM, and the test counts
 * it as a defect.  ASan and UBSan catch reads out of bounds, LeakSanitizer
 * leaks, and an alarm turns a hang into a failure.  The run prints how many
 * mutants read fine and how many were refused, and the CPU time; a failure
 * names the mutant by its iteration, which the seed reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data/csv/csv.h"
#include "data/csv/zip.h"
#include "solver/rng.h"

#define ZF_ITERS 20000
#define ZF_SEED 0x7a1bf022u
#define ZF_ALLOC_LIMIT ((size_t)64 << 20)
#define ZF_MUTANT_CAP ((size_t)48 << 10)
#define ZF_MAX_MEMBERS 128
#define ZF_WATCHDOG_S 600
#define ZF_DEFLATE_RATIO 1032 /* raw deflate's largest expansion per input byte */

#if defined(__SANITIZE_ADDRESS__)
#define ZF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZF_ASAN 1
#endif
#endif

#ifdef ZF_ASAN
/* Read by ASan at start-up, before ASAN_OPTIONS (which run-tests.sh sets for
 * other flags): allocations over the limit return NULL instead of passing. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=64";
}
#endif

static char tmp_dir[256];

/* ---- little-endian bytes ---- */

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void set16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8 & 0xFF);
}

static void set32(unsigned char *p, uint32_t v)
{
    set16(p, v & 0xFFFF);
    set16(p + 2, v >> 16);
}

/* A growable byte string. */
typedef struct zf_buf {
    unsigned char *p;
    size_t len, cap;
} zf_buf;

static unsigned char *buf_grow(zf_buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    b->len += n;
    return b->p + b->len - n;
}

static void buf_put(zf_buf *b, const void *src, size_t n)
{
    if (n > 0)
        memcpy(buf_grow(b, n), src, n);
}

static void buf_u16(zf_buf *b, unsigned v)
{
    set16(buf_grow(b, 2), v);
}

static void buf_u32(zf_buf *b, uint32_t v)
{
    set32(buf_grow(b, 4), v);
}

static void buf_u64(zf_buf *b, uint64_t v)
{
    buf_u32(b, (uint32_t)v);
    buf_u32(b, (uint32_t)(v >> 32));
}

/* ---- seed archives ---- */

typedef struct zf_member {
    char *name; /* may hold a NUL: name_len counts */
    size_t name_len;
    unsigned char *data;
    size_t len;
    unsigned method;    /* 0 stored, 8 deflate */
    int descriptor;     /* flag bit 3: sizes in a data descriptor after the data */
    int zip64_sizes;    /* directory sizes 0xFFFFFFFF with a zip64 extra field */
    size_t extra_len;   /* bytes of (unknown) extra field, >= 4 when used */
    size_t comment_len; /* bytes of member comment in the directory */
    int expect;         /* what reading it by name gives: 0 or a ZIP_E code */
} zf_member;

typedef struct zf_seed {
    const char *label;
    int n;
    zf_member m[ZF_MAX_MEMBERS];
    const char *archive_comment;
    int zip64_end; /* end record with zip64 markers, zip64 record and locator */
    unsigned char *zip;
    size_t zip_len;
} zf_seed;

enum { SEED_MIXED, SEED_MANY, SEED_NAMES, SEED_BULK, SEED_EMPTY, SEED_ZIP64, N_SEEDS };

static zf_seed seeds[N_SEEDS];

static zf_member *seed_add(zf_seed *s, const char *name, size_t name_len, const void *data,
                           size_t len, unsigned method)
{
    zf_member *m;

    assert_true(s->n < ZF_MAX_MEMBERS);
    m = &s->m[s->n++];
    memset(m, 0, sizeof(*m));
    m->name = malloc(name_len + 1);
    m->data = malloc(len + 1);
    assert_non_null(m->name);
    assert_non_null(m->data);
    memcpy(m->name, name, name_len);
    m->name[name_len] = '\0';
    m->name_len = name_len;
    if (len > 0)
        memcpy(m->data, data, len);
    m->len = len;
    m->method = method;
    return m;
}

static zf_member *seed_add_str(zf_seed *s, const char *name, const char *text, unsigned method)
{
    return seed_add(s, name, strlen(name), text, strlen(text), method);
}

static void deflate_raw(const unsigned char *src, size_t len, zf_buf *out)
{
    z_stream zs;
    uLong bound = compressBound((uLong)len) + 16;
    unsigned char *dst;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    dst = buf_grow(out, bound);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)len;
    zs.next_out = dst;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out->len -= zs.avail_out;
    deflateEnd(&zs);
}

/* Writes n bytes of an extra field the reader must skip (an unknown id). */
static void put_extra(zf_buf *b, size_t n)
{
    if (n < 4)
        return;
    buf_u16(b, 0xCAFE);
    buf_u16(b, (unsigned)(n - 4));
    for (size_t i = 4; i < n; i++)
        buf_put(b, "x", 1);
}

static void seed_build(zf_seed *s)
{
    zf_buf z = {0}, cd = {0};
    uint32_t offs[ZF_MAX_MEMBERS], crcs[ZF_MAX_MEMBERS], csizes[ZF_MAX_MEMBERS];
    size_t cd_off, clen = s->archive_comment ? strlen(s->archive_comment) : 0;

    for (int i = 0; i < s->n; i++) {
        zf_member *m = &s->m[i];
        zf_buf payload = {0};
        unsigned flags = m->descriptor ? 8 : 0;

        crcs[i] = (uint32_t)crc32(0L, m->data, (uInt)m->len);
        if (m->method == 8)
            deflate_raw(m->data, m->len, &payload);
        else
            buf_put(&payload, m->data, m->len);
        csizes[i] = (uint32_t)payload.len;
        offs[i] = (uint32_t)z.len;
        buf_u32(&z, 0x04034b50);
        buf_u16(&z, 20);
        buf_u16(&z, flags);
        buf_u16(&z, m->method);
        buf_u16(&z, 0);      /* time */
        buf_u16(&z, 0x5921); /* date: 2024-09-01 */
        buf_u32(&z, m->descriptor ? 0 : crcs[i]);
        buf_u32(&z, m->descriptor ? 0 : csizes[i]);
        buf_u32(&z, m->descriptor ? 0 : (uint32_t)m->len);
        buf_u16(&z, (unsigned)m->name_len);
        buf_u16(&z, (unsigned)m->extra_len);
        buf_put(&z, m->name, m->name_len);
        put_extra(&z, m->extra_len);
        buf_put(&z, payload.p, payload.len);
        if (m->descriptor) {
            buf_u32(&z, 0x08074b50);
            buf_u32(&z, crcs[i]);
            buf_u32(&z, csizes[i]);
            buf_u32(&z, (uint32_t)m->len);
        }
        free(payload.p);
    }
    cd_off = z.len;
    for (int i = 0; i < s->n; i++) {
        zf_member *m = &s->m[i];
        size_t extra = m->zip64_sizes ? 20 : m->extra_len;

        buf_u32(&cd, 0x02014b50);
        buf_u16(&cd, 0x0314); /* made by: unix, 2.0 */
        buf_u16(&cd, m->zip64_sizes ? 45 : 20);
        buf_u16(&cd, m->descriptor ? 8 : 0);
        buf_u16(&cd, m->method);
        buf_u16(&cd, 0);
        buf_u16(&cd, 0x5921);
        buf_u32(&cd, crcs[i]);
        buf_u32(&cd, m->zip64_sizes ? 0xFFFFFFFF : csizes[i]);
        buf_u32(&cd, m->zip64_sizes ? 0xFFFFFFFF : (uint32_t)m->len);
        buf_u16(&cd, (unsigned)m->name_len);
        buf_u16(&cd, (unsigned)extra);
        buf_u16(&cd, (unsigned)m->comment_len);
        buf_u16(&cd, 0);          /* disk */
        buf_u16(&cd, 0);          /* internal attributes */
        buf_u32(&cd, 0x81a40000); /* -rw-r--r-- */
        buf_u32(&cd, offs[i]);
        buf_put(&cd, m->name, m->name_len);
        if (m->zip64_sizes) {
            buf_u16(&cd, 0x0001);
            buf_u16(&cd, 16);
            buf_u64(&cd, m->len);
            buf_u64(&cd, csizes[i]);
        } else {
            put_extra(&cd, m->extra_len);
        }
        for (size_t k = 0; k < m->comment_len; k++)
            buf_put(&cd, "c", 1);
    }
    buf_put(&z, cd.p, cd.len);
    if (s->zip64_end) {
        size_t rec_off = z.len;

        buf_u32(&z, 0x06064b50);
        buf_u64(&z, 44);
        buf_u16(&z, 45);
        buf_u16(&z, 45);
        buf_u32(&z, 0);
        buf_u32(&z, 0);
        buf_u64(&z, (uint64_t)s->n);
        buf_u64(&z, (uint64_t)s->n);
        buf_u64(&z, cd.len);
        buf_u64(&z, cd_off);
        buf_u32(&z, 0x07064b50);
        buf_u32(&z, 0);
        buf_u64(&z, rec_off);
        buf_u32(&z, 1);
    }
    buf_u32(&z, 0x06054b50);
    buf_u16(&z, 0);
    buf_u16(&z, 0);
    buf_u16(&z, s->zip64_end ? 0xFFFF : (unsigned)s->n);
    buf_u16(&z, s->zip64_end ? 0xFFFF : (unsigned)s->n);
    buf_u32(&z, s->zip64_end ? 0xFFFFFFFF : (uint32_t)cd.len);
    buf_u32(&z, s->zip64_end ? 0xFFFFFFFF : (uint32_t)cd_off);
    buf_u16(&z, (unsigned)clen);
    buf_put(&z, s->archive_comment, clen);
    free(cd.p);
    assert_true(z.len <= ZF_MUTANT_CAP);
    s->zip = z.p;
    s->zip_len = z.len;
}

/* GTFS-like text of about n bytes. */
static char *stops_text(int rows)
{
    zf_buf b = {0};
    char line[128];

    buf_put(&b, "stop_id,stop_name,stop_lat,stop_lon\n", 36);
    for (int i = 0; i < rows; i++) {
        int n = snprintf(line, sizeof(line), "%d,Stop %d,36.%04d,139.%04d\n", i, i, 1000 + i * 7,
                         3000 + i * 11);
        buf_put(&b, line, (size_t)n);
    }
    buf_put(&b, "", 1);
    return (char *)b.p;
}

static void seeds_create(void)
{
    char *stops = stops_text(60), name[64];
    zf_seed *s;
    slv_rng r;

    memset(seeds, 0, sizeof(seeds));

    s = &seeds[SEED_MIXED];
    s->label = "mixed";
    s->archive_comment = "noriai zip fuzz seed";
    seed_add_str(s, "feed/", "", 0);
    seed_add_str(s, "feed/stops.txt", stops, 8)->extra_len = 12;
    seed_add_str(s, "feed/agency.txt", "agency_id,agency_name\n1,Noriai Bus\n", 0)->comment_len = 9;
    seed_add_str(s, "feed/empty.txt", "", 0);
    seed_add_str(s, "feed/empty8.txt", "", 8);
    seed_add_str(s, "feed/routes.txt", "route_id,route_short_name\nR1,1\nR2,2\n", 8)->descriptor =
        1;
    seed_add_str(s, "feed/stored.txt", "route_id,route_short_name\nR1,1\n", 0)->descriptor = 1;
    {
        zf_member *m = seed_add_str(s, "feed/big64.txt", "zip64 sizes\n", 0);
        m->zip64_sizes = 1;
        m->expect = ZIP_EUNSUPPORTED;
    }

    s = &seeds[SEED_MANY];
    s->label = "many";
    for (int i = 0; i < 120; i++) {
        snprintf(name, sizeof(name), "d%d/m%03d.txt", i % 3, i);
        seed_add_str(s, name, i % 5 == 0 ? "" : "a,b\n1,2\n3,4\n", i % 2 ? 8 : 0);
    }

    s = &seeds[SEED_NAMES];
    s->label = "names";
    {
        char *longname = malloc(3001);
        assert_non_null(longname);
        for (int i = 0; i < 3000; i++)
            longname[i] = i % 50 == 49 ? '/' : (char)('a' + i % 26);
        memcpy(longname + 2990, "/stops.txt", 10);
        longname[3000] = '\0';
        seed_add(s, longname, 3000, stops, 200, 8)->extra_len = 40;
        free(longname);
    }
    seed_add_str(s, "../up.txt", "up\n", 0);
    seed_add_str(s, "./dot.txt", "dot\n", 8);
    seed_add_str(s, "/abs.txt", "abs\n", 0)->comment_len = 100;
    seed_add(s, "nul\0.txt", 8, "hidden\n", 7, 0)->expect = ZIP_ENOTFOUND;
    seed_add_str(s, "a//b/../c.txt", "c\n", 8);

    s = &seeds[SEED_BULK];
    s->label = "bulk";
    {
        size_t zeros_len = (size_t)256 << 10, noise_len = 8192;
        unsigned char *zeros = calloc(zeros_len, 1), *noise = malloc(noise_len);

        assert_non_null(zeros);
        assert_non_null(noise);
        slv_rng_seed(&r, 7);
        for (size_t i = 0; i < noise_len; i++)
            noise[i] = (unsigned char)slv_rng_below(&r, 256);
        seed_add(s, "zeros.bin", 9, zeros, zeros_len, 8);
        seed_add(s, "noise.bin", 9, noise, noise_len, 0);
        seed_add(s, "noise8.bin", 10, noise, noise_len, 8);
        free(zeros);
        free(noise);
    }

    s = &seeds[SEED_EMPTY];
    s->label = "empty";

    s = &seeds[SEED_ZIP64];
    s->label = "zip64";
    s->zip64_end = 1;
    seed_add_str(s, "stops.txt", stops, 8)->expect = ZIP_EUNSUPPORTED;

    for (int i = 0; i < N_SEEDS; i++)
        seed_build(&seeds[i]);
    free(stops);
}

static void seeds_destroy(void)
{
    for (int i = 0; i < N_SEEDS; i++) {
        for (int k = 0; k < seeds[i].n; k++) {
            free(seeds[i].m[k].name);
            free(seeds[i].m[k].data);
        }
        free(seeds[i].zip);
    }
    memset(seeds, 0, sizeof(seeds));
}

/* ---- memory bound ---- */

/* Makes any allocation above ZF_ALLOC_LIMIT fail (see the opening essay). */
static void limit_allocations(void)
{
#ifndef ZF_ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    struct rlimit rl;

    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    assert_int_equal(getrlimit(RLIMIT_AS, &rl), 0);
    rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ZF_ALLOC_LIMIT;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_AS, &rl), 0);
#endif
}

static int setup(void **state)
{
    (void)state;
    if (tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "zipfuzz") != 0)
        return -1;
    seeds_create();
    limit_allocations();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    seeds_destroy();
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

static const char *write_tmp(const char *file, const unsigned char *b, size_t len)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, file);
    /* a new file, not one truncated: ext4 flushes a file rewritten in place on
     * close (auto_da_alloc), which made the loop wait on the disk */
    unlink(path);
    f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0)
        assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ---- the seeds read back ---- */

/* Reads name and checks the outcome is want (0 with exactly want_data). */
static void expect_read(const char *path, const char *name, size_t max_len, int want,
                        const zf_member *m)
{
    char *data = (char *)&data, err[512] = "";
    size_t len = 99;
    int rc = zip_read_entry(path, name, max_len, &data, &len, err, sizeof(err));

    if (rc != want)
        fail_msg("%s: reading \"%.60s\" (cap %zu) gave %d (%s), expected %d", path, name, max_len,
                 rc, err, want);
    if (rc == 0) {
        assert_non_null(data);
        assert_int_equal(len, m->len);
        assert_memory_equal(data, m->data, m->len);
        assert_int_equal(data[len], '\0');
        free(data);
        return;
    }
    assert_null(data);
    assert_int_equal(len, 0);
    if (strstr(err, path) != err)
        fail_msg("message \"%s\" does not start with the path", err);
}

static void test_seeds_read_back(void **state)
{
    (void)state;
    for (int i = 0; i < N_SEEDS; i++) {
        const zf_seed *s = &seeds[i];
        const char *path = write_tmp("seed.zip", s->zip, s->zip_len);
        int whole = s->zip64_end ? ZIP_EUNSUPPORTED : 0;

        for (int k = 0; k < s->n; k++) {
            const zf_member *m = &s->m[k];
            int want = whole ? whole : m->expect;

            if (strlen(m->name) != m->name_len) {
                /* the name is cut at its NUL: "nul" is no member */
                expect_read(path, m->name, SIZE_MAX, want, m);
                continue;
            }
            expect_read(path, m->name, SIZE_MAX, want, m);
            expect_read(path, m->name, CSV_MAX_FILE_BYTES, want, m);
            if (want == 0) {
                expect_read(path, m->name, m->len, 0, m);
                if (m->len > 0)
                    expect_read(path, m->name, m->len - 1, ZIP_ETOOBIG, m);
            }
        }
        expect_read(path, "missing.txt", SIZE_MAX, whole ? whole : ZIP_ENOTFOUND, NULL);
    }
    /* base names: one match is found, several are refused */
    {
        const char *path = write_tmp("seed.zip", seeds[SEED_MIXED].zip, seeds[SEED_MIXED].zip_len);
        expect_read(path, "stops.txt", SIZE_MAX, 0, &seeds[SEED_MIXED].m[1]);
        path = write_tmp("seed.zip", seeds[SEED_NAMES].zip, seeds[SEED_NAMES].zip_len);
        expect_read(path, "up.txt", SIZE_MAX, 0, &seeds[SEED_NAMES].m[1]);
        expect_read(path, "stops.txt", SIZE_MAX, 0, &seeds[SEED_NAMES].m[0]);
        path = write_tmp("seed.zip", seeds[SEED_MANY].zip, seeds[SEED_MANY].zip_len);
        expect_read(path, "m007.txt", SIZE_MAX, 0, &seeds[SEED_MANY].m[7]);
    }
    /* the arguments and the message table */
    {
        char *data = (char *)&data, err[64] = "";
        size_t len = 3;

        assert_int_equal(zip_read_entry(NULL, "x", 1, &data, &len, err, sizeof(err)), ZIP_EINVAL);
        assert_int_equal(zip_read_entry("x", NULL, 1, &data, &len, NULL, 0), ZIP_EINVAL);
        assert_int_equal(zip_read_entry("x", "x", 1, NULL, &len, NULL, 0), ZIP_EINVAL);
        assert_int_equal(zip_read_entry("x", "x", 1, &data, NULL, NULL, 0), ZIP_EINVAL);
        assert_int_equal(zip_read_entry(tmp_dir, "x", 1, &data, &len, err, sizeof(err)),
                         zip_read_entry(tmp_dir, "x", 1, &data, &len, NULL, 0));
        assert_null(data);
        for (int code = ZIP_ECRC; code <= ZIP_ENOMEM; code++)
            assert_string_not_equal(zip_strerror(code), "unknown error");
        assert_string_equal(zip_strerror(0), "success");
        assert_string_equal(zip_strerror(-1000), "unknown error");
        assert_string_equal(zip_strerror(7), "unknown error");
    }
}

/* ---- sizes that lie ---- */

/* Offset of member k's record: the k-th of the directory the end record names. */
static size_t cd_record(const unsigned char *z, size_t len, int k)
{
    size_t eocd = len - 22, pos;

    while (get32(z + eocd) != 0x06054b50)
        eocd--;
    pos = get32(z + eocd + 16);
    for (int i = 0; i < k; i++)
        pos += 46 + get16(z + pos + 28) + get16(z + pos + 30) + get16(z + pos + 32);
    assert_int_equal(get32(z + pos), 0x02014b50);
    return pos;
}

/* feed/routes.txt of the mixed seed: a deflated member of a few dozen bytes. */
#define LIE_MEMBER 5

static uint32_t lie_csize(void)
{
    const zf_seed *s = &seeds[SEED_MIXED];

    return get32(s->zip + cd_record(s->zip, s->zip_len, LIE_MEMBER) + 20);
}

/* Its directory record claims usize: refused, not allocated. */
static void expect_lie_refused(uint32_t usize, size_t max_len)
{
    const zf_seed *s = &seeds[SEED_MIXED];
    unsigned char *z = malloc(s->zip_len);
    char *data = (char *)&data, err[512] = "";
    size_t len = 5;
    const char *path;
    int rc;

    assert_non_null(z);
    memcpy(z, s->zip, s->zip_len);
    set32(z + cd_record(z, s->zip_len, LIE_MEMBER) + 24, usize);
    path = write_tmp("lie.zip", z, s->zip_len);
    rc = zip_read_entry(path, "routes.txt", max_len, &data, &len, err, sizeof(err));
    free(z);
    assert_null(data);
    if (rc == ZIP_ENOMEM)
        fail_msg("zip.c allocates what a %lu-byte deflate stream claims to expand to: %lu bytes "
                 "(cap %zu) were asked for at once, over the test's limit of %zu: \"%s\"",
                 (unsigned long)lie_csize(), (unsigned long)usize, max_len, ZF_ALLOC_LIMIT, err);
    if (rc != ZIP_EFORMAT && rc != ZIP_ETOOBIG)
        fail_msg("a member claiming %lu bytes gave %d (%s)", (unsigned long)usize, rc, err);
}

static void test_lying_sizes(void **state)
{
    (void)state;
    assert_true(lie_csize() < 64);
    /* over the cap: refused by the cap */
    expect_lie_refused(0xFFFFFFFE, CSV_MAX_FILE_BYTES);
    expect_lie_refused((uint32_t)CSV_MAX_FILE_BYTES + 1, CSV_MAX_FILE_BYTES);
    /* under the cap, but far more than the stream can inflate to */
    expect_lie_refused((uint32_t)CSV_MAX_FILE_BYTES, CSV_MAX_FILE_BYTES);
    expect_lie_refused(0xFFFFFFFE, SIZE_MAX);
    expect_lie_refused(100u << 20, SIZE_MAX);
    /* a possible ratio may be allocated: it fails at the length instead */
    expect_lie_refused(lie_csize() * ZF_DEFLATE_RATIO, SIZE_MAX);

    /* stored sizes that run past the directory, and a compressed size that lies */
    {
        const zf_seed *s = &seeds[SEED_MIXED];
        unsigned char *z = malloc(s->zip_len);
        size_t rec;

        assert_non_null(z);
        for (int v = 0; v < 4; v++) {
            static const uint32_t sizes[] = {0xFFFFFFFE, 0x7FFFFFFF, 0x10000, 0};
            char *data = (char *)&data, err[512];
            size_t len = 1;
            const char *path;

            memcpy(z, s->zip, s->zip_len);
            rec = cd_record(z, s->zip_len, 2); /* feed/agency.txt, stored */
            set32(z + rec + 20, sizes[v]);
            set32(z + rec + 24, sizes[v]);
            path = write_tmp("lie.zip", z, s->zip_len);
            assert_true(
                zip_read_entry(path, "agency.txt", SIZE_MAX, &data, &len, err, sizeof(err)) < 0);
            assert_null(data);
            memcpy(z, s->zip, s->zip_len);
            rec = cd_record(z, s->zip_len, 1); /* feed/stops.txt, deflated */
            set32(z + rec + 20, sizes[v]);
            path = write_tmp("lie.zip", z, s->zip_len);
            assert_int_equal(
                zip_read_entry(path, "stops.txt", SIZE_MAX, &data, &len, err, sizeof(err)),
                ZIP_EFORMAT);
            assert_null(data);
        }
        free(z);
    }
}

/* ---- mutants ---- */

typedef struct zf_stats {
    long mutants, mutants_ok, reads, reads_ok;
    long by_code[16];
    long over_alloc;
    char first_over[600];
} zf_stats;

static size_t rnd(slv_rng *r, size_t n)
{
    return n <= 1 ? 0 : (size_t)slv_rng_below(r, (int)n);
}

/* Offsets of every occurrence of the 4-byte signature sig, into at[]. */
static int find_sig(const unsigned char *b, size_t len, uint32_t sig, size_t *at, int max)
{
    int n = 0;

    for (size_t i = 0; i + 4 <= len && n < max; i++)
        if (b[i] == 'P' && get32(b + i) == sig)
            at[n++] = i;
    return n;
}

static uint32_t boundary32(slv_rng *r, size_t len, uint32_t was)
{
    switch (rnd(r, 12)) {
    case 0:
        return 0;
    case 1:
        return 0xFFFFFFFF;
    case 2:
        return 0x7FFFFFFF;
    case 3:
        return 0x80000000;
    case 4:
        return 0xFFFFFFFE;
    case 5:
        return (uint32_t)len;
    case 6:
        return (uint32_t)len + 1;
    case 7:
        return (uint32_t)len - 1;
    case 8:
        return was + 1;
    case 9:
        return was - 1;
    case 10:
        return (uint32_t)CSV_MAX_FILE_BYTES;
    default:
        return (uint32_t)slv_rng_next(r);
    }
}

static unsigned boundary16(slv_rng *r, unsigned was)
{
    static const unsigned v[] = {0, 0xFFFF, 0x7FFF, 0x8000, 1, 0xFFFE};

    switch (rnd(r, 4)) {
    case 0:
        return (was + 1) & 0xFFFF;
    case 1:
        return (was - 1) & 0xFFFF;
    default:
        return v[rnd(r, sizeof(v) / sizeof(v[0]))];
    }
}

/* Sets the field of width 2 or 4 at p to a boundary value. */
static void poke(slv_rng *r, unsigned char *p, int width, size_t len)
{
    if (width == 2)
        set16(p, boundary16(r, get16(p)));
    else
        set32(p, boundary32(r, len, get32(p)));
}

/* A field of a structure found by its signature: fields[] holds offset and width pairs. */
static void poke_struct(slv_rng *r, unsigned char *b, size_t len, uint32_t sig, size_t rec_size,
                        const unsigned char (*fields)[2], size_t n_fields)
{
    size_t at[256];
    int n = find_sig(b, len, sig, at, 256);
    size_t pos, f;

    if (n == 0)
        return;
    pos = at[rnd(r, (size_t)n)];
    f = rnd(r, n_fields);
    if (pos + rec_size > len)
        return;
    poke(r, b + pos + fields[f][0], fields[f][1], len);
}

static void mutate(slv_rng *r, unsigned char *b, size_t *lenp)
{
    static const unsigned char eocd_fields[][2] = {{4, 2},  {6, 2},  {8, 2}, {10, 2},
                                                   {12, 4}, {16, 4}, {20, 2}};
    static const unsigned char cd_fields[][2] = {{8, 2},  {10, 2}, {16, 4}, {20, 4}, {24, 4},
                                                 {28, 2}, {30, 2}, {32, 2}, {34, 2}, {42, 4}};
    static const unsigned char lh_fields[][2] = {{6, 2},  {8, 2},  {14, 4}, {18, 4},
                                                 {22, 4}, {26, 2}, {28, 2}};
    static const unsigned char bytes[] = {0, 0xFF, 0x7F, 0x80, 1, 0xFE};
    size_t len = *lenp, at[256];
    int n;

    switch (rnd(r, 13)) {
    case 0: /* bit flips */
        for (size_t k = 1 + rnd(r, 8); k > 0 && len > 0; k--)
            b[rnd(r, len)] ^= (unsigned char)(1u << rnd(r, 8));
        break;
    case 1: /* a boundary byte */
        if (len > 0)
            b[rnd(r, len)] = bytes[rnd(r, sizeof(bytes))];
        break;
    case 2: /* a boundary word anywhere */
        if (len >= 4)
            set32(b + rnd(r, len - 3), boundary32(r, len, 0));
        break;
    case 3: /* truncate, mostly near the end */
        len = rnd(r, 2) ? rnd(r, len + 1) : len - rnd(r, len < 64 ? len + 1 : 64);
        break;
    case 4: { /* extend: zeros, 0xff, noise or a copy of the tail */
        size_t add = 1 + rnd(r, 600), kind = rnd(r, 4), src;

        if (len + add > ZF_MUTANT_CAP)
            add = ZF_MUTANT_CAP - len;
        src = len >= add ? len - add : 0;
        for (size_t i = 0; i < add; i++)
            b[len + i] = kind == 0   ? 0
                         : kind == 1 ? 0xFF
                         : kind == 2 ? (unsigned char)slv_rng_below(r, 256)
                                     : b[src + i];
        len += add;
        break;
    }
    case 5: { /* duplicate a region: insert a copy of it elsewhere */
        size_t from = rnd(r, len), n_copy = 1 + rnd(r, 200), to;

        if (len == 0)
            break;
        if (n_copy > len - from)
            n_copy = len - from;
        if (len + n_copy > ZF_MUTANT_CAP)
            break;
        to = rnd(r, len + 1);
        {
            unsigned char tmp[200];
            memcpy(tmp, b + from, n_copy);
            memmove(b + to + n_copy, b + to, len - to);
            memcpy(b + to, tmp, n_copy);
        }
        len += n_copy;
        break;
    }
    case 6: { /* splice: a region of another seed over this one */
        const zf_seed *o = &seeds[rnd(r, N_SEEDS)];
        size_t from = rnd(r, o->zip_len), n_copy = 1 + rnd(r, 400), to = rnd(r, len + 1);

        if (n_copy > o->zip_len - from)
            n_copy = o->zip_len - from;
        if (to + n_copy > ZF_MUTANT_CAP)
            break;
        memcpy(b + to, o->zip + from, n_copy);
        if (to + n_copy > len)
            len = to + n_copy;
        break;
    }
    case 7: /* the end record */
        poke_struct(r, b, len, 0x06054b50, 22, eocd_fields,
                    sizeof(eocd_fields) / sizeof(eocd_fields[0]));
        break;
    case 8: /* a directory record */
        poke_struct(r, b, len, 0x02014b50, 46, cd_fields, sizeof(cd_fields) / sizeof(cd_fields[0]));
        break;
    case 9: /* a local header */
        poke_struct(r, b, len, 0x04034b50, 30, lh_fields, sizeof(lh_fields) / sizeof(lh_fields[0]));
        break;
    case 10: /* sizes that lie: compressed, uncompressed or both */
        n = find_sig(b, len, 0x02014b50, at, 256);
        if (n > 0) {
            static const uint32_t lies[] = {0xFFFFFFFE, 0x1FFFFFFF, 0x20000000, 0x20000001,
                                            0x7FFFFFFF, 0x00100000, 0,          1};
            size_t pos = at[rnd(r, (size_t)n)];
            uint32_t cs, us, lie;

            if (pos + 46 > len)
                break;
            cs = get32(b + pos + 20);
            us = get32(b + pos + 24);
            lie = rnd(r, 3) ? lies[rnd(r, 8)] : us + (uint32_t)rnd(r, 3) - 1;
            switch (rnd(r, 3)) {
            case 0:
                set32(b + pos + 24, lie);
                break;
            case 1:
                set32(b + pos + 20, rnd(r, 2) ? lie : cs + (uint32_t)rnd(r, 3) - 1);
                break;
            default:
                set32(b + pos + 20, lie);
                set32(b + pos + 24, lie);
                break;
            }
        }
        break;
    case 11: /* names with "..", "/" and NUL */
        n = find_sig(b, len, 0x02014b50, at, 256);
        if (n > 0) {
            size_t pos = at[rnd(r, (size_t)n)], nl;
            static const char *const names[] = {
                "..", "/", "../stops.txt", "stops.txt", "a/../stops.txt", "/stops.txt"};

            if (pos + 46 > len)
                break;
            nl = get16(b + pos + 28);
            if (nl == 0 || pos + 46 + nl > len)
                break;
            if (rnd(r, 2)) {
                static const char marks[] = {'.', '/', '\0'};
                b[pos + 46 + rnd(r, nl)] = (unsigned char)marks[rnd(r, 3)];
            } else {
                const char *w = names[rnd(r, sizeof(names) / sizeof(names[0]))];
                size_t wl = strlen(w) < nl ? strlen(w) : nl;
                memcpy(b + pos + 46, w, wl);
                if (rnd(r, 2))
                    set16(b + pos + 28, (unsigned)wl);
            }
        }
        break;
    default: /* a run of one byte value */
        if (len > 0) {
            size_t from = rnd(r, len), run = 1 + rnd(r, 32);
            unsigned char v = (unsigned char)slv_rng_below(r, 256);
            for (size_t i = from; i < len && i < from + run; i++)
                b[i] = v;
        }
        break;
    }
    *lenp = len;
}

/* Does some directory record in the file vouch for crc and len? */
static int vouched(const unsigned char *b, size_t blen, uint32_t crc, size_t len)
{
    for (size_t i = 0; i + 46 <= blen; i++)
        if (b[i] == 'P' && get32(b + i) == 0x02014b50 && get32(b + i + 16) == crc &&
            get32(b + i + 24) == len)
            return 1;
    return 0;
}

/* One call of zip_read_entry on a mutant; checks what it answers, counts it. */
static int probe(const char *path, const unsigned char *b, size_t blen, const char *name,
                 size_t max_len, int msg_kind, zf_stats *st, long iter)
{
    char *data = (char *)&data, err[512];
    size_t len = 77, err_len = msg_kind == 0 ? sizeof(err) : msg_kind == 1 ? 16 : 0;
    char *errp = msg_kind == 2 ? NULL : err;
    int rc;

    memset(err, 'z', sizeof(err));
    err[sizeof(err) - 1] = '\0';
    rc = zip_read_entry(path, name, max_len, &data, &len, errp, err_len);
    st->reads++;
    if (rc == 0) {
        assert_non_null(data);
        if (len > max_len || len > (size_t)ZF_DEFLATE_RATIO * blen)
            fail_msg("mutant %ld: %s read as %zu bytes (cap %zu, file %zu)", iter, name, len,
                     max_len, blen);
        assert_int_equal(data[len], '\0');
        if (!vouched(b, blen, (uint32_t)crc32(0L, (const Bytef *)data, (uInt)len), len))
            fail_msg("mutant %ld: %s read as %zu bytes no directory record vouches for", iter, name,
                     len);
        free(data);
        st->reads_ok++;
        return 1;
    }
    if (data != NULL || len != 0)
        fail_msg("mutant %ld: error %d left data %p, len %zu", iter, rc, (void *)data, len);
    if (rc == ZIP_ENOMEM) {
        if (st->over_alloc++ == 0)
            snprintf(st->first_over, sizeof(st->first_over), "mutant %ld, %s, cap %zu: %.400s",
                     iter, name, max_len, msg_kind == 0 ? err : "(no message asked)");
    } else if (rc != ZIP_EFORMAT && rc != ZIP_EUNSUPPORTED && rc != ZIP_ENOTFOUND &&
               rc != ZIP_ETOOBIG && rc != ZIP_ECRC) {
        fail_msg("mutant %ld: %s gave %d (%s): not an answer to a damaged file", iter, name, rc,
                 msg_kind == 0 ? err : "");
    }
    assert_string_not_equal(zip_strerror(rc), "unknown error");
    if (msg_kind == 0 && strstr(err, path) != err)
        fail_msg("mutant %ld: message \"%s\" does not start with the path", iter, err);
    if (msg_kind == 1)
        assert_true(strlen(err) < 16);
    st->by_code[-rc]++;
    return 0;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);

    return v && *v ? strtol(v, NULL, 0) : dflt;
}

static void test_mutants(void **state)
{
    long iters = env_long("NORIAI_ZIP_FUZZ_ITERS", ZF_ITERS);
    uint64_t seed = (uint64_t)env_long("NORIAI_ZIP_FUZZ_SEED", ZF_SEED);
    unsigned char *b = malloc(ZF_MUTANT_CAP);
    clock_t t0 = clock();
    zf_stats st;
    slv_rng r;
    char path[512];

    (void)state;
    assert_non_null(b);
    memset(&st, 0, sizeof(st));
    snprintf(path, sizeof(path), "%s/mutant.zip", tmp_dir);
    slv_rng_seed(&r, seed);
    alarm(ZF_WATCHDOG_S);
    for (long it = 0; it < iters; it++) {
        int si = (int)rnd(&r, N_SEEDS), ok = 0;
        const zf_seed *s = &seeds[si];
        size_t len = s->zip_len;

        memcpy(b, s->zip, len);
        for (size_t k = 1 + rnd(&r, 4); k > 0; k--)
            mutate(&r, b, &len);
        write_tmp("mutant.zip", b, len);
        st.mutants++;
        for (int p = 0; p < 3; p++) {
            static const char *const other[] = {"stops.txt", "missing.txt", "",        "..",
                                                "up.txt",    "/",           "m007.txt"};
            const char *name = s->n > 0 && p < 2 ? s->m[rnd(&r, (size_t)s->n)].name
                                                 : other[rnd(&r, sizeof(other) / sizeof(*other))];
            size_t caps[] = {SIZE_MAX, CSV_MAX_FILE_BYTES, rnd(&r, 4096)};

            ok |= probe(path, b, len, name, caps[p], p == 2 ? (int)rnd(&r, 3) : 0, &st, it);
        }
        st.mutants_ok += ok;
    }
    alarm(0);
    free(b);
    print_message("zip fuzz: %ld mutants (seed %#llx): %ld read fine at least once, %ld refused "
                  "every time; %ld reads: %ld fine, refused %ld format, %ld crc, %ld unsupported, "
                  "%ld not found, %ld too big, %ld out of memory; %.2f s CPU\n",
                  st.mutants, (unsigned long long)seed, st.mutants_ok, st.mutants - st.mutants_ok,
                  st.reads, st.reads_ok, st.by_code[-ZIP_EFORMAT], st.by_code[-ZIP_ECRC],
                  st.by_code[-ZIP_EUNSUPPORTED], st.by_code[-ZIP_ENOTFOUND],
                  st.by_code[-ZIP_ETOOBIG], st.by_code[-ZIP_ENOMEM],
                  (double)(clock() - t0) / CLOCKS_PER_SEC);
    if (st.over_alloc > 0)
        fail_msg("%ld reads asked for more than %zu bytes at once; the first: %s", st.over_alloc,
                 ZF_ALLOC_LIMIT, st.first_over);
    assert_true(st.mutants_ok > 0);
    assert_true(st.mutants_ok < st.mutants);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds_read_back),
        cmocka_unit_test(test_lying_sizes),
        cmocka_unit_test(test_mutants),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
