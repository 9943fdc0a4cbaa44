/*
 * autoscaler.c — `ray autoscaler CONFIG`: the autoscaler, on the head (ray
 * up starts it there when the head's start commands carry
 * --autoscaling-config, with ~/ray_bootstrap_config.yaml and the key
 * ~/ray_bootstrap_key.pem). Provider local only, for now.
 *
 * DESIGN: one loop, once a second, reading the GCS like `ray status` does:
 * the node table and each node's demands (<p>demands:<node>, pending and
 * infeasible shapes). A demand while fewer than max_workers workers run
 * starts one more worker of worker_ips that runs no node (at most
 * max(1, upscaling_speed x workers) launching at once), in a child process
 * running the same steps as `ray up` (up.c); after one comes up, no new
 * launch for 3 s, so demands it takes are not counted twice. A failed launch is logged and
 * retried after a back-off (2, 4, 8 ... 60 s). A worker whose resources are
 * all free, whose queue is empty and which has no demand, for
 * idle_timeout_minutes, is stopped (`ray stop` over SSH), never below
 * min_workers, never the head. Idle means no task and no resource held (an
 * actor holds its resources); objects it holds are not looked at yet. The
 * loop exits once the GCS has been unreachable for 5 s (the head stopped).
 * Every decision is one line on stdout (the log, ~/.ray/autoscaler.log).
 */
#include "launcher/launcher.h"
#include "launcher/remote.h"

#include "common/buf.h"
#include "common/netutil.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AS_GONE_MS   5000
#define AS_SETTLE_MS 3000 /* after a worker came up, let the demands catch up */

struct as_worker {
    pid_t launching;      /* child running the up steps, or 0 */
    pid_t stopping;       /* child running ray stop, or 0 */
    int failures;
    long long next_try_ms;
    long long idle_since_ms; /* 0: not idle */
    bool alive;
};

static void as_log(const struct launch_cluster *lc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void as_log(const struct launch_cluster *lc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    printf("%s autoscaler[%s]: %s\n", ts, lc->cfg.cluster_name, msg);
    fflush(stdout);
}

/* Demand lines of NODE_HEX (0 if none or unreadable). */
static int as_demands(struct gcs_sync *gs, const char *node_hex)
{
    struct gcs_reply *r = gcs_sync_command(gs, "GET %sdemands:%s", gcs_sync_prefix(gs), node_hex);
    size_t len = 0;
    const char *s = gcs_reply_type(r) == GCS_REPLY_STRING ? gcs_reply_str(r, &len) : NULL;
    int n = 0;
    for (size_t i = 0; s && i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - (s + i)) : len - i;
        if (ll > 0 && memchr(s + i, '\t', ll))
            n++;
        i += ll + 1;
    }
    gcs_reply_free(r);
    return n;
}

static pid_t as_spawn_stop(struct launch_cluster *lc, const char *ip)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char temp[1024], cmd[2048], err[1024];
    launch_temp_dir(&lc->cfg.worker_start_ray_commands, temp, sizeof temp);
    snprintf(cmd, sizeof cmd, "ray stop --temp-dir %s", temp);
    struct launch_strv v = { (char *[]){ cmd }, 1 };
    struct launch_host h = { .ip = ip };
    if (launch_run_commands(lc, &h, &v, false, err, sizeof err) < 0) {
        as_log(lc, "stopping idle worker %s failed: %s", ip, err);
        _exit(1);
    }
    _exit(0);
}

static pid_t as_spawn_launch(struct launch_cluster *lc, const char *ip, const char *token)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char err[2048];
    if (launch_up_worker(lc, ip, token, err, sizeof err) < 0) {
        as_log(lc, "launching worker %s failed: %s", ip, err);
        _exit(1);
    }
    _exit(0);
}

int launcher_autoscaler(const char *config)
{
    struct launch_cluster lc;
    if (launch_cluster_open(&lc, "autoscaler", config) != 0)
        return 1;
    struct launch_config *c = &lc.cfg;
    if (strcmp(c->provider_type, "local") != 0) {
        launch_err(&lc, "provider %s: the autoscaler drives provider local only so far",
                   c->provider_type);
        launch_cluster_close(&lc);
        return 1;
    }
    char token[256], path[4200], cluster[128], err[1024];
    const char *home = getenv("HOME");
    snprintf(path, sizeof path, "%s/.ray/auth_token", home ? home : "");
    if (token_read(path, token, sizeof token) < 0) {
        launch_err(&lc, "no cluster token in %s", path);
        launch_cluster_close(&lc);
        return 1;
    }
    if (!launch_flag_value(&c->head_start_ray_commands, "--cluster-name", cluster, sizeof cluster))
        snprintf(cluster, sizeof cluster, "default");
    int port = launch_head_port(&c->head_start_ray_commands);
    size_t nw = c->worker_ips.n;
    size_t max = c->max_workers >= 0 && (size_t)c->max_workers < nw ? (size_t)c->max_workers : nw;
    /* as ray up: without min_workers, provider local keeps all its workers */
    size_t min = launch_worker_count(c, -1, -1);
    long long idle_ms = (long long)llround(c->idle_timeout_minutes * 60000.0);
    struct as_worker *w = xcalloc(nw + 1, sizeof *w);
    signal(SIGPIPE, SIG_IGN);
    as_log(&lc, "watching %s:%d: %zu worker IPs, workers %zu..%zu, idle timeout %.2f min", c->head_ip,
           port, nw, min, max, c->idle_timeout_minutes);
    struct gcs_sync *gs = NULL;
    long long last_ok = net_now_ms(), settle_until = 0;
    for (;; usleep(1000000)) {
        /* reap what finished */
        for (size_t i = 0; i < nw; i++) {
            int st;
            if (w[i].launching > 0 && waitpid(w[i].launching, &st, WNOHANG) == w[i].launching) {
                w[i].launching = 0;
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                    w[i].failures = 0;
                    settle_until = net_now_ms() + AS_SETTLE_MS;
                    as_log(&lc, "worker %s is up", c->worker_ips.v[i]);
                } else {
                    w[i].failures++;
                    long long back = 1000LL << (w[i].failures < 6 ? w[i].failures : 6);
                    w[i].next_try_ms = net_now_ms() + (back > 60000 ? 60000 : back);
                    as_log(&lc, "worker %s did not come up (failure %d); next try in %lld s",
                           c->worker_ips.v[i], w[i].failures, (back > 60000 ? 60000 : back) / 1000);
                }
            }
            if (w[i].stopping > 0 && waitpid(w[i].stopping, &st, WNOHANG) == w[i].stopping)
                w[i].stopping = 0;
        }
        if (gs == NULL)
            gs = gcs_sync_connect(c->head_ip, port, token, cluster, 2000, err, sizeof err);
        struct gcs_node *nodes = NULL;
        size_t nn = 0;
        if (gs == NULL || gcs_sync_nodes(gs, &nodes, &nn) < 0) {
            gcs_sync_free(gs);
            gs = NULL;
            if (net_now_ms() - last_ok > AS_GONE_MS) {
                as_log(&lc, "the GCS is gone (%s): the head stopped; exiting", err);
                break;
            }
            continue;
        }
        last_ok = net_now_ms();
        long long now = last_ok;
        int demand = 0;
        size_t alive = 0, launching = 0;
        for (size_t i = 0; i < nw; i++)
            w[i].alive = false;
        for (size_t k = 0; k < nn; k++) {
            if (strcmp(nodes[k].state, "ALIVE") != 0)
                continue;
            int d = as_demands(gs, nodes[k].node_id);
            demand += d;
            for (size_t i = 0; i < nw && !nodes[k].is_head; i++) {
                if (strcmp(nodes[k].address, c->worker_ips.v[i]) != 0)
                    continue;
                w[i].alive = true;
                bool idle = d == 0 && nodes[k].queue_len == 0 &&
                            strcmp(nodes[k].resources_available, nodes[k].resources_total) == 0;
                if (!idle)
                    w[i].idle_since_ms = 0;
                else if (w[i].idle_since_ms == 0)
                    w[i].idle_since_ms = now;
            }
        }
        gcs_node_array_free(nodes, nn);
        for (size_t i = 0; i < nw; i++) {
            alive += w[i].alive && w[i].stopping == 0;
            launching += w[i].launching > 0 && !w[i].alive;
        }
        /* scale up: a demand, room under max_workers, within upscaling_speed */
        size_t speed = (size_t)fmax(1.0, floor(c->upscaling_speed * (double)(alive ? alive : 1)));
        for (size_t i = 0; demand > 0 && now >= settle_until && i < nw && alive + launching < max &&
                           launching < speed; i++) {
            if (w[i].alive || w[i].launching || w[i].stopping || now < w[i].next_try_ms)
                continue;
            as_log(&lc, "%d pending or infeasible demand(s), %zu worker(s) up: launching worker %s",
                   demand, alive, c->worker_ips.v[i]);
            w[i].launching = as_spawn_launch(&lc, c->worker_ips.v[i], token);
            launching++;
        }
        /* scale down: idle workers, never below min_workers, never the head */
        for (size_t i = 0; i < nw && alive > min; i++) {
            if (!w[i].alive || w[i].stopping || w[i].launching || w[i].idle_since_ms == 0 ||
                now - w[i].idle_since_ms < idle_ms)
                continue;
            as_log(&lc, "worker %s idle for %.1f s: stopping it (%zu worker(s) up, min %zu)",
                   c->worker_ips.v[i], (double)(now - w[i].idle_since_ms) / 1000.0, alive, min);
            w[i].stopping = as_spawn_stop(&lc, c->worker_ips.v[i]);
            w[i].idle_since_ms = 0;
            alive--;
        }
    }
    for (size_t i = 0; i < nw; i++) {
        if (w[i].launching > 0)
            waitpid(w[i].launching, NULL, 0);
        if (w[i].stopping > 0)
            waitpid(w[i].stopping, NULL, 0);
    }
    free(w);
    launch_cluster_close(&lc);
    return 0;
}
