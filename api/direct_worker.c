/*
 * direct_worker.c — a worker's side of direct submission (docs/direct.md):
 * the socket a driver holding a lease on this worker connects to, the
 * tasks it sends there, and the answers, in batches.
 *
 * DESIGN. The worker listens on an abstract Unix socket named after its
 * worker ID ("rayd-direct-<hex>"); a driver that the node leased this
 * worker to connects, proves it knows the cluster token (DIRECT_HELLO) and
 * sends DIRECT_TASK frames, which carry the same fields as TASK_EXECUTE
 * (spec, no resolved arguments: direct tasks have no REF arguments). One
 * reader thread per connection hands each to worker.c, which queues it with
 * the node's TASK_EXECUTEs and runs it on the main thread, in order.
 *
 * When a direct task ends (api_direct_worker_done_), two things are
 * batched: for the node, the task's small returns (the OBJ_PUT frames
 * ray_return made) and an entry of DIRECT_DONE (id, name, status, message,
 * returns), so its results become sealed objects anyone in the cluster can
 * get, its failure becomes ERROR objects, and the counters and the task
 * table hear of it; for the driver, DIRECT_RESULT with its first return
 * inline when it is a scalar. Both batches are written when nothing more
 * is queued in this worker, when DIRECT_FLUSH_N tasks wait in one, or when
 * a thread of this worker is about to wait for the node (its get may need
 * them); the node's batch goes first, so an answer never reaches the
 * driver before the objects it names are on their way to the node.
 */
#include "api/api_internal.h"

#include "common/direct_wire.h"
#include "common/ids.h"
#include "common/mem.h"
#include "common/netutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DIRECT_FLUSH_N 32           /* tasks per batch at most */
#define DIRECT_NODE_BYTES (256u << 10)
#define DIRECT_READ_CHUNK (64u << 10)
#define DIRECT_SCALAR_MAX 64        /* as the node's OBJ_VALUE pushes */

struct api_dconn {
    pthread_mutex_t mu;   /* out, nout, closed */
    int fd;
    int refs;             /* the reader's, and one per task queued or running */
    bool closed;          /* the driver went away: answers are dropped */
    struct buf out;       /* DIRECT_RESULT frames not yet written */
    int nout;
};

static api_direct_exec_fn exec_fn;
static int listen_fd = -1;

/* The node's batch (any thread may flush it). */
static pthread_mutex_t node_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf node_frames;   /* OBJ_PUT frames of returns */
static struct buf node_entries;  /* DIRECT_DONE entries */
static uint32_t node_n;
/* Connections with answers waiting, to flush with the node's batch. */
#define DIRECT_CONNS_MAX 16
static struct api_dconn *pending_dc[DIRECT_CONNS_MAX];
static int npending_dc;
static long long last_flush_us; /* a batch is never held back longer than DIRECT_HOLD_US */
static long long begin_us;      /* when the main thread's direct task began */
#define DIRECT_HOLD_US 1000

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void api_dconn_unref_(struct api_dconn *dc)
{
    if (dc == NULL)
        return;
    pthread_mutex_lock(&dc->mu);
    bool last = --dc->refs == 0;
    pthread_mutex_unlock(&dc->mu);
    if (!last)
        return;
    close(dc->fd);
    buf_free(&dc->out);
    pthread_mutex_destroy(&dc->mu);
    free(dc);
}

/* Write DC's answers (under node_mu, after the node's batch: node_mu keeps
 * DC's writes in order). DC's lock is not held while writing: its reader
 * takes it for every task, and must keep reading (the driver may be
 * blocked writing to us while we write to it). */
static void dconn_write(struct api_dconn *dc)
{
    pthread_mutex_lock(&dc->mu);
    struct buf out = dc->out;
    bool closed = dc->closed;
    dc->out = (struct buf)BUF_INIT;
    dc->nout = 0;
    pthread_mutex_unlock(&dc->mu);
    if (!closed && out.len > 0 && net_write_all(dc->fd, out.data, out.len) < 0) {
        pthread_mutex_lock(&dc->mu);
        dc->closed = true; /* the driver is gone: it submits again through the node */
        pthread_mutex_unlock(&dc->mu);
    }
    buf_free(&out);
}

/* Under node_mu: send the node's batch, then the drivers' answers. */
static void flush_locked(void)
{
    if (node_n > 0) {
        struct buf v = BUF_INIT;
        mpw_array(&v, node_n);
        buf_append(&v, node_entries.data, node_entries.len);
        if (proto_pack(&node_frames, PROTO_DIRECT_DONE, v.data, v.len) < 0 &&
            !buf_failed(&node_frames))
            fprintf(stderr, "ray worker: cannot encode a DIRECT_DONE of %u tasks\n", node_n);
        if (api_client_send_(&node_frames) != RAY_OK)
            fprintf(stderr, "ray worker: cannot report direct tasks: %s\n", ray_last_error());
        buf_free(&v);
    } else if (node_frames.len > 0) {
        api_client_send_(&node_frames);
    }
    buf_reset(&node_frames);
    buf_reset(&node_entries);
    node_n = 0;
    if (node_frames.cap > 4 * DIRECT_NODE_BYTES) {
        buf_free(&node_frames);
        buf_free(&node_entries);
    }
    for (int i = 0; i < npending_dc; i++) {
        dconn_write(pending_dc[i]);
        api_dconn_unref_(pending_dc[i]);
    }
    npending_dc = 0;
    last_flush_us = mono_us();
}

void api_direct_worker_flush_(void)
{
    if (listen_fd < 0)
        return;
    pthread_mutex_lock(&node_mu);
    if (node_n > 0 || node_frames.len > 0 || npending_dc > 0)
        flush_locked();
    pthread_mutex_unlock(&node_mu);
}

/* The first return's value, when FRAMES holds its OBJ_PUT and it is a
 * scalar small enough to answer inline: *VTYPE, *DATA and *LEN; else false. */
static bool inline_value(const struct buf *frames, const uint8_t *task, uint32_t *vtype,
                         const char **data, size_t *len)
{
    uint8_t rid[RAY_ID_SIZE];
    ids_with_index(rid, task, 1);
    size_t pos = 0;
    while (frames && pos + 4 <= frames->len) {
        size_t body_len;
        char err[64];
        if (proto_frame_need(frames->data + pos, frames->len - pos, PROTO_MAX_FRAME, &body_len,
                             err, sizeof err) != PROTO_OK ||
            frames->len - pos < 4 + body_len)
            return false;
        struct proto_msg m;
        if (proto_decode(frames->data + pos + 4, body_len, &m, err, sizeof err) == 0 &&
            m.type == PROTO_OBJ_PUT && memcmp(m.f[0].as.s.ptr, rid, RAY_ID_SIZE) == 0) {
            *vtype = (uint32_t)m.f[1].as.u;
            *data = m.f[2].as.s.ptr;
            *len = m.f[2].as.s.len;
            return *vtype <= RAY_ACTOR && *vtype != RAY_STR && *vtype != RAY_BYTES &&
                   *len <= DIRECT_SCALAR_MAX;
        }
        pos += 4 + body_len;
    }
    return false;
}

void api_direct_worker_done_(struct api_dconn *dc, const uint8_t *id, const char *name,
                             int status, const char *msg, int nret, bool returned,
                             struct buf *frames, bool idle)
{
    uint32_t vtype = 255;
    const char *data = "";
    size_t dlen = 0;
    if (status == RAY_OK && !inline_value(frames, id, &vtype, &data, &dlen)) {
        vtype = 255; /* not inline: the driver gets it from the node */
        data = "";
        dlen = 0;
    }
    if (status == RAY_OK && nret >= 1 && !returned) {
        vtype = RAY_NIL; /* nothing returned: NIL (the node stores it from the notice) */
        dlen = 0;
    }
    /* a success's message is its run time in microseconds: the driver's pipelining depth */
    char ran[24];
    if (status == RAY_OK) {
        snprintf(ran, sizeof ran, "%lld", begin_us ? mono_us() - begin_us : 0LL);
        msg = ran;
    }
    pthread_mutex_lock(&dc->mu);
    if (!dc->closed) {
        if (proto_pack(&dc->out, PROTO_DIRECT_RESULT, id, (int64_t)status, msg ? msg : "",
                       (uint64_t)vtype, data, dlen) == 0)
            dc->nout++;
    }
    bool want = dc->nout > 0;
    pthread_mutex_unlock(&dc->mu);

    pthread_mutex_lock(&node_mu);
    if (frames && frames->len)
        buf_append(&node_frames, frames->data, frames->len);
    direct_entry_pack(&node_entries, id, name, status, msg, (uint64_t)(nret < 0 ? 0 : nret));
    node_n++;
    bool listed = false;
    for (int i = 0; i < npending_dc && !listed; i++)
        listed = pending_dc[i] == dc;
    if (want && !listed) {
        if (npending_dc == DIRECT_CONNS_MAX)
            flush_locked();
        pthread_mutex_lock(&dc->mu);
        dc->refs++;
        pthread_mutex_unlock(&dc->mu);
        pending_dc[npending_dc++] = dc;
    }
    if (idle || node_n >= DIRECT_FLUSH_N || node_frames.len >= DIRECT_NODE_BYTES ||
        mono_us() - last_flush_us >= DIRECT_HOLD_US ||
        buf_failed(&node_frames) || buf_failed(&node_entries))
        flush_locked();
    pthread_mutex_unlock(&node_mu);
    if (frames)
        buf_reset(frames);
}

/* A connection's read buffer: bytes read, and how far they were framed
 * (consumed in one move per read, not one per frame). */
struct rbuf {
    struct buf in;
    size_t pos;
};

/* Read one whole frame from FD into R. Returns the body (malloc'd) and
 * decodes it into *M, or NULL at EOF / a bad frame. */
static void *read_frame(int fd, struct rbuf *rb, struct proto_msg *m, size_t *blen)
{
    struct buf *in = &rb->in;
    for (;;) {
        size_t body_len;
        char err[160];
        int st = proto_frame_need(in->data + rb->pos, in->len - rb->pos, PROTO_MAX_FRAME,
                                  &body_len, err, sizeof err);
        if (st == PROTO_BAD)
            return NULL;
        if (st == PROTO_OK && in->len - rb->pos >= 4 + body_len) {
            void *body = mem_malloc(body_len ? body_len : 1);
            if (body == NULL)
                return NULL;
            memcpy(body, in->data + rb->pos + 4, body_len);
            rb->pos += 4 + body_len;
            if (proto_decode(body, body_len, m, err, sizeof err) < 0) {
                free(body);
                return NULL;
            }
            *blen = body_len;
            return body;
        }
        buf_consume(in, rb->pos);
        rb->pos = 0;
        char *dst = buf_reserve(in, DIRECT_READ_CHUNK);
        if (dst == NULL)
            return NULL;
        ssize_t n = read(fd, dst, DIRECT_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        in->len += (size_t)n;
    }
}

static void *reader_main(void *arg)
{
    struct api_dconn *dc = arg;
    struct rbuf in = { BUF_INIT, 0 };
    struct proto_msg m;
    size_t len;
    void *body = read_frame(dc->fd, &in, &m, &len);
    char token[512];
    api_client_token_(token, sizeof token); /* (known once this worker said HELLO to its node) */
    bool ok = token[0] && body && m.type == PROTO_DIRECT_HELLO && m.f[0].as.u == PROTO_VERSION &&
              m.f[1].as.s.len == strlen(token) &&
              memcmp(m.f[1].as.s.ptr, token, m.f[1].as.s.len) == 0;
    free(body);
    if (!ok)
        fprintf(stderr, "ray worker: refused a direct connection (no or a wrong DIRECT_HELLO)\n");
    while (ok && (body = read_frame(dc->fd, &in, &m, &len)) != NULL) {
        if (m.type != PROTO_DIRECT_TASK) {
            free(body);
            continue;
        }
        pthread_mutex_lock(&dc->mu);
        dc->refs++;
        pthread_mutex_unlock(&dc->mu);
        exec_fn(body, len, dc); /* takes BODY and the reference */
    }
    buf_free(&in.in);
    pthread_mutex_lock(&dc->mu);
    dc->closed = !ok || dc->closed;
    pthread_mutex_unlock(&dc->mu);
    shutdown(dc->fd, SHUT_RD);
    api_dconn_unref_(dc);
    return NULL;
}

static void *listen_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "ray worker: direct socket: accept: %s\n", strerror(errno));
            return NULL;
        }
        struct api_dconn *dc = mem_calloc(1, sizeof *dc);
        pthread_t th;
        if (dc == NULL) {
            close(fd);
            continue;
        }
        pthread_mutex_init(&dc->mu, NULL);
        dc->fd = fd;
        dc->refs = 1;
        if (pthread_create(&th, NULL, reader_main, dc) != 0) {
            api_dconn_unref_(dc);
            continue;
        }
        pthread_detach(th);
    }
}

/* ---- which direct task prints ----------------------------------------------------
 * The node tags a worker's output lines with the task it runs; of a leased
 * worker it knows only the lease. So stdout and stderr become stdio
 * streams of our own (fopencookie) over the same descriptors: before the
 * first bytes a direct task writes on one, a marker line
 * "\x1erayd-direct <task hex> <name>" goes to that descriptor, and the
 * node (runtime/lease.c) tags what follows with that task. Nothing is
 * written for tasks that do not print. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned out_seq;              /* changes with every task; 0: no direct task */
static char out_line[2 * RAY_ID_SIZE + 300]; /* the marker of task out_seq */
struct out_cookie {
    int fd;
    unsigned marked; /* out_seq its last marker was for */
};
static struct out_cookie ck_out = { 1, 0 }, ck_err = { 2, 0 };

static uint8_t out_id[RAY_ID_SIZE];   /* task out_seq (formatted only when it prints) */
static char out_name[128];

void api_direct_worker_begin_(const uint8_t *id, const char *name)
{
    static unsigned next;
    if (id)
        begin_us = mono_us();
    if (id == NULL && out_seq == 0) /* (a racy read: only this thread writes it) */
        return;
    pthread_mutex_lock(&out_mu);
    if (id) {
        memcpy(out_id, id, RAY_ID_SIZE);
        size_t nl = name ? strnlen(name, sizeof out_name - 1) : 0;
        memcpy(out_name, name ? name : "", nl);
        out_name[nl] = '\0';
        out_seq = ++next ? next : ++next;
    } else {
        memset(out_id, 0, RAY_ID_SIZE);
        out_name[0] = '\0';
        out_seq = 0;
    }
    pthread_mutex_unlock(&out_mu);
}

static ssize_t cookie_write(void *c, const char *buf, size_t size)
{
    struct out_cookie *ck = c;
    pthread_mutex_lock(&out_mu);
    if (ck->marked != out_seq) {
        char hex[2 * RAY_ID_SIZE + 1];
        ids_hex(out_id, RAY_ID_SIZE, hex);
        int n = snprintf(out_line, sizeof out_line, "\x1erayd-direct %s %s\n", hex, out_name);
        if (n > 0)
            (void)net_write_all(ck->fd, out_line, strnlen(out_line, sizeof out_line));
        ck->marked = out_seq;
    }
    pthread_mutex_unlock(&out_mu);
    if (net_write_all(ck->fd, buf, size) < 0)
        return -1;
    return (ssize_t)size;
}

static void stdio_wrap(void)
{
    cookie_io_functions_t io = { .write = cookie_write };
    FILE *o = fopencookie(&ck_out, "w", io);
    FILE *e = fopencookie(&ck_err, "w", io);
    if (o == NULL || e == NULL) {
        if (o)
            fclose(o);
        if (e)
            fclose(e);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    setvbuf(o, NULL, _IOLBF, 0);
    setvbuf(e, NULL, _IONBF, 0);
    stdout = o;
    stderr = e;
}

int api_direct_worker_start_(const char *worker_hex, api_direct_exec_fn exec)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "rayd-direct-%s", worker_hex);
    if (n <= 0 || (size_t)n >= sizeof sa.sun_path - 1)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 16) < 0) {
        fprintf(stderr, "ray worker: no direct socket: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    exec_fn = exec;
    listen_fd = fd;
    stdio_wrap();
    pthread_t th;
    if (pthread_create(&th, NULL, listen_main, NULL) != 0) {
        close(fd);
        listen_fd = -1;
        return -1;
    }
    pthread_detach(th);
    return 0;
}
