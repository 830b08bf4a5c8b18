/*
 * sha256.h - SHA-256 (FIPS 180-4) for the source-file hashes an area bundle
 * records in its manifest, so that a bundle says exactly which OSM extract
 * and stop file it was built from.
 */
#ifndef NORIAI_AREA_SHA256_H
#define NORIAI_AREA_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct area_sha256 {
    uint32_t h[8];
    uint64_t total_bytes;
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} area_sha256;

void area_sha256_init(area_sha256 *s);
void area_sha256_update(area_sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; s must be initialised again before reuse. */
void area_sha256_final(area_sha256 *s, uint8_t digest[32]);

/* Digest of a whole buffer as 64 lowercase hex digits and a NUL. */
void area_sha256_hex(const void *data, size_t len, char hex[65]);

/* Digest of a file as hex, and its size (bytes, may be NULL).  0 or -1 with
 * errno set if the file cannot be read. */
int area_sha256_file(const char *path, char hex[65], uint64_t *bytes);

#endif
