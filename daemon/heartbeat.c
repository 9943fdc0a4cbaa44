/*
 * heartbeat.c — liveness. Every node writes a heartbeat (its free resources
 * and queue length, which the global scheduler reads) into its <p>hb entry:
 * at a heartbeat interval when they changed, else as a keepalive every
 * quarter of node_timeout_ms (at most HEARTBEAT_KEEPALIVE_MS, never more
 * often than the interval), so an idle node costs the GCS under one HSET a
 * second. The head watches <p>hb: a node whose last heartbeat has not
 * changed for node_timeout_ms, measured on the head's own monotonic clock
 * (so clock skew between machines does not matter), is marked DEAD and
 * published on the nodes channel. The head reads <p>hb once per heartbeat
 * interval, for its cluster view (cluster.c), which hands each read here.
 */
#include "daemon/node.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/xmalloc.h"
#include "runtime/runtime.h"
#include "gcs/gcs.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    char id[IDS_HEX_SIZE];
    long long last_hb;      /* the value last read from the table */
    long long changed_ms;   /* head monotonic time when it last changed */
};

struct node_monitor {
    struct seen *v;
    size_t n, cap;
};

#define HEARTBEAT_KEEPALIVE_MS 2000

static long long keepalive_ms(const struct node *n)
{
    long long k = n->cfg->node_timeout_ms / 4;
    if (k > HEARTBEAT_KEEPALIVE_MS)
        k = HEARTBEAT_KEEPALIVE_MS;
    return k < n->cfg->heartbeat_interval_ms ? n->cfg->heartbeat_interval_ms : k;
}

static void heartbeat_send(struct node *n, bool force)
{
    /* the store's free bytes are what object_store_memory has available */
    struct objstore_stats st;
    objstore_stats(n->store, &st);
    res_set_amount(&n->avail, RES_OBJECT_STORE_MEMORY,
                   res_units((int64_t)(st.capacity > st.used ? st.capacity - st.used : 0)));
    struct buf b = BUF_INIT;
    res_format(&n->avail, &b);
    buf_append(&b, "", 1);
    long long q = runtime_queue_len(n->rt), now = net_now_ms();
    /* unchanged since the last one: only the keepalive */
    if (force || q != n->hb_queue || strcmp(b.data, n->hb_avail) != 0 ||
        now - n->hb_sent_ms >= keepalive_ms(n)) {
        gcs_node_heartbeat(n->gcs, n->hex, net_wall_ms(), b.data, q);
        snprintf(n->hb_avail, sizeof n->hb_avail, "%s", b.data);
        n->hb_queue = q;
        n->hb_sent_ms = now;
    }
    buf_free(&b);
}

void heartbeat_send_now(struct node *n)
{
    heartbeat_send(n, true);
}

static void hb_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    heartbeat_send(arg, false);
}

static struct seen *monitor_find(struct node_monitor *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].id, id) == 0)
            return &m->v[i];
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = xreallocarray(m->v, m->cap, sizeof *m->v);
    }
    struct seen *s = &m->v[m->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->last_hb = -1;
    return s;
}

bool heartbeat_check_node(struct node *n, const char *id, const char *address, long long last_hb)
{
    struct node_monitor *m = n->monitor;
    if (m == NULL || n->stopping)
        return false;
    long long now = net_now_ms();
    struct seen *s = monitor_find(m, id);
    if (s->last_hb != last_hb) {
        s->last_hb = last_hb;
        s->changed_ms = now;
        return false;
    }
    if (now - s->changed_ms <= n->cfg->node_timeout_ms || strcmp(id, n->hex) == 0)
        return false;
    char reason[128];
    snprintf(reason, sizeof reason, "no heartbeat for %lld ms", now - s->changed_ms);
    log_warnx("node %s (%s) is dead: %s", id, address, reason);
    gcs_node_mark_dead(n->gcs, id, reason);
    gcs_node_forget_objects(n->gcs, id); /* it holds nothing now */
    gcs_event_add(n->gcs, "NODE_DEAD", id, id, reason);
    runtime_node_dead(n->rt, id);
    return true;
}

void heartbeat_start(struct node *n)
{
    if (n->hb_timer)
        return;
    int ms = n->cfg->heartbeat_interval_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    n->hb_timer = event_new(n->base, -1, EV_PERSIST, hb_cb, n);
    event_add(n->hb_timer, &tv);
    if (n->is_head)
        n->monitor = xcalloc(1, sizeof *n->monitor); /* fed by the cluster view's reads */
}

void heartbeat_stop(struct node *n)
{
    if (n->hb_timer) {
        event_free(n->hb_timer);
        n->hb_timer = NULL;
    }
    if (n->monitor) {
        free(n->monitor->v);
        free(n->monitor);
        n->monitor = NULL;
    }
}
