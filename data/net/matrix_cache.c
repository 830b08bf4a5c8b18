/*
 * matrix_cache.c - matrices on disk: the matrix file format (also an area
 * bundle's matrix.bin) and a cache folder keyed by what a matrix depends on.
 *
 * File layout, all little-endian:
 *
 *   0   8 bytes  "NORIAIMX"
 *   8   u32      version (NET_MATRIX_VERSION)
 *   12  u32      n
 *   16  u64      key (net_matrix_key)
 *   24  i32[n*n] time_s, row-major
 *       i32[n*n] dist_m
 *       u64      FNV-1a 64 of every byte before it
 *
 * A reader knows n and the key it wants, so the file's size must be exactly
 * 24 + 8 n^2 + 8 before anything is read or allocated; then magic, version,
 * n, key and checksum are compared, and values must be >= 0 (or the
 * unreachable marker).  Any mismatch is NET_EFORMAT with a message saying
 * which check failed: a damaged file is reported, never trusted.
 *
 * The key is FNV-1a 64 over the graph's hash (topology, lengths, times, so
 * the speed table that made the times), the node list in order, and a tag.
 * Cache files are <dir>/<key as 16 hex digits>.matrix, written to a
 * temporary name and renamed, so a reader never sees half a file and two
 * processes filling the same entry both end with a whole one.
 *
 * Cost: one pass over 8 n^2 bytes each way (8 MB for n = 1,000).
 */
#include "data/net/net.h"
#include "solver/errf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "NORIAIMX"
#define HEADER_BYTES 24
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

uint64_t net_matrix_key(const net_graph *g, const int32_t *nodes, int n, const char *tag)
{
    uint8_t b[8];
    uint64_t h = FNV_OFFSET;

    put64(b, net_graph_hash(g));
    h = fnv(h, b, 8);
    put32(b, (uint32_t)NET_MATRIX_VERSION);
    h = fnv(h, b, 4);
    put32(b, (uint32_t)n);
    h = fnv(h, b, 4);
    for (int k = 0; k < n; k++) {
        put32(b, (uint32_t)nodes[k]);
        h = fnv(h, b, 4);
    }
    if (tag != NULL)
        h = fnv(h, tag, strlen(tag) + 1);
    return h;
}

uint64_t net_matrix_file_bytes(int n)
{
    if (n < 0 || n > 32768)
        return 0;
    return HEADER_BYTES + 8 * (uint64_t)n * (uint64_t)n + 8;
}

static size_t file_bytes(int n)
{
    return (size_t)net_matrix_file_bytes(n);
}

int net_matrix_write(const char *path, uint64_t key, int n, const int32_t *time_s,
                     const int32_t *dist_m, char *err, size_t err_len)
{
    size_t total = file_bytes(n), nn = (size_t)n * (size_t)n;
    uint8_t *buf, *p;
    FILE *f;
    int rc = 0;

    if (path == NULL || total == 0 || (n > 0 && (time_s == NULL || dist_m == NULL)))
        return slv_errf(err, err_len, NET_EINVAL, "matrix: invalid arguments (n = %d)", n);
    buf = malloc(total);
    if (buf == NULL)
        return slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory for %d x %d matrix", path, n,
                        n);
    memcpy(buf, MAGIC, 8);
    put32(buf + 8, NET_MATRIX_VERSION);
    put32(buf + 12, (uint32_t)n);
    put64(buf + 16, key);
    p = buf + HEADER_BYTES;
    for (size_t k = 0; k < nn; k++, p += 4)
        put32(p, (uint32_t)time_s[k]);
    for (size_t k = 0; k < nn; k++, p += 4)
        put32(p, (uint32_t)dist_m[k]);
    put64(p, fnv(FNV_OFFSET, buf, total - 8));
    f = fopen(path, "wb");
    if (f == NULL) {
        rc = slv_errf(err, err_len, NET_EWRITE, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    if (fwrite(buf, 1, total, f) != total) {
        rc = slv_errf(err, err_len, NET_EWRITE, "%s: cannot write: %s", path, strerror(errno));
        fclose(f);
        goto out;
    }
    if (fclose(f) != 0)
        rc = slv_errf(err, err_len, NET_EWRITE, "%s: cannot write: %s", path, strerror(errno));
out:
    free(buf);
    return rc;
}

int net_matrix_read(const char *path, uint64_t key, int n, int32_t *time_s, int32_t *dist_m,
                    char *err, size_t err_len)
{
    size_t want = file_bytes(n), nn = (size_t)n * (size_t)n;
    uint8_t *buf = NULL;
    const uint8_t *p;
    struct stat st;
    FILE *f;
    int rc = 0;

    if (path == NULL || want == 0 || (n > 0 && (time_s == NULL || dist_m == NULL)))
        return slv_errf(err, err_len, NET_EINVAL, "matrix: invalid arguments (n = %d)", n);
    f = fopen(path, "rb");
    if (f == NULL)
        return slv_errf(err, err_len, NET_EOPEN, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = slv_errf(err, err_len, NET_EOPEN, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size != (uint64_t)want) {
        rc = slv_errf(err, err_len, NET_EFORMAT,
                      "%s: %lld bytes, but a %d x %d matrix file has %zu (truncated or not this "
                      "matrix)",
                      path, (long long)st.st_size, n, n, want);
        goto out;
    }
    buf = malloc(want);
    if (buf == NULL) {
        rc = slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, want, f) != want) {
        rc = slv_errf(err, err_len, NET_EOPEN, "%s: read error", path);
        goto out;
    }
    if (memcmp(buf, MAGIC, 8) != 0) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: not a noriai matrix file (bad magic)", path);
        goto out;
    }
    if (get32(buf + 8) != NET_MATRIX_VERSION) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: matrix format version %u, expected %d", path,
                      get32(buf + 8), NET_MATRIX_VERSION);
        goto out;
    }
    if (get32(buf + 12) != (uint32_t)n) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: matrix for %u nodes, expected %d", path,
                      get32(buf + 12), n);
        goto out;
    }
    if (get64(buf + 16) != key) {
        rc = slv_errf(err, err_len, NET_EFORMAT,
                      "%s: matrix key %016llx does not match the graph and nodes (%016llx): it was "
                      "computed for other data",
                      path, (unsigned long long)get64(buf + 16), (unsigned long long)key);
        goto out;
    }
    if (get64(buf + want - 8) != fnv(FNV_OFFSET, buf, want - 8)) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: checksum mismatch (damaged file)", path);
        goto out;
    }
    p = buf + HEADER_BYTES;
    for (size_t k = 0; k < 2 * nn; k++, p += 4) {
        int32_t v = (int32_t)get32(p);
        if (v < 0) {
            rc = slv_errf(err, err_len, NET_EFORMAT, "%s: negative %s at [%zu][%zu]", path,
                          k < nn ? "time" : "distance", (k % nn) / (size_t)n, (k % nn) % (size_t)n);
            goto out;
        }
        if (k < nn)
            time_s[k] = v;
        else
            dist_m[k - nn] = v;
    }
out:
    free(buf);
    fclose(f);
    return rc;
}

int net_matrix_cached(const net_graph *g, const int32_t *nodes, int n, int threads,
                      const char *cache_dir, const char *tag, int32_t *time_s, int32_t *dist_m,
                      net_progress_fn progress, void *progress_ud, net_cache_status *status,
                      char *err, size_t err_len)
{
    char path[4096], tmp[4200], why[512];
    net_cache_status st = NET_CACHE_STORED;
    uint64_t key;
    int rc;

    if (status != NULL)
        *status = NET_CACHE_NOT_STORED;
    if (g == NULL || (n > 0 && (nodes == NULL || time_s == NULL || dist_m == NULL)))
        return slv_errf(err, err_len, NET_EINVAL, "matrix: invalid arguments");
    if (cache_dir == NULL || *cache_dir == '\0') {
        rc = net_matrix(g, nodes, n, threads, time_s, dist_m, progress, progress_ud);
        if (rc < 0)
            return slv_errf(err, err_len, rc, "matrix: %s", net_strerror(rc));
        return slv_errf(err, err_len, 0, "no matrix cache");
    }
    key = net_matrix_key(g, nodes, n, tag);
    if ((size_t)snprintf(path, sizeof(path), "%s/%016llx.matrix", cache_dir,
                         (unsigned long long)key) >= sizeof(path))
        return slv_errf(err, err_len, NET_EINVAL, "%s: cache folder name too long", cache_dir);
    rc = net_matrix_read(path, key, n, time_s, dist_m, why, sizeof(why));
    if (rc == 0) {
        if (status != NULL)
            *status = NET_CACHE_HIT;
        return slv_errf(err, err_len, 0, "%s: cached matrix used", path);
    }
    if (rc != NET_EOPEN)
        st = NET_CACHE_REPLACED;
    rc = net_matrix(g, nodes, n, threads, time_s, dist_m, progress, progress_ud);
    if (rc < 0)
        return slv_errf(err, err_len, rc, "matrix: %s", net_strerror(rc));
    if (mkdir(cache_dir, 0777) != 0 && errno != EEXIST) {
        slv_errf(err, err_len, 0, "%s: cannot create the cache folder: %s", cache_dir,
                 strerror(errno));
        return 0;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    if (net_matrix_write(tmp, key, n, time_s, dist_m, err, err_len) < 0) {
        unlink(tmp);
        return 0;
    }
    if (rename(tmp, path) != 0) {
        slv_errf(err, err_len, 0, "%s: cannot store the matrix: %s", path, strerror(errno));
        unlink(tmp);
        return 0;
    }
    if (status != NULL)
        *status = st;
    if (st == NET_CACHE_REPLACED)
        slv_errf(err, err_len, 0, "%s was damaged (%s); recomputed and replaced", path, why);
    else
        slv_errf(err, err_len, 0, "%s: matrix stored", path);
    return 0;
}
