/*
 * runtime.h — what runs on a node: connections of workers, drivers and the
 * CLI, the worker pool, the local scheduler's queue, object requests, actors
 * and jobs. node.c creates one runtime per node; the pieces live in
 * the files of runtime/ (docs/architecture.md), sched/ and objstore/.
 */
#ifndef RAY_RUNTIME_H
#define RAY_RUNTIME_H

struct bio;
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

#endif
