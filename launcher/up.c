/*
 * up.c — `ray up CLUSTER.yaml`: the steps of SPEC section 8, in order, on
 * the head and then on the workers (each worker in a child process of its
 * own, so they come up in parallel and one stuck host delays no other):
 *
 *   [1/7] validate the config           (here)
 *   [2/7] wait for SSH                  (probe: $HOME, rsync, rayd's hash)
 *   [3/7] copy rayd (by content hash) and file_mounts / cluster_synced_files
 *   [4/7] initialization_commands
 *   [5/7] setup_commands + head_/worker_setup_commands
 *   [6/7] hand over the cluster token   (over the SSH channel, 0600 file)
 *   [7/7] head_/worker_start_ray_commands
 *
 * Every step prints one numbered line per node with the time since the
 * start; a failure is one line naming the host, the step and the command's
 * own error. The head failing stops everything; a worker failing leaves
 * the others to finish and makes the exit status 1.
 */
#include "launcher/launcher.h"
#include "launcher/remote.h"

#include "common/buf.h"
#include "common/sha256.h"
#include "common/xmalloc.h"
#include "session/session.h"
#include "launcher/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UP_STEPS     7
#define UP_SSH_WAIT  20 /* seconds to wait for a node's sshd ($RAY_UP_SSH_WAIT_S) */

struct up {
    struct launch_cluster lc;
    const struct launch_up_opts *o;
    char sha[65];         /* of our own rayd */
    char token[256];
    bool no_restart;
    const char **wips;                     /* the workers' addresses (clouds: filled by up_machines) */
    const struct launch_node_type **wtypes; /* and their node types */
    size_t nw;
};

static void up_step(struct up *u, int n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void up_step(struct up *u, int n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one write per line: children print concurrently */
    char line[1200];
    int len = snprintf(line, sizeof line, "[%d/%d] %s [+%.1fs]\n", n, UP_STEPS, msg,
                       launch_elapsed(&u->lc));
    fflush(stdout);
    if (len > 0)
        (void)!write(1, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
}

static void up_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void up_note(const char *fmt, ...)
{
    char msg[1024], line[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int len = snprintf(line, sizeof line, "      %s\n", msg);
    fflush(stdout);
    if (len > 0)
        (void)!write(1, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
}

/* sha256 of FILE in hex. Returns 0 or -1. */
static int file_sha(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct sha256_ctx c;
    sha256_init(&c);
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        sha256_update(&c, chunk, (size_t)n);
    close(fd);
    if (n < 0)
        return -1;
    uint8_t d[SHA256_SIZE];
    sha256_final(&c, d);
    for (int i = 0; i < SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

static void local_path(const char *p, char *out, size_t outlen)
{
    const char *home = getenv("HOME");
    if (strncmp(p, "~/", 2) == 0)
        snprintf(out, outlen, "%s/%s", home ? home : "", p + 2);
    else
        snprintf(out, outlen, "%s", p);
}

/* Run the shell command CMD on H (with INPUT on its stdin); ERR gets the
 * one-line reason. */
static int up_remote(struct up *u, const struct launch_host *h, const char *what, const char *cmd,
                     const char *input, size_t inlen, char *err, size_t errlen)
{
    struct buf script = BUF_INIT, out = BUF_INIT;
    launch_remote_script(&u->lc, cmd, false, false, &script);
    int rc = launch_ssh_run(&u->lc.ssh, h->ip, script.data, input, inlen, &out);
    launch_log_append(&u->lc, h->ip, what, &out);
    if (rc != 0) {
        char line[512];
        launch_ssh_last_line(&out, line, sizeof line);
        snprintf(err, errlen, "%s: %s", what, rc < 0 ? strerror(errno) : line[0] ? line : "failed");
    }
    buf_free(&script);
    buf_free(&out);
    return rc == 0 ? 0 : -1;
}

static int up_copy(struct up *u, const struct launch_host *h, const char *local,
                   const char *remote, int *changed, char *err, size_t errlen)
{
    struct buf out = BUF_INIT;
    int rc = launch_ssh_copy(&u->lc.ssh, h->ip, local, remote, false, h->has_rsync,
                             u->lc.cfg.rsync_exclude.v, u->lc.cfg.rsync_exclude.n, changed, &out);
    launch_log_append(&u->lc, h->ip, local, &out);
    if (rc != 0) {
        char line[512];
        launch_ssh_last_line(&out, line, sizeof line);
        snprintf(err, errlen, "copying %s to %s: %s", local, remote,
                 rc < 0 ? strerror(errno) : line[0] ? line : "failed");
    }
    buf_free(&out);
    return rc == 0 ? 0 : -1;
}

/* Step 3: rayd, the `ray` link, file_mounts and cluster_synced_files. */
static int up_files(struct up *u, const struct launch_host *h, char *err, size_t errlen)
{
    char dst[4200], cmd[9000];
    if (strcmp(h->rayd_sha, u->sha) == 0) {
        up_note("rayd on %s is up to date (sha256 %.12s), not copied", h->ip, u->sha);
    } else {
        snprintf(cmd, sizeof cmd, "mkdir -p \"$HOME/.rayd/bin\"");
        if (up_remote(u, h, "mkdir ~/.rayd/bin", cmd, NULL, 0, err, errlen) < 0)
            return -1;
        snprintf(dst, sizeof dst, "%s/.rayd/bin/.rayd.new", h->home);
        if (up_copy(u, h, session_self_exe(), dst, NULL, err, errlen) < 0)
            return -1;
        snprintf(cmd, sizeof cmd, "cd \"$HOME/.rayd/bin\" && chmod 755 .rayd.new && mv -f .rayd.new rayd"
                                  " && ln -sfn rayd ray");
        if (up_remote(u, h, "install rayd", cmd, NULL, 0, err, errlen) < 0)
            return -1;
        up_note("copied rayd to %s:~/.rayd/bin (sha256 %.12s%s)", h->ip, u->sha,
                h->rayd_sha[0] ? ", replacing an older one" : "");
    }
    const struct launch_config *c = &u->lc.cfg;
    size_t total = c->nmounts + c->cluster_synced_files.n;
    if (total == 0)
        return 0;
    /* the folders they go to, in one round trip */
    struct buf mk = BUF_INIT;
    buf_printf(&mk, "mkdir -p");
    for (size_t i = 0; i < total; i++) {
        const char *r = i < c->nmounts ? c->mounts[i].remote : c->cluster_synced_files.v[i - c->nmounts];
        const char *l = i < c->nmounts ? c->mounts[i].local : c->cluster_synced_files.v[i - c->nmounts];
        char lp[4200], rp[4200];
        local_path(l, lp, sizeof lp);
        launch_remote_path(h, r, rp, sizeof rp);
        if (access(lp, R_OK) < 0) {
            snprintf(err, errlen, "file_mounts: %s: %s", l, strerror(errno));
            buf_free(&mk);
            return -1;
        }
        struct stat sb;
        bool dir = stat(lp, &sb) == 0 && S_ISDIR(sb.st_mode);
        char *slash = strrchr(rp, '/');
        if (!dir && slash)
            *slash = '\0';
        buf_append(&mk, " ", 1);
        launch_sh_quote(&mk, rp[0] ? rp : "/");
    }
    buf_append(&mk, "", 1);
    int rc = up_remote(u, h, "mkdir file_mounts", mk.data, NULL, 0, err, errlen);
    buf_free(&mk);
    if (rc < 0)
        return -1;
    int sent = 0;
    bool unknown = false;
    for (size_t i = 0; i < total; i++) {
        const char *r = i < c->nmounts ? c->mounts[i].remote : c->cluster_synced_files.v[i - c->nmounts];
        const char *l = i < c->nmounts ? c->mounts[i].local : c->cluster_synced_files.v[i - c->nmounts];
        char lp[4200], rp[4200];
        local_path(l, lp, sizeof lp);
        launch_remote_path(h, r, rp, sizeof rp);
        int changed = 0;
        if (up_copy(u, h, lp, rp, &changed, err, errlen) < 0)
            return -1;
        if (changed < 0)
            unknown = true;
        else
            sent += changed;
    }
    if (unknown)
        up_note("file mounts copied to %s with scp (no rsync there): %zu path(s)", h->ip, total);
    else if (sent == 0)
        up_note("file mounts on %s are up to date (%zu path(s)), nothing copied", h->ip, total);
    else
        up_note("file mounts: %d file(s) copied to %s", sent, h->ip);
    return 0;
}

static int up_autoscaler(struct up *u, const struct launch_host *h, char *err, size_t errlen);

/* The steps 2..7 on one node. Returns 0 or -1 with ERR "step: reason". */
static int up_node(struct up *u, struct launch_host *h, char *err, size_t errlen)
{
    const struct launch_config *c = &u->lc.cfg;
    char why[1536];
    const char *role = h->head ? "head" : "worker";
    up_step(u, 2, "Waiting for SSH on %s (%s)", h->ip, role);
    const char *w = getenv("RAY_UP_SSH_WAIT_S");
    int wait_s = w && atoi(w) > 0 ? atoi(w) : UP_SSH_WAIT;
    if (launch_host_probe(&u->lc, h, wait_s, why, sizeof why) < 0) {
        snprintf(err, errlen, "waiting for SSH: %s", why);
        return -1;
    }
    up_step(u, 3, "Copying rayd and file mounts to %s", h->ip);
    if (up_files(u, h, why, sizeof why) < 0) {
        snprintf(err, errlen, "copying files: %s", why);
        return -1;
    }
    if (u->o->restart_only) {
        up_step(u, 4, "Skipping initialization commands on %s (--restart-only)", h->ip);
        up_step(u, 5, "Skipping setup commands on %s (--restart-only)", h->ip);
    } else {
        up_step(u, 4, "Running initialization commands on %s (%zu)", h->ip, c->initialization_commands.n);
        if (launch_run_commands(&u->lc, h, &c->initialization_commands, false, why, sizeof why) < 0) {
            snprintf(err, errlen, "initialization commands: %s", why);
            return -1;
        }
        const struct launch_strv *own = h->head ? &c->head_setup_commands : &c->worker_setup_commands;
        up_step(u, 5, "Running setup commands on %s (%zu)", h->ip, c->setup_commands.n + own->n);
        if (launch_run_commands(&u->lc, h, &c->setup_commands, false, why, sizeof why) < 0 ||
            launch_run_commands(&u->lc, h, own, false, why, sizeof why) < 0) {
            snprintf(err, errlen, "setup commands: %s", why);
            return -1;
        }
    }
    up_step(u, 6, "Handing over the cluster token to %s", h->ip);
    char tok[300];
    int tl = snprintf(tok, sizeof tok, "%s\n", u->token);
    const char *put = "umask 077; mkdir -p \"$HOME/.ray\" && cat > \"$HOME/.ray/auth_token.new\" && "
                      "mv -f \"$HOME/.ray/auth_token.new\" \"$HOME/.ray/auth_token\"";
    if (up_remote(u, h, "token", put, tok, (size_t)tl, why, sizeof why) < 0) {
        snprintf(err, errlen, "handing over the token: %s", why);
        return -1;
    }
    if (h->head) {
        /* what the autoscaler will read (SPEC section 8), 0600 as Ray's */
        struct buf yaml = BUF_INIT, key = BUF_INIT;
        FILE *fp = fopen(u->lc.config_abs, "r");
        char chunk[8192];
        size_t n;
        while (fp && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
            buf_append(&yaml, chunk, n);
        if (fp)
            fclose(fp);
        int rc = up_remote(u, h, "bootstrap config",
                           "umask 077; cat > \"$HOME/ray_bootstrap_config.yaml\"", yaml.data,
                           yaml.len, why, sizeof why);
        if (rc == 0 && u->lc.ssh.key) {
            fp = fopen(u->lc.ssh.key, "r");
            while (fp && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
                buf_append(&key, chunk, n);
            if (fp)
                fclose(fp);
            rc = up_remote(u, h, "bootstrap key", "umask 077; cat > \"$HOME/ray_bootstrap_key.pem\"",
                           key.data, key.len, why, sizeof why);
        }
        buf_free(&yaml);
        buf_free(&key);
        if (rc < 0) {
            snprintf(err, errlen, "bootstrap files: %s", why);
            return -1;
        }
    }
    if (u->no_restart && h->running) {
        up_step(u, 7, "Ray already runs on %s: left alone (--no-restart)", h->ip);
        return 0;
    }
    struct launch_strv start;
    launch_typed_start(h->head ? &c->head_start_ray_commands : &c->worker_start_ray_commands,
                       h->type, &start);
    if (h->type && h->type->resources)
        up_step(u, 7, "Starting Ray on %s (%s, type %s: %s)", h->ip, role, h->type->name,
                h->type->resources);
    else
        up_step(u, 7, "Starting Ray on %s (%s)", h->ip, role);
    int src = launch_run_commands(&u->lc, h, &start, true, why, sizeof why);
    launch_strv_free(&start);
    if (src < 0) {
        snprintf(err, errlen, "starting Ray: %s", why);
        return -1;
    }
    return 0;
}

/* Clouds: find the cluster's machines, make the missing head and workers
 * (NWORKERS in all), and point the config at their addresses. The state is
 * saved after each machine made, so `ray down` deletes it whatever happens
 * next. Returns 0 or -1 with err. */
static int up_machines(struct up *u, char *err, size_t errlen)
{
    size_t nworkers = u->nw;
    struct launch_config *c = &u->lc.cfg;
    struct launch_state *st = &u->lc.st;
    const struct launch_provider *p = u->lc.prov;
    struct launch_machine *m = NULL;
    size_t n = 0;
    char e[1024];
    if (p->list(c, &m, &n, e, sizeof e) < 0) {
        snprintf(err, errlen, "listing machines: %s", e);
        return -1;
    }
    free(c->head_ip);
    c->head_ip = NULL;
    for (size_t i = 0; i < c->worker_ips.n; i++)
        free(c->worker_ips.v[i]);
    c->worker_ips.n = 0;
    launch_state_free(st); /* rebuilt from what the provider says exists */
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].kind, "head") == 0 && c->head_ip == NULL && m[i].ip[0]) {
            c->head_ip = xstrdup(m[i].ip);
            launch_state_set(st, m[i].ip, "head", "launching");
            launch_state_name(st, m[i].ip, m[i].name);
            up_note("head machine %s (%s) exists", m[i].name, m[i].ip);
        }
    }
    char name[128], ip[256];
    if (c->head_ip == NULL) {
        launch_machine_name(c->cluster_name, "head", 0, name, sizeof name);
        if (p->create(c, name, "head", launch_node_type_find(c, c->head_node_type), ip, sizeof ip,
                      e, sizeof e) < 0) {
            snprintf(err, errlen, "creating the head machine %s with %s: %s", name, p->cli, e);
            goto out;
        }
        c->head_ip = xstrdup(ip);
        launch_state_set(st, ip, "head", "launching");
        launch_state_name(st, ip, name);
        launch_state_save(st, e, sizeof e);
        up_note("created head machine %s (%s) with %s [+%.1fs]", name, ip, p->cli,
                launch_elapsed(&u->lc));
    }
    for (size_t i = 0; i < n && c->worker_ips.n < nworkers; i++) {
        if (strcmp(m[i].kind, "worker") != 0 || !m[i].ip[0])
            continue;
        c->worker_ips.v = xreallocarray(c->worker_ips.v, c->worker_ips.n + 1, sizeof *c->worker_ips.v);
        c->worker_ips.v[c->worker_ips.n++] = xstrdup(m[i].ip);
        launch_state_set(st, m[i].ip, "worker", "launching");
        launch_state_name(st, m[i].ip, m[i].name);
        up_note("worker machine %s (%s) exists", m[i].name, m[i].ip);
    }
    for (int k = 1; c->worker_ips.n < nworkers; k++) {
        launch_machine_name(c->cluster_name, "worker", k, name, sizeof name);
        bool taken = false;
        for (size_t i = 0; i < n; i++)
            taken |= strcmp(m[i].name, name) == 0;
        if (taken)
            continue;
        if (p->create(c, name, "worker", u->wtypes[c->worker_ips.n], ip, sizeof ip, e, sizeof e) < 0) {
            snprintf(err, errlen, "creating worker machine %s with %s: %s", name, p->cli, e);
            goto out;
        }
        c->worker_ips.v = xreallocarray(c->worker_ips.v, c->worker_ips.n + 1, sizeof *c->worker_ips.v);
        c->worker_ips.v[c->worker_ips.n++] = xstrdup(ip);
        launch_state_set(st, ip, "worker", "launching");
        launch_state_name(st, ip, name);
        launch_state_save(st, e, sizeof e);
        up_note("created worker machine %s (%s) with %s [+%.1fs]", name, ip, p->cli,
                launch_elapsed(&u->lc));
    }
    rc = 0;
out:
    for (size_t i = 0; i < c->worker_ips.n && i < nworkers; i++)
        u->wips[i] = c->worker_ips.v[i];
    launch_state_save(st, e, sizeof e);
    free(m);
    return rc;
}

int launch_up_worker(struct launch_cluster *lc, const char *ip, const struct launch_node_type *type,
                     const char *token, char *err, size_t errlen)
{
    struct launch_up_opts o = { .yes = true, .min_workers = -1, .max_workers = -1 };
    struct up u = { .lc = *lc, .o = &o }; /* borrowed: never closed here */
    snprintf(u.token, sizeof u.token, "%s", token);
    if (file_sha(session_self_exe(), u.sha) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", session_self_exe(), strerror(errno));
        return -1;
    }
    struct launch_host h = { .ip = ip, .type = type };
    return up_node(&u, &h, err, errlen);
}

/* Start (or restart) the autoscaler on the head when its start commands ask
 * for one (--autoscaling-config): `ray autoscaler` in the background there,
 * its pid in ~/.ray/autoscaler.pid, its log in ~/.ray/autoscaler.log. */
static int up_autoscaler(struct up *u, const struct launch_host *h, char *err, size_t errlen)
{
    char v[4096];
    if (!launch_flag_value(&u->lc.cfg.head_start_ray_commands, "--autoscaling-config", v, sizeof v))
        return 0;
    const char *cmd =
        "p=$(cat \"$HOME/.ray/autoscaler.pid\" 2>/dev/null) && grep -q autoscaler /proc/$p/cmdline "
        "2>/dev/null && kill $p; nohup ray autoscaler \"$HOME/ray_bootstrap_config.yaml\" "
        ">>\"$HOME/.ray/autoscaler.log\" 2>&1 </dev/null & echo $! > \"$HOME/.ray/autoscaler.pid\"";
    if (up_remote(u, h, "autoscaler", cmd, NULL, 0, err, errlen) < 0)
        return -1;
    up_note("autoscaler started on %s (log: ~/.ray/autoscaler.log)", h->ip);
    return 0;
}

static void up_useful(const struct up *u)
{
    const char *cfg = u->lc.config_abs;
    printf("\nUseful commands:\n"
           "  To terminate the cluster:\n    ray down %s\n\n"
           "  To run a command on the head:\n    ray exec %s 'ray status'\n\n"
           "  To get a remote shell to the head:\n    ray attach %s\n\n"
           "  To submit a job:\n    ray submit %s job.so\n\n"
           "  The head's address:\n    ray get-head-ip %s\n",
           cfg, cfg, cfg, cfg, cfg);
    fflush(stdout);
}

int launcher_up(const struct launch_up_opts *o)
{
    struct up u = { .o = o };
    if (launch_cluster_open(&u.lc, "up", o->config) != 0)
        return 1;
    struct launch_config *c = &u.lc.cfg;
    int rc = 1;
    char err[2048];
    u.no_restart = o->no_restart || c->no_restart;
    size_t nworkers = launch_worker_plan(c, o->min_workers, o->max_workers, &u.wips, &u.wtypes);
    u.nw = nworkers;
    up_step(&u, 1, "Validated %s: cluster '%s', provider %s, head %s, %zu worker(s)", o->config,
            c->cluster_name, c->provider_type, c->head_ip ? c->head_ip : "(to be created)",
            nworkers);
    if (c->has_docker)
        up_note("docker: ignored, commands run on the hosts themselves");
    if (!o->yes && isatty(0)) {
        printf("This will start or update cluster '%s' on %zu node(s). Continue? [y/N] ",
               c->cluster_name, nworkers + 1);
        fflush(stdout);
        char ans[16] = "";
        if (fgets(ans, sizeof ans, stdin) == NULL || (ans[0] != 'y' && ans[0] != 'Y')) {
            launch_err(&u.lc, "aborted");
            goto out;
        }
    }
    if (file_sha(session_self_exe(), u.sha) < 0) {
        launch_err(&u.lc, "cannot read %s: %s", session_self_exe(), strerror(errno));
        goto out;
    }
    if (launch_state_token(c->cluster_name, u.token, sizeof u.token, err, sizeof err) < 0) {
        launch_err(&u.lc, "%s", err);
        goto out;
    }
    if (u.lc.prov->create && up_machines(&u, err, sizeof err) < 0) {
        launch_err(&u.lc, "%s", err);
        goto out;
    }
    /* the head first: the workers need it */
    struct launch_host head = { .ip = c->head_ip, .head = true,
                                .type = launch_node_type_find(c, c->head_node_type) };
    if (up_node(&u, &head, err, sizeof err) < 0) {
        char log[4200];
        launch_log_path(&u.lc, head.ip, log, sizeof log);
        launch_err(&u.lc, "%s (head): %s (log: %s)", head.ip, err, log);
        launch_state_set(&u.lc.st, head.ip, "head", "failed");
        launch_state_save(&u.lc.st, err, sizeof err);
        goto out;
    }
    launch_state_set(&u.lc.st, head.ip, "head", "up");
    launch_state_save(&u.lc.st, err, sizeof err);

    /* the workers in parallel, one child each */
    pid_t *pids = xcalloc(nworkers ? nworkers : 1, sizeof *pids);
    fflush(stdout);
    fflush(stderr);
    for (size_t i = 0; i < nworkers; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            struct launch_host h = { .ip = u.wips[i], .type = u.wtypes[i] };
            if (up_node(&u, &h, err, sizeof err) < 0) {
                char log[4200];
                launch_log_path(&u.lc, h.ip, log, sizeof log);
                launch_err(&u.lc, "%s (worker): %s (log: %s)", h.ip, err, log);
                _exit(1);
            }
            _exit(0);
        }
        if (pids[i] < 0)
            launch_err(&u.lc, "%s: fork: %s", u.wips[i], strerror(errno));
    }
    size_t failed = 0;
    for (size_t i = 0; i < nworkers; i++) {
        int st = 1;
        if (pids[i] > 0)
            while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
                ;
        bool ok = pids[i] > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        failed += !ok;
        launch_state_set(&u.lc.st, u.wips[i], "worker", ok ? "up" : "failed");
    }
    free(pids);
    if (launch_state_save(&u.lc.st, err, sizeof err) < 0)
        launch_err(&u.lc, "%s", err);
    /* the autoscaler last, so it does not start the workers ray up is starting */
    if (!(u.no_restart && head.running) && up_autoscaler(&u, &head, err, sizeof err) < 0) {
        char log[4200];
        launch_log_path(&u.lc, head.ip, log, sizeof log);
        launch_err(&u.lc, "%s (head): starting the autoscaler: %s (log: %s)", head.ip, err, log);
        goto out;
    }
    if (failed) {
        launch_err(&u.lc, "%zu of %zu worker(s) did not come up (the others did)", failed, nworkers);
        goto out;
    }
    printf("Cluster '%s' is up: head %s and %zu worker(s) in %.1fs.\n", c->cluster_name, c->head_ip,
           nworkers, launch_elapsed(&u.lc));
    up_useful(&u);
    rc = 0;
out:
    free(u.wips);
    free(u.wtypes);
    launch_cluster_close(&u.lc);
    return rc;
}
