/*
 * runtime.c — the node's runtime: who is connected (workers, drivers, the
 * CLI: struct client is this file's own, runtime/clients.h), the start and
 * end of the runtime (and of its helper thread, bio.h), administrative
 * messages, and the public face's figures (runtime/runtime.h:
 * runtime_stats and the iterators daemon/metrics.c reads). Tasks, objects,
 * actors, workers and jobs have their own files (docs/architecture.md).
 */
#include "runtime/runtime.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/counters.h"
#include "runtime/lease.h"
#include "runtime/observe.h"
#include "runtime/clients.h"
#include "runtime/actors.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/objects.h"
#include "runtime/objmgr_ops.h"
#include "runtime/runtime_env.h"
#include "runtime/spillback.h"
#include "runtime/taskrec.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "runtime/pg.h"
#include "daemon/server.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"
#include "ray.h"

#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The clients' part of the runtime's state (rt->cls): made zeroed on first use, so it reads as before its init
 * and after its free, as the fields of the calloc'd runtime did;
 * runtime_free frees the block itself. */
struct clients_state {
    struct client *clients;     /* newest first */
    int next_store_id;
};

static struct clients_state *CLS(const struct runtime *rt)
{
    if (rt->cls == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->cls = xcalloc(1, sizeof *rt->cls);
    return rt->cls;
}

/* A connected worker or driver: the owner of its connection (rt_client_of). */
struct client {
    struct conn *conn;
    struct conn_owner co;  /* CONN_OWNER_CLIENT: CONN's owner (rt_client_of) */
    struct runtime *rt;
    int store_id;          /* client id for objstore pins */
    struct job *job;
    struct worker *worker; /* NULL for a driver */
    bool is_driver;
    int nblocked;          /* gets/waits of this worker now waiting */
    struct client *next, *prev;
};

struct conn *client_conn(const struct client *cl)
{
    return cl->conn;
}

int client_store_id(const struct client *cl)
{
    return cl->store_id;
}

struct job *client_job(const struct client *cl)
{
    return cl->job;
}

struct worker *client_worker(const struct client *cl)
{
    return cl->worker;
}

void client_set_worker(struct client *cl, struct worker *w)
{
    cl->worker = w;
}

bool client_is_driver(const struct client *cl)
{
    return cl->is_driver;
}

int client_nblocked(const struct client *cl)
{
    return cl->nblocked;
}

void client_nblocked_add(struct client *cl, int delta)
{
    cl->nblocked += delta;
}

struct client *client_first(const struct runtime *rt)
{
    return CLS(rt)->clients;
}

struct client *client_next(const struct client *cl)
{
    return cl->next;
}

struct client *client_by_store_id(const struct runtime *rt, int id)
{
    struct client *cl = CLS(rt)->clients;
    while (cl && cl->store_id != id)
        cl = cl->next;
    return cl;
}

void rt_timer_at(struct event *ev, long long due_ms)
{
    long long left = due_ms - net_now_ms();
    if (left < 1)
        left = 1;
    struct timeval tv = { left / 1000, (left % 1000) * 1000 };
    event_add(ev, &tv);
}

struct client *rt_client_of(struct conn *c)
{
    if (c->role != PROTO_ROLE_WORKER && c->role != PROTO_ROLE_DRIVER)
        return NULL;
    /* a standalone driver still waiting for its job number is no client yet */
    return CONN_OWNER_OF(conn_owner(c, CONN_OWNER_CLIENT), struct client, co);
}

static void info_map(struct runtime *rt, struct buf *b, uint32_t job, const uint8_t *proof)
{
    struct node *n = rt->n;
    struct buf tot = BUF_INIT, av = BUF_INIT;
    res_format(&n->total, &tot);
    buf_append(&tot, "", 1);
    res_format(&n->avail, &av);
    buf_append(&av, "", 1);
    mpw_map(b, proof ? 10 : 9);
    if (proof) {
        mpw_cstr(b, "proof");
        mpw_bin(b, proof, 32);
    }
    mpw_cstr(b, "node_id");
    mpw_cstr(b, n->hex);
    mpw_cstr(b, "node_ip");
    mpw_cstr(b, n->ip);
    mpw_cstr(b, "session_dir");
    mpw_cstr(b, n->session_dir);
    mpw_cstr(b, "store");
    mpw_cstr(b, n->store_name);
    mpw_cstr(b, "store_size");
    mpw_uint(b, n->store_size);
    mpw_cstr(b, "resources_total");
    mpw_cstr(b, tot.data);
    mpw_cstr(b, "resources_available");
    mpw_cstr(b, av.data);
    mpw_cstr(b, "pid");
    mpw_uint(b, (uint64_t)getpid());
    mpw_cstr(b, "job");
    mpw_uint(b, job);
    buf_free(&tot);
    buf_free(&av);
}

static int send_hello_ok(struct runtime *rt, struct conn *c, uint32_t job, const uint8_t *proof)
{
    struct buf info = BUF_INIT;
    info_map(rt, &info, job, proof);
    int rc = conn_send(c, PROTO_HELLO_OK, (uint64_t)PROTO_VERSION, rt->n->hex, info.data, info.len);
    buf_free(&info);
    return rc;
}

/* Look up a key in a HELLO info map. Returns 0 and the item, or -1. */
static int info_get(const struct proto_msg *m, const char *key, struct mpr_item *out)
{
    struct mpr r;
    uint32_t n;
    mpr_init(&r, m->f[4].as.s.ptr, m->f[4].as.s.len);
    if (mpr_map(&r, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        if (mpr_str(&r, &k, &kl) < 0)
            return -1;
        if (kl == strlen(key) && memcmp(k, key, kl) == 0)
            return mpr_next(&r, out);
        if (mpr_skip(&r) < 0)
            return -1;
    }
    return -1;
}

static void rt_client_gone(struct conn *c, struct conn_owner *o)
{
    struct client *cl = CONN_OWNER_OF(o, struct client, co);
    struct runtime *rt = cl->rt;
    (void)c;
    objects_client_gone(rt, cl);
    lease_client_gone(rt, cl);
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        CLS(rt)->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    if (cl->worker) {
        workers_client_closed(rt, cl->worker);
    } else if (cl->is_driver && cl->job) {
        struct job *j = cl->job;
        if (job_driver(j) == cl)
            job_set_driver(j, NULL);
        if (job_driver_pid(j) <= 0 && !job_ending(j))
            jobs_driver_gone(rt, j); /* a standalone (or adopted) driver disconnected */
    }
    free(cl);
}

static struct client *client_new(struct runtime *rt, struct conn *c, struct job *j)
{
    struct client *cl = xcalloc(1, sizeof *cl);
    cl->conn = c;
    cl->rt = rt;
    cl->co = (struct conn_owner){ CONN_OWNER_CLIENT, rt_client_gone };
    cl->job = j;
    cl->store_id = CLS(rt)->next_store_id++;
    cl->next = CLS(rt)->clients;
    if (CLS(rt)->clients)
        CLS(rt)->clients->prev = cl;
    CLS(rt)->clients = cl;
    conn_set_owner(c, &cl->co);
    return cl;
}

/* A standalone driver waits for its job number: its connection is held
 * (conn_hold) so that what it sends meanwhile is dispatched, in order, once
 * it is a client with a job. */
struct standalone_ctx {
    struct runtime *rt;
    struct conn *c;      /* NULL once the connection went away */
    struct conn_owner co; /* CONN_OWNER_STANDALONE: C's owner */
};

static void standalone_conn_gone(struct conn *c, struct conn_owner *o)
{
    (void)c;
    struct standalone_ctx *ctx = CONN_OWNER_OF(o, struct standalone_ctx, co);
    ctx->c = NULL;
}

static void standalone_job_ready(void *arg, struct job *j)
{
    struct standalone_ctx *ctx = arg;
    struct runtime *rt = ctx->rt;
    struct conn *c = ctx->c;
    if (c)
        conn_set_owner(c, NULL);
    free(ctx);
    if (c == NULL) {
        if (j)
            jobs_end(rt, j, "FINISHED");
        return;
    }
    if (j == NULL) {
        conn_fail(c, -8, "cannot allocate a job: GCS unavailable");
        return;
    }
    struct client *cl = client_new(rt, c, j);
    cl->is_driver = true;
    job_set_driver(j, cl);
    send_hello_ok(rt, c, job_num(j), NULL);
    conn_release(c); /* replay what it sent before HELLO_OK */
}

/*
 * A driver that HELLOs with a job this node does not run: a driver whose
 * node died (the head, restarted on the same socket) reconnecting
 * (docs/faults.md). Its job record says whether it may: RUNNING, driven by
 * a node that is not alive. Then this node becomes the job's driver node
 * (jobs_adopt) and the driver carries on with the same job number; else
 * the driver is told no: a job that is over for good (RAY_EINVAL: the
 * driver stops trying), or one whose node still lives (try again: the
 * head may not have declared it dead yet).
 */
struct adopt_ctx {
    struct standalone_ctx sc; /* its owner is sc.co: standalone_conn_gone sees it as one */
    uint32_t num;
};

static void adopt_cb(void *arg, const struct gcs_reply *r)
{
    struct adopt_ctx *ctx = arg;
    struct runtime *rt = ctx->sc.rt;
    struct conn *c = ctx->sc.c;
    if (c)
        conn_set_owner(c, NULL);
    if (c == NULL || rt->stopping) {
        free(ctx);
        return;
    }
    char state[32] = "", driver[IDS_HEX_SIZE] = "", lib[65] = "";
    char *outs[3] = { state, driver, lib };
    size_t caps[3] = { sizeof state, sizeof driver, sizeof lib };
    for (size_t i = 0; r && gcs_reply_type(r) == GCS_REPLY_ARRAY && i < 3 &&
                       i < gcs_reply_elements(r); i++) {
        size_t len;
        const char *v = gcs_reply_str(gcs_reply_element(r, i), &len);
        if (v)
            snprintf(outs[i], caps[i], "%.*s", (int)len, v);
    }
    uint32_t num = ctx->num;
    free(ctx);
    struct cluster_node *cn = driver[0] ? cluster_find(rt, driver) : NULL;
    struct job *j = rt_job_find(rt, num);
    if (r == NULL || gcs_reply_type(r) != GCS_REPLY_ARRAY) {
        conn_fail(c, -8, "cannot look up job %08x: GCS unavailable", num);
    } else if (state[0] == '\0') {
        conn_fail(c, RAY_EINVAL, "unknown job %08x", num);
    } else if (strcmp(state, "RUNNING") != 0) {
        conn_fail(c, RAY_EINVAL, "job %08x is over (%s)", num, state);
    } else if (strcmp(driver, rt->n->hex) == 0 ||
               (cn && cluster_node_alive(cn) && !cluster_node_self(cn))) {
        conn_fail(c, -1, "job %08x is driven by node %.8s, which is alive", num, driver);
    } else if (j && (job_ending(j) || job_driver(j))) {
        conn_fail(c, RAY_EINVAL, "job %08x has a driver here already, or is ending", num);
    } else {
        j = jobs_adopt(rt, num, driver, lib);
        struct client *cl = client_new(rt, c, j);
        cl->is_driver = true;
        job_set_driver(j, cl);
        send_hello_ok(rt, c, job_num(j), NULL);
        conn_release(c); /* replay what it sent before HELLO_OK */
    }
}

static void adopt_start(struct runtime *rt, struct conn *c, uint32_t num)
{
    struct adopt_ctx *ctx = xcalloc(1, sizeof *ctx);
    ctx->sc.rt = rt;
    ctx->sc.c = c;
    ctx->num = num;
    ctx->sc.co = (struct conn_owner){ CONN_OWNER_STANDALONE, standalone_conn_gone };
    conn_set_owner(c, &ctx->sc.co);
    conn_hold(c);
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", num);
    if (gcs_command(rt->n->gcs, adopt_cb, ctx, "HMGET %sjob:%s state driver_node library_hash",
                    gcs_client_prefix(rt->n->gcs), hex) < 0)
        adopt_cb(ctx, NULL);
}

static int rt_hello(struct conn *c, const struct proto_msg *m, uint64_t role, void *arg)
{
    struct runtime *rt = arg;
    struct mpr_item it;
    switch (role) {
    case PROTO_ROLE_CLI:
        return send_hello_ok(rt, c, 0, NULL);
    case PROTO_ROLE_NODE: {
        uint8_t proof[32];
        return send_hello_ok(rt, c, 0, server_hello_proof(rt->n->srv, m, proof) ? proof : NULL);
    }
    case PROTO_ROLE_WORKER: {
        if (info_get(m, "worker_id", &it) < 0 || it.kind != MPR_BIN || it.as.s.len != IDS_SIZE) {
            conn_fail(c, -1, "worker HELLO without worker_id");
            return -1;
        }
        uint8_t wid[IDS_SIZE];
        memcpy(wid, it.as.s.ptr, IDS_SIZE);
        struct worker *w = workers_find(rt, wid);
        if (w == NULL || worker_client(w) != NULL || worker_state(w) == WORKER_DEAD) {
            conn_fail(c, -1, "unknown worker");
            return -1;
        }
        struct client *cl = client_new(rt, c, worker_job(w));
        cl->worker = w;
        if (send_hello_ok(rt, c, job_num(worker_job(w)), NULL) < 0)
            return -1;
        workers_connected(rt, wid, cl);
        return 0;
    }
    case PROTO_ROLE_DRIVER: {
        if (info_get(m, "job", &it) == 0 && (it.kind == MPR_UINT || it.kind == MPR_INT) &&
            it.as.u != 0) {
            struct job *j = rt_job_find(rt, (uint32_t)it.as.u);
            if (j == NULL || (job_remote(j) && !job_ending(j) && !job_driver(j))) {
                adopt_start(rt, c, (uint32_t)it.as.u); /* a driver whose node died */
                return 0;
            }
            if (job_ending(j)) { /* for good: a reconnecting driver stops trying */
                conn_fail(c, RAY_EINVAL, "job %08llx has ended", (unsigned long long)it.as.u);
                return -1;
            }
            if (job_driver(j)) {
                conn_fail(c, -1, "job %08llx has a driver connected", (unsigned long long)it.as.u);
                return -1;
            }
            struct client *cl = client_new(rt, c, j);
            cl->is_driver = true;
            job_set_driver(j, cl);
            if (send_hello_ok(rt, c, job_num(j), NULL) < 0)
                return -1;
            jobs_driver_connected(rt, j);
            return 0;
        }
        struct standalone_ctx *ctx = xcalloc(1, sizeof *ctx);
        ctx->rt = rt;
        ctx->c = c;
        ctx->co = (struct conn_owner){ CONN_OWNER_STANDALONE, standalone_conn_gone };
        conn_set_owner(c, &ctx->co);
        conn_hold(c);
        jobs_new_standalone(rt, standalone_job_ready, ctx);
        return 0;
    }
    default:
        conn_fail(c, -1, "unknown role %llu", (unsigned long long)role);
        return -1;
    }
}

static int rt_node_info(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct buf info = BUF_INIT;
    info_map(rt, &info, 0, NULL);
    int rc = conn_send(c, PROTO_NODE_INFO, m->f[0].as.u, info.data, info.len);
    buf_free(&info);
    return rc;
}

static void rt_store_ready(void *arg, const uint8_t *id)
{
    objects_ready(arg, id);
}

static void rt_log_sink(void *arg, const char *line, size_t len)
{
    bio_file_write(arg, line, len);
}

struct runtime *runtime_new(struct node *n)
{
    struct runtime *rt = xcalloc(1, sizeof *rt);
    rt->n = n;
    CLS(rt)->next_store_id = 1;
    char err[256];
    rt->bio = bio_new(n->base, err, sizeof err);
    if (rt->bio == NULL)
        log_fatal("%s", err);
    if (log_path()) {
        /* the node's own log, written by the helper from now on */
        rt->logf = bio_file_open(rt->bio, log_path(), 0600);
        log_set_sink(rt_log_sink, rt->logf);
    }
    server_on_hello(n->srv, rt_hello, rt);
    server_on(n->srv, PROTO_NODE_INFO_REQ, rt_node_info, rt);
    objstore_set_ready_cb(n->store, rt_store_ready, rt);
    objects_init(rt);
    tasks_init(rt);
    actors_init(rt);
    workers_init(rt);
    jobs_init(rt);
    cluster_init(rt);
    rt_objmgr_init(rt);
    spill_init(rt);
    pg_init(rt);
    renv_init(rt);
    observe_init(rt);
    return rt;
}

void runtime_stop(struct runtime *rt)
{
    if (rt == NULL || rt->stopping)
        return;
    rt->stopping = true;
    for (struct job *j = jobs_first(rt); j; j = job_next(j)) {
        /* a clean stop (ray stop, ray down) is the job's end: its `ray
         * submit` hears so now and leaves, instead of taking the closed
         * connection for a crashed head and waiting to reattach */
        jobs_tell_stopped(rt, j);
        if (!job_ending(j))
            jobs_end(rt, j, "STOPPED");
    }
}

void runtime_free(struct runtime *rt)
{
    if (rt == NULL)
        return;
    runtime_stop(rt);
    /* task records held back are written now, while their jobs and workers
     * exist (tasks_free's own flush then finds nothing: it used to read
     * both after they were freed, under ASan at a ray stop mid-task) */
    taskrec_free(rt);
    observe_free(rt);
    pg_free(rt);
    spill_free(rt);
    rt_objmgr_free(rt);
    jobs_free(rt);
    workers_free(rt);
    actors_free(rt);
    tasks_free(rt);
    objects_free(rt);
    while (CLS(rt)->clients) {
        struct client *cl = CLS(rt)->clients;
        CLS(rt)->clients = cl->next;
        conn_set_owner(cl->conn, NULL);
        free(cl);
    }
    cluster_free(rt);
    /* last: every module has closed its files and handed in its work */
    if (rt->logf) {
        log_set_sink(NULL, NULL);
        bio_file_close(rt->logf);
    }
    bio_free(rt->bio);
    free(rt->ts); /* the modules' state blocks (their contents are freed above) */
    free(rt->ws);
    free(rt->as);
    free(rt->cls);
    free(rt->js);
    free(rt->os);
    free(rt->cs);
    free(rt->trs);
    free(rt);
}

struct bio *runtime_bio(struct runtime *rt)
{
    return rt->bio;
}

long long runtime_queue_len(const struct runtime *rt)
{
    return rt ? tasks_queued(rt) + tasks_waiting(rt) + tasks_pipelined(rt) : 0;
}

void runtime_node_dead(struct runtime *rt, const char *node_hex)
{
    if (rt != NULL)
        cluster_node_dead(rt, node_hex);
}

/* ---- figures for the rest of the daemon (runtime.h) ------------------------------ */

void runtime_stats(const struct runtime *rt, struct runtime_stats *out)
{
    memset(out, 0, sizeof *out);
    if (rt == NULL)
        return;
    out->queued = tasks_queued(rt);
    out->waiting = tasks_waiting(rt);
    out->pipelined = tasks_pipelined(rt);
    out->workers = workers_count(rt);
    out->rec_live = taskrec_live(rt);
    out->spilled = counters_spilled();
    out->direct_tasks = lease_direct_tasks();
    out->leases_granted = lease_granted();
    spill_lineage_size(rt, &out->lineage_bytes, &out->lineage_entries);
    out->tasks = tasks_map(rt)->len;
    out->actors = actors_map(rt)->len;
    out->waiters = objects_nwaited(rt);
    for (const struct job *j = jobs_first(rt); j; j = job_next(j))
        out->jobs++;
    for (const struct client *c = CLS(rt)->clients; c; c = c->next)
        out->clients++;
}

void runtime_each_task(const struct runtime *rt,
                       void (*fn)(void *arg, const char *name, const char *state), void *arg)
{
    size_t pos = 0;
    struct idmap_slot *sl;
    while (rt && (sl = idmap_next(tasks_map(rt), &pos)) != NULL) {
        const struct task *t = sl->val;
        pos++;
        fn(arg, task_name(t) ? task_name(t) : "",
           task_state(t) == TASK_RUNNING  ? "RUNNING"
           : task_state(t) == TASK_QUEUED ? "PENDING_NODE_ASSIGNMENT"
                                     : "PENDING_ARGS_AVAIL");
    }
}

void runtime_each_final(void (*fn)(void *arg, const char *name, unsigned long long finished,
                                   unsigned long long failed),
                        void *arg)
{
    counters_each_final(fn, arg);
}

void runtime_each_actor(const struct runtime *rt,
                        void (*fn)(void *arg, const char *cls, const char *name,
                                   const char *state),
                        void *arg)
{
    static const char *const st[] = { "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD" };
    size_t pos = 0;
    struct idmap_slot *sl;
    while (rt && (sl = idmap_next(actors_map(rt), &pos)) != NULL) {
        const struct actor *a = sl->val;
        pos++;
        if (!actor_remote(a))
            fn(arg, actor_cls(a) ? actor_cls(a) : "", actor_name(a), st[actor_state(a)]);
    }
}

size_t runtime_worker_pids(const struct runtime *rt, pid_t *out, size_t max)
{
    return rt ? workers_pids(rt, out, max) : 0;
}

int runtime_client_id(struct conn *c)
{
    struct client *cl = rt_client_of(c);
    return cl ? cl->store_id : -1;
}

void runtime_set_worker_cap(struct runtime *rt, int cap)
{
    workers_set_cap(rt, cap);
}

void runtime_pg_job_ended(struct runtime *rt, uint32_t num)
{
    pg_job_ended(rt, num);
}

void runtime_pg_recover(struct runtime *rt, const char (*alive)[IDS_HEX_SIZE], size_t nalive)
{
    pg_recover(rt, alive, nalive);
}
