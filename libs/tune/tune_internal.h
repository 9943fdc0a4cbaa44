/*
 * tune_internal.h — what the files of the tune library (libs/tune/) share:
 * the two actor classes, their methods' arguments, and the controller's
 * per-trial record. Built on ray.h alone; names start with ray_tune_ and end
 * in '_' so libray.a exports nothing but ray_* names.
 *
 * controller = ray_tune_controller(ntrials, scheduler, mode, max_t, grace, rf)
 *   report(trial INT, iteration INT, value FLOAT) -> BOOL go on
 *   results() -> BYTES: ntrials struct ray_tune_rec_
 * trial actor = ray_tune_trial_actor()
 *   run(fn STR, trial INT, controller ACTOR, metric STR, names STR "a\nb", config...)
 *     -> NIL, or fails with the trainable's message
 */
#ifndef RAY_TUNE_INTERNAL_H
#define RAY_TUNE_INTERNAL_H

#include "ray.h"

#include <stdint.h>

extern const char ray_tune_controller_class_[];
extern const char ray_tune_trial_class_[];
#define RAY_TUNE_RUN_FIXED_ 5 /* run's arguments before the config */

struct ray_tune_rec_ {
    int64_t iterations;
    double last, best;
    int32_t stopped_early;
    int32_t reported;
};

#endif
