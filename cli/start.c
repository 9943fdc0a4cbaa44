/*
 * start.c — `ray start`: check the settings, make the session directory,
 * start `rayd` detached (setsid, output to the session's logs) and wait for
 * its one-line start-up report on a pipe, then tell the user how to join.
 * With --block it stays in the foreground until the node stops.
 */
#include "cli/cli.h"

#include "common/netutil.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "session/config.h"
#include "session/session.h"
#include "gcs/gcs_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_MS 20000

static pid_t start_child = -1;

static void start_forward_signal(int sig)
{
    if (start_child > 0)
        kill(start_child, sig);
}

/* Read the daemon's report line. Returns 0 with LINE filled, -1 on EOF/timeout. */
static int start_read_report(int fd, char *line, size_t linelen)
{
    size_t used = 0;
    long long deadline = net_now_ms() + START_TIMEOUT_MS;
    while (used + 1 < linelen) {
        long long left = deadline - net_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        ssize_t r = read(fd, line + used, linelen - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        used += (size_t)r;
        if (memchr(line, '\n', used))
            break;
    }
    line[used] = '\0';
    line[strcspn(line, "\n")] = '\0';
    return used > 0 ? 0 : -1;
}

int cli_start(int argc, char **argv)
{
    struct rayd_config cfg;
    char err[1024];
    int next = 0, rc = 1;
    char *session = NULL;
    char **args = NULL;
    int nargs = 0;
    config_init(&cfg);
    /* `ray up`'s default head command passes --autoscaling-config (SPEC
     * section 8); accepted here: `ray up` starts the autoscaler itself
     * (launcher/autoscaler.c) */
    char **kept = xcalloc((size_t)argc + 1, sizeof *kept);
    int nkept = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--autoscaling-config=", 21) == 0)
            continue;
        if (strcmp(argv[i], "--autoscaling-config") == 0) {
            i++;
            continue;
        }
        kept[nkept++] = argv[i];
    }
    argc = nkept;
    argv = kept;
    int pr = config_parse_args(&cfg, argc, argv, &next, err, sizeof err);
    if (pr == 1) {
        config_usage(stdout, "ray start (--head | --address HOST:PORT) [options]");
        config_free(&cfg);
        free(kept);
        return 0;
    }
    if (pr < 0) {
        rc = cli_error("start", "%s", err);
        goto out;
    }
    if (next < argc) {
        rc = cli_error("start", "unexpected argument '%s' (see ray start --help)", argv[next]);
        goto out;
    }
    if (config_validate(&cfg, err, sizeof err) < 0) {
        rc = cli_error("start", "%s", err);
        goto out;
    }
    if (!cfg.head && (cfg.address == NULL || !*cfg.address)) {
        rc = cli_error("start", "give --head to start a new cluster, or --address HEAD_IP:PORT "
                                "to join one");
        goto out;
    }
    if (!cfg.head) {
        /* check the head is reachable and the token right, before going to the background */
        char host[256], token[256];
        int port;
        if (net_parse_hostport(cfg.address, host, sizeof host, &port, err, sizeof err) < 0) {
            rc = cli_error("start", "%s", err);
            goto out;
        }
        char latest[4200];
        snprintf(latest, sizeof latest, "%s/session_latest", cfg.temp_dir);
        struct token_where w = { .given = cfg.token, .host = host, .port = port,
                                 .fallback_dir = latest };
        if (token_find(&w, token, sizeof token) < 0) {
            rc = cli_error("start", "no cluster token: pass --token, set RAY_TOKEN, or copy the "
                                    "head's ~/.ray/auth_token to this machine");
            goto out;
        }
        struct gcs_sync *gs = gcs_sync_connect(host, port, token, cfg.cluster_name, 3000, err,
                                               sizeof err);
        if (gs == NULL) {
            rc = cli_error("start", "%s", err);
            goto out;
        }
        gcs_sync_free(gs);
    }

    /* a head that died on this GCS: resume its session, token and tables
     * (docs/restart.md); a stopped one left nothing to resume */
    bool resumed = false;
    if (cfg.head) {
        char host[256] = "", found[4096];
        int port = cfg.port;
        if (cfg.gcs_address && *cfg.gcs_address) {
            const char *a = strrchr(cfg.gcs_address, '@');
            a = a ? a + 1 : (strncmp(cfg.gcs_address, "redis://", 8) == 0 ? cfg.gcs_address + 8
                                                                           : cfg.gcs_address);
            if (net_parse_hostport(a, host, sizeof host, &port, err, sizeof err) < 0) {
                rc = cli_error("start", "--gcs-address: %s", err);
                goto out;
            }
        } else if (cfg.node_ip_address) {
            snprintf(host, sizeof host, "%s", cfg.node_ip_address);
        }
        if (session_find_head(cfg.temp_dir, host, port, found, sizeof found) == 0) {
            session = xstrdup(found);
            resumed = true;
            printf("Resuming session %s (its head died; the GCS tables come back)\n", session);
        }
    }
    if (session == NULL)
        session = session_create(cfg.temp_dir, err, sizeof err);
    if (session == NULL) {
        rc = cli_error("start", "%s", err);
        goto out;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rc = cli_error("start", "pipe: %s", strerror(errno));
        goto out;
    }
    /* the token travels in the environment, not in argv where ps shows it */
    char *token = cfg.token ? xstrdup(cfg.token) : NULL;
    free(cfg.token);
    cfg.token = NULL;
    config_to_argv(&cfg, &args, &nargs);
    pid_t pid = fork();
    if (pid < 0) {
        rc = cli_error("start", "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(pfd[0]);
        int keep = dup(pfd[1]); /* without O_CLOEXEC */
        char fdstr[16];
        snprintf(fdstr, sizeof fdstr, "%d", keep);
        setenv("RAY_READY_FD", fdstr, 1);
        setenv("RAY_SESSION_DIR", session, 1);
        if (resumed)
            setenv("RAY_SESSION_RESUMED", "1", 1);
        if (token) {
            setenv(cfg.head ? "RAY_START_TOKEN" : "RAY_TOKEN", token, 1);
        }
        if (!cfg.block)
            setsid();
        char out[4096];
        snprintf(out, sizeof out, "%s/logs/rayd.out", session);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char **av = xcalloc((size_t)nargs + 2, sizeof *av);
        av[0] = "rayd";
        for (int i = 0; i < nargs; i++)
            av[i + 1] = args[i];
        execv(session_self_exe(), av);
        _exit(127);
    }
    close(pfd[1]);
    free(token);
    start_child = pid;
    char line[2048];
    if (start_read_report(pfd[0], line, sizeof line) < 0) {
        close(pfd[0]);
        kill(pid, SIGTERM);
        rc = cli_error("start", "rayd did not start; see %s/logs/", session);
        goto out;
    }
    close(pfd[0]);
    if (strncmp(line, "error ", 6) == 0) {
        /* the whole story is in the line: leave nothing of the dead node behind */
        waitpid(pid, NULL, 0);
        rc = cli_error("start", "%s", line + 6);
        if (!resumed) /* a resumed session keeps its tables for the next try */
            session_remove_tree(session);
        goto out;
    }
    char node[64] = "", ip[64] = "";
    int tcp = 0;
    sscanf(line, "ok %63s %63s %d", node, ip, &tcp);
    char gcs[300];
    if (cfg.head) {
        if (cfg.gcs_address && *cfg.gcs_address) {
            const char *a = strrchr(cfg.gcs_address, '@');
            a = a ? a + 1 : (strncmp(cfg.gcs_address, "redis://", 8) == 0 ? cfg.gcs_address + 8
                                                                           : cfg.gcs_address);
            snprintf(gcs, sizeof gcs, "%s", a);
        } else {
            snprintf(gcs, sizeof gcs, "%s:%d", ip, cfg.port);
        }
    } else {
        snprintf(gcs, sizeof gcs, "%s", cfg.address);
    }
    /* the commands below must find this cluster: name it when not the default */
    char where[4400] = "";
    if (strcmp(cfg.temp_dir, "/tmp/ray") != 0)
        snprintf(where, sizeof where, " --temp-dir %s", cfg.temp_dir);

    printf("Local node IP: %s\n", ip);
    printf("--------------------\nRay runtime started.\n--------------------\n\n");
    printf("Node %s, session %s\n\n", node, session);
    if (cfg.head) {
        char tokpath[4096];
        token_home_path(tokpath, sizeof tokpath);
        printf("To add another node to this Ray cluster, copy %s to it and run\n", tokpath);
        printf("    ray start --address='%s'\n", gcs);
        printf("(or pass the token with --token / RAY_TOKEN).\n\n");
        printf("To submit a job:\n    ray submit --address='%s' job.so\n\n", gcs);
        printf("To see the cluster:\n    ray status%s\n\n", where);
    }
    printf("To terminate the Ray runtime, run\n    ray stop%s\n", where);
    fflush(stdout);
    rc = 0;
    if (cfg.block) {
        signal(SIGINT, start_forward_signal);
        signal(SIGTERM, start_forward_signal);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
out:
    if (args)
        config_argv_free(args, nargs);
    free(session);
    free(kept);
    config_free(&cfg);
    return rc;
}
