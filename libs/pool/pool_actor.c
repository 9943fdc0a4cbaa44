/*
 * pool_actor.c — the actor class every pool starts ("ray_pool_actor"). Its
 * one method, run(fn, count, items), runs the job's RAY_REMOTE function FN
 * over COUNT items in this process (ray_task_local_run, one local context
 * reused), and returns all outcomes as one BYTES value of result records
 * (pool_internal.h). An item's failure is a record, not the call's: the
 * call fails only when its arguments are not a chunk or FN is unknown here.
 * RAY_REF arguments are fetched (ray_get) for the item and released after.
 */
#include "libs/pool/pool_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ray_pool_actor_class_[] = "ray_pool_actor";

#define MAX_ITEM_ARGS 64

struct pool_actor {
    ray_task *lt;   /* the local context items run in */
    char fn[128];   /* the function looked up last ... */
    ray_fn f;       /* ... and what it resolved to */
};

static void *ray_pool_actor_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    struct pool_actor *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->lt = ray_task_local_new("pool item", a);
    if (a->lt == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

static void ray_pool_actor_free(void *self)
{
    struct pool_actor *a = self;
    if (a == NULL)
        return;
    ray_task_local_free(a->lt);
    free(a);
}

/* Run one item (its arguments in VALS) and append its record to OUT. */
static void run_item(struct pool_actor *a, ray_value *vals, size_t nv, struct ray_pool_buf_ *out)
{
    ray_value got[MAX_ITEM_ARGS];
    bool pinned[MAX_ITEM_ARGS];
    char msg[1100];
    const char *fail = NULL;
    for (size_t i = 0; i < nv; i++) {
        pinned[i] = false;
        if (vals[i].type != RAY_REF)
            continue;
        int rc = ray_get(vals[i].as.ref, -1, &got[i]);
        if (rc != RAY_OK) {
            snprintf(msg, sizeof msg, "argument %zu: %s", i, ray_last_error());
            fail = msg;
            nv = i;
            break;
        }
        pinned[i] = true;
        vals[i] = got[i];
    }
    if (fail == NULL) {
        ray_value ret;
        if (ray_task_local_run(a->lt, a->f, vals, nv, &ret) == RAY_OK) {
            ray_pool_result_put_(out, &ret, NULL);
        } else {
            snprintf(msg, sizeof msg, "%s", ray_last_error());
            fail = msg;
        }
    }
    if (fail)
        ray_pool_result_put_(out, NULL, fail);
    for (size_t i = 0; i < nv; i++)
        if (pinned[i])
            ray_value_release(&got[i]);
}

static int ray_pool_actor_run(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct pool_actor *a = self;
    struct ray_pool_buf_ out = { 0 };
    ray_value vals[MAX_ITEM_ARGS];
    if (nargs != 3 || args[0].type != RAY_STR || args[1].type != RAY_INT || args[1].as.i < 0 ||
        args[2].type != RAY_BYTES)
        return ray_fail(t, "ray_pool_actor.run wants (fn, count, items)");
    const char *fn = args[0].as.buf.ptr;
    if (a->f == NULL || strcmp(a->fn, fn) != 0) {
        a->f = ray_function_lookup(fn);
        snprintf(a->fn, sizeof a->fn, "%s", fn);
        if (a->f == NULL)
            return ray_fail(t, "no remote function '%s' in this job's library (RAY_REMOTE)", fn);
    }
    const uint8_t *p = args[2].as.buf.ptr, *end = p + args[2].as.buf.len;
    int64_t count = args[1].as.i;
    struct ray_pool_arena_ arena = { 0 }; /* an item's LIST/MAP arrays */
    for (int64_t k = 0; k < count; k++) {
        uint32_t nv;
        if (ray_pool_u32_get_(&p, end, &nv) < 0 || nv > MAX_ITEM_ARGS)
            goto bad;
        for (uint32_t i = 0; i < nv; i++)
            if (ray_pool_value_get_(&p, end, &vals[i], &arena) < 0) {
                ray_pool_arena_free_(&arena);
                goto bad;
            }
        run_item(a, vals, nv, &out);
        if (arena.n)
            ray_pool_arena_free_(&arena);
    }
    ray_pool_arena_free_(&arena);
    if (p != end)
        goto bad;
    if (out.oom) {
        ray_pool_buf_free_(&out);
        return ray_fail(t, "out of memory for %lld results", (long long)count);
    }
    int rc = ray_return(t, RAY_BYTES_V(out.data, out.len));
    ray_pool_buf_free_(&out);
    return rc == RAY_OK ? 0 : ray_fail(t, "returning results: %s", ray_last_error());
bad:
    ray_pool_buf_free_(&out);
    return ray_fail(t, "ray_pool_actor.run: malformed chunk of %lld items", (long long)count);
}

RAY_ACTOR(ray_pool_actor);
RAY_METHOD(ray_pool_actor, run);
