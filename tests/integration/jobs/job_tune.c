/*
 * job_tune.c — what test_tune.sh submits: ray_tune searches on a synthetic
 * objective whose best is known, loss(x, kind, it) = (x - 3)^2 + [kind != "good"]
 * + 1/it, printing the results table and what a user checks.
 *
 *   ray submit job_tune.so -- grid DIR | random | asha | errors
 */
#include <ray.h>
#include <ray_tune.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* train(x FLOAT|INT, kind STR?): reports "loss" each iteration until stopped. */
static int train(ray_task *t, const ray_value *cfg, size_t n)
{
    (void)n;
    double x = cfg[0].type == RAY_INT ? (double)cfg[0].as.i : cfg[0].as.f;
    ray_value kind;
    double penalty = 0;
    if (ray_tune_get(t, "kind", &kind) == RAY_OK && strcmp(kind.as.buf.ptr, "good") != 0)
        penalty = 1;
    for (int64_t it = 1;; it++) {
        usleep(1000);
        ray_tune_report(t, "accuracy", 0.5, it); /* not the search's metric: ignored */
        int rc = ray_tune_report(t, "loss", (x - 3) * (x - 3) + penalty + 1.0 / (double)it, it);
        if (rc != RAY_OK)
            return rc == RAY_TUNE_STOP ? 0 : ray_fail(t, "report: %s", ray_last_error());
    }
}
RAY_REMOTE(train);

/* flaky(x INT): x == 5 crashes its process, x == 6 fails with a message. */
static int flaky(ray_task *t, const ray_value *cfg, size_t n)
{
    (void)n;
    if (cfg[0].as.i == 5)
        abort();
    if (cfg[0].as.i == 6)
        return ray_fail(t, "x = 6 diverged");
    for (int64_t it = 1;; it++)
        if (ray_tune_report(t, "loss", fabs((double)cfg[0].as.i - 3), it) != RAY_OK)
            return 0;
}
RAY_REMOTE(flaky);

/* grow(lr FLOAT): reports score 1 - (log10(lr) + 1)^2 (best at lr = 0.1)
 * each iteration; its state (iteration, running sum) is checkpointed so PBT
 * can clone it. With one seed the random search's configs are fixed, so its
 * best is fixed; PBT starts from the same configs and keeps its top trial,
 * so it can only tie or beat it, and its clones' perturbations beat it. */
struct grow_state {
    int64_t it;
    double s;
};
static int grow(ray_task *t, const ray_value *cfg, size_t n)
{
    (void)n;
    double lr = cfg[0].as.f, d = log10(lr) + 1;
    struct grow_state st = { 0, 0 };
    ray_value ck;
    if (ray_tune_checkpoint(t, &ck) == RAY_OK) {
        if (ck.type == RAY_BYTES && ck.as.buf.len == sizeof st)
            memcpy(&st, ck.as.buf.ptr, sizeof st);
        ray_value_release(&ck);
    }
    for (;;) {
        st.it++;
        st.s += 1 - d * d;
        usleep(2000);
        int rc = ray_tune_report_checkpoint(t, "score", 1 - d * d, st.it, RAY_BYTES_V(&st, sizeof st));
        if (rc != RAY_OK)
            return rc == RAY_TUNE_STOP ? 0 : ray_fail(t, "report: %s", ray_last_error());
    }
}
RAY_REMOTE(grow);

/* remote(x INT, driver STR): fails if it runs on the driver's node. */
static int remote(ray_task *t, const ray_value *cfg, size_t n)
{
    (void)n;
    if (strcmp(cfg[1].as.buf.ptr, ray_node_id()) == 0)
        return ray_fail(t, "trial ran on the driver's node");
    double x = (double)cfg[0].as.i;
    for (int64_t it = 1;; it++)
        if (ray_tune_report(t, "loss", (x - 3) * (x - 3) + 1.0 / (double)it, it) != RAY_OK)
            return 0;
}
RAY_REMOTE(remote);

int ray_main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "grid";
    ray_tune_opts o = RAY_TUNE_OPTS;
    ray_tune_results res;
    o.metric = "loss";
    o.max_concurrent_trials = 2;
    int rc;
    if (strcmp(mode, "grid") == 0) {
        ray_value xs[] = { RAY_I(1), RAY_I(2), RAY_I(3), RAY_I(4), RAY_I(5) };
        ray_value kinds[] = { RAY_S("bad"), RAY_S("good") };
        ray_tune_param space[] = { RAY_TUNE_GRID_SEARCH("x", xs, 5),
                                   RAY_TUNE_GRID_SEARCH("kind", kinds, 2) };
        o.max_t = 10;
        o.name = "grid";
        o.storage_path = argc > 2 ? argv[2] : NULL;
        rc = ray_tune_run("train", space, 2, &o, &res);
    } else if (strcmp(mode, "random") == 0) {
        ray_value kinds[] = { RAY_S("bad"), RAY_S("good") };
        ray_tune_param space[] = { RAY_TUNE_UNIFORM_P("x", 0, 6),
                                   RAY_TUNE_CHOICE_OF("kind", kinds, 2),
                                   RAY_TUNE_LOGUNIFORM("lr", 1e-4, 1e-1),
                                   RAY_TUNE_RANDINT_P("layers", 1, 5) };
        o.num_samples = 12;
        o.seed = 42;
        o.name = "random"; /* no storage_path: under the session dir */
        o.max_t = 5;
        rc = ray_tune_run("train", space, 4, &o, &res);
        /* the known best among the sampled configs: the good kind closest to x = 3 */
        size_t want = res.ntrials;
        bool ranges = true;
        for (size_t i = 0; i < res.ntrials; i++) {
            ray_value *c = res.trials[i].config;
            ranges &= c[0].as.f >= 0 && c[0].as.f < 6 && c[2].as.f >= 1e-4 && c[2].as.f < 1e-1 &&
                      c[3].type == RAY_INT && c[3].as.i >= 1 && c[3].as.i < 5;
            double li = (c[0].as.f - 3) * (c[0].as.f - 3) + (strcmp(c[1].as.buf.ptr, "good") != 0);
            if (want == res.ntrials)
                want = i;
            else {
                ray_value *w = res.trials[want].config;
                double lw = (w[0].as.f - 3) * (w[0].as.f - 3) + (strcmp(w[1].as.buf.ptr, "good") != 0);
                if (li < lw)
                    want = i;
            }
        }
        printf("random: samples in range: %s; best trial is the known best: %s\n",
               ranges ? "yes" : "no", want == res.best ? "yes" : "no");
    } else if (strcmp(mode, "asha") == 0) {
        ray_value xs[] = { RAY_I(0), RAY_I(1), RAY_I(2), RAY_I(3),
                           RAY_I(4), RAY_I(5), RAY_I(6), RAY_I(7) };
        ray_tune_param space[] = { RAY_TUNE_GRID_SEARCH("x", xs, 8) };
        o.scheduler = RAY_TUNE_ASHA;
        o.max_t = 32;
        o.grace_period = 2;
        o.reduction_factor = 2;
        rc = ray_tune_run("train", space, 1, &o, &res);
        int early = 0;
        int64_t total = 0;
        for (size_t i = 0; i < res.ntrials; i++) {
            early += res.trials[i].stopped_early && res.trials[i].iterations < o.max_t;
            total += res.trials[i].iterations;
        }
        printf("asha: %d of %zu trials stopped early; %lld iterations in all (FIFO: %lld)\n", early,
               res.ntrials, (long long)total, (long long)(o.max_t * (int64_t)res.ntrials));
        if (res.best < res.ntrials)
            printf("asha: best x=%lld ran %lld iterations\n",
                   (long long)res.trials[res.best].config[0].as.i,
                   (long long)res.trials[res.best].iterations);
    } else if (strcmp(mode, "pbt") == 0) {
        ray_tune_param space[] = { RAY_TUNE_LOGUNIFORM("lr", 1e-3, 1) };
        o.metric = "score";
        o.mode = RAY_TUNE_MAX;
        o.num_samples = 8;
        o.seed = 11;
        o.max_t = 40;
        o.max_concurrent_trials = 8;
        o.trial.num_cpus = 0;
        ray_tune_results rnd;
        rc = ray_tune_run("grow", space, 1, &o, &rnd);
        double rbest = rnd.best < rnd.ntrials ? rnd.trials[rnd.best].last : NAN;
        printf("random: rc %s, best score %.5f (lr %.4g)\n", ray_strerror(rc), rbest,
               rnd.best < rnd.ntrials ? rnd.trials[rnd.best].config[0].as.f : NAN);
        ray_tune_results_free(&rnd);
        o.scheduler = RAY_TUNE_PBT;
        o.perturbation_interval = 5;
        rc = ray_tune_run("grow", space, 1, &o, &res);
        double pbest = res.best < res.ntrials ? res.trials[res.best].last : NAN;
        int exploits = 0;
        for (size_t i = 0; i < res.ntrials; i++)
            exploits += res.trials[i].exploits;
        printf("pbt: best score %.5f (lr now %.4g), %d exploits; pbt beats random: %s\n", pbest,
               res.best < res.ntrials ? res.trials[res.best].config[0].as.f : NAN, exploits,
               pbest > rbest ? "yes" : "no");
    } else if (strcmp(mode, "remote") == 0) {
        ray_value xs[] = { RAY_I(1), RAY_I(2), RAY_I(3), RAY_I(4), RAY_I(5) };
        ray_value me[] = { RAY_S(ray_node_id()) };
        ray_tune_param space[] = { RAY_TUNE_GRID_SEARCH("x", xs, 5),
                                   RAY_TUNE_GRID_SEARCH("driver", me, 1) };
        o.max_t = 8;
        o.trial.num_cpus = 0;
        o.trial.resources = "tune_node=1"; /* only the second node has it */
        o.scheduler = RAY_TUNE_ASHA;
        o.grace_period = 1;
        o.reduction_factor = 2;
        rc = ray_tune_run("remote", space, 2, &o, &res);
        size_t errs = 0;
        for (size_t i = 0; i < res.ntrials; i++)
            errs += res.trials[i].status == RAY_TUNE_ERROR;
        printf("remote: %zu errors; best x=%lld\n", errs,
               res.best < res.ntrials ? (long long)res.trials[res.best].config[0].as.i : -1LL);
    } else if (strcmp(mode, "errors") == 0) {
        ray_value xs[] = { RAY_I(2), RAY_I(3), RAY_I(5), RAY_I(6), RAY_I(7) };
        ray_tune_param space[] = { RAY_TUNE_GRID_SEARCH("x", xs, 5) };
        o.max_t = 5;
        rc = ray_tune_run("flaky", space, 1, &o, &res);
        for (size_t i = 0; i < res.ntrials; i++)
            if (res.trials[i].status == RAY_TUNE_ERROR)
                printf("errored: trial %zu x=%lld: %s\n", i,
                       (long long)res.trials[i].config[0].as.i, res.trials[i].error);
        size_t term = 0;
        for (size_t i = 0; i < res.ntrials; i++)
            term += res.trials[i].status == RAY_TUNE_TERMINATED;
        printf("errors: rc %s, %zu of %zu trials terminated, best x=%lld\n", ray_strerror(rc), term,
               res.ntrials, res.best < res.ntrials ? (long long)res.trials[res.best].config[0].as.i : -1LL);
        ray_tune_results_free(&res);
        ray_tune_opts bad = RAY_TUNE_OPTS;
        rc = ray_tune_run("train", space, 1, &bad, &res);
        printf("no metric: %s: %s\n", ray_strerror(rc), ray_last_error());
        bad.metric = "loss";
        rc = ray_tune_run("nope", space, 1, &bad, &res);
        printf("unknown trainable: %s: %s\n", ray_strerror(rc), ray_last_error());
        ray_tune_param lu = RAY_TUNE_LOGUNIFORM("lr", 0, 1);
        rc = ray_tune_run("train", &lu, 1, &bad, &res);
        printf("bad space: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 0;
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    printf("%s: rc %s\n", mode, ray_strerror(rc));
    ray_tune_results_print(&res, stdout);
    ray_tune_results_free(&res);
    return rc == RAY_OK ? 0 : 1;
}
