/*
 * observe.c — the node's answers to "what is going on here": log files
 * (LOG_LIST, LOG_READ), running work, actors and objects (NODE_STATS), and
 * the timeline events of its workers and drivers (EVENTS), appended to the
 * GCS. See observe.h and docs/protocol.md "Observability".
 *
 * DESIGN. A LOG_READ is a small state machine (struct logreq) owned by the
 * CLI connection that asked: it reads its file in steps of at most
 * OBS_CHUNK bytes, each read on the helper thread (bio.h: after every write
 * queued to the file before it) and handled back on the loop, filters and tails whole lines,
 * and sends them as LOG_DATA. When the connection's output passes
 * CONN_DRAIN_LOW_WATER it waits for the drain callback before the next
 * step, so neither a big file nor a slow reader holds the loop or memory.
 * A following request polls its file every OBS_FOLLOW_MS once it has
 * caught up. The connection closing frees the request (its on_close), or,
 * while a read is on the helper, that read's completion does. tasks.out,
 * tasks.err and job-<hex>.err are written by the helper too (bio_file).
 */
#include "runtime/observe.h"
#include "runtime/lease.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "runtime/internal.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/jobs.h"
#include "runtime/objects.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "daemon/server.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OBS_CHUNK (256u << 10)   /* bytes read from a file per loop turn */
#define OBS_SEND_AT (64u << 10)  /* LOG_DATA is sent once this much is collected */
#define OBS_FOLLOW_MS 200        /* a caught-up follower looks again after this */
#define OBS_MAX_TAIL 100000      /* lines a tail may keep */
#define OBS_TAG_LEN (2 * (IDS_HEX_SIZE - 1) + 2) /* "<task> <actor>\t" */

struct logreq {
    struct runtime *rt;
    struct conn *c;
    struct conn_owner co;        /* CONN_OWNER_LOGREQ: C's owner */
    uint64_t reqid;
    char path[4096];
    char label[64];              /* the file's name, for messages */
    bool tolerate_missing;       /* a task/job file not written yet is empty */
    off_t off;
    bool filtered;
    char filter_hex[IDS_HEX_SIZE];
    bool follow, caught_up;
    uint32_t tail;
    struct buf partial;          /* an incomplete last line */
    struct buf out;              /* collected for the next LOG_DATA */
    struct buf *ring;            /* tail: the last TAIL lines */
    uint32_t ring_n, ring_head;
    struct event *ev;
    /* one read of the file on the helper thread (bio.h) at a time: while
     * READING, the fields below are the helper's */
    bool reading;
    char *chunk;                 /* OBS_CHUNK bytes */
    ssize_t rd_n;                /* bytes read at rd_off, or -1 */
    off_t rd_off;                /* where it read (0 again after a truncation) */
    int rd_errno;                /* the open's errno, 0 if it opened */
};

struct observe {
    struct bio_file *tasks_f[2]; /* tasks.out, tasks.err (written by the helper thread) */
    struct buf agg;              /* the timeline entry being gathered */
    pid_t agg_pid;               /* the process of its last section */
    char agg_job[16];
    struct event *agg_ev;        /* appends it 100 ms after its first line */
};

static struct observe obs_state = { .agg_pid = -1 };

/* ---- worker output, tagged ----------------------------------------------------- */

void observe_worker_line(struct runtime *rt, struct worker *w, int stream, const char *line,
                         size_t len)
{
    struct observe *o = &obs_state;
    int k = stream == 2 ? 1 : 0;
    worker_set_printed(w, true);
    if (o->tasks_f[k] == NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/logs/tasks.%s", rt->n->session_dir, k ? "err" : "out");
        o->tasks_f[k] = bio_file_open(rt->bio, path, 0600);
    }
    const uint8_t *task = NULL;
    /* the worker's actor, or the shared one a host named (workers.c) */
    const uint8_t *aid = workers_line_actor(rt, w, stream);
    struct actor *a = aid ? actors_find(rt, aid) : NULL;
    if (worker_task(w))
        task = task_id(worker_task(w));
    if (worker_task(w) && task_lease(worker_task(w)) && lease_output_task(rt, w))
        task = lease_output_task(rt, w); /* a task sent to it directly (lease.c) */
    else if (!worker_task(w) && a && actor_running(a))
        task = task_id(actor_running(a));
    else if (!worker_task(w) && a && actor_create(a))
        task = task_id(actor_create(a));
    char th[IDS_HEX_SIZE], ah[IDS_HEX_SIZE];
    static const uint8_t zero[IDS_SIZE];
    ids_hex(task ? task : zero, IDS_SIZE, th);
    ids_hex(aid ? aid : zero, IDS_SIZE, ah);
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s %s\t", th, ah);
    buf_append(&b, line, len);
    buf_append(&b, "\n", 1);
    bio_file_write(o->tasks_f[k], b.data, b.len);
    buf_free(&b);
}

void observe_task_done(struct runtime *rt, struct worker *w)
{
    if (worker_printed(w))
        workers_drain_output(rt, w);
}

/* ---- timeline events ------------------------------------------------------------- */

/* Batches of every process of the node are gathered into one entry of the
 * timeline stream, so its length cap (entries) bounds events, not sends:
 * a section "@ PID ROLE JOB" line, then that process's lines. An entry is
 * appended once it holds OBS_ENTRY_BYTES, or 100 ms after its first line. */
#define OBS_ENTRY_BYTES (48u << 10)

static void events_flush(struct runtime *rt)
{
    struct observe *o = &obs_state;
    if (o->agg.len == 0)
        return;
    const char *p = gcs_client_prefix(rt->n->gcs);
    char key[256], maxlen[32];
    snprintf(key, sizeof key, "%stimeline", p);
    snprintf(maxlen, sizeof maxlen, "%d", OBSERVE_TIMELINE_MAXLEN);
    const char *argv[] = { "XADD", key, "MAXLEN", "~", maxlen, "*", "node", rt->n->hex,
                           "events", o->agg.data };
    size_t argl[10];
    for (int i = 0; i < 9; i++)
        argl[i] = strlen(argv[i]);
    argl[9] = o->agg.len;
    gcs_command_argv(rt->n->gcs, NULL, NULL, 10, argv, argl);
    buf_reset(&o->agg);
    o->agg_pid = -1;
}

static void events_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    events_flush(arg);
}

/* Add LEN bytes of event lines of process PID (ROLE, JOB) to the entry. */
static void events_add(struct runtime *rt, pid_t pid, const char *role, const char *job,
                       const void *lines, size_t len)
{
    struct observe *o = &obs_state;
    if (o->agg.len == 0) {
        if (o->agg_ev == NULL)
            o->agg_ev = evtimer_new(rt->n->base, events_cb, rt);
        struct timeval tv = { 0, 100000 };
        evtimer_add(o->agg_ev, &tv);
    }
    if (pid != o->agg_pid || strcmp(job, o->agg_job) != 0) {
        buf_printf(&o->agg, "@ %d %s %s\n", (int)pid, role, job);
        o->agg_pid = pid;
        snprintf(o->agg_job, sizeof o->agg_job, "%s", job);
    }
    buf_append(&o->agg, lines, len);
    if (len && ((const char *)lines)[len - 1] != '\n')
        buf_append(&o->agg, "\n", 1);
    if (o->agg.len >= OBS_ENTRY_BYTES)
        events_flush(rt);
}

static int h_events(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL)
        return 0; /* only workers and drivers record events */
    if (m->f[0].as.s.len == 0)
        return 0;
    const char *job = client_job(cl) ? job_hex(client_job(cl)) : "00000000";
    events_add(rt, c->pid, client_worker(cl) ? "worker" : "driver", job, m->f[0].as.s.ptr,
               m->f[0].as.s.len);
    return 0;
}

void observe_node_span(struct runtime *rt, char code, const uint8_t *task_id, long long start_us,
                       long long dur_us, int attempt, const char *name)
{
    char hex[IDS_HEX_SIZE];
    ids_hex(task_id, IDS_SIZE, hex);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_wall = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now_mono = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    /* START_US is on the monotonic clock: move it to the wall clock */
    long long wall = now_wall - (now_mono - start_us);
    char line[400];
    int n = snprintf(line, sizeof line, "%c %lld %lld %s %d %.200s\n", code, wall, dur_us, hex,
                     attempt, name && *name ? name : "?");
    events_add(rt, getpid(), "raylet", "00000000", line, (size_t)n);
}

/* ---- log files ------------------------------------------------------------------ */

static void logreq_free(struct logreq *q)
{
    if (q == NULL)
        return;
    if (q->c) {
        conn_set_owner(q->c, NULL);
        conn_on_drain(q->c, NULL, NULL);
    }
    if (q->ev)
        event_free(q->ev);
    free(q->chunk);
    buf_free(&q->partial);
    buf_free(&q->out);
    if (q->ring) {
        for (uint32_t i = 0; i < q->tail; i++)
            buf_free(&q->ring[i]);
        free(q->ring);
    }
    free(q);
}

static void logreq_conn_gone(struct conn *c, struct conn_owner *o)
{
    struct logreq *q = CONN_OWNER_OF(o, struct logreq, co);
    (void)c;
    q->c = NULL;
    if (!q->reading)
        logreq_free(q); /* else logreq_read_done frees it */
}

static void logreq_flush(struct logreq *q, int status, const char *msg)
{
    if (q->out.len == 0 && status == 0)
        return;
    conn_send(q->c, PROTO_LOG_DATA, q->reqid, (int64_t)status, q->out.len ? q->out.data : "",
              q->out.len, msg ? msg : "");
    buf_reset(&q->out);
}

/* Fail the request with MSG: one LOG_DATA with a negative status. */
static void logreq_fail(struct logreq *q, const char *msg)
{
    buf_reset(&q->out);
    logreq_flush(q, -1, msg);
    logreq_free(q);
}

/* One whole line (no newline): keep it if it passes the filter. */
static void logreq_line(struct logreq *q, const char *p, size_t len)
{
    if (q->filtered) {
        if (len < OBS_TAG_LEN || p[OBS_TAG_LEN - 1] != '\t')
            return;
        if (memcmp(p, q->filter_hex, IDS_HEX_SIZE - 1) != 0 &&
            memcmp(p + IDS_HEX_SIZE, q->filter_hex, IDS_HEX_SIZE - 1) != 0)
            return;
        p += OBS_TAG_LEN;
        len -= OBS_TAG_LEN;
    }
    if (q->tail && !q->caught_up) {
        struct buf *slot = &q->ring[q->ring_head];
        buf_reset(slot);
        buf_append(slot, p, len);
        q->ring_head = (q->ring_head + 1) % q->tail;
        if (q->ring_n < q->tail)
            q->ring_n++;
        return;
    }
    buf_append(&q->out, p, len);
    buf_append(&q->out, "\n", 1);
}

static void logreq_feed(struct logreq *q, const char *p, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        if (nl == NULL) {
            buf_append(&q->partial, p, len);
            return;
        }
        size_t ll = (size_t)(nl - p);
        if (q->partial.len) {
            buf_append(&q->partial, p, ll);
            logreq_line(q, q->partial.data, q->partial.len);
            buf_reset(&q->partial);
        } else {
            logreq_line(q, p, ll);
        }
        p = nl + 1;
        len -= ll + 1;
    }
}

/* The first pass reached the end of the file: hand over the tail kept. */
static void logreq_caught_up(struct logreq *q)
{
    if (q->caught_up)
        return;
    if (!q->follow && q->partial.len) {
        logreq_line(q, q->partial.data, q->partial.len);
        buf_reset(&q->partial);
    }
    q->caught_up = true;
    if (q->tail) {
        uint32_t first = (q->ring_head + q->tail - q->ring_n) % q->tail;
        for (uint32_t i = 0; i < q->ring_n; i++) {
            struct buf *b = &q->ring[(first + i) % q->tail];
            buf_append(&q->out, b->data ? b->data : "", b->len);
            buf_append(&q->out, "\n", 1);
        }
    }
}

static void logreq_step(struct logreq *q);

static void logreq_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    logreq_step(arg);
}

static void logreq_drain_cb(struct conn *c, void *arg)
{
    conn_on_drain(c, NULL, NULL);
    logreq_step(arg);
}

/* On the helper: the next chunk of the file, from Q->off. Reads
 * Q->path and Q->off, writes the rd_ fields and the chunk only. Being on
 * the helper, it comes after every write queued to the file before it. */
static void logreq_read_work(void *arg)
{
    struct logreq *q = arg;
    q->rd_n = -1;
    q->rd_off = q->off;
    int fd = open(q->path, O_RDONLY | O_CLOEXEC);
    q->rd_errno = fd < 0 ? errno : 0;
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size < q->rd_off)
        q->rd_off = 0; /* truncated: start again */
    q->rd_n = pread(fd, q->chunk, OBS_CHUNK, q->rd_off);
    close(fd);
}

static void logreq_read_done(void *arg, bool cancelled)
{
    struct logreq *q = arg;
    q->reading = false;
    if (cancelled || q->c == NULL) { /* the node stops, or the CLI left */
        logreq_free(q);
        return;
    }
    if (q->rd_errno != 0 && !(q->rd_errno == ENOENT && (q->tolerate_missing || q->caught_up))) {
        char msg[600];
        snprintf(msg, sizeof msg, "no such log file on node %.8s: %s", q->rt->n->hex, q->label);
        logreq_fail(q, msg);
        return;
    }
    bool at_end = true;
    if (q->rd_errno == 0) {
        q->off = q->rd_off;
        if (q->rd_n > 0) {
            q->off += q->rd_n;
            logreq_feed(q, q->chunk, (size_t)q->rd_n);
            at_end = (size_t)q->rd_n < OBS_CHUNK;
        }
    }
    if (at_end)
        logreq_caught_up(q);
    if (at_end && !q->follow) {
        logreq_flush(q, 1, NULL);
        logreq_free(q);
        return;
    }
    if (q->out.len >= OBS_SEND_AT || at_end)
        logreq_flush(q, 0, NULL);
    if (conn_outbuf_len(q->c) > CONN_DRAIN_LOW_WATER) {
        conn_on_drain(q->c, logreq_drain_cb, q);
        return;
    }
    struct timeval tv = { 0, at_end ? OBS_FOLLOW_MS * 1000 : 0 };
    event_add(q->ev, &tv);
}

/* Read the next chunk: on the helper thread, then logreq_read_done. */
static void logreq_step(struct logreq *q)
{
    if (q->reading)
        return;
    if (q->chunk == NULL)
        q->chunk = xmalloc(OBS_CHUNK);
    q->reading = true;
    bio_submit(q->rt->bio, logreq_read_work, logreq_read_done, q);
}

static bool plain_name(const char *s, size_t len)
{
    if (len == 0 || len > 200 || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/' || s[i] == '\0')
            return false;
    return true;
}

static bool hex8(const char *s, size_t len)
{
    if (len != 8)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static int h_log_read(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    uint64_t reqid = m->f[0].as.u;
    const char *src = m->f[1].as.s.ptr;
    size_t slen = m->f[1].as.s.len;
    int stream = m->f[2].as.u == 2 ? 2 : 1;
    const char *logs = rt->n->session_dir;
    if (c->role != PROTO_ROLE_CLI || c->owner != NULL) {
        conn_send(c, PROTO_LOG_DATA, reqid, (int64_t)-1, "", (size_t)0,
                  "one LOG_READ at a time, from a CLI connection");
        return 0;
    }
    if (m->f[3].as.s.len != 0 && m->f[3].as.s.len != IDS_SIZE) {
        conn_send(c, PROTO_LOG_DATA, reqid, (int64_t)-1, "", (size_t)0, "bad filter");
        return 0;
    }
    struct logreq *q = xcalloc(1, sizeof *q);
    q->rt = rt;
    q->reqid = reqid;
    q->follow = m->f[5].as.b;
    q->tail = m->f[4].as.u > OBS_MAX_TAIL ? OBS_MAX_TAIL : (uint32_t)m->f[4].as.u;
    if (q->tail)
        q->ring = xcalloc(q->tail, sizeof *q->ring);
    if (m->f[3].as.s.len == IDS_SIZE) {
        q->filtered = true;
        ids_hex(m->f[3].as.s.ptr, IDS_SIZE, q->filter_hex);
    }
    if (slen == 4 && memcmp(src, "node", 4) == 0) {
        snprintf(q->label, sizeof q->label, "%s.log", rt->n->is_head ? "rayd_head" : "rayd");
    } else if (slen == 12 && memcmp(src, "job:", 4) == 0 && hex8(src + 4, 8)) {
        snprintf(q->label, sizeof q->label, "job-%.8s.%s", src + 4, stream == 2 ? "err" : "log");
        q->tolerate_missing = true;
    } else if (slen == 5 && memcmp(src, "tasks", 5) == 0) {
        snprintf(q->label, sizeof q->label, "tasks.%s", stream == 2 ? "err" : "out");
        q->tolerate_missing = true;
    } else if (plain_name(src, slen) && slen < sizeof q->label) {
        snprintf(q->label, sizeof q->label, "%.*s", (int)slen, src);
    } else {
        free(q->ring);
        free(q);
        conn_send(c, PROTO_LOG_DATA, reqid, (int64_t)-1, "", (size_t)0, "bad log source");
        return 0;
    }
    if (!(slen == 5 && memcmp(src, "tasks", 5) == 0))
        q->filtered = false; /* a filter applies to tagged task output only */
    snprintf(q->path, sizeof q->path, "%s/logs/%s", logs, q->label);
    q->c = c;
    q->co = (struct conn_owner){ CONN_OWNER_LOGREQ, logreq_conn_gone };
    conn_set_owner(c, &q->co);
    q->ev = evtimer_new(rt->n->base, logreq_ev_cb, q);
    logreq_step(q);
    return 0;
}

/* A LOG_LIST: the folder is listed on the helper thread. */
struct loglist {
    struct runtime *rt;
    uint64_t conn_id, reqid;
    char *dir;
    struct buf v;                /* the answer's array, made on the helper */
};

static void loglist_work(void *arg)
{
    struct loglist *l = arg;
    struct buf items = BUF_INIT;
    uint32_t n = 0;
    DIR *d = opendir(l->dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < 10000) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue;
        mpw_array(&items, 3);
        mpw_cstr(&items, de->d_name);
        mpw_uint(&items, (uint64_t)st.st_size);
        mpw_uint(&items, (uint64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
        n++;
    }
    if (d)
        closedir(d);
    mpw_array(&l->v, n);
    buf_append(&l->v, items.data ? items.data : "", items.len);
    buf_free(&items);
}

static void loglist_done(void *arg, bool cancelled)
{
    struct loglist *l = arg;
    struct conn *c = cancelled ? NULL : server_conn_find(l->rt->n->srv, l->conn_id);
    if (c)
        conn_send(c, PROTO_LOG_LIST, l->reqid, l->v.data, l->v.len);
    buf_free(&l->v);
    free(l->dir);
    free(l);
}

static int h_log_list(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct loglist *l = xcalloc(1, sizeof *l);
    l->rt = rt;
    l->conn_id = c->id;
    l->reqid = m->f[0].as.u;
    l->dir = xasprintf("%s/logs", rt->n->session_dir);
    bio_submit(rt->bio, loglist_work, loglist_done, l);
    return 0;
}

/* ---- node state ---------------------------------------------------------------- */

struct objwalk {
    struct runtime *rt;
    struct buf *b;
    uint64_t max, n, total;
};

static const char *call_site(struct runtime *rt, const uint8_t *id, uint32_t vtype)
{
    if (vtype == VT_ERROR)
        return "error";
    uint32_t idx = ids_index(id);
    if (idx & IDS_PUT_INDEX)
        return "put";
    uint8_t base[IDS_SIZE];
    ids_with_index(base, id, 0);
    struct task *t = tasks_find(rt, base);
    if (t && task_kind(t) != TASK_NORMAL)
        return "actor call";
    return "task call";
}

static bool objwalk_visit(const uint8_t *id, const struct objstore_info *info, void *arg)
{
    struct objwalk *w = arg;
    w->total++;
    if (w->n >= w->max)
        return true;
    char hex[IDS_HEX_SIZE];
    ids_hex(id, IDS_SIZE, hex);
    const char *ref = info->pins > 0                          ? "PINNED_IN_MEMORY"
                      : objects_waited_for(w->rt, id) ? "USED_BY_PENDING_TASK"
                                                               : "LOCAL_REFERENCE";
    mpw_array(w->b, 6);
    mpw_cstr(w->b, hex);
    mpw_uint(w->b, info->size);
    mpw_cstr(w->b, info->state == OBJSTORE_SPILLED ? "spilled" : "shm");
    mpw_uint(w->b, info->pins);
    mpw_cstr(w->b, ref);
    mpw_cstr(w->b, call_site(w->rt, id, info->vtype));
    w->n++;
    return true;
}

static const char *actor_state_name(int s)
{
    switch (s) {
    case ACTOR_PENDING: return "PENDING";
    case ACTOR_ALIVE: return "ALIVE";
    case ACTOR_RESTARTING: return "RESTARTING";
    default: return "DEAD";
    }
}

static void stats_task(struct buf *b, const struct task *t, const struct worker *w)
{
    char hex[IDS_HEX_SIZE];
    ids_hex(task_id(t), IDS_SIZE, hex);
    mpw_array(b, 4);
    mpw_cstr(b, hex);
    mpw_cstr(b, task_name(t) ? task_name(t) : "?");
    mpw_cstr(b, task_kind(t) == TASK_NORMAL      ? "task"
                : task_kind(t) == TASK_ACTOR_NEW ? "actor creation"
                                                 : "actor call");
    mpw_uint(b, w ? (uint64_t)worker_pid(w) : 0);
}

static int h_node_stats(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct node *n = rt->n;
    struct buf running = BUF_INIT, actors = BUF_INIT, objs = BUF_INIT, out = BUF_INIT;
    uint32_t nrun = 0, nact = 0;
    for (struct worker *w = workers_first(rt); w; w = worker_next(w)) {
        if (worker_task(w) && nrun < 10000) {
            stats_task(&running, worker_task(w), w);
            nrun++;
        }
        for (struct task *t = worker_nest_head(w); t && nrun < 10000; t = task_next(t), nrun++)
            stats_task(&running, t, w);
    }
    size_t pos = 0;
    struct idmap_slot *sl;
    while ((sl = idmap_next(actors_map(rt), &pos)) != NULL) {
        pos++;
        struct actor *a = sl->val;
        if (actor_remote(a))
            continue;
        for (struct task *t = actor_running(a); t && nrun < 10000; t = task_next(t), nrun++)
            stats_task(&running, t, actor_worker(a));
        if (nact >= 10000)
            continue;
        mpw_array(&actors, 4);
        mpw_cstr(&actors, actor_hex(a));
        mpw_cstr(&actors, actor_cls(a) ? actor_cls(a) : "?");
        mpw_cstr(&actors, actor_state_name(actor_state(a)));
        mpw_cstr(&actors, actor_name(a) ? actor_name(a) : "");
        nact++;
    }
    struct objwalk ow = { rt, &objs, m->f[1].as.u > 100000 ? 100000 : m->f[1].as.u, 0, 0 };
    objstore_foreach(n->store, objwalk_visit, &ow);
    struct objstore_stats st;
    objstore_stats(n->store, &st);

    mpw_map(&out, 9);
    mpw_cstr(&out, "node_id");
    mpw_cstr(&out, n->hex);
    mpw_cstr(&out, "store_capacity");
    mpw_uint(&out, st.capacity);
    mpw_cstr(&out, "store_used");
    mpw_uint(&out, st.used);
    mpw_cstr(&out, "spilled_bytes");
    mpw_uint(&out, st.spilled_bytes);
    mpw_cstr(&out, "num_objects");
    mpw_uint(&out, ow.total);
    mpw_cstr(&out, "queued");
    mpw_uint(&out, (uint64_t)runtime_queue_len(rt));
    mpw_cstr(&out, "running");
    mpw_array(&out, nrun);
    buf_append(&out, running.data ? running.data : "", running.len);
    mpw_cstr(&out, "actors");
    mpw_array(&out, nact);
    buf_append(&out, actors.data ? actors.data : "", actors.len);
    mpw_cstr(&out, "objects");
    mpw_array(&out, (uint32_t)ow.n);
    buf_append(&out, objs.data ? objs.data : "", objs.len);
    conn_send(c, PROTO_NODE_STATS, m->f[0].as.u, out.data, out.len);
    buf_free(&running);
    buf_free(&actors);
    buf_free(&objs);
    buf_free(&out);
    return 0;
}

/* ---- life cycle ----------------------------------------------------------------- */

void observe_init(struct runtime *rt)
{
    struct server *s = rt->n->srv;
    server_on(s, PROTO_LOG_LIST_REQ, h_log_list, rt);
    server_on(s, PROTO_LOG_READ, h_log_read, rt);
    server_on(s, PROTO_NODE_STATS_REQ, h_node_stats, rt);
    server_on(s, PROTO_EVENTS, h_events, rt);
}

void observe_free(struct runtime *rt)
{
    struct observe *o = &obs_state;
    events_flush(rt);
    buf_free(&o->agg);
    if (o->agg_ev)
        event_free(o->agg_ev);
    o->agg_ev = NULL;
    for (int k = 0; k < 2; k++) {
        bio_file_close(o->tasks_f[k]);
        o->tasks_f[k] = NULL;
    }
}
