/*
 * test_bio.c — the node's helper thread (daemon/bio.c): work runs on
 * another thread, completions run on the loop thread in submission order;
 * a file's writes land in order and in few write(2)s; bio_free writes what
 * files still have queued, does not start queued work, and cancels every
 * completion not yet run.
 */
#include "daemon/bio.h"
#include "common/wake.h"
#include "tests/unit/unit.h"

#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct rec {
    pthread_t main, ran_on;
    bool ran, done, cancelled;
    int order, *next_order;
    int sleep_ms;
};

static void rec_work(void *arg)
{
    struct rec *r = arg;
    r->ran_on = pthread_self();
    __atomic_store_n(&r->ran, true, __ATOMIC_RELEASE);
    if (r->sleep_ms) {
        struct timespec ts = { 0, r->sleep_ms * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void rec_done(void *arg, bool cancelled)
{
    struct rec *r = arg;
    ck_assert(pthread_equal(pthread_self(), r->main));
    r->done = true;
    r->cancelled = cancelled;
    r->order = (*r->next_order)++;
}

/* Turn BASE until every job of B has completed (at most 5 s). */
static void run_until_idle(struct event_base *base, struct bio *b)
{
    for (int i = 0; i < 5000 && bio_pending(b) > 0; i++) {
        struct timeval tv = { 0, 1000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    ck_assert_uint_eq(bio_pending(b), 0);
}

/* A loop and a helper thread on it; bio_stop frees both. */
static struct bio *bio_start(struct event_base **base)
{
    char err[256];
    *base = event_base_new();
    ck_assert_ptr_nonnull(*base);
    struct bio *b = bio_new(*base, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    return b;
}

static void bio_stop(struct bio *b, struct event_base *base)
{
    bio_free(b);
    event_base_free(base);
}

START_TEST(work_off_the_loop_done_on_it_in_order)
{
    struct event_base *base;
    struct bio *b = bio_start(&base);
    int next = 0;
    struct rec r[20];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 20; i++) {
        r[i].main = pthread_self();
        r[i].next_order = &next;
        r[i].sleep_ms = i == 0 ? 20 : 0;
        bio_submit(b, rec_work, rec_done, &r[i]);
    }
    ck_assert(!r[19].done); /* nothing completes inside bio_submit */
    run_until_idle(base, b);
    for (int i = 0; i < 20; i++) {
        ck_assert(r[i].ran);
        ck_assert(!pthread_equal(r[i].ran_on, r[i].main));
        ck_assert(r[i].done && !r[i].cancelled);
        ck_assert_int_eq(r[i].order, i);
    }
    bio_stop(b, base);
}
END_TEST

START_TEST(file_writes_in_order_and_private)
{
    char dir[UNIT_DIR_MAX], path[UNIT_PATH_MAX];
    unit_path(path, unit_tmpdir(dir, "bio"), "out.log");
    struct event_base *base;
    struct bio *b = bio_start(&base);
    struct bio_file *f = bio_file_open(b, path, 0600);
    char want[10000 * 8 + 1];
    size_t wl = 0;
    for (int i = 0; i < 10000; i++) {
        char line[16];
        int n = snprintf(line, sizeof line, "%06d\n", i);
        bio_file_write(f, line, (size_t)n);
        memcpy(want + wl, line, (size_t)n);
        wl += (size_t)n;
    }
    bio_file_close(f);
    /* a barrier after the close: its completion means the file is written */
    int next = 0;
    struct rec r = { .main = pthread_self(), .next_order = &next };
    bio_submit(b, NULL, rec_done, &r);
    run_until_idle(base, b);
    ck_assert(r.done && !r.cancelled);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char *got = calloc(1, sizeof want + 16);
    size_t gl = fread(got, 1, sizeof want + 15, fp);
    fclose(fp);
    ck_assert_uint_eq(gl, wl);
    ck_assert(memcmp(got, want, wl) == 0);
    free(got);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    bio_stop(b, base);
    unit_rmtree(dir);
}
END_TEST

START_TEST(free_writes_files_and_cancels_the_rest)
{
    char dir[UNIT_DIR_MAX], path[UNIT_PATH_MAX];
    unit_path(path, unit_tmpdir(dir, "bio"), "last.log");
    struct event_base *base;
    struct bio *b = bio_start(&base);
    int next = 0;
    struct rec slow = { .main = pthread_self(), .next_order = &next, .sleep_ms = 999 };
    struct rec later = { .main = pthread_self(), .next_order = &next };
    bio_submit(b, rec_work, rec_done, &slow);
    /* wait until the slow one has started (a loaded machine may take a while) */
    for (int i = 0; i < 5000 && !__atomic_load_n(&slow.ran, __ATOMIC_ACQUIRE); i++) {
        struct timespec ts = { 0, 1000000L };
        nanosleep(&ts, NULL);
    }
    ck_assert(__atomic_load_n(&slow.ran, __ATOMIC_ACQUIRE));
    struct bio_file *f = bio_file_open(b, path, 0600);
    bio_file_write(f, "last words\n", 11);
    bio_file_close(f);
    bio_submit(b, rec_work, rec_done, &later);
    bio_free(b); /* the loop never ran: both completions are cancelled */
    ck_assert(slow.ran && slow.done && slow.cancelled);
    ck_assert(!later.ran && later.done && later.cancelled);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char got[64] = "";
    ck_assert_ptr_nonnull(fgets(got, sizeof got, fp));
    fclose(fp);
    ck_assert_str_eq(got, "last words\n");
    event_base_free(base);
    unit_rmtree(dir);
}
END_TEST

START_TEST(unwritable_file_is_dropped_not_fatal)
{
    struct event_base *base;
    struct bio *b = bio_start(&base);
    struct bio_file *f = bio_file_open(b, "/nonexistent-dir-of-ray/x.log", 0600);
    for (int i = 0; i < 100; i++)
        bio_file_write(f, "x\n", 2);
    bio_file_close(f);
    int next = 0;
    struct rec r = { .main = pthread_self(), .next_order = &next };
    bio_submit(b, NULL, rec_done, &r);
    run_until_idle(base, b);
    ck_assert(r.done && !r.cancelled);
    bio_stop(b, base);
}
END_TEST

static bool readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* common/wake.h, the eventfd both helper threads wake their loop with:
 * signals from another thread make it readable once, drain empties it */
static void *signal_thrice(void *arg)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(wake_signal(arg), 0);
    return NULL;
}

START_TEST(wake_signals_coalesce_and_drain)
{
    struct wake w;
    ck_assert_int_eq(wake_open(&w), 0);
    ck_assert_int_ge(wake_fd(&w), 0);
    ck_assert(!readable(wake_fd(&w)));
    ck_assert_int_eq(wake_drain(&w), 0); /* nothing pending: not an error */
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, signal_thrice, &w), 0);
    pthread_join(th, NULL);
    ck_assert(readable(wake_fd(&w)));
    ck_assert_int_eq(wake_drain(&w), 0);
    ck_assert(!readable(wake_fd(&w))); /* three signals, one wake-up */
    wake_close(&w);
    ck_assert_int_eq(wake_fd(&w), -1);
    wake_close(&w); /* a second close is a no-op */
}
END_TEST

static Suite *bio_suite(void)
{
    Suite *s = suite_create("bio");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, work_off_the_loop_done_on_it_in_order);
    tcase_add_test(tc, file_writes_in_order_and_private);
    tcase_add_test(tc, free_writes_files_and_cancels_the_rest);
    tcase_add_test(tc, unwritable_file_is_dropped_not_fatal);
    tcase_add_test(tc, wake_signals_coalesce_and_drain);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(bio_suite);
