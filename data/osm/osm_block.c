/*
 * osm_block.c - the block layer of the PBF reader: a decompressed HeaderBlock
 * or PrimitiveBlock, unpacked with protobuf-c, turned into osm_node and
 * osm_way values handed to the caller's callbacks.
 *
 * A PrimitiveBlock is self-contained.  Its string table is copied once into
 * one buffer of NUL-terminated strings (the table's bytes carry no
 * terminator), so a tag is two pointers into it and no element costs an
 * allocation.  Every string index is checked against the table's size; a bad
 * index is a format error, never a read out of bounds.
 *
 * Delta-coded columns (DenseNodes ids and coordinates, way refs) are summed
 * in uint64_t, where overflow wraps instead of being undefined; a corrupt
 * file then yields a wrong id, which is harmless, or an impossible
 * coordinate, which is refused (latitudes beyond +-90, longitudes beyond
 * +-180).  Coordinates are computed in double: 1e-9 * (offset + granularity
 * * value) is exact to far below a millimetre for any real file.
 *
 * DenseNodes keys_vals: (key, value) index pairs per node, each node's list
 * closed by a 0; an empty array means no node of the group has tags.  A list
 * that ends early leaves the remaining nodes without tags, as other readers
 * do; a key without its value is an error.
 *
 * Cost: one protobuf-c unpack per block (its allocations are bounded by the
 * budget in osm_int.h), one pass over each column, and only for the element
 * kinds that have a callback.  Relations are counted, never decoded further.
 */
#include "data/osm/osm_int.h"
#include "solver/errf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/proto/osm_block.pb-c.h"

const char *osm_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define OSM_ERR_CASE(name, code, msg)                                                              \
    case code:                                                                                     \
        return msg;
        OSM_ERRNO_MAP(OSM_ERR_CASE)
#undef OSM_ERR_CASE
    default:
        return "unknown error";
    }
}

const char *osm_tag(const osm_tags *t, const char *key)
{
    if (t == NULL || key == NULL)
        return NULL;
    for (int i = 0; i < t->n; i++) {
        if (strcmp(t->keys[i], key) == 0)
            return t->vals[i];
    }
    return NULL;
}

void osm_scratch_free(osm_scratch *s)
{
    free(s->chars);
    free(s->str);
    free(s->keys);
    free(s->vals);
    free(s->refs);
    memset(s, 0, sizeof(*s));
}

/* Makes *buf hold at least n elements of size elem; 0 or OSM_ENOMEM. */
static int grow(void **buf, size_t *cap, size_t n, size_t elem)
{
    void *p;

    if (n <= *cap)
        return 0;
    if (n < 2 * *cap)
        n = 2 * *cap;
    if (n > SIZE_MAX / elem)
        return OSM_ENOMEM;
    p = realloc(*buf, n * elem);
    if (p == NULL)
        return OSM_ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

static int grow_tags(osm_scratch *s, size_t n)
{
    size_t cap = s->tag_cap;
    int rc = grow((void **)&s->keys, &cap, n, sizeof(*s->keys));

    if (rc == 0) {
        cap = s->tag_cap;
        rc = grow((void **)&s->vals, &cap, n, sizeof(*s->vals));
    }
    if (rc == 0)
        s->tag_cap = cap;
    return rc;
}

static int unpack_failed(osm_ctx *x, const osm_budget *b, const char *what)
{
    unsigned long long off = (unsigned long long)x->blob_off;

    if (b->oom)
        return slv_errf(x->err, x->err_len, OSM_ENOMEM, "%s: byte %llu: out of memory decoding %s",
                        x->name, off, what);
    if (b->refused)
        return slv_errf(x->err, x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: %s would need more than %zu bytes once decoded", x->name,
                        off, what, b->limit);
    return slv_errf(x->err, x->err_len, OSM_EFORMAT, "%s: byte %llu: malformed %s", x->name, off,
                    what);
}

/* ---------------------------------------------------------------------- */
/* HeaderBlock                                                            */

static int feature_known(const char *f)
{
    return strcmp(f, "OsmSchema-V0.6") == 0 || strcmp(f, "DenseNodes") == 0 ||
           strcmp(f, "HistoricalInformation") == 0;
}

int osm_block_header(osm_ctx *x, const uint8_t *buf, size_t len)
{
    ProtobufCAllocator a;
    osm_budget b;
    Noriai__Osm__HeaderBlock *hb;
    unsigned long long off = (unsigned long long)x->blob_off;
    int rc = 0;

    osm_budget_init(&b, &a, len);
    hb = noriai__osm__header_block__unpack(&a, len, buf);
    if (hb == NULL)
        return unpack_failed(x, &b, "HeaderBlock");
    for (size_t i = 0; i < hb->n_required_features; i++) {
        if (!feature_known(hb->required_features[i])) {
            rc = slv_errf(x->err, x->err_len, OSM_EUNSUPPORTED,
                          "%s: byte %llu: the file requires feature \"%.80s\", which noriai does "
                          "not read (it reads OsmSchema-V0.6, DenseNodes, HistoricalInformation)",
                          x->name, off, hb->required_features[i]);
            goto out;
        }
    }
    if (x->h != NULL && x->h->header != NULL) {
        const Noriai__Osm__HeaderBBox *bb = hb->bbox;
        int stop;

        if (bb != NULL)
            stop = x->h->header(x->h->ud, 1e-9 * (double)bb->left, 1e-9 * (double)bb->bottom,
                                1e-9 * (double)bb->right, 1e-9 * (double)bb->top, 1);
        else
            stop = x->h->header(x->h->ud, 0, 0, 0, 0, 0);
        if (stop) {
            rc = slv_errf(x->err, x->err_len, OSM_EABORTED,
                          "%s: byte %llu: stopped by the header callback", x->name, off);
            goto out;
        }
    }
out:
    noriai__osm__header_block__free_unpacked(hb, &a);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* PrimitiveBlock                                                         */

/* What one block needs to turn raw values into callbacks. */
typedef struct block {
    osm_ctx *x;
    size_t n_str;
    int64_t gran, lat_off, lon_off;
} block;

/* Copies the string table into NUL-terminated strings. */
static int load_strings(block *k, const Noriai__Osm__StringTable *st)
{
    osm_scratch *s = &k->x->s;
    size_t total = 0, pos = 0;

    for (size_t i = 0; i < st->n_s; i++)
        total += st->s[i].len + 1;
    if (grow((void **)&s->chars, &s->chars_cap, total ? total : 1, 1) != 0 ||
        grow((void **)&s->str, &s->str_cap, st->n_s ? st->n_s : 1, sizeof(*s->str)) != 0)
        return slv_errf(k->x->err, k->x->err_len, OSM_ENOMEM, "%s: out of memory", k->x->name);
    for (size_t i = 0; i < st->n_s; i++) {
        if (st->s[i].len > 0)
            memcpy(s->chars + pos, st->s[i].data, st->s[i].len);
        s->chars[pos + st->s[i].len] = '\0';
        s->str[i] = s->chars + pos;
        pos += st->s[i].len + 1;
    }
    k->n_str = st->n_s;
    return 0;
}

static int bad_index(block *k, const char *kind, int64_t id, int64_t index)
{
    return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                    "%s: byte %llu: %s %lld: string index %lld outside the block's table of %zu "
                    "strings",
                    k->x->name, (unsigned long long)k->x->blob_off, kind, (long long)id,
                    (long long)index, k->n_str);
}

/* Tags of a Node, Way from parallel key/value index arrays. */
static int plain_tags(block *k, const char *kind, int64_t id, size_t n_keys, const uint32_t *keys,
                      size_t n_vals, const uint32_t *vals, osm_tags *out)
{
    osm_scratch *s = &k->x->s;

    if (n_keys != n_vals)
        return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: %s %lld has %zu tag keys but %zu values", k->x->name,
                        (unsigned long long)k->x->blob_off, kind, (long long)id, n_keys, n_vals);
    if (n_keys > INT_MAX)
        return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: %s %lld has too many tags", k->x->name,
                        (unsigned long long)k->x->blob_off, kind, (long long)id);
    if (grow_tags(s, n_keys ? n_keys : 1) != 0)
        return slv_errf(k->x->err, k->x->err_len, OSM_ENOMEM, "%s: out of memory", k->x->name);
    for (size_t i = 0; i < n_keys; i++) {
        if (keys[i] >= k->n_str)
            return bad_index(k, kind, id, keys[i]);
        if (vals[i] >= k->n_str)
            return bad_index(k, kind, id, vals[i]);
        s->keys[i] = s->str[keys[i]];
        s->vals[i] = s->str[vals[i]];
    }
    out->n = (int)n_keys;
    out->keys = s->keys;
    out->vals = s->vals;
    return 0;
}

/* Degrees from a raw coordinate; refuses positions off the globe. */
static int to_degrees(block *k, int64_t id, int64_t raw_lat, int64_t raw_lon, double *lat,
                      double *lon)
{
    *lat = 1e-9 * ((double)k->lat_off + (double)k->gran * (double)raw_lat);
    *lon = 1e-9 * ((double)k->lon_off + (double)k->gran * (double)raw_lon);
    if (!(*lat >= -90.0 && *lat <= 90.0) || !(*lon >= -180.0 && *lon <= 180.0))
        return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: node %lld: position (%g, %g) is not on the globe",
                        k->x->name, (unsigned long long)k->x->blob_off, (long long)id, *lat, *lon);
    return 0;
}

static int aborted(block *k, const char *kind, int64_t id)
{
    return slv_errf(k->x->err, k->x->err_len, OSM_EABORTED,
                    "%s: byte %llu: stopped by the %s callback at %s %lld", k->x->name,
                    (unsigned long long)k->x->blob_off, kind, kind, (long long)id);
}

static int plain_nodes(block *k, const Noriai__Osm__PrimitiveGroup *g)
{
    const osm_handler *h = k->x->h;
    osm_node n;
    int rc;

    for (size_t i = 0; i < g->n_nodes; i++) {
        const Noriai__Osm__Node *pn = g->nodes[i];

        k->x->counts.nodes++;
        if (h == NULL || h->node == NULL)
            continue;
        n.id = pn->id;
        rc = plain_tags(k, "node", pn->id, pn->n_keys, pn->keys, pn->n_vals, pn->vals, &n.tags);
        if (rc == 0)
            rc = to_degrees(k, pn->id, pn->lat, pn->lon, &n.lat, &n.lon);
        if (rc != 0)
            return rc;
        if (h->node(h->ud, &n) != 0)
            return aborted(k, "node", n.id);
    }
    return 0;
}

static int dense_nodes(block *k, const Noriai__Osm__DenseNodes *d)
{
    const osm_handler *h = k->x->h;
    osm_scratch *s = &k->x->s;
    uint64_t id = 0, lat = 0, lon = 0;
    size_t kv = 0, n_kv = d->n_keys_vals;
    osm_node n;

    if (d->n_lat != d->n_id || d->n_lon != d->n_id)
        return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                        "%s: byte %llu: DenseNodes has %zu ids, %zu latitudes, %zu longitudes",
                        k->x->name, (unsigned long long)k->x->blob_off, d->n_id, d->n_lat,
                        d->n_lon);
    if (h == NULL || h->node == NULL) {
        k->x->counts.nodes += (int64_t)d->n_id;
        return 0;
    }
    if (grow_tags(s, n_kv / 2 + 1) != 0)
        return slv_errf(k->x->err, k->x->err_len, OSM_ENOMEM, "%s: out of memory", k->x->name);
    for (size_t i = 0; i < d->n_id; i++) {
        int n_tags = 0, rc;

        id += (uint64_t)d->id[i];
        lat += (uint64_t)d->lat[i];
        lon += (uint64_t)d->lon[i];
        n.id = (int64_t)id;
        k->x->counts.nodes++;
        while (kv < n_kv && d->keys_vals[kv] != 0) {
            int32_t key = d->keys_vals[kv], val;

            if (kv + 1 >= n_kv)
                return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                                "%s: byte %llu: node %lld: DenseNodes tag key without a value",
                                k->x->name, (unsigned long long)k->x->blob_off, (long long)n.id);
            val = d->keys_vals[kv + 1];
            if (key < 0 || (size_t)key >= k->n_str)
                return bad_index(k, "node", n.id, key);
            if (val < 0 || (size_t)val >= k->n_str)
                return bad_index(k, "node", n.id, val);
            s->keys[n_tags] = s->str[key];
            s->vals[n_tags] = s->str[val];
            n_tags++;
            kv += 2;
        }
        if (kv < n_kv)
            kv++; /* the 0 closing this node's list */
        n.tags.n = n_tags;
        n.tags.keys = s->keys;
        n.tags.vals = s->vals;
        rc = to_degrees(k, n.id, (int64_t)lat, (int64_t)lon, &n.lat, &n.lon);
        if (rc != 0)
            return rc;
        if (h->node(h->ud, &n) != 0)
            return aborted(k, "node", n.id);
    }
    return 0;
}

static int ways(block *k, const Noriai__Osm__PrimitiveGroup *g)
{
    const osm_handler *h = k->x->h;
    osm_scratch *s = &k->x->s;
    osm_way w;
    int rc;

    for (size_t i = 0; i < g->n_ways; i++) {
        const Noriai__Osm__Way *pw = g->ways[i];
        uint64_t ref = 0;

        k->x->counts.ways++;
        if (h == NULL || h->way == NULL)
            continue;
        w.id = pw->id;
        rc = plain_tags(k, "way", pw->id, pw->n_keys, pw->keys, pw->n_vals, pw->vals, &w.tags);
        if (rc != 0)
            return rc;
        if (pw->n_refs > INT_MAX)
            return slv_errf(k->x->err, k->x->err_len, OSM_EFORMAT,
                            "%s: byte %llu: way %lld has too many nodes", k->x->name,
                            (unsigned long long)k->x->blob_off, (long long)w.id);
        if (grow((void **)&s->refs, &s->ref_cap, pw->n_refs ? pw->n_refs : 1, sizeof(*s->refs)))
            return slv_errf(k->x->err, k->x->err_len, OSM_ENOMEM, "%s: out of memory", k->x->name);
        for (size_t r = 0; r < pw->n_refs; r++) {
            ref += (uint64_t)pw->refs[r];
            s->refs[r] = (int64_t)ref;
        }
        w.n_refs = (int)pw->n_refs;
        w.refs = s->refs;
        if (h->way(h->ud, &w) != 0)
            return aborted(k, "way", w.id);
    }
    return 0;
}

int osm_block_primitive(osm_ctx *x, const uint8_t *buf, size_t len)
{
    ProtobufCAllocator a;
    osm_budget b;
    Noriai__Osm__PrimitiveBlock *pb;
    block k = {.x = x};
    int rc = 0;

    osm_budget_init(&b, &a, len);
    pb = noriai__osm__primitive_block__unpack(&a, len, buf);
    if (pb == NULL)
        return unpack_failed(x, &b, "PrimitiveBlock");
    k.gran = pb->has_granularity ? pb->granularity : 100;
    k.lat_off = pb->has_lat_offset ? pb->lat_offset : 0;
    k.lon_off = pb->has_lon_offset ? pb->lon_offset : 0;
    if (k.gran <= 0) {
        rc = slv_errf(x->err, x->err_len, OSM_EFORMAT,
                      "%s: byte %llu: granularity %lld is not positive", x->name,
                      (unsigned long long)x->blob_off, (long long)k.gran);
        goto out;
    }
    rc = load_strings(&k, pb->stringtable);
    for (size_t i = 0; rc == 0 && i < pb->n_primitivegroup; i++) {
        const Noriai__Osm__PrimitiveGroup *g = pb->primitivegroup[i];

        rc = plain_nodes(&k, g);
        if (rc == 0 && g->dense != NULL)
            rc = dense_nodes(&k, g->dense);
        if (rc == 0)
            rc = ways(&k, g);
        x->counts.relations += (int64_t)g->n_relations;
    }
out:
    noriai__osm__primitive_block__free_unpacked(pb, &a);
    return rc;
}
