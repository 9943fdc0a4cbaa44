/*
 * exec.c — the launcher's commands that talk to the head of a cluster that
 * is up: `ray exec`, `ray attach`, `ray rsync-up/down`, `ray submit
 * CLUSTER.yaml`, and the two that only read: `ray get-head-ip`,
 * `ray get-worker-ips`. Commands run with RAY_ADDRESS set to the head's GCS
 * (from --port of the head's start commands), so `ray status` there finds
 * the cluster whatever its --temp-dir.
 */
#include "launcher/launcher.h"
#include "launcher/remote.h"

#include "common/buf.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Open the cluster and probe its head. Returns 0 or 1 (printed). */
static int exec_open(struct launch_cluster *lc, const char *cmd, const char *config,
                     struct launch_host *head)
{
    if (launch_cluster_open(lc, cmd, config) != 0)
        return 1;
    memset(head, 0, sizeof *head);
    head->ip = lc->cfg.head_ip;
    head->head = true;
    char err[1024];
    if (launch_host_probe(lc, head, 5, err, sizeof err) < 0) {
        launch_err(lc, "%s (head): %s", head->ip, err);
        launch_cluster_close(lc);
        return 1;
    }
    return 0;
}

int launcher_exec(const char *config, const char *cmd, bool start, bool stop)
{
    if (start) {
        struct launch_up_opts o = { .config = config, .yes = true, .min_workers = -1,
                                    .max_workers = -1 };
        if (launcher_up(&o) != 0)
            return 1;
    }
    struct launch_cluster lc;
    if (launch_cluster_open(&lc, "exec", config) != 0)
        return 1;
    struct buf script = BUF_INIT;
    launch_remote_script(&lc, cmd, false, true, &script);
    fflush(stdout);
    int rc = launch_ssh_run(&lc.ssh, lc.cfg.head_ip, script.data, NULL, 0, NULL);
    if (rc < 0)
        rc = launch_err(&lc, "cannot run ssh: %s", strerror(errno));
    else if (rc == 255)
        launch_err(&lc, "%s (head): ssh failed (see its message above)", lc.cfg.head_ip);
    buf_free(&script);
    launch_cluster_close(&lc);
    if (stop && launcher_down(config, true, false) != 0 && rc == 0)
        rc = 1;
    return rc;
}

int launcher_attach(const char *config)
{
    struct launch_cluster lc;
    if (launch_cluster_open(&lc, "attach", config) != 0)
        return 1;
    struct buf script = BUF_INIT;
    launch_remote_script(&lc, "exec bash -l", false, true, &script);
    int rc = launch_ssh_interactive(&lc.ssh, lc.cfg.head_ip, script.data);
    if (rc < 0)
        rc = launch_err(&lc, "cannot run ssh: %s", strerror(errno));
    buf_free(&script);
    launch_cluster_close(&lc);
    return rc;
}

int launcher_rsync(const char *config, const char *src, const char *dst, bool up)
{
    struct launch_cluster lc;
    struct launch_host head;
    if (exec_open(&lc, up ? "rsync-up" : "rsync-down", config, &head) != 0)
        return 1;
    char remote[4200];
    launch_remote_path(&head, up ? dst : src, remote, sizeof remote);
    struct buf out = BUF_INIT;
    int changed = 0;
    int rc = launch_ssh_copy(&lc.ssh, head.ip, up ? src : dst, remote, !up, head.has_rsync,
                             lc.cfg.rsync_exclude.v, lc.cfg.rsync_exclude.n, &changed, &out);
    if (rc != 0) {
        char line[512];
        launch_ssh_last_line(&out, line, sizeof line);
        rc = launch_err(&lc, "%s (head): copying %s to %s: %s", head.ip, up ? src : remote,
                        up ? remote : dst, rc < 0 ? strerror(errno) : line);
    } else if (changed >= 0) {
        printf("%s %s:%s: %d file(s) copied\n", up ? "Synced to" : "Synced from", head.ip, remote,
               changed);
    } else {
        printf("%s %s:%s (scp)\n", up ? "Copied to" : "Copied from", head.ip, remote);
    }
    buf_free(&out);
    launch_cluster_close(&lc);
    return rc;
}

int launcher_submit(const char *config, const char *job, int nargs, char **args)
{
    if (access(job, R_OK) < 0) {
        fprintf(stderr, "ray submit: %s: %s\n", job, strerror(errno));
        return 1;
    }
    struct launch_cluster lc;
    struct launch_host head;
    if (exec_open(&lc, "submit", config, &head) != 0)
        return 1;
    char name[1024], remote[4200], err[1024];
    snprintf(name, sizeof name, "%s", job);
    snprintf(remote, sizeof remote, "%s/.rayd/jobs/%s", head.home, basename(name));
    struct launch_strv mk = { (char *[]){ "mkdir -p \"$HOME/.rayd/jobs\"" }, 1 };
    struct buf out = BUF_INIT, cmd = BUF_INIT, script = BUF_INIT;
    int rc = 1;
    if (launch_run_commands(&lc, &head, &mk, false, err, sizeof err) < 0) {
        launch_err(&lc, "%s (head): %s", head.ip, err);
        goto out;
    }
    int changed;
    int r = launch_ssh_copy(&lc.ssh, head.ip, job, remote, false, head.has_rsync, NULL, 0,
                            &changed, &out);
    if (r != 0) {
        char line[512];
        launch_ssh_last_line(&out, line, sizeof line);
        launch_err(&lc, "%s (head): copying %s: %s", head.ip, job, r < 0 ? strerror(errno) : line);
        goto out;
    }
    buf_printf(&cmd, "exec ray submit ");
    launch_sh_quote(&cmd, remote);
    buf_printf(&cmd, " --");
    for (int i = 0; i < nargs; i++) {
        buf_append(&cmd, " ", 1);
        launch_sh_quote(&cmd, args[i]);
    }
    buf_append(&cmd, "", 1);
    launch_remote_script(&lc, cmd.data, false, true, &script);
    fflush(stdout);
    rc = launch_ssh_run(&lc.ssh, head.ip, script.data, NULL, 0, NULL);
    if (rc < 0)
        rc = launch_err(&lc, "cannot run ssh: %s", strerror(errno));
out:
    buf_free(&out);
    buf_free(&cmd);
    buf_free(&script);
    launch_cluster_close(&lc);
    return rc;
}

int launcher_get_ips(const char *config, bool head)
{
    struct launch_cluster lc;
    if (launch_cluster_open(&lc, head ? "get-head-ip" : "get-worker-ips", config) != 0)
        return 1;
    int rc = 0;
    if (head) {
        printf("%s\n", lc.cfg.head_ip);
    } else if (!lc.have_state) {
        char path[4200];
        launch_state_path(lc.cfg.cluster_name, "json", path, sizeof path);
        rc = launch_err(&lc, "cluster '%s' was not brought up from here (no %s): run ray up first",
                        lc.cfg.cluster_name, path);
    } else {
        for (size_t i = 0; i < lc.st.n; i++)
            if (strcmp(lc.st.nodes[i].kind, "worker") == 0 && strcmp(lc.st.nodes[i].state, "up") == 0)
                printf("%s\n", lc.st.nodes[i].ip);
    }
    launch_cluster_close(&lc);
    return rc;
}
