/*
 * job_tune.c — ray_tune: a random search with ASHA early stopping over a
 * toy "training" whose loss is smallest at lr = 0.01 and momentum 0.9.
 *
 *   ray submit examples/build/job_tune.so -- 16
 */
#include <ray.h>
#include <ray_tune.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The trainable: its config arrives as arguments in the space's order. */
static int train(ray_task *t, const ray_value *cfg, size_t n)
{
    (void)n;
    double lr = cfg[0].as.f, momentum;
    ray_value m;
    momentum = ray_tune_get(t, "momentum", &m) == RAY_OK ? m.as.f : 0;
    double d = log10(lr) + 2; /* 0 at lr = 0.01 */
    for (int64_t it = 1;; it++) {
        double loss = d * d + fabs(momentum - 0.9) + 1.0 / (double)it;
        if (ray_tune_report(t, "loss", loss, it) != RAY_OK)
            return 0; /* stopped by ASHA, or max_t reached */
    }
}
RAY_REMOTE(train);

int ray_main(int argc, char **argv)
{
    ray_value momenta[] = { RAY_F(0.0), RAY_F(0.5), RAY_F(0.9) };
    ray_tune_param space[] = { RAY_TUNE_LOGUNIFORM("lr", 1e-4, 1.0),
                               RAY_TUNE_CHOICE_OF("momentum", momenta, 3) };
    ray_tune_opts o = RAY_TUNE_OPTS;
    o.metric = "loss";
    o.mode = RAY_TUNE_MIN;
    o.num_samples = argc > 1 ? atoi(argv[1]) : 16;
    o.seed = 7;
    o.scheduler = RAY_TUNE_ASHA;
    o.max_t = 27;
    o.grace_period = 1;
    o.reduction_factor = 3;
    o.max_concurrent_trials = 2;
    ray_tune_results res;
    int rc = ray_tune_run("train", space, 2, &o, &res);
    if (rc != RAY_OK)
        fprintf(stderr, "ray_tune_run: %s\n", ray_last_error());
    ray_tune_results_print(&res, stdout);
    ray_tune_results_free(&res);
    return rc == RAY_OK ? 0 : 1;
}
