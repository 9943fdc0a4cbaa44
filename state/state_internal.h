/*
 * state_internal.h — what the files of state/ share and nobody else calls:
 * the placement-group parts of the status (status_pg.c, used by status.c).
 */
#ifndef RAY_STATE_INTERNAL_H
#define RAY_STATE_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

struct gcs_node;
struct gcs_sync;
struct res_set;

/* Placement groups in the status (status_pg.c): add to RESERVED[i] what the
 * live groups reserve on NODES[i]. */
void state_pg_reserved_(struct gcs_sync *gs, const struct gcs_node *nodes, size_t n,
                        struct res_set *reserved);
/* Add to PGFREE, per resource, what the groups on a node with free AVAIL
 * have free (its "<R>_group_<tag>" entries). */
void state_pg_free_(const struct res_set *avail, struct res_set *pgfree);
/* Print the groups waiting for a place to OUT; returns how many. */
int state_pg_pending_(FILE *out, struct gcs_sync *gs);

#endif
