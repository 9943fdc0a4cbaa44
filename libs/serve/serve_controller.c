/*
 * serve_controller.c — an application's controller: actor class
 * "ray_serve_controller", one detached instance per application (named
 * SERVE_CONTROLLER:APP), an actor of the job that deployed it, so it can
 * start replicas of that job's classes long after the job ended.
 *
 * Its constructor argument is the whole application (serve_app_encode_)
 * and the names of the proxies; the GCS keeps it with the actor, so a
 * controller restarted (max_restarts -1) comes back with the same
 * configuration and adopts the replicas it finds by name
 * (SERVE_REPLICA:APP:DEPLOYMENT:INDEX). A control thread, every 200 ms:
 *   - pushes the ingress deployment's route and replica set to every proxy
 *     (ray_serve_proxy.update) and reads back ongoing and queued requests;
 *   - autoscales: the signal (ongoing + queued over all proxies) is
 *     averaged over look_back_period_s; the wanted count is
 *     ceil(signal / target_ongoing_requests) within [min, max], and must be
 *     wanted for upscale_delay_s (downscale_delay_s) before replicas are
 *     added (removed);
 *   - drains: a replica being removed leaves the set first, and is killed
 *     only when every proxy reports no request left on it, and at least
 *     two handle refresh periods later (so handles stop picking it).
 * Methods (max_concurrency 4, state under C.mu): ready, replicas,
 * status, shutdown.
 */
#include "libs/serve/serve_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char serve_controller_class_[] = "ray_serve_controller";

#define CTL_PERIOD_S 0.2
#define CTL_DRAIN_GRACE_S 2.5
#define CTL_SAMPLES 1024

struct crep {
    ray_actor a;
    int index;
    bool draining;
    double drain_since;
    int64_t ongoing; /* from the proxies' last answer */
};

struct cdep {
    struct serve_dep_cfg cfg;
    struct crep reps[SERVE_MAX_REPLICAS];
    size_t n;
    int next_index;
    double st[CTL_SAMPLES], sv[CTL_SAMPLES]; /* samples: time, value (ring) */
    size_t ns, si;
    double up_since, down_since;
    int64_t queued, draining_left;
    int target;
    /* load reports of handles (deployments reached from code) */
    struct { char key[64]; int64_t ongoing; double at; } reports[SERVE_MAX_REPLICAS];
    size_t nreports;
};

#define CTL_REPORT_TTL_S 3.0

static struct {
    pthread_mutex_t mu;
    struct serve_app_cfg app;
    struct serve_http_cfg http;
    struct cdep deps[SERVE_MAX_DEPLOYMENTS];
    char proxies[SERVE_MAX_PROXIES][SERVE_NAME_MAX + 32];
    ray_actor proxy_a[SERVE_MAX_PROXIES];
    bool proxy_known[SERVE_MAX_PROXIES];
    size_t nproxies;
    int pushes_ok;   /* rounds in which every proxy took the routes */
    bool stop, stopped, started;
    char last_error[512];
    pthread_t th;
} C = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void rep_name(const struct cdep *d, int index, char *out, size_t len)
{
    snprintf(out, len, SERVE_REPLICA_PREFIX "%s:%s:%d", C.app.name, d->cfg.name, index);
}

/* Start one replica of D (under C.mu). */
static int rep_start(struct cdep *d)
{
    if (d->n >= SERVE_MAX_REPLICAS)
        return RAY_EINVAL;
    char name[256];
    int index = d->next_index++;
    rep_name(d, index, name, sizeof name);
    ray_opts o = RAY_ACTOR_OPTS;
    o.num_cpus = d->cfg.num_cpus;
    o.num_gpus = d->cfg.num_gpus;
    o.memory = d->cfg.memory;
    o.resources = d->cfg.resources[0] ? d->cfg.resources : NULL;
    o.max_restarts = d->cfg.max_restarts;
    o.detached = true;
    o.name = name;
    ray_value args[SERVE_MAX_INIT_ARGS];
    for (size_t i = 0; i < d->cfg.nargs; i++)
        args[i] = serve_arg_value_(&d->cfg.args[i]);
    ray_actor a;
    int rc = ray_actor_create(d->cfg.cls, args, d->cfg.nargs, &o, &a);
    if (rc != RAY_OK) {
        snprintf(C.last_error, sizeof C.last_error, "deployment %s: replica %s: %s", d->cfg.name,
                 name, ray_last_error());
        fprintf(stderr, "ray_serve_controller: %s\n", C.last_error);
        return rc;
    }
    struct crep *r = &d->reps[d->n++];
    memset(r, 0, sizeof *r);
    r->a = a;
    r->index = index;
    fprintf(stderr, "ray_serve_controller: %s: started replica %s (%zu now)\n", C.app.name, name,
            d->n);
    return RAY_OK;
}

static size_t live_count(const struct cdep *d)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++)
        k += !d->reps[i].draining;
    return k;
}

/* Adopt replicas a previous incarnation started (after a restart). */
static void adopt(struct cdep *d)
{
    char name[256];
    for (int i = 0; i < SERVE_MAX_REPLICAS * 4 && d->n < SERVE_MAX_REPLICAS; i++) {
        rep_name(d, i, name, sizeof name);
        ray_actor a;
        if (ray_actor_lookup(name, &a) != RAY_OK)
            continue;
        struct crep *r = &d->reps[d->n++];
        memset(r, 0, sizeof *r);
        r->a = a;
        r->index = i;
        if (i >= d->next_index)
            d->next_index = i + 1;
    }
}

static int initial_count(const struct cdep *d)
{
    return d->cfg.autoscaling ? d->cfg.as.min_replicas : d->cfg.num_replicas;
}

/* Push the ingress's route and set to every proxy; read back the counts. */
static void push_routes(void)
{
    struct cdep *d = &C.deps[0];
    ray_value set[SERVE_MAX_REPLICAS];
    size_t idx[SERVE_MAX_REPLICAS], ns = 0;
    char app[SERVE_NAME_MAX], prefix[128], handler[SERVE_NAME_MAX];
    pthread_mutex_lock(&C.mu);
    for (size_t i = 0; i < d->n; i++)
        if (!d->reps[i].draining) {
            idx[ns] = i;
            set[ns++] = RAY_A(d->reps[i].a);
        }
    snprintf(app, sizeof app, "%s", C.app.name);
    snprintf(prefix, sizeof prefix, "%s", C.app.route_prefix);
    snprintf(handler, sizeof handler, "%s", d->cfg.handler);
    int max_ongoing = d->cfg.max_ongoing, max_queued = d->cfg.max_queued;
    double timeout = C.http.request_timeout_s;
    size_t np = C.nproxies;
    pthread_mutex_unlock(&C.mu);

    int64_t ongoing[SERVE_MAX_REPLICAS] = { 0 }, queued = 0, draining = 0;
    bool all = true;
    for (size_t p = 0; p < np; p++) {
        if (!C.proxy_known[p]) {
            if (ray_actor_lookup(C.proxies[p], &C.proxy_a[p]) != RAY_OK) {
                fprintf(stderr, "ray_serve_controller: %s: no proxy %s: %s\n", app,
                        C.proxies[p], ray_last_error());
                all = false;
                continue;
            }
            C.proxy_known[p] = true;
        }
        ray_value args[7] = { RAY_S(app), RAY_S(prefix), RAY_S(handler), RAY_I(max_ongoing),
                              RAY_I(max_queued), RAY_F(timeout), RAY_LIST_V(set, ns) };
        ray_ref ref;
        ray_value v;
        if (ray_actor_call(C.proxy_a[p], "update", args, 7, NULL, &ref) != RAY_OK) {
            fprintf(stderr, "ray_serve_controller: %s: proxy %s: %s\n", app, C.proxies[p],
                    ray_last_error());
            C.proxy_known[p] = false;
            all = false;
            continue;
        }
        int rc = ray_get(ref, 5000, &v);
        if (rc != RAY_OK)
            fprintf(stderr, "ray_serve_controller: %s: proxy %s: %s\n", app, C.proxies[p],
                    ray_last_error());
        ray_free(&ref, 1);
        if (rc != RAY_OK) {
            if (rc != RAY_ETIMEOUT)
                C.proxy_known[p] = false;
            all = false;
            continue;
        }
        const ray_value *q = ray_list_at(&v, 0), *dr = ray_list_at(&v, 1), *og = ray_list_at(&v, 2);
        if (q && q->type == RAY_INT && dr && dr->type == RAY_INT && ray_list_len(og) == ns) {
            queued += q->as.i;
            draining += dr->as.i;
            for (size_t i = 0; i < ns; i++)
                ongoing[i] += ray_list_at(og, i)->as.i;
        } else {
            all = false;
        }
        ray_value_release(&v);
    }
    pthread_mutex_lock(&C.mu);
    /* the set may have changed meanwhile only by this thread: indexes hold */
    for (size_t i = 0; i < ns && idx[i] < d->n; i++)
        d->reps[idx[i]].ongoing = ongoing[i];
    d->queued = queued;
    d->draining_left = all ? draining : -1;
    if (all)
        C.pushes_ok++;
    pthread_mutex_unlock(&C.mu);
}

/* Average of D's samples within the look-back window ending NOW. */
static double signal_avg(struct cdep *d, double now)
{
    double lb = d->cfg.as.look_back_period_s, sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < d->ns; i++) {
        size_t j = (d->si + CTL_SAMPLES - 1 - i) % CTL_SAMPLES;
        if (now - d->st[j] > lb && k > 0)
            break;
        sum += d->sv[j];
        k++;
    }
    return k ? sum / (double)k : 0;
}

/* Handles' load on D: the sum of their fresh reports (under C.mu). */
static int64_t handle_load(struct cdep *d, double now)
{
    int64_t sum = 0;
    for (size_t i = 0; i < d->nreports;) {
        if (now - d->reports[i].at > CTL_REPORT_TTL_S) {
            d->reports[i] = d->reports[--d->nreports];
            continue;
        }
        sum += d->reports[i++].ongoing;
    }
    return sum;
}

static void autoscale(struct cdep *d, bool ingress, double now)
{
    int64_t total = ingress ? d->queued : 0;
    if (ingress) {
        for (size_t i = 0; i < d->n; i++)
            if (!d->reps[i].draining)
                total += d->reps[i].ongoing;
    }
    total += handle_load(d, now);
    d->st[d->si] = now;
    d->sv[d->si] = (double)total;
    d->si = (d->si + 1) % CTL_SAMPLES;
    if (d->ns < CTL_SAMPLES)
        d->ns++;
    double avg = signal_avg(d, now);
    int want = (int)ceil(avg / d->cfg.as.target_ongoing_requests - 1e-9);
    if (want < d->cfg.as.min_replicas)
        want = d->cfg.as.min_replicas;
    if (want > d->cfg.as.max_replicas)
        want = d->cfg.as.max_replicas;
    d->target = want;
    int have = (int)live_count(d);
    if (want > have) {
        d->down_since = 0;
        if (d->up_since == 0)
            d->up_since = now;
        if (now - d->up_since >= d->cfg.as.upscale_delay_s) {
            fprintf(stderr, "ray_serve_controller: %s/%s: scaling up %d -> %d (ongoing %.1f)\n",
                    C.app.name, d->cfg.name, have, want, avg);
            while ((int)live_count(d) < want && rep_start(d) == RAY_OK)
                ;
            d->up_since = 0;
        }
    } else if (want < have) {
        d->up_since = 0;
        if (d->down_since == 0)
            d->down_since = now;
        if (now - d->down_since >= d->cfg.as.downscale_delay_s) {
            fprintf(stderr, "ray_serve_controller: %s/%s: scaling down %d -> %d (ongoing %.1f)\n",
                    C.app.name, d->cfg.name, have, want, avg);
            while ((int)live_count(d) > want) {
                /* the least busy live replica drains */
                struct crep *best = NULL;
                for (size_t i = 0; i < d->n; i++)
                    if (!d->reps[i].draining && (best == NULL || d->reps[i].ongoing < best->ongoing))
                        best = &d->reps[i];
                best->draining = true;
                best->drain_since = now;
            }
            d->down_since = 0;
        }
    } else {
        d->up_since = d->down_since = 0;
    }
}

/* Kill drained replicas of D (under C.mu). INGRESS: the proxies' word counts. */
static void reap_drained(struct cdep *d, bool ingress, double now)
{
    for (size_t i = 0; i < d->n;) {
        struct crep *r = &d->reps[i];
        if (r->draining && now - r->drain_since >= CTL_DRAIN_GRACE_S &&
            (!ingress || d->draining_left == 0)) {
            char name[256];
            rep_name(d, r->index, name, sizeof name);
            ray_actor_kill(r->a, true);
            fprintf(stderr, "ray_serve_controller: %s: stopped drained replica %s\n", C.app.name,
                    name);
            d->reps[i] = d->reps[--d->n];
            continue;
        }
        i++;
    }
}

/* Forget replicas of D that are gone for good (killed, restarts used up:
 * their name is free again); the loop starts replacements. */
static void check_health(struct cdep *d)
{
    for (size_t i = 0; i < d->n;) {
        struct crep *r = &d->reps[i];
        char name[256];
        ray_actor a;
        rep_name(d, r->index, name, sizeof name);
        if (!r->draining && ray_actor_lookup(name, &a) == RAY_ENOTFOUND) {
            fprintf(stderr, "ray_serve_controller: %s: replica %s is gone; replacing it\n",
                    C.app.name, name);
            d->reps[i] = d->reps[--d->n];
            continue;
        }
        i++;
    }
}

static void *control_main(void *arg)
{
    (void)arg;
    for (unsigned round = 0;; round++) {
        pthread_mutex_lock(&C.mu);
        bool stop = C.stop;
        pthread_mutex_unlock(&C.mu);
        if (stop)
            break;
        if (C.app.route_prefix[0] || C.nproxies)
            push_routes();
        double now = serve_now_();
        pthread_mutex_lock(&C.mu);
        for (size_t i = 0; i < C.app.ndeps; i++) {
            struct cdep *d = &C.deps[i];
            if (round % 10 == 9)
                check_health(d);
            if (d->cfg.autoscaling)
                autoscale(d, i == 0, now);
            else
                while ((int)live_count(d) < d->cfg.num_replicas && rep_start(d) == RAY_OK)
                    ;
            reap_drained(d, i == 0, now);
        }
        pthread_mutex_unlock(&C.mu);
        usleep((useconds_t)(CTL_PERIOD_S * 1e6));
    }
    pthread_mutex_lock(&C.mu);
    C.stopped = true;
    pthread_mutex_unlock(&C.mu);
    return NULL;
}

/* init args: application (serve_app_encode_), [proxy names] */
static void *ray_serve_controller_new(ray_task *t, const ray_value *args, size_t nargs)
{
    if (C.started)
        return &C;
    if (nargs != 2 || args[1].type != RAY_LIST ||
        serve_app_decode_(&args[0], &C.app, &C.http) < 0) {
        ray_fail(t, "ray_serve_controller: bad configuration");
        return NULL;
    }
    C.nproxies = ray_list_len(&args[1]);
    if (C.nproxies > SERVE_MAX_PROXIES)
        C.nproxies = SERVE_MAX_PROXIES;
    for (size_t i = 0; i < C.nproxies; i++) {
        const ray_value *e = ray_list_at(&args[1], i);
        snprintf(C.proxies[i], sizeof C.proxies[i], "%s",
                 e->type == RAY_STR ? (const char *)e->as.buf.ptr : "");
    }
    for (size_t i = 0; i < C.app.ndeps; i++) {
        struct cdep *d = &C.deps[i];
        d->cfg = C.app.deps[i];
        adopt(d);
        while ((int)d->n < initial_count(d)) {
            if (rep_start(d) != RAY_OK) {
                ray_fail(t, "%s", C.last_error);
                for (size_t k = 0; k <= i; k++)
                    for (size_t j = 0; j < C.deps[k].n; j++)
                        ray_actor_kill(C.deps[k].reps[j].a, true);
                return NULL;
            }
        }
    }
    C.started = true;
    pthread_create(&C.th, NULL, control_main, NULL);
    return &C;
}

static void ray_serve_controller_free(void *self) { (void)self; }

/* ready(timeout_ms) -> INT 1 once every proxy took the routes; fails on timeout */
static int ray_serve_controller_ready(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    int64_t to = n == 1 && a[0].type == RAY_INT ? a[0].as.i : 30000;
    double end = serve_now_() + (double)to / 1000;
    for (;;) {
        pthread_mutex_lock(&C.mu);
        bool ok = C.pushes_ok > 0 || (!C.app.route_prefix[0] && C.nproxies == 0);
        pthread_mutex_unlock(&C.mu);
        if (ok)
            return ray_return(t, RAY_I(1));
        if (serve_now_() > end)
            return ray_fail(t, "the proxies did not take application %s's routes in %lld ms",
                            C.app.name, (long long)to);
        usleep(20000);
    }
}

/* replicas(deployment[, ongoing, handle key]) -> [handler, [actors...]];
 * with the load report of the handle asking */
static int ray_serve_controller_replicas(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    if ((n != 1 && n != 3) || a[0].type != RAY_STR ||
        (n == 3 && (a[1].type != RAY_INT || a[2].type != RAY_STR)))
        return ray_fail(t, "replicas: wants a deployment name");
    ray_value set[SERVE_MAX_REPLICAS], out[2];
    char handler[SERVE_NAME_MAX];
    size_t ns = 0;
    bool found = false;
    pthread_mutex_lock(&C.mu);
    for (size_t i = 0; i < C.app.ndeps; i++) {
        struct cdep *d = &C.deps[i];
        if (strcmp(d->cfg.name, a[0].as.buf.ptr) != 0)
            continue;
        found = true;
        snprintf(handler, sizeof handler, "%s", d->cfg.handler);
        if (n == 3 && a[2].as.buf.len < sizeof d->reports[0].key) {
            size_t k = 0;
            while (k < d->nreports && strcmp(d->reports[k].key, a[2].as.buf.ptr) != 0)
                k++;
            if (k == d->nreports && d->nreports < SERVE_MAX_REPLICAS)
                d->nreports++;
            if (k < d->nreports) {
                memcpy(d->reports[k].key, a[2].as.buf.ptr, a[2].as.buf.len + 1);
                d->reports[k].ongoing = a[1].as.i;
                d->reports[k].at = serve_now_();
            }
        }
        for (size_t k = 0; k < d->n; k++)
            if (!d->reps[k].draining)
                set[ns++] = RAY_A(d->reps[k].a);
    }
    pthread_mutex_unlock(&C.mu);
    if (!found)
        return ray_fail(t, "application %s has no deployment %s", C.app.name,
                        (const char *)a[0].as.buf.ptr);
    out[0] = RAY_S(handler);
    out[1] = RAY_LIST_V(set, ns);
    return ray_return(t, RAY_LIST_V(out, 2));
}

static int ray_serve_controller_status(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    char buf[8192];
    size_t u = 0;
    pthread_mutex_lock(&C.mu);
    u += (size_t)snprintf(buf + u, sizeof buf - u, "application %s: RUNNING, route %s\n",
                          C.app.name, C.app.route_prefix[0] ? C.app.route_prefix : "(none)");
    for (size_t i = 0; i < C.app.ndeps && u < sizeof buf - 512; i++) {
        struct cdep *d = &C.deps[i];
        size_t live = live_count(d);
        int64_t ongoing = 0;
        for (size_t k = 0; k < d->n; k++)
            ongoing += d->reps[k].ongoing;
        int want = d->cfg.autoscaling ? (d->target > 0 ? d->target : d->cfg.as.min_replicas)
                                      : d->cfg.num_replicas;
        u += (size_t)snprintf(buf + u, sizeof buf - u, "  deployment %s%s: %s, %zu replicas",
                              d->cfg.name, i == 0 ? " (ingress)" : "",
                              (int)live == want ? "HEALTHY" : "UPDATING", live);
        if (d->n > live)
            u += (size_t)snprintf(buf + u, sizeof buf - u, " (+%zu draining)", d->n - live);
        if (d->cfg.autoscaling)
            u += (size_t)snprintf(buf + u, sizeof buf - u, ", autoscaling %d..%d target %d",
                                  d->cfg.as.min_replicas, d->cfg.as.max_replicas, d->target);
        if (i == 0)
            u += (size_t)snprintf(buf + u, sizeof buf - u, ", %lld ongoing, %lld queued",
                                  (long long)ongoing, (long long)d->queued);
        u += (size_t)snprintf(buf + u, sizeof buf - u, "\n");
    }
    pthread_mutex_unlock(&C.mu);
    return ray_return(t, RAY_S(buf));
}

/* shutdown(): routes off every proxy, ongoing requests finish (at most 30 s),
 * replicas stop. Returns INT: how many replicas were stopped. */
static int ray_serve_controller_shutdown(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    pthread_mutex_lock(&C.mu);
    C.stop = true;
    pthread_mutex_unlock(&C.mu);
    for (int i = 0; i < 100; i++) { /* the control thread ends its round */
        pthread_mutex_lock(&C.mu);
        bool done = C.stopped || !C.started;
        pthread_mutex_unlock(&C.mu);
        if (done)
            break;
        usleep(20000);
    }
    double end = serve_now_() + 30;
    for (size_t p = 0; p < C.nproxies; p++) {
        ray_actor pa;
        if (ray_actor_lookup(C.proxies[p], &pa) != RAY_OK)
            continue;
        for (;;) {
            ray_value arg = RAY_S(C.app.name), v;
            ray_ref ref;
            if (ray_actor_call(pa, "remove", &arg, 1, NULL, &ref) != RAY_OK)
                break;
            int rc = ray_get(ref, 5000, &v);
            ray_free(&ref, 1);
            if (rc != RAY_OK || v.type != RAY_INT || v.as.i == 0 || serve_now_() > end)
                break;
            usleep(50000);
        }
    }
    int64_t killed = 0;
    pthread_mutex_lock(&C.mu);
    for (size_t i = 0; i < C.app.ndeps; i++) {
        for (size_t k = 0; k < C.deps[i].n; k++, killed++)
            ray_actor_kill(C.deps[i].reps[k].a, true);
        C.deps[i].n = 0;
    }
    pthread_mutex_unlock(&C.mu);
    return ray_return(t, RAY_I(killed));
}

/* add_proxies([names]): push routes to these proxies too (a proxy started
 * after this application). Returns INT: how many proxies it now has. */
static int ray_serve_controller_add_proxies(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    if (n != 1 || a[0].type != RAY_LIST)
        return ray_fail(t, "add_proxies: wants a list of names");
    pthread_mutex_lock(&C.mu);
    for (size_t i = 0; i < ray_list_len(&a[0]); i++) {
        const ray_value *e = ray_list_at(&a[0], i);
        if (e->type != RAY_STR || e->as.buf.len >= sizeof C.proxies[0])
            continue;
        bool have = false;
        for (size_t k = 0; k < C.nproxies; k++)
            have = have || strcmp(C.proxies[k], e->as.buf.ptr) == 0;
        if (!have && C.nproxies < SERVE_MAX_PROXIES) {
            memcpy(C.proxies[C.nproxies], e->as.buf.ptr, e->as.buf.len + 1);
            C.proxy_known[C.nproxies] = false;
            C.nproxies++;
        }
    }
    int64_t np = (int64_t)C.nproxies;
    pthread_mutex_unlock(&C.mu);
    return ray_return(t, RAY_I(np));
}

RAY_ACTOR(ray_serve_controller);
RAY_METHOD(ray_serve_controller, add_proxies);
RAY_METHOD(ray_serve_controller, ready);
RAY_METHOD(ray_serve_controller, replicas);
RAY_METHOD(ray_serve_controller, status);
RAY_METHOD(ray_serve_controller, shutdown);
