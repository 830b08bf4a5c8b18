/*
 * osm_pbf.c - the container layer of the PBF reader: records, blobs, zlib.
 *
 * A file is a sequence of records: a 4-byte big-endian length, a BlobHeader
 * of that length (its type and the size of what follows), then a Blob, which
 * holds one block either raw or zlib-compressed.  The first record must be an
 * "OSMHeader"; "OSMData" records follow; records of other types are skipped
 * unread, as the format asks.
 *
 * Streaming: osm_pbf_read keeps one record in memory at a time - the bytes
 * read from the file, the Blob protobuf-c decoded from them and the block
 * inflated from that - so its memory is a small multiple of the largest
 * block (Monaco's biggest block is 2.4 MB inflated) whatever the file size.
 * osm_pbf_read_mem walks a caller's buffer the same way without copying it.
 *
 * Every length is checked before it is used to allocate or read: a
 * BlobHeader is at most 64 KiB, a Blob and an inflated block at most 32 MiB
 * (the format's own limits), and neither may reach past the end of the file.
 * A zlib blob is inflated into a buffer of exactly raw_size bytes and must
 * fill it exactly; a raw_size beyond deflate's best ratio (1032:1) is
 * refused before that buffer is allocated.  protobuf-c decodes with a
 * budgeted allocator (osm_int.h), so a crafted block cannot make it allocate
 * more than a fixed multiple of the block's size.
 *
 * Cost: one pass; per record one read (file mode), one protobuf-c unpack of
 * the Blob (which copies its data once), one inflate.
 */
#define ZLIB_CONST
#include "data/osm/osm_int.h"
#include "solver/errf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/proto/osm_fileformat.pb-c.h"

/* deflate cannot compress better than 1032:1, so a larger raw_size is a lie */
#define OSM_ZLIB_MAX_RATIO 1032

/* ---------------------------------------------------------------------- */
/* the decoding budget                                                    */

static void *budget_alloc(void *ud, size_t size)
{
    osm_budget *b = ud;
    void *p;

    if (size > b->limit - b->used) {
        b->refused = 1;
        return NULL;
    }
    p = malloc(size ? size : 1);
    if (p == NULL) {
        b->oom = 1;
        return NULL;
    }
    b->used += size;
    return p;
}

static void budget_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

void osm_budget_init(osm_budget *b, ProtobufCAllocator *a, size_t input_len)
{
    memset(b, 0, sizeof(*b));
    b->limit = OSM_DECODE_SLACK + OSM_DECODE_FACTOR * input_len;
    a->alloc = budget_alloc;
    a->free = budget_free;
    a->allocator_data = b;
}

/* ---------------------------------------------------------------------- */
/* the byte source: a FILE or a memory buffer                             */

typedef struct src {
    FILE *f;
    const uint8_t *mem;
    uint64_t off;   /* bytes consumed */
    uint64_t total; /* size of the input; UINT64_MAX if unknown (a pipe) */
    uint8_t *buf;   /* file mode: the bytes of the current piece */
    size_t cap;
} src;

static uint64_t left(const src *s)
{
    return s->total == UINT64_MAX ? UINT64_MAX : s->total - s->off;
}

/*
 * Makes the next n bytes available at *p.  Returns the number of bytes
 * actually there (n, or fewer at the end of the input) or -1 when out of
 * memory.  n is at most OSM_MAX_BLOB_BYTES, checked by the caller.
 */
static long long take(src *s, size_t n, const uint8_t **p)
{
    size_t got;

    if (s->mem != NULL || s->f == NULL) {
        uint64_t l = left(s);
        got = l < n ? (size_t)l : n;
        *p = s->mem != NULL ? s->mem + s->off : (const uint8_t *)"";
        s->off += got;
        return (long long)got;
    }
    if (n > s->cap) {
        uint8_t *q = realloc(s->buf, n);
        if (q == NULL)
            return -1;
        s->buf = q;
        s->cap = n;
    }
    got = n > 0 ? fread(s->buf, 1, n, s->f) : 0;
    s->off += got;
    *p = s->buf != NULL ? s->buf : (const uint8_t *)"";
    return (long long)got;
}

/* ---------------------------------------------------------------------- */
/* one record                                                             */

/* Scratch kept across records: the inflated block. */
typedef struct inflated {
    uint8_t *buf;
    size_t cap;
} inflated;

static int inflate_exact(osm_ctx *x, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    unsigned long long off = (unsigned long long)x->blob_off;
    z_stream z;
    int zr, rc = 0;

    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return slv_errf(x->err, x->err_len, OSM_ENOMEM, "%s: out of memory starting zlib", x->name);
    z.next_in = in;
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = (uInt)out_len;
    zr = inflate(&z, Z_FINISH);
    if (zr == Z_STREAM_END) {
        if (z.total_out != out_len)
            rc = slv_errf(x->err, x->err_len, OSM_EZLIB,
                          "%s: byte %llu: blob inflates to %lu bytes but its raw_size says %zu",
                          x->name, off, (unsigned long)z.total_out, out_len);
    } else if (zr == Z_MEM_ERROR) {
        rc = slv_errf(x->err, x->err_len, OSM_ENOMEM, "%s: byte %llu: out of memory in zlib",
                      x->name, off);
    } else if ((zr == Z_OK || zr == Z_BUF_ERROR) && z.avail_out == 0) {
        rc = slv_errf(x->err, x->err_len, OSM_EZLIB,
                      "%s: byte %llu: blob inflates to more than its raw_size of %zu bytes",
                      x->name, off, out_len);
    } else if (zr == Z_OK || zr == Z_BUF_ERROR) {
        rc = slv_errf(x->err, x->err_len, OSM_EZLIB,
                      "%s: byte %llu: compressed blob data ends early (%lu of %zu bytes inflated)",
                      x->name, off, (unsigned long)z.total_out, out_len);
    } else {
        rc = slv_errf(x->err, x->err_len, OSM_EZLIB, "%s: byte %llu: corrupt zlib data (%s)",
                      x->name, off, z.msg != NULL ? z.msg : "no detail");
    }
    inflateEnd(&z);
    return rc;
}

static int truncated(osm_ctx *x, const char *what, uint64_t need, uint64_t have)
{
    return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                    "%s: byte %llu: file ends inside %s (%llu of %llu bytes present); truncated?",
                    x->name, (unsigned long long)x->blob_off, what, (unsigned long long)have,
                    (unsigned long long)need);
}

/*
 * The block carried by a decoded Blob: raw bytes as they are, zlib data
 * inflated into z.  out and out_len get the block.
 */
static int blob_payload(osm_ctx *x, const Noriai__Osm__Blob *blob, inflated *z, const uint8_t **out,
                        size_t *out_len)
{
    unsigned long long off = (unsigned long long)x->blob_off;
    const char *kind = NULL;
    size_t raw_size;

    switch (blob->data_case) {
    case NORIAI__OSM__BLOB__DATA_RAW:
        if (blob->has_raw_size && (blob->raw_size < 0 || (size_t)blob->raw_size != blob->raw.len))
            return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                            "%s: byte %llu: raw blob of %zu bytes says raw_size %ld", x->name, off,
                            blob->raw.len, (long)blob->raw_size);
        *out = blob->raw.data != NULL ? blob->raw.data : (const uint8_t *)"";
        *out_len = blob->raw.len;
        return 0;
    case NORIAI__OSM__BLOB__DATA_ZLIB_DATA:
        break;
    case NORIAI__OSM__BLOB__DATA_LZMA_DATA:
        kind = "lzma";
        break;
    case NORIAI__OSM__BLOB__DATA_BZIP2_DATA:
        kind = "bzip2";
        break;
    case NORIAI__OSM__BLOB__DATA_LZ4_DATA:
        kind = "lz4";
        break;
    case NORIAI__OSM__BLOB__DATA_ZSTD_DATA:
        kind = "zstd";
        break;
    default:
        return slv_errf(x->err, x->err_len, OSM_EFORMAT, "%s: byte %llu: blob holds no data",
                        x->name, off);
    }
    if (kind != NULL)
        return slv_errf(x->err, x->err_len, OSM_EUNSUPPORTED,
                        "%s: byte %llu: blob is %s-compressed; noriai reads raw and zlib blobs "
                        "(convert with: osmium cat -f pbf,pbf_compression=zlib)",
                        x->name, off, kind);
    if (!blob->has_raw_size)
        return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: zlib blob does not state its raw_size", x->name, off);
    if (blob->raw_size < 0 || (size_t)blob->raw_size > OSM_MAX_BLOB_BYTES)
        return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: blob raw_size %ld is outside 0..%zu (32 MiB)", x->name, off,
                        (long)blob->raw_size, OSM_MAX_BLOB_BYTES);
    raw_size = (size_t)blob->raw_size;
    if (raw_size > OSM_ZLIB_MAX_RATIO * blob->zlib_data.len + 1024)
        return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: blob raw_size %zu cannot come from %zu bytes of zlib data",
                        x->name, off, raw_size, blob->zlib_data.len);
    if (raw_size + 1 > z->cap) {
        uint8_t *p = realloc(z->buf, raw_size + 1);
        if (p == NULL)
            return slv_errf(x->err, x->err_len, OSM_ENOMEM, "%s: out of memory", x->name);
        z->buf = p;
        z->cap = raw_size + 1;
    }
    *out = z->buf;
    *out_len = raw_size;
    return inflate_exact(x,
                         blob->zlib_data.data != NULL ? blob->zlib_data.data : (const uint8_t *)"",
                         blob->zlib_data.len, z->buf, raw_size);
}

/* Reads the next record; *eof set at a clean end of input. */
static int record(osm_ctx *x, src *s, inflated *z, int *eof)
{
    ProtobufCAllocator ha, ba; /* BlobHeader's and Blob's allocators */
    osm_budget hb, bb;
    Noriai__Osm__BlobHeader *bh = NULL;
    Noriai__Osm__Blob *blob = NULL;
    const uint8_t *p, *block = NULL;
    size_t block_len = 0;
    unsigned long long off;
    uint32_t hlen;
    long long got;
    int is_header, is_data, rc = 0;

    x->blob_off = s->off;
    off = (unsigned long long)s->off;
    got = take(s, 4, &p);
    if (got == 0) {
        *eof = 1;
        return 0;
    }
    if (got < 4)
        return truncated(x, "a record length", 4, (uint64_t)got);
    hlen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (hlen > OSM_MAX_HEADER_BYTES)
        return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: BlobHeader length %lu is over the format's 64 KiB: not an "
                        "OSM PBF file, or a corrupt one",
                        x->name, off, (unsigned long)hlen);
    if (hlen > left(s))
        return truncated(x, "a BlobHeader", hlen, left(s));
    got = take(s, hlen, &p);
    if (got < 0)
        return slv_errf(x->err, x->err_len, OSM_ENOMEM, "%s: out of memory", x->name);
    if ((uint64_t)got < hlen)
        return truncated(x, "a BlobHeader", hlen, (uint64_t)got);
    osm_budget_init(&hb, &ha, hlen);
    bh = noriai__osm__blob_header__unpack(&ha, hlen, p);
    if (bh == NULL) {
        rc = slv_errf(x->err, x->err_len, hb.oom ? OSM_ENOMEM : OSM_EFORMAT,
                      "%s: byte %llu: malformed BlobHeader", x->name, off);
        goto out;
    }
    if (bh->datasize < 0 || (size_t)bh->datasize > OSM_MAX_BLOB_BYTES) {
        rc = slv_errf(x->err, x->err_len, OSM_EFORMAT,
                      "%s: byte %llu: blob size %ld is outside 0..%zu (32 MiB)", x->name, off,
                      (long)bh->datasize, OSM_MAX_BLOB_BYTES);
        goto out;
    }
    if ((uint64_t)bh->datasize > left(s)) {
        rc = truncated(x, "a blob", (uint64_t)bh->datasize, left(s));
        goto out;
    }
    is_header = strcmp(bh->type, "OSMHeader") == 0;
    is_data = strcmp(bh->type, "OSMData") == 0;
    if (!x->saw_header && !is_header) {
        rc = slv_errf(x->err, x->err_len, OSM_EFORMAT,
                      "%s: byte %llu: first block is \"%.40s\", not \"OSMHeader\": not an OSM PBF "
                      "file",
                      x->name, off, bh->type);
        goto out;
    }
    if (x->saw_header && is_header) {
        rc = slv_errf(x->err, x->err_len, OSM_EFORMAT, "%s: byte %llu: a second OSMHeader block",
                      x->name, off);
        goto out;
    }
    got = take(s, (size_t)bh->datasize, &p);
    if (got < 0) {
        rc = slv_errf(x->err, x->err_len, OSM_ENOMEM, "%s: out of memory", x->name);
        goto out;
    }
    if (got < bh->datasize) {
        rc = truncated(x, "a blob", (uint64_t)bh->datasize, (uint64_t)got);
        goto out;
    }
    x->counts.blobs++;
    if (!is_header && !is_data)
        goto out; /* a type this reader does not know: skipped, as the format asks */
    osm_budget_init(&bb, &ba, (size_t)bh->datasize);
    blob = noriai__osm__blob__unpack(&ba, (size_t)bh->datasize, p);
    if (blob == NULL) {
        rc = slv_errf(x->err, x->err_len, bb.oom ? OSM_ENOMEM : OSM_EFORMAT,
                      "%s: byte %llu: malformed Blob", x->name, off);
        goto out;
    }
    rc = blob_payload(x, blob, z, &block, &block_len);
    if (rc != 0)
        goto out;
    if (is_header) {
        x->saw_header = 1;
        rc = osm_block_header(x, block, block_len);
    } else {
        rc = osm_block_primitive(x, block, block_len);
    }
out:
    if (blob != NULL)
        noriai__osm__blob__free_unpacked(blob, &ba);
    if (bh != NULL)
        noriai__osm__blob_header__free_unpacked(bh, &ha);
    return rc;
}

/* The loop shared by both entry points. */
static int read_all(osm_ctx *x, src *s)
{
    inflated z = {NULL, 0};
    int eof = 0, rc = 0;

    while (rc == 0) {
        rc = record(x, s, &z, &eof);
        if (rc != 0 || eof)
            break;
        if (x->h != NULL && x->h->progress != NULL)
            x->h->progress(x->h->ud, s->off, s->total == UINT64_MAX ? 0 : s->total);
    }
    if (rc == 0 && !x->saw_header)
        rc = slv_errf(x->err, x->err_len, OSM_EFORMAT,
                      "%s: no OSMHeader block: the file is empty or not an OSM PBF file", x->name);
    free(z.buf);
    return rc;
}

static void finish(osm_ctx *x, osm_counts *counts)
{
    if (counts != NULL)
        *counts = x->counts;
    osm_scratch_free(&x->s);
}

int osm_pbf_read(const char *path, const osm_handler *h, osm_counts *counts, char *err,
                 size_t err_len)
{
    osm_ctx x;
    src s;
    struct stat st;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(&s, 0, sizeof(s));
    x.name = path;
    x.h = h;
    x.err = err;
    x.err_len = err_len;
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (path == NULL) {
        rc = slv_errf(err, err_len, OSM_EINVAL, "osm_pbf_read: no file name");
        goto out;
    }
    s.f = fopen(path, "rb");
    if (s.f == NULL) {
        rc = slv_errf(err, err_len, OSM_EOPEN, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(s.f), &st) != 0) {
        rc = slv_errf(err, err_len, OSM_EOPEN, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    s.total = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
    rc = read_all(&x, &s);
    if (rc == 0 && ferror(s.f))
        rc = slv_errf(err, err_len, OSM_EOPEN, "%s: read error", path);
out:
    if (s.f != NULL)
        fclose(s.f);
    free(s.buf);
    finish(&x, counts);
    return rc;
}

int osm_pbf_read_mem(const uint8_t *buf, size_t len, const char *name, const osm_handler *h,
                     osm_counts *counts, char *err, size_t err_len)
{
    osm_ctx x;
    src s;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(&s, 0, sizeof(s));
    x.name = name != NULL ? name : "(memory)";
    x.h = h;
    x.err = err;
    x.err_len = err_len;
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (buf == NULL && len > 0) {
        rc = slv_errf(err, err_len, OSM_EINVAL, "osm_pbf_read_mem: no buffer");
        goto out;
    }
    s.mem = buf;
    s.total = len;
    rc = read_all(&x, &s);
out:
    finish(&x, counts);
    return rc;
}
