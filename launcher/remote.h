/*
 * remote.h — what up.c, down.c and exec.c share: a cluster opened from its
 * YAML (config, SSH settings, state) and the helpers that run a config's
 * commands on one node with ~/.rayd/bin first on PATH and RAY_HEAD_IP set.
 * Internal to launcher/.
 */
#ifndef RAY_LAUNCHER_REMOTE_H
#define RAY_LAUNCHER_REMOTE_H

#include "launcher/config.h"
#include "launcher/provider.h"
#include "launcher/ssh.h"
#include "launcher/state.h"

#include <stdbool.h>

struct buf;

struct launch_cluster {
    const char *cmd;            /* "up", "down", ... for messages */
    struct launch_config cfg;
    const struct launch_provider *prov;
    struct launch_ssh ssh;
    char key[4096];             /* cfg.ssh_private_key with ~ expanded */
    char config_abs[4096];      /* the YAML's absolute path */
    struct launch_state st;
    bool have_state;
    long long t0_ms;
};

/* One node as seen over SSH. */
struct launch_host {
    const char *ip;
    bool head;
    char home[1024];        /* the remote $HOME */
    bool has_rsync;
    char rayd_sha[65];      /* sha256 of ~/.rayd/bin/rayd there, "" if none */
    bool running;           /* a rayd runs under the node's temp dir */
    const struct launch_node_type *type; /* its node type (its resources go to ray start) */
};

/* Load CONFIG (printing its warnings), expand the key, set up SSH and read
 * the state. For a cloud provider, check its CLI is there (up, down) and
 * take the head's and workers' addresses from the state (the other
 * commands; an error when there is none). Returns 0 or 1 with the error
 * printed ("ray CMD: ..."). */
int launch_cluster_open(struct launch_cluster *lc, const char *cmd, const char *config);
void launch_cluster_close(struct launch_cluster *lc);
/* Print "ray CMD: message" on stderr; returns 1. */
int launch_err(const struct launch_cluster *lc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The shell text that runs CMD on a node: bash, in $HOME, ~/.rayd/bin first
 * on PATH, RAY_HEAD_IP exported; WITH_TOKEN also exports RAY_START_TOKEN
 * from ~/.ray/auth_token (read there, never on a command line); WITH_ADDRESS
 * exports RAY_ADDRESS (head:port) so `ray status` finds the cluster.
 * Appended to OUT. */
void launch_remote_script(const struct launch_cluster *lc, const char *cmd, bool with_token,
                          bool with_address, struct buf *out);
/* Ask H over SSH for its $HOME, rsync, the hash of its rayd and whether Ray
 * runs there, retrying until WAIT_S seconds have passed. Returns 0, or -1
 * with ERR (ssh's own last line). */
int launch_host_probe(const struct launch_cluster *lc, struct launch_host *h, int wait_s,
                      char *err, size_t errlen);
/* Run each command of V on H, stopping at the first that fails. Output is
 * appended to the node's log (launch_log_path). Returns 0, or -1 with ERR
 * "`cmd` exited N: last line". */
int launch_run_commands(const struct launch_cluster *lc, const struct launch_host *h,
                        const struct launch_strv *v, bool with_token, char *err, size_t errlen);
/* Append OUT to the node's log file ~/.ray/clusters/<name>-<ip>.log. */
void launch_log_append(const struct launch_cluster *lc, const char *ip, const char *what,
                       const struct buf *out);
void launch_log_path(const struct launch_cluster *lc, const char *ip, char *out, size_t outlen);

/* The value after FLAG in the words of the commands V ("--flag X" or
 * "--flag=X", quotes stripped; the last one wins). Returns true and fills
 * OUT, or false. */
bool launch_flag_value(const struct launch_strv *v, const char *flag, char *out, size_t outlen);
/* The value of --temp-dir (or --temp-dir=) in commands V, or "/tmp/ray". */
void launch_temp_dir(const struct launch_strv *v, char *out, size_t outlen);
/* The value of --port in V, or 6379. */
int launch_head_port(const struct launch_strv *v);
/* The workers `ray up` starts: MIN/MAX override the config's (-1: not
 * given); provider local: all of worker_ips by default, clouds: 0. */
size_t launch_worker_count(const struct launch_config *c, int min, int max);
/* A path of the config on node H: "~/x" and relative "x" are under its
 * $HOME (as probed), absolute paths stay. */
void launch_remote_path(const struct launch_host *h, const char *p, char *out, size_t outlen);
/* Run `ray up`'s steps 2-7 on worker IP of LC (up.c), a node of type TYPE
 * (NULL: none), handing over TOKEN; for the autoscaler. Returns 0 or -1
 * with err. */
int launch_up_worker(struct launch_cluster *lc, const char *ip, const struct launch_node_type *type,
                     const char *token, char *err, size_t errlen);

/* Node types (docs/launcher.md). The type of local worker IP: the type
 * whose node_config.worker_ips lists it, else the first worker type with no
 * worker_ips of its own (which takes provider.worker_ips), else NULL. */
const struct launch_node_type *launch_ip_type(const struct launch_config *c, const char *ip);
/* Every local worker address once: provider.worker_ips, then each type's
 * node_config.worker_ips. OUT's array is the caller's (free(out->v)); the
 * strings stay C's. */
void launch_local_ips(const struct launch_config *c, struct launch_strv *out);
/* The workers `ray up` starts, in order: *IPS (local: the address; clouds:
 * NULL, a machine to make) and *TYPES (their type), both arrays the
 * caller's to free. Without available_node_types (or, for local, with
 * only a head type) as launch_worker_count; with them, each worker type's
 * min_workers, at most MAX (-1: the config's max_workers) in all. Returns
 * how many. */
size_t launch_worker_plan(const struct launch_config *c, int min, int max, const char ***ips,
                          const struct launch_node_type ***types);
/* The `ray start` flags that give a node of type T its resources
 * (" --num-cpus=2 --resources=bee=1"), appended to OUT; nothing when T or
 * its resources are NULL. */
void launch_type_start_flags(const struct launch_node_type *t, struct buf *out);
/* V with those flags appended to every command that runs `ray start` (the
 * last flag wins there); OUT is the caller's (launch_strv_free). */
void launch_typed_start(const struct launch_strv *v, const struct launch_node_type *t,
                        struct launch_strv *out);
void launch_strv_free(struct launch_strv *v);
/* Seconds since the cluster was opened, for progress lines. */
double launch_elapsed(const struct launch_cluster *lc);

#endif
