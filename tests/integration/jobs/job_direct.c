/*
 * job_direct.c — what test_direct.sh asks of direct submission (tasks a
 * driver sends straight to leased workers, docs/direct.md):
 *
 *   many N           N tasks square(i) (they go directly), each result right;
 *                    then a task by REF of one result (through the node), a
 *                    ray_fail task (its message), a ray_get_all of the rest
 *   kill N DIR       N tasks slow_square(i, DIR) of ~0.2 ms; the first run of
 *                    the 10th kills its own worker (SIGKILL) mid-batch; every
 *                    result must still be right; each run appends its index
 *                    to DIR/runs; one task with max_retries 1 that always dies
 *                    gives RAY_EWORKER
 *   remote N         N squares, then a task needing resource "side" (another
 *                    node) gets their results by REF and sums them there
 *   burst T N        T threads each make N square tasks at once (more than a
 *                    shape's held list and its leases take: back-pressure),
 *                    then get them all; every result must be right
 *   spread N         N tasks where() of ~0.3 ms (known short: back-pressure
 *                    applies) while another node has a free CPU: prints how
 *                    many ran on another node than the driver's
 */
#include <ray.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job_check.h"

static int square(ray_task *t, const ray_value *args, size_t nargs)
{
    int64_t x = nargs > 0 ? args[0].as.i : 0;
    return ray_return(t, RAY_I(x * x));
}
RAY_REMOTE(square);

static int fails(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return ray_fail(t, "direct failure %d", 42);
}
RAY_REMOTE(fails);

static int plus_one(ray_task *t, const ray_value *args, size_t nargs)
{
    int64_t x = nargs > 0 ? args[0].as.i : 0;
    return ray_return(t, RAY_I(x + 1));
}
RAY_REMOTE(plus_one);

/* args: i, dir. Appends i to dir/runs; the first run of i == 10 dies. */
static int slow_square(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs < 2)
        return ray_fail(t, "slow_square(i, dir)");
    int64_t i = args[0].as.i;
    const char *dir = args[1].as.buf.ptr;
    char path[512], line[32];
    usleep(200);
    if (i == 10) {
        snprintf(path, sizeof path, "%s/died", dir);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd >= 0) {
            close(fd);
            raise(SIGKILL);
        }
    }
    snprintf(path, sizeof path, "%s/runs", dir);
    int fd = open(path, O_CREAT | O_APPEND | O_WRONLY, 0600);
    int n = snprintf(line, sizeof line, "%lld\n", (long long)i);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        close(fd);
    }
    return ray_return(t, RAY_I(i * i));
}
RAY_REMOTE(slow_square);

static int always_dies(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    raise(SIGKILL);
    return 0;
}
RAY_REMOTE(always_dies);

/* The ID of the node it ran on, after ~0.3 ms of work. */
static int where(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 300000);
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(where);

/* Sum of the INT arguments (REFs resolved by the node), on whatever node. */
static int sum_on_side(ray_task *t, const ray_value *args, size_t nargs)
{
    int64_t s = 0;
    for (size_t i = 0; i < nargs; i++)
        s += args[i].as.i;
    return ray_return(t, RAY_I(s));
}
RAY_REMOTE(sum_on_side);

static int sc_many(int n)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    CHECK(r != NULL, "calloc");
    for (int i = 0; i < n; i++) {
        ray_value a = RAY_I(i);
        CHECK(ray_call("square", &a, 1, NULL, &r[i]) == RAY_OK, "call %d", i);
    }
    for (int i = 0; i < n; i += 2) {
        ray_value v;
        CHECK(ray_get(r[i], 30000, &v) == RAY_OK, "get %d", i);
        CHECK(v.type == RAY_INT && v.as.i == (int64_t)i * i, "square(%d) = %lld", i,
              (long long)v.as.i);
    }
    /* a result of a direct task as the REF argument of a task the node runs */
    ray_value a = RAY_R(r[7]), v;
    ray_ref p;
    CHECK(ray_call("plus_one", &a, 1, NULL, &p) == RAY_OK, "call plus_one");
    CHECK(ray_get(p, 30000, &v) == RAY_OK && v.as.i == 50, "plus_one(square(7)) = %lld",
          (long long)v.as.i);
    /* a failure carries its message */
    ray_ref f;
    CHECK(ray_call("fails", NULL, 0, NULL, &f) == RAY_OK, "call fails");
    int rc = ray_get(f, 30000, &v);
    CHECK(rc == RAY_ETASK && strstr(ray_last_error(), "direct failure 42") &&
              strstr(ray_last_error(), "task fails failed on node"),
          "fails: rc %d, %s", rc, ray_last_error());
    ray_value *all = calloc((size_t)n, sizeof *all);
    CHECK(all && ray_get_all(r, (size_t)n, 30000, all) == RAY_OK, "get_all");
    for (int i = 0; i < n; i++)
        CHECK(all[i].as.i == (int64_t)i * i, "get_all %d", i);
    free(all);
    free(r);
    printf("many ok %d\n", n);
    return 0;
}

static int sc_kill(int n, const char *dir)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    CHECK(r != NULL, "calloc");
    for (int i = 0; i < n; i++) {
        ray_value a[2] = { RAY_I(i), RAY_S(dir) };
        CHECK(ray_call("slow_square", a, 2, NULL, &r[i]) == RAY_OK, "call %d", i);
    }
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(r[i], 60000, &v);
        CHECK(rc == RAY_OK && v.as.i == (int64_t)i * i, "slow_square(%d): rc %d (%s) value %lld",
              i, rc, ray_last_error(), (long long)v.as.i);
    }
    ray_opts o = RAY_OPTS;
    o.max_retries = 1;
    ray_ref d;
    ray_value v;
    CHECK(ray_call("always_dies", NULL, 0, &o, &d) == RAY_OK, "call always_dies");
    int rc = ray_get(d, 60000, &v);
    CHECK(rc == RAY_EWORKER, "always_dies: rc %d (%s)", rc, ray_last_error());
    printf("kill ok %d\n", n);
    free(r);
    return 0;
}

static int sc_remote(int n)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    ray_value *a = calloc((size_t)n, sizeof *a);
    CHECK(r && a, "calloc");
    int64_t want = 0;
    for (int i = 0; i < n; i++) {
        ray_value x = RAY_I(i);
        CHECK(ray_call("square", &x, 1, NULL, &r[i]) == RAY_OK, "call %d", i);
        a[i] = RAY_R(r[i]);
        want += (int64_t)i * i;
    }
    ray_opts o = RAY_OPTS;
    o.resources = "side=1";
    o.num_cpus = 0;
    ray_ref s;
    ray_value v;
    CHECK(ray_call("sum_on_side", a, (size_t)n, &o, &s) == RAY_OK, "call sum_on_side");
    CHECK(ray_get(s, 60000, &v) == RAY_OK && v.as.i == want, "sum on side %lld, want %lld (%s)",
          (long long)v.as.i, (long long)want, ray_last_error());
    printf("remote ok %lld\n", (long long)v.as.i);
    free(r);
    free(a);
    return 0;
}

struct burster {
    int n, first, rc;
    ray_ref *r;
};

static void *burst_main(void *arg)
{
    struct burster *b = arg;
    for (int i = 0; i < b->n && b->rc == 0; i++) {
        ray_value a = RAY_I(b->first + i);
        if (ray_call("square", &a, 1, NULL, &b->r[i]) != RAY_OK)
            b->rc = -1;
    }
    return NULL;
}

static int sc_burst(int nthreads, int n)
{
    CHECK(nthreads >= 1 && nthreads <= 16 && n >= 1, "burst T N: 1 <= T <= 16, N >= 1");
    struct burster b[16];
    pthread_t th[16];
    for (int k = 0; k < nthreads; k++) {
        b[k] = (struct burster){ .n = n, .first = k * n, .r = calloc((size_t)n, sizeof(ray_ref)) };
        CHECK(b[k].r != NULL, "calloc");
        CHECK(pthread_create(&th[k], NULL, burst_main, &b[k]) == 0, "pthread_create");
    }
    for (int k = 0; k < nthreads; k++) {
        pthread_join(th[k], NULL);
        CHECK(b[k].rc == 0, "thread %d: a ray_call failed: %s", k, ray_last_error());
    }
    for (int k = 0; k < nthreads; k++) {
        for (int i = 0; i < n; i++) {
            ray_value v;
            int64_t x = b[k].first + i;
            CHECK(ray_get(b[k].r[i], 60000, &v) == RAY_OK, "get %lld: %s", (long long)x,
                  ray_last_error());
            CHECK(v.type == RAY_INT && v.as.i == x * x, "square(%lld) = %lld", (long long)x,
                  (long long)v.as.i);
        }
        ray_free(b[k].r, (size_t)n);
        free(b[k].r);
    }
    printf("burst ok %d\n", nthreads * n);
    return 0;
}

static int sc_spread(int n)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    CHECK(r != NULL, "calloc");
    for (int i = 0; i < n; i++)
        CHECK(ray_call("where", NULL, 0, NULL, &r[i]) == RAY_OK, "call %d", i);
    int other = 0;
    const char *me = ray_node_id();
    for (int i = 0; i < n; i++) {
        ray_value v;
        CHECK(ray_get(r[i], 60000, &v) == RAY_OK && v.type == RAY_STR, "where %d: %s", i,
              ray_last_error());
        other += v.as.buf.len != strlen(me) || memcmp(v.as.buf.ptr, me, v.as.buf.len) != 0;
        ray_value_release(&v);
    }
    ray_free(r, (size_t)n);
    free(r);
    printf("spread ok %d other %d\n", n, other);
    return 0;
}

int ray_main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "many";
    if (strcmp(s, "many") == 0)
        return sc_many(argc > 2 ? atoi(argv[2]) : 1000);
    if (strcmp(s, "kill") == 0 && argc > 3)
        return sc_kill(atoi(argv[2]), argv[3]);
    if (strcmp(s, "remote") == 0)
        return sc_remote(argc > 2 ? atoi(argv[2]) : 20);
    if (strcmp(s, "burst") == 0 && argc > 3)
        return sc_burst(atoi(argv[2]), atoi(argv[3]));
    if (strcmp(s, "spread") == 0)
        return sc_spread(argc > 2 ? atoi(argv[2]) : 3000);
    fprintf(stderr, "unknown scenario %s\n", s);
    return 2;
}
