/*
 * osm.h - reading OpenStreetMap PBF files (.osm.pbf) with protobuf-c.
 *
 * The reader streams a file blob by blob: a 4-byte big-endian length, a
 * BlobHeader, a Blob (raw or zlib), decoded into a HeaderBlock or a
 * PrimitiveBlock, whose groups hold Nodes, DenseNodes, Ways and Relations.
 * Coordinates are turned into degrees with the block's granularity and
 * offsets.  Elements are handed to callbacks one at a time; the reader keeps
 * nothing of them, so memory stays at one decoded block whatever the file size.
 *
 * Corrupt or truncated files give OSM_EFORMAT (or OSM_EZLIB) and a message
 * naming the file, the byte offset and what is wrong.  Length fields are
 * checked against the format's limits (BlobHeader <= 64 KiB, Blob <= 32 MiB,
 * uncompressed block <= 32 MiB) and the bytes left in the file before
 * anything is allocated.
 *
 * Tags are passed as parallel arrays of NUL-terminated UTF-8 strings that
 * live until the callback returns.
 */
#ifndef NORIAI_OSM_H
#define NORIAI_OSM_H

#include <stddef.h>
#include <stdint.h>

#define OSM_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(FORMAT, -4, "malformed or truncated PBF file")                                               \
    X(ZLIB, -5, "cannot decompress blob")                                                          \
    X(UNSUPPORTED, -6, "unsupported PBF feature")                                                  \
    X(ABORTED, -7, "stopped by callback")

enum {
#define OSM_ERR_ENUM(name, code, msg) OSM_E##name = (code),
    OSM_ERRNO_MAP(OSM_ERR_ENUM)
#undef OSM_ERR_ENUM
};

const char *osm_strerror(int err);

typedef struct osm_tags {
    int n;
    const char *const *keys;
    const char *const *vals;
} osm_tags;

/* Value of tag `key`, or NULL. */
const char *osm_tag(const osm_tags *t, const char *key);

typedef struct osm_node {
    int64_t id;
    double lat, lon; /* degrees WGS84 */
    osm_tags tags;
} osm_node;

typedef struct osm_way {
    int64_t id;
    int n_refs;
    const int64_t *refs; /* node ids in order */
    osm_tags tags;
} osm_way;

/* Callbacks; any may be NULL.  A nonzero return stops the read with
 * OSM_EABORTED.  `want_*` lets the reader skip decoding what nobody wants. */
typedef struct osm_handler {
    void *ud;
    int (*node)(void *ud, const osm_node *n);
    int (*way)(void *ud, const osm_way *w);
    /* Called once per file after the header block. */
    int (*header)(void *ud, double min_lon, double min_lat, double max_lon, double max_lat,
                  int has_bbox);
    /* Optional progress: bytes read so far of the file's total. */
    void (*progress)(void *ud, uint64_t done_bytes, uint64_t total_bytes);
} osm_handler;

typedef struct osm_counts {
    int64_t nodes, ways, relations, blobs;
} osm_counts;

/* Reads the whole file, calling h for each element in file order.
 * counts (OUT, may be NULL) gets what was read.  Returns 0 or OSM_E*. */
int osm_pbf_read(const char *path, const osm_handler *h, osm_counts *counts, char *err,
                 size_t err_len);

/* Same, from a memory buffer (for tests and fuzzing); name is used in messages. */
int osm_pbf_read_mem(const uint8_t *buf, size_t len, const char *name, const osm_handler *h,
                     osm_counts *counts, char *err, size_t err_len);

#endif
