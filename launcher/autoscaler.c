/*
 * autoscaler.c — `ray autoscaler CONFIG`: the autoscaler, on the head (ray
 * up starts it there when the head's start commands carry
 * --autoscaling-config, with ~/ray_bootstrap_config.yaml and the key
 * ~/ray_bootstrap_key.pem). Providers local, gcp and azure.
 *
 * DESIGN: one loop, twice a second, reading the GCS like `ray status` does:
 * the node table and each node's demands (<p>demands:<node>, pending and
 * infeasible shapes). Workers are slots: provider local has one per worker
 * address (its node type from available_node_types), the clouds one per
 * machine, made when needed. Each demand is first given to the capacity of
 * the workers already launching (their type's resources); what is left
 * picks the node type that fits it best (as_pick) within that type's
 * max_workers, the top-level max_workers and max(1, upscaling_speed x
 * workers up) launches at once. A launch is a child process running the
 * same steps as `ray up` (up.c), after `gcloud`/`az` made the machine on a
 * cloud (the child sends its address back on a pipe). After one comes up,
 * no new launch for 3 s, so the demands it takes are not counted twice. A
 * failed launch is logged and retried after a back-off (2, 4, 8 ... 60 s;
 * a failed cloud machine is deleted). Below a type's min_workers, workers
 * of it are launched without a demand. A worker whose resources are all
 * free, whose queue is empty and which has no demand, for
 * idle_timeout_minutes, is stopped (`ray stop` over SSH; a cloud machine is
 * then deleted), never below min_workers, never the head. Idle means no
 * task, no resource held, no actor alive there and no object of which it
 * holds the only copy (as_held_by; read only when a worker is a
 * candidate). The loop exits once the GCS has been unreachable for 5 s
 * (the head stopped).
 *
 * Every decision is one line on stdout (the log, ~/.ray/autoscaler.log),
 * and each loop writes what it is doing to <p>autoscaler (10 s expiry;
 * docs/gcs.md) for `ray status`: the launching workers and why, the recent
 * failures and their errors, the demands no type can meet.
 */
#include "launcher/launcher.h"
#include "launcher/remote.h"

#include "common/buf.h"
#include "common/netutil.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "sched/resources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AS_PERIOD_MS  500    /* one look at the GCS */
#define AS_GONE_MS    5000
#define AS_SETTLE_MS  3000   /* after a worker came up, let the demands catch up */
#define AS_FAIL_KEEP  300000 /* a failure shows in ray status this long */
#define AS_MAX_FAILS  16
#define AS_STATUS_TTL 10     /* seconds <p>autoscaler outlives its last write */

struct as_slot {
    char ip[256];         /* "" while a cloud machine is being made */
    char name[128];       /* the cloud machine, "" for local */
    const struct launch_node_type *type;
    pid_t launching;      /* child running create + the up steps, or 0 */
    pid_t stopping;       /* child running ray stop (+ delete), or 0 */
    int pipe_fd;          /* cloud launch: the child writes the address here, or -1 */
    int failures;
    long long next_try_ms;
    long long idle_since_ms; /* 0: not idle */
    long long launched_ms;
    bool alive;
    bool gone;            /* cloud: deleted, the slot is free for reuse */
    bool kept_noted;      /* "idle but holds ...: kept" was logged */
    char reason[256];     /* why it is being launched */
};

struct as_failure {
    char what[400];       /* "10.0.0.3: ray.worker.default" */
    char error[768];
    long long at_ms;
};

struct as {
    struct launch_cluster lc;
    struct as_slot *s;
    size_t n;
    bool cloud;
    char token[256];
    struct as_failure fails[AS_MAX_FAILS];
    size_t nfails;
    struct buf verdicts;  /* this loop's "SHAPE\tTEXT" lines of unmet demands */
};

struct as_demand {
    struct res_set shape;
    char text[512];
    long count;
    bool infeasible;
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

static void as_fail_add(struct as *a, const struct as_slot *w, const char *error)
{
    if (a->nfails == AS_MAX_FAILS) {
        memmove(&a->fails[0], &a->fails[1], (AS_MAX_FAILS - 1) * sizeof a->fails[0]);
        a->nfails--;
    }
    struct as_failure *f = &a->fails[a->nfails++];
    snprintf(f->what, sizeof f->what, "%s: %s", w->ip[0] ? w->ip : w->name,
             w->type ? w->type->name : "worker");
    snprintf(f->error, sizeof f->error, "%s", error);
    f->at_ms = net_now_ms();
}

/* The demands of NODE_HEX appended to *D (lines SHAPE\tCOUNT\tKIND). */
static void as_demands(struct gcs_sync *gs, const char *node_hex, struct as_demand **d, size_t *n)
{
    struct gcs_reply *r = gcs_sync_command(gs, "GET %sdemands:%s", gcs_sync_prefix(gs), node_hex);
    size_t len = 0;
    const char *s = gcs_reply_type(r) == GCS_REPLY_STRING ? gcs_reply_str(r, &len) : NULL;
    for (size_t i = 0; s && i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - (s + i)) : len - i;
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), s + i);
        i += ll + 1;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1 == NULL || t2 == NULL)
            continue;
        *t1 = '\0';
        struct as_demand x = { .count = strtol(t1 + 1, NULL, 10), .infeasible = strcmp(t2 + 1, "infeasible") == 0 };
        if (x.count <= 0)
            continue;
        if (res_parse(&x.shape, line, NULL, 0) < 0)
            continue;
        snprintf(x.text, sizeof x.text, "%s", line);
        *d = xreallocarray(*d, *n + 1, sizeof **d);
        (*d)[(*n)++] = x;
    }
    gcs_reply_free(r);
}

/* The type's resources as a set; false when it gives none (unknown). */
static bool as_type_res(const struct launch_node_type *t, struct res_set *out)
{
    res_init(out);
    return t && t->resources && res_parse(out, t->resources, NULL, 0) == 0;
}

static size_t as_count(const struct as *a, const struct launch_node_type *t, bool alive_only)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct as_slot *w = &a->s[i];
        if (w->gone || w->stopping || (t && w->type != t))
            continue;
        k += alive_only ? w->alive : (w->alive || w->launching > 0);
    }
    return k;
}

/* The most workers of type T: its max_workers, the top-level max_workers,
 * and for local the hosts it has. */
static size_t as_type_max(const struct as *a, const struct launch_node_type *t)
{
    size_t m = t->max_workers >= 0 ? (size_t)t->max_workers : SIZE_MAX;
    if (!a->cloud) {
        size_t hosts = 0;
        for (size_t i = 0; i < a->n; i++)
            hosts += a->s[i].type == t;
        if (hosts < m)
            m = hosts;
    }
    return m;
}

static size_t as_total_max(const struct as *a)
{
    const struct launch_config *c = &a->lc.cfg;
    if (c->max_workers >= 0)
        return (size_t)c->max_workers;
    return a->cloud ? 2 : a->n; /* Ray's default max_workers is 2 */
}

/* The worker type that fits SHAPE best among those with room: fewest
 * resource kinds it does not need, then fewest CPUs; a type with unknown
 * resources only when none with known ones fits. NULL with WHY when none. */
static const struct launch_node_type *as_pick(struct as *a, const struct res_set *shape,
                                              const size_t *planned, char *why, size_t whylen)
{
    const struct launch_config *c = &a->lc.cfg;
    const struct launch_node_type *best = NULL, *unknown = NULL;
    long best_extra = 0;
    int64_t best_cpu = 0;
    bool any_fits = false;
    for (size_t i = 0; i < c->ntypes; i++) {
        const struct launch_node_type *t = &c->types[i];
        if (!launch_node_type_is_worker(c, t))
            continue;
        struct res_set r;
        bool known = as_type_res(t, &r);
        bool fits = !known || res_fits(&r, shape);
        if (fits && known)
            any_fits = true;
        bool room = fits && as_count(a, t, false) + planned[i] < as_type_max(a, t);
        if (!a->cloud && room) {
            /* local: a free host of this type, beyond those this round's plan takes */
            size_t free_hosts = 0;
            for (size_t k = 0; k < a->n; k++)
                free_hosts += a->s[k].type == t && !a->s[k].alive && !a->s[k].launching &&
                              !a->s[k].stopping && net_now_ms() >= a->s[k].next_try_ms;
            room = free_hosts > planned[i];
        }
        if (room && !known && unknown == NULL)
            unknown = t;
        if (room && known) {
            long extra = 0;
            for (size_t e = 0; e < r.n; e++)
                extra += r.e[e].amount > 0 && res_get(shape, r.e[e].name) == 0 &&
                         strcmp(r.e[e].name, RES_CPU) != 0 && strcmp(r.e[e].name, RES_MEMORY) != 0 &&
                         strcmp(r.e[e].name, RES_OBJECT_STORE_MEMORY) != 0;
            int64_t cpu = res_get(&r, RES_CPU);
            if (best == NULL || extra < best_extra || (extra == best_extra && cpu < best_cpu)) {
                best = t;
                best_extra = extra;
                best_cpu = cpu;
            }
        }
        res_free(&r);
    }
    if (best)
        return best;
    if (unknown)
        return unknown;
    if (any_fits)
        snprintf(why, whylen, "every node type that fits is at its max_workers or has no free host");
    else
        snprintf(why, whylen, "no node type of available_node_types can run it");
    return NULL;
}

static pid_t as_spawn_stop(struct as *a, struct as_slot *w)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    struct launch_cluster *lc = &a->lc;
    char temp[1024], cmd[2048], err[1024];
    launch_temp_dir(&lc->cfg.worker_start_ray_commands, temp, sizeof temp);
    snprintf(cmd, sizeof cmd, "ray stop --temp-dir %s", temp);
    struct launch_strv v = { (char *[]){ cmd }, 1 };
    struct launch_host h = { .ip = w->ip };
    int rc = 0;
    if (launch_run_commands(lc, &h, &v, false, err, sizeof err) < 0) {
        as_log(lc, "stopping idle worker %s failed: %s", w->ip, err);
        rc = 1;
    }
    launch_ssh_close(&lc->ssh, w->ip);
    if (a->cloud && w->name[0]) {
        if (lc->prov->terminate(&lc->cfg, w->name, err, sizeof err) < 0) {
            as_log(lc, "deleting machine %s failed: %s", w->name, err);
            rc = 1;
        } else {
            as_log(lc, "deleted machine %s (%s) with %s", w->name, w->ip, lc->prov->cli);
        }
    }
    _exit(rc);
}

/* The child: make the machine (clouds), then ray up's steps. Exit 0 up, 1
 * failed (a cloud machine it made is deleted again). It tells the parent
 * on a pipe "IP addr" (clouds, once made) and "ERR reason" on failure. */
static pid_t as_spawn_launch(struct as *a, struct as_slot *w)
{
    int fds[2] = { -1, -1 };
    if (pipe(fds) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) {
        close(fds[1]);
        if (pid < 0) {
            close(fds[0]);
        } else {
            fcntl(fds[0], F_SETFL, O_NONBLOCK);
            fcntl(fds[0], F_SETFD, FD_CLOEXEC);
            w->pipe_fd = fds[0];
        }
        return pid;
    }
    struct launch_cluster *lc = &a->lc;
    char err[2048], e[1024];
    close(fds[0]);
    if (a->cloud) {
        char ip[256];
        if (lc->prov->create(&lc->cfg, w->name, "worker", w->type, ip, sizeof ip, e, sizeof e) < 0) {
            as_log(lc, "creating worker machine %s (%s) with %s failed: %s", w->name,
                   w->type ? w->type->name : "worker", lc->prov->cli, e);
            dprintf(fds[1], "ERR creating the machine with %s: %s\n", lc->prov->cli, e);
            _exit(1);
        }
        as_log(lc, "created worker machine %s (%s) with %s", w->name, ip, lc->prov->cli);
        dprintf(fds[1], "IP %s\n", ip);
        snprintf(w->ip, sizeof w->ip, "%s", ip);
    }
    if (launch_up_worker(lc, w->ip, w->type, a->token, err, sizeof err) < 0) {
        as_log(lc, "launching worker %s failed: %s", w->ip, err);
        dprintf(fds[1], "ERR %s\n", err);
        if (a->cloud && lc->prov->terminate(&lc->cfg, w->name, e, sizeof e) == 0)
            as_log(lc, "deleted machine %s, which did not come up", w->name);
        _exit(1);
    }
    _exit(0);
}

/* Read what a launch child sent: its address (clouds), or its error. */
static void as_read_pipe(struct as_slot *w, char *err, size_t errlen)
{
    if (w->pipe_fd < 0)
        return;
    char b[2048];
    ssize_t n = read(w->pipe_fd, b, sizeof b - 1);
    if (n <= 0)
        return;
    b[n] = '\0';
    for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "IP ", 3) == 0)
            snprintf(w->ip, sizeof w->ip, "%s", line + 3);
        else if (strncmp(line, "ERR ", 4) == 0 && err)
            snprintf(err, errlen, "%s", line + 4);
    }
}

static struct as_slot *as_slot_new(struct as *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->s[i].gone) {
            memset(&a->s[i], 0, sizeof a->s[i]);
            a->s[i].pipe_fd = -1;
            return &a->s[i];
        }
    a->s = xreallocarray(a->s, a->n + 1, sizeof *a->s);
    struct as_slot *w = &a->s[a->n++];
    memset(w, 0, sizeof *w);
    w->pipe_fd = -1;
    return w;
}

/* A free machine name ray-<cluster>-worker-N. */
static void as_cloud_name(struct as *a, char *out, size_t outlen)
{
    char name[128]; /* OUT may be a slot's own name: not compared with itself */
    for (int k = 1;; k++) {
        launch_machine_name(a->lc.cfg.cluster_name, "worker", k, name, sizeof name);
        bool taken = false;
        for (size_t i = 0; i < a->n && !taken; i++)
            taken = !a->s[i].gone && a->s[i].name != out && strcmp(a->s[i].name, name) == 0;
        if (!taken) {
            snprintf(out, outlen, "%s", name);
            return;
        }
    }
}

static void as_launch(struct as *a, struct as_slot *w, const char *reason)
{
    snprintf(w->reason, sizeof w->reason, "%s", reason);
    w->launched_ms = net_now_ms();
    w->launching = as_spawn_launch(a, w);
    if (w->launching < 0) {
        w->launching = 0;
        as_fail_add(a, w, strerror(errno));
    }
}

/* Start one worker of type T for REASON: local, a free host of T; cloud, a
 * new machine. Returns the slot or NULL. */
static struct as_slot *as_start(struct as *a, const struct launch_node_type *t, const char *reason)
{
    long long now = net_now_ms();
    if (!a->cloud) {
        for (size_t i = 0; i < a->n; i++) {
            struct as_slot *w = &a->s[i];
            if (w->type != t || w->alive || w->launching || w->stopping || now < w->next_try_ms)
                continue;
            as_log(&a->lc, "%s: launching worker %s (type %s)", reason, w->ip, t ? t->name : "-");
            as_launch(a, w, reason);
            return w;
        }
        return NULL;
    }
    /* a cloud slot that failed and waits for its retry holds its place */
    for (size_t i = 0; i < a->n; i++) {
        struct as_slot *w = &a->s[i];
        if (!w->gone && w->type == t && !w->alive && !w->launching && !w->stopping && w->failures &&
            now < w->next_try_ms)
            return NULL;
    }
    struct as_slot *w = NULL;
    for (size_t i = 0; i < a->n && w == NULL; i++)
        if (!a->s[i].gone && a->s[i].type == t && !a->s[i].alive && !a->s[i].launching &&
            !a->s[i].stopping && a->s[i].failures && !a->s[i].ip[0])
            w = &a->s[i]; /* retry this machine name */
    if (w == NULL) {
        w = as_slot_new(a);
        w->type = t;
        as_cloud_name(a, w->name, sizeof w->name);
    }
    w->ip[0] = '\0';
    as_log(&a->lc, "%s: creating worker machine %s (type %s) with %s", reason, w->name,
           t ? t->name : "-", a->lc.prov->cli);
    as_launch(a, w, reason);
    return w;
}

/* Whether every resource of TOTAL is free in AVAIL, object_store_memory
 * aside (objects are looked at one by one: as_held_by). */
static bool as_all_free(const char *avail, const char *total)
{
    struct res_set a = RES_SET_INIT, t = RES_SET_INIT;
    if (res_parse(&a, avail, NULL, 0) < 0)
        return false;
    if (res_parse(&t, total, NULL, 0) < 0) {
        res_free(&a);
        return false;
    }
    bool free_all = true;
    for (size_t i = 0; i < t.n && free_all; i++)
        free_all = strcmp(t.e[i].name, RES_OBJECT_STORE_MEMORY) == 0 ||
                   res_get(&a, t.e[i].name) >= t.e[i].amount;
    res_free(&a);
    res_free(&t);
    return free_all;
}

/* What keeps an idle-looking worker: objects only it holds, actors alive
 * on it (a zero-CPU actor holds no resource). Read once per loop, only
 * when some worker is a candidate. */
struct as_held {
    bool read;
    struct gcs_object *objs;
    size_t nobjs;
    struct gcs_actor *actors;
    size_t nactors;
};

static void as_held_read(struct gcs_sync *gs, struct as_held *h)
{
    h->read = true;
    if (gcs_sync_objects(gs, &h->objs, &h->nobjs) < 0) {
        h->objs = NULL;
        h->nobjs = 0;
    }
    if (gcs_sync_actors(gs, &h->actors, &h->nactors) < 0) {
        h->actors = NULL;
        h->nactors = 0;
    }
}

static void as_held_free(struct as_held *h)
{
    if (h->objs)
        gcs_object_array_free(h->objs, h->nobjs);
    if (h->actors)
        gcs_actor_array_free(h->actors, h->nactors);
    memset(h, 0, sizeof *h);
}

/* Why the worker at IP must stay (static text), or NULL. */
static const char *as_held_by(const struct as_held *h, const char *ip, char **ips, char **ids,
                              size_t n)
{
    const char *id = NULL;
    for (size_t k = 0; k < n && id == NULL; k++)
        if (strcmp(ips[k], ip) == 0)
            id = ids[k];
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < h->nactors; i++)
        if (h->actors[i].node && strcmp(h->actors[i].node, id) == 0 && h->actors[i].state &&
            strcmp(h->actors[i].state, "DEAD") != 0)
            return "an actor lives there";
    for (size_t i = 0; i < h->nobjs; i++)
        if (h->objs[i].nodes && strcmp(h->objs[i].nodes, id) == 0)
            return "it holds objects no other node has";
    return NULL;
}

/* <p>autoscaler for ray status: lines "pending\tWHO\tTYPE\tSTATE\tREASON",
 * "failed\tWHO\tAGE_S\tERROR", "unmet\tSHAPE\tTEXT". */
static void as_publish(struct as *a, struct gcs_sync *gs)
{
    struct buf b = BUF_INIT;
    long long now = net_now_ms();
    for (size_t i = 0; i < a->n; i++) {
        const struct as_slot *w = &a->s[i];
        if (w->launching <= 0 || w->gone)
            continue;
        buf_printf(&b, "pending\t%s\t%s\t%s\t%s\n", w->ip[0] ? w->ip : w->name,
                   w->type ? w->type->name : "worker",
                   w->ip[0] ? "setting up" : "launching", w->reason);
    }
    for (size_t i = 0; i < a->nfails; i++)
        if (now - a->fails[i].at_ms < AS_FAIL_KEEP)
            buf_printf(&b, "failed\t%s\t%lld\t%s\n", a->fails[i].what,
                       (now - a->fails[i].at_ms) / 1000, a->fails[i].error);
    if (a->verdicts.len)
        buf_append(&b, a->verdicts.data, a->verdicts.len);
    buf_append(&b, "", 1);
    struct gcs_reply *r = gcs_sync_command(gs, "SET %sautoscaler %s EX %d", gcs_sync_prefix(gs),
                                           b.data, AS_STATUS_TTL);
    gcs_reply_free(r);
    buf_free(&b);
}

/* Clouds: the head's address and the worker machines that exist. */
static int as_cloud_init(struct as *a)
{
    struct launch_config *c = &a->lc.cfg;
    struct launch_machine *m = NULL;
    size_t n = 0;
    char err[1024];
    if (a->lc.prov->list(c, &m, &n, err, sizeof err) < 0) {
        launch_err(&a->lc, "listing machines: %s", err);
        return -1;
    }
    const struct launch_node_type *def = NULL;
    for (size_t i = 0; i < c->ntypes && def == NULL; i++)
        if (launch_node_type_is_worker(c, &c->types[i]))
            def = &c->types[i];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].kind, "head") == 0) {
            free(c->head_ip);
            c->head_ip = xstrdup(m[i].ip);
        } else if (m[i].ip[0]) {
            struct as_slot *w = as_slot_new(a);
            snprintf(w->ip, sizeof w->ip, "%s", m[i].ip);
            snprintf(w->name, sizeof w->name, "%s", m[i].name);
            w->type = def; /* which type it was is not kept on the machine */
        }
    }
    free(m);
    if (c->head_ip == NULL) {
        launch_err(&a->lc, "no head machine of cluster '%s' found with %s", c->cluster_name,
                   a->lc.prov->cli);
        return -1;
    }
    return 0;
}

static void as_reap(struct as *a, long long *settle_until)
{
    for (size_t i = 0; i < a->n; i++) {
        struct as_slot *w = &a->s[i];
        int st;
        if (w->launching > 0) {
            char err[1024] = "";
            as_read_pipe(w, err, sizeof err);
            if (waitpid(w->launching, &st, WNOHANG) == w->launching) {
                as_read_pipe(w, err, sizeof err);
                if (w->pipe_fd >= 0)
                    close(w->pipe_fd);
                w->pipe_fd = -1;
                w->launching = 0;
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                    w->failures = 0;
                    *settle_until = net_now_ms() + AS_SETTLE_MS;
                    as_log(&a->lc, "worker %s is up (%.1f s after the launch)", w->ip,
                           (double)(net_now_ms() - w->launched_ms) / 1000.0);
                } else {
                    w->failures++;
                    long long back = 1000LL << (w->failures < 6 ? w->failures : 6);
                    if (back > 60000)
                        back = 60000;
                    w->next_try_ms = net_now_ms() + back;
                    if (!err[0]) {
                        /* local: the child's last line is in the log; say where */
                        char log[4200];
                        launch_log_path(&a->lc, w->ip, log, sizeof log);
                        snprintf(err, sizeof err, "ray up's steps failed (see ~/.ray/autoscaler.log and %.900s)", log);
                    }
                    char e2[1100];
                    snprintf(e2, sizeof e2, "%s; retry %d in %lld s", err, w->failures, back / 1000);
                    as_fail_add(a, w, e2);
                    as_log(&a->lc, "worker %s did not come up (failure %d); next try in %lld s",
                           w->ip[0] ? w->ip : w->name, w->failures, back / 1000);
                    if (a->cloud)
                        w->ip[0] = '\0'; /* the machine was deleted; a retry makes a new one */
                }
            }
        }
        if (w->stopping > 0 && waitpid(w->stopping, &st, WNOHANG) == w->stopping) {
            w->stopping = 0;
            if (a->cloud)
                w->gone = true;
        }
    }
}

int launcher_autoscaler(const char *config)
{
    struct as a = { .verdicts = BUF_INIT };
    if (launch_cluster_open(&a.lc, "autoscaler", config) != 0)
        return 1;
    struct launch_config *c = &a.lc.cfg;
    a.cloud = a.lc.prov->create != NULL;
    char path[4200], cluster[128], err[1024];
    const char *home = getenv("HOME");
    snprintf(path, sizeof path, "%s/.ray/auth_token", home ? home : "");
    if (token_read(path, a.token, sizeof a.token) < 0) {
        launch_err(&a.lc, "no cluster token in %s", path);
        launch_cluster_close(&a.lc);
        return 1;
    }
    if (!launch_flag_value(&c->head_start_ray_commands, "--cluster-name", cluster, sizeof cluster))
        snprintf(cluster, sizeof cluster, "default");
    int port = launch_head_port(&c->head_start_ray_commands);
    if (a.cloud) {
        if (as_cloud_init(&a) < 0) {
            launch_cluster_close(&a.lc);
            return 1;
        }
    } else {
        struct launch_strv all;
        launch_local_ips(c, &all);
        for (size_t i = 0; i < all.n; i++) {
            struct as_slot *w = as_slot_new(&a);
            snprintf(w->ip, sizeof w->ip, "%s", all.v[i]);
            w->type = launch_ip_type(c, all.v[i]);
        }
        free(all.v);
    }
    /* the floor: without min_workers, provider local keeps every worker ray up started */
    bool any_worker_type = false;
    for (size_t i = 0; i < c->ntypes; i++)
        any_worker_type |= launch_node_type_is_worker(c, &c->types[i]);
    size_t floor_total = c->types_given && any_worker_type ? 0 : launch_worker_count(c, -1, -1);
    if (a.cloud && !c->types_given)
        floor_total = c->min_workers > 0 ? (size_t)c->min_workers : 0;
    long long idle_ms = (long long)llround(c->idle_timeout_minutes * 60000.0);
    signal(SIGPIPE, SIG_IGN);
    as_log(&a.lc, "watching %s:%d (provider %s): %zu worker slot(s), %zu node type(s), at most %zu "
           "worker(s), idle timeout %.2f min", c->head_ip, port, c->provider_type, a.n, c->ntypes,
           as_total_max(&a), c->idle_timeout_minutes);
    for (size_t i = 0; i < c->ntypes; i++)
        as_log(&a.lc, "node type %s: resources %s, min_workers %d, max_workers %d%s", c->types[i].name,
               c->types[i].resources ? c->types[i].resources : "(not given)", c->types[i].min_workers,
               c->types[i].max_workers, launch_node_type_is_worker(c, &c->types[i]) ? "" : " (the head)");
    struct gcs_sync *gs = NULL;
    long long last_ok = net_now_ms(), settle_until = 0;
    size_t *planned = xcalloc(c->ntypes + 1, sizeof *planned);
    for (;; usleep(AS_PERIOD_MS * 1000)) {
        as_reap(&a, &settle_until);
        if (gs == NULL)
            gs = gcs_sync_connect(c->head_ip, port, a.token, cluster, 2000, err, sizeof err);
        struct gcs_node *nodes = NULL;
        size_t nn = 0;
        if (gs == NULL || gcs_sync_nodes(gs, &nodes, &nn) < 0) {
            gcs_sync_free(gs);
            gs = NULL;
            if (net_now_ms() - last_ok > AS_GONE_MS) {
                as_log(&a.lc, "the GCS is gone (%s): the head stopped; exiting", err);
                break;
            }
            continue;
        }
        last_ok = net_now_ms();
        long long now = last_ok;
        struct as_demand *dem = NULL;
        size_t nd = 0;
        for (size_t i = 0; i < a.n; i++)
            a.s[i].alive = false;
        for (size_t k = 0; k < nn; k++) {
            if (strcmp(nodes[k].state, "ALIVE") != 0)
                continue;
            size_t before = nd;
            as_demands(gs, nodes[k].node_id, &dem, &nd);
            for (size_t i = 0; i < a.n && !nodes[k].is_head; i++) {
                struct as_slot *w = &a.s[i];
                if (w->gone || !w->ip[0] || strcmp(nodes[k].address, w->ip) != 0)
                    continue;
                w->alive = true;
                bool idle = nd == before && nodes[k].queue_len == 0 &&
                            as_all_free(nodes[k].resources_available, nodes[k].resources_total);
                if (!idle)
                    w->idle_since_ms = 0;
                else if (w->idle_since_ms == 0)
                    w->idle_since_ms = now;
            }
        }
        /* the alive workers' node IDs by address, for the idle check below */
        char **nodes_ip = xcalloc(nn + 1, sizeof *nodes_ip), **nodes_id = xcalloc(nn + 1, sizeof *nodes_id);
        size_t nn_ids = 0;
        for (size_t k = 0; k < nn; k++)
            if (strcmp(nodes[k].state, "ALIVE") == 0) {
                nodes_ip[nn_ids] = xstrdup(nodes[k].address);
                nodes_id[nn_ids++] = xstrdup(nodes[k].node_id);
            }
        gcs_node_array_free(nodes, nn);
        size_t alive = as_count(&a, NULL, true);
        size_t launching = 0;
        for (size_t i = 0; i < a.n; i++)
            launching += a.s[i].launching > 0 && !a.s[i].alive && !a.s[i].gone;
        size_t speed = (size_t)fmax(1.0, floor(c->upscaling_speed * (double)(alive ? alive : 1)));
        size_t total_max = as_total_max(&a);
        a.verdicts.len = 0;

        /* min_workers of each type, demand or not */
        for (size_t t = 0; t < c->ntypes && (c->types_given || c->min_workers > 0); t++) {
            const struct launch_node_type *ty = &c->types[t];
            if (!launch_node_type_is_worker(c, ty))
                continue;
            while (as_count(&a, ty, false) < (size_t)ty->min_workers &&
                   as_count(&a, NULL, false) < total_max && launching < speed) {
                char why[256];
                snprintf(why, sizeof why, "type %s has %zu of its min_workers %d", ty->name,
                         as_count(&a, ty, false), ty->min_workers);
                if (as_start(&a, ty, why) == NULL)
                    break;
                launching++;
            }
        }

        /* demands: first onto the launching workers' capacity, then new workers */
        size_t ncap = a.n; /* as_start below may add slots (clouds) */
        struct res_set *cap = xcalloc(ncap + 1, sizeof *cap);
        bool *unknown = xcalloc(ncap + 1, sizeof *unknown);
        for (size_t i = 0; i < ncap; i++)
            if (a.s[i].launching > 0 && !a.s[i].alive)
                unknown[i] = !as_type_res(a.s[i].type, &cap[i]);
        memset(planned, 0, (c->ntypes + 1) * sizeof *planned);
        struct { const struct launch_node_type *t; struct res_set left; char why[256]; } plan[64];
        size_t np = 0;
        bool settling = now < settle_until;
        for (size_t d = 0; d < nd; d++) {
            for (long u = 0; u < dem[d].count && u < 1000; u++) {
                bool placed = false;
                for (size_t i = 0; i < ncap && !placed; i++) {
                    if (a.s[i].launching <= 0 || a.s[i].alive)
                        continue;
                    if (unknown[i]) {
                        placed = true; /* unknown resources: assume it takes the demand */
                    } else if (res_fits(&cap[i], &dem[d].shape)) {
                        res_sub(&cap[i], &dem[d].shape);
                        placed = true;
                    }
                }
                for (size_t p = 0; p < np && !placed; p++) {
                    if (plan[p].left.n == 0 && plan[p].t->resources == NULL) {
                        placed = true;
                    } else if (res_fits(&plan[p].left, &dem[d].shape)) {
                        res_sub(&plan[p].left, &dem[d].shape);
                        placed = true;
                    }
                }
                if (placed)
                    continue;
                char why[256];
                const struct launch_node_type *t = as_pick(&a, &dem[d].shape, planned, why, sizeof why);
                if (t == NULL) {
                    buf_printf(&a.verdicts, "unmet\t%s\t%s\n", dem[d].text, why);
                    break;
                }
                if (alive + launching + np >= total_max) {
                    buf_printf(&a.verdicts, "unmet\t%s\tthe cluster is at max_workers (%zu)\n",
                               dem[d].text, total_max);
                    break;
                }
                if (np >= sizeof plan / sizeof plan[0] || launching + np >= speed || settling)
                    break; /* the next round, within upscaling_speed */
                plan[np].t = t;
                as_type_res(t, &plan[np].left);
                if (plan[np].left.n)
                    res_sub(&plan[np].left, &dem[d].shape);
                snprintf(plan[np].why, sizeof plan[np].why, "%s demand {%.200s} x%ld",
                         dem[d].infeasible ? "infeasible" : "pending", dem[d].text, dem[d].count);
                planned[t - c->types]++;
                np++;
            }
        }
        for (size_t p = 0; p < np; p++) {
            char why[300];
            snprintf(why, sizeof why, "%s, %zu worker(s) up", plan[p].why, alive);
            as_start(&a, plan[p].t, why);
            res_free(&plan[p].left);
        }
        for (size_t i = 0; i < ncap; i++)
            res_free(&cap[i]);
        free(cap);
        free(unknown);
        for (size_t d = 0; d < nd; d++)
            res_free(&dem[d].shape);
        free(dem);

        /* scale down: idle workers, never below min_workers, never the head */
        struct as_held held = { 0 };
        for (size_t i = 0; i < a.n; i++) {
            struct as_slot *w = &a.s[i];
            if (!w->alive || w->stopping || w->launching || w->gone || w->idle_since_ms == 0 ||
                now - w->idle_since_ms < idle_ms)
                continue;
            if (!held.read)
                as_held_read(gs, &held);
            const char *keep = as_held_by(&held, w->ip, nodes_ip, nodes_id, nn_ids);
            if (keep) {
                if (!w->kept_noted)
                    as_log(&a.lc, "worker %s is idle but %s: kept", w->ip, keep);
                w->kept_noted = true;
                continue;
            }
            w->kept_noted = false;
            size_t up_total = as_count(&a, NULL, true);
            size_t up_type = as_count(&a, w->type, true);
            int tmin = w->type && c->types_given ? w->type->min_workers : 0;
            if (up_total <= floor_total || (tmin > 0 && up_type <= (size_t)tmin))
                continue;
            as_log(&a.lc, "worker %s idle for %.1f s: stopping it%s (%zu worker(s) up, min %zu%s%s)",
                   w->ip, (double)(now - w->idle_since_ms) / 1000.0,
                   a.cloud ? " and deleting its machine" : "", up_total,
                   floor_total > (size_t)tmin ? floor_total : (size_t)tmin,
                   w->type ? ", type " : "", w->type ? w->type->name : "");
            w->stopping = as_spawn_stop(&a, w);
            w->idle_since_ms = 0;
            w->alive = false;
        }
        as_held_free(&held);
        for (size_t k = 0; k < nn_ids; k++) {
            free(nodes_ip[k]);
            free(nodes_id[k]);
        }
        free(nodes_ip);
        free(nodes_id);
        as_publish(&a, gs);
    }
    for (size_t i = 0; i < a.n; i++) {
        if (a.s[i].launching > 0)
            waitpid(a.s[i].launching, NULL, 0);
        if (a.s[i].stopping > 0)
            waitpid(a.s[i].stopping, NULL, 0);
        if (a.s[i].pipe_fd >= 0)
            close(a.s[i].pipe_fd);
    }
    gcs_sync_free(gs);
    free(planned);
    free(a.s);
    buf_free(&a.verdicts);
    launch_cluster_close(&a.lc);
    return 0;
}
