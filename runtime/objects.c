/*
 * objects.c — the node's object requests: OBJ_PUT / CREATE / SEAL / GET /
 * RELEASE / WAIT / FREE / SUBSCRIBE from workers and drivers, on top of the
 * objstore.
 *
 * Waiting is callback driven: a request for an object that is not here yet
 * registers a waiter under the object's ID (OS(rt)->waiters); the store's ready
 * callback (objects_ready) wakes every waiter of that ID. A wait of many IDs
 * keeps a count of its ready ones, one more per waiter woken (O(1) per
 * object made: wait_woken), and recounts them only to answer. Creates and puts
 * that find the store full wait in OS(rt)->creates until spilling frees space.
 * A worker whose get or wait has to wait gives its task's CPU back
 * (tasks_worker_blocked) until it is answered. An object known to be gone
 * for good (freed, or of a job that ended: objlife.c) is answered at once
 * with an error instead of waited for.
 */
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/objects.h"
#include "runtime/clients.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/objlife.h"
#include "runtime/objmgr_ops.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This file's part of the runtime's state (rt->os): made zeroed on first use, so it reads as before its init
 * and after its free, as the fields of the calloc'd runtime did;
 * runtime_free frees the block itself. */
struct objects_state {
    struct idmap waiters;       /* object id -> struct waiter list */
    struct pending_create *creates; /* OBJ_CREATE / OBJ_PUT waiting for space */
    struct get_req *gets;       /* OBJ_GET requests waiting */
    struct wait_req *waits;     /* OBJ_WAIT requests waiting */
    struct push_req *pushes;    /* OBJ_SUBSCRIBE requests waiting */
    struct waiter *spare_waiters; /* freed waiters kept for reuse, through next */
    struct get_req *spare_gets;   /* freed get requests kept, through next */
    long nspare_waiters, nspare_gets; /* signed: the limit is 0 under ASan */
};

/* Freed waiters and get requests kept for the next ones (a blocked get
 * allocates nothing once warm); off under AddressSanitizer, so a use after
 * free is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define OBJECTS_SPARE_MAX 0
#else
#define OBJECTS_SPARE_MAX 4096
#endif

static struct objects_state *OS(const struct runtime *rt)
{
    if (rt->os == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->os = xcalloc(1, sizeof *rt->os);
    return rt->os;
}

/* One thing waiting for an object: an entry of runtime.waiters' list for
 * the object's id (objects_wait_for). */
struct waiter {
    enum waiter_kind kind;
    void *ptr;               /* struct task / get_req / wait_req / push_req */
    struct waiter *next;
};

struct get_req {
    struct runtime *rt;
    struct client *cl;
    uint64_t reqid;
    uint8_t id[IDS_SIZE];
    uint8_t task[IDS_SIZE];  /* the task that waits (zeros: not named) */
    bool blocked;            /* counted in client_nblocked(cl) */
    struct event *timer;
    struct get_req *next, *prev;
};

static struct waiter *waiter_new(struct runtime *rt)
{
    struct objects_state *os = OS(rt);
    struct waiter *w = os->spare_waiters;
    if (w == NULL)
        return xmalloc(sizeof *w);
    os->spare_waiters = w->next;
    os->nspare_waiters--;
    return w;
}

static void waiter_put(struct runtime *rt, struct waiter *w)
{
    struct objects_state *os = OS(rt);
    if (os->nspare_waiters >= OBJECTS_SPARE_MAX) {
        free(w);
        return;
    }
    w->next = os->spare_waiters;
    os->spare_waiters = w;
    os->nspare_waiters++;
}

/* A zeroed get request. */
static struct get_req *get_new(struct runtime *rt)
{
    struct objects_state *os = OS(rt);
    struct get_req *g = os->spare_gets;
    if (g == NULL)
        return xcalloc(1, sizeof *g);
    os->spare_gets = g->next;
    os->nspare_gets--;
    memset(g, 0, sizeof *g);
    return g;
}

static void get_put(struct runtime *rt, struct get_req *g)
{
    struct objects_state *os = OS(rt);
    if (os->nspare_gets >= OBJECTS_SPARE_MAX) {
        free(g);
        return;
    }
    g->next = os->spare_gets;
    os->spare_gets = g;
    os->nspare_gets++;
}

struct wait_req {
    struct runtime *rt;
    struct client *cl;
    uint64_t reqid;
    uint8_t (*ids)[IDS_SIZE];
    uint32_t n, num_ready;
    uint32_t nready;         /* entries of ids ready so far (wait_woken: one per waiter woken) */
    uint8_t task[IDS_SIZE];  /* the task that waits (zeros: not named) */
    bool blocked;            /* counted in client_nblocked(cl) */
    struct event *timer;
    struct wait_req *next, *prev;
};

/* OBJ_SUBSCRIBE: push ID to CL (OBJ_PUSH) once it is made. */
struct push_req {
    struct client *cl;
    uint8_t id[IDS_SIZE];
    uint64_t max_inline; /* larger objects are announced, not sent */
    struct push_req *next, *prev;
};

struct pending_create {
    struct client *cl;
    uint64_t reqid;          /* 0 for an OBJ_PUT */
    uint8_t id[IDS_SIZE];
    uint32_t vtype;
    uint64_t size;
    void *data;              /* OBJ_PUT payload (owned) */
    struct pending_create *next;
};

/* ---- waiters ---------------------------------------------------------------- */

void objects_wait_for(struct runtime *rt, const uint8_t *id, enum waiter_kind kind, void *ptr)
{
    struct waiter *w = waiter_new(rt);
    w->kind = kind;
    w->ptr = ptr;
    w->next = idmap_get(&OS(rt)->waiters, id);
    idmap_put(&OS(rt)->waiters, id, w);
    if (objlife_gone(rt, id, NULL))
        objlife_answer_later(rt, id); /* not now: the caller is still setting up */
    else if (w->next == NULL)
        objmgr_want_here(rt, id); /* the first waiter: it may live on another node */
}

static void waiter_remove(struct runtime *rt, const uint8_t *id, void *ptr)
{
    struct waiter *head = idmap_get(&OS(rt)->waiters, id), **pp = &head;
    while (*pp) {
        if ((*pp)->ptr == ptr) {
            struct waiter *dead = *pp;
            *pp = dead->next;
            waiter_put(rt, dead);
        } else {
            pp = &(*pp)->next;
        }
    }
    if (head)
        idmap_put(&OS(rt)->waiters, id, head);
    else
        idmap_del(&OS(rt)->waiters, id);
}

void objects_forget_waiter(struct runtime *rt, void *ptr)
{
    /* rare (a task freed while waiting for deps): scan the map */
    uint8_t (*ids)[IDS_SIZE] = NULL;
    size_t nids = 0, pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&OS(rt)->waiters, &pos)) != NULL) {
        for (struct waiter *w = s->val; w; w = w->next)
            if (w->ptr == ptr) {
                ids = xreallocarray(ids, nids + 1, sizeof *ids);
                memcpy(ids[nids++], s->key, IDS_SIZE);
                break;
            }
        pos++;
    }
    for (size_t i = 0; i < nids; i++)
        waiter_remove(rt, ids[i], ptr);
    free(ids);
}

bool objects_have(struct runtime *rt, const uint8_t *id)
{
    return objstore_contains(rt->n->store, id);
}

/* ---- replies ------------------------------------------------------------------ */

/* A get or wait of CL for task TASK (zeros: none named) is answered. */
static void client_unblock(struct runtime *rt, struct client *cl, const uint8_t *task,
                           bool *blocked)
{
    if (!*blocked)
        return;
    *blocked = false;
    client_nblocked_add(cl, -1);
    if (client_worker(cl))
        tasks_worker_blocked(rt, client_worker(cl), task, false);
}

/* A get or wait of CL for task TASK must wait. */
static void client_block(struct runtime *rt, struct client *cl, const uint8_t *task,
                         bool *blocked)
{
    *blocked = true;
    client_nblocked_add(cl, 1);
    if (client_worker(cl))
        tasks_worker_blocked(rt, client_worker(cl), task, true);
}

static int rc_to_status(int rc)
{
    switch (rc) {
    case OBJSTORE_NOMEM: return RAY_ENOMEM;
    case OBJSTORE_IO_ERROR: return RAY_ELOST;
    default: return RAY_ELOST;
    }
}

/* Try to answer a get now. Returns true if it was answered. */
static bool get_try(struct runtime *rt, struct client *cl, uint64_t reqid, const uint8_t *id)
{
    struct objstore_info info;
    int rc = objstore_get(rt->n->store, id, client_store_id(cl), &info);
    if (rc == OBJSTORE_FOUND) {
        conn_send(client_conn(cl), PROTO_OBJ_GET_OK, reqid, (int64_t)RAY_OK, (uint64_t)info.vtype,
                  info.offset, info.size, "", (size_t)0);
        return true;
    }
    if (rc == OBJSTORE_NOT_FOUND) {
        struct buf b = BUF_INIT;
        bool gone = objlife_gone(rt, id, &b) != 0;
        if (gone) /* the error travels inline, as an ERROR object would */
            conn_send(client_conn(cl), PROTO_OBJ_GET_OK, reqid, (int64_t)RAY_OK, (uint64_t)VT_ERROR,
                      (uint64_t)0, (uint64_t)b.len, b.data, b.len);
        buf_free(&b);
        return gone;
    }
    if (rc == OBJSTORE_NOT_SEALED || rc == OBJSTORE_SPILLED_RESTORING)
        return false;
    conn_send(client_conn(cl), PROTO_OBJ_GET_OK, reqid, (int64_t)rc_to_status(rc), (uint64_t)0,
              (uint64_t)0, (uint64_t)0, "", (size_t)0);
    return true;
}

static void get_req_free(struct runtime *rt, struct get_req *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        OS(rt)->gets = g->next;
    if (g->next)
        g->next->prev = g->prev;
    if (g->timer)
        event_free(g->timer);
    waiter_remove(rt, g->id, g);
    get_put(rt, g);
}

static void get_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct get_req *g = arg;
    struct runtime *rt = g->rt;
    conn_send(client_conn(g->cl), PROTO_OBJ_GET_OK, g->reqid, (int64_t)RAY_ETIMEOUT, (uint64_t)0,
              (uint64_t)0, (uint64_t)0, "", (size_t)0);
    client_unblock(rt, g->cl, g->task, &g->blocked);
    get_req_free(rt, g);
}

static void get_wake(struct runtime *rt, struct get_req *g)
{
    if (get_try(rt, g->cl, g->reqid, g->id)) {
        client_unblock(rt, g->cl, g->task, &g->blocked);
        get_req_free(rt, g);
    } else {
        objects_wait_for(rt, g->id, WAIT_GET, g); /* e.g. being restored: wait again */
    }
}

/* ID counts as ready for a wait: here, or gone (its get answers the error
 * at once). */
static bool wait_id_ready(struct runtime *rt, const uint8_t *id)
{
    return objects_have(rt, id) || objlife_gone(rt, id, NULL);
}

/* Count W's ready entries, at most num_ready, from scratch (and write the
 * reply's array of booleans to REPLY if not NULL): O(n), so only when a
 * wait starts and when it is answered, never per object made. */
static uint32_t wait_count(struct runtime *rt, struct wait_req *w, struct buf *reply)
{
    uint32_t ready = 0;
    if (reply)
        mpw_array(reply, w->n);
    for (uint32_t i = 0; i < w->n; i++) {
        bool r = ready < w->num_ready && wait_id_ready(rt, w->ids[i]);
        if (r)
            ready++;
        if (reply)
            mpw_bool(reply, r);
    }
    return ready;
}

static void wait_req_free(struct runtime *rt, struct wait_req *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        OS(rt)->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->timer)
        event_free(w->timer);
    for (uint32_t i = 0; i < w->n; i++)
        waiter_remove(rt, w->ids[i], w);
    free(w->ids);
    free(w);
}

static void wait_reply(struct runtime *rt, struct wait_req *w)
{
    struct buf b = BUF_INIT;
    wait_count(rt, w, &b);
    conn_send(client_conn(w->cl), PROTO_OBJ_WAIT_OK, w->reqid, b.data, b.len);
    buf_free(&b);
    client_unblock(rt, w->cl, w->task, &w->blocked);
    wait_req_free(rt, w);
}

static void wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct wait_req *w = arg;
    wait_reply(w->rt, w);
}

/* Register W as a waiter of each of its entries not ready now (one waiter
 * per entry: an ID listed twice has two) and set its count. */
static void wait_register(struct runtime *rt, struct wait_req *w)
{
    w->nready = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        if (wait_id_ready(rt, w->ids[i]))
            w->nready++;
        else
            objects_wait_for(rt, w->ids[i], WAIT_WAIT, w);
    }
}

/*
 * One of W's waiters for ID was woken (objects_ready, which took it off
 * the list). Each waiter stands for one entry that was not ready, so a
 * woken one whose ID is ready now adds one to the count: the wait costs
 * O(1) per object made, not a recount of all its IDs (a recount per
 * object was O(n^2) for a wait of n results still running: 20,000 of them
 * held the node's loop for 20-30 s under ASan, and the tasks' own
 * TASK_DONEs queued behind it). One not ready yet (woken but not readable,
 * e.g. being restored) waits again.
 */
static void wait_woken(struct runtime *rt, struct wait_req *w, const uint8_t *id)
{
    if (wait_id_ready(rt, id))
        w->nready++;
    else
        objects_wait_for(rt, id, WAIT_WAIT, w);
}

/* W's count says enough are ready: answer it after one recount, which is
 * the reply's truth. Should an entry counted at the start be unreadable
 * now (a copy lost with its node), the count is redone and W waits on. */
static void wait_check(struct runtime *rt, struct wait_req *w)
{
    if (w->nready < w->num_ready)
        return;
    if (wait_count(rt, w, NULL) >= w->num_ready) {
        wait_reply(rt, w);
        return;
    }
    for (uint32_t i = 0; i < w->n; i++)
        waiter_remove(rt, w->ids[i], w);
    wait_register(rt, w);
}

/*
 * Pushes (OBJ_SUBSCRIBE, then OBJ_PUSH): a client that wants an object as
 * soon as it is made, without a get's round trip and pin (Serve's proxy:
 * the result of each request's actor call), subscribes to its ID; the node
 * answers when the object is sealed here (made here, copied here from the
 * node that made it, or an error stored for it) or known gone, with its
 * bytes copied into the message when it is in memory and at most
 * max_inline bytes; otherwise with its size and no data, and the client
 * gets it as usual. The object stays in the store (the client frees it);
 * the push is a copy. One answer per subscription.
 */
static void push_req_free(struct runtime *rt, struct push_req *p, bool waiting)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        OS(rt)->pushes = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (waiting)
        waiter_remove(rt, p->id, p);
    free(p);
}

/* Answer P now if its object is readable or gone. Returns true if answered. */
static bool push_try(struct runtime *rt, struct push_req *p)
{
    struct objstore_info info;
    struct conn *c = client_conn(p->cl);
    if (objstore_lookup(rt->n->store, p->id, &info) == OBJSTORE_FOUND) {
        if (info.state == OBJSTORE_CREATED)
            return false; /* being written: its seal wakes us */
        bool inmem = info.state == OBJSTORE_SEALED || info.state == OBJSTORE_SPILLING;
        if (inmem && info.size <= p->max_inline)
            conn_send(c, PROTO_OBJ_PUSH, p->id, (uint64_t)info.vtype, info.size,
                      (const char *)objstore_base(rt->n->store) + info.offset, (size_t)info.size);
        else if (info.state == OBJSTORE_RESTORING && info.size <= p->max_inline)
            return false; /* being read back: its ready callback wakes us */
        else
            conn_send(c, PROTO_OBJ_PUSH, p->id, (uint64_t)info.vtype, info.size, "", (size_t)0);
        return true;
    }
    struct buf b = BUF_INIT;
    bool gone = objlife_gone(rt, p->id, &b) != 0;
    if (gone) /* the error travels inline, as an ERROR object would */
        conn_send(c, PROTO_OBJ_PUSH, p->id, (uint64_t)VT_ERROR, (uint64_t)b.len, b.data, b.len);
    buf_free(&b);
    return gone;
}

static void push_wake(struct runtime *rt, struct push_req *p)
{
    if (push_try(rt, p))
        push_req_free(rt, p, false);
    else
        objects_wait_for(rt, p->id, WAIT_PUSH, p); /* e.g. being restored: wait again */
}

static int h_subscribe(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    struct push_req *p = xcalloc(1, sizeof *p);
    p->cl = cl;
    memcpy(p->id, m->f[0].as.s.ptr, IDS_SIZE);
    p->max_inline = m->f[1].as.u;
    p->next = OS(rt)->pushes;
    if (OS(rt)->pushes)
        OS(rt)->pushes->prev = p;
    OS(rt)->pushes = p;
    if (push_try(rt, p))
        push_req_free(rt, p, false);
    else
        objects_wait_for(rt, p->id, WAIT_PUSH, p);
    return 0;
}

void objects_ready(struct runtime *rt, const uint8_t *id)
{
    objmgr_ready(rt->om, id);
    struct waiter *list = idmap_del(&OS(rt)->waiters, id);
    /* waits are answered after the walk: one wait may be listed twice here
     * (the same ID twice in its request) and answering frees it */
    struct wait_req **waits = NULL;
    size_t nwaits = 0;
    while (list) {
        struct waiter *w = list;
        list = w->next;
        enum waiter_kind kind = w->kind;
        void *ptr = w->ptr;
        waiter_put(rt, w);
        switch (kind) {
        case WAIT_TASK_DEP:
            tasks_dep_ready(rt, ptr);
            break;
        case WAIT_GET:
            get_wake(rt, ptr);
            break;
        case WAIT_PUSH:
            push_wake(rt, ptr);
            break;
        case WAIT_WAIT: {
            wait_woken(rt, ptr, id);
            bool seen = false;
            for (size_t i = 0; i < nwaits && !seen; i++)
                seen = waits[i] == ptr;
            if (!seen) {
                waits = xreallocarray(waits, nwaits + 1, sizeof *waits);
                waits[nwaits++] = ptr;
            }
            break;
        }
        }
    }
    for (size_t i = 0; i < nwaits; i++)
        wait_check(rt, waits[i]);
    free(waits);
}

/* ---- object creation ------------------------------------------------------------ */

void objects_sealed(struct runtime *rt, const uint8_t *id, uint64_t size)
{
    if (objlife_is_freed(rt, id) || objlife_job_over(rt, id)) {
        char hex[IDS_HEX_SIZE];
        log_debug("object %s sealed after it was freed or its job ended: deleted",
                  ids_hex(id, IDS_SIZE, hex));
        objstore_delete(rt->n->store, id); /* late: freed, or its job's end swept */
        return;
    }
    objrec_sealed(rt->objrecs, id, size);
}

static void pending_add(struct runtime *rt, struct client *cl, uint64_t reqid, const uint8_t *id,
                        uint32_t vtype, uint64_t size, const void *data)
{
    struct pending_create *p = xcalloc(1, sizeof *p);
    p->cl = cl;
    p->reqid = reqid;
    memcpy(p->id, id, IDS_SIZE);
    p->vtype = vtype;
    p->size = size;
    if (data)
        p->data = xmemdup(data, size ? size : 1);
    struct pending_create **pp = &OS(rt)->creates;
    while (*pp)
        pp = &(*pp)->next;
    *pp = p;
}

/* Store a small object; on a full store queue it. Returns the objstore code. */
static int do_put(struct runtime *rt, struct client *cl, const uint8_t *id, uint32_t vtype,
                  const void *data, uint64_t len, bool may_queue)
{
    int rc = objstore_put(rt->n->store, id, vtype, data, len);
    if (rc == OBJSTORE_OK) {
        objects_sealed(rt, id, len);
    } else if (rc == OBJSTORE_FULL_RETRY && may_queue) {
        pending_add(rt, cl, 0, id, vtype, len, data);
    } else if (rc == OBJSTORE_NOMEM || rc == OBJSTORE_FULL_RETRY) {
        char msg[256];
        objstore_error_format(rt->n->store, rc, len, msg, sizeof msg);
        log_warnx("put: %s", msg);
        objects_put_error(rt, id, RAY_ENOMEM, msg);
    }
    return rc;
}

void objects_put_copy(struct runtime *rt, const uint8_t *id, uint32_t vtype, const void *data,
                      size_t len)
{
    if (objstore_contains(rt->n->store, id))
        return;
    do_put(rt, NULL, id, vtype, data, len, false);
}

void objects_put_error(struct runtime *rt, const uint8_t *id, int code, const char *msg)
{
    struct buf b = BUF_INIT;
    mpw_array(&b, 2);
    mpw_int(&b, code);
    mpw_cstr(&b, msg);
    struct objstore_info info;
    if (objstore_lookup(rt->n->store, id, &info) == OBJSTORE_FOUND)
        objstore_delete(rt->n->store, id);
    int rc = objstore_put(rt->n->store, id, VT_ERROR, b.data, b.len);
    if (rc == OBJSTORE_OK)
        objects_sealed(rt, id, b.len);
    else
        log_warnx("cannot store an error object: %s", objstore_rc_name(rc));
    buf_free(&b);
}

static int h_put(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || client_job(cl) == NULL)
        return -1;
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr;
    if (ids_job(id) != job_num(client_job(cl)))
        log_debug("put of an object of another job");
    objlife_put_by(rt, cl, id);
    do_put(rt, cl, id, (uint32_t)m->f[1].as.u, m->f[2].as.s.ptr, m->f[2].as.s.len, true);
    return 0;
}

/* ID is a return of the task CL's worker runs now: a create of it that finds
 * it there meets what an earlier attempt made (its worker was killed after
 * it wrote the return, before TASK_DONE) or a copy of a lost object being
 * rebuilt; the new attempt replaces it. */
static bool create_replaces(struct runtime *rt, struct client *cl, const uint8_t *id)
{
    uint32_t index = ids_index(id);
    if (client_worker(cl) == NULL || index == 0 || (index & IDS_PUT_INDEX))
        return false;
    uint8_t tid[IDS_SIZE];
    ids_with_index(tid, id, 0);
    struct task *t = tasks_find(rt, tid);
    return t != NULL && task_worker(t) == client_worker(cl) && (int)index <= task_nret(t);
}

static int h_create(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    uint64_t reqid = m->f[0].as.u, size = m->f[3].as.u, off = 0;
    const uint8_t *id = (const uint8_t *)m->f[1].as.s.ptr;
    objlife_put_by(rt, cl, id);
    int rc = objstore_create(rt->n->store, id, (uint32_t)m->f[2].as.u, size, &off);
    if (rc == OBJSTORE_EXISTS && create_replaces(rt, cl, id) &&
        objstore_delete(rt->n->store, id) == OBJSTORE_OK) {
        log_debug("create: a return made by an earlier attempt is replaced");
        rc = objstore_create(rt->n->store, id, (uint32_t)m->f[2].as.u, size, &off);
    }
    if (rc == OBJSTORE_FULL_RETRY) {
        pending_add(rt, cl, reqid, id, (uint32_t)m->f[2].as.u, size, NULL);
        return 0;
    }
    int64_t st = rc == OBJSTORE_OK ? RAY_OK : rc == OBJSTORE_EXISTS ? RAY_EINVAL : RAY_ENOMEM;
    char msg[256] = "";
    if (rc == OBJSTORE_OK)
        objstore_prefault(rt->n->store, off, size); /* the client writes it next */
    if (rc == OBJSTORE_NOMEM) {
        objstore_error_format(rt->n->store, rc, size, msg, sizeof msg);
        log_warnx("create: %s", msg);
    }
    return conn_send(c, PROTO_OBJ_CREATE_OK, reqid, st, off, msg);
}

static void space_cb(void *arg)
{
    struct runtime *rt = arg;
    struct pending_create *list = OS(rt)->creates;
    OS(rt)->creates = NULL;
    while (list) {
        struct pending_create *p = list;
        list = p->next;
        if (p->cl == NULL) {
            free(p->data);
            free(p);
            continue;
        }
        if (p->reqid == 0) {
            int rc = objstore_put(rt->n->store, p->id, p->vtype, p->data, p->size);
            if (rc == OBJSTORE_FULL_RETRY) {
                p->next = OS(rt)->creates;
                OS(rt)->creates = p;
                continue;
            }
            if (rc == OBJSTORE_OK)
                objects_sealed(rt, p->id, p->size);
            else if (rc != OBJSTORE_EXISTS) {
                char msg[256];
                objstore_error_format(rt->n->store, rc, p->size, msg, sizeof msg);
                objects_put_error(rt, p->id, RAY_ENOMEM, msg);
            }
        } else {
            uint64_t off = 0;
            int rc = objstore_create(rt->n->store, p->id, p->vtype, p->size, &off);
            if (rc == OBJSTORE_FULL_RETRY) {
                p->next = OS(rt)->creates;
                OS(rt)->creates = p;
                continue;
            }
            int64_t st = rc == OBJSTORE_OK ? RAY_OK : rc == OBJSTORE_EXISTS ? RAY_EINVAL : RAY_ENOMEM;
            char msg[256] = "";
            if (rc == OBJSTORE_NOMEM)
                objstore_error_format(rt->n->store, rc, p->size, msg, sizeof msg);
            conn_send(client_conn(p->cl), PROTO_OBJ_CREATE_OK, p->reqid, st, off, msg);
        }
        free(p->data);
        free(p);
    }
}

static int h_seal(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (rt_client_of(c) == NULL)
        return -1;
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr;
    struct objstore_info info;
    uint64_t size = objstore_lookup(rt->n->store, id, &info) == OBJSTORE_FOUND ? info.size : 0;
    if (objstore_seal(rt->n->store, id) == OBJSTORE_OK)
        objects_sealed(rt, id, size);
    return 0;
}

/* ---- gets and waits ---------------------------------------------------------------- */

static void arm_timer(struct runtime *rt, struct event **ev, int64_t ms,
                      void (*cb)(evutil_socket_t, short, void *), void *arg)
{
    if (ms < 0)
        return;
    *ev = evtimer_new(rt->n->base, cb, arg);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(*ev, &tv);
}

static int h_get(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    uint64_t reqid = m->f[0].as.u;
    const uint8_t *id = (const uint8_t *)m->f[1].as.s.ptr;
    int64_t timeout = m->f[2].as.i;
    if (get_try(rt, cl, reqid, id))
        return 0;
    if (timeout == 0) {
        return conn_send(c, PROTO_OBJ_GET_OK, reqid, (int64_t)RAY_ETIMEOUT, (uint64_t)0,
                         (uint64_t)0, (uint64_t)0, "", (size_t)0);
    }
    struct get_req *g = get_new(rt);
    g->rt = rt;
    g->cl = cl;
    g->reqid = reqid;
    memcpy(g->id, id, IDS_SIZE);
    memcpy(g->task, m->f[3].as.s.ptr, IDS_SIZE);
    g->next = OS(rt)->gets;
    if (OS(rt)->gets)
        OS(rt)->gets->prev = g;
    OS(rt)->gets = g;
    objects_wait_for(rt, id, WAIT_GET, g);
    arm_timer(rt, &g->timer, timeout, get_timeout_cb, g);
    client_block(rt, cl, g->task, &g->blocked);
    return 0;
}

static int h_release(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    objstore_release(rt->n->store, (const uint8_t *)m->f[0].as.s.ptr, client_store_id(cl));
    return 0;
}

/* Read an array of 20-byte IDs from a 'v' field. Returns the count or -1. */
static int read_ids(const struct proto_field *f, uint8_t (**out)[IDS_SIZE])
{
    struct mpr r;
    uint32_t n;
    mpr_init(&r, f->as.s.ptr, f->as.s.len);
    if (mpr_array(&r, &n) < 0 || n > 1000000)
        return -1;
    uint8_t (*ids)[IDS_SIZE] = xcalloc(n ? n : 1, sizeof *ids);
    for (uint32_t i = 0; i < n; i++) {
        const void *p;
        size_t len;
        if (mpr_bin(&r, &p, &len) < 0 || len != IDS_SIZE) {
            free(ids);
            return -1;
        }
        memcpy(ids[i], p, IDS_SIZE);
    }
    *out = ids;
    return (int)n;
}

static int h_wait(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    uint8_t (*ids)[IDS_SIZE] = NULL;
    int n = read_ids(&m->f[1], &ids);
    if (n < 0) {
        /* well framed, but not a list of IDs: answer nil (the caller's
         * ray_wait gives RAY_EINVAL) and keep the client */
        log_warnx("refused OBJ_WAIT from %s: ids are not an array of 20-byte IDs", c->peer);
        return conn_send(c, PROTO_OBJ_WAIT_OK, m->f[0].as.u, "", (size_t)0) < 0 ? -1 : 0;
    }
    struct wait_req *w = xcalloc(1, sizeof *w);
    w->rt = rt;
    w->cl = cl;
    w->reqid = m->f[0].as.u;
    w->ids = ids;
    w->n = (uint32_t)n;
    w->num_ready = m->f[2].as.u > (uint64_t)n ? (uint32_t)n : (uint32_t)m->f[2].as.u;
    memcpy(w->task, m->f[4].as.s.ptr, IDS_SIZE);
    w->next = OS(rt)->waits;
    if (OS(rt)->waits)
        OS(rt)->waits->prev = w;
    OS(rt)->waits = w;
    int64_t timeout = m->f[3].as.i;
    if (wait_count(rt, w, NULL) >= w->num_ready || timeout == 0) {
        wait_reply(rt, w);
        return 0;
    }
    wait_register(rt, w);
    arm_timer(rt, &w->timer, timeout, wait_timeout_cb, w);
    client_block(rt, cl, w->task, &w->blocked);
    return 0;
}

/* OBJ_FREE from a client: delete here, in the object table, and on every
 * other node (NODE_OBJ_FREE, which deletes only locally). Every node keeps
 * a tombstone (objlife.c), and whoever waits for a freed ID now is
 * answered that it was freed. */
static int h_free(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    bool from_node = c->role == PROTO_ROLE_NODE;
    if (!from_node && rt_client_of(c) == NULL)
        return -1;
    uint8_t (*ids)[IDS_SIZE] = NULL;
    int n = read_ids(&m->f[0], &ids);
    if (n < 0) { /* no reply to give: say so in the log, keep the peer */
        log_warnx("refused OBJ_FREE from %s: ids are not an array of 20-byte IDs", c->peer);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        objstore_delete(rt->n->store, ids[i]);
        objlife_freed(rt, ids[i]);
        objlife_kept_freed(rt, ids[i]);
        spill_obj_freed(rt, ids[i]); /* its lineage goes with its task's last return */
        if (!from_node && !objrec_freed(rt->objrecs, ids[i])) {
            char hex[IDS_HEX_SIZE];
            gcs_object_delete(rt->n->gcs, ids_hex(ids[i], IDS_SIZE, hex));
        }
        if (OS(rt)->waiters.len && idmap_get(&OS(rt)->waiters, ids[i]))
            objlife_answer_now(rt, ids[i]);
    }
    free(ids);
    if (!from_node)
        for (size_t k = 0; k < cluster_count(rt); k++)
            if (cluster_node_alive(cluster_node_at(rt, k)) &&
                !cluster_node_self(cluster_node_at(rt, k))) {
                struct conn *peer = cluster_conn(rt, cluster_node_id(cluster_node_at(rt, k)));
                if (peer)
                    conn_send(peer, PROTO_NODE_OBJ_FREE, m->f[0].as.s.ptr, m->f[0].as.s.len);
            }
    return 0;
}

/* ---- copies of small returns sent ahead -------------------------------------------------- */

void objects_send_returns(struct runtime *rt, const struct task *t, struct conn *c, uint32_t type,
                          uint64_t max_bytes, bool scalars_only)
{
    const char *base = objstore_base(rt->n->store);
    for (int i = 1; i <= task_nret(t); i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, task_id(t), (uint32_t)i);
        struct objstore_info info;
        if (objstore_lookup(rt->n->store, rid, &info) != OBJSTORE_FOUND ||
            info.state != OBJSTORE_SEALED || info.size > max_bytes)
            continue;
        if (scalars_only &&
            (info.vtype > RAY_ACTOR || info.vtype == RAY_STR || info.vtype == RAY_BYTES))
            continue;
        conn_send(c, type, rid, (uint64_t)info.vtype, base + info.offset, (size_t)info.size);
    }
}

/*
 * Ray's owners learn their tasks' small results with the task's reply; here
 * the node pushes them: when a task ends, each return that is a scalar (NIL,
 * BOOL, INT, FLOAT, REF, ACTOR: no memory to pin) goes to the submitting
 * client in an OBJ_VALUE, written with the node's other output of this loop
 * turn. The client keeps it in its cache of scalars, so its ray_get and
 * ray_wait of that object need no round trip. The object stays in the store
 * as always; the push is only a copy.
 */
#define PUSH_MAX_BYTES 64

void objects_push_values(struct runtime *rt, const struct task *t)
{
    if (task_owner(t) == 0)
        return;
    struct client *cl = client_by_store_id(rt, task_owner(t));
    if (cl && client_conn(cl))
        objects_send_returns(rt, t, client_conn(cl), PROTO_OBJ_VALUE, PUSH_MAX_BYTES, true);
}

/* ---- clients and jobs going away ------------------------------------------------------ */

void objects_client_gone(struct runtime *rt, struct client *cl)
{
    for (struct get_req *g = OS(rt)->gets, *next; g; g = next) {
        next = g->next;
        if (g->cl == cl)
            get_req_free(rt, g);
    }
    for (struct wait_req *w = OS(rt)->waits, *next; w; w = next) {
        next = w->next;
        if (w->cl == cl)
            wait_req_free(rt, w);
    }
    for (struct push_req *p = OS(rt)->pushes, *next; p; p = next) {
        next = p->next;
        if (p->cl == cl)
            push_req_free(rt, p, true);
    }
    for (struct pending_create *p = OS(rt)->creates; p; p = p->next)
        if (p->cl == cl)
            p->cl = NULL;
    objstore_client_release_all(rt->n->store, client_store_id(cl));
}

void objects_delete_job(struct runtime *rt, uint32_t num)
{
    objlife_job_ended(rt, num);
}

/* objrec's view of the cluster: how many other nodes are alive. */
static size_t alive_others(void *ctx)
{
    return cluster_alive_others(ctx);
}

void objects_init(struct runtime *rt)
{
    struct server *s = rt->n->srv;
    server_on(s, PROTO_OBJ_PUT, h_put, rt);
    server_on(s, PROTO_OBJ_CREATE, h_create, rt);
    server_on(s, PROTO_OBJ_SEAL, h_seal, rt);
    server_on(s, PROTO_OBJ_GET, h_get, rt);
    server_on(s, PROTO_OBJ_RELEASE, h_release, rt);
    server_on(s, PROTO_OBJ_WAIT, h_wait, rt);
    server_on(s, PROTO_OBJ_FREE, h_free, rt);
    server_on(s, PROTO_OBJ_SUBSCRIBE, h_subscribe, rt);
    server_on(s, PROTO_NODE_OBJ_FREE, h_free, rt);
    objstore_set_space_cb(rt->n->store, space_cb, rt);
    rt->objrecs = objrec_new(rt->n->base, rt->n->gcs, rt->n->hex, alive_others, rt);
    objlife_init(rt);
}

void objects_free(struct runtime *rt)
{
    objrec_free(rt->objrecs);
    rt->objrecs = NULL;
    objlife_free(rt);
    while (OS(rt)->gets)
        get_req_free(rt, OS(rt)->gets);
    while (OS(rt)->waits)
        wait_req_free(rt, OS(rt)->waits);
    while (OS(rt)->pushes)
        push_req_free(rt, OS(rt)->pushes, true);
    while (OS(rt)->creates) {
        struct pending_create *p = OS(rt)->creates;
        OS(rt)->creates = p->next;
        free(p->data);
        free(p);
    }
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&OS(rt)->waiters, &pos)) != NULL) {
        for (struct waiter *w = s->val, *next; w; w = next) {
            next = w->next;
            free(w);
        }
        pos++;
    }
    idmap_free(&OS(rt)->waiters);
    for (struct waiter *w = OS(rt)->spare_waiters, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    for (struct get_req *g = OS(rt)->spare_gets, *next; g; g = next) {
        next = g->next;
        free(g);
    }
    OS(rt)->spare_waiters = NULL;
    OS(rt)->spare_gets = NULL;
    OS(rt)->nspare_waiters = OS(rt)->nspare_gets = 0;
}

void objects_nodes_joined(struct runtime *rt)
{
    struct idmap_slot *s;
    for (size_t pos = 0; (s = idmap_next(&OS(rt)->waiters, &pos)) != NULL; pos++)
        objmgr_want_here(rt, s->key); /* (nothing for one had or looked for already) */
}

bool objects_waited_for(const struct runtime *rt, const uint8_t *id)
{
    return idmap_get(&OS(rt)->waiters, id) != NULL;
}

size_t objects_nwaited(const struct runtime *rt)
{
    return OS(rt)->waiters.len;
}
