/*
 * pg.h — placement groups in the node (SPEC section 12): the head's group
 * manager (two-phase bundle reservation, states, rescheduling, removal),
 * every node's part (holding prepared and committed bundles), and the
 * forwarding of clients' PG_* requests to the head. docs/scheduling.md
 * "Placement groups" has the design; docs/gcs.md the <p>pg:<id> records.
 */
#ifndef RAY_DAEMON_PG_H
#define RAY_DAEMON_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

struct runtime;
struct spec_fields;
struct res_set;
struct task;
struct actor;

void pg_init(struct runtime *rt);
void pg_free(struct runtime *rt);

/*
 * Head, global scheduler: a task or actor constructor of a placement group
 * arrived (KIND 0 task, 1 actor; SPEC as sent; F parsed from it). Returns 0
 * with TARGET (a node's hex) where it must go; or 1 when this module took it
 * over: parked until its bundle is placed (it goes out then), or failed with
 * RAY_EPG (removed or unknown group, bundle index out of range).
 */
int pg_route(struct runtime *rt, const struct spec_fields *f, uint64_t kind, const void *spec,
             size_t len, const char *origin, const char *lib, char target[IDS_HEX_SIZE]);

/* Rewrite DEMAND for the group and bundle F names (no-op without one).
 * Returns 0, or -1 with ERR. */
int pg_spec_demand(const struct spec_fields *f, struct res_set *demand, char *err, size_t errlen);

/* This node knows the group of F to be removed, or F's bundle index out of
 * its range: fill WHY and return true (the caller fails the work with
 * RAY_EPG). False when it does not know (the head decides). */
bool pg_known_bad(struct runtime *rt, const struct spec_fields *f, char *why, size_t whylen);

/* Head: node HEX died; its bundles are rescheduled first. */
void pg_node_dead(struct runtime *rt, const char *hex);
/* Head: job NUM ended; its groups are removed. */
void pg_job_ended(struct runtime *rt, uint32_t num);
/* Head, once registered after a restart (daemon/recover.c): read every
 * group back from <p>pgs. Bundles on the NALIVE nodes ALIVE (the node
 * table's IDs, this head's own excluded) stay where they are; the others
 * are placed again. Never blocks (one GCS read). */
void pg_recover(struct runtime *rt, const char (*alive)[IDS_HEX_SIZE], size_t nalive);

#endif
