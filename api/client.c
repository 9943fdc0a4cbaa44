/*
 * client.c — this process's one connection to its node: connect (Unix socket
 * or TCP), the HELLO / HELLO_OK handshake, mapping the node's object store,
 * the I/O thread that reads frames and wakes the thread waiting for each
 * reply (or lets the waiting threads read), and shutdown. See api_internal.h for the DESIGN paragraph.
 *
 * Who reads the socket: only the holder of the reader role (C.reading).
 * The I/O thread holds it, except while a driver's callers read their own
 * replies (C.by_callers): then a caller waiting for a reply reads the
 * socket itself and dispatches every frame as the I/O thread would (no
 * hand-off), leaving frames that may block (pushes, worker hooks) to the
 * I/O thread, which looks at the socket every IO_TICK_MS meanwhile
 * (docs/direct.md "Who reads the socket").
 *
 * Locks: `mu` guards the connection state, the waiter list, the reader
 * role and the reqid counter; `send_mu` serialises whole frames on the socket. `mu` is never
 * held while sending or while taking `send_mu` (send_mu then mu is the
 * order where both are needed: swapping the fd of a reconnect).
 *
 * Reconnecting (drivers only, docs/faults.md): when a driver's connection
 * breaks, the I/O thread dials the same address again with back-off
 * (io_redial) while the state is REDIALING, in which callers wait instead
 * of failing; a new connection is a new generation, and every request
 * still waiting for its reply sends its frame again on it.
 *
 * The store is mapped here with shm_open + mmap (read-write: the client
 * writes objects it creates). objstore/objstore.h's objstore_client_map does
 * the same for the daemon side; it is not used here so that libray.a does not
 * need the store's sources.
 */
#include "api/api_internal.h"
#include "api/push.h"

#include "common/ids.h"
#include "common/netutil.h"
#include "common/token.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#define API_HELLO_TIMEOUT_MS 30000
#define API_READ_CHUNK (64u << 10)

/* DOWN -> UP (connected) -> BROKEN (for good), or, for a driver, UP ->
 * REDIALING (its node went away: the I/O thread reconnects) -> UP again
 * (a new gen) or BROKEN (the bound passed). */
enum conn_state { CONN_DOWN, CONN_UP, CONN_BROKEN, CONN_REDIALING };

#define API_REDIAL_DEFAULT_MS 60000
#define API_REDIAL_FIRST_MS 50
#define API_REDIAL_MAX_MS 2000

/* Where and how a driver reconnects (copied from its connect options). */
struct redial {
    bool on;
    char unix_path[512];
    char host[256];
    int port;
    char token[512];
    bool has_token;
    char session_dir[1024];
    bool has_session;
    struct buf first;        /* sent first on every new connection */
    void (*on_reconnected)(void);
    int bound_ms;
};

struct api_waiter {
    uint64_t reqid;
    pthread_cond_t cv;
    bool done;
    void *body;          /* reply body, owned by the waiter once done */
    struct proto_msg msg;/* decoded, pointing into body */
    bool listed;         /* in its bucket of C.waiters */
    LIST_ENTRY(api_waiter) link;
    LIST_ENTRY(api_waiter) follow; /* in C.followers while it waits on cv */
};
LIST_HEAD(api_waiter_list, api_waiter);

/* Waiters by reqid: a grouped get may wait for thousands of replies at once,
 * so replies find their waiter in a bucket, not by walking one list. */
#define WAITER_BUCKETS 1024

/* A driver's callers read the socket themselves while one of them asked
 * the node something in the last this many ms (docs/direct.md "Who reads
 * the socket"); meanwhile the I/O thread looks at it every IO_TICK_MS. */
#define CALLERS_READ_MS 50
#define IO_TICK_MS 1

/* A frame a caller read that the I/O thread handles (a hook may block). */
struct deferred {
    void *body;
    size_t len;
    struct proto_msg m;
    struct deferred *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_mutex_t send_mu;
    enum conn_state state;
    bool closing;
    int fd;
    int role;
    uint64_t gen;
    uint64_t next_reqid;
    struct api_waiter_list waiters[WAITER_BUCKETS]; /* zeroed: empty lists */
    /* Who reads fd: only the holder of the reader role (the I/O thread, or
     * a driver's caller waiting for a reply), and C.in with it. */
    bool reading;           /* the reader role is taken */
    bool by_callers;        /* the callers read their replies: the I/O thread only looks */
    long long used_ms;      /* when a caller last read */
    bool broken;            /* a caller saw the connection break: broke says why */
    char broke[256];
    bool io_waits_readers;  /* the I/O thread waits for the reader to give the role back */
    pthread_cond_t io_cv;   /* the I/O thread's wait while callers read */
    struct api_waiter_list followers; /* callers waiting on their cv */
    struct deferred *dq, **dq_tail;   /* frames for the I/O thread */
    char why[256];          /* why the connection broke */
    char node_error[256];   /* last ERROR message from the node */
    pthread_t io;
    bool io_running;
    struct buf in;          /* bytes read and not yet framed */
    void *store;
    size_t store_size;
    uint32_t job;
    char node_hex[IDS_HEX_SIZE];
    char job_hex[9];
    void (*on_execute)(void *body, size_t len);
    void (*on_recall)(const uint8_t *task_id);
    void (*on_nest)(void *body, size_t len);
    void (*on_wait)(bool begin);
    void (*on_lost)(const char *why);
    struct redial rd;
    pthread_cond_t up_cv;   /* broadcast when REDIALING ends or closing starts */
    void **old_stores;      /* stores of earlier connections: values still point there */
    size_t *old_sizes;
    size_t nold;
} C = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .send_mu = PTHREAD_MUTEX_INITIALIZER,
    .up_cv = PTHREAD_COND_INITIALIZER,
    .io_cv = PTHREAD_COND_INITIALIZER,
    .fd = -1,
};

static void direct_token_save(const char *token);

/* ---- waiters (under C.mu) ------------------------------------------------------ */

static void waiter_add(struct api_waiter *w)
{
    LIST_INSERT_HEAD(&C.waiters[w->reqid % WAITER_BUCKETS], w, link);
    w->listed = true;
}

/* Take W out of the table; a waiter never added (or already taken) is left alone. */
static void waiter_del(struct api_waiter *w)
{
    if (!w->listed)
        return;
    LIST_REMOVE(w, link);
    w->listed = false;
}

static struct api_waiter *waiter_find(uint64_t reqid)
{
    struct api_waiter *w;
    LIST_FOREACH(w, &C.waiters[reqid % WAITER_BUCKETS], link)
        if (w->reqid == reqid && !w->done)
            return w;
    return NULL;
}

/* ---- IDs -------------------------------------------------------------------- */

static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static uint8_t id_random[8];
static int id_random_errno; /* getrandom's errno when id_init failed */
static atomic_uint id_counter;

static void id_init(void)
{
    if (ids_random_fill(id_random, sizeof id_random) < 0)
        id_random_errno = errno ? errno : EIO;
}

int api_random_(void *p, size_t n, const char *what)
{
    if (ids_random_fill(p, n) < 0)
        return api_error_(RAY_ECONN, "%s: cannot read random bytes (getrandom): %s", what,
                          strerror(errno));
    return RAY_OK;
}

/* This process's random part of its IDs, read once: RAY_OK, or RAY_ECONN
 * with a message when the kernel gave none (a connect then fails, so no ID
 * is made without it). */
static int id_ready(void)
{
    pthread_once(&id_once, id_init);
    if (id_random_errno)
        return api_error_(RAY_ECONN, "cannot make IDs: cannot read random bytes (getrandom): %s",
                          strerror(id_random_errno));
    return RAY_OK;
}

void api_id_new_(uint8_t out[RAY_ID_SIZE], uint32_t index)
{
    pthread_once(&id_once, id_init);
    uint32_t job = api_client_job_();
    uint32_t n = atomic_fetch_add(&id_counter, 1) + 1;
    out[0] = (uint8_t)(job >> 24);
    out[1] = (uint8_t)(job >> 16);
    out[2] = (uint8_t)(job >> 8);
    out[3] = (uint8_t)job;
    memcpy(out + 4, id_random, 8);
    out[12] = (uint8_t)(n >> 24);
    out[13] = (uint8_t)(n >> 16);
    out[14] = (uint8_t)(n >> 8);
    out[15] = (uint8_t)n;
    ids_with_index(out, out, index);
}

/* ---- small accessors ----------------------------------------------------------- */

bool api_client_connected_(void)
{
    pthread_mutex_lock(&C.mu);
    bool up = C.state == CONN_UP;
    pthread_mutex_unlock(&C.mu);
    return up;
}

/* Under C.mu: wait while the I/O thread reconnects. */
static void wait_redial(void)
{
    while (C.state == CONN_REDIALING)
        pthread_cond_wait(&C.up_cv, &C.mu);
}

int api_client_check_(void)
{
    pthread_mutex_lock(&C.mu);
    wait_redial();
    enum conn_state st = C.state;
    char why[sizeof C.why];
    memcpy(why, C.why, sizeof why);
    pthread_mutex_unlock(&C.mu);
    if (st == CONN_UP)
        return RAY_OK;
    if (st == CONN_BROKEN)
        return api_error_(RAY_ECONN, "lost the connection to the node: %s", why);
    return api_error_(RAY_ECONN, "not connected to a node (call ray_init first)");
}

int api_client_role_(void)
{
    pthread_mutex_lock(&C.mu);
    int r = C.state == CONN_DOWN ? 0 : C.role;
    pthread_mutex_unlock(&C.mu);
    return r;
}

uint64_t api_client_reqid_(void)
{
    pthread_mutex_lock(&C.mu);
    uint64_t r = ++C.next_reqid;
    if (r == 0)
        r = ++C.next_reqid;
    pthread_mutex_unlock(&C.mu);
    return r;
}

void *api_client_store_(size_t *size)
{
    pthread_mutex_lock(&C.mu);
    void *p = C.store;
    if (size)
        *size = C.store_size;
    pthread_mutex_unlock(&C.mu);
    return p;
}

uint64_t api_client_gen_(void)
{
    pthread_mutex_lock(&C.mu);
    uint64_t g = C.gen;
    pthread_mutex_unlock(&C.mu);
    return g;
}

uint32_t api_client_job_(void)
{
    pthread_mutex_lock(&C.mu);
    uint32_t j = C.job;
    pthread_mutex_unlock(&C.mu);
    return j;
}

/* Both strings are written only while connecting, before any thread of the
 * program can ask for them through a connected client. */
const char *api_client_node_hex_(void)
{
    return C.node_hex;
}

const char *api_client_job_hex_(void)
{
    return C.job_hex;
}

/* ---- sending ------------------------------------------------------------------- */

/* Send LEN bytes at P whole on the connection of generation GEN. Returns
 * RAY_OK, 1 when the connection is no longer GEN's (nothing sent), or
 * RAY_ECONN (message set) when the send failed. */
static int send_on(const char *p, size_t left, uint64_t gen)
{
    pthread_mutex_lock(&C.send_mu);
    pthread_mutex_lock(&C.mu); /* send_mu, then mu: the I/O thread swaps fds so */
    bool same = C.gen == gen && C.state == CONN_UP;
    pthread_mutex_unlock(&C.mu);
    if (!same) {
        pthread_mutex_unlock(&C.send_mu);
        return 1;
    }
    while (left > 0 && C.fd >= 0) {
        ssize_t n = send(C.fd, p, left, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    int err = errno;
    pthread_mutex_unlock(&C.send_mu);
    if (left > 0)
        return api_error_(RAY_ECONN, "lost the connection to the node: %s", strerror(err));
    return RAY_OK;
}

/* Send LEN bytes at P on the current connection, waiting out a driver's reconnect
 * (a frame a dead connection did not take goes on the next one). Returns
 * RAY_OK with *GEN the connection it went on, or RAY_ECONN. */
static int send_bytes(const char *p, size_t len, uint64_t *gen_out)
{
    for (;;) {
        pthread_mutex_lock(&C.mu);
        wait_redial();
        uint64_t gen = C.gen;
        bool up = C.state == CONN_UP;
        pthread_mutex_unlock(&C.mu);
        if (!up)
            return api_client_check_();
        int rc = send_on(p, len, gen);
        if (rc == RAY_OK) {
            if (gen_out)
                *gen_out = gen;
            return RAY_OK;
        }
        pthread_mutex_lock(&C.mu);
        bool redial = C.rd.on && !C.closing;
        /* the I/O thread sees the break too: wait for it to say so */
        while (rc != 1 && redial && C.gen == gen && C.state == CONN_UP && !C.closing)
            pthread_cond_wait(&C.up_cv, &C.mu);
        pthread_mutex_unlock(&C.mu);
        if (!redial)
            return rc == 1 ? api_client_check_() : rc;
    }
}

/* send_bytes of FRAME, whose encoding is checked first (an encoder that ran
 * out of memory left it short: api_frame_check_). */
static int send_frame(const struct buf *frame, uint64_t *gen_out)
{
    int rc = api_frame_check_(frame);
    if (rc != RAY_OK)
        return rc;
    return send_bytes(frame->data, frame->len, gen_out);
}

/* A corked thread's frames (api_push_cork): written by api_push_flush, or
 * before any request of that thread, or once this many bytes wait. */
#define API_CORK_MAX (256u << 10)
static __thread bool corked;
static __thread struct buf cork_buf;

int api_client_send_(const struct buf *frame)
{
    if (!corked)
        return send_frame(frame, NULL);
    int rc = api_frame_check_(frame);
    if (rc != RAY_OK)
        return rc;
    if ((rc = api_client_check_()) != RAY_OK)
        return rc;
    buf_append(&cork_buf, frame->data, frame->len);
    if ((rc = api_frame_check_(&cork_buf)) != RAY_OK) {
        buf_free(&cork_buf); /* out of memory: what was corked is lost with it */
        return rc;
    }
    if (cork_buf.len < API_CORK_MAX)
        return RAY_OK;
    rc = send_bytes(cork_buf.data, cork_buf.len, NULL);
    cork_buf.len = 0;
    return rc;
}

/* Write what this thread corked (it stays corked). */
static int cork_write(void)
{
    if (!corked || cork_buf.len == 0)
        return RAY_OK;
    int rc = send_bytes(cork_buf.data, cork_buf.len, NULL);
    cork_buf.len = 0;
    return rc;
}

void api_push_cork(void)
{
    corked = true;
}

int api_push_flush(void)
{
    int rc = cork_write();
    corked = false;
    if (cork_buf.cap > API_CORK_MAX) /* a burst of big bodies: give the memory back */
        buf_free(&cork_buf);
    return rc;
}

static void wait_reply(struct api_waiter *w);

int api_client_request_(const struct buf *frame, uint64_t reqid, void **body, struct proto_msg *msg)
{
    struct api_waiter w = { .reqid = reqid };
    char why[sizeof C.why];
    int rc;

    *body = NULL;
    if ((rc = api_frame_check_(frame)) != RAY_OK)
        return rc;
    uint64_t gen = 0;
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&C.mu);
    wait_redial();
    if (C.state != CONN_UP) {
        pthread_mutex_unlock(&C.mu);
        pthread_cond_destroy(&w.cv);
        return api_client_check_();
    }
    waiter_add(&w);
    void (*on_wait)(bool) = C.on_wait;
    pthread_mutex_unlock(&C.mu);

    if (on_wait)
        on_wait(true);
    rc = cork_write(); /* a reply is waited for: what this thread corked goes first */
    if (rc == RAY_OK)
        rc = send_frame(frame, &gen);

    pthread_mutex_lock(&C.mu);
    for (;;) {
        while (rc == RAY_OK && !w.done && C.state == CONN_UP && C.gen == gen)
            wait_reply(&w);
        if (rc != RAY_OK || w.done)
            break;
        wait_redial();
        if (C.state != CONN_UP)
            break;
        /* a new connection: the old one took the request with it */
        pthread_mutex_unlock(&C.mu);
        rc = send_frame(frame, &gen);
        pthread_mutex_lock(&C.mu);
    }
    waiter_del(&w);
    memcpy(why, C.why, sizeof why);
    pthread_mutex_unlock(&C.mu);
    pthread_cond_destroy(&w.cv);
    if (on_wait)
        on_wait(false);

    if (rc != RAY_OK) {
        free(w.body); /* a reply that raced a failed send */
        return rc;
    }
    if (!w.done)
        return api_error_(RAY_ECONN, "lost the connection to the node: %s", why);
    *body = w.body;
    *msg = w.msg;
    return RAY_OK;
}

int api_client_lookup_(uint32_t type, const char *name, void **body, struct proto_msg *msg,
                       int *status)
{
    *body = NULL;
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    struct buf f = BUF_INIT;
    uint64_t reqid = api_client_reqid_();
    proto_pack(&f, type, reqid, name);
    rc = api_client_request_(&f, reqid, body, msg);
    buf_free(&f);
    if (rc == RAY_OK)
        *status = (int)msg->f[1].as.i;
    return rc;
}

int api_client_request_many_(const struct buf *frames, const uint64_t *reqids, size_t n,
                             void **bodies, struct proto_msg *msgs)
{
    int frc = api_frame_check_(frames);
    if (frc != RAY_OK)
        return frc;
    struct api_waiter *w = calloc(n ? n : 1, sizeof *w);
    char why[sizeof C.why];
    if (w == NULL)
        return api_error_(RAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        bodies[i] = NULL;
        w[i].reqid = reqids[i];
        pthread_cond_init(&w[i].cv, NULL);
    }
    pthread_mutex_lock(&C.mu);
    wait_redial();
    if (C.state != CONN_UP) {
        pthread_mutex_unlock(&C.mu);
        for (size_t i = 0; i < n; i++)
            pthread_cond_destroy(&w[i].cv);
        free(w);
        return api_client_check_();
    }
    for (size_t i = 0; i < n; i++)
        waiter_add(&w[i]);
    void (*on_wait)(bool) = C.on_wait;
    pthread_mutex_unlock(&C.mu);

    if (on_wait)
        on_wait(true);
    uint64_t gen = 0;
    int rc = cork_write();
    if (rc == RAY_OK)
        rc = send_frame(frames, &gen);

    pthread_mutex_lock(&C.mu);
    for (;;) {
        size_t i = 0;
        for (; i < n; i++) {
            while (rc == RAY_OK && !w[i].done && C.state == CONN_UP && C.gen == gen)
                wait_reply(&w[i]);
            if (!w[i].done)
                break;
        }
        if (rc != RAY_OK || i == n)
            break;
        wait_redial();
        if (C.state != CONN_UP)
            break;
        /* a new connection: send the whole batch again (a reply to one
         * already answered finds no waiter and is dropped) */
        pthread_mutex_unlock(&C.mu);
        rc = send_frame(frames, &gen);
        pthread_mutex_lock(&C.mu);
    }
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        all = all && w[i].done;
        waiter_del(&w[i]);
    }
    memcpy(why, C.why, sizeof why);
    pthread_mutex_unlock(&C.mu);
    if (on_wait)
        on_wait(false);
    for (size_t i = 0; i < n; i++) {
        pthread_cond_destroy(&w[i].cv);
        if (rc == RAY_OK && all) {
            bodies[i] = w[i].body;
            msgs[i] = w[i].msg;
        } else {
            free(w[i].body);
        }
    }
    free(w);
    if (rc != RAY_OK)
        return rc;
    if (!all)
        return api_error_(RAY_ECONN, "lost the connection to the node: %s", why);
    return RAY_OK;
}

/* ---- the I/O thread -------------------------------------------------------------- */

/* Messages whose first field is the reqid of a request this client made. */
static bool is_reply(uint32_t type)
{
    switch (type) {
    case PROTO_OBJ_CREATE_OK:
    case PROTO_OBJ_GET_OK:
    case PROTO_OBJ_WAIT_OK:
    case PROTO_ACTOR_LOOKUP_OK:
    case PROTO_ACTOR_CREATE_OK:
    case PROTO_PG_REPLY:
    case PROTO_PG_LOOKUP_OK:
    case PROTO_RENV_UPLOAD_OK:
    case PROTO_NODE_INFO:
        return true;
    default:
        return false;
    }
}

/* Frames whose handling may block or run user code (hooks, push
 * handlers): a caller that reads one leaves it to the I/O thread. */
static bool io_only(uint32_t type)
{
    return type == PROTO_TASK_EXECUTE || type == PROTO_TASK_NEST || type == PROTO_TASK_RECALL ||
           type == PROTO_OBJ_PUSH;
}

/* Under C.mu: queue BODY (M decoded from it) for the I/O thread, which is
 * woken; the callers stop reading (this process gets pushes). */
static void defer_frame(void *body, size_t len, const struct proto_msg *m)
{
    struct deferred *d = malloc(sizeof *d);
    C.by_callers = false;
    if (d == NULL) {
        free(body); /* out of memory: lost, as a frame the I/O thread could not copy */
        return;
    }
    *d = (struct deferred){ .body = body, .len = len, .m = *m };
    if (C.dq == NULL)
        C.dq_tail = &C.dq;
    *C.dq_tail = d;
    C.dq_tail = &d->next;
    pthread_cond_signal(&C.io_cv);
}

/* Handle one decoded frame; BODY (malloc'd) is consumed. ON_IO: this is
 * the I/O thread (else a caller holding the reader role). */
static void io_dispatch(void *body, size_t len, const struct proto_msg *m, bool on_io)
{
    if (is_reply(m->type)) {
        uint64_t reqid = m->f[0].as.u;
        pthread_mutex_lock(&C.mu);
        struct api_waiter *w = waiter_find(reqid);
        if (w) {
            w->done = true;
            w->body = body;
            w->msg = *m;
            body = NULL;
            pthread_cond_signal(&w->cv);
            /* a driver's caller waited: from now on callers read their own replies */
            if (on_io && C.role == PROTO_ROLE_DRIVER) {
                C.by_callers = true;
                C.used_ms = net_now_ms();
            }
        }
        pthread_mutex_unlock(&C.mu);
        free(body); /* nobody waits for it (the caller gave up) */
        return;
    }
    if (!on_io && io_only(m->type)) {
        pthread_mutex_lock(&C.mu);
        defer_frame(body, len, m);
        pthread_mutex_unlock(&C.mu);
        return;
    }
    switch (m->type) {
    case PROTO_TASK_EXECUTE:
        if (C.on_execute) {
            C.on_execute(body, len);
            return;
        }
        break;
    case PROTO_OBJ_VALUE:
        api_scalar_push_((const uint8_t *)m->f[0].as.s.ptr, (uint32_t)m->f[1].as.u,
                         m->f[2].as.s.ptr, m->f[2].as.s.len);
        break;
    case PROTO_OBJ_PUSH:
        api_push_in_(body, m); /* consumes BODY */
        return;
    case PROTO_LEASE_GRANT:
    case PROTO_LEASE_REVOKE:
        api_direct_node_msg_(m); /* direct.c: a lease granted, refused or taken back */
        break;
    case PROTO_ACTOR_LEASE_GRANT:
        api_direct_actor_node_msg_(m); /* direct_actor.c: an actor's worker, or why not */
        break;
    case PROTO_TASK_NEST:
        if (C.on_nest) {
            C.on_nest(body, len);
            return;
        }
        break;
    case PROTO_TASK_RECALL:
        if (C.on_recall)
            C.on_recall((const uint8_t *)m->f[0].as.s.ptr);
        break;
    case PROTO_PING: {
        struct buf f = BUF_INIT;
        if (proto_pack(&f, PROTO_PONG, (uint64_t)m->f[0].as.u) == 0)
            send_frame(&f, NULL); /* never corked (a caller reading may be) */
        buf_free(&f);
        break;
    }
    case PROTO_ERROR:
        pthread_mutex_lock(&C.mu);
        snprintf(C.node_error, sizeof C.node_error, "%.*s", (int)m->f[1].as.s.len,
                 m->f[1].as.s.ptr);
        pthread_mutex_unlock(&C.mu);
        break;
    default:
        break; /* JOB_LOG and friends are not for this process */
    }
    free(body);
}

/* Frame and dispatch what C.in holds (ON_IO: on the I/O thread); returns
 * 0, or -1 with WHY set. */
static int io_drain(bool on_io, char *why, size_t whylen)
{
    size_t pos = 0;
    int rc = 0;
    for (;;) {
        size_t body_len;
        char err[160];
        int st = proto_frame_need(C.in.data + pos, C.in.len - pos, PROTO_MAX_FRAME, &body_len, err,
                                  sizeof err);
        if (st == PROTO_NEED_MORE)
            break;
        if (st == PROTO_BAD) {
            snprintf(why, whylen, "bad frame from the node: %s", err);
            rc = -1;
            break;
        }
        if (C.in.len - pos < 4 + body_len)
            break;
        void *body = malloc(body_len);
        if (body == NULL) {
            snprintf(why, whylen, "out of memory reading a %zu-byte frame", body_len);
            rc = -1;
            break;
        }
        memcpy(body, C.in.data + pos + 4, body_len);
        pos += 4 + body_len;
        struct proto_msg m;
        if (proto_decode(body, body_len, &m, err, sizeof err) < 0) {
            free(body);
            snprintf(why, whylen, "bad message from the node: %s", err);
            rc = -1;
            break;
        }
        io_dispatch(body, body_len, &m, on_io);
    }
    buf_consume(&C.in, pos);
    return rc;
}

static bool io_redial(char *why, size_t whylen);

/* Holding the reader role (C.mu not held): wait up to WAIT_MS (< 0:
 * forever) for FD, read what it holds into C.in and dispatch every whole
 * frame (ON_IO: on the I/O thread). Returns 1 when bytes came, 0 when
 * none (in time), -1 when the connection broke or sent a bad frame (WHY
 * says which). */
static int io_turn(int fd, int wait_ms, bool on_io, char *why, size_t whylen)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int pr = poll(&p, 1, wait_ms);
    if (pr <= 0)
        return 0;
    char *dst = buf_reserve(&C.in, API_READ_CHUNK);
    if (dst == NULL) {
        snprintf(why, whylen, "out of memory reading from the node");
        return -1;
    }
    ssize_t n = read(fd, dst, API_READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        int e = errno;
        pthread_mutex_lock(&C.mu);
        if (C.closing)
            snprintf(why, whylen, "ray_shutdown was called");
        else if (C.node_error[0])
            snprintf(why, whylen, "%s", C.node_error);
        else if (n == 0)
            snprintf(why, whylen, "the node closed the connection");
        else
            snprintf(why, whylen, "%s", strerror(e));
        pthread_mutex_unlock(&C.mu);
        return -1;
    }
    C.in.len += (size_t)n;
    return io_drain(on_io, why, whylen) < 0 ? -1 : 1;
}

/* Under C.mu: the reader role is given back: the first caller waiting on
 * its cv may take it now. */
static void reader_given(void)
{
    struct api_waiter *f = LIST_FIRST(&C.followers);
    if (f)
        pthread_cond_signal(&f->cv);
}

/* Under C.mu: whether a caller waiting for a reply reads the socket itself. */
static bool caller_may_read(void)
{
    return C.by_callers && !C.reading && !C.broken && !C.closing && C.state == CONN_UP &&
           C.role == PROTO_ROLE_DRIVER;
}

/* Under C.mu: one step of waiting for W's reply. When nobody reads the
 * socket (and callers may), read it here and dispatch every frame as the
 * I/O thread would (no hand-off from it); else wait on W's cv (the reader
 * signals it, and so does a reader giving the role back). */
static void wait_reply(struct api_waiter *w)
{
    if (!caller_may_read()) {
        LIST_INSERT_HEAD(&C.followers, w, follow);
        pthread_cond_wait(&w->cv, &C.mu);
        LIST_REMOVE(w, follow);
        return;
    }
    char why[sizeof C.why] = "";
    C.reading = true;
    C.used_ms = net_now_ms();
    int fd = C.fd;
    pthread_mutex_unlock(&C.mu);
    int rc = io_turn(fd, -1, false, why, sizeof why);
    pthread_mutex_lock(&C.mu);
    C.reading = false;
    if (rc < 0) { /* the I/O thread reconnects or gives up, as for its own read */
        C.broken = true;
        memcpy(C.broke, why, sizeof C.broke);
        C.by_callers = false;
    }
    if (rc < 0 || C.io_waits_readers)
        pthread_cond_signal(&C.io_cv);
    reader_given();
}

/* Under C.mu, on the I/O thread: handle the frames callers left to it. */
static void io_run_deferred(void)
{
    while (C.dq) {
        struct deferred *d = C.dq;
        C.dq = d->next;
        pthread_mutex_unlock(&C.mu);
        io_dispatch(d->body, d->len, &d->m, true);
        free(d);
        pthread_mutex_lock(&C.mu);
    }
}

void api_deadline_(struct timespec *until, long long ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += (time_t)(ms / 1000);
    until->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

/* Under C.mu: wait on io_cv for up to MS. */
static void io_cv_wait(int ms)
{
    struct timespec until;
    api_deadline_(&until, ms);
    pthread_cond_timedwait(&C.io_cv, &C.mu, &until);
}

/*
 * Read and dispatch frames until the connection breaks; WHY says why. The
 * I/O thread holds the reader role and blocks on the socket, except while
 * a driver's callers read their own replies (C.by_callers, set when it
 * handed one a reply, for CALLERS_READ_MS after their last read): then it
 * looks at the socket every IO_TICK_MS when nobody reads it, and takes
 * over again once it finds bytes there (nobody was waiting for them). It
 * returns only once no caller reads, so the socket can be closed.
 */
static void io_read_all(char *why, size_t whylen)
{
    if (io_drain(true, why, whylen) < 0) /* what came after HELLO_OK */
        return;
    pthread_mutex_lock(&C.mu);
    for (;;) {
        io_run_deferred();
        if (C.broken) {
            C.broken = false;
            snprintf(why, whylen, "%s", C.broke);
            break;
        }
        if (C.by_callers && net_now_ms() - C.used_ms >= CALLERS_READ_MS)
            C.by_callers = false; /* no caller lately: back to the I/O thread */
        if (C.reading) {
            io_cv_wait(IO_TICK_MS);
            continue;
        }
        bool look = C.by_callers;
        C.reading = true;
        int fd = C.fd;
        pthread_mutex_unlock(&C.mu);
        int rc = io_turn(fd, look ? 0 : -1, true, why, whylen);
        pthread_mutex_lock(&C.mu);
        C.reading = false;
        if (rc < 0)
            break;
        if (look && rc > 0)
            C.by_callers = false; /* bytes nobody waited to read: the I/O thread reads again */
        if (C.by_callers) {
            reader_given();
            io_cv_wait(IO_TICK_MS);
        }
    }
    C.by_callers = false; /* no caller takes the role from now on */
    C.io_waits_readers = true;
    while (C.reading) /* (none can be: a reader saw the break, or this thread read) */
        io_cv_wait(IO_TICK_MS);
    C.io_waits_readers = false;
    C.broken = false;
    io_run_deferred();
    pthread_mutex_unlock(&C.mu);
}

static void *io_main(void *arg)
{
    char why[sizeof C.why] = "";
    do
        io_read_all(why, sizeof why);
    while (io_redial(why, sizeof why));
    pthread_mutex_lock(&C.mu);
    bool closing = C.closing;
    C.state = CONN_BROKEN;
    memcpy(C.why, why, sizeof C.why);
    for (size_t b = 0; b < WAITER_BUCKETS; b++)
        for (struct api_waiter *w = LIST_FIRST(&C.waiters[b]); w; w = LIST_NEXT(w, link))
            pthread_cond_signal(&w->cv);
    pthread_cond_broadcast(&C.up_cv);
    void (*lost)(const char *) = C.on_lost;
    pthread_mutex_unlock(&C.mu);
    if (!closing && lost)
        lost(why);
    return NULL;
}

/* ---- connecting ------------------------------------------------------------------ */

/* Read frames until one complete message is in; returns the malloc'd body or NULL. */
static void *hello_read(int fd, struct proto_msg *m, char *err, size_t errlen)
{
    long long deadline = net_now_ms() + API_HELLO_TIMEOUT_MS;
    for (;;) {
        size_t body_len;
        int st = proto_frame_need(C.in.data, C.in.len, PROTO_MAX_FRAME, &body_len, err, errlen);
        if (st == PROTO_BAD)
            return NULL;
        if (st == PROTO_OK && C.in.len >= 4 + body_len) {
            void *body = malloc(body_len);
            if (body == NULL) {
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            memcpy(body, C.in.data + 4, body_len);
            buf_consume(&C.in, 4 + body_len);
            if (proto_decode(body, body_len, m, err, errlen) < 0) {
                free(body);
                return NULL;
            }
            return body;
        }
        long long left = deadline - net_now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "the node did not answer HELLO within %d s",
                     API_HELLO_TIMEOUT_MS / 1000);
            return NULL;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return NULL;
        }
        if (pr <= 0)
            continue;
        char *dst = buf_reserve(&C.in, API_READ_CHUNK);
        if (dst == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        ssize_t n = read(fd, dst, API_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "the node closed the connection during HELLO%s%s",
                     n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return NULL;
        }
        C.in.len += (size_t)n;
    }
}

struct hello_info {
    char store[256];
    uint64_t store_size;
    char session_dir[1024];
    uint64_t job;
    bool has_job;
};

static void copy_str(char *dst, size_t dstlen, const char *s, size_t len)
{
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Parse HELLO_OK's info map. Returns 0 or -1. */
static int hello_info_parse(const struct proto_field *f, struct hello_info *hi)
{
    struct mpr r;
    uint32_t n;
    memset(hi, 0, sizeof *hi);
    if (f->as.s.len == 0)
        return 0;
    mpr_init(&r, f->as.s.ptr, f->as.s.len);
    if (mpr_map(&r, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *k, *s;
        size_t klen, slen;
        if (mpr_str(&r, &k, &klen) < 0)
            return -1;
        if (klen == 5 && memcmp(k, "store", 5) == 0) {
            if (mpr_str(&r, &s, &slen) < 0)
                return -1;
            copy_str(hi->store, sizeof hi->store, s, slen);
        } else if (klen == 10 && memcmp(k, "store_size", 10) == 0) {
            if (mpr_uint(&r, &hi->store_size) < 0)
                return -1;
        } else if (klen == 11 && memcmp(k, "session_dir", 11) == 0) {
            if (mpr_str(&r, &s, &slen) < 0)
                return -1;
            copy_str(hi->session_dir, sizeof hi->session_dir, s, slen);
        } else if (klen == 3 && memcmp(k, "job", 3) == 0) {
            if (mpr_uint(&r, &hi->job) < 0)
                return -1;
            hi->has_job = true;
        } else if (mpr_skip(&r) < 0) {
            return -1;
        }
    }
    return 0;
}

static int store_map(const char *name, size_t size, void **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the object store %s: %s", name, strerror(errno));
        return -1;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot map the object store %s (%zu bytes): %s", name, size,
                 strerror(e));
        return -1;
    }
    *out = p;
    return 0;
}

/* Map an ERROR code from the node to what the caller returns. */
static int hello_error_code(int64_t code, const char *msg, size_t len)
{
    if (code == RAY_EAUTH || memmem(msg, len, "authentication", 14) != NULL)
        return RAY_EAUTH;
    if (code == RAY_EINVAL)
        return RAY_EINVAL;
    return RAY_ECONN;
}

/* What one successful dial gives. */
struct dialed {
    int fd;
    void *store;
    size_t store_size;
    uint32_t job;
    char node_hex[IDS_HEX_SIZE];
};

/* Connect to the node O names, HELLO and map its store (C.in holds what came
 * after HELLO_OK). Returns RAY_OK and fills *D (the caller owns its fd and
 * mapping), or RAY_ECONN / RAY_EAUTH / RAY_EINVAL / RAY_ENOMEM with the
 * message set; nothing is left open then. */
static int dial(const struct api_connect_opts *o, struct dialed *d)
{
    char err[512] = "";
    char token[512];
    struct buf info = BUF_INIT, frame = BUF_INIT;
    struct proto_msg m;
    struct hello_info hi;
    void *body = NULL, *store = NULL;
    int fd = -1, rc = RAY_ECONN;

    memset(d, 0, sizeof *d);
    d->fd = -1;
    if (o->unix_path)
        fd = net_connect_unix(o->unix_path, err, sizeof err);
    else
        fd = net_connect_tcp(o->tcp_host, o->tcp_port, 10000, err, sizeof err);
    if (fd < 0)
        return api_error_(RAY_ECONN, "%s", err);

    struct token_where where = { .given = o->token, .session_dir = o->session_dir,
                                 .fallback_dir = "/tmp/ray/session_latest" };
    token_find(&where, token, sizeof token); /* none: "", and the node says no */
    direct_token_save(token);
    int ninfo = (o->worker_id ? 1 : 0) + (o->has_job ? 1 : 0);
    mpw_map(&info, (uint32_t)ninfo);
    if (o->worker_id) {
        mpw_str(&info, "worker_id", 9);
        mpw_bin(&info, o->worker_id, RAY_ID_SIZE);
    }
    if (o->has_job) {
        mpw_str(&info, "job", 3);
        mpw_uint(&info, o->job);
    }
    if ((rc = api_buf_check_(&info, "HELLO")) != RAY_OK)
        goto fail;
    if (proto_pack(&frame, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)o->role, token,
                   (uint64_t)getpid(), info.data, info.len) < 0) {
        rc = api_pack_error_(&frame, "cannot encode HELLO");
        goto fail;
    }
    if (net_write_all(fd, frame.data, frame.len) < 0) {
        rc = api_error_(RAY_ECONN, "cannot send HELLO to the node: %s", strerror(errno));
        goto fail;
    }
    buf_reset(&C.in);
    body = hello_read(fd, &m, err, sizeof err);
    if (body == NULL) {
        rc = api_error_(RAY_ECONN, "%s", err);
        goto fail;
    }
    if (m.type == PROTO_ERROR) {
        rc = api_error_(hello_error_code(m.f[0].as.i, m.f[1].as.s.ptr, m.f[1].as.s.len),
                        "the node refused the connection: %.*s", (int)m.f[1].as.s.len,
                        m.f[1].as.s.ptr);
        goto fail;
    }
    if (m.type != PROTO_HELLO_OK) {
        rc = api_error_(RAY_ECONN, "the node answered HELLO with message %u", m.type);
        goto fail;
    }
    if (m.f[0].as.u != PROTO_VERSION) {
        rc = api_error_(RAY_ECONN, "the node speaks protocol %llu, this library %d",
                        (unsigned long long)m.f[0].as.u, PROTO_VERSION);
        goto fail;
    }
    if (hello_info_parse(&m.f[2], &hi) < 0) {
        rc = api_error_(RAY_ECONN, "malformed HELLO_OK info from the node");
        goto fail;
    }
    if (o->unix_path && hi.store[0] && hi.store_size > 0 &&
        store_map(hi.store, (size_t)hi.store_size, &store, err, sizeof err) < 0) {
        rc = api_error_(RAY_ECONN, "%s", err);
        goto fail;
    }
    d->fd = fd;
    d->store = store;
    d->store_size = store ? (size_t)hi.store_size : 0;
    d->job = hi.has_job ? (uint32_t)hi.job : o->job;
    copy_str(d->node_hex, sizeof d->node_hex, m.f[1].as.s.ptr, m.f[1].as.s.len);
    free(body);
    buf_free(&info);
    buf_free(&frame);
    return RAY_OK;

fail:
    free(body);
    buf_free(&info);
    buf_free(&frame);
    buf_free(&C.in);
    if (store)
        munmap(store, (size_t)hi.store_size);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- direct submission (api/direct.c): the token a leased worker checks ---- */

static pthread_mutex_t token_mu = PTHREAD_MUTEX_INITIALIZER;
static char direct_token[512];

static void direct_token_save(const char *token)
{
    pthread_mutex_lock(&token_mu);
    snprintf(direct_token, sizeof direct_token, "%s", token);
    pthread_mutex_unlock(&token_mu);
}

void api_client_token_(char *out, size_t outlen)
{
    pthread_mutex_lock(&token_mu);
    snprintf(out, outlen, "%s", direct_token);
    pthread_mutex_unlock(&token_mu);
}

/* Remember where O connected, for a driver's reconnects. */
static void redial_save(const struct api_connect_opts *o)
{
    struct redial *r = &C.rd;
    buf_free(&r->first);
    memset(r, 0, sizeof *r);
    r->on = o->reconnect;
    if (!r->on)
        return;
    if (o->unix_path)
        copy_str(r->unix_path, sizeof r->unix_path, o->unix_path, strlen(o->unix_path));
    if (o->tcp_host)
        copy_str(r->host, sizeof r->host, o->tcp_host, strlen(o->tcp_host));
    r->port = o->tcp_port;
    if ((r->has_token = o->token != NULL))
        copy_str(r->token, sizeof r->token, o->token, strlen(o->token));
    if ((r->has_session = o->session_dir != NULL))
        copy_str(r->session_dir, sizeof r->session_dir, o->session_dir, strlen(o->session_dir));
    if (o->first && o->first->len > 0)
        buf_append(&r->first, o->first->data, o->first->len);
    r->on_reconnected = o->on_reconnected;
    const char *env = getenv("RAY_DRIVER_RECONNECT_MS");
    long ms = env && *env ? strtol(env, NULL, 10) : API_REDIAL_DEFAULT_MS;
    r->bound_ms = ms > 0 && ms <= 86400000 ? (int)ms : API_REDIAL_DEFAULT_MS;
}

/*
 * The I/O thread, once a driver's connection broke (WHY): reconnect to the
 * same address with back-off (50 ms doubling to 2 s) until the node answers
 * HELLO for this job, or C.rd.bound_ms pass, or ray_shutdown is called.
 * Meanwhile the state is REDIALING: callers wait instead of failing. On
 * success the new connection is generation gen + 1 (waiters resend their
 * requests on it) and its store is mapped; the old store stays mapped, as
 * values the program holds may point into it. Returns true when connected
 * again, false with WHY rewritten when it gives up (or is not a driver).
 */
static bool io_redial(char *why, size_t whylen)
{
    /* both locks (send_mu first): no sender writes on the old fd, and
     * api_client_close_ sees either closing set before this, or fd -1 */
    pthread_mutex_lock(&C.send_mu);
    pthread_mutex_lock(&C.mu);
    if (C.closing || !C.rd.on) {
        pthread_mutex_unlock(&C.mu);
        pthread_mutex_unlock(&C.send_mu);
        return false;
    }
    C.state = CONN_REDIALING;
    memcpy(C.why, why, sizeof C.why);
    C.node_error[0] = '\0';
    uint32_t job = C.job;
    int oldfd = C.fd;
    C.fd = -1;
    pthread_mutex_unlock(&C.mu);
    pthread_mutex_unlock(&C.send_mu);
    close(oldfd);

    const struct redial *r = &C.rd;
    fprintf(stderr, "ray: lost the connection to the node (%s): reconnecting for up to %d s\n",
            why, r->bound_ms / 1000);
    struct api_connect_opts o = {
        .unix_path = r->unix_path[0] ? r->unix_path : NULL,
        .tcp_host = r->host,
        .tcp_port = r->port,
        .token = r->has_token ? r->token : NULL,
        .session_dir = r->has_session ? r->session_dir : NULL,
        .role = PROTO_ROLE_DRIVER,
        .has_job = true,
        .job = job,
    };
    long long t0 = net_now_ms();
    int backoff = API_REDIAL_FIRST_MS;
    char last[256] = "";
    for (int tries = 1;; tries++) {
        struct dialed d;
        int rc = dial(&o, &d);
        if (rc == RAY_OK && r->first.len > 0 && net_write_all(d.fd, r->first.data, r->first.len) < 0) {
            rc = api_error_(RAY_ECONN, "cannot send the job library: %s", strerror(errno));
            close(d.fd);
            if (d.store)
                munmap(d.store, d.store_size);
        }
        if (rc == RAY_OK) {
            pthread_mutex_lock(&C.send_mu);
            pthread_mutex_lock(&C.mu);
            if (C.closing) { /* ray_shutdown while this dialled: it waits for this thread */
                pthread_mutex_unlock(&C.mu);
                pthread_mutex_unlock(&C.send_mu);
                close(d.fd);
                if (d.store)
                    munmap(d.store, d.store_size);
                snprintf(why, whylen, "ray_shutdown was called");
                return false;
            }
            C.fd = d.fd;
            if (C.store) {
                void **os = realloc(C.old_stores, (C.nold + 1) * sizeof *os);
                size_t *oz = realloc(C.old_sizes, (C.nold + 1) * sizeof *oz);
                if (os)
                    C.old_stores = os;
                if (oz)
                    C.old_sizes = oz;
                if (os && oz) {
                    C.old_stores[C.nold] = C.store;
                    C.old_sizes[C.nold++] = C.store_size;
                } /* else: the old mapping leaks rather than pulling values from under the program */
            }
            C.store = d.store;
            C.store_size = d.store_size;
            C.gen++;
            C.state = CONN_UP;
            C.why[0] = '\0';
            memcpy(C.node_hex, d.node_hex, sizeof C.node_hex);
            for (size_t b = 0; b < WAITER_BUCKETS; b++) {
                struct api_waiter *w;
                LIST_FOREACH(w, &C.waiters[b], link)
                    pthread_cond_signal(&w->cv);
            }
            pthread_cond_broadcast(&C.up_cv);
            pthread_mutex_unlock(&C.mu);
            pthread_mutex_unlock(&C.send_mu);
            fprintf(stderr, "ray: reconnected to node %.8s after %.1f s (%d tries)\n", d.node_hex,
                    (double)(net_now_ms() - t0) / 1000.0, tries);
            if (r->on_reconnected)
                r->on_reconnected();
            return true;
        }
        snprintf(last, sizeof last, "%s", ray_last_error());
        long long spent = net_now_ms() - t0;
        /* a node that says no for good (authentication, a job that is over) is not asked again */
        bool hopeless = rc == RAY_EAUTH || rc == RAY_EINVAL;
        if (hopeless || spent >= r->bound_ms) {
            if (hopeless)
                snprintf(why, whylen, "cannot reconnect: %.200s", last);
            else
                snprintf(why, whylen,
                         "could not reconnect within %d s (RAY_DRIVER_RECONNECT_MS): %.160s",
                         r->bound_ms / 1000, last);
            fprintf(stderr, "ray: lost the connection to the node: %s\n", why);
            return false;
        }
        long long wait = backoff;
        if (wait > r->bound_ms - spent)
            wait = r->bound_ms - spent;
        struct timespec until;
        api_deadline_(&until, wait);
        pthread_mutex_lock(&C.mu);
        while (!C.closing && pthread_cond_timedwait(&C.up_cv, &C.mu, &until) == 0)
            ;
        bool closing = C.closing;
        pthread_mutex_unlock(&C.mu);
        if (closing) {
            snprintf(why, whylen, "ray_shutdown was called");
            return false;
        }
        backoff = backoff * 2 > API_REDIAL_MAX_MS ? API_REDIAL_MAX_MS : backoff * 2;
    }
}

int api_client_connect_(const struct api_connect_opts *o)
{
    struct dialed d;
    int rc;

    pthread_mutex_lock(&C.mu);
    bool busy = C.state != CONN_DOWN;
    pthread_mutex_unlock(&C.mu);
    if (busy)
        return api_error_(RAY_EINVAL, "already connected to a node");
    if ((rc = id_ready()) != RAY_OK)
        return rc;
    if ((rc = dial(o, &d)) != RAY_OK)
        return rc;

    pthread_mutex_lock(&C.mu);
    C.fd = d.fd;
    C.role = o->role;
    C.gen++;
    C.state = CONN_UP;
    C.closing = false;
    C.why[0] = C.node_error[0] = '\0';
    C.store = d.store;
    C.store_size = d.store_size;
    C.job = d.job;
    C.on_execute = o->on_execute;
    C.on_recall = o->on_recall;
    C.on_nest = o->on_nest;
    C.on_wait = o->on_wait;
    C.on_lost = o->on_lost;
    redial_save(o);
    memcpy(C.node_hex, d.node_hex, sizeof C.node_hex);
    snprintf(C.job_hex, sizeof C.job_hex, "%08x", (unsigned)C.job);
    pthread_mutex_unlock(&C.mu);

    if (pthread_create(&C.io, NULL, io_main, NULL) != 0) {
        pthread_mutex_lock(&C.mu);
        C.state = CONN_DOWN;
        C.fd = -1;
        C.store = NULL;
        pthread_mutex_unlock(&C.mu);
        buf_free(&C.in);
        if (d.store)
            munmap(d.store, d.store_size);
        close(d.fd);
        return api_error_(RAY_ENOMEM, "cannot start the client I/O thread");
    }
    C.io_running = true;
    return RAY_OK;
}

void api_client_close_(void)
{
    api_direct_shutdown_(); /* leases back and direct sockets closed while the node listens */
    pthread_mutex_lock(&C.mu);
    if (C.state == CONN_DOWN) {
        pthread_mutex_unlock(&C.mu);
        return;
    }
    C.closing = true;
    int fd = C.fd;
    pthread_cond_broadcast(&C.up_cv); /* a reconnecting I/O thread gives up */
    pthread_mutex_unlock(&C.mu);

    if (fd >= 0)
        shutdown(fd, SHUT_RDWR); /* the I/O thread sees EOF and wakes every waiter */
    if (C.io_running && !pthread_equal(C.io, pthread_self()))
        pthread_join(C.io, NULL);
    else if (C.io_running)
        pthread_detach(C.io);
    C.io_running = false;

    pthread_mutex_lock(&C.send_mu);
    if (C.fd >= 0)
        close(C.fd); /* the I/O thread may have swapped it while reconnecting */
    C.fd = -1;
    pthread_mutex_unlock(&C.send_mu);

    pthread_mutex_lock(&C.mu);
    void *store = C.store;
    size_t size = C.store_size;
    C.store = NULL;
    C.store_size = 0;
    C.state = CONN_DOWN;
    C.closing = false;
    C.on_execute = NULL;
    C.on_recall = NULL;
    C.on_nest = NULL;
    C.on_wait = NULL;
    C.on_lost = NULL;
    void **olds = C.old_stores;
    size_t *oldz = C.old_sizes, nold = C.nold;
    C.old_stores = NULL;
    C.old_sizes = NULL;
    C.nold = 0;
    buf_free(&C.rd.first);
    memset(&C.rd, 0, sizeof C.rd);
    pthread_mutex_unlock(&C.mu);
    buf_free(&C.in);
    if (store)
        munmap(store, size);
    for (size_t i = 0; i < nold; i++)
        munmap(olds[i], oldz[i]);
    free(olds);
    free(oldz);
}
