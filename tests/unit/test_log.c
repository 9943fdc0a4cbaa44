/*
 * test_log.c — the log: repeated lines are collapsed into one "last message
 * repeated N times" line, different lines all come out, and the log file is
 * private (0600).
 */
#include "common/log.h"
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read the log at PATH into a malloc'd string. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_log_repeats_collapsed)
{
    char path[] = "/tmp/ray-test-log-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    log_level_active = LOG_LEVEL_INFO;
    ck_assert_int_eq(log_open(path), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    for (int i = 0; i < 100000; i++)
        log_warnx("accept: Too many open files");
    log_info("something else %d", 1);
    log_info("something else %d", 2);
    char *text = slurp(path);
    ck_assert_int_eq(count_lines(text), 4);
    ck_assert_ptr_nonnull(strstr(text, "warn: accept: Too many open files\n"));
    ck_assert_ptr_nonnull(strstr(text, "warn: last message repeated 99999 times\n"));
    ck_assert_ptr_nonnull(strstr(text, "info: something else 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "info: something else 2\n"));
    /* the summary comes before the next different line */
    ck_assert(strstr(text, "repeated") < strstr(text, "something else 1"));
    free(text);
    log_open(NULL);
    unlink(path);
}
END_TEST

UNIT_SIMPLE_SUITE(log_suite, "log", "core", test_log_repeats_collapsed);
