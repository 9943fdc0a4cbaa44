/*
 * worker.c — `rayd --worker`: load the job library, connect to the node and
 * run the TASK_EXECUTE messages it sends (docs/runtime.md "Tasks", "Actors").
 *
 * DESIGN
 * The client's I/O thread queues every TASK_EXECUTE body in arrival order;
 * the main thread takes them one at a time. Normal tasks, actor
 * construction and the calls of an actor with max_concurrency 1 run on the
 * main thread, so they run strictly in order. An actor with
 * max_concurrency N > 1 gets N pool threads once constructed; the main
 * thread then forwards its calls to the pool's queue (the node never sends
 * more than N at once). REF arguments arrive resolved to [vtype, offset,
 * size] in the store (the node pins them for the task's duration), so
 * functions see the object's value, zero-copy for STR and BYTES.
 *
 * Nested tasks: when every task of this worker waits in ray_get/ray_wait,
 * the node may send one more (TASK_NEST) instead of starting a process; a
 * nest thread runs it (one is started whenever the queued nested tasks
 * outnumber the idle nest threads; an idle one beyond the first exits). The
 * run token keeps user code one task at a time: the main thread and nest
 * threads hold it while they run a task and give it up while a request of
 * theirs waits for the node (the client's on_wait hook). Actors never get
 * nested tasks, and the threads of a max_concurrency pool ignore the token.
 * After the
 * function returns, objects made with ray_return_alloc are sealed and
 * TASK_DONE is sent; stdout and stderr are flushed after every task so the
 * node streams lines promptly. If the node goes away the process exits.
 *
 * Shared actors (ray_opts.share_worker, docs/actors-shared.md): a worker
 * may host many actors of its job. Each gets a thread of its own with its
 * own queue, started by its constructor; the main thread routes every call
 * by the spec's "actor" to that queue, so each actor runs its calls one at a
 * time in arrival order. The actor threads hold the run token while they run
 * user code, so the actors of one process never run code at the same time
 * (the job library need not be thread-safe), and a call that waits in
 * ray_get lends it, so an actor may wait for another actor of the same
 * process without a deadlock. The node ends one of them with a TASK_EXECUTE
 * of kind "actor_free": its thread runs no more of its calls, calls the
 * class's free function and exits; the process lives on.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/callseq.h"

#include "common/ids.h"
#include "common/mem.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/queue.h>

/* One TASK_EXECUTE, decoded. Fields point into body. */
struct exec {
    void *body;
    struct proto_msg m;
    enum api_task_kind kind;
    uint8_t id[RAY_ID_SIZE];
    char fn[256];
    char name[256];
    const void *args;
    size_t args_len;
    uint64_t nret;
    uint64_t max_conc;
    uint8_t caller[RAY_ID_SIZE]; /* actor calls: who numbered it, and its number */
    uint64_t seq;
    uint8_t actor[RAY_ID_SIZE];  /* actor calls and "actor_free": the actor's ID */
    bool share;                  /* actor_new: a shared actor (share_worker) */
    bool free_actor;             /* kind "actor_free": end that shared actor */
    bool parsed;
    struct api_dconn *direct; /* sent by a driver holding a lease (direct_worker.c) */
    TAILQ_ENTRY(exec) link;
};

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    TAILQ_HEAD(, exec) execs;
};

#define QUEUE_INIT(q) { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, TAILQ_HEAD_INITIALIZER((q).execs) }
static struct queue main_q = QUEUE_INIT(main_q);
static struct queue pool_q = QUEUE_INIT(pool_q);
static struct queue nest_q = QUEUE_INIT(nest_q);
static int nest_queued; /* under nest_q.mu: tasks in nest_q */
static int nest_spare;  /* under nest_q.mu: nest threads idle or starting */
static int nest_active; /* under nest_q.mu: nested tasks being run */
static pthread_cond_t nest_done_cv = PTHREAD_COND_INITIALIZER; /* nest_active fell to 0 */

/* The run token: held by the one thread running user code. */
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t run_cv = PTHREAD_COND_INITIALIZER;
static bool run_taken;
static __thread bool run_mine;

static void run_acquire(void)
{
    pthread_mutex_lock(&run_mu);
    while (run_taken)
        pthread_cond_wait(&run_cv, &run_mu);
    run_taken = true;
    pthread_mutex_unlock(&run_mu);
    run_mine = true;
}

static void run_release(void)
{
    run_mine = false;
    pthread_mutex_lock(&run_mu);
    run_taken = false;
    pthread_cond_signal(&run_cv);
    pthread_mutex_unlock(&run_mu);
}

/* A shared actor this worker hosts (docs/actors-shared.md). The list is
 * read and written by the main thread only; the entry itself belongs to the
 * actor's thread once it is taken off the list ("actor_free"). */
struct hosted {
    uint8_t id[RAY_ID_SIZE];
    char cls[256];
    void *self;                  /* set by its constructor on its thread */
    ray_actor_free_fn free_fn;
    struct queue q;
    bool dead;                   /* (atomic) ended by the node: drop its calls */
    struct hosted *next;
};
static struct hosted *hosted_list;
static __thread struct hosted *cur_hosted; /* the shared actor this thread runs */
static struct hosted *marked;              /* under the run token: whose output follows */

/* Under the run token: the output that follows is H's. Before the first line
 * of another actor than the last, a line "\x1eray-actor HEX" goes to stdout
 * and stderr; the node takes it out of the stream and tags the lines after
 * it with that actor (`ray logs ACTOR`, the job log's prefix:
 * runtime/workers.c). */
static void hosted_mark(struct hosted *h)
{
    if (h == marked)
        return;
    marked = h;
    char hex[2 * RAY_ID_SIZE + 1];
    ids_hex(h->id, RAY_ID_SIZE, hex);
    fflush(stdout);
    fprintf(stdout, "\x1eray-actor %s\n", hex);
    fflush(stdout);
    fprintf(stderr, "\x1eray-actor %s\n", hex);
}

/* Client hook: a request of this thread waits for the node (BEGIN), or its
 * answer came. A thread holding the run token lends it meanwhile. */
static void on_wait(bool begin)
{
    static __thread bool lent;
    if (begin)
        api_direct_worker_flush_(); /* what it waits for may be in a batch */
    if (begin && run_mine) {
        lent = true;
        run_release();
    } else if (!begin && lent) {
        lent = false;
        run_acquire();
        if (cur_hosted)
            hosted_mark(cur_hosted); /* another actor may have run meanwhile */
    }
}

/* The actor this worker hosts (set by actor_new on the main thread before
 * any call is run, read-only afterwards). */
static struct {
    void *self;
    uint8_t id[RAY_ID_SIZE]; /* its actor ID (ray_actor_self) */
    bool has_id;
    char cls[256];
    int max_conc;
    bool pool;
} actor;

static void queue_push(struct queue *q, struct exec *e)
{
    pthread_mutex_lock(&q->mu);
    TAILQ_INSERT_TAIL(&q->execs, e, link);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static struct exec *queue_pop(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (TAILQ_EMPTY(&q->execs)) {
        /* idle: send the timeline events recorded (events.c), then wait */
        long long again = -1;
        if (api_events_pending_()) {
            pthread_mutex_unlock(&q->mu);
            again = api_events_idle_();
            pthread_mutex_lock(&q->mu);
            if (!TAILQ_EMPTY(&q->execs))
                break;
        }
        if (again < 0) {
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)again * 1000;
        while (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    struct exec *e = TAILQ_FIRST(&q->execs);
    TAILQ_REMOVE(&q->execs, e, link);
    pthread_mutex_unlock(&q->mu);
    return e;
}

static void exec_free(struct exec *e)
{
    if (e) {
        api_dconn_unref_(e->direct);
        free(e->body);
        free(e);
    }
}

/* The "id" of a spec map, or all zeros. */
static void spec_id(const struct proto_msg *m, uint8_t out[RAY_ID_SIZE])
{
    memset(out, 0, RAY_ID_SIZE);
    struct mpr r;
    uint32_t n;
    mpr_init(&r, m->f[0].as.s.ptr, m->f[0].as.s.len);
    if (mpr_map(&r, &n) < 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        if (mpr_str(&r, &k, &kl) < 0)
            return;
        if (kl == 2 && memcmp(k, "id", 2) == 0) {
            const void *p;
            size_t len;
            if (mpr_bin(&r, &p, &len) == 0 && len == RAY_ID_SIZE)
                memcpy(out, p, RAY_ID_SIZE);
            return;
        }
        if (mpr_skip(&r) < 0)
            return;
    }
}

/* Out of memory for a task's queue entry: the node waits for the task, so
 * fail it (by the ID in its spec) rather than drop it. Frees BODY. */
static void send_done(const uint8_t *id, int status, const char *msg);
static void refuse_oom(void *body, size_t len)
{
    struct proto_msg m;
    uint8_t id[RAY_ID_SIZE] = { 0 };
    char err[160];
    if (proto_decode(body, len, &m, err, sizeof err) == 0) {
        spec_id(&m, id);
        send_done(id, RAY_ENOMEM, "its worker ran out of memory queueing it");
    }
    fprintf(stderr, "ray worker: out of memory queueing a task\n");
    free(body);
}

/* I/O thread: BODY (LEN bytes, owned from here on), a message named WHAT,
 * decoded into a new struct exec, its task ID read (so a recall can find it
 * before it is parsed). NULL when it is refused (out of memory: the node
 * is told) or dropped (undecodable: said on stderr); BODY is freed then. */
static struct exec *exec_new(void *body, size_t len, const char *what)
{
    struct exec *e = mem_calloc(1, sizeof *e);
    char err[160];
    if (e == NULL) {
        refuse_oom(body, len);
        return NULL;
    }
    e->body = body;
    if (proto_decode(body, len, &e->m, err, sizeof err) < 0) {
        fprintf(stderr, "ray worker: dropping a bad %s: %s\n", what, err);
        exec_free(e);
        return NULL;
    }
    spec_id(&e->m, e->id);
    return e;
}

/* I/O thread: queue the body for the main thread. */
static void on_execute(void *body, size_t len)
{
    struct exec *e = exec_new(body, len, "TASK_EXECUTE");
    if (e)
        queue_push(&main_q, e);
}

/* A direct connection's reader thread: a DIRECT_TASK (the fields of
 * TASK_EXECUTE), queued with the node's tasks; its answer goes back on DC. */
static void on_direct(void *body, size_t len, struct api_dconn *dc)
{
    struct exec *e = exec_new(body, len, "DIRECT_TASK");
    if (e == NULL) {
        api_dconn_unref_(dc);
        return;
    }
    e->direct = dc;
    queue_push(&main_q, e);
}

/* Nothing more is queued for the main thread. */
static bool main_idle(void)
{
    pthread_mutex_lock(&main_q.mu);
    bool idle = TAILQ_EMPTY(&main_q.execs);
    pthread_mutex_unlock(&main_q.mu);
    return idle;
}

static void *nest_main(void *arg);

/* I/O thread: a nested task (TASK_NEST): queue it for a nest thread,
 * starting one if every nest thread is busy. */
static void on_nest(void *body, size_t len)
{
    struct exec *e = exec_new(body, len, "TASK_NEST");
    if (e == NULL)
        return;
    pthread_mutex_lock(&nest_q.mu);
    bool start = ++nest_queued > nest_spare;
    if (start)
        nest_spare++;
    pthread_mutex_unlock(&nest_q.mu);
    queue_push(&nest_q, e);
    if (start) {
        pthread_t th;
        int rc = pthread_create(&th, NULL, nest_main, NULL);
        if (rc != 0) {
            /* the node waits for this task: say why it cannot run */
            pthread_mutex_lock(&nest_q.mu);
            nest_spare--;
            pthread_mutex_unlock(&nest_q.mu);
            fprintf(stderr, "ray worker: cannot start a thread for a nested task: %s\n",
                    strerror(rc));
            struct exec *x = queue_pop(&nest_q);
            pthread_mutex_lock(&nest_q.mu);
            nest_queued--;
            pthread_mutex_unlock(&nest_q.mu);
            send_done(x->id, RAY_EWORKER, "its worker cannot start a thread to run it");
            exec_free(x);
            return;
        }
        pthread_detach(th);
    }
}

/* I/O thread: the node takes back a task it sent ahead, if it has not
 * started: answer TASK_DONE with status 1 (recalled); else nothing (its
 * normal TASK_DONE follows). */
static void on_recall(const uint8_t *task_id)
{
    struct exec *found;
    pthread_mutex_lock(&main_q.mu);
    TAILQ_FOREACH(found, &main_q.execs, link)
        if (memcmp(found->id, task_id, RAY_ID_SIZE) == 0) {
            TAILQ_REMOVE(&main_q.execs, found, link);
            break;
        }
    pthread_mutex_unlock(&main_q.mu);
    if (found) {
        send_done(task_id, 1, "recalled");
        exec_free(found);
    }
}

/* I/O thread: the node is gone; nothing left to do. */
static void on_lost(const char *why)
{
    if (strcmp(why, "the node closed the connection") != 0)
        fprintf(stderr, "ray worker: lost the connection to the node: %s\n", why);
    fflush(stdout);
    fflush(stderr);
    _exit(strcmp(why, "the node closed the connection") == 0 ? 0 : 1);
}

static void copy_str(char *dst, size_t dstlen, const char *s, size_t len)
{
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Parse the spec map of E. Returns 0 or -1 with ERR set. */
static int exec_parse(struct exec *e, char *err, size_t errlen)
{
    struct mpr r;
    uint32_t n;
    bool has_id = false;
    e->kind = API_TASK_NORMAL;
    mpr_init(&r, e->m.f[0].as.s.ptr, e->m.f[0].as.s.len);
    if (mpr_map(&r, &n) < 0)
        goto bad;
    for (uint32_t i = 0; i < n; i++) {
        const char *k, *s;
        size_t klen, slen;
        const void *p;
        if (mpr_str(&r, &k, &klen) < 0)
            goto bad;
#define KEY(lit) (klen == sizeof(lit) - 1 && memcmp(k, lit, klen) == 0)
        if (KEY("id")) {
            if (mpr_bin(&r, &p, &slen) < 0 || slen != RAY_ID_SIZE)
                goto bad;
            memcpy(e->id, p, RAY_ID_SIZE);
            has_id = true;
        } else if (KEY("fn") || KEY("name") || KEY("kind")) {
            if (mpr_str(&r, &s, &slen) < 0)
                goto bad;
            if (KEY("fn"))
                copy_str(e->fn, sizeof e->fn, s, slen);
            else if (KEY("name"))
                copy_str(e->name, sizeof e->name, s, slen);
            else if (slen == 9 && memcmp(s, "actor_new", 9) == 0)
                e->kind = API_TASK_ACTOR_NEW;
            else if (slen == 10 && memcmp(s, "actor_call", 10) == 0)
                e->kind = API_TASK_ACTOR_CALL;
            else if (slen == 10 && memcmp(s, "actor_free", 10) == 0)
                e->free_actor = true;
        } else if (KEY("args")) {
            e->args = r.p;
            if (mpr_skip(&r) < 0)
                goto bad;
            e->args_len = (size_t)(r.p - (const uint8_t *)e->args);
        } else if (KEY("nret")) {
            if (mpr_uint(&r, &e->nret) < 0)
                goto bad;
        } else if (KEY("max_conc")) {
            if (mpr_uint(&r, &e->max_conc) < 0)
                goto bad;
        } else if (KEY("caller")) {
            if (mpr_bin(&r, &p, &slen) < 0 || slen != RAY_ID_SIZE)
                goto bad;
            memcpy(e->caller, p, RAY_ID_SIZE);
        } else if (KEY("seq")) {
            if (mpr_uint(&r, &e->seq) < 0)
                goto bad;
        } else if (KEY("actor")) {
            if (mpr_bin(&r, &p, &slen) < 0 || slen != RAY_ID_SIZE)
                goto bad;
            memcpy(e->actor, p, RAY_ID_SIZE);
        } else if (KEY("share")) {
            if (mpr_bool(&r, &e->share) < 0)
                goto bad;
        } else if (mpr_skip(&r) < 0) {
            goto bad;
        }
#undef KEY
    }
    if (!has_id || e->fn[0] == '\0') {
        snprintf(err, errlen, "task spec without id or fn");
        return -1;
    }
    if (e->nret > API_MAX_RETURNS) {
        snprintf(err, errlen, "task %s asks for %llu returns (at most %d)", e->fn,
                 (unsigned long long)e->nret, API_MAX_RETURNS);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "malformed task spec");
    return -1;
}

/* Decode E's arguments, replacing resolved REFs by the objects' values.
 * Returns 0 or -1 with MSG set (the task then fails without running). */
static int exec_args(struct exec *e, ray_value **vals, size_t *n, char *msg, size_t msglen)
{
    size_t cap;
    void *store = api_client_store_(&cap);
    if (api_args_decode_(e->args, e->args_len, vals, n) != RAY_OK) {
        snprintf(msg, msglen, "bad arguments: %s", ray_last_error());
        return -1;
    }
    const struct proto_field *rf = &e->m.f[1];
    if (rf->as.s.len == 0 || (uint8_t)rf->as.s.ptr[0] == 0xc0)
        return 0; /* nothing resolved */
    struct mpr r;
    uint32_t cnt;
    mpr_init(&r, rf->as.s.ptr, rf->as.s.len);
    if (mpr_array(&r, &cnt) < 0 || cnt != *n) {
        snprintf(msg, msglen, "resolved arguments do not match the %zu arguments", *n);
        return -1;
    }
    for (uint32_t i = 0; i < cnt; i++) {
        struct mpr_item it;
        const uint8_t *save = r.p;
        if (save < r.end && *save == 0xc0) {
            mpr_next(&r, &it);
            continue;
        }
        uint32_t k;
        uint64_t vtype, off, size;
        if (mpr_array(&r, &k) < 0 || k != 3 || mpr_uint(&r, &vtype) < 0 || mpr_uint(&r, &off) < 0 ||
            mpr_uint(&r, &size) < 0) {
            snprintf(msg, msglen, "malformed resolved argument %u", i);
            return -1;
        }
        if (store == NULL || off > cap || size > cap - off) {
            snprintf(msg, msglen, "argument %u lies outside the object store", i);
            return -1;
        }
        const char *data = (const char *)store + off;
        if (vtype == API_VT_ERROR) {
            int code;
            char emsg[900];
            if (api_error_payload_decode_(data, (size_t)size, &code, emsg, sizeof emsg) < 0)
                snprintf(emsg, sizeof emsg, "malformed error object");
            snprintf(msg, msglen, "argument %u: %s", i, emsg);
            return -1;
        }
        if (api_arg_resolve_((uint32_t)vtype, data, (size_t)size, &(*vals)[i]) != RAY_OK) {
            snprintf(msg, msglen, "argument %u: malformed object (type %llu, %llu bytes)", i,
                     (unsigned long long)vtype, (unsigned long long)size);
            return -1;
        }
    }
    return 0;
}

/* An actor's worker: the count of TASK_DONEs sent, in a page shared with the
 * node (RAY_WORKER_PROGRESS), raised before each is sent; if this process
 * dies with answers the node never read, the node knows how many of its
 * calls ran and runs none of them again. */
static uint64_t *progress;

static void progress_map(void)
{
    const char *name = getenv("RAY_WORKER_PROGRESS");
    if (name == NULL || name[0] == '\0')
        return;
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    void *p = mmap(NULL, sizeof *progress, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    shm_unlink(name); /* mapped by both: nothing to leave behind */
    if (p != MAP_FAILED)
        progress = p;
}

/* TASK_DONE for task ID, after FRAMES (the task's small returns, NULL if
 * none) in the same write. */
static void send_done_after(struct buf *frames, const uint8_t *id, int status, const char *msg)
{
    if (progress)
        __atomic_add_fetch(progress, 1, __ATOMIC_RELEASE);
    struct buf f = BUF_INIT, *out = frames ? frames : &f;
    if (proto_pack(out, PROTO_TASK_DONE, id, (int64_t)status, msg) == 0)
        api_client_send_(out);
    else if (frames && frames->len)
        api_client_send_(frames); /* (a message that cannot be packed: the returns still go) */
    buf_free(&f);
}

static void send_done(const uint8_t *id, int status, const char *msg)
{
    send_done_after(NULL, id, status, msg);
}

static void pool_start(int n);

static __thread uint8_t cur_task[RAY_ID_SIZE]; /* the task this thread runs */

const uint8_t *api_worker_task_(void)
{
    return cur_task;
}

/* Run one task and report it. */
static void exec_run(struct exec *e)
{
    ray_value *args = NULL;
    size_t nargs = 0;
    char msg[1200] = "";
    int status = RAY_OK, rc = 0;
    long long t_exec = 0, t_store = 0; /* timeline: execute, then store outputs */
    const char *name = e->name[0] ? e->name : e->fn;
    ray_task *t = api_task_new_(e->id, name, e->kind == API_TASK_ACTOR_NEW ? 0 : (int)e->nret);

    if (t == NULL) {
        if (e->direct)
            api_direct_worker_done_(e->direct, e->id, name, RAY_ETASK,
                                    "out of memory starting the task", (int)e->nret, false, NULL,
                                    main_idle());
        else
            send_done(e->id, RAY_ETASK, "out of memory starting the task");
        return;
    }
    memcpy(cur_task, e->id, RAY_ID_SIZE);
    api_direct_worker_begin_(e->direct ? e->id : NULL, name); /* whose output follows */
    if (exec_args(e, &args, &nargs, msg, sizeof msg) < 0) {
        status = RAY_ETASK;
        goto done;
    }
    t_exec = api_events_now_us_();
    switch (e->kind) {
    case API_TASK_NORMAL: {
        ray_fn fn = api_registry_function_(e->fn);
        if (fn == NULL) {
            status = RAY_ETASK;
            snprintf(msg, sizeof msg, "no remote function '%s' in job library %s", e->fn,
                     api_registry_library_());
            goto done;
        }
        rc = fn(t, args, nargs);
        break;
    }
    case API_TASK_ACTOR_NEW: {
        ray_actor_new_fn mk;
        struct hosted *h = cur_hosted;
        if (h != NULL) {
            /* a shared actor: constructed on its own thread (hosted_main) */
            if (api_registry_actor_(e->fn, &mk, &h->free_fn) < 0) {
                status = RAY_ETASK;
                snprintf(msg, sizeof msg, "no actor class '%s' in job library %s", e->fn,
                         api_registry_library_());
                goto done;
            }
            void *self = mk(t, args, nargs);
            if (self == NULL && !api_task_failed_(t)) {
                status = RAY_ETASK;
                snprintf(msg, sizeof msg, "constructor of %s returned NULL", e->fn);
                goto done;
            }
            h->self = self; /* freed when the node ends it, even after a ray_fail */
            break;
        }
        if (actor.self != NULL) {
            status = RAY_ETASK;
            snprintf(msg, sizeof msg, "this worker already hosts an actor of class %s", actor.cls);
            goto done;
        }
        if (api_registry_actor_(e->fn, &mk, NULL) < 0) {
            status = RAY_ETASK;
            snprintf(msg, sizeof msg, "no actor class '%s' in job library %s", e->fn,
                     api_registry_library_());
            goto done;
        }
        memcpy(actor.id, e->id, RAY_ID_SIZE); /* the actor_new spec's id is the actor's */
        actor.has_id = true;
        void *self = mk(t, args, nargs);
        if (self == NULL && !api_task_failed_(t)) {
            status = RAY_ETASK;
            snprintf(msg, sizeof msg, "constructor of %s returned NULL", e->fn);
            goto done;
        }
        if (self != NULL && !api_task_failed_(t)) {
            actor.self = self;
            copy_str(actor.cls, sizeof actor.cls, e->fn, strlen(e->fn));
            actor.max_conc = e->max_conc > 1 ? (int)(e->max_conc > 1024 ? 1024 : e->max_conc) : 1;
            if (actor.max_conc > 1)
                pool_start(actor.max_conc);
        }
        /* A constructor that called ray_fail fails below; its object (if any)
         * is leaked on purpose: the worker is about to be retired. */
        break;
    }
    case API_TASK_ACTOR_CALL: {
        if (cur_hosted != NULL) {
            ray_method_fn m = api_registry_method_(cur_hosted->cls, e->fn);
            if (cur_hosted->self == NULL || m == NULL) {
                status = RAY_ETASK;
                if (cur_hosted->self == NULL)
                    snprintf(msg, sizeof msg, "actor %s was not constructed", cur_hosted->cls);
                else
                    snprintf(msg, sizeof msg, "actor class '%s' has no method '%s'",
                             cur_hosted->cls, e->fn);
                goto done;
            }
            rc = m(cur_hosted->self, t, args, nargs);
            break;
        }
        if (actor.self == NULL) {
            status = RAY_ETASK;
            snprintf(msg, sizeof msg, "no actor is constructed in this worker");
            goto done;
        }
        ray_method_fn m = api_registry_method_(actor.cls, e->fn);
        if (m == NULL) {
            status = RAY_ETASK;
            snprintf(msg, sizeof msg, "actor class '%s' has no method '%s'", actor.cls, e->fn);
            goto done;
        }
        rc = m(actor.self, t, args, nargs);
        break;
    }
    }
    t_store = api_events_now_us_();
    if (api_task_failed_(t)) {
        status = RAY_ETASK;
        snprintf(msg, sizeof msg, "%s", api_task_message_(t));
    } else if (rc != 0) {
        status = RAY_ETASK;
        snprintf(msg, sizeof msg, "returned %d", rc);
    }
done:
    api_task_finish_(t);
    if (t_store)
        api_event_task_(e->kind == API_TASK_ACTOR_CALL, t_exec, t_store, api_events_now_us_(),
                        e->id, name);
    memset(cur_task, 0, RAY_ID_SIZE);
    fflush(stdout);
    fflush(stderr);
    if (e->direct)
        api_direct_worker_done_(e->direct, e->id, name, status, msg, (int)e->nret,
                                api_task_returned_(t), api_task_frames_(t), main_idle());
    else
        send_done_after(api_task_frames_(t), e->id, status, msg);
    api_task_free_(t);
    api_args_free_(args, nargs);
}

static void exec_parse_and_run(struct exec *e);
static bool hosted_route(struct exec *e);

/* A nest thread: runs nested tasks while there are any; beyond the first
 * idle one, an idle thread exits. */
static void *nest_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&nest_q.mu);
    for (;;) {
        while (TAILQ_EMPTY(&nest_q.execs)) {
            if (nest_spare > 1) {
                nest_spare--;
                pthread_mutex_unlock(&nest_q.mu);
                return NULL;
            }
            pthread_cond_wait(&nest_q.cv, &nest_q.mu);
        }
        struct exec *e = TAILQ_FIRST(&nest_q.execs);
        TAILQ_REMOVE(&nest_q.execs, e, link);
        nest_queued--;
        nest_spare--;
        nest_active++;
        pthread_mutex_unlock(&nest_q.mu);
        run_acquire();
        exec_parse_and_run(e);
        run_release();
        pthread_mutex_lock(&nest_q.mu);
        if (--nest_active == 0)
            pthread_cond_signal(&nest_done_cv);
        nest_spare++;
    }
}

static void *pool_main(void *arg)
{
    for (;;) {
        struct exec *e = queue_pop(&pool_q);
        exec_run(e);
        exec_free(e);
    }
    return NULL;
}

static void pool_start(int n)
{
    int started = 0;
    for (int i = 0; i < n; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, pool_main, NULL) != 0)
            break;
        pthread_detach(th);
        started++;
    }
    if (started == 0)
        fprintf(stderr, "ray worker: cannot start actor threads; running calls one at a time\n");
    actor.pool = started > 0;
}

static const char *env_need(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "ray worker: %s is not set (workers are started by their node)\n", name);
        return NULL;
    }
    return v;
}

/* ---- shared actors ------------------------------------------------------------ */

static struct hosted *hosted_find(const uint8_t *id)
{
    for (struct hosted *h = hosted_list; h; h = h->next)
        if (memcmp(h->id, id, RAY_ID_SIZE) == 0)
            return h;
    return NULL;
}

/* A shared actor's thread: its constructor, then its calls in order, one at
 * a time under the run token; at "actor_free" it frees the actor and ends. */
static void *hosted_main(void *arg)
{
    struct hosted *h = arg;
    for (;;) {
        struct exec *e = queue_pop(&h->q);
        if (e->free_actor) {
            exec_free(e);
            break;
        }
        if (__atomic_load_n(&h->dead, __ATOMIC_ACQUIRE)) {
            exec_free(e); /* ended: the node failed it already */
            continue;
        }
        run_acquire();
        cur_hosted = h;
        hosted_mark(h);
        exec_run(e);
        cur_hosted = NULL;
        run_release();
        exec_free(e);
    }
    /* calls queued behind the end (none are sent after it) are dropped */
    struct exec *e;
    while ((e = TAILQ_FIRST(&h->q.execs)) != NULL) {
        TAILQ_REMOVE(&h->q.execs, e, link);
        exec_free(e);
    }
    run_acquire();
    if (h->self && h->free_fn) {
        hosted_mark(h);
        h->free_fn(h->self);
        fflush(stdout);
    }
    if (marked == h)
        marked = NULL; /* (its address may be another's next) */
    run_release();
    /* its timeline spans may wait for an idle turn of this thread that will
     * not come (the other threads may all be waiting untimed) */
    if (api_events_pending_())
        api_events_flush_();
    fflush(stdout);
    fflush(stderr);
    pthread_mutex_destroy(&h->q.mu);
    pthread_cond_destroy(&h->q.cv);
    free(h);
    return NULL;
}

/* Main thread: if E concerns a shared actor, hand it to that actor's thread
 * (starting the thread for its constructor) and return true; E is consumed.
 * False for everything else (E parsed or not, still the caller's). */
static bool hosted_route(struct exec *e)
{
    char perr[512];
    if (exec_parse(e, perr, sizeof perr) < 0)
        return false; /* exec_parse_and_run says why */
    e->parsed = true;
    if (e->kind == API_TASK_ACTOR_NEW && e->share) {
        if (actor.self != NULL || hosted_find(e->id) != NULL) {
            send_done(e->id, RAY_ETASK, "this worker already hosts that actor");
            exec_free(e);
            return true;
        }
        struct hosted *h = mem_calloc(1, sizeof *h);
        if (h == NULL) {
            send_done(e->id, RAY_ENOMEM, "its worker ran out of memory starting the actor");
            exec_free(e);
            return true;
        }
        memcpy(h->id, e->id, RAY_ID_SIZE); /* the actor_new spec's id is the actor's */
        copy_str(h->cls, sizeof h->cls, e->fn, strlen(e->fn));
        pthread_mutex_init(&h->q.mu, NULL);
        pthread_cond_init(&h->q.cv, NULL);
        TAILQ_INIT(&h->q.execs);
        TAILQ_INSERT_TAIL(&h->q.execs, e, link);
        pthread_t th;
        int rc = pthread_create(&th, NULL, hosted_main, h);
        if (rc != 0) {
            fprintf(stderr, "ray worker: cannot start a thread for actor %s: %s\n", h->cls,
                    strerror(rc));
            send_done(e->id, RAY_EWORKER, "its worker cannot start a thread for it");
            exec_free(e);
            pthread_mutex_destroy(&h->q.mu);
            pthread_cond_destroy(&h->q.cv);
            free(h);
            return true;
        }
        pthread_detach(th);
        h->next = hosted_list;
        hosted_list = h;
        return true;
    }
    if (e->free_actor) {
        struct hosted **pp = &hosted_list;
        while (*pp && memcmp((*pp)->id, e->actor, RAY_ID_SIZE) != 0)
            pp = &(*pp)->next;
        struct hosted *h = *pp;
        if (h == NULL) {
            exec_free(e); /* not (or no longer) here */
            return true;
        }
        *pp = h->next; /* its thread owns it from here on */
        __atomic_store_n(&h->dead, true, __ATOMIC_RELEASE);
        queue_push(&h->q, e);
        return true;
    }
    if (e->kind != API_TASK_ACTOR_CALL)
        return false;
    struct hosted *h = hosted_find(e->actor);
    if (h == NULL)
        return false;
    /* numbered per caller and actor (callseq.h) */
    uint8_t key[RAY_ID_SIZE];
    callseq_key(e->caller, h->id, key);
    const char *why;
    if (!callseq_check(key, e->seq, &why)) {
        char id[2 * RAY_ID_SIZE + 1];
        ids_hex(e->caller, RAY_ID_SIZE, id);
        snprintf(perr, sizeof perr, "actor call %s refused: call %llu of caller %s came twice; %s",
                 e->fn, (unsigned long long)e->seq, id, why);
        fprintf(stderr, "ray worker: %s\n", perr);
        send_done(e->id, RAY_EACTOR, perr);
        exec_free(e);
        return true;
    }
    queue_push(&h->q, e);
    return true;
}

int api_worker_main(int argc, char **argv)
{
    uint8_t worker_id[RAY_ID_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *sock = env_need("RAY_NODE_SOCKET");
    const char *wid = env_need("RAY_WORKER_ID");
    const char *job = env_need("RAY_JOB_ID");
    const char *lib = env_need("RAY_JOB_LIBRARY");
    if (!sock || !wid || !job || !lib)
        return 2;
    char *end;
    unsigned long jobn = strtoul(job, &end, 16);
    if (strlen(wid) != 2 * RAY_ID_SIZE || ids_unhex(wid, worker_id, RAY_ID_SIZE) < 0 ||
        *end != '\0' || jobn > UINT32_MAX) {
        fprintf(stderr, "ray worker: bad RAY_WORKER_ID or RAY_JOB_ID\n");
        return 2;
    }
    const char *name = api_library_name_(lib);
    progress_map();
    if (api_renv_enter_() < 0)
        return 2;
    if (dlopen(lib, RTLD_NOW | RTLD_GLOBAL) == NULL) {
        fprintf(stderr, "ray worker: cannot load job library %s: %s\n", name, api_dlerror_(lib));
        return 2;
    }
    api_registry_set_library_(name);

    struct api_connect_opts o = {
        .unix_path = sock,
        .session_dir = getenv("RAY_SESSION_DIR"),
        .role = PROTO_ROLE_WORKER,
        .worker_id = worker_id,
        .has_job = true,
        .job = (uint32_t)jobn,
        .on_execute = on_execute,
        .on_recall = on_recall,
        .on_nest = on_nest,
        .on_wait = on_wait,
        .on_lost = on_lost,
    };
    /* listening before the node knows this worker: a driver it is leased to
     * may connect at once (none: this worker is simply never leased) */
    api_direct_worker_start_(wid, on_direct);
    if (api_client_connect_(&o) != RAY_OK) {
        fprintf(stderr, "ray worker: %s\n", ray_last_error());
        return 1;
    }
    for (;;) {
        /* A task sent ahead starts when the worker's running task ends; that
         * task may be a nested one (the node made it the worker's task when
         * the one below it ended), so wait for the nested ones first. */
        pthread_mutex_lock(&nest_q.mu);
        while (nest_active > 0)
            pthread_cond_wait(&nest_done_cv, &nest_q.mu);
        pthread_mutex_unlock(&nest_q.mu);
        struct exec *e = queue_pop(&main_q);
        if (hosted_route(e))
            continue; /* a shared actor's: its thread runs it */
        run_acquire();
        exec_parse_and_run(e);
        run_release();
    }
}

/* E (not run) fails with STATUS and MSG: answered where it came from (its
 * driver's direct socket, or the node). */
static void exec_refuse(struct exec *e, const char *name, int status, const char *msg)
{
    if (ids_is_zero(e->id))
        return;
    if (e->direct)
        api_direct_worker_done_(e->direct, e->id, name, status, msg, e->nret ? (int)e->nret : 1,
                                false, NULL, main_idle());
    else
        send_done(e->id, status, msg);
}

/* Parse E and run it, or hand it to the actor's pool; E is consumed. */
static void exec_parse_and_run(struct exec *e)
{
    char perr[512];
    if (!e->parsed && exec_parse(e, perr, sizeof perr) < 0) {
        fprintf(stderr, "ray worker: %s\n", perr);
        exec_refuse(e, "?", RAY_ETASK, perr);
        exec_free(e);
        return;
    }
    const char *why;
    uint8_t key[RAY_ID_SIZE];
    if (e->kind == API_TASK_ACTOR_CALL)
        callseq_key(e->caller, e->actor, key); /* numbered per caller and actor (callseq.h) */
    if (e->kind == API_TASK_ACTOR_CALL && !callseq_check(key, e->seq, &why)) {
        char id[2 * RAY_ID_SIZE + 1];
        ids_hex(e->caller, RAY_ID_SIZE, id);
        snprintf(perr, sizeof perr, "actor call %s refused: call %llu of caller %s came twice; %s",
                 e->fn, (unsigned long long)e->seq, id, why);
        fprintf(stderr, "ray worker: %s\n", perr);
        exec_refuse(e, e->name[0] ? e->name : e->fn, RAY_EACTOR, perr);
        exec_free(e);
        return;
    }
    if (e->kind == API_TASK_ACTOR_CALL && actor.pool) {
        queue_push(&pool_q, e); /* the pool frees it */
        return;
    }
    exec_run(e);
    exec_free(e);
}

int ray_actor_self(ray_actor *out)
{
    if (out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_actor_self: OUT is NULL");
    if (cur_hosted != NULL) {
        memcpy(out->id, cur_hosted->id, RAY_ID_SIZE);
        return RAY_OK;
    }
    if (!actor.has_id)
        return ray_error_set(RAY_EINVAL, "ray_actor_self: this process hosts no actor");
    memcpy(out->id, actor.id, RAY_ID_SIZE);
    return RAY_OK;
}
