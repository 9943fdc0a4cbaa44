/*
 * spillback.c — bottom-up scheduling across nodes (SPEC section 5).
 *
 * DESIGN. A task first goes to the local scheduler of the node it was
 * submitted to (tasks.c). When that node cannot start it now and either no
 * amount of waiting would help (its totals do not fit the demand) or its
 * queue is over the threshold (queue_threshold; auto: one per CPU), and
 * other nodes exist, the node spills it: NODE_TASK_SPILL to the head, with
 * the argument bytes the node holds. The head's global scheduler
 * (sched/global.c) picks, from its copy of the node table, the node with the
 * lowest expected wait plus transfer time, and sends it NODE_TASK_PLACE; a
 * placed task is queued there and never spills again (if no node fits, it
 * goes back to the submitting node and waits there as infeasible). The
 * placed node learns the job from the task (its library by hash from the
 * function table), sends the job's output lines to the submitting node
 * (NODE_JOB_LOG), and ends the job when the submitting node publishes its
 * end. Actor constructors travel the same way; their calls then go straight
 * to the actor's node (actors.c).
 *
 * The submitting node remembers what it sent away: when a node dies, the
 * task table tells which of those tasks were queued or running there, and
 * they are sent again (within max_retries) or fail with RAY_EWORKER.
 *
 * LINEAGE. What it sent away is also the lineage of the objects those tasks
 * made elsewhere (docs/faults.md): the entry stays after the task ends,
 * until its job ends, within lineage_max_bytes (oldest forgotten first,
 * logged); a freed object is never rebuilt (its tombstone says so). When a node dies, every entry whose
 * task finished there is looked at: a return no node holds any more is
 * rebuilt by running the task again (a new attempt, counted against its
 * max_retries), and its lost arguments are rebuilt the same way, because
 * their entries are looked at too. Waiters elsewhere learn of the loss
 * from the object's channel (objmgr.c) and wait for the rebuilt copy, or
 * get RAY_ELOST with the reason. Tasks run on this node need no entry:
 * their returns live here, and die only with the owner. An entry goes when
 * every return of its task is freed (ray_free, spill_obj_freed), and its
 * bytes leave the budget; `ray_lineage_bytes` on /metrics shows what is
 * kept. (Entries of tasks whose returns all came home, small ones, stay
 * until their job ends or they are freed.)
 */
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/spillback.h"
#include "runtime/actors.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/objects.h"
#include "runtime/objlife.h"
#include "runtime/tasks.h"
#include "runtime/counters.h"
#include "runtime/pg.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"
#include "sched/global.h"
#include "sched/spillback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A task this node sent to the global scheduler: to retry it while it runs
 * elsewhere, and its lineage once it has run. */
struct fwd {
    uint8_t id[IDS_SIZE];
    enum task_kind kind;
    struct buf spec;
    uint32_t job;
    int retries_left;
    int nret;
    char name[128];
    size_t bytes;            /* counted against lineage_max_bytes */
    long long rebuild_ms;    /* when it was last run again here (0: never) */
    struct fwd *older, *newer; /* age order, for trimming */
};

struct ask;

struct spill {
    struct runtime *rt;
    struct idmap fwd;   /* task id -> struct fwd */
    struct ask *asks;   /* GCS reads under way after a node's death */
    struct fwd *oldest, *newest;
    size_t bytes;       /* lineage kept, in bytes */
    size_t budget;      /* lineage_max_bytes */
    struct idmap trimmed; /* task ids whose lineage the budget forgot (value: 1) */
    long trimmed_n;     /* entries in trimmed (at most LINEAGE_TRIMMED_MAX) */
    long ntrimmed;      /* trimmed since the last log line */
    long long trim_logged_ms;
    int threshold;
};

#define LINEAGE_REBUILD_GUARD_MS 10000 /* a rebuild under way is not started again */
#define LINEAGE_TRIMMED_MAX 1000000     /* trimmed task ids remembered, for the reason */

static void fwd_free(struct fwd *f)
{
    buf_free(&f->spec);
    free(f);
}

/* Take F out of the map and the age list and free it. */
static void fwd_drop(struct spill *sp, struct fwd *f)
{
    if (f->older)
        f->older->newer = f->newer;
    else
        sp->oldest = f->newer;
    if (f->newer)
        f->newer->older = f->older;
    else
        sp->newest = f->older;
    sp->bytes -= f->bytes;
    idmap_del(&sp->fwd, f->id);
    fwd_free(f);
}

void spill_obj_freed(struct runtime *rt, const uint8_t *id)
{
    if (rt->sp == NULL || rt->sp->fwd.len == 0)
        return;
    uint8_t tid[IDS_SIZE], rid[IDS_SIZE];
    ids_with_index(tid, id, 0);
    struct fwd *f = idmap_get(&rt->sp->fwd, tid);
    if (f == NULL)
        return;
    bool mine = false, all = true;
    for (int i = 1; i <= f->nret; i++) {
        ids_with_index(rid, f->id, (uint32_t)i);
        mine = mine || memcmp(rid, id, IDS_SIZE) == 0;
        all = all && (memcmp(rid, id, IDS_SIZE) == 0 || objlife_is_freed(rt, rid));
    }
    if (!mine || !all)
        return;
    char hex[IDS_HEX_SIZE];
    log_debug("lineage of task %s (%s) dropped: its returns are freed", f->name,
              ids_hex(f->id, IDS_SIZE, hex));
    fwd_drop(rt->sp, f);
}

void spill_lineage_size(const struct runtime *rt, size_t *bytes, size_t *entries)
{
    *bytes = rt && rt->sp ? rt->sp->bytes : 0;
    *entries = rt && rt->sp ? rt->sp->fwd.len : 0;
}

/* Over the budget: forget the oldest lineage, and say so (at most every 10 s). */
static void lineage_trim(struct spill *sp)
{
    while (sp->bytes > sp->budget && sp->oldest) {
        struct fwd *f = sp->oldest;
        if (sp->trimmed_n >= LINEAGE_TRIMMED_MAX) {
            /* past this, a lost object whose spec was trimmed is reported
             * with the general reason ("no live node could rebuild it") */
            idmap_free(&sp->trimmed);
            sp->trimmed_n = 0;
        }
        if (idmap_put(&sp->trimmed, f->id, (void *)1) == NULL)
            sp->trimmed_n++;
        sp->ntrimmed++;
        fwd_drop(sp, f);
    }
    long long now = net_now_ms();
    if (sp->ntrimmed > 0 && now - sp->trim_logged_ms >= 10000) {
        log_warnx("lineage over lineage_max_bytes (%zu bytes): forgot the specs of %ld "
                  "task(s), oldest first; their objects cannot be rebuilt if lost",
                  sp->budget, sp->ntrimmed);
        sp->ntrimmed = 0;
        sp->trim_logged_ms = now;
    }
}

bool spill_should(struct runtime *rt, const struct task *t)
{
    /* the policy is sched/spillback.c's; the view is filled lazily: the
     * head's connection is looked up (and opened) only when it matters */
    struct sched_spill_view v = {
        .placed = task_placed(t),
        .actor_call = task_kind(t) == TASK_ACTOR_CALL,
        .actor = task_kind(t) == TASK_ACTOR_NEW,
        .others =
            task_placed(t) || task_kind(t) == TASK_ACTOR_CALL ? 0 : (int)cluster_alive_others(rt),
        .demand = task_demand(t),
        .total = &rt->n->total,
        .avail = &rt->n->avail,
        .queued = tasks_queued(rt) + tasks_pipelined(rt),
        .threshold = rt->sp->threshold,
    };
    if (v.others > 0) {
        struct cluster_node *head = cluster_head(rt);
        v.head_reachable = head != NULL && (cluster_node_self(head) ||
                                            cluster_conn(rt, cluster_node_id(head)) != NULL);
    }
    return sched_spill_should(&v);
}

/* Argument bytes of T held here. */
static uint64_t local_arg_bytes(struct runtime *rt, const struct task *t)
{
    uint64_t sum = 0;
    for (int i = 0; i < task_ndeps(t); i++) {
        struct objstore_info info;
        if (objstore_lookup(rt->n->store, task_deps(t)[i], &info) == OBJSTORE_FOUND)
            sum += info.size;
    }
    return sum;
}

static void place_local(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                        const char *origin, const char *lib);

/* The global scheduler (head): choose a node and send the task there.
 * Returns 0, or 1 for an actor of this node that stays here (see below). */
static int global_place(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                        const char *origin, const char *lib, uint64_t local_bytes)
{
    struct spec_fields f;
    char err[200];
    struct res_set demand = RES_SET_INIT;
    if (spec_parse(spec, len, &f, err, sizeof err) < 0 || spec_demand(&f, &demand, err, sizeof err) < 0) {
        log_warnx("global scheduler: bad task from %.8s: %s", origin, err);
        res_free(&demand);
        return 0;
    }
    char pg_target[IDS_HEX_SIZE];
    const char *target = origin; /* infeasible everywhere: back home, pending there */
    if (f.pg) {
        /* a placement group's: to its bundle's node (pg.c), or held or failed there */
        res_free(&demand);
        if (pg_route(rt, &f, kind, spec, len, origin, lib, pg_target) != 0)
            return 0;
        target = pg_target;
        goto send;
    }
    /* the node table as the global scheduler sees it (sched/global.c) */
    size_t n = cluster_count(rt), at_origin = SCHED_NO_ORIGIN;
    struct sched_node_view *v = xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        struct cluster_node *cn = cluster_node_at(rt, i);
        if (at_origin == SCHED_NO_ORIGIN && strcmp(cluster_node_id(cn), origin) == 0)
            at_origin = i;
        v[i].total = cluster_node_total(cn);
        v[i].avail = cluster_node_self(cn) ? &rt->n->avail : cluster_node_avail(cn);
        v[i].queue_len =
            cluster_node_self(cn) ? tasks_queued(rt) + tasks_pipelined(rt) : cluster_node_queue_len(cn);
        v[i].assigned = cluster_node_self(cn) ? 0 : cluster_node_assigned(cn);
        v[i].alive = cluster_node_alive(cn);
    }
    int pick = sched_global_place(v, n, at_origin, &demand, local_bytes, kind == 1);
    if (pick >= 0) {
        struct cluster_node *cn = cluster_node_at(rt, pick);
        cluster_node_assigned_add(cn, 1);
        target = cluster_node_id(cn);
    } else {
        log_warnx("global scheduler: no node can ever run a task of %.8s; it waits there", origin);
    }
    free(v);
    res_free(&demand);
send:
    if (kind == 0) {
        /* where it went, for its submitting node to find if that node dies
         * before the task's own records reach the table */
        char thex[IDS_HEX_SIZE];
        gcs_task_set_state(rt->n->gcs, ids_hex(f.id, IDS_SIZE, thex), "PENDING", target, -1);
    }
    /* an actor of this very node placed here anew would meet its own old
     * self and be lost: it stays as it is (the caller keeps it) */
    bool own_actor = kind == 1 && strcmp(origin, rt->n->hex) == 0;
    if (strcmp(target, rt->n->hex) == 0) {
        if (own_actor)
            return 1;
        place_local(rt, kind, spec, len, origin, lib);
        return 0;
    }
    struct conn *conn = cluster_conn(rt, target);
    if (conn == NULL || conn_send(conn, PROTO_NODE_TASK_PLACE, kind, spec, len, origin, lib) < 0) {
        log_warnx("global scheduler: node %.8s unreachable; running the task here", target);
        if (own_actor)
            return 1;
        place_local(rt, kind, spec, len, origin, lib);
    }
    return 0;
}

int spill_send(struct runtime *rt, struct task *t)
{
    struct cluster_node *head = cluster_head(rt);
    if (head == NULL)
        return -1;
    counters_task_spilled();
    uint64_t kind = task_kind(t) == TASK_ACTOR_NEW ? 1 : 0;
    /* send the spec the caller made (no "kind" key: the placed node adds it) */
    const void *spec = task_spec(t)->data;
    size_t len = task_spec(t)->len;
    if (task_kind(t) == TASK_ACTOR_NEW && task_actor(t)) {
        spec = actor_spec(task_actor(t))->data;
        len = actor_spec(task_actor(t))->len;
    }
    uint64_t bytes = local_arg_bytes(rt, t);
    /* a task submitted by a task placed here names its job's own node, which
     * shows the job's output and ends it */
    const char *origin = job_remote(task_job(t)) ? job_origin(task_job(t)) : rt->n->hex;
    if (cluster_node_self(head)) {
        if (global_place(rt, kind, spec, len, origin, job_lib_hash(task_job(t)), bytes) == 1)
            return 1;
    } else {
        struct conn *conn = cluster_conn(rt, cluster_node_id(head));
        if (conn == NULL || conn_send(conn, PROTO_NODE_TASK_SPILL, kind, spec, len, origin,
                                      job_lib_hash(task_job(t)), bytes) < 0)
            return -1;
    }
    struct fwd *old = task_kind(t) == TASK_NORMAL ? idmap_get(&rt->sp->fwd, task_id(t)) : NULL;
    if (old) {
        old->retries_left = task_retries_left(t); /* sent again (a retry or a rebuild) */
    } else if (task_kind(t) == TASK_NORMAL) {
        struct spill *sp = rt->sp;
        struct fwd *f = xcalloc(1, sizeof *f);
        memcpy(f->id, task_id(t), IDS_SIZE);
        f->kind = task_kind(t);
        buf_append(&f->spec, spec, len);
        f->job = job_num(task_job(t));
        f->retries_left = task_retries_left(t);
        f->nret = task_nret(t);
        snprintf(f->name, sizeof f->name, "%s", task_name(t));
        f->bytes = sizeof *f + len;
        idmap_put(&sp->fwd, f->id, f);
        f->older = sp->newest;
        if (sp->newest)
            sp->newest->newer = f;
        else
            sp->oldest = f;
        sp->newest = f;
        sp->bytes += f->bytes;
        if (sp->bytes > sp->budget)
            lineage_trim(sp);
    }
    log_debug("task %s spilled to the global scheduler", task_name(t));
    return 0;
}

/* ---- the placed side -------------------------------------------------------------- */

struct libfetch {
    struct runtime *rt;
    uint32_t num;
};

static void library_fetched(void *arg, const char *s, size_t len)
{
    struct libfetch *lf = arg;
    struct runtime *rt = lf->rt;
    struct job *j = rt_job_find(rt, lf->num);
    free(lf);
    if (j == NULL || (job_ended(j) && !actors_job_in_use(rt, j)))
        return; /* (a detached actor placed here still needs it after the job's end) */
    job_set_lib_fetching(j, false);
    if (s == NULL) {
        /* its node may not have written it yet: spill_libraries_retry
         * asks again each second */
        if (!job_lib_missing_told(j))
            log_warnx("job %s: library %s not in the function table yet; asking again", job_hex(j),
                      job_lib_hash(j));
        job_set_lib_missing_told(j);
        return;
    }
    if (job_lib_missing_told(j))
        log_info("job %s: library %s found in the function table", job_hex(j), job_lib_hash(j));
    if (jobs_set_library(rt, j, s, len) == 0)
        tasks_schedule(rt);
}

static void library_fetch(struct runtime *rt, struct job *j)
{
    struct libfetch *lf = xcalloc(1, sizeof *lf);
    lf->rt = rt;
    lf->num = job_num(j);
    job_set_lib_fetching(j, true);
    gcs_function_get(rt->n->gcs, job_lib_hash(j), library_fetched, lf);
}

void spill_libraries_retry(struct runtime *rt)
{
    for (struct job *j = jobs_first(rt); j; j = job_next(j))
        if (job_remote(j) && (!job_ended(j) || actors_job_in_use(rt, j)) &&
            job_lib_path(j) == NULL && !job_lib_fetching(j) &&
            job_lib_hash(j)[0])
            library_fetch(rt, j);
}

static struct job *job_for(struct runtime *rt, uint32_t num, const char *origin, const char *lib)
{
    struct job *j = rt_job_find(rt, num);
    if (j && !job_ended(j))
        return j;
    j = jobs_new_remote(rt, num, origin, lib);
    if (job_lib_path(j) == NULL)
        library_fetch(rt, j);
    return j;
}

static void place_local(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                        const char *origin, const char *lib)
{
    struct spec_fields f;
    char err[200];
    if (spec_parse(spec, len, &f, err, sizeof err) < 0) {
        log_warnx("placed task from %.8s: %s", origin, err);
        return;
    }
    if (kind == 0 && objlife_job_over(rt, f.id)) {
        /* its job ended here before the task arrived (the job's END and
         * this placement take different paths): it must not start a job
         * of its own here that never ends, nor leave its record PENDING */
        char hex[IDS_HEX_SIZE];
        log_info("placed task %s from %.8s: its job %08x has ended; not run",
                 ids_hex(f.id, IDS_SIZE, hex), origin, ids_job(f.id));
        gcs_task_set_state(rt->n->gcs, hex, "FAILED", rt->n->hex, -1);
        return;
    }
    struct job *j = job_for(rt, ids_job(f.id), origin, lib);
    if (kind == 1) {
        actors_place(rt, j, spec, len);
        return;
    }
    if (tasks_find(rt, f.id)) {
        log_debug("placed task already here");
        return;
    }
    struct task *t = tasks_new(rt, TASK_NORMAL, j, spec, len, err, sizeof err);
    if (t == NULL) {
        log_warnx("placed task from %.8s: %s", origin, err);
        return;
    }
    task_set_placed(t, true);
    char hex[IDS_HEX_SIZE];
    gcs_task_set_state(rt->n->gcs, ids_hex(task_id(t), IDS_SIZE, hex), "PENDING", rt->n->hex, -1);
    tasks_enqueue(rt, t);
}

/* NODE_TASK_SPILL (to the head) and NODE_TASK_PLACE (to the chosen node)
 * share their first four fields: kind, spec, origin, library. */
static int h_spill_or_place(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    char origin[IDS_HEX_SIZE], lib[65];
    snprintf(origin, sizeof origin, "%.*s", (int)m->f[2].as.s.len, m->f[2].as.s.ptr);
    snprintf(lib, sizeof lib, "%.*s", (int)m->f[3].as.s.len, m->f[3].as.s.ptr);
    if (m->type == PROTO_NODE_TASK_SPILL)
        (void)global_place(rt, m->f[0].as.u, m->f[1].as.s.ptr, m->f[1].as.s.len, origin, lib,
                     m->f[4].as.u);
    else
        place_local(rt, m->f[0].as.u, m->f[1].as.s.ptr, m->f[1].as.s.len, origin, lib);
    return 0;
}

/* Output of a placed job's tasks, for the submitting node's `ray submit`. */
static int h_job_log(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    char hex[16];
    snprintf(hex, sizeof hex, "%.*s", (int)(m->f[0].as.s.len < 8 ? m->f[0].as.s.len : 8),
             m->f[0].as.s.ptr);
    struct job *j = rt_job_find(rt, (uint32_t)strtoul(hex, NULL, 16));
    if (j && !job_remote(j))
        rt_job_log(rt, j, (int)m->f[1].as.u, m->f[2].as.s.ptr, m->f[2].as.s.len);
    return 0;
}

#define SPILL_PUSH_MAX (64u << 10)

void spill_push_returns(struct runtime *rt, struct task *t)
{
    if (!job_remote(task_job(t)))
        return;
    struct conn *c = cluster_conn(rt, job_origin(task_job(t)));
    if (c)
        objects_send_returns(rt, t, c, PROTO_NODE_OBJ_PUT, SPILL_PUSH_MAX, false);
}

static int h_obj_put(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    objects_put_copy(rt, (const uint8_t *)m->f[0].as.s.ptr, (uint32_t)m->f[1].as.u,
                     m->f[2].as.s.ptr, m->f[2].as.s.len);
    return 0;
}

/* ---- node death ---------------------------------------------------------------- */

/* A GCS read after node DEAD died, about task or object ID. Every callback
 * gets one, and ends it (ask_end). Those still pending when the node stops
 * are freed by spill_free: the node mutes its GCS client before it frees
 * the runtime (node.c, gcs_client_mute), so no callback runs after that;
 * the one shutdown mechanism for every GCS callback of the runtime. */
struct ask {
    struct spill *sp;
    uint8_t id[IDS_SIZE];
    char dead[IDS_HEX_SIZE];
    bool dead_head; /* the dead node was the head, the global scheduler itself */
    struct ask *next, *prev;
};

static struct ask *ask_new(struct spill *sp, const uint8_t *id, const char *dead)
{
    struct ask *a = xcalloc(1, sizeof *a);
    a->sp = sp;
    memcpy(a->id, id, IDS_SIZE);
    snprintf(a->dead, sizeof a->dead, "%s", dead);
    a->next = sp->asks;
    if (sp->asks)
        sp->asks->prev = a;
    sp->asks = a;
    return a;
}

/* Unlink and free A; returns the runtime. */
static struct runtime *ask_end(struct ask *a)
{
    struct spill *sp = a->sp;
    if (a->prev)
        a->prev->next = a->next;
    else
        sp->asks = a->next;
    if (a->next)
        a->next->prev = a->prev;
    free(a);
    return sp->rt;
}

/* F's task was on dead node DEAD, or (UNPLACED) went to a head that died
 * before placing it: it never ran, so it runs again without using a retry. */
static void fwd_retry(struct runtime *rt, struct fwd *f, const char *dead, bool unplaced)
{
    struct job *j = rt_job_find(rt, f->job);
    char hex[IDS_HEX_SIZE];
    ids_hex(f->id, IDS_SIZE, hex);
    if (j == NULL || job_ending(j)) {
        fwd_drop(rt->sp, f);
        return;
    }
    if (tasks_find(rt, f->id))
        return; /* queued here again already (or placed back here) */
    if (unplaced || f->retries_left != 0) {
        if (f->retries_left > 0 && !unplaced)
            f->retries_left--;
        char err[200];
        struct task *t = tasks_new(rt, TASK_NORMAL, j, f->spec.data, f->spec.len, err, sizeof err);
        if (t == NULL)
            return;
        task_set_retries_left(t, f->retries_left);
        task_set_attempts(t, 1);
        f->rebuild_ms = net_now_ms();
        log_info("task %s (%s) was on dead node %.8s: running it again", f->name, hex, dead);
        gcs_event_add(rt->n->gcs, "TASK_RETRY", hex, rt->n->hex, "its node died");
        tasks_enqueue(rt, t); /* the entry stays: it is the lineage of its returns */
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "task %s failed: node %.8s running it died (no retries left)",
             f->name, dead);
    for (int i = 1; i <= f->nret; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, f->id, (uint32_t)i);
        objects_put_error(rt, rid, RAY_EWORKER, msg);
    }
    fwd_drop(rt->sp, f);
}

/* ---- lineage ---------------------------------------------------------------------- */

/* Run F again to rebuild its lost returns (LOST names one). Returns 1 if it
 * is queued again, or -1 with WHY (the end of the RAY_ELOST message). */
static int lineage_rebuild(struct runtime *rt, struct fwd *f, const uint8_t *lost, char *why,
                           size_t whylen)
{
    struct job *j = rt_job_find(rt, f->job);
    if (j == NULL || job_ending(j)) {
        snprintf(why, whylen, "its job has ended");
        return -1;
    }
    if (f->retries_left == 0) {
        snprintf(why, whylen, "task %s cannot run again: its retries are used up (max_retries)",
                 f->name);
        return -1;
    }
    char err[200];
    struct task *t = tasks_new(rt, TASK_NORMAL, j, f->spec.data, f->spec.len, err, sizeof err);
    if (t == NULL) {
        snprintf(why, whylen, "its task spec cannot be read again: %s", err);
        return -1;
    }
    if (f->retries_left > 0)
        f->retries_left--;
    task_set_retries_left(t, f->retries_left);
    task_set_attempts(t, 1);
    f->rebuild_ms = net_now_ms();
    char hex[IDS_HEX_SIZE], ohex[IDS_HEX_SIZE];
    ids_hex(f->id, IDS_SIZE, hex);
    log_info("object %s is lost: rebuilding it by running task %s (%s) again",
             ids_hex(lost, IDS_SIZE, ohex), f->name, hex);
    gcs_event_add(rt->n->gcs, "TASK_REBUILD", hex, rt->n->hex, "a return of it was lost");
    tasks_enqueue(rt, t);
    return 1;
}

int spill_lineage_lost(struct runtime *rt, const uint8_t *id, const struct gcs_task *gt,
                       const char *holder, char *why, size_t whylen)
{
    (void)holder;
    if (rt->sp == NULL)
        return 0;
    uint8_t tid[IDS_SIZE];
    ids_with_index(tid, id, 0);
    struct fwd *f = idmap_get(&rt->sp->fwd, tid);
    if (f == NULL) {
        if (idmap_get(&rt->sp->trimmed, tid)) {
            snprintf(why, whylen, "its lineage was trimmed (lineage_max_bytes)");
            return -1;
        }
        return 0;
    }
    if (tasks_find(rt, tid))
        return 1; /* queued or running here */
    if (f->rebuild_ms && net_now_ms() - f->rebuild_ms < LINEAGE_REBUILD_GUARD_MS)
        return 1; /* being rebuilt */
    if (gt && (strcmp(gt->state, "PENDING") == 0 || strcmp(gt->state, "RUNNING") == 0)) {
        struct cluster_node *cn = cluster_find(rt, gt->node);
        if (cn && cluster_node_alive(cn))
            return 1; /* it runs (again) elsewhere */
    }
    return lineage_rebuild(rt, f, id, why, whylen);
}

/* The locations of a return of a task that ended on a dead node: does any
 * node still hold it? */
static void lostret_cb(void *arg, const char *const *names, size_t n)
{
    struct ask *a = arg;
    uint8_t id[IDS_SIZE];
    char dead[IDS_HEX_SIZE];
    memcpy(id, a->id, IDS_SIZE);
    memcpy(dead, a->dead, IDS_HEX_SIZE);
    struct runtime *rt = ask_end(a);
    if (rt == NULL || names == NULL || n > 0 || objects_have(rt, id) || objlife_gone(rt, id, NULL))
        return;
    char why[300] = "";
    if (spill_lineage_lost(rt, id, NULL, dead, why, sizeof why) < 0) {
        char hex[IDS_HEX_SIZE], msg[600];
        snprintf(msg, sizeof msg, "object %s is lost: node %.8s that held it died, and %s",
                 ids_hex(id, IDS_SIZE, hex), dead, why);
        log_warnx("%s", msg);
        objects_put_error(rt, id, RAY_ELOST, msg);
    }
}

/* F's task ended on DEAD, which died: rebuild what no node holds any more. */
static void lineage_check_returns(struct runtime *rt, struct fwd *f, const char *dead)
{
    for (int i = 1; i <= f->nret; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, f->id, (uint32_t)i);
        if (objects_have(rt, rid) || objlife_gone(rt, rid, NULL))
            continue; /* here (a small return comes home), or freed */
        struct ask *a = ask_new(rt->sp, rid, dead);
        char hex[IDS_HEX_SIZE];
        if (gcs_object_locations(rt->n->gcs, ids_hex(rid, IDS_SIZE, hex), lostret_cb, a) < 0)
            ask_end(a);
    }
}

static void recheck_cb(void *arg, const struct gcs_task *gt)
{
    struct ask *a = arg;
    uint8_t id[IDS_SIZE];
    char dead[IDS_HEX_SIZE];
    memcpy(id, a->id, IDS_SIZE);
    memcpy(dead, a->dead, IDS_HEX_SIZE);
    bool dead_head = a->dead_head;
    struct runtime *rt = ask_end(a);
    struct fwd *f = rt ? idmap_get(&rt->sp->fwd, id) : NULL;
    if (f == NULL)
        return;
    if (gt && (strcmp(gt->state, "FINISHED") == 0 || strcmp(gt->state, "FAILED") == 0)) {
        /* done: its returns may have died with the node */
        if (strcmp(gt->node, dead) == 0)
            lineage_check_returns(rt, f, dead);
    } else if (gt && strcmp(gt->node, dead) == 0) {
        fwd_retry(rt, f, dead, false);
    } else if (dead_head && (gt == NULL || strcmp(gt->node, rt->n->hex) == 0)) {
        /* sent to a head that died (or was already dead: a killed head
         * looks alive until declared dead) before it placed the task:
         * nobody has it (docs/restart.md) */
        fwd_retry(rt, f, dead, true);
    } else if (gt == NULL) {
        /* no record: it finished long ago (the table trims finished
         * records); its returns may have died with the node */
        lineage_check_returns(rt, f, dead);
    }
}

void spill_node_dead(struct runtime *rt, const char *hex)
{
    if (rt->sp == NULL)
        return;
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&rt->sp->fwd, &pos)) != NULL) {
        pos++;
        struct ask *a = ask_new(rt->sp, s->key, hex);
        struct cluster_node *cn = cluster_find(rt, hex);
        a->dead_head = cn != NULL && cluster_node_is_head(cn);
        char thex[IDS_HEX_SIZE];
        if (gcs_task_get(rt->n->gcs, ids_hex(s->key, IDS_SIZE, thex), recheck_cb, a) < 0)
            ask_end(a);
    }
    actors_node_dead(rt, hex);
}

/* ---- jobs ending ------------------------------------------------------------------ */

void spill_job_ended(struct runtime *rt, struct job *j)
{
    if (rt->sp == NULL)
        return;
    /* forget what it sent away */
    size_t pos = 0, n = 0;
    struct idmap_slot *s;
    uint8_t (*ids)[IDS_SIZE] = NULL;
    while ((s = idmap_next(&rt->sp->fwd, &pos)) != NULL) {
        pos++;
        if (ids_job(s->key) == job_num(j)) {
            ids = xreallocarray(ids, n + 1, sizeof *ids);
            memcpy(ids[n++], s->key, IDS_SIZE);
        }
    }
    for (size_t i = 0; i < n; i++)
        fwd_drop(rt->sp, idmap_get(&rt->sp->fwd, ids[i]));
    free(ids);
    /* and the trimmed marks of the job */
    pos = 0;
    while ((s = idmap_next(&rt->sp->trimmed, &pos)) != NULL) {
        if (ids_job(s->key) == job_num(j)) {
            uint8_t key[IDS_SIZE];
            memcpy(key, s->key, IDS_SIZE);
            idmap_del(&rt->sp->trimmed, key); /* deletes the slot: do not advance */
            rt->sp->trimmed_n--;
        } else {
            pos++;
        }
    }
    if (!job_remote(j))
        pg_job_ended(rt, job_num(j));
    if (!job_remote(j) && cluster_alive_others(rt) > 0) {
        char msg[32];
        snprintf(msg, sizeof msg, "%s END", job_hex(j));
        gcs_command(rt->n->gcs, NULL, NULL, "PUBLISH %sch:jobs %s", gcs_client_prefix(rt->n->gcs),
                    msg);
    }
}

void spill_route_again(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                       const char *origin, const char *lib)
{
    if (global_place(rt, kind, spec, len, origin, lib, 0) == 1) {
        /* our own actor, to stay here: place it as a route becomes the actor */
        place_local(rt, kind, spec, len, origin, lib);
    }
}

void spill_fail_here(struct runtime *rt, uint64_t kind, const void *spec, size_t len,
                     const char *origin, const char *lib, int code, const char *msg)
{
    struct spec_fields f;
    char err[200];
    if (kind != 0 || spec_parse(spec, len, &f, err, sizeof err) < 0) {
        log_warnx("global scheduler: actor from %.8s dropped: %s", origin, msg);
        return;
    }
    if (tasks_find(rt, f.id))
        return;
    struct job *j = job_for(rt, ids_job(f.id), origin, lib);
    struct task *t = tasks_new(rt, TASK_NORMAL, j, spec, len, err, sizeof err);
    if (t == NULL) {
        log_warnx("global scheduler: task from %.8s: %s", origin, err);
        return;
    }
    tasks_fail(rt, t, code, msg);
    spill_push_returns(rt, t);
    tasks_destroy(rt, t);
}

void spill_job_log_to_origin(struct runtime *rt, uint32_t num, int stream, const char *line)
{
    struct job *j = rt_job_find(rt, num);
    if (j && !job_remote(j)) {
        rt_job_log(rt, j, stream, line, strlen(line));
        return;
    }
    if (j == NULL || !job_origin(j)[0])
        return;
    struct conn *c = cluster_conn(rt, job_origin(j));
    char hex[16];
    snprintf(hex, sizeof hex, "%08x", num);
    if (c)
        conn_send(c, PROTO_NODE_JOB_LOG, hex, (uint64_t)stream, line);
}

static void jobs_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    (void)suffix;
    struct runtime *rt = arg;
    if (len < 8)
        return;
    char hex[9];
    memcpy(hex, msg, 8);
    hex[8] = '\0';
    uint32_t num = (uint32_t)strtoul(hex, NULL, 16);
    if (len >= 12 && memcmp(msg + 8, " END", 4) == 0)
        pg_job_ended(rt, num);
    struct job *j = rt_job_find(rt, num);
    if (j && job_remote(j) && !job_ending(j))
        jobs_end(rt, j, "FINISHED");
    else if (j == NULL)
        objects_delete_job(rt, num); /* copies pulled here of its objects */
}

void spill_init(struct runtime *rt)
{
    rt->sp = xcalloc(1, sizeof *rt->sp);
    rt->sp->rt = rt;
    int cpus = (int)(res_get(&rt->n->total, RES_CPU) / RES_SCALE);
    rt->sp->threshold = rt->n->cfg->queue_threshold > 0 ? rt->n->cfg->queue_threshold
                                                        : (cpus > 0 ? cpus : 1);
    rt->sp->budget = (size_t)rt->n->cfg->lineage_max_bytes;
    server_on(rt->n->srv, PROTO_NODE_TASK_SPILL, h_spill_or_place, rt);
    server_on(rt->n->srv, PROTO_NODE_TASK_PLACE, h_spill_or_place, rt);
    server_on(rt->n->srv, PROTO_NODE_JOB_LOG, h_job_log, rt);
    server_on(rt->n->srv, PROTO_NODE_OBJ_PUT, h_obj_put, rt);
    gcs_subscribe(rt->n->gcs, "ch:jobs", jobs_msg, rt);
}

void spill_free(struct runtime *rt)
{
    if (rt->sp == NULL)
        return;
    gcs_unsubscribe(rt->n->gcs, "ch:jobs", jobs_msg, rt);
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&rt->sp->fwd, &pos)) != NULL) {
        fwd_free(s->val);
        pos++;
    }
    idmap_free(&rt->sp->fwd);
    idmap_free(&rt->sp->trimmed);
    /* the GCS client is muted by now (node.c): no answer reaches these */
    while (rt->sp->asks) {
        struct ask *a = rt->sp->asks;
        rt->sp->asks = a->next;
        free(a);
    }
    free(rt->sp);
    rt->sp = NULL;
}
