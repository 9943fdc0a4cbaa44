/*
 * test_ids.c — common/ids.c: hex round trips, and what a failing kernel
 * random source does: ids_random_fill (libray.a's) returns -1 with errno,
 * a client's connect then fails with a message instead of aborting, and
 * only the daemon's ids_random aborts.
 *
 * getrandom is wrapped here (the test binary's definition wins over libc's
 * for our objects) so that a test can make the kernel call fail; with
 * fail_getrandom off it is the real system call.
 */
#include "api/api_internal.h"
#include "common/ids.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail_getrandom; /* an errno to fail with, or 0 */

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    if (fail_getrandom) {
        errno = fail_getrandom;
        return -1;
    }
    return syscall(SYS_getrandom, buf, len, flags);
}

START_TEST(hex_round_trip_and_random)
{
    uint8_t a[IDS_SIZE], b[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    ck_assert_int_eq(ids_random_fill(a, sizeof a), 0);
    ck_assert(!ids_is_zero(a)); /* 2^-160 */
    ck_assert_uint_eq(strlen(ids_hex(a, sizeof a, hex)), 2 * IDS_SIZE);
    ck_assert_int_eq(ids_unhex(hex, b, sizeof b), 0);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    hex[3] = 'g';
    ck_assert_int_eq(ids_unhex(hex, b, sizeof b), -1);
}
END_TEST

START_TEST(random_failure_is_an_error_in_the_library)
{
    fail_getrandom = ENOSYS;
    uint8_t a[8];
    errno = 0;
    ck_assert_int_eq(ids_random_fill(a, sizeof a), -1);
    ck_assert_int_eq(errno, ENOSYS);
    /* a driver's or worker's connect fails cleanly, naming the cause */
    struct api_connect_opts o = { .unix_path = "/nonexistent/ray.sock" };
    ck_assert_int_eq(api_client_connect_(&o), RAY_ECONN);
    ck_assert_msg(strstr(ray_last_error(), "cannot read random bytes (getrandom)") &&
                      strstr(ray_last_error(), strerror(ENOSYS)),
                  "%s", ray_last_error());
    ck_assert_int_eq(api_random_(a, sizeof a, "ray_pg_create"), RAY_ECONN);
    ck_assert_str_eq(ray_last_error(), "ray_pg_create: cannot read random bytes (getrandom): "
                                       "Function not implemented");
    fail_getrandom = 0;
    ck_assert_int_eq(api_random_(a, sizeof a, "ray_pg_create"), RAY_OK);
}
END_TEST

START_TEST(random_failure_aborts_the_daemon)
{
    fail_getrandom = EPERM;
    uint8_t a[8];
    ids_random(a, sizeof a); /* the daemon's: "ray: cannot read random bytes ..." and abort */
}
END_TEST

static Suite *ids_suite(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hex_round_trip_and_random);
    tcase_add_test(tc, random_failure_is_an_error_in_the_library);
    tcase_add_test_raise_signal(tc, random_failure_aborts_the_daemon, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(ids_suite);
