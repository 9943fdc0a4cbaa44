/*
 * observe.h — what a node tells about itself (runtime/observe.c): its log
 * files (LOG_LIST, LOG_READ: `ray logs`), its running work, actors and
 * objects (NODE_STATS: `ray memory`, `ray status -v`), and the timeline
 * events its workers and drivers send in batches (EVENTS), which it appends
 * to the capped `timeline` stream in the GCS (docs/gcs.md).
 *
 * Output of workers is kept twice: the job's log (prefixed lines, as before)
 * and the node's tasks.out / tasks.err, where each line carries the task and
 * actor it came from, so `ray logs TASK` and `ray logs ACTOR` can pick them.
 */
#ifndef RAY_OBSERVE_H
#define RAY_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct runtime;
struct worker;
struct job;

/* Entries kept in the GCS timeline stream (each a batch of events). */
#define OBSERVE_TIMELINE_MAXLEN 1000

/* Register the message handlers on RT's server. */
void observe_init(struct runtime *rt);
/* Stop every log stream and close the files. */
void observe_free(struct runtime *rt);
/* Worker W printed LINE (LEN bytes, no newline) on STREAM (1 stdout, 2
 * stderr): keep it in tasks.out / tasks.err tagged with W's task and actor. */
void observe_worker_line(struct runtime *rt, struct worker *w, int stream, const char *line,
                         size_t len);
/* W reports a task done: if W ever printed, read what its pipes hold now,
 * so those lines are still tagged with the task that printed them. Costs
 * nothing for workers that never print. */
void observe_task_done(struct runtime *rt, struct worker *w);
/* The node's own span for task T_ID (fetch arguments: from START_US for
 * DUR_US), attempt ATTEMPT, function NAME, an actor call if ACTOR. Batched
 * like a worker's events. */
void observe_node_span(struct runtime *rt, char code, const uint8_t *task_id, long long start_us,
                       long long dur_us, int attempt, const char *name);

#endif
