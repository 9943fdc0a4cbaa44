/*
 * job_check.h — what the test job libraries share: CHECK, which prints the
 * failed condition with ray_last_error() and makes the scenario return 1,
 * and now(), seconds on the monotonic clock. Header-only (each job library
 * is one .c file built into its own .so).
 */
#ifndef JOB_CHECK_H
#define JOB_CHECK_H

#include <ray.h>

#include <stdio.h>
#include <time.h>

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "CHECK FAILED %s:%d: ", __FILE__, __LINE__);     \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, " [last error: %s]\n", ray_last_error());        \
            return 1;                                                        \
        }                                                                    \
    } while (0)

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
