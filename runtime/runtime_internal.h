/*
 * runtime_internal.h — the structures shared by the runtime's files:
 *
 *   runtime.c   peers (HELLO of workers, drivers, CLI), clients, life cycle
 *   objects.c   OBJ_* messages: puts, creates, gets and waits; error objects
 *   tasks.c     TASK_SUBMIT / TASK_DONE, task records, retries, and the
 *               operations of the local scheduler (sched/local.c: the
 *               queues and the dispatch policy)
 *   actors.c    ACTOR_* messages, actor records, restarts
 *   workers.c   the worker pool: spawn, reuse, death, output capture
 *   jobs.c      JOB_SUBMIT, drivers, job libraries, log streaming, job end
 *
 * Everything runs on the node's loop thread.
 */
#ifndef RAY_RUNTIME_INTERNAL_H
#define RAY_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/idmap.h"
#include "common/ids.h"
#include "daemon/bio.h"
#include "daemon/node.h"
#include "runtime/runtime.h"
#include "daemon/server.h"
#include "objmgr/objmgr.h"
#include "objmgr/objrec.h"
#include "sched/local.h"
#include "sched/resources.h"

struct client;
struct event;
struct job;
struct worker;
struct actor;
struct task;

/* Value type tags of store objects beyond ray_type's 0..7. */
#define VT_ERROR 100

/* ---- clients: a connected worker or driver (runtime.c's own struct) ------ */
/* Its connection (NULL once closed: it is freed then). */
struct conn *client_conn(const struct client *cl);
/* Its client id for objstore pins (> 0). */
int client_store_id(const struct client *cl);
/* Its job (never NULL for a client). */
struct job *client_job(const struct client *cl);
/* The worker it is (NULL for a driver, or once its worker is gone). */
struct worker *client_worker(const struct client *cl);
void client_set_worker(struct client *cl, struct worker *w);
bool client_is_driver(const struct client *cl);
/* The gets and waits of this worker now waiting at the node; add DELTA. */
int client_nblocked(const struct client *cl);
void client_nblocked_add(struct client *cl, int delta);
/* The clients connected now, newest first: client_first, then client_next
 * until NULL (do not free one while walking). */
struct client *client_first(const struct runtime *rt);
struct client *client_next(const struct client *cl);
/* The client whose store id is ID, or NULL. */
struct client *client_by_store_id(const struct runtime *rt, int id);

/* ---- tasks ---------------------------------------------------------------- */
enum task_kind { TASK_NORMAL, TASK_ACTOR_NEW, TASK_ACTOR_CALL };
enum task_state { TASK_WAITING_DEPS, TASK_QUEUED, TASK_RUNNING };

/* (struct task is tasks.c's own; what other files read of it:) */
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
void task_set_name(struct task *t, char *v); /* takes V (malloc'd), frees the old name */
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
/* T: killed because its placement group was removed (pg.c). */
void task_set_pg_removed(struct task *t, bool v);

enum worker_state { WORKER_STARTING, WORKER_IDLE, WORKER_BUSY, WORKER_DEAD };
/* ---- workers (workers.c's own struct: these read and set the fields other
 * files need; the logic of its lists of tasks is tasks.c's) ----------------- */
/* W: the actor it is dedicated to (NULL: none). */
struct actor *worker_actor(const struct worker *w);
void worker_set_actor(struct worker *w, struct actor *v);
/* W: tasks sent ahead to run after its task, oldest first (tasks.c links them by next/prev). */
struct task *worker_ahead_head(const struct worker *w);
void worker_set_ahead_head(struct worker *w, struct task *v);
/* W: the newest of them. */
struct task *worker_ahead_tail(const struct worker *w);
void worker_set_ahead_tail(struct worker *w, struct task *v);
/* W: tasks nested in it while its others wait, newest first (tasks.c). */
struct task *worker_nest_head(const struct worker *w);
void worker_set_nest_head(struct worker *w, struct task *v);
/* W: the normal task running (not actor calls; NULL: none). */
struct task *worker_task(const struct worker *w);
void worker_set_task(struct worker *w, struct task *v);
/* W: its connection's client once connected (NULL before). */
struct client *worker_client(const struct worker *w);
/* W: the CUDA_VISIBLE_DEVICES it was started with ("" none). */
const char *worker_gpus(const struct worker *w);
/* W: its job. */
struct job *worker_job(const struct worker *w);
/* W: how many tasks are sent ahead to it. */
int worker_nahead(const struct worker *w);
/* W: how many tasks are nested in it. */
int worker_nnest(const struct worker *w);
/* W: the next worker of the node's list (NULL: the last). */
struct worker *worker_next(const struct worker *w);
/* W: it wrote output since its last TASK_DONE (observe.c). */
bool worker_printed(const struct worker *w);
void worker_set_printed(struct worker *w, bool v);
/* W: its state. */
enum worker_state worker_state(const struct worker *w);
void worker_set_state(struct worker *w, enum worker_state v);
void worker_nahead_add(struct worker *w, int d);
void worker_nnest_add(struct worker *w, int d);
/* W: add to the TASK_DONEs read from it (against its progress page). */
void worker_ndone_add(struct worker *w, uint64_t d);
/* W's process id (0 while its fork runs on the helper thread). */
pid_t worker_pid(const struct worker *w);
/* The pids of the node's live worker processes: at most MAX into OUT;
 * returns how many. */
size_t workers_pids(const struct runtime *rt, pid_t *out, size_t max);
/* W's last task was NAME: its late output lines are prefixed with it. */
void worker_set_last_name(struct worker *w, const char *name);

/* ---- actors (actors.c's own struct) ------------------------------------- */
enum actor_state { ACTOR_PENDING, ACTOR_ALIVE, ACTOR_RESTARTING, ACTOR_DEAD };
/* A: its id. */
const uint8_t *actor_id(const struct actor *a);
/* A: its id in hex. */
const char *actor_hex(const struct actor *a);
/* A: its class. */
const char *actor_cls(const struct actor *a);
/* A: its name (NULL if unnamed). */
const char *actor_name(const struct actor *a);
/* A: its job. */
struct job *actor_job(const struct actor *a);
/* A: its state. */
enum actor_state actor_state(const struct actor *a);
/* A: its creation spec (to restart it). */
const struct buf *actor_spec(const struct actor *a);
/* A: detached (lives past its job). */
bool actor_detached(const struct actor *a);
/* A: how often it may restart (-1: forever). */
int actor_max_restarts(const struct actor *a);
/* A: how often it restarted. */
int actor_restarts(const struct actor *a);
/* A: its worker (NULL: none now). */
struct worker *actor_worker(const struct actor *a);
void actor_set_worker(struct actor *a, struct worker *v);
/* A: its constructor task while pending (NULL: none). */
struct task *actor_create(const struct actor *a);
void actor_set_create(struct actor *a, struct task *v);
/* A: the oldest of the calls sent to its worker (linked by next). */
struct task *actor_running(const struct actor *a);
/* A: a route to an actor living on another node. */
bool actor_remote(const struct actor *a);

/* ---- jobs (jobs.c's own struct) ------------------------------------------- */
/* Job NUM known here, or NULL. */
struct job *rt_job_find(struct runtime *rt, uint32_t num);
/* A line of job J's output (STREAM 1 stdout, 2 stderr): sent to its
 * driver's node if J is remote, else appended to job-<hex>.log/.err (by the
 * helper thread) and sent to its `ray submit` as JOB_LOG. */
void rt_job_log(struct runtime *rt, struct job *j, int stream, const char *line, size_t len);
/* The jobs known here, newest first: jobs_first, then job_next until NULL. */
struct job *jobs_first(const struct runtime *rt);
struct job *job_next(const struct job *j);
/* Its number, and that as 8 hex digits. */
uint32_t job_num(const struct job *j);
const char *job_hex(const struct job *j);
/* The cached library's path (NULL until known), its SHA-256 in hex ("" until
 * known), and the library as its user named it (NULL if unknown). */
const char *job_lib_path(const struct job *j);
const char *job_lib_hash(const struct job *j);
const char *job_entrypoint(const struct job *j);
/* A remote job's library is being read from the GCS (spillback.c sets it). */
bool job_lib_fetching(const struct job *j);
void job_set_lib_fetching(struct job *j, bool on);
/* The library's absence was logged once (spillback.c). */
bool job_lib_missing_told(const struct job *j);
void job_set_lib_missing_told(struct job *j);
/* Its driver was told once that the worker cap holds work back (tasks.c). */
bool job_warned_cap(const struct job *j);
void job_set_warned_cap(struct job *j);
/* Its `ray submit` connection, or NULL. */
struct conn *job_submitter(const struct job *j);
/* Its driver's connection here (NULL: none yet, or gone). */
struct client *job_driver(const struct job *j);
void job_set_driver(struct job *j, struct client *cl);
/* The driver process this node started (-1: none). */
pid_t job_driver_pid(const struct job *j);
/* Ending (jobs_end began), and ended. */
bool job_ending(const struct job *j);
bool job_ended(const struct job *j);
/* Its workers (starting or running); add DELTA. */
int job_nworkers(const struct job *j);
void job_nworkers_add(struct job *j, int delta);
/* A job of another node whose work was placed here, and that node's hex id. */
bool job_remote(const struct job *j);
const char *job_origin(const struct job *j);
/* Its canonical runtime_env (ray submit), or NULL. */
const char *job_renv(const struct job *j);

/* ---- waiters on objects ---------------------------------------------------- */
enum waiter_kind { WAIT_TASK_DEP, WAIT_GET, WAIT_WAIT, WAIT_PUSH };
struct get_req;
struct wait_req;
struct push_req;
/* (struct waiter, one entry of runtime.waiters' lists, is objects.c's own) */

/* ---- the cluster as this node sees it (cluster.c's own struct cluster_node) -- */
/* The I-th node of the view (0 <= I < rt->nnodes). */
struct cluster_node *cluster_node_at(const struct runtime *rt, size_t i);
/* CN: it is alive (as the node table says). */
bool cluster_node_alive(const struct cluster_node *cn);
/* CN: tasks placed there since its last heartbeat (head). */
int cluster_node_assigned(const struct cluster_node *cn);
/* CN: what it has free, as last reported (the placement-group code adjusts it until the next report). */
struct res_set *cluster_node_avail(const struct cluster_node *cn);
/* CN: its resources. */
const struct res_set *cluster_node_total(const struct cluster_node *cn);
/* CN: its node id in hex. */
const char *cluster_node_id(const struct cluster_node *cn);
/* CN: it is the head. */
bool cluster_node_is_head(const struct cluster_node *cn);
/* CN: it is this node. */
bool cluster_node_self(const struct cluster_node *cn);
/* CN: its queue length, as last reported. */
long long cluster_node_queue_len(const struct cluster_node *cn);
void cluster_node_assigned_add(struct cluster_node *cn, int d);

/* ---- the runtime ------------------------------------------------------------- */
struct runtime {
    struct node *n;
    struct conn_owner peer_owner; /* CONN_OWNER_PEER: other nodes' connections (cluster.c) */
    struct client *clients;
    int next_store_id;
    struct job *jobs;
    struct worker *workers;
    int nworkers, nstarting;
    struct idmap worker_by_id;
    struct idmap actors;        /* id -> struct actor */
    struct idmap waiters;       /* object id -> struct waiter list */
    struct idmap tasks_by_id;   /* task id -> struct task, for every task alive here */
    struct sched_local *sched;  /* ready tasks and the dispatch policy (sched/local.c) */
    struct task *waiting_head;  /* tasks waiting for their arguments */
    long long waiting;          /* tasks waiting for arguments (heartbeats) */
    long long pipelined;        /* tasks sent ahead to busy workers, not started */
    int max_workers;
    struct buf demands_text;    /* last demands written to the GCS */
    struct event *demands_ev;   /* publishes them every 500 ms */
    struct event *sched_ev;     /* deferred dispatch */
    struct objrecs *objrecs;    /* object-table entries held back (objmgr/objrec.c) */
    struct objlife *objlife;    /* freed objects, ended jobs, kept objects (objlife.c) */
    long rec_live;              /* unfinished tasks with a record written (taskrec.c) */
    struct task *rec_head, *rec_tail; /* task-table writes held back, oldest first (taskrec.c) */
    struct event *rec_ev;       /* writes them out */
    struct event *tick;         /* periodic: idle workers, demands */
    struct event *sigchld;
    struct pending_create *creates; /* OBJ_CREATE / OBJ_PUT waiting for space */
    struct get_req *gets;       /* OBJ_GET requests waiting */
    struct wait_req *waits;     /* OBJ_WAIT requests waiting */
    struct push_req *pushes;    /* OBJ_SUBSCRIBE requests waiting (objects.c) */
    struct cluster_node *nodes; /* the node table, refreshed each heartbeat interval */
    size_t nnodes, nodes_cap;
    struct event *cluster_timer;
    struct event *cluster_retry; /* non-head: lists again until the first listing works */
    bool cluster_listing;
    bool cluster_synced;         /* the whole table was listed once */
    struct objmgr *om;          /* object transfers (objmgr/objmgr.c) */
    struct spill *sp;           /* spillback and remote placement (spillback.c) */
    struct pgs *pgs;            /* placement groups (pg.c) */
    struct bio *bio;            /* the helper thread: file writes, hashing, forks (bio.h) */
    struct bio_file *logf;      /* the node's own log, written through bio (log_set_sink) */
    bool stopping;
};

/* objmgr_ops.c: the runtime's side of the object manager (objmgr/objmgr.h):
 * the ops table it is built with, and the calls the runtime makes into it */
void rt_objmgr_init(struct runtime *rt);
void rt_objmgr_free(struct runtime *rt);
/* Something on this node waits for ID, which is not in the local store:
 * ask the object manager to find a holder in the cluster and pull it,
 * unless this node will make it itself (tasks_expected_here), is alone, or
 * is stopping. Idempotent. */
void objmgr_want_here(struct runtime *rt, const uint8_t *id);

/* spillback.c: the local scheduler's spillback and the global scheduler */
void spill_init(struct runtime *rt);
void spill_free(struct runtime *rt);
/* T (queued here, not startable now) should go to the global scheduler:
 * other nodes exist, it was not placed here by it, and it cannot ever run
 * here or the local queue is over its threshold. */
bool spill_should(struct runtime *rt, const struct task *t);
/* Send T to the global scheduler. The caller then drops T (this node keeps
 * what it needs to retry it if the node running it dies). Returns 0, -1 if
 * no head is reachable (keep T), or 1 if T is an actor of this node (the
 * head) that no other node can start now: keep it, placed here. */
int spill_send(struct runtime *rt, struct task *t);
/* Node HEX died: retry or fail the tasks this node sent there. */
void spill_node_dead(struct runtime *rt, const char *hex);
/* Task T of a job placed here from another node ended: send its small
 * results to the submitting node, which keeps them (as Ray's owner does), so
 * they survive this node and need no pull. */
void spill_push_returns(struct runtime *rt, struct task *t);
/* Job J ended here: forget what it sent away; tell other nodes (origin side). */
void spill_job_ended(struct runtime *rt, struct job *j);
/* Remote jobs whose library was not in the function table yet (its job's
 * node may still be writing it) read it again: called once a second. */
void spill_libraries_retry(struct runtime *rt);
/* Head (pg.c): send a task or actor constructor (KIND 0/1) that waited for
 * its placement group through the global scheduler again. */
void spill_route_again(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                       const char *origin, const char *lib);
/* Head (pg.c): fail a task (KIND 0) that reached the global scheduler with
 * CODE and MSG, here: its returns become ERROR objects its submitter
 * fetches; an actor constructor (KIND 1) is logged and dropped. */
void spill_fail_here(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                     const char *origin, const char *lib, int code, const char *msg);
/* A warning LINE (STREAM 2: stderr) for job NUM's driver, on whichever node it is. */
void spill_job_log_to_origin(struct runtime *rt, uint32_t num, int stream, const char *line);

struct gcs_task;
/* Lineage (docs/faults.md): object ID, a return of a task this node sent
 * away, has no holder left (HOLDER, "" if unknown, died with it; GT is its
 * task record or NULL). Returns 1 if it is being made again (queued here,
 * running elsewhere, or rebuilt now by running its task again, a new
 * attempt counted against max_retries), 0 if this node has no lineage of
 * it, -1 if it cannot be rebuilt, with the reason in WHY ("task f cannot
 * run again: its retries are used up", "its lineage was trimmed", ...). */
int spill_lineage_lost(struct runtime *rt, const uint8_t *id, const struct gcs_task *gt,
                       const char *holder, char *why, size_t whylen);
/* Object ID was freed (ray_free, here or on another node): once every
 * return of the task that made it is freed, that task's lineage entry goes
 * and its bytes leave the lineage_max_bytes budget. A no-op for IDs this
 * node keeps no lineage of. */
void spill_obj_freed(struct runtime *rt, const uint8_t *id);
/* Lineage kept here: its bytes (counted as lineage_max_bytes counts them)
 * and its entries, into *BYTES and *ENTRIES. */
void spill_lineage_size(const struct runtime *rt, size_t *bytes, size_t *entries);


/* cluster.c */
void cluster_init(struct runtime *rt);
void cluster_free(struct runtime *rt);
/* The node with ID HEX, or NULL. */
struct cluster_node *cluster_find(struct runtime *rt, const char *hex);
/* The head node, or NULL if not known yet. */
struct cluster_node *cluster_head(struct runtime *rt);
/* Alive nodes other than this one. */
size_t cluster_alive_others(struct runtime *rt);
/* Our connection to node HEX (dialed on first use). NULL if the node is
 * unknown or dead. Frames sent on it before it connects wait in order. */
struct conn *cluster_conn(struct runtime *rt, const char *hex);
/* C is a node's connection to us that the object manager serves: see that
 * objmgr_conn_closed runs when it goes, unless another module owns it
 * (and unwatch: no longer). */
void cluster_watch_peer(struct runtime *rt, struct conn *c);
void cluster_unwatch_peer(struct runtime *rt, struct conn *c);
/* Node HEX is dead (seen in the table or on the nodes channel). */
void cluster_node_dead(struct runtime *rt, const char *hex);
/* Fetch node HEX's record into the view if it is not there yet (a node that
 * sends us work before its join reached us). */
void cluster_learn(struct runtime *rt, const char *hex);
/* The GCS connection is back: read the node table again (restart.md). */
void cluster_resync(struct runtime *rt);

/* runtime.c */
/* Arm EV, a one-shot timer, to fire at DUE_MS (net_now_ms's clock), at
 * least a millisecond from now. */
void rt_timer_at(struct event *ev, long long due_ms);
struct client *rt_client_of(struct conn *c);

/* objects.c */
void objects_init(struct runtime *rt);
void objects_free(struct runtime *rt);
/* The store's ready callback: ID is readable; wake its waiters. */
void objects_ready(struct runtime *rt, const uint8_t *id);
/* Store an ERROR object (code, message) under ID, replacing what was there
 * unless it is pinned. */
void objects_put_error(struct runtime *rt, const uint8_t *id, int code, const char *msg);
/* Send each return of T sealed in memory here, of at most MAX_BYTES (and,
 * with SCALARS_ONLY, a scalar: no STR or BYTES), to C as a TYPE message
 * (id, vtype, data): copies for whoever will want them. */
void objects_send_returns(struct runtime *rt, const struct task *t, struct conn *c, uint32_t type,
                          uint64_t max_bytes, bool scalars_only);
/* T ended well: send its small scalar returns to the client that submitted
 * it (OBJ_VALUE), so that client answers ray_get/ray_wait of them itself. */
void objects_push_values(struct runtime *rt, const struct task *t);
/* ID (SIZE bytes) was sealed here: record it in the object table, or
 * delete it if it was freed or its job has ended (objlife.c). */
void objects_sealed(struct runtime *rt, const uint8_t *id, uint64_t size);
/* Store a copy of a small object made on another node (no-op if present). */
void objects_put_copy(struct runtime *rt, const uint8_t *id, uint32_t vtype, const void *data,
                      size_t len);
/* True if ID is sealed here (in memory or spilled). */
bool objects_have(struct runtime *rt, const uint8_t *id);
/* Register W as waiting for ID. */
void objects_wait_for(struct runtime *rt, const uint8_t *id, enum waiter_kind kind, void *ptr);
/* Drop every waiter entry pointing at PTR (a task being freed...). */
void objects_forget_waiter(struct runtime *rt, void *ptr);
/* A client went away: fail its pending gets/waits, drop its pins and unsealed creates. */
void objects_client_gone(struct runtime *rt, struct client *cl);
/* Delete every object of job NUM. */
void objects_delete_job(struct runtime *rt, uint32_t num);

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

/* tasks.c */
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
/* A node joined: tasks placed back here because no node could ever run
 * them may ask the global scheduler once more (the new node may fit them;
 * the autoscaler starts such nodes). Call before tasks_schedule. */
void tasks_node_joined(struct runtime *rt);
/* Nodes joined this node's view: calls queued for an actor whose node was
 * not known yet look up its route again. */
void actors_nodes_joined(struct runtime *rt);
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

/* ---- the end of objects: tombstones, job sweeps (objlife.c) ---------------------- */
void objlife_init(struct runtime *rt);
void objlife_free(struct runtime *rt);
/* ID was freed (ray_free, here or on another node): remember it. */
void objlife_freed(struct runtime *rt, const uint8_t *id);
/* True if ID was freed (as far as this node remembers). */
bool objlife_is_freed(struct runtime *rt, const uint8_t *id);
/* If ID is known to be gone for good (freed, or of a job that ended here
 * and not kept by a detached actor), returns RAY_ENOTFOUND and, if PAYLOAD
 * is not NULL, appends the ERROR payload ([code, message]) that says so;
 * else 0 (not made yet, as far as this node knows). */
int objlife_gone(struct runtime *rt, const uint8_t *id, struct buf *payload);
/* True if ID belongs to a job that ended here and no live detached actor keeps it. */
bool objlife_job_over(struct runtime *rt, const uint8_t *id);
/* Someone started waiting for ID, which is gone: answer its waiters on the
 * next loop turn (objlife_answer_now). */
void objlife_answer_later(struct runtime *rt, const uint8_t *id);
/* Wake ID's waiters now with an ERROR object saying why ID is gone, stored
 * here only (not in the object table). No-op if ID is here, has no waiter
 * or is not gone. */
void objlife_answer_now(struct runtime *rt, const uint8_t *id);
/* Client CL put or creates ID: kept past its job's end if CL is a detached actor. */
void objlife_put_by(struct runtime *rt, struct client *cl, const uint8_t *id);
/* Detached actor A became alive here: its job is not "ended" here any more. */
void objlife_actor_alive(struct runtime *rt, const struct actor *a);
/* A call CALL_ID (its ID carries its caller's job) from or to a detached
 * actor arrived here: if that job is listed as ended here it is not any
 * more, and its pending sweeps are dropped (a detached actor of it is
 * calling; the call's returns are sealed or fetched here). */
void objlife_call_in(struct runtime *rt, const uint8_t *call_id);
/* ID was freed: if it was kept, it is not any more. */
void objlife_kept_freed(struct runtime *rt, const uint8_t *id);
/* Job NUM ended here: delete its objects from the store now, remember the
 * end, and sweep store and GCS again a second and five seconds later. */
void objlife_job_ended(struct runtime *rt, uint32_t num);

/* ---- the task table, written behind (taskrec.c) ------------------------------ */
void taskrec_init(struct runtime *rt);
/* Write everything held back, then free the timer. */
void taskrec_free(struct runtime *rt);
/* T was submitted here: its record is written within a second, or at its end. */
void taskrec_submitted(struct runtime *rt, struct task *t);
/* T (a normal task) started: its state is written within a second unless it ends first. */
void taskrec_running(struct runtime *rt, struct task *t);
/* T ended in STATE (FINISHED, FAILED): its record or state is written now. */
void taskrec_final(struct runtime *rt, struct task *t, const char *state);
/* T is about to leave this node: write what is held back for it now. */
void taskrec_flush_one(struct runtime *rt, struct task *t);
/* T is being destroyed: drop what is held back for it. */
void taskrec_forget(struct runtime *rt, struct task *t);

/* actors.c */
void actors_init(struct runtime *rt);
void actors_free(struct runtime *rt);
/* The actor's worker connected and is ready for its constructor. */
void actors_worker_ready(struct runtime *rt, struct actor *a, struct worker *w);
/* TASK_DONE for an actor task. */
void actors_task_done(struct runtime *rt, struct task *t, int status, const char *msg);
/* The actor's worker died. UNACKED: calls it finished (by its progress
 * page) whose TASK_DONE never reached us: they ran, so they fail with the
 * running ones instead of running again. */
void actors_worker_died(struct runtime *rt, struct actor *a, const char *why, long unacked);
/* Kill the job's non-detached actors. */
void actors_job_ended(struct runtime *rt, struct job *j);
/* Kill, for good, the actors living here in the placement group tagged TAG
 * (their demand names its resources): the group was removed. */
void actors_kill_pg(struct runtime *rt, const char *tag);
/* Try to send queued calls of A. */
void actors_pump(struct runtime *rt, struct actor *a);
/* The global scheduler placed the constructor of the actor in SPEC here. */
void actors_place(struct runtime *rt, struct job *j, const void *spec, size_t len);
/* The constructor of A left for another node: A becomes a route there. */
void actors_spilled(struct runtime *rt, struct actor *a);
/* Node HEX died: routes to it fail their calls; owned actors restart elsewhere. */
void actors_node_dead(struct runtime *rt, const char *hex);

/* workers.c */
void workers_init(struct runtime *rt);
void workers_free(struct runtime *rt);
/* Start a worker process for job J (dedicated to actor A if not NULL, with
 * CUDA_VISIBLE_DEVICES=GPUS if not empty). Returns it, or NULL (logged). */
struct worker *workers_spawn(struct runtime *rt, struct job *j, struct actor *a, const char *gpus);
/* An idle worker of job J started with GPUS, or NULL. */
struct worker *workers_idle(struct runtime *rt, struct job *j, const char *gpus);
/* The same for a runtime environment RENV (canonical; NULL or "": none):
 * workers of different environments are never shared. workers_spawn_env
 * returns NULL too while the environment's working directory is being
 * fetched to this node (tasks_schedule runs when it is here). */
struct worker *workers_spawn_env(struct runtime *rt, struct job *j, struct actor *a,
                                 const char *gpus, const char *renv);
struct worker *workers_idle_env(struct runtime *rt, struct job *j, const char *gpus,
                                const char *renv);
/* True if W runs in environment RENV. */
bool workers_renv_is(const struct worker *w, const char *renv);

/* runtime_env.c */
/* Register RENV_UPLOAD (a standalone driver's packed working directory). */
void renv_init(struct runtime *rt);
/* The "NAME=value" strings (*EXTRA, *NEXTRA of them; the caller frees each
 * and the array) a worker of environment RENV gets. Returns 0, 1 when its
 * working directory is not on this node yet (fetching it; try again), or -1
 * for a malformed RENV (logged). */
int renv_worker_env(struct runtime *rt, const char *renv, char ***extra, size_t *nextra);
/* Keep a packed working directory (LEN BYTES whose SHA-256 must be HASH)
 * under SESSION_DIR/runtime_resources. Hashes and writes: call it on the
 * helper thread (bio.h); it touches no runtime state (the caller puts the
 * bytes in the function table, on the loop). Returns 0 or -1 (logged). */
int renv_store_tar_(const char *session_dir, const char *hash, const void *bytes, size_t len);
/* Number of workers of J that are starting (not yet connected). */
int workers_starting(struct runtime *rt, struct job *j);
/* Say in A's record why it waits for a worker (WHY), or that it no longer
 * does (NULL). Written only when that changes. */
void actors_note_waiting(struct runtime *rt, struct actor *a, const char *why);
/* W's connection closed: its death is handled now if its process has
 * exited already (so every TASK_DONE it sent was read first), else W is
 * stopped and handled when it is reaped. */
void workers_client_closed(struct runtime *rt, struct worker *w);
/* True while the node runs as many worker processes as its cap allows. */
bool workers_at_cap(const struct runtime *rt);
/* At the cap: stop the idle worker idle longest so another can start once
 * it is reaped. True if one was stopped (or one is stopping already). */
bool workers_reclaim_idle(struct runtime *rt);
/* A worker connected (HELLO with its id). Returns it or NULL if unknown. */
struct worker *workers_connected(struct runtime *rt, const uint8_t *id, struct client *cl);
void workers_set_idle(struct runtime *rt, struct worker *w);
/* Kill W (SIGKILL); its death is handled when SIGCHLD arrives. */
void workers_kill(struct runtime *rt, struct worker *w);
/* Kill every worker of job J. */
void workers_kill_job(struct runtime *rt, struct job *j);
/* Read whatever output W's pipes hold now (before reporting its end). */
void workers_drain_output(struct runtime *rt, struct worker *w);
/* Start up to N workers for job J ahead of demand. */
void workers_prestart(struct runtime *rt, struct job *j, int n);
/* Helpers shared with jobs.c (drivers are started and read the same way). */
typedef void (*workers_line_fn)(void *arg, const char *line, size_t len);
/* Read the non-blocking pipe FD: at most 64 KiB, or with DRAIN all there is
 * now. Bytes are queued for RAW (bio.h) if not NULL and collected in ACC, whose
 * complete lines (split at 16 KiB) go to EMIT; the partial rest is emitted
 * too at EOF or with DRAIN. Returns 1 at EOF or on a read error (the caller
 * closes FD), else 0. */
int workers_pipe_read_(int fd, struct buf *acc, bool drain, workers_line_fn emit, void *arg,
                       struct bio_file *raw);
/* fork + execve("/proc/self/exe", ARGV, ENV) with stdin /dev/null and
 * stdout/stderr on the pipe write ends OUT_W and ERR_W (close-on-exec; the
 * caller closes its copies after); every other fd is closed in the child,
 * which stays in rayd's process group. Returns the pid, or -1 with ERR.
 * Forks: called on the helper thread only (workers_spawn_async_). */
pid_t workers_spawn_process_(const char *const *argv, char *const *env, int out_w, int err_w,
                             char *err, size_t errlen);
/* Start a child off the loop: the pipes for its stdout and stderr are made
 * here (their read ends, non-blocking and close-on-exec, go to *OUT_FD and
 * *ERR_FD and are the caller's from now on, to watch at once); the fork +
 * exec (workers_spawn_process_) runs on the helper thread (bio.h), so the
 * loop never forks. ARGV is copied; ENV (from workers_env_build_) is taken.
 * With PROGRESS_NAME (not NULL or ""), that shared-memory page (one
 * uint64_t) is made first. DONE(RT, ARG, RES) runs on the loop: RES->pid is
 * the child or -1 (RES->err says why); DONE returns true if it took the
 * child (pid, page), false to have it killed and reaped. If the runtime is
 * freed first, DONE is not called: the child is killed and reaped and
 * FREE_ARG(ARG) is called (FREE_ARG may be NULL). Returns 0, or -1 with ERR
 * (no pipe: nothing queued, ENV freed, DONE never called). */
struct workers_spawn_result {
    pid_t pid;
    int out_fd, err_fd;      /* the read ends, as given to the caller */
    uint64_t *progress;      /* the page, or NULL */
    const char *err;
};
typedef bool (*workers_spawned_fn)(struct runtime *rt, void *arg,
                                   const struct workers_spawn_result *res);
int workers_spawn_async_(struct runtime *rt, const char *const *argv, char **env,
                         const char *progress_name, int *out_fd, int *err_fd,
                         workers_spawned_fn done, void (*free_arg)(void *arg), void *arg,
                         char *err, size_t errlen);
/* A copy of environ with each "NAME=value" of SET (NULL-terminated) replacing
 * NAME, and the names in UNSET (NULL-terminated; may be NULL) removed. Free
 * with workers_env_free_. */
char **workers_env_build_(const char *const *set, const char *const *unset);
void workers_env_free_(char **env);
/* Online CPUs, read once (sysconf reads /sys each time: not on the loop). */
int workers_cpu_count_(void);

/* jobs.c */
void jobs_init(struct runtime *rt);
void jobs_free(struct runtime *rt);
/* A driver process the node started exited with STATUS (waitpid). */
void jobs_driver_exited(struct runtime *rt, struct job *j, int status);
/* The driver of submitted job J connected (it loaded the library): start
 * J's workers ahead of its first tasks. Not before, so a library that
 * cannot be loaded is reported once, by the driver. */
void jobs_driver_connected(struct runtime *rt, struct job *j);
/* Create a job for a standalone driver; calls DONE(arg, job) once its number
 * is allocated (job NULL on failure). */
void jobs_new_standalone(struct runtime *rt, void (*done)(void *arg, struct job *j), void *arg);
/* End job J: stop its driver, workers and actors, delete its objects. */
void jobs_end(struct runtime *rt, struct job *j, const char *state);
/* Reap one child PID with STATUS: a driver? Returns true if it was one. */
bool jobs_child_exited(struct runtime *rt, pid_t pid, int status);
/* A job of node ORIGIN whose work the global scheduler placed here; its
 * library (by hash) is fetched from the function table. Returns it (an
 * existing record if there is one). */
/* Job NUM, whose driver reconnected here after its node OLD_NODE died:
 * made (or a remote one of it turned) local, its record's driver_node
 * rewritten to this node. Never NULL; the caller sets j->driver. */
struct job *jobs_adopt(struct runtime *rt, uint32_t num, const char *old_node, const char *lib_hash);
/* The node is stopping cleanly: J's `ray submit`, if one is attached, gets
 * JOB_EXIT 1 ("node ... stopped") and is let go, so that it does not wait
 * to reattach as it does when a head dies. */
void jobs_tell_stopped(struct runtime *rt, struct job *j);
/* The driver of J, which this node did not start (standalone, or adopted),
 * disconnected: the job ends (FAILED if an adopted driver said DRIVER_EXIT
 * with a non-zero status), and an attached `ray submit` gets JOB_EXIT. */
void jobs_driver_gone(struct runtime *rt, struct job *j);
struct job *jobs_new_remote(struct runtime *rt, uint32_t num, const char *origin,
                            const char *lib_hash);
/* Store library bytes for J: LEN bytes (copied) are hashed and written to
 * the node's cache on the helper thread (bio.h); back on the loop, J (if it
 * is still there and not ended) gets the path and the hash, the function
 * table the bytes, and the scheduler a pass (tasks waiting for a library).
 * Returns 0 (queued), or -1 for an empty library (logged). */
int jobs_set_library(struct runtime *rt, struct job *j, const void *bytes, size_t len);
/* Free the jobs that have ended and that nothing points at any more: no
 * worker, driver process reaped, no client (driver or worker connection).
 * Called after reaps and from the runtime's tick. */
void jobs_collect(struct runtime *rt);

#endif
