/*
 * job_restart.c — the functions tests/tools/restart_driver.c runs across a
 * head or Redis restart (test_head_restart, test_redis_restart): an actor
 * that counts (its state must survive the restart: its worker keeps
 * running) and a task that doubles its argument (tasks made during the
 * outage must all come back); a task that naps (work that keeps running
 * on another node while its driver's node is down: test_driver_reconnect),
 * and, as `ray submit`'s job, a loop of such tasks across a head restart.
 */
#include <ray.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int64_t n; } keeper;

static void *keeper_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t, (void)a, (void)n;
    return calloc(1, sizeof(keeper));
}
static void keeper_free(void *s)
{
    free(s);
}
static int keeper_incr(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)a, (void)n;
    keeper *k = s;
    return ray_return(t, RAY_I(++k->n));
}
RAY_ACTOR(keeper);
RAY_METHOD(keeper, incr);

static int twice(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 1 || a[0].type != RAY_INT)
        return ray_fail(t, "twice wants one int");
    return ray_return(t, RAY_I(2 * a[0].as.i));
}
RAY_REMOTE(twice);

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* nap(MS, I[, BYTES]): sleeps MS ms, returns 3 * I, or BYTES bytes of
 * the letter 'a' + I % 26 when BYTES > 0 (a value kept in the store). */
static int nap(ray_task *t, const ray_value *a, size_t n)
{
    if (n < 2 || a[0].type != RAY_INT || a[1].type != RAY_INT)
        return ray_fail(t, "nap wants (ms, i[, bytes])");
    sleep_ms((long)a[0].as.i);
    int64_t bytes = n > 2 && a[2].type == RAY_INT ? a[2].as.i : 0;
    if (bytes <= 0)
        return ray_return(t, RAY_I(3 * a[1].as.i));
    char *s = malloc((size_t)bytes);
    if (s == NULL)
        return ray_fail(t, "out of memory");
    memset(s, 'a' + (int)(a[1].as.i % 26), (size_t)bytes);
    int rc = ray_return(t, RAY_BYTES_V(s, (size_t)bytes));
    free(s);
    return rc;
}
RAY_REMOTE(nap);

/* `ray submit job_restart.so across SECONDS RESOURCES`: one nap of 300 ms
 * on a node with RESOURCES at a time for SECONDS, each result checked,
 * then "across steps=N bad=B". */
int ray_main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "across") != 0)
        return 0;
    double secs = atof(argv[2]);
    ray_opts o = RAY_OPTS;
    o.resources = argc > 3 ? argv[3] : NULL;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long steps = 0, bad = 0;
    for (int64_t i = 1;; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) >= secs)
            break;
        ray_value args[2] = { RAY_I(300), RAY_I(i) }, v;
        ray_ref r;
        int rc = ray_call("nap", args, 2, &o, &r);
        if (rc == RAY_OK)
            rc = ray_get(r, 90000, &v);
        if (rc != RAY_OK) {
            printf("step %lld: %s: %s\n", (long long)i, ray_strerror(rc), ray_last_error());
            bad++;
            continue;
        }
        if (v.as.i != 3 * i)
            bad++;
        steps++;
        printf("step %lld = %lld\n", (long long)i, (long long)v.as.i);
        fflush(stdout);
        ray_value_release(&v);
    }
    printf("across steps=%ld bad=%ld\n", steps, bad);
    return bad ? 1 : 0;
}
