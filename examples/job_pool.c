/*
 * job_pool.c — ray_pool: a process pool over actors (Python's
 * multiprocessing.Pool). Squares 0..N-1 on 2 actors, one item failing on
 * purpose, then sums the squares as they come with imap_unordered.
 *
 *   ray submit examples/build/job_pool.so -- 1000
 */
#include <ray.h>
#include <ray_pool.h>
#include <stdio.h>
#include <stdlib.h>

/* Any RAY_REMOTE function can be pooled: one item is its one argument. */
static int square(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "square wants an int");
    if (args[0].as.i == 13)
        return ray_fail(t, "13 is unlucky");
    return ray_return(t, RAY_I(args[0].as.i * args[0].as.i));
}
RAY_REMOTE(square);

int ray_main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    ray_value *items = calloc(n, sizeof *items);
    ray_pool_result *res = calloc(n, sizeof *res);
    ray_pool *pool;
    if (items == NULL || res == NULL)
        return 1;
    for (size_t i = 0; i < n; i++)
        items[i] = RAY_I((int64_t)i);
    if (ray_pool_new(2, NULL, &pool) != RAY_OK) {
        fprintf(stderr, "ray_pool_new: %s\n", ray_last_error());
        return 1;
    }

    /* map: results in item order; failed items do not stop the others */
    int rc = ray_pool_map(pool, "square", items, n, res);
    if (rc != RAY_OK)
        printf("map: %s\n", ray_last_error());
    for (size_t i = 0; i < n; i++)
        if (res[i].status != RAY_OK)
            printf("  item %zu failed: %s\n", res[i].index, res[i].error);
    if (n > 12)
        printf("square(12) = %lld\n", (long long)res[12].value.as.i);
    ray_pool_result_release(res, n);

    /* imap_unordered: results as they finish */
    ray_pool_iter *it;
    long long sum = 0;
    size_t got = 0;
    ray_pool_result r;
    if (ray_pool_imap(pool, "square", items, n, false, &it) == RAY_OK) {
        while (ray_pool_iter_next(it, -1, &r) == RAY_OK) {
            if (r.status == RAY_OK) {
                sum += r.value.as.i;
                got++;
            }
            ray_pool_result_release(&r, 1);
        }
        ray_pool_iter_free(it);
    }
    printf("sum of %zu squares (13 left out) = %lld\n", got, sum);

    ray_pool_close(pool);
    ray_pool_join(pool);
    ray_pool_free(pool);
    free(items);
    free(res);
    return 0;
}
