/*
 * bench_collective.c — the job behind allreduce_gbps (bench/run.sh): four
 * actors in one collective group allreduce a 64 MiB float32 array (SUM).
 * Each measurement times ITERS allreduces between two barriers on every
 * rank and takes the slowest rank's time; the figure is the array's bytes
 * per second of one allreduce (the "algorithm bandwidth" MPI benchmarks
 * print), in GB/s. Prints one JSON line as bench/run.sh's emit does.
 *     ray submit bench_collective.so -- RUNS ITERS [MIB]
 */
#include <ray.h>
#include <ray_collective.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RANKS 4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct bworker {
    float *buf;
    size_t n;
};

static void *bworker_new(ray_task *t, const ray_value *a, size_t n)
{
    struct bworker *w = calloc(1, sizeof *w);
    if (w == NULL || n != 1 || a[0].type != RAY_INT) {
        free(w);
        ray_fail(t, "bworker wants the element count");
        return NULL;
    }
    w->n = (size_t)a[0].as.i;
    w->buf = malloc(w->n * sizeof *w->buf);
    if (w->buf == NULL) {
        free(w);
        ray_fail(t, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < w->n; i++)
        w->buf[i] = 1.0f;
    return w;
}

static void bworker_free(void *self)
{
    struct bworker *w = self;
    if (w)
        free(w->buf);
    free(w);
}

/* run(ITERS): seconds for ITERS allreduces, between barriers; fails with the error. */
static int bworker_run(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct bworker *w = self;
    ray_collective_group *g;
    int rc = ray_collective_group_open("bench", &g);
    if (rc != RAY_OK)
        return ray_fail(t, "open: %s", ray_last_error());
    int iters = (int)a[0].as.i;
    if (n > 1 && a[1].type == RAY_INT)
        ray_collective_set_algorithm(g, (ray_collective_algo)a[1].as.i);
    double t0 = 0;
    if ((rc = ray_collective_barrier(g)) == RAY_OK) {
        t0 = now_s();
        for (int i = 0; i < iters && rc == RAY_OK; i++)
            rc = ray_collective_allreduce(g, w->buf, w->n, RAY_COLL_FLOAT32, RAY_COLL_SUM);
    }
    if (rc == RAY_OK)
        rc = ray_collective_barrier(g);
    double dt = now_s() - t0;
    char err[512];
    snprintf(err, sizeof err, "%s", ray_last_error());
    ray_collective_group_close(g);
    if (rc != RAY_OK)
        return ray_fail(t, "allreduce: %s", err);
    return ray_return(t, RAY_F(dt));
}
RAY_ACTOR(bworker);
RAY_METHOD(bworker, run);

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int ray_main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5, iters = argc > 2 ? atoi(argv[2]) : 3;
    size_t mib = argc > 3 ? (size_t)atoi(argv[3]) : 64, n = mib * 1024 * 1024 / 4;
    int ring = argc > 4 && strcmp(argv[4], "ring") == 0;
    const char *name = ring ? "allreduce_gbps_ring" : "allreduce_gbps";
    ray_actor w[RANKS];
    for (int i = 0; i < RANKS; i++) {
        ray_value arg = RAY_I((int64_t)n);
        if (ray_actor_create("bworker", &arg, 1, NULL, &w[i]) != RAY_OK) {
            printf("{\"benchmark\": \"%s\", \"value\": null, \"unit\": \"GB/s\", "
                   "\"note\": \"actor: %s\"}\n", name, ray_last_error());
            return 1;
        }
    }
    if (ray_collective_create_group(w, RANKS, RANKS, NULL, "bench") != RAY_OK) {
        printf("{\"benchmark\": \"%s\", \"value\": null, \"unit\": \"GB/s\", "
               "\"note\": \"group: %s\"}\n", name, ray_last_error());
        return 1;
    }
    double *gbps = calloc((size_t)runs + 1, sizeof *gbps);
    for (int k = 0; k <= runs; k++) { /* k = 0: the warm-up */
        ray_ref r[RANKS];
        double worst = 0;
        for (int i = 0; i < RANKS; i++) {
            ray_value args[] = { RAY_I(k == 0 ? 1 : iters),
                                 RAY_I(ring ? RAY_COLL_ALGO_RING : RAY_COLL_ALGO_AUTO) };
            ray_actor_call(w[i], "run", args, 2, NULL, &r[i]);
        }
        for (int i = 0; i < RANKS; i++) {
            ray_value v;
            if (ray_get(r[i], 300000, &v) != RAY_OK) {
                printf("{\"benchmark\": \"%s\", \"value\": null, \"unit\": \"GB/s\", "
                       "\"note\": \"%s\"}\n", name, ray_last_error());
                return 1;
            }
            worst = v.as.f > worst ? v.as.f : worst;
        }
        if (k > 0)
            gbps[k - 1] = (double)n * 4 * iters / worst / 1e9;
        fprintf(stderr, "bench: %s run %d: %.3f s for %d x %zu MiB\n", name, k, worst,
                k == 0 ? 1 : iters, mib);
    }
    qsort(gbps, (size_t)runs, sizeof *gbps, cmp_d);
    double med = runs % 2 ? gbps[runs / 2] : (gbps[runs / 2 - 1] + gbps[runs / 2]) / 2;
    printf("{\"benchmark\": \"%s\", \"value\": %.4g, \"unit\": \"GB/s\", \"runs\": %d, "
           "\"min\": %.4g, \"max\": %.4g, \"ranks\": %d, \"mib\": %zu}\n",
           name, med, runs, gbps[0], gbps[runs - 1], RANKS, mib);
    ray_collective_destroy_group("bench");
    return 0;
}
