/*
 * tune.c — the driver side of ray_tune (include/ray_tune.h): configs from the
 * search space, trials as actors under a concurrency limit, the controller
 * actor that schedules them, and the results table.
 *
 * DESIGN
 * Configs are made before anything starts: the grid parameters' cartesian
 * product (the last grid parameter varies fastest) times num_samples, each
 * with its random parameters drawn from a xorshift64* generator seeded by
 * opts.seed, so a seed gives the same trials every time. One controller
 * actor (tune_actors.c) holds the scheduler; each trial is a fresh actor of
 * class ray_tune_trial_actor whose one call runs the trainable to its end.
 * The driver keeps up to max_concurrent_trials trials started, waits for any
 * trial's call (ray_wait), records how it ended (its call's status: a
 * trainable's failure or its actor's death is that trial's ERROR), kills its
 * actor and starts the next. At the end the controller's records (iterations,
 * last and best metric, stopped early) fill the table.
 */
#include "ray_tune.h"

#include "libs/pool/pool_internal.h"
#include "libs/tune/tune_internal.h"

#include <errno.h>
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- random numbers ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* ---- results ------------------------------------------------------------------------- */

static void value_free(ray_value *v)
{
    if (v->type == RAY_STR)
        free((void *)v->as.buf.ptr);
}

/* A copy of V that owns its STR. */
static int value_copy(const ray_value *v, ray_value *out)
{
    *out = *v;
    out->pin_ = NULL;
    if (v->type == RAY_STR) {
        char *s = strdup(v->as.buf.ptr ? (const char *)v->as.buf.ptr : "");
        if (s == NULL)
            return RAY_ENOMEM;
        out->as.buf.ptr = s;
    }
    return RAY_OK;
}

void ray_tune_results_free(ray_tune_results *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ntrials && r->trials; i++) {
        if (r->trials[i].config)
            for (size_t k = 0; k < r->nparams; k++)
                value_free(&r->trials[i].config[k]);
        free(r->trials[i].config);
    }
    free(r->trials);
    for (size_t k = 0; k < r->nparams && r->names; k++)
        free(r->names[k]);
    free(r->names);
    free(r->metric);
    free(r->dir);
    memset(r, 0, sizeof *r);
}

static void value_print(FILE *f, const ray_value *v, bool json)
{
    switch (v->type) {
    case RAY_NIL: fputs(json ? "null" : "nil", f); break;
    case RAY_BOOL: fputs(v->as.b ? "true" : "false", f); break;
    case RAY_INT: fprintf(f, "%lld", (long long)v->as.i); break;
    case RAY_FLOAT: fprintf(f, "%.6g", v->as.f); break;
    case RAY_STR:
        if (json) {
            fputc('"', f);
            for (const char *s = v->as.buf.ptr; *s; s++) {
                if (*s == '"' || *s == '\\')
                    fprintf(f, "\\%c", *s);
                else if ((unsigned char)*s < 0x20)
                    fprintf(f, "\\u%04x", *s);
                else
                    fputc(*s, f);
            }
            fputc('"', f);
        } else {
            fputs(v->as.buf.ptr, f);
        }
        break;
    default: fputs(json ? "null" : "?", f); break;
    }
}

static void num_print(FILE *f, double x, bool json)
{
    if (isnan(x))
        fputs(json ? "null" : "", f);
    else
        fprintf(f, "%.6g", x);
}

static const char *status_word(const ray_tune_trial *t)
{
    return t->status == RAY_TUNE_ERROR ? "ERROR" : t->stopped_early ? "STOPPED" : "TERMINATED";
}

void ray_tune_results_print(const ray_tune_results *r, FILE *f)
{
    if (r == NULL || f == NULL)
        return;
    fprintf(f, "%-6s", "trial");
    for (size_t k = 0; k < r->nparams; k++)
        fprintf(f, " %-12s", r->names[k]);
    fprintf(f, " %-10s %5s %12s %12s\n", "status", "iter", "last", "best");
    for (size_t i = 0; i < r->ntrials; i++) {
        const ray_tune_trial *t = &r->trials[i];
        fprintf(f, "%-6zu", i);
        for (size_t k = 0; k < r->nparams; k++) {
            char buf[64];
            FILE *m = fmemopen(buf, sizeof buf, "w");
            if (m) {
                value_print(m, &t->config[k], false);
                fclose(m);
                buf[sizeof buf - 1] = '\0';
            } else {
                snprintf(buf, sizeof buf, "?");
            }
            fprintf(f, " %-12s", buf);
        }
        fprintf(f, " %-10s %5lld %12.6g %12.6g", status_word(t), (long long)t->iterations, t->last,
                t->best);
        if (t->status == RAY_TUNE_ERROR)
            fprintf(f, "  %s", t->error);
        fputc('\n', f);
    }
    if (r->best < r->ntrials) {
        const ray_tune_trial *b = &r->trials[r->best];
        fprintf(f, "best trial: %zu, %s %.6g, config:", r->best, r->metric, b->last);
        for (size_t k = 0; k < r->nparams; k++) {
            fprintf(f, " %s=", r->names[k]);
            value_print(f, &b->config[k], false);
        }
        fputc('\n', f);
    } else {
        fprintf(f, "best trial: none (no trial reported %s)\n", r->metric ? r->metric : "?");
    }
    if (r->dir)
        fprintf(f, "results: %s/results.csv, results.json\n", r->dir);
}

int ray_tune_results_write_csv(const ray_tune_results *r, const char *path)
{
    if (r == NULL || path == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_results_write_csv: NULL argument");
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return ray_error_set(RAY_EINVAL, "%s: %s", path, strerror(errno));
    fprintf(f, "trial");
    for (size_t k = 0; k < r->nparams; k++)
        fprintf(f, ",%s", r->names[k]);
    fprintf(f, ",status,iterations,last,best,error\n");
    for (size_t i = 0; i < r->ntrials; i++) {
        const ray_tune_trial *t = &r->trials[i];
        fprintf(f, "%zu", i);
        for (size_t k = 0; k < r->nparams; k++) {
            fputc(',', f);
            value_print(f, &t->config[k], t->config[k].type == RAY_STR);
        }
        fprintf(f, ",%s,%lld,", status_word(t), (long long)t->iterations);
        num_print(f, t->last, false);
        fputc(',', f);
        num_print(f, t->best, false);
        fputc(',', f);
        ray_value e = RAY_S(t->error);
        value_print(f, &e, true);
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return ray_error_set(RAY_EINVAL, "%s: %s", path, strerror(errno));
    return RAY_OK;
}

int ray_tune_results_write_json(const ray_tune_results *r, const char *path)
{
    if (r == NULL || path == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_results_write_json: NULL argument");
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return ray_error_set(RAY_EINVAL, "%s: %s", path, strerror(errno));
    ray_value m = RAY_S(r->metric ? r->metric : "");
    fprintf(f, "{\"metric\": ");
    value_print(f, &m, true);
    fprintf(f, ", \"mode\": \"%s\", \"best_trial\": ", r->mode == RAY_TUNE_MAX ? "max" : "min");
    if (r->best < r->ntrials)
        fprintf(f, "%zu", r->best);
    else
        fputs("null", f);
    fprintf(f, ", \"trials\": [");
    for (size_t i = 0; i < r->ntrials; i++) {
        const ray_tune_trial *t = &r->trials[i];
        fprintf(f, "%s\n  {\"trial\": %zu, \"config\": {", i ? "," : "", i);
        for (size_t k = 0; k < r->nparams; k++) {
            ray_value n = RAY_S(r->names[k]);
            fputs(k ? ", " : "", f);
            value_print(f, &n, true);
            fputs(": ", f);
            value_print(f, &t->config[k], true);
        }
        fprintf(f, "}, \"status\": \"%s\", \"iterations\": %lld, \"last\": ", status_word(t),
                (long long)t->iterations);
        num_print(f, t->last, true);
        fputs(", \"best\": ", f);
        num_print(f, t->best, true);
        ray_value e = RAY_S(t->error);
        fputs(", \"error\": ", f);
        value_print(f, &e, true);
        fputc('}', f);
    }
    fprintf(f, "\n]}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return ray_error_set(RAY_EINVAL, "%s: %s", path, strerror(errno));
    return RAY_OK;
}

/* ---- the search -------------------------------------------------------------------------- */

static int check_space(const ray_tune_param *sp, size_t n, size_t *ngrid)
{
    *ngrid = 1;
    for (size_t k = 0; k < n; k++) {
        const ray_tune_param *p = &sp[k];
        if (p->name == NULL || p->name[0] == '\0' || strchr(p->name, '\n'))
            return ray_error_set(RAY_EINVAL, "ray_tune_run: parameter %zu has no name", k);
        for (size_t j = 0; j < k; j++)
            if (strcmp(sp[j].name, p->name) == 0)
                return ray_error_set(RAY_EINVAL, "ray_tune_run: parameter '%s' twice", p->name);
        switch (p->kind) {
        case RAY_TUNE_GRID:
        case RAY_TUNE_CHOICE:
            if (p->nvalues == 0 || p->values == NULL)
                return ray_error_set(RAY_EINVAL, "ray_tune_run: parameter '%s' has no values",
                                     p->name);
            for (size_t j = 0; j < p->nvalues; j++)
                if (p->values[j].type > RAY_STR)
                    return ray_error_set(RAY_EINVAL,
                                         "ray_tune_run: parameter '%s': value %zu is not NIL, "
                                         "BOOL, INT, FLOAT or STR", p->name, j);
            if (p->kind == RAY_TUNE_GRID) {
                if (*ngrid > SIZE_MAX / p->nvalues)
                    return ray_error_set(RAY_EINVAL, "ray_tune_run: the grid is too big");
                *ngrid *= p->nvalues;
            }
            break;
        case RAY_TUNE_UNIFORM:
        case RAY_TUNE_RANDINT:
            if (!(isfinite(p->lo) && isfinite(p->hi) && p->lo < p->hi))
                return ray_error_set(RAY_EINVAL, "ray_tune_run: parameter '%s' wants lo < hi",
                                     p->name);
            break;
        case RAY_TUNE_LOGUNIFORM:
            if (!(isfinite(p->lo) && isfinite(p->hi) && p->lo > 0 && p->lo < p->hi))
                return ray_error_set(RAY_EINVAL,
                                     "ray_tune_run: parameter '%s' wants 0 < lo < hi", p->name);
            break;
        default:
            return ray_error_set(RAY_EINVAL, "ray_tune_run: parameter '%s' has an unknown kind",
                                 p->name);
        }
    }
    return RAY_OK;
}

/* Trial I's config into CFG (NPARAMS values, STR owned). */
static int make_config(const ray_tune_param *sp, size_t n, size_t ngrid, size_t i, uint64_t *rng,
                       ray_value *cfg)
{
    size_t g = i % ngrid; /* the grid point; the last grid parameter varies fastest */
    size_t div = ngrid;
    for (size_t k = 0; k < n; k++) {
        const ray_tune_param *p = &sp[k];
        ray_value v = RAY_NIL_V;
        switch (p->kind) {
        case RAY_TUNE_GRID:
            div /= p->nvalues;
            v = p->values[(g / div) % p->nvalues];
            break;
        case RAY_TUNE_CHOICE:
            v = p->values[(size_t)(rng_unit(rng) * (double)p->nvalues) % p->nvalues];
            break;
        case RAY_TUNE_UNIFORM:
            v = RAY_F(p->lo + (p->hi - p->lo) * rng_unit(rng));
            break;
        case RAY_TUNE_LOGUNIFORM:
            v = RAY_F(exp(log(p->lo) + (log(p->hi) - log(p->lo)) * rng_unit(rng)));
            break;
        case RAY_TUNE_RANDINT: {
            double x = floor(p->lo + (p->hi - p->lo) * rng_unit(rng));
            v = RAY_I((int64_t)(x < p->hi ? x : p->hi - 1));
            break;
        }
        }
        if (value_copy(&v, &cfg[k]) != RAY_OK)
            return RAY_ENOMEM;
    }
    return RAY_OK;
}

/* mkdir PATH unless it is there. */
static int ensure_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return RAY_OK;
    return ray_error_set(RAY_EINVAL, "ray_tune_run: making %s: %s", path, strerror(errno));
}

/* Write R's files where O says (see ray_tune_opts.storage_path). */
static int write_results(ray_tune_results *r, const char *trainable, const ray_tune_opts *o)
{
    char name[256], dir[4096], path[4200];
    const char *base = o->storage_path;
    int rc;
    if (o->name && o->name[0]) {
        snprintf(name, sizeof name, "%s", o->name);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(name, sizeof name, "%.200s_%04d-%02d-%02d_%02d-%02d-%02d", trainable,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    if (strchr(name, '/'))
        return ray_error_set(RAY_EINVAL, "ray_tune_run: the run's name '%s' has a '/'", name);
    if (base == NULL) {
        const char *sd = getenv("RAY_SESSION_DIR");
        if (sd == NULL || sd[0] == '\0')
            return RAY_OK; /* a standalone driver: nowhere to put them unasked */
        snprintf(dir, sizeof dir, "%s/tune", sd);
        if ((rc = ensure_dir(dir)) != RAY_OK)
            return rc;
        snprintf(dir, sizeof dir, "%s/tune/%s", sd, name);
    } else {
        snprintf(dir, sizeof dir, "%s/%s", base, name);
    }
    if ((rc = ensure_dir(dir)) != RAY_OK)
        return rc;
    snprintf(path, sizeof path, "%s/results.csv", dir);
    if ((rc = ray_tune_results_write_csv(r, path)) != RAY_OK)
        return rc;
    snprintf(path, sizeof path, "%s/results.json", dir);
    if ((rc = ray_tune_results_write_json(r, path)) != RAY_OK)
        return rc;
    free(r->dir);
    if ((r->dir = strdup(dir)) == NULL)
        return ray_error_set(RAY_ENOMEM, "ray_tune: out of memory");
    return RAY_OK;
}

struct live {
    size_t trial;
    ray_actor actor;
    ray_ref ref;
};

static int start_trial(const char *fn, const ray_tune_opts *o, ray_actor controller,
                       const char *names, ray_tune_results *res, size_t i, struct live *l)
{
    ray_opts ao = o->trial;
    ao.max_restarts = 0;
    ao.name = NULL;
    ao.detached = false;
    int rc = ray_actor_create(ray_tune_trial_class_, NULL, 0, &ao, &l->actor);
    if (rc != RAY_OK)
        return ray_error_set(rc, "starting trial %zu: %s", i, ray_last_error());
    ray_value args[RAY_TUNE_RUN_FIXED_ + 64];
    args[0] = RAY_S(fn);
    args[1] = RAY_I((int64_t)i);
    args[2] = RAY_A(controller);
    args[3] = RAY_S(o->metric);
    args[4] = RAY_S(names);
    args[5] = RAY_I(o->scheduler == RAY_TUNE_PBT ? o->perturbation_interval : 0);
    for (size_t k = 0; k < res->nparams; k++)
        args[RAY_TUNE_RUN_FIXED_ + k] = res->trials[i].config[k];
    rc = ray_actor_call(l->actor, "run", args, RAY_TUNE_RUN_FIXED_ + res->nparams, NULL, &l->ref);
    if (rc != RAY_OK) {
        ray_actor_kill(l->actor, true);
        return ray_error_set(rc, "starting trial %zu: %s", i, ray_last_error());
    }
    l->trial = i;
    return RAY_OK;
}

int ray_tune_run(const char *trainable, const ray_tune_param *space, size_t nparams,
                 const ray_tune_opts *opts, ray_tune_results *out)
{
    ray_tune_opts o = opts ? *opts : RAY_TUNE_OPTS;
    size_t ngrid;
    int rc;
    if (out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_run: OUT must not be NULL");
    memset(out, 0, sizeof *out);
    if (trainable == NULL || ray_function_lookup(trainable) == NULL)
        return ray_error_set(RAY_EINVAL, "ray_tune_run: no remote function '%s' in this job (RAY_REMOTE)",
                             trainable ? trainable : "(null)");
    if (o.metric == NULL || o.metric[0] == '\0')
        return ray_error_set(RAY_EINVAL, "ray_tune_run: opts.metric is required");
    if (nparams > 64 || (nparams > 0 && space == NULL))
        return ray_error_set(RAY_EINVAL, "ray_tune_run: at most 64 parameters, and a space for them");
    if (o.num_samples < 1)
        return ray_error_set(RAY_EINVAL, "ray_tune_run: num_samples must be >= 1");
    if (o.scheduler == RAY_TUNE_ASHA &&
        (o.max_t < 1 || o.grace_period < 1 || o.grace_period > o.max_t || !(o.reduction_factor > 1)))
        return ray_error_set(RAY_EINVAL, "ray_tune_run: ASHA wants max_t >= grace_period >= 1 and "
                             "reduction_factor > 1");
    if (o.scheduler == RAY_TUNE_PBT &&
        (nparams == 0 || o.perturbation_interval < 1 || !(o.quantile_fraction > 0 && o.quantile_fraction <= 0.5) ||
         !(o.resample_probability >= 0 && o.resample_probability <= 1)))
        return ray_error_set(RAY_EINVAL, "ray_tune_run: PBT wants parameters, perturbation_interval >= 1, "
                             "0 < quantile_fraction <= 0.5, 0 <= resample_probability <= 1");
    if (o.scheduler != RAY_TUNE_FIFO && o.scheduler != RAY_TUNE_ASHA && o.scheduler != RAY_TUNE_PBT)
        return ray_error_set(RAY_EINVAL, "ray_tune_run: unknown scheduler %d", (int)o.scheduler);
    if ((rc = check_space(space, nparams, &ngrid)) != RAY_OK)
        return rc;
    size_t ntrials = ngrid * (size_t)o.num_samples;
    uint64_t seed = o.seed ? o.seed : (uint64_t)time(NULL) ^ 0x9E3779B97F4A7C15ULL;
    uint64_t rng = seed ? seed : 1;

    char *names = NULL;
    struct live *live = NULL;
    ray_actor controller;
    bool have_controller = false;
    size_t nlive = 0, next = 0, ended = 0;

    out->nparams = nparams;
    out->mode = o.mode;
    out->metric = strdup(o.metric);
    out->names = calloc(nparams ? nparams : 1, sizeof *out->names);
    out->trials = calloc(ntrials ? ntrials : 1, sizeof *out->trials);
    size_t nameslen = 1;
    for (size_t k = 0; k < nparams; k++)
        nameslen += strlen(space[k].name) + 1;
    names = calloc(1, nameslen);
    if (!out->metric || !out->names || !out->trials || !names)
        goto oom;
    for (size_t k = 0; k < nparams; k++) {
        if ((out->names[k] = strdup(space[k].name)) == NULL)
            goto oom;
        strcat(names, space[k].name);
        if (k + 1 < nparams)
            strcat(names, "\n");
    }
    out->ntrials = ntrials;
    for (size_t i = 0; i < ntrials; i++) {
        ray_tune_trial *t = &out->trials[i];
        t->last = t->best = NAN;
        if ((t->config = calloc(nparams ? nparams : 1, sizeof *t->config)) == NULL ||
            make_config(space, nparams, ngrid, i, &rng, t->config) != RAY_OK)
            goto oom;
    }
    out->best = ntrials;

    struct ray_pool_buf_ sb = { 0 };
    if (ray_tune_space_put_(&sb, space, nparams) != RAY_OK) {
        ray_pool_buf_free_(&sb);
        goto oom;
    }
    ray_value cargs[11] = { RAY_I((int64_t)ntrials), RAY_I(o.scheduler), RAY_I(o.mode),
                            RAY_I(o.max_t > 0 ? o.max_t : 0), RAY_I(o.grace_period),
                            RAY_F(o.reduction_factor), RAY_I(o.perturbation_interval),
                            RAY_F(o.quantile_fraction), RAY_F(o.resample_probability),
                            RAY_I((int64_t)seed), RAY_BYTES_V(sb.data, sb.len) };
    ray_opts co = RAY_ACTOR_OPTS;
    rc = ray_actor_create(ray_tune_controller_class_, cargs, 11, &co, &controller);
    ray_pool_buf_free_(&sb);
    if (rc != RAY_OK) {
        rc = ray_error_set(rc, "ray_tune_run: starting the controller: %s", ray_last_error());
        goto done;
    }
    have_controller = true;

    size_t limit = o.max_concurrent_trials > 0 ? (size_t)o.max_concurrent_trials : ntrials;
    if (limit > ntrials)
        limit = ntrials;
    if (limit > 64)
        limit = 64; /* ray_wait below takes them at once */
    live = calloc(limit ? limit : 1, sizeof *live);
    if (live == NULL)
        goto oom;
    rc = RAY_OK;
    while (ended < ntrials) {
        while (nlive < limit && next < ntrials) {
            if ((rc = start_trial(trainable, &o, controller, names, out, next, &live[nlive])) != RAY_OK)
                goto done;
            nlive++;
            next++;
        }
        ray_ref refs[64];
        bool ready[64];
        for (size_t k = 0; k < nlive; k++)
            refs[k] = live[k].ref;
        int got = ray_wait(refs, nlive, 1, -1, ready);
        if (got < 0) {
            rc = ray_error_set(got, "ray_tune_run: waiting for trials: %s", ray_last_error());
            goto done;
        }
        for (size_t k = nlive; k-- > 0;) {
            if (!ready[k])
                continue;
            ray_tune_trial *t = &out->trials[live[k].trial];
            ray_value v;
            int x = ray_get(live[k].ref, 0, &v);
            if (x == RAY_OK) {
                t->status = RAY_TUNE_TERMINATED;
                ray_value_release(&v);
            } else {
                t->status = RAY_TUNE_ERROR;
                snprintf(t->error, sizeof t->error, "%s: %s", ray_strerror(x), ray_last_error());
            }
            ray_free(&live[k].ref, 1);
            ray_actor_kill(live[k].actor, true);
            live[k] = live[--nlive];
            ended++;
        }
    }

done:
    for (size_t k = 0; k < nlive; k++)
        ray_actor_kill(live[k].actor, true);
    if (have_controller) {
        ray_ref ref;
        ray_value v;
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", ray_last_error());
        if (ray_actor_call(controller, "results", NULL, 0, NULL, &ref) == RAY_OK) {
            if (ray_get(ref, -1, &v) == RAY_OK) {
                size_t rl = ntrials * sizeof(struct ray_tune_rec_);
                if (v.type == RAY_BYTES && v.as.buf.len >= rl) {
                    const struct ray_tune_rec_ *rec = v.as.buf.ptr;
                    const uint8_t *p = (const uint8_t *)v.as.buf.ptr + rl,
                                  *end = (const uint8_t *)v.as.buf.ptr + v.as.buf.len;
                    for (size_t i = 0; i < ntrials; i++) {
                        ray_tune_trial *t = &out->trials[i];
                        t->iterations = rec[i].iterations;
                        t->last = rec[i].reported ? rec[i].last : NAN;
                        t->best = rec[i].reported ? rec[i].best : NAN;
                        t->stopped_early = rec[i].stopped_early != 0;
                        t->exploits = rec[i].exploits;
                        uint32_t len;
                        ray_value cv[64];
                        if (ray_pool_u32_get_(&p, end, &len) < 0 || (size_t)(end - p) < len)
                            break;
                        /* PBT: the config it ended with */
                        if (len > 0 && nparams > 0 &&
                            ray_tune_config_get_(p, len, cv, nparams) == 0) {
                            for (size_t k = 0; k < nparams; k++) {
                                ray_value nv;
                                if (value_copy(&cv[k], &nv) == RAY_OK) {
                                    value_free(&t->config[k]);
                                    t->config[k] = nv;
                                }
                            }
                        }
                        p += len;
                    }
                }
                ray_value_release(&v);
            }
            ray_free(&ref, 1);
        }
        ray_actor_kill(controller, true);
        ray_error_set(0, "%s", saved);
    }
    for (size_t i = 0; i < out->ntrials; i++) {
        const ray_tune_trial *t = &out->trials[i];
        if (isnan(t->last))
            continue;
        if (out->best == out->ntrials ||
            (o.mode == RAY_TUNE_MAX ? t->last > out->trials[out->best].last
                                    : t->last < out->trials[out->best].last))
            out->best = i;
    }
    if (rc == RAY_OK)
        rc = write_results(out, trainable, &o);
    free(live);
    free(names);
    return rc;
oom:
    rc = ray_error_set(RAY_ENOMEM, "ray_tune_run: out of memory for %zu trials", ntrials);
    if (!have_controller) {
        free(names);
        free(live);
        return rc;
    }
    goto done;
}
