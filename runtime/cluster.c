/*
 * cluster.c — the cluster as this node sees it: a copy of the node table
 * and one outgoing connection per peer node, dialed on first use. The
 * global scheduler reads the copy's resources and queue lengths; the object
 * manager and actor routing use the connections.
 *
 * DESIGN. Membership reaches a node as changes, not by polling every
 * record: a node that registers publishes its ID on <p>ch:nodes and every
 * node fetches that one record; a death is published as "<id> DEAD". The
 * head also reads <p>hb (every node's last heartbeat, free resources and
 * queue length in one hash) once per heartbeat interval, for its death watch
 * (heartbeat.c) and the global scheduler; the other nodes read it every
 * CLUSTER_RESYNC_MS, only to catch a change they missed (an ID they do not
 * know is fetched, a known node gone from it is dead). So the GCS load of an
 * idle cluster grows with the node count, not with its square. The whole
 * table is listed once at start (again until that succeeds).
 */
#include "common/log.h"
#include "common/netutil.h"
#include "common/xmalloc.h"
#include "runtime/cluster.h"
#include "runtime/actors.h"
#include "runtime/objects.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"
#include "runtime/pg.h"
#include "gcs/gcs.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This file's part of the runtime's state (rt->cs): made zeroed on first
 * use, so it reads as before its init and after its free; runtime_free
 * frees the block itself. */
struct cluster_state {
    struct runtime *rt;
    struct conn_owner peer_owner; /* CONN_OWNER_PEER: other nodes' connections */
    struct cluster_node *nodes; /* the node table, refreshed each heartbeat interval */
    size_t nnodes, nodes_cap;
    struct event *cluster_timer;
    struct event *cluster_retry; /* non-head: lists again until the first listing works */
    bool cluster_listing;
    bool cluster_synced;         /* the whole table was listed once */
};

static struct cluster_state *CS(const struct runtime *rt)
{
    if (rt->cs == NULL) { /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->cs = xcalloc(1, sizeof *rt->cs);
        rt->cs->rt = (struct runtime *)rt;
    }
    return rt->cs;
}

/* One node of the cluster as this node sees it. */
struct cluster_node {
    char id[IDS_HEX_SIZE];
    char ip[64];
    int port;
    bool alive, is_head, self;
    struct res_set total, avail;
    long long queue_len;
    long long last_hb;       /* last_heartbeat_ms from the table */
    int assigned;            /* tasks placed there since its last heartbeat (head) */
    struct conn *conn;       /* our connection to it, or NULL */
    bool seen_;              /* in the last read of <p>hb (cluster.c) */
    long long told_dead_ms;  /* head: when it last told this dead node so (cluster.c) */
};

/* ---- the fields other files of the runtime read (declared in runtime/cluster.h) ---- */

struct cluster_node *cluster_node_at(const struct runtime *rt, size_t i)
{
    return &CS(rt)->nodes[i];
}

bool cluster_node_alive(const struct cluster_node *cn)
{
    return cn->alive;
}

int cluster_node_assigned(const struct cluster_node *cn)
{
    return cn->assigned;
}

struct res_set *cluster_node_avail(const struct cluster_node *cn)
{
    return (struct res_set *)&cn->avail;
}

const struct res_set *cluster_node_total(const struct cluster_node *cn)
{
    return &cn->total;
}

const char *cluster_node_id(const struct cluster_node *cn)
{
    return cn->id;
}

bool cluster_node_is_head(const struct cluster_node *cn)
{
    return cn->is_head;
}

bool cluster_node_self(const struct cluster_node *cn)
{
    return cn->self;
}

long long cluster_node_queue_len(const struct cluster_node *cn)
{
    return cn->queue_len;
}

void cluster_node_assigned_add(struct cluster_node *cn, int d)
{
    cn->assigned += d;
}

struct cluster_node *cluster_find(struct runtime *rt, const char *hex)
{
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        if (strcmp(CS(rt)->nodes[i].id, hex) == 0)
            return &CS(rt)->nodes[i];
    return NULL;
}

struct cluster_node *cluster_head(struct runtime *rt)
{
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        if (CS(rt)->nodes[i].is_head && CS(rt)->nodes[i].alive)
            return &CS(rt)->nodes[i];
    return NULL;
}

size_t cluster_alive_others(struct runtime *rt)
{
    size_t n = 0;
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        n += CS(rt)->nodes[i].alive && !CS(rt)->nodes[i].self;
    return n;
}

/* on_close of another node's connection (owner: the runtime's peer owner). */
static void peer_closed(struct conn *c, struct conn_owner *o)
{
    struct runtime *rt = CONN_OWNER_OF(o, struct cluster_state, peer_owner)->rt;
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        if (CS(rt)->nodes[i].conn == c) {
            CS(rt)->nodes[i].conn = NULL;
            log_info("connection to node %.8s (%s) closed", CS(rt)->nodes[i].id, c->peer);
        }
    objmgr_conn_closed(rt->om, c);
}

void cluster_watch_peer(struct runtime *rt, struct conn *c)
{
    if (c->owner == NULL)
        conn_set_owner(c,
                       &CS(rt)->peer_owner); /* an incoming node connection nobody else watches */
}

void cluster_unwatch_peer(struct runtime *rt, struct conn *c)
{
    if (c->owner != &CS(rt)->peer_owner)
        return;
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        if (CS(rt)->nodes[i].conn == c)
            return; /* ours: cluster_free lets it go */
    conn_set_owner(c, NULL);
}

struct conn *cluster_conn(struct runtime *rt, const char *hex)
{
    struct cluster_node *cn = cluster_find(rt, hex);
    if (cn == NULL || !cn->alive || cn->self)
        return NULL;
    if (cn->conn == NULL) {
        char err[200];
        cn->conn = server_connect(rt->n->srv, cn->ip, cn->port, err, sizeof err);
        if (cn->conn == NULL) {
            log_warnx("cannot connect to node %.8s: %s", hex, err);
            return NULL;
        }
        conn_set_owner(cn->conn, &CS(rt)->peer_owner);
    }
    return cn->conn;
}

void cluster_node_dead(struct runtime *rt, const char *hex)
{
    struct cluster_node *cn = cluster_find(rt, hex);
    if (cn == NULL || !cn->alive || cn->self)
        return;
    cn->alive = false;
    log_warnx("node %.8s (%s) is dead", hex, cn->ip);
    if (cn->conn) {
        struct conn *c = cn->conn;
        cn->conn = NULL;
        conn_set_owner(c, NULL);
        conn_close(c);
        objmgr_conn_closed(rt->om, c);
    }
    objmgr_node_dead(rt->om, hex);
    spill_node_dead(rt, hex);
    pg_node_dead(rt, hex);
    tasks_schedule(rt);
}

#define CLUSTER_RESYNC_MS 10000

/* Merge record REC into the view. Returns true if the node is new here. */
static bool node_merge(struct runtime *rt, const struct gcs_node *rec)
{
    struct cluster_node *cn = cluster_find(rt, rec->node_id);
    bool alive = strcmp(rec->state, "ALIVE") == 0, joined = false;
    if (cn == NULL) {
        if (!alive)
            return false;
        if (CS(rt)->nnodes == CS(rt)->nodes_cap) {
            CS(rt)->nodes_cap = CS(rt)->nodes_cap ? CS(rt)->nodes_cap * 2 : 8;
            CS(rt)->nodes = xreallocarray(CS(rt)->nodes, CS(rt)->nodes_cap, sizeof *CS(rt)->nodes);
            /* connections point back at nodes by id, not by address: fine to move */
        }
        cn = &CS(rt)->nodes[CS(rt)->nnodes++];
        memset(cn, 0, sizeof *cn);
        snprintf(cn->id, sizeof cn->id, "%s", rec->node_id);
        cn->alive = true;
        cn->self = strcmp(rec->node_id, rt->n->hex) == 0;
        res_init(&cn->total);
        res_init(&cn->avail);
        log_info("node %.8s (%s:%d%s) is in the cluster", cn->id, rec->address, rec->port,
                 rec->is_head ? ", head" : "");
        joined = true;
    }
    snprintf(cn->ip, sizeof cn->ip, "%s", rec->address);
    cn->port = rec->port;
    cn->is_head = rec->is_head;
    if (joined) {
        cn->last_hb = rec->last_heartbeat_ms;
        cn->queue_len = rec->queue_len;
        char err[128];
        struct res_set t = RES_SET_INIT, a = RES_SET_INIT;
        if (res_parse(&t, rec->resources_total, err, sizeof err) == 0 &&
            res_parse(&a, rec->resources_available, err, sizeof err) == 0) {
            res_free(&cn->total);
            res_free(&cn->avail);
            cn->total = t;
            cn->avail = a;
        } else {
            res_free(&t);
            res_free(&a);
        }
    }
    if (!alive && cn->alive)
        cluster_node_dead(rt, cn->id);
    return joined;
}

static void cluster_list_cb(void *arg, const struct gcs_node *v, size_t n)
{
    struct runtime *rt = arg;
    CS(rt)->cluster_listing = false;
    if (v == NULL)
        return;
    CS(rt)->cluster_synced = true;
    bool joined = false;
    for (size_t i = 0; i < n; i++)
        joined |= node_merge(rt, &v[i]);
    if (joined) {
        tasks_node_joined(rt);
        actors_nodes_joined(rt); /* calls waiting for a route to a node just seen */
        objects_nodes_joined(rt); /* objects waited for while no other node was seen */
        tasks_schedule(rt); /* waiting or infeasible work may fit there */
    }
}

static void cluster_get_cb(void *arg, const struct gcs_node *v, size_t n)
{
    struct runtime *rt = arg;
    if (v && n == 1 && node_merge(rt, v)) {
        tasks_node_joined(rt);
        objects_nodes_joined(rt);
        tasks_schedule(rt);
    }
}

/* The record of a node this head declared dead that heartbeats again. */
static void dead_again_cb(void *arg, const struct gcs_node *v, size_t n)
{
    struct runtime *rt = arg;
    if (v == NULL || n != 1 || strcmp(v[0].state, "ALIVE") != 0 || rt->n->stopping)
        return;
    struct cluster_node *cn = cluster_find(rt, v[0].node_id);
    if (cn == NULL || cn->alive)
        return;
    log_warnx("node %.8s (%s), declared dead, is ALIVE in the node table again (its DEAD mark "
              "was lost): marking it dead again", cn->id, cn->ip);
    gcs_node_mark_dead(rt->n->gcs, cn->id, "declared dead earlier; came back");
}

/* A read of <p>hb: the load of every node; on the head, its death watch. */
static void cluster_hb_cb(void *arg, const struct gcs_heartbeat *v, size_t n)
{
    struct runtime *rt = arg;
    CS(rt)->cluster_listing = false;
    if (v == NULL)
        return;
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        CS(rt)->nodes[i].seen_ = false;
    for (size_t i = 0; i < n; i++) {
        struct cluster_node *cn = cluster_find(rt, v[i].node_id);
        if (cn == NULL) {
            cluster_learn(rt, v[i].node_id); /* one we missed */
            continue;
        }
        cn->seen_ = true;
        if (!cn->alive) {
            /* a node declared dead heartbeats again (its link came back):
             * it heard DEAD on ch:nodes, or reads its record when its GCS
             * connection comes back (replay.c), and rejoins as a new node.
             * Only a record that says ALIVE again (a DEAD mark lost with
             * Redis' last second) is marked again, once it is seen so. */
            long long now = net_now_ms();
            if (rt->n->is_head && !cn->self && now - cn->told_dead_ms >= 2000) {
                cn->told_dead_ms = now;
                gcs_node_get(rt->n->gcs, cn->id, dead_again_cb, rt);
            }
            continue;
        }
        if (cn->last_hb != v[i].last_ms) {
            cn->last_hb = v[i].last_ms;
            cn->assigned = 0; /* its report now covers what we sent it */
        }
        cn->queue_len = v[i].queue_len;
        struct res_set a = RES_SET_INIT;
        char err[128];
        if (res_parse(&a, v[i].resources_available, err, sizeof err) == 0) {
            res_free(&cn->avail);
            cn->avail = a;
        } else {
            res_free(&a);
        }
        if (rt->n->is_head && rt->n->check_node)
            rt->n->check_node(rt->n, cn->id, cn->ip, cn->last_hb);
    }
    /* a node gone from <p>hb was marked dead (or stopped) */
    for (size_t i = 0; i < CS(rt)->nnodes; i++)
        if (!CS(rt)->nodes[i].seen_ && CS(rt)->nodes[i].alive && !CS(rt)->nodes[i].self)
            cluster_node_dead(rt, CS(rt)->nodes[i].id);
}

static void cluster_refresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    if (CS(rt)->cluster_listing || !gcs_client_connected(rt->n->gcs))
        return;
    CS(rt)->cluster_listing = true;
    if (!CS(rt)->cluster_synced)
        gcs_nodes_list(rt->n->gcs, cluster_list_cb, rt);
    else
        gcs_node_heartbeats(rt->n->gcs, cluster_hb_cb, rt);
}

static void cluster_nodes_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    (void)suffix;
    struct runtime *rt = arg;
    char id[IDS_HEX_SIZE];
    if (len < 2 * IDS_SIZE) {
        cluster_refresh(-1, 0, rt);
        return;
    }
    memcpy(id, msg, 2 * IDS_SIZE);
    id[2 * IDS_SIZE] = '\0';
    if (len > 2 * IDS_SIZE && memmem(msg, len, " DEAD", 5) && strcmp(id, rt->n->hex) == 0) {
        if (rt->n->rejoin_fn) /* partition healed */
            rt->n->rejoin_fn(rt->n, "it was cut off longer than node_timeout_ms");
    } else if (len > 2 * IDS_SIZE && memmem(msg, len, " DEAD", 5)) {
        cluster_node_dead(rt, id);
    } else if (!CS(rt)->cluster_synced) {
        cluster_refresh(-1, 0, rt); /* (our own join, at start) the whole table */
    } else {
        cluster_learn(rt, id); /* a node joined: fetch it */
    }
}

void cluster_resync(struct runtime *rt)
{
    /* pub/sub messages sent while the connection was down are lost (a
     * death, a join): read the whole table again */
    if (gcs_client_connected(rt->n->gcs))
        gcs_nodes_list(rt->n->gcs, cluster_list_cb, rt);
}

void cluster_learn(struct runtime *rt, const char *hex)
{
    if (cluster_find(rt, hex) == NULL)
        gcs_node_get(rt->n->gcs, hex, cluster_get_cb, rt);
}

static void cluster_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct runtime *rt = arg;
    if (CS(rt)->cluster_synced) {
        event_del(CS(rt)->cluster_retry); /* freed by cluster_free */
        return;
    }
    cluster_refresh(fd, what, rt);
}

void cluster_init(struct runtime *rt)
{
    CS(rt)->peer_owner = (struct conn_owner){ CONN_OWNER_PEER, peer_closed };
    int ms = rt->n->is_head ? rt->n->cfg->heartbeat_interval_ms : CLUSTER_RESYNC_MS;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    CS(rt)->cluster_timer = event_new(rt->n->base, -1, EV_PERSIST, cluster_refresh, rt);
    event_add(CS(rt)->cluster_timer, &tv);
    gcs_subscribe(rt->n->gcs, "ch:nodes", cluster_nodes_msg, rt);
    cluster_refresh(-1, 0, rt);
    if (!rt->n->is_head) {
        /* until the first listing succeeds, try again at the head's pace */
        CS(rt)->cluster_retry = event_new(rt->n->base, -1, EV_PERSIST, cluster_retry_cb, rt);
        struct timeval r = { rt->n->cfg->heartbeat_interval_ms / 1000,
                             (rt->n->cfg->heartbeat_interval_ms % 1000) * 1000 };
        event_add(CS(rt)->cluster_retry, &r);
    }
}

void cluster_free(struct runtime *rt)
{
    gcs_unsubscribe(rt->n->gcs, "ch:nodes", cluster_nodes_msg, rt);
    if (CS(rt)->cluster_timer)
        event_free(CS(rt)->cluster_timer);
    CS(rt)->cluster_timer = NULL;
    if (CS(rt)->cluster_retry)
        event_free(CS(rt)->cluster_retry);
    CS(rt)->cluster_retry = NULL;
    for (size_t i = 0; i < CS(rt)->nnodes; i++) {
        if (CS(rt)->nodes[i].conn) {
            conn_set_owner(CS(rt)->nodes[i].conn, NULL);
        }
        res_free(&CS(rt)->nodes[i].total);
        res_free(&CS(rt)->nodes[i].avail);
    }
    free(CS(rt)->nodes);
    CS(rt)->nodes = NULL;
    CS(rt)->nnodes = CS(rt)->nodes_cap = 0;
}

size_t cluster_count(const struct runtime *rt)
{
    return CS(rt)->nnodes;
}

bool cluster_synced(const struct runtime *rt)
{
    return CS(rt)->cluster_synced;
}
