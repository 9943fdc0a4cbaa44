/*
 * tasks.h — tasks: records (struct task is tasks.c's own; the accessors below
 * are what other files read of it), specs, TASK_SUBMIT / TASK_DONE, retries,
 * and the operations of the local scheduler (sched/local.c). The functions of
 * runtime/tasks.c that the other files of the runtime call; runtime/internal.h
 * has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_TASKS_H
#define RAY_RUNTIME_TASKS_H

#include "runtime/internal.h"

enum task_kind { TASK_NORMAL, TASK_ACTOR_NEW, TASK_ACTOR_CALL };
enum task_state { TASK_WAITING_DEPS, TASK_QUEUED, TASK_RUNNING };
/* What other files read and set of a task (struct task is tasks.c's own). */
/* T: its id. */
const uint8_t *task_id(const struct task *t);
/* T: its kind. */
enum task_kind task_kind(const struct task *t);
/* T: its state. */
enum task_state task_state(const struct task *t);
void task_set_state(struct task *t, enum task_state v);
/* T: its job. */
struct job *task_job(const struct task *t);
void task_set_job(struct task *t, struct job *v);
/* T: function, "Class.method" or class name, for logs. */
const char *task_name(const struct task *t);
/* Set T's name to a copy of NAME (interned: shared by the tasks of one name). */
void task_set_name(struct runtime *rt, struct task *t, const char *name);
/* T: the registered name sent in the spec. */
const char *task_fn(const struct task *t);
/* T: the msgpack spec map as the caller sent it. */
const struct buf *task_spec(const struct task *t);
/* T: its number of returns. */
int task_nret(const struct task *t);
/* T: the resources it needs. */
const struct res_set *task_demand(const struct task *t);
/* T: the local scheduler's part of it (sched/local.h). */
struct sched_task *task_st(const struct task *t);
/* T: retries left (-1: forever). */
int task_retries_left(const struct task *t);
void task_set_retries_left(struct task *t, int v);
/* T: attempts made. */
int task_attempts(const struct task *t);
void task_set_attempts(struct task *t, int v);
/* T: its REF arguments, in argument order. */
const uint8_t (*task_deps(const struct task *t))[IDS_SIZE];
/* T: their number. */
int task_ndeps(const struct task *t);
/* T: distinct deps not yet sealed here. */
int task_deps_missing(const struct task *t);
void task_set_deps_missing(struct task *t, int v);
/* T: its worker while RUNNING. */
struct worker *task_worker(const struct task *t);
void task_set_worker(struct task *t, struct worker *v);
/* T: its actor (ACTOR_NEW / ACTOR_CALL). */
struct actor *task_actor(const struct task *t);
void task_set_actor(struct task *t, struct actor *v);
/* T: sent with TASK_NEST to a worker whose other tasks all wait. */
bool task_nested(const struct task *t);
/* T: the global scheduler put it here: never spill it again. */
bool task_placed(const struct task *t);
void task_set_placed(struct task *t, bool v);
/* T: store id of the client that submitted it here (0: none). */
int task_owner(const struct task *t);
void task_set_owner(struct task *t, int v);
/* T: its task-table record is in the GCS (taskrec.c). */
bool task_rec_written(const struct task *t);
void task_set_rec_written(struct task *t, bool v);
/* T: a record or state write is held back for it (taskrec.c). */
bool task_rec_queued(const struct task *t);
void task_set_rec_queued(struct task *t, bool v);
/* T: counted in the runtime's rec_live (taskrec.c). */
bool task_rec_live(const struct task *t);
void task_set_rec_live(struct task *t, bool v);
/* T: when the write held back is due (taskrec.c). */
long long task_rec_due_ms(const struct task *t);
void task_set_rec_due_ms(struct task *t, long long v);
/* T: next of the held-back list (taskrec.c). */
struct task *task_rec_next(const struct task *t);
void task_set_rec_next(struct task *t, struct task *v);
/* T: previous of the held-back list (taskrec.c). */
struct task *task_rec_prev(const struct task *t);
void task_set_rec_prev(struct task *t, struct task *v);
/* T: the next of the list it is in (waiting, sent ahead, nested, an actor's queue). */
struct task *task_next(const struct task *t);
void task_set_next(struct task *t, struct task *v);
/* T: a lease of a worker to a driver (lease.c), not a task to run. */
bool task_lease(const struct task *t);
void task_set_lease(struct task *t, bool v); /* a lease is also placed: it never spills */
/* T: killed because its placement group was removed (pg.c). */
void task_set_pg_removed(struct task *t, bool v);
/* The fields of a task or actor spec map (docs/runtime.md); strings point
 * into the spec and are not NUL-terminated. */
struct spec_fields {
    const uint8_t *id;           /* required */
    const char *fn; size_t fnlen; /* required */
    const char *name; size_t namelen;
    const char *res; size_t reslen;
    const char *aname; size_t anamelen; /* actor "name" on ACTOR_CREATE */
    const void *args; size_t argslen;   /* the raw args array */
    uint32_t nargs;
    int64_t nret, retries, max_restarts, max_conc;
    double cpu, gpu, mem;
    bool retry_err, detached;
    uint64_t reqid;
    const uint8_t *actor;        /* ACTOR_CALL */
    const uint8_t *pg;           /* placement group (NULL: none) */
    const char *renv; size_t renvlen; /* canonical runtime_env ("" none) */
    int64_t bundle;              /* its bundle index (-1: any) */
};
/* Parse SPEC (LEN bytes). Returns 0, or -1 with a one-line reason in ERR. */
int spec_parse(const void *spec, size_t len, struct spec_fields *f, char *err, size_t errlen);
/* Fill DEMAND from the spec's resources. Returns 0 or -1 with ERR. */
int spec_demand(const struct spec_fields *f, struct res_set *demand, char *err, size_t errlen);
void tasks_init(struct runtime *rt);
void tasks_free(struct runtime *rt);
/* A task record from SPEC (copied): name, nret, demand, retries, deps.
 * Returns NULL with ERR for a bad spec. */
struct task *tasks_new(struct runtime *rt, enum task_kind kind, struct job *j,
                       const void *spec, size_t len, char *err, size_t errlen);
void tasks_destroy(struct runtime *rt, struct task *t);
/* A well-framed WHAT ("TASK_SUBMIT", "ACTOR_CALL") from C that the node cannot
 * take (bad spec or resources; WHY says what): answer it and keep C. Its
 * returns, when SPEC names an id, get ERROR objects RAY_EINVAL "node N
 * refused WHAT: WHY", so the caller's ray_get says why; without an id, C
 * gets an ERROR message (and stays open). */
void tasks_reject(struct runtime *rt, struct conn *c, const char *what, const void *spec,
                  size_t len, const char *why);
/* Put T in the scheduler: it waits for its deps, then queues. */
void tasks_enqueue(struct runtime *rt, struct task *t);
/* A dep of T is now here. */
void tasks_dep_ready(struct runtime *rt, struct task *t);
/* Try to run queued tasks (deferred to the next loop turn). */
void tasks_schedule(struct runtime *rt);
/* Tasks queued here, ready to run (sched/local.c); 0 for a NULL RT or before
 * tasks_init. */
long long tasks_queued(const struct runtime *rt);
/* True if a task among the first OTHERS_SCAN_MAX (1024) of a shape's queue
 * here (ready, waiting for resources or a worker) was submitted by another
 * client than store id OWNER (lease.c: other work waits). Walks that much
 * of each queue: not for the hot path. */
bool tasks_queued_for_others(const struct runtime *rt, int owner);
/* A node joined: tasks placed back here because no node could ever run
 * them may ask the global scheduler once more (the new node may fit them;
 * the autoscaler starts such nodes). Call before tasks_schedule. */
void tasks_node_joined(struct runtime *rt);
/* Build TASK_EXECUTE for T on W (pins its ref args) and send it. Returns 0,
 * or -1 if a dep turned out to be an error (T was failed) or vanished. */
int tasks_send_execute(struct runtime *rt, struct task *t, struct worker *w);
/* T ended: store its failure (ERROR objects for every return) */
void tasks_fail(struct runtime *rt, struct task *t, int code, const char *msg);
/* T succeeded: the returns it did not set become NIL. */
void tasks_fill_returns(struct runtime *rt, struct task *t);
/* T left for another node (spilled, or an actor call forwarded): destroy it
 * here, and have its results fetched for whoever waits for them here (they
 * took them for made here while T was). */
void tasks_destroy_elsewhere(struct runtime *rt, struct task *t);
/* Release T's resources and pins. */
void tasks_release(struct runtime *rt, struct task *t);
/* T was sent ahead to a worker that died before starting it: queue it again
 * (not an attempt). */
void tasks_requeue_unstarted(struct runtime *rt, struct task *t);
/* Take T out of W's list of tasks sent ahead (the caller requeues or runs it). */
void tasks_ahead_remove(struct worker *w, struct task *t);
/* W's running task (or lease) ended and W's task was cleared: W runs its
 * next nested task or the next sent ahead, else it is idle. */
void tasks_worker_run_next(struct runtime *rt, struct worker *w);
/* Take T out of W's list of nested tasks (the caller retries or ends it). */
void tasks_nest_remove(struct worker *w, struct task *t);
/* The worker running T died (status from waitpid). Retries or fails T. */
void tasks_worker_died(struct runtime *rt, struct task *t, const char *why);
/* A get/wait of worker W for task TASK (20 bytes; zeros when the request
 * named none) waits at the node (BLOCKED), or is answered: the task gives
 * its CPU back from its first waiting request, and takes it again after
 * its last. */
void tasks_worker_blocked(struct runtime *rt, struct worker *w, const uint8_t *task,
                          bool blocked);
/* True if object ID will be made on this node: it is a return of a task
 * queued, waiting or running here (so nobody needs to fetch it). */
bool tasks_expected_here(struct runtime *rt, const uint8_t *id);
/* Drop the queued and waiting tasks of job J. */
void tasks_job_ended(struct runtime *rt, struct job *j);
/* Fail (CODE, MSG) the queued and waiting tasks MATCH says yes to; actor
 * constructors among them are dropped (actors_kill_pg ends their actors). */
void tasks_fail_where(struct runtime *rt, bool (*match)(const struct task *t, void *arg), void *arg,
                      int code, const char *msg);
/* Format "killed by signal 11 (Segmentation fault)" / "exited with status 3". */
void tasks_describe_exit(int status, char *out, size_t outlen);
/* The task ID alive here (queued, waiting or running), or NULL. */
struct task *tasks_find(const struct runtime *rt, const uint8_t *id);
/* Every task alive here: id -> struct task (iterate with idmap_next; do not change it). */
const struct idmap *tasks_map(const struct runtime *rt);
/* The local scheduler's queues (sched/local.h), for the actor code's hand-overs. */
struct sched_local *tasks_sched(const struct runtime *rt);
/* Tasks waiting for their arguments; tasks sent ahead to busy workers, not started. */
long long tasks_waiting(const struct runtime *rt);
long long tasks_pipelined(const struct runtime *rt);

#endif
