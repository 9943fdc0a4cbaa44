/*
 * job_xnode_actor.c — a repro for the core (not yet in a test): an actor on
 * node B calls an actor on node A and ray_gets the answer. Today that get
 * times out, while a task on node B doing the same succeeds. Tune's trials
 * (actors) report to their controller (an actor on the driver's node) this
 * way, so trials on another node hang. Run on a head plus a second node
 * started with --resources '{"tune_node": 4}':
 *
 *   ray submit build/jobs/job_xnode_actor.so
 *   -> actor relay from node B: success / task relay from node B: success
 */
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>

static void *xa_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t, (void)a, (void)n;
    return calloc(1, 8);
}
static void xa_free(void *s)
{
    free(s);
}
static int xa_ping(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)s, (void)a, (void)n;
    return ray_return(t, RAY_I(7));
}
/* relay(actor): call actor.ping and wait 5 s for its answer */
static int xa_relay(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)s;
    ray_ref r;
    ray_value v;
    if (n != 1 || a[0].type != RAY_ACTOR)
        return ray_fail(t, "relay wants an actor");
    int rc = ray_actor_call(a[0].as.actor, "ping", NULL, 0, NULL, &r);
    if (rc != RAY_OK)
        return ray_fail(t, "call: %s", ray_last_error());
    if ((rc = ray_get(r, 5000, &v)) != RAY_OK)
        return ray_fail(t, "get: %s", ray_last_error());
    return ray_return(t, v);
}
RAY_ACTOR(xa);
RAY_METHOD(xa, ping);
RAY_METHOD(xa, relay);

static int task_relay(ray_task *t, const ray_value *a, size_t n)
{
    return xa_relay(NULL, t, a, n);
}
RAY_REMOTE(task_relay);

int ray_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    ray_actor here, there;
    ray_opts o = RAY_ACTOR_OPTS, ob = RAY_ACTOR_OPTS, tb = RAY_OPTS;
    ob.resources = tb.resources = "tune_node=1";
    tb.num_cpus = 0;
    if (ray_actor_create("xa", NULL, 0, &o, &here) != RAY_OK ||
        ray_actor_create("xa", NULL, 0, &ob, &there) != RAY_OK)
        return printf("create: %s\n", ray_last_error()), 1;
    ray_value arg = RAY_A(here), v;
    ray_ref r;
    ray_actor_call(there, "relay", &arg, 1, NULL, &r);
    int rc = ray_get(r, 15000, &v);
    printf("actor relay from node B: %s %s\n", ray_strerror(rc), rc ? ray_last_error() : "");
    ray_call("task_relay", &arg, 1, &tb, &r);
    rc = ray_get(r, 15000, &v);
    printf("task relay from node B: %s %s\n", ray_strerror(rc), rc ? ray_last_error() : "");
    return 0;
}
