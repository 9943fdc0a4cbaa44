/*
 * fixtures.c — set-up the unit tests share (unit.h): temporary directories
 * and the paths in them, and suites of one test case.
 */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>

char *unit_tmpdir(char *dir, const char *tag)
{
    snprintf(dir, UNIT_DIR_MAX, "/tmp/ray-unit-%s-XXXXXX", tag);
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
    return dir;
}

char *unit_path(char *path, const char *dir, const char *name)
{
    snprintf(path, UNIT_PATH_MAX, "%s/%s", dir, name);
    return path;
}

void unit_rmtree(const char *dir)
{
    char cmd[UNIT_PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) { /* best effort */ }
}

Suite *unit_suite_of(const char *name, const char *tcname, const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create(tcname);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return s;
}
