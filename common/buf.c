/*
 * buf.c — growable byte buffer (see buf.h). Allocates with mem.h's
 * allocator: a failure is reported (sticky ERR), never an abort, as the
 * buffer is part of libray.a.
 */
#include "common/buf.h"
#include "common/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *buf_grow_(struct buf *b, size_t n)
{
    if (b->err) {
        errno = ENOMEM;
        return NULL;
    }
    if (b->cap - b->len < n) {
        size_t want = b->len + n;
        if (want < b->len)
            goto fail; /* overflow */
        size_t cap = b->cap ? b->cap : 256;
        while (cap < want)
            cap = cap * 2 > cap ? cap * 2 : want;
        char *d = mem_realloc(b->data, cap);
        if (d == NULL)
            goto fail;
        b->data = d;
        b->cap = cap;
    }
    return b->data + b->len;
fail:
    b->err = ENOMEM;
    errno = ENOMEM;
    return NULL;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return b->err ? -1 : 0;
    char *d = buf_reserve(b, n);
    if (d == NULL)
        return -1;
    memcpy(d, p, n);
    b->len += n;
    return 0;
}

int buf_append_ll(struct buf *b, long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    return buf_append(b, tmp + i, sizeof tmp - i);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int rc = -1;
    char *p = buf_reserve(b, 128);
    if (p == NULL)
        goto out;
    size_t room = b->cap - b->len;
    int n = vsnprintf(p, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        if ((p = buf_reserve(b, (size_t)n + 1)) == NULL)
            goto out;
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    }
    if (n > 0)
        b->len += (size_t)n;
    rc = n >= 0 ? 0 : -1;
out:
    va_end(ap);
    va_end(ap2);
    return rc;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->err = 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}
