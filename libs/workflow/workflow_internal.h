/*
 * workflow_internal.h — what the files of the workflow library share: the
 * on-disk formats (workflow_store.c) and the step records the engine
 * (workflow.c) runs. Built on ray.h and the pool library's value codec
 * (libs/pool/pool_internal.h: one byte format for values in the tree).
 *
 * Files under STORAGE/ID/ (host byte order, like the pool's codec: the
 * storage belongs to one machine):
 *   dag        "RWFDAG01", u32 nsteps, u32 output step, then per step:
 *              str name, str fn, u32 nargs, nargs values, u32 ndeps,
 *              ndeps u32 (each < the step's own index), f64 num_cpus,
 *              f64 num_gpus, f64 memory, str resources, i32 max_retries,
 *              u8 retry_on_error         (str: u32 len, bytes, NUL)
 *   status     text: "RUNNING" | "SUCCESSFUL" | "FAILED" | "CANCELED",
 *              a newline, then the message (FAILED)
 *   lock       empty; flock()ed by the driver running the workflow
 *   steps/N    "RWFOUT01", one value: step N's checkpointed output
 * Every file is written to a temporary name, fsync'd and renamed into
 * place (then the folder is fsync'd), so a crash leaves the old file or the
 * new one, never half of one.
 */
#ifndef RAY_WORKFLOW_INTERNAL_H
#define RAY_WORKFLOW_INTERNAL_H

#include "ray_workflow.h"
#include "libs/pool/pool_internal.h"

#include <stddef.h>
#include <stdint.h>

#define RAY_WF_MAX_STEPS_ 100000
#define RAY_WF_DAG_MAGIC_ "RWFDAG01"
#define RAY_WF_OUT_MAGIC_ "RWFOUT01"

/* One step, decoded from a dag file: strings and values point into the
 * file's buffer or the decoder's arena. */
struct ray_wf_step_ {
    const char *name, *fn, *resources;
    ray_value *args;
    uint32_t nargs;
    uint32_t *deps;
    uint32_t ndeps;
    double num_cpus, num_gpus, memory;
    int32_t max_retries;
    uint8_t retry_on_error;
};

struct ray_wf_dag_ {
    struct ray_wf_step_ *steps;
    uint32_t n, output;
    struct ray_pool_arena_ arena; /* steps, args and deps arrays */
};

/* Append one step record to B (args encoded; see the format above).
 * Returns RAY_OK or RAY_EINVAL (an argument that cannot be encoded). */
int ray_wf_step_put_(struct ray_pool_buf_ *b, const char *name, const char *fn,
                     const ray_value *args, size_t nargs, const int *deps, size_t ndeps,
                     const ray_opts *o);
/* Append the dag file header: magic, N steps, the OUTPUT step (then N step records follow). */
void ray_wf_dag_head_put_(struct ray_pool_buf_ *b, uint32_t n, uint32_t output);
/* Decode dag file bytes P[0..LEN) into *D (which points into P: keep P).
 * Returns 0, or -1 (malformed: bad magic, truncated, a dependency that is
 * not an earlier step, too many steps) with ERR filled. */
int ray_wf_dag_decode_(const uint8_t *p, size_t len, struct ray_wf_dag_ *d, char *err,
                       size_t errlen);
void ray_wf_dag_free_(struct ray_wf_dag_ *d);
/* Decode checkpoint bytes into *V (pointing into P and ARENA). Returns 0 or -1. */
int ray_wf_out_decode_(const uint8_t *p, size_t len, ray_value *v, struct ray_pool_arena_ *arena);

/* Paths and files. */
/* STORAGE or the default into OUT. Returns 0, -1 when too long. */
int ray_wf_storage_(const char *storage, char *out, size_t outlen);
/* Whether ID is a valid workflow ID. */
int ray_wf_id_ok_(const char *id);
/* Write LEN bytes atomically to PATH (tmp, fsync, rename, fsync dir). 0 or -1 (errno). */
int ray_wf_file_write_(const char *path, const void *data, size_t len);
/* Read the whole of PATH (at most MAX bytes) into a malloc'd *DATA. 0 or -1 (errno). */
int ray_wf_file_read_(const char *path, size_t max, uint8_t **data, size_t *len);
/* Status file: write S (and MSG, may be NULL); read into *S and MSG. 0 or -1. */
int ray_wf_status_write_(const char *dir, ray_workflow_status s, const char *msg);
int ray_wf_status_read_(const char *dir, ray_workflow_status *s, char *msg, size_t msglen);
/* Try to take DIR/lock (non-blocking). Returns the fd holding it, -1 when
 * another process holds it (errno EWOULDBLOCK) or on error. */
int ray_wf_lock_(const char *dir);

#endif
