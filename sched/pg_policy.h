/*
 * pg_policy.h — placement groups' pure parts: where the bundles of a group
 * go (PACK, SPREAD, STRICT_PACK, STRICT_SPREAD) over a snapshot of the
 * nodes, and the resource names a committed bundle adds to its node and a
 * task of the group asks for. No daemon state: unit-tested alone
 * (tests/unit/test_pg_policy.c); runtime/pg.c feeds it the node table.
 *
 * Resource names follow Ray's: bundle I of group G on its node adds
 * "<R>_group_<I>_<G>" and "<R>_group_<G>" for every resource R of the
 * bundle, plus "bundle_group_<I>_<G>" and "bundle_group_<G>" (1000 units);
 * a task asking for bundle I asks for both names of each resource it wants
 * (so bundle -1 tasks never overbook), and 0.001 of the bundle names (so a
 * task or actor of no resources still lands on the bundle's node). <G> is
 * PG_POLICY_TAG_LEN hex digits of the group ID (bytes 4..15: its random part).
 */
#ifndef RAY_SCHED_PG_POLICY_H
#define RAY_SCHED_PG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/resources.h"

enum pg_strategy { PG_PACK = 0, PG_SPREAD = 1, PG_STRICT_PACK = 2, PG_STRICT_SPREAD = 3 };

#define PG_POLICY_TAG_LEN 24
/* Most bundles in one group. */
#define PG_MAX_BUNDLES 64

/* "PACK", "SPREAD", ... ; "?" out of range. */
const char *pg_strategy_name(int s);
/* The strategy named NAME, or -1. */
int pg_strategy_parse(const char *name);

struct pg_node_view {
    const struct res_set *total; /* what the node has */
    const struct res_set *avail; /* what is free now (reservations in flight taken off) */
    bool alive;
};

/*
 * Choose a node for every bundle of BUNDLES[NB] under STRATEGY. FIXED[i] >= 0
 * keeps bundle i where it is (a group being rescheduled: its surviving
 * bundles); -1 asks for a place; FIXED may be NULL (all -1). On success
 * OUT[i] is the node index of bundle i (FIXED ones copied) and it returns 0.
 * Returns -1 when the bundles do not fit the nodes' free resources now, and
 * sets *NEVER (may be NULL) when they would not fit even the empty nodes
 * (their totals): an infeasible group. Bundles placed on one node together
 * must fit it together. Deterministic: ties go to the lowest index.
 */
int pg_policy_place(const struct pg_node_view *nodes, size_t nn, const struct res_set *bundles,
                    size_t nb, int strategy, const int *fixed, int *out, bool *never);

/* The group tag of PG (PG_POLICY_TAG_LEN hex digits + NUL) into TAG. */
void pg_policy_tag(const uint8_t pg[20], char tag[PG_POLICY_TAG_LEN + 1]);

/*
 * What committed bundle INDEX (resources BUNDLE) of the group tagged TAG adds
 * to its node's total and free resources: into OUT (initialised; entries are
 * added to what is there). Returns 0, or -1 when a name would be too long
 * (a custom resource name longer than RES_NAME_MAX minus the suffix).
 */
int pg_policy_bundle_res(const struct res_set *bundle, int index, const char *tag,
                         struct res_set *out);

/*
 * Rewrite DEMAND (a task's or actor's) for bundle INDEX (-1: any) of the
 * group tagged TAG, in place: every resource R becomes R's group names, and
 * the bundle names are added. Returns 0, or -1 (a name too long).
 */
int pg_policy_demand(struct res_set *demand, int index, const char *tag);

/* GPUs DEMAND asks for, in units: its "GPU" plus, for work in a placement
 * group, its group-wide "GPU_group_<tag>" entries (which every GPU demand
 * of a group's work carries once). */
int64_t pg_policy_gpu_units(const struct res_set *demand);

/* True if NAME is a placement-group resource ("..._group_..."); with TAG
 * not NULL, one of that group's. */
bool pg_policy_is_group_res(const char *name, const char *tag);

/* Check and parse a bundle string ("CPU=1,GPU=1") into OUT (initialised).
 * Returns 0, or -1 with ERR: not a resource list, empty (no positive
 * amount), or a name too long once suffixed. */
int pg_policy_bundle_parse(const char *text, struct res_set *out, char *err, size_t errlen);

#endif
