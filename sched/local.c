/*
 * local.c — the local scheduler (see local.h).
 *
 * DESIGN. Ready tasks wait in one FIFO per resource shape (the set of
 * resources they ask for): tasks of one shape either fit the free resources
 * or none of them does, so a pass looks at the head of each shape's queue
 * rather than at every queued task (and `ray status` counts demands per
 * shape for free). Every task also has a place in line (seq) across shapes:
 * a pass merges the shapes' queues by it, so the oldest task anywhere is
 * looked at first and a shape seen first cannot starve the others. When a
 * feasible task cannot start for want of resources, its shape is done for
 * the pass and the resources it lacks that are free now are reserved for it:
 * younger tasks of other shapes start only within what is left, and none is
 * sent ahead (a task sent ahead takes its predecessor's resources when it
 * starts). So freed resources accumulate for the big task instead of going
 * to the next small one. Only a task that the running tasks' ends would let
 * start reserves (RUNNING: what tasks hold that do not wait in a get): one
 * that waits on what an actor, a placement group or a waiting task keeps
 * would hold the free resources back for as long, or for ever. Tasks submitted by tasks go first in line
 * (depth-first): the children a waiting task needs run before anything else,
 * so a reservation never waits on a child that cannot start.
 *
 * A task waiting in ray_get/ray_wait gives its CPU back until the answer
 * comes (sched_local_set_blocked), so nested tasks cannot deadlock a small
 * node. Pipelining: tasks of a busy worker's shape may be sent ahead to it,
 * as many as about 16 ms of its work by the shape's recent run time, so a
 * worker never waits a round trip through the node between short tasks and
 * a long task cannot keep others from an idle worker.
 */
#include "sched/local.h"

#include "common/xmalloc.h"
#include "sched/pg_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sched_shape {
    struct res_set demand;
    long long avg_us;       /* recent run time of its tasks (pipelining depth) */
    long runs;
    struct sched_task *head, *tail;
    long n;
    bool at_cap;            /* the last pass found no worker for it: the cap is reached */
    long long cap_since_ms; /* since when (0: not at the cap) */
    uint32_t warned[8];     /* jobs whose drivers were told it is infeasible (a ring) */
    int nwarned;
    struct sched_shape *next;
};

struct sched_local {
    const struct sched_ops *ops;
    void *ctx;
    const struct res_set *total;
    struct res_set *avail;
    struct res_set running;    /* what tasks hold now (their ends free it) */
    int ngpus;
    bool gpu_busy[SCHED_GPUS_MAX];
    struct sched_shape *shapes, **shapes_tail;
    long long queued;
    long long seq_hi, seq_lo;  /* last seq given at the back / at the front of the line */
    struct cursor *cur;        /* one per shape, reused by each pass */
    size_t ncur;               /* cursors in use (in a pass; else 0) */
    size_t ncur_cap;
};

/* A pass's position in one shape's queue. */
struct cursor {
    struct sched_shape *s;
    struct sched_task *t;  /* next to look at; NULL: done for this pass */
    bool feasible;
    int no_worker;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sched_local *sched_local_new(const struct sched_ops *ops, void *ctx,
                                    const struct res_set *total, struct res_set *avail, int ngpus)
{
    struct sched_local *sl = xcalloc(1, sizeof *sl);
    sl->ops = ops;
    sl->ctx = ctx;
    sl->total = total;
    sl->avail = avail;
    res_init(&sl->running);
    sl->ngpus = ngpus < 0 ? 0 : ngpus > SCHED_GPUS_MAX ? SCHED_GPUS_MAX : ngpus;
    sl->shapes_tail = &sl->shapes;
    return sl;
}

void sched_local_free(struct sched_local *sl)
{
    if (sl == NULL)
        return;
    while (sl->shapes) {
        struct sched_shape *s = sl->shapes;
        sl->shapes = s->next;
        res_free(&s->demand);
        free(s);
    }
    free(sl->cur);
    res_free(&sl->running);
    free(sl);
}

/* ---- the queues -------------------------------------------------------------- */

static struct sched_shape *shape_of(struct sched_local *sl, struct sched_task *t)
{
    if (t->shape)
        return t->shape;
    struct sched_shape *s;
    for (s = sl->shapes; s; s = s->next)
        if (res_equal(&s->demand, t->demand))
            break;
    if (s == NULL) {
        s = xcalloc(1, sizeof *s);
        res_copy(&s->demand, t->demand);
        /* appended: the walking order stays the order shapes were first seen */
        *sl->shapes_tail = s;
        sl->shapes_tail = &s->next;
    }
    t->shape = s;
    return s;
}

static void link_front(struct sched_local *sl, struct sched_shape *s, struct sched_task *t)
{
    t->prev_ = NULL;
    t->next_ = s->head;
    if (s->head)
        s->head->prev_ = t;
    else
        s->tail = t;
    s->head = t;
    s->n++;
    sl->queued++;
    t->queued = true;
}

void sched_local_push(struct sched_local *sl, struct sched_task *t)
{
    struct sched_shape *s = shape_of(sl, t);
    if (t->front) {
        t->seq = --sl->seq_lo;
        link_front(sl, s, t);
        return;
    }
    t->seq = ++sl->seq_hi;
    t->next_ = NULL;
    t->prev_ = s->tail;
    if (s->tail)
        s->tail->next_ = t;
    else
        s->head = t;
    s->tail = t;
    s->n++;
    sl->queued++;
    t->queued = true;
}

void sched_local_push_front(struct sched_local *sl, struct sched_task *t)
{
    struct sched_shape *s = shape_of(sl, t);
    /* its old place, unless that would put it behind the head (line order
     * must grow along a queue for the pass's merge) */
    if (t->seq == 0)
        t->seq = ++sl->seq_hi;
    if (s->head && s->head->seq <= t->seq)
        t->seq = s->head->seq - 1;
    if (t->seq < sl->seq_lo)
        sl->seq_lo = t->seq;
    link_front(sl, s, t);
}

void sched_local_remove(struct sched_local *sl, struct sched_task *t)
{
    struct sched_shape *s = t->shape;
    if (!t->queued || s == NULL)
        return;
    /* a pass under way must not look at it again: its cursor moves on */
    for (size_t i = 0; i < sl->ncur; i++)
        if (sl->cur[i].t == t)
            sl->cur[i].t = t->next_;
    if (t->prev_)
        t->prev_->next_ = t->next_;
    else
        s->head = t->next_;
    if (t->next_)
        t->next_->prev_ = t->prev_;
    else
        s->tail = t->prev_;
    t->next_ = t->prev_ = NULL;
    t->queued = false;
    s->n--;
    sl->queued--;
}

long long sched_local_queued(const struct sched_local *sl)
{
    return sl->queued;
}

/* ---- GPUs and holding ---------------------------------------------------------- */

/* The GPU indices T would get now into OUT ("" none); marks them busy if TAKE. */
static void gpus_pick(struct sched_local *sl, const struct sched_task *t, bool take, char *out,
                      size_t outlen)
{
    out[0] = '\0';
    int64_t want = pg_policy_gpu_units(t->demand);
    if (want <= 0 || sl->ngpus <= 0)
        return;
    int whole = (int)(want / RES_SCALE);
    if (whole == 0) {
        /* a fraction of a GPU: share the first one */
        snprintf(out, outlen, "0");
        return;
    }
    size_t len = 0;
    int got = 0;
    for (int i = 0; i < sl->ngpus && got < whole; i++) {
        if (sl->gpu_busy[i])
            continue;
        int w = snprintf(out + len, outlen - len, "%s%d", got ? "," : "", i);
        if (w < 0 || (size_t)w >= outlen - len)
            break; /* 64 bytes hold any list of up to 64 slots' first ones; never here */
        len += (size_t)w;
        if (take)
            sl->gpu_busy[i] = true;
        got++;
    }
}

static void gpus_return(struct sched_local *sl, const char *gpus, int64_t want)
{
    if (want < RES_SCALE || gpus[0] == '\0')
        return; /* nothing, or a shared fraction of GPU 0 */
    for (const char *p = gpus; *p;) {
        char *end;
        long i = strtol(p, &end, 10);
        if (end == p)
            break;
        if (i >= 0 && i < SCHED_GPUS_MAX)
            sl->gpu_busy[i] = false;
        p = *end == ',' ? end + 1 : end;
    }
}

void sched_local_gpus_return(struct sched_local *sl, const char *gpus,
                             const struct res_set *demand)
{
    gpus_return(sl, gpus, pg_policy_gpu_units(demand));
}

int sched_local_gpus_free(const struct sched_local *sl)
{
    int n = 0;
    for (int i = 0; i < sl->ngpus; i++)
        n += !sl->gpu_busy[i];
    return n;
}

/* The CPU part of demand D into OUT (initialised): "CPU", and for work in a
 * placement group its "CPU_group_..." names, which stand for CPU. */
static void cpu_part(const struct res_set *d, struct res_set *out)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->e[i].amount > 0 &&
            (strcmp(d->e[i].name, RES_CPU) == 0 || strncmp(d->e[i].name, "CPU_group_", 10) == 0))
            res_set_amount(out, d->e[i].name, d->e[i].amount);
}

/* What T holds now into OUT (initialised): its demand, less its CPU while
 * that is given back. */
static void held_part(const struct sched_task *t, struct res_set *out)
{
    res_copy(out, t->demand);
    if (!t->cpu_lost)
        return;
    struct res_set cpu = RES_SET_INIT;
    cpu_part(t->demand, &cpu);
    for (size_t i = 0; i < cpu.n; i++)
        res_set_amount(out, cpu.e[i].name, 0);
    res_free(&cpu);
}

void sched_local_hold(struct sched_local *sl, struct sched_task *t)
{
    res_sub(sl->avail, t->demand);
    res_add(&sl->running, t->demand);
    t->held = true;
    gpus_pick(sl, t, true, t->gpus, sizeof t->gpus);
    if (t->blocked) {
        /* it started before the node counted it as running (sent ahead),
         * and waits already: its CPU stays free */
        t->blocked = false;
        sched_local_set_blocked(sl, t, true);
    }
}

bool sched_local_hold_if_fits(struct sched_local *sl, struct sched_task *t)
{
    if (!res_fits(sl->avail, t->demand))
        return false;
    sched_local_hold(sl, t);
    return true;
}

/* RUNNING counts what tasks that run (not wait in a get) hold: their ends
 * free it. A waiting task's end hangs on other work, so what it keeps is
 * not counted (fits_when_tasks_end). */
/* Add what T holds to SET (ADD), or take it out; without a copy when T
 * holds its whole demand (the hot path: every task start and end). */
static void held_move(struct res_set *set, const struct sched_task *t, bool add)
{
    if (!t->cpu_lost) {
        if (add)
            res_add(set, t->demand);
        else
            res_sub(set, t->demand);
        return;
    }
    struct res_set h = RES_SET_INIT;
    held_part(t, &h);
    if (add)
        res_add(set, &h);
    else
        res_sub(set, &h);
    res_free(&h);
}

static void running_add(struct sched_local *sl, const struct sched_task *t, bool add)
{
    held_move(&sl->running, t, add);
}

void sched_local_release(struct sched_local *sl, struct sched_task *t)
{
    if (t->held) {
        held_move(sl->avail, t, true);
        if (!t->blocked)
            running_add(sl, t, false);
        gpus_return(sl, t->gpus, pg_policy_gpu_units(t->demand));
        t->held = false;
    }
    t->blocked = t->cpu_lost = false;
}

void sched_local_hand_over(struct sched_local *sl, struct sched_task *t)
{
    if (t->held && !t->blocked)
        running_add(sl, t, false); /* no task's end frees it any more */
    t->held = false;
}

void sched_local_set_blocked(struct sched_local *sl, struct sched_task *t, bool blocked)
{
    if (t->blocked == blocked)
        return; /* callers count nested waits; only changes matter here */
    if (!t->held) {
        t->blocked = blocked;
        return;
    }
    if (blocked)
        running_add(sl, t, false);
    t->blocked = blocked;
    struct res_set c = RES_SET_INIT;
    cpu_part(t->demand, &c);
    if (blocked && c.n > 0 && !t->cpu_lost) {
        res_add(sl->avail, &c);
        t->cpu_lost = true;
    } else if (!blocked && c.n > 0 && t->cpu_lost && res_fits(sl->avail, &c)) {
        res_sub(sl->avail, &c);
        t->cpu_lost = false;
    }
    res_free(&c);
    if (!blocked)
        running_add(sl, t, true);
}

void sched_local_ran(struct sched_local *sl, struct sched_task *t, long long us)
{
    (void)sl;
    struct sched_shape *s = t->shape;
    if (s == NULL)
        return;
    s->avg_us = s->runs ? (s->avg_us * 7 + us) / 8 : us;
    s->runs++;
}

/* ---- the pass -------------------------------------------------------------------- */

int sched_shape_depth(const struct sched_shape *s)
{
    if (s->runs < 4 || s->avg_us >= 8000)
        return 1;
    if (s->avg_us >= 1000)
        return 2;
    return 16;
}

/* Whether D fits AVAIL less RESERVED (absent: 0). */
static bool fits_room(const struct res_set *avail, const struct res_set *reserved,
                      const struct res_set *d)
{
    if (reserved->n == 0)
        return res_fits(avail, d);
    for (size_t i = 0; i < d->n; i++) {
        int64_t want = d->e[i].amount;
        if (want > 0 && res_get(avail, d->e[i].name) - res_get(reserved, d->e[i].name) < want)
            return false;
    }
    return true;
}

/* Reserve for D what it needs of AVAIL less RESERVED, as far as it is free.
 * Every name D asks for gets an entry, 0 if nothing is free: a non-empty
 * RESERVED also says "something older waits" (no task goes ahead then). */
static void reserve(const struct res_set *avail, struct res_set *reserved, const struct res_set *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const char *name = d->e[i].name;
        if (d->e[i].amount <= 0)
            continue;
        int64_t r = res_get(reserved, name);
        int64_t room = res_get(avail, name) - r;
        int64_t take = d->e[i].amount < room ? d->e[i].amount : room;
        res_set_amount(reserved, name, r + (take > 0 ? take : 0));
    }
}

/* Whether D would fit once the running tasks end: what it lacks is held by
 * tasks, not by actors, placement groups or nothing at all. Only then is a
 * reservation for it bounded: one for a demand that waits on an actor's
 * resources would hold the node's free ones back for the actor's life. */
static bool fits_when_tasks_end(const struct sched_local *sl, const struct res_set *d)
{
    for (size_t i = 0; i < d->n; i++) {
        int64_t want = d->e[i].amount;
        if (want > 0 &&
            res_get(sl->avail, d->e[i].name) + res_get(&sl->running, d->e[i].name) < want)
            return false;
    }
    return true;
}

/* No worker can start for T: the node's cap is reached. Unless an idle
 * worker can make room, T's shape is marked; if it stays so for a second
 * (not just a worker on its way), sched_shape_at_cap says so. */
static void note_cap(struct sched_local *sl, struct sched_task *t)
{
    if (sl->ops->reclaim(sl->ctx) || t->shape == NULL)
        return;
    t->shape->at_cap = true;
    if (t->shape->cap_since_ms == 0)
        t->shape->cap_since_ms = now_ms();
}

/* Workers wanted per job in one pass (jobs are few: a small array). */
struct want {
    uint32_t job;
    int n;
};
#define SCHED_WANT_JOBS 16

/* T fits now but no worker is there: start one if fewer are on their way
 * for its job than its tasks want in this pass. */
static void want_worker(struct sched_local *sl, struct sched_task *t, const char *gpus,
                        struct want *want, int *nwant)
{
    int k = 0;
    while (k < *nwant && want[k].job != t->job)
        k++;
    if (k == *nwant) {
        if (*nwant == SCHED_WANT_JOBS)
            return;
        want[k].job = t->job;
        want[k].n = 0;
        (*nwant)++;
    }
    want[k].n++;
    if (sl->ops->starting(sl->ctx, t) < want[k].n &&
        sl->ops->spawn(sl->ctx, t, gpus) == SCHED_AT_CAP)
        note_cap(sl, t);
}

/* Look at T, the task in line at cursor C. Returns false when C's shape is
 * done for this pass. */
static bool look_at(struct sched_local *sl, struct cursor *c, struct sched_task *t,
                    struct res_set *reserved, struct want *want, int *nwant)
{
    const struct sched_ops *ops = sl->ops;
    struct sched_shape *s = c->s;
    if (!c->feasible) {
        if (ops->spill(sl->ctx, t))
            return true;
        ops->infeasible(sl->ctx, t);
        return ops->others(sl->ctx) > 0; /* alone: the whole shape waits as infeasible */
    }
    bool gpu = pg_policy_gpu_units(&s->demand) > 0;
    if (!fits_room(sl->avail, reserved, &s->demand)) {
        if (ops->spill(sl->ctx, t))
            return true;
        /* it must wait anyway: wait queued on a busy worker, if one can take
         * it and nothing older waits for resources */
        void *w;
        if (!t->actor && !gpu && reserved->n == 0 && /* nothing older waits */
            (w = ops->ahead_worker(sl->ctx, t, sched_shape_depth(s))) != NULL) {
            sched_local_remove(sl, t);
            ops->start(sl->ctx, t, w, SCHED_AHEAD);
            return true;
        }
        /* only other shapes' younger tasks would read it */
        if (sl->ncur > 1 && fits_when_tasks_end(sl, &s->demand))
            reserve(sl->avail, reserved, &s->demand);
        return false; /* none of this shape fits now */
    }
    if (t->actor) {
        /* an actor gets a worker of its own */
        sched_local_hold(sl, t);
        enum sched_spawn rc = ops->spawn(sl->ctx, t, t->gpus);
        if (rc != SCHED_SPAWNED) {
            sched_local_release(sl, t);
            if (rc == SCHED_AT_CAP)
                note_cap(sl, t);
            return false; /* try again later */
        }
        sched_local_remove(sl, t);
        return true;
    }
    char gpus[64] = "";
    if (gpu)
        gpus_pick(sl, t, false, gpus, sizeof gpus); /* a GPU task needs a worker started with its devices */
    void *w = ops->idle_worker(sl->ctx, t, gpus);
    if (w != NULL) {
        sched_local_remove(sl, t);
        sched_local_hold(sl, t);
        ops->start(sl->ctx, t, w, SCHED_RUN);
        return true;
    }
    if (!gpu && (w = ops->nest_worker(sl->ctx, t)) != NULL) {
        sched_local_remove(sl, t);
        sched_local_hold(sl, t);
        ops->start(sl->ctx, t, w, SCHED_NEST);
        return true;
    }
    want_worker(sl, t, gpus, want, nwant);
    return ++c->no_worker < SCHED_NO_WORKER_MAX;
}

void sched_local_run(struct sched_local *sl)
{
    size_t n = 0;
    for (struct sched_shape *s = sl->shapes; s; s = s->next)
        n++;
    if (n > sl->ncur_cap) {
        sl->cur = xreallocarray(sl->cur, n, sizeof *sl->cur);
        sl->ncur_cap = n;
    }
    size_t k = 0;
    for (struct sched_shape *s = sl->shapes; s; s = s->next) {
        if (s->head == NULL)
            continue;
        s->at_cap = false;
        sl->cur[k++] = (struct cursor){ s, s->head, res_fits(sl->total, &s->demand), 0 };
    }
    sl->ncur = k;
    struct res_set reserved = RES_SET_INIT;
    struct want want[SCHED_WANT_JOBS];
    int nwant = 0;
    for (;;) {
        /* the task first in line among the shapes' cursors */
        struct cursor *c = NULL;
        for (size_t i = 0; i < k; i++)
            if (sl->cur[i].t && (c == NULL || sl->cur[i].t->seq < c->t->seq))
                c = &sl->cur[i];
        if (c == NULL)
            break;
        struct sched_task *t = c->t;
        c->t = t->next_;
        if (!look_at(sl, c, t, &reserved, want, &nwant))
            c->t = NULL;
    }
    sl->ncur = 0;
    res_free(&reserved);
    for (size_t i = 0; i < k; i++)
        if (!sl->cur[i].s->at_cap)
            sl->cur[i].s->cap_since_ms = 0;
}

/* ---- walking ------------------------------------------------------------------------ */

struct sched_shape *sched_local_shapes(const struct sched_local *sl)
{
    return sl->shapes;
}

struct sched_shape *sched_shape_next(const struct sched_shape *s)
{
    return s->next;
}

const struct res_set *sched_shape_demand(const struct sched_shape *s)
{
    return &s->demand;
}

long sched_shape_len(const struct sched_shape *s)
{
    return s->n;
}

struct sched_task *sched_shape_head(const struct sched_shape *s)
{
    return s->head;
}

struct sched_task *sched_task_next(const struct sched_task *t)
{
    return t->next_;
}

bool sched_shape_at_cap(const struct sched_shape *s)
{
    return s->at_cap && s->head && now_ms() - s->cap_since_ms >= SCHED_CAP_GRACE_MS;
}

bool sched_shape_warn_once(struct sched_shape *s, uint32_t job)
{
    for (int i = 0; i < s->nwarned && i < 8; i++)
        if (s->warned[i] == job)
            return false;
    s->warned[s->nwarned++ % 8] = job;
    return true;
}
