/*
 * pg_policy.c — where a placement group's bundles go, and the resource
 * names of reserved bundles (pg_policy.h). Pure functions over snapshots.
 *
 * DESIGN. The head calls pg_policy_place with every node's free resources
 * (less what is being prepared elsewhere) and then reserves the result in
 * two phases (runtime/pg.c); a node that refuses its part makes the head try
 * again later, so a stale view costs a retry, never a wrong reservation.
 * STRICT_PACK wants one node with room for all; PACK takes that if it can,
 * else fills the nodes it already uses before opening new ones; SPREAD puts
 * each bundle on the node with the fewest bundles of the group; STRICT_SPREAD
 * wants distinct nodes and searches (with backtracking) for an assignment.
 */
#include "sched/pg_policy.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = { "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD" };

const char *pg_strategy_name(int s)
{
    return s >= 0 && s < 4 ? names[s] : "?";
}

int pg_strategy_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ---- placement -------------------------------------------------------------- */

struct work {
    const struct pg_node_view *nodes;
    size_t nn;
    const struct res_set *bundles;
    size_t nb;
    struct res_set *avail; /* working copies, one per node */
    int *count;            /* bundles of the group on each node */
    int *out;
};

static bool fits_now(struct work *w, size_t node, size_t b)
{
    return w->nodes[node].alive && res_fits(&w->avail[node], &w->bundles[b]);
}

static void take(struct work *w, size_t node, size_t b)
{
    res_sub(&w->avail[node], &w->bundles[b]);
    w->count[node]++;
    w->out[b] = (int)node;
}

static void give(struct work *w, size_t node, size_t b)
{
    res_add(&w->avail[node], &w->bundles[b]);
    w->count[node]--;
    w->out[b] = -1;
}

/* STRICT_SPREAD: bundle B onwards on nodes with no bundle yet. Bounded by a
 * step budget so a hopeless search over many nodes ends. */
static bool spread_strict(struct work *w, size_t b, long *budget)
{
    while (b < w->nb && w->out[b] >= 0)
        b++;
    if (b == w->nb)
        return true;
    for (size_t i = 0; i < w->nn; i++) {
        if (--*budget < 0)
            return false;
        if (w->count[i] > 0 || !fits_now(w, i, b))
            continue;
        take(w, i, b);
        if (spread_strict(w, b + 1, budget))
            return true;
        give(w, i, b);
    }
    return false;
}

/* The sum of the bundles still to place fits NODE's working avail. */
static bool all_fit(struct work *w, size_t node)
{
    struct res_set sum = RES_SET_INIT;
    for (size_t b = 0; b < w->nb; b++)
        if (w->out[b] < 0)
            res_add(&sum, &w->bundles[b]);
    bool ok = w->nodes[node].alive && res_fits(&w->avail[node], &sum);
    res_free(&sum);
    return ok;
}

static void place_all_on(struct work *w, size_t node)
{
    for (size_t b = 0; b < w->nb; b++)
        if (w->out[b] < 0)
            take(w, node, b);
}

static bool never_fits(const struct pg_node_view *nodes, size_t nn, const struct res_set *bundles,
                       size_t nb, int strategy)
{
    if (strategy == PG_STRICT_PACK) {
        struct res_set sum = RES_SET_INIT;
        for (size_t b = 0; b < nb; b++)
            res_add(&sum, &bundles[b]);
        bool any = false;
        for (size_t i = 0; i < nn && !any; i++)
            any = nodes[i].alive && res_fits(nodes[i].total, &sum);
        res_free(&sum);
        return !any;
    }
    size_t alive = 0;
    for (size_t i = 0; i < nn; i++)
        alive += nodes[i].alive;
    if (strategy == PG_STRICT_SPREAD && alive < nb)
        return true;
    for (size_t b = 0; b < nb; b++) {
        bool any = false;
        for (size_t i = 0; i < nn && !any; i++)
            any = nodes[i].alive && res_fits(nodes[i].total, &bundles[b]);
        if (!any)
            return true;
    }
    return false;
}

int pg_policy_place(const struct pg_node_view *nodes, size_t nn, const struct res_set *bundles,
                    size_t nb, int strategy, const int *fixed, int *out, bool *never)
{
    if (never)
        *never = false;
    if (nb == 0)
        return 0;
    struct work w = { nodes, nn, bundles, nb, NULL, NULL, out };
    w.avail = xcalloc(nn ? nn : 1, sizeof *w.avail);
    w.count = xcalloc(nn ? nn : 1, sizeof *w.count);
    for (size_t i = 0; i < nn; i++)
        res_copy(&w.avail[i], nodes[i].avail);
    int first_fixed = -1;
    for (size_t b = 0; b < nb; b++) {
        out[b] = fixed && fixed[b] >= 0 && (size_t)fixed[b] < nn ? fixed[b] : -1;
        if (out[b] >= 0) {
            w.count[out[b]]++;
            if (first_fixed < 0)
                first_fixed = out[b];
        }
    }
    bool ok = true;
    switch (strategy) {
    case PG_STRICT_PACK:
        ok = false;
        for (size_t i = 0; i < nn && !ok; i++) {
            if (first_fixed >= 0 && (size_t)first_fixed != i)
                continue;
            if (all_fit(&w, i)) {
                place_all_on(&w, i);
                ok = true;
            }
        }
        break;
    case PG_PACK: {
        /* one node for all (preferring one the group uses), else greedy */
        int one = -1;
        if (first_fixed >= 0 && all_fit(&w, (size_t)first_fixed))
            one = first_fixed;
        for (size_t i = 0; i < nn && one < 0; i++)
            if (all_fit(&w, i))
                one = (int)i;
        if (one >= 0) {
            place_all_on(&w, (size_t)one);
            break;
        }
        for (size_t b = 0; b < nb && ok; b++) {
            if (out[b] >= 0)
                continue;
            int best = -1;
            for (size_t i = 0; i < nn; i++)
                if (fits_now(&w, i, b) && (best < 0 || w.count[i] > w.count[best]))
                    best = (int)i;
            if (best < 0)
                ok = false;
            else
                take(&w, (size_t)best, b);
        }
        break;
    }
    case PG_SPREAD:
        for (size_t b = 0; b < nb && ok; b++) {
            if (out[b] >= 0)
                continue;
            int best = -1;
            for (size_t i = 0; i < nn; i++)
                if (fits_now(&w, i, b) && (best < 0 || w.count[i] < w.count[best]))
                    best = (int)i;
            if (best < 0)
                ok = false;
            else
                take(&w, (size_t)best, b);
        }
        break;
    case PG_STRICT_SPREAD: {
        /* fixed bundles must already be on distinct nodes */
        for (size_t i = 0; i < nn && ok; i++)
            if (w.count[i] > 1)
                ok = false;
        long budget = 100000;
        if (ok)
            ok = spread_strict(&w, 0, &budget);
        break;
    }
    default:
        ok = false;
    }
    for (size_t i = 0; i < nn; i++)
        res_free(&w.avail[i]);
    free(w.avail);
    free(w.count);
    if (ok)
        return 0;
    if (never)
        *never = never_fits(nodes, nn, bundles, nb, strategy);
    return -1;
}

/* ---- names ------------------------------------------------------------------- */

void pg_policy_tag(const uint8_t pg[20], char tag[PG_POLICY_TAG_LEN + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < PG_POLICY_TAG_LEN / 2; i++) {
        tag[2 * i] = hx[pg[4 + i] >> 4];
        tag[2 * i + 1] = hx[pg[4 + i] & 15];
    }
    tag[PG_POLICY_TAG_LEN] = '\0';
}

/* "<R>_group_<I>_<tag>" (INDEX >= 0) or "<R>_group_<tag>" into OUT. -1 if too long. */
static int group_name(char *out, size_t outlen, const char *r, int index, const char *tag)
{
    int n = index >= 0 ? snprintf(out, outlen, "%s_group_%d_%s", r, index, tag)
                       : snprintf(out, outlen, "%s_group_%s", r, tag);
    return n < 0 || (size_t)n > RES_NAME_MAX || (size_t)n >= outlen ? -1 : 0;
}

static int add_amount(struct res_set *s, const char *name, int64_t amount)
{
    int64_t have = res_get(s, name);
    if (amount > RES_AMOUNT_MAX - have)
        return -1;
    return res_set_amount(s, name, have + amount);
}

#define PG_BUNDLE_UNITS res_units(1000)
#define PG_BUNDLE_TASK_UNITS (RES_SCALE / 1000)

int pg_policy_bundle_res(const struct res_set *bundle, int index, const char *tag,
                         struct res_set *out)
{
    char name[RES_NAME_MAX + 16];
    for (size_t i = 0; i < bundle->n; i++) {
        if (bundle->e[i].amount == 0)
            continue;
        if (group_name(name, sizeof name, bundle->e[i].name, index, tag) < 0 ||
            add_amount(out, name, bundle->e[i].amount) < 0)
            return -1;
        if (group_name(name, sizeof name, bundle->e[i].name, -1, tag) < 0 ||
            add_amount(out, name, bundle->e[i].amount) < 0)
            return -1;
    }
    if (group_name(name, sizeof name, "bundle", index, tag) < 0 ||
        add_amount(out, name, PG_BUNDLE_UNITS) < 0)
        return -1;
    if (group_name(name, sizeof name, "bundle", -1, tag) < 0 ||
        add_amount(out, name, PG_BUNDLE_UNITS) < 0)
        return -1;
    return 0;
}

int pg_policy_demand(struct res_set *demand, int index, const char *tag)
{
    struct res_set out = RES_SET_INIT;
    char name[RES_NAME_MAX + 16];
    int rc = 0;
    for (size_t i = 0; i < demand->n && rc == 0; i++) {
        if (demand->e[i].amount == 0)
            continue;
        if (index >= 0 && (group_name(name, sizeof name, demand->e[i].name, index, tag) < 0 ||
                           add_amount(&out, name, demand->e[i].amount) < 0))
            rc = -1;
        else if (group_name(name, sizeof name, demand->e[i].name, -1, tag) < 0 ||
                 add_amount(&out, name, demand->e[i].amount) < 0)
            rc = -1;
    }
    if (rc == 0 && (group_name(name, sizeof name, "bundle", index, tag) < 0 ||
                    add_amount(&out, name, PG_BUNDLE_TASK_UNITS) < 0))
        rc = -1;
    if (rc < 0) {
        res_free(&out);
        return -1;
    }
    res_free(demand);
    *demand = out;
    return 0;
}

int64_t pg_policy_gpu_units(const struct res_set *demand)
{
    int64_t n = res_get(demand, RES_GPU);
    for (size_t i = 0; i < demand->n; i++) {
        const char *name = demand->e[i].name;
        if (strncmp(name, "GPU_group_", 10) == 0 && strlen(name + 10) == PG_POLICY_TAG_LEN)
            n += demand->e[i].amount;
    }
    return n;
}

bool pg_policy_is_group_res(const char *name, const char *tag)
{
    const char *g = strstr(name, "_group_");
    if (g == NULL)
        return false;
    if (tag == NULL)
        return true;
    size_t n = strlen(name), t = strlen(tag);
    return n > t && strcmp(name + n - t, tag) == 0 && name[n - t - 1] == '_';
}

int pg_policy_bundle_parse(const char *text, struct res_set *out, char *err, size_t errlen)
{
    if (res_parse(out, text ? text : "", err, errlen) < 0)
        return -1;
    if (res_is_empty(out)) {
        snprintf(err, errlen, "a bundle needs at least one resource with an amount above 0");
        res_free(out);
        return -1;
    }
    struct res_set probe = RES_SET_INIT;
    char tag[PG_POLICY_TAG_LEN + 1];
    memset(tag, 'f', PG_POLICY_TAG_LEN);
    tag[PG_POLICY_TAG_LEN] = '\0';
    int rc = pg_policy_bundle_res(out, PG_MAX_BUNDLES - 1, tag, &probe);
    res_free(&probe);
    if (rc < 0) {
        snprintf(err, errlen, "a resource name is too long for a bundle (at most %d characters)",
                 RES_NAME_MAX - 10 - 3 - PG_POLICY_TAG_LEN);
        res_free(out);
        return -1;
    }
    return 0;
}
