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

#define PG_TOMBSTONES 4096

struct pg;
struct event;

/* What this node holds of a group. */
struct held_bundle {
    int index;
    uint64_t attempt;
    bool committed;
    struct res_set phys;     /* taken from the node's free resources */
    struct res_set group;    /* added once committed */
};
struct held {
    uint8_t id[IDS_SIZE];
    char tag[PG_POLICY_TAG_LEN + 1];
    struct held_bundle *b;
    size_t n;
};

/* A client's request forwarded to the head. */
struct fwdreq {
    uint64_t reqid;          /* ours, on the head connection */
    uint64_t client_reqid;
    struct conn *conn;
    uint64_t conn_id;
    uint32_t type;           /* the reply's type */
    long long sent_ms;
    struct buf frame;        /* the request as sent: sent again to a new head */
    char head[IDS_HEX_SIZE]; /* the head it was sent to */
    struct fwdreq *next;
};

struct pgs {
    struct idmap live;       /* head: id -> struct pg (not removed) */
    struct idmap removed;    /* every node: tombstones, id -> (void *)1 */
    uint8_t (*tomb)[IDS_SIZE];
    size_t ntomb, tomb_next;
    struct pg *queue;        /* head: groups waiting for a place, rescheduled first */
    struct event *retry_ev;
    struct idmap held;       /* every node: id -> struct held */
    struct fwdreq *fwd;
    uint64_t next_fwd;
    uint64_t next_attempt;
    struct pg *rec_head;     /* records to write (pg_record) */
    struct event *rec_ev;
    uint8_t (*trim)[IDS_SIZE]; /* removed groups whose records are trimmed next */
    size_t ntrim;
};

static inline struct pgs *P(struct runtime *rt)
{
    return rt->pgs;
}

static inline bool is_head(struct runtime *rt)
{
    return rt->n->is_head;
}

/* pg_node.c */
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
/* Register the node-to-node handlers; free what the node holds. */
void pg_node_init_(struct runtime *rt);
void pg_node_free_(struct runtime *rt);

#endif
