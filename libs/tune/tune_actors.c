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
 * PBT is Ray's PopulationBasedTraining: a trial due for a perturbation
 * (perturbation_interval iterations since its last) reports with a
 * checkpoint; if its last score is in the bottom quantile_fraction of the
 * trials that have checkpoints, it clones a random top-quantile trial's
 * checkpoint and config, each parameter then resampled (resample_probability)
 * or scaled by 1.2 / 0.8 (lists: moved to a neighbouring value).
 *
 * A trial actor runs the trainable once (again after each clone), in its own thread, through a local
 * context whose data is the trial (struct trial_ctx): that is how
 * ray_tune_report finds its trial and controller, with no global.
 */
#include "ray_tune.h"

#include "libs/pool/pool_internal.h"
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

struct pbt_trial {
    uint8_t *cfg; /* its current config blob (NULL: the driver's) */
    size_t cfglen;
    uint8_t ckpt[RAY_ID_SIZE];
    bool has_ckpt;
    int64_t last_perturb;
};

struct controller {
    size_t ntrials;
    int64_t interval;
    double quantile, resample;
    uint64_t rng;
    uint8_t *space_blob;
    struct ray_tune_sparam_ *space;
    size_t nparams;
    struct pbt_trial *pbt;
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
    if (c->pbt)
        for (size_t i = 0; i < c->ntrials; i++)
            free(c->pbt[i].cfg);
    free(c->pbt);
    ray_tune_space_free_(c->space, c->nparams);
    free(c->space_blob);
    free(c);
}

static void *ray_tune_controller_new(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 11 || a[0].type != RAY_INT || a[0].as.i < 0 || a[10].type != RAY_BYTES)
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
    c->interval = a[6].as.i;
    c->quantile = a[7].as.f;
    c->resample = a[8].as.f;
    c->rng = (uint64_t)a[9].as.i ^ 0xA0761D6478BD642FULL;
    if (c->rng == 0)
        c->rng = 1;
    if (c->scheduler == RAY_TUNE_PBT) {
        c->space_blob = malloc(a[10].as.buf.len ? a[10].as.buf.len : 1);
        c->pbt = calloc(c->ntrials ? c->ntrials : 1, sizeof *c->pbt);
        if (c->space_blob == NULL || c->pbt == NULL)
            goto fail;
        memcpy(c->space_blob, a[10].as.buf.ptr, a[10].as.buf.len);
        if (ray_tune_space_get_(c->space_blob, a[10].as.buf.len, &c->space, &c->nparams) < 0)
            goto fail;
    }
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

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static bool value_eq(const ray_value *x, const ray_value *y)
{
    if (x->type != y->type)
        return false;
    switch (x->type) {
    case RAY_NIL: return true;
    case RAY_BOOL: return x->as.b == y->as.b;
    case RAY_INT: return x->as.i == y->as.i;
    case RAY_FLOAT: return x->as.f == y->as.f;
    case RAY_STR: return strcmp(x->as.buf.ptr, y->as.buf.ptr) == 0;
    default: return false;
    }
}

/* Ray's explore: parameter K of a cloned config, resampled or perturbed. */
static ray_value explore(struct controller *c, size_t k, ray_value v)
{
    const struct ray_tune_sparam_ *p = &c->space[k];
    bool resample = rng_unit(&c->rng) < c->resample;
    double factor = rng_unit(&c->rng) < 0.5 ? 1.2 : 0.8;
    switch (p->kind) {
    case RAY_TUNE_GRID:
    case RAY_TUNE_CHOICE: {
        size_t idx = 0;
        if (resample)
            return p->values[(size_t)(rng_unit(&c->rng) * (double)p->nvalues) % p->nvalues];
        for (size_t j = 0; j < p->nvalues; j++)
            if (value_eq(&p->values[j], &v))
                idx = j;
        if (rng_unit(&c->rng) < 0.5)
            idx = idx > 0 ? idx - 1 : 0;
        else
            idx = idx + 1 < p->nvalues ? idx + 1 : idx;
        return p->values[idx];
    }
    case RAY_TUNE_UNIFORM:
        return RAY_F(resample ? p->lo + (p->hi - p->lo) * rng_unit(&c->rng) : v.as.f * factor);
    case RAY_TUNE_LOGUNIFORM:
        return RAY_F(resample ? exp(log(p->lo) + (log(p->hi) - log(p->lo)) * rng_unit(&c->rng))
                              : v.as.f * factor);
    case RAY_TUNE_RANDINT:
        if (resample)
            return RAY_I((int64_t)floor(p->lo + (p->hi - p->lo) * rng_unit(&c->rng)));
        return RAY_I((int64_t)((double)v.as.i * factor));
    }
    return v;
}

static int cmp_score(const void *x, const void *y, void *arg)
{
    const struct controller *c = arg;
    double a = c->rec[*(const size_t *)x].last, b = c->rec[*(const size_t *)y].last;
    if (c->mode == RAY_TUNE_MIN) {
        a = -a;
        b = -b;
    }
    return a < b ? -1 : a > b;
}

/* PBT for trial I at IT: NULL (go on) or the clone answer built in *ANS. */
static bool pbt_exploit(struct controller *c, size_t i, int64_t it, struct ray_pool_buf_ *ans)
{
    struct pbt_trial *pt = &c->pbt[i];
    if (it - pt->last_perturb < c->interval)
        return false;
    pt->last_perturb = it;
    size_t *pop = malloc(c->ntrials * sizeof *pop), np = 0;
    if (pop == NULL)
        return false;
    for (size_t j = 0; j < c->ntrials; j++)
        if (c->pbt[j].has_ckpt && c->pbt[j].cfg && c->rec[j].reported && !isnan(c->rec[j].last))
            pop[np++] = j;
    bool done = false;
    if (np > 1) {
        qsort_r(pop, np, sizeof *pop, cmp_score, c); /* worst first */
        size_t q = (size_t)ceil((double)np * c->quantile);
        if (q > np / 2)
            q = np / 2;
        bool lower = false;
        for (size_t j = 0; j < q; j++)
            lower |= pop[j] == i;
        if (q > 0 && lower) {
            size_t donor = pop[np - 1 - (size_t)(rng_unit(&c->rng) * (double)q) % q];
            struct pbt_trial *d = &c->pbt[donor];
            ray_value vals[64];
            if (ray_tune_config_get_(d->cfg, d->cfglen, vals, c->nparams) == 0) {
                ray_pool_buf_put_(ans, d->ckpt, RAY_ID_SIZE);
                for (size_t k = 0; k < c->nparams; k++) {
                    ray_value nv = explore(c, k, vals[k]);
                    ray_pool_value_put_(ans, &nv);
                }
                if (!ans->oom) {
                    uint8_t *cfg = malloc(ans->len - RAY_ID_SIZE);
                    if (cfg) {
                        memcpy(cfg, ans->data + RAY_ID_SIZE, ans->len - RAY_ID_SIZE);
                        free(pt->cfg);
                        pt->cfg = cfg;
                        pt->cfglen = ans->len - RAY_ID_SIZE;
                        memcpy(pt->ckpt, d->ckpt, RAY_ID_SIZE);
                        c->rec[i].exploits++;
                        done = true;
                    }
                }
            }
        }
    }
    free(pop);
    return done;
}

static int ray_tune_controller_report(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct controller *c = self;
    bool with_ckpt = n == 5 && a[3].type == RAY_BYTES && a[3].as.buf.len == RAY_ID_SIZE &&
                     a[4].type == RAY_BYTES;
    if ((n != 3 && !with_ckpt) || a[0].type != RAY_INT || a[1].type != RAY_INT || a[2].type != RAY_FLOAT ||
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
    if (with_ckpt && c->pbt && !stop) {
        struct pbt_trial *pt = &c->pbt[i];
        uint8_t *cfg = malloc(a[4].as.buf.len ? a[4].as.buf.len : 1);
        if (cfg) {
            memcpy(cfg, a[4].as.buf.ptr, a[4].as.buf.len);
            free(pt->cfg);
            pt->cfg = cfg;
            pt->cfglen = a[4].as.buf.len;
            memcpy(pt->ckpt, a[3].as.buf.ptr, RAY_ID_SIZE);
            pt->has_ckpt = true;
        }
        struct ray_pool_buf_ ans = { 0 };
        if (pbt_exploit(c, i, it, &ans)) {
            int rc = ray_return(t, RAY_BYTES_V(ans.data, ans.len));
            ray_pool_buf_free_(&ans);
            return rc;
        }
        ray_pool_buf_free_(&ans);
    }
    return ray_return(t, RAY_B(!stop));
}

static int ray_tune_controller_results(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct controller *c = self;
    struct ray_pool_buf_ b = { 0 };
    ray_pool_buf_put_(&b, c->rec, c->ntrials * sizeof *c->rec);
    for (size_t i = 0; i < c->ntrials; i++) {
        uint32_t len = c->pbt && c->pbt[i].cfg ? (uint32_t)c->pbt[i].cfglen : 0;
        ray_pool_buf_put_(&b, &len, 4);
        if (len)
            ray_pool_buf_put_(&b, c->pbt[i].cfg, len);
    }
    if (b.oom) {
        ray_pool_buf_free_(&b);
        return ray_fail(t, "out of memory");
    }
    int rc = ray_return(t, RAY_BYTES_V(b.data, b.len));
    ray_pool_buf_free_(&b);
    return rc;
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
    int64_t interval;     /* PBT's perturbation_interval; 0: not PBT */
    int64_t last_perturb; /* the iteration of the last checkpoint sent */
    bool has_ckpt;        /* this run starts from CKPT */
    ray_ref ckpt;
    bool restart;         /* the controller made it clone: ... */
    ray_ref next_ckpt;    /* ... this checkpoint ... */
    uint8_t *next_cfg;    /* ... and this config blob */
    size_t next_cfglen;
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
        a[2].type != RAY_ACTOR || a[3].type != RAY_STR || a[4].type != RAY_STR ||
        a[5].type != RAY_INT || n - RAY_TUNE_RUN_FIXED_ > 64)
        return ray_fail(t, "ray_tune_trial_actor.run: bad arguments");
    ray_fn f = ray_function_lookup(a[0].as.buf.ptr);
    if (f == NULL)
        return ray_fail(t, "no remote function '%s' in this job's library (RAY_REMOTE)",
                        (const char *)a[0].as.buf.ptr);
    struct trial_ctx ctx = { .trial = a[1].as.i, .controller = a[2].as.actor,
                             .metric = a[3].as.buf.ptr, .names = a[4].as.buf.ptr,
                             .config = a + RAY_TUNE_RUN_FIXED_,
                             .nconfig = n - RAY_TUNE_RUN_FIXED_ };
    ctx.interval = a[5].as.i;
    ray_task *lt = ray_task_local_new(a[0].as.buf.ptr, &ctx);
    if (lt == NULL)
        return ray_fail(t, "out of memory");
    ray_value cur[64];
    uint8_t *cur_blob = NULL;
    int rc;
    for (;;) {
        rc = ray_task_local_run(lt, f, ctx.config, ctx.nconfig, NULL);
        if (rc != RAY_OK || !ctx.restart)
            break;
        /* PBT cloned a better trial: run again from its checkpoint, new config */
        ctx.restart = false;
        if (ray_tune_config_get_(ctx.next_cfg, ctx.next_cfglen, cur, ctx.nconfig) < 0) {
            rc = ray_error_set(RAY_ETASK, "a clone's config is malformed");
            break;
        }
        free(cur_blob);
        cur_blob = ctx.next_cfg;
        ctx.next_cfg = NULL;
        ctx.config = cur;
        ctx.ckpt = ctx.next_ckpt;
        ctx.has_ckpt = true;
    }
    ray_task_local_free(lt);
    free(cur_blob);
    free(ctx.next_cfg);
    if (rc != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    return 0;
}

RAY_ACTOR(ray_tune_trial_actor);
RAY_METHOD(ray_tune_trial_actor, run);

/* ---- inside a trainable ---------------------------------------------------------------------- */

static int report(ray_task *t, const char *metric, double value, int64_t iteration,
                  const ray_value *checkpoint)
{
    struct trial_ctx *ctx = ray_task_local_data(t);
    if (ctx == NULL || metric == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_report: not called from a tune trial's trainable");
    if (strcmp(metric, ctx->metric) != 0)
        return RAY_OK;
    ray_value args[5] = { RAY_I(ctx->trial), RAY_I(iteration), RAY_F(value) };
    size_t nargs = 3;
    struct ray_pool_buf_ cfg = { 0 };
    ray_ref ck; /* args[3] points at it until the call is sent */
    int rc;
    if (checkpoint && ctx->interval > 0 && iteration - ctx->last_perturb >= ctx->interval) {
        if ((rc = ray_put(*checkpoint, &ck)) != RAY_OK)
            return ray_error_set(rc, "ray_tune_report_checkpoint: %s", ray_last_error());
        for (size_t k = 0; k < ctx->nconfig; k++)
            ray_pool_value_put_(&cfg, &ctx->config[k]);
        if (cfg.oom) {
            ray_pool_buf_free_(&cfg);
            return ray_error_set(RAY_ENOMEM, "ray_tune_report_checkpoint: out of memory");
        }
        ctx->last_perturb = iteration;
        args[3] = RAY_BYTES_V(ck.id, RAY_ID_SIZE);
        args[4] = RAY_BYTES_V(cfg.data, cfg.len);
        nargs = 5;
    }
    ray_ref ref;
    rc = ray_actor_call(ctx->controller, "report", args, nargs, NULL, &ref);
    ray_pool_buf_free_(&cfg);
    if (rc != RAY_OK)
        return ray_error_set(rc, "ray_tune_report: %s", ray_last_error());
    ray_value v;
    rc = ray_get(ref, -1, &v);
    ray_free(&ref, 1);
    if (rc != RAY_OK)
        return ray_error_set(rc, "ray_tune_report: %s", ray_last_error());
    if (v.type == RAY_BYTES && v.as.buf.len > RAY_ID_SIZE) { /* clone */
        uint8_t *blob = malloc(v.as.buf.len - RAY_ID_SIZE);
        if (blob) {
            memcpy(ctx->next_ckpt.id, v.as.buf.ptr, RAY_ID_SIZE);
            memcpy(blob, (const uint8_t *)v.as.buf.ptr + RAY_ID_SIZE, v.as.buf.len - RAY_ID_SIZE);
            free(ctx->next_cfg);
            ctx->next_cfg = blob;
            ctx->next_cfglen = v.as.buf.len - RAY_ID_SIZE;
            ctx->restart = true;
            ctx->last_perturb = iteration;
        }
        ray_value_release(&v);
        return blob ? RAY_TUNE_STOP : ray_error_set(RAY_ENOMEM, "ray_tune_report: out of memory");
    }
    bool go = v.type == RAY_BOOL && v.as.b;
    ray_value_release(&v);
    return go ? RAY_OK : RAY_TUNE_STOP;
}

int ray_tune_report(ray_task *t, const char *metric, double value, int64_t iteration)
{
    return report(t, metric, value, iteration, NULL);
}

int ray_tune_report_checkpoint(ray_task *t, const char *metric, double value, int64_t iteration,
                               ray_value checkpoint)
{
    return report(t, metric, value, iteration, &checkpoint);
}

int ray_tune_checkpoint(ray_task *t, ray_value *out)
{
    struct trial_ctx *ctx = ray_task_local_data(t);
    if (ctx == NULL || out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_checkpoint: not called from a tune trial's trainable");
    if (!ctx->has_ckpt)
        return ray_error_set(RAY_ENOTFOUND, "ray_tune_checkpoint: this trial starts afresh");
    return ray_get(ctx->ckpt, -1, out);
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
