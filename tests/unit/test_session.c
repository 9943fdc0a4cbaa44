/*
 * test_session.c — which session a restarted head resumes
 * (session_find_head, docs/restart.md): only a head's, only one whose rayd
 * died without stopping (rayd.pid left behind), only on the same GCS port
 * (and host when one is given), the newest of several, never a live one.
 */
#include "tests/unit/unit.h"

#include "session/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[64];

/* A session NAME under root: node.info with IS_HEAD and GCS, an auth_token,
 * and rayd.pid holding PID (0: no rayd.pid, as after `ray stop`). */
static void make_session(const char *name, int is_head, const char *gcs, pid_t pid)
{
    char dir[256], text[512];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(text, sizeof text, "node_id=ab\nis_head=%d\ngcs_address=%s\npid=%d\n", is_head, gcs,
             (int)pid);
    ck_assert_int_eq(session_file_write(dir, "node.info", text, 0600), 0);
    ck_assert_int_eq(session_file_write(dir, "auth_token", "secret\n", 0600), 0);
    if (pid > 0)
        ck_assert_int_eq(session_pidfile_write(dir, "rayd.pid", pid), 0);
}

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/ray-unit-session-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
    session_remove_tree(root);
}

/* a pid that is surely not a live rayd: a child that has exited and been reaped */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    int st;
    waitpid(p, &st, 0);
    return p;
}

START_TEST(test_resume_dead_head)
{
    char out[4096];
    ck_assert_int_eq(session_find_head(root, NULL, 6379, out, sizeof out), -1); /* none at all */
    make_session("session_2026-01-01_00-00-00_000001_1", 1, "127.0.0.1:6379", dead_pid());
    ck_assert_int_eq(session_find_head(root, NULL, 6379, out, sizeof out), 0);
    ck_assert(strstr(out, "session_2026-01-01_00-00-00_000001_1") != NULL);
    ck_assert_int_eq(session_find_head(root, "127.0.0.1", 6379, out, sizeof out), 0);
    ck_assert_int_eq(session_find_head(root, "127.0.0.2", 6379, out, sizeof out), -1); /* other host */
    ck_assert_int_eq(session_find_head(root, NULL, 6380, out, sizeof out), -1);        /* other port */
}
END_TEST

START_TEST(test_not_stopped_worker_or_newest)
{
    char out[4096];
    make_session("session_2026-01-01_00-00-00_000001_1", 1, "127.0.0.1:7000", 0); /* stopped */
    make_session("session_2026-01-01_00-00-01_000001_2", 0, "127.0.0.1:7000", dead_pid()); /* worker */
    ck_assert_int_eq(session_find_head(root, NULL, 7000, out, sizeof out), -1);
    make_session("session_2026-01-01_00-00-02_000001_3", 1, "127.0.0.1:7000", dead_pid());
    make_session("session_2026-01-01_00-00-05_000001_4", 1, "127.0.0.1:7000", dead_pid());
    make_session("session_2026-01-01_00-00-03_000001_5", 1, "127.0.0.1:7000", dead_pid());
    ck_assert_int_eq(session_find_head(root, NULL, 7000, out, sizeof out), 0);
    ck_assert(strstr(out, "_000001_4") != NULL); /* the newest by its name */
}
END_TEST

START_TEST(test_never_a_live_head)
{
    char out[4096];
    /* a live rayd: this very process is not one (its command line says
     * test_unit), so a fork renamed rayd stands in for it */
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/sh", "rayd", "-c", "sleep 5; :", (char *)NULL); /* argv[0] "rayd"; ":" keeps sh from exec-ing sleep */
        _exit(127);
    }
    for (int i = 0; i < 200 && !session_pid_is(p, "rayd"); i++)
        usleep(5000);
    ck_assert(session_pid_is(p, "rayd"));
    make_session("session_2026-01-01_00-00-00_000001_1", 1, "127.0.0.1:7100", p);
    ck_assert_int_eq(session_find_head(root, NULL, 7100, out, sizeof out), -1);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    ck_assert_int_eq(session_find_head(root, NULL, 7100, out, sizeof out), 0);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_resume_dead_head);
    tcase_add_test(tc, test_not_stopped_worker_or_newest);
    tcase_add_test(tc, test_never_a_live_head);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(session_suite);
