/*
 * session.h — the session directory of a node (SPEC section 3):
 *
 *   <temp_dir>/session_<YYYY-MM-DD_HH-MM-SS>_<usec>_<pid>/
 *       logs/            one log per process (rayd.log, redis.log, worker-*.out, ...),
 *                        job-<job8>.log / .err (a job's stdout / stderr), tasks.out /
 *                        tasks.err (workers' lines tagged with their task and actor)
 *       sockets/         0700: raylet.sock, the node's Unix socket
 *       jobs/            job libraries cached by content hash
 *       spill/           objects spilled from the store
 *       redis/           the embedded Redis's data (appendonly) and redis.conf
 *       auth_token       0600: the cluster token
 *       node.info        key=value lines: how local clients reach this node
 *       rayd.pid         the node daemon's pid (and redis.pid on the head)
 *   <temp_dir>/session_latest -> the newest session that came up
 *   <temp_dir>/ray_current_cluster   its GCS address, one line
 *
 * session_latest and ray_current_cluster change only once a node is up
 * (session_publish), so a start that fails leaves them as they were. Token
 * files are common/token.h.
 */
#ifndef RAY_SESSION_H
#define RAY_SESSION_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

/* Create a new session directory under TEMP_DIR with its subfolders.
 * session_latest is left alone (see session_publish). Returns a malloc'd
 * path (caller frees) or NULL with err. */
char *session_create(const char *temp_dir, char *err, size_t errlen);
/* A node that is up: point TEMP_DIR/session_latest at SESSION_DIR and record
 * GCS_ADDRESS ("host:port") in TEMP_DIR/ray_current_cluster, each atomically.
 * Returns 0, or -1 (errno) if either could not be written. */
int session_publish(const char *temp_dir, const char *session_dir, const char *gcs_address);
/* Read TEMP_DIR/ray_current_cluster (NULL: /tmp/ray) into OUT. Returns 0 or
 * -1 when there is none. */
int session_current_cluster(const char *temp_dir, char *out, size_t outlen);
/* Make a fresh random cluster token (64 hex chars) into OUT (size >= 65). */
void session_token_new(char *out);
/* Write "<pid>\n" to DIR/NAME. */
int session_pidfile_write(const char *dir, const char *name, pid_t pid);
/* Read DIR/NAME as a pid; returns it or -1. */
pid_t session_pidfile_read(const char *dir, const char *name);
/* True if PID is alive, not a zombie, and its command line mentions WHAT
 * (a recycled pid is someone else's). */
bool session_pid_is(pid_t pid, const char *what);
/* Write the node.info file (atomic rename). LINES is "key=value\n..." text. */
int session_file_write(const char *dir, const char *name, const char *text, int mode);
/* Read value of KEY from DIR/node.info into OUT. Returns 0 or -1. */
int session_info_get(const char *dir, const char *key, char *out, size_t outlen);
/* Call FN for each session_* directory under TEMP_DIR (full path). Returns count. */
int session_foreach(const char *temp_dir, void (*fn)(const char *path, void *arg), void *arg);
/* Create directory and parents with MODE (existing is fine). Returns 0 or -1. */
int session_mkdirs(const char *path, int mode);
/* The absolute path of this binary, to re-execute rayd as a worker, driver or
 * node (so `ps` shows "rayd", not "exe"). Resolved once; never NULL. */
const char *session_self_exe(void);
/* Make session_self_exe() return PATH from now on (copied): for the in-process
 * node of tests/fuzz/fuzz_node.c, whose own binary is no rayd. */
void session_set_self_exe(const char *path);
/* rm -rf PATH (no symlink following). Returns 0 or -1. */
int session_remove_tree(const char *path);
/*
 * Head restart (docs/restart.md): the session a head restarted on the same
 * GCS resumes. Looks under TEMP_DIR for the newest session of a head whose
 * rayd died without stopping (its rayd.pid is still there: `ray stop` and a
 * clean exit remove it) and whose GCS address was HOST:PORT (HOST NULL or "": any
 * host, the port alone decides). Writes its path to OUT and returns 0, or
 * returns -1 when there is none (a fresh session is then made). Reads only;
 * the caller decides what to sweep. A session whose rayd still runs is never
 * returned (one still exiting is waited for, up to a second).
 */
int session_find_head(const char *temp_dir, const char *host, int port, char *out, size_t outlen);

#endif
