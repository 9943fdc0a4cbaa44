/*
 * test_populate.c — the per-process populate map (common/populate.h): a
 * chunk wholly inside a range is handed out once, the partial chunks at a
 * range's ends every time, neighbouring gaps merge, too many gaps fold into
 * the last range, a reset forgets every claim; populate_range really maps a
 * shared-memory range's pages (mincore says they are resident after).
 */
#include "common/populate.h"
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define C POPULATE_CHUNK

START_TEST(test_populate_claims_once)
{
    struct populate_map *m = populate_map_new(64 * C);
    ck_assert_ptr_nonnull(m);
    uint64_t o[8], l[8];
    /* chunks 2..5 whole, plus half of 1 and half of 6 */
    int n = populate_claim(m, C + C / 2, 5 * C, o, l, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(o[0], C + C / 2);
    ck_assert_uint_eq(l[0], 5 * C);
    /* again: only the two partial edges are left */
    n = populate_claim(m, C + C / 2, 5 * C, o, l, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(o[0], C + C / 2);
    ck_assert_uint_eq(l[0], C / 2);
    ck_assert_uint_eq(o[1], 6 * C);
    ck_assert_uint_eq(l[1], C / 2);
    /* an aligned range over claimed and new chunks: only the new ones */
    n = populate_claim(m, 0, 8 * C, o, l, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(o[0], 0);
    ck_assert_uint_eq(l[0], 2 * C);
    ck_assert_uint_eq(o[1], 6 * C);
    ck_assert_uint_eq(l[1], 2 * C);
    ck_assert_int_eq(populate_claim(m, 0, 8 * C, o, l, 8), 0);
    /* smaller than a chunk: always all of it */
    ck_assert_int_eq(populate_claim(m, 10, 100, o, l, 8), 1);
    ck_assert_uint_eq(o[0], 10);
    ck_assert_uint_eq(l[0], 100);
    populate_map_reset(m);
    ck_assert_int_eq(populate_claim(m, 0, 8 * C, o, l, 8), 1);
    ck_assert_uint_eq(l[0], 8 * C);
    populate_map_free(m);
}
END_TEST

START_TEST(test_populate_many_gaps_fold)
{
    struct populate_map *m = populate_map_new(64 * C);
    uint64_t o[8], l[8];
    for (int i = 0; i < 32; i += 2) /* claim every other chunk */
        ck_assert_int_eq(populate_claim(m, (uint64_t)i * C, C, o, l, 8), 1);
    int n = populate_claim(m, 0, 32 * C, o, l, 3);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(o[0], 1 * C);
    ck_assert_uint_eq(l[0], C);
    ck_assert_uint_eq(o[1], 3 * C);
    ck_assert_uint_eq(o[2], 5 * C);
    ck_assert_uint_eq(o[2] + l[2], 32 * C); /* the last range runs to the end */
    /* a map of NULL (out of memory) populates everything */
    ck_assert_int_eq(populate_claim(NULL, 0, 32 * C, o, l, 8), 1);
    ck_assert_uint_eq(l[0], 32 * C);
    /* past the map's end: claimed chunks stop at its size, the rest is returned */
    ck_assert_int_eq(populate_claim(m, 62 * C, 4 * C, o, l, 8), 1);
    ck_assert_uint_eq(o[0], 62 * C);
    ck_assert_uint_eq(l[0], 4 * C);
    populate_map_free(m);
}
END_TEST

START_TEST(test_populate_range_maps_pages)
{
    size_t len = 4u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    int fd = memfd_create("test_populate", 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    unsigned char *vec = calloc(len / page, 1);
    ck_assert_int_eq(mincore(p, len, vec), 0);
    size_t before = 0;
    for (size_t i = 0; i < len / page; i++)
        before += vec[i] & 1;
    ck_assert_uint_eq(before, 0);
    if (populate_range(p, page + 10, 2u << 20, 1u << 20) == 0) { /* kernels from 5.14 */
        ck_assert_int_eq(mincore(p, len, vec), 0);
        for (size_t i = 0; i < len / page; i++) {
            int want = i >= 1 && i <= (page + 10 + (2u << 20) - 1) / page;
            ck_assert_int_eq(vec[i] & 1, want);
        }
    }
    free(vec);
    munmap(p, len);
    close(fd);
}
END_TEST

static Suite *populate_suite(void)
{
    Suite *s = suite_create("populate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_populate_claims_once);
    tcase_add_test(tc, test_populate_many_gaps_fold);
    tcase_add_test(tc, test_populate_range_maps_pages);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(populate_suite);
