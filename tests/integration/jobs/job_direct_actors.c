/*
 * job_direct_actors.c — what test_direct_actors.sh asks of actor calls sent
 * straight to the actor's worker (docs/direct.md "Actor calls"):
 *
 *   order N [node]   a "seq" actor checks that calls next(i) come with
 *                    i = 0, 1, 2, ... (each returns i, or fails out of
 *                    order); N calls, async in bursts of 500, the last of
 *                    each with a REF argument (through the node, after the
 *                    direct ones) and every 101st waited for at once
 *                    (sync); every result right.
 *                    "node": RAY_DIRECT=0 set first (the node's path only)
 *   kill N           a "seq" actor with max_restarts 1 that sleeps 1 ms a
 *                    call; N calls, then ray_actor_kill: every call is
 *                    right or fails with RAY_EACTOR, at least one fails,
 *                    the successes are the first ones; then calls on the
 *                    restarted actor succeed (first through the node, then
 *                    directly again)
 * Each prints "<scenario> ok ..." when all held.
 */
#include <ray.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job_check.h"

struct seq {
    int64_t expect;
    int sleep_us;
};

static void *seq_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    struct seq *s = calloc(1, sizeof *s);
    if (s && nargs > 0 && args[0].type == RAY_INT)
        s->sleep_us = (int)args[0].as.i;
    return s;
}
static void seq_free(void *self)
{
    free(self);
}
RAY_ACTOR(seq);

/* next(i[, anything]): i must be the next number. */
static int seq_next(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct seq *s = self;
    if (nargs < 1 || args[0].type != RAY_INT)
        return ray_fail(t, "next wants an int");
    if (args[0].as.i != s->expect)
        return ray_fail(t, "out of order: got %lld, expected %lld", (long long)args[0].as.i,
                        (long long)s->expect);
    s->expect++;
    if (s->sleep_us)
        usleep((useconds_t)s->sleep_us);
    return ray_return(t, args[0]);
}
RAY_METHOD(seq, next);

/* restart(): the numbering starts again at 0 (a restarted actor). */
static int seq_reset(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    ((struct seq *)self)->expect = 0;
    return ray_return(t, RAY_I(getpid()));
}
RAY_METHOD(seq, reset);

static int sc_order(int n, bool node)
{
    if (node)
        setenv("RAY_DIRECT", "0", 1);
    ray_actor a;
    ray_ref put, *r = calloc((size_t)n, sizeof *r);
    ray_value v;
    CHECK(r != NULL, "calloc");
    CHECK(ray_actor_create("seq", NULL, 0, NULL, &a) == RAY_OK, "create");
    CHECK(ray_put(RAY_I(7), &put) == RAY_OK, "put");
    ray_ref z;
    CHECK(ray_actor_call(a, "reset", NULL, 0, NULL, &z) == RAY_OK &&
              ray_get(z, 30000, &v) == RAY_OK, "reset");
    for (int base = 0; base < n; base += 500) {
        int end = base + 500 < n ? base + 500 : n;
        for (int i = base; i < end; i++) {
            ray_value args[2] = { RAY_I(i), RAY_R(put) };
            CHECK(ray_actor_call(a, "next", args, i % 500 == 499 ? 2 : 1, NULL, &r[i]) == RAY_OK,
                  "call %d", i);
            if (i % 101 == 0)
                CHECK(ray_get(r[i], 30000, &v) == RAY_OK && v.as.i == i, "sync next(%d)", i);
        }
        for (int i = base; i < end; i++) {
            int rc = ray_get(r[i], 30000, &v);
            CHECK(rc == RAY_OK && v.type == RAY_INT && v.as.i == i, "next(%d): rc %d value %lld",
                  i, rc, (long long)v.as.i);
        }
        usleep(25 * 1000); /* past the node path's 20 ms: the next burst is asked for again */
    }
    free(r);
    printf("order ok %d\n", n);
    return 0;
}

static int sc_kill(int n)
{
    ray_opts o = RAY_ACTOR_OPTS;
    o.max_restarts = 1;
    ray_actor a;
    ray_value v, sl = RAY_I(1000);
    ray_ref z, *r = calloc((size_t)n, sizeof *r);
    CHECK(r != NULL, "calloc");
    CHECK(ray_actor_create("seq", &sl, 1, &o, &a) == RAY_OK, "create");
    CHECK(ray_actor_call(a, "reset", NULL, 0, NULL, &z) == RAY_OK &&
              ray_get(z, 30000, &v) == RAY_OK, "reset");
    int64_t pid0 = v.as.i;
    usleep(50 * 1000); /* past a refusal's wait: the calls below go directly */
    for (int i = 0; i < n; i++) {
        ray_value x = RAY_I(i);
        CHECK(ray_actor_call(a, "next", &x, 1, NULL, &r[i]) == RAY_OK, "call %d", i);
    }
    CHECK(ray_get(r[5], 30000, &v) == RAY_OK && v.as.i == 5, "next(5) before the kill");
    CHECK(ray_actor_kill(a, false) == RAY_OK, "kill");
    int ok = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        int rc = ray_get(r[i], 30000, &v);
        CHECK(rc == RAY_OK || rc == RAY_EACTOR, "next(%d) after the kill: rc %d", i, rc);
        if (rc == RAY_OK) {
            CHECK(v.as.i == i && failed == 0, "next(%d) ok (value %lld) after %d failed", i,
                  (long long)v.as.i, failed);
            ok++;
        } else {
            failed++;
        }
    }
    CHECK(failed > 0, "no call failed though the actor was killed with %d unanswered", n - ok);
    /* the restarted actor: its first calls go through the node, later ones directly */
    int64_t pid1 = 0;
    for (int tries = 0; tries < 200 && pid1 == 0; tries++) {
        CHECK(ray_actor_call(a, "reset", NULL, 0, NULL, &z) == RAY_OK, "reset after restart");
        if (ray_get(z, 30000, &v) == RAY_OK)
            pid1 = v.as.i;
        else
            usleep(20 * 1000);
    }
    CHECK(pid1 != 0 && pid1 != pid0, "the actor restarted (pid %lld, before %lld)",
          (long long)pid1, (long long)pid0);
    for (int round = 0; round < 3; round++) {
        usleep(50 * 1000);
        for (int i = 0; i < 200; i++) {
            ray_value x = RAY_I(round * 200 + i);
            CHECK(ray_actor_call(a, "next", &x, 1, NULL, &r[i]) == RAY_OK, "call %d", i);
        }
        for (int i = 0; i < 200; i++)
            CHECK(ray_get(r[i], 30000, &v) == RAY_OK && v.as.i == round * 200 + i,
                  "after restart: next(%d)", round * 200 + i);
    }
    free(r);
    printf("kill ok %d ran, %d failed\n", ok, failed);
    return 0;
}

int ray_main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "order";
    if (strcmp(s, "order") == 0)
        return sc_order(argc > 2 ? atoi(argv[2]) : 5000, argc > 3 && strcmp(argv[3], "node") == 0);
    if (strcmp(s, "kill") == 0)
        return sc_kill(argc > 2 ? atoi(argv[2]) : 300);
    fprintf(stderr, "unknown scenario %s\n", s);
    return 2;
}
