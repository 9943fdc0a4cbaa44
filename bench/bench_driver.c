/*
 * bench_driver.c — the benchmark driver of `make bench`: a standalone driver
 * (links -lray) that connects to a running node, loads bench_job.so into the
 * job's workers, and runs the named microbenchmarks, each as a warm-up and
 * then RUNS measurements, printing one JSON line per benchmark on stdout:
 *   {"benchmark": NAME, "value": MEDIAN, "unit": U, "runs": N, "min": A, "max": B}
 * or, when the feature is missing or a call fails, "value": null and a "note".
 * Progress and errors go to stderr. bench/run.sh starts and stops the cluster
 * and turns these lines into the table; see bench/README.md.
 *
 *   bench_driver ADDRESS LIBRARY NAME...       run these benchmarks
 *   bench_driver ADDRESS LIBRARY idle SECONDS  start one worker per CPU, print
 *                                              "ready", sleep (worker RSS probe)
 * Environment: BENCH_RUNS (measurements, default 5), BENCH_SECONDS (length of
 * one time-based measurement, default 1.0), BENCH_DRAIN_N (tasks queued by
 * queued_1m_tasks_drain, default 1000000; run.sh passes a smaller one), BENCH_TRANSFER_BYTES (object size
 * of cross_node_transfer_gigabytes, default 1 GiB), BENCH_REMOTE_RESOURCE
 * (custom resource only the second node has, default "bench_remote").
 *
 * DESIGN: every benchmark is a function that performs ONE measurement and
 * returns its value (or -1 with ray_last_error() / a note set). Setup that is
 * not part of what is measured (creating actors, freeing the objects a run
 * made) happens outside the timed region. Sync and per-call benchmarks run for
 * BENCH_SECONDS and count; batch benchmarks time fixed amounts of work as the
 * issue defines them. Objects a measurement creates are freed with ray_free
 * after it, untimed, so runs do not fill the store.
 */
#include <ray.h>
#include <ray_pool.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_RUNS 50
#define BENCH_BATCH 10000        /* tasks / calls per async measurement (per client) */
#define BENCH_CLIENTS 4          /* threads of the multi-client benchmarks */
#define BENCH_SMALL_BATCH 1000   /* tasks of wait_1k_refs and tasks_and_get_batch */
#define BENCH_PUT_BYTES (100u * 1000 * 1000)
#define BENCH_LAT_SAMPLES 1000

static double g_seconds = 1.0;
static char g_note[512]; /* why the current benchmark has no value */
static double g_extra;    /* a second figure from the same measurement (see struct bench) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record why the benchmark failed (first reason wins); returns -1. */
static double fail_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double fail_note(const char *fmt, ...)
{
    if (g_note[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_note, sizeof g_note, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A ray call failed: note the call and the library's detail. */
static double fail_rc(const char *what, int rc)
{
    return fail_note("%s: %s: %s", what, ray_strerror(rc), ray_last_error());
}

/* ---- growable ref list ------------------------------------------------------ */
struct refs {
    ray_ref *v;
    size_t n, cap;
};

/* Append R; returns 0, or -1 when out of memory. */
static int refs_push(struct refs *l, ray_ref r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        ray_ref *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = r;
    return 0;
}

/* Free the listed objects in the cluster (untimed housekeeping) and empty the list. */
static void refs_release(struct refs *l)
{
    for (size_t i = 0; i < l->n; i += 10000)
        ray_free(l->v + i, l->n - i < 10000 ? l->n - i : 10000);
    l->n = 0;
}

static void refs_done(struct refs *l)
{
    refs_release(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

/* Submit N no-op tasks into OUT[0..n). Returns RAY_OK or the first failure. */
static int submit_noops(size_t n, ray_ref *out)
{
    for (size_t i = 0; i < n; i++) {
        int rc = ray_call("noop", NULL, 0, NULL, &out[i]);
        if (rc != RAY_OK)
            return rc;
    }
    return RAY_OK;
}

/* Get all of REFS[0..n) — one ray_get_all, as Ray's benchmark does
 * ray.get(list) — and release them. */
static int get_each(const ray_ref *refs, size_t n)
{
    ray_value *v = calloc(n ? n : 1, sizeof *v);
    if (v == NULL)
        return RAY_ENOMEM;
    int rc = ray_get_all(refs, n, -1, v);
    if (rc == RAY_OK)
        for (size_t i = 0; i < n; i++)
            ray_value_release(&v[i]);
    free(v);
    return rc;
}

/* ---- tasks ------------------------------------------------------------------ */
/* Call and get one at a time for BENCH_SECONDS: calls per second. CALL
 * makes one no-op call (a task or an actor method); WHAT names it for errors. */
static double sync_loop(int (*call)(ray_ref *r), const char *what)
{
    struct refs l = { 0 };
    double t0 = now_s(), t;
    size_t n = 0;
    do {
        ray_ref r;
        ray_value v;
        int rc = call(&r);
        if (rc != RAY_OK || (rc = ray_get(r, -1, &v)) != RAY_OK) {
            refs_done(&l);
            return fail_rc(what, rc);
        }
        refs_push(&l, r);
        n++;
        t = now_s();
    } while (t - t0 < g_seconds);
    refs_done(&l);
    return (double)n / (t - t0);
}

static int call_noop(ray_ref *r)
{
    return ray_call("noop", NULL, 0, NULL, r);
}

static double b_tasks_sync(void)
{
    return sync_loop(call_noop, "noop");
}

static double b_tasks_async(void)
{
    ray_ref *r = malloc(BENCH_BATCH * sizeof *r);
    if (r == NULL)
        return fail_note("out of memory");
    double t0 = now_s();
    int rc = submit_noops(BENCH_BATCH, r);
    if (rc == RAY_OK)
        rc = get_each(r, BENCH_BATCH);
    double t = now_s() - t0;
    ray_free(r, BENCH_BATCH);
    free(r);
    return rc == RAY_OK ? BENCH_BATCH / t : fail_rc("noop", rc);
}

/* steady_tasks_async_10min (make bench-long): batches of b_tasks_async for
 * BENCH_STEADY_S seconds (600); tasks/s of the last minute, and of the
 * first one in g_extra. Each minute's figure goes to stderr as it ends. */
static double b_steady(void)
{
    const char *e = getenv("BENCH_STEADY_S");
    double total = e && atof(e) >= 120 ? atof(e) : 600;
    double t0 = now_s(), win0 = t0, first = 0, last = 0;
    double tasks = 0;
    int minute = 0;
    while (minute < (int)(total / 60)) {
        double rate = b_tasks_async();
        if (rate < 0)
            return -1;
        tasks += BENCH_BATCH;
        double t = now_s();
        if (t - win0 >= 60) {
            last = tasks / (t - win0);
            if (++minute == 1)
                first = last;
            fprintf(stderr, "bench: steady minute %d: %.0f tasks/s\n", minute, last);
            tasks = 0;
            win0 = t;
        }
    }
    g_extra = first;
    return last;
}

/* One client thread of the multi-client benchmarks. */
struct client {
    pthread_barrier_t *start;
    ray_actor *actors; /* NULL: tasks; else round-robin over nactors */
    size_t nactors, first;
    int rc;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    ray_ref *r = malloc(BENCH_BATCH * sizeof *r);
    c->rc = r ? RAY_OK : RAY_ENOMEM;
    pthread_barrier_wait(c->start);
    for (size_t i = 0; c->rc == RAY_OK && i < BENCH_BATCH; i++) {
        if (c->actors)
            c->rc = ray_actor_call(c->actors[(c->first + i) % c->nactors], "noop", NULL, 0, NULL,
                                   &r[i]);
        else
            c->rc = ray_call("noop", NULL, 0, NULL, &r[i]);
    }
    if (c->rc == RAY_OK)
        c->rc = get_each(r, BENCH_BATCH);
    if (r)
        ray_free(r, BENCH_BATCH);
    free(r);
    return NULL;
}

/* BENCH_CLIENTS threads, each BENCH_BATCH calls; returns calls/s. */
static double run_clients(ray_actor *actors, size_t nactors)
{
    pthread_t th[BENCH_CLIENTS];
    struct client c[BENCH_CLIENTS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, BENCH_CLIENTS + 1);
    for (size_t i = 0; i < BENCH_CLIENTS; i++) {
        c[i] = (struct client){ .start = &start, .actors = actors, .nactors = nactors, .first = i };
        if (pthread_create(&th[i], NULL, client_main, &c[i]) != 0) {
            fprintf(stderr, "bench: pthread_create: %s\n", strerror(errno));
            exit(1);
        }
    }
    pthread_barrier_wait(&start);
    double t0 = now_s();
    for (size_t i = 0; i < BENCH_CLIENTS; i++)
        pthread_join(th[i], NULL);
    double t = now_s() - t0;
    pthread_barrier_destroy(&start);
    for (size_t i = 0; i < BENCH_CLIENTS; i++)
        if (c[i].rc != RAY_OK)
            return fail_rc(actors ? "actor call" : "noop", c[i].rc);
    return (double)BENCH_CLIENTS * BENCH_BATCH / t;
}

static double b_multi_tasks_async(void)
{
    return run_clients(NULL, 0);
}

/* Submit BENCH_SMALL_BATCH tasks and ray_wait for them one at a time. */
static int wait_batch(void)
{
    ray_ref r[BENCH_SMALL_BATCH], all[BENCH_SMALL_BATCH];
    bool ready[BENCH_SMALL_BATCH];
    size_t n = BENCH_SMALL_BATCH;
    int rc = submit_noops(n, r);
    memcpy(all, r, sizeof all);
    while (rc == RAY_OK && n > 0) {
        int k = ray_wait(r, n, 1, -1, ready);
        if (k < 0) {
            rc = k;
            break;
        }
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            if (!ready[i])
                r[j++] = r[i];
        n = j;
    }
    ray_free(all, BENCH_SMALL_BATCH);
    return rc;
}

/* Submit BENCH_SMALL_BATCH tasks and get them all with ray_get_all. */
static int get_batch(void)
{
    ray_ref r[BENCH_SMALL_BATCH];
    static ray_value v[BENCH_SMALL_BATCH];
    int rc = submit_noops(BENCH_SMALL_BATCH, r);
    if (rc == RAY_OK)
        rc = ray_get_all(r, BENCH_SMALL_BATCH, -1, v);
    if (rc == RAY_OK)
        for (size_t i = 0; i < BENCH_SMALL_BATCH; i++)
            ray_value_release(&v[i]);
    ray_free(r, BENCH_SMALL_BATCH);
    return rc;
}

/* Repeat BATCH (at least once) for about half of BENCH_SECONDS; batches/s. */
static double repeat_batches(int (*batch)(void), const char *what)
{
    double t0 = now_s(), t;
    size_t n = 0;
    do {
        int rc = batch();
        if (rc != RAY_OK)
            return fail_rc(what, rc);
        n++;
        t = now_s();
    } while (t - t0 < g_seconds / 2);
    return (double)n / (t - t0);
}

static double b_wait_1k_refs(void)
{
    return repeat_batches(wait_batch, "wait_1k_refs");
}

static double b_tasks_and_get_batch(void)
{
    return repeat_batches(get_batch, "tasks_and_get_batch");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* BENCH_LAT_SAMPLES round trips of one no-op task: returns the median in
 * µs and leaves the 99th percentile in g_extra (one sample set for both). */
static double b_latency(void)
{
    static double s[BENCH_LAT_SAMPLES];
    struct refs l = { 0 };
    for (size_t i = 0; i < BENCH_LAT_SAMPLES; i++) {
        ray_ref r;
        ray_value v;
        double t0 = now_s();
        int rc = ray_call("noop", NULL, 0, NULL, &r);
        if (rc != RAY_OK || (rc = ray_get(r, -1, &v)) != RAY_OK) {
            refs_done(&l);
            return fail_rc("noop", rc);
        }
        s[i] = (now_s() - t0) * 1e6;
        refs_push(&l, r);
    }
    refs_done(&l);
    qsort(s, BENCH_LAT_SAMPLES, sizeof s[0], cmp_double);
    g_extra = s[(size_t)(0.99 * (BENCH_LAT_SAMPLES - 1) + 0.5)];
    return s[BENCH_LAT_SAMPLES / 2];
}

/* queued_1m_tasks_drain: queue N no-op tasks, then get them all; tasks/s of the whole. */
static double b_drain(void)
{
    const char *e = getenv("BENCH_DRAIN_N");
    size_t n = e ? strtoul(e, NULL, 10) : 1000000;
    if (n == 0)
        return fail_note("BENCH_DRAIN_N must be positive");
    ray_ref *r = malloc(n * sizeof *r);
    if (r == NULL)
        return fail_note("out of memory for %zu refs", n);
    double t0 = now_s();
    int rc = submit_noops(n, r);
    double ts = now_s();
    if (rc == RAY_OK)
        rc = get_each(r, n);
    double t = now_s();
    fprintf(stderr, "bench: drain of %zu tasks: submitted in %.2f s, done in %.2f s\n", n,
            ts - t0, t - t0);
    for (size_t i = 0; i < n; i += 10000)
        ray_free(r + i, n - i < 10000 ? n - i : 10000);
    free(r);
    return rc == RAY_OK ? (double)n / (t - t0) : fail_rc("noop", rc);
}

/* ---- actors ----------------------------------------------------------------- */
static ray_actor g_actors[BENCH_CLIENTS];
static size_t g_nactors;

/* Make sure N bench actors exist and answer; returns 0 or -1 (note set).
 * BENCH_ACTOR_SHARE=1 makes them with share_worker (docs/actors-shared.md:
 * the actor_calls_* figures then include the hop to the actor's thread). */
static int actors_ensure(size_t n)
{
    const char *sh = getenv("BENCH_ACTOR_SHARE");
    ray_opts o = RAY_ACTOR_OPTS;
    o.share_worker = sh && strcmp(sh, "1") == 0;
    while (g_nactors < n) {
        ray_actor a;
        ray_ref r;
        ray_value v;
        int rc = ray_actor_create("bactor", NULL, 0, &o, &a);
        if (rc != RAY_OK)
            return (int)fail_rc("ray_actor_create", rc);
        rc = ray_actor_call(a, "noop", NULL, 0, NULL, &r);
        if (rc == RAY_OK)
            rc = ray_get(r, 60000, &v);
        if (rc != RAY_OK)
            return (int)fail_rc("first actor call", rc);
        ray_free(&r, 1);
        g_actors[g_nactors++] = a;
    }
    return 0;
}

static int call_actor_noop(ray_ref *r)
{
    return ray_actor_call(g_actors[0], "noop", NULL, 0, NULL, r);
}

static double b_actor_sync(void)
{
    if (actors_ensure(1) < 0)
        return -1;
    return sync_loop(call_actor_noop, "actor call");
}

static double b_actor_async_1_1(void)
{
    if (actors_ensure(1) < 0)
        return -1;
    ray_ref *r = malloc(BENCH_BATCH * sizeof *r);
    if (r == NULL)
        return fail_note("out of memory");
    int rc = RAY_OK;
    double t0 = now_s();
    for (size_t i = 0; rc == RAY_OK && i < BENCH_BATCH; i++)
        rc = ray_actor_call(g_actors[0], "noop", NULL, 0, NULL, &r[i]);
    if (rc == RAY_OK)
        rc = get_each(r, BENCH_BATCH);
    double t = now_s() - t0;
    ray_free(r, BENCH_BATCH);
    free(r);
    return rc == RAY_OK ? BENCH_BATCH / t : fail_rc("actor call", rc);
}

static double b_actor_async_n_n(void)
{
    if (actors_ensure(BENCH_CLIENTS) < 0)
        return -1;
    return run_clients(g_actors, BENCH_CLIENTS);
}

/* ---- actors_10k_create_per_s ---------------------------------------------------- */

/* Total VmRSS (MiB) of the rayd worker processes (*NPROC: how many): the
 * children of $BENCH_RAYD_PID (bench/run.sh sets it: other clusters on the
 * machine are not counted), else every one on the machine; 0 if none. */
static double worker_rss_total_mib(long *nproc)
{
    *nproc = 0;
    const char *node = getenv("BENCH_RAYD_PID");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for p in /proc/[0-9]*; do { tr '\\0' ' ' <$p/cmdline | grep -q -- '--worker' && "
             "awk -v n='%s' '/^PPid:/ {pp = $2} /^VmRSS:/ {kb = $2} END {if (n == \"\" || "
             "pp == n) print kb}' $p/status; } 2>/dev/null; done",
             node && strspn(node, "0123456789") == strlen(node) ? node : "");
    FILE *ps = popen(cmd, "r");
    if (ps == NULL)
        return 0;
    double sum = 0;
    long kb, n = 0;
    while (fscanf(ps, "%ld", &kb) == 1) {
        sum += (double)kb;
        n++;
    }
    pclose(ps);
    *nproc = n;
    return sum / 1024;
}

/* N actors (0 CPU each) created, called once and killed, at most W alive at
 * once; actors/s over the whole. SHARE: with ray_opts.share_worker (up to 64
 * actors in one worker process). The second figure (g_extra) is the worker
 * memory per live actor: the worker processes' VmRSS summed once the window
 * is first full, divided by the W actors alive then. */
static double actors_churn(size_t n, size_t w, bool share)
{
    ray_actor *a = calloc(w, sizeof *a);
    ray_ref *r = calloc(w, sizeof *r);
    if (a == NULL || r == NULL) {
        free(a);
        free(r);
        return fail_note("out of memory");
    }
    ray_opts o = RAY_ACTOR_OPTS;
    o.share_worker = share;
    int rc = RAY_OK;
    g_extra = 0;
    double t0 = now_s(), paused = 0;
    size_t made = 0, done = 0;
    while (rc == RAY_OK && done < n) {
        if (made < n && made - done < w) {
            size_t k = made % w;
            rc = ray_actor_create("bactor", NULL, 0, &o, &a[k]);
            if (rc == RAY_OK)
                rc = ray_actor_call(a[k], "noop", NULL, 0, NULL, &r[k]);
            made += rc == RAY_OK;
            continue;
        }
        size_t k = done % w;
        ray_value v;
        if (g_extra == 0 && made - done == w) {
            /* the first window: once every actor in it has answered, all are
             * alive; their workers' memory (the reading is not timed) */
            for (size_t i = 0; i < w && rc == RAY_OK; i++)
                if ((rc = ray_get(r[i], 120000, &v)) == RAY_OK)
                    ray_value_release(&v);
            double p0 = now_s();
            long np;
            double tot = worker_rss_total_mib(&np);
            g_extra = tot > 0 ? tot / (double)w : -1;
            paused += now_s() - p0;
            if (rc != RAY_OK)
                break;
        }
        rc = ray_get(r[k], 120000, &v);
        if (rc == RAY_OK) {
            ray_value_release(&v);
            ray_free(&r[k], 1);
            ray_actor_kill(a[k], true);
            done++;
        }
    }
    double t = now_s() - t0 - paused;
    for (size_t i = done; i < made; i++)
        ray_actor_kill(a[i % w], true);
    free(a);
    free(r);
    return rc == RAY_OK ? (double)n / t : fail_rc("actor create/call", rc);
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *e = getenv(name);
    return e && atol(e) > 0 ? (size_t)atol(e) : dflt;
}

/* actors_10k_create_per_s: BENCH_ACTORS_N (10,000) shared actors, at most
 * BENCH_ACTORS_WINDOW (1,000) alive at once. */
static double b_actors_10k(void)
{
    return actors_churn(env_size("BENCH_ACTORS_N", 10000), env_size("BENCH_ACTORS_WINDOW", 1000),
                        true);
}

/* actors_10k_create_per_s_own_process: the same with a worker process per
 * actor, BENCH_ACTORS_OWN_N (600) actors, at most BENCH_ACTORS_OWN_WINDOW
 * (256) alive (10,000 processes at once would need ~40 GiB here). */
static double b_actors_own(void)
{
    return actors_churn(env_size("BENCH_ACTORS_OWN_N", 600),
                        env_size("BENCH_ACTORS_OWN_WINDOW", 256), false);
}

/* ---- libraries ---------------------------------------------------------------- */
#define BENCH_POOL_ITEMS 100000
static ray_pool *g_pool;

/* pool_map_100k_items: ray_pool_map of the no-op over 100,000 int items on a
 * pool of one actor per CPU (started once, untimed); items/s. */
static double b_pool_map(void)
{
    int rc;
    if (g_pool == NULL) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if ((rc = ray_pool_new(ncpu > 0 ? (int)ncpu : 1, NULL, &g_pool)) != RAY_OK)
            return fail_rc("ray_pool_new", rc);
    }
    ray_value *items = malloc(BENCH_POOL_ITEMS * sizeof *items);
    ray_pool_result *res = malloc(BENCH_POOL_ITEMS * sizeof *res);
    if (items == NULL || res == NULL) {
        free(items);
        free(res);
        return fail_note("out of memory");
    }
    for (size_t i = 0; i < BENCH_POOL_ITEMS; i++)
        items[i] = RAY_I((int64_t)i);
    double t0 = now_s();
    rc = ray_pool_map(g_pool, "noop", items, BENCH_POOL_ITEMS, res);
    double t = now_s() - t0;
    ray_pool_result_release(res, BENCH_POOL_ITEMS);
    free(items);
    free(res);
    return rc == RAY_OK ? BENCH_POOL_ITEMS / t : fail_rc("ray_pool_map", rc);
}

/* ---- objects ---------------------------------------------------------------- */
static double b_put_calls(void)
{
    struct refs l = { 0 };
    double t0 = now_s(), t;
    int64_t n = 0;
    do {
        ray_ref r;
        int rc = ray_put(RAY_I(n), &r);
        if (rc != RAY_OK) {
            refs_done(&l);
            return fail_rc("ray_put", rc);
        }
        if (refs_push(&l, r) < 0) {
            refs_done(&l);
            return fail_note("out of memory");
        }
        n++;
        t = now_s();
    } while (t - t0 < g_seconds);
    refs_done(&l);
    return (double)n / (t - t0);
}

static double b_get_calls(void)
{
    ray_ref r;
    ray_value v;
    int rc = ray_put(RAY_I(42), &r);
    if (rc != RAY_OK)
        return fail_rc("ray_put", rc);
    if ((rc = ray_get(r, -1, &v)) != RAY_OK) /* now certainly local and sealed */
        return fail_rc("ray_get", rc);
    double t0 = now_s(), t;
    size_t n = 0;
    do {
        rc = ray_get(r, -1, &v);
        if (rc != RAY_OK || v.type != RAY_INT || v.as.i != 42) {
            ray_free(&r, 1);
            return rc != RAY_OK ? fail_rc("ray_get", rc) : fail_note("ray_get: wrong value");
        }
        ray_value_release(&v);
        n++;
        t = now_s();
    } while (t - t0 < g_seconds);
    ray_free(&r, 1);
    return (double)n / (t - t0);
}

static double b_put_gigabytes(void)
{
    static char *buf;
    if (buf == NULL) {
        buf = malloc(BENCH_PUT_BYTES);
        if (buf == NULL)
            return fail_note("out of memory");
        memset(buf, 7, BENCH_PUT_BYTES);
    }
    double busy = 0;
    size_t n = 0;
    do {
        ray_ref r;
        double t0 = now_s();
        int rc = ray_put(RAY_BYTES_V(buf, BENCH_PUT_BYTES), &r);
        busy += now_s() - t0;
        if (rc != RAY_OK)
            return fail_rc("ray_put of 100 MB", rc);
        ray_free(&r, 1); /* untimed: keeps the store from filling */
        n++;
    } while (busy < g_seconds || n < 3);
    return (double)n * BENCH_PUT_BYTES / busy / 1e9;
}

/* cross_node_transfer_gigabytes: a BYTES object is made on this (the
 * driver's) node; a no-op task pinned to the second node by a custom resource
 * takes it as an argument, so that node must pull it before the task runs.
 * Timed: from the call to the get of the task's result. Before the first run
 * it checks, with a small object and timeouts, that pinned tasks land on
 * another node and that objects move; if not, the note says which. */
static double b_transfer(void)
{
    static int checked;
    const char *res = getenv("BENCH_REMOTE_RESOURCE");
    const char *e = getenv("BENCH_TRANSFER_BYTES");
    size_t len = e ? strtoul(e, NULL, 10) : (1u << 30);
    char spec[128];
    snprintf(spec, sizeof spec, "%s=1", res ? res : "bench_remote");
    ray_opts o = RAY_OPTS;
    o.resources = spec;
    o.max_retries = 0;
    ray_ref r, out;
    ray_value v;
    void *p;
    int rc;

    if (!checked) {
        rc = ray_call("node_of", NULL, 0, &o, &r);
        if (rc != RAY_OK)
            return fail_rc("task pinned to the second node", rc);
        rc = ray_get(r, 10000, &v);
        if (rc != RAY_OK)
            return fail_note("a task pinned to the second node did not run (%s: %s): "
                             "multi-node scheduling not available in this build?",
                             ray_strerror(rc), ray_last_error());
        int same = v.type != RAY_STR || strcmp(v.as.buf.ptr, ray_node_id()) == 0;
        ray_value_release(&v);
        if (same)
            return fail_note("the pinned task ran on the driver's node");
        if ((rc = ray_create(1 << 20, &p, &r)) != RAY_OK)
            return fail_rc("ray_create", rc);
        memset(p, 1, 1 << 20);
        ray_seal(r);
        rc = ray_call("noop", (ray_value[]){ RAY_R(r) }, 1, &o, &out);
        if (rc == RAY_OK)
            rc = ray_get(out, 10000, &v);
        ray_free(&r, 1);
        if (rc != RAY_OK)
            return fail_note("object transfer between nodes not available in this build (%s: %s)",
                             ray_strerror(rc), ray_last_error());
        checked = 1;
    }
    if ((rc = ray_create(len, &p, &r)) != RAY_OK)
        return fail_rc("ray_create", rc);
    memset(p, 3, len);
    ray_seal(r);
    double t0 = now_s();
    rc = ray_call("noop", (ray_value[]){ RAY_R(r) }, 1, &o, &out);
    if (rc == RAY_OK)
        rc = ray_get(out, 120000, &v);
    double t = now_s() - t0;
    ray_free(&r, 1);
    ray_free(&out, 1);
    return rc == RAY_OK ? (double)len / t / 1e9 : fail_rc("transfer task", rc);
}

/* placement_group_create_removal: create and remove a one-bundle group. */
static double b_pg(void)
{
    const char *bundle[] = { "CPU=1" };
    double t0 = now_s(), t;
    size_t n = 0;
    do {
        ray_pg pg;
        int rc = ray_pg_create(bundle, 1, RAY_PACK, NULL, &pg);
        if (rc == RAY_OK && (rc = ray_pg_wait(pg, 10000)) == RAY_OK)
            rc = ray_pg_remove(pg);
        if (rc != RAY_OK)
            return fail_note("placement groups not available in this build (%s: %s)",
                             ray_strerror(rc), ray_last_error());
        n++;
        t = now_s();
    } while (t - t0 < g_seconds);
    return (double)n / (t - t0);
}

/* ---- the table ---------------------------------------------------------------- */
struct bench {
    const char *name, *unit;
    const char *extra; /* name of the second figure fn leaves in g_extra, or NULL */
    double (*fn)(void);
    int warmups; /* 0: no warm-up (the run itself is long) */
    int max_runs; /* cap on BENCH_RUNS for long benchmarks (0: none) */
};

static const struct bench benches[] = {
    { "single_client_tasks_sync", "tasks/s", NULL, b_tasks_sync, 1, 0 },
    { "single_client_tasks_async", "tasks/s", NULL, b_tasks_async, 1, 0 },
    { "multi_client_tasks_async", "tasks/s", NULL, b_multi_tasks_async, 1, 0 },
    { "actor_calls_sync_1_1", "calls/s", NULL, b_actor_sync, 1, 0 },
    { "actor_calls_async_1_1", "calls/s", NULL, b_actor_async_1_1, 1, 0 },
    { "actor_calls_async_n_n", "calls/s", NULL, b_actor_async_n_n, 1, 0 },
    { "single_client_put_calls", "ops/s", NULL, b_put_calls, 1, 0 },
    { "single_client_get_calls", "ops/s", NULL, b_get_calls, 1, 0 },
    { "single_client_put_gigabytes", "GB/s", NULL, b_put_gigabytes, 1, 0 },
    { "single_client_wait_1k_refs", "batches/s", NULL, b_wait_1k_refs, 1, 0 },
    { "single_client_tasks_and_get_batch", "batches/s", NULL, b_tasks_and_get_batch, 1, 0 },
    { "task_latency_p50_us", "us", "task_latency_p99_us", b_latency, 1, 0 },
    { "cross_node_transfer_gigabytes", "GB/s", NULL, b_transfer, 1, 3 },
    { "queued_1m_tasks_drain", "tasks/s", NULL, b_drain, 0, 1 },
    { "placement_group_create_removal", "ops/s", NULL, b_pg, 1, 0 },
    { "steady_tasks_async_10min", "tasks/s", "steady_tasks_async_first_min", b_steady, 0, 1 },
    { "actors_10k_create_per_s", "actors/s", "actors_10k_worker_rss_mib", b_actors_10k, 0, 3 },
    { "actors_10k_create_per_s_own_process", "actors/s", "actors_own_process_worker_rss_mib",
      b_actors_own, 0, 3 },
    { "pool_map_100k_items", "items/s", NULL, b_pool_map, 1, 0 },
};

/* Print S as a JSON string (our notes: escape quotes, backslashes, controls). */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* Print one JSON line: the median of V[0..n) and its range, or null and NOTE. */
static void result_print(const char *name, const char *unit, double *v, int n, const char *note)
{
    printf("{\"benchmark\": \"%s\", ", name);
    if (note[0] || n == 0) {
        printf("\"value\": null, \"unit\": \"%s\", \"note\": ", unit);
        json_str(note[0] ? note : "no measurement");
        printf("}\n");
    } else {
        qsort(v, (size_t)n, sizeof v[0], cmp_double);
        double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        printf("\"value\": %.6g, \"unit\": \"%s\", \"runs\": %d, \"min\": %.6g, \"max\": %.6g}\n",
               med, unit, n, v[0], v[n - 1]);
    }
    fflush(stdout);
}

/* Run B: warm-up, then RUNS measurements; print its JSON line(s). */
static void bench_run(const struct bench *b, int runs)
{
    double v[BENCH_MAX_RUNS], x2[BENCH_MAX_RUNS];
    int n = 0;
    if (b->max_runs > 0 && runs > b->max_runs)
        runs = b->max_runs;
    g_note[0] = '\0';
    fprintf(stderr, "bench: %s ...", b->name);
    for (int i = 0; i < b->warmups && g_note[0] == '\0'; i++)
        b->fn();
    for (int i = 0; i < runs && g_note[0] == '\0'; i++) {
        double x = b->fn();
        if (x >= 0 && g_note[0] == '\0') {
            x2[n] = g_extra;
            v[n++] = x;
            fprintf(stderr, " %.4g", x);
        }
    }
    fprintf(stderr, g_note[0] ? " failed: %s\n" : "\n", g_note);
    result_print(b->name, b->unit, v, n, g_note);
    if (b->extra)
        result_print(b->extra, strstr(b->extra, "_mib") ? "MiB" : b->unit, x2, n, g_note);
}

/* idle mode: make the node start one worker per CPU, say so, then sleep. */
static int idle_main(int seconds)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    ray_ref r[256];
    size_t n = ncpu > 0 && ncpu < 256 ? (size_t)ncpu : 1;
    int rc = submit_noops(n, r);
    if (rc == RAY_OK)
        rc = get_each(r, n);
    if (rc != RAY_OK) {
        fprintf(stderr, "bench: idle: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    sleep((unsigned)seconds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ADDRESS LIBRARY NAME... | idle SECONDS\n", argv[0]);
        return 2;
    }
    const char *e = getenv("BENCH_RUNS");
    int runs = e ? atoi(e) : 5;
    if (runs < 1 || runs > BENCH_MAX_RUNS)
        runs = 5;
    if ((e = getenv("BENCH_SECONDS")) != NULL && atof(e) > 0)
        g_seconds = atof(e);
    ray_config cfg = { .address = argv[1][0] ? argv[1] : NULL, .library = argv[2] };
    int rc = ray_init(&cfg);
    if (rc != RAY_OK) {
        fprintf(stderr, "bench: ray_init: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    if (strcmp(argv[3], "idle") == 0) {
        rc = idle_main(argc > 4 ? atoi(argv[4]) : 3);
        ray_shutdown();
        return rc;
    }
    for (int i = 3; i < argc; i++) {
        size_t k;
        for (k = 0; k < sizeof benches / sizeof benches[0]; k++)
            if (strcmp(benches[k].name, argv[i]) == 0)
                break;
        if (k == sizeof benches / sizeof benches[0]) {
            fprintf(stderr, "bench: unknown benchmark %s\n", argv[i]);
            continue;
        }
        bench_run(&benches[k], runs);
    }
    for (size_t i = 0; i < g_nactors; i++)
        ray_actor_kill(g_actors[i], true);
    ray_shutdown();
    return 0;
}
