/*
 * job_recursion.c — deep and wide trees of nested tasks, for
 * test_recursion.sh (SPEC section 2: "recursive tasks never deadlock a small
 * node"). Every task of a tree waits in ray_get for its children, so a tree
 * has as many blocked ancestors as it is deep.
 *
 *   ray submit job_recursion.so -- chain N     a chain of N nested tasks
 *   ray submit job_recursion.so -- fib N       fib(N) by two nested calls each
 *   ray submit job_recursion.so -- wide N      N children at once, each a chain of 50
 *   ray submit job_recursion.so -- cap         a task behind an actor that holds the
 *                                              node's only worker process (--max-workers 1)
 *   ray submit job_recursion.so -- actors N K  N actors on a node capped at K workers:
 *                                              K answer, the rest wait until K are killed
 *
 * Each prints its result and returns 0 when it is right.
 */
#include <ray.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int chain(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "chain wants an int");
    int64_t n = args[0].as.i;
    if (n <= 0)
        return ray_return(t, RAY_I(0));
    ray_value a = RAY_I(n - 1);
    ray_ref r;
    ray_value v;
    if (ray_call("chain", &a, 1, NULL, &r) != RAY_OK || ray_get(r, -1, &v) != RAY_OK)
        return ray_fail(t, "chain(%lld): %s", (long long)n, ray_last_error());
    return ray_return(t, RAY_I(v.as.i + 1));
}
RAY_REMOTE(chain);

static int fib(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "fib wants an int");
    int64_t n = args[0].as.i;
    if (n < 2)
        return ray_return(t, RAY_I(n));
    ray_value a[2] = { RAY_I(n - 1), RAY_I(n - 2) };
    ray_ref r[2];
    ray_value v[2];
    if (ray_call("fib", &a[0], 1, NULL, &r[0]) != RAY_OK ||
        ray_call("fib", &a[1], 1, NULL, &r[1]) != RAY_OK || ray_get_all(r, 2, -1, v) != RAY_OK)
        return ray_fail(t, "fib(%lld): %s", (long long)n, ray_last_error());
    return ray_return(t, RAY_I(v[0].as.i + v[1].as.i));
}
RAY_REMOTE(fib);

/* N chains of 50 at once, then their sum. */
static int wide(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "wide wants an int");
    int64_t n = args[0].as.i;
    ray_ref *r = calloc((size_t)n, sizeof *r);
    ray_value *v = calloc((size_t)n, sizeof *v);
    ray_value fifty = RAY_I(50);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++)
        if (ray_call("chain", &fifty, 1, NULL, &r[i]) != RAY_OK)
            return ray_fail(t, "wide: %s", ray_last_error());
    if (ray_get_all(r, (size_t)n, -1, v) != RAY_OK)
        return ray_fail(t, "wide: %s", ray_last_error());
    for (int64_t i = 0; i < n; i++)
        sum += v[i].as.i;
    free(r);
    free(v);
    return ray_return(t, RAY_I(sum));
}
RAY_REMOTE(wide);

static int one(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(1));
}
RAY_REMOTE(one);

struct holder { int x; };
static void *holder_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    return calloc(1, sizeof(struct holder));
}
static void holder_free(void *self) { free(self); }
RAY_ACTOR(holder);
static int holder_ping(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(7));
}
RAY_METHOD(holder, ping);

int ray_main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "cap") == 0) {
        /* the actor takes the node's only worker process: the task waits */
        ray_actor h;
        ray_ref r;
        ray_value v;
        if (ray_actor_create("holder", NULL, 0, NULL, &h) != RAY_OK ||
            ray_actor_call(h, "ping", NULL, 0, NULL, &r) != RAY_OK || ray_get(r, 60000, &v) != RAY_OK)
            return 1;
        if (ray_call("one", NULL, 0, NULL, &r) != RAY_OK)
            return 1;
        int rc = ray_get(r, 3000, &v);
        printf("task behind the cap: %s\n", rc == RAY_ETIMEOUT ? "waits" : "ran");
        fflush(stdout);
        sleep(3); /* long enough for `ray status` to be read */
        ray_actor_kill(h, true);
        rc = ray_get(r, 60000, &v);
        printf("after the actor is gone: %s\n", rc == RAY_OK ? "ran" : ray_last_error());
        return rc == RAY_OK ? 0 : 1;
    }
    if (strcmp(argv[1], "actors") == 0 && argc >= 4) {
        int n = atoi(argv[2]), k = atoi(argv[3]);
        ray_actor *h = calloc((size_t)n, sizeof *h);
        ray_ref *r = calloc((size_t)n, sizeof *r);
        bool *ready = calloc((size_t)n, sizeof *ready);
        for (int i = 0; i < n; i++)
            if (ray_actor_create("holder", NULL, 0, NULL, &h[i]) != RAY_OK ||
                ray_actor_call(h[i], "ping", NULL, 0, NULL, &r[i]) != RAY_OK)
                return 1;
        int got = ray_wait(r, (size_t)n, (size_t)n, 4000, ready);
        printf("%d of %d actors answered\n", got, n);
        fflush(stdout);
        sleep(3); /* long enough for `ray status` and `ray list actors` */
        for (int i = 0; i < n && k > 0; i++)
            if (ready[i]) {
                ray_actor_kill(h[i], true);
                k--;
            }
        ray_value v;
        for (int i = 0; i < n; i++)
            if (!ready[i] && ray_get(r[i], 60000, &v) != RAY_OK) {
                fprintf(stderr, "actor %d: %s\n", i, ray_last_error());
                return 1;
            }
        printf("the waiting actors answered once others were killed\n");
        return 0;
    }
    if (argc < 3)
        return 2;
    int64_t n = strtoll(argv[2], NULL, 10);
    int64_t want = -1;
    if (strcmp(argv[1], "chain") == 0)
        want = n;
    else if (strcmp(argv[1], "wide") == 0)
        want = 50 * n;
    else if (strcmp(argv[1], "fib") == 0) {
        int64_t a = 0, b = 1;
        for (int64_t i = 0; i < n; i++) {
            int64_t c = a + b;
            a = b;
            b = c;
        }
        want = a;
    }
    ray_value a = RAY_I(n);
    ray_ref r;
    ray_value v;
    if (ray_call(argv[1], &a, 1, NULL, &r) != RAY_OK || ray_get(r, 240000, &v) != RAY_OK) {
        fprintf(stderr, "%s(%lld): %s\n", argv[1], (long long)n, ray_last_error());
        return 1;
    }
    printf("%s(%lld) = %lld\n", argv[1], (long long)n, (long long)v.as.i);
    return v.as.i == want ? 0 : 1;
}
