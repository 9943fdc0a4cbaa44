/*
 * gcs_sync.h — a blocking GCS client for short-lived programs (the CLI:
 * `ray status`, `ray list`). Every call waits at most the timeout given at
 * connect. Never use it inside a daemon's event loop: use gcs.h there.
 */
#ifndef RAY_GCS_SYNC_H
#define RAY_GCS_SYNC_H

#include <stddef.h>

#include "gcs/gcs.h"

struct gcs_sync;

/* Connect to HOST:PORT, authenticate with PASSWORD (may be NULL) and use the
 * keys of CLUSTER_NAME (NULL: "default"); every step waits at most
 * TIMEOUT_MS. Returns the handle, or NULL with one line in ERR (ERRLEN
 * bytes), e.g. "cannot reach GCS at 127.0.0.1:6379: Connection refused" or
 * "GCS at 127.0.0.1:6379: authentication failed (wrong cluster token?)". */
struct gcs_sync *gcs_sync_connect(const char *host, int port, const char *password,
                                  const char *cluster_name, int timeout_ms, char *err,
                                  size_t errlen);
/* Close and free; NULL is a no-op. */
void gcs_sync_free(struct gcs_sync *gs);
/* The key prefix "ray:<cluster_name>:", owned by GS. */
const char *gcs_sync_prefix(const struct gcs_sync *gs);
/* The last error as one line ("" if none), owned by GS. */
const char *gcs_sync_errstr(const struct gcs_sync *gs);

/* Table listings. On success return 0 and set *OUT to a new array of *N
 * records (non-NULL even for 0) that the caller frees with the matching
 * gcs_*_array_free; on failure return -1 (see gcs_sync_errstr) and set
 * *OUT = NULL, *N = 0. Order is unspecified. */
int gcs_sync_nodes(struct gcs_sync *gs, struct gcs_node **out, size_t *n);
int gcs_sync_jobs(struct gcs_sync *gs, struct gcs_job **out, size_t *n);
int gcs_sync_actors(struct gcs_sync *gs, struct gcs_actor **out, size_t *n);
int gcs_sync_pgs(struct gcs_sync *gs, struct gcs_pg **out, size_t *n);
int gcs_sync_tasks(struct gcs_sync *gs, struct gcs_task **out, size_t *n);
int gcs_sync_objects(struct gcs_sync *gs, struct gcs_object **out, size_t *n);

/* Free an array from the listings above (its records' strings too); NULL is a no-op. */
void gcs_node_array_free(struct gcs_node *v, size_t n);
void gcs_job_array_free(struct gcs_job *v, size_t n);
void gcs_actor_array_free(struct gcs_actor *v, size_t n);
void gcs_pg_array_free(struct gcs_pg *v, size_t n);
void gcs_task_array_free(struct gcs_task *v, size_t n);
void gcs_object_array_free(struct gcs_object *v, size_t n);

/* Run any command (hiredis format; keys are NOT prefixed). Returns the reply
 * (the caller frees it with gcs_reply_free; a Redis error is a reply of type
 * GCS_REPLY_ERROR), or NULL on an I/O error or timeout (gcs_sync_errstr). */
struct gcs_reply *gcs_sync_command(struct gcs_sync *gs, const char *fmt, ...);

#endif
