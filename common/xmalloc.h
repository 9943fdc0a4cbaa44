/*
 * xmalloc.h — the daemon's allocation wrappers: abort with a clear message on
 * out-of-memory and on size overflow. Library code linked into user programs
 * (api/) must not use these where it can return RAY_ENOMEM instead.
 */
#ifndef RAY_XMALLOC_H
#define RAY_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);                     /* never NULL */
void *xcalloc(size_t n, size_t size);           /* zeroed; checks n*size overflow */
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* printf into a new string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
