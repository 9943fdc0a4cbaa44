/*
 * ray_workflow.h — durable workflows (Ray Workflows): a DAG of steps, each
 * step a task running one of the job's RAY_REMOTE functions, with every
 * step's output checkpointed to disk before its dependents run, so a
 * workflow whose driver crashed, was killed (kill -9), or whose cluster was
 * stopped and started again is resumed by re-running only the steps that
 * had not finished.
 *
 *     ray_workflow *w;
 *     int a, b, c;
 *     ray_workflow_new(&w);
 *     ray_value x = RAY_I(3);
 *     ray_workflow_step(w, "load", "load", &x, 1, NULL, 0, NULL, &a);
 *     ray_workflow_step(w, "double", "twice", NULL, 0, &a, 1, NULL, &b);
 *     int ab[] = { a, b };
 *     ray_workflow_step(w, "sum", "add", NULL, 0, ab, 2, NULL, &c);
 *     ray_workflow_output out;
 *     int rc = ray_workflow_run(w, NULL, "my-wf", &out);   // out.value: the "sum" step's output
 *     ...
 *     ray_workflow_output_release(&out);
 *     ray_workflow_free(w);
 *     // after a crash, in a new driver of the same job library:
 *     rc = ray_workflow_resume(NULL, "my-wf", &out);
 *
 * A step's function gets the step's own ARGS first, then the outputs of the
 * steps it depends on, in the order DEPS lists them; its output is its first
 * ray_return value (NIL if none). Outputs must be plain values (NIL, BOOL,
 * INT, FLOAT, STR, BYTES, LIST, MAP): a REF or ACTOR is not durable and
 * fails the workflow. The workflow's output is the output of its last step
 * (ray_workflow_set_output picks another).
 *
 * Storage: a directory (STORAGE argument; NULL means $RAY_WORKFLOW_STORAGE,
 * else /tmp/ray/workflow_data, Ray's default) on the driver's machine, one
 * folder per workflow ID (docs/workflow.md has the layout). The driver that
 * runs a workflow writes every checkpoint (fsync'd, then renamed into place)
 * before it submits the steps that depend on it, and holds a lock on the
 * workflow while it runs, so another process can tell RUNNING (the lock is
 * held) from RESUMABLE (its driver died).
 *
 * A ray_workflow is used by one thread at a time; the by-ID calls are
 * thread-safe. The library lives in rayd and libray.a: job libraries still
 * link nothing.
 */
#ifndef RAY_WORKFLOW_H
#define RAY_WORKFLOW_H

#include "ray.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ray_workflow ray_workflow;        /* a DAG being built (opaque) */
typedef struct ray_workflow_handle ray_workflow_handle; /* a run_async in progress (opaque) */

/* Ray's WorkflowStatus. */
typedef enum {
    RAY_WORKFLOW_RUNNING,    /* its driver is running it now */
    RAY_WORKFLOW_SUCCESSFUL, /* every step finished; the output is stored */
    RAY_WORKFLOW_FAILED,     /* a step failed after its retries (resume re-runs it) */
    RAY_WORKFLOW_RESUMABLE,  /* its driver died (crash, kill, ray stop) mid-run */
    RAY_WORKFLOW_CANCELED    /* ray_workflow_cancel stopped it; it cannot be resumed */
} ray_workflow_status;
/* "RUNNING", "SUCCESSFUL", ...; "UNKNOWN" for anything else. Never NULL. */
const char *ray_workflow_status_name(ray_workflow_status s);

#define RAY_WORKFLOW_ID_MAX 128 /* IDs: 1..128 of [A-Za-z0-9_.-], not starting with '.' */

/* What ray_workflow_get_info and ray_workflow_list say about one workflow. */
typedef struct {
    char id[RAY_WORKFLOW_ID_MAX + 1];
    ray_workflow_status status;
    int steps;          /* steps in its DAG */
    int steps_done;     /* steps whose output is checkpointed */
    char message[512];  /* FAILED: "step 'sum' (add) failed: <its message>"; else "" */
} ray_workflow_info;

/* A workflow's output: VALUE's STR/BYTES payloads and LIST/MAP arrays are
 * owned by it until ray_workflow_output_release. */
typedef struct {
    ray_value value;
    void *hold_; /* internal */
} ray_workflow_output;
/* Free what O holds and zero it; NULL or a zeroed output: no-op. */
void ray_workflow_output_release(ray_workflow_output *o);

/* A new, empty DAG in *OUT (the caller's, freed by ray_workflow_free).
 * Returns RAY_OK, RAY_EINVAL (OUT NULL) or RAY_ENOMEM. */
int ray_workflow_new(ray_workflow **out);
void ray_workflow_free(ray_workflow *w); /* NULL: no-op */

/*
 * Add a step: the task FN (a RAY_REMOTE name) with ARGS (NARGS plain
 * values, copied now) followed by the outputs of the DEPS (NDEPS indices of
 * steps added before; a DAG by construction). NAME (NULL: FN) names it in
 * messages; OPTS (NULL: RAY_OPTS, so max_retries 3 as in Ray) are the
 * task's options: max_retries covers crashes, retry_on_error also retries
 * a step that fails by itself. *STEP (may be NULL) is its index.
 * Returns RAY_OK, RAY_EINVAL (NULL W or FN, a dependency that is not an
 * earlier step, an argument that is a REF or ACTOR or not a value, bad
 * options; ray_last_error says which), RAY_ENOMEM.
 */
int ray_workflow_step(ray_workflow *w, const char *name, const char *fn, const ray_value *args,
                      size_t nargs, const int *deps, size_t ndeps, const ray_opts *opts,
                      int *step);
/* Make STEP's output the workflow's output (default: the last step added).
 * RAY_EINVAL for a step that does not exist. */
int ray_workflow_set_output(ray_workflow *w, int step);

/*
 * Run W as workflow ID (NULL: a new "workflow_<time>_<random>" ID) under
 * STORAGE (NULL: the default above) and wait for it: its DAG is stored, then
 * steps run as their dependencies' checkpoints are written, in parallel
 * where the DAG allows. *OUT (may be NULL) gets the output on success.
 * Returns RAY_OK (SUCCESSFUL); RAY_ETASK when a step failed after its
 * retries or the workflow was canceled (status FAILED / CANCELED;
 * ray_last_error: "workflow 'ID': step 'sum' (add) failed: ..."); RAY_EINVAL
 * (a bad ID, an empty DAG, an ID that already exists: resume or delete it);
 * RAY_ENOMEM; or an I/O error of the storage as RAY_EINVAL naming the path.
 * W is not needed afterwards.
 */
int ray_workflow_run(ray_workflow *w, const char *storage, const char *id,
                     ray_workflow_output *out);
/*
 * ray_workflow_run in a thread of its own: returns at once with *OUT (the
 * caller's; ray_workflow_handle_free), after the DAG is stored (so the ID
 * exists when it returns). Returns the RAY_EINVAL / RAY_ENOMEM cases of
 * ray_workflow_run. W must outlive the handle's wait.
 */
int ray_workflow_run_async(ray_workflow *w, const char *storage, const char *id,
                           ray_workflow_handle **out);
/* The run's ID (valid while H lives). */
const char *ray_workflow_handle_id(const ray_workflow_handle *h);
/* Wait up to TIMEOUT_MS (< 0: forever) for H's run; returns what
 * ray_workflow_run returned (with *OUT, may be NULL, filled on RAY_OK), or
 * RAY_ETIMEOUT (call again). After it returned once, it returns the same
 * code again (OUT is filled once). */
int ray_workflow_wait(ray_workflow_handle *h, int64_t timeout_ms, ray_workflow_output *out);
/* Wait for the run (forever) if it is still going, then free H. NULL: no-op. */
void ray_workflow_handle_free(ray_workflow_handle *h);

/*
 * Resume workflow ID from STORAGE in this driver (whose job library has the
 * steps' functions): steps with a checkpoint are not run again; the others
 * run as in ray_workflow_run. A SUCCESSFUL workflow just gives its output.
 * Returns as ray_workflow_run, and RAY_ENOTFOUND for an ID that STORAGE does
 * not have ("workflow 'ID' not found in STORAGE"), RAY_EINVAL for one that
 * is RUNNING (its driver is alive) or CANCELED, or whose stored DAG is
 * damaged (naming the file).
 */
int ray_workflow_resume(const char *storage, const char *id, ray_workflow_output *out);

/* *INFO about workflow ID. RAY_OK, RAY_ENOTFOUND, RAY_EINVAL (bad ID, damaged files). */
int ray_workflow_get_info(const char *storage, const char *id, ray_workflow_info *info);
/* The output of a SUCCESSFUL workflow. RAY_ENOTFOUND; RAY_EINVAL when it is not SUCCESSFUL. */
int ray_workflow_get_output(const char *storage, const char *id, ray_workflow_output *out);
/*
 * Fill INFOS (room for CAP; may be NULL when CAP is 0) with the workflows in
 * STORAGE, sorted by ID; *N (required) is how many there are, which may be
 * more than CAP. Returns RAY_OK (an absent storage has none) or RAY_EINVAL.
 */
int ray_workflow_list(const char *storage, ray_workflow_info *infos, size_t cap, size_t *n);
/*
 * Cancel workflow ID: it becomes CANCELED at once; its driver starts no
 * further step (steps already running finish; their outputs are dropped) and
 * its run returns RAY_ETASK. RAY_OK, RAY_ENOTFOUND, RAY_EINVAL when it has
 * already ended (SUCCESSFUL).
 */
int ray_workflow_cancel(const char *storage, const char *id);
/* Delete workflow ID's folder (checkpoints and all). RAY_OK, RAY_ENOTFOUND,
 * RAY_EINVAL while it is RUNNING (cancel it first). */
int ray_workflow_delete(const char *storage, const char *id);

#ifdef __cplusplus
}
#endif

#endif
