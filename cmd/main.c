/*
 * main.c — the one rayd binary. Dispatch on argv[0] and the first flag:
 *   ray ...                the CLI (bin/ray is a link to rayd)
 *   rayd --worker          a worker process, started by its node
 *   rayd --driver ARGS     the driver of a `ray submit` job, started by its node
 *   rayd [node flags]      a node daemon (--head for the head)
 */
#include "api/api.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/version.h"
#include "session/config.h"
#include "daemon/node.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

static int rayd_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--worker") == 0)
        return api_worker_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "--driver") == 0)
        return api_driver_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("ray, version %s\n", RAYD_VERSION); /* one binary: the same line as ray's */
        return 0;
    }
    struct rayd_config cfg;
    char err[1024];
    config_init(&cfg);
    int rc = config_parse_args(&cfg, argc, argv, NULL, err, sizeof err);
    if (rc == 1) {
        config_usage(stdout, "rayd [--head] [--address HOST:PORT] [options]\n"
                             "       (normally started by `ray start`); rayd --version");
        config_free(&cfg);
        return 0;
    }
    if (rc < 0 || config_validate(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "rayd: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    log_set_name("rayd");
    /* the node's callers of buf_* do not check for out-of-memory: abort, as
     * xmalloc does, rather than send a short frame (workers and drivers,
     * library code, get RAY_ENOMEM instead) */
    mem_abort_on_failure_(true);
    /* a node the cluster declared dead while it ran joins again as a new one */
    while ((rc = node_main(&cfg)) == NODE_MAIN_REJOIN)
        ;
    config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    char name[256];
    snprintf(name, sizeof name, "%s", argv[0]);
    const char *base = basename(name);
    if (strcmp(base, "ray") == 0) {
        log_set_name("ray");
        mem_abort_on_failure_(true); /* the CLI, like the node, uses buf_* unchecked */
        return cli_main(argc, argv);
    }
    return rayd_main(argc, argv);
}
