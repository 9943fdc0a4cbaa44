/*
 * mem.h — the allocator of code linked into users' programs (libray.a:
 * api/, libs/, and the common/ and gcs/ files they use). Unlike xmalloc.h
 * these return NULL (errno ENOMEM) on out-of-memory and size overflow, so
 * the library can answer RAY_ENOMEM.
 *
 * Two process-wide switches:
 *  - a node daemon, whose many buf_* callers do not check results, calls
 *    mem_abort_on_failure_(true) at start: a failure then aborts with the
 *    xmalloc message instead (STYLE: the daemon aborts, the library returns);
 *  - tests call mem_fail_after_(N) to make the allocation after the next N
 *    fail, once (fault injection for the RAY_ENOMEM paths).
 * Both are thread-safe (atomics).
 */
#ifndef RAY_MEM_H
#define RAY_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* malloc/calloc/realloc/strdup/strndup/memdup that fail with NULL and errno
 * ENOMEM (never abort unless mem_abort_on_failure_(true)). Size 0 allocates
 * one byte, so NULL always means failure. mem_calloc and mem_reallocarray
 * check N * SIZE for overflow. mem_realloc leaves P untouched on failure.
 * The caller frees with free(). */
void *mem_malloc(size_t size);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t size);
void *mem_reallocarray(void *p, size_t n, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
void *mem_memdup(const void *p, size_t n);

/* Abort (with a message on stderr) instead of returning NULL, from now on
 * in this process. For the node daemon only. */
void mem_abort_on_failure_(bool on);
/* Test hook: the next N mem_* allocations succeed and the one after fails
 * (once); N < 0 switches it off.
 * Returns how many mem_* allocations ran since the previous call (so a test
 * can count the allocation points of an operation and then fail each). */
long mem_fail_after_(long n);

#endif
