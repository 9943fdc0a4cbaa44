/*
 * global.c — the global scheduler's score (see global.h).
 *
 * Wait: how many tasks are ahead of this one on the node (its queue plus
 * what we sent it since its last report), less the task slots its free
 * resources open now; whatever is left waits SCHED_TASK_MS per task per
 * slot the node has in total. Transfer: the argument bytes not already on
 * the node, at SCHED_BYTES_PER_MS. So a node that holds a 100 MB argument
 * wins over an idle one unless it has 10 tasks per slot queued; a free node
 * with no data wins over a busy one with little.
 */
#include "sched/global.h"

#include "common/xmalloc.h"

#include <math.h>
#include <stdlib.h>

/* How many copies of DEMAND fit in SET (by the scarcest resource); a
 * demand of nothing fits "many". */
static double slots(const struct res_set *set, const struct res_set *demand)
{
    double best = 1e9;
    for (size_t i = 0; i < demand->n; i++) {
        int64_t want = demand->e[i].amount;
        if (want <= 0)
            continue;
        double have = (double)res_get(set, demand->e[i].name);
        double k = floor(have / (double)want);
        if (k < best)
            best = k;
    }
    return best;
}

double sched_cost(const struct sched_candidate *c, const struct res_set *demand, uint64_t arg_bytes)
{
    if (!c->alive || !res_fits(c->total, demand))
        return -1;
    double total_slots = slots(c->total, demand);
    double free_slots = slots(c->avail, demand);
    double ahead = (double)c->queue_len + c->assigned;
    double wait = 0;
    if (ahead + 1 > free_slots) {
        double per = total_slots > 0 ? total_slots : 1;
        wait = (ahead + 1 - free_slots) * SCHED_TASK_MS / per;
    }
    uint64_t missing = arg_bytes > c->local_bytes ? arg_bytes - c->local_bytes : 0;
    return wait + (double)missing / SCHED_BYTES_PER_MS;
}

int sched_pick(const struct sched_candidate *c, size_t n, const struct res_set *demand,
               uint64_t arg_bytes)
{
    int best = -1;
    double best_cost = 0;
    for (size_t i = 0; i < n; i++) {
        double cost = sched_cost(&c[i], demand, arg_bytes);
        if (cost < 0)
            continue;
        if (best < 0 || cost < best_cost) {
            best = (int)i;
            best_cost = cost;
        }
    }
    return best;
}

int sched_pick_now(const struct sched_candidate *c, size_t n, const struct res_set *demand,
                   uint64_t arg_bytes)
{
    int best = -1;
    double best_cost = 0;
    for (size_t i = 0; i < n; i++) {
        if (!res_fits(c[i].avail, demand) || slots(c[i].avail, demand) < (double)c[i].assigned + 1)
            continue;
        double cost = sched_cost(&c[i], demand, arg_bytes);
        if (cost < 0)
            continue;
        if (best < 0 || cost < best_cost) {
            best = (int)i;
            best_cost = cost;
        }
    }
    return best;
}

int sched_global_place(const struct sched_node_view *nodes, size_t n, size_t origin,
                       const struct res_set *demand, uint64_t origin_bytes, bool actor)
{
    struct sched_candidate *c = xcalloc(n ? n : 1, sizeof *c);
    size_t *which = xcalloc(n ? n : 1, sizeof *which);
    size_t k = 0;
    /* the submitting node first, so it wins ties */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            bool is_origin = i == origin;
            if ((pass == 0) != is_origin)
                continue;
            c[k].total = nodes[i].total;
            c[k].avail = nodes[i].avail;
            c[k].queue_len = nodes[i].queue_len;
            c[k].assigned = nodes[i].assigned;
            c[k].local_bytes = is_origin ? origin_bytes : 0;
            c[k].alive = nodes[i].alive;
            which[k++] = i;
        }
    /* an actor goes where it can start now, if any node can */
    int pick = actor ? sched_pick_now(c, k, demand, origin_bytes) : -1;
    if (pick < 0)
        pick = sched_pick(c, k, demand, origin_bytes);
    int at = pick < 0 ? -1 : (int)which[pick];
    free(c);
    free(which);
    return at;
}
