/*
 * node.c — the node daemon's life: settle the settings, make the session,
 * start the head's Redis, connect to the GCS, listen, create the object store,
 * register in the node table, run the loop, and stop cleanly on SIGTERM.
 *
 * `ray start` runs `rayd` with RAY_READY_FD set: the daemon writes one line to
 * that pipe when the node is registered ("ok <node> <ip> <port> <session>")
 * or when start-up fails ("error <one line>"), so the CLI can report either
 * at once.
 */
#include "daemon/node.h"
#include "daemon/bio.h"
#include "daemon/dashboard.h"
#include "daemon/metrics.h"
#include "common/tls.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "daemon/gpu.h"
#include "daemon/recover.h"
#include "runtime/runtime.h"
#include "daemon/server.h"
#include "session/session.h"
#include "gcs/gcs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define NODE_START_TIMEOUT_MS 8000

static void node_report(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void node_report(struct node *n, const char *fmt, ...)
{
    if (n->ready_fd < 0)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    if (net_write_all(n->ready_fd, line, strlen(line)) < 0)
        log_warn("cannot report start-up");
    close(n->ready_fd);
    n->ready_fd = -1;
}

/* Start-up failure before or after the loop started: report and leave. */
static int node_fail(struct node *n, const char *msg)
{
    log_error("%s", msg);
    node_report(n, "error %s", msg);
    return 1;
}

/* ---- what a dead node of this temp dir left behind ---------------------------------- */


struct node_sweep {
    const char *own;   /* this node's session directory: never swept */
    int swept;
};

/* One session directory DIR: if the rayd that owned it is dead (killed, or
 * crashed), remove its shared-memory store and stop the redis-server it had
 * started (only one whose working directory is DIR/redis: ours, not a
 * recycled pid). A live node's session is left alone. */
static void node_sweep_one(const char *dir, void *arg)
{
    struct node_sweep *sw = arg;
    if (strcmp(dir, sw->own) == 0)
        return;
    char pidtext[32] = "";
    pid_t rayd = session_pidfile_read(dir, "rayd.pid");
    if (rayd <= 0 && session_info_get(dir, "pid", pidtext, sizeof pidtext) == 0)
        rayd = (pid_t)atoi(pidtext);
    if (rayd <= 0 || session_pid_is(rayd, "rayd"))
        return; /* never started, or alive */
    char store[256];
    if (session_info_get(dir, "store", store, sizeof store) == 0 && store[0] == '/' &&
        strchr(store + 1, '/') == NULL && shm_unlink(store) == 0) {
        log_info("removed the object store %s of dead node (session %s)", store, dir);
        sw->swept++;
    }
    pid_t redis = session_pidfile_read(dir, "redis.pid");
    if (session_pid_is(redis, "redis")) {
        char cwd[4096], want[4096];
        snprintf(want, sizeof want, "%s/redis", dir);
        char link[64];
        snprintf(link, sizeof link, "/proc/%d/cwd", (int)redis);
        ssize_t len = readlink(link, cwd, sizeof cwd - 1);
        char real[4096];
        if (len > 0 && (cwd[len] = '\0', realpath(want, real)) && strcmp(cwd, real) == 0) {
            log_info("stopping redis-server %d of dead node (session %s)", (int)redis, dir);
            kill(redis, SIGTERM);
            for (int i = 0; i < 200 && session_pid_is(redis, "redis"); i++)
                usleep(10000);
            if (session_pid_is(redis, "redis"))
                kill(redis, SIGKILL);
            for (int i = 0; i < 100 && session_pid_is(redis, "redis"); i++)
                usleep(10000);
            sw->swept++;
        }
    }
}

/* Sweep every dead node's session under the temp dir that holds OWN (this
 * node's session). Runs at start-up, before the loop: it may wait for a
 * stale redis-server to exit (2 s at most). */
static void node_sweep_stale(const char *own)
{
    char temp_dir[4096];
    snprintf(temp_dir, sizeof temp_dir, "%s", own);
    char *slash = strrchr(temp_dir, '/');
    if (slash == NULL || slash == temp_dir)
        return;
    *slash = '\0';
    struct node_sweep sw = { .own = own };
    session_foreach(temp_dir, node_sweep_one, &sw);
}

static void detect_ip(char *out, size_t outlen)
{
    struct ifaddrs *ifa = NULL;
    snprintf(out, outlen, "127.0.0.1");
    if (getifaddrs(&ifa) < 0)
        return;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
            continue;
        if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)outlen);
        break;
    }
    freeifaddrs(ifa);
}

/* 30% of RAM, capped by what /dev/shm can hold. */
static uint64_t default_store_size(void)
{
    struct sysinfo si;
    uint64_t ram = 0;
    if (sysinfo(&si) == 0)
        ram = (uint64_t)si.totalram * si.mem_unit;
    uint64_t want = ram / 10 * 3;
    struct statvfs sv;
    if (statvfs("/dev/shm", &sv) == 0) {
        uint64_t shm = (uint64_t)sv.f_bavail * sv.f_frsize;
        if (want > shm / 10 * 9)
            want = shm / 10 * 9;
    }
    if (want < (64u << 20))
        want = 64u << 20;
    return want;
}

static uint64_t default_memory(uint64_t store)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 0;
    uint64_t ram = (uint64_t)si.totalram * si.mem_unit;
    return ram > store ? (ram - store) / 10 * 7 : 0;
}

/* redis://[:password@]host:port */
static int parse_gcs_address(struct node *n, const char *url, char *err, size_t errlen)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) == 0)
        p += 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *pw = p;
        if (*pw == ':')
            pw++;
        snprintf(n->gcs_password, sizeof n->gcs_password, "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    return net_parse_hostport(p, n->gcs_host, sizeof n->gcs_host, &n->gcs_port, err, errlen);
}

static int node_settle_resources(struct node *n, char *err, size_t errlen)
{
    struct rayd_config *cfg = n->cfg;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double cpus = cfg->num_cpus >= 0 ? cfg->num_cpus : (double)(ncpu > 0 ? ncpu : 1);
    n->num_gpus = cfg->num_gpus >= 0 ? (int)cfg->num_gpus : gpu_detect();
    double gpus = cfg->num_gpus >= 0 ? cfg->num_gpus : n->num_gpus;
    n->store_size = cfg->object_store_memory > 0 ? (uint64_t)cfg->object_store_memory
                                                 : default_store_size();
    uint64_t mem = cfg->memory >= 0 ? (uint64_t)cfg->memory : default_memory(n->store_size);

    res_init(&n->total);
    if (cfg->resources && *cfg->resources && res_parse(&n->total, cfg->resources, err, errlen) < 0)
        return -1;
    const char *std[] = { RES_CPU, RES_GPU, RES_MEMORY, RES_OBJECT_STORE_MEMORY };
    for (int i = 0; i < 4; i++)
        if (res_has(&n->total, std[i])) {
            snprintf(err, errlen, "--resources may not set %s: use its own flag", std[i]);
            return -1;
        }
    res_set_amount(&n->total, RES_CPU, (int64_t)(cpus * RES_SCALE + 0.5));
    res_set_amount(&n->total, RES_GPU, (int64_t)(gpus * RES_SCALE + 0.5));
    res_set_amount(&n->total, RES_MEMORY, res_units(mem));
    res_set_amount(&n->total, RES_OBJECT_STORE_MEMORY, res_units(n->store_size));
    char noderes[128];
    snprintf(noderes, sizeof noderes, "node:%s", n->ip);
    res_set_amount(&n->total, noderes, res_units(1));
    res_copy(&n->avail, &n->total);
    return 0;
}

static char *res_string(const struct res_set *s)
{
    struct buf b = BUF_INIT;
    res_format(s, &b);
    buf_append(&b, "", 1);
    return b.data;
}

static void node_write_info(struct node *n)
{
    /* where `ray job` finds the dashboard: 0.0.0.0 is reached on loopback */
    const char *dh = n->cfg->dashboard_host ? n->cfg->dashboard_host : "127.0.0.1";
    char dash_host[300], dash_port[16];
    snprintf(dash_host, sizeof dash_host, "%s://%s", n->tls_dash ? "https" : "http",
             strcmp(dh, "0.0.0.0") == 0 ? "127.0.0.1" : dh);
    snprintf(dash_port, sizeof dash_port, ":%d", dashboard_port(n->dash));
    char hostname[256] = "";
    gethostname(hostname, sizeof hostname - 1);
    char *text = xasprintf("node_id=%s\nnode_ip=%s\nnode_port=%d\nsocket=%s\ngcs_address=%s:%d\n"
                           "store=%s\nstore_size=%llu\nsession_dir=%s\npid=%d\nis_head=%d\n"
                           "cluster_name=%s\nhostname=%s\nmetrics_port=%d\ndashboard_port=%d\n"
                           "%s%s%s%s",
                           n->hex, n->ip, n->tcp_port, n->sock_path, n->gcs_host, n->gcs_port,
                           n->store_name, (unsigned long long)n->store_size, n->session_dir,
                           (int)getpid(), n->is_head ? 1 : 0, n->cfg->cluster_name, hostname,
                           metrics_port(n->metrics), dashboard_port(n->dash),
                           n->dash ? "dashboard_url=" : "", n->dash ? dash_host : "",
                           n->dash ? dash_port : "", n->dash ? "\n" : "");
    if (session_file_write(n->session_dir, "node.info", text, 0600) < 0)
        log_warn("cannot write node.info");
    free(text);
}

/* The node is up: make it the one this machine's CLI finds (session_latest,
 * ray_current_cluster) and leave its token where clients look for it
 * (common/token.h). Only now, so a start that fails changes none of them.
 * The files are written by the helper thread (daemon/bio.h); `ray start`
 * hears "ok" once they are (publish_done), so it finds them. */
struct publish {
    struct node *n;
    char *temp_dir, *session_dir;
    char gcs[300];
    char cluster_path[4096], home_path[4096]; /* home_path "" on a non-head */
    char token[160];
};

static void publish_work(void *arg)
{
    struct publish *p = arg;
    if (session_publish(p->temp_dir, p->session_dir, p->gcs) < 0)
        log_warn("cannot update %s/session_latest", p->temp_dir);
    if (token_write(p->cluster_path, p->token) < 0)
        log_warn("cannot write %s", p->cluster_path);
    if (p->home_path[0] && token_write(p->home_path, p->token) < 0)
        log_warn("cannot write %s", p->home_path);
}

static void publish_done(void *arg, bool cancelled)
{
    struct publish *p = arg;
    struct node *n = p->n;
    if (!cancelled)
        node_report(n, "ok %s %s %d %s", n->hex, n->ip, n->tcp_port, n->session_dir);
    free(p->temp_dir);
    free(p->session_dir);
    free(p);
}

static void node_publish(struct node *n)
{
    struct publish *p = xcalloc(1, sizeof *p);
    p->n = n;
    p->temp_dir = xstrdup(n->cfg->temp_dir);
    p->session_dir = xstrdup(n->session_dir);
    snprintf(p->gcs, sizeof p->gcs, "%s:%d", n->gcs_host, n->gcs_port);
    token_cluster_path(n->gcs_host, n->gcs_port, p->cluster_path, sizeof p->cluster_path);
    if (n->is_head)
        token_home_path(p->home_path, sizeof p->home_path);
    snprintf(p->token, sizeof p->token, "%s", n->token);
    bio_submit(runtime_bio(n->rt), publish_work, publish_done, p);
}

static void node_registered_cb(void *arg, int status)
{
    struct node *n = arg;
    if (status != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot register in the GCS at %s:%d: %s", n->gcs_host,
                 n->gcs_port, gcs_client_errstr(n->gcs)[0] ? gcs_client_errstr(n->gcs) : "Redis error");
        node_fail(n, msg);
        event_base_loopexit(n->base, NULL);
        return;
    }
    if (n->registered)
        return;
    n->registered = true;
    long long ms = net_now_ms() - n->start_ms;
    log_info("node %s registered (%s, GCS %s:%d) in %lld ms", n->hex, n->ip, n->gcs_host,
             n->gcs_port, ms);
    gcs_event_add(n->gcs, "NODE_ADDED", n->hex, n->hex, n->is_head ? "head" : "worker");
    /* other nodes refresh their view of the cluster at once */
    gcs_command(n->gcs, NULL, NULL, "PUBLISH %sch:nodes %s", gcs_client_prefix(n->gcs), n->hex);
    heartbeat_start(n);
    if (n->is_head)
        recover_head_start(n); /* what an earlier head left (daemon/recover.c) */
    node_publish(n); /* then reports "ok" to `ray start` */
}

static void node_register(struct node *n);

void node_register_again(struct node *n)
{
    node_register(n);
}

static void node_register(struct node *n)
{
    char hostname[256] = "";
    gethostname(hostname, sizeof hostname - 1);
    char *tot = res_string(&n->total), *av = res_string(&n->avail);
    struct gcs_node rec = {
        .node_id = n->hex, .address = n->ip, .hostname = hostname,
        .session_dir = n->session_dir, .resources_total = tot, .resources_available = av,
        .state = "ALIVE", .death_reason = "", .port = n->tcp_port, .pid = getpid(),
        .start_time_ms = net_wall_ms(), .last_heartbeat_ms = net_wall_ms(), .queue_len = 0,
        .is_head = n->is_head,
    };
    gcs_node_register(n->gcs, &rec, node_registered_cb, n);
    free(tot);
    free(av);
}

/* N's GCS connection came back. Its own record is read first: a node the
 * head declared DEAD meanwhile (it was cut off, or could not reach the GCS,
 * for longer than node_timeout_ms) rejoins as a new node (node_rejoin)
 * instead of writing itself ALIVE again under its old ID; otherwise its
 * record and what the runtime is the authority for are written again
 * (runtime_gcs_reconnected, runtime/replay.c). */
static void node_rejoin_or_replay(void *arg, const struct gcs_node *v, size_t nv)
{
    struct node *n = arg;
    if (n->stopping)
        return;
    if (v && nv == 1 && strcmp(v[0].state, "DEAD") == 0 && !n->is_head) {
        char why[300];
        snprintf(why, sizeof why, "its record says DEAD (%s) after its GCS connection came back",
                 v[0].death_reason && v[0].death_reason[0] ? v[0].death_reason : "no reason given");
        node_rejoin(n, why);
        return;
    }
    node_register_again(n); /* Redis may have lost us (or never knew: no AOF) */
    runtime_gcs_reconnected(n->rt);
}


static void node_gcs_reconnected(struct node *n)
{
    if (gcs_node_get(n->gcs, n->hex, node_rejoin_or_replay, n) < 0)
        node_rejoin_or_replay(n, NULL, 0);
}

static void node_gcs_state_cb(void *arg, bool connected)
{
    struct node *n = arg;
    if (connected) {
        if (n->gcs_down_ms)
            log_info("connected to GCS at %s:%d again after %lld ms", n->gcs_host, n->gcs_port,
                     net_now_ms() - n->gcs_down_ms);
        else
            log_info("connected to GCS at %s:%d", n->gcs_host, n->gcs_port);
        n->gcs_down_ms = 0;
        if (n->registered)
            node_gcs_reconnected(n); /* declared dead meanwhile? else write it all again */
    } else if (!n->stopping) {
        if (n->gcs_down_ms == 0)
            n->gcs_down_ms = n->gcs_down_logged_ms = net_now_ms();
        log_warnx("GCS connection: %s", gcs_client_errstr(n->gcs));
    }
}

#define NODE_WATCH_MS 250
#define NODE_REDIS_BACKOFF_MAX_MS 5000

static void node_stop(struct node *n, const char *why);

/* Head with its own Redis: a redis-server that exited is started again with
 * the same config (its append-only file brings the tables back), at once
 * the first time, then backing off from 250 ms to 5 s while it keeps
 * dying; a start that lasted 10 s resets the back-off. The clients
 * reconnect by themselves (gcs_client.c) and flush what they queued. */
static void node_watch_redis(struct node *n, long long now)
{
    if (!n->is_head || n->redis.bin[0] == '\0' || n->stopping)
        return;
    int status = 0;
    if (redis_launch_reap(&n->redis, &status) == 1) {
        char how[64];
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
        else
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
        if (now - n->redis.started_ms >= 10000)
            n->redis_backoff_ms = 0; /* it ran a while: start it at once */
        else if (n->redis_backoff_ms == 0)
            n->redis_backoff_ms = NODE_WATCH_MS;
        else if ((n->redis_backoff_ms *= 2) > NODE_REDIS_BACKOFF_MAX_MS)
            n->redis_backoff_ms = NODE_REDIS_BACKOFF_MAX_MS;
        n->redis_due_ms = now + n->redis_backoff_ms;
        log_warnx("the GCS's redis-server %s: starting it again in %d ms (same config; its "
                  "append-only file brings the tables back)", how, n->redis_backoff_ms);
    }
    if (n->redis.pid < 0 && now >= n->redis_due_ms) {
        char err[300];
        if (redis_launch_respawn(&n->redis, err, sizeof err) < 0) {
            log_warnx("cannot start redis-server again: %s", err);
            n->redis_due_ms = now + NODE_REDIS_BACKOFF_MAX_MS;
            return;
        }
        session_pidfile_write(n->session_dir, "redis.pid", n->redis.pid);
        log_info("redis-server started again (pid %d) on %s:%d", (int)n->redis.pid, n->redis.ip,
                 n->redis.port);
    }
}

/* Every node: the GCS unreachable (Redis or the head gone) for
 * gcs_reconnect_timeout_ms ends the node with a clear line; meanwhile a
 * line every 10 s says it is still trying. */
static void node_watch_gcs(struct node *n, long long now)
{
    if (!n->registered || n->stopping || n->gcs_down_ms == 0)
        return;
    long long down = now - n->gcs_down_ms;
    int bound = n->cfg->gcs_reconnect_timeout_ms;
    if (down >= bound) {
        log_error("GCS at %s:%d unreachable for %lld s (bound %d s: gcs_reconnect_timeout_ms): "
                  "the head or its Redis did not come back; this node exits",
                  n->gcs_host, n->gcs_port, down / 1000, bound / 1000);
        n->exit_code = 2;
        node_stop(n, "GCS unreachable");
        return;
    }
    if (now - n->gcs_down_logged_ms >= 10000) {
        n->gcs_down_logged_ms = now;
        log_warnx("GCS at %s:%d unreachable for %lld s; reconnecting (this node exits after %d s)",
                  n->gcs_host, n->gcs_port, down / 1000, bound / 1000);
    }
}

static void node_watch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct node *n = arg;
    long long now = net_now_ms();
    node_watch_redis(n, now);
    node_watch_gcs(n, now);
}

static void node_start_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct node *n = arg;
    if (n->registered)
        return;
    const char *why = gcs_client_errstr(n->gcs);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", why && *why ? why : "GCS did not answer");
    node_fail(n, msg);
    event_base_loopexit(n->base, NULL);
}

static void node_dead_written_cb(void *arg, const struct gcs_reply *r)
{
    (void)r;
    struct node *n = arg;
    event_base_loopexit(n->base, NULL);
}

static void node_stop(struct node *n, const char *why);

void node_rejoin(struct node *n, const char *why)
{
    if (n->is_head || n->stopping)
        return;
    log_warnx("this node was declared dead by the cluster (%s): its work has been redone "
              "elsewhere; dropping its workers, tasks and objects and joining again as a new node",
              why);
    n->rejoin = true;
    node_stop(n, "declared dead by the cluster: rejoining as a new node");
}

static void node_stop(struct node *n, const char *why)
{
    if (n->stopping)
        return;
    n->stopping = true;
    log_info("stopping: %s", why);
    heartbeat_stop(n);
    runtime_stop(n->rt);
    if (n->registered && gcs_client_connected(n->gcs)) {
        gcs_node_mark_dead(n->gcs, n->hex, "stopped");
        gcs_event_add(n->gcs, "NODE_REMOVED", n->hex, n->hex, why);
        /* a PING after the writes: its reply means they were applied */
        gcs_command(n->gcs, node_dead_written_cb, n, "PING");
        struct timeval tv = { 1, 0 };
        event_base_loopexit(n->base, &tv);
    } else {
        event_base_loopexit(n->base, NULL);
    }
}

static void node_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    node_stop(arg, sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal");
}

static void node_store_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct node *n = arg;
    objstore_process_completions(n->store);
}

int node_main(struct rayd_config *cfg)
{
    struct node nstate, *n = &nstate;
    memset(n, 0, sizeof *n);
    n->cfg = cfg;
    n->is_head = cfg->head;
    n->redis.pid = -1;
    n->ready_fd = -1;
    n->start_ms = net_now_ms();
    char err[1024];
    int rc = 1;

    const char *rfd = getenv("RAY_READY_FD");
    if (rfd) {
        n->ready_fd = atoi(rfd);
        unsetenv("RAY_READY_FD");
    }
    signal(SIGPIPE, SIG_IGN);
    log_level_active = cfg->log_level;

    /* session directory and log */
    const char *sd = getenv("RAY_SESSION_DIR");
    char found[4096];
    if (sd && *sd) {
        n->session_dir = xstrdup(sd);
        n->resumed = getenv("RAY_SESSION_RESUMED") != NULL;
        unsetenv("RAY_SESSION_DIR");
        unsetenv("RAY_SESSION_RESUMED");
    } else if (n->is_head && !(cfg->gcs_address && *cfg->gcs_address) &&
               session_find_head(cfg->temp_dir, cfg->node_ip_address, cfg->port, found,
                                 sizeof found) == 0) {
        n->session_dir = xstrdup(found); /* `rayd --head` itself, after a crash */
        n->resumed = true;
    } else if ((n->session_dir = session_create(cfg->temp_dir, err, sizeof err)) == NULL) {
        return node_fail(n, err);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/logs/%s.log", n->session_dir, n->is_head ? "rayd_head" : "rayd");
    if (log_open(path) < 0)
        log_warn("cannot open %s", path);
    log_set_name("rayd");
    log_route_libevent();
    if (n->resumed) {
        /* what the dead head left in its own session: its store, its Redis */
        struct node_sweep own = { .own = "" };
        node_sweep_one(n->session_dir, &own);
        log_info("resuming session %s: its head died; the token and the GCS tables are kept",
                 n->session_dir);
    }
    session_pidfile_write(n->session_dir, "rayd.pid", getpid());
    node_sweep_stale(n->session_dir);

    /* who we are */
    ids_random(n->id, sizeof n->id);
    ids_hex(n->id, sizeof n->id, n->hex);
    if (cfg->node_ip_address && *cfg->node_ip_address)
        snprintf(n->ip, sizeof n->ip, "%s", cfg->node_ip_address);
    else
        detect_ip(n->ip, sizeof n->ip);
    if (node_settle_resources(n, err, sizeof err) < 0)
        return node_fail(n, err);

    /* the GCS address, then the token (an external Redis's password is the token) */
    if (n->is_head && cfg->gcs_address && *cfg->gcs_address) {
        if (parse_gcs_address(n, cfg->gcs_address, err, sizeof err) < 0)
            return node_fail(n, err);
    } else if (!n->is_head) {
        if (cfg->address == NULL || !*cfg->address)
            return node_fail(n, "a worker node needs --address HEAD_IP:PORT (or use --head)");
        if (net_parse_hostport(cfg->address, n->gcs_host, sizeof n->gcs_host, &n->gcs_port, err,
                               sizeof err) < 0)
            return node_fail(n, err);
    }
    if (n->is_head) {
        const char *given = getenv("RAY_START_TOKEN"); /* from `ray start`, kept out of argv */
        snprintf(path, sizeof path, "%s/auth_token", n->session_dir);
        if (cfg->token && *cfg->token)
            snprintf(n->token, sizeof n->token, "%s", cfg->token);
        else if (n->gcs_password[0])
            snprintf(n->token, sizeof n->token, "%.150s", n->gcs_password);
        else if (given && *given)
            snprintf(n->token, sizeof n->token, "%s", given);
        else if (!(n->resumed && token_read(path, n->token, sizeof n->token) == 0 && n->token[0]))
            session_token_new(n->token); /* a resumed session keeps its token */
        unsetenv("RAY_START_TOKEN");
    } else {
        char latest[4200];
        snprintf(latest, sizeof latest, "%s/session_latest", cfg->temp_dir);
        struct token_where w = { .given = cfg->token, .host = n->gcs_host, .port = n->gcs_port,
                                 .fallback_dir = latest };
        if (token_find(&w, n->token, sizeof n->token) < 0)
            return node_fail(n, "no cluster token: pass --token, set RAY_TOKEN, or copy the "
                                "head's ~/.ray/auth_token to this machine");
    }
    /* the session's own copy now; ~/.ray's once the node is up (node_publish) */
    snprintf(path, sizeof path, "%s/auth_token", n->session_dir);
    if (token_write(path, n->token) < 0)
        log_warn("cannot write %s", path);
    if (!n->gcs_password[0])
        snprintf(n->gcs_password, sizeof n->gcs_password, "%.200s", n->token);

    if (n->is_head && !(cfg->gcs_address && *cfg->gcs_address)) {
        snprintf(n->gcs_host, sizeof n->gcs_host, "%.63s", n->ip);
        n->gcs_port = cfg->port;
        if (redis_launch_start(&n->redis, cfg->redis_server, n->ip, cfg->port, n->gcs_password,
                               n->session_dir, err, sizeof err) < 0)
            return node_fail(n, err);
        session_pidfile_write(n->session_dir, "redis.pid", n->redis.pid);
    }

    n->base = event_base_new();
    if (n->base == NULL) {
        node_fail(n, "cannot create the event loop");
        goto out;
    }
    n->gcs = gcs_client_new(n->base, n->gcs_host, n->gcs_port,
                            n->gcs_password[0] ? n->gcs_password : NULL, cfg->cluster_name);
    if (n->gcs == NULL) {
        node_fail(n, "invalid cluster name");
        goto out;
    }
    gcs_client_set_limits(n->gcs, cfg->event_log_max_len, cfg->task_table_max_finished);
    gcs_client_on_state(n->gcs, node_gcs_state_cb, n);

    /* listeners */
    n->srv = server_new(n->base, n->token);
    bool tls_on;
    if (tls_check_flags(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, &tls_on, err, sizeof err) < 0) {
        node_fail(n, err);
        goto out;
    }
    if (tls_on) {
        n->tls = tls_ctx_new(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, true, err, sizeof err);
        if (n->tls && n->is_head)
            n->tls_dash = tls_ctx_new(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, false, err,
                                      sizeof err);
        if (n->tls == NULL || (n->is_head && n->tls_dash == NULL)) {
            node_fail(n, err);
            goto out;
        }
        server_set_tls(n->srv, n->tls);
        log_info("TLS on for node connections (%s)%s", cfg->tls_cert,
                 n->is_head ? " and the dashboard" : "");
    }
    snprintf(n->sock_path, sizeof n->sock_path, "%s/sockets/raylet.sock", n->session_dir);
    if (server_listen_unix(n->srv, n->sock_path, err, sizeof err) < 0 ||
        server_listen_tcp(n->srv, n->ip, cfg->node_manager_port, &n->tcp_port, err, sizeof err) < 0) {
        node_fail(n, err);
        goto out;
    }

    /* object store */
    snprintf(n->store_name, sizeof n->store_name, "/rayd-%.16s-store", n->hex);
    snprintf(path, sizeof path, "%s/spill", n->session_dir);
    n->store = objstore_new(n->store_name, n->store_size,
                            cfg->object_spill_dir ? cfg->object_spill_dir : path, err, sizeof err);
    if (n->store == NULL) {
        node_fail(n, err);
        goto out;
    }
    n->store_ev = event_new(n->base, objstore_notify_fd(n->store), EV_READ | EV_PERSIST,
                            node_store_cb, n);
    event_add(n->store_ev, NULL);

    n->rejoin_fn = node_rejoin;
    n->check_node = heartbeat_check_node;
    n->rt = runtime_new(n);
    n->metrics = metrics_start(n, err, sizeof err);
    if (n->metrics == NULL) {
        node_fail(n, err);
        goto out;
    }
    if (n->is_head) {
        n->dash = dashboard_start(n, err, sizeof err);
        if (n->dash == NULL) {
            node_fail(n, err);
            goto out;
        }
    }
    node_write_info(n);

    n->sig_term = evsignal_new(n->base, SIGTERM, node_signal_cb, n);
    n->sig_int = evsignal_new(n->base, SIGINT, node_signal_cb, n);
    event_add(n->sig_term, NULL);
    event_add(n->sig_int, NULL);

    node_register(n);
    n->gcs_watch = event_new(n->base, -1, EV_PERSIST, node_watch_cb, n);
    struct timeval wtv = { 0, NODE_WATCH_MS * 1000 };
    event_add(n->gcs_watch, &wtv);
    n->start_timer = evtimer_new(n->base, node_start_timeout_cb, n);
    struct timeval tv = { NODE_START_TIMEOUT_MS / 1000, (NODE_START_TIMEOUT_MS % 1000) * 1000 };
    evtimer_add(n->start_timer, &tv);

    event_base_dispatch(n->base);
    rc = !n->registered ? 1 : n->exit_code;
    log_info("node %s stopped", n->hex);
    if (n->rejoin) {
        rc = NODE_MAIN_REJOIN;
        setenv("RAY_SESSION_DIR", n->session_dir, 1); /* the next run keeps the session */
    }

out:
    heartbeat_stop(n);
    dashboard_stop(n->dash);
    metrics_free(n->metrics);
    /* replies still on their way (and the NULL ones gcs_client_free hands
     * out below) would reach callbacks whose runtime is freed: mute them */
    gcs_client_mute(n->gcs);
    runtime_free(n->rt);
    server_free(n->srv);
    if (n->store_ev)
        event_free(n->store_ev);
    objstore_free(n->store);
    gcs_client_free(n->gcs);
    if (n->start_timer)
        event_free(n->start_timer);
    if (n->gcs_watch)
        event_free(n->gcs_watch);
    if (n->sig_term)
        event_free(n->sig_term);
    if (n->sig_int)
        event_free(n->sig_int);
    if (n->base) {
        event_base_loop(n->base, EVLOOP_NONBLOCK); /* run deferred frees */
        event_base_free(n->base);
    }
    tls_ctx_free(n->tls);
    tls_ctx_free(n->tls_dash);
    redis_launch_stop(&n->redis);
    snprintf(path, sizeof path, "%s/rayd.pid", n->session_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/redis.pid", n->session_dir);
    unlink(path);
    res_free(&n->total);
    res_free(&n->avail);
    free(n->session_dir);
    return rc;
}
