/*
 * down.c — `ray down CLUSTER.yaml [-y] [--workers-only]`: `ray stop` on
 * every node the launcher started (the workers first, in parallel, then the
 * head), with the --temp-dir of the node's own start commands, so rayd, its
 * workers and Redis are gone from each; then, for a cloud provider, the
 * machines are deleted (workers, then the head). Which nodes: provider
 * local, those the state file lists (every node of the config without one);
 * clouds, the machines the provider lists with the cluster's label.
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

struct down_node {
    const char *ip;
    const char *name; /* cloud machine, or "" */
    bool never_up;    /* ray up failed on it: unreachable is no error */
};

/* Stop Ray on node IP. Returns 0 or -1 with err. */
static int down_stop(struct launch_cluster *lc, const char *ip, bool head, char *err, size_t errlen)
{
    char temp[1024], cmd[2048];
    launch_temp_dir(head ? &lc->cfg.head_start_ray_commands : &lc->cfg.worker_start_ray_commands,
                    temp, sizeof temp);
    snprintf(cmd, sizeof cmd, "%sif command -v ray >/dev/null 2>&1; then ray stop --temp-dir %s; "
                              "else echo 'no ray on this node'; fi",
             head ? "p=$(cat \"$HOME/.ray/autoscaler.pid\" 2>/dev/null) && grep -q autoscaler "
                    "/proc/$p/cmdline 2>/dev/null && kill $p; " : "", temp);
    struct launch_strv v = { (char *[]){ cmd }, 1 };
    struct launch_host h = { .ip = ip, .head = head };
    int rc = launch_run_commands(lc, &h, &v, false, err, errlen);
    launch_ssh_close(&lc->ssh, ip); /* nothing of ours stays connected */
    return rc;
}

/* Stop node D; 0 when stopped (or unreachable and never up), else -1 with
 * the error printed. */
static int down_one(struct launch_cluster *lc, const struct down_node *d, bool head)
{
    char err[2048];
    if (down_stop(lc, d->ip, head, err, sizeof err) == 0) {
        printf("      stopped Ray on %s [+%.1fs]\n", d->ip, launch_elapsed(lc));
        fflush(stdout);
        return 0;
    }
    if ((d->never_up || lc->prov->create) && strstr(err, "ssh failed")) {
        /* it never came up (or is a machine still booting): nothing of Ray runs there */
        printf("      %s is not reachable (it never came up): skipped [+%.1fs]\n", d->ip,
               launch_elapsed(lc));
        fflush(stdout);
        return 0;
    }
    launch_err(lc, "%s (%s): stopping Ray: %s", d->ip, head ? "head" : "worker", err);
    return -1;
}

/* Delete cloud machine NAME. Returns 0 or -1 (printed). */
static int down_delete(struct launch_cluster *lc, const char *name)
{
    char err[1024];
    if (lc->prov->terminate(&lc->cfg, name, err, sizeof err) < 0) {
        launch_err(lc, "deleting machine %s: %s", name, err);
        return -1;
    }
    printf("      deleted machine %s with %s [+%.1fs]\n", name, lc->prov->cli, launch_elapsed(lc));
    fflush(stdout);
    return 0;
}

int launcher_down(const char *config, bool yes, bool workers_only)
{
    struct launch_cluster lc;
    if (launch_cluster_open(&lc, "down", config) != 0)
        return 1;
    int rc = 1;
    char err[2048];
    bool cloud = lc.prov->create != NULL;
    struct launch_machine *m = NULL;
    size_t nm = 0;
    struct down_node head = { .ip = lc.cfg.head_ip, .name = "" };
    size_t n = 0;
    struct down_node *w = xcalloc(lc.st.n + lc.cfg.worker_ips.n + 1, sizeof *w);
    if (cloud) {
        if (lc.prov->list(&lc.cfg, &m, &nm, err, sizeof err) < 0) {
            launch_err(&lc, "listing machines: %s", err);
            goto out;
        }
        w = xreallocarray(w, nm + 1, sizeof *w);
        head.ip = NULL;
        for (size_t i = 0; i < nm; i++) {
            struct down_node d = { m[i].ip, m[i].name, false };
            if (strcmp(m[i].kind, "head") == 0 && head.ip == NULL)
                head = d;
            else
                w[n++] = d;
        }
    } else if (lc.have_state) {
        for (size_t i = 0; i < lc.st.n; i++)
            if (strcmp(lc.st.nodes[i].kind, "worker") == 0 &&
                strcmp(lc.st.nodes[i].state, "stopped") != 0)
                w[n++] = (struct down_node){ lc.st.nodes[i].ip, "",
                                             strcmp(lc.st.nodes[i].state, "failed") == 0 };
    }
    if (!cloud) {
        /* the hosts the autoscaler may have started, which no state here lists */
        struct launch_strv all;
        launch_local_ips(&lc.cfg, &all);
        w = xreallocarray(w, n + all.n + 1, sizeof *w);
        for (size_t i = 0; i < all.n; i++) {
            bool listed = false;
            for (size_t k = 0; k < n && !listed; k++)
                listed = strcmp(w[k].ip, all.v[i]) == 0;
            if (!listed)
                w[n++] = (struct down_node){ all.v[i], "", lc.have_state };
        }
        free(all.v);
    }
    if (!workers_only && head.ip) {
        /* first the autoscaler, so it starts nothing while the workers stop */
        char cmd[] = "p=$(cat \"$HOME/.ray/autoscaler.pid\" 2>/dev/null) && grep -q autoscaler "
                     "/proc/$p/cmdline 2>/dev/null && kill $p; true";
        struct launch_strv v = { (char *[]){ cmd }, 1 };
        struct launch_host h = { .ip = head.ip, .head = true };
        (void)launch_run_commands(&lc, &h, &v, false, err, sizeof err);
    }
    if (!yes && isatty(0)) {
        printf("This will stop Ray on %zu worker(s)%s of cluster '%s'%s. Continue? [y/N] ", n,
               workers_only ? "" : " and the head", lc.cfg.cluster_name,
               cloud ? " and delete their machines" : "");
        fflush(stdout);
        char ans[16] = "";
        if (fgets(ans, sizeof ans, stdin) == NULL || (ans[0] != 'y' && ans[0] != 'Y')) {
            launch_err(&lc, "aborted");
            goto out;
        }
    }
    int steps = workers_only ? 1 : 2;
    printf("[1/%d] Stopping Ray on %zu worker(s)%s\n", steps, n, cloud ? " and deleting them" : "");
    fflush(stdout);
    fflush(stderr);
    pid_t *pids = xcalloc(n + 1, sizeof *pids);
    for (size_t i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            int r = down_one(&lc, &w[i], false);
            if (r == 0 && cloud)
                r = down_delete(&lc, w[i].name);
            _exit(r == 0 ? 0 : 1);
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
        launch_state_set(&lc.st, w[i].ip, "worker", ok ? "stopped" : "failed");
    }
    free(pids);
    if (!workers_only && head.ip) {
        printf("[2/2] Stopping Ray on the head %s%s\n", head.ip, cloud ? " and deleting it" : "");
        fflush(stdout);
        bool ok = down_one(&lc, &head, true) == 0 && (!cloud || down_delete(&lc, head.name) == 0);
        failed += !ok;
        launch_state_set(&lc.st, head.ip, "head", ok ? "stopped" : "failed");
    } else if (!workers_only) {
        printf("[2/2] No head machine of cluster '%s' exists\n", lc.cfg.cluster_name);
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
    free(w);
    free(m);
    launch_cluster_close(&lc);
    return rc;
}
