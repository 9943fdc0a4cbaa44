/*
 * down.c — `ray down CLUSTER.yaml [-y] [--workers-only]`: `ray stop` on
 * every node the launcher started (the workers first, in parallel, then the
 * head), with the --temp-dir of the node's own start commands, so rayd, its
 * workers and Redis are gone from each. The state file records what was
 * stopped; without one, every node of the config is stopped.
 */
#include "launcher/launcher.h"
#include "launcher/remote.h"

#include "common/buf.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Stop Ray on node IP. Returns 0 or -1 with err. */
static int down_node(struct launch_cluster *lc, const char *ip, bool head, char *err, size_t errlen)
{
    char temp[1024], cmd[2048];
    launch_temp_dir(head ? &lc->cfg.head_start_ray_commands : &lc->cfg.worker_start_ray_commands,
                    temp, sizeof temp);
    snprintf(cmd, sizeof cmd, "if command -v ray >/dev/null 2>&1; then ray stop --temp-dir %s; "
                              "else echo 'no ray on this node'; fi", temp);
    struct launch_strv v = { (char *[]){ cmd }, 1 };
    struct launch_host h = { .ip = ip, .head = head };
    int rc = launch_run_commands(lc, &h, &v, false, err, errlen);
    launch_ssh_close(&lc->ssh, ip); /* nothing of ours stays connected */
    return rc;
}

int launcher_down(const char *config, bool yes, bool workers_only)
{
    struct launch_cluster lc;
    if (launch_cluster_open(&lc, "down", config) != 0)
        return 1;
    int rc = 1;
    char err[2048];
    /* the workers: those the state says were started, else all of the config's */
    size_t n = 0;
    const char **ips = xcalloc(lc.st.n + lc.cfg.worker_ips.n + 1, sizeof *ips);
    bool *never_up = xcalloc(lc.st.n + lc.cfg.worker_ips.n + 1, sizeof *never_up);
    if (lc.have_state) {
        for (size_t i = 0; i < lc.st.n; i++)
            if (strcmp(lc.st.nodes[i].kind, "worker") == 0 &&
                strcmp(lc.st.nodes[i].state, "stopped") != 0) {
                never_up[n] = strcmp(lc.st.nodes[i].state, "failed") == 0;
                ips[n++] = lc.st.nodes[i].ip;
            }
    } else {
        for (size_t i = 0; i < lc.cfg.worker_ips.n; i++)
            ips[n++] = lc.cfg.worker_ips.v[i];
    }
    if (!yes && isatty(0)) {
        printf("This will stop Ray on %zu worker(s)%s of cluster '%s'. Continue? [y/N] ", n,
               workers_only ? "" : " and the head", lc.cfg.cluster_name);
        fflush(stdout);
        char ans[16] = "";
        if (fgets(ans, sizeof ans, stdin) == NULL || (ans[0] != 'y' && ans[0] != 'Y')) {
            launch_err(&lc, "aborted");
            goto out;
        }
    }
    int steps = workers_only ? 1 : 2;
    printf("[1/%d] Stopping Ray on %zu worker(s)\n", steps, n);
    fflush(stdout);
    fflush(stderr);
    pid_t *pids = xcalloc(n + 1, sizeof *pids);
    for (size_t i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            if (down_node(&lc, ips[i], false, err, sizeof err) < 0) {
                if (never_up[i] && strstr(err, "ssh failed")) {
                    /* it failed in ray up and cannot be reached: nothing runs there */
                    printf("      %s never came up and is not reachable: skipped [+%.1fs]\n",
                           ips[i], launch_elapsed(&lc));
                    fflush(stdout);
                    _exit(0);
                }
                launch_err(&lc, "%s (worker): stopping Ray: %s", ips[i], err);
                _exit(1);
            }
            printf("      stopped %s [+%.1fs]\n", ips[i], launch_elapsed(&lc));
            fflush(stdout);
            _exit(0);
        }
    }
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        int st = 1;
        if (pids[i] > 0)
            while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
                ;
        bool ok = pids[i] > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        failed += !ok;
        launch_state_set(&lc.st, ips[i], "worker", ok ? "stopped" : "failed");
    }
    free(pids);
    if (!workers_only) {
        printf("[2/2] Stopping Ray on the head %s\n", lc.cfg.head_ip);
        fflush(stdout);
        if (down_node(&lc, lc.cfg.head_ip, true, err, sizeof err) < 0) {
            launch_err(&lc, "%s (head): stopping Ray: %s", lc.cfg.head_ip, err);
            failed++;
            launch_state_set(&lc.st, lc.cfg.head_ip, "head", "failed");
        } else {
            launch_state_set(&lc.st, lc.cfg.head_ip, "head", "stopped");
        }
    }
    if (failed == 0 && !workers_only) {
        launch_state_remove(lc.cfg.cluster_name);
    } else if (launch_state_save(&lc.st, err, sizeof err) < 0) {
        launch_err(&lc, "%s", err);
    }
    if (failed) {
        launch_err(&lc, "%zu node(s) could not be stopped (see above)", failed);
        goto out;
    }
    printf("Cluster '%s': %s stopped in %.1fs.\n", lc.cfg.cluster_name,
           workers_only ? "workers" : "all nodes", launch_elapsed(&lc));
    rc = 0;
out:
    free(ips);
    free(never_up);
    launch_cluster_close(&lc);
    return rc;
}
