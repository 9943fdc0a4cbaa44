/*
 * bench_job.c — the job library the benchmark driver loads into its workers:
 * a no-op task, a one-method no-op actor, and a task that makes a big BYTES
 * object (for the cross-node transfer benchmark). Built by bench/run.sh with
 *     cc -shared -fPIC -O2 -Iinclude bench/bench_job.c -o build/bench/bench_job.so
 * It links nothing; its ray_* symbols resolve in the process that loads it.
 */
#include <ray.h>
#include <stdlib.h>
#include <string.h>

/* noop(): returns nothing, so its one return object is NIL. */
static int noop(ray_task *t, const ray_value *args, size_t nargs)
{
    return 0;
}
RAY_REMOTE(noop);

/* make_bytes(len): returns a BYTES object of LEN bytes written in place
 * (every page touched, so the producer node really holds it). */
static int make_bytes(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT || args[0].as.i <= 0)
        return ray_fail(t, "make_bytes wants one positive int");
    void *p;
    int rc = ray_return_alloc(t, (size_t)args[0].as.i, &p);
    if (rc != RAY_OK)
        return ray_fail(t, "ray_return_alloc: %s", ray_strerror(rc));
    memset(p, 0x5a, (size_t)args[0].as.i);
    return 0;
}
RAY_REMOTE(make_bytes);

/* node_of(): the hex ID of the node it ran on (checks where pinned tasks go). */
static int node_of(ray_task *t, const ray_value *args, size_t nargs)
{
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(node_of);

/* Actor "bactor": no state worth the name; method noop returns nothing. */
typedef struct { int64_t calls; } bactor;

static void *bactor_new(ray_task *t, const ray_value *args, size_t nargs)
{
    return calloc(1, sizeof(bactor));
}
static void bactor_free(void *self)
{
    free(self);
}
static int bactor_noop(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    ((bactor *)self)->calls++;
    return 0;
}
RAY_ACTOR(bactor);
RAY_METHOD(bactor, noop);
