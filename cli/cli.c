/*
 * cli.c — `ray` subcommand dispatch and shared helpers (see cli.h).
 */
#include "cli/cli.h"

#include "common/netutil.h"
#include "common/token.h"
#include "common/version.h"
#include "session/session.h"
#include "gcs/gcs_sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cli_commands[] = {
    { "start", cli_start, "start a node (--head for the first one)" },
    { "stop", cli_stop, "stop this machine's nodes, their workers and Redis" },
    { "status", cli_status, "nodes, resources used/total, pending and infeasible demands" },
    { "list", cli_list, "list nodes|jobs|tasks|actors|objects|placement-groups" },
    { "submit", cli_submit, "run a job library's ray_main on the cluster" },
    { "job", cli_job, "submit, list, follow and stop jobs through the dashboard's job API" },
    { "logs", cli_logs, "log files of every node, or one job's, actor's, task's or node's output" },
    { "timeline", cli_timeline, "Chrome trace of tasks and ray_get/ray_wait/ray_put (Perfetto)" },
    { "memory", cli_memory, "objects per node: size, where, pins, reference type, call site" },
    { "up", cli_up, "start or update a cluster from a cluster YAML, over SSH" },
    { "down", cli_down, "stop every node of a cluster started with ray up" },
    { "exec", cli_exec, "run a shell command on the head of a ray up cluster" },
    { "attach", cli_attach, "a shell on the head of a ray up cluster" },
    { "rsync-up", cli_rsync_up, "copy files to the head of a ray up cluster" },
    { "rsync-down", cli_rsync_down, "copy files from the head of a ray up cluster" },
    { "get-head-ip", cli_get_head_ip, "the head's IP of a ray up cluster" },
    { "get-worker-ips", cli_get_worker_ips, "the workers' IPs of a ray up cluster" },
    { "serve", cli_serve, "Serve: deploy HTTP applications (deploy, status, delete)" },
    { "autoscaler", cli_autoscaler, "the autoscaler (ray up starts it on the head)" },
};

static void cli_usage(FILE *fp)
{
    fprintf(fp, "usage: ray COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        fprintf(fp, "  %-14s %s\n", cli_commands[i].name, cli_commands[i].help);
    fprintf(fp, "\nray COMMAND --help shows a command's options; ray --version the version.\n");
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ray %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("ray, version %s\n", RAYD_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        if (strcmp(argv[1], cli_commands[i].name) == 0)
            return cli_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ray: unknown command '%s' (see ray --help)\n", argv[1]);
    return 2;
}

int cli_target_option(const char *cmd, struct cli_target *t, int argc, char **argv, int *i)
{
    static const char *const names[] = { "--address", "--temp-dir", "--token" };
    const char **slots[] = { &t->address, &t->temp_dir, &t->token };
    const char *a = argv[*i];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t len = strlen(names[k]);
        if (strncmp(a, names[k], len) != 0)
            continue;
        if (a[len] == '=') {
            *slots[k] = a + len + 1;
            return 1;
        }
        if (a[len] != '\0')
            continue;
        if (*i + 1 >= argc) {
            cli_error(cmd, "option %s needs a value", names[k]);
            return -1;
        }
        *slots[k] = argv[++*i];
        return 1;
    }
    return 0;
}

static const char *cli_temp_dir(const struct cli_target *t)
{
    return t->temp_dir && *t->temp_dir ? t->temp_dir : "/tmp/ray";
}

int cli_resolve_address(const struct cli_target *t, char *host, size_t hostlen, int *port,
                        bool *local, char *err, size_t errlen)
{
    const char *addr = t->address;
    char recorded[512] = "";
    bool have_recorded = session_current_cluster(cli_temp_dir(t), recorded, sizeof recorded) == 0;
    if (addr == NULL || !*addr)
        addr = getenv("RAY_ADDRESS");
    if ((addr == NULL || !*addr) && have_recorded)
        addr = recorded;
    if (addr == NULL || !*addr) {
        if (t->temp_dir)
            snprintf(err, errlen, "no cluster found under %s: start one with `ray start --head "
                                  "--temp-dir %s`, or pass --address / set RAY_ADDRESS",
                     t->temp_dir, t->temp_dir);
        else
            snprintf(err, errlen, "no cluster found: start one with `ray start --head`, or pass "
                                  "--address / set RAY_ADDRESS");
        return -1;
    }
    if (strncmp(addr, "redis://", 8) == 0)
        addr += 8;
    if (net_parse_hostport(addr, host, hostlen, port, err, errlen) < 0)
        return -1;
    char rhost[256];
    int rport = 0;
    char e[64];
    *local = have_recorded &&
             net_parse_hostport(recorded, rhost, sizeof rhost, &rport, e, sizeof e) == 0 &&
             rport == *port && strcmp(rhost, host) == 0;
    return 0;
}

struct gcs_sync *cli_gcs_connect(const struct cli_target *t, char *token, size_t toklen,
                                 char *err, size_t errlen)
{
    char host[256], tok[256], latest[4200];
    int port;
    bool local = false;
    if (cli_resolve_address(t, host, sizeof host, &port, &local, err, errlen) < 0)
        return NULL;
    snprintf(latest, sizeof latest, "%s/session_latest", cli_temp_dir(t));
    struct token_where w = { .given = t->token, .session_dir = local ? latest : NULL,
                             .host = host, .port = port, .fallback_dir = local ? NULL : latest };
    if (token_find(&w, tok, sizeof tok) < 0) {
        snprintf(err, errlen, "no token for the cluster at %s:%d: pass --token, set RAY_TOKEN, "
                              "or copy the head's ~/.ray/auth_token here", host, port);
        return NULL;
    }
    if (token)
        snprintf(token, toklen, "%s", tok);
    char cluster[128] = "default";
    if (local)
        session_info_get(latest, "cluster_name", cluster, sizeof cluster);
    return gcs_sync_connect(host, port, tok, cluster, 3000, err, errlen);
}

struct gcs_sync *cli_gcs_nodes(const char *cmd, const struct cli_target *t, char *token,
                               size_t toklen, struct gcs_node **nodes, size_t *n)
{
    char err[512];
    *nodes = NULL;
    *n = 0;
    struct gcs_sync *gs = cli_gcs_connect(t, token, toklen, err, sizeof err);
    if (gs == NULL) {
        cli_error(cmd, "%s", err);
        return NULL;
    }
    if (gcs_sync_nodes(gs, nodes, n) < 0) {
        gcs_sync_free(gs);
        cli_error(cmd, "cannot read the node table");
        return NULL;
    }
    return gs;
}
