/*
 * runtime.h — the runtime's public face: what runs on a node (connections
 * of workers, drivers and the CLI, the worker pool, the local scheduler's
 * queue, object requests, actors, jobs, placement groups, the cluster
 * view). daemon/node.c creates one runtime per node; the rest of the
 * daemon (heartbeats, /metrics, recovery) sees `struct runtime` only as an
 * incomplete type and calls these functions. The pieces live in the files
 * of runtime/ (docs/architecture.md), sched/ and objstore/; nothing outside
 * runtime/ includes another header of runtime/ (scripts/check-layout.sh).
 */
#ifndef RAY_RUNTIME_H
#define RAY_RUNTIME_H

#include <stddef.h>
#include <sys/types.h>

#include "common/ids.h"

struct bio;
struct conn;
struct node;
struct runtime;

/* Create the runtime of node N and register its message handlers on N's
 * server. Never fails (aborts on OOM). */
struct runtime *runtime_new(struct node *n);
/* Begin stopping: end jobs, kill workers. The loop may run a little longer. */
void runtime_stop(struct runtime *rt);
/* Free everything; NULL is a no-op. Call it after gcs_client_mute on the
 * node's GCS client: GCS reads still pending are freed here, and their
 * callbacks must never run afterwards. */
void runtime_free(struct runtime *rt);
/* Tasks waiting in the local queue (for heartbeats). */
long long runtime_queue_len(const struct runtime *rt);
/* Head: node NODE_HEX was declared dead. */
void runtime_node_dead(struct runtime *rt, const char *node_hex);
/* The GCS connection is back after a drop (Redis or the head restarted):
 * write again the object locations and actor records this node is the
 * authority for (runtime/replay.c). NULL is a no-op. */
void runtime_gcs_reconnected(struct runtime *rt);
/* RT's helper thread for slow work (daemon/bio.h), alive from runtime_new
 * to runtime_free (which cancels what is left). */
struct bio *runtime_bio(struct runtime *rt);

/* Figures of the runtime at one moment (heartbeats, /metrics, the fuzz
 * target's log). A plain value type, filled by runtime_stats. */
struct runtime_stats {
    long long queued;            /* tasks ready to run here (sched/local.c) */
    long long waiting;           /* tasks waiting here for their arguments */
    long long pipelined;         /* tasks sent ahead to busy workers, not started */
    int workers;                 /* worker processes (starting or running) */
    long rec_live;               /* unfinished tasks with a record in the GCS */
    unsigned long long spilled;  /* tasks handed to the global scheduler since start */
    size_t lineage_bytes;        /* lineage kept to rebuild lost objects ... */
    size_t lineage_entries;      /* ... and its tasks */
    size_t tasks, actors, waiters, jobs, clients; /* records alive here */
    unsigned long long direct_tasks;   /* tasks leased workers ran for drivers (lease.c) */
    unsigned long long leases_granted; /* leases of workers granted to drivers */
};
/* Fill *OUT (all zeros for a NULL RT). */
void runtime_stats(const struct runtime *rt, struct runtime_stats *out);
/* Call FN(ARG, NAME, STATE) for every task alive here; STATE is RUNNING,
 * PENDING_NODE_ASSIGNMENT (queued) or PENDING_ARGS_AVAIL. NAME is never
 * NULL. Both strings stay valid until the loop runs again (a caller may
 * keep them while it writes its answer). NULL RT: no call. */
void runtime_each_task(const struct runtime *rt,
                       void (*fn)(void *arg, const char *name, const char *state), void *arg);
/* Call FN(ARG, NAME, FINISHED, FAILED) for every task name that ended on
 * this node since start (process-wide counters, runtime/counters.c). */
void runtime_each_final(void (*fn)(void *arg, const char *name, unsigned long long finished,
                                   unsigned long long failed),
                        void *arg);
/* Call FN(ARG, CLS, NAME, STATE) for every actor living on this node (not
 * the routes to actors elsewhere); STATE is PENDING_CREATION, ALIVE,
 * RESTARTING or DEAD; CLS is never NULL, NAME is NULL if unnamed; the
 * strings stay valid until the loop runs again. NULL RT: no call. */
void runtime_each_actor(const struct runtime *rt,
                        void (*fn)(void *arg, const char *cls, const char *name,
                                   const char *state),
                        void *arg);
/* The pids of this node's live worker processes: at most MAX into OUT.
 * Returns how many were written. */
size_t runtime_worker_pids(const struct runtime *rt, pid_t *out, size_t max);
/* The store client id of the worker or driver connected on C (the id its
 * pins and metrics reports go by), or -1 if C is no such client. */
int runtime_client_id(struct conn *c);
/* Cap the worker processes at CAP (the fuzz target sets 0: nothing it is
 * given runs). Takes effect for the next spawn. */
void runtime_set_worker_cap(struct runtime *rt, int cap);
/* Head, start-up recovery (daemon/recover.c): job NUM ended while the head
 * was down: its placement groups are removed. */
void runtime_pg_job_ended(struct runtime *rt, uint32_t num);
/* Head, once registered after a restart: read every placement group back
 * from the GCS; bundles on the NALIVE nodes ALIVE (hex ids, this head
 * excluded) stay, the others are placed again (runtime/pg.c pg_recover). */
void runtime_pg_recover(struct runtime *rt, const char (*alive)[IDS_HEX_SIZE], size_t nalive);

#endif
