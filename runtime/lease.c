/*
 * lease.c — leases of workers to drivers, for direct submission
 * (docs/direct.md).
 *
 * DESIGN. A driver with tasks of one shape (resources, runtime_env; no
 * placement group, no GPU) asks for a lease (LEASE_REQUEST, a spec-like
 * map naming the lease ID and the shape). The node answers at once: it
 * grants one only when nothing waits in its queues (queued work comes
 * first), an idle worker of the job and environment is there, and the
 * shape's resources are free; else it refuses (and starts a worker for a
 * later request when the job has none starting). A granted lease is a
 * struct task of tasks.c flagged `lease`: it holds the shape's resources
 * through the local scheduler exactly as a running task does (so `ray
 * status`, placement and the pipelining see them taken), and it is its
 * worker's running task, so the worker gets no other work, is not sent
 * tasks ahead or nested, and its death ends the lease (tasks.c
 * tasks_worker_died calls lease_worker_died). The driver then talks to the
 * worker directly; the node hears of the tasks only in batches
 * (DIRECT_DONE: the worker's notice after the objects it stored), which
 * feed the counters, the task table and the failure objects.
 *
 * A lease ends when its driver returns it (LEASE_RETURN: it ran out of
 * tasks of the shape), when the driver's connection closes, when the
 * worker dies, or when the runtime stops. The node takes leases back when
 * other work waits: every LEASE_TICK_MS while leases exist, if tasks wait
 * in the queues, the oldest lease granted more than LEASE_MIN_MS ago is
 * revoked (LEASE_REVOKE) when tasks of other clients wait (a driver's own
 * overflow to the queues does not take its leases); its driver stops
 * sending to it and returns it once its tasks there are answered. A lease
 * is likewise refused while other clients' tasks wait. Tasks a driver sent
 * directly and that stay unanswered for half a second are reported by it
 * (DIRECT_PENDING) and get a PENDING or RUNNING record, never over their
 * final one.
 */
#include "runtime/lease.h"

#include "common/buf.h"
#include "common/direct_wire.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "ray.h"
#include "runtime/clients.h"
#include "runtime/cluster.h"
#include "runtime/counters.h"
#include "runtime/jobs.h"
#include "runtime/objects.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"

#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_TICK_MS 10
#define LEASE_MIN_MS 10

/* One lease granted (a few at a time: a list). */
struct lease_ent {
    struct runtime *rt;
    struct task *t;          /* the lease's record in tasks.c (worker, resources) */
    int owner;               /* the driver's store id */
    long long granted_ms;
    bool revoked;
    bool printing;           /* out_task/out_name: the direct task its output is from */
    uint8_t out_task[IDS_SIZE];
    char out_name[128];
    struct lease_ent *next;
};

static struct lease_ent *leases;

/* A driver's backlog of one shape (DIRECT_BACKLOG): a few per driver. */
struct backlog {
    struct runtime *rt;
    int owner;               /* the driver's store id */
    struct res_set demand;
    long count;
    bool taken;              /* counted into a queued shape's line this round */
    struct backlog *next;
};
static struct backlog *backlogs;
#define LEASE_BACKLOG_SHAPES 16 /* backlogs kept per driver */
static struct event *tick_ev;
static unsigned long long n_direct, n_granted;

unsigned long long lease_direct_tasks(void)
{
    return n_direct;
}

unsigned long long lease_granted(void)
{
    return n_granted;
}

static struct lease_ent *find_task(struct runtime *rt, const struct task *t)
{
    for (struct lease_ent *e = leases; e; e = e->next)
        if (e->rt == rt && e->t == t)
            return e;
    return NULL;
}

static void unlink_ent(struct lease_ent *x)
{
    for (struct lease_ent **p = &leases; *p; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            return;
        }
}

/* End lease E: resources back, its worker idle (unless it died), E freed. */
static void end_lease(struct lease_ent *e)
{
    struct runtime *rt = e->rt;
    struct task *t = e->t;
    struct worker *w = task_worker(t);
    unlink_ent(e);
    free(e);
    tasks_release(rt, t);
    task_set_worker(t, NULL);
    if (w && worker_task(w) == t) {
        worker_set_task(w, NULL);
        tasks_worker_run_next(rt, w); /* tasks nested in it while its task waited, or idle */
    }
    tasks_destroy(rt, t);
    tasks_schedule(rt);
}

static void arm_tick(void)
{
    if (tick_ev && leases && !evtimer_pending(tick_ev, NULL)) {
        struct timeval tv = { 0, LEASE_TICK_MS * 1000 };
        evtimer_add(tick_ev, &tv);
    }
}

/* Take back the oldest lease when work waits here. */
static void lease_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    long long now = net_now_ms();
    if (tasks_queued(rt) > 0) {
        struct lease_ent *old = NULL;
        for (struct lease_ent *e = leases; e; e = e->next)
            if (e->rt == rt && !e->revoked && now - e->granted_ms >= LEASE_MIN_MS &&
                (old == NULL || e->granted_ms < old->granted_ms) &&
                tasks_queued_for_others(rt, e->owner))
                old = e;
        struct client *cl = old ? client_by_store_id(rt, old->owner) : NULL;
        if (old && cl && client_conn(cl)) {
            old->revoked = true;
            conn_send(client_conn(cl), PROTO_LEASE_REVOKE, task_id(old->t));
        }
    }
    arm_tick();
}

/* Whether a live node other than this one has DEMAND available now (as
 * this node last heard: heartbeats and load reports). */
static bool room_elsewhere(struct runtime *rt, const struct res_set *demand)
{
    for (size_t i = 0; i < cluster_count(rt); i++) {
        const struct cluster_node *cn = cluster_node_at(rt, i);
        if (cluster_node_alive(cn) && !cluster_node_self(cn) &&
            res_fits(cluster_node_avail(cn), demand))
            return true;
    }
    return false;
}

/* Answer LEASE_REQUEST ID with a refusal: CODE 1 (not now: no idle worker,
 * other clients' tasks wait, or the shape's resources are taken here while
 * another node has room), 2 (taken here, and no other node has room), or an
 * error status (never granted). */
static void refuse(struct conn *c, const uint8_t *id, int code, const char *why)
{
    static const uint8_t zero[IDS_SIZE];
    conn_send(c, PROTO_LEASE_GRANT, id, (int64_t)code, zero, why);
}

static int h_request(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    const void *spec = m->f[0].as.s.ptr;
    size_t len = m->f[0].as.s.len;
    struct spec_fields f;
    char err[256];
    if (spec_parse(spec, len, &f, err, sizeof err) < 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "node %.8s refused LEASE_REQUEST: %s", rt->n->hex, err);
        conn_send(c, PROTO_ERROR, (int64_t)RAY_EINVAL, msg);
        return 0;
    }
    struct job *j = client_job(cl);
    if (!client_is_driver(cl) || client_worker(cl) != NULL || job_ending(j)) {
        refuse(c, f.id, RAY_EINVAL, "only a driver of a live job may lease a worker");
        return 0;
    }
    if (f.pg != NULL || f.gpu > 0) {
        refuse(c, f.id, RAY_EINVAL, "no leases for placement groups or GPUs");
        return 0;
    }
    if (tasks_find(rt, f.id) != NULL) {
        refuse(c, f.id, RAY_EINVAL, "lease ID in use");
        return 0;
    }
    if (tasks_queued(rt) > 0 && tasks_queued_for_others(rt, client_store_id(cl))) {
        refuse(c, f.id, 1, "other tasks wait here");
        return 0;
    }
    /* the shape's resources first: taken here, no worker is started for it,
     * and the driver hears whether another node has room (code 2: none has,
     * so the node's way would not run its tasks sooner: it holds them) */
    struct res_set demand = RES_SET_INIT;
    bool fits = spec_demand(&f, &demand, err, sizeof err) == 0 &&
                res_fits(&rt->n->total, &demand);
    bool free_now = fits && res_fits(&rt->n->avail, &demand);
    bool elsewhere = room_elsewhere(rt, &demand);
    res_free(&demand);
    if (!free_now) {
        refuse(c, f.id, fits && !elsewhere ? 2 : 1, "its resources are taken");
        return 0;
    }
    char *renv = f.renvlen ? xstrndup(f.renv, f.renvlen) : NULL;
    struct worker *w = workers_idle_env(rt, j, "", renv);
    if (w == NULL || worker_client(w) == NULL) {
        if (!workers_at_cap(rt) && workers_starting(rt, j) == 0)
            workers_spawn_env(rt, j, NULL, "", renv); /* for the next request */
        free(renv);
        refuse(c, f.id, 1, "no idle worker");
        return 0;
    }
    free(renv);
    struct task *t = tasks_new(rt, TASK_NORMAL, j, spec, len, err, sizeof err);
    if (t == NULL) {
        refuse(c, f.id, RAY_EINVAL, err);
        return 0;
    }
    if (!res_fits(&rt->n->total, task_demand(t)) ||
        !sched_local_hold_if_fits(tasks_sched(rt), task_st(t))) {
        tasks_destroy(rt, t);
        refuse(c, f.id, 1, "its resources are taken");
        return 0;
    }
    task_set_lease(t, true);
    task_set_state(t, TASK_RUNNING);
    task_set_worker(t, w);
    task_set_owner(t, client_store_id(cl));
    worker_set_state(w, WORKER_BUSY);
    worker_set_task(w, t);
    struct lease_ent *e = xcalloc(1, sizeof *e);
    *e = (struct lease_ent){ .rt = rt, .t = t, .owner = client_store_id(cl),
                             .granted_ms = net_now_ms(), .next = leases };
    leases = e;
    n_granted++;
    arm_tick();
    /* "spread": another node has room too, so the driver keeps few tasks
     * unanswered on its leases and sends the rest here, to be spread */
    conn_send(c, PROTO_LEASE_GRANT, f.id, (int64_t)RAY_OK, worker_id(w), elsewhere ? "spread" : "");
    return 0;
}

static int h_return(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr;
    for (struct lease_ent *e = leases; e; e = e->next)
        if (e->rt == rt && e->owner == client_store_id(cl) &&
            memcmp(task_id(e->t), id, IDS_SIZE) == 0) {
            end_lease(e);
            break;
        }
    return 0; /* unknown: it ended already (its worker died) */
}

void lease_direct_done(struct runtime *rt, struct client *cl, const struct direct_entry *e,
                       bool record)
{
    char name[DIRECT_NAME_MAX + 1], hex[IDS_HEX_SIZE];
    memcpy(name, e->name, e->namelen);
    name[e->namelen] = '\0';
    ids_hex(e->id, IDS_SIZE, hex);
    bool failed = e->status != 0;
    n_direct++;
    if (!failed) {
        /* returns the task did not set become NIL (those it set came before) */
        for (uint64_t i = 1; i <= e->nret; i++) {
            uint8_t rid[IDS_SIZE];
            ids_with_index(rid, e->id, (uint32_t)i);
            objects_put_copy(rt, rid, RAY_NIL, "", 0);
        }
    } else {
        char full[1400];
        if (e->status == RAY_ETASK)
            snprintf(full, sizeof full, "task %s failed on node %.8s: %.*s", name, rt->n->hex,
                     (int)(e->msglen > 1200 ? 1200 : e->msglen), e->msg);
        else
            snprintf(full, sizeof full, "%.*s", (int)(e->msglen > 1200 ? 1200 : e->msglen),
                     e->msg);
        for (uint64_t i = 1; i <= e->nret; i++) {
            uint8_t rid[IDS_SIZE];
            ids_with_index(rid, e->id, (uint32_t)i);
            objects_put_error(rt, rid, (int)e->status, full);
        }
        gcs_event_add(rt->n->gcs, "TASK_FAILED", hex, rt->n->hex, full);
    }
    counters_task_final(name, failed);
    if (!record)
        return;
    struct job *j = client_job(cl);
    if (j == NULL || job_ending(j))
        return;
    struct gcs_task r = {
        .task_id = hex,
        .job = (char *)job_hex(j),
        .name = name,
        .state = failed ? "FAILED" : "FINISHED",
        .node = rt->n->hex,
        .attempts = 1,
    };
    if (gcs_task_record(rt->n->gcs, &r) < 0)
        log_warnx("task %s: cannot write its record", hex);
}

static int h_direct_done(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || client_worker(cl) == NULL)
        return -1;
    struct mpr r;
    uint32_t n;
    struct direct_entry e;
    /* an actor's worker reports direct actor calls: no task-table record,
     * as for the node's actor calls (taskrec.c) */
    const struct actor *actor_calls = worker_actor(client_worker(cl));
    if (direct_batch_open(&r, m->f[0].as.s.ptr, m->f[0].as.s.len, &n) < 0) {
        log_warnx("malformed DIRECT_DONE from %s", c->peer);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (direct_batch_next(&r, &e) < 0) {
            log_warnx("malformed DIRECT_DONE entry %u from %s", i, c->peer);
            break;
        }
        lease_direct_done(rt, cl, &e, actor_calls == NULL);
    }
    return 0;
}

/* DIRECT_PENDING from a driver: tasks sent to its leased workers and long
 * unanswered get a record (RUNNING or PENDING) unless they have one. */
static int h_direct_pending(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || client_job(cl) == NULL)
        return -1;
    struct job *j = client_job(cl);
    struct mpr r;
    uint32_t n;
    struct direct_entry e;
    if (job_ending(j) || direct_batch_open(&r, m->f[0].as.s.ptr, m->f[0].as.s.len, &n) < 0)
        return 0;
    for (uint32_t i = 0; i < n && direct_batch_next(&r, &e) == 0; i++) {
        char name[DIRECT_NAME_MAX + 1], hex[IDS_HEX_SIZE];
        memcpy(name, e.name, e.namelen);
        name[e.namelen] = '\0';
        ids_hex(e.id, IDS_SIZE, hex);
        struct gcs_task rec = {
            .task_id = hex,
            .job = (char *)job_hex(j),
            .name = name,
            .state = e.status == 1 ? "RUNNING" : "PENDING",
            .node = rt->n->hex,
            .attempts = e.status == 1 ? 1 : 0,
        };
        gcs_task_record_nx(rt->n->gcs, &rec);
        uint8_t lid[IDS_SIZE];
        char lh[IDS_HEX_SIZE];
        if (e.status != 1 || e.msglen != 2 * IDS_SIZE)
            continue;
        memcpy(lh, e.msg, e.msglen);
        lh[e.msglen] = '\0';
        if (ids_unhex(lh, lid, IDS_SIZE) < 0)
            continue;
        for (struct lease_ent *x = leases; x; x = x->next)
            if (x->rt == rt && x->owner == client_store_id(cl) &&
                memcmp(task_id(x->t), lid, IDS_SIZE) == 0)
                task_set_name(rt, x->t, name); /* `ray status -v`: what it runs */
    }
    return 0;
}

static struct lease_ent *find_worker(const struct runtime *rt, const struct worker *w)
{
    for (struct lease_ent *e = leases; e; e = e->next)
        if (e->rt == rt && task_worker(e->t) == w)
            return e;
    return NULL;
}

/* "\x1erayd-direct HEX40 NAME" (api/direct_worker.c); HEX40 all zeros: none. */
bool lease_output_marker(struct runtime *rt, struct worker *w, const char *line, size_t len)
{
    static const char tag[] = "\x1erayd-direct ";
    size_t tl = sizeof tag - 1;
    if (len < tl || memcmp(line, tag, tl) != 0)
        return false;
    struct lease_ent *e = find_worker(rt, w);
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    if (e == NULL || len < tl + 2 * IDS_SIZE)
        return true;
    memcpy(hex, line + tl, 2 * IDS_SIZE);
    hex[2 * IDS_SIZE] = '\0';
    if (ids_unhex(hex, id, IDS_SIZE) < 0)
        return true;
    e->printing = !ids_is_zero(id);
    memcpy(e->out_task, id, IDS_SIZE);
    size_t nl = len > tl + 2 * IDS_SIZE + 1 ? len - (tl + 2 * IDS_SIZE + 1) : 0;
    if (nl >= sizeof e->out_name)
        nl = sizeof e->out_name - 1;
    memcpy(e->out_name, line + tl + 2 * IDS_SIZE + 1, nl);
    e->out_name[nl] = '\0';
    return true;
}

const uint8_t *lease_output_task(const struct runtime *rt, const struct worker *w)
{
    struct lease_ent *e = leases ? find_worker(rt, w) : NULL;
    return e && e->printing ? e->out_task : NULL;
}

const char *lease_output_name(const struct runtime *rt, const struct worker *w)
{
    struct lease_ent *e = leases ? find_worker(rt, w) : NULL;
    return e && e->printing && e->out_name[0] ? e->out_name : NULL;
}

void lease_worker_died(struct runtime *rt, struct task *t, const char *why)
{
    struct lease_ent *e = find_task(rt, t);
    log_debug("lease of %s ended: its worker %s", task_name(t), why);
    if (e) {
        task_set_worker(t, NULL); /* its worker is being freed */
        end_lease(e);
        return;
    }
    tasks_release(rt, t);
    task_set_worker(t, NULL);
    tasks_destroy(rt, t);
}

static void backlog_drop(struct backlog **pp)
{
    struct backlog *b = *pp;
    *pp = b->next;
    res_free(&b->demand);
    free(b);
}

/* DIRECT_BACKLOG(shape, count): how many tasks of SHAPE this driver holds
 * now (0: none any more). */
static int h_backlog(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    struct spec_fields f;
    char err[256];
    struct res_set demand = RES_SET_INIT;
    if (spec_parse(m->f[0].as.s.ptr, m->f[0].as.s.len, &f, err, sizeof err) < 0 ||
        spec_demand(&f, &demand, err, sizeof err) < 0) {
        res_free(&demand);
        char msg[400];
        snprintf(msg, sizeof msg, "node %.8s refused DIRECT_BACKLOG: %s", rt->n->hex, err);
        conn_send(c, PROTO_ERROR, (int64_t)RAY_EINVAL, msg);
        return 0;
    }
    long n = m->f[1].as.u > (uint64_t)LONG_MAX ? LONG_MAX : (long)m->f[1].as.u;
    int owner = client_store_id(cl), mine = 0;
    struct backlog **pp = &backlogs;
    for (; *pp; pp = &(*pp)->next) {
        bool ours = (*pp)->rt == rt && (*pp)->owner == owner;
        if (ours && res_equal(&(*pp)->demand, &demand))
            break;
        mine += ours;
    }
    if (*pp == NULL && n > 0 && mine >= LEASE_BACKLOG_SHAPES) {
        res_free(&demand); /* a driver has 8 shapes at most (api/direct.c): ignored */
        return 0;
    }
    if (*pp && n == 0) {
        backlog_drop(pp);
    } else if (*pp) {
        (*pp)->count = n;
    } else if (n > 0) {
        struct backlog *b = xcalloc(1, sizeof *b);
        *b = (struct backlog){ .rt = rt, .owner = owner, .count = n, .next = backlogs };
        res_copy(&b->demand, &demand);
        backlogs = b;
    }
    res_free(&demand);
    return 0;
}

long lease_backlog_take(struct runtime *rt, const struct res_set *demand)
{
    long n = 0;
    for (struct backlog *b = backlogs; b; b = b->next)
        if (b->rt == rt && !b->taken && res_equal(&b->demand, demand)) {
            b->taken = true;
            n += b->count;
        }
    return n;
}

void lease_backlog_rest(struct runtime *rt, struct buf *text)
{
    for (struct backlog *b = backlogs; b; b = b->next) {
        if (b->rt != rt)
            continue;
        if (!b->taken) {
            struct buf s = BUF_INIT;
            res_format(&b->demand, &s);
            buf_printf(text, "%.*s\t%ld\tpending\n", (int)s.len, s.data ? s.data : "", b->count);
            buf_free(&s);
        }
        b->taken = false;
    }
}

void lease_client_gone(struct runtime *rt, struct client *cl)
{
    int id = client_store_id(cl);
    for (struct backlog **pp = &backlogs; *pp;)
        if ((*pp)->rt == rt && (*pp)->owner == id)
            backlog_drop(pp);
        else
            pp = &(*pp)->next;
    for (struct lease_ent *e = leases, *next; e; e = next) {
        next = e->next;
        if (e->rt == rt && e->owner == id)
            end_lease(e);
    }
}

void lease_init(struct runtime *rt)
{
    server_on(rt->n->srv, PROTO_LEASE_REQUEST, h_request, rt);
    server_on(rt->n->srv, PROTO_LEASE_RETURN, h_return, rt);
    server_on(rt->n->srv, PROTO_DIRECT_DONE, h_direct_done, rt);
    server_on(rt->n->srv, PROTO_DIRECT_PENDING, h_direct_pending, rt);
    server_on(rt->n->srv, PROTO_DIRECT_BACKLOG, h_backlog, rt);
    if (tick_ev == NULL)
        tick_ev = evtimer_new(rt->n->base, lease_tick, rt);
}

void lease_free(struct runtime *rt)
{
    for (struct backlog **pp = &backlogs; *pp;)
        if ((*pp)->rt == rt)
            backlog_drop(pp);
        else
            pp = &(*pp)->next;
    for (struct lease_ent *e = leases, *next; e; e = next) {
        next = e->next;
        if (e->rt == rt)
            end_lease(e);
    }
    if (tick_ev) {
        event_free(tick_ev);
        tick_ev = NULL;
    }
}
