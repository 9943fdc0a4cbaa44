/*
 * taskrec.h — the task table in the GCS, written behind. The functions of
 * runtime/taskrec.c that the other files of the runtime call;
 * runtime/internal.h has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_TASKREC_H
#define RAY_RUNTIME_TASKREC_H

#include "runtime/internal.h"

void taskrec_init(struct runtime *rt);
/* Write everything held back, then free the timer. */
void taskrec_free(struct runtime *rt);
/* T was submitted here: its record is written within a second, or at its end. */
void taskrec_submitted(struct runtime *rt, struct task *t);
/* T (a normal task) started: its state is written within a second unless it ends first. */
void taskrec_running(struct runtime *rt, struct task *t);
/* T ended in STATE (FINISHED, FAILED): its record or state is written now. */
void taskrec_final(struct runtime *rt, struct task *t, const char *state);
/* T is about to leave this node: write what is held back for it now. */
void taskrec_flush_one(struct runtime *rt, struct task *t);
/* T is being destroyed: drop what is held back for it. */
void taskrec_forget(struct runtime *rt, struct task *t);
/* Unfinished tasks with a record written (ray_gcs_task_records_live). */
long taskrec_live(const struct runtime *rt);

#endif
