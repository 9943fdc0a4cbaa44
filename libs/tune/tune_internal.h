/*
 * tune_internal.h — what the files of the tune library (libs/tune/) share:
 * the two actor classes, their methods' arguments, and the controller's
 * per-trial record. Built on ray.h alone; names start with ray_tune_ and end
 * in '_' so libray.a exports nothing but ray_* names.
 *
 * controller = ray_tune_controller(ntrials, scheduler, mode, max_t, grace, rf,
 *                                   interval, quantile, resample, seed, space BYTES)
 *   report(trial INT, iteration INT, value FLOAT) -> BOOL go on
 *   report(trial, iteration, value, checkpoint BYTES (a ref's id), config BYTES)
 *     (PBT, when the trial is due) -> BOOL go on, or BYTES: clone this
 *     checkpoint (20 bytes) with this config (the rest)
 *   results() -> BYTES: ntrials struct ray_tune_rec_, then per trial u32 len
 *     and its current config (len 0: unchanged)
 * Spaces and configs use the pool's value codec (libs/pool/pool_internal.h):
 *   space  u32 n; per parameter u8 kind, f64 lo, f64 hi, u32 nvalues, values
 *   config the parameters' values back to back
 * trial actor = ray_tune_trial_actor()
 *   run(fn STR, trial INT, controller ACTOR, metric STR, names STR "a\nb",
 *       pbt_interval INT (0: not PBT), config...)
 *     -> NIL, or fails with the trainable's message
 */
#ifndef RAY_TUNE_INTERNAL_H
#define RAY_TUNE_INTERNAL_H

#include "ray.h"

#include <stdint.h>

extern const char ray_tune_controller_class_[];
extern const char ray_tune_trial_class_[];
#define RAY_TUNE_RUN_FIXED_ 6 /* run's arguments before the config */

struct ray_tune_rec_ {
    int64_t iterations;
    double last, best;
    int32_t stopped_early;
    int32_t reported;
    int32_t exploits;
    int32_t pad_;
};

/* A decoded space parameter; VALUES point into the space blob. */
struct ray_tune_sparam_ {
    int kind;
    double lo, hi;
    size_t nvalues;
    ray_value *values;
};
struct ray_pool_buf_;
/* Append SPACE as a space blob. Returns RAY_OK or RAY_EINVAL. */
int ray_tune_space_put_(struct ray_pool_buf_ *b, const void *space, size_t n);
/* Decode a space blob (DATA must outlive *OUT); *OUT is malloc'd, free with
 * ray_tune_space_free_. Returns 0 or -1. */
int ray_tune_space_get_(const uint8_t *data, size_t len, struct ray_tune_sparam_ **out, size_t *n);
void ray_tune_space_free_(struct ray_tune_sparam_ *sp, size_t n);
/* Decode a config blob into N values (pointing into DATA). Returns 0 or -1. */
int ray_tune_config_get_(const uint8_t *data, size_t len, ray_value *vals, size_t n);

#endif
