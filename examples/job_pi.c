/*
 * job_pi.c — a Monte-Carlo estimate of pi over many tasks: each task throws
 * darts at the unit square and counts those inside the quarter circle.
 *
 *   ray submit examples/build/job_pi.so -- [TASKS [SAMPLES_PER_TASK]]
 */
#include <ray.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int sample(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 2 || args[0].type != RAY_INT || args[1].type != RAY_INT)
        return ray_fail(t, "sample wants (seed, samples)");
    uint64_t s = (uint64_t)args[0].as.i * 0x9e3779b97f4a7c15ull + 1;
    int64_t inside = 0, n = args[1].as.i;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)(xorshift(&s) >> 11) / 9007199254740992.0;
        double y = (double)(xorshift(&s) >> 11) / 9007199254740992.0;
        inside += x * x + y * y <= 1.0;
    }
    return ray_return(t, RAY_I(inside));
}
RAY_REMOTE(sample);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int ray_main(int argc, char **argv)
{
    int tasks = argc > 1 ? atoi(argv[1]) : 1000;
    long long per = argc > 2 ? atoll(argv[2]) : 10000;
    if (tasks <= 0 || per <= 0) {
        fprintf(stderr, "usage: job_pi.so [-- TASKS [SAMPLES_PER_TASK]]\n");
        return 2;
    }
    ray_ref *refs = calloc((size_t)tasks, sizeof *refs);
    double t0 = now();
    for (int i = 0; i < tasks; i++) {
        ray_value args[] = { RAY_I(i + 1), RAY_I(per) };
        if (ray_call("sample", args, 2, NULL, &refs[i]) != RAY_OK) {
            fprintf(stderr, "ray_call: %s\n", ray_last_error());
            return 1;
        }
    }
    long long inside = 0;
    for (int i = 0; i < tasks; i++) {
        ray_value v;
        int rc = ray_get(refs[i], -1, &v);
        if (rc != RAY_OK) {
            fprintf(stderr, "ray_get: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        inside += v.as.i;
    }
    double secs = now() - t0;
    double pi = 4.0 * (double)inside / ((double)tasks * (double)per);
    printf("pi is about %.6f (%d tasks x %lld samples)\n", pi, tasks, per);
    printf("%d tasks in %.3f s: %.0f tasks/s\n", tasks, secs, tasks / secs);
    free(refs);
    return pi > 3.0 && pi < 3.3 ? 0 : 1;
}
