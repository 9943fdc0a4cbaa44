/*
 * cli.h — the `ray` command line: one entry point dispatching subcommands,
 * and the helpers they share (finding the cluster, its token, the GCS).
 * Every error is one line on stderr ("ray status: ...") and a non-zero exit.
 */
#ifndef RAY_CLI_H
#define RAY_CLI_H

#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>

struct gcs_sync;

/* `ray ARGS...`: returns the process exit status. */
int cli_main(int argc, char **argv);

int cli_start(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_submit(int argc, char **argv);
/* the cluster launcher's commands (launch.c; the work is in launcher/) */
int cli_up(int argc, char **argv);
int cli_down(int argc, char **argv);
int cli_exec(int argc, char **argv);
int cli_attach(int argc, char **argv);
int cli_rsync_up(int argc, char **argv);
int cli_rsync_down(int argc, char **argv);
int cli_get_head_ip(int argc, char **argv);
int cli_get_worker_ips(int argc, char **argv);
int cli_autoscaler(int argc, char **argv);
/* `ray serve deploy|status|delete` (serve.c) */
int cli_serve(int argc, char **argv);
/* True if ARG names a cluster config (*.yaml, *.yml), for `ray submit`. */
bool cli_is_cluster_yaml(const char *arg);
/* `ray submit CLUSTER.yaml JOB.so [-- ARGS...]` (ARGV[1] is the YAML). */
int cli_submit_cluster(int argc, char **argv);

/* Print "ray CMD: message" to stderr; returns 1 (for `return cli_error(...)`). */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Which cluster a command addresses: --address, --temp-dir, --token (every
 * command that talks to a cluster takes all three). NULL = not given. */
struct cli_target {
    const char *address;  /* GCS HOST:PORT */
    const char *temp_dir; /* where this machine's sessions are; NULL = /tmp/ray */
    const char *token;
};

/* If ARGV[*I] is --address/--temp-dir/--token (VALUE or =VALUE), store it in
 * T, advance *I past it and return 1; return 0 for any other argument, or -1
 * with a message on stderr ("ray CMD: option --token needs a value"). */
int cli_target_option(const char *cmd, struct cli_target *t, int argc, char **argv, int *i);
/* The help lines of those options, for a command's --help. */
#define CLI_TARGET_HELP                                                                     \
    "  --address HOST:PORT  the cluster's GCS (default: $RAY_ADDRESS, else the cluster\n"    \
    "                       started on this machine under --temp-dir)\n"                     \
    "  --temp-dir DIR       where this machine's sessions are [default /tmp/ray]\n"          \
    "  --token SECRET       the cluster token (default: $RAY_TOKEN, else the token files;\n" \
    "                       see docs/runtime.md)\n"

/* The cluster's GCS address: T->address, else $RAY_ADDRESS, else the cluster
 * recorded by `ray start` under T->temp_dir (ray_current_cluster). Returns 0
 * and fills HOST/PORT (and *LOCAL: the address is that recorded cluster's,
 * so its session's token applies), or -1 with err. */
int cli_resolve_address(const struct cli_target *t, char *host, size_t hostlen, int *port,
                        bool *local, char *err, size_t errlen);
/* Connect to the GCS of T's cluster with its token (common/token.h: the
 * given one, $RAY_TOKEN, the local session's, ~/.ray/tokens/HOST_PORT,
 * ~/.ray/auth_token). Fills TOKEN (if not NULL) with the token used. Returns
 * the client or NULL with err. */
struct gcs_sync *cli_gcs_connect(const struct cli_target *t, char *token, size_t toklen,
                                 char *err, size_t errlen);
/* cli_gcs_connect, then the node table (gcs_sync_nodes) into *NODES, *N (the
 * caller frees them with gcs_node_array_free, then the connection with
 * gcs_sync_free). Returns the connection, or NULL after printing command
 * CMD's one-line error. */
struct gcs_node;
struct gcs_sync *cli_gcs_nodes(const char *cmd, const struct cli_target *t, char *token,
                               size_t toklen, struct gcs_node **nodes, size_t *n);
/* ---- talking to nodes (nodes.c) ---- */
#include "common/proto.h"
struct gcs_node;
struct buf;
struct cli_node_conn {
    int fd;
    struct proto_decoder dec;
};
/* Connect to node ND (its Unix socket if its session is here, else TCP) and
 * authenticate with TOKEN. Returns 0, or -1 with err (nothing to close). */
int cli_node_open(struct cli_node_conn *nc, const struct gcs_node *nd, const char *token,
                  char *err, size_t errlen);
/* Send an encoded frame. Returns 0 or -1 (errno). */
int cli_node_send(struct cli_node_conn *nc, const struct buf *frame);
/* The next message: 1 (M set, valid until the next call), 0 at EOF, -1 on
 * a bad stream, -2 after TIMEOUT_MS (< 0: no limit). */
int cli_node_next(struct cli_node_conn *nc, struct proto_msg *m, int timeout_ms);
void cli_node_close(struct cli_node_conn *nc);
/* `ray status -v`: node ND's activity, asked of it (memory.c). */
void cli_status_activity(const struct gcs_node *nd, const char *token);
/* submit_renv.c: check JSON (--runtime-env-json, may be NULL) and pack WDIR
 * (--working-dir, may be NULL; else JSON's working_dir), appending
 * *NPAIRS key/value pairs of JOB_SUBMIT options to OPTS. Returns 0, or -1
 * with ERR naming the flag or key. */
struct buf;
int cli_submit_renv(const char *json, const char *wdir, struct buf *opts, int *npairs, char *err,
                    size_t errlen);
/* `ray job submit|list|status|logs|stop` (job.c), against the dashboard. */
int cli_job(int argc, char **argv);

int cli_logs(int argc, char **argv);
int cli_timeline(int argc, char **argv);
int cli_memory(int argc, char **argv);

#endif
