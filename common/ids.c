/*
 * ids.c — ID helpers (see ids.h).
 */
#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int ids_random_fill(void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = getrandom(b, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* the two hex digits of every byte value: one copy per byte, not two
 * nibble lookups (IDs are formatted on the task path: timeline spans, logs) */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

char *ids_hex(const void *p, size_t n, char *out)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * b[i], 2);
    out[2 * n] = '\0';
    return out;
}

int ids_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ids_unhex(const char *hex, void *out, size_t n)
{
    uint8_t *b = out;
    for (size_t i = 0; i < n; i++) {
        int hi = ids_hex_digit(hex[2 * i]);
        if (hi < 0)
            return -1;
        int lo = ids_hex_digit(hex[2 * i + 1]);
        if (lo < 0)
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

bool ids_is_zero(const void *id)
{
    static const uint8_t zero[IDS_SIZE];
    return memcmp(id, zero, IDS_SIZE) == 0;
}

uint32_t ids_index(const uint8_t *id)
{
    return (uint32_t)id[16] << 24 | (uint32_t)id[17] << 16 | (uint32_t)id[18] << 8 | id[19];
}

void ids_with_index(uint8_t *out, const uint8_t *base, uint32_t index)
{
    if (out != base)
        memcpy(out, base, 16);
    out[16] = (uint8_t)(index >> 24);
    out[17] = (uint8_t)(index >> 16);
    out[18] = (uint8_t)(index >> 8);
    out[19] = (uint8_t)index;
}

uint32_t ids_job(const uint8_t *id)
{
    return (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
}

uint64_t ids_hash(const uint8_t *id)
{
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    memcpy(&c, id + 16, 4);
    uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)c * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}
