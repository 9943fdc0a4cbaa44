/*
 * actor_direct.c — the node's part of direct actor calls (docs/direct.md
 * "Actor calls"): a driver on this node asks once per actor for the
 * actor's worker (ACTOR_LEASE_REQUEST) and then writes its calls to that
 * worker's direct socket itself; the worker reports them here in its
 * DIRECT_DONE batches (runtime/lease.c). Two messages:
 *
 *  - ACTOR_LEASE_REQUEST(actor): answered at once with ACTOR_LEASE_GRANT
 *    (status 0 and the worker's ID, or 1 and why not: actors_direct_check).
 *    Nothing is held: the actor's worker keeps taking the node's calls of
 *    other callers, and the grant ends with the worker (its socket closes).
 *  - DIRECT_ACTOR_LOST(actor, worker, batch): the driver's direct calls
 *    unanswered when its socket to that worker closed; each whose first
 *    return is not stored fails with RAY_EACTOR and the actor's reason, as
 *    the node path fails the calls its dying worker may have run: once the
 *    node has handled the worker's going (actors_direct_lost), so the
 *    message names the signal or the kill and a result the worker's last
 *    batch brought is kept.
 */
#include "runtime/actor_direct.h"

#include "common/direct_wire.h"
#include "common/log.h"
#include "common/proto.h"
#include "ray.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/lease.h"
#include "runtime/objects.h"

#include <string.h>

static int h_actor_lease(struct conn *c, const struct proto_msg *m, void *arg)
{
    static const uint8_t zero[IDS_SIZE];
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return -1;
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr, *w = NULL;
    const char *why = !client_is_driver(cl) || client_worker(cl) != NULL
                          ? "only a driver may call an actor's worker directly"
                          : actors_direct_check(rt, id, client_store_id(cl), &w);
    conn_send(c, PROTO_ACTOR_LEASE_GRANT, id, (int64_t)(why ? 1 : RAY_OK), w ? w : zero,
              why ? why : "");
    return 0;
}

static int h_actor_lost(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || !client_is_driver(cl))
        return -1;
    const uint8_t *actor = (const uint8_t *)m->f[0].as.s.ptr;
    const uint8_t *worker = (const uint8_t *)m->f[1].as.s.ptr;
    struct mpr r;
    uint32_t n;
    struct direct_entry e;
    if (direct_batch_open(&r, m->f[2].as.s.ptr, m->f[2].as.s.len, &n) < 0) {
        log_warnx("malformed DIRECT_ACTOR_LOST from %s", c->peer);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (direct_batch_next(&r, &e) < 0) {
            log_warnx("malformed DIRECT_ACTOR_LOST entry %u from %s", i, c->peer);
            break;
        }
        if (e.status != 0)
            actors_direct_lost(rt, actor, worker, &e);
    }
    return 0;
}

void actor_direct_init(struct runtime *rt)
{
    server_on(rt->n->srv, PROTO_ACTOR_LEASE_REQUEST, h_actor_lease, rt);
    server_on(rt->n->srv, PROTO_DIRECT_ACTOR_LOST, h_actor_lost, rt);
}
