/*
 * tasks.c — tasks on a node: TASK_SUBMIT and TASK_DONE, the task records,
 * dependency waits, the local queue and dispatch to workers, retries, and
 * the failure objects callers see.
 *
 * DESIGN. A submitted task first waits, holding nothing, until every REF
 * argument is sealed in the local store (objects.c calls tasks_dep_ready).
 * It then joins the local scheduler's queues (sched/local.c), which decide
 * what starts, where and when, in one pass on a deferred event (tasks_run)
 * so a burst of submissions is handled at once. This file is the plumbing
 * around that policy: it answers the scheduler's operations (an idle or
 * waiting worker, a worker to start, TASK_EXECUTE / TASK_NEST to send, a
 * task to spill: spillback.c), keeps the workers' lists of tasks sent ahead
 * and nested, the records, and the failure objects. A demand larger than
 * the node's total is infeasible: it stays queued, is reported in
 * <p>demands:<node> for `ray status`, and the job's driver is warned once.
 */
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/observe.h"
#include "runtime/tasks.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/lease.h"
#include "runtime/objects.h"
#include "runtime/objmgr_ops.h"
#include "runtime/spillback.h"
#include "runtime/taskrec.h"
#include "runtime/workers.h"
#include "runtime/pg.h"
#include "sched/pg_policy.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/wait.h>

/* This file's part of the runtime's state (rt->ts): made zeroed on first use, so it reads as before its init
 * and after its free, as the fields of the calloc'd runtime did;
 * runtime_free frees the block itself. */
struct tasks_state {
    struct idmap tasks_by_id;   /* task id -> struct task, for every task alive here */
    struct sched_local *sched;  /* ready tasks and the dispatch policy (sched/local.c) */
    struct task *waiting_head;  /* tasks waiting for their arguments */
    long long waiting;          /* tasks waiting for arguments (heartbeats) */
    long long pipelined;        /* tasks sent ahead to busy workers, not started */
    struct buf demands_text;    /* last demands written to the GCS */
    struct event *demands_ev;   /* publishes them every 500 ms */
    struct event *sched_ev;     /* deferred dispatch */
    /* per-task memory kept for the next task (tasks_new, tasks_destroy) */
    struct task *free_tasks;    /* destroyed tasks, linked by next; their spec
                                 * buffers keep their memory */
    int nfree;
    char **names;               /* interned function and task names (NAMES_SLOTS
                                 * of them, open addressing), owned here */
    int nnames;
    struct buf exec;            /* tasks_send_execute's resolved arguments */
};

static struct tasks_state *TS(const struct runtime *rt)
{
    if (rt->ts == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->ts = xcalloc(1, sizeof *rt->ts);
    return rt->ts;
}

/* A task, actor constructor or actor call known to this node. */
struct task {
    uint8_t id[IDS_SIZE];
    enum task_kind kind;
    enum task_state state;
    struct job *job;
    char *name;             /* function, "Class.method" or class name: for logs */
    char *fn;               /* registered name sent in the spec */
    bool name_owned, fn_owned; /* else interned (tasks_state.names): not freed with it */
    struct buf spec;        /* the msgpack spec map as the caller sent it */
    int nret;
    struct res_set demand;
    struct sched_task st;   /* the local scheduler's part (sched/local.h): held,
                             * blocked, cpu_lost, GPU slots, its shape's queue */
    int nwaits;             /* its gets/waits waiting at the node */
    int retries_left;       /* -1: forever */
    bool retry_err;
    int attempts;
    uint8_t (*deps)[IDS_SIZE]; /* REF arguments, in argument order (may repeat) */
    int ndeps;
    int deps_missing;       /* distinct deps not yet sealed here */
    bool infeasible;
    struct worker *worker;  /* while RUNNING */
    struct actor *actor;    /* ACTOR_NEW / ACTOR_CALL */
    uint8_t (*pins)[IDS_SIZE]; /* objects pinned for the running task */
    int npins;
    long long submit_ms;
    bool nested;            /* sent with TASK_NEST to a worker whose other tasks
                             * all wait (tasks.c); linked in worker.nest_head */
    bool by_task;           /* submitted by a running task: queued depth-first */
    bool placed;            /* the global scheduler put it here: never spill it again */
    bool recalled;          /* sent ahead, and TASK_RECALL sent for it */
    int owner;              /* store_id of the client that submitted it here (0: none) */
    long long start_us;     /* when it started on its worker (as the node sees it) */
    long long deps_since_us; /* when it began waiting for arguments (timeline, observe.c) */
    bool rec_written;       /* its task-table record is in the GCS (taskrec.c) */
    bool rec_queued;        /* a record or state write is held back for it */
    bool rec_live;          /* counted in runtime.rec_live */
    long long rec_due_ms;   /* when the write held back is due */
    struct task *rec_next, *rec_prev; /* links of the held-back list */
    /* links: waiting for arguments, sent ahead, nested, or an actor's queue */
    struct task *next, *prev;
    bool pg_removed;        /* killed because its placement group was removed (pg.c) */
    bool in_pg;             /* its spec names a placement group */
    char *renv;             /* its canonical runtime_env (NULL: none; runtime_env.c) */
    bool lease;             /* a lease (runtime/lease.c): holds a worker and resources for
                             * a driver that sends it tasks directly; never run, never recorded */
};

/* ---- the fields other files of the runtime read (declared in runtime/tasks.h) ---- */

const uint8_t *task_id(const struct task *t)
{
    return t->id;
}

enum task_kind task_kind(const struct task *t)
{
    return t->kind;
}

enum task_state task_state(const struct task *t)
{
    return t->state;
}

void task_set_state(struct task *t, enum task_state v)
{
    t->state = v;
}

struct job *task_job(const struct task *t)
{
    return t->job;
}

void task_set_job(struct task *t, struct job *v)
{
    t->job = v;
}

const char *task_name(const struct task *t)
{
    return t->name;
}


const char *task_fn(const struct task *t)
{
    return t->fn;
}

const struct buf *task_spec(const struct task *t)
{
    return &t->spec;
}

int task_nret(const struct task *t)
{
    return t->nret;
}

const struct res_set *task_demand(const struct task *t)
{
    return &t->demand;
}

struct sched_task *task_st(const struct task *t)
{
    return (struct sched_task *)&t->st;
}

int task_retries_left(const struct task *t)
{
    return t->retries_left;
}

void task_set_retries_left(struct task *t, int v)
{
    t->retries_left = v;
}

int task_attempts(const struct task *t)
{
    return t->attempts;
}

void task_set_attempts(struct task *t, int v)
{
    t->attempts = v;
}

const uint8_t (*task_deps(const struct task *t))[IDS_SIZE]
{
    return (const uint8_t (*)[IDS_SIZE])t->deps;
}

int task_ndeps(const struct task *t)
{
    return t->ndeps;
}

int task_deps_missing(const struct task *t)
{
    return t->deps_missing;
}

void task_set_deps_missing(struct task *t, int v)
{
    t->deps_missing = v;
}

struct worker *task_worker(const struct task *t)
{
    return t->worker;
}

void task_set_worker(struct task *t, struct worker *v)
{
    t->worker = v;
}

struct actor *task_actor(const struct task *t)
{
    return t->actor;
}

void task_set_actor(struct task *t, struct actor *v)
{
    t->actor = v;
}

bool task_nested(const struct task *t)
{
    return t->nested;
}

bool task_placed(const struct task *t)
{
    return t->placed;
}

void task_set_placed(struct task *t, bool v)
{
    t->placed = v;
}

int task_owner(const struct task *t)
{
    return t->owner;
}

void task_set_owner(struct task *t, int v)
{
    t->owner = v;
}

bool task_rec_written(const struct task *t)
{
    return t->rec_written;
}

void task_set_rec_written(struct task *t, bool v)
{
    t->rec_written = v;
}

bool task_rec_queued(const struct task *t)
{
    return t->rec_queued;
}

void task_set_rec_queued(struct task *t, bool v)
{
    t->rec_queued = v;
}

bool task_rec_live(const struct task *t)
{
    return t->rec_live;
}

void task_set_rec_live(struct task *t, bool v)
{
    t->rec_live = v;
}

long long task_rec_due_ms(const struct task *t)
{
    return t->rec_due_ms;
}

void task_set_rec_due_ms(struct task *t, long long v)
{
    t->rec_due_ms = v;
}

struct task *task_rec_next(const struct task *t)
{
    return t->rec_next;
}

void task_set_rec_next(struct task *t, struct task *v)
{
    t->rec_next = v;
}

struct task *task_rec_prev(const struct task *t)
{
    return t->rec_prev;
}

void task_set_rec_prev(struct task *t, struct task *v)
{
    t->rec_prev = v;
}

struct task *task_next(const struct task *t)
{
    return t->next;
}

void task_set_next(struct task *t, struct task *v)
{
    t->next = v;
}

bool task_lease(const struct task *t)
{
    return t->lease;
}

void task_set_lease(struct task *t, bool v)
{
    t->lease = v;
    if (v)
        t->placed = true; /* a lease never spills */
}

void task_set_pg_removed(struct task *t, bool v)
{
    t->pg_removed = v;
}


#define TASKS_MAX_RETURNS 64

/* ---- spec parsing ------------------------------------------------------------ */

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool key_is(const char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

int spec_parse(const void *spec, size_t len, struct spec_fields *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->nret = 1;
    f->max_conc = 1;
    f->bundle = -1;
    struct mpr r;
    uint32_t n;
    mpr_init(&r, spec, len);
    if (mpr_map(&r, &n) < 0) {
        snprintf(err, errlen, "task spec is not a map");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        if (mpr_str(&r, &k, &kl) < 0) {
            snprintf(err, errlen, "task spec key is not a string");
            return -1;
        }
        int rc = 0;
        const void *p;
        size_t pl;
        if (key_is(k, kl, "id")) {
            rc = mpr_bin(&r, &p, &pl);
            if (rc == 0 && pl != IDS_SIZE)
                rc = -1;
            if (rc == 0)
                f->id = p;
        } else if (key_is(k, kl, "actor")) {
            rc = mpr_bin(&r, &p, &pl);
            if (rc == 0 && pl != IDS_SIZE)
                rc = -1;
            if (rc == 0)
                f->actor = p;
        } else if (key_is(k, kl, "fn")) {
            rc = mpr_str(&r, &f->fn, &f->fnlen);
        } else if (key_is(k, kl, "name")) {
            struct mpr_item it;
            rc = mpr_next(&r, &it);
            if (rc == 0 && it.kind == MPR_STR) {
                f->name = f->aname = it.as.s.ptr;
                f->namelen = f->anamelen = it.as.s.len;
            } else if (rc == 0 && it.kind != MPR_NIL) {
                rc = -1;
            }
        } else if (key_is(k, kl, "res")) {
            struct mpr_item it;
            rc = mpr_next(&r, &it);
            if (rc == 0 && it.kind == MPR_STR) {
                f->res = it.as.s.ptr;
                f->reslen = it.as.s.len;
            } else if (rc == 0 && it.kind != MPR_NIL) {
                rc = -1;
            }
        } else if (key_is(k, kl, "args")) {
            const uint8_t *start = r.p;
            rc = mpr_array(&r, &f->nargs);
            for (uint32_t a = 0; rc == 0 && a < f->nargs; a++)
                rc = mpr_skip(&r);
            f->args = start;
            f->argslen = (size_t)(r.p - start);
        } else if (key_is(k, kl, "nret")) {
            rc = mpr_int(&r, &f->nret);
        } else if (key_is(k, kl, "retries")) {
            rc = mpr_int(&r, &f->retries);
        } else if (key_is(k, kl, "max_restarts")) {
            rc = mpr_int(&r, &f->max_restarts);
        } else if (key_is(k, kl, "max_conc")) {
            rc = mpr_int(&r, &f->max_conc);
        } else if (key_is(k, kl, "cpu")) {
            rc = mpr_double(&r, &f->cpu);
        } else if (key_is(k, kl, "gpu")) {
            rc = mpr_double(&r, &f->gpu);
        } else if (key_is(k, kl, "mem")) {
            rc = mpr_double(&r, &f->mem);
        } else if (key_is(k, kl, "retry_err")) {
            rc = mpr_bool(&r, &f->retry_err);
        } else if (key_is(k, kl, "detached")) {
            rc = mpr_bool(&r, &f->detached);
        } else if (key_is(k, kl, "reqid")) {
            rc = mpr_uint(&r, &f->reqid);
        } else if (key_is(k, kl, "pg")) {
            rc = mpr_bin(&r, &p, &pl);
            if (rc == 0 && pl != IDS_SIZE)
                rc = -1;
            if (rc == 0 && !ids_is_zero(p))
                f->pg = p;
        } else if (key_is(k, kl, "bundle")) {
            rc = mpr_int(&r, &f->bundle);
        } else if (key_is(k, kl, "renv")) {
            rc = mpr_str(&r, &f->renv, &f->renvlen);
        } else {
            rc = mpr_skip(&r);
        }
        if (rc < 0) {
            snprintf(err, errlen, "task spec field '%.*s' has the wrong type", (int)kl, k);
            return -1;
        }
    }
    if (f->id == NULL || f->fn == NULL || f->fnlen == 0) {
        snprintf(err, errlen, "task spec without id or fn");
        return -1;
    }
    if (f->nret < 0 || f->nret > TASKS_MAX_RETURNS) {
        snprintf(err, errlen, "num_returns %lld out of range 0..%d", (long long)f->nret,
                 TASKS_MAX_RETURNS);
        return -1;
    }
    /* the client checks the same bounds (api/tasks.c api_opts_resolve_) */
    const struct { const char *what; double x, max; } amounts[] = {
        { "num_cpus", f->cpu, 1e6 },
        { "num_gpus", f->gpu, 1e6 },
        { "memory", f->mem, (double)(RES_AMOUNT_MAX / RES_SCALE) },
    };
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
        if (!(amounts[i].x >= 0 && amounts[i].x < amounts[i].max)) {
            snprintf(err, errlen, "%s must be a finite number >= 0 and below %g (got %g)",
                     amounts[i].what, amounts[i].max, amounts[i].x);
            return -1;
        }
    if (f->max_conc < 1)
        f->max_conc = 1;
    return 0;
}

int spec_demand(const struct spec_fields *f, struct res_set *demand, char *err, size_t errlen)
{
    res_clear(demand);
    if (f->res && f->reslen) {
        char *res = xstrndup(f->res, f->reslen);
        char why[200];
        int rc = res_parse(demand, res, why, sizeof why);
        if (rc < 0)
            snprintf(err, errlen, "resources \"%s\": %s", res, why);
        free(res);
        if (rc < 0)
            return -1;
    }
    if (f->cpu > 0)
        res_set_amount(demand, RES_CPU, (int64_t)(f->cpu * RES_SCALE + 0.5));
    if (f->gpu > 0)
        res_set_amount(demand, RES_GPU, (int64_t)(f->gpu * RES_SCALE + 0.5));
    if (f->mem > 0)
        res_set_amount(demand, RES_MEMORY, (int64_t)(f->mem * RES_SCALE + 0.5));
    if (pg_spec_demand(f, demand, err, errlen) < 0) {
        res_free(demand);
        return -1;
    }
    return 0;
}

/* REF arguments: ext type 1 of 20 bytes. */
static int collect_deps(struct task *t, const struct spec_fields *f)
{
    struct mpr r;
    mpr_init(&r, f->args, f->argslen);
    uint32_t n;
    if (f->args == NULL || mpr_array(&r, &n) < 0)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        struct mpr_item it;
        if (mpr_next(&r, &it) < 0)
            return -1;
        if (it.kind == MPR_EXT && it.as.s.len == IDS_SIZE && ((const uint8_t *)it.as.s.ptr)[-1] == 1) {
            t->deps = xreallocarray(t->deps, (size_t)t->ndeps + 1, sizeof *t->deps);
            memcpy(t->deps[t->ndeps++], it.as.s.ptr, IDS_SIZE);
        } else if (it.kind == MPR_ARRAY || it.kind == MPR_MAP) {
            uint32_t items = it.kind == MPR_MAP ? it.as.n * 2 : it.as.n;
            for (uint32_t k = 0; k < items; k++)
                if (mpr_skip(&r) < 0)
                    return -1;
        }
    }
    return 0;
}

/* Copy the spec map SPEC with a "kind" entry added (the worker needs it to
 * tell constructors and methods from functions). Returns 0 or -1. */
static int spec_add_kind(struct buf *out, const void *spec, size_t len, const char *kind)
{
    if (mpw_map_extend(out, spec, len, 1) < 0)
        return -1;
    mpw_cstr(out, "kind");
    mpw_cstr(out, kind);
    return 0;
}

/*
 * Per-task memory. A destroyed task's struct goes on a free list (up to
 * TASKS_FREE_MAX of them, enough for a burst of 10,000 tasks) with its spec
 * buffer's memory (up to TASKS_SPEC_KEEP bytes for the first
 * TASKS_FREE_WARM, TASKS_SPEC_KEEP_PAST_WARM past them, so the list holds
 * at most ~25 MiB) and its demand's array, for the next task;
 * function and task names are interned (up to NAMES_MAX distinct ones, each
 * kept until tasks_free; past that a task owns a copy). A task submitted and
 * finished thus allocates nothing here once warm. Under AddressSanitizer the
 * free list is off, so a use after free of a task is still caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TASKS_FREE_MAX 0
#else
#define TASKS_FREE_MAX 16384
#endif
#define TASKS_FREE_WARM 4096          /* the first ones keep specs up to: */
#define TASKS_SPEC_KEEP 4096          /* a bigger spec buffer is not kept */
#define TASKS_SPEC_KEEP_PAST_WARM 512 /* past TASKS_FREE_WARM, the limit */
#define TASKS_DEMAND_KEEP 8           /* a bigger demand array is not kept */
#define NAMES_SLOTS 2048
#define NAMES_MAX (NAMES_SLOTS / 2)

/* A zeroed task: from the free list, or new. */
static struct task *task_alloc(struct runtime *rt)
{
    struct tasks_state *ts = TS(rt);
    struct task *t = ts->free_tasks;
    if (t == NULL)
        return xcalloc(1, sizeof *t);
    ts->free_tasks = t->next;
    ts->nfree--;
    struct buf spec = t->spec; /* buf_reset: empty, memory kept */
    struct res_set demand = t->demand; /* res_clear: empty, array kept */
    memset(t, 0, sizeof *t);
    t->spec = spec;
    t->demand = demand;
    return t;
}

/* T's struct, its other memory freed: onto the free list, or freed. */
static void task_release(struct runtime *rt, struct task *t)
{
    struct tasks_state *ts = TS(rt);
    size_t spec_keep = ts->nfree < TASKS_FREE_WARM ? TASKS_SPEC_KEEP : TASKS_SPEC_KEEP_PAST_WARM;
    if (ts->nfree >= TASKS_FREE_MAX || t->spec.cap > spec_keep ||
        t->demand.cap > TASKS_DEMAND_KEEP) {
        buf_free(&t->spec);
        res_free(&t->demand);
        free(t);
        return;
    }
    buf_reset(&t->spec);
    t->next = ts->free_tasks;
    ts->free_tasks = t;
    ts->nfree++;
}

/* The interned copy of the LEN bytes at P (NUL-terminated), or NULL when
 * NAMES_MAX names are interned already (the caller copies it then). */
static char *name_intern(struct runtime *rt, const char *p, size_t len)
{
    struct tasks_state *ts = TS(rt);
    if (ts->names == NULL)
        ts->names = xcalloc(NAMES_SLOTS, sizeof *ts->names);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    for (uint32_t k = 0;; k++) {
        char **slot = &ts->names[(h + k) % NAMES_SLOTS];
        if (*slot == NULL) {
            if (ts->nnames >= NAMES_MAX)
                return NULL;
            ts->nnames++;
            return *slot = xstrndup(p, len);
        }
        if (strncmp(*slot, p, len) == 0 && (*slot)[len] == '\0')
            return *slot;
    }
}

/* Set *DST to the name at P (LEN bytes): interned, or a copy (*OWNED). */
static void name_set(struct runtime *rt, char **dst, bool *owned, const char *p, size_t len)
{
    *dst = name_intern(rt, p, len);
    *owned = *dst == NULL;
    if (*owned)
        *dst = xstrndup(p, len);
}

void task_set_name(struct runtime *rt, struct task *t, const char *name)
{
    if (t->name_owned)
        free(t->name);
    name_set(rt, &t->name, &t->name_owned, name, strlen(name));
}

struct task *tasks_new(struct runtime *rt, enum task_kind kind, struct job *j, const void *spec,
                       size_t len, char *err, size_t errlen)
{
    struct spec_fields f;
    if (spec_parse(spec, len, &f, err, errlen) < 0)
        return NULL;
    struct task *t = task_alloc(rt);
    memcpy(t->id, f.id, IDS_SIZE);
    t->kind = kind;
    t->job = j;
    t->st.demand = &t->demand;
    t->st.job = j ? job_num(j) : 0;
    t->st.actor = kind == TASK_ACTOR_NEW;
    name_set(rt, &t->fn, &t->fn_owned, f.fn, f.fnlen);
    if (f.name && f.namelen && kind == TASK_NORMAL)
        name_set(rt, &t->name, &t->name_owned, f.name, f.namelen);
    else
        name_set(rt, &t->name, &t->name_owned, f.fn, f.fnlen);
    if (kind == TASK_NORMAL) {
        buf_append(&t->spec, spec, len);
    } else if (spec_add_kind(&t->spec, spec, len,
                             kind == TASK_ACTOR_NEW ? "actor_new" : "actor_call") < 0) {
        snprintf(err, errlen, "task spec is not a map");
        tasks_destroy(rt, t);
        return NULL;
    }
    t->nret = kind == TASK_ACTOR_NEW ? 0 : (int)f.nret;
    t->retries_left = kind == TASK_NORMAL ? (int)f.retries : 0;
    t->retry_err = f.retry_err;
    t->renv = f.renvlen ? xstrndup(f.renv, f.renvlen) : NULL;
    t->in_pg = f.pg != NULL;
    t->submit_ms = net_now_ms();
    t->rec_written = true; /* unless taskrec_submitted says otherwise */
    idmap_put(&TS(rt)->tasks_by_id, t->id, t);
    if (kind != TASK_ACTOR_CALL && spec_demand(&f, &t->demand, err, errlen) < 0) {
        tasks_destroy(rt, t);
        return NULL;
    }
    if (collect_deps(t, &f) < 0) {
        snprintf(err, errlen, "bad task arguments");
        tasks_destroy(rt, t);
        return NULL;
    }
    return t;
}

void tasks_destroy(struct runtime *rt, struct task *t)
{
    if (t == NULL)
        return;
    if (t->state == TASK_WAITING_DEPS && t->deps_missing > 0)
        objects_forget_waiter(rt, t);
    if (idmap_get(&TS(rt)->tasks_by_id, t->id) == t)
        idmap_del(&TS(rt)->tasks_by_id, t->id);
    taskrec_forget(rt, t);
    if (t->name_owned)
        free(t->name);
    if (t->fn_owned)
        free(t->fn);
    free(t->renv);
    res_clear(&t->demand);
    free(t->deps);
    free(t->pins);
    task_release(rt, t);
}

bool tasks_expected_here(struct runtime *rt, const uint8_t *id)
{
    uint32_t index = ids_index(id);
    if (index == 0 || (index & IDS_PUT_INDEX))
        return false;
    uint8_t tid[IDS_SIZE];
    ids_with_index(tid, id, 0);
    struct task *t = idmap_get(&TS(rt)->tasks_by_id, tid);
    return t != NULL && (int)index <= t->nret;
}

/* ---- the queue (sched/local.c) ---------------------------------------------------- */

#define task_of(st_) ((struct task *)(void *)((char *)(st_) - offsetof(struct task, st)))

/* Queue T in its shape's queue (sched/local.c): at the end, or first in
 * line if a task submitted it (depth-first: see "Nesting" below). */
static void queue_push(struct runtime *rt, struct task *t)
{
    t->state = TASK_QUEUED;
    t->st.front = t->by_task;
    sched_local_push(TS(rt)->sched, &t->st);
}

/* Put T at the head of its shape's queue again: it was sent ahead and came
 * back unstarted. */
static void queue_push_front(struct runtime *rt, struct task *t)
{
    t->state = TASK_QUEUED;
    sched_local_push_front(TS(rt)->sched, &t->st);
}

static void queue_remove(struct runtime *rt, struct task *t)
{
    sched_local_remove(TS(rt)->sched, &t->st);
}

/* Count distinct missing deps and register for them. */
static void deps_register(struct runtime *rt, struct task *t)
{
    t->deps_missing = 0;
    for (int i = 0; i < t->ndeps; i++) {
        bool dup = false;
        for (int k = 0; k < i && !dup; k++)
            dup = memcmp(t->deps[k], t->deps[i], IDS_SIZE) == 0;
        if (dup || objects_have(rt, t->deps[i]))
            continue;
        t->deps_missing++;
        objects_wait_for(rt, t->deps[i], WAIT_TASK_DEP, t);
    }
}

/* Tasks waiting for their arguments are kept on their own list (through the
 * same links as the queue) so a job's end can find them. */
static void waiting_push(struct runtime *rt, struct task *t)
{
    t->state = TASK_WAITING_DEPS;
    t->prev = NULL;
    t->next = TS(rt)->waiting_head;
    if (TS(rt)->waiting_head)
        TS(rt)->waiting_head->prev = t;
    TS(rt)->waiting_head = t;
    TS(rt)->waiting++;
}

static void waiting_remove(struct runtime *rt, struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        TS(rt)->waiting_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    TS(rt)->waiting--;
}

void tasks_enqueue(struct runtime *rt, struct task *t)
{
    t->state = TASK_WAITING_DEPS;
    if (t->kind == TASK_NORMAL && !t->placed && t->ndeps > 0 && cluster_alive_others(rt) > 0 &&
        !res_fits(&rt->n->total, &t->demand)) {
        /* it can never run here: it spills at once, and the node it is
         * placed on fetches its arguments (none is copied here for nothing,
         * and a lost one is rebuilt from its lineage, not from a copy here) */
        t->deps_missing = 0;
        queue_push(rt, t);
        tasks_schedule(rt);
        return;
    }
    deps_register(rt, t);
    if (t->kind == TASK_ACTOR_CALL) {
        actors_pump(rt, t->actor);
        return;
    }
    if (t->deps_missing == 0) {
        queue_push(rt, t);
        tasks_schedule(rt);
    } else {
        t->deps_since_us = now_us();
        waiting_push(rt, t);
    }
}

void tasks_dep_ready(struct runtime *rt, struct task *t)
{
    if (t->deps_missing > 0 && --t->deps_missing > 0)
        return;
    if (t->deps_since_us) {
        long long now = now_us();
        observe_node_span(rt, t->kind == TASK_ACTOR_CALL ? 'f' : 'F', t->id, t->deps_since_us,
                          now - t->deps_since_us, t->attempts, t->name);
        t->deps_since_us = 0;
    }
    if (t->kind == TASK_ACTOR_CALL) {
        actors_pump(rt, t->actor);
        return;
    }
    if (t->state == TASK_WAITING_DEPS) {
        waiting_remove(rt, t);
        queue_push(rt, t);
        tasks_schedule(rt);
    }
}

void tasks_fail_where(struct runtime *rt, bool (*match)(const struct task *t, void *arg), void *arg,
                      int code, const char *msg)
{
    struct task *list = NULL;
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s))
        for (struct sched_task *st = sched_shape_head(s), *next; st; st = next) {
            next = sched_task_next(st);
            struct task *t = task_of(st);
            if (match(t, arg)) {
                queue_remove(rt, t);
                t->next = list;
                list = t;
            }
        }
    for (struct task *t = TS(rt)->waiting_head, *next; t; t = next) {
        next = t->next;
        if (match(t, arg)) {
            waiting_remove(rt, t);
            t->next = list;
            list = t;
        }
    }
    while (list) {
        struct task *t = list;
        list = t->next;
        if (t->kind == TASK_ACTOR_NEW) {
            if (t->actor)
                actor_set_create(t->actor, NULL);
        } else {
            tasks_fail(rt, t, code, msg);
            spill_push_returns(rt, t);
        }
        tasks_destroy(rt, t);
    }
}

/* T is a detached actor's creation (or restart): it outlives its job. */
static bool outlives_job(const struct task *t)
{
    return t->kind == TASK_ACTOR_NEW && t->actor && actor_detached(t->actor);
}

void tasks_job_ended(struct runtime *rt, struct job *j)
{
    /* A detached actor's creation stays: its job's end must not drop it
     * (`ray serve deploy` ends while the replicas it asked for are still
     * queued, or placed on a node still fetching the job's library; they
     * stayed PENDING for good and the application never answered) */
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s))
        for (struct sched_task *st = sched_shape_head(s), *next; st; st = next) {
            next = sched_task_next(st);
            struct task *t = task_of(st);
            if (t->job == j && !outlives_job(t)) {
                queue_remove(rt, t);
                if (t->kind == TASK_ACTOR_NEW && t->actor)
                    actor_set_create(t->actor, NULL);
                tasks_destroy(rt, t);
            }
        }
    for (struct task *t = TS(rt)->waiting_head, *next; t; t = next) {
        next = t->next;
        if (t->job == j && !outlives_job(t)) {
            waiting_remove(rt, t);
            if (t->kind == TASK_ACTOR_NEW && t->actor)
                actor_set_create(t->actor, NULL);
            tasks_destroy(rt, t);
        }
    }
}

/* ---- holding (sched/local.c: resources, GPU slots, CPU given back) ------------ */

void tasks_release(struct runtime *rt, struct task *t)
{
    sched_local_release(TS(rt)->sched, &t->st);
    t->nwaits = 0;
    struct client *cl = t->worker ? worker_client(t->worker) : NULL;
    for (int i = 0; i < t->npins; i++)
        if (cl)
            objstore_release(rt->n->store, t->pins[i], client_store_id(cl));
    t->npins = 0;
}

void tasks_worker_blocked(struct runtime *rt, struct worker *w, const uint8_t *task,
                          bool blocked)
{
    if (blocked && worker_client(w))
        for (struct task *a = worker_ahead_head(w); a; a = a->next)
            if (!a->recalled) {
                a->recalled = true;
                conn_send(client_conn(worker_client(w)), PROTO_TASK_RECALL, a->id);
            }
    struct task *t = NULL;
    if (!ids_is_zero(task)) {
        t = idmap_get(&TS(rt)->tasks_by_id, task);
        if (t && (t->worker != w || t->kind != TASK_NORMAL))
            t = NULL; /* it ended, or moved, meanwhile */
    } else if (worker_nnest(w) == 0) {
        t = worker_task(w); /* a request from outside its task: its only task */
    }
    if (t == NULL && worker_task(w) && worker_task(w)->lease)
        t = worker_task(w); /* a task sent to it directly (lease.c): its lease gives the CPU back */
    if (t == NULL)
        return;
    if (blocked ? t->nwaits++ > 0 : (t->nwaits == 0 || --t->nwaits > 0))
        return;
    sched_local_set_blocked(TS(rt)->sched, &t->st, blocked);
    if (blocked)
        tasks_schedule(rt); /* its CPU, and its worker, may take a task now */
}

/* Fail T because the object DEP it needs holds an error. */
static void fail_from_dep(struct runtime *rt, struct task *t, const uint8_t *dep,
                          const struct objstore_info *info)
{
    const uint8_t *p = (const uint8_t *)objstore_base(rt->n->store) + info->offset;
    struct mpr r;
    mpr_init(&r, p, info->size);
    uint32_t n;
    int64_t code = RAY_ETASK;
    const char *msg = "an argument failed";
    size_t ml = strlen(msg);
    if (mpr_array(&r, &n) == 0 && n == 2 && mpr_int(&r, &code) == 0)
        mpr_str(&r, &msg, &ml);
    (void)dep;
    char *m = code == RAY_ENOTFOUND /* freed, or of an ended job: say which task needed it */
                  ? xasprintf("task %s cannot run: its argument %.*s", t->name, (int)ml, msg)
                  : xstrndup(msg, ml);
    tasks_fail(rt, t, (int)code, m);
    free(m);
}

int tasks_send_execute(struct runtime *rt, struct task *t, struct worker *w)
{
    struct client *cl = worker_client(w);
    struct objstore *store = rt->n->store;
    struct buf *resolved = &TS(rt)->exec; /* reused: nothing here runs this again before the send */
    struct spec_fields f;
    char err[200];
    if (cl == NULL || spec_parse(t->spec.data, t->spec.len, &f, err, sizeof err) < 0)
        return -1;
    buf_reset(resolved);
    t->worker = w;
    t->npins = 0;
    struct mpr r;
    mpr_init(&r, f.args, f.argslen);
    uint32_t n = 0;
    if (f.args)
        mpr_array(&r, &n);
    mpw_array(resolved, n);
    for (uint32_t i = 0; i < n; i++) {
        struct mpr_item it;
        if (mpr_next(&r, &it) < 0)
            goto fail;
        if (it.kind == MPR_ARRAY || it.kind == MPR_MAP) {
            uint32_t items = it.kind == MPR_MAP ? it.as.n * 2 : it.as.n;
            for (uint32_t k = 0; k < items; k++)
                mpr_skip(&r);
        }
        if (!(it.kind == MPR_EXT && it.as.s.len == IDS_SIZE &&
              ((const uint8_t *)it.as.s.ptr)[-1] == 1)) {
            mpw_nil(resolved);
            continue;
        }
        const uint8_t *dep = (const uint8_t *)it.as.s.ptr;
        struct objstore_info info;
        int rc = objstore_get(store, dep, client_store_id(cl), &info);
        if (rc != OBJSTORE_FOUND) {
            /* spilled and being restored, or gone: wait for it again */
            tasks_release(rt, t);
            t->worker = NULL;
            if (rc == OBJSTORE_SPILLED_RESTORING || rc == OBJSTORE_NOT_SEALED ||
                rc == OBJSTORE_NOT_FOUND) {
                t->deps_missing = 1;
                objects_wait_for(rt, dep, WAIT_TASK_DEP, t);
                if (t->kind != TASK_ACTOR_CALL)
                    waiting_push(rt, t);
                else
                    t->state = TASK_WAITING_DEPS;
            } else {
                tasks_fail(rt, t, RAY_ELOST, "an argument object could not be read back");
            }
            return -1;
        }
        t->pins = xreallocarray(t->pins, (size_t)t->npins + 1, sizeof *t->pins);
        memcpy(t->pins[t->npins++], dep, IDS_SIZE);
        if (info.vtype == VT_ERROR) {
            fail_from_dep(rt, t, dep, &info);
            tasks_release(rt, t);
            t->worker = NULL;
            return -2;
        }
        mpw_array(resolved, 3);
        mpw_uint(resolved, info.vtype);
        mpw_uint(resolved, info.offset);
        mpw_uint(resolved, info.size);
    }
    t->state = TASK_RUNNING;
    t->attempts++;
    worker_set_last_name(w, t->kind == TASK_ACTOR_CALL && t->actor ? actor_cls(t->actor) : t->name);
    conn_send(client_conn(cl), t->nested ? PROTO_TASK_NEST : PROTO_TASK_EXECUTE, t->spec.data,
              t->spec.len, resolved->data, resolved->len);
    taskrec_running(rt, t);
    return 0;
fail:
    tasks_release(rt, t);
    t->worker = NULL;
    tasks_fail(rt, t, RAY_ETASK, "malformed task arguments");
    return -2;
}

/* Tell T's driver once per shape that no node can run T. */
static void warn_infeasible(struct runtime *rt, struct task *t)
{
    if (t->infeasible)
        return;
    t->infeasible = true;
    struct buf b = BUF_INIT;
    res_format(&t->demand, &b);
    buf_append(&b, "", 1);
    log_warnx("task %s needs {%s}: no node can ever run it; it stays pending", t->name, b.data);
    if (t->st.shape && sched_shape_warn_once(t->st.shape, job_num(t->job))) {
        char line[600];
        int len = snprintf(line, sizeof line,
                           "Warning: the demand {%s} of task %s cannot be met by any node in the "
                           "cluster; it stays pending until a node that fits joins "
                           "(see `ray status`)",
                           b.data, t->name);
        rt_job_log(rt, t->job, 2, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
    }
    buf_free(&b);
}

/* Shape S waits at the worker cap (sched_shape_at_cap): its actors' records
 * say why, and its driver is told once. */
static void cap_report(struct runtime *rt, struct sched_shape *s)
{
    if (!sched_shape_at_cap(s))
        return;
    struct task *t = task_of(sched_shape_head(s));
    char why[160];
    snprintf(why, sizeof why, "no worker: node %.8s runs its cap of %d worker processes",
             rt->n->hex, workers_cap(rt));
    for (struct sched_task *st = sched_shape_head(s); st; st = sched_task_next(st)) {
        struct task *a = task_of(st);
        if (a->kind == TASK_ACTOR_NEW && a->actor)
            actors_note_waiting(rt, a->actor, why);
    }
    if (job_warned_cap(t->job))
        return;
    job_set_warned_cap(t->job);
    log_warnx("job %s: the worker cap (%d processes) is reached; its tasks wait", job_hex(t->job),
              workers_cap(rt));
    char line[400];
    int len = snprintf(line, sizeof line,
                       "Warning: node %.8s runs its cap of %d worker processes; %s %s and "
                       "others wait for one to free (raise --max-workers; see `ray status`)",
                       rt->n->hex, workers_cap(rt), t->kind == TASK_ACTOR_NEW ? "actor" : "task",
                       t->name);
    rt_job_log(rt, t->job, 2, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
}

void tasks_destroy_elsewhere(struct runtime *rt, struct task *t)
{
    int nret = t->nret;
    uint8_t id[IDS_SIZE];
    memcpy(id, t->id, IDS_SIZE);
    tasks_destroy(rt, t);
    /* whoever waits here for its results must fetch them */
    for (int i = 1; i <= nret; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, id, (uint32_t)i);
        if (objects_waited_for(rt, rid))
            objmgr_want_here(rt, rid);
    }
}

/* Send T to the global scheduler; true if it left (and was dropped here). */
static bool spill_out(struct runtime *rt, struct task *t)
{
    if (!spill_should(rt, t))
        return false;
    /* out of the index first: the global scheduler may place it right back
     * here, as a new record under the same ID */
    idmap_del(&TS(rt)->tasks_by_id, t->id);
    taskrec_flush_one(rt, t); /* its record must be there before the head sees it */
    int rc = spill_send(rt, t);
    if (rc != 0) {
        idmap_put(&TS(rt)->tasks_by_id, t->id, t);
        if (rc == 1)
            t->placed = true; /* it waits here; it does not ask again */
        return false;
    }
    queue_remove(rt, t);
    if (t->kind == TASK_ACTOR_NEW && t->actor)
        actors_spilled(rt, t->actor);
    tasks_destroy_elsewhere(rt, t);
    return true;
}

/* Start T (held, out of the queue) on an idle worker W. */
static void dispatch(struct runtime *rt, struct task *t, struct worker *w)
{
    t->start_us = now_us();
    worker_set_state(w, WORKER_BUSY);
    worker_set_task(w, t);
    if (tasks_send_execute(rt, t, w) < 0) {
        worker_set_task(w, NULL);
        workers_set_idle(rt, w);
        if (t->state != TASK_WAITING_DEPS)
            tasks_destroy(rt, t); /* it was failed */
    }
}

/*
 * Pipelining. A worker runs one task at a time and would otherwise wait a
 * round trip through the node between tasks. So tasks of the same job and
 * shape may be sent ahead to a busy worker: the worker queues them and
 * starts the next the moment the current one ends; the node then moves the
 * finished task's resources to it. A task sent ahead holds nothing while it
 * waits. How many go ahead to one worker depends on how long tasks of the
 * shape have been running (sched_shape_depth): many short ones, so the worker
 * never waits for the node; one for long ones, so a long task cannot keep
 * others from an idle worker. If the running task blocks in
 * ray_get/ray_wait, the tasks sent ahead could wait behind it forever (a
 * nested task waiting for its own child), so the node recalls them
 * (TASK_RECALL): the worker hands back those not started (TASK_DONE with
 * status TASKS_RECALLED) and they are queued again.
 */
#define TASKS_RECALLED 1

/* The busy worker with the fewest tasks sent ahead (under DEPTH) that can
 * take T. */
static struct worker *pipeline_target(struct runtime *rt, const struct task *t, int depth)
{
    struct worker *best = NULL;
    for (struct worker *w = workers_first(rt); w; w = worker_next(w))
        if (worker_state(w) == WORKER_BUSY && worker_job(w) == t->job && worker_actor(w) == NULL &&
            worker_nahead(w) < depth && worker_task(w) != NULL && !worker_task(w)->lease &&
            worker_task(w)->st.shape == t->st.shape && worker_nnest(w) == 0 &&
            !worker_task(w)->st.blocked && worker_client(w) != NULL &&
            client_nblocked(worker_client(w)) == 0 && worker_gpus(w)[0] == '\0' &&
            workers_renv_is(w, t->renv) && (best == NULL || worker_nahead(w) < worker_nahead(best)))
            best = w;
    return best;
}

static void ahead_push(struct worker *w, struct task *t)
{
    t->next = NULL;
    t->prev = worker_ahead_tail(w);
    if (worker_ahead_tail(w))
        worker_ahead_tail(w)->next = t;
    else
        worker_set_ahead_head(w, t);
    worker_set_ahead_tail(w, t);
    worker_nahead_add(w, 1);
}

void tasks_ahead_remove(struct worker *w, struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        worker_set_ahead_head(w, t->next);
    if (t->next)
        t->next->prev = t->prev;
    else
        worker_set_ahead_tail(w, t->prev);
    t->next = t->prev = NULL;
    worker_nahead_add(w, -1);
}

/* Send T (out of the queue, holding nothing) ahead to busy W. */
static void pipeline_send(struct runtime *rt, struct task *t, struct worker *w)
{
    t->recalled = false;
    ahead_push(w, t);
    TS(rt)->pipelined++;
    if (tasks_send_execute(rt, t, w) < 0) {
        tasks_ahead_remove(w, t);
        TS(rt)->pipelined--;
        if (t->state != TASK_WAITING_DEPS)
            tasks_destroy(rt, t); /* it was failed */
    }
}

/* Queue T again at the head of its shape: it never started on its worker. */
static void requeue(struct runtime *rt, struct task *t)
{
    tasks_release(rt, t);
    t->worker = NULL;
    if (job_ending(t->job)) {
        tasks_destroy(rt, t);
        return;
    }
    if (t->attempts > 0)
        t->attempts--;
    queue_push_front(rt, t);
    tasks_schedule(rt);
}

void tasks_requeue_unstarted(struct runtime *rt, struct task *t)
{
    TS(rt)->pipelined--;
    requeue(rt, t);
}

/* W's task ended: the first task sent ahead is running now. */
static void pipeline_promote(struct runtime *rt, struct worker *w)
{
    struct task *t = worker_ahead_head(w);
    tasks_ahead_remove(w, t);
    TS(rt)->pipelined--;
    t->start_us = now_us();
    worker_set_task(w, t);
    taskrec_running(rt, t);
    /* if it does not fit, it runs on borrowed resources (the ended task had
     * lent its CPU) */
    (void)sched_local_hold_if_fits(TS(rt)->sched, &t->st);
}

/*
 * Nesting. A task that waits in ray_get/ray_wait gives its CPU back, but
 * its worker process stays taken; a tree of nested tasks deeper than the
 * worker cap would then stall with every process waiting. So a worker of
 * the job whose tasks all wait takes one more task (TASK_NEST) and runs it
 * on a thread of its own; the worker lets one of its threads run user code
 * at a time (docs/runtime.md "Nested tasks"), so its tasks still run one by
 * one. Tasks that tasks submit are queued first in line (depth-first,
 * sched/local.c), so the children a waiting task needs run before its
 * siblings' subtrees and the waiting tasks stay about as few as the tree
 * is deep.
 */
static bool worker_all_waiting(const struct worker *w)
{
    if (worker_task(w) == NULL || !worker_task(w)->st.blocked)
        return false;
    for (const struct task *t = worker_nest_head(w); t; t = t->next)
        if (!t->st.blocked)
            return false;
    return true;
}

/* A worker of T's job whose every task waits, to run T nested; the one that
 * submitted T if it qualifies. NULL if none. */
static struct worker *nest_target(struct runtime *rt, const struct task *t)
{
    if (t->kind != TASK_NORMAL || pg_policy_gpu_units(&t->demand) > 0)
        return NULL;
    struct worker *best = NULL;
    for (struct worker *w = workers_first(rt); w; w = worker_next(w))
        if (worker_state(w) == WORKER_BUSY && worker_job(w) == t->job && worker_actor(w) == NULL &&
            worker_client(w) != NULL && worker_nahead(w) == 0 && worker_gpus(w)[0] == '\0' &&
            worker_all_waiting(w) && workers_renv_is(w, t->renv)) {
            best = w;
            if (client_store_id(worker_client(w)) == t->owner)
                break;
        }
    return best;
}

void tasks_nest_remove(struct worker *w, struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        worker_set_nest_head(w, t->next);
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->nested = false;
    worker_nnest_add(w, -1);
}

/* Start T (held, out of the queue) on W, nested beside W's waiting tasks. */
static void nest(struct runtime *rt, struct task *t, struct worker *w)
{
    t->start_us = now_us();
    t->nested = true;
    if (tasks_send_execute(rt, t, w) < 0) {
        t->nested = false;
        if (t->state != TASK_WAITING_DEPS)
            tasks_destroy(rt, t); /* it was failed */
        return;
    }
    t->prev = NULL;
    t->next = worker_nest_head(w);
    if (worker_nest_head(w))
        worker_nest_head(w)->prev = t;
    worker_set_nest_head(w, t);
    worker_nnest_add(w, 1);
}

/* W's running task ended (or came back): what W runs now, if anything. */
static void worker_run_next(struct runtime *rt, struct worker *w);

void tasks_worker_run_next(struct runtime *rt, struct worker *w)
{
    worker_run_next(rt, w);
}

static void worker_run_next(struct runtime *rt, struct worker *w)
{
    if (worker_nest_head(w)) {
        struct task *t = worker_nest_head(w);
        tasks_nest_remove(w, t);
        worker_set_task(w, t); /* W stays busy with the nested tasks left */
    } else if (worker_ahead_head(w)) {
        pipeline_promote(rt, w);
    } else {
        workers_set_idle(rt, w);
    }
}

/* ---- the local scheduler's operations (sched/local.h) ----------------------------- */

static void *op_idle_worker(void *ctx, struct sched_task *st, const char *gpus)
{
    struct task *t = task_of(st);
    return workers_idle_env(ctx, t->job, gpus, t->renv);
}

static void *op_nest_worker(void *ctx, struct sched_task *st)
{
    return nest_target(ctx, task_of(st));
}

static void *op_ahead_worker(void *ctx, struct sched_task *st, int depth)
{
    return pipeline_target(ctx, task_of(st), depth);
}

static int op_starting(void *ctx, struct sched_task *st)
{
    return workers_starting(ctx, task_of(st)->job);
}

static enum sched_spawn op_spawn(void *ctx, struct sched_task *st, const char *gpus)
{
    struct runtime *rt = ctx;
    struct task *t = task_of(st);
    if (t->kind == TASK_ACTOR_NEW) {
        struct worker *w = workers_spawn_env(rt, t->job, t->actor, gpus, t->renv);
        if (w == NULL)
            return workers_at_cap(rt) ? SCHED_AT_CAP : SCHED_NO_WORKER;
        t->state = TASK_RUNNING;
        actor_set_worker(t->actor, w);
        return SCHED_SPAWNED;
    }
    if (workers_at_cap(rt))
        return SCHED_AT_CAP;
    return workers_spawn_env(rt, t->job, NULL, gpus, t->renv) ? SCHED_SPAWNED : SCHED_NO_WORKER;
}

static bool op_reclaim(void *ctx)
{
    return workers_reclaim_idle(ctx);
}

static void op_start(void *ctx, struct sched_task *st, void *w, enum sched_start how)
{
    struct task *t = task_of(st);
    if (how == SCHED_RUN)
        dispatch(ctx, t, w);
    else if (how == SCHED_NEST)
        nest(ctx, t, w);
    else
        pipeline_send(ctx, t, w);
}

static bool op_spill(void *ctx, struct sched_task *st)
{
    return spill_out(ctx, task_of(st));
}

static void op_infeasible(void *ctx, struct sched_task *st)
{
    warn_infeasible(ctx, task_of(st));
}

static int op_others(void *ctx)
{
    return cluster_alive_others(ctx);
}

static const struct sched_ops tasks_sched_ops = {
    .idle_worker = op_idle_worker,
    .nest_worker = op_nest_worker,
    .ahead_worker = op_ahead_worker,
    .starting = op_starting,
    .spawn = op_spawn,
    .reclaim = op_reclaim,
    .start = op_start,
    .spill = op_spill,
    .infeasible = op_infeasible,
    .others = op_others,
};

/* One dispatch pass (sched/local.c), on a deferred event. */
static void tasks_run(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    sched_local_run(TS(rt)->sched);
}

void tasks_node_joined(struct runtime *rt)
{
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s))
        if (!res_fits(&rt->n->total, sched_shape_demand(s)))
            for (struct sched_task *st = sched_shape_head(s); st; st = sched_task_next(st))
                task_of(st)->placed = false;
}

/* How deep into each shape's queue tasks_queued_for_others looks. Each
 * shape runs its queue from the head, so a worker given back by a lease goes
 * to the head's tasks: another client's task deeper than this would not get
 * it anyway. Without the bound a queue of a million of the lease owner's own
 * tasks was walked whole on every lease tick and request (the drain
 * benchmark fell to 3,000 tasks/s in some runs). */
#define OTHERS_SCAN_MAX 1024

bool tasks_queued_for_others(const struct runtime *rt, int owner)
{
    if (rt == NULL || TS(rt)->sched == NULL)
        return false;
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s)) {
        int seen = 0;
        for (struct sched_task *st = sched_shape_head(s); st && seen < OTHERS_SCAN_MAX;
             st = sched_task_next(st), seen++)
            if (task_of(st)->owner != owner)
                return true;
    }
    return false;
}

long long tasks_queued(const struct runtime *rt)
{
    return rt && TS(rt)->sched ? sched_local_queued(TS(rt)->sched) : 0;
}

void tasks_schedule(struct runtime *rt)
{
    if (!rt->stopping)
        event_active(TS(rt)->sched_ev, EV_TIMEOUT, 0);
}

/* ---- ends ------------------------------------------------------------------------ */

void tasks_fail(struct runtime *rt, struct task *t, int code, const char *msg)
{
    char full[1200];
    if (code == RAY_ETASK && strncmp(msg, "task ", 5) != 0)
        snprintf(full, sizeof full, "task %s failed on node %.8s: %s", t->name, rt->n->hex, msg);
    else
        snprintf(full, sizeof full, "%s", msg);
    for (int i = 1; i <= t->nret; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, t->id, (uint32_t)i);
        objects_put_error(rt, rid, code, full);
    }
    char hex[IDS_HEX_SIZE];
    if (t->kind != TASK_ACTOR_NEW) {
        ids_hex(t->id, IDS_SIZE, hex);
        taskrec_final(rt, t, "FAILED");
        gcs_event_add(rt->n->gcs, "TASK_FAILED", hex, rt->n->hex, full);
    }
}

void tasks_fill_returns(struct runtime *rt, struct task *t)
{
    for (int i = 1; i <= t->nret; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, t->id, (uint32_t)i);
        /* through objects.c, so the object table learns of it like any other */
        objects_put_copy(rt, rid, RAY_NIL, "", 0);
    }
}

void tasks_describe_exit(int status, char *out, size_t outlen)
{
    if (WIFSIGNALED(status))
        snprintf(out, outlen, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out, outlen, "ended (status %d)", status);
}

void tasks_worker_died(struct runtime *rt, struct task *t, const char *why)
{
    if (t->lease) { /* its driver sees the direct socket close and submits again */
        lease_worker_died(rt, t, why);
        return;
    }
    tasks_release(rt, t);
    t->worker = NULL;
    char hex[IDS_HEX_SIZE];
    ids_hex(t->id, IDS_SIZE, hex);
    if (t->retries_left != 0 && !job_ending(t->job)) {
        if (t->retries_left > 0)
            t->retries_left--;
        log_info("task %s (%s): worker %s; retrying", t->name, hex, why);
        gcs_event_add(rt->n->gcs, "TASK_RETRY", hex, rt->n->hex, why);
        tasks_enqueue(rt, t);
        return;
    }
    char msg[600];
    if (t->pg_removed) {
        snprintf(msg, sizeof msg, "task %s was killed on node %.8s: its placement group was removed",
                 t->name, rt->n->hex);
        tasks_fail(rt, t, RAY_EPG, msg);
        spill_push_returns(rt, t);
        tasks_destroy(rt, t);
        return;
    }
    snprintf(msg, sizeof msg, "task %s failed on node %.8s: its worker died (%s)%s", t->name,
             rt->n->hex, why, t->attempts > 1 ? " on every attempt" : "");
    tasks_fail(rt, t, RAY_EWORKER, msg);
    spill_push_returns(rt, t);
    tasks_destroy(rt, t);
}

/* The "id" (bin20) and "nret" of a spec map, read loosely: the keys may come
 * in any order and other entries may be malformed. Returns 0 when an id was
 * found; *NRET is 1 unless a valid num_returns was found. */
static int spec_peek_id(const void *spec, size_t len, uint8_t id[IDS_SIZE], int *nret)
{
    struct mpr r;
    uint32_t n;
    bool have = false;
    *nret = 1;
    mpr_init(&r, spec, len);
    if (mpr_map(&r, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        struct mpr_item it;
        if (mpr_str(&r, &k, &kl) < 0 || mpr_next(&r, &it) < 0)
            break;
        if (key_is(k, kl, "id") && it.kind == MPR_BIN && it.as.s.len == IDS_SIZE) {
            memcpy(id, it.as.s.ptr, IDS_SIZE);
            have = true;
        } else if (key_is(k, kl, "nret") && it.kind == MPR_UINT && it.as.u >= 1 &&
                   it.as.u <= TASKS_MAX_RETURNS) {
            *nret = (int)it.as.u;
        } else if (it.kind == MPR_ARRAY || it.kind == MPR_MAP) {
            uint32_t items = it.kind == MPR_MAP ? it.as.n * 2 : it.as.n;
            for (uint32_t e = 0; e < items; e++)
                if (mpr_skip(&r) < 0)
                    return have ? 0 : -1;
        }
    }
    return have ? 0 : -1;
}

void tasks_reject(struct runtime *rt, struct conn *c, const char *what, const void *spec,
                  size_t len, const char *why)
{
    char esc[600], msg[700];
    uint8_t id[IDS_SIZE];
    int nret;
    log_warnx("refused %s from %s: %s", what, c->peer, log_escape(esc, sizeof esc, why, strlen(why)));
    snprintf(msg, sizeof msg, "node %.8s refused %s: %s", rt->n->hex, what, why);
    if (spec_peek_id(spec, len, id, &nret) < 0) {
        conn_send(c, PROTO_ERROR, (int64_t)RAY_EINVAL, msg); /* nothing to answer but this */
        return;
    }
    for (int i = 1; i <= nret; i++) {
        uint8_t rid[IDS_SIZE];
        ids_with_index(rid, id, (uint32_t)i);
        objects_put_error(rt, rid, RAY_EINVAL, msg);
    }
}

static int h_submit(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    char err[256];
    struct task *t = tasks_new(rt, TASK_NORMAL, client_job(cl), m->f[0].as.s.ptr, m->f[0].as.s.len,
                               err, sizeof err);
    if (t == NULL) {
        /* well framed but not a task we can run: answer it, keep the client */
        tasks_reject(rt, c, "TASK_SUBMIT", m->f[0].as.s.ptr, m->f[0].as.s.len, err);
        return 0;
    }
    t->owner = client_store_id(cl);
    t->by_task = client_worker(cl) != NULL;
    taskrec_submitted(rt, t);
    struct spec_fields f;
    char why[300];
    if (t->in_pg && spec_parse(t->spec.data, t->spec.len, &f, err, sizeof err) == 0 &&
        pg_known_bad(rt, &f, why, sizeof why)) {
        tasks_fail(rt, t, RAY_EPG, why);
        tasks_destroy(rt, t);
        return 0;
    }
    tasks_enqueue(rt, t);
    return 0;
}

/* Worker W's TASK_DONE for task ID with STATUS and MSG (the caller's). */
static void done_one(struct runtime *rt, struct worker *w, const uint8_t *id, int status,
                     const char *msg)
{
    if (workers_is_host(w)) { /* shared actors (workers.c); a late answer: ignored */
        struct task *t = workers_hosted_task(w, id);
        if (t)
            actors_task_done(rt, t, status, msg);
        return;
    }
    if (worker_actor(w)) {
        struct task *t = NULL;
        if (actor_create(worker_actor(w)) &&
            memcmp(actor_create(worker_actor(w))->id, id, IDS_SIZE) == 0)
            t = actor_create(worker_actor(w));
        for (struct task *r = actor_running(worker_actor(w)); r && !t; r = r->next)
            if (memcmp(r->id, id, IDS_SIZE) == 0)
                t = r;
        if (t)
            actors_task_done(rt, t, status, msg);
        return;
    }
    if (status == TASKS_RECALLED) {
        /* a task sent ahead comes back unstarted */
        struct task *r = worker_ahead_head(w);
        while (r && memcmp(r->id, id, IDS_SIZE) != 0)
            r = r->next;
        if (r) {
            tasks_ahead_remove(w, r);
            tasks_requeue_unstarted(rt, r);
        } else if (worker_task(w) && memcmp(worker_task(w)->id, id, IDS_SIZE) == 0) {
            r = worker_task(w); /* promoted meanwhile, never started */
            worker_set_task(w, NULL);
            requeue(rt, r);
            worker_run_next(rt, w);
        }
        return;
    }
    struct task *t = NULL;
    if (worker_task(w) && memcmp(worker_task(w)->id, id, IDS_SIZE) == 0) {
        t = worker_task(w);
        worker_set_task(w, NULL);
    } else {
        for (struct task *n = worker_nest_head(w); n && !t; n = n->next)
            if (memcmp(n->id, id, IDS_SIZE) == 0)
                t = n;
        if (t)
            tasks_nest_remove(w, t);
    }
    if (t == NULL) {
        return; /* a late answer for a task already handled */
    }
    tasks_release(rt, t);
    t->worker = NULL;
    if (status == 0)
        sched_local_ran(TS(rt)->sched, &t->st, now_us() - t->start_us);
    if (worker_task(w) == NULL)
        worker_run_next(rt, w);
    char hex[IDS_HEX_SIZE];
    ids_hex(t->id, IDS_SIZE, hex);
    if (status == 0) {
        tasks_fill_returns(rt, t);
        spill_push_returns(rt, t);
        objects_push_values(rt, t);
        taskrec_final(rt, t, "FINISHED");
        tasks_destroy(rt, t);
    } else if (t->retry_err && t->retries_left != 0 && !job_ending(t->job)) {
        if (t->retries_left > 0)
            t->retries_left--;
        for (int i = 1; i <= t->nret; i++) {
            uint8_t rid[IDS_SIZE];
            ids_with_index(rid, t->id, (uint32_t)i);
            objstore_delete(rt->n->store, rid);
        }
        gcs_event_add(rt->n->gcs, "TASK_RETRY", hex, rt->n->hex, msg);
        tasks_enqueue(rt, t);
    } else {
        tasks_fail(rt, t, status == RAY_EWORKER ? RAY_EWORKER : RAY_ETASK, msg);
        spill_push_returns(rt, t);
        tasks_destroy(rt, t);
    }
    tasks_schedule(rt);
}

static int h_done(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || client_worker(cl) == NULL)
        return -1;
    struct worker *w = client_worker(cl);
    worker_ndone_add(w, 1); /* against its progress page (workers.c) */
    observe_task_done(rt, w);
    /* the message as a C string: on the stack when short (a task that ran
     * well has none), else a copy freed here */
    char small[256];
    size_t ml = m->f[2].as.s.len;
    char *msg = ml < sizeof small ? small : xmalloc(ml + 1);
    memcpy(msg, m->f[2].as.s.ptr, ml);
    msg[ml] = '\0';
    done_one(rt, w, (const uint8_t *)m->f[0].as.s.ptr, (int)m->f[1].as.i, msg);
    if (msg != small)
        free(msg);
    return 0;
}

/* Publish this node's pending demands for `ray status` when they change. */
static void demands_publish(struct runtime *rt)
{
    struct buf text = BUF_INIT;
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s)) {
        /* with what drivers hold of the shape for their leases' room */
        long n = sched_shape_len(s) + lease_backlog_take(rt, sched_shape_demand(s));
        if (n == 0)
            continue;
        struct buf b = BUF_INIT;
        res_format(sched_shape_demand(s), &b);
        buf_append(&b, "", 1);
        if (!res_fits(&rt->n->total, sched_shape_demand(s)))
            buf_printf(&text, "%s\t%ld\tinfeasible\n", b.data, n);
        else if (sched_shape_at_cap(s))
            buf_printf(&text, "%s\t%ld\tcap:%d\n", b.data, n, workers_cap(rt));
        else
            buf_printf(&text, "%s\t%ld\tpending\n", b.data, n);
        buf_free(&b);
    }
    lease_backlog_rest(rt, &text); /* shapes only drivers hold */
    if (text.len != TS(rt)->demands_text.len ||
        (text.len && memcmp(text.data, TS(rt)->demands_text.data, text.len) != 0)) {
        const char *p = gcs_client_prefix(rt->n->gcs);
        if (text.len)
            gcs_command(rt->n->gcs, NULL, NULL, "SET %sdemands:%s %b", p, rt->n->hex, text.data,
                        text.len);
        else
            gcs_command(rt->n->gcs, NULL, NULL, "DEL %sdemands:%s", p, rt->n->hex);
        buf_reset(&TS(rt)->demands_text);
        buf_append(&TS(rt)->demands_text, text.data, text.len);
    }
    buf_free(&text);
}

static void demands_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s))
        cap_report(rt, s);
    demands_publish(rt);
}

void tasks_init(struct runtime *rt)
{
    TS(rt)->sched = sched_local_new(&tasks_sched_ops, rt, &rt->n->total, &rt->n->avail,
                                rt->n->num_gpus);
    TS(rt)->sched_ev = event_new(rt->n->base, -1, 0, tasks_run, rt);
    server_on(rt->n->srv, PROTO_TASK_SUBMIT, h_submit, rt);
    server_on(rt->n->srv, PROTO_TASK_DONE, h_done, rt);
    taskrec_init(rt);
    lease_init(rt);
    TS(rt)->demands_ev = event_new(rt->n->base, -1, EV_PERSIST, demands_tick, rt);
    struct timeval tv = { 0, 500000 };
    event_add(TS(rt)->demands_ev, &tv);
}

void tasks_free(struct runtime *rt)
{
    lease_free(rt);
    for (struct sched_shape *s = sched_local_shapes(TS(rt)->sched); s; s = sched_shape_next(s))
        while (sched_shape_head(s)) {
            struct task *t = task_of(sched_shape_head(s));
            queue_remove(rt, t);
            tasks_destroy(rt, t);
        }
    sched_local_free(TS(rt)->sched);
    TS(rt)->sched = NULL;
    while (TS(rt)->waiting_head) {
        struct task *t = TS(rt)->waiting_head;
        waiting_remove(rt, t);
        tasks_destroy(rt, t);
    }
    if (TS(rt)->sched_ev) {
        event_free(TS(rt)->sched_ev);
        TS(rt)->sched_ev = NULL;
    }
    if (TS(rt)->demands_ev) {
        event_free(TS(rt)->demands_ev);
        TS(rt)->demands_ev = NULL;
    }
    idmap_free(&TS(rt)->tasks_by_id);
    taskrec_free(rt);
    gcs_command(rt->n->gcs, NULL, NULL, "DEL %sdemands:%s", gcs_client_prefix(rt->n->gcs),
                rt->n->hex);
    buf_free(&TS(rt)->demands_text); /* (was runtime_free's, after the other modules) */
    buf_free(&TS(rt)->exec);
    while (TS(rt)->free_tasks) {
        struct task *t = TS(rt)->free_tasks;
        TS(rt)->free_tasks = t->next;
        buf_free(&t->spec);
        free(t);
    }
    TS(rt)->nfree = 0;
    for (int i = 0; TS(rt)->names && i < NAMES_SLOTS; i++)
        free(TS(rt)->names[i]);
    free(TS(rt)->names);
    TS(rt)->names = NULL;
    TS(rt)->nnames = 0;
}

struct task *tasks_find(const struct runtime *rt, const uint8_t *id)
{
    return idmap_get(&TS(rt)->tasks_by_id, id);
}

const struct idmap *tasks_map(const struct runtime *rt)
{
    return &TS(rt)->tasks_by_id;
}

struct sched_local *tasks_sched(const struct runtime *rt)
{
    return TS(rt)->sched;
}

long long tasks_waiting(const struct runtime *rt)
{
    return TS(rt)->waiting;
}

long long tasks_pipelined(const struct runtime *rt)
{
    return TS(rt)->pipelined;
}
