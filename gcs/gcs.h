/*
 * gcs.h — the Global Control Store client: the cluster's tables in Redis.
 *
 * Two halves:
 *  - an asynchronous client (struct gcs_client) for daemons: it lives on the
 *    caller's libevent event_base, never blocks, pipelines every command,
 *    queues commands while Redis is away and reconnects with backoff;
 *  - typed table functions (nodes, events, objects, tasks, functions, jobs,
 *    actors, placement groups) built on it, one Redis command each (a small
 *    Lua script where a write touches several keys), so every write is atomic
 *    and survives reconnects whole or not at all.
 * The synchronous client for the CLI is in gcs/gcs_sync.h.
 *
 * Every key lives under the prefix "ray:<cluster_name>:"; docs/gcs.md lists
 * each key, its Redis type and fields, who writes and reads it and when it
 * is deleted.
 *
 * IDs are passed as lowercase hex strings (ids_hex). Strings handed to any
 * function are copied before it returns; the caller keeps ownership.
 */
#ifndef RAY_GCS_H
#define RAY_GCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct gcs_client;

/* ---------------------------------------------------------------- replies */

/* A Redis reply, owned by the library and valid only during the callback it
 * is passed to (or until gcs_reply_free for a gcs_sync_command reply). It is
 * a view of hiredis' redisReply, read through the accessors below. */
struct gcs_reply;

enum gcs_reply_type {
    GCS_REPLY_STRING = 1,
    GCS_REPLY_ARRAY = 2,
    GCS_REPLY_INTEGER = 3,
    GCS_REPLY_NIL = 4,
    GCS_REPLY_STATUS = 5, /* "+OK": str holds the text */
    GCS_REPLY_ERROR = 6,  /* "-ERR ...": str holds the message */
};

/* The reply's type (above); 0 for NULL. */
int gcs_reply_type(const struct gcs_reply *r);
/* String, status or error bytes (not always NUL-free: use *LEN when LEN is
 * non-NULL); NULL for other types. */
const char *gcs_reply_str(const struct gcs_reply *r, size_t *len);
/* Integer value; 0 for other types. */
long long gcs_reply_integer(const struct gcs_reply *r);
/* Number of elements of an array; 0 for other types. */
size_t gcs_reply_elements(const struct gcs_reply *r);
/* Element I of an array, or NULL when out of range. */
const struct gcs_reply *gcs_reply_element(const struct gcs_reply *r, size_t i);
/* Free a reply returned by gcs_sync_command; NULL is a no-op. Never call it
 * on a reply passed to a callback. */
void gcs_reply_free(struct gcs_reply *r);

/* ---------------------------------------------------------- async client */

/* Called with the reply of one command. R is NULL when the command could not
 * complete: the connection dropped after it was sent, it was dropped from a
 * full offline queue, or the client was freed. Every command's callback is
 * called exactly once. */
typedef void (*gcs_reply_fn)(void *arg, const struct gcs_reply *r);
/* Called when the client becomes ready (connected and authenticated) or
 * stops being ready (connection lost, connect or AUTH failed). */
typedef void (*gcs_state_fn)(void *arg, bool connected);
/* Completion of a write: STATUS is 0, GCS_ECONFLICT (a name is taken) or -1
 * (Redis error or connection lost; logged). */
typedef void (*gcs_done_fn)(void *arg, int status);
/* A published message on channel prefix+SUFFIX; MSG (LEN bytes, also
 * NUL-terminated) is valid during the call only. */
typedef void (*gcs_message_fn)(void *arg, const char *suffix, const char *msg, size_t len);

#define GCS_ECONFLICT (-2)
#define GCS_QUEUE_MAX 100000             /* commands kept while disconnected */
#define GCS_EVENTS_CAP_DEFAULT 100000    /* approximate length of <p>events */
#define GCS_TASKS_KEPT_DEFAULT 10000     /* finished tasks kept per cluster */

/* Create a client on BASE and start connecting to HOST:PORT (both copied).
 * PASSWORD (may be NULL) is sent with AUTH before anything else; without one
 * a PING checks the server does not require it. CLUSTER_NAME (NULL:
 * "default"; letters, digits, '.', '_' and '-') makes the key prefix.
 * Returns NULL only for an invalid cluster name; connection failures are
 * retried forever with backoff (50 ms doubling to 2 s) and reported through
 * gcs_client_on_state. Commands issued meanwhile are queued. Also opens a
 * second connection for pub/sub. Free with gcs_client_free before BASE. */
struct gcs_client *gcs_client_new(struct event_base *base, const char *host, int port,
                                  const char *password, const char *cluster_name);
/* Set the state callback (NULL to remove). */
void gcs_client_on_state(struct gcs_client *c, gcs_state_fn cb, void *arg);
/* True while the command connection is up and authenticated. */
bool gcs_client_connected(const struct gcs_client *c);
/* The last connection error as one line ("cannot reach GCS at h:p: ...",
 * "GCS at h:p: authentication failed (wrong cluster token?)"), or "" if none
 * since the last successful connect. Owned by the client. */
const char *gcs_client_errstr(const struct gcs_client *c);
/* The key prefix, "ray:<cluster_name>:". Owned by the client. */
const char *gcs_client_prefix(const struct gcs_client *c);
/* Limits: approximate cap of the event stream and number of finished tasks
 * kept; 0 leaves a limit unchanged. */
void gcs_client_set_limits(struct gcs_client *c, long events_cap, long tasks_kept);
/* Number of commands waiting in the offline queue. */
size_t gcs_client_queued(const struct gcs_client *c);
/* From now on no reply or message reaches a callback (commands still go
 * out; the NULL replies a later gcs_client_free hands pending commands are
 * dropped too). For a daemon about to free what its callbacks point at:
 * their contexts are not freed by the callbacks then (at exit, that is
 * fine). */
void gcs_client_mute(struct gcs_client *c);
/* Close both connections and free the client. Every pending callback is
 * called with a NULL reply first (they must not issue new commands: those
 * fail). Safe inside any of the client's callbacks: the free is then
 * deferred to the next turn of the event loop. NULL is a no-op. */
void gcs_client_free(struct gcs_client *c);

/* Send a command built from a hiredis format (%s string, %b binary
 * pointer+size_t length, %d...). Never waits: the command is pipelined,
 * or queued while disconnected (at most GCS_QUEUE_MAX; beyond that the oldest
 * is dropped with a warning and its callback called with NULL, possibly from
 * inside this call). CB may be NULL. Keys are NOT prefixed: use
 * gcs_client_prefix. Returns 0, or -1 for a bad format or a client being
 * freed (CB is then not called). */
int gcs_command(struct gcs_client *c, gcs_reply_fn cb, void *arg, const char *fmt, ...);
/* Hand the writes the table functions batched (task records, object
 * locations) to the command connection now, ahead of what this node sends
 * after it on another socket in the same loop turn, rather than with the
 * batch's flush at the turn's end: for a write another node's should find
 * in Redis (a spilled task's record before the node that runs it changes
 * its state). The bytes go out at the connection's next writable turn, so
 * this orders, it does not guarantee. NULL is a no-op. */
void gcs_flush(struct gcs_client *c);
/* The same from an argument vector: ARGV[i] holds ARGVLEN[i] bytes
 * (binary-safe; ARGVLEN NULL means strlen). */
int gcs_command_argv(struct gcs_client *c, gcs_reply_fn cb, void *arg, int argc,
                     const char **argv, const size_t *argvlen);

/* Subscribe CB to channel prefix+SUFFIX on the pub/sub connection;
 * resubscribed after every reconnect (messages published while disconnected
 * are lost: re-read the table after a reconnect). Several subscribers per
 * channel are fine. Returns 0, or -1 for a NULL argument or a client being freed. */
int gcs_subscribe(struct gcs_client *c, const char *suffix, gcs_message_fn cb, void *arg);
/* Remove the subscription made with the same SUFFIX, CB and ARG; CB is not
 * called afterwards. Returns 0, or -1 if there was none. */
int gcs_unsubscribe(struct gcs_client *c, const char *suffix, gcs_message_fn cb, void *arg);

/* -------------------------------------------------------------- records */

/* Table records. Strings are NUL-terminated and never NULL in records the
 * library hands out ("" for an absent field). Records passed to callbacks
 * are owned by the library and valid during the call; records from the
 * sync client are the caller's, freed with gcs_records_free. */
struct gcs_node {
    char *node_id, *address, *hostname, *session_dir;
    char *resources_total, *resources_available; /* "CPU=2,GPU=0,..." */
    char *state;                                  /* ALIVE | DEAD */
    char *death_reason;
    int port;                                     /* node manager TCP port */
    long long pid, start_time_ms, last_heartbeat_ms, queue_len;
    bool is_head;
};
struct gcs_job {
    char *job_id, *state; /* RUNNING | FINISHED | FAILED */
    char *driver_node, *library_hash, *entrypoint;
    long long driver_pid, start_time_ms, end_time_ms;
};
struct gcs_actor {
    char *actor_id, *class_name; /* key field "class" */
    char *state;                 /* PENDING | ALIVE | RESTARTING | DEAD */
    char *node, *address, *name, *job, *death_cause;
    char *pending_reason;        /* why a PENDING/RESTARTING actor waits ("" if it does not) */
    int port;
    long long restarts, max_restarts;
    bool detached;
    long long pid;               /* its worker process once ALIVE (0 before) */
};
struct gcs_pg {
    char *pg_id, *name, *strategy, *bundles, *state, *job;
    char *nodes; /* the node of each bundle, ','-separated ("" while not placed) */
};
struct gcs_task {
    char *task_id, *job, *name, *state; /* PENDING | RUNNING | FINISHED | FAILED */
    char *node;
    long long attempts, updated_ms;
    char *spec;                         /* SPEC_LEN bytes (msgpack), NUL-terminated */
    size_t spec_len;
};
struct gcs_object {
    char *object_id, *job; /* job: the job number, first 8 hex digits of the ID */
    char *nodes;           /* comma-separated node IDs holding it */
    long long size;
};

/* Free the strings of one record (the record itself is the caller's). */
void gcs_node_free_fields(struct gcs_node *n);
void gcs_job_free_fields(struct gcs_job *j);
void gcs_actor_free_fields(struct gcs_actor *a);
void gcs_pg_free_fields(struct gcs_pg *p);
void gcs_task_free_fields(struct gcs_task *t);
void gcs_object_free_fields(struct gcs_object *o);

/* List callbacks: on success V is non-NULL (even when N is 0); on failure V
 * is NULL and N 0. */
typedef void (*gcs_nodes_fn)(void *arg, const struct gcs_node *v, size_t n);
typedef void (*gcs_jobs_fn)(void *arg, const struct gcs_job *v, size_t n);
typedef void (*gcs_actors_fn)(void *arg, const struct gcs_actor *v, size_t n);
typedef void (*gcs_pgs_fn)(void *arg, const struct gcs_pg *v, size_t n);
/* Get callbacks: the record, or NULL when absent or on failure. */
typedef void (*gcs_actor_fn)(void *arg, const struct gcs_actor *a);
typedef void (*gcs_pg_fn)(void *arg, const struct gcs_pg *p);
typedef void (*gcs_task_fn)(void *arg, const struct gcs_task *t);
/* String-list callback: NAMES (N entries), NULL on failure. */
typedef void (*gcs_strings_fn)(void *arg, const char *const *names, size_t n);
/* Single-string callback: S (LEN bytes) or NULL when absent / on failure. */
typedef void (*gcs_bytes_fn)(void *arg, const char *s, size_t len);

/* All table functions return 0 once the command is queued or sent, -1 for
 * invalid arguments (a NULL or empty ID); fire-and-forget writes log a Redis
 * error. Callbacks may be NULL. */

/* --- node table: hash <p>node:<id>, set <p>nodes, and the dynamic half of
 * every record in hash <p>hb (field: node ID; value "<last_heartbeat_ms>
 * TAB <queue_len> TAB <resources_available>"), so that a heartbeat is one
 * HSET and the head reads every node's liveness and load with one HGETALL.
 * Listings merge <p>hb into the records they return. */
/* Write the whole record (state defaults to ALIVE), add it to <p>nodes and
 * give it its <p>hb entry. */
int gcs_node_register(struct gcs_client *c, const struct gcs_node *n, gcs_done_fn cb, void *arg);
/* Set NODE's <p>hb entry: last heartbeat NOW_MS, RESOURCES_AVAILABLE (NULL:
 * "") and QUEUE_LEN. One HSET. */
int gcs_node_heartbeat(struct gcs_client *c, const char *node_hex, long long now_ms,
                       const char *resources_available, long long queue_len);
/* Set state DEAD and death_reason, drop its <p>hb entry, and PUBLISH
 * "<id> DEAD" on <p>ch:nodes. */
int gcs_node_mark_dead(struct gcs_client *c, const char *node_hex, const char *reason);
/* Every node record, with <p>hb merged in. */
int gcs_nodes_list(struct gcs_client *c, gcs_nodes_fn cb, void *arg);
/* One node's record as registered (its dynamic fields are not merged): CB
 * gets it as an array of 1, or NULL and 0 if there is none. */
int gcs_node_get(struct gcs_client *c, const char *node_hex, gcs_nodes_fn cb, void *arg);
/* One entry of <p>hb; the strings live during the callback only. */
struct gcs_heartbeat {
    const char *node_id;
    long long last_ms, queue_len;
    const char *resources_available;
};
typedef void (*gcs_heartbeats_fn)(void *arg, const struct gcs_heartbeat *v, size_t n);
/* All of <p>hb in one HGETALL; CB gets NULL and 0 if the read failed. */
int gcs_node_heartbeats(struct gcs_client *c, gcs_heartbeats_fn cb, void *arg);

/* --- event log: stream <p>events. XADD with MAXLEN ~ events_cap; ts_ms is
 * the current wall-clock time. ID, NODE and DETAIL may be NULL. */
int gcs_event_add(struct gcs_client *c, const char *kind, const char *id_hex,
                  const char *node_hex, const char *detail);

/* --- object table: hash <p>obj:<id>, set <p>objloc:<id>, set <p>objects,
 * set <p>jobobjs:<job8> */
/* Record that NODE holds the object (SIZE bytes) and PUBLISH the node id on
 * <p>ch:obj:<id> (subscribe to suffix "ch:obj:<id>" to wait for it). */
int gcs_object_add_location(struct gcs_client *c, const char *obj_hex, const char *node_hex,
                            long long size);
int gcs_object_remove_location(struct gcs_client *c, const char *obj_hex, const char *node_hex);
/* Remove NODE from the locations of every object (it died). One script over
 * <p>objects: O(objects), run once per node death by the head. */
int gcs_node_forget_objects(struct gcs_client *c, const char *node_hex);
/* Delete the object's keys and index entries. */
int gcs_object_delete(struct gcs_client *c, const char *obj_hex);
/* The node IDs holding the object (N may be 0). */
int gcs_object_locations(struct gcs_client *c, const char *obj_hex, gcs_strings_fn cb, void *arg);

/* --- task table: hash <p>job:<job8>:taskrecs (field: task ID; value: the
 * record as text, docs/gcs.md), sorted set <p>tasks:finished. Task IDs
 * start with their job's 8 hex digits. */
/* Store a new task (state PENDING, attempts 0) with its SPEC bytes. */
int gcs_task_put(struct gcs_client *c, const char *task_hex, const char *job_hex,
                 const char *name, const void *spec, size_t speclen);
/* Set state, node (NULL: unchanged) and attempts (<0: unchanged). FINISHED
 * and FAILED tasks enter <p>tasks:finished; beyond tasks_kept the oldest are
 * deleted. A task no longer in Redis is not recreated. */
int gcs_task_set_state(struct gcs_client *c, const char *task_hex, const char *state,
                       const char *node_hex, int attempts);
/* Store the whole record of task T->task_id as it stands now (replacing any
 * earlier one): state, node, attempts and spec; for FINISHED or FAILED the
 * entry in <p>tasks:finished with its trimming. Records made in one turn of
 * the loop go out together. updated_ms is set here. Returns 0 when queued,
 * -1 on a bad ID or an empty state. */
int gcs_task_record(struct gcs_client *c, const struct gcs_task *t);
/* The same record, written only if the task has none yet (HSETNX): a
 * direct task's PENDING/RUNNING report never hides its final record
 * (runtime/lease.c). Returns 0 or -1 (bad IDs). */
int gcs_task_record_nx(struct gcs_client *c, const struct gcs_task *t);
int gcs_task_get(struct gcs_client *c, const char *task_hex, gcs_task_fn cb, void *arg);

/* --- function table: string <p>fnlib:<sha256>, set <p>job:<job>:functions */
/* Store the library bytes once (SET NX: an existing copy is kept). */
int gcs_function_put(struct gcs_client *c, const char *hash_hex, const void *bytes, size_t len,
                     gcs_done_fn cb, void *arg);
int gcs_function_get(struct gcs_client *c, const char *hash_hex, gcs_bytes_fn cb, void *arg);
int gcs_job_functions_add(struct gcs_client *c, const char *job_hex, const char *const *names,
                          size_t n);
int gcs_job_functions(struct gcs_client *c, const char *job_hex, gcs_strings_fn cb, void *arg);

/* --- job table: hash <p>job:<id>, set <p>jobs */
int gcs_job_put(struct gcs_client *c, const struct gcs_job *j, gcs_done_fn cb, void *arg);
/* Set state and, when END_TIME_MS > 0, end_time_ms. */
int gcs_job_set_state(struct gcs_client *c, const char *job_hex, const char *state,
                      long long end_time_ms);
int gcs_jobs_list(struct gcs_client *c, gcs_jobs_fn cb, void *arg);
/* Delete a finished job's objects and function list and, with TASKS, the
 * records of its tasks that never finished (finished ones stay for `ray
 * list tasks` until the tasks:finished cap trims them); not the job record,
 * nor the shared library bytes. Objects belong to a job by job number: the
 * first 8 hex digits of both IDs (common/ids.h layout); those listed in
 * <p>jobkeep:<job8> (a detached actor's) stay. Idempotent: every node that
 * ran the job calls it again once its own writes are out. The call at the
 * job's end passes TASKS false: a task that finished on another node may
 * have its FINISHED still on the way, and a state change finds no record
 * once deleted; the last sweep (objlife.c) passes true. */
int gcs_job_cleanup(struct gcs_client *c, const char *job_hex, bool tasks);

/* --- actor directory: hash <p>actor:<id>, string <p>actor_name:<name>,
 * set <p>actors */
/* Write the record; a non-empty name is claimed atomically: CB gets
 * GCS_ECONFLICT (and nothing is written) if another actor holds it. */
int gcs_actor_put(struct gcs_client *c, const struct gcs_actor *a, gcs_done_fn cb, void *arg);
/* Update state and, where given, node/address (NULL: unchanged), port and
 * restarts (<0: unchanged), death_cause (NULL: unchanged). DEAD releases the
 * actor's name. */
int gcs_actor_set_state(struct gcs_client *c, const char *actor_hex, const char *state,
                        const char *node_hex, const char *address, int port, int restarts,
                        const char *death_cause);
int gcs_actor_get(struct gcs_client *c, const char *actor_hex, gcs_actor_fn cb, void *arg);
/* The actor ID holding NAME, or NULL. */
int gcs_actor_lookup_name(struct gcs_client *c, const char *name, gcs_bytes_fn cb, void *arg);
int gcs_actors_list(struct gcs_client *c, gcs_actors_fn cb, void *arg);

/* --- placement groups: hash <p>pg:<id>, set <p>pgs */
int gcs_pg_put(struct gcs_client *c, const struct gcs_pg *p, gcs_done_fn cb, void *arg);
int gcs_pg_get(struct gcs_client *c, const char *pg_hex, gcs_pg_fn cb, void *arg);
int gcs_pg_remove(struct gcs_client *c, const char *pg_hex);
int gcs_pgs_list(struct gcs_client *c, gcs_pgs_fn cb, void *arg);

#endif
