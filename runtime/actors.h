/*
 * actors.h — actors: ACTOR_* messages, records, routes to other nodes,
 * restarts (struct actor is actors.c's own). The functions of runtime/actors.c
 * that the other files of the runtime call; runtime/internal.h has what they
 * all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_ACTORS_H
#define RAY_RUNTIME_ACTORS_H

#include "runtime/internal.h"

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
/* A asked to share a worker process (ray_opts.share_worker). */
bool actor_shared(const struct actor *a);
/* Nodes joined this node's view: calls queued for an actor whose node was
 * not known yet look up its route again. */
void actors_nodes_joined(struct runtime *rt);
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
/* True if an actor of job J that is not dead is known here: a detached
 * actor outlives its job (its creation still queued or waiting for the
 * job's library, its worker, its restarts), and needs J's record and
 * library as long as it lives. */
bool actors_job_in_use(struct runtime *rt, const struct job *j);
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
/* Say in A's record why it waits for a worker (WHY), or that it no longer
 * does (NULL). Written only when that changes. */
void actors_note_waiting(struct runtime *rt, struct actor *a, const char *why);
/* The actor ID known here (living here, or a route), or NULL. */
struct actor *actors_find(const struct runtime *rt, const uint8_t *id);
/* Entry E of a driver's DIRECT_ACTOR_LOST: a direct call to ACTOR,
 * unanswered when the driver's socket to the actor's worker WORKER closed.
 * It fails with RAY_EACTOR and the actor's own reason ("died: its worker
 * killed by signal 9", "was killed by ray_actor_kill") once the node has
 * handled that worker's going (at once when it has), unless its result is
 * stored by then. */
struct direct_entry;
void actors_direct_lost(struct runtime *rt, const uint8_t *actor, const uint8_t *worker,
                        const struct direct_entry *e);
/* Direct actor calls (docs/direct.md "Actor calls"): whether the caller
 * with store id OWNER may send its calls to actor ID's worker itself (the
 * actor lives here, is ALIVE, not detached, has a worker of its own,
 * max_concurrency 1, and no call of OWNER waits or runs here). Returns NULL with *WORKER its
 * worker's ID (owned by the worker), or why not (a static string). */
const char *actors_direct_check(const struct runtime *rt, const uint8_t *id, int owner,
                                const uint8_t **worker);
/* Every actor known here: id -> struct actor (iterate with idmap_next; do not change it). */
const struct idmap *actors_map(const struct runtime *rt);

#endif
