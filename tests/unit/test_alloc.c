/*
 * test_alloc.c — unit tests for the object store's range allocator
 * (objstore/alloc.h): random stress against a shadow model, exhaustion,
 * coalescing, and big + small mixes.
 */
#include "tests/unit/unit.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/alloc.h"

START_TEST(test_alloc_basic)
{
    alloc *a = alloc_new(4096 + 10); /* rounded down to 4096 */
    ck_assert_uint_eq(alloc_capacity(a), 4096);
    uint64_t o1, o2, o3;
    ck_assert_int_eq(alloc_alloc(a, 0, &o1), 0); /* zero size takes one granule */
    ck_assert_int_eq(alloc_alloc(a, 65, &o2), 0);
    ck_assert_int_ne(o1, o2);
    ck_assert_uint_eq(alloc_used(a), 64 + 128);
    ck_assert_uint_eq(o1 % ALLOC_ALIGN, 0);
    ck_assert_uint_eq(o2 % ALLOC_ALIGN, 0);
    ck_assert_int_eq(alloc_free(a, o2 + 64), -1); /* not a block start */
    ck_assert_int_eq(alloc_free(a, 3), -1);
    ck_assert_int_eq(alloc_free(a, o1), 0);
    ck_assert_int_eq(alloc_free(a, o1), -1); /* double free refused */
    ck_assert_int_eq(alloc_alloc(a, 4096, &o3), -1); /* o2 still in the way */
    ck_assert_int_eq(alloc_free(a, o2), 0);
    ck_assert_int_eq(alloc_alloc(a, 4096, &o3), 0); /* exactly the capacity */
    ck_assert_uint_eq(o3, 0);
    ck_assert_int_eq(alloc_alloc(a, 1, &o1), -1);
    ck_assert_int_eq(alloc_validate(a), 0);
    ck_assert_uint_eq(alloc_block_size(0), 64);
    ck_assert_uint_eq(alloc_block_size(64), 64);
    ck_assert_uint_eq(alloc_block_size(65), 128);
    alloc_destroy(a);
    alloc_destroy(NULL);
    a = alloc_new(10);
    ck_assert_int_eq(alloc_alloc(a, 1, &o1), -1);
    ck_assert_int_eq(alloc_validate(a), 0);
    alloc_destroy(a);
}
END_TEST

START_TEST(test_alloc_exhaustion)
{
    alloc *a = alloc_new(64 * 100);
    uint64_t offs[100], o;
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(alloc_alloc(a, 10, &offs[i]), 0);
    ck_assert_int_eq(alloc_alloc(a, 1, &o), -1);
    ck_assert_uint_eq(alloc_largest_free(a), 0);
    /* free every other block: 50 granules free but none contiguous */
    for (int i = 0; i < 100; i += 2)
        ck_assert_int_eq(alloc_free(a, offs[i]), 0);
    ck_assert_uint_eq(alloc_num_free(a), 50);
    ck_assert_uint_eq(alloc_largest_free(a), 64);
    ck_assert_int_eq(alloc_alloc(a, 65, &o), -1);
    /* freeing one between two free blocks merges three into one */
    ck_assert_int_eq(alloc_free(a, offs[1]), 0);
    ck_assert_uint_eq(alloc_largest_free(a), 3 * 64);
    ck_assert_int_eq(alloc_alloc(a, 3 * 64, &o), 0);
    ck_assert_uint_eq(o, offs[0]);
    ck_assert_int_eq(alloc_validate(a), 0);
    alloc_free_all(a);
    ck_assert_uint_eq(alloc_used(a), 0);
    ck_assert_uint_eq(alloc_num_free(a), 1);
    ck_assert_uint_eq(alloc_largest_free(a), 6400);
    ck_assert_int_eq(alloc_validate(a), 0);
    alloc_destroy(a);
}
END_TEST

/* Random alloc/free checked against a shadow map of granules. */
START_TEST(test_alloc_stress_shadow)
{
    const uint64_t cap = 1 << 20;
    const uint64_t ngran = cap / ALLOC_ALIGN;
    alloc *a = alloc_new(cap);
    uint8_t *shadow = calloc(ngran, 1);
    enum { MAXLIVE = 2000 };
    struct { uint64_t off, size; } live[MAXLIVE];
    int nlive = 0;
    uint64_t used = 0;
    srandom(12345);
    for (int step = 0; step < 30000; step++) {
        bool do_alloc = nlive == 0 || (nlive < MAXLIVE && random() % 100 < 55);
        if (do_alloc) {
            uint64_t size;
            switch (random() % 4) {
            case 0: size = (uint64_t)(random() % 100); break;
            case 1: size = (uint64_t)(random() % 2000); break;
            case 2: size = (uint64_t)(random() % 20000); break;
            default: size = (uint64_t)(random() % 200000); break;
            }
            uint64_t off;
            uint64_t bs = alloc_block_size(size);
            if (alloc_alloc(a, size, &off) != 0) {
                /* a failure must be real: no free block that large */
                ck_assert_uint_lt(alloc_largest_free(a), bs);
                continue;
            }
            ck_assert_uint_eq(off % ALLOC_ALIGN, 0);
            ck_assert_uint_le(off + bs, cap);
            int overlap = 0;
            for (uint64_t g = off / ALLOC_ALIGN; g < (off + bs) / ALLOC_ALIGN; g++) {
                overlap |= shadow[g];
                shadow[g] = 1;
            }
            ck_assert_int_eq(overlap, 0);
            live[nlive].off = off;
            live[nlive].size = bs;
            nlive++;
            used += bs;
        } else {
            int k = (int)(random() % nlive);
            ck_assert_int_eq(alloc_free(a, live[k].off), 0);
            for (uint64_t g = live[k].off / ALLOC_ALIGN; g < (live[k].off + live[k].size) / ALLOC_ALIGN; g++)
                shadow[g] = 0;
            used -= live[k].size;
            live[k] = live[--nlive];
        }
        ck_assert_uint_eq(alloc_used(a), used);
        if (step % 1000 == 0)
            ck_assert_int_eq(alloc_validate(a), 0);
    }
    ck_assert_int_eq(alloc_validate(a), 0);
    while (nlive > 0)
        ck_assert_int_eq(alloc_free(a, live[--nlive].off), 0);
    /* coalescing restores one block spanning everything */
    ck_assert_uint_eq(alloc_used(a), 0);
    ck_assert_uint_eq(alloc_num_free(a), 1);
    ck_assert_uint_eq(alloc_largest_free(a), cap);
    ck_assert_int_eq(alloc_validate(a), 0);
    free(shadow);
    alloc_destroy(a);
}
END_TEST

/* 1 GiB plus 100k small objects on a 2 GiB range: metadata only, fast. */
START_TEST(test_alloc_big_and_small)
{
    const uint64_t cap = 2ull << 30;
    alloc *a = alloc_new(cap);
    uint64_t big, big2;
    ck_assert_int_eq(alloc_alloc(a, 1ull << 30, &big), 0);
    enum { N = 100000 };
    uint64_t *offs = malloc(N * sizeof *offs);
    srandom(7);
    uint64_t expect = 1ull << 30;
    for (int i = 0; i < N; i++) {
        uint64_t size = 8 + (uint64_t)(random() % 93);
        ck_assert_int_eq(alloc_alloc(a, size, &offs[i]), 0);
        expect += size <= 64 ? 64 : 128;
        ck_assert_uint_eq(offs[i] % ALLOC_ALIGN, 0);
    }
    ck_assert_uint_eq(alloc_used(a), expect);
    ck_assert_uint_eq(alloc_num_used(a), N + 1);
    /* a second 1 GiB cannot fit beside the small ones */
    ck_assert_int_eq(alloc_alloc(a, 1ull << 30, &big2), -1);
    ck_assert_int_eq(alloc_free(a, big), 0);
    /* free half the small ones in a scattered order, then the rest */
    for (int i = 0; i < N; i += 2)
        ck_assert_int_eq(alloc_free(a, offs[i]), 0);
    ck_assert_int_eq(alloc_alloc(a, 1ull << 30, &big2), 0);
    ck_assert_int_eq(alloc_validate(a), 0);
    for (int i = 1; i < N; i += 2)
        ck_assert_int_eq(alloc_free(a, offs[i]), 0);
    ck_assert_int_eq(alloc_free(a, big2), 0);
    ck_assert_uint_eq(alloc_used(a), 0);
    ck_assert_uint_eq(alloc_num_free(a), 1);
    ck_assert_uint_eq(alloc_largest_free(a), cap);
    free(offs);
    alloc_destroy(a);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_alloc_basic);
    tcase_add_test(tc, test_alloc_exhaustion);
    tcase_add_test(tc, test_alloc_stress_shadow);
    tcase_add_test(tc, test_alloc_big_and_small);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(alloc_suite);
