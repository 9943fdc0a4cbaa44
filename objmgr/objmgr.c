/*
 * objmgr.c — the object manager: moving objects between nodes (objmgr.h).
 *
 * It reaches the node only through the ops table it was built with: the
 * node's connections, its cluster view, and the runtime's waiters, errors
 * and lineage (runtime/objmgr_ops.c fills it in). No call goes from here
 * into daemon/.
 *
 * DESIGN. Two halves share this file and the node's loop thread.
 *
 * Pulling (this node needs an object it does not hold): objmgr_want records
 * a "want" per object ID, subscribes to the GCS channel ch:obj:<id> FIRST and
 * then reads the object's locations once, so no holder can slip between the
 * two. Known holders are candidates, tried one at a time: a PULL(reqid, id)
 * goes on our connection to the holder (ops.node_conn); the holder answers
 * HEADER(reqid, status, vtype, size) and then streams CHUNK(reqid, offset,
 * data) in order. On HEADER the object is created in the local store and
 * every chunk is copied straight to its place in shared memory; after the
 * last byte it is sealed (the store's ready callback wakes the local
 * waiters) and this node is recorded as a holder in the GCS. Many pulls run
 * at once, each over the connection to its own holder; chunks of all of them
 * are in flight together. A holder that answers not-found, whose connection
 * closes or whose node dies counts as failed for that object: the partial
 * copy is deleted and the next candidate is tried. With no candidate left,
 * the locations are read once more (a holder may have appeared); if every
 * holder ever known failed, the object is lost (so too when the object
 * table says its last holder died: "LOST <node>" on its channel, or
 * lost_from in its record): a ray_put object for good; a task's return is
 * rebuilt from its lineage by this node if it owns it (spill_lineage_lost),
 * or waited for while the task table shows it being made again; else, once
 * no node that held it is alive any more in this node's view (at most
 * OM_LOST_ALIVE_MAX_MS), after OM_LOST_CHECKS looks and OM_LOST_GRACE_MS
 * since those deaths were seen (lost_later), an ERROR object (RAY_ELOST, naming the ID, the node
 * that held it and why it cannot be rebuilt) is stored, which wakes the
 * waiters (docs/faults.md). An object with no
 * holder yet (a return still being computed elsewhere) is never lost: the
 * want waits for the publication; since the SUBSCRIBE and the read go on
 * two connections, Redis may run the read before a holder's write and the
 * SUBSCRIBE after its publication, so a want with no holder reads the
 * locations again OM_RELOOK1_MS and OM_RELOOK2_MS after it started (the
 * subscription is in place by then), and from then on, as long as it has
 * no holder, 1 s, 2 s and then every OM_RELOOK_MAX_MS later, with the
 * object's lost_from (its last holder died): the pub/sub connection may
 * have been away when the holder published (a lost pub/sub connection
 * alone reads nothing again), so a missed publication costs at most one
 * such tick, never the whole wait (docs/faults.md). Each timer callback
 * handles at most OM_RELOOK_BATCH wants; the rest come on the next one. A store that is full for now (FULL_RETRY)
 * or an ID being written or deleted locally (EXISTS) cancels the transfer
 * and retries the create on a timer; when it succeeds the pull starts again
 * into the reserved space. Wants whose waiters all went away are dropped at
 * those retry points.
 *
 * Serving (another node pulls from us): a PULL pins the object for the
 * connection (pin client OM_PIN_BASE + connection id), answers HEADER and
 * queues chunks of OM_CHUNK bytes, round-robin over the connection's
 * transfers, until OM_HIGH_WATER bytes wait in the output buffer;
 * ops.on_drain brings us back when it falls to 4 MiB. A chunk's bytes are
 * not copied: the output buffer references them in shared memory
 * (ops.send_ref, evbuffer_add_reference), and each chunk holds a pin of its
 * own until the connection has written it, so the object cannot be spilled
 * or deleted under it even if its transfer is cancelled first. So a 1 GiB
 * object never sits in memory twice and transfers on one connection share
 * it fairly. A spilled object is restored first (the transfer waits for the
 * store's ready callback, which the runtime forwards through objmgr_ready);
 * an object that is absent, unsealed or unreadable answers RAY_ENOTFOUND.
 * CANCEL or the connection closing unpins and forgets its transfers.
 *
 * Every GCS callback carries a small record with the object ID, never a
 * want pointer, so a want may end at any time.
 */
#include "objmgr/objmgr.h"

#include "common/buf.h"
#include "common/idmap.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OM_CHUNK (1u << 20)           /* bytes of data per CHUNK frame */
#define OM_HIGH_WATER (8u << 20)      /* stop queueing chunks above this much output */
#define OM_PUMP_MAX_FRAMES 256        /* chunks queued per wakeup, at most */
#define OM_RETRY_MS 50                /* retry timer: full store, unknown node, GCS error */
#define OM_UNKNOWN_TRIES 100          /* retries for a holder not yet in the node table */
#define OM_PIN_BASE 1000000           /* objstore pin clients for transfers */
#define OM_RELOOK1_MS 200             /* a want with no holder reads the locations again */
#define OM_RELOOK2_MS 2000
#define OM_RELOOK_EVERY_MS 1000       /* ... and then on, while it has none: 1 s, 2 s, */
#define OM_RELOOK_MAX_MS 4000         /* ... then every 4 s */
#define OM_RELOOK_BATCH 256           /* wants looked at per timer callback, at most */
#define OM_NRELOOK 6                  /* relook queues (struct objmgr's relooks) */
#define OM_LOST_RECHECK_MS 2000       /* a lost object nobody here can rebuild: look again */
#define OM_LOST_CHECKS 3              /* ... this many times before RAY_ELOST, */
#define OM_LOST_GRACE_MS 10000        /* ... and no sooner than this after its holders were
                                         seen dead (their owner rebuilds only then) */
#define OM_LOST_ALIVE_MAX_MS 30000    /* waiting for a failed holder's death, at most */
#define OM_CHANNEL "ch:obj:"

struct pull;

/* An object this node waits for and does not hold. */
struct want {
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    char (*cand)[IDS_HEX_SIZE];   /* known holders not tried yet, in order */
    size_t ncand;
    char (*failed)[IDS_HEX_SIZE]; /* holders that failed for this object */
    size_t nfailed;
    char why[200];                /* the last failure, for the lost message */
    char lost_from[IDS_HEX_SIZE]; /* the dead node that held it last ("" unknown) */
    bool resolving;               /* a lost-object lookup (task record) is pending */
    int checks;                   /* lost lookups that found nobody to rebuild it */
    long long lost_first_ms;      /* the first of those (0: none yet) */
    long long dead_seen_ms;       /* the first with every failed holder dead (0: none) */
    struct pull *pull;            /* the transfer in flight, or NULL */
    bool locating;                /* a location read is pending */
    bool relooked;                /* read the locations again after failures */
    uint64_t gen;                 /* this want's number (relook entries name it) */
    bool need_locate;             /* the last read failed: read again on the timer */
    bool on_retry;                /* listed for the retry timer */
    int unknown_tries;
    bool space_wait;              /* create said FULL_RETRY/EXISTS: retry it */
    char space_holder[IDS_HEX_SIZE];
    bool created;                 /* space reserved in the store (CREATED) */
    uint64_t off, size;
    uint32_t vtype;
};

/* One transfer into this node. */
struct pull {
    uint64_t reqid;
    struct want *w;
    struct conn *c;
    char holder[IDS_HEX_SIZE];
    bool header;
    uint64_t received;
    struct pull *next, *prev;
};

/* One transfer out of this node. */
struct serve {
    struct served *sv;
    uint64_t reqid;
    uint8_t id[IDS_SIZE];
    bool pinned, restoring;
    uint64_t off, size, sent;
    struct serve *next, *prev;
};

/* A connection other nodes pull from us on. */
struct served {
    struct objmgr *om;
    struct conn *c;
    int pin;
    struct serve *head, *tail;   /* sending, round-robin order */
    struct serve *waiting;       /* waiting for a restore (singly linked via next) */
    struct served *next, *prev;
};

/* A pending gcs_object_locations. */
struct locate {
    struct objmgr *om;           /* NULL once the object manager is gone */
    uint8_t id[IDS_SIZE];
    struct locate *next, *prev;
};

struct objmgr {
    struct objmgr_ops ops;
    void *ctx;                   /* the ops' first argument */
    struct event_base *base;
    objstore *st;
    struct gcs_client *gcs;
    char node_hex[IDS_HEX_SIZE]; /* this node */
    struct idmap wants;          /* object id -> struct want */
    struct idmap pulls;          /* reqid key -> struct pull */
    struct pull *pull_list;
    uint64_t next_reqid;
    struct served *served;
    int nrestoring;
    struct event *retry_ev;
    /* wants to read the locations of again: [0] at OM_RELOOK1_MS, [1] at
     * OM_RELOOK2_MS, [2] lost objects to look at again OM_LOST_RECHECK_MS
     * later, [3] [4] [5] a want that still has no holder, OM_RELOOK_EVERY_MS,
     * twice that and then every OM_RELOOK_MAX_MS; each FIFO is in due order
     * (one delay each) */
    struct relook { uint8_t id[IDS_SIZE]; uint64_t gen; long long due_ms; } *relooks[OM_NRELOOK];
    size_t nrelooks[OM_NRELOOK];
    uint64_t next_gen;           /* the last want's number */
    struct event *relook_ev;
    uint8_t (*retry)[IDS_SIZE];
    size_t nretry, retry_cap;
    struct locate *locates;
    struct locate *asks;         /* pending lost-object lookups (same record) */
    struct chunkref *refs;       /* chunks queued by reference, not yet written */
    struct buf scratch;          /* frames are encoded here */
};

/* A chunk queued by reference from shared memory: it holds a pin of its
 * own on the object until the connection has written or dropped it. */
struct chunkref {
    struct objmgr *om;           /* NULL once the object manager is gone */
    uint8_t id[IDS_SIZE];
    int pin;
    struct chunkref *next, *prev;
};

static void want_next(struct objmgr *om, struct want *w);
static void lost_start(struct objmgr *om, struct want *w);
static void relook_add(struct objmgr *om, int k, const struct want *w);
static void om_obj_msg(void *arg, const char *suffix, const char *msg, size_t len);

/* ---- small helpers ------------------------------------------------------------ */

/* Encode message TYPE (arguments as for proto_pack) and queue it to C.
 * Returns 0, or -1 if C is closing or the message is invalid. */
static int om_send(struct objmgr *om, struct conn *c, uint32_t type, ...)
{
    struct buf *b = &om->scratch;
    buf_reset(b);
    va_list ap;
    va_start(ap, type);
    int rc = proto_vpack(b, type, ap);
    va_end(ap);
    if (rc == 0)
        rc = om->ops.send(c, b->data, b->len);
    else
        log_error("object manager: cannot encode message %u", type);
    return rc;
}

/* Arm EV for the loop time DUE_MS (at least 1 ms from now). */
static void om_timer_at(struct event *ev, long long due_ms)
{
    long long left = due_ms - net_now_ms();
    if (left < 1)
        left = 1;
    struct timeval tv = { left / 1000, (left % 1000) * 1000 };
    event_add(ev, &tv);
}

static void reqid_key(uint64_t reqid, uint8_t key[IDS_SIZE])
{
    memset(key, 0, IDS_SIZE);
    memcpy(key, &reqid, sizeof reqid);
}

static struct pull *pull_find(struct objmgr *om, uint64_t reqid)
{
    uint8_t key[IDS_SIZE];
    reqid_key(reqid, key);
    return idmap_get(&om->pulls, key);
}

static bool hex_in(char (*v)[IDS_HEX_SIZE], size_t n, const char *hex)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], hex) == 0)
            return true;
    return false;
}

static void hex_push(char (**v)[IDS_HEX_SIZE], size_t *n, const char *hex, bool front)
{
    *v = xreallocarray(*v, *n + 1, sizeof **v);
    if (front) {
        memmove(&(*v)[1], &(*v)[0], *n * sizeof **v);
        snprintf((*v)[0], IDS_HEX_SIZE, "%s", hex);
    } else {
        snprintf((*v)[*n], IDS_HEX_SIZE, "%s", hex);
    }
    (*n)++;
}

static void hex_remove(char (*v)[IDS_HEX_SIZE], size_t *n, size_t i)
{
    memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof *v);
    (*n)--;
}

static bool has_waiters(struct objmgr *om, const uint8_t *id)
{
    return om->ops.has_waiters(om->ctx, id);
}

static void retry_add(struct objmgr *om, struct want *w)
{
    if (w->on_retry)
        return;
    w->on_retry = true;
    if (om->nretry == om->retry_cap) {
        om->retry_cap = om->retry_cap ? om->retry_cap * 2 : 16;
        om->retry = xreallocarray(om->retry, om->retry_cap, sizeof *om->retry);
    }
    memcpy(om->retry[om->nretry++], w->id, IDS_SIZE);
    if (!evtimer_pending(om->retry_ev, NULL)) {
        struct timeval tv = { 0, OM_RETRY_MS * 1000 };
        evtimer_add(om->retry_ev, &tv);
    }
}

/* ---- pulls ----------------------------------------------------------------------- */

/* Forget P (and tell the holder to stop if CANCEL). */
static void pull_end(struct objmgr *om, struct pull *p, bool cancel)
{
    uint8_t key[IDS_SIZE];
    reqid_key(p->reqid, key);
    idmap_del(&om->pulls, key);
    if (p->prev)
        p->prev->next = p->next;
    else
        om->pull_list = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (cancel && p->c)
        om_send(om, p->c, PROTO_NODE_OBJ_CANCEL, p->reqid);
    if (p->w->pull == p)
        p->w->pull = NULL;
    free(p);
}

static void pull_start(struct objmgr *om, struct want *w, struct conn *c, const char *holder)
{
    struct pull *p = xcalloc(1, sizeof *p);
    p->reqid = ++om->next_reqid;
    p->w = w;
    p->c = c;
    snprintf(p->holder, sizeof p->holder, "%s", holder);
    uint8_t key[IDS_SIZE];
    reqid_key(p->reqid, key);
    idmap_put(&om->pulls, key, p);
    p->next = om->pull_list;
    if (om->pull_list)
        om->pull_list->prev = p;
    om->pull_list = p;
    w->pull = p;
    log_debug("pulling object %s from node %.8s (req %llu)", w->hex, holder,
              (unsigned long long)p->reqid);
    if (om_send(om, c, PROTO_NODE_OBJ_PULL, p->reqid, w->id) < 0) {
        snprintf(w->why, sizeof w->why, "node %.8s: connection closing", holder);
        hex_push(&w->failed, &w->nfailed, holder, false);
        pull_end(om, p, false);
        want_next(om, w);
    }
}

/* Delete the space W reserved, if it is still ours. */
static void want_uncreate(struct objmgr *om, struct want *w)
{
    if (!w->created)
        return;
    w->created = false;
    struct objstore_info info;
    objstore *st = om->st;
    if (objstore_lookup(st, w->id, &info) == OBJSTORE_FOUND && info.state == OBJSTORE_CREATED &&
        info.offset == w->off)
        objstore_delete(st, w->id);
}

/* Forget W: unsubscribe, cancel its transfer. Leaves reserved space alone
 * (callers delete it with want_uncreate first where it must go). */
static void want_free(struct objmgr *om, struct want *w)
{
    idmap_del(&om->wants, w->id);
    char chan[sizeof OM_CHANNEL + IDS_HEX_SIZE];
    snprintf(chan, sizeof chan, OM_CHANNEL "%s", w->hex);
    gcs_unsubscribe(om->gcs, chan, om_obj_msg, om);
    if (w->pull)
        pull_end(om, w->pull, true);
    free(w->cand);
    free(w->failed);
    free(w);
}

/* W is lost for good (WHY says why it cannot be rebuilt): store RAY_ELOST
 * under its ID if anyone still waits here. W is freed. */
static void lost_fail(struct objmgr *om, struct want *w, const char *why)
{
    uint8_t id[IDS_SIZE];
    memcpy(id, w->id, IDS_SIZE);
    char msg[600];
    if (w->lost_from[0])
        snprintf(msg, sizeof msg, "object %s is lost: node %.8s that held it died, and %s", w->hex,
                 w->lost_from, why);
    else
        snprintf(msg, sizeof msg, "object %s is lost: %zu holder%s failed (last: %s), and %s",
                 w->hex, w->nfailed, w->nfailed == 1 ? "" : "s", w->why, why);
    want_uncreate(om, w);
    want_free(om, w);
    if (om->ops.gone(om->ctx, id)) {
        om->ops.answer_gone(om->ctx, id); /* freed meanwhile: say so, not "lost" */
        return;
    }
    log_warnx("%s", msg);
    if (has_waiters(om, id))
        om->ops.put_error(om->ctx, id, RAY_ELOST, msg);
}

/* Every holder W knew failed: find out whether it can be rebuilt (lost_start). */
static void want_lost(struct objmgr *om, struct want *w)
{
    if (w->lost_from[0] == '\0' && w->nfailed > 0)
        snprintf(w->lost_from, sizeof w->lost_from, "%s", w->failed[w->nfailed - 1]);
    lost_start(om, w);
}

static struct locate *ask_new(struct objmgr *om, const uint8_t *id)
{
    struct locate *l = xcalloc(1, sizeof *l);
    l->om = om;
    memcpy(l->id, id, IDS_SIZE);
    l->next = om->asks;
    if (om->asks)
        om->asks->prev = l;
    om->asks = l;
    return l;
}

/* Unlink L; returns its object manager (NULL if it is gone). Frees L. */
static struct objmgr *ask_done(struct locate *l, uint8_t id[IDS_SIZE])
{
    struct objmgr *om = l->om;
    memcpy(id, l->id, IDS_SIZE);
    if (om) {
        if (l->prev)
            l->prev->next = l->next;
        else
            om->asks = l->next;
        if (l->next)
            l->next->prev = l->prev;
    }
    free(l);
    return om;
}

/* Is a node that held W (it failed, or lost_from) still alive in this
 * node's view: its death not declared yet? */
static bool want_holder_alive(struct objmgr *om, const struct want *w)
{
    for (size_t i = 0; i < w->nfailed; i++)
        if (om->ops.node_state(om->ctx, w->failed[i]) == OBJMGR_NODE_ALIVE)
            return true;
    return w->lost_from[0] && om->ops.node_state(om->ctx, w->lost_from) == OBJMGR_NODE_ALIVE;
}

/* Being made again: the lost-object countdown of W starts over. */
static void lost_reset(struct want *w)
{
    w->checks = 0;
    w->lost_first_ms = w->dead_seen_ms = 0;
}

/* Nobody could rebuild W yet: look again later, or give up. Not while a
 * node that held it is still alive in our view: a pull from a node being
 * killed fails (connection closed) a node_timeout_ms before the head
 * declares it dead, and only then does the owner rebuild what it held (a
 * RAY_ELOST stored here sooner is recorded as the object, and a task that
 * waited for it fails with it: the soak's chain losses). Then not before
 * OM_LOST_CHECKS looks and OM_LOST_GRACE_MS since the death was seen, however
 * many triggers (LOST, relooks, lost_from) made those looks. */
static void lost_later(struct objmgr *om, struct want *w, const char *why)
{
    long long now = net_now_ms();
    if (w->lost_first_ms == 0)
        w->lost_first_ms = now;
    if (want_holder_alive(om, w) && now - w->lost_first_ms < OM_LOST_ALIVE_MAX_MS) {
        relook_add(om, 2, w); /* its death is not declared yet */
        return;
    }
    if (w->dead_seen_ms == 0)
        w->dead_seen_ms = now;
    if (++w->checks >= OM_LOST_CHECKS && now - w->dead_seen_ms >= OM_LOST_GRACE_MS) {
        lost_fail(om, w, why);
        return;
    }
    relook_add(om, 2, w);
}

/* The task record of a lost object's task (NULL if none). */
static void lost_task_cb(void *arg, const struct gcs_task *gt)
{
    uint8_t id[IDS_SIZE];
    struct objmgr *om = ask_done(arg, id);
    if (om == NULL)
        return;
    struct want *w = idmap_get(&om->wants, id);
    if (w == NULL)
        return;
    w->resolving = false;
    if (w->pull || w->ncand > 0)
        return; /* a holder turned up meanwhile */
    char why[300] = "";
    int r = om->ops.lineage_lost(om->ctx, id, gt, w->lost_from, why, sizeof why);
    if (r > 0) {
        /* made again from here: its new holder will publish; look again
         * later all the same (a holder may have been there all along) */
        lost_reset(w);
        relook_add(om, 2, w);
        return;
    }
    if (r < 0) {
        lost_fail(om, w, why);
        return;
    }
    /* not owned here: its owner rebuilds it if it can (it writes the task
     * PENDING again), else nobody will */
    if (gt && (strcmp(gt->state, "PENDING") == 0 || strcmp(gt->state, "RUNNING") == 0)) {
        if (om->ops.node_state(om->ctx, gt->node) == OBJMGR_NODE_ALIVE) {
            /* being made (again): its publication will come; look again
             * later all the same, in case that node dies with its owner */
            lost_reset(w);
            relook_add(om, 2, w);
            return;
        }
    }
    lost_later(om, w,
               "no live node could rebuild it (its owner is gone, its lineage was trimmed, "
               "or it is an actor call's result)");
}

/* No holder of W is left, and one was known (or its last holder died):
 * rebuild it from its lineage if this node owns it, else wait for its owner
 * to, else fail its waiters with RAY_ELOST. W may be freed. */
static void lost_start(struct objmgr *om, struct want *w)
{
    if (w->resolving)
        return;
    if (om->ops.gone(om->ctx, w->id)) {
        uint8_t id[IDS_SIZE];
        memcpy(id, w->id, IDS_SIZE);
        want_uncreate(om, w);
        want_free(om, w);
        om->ops.answer_gone(om->ctx, id); /* freed: say so, not "lost" */
        return;
    }
    uint32_t index = ids_index(w->id);
    if (index & IDS_PUT_INDEX) {
        lost_fail(om, w, "it was made by ray_put: put objects cannot be rebuilt");
        return;
    }
    if (index == 0) {
        lost_fail(om, w, "it is not the return of a task: it cannot be rebuilt");
        return;
    }
    uint8_t tid[IDS_SIZE];
    char thex[IDS_HEX_SIZE];
    ids_with_index(tid, w->id, 0);
    struct locate *l = ask_new(om, w->id);
    w->resolving = true;
    if (gcs_task_get(om->gcs, ids_hex(tid, IDS_SIZE, thex), lost_task_cb, l) < 0) {
        uint8_t id[IDS_SIZE];
        ask_done(l, id);
        w->resolving = false;
        relook_add(om, 2, w); /* the GCS is away: later */
    }
}

/* HGET obj:<id> lost_from: did W's last holder die (it has none now)? */
static void lost_from_cb(void *arg, const struct gcs_reply *r)
{
    uint8_t id[IDS_SIZE];
    struct objmgr *om = ask_done(arg, id);
    if (om == NULL || r == NULL || gcs_reply_type(r) != GCS_REPLY_STRING)
        return;
    struct want *w = idmap_get(&om->wants, id);
    size_t len = 0;
    const char *s = gcs_reply_str(r, &len);
    if (w == NULL || s == NULL || len != 2 * IDS_SIZE || w->pull || w->ncand > 0 || w->locating ||
        w->space_wait)
        return;
    snprintf(w->lost_from, sizeof w->lost_from, "%.*s", (int)len, s);
    if (!hex_in(w->failed, w->nfailed, w->lost_from))
        hex_push(&w->failed, &w->nfailed, w->lost_from, false); /* a holder that failed */
    snprintf(w->why, sizeof w->why, "node %.8s: node died", w->lost_from);
    lost_start(om, w);
}

/* W has waited OM_RELOOK2_MS with no holder: ask whether its holders died
 * before we started looking (the dead node left the object table). */
static void want_ask_lost_from(struct objmgr *om, struct want *w)
{
    struct locate *l = ask_new(om, w->id);
    if (gcs_command(om->gcs, lost_from_cb, l, "HGET %sobj:%s lost_from",
                    gcs_client_prefix(om->gcs), w->hex) < 0) {
        uint8_t id[IDS_SIZE];
        ask_done(l, id);
    }
}

/* The holder of W's transfer failed (WHY): delete the partial copy, try the next. */
static void holder_failed(struct objmgr *om, struct want *w, const char *why)
{
    struct pull *p = w->pull;
    if (p) {
        snprintf(w->why, sizeof w->why, "node %.8s: %s", p->holder, why);
        log_info("pull of object %s from node %.8s failed: %s", w->hex, p->holder, why);
        if (!hex_in(w->failed, w->nfailed, p->holder))
            hex_push(&w->failed, &w->nfailed, p->holder, false);
        pull_end(om, p, false);
    }
    want_uncreate(om, w);
    want_next(om, w);
}

static void locate_cb(void *arg, const char *const *names, size_t n);

/* Read W's locations from the GCS. */
static void want_locate(struct objmgr *om, struct want *w)
{
    struct locate *l = xcalloc(1, sizeof *l);
    l->om = om;
    memcpy(l->id, w->id, IDS_SIZE);
    l->next = om->locates;
    if (om->locates)
        om->locates->prev = l;
    om->locates = l;
    w->locating = true;
    if (gcs_object_locations(om->gcs, w->hex, locate_cb, l) < 0) {
        om->locates = l->next;
        if (l->next)
            l->next->prev = NULL;
        free(l);
        w->locating = false;
        w->need_locate = true;
        retry_add(om, w);
    }
}

/* A holder HEX became known for W. Returns true if it is a new candidate. */
static bool want_add_holder(struct objmgr *om, struct want *w, const char *hex)
{
    if (strlen(hex) != 2 * IDS_SIZE || strcmp(hex, om->node_hex) == 0)
        return false;
    if (hex_in(w->cand, w->ncand, hex) || hex_in(w->failed, w->nfailed, hex))
        return false;
    if (w->pull && strcmp(w->pull->holder, hex) == 0)
        return false;
    if (w->space_wait && strcmp(w->space_holder, hex) == 0)
        return false;
    hex_push(&w->cand, &w->ncand, hex, false);
    w->relooked = false; /* once it fails too, look again before giving up */
    return true;
}

/* Start a transfer from the next usable candidate; with none, wait (no
 * holder known yet), read the locations again, or declare W lost. W may be
 * freed. */
static void want_next(struct objmgr *om, struct want *w)
{
    if (w->pull || w->space_wait)
        return;
    bool deferred = false;
    size_t i = 0;
    while (i < w->ncand) {
        char h[IDS_HEX_SIZE];
        snprintf(h, sizeof h, "%s", w->cand[i]);
        enum objmgr_node_state ns = om->ops.node_state(om->ctx, h);
        if (ns == OBJMGR_NODE_UNKNOWN && w->unknown_tries < OM_UNKNOWN_TRIES) {
            deferred = true; /* the node table has not caught up yet */
            i++;
            continue;
        }
        hex_remove(w->cand, &w->ncand, i);
        const char *why = NULL;
        struct conn *c = NULL;
        if (ns == OBJMGR_NODE_UNKNOWN)
            why = "not in the node table";
        else if (ns == OBJMGR_NODE_DEAD)
            why = "node is dead";
        else if ((c = om->ops.node_conn(om->ctx, h)) == NULL)
            why = "cannot connect";
        if (why) {
            snprintf(w->why, sizeof w->why, "node %.8s: %s", h, why);
            if (!hex_in(w->failed, w->nfailed, h))
                hex_push(&w->failed, &w->nfailed, h, false);
            continue;
        }
        pull_start(om, w, c, h);
        return;
    }
    if (deferred) {
        w->unknown_tries++;
        retry_add(om, w);
        return;
    }
    if (w->locating || w->need_locate || w->nfailed == 0)
        return; /* nothing known yet: the publication will come */
    if (!w->relooked) {
        w->relooked = true;
        want_locate(om, w);
        return;
    }
    want_lost(om, w);
}

static void locate_cb(void *arg, const char *const *names, size_t n)
{
    struct locate *l = arg;
    struct objmgr *om = l->om;
    if (om == NULL) {
        free(l);
        return;
    }
    if (l->prev)
        l->prev->next = l->next;
    else
        om->locates = l->next;
    if (l->next)
        l->next->prev = l->prev;
    struct want *w = idmap_get(&om->wants, l->id);
    free(l);
    if (w == NULL)
        return;
    w->locating = false;
    if (names == NULL) {
        w->need_locate = true; /* the GCS is away: read again later */
        retry_add(om, w);
        return;
    }
    for (size_t i = 0; i < n; i++)
        want_add_holder(om, w, names[i]);
    want_next(om, w);
}

/* A node published that it holds an object. */
static void om_obj_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    struct objmgr *om = arg;
    uint8_t id[IDS_SIZE];
    size_t plen = strlen(OM_CHANNEL);
    if (strncmp(suffix, OM_CHANNEL, plen) != 0 || strlen(suffix + plen) != 2 * IDS_SIZE ||
        ids_unhex(suffix + plen, id, IDS_SIZE) < 0)
        return;
    struct want *w = idmap_get(&om->wants, id);
    if (w && len == 5 + 2 * IDS_SIZE && memcmp(msg, "LOST ", 5) == 0) {
        /* its last holder died (gcs_node_forget_objects) */
        char dead[IDS_HEX_SIZE];
        snprintf(dead, sizeof dead, "%.*s", 2 * IDS_SIZE, msg + 5);
        snprintf(w->lost_from, sizeof w->lost_from, "%s", dead);
        for (size_t i = 0; i < w->ncand; i++)
            if (strcmp(w->cand[i], dead) == 0) {
                hex_remove(w->cand, &w->ncand, i);
                break;
            }
        if (!hex_in(w->failed, w->nfailed, dead))
            hex_push(&w->failed, &w->nfailed, dead, false);
        snprintf(w->why, sizeof w->why, "node %.8s: node died", dead);
        if (w->pull == NULL && w->ncand == 0 && !w->space_wait && !w->locating)
            lost_start(om, w);
        return;
    }
    if (len != 2 * IDS_SIZE)
        return;
    if (w && want_add_holder(om, w, msg))
        want_next(om, w);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct objmgr *om = arg;
    objstore *st = om->st;
    uint8_t (*list)[IDS_SIZE] = om->retry;
    size_t n = om->nretry;
    om->retry = NULL;
    om->nretry = om->retry_cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct want *w = idmap_get(&om->wants, list[i]);
        if (w == NULL || !w->on_retry)
            continue;
        w->on_retry = false;
        if (!has_waiters(om, w->id) && w->pull == NULL) {
            want_uncreate(om, w); /* nobody waits any more */
            want_free(om, w);
            continue;
        }
        if (w->space_wait) {
            uint64_t off = 0;
            int rc = objstore_create(st, w->id, w->vtype, w->size, &off);
            if (rc == OBJSTORE_FULL_RETRY || rc == OBJSTORE_EXISTS) {
                retry_add(om, w);
                continue;
            }
            w->space_wait = false;
            if (rc != OBJSTORE_OK) {
                char msg[256];
                objstore_error_format(st, rc, w->size, msg, sizeof msg);
                uint8_t id[IDS_SIZE];
                memcpy(id, w->id, IDS_SIZE);
                want_free(om, w);
                log_warnx("pull: %s", msg);
                om->ops.put_error(om->ctx, id, RAY_ENOMEM, msg);
                continue;
            }
            w->created = true;
            w->off = off;
            hex_push(&w->cand, &w->ncand, w->space_holder, true);
            want_next(om, w);
        } else if (w->need_locate) {
            w->need_locate = false;
            want_locate(om, w);
        } else {
            want_next(om, w);
        }
    }
    free(list);
}

/* ---- pull messages (on our connections to holders) ----------------------------- */

/* All of P's bytes are in: seal, record the location, wake the waiters. */
static void pull_complete(struct objmgr *om, struct pull *p)
{
    struct want *w = p->w;
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    memcpy(id, w->id, IDS_SIZE);
    memcpy(hex, w->hex, IDS_HEX_SIZE);
    uint64_t size = w->size;
    log_debug("object %s (%llu bytes) received from node %.8s", hex, (unsigned long long)size,
              p->holder);
    pull_end(om, p, false);
    w->created = false;
    want_free(om, w);
    if (objstore_seal(om->st, id) == OBJSTORE_OK) /* wakes the waiters */
        om->ops.sealed(om->ctx, id, size); /* records the location (or drops a late copy) */
}

static int h_header(struct objmgr *om, struct conn *c, const struct proto_msg *m)
{
    struct pull *p = pull_find(om, m->f[0].as.u);
    if (p == NULL || p->c != c)
        return 0; /* cancelled meanwhile */
    if (p->header)
        return -1;
    struct want *w = p->w;
    int64_t status = m->f[1].as.i;
    uint32_t vtype = (uint32_t)m->f[2].as.u;
    uint64_t size = m->f[3].as.u;
    if (status != RAY_OK) {
        holder_failed(om, w, status == RAY_ENOTFOUND ? "it does not have the object" : "error");
        return 0;
    }
    objstore *st = om->st;
    if (w->created && (w->size != size || w->vtype != vtype))
        want_uncreate(om, w);
    if (!w->created) {
        uint64_t off = 0;
        int rc = objstore_create(st, w->id, vtype, size, &off);
        if (rc == OBJSTORE_FULL_RETRY || rc == OBJSTORE_EXISTS) {
            /* no room now, or a local copy is being written or deleted */
            w->space_wait = true;
            w->size = size;
            w->vtype = vtype;
            snprintf(w->space_holder, sizeof w->space_holder, "%s", p->holder);
            pull_end(om, p, true);
            retry_add(om, w);
            return 0;
        }
        if (rc != OBJSTORE_OK) {
            char msg[256];
            objstore_error_format(st, rc, size, msg, sizeof msg);
            uint8_t id[IDS_SIZE];
            memcpy(id, w->id, IDS_SIZE);
            want_free(om, w);
            log_warnx("pull: %s", msg);
            om->ops.put_error(om->ctx, id, RAY_ENOMEM, msg);
            return 0;
        }
        w->created = true;
        w->off = off;
        w->size = size;
        w->vtype = vtype;
        objstore_prefault(st, off, size); /* fault its pages in ahead of the chunks */
    }
    p->header = true;
    if (size == 0)
        pull_complete(om, p);
    return 0;
}

static int h_chunk(struct objmgr *om, struct conn *c, const struct proto_msg *m)
{
    struct pull *p = pull_find(om, m->f[0].as.u);
    if (p == NULL || p->c != c)
        return 0; /* cancelled meanwhile */
    struct want *w = p->w;
    uint64_t off = m->f[1].as.u;
    const char *data = m->f[2].as.s.ptr;
    size_t len = m->f[2].as.s.len;
    if (!p->header || off != p->received || len == 0 || len > w->size - off) {
        log_warnx("node %.8s sent a bad chunk for object %s", p->holder, w->hex);
        return -1; /* the connection closes: its pulls go elsewhere */
    }
    objstore *st = om->st;
    struct objstore_info info;
    if (objstore_lookup(st, w->id, &info) != OBJSTORE_FOUND || info.state != OBJSTORE_CREATED ||
        info.offset != w->off || info.size != w->size) {
        /* our reserved space was deleted here (job end, free): start over */
        char holder[IDS_HEX_SIZE];
        snprintf(holder, sizeof holder, "%s", p->holder);
        w->created = false;
        pull_end(om, p, true);
        if (!has_waiters(om, w->id)) {
            want_free(om, w);
            return 0;
        }
        hex_push(&w->cand, &w->ncand, holder, true);
        want_next(om, w);
        return 0;
    }
    memcpy((char *)objstore_base(st) + w->off + off, data, len);
    p->received += len;
    if (p->received == w->size)
        pull_complete(om, p);
    return 0;
}

/* ---- serving ------------------------------------------------------------------------- */

static void serve_free(struct objmgr *om, struct serve *s, bool in_active)
{
    struct served *sv = s->sv;
    if (in_active) {
        if (s->prev)
            s->prev->next = s->next;
        else
            sv->head = s->next;
        if (s->next)
            s->next->prev = s->prev;
        else
            sv->tail = s->prev;
    }
    if (s->pinned)
        objstore_release(om->st, s->id, sv->pin);
    free(s);
}

static void active_append(struct served *sv, struct serve *s)
{
    s->next = NULL;
    s->prev = sv->tail;
    if (sv->tail)
        sv->tail->next = s;
    else
        sv->head = s;
    sv->tail = s;
}

static void chunkref_unlink(struct objmgr *om, struct chunkref *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        om->refs = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* The connection is done with a chunk's bytes: unpin the object. */
static void chunkref_done(const void *p, size_t len, void *arg)
{
    (void)p;
    (void)len;
    struct chunkref *r = arg;
    struct objmgr *om = r->om;
    if (om) {
        chunkref_unlink(om, r);
        objstore_release(om->st, r->id, r->pin);
    }
    free(r);
}

/* Queue LEN bytes of S's object at S->sent by reference: the chunk takes a
 * pin of its own, so the bytes stay put (no spill, no delete) until the
 * connection has written them, even if S ends first. Copies them when the
 * pin cannot be taken (never while S holds its own). Returns 0 or -1. */
static int chunk_send_ref(struct objmgr *om, struct serve *s, uint64_t len)
{
    const char *p = (const char *)objstore_base(om->st) + s->off + s->sent;
    struct objstore_info info;
    if (objstore_get(om->st, s->id, s->sv->pin, &info) != OBJSTORE_FOUND)
        return om->ops.send(s->sv->c, p, len);
    struct chunkref *r = xcalloc(1, sizeof *r);
    r->om = om;
    memcpy(r->id, s->id, IDS_SIZE);
    r->pin = s->sv->pin;
    r->next = om->refs;
    if (om->refs)
        om->refs->prev = r;
    om->refs = r;
    return om->ops.send_ref(s->sv->c, p, len, chunkref_done, r); /* DONE runs on failure too */
}

/* Queue one chunk of S. Returns 0 or -1 if the connection is closing. */
static int serve_send_chunk(struct objmgr *om, struct serve *s)
{
    uint64_t len = s->size - s->sent;
    if (len > OM_CHUNK)
        len = OM_CHUNK;
    struct buf b = BUF_INIT;
    buf_append(&b, "\0\0\0\0", 4);
    mpw_array(&b, 4);
    mpw_uint(&b, PROTO_NODE_OBJ_CHUNK);
    mpw_uint(&b, s->reqid);
    mpw_uint(&b, s->sent);
    unsigned char h[5];
    size_t hl;
    if (len < 256) {
        h[0] = 0xc4;
        h[1] = (unsigned char)len;
        hl = 2;
    } else if (len < 65536) {
        h[0] = 0xc5;
        h[1] = (unsigned char)(len >> 8);
        h[2] = (unsigned char)len;
        hl = 3;
    } else {
        h[0] = 0xc6;
        h[1] = (unsigned char)(len >> 24);
        h[2] = (unsigned char)(len >> 16);
        h[3] = (unsigned char)(len >> 8);
        h[4] = (unsigned char)len;
        hl = 5;
    }
    buf_append(&b, h, hl);
    uint64_t body = b.len - 4 + len;
    b.data[0] = (char)(body >> 24);
    b.data[1] = (char)(body >> 16);
    b.data[2] = (char)(body >> 8);
    b.data[3] = (char)body;
    int rc = om->ops.send(s->sv->c, b.data, b.len);
    buf_free(&b);
    if (rc == 0)
        rc = chunk_send_ref(om, s, len);
    if (rc == 0)
        s->sent += len;
    return rc;
}

/* Queue chunks, round-robin over SV's transfers, until the output is full. */
static void served_pump(struct objmgr *om, struct served *sv)
{
    for (int frames = 0; sv->head && frames < OM_PUMP_MAX_FRAMES; frames++) {
        if (om->ops.outbuf_len(sv->c) >= OM_HIGH_WATER)
            return;
        struct serve *s = sv->head;
        if (serve_send_chunk(om, s) < 0)
            return; /* closing: the close cleans up */
        if (s->sent == s->size) {
            serve_free(om, s, true);
        } else if (s->next) {
            sv->head = s->next;
            sv->head->prev = NULL;
            active_append(sv, s);
        }
    }
}

static void served_drain_cb(struct conn *c, void *arg)
{
    (void)c;
    struct served *sv = arg;
    served_pump(sv->om, sv);
}

/* Answer S from the store: HEADER, then chunks; or wait for a restore. */
static void serve_start(struct objmgr *om, struct serve *s)
{
    struct served *sv = s->sv;
    struct objstore_info info;
    int rc = objstore_get(om->st, s->id, sv->pin, &info);
    if (rc == OBJSTORE_SPILLED_RESTORING) {
        s->restoring = true;
        s->next = sv->waiting;
        sv->waiting = s;
        om->nrestoring++;
        return;
    }
    if (rc != OBJSTORE_FOUND) {
        char hex[IDS_HEX_SIZE];
        log_debug("pull of object %s on connection %llu: %s", ids_hex(s->id, IDS_SIZE, hex),
                  (unsigned long long)om->ops.conn_id(sv->c),
                  objstore_rc_name(rc));
        om_send(om, sv->c, PROTO_NODE_OBJ_HEADER, s->reqid, (int64_t)RAY_ENOTFOUND, (uint64_t)0,
                  (uint64_t)0);
        serve_free(om, s, false);
        return;
    }
    s->pinned = true;
    s->off = info.offset;
    s->size = info.size;
    if (om_send(om, sv->c, PROTO_NODE_OBJ_HEADER, s->reqid, (int64_t)RAY_OK, (uint64_t)info.vtype,
                  info.size) < 0 || info.size == 0) {
        serve_free(om, s, false);
        return;
    }
    active_append(sv, s);
    served_pump(om, sv);
}

static struct served *served_find(struct objmgr *om, struct conn *c)
{
    for (struct served *sv = om->served; sv; sv = sv->next)
        if (sv->c == c)
            return sv;
    return NULL;
}

static int h_pull(struct objmgr *om, struct conn *c, const struct proto_msg *m)
{
    struct served *sv = served_find(om, c);
    if (sv == NULL) {
        sv = xcalloc(1, sizeof *sv);
        sv->om = om;
        sv->c = c;
        sv->pin = OM_PIN_BASE + (int)(om->ops.conn_id(c) % 1000000000u);
        sv->next = om->served;
        if (om->served)
            om->served->prev = sv;
        om->served = sv;
        om->ops.watch_conn(om->ctx, c); /* objmgr_conn_closed when it goes */
        om->ops.on_drain(c, served_drain_cb, sv);
    }
    struct serve *s = xcalloc(1, sizeof *s);
    s->sv = sv;
    s->reqid = m->f[0].as.u;
    memcpy(s->id, m->f[1].as.s.ptr, IDS_SIZE);
    serve_start(om, s);
    return 0;
}

static int h_cancel(struct objmgr *om, struct conn *c, const struct proto_msg *m)
{
    struct served *sv = served_find(om, c);
    if (sv == NULL)
        return 0;
    uint64_t reqid = m->f[0].as.u;
    for (struct serve *s = sv->head; s; s = s->next)
        if (s->reqid == reqid) {
            serve_free(om, s, true);
            return 0;
        }
    for (struct serve **pp = &sv->waiting; *pp; pp = &(*pp)->next)
        if ((*pp)->reqid == reqid) {
            struct serve *s = *pp;
            *pp = s->next;
            om->nrestoring--;
            serve_free(om, s, false);
            return 0;
        }
    return 0;
}

static void served_free(struct objmgr *om, struct served *sv)
{
    if (sv->prev)
        sv->prev->next = sv->next;
    else
        om->served = sv->next;
    if (sv->next)
        sv->next->prev = sv->prev;
    while (sv->head)
        serve_free(om, sv->head, true);
    while (sv->waiting) {
        struct serve *s = sv->waiting;
        sv->waiting = s->next;
        om->nrestoring--;
        serve_free(om, s, false);
    }
    free(sv);
}

/* Restores finished: start the transfers that waited for ID. */
static void served_restored(struct objmgr *om, const uint8_t *id)
{
    for (struct served *sv = om->served; sv; sv = sv->next) {
        struct serve *ready = NULL;
        for (struct serve **pp = &sv->waiting; *pp;) {
            struct serve *s = *pp;
            if (memcmp(s->id, id, IDS_SIZE) == 0) {
                *pp = s->next;
                om->nrestoring--;
                s->restoring = false;
                s->next = ready;
                ready = s;
            } else {
                pp = &s->next;
            }
        }
        while (ready) {
            struct serve *s = ready;
            ready = s->next;
            s->next = NULL;
            serve_start(om, s);
        }
    }
}

/* ---- reading the locations again (the subscribe race) ------------------------------- */

static void relook_arm(struct objmgr *om)
{
    long long due = 0;
    for (int k = 0; k < OM_NRELOOK; k++)
        if (om->nrelooks[k] && (due == 0 || om->relooks[k][0].due_ms < due))
            due = om->relooks[k][0].due_ms;
    if (due)
        om_timer_at(om->relook_ev, due);
}

/* Look at W again after queue K's delay. */
static void relook_add(struct objmgr *om, int k, const struct want *w)
{
    static const long long delay_ms[OM_NRELOOK] = {
        OM_RELOOK1_MS,      OM_RELOOK2_MS - OM_RELOOK1_MS, OM_LOST_RECHECK_MS,
        OM_RELOOK_EVERY_MS, 2 * OM_RELOOK_EVERY_MS,       OM_RELOOK_MAX_MS,
    };
    om->relooks[k] = xreallocarray(om->relooks[k], om->nrelooks[k] + 1, sizeof *om->relooks[k]);
    struct relook *r = &om->relooks[k][om->nrelooks[k]++];
    memcpy(r->id, w->id, IDS_SIZE);
    r->gen = w->gen;
    r->due_ms = net_now_ms() + delay_ms[k];
    if (!evtimer_pending(om->relook_ev, NULL))
        relook_arm(om);
}

/* Relook entry R (of queue K) is due: look at its want again, and queue
 * its next look. */
static void relook_one(struct objmgr *om, int k, const struct relook *r)
{
    struct want *w = idmap_get(&om->wants, r->id);
    if (w == NULL)
        return;
    if (k >= 3 && w->gen != r->gen)
        return; /* an earlier want of the same ID: the new one has its own */
    if (k == 0)
        relook_add(om, 1, w);
    else if (k == 1 || k >= 3)
        relook_add(om, k == 1 ? 3 : k == 5 ? 5 : k + 1, w); /* on, until it is had */
    bool idle = w->pull == NULL && w->ncand == 0 && !w->locating && !w->space_wait &&
                !w->need_locate;
    if (!idle)
        return;
    if (k == 2) {
        /* lost a moment ago: read its locations again; with none,
         * want_next comes back to lost_start */
        w->relooked = true;
        want_locate(om, w);
        return;
    }
    if (k >= 3 && (w->resolving || w->nfailed > 0))
        return; /* the lost-object path has it (its own OM_LOST_RECHECK_MS) */
    if (k >= 3 && !has_waiters(om, w->id)) {
        want_free(om, w); /* nobody waits any more (a get that timed out) */
        return;
    }
    /* no holder known yet: its publication may have been missed (the
     * SUBSCRIBE raced the holder's write, or our pub/sub connection was
     * away), so read the table, and whether its last holder died */
    want_locate(om, w);
    if (k != 0 && !w->resolving)
        want_ask_lost_from(om, w);
}

static void relook_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct objmgr *om = arg;
    long long now = net_now_ms();
    size_t budget = OM_RELOOK_BATCH; /* the rest on the next callback, at once */
    for (int k = 0; k < OM_NRELOOK && budget > 0; k++) {
        size_t done = 0;
        while (done < om->nrelooks[k] && done < budget && om->relooks[k][done].due_ms <= now)
            done++;
        if (done == 0)
            continue;
        budget -= done;
        struct relook *due = xreallocarray(NULL, done, sizeof *due);
        memcpy(due, om->relooks[k], done * sizeof *due);
        memmove(om->relooks[k], om->relooks[k] + done,
                (om->nrelooks[k] - done) * sizeof *om->relooks[k]);
        om->nrelooks[k] -= done;
        for (size_t i = 0; i < done; i++)
            relook_one(om, k, &due[i]);
        free(due);
    }
    relook_arm(om);
}

/* ---- the public entry points ------------------------------------------------------- */

void objmgr_want(struct objmgr *om, const uint8_t *id)
{
    if (om == NULL || idmap_get(&om->wants, id))
        return;
    struct want *w = xcalloc(1, sizeof *w);
    memcpy(w->id, id, IDS_SIZE);
    ids_hex(id, IDS_SIZE, w->hex);
    w->gen = ++om->next_gen;
    idmap_put(&om->wants, id, w);
    char chan[sizeof OM_CHANNEL + IDS_HEX_SIZE];
    snprintf(chan, sizeof chan, OM_CHANNEL "%s", w->hex);
    gcs_subscribe(om->gcs, chan, om_obj_msg, om); /* first: then nothing is missed */
    log_debug("looking for object %s in the cluster", w->hex);
    want_locate(om, w);
    relook_add(om, 0, w);
}

void objmgr_drop_unwanted(struct objmgr *om)
{
    if (om == NULL)
        return;
    size_t pos = 0, n = 0;
    struct idmap_slot *slot;
    while ((slot = idmap_next(&om->wants, &pos)) != NULL) {
        struct want *w = slot->val;
        if (!has_waiters(om, w->id) && w->pull == NULL && !w->space_wait) {
            want_uncreate(om, w);
            want_free(om, w); /* deletes the slot: do not advance */
            n++;
            continue;
        }
        pos++;
    }
    if (n)
        log_debug("dropped %zu wants nobody waits for any more", n);
}

void objmgr_ready(struct objmgr *om, const uint8_t *id)
{
    if (om == NULL)
        return;
    if (om->nrestoring > 0)
        served_restored(om, id);
    struct want *w = idmap_get(&om->wants, id);
    if (w) {
        w->created = false; /* the sealed object is not ours to delete */
        want_free(om, w);
    }
}

/* Fail every pull for which MATCH(p, arg) with WHY. */
static void pulls_fail(struct objmgr *om, bool (*match)(struct pull *p, const void *arg),
                       const void *arg, const char *why)
{
    uint64_t *reqids = NULL;
    size_t n = 0;
    for (struct pull *p = om->pull_list; p; p = p->next)
        if (match(p, arg)) {
            reqids = xreallocarray(reqids, n + 1, sizeof *reqids);
            reqids[n++] = p->reqid;
        }
    for (size_t i = 0; i < n; i++) {
        struct pull *p = pull_find(om, reqids[i]);
        if (p)
            holder_failed(om, p->w, why);
    }
    free(reqids);
}

static bool pull_on_conn(struct pull *p, const void *arg)
{
    return p->c == arg;
}

static bool pull_from_node(struct pull *p, const void *arg)
{
    return strcmp(p->holder, arg) == 0;
}

void objmgr_conn_closed(struct objmgr *om, struct conn *c)
{
    if (om == NULL)
        return;
    struct served *sv = served_find(om, c);
    if (sv)
        served_free(om, sv);
    /* no CANCEL on a closed connection: mark the pulls first */
    for (struct pull *p = om->pull_list; p; p = p->next)
        if (p->c == c)
            p->c = NULL;
    pulls_fail(om, pull_on_conn, NULL, "connection closed");
}

void objmgr_gcs_reconnected(struct objmgr *om)
{
    if (om == NULL)
        return;
    size_t pos = 0;
    struct idmap_slot *slot;
    while ((slot = idmap_next(&om->wants, &pos)) != NULL) {
        pos++;
        struct want *w = slot->val;
        if (w->pull == NULL && !w->locating && !w->resolving && w->ncand == 0)
            want_locate(om, w);
    }
}

void objmgr_node_dead(struct objmgr *om, const char *hex)
{
    if (om == NULL)
        return;
    pulls_fail(om, pull_from_node, hex, "node died");
    /* drop it from the candidates of the other wants */
    uint8_t (*ids)[IDS_SIZE] = NULL;
    size_t n = 0, pos = 0;
    struct idmap_slot *slot;
    while ((slot = idmap_next(&om->wants, &pos)) != NULL) {
        struct want *w = slot->val;
        for (size_t i = 0; i < w->ncand; i++)
            if (strcmp(w->cand[i], hex) == 0) {
                hex_remove(w->cand, &w->ncand, i);
                snprintf(w->why, sizeof w->why, "node %.8s: node died", hex);
                if (!hex_in(w->failed, w->nfailed, hex))
                    hex_push(&w->failed, &w->nfailed, hex, false);
                ids = xreallocarray(ids, n + 1, sizeof *ids);
                memcpy(ids[n++], w->id, IDS_SIZE);
                break;
            }
        pos++;
    }
    for (size_t i = 0; i < n; i++) {
        struct want *w = idmap_get(&om->wants, ids[i]);
        if (w)
            want_next(om, w);
    }
    free(ids);
}

int objmgr_on_message(struct objmgr *om, struct conn *c, const struct proto_msg *m)
{
    switch (m->type) {
    case PROTO_NODE_OBJ_PULL:
        return h_pull(om, c, m);
    case PROTO_NODE_OBJ_HEADER:
        return h_header(om, c, m);
    case PROTO_NODE_OBJ_CHUNK:
        return h_chunk(om, c, m);
    case PROTO_NODE_OBJ_CANCEL:
        return h_cancel(om, c, m);
    default:
        return -1;
    }
}

struct objmgr *objmgr_new(struct event_base *base, objstore *st, struct gcs_client *gcs,
                          const char *node_hex, const struct objmgr_ops *ops, void *ctx)
{
    struct objmgr *om = xcalloc(1, sizeof *om);
    om->ops = *ops;
    om->ctx = ctx;
    om->base = base;
    om->st = st;
    om->gcs = gcs;
    snprintf(om->node_hex, sizeof om->node_hex, "%s", node_hex);
    om->retry_ev = evtimer_new(base, retry_cb, om);
    om->relook_ev = evtimer_new(base, relook_cb, om);
    return om;
}

void objmgr_free(struct objmgr *om)
{
    if (om == NULL)
        return;
    size_t pos = 0;
    struct idmap_slot *slot;
    while ((slot = idmap_next(&om->wants, &pos)) != NULL) {
        struct want *w = slot->val;
        want_uncreate(om, w);
        want_free(om, w); /* deletes the slot: do not advance */
    }
    idmap_free(&om->wants);
    idmap_free(&om->pulls);
    while (om->served) {
        struct served *sv = om->served;
        om->ops.on_drain(sv->c, NULL, NULL);
        om->ops.unwatch_conn(om->ctx, sv->c);
        served_free(om, sv);
    }
    /* chunks still in output buffers: their pins go now (the node is
     * stopping), the buffers free their records later */
    while (om->refs) {
        struct chunkref *r = om->refs;
        chunkref_unlink(om, r);
        objstore_release(om->st, r->id, r->pin);
        r->om = NULL;
    }
    for (struct locate *l = om->locates; l; l = l->next)
        l->om = NULL; /* freed when the GCS answers (or is freed) */
    for (struct locate *l = om->asks; l; l = l->next)
        l->om = NULL;
    event_free(om->retry_ev);
    event_free(om->relook_ev);
    for (int k = 0; k < OM_NRELOOK; k++)
        free(om->relooks[k]);
    free(om->retry);
    buf_free(&om->scratch);
    free(om);
}
