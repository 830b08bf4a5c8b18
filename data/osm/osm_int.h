/*
 * osm_int.h - private to data/osm: the limits of the format, the decoding
 * budget handed to protobuf-c, and the context shared by the container layer
 * (osm_pbf.c: records, blobs, zlib) and the block layer (osm_block.c:
 * HeaderBlock and PrimitiveBlock to callbacks).
 */
#ifndef NORIAI_OSM_INT_H
#define NORIAI_OSM_INT_H

#include <protobuf-c/protobuf-c.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "data/osm/osm.h"

/* Limits stated by the PBF format; the reader refuses anything larger. */
#define OSM_MAX_HEADER_BYTES ((size_t)64 * 1024)
#define OSM_MAX_BLOB_BYTES ((size_t)32 * 1024 * 1024)

/*
 * protobuf-c allocates the decoded message as it goes, and a crafted block
 * can make it allocate far more than the block's size (2 bytes per empty
 * repeated message, ~100 bytes of struct each).  Every unpack therefore gets
 * an allocator that passes through to malloc but stops at a budget derived
 * from the input size; real files use about a quarter of it.
 */
#define OSM_DECODE_FACTOR 16
#define OSM_DECODE_SLACK ((size_t)1 << 20)

typedef struct osm_budget {
    size_t used, limit;
    int refused; /* a request went over the limit */
    int oom;     /* malloc itself failed */
} osm_budget;

/* Sets up *a to allocate from b with a limit for decoding `input_len` bytes. */
void osm_budget_init(osm_budget *b, ProtobufCAllocator *a, size_t input_len);

/* Scratch buffers reused from block to block of one read. */
typedef struct osm_scratch {
    char *chars; /* the string table, NUL-terminated copies */
    size_t chars_cap;
    const char **str; /* str[i] = string i of the block */
    size_t str_cap;
    const char **keys, **vals; /* tags of the element being delivered */
    size_t tag_cap;
    int64_t *refs; /* decoded node ids of the way being delivered */
    size_t ref_cap;
} osm_scratch;

/* One read in progress. */
typedef struct osm_ctx {
    const char *name; /* file name for messages */
    const osm_handler *h;
    osm_counts counts;
    uint64_t blob_off; /* byte offset of the current record, for messages */
    int saw_header;
    osm_scratch s;
    char *err;
    size_t err_len;
} osm_ctx;

/* Decode one block's bytes and deliver its contents to x->h. */
int osm_block_header(osm_ctx *x, const uint8_t *buf, size_t len);
int osm_block_primitive(osm_ctx *x, const uint8_t *buf, size_t len);

void osm_scratch_free(osm_scratch *s);

#endif
