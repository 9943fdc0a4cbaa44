/*
 * status_pg.c — the placement-group parts of `ray status`: resources
 * reserved by groups on each node (from the <p>pg:<id> records: bundles and
 * their nodes) and how much of them is in use (from the nodes' free
 * "<R>_group_<tag>" resources), and the groups still waiting for a place.
 */
#include "state/state.h"
#include "state/state_internal.h"

#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "sched/pg_policy.h"
#include "sched/resources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void state_pg_reserved_(struct gcs_sync *gs, const struct gcs_node *nodes, size_t n,
                        struct res_set *reserved)
{
    struct gcs_pg *v = NULL;
    size_t np = 0;
    if (gcs_sync_pgs(gs, &v, &np) < 0)
        return;
    for (size_t p = 0; p < np; p++) {
        if (strcmp(v[p].state, "CREATED") != 0 && strcmp(v[p].state, "RESCHEDULING") != 0)
            continue;
        char *bundles = strdup(v[p].bundles), *where = strdup(v[p].nodes ? v[p].nodes : "");
        char *bs = NULL, *ns = NULL;
        char *b = strtok_r(bundles, ";", &bs);
        /* nodes: one per bundle, "" for an unplaced one (so split by hand) */
        char *cursor = where;
        while (b && cursor) {
            char *comma = strchr(cursor, ',');
            if (comma)
                *comma = '\0';
            for (size_t i = 0; i < n && cursor[0]; i++)
                if (strcmp(nodes[i].node_id, cursor) == 0) {
                    struct res_set r = RES_SET_INIT;
                    char e[128];
                    if (res_parse(&r, b, e, sizeof e) == 0)
                        res_add(&reserved[i], &r);
                    res_free(&r);
                }
            cursor = comma ? comma + 1 : NULL;
            b = strtok_r(NULL, ";", &bs);
        }
        (void)ns;
        free(bundles);
        free(where);
    }
    gcs_pg_array_free(v, np);
}

void state_pg_free_(const struct res_set *avail, struct res_set *pgfree)
{
    for (size_t i = 0; i < avail->n; i++) {
        const char *name = avail->e[i].name;
        size_t len = strlen(name);
        if (len <= PG_POLICY_TAG_LEN + 7 ||
            memcmp(name + len - PG_POLICY_TAG_LEN - 7, "_group_", 7) != 0)
            continue;
        char r[RES_NAME_MAX + 1];
        size_t rl = len - PG_POLICY_TAG_LEN - 7;
        if (rl > RES_NAME_MAX)
            continue;
        memcpy(r, name, rl);
        r[rl] = '\0';
        if (strcmp(r, "bundle") == 0)
            continue;
        res_set_amount(pgfree, r, res_get(pgfree, r) + avail->e[i].amount);
    }
}

int state_pg_pending_(FILE *out, struct gcs_sync *gs)
{
    struct gcs_pg *v = NULL;
    size_t np = 0, shown = 0;
    if (gcs_sync_pgs(gs, &v, &np) < 0)
        return 0;
    for (size_t p = 0; p < np; p++) {
        if (strcmp(v[p].state, "PENDING") != 0 && strcmp(v[p].state, "RESCHEDULING") != 0)
            continue;
        if (shown++ == 0)
            fprintf(out, "Pending placement groups:\n");
        fprintf(out, " placement_group_%s%s%s: %s {%s} %s\n", v[p].pg_id, v[p].name[0] ? " " : "",
               v[p].name, v[p].strategy, v[p].bundles, v[p].state);
    }
    gcs_pg_array_free(v, np);
    return (int)shown;
}
