/*
 * fuzz_workflow.c — libFuzzer target for the workflow library's on-disk
 * decoders (libs/workflow/workflow_store.c; see docs/fuzzing.md): a `dag`
 * file and a `steps/N` checkpoint, which ray_workflow_resume reads back
 * from a storage folder anyone may have damaged.
 *
 * Input byte 0 picks the decoder (even: dag, odd: checkpoint); the rest is
 * the file. Whatever decodes is walked (every string read to its NUL) and,
 * for a dag, encoded again step by step: the format is canonical, so the
 * bytes must come back identical. Any inconsistency calls abort().
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    if ((data[0] & 1) == 0) {
        struct ray_wf_dag_ d;
        char err[256];
        if (ray_wf_dag_decode_(p, len, &d, err, sizeof err) < 0) {
            FUZZ_CHECK(err[0] != '\0');
            return 0;
        }
        struct ray_pool_buf_ b = { 0 };
        ray_wf_dag_head_put_(&b, d.n, d.output);
        for (uint32_t i = 0; i < d.n; i++) {
            struct ray_wf_step_ *s = &d.steps[i];
            int deps[1024];
            FUZZ_CHECK(s->ndeps <= i && strlen(s->fn) > 0);
            size_t nd = s->ndeps < 1024 ? s->ndeps : 1024;
            for (size_t j = 0; j < nd; j++) {
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
            if (s->ndeps > 1024) /* cannot re-encode through the int array; skip the check */
                goto out;
            FUZZ_CHECK(ray_wf_step_put_(&b, s->name, s->fn, s->args, s->nargs, deps, nd, &o) ==
                       RAY_OK);
        }
        FUZZ_CHECK(!b.oom);
        FUZZ_CHECK(b.len == len && memcmp(b.data, p, len) == 0);
    out:
        ray_pool_buf_free_(&b);
        ray_wf_dag_free_(&d);
    } else {
        struct ray_pool_arena_ ar = { 0 };
        ray_value v;
        if (ray_wf_out_decode_(p, len, &v, &ar) == 0) {
            FUZZ_CHECK(v.type != RAY_REF && v.type != RAY_ACTOR);
            struct ray_pool_buf_ b = { 0 };
            ray_pool_buf_put_(&b, RAY_WF_OUT_MAGIC_, 8);
            FUZZ_CHECK(ray_pool_value_put_(&b, &v) == RAY_OK);
            FUZZ_CHECK(b.len == len && memcmp(b.data, p, len) == 0);
            ray_pool_buf_free_(&b);
        }
        ray_pool_arena_free_(&ar);
    }
    return 0;
}
