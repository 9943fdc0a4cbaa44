/*
 * ray_tune.h — hyperparameter search (Ray Tune) for C jobs: trials of a
 * trainable over a search space, each trial an actor, reporting a metric per
 * iteration to a scheduler: FIFO, ASHA (stops bad trials early) or PBT
 * (bad trials clone good ones' checkpoints and perturb their configs).
 *
 *     static int train(ray_task *t, const ray_value *cfg, size_t n)
 *     {
 *         double lr = cfg[0].as.f;                     // the space's order
 *         for (int64_t it = 1;; it++)
 *             if (ray_tune_report(t, "loss", loss_after(it, lr), it) != RAY_OK)
 *                 return 0;                            // stopped (or max_t)
 *     }
 *     RAY_REMOTE(train);
 *     ...
 *     ray_tune_param space[] = { RAY_TUNE_LOGUNIFORM("lr", 1e-4, 1e-1) };
 *     ray_tune_opts o = RAY_TUNE_OPTS;
 *     o.metric = "loss"; o.num_samples = 20; o.scheduler = RAY_TUNE_ASHA;
 *     ray_tune_results res;
 *     ray_tune_run("train", space, 1, &o, &res);
 *     ray_tune_results_print(&res, stdout);            // the table, best config
 *     ray_tune_results_free(&res);
 *
 * The trainable is a RAY_REMOTE function of the job. A trial runs it once,
 * inside its own actor (ray_task_local_run), with the trial's config as its
 * arguments, in the order of the space's parameters (ray_tune_get finds one
 * by name). It loops over iterations and reports the metric each time; the
 * report returns RAY_TUNE_STOP when the scheduler stops the trial (or it
 * reached max_t), and the trainable should then return 0. A trainable that
 * fails (ray_fail) or crashes ends its trial with status RAY_TUNE_ERROR and
 * the message; the search goes on.
 *
 * Built on ray.h alone (libs/tune/), compiled into rayd and libray.a.
 */
#ifndef RAY_TUNE_H
#define RAY_TUNE_H

#include "ray.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ray_tune_report's answer: the scheduler stopped this trial (positive, not an error). */
#define RAY_TUNE_STOP 1

/* ---- the search space (Ray's names) ----------------------------------------- */
typedef enum {
    RAY_TUNE_GRID,       /* tune.grid_search(values): every value, crossed with the other grids */
    RAY_TUNE_CHOICE,     /* tune.choice(values): one at random per trial */
    RAY_TUNE_UNIFORM,    /* tune.uniform(lo, hi): FLOAT in [lo, hi) */
    RAY_TUNE_LOGUNIFORM, /* tune.loguniform(lo, hi): FLOAT, uniform in log space; 0 < lo < hi */
    RAY_TUNE_RANDINT     /* tune.randint(lo, hi): INT in [lo, hi) */
} ray_tune_kind;

typedef struct {
    const char *name;
    ray_tune_kind kind;
    const ray_value *values; /* GRID, CHOICE: NIL, BOOL, INT, FLOAT or STR values (copied) */
    size_t nvalues;
    double lo, hi;           /* UNIFORM, LOGUNIFORM, RANDINT */
} ray_tune_param;

#define RAY_TUNE_GRID_SEARCH(nm, vals, n) \
    ((ray_tune_param){ .name = (nm), .kind = RAY_TUNE_GRID, .values = (vals), .nvalues = (n) })
#define RAY_TUNE_CHOICE_OF(nm, vals, n) \
    ((ray_tune_param){ .name = (nm), .kind = RAY_TUNE_CHOICE, .values = (vals), .nvalues = (n) })
#define RAY_TUNE_UNIFORM_P(nm, a, b) \
    ((ray_tune_param){ .name = (nm), .kind = RAY_TUNE_UNIFORM, .lo = (a), .hi = (b) })
#define RAY_TUNE_LOGUNIFORM(nm, a, b) \
    ((ray_tune_param){ .name = (nm), .kind = RAY_TUNE_LOGUNIFORM, .lo = (a), .hi = (b) })
#define RAY_TUNE_RANDINT_P(nm, a, b) \
    ((ray_tune_param){ .name = (nm), .kind = RAY_TUNE_RANDINT, .lo = (a), .hi = (b) })

/* ---- options ------------------------------------------------------------------ */
typedef enum { RAY_TUNE_MIN, RAY_TUNE_MAX } ray_tune_mode;
typedef enum { RAY_TUNE_FIFO, RAY_TUNE_ASHA, RAY_TUNE_PBT } ray_tune_scheduler;

typedef struct {
    const char *metric;        /* the reported metric the search optimises (required) */
    ray_tune_mode mode;        /* RAY_TUNE_MIN */
    int num_samples;           /* 1: trials = grid combinations x num_samples */
    int max_concurrent_trials; /* 0: as many as the trial actors' resources allow */
    uint64_t seed;             /* 0: from the clock; same seed, same configs */
    ray_tune_scheduler scheduler; /* RAY_TUNE_FIFO */
    int64_t max_t;             /* 100: a trial stops at this iteration (FIFO: 0 = never) */
    int64_t grace_period;      /* ASHA: 1 */
    double reduction_factor;   /* ASHA: 4 */
    int64_t perturbation_interval; /* PBT: 60 (iterations between a trial's exploits) */
    double quantile_fraction;  /* PBT: 0.25 (bottom trials clone top ones) */
    double resample_probability; /* PBT: 0.25 (else a value is scaled by 1.2 or 0.8) */
    ray_opts trial;            /* each trial actor's options; RAY_ACTOR_OPTS with 1 CPU */
    const char *name;          /* the run's name; NULL: "<trainable>_<UTC date-time>" */
    const char *storage_path;  /* results.csv and results.json go to STORAGE_PATH/NAME/ (made);
                                  NULL: <session dir>/tune/NAME/ for a submitted job, none
                                  for a standalone driver */
} ray_tune_opts;

#define RAY_TUNE_OPTS                                                                     \
    ((ray_tune_opts){ .mode = RAY_TUNE_MIN, .num_samples = 1, .max_t = 100,                \
                      .grace_period = 1, .reduction_factor = 4,                            \
                      .perturbation_interval = 60, .quantile_fraction = 0.25,              \
                      .resample_probability = 0.25,                                        \
                      .trial = { .num_cpus = 1, .num_returns = 1, .max_concurrency = 1,    \
                                 .bundle = -1 } })

/* ---- results -------------------------------------------------------------------- */
typedef enum { RAY_TUNE_TERMINATED, RAY_TUNE_ERROR } ray_tune_status;

typedef struct {
    ray_value *config;      /* nparams values, the space's order (owned by the results) */
    ray_tune_status status; /* TERMINATED: the trainable returned 0 (stopped or done) */
    bool stopped_early;     /* the scheduler (ASHA) stopped it before max_t */
    int exploits;           /* PBT: times it cloned a better trial (config is then its last) */
    int64_t iterations;     /* the last iteration it reported (0: none) */
    double last, best;      /* its last and best reported metric (NAN: none) */
    char error[512];        /* ERROR: the trainable's message, or how its actor died */
} ray_tune_trial;

typedef struct {
    size_t ntrials;
    ray_tune_trial *trials;
    size_t nparams;
    char **names;   /* the parameters' names */
    char *metric;
    ray_tune_mode mode;
    size_t best;    /* the trial with the best LAST metric (Ray's scope "last"); ntrials: none */
    char *dir;      /* where results.csv and results.json were written; NULL: nowhere */
} ray_tune_results;

/*
 * Run the search: the trials of TRAINABLE (a RAY_REMOTE function name) over
 * SPACE (NPARAMS parameters), as OPTS says (NULL: RAY_TUNE_OPTS, but a metric
 * is required). Blocks until every trial ended. *OUT (the caller's struct)
 * is filled; free its contents with ray_tune_results_free — also after a
 * failure, when it holds what finished. Returns RAY_OK (trials that failed
 * are in the table with status RAY_TUNE_ERROR, not a failure of the run);
 * RAY_EINVAL (no metric, unknown trainable, a bad parameter: message names
 * it, nothing started); RAY_ENOMEM; or the core's failure to start actors
 * (RAY_ECONN...). Failing to write the results' files is RAY_EINVAL after the
 * run (ray_last_error names the path), with the results kept.
 */
int ray_tune_run(const char *trainable, const ray_tune_param *space, size_t nparams,
                 const ray_tune_opts *opts, ray_tune_results *out);
/* Free what ray_tune_run put in R (R itself is the caller's); zeroes it. */
void ray_tune_results_free(ray_tune_results *r);
/* The table (one row per trial: config, status, iterations, last, best) and
 * the best config, on F. */
void ray_tune_results_print(const ray_tune_results *r, FILE *f);
/* The table as CSV / JSON at PATH. Returns RAY_OK or RAY_EINVAL (errno kept). */
int ray_tune_results_write_csv(const ray_tune_results *r, const char *path);
int ray_tune_results_write_json(const ray_tune_results *r, const char *path);

/* ---- inside a trainable ------------------------------------------------------------ */
/*
 * Report VALUE of METRIC at ITERATION (1, 2, ...) from the trainable running
 * in T. Reports of other metrics than the search's are accepted and ignored.
 * Returns RAY_OK (go on), RAY_TUNE_STOP (return now: the scheduler stopped
 * the trial or it reached max_t), RAY_EINVAL (T is not a trial's), or the
 * core's failure to reach the search (RAY_EACTOR...: return too).
 */
int ray_tune_report(ray_task *t, const char *metric, double value, int64_t iteration);
/*
 * ray_tune_report, and with PBT a checkpoint of the trainable's state: when
 * the trial is due for a perturbation (every perturbation_interval
 * iterations) CHECKPOINT is stored as an object (ray_put) that a worse trial
 * may clone; at other iterations, and for FIFO/ASHA, it is not stored. When
 * the scheduler makes this trial clone another, the call returns
 * RAY_TUNE_STOP; the trainable returns 0 and is run again at once with the
 * new config, where ray_tune_checkpoint gives the cloned state.
 */
int ray_tune_report_checkpoint(ray_task *t, const char *metric, double value, int64_t iteration,
                               ray_value checkpoint);
/* The checkpoint this run of the trainable starts from, into *OUT (release
 * it with ray_value_release). RAY_ENOTFOUND: none (a fresh trial, start at
 * iteration 1); RAY_EINVAL outside a trial; ray_get's failures. */
int ray_tune_checkpoint(ray_task *t, ray_value *out);
/* The trial's value of parameter NAME into *OUT (STR points into the trial's
 * memory, valid while the trainable runs). RAY_ENOTFOUND, RAY_EINVAL. */
int ray_tune_get(ray_task *t, const char *name, ray_value *out);

#ifdef __cplusplus
}
#endif

#endif
