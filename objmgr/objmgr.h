/*
 * objmgr.h — the object manager: moving objects between nodes' stores
 * (docs/objmgr.md; the DESIGN paragraph is in objmgr.c).
 *
 * Built from a store (objstore/), a GCS client (gcs/) and an ops table the
 * node hands in: how to reach its connections and its cluster view, and
 * what to tell its runtime (an object arrived, an object is lost, is anyone
 * still waiting). The runtime calls in (objmgr_want, objmgr_ready,
 * objmgr_on_message ...), the object manager calls back only through the
 * ops: it includes nothing of daemon/, and a connection is an opaque
 * `struct conn *` here. Everything runs on the node's loop thread.
 */
#ifndef RAY_OBJMGR_H
#define RAY_OBJMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct event_base;
struct gcs_client;
struct gcs_task;
struct objmgr;
struct proto_msg;
struct objstore;

/* What objmgr_ops.node_state says of a node. */
enum objmgr_node_state {
    OBJMGR_NODE_UNKNOWN = 0, /* not in the node table (yet) */
    OBJMGR_NODE_DEAD,
    OBJMGR_NODE_ALIVE,
};

/* The node's side. Every callback gets CTX (objmgr_new's) first, runs on
 * the loop thread, and must not call objmgr_free. Pointers passed in are
 * the object manager's and valid during the call only. */
struct objmgr_ops {
    /* ---- connections (the node's, opaque here) ---- */
    /* Queue LEN pre-encoded frame bytes to C. Returns 0, or -1 if C is closing. */
    int (*send)(struct conn *c, const void *frame, size_t len);
    /* Queue LEN bytes at P to C without copying them: DONE(P, LEN, ARG) is
     * called once they are written or dropped (also when this fails).
     * Returns 0, or -1 if C is closing (DONE has then been called). */
    int (*send_ref)(struct conn *c, const void *p, size_t len,
                    void (*done)(const void *p, size_t len, void *arg), void *arg);
    /* Bytes queued for output on C. */
    size_t (*outbuf_len)(const struct conn *c);
    /* Call CB(C, ARG) whenever C's output falls low again (NULL: stop). */
    void (*on_drain)(struct conn *c, void (*cb)(struct conn *c, void *arg), void *arg);
    /* C's number, unique on this node and never reused. */
    uint64_t (*conn_id)(const struct conn *c);
    /* Another node pulls from us on C: see that objmgr_conn_closed(C) is
     * called when C goes away (the node may already do so). */
    void (*watch_conn)(void *ctx, struct conn *c);
    /* ... and no longer (objmgr_free: the object manager is going). */
    void (*unwatch_conn)(void *ctx, struct conn *c);
    /* ---- the cluster view ---- */
    enum objmgr_node_state (*node_state)(void *ctx, const char *hex);
    /* Our connection to alive node HEX (dialed on first use), or NULL. */
    struct conn *(*node_conn)(void *ctx, const char *hex);
    /* ---- the runtime ---- */
    /* Does anything on this node still wait for ID? */
    bool (*has_waiters)(void *ctx, const uint8_t *id);
    /* ID (SIZE bytes) was received and sealed in the store (the store's
     * ready callback has woken its waiters): record it. */
    void (*sealed)(void *ctx, const uint8_t *id, uint64_t size);
    /* Store an ERROR object (CODE, MSG) under ID here, waking its waiters. */
    void (*put_error)(void *ctx, const uint8_t *id, int code, const char *msg);
    /* Was ID freed, or its job ended, here (it will never come)? */
    bool (*gone)(void *ctx, const uint8_t *id);
    /* ... then answer its waiters so (a freed object is not "lost"). */
    void (*answer_gone)(void *ctx, const uint8_t *id);
    /* ID, a task's return, has no holder left (LOST_FROM: the node that
     * held it last, "" unknown; GT: its task's record, may be NULL):
     * rebuild it from the lineage this node owns. Returns 1 (being made
     * again), 0 (not owned here), or -1 with WHY (cannot be rebuilt). */
    int (*lineage_lost)(void *ctx, const uint8_t *id, const struct gcs_task *gt,
                        const char *lost_from, char *why, size_t whylen);
};

/* An object manager for the node NODE_HEX (copied) on BASE, pulling into
 * and serving from store ST, reading and subscribing through GCS; OPS
 * (copied) with CTX. ST, GCS and BASE stay the caller's and must outlive
 * it. Never fails (aborts on out-of-memory, as the daemon does). */
struct objmgr *objmgr_new(struct event_base *base, struct objstore *st, struct gcs_client *gcs,
                          const char *node_hex, const struct objmgr_ops *ops, void *ctx);
/* Cancel every want and transfer (reserved space is deleted, pins
 * released) and free OM. Pending GCS replies find it gone. NULL is a no-op. */
void objmgr_free(struct objmgr *om);

/* Something on this node waits for ID, which is not in the local store
 * and is not being made here: find a holder and pull it, or wait
 * (subscribed) until one appears. Idempotent. The caller checks first that
 * other nodes exist and that the object is not on its way locally. */
void objmgr_want(struct objmgr *om, const uint8_t *id);
/* ID became available locally: stop looking for it, start the transfers
 * out that waited for its restore. OM may be NULL. */
void objmgr_ready(struct objmgr *om, const uint8_t *id);
/* Forget the wants nobody waits for any more (a job ended: its tasks and
 * gets went), unless a transfer or a store retry is under way. */
void objmgr_drop_unwanted(struct objmgr *om);
/* A node connection closed: its pulls go to another holder, its transfers
 * out are dropped. OM may be NULL. */
void objmgr_conn_closed(struct objmgr *om, struct conn *c);
/* Node HEX died: it holds nothing any more. OM may be NULL. */
void objmgr_node_dead(struct objmgr *om, const char *hex);
/* The GCS connection came back: a holder's publication on ch:obj:<id> may
 * have been lost meanwhile (a PUBLISH flushed before this node subscribed
 * again), so every want with no holder reads its locations again. */
void objmgr_gcs_reconnected(struct objmgr *om);
/* A NODE_OBJ_PULL, _HEADER, _CHUNK or _CANCEL message M from a node on
 * connection C (the caller routes those four here and checked C is a
 * node's). Returns 0, or -1 to close C (a peer that broke the protocol, or
 * another message type). */
int objmgr_on_message(struct objmgr *om, struct conn *c, const struct proto_msg *m);

#endif
