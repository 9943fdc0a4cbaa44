/*
 * bigcopy.c — big_copy (see bigcopy.h): four pages at a time, each written
 * with non-temporal 16-byte stores in 64-byte steps, the destination's
 * first bytes (up to a page boundary) and the last partial block by memcpy.
 */
#include "common/bigcopy.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>

#define PAGE 4096u
#define WAYS 4u

void big_copy_nt(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    size_t head = (PAGE - ((uintptr_t)d & (PAGE - 1))) & (PAGE - 1);
    if (head > n)
        head = n;
    memcpy(d, s, head);
    d += head;
    s += head;
    n -= head;
    size_t blocks = n / (PAGE * WAYS);
    for (size_t b = 0; b < blocks; b++, d += PAGE * WAYS, s += PAGE * WAYS)
        for (size_t off = 0; off < PAGE; off += 64)
            for (size_t w = 0; w < WAYS; w++) {
                const __m128i *sp = (const __m128i *)(s + w * PAGE + off);
                __m128i *dp = (__m128i *)(d + w * PAGE + off); /* 16-aligned: d is page-aligned */
                __m128i x0 = _mm_loadu_si128(sp), x1 = _mm_loadu_si128(sp + 1);
                __m128i x2 = _mm_loadu_si128(sp + 2), x3 = _mm_loadu_si128(sp + 3);
                _mm_stream_si128(dp, x0);
                _mm_stream_si128(dp + 1, x1);
                _mm_stream_si128(dp + 2, x2);
                _mm_stream_si128(dp + 3, x3);
            }
    _mm_sfence(); /* the stores are visible before anyone is told of them */
    memcpy(d, s, n - blocks * PAGE * WAYS);
}

#else

void big_copy_nt(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
}

#endif

void big_copy(void *dst, const void *src, size_t n)
{
    if (n < BIGCOPY_MIN)
        memcpy(dst, src, n);
    else
        big_copy_nt(dst, src, n);
}
