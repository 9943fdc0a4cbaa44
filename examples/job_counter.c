/*
 * job_counter.c — the counter actor: state that lives in one worker, calls
 * run in the order they are made.
 *
 *   ray submit examples/build/job_counter.so -- 5
 */
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { int64_t value; } counter;

static void *counter_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    counter *c = calloc(1, sizeof *c);
    if (c && nargs > 0 && args[0].type == RAY_INT)
        c->value = args[0].as.i;
    return c;
}

static void counter_free(void *self)
{
    free(self);
}

static int counter_incr(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    counter *c = self;
    c->value += nargs > 0 && args[0].type == RAY_INT ? args[0].as.i : 1;
    return ray_return(t, RAY_I(c->value));
}

static int counter_read(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(((counter *)self)->value));
}

RAY_ACTOR(counter);
RAY_METHOD(counter, incr);
RAY_METHOD(counter, read);

int ray_main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    ray_actor c;
    ray_value start = RAY_I(100);
    if (ray_actor_create("counter", &start, 1, NULL, &c) != RAY_OK) {
        fprintf(stderr, "ray_actor_create: %s\n", ray_last_error());
        return 1;
    }
    ray_ref last;
    for (int i = 0; i < n; i++)
        if (ray_actor_call(c, "incr", NULL, 0, NULL, &last) != RAY_OK) {
            fprintf(stderr, "ray_actor_call: %s\n", ray_last_error());
            return 1;
        }
    ray_value v;
    if (ray_get(last, -1, &v) != RAY_OK) {
        fprintf(stderr, "ray_get: %s\n", ray_last_error());
        return 1;
    }
    printf("counter after %d increments from 100: %lld\n", n, (long long)v.as.i);
    return v.as.i == 100 + n ? 0 : 1;
}
