/*
 * spillback.c — the spillback policy (see spillback.h).
 */
#include "sched/spillback.h"

bool sched_spill_should(const struct sched_spill_view *v)
{
    if (v->placed || v->actor_call || v->others <= 0 || !v->head_reachable)
        return false;
    if (!res_fits(v->total, v->demand))
        return true;
    /* an actor holds what it takes for its whole life: one that does not fit
     * now would wait for another actor to die, so it goes where it fits */
    if (v->actor && !res_fits(v->avail, v->demand))
        return true;
    return v->queued > v->threshold;
}
