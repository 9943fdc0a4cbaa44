/*
 * pg_internal.h — what the two files of placement groups share: pg.c (the
 * head's group manager, clients' requests) and pg_node.c (every node's
 * prepared and committed bundles, tombstones). Nothing outside them
 * includes it; runtime/pg.h is the module's face.
 */
#ifndef RAY_DAEMON_PG_INTERNAL_H
#define RAY_DAEMON_PG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ids.h"
#include "common/idmap.h"
#include "runtime/internal.h"
#include "runtime/tasks.h"
#include "sched/pg_policy.h"
#include "sched/resources.h"

struct pg;
struct pgs;
struct event;

static inline struct pgs *P(struct runtime *rt)
{
    return rt->pgs;
}

static inline bool is_head(struct runtime *rt)
{
    return rt->n->is_head;
}

/* pg_node.c */
/* True if this node knows group ID to be removed (its tombstones). */
bool pg_is_removed_(struct runtime *rt, const uint8_t *id);
/* Remember group ID as removed (every node; the head also trims records). */
void pg_tomb_add_(struct runtime *rt, const uint8_t *id);
/* Reserve bundle INDEX (resource text RES) of group ID for ATTEMPT here.
 * Returns RAY_OK, or -1 (removed group, bad text, no room now). */
int pg_node_prepare_(struct runtime *rt, const uint8_t *id, uint64_t attempt, int index,
                     const char *res);
/* Turn ATTEMPT's reservations of group ID into its bundle resources. */
void pg_node_commit_(struct runtime *rt, const uint8_t *id, uint64_t attempt);
/* Give back what ATTEMPT (0: all, committed too) of group ID holds here;
 * REMOVED: the group is gone (its work here is failed or killed). */
void pg_node_release_(struct runtime *rt, const uint8_t *id, uint64_t attempt, bool removed);
/* Drop stale bundle names work gave back after its group left (the tick). */
void pg_node_sweep_(struct runtime *rt);
/* pg.c: head: the record of removed group ID, pushed out of the tombstones,
 * is deleted with the next batch of record writes. */
void pg_trim_add_(struct runtime *rt, const uint8_t *id);
/* Register the node-to-node handlers and make the node's state (rt->pgn);
 * free what the node holds. */
void pg_node_init_(struct runtime *rt);
void pg_node_free_(struct runtime *rt);

#endif
