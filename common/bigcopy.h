/*
 * bigcopy.h — copy a large buffer into the object store at the machine's
 * copy rate.
 *
 * glibc's memcpy takes its fastest path (non-temporal stores, four pages
 * interleaved) only for copies many times the size of the last-level
 * cache: on this project's 2-vCPU Intel guest a 256 MB copy ran at
 * 11.5 GB/s and a 100 MB one at 7.0 GB/s (BENCHMARKS.md round 15), so a
 * 100 MB ray_put could never reach the floor_memcpy_gbps the benchmarks
 * measure with 256 MB. big_copy does the interleaved non-temporal copy for
 * every copy of BIGCOPY_MIN bytes or more (on x86-64; elsewhere, and for
 * smaller copies, it is memcpy). The stores bypass the cache, which is
 * what a large object written once and read later by another process
 * wants.
 */
#ifndef RAY_COMMON_BIGCOPY_H
#define RAY_COMMON_BIGCOPY_H

#include <stddef.h>

#define BIGCOPY_MIN ((size_t)8 << 20)

/* Copy N bytes from SRC to DST (not overlapping), as memcpy does. */
void big_copy(void *dst, const void *src, size_t n);
/* The interleaved non-temporal copy whatever N is (for tests; memcpy off
 * x86-64). */
void big_copy_nt(void *dst, const void *src, size_t n);

#endif
