/*
 * sha256.h — SHA-256 (FIPS 180-4), one-shot and incremental. Used to name
 * job libraries by content and for any other integrity check; not a MAC.
 */
#ifndef RAY_SHA256_H
#define RAY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_SIZE 32

struct sha256_ctx {
    uint32_t h[8];      /* chaining state */
    uint64_t nbytes;    /* message bytes absorbed so far */
    uint8_t block[64];  /* partial block */
    size_t blen;        /* bytes used in block */
};

/* Start a new digest. Never fails. */
void sha256_init(struct sha256_ctx *c);
/* Absorb N bytes at P (P may be NULL when N is 0). Never fails. */
void sha256_update(struct sha256_ctx *c, const void *p, size_t n);
/* Write the 32-byte digest to OUT; C must be re-initialised before reuse. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_SIZE]);
/* One-shot digest of N bytes at P into OUT. */
void sha256(const void *p, size_t n, uint8_t out[SHA256_SIZE]);

#endif
