/*
 * job_values.c — job library of test_values.sh: bad call options are
 * refused in the caller without hurting the connection, and compound values
 * (lists and maps) travel through ray_put/ray_get, task arguments, returns
 * and actor calls.
 *
 *   ray submit job_values.so -- SCENARIO
 *
 * Each scenario prints what it checked and returns 0 when all is well,
 * non-zero otherwise (the reason on stderr).
 */
#include <ray.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "CHECK FAILED %s:%d: ", __FILE__, __LINE__);     \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, " [last error: %s]\n", ray_last_error());        \
            return 1;                                                        \
        }                                                                    \
    } while (0)

static int add(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 2 || args[0].type != RAY_INT || args[1].type != RAY_INT)
        return ray_fail(t, "add wants two ints");
    return ray_return(t, RAY_I(args[0].as.i + args[1].as.i));
}
RAY_REMOTE(add);

struct counter { int64_t n; };
static void *counter_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    return calloc(1, sizeof(struct counter));
}
static void counter_free(void *self)
{
    free(self);
}
static int counter_incr(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct counter *c = self;
    c->n += nargs == 1 && args[0].type == RAY_INT ? args[0].as.i : 1;
    return ray_return(t, RAY_I(c->n));
}
RAY_ACTOR(counter);
RAY_METHOD(counter, incr);

/* ---------------------------------------------------------- bad options */

/* One bad option: every call that takes options refuses it with RAY_EINVAL
 * and a message containing WANT, and nothing is sent. */
static int refuse(const char *desc, ray_opts o, const char *want)
{
    ray_value args[] = { RAY_I(1), RAY_I(2) };
    ray_ref r;
    ray_actor a;
    int rc = ray_call("add", args, 2, &o, &r);
    CHECK(rc == RAY_EINVAL, "%s: ray_call gave %d", desc, rc);
    CHECK(strstr(ray_last_error(), want) != NULL, "%s: ray_call said '%s', want '%s'", desc,
          ray_last_error(), want);
    ray_opts ao = o;
    ao.num_cpus = o.num_cpus == 1 ? 0 : o.num_cpus; /* actors hold 0 CPU by default */
    rc = ray_actor_create("counter", NULL, 0, &ao, &a);
    CHECK(rc == RAY_EINVAL, "%s: ray_actor_create gave %d", desc, rc);
    CHECK(strstr(ray_last_error(), want) != NULL, "%s: ray_actor_create said '%s'", desc,
          ray_last_error());
    printf("refused %-24s %s\n", desc, ray_last_error());
    return 0;
}

static int sc_bad_resources(void)
{
    static const struct { const char *res, *want; } bad[] = {
        { "CPU", "resources \"CPU\": expected name=amount, got 'CPU'" },
        { "foo=abc", "resources \"foo=abc\": amount of 'foo' is not a number" },
        { "foo=-1", "resources \"foo=-1\": amount of 'foo' must not be negative" },
        { "=3", "resources \"=3\": empty resource name" },
        { "foo=1,foo=2", "duplicate resource 'foo'" },
        { "foo=1e3", "amount of 'foo' is not a number" },
        { "{\"a\": 1", "expected ',' or '}'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ray_opts o = RAY_OPTS;
        o.resources = bad[i].res;
        if (refuse(bad[i].res, o, bad[i].want))
            return 1;
    }
    static const struct { const char *desc; double cpu, gpu, mem; const char *want; } amounts[] = {
        { "num_cpus=-1", -1, 0, 0, "num_cpus must be" },
        { "num_cpus=NaN", NAN, 0, 0, "num_cpus must be" },
        { "num_cpus=1e7", 1e7, 0, 0, "num_cpus must be" },
        { "num_gpus=-0.5", 1, -0.5, 0, "num_gpus must be" },
        { "num_gpus=inf", 1, INFINITY, 0, "num_gpus must be" },
        { "memory=-1", 1, 0, -1, "memory must be" },
        { "memory=NaN", 1, 0, NAN, "memory must be" },
        { "memory=1e20", 1, 0, 1e20, "memory must be" },
    };
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        ray_opts o = RAY_OPTS;
        o.num_cpus = amounts[i].cpu;
        o.num_gpus = amounts[i].gpu;
        o.memory = amounts[i].mem;
        if (refuse(amounts[i].desc, o, amounts[i].want))
            return 1;
    }
    /* actor calls check their options too */
    ray_actor a;
    CHECK(ray_actor_create("counter", NULL, 0, NULL, &a) == RAY_OK, "create counter");
    ray_opts o = RAY_OPTS;
    o.resources = "foo=abc";
    ray_ref r;
    CHECK(ray_actor_call(a, "incr", NULL, 0, &o, &r) == RAY_EINVAL, "actor call with bad res");
    CHECK(strstr(ray_last_error(), "amount of 'foo' is not a number"), "actor call message");

    /* the connection is fine: a normal call, a good resource string, the actor */
    ray_value args[] = { RAY_I(20), RAY_I(22) };
    ray_value v;
    CHECK(ray_call("add", args, 2, NULL, &r) == RAY_OK, "normal call");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_INT && v.as.i == 42, "normal get");
    o = RAY_OPTS;
    o.resources = " CPU = 0.5 , {}";
    CHECK(ray_call("add", args, 2, &o, &r) == RAY_EINVAL, "a JSON object after pairs");
    o.resources = "{\"CPU\": 0.5}";
    CHECK(ray_call("add", args, 2, &o, &r) == RAY_OK, "JSON resources");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 42, "get with JSON resources");
    CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK, "actor call");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 1, "actor call result");
    printf("after the refusals: add(20, 22) = 42, counter.incr() = 1\n");
    return 0;
}

int ray_main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "bad_resources";
    if (strcmp(s, "bad_resources") == 0)
        return sc_bad_resources();
    fprintf(stderr, "unknown scenario %s\n", s);
    return 2;
}
