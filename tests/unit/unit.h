/*
 * unit.h — glue for the unit-test runner: each tests/unit/test_<module>.c
 * defines one Check suite and registers it with UNIT_SUITE(fn), so adding a
 * test file needs no edit elsewhere. Suites run in fork mode.
 */
#ifndef RAY_UNIT_H
#define RAY_UNIT_H

#include <check.h>
#include <stddef.h>

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

/* A suite NAME of one test case TCNAME holding the tests listed (their
 * START_TEST names), registered as UNIT_SUITE does: for suites with no
 * fixture or timeout of their own. */
#define UNIT_SIMPLE_SUITE(fn, name, tcname, ...)                                 \
    static Suite *fn(void)                                                     \
    {                                                                          \
        const TTest *const tests_[] = { __VA_ARGS__ };                         \
        return unit_suite_of(name, tcname, tests_, sizeof tests_ / sizeof tests_[0]); \
    }                                                                          \
    UNIT_SUITE(fn)
Suite *unit_suite_of(const char *name, const char *tcname, const TTest *const *tests, size_t n);

/* Shared set-up (tests/unit/fixtures.c). A fresh directory
 * /tmp/ray-unit-TAG-XXXXXX written into DIR (UNIT_DIR_MAX bytes); the test
 * fails if it cannot be made. Returns DIR. */
#define UNIT_DIR_MAX 64
#define UNIT_PATH_MAX 256
char *unit_tmpdir(char *dir, const char *tag);
/* DIR/NAME written into PATH (UNIT_PATH_MAX bytes). Returns PATH. */
char *unit_path(char *path, const char *dir, const char *name);
/* Remove DIR and all below it (a test's clean-up: best effort). */
void unit_rmtree(const char *dir);

#endif
