/*
 * pbfutil.h - writing small OSM PBF files in tests, with the reader's own
 * generated protobuf-c code (data/proto/osm_*.proto): records with raw,
 * zlib or (mislabelled) lzma blobs, header blocks, primitive blocks.  Tests
 * use it to build what no real extract shows.  Include after cmocka.h.
 */
#ifndef NORIAI_PBFUTIL_H
#define NORIAI_PBFUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/proto/osm_block.pb-c.h"
#include "data/proto/osm_fileformat.pb-c.h"

typedef struct pu_bytes {
    uint8_t *p;
    size_t len, cap;
} pu_bytes;

static inline void pu_put(pu_bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline uint8_t *pu_pack(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *p;

    *len = protobuf_c_message_get_packed_size(m);
    p = malloc(*len + 1);
    assert_non_null(p);
    assert_int_equal(protobuf_c_message_pack(m, p), *len);
    return p;
}

enum { PU_RAW = 0, PU_ZLIB = 1, PU_LZMA = 2 };

/* Appends a record of the given type holding `block` as a raw/zlib/lzma blob. */
static inline void pu_record(pu_bytes *out, const char *type, const uint8_t *block, size_t len,
                             int how)
{
    Noriai__Osm__Blob blob;
    Noriai__Osm__BlobHeader bh = NORIAI__OSM__BLOB_HEADER__INIT;
    uint8_t *zbuf = NULL, *bp, *hp, be[4];
    size_t blen, hlen;

    noriai__osm__blob__init(&blob);
    if (how == PU_RAW) {
        blob.data_case = NORIAI__OSM__BLOB__DATA_RAW;
        blob.raw.data = (uint8_t *)block;
        blob.raw.len = len;
    } else {
        uLongf zlen = compressBound(len);
        zbuf = malloc(zlen);
        assert_non_null(zbuf);
        assert_int_equal(compress(zbuf, &zlen, block, len), Z_OK);
        blob.has_raw_size = 1;
        blob.raw_size = (int32_t)len;
        if (how == PU_ZLIB) {
            blob.data_case = NORIAI__OSM__BLOB__DATA_ZLIB_DATA;
            blob.zlib_data.data = zbuf;
            blob.zlib_data.len = zlen;
        } else {
            blob.data_case = NORIAI__OSM__BLOB__DATA_LZMA_DATA;
            blob.lzma_data.data = zbuf;
            blob.lzma_data.len = zlen;
        }
    }
    bp = pu_pack(&blob.base, &blen);
    bh.type = (char *)type;
    bh.datasize = (int32_t)blen;
    hp = pu_pack(&bh.base, &hlen);
    be[0] = (uint8_t)(hlen >> 24);
    be[1] = (uint8_t)(hlen >> 16);
    be[2] = (uint8_t)(hlen >> 8);
    be[3] = (uint8_t)hlen;
    pu_put(out, be, 4);
    pu_put(out, hp, hlen);
    pu_put(out, bp, blen);
    free(bp);
    free(hp);
    free(zbuf);
}

/* A HeaderBlock with the given required features and an optional bbox. */
static inline void pu_header(pu_bytes *out, const char **features, int n_features, int with_bbox)
{
    Noriai__Osm__HeaderBlock hb = NORIAI__OSM__HEADER_BLOCK__INIT;
    Noriai__Osm__HeaderBBox bb = NORIAI__OSM__HEADER_BBOX__INIT;
    static char *opt[] = {"Sort.Type_then_ID"};
    uint8_t *p;
    size_t len;

    hb.n_required_features = (size_t)n_features;
    hb.required_features = (char **)features;
    hb.n_optional_features = 1;
    hb.optional_features = opt;
    if (with_bbox) {
        bb.left = 139600000000LL;
        bb.right = 139800000000LL;
        bb.bottom = 35600000000LL;
        bb.top = 35700000000LL;
        hb.bbox = &bb;
    }
    p = pu_pack(&hb.base, &len);
    pu_record(out, "OSMHeader", p, len, PU_ZLIB);
    free(p);
}

static inline void pu_std_header(pu_bytes *out)
{
    static const char *f[] = {"OsmSchema-V0.6", "DenseNodes"};
    pu_header(out, f, 2, 1);
}

static inline void pu_block(pu_bytes *out, Noriai__Osm__PrimitiveBlock *pb, int how)
{
    uint8_t *p;
    size_t len;

    p = pu_pack(&pb->base, &len);
    pu_record(out, "OSMData", p, len, how);
    free(p);
}

#endif
