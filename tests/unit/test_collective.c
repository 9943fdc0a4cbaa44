/*
 * test_collective.c — the collective library's pieces that need no
 * cluster: the reduction kernels (every dtype and op against a plain loop,
 * integer overflow wrapping) and how an array is cut into rank segments.
 */
#include "libs/collective/collective_internal.h"
#include "tests/unit/unit.h"

#include <stdint.h>
#include <string.h>

START_TEST(test_reduce_kernels)
{
    int32_t a32[5] = { 1, -2, 3, 7, INT32_MAX }, b32[5] = { 4, 5, -6, 7, 1 };
    int32_t t[5];
    memcpy(t, a32, sizeof t);
    ck_assert_int_eq(ray_coll_reduce_(t, b32, 5, RAY_COLL_INT32, RAY_COLL_SUM), 0);
    ck_assert_int_eq(t[0], 5);
    ck_assert_int_eq(t[2], -3);
    ck_assert_int_eq(t[4], INT32_MIN); /* wraps, defined */
    memcpy(t, a32, sizeof t);
    ray_coll_reduce_(t, b32, 5, RAY_COLL_INT32, RAY_COLL_PRODUCT);
    ck_assert_int_eq(t[1], -10);
    memcpy(t, a32, sizeof t);
    ray_coll_reduce_(t, b32, 5, RAY_COLL_INT32, RAY_COLL_MIN);
    ck_assert_int_eq(t[0], 1);
    ck_assert_int_eq(t[2], -6);
    memcpy(t, a32, sizeof t);
    ray_coll_reduce_(t, b32, 5, RAY_COLL_INT32, RAY_COLL_MAX);
    ck_assert_int_eq(t[1], 5);
    ck_assert_int_eq(t[4], INT32_MAX);

    int64_t a64[2] = { INT64_MAX, -9 }, b64[2] = { 2, 3 };
    ray_coll_reduce_(a64, b64, 2, RAY_COLL_INT64, RAY_COLL_PRODUCT);
    ck_assert(a64[0] == -2 && a64[1] == -27);

    float f[3] = { 1.5f, -2.0f, 8.0f }, g[3] = { 2.0f, 0.25f, -8.0f };
    ray_coll_reduce_(f, g, 3, RAY_COLL_FLOAT32, RAY_COLL_SUM);
    ck_assert(f[0] == 3.5f && f[1] == -1.75f && f[2] == 0.0f);
    double d[2] = { 3.0, -1.0 }, e[2] = { 0.5, -4.0 };
    ray_coll_reduce_(d, e, 2, RAY_COLL_FLOAT64, RAY_COLL_MIN);
    ck_assert(d[0] == 0.5 && d[1] == -4.0);
    double d2[2] = { 3.0, -1.0 };
    ray_coll_reduce_(d2, e, 2, RAY_COLL_FLOAT64, RAY_COLL_MAX);
    ck_assert(d2[0] == 3.0 && d2[1] == -1.0);
    ray_coll_reduce_(d2, e, 2, RAY_COLL_FLOAT64, RAY_COLL_PRODUCT);
    ck_assert(d2[0] == 1.5 && d2[1] == 4.0);

    ck_assert_int_eq(ray_coll_reduce_(d, e, 2, (ray_collective_dtype)9, RAY_COLL_SUM), -1);
    ck_assert_int_eq(ray_coll_reduce_(d, e, 2, RAY_COLL_FLOAT64, (ray_collective_op)9), -1);
    ck_assert_uint_eq(ray_collective_dtype_size(RAY_COLL_INT32), 4);
    ck_assert_uint_eq(ray_collective_dtype_size(RAY_COLL_FLOAT64), 8);
    ck_assert_uint_eq(ray_collective_dtype_size((ray_collective_dtype)7), 0);
}
END_TEST

START_TEST(test_segments)
{
    size_t counts[] = { 0, 1, 3, 4, 5, 1003, (size_t)1 << 24 };
    int worlds[] = { 1, 2, 3, 4, 7 };
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (size_t w = 0; w < sizeof worlds / sizeof worlds[0]; w++) {
            size_t next = 0, mn = SIZE_MAX, mx = 0;
            for (int i = 0; i < worlds[w]; i++) {
                size_t lo, hi;
                ray_coll_segment_(counts[c], worlds[w], i, &lo, &hi);
                ck_assert_uint_eq(lo, next); /* contiguous, in order */
                ck_assert_uint_ge(hi, lo);
                mn = hi - lo < mn ? hi - lo : mn;
                mx = hi - lo > mx ? hi - lo : mx;
                next = hi;
            }
            ck_assert_uint_eq(next, counts[c]); /* covers the array */
            ck_assert_uint_le(mx - mn, 1);      /* balanced */
        }
}
END_TEST

UNIT_SIMPLE_SUITE(collective_suite, "collective", "kernels", test_reduce_kernels, test_segments);
