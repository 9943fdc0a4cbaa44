/*
 * global.h — the global scheduler's choice: which node should run a task
 * that its own node could not start (SPEC section 5, step 3). A pure
 * function over a snapshot of the nodes, so it is unit-tested alone; the
 * daemon (runtime/spillback.c) feeds it the node table and sends the task.
 * docs/scheduling.md explains the score.
 */
#ifndef RAY_SCHED_GLOBAL_H
#define RAY_SCHED_GLOBAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/resources.h"

/* Milliseconds one queued task is assumed to occupy a CPU, for waits. */
#define SCHED_TASK_MS 10.0
/* Bytes per millisecond an argument moves between nodes (about 1 GB/s). */
#define SCHED_BYTES_PER_MS 1.0e6

struct sched_candidate {
    const struct res_set *total;  /* what the node has */
    const struct res_set *avail;  /* what is free (last report) */
    long long queue_len;          /* tasks waiting there (last report) */
    int assigned;                 /* tasks sent there since that report */
    uint64_t local_bytes;         /* the task's argument bytes already there */
    bool alive;
};

/* Expected cost in milliseconds of running a task with DEMAND, whose
 * arguments total ARG_BYTES, on candidate C: the wait before it can start
 * plus the time to move the argument bytes C lacks. Negative if C can never
 * run it (dead, or its total does not fit). */
double sched_cost(const struct sched_candidate *c, const struct res_set *demand, uint64_t arg_bytes);

/* The index of the cheapest candidate (ties: the lowest index, so put the
 * submitting node first), or -1 when no candidate can ever run the task. */
int sched_pick(const struct sched_candidate *c, size_t n, const struct res_set *demand,
               uint64_t arg_bytes);

/* Like sched_pick, among the candidates that can start it now only: its
 * demand fits their free resources with room left by the tasks sent since
 * their last report. For what holds its resources for its whole life (an
 * actor): a node that has none free would make it wait for an end that may
 * never come. -1 when none has room now. */
int sched_pick_now(const struct sched_candidate *c, size_t n, const struct res_set *demand,
                   uint64_t arg_bytes);

/* One node of the cluster as the head's global scheduler sees it. */
struct sched_node_view {
    const struct res_set *total;  /* what it has */
    const struct res_set *avail;  /* what is free (its last report; the head's own: now) */
    long long queue_len;          /* tasks waiting there (last report; the head's own: now) */
    int assigned;                 /* tasks placed there since that report */
    bool alive;
};

/* Where the global scheduler places a task with DEMAND sent by node ORIGIN
 * (an index into NODES, or SCHED_NO_ORIGIN when it is not in the table),
 * which holds ORIGIN_BYTES of its arguments (the task's argument bytes as
 * far as anyone knows). The submitting node is looked at first, so it wins
 * ties (its arguments are there). An actor (ACTOR true) goes where it can
 * start now if any node can (sched_pick_now), else where it waits least.
 * Returns an index into NODES, or -1 when no live node can ever run it.
 * Allocates a scratch array (aborts on out-of-memory); the caller keeps
 * NODES. */
#define SCHED_NO_ORIGIN ((size_t)-1)
int sched_global_place(const struct sched_node_view *nodes, size_t n, size_t origin,
                       const struct res_set *demand, uint64_t origin_bytes, bool actor);

#endif
