/*
 * launcher.h — the cluster launcher (SPEC section 8, docs/launcher.md):
 * `ray up`, `ray down`, `ray exec`, `ray attach`, `ray rsync-up/down`,
 * `ray submit CLUSTER.yaml`, `ray get-head-ip`, `ray get-worker-ips`.
 * cli/launch.c parses the command lines; everything else is here. Each
 * function prints its progress on stdout and its errors as one line each on
 * stderr ("ray up: 10.0.0.3: setup commands: ..."), and returns the exit
 * status of the command.
 */
#ifndef RAY_LAUNCHER_H
#define RAY_LAUNCHER_H

#include <stdbool.h>

struct launch_up_opts {
    const char *config;     /* CLUSTER.yaml */
    bool yes;               /* -y: no confirmation */
    bool no_restart;        /* leave nodes where Ray runs alone */
    bool restart_only;      /* skip initialization and setup commands */
    int min_workers;        /* -1: the config's (provider local: all worker_ips) */
    int max_workers;        /* -1: the config's */
};

int launcher_up(const struct launch_up_opts *o);
/* Stop every node of the cluster (workers first, in parallel, then the
 * head); WORKERS_ONLY keeps the head. */
int launcher_down(const char *config, bool yes, bool workers_only);
/* Run the shell command CMD on the head (its output streamed, its exit
 * status returned). START runs `ray up -y` first, STOP `ray down -y` after. */
int launcher_exec(const char *config, const char *cmd, bool start, bool stop);
/* An interactive shell on the head (ssh -t). */
int launcher_attach(const char *config);
/* Copy SRC here to DST on the head (UP) or SRC on the head to DST here. */
int launcher_rsync(const char *config, const char *src, const char *dst, bool up);
/* Copy JOB.so to the head and run `ray submit` there with ARGS; returns
 * the job's exit status. */
int launcher_submit(const char *config, const char *job, int nargs, char **args);
/* The autoscaler's loop, on the head (autoscaler.c); returns when the head
 * is gone. */
int launcher_autoscaler(const char *config);
/* Print the head's IP (HEAD) or the IPs of the workers that are up. */
int launcher_get_ips(const char *config, bool head);

#endif
