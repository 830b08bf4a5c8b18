/*
 * sha256.h - SHA-256 (FIPS 180-4) for the source-file hashes an area bundle
 * records in its manifest, so that a bundle says exactly which OSM extract
 * and stop file it was built from, and for the other hashes noriai keeps
 * (token digests, migration checksums, idempotency keys).
 *
 * The digest itself is OpenSSL's (libcrypto's EVP interface); this header
 * only gives it our names and our hex form.
 *
 * Ownership: area_sha256_init allocates an OpenSSL digest context that
 * area_sha256_final frees, so every successful init must be paired with one
 * final (a context that is no longer wanted is finished and its digest
 * ignored).  A context is not copied.
 */
#ifndef NORIAI_AREA_SHA256_H
#define NORIAI_AREA_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct area_sha256 {
    void *ctx; /* EVP_MD_CTX, NULL when init failed or after final */
} area_sha256;

/* 0, or -1 when OpenSSL could not set the context up (out of memory); then
 * update does nothing and final writes a zero digest and returns -1. */
int area_sha256_init(area_sha256 *s);
void area_sha256_update(area_sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest and frees the context: 0, or -1 (digest all
 * zeros) if any step failed.  s must be initialised again before reuse. */
int area_sha256_final(area_sha256 *s, uint8_t digest[32]);

/* Digest of a whole buffer as 64 lowercase hex digits and a NUL: 0, or -1
 * with hex set to "" if OpenSSL failed (out of memory). */
int area_sha256_hex(const void *data, size_t len, char hex[65]);

/* Digest of a file as hex, and its size (bytes, may be NULL).  0 or -1 with
 * errno set if the file cannot be read (or EIO if hashing failed). */
int area_sha256_file(const char *path, char hex[65], uint64_t *bytes);

#endif
