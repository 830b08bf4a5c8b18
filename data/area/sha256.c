/*
 * sha256.c - SHA-256 through OpenSSL's libcrypto.
 *
 * We used to carry our own compression function; libcrypto is already on
 * every machine that runs noriai (libpq links it), is tested far more widely
 * than ours, and uses the CPU's SHA extensions where there are any.  This
 * file maps our small API onto the EVP digest interface:
 *
 *   init    EVP_MD_CTX_new + EVP_DigestInit_ex(EVP_sha256)
 *   update  EVP_DigestUpdate
 *   final   EVP_DigestFinal_ex + EVP_MD_CTX_free
 *   hex     EVP_Digest, the one-shot form (no context kept)
 *
 * A failure anywhere (only an allocation can fail for SHA-256) is remembered
 * by dropping the context: later updates do nothing and final reports -1
 * with a zero digest, so a caller that checks only final still learns of it.
 *
 * Cost: a few hundred MB/s or more; hashing a 2 MB OSM extract takes a few
 * milliseconds, so bundles hash their sources every time they are written.
 */
#include "data/area/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int area_sha256_init(area_sha256 *s)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    s->ctx = NULL;
    if (ctx == NULL)
        return -1;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    s->ctx = ctx;
    return 0;
}

void area_sha256_update(area_sha256 *s, const void *data, size_t len)
{
    if (s->ctx == NULL || len == 0)
        return;
    if (EVP_DigestUpdate(s->ctx, data, len) != 1) {
        /* Remembered as a missing context: final reports the failure. */
        EVP_MD_CTX_free(s->ctx);
        s->ctx = NULL;
    }
}

int area_sha256_final(area_sha256 *s, uint8_t digest[32])
{
    unsigned int n = 0;
    int rc = -1;

    if (s->ctx != NULL && EVP_DigestFinal_ex(s->ctx, digest, &n) == 1 && n == 32)
        rc = 0;
    EVP_MD_CTX_free(s->ctx); /* NULL is fine */
    s->ctx = NULL;
    if (rc < 0)
        memset(digest, 0, 32);
    return rc;
}

static void to_hex(const uint8_t digest[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

int area_sha256_hex(const void *data, size_t len, char hex[65])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    /* EVP_Digest wants a non-NULL pointer even for an empty message. */
    if (EVP_Digest(len > 0 ? data : "", len, d, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        hex[0] = '\0';
        return -1;
    }
    to_hex(d, hex);
    return 0;
}

int area_sha256_file(const char *path, char hex[65], uint64_t *bytes)
{
    FILE *f = fopen(path, "rb");
    uint8_t buf[65536], d[32];
    uint64_t total = 0;
    area_sha256 s;
    size_t n;
    int rc = 0;

    if (f == NULL)
        return -1;
    if (area_sha256_init(&s) < 0) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        area_sha256_update(&s, buf, n);
        total += n;
    }
    if (ferror(f))
        rc = -1;
    fclose(f);
    /* final always runs: it frees the context. */
    if (area_sha256_final(&s, d) < 0 && rc == 0) {
        errno = EIO;
        rc = -1;
    }
    if (rc < 0)
        return rc;
    to_hex(d, hex);
    if (bytes != NULL)
        *bytes = total;
    return 0;
}
