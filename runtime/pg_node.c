/*
 * pg_node.c — every node's part of placement groups (pg.h): bundles the
 * head asked it to prepare (their resources taken from what it has free)
 * and commit (turned into the bundle's own resource names), their release
 * on removal or a failed attempt (the group's work here is failed or
 * killed), and the tombstones of removed groups. The head calls these
 * directly for its own bundles; other nodes get NODE_PG_* messages.
 */
#include "runtime/pg_internal.h"
#include "runtime/actors.h"
#include "runtime/workers.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "ray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_TOMBSTONES 4096

/* What this node holds of a group. */
struct held_bundle {
    int index;
    uint64_t attempt;
    bool committed;
    struct res_set phys;     /* taken from the node's free resources */
    struct res_set group;    /* added once committed */
};
struct held {
    uint8_t id[IDS_SIZE];
    char tag[PG_POLICY_TAG_LEN + 1];
    struct held_bundle *b;
    size_t n;
};

/* This node's part of placement groups (rt->pgn). */
struct pg_node {
    struct idmap removed;    /* tombstones, id -> (void *)1 */
    uint8_t (*tomb)[IDS_SIZE];
    size_t ntomb, tomb_next;
    struct idmap held;       /* id -> struct held */
};

static struct pg_node *PN(struct runtime *rt)
{
    return rt->pgn;
}

/* ---- tombstones ----------------------------------------------------------------- */

bool pg_is_removed_(struct runtime *rt, const uint8_t *id)
{
    return idmap_get(&PN(rt)->removed, id) != NULL;
}

void pg_tomb_add_(struct runtime *rt, const uint8_t *id)
{
    struct pg_node *p = PN(rt);
    if (idmap_get(&p->removed, id))
        return;
    if (p->ntomb == PG_TOMBSTONES) {
        uint8_t *old = p->tomb[p->tomb_next];
        idmap_del(&p->removed, old);
        if (is_head(rt)) {
            /* its REMOVED record goes too, in the next batch (record_flush) */
            pg_trim_add_(rt, old);
        }
    } else {
        p->ntomb++;
    }
    memcpy(p->tomb[p->tomb_next], id, IDS_SIZE);
    p->tomb_next = (p->tomb_next + 1) % PG_TOMBSTONES;
    idmap_put(&p->removed, id, (void *)1);
}

/* ---- the node's part: prepared and committed bundles ------------------------------ */

static struct held *held_get(struct runtime *rt, const uint8_t *id, bool make)
{
    struct held *h = idmap_get(&PN(rt)->held, id);
    if (h == NULL && make) {
        h = xcalloc(1, sizeof *h);
        memcpy(h->id, id, IDS_SIZE);
        pg_policy_tag(id, h->tag);
        idmap_put(&PN(rt)->held, id, h);
    }
    return h;
}

/* Drop the entries of the group tagged TAG from S. */
static bool has_tag(const char *name, void *tag)
{
    return pg_policy_is_group_res(name, tag);
}

static void strip_tag(struct res_set *s, const char *tag)
{
    res_drop_if(s, has_tag, (void *)tag);
}

/* Reserve bundle INDEX (RES) of group ID for ATTEMPT. Returns RAY_OK or -1. */
int pg_node_prepare_(struct runtime *rt, const uint8_t *id, uint64_t attempt, int index,
                        const char *res)
{
    if (idmap_get(&PN(rt)->removed, id))
        return -1;
    struct res_set phys = RES_SET_INIT;
    char err[200];
    if (res_parse(&phys, res, err, sizeof err) < 0) {
        log_warnx("placement group bundle \"%s\": %s", res, err);
        return -1;
    }
    struct held *h = held_get(rt, id, true);
    for (size_t i = 0; i < h->n; i++)
        if (h->b[i].index == index) { /* already ours (a repeated prepare) */
            res_free(&phys);
            return h->b[i].committed ? RAY_OK : (h->b[i].attempt == attempt ? RAY_OK : -1);
        }
    if (!res_fits(&rt->n->avail, &phys)) {
        res_free(&phys);
        if (h->n == 0) {
            idmap_del(&PN(rt)->held, id);
            free(h);
        }
        return -1;
    }
    res_sub(&rt->n->avail, &phys);
    h->b = xreallocarray(h->b, h->n + 1, sizeof *h->b);
    struct held_bundle *b = &h->b[h->n++];
    memset(b, 0, sizeof *b);
    b->index = index;
    b->attempt = attempt;
    b->phys = phys;
    return RAY_OK;
}

void pg_node_commit_(struct runtime *rt, const uint8_t *id, uint64_t attempt)
{
    struct held *h = held_get(rt, id, false);
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        struct held_bundle *b = &h->b[i];
        if (b->committed || b->attempt != attempt)
            continue;
        res_init(&b->group);
        if (pg_policy_bundle_res(&b->phys, b->index, h->tag, &b->group) < 0)
            log_warnx("placement group %s: bundle %d: names too long", h->tag, b->index);
        res_add(&rt->n->total, &b->group);
        res_add(&rt->n->avail, &b->group);
        b->committed = true;
    }
    tasks_schedule(rt);
}

static bool task_in_tag(const struct task *t, void *arg)
{
    for (size_t i = 0; i < task_demand(t)->n; i++)
        if (pg_policy_is_group_res(task_demand(t)->e[i].name, arg))
            return true;
    return false;
}

/* The group's running tasks and actors here: kill them (removal). */
static void kill_group_work(struct runtime *rt, const char *tag)
{
    char msg[200];
    snprintf(msg, sizeof msg, "its placement group (%s) was removed", tag);
    tasks_fail_where(rt, task_in_tag, (void *)tag, RAY_EPG, msg);
    for (struct worker *w = workers_first(rt); w; w = worker_next(w)) {
        if (worker_state(w) == WORKER_DEAD || worker_actor(w))
            continue;
        if (worker_task(w) && task_in_tag(worker_task(w), (void *)tag)) {
            task_set_retries_left(worker_task(w), 0);
            task_set_pg_removed(worker_task(w), true);
            workers_kill(rt, w);
        }
    }
    actors_kill_pg(rt, tag);
}

/* Give back what ATTEMPT (0: every attempt, committed bundles too) of group
 * ID holds here; REMOVED: the group is gone (kill its work, remember it). */
void pg_node_release_(struct runtime *rt, const uint8_t *id, uint64_t attempt, bool removed)
{
    struct held *h = held_get(rt, id, false);
    if (removed)
        pg_tomb_add_(rt, id);
    char tag[PG_POLICY_TAG_LEN + 1];
    pg_policy_tag(id, tag);
    if (removed)
        kill_group_work(rt, tag);
    if (h == NULL)
        return;
    size_t k = 0;
    bool any_committed = false;
    for (size_t i = 0; i < h->n; i++) {
        struct held_bundle *b = &h->b[i];
        if (attempt != 0 && (b->committed || b->attempt != attempt)) {
            h->b[k++] = *b;
            continue;
        }
        any_committed |= b->committed;
        res_add(&rt->n->avail, &b->phys);
        res_free(&b->phys);
        res_free(&b->group);
    }
    h->n = k;
    if (any_committed && k == 0) {
        /* running work's share comes back when it ends; drop the names now */
        strip_tag(&rt->n->total, h->tag);
        strip_tag(&rt->n->avail, h->tag);
    } else if (any_committed) {
        log_warnx("placement group %s: partial release of committed bundles", h->tag);
    }
    if (h->n == 0) {
        idmap_del(&PN(rt)->held, id);
        free(h->b);
        free(h);
    }
    tasks_schedule(rt);
}

/* Work that ended after its group's release gave its bundle resources back
 * to names that are gone: drop them again (called on the tick). */
void pg_node_sweep_(struct runtime *rt)
{
    for (size_t i = 0; i < rt->n->avail.n; i++) {
        const char *name = rt->n->avail.e[i].name;
        if (!pg_policy_is_group_res(name, NULL))
            continue;
        size_t len = strlen(name);
        if (len < PG_POLICY_TAG_LEN)
            continue;
        const char *tag = name + len - PG_POLICY_TAG_LEN;
        if (!res_has(&rt->n->total, name)) {
            char t[PG_POLICY_TAG_LEN + 1];
            memcpy(t, tag, sizeof t);
            strip_tag(&rt->n->avail, t);
            i = (size_t)-1; /* start over: the set changed */
        }
    }
}

static int h_node_prepare(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    char res[1024];
    snprintf(res, sizeof res, "%.*s", (int)m->f[3].as.s.len, m->f[3].as.s.ptr);
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr;
    int rc = pg_node_prepare_(rt, id, m->f[1].as.u, (int)m->f[2].as.u, res);
    conn_send(c, PROTO_NODE_PG_PREPARED, id, m->f[1].as.u, m->f[2].as.u, (int64_t)rc);
    return 0;
}

static int h_node_commit(struct conn *c, const struct proto_msg *m, void *arg)
{
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    pg_node_commit_(arg, (const uint8_t *)m->f[0].as.s.ptr, m->f[1].as.u);
    return 0;
}

static int h_node_release(struct conn *c, const struct proto_msg *m, void *arg)
{
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    pg_node_release_(arg, (const uint8_t *)m->f[0].as.s.ptr, m->f[1].as.u, m->f[2].as.b);
    return 0;
}

void pg_node_init_(struct runtime *rt)
{
    struct pg_node *pn = xcalloc(1, sizeof *pn);
    pn->tomb = xcalloc(PG_TOMBSTONES, sizeof *pn->tomb);
    rt->pgn = pn;
    struct server *s = rt->n->srv;
    server_on(s, PROTO_NODE_PG_PREPARE, h_node_prepare, rt);
    server_on(s, PROTO_NODE_PG_COMMIT, h_node_commit, rt);
    server_on(s, PROTO_NODE_PG_RELEASE, h_node_release, rt);
}

void pg_node_free_(struct runtime *rt)
{
    struct pg_node *p = PN(rt);
    if (p == NULL)
        return;
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&p->held, &pos)) != NULL) {
        pos++;
        struct held *h = s->val;
        for (size_t i = 0; i < h->n; i++) {
            res_free(&h->b[i].phys);
            res_free(&h->b[i].group);
        }
        free(h->b);
        free(h);
    }
    idmap_free(&p->held);
    idmap_free(&p->removed);
    free(p->tomb);
    free(p);
    rt->pgn = NULL;
}
