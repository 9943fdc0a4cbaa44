/*
 * test_sched.c — the global scheduler's choice (sched/global.c).
 */
#include "sched/global.h"
#include "tests/unit/unit.h"

static struct res_set mk(const char *spec)
{
    struct res_set s = RES_SET_INIT;
    char err[128];
    ck_assert_int_eq(res_parse(&s, spec, err, sizeof err), 0);
    return s;
}

START_TEST(picks_a_node_that_fits)
{
    struct res_set t1 = mk("CPU=1"), a1 = mk("CPU=1"), t2 = mk("CPU=1,gadget=1"),
                   a2 = mk("CPU=1,gadget=1"), d = mk("CPU=1,gadget=1");
    struct sched_candidate c[] = {
        { &t1, &a1, 0, 0, 0, true },
        { &t2, &a2, 5, 0, 0, true },
    };
    ck_assert_int_eq(sched_pick(c, 2, &d, 0), 1);
    c[1].alive = false;
    ck_assert_int_eq(sched_pick(c, 2, &d, 0), -1); /* nobody can */
    res_free(&t1); res_free(&a1); res_free(&t2); res_free(&a2); res_free(&d);
}
END_TEST

START_TEST(spreads_by_expected_wait)
{
    struct res_set t = mk("CPU=1"), busy = mk("CPU=0"), idle = mk("CPU=1"), d = mk("CPU=1");
    struct sched_candidate c[] = {
        { &t, &busy, 3, 0, 0, true },   /* the submitting node: busy, queue of 3 */
        { &t, &idle, 0, 0, 0, true },
        { &t, &idle, 0, 0, 0, true },
    };
    int counts[3] = { 0 };
    for (int i = 0; i < 9; i++) {
        int k = sched_pick(c, 3, &d, 0);
        ck_assert_int_ge(k, 0);
        counts[k]++;
        c[k].assigned++;
    }
    /* the idle nodes take most, the busy one some once they queue up */
    ck_assert_int_ge(counts[1], 3);
    ck_assert_int_ge(counts[2], 3);
    ck_assert_int_le(counts[0], 2);
    res_free(&t); res_free(&busy); res_free(&idle); res_free(&d);
}
END_TEST

START_TEST(actors_go_where_they_can_start_now)
{
    /* the submitting node is full; one node has a free CPU, then none does */
    struct res_set t = mk("CPU=1"), busy = mk("CPU=0"), idle = mk("CPU=1"), d = mk("CPU=1");
    struct sched_candidate c[] = {
        { &t, &busy, 0, 0, 0, true },
        { &t, &busy, 0, 0, 0, true },
        { &t, &idle, 0, 0, 0, true },
    };
    ck_assert_int_eq(sched_pick_now(c, 3, &d, 0), 2);
    c[2].assigned = 1; /* sent one since its report: no room left there */
    ck_assert_int_eq(sched_pick_now(c, 3, &d, 0), -1);
    ck_assert_int_ge(sched_pick(c, 3, &d, 0), 0); /* the caller falls back to the wait */
    res_free(&t); res_free(&busy); res_free(&idle); res_free(&d);
}
END_TEST

START_TEST(prefers_the_node_with_the_data)
{
    struct res_set t = mk("CPU=2"), a = mk("CPU=2"), d = mk("CPU=1");
    struct sched_candidate c[] = {
        { &t, &a, 0, 0, 0, true },
        { &t, &a, 0, 0, 200u << 20, true }, /* holds the 200 MiB argument */
    };
    ck_assert_int_eq(sched_pick(c, 2, &d, 200u << 20), 1);
    /* ...unless it is far behind: 50 tasks per slot queued beat 210 ms of transfer */
    c[1].queue_len = 100;
    ck_assert_int_eq(sched_pick(c, 2, &d, 200u << 20), 0);
    ck_assert(sched_cost(&c[0], &d, 200u << 20) > 200.0);
    res_free(&t); res_free(&a); res_free(&d);
}
END_TEST

START_TEST(zero_cpu_demands_fit_anywhere_alive)
{
    struct res_set t = mk("CPU=1"), a = mk("CPU=0"), d = RES_SET_INIT;
    struct sched_candidate c[] = { { &t, &a, 10, 0, 0, true } };
    ck_assert_int_eq(sched_pick(c, 1, &d, 0), 0);
    ck_assert(sched_cost(&c[0], &d, 0) == 0);
    res_free(&t); res_free(&a);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("global");
    tcase_add_test(tc, picks_a_node_that_fits);
    tcase_add_test(tc, spreads_by_expected_wait);
    tcase_add_test(tc, prefers_the_node_with_the_data);
    tcase_add_test(tc, actors_go_where_they_can_start_now);
    tcase_add_test(tc, zero_cpu_demands_fit_anywhere_alive);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(sched_suite);
