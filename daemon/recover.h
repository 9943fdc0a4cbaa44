/*
 * recover.h — what a head does once registered so that its state is derived
 * from the GCS, never from an earlier head's memory (docs/restart.md).
 */
#ifndef RAY_RECOVER_H
#define RAY_RECOVER_H

struct node;

/* Head N has just registered: run every recovery step of daemon/recover.c
 * (each reads one table and acts on what an earlier head left). Never
 * blocks: the steps are GCS reads whose callbacks do the work. */
void recover_head_start(struct node *n);

#endif
