/*
 * test_sched_local.c — the scheduling policies without a daemon: the local
 * scheduler (sched/local.c) over a node view and fake workers that record
 * what they were given, the spillback decision (sched/spillback.c) and the
 * global placement (sched/global.c sched_global_place). No Redis, no
 * process: each test drives the policy step by step and checks what a user
 * would see (which task ran when, on which GPU, what stayed free).
 */
#include "sched/global.h"
#include "sched/local.h"
#include "sched/spillback.h"
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

/* ---- a fake node ------------------------------------------------------------ */

#define MAXW 32
#define MAXT 256

struct ftask {
    struct sched_task st;  /* first: a sched_task * is an ftask * */
    struct res_set demand;
    int id;
    bool started;
};

struct fworker {
    bool busy;
    uint32_t job;
    char gpus[64];
    struct ftask *task;  /* running */
    struct ftask *ahead[32]; /* sent ahead, in order */
    int nahead;
    bool waiting;        /* its task waits in a get: it may take a nested one */
};

struct env {
    struct res_set total, avail;
    struct sched_local *sl;
    struct fworker w[MAXW];
    int nw;
    struct ftask t[MAXT];
    int nt;
    int order[MAXT];     /* task ids in the order they started (RUN or NEST) */
    int norder;
    int nahead_sent;
    int last_depth;
    int spawns;          /* workers asked for */
    int starting;        /* of them, not arrived */
    bool at_cap;
    int others;
    bool spill_yes;      /* the spill op sends every task it is asked about away */
    int spilled, infeasible;
    bool autoworker;     /* a spawned worker is there (idle) at once */
    bool ahead_ok;       /* busy workers take tasks ahead (pipelining) */
};

static struct env E;

static void *op_idle(void *ctx, struct sched_task *st, const char *gpus)
{
    struct env *e = ctx;
    for (int i = 0; i < e->nw; i++)
        if (!e->w[i].busy && e->w[i].job == st->job && strcmp(e->w[i].gpus, gpus) == 0)
            return &e->w[i];
    return NULL;
}

static void *op_nest(void *ctx, struct sched_task *st)
{
    struct env *e = ctx;
    for (int i = 0; i < e->nw; i++)
        if (e->w[i].busy && e->w[i].waiting && e->w[i].job == st->job)
            return &e->w[i];
    return NULL;
}

static void *op_ahead(void *ctx, struct sched_task *st, int depth)
{
    struct env *e = ctx;
    e->last_depth = depth;
    if (!e->ahead_ok)
        return NULL;
    struct fworker *best = NULL;
    for (int i = 0; i < e->nw; i++) {
        struct fworker *w = &e->w[i];
        if (w->busy && w->task && w->task->st.shape == st->shape && !w->task->st.blocked &&
            w->nahead < depth && w->nahead < 32 &&
            (best == NULL || w->nahead < best->nahead))
            best = w;
    }
    return best;
}

static int op_starting(void *ctx, struct sched_task *st)
{
    (void)st;
    return ((struct env *)ctx)->starting;
}

static enum sched_spawn op_spawn(void *ctx, struct sched_task *st, const char *gpus)
{
    struct env *e = ctx;
    if (e->at_cap)
        return SCHED_AT_CAP;
    e->spawns++;
    if (st->actor) {
        struct ftask *t = (struct ftask *)st;
        t->started = true;
        e->order[e->norder++] = t->id;
        return SCHED_SPAWNED;
    }
    if (e->autoworker && e->nw < MAXW) {
        struct fworker *w = &e->w[e->nw++];
        memset(w, 0, sizeof *w);
        w->job = st->job;
        snprintf(w->gpus, sizeof w->gpus, "%s", gpus);
    } else {
        e->starting++;
    }
    return SCHED_SPAWNED;
}

static bool op_reclaim(void *ctx)
{
    (void)ctx;
    return false;
}

static void op_start(void *ctx, struct sched_task *st, void *wp, enum sched_start how)
{
    struct env *e = ctx;
    struct ftask *t = (struct ftask *)st;
    struct fworker *w = wp;
    ck_assert(!st->queued);
    if (how == SCHED_AHEAD) {
        ck_assert(!st->held); /* sent ahead: holds nothing yet */
        w->ahead[w->nahead++] = t;
        e->nahead_sent++;
        return;
    }
    ck_assert(st->held);
    t->started = true;
    e->order[e->norder++] = t->id;
    if (how == SCHED_RUN) {
        ck_assert(!w->busy);
        w->busy = true;
        w->task = t;
    }
}

static bool op_spill(void *ctx, struct sched_task *st)
{
    struct env *e = ctx;
    if (!e->spill_yes)
        return false;
    sched_local_remove(e->sl, st);
    e->spilled++;
    return true;
}

static void op_infeasible(void *ctx, struct sched_task *st)
{
    (void)st;
    ((struct env *)ctx)->infeasible++;
}

static int op_others(void *ctx)
{
    return ((struct env *)ctx)->others;
}

static const struct sched_ops OPS = {
    .idle_worker = op_idle,
    .nest_worker = op_nest,
    .ahead_worker = op_ahead,
    .starting = op_starting,
    .spawn = op_spawn,
    .reclaim = op_reclaim,
    .start = op_start,
    .spill = op_spill,
    .infeasible = op_infeasible,
    .others = op_others,
};

static void mkset(struct res_set *s, const char *spec)
{
    char err[128];
    res_init(s);
    ck_assert_msg(res_parse(s, spec, err, sizeof err) == 0, "%s: %s", spec, err);
}

/* A node with TOTAL (all free), NGPUS GPU slots and NW idle workers of job 1. */
static void env_init(const char *total, int ngpus, int nw)
{
    memset(&E, 0, sizeof E);
    mkset(&E.total, total);
    res_init(&E.avail);
    res_copy(&E.avail, &E.total);
    E.sl = sched_local_new(&OPS, &E, &E.total, &E.avail, ngpus);
    for (int i = 0; i < nw; i++)
        E.w[E.nw++].job = 1;
}

static void env_free(void)
{
    sched_local_free(E.sl);
    for (int i = 0; i < E.nt; i++)
        res_free(&E.t[i].demand);
    res_free(&E.total);
    res_free(&E.avail);
}

/* Queue a task of DEMAND (job 1); returns it. */
/* A task (or, ACTOR, an actor's creation) of job 1 asking for DEMAND, queued. */
static struct ftask *submit_as(const char *demand, bool actor)
{
    ck_assert_int_lt(E.nt, MAXT);
    struct ftask *t = &E.t[E.nt];
    t->id = E.nt++;
    mkset(&t->demand, demand);
    t->st.demand = &t->demand;
    t->st.job = 1;
    t->st.actor = actor;
    sched_local_push(E.sl, &t->st);
    return t;
}

static struct ftask *submit(const char *demand)
{
    return submit_as(demand, false);
}

/* The task running on worker W ends: resources back; the first task sent
 * ahead runs now (holding its demand if it fits, as the daemon does), or W
 * is idle. */
static void finish(struct fworker *w)
{
    ck_assert(w->busy && w->task);
    sched_local_ran(E.sl, &w->task->st, 100);
    sched_local_release(E.sl, &w->task->st);
    w->task = NULL;
    w->waiting = false;
    if (w->nahead > 0) {
        struct ftask *t = w->ahead[0];
        memmove(w->ahead, w->ahead + 1, (size_t)--w->nahead * sizeof w->ahead[0]);
        (void)sched_local_hold_if_fits(E.sl, &t->st);
        t->started = true;
        E.order[E.norder++] = t->id;
        w->task = t;
        return;
    }
    w->busy = false;
}

static struct fworker *worker_of(const struct ftask *t)
{
    for (int i = 0; i < E.nw; i++)
        if (E.w[i].task == t)
            return &E.w[i];
    return NULL;
}

static int64_t avail(const char *name)
{
    return res_get(&E.avail, name);
}

/* ---- the local scheduler ------------------------------------------------------ */

START_TEST(fits_and_idle_worker_start_in_order)
{
    env_init("CPU=4", 0, 2);
    struct ftask *a = submit("CPU=1"), *b = submit("CPU=1"), *c = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(a->started && b->started && !c->started);
    ck_assert_int_eq(E.order[0], a->id);
    ck_assert_int_eq(E.order[1], b->id);
    ck_assert_int_eq(avail(RES_CPU), res_units(2));
    /* no third worker: one is started for it, and only one, however often
     * the pass runs while it is on its way */
    ck_assert_int_eq(E.spawns, 1);
    sched_local_run(E.sl);
    ck_assert_int_eq(E.spawns, 1);
    ck_assert_int_eq(sched_local_queued(E.sl), 1);
    finish(worker_of(a));
    sched_local_run(E.sl);
    ck_assert(c->started);
    ck_assert_int_eq(sched_local_queued(E.sl), 0);
    env_free();
}
END_TEST

START_TEST(shapes_take_turns_in_submission_order)
{
    /* two shapes of the same size: one seen first must not run all its
     * queue before the other's older tasks */
    env_init("CPU=2,foo=10", 0, 8);
    struct ftask *a[6];
    a[0] = submit("CPU=1");
    a[1] = submit("CPU=1");
    a[2] = submit("CPU=1");
    struct ftask *b = submit("CPU=1,foo=1");
    a[3] = submit("CPU=1");
    a[4] = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(a[0]->started && a[1]->started && !a[2]->started && !b->started);
    finish(worker_of(a[0]));
    sched_local_run(E.sl);
    ck_assert(a[2]->started && !b->started);
    finish(worker_of(a[1]));
    sched_local_run(E.sl);
    ck_assert_msg(b->started && !a[3]->started, "the older task of the second shape runs first");
    ck_assert_int_eq(E.order[3], b->id);
    env_free();
}
END_TEST

START_TEST(a_big_task_is_not_starved_by_small_ones)
{
    env_init("CPU=4", 0, 16);
    E.autoworker = true;
    E.ahead_ok = true; /* as in the daemon: the two waiting go ahead to busy workers */
    int ns = 0;
    for (int i = 0; i < 6; i++, ns++)
        submit("CPU=1");
    sched_local_run(E.sl);
    struct ftask *big = submit("CPU=4");
    /* a stream: each time a small one ends, another is submitted */
    int rounds = 0;
    for (; rounds < 30 && !big->started; rounds++) {
        struct fworker *w = NULL;
        for (int i = 0; i < E.nw && !w; i++)
            if (E.w[i].busy)
                w = &E.w[i];
        ck_assert_ptr_nonnull(w);
        finish(w);
        submit("CPU=1");
        ns++;
        sched_local_run(E.sl);
    }
    ck_assert_msg(big->started, "the CPU=4 task never started behind %d small ones", ns);
    ck_assert_int_le(rounds, 6); /* the 4 running and the 2 older ones sent ahead */
    /* every small task submitted after it waited for it */
    int at = -1;
    for (int i = 0; i < E.norder; i++)
        if (E.order[i] == big->id)
            at = i;
    for (int i = 0; i < at; i++)
        ck_assert_int_lt(E.order[i], big->id);
    ck_assert_int_eq(avail(RES_CPU), 0);
    env_free();
}
END_TEST

START_TEST(reservation_leaves_other_resources_usable)
{
    /* the big task waits for CPU: tasks that need no CPU still start */
    env_init("CPU=2,gadget=2", 0, 8);
    struct ftask *a = submit("CPU=1");
    sched_local_run(E.sl);
    struct ftask *big = submit("CPU=2");
    struct ftask *cpu = submit("CPU=1");
    struct ftask *g = submit("gadget=1");
    sched_local_run(E.sl);
    ck_assert(a->started && !big->started);
    ck_assert_msg(!cpu->started, "a younger CPU task took the CPU the big one waits for");
    ck_assert(g->started);
    finish(worker_of(a));
    sched_local_run(E.sl);
    ck_assert(big->started && !cpu->started);
    env_free();
}
END_TEST

START_TEST(no_reservation_waits_on_an_actor)
{
    /* an actor keeps one of two CPUs for its life: a CPU=2 task cannot start
     * until it dies, so it must not hold the other CPU back from the rest */
    env_init("CPU=2", 0, 8);
    struct ftask *act = submit_as("CPU=1", true);
    sched_local_run(E.sl);
    ck_assert(act->started);
    sched_local_hand_over(E.sl, &act->st); /* the actor's now */
    struct ftask *big = submit("CPU=2");
    struct ftask *small = submit("CPU=1");
    struct ftask *small2 = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(!big->started);
    ck_assert_msg(small->started, "the CPU=2 task held the free CPU back for the actor's life");
    finish(worker_of(small));
    sched_local_run(E.sl);
    ck_assert(small2->started && !big->started);
    env_free();
}
END_TEST

START_TEST(no_reservation_waits_on_a_waiting_task)
{
    /* P keeps gadget=1 while it waits in a get for work the driver submits
     * later: a task needing that gadget must not reserve the free CPU the
     * awaited work needs (P would wait for ever) */
    env_init("CPU=1,gadget=1", 0, 8);
    struct ftask *p = submit("CPU=1,gadget=1");
    sched_local_run(E.sl);
    ck_assert(p->started);
    sched_local_set_blocked(E.sl, &p->st, true);
    struct ftask *g = submit("CPU=1,gadget=1");
    struct ftask *awaited = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(!g->started);
    ck_assert_msg(awaited->started, "a reservation waited on a task that waits");
    /* P resumes (its CPU is taken: it runs on borrowed CPU) and ends */
    sched_local_set_blocked(E.sl, &p->st, false);
    finish(worker_of(awaited));
    finish(worker_of(p));
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    sched_local_run(E.sl);
    ck_assert(g->started);
    env_free();
}
END_TEST

START_TEST(children_of_tasks_go_first)
{
    env_init("CPU=1,memory=4", 0, 4);
    struct ftask *a = submit("CPU=1");
    sched_local_run(E.sl);
    struct ftask *sib = submit("CPU=1");
    /* A submits a child (another shape) and waits for it in a get */
    struct ftask *child = &E.t[E.nt];
    child->id = E.nt++;
    mkset(&child->demand, "CPU=1,memory=1");
    child->st.demand = &child->demand;
    child->st.job = 1;
    child->st.front = true;
    sched_local_push(E.sl, &child->st);
    sched_local_set_blocked(E.sl, &a->st, true);
    worker_of(a)->waiting = true;
    sched_local_run(E.sl);
    ck_assert_msg(child->started && !sib->started, "the child runs before the older sibling");
    env_free();
}
END_TEST

START_TEST(pipelining_depth_follows_run_time)
{
    env_init("CPU=1", 0, 1);
    E.ahead_ok = true;
    struct ftask *first = submit("CPU=1");
    for (int i = 0; i < 40; i++)
        submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(first->started);
    /* nothing known of the shape yet: one sent ahead */
    ck_assert_int_eq(E.last_depth, 1);
    ck_assert_int_eq(E.w[0].nahead, 1);
    ck_assert_int_eq(E.nahead_sent, 1);
    /* four short runs (100 us): 16 ahead, never more */
    for (int i = 0; i < 4; i++)
        sched_local_ran(E.sl, &first->st, 100);
    ck_assert_int_eq(sched_shape_depth(first->st.shape), 16);
    sched_local_run(E.sl);
    ck_assert_int_eq(E.w[0].nahead, 16);
    sched_local_run(E.sl);
    ck_assert_int_eq(E.w[0].nahead, 16);
    ck_assert_int_eq(sched_local_queued(E.sl), 40 - 16);
    /* long tasks: 2 from 1 ms, 1 from 8 ms on */
    for (int i = 0; i < 16; i++)
        sched_local_ran(E.sl, &first->st, 2000);
    ck_assert_int_eq(sched_shape_depth(first->st.shape), 2);
    for (int i = 0; i < 32; i++)
        sched_local_ran(E.sl, &first->st, 50000);
    ck_assert_int_eq(sched_shape_depth(first->st.shape), 1);
    env_free();
}
END_TEST

START_TEST(nothing_goes_ahead_past_a_waiting_big_task)
{
    env_init("CPU=2", 0, 2);
    E.ahead_ok = true;
    struct ftask *a = submit("CPU=1"), *b = submit("CPU=1");
    sched_local_run(E.sl);
    for (int i = 0; i < 4; i++)
        sched_local_ran(E.sl, &a->st, 100);
    struct ftask *big = submit("CPU=2");
    submit("CPU=1");
    submit("CPU=1");
    sched_local_run(E.sl);
    /* sent ahead, they would take a's and b's CPU as those end */
    ck_assert_int_eq(E.nahead_sent, 0);
    finish(worker_of(a));
    finish(worker_of(b));
    sched_local_run(E.sl);
    ck_assert(big->started);
    env_free();
}
END_TEST

START_TEST(gpu_slots_are_assigned_and_returned)
{
    env_init("CPU=8,GPU=2", 2, 0);
    /* workers started with the devices a task gets */
    E.autoworker = true;
    struct ftask *g1 = submit("CPU=1,GPU=1");
    sched_local_run(E.sl); /* a worker with GPU 0 is started */
    ck_assert_int_eq(E.spawns, 1);
    ck_assert_str_eq(E.w[0].gpus, "0");
    sched_local_run(E.sl);
    ck_assert(g1->started);
    ck_assert_str_eq(g1->st.gpus, "0");
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 1);
    struct ftask *g2 = submit("CPU=1,GPU=1");
    sched_local_run(E.sl);
    sched_local_run(E.sl);
    ck_assert(g2->started);
    ck_assert_str_eq(g2->st.gpus, "1");
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 0);
    struct ftask *g3 = submit("CPU=1,GPU=1");
    sched_local_run(E.sl);
    ck_assert(!g3->started); /* no GPU free */
    finish(worker_of(g1));
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 1);
    sched_local_run(E.sl);
    ck_assert(g3->started);
    ck_assert_str_eq(g3->st.gpus, "0"); /* the slot given back */
    finish(worker_of(g2));
    finish(worker_of(g3));
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 2);
    ck_assert_int_eq(avail("GPU"), res_units(2));
    /* both at once; a fraction shares GPU 0 and takes no slot */
    struct ftask *two = submit("GPU=2");
    sched_local_run(E.sl);
    sched_local_run(E.sl);
    ck_assert(two->started);
    ck_assert_str_eq(two->st.gpus, "0,1");
    finish(worker_of(two));
    struct ftask *half = submit("GPU=0.5");
    sched_local_run(E.sl);
    sched_local_run(E.sl);
    ck_assert(half->started);
    ck_assert_str_eq(half->st.gpus, "0");
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 2);
    finish(worker_of(half));
    ck_assert_int_eq(avail("GPU"), res_units(2));
    env_free();
}
END_TEST

START_TEST(cpu_is_given_back_while_blocked_and_taken_again)
{
    env_init("CPU=1", 0, 2);
    struct ftask *a = submit("CPU=1");
    sched_local_run(E.sl);
    struct ftask *b = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(a->started && !b->started);
    ck_assert_int_eq(avail(RES_CPU), 0);
    /* A waits in a get: its CPU goes back and B can run */
    sched_local_set_blocked(E.sl, &a->st, true);
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    sched_local_run(E.sl);
    ck_assert(b->started);
    ck_assert_int_eq(avail(RES_CPU), 0);
    /* A resumes while B runs: no CPU to take, it runs on borrowed CPU */
    sched_local_set_blocked(E.sl, &a->st, false);
    ck_assert(a->st.cpu_lost);
    finish(worker_of(b));
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    finish(worker_of(a)); /* gives back nothing it did not hold */
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    /* again, and this time the CPU is free when it resumes: taken again */
    struct ftask *c = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(c->started);
    sched_local_set_blocked(E.sl, &c->st, true);
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    sched_local_set_blocked(E.sl, &c->st, false);
    ck_assert(!c->st.cpu_lost);
    ck_assert_int_eq(avail(RES_CPU), 0);
    finish(worker_of(c));
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    env_free();
}
END_TEST

START_TEST(a_waiting_worker_takes_a_nested_task)
{
    env_init("CPU=2", 0, 1);
    struct ftask *a = submit("CPU=1");
    sched_local_run(E.sl);
    struct ftask *child = submit("CPU=1");
    sched_local_set_blocked(E.sl, &a->st, true);
    worker_of(a)->waiting = true;
    sched_local_run(E.sl);
    ck_assert(child->started);
    ck_assert_int_eq(E.spawns, 0); /* no new process for it */
    env_free();
}
END_TEST

START_TEST(infeasible_demands_wait_and_say_so)
{
    env_init("CPU=2", 0, 4);
    struct ftask *big = submit("CPU=4");
    struct ftask *big2 = submit("CPU=4");
    struct ftask *ok = submit("CPU=1");
    E.others = 0; /* alone: the shape waits whole */
    sched_local_run(E.sl);
    ck_assert(!big->started && !big2->started);
    ck_assert_int_eq(E.infeasible, 1);
    ck_assert(ok->started); /* it holds nothing back */
    ck_assert_int_eq(E.spawns, 0);
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    /* with other nodes, each is offered to the global scheduler */
    E.others = 2;
    E.spill_yes = true;
    sched_local_run(E.sl);
    ck_assert_int_eq(E.spilled, 2);
    ck_assert_int_eq(sched_local_queued(E.sl), 0);
    env_free();
}
END_TEST

START_TEST(at_the_cap_the_shape_is_marked)
{
    env_init("CPU=2", 0, 0);
    E.at_cap = true;
    struct ftask *a = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(!a->started);
    struct sched_shape *s = a->st.shape;
    ck_assert(!sched_shape_at_cap(s)); /* not before the grace time */
    ck_assert_int_eq(sched_shape_len(s), 1);
    ck_assert(res_get(sched_shape_demand(s), RES_CPU) == res_units(1));
    ck_assert(sched_shape_warn_once(s, 7));
    ck_assert(!sched_shape_warn_once(s, 7));
    env_free();
}
END_TEST

START_TEST(an_actor_gets_its_own_worker_and_keeps_its_resources)
{
    env_init("CPU=2,GPU=1", 1, 0);
    struct ftask *act = submit_as("CPU=1,GPU=1", true);
    sched_local_run(E.sl);
    ck_assert(act->started && act->st.held && !act->st.queued);
    ck_assert_str_eq(act->st.gpus, "0");
    sched_local_hand_over(E.sl, &act->st); /* the actor's now */
    sched_local_release(E.sl, &act->st);
    ck_assert_int_eq(avail(RES_CPU), res_units(1));
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 0);
    /* the actor dies: its slot is free for the next GPU task */
    sched_local_gpus_return(E.sl, act->st.gpus, &act->demand);
    ck_assert_int_eq(sched_local_gpus_free(E.sl), 1);
    env_free();
}
END_TEST

START_TEST(requeued_tasks_keep_their_place)
{
    env_init("CPU=1,memory=4", 0, 1);
    E.ahead_ok = true;
    struct ftask *a = submit("CPU=1"), *b = submit("CPU=1");
    sched_local_run(E.sl);
    ck_assert(a->started);
    ck_assert_int_eq(E.w[0].nahead, 1); /* b went ahead to a's worker */
    struct ftask *c = submit("CPU=1,memory=1");
    /* a blocks: b comes back unstarted (TASK_RECALL), first in line again */
    E.w[0].nahead = 0;
    sched_local_push_front(E.sl, &b->st);
    E.ahead_ok = false;
    finish(worker_of(a));
    sched_local_run(E.sl);
    ck_assert_msg(b->started && !c->started, "the task that came back lost its place");
    env_free();
}
END_TEST

/* ---- spillback ---------------------------------------------------------------------- */

START_TEST(spill_thresholds)
{
    struct res_set total, avail, d, big;
    mkset(&total, "CPU=2");
    mkset(&avail, "CPU=0");
    mkset(&d, "CPU=1");
    mkset(&big, "CPU=4");
    struct sched_spill_view v = { .others = 1, .head_reachable = true, .demand = &d,
                                  .total = &total, .avail = &avail, .queued = 4, .threshold = 4 };
    ck_assert(!sched_spill_should(&v)); /* at the threshold: waits here */
    v.queued = 5;
    ck_assert(sched_spill_should(&v)); /* over it: goes */
    v.placed = true;
    ck_assert(!sched_spill_should(&v)); /* placed here: never again */
    v.placed = false;
    v.others = 0;
    ck_assert(!sched_spill_should(&v)); /* alone */
    v.others = 1;
    v.head_reachable = false;
    ck_assert(!sched_spill_should(&v));
    v.head_reachable = true;
    v.actor_call = true;
    ck_assert(!sched_spill_should(&v));
    v.actor_call = false;
    v.queued = 0;
    ck_assert(!sched_spill_should(&v)); /* short queue: waits for a CPU here */
    v.demand = &big;
    ck_assert(sched_spill_should(&v)); /* can never run here */
    v.demand = &d;
    v.actor = true;
    ck_assert(sched_spill_should(&v)); /* an actor that cannot start now */
    res_free(&total); res_free(&avail); res_free(&d); res_free(&big);
}
END_TEST

/* ---- global placement ------------------------------------------------------------------- */

START_TEST(placement_prefers_the_arguments_node_and_skips_the_dead)
{
    struct res_set t, idle, busy, d, gadget, gt;
    mkset(&t, "CPU=2");
    mkset(&idle, "CPU=2");
    mkset(&busy, "CPU=0");
    mkset(&d, "CPU=1");
    mkset(&gadget, "CPU=1,gadget=1");
    mkset(&gt, "CPU=2,gadget=1");
    struct sched_node_view n[] = {
        { &t, &idle, 0, 0, true },
        { &t, &idle, 0, 0, true },   /* the submitting node */
        { &gt, &gt, 0, 0, true },
    };
    /* a tie: the submitting node, which holds the arguments */
    ck_assert_int_eq(sched_global_place(n, 3, 1, &d, 0, false), 1);
    ck_assert_int_eq(sched_global_place(n, 3, 1, &d, 200u << 20, false), 1);
    /* busy there with a short queue: 200 MB to move costs more than the wait */
    n[1].avail = &busy;
    n[1].queue_len = 2;
    ck_assert_int_eq(sched_global_place(n, 3, 1, &d, 200u << 20, false), 1);
    /* no arguments: an idle node */
    int k = sched_global_place(n, 3, 1, &d, 0, false);
    ck_assert(k == 0 || k == 2);
    /* far behind: it goes */
    n[1].queue_len = 1000;
    ck_assert_int_ne(sched_global_place(n, 3, 1, &d, 200u << 20, false), 1);
    /* only one node has the custom resource; dead, nobody can */
    ck_assert_int_eq(sched_global_place(n, 3, 1, &gadget, 0, false), 2);
    n[2].alive = false;
    ck_assert_int_eq(sched_global_place(n, 3, 1, &gadget, 0, false), -1);
    /* the origin not in the table */
    ck_assert_int_eq(sched_global_place(n, 3, SCHED_NO_ORIGIN, &d, 0, false), 0);
    res_free(&t); res_free(&idle); res_free(&busy); res_free(&d); res_free(&gadget);
    res_free(&gt);
}
END_TEST

START_TEST(placement_of_actors_wants_room_now)
{
    struct res_set t, idle, busy, d;
    mkset(&t, "CPU=1");
    mkset(&idle, "CPU=1");
    mkset(&busy, "CPU=0");
    mkset(&d, "CPU=1");
    struct sched_node_view n[] = {
        { &t, &busy, 0, 0, true },  /* origin: full, empty queue */
        { &t, &idle, 5, 0, true },  /* free now, though its queue is long */
    };
    ck_assert_int_eq(sched_global_place(n, 2, 0, &d, 0, true), 1);
    n[1].assigned = 1; /* one sent there since its report: no room */
    ck_assert_int_eq(sched_global_place(n, 2, 0, &d, 0, true), 0); /* falls back to the wait */
    res_free(&t); res_free(&idle); res_free(&busy); res_free(&d);
}
END_TEST

static Suite *sched_local_suite(void)
{
    Suite *s = suite_create("sched_local");
    TCase *tc = tcase_create("local");
    tcase_add_test(tc, fits_and_idle_worker_start_in_order);
    tcase_add_test(tc, shapes_take_turns_in_submission_order);
    tcase_add_test(tc, a_big_task_is_not_starved_by_small_ones);
    tcase_add_test(tc, reservation_leaves_other_resources_usable);
    tcase_add_test(tc, no_reservation_waits_on_an_actor);
    tcase_add_test(tc, no_reservation_waits_on_a_waiting_task);
    tcase_add_test(tc, children_of_tasks_go_first);
    tcase_add_test(tc, pipelining_depth_follows_run_time);
    tcase_add_test(tc, nothing_goes_ahead_past_a_waiting_big_task);
    tcase_add_test(tc, gpu_slots_are_assigned_and_returned);
    tcase_add_test(tc, cpu_is_given_back_while_blocked_and_taken_again);
    tcase_add_test(tc, a_waiting_worker_takes_a_nested_task);
    tcase_add_test(tc, infeasible_demands_wait_and_say_so);
    tcase_add_test(tc, at_the_cap_the_shape_is_marked);
    tcase_add_test(tc, an_actor_gets_its_own_worker_and_keeps_its_resources);
    tcase_add_test(tc, requeued_tasks_keep_their_place);
    suite_add_tcase(s, tc);
    TCase *sp = tcase_create("spillback");
    tcase_add_test(sp, spill_thresholds);
    suite_add_tcase(s, sp);
    TCase *gl = tcase_create("global");
    tcase_add_test(gl, placement_prefers_the_arguments_node_and_skips_the_dead);
    tcase_add_test(gl, placement_of_actors_wants_room_now);
    suite_add_tcase(s, gl);
    return s;
}
UNIT_SUITE(sched_local_suite);
