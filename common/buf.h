/*
 * buf.h — a growable byte buffer (the one used for encoding frames and
 * building strings). Owns its memory; buf_free releases it.
 *
 * Allocation failures are sticky (like a stdio stream's error flag): the
 * failing call leaves the bytes as they were and sets ERR, and every later
 * append fails too, so a buffer never holds a sequence with a hole in it. A
 * writer appends freely and checks buf_failed() (or a result) once at the
 * end. Library code (libray.a) turns that into RAY_ENOMEM; in the node
 * daemon the allocator aborts instead (mem_abort_on_failure_).
 */
#ifndef RAY_BUF_H
#define RAY_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    int err;      /* an allocation failed: ENOMEM (sticky until buf_reset/buf_free) */
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* Make room for N more bytes; returns a pointer to the first free byte, or
 * NULL (out of memory or size overflow: ERR set, errno ENOMEM; also NULL
 * while ERR is set). Does not change LEN. Inline when there is room
 * (encoders call it for every value); buf_grow_ is the rest. */
char *buf_grow_(struct buf *b, size_t n);
static inline char *buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->len >= n && b->err == 0)
        return b->data + b->len;
    return buf_grow_(b, n);
}
/* Append N bytes at P / printf-formatted text (no NUL counted). Return 0, or
 * -1 with the buffer unchanged and ERR set. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append V in decimal ("%lld" without the printf machinery: hot encoders).
 * Returns 0, or -1 as buf_append. */
int buf_append_ll(struct buf *b, long long v);
/* True once an append or reserve failed (until buf_reset or buf_free). */
static inline bool buf_failed(const struct buf *b) { return b->err != 0; }
/* Drop the first N bytes (N <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);     /* len = 0 and ERR cleared; keeps memory */
void buf_free(struct buf *b);      /* releases memory; buf is BUF_INIT again */

#endif
