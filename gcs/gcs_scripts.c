/*
 * gcs_scripts.c — the Lua scripts of the tables, called by SHA-1.
 *
 * A table write that touches several keys is a short Lua script. Sending
 * the script text with EVAL on every call makes Redis hash it each time (the
 * top of Redis's profile under load), so a script is sent with EVAL only the
 * first time this process uses it — which also caches it in Redis — and with
 * EVALSHA after that. Redis forgets its script cache when it restarts, so
 * every (re)connected command connection first sends SCRIPT LOAD for every
 * script used so far, before any queued command.
 */
#include "gcs/gcs_keys.h"

#include <hiredis/async.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GCS_SCRIPTS_MAX 32

static struct {
    const char *text; /* static storage: the tables' constants */
    char sha[41];
} scripts[GCS_SCRIPTS_MAX];
static int nscripts;
static pthread_mutex_t scripts_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

/* SHA-1 of S (FIPS 180-4), as 40 lowercase hex digits into OUT. */
static void sha1_hex(const char *s, char out[41])
{
    uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    size_t len = strlen(s);
    uint64_t bits = (uint64_t)len * 8;
    size_t total = ((len + 8) / 64 + 1) * 64;
    for (size_t off = 0; off < total; off += 64) {
        uint8_t blk[64];
        for (size_t i = 0; i < 64; i++) {
            size_t k = off + i;
            if (k < len)
                blk[i] = (uint8_t)s[k];
            else if (k == len)
                blk[i] = 0x80;
            else if (k >= total - 8)
                blk[i] = (uint8_t)(bits >> (8 * (total - 1 - k)));
            else
                blk[i] = 0;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
                   (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    for (int i = 0; i < 5; i++)
        snprintf(out + 8 * i, 9, "%08x", h[i]);
}

int gcs_script_sha_(const char *script, char sha[41])
{
    int known = 0;
    pthread_mutex_lock(&scripts_lock);
    int i;
    for (i = 0; i < nscripts; i++)
        if (scripts[i].text == script)
            break;
    if (i < nscripts) {
        memcpy(sha, scripts[i].sha, 41);
        known = 1;
    } else if (nscripts < GCS_SCRIPTS_MAX) {
        scripts[nscripts].text = script;
        sha1_hex(script, scripts[nscripts].sha);
        nscripts++;
    }
    pthread_mutex_unlock(&scripts_lock);
    return known;
}

void gcs_scripts_load_(struct redisAsyncContext *ac)
{
    pthread_mutex_lock(&scripts_lock);
    for (int i = 0; i < nscripts; i++)
        redisAsyncCommand(ac, NULL, NULL, "SCRIPT LOAD %s", scripts[i].text);
    pthread_mutex_unlock(&scripts_lock);
}
