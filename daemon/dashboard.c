/*
 * dashboard.c — the head's dashboard (dashboard.h): token check, pages,
 * JSON endpoints, the job API, the Prometheus discovery file.
 *
 * DESIGN. One thread, one event_base, one evhttp. Handlers run one at a
 * time and may block for a bounded while (a GCS read through the blocking
 * client, a job's hand-over to the node), which delays only other
 * dashboard requests, never the node's loop. Responses are bounded: tables
 * are paginated (?limit= at most DASH_MAX_LIMIT rows), logs are at most
 * DASH_MAX_LOG bytes per answer, request bodies at most the job library
 * limit. A job submitted here is handed to the node as `ray submit` hands
 * one (HELLO as the CLI, JOB_SUBMIT on the node's Unix socket); the
 * dashboard keeps that connection open while the job runs (closing it
 * would stop the job) and reads its JOB_LOG / JOB_EXIT on its own loop.
 * Its output is read back from the node's job log files.
 */
#include "daemon/dashboard.h"

#include "common/buf.h"
#include "common/http.h"
#include "common/joblib.h"
#include "common/json.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "daemon/metrics.h"
#include "daemon/node.h"
#include "common/tls.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "state/state.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DASH_DEFAULT_PORT 8265
#define DASH_MAX_LIMIT 10000
#define DASH_DEFAULT_LIMIT 100
#define DASH_MAX_LOG (1u << 20)
#define DASH_MAX_BODY (PROTO_MAX_FRAME - (1u << 20))
#define DASH_MAX_JOBS 1000
#define DASH_SD_MS 2000
#define DASH_SUBMIT_TIMEOUT_MS 15000

/* A job submitted through the API. */
struct djob {
    char sub_id[40];   /* raysubmit_<16 hex> */
    char job_id[16];
    char entrypoint[256];
    char status[16];   /* RUNNING | SUCCEEDED | FAILED | STOPPED */
    int exit_code;
    bool has_exit;
    bool stop_requested;
    long long start_ms, end_ms;
    char message[256];
    int fd;            /* the submit connection, -1 once closed */
    struct proto_decoder dec;
    struct event *ev;
    struct dashboard *d;
    struct djob *next;
};

struct dashboard {
    pthread_t th;
    bool running;
    struct event_base *base;
    struct evhttp *http;
    int port;
    int wake[2];                /* a byte here stops the loop */
    struct event *wake_ev, *sd_ev;
    struct gcs_sync *gs;        /* NULL until needed or after a failure */
    struct djob *jobs;
    int njobs;
    /* copied from the node */
    char token[160];
    char gcs[300];              /* HOST:PORT */
    char gcs_host[256];
    int gcs_port;
    char session_dir[4096];
    char sock_path[512];
    char cluster_name[128];
    char node_hex[IDS_HEX_SIZE]; /* this (the head's) node ID */
};

/* ---- helpers ----------------------------------------------------------------------- */

static void reply_buf(struct evhttp_request *req, int code, const char *reason,
                      const char *ctype, const char *data, size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", ctype);
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, data, len);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, int code, const struct buf *b)
{
    reply_buf(req, code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Error",
              "application/json", b->data ? b->data : "", b->len);
}

/* {"error": MSG} with CODE. */
static void reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct buf b = BUF_INIT;
    buf_append(&b, "{\"error\": ", 10);
    json_put_str(&b, msg);
    buf_append(&b, "}\n", 2);
    reply_json(req, code, &b);
    buf_free(&b);
}

/* The GCS client, connected on first use and again after a failure. */
static struct gcs_sync *dash_gcs(struct dashboard *d, char *err, size_t errlen)
{
    if (d->gs)
        return d->gs;
    d->gs = gcs_sync_connect(d->gcs_host, d->gcs_port, d->token, d->cluster_name, 3000, err,
                             errlen);
    return d->gs;
}

static void dash_gcs_failed(struct dashboard *d)
{
    gcs_sync_free(d->gs);
    d->gs = NULL;
}

static const char *query_of(struct evhttp_request *req)
{
    return evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
}

/* ?limit= and ?offset=. Returns 0 or -1 after a 400. */
static int page_args(struct evhttp_request *req, size_t *offset, size_t *limit)
{
    long off, lim;
    const char *q = query_of(req);
    if (http_query_long(q, "limit", DASH_DEFAULT_LIMIT, 1, DASH_MAX_LIMIT, &lim) < 0 ||
        http_query_long(q, "offset", 0, 0, 1L << 40, &off) < 0) {
        reply_error(req, 400, "limit must be 1..%d and offset a number >= 0", DASH_MAX_LIMIT);
        return -1;
    }
    *offset = (size_t)off;
    *limit = (size_t)lim;
    return 0;
}

/* ---- pages and plain endpoints ---------------------------------------------------------- */

static void h_table(struct dashboard *d, struct evhttp_request *req, const char *what)
{
    size_t offset, limit;
    if (page_args(req, &offset, &limit) < 0)
        return;
    char err[512];
    struct gcs_sync *gs = dash_gcs(d, err, sizeof err);
    if (gs == NULL) {
        reply_error(req, 503, "GCS unavailable: %s", err);
        return;
    }
    struct buf b = BUF_INIT;
    if (state_list_page(gs, what, offset, limit, &b) < 0) {
        dash_gcs_failed(d);
        reply_error(req, 503, "cannot read the %s table", what);
    } else {
        reply_json(req, 200, &b);
    }
    buf_free(&b);
}

static void h_cluster_status(struct dashboard *d, struct evhttp_request *req)
{
    char err[512];
    struct gcs_sync *gs = dash_gcs(d, err, sizeof err);
    struct gcs_node *nodes = NULL;
    size_t n = 0;
    if (gs == NULL || gcs_sync_nodes(gs, &nodes, &n) < 0) {
        if (gs)
            dash_gcs_failed(d);
        reply_error(req, 503, "cannot read the cluster's status from the GCS");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (fp == NULL) {
        gcs_node_array_free(nodes, n);
        reply_error(req, 500, "out of memory");
        return;
    }
    state_status_report(fp, gs, nodes, n, NULL, NULL);
    fclose(fp);
    struct buf b = BUF_INIT;
    buf_append(&b, "{\"result\": true, \"data\": {\"clusterStatus\": ", 43);
    json_put_strn(&b, text, len);
    buf_append(&b, ", \"nodes\": ", 11);
    size_t mark = b.len;
    if (state_list_page(gs, "nodes", 0, DASH_MAX_LIMIT, &b) < 0) {
        dash_gcs_failed(d);
        b.len = mark;
        buf_append(&b, "null", 4);
    }
    buf_append(&b, "}}\n", 3);
    reply_json(req, 200, &b);
    buf_free(&b);
    free(text);
    gcs_node_array_free(nodes, n);
}

static void free_text(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

static void h_timeline(struct dashboard *d, struct evhttp_request *req)
{
    long limit;
    char job[16] = "";
    const char *q = query_of(req);
    if (http_query_long(q, "limit", 100000, 1, 100000, &limit) < 0) {
        reply_error(req, 400, "limit must be 1..100000");
        return;
    }
    long jl = http_query_get(q, "job", job, sizeof job);
    if (jl > 0 && (jl != 8 || strspn(job, "0123456789abcdef") != (size_t)jl)) {
        reply_error(req, 400, "job must be 8 hex digits");
        return;
    }
    char err[512];
    struct gcs_sync *gs = dash_gcs(d, err, sizeof err);
    struct gcs_node *nodes = NULL;
    size_t nn = 0, nev = 0;
    if (gs == NULL || gcs_sync_nodes(gs, &nodes, &nn) < 0) {
        if (gs)
            dash_gcs_failed(d);
        reply_error(req, 503, "cannot read the timeline from the GCS");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (fp == NULL) {
        gcs_node_array_free(nodes, nn);
        reply_error(req, 500, "out of memory");
        return;
    }
    int rc = state_timeline_write(fp, gs, nodes, nn, jl > 0 ? job : NULL, limit, &nev, err,
                                  sizeof err);
    gcs_node_array_free(nodes, nn);
    if (fclose(fp) != 0 || rc < 0) {
        if (rc < 0)
            dash_gcs_failed(d);
        free(text);
        reply_error(req, 503, "cannot read the timeline from the GCS");
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Content-Disposition", "attachment; filename=\"timeline.json\"");
    evhttp_add_header(out, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_reference(b, text, len, free_text, NULL); /* takes TEXT */
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ---- jobs ---------------------------------------------------------------------------- */

static void djob_close(struct djob *j)
{
    if (j->ev) {
        event_free(j->ev);
        j->ev = NULL;
    }
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
    proto_decoder_free(&j->dec);
}

static void djob_ended(struct djob *j, int code, const char *msg)
{
    j->has_exit = true;
    j->exit_code = code;
    j->end_ms = net_wall_ms();
    snprintf(j->status, sizeof j->status, "%s",
             j->stop_requested ? "STOPPED" : code == 0 ? "SUCCEEDED" : "FAILED");
    if (msg && *msg)
        snprintf(j->message, sizeof j->message, "%s", msg);
    else if (code == 0)
        snprintf(j->message, sizeof j->message, "Job finished successfully.");
    else if (j->stop_requested)
        snprintf(j->message, sizeof j->message, "Job was stopped (exit status %d).", code);
    else
        snprintf(j->message, sizeof j->message, "Job failed with exit status %d.", code);
    djob_close(j);
}

static void djob_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct djob *j = arg;
    char chunk[65536];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            djob_ended(j, -1, "the node closed the job's connection");
            return;
        }
        proto_decoder_feed(&j->dec, chunk, (size_t)n);
        struct proto_msg m;
        int rc;
        while ((rc = proto_decoder_next(&j->dec, &m)) == PROTO_OK) {
            if (m.type == PROTO_JOB_EXIT) {
                char msg[256];
                snprintf(msg, sizeof msg, "%.*s", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
                djob_ended(j, (int)m.f[0].as.i, msg);
                return;
            }
            if (m.type == PROTO_ERROR) {
                char msg[256];
                snprintf(msg, sizeof msg, "%.*s", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
                djob_ended(j, -1, msg);
                return;
            }
        }
        if (rc == PROTO_BAD) {
            djob_ended(j, -1, "bad message from the node");
            return;
        }
    }
}

static struct djob *djob_find(struct dashboard *d, const char *id)
{
    for (struct djob *j = d->jobs; j; j = j->next)
        if (strcmp(j->sub_id, id) == 0 || strcmp(j->job_id, id) == 0)
            return j;
    return NULL;
}

/* Forget the oldest ended jobs beyond DASH_MAX_JOBS. */
static void djob_trim(struct dashboard *d)
{
    while (d->njobs > DASH_MAX_JOBS) {
        struct djob **pp = &d->jobs, **victim = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->fd < 0)
                victim = pp;
        if (victim == NULL)
            return;
        struct djob *j = *victim;
        *victim = j->next;
        free(j);
        d->njobs--;
    }
}

/* Wait up to the deadline for the next message on FD. 1: M set; 0: EOF or
 * timeout; -1: bad stream. */
static int next_msg(int fd, struct proto_decoder *dec, struct proto_msg *m, long long deadline)
{
    for (;;) {
        int rc = proto_decoder_next(dec, m);
        if (rc == PROTO_OK)
            return 1;
        if (rc == PROTO_BAD)
            return -1;
        int left = (int)(deadline - net_now_ms());
        if (left <= 0)
            return 0;
        struct pollfd p = { fd, POLLIN, 0 };
        int pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return 0;
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        proto_decoder_feed(dec, chunk, (size_t)n);
    }
}

/* Open an authenticated CLI connection to our node. Returns fd or -1. */
static int node_connect(struct dashboard *d, char *err, size_t errlen)
{
    int fd = net_connect_unix(d->sock_path, err, errlen);
    if (fd < 0)
        return -1;
    struct buf frame = BUF_INIT, hello = BUF_INIT;
    mpw_map(&hello, 0);
    proto_pack(&frame, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)PROTO_ROLE_CLI, d->token,
               (uint64_t)getpid(), hello.data, hello.len);
    int rc = net_write_all(fd, frame.data, frame.len);
    buf_free(&frame);
    buf_free(&hello);
    if (rc < 0) {
        snprintf(err, errlen, "cannot talk to the node: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void put_job_json(struct buf *b, const char *job_id, const char *sub_id,
                         const char *status, bool has_exit, int code, long long start,
                         long long end, const char *msg, const char *entrypoint,
                         const char *driver_node)
{
    buf_append(b, "{\"job_id\": ", 11);
    json_put_str(b, job_id);
    buf_append(b, ", \"submission_id\": ", 19);
    if (sub_id && *sub_id)
        json_put_str(b, sub_id);
    else
        buf_append(b, "null", 4);
    buf_append(b, ", \"status\": ", 12);
    json_put_str(b, status);
    if (has_exit)
        buf_printf(b, ", \"exit_code\": %d", code);
    else
        buf_append(b, ", \"exit_code\": null", 19);
    buf_printf(b, ", \"start_time\": %lld, \"end_time\": ", start);
    if (end > 0)
        buf_printf(b, "%lld", end);
    else
        buf_append(b, "null", 4);
    buf_append(b, ", \"message\": ", 13);
    json_put_str(b, msg);
    buf_append(b, ", \"entrypoint\": ", 16);
    json_put_str(b, entrypoint);
    buf_append(b, ", \"driver_node_id\": ", 20);
    json_put_str(b, driver_node);
    buf_append(b, "}", 1);
}

/* The job table's state as the job API names it. */
static const char *api_status(const char *state)
{
    if (state == NULL)
        return "PENDING";
    if (strcmp(state, "FINISHED") == 0)
        return "SUCCEEDED";
    if (strcmp(state, "RUNNING") == 0 || strcmp(state, "FAILED") == 0 ||
        strcmp(state, "STOPPED") == 0)
        return state;
    return "PENDING";
}

static void put_djob(struct buf *b, const struct djob *j, const struct gcs_job *g)
{
    put_job_json(b, j->job_id, j->sub_id, j->status, j->has_exit, j->exit_code, j->start_ms,
                 j->end_ms, j->message, j->entrypoint, g ? g->driver_node : "");
}

static void put_gjob(struct buf *b, const struct gcs_job *g)
{
    put_job_json(b, g->job_id, NULL, api_status(g->state), false, 0, g->start_time_ms,
                 g->end_time_ms, "", g->entrypoint ? g->entrypoint : "",
                 g->driver_node ? g->driver_node : "");
}

/* The GCS's job table (*V, *N; the caller frees). Returns 0 or -1 after a 503. */
static int read_jobs(struct dashboard *d, struct evhttp_request *req, struct gcs_job **v,
                     size_t *n)
{
    char err[512];
    struct gcs_sync *gs = dash_gcs(d, err, sizeof err);
    if (gs == NULL) {
        reply_error(req, 503, "GCS unavailable: %s", err);
        return -1;
    }
    if (gcs_sync_jobs(gs, v, n) < 0) {
        dash_gcs_failed(d);
        reply_error(req, 503, "cannot read the job table");
        return -1;
    }
    return 0;
}

static void h_jobs_list(struct dashboard *d, struct evhttp_request *req)
{
    struct gcs_job *v = NULL;
    size_t n = 0;
    if (read_jobs(d, req, &v, &n) < 0)
        return;
    struct buf b = BUF_INIT;
    buf_append(&b, "[", 1);
    size_t k = 0;
    for (size_t i = 0; i < n && k < DASH_MAX_LIMIT; i++, k++) {
        if (k)
            buf_append(&b, ",\n", 2);
        struct djob *j = djob_find(d, v[i].job_id);
        if (j)
            put_djob(&b, j, &v[i]);
        else
            put_gjob(&b, &v[i]);
    }
    /* API jobs the table does not show (yet) */
    for (struct djob *j = d->jobs; j && k < DASH_MAX_LIMIT; j = j->next) {
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(v[i].job_id, j->job_id) == 0;
        if (!seen) {
            if (k++)
                buf_append(&b, ",\n", 2);
            put_djob(&b, j, NULL);
        }
    }
    buf_append(&b, "]\n", 2);
    gcs_job_array_free(v, n);
    reply_json(req, 200, &b);
    buf_free(&b);
}

/* Find job ID among the API's and the table's. Fills *J or *G (one of them,
 * G from V). Returns 0, or -1 after a 404/503. */
static int job_lookup(struct dashboard *d, struct evhttp_request *req, const char *id,
                      struct djob **j, struct gcs_job **v, size_t *n, struct gcs_job **g)
{
    *j = djob_find(d, id);
    *g = NULL;
    if (read_jobs(d, req, v, n) < 0)
        return -1;
    const char *jid = *j ? (*j)->job_id : id;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].job_id, jid) == 0)
            *g = &(*v)[i];
    if (*j == NULL && *g == NULL) {
        gcs_job_array_free(*v, *n);
        reply_error(req, 404, "no job %s", id);
        return -1;
    }
    return 0;
}

static void h_job_get(struct dashboard *d, struct evhttp_request *req, const char *id)
{
    struct djob *j;
    struct gcs_job *v = NULL, *g;
    size_t n = 0;
    if (job_lookup(d, req, id, &j, &v, &n, &g) < 0)
        return;
    struct buf b = BUF_INIT;
    if (j)
        put_djob(&b, j, g);
    else
        put_gjob(&b, g);
    buf_append(&b, "\n", 1);
    gcs_job_array_free(v, n);
    reply_json(req, 200, &b);
    buf_free(&b);
}

static void h_job_logs(struct dashboard *d, struct evhttp_request *req, const char *id)
{
    struct djob *j;
    struct gcs_job *v = NULL, *g;
    size_t n = 0;
    if (job_lookup(d, req, id, &j, &v, &n, &g) < 0)
        return;
    char jid[16];
    snprintf(jid, sizeof jid, "%s", j ? j->job_id : g->job_id);
    gcs_job_array_free(v, n);
    long off, err;
    const char *q = query_of(req);
    if (http_query_long(q, "offset", -1, -1, 1L << 50, &off) < 0 ||
        http_query_long(q, "err", 0, 0, 1, &err) < 0) {
        reply_error(req, 400, "offset must be a number, err 0 or 1");
        return;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/logs/job-%s.%s", d->session_dir, jid, err ? "err" : "log");
    struct buf data = BUF_INIT, b = BUF_INIT;
    long long size = 0, from = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        size = st.st_size;
        /* without an offset: the last DASH_MAX_LOG bytes; with one, from there */
        from = off < 0 ? (size > DASH_MAX_LOG ? size - DASH_MAX_LOG : 0) : off;
        if (from > size)
            from = size;
        size_t want = (size_t)(size - from) < DASH_MAX_LOG ? (size_t)(size - from) : DASH_MAX_LOG;
        char *p = buf_reserve(&data, want + 1);
        ssize_t got = pread(fd, p, want, from);
        data.len = got > 0 ? (size_t)got : 0;
    }
    if (fd >= 0)
        close(fd);
    buf_append(&b, "{\"logs\": ", 9);
    json_put_strn(&b, data.data ? data.data : "", data.len);
    buf_printf(&b, ", \"offset\": %lld, \"size\": %lld}\n", from + (long long)data.len, size);
    reply_json(req, 200, &b);
    buf_free(&b);
    buf_free(&data);
}

static void h_job_stop(struct dashboard *d, struct evhttp_request *req, const char *id)
{
    struct djob *j;
    struct gcs_job *v = NULL, *g;
    size_t n = 0;
    if (job_lookup(d, req, id, &j, &v, &n, &g) < 0)
        return;
    char jid[16];
    snprintf(jid, sizeof jid, "%s", j ? j->job_id : g->job_id);
    bool running = j ? j->fd >= 0 : (g->state && strcmp(g->state, "RUNNING") == 0);
    gcs_job_array_free(v, n);
    struct buf frame = BUF_INIT;
    char err[512];
    if (!running) {
        reply_buf(req, 200, "OK", "application/json", "{\"stopped\": false}\n", 19);
        return;
    }
    if (j && j->fd >= 0) {
        j->stop_requested = true;
        proto_pack(&frame, PROTO_JOB_STOP, "");
        if (net_write_all(j->fd, frame.data, frame.len) < 0) {
            buf_free(&frame);
            reply_error(req, 500, "cannot reach the job's node: %s", strerror(errno));
            return;
        }
    } else {
        /* a job of `ray submit` (or another node's driver): ask our node */
        int fd = node_connect(d, err, sizeof err);
        if (fd < 0) {
            reply_error(req, 503, "%s", err);
            return;
        }
        proto_pack(&frame, PROTO_JOB_STOP, jid);
        net_write_all(fd, frame.data, frame.len);
        struct proto_decoder dec;
        proto_decoder_init(&dec, 1 << 20);
        struct proto_msg m;
        long long deadline = net_now_ms() + 500;
        int r;
        while ((r = next_msg(fd, &dec, &m, deadline)) == 1 && m.type != PROTO_ERROR)
            ;
        if (r == 1) {
            char msg[256];
            snprintf(msg, sizeof msg, "%.*s", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
            proto_decoder_free(&dec);
            close(fd);
            buf_free(&frame);
            reply_error(req, 409, "cannot stop job %s: %s", jid, msg);
            return;
        }
        proto_decoder_free(&dec);
        close(fd);
    }
    buf_free(&frame);
    reply_buf(req, 200, "OK", "application/json", "{\"stopped\": true}\n", 18);
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char r[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, r, nbytes) != (ssize_t)nbytes) {
        for (size_t i = 0; i < nbytes; i++)
            r[i] = (unsigned char)(net_now_ms() >> (i % 8) ^ i * 131);
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", r[i]);
}

static void h_job_submit(struct dashboard *d, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    char err[1024];
    char *body = (char *)evbuffer_pullup(in, -1);
    struct http_part parts[8];
    int np = http_multipart_parse(ctype, body ? body : "", len, parts, 8, err, sizeof err);
    if (np < 0) {
        reply_error(req, 400, "%s", err);
        return;
    }
    const struct http_part *lib = NULL, *args = NULL, *renv = NULL, *entry = NULL;
    for (int i = 0; i < np; i++) {
        const struct http_part *p = &parts[i];
#define IS(s) (p->namelen == strlen(s) && memcmp(p->name, s, p->namelen) == 0)
        if (IS("library"))
            lib = p;
        else if (IS("args"))
            args = p;
        else if (IS("runtime_env"))
            renv = p;
        else if (IS("entrypoint"))
            entry = p;
        else {
            reply_error(req, 400, "unknown form field '%.*s' (library, args, runtime_env, "
                                  "entrypoint)", (int)(p->namelen < 64 ? p->namelen : 64), p->name);
            return;
        }
#undef IS
    }
    if (lib == NULL || lib->len == 0) {
        reply_error(req, 400, "the form needs a 'library' file field (the job .so)");
        return;
    }
    char libname[256];
    snprintf(libname, sizeof libname, "%.*s", lib->filename ? (int)(lib->filenamelen < 200 ? lib->filenamelen : 200) : 7,
             lib->filename ? lib->filename : "library");
    for (char *c = libname; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '"')
            *c = '_';
    if (entry) {
        snprintf(libname, sizeof libname, "%.*s", (int)(entry->len < 200 ? entry->len : 200),
                 entry->data);
        if (strlen(libname) != (entry->len < 200 ? entry->len : 200)) {
            reply_error(req, 400, "entrypoint must be text");
            return;
        }
    }
    char *image = xmemdup(lib->data, lib->len);
    char **argv = NULL;
    int argc = 0;
    int fd = -1;
    struct buf frame = BUF_INIT, margs = BUF_INIT, opts = BUF_INIT;
    struct proto_decoder dec;
    proto_decoder_init(&dec, 1 << 20);
    if (joblib_check(libname, image, lib->len, err, sizeof err) < 0) {
        reply_error(req, 400, "%s", err);
        goto out;
    }
    if (args && args->len > 0) {
        argc = json_string_array(args->data, args->len, 1000, &argv);
        if (argc < 0) {
            argc = 0;
            reply_error(req, 400, "args must be a JSON array of at most 1000 strings");
            goto out;
        }
    }
    if (renv && renv->len > 0) {
        size_t lead = 0;
        while (lead < renv->len && strchr(" \t\r\n", renv->data[lead]))
            lead++;
        if (!json_valid(renv->data, renv->len) || lead == renv->len || renv->data[lead] != '{') {
            reply_error(req, 400, "runtime_env is not a JSON object");
            goto out;
        }
    }
    fd = node_connect(d, err, sizeof err);
    if (fd < 0) {
        reply_error(req, 503, "%s", err);
        goto out;
    }
    mpw_array(&margs, (uint32_t)argc);
    for (int i = 0; i < argc; i++)
        mpw_cstr(&margs, argv[i]);
    mpw_map(&opts, renv && renv->len ? 2 : 1);
    mpw_cstr(&opts, "entrypoint");
    mpw_cstr(&opts, libname);
    if (renv && renv->len) {
        char *r = xstrndup(renv->data, renv->len);
        mpw_cstr(&opts, "runtime_env");
        mpw_cstr(&opts, r);
        free(r);
    }
    if (proto_pack(&frame, PROTO_JOB_SUBMIT, image, lib->len, margs.data, margs.len, opts.data,
                   opts.len) < 0 ||
        net_write_all(fd, frame.data, frame.len) < 0) {
        reply_error(req, 500, "cannot hand the job to the node: %s", strerror(errno));
        goto out;
    }
    long long deadline = net_now_ms() + DASH_SUBMIT_TIMEOUT_MS;
    struct proto_msg m;
    char job_id[16] = "";
    for (;;) {
        int r = next_msg(fd, &dec, &m, deadline);
        if (r <= 0) {
            reply_error(req, 503, "the node did not start the job");
            goto out;
        }
        if (m.type == PROTO_ERROR) {
            reply_error(req, 400, "%.*s", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
            goto out;
        }
        if (m.type == PROTO_JOB_STARTED) {
            snprintf(job_id, sizeof job_id, "%.*s", (int)m.f[0].as.s.len, m.f[0].as.s.ptr);
            break;
        }
    }
    struct djob *j = xcalloc(1, sizeof *j);
    memcpy(j->sub_id, "raysubmit_", 10);
    random_hex(j->sub_id + 10, 8);
    snprintf(j->job_id, sizeof j->job_id, "%s", job_id);
    snprintf(j->entrypoint, sizeof j->entrypoint, "%s", libname);
    snprintf(j->status, sizeof j->status, "RUNNING");
    snprintf(j->message, sizeof j->message, "Job is running.");
    j->start_ms = net_wall_ms();
    j->fd = fd;
    j->d = d;
    j->dec = dec; /* the decoder moves to the job, with what it has buffered */
    proto_decoder_init(&dec, 1 << 20);
    fd = -1;
    net_set_nonblock(j->fd);
    j->ev = event_new(d->base, j->fd, EV_READ | EV_PERSIST, djob_read_cb, j);
    event_add(j->ev, NULL);
    j->next = d->jobs;
    d->jobs = j;
    d->njobs++;
    djob_trim(d);
    log_info("dashboard: job %s submitted as %s (%s)", j->job_id, j->sub_id, libname);
    struct buf b = BUF_INIT;
    buf_printf(&b, "{\"job_id\": \"%s\", \"submission_id\": \"%s\"}\n", j->job_id, j->sub_id);
    reply_json(req, 200, &b);
    buf_free(&b);
    /* the node may already have answered more than JOB_STARTED */
    djob_read_cb(j->fd, EV_READ, j);
out:
    if (fd >= 0)
        close(fd);
    proto_decoder_free(&dec);
    json_strings_free(argv, argc);
    free(image);
    buf_free(&frame);
    buf_free(&margs);
    buf_free(&opts);
}

/* ---- routing ------------------------------------------------------------------------ */

static bool authorized(struct dashboard *d, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    return http_token_ok(evhttp_find_header(in, "Authorization"), evhttp_find_header(in, "Cookie"),
                         d->token);
}

static void h_login(struct dashboard *d, struct evhttp_request *req)
{
    char tok[256];
    long l = http_query_get(query_of(req), "token", tok, sizeof tok);
    size_t tl = strlen(d->token);
    if (l < 0 || (size_t)l != tl || !http_ct_equal(tok, d->token, tl)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
        evhttp_send_reply(req, 401, "Unauthorized", NULL);
        return;
    }
    char cookie[400];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict", HTTP_TOKEN_COOKIE,
             d->token);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Set-Cookie", cookie);
    evhttp_add_header(out, "Location", "/");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_send_reply(req, 302, "Found", NULL);
}

static bool is_page(const char *path)
{
    static const char *const pages[] = { "/", "/jobs", "/actors", "/tasks", "/placement_groups",
                                         "/logs", "/timeline", NULL };
    for (int i = 0; pages[i]; i++)
        if (strcmp(path, pages[i]) == 0)
            return true;
    return false;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct dashboard *d = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (path == NULL)
        path = "/";
    if (strcmp(path, "/login") == 0 && cmd == EVHTTP_REQ_GET) {
        h_login(d, req);
        return;
    }
    if (!authorized(d, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
        evhttp_send_reply(req, 401, "Unauthorized", NULL);
        return;
    }
    bool get = cmd == EVHTTP_REQ_GET, post = cmd == EVHTTP_REQ_POST;
    if (get && is_page(path)) {
        reply_buf(req, 200, "OK", "text/html; charset=utf-8", dashboard_html,
                  strlen(dashboard_html));
        return;
    }
    if (get && strcmp(path, "/static/style.css") == 0) {
        reply_buf(req, 200, "OK", "text/css", dashboard_css, strlen(dashboard_css));
        return;
    }
    if (get && strcmp(path, "/static/app.js") == 0) {
        reply_buf(req, 200, "OK", "application/javascript", dashboard_js, strlen(dashboard_js));
        return;
    }
    if (get && strcmp(path, "/api/cluster_status") == 0) {
        h_cluster_status(d, req);
        return;
    }
    if (get && strcmp(path, "/api/timeline") == 0) {
        h_timeline(d, req);
        return;
    }
    if (get && strncmp(path, "/api/v0/", 8) == 0) {
        static const char *const tables[][2] = {
            { "nodes", "nodes" }, { "jobs", "jobs" }, { "actors", "actors" }, { "tasks", "tasks" },
            { "objects", "objects" }, { "placement_groups", "placement-groups" } };
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
            if (strcmp(path + 8, tables[i][0]) == 0) {
                h_table(d, req, tables[i][1]);
                return;
            }
    }
    if (strcmp(path, "/api/jobs") == 0 || strcmp(path, "/api/jobs/") == 0) {
        if (get)
            h_jobs_list(d, req);
        else if (post)
            h_job_submit(d, req);
        else
            reply_error(req, 405, "GET or POST");
        return;
    }
    if (strncmp(path, "/api/jobs/", 10) == 0) {
        char id[64];
        const char *rest = path + 10;
        size_t il = strcspn(rest, "/");
        if (il == 0 || il >= sizeof id) {
            reply_error(req, 404, "no such job");
            return;
        }
        memcpy(id, rest, il);
        id[il] = '\0';
        const char *sub = rest + il;
        if (get && (*sub == '\0' || strcmp(sub, "/") == 0)) {
            h_job_get(d, req, id);
            return;
        }
        if (get && strcmp(sub, "/logs") == 0) {
            h_job_logs(d, req, id);
            return;
        }
        if (post && strcmp(sub, "/stop") == 0) {
            h_job_stop(d, req, id);
            return;
        }
    }
    reply_error(req, 404, "no such page or endpoint: %.200s", path);
}

/* ---- the Prometheus discovery file -------------------------------------------------- */

static void sd_write(struct dashboard *d)
{
    char err[512];
    struct gcs_sync *gs = dash_gcs(d, err, sizeof err);
    if (gs == NULL)
        return;
    /* the live nodes are the fields of <p>hb (a node leaves it when it is
     * marked dead or stops): one command, not two per node of the table
     * (every 2 s that was one command per idle node per second) */
    struct gcs_reply *hb = gcs_sync_command(gs, "HGETALL %shb", gcs_sync_prefix(gs));
    if (hb == NULL) {
        dash_gcs_failed(d);
        return;
    }
    struct gcs_reply *r = gcs_sync_command(gs, "HGETALL %smetrics_targets", gcs_sync_prefix(gs));
    struct buf b = BUF_INIT;
    buf_append(&b, "[", 1);
    int active = 0, k = 0;
    size_t nh = gcs_reply_type(hb) == GCS_REPLY_ARRAY ? gcs_reply_elements(hb) : 0;
    size_t ne = r && gcs_reply_type(r) == GCS_REPLY_ARRAY ? gcs_reply_elements(r) : 0;
    for (size_t h = 0; h + 1 < nh; h += 2) {
        size_t il;
        const char *id = gcs_reply_str(gcs_reply_element(hb, h), &il);
        if (id == NULL || il != 2 * IDS_SIZE)
            continue;
        active++;
        bool is_head = memcmp(id, d->node_hex, il) == 0;
        for (size_t e = 0; e + 1 < ne; e += 2) {
            size_t kl, tl;
            const char *key = gcs_reply_str(gcs_reply_element(r, e), &kl);
            const char *target = gcs_reply_str(gcs_reply_element(r, e + 1), &tl);
            if (key == NULL || target == NULL || kl != il || memcmp(key, id, kl) != 0)
                continue;
            bool first = k++ == 0;
            buf_append(&b, first ? "\n {\"targets\": [" : ",\n {\"targets\": [", first ? 15 : 16);
            json_put_strn(&b, target, tl);
            buf_append(&b, "], \"labels\": {\"NodeId\": ", 24);
            json_put_strn(&b, id, il);
            buf_append(&b, ", \"ray_cluster\": ", 17);
            json_put_str(&b, d->cluster_name);
            buf_printf(&b, ", \"is_head\": \"%s\"}}", is_head ? "true" : "false");
        }
    }
    buf_append(&b, "\n]\n", 3);
    gcs_reply_free(r);
    gcs_reply_free(hb);

    char dir[4200], path[4300], tmp[4400];
    snprintf(dir, sizeof dir, "%s/metrics", d->session_dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/prom_metrics_service_discovery.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* 0600 like every session file: a Prometheus of another user reads a copy */

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        int wr = net_write_all(fd, b.data, b.len);
        close(fd);
        if (wr < 0 || rename(tmp, path) < 0)
            unlink(tmp);
    }
    buf_free(&b);

    /* the head's cluster-wide series */
    struct gcs_pg *pv = NULL;
    size_t pn = 0;
    const char *states[8];
    int counts[8], ns = 0;
    if (gcs_sync_pgs(gs, &pv, &pn) == 0) {
        static const char *const known[] = { "PENDING", "CREATED", "REMOVED", "RESCHEDULING" };
        for (int s = 0; s < 4; s++) {
            states[ns] = known[s];
            counts[ns] = 0;
            for (size_t i = 0; i < pn; i++)
                if (pv[i].state && strcmp(pv[i].state, known[s]) == 0)
                    counts[ns]++;
            ns++;
        }
        gcs_pg_array_free(pv, pn);
    }
    metrics_set_cluster(active, states, counts, ns);
}

static void sd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sd_write(arg);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dashboard *d = arg;
    event_base_loopbreak(d->base);
}

/* evhttp's bufferevent for each accepted connection: TLS (the node's
 * dashboard context; browsers present no certificate) */
static struct bufferevent *tls_bev_cb(struct event_base *base, void *arg)
{
    return tls_bufferevent(base, -1, arg, true);
}

static void *dash_thread(void *arg)
{
    struct dashboard *d = arg;
    sd_write(d);
    event_base_dispatch(d->base);
    return NULL;
}

struct dashboard *dashboard_start(struct node *n, char *err, size_t errlen)
{
    struct dashboard *d = xcalloc(1, sizeof *d);
    d->wake[0] = d->wake[1] = -1;
    snprintf(d->token, sizeof d->token, "%s", n->token);
    snprintf(d->gcs, sizeof d->gcs, "%s:%d", n->gcs_host, n->gcs_port);
    snprintf(d->gcs_host, sizeof d->gcs_host, "%s", n->gcs_host);
    d->gcs_port = n->gcs_port;
    snprintf(d->session_dir, sizeof d->session_dir, "%s", n->session_dir);
    snprintf(d->sock_path, sizeof d->sock_path, "%s", n->sock_path);
    snprintf(d->cluster_name, sizeof d->cluster_name, "%s", n->cfg->cluster_name);
    snprintf(d->node_hex, sizeof d->node_hex, "%s", n->hex);
    const char *host = n->cfg->dashboard_host ? n->cfg->dashboard_host : "127.0.0.1";
    d->base = event_base_new();
    d->http = d->base ? evhttp_new(d->base) : NULL;
    if (d->http == NULL || pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "dashboard: cannot create its HTTP server");
        goto fail;
    }
    evhttp_set_max_headers_size(d->http, 65536);
    evhttp_set_max_body_size(d->http, DASH_MAX_BODY);
    evhttp_set_timeout(d->http, 30);
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(d->http, on_request, d);
    if (n->tls_dash)
        evhttp_set_bevcb(d->http, tls_bev_cb, n->tls_dash);
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(d->http, host, (ev_uint16_t)n->cfg->dashboard_port);
    if (bs == NULL && errno == EADDRINUSE && n->cfg->dashboard_port == DASH_DEFAULT_PORT) {
        /* the default port belongs to another head on this machine (several
         * clusters may share one): take a free one rather than fail the
         * head; node.info and the log say which. A port given explicitly
         * must be that port. */
        bs = evhttp_bind_socket_with_handle(d->http, host, 0);
        if (bs)
            log_warnx("dashboard: port %d is in use: listening on another one (dashboard_port "
                      "in node.info)", DASH_DEFAULT_PORT);

    }
    if (bs == NULL) {
        snprintf(err, errlen, "dashboard: cannot listen on %s:%d: %s (--dashboard-port, "
                              "--dashboard-host)", host, n->cfg->dashboard_port, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
        d->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    d->wake_ev = event_new(d->base, d->wake[0], EV_READ, wake_cb, d);
    d->sd_ev = event_new(d->base, -1, EV_PERSIST, sd_cb, d);
    event_add(d->wake_ev, NULL);
    struct timeval tv = { DASH_SD_MS / 1000, (DASH_SD_MS % 1000) * 1000 };
    event_add(d->sd_ev, &tv);
    if (pthread_create(&d->th, NULL, dash_thread, d) != 0) {
        snprintf(err, errlen, "dashboard: cannot start its thread");
        goto fail;
    }
    d->running = true;
    log_info("dashboard at %s://%s:%d", n->tls_dash ? "https" : "http", host, d->port);
    return d;
fail:
    dashboard_stop(d);
    return NULL;
}

int dashboard_port(const struct dashboard *d)
{
    return d ? d->port : 0;
}

void dashboard_stop(struct dashboard *d)
{
    if (d == NULL)
        return;
    if (d->running) {
        char c = 1;
        (void)!write(d->wake[1], &c, 1);
        pthread_join(d->th, NULL);
    }
    while (d->jobs) {
        struct djob *j = d->jobs;
        d->jobs = j->next;
        djob_close(j);
        free(j);
    }
    if (d->wake_ev)
        event_free(d->wake_ev);
    if (d->sd_ev)
        event_free(d->sd_ev);
    if (d->http)
        evhttp_free(d->http);
    if (d->base)
        event_base_free(d->base);
    for (int i = 0; i < 2; i++)
        if (d->wake[i] >= 0)
            close(d->wake[i]);
    gcs_sync_free(d->gs);
    free(d);
}
