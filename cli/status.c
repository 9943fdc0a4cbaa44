/*
 * status.c — `ray status [-v] [--address A]`: the cluster's status as
 * state/status.c writes it; -v adds each node's activity, asked of the node
 * (memory.c).
 */
#include "cli/cli.h"

#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "state/state.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct activity_arg {
    const char *token;
};

static void activity(const struct gcs_node *nd, void *arg)
{
    const struct activity_arg *a = arg;
    cli_status_activity(nd, a->token); /* memory.c */
}

int cli_status(int argc, char **argv)
{
    struct cli_target tg = { 0 };
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        int r = cli_target_option("status", &tg, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: ray status [-v] [--address HOST:PORT] [--temp-dir DIR] [--token SECRET]\n\n"
                   "Show the cluster's nodes, resources used/total and resource demands.\n\n"
                   "Options:\n"
                   "  -v, --verbose        also each node's activity: running tasks by name,\n"
                   "                       actors, objects and their bytes\n" CLI_TARGET_HELP);
            return 0;
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = true;
            continue;
        }
        return cli_error("status", "unknown option %s (see ray status --help)", argv[i]);
    }

    char token[256];
    struct gcs_node *nodes;
    size_t n;
    struct gcs_sync *gs = cli_gcs_nodes("status", &tg, token, sizeof token, &nodes, &n);
    if (gs == NULL)
        return 1;
    struct activity_arg a = { .token = token };
    state_status_report(stdout, gs, nodes, n, verbose ? activity : NULL, &a);
    gcs_node_array_free(nodes, n);
    gcs_sync_free(gs);
    return 0;
}

