/*
 * graph.c - the net_graph itself: allocation, the invariant check, road
 * class names, the topology hash, and the graph file.
 *
 * File layout, all little-endian (NET_GRAPH_VERSION 1):
 *
 *   0   8 bytes  "NORIAIGR"
 *   8   u32      version
 *   12  i32      n_nodes (n)
 *   16  i32      n_edges (m)
 *   20  i32      epsg
 *   24  f64      max_speed_mps
 *   32  f64[n]   lat, then lon, x, y (each n values)
 *       i64[n]   osm_id
 *       i32[n+1] first_out
 *       i32[m]   head
 *       u32[m]   len_mm, then time_ms
 *       u8[m]    cls
 *       u64      FNV-1a 64 of every byte before it
 *
 * The size is therefore fixed by n and m.  Loading reads the 32-byte header,
 * compares the file's real size with what n and m imply, and only then
 * allocates (so a forged count cannot ask for more than the file holds),
 * checks the checksum over the whole file, and finally runs
 * net_graph_check on the decoded graph: a damaged file is NET_EFORMAT with a
 * message naming the failed check, never a crash or a graph with an edge
 * pointing outside it.  Saving writes a temporary file and renames it, so a
 * reader never sees half a graph.
 *
 * The hash (net_graph_hash) covers what routing depends on - n, m,
 * first_out, head, len_mm, time_ms - in the same little-endian bytes on
 * every machine, so it keys matrix caches across runs and hosts.
 */
#include "data/net/net.h"
#include "solver/errf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "NORIAIGR"
#define GRAPH_VERSION 1
#define HEADER_BYTES 32
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

const char *net_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define NET_ERR_CASE(name, code, msg)                                                              \
    case code:                                                                                     \
        return msg;
        NET_ERRNO_MAP(NET_ERR_CASE)
#undef NET_ERR_CASE
    default:
        return "unknown error";
    }
}

static const char *const class_names[NET_CLASS_COUNT] = {
    "motorway",      "trunk",       "primary",       "secondary",      "tertiary",
    "motorway_link", "trunk_link",  "primary_link",  "secondary_link", "tertiary_link",
    "unclassified",  "residential", "living_street", "service",
};

const char *net_class_name(net_class c)
{
    if ((int)c < 0 || c >= NET_CLASS_COUNT)
        return "unknown";
    return class_names[c];
}

int net_class_parse(const char *highway)
{
    if (highway == NULL)
        return -1;
    for (int c = 0; c < NET_CLASS_COUNT; c++) {
        if (strcmp(highway, class_names[c]) == 0)
            return c;
    }
    return -1;
}

/* ---------------------------------------------------------------------- */
/* allocation and checks                                                  */

void net_graph_destroy(net_graph *g)
{
    if (g == NULL)
        return;
    free(g->lat);
    free(g->lon);
    free(g->x);
    free(g->y);
    free(g->osm_id);
    free(g->first_out);
    free(g->head);
    free(g->len_mm);
    free(g->time_ms);
    free(g->cls);
    free(g);
}

int net_graph_create(int32_t n_nodes, int32_t n_edges, net_graph **out)
{
    net_graph *g;
    size_t n, m;

    *out = NULL;
    if (n_nodes < 0 || n_edges < 0 || n_nodes == INT32_MAX)
        return NET_EINVAL;
    n = (size_t)n_nodes;
    m = (size_t)n_edges;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NET_ENOMEM;
    g->n_nodes = n_nodes;
    g->n_edges = n_edges;
    /* at least one element each, so that a successful allocation is never NULL */
    g->lat = calloc(n + 1, sizeof(*g->lat));
    g->lon = calloc(n + 1, sizeof(*g->lon));
    g->x = calloc(n + 1, sizeof(*g->x));
    g->y = calloc(n + 1, sizeof(*g->y));
    g->osm_id = calloc(n + 1, sizeof(*g->osm_id));
    g->first_out = calloc(n + 1, sizeof(*g->first_out));
    g->head = calloc(m + 1, sizeof(*g->head));
    g->len_mm = calloc(m + 1, sizeof(*g->len_mm));
    g->time_ms = calloc(m + 1, sizeof(*g->time_ms));
    g->cls = calloc(m + 1, sizeof(*g->cls));
    if (g->lat == NULL || g->lon == NULL || g->x == NULL || g->y == NULL || g->osm_id == NULL ||
        g->first_out == NULL || g->head == NULL || g->len_mm == NULL || g->time_ms == NULL ||
        g->cls == NULL) {
        net_graph_destroy(g);
        return NET_ENOMEM;
    }
    *out = g;
    return 0;
}

int net_graph_check(const net_graph *g, char *err, size_t err_len)
{
    int32_t n, m;

    if (g == NULL)
        return slv_errf(err, err_len, NET_EINVAL, "no graph");
    n = g->n_nodes;
    m = g->n_edges;
    if (n < 0 || m < 0)
        return slv_errf(err, err_len, NET_EFORMAT, "negative size: %ld nodes, %ld edges", (long)n,
                        (long)m);
    if (g->first_out[0] != 0 || g->first_out[n] != m)
        return slv_errf(err, err_len, NET_EFORMAT,
                        "edge offsets run from %ld to %ld, not from 0 to %ld edges",
                        (long)g->first_out[0], (long)g->first_out[n], (long)m);
    if (!isfinite(g->max_speed_mps) || g->max_speed_mps < 0)
        return slv_errf(err, err_len, NET_EFORMAT, "top speed %g m/s is not a speed",
                        g->max_speed_mps);
    for (int32_t v = 0; v < n; v++) {
        if (g->first_out[v + 1] < g->first_out[v])
            return slv_errf(err, err_len, NET_EFORMAT, "node %ld: edge offsets decrease", (long)v);
        if (!(g->lat[v] >= -90 && g->lat[v] <= 90 && g->lon[v] >= -180 && g->lon[v] <= 180))
            return slv_errf(err, err_len, NET_EFORMAT,
                            "node %ld: position (%g, %g) is not on the globe", (long)v, g->lat[v],
                            g->lon[v]);
        if (!isfinite(g->x[v]) || !isfinite(g->y[v]))
            return slv_errf(err, err_len, NET_EFORMAT, "node %ld: projected position is not finite",
                            (long)v);
    }
    for (int32_t e = 0; e < m; e++) {
        if (g->head[e] < 0 || g->head[e] >= n)
            return slv_errf(err, err_len, NET_EFORMAT, "edge %ld: head %ld is not a node of %ld",
                            (long)e, (long)g->head[e], (long)n);
        if (g->cls[e] >= NET_CLASS_COUNT)
            return slv_errf(err, err_len, NET_EFORMAT, "edge %ld: unknown road class %u", (long)e,
                            (unsigned)g->cls[e]);
        if (g->len_mm[e] > 0 && g->time_ms[e] == 0)
            return slv_errf(err, err_len, NET_EFORMAT, "edge %ld: %lu mm in no time", (long)e,
                            (unsigned long)g->len_mm[e]);
        /* len / time <= top speed, without a division: mm/ms is m/s */
        if (g->time_ms[e] > 0 &&
            (double)g->len_mm[e] > g->max_speed_mps * (double)g->time_ms[e] * (1 + 1e-12))
            return slv_errf(err, err_len, NET_EFORMAT,
                            "edge %ld: %lu mm in %lu ms is faster than the graph's top speed "
                            "%g m/s",
                            (long)e, (unsigned long)g->len_mm[e], (unsigned long)g->time_ms[e],
                            g->max_speed_mps);
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* hash                                                                   */

static uint64_t fnv_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static uint64_t fnv_u32(uint64_t h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return fnv_bytes(h, b, 4);
}

uint64_t net_graph_hash(const net_graph *g)
{
    uint64_t h = FNV_OFFSET;

    h = fnv_u32(h, (uint32_t)g->n_nodes);
    h = fnv_u32(h, (uint32_t)g->n_edges);
    for (int32_t v = 0; v <= g->n_nodes; v++)
        h = fnv_u32(h, (uint32_t)g->first_out[v]);
    for (int32_t e = 0; e < g->n_edges; e++) {
        h = fnv_u32(h, (uint32_t)g->head[e]);
        h = fnv_u32(h, g->len_mm[e]);
        h = fnv_u32(h, g->time_ms[e]);
    }
    return h;
}

/* ---------------------------------------------------------------------- */
/* save                                                                   */

/* Buffered little-endian writer that checksums what it writes. */
typedef struct wr {
    FILE *f;
    uint64_t h;
    int failed;
    size_t len;
    uint8_t buf[1 << 16];
} wr;

static void wr_flush(wr *w)
{
    if (w->len > 0 && !w->failed && fwrite(w->buf, 1, w->len, w->f) != w->len)
        w->failed = 1;
    w->len = 0;
}

static void wr_bytes(wr *w, const uint8_t *p, size_t n)
{
    w->h = fnv_bytes(w->h, p, n);
    while (n > 0) {
        size_t k = sizeof(w->buf) - w->len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        p += k;
        n -= k;
        if (w->len == sizeof(w->buf))
            wr_flush(w);
    }
}

static void wr_u32(wr *w, uint32_t v)
{
    uint8_t b[4];

    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    wr_bytes(w, b, 4);
}

static void wr_u64(wr *w, uint64_t v)
{
    uint8_t b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    wr_bytes(w, b, 8);
}

static void wr_f64(wr *w, double d)
{
    uint64_t v;

    memcpy(&v, &d, sizeof(v));
    wr_u64(w, v);
}

int net_graph_save(const net_graph *g, const char *path, char *err, size_t err_len)
{
    char tmp[4096];
    wr *w = NULL;
    int rc = 0;
    int32_t n, m;

    if (g == NULL || path == NULL)
        return slv_errf(err, err_len, NET_EINVAL, "net_graph_save: no graph or no path");
    rc = net_graph_check(g, err, err_len);
    if (rc != 0)
        return rc;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= sizeof(tmp))
        return slv_errf(err, err_len, NET_EINVAL, "%s: path too long", path);
    w = malloc(sizeof(*w));
    if (w == NULL)
        return slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory", path);
    w->h = FNV_OFFSET;
    w->failed = 0;
    w->len = 0;
    w->f = fopen(tmp, "wb");
    if (w->f == NULL) {
        rc = slv_errf(err, err_len, NET_EWRITE, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    n = g->n_nodes;
    m = g->n_edges;
    wr_bytes(w, (const uint8_t *)MAGIC, 8);
    wr_u32(w, GRAPH_VERSION);
    wr_u32(w, (uint32_t)n);
    wr_u32(w, (uint32_t)m);
    wr_u32(w, (uint32_t)g->epsg);
    wr_f64(w, g->max_speed_mps);
    for (int32_t v = 0; v < n; v++)
        wr_f64(w, g->lat[v]);
    for (int32_t v = 0; v < n; v++)
        wr_f64(w, g->lon[v]);
    for (int32_t v = 0; v < n; v++)
        wr_f64(w, g->x[v]);
    for (int32_t v = 0; v < n; v++)
        wr_f64(w, g->y[v]);
    for (int32_t v = 0; v < n; v++)
        wr_u64(w, (uint64_t)g->osm_id[v]);
    for (int32_t v = 0; v <= n; v++)
        wr_u32(w, (uint32_t)g->first_out[v]);
    for (int32_t e = 0; e < m; e++)
        wr_u32(w, (uint32_t)g->head[e]);
    for (int32_t e = 0; e < m; e++)
        wr_u32(w, g->len_mm[e]);
    for (int32_t e = 0; e < m; e++)
        wr_u32(w, g->time_ms[e]);
    wr_bytes(w, g->cls, (size_t)m);
    wr_u64(w, w->h);
    wr_flush(w);
    if (fclose(w->f) != 0)
        w->failed = 1;
    w->f = NULL;
    if (w->failed) {
        rc = slv_errf(err, err_len, NET_EWRITE, "%s: write failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = slv_errf(err, err_len, NET_EWRITE, "%s: cannot rename to %s: %s", tmp, path,
                      strerror(errno));
        goto out;
    }
out:
    if (w->f != NULL)
        fclose(w->f);
    if (rc != 0)
        unlink(tmp);
    free(w);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* load                                                                   */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = get_u64(p);
    double d;

    memcpy(&d, &v, sizeof(d));
    return d;
}

/* Bytes a file of n nodes and m edges has. */
static uint64_t file_bytes(uint64_t n, uint64_t m)
{
    return HEADER_BYTES + 40 * n + 4 * (n + 1) + 13 * m + 8;
}

int net_graph_load(const char *path, net_graph **out, char *err, size_t err_len)
{
    FILE *f = NULL;
    uint8_t head[HEADER_BYTES], *buf = NULL;
    const uint8_t *p;
    net_graph *g = NULL;
    struct stat st;
    uint64_t size, want;
    uint32_t version, n, m;
    char why[256];
    int rc = 0;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return slv_errf(err, err_len, NET_EINVAL, "net_graph_load: no path or no output");
    f = fopen(path, "rb");
    if (f == NULL)
        return slv_errf(err, err_len, NET_EOPEN, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = slv_errf(err, err_len, NET_EOPEN, "%s: not a regular file", path);
        goto out;
    }
    size = (uint64_t)st.st_size;
    if (size < HEADER_BYTES || fread(head, 1, HEADER_BYTES, f) != HEADER_BYTES) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: %llu bytes: too short for a graph file", path,
                      (unsigned long long)size);
        goto out;
    }
    if (memcmp(head, MAGIC, 8) != 0) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: not a noriai graph file (no %s header)", path,
                      MAGIC);
        goto out;
    }
    version = get_u32(head + 8);
    if (version != GRAPH_VERSION) {
        rc = slv_errf(err, err_len, NET_EFORMAT,
                      "%s: graph file version %lu; this build reads version %d (rebuild the graph)",
                      path, (unsigned long)version, GRAPH_VERSION);
        goto out;
    }
    n = get_u32(head + 12);
    m = get_u32(head + 16);
    if (n >= INT32_MAX || m > INT32_MAX) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: impossible size: %lu nodes, %lu edges", path,
                      (unsigned long)n, (unsigned long)m);
        goto out;
    }
    want = file_bytes(n, m);
    if (size != want) {
        rc = slv_errf(err, err_len, NET_EFORMAT,
                      "%s: %llu bytes, but %lu nodes and %lu edges take %llu: truncated or "
                      "damaged",
                      path, (unsigned long long)size, (unsigned long)n, (unsigned long)m,
                      (unsigned long long)want);
        goto out;
    }
    buf = malloc((size_t)size);
    if (buf == NULL) {
        rc = slv_errf(err, err_len, NET_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    memcpy(buf, head, HEADER_BYTES);
    if (fread(buf + HEADER_BYTES, 1, (size_t)size - HEADER_BYTES, f) != size - HEADER_BYTES) {
        rc = slv_errf(err, err_len, NET_EOPEN, "%s: read error", path);
        goto out;
    }
    if (fnv_bytes(FNV_OFFSET, buf, (size_t)size - 8) != get_u64(buf + size - 8)) {
        rc =
            slv_errf(err, err_len, NET_EFORMAT, "%s: checksum mismatch: the file is damaged", path);
        goto out;
    }
    rc = net_graph_create((int32_t)n, (int32_t)m, &g);
    if (rc != 0) {
        rc = slv_errf(err, err_len, rc, "%s: out of memory", path);
        goto out;
    }
    g->epsg = (int32_t)get_u32(head + 20);
    g->max_speed_mps = get_f64(head + 24);
    p = buf + HEADER_BYTES;
    for (uint32_t v = 0; v < n; v++, p += 8)
        g->lat[v] = get_f64(p);
    for (uint32_t v = 0; v < n; v++, p += 8)
        g->lon[v] = get_f64(p);
    for (uint32_t v = 0; v < n; v++, p += 8)
        g->x[v] = get_f64(p);
    for (uint32_t v = 0; v < n; v++, p += 8)
        g->y[v] = get_f64(p);
    for (uint32_t v = 0; v < n; v++, p += 8)
        g->osm_id[v] = (int64_t)get_u64(p);
    for (uint32_t v = 0; v <= n; v++, p += 4)
        g->first_out[v] = (int32_t)get_u32(p);
    for (uint32_t e = 0; e < m; e++, p += 4)
        g->head[e] = (int32_t)get_u32(p);
    for (uint32_t e = 0; e < m; e++, p += 4)
        g->len_mm[e] = get_u32(p);
    for (uint32_t e = 0; e < m; e++, p += 4)
        g->time_ms[e] = get_u32(p);
    if (m > 0)
        memcpy(g->cls, p, m);
    if (g->epsg < 0) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: EPSG code %ld is negative", path,
                      (long)g->epsg);
        goto out;
    }
    rc = net_graph_check(g, why, sizeof(why));
    if (rc != 0) {
        rc = slv_errf(err, err_len, NET_EFORMAT, "%s: %s", path, why);
        goto out;
    }
    *out = g;
    g = NULL;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    net_graph_destroy(g);
    return rc;
}
