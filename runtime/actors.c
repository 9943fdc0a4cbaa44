/*
 * actors.c — actors on a node: ACTOR_CREATE / CALL / KILL / LOOKUP.
 *
 * DESIGN. An actor is created by a constructor task (TASK_ACTOR_NEW) that
 * goes through the scheduler like any task; when it is placed, the actor's
 * resources are held for its lifetime and a worker of its own is started.
 * When that worker connects it gets the constructor; once it returns, the
 * actor is ALIVE and its queued calls flow to it. Calls are kept in one FIFO
 * per actor in arrival order — all calls from one caller arrive on one
 * connection, so each caller's calls run in the order made — and at most
 * max_concurrency are sent at once. If the worker dies, the calls it was
 * running fail with RAY_EACTOR; the actor restarts (new worker, constructor
 * re-run, queued calls kept) while max_restarts allows, else it is DEAD and
 * every queued and later call fails with RAY_EACTOR.
 * A shared actor (ray_opts.share_worker, docs/actors-shared.md) has a host
 * worker that other actors of its job share (workers.c): killing it ends it
 * in its host (workers_host_end) instead of killing the process, and fails
 * every call sent to it (it cannot tell which of them ran); the host's death
 * is the death of each actor it hosts.
 */
#include "common/direct_wire.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/actors.h"
#include "runtime/actor_direct.h"
#include "runtime/clients.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/lease.h"
#include "runtime/objects.h"
#include "runtime/objlife.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "runtime/pg.h"
#include "sched/pg_policy.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This file's part of the runtime's state (rt->as): made zeroed on first use, so it reads as before its init
 * and after its free, as the fields of the calloc'd runtime did;
 * runtime_free frees the block itself. */
struct actors_state {
    struct idmap actors;        /* id -> struct actor */
};

static struct actors_state *AS(const struct runtime *rt)
{
    if (rt->as == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->as = xcalloc(1, sizeof *rt->as);
    return rt->as;
}

/* An actor: living here, or a route to one living on another node. */
struct actor {
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    char *cls;
    char *name;              /* NULL if unnamed */
    struct job *job;
    enum actor_state state;
    struct buf spec;         /* creation spec, to restart */
    struct res_set demand;   /* held while alive */
    bool held;
    char gpus[64];           /* GPU slots it holds while held (sched/local.c; "" none) */
    int max_restarts, restarts;
    int max_conc, in_flight;
    bool detached, no_restart;
    bool shared;             /* share_worker: its worker is a host (workers.c) */
    bool killed;             /* ray_actor_kill stopped its worker (until it restarts) */
    bool waiting_noted;      /* its record says why it waits (pending_reason) */
    char *death;             /* why it is dead */
    struct worker *worker;
    struct task *create;     /* the constructor task while pending */
    struct task *queue_head, *queue_tail; /* calls not yet sent, in order */
    struct task *running, *running_tail; /* calls sent to the worker, oldest first */
    /* an actor living on another node: calls are forwarded there */
    bool remote;
    bool owner;              /* created here: restarted from here if its node dies */
    char host[IDS_HEX_SIZE]; /* its node ("" while unknown) */
    bool looking_up;         /* a directory lookup is under way */
    bool lookup_again;       /* its state changed while it was: look again after it */
    struct sent_call { uint8_t id[IDS_SIZE]; int nret; } *sent; /* forwarded calls */
    size_t nsent;
    /* direct calls a driver lost with its socket to this actor's worker,
     * failed when the node has handled that worker's death (actors_direct_lost) */
    struct lost_call *lost;
    char *last_down;         /* why its worker last went away ("died: ...") */
};

struct lost_call {
    uint8_t id[IDS_SIZE];
    char name[DIRECT_NAME_MAX + 1];
    uint64_t nret;
    struct lost_call *next;
};

/* ---- the fields other files of the runtime read (declared in runtime/actors.h) ---- */

const uint8_t *actor_id(const struct actor *a)
{
    return a->id;
}

const char *actor_hex(const struct actor *a)
{
    return a->hex;
}

const char *actor_cls(const struct actor *a)
{
    return a->cls;
}

const char *actor_name(const struct actor *a)
{
    return a->name;
}

struct job *actor_job(const struct actor *a)
{
    return a->job;
}

enum actor_state actor_state(const struct actor *a)
{
    return a->state;
}

const struct buf *actor_spec(const struct actor *a)
{
    return &a->spec;
}

bool actor_detached(const struct actor *a)
{
    return a->detached;
}

int actor_max_restarts(const struct actor *a)
{
    return a->max_restarts;
}

int actor_restarts(const struct actor *a)
{
    return a->restarts;
}

struct worker *actor_worker(const struct actor *a)
{
    return a->worker;
}

void actor_set_worker(struct actor *a, struct worker *v)
{
    a->worker = v;
}

struct task *actor_create(const struct actor *a)
{
    return a->create;
}

void actor_set_create(struct actor *a, struct task *v)
{
    a->create = v;
}

struct task *actor_running(const struct actor *a)
{
    return a->running;
}

bool actor_remote(const struct actor *a)
{
    return a->remote;
}

bool actor_shared(const struct actor *a)
{
    return a->shared;
}

/* Every call sent to an actor is counted as possibly run when it leaves its
 * host: no answer of the ones in flight can be trusted to come. */
#define ACTOR_ALL_SENT (1L << 30)

/* Whether SPEC (an actor's creation spec) has "share": true. */
static bool spec_share(const void *spec, size_t len)
{
    struct mpr r;
    uint32_t n;
    mpr_init(&r, spec, len);
    if (mpr_map(&r, &n) < 0)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        bool b;
        if (mpr_str(&r, &k, &kl) < 0)
            return false;
        if (kl == 5 && memcmp(k, "share", 5) == 0)
            return mpr_bool(&r, &b) == 0 && b;
        if (mpr_skip(&r) < 0)
            return false;
    }
    return false;
}

static const char *actor_state_name(enum actor_state s)
{
    switch (s) {
    case ACTOR_PENDING: return "PENDING";
    case ACTOR_ALIVE: return "ALIVE";
    case ACTOR_RESTARTING: return "RESTARTING";
    case ACTOR_DEAD: return "DEAD";
    }
    return "?";
}

void actors_note_waiting(struct runtime *rt, struct actor *a, const char *why)
{
    if ((why != NULL) == a->waiting_noted || (a->remote && !a->owner))
        return;
    a->waiting_noted = why != NULL;
    const char *p = gcs_client_prefix(rt->n->gcs);
    if (why)
        gcs_command(rt->n->gcs, NULL, NULL, "HSET %sactor:%s pending_reason %s", p, a->hex, why);
    else
        gcs_command(rt->n->gcs, NULL, NULL, "HDEL %sactor:%s pending_reason", p, a->hex);
}

static void actor_set_state(struct runtime *rt, struct actor *a, enum actor_state s)
{
    a->state = s;
    if (s == ACTOR_ALIVE || s == ACTOR_DEAD)
        actors_note_waiting(rt, a, NULL);
    if (a->remote && !a->owner)
        return; /* a route: the directory belongs to its owner and its node */
    gcs_actor_set_state(rt->n->gcs, a->hex, actor_state_name(s), rt->n->hex, rt->n->ip,
                        rt->n->tcp_port, a->restarts, a->death);
    gcs_event_add(rt->n->gcs, s == ACTOR_DEAD ? "ACTOR_DEAD" : s == ACTOR_ALIVE ? "ACTOR_ALIVE"
                                                                               : "ACTOR_RESTARTING",
                  a->hex, rt->n->hex, a->death ? a->death : a->cls);
}

/* The actor's record names its worker process (`ray list actors`' pid: the
 * same for the actors a worker hosts). */
static void actor_note_pid(struct runtime *rt, struct actor *a)
{
    struct worker *w = a->worker;
    if (w == NULL)
        return;
    pid_t pid = worker_pid(w);
    if (pid <= 0 && worker_client(w) && client_conn(worker_client(w)))
        pid = client_conn(worker_client(w))->pid; /* its HELLO's, before the fork's answer */
    gcs_command(rt->n->gcs, NULL, NULL, "HSET %sactor:%s pid %d", gcs_client_prefix(rt->n->gcs),
                a->hex, (int)pid);
}

/* Fail call T of a dead or dying actor. */
static void call_fail(struct runtime *rt, struct task *t, const char *why)
{
    char msg[800];
    snprintf(msg, sizeof msg, "actor %s %.8s %s: call %s failed",
             task_actor(t) ? task_actor(t)->cls : "?", task_actor(t) ? task_actor(t)->hex + 8 : "",
             why, task_fn(t));
    tasks_fail(rt, t, RAY_EACTOR, msg);
    tasks_destroy(rt, t);
}

/* A lost direct call ID of actor A (NULL: unknown here) fails with
 * RAY_EACTOR and WHY, as call_fail words it, unless its result is stored. */
static void lost_fail(struct runtime *rt, const struct actor *a, const uint8_t *id,
                      const char *name, uint64_t nret, const char *why)
{
    uint8_t rid[IDS_SIZE];
    ids_with_index(rid, id, 1);
    if (nret == 0 || objects_have(rt, rid))
        return; /* it ran: its worker's batch came first */
    /* worded as call_fail does, with the method: NAME is "Class.method" when
     * the driver made the actor */
    size_t cl = a ? strlen(a->cls) : 0;
    const char *method = a && strncmp(name, a->cls, cl) == 0 && name[cl] == '.' ? name + cl + 1 : name;
    char msg[800];
    snprintf(msg, sizeof msg, "actor %s %.8s %s: call %s failed", a ? a->cls : "?",
             a ? a->hex + 8 : "", why, method);
    struct direct_entry e = { .id = id, .name = name, .namelen = strlen(name),
                              .status = RAY_EACTOR, .msg = msg, .msglen = strlen(msg),
                              .nret = nret };
    lease_direct_done(rt, NULL, &e, false);
}

/* Fail A's lost direct calls with WHY (its worker's death was handled). */
static void lost_flush(struct runtime *rt, struct actor *a, const char *why)
{
    struct lost_call *l;
    while ((l = a->lost) != NULL) {
        a->lost = l->next;
        lost_fail(rt, a, l->id, l->name, l->nret, why);
        free(l);
    }
}

void actors_direct_lost(struct runtime *rt, const uint8_t *actor, const uint8_t *worker,
                        const struct direct_entry *e)
{
    struct actor *a = actors_find(rt, actor);
    char name[DIRECT_NAME_MAX + 1];
    memcpy(name, e->name, e->namelen);
    name[e->namelen] = '\0';
    if (a && a->state != ACTOR_DEAD && a->worker &&
        memcmp(worker_id(a->worker), worker, IDS_SIZE) == 0) {
        /* the node has not seen that worker go yet: its reason comes then */
        struct lost_call *l = xcalloc(1, sizeof *l);
        memcpy(l->id, e->id, IDS_SIZE);
        memcpy(l->name, name, sizeof name);
        l->nret = e->nret;
        l->next = a->lost;
        a->lost = l;
        return;
    }
    const char *why = a == NULL ? "died (unknown on this node)"
                      : a->death ? a->death
                      : a->last_down ? a->last_down : "died";
    lost_fail(rt, a, e->id, name, e->nret, why);
}

/* The actor is dead for good: release it and fail every call. */
static void actor_die(struct runtime *rt, struct actor *a, const char *why)
{
    if (a->state == ACTOR_DEAD)
        return;
    if (a->death == NULL)
        a->death = xstrdup(why);
    lost_flush(rt, a, a->death);
    if (a->held) {
        res_add(&rt->n->avail, &a->demand);
        sched_local_gpus_return(tasks_sched(rt), a->gpus, &a->demand);
        a->gpus[0] = '\0';
        a->held = false;
    }
    actor_set_state(rt, a, ACTOR_DEAD);
    log_info("actor %s (%s) is dead: %s", a->cls, a->hex, a->death);
    while (a->running) {
        struct task *t = a->running;
        a->running = task_next(t);
        tasks_release(rt, t);
        call_fail(rt, t, a->death);
    }
    a->running_tail = NULL;
    a->in_flight = 0;
    while (a->queue_head) {
        struct task *t = a->queue_head;
        a->queue_head = task_next(t);
        if (task_deps_missing(t) > 0)
            objects_forget_waiter(rt, t);
        task_set_deps_missing(t, 0);
        call_fail(rt, t, a->death);
    }
    a->queue_tail = NULL;
    if (a->worker && workers_is_host(a->worker)) {
        struct worker *w = a->worker;
        a->worker = NULL;
        workers_host_end(rt, w, a); /* its host lives on */
    } else if (a->worker) {
        struct worker *w = a->worker;
        a->worker = NULL;
        worker_set_actor(w, NULL);
        workers_kill(rt, w);
    }
    tasks_schedule(rt);
}

/* Start (or restart) the constructor task of A. */
static void actor_start(struct runtime *rt, struct actor *a)
{
    char err[256];
    struct task *t = tasks_new(rt, TASK_ACTOR_NEW, a->job, a->spec.data, a->spec.len, err, sizeof err);
    if (t == NULL) {
        actor_die(rt, a, err);
        return;
    }
    task_set_actor(t, a);
    a->create = t;
    if (a->state == ACTOR_RESTARTING && a->held) {
        /* a restart keeps the actor's resources: give them back, the
         * constructor task takes them again when it is placed */
        res_add(&rt->n->avail, &a->demand);
        sched_local_gpus_return(tasks_sched(rt), a->gpus, &a->demand);
        a->gpus[0] = '\0';
        a->held = false;
    }
    tasks_enqueue(rt, t);
}

void actors_worker_ready(struct runtime *rt, struct actor *a, struct worker *w)
{
    struct task *t = a->create;
    if (t == NULL || a->state == ACTOR_DEAD) {
        workers_kill(rt, w);
        return;
    }
    worker_set_state(w, WORKER_BUSY);
    int rc = tasks_send_execute(rt, t, w);
    if (rc == -2) {
        /* a constructor argument failed */
        a->create = NULL;
        char msg[300];
        snprintf(msg, sizeof msg, "constructor argument failed");
        sched_local_hand_over(tasks_sched(rt), task_st(t)); /* the actor keeps accounting below */
        tasks_destroy(rt, t);
        actor_die(rt, a, msg);
    }
}

static void actor_free(struct actor *a)
{
    for (struct lost_call *l = a->lost, *next; l; l = next) {
        next = l->next;
        free(l);
    }
    free(a->cls);
    free(a->name);
    free(a->death);
    free(a->last_down);
    buf_free(&a->spec);
    res_free(&a->demand);
    free(a->sent);
    free(a);
}

void actors_task_done(struct runtime *rt, struct task *t, int status, const char *msg)
{
    struct actor *a = task_actor(t);
    if (task_kind(t) == TASK_ACTOR_NEW) {
        a->create = NULL;
        /* the constructor's resources become the actor's */
        bool held = task_st(t)->held;
        sched_local_hand_over(tasks_sched(rt), task_st(t));
        tasks_release(rt, t);
        if (held) {
            a->held = true;
            /* GPU slots stay the actor's until it dies or restarts */
            snprintf(a->gpus, sizeof a->gpus, "%s", task_st(t)->gpus);
        }
        tasks_destroy(rt, t);
        if (status != 0) {
            char why[800];
            snprintf(why, sizeof why, "failed in its constructor: %s", msg);
            actor_die(rt, a, why);
            return;
        }
        actor_set_state(rt, a, ACTOR_ALIVE);
        actor_note_pid(rt, a);
        objlife_actor_alive(rt, a);
        actors_pump(rt, a);
        return;
    }
    /* unlink from the sent list (in order: usually its head) */
    struct task *prev = NULL;
    for (struct task *r = a->running; r; prev = r, r = task_next(r))
        if (r == t) {
            if (prev)
                task_set_next(prev, task_next(t));
            else
                a->running = task_next(t);
            if (a->running_tail == t)
                a->running_tail = prev;
            break;
        }
    a->in_flight--;
    tasks_release(rt, t);
    if (status == 0) {
        tasks_fill_returns(rt, t);
        objects_push_values(rt, t);
    } else {
        char full[1000];
        snprintf(full, sizeof full, "task %s.%s failed on node %.8s: %s", a->cls, task_fn(t),
                 rt->n->hex, msg);
        tasks_fail(rt, t, RAY_ETASK, full);
    }
    spill_push_returns(rt, t);
    tasks_destroy(rt, t);
    actors_pump(rt, a);
}

/* Calls sent to an actor's worker ahead of its max_concurrency: the worker
 * runs them in arrival order anyway, and keeping it fed removes a node round
 * trip between consecutive calls. */
#define ACTORS_PIPELINE 64

void actors_pump(struct runtime *rt, struct actor *a)
{
    while (a->state == ACTOR_ALIVE && a->worker && worker_client(a->worker) &&
           a->in_flight < a->max_conc + ACTORS_PIPELINE && a->queue_head &&
           task_deps_missing(a->queue_head) == 0) {
        struct task *t = a->queue_head;
        a->queue_head = task_next(t);
        if (a->queue_head == NULL)
            a->queue_tail = NULL;
        task_set_next(t, NULL);
        int rc = tasks_send_execute(rt, t, a->worker);
        if (rc == 0) {
            if (a->running_tail)
                task_set_next(a->running_tail, t);
            else
                a->running = t;
            a->running_tail = t;
            a->in_flight++;
        } else if (rc == -1) {
            /* waiting for an argument again: back to the head of the queue */
            task_set_next(t, a->queue_head);
            a->queue_head = t;
            if (a->queue_tail == NULL)
                a->queue_tail = t;
            break;
        } else {
            tasks_destroy(rt, t); /* failed from an argument */
        }
    }
}

void actors_worker_died(struct runtime *rt, struct actor *a, const char *why, long unacked)
{
    a->worker = NULL;
    if (a->state == ACTOR_DEAD)
        return;
    char msg[600];
    if (a->killed)
        snprintf(msg, sizeof msg, "was killed by ray_actor_kill");
    else
        snprintf(msg, sizeof msg, "died: its worker %s", why);
    a->killed = false;
    free(a->last_down);
    a->last_down = xstrdup(msg);
    lost_flush(rt, a, msg);
    bool can = !a->no_restart && (a->detached || !job_ending(a->job)) &&
               (a->max_restarts < 0 || a->restarts < a->max_restarts);
    /* calls start in the order sent, at most max_concurrency at once: the
     * oldest max_concurrency calls not answered may have been running, and
     * before them those it finished whose answer was lost (UNACKED): they
     * all fail (each ran at most once); the ones behind them never started
     * and, if it restarts, go back to the head of its queue in order */
    long nfail = a->max_conc + (unacked > 0 ? unacked : 0);
    long n = 0;
    struct task *keep = NULL, *keep_tail = NULL;
    while (a->running) {
        struct task *t = a->running;
        a->running = task_next(t);
        tasks_release(rt, t);
        task_set_worker(t, NULL);
        if (n++ < nfail || !can) {
            call_fail(rt, t, msg);
            continue;
        }
        task_set_next(t, NULL);
        task_set_state(t, TASK_WAITING_DEPS);
        if (keep_tail)
            task_set_next(keep_tail, t);
        else
            keep = t;
        keep_tail = t;
    }
    a->running_tail = NULL;
    a->in_flight = 0;
    if (keep) {
        task_set_next(keep_tail, a->queue_head);
        a->queue_head = keep;
        if (a->queue_tail == NULL)
            a->queue_tail = keep_tail;
    }
    if (a->create) {
        struct task *t = a->create;
        a->create = NULL;
        tasks_release(rt, t);
        tasks_destroy(rt, t);
    }
    if (!can) {
        actor_die(rt, a, msg);
        return;
    }
    a->restarts++;
    log_info("actor %s (%s) %s; restart %d", a->cls, a->hex, msg, a->restarts);
    actor_set_state(rt, a, ACTOR_RESTARTING);
    actor_start(rt, a);
}

void actors_job_ended(struct runtime *rt, struct job *j)
{
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&AS(rt)->actors, &pos)) != NULL) {
        struct actor *a = s->val;
        if (a->job != j || a->detached) {
            pos++;
            continue;
        }
        /* a route this job made to an actor of another job (a detached one
         * it looked up, say) is forgotten, not left DEAD: the actor lives on,
         * and a later job here that looks it up must find it */
        bool route = a->remote && !a->owner && a->worker == NULL;
        a->no_restart = true;
        if (a->create) {
            a->create = NULL; /* the task itself is dropped by tasks_job_ended */
        }
        actor_die(rt, a, "its job ended");
        if (route) {
            idmap_del(&AS(rt)->actors, a->id); /* the slot just returned: pos stays */
            actor_free(a);
            continue;
        }
        pos++;
    }
}

bool actors_job_in_use(struct runtime *rt, const struct job *j)
{
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&AS(rt)->actors, &pos)) != NULL) {
        const struct actor *a = s->val;
        pos++;
        if (a->job == j && a->state != ACTOR_DEAD)
            return true;
    }
    return false;
}

static struct actor *actor_from_spec(struct runtime *rt, struct job *j, const struct spec_fields *f,
                                     const void *spec, size_t len, char *err, size_t errlen)
{
    struct actor *a = xcalloc(1, sizeof *a);
    memcpy(a->id, f->id, IDS_SIZE);
    ids_hex(a->id, IDS_SIZE, a->hex);
    a->cls = xstrndup(f->fn, f->fnlen);
    a->name = f->aname && f->anamelen ? xstrndup(f->aname, f->anamelen) : NULL;
    a->job = j;
    a->max_restarts = (int)f->max_restarts;
    a->max_conc = (int)f->max_conc;
    a->detached = f->detached;
    /* what ray_actor_create refuses to share, a raw client gets alone too */
    a->shared = spec_share(spec, len) && !f->detached && f->max_conc <= 1 && f->gpu == 0;
    buf_append(&a->spec, spec, len);
    if (spec_demand(f, &a->demand, err, errlen) < 0) {
        actor_free(a);
        return NULL;
    }
    (void)rt;
    return a;
}


/* ---- actors on other nodes ------------------------------------------------------ */

static void route_lookup(struct runtime *rt, struct actor *a);

/* Append call T to A's queue of calls not yet sent. */
static void queue_call(struct actor *a, struct task *t)
{
    task_set_next(t, NULL);
    if (a->queue_tail)
        task_set_next(a->queue_tail, t);
    else
        a->queue_head = t;
    a->queue_tail = t;
}

/* Forward call T to A's node; T is consumed. */
static void route_send(struct runtime *rt, struct actor *a, struct task *t)
{
    struct conn *c = cluster_conn(rt, a->host);
    if (c == NULL) {
        /* its node is gone or unknown: look again, keep the call queued */
        a->host[0] = '\0';
        queue_call(a, t);
        route_lookup(rt, a);
        return;
    }
    conn_send(c, PROTO_NODE_ACTOR_CALL, task_spec(t)->data, task_spec(t)->len);
    if (task_nret(t) > 0) {
        a->sent = xreallocarray(a->sent, a->nsent + 1, sizeof *a->sent);
        memcpy(a->sent[a->nsent].id, task_id(t), IDS_SIZE);
        a->sent[a->nsent].nret = task_nret(t);
        a->nsent++;
    }
    /* while the call waited here for its route, a get of its results took
     * them for made here: they are made on the actor's node */
    tasks_destroy_elsewhere(rt, t);
}

static void route_flush(struct runtime *rt, struct actor *a)
{
    while (a->queue_head && a->host[0]) {
        struct task *t = a->queue_head;
        a->queue_head = task_next(t);
        if (a->queue_head == NULL)
            a->queue_tail = NULL;
        task_set_next(t, NULL);
        route_send(rt, a, t);
    }
}

struct lookup_route {
    struct runtime *rt;
    uint8_t id[IDS_SIZE];
};

static void route_lookup_cb(void *arg, const struct gcs_actor *rec)
{
    struct lookup_route *lr = arg;
    struct runtime *rt = lr->rt;
    struct actor *a = idmap_get(&AS(rt)->actors, lr->id);
    free(lr);
    if (a == NULL || !a->remote)
        return;
    a->looking_up = false;
    /* a state message that came while this lookup was under way may be newer
     * than what it read: unless it found the actor alive, read again */
    bool again = a->lookup_again;
    a->lookup_again = false;
    if (rec == NULL) {
        if (again)
            route_lookup(rt, a);
        return; /* not in the directory yet: its ALIVE message will come */
    }
    if (a->cls == NULL || strcmp(a->cls, "?") == 0) {
        free(a->cls);
        a->cls = xstrdup(rec->class_name[0] ? rec->class_name : "?");
    }
    if (strcmp(rec->state, "DEAD") == 0) {
        /* its owner restarts it when its node dies; dead on a live node
         * (killed, its placement group removed) it is dead for the owner too */
        struct cluster_node *hn = cluster_find(rt, rec->node);
        bool node_alive = hn && cluster_node_alive(hn);
        if (!a->owner || node_alive) {
            a->no_restart = true;
            actor_die(rt, a, rec->death_cause[0] ? rec->death_cause : "is dead");
        }
        return;
    }
    if (strcmp(rec->state, "ALIVE") != 0) {
        if (again)
            route_lookup(rt, a);
        return; /* pending or restarting: wait for its next state message */
    }
    struct cluster_node *cn = cluster_find(rt, rec->node);
    if (strcmp(rec->node, rt->n->hex) == 0 || cn == NULL || !cluster_node_alive(cn)) {
        if (again)
            route_lookup(rt, a);
        return;
    }
    snprintf(a->host, sizeof a->host, "%s", rec->node);
    route_flush(rt, a);
}

static void route_lookup(struct runtime *rt, struct actor *a)
{
    if (a->state == ACTOR_DEAD)
        return;
    if (a->looking_up) {
        a->lookup_again = true; /* route_lookup_cb reads again */
        return;
    }
    a->looking_up = true;
    struct lookup_route *lr = xcalloc(1, sizeof *lr);
    lr->rt = rt;
    memcpy(lr->id, a->id, IDS_SIZE);
    gcs_actor_get(rt->n->gcs, a->hex, route_lookup_cb, lr);
}

/* A route to actor ID, which lives elsewhere (made on first use). */
static struct actor *route_get(struct runtime *rt, struct job *j, const uint8_t *id)
{
    struct actor *a = idmap_get(&AS(rt)->actors, id);
    if (a)
        return a;
    a = xcalloc(1, sizeof *a);
    memcpy(a->id, id, IDS_SIZE);
    ids_hex(a->id, IDS_SIZE, a->hex);
    a->cls = xstrdup("?");
    a->job = j;
    a->remote = true;
    a->state = ACTOR_PENDING;
    a->max_conc = 1;
    idmap_put(&AS(rt)->actors, a->id, a);
    route_lookup(rt, a);
    return a;
}

/* Call T (already parsed) goes to A, which lives elsewhere. */
static void route_call(struct runtime *rt, struct actor *a, struct task *t)
{
    if (a->host[0] && a->queue_head == NULL) {
        route_send(rt, a, t);
        return;
    }
    queue_call(a, t);
    route_lookup(rt, a);
}

void actors_nodes_joined(struct runtime *rt)
{
    size_t pos = 0;
    struct idmap_slot *sl;
    while ((sl = idmap_next(&AS(rt)->actors, &pos)) != NULL) {
        struct actor *a = sl->val;
        pos++;
        /* calls queued for a route its lookup could not use (the actor's
         * node was not in this node's view yet) */
        if (a->remote && a->host[0] == '\0' && a->queue_head && a->state != ACTOR_DEAD)
            route_lookup(rt, a);
    }
}

void actors_spilled(struct runtime *rt, struct actor *a)
{
    a->remote = true;
    a->owner = true;
    a->host[0] = '\0';
    a->create = NULL;
    (void)rt;
}

static void actors_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    (void)suffix;
    struct runtime *rt = arg;
    if (len < 2 * IDS_SIZE)
        return;
    char hex[IDS_HEX_SIZE];
    memcpy(hex, msg, 2 * IDS_SIZE);
    hex[2 * IDS_SIZE] = '\0';
    uint8_t id[IDS_SIZE];
    if (ids_unhex(hex, id, IDS_SIZE) < 0)
        return;
    struct actor *a = idmap_get(&AS(rt)->actors, id);
    if (a == NULL || !a->remote || a->state == ACTOR_DEAD)
        return;
    a->host[0] = '\0';
    route_lookup(rt, a);
}

/* A call forwarded to an actor whose node died, without its result here:
 * was the result made (the object table says its holder died: lost_from)?
 * Every pending one is listed, so actors_free can cut it off. */
struct call_ask {
    struct runtime *rt;      /* NULL once the runtime is gone */
    uint8_t id[IDS_SIZE];    /* the call's task ID */
    int nret;
    char dead[IDS_HEX_SIZE];
    char msg[600];           /* the RAY_EACTOR message if it never ran */
    struct call_ask *next, *prev;
};
static struct call_ask *call_asks;

static void call_ask_cb(void *arg, const struct gcs_reply *r)
{
    struct call_ask *q = arg;
    if (q->prev)
        q->prev->next = q->next;
    else if (call_asks == q)
        call_asks = q->next;
    if (q->next)
        q->next->prev = q->prev;
    struct runtime *rt = q->rt;
    size_t len = 0;
    const char *s = r && gcs_reply_type(r) == GCS_REPLY_STRING ? gcs_reply_str(r, &len) : NULL;
    bool made = s && len == 2 * IDS_SIZE && memcmp(s, q->dead, len) == 0;
    for (int k = 1; rt && k <= q->nret; k++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, q->id, (uint32_t)k);
        if (objects_have(rt, rid))
            continue;
        if (!made) {
            objects_put_error(rt, rid, RAY_EACTOR, q->msg);
            continue;
        }
        /* it ran, and its result died with the node: actor calls are not
         * run again (an actor has state), so it is lost */
        char hex[IDS_HEX_SIZE], msg[600];
        snprintf(msg, sizeof msg,
                 "object %s is lost: node %.8s that held it died, and it is an actor call's "
                 "result: actor calls are not run again",
                 ids_hex(rid, IDS_SIZE, hex), q->dead);
        log_warnx("%s", msg);
        objects_put_error(rt, rid, RAY_ELOST, msg);
    }
    free(q);
}

/* Calls forwarded to node DEAD, which died: those without a result here
 * fail with RAY_EACTOR, or RAY_ELOST when they ran and only their result
 * was lost. */
static void route_fail_sent(struct runtime *rt, struct actor *a, const char *why,
                            const char *dead)
{
    for (size_t i = 0; i < a->nsent; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, a->sent[i].id, 1);
        if (objects_have(rt, rid))
            continue;
        struct call_ask *q = xcalloc(1, sizeof *q);
        q->rt = rt;
        memcpy(q->id, a->sent[i].id, IDS_SIZE);
        q->nret = a->sent[i].nret;
        snprintf(q->dead, sizeof q->dead, "%s", dead ? dead : "");
        snprintf(q->msg, sizeof q->msg, "actor %s %.8s died: %s", a->cls, a->hex + 8, why);
        char hex[IDS_HEX_SIZE];
        q->next = call_asks;
        if (call_asks)
            call_asks->prev = q;
        call_asks = q;
        if (dead == NULL ||
            gcs_command(rt->n->gcs, call_ask_cb, q, "HGET %sobj:%s lost_from",
                        gcs_client_prefix(rt->n->gcs), ids_hex(rid, IDS_SIZE, hex)) < 0)
            call_ask_cb(q, NULL);
    }
    a->nsent = 0;
}

void actors_node_dead(struct runtime *rt, const char *hex)
{
    size_t pos = 0;
    struct idmap_slot *s;
    struct actor **list = NULL;
    size_t n = 0;
    while ((s = idmap_next(&AS(rt)->actors, &pos)) != NULL) {
        pos++;
        struct actor *a = s->val;
        if (a->remote && a->state != ACTOR_DEAD && strcmp(a->host, hex) == 0) {
            list = xreallocarray(list, n + 1, sizeof *list);
            list[n++] = a;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct actor *a = list[i];
        char why[200];
        snprintf(why, sizeof why, "its node %.8s died", hex);
        route_fail_sent(rt, a, why, hex);
        a->host[0] = '\0';
        if (!a->owner) {
            route_lookup(rt, a); /* its owner restarts it or declares it dead */
            continue;
        }
        bool can = !a->no_restart && (a->detached || !job_ending(a->job)) &&
                   (a->max_restarts < 0 || a->restarts < a->max_restarts);
        if (!can) {
            a->remote = false; /* die here, as its owner */
            actor_die(rt, a, why);
            continue;
        }
        a->restarts++;
        a->remote = false;
        log_info("actor %s (%s): %s; restart %d elsewhere", a->cls, a->hex, why, a->restarts);
        actor_set_state(rt, a, ACTOR_RESTARTING);
        actor_start(rt, a);
    }
    free(list);
}

void actors_place(struct runtime *rt, struct job *j, const void *spec, size_t len)
{
    struct spec_fields f;
    char err[256];
    if (spec_parse(spec, len, &f, err, sizeof err) < 0) {
        log_warnx("placed actor: %s", err);
        return;
    }
    struct actor *a = idmap_get(&AS(rt)->actors, f.id);
    if (a && !a->remote) {
        log_debug("placed actor already here");
        return;
    }
    struct actor *na = actor_from_spec(rt, j, &f, spec, len, err, sizeof err);
    if (na == NULL) {
        log_warnx("placed actor: %s", err);
        return;
    }
    if (a) {
        /* a route we had to it: its queued calls now stay here */
        na->queue_head = a->queue_head;
        na->queue_tail = a->queue_tail;
        for (struct task *t = na->queue_head; t; t = task_next(t))
            task_set_actor(t, na);
        a->queue_head = a->queue_tail = NULL;
        idmap_del(&AS(rt)->actors, a->id);
        actor_free(a);
    }
    idmap_put(&AS(rt)->actors, na->id, na);
    actor_set_state(rt, na, ACTOR_PENDING); /* the directory now names this node */
    actor_start(rt, na);
    if (na->create)
        task_set_placed(na->create, true);
    for (struct task *t = na->queue_head, *next; t; t = next) {
        next = task_next(t);
        task_set_job(t, j);
        tasks_enqueue(rt, t);
    }
}

struct create_ctx {
    struct runtime *rt;
    uint64_t conn_id;
    uint64_t reqid;
    struct actor *a;
};

static struct conn *conn_by_id(struct runtime *rt, uint64_t id)
{
    for (struct client *cl = client_first(rt); cl; cl = client_next(cl))
        if (client_conn(cl)->id == id)
            return client_conn(cl);
    return NULL;
}

static void create_named_done(void *arg, int status)
{
    struct create_ctx *ctx = arg;
    struct runtime *rt = ctx->rt;
    struct actor *a = ctx->a;
    struct conn *c = conn_by_id(rt, ctx->conn_id);
    if (status == 0) {
        if (c)
            conn_send(c, PROTO_ACTOR_CREATE_OK, ctx->reqid, (int64_t)RAY_OK, "");
        actor_start(rt, a);
    } else {
        char msg[300];
        snprintf(msg, sizeof msg, status == GCS_ECONFLICT ? "actor name '%s' is taken"
                                                          : "cannot register actor name '%s'",
                 a->name);
        if (c)
            conn_send(c, PROTO_ACTOR_CREATE_OK, ctx->reqid, (int64_t)RAY_EINVAL, msg);
        free(a->name);
        a->name = NULL; /* not ours: dying must not release it */
        a->death = xstrdup(msg);
        a->state = ACTOR_DEAD;
    }
    free(ctx);
}

static int h_create(struct conn *c, const struct proto_msg *m, void *arg)
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
        /* well framed but not an actor: answer it (if it waits), keep C */
        char esc[300];
        log_warnx("refused ACTOR_CREATE from %s: %s", c->peer,
                  log_escape(esc, sizeof esc, err, strlen(err)));
        if (f.reqid)
            conn_send(c, PROTO_ACTOR_CREATE_OK, f.reqid, (int64_t)RAY_EINVAL, err);
        else
            conn_send(c, PROTO_ERROR, (int64_t)RAY_EINVAL, err);
        return 0;
    }
    if (idmap_get(&AS(rt)->actors, f.id)) {
        log_warnx("ACTOR_CREATE for an existing actor");
        return 0;
    }
    struct actor *a = actor_from_spec(rt, client_job(cl), &f, spec, len, err, sizeof err);
    if (a == NULL) {
        if (f.reqid)
            conn_send(c, PROTO_ACTOR_CREATE_OK, f.reqid, (int64_t)RAY_EINVAL, err);
        else
            conn_send(c, PROTO_ERROR, (int64_t)RAY_EINVAL, err);
        return 0;
    }
    idmap_put(&AS(rt)->actors, a->id, a);
    struct gcs_actor rec = {
        .actor_id = a->hex,
        .class_name = a->cls,
        .state = "PENDING",
        .node = rt->n->hex,
        .address = rt->n->ip,
        .name = a->name ? a->name : "",
        .job = (char *)job_hex(client_job(cl)),
        .death_cause = "",
        .port = rt->n->tcp_port,
        .restarts = 0,
        .max_restarts = a->max_restarts,
        .detached = a->detached,
    };
    char why[300];
    if (pg_known_bad(rt, &f, why, sizeof why)) {
        gcs_actor_put(rt->n->gcs, &rec, NULL, NULL);
        if (f.reqid)
            conn_send(c, PROTO_ACTOR_CREATE_OK, f.reqid, (int64_t)RAY_EPG, why);
        a->no_restart = true;
        actor_die(rt, a, why);
        return 0;
    }
    if (a->name) {
        struct create_ctx *ctx = xcalloc(1, sizeof *ctx);
        ctx->rt = rt;
        ctx->conn_id = c->id;
        ctx->reqid = f.reqid;
        ctx->a = a;
        gcs_actor_put(rt->n->gcs, &rec, create_named_done, ctx);
        return 0;
    }
    gcs_actor_put(rt->n->gcs, &rec, NULL, NULL);
    if (f.reqid)
        conn_send(c, PROTO_ACTOR_CREATE_OK, f.reqid, (int64_t)RAY_OK, "");
    actor_start(rt, a);
    return 0;
}

static bool demand_in_tag(const struct res_set *d, const char *tag)
{
    for (size_t i = 0; i < d->n; i++)
        if (pg_policy_is_group_res(d->e[i].name, tag))
            return true;
    return false;
}

void actors_kill_pg(struct runtime *rt, const char *tag)
{
    size_t pos = 0;
    struct idmap_slot *s;
    char why[200];
    snprintf(why, sizeof why, "its placement group (%s) was removed", tag);
    while ((s = idmap_next(&AS(rt)->actors, &pos)) != NULL) {
        struct actor *a = s->val;
        pos++;
        if (a->remote || a->state == ACTOR_DEAD || !demand_in_tag(&a->demand, tag))
            continue;
        a->no_restart = true;
        if (a->worker && workers_is_host(a->worker)) {
            if (a->death == NULL)
                a->death = xstrdup(why);
            a->killed = true;
            workers_host_end(rt, a->worker, a);
            actors_worker_died(rt, a, why, ACTOR_ALL_SENT);
        } else if (a->worker) {
            if (a->death == NULL)
                a->death = xstrdup(why);
            a->killed = true;
            workers_kill(rt, a->worker);
        } else {
            if (a->create) /* queued: tasks_fail_where dropped it first */
                a->create = NULL;
            actor_die(rt, a, why);
        }
    }
}

/* A call of an actor arrives here, from a client of this node (JOB is its
 * job) or forwarded by another node (JOB NULL). */
static int actor_call_in(struct runtime *rt, struct job *job, const void *spec, size_t len,
                         struct conn *c, int owner, bool from_detached)
{
    char err[256];
    struct spec_fields f;
    int prc = spec_parse(spec, len, &f, err, sizeof err);
    if (prc < 0 || f.actor == NULL) {
        /* well framed but not a call: answer it (its returns fail), keep C */
        tasks_reject(rt, c, "ACTOR_CALL", spec, len, prc < 0 ? err : "actor call without an actor");
        return 0;
    }
    struct actor *a = idmap_get(&AS(rt)->actors, f.actor);
    if (job == NULL && a != NULL)
        job = a->job;
    /* a detached actor calling, or being called: its caller's job may have
     * ended, and the call's returns (which carry that job) must stay */
    if (from_detached || (a && a->detached && !a->remote))
        objlife_call_in(rt, f.id);
    struct task *t = tasks_new(rt, TASK_ACTOR_CALL, job, spec, len, err, sizeof err);
    if (t == NULL) {
        tasks_reject(rt, c, "ACTOR_CALL", spec, len, err);
        return 0;
    }
    task_set_owner(t, owner);
    /* an actor unknown here lives elsewhere, or is dead: the directory
     * says which (route_lookup), also on a node that has not listed the
     * cluster yet (a head just started again: its actors live on) */
    if ((a == NULL || a->remote) && (cluster_alive_others(rt) > 0 || !cluster_synced(rt)) &&
        !(a && a->state == ACTOR_DEAD)) {
        a = route_get(rt, job, f.actor);
        task_set_actor(t, a);
        route_call(rt, a, t);
        return 0;
    }
    if (a == NULL || a->state == ACTOR_DEAD) {
        char hex[IDS_HEX_SIZE];
        char msg[600];
        ids_hex(f.actor, IDS_SIZE, hex);
        snprintf(msg, sizeof msg, "actor %s %.8s is dead%s%s: call %s failed", a ? a->cls : "",
                 hex + 8, a && a->death ? ": " : " (unknown on this node)",
                 a && a->death ? a->death : "", task_fn(t));
        tasks_fail(rt, t, RAY_EACTOR, msg);
        tasks_destroy(rt, t);
        return 0;
    }
    task_set_actor(t, a);
    task_set_job(t, a->job);
    char cm[256]; /* "Class.method": interned, as a task's name (no copy per call) */
    if ((size_t)snprintf(cm, sizeof cm, "%s.%s", a->cls, task_fn(t)) < sizeof cm) {
        task_set_name(rt, t, cm);
    } else {
        char *long_name = xasprintf("%s.%s", a->cls, task_fn(t));
        task_set_name(rt, t, long_name);
        free(long_name);
    }
    /* append to the actor's FIFO, then wait for arguments */
    queue_call(a, t);
    tasks_enqueue(rt, t);
    return 0;
}

static int h_call(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    bool detached = client_worker(cl) && worker_actor(client_worker(cl)) &&
                    worker_actor(client_worker(cl))->detached;
    return actor_call_in(rt, client_job(cl), m->f[0].as.s.ptr, m->f[0].as.s.len, c,
                         client_store_id(cl), detached);
}

static int h_node_call(struct conn *c, const struct proto_msg *m, void *arg)
{
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    return actor_call_in(arg, NULL, m->f[0].as.s.ptr, m->f[0].as.s.len, c, 0, false);
}

/* Kill actor ID (ray_actor_kill), here or, for a route, on its node. */
static void actor_kill(struct runtime *rt, const uint8_t *id, bool no_restart)
{
    struct actor *a = idmap_get(&AS(rt)->actors, id);
    if (a == NULL || a->state == ACTOR_DEAD)
        return;
    if (a->remote && a->worker == NULL) {
        /* a route: the actor lives on another node, which kills it; its
         * death reaches us through the directory */
        struct conn *hc = a->host[0] ? cluster_conn(rt, a->host) : NULL;
        if (hc) {
            conn_send(hc, PROTO_NODE_ACTOR_KILL, a->id, no_restart);
            return;
        }
    }
    a->no_restart = no_restart;
    a->killed = true; /* its worker's death says who killed it */
    if (a->worker && workers_is_host(a->worker)) {
        /* a shared actor: ended in its host, which lives on; restarted (in a
         * host with room) if no_restart is false and max_restarts allows */
        workers_host_end(rt, a->worker, a);
        actors_worker_died(rt, a, "was killed", ACTOR_ALL_SENT);
    } else if (a->worker) {
        workers_kill(rt, a->worker); /* death handling follows on SIGCHLD */
    } else {
        a->no_restart = true;
        actor_die(rt, a, "was killed by ray_actor_kill");
    }
}

static int h_kill(struct conn *c, const struct proto_msg *m, void *arg)
{
    if (rt_client_of(c) == NULL)
        return -1;
    actor_kill(arg, (const uint8_t *)m->f[0].as.s.ptr, m->f[1].as.b);
    return 0;
}

static int h_node_kill(struct conn *c, const struct proto_msg *m, void *arg)
{
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    actor_kill(arg, (const uint8_t *)m->f[0].as.s.ptr, m->f[1].as.b);
    return 0;
}

struct lookup_ctx {
    struct runtime *rt;
    uint64_t conn_id, reqid;
};

static void lookup_done(void *arg, const char *s, size_t len)
{
    struct lookup_ctx *ctx = arg;
    struct conn *c = conn_by_id(ctx->rt, ctx->conn_id);
    uint8_t id[IDS_SIZE] = { 0 };
    int64_t st = RAY_ENOTFOUND;
    if (s && len == 2 * IDS_SIZE) {
        char hex[IDS_HEX_SIZE];
        memcpy(hex, s, 2 * IDS_SIZE);
        hex[2 * IDS_SIZE] = '\0';
        if (ids_unhex(hex, id, IDS_SIZE) == 0)
            st = RAY_OK;
    }
    if (st == RAY_OK) {
        struct actor *a = idmap_get(&AS(ctx->rt)->actors, id);
        if (a && a->state == ACTOR_DEAD) {
            st = RAY_ENOTFOUND;
            memset(id, 0, sizeof id);
        }
    }
    if (c)
        conn_send(c, PROTO_ACTOR_LOOKUP_OK, ctx->reqid, st, id);
    free(ctx);
}

static int h_lookup(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (rt_client_of(c) == NULL)
        return -1;
    struct lookup_ctx *ctx = xcalloc(1, sizeof *ctx);
    ctx->rt = rt;
    ctx->conn_id = c->id;
    ctx->reqid = m->f[0].as.u;
    char *name = xstrndup(m->f[1].as.s.ptr, m->f[1].as.s.len);
    if (gcs_actor_lookup_name(rt->n->gcs, name, lookup_done, ctx) < 0)
        lookup_done(ctx, NULL, 0); /* an empty name, or no GCS: not found, now */
    free(name);
    return 0;
}

void actors_init(struct runtime *rt)
{
    server_on(rt->n->srv, PROTO_ACTOR_CREATE, h_create, rt);
    server_on(rt->n->srv, PROTO_ACTOR_CALL, h_call, rt);
    server_on(rt->n->srv, PROTO_ACTOR_KILL, h_kill, rt);
    server_on(rt->n->srv, PROTO_NODE_ACTOR_KILL, h_node_kill, rt);
    server_on(rt->n->srv, PROTO_ACTOR_LOOKUP, h_lookup, rt);
    server_on(rt->n->srv, PROTO_NODE_ACTOR_CALL, h_node_call, rt);
    actor_direct_init(rt); /* direct calls from drivers here (actor_direct.c) */
    gcs_subscribe(rt->n->gcs, "ch:actors", actors_msg, rt);
}

void actors_free(struct runtime *rt)
{
    for (struct call_ask *q = call_asks; q; q = q->next)
        if (q->rt == rt)
            q->rt = NULL; /* freed when the GCS answers (or is freed) */
    gcs_unsubscribe(rt->n->gcs, "ch:actors", actors_msg, rt);
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&AS(rt)->actors, &pos)) != NULL) {
        struct actor *a = s->val;
        while (a->queue_head) {
            struct task *t = a->queue_head;
            a->queue_head = task_next(t);
            tasks_destroy(rt, t);
        }
        while (a->running) {
            struct task *t = a->running;
            a->running = task_next(t);
            tasks_destroy(rt, t);
        }
        if (a->worker)
            worker_set_actor(a->worker, NULL);
        actor_free(a);
        pos++;
    }
    idmap_free(&AS(rt)->actors);
}

struct actor *actors_find(const struct runtime *rt, const uint8_t *id)
{
    return idmap_get(&AS(rt)->actors, id);
}

const struct idmap *actors_map(const struct runtime *rt)
{
    return &AS(rt)->actors;
}

const char *actors_direct_check(const struct runtime *rt, const uint8_t *id, int owner,
                                const uint8_t **worker)
{
    struct actor *a = idmap_get(&AS(rt)->actors, id);
    if (a == NULL || a->remote)
        return "the actor does not live on this node";
    if (a->state != ACTOR_ALIVE || a->killed || a->worker == NULL ||
        worker_client(a->worker) == NULL)
        return "the actor is not alive";
    if (a->shared || a->max_conc != 1)
        return "the actor shares its worker or runs calls concurrently";
    if (a->detached)
        return "the actor is detached (its calls' returns outlive their job: objlife_call_in)";
    /* the caller's calls through the node come first (its request came after them) */
    for (struct task *t = a->queue_head; t; t = task_next(t))
        if (task_owner(t) == owner)
            return "calls of this caller wait here";
    for (struct task *t = a->running; t; t = task_next(t))
        if (task_owner(t) == owner)
            return "calls of this caller run here";
    *worker = worker_id(a->worker);
    return NULL;
}
