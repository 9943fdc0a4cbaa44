/*
 * job_restart.c — the functions tests/tools/restart_driver.c runs across a
 * head or Redis restart (test_head_restart, test_redis_restart): an actor
 * that counts (its state must survive the restart: its worker keeps
 * running) and a task that doubles its argument (tasks made during the
 * outage must all come back).
 */
#include <ray.h>
#include <stdint.h>
#include <stdlib.h>

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

int ray_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    return 0;
}
