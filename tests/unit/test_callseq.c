/*
 * test_callseq.c — the actor worker's at-most-once check (api/callseq.h):
 * repeats refused in and out of order, numbers below the window refused,
 * callers independent, forgotten callers starting afresh, and a random
 * model of shuffled deliveries with repeats.
 */
#include "api/callseq.h"
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>

static void caller(uint8_t id[RAY_ID_SIZE], uint32_t n)
{
    memset(id, 0, RAY_ID_SIZE);
    memcpy(id, &n, sizeof n);
}

START_TEST(test_callseq_repeats)
{
    const char *why;
    uint8_t a[RAY_ID_SIZE], b[RAY_ID_SIZE];
    caller(a, 1);
    caller(b, 2);
    callseq_reset();
    ck_assert(callseq_check(a, 1, &why));
    ck_assert(callseq_check(a, 3, &why));
    ck_assert(!callseq_check(a, 3, &why));
    ck_assert_str_eq(why, "it already ran on this actor");
    ck_assert(callseq_check(a, 2, &why)); /* late, not a repeat */
    ck_assert(!callseq_check(a, 2, &why));
    ck_assert(!callseq_check(a, 1, &why));
    ck_assert(callseq_check(b, 1, &why)); /* another caller's 1 */
    ck_assert(callseq_check(a, 0, &why)); /* unnumbered: always runs */
    ck_assert(callseq_check(a, 0, &why));
    /* far ahead, then one just inside and one just outside the window */
    ck_assert(callseq_check(a, 10000, &why));
    ck_assert(callseq_check(a, 10000 - CALLSEQ_WINDOW + 1, &why));
    ck_assert(!callseq_check(a, 10000 - CALLSEQ_WINDOW, &why));
    ck_assert_str_eq(why, "it is older than the calls this actor remembers");
    /* the slots reused by the jump hold no stale marks */
    ck_assert(callseq_check(a, 9999, &why));
    ck_assert(callseq_check(a, 10001, &why));
    ck_assert(callseq_check(a, 10001 + CALLSEQ_WINDOW - 1, &why));
    ck_assert(callseq_check(a, 10002, &why));
}
END_TEST

START_TEST(test_callseq_forgets_oldest)
{
    const char *why;
    uint8_t id[RAY_ID_SIZE];
    callseq_reset();
    for (uint32_t i = 0; i <= CALLSEQ_CALLERS; i++) {
        caller(id, 100 + i);
        ck_assert(callseq_check(id, 5, &why));
    }
    caller(id, 100 + CALLSEQ_CALLERS); /* the newest is remembered */
    ck_assert(!callseq_check(id, 5, &why));
    caller(id, 100); /* the oldest was forgotten for room */
    ck_assert(callseq_check(id, 5, &why));
}
END_TEST

START_TEST(test_callseq_model)
{
    enum { N = 20000 };
    static unsigned char ran[N + 1];
    static uint64_t order[2 * N];
    const char *why;
    uint8_t id[RAY_ID_SIZE];
    caller(id, 7);
    callseq_reset();
    memset(ran, 0, sizeof ran);
    /* every number once, then repeats, shuffled within a short distance */
    for (uint64_t i = 0; i < N; i++)
        order[i] = i + 1;
    for (uint64_t i = 0; i < N; i++)
        order[N + i] = (uint64_t)(rand() % N) + 1;
    srand(11);
    for (size_t i = 0; i + 1 < N; i++) {
        size_t j = i + (size_t)rand() % 50;
        if (j < N) {
            uint64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    int ran_twice = 0, refused_new = 0;
    for (size_t i = 0; i < 2 * N; i++) {
        uint64_t s = order[i];
        if (callseq_check(id, s, &why)) {
            ran_twice += ran[s];
            ran[s] = 1;
        } else if (!ran[s]) {
            refused_new++;
        }
    }
    ck_assert_int_eq(ran_twice, 0);
    ck_assert_int_eq(refused_new, 0); /* reordering stayed inside the window */
    for (uint64_t s = 1; s <= N; s++)
        ck_assert(ran[s]);
}
END_TEST

static Suite *callseq_suite(void)
{
    Suite *s = suite_create("callseq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_callseq_repeats);
    tcase_add_test(tc, test_callseq_forgets_oldest);
    tcase_add_test(tc, test_callseq_model);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(callseq_suite);
