/*
 * test_callseq.c — the actor worker's at-most-once check (api/callseq.h):
 * repeats refused in and out of order, numbers below the window refused,
 * callers independent, forgotten callers starting afresh, and a random
 * model of shuffled deliveries with repeats; on the calling side, that
 * threads numbering calls to one actor "send" them in number order, and
 * that each actor has its own key.
 */
#include "api/callseq.h"
#include "tests/unit/unit.h"

#include <pthread.h>
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

/* Threads numbering calls to one actor: what they "send" (append to SENT
 * between callseq_out_begin and callseq_out_end) is in number order. */
#define OUT_THREADS 8
#define OUT_CALLS 20000
static uint64_t sent[OUT_THREADS * OUT_CALLS];
static size_t nsent;
static uint8_t out_actor[RAY_ID_SIZE];

static void *out_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < OUT_CALLS; i++) {
        uint64_t seq;
        struct callseq_out *o = callseq_out_begin(out_actor, &seq);
        sent[__atomic_fetch_add(&nsent, 1, __ATOMIC_RELAXED)] = seq;
        callseq_out_end(o);
    }
    return NULL;
}

START_TEST(test_callseq_send_order)
{
    memset(out_actor, 0xa5, sizeof out_actor);
    uint64_t first;
    callseq_out_end(callseq_out_begin(out_actor, &first));
    pthread_t th[OUT_THREADS];
    for (int i = 0; i < OUT_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, out_main, NULL), 0);
    for (int i = 0; i < OUT_THREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(nsent, OUT_THREADS * OUT_CALLS);
    for (size_t i = 0; i < nsent; i++)
        ck_assert_uint_eq(sent[i], first + 1 + i); /* dense and in order */
    /* the worker's check takes all of them, in that order, as new */
    uint8_t c[RAY_ID_SIZE], key[RAY_ID_SIZE];
    const char *why;
    caller(c, 7);
    callseq_reset();
    callseq_key(c, out_actor, key);
    for (size_t i = 0; i < nsent; i++)
        ck_assert(callseq_check(key, sent[i], &why));
    /* another actor of the same caller has a window of its own */
    uint8_t other[RAY_ID_SIZE], key2[RAY_ID_SIZE];
    memset(other, 0x5a, sizeof other);
    callseq_key(c, other, key2);
    ck_assert(memcmp(key, key2, RAY_ID_SIZE) != 0);
    ck_assert(callseq_check(key2, 1, &why));
    ck_assert(!callseq_check(key, sent[0], &why)); /* out of key's window by now */
}
END_TEST

static Suite *callseq_suite(void)
{
    Suite *s = suite_create("callseq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_callseq_repeats);
    tcase_add_test(tc, test_callseq_forgets_oldest);
    tcase_add_test(tc, test_callseq_model);
    tcase_add_test(tc, test_callseq_send_order);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(callseq_suite);
