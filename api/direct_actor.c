/*
 * direct_actor.c — a driver's actor calls sent straight to the actor's
 * worker (docs/direct.md "Actor calls"), on the direct sockets workers
 * listen on for leased tasks (api/direct_worker.c).
 *
 * DESIGN. ray_actor_call offers each call here (api_direct_actor_call_),
 * with the call's number taken and its callseq stripe held, so the calls of
 * one actor arrive in the order made. A call qualifies when the process is
 * a driver on its node's machine (api_direct_eligible_: RAY_DIRECT not 0,
 * no REF in the arguments) and it has one return. The first qualifying
 * call to an actor asks the node for the actor's worker
 * (ACTOR_LEASE_REQUEST, sent after every call of ours to it through the
 * node); the calls that follow are held here until the answer. The node
 * grants only when the actor is ALIVE, has a worker of its own,
 * max_concurrency 1, and no call of ours waits or runs there
 * (runtime/actor_direct.c): so a direct call never overtakes one sent
 * through the node. Granted: the direct thread connects (DIRECT_HELLO
 * with the cluster token), writes the held calls, and later calls are
 * written by their callers, corked as direct.c does (a lone call at once,
 * others within a poll turn, at DA_CORK_MAX, or before a get waits).
 * Refused: the held calls go to the node in order and the actor is not
 * asked for again for DA_REFUSED_MS.
 *
 * A call that does not qualify (a REF argument, num_returns not 1) while
 * direct calls are unanswered waits for them, then the actor goes back to
 * the node's path (its socket closed): the node's calls never overtake
 * the direct ones either.
 *
 * Answers (DIRECT_RESULT) come back in order; a scalar first return goes
 * into the value cache and wakes the ray_gets waiting for it
 * (api_direct_actor_await_); anything else is read from the node, where
 * the worker stored it before answering (its DIRECT_DONE batch).
 *
 * Faults: when the socket closes (the worker died, was killed, its job or
 * node ended) the calls unanswered on it fail with RAY_EACTOR: the driver
 * tells the node (DIRECT_ACTOR_LOST) and gets them from it; once the node
 * has handled the worker's going, it stores ERROR objects, with the
 * actor's reason, for the ones its worker did not report. As on the node's path, a call that may
 * have run is not run again. The actor then goes back to the node's path
 * (a restarting actor queues its calls there) and is asked for again after
 * DA_REFUSED_MS.
 *
 * Locks: A.mu guards the actors, their held and unanswered calls and the
 * pending map; a socket is written under its actor's send_mu only (never
 * under A.mu), the node's connection outside A.mu. Library code:
 * allocation failures send the call the node's way.
 */
#include "api/api_internal.h"

#include "common/direct_wire.h"
#include "common/ids.h"
#include "common/idmap.h"
#include "common/mem.h"
#include "common/netutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DA_ACTORS_MAX 64         /* actors called directly at once */
#define DA_REFUSED_MS 20         /* after a refusal or a loss: the node's path this long */
#define DA_ASK_MS 1000           /* a request unanswered this long counts as refused */
#define DA_INFLIGHT_MAX 4096     /* unanswered calls on one socket; more wait for room */
#define DA_CORK_MAX (16u << 10)  /* corked bytes written at once */
#define DA_READ_CHUNK (64u << 10)

struct dcall {
    uint8_t id[RAY_ID_SIZE];
    char name[96];               /* "Class.method", for the node's records */
    void *spec;                  /* held: the call's spec (owned); NULL once sent */
    size_t len;
    STAILQ_ENTRY(dcall) link;
};
STAILQ_HEAD(dcall_list, dcall);

enum da_state {
    DA_FREE,     /* slot unused */
    DA_NODE,     /* calls go to the node; asked for again after retry_ms */
    DA_ASKED,    /* ACTOR_LEASE_REQUEST sent: calls are held */
    DA_GRANTED,  /* the node said yes: the direct thread connects, then writes the held */
    DA_REFUSED,  /* the node said no: the direct thread sends the held to it */
    DA_ACTIVE,   /* connected: callers write their calls */
    DA_DEAD,     /* its socket closed: the direct thread fails the unanswered */
};

struct dactor {
    enum da_state state;
    uint8_t id[RAY_ID_SIZE];
    uint8_t worker[RAY_ID_SIZE];
    long long retry_ms, asked_ms;
    int fd;
    int senders;                 /* callers writing on fd now */
    pthread_mutex_t send_mu;     /* fd's writes and out */
    struct buf out;              /* corked DIRECT_TASK frames */
    struct dcall_list held;      /* waiting for the node's answer, in order */
    struct dcall_list sent;      /* unanswered on fd, in order */
    int nsent;
    struct buf in;               /* the direct thread's read buffer */
    bool closing;                /* closed by us to go the node's way (not lost) */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* broadcast when calls are answered or handed on */
    bool started, stop, failed;
    pthread_t th;
    int wake[2];
    struct dactor actors[DA_ACTORS_MAX];
    struct idmap pending;        /* task id -> struct dcall, held or unanswered */
    unsigned long long count, n_node, n_granted, n_refused, n_lost;
} A = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .wake = { -1, -1 },
};

static void wake_thread(void)
{
    if (A.wake[1] >= 0) {
        char c = 1;
        ssize_t n = write(A.wake[1], &c, 1);
        (void)n; /* full: it is awake anyway */
    }
}

static void dcall_free(struct dcall *c)
{
    if (c) {
        free(c->spec);
        free(c);
    }
}

static void free_list(struct dcall_list *l)
{
    struct dcall *c;
    while ((c = STAILQ_FIRST(l)) != NULL) {
        STAILQ_REMOVE_HEAD(l, link);
        dcall_free(c);
    }
}

/* Under A.mu: C is answered or handed to the node: forget it. */
static void forget(struct dcall *c)
{
    if (idmap_get(&A.pending, c->id) == c)
        idmap_del(&A.pending, c->id);
}

/* Under A.mu: forget every call of LIST. */
static void forget_all(struct dcall_list *l)
{
    struct dcall *c;
    STAILQ_FOREACH(c, l, link)
        forget(c);
}

/* Send the node F (outside A.mu); a failure is said on stderr. */
static void node_send(struct buf *f)
{
    if (f->len == 0)
        return;
    if (api_client_send_(f) != RAY_OK)
        fprintf(stderr, "ray: direct actor calls: cannot reach the node: %s\n", ray_last_error());
    buf_reset(f);
}

/* Append a call's DIRECT_TASK to OUT: its SPEC (LEN bytes) with the
 * "kind" and the NAME the node adds to its TASK_EXECUTE. Returns 0 or -1
 * (out of memory). */
static int pack_direct(struct buf *out, const void *spec, size_t len, const char *name)
{
    struct buf s = BUF_INIT;
    int rc = mpw_map_extend(&s, spec, len, 2);
    if (rc == 0) {
        api_spec_key_(&s, "kind");
        mpw_cstr(&s, "actor_call");
        api_spec_key_(&s, "name");
        mpw_cstr(&s, name);
        rc = buf_failed(&s) ? -1 : proto_pack(out, PROTO_DIRECT_TASK, s.data, s.len, "", (size_t)0);
    }
    buf_free(&s);
    return rc < 0 || buf_failed(out) ? -1 : 0;
}

/* ---- the direct thread ---------------------------------------------------------- */

/* Outside A.mu: send LIST's calls to the node (ACTOR_CALL, in order), then
 * forget and free them. */
static void held_to_node(struct dcall_list *list)
{
    struct buf f = BUF_INIT;
    struct dcall *c;
    STAILQ_FOREACH(c, list, link)
        proto_pack(&f, PROTO_ACTOR_CALL, c->spec, c->len);
    node_send(&f);
    buf_free(&f);
    pthread_mutex_lock(&A.mu);
    forget_all(list);
    pthread_cond_broadcast(&A.cv); /* their gets read from the node now */
    pthread_mutex_unlock(&A.mu);
    free_list(list);
}

/* Actor D's held calls go where its state says, until none is left; then
 * it becomes NEXT. Outside A.mu; D is GRANTED (its fd connected) or
 * REFUSED, which only this thread changes. */
static void flush_held(struct dactor *d, enum da_state next)
{
    for (;;) {
        struct dcall_list l = STAILQ_HEAD_INITIALIZER(l);
        pthread_mutex_lock(&A.mu);
        if (STAILQ_EMPTY(&d->held)) {
            d->state = next;
            pthread_mutex_unlock(&A.mu);
            return;
        }
        STAILQ_CONCAT(&l, &d->held);
        if (next == DA_NODE) {
            pthread_mutex_unlock(&A.mu);
            held_to_node(&l);
            continue;
        }
        struct buf out = BUF_INIT;
        struct dcall *c;
        bool ok = true;
        STAILQ_FOREACH(c, &l, link) {
            ok = ok && pack_direct(&out, c->spec, c->len, c->name) == 0;
            free(c->spec);
            c->spec = NULL;
            d->nsent++;
            A.count++;
        }
        STAILQ_CONCAT(&d->sent, &l);
        pthread_mutex_unlock(&A.mu);
        if (!ok || net_write_all(d->fd, out.data, out.len) < 0)
            shutdown(d->fd, SHUT_RDWR); /* seen closed: its calls fail */
        buf_free(&out);
    }
}

/* Read what actor D's socket holds and handle its answers. Returns false
 * at EOF or on a bad frame (D's worker is gone). */
static bool actor_read(struct dactor *d)
{
    int got = api_direct_fill_(d->fd, &d->in, DA_READ_CHUNK);
    if (got <= 0)
        return got == 0;
    size_t pos = 0;
    bool ok = true;
    struct dcall_list done = STAILQ_HEAD_INITIALIZER(done);
    pthread_mutex_lock(&A.mu);
    for (;;) {
        char err[160];
        struct proto_msg m;
        int st = proto_frame_next(d->in.data, d->in.len, &pos, &m, err, sizeof err);
        if (st == PROTO_NEED_MORE)
            break;
        if (st == PROTO_BAD) {
            ok = false;
            break;
        }
        if (m.type != PROTO_DIRECT_RESULT)
            continue;
        const uint8_t *tid = (const uint8_t *)m.f[0].as.s.ptr;
        struct dcall *c = STAILQ_FIRST(&d->sent), *prev = NULL;
        while (c && memcmp(c->id, tid, RAY_ID_SIZE) != 0) {
            prev = c;
            c = STAILQ_NEXT(c, link);
        }
        if (c == NULL)
            continue;
        if (prev)
            STAILQ_REMOVE(&d->sent, c, dcall, link);
        else
            STAILQ_REMOVE_HEAD(&d->sent, link);
        d->nsent--;
        api_direct_result_push_(&m);
        forget(c);
        STAILQ_INSERT_TAIL(&done, c, link);
    }
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    buf_consume(&d->in, pos);
    free_list(&done);
    return ok;
}

/* Actor D's socket closed: its unanswered calls fail with RAY_EACTOR (the
 * node is told first, so their gets find the errors), its slot goes back
 * to the node's path. Outside A.mu; waits for callers writing on it. */
static void actor_lost(struct dactor *d)
{
    struct dcall_list l = STAILQ_HEAD_INITIALIZER(l);
    pthread_mutex_lock(&A.mu);
    while (d->senders > 0) { /* (they write into a closed socket: brief) */
        pthread_mutex_unlock(&A.mu);
        sched_yield();
        pthread_mutex_lock(&A.mu);
    }
    STAILQ_CONCAT(&l, &d->sent);
    d->nsent = 0;
    close(d->fd);
    d->fd = -1;
    buf_free(&d->in);
    buf_free(&d->out);
    A.n_lost += !d->closing; /* (closed by us: back_to_node_locked) */
    d->closing = false;
    d->state = DA_NODE;
    d->retry_ms = net_now_ms() + DA_REFUSED_MS;
    uint8_t worker[RAY_ID_SIZE]; /* the one whose socket closed (a new grant may follow) */
    memcpy(worker, d->worker, RAY_ID_SIZE);
    pthread_mutex_unlock(&A.mu);
    struct buf v = BUF_INIT, a = BUF_INIT, f = BUF_INIT;
    uint32_t n = 0;
    struct dcall *c;
    STAILQ_FOREACH(c, &l, link) {
        /* no message: the node words the failure with the actor's reason */
        direct_entry_pack(&v, c->id, c->name, RAY_EACTOR, "", 1);
        if (++n == DIRECT_BATCH_MAX || STAILQ_NEXT(c, link) == NULL) {
            mpw_array(&a, n);
            buf_append(&a, v.data, v.len);
            if (!buf_failed(&a))
                proto_pack(&f, PROTO_DIRECT_ACTOR_LOST, d->id, worker, a.data, a.len);
            buf_reset(&a);
            buf_reset(&v);
            n = 0;
        }
    }
    node_send(&f);
    buf_free(&v);
    buf_free(&a);
    buf_free(&f);
    pthread_mutex_lock(&A.mu);
    forget_all(&l);
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    free_list(&l);
}

/* Write every active actor's corked calls (the direct thread, or a get about to wait). */
static void flush_corked(void)
{
    struct dactor *ds[DA_ACTORS_MAX];
    int n = 0;
    pthread_mutex_lock(&A.mu);
    for (int i = 0; i < DA_ACTORS_MAX; i++) {
        struct dactor *d = &A.actors[i];
        if (d->state == DA_ACTIVE && d->nsent > 0) {
            d->senders++;
            ds[n++] = d;
        }
    }
    pthread_mutex_unlock(&A.mu);
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&ds[i]->send_mu);
        if (ds[i]->out.len > 0 && net_write_all(ds[i]->fd, ds[i]->out.data, ds[i]->out.len) < 0)
            shutdown(ds[i]->fd, SHUT_RDWR);
        buf_reset(&ds[i]->out);
        pthread_mutex_unlock(&ds[i]->send_mu);
    }
    if (n == 0)
        return;
    pthread_mutex_lock(&A.mu);
    for (int i = 0; i < n; i++)
        ds[i]->senders--;
    pthread_mutex_unlock(&A.mu);
}

/* Move the actors' states along (outside A.mu). */
static void step(void)
{
    struct dactor *todo[DA_ACTORS_MAX];
    int n = 0;
    long long now = net_now_ms();
    pthread_mutex_lock(&A.mu);
    for (int i = 0; i < DA_ACTORS_MAX; i++) {
        struct dactor *d = &A.actors[i];
        if (d->state == DA_ASKED && now - d->asked_ms >= DA_ASK_MS)
            d->state = DA_REFUSED; /* no answer: as refused; a late grant is ignored */
        if (d->state == DA_GRANTED || d->state == DA_REFUSED || d->state == DA_DEAD)
            todo[n++] = d; /* (only this thread moves them out of these states) */
    }
    pthread_mutex_unlock(&A.mu);
    for (int i = 0; i < n; i++) {
        struct dactor *d = todo[i];
        pthread_mutex_lock(&A.mu);
        enum da_state st = d->state;
        pthread_mutex_unlock(&A.mu);
        if (st == DA_GRANTED) {
            d->fd = api_direct_connect_(d->worker);
            if (d->fd >= 0) {
                flush_held(d, DA_ACTIVE);
                continue;
            }
            pthread_mutex_lock(&A.mu);
            d->state = DA_REFUSED; /* its worker is gone already */
            pthread_mutex_unlock(&A.mu);
            st = DA_REFUSED;
        }
        if (st == DA_REFUSED) {
            pthread_mutex_lock(&A.mu);
            d->retry_ms = net_now_ms() + DA_REFUSED_MS;
            pthread_mutex_unlock(&A.mu);
            flush_held(d, DA_NODE);
        } else if (st == DA_DEAD) {
            actor_lost(d);
        }
    }
}

static void *direct_actor_main(void *arg)
{
    (void)arg;
    struct pollfd pfd[DA_ACTORS_MAX + 1];
    struct dactor *who[DA_ACTORS_MAX + 1];
    for (;;) {
        step();
        int npfd = 1;
        bool inflight = false;
        pthread_mutex_lock(&A.mu);
        if (A.stop) {
            pthread_mutex_unlock(&A.mu);
            break;
        }
        pfd[0] = (struct pollfd){ .fd = A.wake[0], .events = POLLIN };
        for (int i = 0; i < DA_ACTORS_MAX; i++) {
            struct dactor *d = &A.actors[i];
            inflight = inflight || d->nsent > 0 || d->state == DA_ASKED;
            if (d->state == DA_ACTIVE && d->fd >= 0) {
                pfd[npfd] = (struct pollfd){ .fd = d->fd, .events = POLLIN };
                who[npfd++] = d;
            }
        }
        pthread_mutex_unlock(&A.mu);
        flush_corked();
        int pr = poll(pfd, (nfds_t)npfd, inflight ? 1 : -1);
        if (pr <= 0)
            continue;
        if (pfd[0].revents) {
            char drain[64];
            while (read(A.wake[0], drain, sizeof drain) > 0)
                ;
        }
        for (int i = 1; i < npfd; i++) {
            if (pfd[i].revents && !actor_read(who[i])) {
                pthread_mutex_lock(&A.mu);
                who[i]->state = DA_DEAD;
                pthread_mutex_unlock(&A.mu);
            }
        }
    }
    return NULL;
}

/* Under A.mu: start the direct thread once; false when it cannot run. */
static bool thread_start_locked(void)
{
    if (A.started)
        return true;
    if (A.failed || A.stop)
        return false;
    for (int i = 0; i < DA_ACTORS_MAX; i++) {
        pthread_mutex_init(&A.actors[i].send_mu, NULL);
        STAILQ_INIT(&A.actors[i].held);
        STAILQ_INIT(&A.actors[i].sent);
        A.actors[i].fd = -1;
    }
    if (pipe2(A.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        A.wake[0] = A.wake[1] = -1;
        A.failed = true;
        return false;
    }
    if (pthread_create(&A.th, NULL, direct_actor_main, NULL) != 0) {
        close(A.wake[0]);
        close(A.wake[1]);
        A.wake[0] = A.wake[1] = -1;
        A.failed = true;
        return false;
    }
    __atomic_store_n(&A.started, true, __ATOMIC_RELEASE);
    return true;
}

/* ---- submitting ------------------------------------------------------------- */

/* Under A.mu: actor ID's slot (made if new, in state NODE), or NULL when
 * all are taken. */
static struct dactor *actor_get(const uint8_t *id, bool make)
{
    struct dactor *free_d = NULL;
    for (int i = 0; i < DA_ACTORS_MAX; i++) {
        struct dactor *d = &A.actors[i];
        if (d->state != DA_FREE && memcmp(d->id, id, RAY_ID_SIZE) == 0)
            return d;
        if (d->state == DA_FREE && free_d == NULL)
            free_d = d;
    }
    if (!make || free_d == NULL)
        return NULL;
    memcpy(free_d->id, id, RAY_ID_SIZE);
    free_d->state = DA_NODE;
    free_d->retry_ms = 0;
    free_d->nsent = 0;
    free_d->fd = -1;
    free_d->closing = false;
    return free_d;
}

/* Under A.mu: a call that goes the node's way comes for actor D: wait until
 * nothing of ours is held or unanswered on its direct path, then close
 * that path (the node's calls must not overtake the direct ones). */
static void back_to_node_locked(struct dactor *d)
{
    while (!A.stop && (!STAILQ_EMPTY(&d->held) || d->nsent > 0 || d->state == DA_ASKED ||
                       d->state == DA_GRANTED || d->state == DA_REFUSED || d->state == DA_DEAD)) {
        pthread_mutex_unlock(&A.mu);
        flush_corked();
        wake_thread();
        pthread_mutex_lock(&A.mu);
        if (!STAILQ_EMPTY(&d->held) || d->nsent > 0 || d->state == DA_ASKED ||
            d->state == DA_GRANTED || d->state == DA_REFUSED || d->state == DA_DEAD)
            pthread_cond_wait(&A.cv, &A.mu);
    }
    if (d->state == DA_ACTIVE) {
        while (d->senders > 0) {
            pthread_mutex_unlock(&A.mu);
            sched_yield();
            pthread_mutex_lock(&A.mu);
        }
        shutdown(d->fd, SHUT_RDWR); /* the direct thread closes it (nothing is unanswered) */
        d->closing = true;
        d->state = DA_DEAD;
        wake_thread();
    }
}

/* Under A.mu, D active with room: C goes on D's socket (corked; a lone call
 * at once). Returns with A.mu held. */
static void send_active_locked(struct dactor *d, struct dcall *c)
{
    bool now_write = d->nsent == 0;
    STAILQ_INSERT_TAIL(&d->sent, c, link);
    d->nsent++;
    d->senders++;
    A.count++;
    void *sp = c->spec; /* (C may be answered and freed once written) */
    c->spec = NULL;
    pthread_mutex_unlock(&A.mu);
    pthread_mutex_lock(&d->send_mu);
    int packed = pack_direct(&d->out, sp, c->len, c->name);
    free(sp);
    if (packed < 0) {
        buf_free(&d->out);
        shutdown(d->fd, SHUT_RDWR); /* (out of memory: seen closed, the call fails) */
    } else if (now_write || d->out.len >= DA_CORK_MAX) {
        if (net_write_all(d->fd, d->out.data, d->out.len) < 0)
            shutdown(d->fd, SHUT_RDWR); /* the direct thread sees it closed */
        buf_reset(&d->out);
    }
    pthread_mutex_unlock(&d->send_mu);
    pthread_mutex_lock(&A.mu);
    d->senders--;
    /* no wake for a corked call: an older call of D is written and
     * unanswered, so the direct thread polls D's socket with a 1 ms timeout
     * and writes the cork then, or when that answer comes (a wake per call
     * cost a pipe write and a thread switch each, and emptied the cork) */
}

int api_direct_actor_call_(const uint8_t *actor, const struct buf *spec, const uint8_t *id,
                           const char *name, int nret, const ray_value *args, size_t nargs)
{
    bool eligible = nret == 1 && api_direct_eligible_(args, nargs);
    if (!eligible && !__atomic_load_n(&A.started, __ATOMIC_ACQUIRE))
        return 1; /* (RAY_DIRECT=0, a worker, a remote driver: nothing ever went directly) */
    pthread_mutex_lock(&A.mu);
    struct dactor *d = actor_get(actor, eligible && thread_start_locked());
    if (d == NULL || !eligible) {
        if (d != NULL && d->state != DA_NODE)
            back_to_node_locked(d);
        A.n_node++;
        pthread_mutex_unlock(&A.mu);
        return 1;
    }
    while (d->state == DA_ACTIVE && d->nsent >= DA_INFLIGHT_MAX && !A.stop) {
        pthread_mutex_unlock(&A.mu); /* full: wait for room (the caller's backpressure) */
        flush_corked();
        pthread_mutex_lock(&A.mu);
        if (d->state == DA_ACTIVE && d->nsent >= DA_INFLIGHT_MAX)
            pthread_cond_wait(&A.cv, &A.mu);
    }
    long long now = net_now_ms();
    if (d->state == DA_DEAD || (d->state == DA_NODE && now < d->retry_ms) || A.stop) {
        A.n_node++;
        if (d->state == DA_DEAD)
            back_to_node_locked(d); /* lost: the node's way, after its failures */
        pthread_mutex_unlock(&A.mu);
        return 1;
    }
    struct dcall *c = mem_malloc(sizeof *c);
    void *copy = mem_malloc(spec->len);
    if (c == NULL || copy == NULL || idmap_try_put(&A.pending, id, c, NULL) < 0) {
        free(c);
        free(copy);
        if (d->state != DA_NODE)
            back_to_node_locked(d);
        pthread_mutex_unlock(&A.mu);
        return 1;
    }
    memcpy(c->id, id, RAY_ID_SIZE);
    snprintf(c->name, sizeof c->name, "%s", name);
    memcpy(copy, spec->data, spec->len);
    c->spec = copy;
    c->len = spec->len;
    if (d->state == DA_ACTIVE) {
        send_active_locked(d, c);
        pthread_mutex_unlock(&A.mu);
        return RAY_OK;
    }
    /* held until the node's answer (sent after every call of ours to it) */
    STAILQ_INSERT_TAIL(&d->held, c, link);
    struct buf f = BUF_INIT;
    if (d->state == DA_NODE) {
        d->state = DA_ASKED;
        d->asked_ms = now;
        proto_pack(&f, PROTO_ACTOR_LEASE_REQUEST, actor);
    }
    pthread_mutex_unlock(&A.mu);
    node_send(&f);
    buf_free(&f);
    return RAY_OK;
}

/* ---- the node's answer, waiting, shutdown ------------------------------------- */

void api_direct_actor_node_msg_(const struct proto_msg *m)
{
    pthread_mutex_lock(&A.mu);
    struct dactor *d = actor_get((const uint8_t *)m->f[0].as.s.ptr, false);
    if (d != NULL && d->state == DA_ASKED) {
        if (m->f[1].as.i == RAY_OK) {
            memcpy(d->worker, m->f[2].as.s.ptr, RAY_ID_SIZE);
            d->state = DA_GRANTED;
            A.n_granted++;
        } else {
            d->state = DA_REFUSED;
            A.n_refused++;
            const char *dbg = getenv("RAY_DIRECT_DEBUG");
            if (dbg && strcmp(dbg, "1") == 0)
                fprintf(stderr, "ray direct: actor call refused: %.*s\n", (int)m->f[3].as.s.len,
                        m->f[3].as.s.ptr);
        }
    }
    pthread_mutex_unlock(&A.mu);
    wake_thread();
}

void api_direct_actor_await_(const uint8_t *tid, int64_t timeout_ms)
{
    if (!__atomic_load_n(&A.started, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&A.mu);
    bool pending = idmap_get(&A.pending, tid) != NULL;
    pthread_mutex_unlock(&A.mu);
    if (!pending)
        return;
    flush_corked(); /* it may be corked still */
    struct timespec until;
    if (timeout_ms >= 0)
        api_deadline_(&until, timeout_ms);
    pthread_mutex_lock(&A.mu);
    while (!A.stop && idmap_get(&A.pending, tid) != NULL) {
        if (timeout_ms < 0)
            pthread_cond_wait(&A.cv, &A.mu);
        else if (pthread_cond_timedwait(&A.cv, &A.mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&A.mu);
}

unsigned long long api_direct_actor_count_(void)
{
    pthread_mutex_lock(&A.mu);
    unsigned long long n = A.count;
    pthread_mutex_unlock(&A.mu);
    return n;
}

void api_direct_actor_shutdown_(void)
{
    pthread_mutex_lock(&A.mu);
    if (!A.started) {
        pthread_mutex_unlock(&A.mu);
        return;
    }
    A.stop = true;
    const char *dbg = getenv("RAY_DIRECT_DEBUG");
    if (dbg && strcmp(dbg, "1") == 0)
        fprintf(stderr,
                "ray direct: %llu actor calls sent directly, %llu to the node; actors: %llu "
                "granted, %llu refused, %llu lost\n",
                A.count, A.n_node, A.n_granted, A.n_refused, A.n_lost);
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    wake_thread();
    pthread_join(A.th, NULL);
    flush_corked();
    struct dcall_list l = STAILQ_HEAD_INITIALIZER(l), held = STAILQ_HEAD_INITIALIZER(held);
    pthread_mutex_lock(&A.mu);
    for (int i = 0; i < DA_ACTORS_MAX; i++)
        STAILQ_CONCAT(&held, &A.actors[i].held);
    pthread_mutex_unlock(&A.mu);
    held_to_node(&held); /* never answered here: the node runs them */
    pthread_mutex_lock(&A.mu);
    for (int i = 0; i < DA_ACTORS_MAX; i++) {
        struct dactor *d = &A.actors[i];
        if (d->fd >= 0)
            close(d->fd);
        d->fd = -1;
        STAILQ_CONCAT(&l, &d->sent);
        d->nsent = 0;
        buf_free(&d->in);
        buf_free(&d->out);
        d->state = DA_FREE;
    }
    idmap_free(&A.pending);
    close(A.wake[0]);
    close(A.wake[1]);
    A.wake[0] = A.wake[1] = -1;
    __atomic_store_n(&A.started, false, __ATOMIC_RELEASE);
    A.stop = false;
    pthread_mutex_unlock(&A.mu);
    free_list(&l);
}
