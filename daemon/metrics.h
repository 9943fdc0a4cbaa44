/*
 * metrics.h — this node's Prometheus endpoint (SPEC section 11): `/metrics`
 * on --metrics-export-port, served by evhttp on the node's own event loop,
 * token required (Bearer). The text is built at scrape time from the
 * runtime's figures (runtime/runtime.h: runtime_stats and its iterators);
 * the only per-task cost is the runtime's counter of ended tasks
 * (runtime/counters.c: a lookup in a fixed table, no lock, no allocation
 * after a name's first time). docs/observability.md "Metrics" lists every series.
 */
#ifndef RAY_METRICS_H
#define RAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct node;
struct runtime;
struct metrics;

/* Listen on N's IP at cfg->metrics_export_port (0: ephemeral) and record
 * "IP:PORT" in the GCS (<p>metrics_targets, for the head's discovery file).
 * Returns the endpoint (owned by the caller: metrics_free) or NULL with ERR. */
struct metrics *metrics_start(struct node *n, char *err, size_t errlen);
/* The port bound. */
int metrics_port(const struct metrics *m);
/* Stop listening and free M. NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Head: what the dashboard thread last read from the GCS, for the series
 * only the head exports (ray_placement_groups, ray_cluster_active_nodes).
 * Thread-safe (a mutex taken only here and at scrape time). */
void metrics_set_cluster(int active_nodes, const char *const *pg_states, const int *pg_counts,
                         int npg);

#endif
