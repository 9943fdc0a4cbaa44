/*
 * unit.h — glue for the unit-test runner: each tests/unit/test_<module>.c
 * defines one Check suite and registers it with UNIT_SUITE(fn), so adding a
 * test file needs no edit elsewhere. Suites run in fork mode.
 */
#ifndef RAY_UNIT_H
#define RAY_UNIT_H

#include <check.h>

typedef Suite *(*unit_suite_fn)(void);
void unit_register(const char *name, unit_suite_fn fn);

#define UNIT_SUITE(fn)                                                      \
    __attribute__((constructor)) static void unit_register_##fn##_(void)    \
    {                                                                       \
        unit_register(#fn, fn);                                             \
    }                                                                       \
    struct unit_semicolon_##fn##_

/* Start a throwaway redis-server on a free loopback port (for GCS tests).
 * Returns its port, or -1 (the test should fail). unit_redis_stop kills it
 * and removes its directory. PASSWORD may be NULL. */
int unit_redis_start(const char *password);
void unit_redis_stop(void);

#endif
