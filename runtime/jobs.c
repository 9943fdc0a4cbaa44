/*
 * jobs.c — jobs on this node: JOB_SUBMIT from `ray submit` (store the
 * library, allocate a job number, start the driver, stream its output),
 * JOB_STOP, JOB_LIBRARY from standalone drivers, jobs of standalone drivers,
 * and the end of a job.
 *
 * DESIGN. A job number comes from INCR in the GCS, so it is allocated
 * asynchronously; the request waits in a struct pending, which the CLI
 * connection (conn->owner / on_close) points at until the reply, so a
 * connection that closes meanwhile is never touched again. Pending requests
 * are also kept in a list so that jobs_free can cut them off: the GCS client
 * outlives the runtime and calls every callback once, possibly afterwards.
 * Once numbered, the submit's library (and packed working directory) is
 * hashed and written on the helper thread (bio.h) and its driver forked
 * there; the request keeps the CLI connection until the driver runs
 * (driver_spawned), so a JOB_STOP or a close meanwhile is seen. Completions
 * find their job again by number, never by a pointer that may be stale.
 * Once started, a submitted job's connection points at the job: closing it
 * (or JOB_STOP) sends the driver SIGTERM, then SIGKILL 2 s later. The driver's
 * exit (reaped in workers.c) ends the job and sends JOB_EXIT once the
 * helper has written the job's log lines queued so far. An ended job
 * stays in the job list, marked `ended`, until nothing points at it any more (its
 * workers are reaped, its driver too, no client refers to it): jobs_collect
 * then unlinks and frees it.
 */
#include "runtime/jobs.h"
#include "runtime/actors.h"
#include "runtime/clients.h"
#include "runtime/cluster.h"
#include "runtime/objects.h"
#include "runtime/runtime_env.h"
#include "runtime/spillback.h"
#include "runtime/tasks.h"
#include "runtime/workers.h"
#include "common/runtime_env.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/sha256.h"
#include "common/xmalloc.h"
#include "session/session.h"
#include "gcs/gcs.h"
#include "ray.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* This file's part of the runtime's state (rt->js): made zeroed on first use, so it reads as before its init
 * and after its free, as the fields of the calloc'd runtime did;
 * runtime_free frees the block itself. */
struct jobs_state {
    struct job *jobs;           /* newest first */
};

static struct jobs_state *JS(const struct runtime *rt)
{
    if (rt->js == NULL) /* RT's other fields stay unchanged: const for its readers */
        ((struct runtime *)rt)->js = xcalloc(1, sizeof *rt->js);
    return rt->js;
}

/* A job this node knows: its own (a driver here), or a remote one whose
 * work was placed here. */
struct job {
    uint32_t num;
    char hex[9];
    char *lib_path;          /* cached library; NULL until known */
    bool lib_fetching;       /* a remote job's library is being read from the GCS (spillback.c) */
    bool lib_missing_told;   /* ... and its absence was logged once */
    char *entrypoint;        /* the library as its user named it, for messages; NULL if unknown */
    char lib_hash[65];
    struct conn *submitter;  /* the `ray submit` connection (NULL for standalone) */
    struct conn_owner submitter_co; /* CONN_OWNER_SUBMITTER: SUBMITTER's owner */
    struct runtime *rt;
    struct client *driver;
    pid_t driver_pid;        /* a driver the node started; -1 otherwise */
    int drv_out_fd, drv_err_fd;
    struct event *drv_out_ev, *drv_err_ev;
    struct buf drv_out_line, drv_err_line;
    bool ending, ended;
    bool warned_cap;         /* its driver was told the worker cap holds work back */
    int nworkers;
    struct event *kill_timer;
    struct bio_file *logf;   /* logs/job-<hex>.log, written by the helper (bio.h) */
    struct bio_file *errf;   /* logs/job-<hex>.err */
    bool remote;             /* a job of another node whose tasks were placed here */
    char origin[IDS_HEX_SIZE]; /* that node (its driver's), for output and end */
    char *renv;              /* the job's canonical runtime_env (ray submit), or NULL */
    bool adopted;            /* its driver reconnected here after its node died (jobs_adopt) */
    bool has_exit;           /* that driver sent DRIVER_EXIT */
    int exit_code;
    struct job *next, *prev;
};

struct job *jobs_first(const struct runtime *rt)
{
    return JS(rt)->jobs;
}

struct job *job_next(const struct job *j)
{
    return j->next;
}

uint32_t job_num(const struct job *j)
{
    return j->num;
}

const char *job_hex(const struct job *j)
{
    return j->hex;
}

const char *job_lib_path(const struct job *j)
{
    return j->lib_path;
}

const char *job_lib_hash(const struct job *j)
{
    return j->lib_hash;
}

const char *job_entrypoint(const struct job *j)
{
    return j->entrypoint;
}

bool job_lib_fetching(const struct job *j)
{
    return j->lib_fetching;
}

void job_set_lib_fetching(struct job *j, bool on)
{
    j->lib_fetching = on;
}

bool job_lib_missing_told(const struct job *j)
{
    return j->lib_missing_told;
}

void job_set_lib_missing_told(struct job *j)
{
    j->lib_missing_told = true;
}

bool job_warned_cap(const struct job *j)
{
    return j->warned_cap;
}

void job_set_warned_cap(struct job *j)
{
    j->warned_cap = true;
}

struct conn *job_submitter(const struct job *j)
{
    return j->submitter;
}

struct client *job_driver(const struct job *j)
{
    return j->driver;
}

void job_set_driver(struct job *j, struct client *cl)
{
    j->driver = cl;
}

pid_t job_driver_pid(const struct job *j)
{
    return j->driver_pid;
}

bool job_ending(const struct job *j)
{
    return j->ending;
}

bool job_ended(const struct job *j)
{
    return j->ended;
}

int job_nworkers(const struct job *j)
{
    return j->nworkers;
}

void job_nworkers_add(struct job *j, int delta)
{
    j->nworkers += delta;
}

bool job_remote(const struct job *j)
{
    return j->remote;
}

const char *job_origin(const struct job *j)
{
    return j->origin;
}

const char *job_renv(const struct job *j)
{
    return j->renv;
}


#define JOBS_MAX_ARGS 1000
#define JOBS_KILL_DELAY_MS 2000

/* A job number being allocated (for a submit or a standalone driver). */
struct pending {
    struct runtime *rt;          /* NULL once jobs_free cut it off */
    struct conn *c;              /* submit: the CLI connection, NULL once gone */
    struct conn_owner co;        /* CONN_OWNER_PENDING_JOB: C's owner */
    bool standalone;
    void (*done)(void *arg, struct job *j);
    void *arg;
    void *lib;                   /* submit: library bytes (owned) */
    size_t liblen;
    char **argv;                 /* submit: job arguments (owned) */
    int argc;
    char *entrypoint;            /* submit: options.entrypoint or NULL (owned) */
    char *renv;                  /* submit: options.runtime_env (canonical) or NULL (owned) */
    void *wd;                    /* submit: options.working_dir, the packed directory (owned) */
    size_t wdlen;
    bool stop;                   /* JOB_STOP arrived before the job started */
    /* submit, once numbered: the library and working directory stored on
     * the helper thread (submit_store_work), then the driver forked there */
    uint32_t num;
    struct libstore *ls;         /* owned */
    char *wd_hash;               /* the working directory's hash, if any (owned) */
    char *session_dir;           /* owned */
    int wd_rc;
    int drv_out, drv_err;        /* the driver's pipes (read ends) until the job has them */
    struct event *retry_ev;      /* asking the GCS for a job number again (number_later) */
    int asks;                    /* job-number requests made */
    struct pending *next, *prev;
};

static struct pending *pending_list; /* every pending request of this process */
struct libstore;
static void libstore_free(struct libstore *ls);

/* The argument of a driver pipe's read event: freed with the event. */
struct drv_watch {
    struct runtime *rt;
    struct job *j;
    int stream;
};

static void pending_free(struct pending *p)
{
    if (p == NULL)
        return;
    if (p->prev)
        p->prev->next = p->next;
    else if (pending_list == p)
        pending_list = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p->lib);
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p->argv);
    free(p->entrypoint);
    free(p->renv);
    free(p->wd);
    if (p->ls)
        libstore_free(p->ls);
    free(p->wd_hash);
    free(p->session_dir);
    if (p->drv_out >= 0)
        close(p->drv_out);
    if (p->drv_err >= 0)
        close(p->drv_err);
    if (p->retry_ev)
        event_free(p->retry_ev);
    free(p);
}

static struct pending *pending_new(struct runtime *rt)
{
    struct pending *p = xcalloc(1, sizeof *p);
    p->rt = rt;
    p->drv_out = p->drv_err = -1;
    p->next = pending_list;
    if (pending_list)
        pending_list->prev = p;
    pending_list = p;
    return p;
}

/* ---- job records ------------------------------------------------------------ */

static struct job *job_new(struct runtime *rt, uint32_t num)
{
    struct job *j = xcalloc(1, sizeof *j);
    j->num = num;
    j->rt = rt;
    snprintf(j->hex, sizeof j->hex, "%08x", num);
    j->driver_pid = -1;
    j->drv_out_fd = j->drv_err_fd = -1;
    j->next = JS(rt)->jobs;
    if (JS(rt)->jobs)
        JS(rt)->jobs->prev = j;
    JS(rt)->jobs = j;
    return j;
}

static void drv_event_free(struct event **ev)
{
    if (*ev == NULL)
        return;
    free(event_get_callback_arg(*ev));
    event_free(*ev);
    *ev = NULL;
}

static void job_destroy(struct runtime *rt, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        JS(rt)->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    if (j->submitter)
        conn_set_owner(j->submitter, NULL);
    drv_event_free(&j->drv_out_ev);
    drv_event_free(&j->drv_err_ev);
    if (j->drv_out_fd >= 0)
        close(j->drv_out_fd);
    if (j->drv_err_fd >= 0)
        close(j->drv_err_fd);
    buf_free(&j->drv_out_line);
    buf_free(&j->drv_err_line);
    if (j->kill_timer)
        event_free(j->kill_timer);
    free(j->lib_path);
    free(j->entrypoint);
    free(j->renv);
    bio_file_close(j->logf);
    bio_file_close(j->errf);
    free(j);
}

static bool job_referenced(struct runtime *rt, struct job *j)
{
    if (j->nworkers > 0 || j->driver_pid > 0 || j->driver || j->submitter)
        return true;
    for (struct client *cl = client_first(rt); cl; cl = client_next(cl))
        if (client_job(cl) == j)
            return true;
    for (struct worker *w = workers_first(rt); w; w = worker_next(w))
        if (worker_job(w) == j)
            return true;
    return actors_job_in_use(rt, j); /* a detached actor's record points at it */
}

void jobs_collect(struct runtime *rt)
{
    for (struct job *j = JS(rt)->jobs, *next; j; j = next) {
        next = j->next;
        if (j->ended && !job_referenced(rt, j)) {
            log_debug("job %s: freed", j->hex);
            job_destroy(rt, j);
        }
    }
}

/* ---- the library --------------------------------------------------------------- */

/* Library bytes being hashed and written to <session>/jobs/<sha256>.so on
 * the helper thread (bio.h). */
struct libstore {
    struct runtime *rt;
    uint32_t num;                /* the job, found again by number when done */
    char *dir;                   /* <session>/jobs */
    void *bytes;                 /* owned */
    size_t len;
    char hash[2 * SHA256_SIZE + 1]; /* set on the helper */
    char *path;                  /* set on the helper; NULL on failure */
    /* then, on the loop: NULL for a plain store (spillback's fetched library) */
    void (*then)(struct libstore *ls, struct job *j);
    char *entrypoint;            /* JOB_LIBRARY: the driver's name for it (owned) */
    uint64_t conn_id;            /* JOB_LIBRARY: the driver's connection, held meanwhile */
    bool cancelled;              /* set before THEN runs at cancel */
};

/* On the helper: hash, then write a temp file and rename it (a reader never
 * sees half a library). Sets LS->path, or leaves it NULL (logged). */
static void libstore_work(void *arg)
{
    struct libstore *ls = arg;
    uint8_t digest[SHA256_SIZE];
    char *path = NULL, *tmp = NULL;
    int fd = -1;
    sha256(ls->bytes, ls->len, digest);
    ids_hex(digest, sizeof digest, ls->hash);
    path = xasprintf("%s/%s.so", ls->dir, ls->hash);
    if (session_mkdirs(ls->dir, 0700) < 0) {
        log_warn("cannot create %s", ls->dir);
        goto fail;
    }
    struct stat st;
    if (stat(path, &st) < 0 || (size_t)st.st_size != ls->len) {
        tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || net_write_all(fd, ls->bytes, ls->len) < 0) {
            log_warn("cannot write %s", tmp);
            goto fail;
        }
        if (close(fd) < 0) {
            fd = -1;
            log_warn("cannot write %s", tmp);
            goto fail;
        }
        fd = -1;
        if (rename(tmp, path) < 0) {
            log_warn("cannot rename %s", tmp);
            goto fail;
        }
    }
    ls->path = path;
    free(tmp);
    return;
fail:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(path);
    free(tmp);
}

static void libstore_free(struct libstore *ls)
{
    free(ls->dir);
    free(ls->bytes);
    free(ls->path);
    free(ls->entrypoint);
    free(ls);
}

/* Give J the stored library: path, hash, function table. */
static void libstore_apply(struct libstore *ls, struct job *j)
{
    gcs_function_put(ls->rt->n->gcs, ls->hash, ls->bytes, ls->len, NULL, NULL);
    free(j->lib_path);
    j->lib_path = ls->path;
    ls->path = NULL;
    memcpy(j->lib_hash, ls->hash, sizeof j->lib_hash);
}

static void libstore_done(void *arg, bool cancelled)
{
    struct libstore *ls = arg;
    if (cancelled) {
        ls->cancelled = true;
        if (ls->then)
            ls->then(ls, NULL);
        libstore_free(ls);
        return;
    }
    struct runtime *rt = ls->rt;
    struct job *j = rt_job_find(rt, ls->num);
    /* an ended job's fetched library is still stored for its detached
     * actors (they start after it: actors_job_in_use) */
    if (j && j->ended && (ls->then || !actors_job_in_use(rt, j)))
        j = NULL;
    if (ls->then) {
        ls->then(ls, j);
    } else if (j && ls->path) {
        libstore_apply(ls, j);
        tasks_schedule(rt); /* tasks that waited for a library can get workers now */
    } else if (j) {
        log_warnx("job %s: cannot store its library", j->hex);
    }
    libstore_free(ls);
}

/* A store of LEN BYTES (copied) for job J; THEN(LS, job) will run on the
 * loop with the job (NULL if it is gone or ended, or at cancel: LS->rt is
 * not to be used then). The caller may fill LS->entrypoint and LS->conn_id,
 * then hands it to libstore_start. */
static struct libstore *libstore_new(struct runtime *rt, struct job *j, const void *bytes,
                                     size_t len, void (*then)(struct libstore *, struct job *))
{
    struct libstore *ls = xcalloc(1, sizeof *ls);
    ls->rt = rt;
    ls->num = j->num;
    ls->dir = xasprintf("%s/jobs", rt->n->session_dir);
    ls->bytes = xmemdup(bytes, len);
    ls->len = len;
    ls->then = then;
    return ls;
}

/* Hash and store LS off the loop (libstore_done follows). */
static void libstore_start(struct runtime *rt, struct libstore *ls)
{
    bio_submit(rt->bio, libstore_work, libstore_done, ls);
}

int jobs_set_library(struct runtime *rt, struct job *j, const void *bytes, size_t len)
{
    if (len == 0) {
        log_warnx("job %s: empty library", j->hex);
        return -1;
    }
    libstore_start(rt, libstore_new(rt, j, bytes, len, NULL));
    return 0;
}

/* ---- the driver process ------------------------------------------------------- */

static void drv_line(void *arg, const char *line, size_t len)
{
    struct drv_watch *x = arg;
    rt_job_log(x->rt, x->j, x->stream, line, len);
}

static void drv_read(struct runtime *rt, struct job *j, int stream, bool drain)
{
    int *fd = stream == 1 ? &j->drv_out_fd : &j->drv_err_fd;
    if (*fd < 0)
        return;
    struct drv_watch x = { rt, j, stream };
    if (workers_pipe_read_(*fd, stream == 1 ? &j->drv_out_line : &j->drv_err_line, drain,
                           drv_line, &x, NULL)) {
        drv_event_free(stream == 1 ? &j->drv_out_ev : &j->drv_err_ev);
        close(*fd);
        *fd = -1;
    }
}

static void drv_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct drv_watch *x = arg;
    drv_read(x->rt, x->j, x->stream, false);
}

static void pending_detach(struct pending *p);
static void job_record_put(struct runtime *rt, struct job *j, const char *entrypoint);
static void job_stop(struct runtime *rt, struct job *j);
static void submitter_closed(struct conn *c, struct conn_owner *o);

static void pending_free_arg(void *arg)
{
    pending_free(arg);
}

/* The helper forked P's driver (or could not): the job starts, or the CLI
 * hears why not. A CLI that left, or a job stopped meanwhile, gets no
 * driver (the child is killed). */
static bool driver_spawned(struct runtime *rt, void *arg, const struct workers_spawn_result *res)
{
    struct pending *p = arg;
    struct conn *c = p->c;
    struct job *j = rt_job_find(rt, p->num);
    bool took = false;
    if (res->pid < 0) {
        log_error("job %08x: cannot start its driver: %s", p->num, res->err);
        if (c) {
            pending_detach(p);
            conn_fail(c, RAY_EINVAL, "cannot start the driver: %s", res->err);
        }
        if (j && !j->ending)
            job_destroy(rt, j);
        goto out;
    }
    if (j == NULL || j->ending || c == NULL) {
        if (c) {
            pending_detach(p);
            conn_fail(c, RAY_ECONN, "job %08x was stopped before its driver started", p->num);
        }
        if (j && !j->ending)
            job_destroy(rt, j);
        goto out;
    }
    took = true;
    j->driver_pid = res->pid;
    j->drv_out_fd = p->drv_out;
    j->drv_err_fd = p->drv_err;
    p->drv_out = p->drv_err = -1;
    for (int s = 1; s <= 2; s++) {
        struct drv_watch *x = xmalloc(sizeof *x);
        *x = (struct drv_watch){ rt, j, s };
        struct event *ev = event_new(rt->n->base, s == 1 ? j->drv_out_fd : j->drv_err_fd,
                                     EV_READ | EV_PERSIST, drv_pipe_cb, x);
        if (ev == NULL || event_add(ev, NULL) < 0)
            log_error("job %s: cannot watch the driver's output", j->hex);
        if (ev == NULL)
            free(x);
        if (s == 1)
            j->drv_out_ev = ev;
        else
            j->drv_err_ev = ev;
    }
    pending_detach(p);
    j->submitter = c;
    j->submitter_co = (struct conn_owner){ CONN_OWNER_SUBMITTER, submitter_closed };
    conn_set_owner(c, &j->submitter_co);
    log_info("job %s: driver pid %d started (%s)", j->hex, (int)j->driver_pid,
             p->entrypoint ? p->entrypoint : "?");
    job_record_put(rt, j, p->entrypoint);
    gcs_event_add(rt->n->gcs, "JOB_STARTED", j->hex, rt->n->hex, p->entrypoint);
    conn_send(c, PROTO_JOB_STARTED, j->hex, rt->n->hex);
    if (p->stop)
        job_stop(rt, j);
out:
    pending_free(p);
    return took;
}

/* Start `rayd --driver ARGV...` for J (the helper forks it; driver_spawned
 * goes on, and owns P from now; its output waits in the pipes until then).
 * Returns 0, or -1 with ERR (P is still the caller's). */
static int driver_spawn(struct runtime *rt, struct job *j, struct pending *p, char *err,
                        size_t errlen)
{
    struct node *n = rt->n;
    char **extra = NULL;
    size_t nextra = 0;
    if (renv_worker_env(rt, j->renv, &extra, &nextra) != 0) {
        snprintf(err, errlen, "bad runtime_env");
        return -1;
    }
    char **set = xcalloc(8 + nextra, sizeof *set);
    int k = 0;
    for (size_t i = 0; i < nextra; i++)
        set[k++] = extra[i];
    free(extra);
    set[k++] = xasprintf("RAY_NODE_SOCKET=%s", n->sock_path);
    set[k++] = xasprintf("RAY_JOB_ID=%s", j->hex);
    set[k++] = xasprintf("RAY_JOB_LIBRARY=%s", j->lib_path);
    if (j->entrypoint)
        set[k++] = xasprintf("RAY_JOB_ENTRYPOINT=%s", j->entrypoint);
    set[k++] = xasprintf("RAY_NODE_ID=%s", n->hex);
    set[k++] = xasprintf("RAY_TOKEN=%s", n->token);
    set[k++] = xasprintf("RAY_SESSION_DIR=%s", n->session_dir);
    set[k] = NULL;
    static const char *const unset[] = { "RAY_WORKER_ID", NULL };
    char **env = workers_env_build_((const char *const *)set, unset);
    for (int i = 0; i < k; i++)
        free(set[i]);
    free(set);
    const char **argv = xcalloc((size_t)p->argc + 3, sizeof *argv);
    argv[0] = "rayd";
    argv[1] = "--driver";
    for (int i = 0; i < p->argc; i++)
        argv[2 + i] = p->argv[i];
    int rc = workers_spawn_async_(rt, argv, env, NULL, &p->drv_out, &p->drv_err, driver_spawned,
                                  pending_free_arg, p, err, errlen);
    free(argv);
    return rc;
}

static void kill_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct job *j = arg;
    if (j->driver_pid > 0) {
        log_info("job %s: driver pid %d ignored SIGTERM: killing it", j->hex, (int)j->driver_pid);
        kill(j->driver_pid, SIGKILL);
    }
}

/* Ask J's driver to stop: SIGTERM now, SIGKILL in 2 s. Without a driver
 * process of ours, end the job at once. */
static void job_stop(struct runtime *rt, struct job *j)
{
    if (j->driver_pid <= 0) {
        jobs_end(rt, j, "STOPPED");
        return;
    }
    if (j->kill_timer && evtimer_pending(j->kill_timer, NULL))
        return;
    log_info("job %s: stopping driver pid %d", j->hex, (int)j->driver_pid);
    kill(j->driver_pid, SIGTERM);
    if (j->kill_timer == NULL)
        j->kill_timer = evtimer_new(rt->n->base, kill_timer_cb, j);
    struct timeval tv = { JOBS_KILL_DELAY_MS / 1000, (JOBS_KILL_DELAY_MS % 1000) * 1000 };
    evtimer_add(j->kill_timer, &tv);
}

/* on_close of a submitter's connection (owner: the job). */
static void submitter_closed(struct conn *c, struct conn_owner *o)
{
    (void)c;
    struct job *j = CONN_OWNER_OF(o, struct job, submitter_co);
    j->submitter = NULL;
    if (!j->ending)
        job_stop(j->rt, j);
}

static void submitter_detach(struct job *j)
{
    if (j->submitter == NULL)
        return;
    conn_set_owner(j->submitter, NULL);
    j->submitter = NULL;
}

/* A driver's exit, told to its submitter once its output is written. */
struct exit_note {
    struct runtime *rt;
    uint32_t num;
    int code;
    char msg[128];
};

static void exit_note_done(void *arg, bool cancelled)
{
    struct exit_note *x = arg;
    struct job *j = cancelled ? NULL : rt_job_find(x->rt, x->num);
    if (j && j->submitter) {
        conn_send(j->submitter, PROTO_JOB_EXIT, (int64_t)x->code, x->msg);
        submitter_detach(j); /* JOB_EXIT is the last word; the CLI closes */
        jobs_collect(x->rt);
    }
    free(x);
}

void jobs_driver_exited(struct runtime *rt, struct job *j, int status)
{
    j->driver_pid = -1;
    if (j->kill_timer)
        evtimer_del(j->kill_timer);
    drv_read(rt, j, 1, true);
    drv_read(rt, j, 2, true);
    for (struct worker *w = workers_first(rt); w; w = worker_next(w))
        if (worker_job(w) == j)
            workers_drain_output(rt, w);
    int code = 0;
    char msg[128] = "";
    if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        code = 128 + sig;
        snprintf(msg, sizeof msg, "driver killed by signal %d (%s)", sig, strsignal(sig));
    }
    log_info("job %s: driver exited with status %d%s%s", j->hex, code, msg[0] ? ": " : "", msg);
    if (j->submitter) {
        /* JOB_EXIT once the helper thread has written the lines queued so
         * far: a `ray submit` that returned finds its whole log on disk */
        struct exit_note *x = xcalloc(1, sizeof *x);
        x->rt = rt;
        x->num = j->num;
        x->code = code;
        snprintf(x->msg, sizeof x->msg, "%s", msg);
        bio_submit(rt->bio, NULL, exit_note_done, x);
    }
    jobs_end(rt, j, code == 0 ? "FINISHED" : "FAILED");
}

bool jobs_child_exited(struct runtime *rt, pid_t pid, int status)
{
    if (pid <= 0)
        return false;
    for (struct job *j = JS(rt)->jobs; j; j = j->next)
        if (j->driver_pid == pid) {
            jobs_driver_exited(rt, j, status);
            return true;
        }
    return false;
}

void jobs_end(struct runtime *rt, struct job *j, const char *state)
{
    struct node *n = rt->n;
    if (j->ending)
        return;
    j->ending = true;
    log_info("job %s: ended (%s)", j->hex, state);
    if (j->driver_pid > 0)
        job_stop(rt, j);
    tasks_job_ended(rt, j);
    actors_job_ended(rt, j);
    workers_kill_job(rt, j);
    objects_delete_job(rt, j->num);
    spill_job_ended(rt, j);
    if (!j->remote) {
        gcs_job_set_state(n->gcs, j->hex, state, net_wall_ms());
        gcs_job_cleanup(n->gcs, j->hex, false); /* task records: at the sweeps (objlife.c) */
        gcs_event_add(n->gcs, "JOB_FINISHED", j->hex, n->hex, state);
    }
    j->ended = true;
}

struct job *jobs_adopt(struct runtime *rt, uint32_t num, const char *old_node, const char *lib_hash)
{
    struct job *j = NULL;
    for (struct job *k = JS(rt)->jobs; k; k = k->next)
        if (k->num == num && !k->ended)
            j = k;
    if (j == NULL)
        j = job_new(rt, num);
    j->remote = false; /* placed work of it may have come here already */
    j->adopted = true;
    j->origin[0] = '\0';
    if (lib_hash && lib_hash[0]) {
        snprintf(j->lib_hash, sizeof j->lib_hash, "%s", lib_hash);
        char path[4096];
        snprintf(path, sizeof path, "%s/jobs/%s.so", rt->n->session_dir, lib_hash);
        if (j->lib_path == NULL && access(path, R_OK) == 0)
            j->lib_path = xstrdup(path);
    }
    struct gcs_client *g = rt->n->gcs;
    char *key = xasprintf("%sjob:%s", gcs_client_prefix(g), j->hex);
    gcs_command(g, NULL, NULL, "HSET %s driver_node %s driver_pid 0", key, rt->n->hex);
    free(key);
    char msg[96];
    snprintf(msg, sizeof msg, "its driver reconnected here (its node %.8s died)", old_node);
    gcs_event_add(g, "JOB_DRIVER_RECONNECTED", j->hex, rt->n->hex, msg);
    log_warnx("job %s: %s", j->hex, msg);
    return j;
}

struct job *jobs_new_remote(struct runtime *rt, uint32_t num, const char *origin,
                            const char *lib_hash)
{
    for (struct job *j = JS(rt)->jobs; j; j = j->next)
        if (j->num == num && !j->ended) {
            if (j->remote && strcmp(j->origin, origin) != 0) {
                /* its driver reconnected to another node (its first died):
                 * results and output go there now */
                log_info("job %s: its driver's node is %.8s now (was %.8s)", j->hex, origin,
                         j->origin);
                snprintf(j->origin, sizeof j->origin, "%s", origin);
                cluster_learn(rt, origin);
            }
            return j;
        }
    struct job *j = job_new(rt, num);
    j->remote = true;
    snprintf(j->origin, sizeof j->origin, "%s", origin);
    snprintf(j->lib_hash, sizeof j->lib_hash, "%s", lib_hash);
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs/%s.so", rt->n->session_dir, lib_hash);
    if (access(path, R_OK) == 0)
        j->lib_path = xstrdup(path);
    log_info("job %s of node %.8s: placed work arrives here", j->hex, origin);
    cluster_learn(rt, origin); /* its results go back there */
    return j;
}

static int cpu_count(struct runtime *rt)
{
    double cpus = rt->n->cfg->num_cpus;
    if (cpus >= 0)
        return (int)cpus;
    return workers_cpu_count_();
}

static void job_record_put(struct runtime *rt, struct job *j, const char *entrypoint)
{
    struct gcs_job g = {
        .job_id = j->hex,
        .state = "RUNNING",
        .driver_node = rt->n->hex,
        .library_hash = j->lib_hash,
        .entrypoint = (char *)(entrypoint ? entrypoint : ""),
        .driver_pid = j->driver_pid,
        .start_time_ms = net_wall_ms(),
    };
    gcs_job_put(rt->n->gcs, &g, NULL, NULL);
}

void jobs_driver_connected(struct runtime *rt, struct job *j)
{
    if (j->driver_pid > 0 && !j->ending)
        workers_prestart(rt, j, cpu_count(rt));
}

/* ---- JOB_SUBMIT ------------------------------------------------------------------ */

/* on_close of a CLI connection whose job number is being allocated. */
static void pending_conn_closed(struct conn *c, struct conn_owner *o)
{
    (void)c;
    struct pending *p = CONN_OWNER_OF(o, struct pending, co);
    p->c = NULL;
}

static void pending_detach(struct pending *p)
{
    if (p->c == NULL)
        return;
    conn_set_owner(p->c, NULL);
    p->c = NULL;
}

static uint32_t reply_job_number(const struct gcs_reply *r)
{
    if (gcs_reply_type(r) != GCS_REPLY_INTEGER)
        return 0;
    long long v = gcs_reply_integer(r);
    return v > 0 && v <= (long long)UINT32_MAX ? (uint32_t)v : 0;
}

/* On the helper: the packed working directory, then the library. */
static void submit_store_work(void *arg)
{
    struct pending *p = arg;
    if (p->wd_hash)
        p->wd_rc = renv_store_tar_(p->session_dir, p->wd_hash, p->wd, p->wdlen);
    libstore_work(p->ls);
}

/* Back on the loop: both stored (or not); start the driver. The CLI may
 * have left meanwhile (P->c NULL), or the job been stopped. */
static void submit_stored(void *arg, bool cancelled)
{
    struct pending *p = arg;
    struct runtime *rt = p->rt;
    struct conn *c = p->c;
    char err[256];
    struct job *j = cancelled || rt == NULL ? NULL : rt_job_find(rt, p->num);
    if (j == NULL || c == NULL || j->ending) {
        if (c) {
            pending_detach(p);
            conn_fail(c, RAY_ECONN, "job %08x was stopped before its driver started", p->num);
        }
        if (j && !j->ending)
            job_destroy(rt, j);
        pending_free(p);
        return;
    }
    if (p->wd_hash && p->wd_rc < 0) {
        pending_detach(p);
        conn_fail(c, RAY_EINVAL, "runtime_env.working_dir: the packed directory is missing or "
                  "does not match its hash");
        job_destroy(rt, j);
        pending_free(p);
        return;
    }
    if (p->wd_hash)
        gcs_function_put(rt->n->gcs, p->wd_hash, p->wd, p->wdlen, NULL, NULL);
    if (p->ls->path == NULL) {
        pending_detach(p);
        conn_fail(c, RAY_EINVAL, "cannot store the job library on node %.8s", rt->n->hex);
        job_destroy(rt, j);
        pending_free(p);
        return;
    }
    libstore_apply(p->ls, j);
    if (driver_spawn(rt, j, p, err, sizeof err) < 0) {
        log_error("job %s: cannot start its driver: %s", j->hex, err);
        pending_detach(p);
        conn_fail(c, RAY_EINVAL, "cannot start the driver: %s", err);
        job_destroy(rt, j);
        pending_free(p);
    }
}

/* ---- job numbers: the GCS's INCR, asked again while it is away ----------------------------- */

/* A GCS that is away (its Redis or the head restarting: the nodes reconnect
 * within gcs_reconnect_timeout_ms) is asked again each second, this many
 * times, before a submit or a standalone driver hears "GCS unavailable". */
#define JOB_NUMBER_TRIES 30

static void submit_number_cb(void *arg, const struct gcs_reply *r);
static void standalone_number_cb(void *arg, const struct gcs_reply *r);
static bool number_ask(struct pending *p);

static void number_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pending *p = arg;
    if (p->rt == NULL) { /* cut off by jobs_free while it waited */
        pending_free(p);
        return;
    }
    if (!number_ask(p)) { /* still no GCS to ask, and no try left */
        if (p->standalone)
            standalone_number_cb(p, NULL);
        else
            submit_number_cb(p, NULL);
    }
}

/* Whether P will be asked again in a second (a try left, the node not
 * stopping); its callback then returns without answering. */
static bool number_later(struct pending *p)
{
    struct runtime *rt = p->rt;
    if (rt == NULL || rt->stopping || p->asks >= JOB_NUMBER_TRIES)
        return false;
    if (p->retry_ev == NULL && (p->retry_ev = evtimer_new(rt->n->base, number_retry_cb, p)) == NULL)
        return false;
    if (p->asks == 1)
        log_info("job number: the GCS is away; asking again each second (%d times)",
                 JOB_NUMBER_TRIES - 1);
    struct timeval tv = { 1, 0 };
    evtimer_add(p->retry_ev, &tv);
    return true;
}

/* Ask the GCS for P's job number (its callback answers). Returns false when
 * the command could not even be sent and no retry is left: the caller
 * fails P. */
static bool number_ask(struct pending *p)
{
    struct runtime *rt = p->rt;
    p->asks++;
    if (gcs_command(rt->n->gcs, p->standalone ? standalone_number_cb : submit_number_cb, p,
                    "INCR %sjob_counter", gcs_client_prefix(rt->n->gcs)) == 0)
        return true;
    return number_later(p);
}

static void submit_number_cb(void *arg, const struct gcs_reply *r)
{
    struct pending *p = arg;
    struct runtime *rt = p->rt;
    struct conn *c = p->c;
    if (rt == NULL || c == NULL) { /* cut off by jobs_free, or the CLI left */
        pending_free(p);
        return;
    }
    uint32_t num = reply_job_number(r);
    if (num == 0) {
        if (r && gcs_reply_type(r) == GCS_REPLY_ERROR)
            log_error("job number: %s", gcs_reply_str(r, NULL));
        if (number_later(p))
            return;
        pending_detach(p);
        conn_fail(c, RAY_ECONN, "cannot allocate a job: GCS unavailable");
        pending_free(p);
        return;
    }
    if (p->renv) {
        /* the packed working directory it names, stored with the library */
        struct renv e = RENV_INIT;
        renv_parse(p->renv, strlen(p->renv), RENV_INTERNAL, &e, NULL, 0);
        if (e.working_dir_hash)
            p->wd_hash = xstrdup(e.working_dir_hash);
        renv_free(&e);
        if (p->wd_hash && p->wd == NULL) {
            pending_detach(p);
            conn_fail(c, RAY_EINVAL, "runtime_env.working_dir: the packed directory is missing "
                      "or does not match its hash");
            pending_free(p);
            return;
        }
    }
    struct job *j = job_new(rt, num);
    j->entrypoint = p->entrypoint ? xstrdup(p->entrypoint) : NULL;
    j->renv = p->renv ? xstrdup(p->renv) : NULL;
    p->num = num;
    p->session_dir = xstrdup(rt->n->session_dir);
    /* the CLI connection stays P's until the driver runs: a JOB_STOP or a
     * close meanwhile is seen there (on_job_stop, pending_conn_closed) */
    struct libstore *ls = xcalloc(1, sizeof *ls);
    ls->rt = rt;
    ls->num = num;
    ls->dir = xasprintf("%s/jobs", rt->n->session_dir);
    ls->bytes = p->lib;
    ls->len = p->liblen;
    p->lib = NULL;
    p->ls = ls;
    bio_submit(rt->bio, submit_store_work, submit_stored, p);
}

/* Copy the JOB_SUBMIT fields into P. Returns 0 or -1 with ERR. */
static int submit_parse(struct pending *p, const struct proto_msg *m, char *err, size_t errlen)
{
    if (m->f[0].as.s.len == 0) {
        snprintf(err, errlen, "empty job library");
        return -1;
    }
    struct mpr r;
    uint32_t n;
    mpr_init(&r, m->f[1].as.s.ptr, m->f[1].as.s.len);
    if (mpr_array(&r, &n) < 0 || n > JOBS_MAX_ARGS) {
        snprintf(err, errlen, "job arguments must be an array of at most %d strings",
                 JOBS_MAX_ARGS);
        return -1;
    }
    p->argv = xcalloc(n ? n : 1, sizeof *p->argv);
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (mpr_str(&r, &s, &len) < 0 || memchr(s, '\0', len) != NULL) {
            snprintf(err, errlen, "job argument %u is not a string", i + 1);
            return -1;
        }
        p->argv[p->argc++] = xstrndup(s, len);
    }
    if (!mpr_at_end(&r)) {
        snprintf(err, errlen, "bad job arguments");
        return -1;
    }
    if (m->f[2].as.s.len > 0) {
        mpr_init(&r, m->f[2].as.s.ptr, m->f[2].as.s.len);
        struct mpr_item it;
        if (mpr_next(&r, &it) < 0 || (it.kind != MPR_MAP && it.kind != MPR_NIL)) {
            snprintf(err, errlen, "job options must be a map");
            return -1;
        }
        for (uint32_t i = 0; it.kind == MPR_MAP && i < it.as.n; i++) {
            const char *k, *v;
            size_t klen, vlen;
            if (mpr_str(&r, &k, &klen) < 0) {
                snprintf(err, errlen, "job option names must be strings");
                return -1;
            }
            if (klen == 10 && memcmp(k, "entrypoint", 10) == 0) {
                if (mpr_str(&r, &v, &vlen) < 0 || memchr(v, '\0', vlen) != NULL) {
                    snprintf(err, errlen, "option entrypoint must be a string");
                    return -1;
                }
                free(p->entrypoint);
                p->entrypoint = xstrndup(v, vlen);
            } else if (klen == 11 && memcmp(k, "runtime_env", 11) == 0) {
                struct renv e = RENV_INIT;
                char why[200] = "not a string";
                if (mpr_str(&r, &v, &vlen) < 0 ||
                    renv_parse(v, vlen, RENV_INTERNAL, &e, why, sizeof why) != RENV_OK) {
                    snprintf(err, errlen, "option runtime_env: %s", why);
                    renv_free(&e);
                    return -1;
                }
                free(p->renv);
                p->renv = renv_canonical(&e);
                if (p->renv && p->renv[0] == '\0') {
                    free(p->renv);
                    p->renv = NULL;
                }
                renv_free(&e);
            } else if (klen == 11 && memcmp(k, "working_dir", 11) == 0) {
                const void *b;
                size_t blen;
                if (mpr_bin(&r, &b, &blen) < 0) {
                    snprintf(err, errlen, "option working_dir must be bytes (a tar)");
                    return -1;
                }
                free(p->wd);
                p->wd = xmemdup(b, blen);
                p->wdlen = blen;
            } else if (mpr_skip(&r) < 0) {
                snprintf(err, errlen, "bad job options");
                return -1;
            }
        }
    }
    p->lib = xmemdup(m->f[0].as.s.ptr, m->f[0].as.s.len);
    p->liblen = m->f[0].as.s.len;
    return 0;
}

static int on_job_submit(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    char err[256];
    if (c->role != PROTO_ROLE_CLI) {
        conn_fail(c, RAY_EINVAL, "JOB_SUBMIT is for the ray CLI");
        return 0;
    }
    if (c->owner != NULL) {
        conn_fail(c, RAY_EINVAL, "one job per connection");
        return 0;
    }
    if (rt->stopping) {
        conn_fail(c, RAY_ECONN, "the node is stopping");
        return 0;
    }
    struct pending *p = pending_new(rt);
    if (submit_parse(p, m, err, sizeof err) < 0) {
        conn_fail(c, RAY_EINVAL, "%s", err);
        pending_free(p);
        return 0;
    }
    p->c = c;
    p->co = (struct conn_owner){ CONN_OWNER_PENDING_JOB, pending_conn_closed };
    conn_set_owner(c, &p->co);
    if (!number_ask(p)) {
        pending_detach(p);
        pending_free(p);
        conn_fail(c, RAY_ECONN, "cannot allocate a job: GCS unavailable");
    }
    return 0;
}

/* ---- JOB_STOP ---------------------------------------------------------------------- */

static int on_job_stop(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    const char *hex = m->f[0].as.s.ptr;
    size_t len = m->f[0].as.s.len;
    if (c->role != PROTO_ROLE_CLI) {
        conn_fail(c, RAY_EINVAL, "JOB_STOP is for the ray CLI");
        return 0;
    }
    if (len == 0) { /* this connection's own job */
        struct conn_owner *o;
        if ((o = conn_owner(c, CONN_OWNER_SUBMITTER)) != NULL) {
            job_stop(rt, CONN_OWNER_OF(o, struct job, submitter_co));
        } else if ((o = conn_owner(c, CONN_OWNER_PENDING_JOB)) != NULL) {
            CONN_OWNER_OF(o, struct pending, co)->stop = true;
        } else {
            conn_fail(c, RAY_EINVAL, "no job was submitted on this connection");
        }
        return 0;
    }
    for (struct job *j = JS(rt)->jobs; j; j = j->next)
        if (strlen(j->hex) == len && memcmp(j->hex, hex, len) == 0) {
            if (!j->ending)
                job_stop(rt, j);
            return 0;
        }
    conn_fail(c, RAY_ENOTFOUND, "no job %.*s on this node", (int)(len < 16 ? len : 16), hex);
    return 0;
}

/* ---- JOB_LIBRARY ------------------------------------------------------------------ */

/* JOB_LIBRARY's library is stored: the job gets it, its record names it,
 * its tasks can get workers. A library that cannot be stored closes the
 * driver's connection (if it is still there), as the handler did. */
static void job_library_stored(struct libstore *ls, struct job *j)
{
    struct runtime *rt = ls->rt;
    /* cancelled (the runtime is going): LS->rt is not to be used */
    struct conn *c = ls->cancelled ? NULL : server_conn_find(rt->n->srv, ls->conn_id);
    if (ls->cancelled || j == NULL) {
        if (c)
            conn_release(c);
        return; /* the job is gone or ended */
    }
    if (ls->path == NULL) {
        log_warnx("job %s: cannot store the library its driver sent", j->hex);
        if (c)
            conn_close(c);
        return;
    }
    libstore_apply(ls, j);
    /* what the driver sent meanwhile (its tasks: they name the library's
     * hash when placed elsewhere) is handled now, in order */
    if (c)
        conn_release(c);
    char *key = xasprintf("%sjob:%s", gcs_client_prefix(rt->n->gcs), j->hex);
    gcs_command(rt->n->gcs, NULL, NULL, "HSET %s library_hash %s entrypoint %s", key, j->lib_hash,
                ls->entrypoint);
    free(key);
    free(j->entrypoint);
    j->entrypoint = ls->entrypoint;
    ls->entrypoint = NULL;
    tasks_schedule(rt); /* tasks that waited for a library can get workers now */
}

/* JOB_LIBRARY from a standalone driver: hashed and stored on the helper
 * thread; the driver's connection is held meanwhile (conn_hold: its next
 * frames wait, in order, in its input buffer), so its tasks are handled
 * with the library's path and hash known, here or wherever they are
 * placed. */
static int on_job_library(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || !client_is_driver(cl) || client_job(cl) == NULL) {
        log_warnx("conn %s: JOB_LIBRARY from a peer that is not a driver", c->peer);
        return -1;
    }
    struct job *j = client_job(cl);
    if (j->ending)
        return 0;
    if (m->f[0].as.s.len == 0) {
        log_warnx("job %s: empty library", j->hex);
        log_warnx("job %s: cannot store the library its driver sent", j->hex);
        return -1;
    }
    struct libstore *ls = libstore_new(rt, j, m->f[0].as.s.ptr, m->f[0].as.s.len,
                                       job_library_stored);
    ls->entrypoint = xstrndup(m->f[1].as.s.ptr, m->f[1].as.s.len);
    ls->conn_id = c->id;
    conn_hold(c);
    libstore_start(rt, ls);
    return 0;
}

/* ---- standalone drivers --------------------------------------------------------------- */

static void standalone_number_cb(void *arg, const struct gcs_reply *r)
{
    struct pending *p = arg;
    struct runtime *rt = p->rt;
    if (rt == NULL) { /* jobs_free already called done */
        pending_free(p);
        return;
    }
    uint32_t num = reply_job_number(r);
    if (num == 0 && number_later(p))
        return;
    void (*done)(void *, struct job *) = p->done;
    void *darg = p->arg;
    pending_free(p);
    if (num == 0 || rt->stopping) {
        done(darg, NULL);
        return;
    }
    struct job *j = job_new(rt, num);
    job_record_put(rt, j, NULL);
    gcs_event_add(rt->n->gcs, "JOB_STARTED", j->hex, rt->n->hex, "standalone driver");
    log_info("job %s: standalone driver", j->hex);
    done(darg, j);
}

void jobs_new_standalone(struct runtime *rt, void (*done)(void *arg, struct job *j), void *arg)
{
    struct pending *p = pending_new(rt);
    p->standalone = true;
    p->done = done;
    p->arg = arg;
    if (!number_ask(p)) {
        pending_free(p);
        done(arg, NULL);
    }
}

/* ---- drivers that reconnected (docs/faults.md) ------------------------------------------ */

void jobs_tell_stopped(struct runtime *rt, struct job *j)
{
    if (j->submitter == NULL)
        return;
    char msg[128];
    snprintf(msg, sizeof msg, "node %.8s stopped (ray stop): the job was stopped", rt->n->hex);
    conn_send(j->submitter, PROTO_JOB_EXIT, (int64_t)1, msg);
    submitter_detach(j); /* JOB_EXIT is the last word; the CLI closes */
}

void jobs_driver_gone(struct runtime *rt, struct job *j)
{
    int code = j->adopted && j->has_exit ? j->exit_code : 0;
    if (j->submitter) {
        conn_send(j->submitter, PROTO_JOB_EXIT, (int64_t)code,
                  j->adopted && !j->has_exit ? "the driver disconnected" : "");
        submitter_detach(j); /* JOB_EXIT is the last word; the CLI closes */
    }
    jobs_end(rt, j, code == 0 ? "FINISHED" : "FAILED");
}

/* DRIVER_OUTPUT / DRIVER_EXIT from the driver of an adopted job (a
 * `ray submit` driver whose node died): its output lines and its status. */
static int on_driver_msg(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || !client_is_driver(cl) || client_job(cl) == NULL) {
        log_warnx("conn %s: driver message %u from a peer that is not a driver", c->peer, m->type);
        return -1;
    }
    struct job *j = client_job(cl);
    if (m->type == PROTO_DRIVER_EXIT) {
        j->has_exit = true;
        j->exit_code = (int)m->f[0].as.i;
    } else if (!j->ended) {
        rt_job_log(rt, j, m->f[0].as.u == 2 ? 2 : 1, m->f[1].as.s.ptr, m->f[1].as.s.len);
    }
    return 0;
}

/* JOB_ATTACH from `ray submit` reconnecting: stream job ID's output again
 * (JOB_STARTED, then JOB_LOG lines and JOB_EXIT) if its driver reconnected
 * here; else ERROR (the CLI tries again until its bound). */
static int on_job_attach(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    if (c->role != PROTO_ROLE_CLI)
        return -1;
    char hex[16];
    snprintf(hex, sizeof hex, "%.*s", (int)(m->f[0].as.s.len < 8 ? m->f[0].as.s.len : 8),
             m->f[0].as.s.ptr);
    struct job *j = NULL;
    for (struct job *k = JS(rt)->jobs; k; k = k->next)
        if (strcmp(k->hex, hex) == 0 && !k->remote)
            j = k;
    if (j == NULL || (!j->ended && (j->driver == NULL || j->submitter != NULL))) {
        conn_send(c, PROTO_ERROR, (int64_t)-1, "no driver of that job is connected here (yet)");
        return 0;
    }
    if (j->ended) {
        conn_send(c, PROTO_JOB_STARTED, j->hex, rt->n->hex);
        conn_send(c, PROTO_JOB_EXIT, (int64_t)(j->has_exit ? j->exit_code : 0),
                  "the job ended while ray submit was away");
        return 0;
    }
    j->submitter = c;
    j->submitter_co = (struct conn_owner){ CONN_OWNER_SUBMITTER, submitter_closed };
    conn_set_owner(c, &j->submitter_co);
    log_info("job %s: ray submit attached again", j->hex);
    return conn_send(c, PROTO_JOB_STARTED, j->hex, rt->n->hex);
}

/* ---- set-up and tear-down ------------------------------------------------------------- */

void jobs_init(struct runtime *rt)
{
    server_on(rt->n->srv, PROTO_JOB_SUBMIT, on_job_submit, rt);
    server_on(rt->n->srv, PROTO_JOB_STOP, on_job_stop, rt);
    server_on(rt->n->srv, PROTO_JOB_LIBRARY, on_job_library, rt);
    server_on(rt->n->srv, PROTO_DRIVER_OUTPUT, on_driver_msg, rt);
    server_on(rt->n->srv, PROTO_DRIVER_EXIT, on_driver_msg, rt);
    server_on(rt->n->srv, PROTO_JOB_ATTACH, on_job_attach, rt);
}

void jobs_free(struct runtime *rt)
{
    if (rt == NULL)
        return;
    /* requests still waiting for the GCS: their callbacks come later (or
     * never touch this runtime again) */
    for (struct pending *p = pending_list, *next; p; p = next) {
        next = p->next;
        if (p->rt != rt)
            continue;
        pending_detach(p);
        p->rt = NULL;
        if (p->standalone && p->done) {
            void (*done)(void *, struct job *) = p->done;
            p->done = NULL;
            done(p->arg, NULL);
        }
        if (p->retry_ev && evtimer_pending(p->retry_ev, NULL))
            pending_free(p); /* waiting for its next ask, not for a GCS reply */
    }
    for (struct job *j = JS(rt)->jobs; j; j = j->next)
        if (j->driver_pid > 0)
            kill(j->driver_pid, SIGKILL);
    while (JS(rt)->jobs) {
        struct job *j = JS(rt)->jobs;
        if (j->driver_pid > 0)
            while (waitpid(j->driver_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        submitter_detach(j);
        job_destroy(rt, j);
    }
}

/* ---- a job's output: its log files and its submitter ------------------------------ */

struct job *rt_job_find(struct runtime *rt, uint32_t num)
{
    for (struct job *j = JS(rt)->jobs; j; j = j->next)
        if (j->num == num)
            return j;
    return NULL;
}

static void job_err_line(struct runtime *rt, struct job *j, const char *line, size_t len)
{
    if (j->errf == NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/logs/job-%s.err", rt->n->session_dir, j->hex);
        j->errf = bio_file_open(rt->bio, path, 0644);
    }
    struct buf b = BUF_INIT;
    buf_append(&b, line, len);
    buf_append(&b, "\n", 1);
    bio_file_write(j->errf, b.data, b.len);
    buf_free(&b);
}

void rt_job_log(struct runtime *rt, struct job *j, int stream, const char *line, size_t len)
{
    if (j->remote) {
        struct conn *c = cluster_conn(rt, j->origin);
        if (c) {
            struct buf b = BUF_INIT;
            buf_append(&b, line, len);
            buf_append(&b, "", 1);
            conn_send(c, PROTO_NODE_JOB_LOG, j->hex, (uint64_t)stream, b.data);
            buf_free(&b);
        }
    }
    if (stream == 2) {
        job_err_line(rt, j, line, len); /* stderr: job-<hex>.err (ray logs --err) */
    } else {
        if (j->logf == NULL) {
            char path[4096];
            snprintf(path, sizeof path, "%s/logs/job-%s.log", rt->n->session_dir, j->hex);
            /* a job's output is its user's: 0600 like the rest of the session */
            j->logf = bio_file_open(rt->bio, path, 0600);
        }
        /* the helper thread writes it: lines between two of its turns go out in one write */
        struct buf b = BUF_INIT;
        buf_append(&b, line, len);
        buf_append(&b, "\n", 1);
        bio_file_write(j->logf, b.data, b.len);
        buf_free(&b);
    }
    if (j->submitter) {
        struct buf b = BUF_INIT;
        buf_append(&b, line, len);
        buf_append(&b, "", 1);
        conn_send(j->submitter, PROTO_JOB_LOG, (uint64_t)stream, b.data);
        buf_free(&b);
    }
}

