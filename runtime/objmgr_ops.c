/*
 * objmgr_ops.c — the runtime's side of the object manager (objmgr/): the
 * ops table it is built with (the node's connections, its cluster view,
 * the runtime's waiters, errors, tombstones and lineage), the routing of
 * its messages from node connections, and objmgr_want_here, the runtime's
 * one question before it asks for an object. The object manager calls the
 * runtime only through the functions here; the runtime calls it through
 * objmgr/objmgr.h. So the two folders include each other one way only.
 */
#include "runtime/objmgr_ops.h"
#include "runtime/cluster.h"
#include "runtime/objects.h"
#include "runtime/objlife.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"

#include "common/proto.h"
#include "objmgr/objmgr.h"

/* ---- the ops ---------------------------------------------------------------------- */

static uint64_t om_conn_id(const struct conn *c)
{
    return c->id;
}

static void om_watch_conn(void *ctx, struct conn *c)
{
    cluster_watch_peer(ctx, c);
}

static void om_unwatch_conn(void *ctx, struct conn *c)
{
    cluster_unwatch_peer(ctx, c);
}

static enum objmgr_node_state om_node_state(void *ctx, const char *hex)
{
    struct cluster_node *cn = cluster_find(ctx, hex);
    if (cn == NULL)
        return OBJMGR_NODE_UNKNOWN;
    return cluster_node_alive(cn) ? OBJMGR_NODE_ALIVE : OBJMGR_NODE_DEAD;
}

static struct conn *om_node_conn(void *ctx, const char *hex)
{
    return cluster_conn(ctx, hex);
}

static bool om_has_waiters(void *ctx, const uint8_t *id)
{
    struct runtime *rt = ctx;
    return objects_waited_for(rt, id);
}

static void om_sealed(void *ctx, const uint8_t *id, uint64_t size)
{
    objects_sealed(ctx, id, size);
}

static void om_put_error(void *ctx, const uint8_t *id, int code, const char *msg)
{
    objects_put_error(ctx, id, code, msg);
}

static bool om_gone(void *ctx, const uint8_t *id)
{
    return objlife_gone(ctx, id, NULL) != 0;
}

static void om_answer_gone(void *ctx, const uint8_t *id)
{
    objlife_answer_now(ctx, id);
}

static int om_lineage_lost(void *ctx, const uint8_t *id, const struct gcs_task *gt,
                           const char *lost_from, char *why, size_t whylen)
{
    return spill_lineage_lost(ctx, id, gt, lost_from, why, whylen);
}

static const struct objmgr_ops rt_objmgr_ops = {
    .send = conn_send_raw,
    .send_ref = conn_send_ref,
    .outbuf_len = conn_outbuf_len,
    .on_drain = conn_on_drain,
    .conn_id = om_conn_id,
    .watch_conn = om_watch_conn,
    .unwatch_conn = om_unwatch_conn,
    .node_state = om_node_state,
    .node_conn = om_node_conn,
    .has_waiters = om_has_waiters,
    .sealed = om_sealed,
    .put_error = om_put_error,
    .gone = om_gone,
    .answer_gone = om_answer_gone,
    .lineage_lost = om_lineage_lost,
};

/* ---- messages and calls in ------------------------------------------------------- */

/* NODE_OBJ_PULL / _HEADER / _CHUNK / _CANCEL: only nodes send them. */
static int h_objmgr(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE || rt->om == NULL)
        return -1;
    return objmgr_on_message(rt->om, c, m);
}

void objmgr_want_here(struct runtime *rt, const uint8_t *id)
{
    if (rt->om == NULL || rt->stopping || objects_have(rt, id) || tasks_expected_here(rt, id) ||
        cluster_alive_others(rt) == 0)
        return;
    objmgr_want(rt->om, id);
}

static const uint32_t objmgr_msgs[] = { PROTO_NODE_OBJ_PULL, PROTO_NODE_OBJ_HEADER,
                                        PROTO_NODE_OBJ_CHUNK, PROTO_NODE_OBJ_CANCEL };

void rt_objmgr_init(struct runtime *rt)
{
    rt->om = objmgr_new(rt->n->base, rt->n->store, rt->n->gcs, rt->n->hex, &rt_objmgr_ops, rt);
    for (size_t i = 0; i < sizeof objmgr_msgs / sizeof objmgr_msgs[0]; i++)
        server_on(rt->n->srv, objmgr_msgs[i], h_objmgr, rt);
}

void rt_objmgr_free(struct runtime *rt)
{
    if (rt->om == NULL)
        return;
    for (size_t i = 0; i < sizeof objmgr_msgs / sizeof objmgr_msgs[0]; i++)
        server_on(rt->n->srv, objmgr_msgs[i], NULL, NULL);
    objmgr_free(rt->om);
    rt->om = NULL;
}
