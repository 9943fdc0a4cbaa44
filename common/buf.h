/*
 * buf.h — a growable byte buffer (the one used for encoding frames and
 * building strings). Owns its memory; buf_free releases it.
 */
#ifndef RAY_BUF_H
#define RAY_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for N more bytes; returns a pointer to the first free byte. Aborts on OOM. */
char *buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first N bytes (N <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);     /* len = 0, keeps memory */
void buf_free(struct buf *b);      /* releases memory; buf is BUF_INIT again */

#endif
