/*
 * cluster.c — the cluster as this node sees it: a copy of the node table,
 * refreshed every heartbeat interval (and on the nodes channel when a node
 * dies), and one outgoing connection per peer node, dialed on first use.
 * The global scheduler reads the copy's resources and queue lengths; the
 * object manager and actor routing use the connections.
 */
#include "common/log.h"
#include "common/xmalloc.h"
#include "daemon/runtime_internal.h"
#include "gcs/gcs.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cluster_node *cluster_find(struct runtime *rt, const char *hex)
{
    for (size_t i = 0; i < rt->nnodes; i++)
        if (strcmp(rt->nodes[i].id, hex) == 0)
            return &rt->nodes[i];
    return NULL;
}

struct cluster_node *cluster_head(struct runtime *rt)
{
    for (size_t i = 0; i < rt->nnodes; i++)
        if (rt->nodes[i].is_head && rt->nodes[i].alive)
            return &rt->nodes[i];
    return NULL;
}

size_t cluster_alive_others(struct runtime *rt)
{
    size_t n = 0;
    for (size_t i = 0; i < rt->nnodes; i++)
        n += rt->nodes[i].alive && !rt->nodes[i].self;
    return n;
}

static void peer_closed(struct conn *c, void *owner)
{
    struct runtime *rt = owner;
    for (size_t i = 0; i < rt->nnodes; i++)
        if (rt->nodes[i].conn == c) {
            rt->nodes[i].conn = NULL;
            log_info("connection to node %.8s (%s) closed", rt->nodes[i].id, c->peer);
        }
    objmgr_conn_closed(rt, c);
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
        cn->conn->owner = rt;
        cn->conn->on_close = peer_closed;
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
        c->on_close = NULL;
        conn_close(c);
        objmgr_conn_closed(rt, c);
    }
    objmgr_node_dead(rt, hex);
    spill_node_dead(rt, hex);
    tasks_schedule(rt);
}

static void cluster_list_cb(void *arg, const struct gcs_node *v, size_t n)
{
    struct runtime *rt = arg;
    rt->cluster_listing = false;
    if (v == NULL)
        return;
    if (rt->n->is_head)
        heartbeat_check_nodes(rt->n, v, n); /* the head's death watch reads the same table */
    bool joined = false;
    for (size_t i = 0; i < n; i++) {
        struct cluster_node *cn = cluster_find(rt, v[i].node_id);
        bool alive = strcmp(v[i].state, "ALIVE") == 0;
        if (cn == NULL) {
            if (!alive)
                continue;
            if (rt->nnodes == rt->nodes_cap) {
                rt->nodes_cap = rt->nodes_cap ? rt->nodes_cap * 2 : 8;
                rt->nodes = xreallocarray(rt->nodes, rt->nodes_cap, sizeof *rt->nodes);
                /* connections point back at nodes by id, not by address: fine to move */
            }
            cn = &rt->nodes[rt->nnodes++];
            memset(cn, 0, sizeof *cn);
            snprintf(cn->id, sizeof cn->id, "%s", v[i].node_id);
            cn->alive = true;
            cn->self = strcmp(v[i].node_id, rt->n->hex) == 0;
            res_init(&cn->total);
            res_init(&cn->avail);
            log_info("node %.8s (%s:%d%s) is in the cluster", cn->id, v[i].address, v[i].port,
                     v[i].is_head ? ", head" : "");
            joined = true;
        }
        snprintf(cn->ip, sizeof cn->ip, "%s", v[i].address);
        cn->port = v[i].port;
        cn->is_head = v[i].is_head;
        if (cn->last_hb != v[i].last_heartbeat_ms) {
            cn->last_hb = v[i].last_heartbeat_ms;
            cn->assigned = 0; /* its report now covers what we sent it */
        }
        cn->queue_len = v[i].queue_len;
        char err[128];
        struct res_set t = RES_SET_INIT, a = RES_SET_INIT;
        if (res_parse(&t, v[i].resources_total, err, sizeof err) == 0 &&
            res_parse(&a, v[i].resources_available, err, sizeof err) == 0) {
            res_free(&cn->total);
            res_free(&cn->avail);
            cn->total = t;
            cn->avail = a;
        } else {
            res_free(&t);
            res_free(&a);
        }
        if (!alive && cn->alive)
            cluster_node_dead(rt, cn->id);
    }
    if (joined)
        tasks_schedule(rt); /* waiting or infeasible work may fit there */
}

static void cluster_refresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    if (rt->cluster_listing || !gcs_client_connected(rt->n->gcs))
        return;
    rt->cluster_listing = true;
    gcs_nodes_list(rt->n->gcs, cluster_list_cb, rt);
}

static void cluster_nodes_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    (void)suffix;
    struct runtime *rt = arg;
    char id[IDS_HEX_SIZE];
    if (len > 2 * IDS_SIZE && strstr(msg, " DEAD")) {
        memcpy(id, msg, 2 * IDS_SIZE);
        id[2 * IDS_SIZE] = '\0';
        cluster_node_dead(rt, id);
    } else {
        cluster_refresh(-1, 0, rt); /* a node joined: look now */
    }
}

void cluster_init(struct runtime *rt)
{
    int ms = rt->n->cfg->heartbeat_interval_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    rt->cluster_timer = event_new(rt->n->base, -1, EV_PERSIST, cluster_refresh, rt);
    event_add(rt->cluster_timer, &tv);
    gcs_subscribe(rt->n->gcs, "ch:nodes", cluster_nodes_msg, rt);
    cluster_refresh(-1, 0, rt);
}

void cluster_free(struct runtime *rt)
{
    gcs_unsubscribe(rt->n->gcs, "ch:nodes", cluster_nodes_msg, rt);
    if (rt->cluster_timer)
        event_free(rt->cluster_timer);
    rt->cluster_timer = NULL;
    for (size_t i = 0; i < rt->nnodes; i++) {
        if (rt->nodes[i].conn) {
            rt->nodes[i].conn->on_close = NULL;
            rt->nodes[i].conn->owner = NULL;
        }
        res_free(&rt->nodes[i].total);
        res_free(&rt->nodes[i].avail);
    }
    free(rt->nodes);
    rt->nodes = NULL;
    rt->nnodes = rt->nodes_cap = 0;
}

