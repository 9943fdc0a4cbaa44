/*
 * pool_internal.h — what the files of the pool library (libs/pool/) share:
 * the byte codec of items and results, and the name of the pool actor class.
 * Everything here is built on ray.h alone; names end in '_' and start with
 * ray_pool_ so libray.a exports nothing but ray_* names.
 *
 * Wire formats (host byte order: a cluster's nodes share one architecture):
 *   value   u8 type, then BOOL u8 | INT i64 | FLOAT f64 | STR u32 len, bytes, NUL
 *           | BYTES u32 len, bytes | REF/ACTOR 20 bytes | NIL nothing
 *           | LIST u32 n, n values | MAP u32 n, n keys then n values
 *   item    u32 nargs, nargs values            (a chunk is items back to back)
 *   result  u8 0, value | u8 1, u32 len, message bytes, NUL
 */
#ifndef RAY_POOL_INTERNAL_H
#define RAY_POOL_INTERNAL_H

#include "ray.h"

#include <stddef.h>
#include <stdint.h>

/* The actor class the pool starts (registered by pool_actor.c) and its method. */
extern const char ray_pool_actor_class_[];
#define RAY_POOL_METHOD_ "run"
/* Result record tags. */
#define RAY_POOL_REC_OK_ 0
#define RAY_POOL_REC_FAILED_ 1

/* A growable byte buffer; OOM is sticky (checked once at the end). */
struct ray_pool_buf_ {
    uint8_t *data;
    size_t len, cap;
    int oom;
};
void ray_pool_buf_put_(struct ray_pool_buf_ *b, const void *p, size_t n);
void ray_pool_buf_free_(struct ray_pool_buf_ *b);

/* The arrays a decoded LIST/MAP needs, freed together. */
struct ray_pool_arena_ {
    void **blocks;
    size_t n, cap;
};
void ray_pool_arena_free_(struct ray_pool_arena_ *a);

/* Append V (LIST/MAP with everything in them, RAY_MAX_DEPTH levels at most).
 * Returns RAY_OK or RAY_EINVAL (unknown type, NULL buffer or array, too deep). */
int ray_pool_value_put_(struct ray_pool_buf_ *b, const ray_value *v);
/* Append an item: NARGS values. Returns RAY_OK or RAY_EINVAL. */
int ray_pool_item_put_(struct ray_pool_buf_ *b, const ray_value *args, size_t nargs);
/* Append a result record: V, or (MSG non-NULL) a failure. */
void ray_pool_result_put_(struct ray_pool_buf_ *b, const ray_value *v, const char *msg);

/* Read one value at *P (< END) into *OUT, advancing *P; STR/BYTES point
 * into the buffer, LIST/MAP arrays are allocated in ARENA (NULL: a LIST or
 * MAP is malformed). Returns 0, or -1 when malformed or out of memory. */
int ray_pool_value_get_(const uint8_t **p, const uint8_t *end, ray_value *out,
                        struct ray_pool_arena_ *arena);
/* Read a u32 / a u8. Returns 0 or -1. */
int ray_pool_u32_get_(const uint8_t **p, const uint8_t *end, uint32_t *out);
int ray_pool_u8_get_(const uint8_t **p, const uint8_t *end, uint8_t *out);
/* Read a length-prefixed, NUL-terminated string; *S points into the buffer. */
int ray_pool_str_get_(const uint8_t **p, const uint8_t *end, const char **s);

#endif
