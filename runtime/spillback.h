/*
 * spillback.h — spillback, remote placement and lineage: the local scheduler's
 * side of the global scheduler (sched/global.c, sched/spillback.c). The
 * functions of runtime/spillback.c that the other files of the runtime call;
 * runtime/internal.h has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_SPILLBACK_H
#define RAY_RUNTIME_SPILLBACK_H

#include "runtime/internal.h"

struct gcs_task;

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

#endif
