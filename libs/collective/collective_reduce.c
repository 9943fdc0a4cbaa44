/*
 * collective_reduce.c — the element-wise reductions behind allreduce,
 * reduce and reducescatter (SUM, PRODUCT, MIN, MAX over int32, int64,
 * float32, float64), and how an array is cut into one segment per rank.
 * Plain loops the compiler vectorises; no runtime calls, so the unit tests
 * check them alone.
 */
#include "libs/collective/collective_internal.h"

#include <stdint.h>
#include <string.h>

size_t ray_collective_dtype_size(ray_collective_dtype dt)
{
    switch (dt) {
    case RAY_COLL_INT32:
    case RAY_COLL_FLOAT32:
        return 4;
    case RAY_COLL_INT64:
    case RAY_COLL_FLOAT64:
        return 8;
    }
    return 0;
}

#define KERNEL(name, T, EXPR)                                                    \
    static void name(void *dst_, const void *src_, size_t n)                   \
    {                                                                          \
        T *restrict d = dst_;                                                  \
        const T *restrict s = src_;                                            \
        for (size_t i = 0; i < n; i++) {                                       \
            T a = d[i], b = s[i];                                              \
            d[i] = (EXPR);                                                     \
        }                                                                      \
    }
#define KERNELS(sfx, T)                                                        \
    KERNEL(sum_##sfx, T, a + b)                                                \
    KERNEL(prod_##sfx, T, a * b)                                               \
    KERNEL(min_##sfx, T, b < a ? b : a)                                        \
    KERNEL(max_##sfx, T, b > a ? b : a)
/* integer SUM and PRODUCT wrap around (as MPI's do in practice): done in
 * unsigned arithmetic so the overflow is defined */
KERNEL(sum_i32, int32_t, (int32_t)((uint32_t)a + (uint32_t)b))
KERNEL(prod_i32, int32_t, (int32_t)((uint32_t)a * (uint32_t)b))
KERNEL(min_i32, int32_t, b < a ? b : a)
KERNEL(max_i32, int32_t, b > a ? b : a)
KERNEL(sum_i64, int64_t, (int64_t)((uint64_t)a + (uint64_t)b))
KERNEL(prod_i64, int64_t, (int64_t)((uint64_t)a * (uint64_t)b))
KERNEL(min_i64, int64_t, b < a ? b : a)
KERNEL(max_i64, int64_t, b > a ? b : a)
KERNELS(f32, float)
KERNELS(f64, double)

typedef void (*kernel_fn)(void *, const void *, size_t);
static const kernel_fn kernels[4][4] = {
    /* SUM, PRODUCT, MIN, MAX */
    [RAY_COLL_INT32] = { sum_i32, prod_i32, min_i32, max_i32 },
    [RAY_COLL_INT64] = { sum_i64, prod_i64, min_i64, max_i64 },
    [RAY_COLL_FLOAT32] = { sum_f32, prod_f32, min_f32, max_f32 },
    [RAY_COLL_FLOAT64] = { sum_f64, prod_f64, min_f64, max_f64 },
};

int ray_coll_reduce_(void *dst, const void *src, size_t n, ray_collective_dtype dt,
                     ray_collective_op op)
{
    if ((unsigned)dt > RAY_COLL_FLOAT64 || (unsigned)op > RAY_COLL_MAX)
        return -1;
    kernels[dt][op](dst, src, n);
    return 0;
}

void ray_coll_segment_(size_t count, int n, int i, size_t *lo, size_t *hi)
{
    size_t base = count / (size_t)n, extra = count % (size_t)n, ui = (size_t)i;
    *lo = ui * base + (ui < extra ? ui : extra);
    *hi = *lo + base + (ui < extra ? 1 : 0);
}
