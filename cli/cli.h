/*
 * cli.h — the `ray` command line: one entry point dispatching subcommands,
 * and the helpers they share (finding the cluster, its token, the GCS).
 * Every error is one line on stderr ("ray status: ...") and a non-zero exit.
 */
#ifndef RAY_CLI_H
#define RAY_CLI_H

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

/* Print "ray CMD: message" to stderr; returns 1 (for `return cli_error(...)`). */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The cluster's GCS address: FLAG, else $RAY_ADDRESS, else the cluster
 * recorded by `ray start` under TEMP_DIR (ray_current_cluster). Returns 0 and
 * fills HOST/PORT, or -1 with err. */
int cli_resolve_address(const char *flag, const char *temp_dir, char *host, size_t hostlen,
                        int *port, char *err, size_t errlen);
/* Connect to the GCS at the resolved address with the token found by
 * session_token_find. Returns the client or NULL with err. */
struct gcs_sync *cli_gcs_connect(const char *addr_flag, const char *temp_dir, char *err,
                                 size_t errlen);
/* Format BYTES as "1.50GiB". */
void cli_fmt_bytes(double bytes, char *out, size_t outlen);

#endif
