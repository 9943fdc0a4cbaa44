/*
 * job_squares.c — the seed's first program: f(x) = x * x on ten tasks, then
 * the sum of the results.
 *
 *   ray submit examples/build/job_squares.so -- 10
 */
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>

static int square(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "square wants one int");
    return ray_return(t, RAY_I(args[0].as.i * args[0].as.i));
}
RAY_REMOTE(square);

int ray_main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    if (n <= 0 || n > 100000) {
        fprintf(stderr, "usage: job_squares.so [-- N]\n");
        return 2;
    }
    ray_ref *refs = calloc((size_t)n, sizeof *refs);
    for (int i = 0; i < n; i++) {
        ray_value arg = RAY_I(i);
        if (ray_call("square", &arg, 1, NULL, &refs[i]) != RAY_OK) {
            fprintf(stderr, "ray_call: %s\n", ray_last_error());
            return 1;
        }
    }
    long long sum = 0;
    printf("squares:");
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(refs[i], -1, &v);
        if (rc != RAY_OK) {
            fprintf(stderr, "ray_get: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        printf(" %lld", (long long)v.as.i);
        sum += v.as.i;
    }
    printf("\nsum of squares below %d: %lld\n", n, sum);
    free(refs);
    return 0;
}
