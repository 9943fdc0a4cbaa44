/*
 * jobs.h — jobs: JOB_SUBMIT, drivers, job libraries, job logs, job end (struct
 * job is jobs.c's own). The functions of runtime/jobs.c that the other files
 * of the runtime call; runtime/internal.h has what they all share. Loop thread
 * only.
 */
#ifndef RAY_RUNTIME_JOBS_H
#define RAY_RUNTIME_JOBS_H

#include "runtime/internal.h"

/* Job NUM known here, or NULL. */
struct job *rt_job_find(struct runtime *rt, uint32_t num);
/* A line of job J's output (STREAM 1 stdout, 2 stderr): sent to its
 * driver's node if J is remote, else appended to job-<hex>.log/.err (by the
 * helper thread) and sent to its `ray submit` as JOB_LOG. */
void rt_job_log(struct runtime *rt, struct job *j, int stream, const char *line, size_t len);
/* The jobs known here, newest first: jobs_first, then job_next until NULL. */
struct job *jobs_first(const struct runtime *rt);
struct job *job_next(const struct job *j);
/* Its number, and that as 8 hex digits. */
uint32_t job_num(const struct job *j);
const char *job_hex(const struct job *j);
/* The cached library's path (NULL until known), its SHA-256 in hex ("" until
 * known), and the library as its user named it (NULL if unknown). */
const char *job_lib_path(const struct job *j);
const char *job_lib_hash(const struct job *j);
const char *job_entrypoint(const struct job *j);
/* A remote job's library is being read from the GCS (spillback.c sets it). */
bool job_lib_fetching(const struct job *j);
void job_set_lib_fetching(struct job *j, bool on);
/* The library's absence was logged once (spillback.c). */
bool job_lib_missing_told(const struct job *j);
void job_set_lib_missing_told(struct job *j);
/* Its driver was told once that the worker cap holds work back (tasks.c). */
bool job_warned_cap(const struct job *j);
void job_set_warned_cap(struct job *j);
/* Its `ray submit` connection, or NULL. */
struct conn *job_submitter(const struct job *j);
/* Its driver's connection here (NULL: none yet, or gone). */
struct client *job_driver(const struct job *j);
void job_set_driver(struct job *j, struct client *cl);
/* The driver process this node started (-1: none). */
pid_t job_driver_pid(const struct job *j);
/* Ending (jobs_end began), and ended. */
bool job_ending(const struct job *j);
bool job_ended(const struct job *j);
/* Its workers (starting or running); add DELTA. */
int job_nworkers(const struct job *j);
void job_nworkers_add(struct job *j, int delta);
/* A job of another node whose work was placed here, and that node's hex id. */
bool job_remote(const struct job *j);
const char *job_origin(const struct job *j);
/* Its canonical runtime_env (ray submit), or NULL. */
const char *job_renv(const struct job *j);
void jobs_init(struct runtime *rt);
void jobs_free(struct runtime *rt);
/* A driver process the node started exited with STATUS (waitpid). */
void jobs_driver_exited(struct runtime *rt, struct job *j, int status);
/* The driver of submitted job J connected (it loaded the library): start
 * J's workers ahead of its first tasks. Not before, so a library that
 * cannot be loaded is reported once, by the driver. */
void jobs_driver_connected(struct runtime *rt, struct job *j);
/* Create a job for a standalone driver; calls DONE(arg, job) once its number
 * is allocated (job NULL on failure). */
void jobs_new_standalone(struct runtime *rt, void (*done)(void *arg, struct job *j), void *arg);
/* End job J: stop its driver, workers and actors, delete its objects. */
void jobs_end(struct runtime *rt, struct job *j, const char *state);
/* Reap one child PID with STATUS: a driver? Returns true if it was one. */
bool jobs_child_exited(struct runtime *rt, pid_t pid, int status);
/* Job NUM, whose driver reconnected here after its node OLD_NODE died:
 * made (or a remote one of it turned) local, its record's driver_node
 * rewritten to this node. Never NULL; the caller sets its driver (job_set_driver). */
struct job *jobs_adopt(struct runtime *rt, uint32_t num, const char *old_node,
                       const char *lib_hash);
/* The node is stopping cleanly: J's `ray submit`, if one is attached, gets
 * JOB_EXIT 1 ("node ... stopped") and is let go, so that it does not wait
 * to reattach as it does when a head dies. */
void jobs_tell_stopped(struct runtime *rt, struct job *j);
/* The driver of J, which this node did not start (standalone, or adopted),
 * disconnected: the job ends (FAILED if an adopted driver said DRIVER_EXIT
 * with a non-zero status), and an attached `ray submit` gets JOB_EXIT. */
void jobs_driver_gone(struct runtime *rt, struct job *j);
/* A job of node ORIGIN whose work the global scheduler placed here; its
 * library (by hash) is fetched from the function table. Returns it (an
 * existing record if there is one). */
struct job *jobs_new_remote(struct runtime *rt, uint32_t num, const char *origin,
                            const char *lib_hash);
/* Store library bytes for J: LEN bytes (copied) are hashed and written to
 * the node's cache on the helper thread (bio.h); back on the loop, J (if it
 * is still there and not ended) gets the path and the hash, the function
 * table the bytes, and the scheduler a pass (tasks waiting for a library).
 * Returns 0 (queued), or -1 for an empty library (logged). */
int jobs_set_library(struct runtime *rt, struct job *j, const void *bytes, size_t len);
/* Free the jobs that have ended and that nothing points at any more: no
 * worker, driver process reaped, no client (driver or worker connection).
 * Called after reaps and from the runtime's tick. */
void jobs_collect(struct runtime *rt);

#endif
