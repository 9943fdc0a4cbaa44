/*
 * cli.c — `ray` subcommand dispatch and shared helpers (see cli.h).
 */
#include "cli/cli.h"

#include "common/netutil.h"
#include "daemon/session.h"
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
};

static void cli_usage(FILE *fp)
{
    fprintf(fp, "usage: ray COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        fprintf(fp, "  %-8s %s\n", cli_commands[i].name, cli_commands[i].help);
    fprintf(fp, "\nray COMMAND --help shows a command's options.\n");
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
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        if (strcmp(argv[1], cli_commands[i].name) == 0)
            return cli_commands[i].fn(argc - 1, argv + 1);
    static const char *later[] = { "up", "down", "exec", "get-head-ip", "get-worker-ips", "logs",
                                   "timeline", "memory" };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (strcmp(argv[1], later[i]) == 0) {
            fprintf(stderr, "ray %s: not available in this version of rayd yet\n", argv[1]);
            return 2;
        }
    fprintf(stderr, "ray: unknown command '%s' (see ray --help)\n", argv[1]);
    return 2;
}

int cli_resolve_address(const char *flag, const char *temp_dir, char *host, size_t hostlen,
                        int *port, char *err, size_t errlen)
{
    const char *addr = flag;
    char recorded[512];
    if (addr == NULL || !*addr)
        addr = getenv("RAY_ADDRESS");
    if (addr == NULL || !*addr) {
        char path[4096];
        snprintf(path, sizeof path, "%s/ray_current_cluster", temp_dir ? temp_dir : "/tmp/ray");
        if (session_token_read(path, recorded, sizeof recorded) == 0)
            addr = recorded;
    }
    if (addr == NULL || !*addr) {
        snprintf(err, errlen, "no cluster found: start one with `ray start --head`, or pass "
                              "--address / set RAY_ADDRESS");
        return -1;
    }
    if (strncmp(addr, "redis://", 8) == 0)
        addr += 8;
    return net_parse_hostport(addr, host, hostlen, port, err, errlen);
}

struct gcs_sync *cli_gcs_connect(const char *addr_flag, const char *temp_dir, char *err,
                                 size_t errlen)
{
    char host[256], token[256];
    int port;
    if (cli_resolve_address(addr_flag, temp_dir, host, sizeof host, &port, err, errlen) < 0)
        return NULL;
    if (session_token_find(NULL, temp_dir, token, sizeof token) < 0) {
        snprintf(err, errlen, "no cluster token found (set RAY_TOKEN or copy the head's "
                              "~/.ray/auth_token)");
        return NULL;
    }
    char cluster[128] = "default";
    char path[4096];
    snprintf(path, sizeof path, "%s/session_latest", temp_dir ? temp_dir : "/tmp/ray");
    session_info_get(path, "cluster_name", cluster, sizeof cluster);
    return gcs_sync_connect(host, port, token, cluster, 3000, err, errlen);
}

void cli_fmt_bytes(double bytes, char *out, size_t outlen)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%.0f%s", bytes, units[u]);
    else
        snprintf(out, outlen, "%.2f%s", bytes, units[u]);
}
