/*
 * metrics.c — the node's Prometheus endpoint (metrics.h).
 *
 * DESIGN. evhttp runs on the node's own event loop: a scrape reads the
 * runtime's tables (tasks alive here, actors, workers, the store's totals,
 * the resource sets) on the loop, and a few /proc files on the helper
 * thread (bio.h: the loop opens no file; the answer is sent from
 * sample_done, unless the scraper left meanwhile); its size is bounded by the number of distinct task names
 * (256) and actors. The only per-task work is metrics_task_final: a hash
 * of the name into a fixed open-addressing table of counters owned by the
 * loop thread, so no lock; a name is copied once, the first time it is
 * seen. The head's cluster-wide series come from a snapshot the dashboard
 * thread leaves under a mutex.
 */
#include "daemon/metrics.h"
#include "daemon/metrics_report.h"

#include "common/http.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/netutil.h"
#include "common/xmalloc.h"
#include "daemon/bio.h"
#include "daemon/node.h"
#include "daemon/server.h"
#include "runtime/runtime.h"
#include "gcs/gcs.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The target is written at start and again this often (a Redis that lost its
 * data gets it back; AOF keeps it across a restart): every 5 s it was a fifth
 * of a command per idle node per second. */
#define METRICS_TARGET_MS 30000

struct metrics {
    struct node *n;
    struct evhttp *http;
    int port;
    struct event *timer;
    unsigned long long cpu_busy, cpu_total; /* /proc/stat at the last scrape */
};

/* ---- the head's snapshot ----------------------------------------------------- */

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static int snap_active = -1;
static char snap_pg_state[8][16];
static int snap_pg_count[8];
static int snap_npg;

void metrics_set_cluster(int active_nodes, const char *const *pg_states, const int *pg_counts,
                         int npg)
{
    pthread_mutex_lock(&snap_lock);
    snap_active = active_nodes;
    snap_npg = npg < 8 ? npg : 8;
    for (int i = 0; i < snap_npg; i++) {
        snprintf(snap_pg_state[i], sizeof snap_pg_state[i], "%s", pg_states[i]);
        snap_pg_count[i] = pg_counts[i];
    }
    pthread_mutex_unlock(&snap_lock);
}

/* ---- the text ----------------------------------------------------------------- */

/* A label value: backslash, quote and newline escaped (Prometheus text format). */
static void label(struct evbuffer *o, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            evbuffer_add_printf(o, "\\%c", *v);
        else if (*v == '\n')
            evbuffer_add(o, "\\n", 2);
        else
            evbuffer_add(o, v, 1);
    }
}

static void help(struct evbuffer *o, const char *name, const char *type, const char *text)
{
    evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* Gauge counts of the tasks alive here by (name, state). */
struct ts_count {
    const char *name;
    const char *state;
    long n;
};

static void add_count(struct ts_count *v, size_t *nv, size_t cap, const char *name,
                      const char *state)
{
    for (size_t i = 0; i < *nv; i++)
        if (v[i].state == state && strcmp(v[i].name, name) == 0) {
            v[i].n++;
            return;
        }
    if (*nv < cap)
        v[(*nv)++] = (struct ts_count){ name, state, 1 };
}

/* Counts by name and state, from the runtime's iterators (runtime.h). */
#define COUNTS_CAP 1024
struct counts {
    struct ts_count *c;
    size_t n;
};

static void count_task(void *arg, const char *name, const char *state)
{
    struct counts *cs = arg;
    add_count(cs->c, &cs->n, COUNTS_CAP, name, state);
}

static void count_actor(void *arg, const char *cls, const char *name, const char *state)
{
    (void)name;
    struct counts *cs = arg;
    add_count(cs->c, &cs->n, COUNTS_CAP, cls, state);
}

/* ray_tasks lines of the tasks that ended here (runtime_each_final) */
struct final_out {
    struct evbuffer *o;
    const char *nid;
};

static void write_final(void *arg, const char *name, unsigned long long finished,
                        unsigned long long failed)
{
    struct final_out *fo = arg;
    static const char *const st[2] = { "FINISHED", "FAILED" };
    unsigned long long v[2] = { finished, failed };
    for (int k = 0; k < 2; k++) {
        if (v[k] == 0)
            continue;
        evbuffer_add_printf(fo->o, "ray_tasks{Name=\"");
        label(fo->o, name);
        evbuffer_add_printf(fo->o, "\",State=\"%s\",NodeId=\"%s\"} %llu\n", st[k], fo->nid, v[k]);
    }
}

/* What a scrape reads from /proc, read on the helper thread (bio.h): the
 * loop opens no file, not even /proc's. */
#define METRICS_MAX_WORKERS 512
struct proc_sample {
    struct metrics *m;
    struct evhttp_request *req;  /* NULL once its connection closed */
    struct evhttp_connection *evcon;
    pid_t self, redis;
    pid_t workers[METRICS_MAX_WORKERS];
    int nworkers;
    /* results */
    long long rss_self, rss_redis, rss_workers;
    unsigned long long cpu_busy, cpu_total; /* 0: unread */
    long long mem_total, mem_used;
};

static long long statm_rss(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return 0;
    long long size = 0, rss = 0;
    if (fscanf(fp, "%lld %lld", &size, &rss) != 2)
        rss = 0;
    fclose(fp);
    return rss * sysconf(_SC_PAGESIZE);
}

static void proc_cpu(struct proc_sample *ps)
{
    FILE *fp = fopen("/proc/stat", "re");
    if (fp == NULL)
        return;
    unsigned long long v[8] = { 0 };
    if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) == 8) {
        unsigned long long total = 0;
        for (int i = 0; i < 8; i++)
            total += v[i];
        ps->cpu_busy = total - v[3] - v[4];
        ps->cpu_total = total;
    }
    fclose(fp);
}

static void proc_mem(struct proc_sample *ps)
{
    FILE *fp = fopen("/proc/meminfo", "re");
    long long total = 0, avail = 0;
    char line[256];
    while (fp && fgets(line, sizeof line, fp)) {
        sscanf(line, "MemTotal: %lld kB", &total);
        sscanf(line, "MemAvailable: %lld kB", &avail);
    }
    if (fp)
        fclose(fp);
    ps->mem_total = total * 1024;
    ps->mem_used = (total - avail) * 1024;
}

static void sample_work(void *arg)
{
    struct proc_sample *ps = arg;
    proc_cpu(ps);
    proc_mem(ps);
    ps->rss_self = statm_rss(ps->self);
    ps->rss_redis = ps->redis > 0 ? statm_rss(ps->redis) : 0;
    for (int i = 0; i < ps->nworkers; i++)
        ps->rss_workers += statm_rss(ps->workers[i]);
}

static void metrics_write(struct metrics *m, const struct proc_sample *ps, struct evbuffer *o)
{
    struct node *n = m->n;
    struct runtime *rt = n->rt;
    const char *nid = n->hex;

    /* ray_tasks: alive here by state, ended here by outcome */
    help(o, "ray_tasks", "gauge",
         "Tasks and actor calls of this node by name and state (FINISHED/FAILED count since start)");
    struct counts cs = { xcalloc(COUNTS_CAP, sizeof *cs.c), 0 };
    runtime_each_task(rt, count_task, &cs);
    for (size_t i = 0; i < cs.n; i++) {
        evbuffer_add_printf(o, "ray_tasks{Name=\"");
        label(o, cs.c[i].name);
        evbuffer_add_printf(o, "\",State=\"%s\",NodeId=\"%s\"} %ld\n", cs.c[i].state, nid,
                            cs.c[i].n);
    }
    struct final_out fo = { o, nid };
    runtime_each_final(write_final, &fo);

    /* ray_actors: the actors living here */
    help(o, "ray_actors", "gauge", "Actors of this node by class and state");
    cs.n = 0;
    runtime_each_actor(rt, count_actor, &cs);
    for (size_t i = 0; i < cs.n; i++) {
        evbuffer_add_printf(o, "ray_actors{Name=\"");
        label(o, cs.c[i].name);
        evbuffer_add_printf(o, "\",State=\"%s\",NodeId=\"%s\"} %ld\n", cs.c[i].state, nid,
                            cs.c[i].n);
    }
    free(cs.c);

    /* ray_resources: used and available, per resource */
    help(o, "ray_resources", "gauge", "Logical resources of this node (USED / AVAILABLE)");
    for (size_t i = 0; i < n->total.n; i++) {
        const char *name = n->total.e[i].name;
        if (strncmp(name, "node:", 5) == 0)
            continue;
        double tot = (double)n->total.e[i].amount / RES_SCALE;
        double av = (double)res_get(&n->avail, name) / RES_SCALE;
        evbuffer_add_printf(o, "ray_resources{Name=\"");
        label(o, name);
        evbuffer_add_printf(o, "\",State=\"AVAILABLE\",NodeId=\"%s\"} %.15g\n", nid, av);
        evbuffer_add_printf(o, "ray_resources{Name=\"");
        label(o, name);
        evbuffer_add_printf(o, "\",State=\"USED\",NodeId=\"%s\"} %.15g\n", nid,
                            tot - av > 0 ? tot - av : 0);
    }

    /* the object store */
    struct objstore_stats st = { 0 };
    if (n->store)
        objstore_stats(n->store, &st);
    help(o, "ray_object_store_memory", "gauge", "Object store bytes by location");
    evbuffer_add_printf(o, "ray_object_store_memory{Location=\"MMAP_SHM\",NodeId=\"%s\"} %llu\n",
                        nid, (unsigned long long)st.used);
    evbuffer_add_printf(o, "ray_object_store_memory{Location=\"SPILLED\",NodeId=\"%s\"} %llu\n",
                        nid, (unsigned long long)st.spilled_bytes);
    help(o, "ray_object_store_available_memory", "gauge", "Free object store bytes");
    evbuffer_add_printf(o, "ray_object_store_available_memory{NodeId=\"%s\"} %llu\n", nid,
                        (unsigned long long)(st.capacity > st.used ? st.capacity - st.used : 0));
    help(o, "ray_object_store_num_local_objects", "gauge", "Objects in this node's store");
    evbuffer_add_printf(o, "ray_object_store_num_local_objects{NodeId=\"%s\"} %llu\n", nid,
                        (unsigned long long)st.num_objects);

    /* the machine and our processes */
    double util = 0;
    if (ps->cpu_total) {
        if (m->cpu_total && ps->cpu_total > m->cpu_total)
            util = 100.0 * (double)(ps->cpu_busy - m->cpu_busy) /
                   (double)(ps->cpu_total - m->cpu_total);
        m->cpu_busy = ps->cpu_busy;
        m->cpu_total = ps->cpu_total;
    }
    help(o, "ray_node_cpu_utilization", "gauge", "CPU busy percent of this machine since the last scrape");
    evbuffer_add_printf(o, "ray_node_cpu_utilization{NodeId=\"%s\"} %.2f\n", nid, util);
    help(o, "ray_node_mem_used", "gauge", "Memory used on this machine (bytes)");
    evbuffer_add_printf(o, "ray_node_mem_used{NodeId=\"%s\"} %lld\n", nid, ps->mem_used);
    help(o, "ray_node_mem_total", "gauge", "Memory of this machine (bytes)");
    evbuffer_add_printf(o, "ray_node_mem_total{NodeId=\"%s\"} %lld\n", nid, ps->mem_total);
    help(o, "ray_component_rss_bytes", "gauge", "Resident memory of this node's processes");
    evbuffer_add_printf(o, "ray_component_rss_bytes{Component=\"raylet\",NodeId=\"%s\"} %lld\n",
                        nid, ps->rss_self);
    evbuffer_add_printf(o, "ray_component_rss_bytes{Component=\"workers\",NodeId=\"%s\"} %lld\n",
                        nid, ps->rss_workers);
    if (ps->redis > 0)
        evbuffer_add_printf(o, "ray_component_rss_bytes{Component=\"gcs_redis\",NodeId=\"%s\"} "
                               "%lld\n", nid, ps->rss_redis);

    /* the scheduler's own */
    help(o, "ray_scheduler_queued_tasks", "gauge", "Tasks queued here with their arguments ready");
    struct runtime_stats rs;
    runtime_stats(rt, &rs);
    evbuffer_add_printf(o, "ray_scheduler_queued_tasks{NodeId=\"%s\"} %lld\n", nid, rs.queued);
    help(o, "ray_scheduler_waiting_tasks", "gauge", "Tasks waiting here for their arguments");
    evbuffer_add_printf(o, "ray_scheduler_waiting_tasks{NodeId=\"%s\"} %lld\n", nid,
                        rs.waiting);
    help(o, "ray_scheduler_pipelined_tasks", "gauge", "Tasks sent ahead to busy workers");
    evbuffer_add_printf(o, "ray_scheduler_pipelined_tasks{NodeId=\"%s\"} %lld\n", nid,
                        rs.pipelined);
    help(o, "ray_scheduler_spilled_tasks_total", "counter",
         "Tasks this node handed to the global scheduler (which may place them back here)");
    evbuffer_add_printf(o, "ray_scheduler_spilled_tasks_total{NodeId=\"%s\"} %llu\n", nid,
                        rs.spilled);
    help(o, "ray_direct_tasks_total", "counter",
         "Tasks leased workers of this node ran for drivers that sent them directly (docs/direct.md)");
    evbuffer_add_printf(o, "ray_direct_tasks_total{NodeId=\"%s\"} %llu\n", nid, rs.direct_tasks);
    help(o, "ray_direct_leases_total", "counter", "Leases of workers granted to drivers");
    evbuffer_add_printf(o, "ray_direct_leases_total{NodeId=\"%s\"} %llu\n", nid,
                        rs.leases_granted);
    help(o, "ray_lineage_bytes", "gauge",
         "Lineage this node keeps to rebuild lost objects it owns (counted against lineage_max_bytes)");
    evbuffer_add_printf(o, "ray_lineage_bytes{NodeId=\"%s\"} %zu\n", nid, rs.lineage_bytes);
    help(o, "ray_lineage_entries", "gauge", "Tasks whose lineage this node keeps");
    evbuffer_add_printf(o, "ray_lineage_entries{NodeId=\"%s\"} %zu\n", nid, rs.lineage_entries);
    help(o, "ray_workers", "gauge", "Worker processes of this node");
    evbuffer_add_printf(o, "ray_workers{NodeId=\"%s\"} %d\n", nid, rs.workers);
    help(o, "ray_gcs_task_records_live", "gauge",
         "Unfinished tasks of this node with a record in the GCS task table");
    evbuffer_add_printf(o, "ray_gcs_task_records_live{NodeId=\"%s\"} %ld\n", nid,
                        rs.rec_live);

    if (n->is_head) {
        pthread_mutex_lock(&snap_lock);
        if (snap_active >= 0) {
            help(o, "ray_cluster_active_nodes", "gauge", "Live nodes of the cluster");
            evbuffer_add_printf(o, "ray_cluster_active_nodes %d\n", snap_active);
            help(o, "ray_placement_groups", "gauge", "Placement groups by state");
            for (int i = 0; i < snap_npg; i++)
                evbuffer_add_printf(o, "ray_placement_groups{State=\"%s\"} %d\n",
                                    snap_pg_state[i], snap_pg_count[i]);
        }
        pthread_mutex_unlock(&snap_lock);
    }
}

/* A label value into B, escaped as label() does. */
static void buf_label(struct buf *b, const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\\' || v[i] == '"')
            buf_printf(b, "\\%c", v[i]);
        else if (v[i] == '\n')
            buf_append(b, "\\n", 2);
        else if ((unsigned char)v[i] >= 0x20 && v[i] != 0x7f)
            buf_append(b, &v[i], 1);
    }
}

/* A Serve replica's healthy line (runtime_each_actor): SERVE_REPLICA:APP:DEPLOYMENT:INDEX */
struct serve_out {
    struct buf *own;
    const char *nid;
};

static void serve_actor(void *arg, const char *cls, const char *name, const char *state)
{
    (void)cls;
    struct serve_out *so = arg;
    static const char pre[] = "SERVE_REPLICA:";
    if (name == NULL || strncmp(name, pre, sizeof pre - 1) != 0 || strcmp(state, "DEAD") == 0)
        return;
    const char *app = name + sizeof pre - 1, *c1 = strchr(app, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL)
        return;
    struct buf *own = so->own;
    buf_printf(own, "ray_serve_deployment_replica_healthy{deployment=\"");
    buf_label(own, c1 + 1, (size_t)(c2 - c1 - 1));
    buf_printf(own, "\",replica=\"");
    buf_label(own, app, strlen(app));
    buf_printf(own, "\",application=\"");
    buf_label(own, app, (size_t)(c1 - app));
    buf_printf(own, "\",NodeId=\"%s\"} %d\n", so->nid, strcmp(state, "ALIVE") == 0);
}

/*
 * Serve's series: what this node's clients reported (the proxy's request
 * counters and latency histogram: metrics_report.c) merged with the
 * replicas living here, one ray_serve_deployment_replica_healthy sample
 * each (1 while the actor is alive), read from the actor table: their
 * names are SERVE_REPLICA:APP:DEPLOYMENT:INDEX (libs/serve).
 */
static void serve_write(struct metrics *m, struct evbuffer *o)
{
    struct runtime *rt = m->n->rt;
    struct buf own = BUF_INIT, out = BUF_INIT;
    buf_printf(&own, "# HELP ray_serve_deployment_replica_healthy Serve replicas living on this "
                     "node (1: alive, 0: starting or restarting)\n"
                     "# TYPE ray_serve_deployment_replica_healthy gauge\n");
    struct serve_out so = { &own, m->n->hex };
    runtime_each_actor(rt, serve_actor, &so);
    metrics_report_write(&out, net_now_ms(), own.data, own.len);
    if (out.len)
        evbuffer_add(o, out.data, out.len);
    buf_free(&own);
    buf_free(&out);
}

/* METRICS_REPORT from a client: its Prometheus lines replace its last. */
static int h_report(struct conn *c, const struct proto_msg *msg, void *arg)
{
    (void)arg;
    int id = runtime_client_id(c);
    if (id < 0)
        return -1;
    if (metrics_report_set(id, msg->f[0].as.s.ptr, msg->f[0].as.s.len, net_now_ms()) < 0)
        log_warnx("refused a metrics report of %zu bytes from %s (the limit is %u)",
                  msg->f[0].as.s.len, c->peer, METRICS_REPORT_MAX);
    return 0;
}

/* The scraper went away before the answer: its request is freed. */
static void sample_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct proc_sample *ps = arg;
    ps->req = NULL;
    ps->evcon = NULL;
}

static void sample_done(void *arg, bool cancelled)
{
    struct proc_sample *ps = arg;
    if (!cancelled && ps->req) {
        evhttp_connection_set_closecb(ps->evcon, NULL, NULL);
        struct evbuffer *o = evbuffer_new();
        metrics_write(ps->m, ps, o);
        serve_write(ps->m, o);
        evhttp_add_header(evhttp_request_get_output_headers(ps->req), "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(ps->req, 200, "OK", o);
        evbuffer_free(o);
    }
    free(ps);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct metrics *m = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (!http_token_ok(evhttp_find_header(in, "Authorization"), evhttp_find_header(in, "Cookie"),
                       m->n->token)) {
        evhttp_add_header(out, "WWW-Authenticate", "Bearer");
        evhttp_send_reply(req, 401, "Unauthorized", NULL);
        return;
    }
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path == NULL || strcmp(path, "/metrics") != 0) {
        evhttp_send_reply(req, 404, "Not Found", NULL);
        return;
    }
    /* the /proc figures are read on the helper thread; sample_done answers */
    struct node *n = m->n;
    struct proc_sample *ps = xcalloc(1, sizeof *ps);
    ps->m = m;
    ps->req = req;
    ps->evcon = evhttp_request_get_connection(req);
    ps->self = getpid();
    ps->redis = n->is_head && n->redis.pid > 0 ? n->redis.pid : 0;
    ps->nworkers = (int)runtime_worker_pids(n->rt, ps->workers, METRICS_MAX_WORKERS);
    evhttp_connection_set_closecb(ps->evcon, sample_conn_closed, ps);
    bio_submit(runtime_bio(n->rt), sample_work, sample_done, ps);
}

static void target_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct metrics *m = arg;
    struct node *n = m->n;
    if (n->gcs == NULL)
        return;
    char target[128];
    snprintf(target, sizeof target, "%s:%d", n->ip, m->port);
    gcs_command(n->gcs, NULL, NULL, "HSET %smetrics_targets %s %s", gcs_client_prefix(n->gcs),
                n->hex, target);
}

struct metrics *metrics_start(struct node *n, char *err, size_t errlen)
{
    struct metrics *m = xcalloc(1, sizeof *m);
    m->n = n;
    m->http = evhttp_new(n->base);
    if (m->http == NULL) {
        snprintf(err, errlen, "metrics: cannot create the HTTP server");
        goto fail;
    }
    evhttp_set_max_headers_size(m->http, 16384);
    evhttp_set_max_body_size(m->http, 4096);
    evhttp_set_timeout(m->http, 10);
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
    evhttp_set_gencb(m->http, on_request, m);
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(m->http, n->ip, (ev_uint16_t)n->cfg->metrics_export_port);
    if (bs == NULL) {
        snprintf(err, errlen, "metrics: cannot listen on %s:%d: %s", n->ip,
                 n->cfg->metrics_export_port, strerror(errno));
        goto fail;
    }
    int fd = evhttp_bound_socket_get_fd(bs);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    m->timer = event_new(n->base, -1, EV_PERSIST, target_cb, m);
    struct timeval tv = { METRICS_TARGET_MS / 1000, 0 };
    event_add(m->timer, &tv);
    target_cb(-1, 0, m);
    server_on(n->srv, PROTO_METRICS_REPORT, h_report, m);
    log_info("metrics at http://%s:%d/metrics", n->ip, m->port);
    return m;
fail:
    metrics_free(m);
    return NULL;
}

int metrics_port(const struct metrics *m)
{
    return m ? m->port : 0;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    if (m->timer)
        event_free(m->timer);
    if (m->http)
        evhttp_free(m->http);
    metrics_report_clear();
    free(m);
}
