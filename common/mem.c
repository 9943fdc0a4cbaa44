/*
 * mem.c — the library's allocator: NULL on failure, an optional abort for
 * the daemon, and a fault-injection counter for tests (see mem.h).
 */
#include "common/mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool abort_on_failure;  /* atomics: set once at start, read everywhere */
static long fail_countdown = -1; /* the allocation that finds it 0 fails */
static long alloc_count;

void mem_abort_on_failure_(bool on)
{
    __atomic_store_n(&abort_on_failure, on, __ATOMIC_RELAXED);
}

long mem_fail_after_(long n)
{
    __atomic_store_n(&fail_countdown, n, __ATOMIC_SEQ_CST);
    return __atomic_exchange_n(&alloc_count, 0, __ATOMIC_SEQ_CST);
}

/* True if this allocation is the injected failure. */
static bool injected(void)
{
    __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED);
    long c = __atomic_load_n(&fail_countdown, __ATOMIC_RELAXED);
    while (c >= 0) {
        long next = c == 0 ? -1 : c - 1;
        if (__atomic_compare_exchange_n(&fail_countdown, &c, next, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
            return c == 0;
    }
    return false;
}

static void *failed(const char *what, size_t n, size_t size)
{
    if (__atomic_load_n(&abort_on_failure, __ATOMIC_RELAXED)) {
        fprintf(stderr, "rayd: out of memory: %s(%zu x %zu bytes)\n", what, n, size);
        abort();
    }
    errno = ENOMEM;
    return NULL;
}

void *mem_malloc(size_t size)
{
    void *p = injected() ? NULL : malloc(size ? size : 1);
    return p ? p : failed("malloc", 1, size);
}

void *mem_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return failed("calloc overflow", n, size);
    void *p = injected() ? NULL : calloc(n ? n : 1, size ? size : 1);
    return p ? p : failed("calloc", n, size);
}

void *mem_realloc(void *p, size_t size)
{
    void *q = injected() ? NULL : realloc(p, size ? size : 1);
    return q ? q : failed("realloc", 1, size);
}

void *mem_reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return failed("reallocarray overflow", n, size);
    return mem_realloc(p, n * size);
}

char *mem_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = mem_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *mem_strdup(const char *s)
{
    return mem_memdup(s, strlen(s) + 1);
}

void *mem_memdup(const void *p, size_t n)
{
    void *d = mem_malloc(n);
    if (d && n)
        memcpy(d, p, n);
    return d;
}
