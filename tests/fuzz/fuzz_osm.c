/*
 * fuzz_osm.c - libFuzzer target for the OSM PBF reader (not part of
 * `make test`).
 *
 * The first input byte picks what the rest is:
 *   even: a whole .osm.pbf file, read with osm_pbf_read_mem;
 *   odd:  one PrimitiveBlock, which the harness wraps in a valid file (a
 *         header record, then the block as a raw blob), so that mutations
 *         reach protobuf-c and the block decoder instead of stopping at
 *         zlib's checksum.
 * Every tag string handed to a callback is measured, so that a pointer
 * outside the string table shows up under ASan.
 *
 * Build and run (clang with libFuzzer; generated code from any build dir):
 *   make BUILD=build-fz build-fz/gen/data/proto/osm_block.pb-c.c \
 *        build-fz/gen/data/proto/osm_fileformat.pb-c.c
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
 *       -D_POSIX_C_SOURCE=200809L -I. -Ibuild-fz/gen tests/fuzz/fuzz_osm.c \
 *       data/osm/osm_pbf.c data/osm/osm_block.c build-fz/gen/data/proto/osm_*.pb-c.c \
 *       -lprotobuf-c -lz -o build-fz/fuzz_osm
 *   build-fz/fuzz_osm -max_total_time=60 CORPUS_DIR
 * A corpus: byte 0 followed by a real extract, or byte 1 followed by an
 * inflated PrimitiveBlock of one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/osm/osm.h"
#include "data/proto/osm_block.pb-c.h"
#include "data/proto/osm_fileformat.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch_tags(const osm_tags *t)
{
    size_t n = 0;

    for (int i = 0; i < t->n; i++)
        n += strlen(t->keys[i]) + strlen(t->vals[i]);
    return n;
}

static int on_node(void *ud, const osm_node *n)
{
    *(size_t *)ud += touch_tags(&n->tags) + (n->lat > 0);
    return 0;
}

static int on_way(void *ud, const osm_way *w)
{
    size_t *sum = ud;

    *sum += touch_tags(&w->tags);
    for (int i = 0; i < w->n_refs; i++)
        *sum += (size_t)w->refs[i];
    return 0;
}

/* Appends length, BlobHeader and a raw Blob holding block to out at *len. */
static size_t put_record(uint8_t *out, const char *type, const uint8_t *block, size_t block_len)
{
    Noriai__Osm__Blob blob;
    Noriai__Osm__BlobHeader bh = NORIAI__OSM__BLOB_HEADER__INIT;
    size_t blen, hlen;

    noriai__osm__blob__init(&blob);
    blob.data_case = NORIAI__OSM__BLOB__DATA_RAW;
    blob.raw.data = (uint8_t *)block;
    blob.raw.len = block_len;
    blen = noriai__osm__blob__get_packed_size(&blob);
    bh.type = (char *)type;
    bh.datasize = (int32_t)blen;
    hlen = noriai__osm__blob_header__pack(&bh, out + 4);
    out[0] = 0;
    out[1] = 0;
    out[2] = (uint8_t)(hlen >> 8);
    out[3] = (uint8_t)hlen;
    noriai__osm__blob__pack(&blob, out + 4 + hlen);
    return 4 + hlen + blen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osm_handler h;
    osm_counts c;
    char err[512];
    size_t sum = 0;

    if (size == 0)
        return 0;
    memset(&h, 0, sizeof(h));
    h.ud = &sum;
    h.node = on_node;
    h.way = on_way;
    if ((data[0] & 1) == 0) {
        osm_pbf_read_mem(data + 1, size - 1, "fuzz", &h, &c, err, sizeof(err));
    } else if (size - 1 < ((size_t)1 << 24)) {
        Noriai__Osm__HeaderBlock hb = NORIAI__OSM__HEADER_BLOCK__INIT;
        uint8_t hbuf[64], *file = malloc(2 * size + 256);
        size_t hb_len, len;

        if (file == NULL)
            return 0;
        hb_len = noriai__osm__header_block__pack(&hb, hbuf);
        len = put_record(file, "OSMHeader", hbuf, hb_len);
        len += put_record(file + len, "OSMData", data + 1, size - 1);
        osm_pbf_read_mem(file, len, "fuzz", &h, &c, err, sizeof(err));
        free(file);
    }
    return 0;
}
