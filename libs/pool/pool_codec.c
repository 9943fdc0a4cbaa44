/*
 * pool_codec.c — the compact byte format of pool items and results
 * (pool_internal.h). Items cross the wire in one BYTES argument per chunk
 * and results come back in one BYTES value, so a chunk of ten thousand
 * items is two messages, not ten thousand objects.
 */
#include "libs/pool/pool_internal.h"

#include <stdlib.h>
#include <string.h>

void ray_pool_buf_put_(struct ray_pool_buf_ *b, const void *p, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ray_pool_buf_free_(struct ray_pool_buf_ *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void put_u32(struct ray_pool_buf_ *b, uint32_t x)
{
    ray_pool_buf_put_(b, &x, sizeof x);
}

static int value_put(struct ray_pool_buf_ *b, const ray_value *v, int depth);

int ray_pool_value_put_(struct ray_pool_buf_ *b, const ray_value *v)
{
    return value_put(b, v, 1);
}

static int value_put(struct ray_pool_buf_ *b, const ray_value *v, int depth)
{
    uint8_t tag = (uint8_t)v->type;
    switch (v->type) {
    case RAY_LIST:
    case RAY_MAP: {
        size_t n = v->type == RAY_LIST ? v->as.list.n : v->as.map.n;
        if (depth > RAY_MAX_DEPTH || n > RAY_MAX_ITEMS)
            return RAY_EINVAL;
        const ray_value *a = v->type == RAY_LIST ? v->as.list.items : v->as.map.keys;
        const ray_value *vals = v->type == RAY_MAP ? v->as.map.vals : NULL;
        if (n > 0 && (a == NULL || (v->type == RAY_MAP && vals == NULL)))
            return RAY_EINVAL;
        ray_pool_buf_put_(b, &tag, 1);
        put_u32(b, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            if (value_put(b, &a[i], depth + 1) != RAY_OK)
                return RAY_EINVAL;
        for (size_t i = 0; vals && i < n; i++)
            if (value_put(b, &vals[i], depth + 1) != RAY_OK)
                return RAY_EINVAL;
        return RAY_OK;
    }
    case RAY_NIL:
        ray_pool_buf_put_(b, &tag, 1);
        return RAY_OK;
    case RAY_BOOL: {
        uint8_t x = v->as.b ? 1 : 0;
        ray_pool_buf_put_(b, &tag, 1);
        ray_pool_buf_put_(b, &x, 1);
        return RAY_OK;
    }
    case RAY_INT:
        ray_pool_buf_put_(b, &tag, 1);
        ray_pool_buf_put_(b, &v->as.i, 8);
        return RAY_OK;
    case RAY_FLOAT:
        ray_pool_buf_put_(b, &tag, 1);
        ray_pool_buf_put_(b, &v->as.f, 8);
        return RAY_OK;
    case RAY_STR:
    case RAY_BYTES:
        if ((v->as.buf.ptr == NULL && v->as.buf.len > 0) || v->as.buf.len > UINT32_MAX - 1)
            return RAY_EINVAL;
        ray_pool_buf_put_(b, &tag, 1);
        put_u32(b, (uint32_t)v->as.buf.len);
        ray_pool_buf_put_(b, v->as.buf.ptr, v->as.buf.len);
        if (v->type == RAY_STR)
            ray_pool_buf_put_(b, "", 1);
        return RAY_OK;
    case RAY_REF:
    case RAY_ACTOR:
        ray_pool_buf_put_(b, &tag, 1);
        ray_pool_buf_put_(b, v->type == RAY_REF ? v->as.ref.id : v->as.actor.id, RAY_ID_SIZE);
        return RAY_OK;
    }
    return RAY_EINVAL;
}

int ray_pool_item_put_(struct ray_pool_buf_ *b, const ray_value *args, size_t nargs)
{
    if (nargs > 0 && args == NULL)
        return RAY_EINVAL;
    put_u32(b, (uint32_t)nargs);
    for (size_t i = 0; i < nargs; i++)
        if (ray_pool_value_put_(b, &args[i]) != RAY_OK)
            return RAY_EINVAL;
    return RAY_OK;
}

void ray_pool_result_put_(struct ray_pool_buf_ *b, const ray_value *v, const char *msg)
{
    uint8_t tag = RAY_POOL_REC_OK_;
    if (msg == NULL) {
        size_t at = b->len;
        ray_pool_buf_put_(b, &tag, 1);
        if (ray_pool_value_put_(b, v) == RAY_OK)
            return;
        b->len = at < b->len ? at : b->len; /* a value we cannot carry: fail the item */
        msg = "its return value has an unknown type";
    }
    tag = RAY_POOL_REC_FAILED_;
    size_t len = strlen(msg);
    ray_pool_buf_put_(b, &tag, 1);
    put_u32(b, (uint32_t)len);
    ray_pool_buf_put_(b, msg, len + 1);
}

int ray_pool_u8_get_(const uint8_t **p, const uint8_t *end, uint8_t *out)
{
    if (end - *p < 1)
        return -1;
    *out = **p;
    *p += 1;
    return 0;
}

int ray_pool_u32_get_(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
    if (end - *p < 4)
        return -1;
    memcpy(out, *p, 4);
    *p += 4;
    return 0;
}

int ray_pool_str_get_(const uint8_t **p, const uint8_t *end, const char **s)
{
    uint32_t len;
    if (ray_pool_u32_get_(p, end, &len) < 0 || (size_t)(end - *p) < (size_t)len + 1 ||
        (*p)[len] != '\0')
        return -1;
    *s = (const char *)*p;
    *p += (size_t)len + 1;
    return 0;
}

void ray_pool_arena_free_(struct ray_pool_arena_ *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

static void *arena_alloc(struct ray_pool_arena_ *a, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        void **x = realloc(a->blocks, cap * sizeof *x);
        if (x == NULL)
            return NULL;
        a->blocks = x;
        a->cap = cap;
    }
    void *m = calloc(n ? n : 1, 1);
    if (m)
        a->blocks[a->n++] = m;
    return m;
}

static int value_get(const uint8_t **p, const uint8_t *end, ray_value *out,
                     struct ray_pool_arena_ *arena, int depth);

int ray_pool_value_get_(const uint8_t **p, const uint8_t *end, ray_value *out,
                        struct ray_pool_arena_ *arena)
{
    return value_get(p, end, out, arena, 1);
}

static int value_get(const uint8_t **p, const uint8_t *end, ray_value *out,
                     struct ray_pool_arena_ *arena, int depth)
{
    uint8_t tag;
    uint32_t len;
    memset(out, 0, sizeof *out);
    if (ray_pool_u8_get_(p, end, &tag) < 0)
        return -1;
    out->type = (ray_type)tag;
    switch (tag) {
    case RAY_LIST:
    case RAY_MAP: {
        uint32_t n;
        if (arena == NULL || depth > RAY_MAX_DEPTH || ray_pool_u32_get_(p, end, &n) < 0 ||
            n > RAY_MAX_ITEMS || (size_t)n > (size_t)(end - *p)) /* a value is >= 1 byte */
            return -1;
        size_t cnt = tag == RAY_MAP ? (size_t)n * 2 : n;
        ray_value *a = arena_alloc(arena, cnt * sizeof *a);
        if (a == NULL)
            return -1;
        for (size_t i = 0; i < cnt; i++)
            if (value_get(p, end, &a[i], arena, depth + 1) < 0)
                return -1;
        if (tag == RAY_LIST) {
            out->as.list.items = a;
            out->as.list.n = n;
        } else {
            out->as.map.keys = a;
            out->as.map.vals = a + n;
            out->as.map.n = n;
        }
        return 0;
    }
    case RAY_NIL:
        return 0;
    case RAY_BOOL: {
        uint8_t x;
        if (ray_pool_u8_get_(p, end, &x) < 0)
            return -1;
        out->as.b = x != 0;
        return 0;
    }
    case RAY_INT:
    case RAY_FLOAT:
        if (end - *p < 8)
            return -1;
        memcpy(tag == RAY_INT ? (void *)&out->as.i : (void *)&out->as.f, *p, 8);
        *p += 8;
        return 0;
    case RAY_STR:
    case RAY_BYTES: {
        size_t extra = tag == RAY_STR ? 1 : 0;
        if (ray_pool_u32_get_(p, end, &len) < 0 || (size_t)(end - *p) < (size_t)len + extra)
            return -1;
        if (extra && (*p)[len] != '\0')
            return -1;
        out->as.buf.ptr = *p;
        out->as.buf.len = len;
        *p += (size_t)len + extra;
        return 0;
    }
    case RAY_REF:
    case RAY_ACTOR:
        if (end - *p < RAY_ID_SIZE)
            return -1;
        memcpy(tag == RAY_REF ? out->as.ref.id : out->as.actor.id, *p, RAY_ID_SIZE);
        *p += RAY_ID_SIZE;
        return 0;
    }
    return -1;
}
