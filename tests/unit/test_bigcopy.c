/*
 * test_bigcopy.c — unit tests for common/bigcopy.h: the interleaved
 * non-temporal copy gives memcpy's bytes for every length and alignment
 * around its page and block edges, and leaves the bytes around the
 * destination untouched.
 */
#include "tests/unit/unit.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigcopy.h"

static void check_copy(size_t n, size_t soff, size_t doff, bool nt)
{
    size_t pad = 64;
    unsigned char *src = malloc(n + soff + 1), *dst = malloc(n + doff + 2 * pad);
    ck_assert(src && dst);
    for (size_t i = 0; i < n + soff + 1; i++)
        src[i] = (unsigned char)(i * 131 + 7);
    memset(dst, 0xA5, n + doff + 2 * pad);
    if (nt)
        big_copy_nt(dst + pad + doff, src + soff, n);
    else
        big_copy(dst + pad + doff, src + soff, n);
    ck_assert_msg(memcmp(dst + pad + doff, src + soff, n) == 0, "n %zu soff %zu doff %zu", n,
                  soff, doff);
    for (size_t i = 0; i < pad + doff; i++)
        ck_assert_uint_eq(dst[i], 0xA5);
    for (size_t i = pad + doff + n; i < n + doff + 2 * pad; i++)
        ck_assert_uint_eq(dst[i], 0xA5);
    free(src);
    free(dst);
}

START_TEST(test_bigcopy_edges)
{
    static const size_t lens[] = { 0, 1, 15, 63, 64, 4095, 4096, 4097, 16383, 16384, 16385,
                                   3 * 16384 + 4095, 100000 };
    static const size_t offs[] = { 0, 1, 16, 63, 4095 };
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
        for (size_t a = 0; a < sizeof offs / sizeof offs[0]; a++)
            for (size_t b = 0; b < sizeof offs / sizeof offs[0]; b++)
                check_copy(lens[l], offs[a], offs[b], true);
}
END_TEST

START_TEST(test_bigcopy_large)
{
    check_copy(BIGCOPY_MIN + 12345, 3, 17, false); /* big_copy's own path */
    check_copy(BIGCOPY_MIN - 1, 0, 0, false);      /* memcpy's */
}
END_TEST

static Suite *bigcopy_suite(void)
{
    Suite *s = suite_create("bigcopy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_bigcopy_edges);
    tcase_add_test(tc, test_bigcopy_large);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(bigcopy_suite);
