/*
 * taskrec.c — the task table, written behind the scheduler.
 *
 * DESIGN. Every task submitted to this node gets a record in the GCS task
 * table (spec, state, node, attempts), but not one write per state change:
 * a new task's record waits here up to TASKREC_DELAY_MS, and a task that
 * finishes in that time is written once, already FINISHED (or FAILED). A
 * task still alive when the delay runs out is written as it stands then
 * (PENDING or RUNNING), and only its final state follows. Fast tasks thus
 * cost Redis one script call instead of three.
 *
 * The record must be in Redis before anyone else can look for it: a task
 * leaving this node (spillback) is written at once (taskrec_flush_one),
 * before the message that sends it away. Records of a job that ends are
 * deleted by the job's cleanup, so a task dropped with its job is not
 * written at all.
 *
 * Only normal tasks submitted here are held back; tasks placed here by the
 * global scheduler and the head's retries already have a record, and their
 * state changes are written as they happen.
 */
#include "common/ids.h"
#include "common/log.h"
#include "daemon/runtime_internal.h"
#include "gcs/gcs.h"

#include <event2/event.h>

#define TASKREC_DELAY_MS 20

static const char *state_name(const struct task *t)
{
    switch (t->state) {
    case TASK_RUNNING:
        return "RUNNING";
    default:
        return "PENDING";
    }
}

static void unlink_rec(struct runtime *rt, struct task *t)
{
    if (!t->rec_queued)
        return;
    if (t->rec_prev)
        t->rec_prev->rec_next = t->rec_next;
    else
        rt->rec_head = t->rec_next;
    if (t->rec_next)
        t->rec_next->rec_prev = t->rec_prev;
    t->rec_next = t->rec_prev = NULL;
    t->rec_queued = false;
}

/* Write T's record (first write) or its state (later ones) as STATE. */
static void write_rec(struct runtime *rt, struct task *t, const char *state)
{
    if (!t->rec_written && t->job->ending)
        return; /* the job's cleanup deletes its records: do not make a new one */
    char hex[IDS_HEX_SIZE];
    ids_hex(t->id, IDS_SIZE, hex);
    if (t->rec_written) {
        gcs_task_set_state(rt->n->gcs, hex, state, rt->n->hex, t->attempts);
        return;
    }
    struct gcs_task r = {
        .task_id = hex, .job = t->job->hex, .name = t->name, .state = (char *)state,
        .node = rt->n->hex, .attempts = t->attempts, .spec = t->spec.data,
        .spec_len = t->spec.len,
    };
    if (gcs_task_record(rt->n->gcs, &r) < 0)
        log_warnx("task %s: cannot write its record", hex);
    t->rec_written = true;
}

static void taskrec_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    while (rt->rec_head) {
        struct task *t = rt->rec_head;
        unlink_rec(rt, t);
        write_rec(rt, t, state_name(t));
    }
}

static void queue_rec(struct runtime *rt, struct task *t)
{
    if (t->rec_queued)
        return;
    t->rec_queued = true;
    t->rec_prev = NULL;
    t->rec_next = rt->rec_head;
    if (rt->rec_head)
        rt->rec_head->rec_prev = t;
    rt->rec_head = t;
    if (rt->rec_ev && !event_pending(rt->rec_ev, EV_TIMEOUT, NULL)) {
        struct timeval tv = { 0, TASKREC_DELAY_MS * 1000 };
        event_add(rt->rec_ev, &tv);
    }
}

void taskrec_submitted(struct runtime *rt, struct task *t)
{
    t->rec_written = false;
    queue_rec(rt, t);
}

void taskrec_running(struct runtime *rt, struct task *t)
{
    if (t->kind != TASK_NORMAL)
        return;
    queue_rec(rt, t); /* written with the next tick, unless it ends first */
}

void taskrec_final(struct runtime *rt, struct task *t, const char *state)
{
    unlink_rec(rt, t);
    write_rec(rt, t, state);
}

void taskrec_flush_one(struct runtime *rt, struct task *t)
{
    if (!t->rec_queued)
        return;
    unlink_rec(rt, t);
    write_rec(rt, t, state_name(t));
}

void taskrec_forget(struct runtime *rt, struct task *t)
{
    unlink_rec(rt, t);
}

void taskrec_init(struct runtime *rt)
{
    rt->rec_ev = event_new(rt->n->base, -1, 0, taskrec_tick, rt);
}

void taskrec_free(struct runtime *rt)
{
    taskrec_tick(-1, 0, rt); /* what is still held back goes out with the rest */
    if (rt->rec_ev) {
        event_free(rt->rec_ev);
        rt->rec_ev = NULL;
    }
}
