/*
 * objlife.c — the end of objects on this node: what the node remembers of
 * objects that are gone, so that a request for one is answered at once
 * instead of waiting forever, and the sweeps that remove a job's objects
 * when the job ends.
 *
 * DESIGN. An object that is not in the store is normally "not made yet":
 * a get, a wait or a task argument waits for it (objects.c, objmgr.c). Two
 * kinds of absent objects never come, and the node knows them:
 *
 *   freed     ray_free deletes on every node (NODE_OBJ_FREE) and in the
 *             object table; each node then keeps the ID as a tombstone, in
 *             a FIFO of at most OBJLIFE_FREED_MAX IDs (the oldest are
 *             forgotten first), and forgets a job's tombstones when the
 *             job ends (the next kind covers them). A freed object sealed
 *             here later (the return of a task that was still running, a
 *             copy on its way) is deleted at once.
 *   ended     an object of a job that has ended here (or whose end this
 *             node heard of on ch:jobs): the last OBJLIFE_ENDED_MAX job
 *             numbers are kept. Objects a detached actor put are kept
 *             (below) and are not "ended".
 *
 * A waiter registered for such an ID (objects_wait_for) is answered on the
 * next loop turn by an ERROR object (RAY_ENOTFOUND, naming the object and
 * why) stored under the ID here only, never in the object table: a get
 * returns the error, a wait counts it ready, a task that needs it fails
 * with it, exactly as for a task's failure. Objects that are simply not
 * made yet (a task queued or running anywhere, a put still on its way, an
 * ID this node never heard of) still wait.
 *
 * Job end. A job's end on a node deletes its objects from the store (spill
 * files included) at once (objects_delete_job); from then on an object of
 * that job sealed here (a late pull, a killed task's error, a copy pushed
 * from another node) is deleted instead of recorded (objlife_job_over). The
 * node that ran the driver cleans the job's keys in the GCS at once
 * (jobs.c, gcs_job_cleanup), but for its task records; every node that
 * knew the job then sweeps twice more, OBJLIFE_SWEEP1_MS and
 * OBJLIFE_SWEEP2_MS later: its store again, and the GCS (gcs_job_cleanup
 * again; at the second, the records of tasks that never finished too),
 * which catches the object and task table writes it still had in flight
 * when the job ended (a pipeline of thousands, on a busy node; a FINISHED
 * from another node, which a deleted record would have lost). Each node's
 * writes reach Redis in order, so its sweep comes after all of them.
 *
 * Detached actors own what they put: an object put or created (ray_put,
 * ray_create; not a method's return, which is its caller's) by the worker
 * of a detached actor is "kept" (idmap here, <p>jobkeep:<job8> in
 * the GCS) and survives its job's end. Kept objects whose actor is dead or
 * gone from this node are deleted at the next sweep of any job.
 */
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/objlife.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/jobs.h"
#include "runtime/objects.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJLIFE_FREED_MAX (1u << 18)   /* tombstones of freed objects per node */
#define OBJLIFE_ENDED_MAX 4096         /* ended job numbers remembered */
#define OBJLIFE_SWEEP1_MS 1000
#define OBJLIFE_SWEEP2_MS 5000

struct sweep {
    uint32_t num;
    int left;                /* sweeps still to do */
    long long due_ms;
};

struct objlife {
    struct idmap freed;              /* id -> (void *)1 */
    uint8_t (*ring)[IDS_SIZE];       /* freed IDs, oldest at ring_head */
    size_t ring_head, ring_len;
    uint32_t ended[OBJLIFE_ENDED_MAX]; /* ring of ended job numbers, oldest at ended_next */
    size_t nended, ended_next;
    struct idmap ended_map;          /* job key (job_key) -> (void *)1, the same numbers */
    struct idmap kept;               /* id -> actor id (IDS_SIZE bytes, owned) */
    uint8_t (*answer)[IDS_SIZE];     /* IDs whose waiters get their answer next turn */
    size_t nanswer;
    struct event *answer_ev;
    struct sweep *sweeps;
    size_t nsweeps;
    struct event *sweep_ev;
};

static struct objlife *ol_of(struct runtime *rt) { return rt->objlife; }

/* ---- tombstones ---------------------------------------------------------------- */

void objlife_freed(struct runtime *rt, const uint8_t *id)
{
    struct objlife *o = ol_of(rt);
    if (o == NULL || idmap_get(&o->freed, id))
        return;
    if (o->ring_len == OBJLIFE_FREED_MAX) {
        idmap_del(&o->freed, o->ring[o->ring_head]);
        o->ring_head = (o->ring_head + 1) % OBJLIFE_FREED_MAX;
        o->ring_len--;
    }
    if (o->ring == NULL)
        o->ring = xreallocarray(NULL, OBJLIFE_FREED_MAX, IDS_SIZE);
    memcpy(o->ring[(o->ring_head + o->ring_len) % OBJLIFE_FREED_MAX], id, IDS_SIZE);
    o->ring_len++;
    idmap_put(&o->freed, id, (void *)1);
}

bool objlife_is_freed(struct runtime *rt, const uint8_t *id)
{
    struct objlife *o = ol_of(rt);
    return o && o->freed.len && idmap_get(&o->freed, id);
}

/* Forget the tombstones of job NUM (its end answers for them). */
static void freed_drop_job(struct objlife *o, uint32_t num)
{
    size_t keep = 0;
    for (size_t i = 0; i < o->ring_len; i++) {
        uint8_t *id = o->ring[(o->ring_head + i) % OBJLIFE_FREED_MAX];
        if (ids_job(id) == num) {
            idmap_del(&o->freed, id);
            continue;
        }
        if (keep != i)
            memcpy(o->ring[(o->ring_head + keep) % OBJLIFE_FREED_MAX], id, IDS_SIZE);
        keep++;
    }
    o->ring_len = keep;
}

/* The idmap key of job number NUM. */
static const uint8_t *job_key(uint32_t num, uint8_t key[IDS_SIZE])
{
    memset(key, 0, IDS_SIZE);
    memcpy(key, &num, sizeof num);
    return key;
}

static bool ended_has(struct objlife *o, uint32_t num)
{
    uint8_t key[IDS_SIZE];
    return o->nended > 0 && idmap_get(&o->ended_map, job_key(num, key)) != NULL;
}

static bool kept_alive(struct runtime *rt, const uint8_t *aid)
{
    struct actor *a = actors_find(rt, aid);
    return a != NULL && actor_state(a) != ACTOR_DEAD;
}

bool objlife_job_over(struct runtime *rt, const uint8_t *id)
{
    struct objlife *o = ol_of(rt);
    if (o == NULL || o->nended == 0 || !ended_has(o, ids_job(id)))
        return false;
    const uint8_t *aid = idmap_get(&o->kept, id);
    return aid == NULL || !kept_alive(rt, aid);
}

int objlife_gone(struct runtime *rt, const uint8_t *id, struct buf *payload)
{
    struct objlife *o = ol_of(rt);
    char hex[IDS_HEX_SIZE], msg[300];
    if (o == NULL)
        return 0;
    if (o->freed.len && idmap_get(&o->freed, id))
        snprintf(msg, sizeof msg, "object %s was freed (ray_free): it is gone",
                 ids_hex(id, IDS_SIZE, hex));
    else if (objlife_job_over(rt, id))
        snprintf(msg, sizeof msg,
                 "object %s belonged to job %08x, which has ended: its objects are deleted",
                 ids_hex(id, IDS_SIZE, hex), ids_job(id));
    else
        return 0;
    if (payload) {
        mpw_array(payload, 2);
        mpw_int(payload, RAY_ENOTFOUND);
        mpw_cstr(payload, msg);
    }
    return RAY_ENOTFOUND;
}

/* ---- answering waiters of gone objects -------------------------------------------- */

void objlife_answer_later(struct runtime *rt, const uint8_t *id)
{
    struct objlife *o = ol_of(rt);
    if (o == NULL)
        return;
    /* an ID listed twice is answered once: the second finds it answered */
    o->answer = xreallocarray(o->answer, o->nanswer + 1, sizeof *o->answer);
    memcpy(o->answer[o->nanswer++], id, IDS_SIZE);
    event_active(o->answer_ev, EV_TIMEOUT, 0);
}

void objlife_answer_now(struct runtime *rt, const uint8_t *id)
{
    struct buf b = BUF_INIT;
    if (objects_have(rt, id) || !objects_waited_for(rt, id) ||
        objlife_gone(rt, id, &b) == 0) {
        buf_free(&b);
        return;
    }
    struct objstore_info info;
    if (objstore_lookup(rt->n->store, id, &info) == OBJSTORE_FOUND) {
        /* being written (a pull's reserved space, a create): its seal or
         * its failure wakes the waiters; never free memory under a writer */
        buf_free(&b);
        return;
    }
    /* not through objects_sealed: the object table never hears of it */
    int rc = objstore_put(rt->n->store, id, VT_ERROR, b.data, b.len); /* wakes the waiters */
    if (rc != OBJSTORE_OK)
        log_warnx("cannot answer the waiters of a gone object: %s", objstore_rc_name(rc));
    buf_free(&b);
}

static void answer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    struct objlife *o = ol_of(rt);
    uint8_t (*ids)[IDS_SIZE] = o->answer;
    size_t n = o->nanswer;
    o->answer = NULL;
    o->nanswer = 0;
    for (size_t i = 0; i < n; i++)
        objlife_answer_now(rt, ids[i]);
    free(ids);
}

/* ---- objects detached actors keep --------------------------------------------------- */

/* SADD or SREM (CMD) ID in <p>jobkeep:<job8>. */
static void kept_write(struct runtime *rt, const char *cmd, const uint8_t *id)
{
    char hex[IDS_HEX_SIZE], key[256];
    ids_hex(id, IDS_SIZE, hex);
    snprintf(key, sizeof key, "%sjobkeep:%.8s", gcs_client_prefix(rt->n->gcs), hex);
    gcs_command(rt->n->gcs, NULL, NULL, "%s %s %s", cmd, key, hex);
}

/* A client of the running job NUM writes objects: if NUM is listed as
 * ended (a job number given out again, after the GCS lost its counter),
 * it is not any more. */
static void job_live(struct objlife *o, uint32_t num)
{
    uint8_t key[IDS_SIZE];
    if (o->nended > 0)
        idmap_del(&o->ended_map, job_key(num, key)); /* its ring slot stays, unused */
}

void objlife_put_by(struct runtime *rt, struct client *cl, const uint8_t *id)
{
    struct objlife *o = ol_of(rt);
    if (o && cl && client_job(cl) && !job_ending(client_job(cl)))
        job_live(o, job_num(client_job(cl)));
    struct actor *a = cl && client_worker(cl) ? worker_actor(client_worker(cl)) : NULL;
    /* its ray_put / ray_create only: a method's returns belong to its caller */
    if (o == NULL || a == NULL || !actor_detached(a) || !(ids_index(id) & IDS_PUT_INDEX) ||
        idmap_get(&o->kept, id))
        return;
    idmap_put(&o->kept, id, xmemdup(actor_id(a), IDS_SIZE));
    kept_write(rt, "SADD", id);
}

static void kept_forget(struct runtime *rt, const uint8_t *id, bool delete_entry)
{
    struct objlife *o = ol_of(rt);
    free(idmap_del(&o->kept, id));
    kept_write(rt, "SREM", id);
    if (delete_entry) {
        char hex[IDS_HEX_SIZE];
        gcs_object_delete(rt->n->gcs, ids_hex(id, IDS_SIZE, hex));
    }
}

void objlife_kept_freed(struct runtime *rt, const uint8_t *id)
{
    struct objlife *o = ol_of(rt);
    if (o && o->kept.len && idmap_get(&o->kept, id))
        kept_forget(rt, id, false); /* the free deletes the entry */
}

/* Delete kept objects whose actor is gone. */
static void kept_sweep(struct runtime *rt)
{
    struct objlife *o = ol_of(rt);
    uint8_t (*ids)[IDS_SIZE] = NULL;
    size_t n = 0, pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&o->kept, &pos)) != NULL) {
        if (!kept_alive(rt, s->val)) {
            ids = xreallocarray(ids, n + 1, sizeof *ids);
            memcpy(ids[n++], s->key, IDS_SIZE);
        }
        pos++;
    }
    for (size_t i = 0; i < n; i++) {
        objstore_delete(rt->n->store, ids[i]);
        kept_forget(rt, ids[i], true);
    }
    if (n)
        log_info("deleted %zu objects of detached actors that are gone", n);
    free(ids);
}

/* ---- job ends and sweeps ------------------------------------------------------------- */

struct job_pred_arg {
    struct runtime *rt;
    uint32_t num;
};

static bool job_pred(const uint8_t *id, void *arg)
{
    struct job_pred_arg *a = arg;
    if (ids_job(id) != a->num)
        return false;
    struct objlife *o = a->rt->objlife;
    const uint8_t *aid = o ? idmap_get(&o->kept, id) : NULL;
    return aid == NULL || !kept_alive(a->rt, aid);
}

/* Delete job NUM's objects from the store (not the kept ones). */
static uint64_t store_sweep(struct runtime *rt, uint32_t num)
{
    struct job_pred_arg a = { rt, num };
    objrec_job_ended(rt->objrecs, num);
    return objstore_delete_if(rt->n->store, job_pred, &a);
}

static void sweep_arm(struct objlife *o)
{
    long long due = 0;
    for (size_t i = 0; i < o->nsweeps; i++)
        if (due == 0 || o->sweeps[i].due_ms < due)
            due = o->sweeps[i].due_ms;
    if (due)
        rt_timer_at(o->sweep_ev, due);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    struct objlife *o = ol_of(rt);
    long long now = net_now_ms();
    bool any = false;
    for (size_t i = 0; i < o->nsweeps;) {
        struct sweep *s = &o->sweeps[i];
        if (s->due_ms > now) {
            i++;
            continue;
        }
        uint64_t n = store_sweep(rt, s->num);
        if (n)
            log_info("job %08x: deleted %llu more of its objects", s->num, (unsigned long long)n);
        char hex[9];
        snprintf(hex, sizeof hex, "%08x", s->num);
        /* unfinished task records at the last sweep only: a FINISHED from
         * another node, a busy one, may come more than a second late */
        gcs_job_cleanup(rt->n->gcs, hex, s->left == 1);
        any = true;
        if (--s->left > 0) {
            s->due_ms = now + OBJLIFE_SWEEP2_MS - OBJLIFE_SWEEP1_MS;
            i++;
        } else {
            o->sweeps[i] = o->sweeps[--o->nsweeps];
        }
    }
    if (any)
        kept_sweep(rt);
    sweep_arm(o);
}

/* Detached actors outlive their job and go on calling other actors (a
 * Serve proxy, its controller): the returns of those calls carry the job's
 * number. So a job listed as ended here stops being so, and its pending
 * sweeps are dropped, when a detached actor of it calls from here or is
 * called here, or starts here (the driver's own objects were deleted when
 * the job ended). */
static void job_revive(struct objlife *o, uint32_t num)
{
    if (!ended_has(o, num))
        return;
    log_info("job %08x ended, but a detached actor of it works here: its new objects stay", num);
    job_live(o, num);
    for (size_t i = 0; i < o->nsweeps;) {
        if (o->sweeps[i].num == num)
            o->sweeps[i] = o->sweeps[--o->nsweeps];
        else
            i++;
    }
}

void objlife_actor_alive(struct runtime *rt, const struct actor *a)
{
    struct objlife *o = ol_of(rt);
    if (o && actor_detached(a) && !actor_remote(a))
        job_revive(o, ids_job(actor_id(a)));
}

void objlife_call_in(struct runtime *rt, const uint8_t *call_id)
{
    struct objlife *o = ol_of(rt);
    if (o && o->nended > 0)
        job_revive(o, ids_job(call_id));
}

void objlife_job_ended(struct runtime *rt, uint32_t num)
{
    struct objlife *o = ol_of(rt);
    uint64_t n = store_sweep(rt, num);
    if (n)
        log_info("deleted %llu objects of job %08x", (unsigned long long)n, num);
    if (o == NULL || ended_has(o, num))
        return;
    uint8_t key[IDS_SIZE];
    if (o->nended == OBJLIFE_ENDED_MAX) /* forget the oldest */
        idmap_del(&o->ended_map, job_key(o->ended[o->ended_next], key));
    else
        o->nended++;
    o->ended[o->ended_next] = num;
    o->ended_next = (o->ended_next + 1) % OBJLIFE_ENDED_MAX;
    idmap_put(&o->ended_map, job_key(num, key), (void *)1);
    freed_drop_job(o, num);
    kept_sweep(rt);
    objmgr_drop_unwanted(rt->om);
    o->sweeps = xreallocarray(o->sweeps, o->nsweeps + 1, sizeof *o->sweeps);
    o->sweeps[o->nsweeps++] = (struct sweep){ num, 2, net_now_ms() + OBJLIFE_SWEEP1_MS };
    sweep_arm(o);
}

/* ---- set-up and tear-down --------------------------------------------------------------- */

void objlife_init(struct runtime *rt)
{
    struct objlife *o = xcalloc(1, sizeof *o);
    o->answer_ev = event_new(rt->n->base, -1, 0, answer_cb, rt);
    o->sweep_ev = event_new(rt->n->base, -1, 0, sweep_cb, rt);
    rt->objlife = o;
}

void objlife_free(struct runtime *rt)
{
    struct objlife *o = ol_of(rt);
    if (o == NULL)
        return;
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&o->kept, &pos)) != NULL) {
        free(s->val);
        pos++;
    }
    idmap_free(&o->kept);
    idmap_free(&o->freed);
    idmap_free(&o->ended_map);
    free(o->ring);
    free(o->answer);
    free(o->sweeps);
    if (o->answer_ev)
        event_free(o->answer_ev);
    if (o->sweep_ev)
        event_free(o->sweep_ev);
    free(o);
    rt->objlife = NULL;
}
