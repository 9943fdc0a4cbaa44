/*
 * direct.c — a driver's side of direct submission (docs/direct.md): leases
 * of workers from its node for repeated task shapes, and the tasks sent
 * straight to them.
 *
 * DESIGN. ray_call offers each task here first (api_direct_submit_). A task
 * qualifies when this process is a driver on its node's machine (the store
 * is mapped), it has one return, no placement group, no GPU, max_retries
 * not 0, no retry_on_error, and no REF anywhere in its arguments; anything
 * else goes to the node as before, and so does a task when no lease can be
 * had. Tasks are grouped by shape (CPU, memory, custom resources,
 * runtime_env). The first task of a shape asks the node for a lease
 * (LEASE_REQUEST); the tasks that follow are held here until the answer
 * (the node answers at once). Granted: the direct thread connects to the
 * worker's socket (DIRECT_HELLO with the cluster token), sends what was
 * held, and later calls write their DIRECT_TASK there themselves,
 * pipelined, to the lease with the fewest unanswered. Refused: the held
 * tasks go to the node, and the shape does not ask again for
 * DIRECT_REFUSED_MS. How many tasks one lease may have unanswered follows
 * the recent run time of the shape's tasks (depth(), as the node's
 * pipelining); when even the least busy lease is half full the shape asks
 * for one more (up to DIRECT_LEASES_PER_SHAPE), and when all are full and
 * none can be had the task goes to the node. Tasks unanswered for
 * DIRECT_REPORT_MS are reported to the node (DIRECT_PENDING), so `ray list
 * tasks` shows long ones while they run.
 *
 * Answers (DIRECT_RESULT) come back in order on each lease; whoever holds
 * the lease's reader role reads them (a ray_get waiting for a task on it,
 * else the direct thread: docs/direct.md "Who reads the socket"), puts a
 * scalar first return in the value cache (as the node's OBJ_VALUE does)
 * and wakes ray_gets waiting for it (api_direct_await_). Every result is
 * also a sealed object at the node (the worker sends it there first), so
 * refs can go anywhere.
 *
 * Faults: a lease whose socket closes (its worker died, or was killed with
 * its job, or its node died) has its unanswered tasks sent to the node as
 * TASK_SUBMITs with the same IDs: the first (the one that was running) with
 * max_retries lowered by one, the others unchanged (they never started).
 * A lease is returned (LEASE_RETURN) when it has had nothing unanswered for
 * DIRECT_IDLE_MS, or when the node revokes it (LEASE_REVOKE: other work
 * waits) once its tasks are answered.
 *
 * Locks: D.mu guards the shapes, leases, held and unanswered tasks, and
 * each lease's reader role (only its holder reads its socket and `in`). No
 * socket is written under D.mu (the direct thread's wake pipe may be): a lease's socket is written under its own
 * send_mu (its `senders` count keeps the fd open meanwhile), the node's
 * through api_client_send_ after D.mu is let go (the node's I/O thread
 * takes D.mu for LEASE_GRANT). Library code: allocation failures send the
 * task the normal way, never abort.
 */
#include "api/api_internal.h"

#include "common/direct_wire.h"
#include "common/ids.h"
#include "common/idmap.h"
#include "common/mem.h"
#include "common/netutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DIRECT_SHAPES_MAX 8
#define DIRECT_LEASES_MAX 16       /* leases at once, all shapes */
#define DIRECT_LEASES_PER_SHAPE 8
#define DIRECT_INFLIGHT_MAX 4096   /* unanswered tasks on one lease */
#define DIRECT_IDLE_MS 50          /* a lease with nothing unanswered this long goes back */
#define DIRECT_REFUSED_MS 20       /* after a refusal or a revoke, the shape goes the normal way */
#define DIRECT_ASK_MS 1000         /* a request unanswered this long counts as refused */
#define DIRECT_KEY_MAX 512
#define DIRECT_HELD_MAX 16384      /* tasks held for one shape's lease request */
#define DIRECT_REPORT_MS 500       /* unanswered this long: a PENDING/RUNNING record */
#define DIRECT_HOLD_MS 10          /* held this long for a lease's room: the node's way */
#define DIRECT_FULL_MS 100         /* a "no node has room" refusal counts this long */
#define DIRECT_STALL_MS 100        /* a held list that has not moved this long is stuck */
#define DIRECT_SPREAD_DEPTH 64     /* unanswered per lease while another node has room */
#define DIRECT_WAIT_MS 50          /* a shape without a lease asks again for this long ... */
#define DIRECT_AGAIN_MS 2          /* ... this often, while the node says "not now" */
#define DIRECT_READ_CHUNK (64u << 10)
#define DIRECT_CORK_MAX (16u << 10) /* corked bytes written at once */

struct dtask {
    uint8_t id[RAY_ID_SIZE];
    int retries;                   /* its max_retries */
    long long sent_us;             /* when it went to its lease (held: when submitted) */
    int fs;                        /* its function's run-time record (D.fns), or -1 */
    bool reported;                 /* told the node it is long unanswered (DIRECT_PENDING) */
    struct dlease *on;             /* the lease it was sent to; NULL while held */
    void *spec;                    /* the encoded spec (owned) */
    size_t len;
    STAILQ_ENTRY(dtask) link;
};
STAILQ_HEAD(dtask_list, dtask);

enum lease_state {
    L_FREE,       /* slot unused */
    L_ASKED,      /* LEASE_REQUEST sent */
    L_GRANTED,    /* the node said yes: the direct thread connects */
    L_REFUSED,    /* the node said no: the direct thread sends the held tasks to it */
    L_ACTIVE,     /* connected: takes tasks */
    L_DRAINING,   /* revoked: takes no more; returned once answered */
    L_DEAD,       /* its socket closed: unanswered tasks go to the node */
};

struct dlease {
    enum lease_state state;
    int shape;
    bool transient;                /* refused for now (no idle worker yet, CPUs taken) */
    uint8_t id[RAY_ID_SIZE];
    uint8_t worker[RAY_ID_SIZE];
    int fd;
    int senders;                   /* callers writing on fd now */
    pthread_mutex_t send_mu;       /* fd's writes and out */
    struct buf out;                /* DIRECT_TASK frames corked (written within a poll turn) */
    struct dtask_list sent;        /* unanswered, in the order sent */
    int nsent;
    long long since_ms, last_ms;
    long long answer_us;           /* when its last answer came */
    struct buf in;                 /* what the reader read and has not framed yet */
    /* Who reads fd (docs/direct.md "Who reads the socket"): only the thread
     * that holds the reader role, a caller waiting for an answer on it or
     * the direct thread. */
    bool reading;                  /* the reader role is taken */
    bool by_callers;               /* its answers are read by the callers waiting for
                                      them: the direct thread does not poll fd, it looks
                                      at it on its 1 ms turns */
    bool watched;                  /* fd is in the direct thread's poll now */
};

struct dshape {
    bool used;
    double cpu, mem;               /* what tells shapes apart */
    char res[256], renv[DIRECT_KEY_MAX];
    struct buf lease_spec_tail;    /* the resource pairs of its LEASE_REQUEST map */
    char fn[128];                  /* a function of the shape, to name its leases */
    struct dtask_list held;        /* waiting for its lease's answer */
    int nheld;
    long long hold_since;          /* when its held list last became non-empty (ms) */
    long long placed_ms;           /* when a held task last went to a lease (or hold_since) */
    long long full_until;          /* the node said no node has room for the shape (ms) */
    bool spread;                   /* its last grant said another node has room too */
    long backlog_told;             /* the held count last told the node (DIRECT_BACKLOG) */
    long long active_us;           /* when it last got an active lease while tasks were held */
    bool was_active;               /* (place_held's last look: it had one) */
    bool asking;
    long long refused_until;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;             /* broadcast when tasks are answered */
    pthread_cond_t room;           /* broadcast when held tasks leave their list */
    int nroomwait;                 /* callers waiting on room */
    pthread_once_t once;
    int enabled;                   /* 1 on, 0 off (RAY_DIRECT=0), read once */
    bool started, stop;
    bool ticking;                  /* the direct thread's poll ends within 1 ms */
    pthread_t th;
    int wake[2];
    struct dshape shapes[DIRECT_SHAPES_MAX];
    struct dlease leases[DIRECT_LEASES_MAX];
    struct idmap pending;          /* task id -> struct dtask, held or unanswered */
    unsigned long long count;      /* tasks sent directly */
    /* what happened, for RAY_DIRECT_DEBUG=1 (printed at ray_shutdown) */
    unsigned long long n_node, n_heldnode, n_granted, n_refused, n_revoked, n_dead, n_idle;
    unsigned long long n_waited;   /* a caller's waits for room in a held list */
} D = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .room = PTHREAD_COND_INITIALIZER,
    .once = PTHREAD_ONCE_INIT,
    .wake = { -1, -1 },
};

/* Recent run time per function (a shape's functions may run 5 µs or 1 s). */
#define DIRECT_FNS_MAX 64
struct fnstat {
    char name[64];
    long long avg_us;
    int nsamples;
};
static struct fnstat fns[DIRECT_FNS_MAX];
static int nfns;

/* Under D.mu: FN's record (made if new), or -1 when the table is full. */
static int fnstat_get(const char *fn)
{
    for (int i = 0; i < nfns; i++)
        if (strncmp(fns[i].name, fn, sizeof fns[i].name - 1) == 0)
            return i;
    if (nfns == DIRECT_FNS_MAX)
        return -1;
    snprintf(fns[nfns].name, sizeof fns[nfns].name, "%s", fn);
    fns[nfns].avg_us = 0;
    fns[nfns].nsamples = 0;
    return nfns++;
}

static long long now_ms(void)
{
    return net_now_ms();
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Unanswered tasks one lease of S may have: as the node's pipelining
 * (docs/runtime.md), by how long tasks of the function (record FS) ran
 * lately (as their workers measure it, in each DIRECT_RESULT): 1 until
 * one has answered, then
 * DIRECT_INFLIGHT_MAX below 1 ms, 4 below 8 ms, else 1 (a long task does
 * not hold others back from a free CPU). */
static int depth(int fs)
{
    if (fs < 0 || fns[fs].nsamples < 1)
        return 1;
    long long a = fns[fs].avg_us;
    return a < 1000 ? DIRECT_INFLIGHT_MAX : a < 8000 ? 4 : 1;
}

/* Under D.mu: whether tasks of function record FS are known to be short
 * (3 answers, under 1 ms on average): worth waiting for a lease's room. */
static bool fn_short(int fs)
{
    return fs >= 0 && fns[fs].nsamples >= 3 && fns[fs].avg_us < 1000;
}

/* Under D.mu: whether shape S's held tasks keep waiting for its leases
 * rather than going to the node: the node said no node of the cluster has
 * room for the shape (so the node's way would not run them sooner), or its
 * answer to a lease request is awaited, and the held list is moving (a task
 * left it for a lease within DIRECT_STALL_MS: on 2 CPUs shared by the
 * callers, the workers and the node, the direct thread's turns can be
 * 10-20 ms apart). */
static bool hold_more(const struct dshape *s, long long now)
{
    return (s->full_until > now || s->asking) && now - s->placed_ms < DIRECT_STALL_MS;
}

/* Under D.mu: depth() for a task of shape S: at most DIRECT_SPREAD_DEPTH
 * while another node has room for the shape, so that what its leases here
 * cannot start soon goes to the node, which spreads it over the cluster. */
static int shape_depth(const struct dshape *s, int fs)
{
    int d = depth(fs);
    return s->spread && d > DIRECT_SPREAD_DEPTH ? DIRECT_SPREAD_DEPTH : d;
}

static void init_once(void)
{
    const char *e = getenv("RAY_DIRECT");
    D.enabled = !(e && strcmp(e, "0") == 0);
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        pthread_mutex_init(&D.leases[i].send_mu, NULL);
        STAILQ_INIT(&D.leases[i].sent);
        D.leases[i].fd = -1;
    }
    for (int i = 0; i < DIRECT_SHAPES_MAX; i++)
        STAILQ_INIT(&D.shapes[i].held);
}

unsigned long long api_direct_count_(void)
{
    pthread_mutex_lock(&D.mu);
    unsigned long long n = D.count;
    pthread_mutex_unlock(&D.mu);
    return n;
}

/* Set by a wake, cleared by the direct thread at the top of each turn: the
 * wakes between two turns write one byte, not one each. */
static bool woken;

static void wake_thread(void)
{
    if (D.wake[1] >= 0 && !__atomic_exchange_n(&woken, true, __ATOMIC_ACQ_REL)) {
        char c = 1;
        ssize_t n = write(D.wake[1], &c, 1);
        (void)n; /* full: it is awake anyway */
    }
}

/* ---- qualifying --------------------------------------------------------------- */

static bool has_ref(const ray_value *v, size_t n, int depth)
{
    if (depth > RAY_MAX_DEPTH)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == RAY_REF)
            return true;
        if (v[i].type == RAY_LIST && has_ref(v[i].as.list.items, v[i].as.list.n, depth + 1))
            return true;
        if (v[i].type == RAY_MAP && (has_ref(v[i].as.map.keys, v[i].as.map.n, depth + 1) ||
                                     has_ref(v[i].as.map.vals, v[i].as.map.n, depth + 1)))
            return true;
    }
    return false;
}

/* S is O's shape. */
static bool shape_is(const struct dshape *s, const ray_opts *o)
{
    return s->used && s->cpu == o->num_cpus && s->mem == o->memory &&
           strcmp(s->res, o->resources ? o->resources : "") == 0 &&
           strcmp(s->renv, o->runtime_env ? o->runtime_env : "") == 0;
}

/* Under D.mu: O's shape (made if new), or -1 when the table is full or its
 * strings are too long to keep. */
static int shape_get(const ray_opts *o, const char *fn)
{
    int free_i = -1;
    for (int i = 0; i < DIRECT_SHAPES_MAX; i++) {
        if (shape_is(&D.shapes[i], o))
            return i;
        if (!D.shapes[i].used && free_i < 0)
            free_i = i;
    }
    const char *res = o->resources ? o->resources : "", *renv = o->runtime_env ? o->runtime_env : "";
    if (free_i < 0 || strlen(res) >= sizeof D.shapes[0].res ||
        strlen(renv) >= sizeof D.shapes[0].renv)
        return -1;
    struct dshape *s = &D.shapes[free_i];
    buf_reset(&s->lease_spec_tail);
    api_spec_resources_(&s->lease_spec_tail, o);
    if (buf_failed(&s->lease_spec_tail)) {
        buf_free(&s->lease_spec_tail);
        return -1;
    }
    s->used = true;
    s->cpu = o->num_cpus;
    s->mem = o->memory;
    snprintf(s->res, sizeof s->res, "%s", res);
    snprintf(s->renv, sizeof s->renv, "%s", renv);
    snprintf(s->fn, sizeof s->fn, "%s", fn);
    s->asking = false;
    s->refused_until = 0;
    s->nheld = 0;
    return free_i;
}

/* ---- the node's side: requests, returns, resubmissions -------------------------- */

/* LEASE_REQUEST for lease L of shape S, into F. Under D.mu. */
/* Shape S as a spec-like map under ID (LEASE_REQUEST's, DIRECT_BACKLOG's). */
static void pack_shape(struct buf *spec, const uint8_t *id, const struct dshape *s)
{
    const char *name = s->fn; /* as the node shows it running (`ray status -v`) */
    mpw_map(spec, 3 + API_SPEC_RESOURCE_PAIRS);
    api_spec_key_(spec, "id");
    mpw_bin(spec, id, RAY_ID_SIZE);
    api_spec_key_(spec, "fn");
    mpw_cstr(spec, s->fn);
    api_spec_key_(spec, "name");
    mpw_cstr(spec, name);
    buf_append(spec, s->lease_spec_tail.data, s->lease_spec_tail.len);
}

static int pack_request(struct buf *f, const struct dlease *l, const struct dshape *s)
{
    struct buf spec = BUF_INIT;
    pack_shape(&spec, l->id, s);
    int rc = buf_failed(&spec) ? -1 : proto_pack(f, PROTO_LEASE_REQUEST, spec.data, spec.len);
    buf_free(&spec);
    return rc;
}

/* Under D.mu: tell the node, for its demands (`ray status`, the
 * autoscaler), how many tasks each shape holds for its leases' room, once
 * they have been held DIRECT_REPORT_MS (a held list that empties within
 * that is no demand), and 0 again when they are gone. Frames into F. */
static void report_backlog(struct buf *f)
{
    static const uint8_t zero[RAY_ID_SIZE];
    long long now = now_ms();
    for (int i = 0; i < DIRECT_SHAPES_MAX; i++) {
        struct dshape *s = &D.shapes[i];
        long n = s->used && s->nheld > 0 && now - s->hold_since >= DIRECT_REPORT_MS ? s->nheld : 0;
        if (n == s->backlog_told)
            continue;
        struct buf spec = BUF_INIT;
        pack_shape(&spec, zero, s);
        if (!buf_failed(&spec) &&
            proto_pack(f, PROTO_DIRECT_BACKLOG, spec.data, spec.len, (uint64_t)n) == 0)
            s->backlog_told = n;
        buf_free(&spec);
    }
}

/* Append T's TASK_SUBMIT to F: its retries lowered by one when RAN (it was
 * running when its worker died). */
static void pack_resubmit(struct buf *f, const struct dtask *t, bool ran)
{
    if (!ran || t->retries < 0) {
        proto_pack(f, PROTO_TASK_SUBMIT, t->spec, t->len);
        return;
    }
    struct buf s = BUF_INIT;
    if (mpw_map_extend(&s, t->spec, t->len, 1) == 0) {
        api_spec_key_(&s, "retries"); /* the last of a repeated key counts */
        mpw_int(&s, t->retries - 1);
        proto_pack(f, PROTO_TASK_SUBMIT, s.data, s.len);
    } else {
        proto_pack(f, PROTO_TASK_SUBMIT, t->spec, t->len);
    }
    buf_free(&s);
}

static void dtask_free(struct dtask *t)
{
    if (t) {
        free(t->spec);
        free(t);
    }
}

/* Under D.mu: T is answered or handed to the node: forget it. */
static void forget(struct dtask *t)
{
    if (idmap_get(&D.pending, t->id) == t)
        idmap_del(&D.pending, t->id);
}

/* Send the node F (outside D.mu); a failure is said once on stderr. */
static void node_send(struct buf *f)
{
    if (f->len == 0)
        return;
    if (api_client_send_(f) != RAY_OK)
        fprintf(stderr, "ray: direct submission: cannot reach the node: %s\n", ray_last_error());
    buf_reset(f);
}

/* Under D.mu: move LIST's tasks to the node (their frames into F; the first
 * lowered by one retry when FIRST_RAN), forgetting them. */
static void to_node(struct dtask_list *list, struct buf *f, bool first_ran, struct dtask_list *done)
{
    bool first = true;
    struct dtask *t;
    while ((t = STAILQ_FIRST(list)) != NULL) {
        STAILQ_REMOVE_HEAD(list, link);
        pack_resubmit(f, t, first && first_ran);
        D.n_heldnode++;
        first = false;
        forget(t);
        STAILQ_INSERT_TAIL(done, t, link);
    }
}

/* ---- submitting ------------------------------------------------------------- */

static void thread_start_locked(void);
static bool lease_read(struct dlease *l);

/* Under D.mu: a free lease slot for shape SH, asked for (its LEASE_REQUEST
 * into F), or NULL. */
static struct dlease *ask(int sh, struct buf *f)
{
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if (l->state != L_FREE)
            continue;
        api_id_new_(l->id, 0);
        l->shape = sh;
        l->since_ms = l->last_ms = now_ms();
        l->nsent = 0;
        l->fd = -1;
        if (pack_request(f, l, &D.shapes[sh]) < 0)
            return NULL;
        l->state = L_ASKED;
        D.shapes[sh].asking = true;
        return l;
    }
    return NULL;
}

bool api_direct_eligible_(const ray_value *args, size_t nargs)
{
    pthread_once(&D.once, init_once);
    return D.enabled && api_client_role_() == PROTO_ROLE_DRIVER &&
           api_client_store_(NULL) != NULL && !has_ref(args, nargs, 1);
}

int api_direct_submit_(const struct buf *spec, const uint8_t *id, const char *fn,
                       const ray_opts *o, const ray_value *args, size_t nargs)
{
    if (o->num_returns != 1 || o->max_retries == 0 || o->retry_on_error || o->num_gpus > 0 ||
        !ids_is_zero(o->pg.id) || !api_direct_eligible_(args, nargs))
        return 1;
    struct dtask *t = mem_malloc(sizeof *t);
    void *copy = mem_malloc(spec->len);
    if (t == NULL || copy == NULL) {
        free(t);
        free(copy);
        return 1;
    }
    memcpy(t->id, id, RAY_ID_SIZE);
    t->retries = o->max_retries;
    memcpy(copy, spec->data, spec->len);
    t->spec = copy;
    t->len = spec->len;

    struct buf ask_f = BUF_INIT;
    pthread_mutex_lock(&D.mu);
    thread_start_locked();
    int sh = D.started ? shape_get(o, fn) : -1;
    if (sh < 0 || idmap_try_put(&D.pending, id, t, NULL) < 0) {
        pthread_mutex_unlock(&D.mu);
        dtask_free(t);
        return 1;
    }
    struct dshape *s = &D.shapes[sh];
    t->fs = fnstat_get(fn);
    long long now;
    struct dlease *best;
    int nleases, nactive, dep;
again:
    now = now_ms();
    best = NULL;
    nleases = nactive = 0;
    dep = shape_depth(s, t->fs);
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if (l->state == L_FREE || l->shape != sh)
            continue;
        nleases++;
        nactive += l->state == L_ACTIVE;
        if (l->state == L_ACTIVE && l->nsent < dep && (best == NULL || l->nsent < best->nsent))
            best = l;
    }
    /* tasks held for room go first: a new one queues behind them */
    if (s->nheld > 0)
        best = NULL;
    t->sent_us = now_us();
    t->reported = false;
    t->on = NULL;
    if ((best == NULL || best->nsent * 2 + 2 > dep) && strcmp(s->fn, fn) != 0)
        snprintf(s->fn, sizeof s->fn, "%s", fn); /* a lease asked for now is named after it */
    if (best) {
        bool now_write = best->nsent == 0; /* a lone task (a sync caller) goes at once */
        STAILQ_INSERT_TAIL(&best->sent, t, link);
        t->on = best;
        best->nsent++;
        best->last_ms = now;
        best->senders++;
        D.count++;
        /* the least busy lease is half full: one more may be had */
        if (best->nsent * 2 > dep && nleases < DIRECT_LEASES_PER_SHAPE && !s->asking &&
            now >= s->refused_until)
            ask(sh, &ask_f);
        int fd = best->fd;
        pthread_mutex_unlock(&D.mu);
        /* corked: the direct thread writes within a poll turn; a get writes first */
        bool failed = false;
        pthread_mutex_lock(&best->send_mu);
        if (proto_pack(&best->out, PROTO_DIRECT_TASK, t->spec, t->len, "", (size_t)0) < 0 ||
            buf_failed(&best->out)) {
            buf_free(&best->out);
            shutdown(fd, SHUT_RDWR); /* (out of memory: seen closed, resubmitted) */
            failed = true;
        } else if (now_write || best->out.len >= DIRECT_CORK_MAX) {
            if (net_write_all(fd, best->out.data, best->out.len) < 0) {
                shutdown(fd, SHUT_RDWR); /* the direct thread sees it closed and resubmits */
                failed = true;
            }
            buf_reset(&best->out);
        }
        pthread_mutex_unlock(&best->send_mu);
        pthread_mutex_lock(&D.mu);
        /* the direct thread is woken to write what is corked, or when it
         * would not look at this lease soon (its answer may not be waited for) */
        if (--best->senders == 0 && (failed || (!D.ticking && (!now_write || !best->watched))))
            wake_thread(); /* (a ticking thread writes the cork within 1 ms anyway) */
        pthread_mutex_unlock(&D.mu);
        node_send(&ask_f);
        buf_free(&ask_f);
        return RAY_OK;
    }
    /* every lease is full: wait for room a little (held; the direct thread
     * places it: place_held) while one is asked for or one is active */
    bool can_ask = !s->asking && nleases < DIRECT_LEASES_PER_SHAPE && now >= s->refused_until;
    if (can_ask)
        can_ask = ask(sh, &ask_f) != NULL;
    bool waiting = s->nheld > 0 && now - s->hold_since < DIRECT_WAIT_MS;
    bool first_lease = nactive == 0 && (s->asking || waiting); /* the shape's first, sought */
    if (s->nheld >= DIRECT_HELD_MAX && !D.stop &&
        ((nactive > 0 && fn_short(t->fs) && hold_more(s, now)) || first_lease)) {
        /* no node has room for the shape and its leases keep answering, or
         * its first lease is being asked for (for DIRECT_WAIT_MS at most):
         * the caller waits for room (back-pressure) instead of handing the
         * node tasks it could not run sooner (docs/direct.md "Back-pressure") */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 2 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        D.nroomwait++;
        pthread_mutex_unlock(&D.mu);
        node_send(&ask_f); /* (a lease asked for above) */
        buf_reset(&ask_f);
        pthread_mutex_lock(&D.mu);
        if (s->nheld >= DIRECT_HELD_MAX && !D.stop)
            pthread_cond_timedwait(&D.room, &D.mu, &until);
        D.nroomwait--;
        D.n_waited++;
        goto again;
    }
    if (s->nheld >= DIRECT_HELD_MAX || (!s->asking && !can_ask && nactive == 0 && !waiting)) {
        D.n_node++;
        forget(t); /* every lease is full and no other can be had now: the node's way */
        pthread_mutex_unlock(&D.mu);
        dtask_free(t);
        buf_free(&ask_f);
        return 1;
    }
    if (s->nheld == 0) {
        s->hold_since = s->placed_ms = now;
        s->was_active = nactive > 0;
        s->active_us = nactive > 0 ? now_us() : 0;
    }
    STAILQ_INSERT_TAIL(&s->held, t, link); /* until its lease is answered */
    s->nheld++;
    D.count++;
    bool wake = nactive > 0 && !D.ticking; /* the thread places held tasks in its turns */
    pthread_mutex_unlock(&D.mu);
    if (wake)
        wake_thread();
    node_send(&ask_f);
    buf_free(&ask_f);
    return RAY_OK;
}

/* ---- waiting for an answer ------------------------------------------------------ */

/* Write every lease's corked tasks (the direct thread, or a caller about to wait). */
static void flush_corked(void)
{
    struct dlease *ls[DIRECT_LEASES_MAX];
    int n = 0;
    pthread_mutex_lock(&D.mu);
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if ((l->state == L_ACTIVE || l->state == L_DRAINING) && l->fd >= 0 && l->nsent > 0) {
            l->senders++;
            ls[n++] = l;
        }
    }
    pthread_mutex_unlock(&D.mu);
    for (int i = 0; i < n; i++) {
        struct dlease *l = ls[i];
        pthread_mutex_lock(&l->send_mu);
        if (l->out.len > 0 && net_write_all(l->fd, l->out.data, l->out.len) < 0)
            shutdown(l->fd, SHUT_RDWR);
        buf_reset(&l->out);
        pthread_mutex_unlock(&l->send_mu);
    }
    if (n == 0)
        return;
    pthread_mutex_lock(&D.mu);
    for (int i = 0; i < n; i++)
        ls[i]->senders--;
    pthread_mutex_unlock(&D.mu);
}

/* Under D.mu: whether lease L's socket may be read now (open, not being read). */
static bool reader_free(const struct dlease *l)
{
    return (l->state == L_ACTIVE || l->state == L_DRAINING) && l->fd >= 0 && !l->reading;
}

/* Under D.mu: give lease L's reader role back (OK: its socket is still good,
 * else L is dead). Waiting callers are woken (one of them may read L now),
 * and so is the direct thread when it must see L dead, or when L still has
 * tasks unanswered and the thread would not look at it within 1 ms. */
static void reader_give(struct dlease *l, bool ok)
{
    l->reading = false;
    if (!ok)
        l->state = L_DEAD;
    pthread_cond_broadcast(&D.cv);
    if (!D.stop && (!ok || (l->nsent > 0 && !l->watched && !D.ticking)))
        wake_thread();
}

/* Under D.mu, holding lease L's reader role: wait up to WAIT_MS (< 0:
 * forever) for L's socket, read it and handle every answer it holds
 * (lease_read), D.mu let go meanwhile. Returns 1 when something was read,
 * 0 when nothing came in time, -1 when L's socket closed or went bad. */
static int reader_turn(struct dlease *l, int wait_ms)
{
    struct pollfd p = { .fd = l->fd, .events = POLLIN };
    pthread_mutex_unlock(&D.mu);
    int pr = poll(&p, 1, wait_ms);
    int rc = pr > 0 ? (lease_read(l) ? 1 : -1) : 0;
    pthread_mutex_lock(&D.mu);
    return rc;
}

void api_direct_await_(const uint8_t *id, int64_t timeout_ms)
{
    uint32_t index = ids_index(id);
    if (index == 0 || (index & IDS_PUT_INDEX))
        return;
    uint8_t tid[RAY_ID_SIZE];
    ids_with_index(tid, id, 0);
    api_direct_actor_await_(tid, timeout_ms); /* an actor call sent directly (direct_actor.c) */
    if (!D.started)
        return;
    struct timespec until;
    long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    if (timeout_ms >= 0)
        api_deadline_(&until, timeout_ms);
    pthread_mutex_lock(&D.mu);
    bool pending = idmap_get(&D.pending, tid) != NULL;
    pthread_mutex_unlock(&D.mu);
    if (!pending)
        return;
    flush_corked(); /* it may be corked still */
    pthread_mutex_lock(&D.mu);
    struct dtask *t;
    while (!D.stop && (t = idmap_get(&D.pending, tid)) != NULL) {
        struct dlease *l = t->on;
        if (l && reader_free(l)) {
            /* nobody reads the socket the answer comes on: this thread does
             * (no hand-off from the direct thread), for every task on it */
            long long left = timeout_ms < 0 ? -1 : deadline - now_ms();
            if (timeout_ms >= 0 && left <= 0)
                break;
            l->reading = true;
            int rc = reader_turn(l, left > INT_MAX ? INT_MAX : (int)left);
            if (rc > 0 && idmap_get(&D.pending, tid) == NULL)
                l->by_callers = true; /* its callers read their own answers */
            reader_give(l, rc >= 0);
            continue;
        }
        if (timeout_ms < 0)
            pthread_cond_wait(&D.cv, &D.mu);
        else if (pthread_cond_timedwait(&D.cv, &D.mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&D.mu);
}

/* ---- the node's messages (its I/O thread) --------------------------------------- */

void api_direct_node_msg_(const struct proto_msg *m)
{
    const uint8_t *id = (const uint8_t *)m->f[0].as.s.ptr;
    pthread_mutex_lock(&D.mu);
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if (l->state == L_FREE || memcmp(l->id, id, RAY_ID_SIZE) != 0)
            continue;
        if (m->type == PROTO_LEASE_GRANT && l->state == L_ASKED) {
            if (m->f[1].as.i == RAY_OK) {
                memcpy(l->worker, m->f[2].as.s.ptr, RAY_ID_SIZE);
                l->state = L_GRANTED;
                D.shapes[l->shape].full_until = 0;
                D.shapes[l->shape].spread = m->f[3].as.s.len == 6 &&
                                            memcmp(m->f[3].as.s.ptr, "spread", 6) == 0;
                D.n_granted++;
            } else {
                l->state = L_REFUSED;
                l->transient = m->f[1].as.i == 1 || m->f[1].as.i == 2;
                if (m->f[1].as.i == 2) { /* taken here, and no other node has room */
                    D.shapes[l->shape].full_until = now_ms() + DIRECT_FULL_MS;
                    D.shapes[l->shape].spread = false;
                }
                D.n_refused++;
                const char *dbg = getenv("RAY_DIRECT_DEBUG");
                if (dbg && strcmp(dbg, "1") == 0)
                    fprintf(stderr, "ray direct: lease refused: %.*s\n", (int)m->f[3].as.s.len,
                            m->f[3].as.s.ptr);
            }
        } else if (m->type == PROTO_LEASE_REVOKE && l->state == L_ACTIVE) {
            l->state = L_DRAINING;
            D.n_revoked++;
            D.shapes[l->shape].refused_until = now_ms() + DIRECT_REFUSED_MS;
        }
        break;
    }
    pthread_mutex_unlock(&D.mu);
    wake_thread();
}

/* ---- the direct thread ---------------------------------------------------------- */

int api_direct_connect_(const uint8_t *worker)
{
    char hex[2 * RAY_ID_SIZE + 1];
    ids_hex(worker, RAY_ID_SIZE, hex);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "rayd-direct-%s", hex);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (connect(fd, (struct sockaddr *)&sa, sl) < 0) {
        close(fd);
        return -1;
    }
    char token[512];
    api_client_token_(token, sizeof token);
    struct buf f = BUF_INIT;
    int rc = proto_pack(&f, PROTO_DIRECT_HELLO, (uint64_t)PROTO_VERSION, token);
    if (rc == 0)
        rc = net_write_all(fd, f.data, f.len);
    buf_free(&f);
    if (rc < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read what lease L's socket holds; handle its answers. Returns false
 * at EOF or on a bad frame (L is dead). */
int api_direct_fill_(int fd, struct buf *in, size_t chunk)
{
    char *dst = buf_reserve(in, chunk);
    if (dst == NULL)
        return -1;
    ssize_t n = read(fd, dst, chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    in->len += (size_t)n;
    return 1;
}

void api_direct_result_push_(const struct proto_msg *m)
{
    if (m->f[1].as.i != RAY_OK || m->f[3].as.u > RAY_ACTOR)
        return;
    uint8_t rid[RAY_ID_SIZE];
    ids_with_index(rid, (const uint8_t *)m->f[0].as.s.ptr, 1);
    api_scalar_push_(rid, (uint32_t)m->f[3].as.u, m->f[4].as.s.ptr, m->f[4].as.s.len);
}

static bool lease_read(struct dlease *l)
{
    int got = api_direct_fill_(l->fd, &l->in, DIRECT_READ_CHUNK);
    if (got <= 0)
        return got == 0;
    size_t pos = 0;
    bool ok = true;
    struct dtask_list done = STAILQ_HEAD_INITIALIZER(done);
    pthread_mutex_lock(&D.mu);
    for (;;) {
        char err[160];
        struct proto_msg m;
        int st = proto_frame_next(l->in.data, l->in.len, &pos, &m, err, sizeof err);
        if (st == PROTO_NEED_MORE)
            break;
        if (st == PROTO_BAD) {
            ok = false;
            break;
        }
        if (m.type != PROTO_DIRECT_RESULT)
            continue;
        const uint8_t *tid = (const uint8_t *)m.f[0].as.s.ptr;
        struct dtask *t = STAILQ_FIRST(&l->sent), *prev = NULL;
        while (t && memcmp(t->id, tid, RAY_ID_SIZE) != 0) {
            prev = t;
            t = STAILQ_NEXT(t, link);
        }
        if (t == NULL)
            continue;
        if (prev)
            STAILQ_REMOVE(&l->sent, t, dtask, link);
        else
            STAILQ_REMOVE_HEAD(&l->sent, link);
        l->nsent--;
        long long us = now_us(), from = t->sent_us > l->answer_us ? t->sent_us : l->answer_us;
        long long ran = us - from;
        if (m.f[1].as.i == RAY_OK && m.f[2].as.s.len > 0 && m.f[2].as.s.len < 20) {
            char num[24]; /* the worker's own measure of its run time */
            memcpy(num, m.f[2].as.s.ptr, m.f[2].as.s.len);
            num[m.f[2].as.s.len] = '\0';
            ran = strtoll(num, NULL, 10);
        }
        /* falls fast, rises slowly: a cold first run does not hold the depth down */
        if (t->fs >= 0) {
            struct fnstat *fsr = &fns[t->fs];
            fsr->avg_us = fsr->nsamples++ == 0 ? ran
                         : ran < fsr->avg_us  ? (fsr->avg_us + 3 * ran) / 4
                                             : (7 * fsr->avg_us + ran) / 8;
        }
        l->answer_us = us;
        api_direct_result_push_(&m);
        forget(t);
        STAILQ_INSERT_TAIL(&done, t, link);
    }
    l->last_ms = now_ms();
    pthread_cond_broadcast(&D.cv);
    pthread_mutex_unlock(&D.mu);
    buf_consume(&l->in, pos);
    struct dtask *t;
    while ((t = STAILQ_FIRST(&done)) != NULL) {
        STAILQ_REMOVE_HEAD(&done, link);
        dtask_free(t);
    }
    return ok;
}

/* Under D.mu: lease L is over: close it (once nobody writes on it) and
 * free its slot; its LEASE_RETURN into F. */
static void lease_close(struct dlease *l, struct buf *f)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    buf_free(&l->in);
    buf_free(&l->out);
    proto_pack(f, PROTO_LEASE_RETURN, l->id);
    l->state = L_FREE;
    l->by_callers = l->watched = false;
}

/* Under D.mu: move S's held tasks to lease L while it has room, their
 * DIRECT_TASK frames into OUT (L's corked buffer, or the caller's), sent at US. */
static void move_held(struct dshape *s, struct dlease *l, struct buf *out, long long us)
{
    struct dtask *t;
    int moved = 0;
    while ((t = STAILQ_FIRST(&s->held)) != NULL && l->nsent < shape_depth(s, t->fs)) {
        STAILQ_REMOVE_HEAD(&s->held, link);
        s->nheld--;
        STAILQ_INSERT_TAIL(&l->sent, t, link);
        l->nsent++;
        t->sent_us = us;
        t->on = l;
        proto_pack(out, PROTO_DIRECT_TASK, t->spec, t->len, "", (size_t)0);
        moved++;
    }
    if (moved) {
        s->placed_ms = us / 1000;
        if (D.nroomwait > 0)
            pthread_cond_broadcast(&D.room);
    }
}

/* Under D.mu: shape SH's held tasks go to its active leases with room (by
 * what its tasks have shown of their run time meanwhile), corked; those
 * held DIRECT_HOLD_MS already once a run time is known (3 answers; before,
 * DIRECT_WAIT_MS), or all when it has no active lease, go to the
 * node (frames into F, tasks to DONE); the others wait for room. */
static void place_held(int sh, struct buf *f, struct dtask_list *done)
{
    struct dshape *s = &D.shapes[sh];
    long long us = now_us();
    bool active = false;
    for (int i = 0; i < DIRECT_LEASES_MAX; i++)
        active = active || (D.leases[i].state == L_ACTIVE && D.leases[i].shape == sh);
    if (active && !s->was_active)
        s->active_us = us; /* a task of unknown run time waits from here, not from its call */
    s->was_active = active;
    for (int i = 0; i < DIRECT_LEASES_MAX && !STAILQ_EMPTY(&s->held); i++) {
        struct dlease *l = &D.leases[i];
        if (l->state != L_ACTIVE || l->shape != sh ||
            l->nsent >= shape_depth(s, STAILQ_FIRST(&s->held)->fs))
            continue;
        pthread_mutex_lock(&l->send_mu); /* (D.mu, then a send_mu: never the other way) */
        move_held(s, l, &l->out, us);
        if (buf_failed(&l->out)) {
            buf_free(&l->out);
            shutdown(l->fd, SHUT_RDWR); /* seen closed: its tasks go to the node */
        }
        pthread_mutex_unlock(&l->send_mu);
    }
    struct dtask_list old = STAILQ_HEAD_INITIALIZER(old);
    struct dtask *t;
    /* a held task whose function's run time is not known yet waits at most
     * DIRECT_WAIT_MS, from its call or from when the shape got an active
     * lease, whichever is later: long tasks must reach the node, which spreads them
     * over the cluster's free CPUs and shows them as demand to the
     * autoscaler, instead of queueing behind one leased worker */
    /* ... and a short one waits on while no node has room and the list moves */
    bool more = hold_more(s, us / 1000);
    while ((t = STAILQ_FIRST(&s->held)) != NULL &&
           (!active ||
            (!(more && fn_short(t->fs)) &&
             (t->fs >= 0 && fns[t->fs].nsamples >= 3
                  ? us - t->sent_us >= DIRECT_HOLD_MS * 1000LL
                  : us - (t->sent_us > s->active_us ? t->sent_us : s->active_us) >=
                        DIRECT_WAIT_MS * 1000LL)))) {
        STAILQ_REMOVE_HEAD(&s->held, link);
        s->nheld--;
        STAILQ_INSERT_TAIL(&old, t, link);
    }
    if (!STAILQ_EMPTY(&old) && D.nroomwait > 0)
        pthread_cond_broadcast(&D.room);
    to_node(&old, f, false, done);
}

/* Under D.mu: move the lease states along. Frames for the node go to F,
 * tasks handed to it to DONE; leases to connect to CONNECT. */
static void step(struct buf *f, struct dtask_list *done, struct dlease **connect, int *nconnect)
{
    long long now = now_ms();
    for (int i = 0; i < DIRECT_SHAPES_MAX; i++) {
        struct dshape *s = &D.shapes[i];
        if (!s->used || s->nheld == 0)
            continue;
        int nactive = 0;
        for (int k = 0; k < DIRECT_LEASES_MAX; k++)
            nactive += D.leases[k].state == L_ACTIVE && D.leases[k].shape == i;
        if (s->asking && nactive == 0)
            continue; /* held for the lease asked for (a shape with one places them meanwhile) */
        if (nactive == 0 && now - s->hold_since < DIRECT_WAIT_MS) {
            if (now >= s->refused_until)
                ask(i, f); /* the node said "not now": again */
            continue;
        }
        place_held(i, f, done);
    }
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        struct dshape *s = &D.shapes[l->shape];
        switch (l->state) {
        case L_ASKED:
            if (now - l->since_ms < DIRECT_ASK_MS)
                break;
            /* no answer (the node went away?): as refused; a late grant finds no slot */
            lease_close(l, f);
            s->asking = false;
            s->refused_until = now + DIRECT_REFUSED_MS;
            place_held(l->shape, f, done);
            break;
        case L_REFUSED:
            l->state = L_FREE;
            s->asking = false;
            if (l->transient && s->nheld > 0 && now - s->hold_since < DIRECT_WAIT_MS) {
                s->refused_until = now + DIRECT_AGAIN_MS; /* held; asked again below */
                break;
            }
            s->refused_until = now + DIRECT_REFUSED_MS;
            place_held(l->shape, f, done);
            break;
        case L_GRANTED:
            connect[(*nconnect)++] = l;
            break;
        case L_ACTIVE:
            if (l->nsent == 0 && l->senders == 0 && !l->reading &&
                now - l->last_ms >= DIRECT_IDLE_MS) {
                D.n_idle++;
                lease_close(l, f);
            }
            break;
        case L_DRAINING:
            if (l->nsent == 0 && l->senders == 0 && !l->reading)
                lease_close(l, f);
            break;
        case L_DEAD:
            if (l->senders > 0 || l->reading)
                break; /* a caller still writes on it (into a closed socket), or reads it */
            D.n_dead++;
            to_node(&l->sent, f, true, done);
            l->nsent = 0;
            lease_close(l, f);
            break;
        default:
            break;
        }
    }
}

/* The "name" of spec P (LEN bytes) into OUT ("?" if none). */
static void spec_name(const void *p, size_t len, char *out, size_t outlen)
{
    struct mpr r;
    uint32_t n;
    snprintf(out, outlen, "?");
    mpr_init(&r, p, len);
    if (mpr_map(&r, &n) < 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        if (mpr_str(&r, &k, &kl) < 0)
            return;
        if (kl == 4 && memcmp(k, "name", 4) == 0) {
            if (mpr_str(&r, &v, &vl) == 0)
                snprintf(out, outlen, "%.*s", (int)vl, v);
            return;
        }
        if (mpr_skip(&r) < 0)
            return;
    }
}

/* Under D.mu: DIRECT_PENDING for the tasks unanswered DIRECT_REPORT_MS and
 * not reported yet (the first of a lease runs; the others wait), into F. */
static void report_pending(struct buf *f)
{
    long long us = now_us();
    struct buf v = BUF_INIT;
    uint32_t n = 0;
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if (l->state != L_ACTIVE && l->state != L_DRAINING)
            continue;
        bool first = true;
        struct dtask *t;
        STAILQ_FOREACH(t, &l->sent, link) {
            if (!t->reported && us - t->sent_us >= DIRECT_REPORT_MS * 1000LL && n < 1024) {
                char name[128];
                spec_name(t->spec, t->len, name, sizeof name);
                char lh[2 * RAY_ID_SIZE + 1] = "";
                if (first) /* the node names the lease after the task it runs */
                    ids_hex(l->id, RAY_ID_SIZE, lh);
                direct_entry_pack(&v, t->id, name, first ? 1 : 2, lh, 1);
                t->reported = true;
                n++;
            }
            first = false;
        }
    }
    for (int i = 0; i < DIRECT_SHAPES_MAX; i++) {
        struct dtask *t;
        STAILQ_FOREACH(t, &D.shapes[i].held, link)
            if (!t->reported && us - t->sent_us >= DIRECT_REPORT_MS * 1000LL && n < 1024) {
                char name[128];
                spec_name(t->spec, t->len, name, sizeof name);
                direct_entry_pack(&v, t->id, name, 2, "", 1);
                t->reported = true;
                n++;
            }
    }
    if (n > 0) {
        struct buf a = BUF_INIT;
        mpw_array(&a, n);
        buf_append(&a, v.data, v.len);
        if (!buf_failed(&a))
            proto_pack(f, PROTO_DIRECT_PENDING, a.data, a.len);
        buf_free(&a);
    }
    buf_free(&v);
}

/* Connect granted lease L (outside D.mu) and send it its shape's held tasks. */
static void lease_connect(struct dlease *l, struct buf *f, struct dtask_list *done)
{
    int fd = api_direct_connect_(l->worker);
    pthread_mutex_lock(&D.mu);
    struct dshape *s = &D.shapes[l->shape];
    s->asking = false;
    if (fd < 0) {
        /* no worker there after all: give the lease back, tasks to the node */
        lease_close(l, f);
        s->refused_until = now_ms() + DIRECT_REFUSED_MS;
        place_held(l->shape, f, done);
        pthread_mutex_unlock(&D.mu);
        return;
    }
    l->fd = fd;
    l->state = L_ACTIVE;
    l->last_ms = now_ms();
    l->answer_us = 0;
    struct buf out = BUF_INIT;
    move_held(s, l, &out, now_us());
    if (!STAILQ_EMPTY(&s->held)) {
        /* more than this lease should take: ask for another, or the node's way */
        int nleases = 0;
        for (int i = 0; i < DIRECT_LEASES_MAX; i++)
            nleases += D.leases[i].state != L_FREE && D.leases[i].shape == l->shape;
        if (nleases >= DIRECT_LEASES_PER_SHAPE || ask(l->shape, f) == NULL)
            place_held(l->shape, f, done);
    }
    l->senders++;
    pthread_mutex_unlock(&D.mu);
    pthread_mutex_lock(&l->send_mu);
    if (buf_failed(&out) || net_write_all(fd, out.data, out.len) < 0)
        shutdown(fd, SHUT_RDWR); /* seen as closed: resubmitted */
    pthread_mutex_unlock(&l->send_mu);
    buf_free(&out);
    pthread_mutex_lock(&D.mu);
    l->senders--;
    pthread_mutex_unlock(&D.mu);
}

/* Under D.mu, on the direct thread: read what lease L (its reader role
 * free) holds, without waiting. What it read nobody was waiting to read:
 * L's answers are the direct thread's to read again. */
static void thread_read(struct dlease *l)
{
    l->reading = true;
    int rc = reader_turn(l, 0);
    if (rc > 0)
        l->by_callers = false;
    reader_give(l, rc >= 0);
}

/* Under D.mu, on the direct thread's every turn: the leases its callers
 * read (not polled) that have answers due and no reader now: read what
 * they hold, so an answer nobody waits for is still handled within 1 ms. */
static void look_at_callers_leases(void)
{
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if (l->by_callers && l->nsent > 0 && reader_free(l))
            thread_read(l);
    }
}

static void *direct_main(void *arg)
{
    (void)arg;
    struct pollfd pfd[DIRECT_LEASES_MAX + 1];
    struct dlease *who[DIRECT_LEASES_MAX + 1];
    struct buf f = BUF_INIT;
    for (;;) {
        struct dtask_list done = STAILQ_HEAD_INITIALIZER(done);
        struct dlease *connect[DIRECT_LEASES_MAX];
        int nconnect = 0, npfd = 1, busy = 0, inflight = 0;
        __atomic_store_n(&woken, false, __ATOMIC_SEQ_CST); /* a wake from now on writes again */
        pthread_mutex_lock(&D.mu);
        if (D.stop) {
            pthread_mutex_unlock(&D.mu);
            break;
        }
        step(&f, &done, connect, &nconnect);
        static long long last_report;
        if (now_ms() - last_report >= DIRECT_REPORT_MS / 2) {
            last_report = now_ms();
            report_pending(&f);
            report_backlog(&f);
        }
        pfd[0] = (struct pollfd){ .fd = D.wake[0], .events = POLLIN };
        long long now = now_ms();
        for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
            struct dlease *l = &D.leases[i];
            if (l->state != L_FREE)
                busy++;
            inflight += l->nsent > 0;
            /* a lease its callers read: looked at every turn while in use */
            inflight += l->by_callers && l->state == L_ACTIVE && now - l->last_ms < DIRECT_IDLE_MS;
            l->watched = reader_free(l) && !l->by_callers;
            if (l->watched) {
                pfd[npfd] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
                who[npfd++] = l;
            }
        }
        for (int i = 0; i < DIRECT_SHAPES_MAX; i++)
            inflight += D.shapes[i].nheld > 0; /* held tasks: step again soon */
        int timeout = inflight ? 1 : busy ? DIRECT_IDLE_MS : -1;
        D.ticking = timeout == 1;
        if (!STAILQ_EMPTY(&done))
            pthread_cond_broadcast(&D.cv); /* their gets go to the node now */
        pthread_mutex_unlock(&D.mu);
        for (int i = 0; i < nconnect; i++)
            lease_connect(connect[i], &f, &done);
        node_send(&f);
        struct dtask *t;
        while ((t = STAILQ_FIRST(&done)) != NULL) {
            STAILQ_REMOVE_HEAD(&done, link);
            dtask_free(t);
        }
        if (nconnect > 0)
            continue; /* the new leases join the poll */
        flush_corked();
        int pr = poll(pfd, (nfds_t)npfd, timeout);
        if (pr > 0 && pfd[0].revents) {
            char drain[64];
            while (read(D.wake[0], drain, sizeof drain) > 0)
                ;
        }
        pthread_mutex_lock(&D.mu);
        for (int i = 1; pr > 0 && i < npfd; i++)
            if (pfd[i].revents && reader_free(who[i]))
                thread_read(who[i]); /* (a caller may have read it meanwhile) */
        look_at_callers_leases();
        pthread_mutex_unlock(&D.mu);
    }
    buf_free(&f);
    return NULL;
}

/* Under D.mu: start the direct thread once. */
static void thread_start_locked(void)
{
    if (D.started || D.stop)
        return;
    if (pipe2(D.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        D.wake[0] = D.wake[1] = -1;
        D.enabled = 0;
        return;
    }
    if (pthread_create(&D.th, NULL, direct_main, NULL) != 0) {
        close(D.wake[0]);
        close(D.wake[1]);
        D.wake[0] = D.wake[1] = -1;
        D.enabled = 0;
        return;
    }
    D.started = true;
}

void api_direct_shutdown_(void)
{
    api_direct_actor_shutdown_(); /* direct actor calls' sockets (direct_actor.c) */
    pthread_once(&D.once, init_once);
    pthread_mutex_lock(&D.mu);
    if (!D.started) {
        pthread_mutex_unlock(&D.mu);
        return;
    }
    D.stop = true;
    pthread_cond_broadcast(&D.room);
    const char *dbg = getenv("RAY_DIRECT_DEBUG");
    if (dbg && strcmp(dbg, "1") == 0)
        fprintf(stderr,
                "ray direct: %llu sent directly, %llu went to the node at once, %llu later; "
                "leases: %llu granted, %llu refused, %llu revoked, %llu lost, %llu returned idle; "
                "%llu waits for room\n",
                D.count, D.n_node, D.n_heldnode, D.n_granted, D.n_refused, D.n_revoked, D.n_dead,
                D.n_idle, D.n_waited);
    pthread_cond_broadcast(&D.cv);
    pthread_mutex_unlock(&D.mu);
    wake_thread();
    pthread_join(D.th, NULL);
    struct buf f = BUF_INIT;
    struct dtask_list done = STAILQ_HEAD_INITIALIZER(done);
    pthread_mutex_lock(&D.mu);
    for (;;) { /* callers reading a lease stop (their socket shut down) before it closes */
        bool readers = false;
        for (int i = 0; i < DIRECT_LEASES_MAX; i++)
            if (D.leases[i].reading) {
                readers = true;
                shutdown(D.leases[i].fd, SHUT_RDWR);
            }
        if (!readers)
            break;
        pthread_cond_wait(&D.cv, &D.mu);
    }
    for (int i = 0; i < DIRECT_LEASES_MAX; i++) {
        struct dlease *l = &D.leases[i];
        if (l->state == L_FREE)
            continue;
        STAILQ_CONCAT(&done, &l->sent);
        l->nsent = 0;
        lease_close(l, &f);
    }
    for (int i = 0; i < DIRECT_SHAPES_MAX; i++) {
        STAILQ_CONCAT(&done, &D.shapes[i].held);
        D.shapes[i].nheld = 0;
        buf_free(&D.shapes[i].lease_spec_tail);
        D.shapes[i].used = false;
        D.shapes[i].asking = false;
    }
    idmap_free(&D.pending);
    close(D.wake[0]);
    close(D.wake[1]);
    D.wake[0] = D.wake[1] = -1;
    D.started = false;
    D.stop = false;
    pthread_mutex_unlock(&D.mu);
    node_send(&f); /* the node also ends them when this connection closes */
    buf_free(&f);
    struct dtask *t;
    while ((t = STAILQ_FIRST(&done)) != NULL) {
        STAILQ_REMOVE_HEAD(&done, link);
        dtask_free(t);
    }
}
