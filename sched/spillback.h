/*
 * spillback.h — the spillback policy: whether a task its node cannot start
 * now goes to the global scheduler (SPEC section 5, step 3). A pure function
 * over what the node knows, so it is unit-tested alone; runtime/spillback.c
 * fills the view and sends the task. docs/scheduling.md has the rules.
 */
#ifndef RAY_SCHED_SPILLBACK_H
#define RAY_SCHED_SPILLBACK_H

#include <stdbool.h>

#include "sched/resources.h"

/* What the spill decision looks at, for one task. */
struct sched_spill_view {
    bool placed;                  /* the global scheduler put it here: it stays */
    bool actor_call;              /* an actor's method call: goes to its actor */
    bool actor;                   /* an actor's constructor */
    int others;                   /* live nodes besides this one */
    bool head_reachable;          /* the head is this node or connected */
    const struct res_set *demand; /* what the task asks for */
    const struct res_set *total;  /* what this node has */
    const struct res_set *avail;  /* what is free here now */
    long long queued;             /* tasks waiting here to start (queued + sent ahead) */
    int threshold;                /* queue_threshold: spill when QUEUED is over it */
};

/* True when the task should go to the global scheduler: it was not placed
 * here, is no actor call, other nodes live and the head can be reached; and
 * either this node can never run it (its total does not fit), or it is an
 * actor that cannot start now (it would hold its resources for life, so it
 * goes where they are free), or the local queue is over the threshold. */
bool sched_spill_should(const struct sched_spill_view *v);

#endif
