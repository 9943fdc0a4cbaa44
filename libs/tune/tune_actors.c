/*
 * tune_actors.c — the actors of a search and the calls a trainable makes.
 *
 * The controller (one per ray_tune_run) is the scheduler: every report of
 * the search's metric goes to it as an actor call, and its answer (go on or
 * stop) is the trainable's ray_tune_report return. Calls to one actor run
 * one at a time, so its state needs no lock. ASHA is Ray's
 * AsyncHyperBandScheduler with one bracket: rungs at grace_period * rf^k
 * below max_t; the first report at or past a rung's milestone records the
 * trial's value there and stops the trial when it is below the rung's
 * (1 - 1/rf) percentile of the values recorded before it (linear
 * interpolation, numpy's default); a trial reaching max_t stops, done.
 *
 * A trial actor runs the trainable once, in its own thread, through a local
 * context whose data is the trial (struct trial_ctx): that is how
 * ray_tune_report finds its trial and controller, with no global.
 */
#include "ray_tune.h"

#include "libs/tune/tune_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ray_tune_controller_class_[] = "ray_tune_controller";
const char ray_tune_trial_class_[] = "ray_tune_trial_actor";

#define MAX_RUNGS 32

/* ---- the controller ----------------------------------------------------------------- */

struct rung {
    int64_t milestone;
    double *vals; /* values recorded, in "higher is better" sign */
    size_t n;
    uint8_t *seen; /* per trial */
};

struct controller {
    size_t ntrials;
    int scheduler, mode;
    int64_t max_t;
    double rf;
    struct ray_tune_rec_ *rec;
    struct rung rungs[MAX_RUNGS]; /* largest milestone first */
    int nrungs;
};

static void ray_tune_controller_free(void *self)
{
    struct controller *c = self;
    if (c == NULL)
        return;
    for (int i = 0; i < c->nrungs; i++) {
        free(c->rungs[i].vals);
        free(c->rungs[i].seen);
    }
    free(c->rec);
    free(c);
}

static void *ray_tune_controller_new(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 6 || a[0].type != RAY_INT || a[0].as.i < 0)
        return NULL;
    struct controller *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->ntrials = (size_t)a[0].as.i;
    c->scheduler = (int)a[1].as.i;
    c->mode = (int)a[2].as.i;
    c->max_t = a[3].as.i;
    int64_t grace = a[4].as.i;
    c->rf = a[5].as.f;
    c->rec = calloc(c->ntrials ? c->ntrials : 1, sizeof *c->rec);
    if (c->rec == NULL)
        goto fail;
    for (size_t i = 0; i < c->ntrials; i++)
        c->rec[i].last = c->rec[i].best = NAN;
    if (c->scheduler == RAY_TUNE_ASHA && grace >= 1 && c->rf > 1 && c->max_t > grace) {
        /* Ray: int(log(max_t / grace) / log(rf) + 1) rungs, grace * rf^k */
        int k = (int)(log((double)c->max_t / (double)grace) / log(c->rf) + 1);
        if (k > MAX_RUNGS)
            k = MAX_RUNGS;
        for (int i = 0; i < k; i++) {
            struct rung *r = &c->rungs[k - 1 - i];
            r->milestone = (int64_t)((double)grace * pow(c->rf, i));
            r->vals = malloc((c->ntrials ? c->ntrials : 1) * sizeof *r->vals);
            r->seen = calloc(c->ntrials ? c->ntrials : 1, 1);
            if (r->vals == NULL || r->seen == NULL) {
                c->nrungs = k;
                goto fail;
            }
        }
        c->nrungs = k;
    }
    return c;
fail:
    ray_tune_controller_free(c);
    return NULL;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* numpy.percentile(V[0..n), Q) with linear interpolation; V is reordered. */
static double percentile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* ASHA's verdict on trial I reporting S (higher is better) at IT: true = stop. */
static bool asha_stop(struct controller *c, size_t i, int64_t it, double s)
{
    for (int k = 0; k < c->nrungs; k++) {
        struct rung *r = &c->rungs[k];
        if (it < r->milestone || r->seen[i])
            continue;
        bool stop = false;
        if (r->n > 0) {
            double *tmp = malloc(r->n * sizeof *tmp);
            if (tmp) {
                memcpy(tmp, r->vals, r->n * sizeof *tmp);
                stop = s < percentile(tmp, r->n, (1 - 1 / c->rf) * 100);
                free(tmp);
            }
        }
        r->vals[r->n++] = s;
        r->seen[i] = 1;
        return stop;
    }
    return false;
}

static int ray_tune_controller_report(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct controller *c = self;
    if (n != 3 || a[0].type != RAY_INT || a[1].type != RAY_INT || a[2].type != RAY_FLOAT ||
        a[0].as.i < 0 || (size_t)a[0].as.i >= c->ntrials)
        return ray_fail(t, "report wants (trial, iteration, value)");
    size_t i = (size_t)a[0].as.i;
    int64_t it = a[1].as.i;
    double v = a[2].as.f;
    struct ray_tune_rec_ *r = &c->rec[i];
    r->iterations = it;
    r->last = v;
    if (!r->reported || (c->mode == RAY_TUNE_MAX ? v > r->best : v < r->best))
        r->best = v;
    r->reported = 1;
    bool stop = false;
    if (c->scheduler == RAY_TUNE_ASHA && !isnan(v))
        stop = asha_stop(c, i, it, c->mode == RAY_TUNE_MAX ? v : -v);
    if (stop && !(c->max_t > 0 && it >= c->max_t))
        r->stopped_early = 1;
    if (c->max_t > 0 && it >= c->max_t)
        stop = true;
    return ray_return(t, RAY_B(!stop));
}

static int ray_tune_controller_results(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct controller *c = self;
    return ray_return(t, RAY_BYTES_V(c->rec, c->ntrials * sizeof *c->rec));
}

RAY_ACTOR(ray_tune_controller);
RAY_METHOD(ray_tune_controller, report);
RAY_METHOD(ray_tune_controller, results);

/* ---- the trial actor ---------------------------------------------------------------------- */

struct trial_ctx {
    int64_t trial;
    ray_actor controller;
    const char *metric;
    const char *names; /* "a\nb\n..." */
    const ray_value *config;
    size_t nconfig;
};

struct trial_actor {
    int unused;
};

static void *ray_tune_trial_actor_new(ray_task *t, const ray_value *a, size_t n)
{
    return calloc(1, sizeof(struct trial_actor));
}

static void ray_tune_trial_actor_free(void *self)
{
    free(self);
}

static int ray_tune_trial_actor_run(void *self, ray_task *t, const ray_value *a, size_t n)
{
    if (n < RAY_TUNE_RUN_FIXED_ || a[0].type != RAY_STR || a[1].type != RAY_INT ||
        a[2].type != RAY_ACTOR || a[3].type != RAY_STR || a[4].type != RAY_STR)
        return ray_fail(t, "ray_tune_trial_actor.run: bad arguments");
    ray_fn f = ray_function_lookup(a[0].as.buf.ptr);
    if (f == NULL)
        return ray_fail(t, "no remote function '%s' in this job's library (RAY_REMOTE)",
                        (const char *)a[0].as.buf.ptr);
    struct trial_ctx ctx = { .trial = a[1].as.i, .controller = a[2].as.actor,
                             .metric = a[3].as.buf.ptr, .names = a[4].as.buf.ptr,
                             .config = a + RAY_TUNE_RUN_FIXED_,
                             .nconfig = n - RAY_TUNE_RUN_FIXED_ };
    ray_task *lt = ray_task_local_new(a[0].as.buf.ptr, &ctx);
    if (lt == NULL)
        return ray_fail(t, "out of memory");
    int rc = ray_task_local_run(lt, f, ctx.config, ctx.nconfig, NULL);
    ray_task_local_free(lt);
    if (rc != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    return 0;
}

RAY_ACTOR(ray_tune_trial_actor);
RAY_METHOD(ray_tune_trial_actor, run);

/* ---- inside a trainable ---------------------------------------------------------------------- */

int ray_tune_report(ray_task *t, const char *metric, double value, int64_t iteration)
{
    struct trial_ctx *ctx = ray_task_local_data(t);
    if (ctx == NULL || metric == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_report: not called from a tune trial's trainable");
    if (strcmp(metric, ctx->metric) != 0)
        return RAY_OK;
    ray_value args[3] = { RAY_I(ctx->trial), RAY_I(iteration), RAY_F(value) };
    ray_ref ref;
    int rc = ray_actor_call(ctx->controller, "report", args, 3, NULL, &ref);
    if (rc != RAY_OK)
        return ray_error_set(rc, "ray_tune_report: %s", ray_last_error());
    ray_value v;
    rc = ray_get(ref, -1, &v);
    ray_free(&ref, 1);
    if (rc != RAY_OK)
        return ray_error_set(rc, "ray_tune_report: %s", ray_last_error());
    return v.type == RAY_BOOL && v.as.b ? RAY_OK : RAY_TUNE_STOP;
}

int ray_tune_get(ray_task *t, const char *name, ray_value *out)
{
    struct trial_ctx *ctx = ray_task_local_data(t);
    if (ctx == NULL || name == NULL || out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_get: not called from a tune trial's trainable");
    size_t len = strlen(name), k = 0;
    for (const char *p = ctx->names; *p && k < ctx->nconfig; k++) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && memcmp(p, name, len) == 0) {
            *out = ctx->config[k];
            return RAY_OK;
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    return ray_error_set(RAY_ENOTFOUND, "ray_tune_get: no parameter '%s' in the space", name);
}
