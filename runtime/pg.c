/*
 * pg.c — placement groups in the node (pg.h, SPEC section 12): the head's
 * group manager and clients' requests; every node's bundles are in
 * pg_node.c.
 *
 * DESIGN. The head owns every group: clients' PG_CREATE / PG_WAIT /
 * PG_REMOVE / PG_LOOKUP reach it (a worker node forwards them on its head
 * connection and routes the answer back to its client). A new group is
 * PENDING and queued; the head picks nodes for its bundles with
 * sched/pg_policy.c over its node view, then reserves in two phases: every
 * chosen node gets NODE_PG_PREPARE per bundle and takes the bundle's
 * resources out of what it has free (or refuses: its view was stale); when
 * all said yes the head sends NODE_PG_COMMIT and the nodes turn the held
 * resources into the bundle's own names (CPU_group_<i>_<tag>, ...), which
 * only the group's tasks ask for. A refusal, or no answer within
 * PG_PREPARE_TIMEOUT_MS, releases the attempt everywhere and the group waits
 * for the next try (every PG_RETRY_MS while any group waits; groups being
 * rescheduled go first). The head's own node takes part by direct calls.
 *
 * Tasks and actors of a group travel the ordinary way: their demand names
 * the bundle resources, so the submitting node spills them to the head,
 * where pg_route sends them to the node holding their bundle (parking them
 * while it is not placed, failing them with RAY_EPG for a removed group or a
 * bad index). ray_pg_wait is a query the client repeats until its deadline:
 * the head answers at once, from memory, and never runs a task for it.
 *
 * Removal (ray_pg_remove, the creating job's end) sends NODE_PG_RELEASE to
 * every node: holders give the resources back, fail the group's queued work
 * with RAY_EPG and kill its running tasks and actors; every node remembers
 * the group as removed (a bounded tombstone list) so later work of it fails
 * at once. A dead node's bundles are placed again (RESCHEDULING, then
 * CREATED) while the other bundles keep what runs in them.
 *
 * Records: <p>pg:<id> (gcs_pg_put) with state, bundles and their nodes.
 * Removed groups stay listed as REMOVED until PG_TOMBSTONES newer removals
 * push them out. Everything runs on the loop thread.
 */
#include "runtime/pg.h"
#include "runtime/pg_internal.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/internal.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "gcs/gcs.h"
#include "gcs/gcs_keys.h"
#include "ray.h"
#include "sched/pg_policy.h"
#include "sched/pg_spec.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client's request forwarded to the head. */
struct fwdreq {
    uint64_t reqid;          /* ours, on the head connection */
    uint64_t client_reqid;
    struct conn *conn;
    uint64_t conn_id;
    uint32_t type;           /* the reply's type */
    long long sent_ms;
    struct buf frame;        /* the request as sent: sent again to a new head */
    char head[IDS_HEX_SIZE]; /* the head it was sent to */
    struct fwdreq *next;
};

/* The head's group manager and every node's forwarded requests. */
struct pgs {
    struct idmap live;       /* head: id -> struct pg (not removed) */
    struct pg *queue;        /* head: groups waiting for a place, rescheduled first */
    struct event *retry_ev;
    struct fwdreq *fwd;
    uint64_t next_fwd;
    uint64_t next_attempt;
    struct pg *rec_head;     /* records to write (pg_record) */
    struct event *rec_ev;
    uint8_t (*trim)[IDS_SIZE]; /* removed groups whose records are trimmed next */
    size_t ntrim;
};

#define PG_PREPARE_TIMEOUT_MS 3000
#define PG_RETRY_MS 100
#define PG_FWD_TIMEOUT_MS 60000
#define PG_RECORD_DELAY_MS 50

/* PG_WAIT's answer for a group not placed yet (RAY_OK: created). */
#define PG_WAIT_PENDING 1

enum pg_state { PGS_PENDING, PGS_CREATED, PGS_RESCHEDULING, PGS_REMOVED };
static const char *const state_names[] = { "PENDING", "CREATED", "RESCHEDULING", "REMOVED" };

/* A task or actor constructor waiting at the head for its bundle. */
struct parked {
    uint64_t kind;
    struct buf spec;
    char origin[IDS_HEX_SIZE];
    char lib[65];
    struct parked *next;
};

/* A group, at the head. */
struct pg {
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    char tag[PG_POLICY_TAG_LEN + 1];
    char *name;              /* NULL: unnamed */
    int strategy;
    uint32_t job;
    bool has_creator;        /* made by a detached actor: lives as long as it does */
    uint8_t creator[IDS_SIZE];
    enum pg_state state;
    size_t nb;
    struct res_set *bundles;
    char **bundle_text;      /* as the user wrote them, normalised */
    char (*node)[IDS_HEX_SIZE]; /* committed node of each bundle ("" none) */
    /* the attempt under way (attempt != 0 while preparing) */
    uint64_t attempt;
    char (*trying)[IDS_HEX_SIZE]; /* node of each bundle in this attempt ("" not in it) */
    int awaiting;
    bool refused;
    struct event *timeout;
    bool warned;             /* infeasible: said once */
    struct parked *parked, *parked_tail;
    bool queued;
    struct pg *qnext;
    bool rec_queued;         /* its record waits in the write-behind list */
    struct pg *rec_next;
    struct runtime *rt;
};

/* ---- the head: groups ------------------------------------------------------------------ */

static void pg_record_now(struct runtime *rt, struct pg *g)
{
    struct buf bundles = BUF_INIT, nodes = BUF_INIT;
    for (size_t i = 0; i < g->nb; i++) {
        if (i) {
            buf_append(&bundles, ";", 1);
            buf_append(&nodes, ",", 1);
        }
        buf_append(&bundles, g->bundle_text[i], strlen(g->bundle_text[i]));
        buf_append(&nodes, g->node[i], strlen(g->node[i]));
    }
    buf_append(&bundles, "", 1);
    buf_append(&nodes, "", 1);
    char job[16];
    snprintf(job, sizeof job, "%08x", g->job);
    struct gcs_pg rec = { .pg_id = g->hex, .name = g->name ? g->name : "",
                          .strategy = (char *)pg_strategy_name(g->strategy),
                          .bundles = bundles.data, .state = (char *)state_names[g->state],
                          .job = job, .nodes = nodes.data };
    gcs_pg_put(rt->n->gcs, &rec, NULL, NULL);
    buf_free(&bundles);
    buf_free(&nodes);
}

/* A record written behind: the latest state of a group (or the last one of
 * a removed group), written within PG_RECORD_DELAY_MS; a group made and
 * removed meanwhile costs one write, not three. */
static void record_flush(struct runtime *rt);

static void pg_record(struct runtime *rt, struct pg *g)
{
    struct pgs *p = P(rt);
    if (g->rec_queued)
        return;
    g->rec_queued = true;
    g->rec_next = p->rec_head;
    p->rec_head = g;
    if (!evtimer_pending(p->rec_ev, NULL)) {
        struct timeval tv = { 0, PG_RECORD_DELAY_MS * 1000 };
        evtimer_add(p->rec_ev, &tv);
    }
}

/*
 * Write G's queued record now, ahead of the others: a wait is about to be
 * told G is CREATED, and `ray list placement-groups` run by whoever hears
 * it must list it so (as Ray's state API does once pg.ready() returns).
 * Written behind, the record came up to PG_RECORD_DELAY_MS after the
 * answer: a listing made at once (a few ms) found no row, which is
 * test_pg_restart's "listed CREATED ()". Now the write is queued to Redis
 * before the answer to the client and both leave in the same loop turn; a
 * listing by whoever heard the answer comes after. The same for a group
 * ray_pg_remove removed (its REMOVED row: "the group is listed REMOVED"),
 * which is freed here then, as record_flush would.
 */
static void pg_destroy(struct pg *g);

static void record_now(struct runtime *rt, struct pg *g)
{
    struct pgs *p = P(rt);
    if (!g->rec_queued)
        return;
    for (struct pg **pp = &p->rec_head; *pp; pp = &(*pp)->rec_next)
        if (*pp == g) {
            *pp = g->rec_next;
            break;
        }
    g->rec_queued = false;
    g->rec_next = NULL;
    pg_record_now(rt, g);
    if (g->state == PGS_REMOVED)
        pg_destroy(g); /* kept only for this write */
}

static void pg_destroy(struct pg *g);

/* Delete the records of the removed groups pushed out of the tombstones:
 * one DEL and one SREM for the batch. */
static void trim_flush(struct runtime *rt)
{
    struct pgs *p = P(rt);
    if (p->ntrim == 0)
        return;
    const char *pre = gcs_client_prefix(rt->n->gcs);
    size_t n = p->ntrim;
    const char **argv = xcalloc(n + 2, sizeof *argv);
    size_t *lens = xcalloc(n + 2, sizeof *lens);
    char **keys = xcalloc(n, sizeof *keys);
    char (*hex)[IDS_HEX_SIZE] = xcalloc(n, sizeof *hex);
    argv[0] = "DEL";
    for (size_t i = 0; i < n; i++) {
        ids_hex(p->trim[i], IDS_SIZE, hex[i]);
        keys[i] = gcs_key_(pre, "pg:%s", hex[i]);
        argv[i + 1] = keys[i];
    }
    for (size_t i = 0; i < n + 1; i++)
        lens[i] = strlen(argv[i]);
    gcs_command_argv(rt->n->gcs, NULL, NULL, (int)(n + 1), argv, lens);
    char *set = gcs_key_(pre, "pgs");
    argv[0] = "SREM";
    argv[1] = set;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = hex[i];
    for (size_t i = 0; i < n + 2; i++)
        lens[i] = strlen(argv[i]);
    gcs_command_argv(rt->n->gcs, NULL, NULL, (int)(n + 2), argv, lens);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(hex);
    free(set);
    free(argv);
    free(lens);
    p->ntrim = 0;
}

static void record_flush(struct runtime *rt)
{
    struct pgs *p = P(rt);
    trim_flush(rt);
    struct pg *g = p->rec_head;
    p->rec_head = NULL;
    while (g) {
        struct pg *next = g->rec_next;
        g->rec_queued = false;
        g->rec_next = NULL;
        pg_record_now(rt, g);
        if (g->state == PGS_REMOVED)
            pg_destroy(g); /* kept only for this write */
        g = next;
    }
}

static void record_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    record_flush(arg);
}

static void pg_destroy(struct pg *g)
{
    for (size_t i = 0; i < g->nb; i++) {
        res_free(&g->bundles[i]);
        free(g->bundle_text[i]);
    }
    free(g->bundles);
    free(g->bundle_text);
    free(g->node);
    free(g->trying);
    free(g->name);
    if (g->timeout)
        event_free(g->timeout);
    while (g->parked) {
        struct parked *k = g->parked;
        g->parked = k->next;
        buf_free(&k->spec);
        free(k);
    }
    free(g);
}

static void queue_add(struct runtime *rt, struct pg *g, bool front)
{
    struct pgs *p = P(rt);
    if (g->queued)
        return;
    g->queued = true;
    if (front || p->queue == NULL) {
        g->qnext = p->queue;
        p->queue = g;
    } else {
        struct pg *q = p->queue;
        while (q->qnext)
            q = q->qnext;
        q->qnext = g;
        g->qnext = NULL;
    }
    if (!evtimer_pending(p->retry_ev, NULL)) {
        struct timeval tv = { 0, PG_RETRY_MS * 1000 };
        evtimer_add(p->retry_ev, &tv);
    }
}

static void queue_remove(struct runtime *rt, struct pg *g)
{
    if (!g->queued)
        return;
    for (struct pg **pp = &P(rt)->queue; *pp; pp = &(*pp)->qnext)
        if (*pp == g) {
            *pp = g->qnext;
            break;
        }
    g->queued = false;
    g->qnext = NULL;
}

/* Send a parked or routed task of G to its node. */
static void send_parked(struct runtime *rt, struct pg *g)
{
    struct parked *k = g->parked;
    g->parked = g->parked_tail = NULL;
    while (k) {
        struct parked *next = k->next;
        spill_route_again(rt, k->kind, k->spec.data, k->spec.len, k->origin, k->lib);
        buf_free(&k->spec);
        free(k);
        k = next;
    }
}

/* The node view for the policy: alive nodes; free = last report (own node: exact). */
static size_t view_build(struct runtime *rt, struct pg_node_view *v)
{
    for (size_t i = 0; i < cluster_count(rt); i++) {
        struct cluster_node *cn = cluster_node_at(rt, i);
        v[i].total = cluster_node_self(cn) ? &rt->n->total : cluster_node_total(cn);
        v[i].avail = cluster_node_self(cn) ? &rt->n->avail : cluster_node_avail(cn);
        v[i].alive = cluster_node_alive(cn);
    }
    return cluster_count(rt);
}

static void attempt_finish(struct runtime *rt, struct pg *g);

static void attempt_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pg *g = arg;
    log_warnx("placement group %s: no answer to prepare within %d ms; trying again", g->hex,
              PG_PREPARE_TIMEOUT_MS);
    g->refused = true;
    g->awaiting = 0;
    attempt_finish(g->rt, g);
}

/* Release attempt A of G on every node it touched. */
static void attempt_release(struct runtime *rt, struct pg *g, uint64_t a)
{
    for (size_t i = 0; i < g->nb; i++) {
        if (!g->trying[i][0])
            continue;
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(g->trying[k], g->trying[i]) == 0;
        if (dup)
            continue;
        if (strcmp(g->trying[i], rt->n->hex) == 0) {
            pg_node_release_(rt, g->id, a, false);
        } else {
            struct conn *c = cluster_conn(rt, g->trying[i]);
            if (c)
                conn_send(c, PROTO_NODE_PG_RELEASE, g->id, a, 0);
            struct cluster_node *cn = cluster_find(rt, g->trying[i]);
            if (cn)
                res_add(cluster_node_avail(cn), &g->bundles[i]);
        }
    }
}

static void attempt_finish(struct runtime *rt, struct pg *g)
{
    if (g->awaiting > 0)
        return;
    if (g->timeout)
        evtimer_del(g->timeout);
    uint64_t a = g->attempt;
    g->attempt = 0;
    if (g->refused) {
        attempt_release(rt, g, a);
        for (size_t i = 0; i < g->nb; i++)
            g->trying[i][0] = '\0';
        queue_add(rt, g, g->state == PGS_RESCHEDULING);
        return;
    }
    /* commit everywhere */
    for (size_t i = 0; i < g->nb; i++) {
        if (!g->trying[i][0])
            continue;
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(g->trying[k], g->trying[i]) == 0;
        if (!dup) {
            if (strcmp(g->trying[i], rt->n->hex) == 0) {
                pg_node_commit_(rt, g->id, a);
            } else {
                struct conn *c = cluster_conn(rt, g->trying[i]);
                if (c)
                    conn_send(c, PROTO_NODE_PG_COMMIT, g->id, a);
            }
        }
        memcpy(g->node[i], g->trying[i], IDS_HEX_SIZE);
        g->trying[i][0] = '\0';
    }
    bool was = g->state == PGS_RESCHEDULING;
    g->state = PGS_CREATED;
    log_debug("placement group %s%s%s: %s", g->hex, g->name ? " " : "", g->name ? g->name : "",
             was ? "rescheduled" : "created");
    pg_record(rt, g);
    send_parked(rt, g);
}

/* Try to place G now. */
static void pg_try(struct runtime *rt, struct pg *g)
{
    if (g->attempt != 0 || g->state == PGS_CREATED || g->state == PGS_REMOVED)
        return;
    size_t nn = cluster_count(rt);
    struct pg_node_view *v = xcalloc(nn ? nn : 1, sizeof *v);
    int *fixed = xcalloc(g->nb, sizeof *fixed), *out = xcalloc(g->nb, sizeof *out);
    view_build(rt, v);
    for (size_t b = 0; b < g->nb; b++) {
        fixed[b] = -1;
        if (g->node[b][0])
            for (size_t i = 0; i < nn; i++)
                if (strcmp(cluster_node_id(cluster_node_at(rt, i)), g->node[b]) == 0 &&
                    cluster_node_alive(cluster_node_at(rt, i)))
                    fixed[b] = (int)i;
    }
    bool never = false;
    int rc = pg_policy_place(v, nn, g->bundles, g->nb, g->strategy, fixed, out, &never);
    free(v);
    if (rc < 0) {
        free(fixed);
        free(out);
        if (never && !g->warned) {
            g->warned = true;
            char line[600];
            int len = snprintf(line, sizeof line,
                               "Warning: placement group %s%s%s (%s, %zu bundles) cannot be "
                               "placed on the cluster's nodes as they are; it stays pending "
                               "until nodes that fit join (see `ray status`)",
                               g->hex, g->name ? " " : "", g->name ? g->name : "",
                               pg_strategy_name(g->strategy), g->nb);
            log_warnx("%s", line);
            char job[16];
            snprintf(job, sizeof job, "%08x", g->job);
            struct job *j = rt_job_find(rt, g->job);
            if (j && !job_remote(j))
                rt_job_log(rt, j, 2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
            else
                spill_job_log_to_origin(rt, g->job, 2, line);
        }
        queue_add(rt, g, g->state == PGS_RESCHEDULING);
        return;
    }
    g->attempt = ++P(rt)->next_attempt;
    g->refused = false;
    g->awaiting = 0;
    /* remote prepares first (counted), then our own (answered at once) */
    for (int pass = 0; pass < 2; pass++)
        for (size_t b = 0; b < g->nb; b++) {
            if (fixed[b] >= 0)
                continue;
            struct cluster_node *cn = cluster_node_at(rt, out[b]);
            if (cluster_node_self(cn) != (pass == 1))
                continue;
            if (g->refused)
                continue;
            if (cluster_node_self(cn)) {
                if (pg_node_prepare_(rt, g->id, g->attempt, (int)b, g->bundle_text[b]) != RAY_OK)
                    g->refused = true;
                else
                    memcpy(g->trying[b], cluster_node_id(cn), IDS_HEX_SIZE);
                continue;
            }
            struct conn *c = cluster_conn(rt, cluster_node_id(cn));
            if (c == NULL || conn_send(c, PROTO_NODE_PG_PREPARE, g->id, g->attempt, (uint64_t)b,
                                       g->bundle_text[b]) < 0) {
                g->refused = true;
                continue;
            }
            memcpy(g->trying[b], cluster_node_id(cn), IDS_HEX_SIZE);
            res_sub(cluster_node_avail(cn), &g->bundles[b]); /* until its next report */
            g->awaiting++;
        }
    free(fixed);
    free(out);
    if (g->awaiting > 0) {
        if (g->timeout == NULL)
            g->timeout = evtimer_new(rt->n->base, attempt_timeout, g);
        struct timeval tv = { PG_PREPARE_TIMEOUT_MS / 1000, (PG_PREPARE_TIMEOUT_MS % 1000) * 1000 };
        evtimer_add(g->timeout, &tv);
    }
    attempt_finish(rt, g);
}

static struct conn *fwd_client(struct runtime *rt, const struct fwdreq *f)
{
    for (struct client *cl = client_first(rt); cl; cl = client_next(cl))
        if (client_conn(cl) == f->conn && client_conn(cl)->id == f->conn_id)
            return client_conn(cl);
    return NULL;
}

/* Answer forwarded request F (unlinked) with RAY_ECONN WHY, and free it. */
static void fwd_fail(struct runtime *rt, struct fwdreq *f, const char *why)
{
    struct conn *c = fwd_client(rt, f);
    if (c && f->type == PROTO_PG_LOOKUP_OK) {
        uint8_t zero[IDS_SIZE] = { 0 };
        conn_send(c, f->type, f->client_reqid, (int64_t)RAY_ECONN, zero, (uint64_t)0, why);
    } else if (c) {
        conn_send(c, PROTO_PG_REPLY, f->client_reqid, (int64_t)RAY_ECONN, why);
    }
    buf_free(&f->frame);
    free(f);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    struct pgs *p = P(rt);
    struct pg *q = p->queue;
    p->queue = NULL;
    while (q) {
        struct pg *next = q->qnext;
        q->queued = false;
        q->qnext = NULL;
        pg_try(rt, q);
        q = next;
    }
    pg_node_sweep_(rt);
    /* forwarded requests: one whose head died (or was replaced: a head
     * restart) goes to the head there is now; one unanswered for
     * PG_FWD_TIMEOUT_MS is answered RAY_ECONN, never left waiting */
    long long now = net_now_ms();
    struct cluster_node *head = cluster_head(rt);
    for (struct fwdreq **pp = &p->fwd; *pp;) {
        struct fwdreq *f = *pp;
        if (now - f->sent_ms > PG_FWD_TIMEOUT_MS) {
            *pp = f->next;
            fwd_fail(rt, f, "the head did not answer");
            continue;
        }
        if (head && strcmp(cluster_node_id(head), f->head) != 0) {
            struct conn *hc = cluster_conn(rt, cluster_node_id(head));
            if (hc && conn_send_raw(hc, f->frame.data, f->frame.len) == 0) {
                log_info("placement group request sent again to head %.8s (was %.8s)",
                         cluster_node_id(head), f->head);
                snprintf(f->head, sizeof f->head, "%s", cluster_node_id(head));
            }
        }
        pp = &f->next;
    }
    struct timeval tv = { 0, PG_RETRY_MS * 1000 };
    if (p->queue || p->fwd)
        evtimer_add(p->retry_ev, &tv);
    else
    {
        struct timeval sec = { 1, 0 }; /* the stale sweep */
        evtimer_add(p->retry_ev, &sec);
    }
}

static int h_node_prepared(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr;
    uint64_t a = m->f[1].as.u;
    struct pg *g = idmap_get(&P(rt)->live, id);
    if (g == NULL || g->attempt != a) {
        /* late: that attempt was given up; undo it there */
        conn_send(c, PROTO_NODE_PG_RELEASE, id, a, 0);
        return 0;
    }
    if (m->f[3].as.i != RAY_OK)
        g->refused = true;
    if (g->awaiting > 0)
        g->awaiting--;
    attempt_finish(rt, g);
    return 0;
}

/* ---- removal ---------------------------------------------------------------------------- */

static void fail_parked(struct runtime *rt, struct pg *g, const char *why)
{
    struct parked *k = g->parked;
    g->parked = g->parked_tail = NULL;
    while (k) {
        struct parked *next = k->next;
        spill_fail_here(rt, k->kind, k->spec.data, k->spec.len, k->origin, k->lib, RAY_EPG, why);
        buf_free(&k->spec);
        free(k);
        k = next;
    }
}

static void pg_remove(struct runtime *rt, struct pg *g, const char *why)
{
    queue_remove(rt, g);
    if (g->attempt) {
        g->refused = true;
        g->awaiting = 0;
        if (g->timeout)
            evtimer_del(g->timeout);
        attempt_release(rt, g, g->attempt);
        g->attempt = 0;
    }
    g->state = PGS_REMOVED;
    idmap_del(&P(rt)->live, g->id);
    /* every node: holders free the bundles, all remember the group is gone */
    for (size_t i = 0; i < cluster_count(rt); i++) {
        struct cluster_node *cn = cluster_node_at(rt, i);
        if (!cluster_node_alive(cn) || cluster_node_self(cn))
            continue;
        bool holder = false;
        for (size_t b = 0; b < g->nb && !holder; b++)
            holder = strcmp(g->node[b], cluster_node_id(cn)) == 0;
        if (holder) {
            struct res_set sum = RES_SET_INIT;
            for (size_t b = 0; b < g->nb; b++)
                if (strcmp(g->node[b], cluster_node_id(cn)) == 0)
                    res_add(&sum, &g->bundles[b]);
            res_add(cluster_node_avail(cn), &sum); /* until its next report */
            res_free(&sum);
        }
        struct conn *c = cluster_conn(rt, cluster_node_id(cn));
        if (c)
            conn_send(c, PROTO_NODE_PG_RELEASE, g->id, (uint64_t)0, 1);
    }
    pg_node_release_(rt, g->id, 0, true);
    char msg[300];
    snprintf(msg, sizeof msg, "placement group %s was removed (%s)", g->hex, why);
    fail_parked(rt, g, msg);
    log_debug("placement group %s removed: %s", g->hex, why);
    if (g->timeout) {
        event_free(g->timeout);
        g->timeout = NULL;
    }
    pg_record(rt, g); /* frees G once written */
}

void pg_job_ended(struct runtime *rt, uint32_t num)
{
    if (rt->pgs == NULL || !is_head(rt))
        return;
    size_t pos = 0;
    struct idmap_slot *s;
    struct pg **list = NULL;
    size_t n = 0;
    while ((s = idmap_next(&P(rt)->live, &pos)) != NULL) {
        pos++;
        struct pg *g = s->val;
        if (g->job == num && !g->has_creator) {
            list = xreallocarray(list, n + 1, sizeof *list);
            list[n++] = g;
        }
    }
    for (size_t i = 0; i < n; i++)
        pg_remove(rt, list[i], "its job ended");
    free(list);
}

void pg_node_dead(struct runtime *rt, const char *hex)
{
    if (rt->pgs == NULL || !is_head(rt))
        return;
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&P(rt)->live, &pos)) != NULL) {
        pos++;
        struct pg *g = s->val;
        bool lost = false;
        for (size_t b = 0; b < g->nb; b++)
            if (strcmp(g->node[b], hex) == 0) {
                g->node[b][0] = '\0';
                lost = true;
            }
        bool trying = false;
        for (size_t b = 0; b < g->nb && g->attempt; b++)
            trying |= strcmp(g->trying[b], hex) == 0;
        if (trying) {
            g->refused = true;
            g->awaiting = 0;
            attempt_finish(rt, g);
        }
        if (lost && g->state == PGS_CREATED) {
            g->state = PGS_RESCHEDULING;
            log_warnx("placement group %s: node %.8s died; rescheduling its bundles", g->hex, hex);
            pg_record(rt, g);
            queue_add(rt, g, true);
        }
    }
}

/* ---- a restarted head reads the groups back (daemon/recover.c) -------------------- */

struct pg_recovery {
    struct runtime *rt;
    size_t nalive;
    char (*alive)[IDS_HEX_SIZE];
};

static bool recovery_alive(const struct pg_recovery *r, const char *hex)
{
    for (size_t i = 0; hex[0] && i < r->nalive; i++)
        if (strcmp(r->alive[i], hex) == 0)
            return true;
    return false;
}

/* One record of <p>pgs made into a live group again: bundles on nodes the
 * table shows alive stay where they are (those nodes kept them: a node's
 * reservations live in its own rayd, pg_node.c, and never depended on the
 * head); bundles of dead nodes (the dead head's own) are placed again.
 * Returns the group, or NULL for a record it cannot read (logged). */
static struct pg *recover_one(struct runtime *rt, const struct pg_recovery *r, const struct gcs_pg *v)
{
    uint8_t id[IDS_SIZE];
    if (v->pg_id == NULL || ids_unhex(v->pg_id, id, IDS_SIZE) < 0) {
        log_warnx("head recovery: placement group record with a bad ID: skipped");
        return NULL;
    }
    if (strcmp(v->state, "REMOVED") == 0) {
        pg_tomb_add_(rt, id);
        return NULL;
    }
    if (idmap_get(&P(rt)->live, id) || pg_is_removed_(rt, id))
        return NULL; /* made here already (a second recovery) */
    int strategy = pg_strategy_parse(v->strategy ? v->strategy : "");
    size_t nb = 0;
    char *text = xstrdup(v->bundles ? v->bundles : "");
    for (char *p = text; *p; p++)
        nb += *p == ';';
    nb = text[0] ? nb + 1 : 0;
    if (strategy < 0 || nb == 0) {
        log_warnx("head recovery: placement group %s: unreadable record (strategy '%s', "
                  "bundles '%s'): skipped", v->pg_id, v->strategy ? v->strategy : "", text);
        free(text);
        return NULL;
    }
    struct pg *g = xcalloc(1, sizeof *g);
    g->rt = rt;
    memcpy(g->id, id, IDS_SIZE);
    snprintf(g->hex, sizeof g->hex, "%s", v->pg_id);
    pg_policy_tag(id, g->tag);
    g->name = v->name && v->name[0] ? xstrdup(v->name) : NULL;
    g->strategy = strategy;
    g->job = v->job ? (uint32_t)strtoul(v->job, NULL, 16) : ids_job(id);
    g->nb = nb;
    g->bundles = xcalloc(nb, sizeof *g->bundles);
    g->bundle_text = xcalloc(nb, sizeof *g->bundle_text);
    g->node = xcalloc(nb, sizeof *g->node);
    g->trying = xcalloc(nb, sizeof *g->trying);
    char *save = NULL, *tok = strtok_r(text, ";", &save);
    const char *nodes = v->nodes ? v->nodes : "";
    size_t placed = 0;
    for (size_t b = 0; b < nb; b++) {
        char err[160];
        g->bundle_text[b] = xstrdup(tok ? tok : "");
        g->bundles[b] = (struct res_set)RES_SET_INIT;
        if (res_parse(&g->bundles[b], g->bundle_text[b], err, sizeof err) < 0)
            log_warnx("head recovery: placement group %s bundle %zu '%s': %s", g->hex, b,
                      g->bundle_text[b], err);
        size_t len = strcspn(nodes, ",");
        char hex[IDS_HEX_SIZE] = "";
        if (len < sizeof hex)
            snprintf(hex, sizeof hex, "%.*s", (int)len, nodes);
        nodes += len + (nodes[len] == ',');
        if (recovery_alive(r, hex)) {
            snprintf(g->node[b], sizeof g->node[b], "%s", hex);
            placed++;
        }
        tok = strtok_r(NULL, ";", &save);
    }
    free(text);
    bool was_placed = strcmp(v->state, "PENDING") != 0;
    g->state = placed == nb ? PGS_CREATED : was_placed ? PGS_RESCHEDULING : PGS_PENDING;
    idmap_put(&P(rt)->live, g->id, g);
    log_info("head recovery: placement group %s%s%s%s: %s (%zu of %zu bundles kept where they are)",
             g->hex, g->name ? " (" : "", g->name ? g->name : "", g->name ? ")" : "",
             state_names[g->state], placed, nb);
    if (g->state != PGS_CREATED) {
        for (size_t b = 0; b < nb; b++)
            if (!g->node[b][0] && was_placed)
                log_warnx("placement group %s: bundle %zu was on a node that died; placing it again",
                          g->hex, b);
        queue_add(rt, g, g->state == PGS_RESCHEDULING);
    }
    if (strcmp(state_names[g->state], v->state) != 0)
        pg_record(rt, g);
    return g;
}

static void recover_pgs_cb(void *arg, const struct gcs_pg *v, size_t nv)
{
    struct pg_recovery *r = arg;
    struct runtime *rt = r->rt;
    if (v != NULL && rt != NULL && rt->pgs != NULL && !rt->stopping) {
        size_t n = 0;
        for (size_t i = 0; i < nv; i++)
            n += recover_one(rt, r, &v[i]) != NULL;
        if (n)
            log_info("head recovery: %zu placement groups read back", n);
    } else if (v == NULL) {
        log_warnx("head recovery: cannot list the placement groups");
    }
    free(r->alive);
    free(r);
}

void pg_recover(struct runtime *rt, const char (*alive)[IDS_HEX_SIZE], size_t nalive)
{
    if (rt == NULL || rt->pgs == NULL || !is_head(rt))
        return;
    struct pg_recovery *r = xcalloc(1, sizeof *r);
    r->rt = rt;
    r->nalive = nalive;
    r->alive = xcalloc(nalive ? nalive : 1, sizeof *r->alive);
    memcpy(r->alive, alive, nalive * sizeof *alive);
    if (gcs_pgs_list(rt->n->gcs, recover_pgs_cb, r) < 0) {
        free(r->alive);
        free(r);
    }
}

/* ch:actors ("<actor_id> <STATE>"): a detached creator's death ends its groups. */
static void actors_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    (void)suffix;
    struct runtime *rt = arg;
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    if (len < 2 * IDS_SIZE + 5 || memcmp(msg + 2 * IDS_SIZE, " DEAD", 5) != 0)
        return;
    memcpy(hex, msg, 2 * IDS_SIZE);
    hex[2 * IDS_SIZE] = '\0';
    if (ids_unhex(hex, id, IDS_SIZE) < 0)
        return;
    size_t pos = 0, n = 0;
    struct idmap_slot *s;
    struct pg **list = NULL;
    while ((s = idmap_next(&P(rt)->live, &pos)) != NULL) {
        pos++;
        struct pg *g = s->val;
        if (g->has_creator && memcmp(g->creator, id, IDS_SIZE) == 0) {
            list = xreallocarray(list, n + 1, sizeof *list);
            list[n++] = g;
        }
    }
    for (size_t i = 0; i < n; i++)
        pg_remove(rt, list[i], "its detached creator died");
    free(list);
}

/* A copy of spec map SPEC with "detached_creator": ACTOR added, into OUT. */
static int spec_with_creator(struct buf *out, const void *spec, size_t len, const uint8_t *actor)
{
    if (mpw_map_extend(out, spec, len, 1) < 0)
        return -1;
    mpw_cstr(out, "detached_creator");
    mpw_bin(out, actor, IDS_SIZE);
    return 0;
}

/* ---- routing the group's tasks ------------------------------------------------------ */

int pg_spec_demand(const struct spec_fields *f, struct res_set *demand, char *err, size_t errlen)
{
    if (f->pg == NULL)
        return 0;
    char tag[PG_POLICY_TAG_LEN + 1];
    pg_policy_tag(f->pg, tag);
    if (f->bundle < -1 || f->bundle >= PG_MAX_BUNDLES) {
        snprintf(err, errlen, "placement group bundle index %lld out of range",
                 (long long)f->bundle);
        return -1;
    }
    if (pg_policy_demand(demand, (int)f->bundle, tag) < 0) {
        snprintf(err, errlen, "a resource name is too long for a placement group");
        return -1;
    }
    return 0;
}

bool pg_known_bad(struct runtime *rt, const struct spec_fields *f, char *why, size_t whylen)
{
    if (f->pg == NULL || rt->pgs == NULL)
        return false;
    char hex[IDS_HEX_SIZE];
    ids_hex(f->pg, IDS_SIZE, hex);
    if (pg_is_removed_(rt, f->pg)) {
        snprintf(why, whylen, "placement group %s was removed", hex);
        return true;
    }
    struct pg *g = is_head(rt) ? idmap_get(&P(rt)->live, f->pg) : NULL;
    if (is_head(rt) && g == NULL) {
        snprintf(why, whylen, "no placement group %s", hex);
        return true;
    }
    if (g && f->bundle >= (int64_t)g->nb) {
        snprintf(why, whylen, "bundle index %lld out of range: placement group %s has %zu bundles",
                 (long long)f->bundle, hex, g->nb);
        return true;
    }
    return false;
}

int pg_route(struct runtime *rt, const struct spec_fields *f, uint64_t kind, const void *spec,
             size_t len, const char *origin, const char *lib, char target[IDS_HEX_SIZE])
{
    char why[300];
    if (pg_known_bad(rt, f, why, sizeof why)) {
        spill_fail_here(rt, kind, spec, len, origin, lib, RAY_EPG, why);
        return 1;
    }
    struct pg *g = idmap_get(&P(rt)->live, f->pg);
    bool ready = g->state == PGS_CREATED || g->state == PGS_RESCHEDULING;
    if (ready && f->bundle >= 0 && !g->node[f->bundle][0])
        ready = false;
    if (ready && f->bundle < 0) {
        /* any bundle: a node of the group with room for it now, else the first */
        struct res_set demand = RES_SET_INIT;
        char err[200];
        int pick = -1;
        if (spec_demand(f, &demand, err, sizeof err) == 0)
            for (size_t b = 0; b < g->nb && pick < 0; b++) {
                if (!g->node[b][0])
                    continue;
                struct cluster_node *cn = cluster_find(rt, g->node[b]);
                const struct res_set *av = cn == NULL              ? NULL
                                           : cluster_node_self(cn) ? &rt->n->avail
                                                                   : cluster_node_avail(cn);
                if (av && res_fits(av, &demand))
                    pick = (int)b;
            }
        res_free(&demand);
        for (size_t b = 0; b < g->nb && pick < 0; b++)
            if (g->node[b][0])
                pick = (int)b;
        if (pick >= 0) {
            memcpy(target, g->node[pick], IDS_HEX_SIZE);
            return 0;
        }
        ready = false;
    }
    if (ready) {
        memcpy(target, g->node[f->bundle], IDS_HEX_SIZE);
        return 0;
    }
    struct parked *k = xcalloc(1, sizeof *k);
    k->kind = kind;
    buf_append(&k->spec, spec, len);
    snprintf(k->origin, sizeof k->origin, "%s", origin);
    snprintf(k->lib, sizeof k->lib, "%s", lib);
    if (g->parked_tail)
        g->parked_tail->next = k;
    else
        g->parked = k;
    g->parked_tail = k;
    return 1;
}

/* ---- requests from clients ------------------------------------------------------------ */

static void reply(struct conn *c, uint64_t reqid, int status, const char *msg)
{
    conn_send(c, PROTO_PG_REPLY, reqid, (int64_t)status, msg ? msg : "");
}

static struct pg *find_named(struct runtime *rt, const char *name)
{
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&P(rt)->live, &pos)) != NULL) {
        pos++;
        struct pg *g = s->val;
        if (g->name && strcmp(g->name, name) == 0)
            return g;
    }
    return NULL;
}

/* PG_CREATE: a new group from SPEC (sched/pg_spec.c decodes it). */
static void head_create(struct runtime *rt, struct conn *c, uint64_t reqid, const void *spec,
                        size_t len)
{
    struct pg_spec ps;
    char err[600];
    if (pg_spec_parse(spec, len, &ps, err, sizeof err) < 0) {
        reply(c, reqid, RAY_EINVAL, err);
        return;
    }
    if (idmap_get(&P(rt)->live, ps.id)) {
        /* the same request again (a node sent it to a head that died, then
         * to this one, which read the group back): it is made */
        pg_spec_free(&ps);
        reply(c, reqid, RAY_OK, "");
        return;
    }
    if (pg_is_removed_(rt, ps.id)) {
        pg_spec_free(&ps);
        reply(c, reqid, RAY_EINVAL, "placement group ID in use");
        return;
    }
    if (ps.name[0] && find_named(rt, ps.name)) {
        snprintf(err, sizeof err, "a placement group named '%s' already exists", ps.name);
        pg_spec_free(&ps);
        reply(c, reqid, RAY_EINVAL, err);
        return;
    }
    struct pg *g = xcalloc(1, sizeof *g);
    g->rt = rt;
    memcpy(g->id, ps.id, IDS_SIZE);
    ids_hex(ps.id, IDS_SIZE, g->hex);
    pg_policy_tag(ps.id, g->tag);
    g->name = ps.name[0] ? xstrdup(ps.name) : NULL;
    g->strategy = ps.strategy;
    g->job = ids_job(ps.id);
    if (ps.creator) {
        g->has_creator = true;
        memcpy(g->creator, ps.creator, IDS_SIZE);
    }
    g->nb = ps.nb;
    g->bundles = xcalloc(ps.nb, sizeof *g->bundles);
    g->bundle_text = xcalloc(ps.nb, sizeof *g->bundle_text);
    g->node = xcalloc(ps.nb, sizeof *g->node);
    g->trying = xcalloc(ps.nb, sizeof *g->trying);
    for (size_t b = 0; b < ps.nb; b++) { /* ownership moves to the group */
        g->bundles[b] = ps.bundles[b];
        g->bundle_text[b] = ps.text[b];
    }
    g->state = PGS_PENDING;
    idmap_put(&P(rt)->live, g->id, g);
    reply(c, reqid, RAY_OK, "");
    pg_try(rt, g); /* placed at once on the head alone: its record says CREATED */
    if (g->state == PGS_PENDING)
        pg_record(rt, g);
}

static void head_request(struct runtime *rt, struct conn *c, const struct proto_msg *m)
{
    uint64_t reqid = m->f[0].as.u;
    if (m->type == PROTO_PG_CREATE) {
        head_create(rt, c, reqid, m->f[1].as.s.ptr, m->f[1].as.s.len);
        return;
    }
    if (m->type == PROTO_PG_LOOKUP) {
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)m->f[1].as.s.len, m->f[1].as.s.ptr);
        struct pg *g = find_named(rt, name);
        uint8_t zero[IDS_SIZE] = { 0 };
        if (g == NULL)
            conn_send(c, PROTO_PG_LOOKUP_OK, reqid, (int64_t)RAY_ENOTFOUND, zero, (uint64_t)0,
                      "no such placement group");
        else
            conn_send(c, PROTO_PG_LOOKUP_OK, reqid, (int64_t)RAY_OK, g->id, (uint64_t)g->nb, "");
        return;
    }
    const uint8_t *id = (const uint8_t *)m->f[1].as.s.ptr;
    struct pg *g = idmap_get(&P(rt)->live, id);
    char hex[IDS_HEX_SIZE], msg[200];
    ids_hex(id, IDS_SIZE, hex);
    bool gone = pg_is_removed_(rt, id);
    if (m->type == PROTO_PG_WAIT) {
        if (g && g->state == PGS_CREATED)
            record_now(rt, g);
        if (g)
            reply(c, reqid, g->state == PGS_CREATED ? RAY_OK : PG_WAIT_PENDING,
                  state_names[g->state]);
        else {
            snprintf(msg, sizeof msg, "placement group %s %s", hex,
                     gone ? "was removed" : "is unknown");
            reply(c, reqid, RAY_EPG, msg);
        }
        return;
    }
    /* PG_REMOVE: idempotent */
    if (g) {
        pg_remove(rt, g, "ray_pg_remove");
        record_now(rt, g); /* its REMOVED row is there when the caller hears; frees G */
    }
    reply(c, reqid, RAY_OK, "");
}

static int h_request_do(struct runtime *rt, struct conn *c, struct client *cl,
                        const struct proto_msg *m);

static int h_request(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL && c->role != PROTO_ROLE_NODE)
        return -1;
    struct buf with = BUF_INIT;
    struct proto_msg copy;
    if (m->type == PROTO_PG_CREATE && cl && client_worker(cl) && worker_actor(client_worker(cl)) &&
        actor_detached(worker_actor(client_worker(cl))) &&
        spec_with_creator(&with, m->f[1].as.s.ptr, m->f[1].as.s.len,
                          actor_id(worker_actor(client_worker(cl)))) == 0) {
        /* made by a detached actor: the group ends with it, not with its job */
        copy = *m;
        copy.f[1].as.s.ptr = (const char *)with.data;
        copy.f[1].as.s.len = with.len;
        m = &copy;
    }
    int rc = h_request_do(rt, c, cl, m);
    buf_free(&with);
    return rc;
}

static int h_request_do(struct runtime *rt, struct conn *c, struct client *cl,
                        const struct proto_msg *m)
{
    if (is_head(rt)) {
        head_request(rt, c, m);
        return 0;
    }
    if (cl == NULL) /* a node asking a node that is not the head */
        return -1;
    uint32_t rtype = m->type == PROTO_PG_LOOKUP ? PROTO_PG_LOOKUP_OK : PROTO_PG_REPLY;
    struct cluster_node *head = cluster_head(rt);
    struct conn *hc = head ? cluster_conn(rt, cluster_node_id(head)) : NULL;
    struct pgs *p = P(rt);
    uint64_t fid = ++p->next_fwd;
    int rc;
    struct buf frame = BUF_INIT;
    if (m->type == PROTO_PG_CREATE)
        rc = proto_pack(&frame, m->type, fid, m->f[1].as.s.ptr, m->f[1].as.s.len);
    else if (m->type == PROTO_PG_LOOKUP) {
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)m->f[1].as.s.len, m->f[1].as.s.ptr);
        rc = proto_pack(&frame, m->type, fid, name);
    } else
        rc = proto_pack(&frame, m->type, fid, m->f[1].as.s.ptr);
    /* not sent now (this node has no connection to the head yet: it has
     * just started, or the head is restarting): the retry timer sends it
     * once there is one, within PG_FWD_TIMEOUT_MS */
    bool sent = rc == 0 && hc && conn_send_raw(hc, frame.data, frame.len) == 0;
    if (rc < 0) {
        buf_free(&frame);
        uint8_t zero[IDS_SIZE] = { 0 };
        if (rtype == PROTO_PG_LOOKUP_OK)
            conn_send(c, rtype, m->f[0].as.u, (int64_t)RAY_ECONN, zero, (uint64_t)0,
                      "the head is not reachable");
        else
            reply(c, m->f[0].as.u, RAY_ECONN, "the head is not reachable");
        return 0;
    }
    struct fwdreq *f = xcalloc(1, sizeof *f);
    f->reqid = fid;
    f->client_reqid = m->f[0].as.u;
    f->conn = c;
    f->conn_id = c->id;
    f->type = rtype;
    f->sent_ms = net_now_ms();
    f->frame = frame;
    snprintf(f->head, sizeof f->head, "%s", sent ? cluster_node_id(head) : "");
    f->next = p->fwd;
    p->fwd = f;
    if (!evtimer_pending(p->retry_ev, NULL)) {
        struct timeval tv = { 0, PG_RETRY_MS * 1000 };
        evtimer_add(p->retry_ev, &tv);
    }
    return 0;
}

/* The head's answer to a forwarded request: pass it to the client if it is still here. */
static int h_reply(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_NODE)
        return -1;
    struct fwdreq *f = NULL;
    for (struct fwdreq **pp = &P(rt)->fwd; *pp; pp = &(*pp)->next)
        if ((*pp)->reqid == m->f[0].as.u) {
            f = *pp;
            *pp = f->next;
            break;
        }
    if (f == NULL)
        return 0;
    struct conn *to = fwd_client(rt, f);
    if (to) {
        struct proto_msg copy = *m;
        copy.f[0].as.u = f->client_reqid;
        struct buf b = BUF_INIT;
        if (proto_pack_msg(&b, &copy) == 0)
            conn_send_raw(to, b.data, b.len);
        buf_free(&b);
    }
    buf_free(&f->frame);
    free(f);
    return 0;
}

/* ---- life cycle ----------------------------------------------------------------------- */

void pg_init(struct runtime *rt)
{
    struct pgs *p = xcalloc(1, sizeof *p);
    p->retry_ev = evtimer_new(rt->n->base, retry_cb, rt);
    p->rec_ev = evtimer_new(rt->n->base, record_cb, rt);
    rt->pgs = p;
    struct timeval sec = { 1, 0 };
    evtimer_add(p->retry_ev, &sec);
    struct server *s = rt->n->srv;
    server_on(s, PROTO_PG_CREATE, h_request, rt);
    server_on(s, PROTO_PG_WAIT, h_request, rt);
    server_on(s, PROTO_PG_REMOVE, h_request, rt);
    server_on(s, PROTO_PG_LOOKUP, h_request, rt);
    server_on(s, PROTO_PG_REPLY, h_reply, rt);
    server_on(s, PROTO_PG_LOOKUP_OK, h_reply, rt);
    server_on(s, PROTO_NODE_PG_PREPARED, h_node_prepared, rt);
    pg_node_init_(rt);
    if (is_head(rt))
        gcs_subscribe(rt->n->gcs, "ch:actors", actors_msg, rt);
}

void pg_free(struct runtime *rt)
{
    struct pgs *p = rt->pgs;
    if (p == NULL)
        return;
    if (is_head(rt))
        gcs_unsubscribe(rt->n->gcs, "ch:actors", actors_msg, rt);
    record_flush(rt); /* removed groups are freed there; live ones stay in p->live */
    event_free(p->rec_ev);
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&p->live, &pos)) != NULL) {
        pos++;
        pg_destroy(s->val);
    }
    idmap_free(&p->live);
    pg_node_free_(rt);
    while (p->fwd) {
        struct fwdreq *f = p->fwd;
        p->fwd = f->next;
        buf_free(&f->frame);
        free(f);
    }
    free(p->trim);
    event_free(p->retry_ev);
    free(p);
    rt->pgs = NULL;
}

void pg_trim_add_(struct runtime *rt, const uint8_t *id)
{
    struct pgs *p = P(rt);
    p->trim = xreallocarray(p->trim, p->ntrim + 1, sizeof *p->trim);
    memcpy(p->trim[p->ntrim++], id, IDS_SIZE);
}
