/*
 * local.h — the local scheduler: which queued task a node starts next, on
 * which worker, and what it holds meanwhile (SPEC section 5, steps 1-2).
 *
 * It owns the ready queues (one FIFO per resource shape), the dispatch
 * choice, the pipelining depth, the GPU slots and the CPU a task gives back
 * while it waits in ray_get/ray_wait. It knows no workers, messages or
 * records: the daemon (runtime/tasks.c) embeds a struct sched_task in each
 * of its tasks and answers through a small table of operations (an idle
 * worker, a worker to start, a task to send, the rest of the cluster), so
 * the policy runs, and is unit-tested, without a daemon
 * (tests/unit/test_sched_local.c). docs/scheduling.md has the policy.
 *
 * Single-threaded: every call comes from the node's event loop. Daemon
 * code: allocation failures abort (xmalloc).
 */
#ifndef RAY_SCHED_LOCAL_H
#define RAY_SCHED_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/resources.h"

struct sched_local;
struct sched_shape;

#define SCHED_GPUS_MAX 64          /* GPU slots a node tracks */
#define SCHED_NO_WORKER_MAX 64     /* tasks of one shape looked at without a worker, per pass */
#define SCHED_CAP_GRACE_MS 1000    /* at the worker cap this long: shown in `ray status` */

/* One queued or running task as the scheduler sees it: embedded in the
 * caller's task, which sets the first block before sched_local_push and
 * keeps DEMAND alive as long as the scheduler knows the task. The second
 * block is the scheduler's own: the caller reads it, never writes it. */
struct sched_task {
    const struct res_set *demand;  /* what it asks for (the caller's) */
    uint32_t job;                  /* its job: worker starts are counted per job */
    bool actor;                    /* an actor's constructor: gets a worker of its own */
    bool front;                    /* submitted by a task: queued first (depth-first) */

    bool queued;                   /* in a shape's queue */
    bool held;                     /* its demand is taken from the node's free resources */
    bool blocked;                  /* it waits in ray_get/ray_wait */
    bool cpu_lost;                 /* its CPU is not held: given back while it waited and
                                    * not taken back yet (it runs on borrowed CPU) */
    char gpus[64];                 /* GPU indices assigned while held ("" none), "0,2" */
    long long seq;                 /* its place in line across shapes (lower: earlier) */
    struct sched_shape *shape;     /* its shape, once queued */
    struct sched_task *next_, *prev_; /* queue links */
};

/* How a worker gets a task (ops.start). */
enum sched_start {
    SCHED_RUN,    /* on an idle worker: TASK_EXECUTE */
    SCHED_NEST,   /* beside a worker's waiting tasks: TASK_NEST */
    SCHED_AHEAD,  /* sent ahead to a busy worker (pipelining); it holds nothing yet */
};

/* What ops.spawn did. */
enum sched_spawn {
    SCHED_SPAWNED,    /* a worker is on its way */
    SCHED_NO_WORKER,  /* none now (no library yet, too many starting, ...): try later */
    SCHED_AT_CAP,     /* the node runs its cap of worker processes */
};

/* The daemon's side. CTX is what sched_local_new was given. A worker is an
 * opaque pointer to the scheduler. Every operation is required. */
struct sched_ops {
    /* An idle worker that can run T (its job, its runtime_env, started with
     * exactly GPUS: "" for none), or NULL. */
    void *(*idle_worker)(void *ctx, struct sched_task *t, const char *gpus);
    /* A worker of T's job whose every task waits in a get, to run T nested
     * (the one that submitted T if it qualifies), or NULL. */
    void *(*nest_worker)(void *ctx, struct sched_task *t);
    /* A busy worker running a task of T's shape and job with fewer than
     * DEPTH tasks sent ahead (the one with the fewest), or NULL. */
    void *(*ahead_worker)(void *ctx, struct sched_task *t, int depth);
    /* Workers of T's job being started now. */
    int (*starting)(void *ctx, struct sched_task *t);
    /* Start a worker for T with GPUS ("" none). For an actor (T->actor,
     * held already) the worker is T's own: on SCHED_SPAWNED the task counts
     * as running and the scheduler takes it out of the queue. */
    enum sched_spawn (*spawn)(void *ctx, struct sched_task *t, const char *gpus);
    /* The cap is reached: stop an idle worker to make room; true if one was. */
    bool (*reclaim)(void *ctx);
    /* T (out of the queue already, and held unless HOW is SCHED_AHEAD) goes
     * to worker W. The callee owns T's fate: it may fail it, destroy it, or
     * queue it again. */
    void (*start)(void *ctx, struct sched_task *t, void *w, enum sched_start how);
    /* T cannot start now (or ever, here): send it to the global scheduler
     * if the spillback policy says so (sched/spillback.h). True if it left:
     * the callee took it out of the queue (sched_local_remove) and dropped it. */
    bool (*spill)(void *ctx, struct sched_task *t);
    /* No node can run T (its demand is over this node's total and it did
     * not spill): tell its driver (once per task is enough). */
    void (*infeasible)(void *ctx, struct sched_task *t);
    /* Live nodes other than this one (0: an infeasible shape waits whole). */
    int (*others)(void *ctx);
};

/* A local scheduler over the node view TOTAL (what the node has) and AVAIL
 * (what is free; the scheduler takes from and gives back to it, and so may
 * others: actors, placement groups), with NGPUS whole GPUs (capped at
 * SCHED_GPUS_MAX). The sets and OPS are the caller's and must outlive it.
 * Never fails (aborts on out-of-memory). */
struct sched_local *sched_local_new(const struct sched_ops *ops, void *ctx,
                                    const struct res_set *total, struct res_set *avail, int ngpus);
/* Free SL and its shapes. Tasks still queued are not touched (the caller
 * owns them: drain the queues first). NULL is a no-op. */
void sched_local_free(struct sched_local *sl);

/* Queue T (not queued, DEMAND set) at the end of its shape's queue, or, if
 * T->front, first in line (depth-first: a task's children run before other
 * queued work). Does not dispatch: call sched_local_run (deferred). */
void sched_local_push(struct sched_local *sl, struct sched_task *t);
/* Queue T at the head of its shape again, keeping its place in line: it was
 * sent ahead and came back unstarted. */
void sched_local_push_front(struct sched_local *sl, struct sched_task *t);
/* Take queued T out of its queue. */
void sched_local_remove(struct sched_local *sl, struct sched_task *t);
/* Tasks queued (not running, not sent ahead). */
long long sched_local_queued(const struct sched_local *sl);

/* One dispatch pass. Tasks are looked at in line order across shapes (the
 * oldest first: no shape starves another); in one shape, in queue order.
 * A task starts when its demand fits the free resources less what older
 * tasks that could not start are waiting for (their reservation: a stream
 * of small tasks cannot keep a big one out for ever; only a task whose
 * demand the running tasks' ends would meet reserves, never one that waits
 * on what actors or placement groups keep), on an idle worker, or
 * nested in a worker whose tasks all wait; otherwise a worker is started
 * for it (per job, as many as tasks wait, within the cap), it is sent ahead
 * to a busy worker of its shape (within the pipelining depth, while nothing
 * older waits for resources), or it spills (ops.spill). A demand over the
 * node's total waits as infeasible (ops.infeasible). Calls OPS; never fails. */
void sched_local_run(struct sched_local *sl);

/* Take T's demand (and GPU slots) from the node: T starts. Used by
 * sched_local_run, and by the caller for a task sent ahead that becomes the
 * running one (sched_local_hold_if_fits). T's resources are not checked:
 * the pass did. If T waits already (blocked while sent ahead), its CPU
 * stays free. */
void sched_local_hold(struct sched_local *sl, struct sched_task *t);
/* Hold T if its demand fits the free resources now; false (nothing held: it
 * runs on what the task before it lent) otherwise. */
bool sched_local_hold_if_fits(struct sched_local *sl, struct sched_task *t);
/* Give back what T holds (its GPU slots too) and clear its blocked state.
 * A no-op for a task that holds nothing. */
void sched_local_release(struct sched_local *sl, struct sched_task *t);
/* T's resources become another owner's (an actor keeps what its
 * constructor held, GPUs included): T holds nothing now, nothing goes back,
 * and no task's end will free them (they are not waited for: see
 * sched_local_run). */
void sched_local_hand_over(struct sched_local *sl, struct sched_task *t);
/* Give back the GPU slots GPUS ("0,2"; a task's gpus that was handed over)
 * held for DEMAND: the actor that kept them died or restarts. Its other
 * resources are the caller's to give back. */
void sched_local_gpus_return(struct sched_local *sl, const char *gpus,
                             const struct res_set *demand);
/* T waits in a get (BLOCKED true): its CPU (and a placement group's CPU
 * names) goes back to the node; or it resumes and takes it again if it is
 * free (else it runs on borrowed CPU until it ends: T->cpu_lost stays). */
void sched_local_set_blocked(struct sched_local *sl, struct sched_task *t, bool blocked);
/* T of its shape ran for US microseconds: feeds the pipelining depth. */
void sched_local_ran(struct sched_local *sl, struct sched_task *t, long long us);
/* GPU slots free now (for tests and `ray status`). */
int sched_local_gpus_free(const struct sched_local *sl);

/* Walking the queues (the caller's status, job ends, node joins): shapes in
 * the order they were first seen, and each queue from its head. */
struct sched_shape *sched_local_shapes(const struct sched_local *sl);
struct sched_shape *sched_shape_next(const struct sched_shape *s);
const struct res_set *sched_shape_demand(const struct sched_shape *s);
long sched_shape_len(const struct sched_shape *s);
struct sched_task *sched_shape_head(const struct sched_shape *s);
struct sched_task *sched_task_next(const struct sched_task *t);
/* Tasks sent ahead to one worker for shape S now (1, 2 or 16: by the recent
 * run time of its tasks). */
int sched_shape_depth(const struct sched_shape *s);
/* S has waited at the worker cap for SCHED_CAP_GRACE_MS (not just a worker
 * on its way) with tasks queued: `ray status` says "cap". */
bool sched_shape_at_cap(const struct sched_shape *s);
/* True the first time for JOB (of the last 8 asked): warn its driver once. */
bool sched_shape_warn_once(struct sched_shape *s, uint32_t job);

#endif
