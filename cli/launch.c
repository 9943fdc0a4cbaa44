/*
 * launch.c — the command lines of the cluster launcher's commands: `ray up`,
 * `ray down`, `ray exec`, `ray attach`, `ray rsync-up`, `ray rsync-down`,
 * `ray get-head-ip`, `ray get-worker-ips` (and `ray submit CLUSTER.yaml`,
 * handed over from submit.c). The work is in launcher/ (launcher.h).
 */
#include "cli/cli.h"

#include "launcher/launcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* "--name N" or "--name=N" at ARGV[*I]: 1 and *OUT, 0 if not NAME, -1 bad. */
static int int_option(const char *cmd, const char *name, int argc, char **argv, int *i, int *out)
{
    size_t len = strlen(name);
    const char *a = argv[*i], *v;
    if (strncmp(a, name, len) != 0 || (a[len] != '\0' && a[len] != '='))
        return 0;
    if (a[len] == '=')
        v = a + len + 1;
    else if (*i + 1 < argc)
        v = argv[++*i];
    else {
        cli_error(cmd, "option %s needs a number", name);
        return -1;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 0 || n > 100000) {
        cli_error(cmd, "option %s: '%s' is not a number of workers", name, v);
        return -1;
    }
    *out = (int)n;
    return 1;
}

int cli_up(int argc, char **argv)
{
    struct launch_up_opts o = { .min_workers = -1, .max_workers = -1 };
    for (int i = 1; i < argc; i++) {
        int r;
        if (is_help(argv[i])) {
            printf("usage: ray up CLUSTER.yaml [-y] [--no-restart] [--restart-only]\n"
                   "              [--min-workers N] [--max-workers N]\n\n"
                   "Start or update the cluster of a Ray-style cluster config over SSH: copy rayd\n"
                   "and the file mounts to each node, run the setup commands, start Ray on the\n"
                   "head, then on the workers in parallel (docs/launcher.md).\n\n"
                   "Options:\n"
                   "  -y, --yes            do not ask for confirmation\n"
                   "  --no-restart         leave nodes where Ray already runs alone\n"
                   "  --restart-only       skip initialization and setup commands, restart Ray\n"
                   "  --min-workers N      start N workers (default: the config's; provider\n"
                   "                       local: every worker_ips entry)\n"
                   "  --max-workers N      start at most N workers\n");
            return 0;
        } else if (strcmp(argv[i], "-y") == 0 || strcmp(argv[i], "--yes") == 0) {
            o.yes = true;
        } else if (strcmp(argv[i], "--no-restart") == 0) {
            o.no_restart = true;
        } else if (strcmp(argv[i], "--restart-only") == 0) {
            o.restart_only = true;
        } else if ((r = int_option("up", "--min-workers", argc, argv, &i, &o.min_workers)) != 0 ||
                   (r = int_option("up", "--max-workers", argc, argv, &i, &o.max_workers)) != 0) {
            if (r < 0)
                return 2;
        } else if (argv[i][0] == '-') {
            return cli_error("up", "unknown option %s (see ray up --help)", argv[i]);
        } else if (o.config == NULL) {
            o.config = argv[i];
        } else {
            return cli_error("up", "unexpected argument '%s' (see ray up --help)", argv[i]);
        }
    }
    if (o.config == NULL)
        return cli_error("up", "which cluster? usage: ray up CLUSTER.yaml [-y]");
    if (o.no_restart && o.restart_only)
        return cli_error("up", "--no-restart and --restart-only contradict each other");
    return launcher_up(&o);
}

int cli_down(int argc, char **argv)
{
    const char *config = NULL;
    bool yes = false, workers_only = false;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: ray down CLUSTER.yaml [-y] [--workers-only]\n\n"
                   "Stop Ray on every node `ray up` started: the workers first, then the head.\n\n"
                   "Options:\n"
                   "  -y, --yes            do not ask for confirmation\n"
                   "  --workers-only       keep the head running\n");
            return 0;
        } else if (strcmp(argv[i], "-y") == 0 || strcmp(argv[i], "--yes") == 0) {
            yes = true;
        } else if (strcmp(argv[i], "--workers-only") == 0) {
            workers_only = true;
        } else if (argv[i][0] == '-') {
            return cli_error("down", "unknown option %s (see ray down --help)", argv[i]);
        } else if (config == NULL) {
            config = argv[i];
        } else {
            return cli_error("down", "unexpected argument '%s'", argv[i]);
        }
    }
    if (config == NULL)
        return cli_error("down", "which cluster? usage: ray down CLUSTER.yaml [-y]");
    return launcher_down(config, yes, workers_only);
}

int cli_exec(int argc, char **argv)
{
    const char *config = NULL, *cmd = NULL;
    bool start = false, stop = false;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i]) && config == NULL) {
            printf("usage: ray exec CLUSTER.yaml CMD [--start] [--stop]\n\n"
                   "Run the shell command CMD on the head, with ~/.rayd/bin on PATH and\n"
                   "RAY_ADDRESS set to the cluster; exit with its status.\n\n"
                   "Options:\n"
                   "  --start              bring the cluster up first (ray up -y)\n"
                   "  --stop               take it down afterwards (ray down -y)\n");
            return 0;
        } else if (strcmp(argv[i], "--start") == 0) {
            start = true;
        } else if (strcmp(argv[i], "--stop") == 0) {
            stop = true;
        } else if (config == NULL) {
            config = argv[i];
        } else if (cmd == NULL) {
            cmd = argv[i];
        } else {
            return cli_error("exec", "one command, quoted: ray exec CLUSTER.yaml 'CMD ARGS'");
        }
    }
    if (config == NULL || cmd == NULL)
        return cli_error("exec", "usage: ray exec CLUSTER.yaml CMD [--start] [--stop]");
    return launcher_exec(config, cmd, start, stop);
}

int cli_attach(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: ray attach CLUSTER.yaml\n\nA shell on the head (ssh -t).\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-')
        return cli_error("attach", "usage: ray attach CLUSTER.yaml");
    return launcher_attach(argv[1]);
}

static int cli_rsync(int argc, char **argv, bool up)
{
    const char *cmd = up ? "rsync-up" : "rsync-down";
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: ray %s CLUSTER.yaml SRC DST\n\nCopy %s (rsync, or scp when the head has "
               "no rsync).\n", cmd, up ? "SRC here to DST on the head" : "SRC on the head to DST here");
        return 0;
    }
    if (argc != 4)
        return cli_error(cmd, "usage: ray %s CLUSTER.yaml SRC DST", cmd);
    return launcher_rsync(argv[1], argv[2], argv[3], up);
}

int cli_rsync_up(int argc, char **argv)
{
    return cli_rsync(argc, argv, true);
}

int cli_rsync_down(int argc, char **argv)
{
    return cli_rsync(argc, argv, false);
}

static int cli_get_ips(int argc, char **argv, bool head)
{
    const char *cmd = head ? "get-head-ip" : "get-worker-ips";
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: ray %s CLUSTER.yaml\n\nPrint the %s.\n", cmd,
               head ? "head's IP" : "IPs of the workers that are up, one a line");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-')
        return cli_error(cmd, "usage: ray %s CLUSTER.yaml", cmd);
    return launcher_get_ips(argv[1], head);
}

int cli_get_head_ip(int argc, char **argv)
{
    return cli_get_ips(argc, argv, true);
}

int cli_get_worker_ips(int argc, char **argv)
{
    return cli_get_ips(argc, argv, false);
}

bool cli_is_cluster_yaml(const char *arg)
{
    size_t n = strlen(arg);
    return (n > 5 && strcmp(arg + n - 5, ".yaml") == 0) || (n > 4 && strcmp(arg + n - 4, ".yml") == 0);
}

int cli_submit_cluster(int argc, char **argv)
{
    /* ray submit CLUSTER.yaml JOB.so [--] [ARGS...] */
    if (argc < 3)
        return cli_error("submit", "usage: ray submit CLUSTER.yaml JOB.so [-- ARGS...]");
    int first = 3;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    return launcher_submit(argv[1], argv[2], argc - first, argv + first);
}

int cli_autoscaler(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        printf("usage: ray autoscaler BOOTSTRAP_CONFIG.yaml\n\nThe autoscaler's loop; `ray up` "
               "starts it on the head (docs/launcher.md).\n");
        return argc == 2 && is_help(argv[1]) ? 0 : 2;
    }
    return launcher_autoscaler(argv[1]);
}
