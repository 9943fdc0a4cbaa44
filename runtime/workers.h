/*
 * workers.h — the worker pool: spawn, reuse, death, output capture (struct
 * worker is workers.c's own). The functions of runtime/workers.c that the
 * other files of the runtime call; runtime/internal.h has what they all share.
 * Loop thread only.
 */
#ifndef RAY_RUNTIME_WORKERS_H
#define RAY_RUNTIME_WORKERS_H

#include "runtime/internal.h"

enum worker_state { WORKER_STARTING, WORKER_IDLE, WORKER_BUSY, WORKER_DEAD };
/* W: the actor it is dedicated to (NULL: none). */
struct actor *worker_actor(const struct worker *w);
void worker_set_actor(struct worker *w, struct actor *v);
/* W: tasks sent ahead to run after its task, oldest first (tasks.c links them by next/prev). */
struct task *worker_ahead_head(const struct worker *w);
void worker_set_ahead_head(struct worker *w, struct task *v);
/* W: the newest of them. */
struct task *worker_ahead_tail(const struct worker *w);
void worker_set_ahead_tail(struct worker *w, struct task *v);
/* W: tasks nested in it while its others wait, newest first (tasks.c). */
struct task *worker_nest_head(const struct worker *w);
void worker_set_nest_head(struct worker *w, struct task *v);
/* W: the normal task running (not actor calls; NULL: none). */
struct task *worker_task(const struct worker *w);
void worker_set_task(struct worker *w, struct task *v);
/* W: its connection's client once connected (NULL before). */
struct client *worker_client(const struct worker *w);
/* W: the CUDA_VISIBLE_DEVICES it was started with ("" none). */
const char *worker_gpus(const struct worker *w);
/* W: its job. */
struct job *worker_job(const struct worker *w);
/* W: how many tasks are sent ahead to it. */
int worker_nahead(const struct worker *w);
/* W: how many tasks are nested in it. */
int worker_nnest(const struct worker *w);
/* W: the next worker of the node's list (NULL: the last). */
struct worker *worker_next(const struct worker *w);
/* W: it wrote output since its last TASK_DONE (observe.c). */
bool worker_printed(const struct worker *w);
void worker_set_printed(struct worker *w, bool v);
/* W: its state. */
enum worker_state worker_state(const struct worker *w);
void worker_set_state(struct worker *w, enum worker_state v);
void worker_nahead_add(struct worker *w, int d);
void worker_nnest_add(struct worker *w, int d);
/* W: add to the TASK_DONEs read from it (against its progress page). */
void worker_ndone_add(struct worker *w, uint64_t d);
/* W: its worker ID (IDS_SIZE bytes; a leased worker's socket is named by it). */
const uint8_t *worker_id(const struct worker *w);
/* W's process id (0 while its fork runs on the helper thread). */
pid_t worker_pid(const struct worker *w);
/* The pids of the node's live worker processes: at most MAX into OUT;
 * returns how many. */
size_t workers_pids(const struct runtime *rt, pid_t *out, size_t max);
/* W's last task was NAME: its late output lines are prefixed with it. */
void worker_set_last_name(struct worker *w, const char *name);
void workers_init(struct runtime *rt);
void workers_free(struct runtime *rt);
/* Start a worker process for job J (dedicated to actor A if not NULL, with
 * CUDA_VISIBLE_DEVICES=GPUS if not empty). Returns it, or NULL (logged). */
struct worker *workers_spawn(struct runtime *rt, struct job *j, struct actor *a, const char *gpus);
/* An idle worker of job J started with GPUS, or NULL. */
struct worker *workers_idle(struct runtime *rt, struct job *j, const char *gpus);
/* The same for a runtime environment RENV (canonical; NULL or "": none):
 * workers of different environments are never shared. workers_spawn_env
 * returns NULL too while the environment's working directory is being
 * fetched to this node (tasks_schedule runs when it is here). */
struct worker *workers_spawn_env(struct runtime *rt, struct job *j, struct actor *a,
                                 const char *gpus, const char *renv);
struct worker *workers_idle_env(struct runtime *rt, struct job *j, const char *gpus,
                                const char *renv);
/* True if W runs in environment RENV. */
bool workers_renv_is(const struct worker *w, const char *renv);
/* Number of workers of J that are starting (not yet connected). */
int workers_starting(struct runtime *rt, struct job *j);
/* W's connection closed: its death is handled now if its process has
 * exited already (so every TASK_DONE it sent was read first), else W is
 * stopped and handled when it is reaped. */
void workers_client_closed(struct runtime *rt, struct worker *w);
/* True while the node runs as many worker processes as its cap allows. */
bool workers_at_cap(const struct runtime *rt);
/* At the cap: stop the idle worker idle longest so another can start once
 * it is reaped. True if one was stopped (or one is stopping already). */
bool workers_reclaim_idle(struct runtime *rt);
/* A worker connected (HELLO with its id). Returns it or NULL if unknown. */
struct worker *workers_connected(struct runtime *rt, const uint8_t *id, struct client *cl);
void workers_set_idle(struct runtime *rt, struct worker *w);
/* Kill W (SIGKILL); its death is handled when SIGCHLD arrives. */
void workers_kill(struct runtime *rt, struct worker *w);
/* Shared actors (docs/actors-shared.md). Whether W hosts shared actors (a
 * host: no actor of its own, never normal tasks). */
bool workers_is_host(const struct worker *w);
/* A leaves host W (killed or dead): W is told to end it (a TASK_EXECUTE of
 * kind "actor_free") and lives on. No-op if A is not W's. */
void workers_host_end(struct runtime *rt, struct worker *w, struct actor *a);
/* The constructor or sent call TASK_ID of an actor W hosts, or NULL (a late
 * answer of one that left). */
struct task *workers_hosted_task(const struct worker *w, const uint8_t *task_id);
/* How many actors W hosts, and the Ith of them (NULL out of range). */
int workers_nhosted(const struct worker *w);
/* The actor whose output W's lines on STREAM (1 stdout, 2 stderr) are: W's
 * own actor, or for a host the one it named last on that stream; NULL if
 * none. */
const uint8_t *workers_line_actor(struct runtime *rt, const struct worker *w, int stream);
struct actor *workers_hosted(const struct worker *w, int i);
/* Kill every worker of job J. */
void workers_kill_job(struct runtime *rt, struct job *j);
/* Read whatever output W's pipes hold now (before reporting its end). */
void workers_drain_output(struct runtime *rt, struct worker *w);
/* Start up to N workers for job J ahead of demand. */
void workers_prestart(struct runtime *rt, struct job *j, int n);
/* Helpers shared with jobs.c (drivers are started and read the same way). */
typedef void (*workers_line_fn)(void *arg, const char *line, size_t len);
/* Read the non-blocking pipe FD: at most 64 KiB, or with DRAIN all there is
 * now. Bytes are queued for RAW (bio.h) if not NULL and collected in ACC, whose
 * complete lines (split at 16 KiB) go to EMIT; the partial rest is emitted
 * too at EOF or with DRAIN. Returns 1 at EOF or on a read error (the caller
 * closes FD), else 0. */
int workers_pipe_read_(int fd, struct buf *acc, bool drain, workers_line_fn emit, void *arg,
                       struct bio_file *raw);
/* fork + execve("/proc/self/exe", ARGV, ENV) with stdin /dev/null and
 * stdout/stderr on the pipe write ends OUT_W and ERR_W (close-on-exec; the
 * caller closes its copies after); every other fd is closed in the child,
 * which stays in rayd's process group. Returns the pid, or -1 with ERR.
 * Forks: called on the helper thread only (workers_spawn_async_). */
pid_t workers_spawn_process_(const char *const *argv, char *const *env, int out_w, int err_w,
                             char *err, size_t errlen);
/* Start a child off the loop: the pipes for its stdout and stderr are made
 * here (their read ends, non-blocking and close-on-exec, go to *OUT_FD and
 * *ERR_FD and are the caller's from now on, to watch at once); the fork +
 * exec (workers_spawn_process_) runs on the helper thread (bio.h), so the
 * loop never forks. ARGV is copied; ENV (from workers_env_build_) is taken.
 * With PROGRESS_NAME (not NULL or ""), that shared-memory page (one
 * uint64_t) is made first. DONE(RT, ARG, RES) runs on the loop: RES->pid is
 * the child or -1 (RES->err says why); DONE returns true if it took the
 * child (pid, page), false to have it killed and reaped. If the runtime is
 * freed first, DONE is not called: the child is killed and reaped and
 * FREE_ARG(ARG) is called (FREE_ARG may be NULL). Returns 0, or -1 with ERR
 * (no pipe: nothing queued, ENV freed, DONE never called). */
struct workers_spawn_result {
    pid_t pid;
    int out_fd, err_fd;      /* the read ends, as given to the caller */
    uint64_t *progress;      /* the page, or NULL */
    const char *err;
};
typedef bool (*workers_spawned_fn)(struct runtime *rt, void *arg,
                                   const struct workers_spawn_result *res);
int workers_spawn_async_(struct runtime *rt, const char *const *argv, char **env,
                         const char *progress_name, int *out_fd, int *err_fd,
                         workers_spawned_fn done, void (*free_arg)(void *arg), void *arg,
                         char *err, size_t errlen);
/* A copy of environ with each "NAME=value" of SET (NULL-terminated) replacing
 * NAME, and the names in UNSET (NULL-terminated; may be NULL) removed. Free
 * with workers_env_free_. */
char **workers_env_build_(const char *const *set, const char *const *unset);
void workers_env_free_(char **env);
/* Online CPUs, read once (sysconf reads /sys each time: not on the loop). */
int workers_cpu_count_(void);
/* The node's workers, newest first (then worker_next), and the one with ID (or NULL). */
struct worker *workers_first(const struct runtime *rt);
struct worker *workers_find(const struct runtime *rt, const uint8_t *id);
/* Worker processes now (starting or running), and the cap on them. */
int workers_count(const struct runtime *rt);
int workers_cap(const struct runtime *rt);
void workers_set_cap(struct runtime *rt, int cap);

#endif
