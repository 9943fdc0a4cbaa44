/*
 * taskrec.c — the task table, written behind the scheduler.
 *
 * DESIGN. Every task submitted to this node gets a record in the GCS task
 * table (spec, state, node, attempts), but not one write per state change:
 * a new task's record waits here up to TASKREC_DELAY_MS, and a task that
 * finishes in that time is written once, already FINISHED (or FAILED). A
 * task still alive when its delay runs out is written as it stands then
 * (PENDING or RUNNING), and only its final state follows. Short tasks thus
 * cost Redis one script call instead of three. Held-back writes wait in
 * one FIFO in the order they were made, each with its due time; a timer
 * armed for the oldest writes those that are due.
 *
 * The record must be in Redis before anyone else can look for it: a task
 * leaving this node (spillback) is written at once (taskrec_flush_one),
 * before the message that sends it away. Records of a job that ends are
 * deleted by the job's cleanup, so a task dropped with its job is not
 * written at all. Nobody else reads the record of a task queued or running
 * here (the head reads those of tasks it placed, which are written before
 * they leave), so holding it back costs only `ray list tasks` up to a second
 * of lag.
 *
 * A node with a deep queue (a million tasks submitted at once) would write
 * every record twice, PENDING and then FINISHED. So at most
 * TASKREC_LIVE_MAX unfinished tasks of a node have a record at a time; the
 * others' records are written once, when they end. (Ray likewise keeps a
 * bounded number of task events per worker and drops the rest.)
 *
 * Only normal tasks submitted here are held back; tasks placed here by the
 * global scheduler and the head's retries already have a record, and only
 * their state changes are held back, and written as state changes
 * (gcs_task_set_state): a record that the job's cleanup deleted while this
 * node had not heard of the job's end yet is not made again.
 */
#include "common/ids.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/netutil.h"
#include "runtime/taskrec.h"
#include "runtime/jobs.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "runtime/counters.h"

#include <string.h>
#include "gcs/gcs.h"

#include <event2/event.h>

/* This file's part of the runtime's state (rt->trs): made zeroed on first
 * use, so it reads as before its init and after its free; runtime_free
 * frees the block itself. */
struct taskrec_state {
    long rec_live;              /* unfinished tasks with a record written */
    struct task *rec_head, *rec_tail; /* task-table writes held back, oldest first */
    struct event *rec_ev;       /* writes them out */
};

static struct taskrec_state *TRS(const struct runtime *rt)
{
    if (rt->trs == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->trs = xcalloc(1, sizeof *rt->trs);
    return rt->trs;
}

#define TASKREC_DELAY_MS 1000
#define TASKREC_LIVE_MAX 10000 /* records of unfinished tasks shown at once */

/* RUNNING once it runs on its worker; a task sent ahead is still PENDING. */
static const char *state_name(const struct task *t)
{
    return task_state(t) == TASK_RUNNING && task_worker(t) &&
                   (worker_task(task_worker(t)) == t || task_nested(t))
               ? "RUNNING"
               : "PENDING";
}

static void unlink_rec(struct runtime *rt, struct task *t)
{
    if (!task_rec_queued(t))
        return;
    if (task_rec_prev(t))
        task_set_rec_next(task_rec_prev(t), task_rec_next(t));
    else
        TRS(rt)->rec_head = task_rec_next(t);
    if (task_rec_next(t))
        task_set_rec_prev(task_rec_next(t), task_rec_prev(t));
    else
        TRS(rt)->rec_tail = task_rec_prev(t);
    task_set_rec_next(t, NULL);
    task_set_rec_prev(t, NULL);
    task_set_rec_queued(t, false);
}

/* Arm the timer for the oldest write held back. */
static void arm(struct runtime *rt)
{
    if (TRS(rt)->rec_head && TRS(rt)->rec_ev)
        rt_timer_at(TRS(rt)->rec_ev, task_rec_due_ms(TRS(rt)->rec_head));
}

/* Write T's whole record as STATE. This node has all of it (spec included),
 * so a later write replaces the record rather than running a script to
 * edit it: plain HSETs that go out in bulk with the loop turn's others. */
static void write_rec(struct runtime *rt, struct task *t, const char *state)
{
    if (job_ending(task_job(t)))
        return; /* the job's cleanup deletes its records: do not make a new one */
    char hex[IDS_HEX_SIZE];
    ids_hex(task_id(t), IDS_SIZE, hex);
    if (task_placed(t)) {
        /* placed here by the global scheduler: its submitting node wrote
         * the record before sending it. Only its state changes, and a
         * record the job's cleanup deleted meanwhile (its END is on its way
         * here) is not made again, left PENDING for ever */
        if (gcs_task_set_state(rt->n->gcs, hex, state, rt->n->hex, task_attempts(t)) < 0)
            log_warnx("task %s: cannot write its state", hex);
        task_set_rec_written(t, true);
        return;
    }
    struct gcs_task r = {
        .task_id = hex,
        .job = (char *)job_hex(task_job(t)),
        .name = (char *)task_name(t),
        .state = (char *)state,
        .node = rt->n->hex,
        .attempts = task_attempts(t),
        .spec = task_spec(t)->data,
        .spec_len = task_spec(t)->len,
    };
    if (gcs_task_record(rt->n->gcs, &r) < 0)
        log_warnx("task %s: cannot write its record", hex);
    task_set_rec_written(t, true);
}

static void live_drop(struct runtime *rt, struct task *t)
{
    if (task_rec_live(t)) {
        task_set_rec_live(t, false);
        TRS(rt)->rec_live--;
    }
}

/* Write what is due (ALL: everything held back). */
static void flush(struct runtime *rt, bool all)
{
    long long now = net_now_ms();
    while (TRS(rt)->rec_head && (all || task_rec_due_ms(TRS(rt)->rec_head) <= now)) {
        struct task *t = TRS(rt)->rec_head;
        unlink_rec(rt, t);
        if (!task_rec_written(t) && TRS(rt)->rec_live >= TASKREC_LIVE_MAX && !all)
            continue; /* enough shown: this one is written when it ends */
        write_rec(rt, t, state_name(t));
        if (!task_rec_live(t)) {
            task_set_rec_live(t, true);
            TRS(rt)->rec_live++;
        }
    }
    arm(rt);
}

static void taskrec_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg, false);
}

static void queue_rec(struct runtime *rt, struct task *t)
{
    if (task_rec_queued(t))
        return;
    task_set_rec_queued(t, true);
    task_set_rec_due_ms(t, net_now_ms() + TASKREC_DELAY_MS);
    task_set_rec_next(t, NULL);
    task_set_rec_prev(t, TRS(rt)->rec_tail);
    if (TRS(rt)->rec_tail)
        task_set_rec_next(TRS(rt)->rec_tail, t);
    else
        TRS(rt)->rec_head = t;
    TRS(rt)->rec_tail = t;
    if (t == TRS(rt)->rec_head)
        arm(rt);
}

void taskrec_submitted(struct runtime *rt, struct task *t)
{
    task_set_rec_written(t, false);
    queue_rec(rt, t);
}

void taskrec_running(struct runtime *rt, struct task *t)
{
    if (task_kind(t) != TASK_NORMAL)
        return;
    queue_rec(rt, t); /* written with the next tick, unless it ends first */
}

void taskrec_final(struct runtime *rt, struct task *t, const char *state)
{
    counters_task_final(task_name(t), strcmp(state, "FAILED") == 0);
    unlink_rec(rt, t);
    live_drop(rt, t);
    if (task_kind(t) == TASK_NORMAL) /* actor calls have no record */
        write_rec(rt, t, state);
}

void taskrec_flush_one(struct runtime *rt, struct task *t)
{
    unlink_rec(rt, t);
    write_rec(rt, t, state_name(t)); /* held back or not: it must be there */
    /* ... before the node that runs it writes its FINISHED (a state change,
     * lost on a record not there yet): out of the batch now, ahead of the
     * spill message (test_direct's spread lost ~20 records a run) */
    gcs_flush(rt->n->gcs);
}

void taskrec_forget(struct runtime *rt, struct task *t)
{
    unlink_rec(rt, t);
    live_drop(rt, t);
}

void taskrec_init(struct runtime *rt)
{
    TRS(rt)->rec_ev = event_new(rt->n->base, -1, 0, taskrec_tick, rt);
}

void taskrec_free(struct runtime *rt)
{
    flush(rt, true); /* what is still held back goes out with the rest */
    if (TRS(rt)->rec_ev) {
        event_free(TRS(rt)->rec_ev);
        TRS(rt)->rec_ev = NULL;
    }
}

long taskrec_live(const struct runtime *rt)
{
    return TRS(rt)->rec_live;
}
