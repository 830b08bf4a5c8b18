/*
 * zip.c - one entry out of a .zip archive, read through the central directory.
 *
 * Layout (PKWARE APPNOTE): local header + data for each entry, then the
 * central directory (one record per entry), then the End Of Central
 * Directory record (EOCD, 22 bytes plus a comment of up to 65,535 bytes).
 * The reader finds the EOCD by scanning the file's last 65,557 bytes
 * backwards for its signature with a comment length that reaches exactly the
 * end of the file; reads the central directory it points to; picks the entry
 * by name; then reads the entry's local header only for the position of the
 * data (its sizes may be zero when the writer used a data descriptor, so the
 * central directory's sizes are the ones trusted).
 *
 * Validation, in the order things are used: the EOCD's directory must lie
 * before the EOCD; every record's variable parts must lie inside the
 * directory; the local header and the compressed data must lie before the
 * directory; the uncompressed size is capped by the caller before anything is
 * allocated for it; inflate must end exactly at the declared size with all
 * input consumed; the CRC-32 must match.  Allocation is thus bounded by the
 * file's size (directory, compressed data) and by the cap (output).
 *
 * Refused as unsupported rather than misread: zip64 (any 0xFFFF/0xFFFFFFFF
 * marker or a zip64 locator), split archives, encryption (flag bits 0 and 6),
 * methods other than stored and deflate.
 *
 * Cost: two seeks and reads besides the entry's own data; the directory is
 * scanned once.
 */
#include "data/csv/zip.h"
#include "solver/errf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <zlib.h>

#define EOCD_SIZE 22
#define EOCD_MAX_COMMENT 65535
#define CDIR_REC_SIZE 46
#define LOCAL_REC_SIZE 30

static const char *const zip_msgs[] = {
#define ZIP_ERR_MSG(name, code, msg) [-(code)] = msg,
    ZIP_ERRNO_MAP(ZIP_ERR_MSG)
#undef ZIP_ERR_MSG
};

const char *zip_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && (size_t)-err < sizeof(zip_msgs) / sizeof(zip_msgs[0]) && zip_msgs[-err])
        return zip_msgs[-err];
    return "unknown error";
}

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads exactly n bytes at off; 0 or -1. */
static int read_at(FILE *f, uint64_t off, void *buf, size_t n)
{
    if (fseeko(f, (off_t)off, SEEK_SET) != 0)
        return -1;
    return n == 0 || fread(buf, 1, n, f) == n ? 0 : -1;
}

/* An entry's base name: after the last '/'. */
static const char *base_name(const char *s, size_t len, size_t *blen)
{
    size_t i = len;

    while (i > 0 && s[i - 1] != '/')
        i--;
    *blen = len - i;
    return s + i;
}

typedef struct zip_entry {
    unsigned flags, method;
    uint32_t crc, csize, usize, local_off;
} zip_entry;

/* Central directory record at cd[pos]; OUT e, its total length. */
static int parse_cdir_rec(const unsigned char *cd, size_t cd_size, size_t pos, zip_entry *e,
                          const char **ename, size_t *ename_len, size_t *rec_len)
{
    const unsigned char *p = cd + pos;
    size_t n, x, c;

    if (cd_size - pos < CDIR_REC_SIZE || rd32(p) != 0x02014b50)
        return -1;
    e->flags = rd16(p + 8);
    e->method = rd16(p + 10);
    e->crc = rd32(p + 16);
    e->csize = rd32(p + 20);
    e->usize = rd32(p + 24);
    n = rd16(p + 28);
    x = rd16(p + 30);
    c = rd16(p + 32);
    e->local_off = rd32(p + 42);
    if (cd_size - pos - CDIR_REC_SIZE < n + x + c)
        return -1;
    *ename = (const char *)p + CDIR_REC_SIZE;
    *ename_len = n;
    *rec_len = CDIR_REC_SIZE + n + x + c;
    return 0;
}

/* Inflates or copies src[0..e->csize) into a new buffer of e->usize + 1 bytes. */
static int extract(const zip_entry *e, unsigned char *src, unsigned char **out, const char *path,
                   const char *name, char *err, size_t err_len)
{
    unsigned char *dst = malloc((size_t)e->usize + 1);
    z_stream zs;
    int zrc, rc = 0, z_open = 0;

    *out = NULL;
    if (dst == NULL)
        return slv_errf(err, err_len, ZIP_ENOMEM, "%s: out of memory for %s", path, name);
    if (e->method == 0) {
        memcpy(dst, src, e->usize);
    } else {
        memset(&zs, 0, sizeof(zs));
        if (inflateInit2(&zs, -15) != Z_OK) {
            rc = slv_errf(err, err_len, ZIP_ENOMEM, "%s: cannot start zlib for %s", path, name);
            goto out;
        }
        z_open = 1;
        zs.next_in = src;
        zs.avail_in = e->csize;
        zs.next_out = dst;
        zs.avail_out = e->usize + 1; /* one spare byte shows a stream that runs long */
        zrc = inflate(&zs, Z_FINISH);
        if (zrc != Z_STREAM_END) {
            rc = slv_errf(err, err_len, ZIP_EFORMAT, "%s: %s: compressed data damaged (%s)", path,
                          name,
                          zrc == Z_DATA_ERROR && zs.msg != NULL ? zs.msg
                          : zrc == Z_BUF_ERROR ? "ends early or runs past its declared size"
                                               : "inflate failed");
            goto out;
        }
        if (zs.total_out != e->usize || zs.avail_in != 0) {
            rc = slv_errf(err, err_len, ZIP_EFORMAT,
                          "%s: %s: sizes do not match the directory (%lu bytes from %lu, "
                          "directory says %lu from %lu)",
                          path, name, (unsigned long)zs.total_out,
                          (unsigned long)(e->csize - zs.avail_in), (unsigned long)e->usize,
                          (unsigned long)e->csize);
            goto out;
        }
    }
    if (crc32(0L, dst, e->usize) != e->crc) {
        rc = slv_errf(err, err_len, ZIP_ECRC, "%s: %s: CRC-32 mismatch, the archive is damaged",
                      path, name);
        goto out;
    }
    dst[e->usize] = '\0';
    *out = dst;
    dst = NULL;
out:
    if (z_open)
        inflateEnd(&zs);
    free(dst);
    return rc;
}

int zip_read_entry(const char *path, const char *name, size_t max_len, char **data, size_t *len,
                   char *err, size_t err_len)
{
    FILE *f = NULL;
    unsigned char *tail = NULL, *cd = NULL, *comp = NULL, *out = NULL;
    unsigned char lh[LOCAL_REC_SIZE];
    uint64_t file_size, tail_off, eocd_off, cd_off, cd_size, data_off;
    size_t tail_len, name_len, pos;
    long eocd = -1;
    unsigned n_entries;
    int rc = 0, exact = 0, n_base = 0;
    zip_entry e, hit;
    off_t end;

    if (path == NULL || name == NULL || data == NULL || len == NULL)
        return slv_errf(err, err_len, ZIP_EINVAL, "zip_read_entry: missing argument");
    *data = NULL;
    *len = 0;
    name_len = strlen(name);
    memset(&hit, 0, sizeof(hit));
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = slv_errf(err, err_len, ZIP_EOPEN, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fseeko(f, 0, SEEK_END) != 0 || (end = ftello(f)) < 0) {
        rc = slv_errf(err, err_len, ZIP_EOPEN, "%s: cannot find the file's size", path);
        goto out;
    }
    file_size = (uint64_t)end;
    if (file_size < EOCD_SIZE) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT, "%s: too short to be a zip archive", path);
        goto out;
    }

    /* End of central directory: the last signature whose comment ends the file. */
    tail_len =
        file_size < EOCD_SIZE + EOCD_MAX_COMMENT ? (size_t)file_size : EOCD_SIZE + EOCD_MAX_COMMENT;
    tail_off = file_size - tail_len;
    tail = malloc(tail_len);
    if (tail == NULL) {
        rc = slv_errf(err, err_len, ZIP_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (read_at(f, tail_off, tail, tail_len) < 0) {
        rc = slv_errf(err, err_len, ZIP_EOPEN, "%s: read error", path);
        goto out;
    }
    for (long i = (long)(tail_len - EOCD_SIZE); i >= 0; i--) {
        const unsigned char *p = tail + i;
        if (rd32(p) == 0x06054b50 && rd16(p + 20) == tail_len - (size_t)i - EOCD_SIZE) {
            eocd = i;
            break;
        }
    }
    if (eocd < 0) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: not a zip archive (no end of central directory record; truncated?)",
                      path);
        goto out;
    }
    eocd_off = tail_off + (uint64_t)eocd;
    {
        const unsigned char *p = tail + eocd;
        unsigned disk = rd16(p + 4), cd_disk = rd16(p + 6), n_disk = rd16(p + 8);

        n_entries = rd16(p + 10);
        cd_size = rd32(p + 12);
        cd_off = rd32(p + 16);
        if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF ||
            (eocd >= 20 && rd32(p - 20) == 0x07064b50)) {
            rc = slv_errf(err, err_len, ZIP_EUNSUPPORTED,
                          "%s: zip64 archive, not supported (re-zip without zip64)", path);
            goto out;
        }
        if (disk != 0 || cd_disk != 0 || n_disk != n_entries) {
            rc = slv_errf(err, err_len, ZIP_EUNSUPPORTED,
                          "%s: split (multi-disk) archive, not supported", path);
            goto out;
        }
    }
    if (cd_off > eocd_off || cd_size > eocd_off - cd_off) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: central directory (%llu bytes at %llu) lies outside the archive", path,
                      (unsigned long long)cd_size, (unsigned long long)cd_off);
        goto out;
    }

    /* Central directory: find the entry. */
    cd = malloc(cd_size > 0 ? (size_t)cd_size : 1);
    if (cd == NULL) {
        rc = slv_errf(err, err_len, ZIP_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (read_at(f, cd_off, cd, (size_t)cd_size) < 0) {
        rc = slv_errf(err, err_len, ZIP_EOPEN, "%s: read error", path);
        goto out;
    }
    pos = 0;
    for (unsigned i = 0; i < n_entries; i++) {
        const char *en, *bn;
        size_t en_len, bn_len, rec_len;

        if (parse_cdir_rec(cd, (size_t)cd_size, pos, &e, &en, &en_len, &rec_len) < 0) {
            rc = slv_errf(err, err_len, ZIP_EFORMAT,
                          "%s: central directory record %u of %u is damaged", path, i + 1,
                          n_entries);
            goto out;
        }
        pos += rec_len;
        if (en_len == name_len && memcmp(en, name, name_len) == 0) {
            if (exact) {
                rc = slv_errf(err, err_len, ZIP_EFORMAT, "%s: holds %s twice", path, name);
                goto out;
            }
            exact = 1;
            hit = e;
            continue;
        }
        bn = base_name(en, en_len, &bn_len);
        if (!exact && bn_len == name_len && memcmp(bn, name, name_len) == 0) {
            n_base++;
            if (n_base == 1)
                hit = e;
        }
    }
    if (pos != cd_size) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: central directory size does not match its %u records", path, n_entries);
        goto out;
    }
    if (!exact && n_base == 0) {
        rc = slv_errf(err, err_len, ZIP_ENOTFOUND, "%s: no %s in the archive", path, name);
        goto out;
    }
    if (!exact && n_base > 1) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: %d files called %s in different folders; which one is meant is unclear",
                      path, n_base, name);
        goto out;
    }

    /* The entry itself. */
    if ((hit.flags & 0x41) != 0) {
        rc = slv_errf(err, err_len, ZIP_EUNSUPPORTED, "%s: %s is encrypted, not supported", path,
                      name);
        goto out;
    }
    if (hit.method != 0 && hit.method != 8) {
        rc = slv_errf(err, err_len, ZIP_EUNSUPPORTED,
                      "%s: %s uses compression method %u; only stored (0) and deflate (8) are "
                      "supported",
                      path, name, hit.method);
        goto out;
    }
    if (hit.csize == 0xFFFFFFFF || hit.usize == 0xFFFFFFFF || hit.local_off == 0xFFFFFFFF) {
        rc = slv_errf(err, err_len, ZIP_EUNSUPPORTED, "%s: %s has zip64 sizes, not supported", path,
                      name);
        goto out;
    }
    if (hit.usize > max_len) {
        rc = slv_errf(err, err_len, ZIP_ETOOBIG, "%s: %s is %lu bytes, more than the %zu allowed",
                      path, name, (unsigned long)hit.usize, max_len);
        goto out;
    }
    /* Deflate never makes more than 1,032 bytes of one: a member claiming
     * more is damaged or hostile, and its claim must not size the buffer
     * (found by tests/data/test_zip_fuzz.c: 34 bytes asking for 512 MiB). */
    if (hit.method == 8 && (uint64_t)hit.usize > (uint64_t)hit.csize * 1032) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: %s claims %lu bytes from %lu compressed, more than deflate can give",
                      path, name, (unsigned long)hit.usize, (unsigned long)hit.csize);
        goto out;
    }
    if (hit.method == 0 && hit.csize != hit.usize) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: %s is stored but its two sizes differ (%lu, %lu)", path, name,
                      (unsigned long)hit.csize, (unsigned long)hit.usize);
        goto out;
    }
    if ((uint64_t)hit.local_off + LOCAL_REC_SIZE > cd_off ||
        read_at(f, hit.local_off, lh, LOCAL_REC_SIZE) < 0 || rd32(lh) != 0x04034b50) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT, "%s: local header of %s is missing or damaged",
                      path, name);
        goto out;
    }
    if (rd16(lh + 8) != hit.method) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT,
                      "%s: %s: local header and central directory disagree on the method", path,
                      name);
        goto out;
    }
    data_off = (uint64_t)hit.local_off + LOCAL_REC_SIZE + rd16(lh + 26) + rd16(lh + 28);
    if (data_off > cd_off || hit.csize > cd_off - data_off) {
        rc = slv_errf(err, err_len, ZIP_EFORMAT, "%s: data of %s runs past the central directory",
                      path, name);
        goto out;
    }
    comp = malloc(hit.csize > 0 ? hit.csize : 1);
    if (comp == NULL) {
        rc = slv_errf(err, err_len, ZIP_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (read_at(f, data_off, comp, hit.csize) < 0) {
        rc = slv_errf(err, err_len, ZIP_EOPEN, "%s: read error", path);
        goto out;
    }
    rc = extract(&hit, comp, &out, path, name, err, err_len);
    if (rc < 0)
        goto out;
    *data = (char *)out;
    *len = hit.usize;
    out = NULL;
out:
    if (f != NULL)
        fclose(f);
    free(tail);
    free(cd);
    free(comp);
    free(out);
    return rc;
}
