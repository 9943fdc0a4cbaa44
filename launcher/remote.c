/*
 * remote.c — opening a cluster from its YAML and running its commands on a
 * node (see remote.h).
 */
#include "launcher/remote.h"

#include "common/buf.h"
#include "common/netutil.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int launch_err(const struct launch_cluster *lc, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "ray %s: %s\n", lc->cmd, msg);
    fflush(stderr);
    return 1;
}

double launch_elapsed(const struct launch_cluster *lc)
{
    return (double)(net_now_ms() - lc->t0_ms) / 1000.0;
}

int launch_cluster_open(struct launch_cluster *lc, const char *cmd, const char *config)
{
    memset(lc, 0, sizeof *lc);
    lc->cmd = cmd;
    lc->t0_ms = net_now_ms();
    struct buf warn = BUF_INIT;
    char err[2048];
    if (launch_config_load(&lc->cfg, config, &warn, err, sizeof err) < 0) {
        buf_free(&warn);
        return launch_err(lc, "%s", err);
    }
    if (warn.len) {
        fflush(stdout);
        fwrite(warn.data, 1, warn.len, stderr);
    }
    buf_free(&warn);
    if (realpath(config, lc->config_abs) == NULL)
        snprintf(lc->config_abs, sizeof lc->config_abs, "%s", config);
    const char *home = getenv("HOME");
    const char *k = lc->cfg.ssh_private_key;
    char boot[4096];
    snprintf(boot, sizeof boot, "%s/ray_bootstrap_key.pem", home ? home : "");
    if (strcmp(cmd, "autoscaler") == 0 && access(boot, R_OK) == 0)
        k = boot; /* on the head: the key ray up left there */
    if (k && strncmp(k, "~/", 2) == 0)
        snprintf(lc->key, sizeof lc->key, "%s/%s", home ? home : "", k + 2);
    else if (k)
        snprintf(lc->key, sizeof lc->key, "%s", k);
    if (k && access(lc->key, R_OK) < 0) {
        int e = errno;
        launch_cluster_close(lc);
        return launch_err(lc, "auth.ssh_private_key %s: %s", k, strerror(e));
    }
    launch_ssh_init(&lc->ssh, lc->cfg.ssh_user, k ? lc->key : NULL);
    int r = launch_state_load(lc->cfg.cluster_name, &lc->st, err, sizeof err);
    if (r < 0) {
        launch_cluster_close(lc);
        return launch_err(lc, "%s", err);
    }
    lc->have_state = r == 0;
    if (!lc->have_state) {
        snprintf(lc->st.cluster_name, sizeof lc->st.cluster_name, "%s", lc->cfg.cluster_name);
        snprintf(lc->st.provider, sizeof lc->st.provider, "%s", lc->cfg.provider_type);
    }
    snprintf(lc->st.config, sizeof lc->st.config, "%s", lc->config_abs);
    lc->prov = launch_provider_get(lc->cfg.provider_type);
    if (lc->prov->create) {
        bool manages = strcmp(cmd, "up") == 0 || strcmp(cmd, "down") == 0 ||
                       strcmp(cmd, "autoscaler") == 0; /* it finds the head by listing */
        if (manages && launch_provider_check(lc->prov, err, sizeof err) < 0) {
            launch_cluster_close(lc);
            return launch_err(lc, "%s", err);
        }
        /* the machines are the provider's: their addresses are in the state */
        for (size_t i = 0; i < lc->st.n; i++) {
            const struct launch_node *nd = &lc->st.nodes[i];
            if (strcmp(nd->state, "stopped") == 0)
                continue;
            if (strcmp(nd->kind, "head") == 0 && lc->cfg.head_ip == NULL)
                lc->cfg.head_ip = xstrdup(nd->ip);
            else if (strcmp(nd->kind, "worker") == 0 && strcmp(nd->state, "up") == 0) {
                lc->cfg.worker_ips.v = xreallocarray(lc->cfg.worker_ips.v, lc->cfg.worker_ips.n + 1,
                                                     sizeof *lc->cfg.worker_ips.v);
                lc->cfg.worker_ips.v[lc->cfg.worker_ips.n++] = xstrdup(nd->ip);
            }
        }
        if (!manages && lc->cfg.head_ip == NULL) {
            char path[4200];
            launch_state_path(lc->cfg.cluster_name, "json", path, sizeof path);
            int rc = launch_err(lc, "cluster '%s' has no head machine (no %s): run ray up first",
                                lc->cfg.cluster_name, path);
            launch_cluster_close(lc);
            return rc;
        }
    }
    return 0;
}

void launch_cluster_close(struct launch_cluster *lc)
{
    launch_config_free(&lc->cfg);
    launch_state_free(&lc->st);
}

void launch_remote_script(const struct launch_cluster *lc, const char *cmd, bool with_token,
                          bool with_address, struct buf *out)
{
    struct buf s = BUF_INIT;
    buf_printf(&s, "cd \"$HOME\" 2>/dev/null; export PATH=\"$HOME/.rayd/bin:$PATH\"; "
                   "export RAY_HEAD_IP=");
    launch_sh_quote(&s, lc->cfg.head_ip);
    buf_printf(&s, "; ");
    if (with_token)
        buf_printf(&s, "export RAY_START_TOKEN=\"$(cat \"$HOME/.ray/auth_token\" 2>/dev/null)\"; "
                       "export RAY_TOKEN=\"$RAY_START_TOKEN\"; ");
    if (with_address)
        buf_printf(&s, "export RAY_ADDRESS=\"$RAY_HEAD_IP:%d\"; ",
                   launch_head_port(&lc->cfg.head_start_ray_commands));
    buf_printf(&s, "%s", cmd);
    buf_append(&s, "", 1);
    buf_printf(out, "bash -c ");
    launch_sh_quote(out, s.data);
    buf_free(&s);
}

void launch_log_path(const struct launch_cluster *lc, const char *ip, char *out, size_t outlen)
{
    char name[512];
    snprintf(name, sizeof name, "%s-%s", lc->cfg.cluster_name, ip);
    launch_state_path(name, "log", out, outlen);
}

void launch_log_append(const struct launch_cluster *lc, const char *ip, const char *what,
                       const struct buf *out)
{
    char path[4200];
    launch_log_path(lc, ip, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct buf b = BUF_INIT;
    buf_printf(&b, "==> %s\n", what);
    if (out && out->len)
        buf_append(&b, out->data, out->len);
    if (out && out->len && out->data[out->len - 1] != '\n')
        buf_append(&b, "\n", 1);
    net_write_all(fd, b.data, b.len);
    buf_free(&b);
    close(fd);
}

bool launch_flag_value(const struct launch_strv *v, const char *flag, char *out, size_t outlen)
{
    bool found = false;
    size_t fl = strlen(flag);
    for (size_t i = 0; i < v->n; i++) {
        const char *p = v->v[i];
        while ((p = strstr(p, flag)) != NULL) {
            bool word = p == v->v[i] || p[-1] == ' ' || p[-1] == '\t';
            const char *q = p + fl;
            p = q;
            if (!word || (*q != '=' && *q != ' '))
                continue;
            while (*q == '=' || *q == ' ')
                q++;
            size_t n = 0;
            char quote = (*q == '\'' || *q == '"') ? *q++ : 0;
            while (q[n] && (quote ? q[n] != quote : !strchr(" \t;&|)", q[n])))
                n++;
            if (n == 0 || n >= outlen)
                continue;
            memcpy(out, q, n);
            out[n] = '\0';
            found = true; /* the last one wins, as in the commands */
        }
    }
    return found;
}

void launch_temp_dir(const struct launch_strv *v, char *out, size_t outlen)
{
    if (!launch_flag_value(v, "--temp-dir", out, outlen))
        snprintf(out, outlen, "/tmp/ray");
}

int launch_head_port(const struct launch_strv *v)
{
    char p[32];
    if (!launch_flag_value(v, "--port", p, sizeof p))
        return 6379;
    int port = atoi(p);
    return port > 0 && port < 65536 ? port : 6379;
}

size_t launch_worker_count(const struct launch_config *c, int min, int max)
{
    int lo = min >= 0 ? min : c->min_workers;
    int hi = max >= 0 ? max : c->max_workers;
    if (strcmp(c->provider_type, "local") != 0) {
        /* clouds: as many as asked for, no list to cap it */
        size_t want = lo > 0 ? (size_t)lo : 0;
        return hi >= 0 && (size_t)hi < want ? (size_t)hi : want;
    }
    size_t n = c->worker_ips.n;
    if (lo >= 0 && (size_t)lo < n)
        n = (size_t)lo;
    if (hi >= 0 && (size_t)hi < n)
        n = (size_t)hi;
    return n;
}

int launch_host_probe(const struct launch_cluster *lc, struct launch_host *h, int wait_s,
                      char *err, size_t errlen)
{
    char temp[1024];
    launch_temp_dir(h->head ? &lc->cfg.head_start_ray_commands : &lc->cfg.worker_start_ray_commands,
                    temp, sizeof temp);
    struct buf cmd = BUF_INIT, script = BUF_INIT, out = BUF_INIT;
    buf_printf(&cmd, "echo \"home=$HOME\"; command -v rsync >/dev/null 2>&1 && echo rsync=yes; "
                     "if [ -f \"$HOME/.rayd/bin/rayd\" ]; then echo \"sha=$(sha256sum "
                     "\"$HOME/.rayd/bin/rayd\" 2>/dev/null | cut -c1-64)\"; fi; "
                     "p=$(cat %s/session_latest/rayd.pid 2>/dev/null) && kill -0 \"$p\" "
                     "2>/dev/null && echo running=yes; true",
               temp);
    launch_remote_script(lc, cmd.data, false, false, &script);
    long long end = net_now_ms() + (long long)wait_s * 1000;
    int rc;
    for (;;) {
        buf_reset(&out);
        rc = launch_ssh_run(&lc->ssh, h->ip, script.data, NULL, 0, &out);
        if (rc == 0 || rc != 255 || net_now_ms() >= end)
            break;
        usleep(500000);
    }
    launch_log_append(lc, h->ip, "probe", &out);
    if (rc != 0) {
        char line[512];
        launch_ssh_last_line(&out, line, sizeof line);
        if (rc < 0)
            snprintf(err, errlen, "cannot run ssh: %s", strerror(errno));
        else
            snprintf(err, errlen, "%s", line[0] ? line : "ssh failed");
        goto out;
    }
    buf_append(&out, "", 1);
    h->home[0] = h->rayd_sha[0] = '\0';
    h->has_rsync = h->running = false;
    for (char *l = out.data; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(l, "home=", 5) == 0)
            snprintf(h->home, sizeof h->home, "%s", l + 5);
        else if (strcmp(l, "rsync=yes") == 0)
            h->has_rsync = true;
        else if (strncmp(l, "sha=", 4) == 0)
            snprintf(h->rayd_sha, sizeof h->rayd_sha, "%.64s", l + 4);
        else if (strcmp(l, "running=yes") == 0)
            h->running = true;
        l = nl ? nl + 1 : NULL;
    }
    if (h->home[0] != '/') {
        snprintf(err, errlen, "the remote shell did not say where $HOME is");
        rc = -1;
    }
out:
    buf_free(&cmd);
    buf_free(&script);
    buf_free(&out);
    return rc == 0 ? 0 : -1;
}

int launch_run_commands(const struct launch_cluster *lc, const struct launch_host *h,
                        const struct launch_strv *v, bool with_token, char *err, size_t errlen)
{
    for (size_t i = 0; i < v->n; i++) {
        struct buf script = BUF_INIT, out = BUF_INIT;
        launch_remote_script(lc, v->v[i], with_token, false, &script);
        int rc = launch_ssh_run(&lc->ssh, h->ip, script.data, NULL, 0, &out);
        launch_log_append(lc, h->ip, v->v[i], &out);
        if (rc != 0) {
            char line[512], shown[200];
            launch_ssh_last_line(&out, line, sizeof line);
            snprintf(shown, sizeof shown, "%.120s%s", v->v[i], strlen(v->v[i]) > 120 ? "..." : "");
            if (rc < 0)
                snprintf(err, errlen, "cannot run ssh: %s", strerror(errno));
            else if (rc == 255)
                snprintf(err, errlen, "`%s`: ssh failed: %s", shown, line[0] ? line : "no message");
            else
                snprintf(err, errlen, "`%s` exited %d%s%s", shown, rc, line[0] ? ": " : "", line);
            buf_free(&script);
            buf_free(&out);
            return -1;
        }
        buf_free(&script);
        buf_free(&out);
    }
    return 0;
}

void launch_remote_path(const struct launch_host *h, const char *p, char *out, size_t outlen)
{
    if (strcmp(p, "~") == 0)
        snprintf(out, outlen, "%s", h->home);
    else if (strncmp(p, "~/", 2) == 0)
        snprintf(out, outlen, "%s/%s", h->home, p + 2);
    else if (p[0] != '/')
        snprintf(out, outlen, "%s/%s", h->home, p);
    else
        snprintf(out, outlen, "%s", p);
}

const struct launch_node_type *launch_ip_type(const struct launch_config *c, const char *ip)
{
    for (size_t i = 0; i < c->ntypes; i++)
        for (size_t k = 0; k < c->types[i].worker_ips.n; k++)
            if (strcmp(c->types[i].worker_ips.v[k], ip) == 0)
                return &c->types[i];
    for (size_t i = 0; i < c->ntypes; i++)
        if (c->types[i].worker_ips.n == 0 && launch_node_type_is_worker(c, &c->types[i]))
            return &c->types[i];
    return NULL;
}

void launch_local_ips(const struct launch_config *c, struct launch_strv *out)
{
    out->v = NULL;
    out->n = 0;
    for (size_t t = 0; t <= c->ntypes; t++) {
        const struct launch_strv *v = t == 0 ? &c->worker_ips : &c->types[t - 1].worker_ips;
        for (size_t i = 0; i < v->n; i++) {
            bool dup = false;
            for (size_t k = 0; k < out->n && !dup; k++)
                dup = strcmp(out->v[k], v->v[i]) == 0;
            if (dup)
                continue;
            out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
            out->v[out->n++] = v->v[i];
        }
    }
}

size_t launch_worker_plan(const struct launch_config *c, int min, int max, const char ***ips,
                          const struct launch_node_type ***types)
{
    bool local = strcmp(c->provider_type, "local") == 0;
    size_t n = 0, cap = 0;
    *ips = NULL;
    *types = NULL;
    bool any_worker_type = false;
    for (size_t t = 0; t < c->ntypes; t++)
        any_worker_type |= launch_node_type_is_worker(c, &c->types[t]);
    if (!c->types_given || (local && !any_worker_type)) {
        /* no node types, or (local) only a head type: worker_ips as they are */
        n = launch_worker_count(c, min, max);
        *ips = xcalloc(n ? n : 1, sizeof **ips);
        *types = xcalloc(n ? n : 1, sizeof **types);
        for (size_t i = 0; i < n; i++) {
            (*ips)[i] = local ? c->worker_ips.v[i] : NULL;
            (*types)[i] = local ? launch_ip_type(c, c->worker_ips.v[i]) : launch_node_type_find(c, "ray.worker.default");
        }
        return n;
    }
    int hi = max >= 0 ? max : c->max_workers;
    struct launch_strv all;
    launch_local_ips(c, &all);
    for (size_t t = 0; t < c->ntypes; t++) {
        const struct launch_node_type *ty = &c->types[t];
        if (!launch_node_type_is_worker(c, ty))
            continue;
        int want = ty->min_workers;
        if (ty->max_workers >= 0 && want > ty->max_workers)
            want = ty->max_workers;
        for (int k = 0; k < want && (hi < 0 || n < (size_t)hi); k++) {
            const char *ip = NULL;
            for (size_t i = 0; local && i < all.n && ip == NULL; i++) {
                bool taken = launch_ip_type(c, all.v[i]) != ty;
                for (size_t j = 0; j < n && !taken; j++)
                    taken = strcmp((*ips)[j], all.v[i]) == 0;
                if (!taken)
                    ip = all.v[i];
            }
            if (local && ip == NULL)
                break; /* no more hosts of this type */
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                *ips = xreallocarray(*ips, cap, sizeof **ips);
                *types = xreallocarray(*types, cap, sizeof **types);
            }
            (*ips)[n] = ip;
            (*types)[n] = ty;
            n++;
        }
    }
    free(all.v);
    if (*ips == NULL) {
        *ips = xcalloc(1, sizeof **ips);
        *types = xcalloc(1, sizeof **types);
    }
    return n;
}

void launch_type_start_flags(const struct launch_node_type *t, struct buf *out)
{
    if (t == NULL || t->resources == NULL)
        return;
    struct buf custom = BUF_INIT;
    const char *p = t->resources;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        p += len + (p[len] == ',');
        char *eq = strchr(item, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        if (strcmp(item, "CPU") == 0)
            buf_printf(out, " --num-cpus=%s", eq + 1);
        else if (strcmp(item, "GPU") == 0)
            buf_printf(out, " --num-gpus=%s", eq + 1);
        else if (strcmp(item, "memory") == 0)
            buf_printf(out, " --memory=%s", eq + 1);
        else if (strcmp(item, "object_store_memory") == 0)
            buf_printf(out, " --object-store-memory=%s", eq + 1);
        else
            buf_printf(&custom, "%s%s=%s", custom.len ? "," : "", item, eq + 1);
    }
    if (custom.len)
        buf_printf(out, " --resources=%s", custom.data);
    buf_free(&custom);
}

void launch_typed_start(const struct launch_strv *v, const struct launch_node_type *t,
                        struct launch_strv *out)
{
    struct buf flags = BUF_INIT;
    launch_type_start_flags(t, &flags);
    out->n = v->n;
    out->v = xcalloc(v->n ? v->n : 1, sizeof *out->v);
    for (size_t i = 0; i < v->n; i++) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "%s", v->v[i]);
        if (flags.len && strstr(v->v[i], "ray start") != NULL)
            buf_printf(&b, "%s", flags.data);
        out->v[i] = xstrdup(b.data);
        buf_free(&b);
    }
    buf_free(&flags);
}

void launch_strv_free(struct launch_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}
