/*
 * fuzz_workflow.c — libFuzzer target for the workflow library's on-disk
 * decoders (libs/workflow/workflow_store.c; see docs/fuzzing.md): a `dag`
 * file and a `steps/N` checkpoint, which ray_workflow_resume reads back
 * from a storage folder anyone may have damaged.
 *
 * Input byte 0 picks the decoder (even: dag, odd: checkpoint); the rest is
 * the file. Whatever decodes is encoded again (every string read to its
 * NUL on the way); that encoding must decode, and encode to itself (one
 * input may differ from it only where the codec accepts several spellings,
 * such as any non-zero BOOL byte). Any inconsistency calls abort().
 */
#include "libs/workflow/workflow_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

/* Decode a dag file and encode it again into *B. Returns 0, or -1 when it
 * does not decode (or cannot be re-encoded through an int array). */
static int dag_roundtrip(const uint8_t *p, size_t len, struct ray_pool_buf_ *b)
{
    struct ray_wf_dag_ d;
    char err[256];
    err[0] = '\0';
    if (ray_wf_dag_decode_(p, len, &d, err, sizeof err) < 0) {
        FUZZ_CHECK(err[0] != '\0');
        return -1;
    }
    int rc = 0;
    ray_wf_dag_head_put_(b, d.n, d.output);
    for (uint32_t i = 0; i < d.n && rc == 0; i++) {
        struct ray_wf_step_ *s = &d.steps[i];
        static int deps[RAY_WF_MAX_STEPS_];
        FUZZ_CHECK(s->ndeps <= i && strlen(s->fn) > 0);
        for (size_t j = 0; j < s->ndeps; j++) {
            FUZZ_CHECK(s->deps[j] < i);
            deps[j] = (int)s->deps[j];
        }
        ray_opts o = RAY_OPTS;
        o.num_cpus = s->num_cpus;
        o.num_gpus = s->num_gpus;
        o.memory = s->memory;
        o.resources = s->resources;
        o.max_retries = s->max_retries;
        o.retry_on_error = s->retry_on_error;
        FUZZ_CHECK(ray_wf_step_put_(b, s->name, s->fn, s->args, s->nargs, deps, s->ndeps, &o) ==
                   RAY_OK);
    }
    FUZZ_CHECK(!b->oom);
    ray_wf_dag_free_(&d);
    return rc;
}

static int out_roundtrip(const uint8_t *p, size_t len, struct ray_pool_buf_ *b)
{
    struct ray_pool_arena_ ar = { 0 };
    ray_value v;
    int rc = -1;
    if (ray_wf_out_decode_(p, len, &v, &ar) == 0) {
        FUZZ_CHECK(v.type != RAY_REF && v.type != RAY_ACTOR);
        ray_pool_buf_put_(b, RAY_WF_OUT_MAGIC_, 8);
        FUZZ_CHECK(ray_pool_value_put_(b, &v) == RAY_OK && !b->oom);
        rc = 0;
    }
    ray_pool_arena_free_(&ar);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int (*rt)(const uint8_t *, size_t, struct ray_pool_buf_ *) =
        (data[0] & 1) == 0 ? dag_roundtrip : out_roundtrip;
    struct ray_pool_buf_ b1 = { 0 }, b2 = { 0 };
    if (rt(data + 1, size - 1, &b1) == 0) {
        FUZZ_CHECK(b1.len == size - 1); /* same lengths: only spellings may differ */
        FUZZ_CHECK(rt(b1.data, b1.len, &b2) == 0);
        FUZZ_CHECK(b2.len == b1.len && memcmp(b1.data, b2.data, b1.len) == 0);
    }
    ray_pool_buf_free_(&b1);
    ray_pool_buf_free_(&b2);
    return 0;
}
