/*
 * workers.c — the node's worker pool: starting `rayd --worker` processes for
 * a job, handing idle ones to the scheduler, killing idle or orphaned ones,
 * reaping them on SIGCHLD and forwarding their stdout/stderr to the job.
 *
 * DESIGN. A worker is a child process that belongs to one job (it dlopens the
 * job's library) and, optionally, to one actor. It is STARTING from
 * workers_spawn until its HELLO arrives (workers_connected), then IDLE or
 * BUSY. The fork + exec runs on the helper thread (bio.h,
 * workers_spawn_async_): until worker_spawned has the pid, the worker is
 * `spawning` with pid 0, never waited for or signalled (a kill meanwhile is
 * done when the pid arrives). A worker we have
 * sent SIGKILL is DEAD until its SIGCHLD. The struct is freed only when the
 * process has been reaped, so a pid is never waited for twice and no one is
 * left pointing at a freed worker while its process can still talk to us.
 * Reaping never uses waitpid(-1): the head's redis-server is also our child
 * and node.c waits for it itself, so only pids this file (workers) and jobs.c
 * (drivers) started are waited for, one by one, with WNOHANG.
 * Output: each pipe is read by a libevent event, a bounded amount per wakeup;
 * bytes are split into lines (at most WORKERS_LINE_MAX each) that go to the
 * job's log with a "(NAME pid=PID node=NODE8) " prefix, and the raw bytes are
 * appended to <session>/logs/worker-<hex8>.out by the helper thread (a
 * bio_file, kept open: the loop opens no file).
 * Shared actors (docs/actors-shared.md): a worker started for an actor with
 * share_worker is a host: it keeps no `actor` of its own but a list of the
 * actors it hosts (up to WORKERS_HOST_MAX, all of one job and runtime_env, no
 * GPU). A shared actor's constructor goes to a host of its job with room
 * (sent on the next loop turn, never from inside the scheduler's spawn) or
 * to a new one; a host is never given normal tasks; one that hosts nothing
 * is stopped after worker_idle_timeout_ms like an idle worker; its death is
 * the death of every actor it hosts.
 */
#include "runtime/observe.h"
#include "runtime/workers.h"
#include "runtime/lease.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/jobs.h"
#include "runtime/runtime_env.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"
#include "session/session.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* This file's part of the runtime's state (rt->ws): made zeroed on first use, so it reads as before its init
 * and after its free, as the fields of the calloc'd runtime did;
 * runtime_free frees the block itself. */
struct workers_state {
    struct worker *workers;     /* newest first */
    int nworkers, nstarting;
    struct idmap worker_by_id;  /* id -> struct worker */
    int max_workers;            /* the cap on worker processes */
    struct event *tick;         /* periodic: idle workers, demands */
    struct event *sigchld;
    struct event *ready_ev;     /* shared actors' constructors to send (ready) */
    struct host_ready { uint8_t actor[IDS_SIZE], worker[IDS_SIZE]; } *ready;
    size_t nready, ready_cap;
};

#define WORKERS_HOST_MAX 64 /* shared actors one process hosts at most */

static struct workers_state *WS(const struct runtime *rt)
{
    if (rt->ws == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->ws = xcalloc(1, sizeof *rt->ws);
    return rt->ws;
}

/* A worker process of this node (docs/runtime.md "Workers"). */

struct worker {
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    pid_t pid;
    enum worker_state state;
    struct job *job;
    struct client *client;   /* once connected */
    struct task *task;       /* the normal task running (not actor calls) */
    struct task *nest_head;  /* tasks nested in it while its others wait, newest
                              * first (tasks.c; linked by next/prev) */
    int nnest;
    struct task *ahead_head, *ahead_tail; /* sent ahead to run after it, in order
                                           * (tasks.c: pipelining; linked by next) */
    int nahead;
    struct actor *actor;     /* dedicated to this actor */
    bool host;               /* hosts shared actors (never normal tasks) */
    struct actor **hosted;   /* the actors it hosts (host only) */
    int nhosted, hosted_cap;
    uint8_t line_actor[2][IDS_SIZE]; /* host: whose lines follow on stdout, stderr
                                      * (its "\x1eray-actor HEX" lines; zero: none) */
    char gpus[64];           /* CUDA_VISIBLE_DEVICES it was started with ("" none) */
    char last_name[128];     /* name of the last task: prefixes late output lines */
    int out_fd, err_fd;
    struct event *out_ev, *err_ev;
    struct buf out_line, err_line;
    long long idle_since_ms;
    uint64_t *progress;      /* actors: TASK_DONEs it has sent (a page shared with it) */
    uint64_t ndone;          /* TASK_DONEs read from it */
    char progress_name[64];  /* the page's shm name, until unlinked */
    bool exited;             /* reaped; its death waits for its connection to close */
    bool printed;            /* it wrote output once (observe.c drains it at TASK_DONE) */
    int exit_status;
    long long exited_ms;
    char *renv;              /* the runtime_env it was started with (NULL: none) */
    struct bio_file *raw_out; /* logs/worker-<hex8>.out, written by the helper (bio.h) */
    bool spawning;           /* its fork + exec runs on the helper; pid 0 until it did */
    struct worker *next, *prev;
};

/* ---- the fields other files of the runtime read (declared in runtime/workers.h) ---- */

const uint8_t *worker_id(const struct worker *w)
{
    return w->id;
}

struct actor *worker_actor(const struct worker *w)
{
    return w->actor;
}

void worker_set_actor(struct worker *w, struct actor *v)
{
    w->actor = v;
}

struct task *worker_ahead_head(const struct worker *w)
{
    return w->ahead_head;
}

void worker_set_ahead_head(struct worker *w, struct task *v)
{
    w->ahead_head = v;
}

struct task *worker_ahead_tail(const struct worker *w)
{
    return w->ahead_tail;
}

void worker_set_ahead_tail(struct worker *w, struct task *v)
{
    w->ahead_tail = v;
}

struct task *worker_nest_head(const struct worker *w)
{
    return w->nest_head;
}

void worker_set_nest_head(struct worker *w, struct task *v)
{
    w->nest_head = v;
}

struct task *worker_task(const struct worker *w)
{
    return w->task;
}

void worker_set_task(struct worker *w, struct task *v)
{
    w->task = v;
}

struct client *worker_client(const struct worker *w)
{
    return w->client;
}

const char *worker_gpus(const struct worker *w)
{
    return w->gpus;
}

struct job *worker_job(const struct worker *w)
{
    return w->job;
}

int worker_nahead(const struct worker *w)
{
    return w->nahead;
}

int worker_nnest(const struct worker *w)
{
    return w->nnest;
}

struct worker *worker_next(const struct worker *w)
{
    return w->next;
}

bool worker_printed(const struct worker *w)
{
    return w->printed;
}

void worker_set_printed(struct worker *w, bool v)
{
    w->printed = v;
}

enum worker_state worker_state(const struct worker *w)
{
    return w->state;
}

void worker_set_state(struct worker *w, enum worker_state v)
{
    w->state = v;
}

void worker_nahead_add(struct worker *w, int d)
{
    w->nahead += d;
}

void worker_nnest_add(struct worker *w, int d)
{
    w->nnest += d;
}

void worker_ndone_add(struct worker *w, uint64_t d)
{
    w->ndone += d;
}

pid_t worker_pid(const struct worker *w)
{
    return w->pid;
}

void worker_set_last_name(struct worker *w, const char *name)
{
    snprintf(w->last_name, sizeof w->last_name, "%s", name);
}

#define WORKERS_LINE_MAX (16 * 1024)   /* longer lines are split */
#define WORKERS_READ_MAX (64 * 1024)   /* bytes read per pipe per wakeup */
#define WORKERS_DRAIN_MAX (4 << 20)    /* bytes a drain reads at most (a grandchild may write on) */
#define WORKERS_TICK_MS 1000

extern char **environ;

/* ---- output lines --------------------------------------------------------- */

/* Emit the complete lines held in ACC (and, with FLUSH, the partial rest),
 * splitting lines longer than WORKERS_LINE_MAX. */
static void lines_emit(struct buf *acc, bool flush, workers_line_fn emit, void *arg)
{
    size_t start = 0;
    while (start < acc->len) {
        size_t avail = acc->len - start;
        const char *p = acc->data + start;
        const char *nl = memchr(p, '\n', avail < WORKERS_LINE_MAX ? avail : WORKERS_LINE_MAX);
        if (nl != NULL) {
            emit(arg, p, (size_t)(nl - p));
            start += (size_t)(nl - p) + 1;
        } else if (avail >= WORKERS_LINE_MAX) {
            emit(arg, p, WORKERS_LINE_MAX);
            start += WORKERS_LINE_MAX;
        } else if (flush) {
            emit(arg, p, avail);
            start = acc->len;
        } else {
            break;
        }
    }
    buf_consume(acc, start);
}

int workers_pipe_read_(int fd, struct buf *acc, bool drain, workers_line_fn emit, void *arg,
                       struct bio_file *raw)
{
    char chunk[16384];
    size_t total = 0;
    int rc = 0;
    while (total < (drain ? (size_t)WORKERS_DRAIN_MAX : (size_t)WORKERS_READ_MAX)) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            rc = 1;
            break;
        }
        bio_file_write(raw, chunk, (size_t)n);
        buf_append(acc, chunk, (size_t)n);
        total += (size_t)n;
        lines_emit(acc, false, emit, arg);
    }
    lines_emit(acc, rc == 1 || drain, emit, arg);
    return rc;
}

/* ---- helpers ----------------------------------------------------------------- */

/* glibc reads /sys for this on every call: once, at workers_init */
static int ncpu_online;

int workers_cpu_count_(void)
{
    if (ncpu_online == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ncpu_online = n > 0 ? (int)n : 1;
    }
    return ncpu_online;
}

static int cpu_count(void)
{
    return workers_cpu_count_();
}

static int max_starting(void)
{
    int n = cpu_count();
    return n > 2 ? n : 2;
}

pid_t workers_spawn_process_(const char *const *argv, char *const *env, int out_w, int err_w,
                             char *err, size_t errlen)
{
    int nullfd = -1;
    pid_t pid = -1;
    /* everything the child needs is prepared here: only async-signal-safe
     * calls run between fork and exec */
    struct rlimit rl;
    long maxfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                     ? (long)rl.rlim_cur : 65536;
    if (maxfd > 65536)
        maxfd = 65536;
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        return -1;
    }
    const char *exe = session_self_exe(); /* resolved before fork */
    /* a worker dies with its node (a driver is its own process and does not) */
    bool tied = argv[1] != NULL && strcmp(argv[1], "--worker") == 0;
    pid_t parent = getpid();
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(nullfd);
        return -1;
    }
    if (pid == 0) {
        if (tied && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(nullfd, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
            _exit(127);
        for (int fd = 0; fd <= 2; fd++) /* dup2 onto itself keeps close-on-exec */
            fcntl(fd, F_SETFD, 0);
        /* the loop's sockets, the store, other workers' pipes: not for the child */
        if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
            for (long fd = 3; fd < maxfd; fd++)
                close((int)fd);
        execve(exe, (char *const *)argv, env);
        static const char msg[] = "rayd: cannot exec the rayd binary\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(nullfd);
    return pid;
}

char **workers_env_build_(const char *const *set, const char *const *unset)
{
    size_t n = 0, nset = 0;
    while (environ[n])
        n++;
    while (set[nset])
        nset++;
    char **env = xcalloc(n + nset + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool drop = false;
        for (size_t s = 0; s < nset && !drop; s++)
            drop = strncmp(set[s], environ[i], klen) == 0 && set[s][klen] == '=';
        for (size_t u = 0; unset && unset[u] && !drop; u++)
            drop = strlen(unset[u]) == klen && strncmp(unset[u], environ[i], klen) == 0;
        if (!drop)
            env[k++] = xstrdup(environ[i]);
    }
    for (size_t s = 0; s < nset; s++)
        env[k++] = xstrdup(set[s]);
    env[k] = NULL;
    return env;
}

void workers_env_free_(char **env)
{
    if (env == NULL)
        return;
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/* ---- spawning on the helper thread ----------------------------------------------- */

/* One fork + exec, run by the helper thread (bio.h): the loop thread never
 * forks. The child is made exactly as workers_spawn_process_ says; what it
 * inherits is decided there (descriptors, signal mask and dispositions,
 * ENV). The helper thread blocks every signal, so the child starts with
 * all blocked and unblocks them before exec. A tied worker's
 * PR_SET_PDEATHSIG follows the thread that forked it: the helper lives as
 * long as the runtime, and workers die with the runtime anyway. */
struct spawn_req {
    struct runtime *rt;
    char **argv;                 /* owned */
    char **env;                  /* owned */
    char progress_name[64];      /* make this page first ("" none) */
    int out_w, err_w;            /* the pipes' write ends: the helper's, closed after the fork */
    workers_spawned_fn done;
    void (*free_arg)(void *arg);
    void *arg;
    struct workers_spawn_result res; /* set on the helper */
    char err[256];
};

static void spawn_work(void *arg)
{
    struct spawn_req *r = arg;
    r->res.pid = -1;
    /* runtime_env: the folder its working directory is unpacked under */
    for (size_t i = 0; r->env[i]; i++)
        if (strncmp(r->env[i], "RAY_WORKING_DIR=", 16) == 0) {
            char *dir = xstrdup(r->env[i] + 16), *slash = strrchr(dir, '/');
            if (slash && slash != dir) {
                *slash = '\0';
                if (session_mkdirs(dir, 0700) < 0)
                    log_warn("cannot create %s", dir);
            }
            free(dir);
        }
    if (r->progress_name[0]) {
        int fd = shm_open(r->progress_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        void *p = MAP_FAILED;
        if (fd >= 0) {
            if (ftruncate(fd, sizeof(uint64_t)) == 0)
                p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
            if (p == MAP_FAILED)
                shm_unlink(r->progress_name);
        }
        /* without it the worker runs without one (it finds no page) */
        r->res.progress = p == MAP_FAILED ? NULL : p;
    }
    r->res.pid = workers_spawn_process_((const char *const *)r->argv, r->env, r->out_w, r->err_w,
                                        r->err, sizeof r->err);
    r->res.err = r->res.pid < 0 ? r->err : NULL;
    /* only the child writes now: the read ends see EOF when it exits */
    close(r->out_w);
    close(r->err_w);
    r->out_w = r->err_w = -1;
}

static void spawn_req_free(struct spawn_req *r)
{
    if (r->out_w >= 0) /* the work never ran (cancelled at stop) */
        close(r->out_w);
    if (r->err_w >= 0)
        close(r->err_w);
    for (size_t i = 0; r->argv[i]; i++)
        free(r->argv[i]);
    free(r->argv);
    workers_env_free_(r->env);
    free(r);
}

/* What a spawn whose caller is gone leaves: kill and reap the child, drop
 * its page (its pipes' read ends are the caller's). */
static void spawn_discard(struct workers_spawn_result *res, const char *progress_name)
{
    if (res->pid > 0) {
        kill(res->pid, SIGKILL);
        while (waitpid(res->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (res->progress)
        munmap(res->progress, sizeof(uint64_t));
    if (progress_name[0])
        shm_unlink(progress_name);
}

static void spawn_done(void *arg, bool cancelled)
{
    struct spawn_req *r = arg;
    if (cancelled) {
        /* the runtime is gone (bio_free): nothing of it may be touched */
        spawn_discard(&r->res, r->progress_name);
        if (r->free_arg)
            r->free_arg(r->arg);
    } else if (!r->done(r->rt, r->arg, &r->res)) {
        spawn_discard(&r->res, r->progress_name);
    }
    spawn_req_free(r);
}

int workers_spawn_async_(struct runtime *rt, const char *const *argv, char **env,
                         const char *progress_name, int *out_fd, int *err_fd,
                         workers_spawned_fn done, void (*free_arg)(void *arg), void *arg,
                         char *err, size_t errlen)
{
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    /* the pipes are made here, so their read ends are watched from the start
     * (a worker's first lines are read while its first task runs) */
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (outp[i] >= 0)
                close(outp[i]);
            if (errp[i] >= 0)
                close(errp[i]);
        }
        workers_env_free_(env);
        return -1;
    }
    net_set_nonblock(outp[0]);
    net_set_nonblock(errp[0]);
    *out_fd = outp[0];
    *err_fd = errp[0];
    struct spawn_req *r = xcalloc(1, sizeof *r);
    size_t n = 0;
    while (argv[n])
        n++;
    r->argv = xcalloc(n + 1, sizeof *r->argv);
    for (size_t i = 0; i < n; i++)
        r->argv[i] = xstrdup(argv[i]);
    r->env = env;
    snprintf(r->progress_name, sizeof r->progress_name, "%s", progress_name ? progress_name : "");
    r->out_w = outp[1];
    r->err_w = errp[1];
    r->rt = rt;
    r->done = done;
    r->free_arg = free_arg;
    r->arg = arg;
    r->res.pid = -1;
    r->res.out_fd = outp[0];
    r->res.err_fd = errp[0];
    bio_submit(rt->bio, spawn_work, spawn_done, r);
    return 0;
}

static struct worker *host_with_room(struct runtime *rt, struct job *j, const char *renv);
static void host_add(struct runtime *rt, struct worker *w, struct actor *a);
static void workers_ready_cb(evutil_socket_t fd, short what, void *arg);

/* ---- output of one worker ------------------------------------------------------ */

/* The argument of a pipe's read event: freed with the event. */
struct pipe_watch {
    struct runtime *rt;
    struct worker *w;
    int stream;
};

/* Host W's lines on STREAM (1, 2) are the output of this actor (NULL: not
 * known or gone). */
static struct actor *line_actor(struct runtime *rt, const struct worker *w, int stream)
{
    const uint8_t *id = w->line_actor[stream == 2];
    return w->host && !ids_is_zero(id) ? actors_find(rt, id) : NULL;
}

const uint8_t *workers_line_actor(struct runtime *rt, const struct worker *w, int stream)
{
    if (w->actor)
        return actor_id(w->actor);
    struct actor *a = line_actor(rt, w, stream);
    return a ? actor_id(a) : NULL;
}

static const char *worker_label(const struct runtime *rt, const struct worker *w)
{
    const char *direct = w->task && task_lease(w->task) ? lease_output_name(rt, w) : NULL;
    if (direct) /* a task a driver sent it directly (lease.c) */
        return direct;
    if (w->task && task_name(w->task))
        return task_name(w->task);
    if (w->actor && actor_cls(w->actor))
        return actor_cls(w->actor);
    if (w->last_name[0])
        return w->last_name;
    return "worker";
}

#define WORKERS_MARK "\x1eray-actor " /* api/worker.c hosted_mark */
#define WORKERS_MARK_LEN (sizeof WORKERS_MARK - 1)

static void worker_line(void *arg, const char *line, size_t len)
{
    struct pipe_watch *x = arg;
    if (len > 0 && line[0] == '\x1e' && lease_output_marker(x->rt, x->w, line, len))
        return; /* which direct task prints (api/direct_worker.c), not output */
    if (x->w->host && len == WORKERS_MARK_LEN + 2 * IDS_SIZE &&
        memcmp(line, WORKERS_MARK, WORKERS_MARK_LEN) == 0) {
        char hex[IDS_HEX_SIZE];
        memcpy(hex, line + WORKERS_MARK_LEN, 2 * IDS_SIZE);
        hex[2 * IDS_SIZE] = '\0';
        if (ids_unhex(hex, x->w->line_actor[x->stream == 2], IDS_SIZE) < 0)
            memset(x->w->line_actor[x->stream == 2], 0, IDS_SIZE);
        return; /* the worker's note, not its output */
    }
    struct actor *la = line_actor(x->rt, x->w, x->stream);
    if (la && actor_cls(la)) {
        struct buf b = BUF_INIT;
        pid_t pid = x->w->pid > 0 ? x->w->pid : 0;
        buf_printf(&b, "(%s pid=%d node=%.8s) ", actor_cls(la), (int)pid, x->rt->n->hex);
        buf_append(&b, line, len);
        rt_job_log(x->rt, x->w->job, x->stream, b.data, b.len);
        buf_free(&b);
        observe_worker_line(x->rt, x->w, x->stream, line, len);
        return;
    }
    struct buf b = BUF_INIT;
    /* before worker_spawned has the pid, the HELLO's may be known */
    pid_t pid = x->w->pid > 0 ? x->w->pid
                : x->w->client && client_conn(x->w->client) ? client_conn(x->w->client)->pid : 0;
    buf_printf(&b, "(%s pid=%d node=%.8s) ", worker_label(x->rt, x->w), (int)pid, x->rt->n->hex);
    buf_append(&b, line, len);
    rt_job_log(x->rt, x->w->job, x->stream, b.data, b.len);
    buf_free(&b);
    observe_worker_line(x->rt, x->w, x->stream, line, len);
}

static void pipe_event_free(struct event **ev)
{
    if (*ev == NULL)
        return;
    free(event_get_callback_arg(*ev));
    event_free(*ev);
    *ev = NULL;
}

/* Read STREAM (1 or 2) of W, everything there is with DRAIN; closes the pipe
 * at EOF. */
static void worker_read(struct runtime *rt, struct worker *w, int stream, bool drain)
{
    int *fd = stream == 1 ? &w->out_fd : &w->err_fd;
    if (*fd < 0)
        return;
    struct pipe_watch x = { rt, w, stream };
    if (w->raw_out == NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/logs/worker-%.8s.out", rt->n->session_dir, w->hex);
        w->raw_out = bio_file_open(rt->bio, path, 0600); /* opened by the helper, kept open */
    }
    struct buf *acc = stream == 1 ? &w->out_line : &w->err_line;
    int eof = workers_pipe_read_(*fd, acc, drain, worker_line, &x, w->raw_out);
    if (eof) {
        pipe_event_free(stream == 1 ? &w->out_ev : &w->err_ev);
        close(*fd);
        *fd = -1;
    }
}

static void worker_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pipe_watch *x = arg;
    worker_read(x->rt, x->w, x->stream, false);
}

void workers_drain_output(struct runtime *rt, struct worker *w)
{
    worker_read(rt, w, 1, true);
    worker_read(rt, w, 2, true);
}

/* ---- life cycle ---------------------------------------------------------------- */

/* An actor's worker counts the TASK_DONEs it sends in a page of shared
 * memory (RAY_WORKER_PROGRESS), before sending each: if it dies with answers
 * the node never read (its socket reset), the count says how many of the
 * calls sent to it ran. The page is made on the helper thread, before the
 * fork (spawn_work); without it the worker runs without one. */
static void shm_unlink_work(void *arg)
{
    shm_unlink(arg); /* the worker unlinks it once mapped: ENOENT then */
}

static void shm_unlink_done(void *arg, bool cancelled)
{
    if (cancelled)
        shm_unlink(arg); /* the node stops: the loop runs no more, nothing to block */
    free(arg);
}

static void progress_close(struct runtime *rt, struct worker *w)
{
    if (w->progress_name[0])
        bio_submit(rt->bio, shm_unlink_work, shm_unlink_done, xstrdup(w->progress_name));
    if (w->progress)
        munmap(w->progress, sizeof(uint64_t));
    w->progress = NULL;
    w->progress_name[0] = '\0';
}

/* Unlink and free W (its process is gone or being abandoned at shutdown). */
static void worker_destroy(struct runtime *rt, struct worker *w)
{
    progress_close(rt, w);
    if (w->prev)
        w->prev->next = w->next;
    else
        WS(rt)->workers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (idmap_get(&WS(rt)->worker_by_id, w->id) == w)
        idmap_del(&WS(rt)->worker_by_id, w->id);
    pipe_event_free(&w->out_ev);
    pipe_event_free(&w->err_ev);
    if (w->out_fd >= 0)
        close(w->out_fd);
    if (w->err_fd >= 0)
        close(w->err_fd);
    buf_free(&w->out_line);
    buf_free(&w->err_line);
    bio_file_close(w->raw_out);
    if (w->client && client_worker(w->client) == w)
        client_set_worker(w->client, NULL);
    if (w->state == WORKER_STARTING)
        WS(rt)->nstarting--;
    WS(rt)->nworkers--;
    if (w->job)
        job_nworkers_add(w->job, -1);
    free(w->renv);
    free(w->hosted);
    free(w);
}

/* W's process exited with STATUS: report what it was doing, free it. */
static void worker_exited(struct runtime *rt, struct worker *w, int status)
{
    char why[256];
    tasks_describe_exit(status, why, sizeof why);
    log_debug("worker %.8s (pid %d, job %s) %s", w->hex, (int)w->pid, job_hex(w->job), why);
    workers_drain_output(rt, w);
    while (w->ahead_head) {
        struct task *t = w->ahead_head;
        tasks_ahead_remove(w, t);
        tasks_requeue_unstarted(rt, t);
    }
    while (w->nest_head) {
        struct task *t = w->nest_head;
        tasks_nest_remove(w, t);
        tasks_worker_died(rt, t, why);
    }
    if (w->task) {
        struct task *t = w->task;
        w->task = NULL;
        tasks_worker_died(rt, t, why);
    }
    if (w->actor) {
        struct actor *a = w->actor;
        w->actor = NULL;
        long unacked = 0;
        if (w->progress)
            unacked = (long)(__atomic_load_n(w->progress, __ATOMIC_ACQUIRE) - w->ndone);
        actors_worker_died(rt, a, why, unacked);
    }
    if (w->host && w->nhosted > 0) {
        /* every actor it hosted dies with it, each restarted per its own
         * max_restarts (never into this host: it is DEAD); its count of
         * answers sent is the process's, so each actor fails its calls as
         * if all the unread answers were its own */
        long unacked = 0;
        if (w->progress)
            unacked = (long)(__atomic_load_n(w->progress, __ATOMIC_ACQUIRE) - w->ndone);
        if (w->state == WORKER_STARTING)
            WS(rt)->nstarting--;
        w->state = WORKER_DEAD; /* no actor restarts into it */
        struct actor **list = w->hosted;
        int n = w->nhosted;
        w->hosted = NULL;
        w->nhosted = w->hosted_cap = 0;
        for (int i = 0; i < n; i++)
            if (actor_worker(list[i]) == w)
                actors_worker_died(rt, list[i], why, unacked);
        free(list);
    }
    worker_destroy(rt, w);
}

/* Reap every exited child this runtime started (workers and drivers). */
static void workers_reap(struct runtime *rt)
{
    bool any = false;
    int status;
again:
    for (struct job *j = jobs_first(rt); j; j = job_next(j)) {
        if (job_driver_pid(j) <= 0)
            continue;
        pid_t pid = waitpid(job_driver_pid(j), &status, WNOHANG);
        if (pid == job_driver_pid(j) || (pid < 0 && errno == ECHILD)) {
            if (pid < 0)
                status = 0;
            jobs_child_exited(rt, job_driver_pid(j), status);
            any = true;
            goto again; /* the job list may have changed */
        }
    }
    for (struct worker *w = WS(rt)->workers; w; w = w->next) {
        if (w->exited || w->pid <= 0)
            continue; /* reaped (waits for its connection to close), or not forked yet */
        pid_t pid = waitpid(w->pid, &status, WNOHANG);
        if (pid == w->pid || (pid < 0 && errno == ECHILD)) {
            if (pid < 0)
                status = SIGKILL; /* reaped elsewhere: report it as killed */
            if (w->client) {
                /* the TASK_DONEs it sent before it died may still be unread:
                 * what it finished must not be failed or run again */
                w->exited = true;
                w->exit_status = status;
                w->exited_ms = net_now_ms();
                if (w->state == WORKER_STARTING)
                    WS(rt)->nstarting--;
                w->state = WORKER_DEAD; /* nothing more is sent to it */
                continue;
            }
            worker_exited(rt, w, status);
            any = true;
            goto again;
        }
    }
    if (any) {
        jobs_collect(rt);
        if (!rt->stopping)
            tasks_schedule(rt);
    }
}

void workers_client_closed(struct runtime *rt, struct worker *w)
{
    w->client = NULL;
    if (w->exited) {
        worker_exited(rt, w, w->exit_status);
        if (!rt->stopping)
            tasks_schedule(rt);
    } else if (w->state != WORKER_DEAD) {
        workers_kill(rt, w); /* its death is handled on SIGCHLD */
    }
}

#define WORKERS_EXIT_WAIT_MS 2000 /* a dead worker's connection closes by then */

/* Reaped workers whose connection stays open (a child of theirs holds it):
 * handle their death anyway after a while. */
static void workers_reap_stuck(struct runtime *rt)
{
again:
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->exited && net_now_ms() - w->exited_ms >= WORKERS_EXIT_WAIT_MS) {
            if (w->client) {
                client_set_worker(w->client, NULL);
                conn_close(client_conn(w->client));
                w->client = NULL;
            }
            worker_exited(rt, w, w->exit_status);
            goto again;
        }
}

static void workers_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    workers_reap(arg);
}

/* Live (not killed) non-actor workers of J. */
static int job_pool_size(struct runtime *rt, struct job *j)
{
    int n = 0;
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->job == j && w->actor == NULL && !w->host && w->state != WORKER_DEAD)
            n++;
    return n;
}

static int prestart_count(struct runtime *rt)
{
    const struct rayd_config *cfg = rt->n->cfg;
    if (!cfg->prestart_workers)
        return 0;
    return cfg->num_cpus >= 0 ? (int)cfg->num_cpus : cpu_count();
}

static void workers_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    workers_reap(rt); /* a safety net: signals of one kind merge */
    workers_reap_stuck(rt);
    spill_libraries_retry(rt);
    int timeout = rt->n->cfg->worker_idle_timeout_ms;
    if (timeout > 0) {
        long long now = net_now_ms();
        int keep = prestart_count(rt);
        for (struct worker *w = WS(rt)->workers; w; w = w->next) {
            if (w->host && w->nhosted == 0 && w->state == WORKER_BUSY &&
                now - w->idle_since_ms >= timeout) {
                log_debug("worker %.8s hosts no actor for %lld ms: stopping it", w->hex,
                          now - w->idle_since_ms);
                workers_kill(rt, w);
                continue;
            }
            if (w->state != WORKER_IDLE || w->actor || w->host || now - w->idle_since_ms < timeout)
                continue;
            if (job_pool_size(rt, w->job) <= keep)
                continue;
            log_debug("worker %.8s idle for %lld ms: stopping it", w->hex, now - w->idle_since_ms);
            workers_kill(rt, w);
        }
    }
    jobs_collect(rt);
}

/* The automatic cap on worker processes: what the machine's memory holds at
 * WORKERS_MEM_EACH a worker (a worker with its job library takes a few MiB;
 * the rest is room for what its tasks allocate), and never fewer than 32 a
 * CPU. */
#define WORKERS_MEM_EACH (16LL << 20)
static int workers_auto_cap(int cpus)
{
    long long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    long long by_mem = pages > 0 && psize > 0 ? pages * psize / WORKERS_MEM_EACH : 0;
    long long cap = by_mem > 32LL * cpus ? by_mem : 32LL * cpus;
    return cap > 10000 ? 10000 : (int)cap;
}

void workers_init(struct runtime *rt)
{
    struct node *n = rt->n;
    session_self_exe(); /* readlink once, here: spawns on the helper read the cached path */
    int cpus = cpu_count();
    WS(rt)->max_workers = n->cfg->max_workers > 0 ? n->cfg->max_workers : workers_auto_cap(cpus);
    WS(rt)->sigchld = evsignal_new(n->base, SIGCHLD, workers_sigchld_cb, rt);
    if (WS(rt)->sigchld == NULL || event_add(WS(rt)->sigchld, NULL) < 0)
        log_error("cannot watch SIGCHLD: workers are reaped once a second only");
    WS(rt)->ready_ev = event_new(n->base, -1, 0, workers_ready_cb, rt);
    WS(rt)->tick = event_new(n->base, -1, EV_PERSIST, workers_tick_cb, rt);
    struct timeval tv = { WORKERS_TICK_MS / 1000, (WORKERS_TICK_MS % 1000) * 1000 };
    event_add(WS(rt)->tick, &tv);
}

void workers_free(struct runtime *rt)
{
    if (rt == NULL)
        return;
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->pid > 0)
            kill(w->pid, SIGKILL);
    while (WS(rt)->workers) {
        struct worker *w = WS(rt)->workers;
        if (w->pid > 0)
            while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        /* tasks are freed after workers (runtime_free): their records are
         * flushed then and must not read a freed worker */
        if (w->task && task_worker(w->task) == w)
            task_set_worker(w->task, NULL);
        for (struct task *t = w->nest_head; t; t = task_next(t))
            if (task_worker(t) == w)
                task_set_worker(t, NULL);
        w->task = NULL;
        w->nest_head = NULL;
        if (w->actor && actor_worker(w->actor) == w)
            actor_set_worker(w->actor, NULL); /* actors_free runs after us */
        w->actor = NULL;
        for (int i = 0; i < w->nhosted; i++)
            if (actor_worker(w->hosted[i]) == w)
                actor_set_worker(w->hosted[i], NULL);
        w->nhosted = 0;
        w->job = NULL;    /* jobs and clients may be freed already */
        w->client = NULL;
        worker_destroy(rt, w);
    }
    idmap_free(&WS(rt)->worker_by_id);
    if (WS(rt)->sigchld) {
        event_free(WS(rt)->sigchld);
        WS(rt)->sigchld = NULL;
    }
    if (WS(rt)->tick) {
        event_free(WS(rt)->tick);
        WS(rt)->tick = NULL;
    }
    if (WS(rt)->ready_ev) {
        event_free(WS(rt)->ready_ev);
        WS(rt)->ready_ev = NULL;
    }
    free(WS(rt)->ready);
    WS(rt)->ready = NULL;
    WS(rt)->nready = WS(rt)->ready_cap = 0;
}

/* The helper forked worker ID (a malloc'd copy, freed here): watch its
 * pipes. A worker killed meanwhile is killed now; one that could not be
 * forked dies as an exec failure would. */
static bool worker_spawned(struct runtime *rt, void *arg, const struct workers_spawn_result *res)
{
    uint8_t *id = arg;
    struct worker *w = idmap_get(&WS(rt)->worker_by_id, id);
    free(id);
    if (w == NULL || !w->spawning)
        return false; /* cannot happen: a spawning worker is never reaped */
    w->spawning = false;
    if (res->pid < 0) {
        log_error("job %s: cannot start a worker: %s", job_hex(w->job), res->err);
        worker_exited(rt, w, 127 << 8);
        jobs_collect(rt);
        if (!rt->stopping)
            tasks_schedule(rt);
        return true;
    }
    w->pid = res->pid;
    w->progress = res->progress;
    if (w->state == WORKER_DEAD && kill(w->pid, SIGKILL) < 0 && errno != ESRCH)
        log_warn("cannot kill worker pid %d", (int)w->pid);
    log_debug("job %s: worker %.8s started, pid %d%s%s", job_hex(w->job), w->hex, (int)w->pid,
              w->actor ? " for actor " : "", w->actor ? actor_hex(w->actor) : "");
    return true;
}

/* ---- hosts of shared actors ------------------------------------------------------- */

/* A live host of job J and environment RENV with room for one more actor. */
static struct worker *host_with_room(struct runtime *rt, struct job *j, const char *renv)
{
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->host && w->job == j && w->state != WORKER_DEAD && !w->exited &&
            w->nhosted < WORKERS_HOST_MAX && workers_renv_is(w, renv))
            return w;
    return NULL;
}

/* Loop turn after an actor joined a connected host: send the constructors. */
static void workers_ready_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    struct workers_state *ws = WS(rt);
    /* actors_worker_ready may add to the list (a restart): take it first */
    struct host_ready *list = ws->ready;
    size_t n = ws->nready;
    ws->ready = NULL;
    ws->nready = ws->ready_cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct actor *a = actors_find(rt, list[i].actor);
        struct worker *w = idmap_get(&ws->worker_by_id, list[i].worker);
        /* (not sent yet: a kill and a restart into W in one turn list it twice) */
        if (a && w && actor_worker(a) == w && actor_create(a) &&
            task_worker(actor_create(a)) != w && w->client && w->state != WORKER_DEAD)
            actors_worker_ready(rt, a, w);
    }
    free(list);
}

/* A joins host W: its constructor goes when W is connected (next loop turn,
 * not from inside the scheduler's spawn that called us). */
static void host_add(struct runtime *rt, struct worker *w, struct actor *a)
{
    if (w->nhosted == w->hosted_cap) {
        w->hosted_cap = w->hosted_cap ? 2 * w->hosted_cap : 8;
        w->hosted = xreallocarray(w->hosted, (size_t)w->hosted_cap, sizeof *w->hosted);
    }
    w->hosted[w->nhosted++] = a;
    if (w->client == NULL)
        return; /* workers_connected sends it */
    struct workers_state *ws = WS(rt);
    if (ws->nready == ws->ready_cap) {
        ws->ready_cap = ws->ready_cap ? 2 * ws->ready_cap : 64;
        ws->ready = xreallocarray(ws->ready, ws->ready_cap, sizeof *ws->ready);
    }
    memcpy(ws->ready[ws->nready].actor, actor_id(a), IDS_SIZE);
    memcpy(ws->ready[ws->nready].worker, w->id, IDS_SIZE);
    ws->nready++;
    if (ws->ready_ev)
        event_active(ws->ready_ev, EV_TIMEOUT, 1);
}

bool workers_is_host(const struct worker *w)
{
    return w->host;
}

void workers_host_end(struct runtime *rt, struct worker *w, struct actor *a)
{
    (void)rt;
    int i = 0;
    while (i < w->nhosted && w->hosted[i] != a)
        i++;
    if (i == w->nhosted)
        return;
    memmove(&w->hosted[i], &w->hosted[i + 1], (size_t)(w->nhosted - i - 1) * sizeof *w->hosted);
    if (--w->nhosted == 0)
        w->idle_since_ms = net_now_ms(); /* stopped by the tick if it stays empty */
    if (w->client == NULL || w->state == WORKER_DEAD)
        return;
    /* the worker ends that actor: {id, fn, kind "actor_free", actor} */
    struct buf spec = BUF_INIT;
    mpw_map(&spec, 4);
    mpw_cstr(&spec, "id");
    mpw_bin(&spec, actor_id(a), IDS_SIZE);
    mpw_cstr(&spec, "fn");
    mpw_cstr(&spec, actor_cls(a) ? actor_cls(a) : "?");
    mpw_cstr(&spec, "kind");
    mpw_cstr(&spec, "actor_free");
    mpw_cstr(&spec, "actor");
    mpw_bin(&spec, actor_id(a), IDS_SIZE);
    static const uint8_t nil = 0xc0;
    conn_send(client_conn(w->client), PROTO_TASK_EXECUTE, spec.data, spec.len, &nil, (size_t)1);
    buf_free(&spec);
}

struct task *workers_hosted_task(const struct worker *w, const uint8_t *id)
{
    for (int i = 0; i < w->nhosted; i++) {
        struct actor *a = w->hosted[i];
        if (actor_create(a) && memcmp(task_id(actor_create(a)), id, IDS_SIZE) == 0)
            return actor_create(a);
        for (struct task *t = actor_running(a); t; t = task_next(t))
            if (memcmp(task_id(t), id, IDS_SIZE) == 0)
                return t;
    }
    return NULL;
}

int workers_nhosted(const struct worker *w)
{
    return w->nhosted;
}

struct actor *workers_hosted(const struct worker *w, int i)
{
    return i >= 0 && i < w->nhosted ? w->hosted[i] : NULL;
}

struct worker *workers_spawn(struct runtime *rt, struct job *j, struct actor *a, const char *gpus)
{
    return workers_spawn_env(rt, j, a, gpus, j ? job_renv(j) : NULL);
}

bool workers_renv_is(const struct worker *w, const char *renv)
{
    const char *a = w->renv ? w->renv : "", *b = renv ? renv : "";
    return strcmp(a, b) == 0;
}

struct worker *workers_spawn_env(struct runtime *rt, struct job *j, struct actor *a,
                                 const char *gpus, const char *renv)
{
    struct node *n = rt->n;
    if (gpus == NULL)
        gpus = "";
    /* a detached actor outlives its job: it may start (or restart) after it */
    if (rt->stopping || ((job_ending(j) || job_ended(j)) && !(a && actor_detached(a))))
        return NULL;
    if (job_lib_path(j) == NULL) {
        log_debug("job %s: no library yet, no worker", job_hex(j));
        return NULL;
    }
    bool share = a && actor_shared(a) && gpus[0] == '\0';
    if (share) {
        struct worker *h = host_with_room(rt, j, renv);
        if (h) {
            host_add(rt, h, a);
            return h;
        }
    }
    if (WS(rt)->nworkers >= WS(rt)->max_workers) {
        log_debug("worker cap reached (%d)", WS(rt)->max_workers);
        return NULL;
    }
    if (WS(rt)->nstarting >= max_starting())
        return NULL; /* tasks_schedule retries when one connects */
    if (strlen(gpus) >= sizeof ((struct worker *)0)->gpus) {
        log_error("job %s: GPU list '%.32s...' too long", job_hex(j), gpus);
        return NULL;
    }

    char **extra = NULL;
    size_t nextra = 0;
    if (renv_worker_env(rt, renv, &extra, &nextra) != 0)
        return NULL; /* being fetched, or malformed (logged) */
    struct worker *w = xcalloc(1, sizeof *w);
    ids_random(w->id, sizeof w->id);
    w->renv = renv && renv[0] ? xstrdup(renv) : NULL;
    ids_hex(w->id, sizeof w->id, w->hex);
    w->out_fd = w->err_fd = -1;
    snprintf(w->gpus, sizeof w->gpus, "%s", gpus);

    char **set = xcalloc(12 + nextra, sizeof *set);
    int k = 0;
    for (size_t i = 0; i < nextra; i++)
        set[k++] = extra[i];
    free(extra);
    if (a) { /* a host too: its count of answers is the process's */
        snprintf(w->progress_name, sizeof w->progress_name, "/rayd-%d-progress-%.16s",
                 (int)getpid(), w->hex);
        set[k++] = xasprintf("RAY_WORKER_PROGRESS=%s", w->progress_name);
    }
    set[k++] = xasprintf("RAY_NODE_SOCKET=%s", n->sock_path);
    set[k++] = xasprintf("RAY_WORKER_ID=%s", w->hex);
    set[k++] = xasprintf("RAY_JOB_ID=%s", job_hex(j));
    set[k++] = xasprintf("RAY_JOB_LIBRARY=%s", job_lib_path(j));
    if (job_entrypoint(j))
        set[k++] = xasprintf("RAY_JOB_ENTRYPOINT=%s", job_entrypoint(j));
    set[k++] = xasprintf("RAY_NODE_ID=%s", n->hex);
    set[k++] = xasprintf("RAY_TOKEN=%s", n->token);
    set[k++] = xasprintf("RAY_SESSION_DIR=%s", n->session_dir);
    if (gpus[0])
        set[k++] = xasprintf("CUDA_VISIBLE_DEVICES=%s", gpus);
    set[k] = NULL;
    static const char *const unset_gpu[] = { "CUDA_VISIBLE_DEVICES", NULL };
    char **env = workers_env_build_((const char *const *)set, gpus[0] ? NULL : unset_gpu);
    for (int i = 0; i < k; i++)
        free(set[i]);
    free(set);

    static const char *const argv[] = { "rayd", "--worker", NULL };
    uint8_t *id = xmemdup(w->id, IDS_SIZE);
    char err[256];
    if (workers_spawn_async_(rt, argv, env, a ? w->progress_name : NULL, &w->out_fd, &w->err_fd,
                             worker_spawned, free, id, err, sizeof err) < 0) {
        log_error("job %s: cannot start a worker: %s", job_hex(j), err);
        free(id);
        free(w->renv);
        free(w);
        return NULL;
    }

    /* the worker exists from now on (STARTING, pid 0 until the helper has
     * forked it: worker_spawned); its HELLO may even come first */
    w->job = j;
    w->actor = share ? NULL : a;
    w->host = share;
    w->state = WORKER_STARTING;
    w->spawning = true;
    for (int s = 1; s <= 2; s++) {
        struct pipe_watch *x = xmalloc(sizeof *x);
        *x = (struct pipe_watch){ rt, w, s };
        struct event *ev = event_new(n->base, s == 1 ? w->out_fd : w->err_fd, EV_READ | EV_PERSIST,
                                     worker_pipe_cb, x);
        if (ev == NULL || event_add(ev, NULL) < 0)
            log_error("worker %.8s: cannot watch its output", w->hex);
        if (s == 1)
            w->out_ev = ev;
        else
            w->err_ev = ev;
        if (ev == NULL)
            free(x);
    }
    w->next = WS(rt)->workers;
    if (WS(rt)->workers)
        WS(rt)->workers->prev = w;
    WS(rt)->workers = w;
    idmap_put(&WS(rt)->worker_by_id, w->id, w);
    WS(rt)->nworkers++;
    WS(rt)->nstarting++;
    job_nworkers_add(j, 1);
    if (share)
        host_add(rt, w, a); /* its constructor is sent when it connects */
    return w;
}

struct worker *workers_idle(struct runtime *rt, struct job *j, const char *gpus)
{
    return workers_idle_env(rt, j, gpus, j ? job_renv(j) : NULL);
}

struct worker *workers_idle_env(struct runtime *rt, struct job *j, const char *gpus,
                                const char *renv)
{
    if (gpus == NULL)
        gpus = "";
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->job == j && w->state == WORKER_IDLE && w->actor == NULL && w->client &&
            strcmp(w->gpus, gpus) == 0 && workers_renv_is(w, renv))
            return w;
    return NULL;
}

bool workers_at_cap(const struct runtime *rt)
{
    return WS(rt)->nworkers >= WS(rt)->max_workers;
}

bool workers_reclaim_idle(struct runtime *rt)
{
    struct worker *oldest = NULL;
    for (struct worker *w = WS(rt)->workers; w; w = w->next) {
        if (w->state == WORKER_DEAD)
            return true; /* one is on its way out already */
        if (w->state == WORKER_IDLE && w->actor == NULL &&
            (oldest == NULL || w->idle_since_ms < oldest->idle_since_ms))
            oldest = w;
    }
    if (oldest == NULL)
        return false;
    log_debug("worker cap reached: stopping idle worker %.8s to make room", oldest->hex);
    workers_kill(rt, oldest);
    return true;
}

int workers_starting(struct runtime *rt, struct job *j)
{
    int n = 0;
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->job == j && w->state == WORKER_STARTING)
            n++;
    return n;
}

struct worker *workers_connected(struct runtime *rt, const uint8_t *id, struct client *cl)
{
    struct worker *w = idmap_get(&WS(rt)->worker_by_id, id);
    if (w == NULL || w->state != WORKER_STARTING)
        return NULL; /* unknown, killed, or a second HELLO */
    if (client_job(cl) && client_job(cl) != w->job) {
        log_warnx("worker %.8s says it is of job %s, but it was started for job %s", w->hex,
                  job_hex(client_job(cl)), job_hex(w->job));
        return NULL;
    }
    if (client_conn(cl) && client_conn(cl)->pid != w->pid)
        log_debug("worker %.8s: HELLO pid %d, started as %d", w->hex, (int)client_conn(cl)->pid,
                  (int)w->pid);
    w->client = cl;
    client_set_worker(cl, w);
    WS(rt)->nstarting--;
    w->idle_since_ms = net_now_ms();
    if (w->actor) {
        w->state = WORKER_BUSY;
        actors_worker_ready(rt, w->actor, w);
    } else if (w->host) {
        w->state = WORKER_BUSY; /* never idle: normal tasks are not for it */
        int n = w->nhosted;
        struct actor **list = xreallocarray(NULL, (size_t)n + 1, sizeof *list);
        if (n > 0)
            memcpy(list, w->hosted, (size_t)n * sizeof *list);
        for (int i = 0; i < n; i++) /* (one may die and leave the list meanwhile) */
            if (actor_worker(list[i]) == w && actor_create(list[i]) &&
                task_worker(actor_create(list[i])) != w)
                actors_worker_ready(rt, list[i], w);
        free(list);
    } else {
        w->state = WORKER_IDLE;
    }
    tasks_schedule(rt);
    return w;
}

void workers_set_idle(struct runtime *rt, struct worker *w)
{
    (void)rt;
    if (w->task && task_name(w->task))
        snprintf(w->last_name, sizeof w->last_name, "%s", task_name(w->task));
    w->task = NULL;
    if (w->state == WORKER_DEAD || w->state == WORKER_STARTING)
        return;
    w->state = WORKER_IDLE;
    w->idle_since_ms = net_now_ms();
}

void workers_kill(struct runtime *rt, struct worker *w)
{
    if (w->state == WORKER_DEAD)
        return;
    if (w->state == WORKER_STARTING)
        WS(rt)->nstarting--;
    w->state = WORKER_DEAD;
    if (w->pid > 0 && kill(w->pid, SIGKILL) < 0 && errno != ESRCH)
        log_warn("cannot kill worker pid %d", (int)w->pid);
}

void workers_kill_job(struct runtime *rt, struct job *j)
{
    for (struct worker *w = WS(rt)->workers; w; w = w->next)
        if (w->job == j && !(w->actor && actor_detached(w->actor)))
            workers_kill(rt, w);
}

void workers_prestart(struct runtime *rt, struct job *j, int n)
{
    if (!rt->n->cfg->prestart_workers)
        return;
    for (int have = job_pool_size(rt, j); have < n; have++)
        if (workers_spawn(rt, j, NULL, "") == NULL)
            break;
}

size_t workers_pids(const struct runtime *rt, pid_t *out, size_t max)
{
    size_t k = 0;
    for (const struct worker *w = WS(rt)->workers; w && k < max; w = w->next)
        if (w->pid > 0 && w->state != WORKER_DEAD)
            out[k++] = w->pid;
    return k;
}

struct worker *workers_first(const struct runtime *rt)
{
    return WS(rt)->workers;
}

struct worker *workers_find(const struct runtime *rt, const uint8_t *id)
{
    return idmap_get(&WS(rt)->worker_by_id, id);
}

int workers_count(const struct runtime *rt)
{
    return WS(rt)->nworkers;
}

int workers_cap(const struct runtime *rt)
{
    return WS(rt)->max_workers;
}

void workers_set_cap(struct runtime *rt, int cap)
{
    WS(rt)->max_workers = cap;
}
