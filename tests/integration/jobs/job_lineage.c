/*
 * job_lineage.c — the job library of the fault tests (test_lineage,
 * test_chaos, test_partition): lost objects rebuilt from their lineage,
 * RAY_ELOST with a reason, and work that survives killed workers and nodes.
 *
 *   ray submit job_lineage.so -- SCENARIO DIR [ARGS]
 *
 * The scenarios talk to the test script through files in DIR: a task
 * touches DIR/m.<what> when it has made its result, the driver touches
 * DIR/submitted and waits (at most 120 s) for DIR/go before it reads the
 * results back, DIR/half when half of its results are in. Each prints what
 * it checked and returns 0 when every result is the one expected.
 */
#include <ray.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job_check.h"

static void touch(const char *dir, const char *what)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, what);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
}

static bool exists(const char *dir, const char *what)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, what);
    return stat(path, &st) == 0;
}

/* Wait up to SECS for DIR/WHAT. */
static bool wait_file(const char *dir, const char *what, int secs)
{
    for (int i = 0; i < secs * 20; i++) {
        if (exists(dir, what))
            return true;
        usleep(50000);
    }
    return false;
}

/* ---------------------------------------------------------------- tasks */

/* A BYTES value of MB MiB: its first 8 bytes are the counter C, every other
 * byte is C & 0xff. */
static int fill(ray_task *t, int64_t c, int64_t mb)
{
    size_t len = (size_t)mb << 20;
    void *p;
    int rc = ray_return_alloc(t, len, &p);
    if (rc != RAY_OK)
        return ray_fail(t, "ray_return_alloc(%zu): %s", len, ray_strerror(rc));
    memset(p, (int)(c & 0xff), len);
    memcpy(p, &c, sizeof c);
    return 0;
}

/* Check a value made by fill; returns its counter, or -1. */
static int64_t counter_of(const ray_value *v, int64_t mb)
{
    if (v->type != RAY_BYTES || v->as.buf.len != (size_t)mb << 20)
        return -1;
    int64_t c;
    memcpy(&c, v->as.buf.ptr, sizeof c);
    const unsigned char *p = v->as.buf.ptr;
    for (size_t i = sizeof c; i < v->as.buf.len; i += 4093)
        if (p[i] != (unsigned char)(c & 0xff))
            return -1;
    if (p[v->as.buf.len - 1] != (unsigned char)(c & 0xff))
        return -1;
    return c;
}

/* big(c, mb, dir, tag): a fresh value with counter C. */
static int big(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 4 || a[0].type != RAY_INT || a[1].type != RAY_INT || a[2].type != RAY_STR ||
        a[3].type != RAY_STR)
        return ray_fail(t, "big(c, mb, dir, tag)");
    int rc = fill(t, a[0].as.i, a[1].as.i);
    if (rc == 0)
        touch(a[2].as.buf.ptr, a[3].as.buf.ptr);
    return rc;
}
RAY_REMOTE(big);

/* step(prev, mb, dir, tag): prev's counter + 1. */
static int step(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 4 || a[1].type != RAY_INT || a[2].type != RAY_STR || a[3].type != RAY_STR)
        return ray_fail(t, "step(prev, mb, dir, tag)");
    int64_t c = counter_of(&a[0], a[1].as.i);
    if (c < 0)
        return ray_fail(t, "step: its argument is not a value made by fill");
    int rc = fill(t, c + 1, a[1].as.i);
    if (rc == 0)
        touch(a[2].as.buf.ptr, a[3].as.buf.ptr);
    return rc;
}
RAY_REMOTE(step);

/* put_big(mb, dir, tag): ray_put a value with counter 77 and return its ref. */
static int put_big(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 3 || a[0].type != RAY_INT || a[1].type != RAY_STR || a[2].type != RAY_STR)
        return ray_fail(t, "put_big(mb, dir, tag)");
    size_t len = (size_t)a[0].as.i << 20;
    void *p;
    ray_ref r;
    int rc = ray_create(len, &p, &r);
    if (rc != RAY_OK)
        return ray_fail(t, "ray_create: %s", ray_strerror(rc));
    memset(p, 77, len);
    int64_t c = 77;
    memcpy(p, &c, sizeof c);
    if ((rc = ray_seal(r)) != RAY_OK)
        return ray_fail(t, "ray_seal: %s", ray_strerror(rc));
    touch(a[1].as.buf.ptr, a[2].as.buf.ptr);
    return ray_return(t, RAY_R(r));
}
RAY_REMOTE(put_big);

/* die_after_return(mb, dir): returns MB MiB with counter 9, and the first
 * time (no DIR/died yet) kills its own worker right after the return went
 * to the node: the retry meets the return its first attempt made. */
static int die_after_return(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 2 || a[0].type != RAY_INT || a[1].type != RAY_STR)
        return ray_fail(t, "die_after_return(mb, dir)");
    size_t len = (size_t)a[0].as.i << 20;
    unsigned char *buf = malloc(len);
    if (buf == NULL)
        return ray_fail(t, "out of memory");
    memset(buf, 9, len);
    int64_t c = 9;
    memcpy(buf, &c, sizeof c);
    int rc = ray_return(t, RAY_BYTES_V(buf, len));
    free(buf);
    if (rc != RAY_OK)
        return ray_fail(t, "ray_return: %s: %s", ray_strerror(rc), ray_last_error());
    if (!exists(a[1].as.buf.ptr, "died")) {
        touch(a[1].as.buf.ptr, "died");
        usleep(200000); /* the return is sealed at the node by now */
        kill(getpid(), SIGKILL);
    }
    return 0;
}
RAY_REMOTE(die_after_return);

/* Append one line to DIR/runs.TAG: how many times a task ran. */
static void count_run(const char *dir, const char *tag)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/runs.%s", dir, tag);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, "run\n", 4);
        (void)w;
        close(fd);
    }
}

/* counted(c, mb, dir, tag): like big, and each run appends to DIR/runs.TAG. */
static int counted(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 4 || a[0].type != RAY_INT || a[1].type != RAY_INT || a[2].type != RAY_STR ||
        a[3].type != RAY_STR)
        return ray_fail(t, "counted(c, mb, dir, tag)");
    count_run(a[2].as.buf.ptr, a[3].as.buf.ptr);
    int rc = fill(t, a[0].as.i, a[1].as.i);
    if (rc == 0)
        touch(a[2].as.buf.ptr, a[3].as.buf.ptr);
    return rc;
}
RAY_REMOTE(counted);

/* consume(v, mb): the counter of a value made by fill (a waiter on it). */
static int consume(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 2 || a[1].type != RAY_INT)
        return ray_fail(t, "consume(v, mb)");
    return ray_return(t, RAY_I(counter_of(&a[0], a[1].as.i)));
}
RAY_REMOTE(consume);

/* gated(c, mb, dir): touches DIR/started, waits (at most 120 s) for
 * DIR/gate, then returns like big. */
static int gated(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 3 || a[0].type != RAY_INT || a[1].type != RAY_INT || a[2].type != RAY_STR)
        return ray_fail(t, "gated(c, mb, dir)");
    touch(a[2].as.buf.ptr, "started");
    if (!wait_file(a[2].as.buf.ptr, "gate", 120))
        return ray_fail(t, "gated: no gate in 120 s");
    return fill(t, a[0].as.i, a[1].as.i);
}
RAY_REMOTE(gated);

static int square(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 2 || a[0].type != RAY_INT || a[1].type != RAY_INT)
        return ray_fail(t, "square(i, sleep_ms)");
    if (a[1].as.i > 0)
        usleep((useconds_t)a[1].as.i * 1000);
    return ray_return(t, RAY_I(a[0].as.i * a[0].as.i));
}
RAY_REMOTE(square);

static int where(ray_task *t, const ray_value *a, size_t n)
{
    (void)a;
    (void)n;
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(where);

/* an actor that counts its calls (its state restarts with it) */
typedef struct { int64_t n; } counter;
static void *counter_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t;
    (void)a;
    (void)n;
    return calloc(1, sizeof(counter));
}
static void counter_free(void *self) { free(self); }
RAY_ACTOR(counter);
static int counter_incr(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)a;
    (void)n;
    counter *c = self;
    return ray_return(t, RAY_I(++c->n));
}
RAY_METHOD(counter, incr);
/* blob(mb, dir, tag): MB MiB (counter 33), then DIR/TAG */
static int counter_blob(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    if (n != 3 || a[0].type != RAY_INT || a[1].type != RAY_STR || a[2].type != RAY_STR)
        return ray_fail(t, "blob(mb, dir, tag)");
    int rc = fill(t, 33, a[0].as.i);
    if (rc == 0)
        touch(a[1].as.buf.ptr, a[2].as.buf.ptr);
    return rc;
}
RAY_METHOD(counter, blob);

/* ------------------------------------------------------------ scenarios */

/*
 * lost DIR MB N CHAIN: N values of MB MiB, a chain of CHAIN steps, a put
 * object and a max_retries=0 value, all made on other nodes (the driver's
 * node has no CPU). Then DIR/submitted; the script kills the node that made
 * them and starts another; DIR/go; the driver reads everything back.
 */
static int sc_lost(const char *dir, int64_t mb, int n, int chain)
{
    ray_opts o = RAY_OPTS;
    ray_ref *bigs = calloc((size_t)n, sizeof *bigs);
    ray_ref *links = calloc((size_t)chain, sizeof *links);
    char tag[64];
    for (int i = 0; i < n; i++) {
        snprintf(tag, sizeof tag, "m.big.%d", i);
        ray_value args[] = { RAY_I(1000 + i), RAY_I(mb), RAY_S(dir), RAY_S(tag) };
        CHECK(ray_call("big", args, 4, &o, &bigs[i]) == RAY_OK, "ray_call big");
    }
    snprintf(tag, sizeof tag, "m.chain.0");
    ray_value a0[] = { RAY_I(0), RAY_I(mb), RAY_S(dir), RAY_S(tag) };
    CHECK(ray_call("big", a0, 4, &o, &links[0]) == RAY_OK, "ray_call chain 0");
    for (int k = 1; k < chain; k++) {
        snprintf(tag, sizeof tag, "m.chain.%d", k);
        ray_value args[] = { RAY_R(links[k - 1]), RAY_I(mb), RAY_S(dir), RAY_S(tag) };
        CHECK(ray_call("step", args, 4, &o, &links[k]) == RAY_OK, "ray_call step %d", k);
    }
    ray_ref outer, once;
    ray_value ap[] = { RAY_I(mb), RAY_S(dir), RAY_S("m.put") };
    CHECK(ray_call("put_big", ap, 3, &o, &outer) == RAY_OK, "ray_call put_big");
    ray_opts o0 = RAY_OPTS;
    o0.max_retries = 0;
    ray_value a1[] = { RAY_I(5), RAY_I(mb), RAY_S(dir), RAY_S("m.once") };
    CHECK(ray_call("big", a1, 4, &o0, &once) == RAY_OK, "ray_call big (max_retries=0)");
    /* two 1-CPU actors (so they live on a node with CPUs): one may restart */
    ray_actor keep, once_a;
    ray_opts ak = RAY_ACTOR_OPTS;
    ak.num_cpus = 1;
    ak.max_restarts = 1;
    CHECK(ray_actor_create("counter", NULL, 0, &ak, &keep) == RAY_OK, "actor create");
    ray_opts a0o = RAY_ACTOR_OPTS;
    a0o.num_cpus = 1;
    CHECK(ray_actor_create("counter", NULL, 0, &a0o, &once_a) == RAY_OK, "actor create");
    ray_ref cr;
    ray_value cv;
    CHECK(ray_actor_call(keep, "incr", NULL, 0, NULL, &cr) == RAY_OK, "actor call");
    CHECK(ray_get(cr, 60000, &cv) == RAY_OK && cv.as.i == 1, "actor answers");
    CHECK(ray_actor_call(once_a, "incr", NULL, 0, NULL, &cr) == RAY_OK, "actor call");
    CHECK(ray_get(cr, 60000, &cv) == RAY_OK && cv.as.i == 1, "actor answers");
    ray_ref blob;
    ray_value ab[] = { RAY_I(mb), RAY_S(dir), RAY_S("m.blob") };
    CHECK(ray_actor_call(once_a, "blob", ab, 3, NULL, &blob) == RAY_OK, "actor call blob");
    /* the put object's ref comes home (a small value); the object stays there */
    ray_value ov;
    CHECK(ray_get(outer, 60000, &ov) == RAY_OK && ov.type == RAY_REF, "get the put object's ref");
    ray_ref inner = ov.as.ref;
    printf("submitted %d values of %lld MiB, a chain of %d, a put object, a max_retries=0 value "
           "and an actor call's big result\n",
           n, (long long)mb, chain);
    fflush(stdout);
    touch(dir, "submitted");
    CHECK(wait_file(dir, "go", 120), "no go from the test within 120 s");

    double t0 = now();
    ray_value v;
    CHECK(ray_get(bigs[0], 120000, &v) == RAY_OK, "get value 0 after its node died");
    double first_ms = (now() - t0) * 1000;
    CHECK(counter_of(&v, mb) == 1000, "value 0 rebuilt intact");
    ray_value_release(&v);
    printf("lineage_rebuild_10mb_ms=%.0f (first lost value, %lld MiB, back after its node died)\n",
           first_ms, (long long)mb);
    int good = 1;
    for (int i = 1; i < n; i++) {
        CHECK(ray_get(bigs[i], 120000, &v) == RAY_OK, "get value %d after its node died", i);
        if (counter_of(&v, mb) == 1000 + i)
            good++;
        ray_value_release(&v);
    }
    printf("%d of %d lost values rebuilt intact\n", good, n);
    CHECK(ray_get(links[chain - 1], 120000, &v) == RAY_OK, "get the chain's end");
    int64_t c = counter_of(&v, mb);
    ray_value_release(&v);
    printf("chain of %d rebuilt: its end has counter %lld (want %d)\n", chain, (long long)c,
           chain - 1);
    CHECK(c == chain - 1, "chain end");

    int rc = ray_get(inner, 60000, &v);
    printf("put object: %s: %s\n", ray_strerror(rc), rc == RAY_OK ? "(value)" : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    rc = ray_get(once, 60000, &v);
    printf("max_retries=0 value: %s: %s\n", ray_strerror(rc),
           rc == RAY_OK ? "(value)" : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    rc = ray_get(blob, 60000, &v);
    printf("actor call result: %s: %s\n", ray_strerror(rc),
           rc == RAY_OK ? "(value)" : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    /* the actors lived on the dead node: the one with a restart left starts
     * again elsewhere (its state anew), the other is dead */
    rc = -1;
    int tries = 0;
    for (; tries < 100 && rc != RAY_OK; tries++) {
        CHECK(ray_actor_call(keep, "incr", NULL, 0, NULL, &cr) == RAY_OK, "actor call");
        rc = ray_get(cr, 30000, &cv);
        if (rc != RAY_OK)
            usleep(200000);
    }
    printf("actor with max_restarts=1 after its node died: %s (counter %lld, %d call(s))\n",
           rc == RAY_OK ? "restarted elsewhere, answers" : ray_last_error(),
           rc == RAY_OK ? (long long)cv.as.i : -1LL, tries);
    CHECK(ray_actor_call(once_a, "incr", NULL, 0, NULL, &cr) == RAY_OK, "actor call");
    rc = ray_get(cr, 30000, &cv);
    printf("actor with max_restarts=0 after its node died: %s\n", ray_strerror(rc));
    fflush(stdout);
    free(bigs);
    free(links);
    return good == n ? 0 : 1;
}

/*
 * trim DIR MB N: N values made elsewhere, as in lost, on a node whose
 * lineage budget keeps only the last few: after their node died, the first
 * is RAY_ELOST (lineage trimmed), the last is rebuilt.
 */
static int sc_trim(const char *dir, int64_t mb, int n)
{
    ray_opts o = RAY_OPTS;
    ray_ref *refs = calloc((size_t)n, sizeof *refs);
    char tag[64];
    for (int i = 0; i < n; i++) {
        snprintf(tag, sizeof tag, "m.trim.%d", i);
        ray_value args[] = { RAY_I(2000 + i), RAY_I(mb), RAY_S(dir), RAY_S(tag) };
        CHECK(ray_call("big", args, 4, &o, &refs[i]) == RAY_OK, "ray_call big");
    }
    printf("submitted %d values\n", n);
    fflush(stdout);
    touch(dir, "submitted");
    CHECK(wait_file(dir, "go", 120), "no go from the test within 120 s");
    ray_value v;
    int rc = ray_get(refs[0], 60000, &v);
    printf("first value: %s: %s\n", ray_strerror(rc), rc == RAY_OK ? "(value)" : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    rc = ray_get(refs[n - 1], 60000, &v);
    printf("last value: %s\n", rc == RAY_OK && counter_of(&v, mb) == 2000 + n - 1
                                    ? "rebuilt intact"
                                    : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    fflush(stdout);
    free(refs);
    return 0;
}

/*
 * tasks DIR N SLEEP_MS: N tasks with max_retries=-1 (and an actor with
 * max_restarts=-1 called alongside); DIR/half once half of the results are
 * in; prints how many are correct.
 */
static int sc_tasks(const char *dir, int n, int sleep_ms, bool with_actor)
{
    ray_opts o = RAY_OPTS;
    o.max_retries = -1;
    ray_ref *refs = calloc((size_t)n, sizeof *refs);
    ray_actor a;
    ray_opts ao = RAY_ACTOR_OPTS;
    ao.max_restarts = -1;
    if (with_actor)
        CHECK(ray_actor_create("counter", NULL, 0, &ao, &a) == RAY_OK, "actor create");
    double t0 = now();
    int ncalls = with_actor ? n / 200 : 0;
    ray_ref *calls = calloc((size_t)ncalls + 1, sizeof *calls);
    for (int i = 0; i < n; i++) {
        ray_value args[] = { RAY_I(i), RAY_I(sleep_ms) };
        CHECK(ray_call("square", args, 2, &o, &refs[i]) == RAY_OK, "ray_call %d", i);
        if (with_actor && i % 200 == 199)
            CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &calls[i / 200]) == RAY_OK,
                  "actor call");
    }
    printf("submitted %d tasks\n", n);
    fflush(stdout);
    touch(dir, "submitted");
    int good = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(refs[i], 300000, &v);
        if (rc == RAY_OK && v.type == RAY_INT && v.as.i == (int64_t)i * i)
            good++;
        else if (bad++ < 5)
            fprintf(stderr, "task %d: %s: %s\n", i, ray_strerror(rc), ray_last_error());
        if (i == n / 2)
            touch(dir, "half");
    }
    printf("%d of %d results correct in %.1f s\n", good, n, now() - t0);
    if (with_actor) {
        int cok = 0, cactor = 0;
        for (int i = 0; i < ncalls; i++) {
            ray_value v;
            int rc = ray_get(calls[i], 60000, &v);
            cok += rc == RAY_OK;
            cactor += rc == RAY_EACTOR;
        }
        printf("actor calls during the run: %d answered, %d failed with RAY_EACTOR, %d other\n",
               cok, cactor, ncalls - cok - cactor);
        /* the call that was running when its worker died fails once
         * (RAY_EACTOR); the restarted actor answers the next */
        int rc = -1, tries = 0;
        ray_value v;
        for (; tries < 50 && rc != RAY_OK; tries++) {
            ray_ref r;
            CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK, "actor call");
            rc = ray_get(r, 30000, &v);
            if (rc != RAY_OK)
                usleep(100000);
        }
        printf("actor with max_restarts=-1: %s after %d call(s)\n",
               rc == RAY_OK ? "answers" : "does not answer", tries);
        CHECK(rc == RAY_OK, "the actor answers at the end");
    }
    touch(dir, "done");
    fflush(stdout);
    free(calls);
    free(refs);
    return good == n ? 0 : 1;
}

/* where [RES]: the node a 1-CPU task (needing custom resources RES) runs on. */
static int sc_where(const char *res)
{
    ray_ref r;
    ray_value v;
    ray_opts o = RAY_OPTS;
    o.resources = res;
    CHECK(ray_call("where", NULL, 0, &o, &r) == RAY_OK, "ray_call where");
    CHECK(ray_get(r, 60000, &v) == RAY_OK && v.type == RAY_STR, "get where");
    printf("ran on %s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    return 0;
}

/* retry_big DIR: a task whose worker dies right after it returned 8 MiB is
 * retried and its value arrives. */
static int sc_retry_big(const char *dir)
{
    ray_ref r;
    ray_value v;
    ray_value args[] = { RAY_I(8), RAY_S(dir) };
    CHECK(ray_call("die_after_return", args, 2, NULL, &r) == RAY_OK, "ray_call");
    /* read it once the retry has run (a get now would see the first copy) */
    CHECK(wait_file(dir, "died", 60), "the first attempt never ran");
    sleep(3);
    int rc = ray_get(r, 60000, &v);
    printf("retried after its worker died past its return: %s\n",
           rc == RAY_OK && counter_of(&v, 8) == 9 ? "value intact" : ray_last_error());
    if (rc == RAY_OK)
        ray_value_release(&v);
    return rc == RAY_OK ? 0 : 1;
}

/*
 * soak DIR SECONDS: rounds of mixed work until SECONDS pass or DIR/stop
 * appears (tests/soak/soak.sh kills workers and nodes meanwhile): 200 short
 * tasks, a chain of five 1 MiB values, ten actor calls. Prints the totals;
 * returns 0 if no result was lost or wrong.
 */
/* The hex of R's object ID into OUT (41 bytes); the task that makes it has
 * the same ID with the last four bytes zero. Returns OUT. */
static char *soak_hex(ray_ref r, char *out)
{
    for (int i = 0; i < RAY_ID_SIZE; i++)
        sprintf(out + 2 * i, "%02x", r.id[i]);
    return out;
}

/* Read the end of round ROUND's chain CH, count it lost or wrong, free it.
 * Every loss and every wrong value is printed with its object ID and the
 * time, so the nodes' logs can be searched for it. */
static double soak_chain_max_s, soak_task_max_s; /* the longest gets, in seconds */
static long soak_slow_gets;                        /* gets that took over 10 s */

static void soak_waited(double s, double *max)
{
    if (s > *max)
        *max = s;
    soak_slow_gets += s > 10;
}

static int soak_chain_check(ray_ref *ch, long round, long *lost, long *wrong)
{
    ray_value v;
    char hex[2 * RAY_ID_SIZE + 1];
    double t0 = now();
    int rc = ray_get(ch[4], 600000, &v);
    soak_waited(now() - t0, &soak_chain_max_s);
    if (rc != RAY_OK) {
        (*lost)++;
        fprintf(stderr, "soak LOST round %ld chain object %s after %.1f s at %ld: %s: %s\n", round,
                soak_hex(ch[4], hex), now() - t0, (long)time(NULL), ray_strerror(rc),
                ray_last_error());
    } else {
        if (counter_of(&v, 1) != round * 10 + 4) {
            (*wrong)++;
            fprintf(stderr, "soak WRONG round %ld chain object %s\n", round, soak_hex(ch[4], hex));
        }
        ray_value_release(&v);
    }
    ray_free(ch, 5);
    return 0;
}

static int sc_soak(const char *dir, int secs)
{
    ray_opts o = RAY_OPTS;
    o.max_retries = -1;
    ray_actor a;
    ray_opts ao = RAY_ACTOR_OPTS;
    ao.max_restarts = -1;
    CHECK(ray_actor_create("counter", NULL, 0, &ao, &a) == RAY_OK, "actor create");
    double end = now() + secs;
    long rounds = 0, tasks = 0, wrong = 0, lost = 0, calls_ok = 0, calls_eactor = 0,
         calls_other = 0;
    ray_ref sq[200], ch[5], prev[5], calls[10];
    while (now() < end && !exists(dir, "stop")) {
        rounds++;
        for (int i = 0; i < 200; i++) {
            ray_value args[] = { RAY_I(i), RAY_I(5) };
            CHECK(ray_call("square", args, 2, &o, &sq[i]) == RAY_OK, "ray_call square");
        }
        ray_value b[] = { RAY_I(rounds * 10), RAY_I(1), RAY_S(dir), RAY_S("soak.marker") };
        CHECK(ray_call("big", b, 4, &o, &ch[0]) == RAY_OK, "ray_call big");
        for (int k = 1; k < 5; k++) {
            ray_value s[] = { RAY_R(ch[k - 1]), RAY_I(1), RAY_S(dir), RAY_S("soak.marker") };
            CHECK(ray_call("step", s, 4, &o, &ch[k]) == RAY_OK, "ray_call step");
        }
        for (int k = 0; k < 10; k++)
            CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &calls[k]) == RAY_OK, "actor call");
        for (int i = 0; i < 200; i++) {
            ray_value v;
            char hex[2 * RAY_ID_SIZE + 1];
            double t0 = now();
            int rc = ray_get(sq[i], 600000, &v);
            soak_waited(now() - t0, &soak_task_max_s);
            if (rc != RAY_OK) {
                lost++;
                fprintf(stderr, "soak LOST round %ld task %d object %s after %.1f s at %ld: %s: %s\n",
                        rounds, i, soak_hex(sq[i], hex), now() - t0, (long)time(NULL),
                        ray_strerror(rc), ray_last_error());
            } else if (v.type != RAY_INT || v.as.i != (int64_t)i * i) {
                wrong++;
                fprintf(stderr, "soak WRONG round %ld task %d object %s\n", rounds, i,
                        soak_hex(sq[i], hex));
            }
        }
        /* the previous round's chain is read only now: its values sat on
         * the nodes for a round, through the kills, and may be rebuilt */
        ray_value v;
        int rc;
        if (rounds > 1 && soak_chain_check(prev, rounds - 1, &lost, &wrong) < 0)
            return 1;
        memcpy(prev, ch, sizeof ch);
        for (int k = 0; k < 10; k++) {
            rc = ray_get(calls[k], 600000, &v);
            if (rc == RAY_OK)
                calls_ok++;
            else if (rc == RAY_EACTOR)
                calls_eactor++;
            else {
                char hex[2 * RAY_ID_SIZE + 1];
                calls_other++;
                fprintf(stderr, "soak ACTOR round %ld call %d object %s at %ld: %s: %s\n", rounds,
                        k, soak_hex(calls[k], hex), (long)time(NULL), ray_strerror(rc),
                        ray_last_error());
            }
        }
        ray_free(sq, 200);
        tasks += 205;
        if (rounds % 10 == 0) {
            printf("soak: round %ld, %ld tasks, %ld lost, %ld wrong\n", rounds, tasks, lost, wrong);
            fflush(stdout);
        }
    }
    if (rounds > 0 && soak_chain_check(prev, rounds, &lost, &wrong) < 0)
        return 1;
    printf("soak waits: longest get of a task's result %.1f s, of a chain's end %.1f s; "
           "%ld gets over 10 s\n",
           soak_task_max_s, soak_chain_max_s, soak_slow_gets);
    printf("soak total: %ld rounds, %ld tasks, %ld results lost, %ld wrong; actor calls %ld "
           "answered, %ld RAY_EACTOR, %ld other\n",
           rounds, tasks, lost, wrong, calls_ok, calls_eactor, calls_other);
    fflush(stdout);
    return lost == 0 && wrong == 0 && calls_other == 0 ? 0 : 1;
}

/* freed: N values of MB MiB made on a node with resource b (counted);
 * after DIR/go1 the first half is freed ("freed N/2"), then after DIR/go2
 * (their node was killed and replaced meanwhile) every value is got: the
 * kept half rebuilt intact, the freed half an error, never rebuilt (the
 * test counts runs). The test reads ray_lineage_bytes in between. */
static int sc_freed(const char *dir, int n, int64_t mb)
{
    ray_opts o = RAY_OPTS;
    o.resources = "b=1";
    ray_ref *r = calloc((size_t)n, sizeof *r);
    char tag[64];
    for (int i = 0; i < n; i++) {
        snprintf(tag, sizeof tag, "f%d", i);
        ray_value args[] = { RAY_I(500 + i), RAY_I(mb), RAY_S(dir), RAY_S(tag) };
        CHECK(ray_call("counted", args, 4, &o, &r[i]) == RAY_OK, "ray_call counted");
    }
    for (int i = 0; i < n; i++) { /* made (markers), not got: no copy comes here */
        snprintf(tag, sizeof tag, "f%d", i);
        CHECK(wait_file(dir, tag, 120), "value %d made", i);
    }
    sleep(1); /* the tasks' ends reach this node */
    printf("made %d\n", n);
    fflush(stdout);
    touch(dir, "made");
    CHECK(wait_file(dir, "go1", 120), "go1");
    CHECK(ray_free(r, (size_t)n / 2) == RAY_OK, "ray_free");
    printf("freed %d\n", n / 2);
    fflush(stdout);
    touch(dir, "freed");
    CHECK(wait_file(dir, "go2", 120), "go2");
    int kept = 0, gone = 0;
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(r[i], 60000, &v);
        if (i < n / 2) {
            if (rc != RAY_OK)
                gone++;
            else
                ray_value_release(&v);
            continue;
        }
        CHECK(rc == RAY_OK, "get kept value %d", i);
        if (counter_of(&v, mb) == 500 + i)
            kept++;
        ray_value_release(&v);
    }
    printf("kept %d of %d rebuilt intact, %d freed values not got\n", kept, n - n / 2, gone);
    free(r);
    return kept == n - n / 2 && gone == n / 2 ? 0 : 1;
}

/* waiters: one value of MB MiB made on a node with resource b (counted,
 * tag "w"); after DIR/go (that node was killed and replaced) three tasks on
 * a node with resource w take it as their argument while the driver gets
 * it too: four waiters on one lost object. With FAR, the driver does not
 * get it: only the tasks on that other node wait for it. */
static int sc_waiters(const char *dir, int64_t mb, bool far)
{
    ray_opts o = RAY_OPTS;
    o.resources = "b=1";
    ray_ref r;
    ray_value args[] = { RAY_I(4242), RAY_I(mb), RAY_S(dir), RAY_S("w") };
    CHECK(ray_call("counted", args, 4, &o, &r) == RAY_OK, "ray_call counted");
    CHECK(wait_file(dir, "w", 120), "value made");
    sleep(1);
    touch(dir, "submitted");
    CHECK(wait_file(dir, "go", 120), "go");
    ray_opts ow = RAY_OPTS;
    ow.resources = "w=1";
    ray_ref c[3];
    for (int i = 0; i < 3; i++) {
        ray_value ca[] = { RAY_R(r), RAY_I(mb) };
        CHECK(ray_call("consume", ca, 2, &ow, &c[i]) == RAY_OK, "ray_call consume");
    }
    ray_value v;
    int good = 0;
    if (!far) {
        CHECK(ray_get(r, 90000, &v) == RAY_OK, "the driver's get");
        good += counter_of(&v, mb) == 4242;
        ray_value_release(&v);
    }
    for (int i = 0; i < 3; i++) {
        int rc = ray_get(c[i], 90000, &v);
        if (rc != RAY_OK) {
            printf("consumer %d: %s: %s\n", i, ray_strerror(rc), ray_last_error());
            continue;
        }
        good += v.type == RAY_INT && v.as.i == 4242;
    }
    printf("waiters %d of %d got the value\n", good, far ? 3 : 4);
    return good == (far ? 3 : 4) ? 0 : 1;
}

/* missed DIR MB TIMEOUT_MS: a get of the MB MiB value of a task that waits
 * for DIR/gate (the test takes this node's pub/sub connection away before
 * it opens it, so the holder's publication is missed): prints how long the
 * get took and what it got. */
static int sc_missed(const char *dir, int64_t mb, int timeout_ms)
{
    ray_ref r;
    ray_value args[] = { RAY_I(5151), RAY_I(mb), RAY_S(dir) };
    CHECK(ray_call("gated", args, 3, NULL, &r) == RAY_OK, "ray_call gated");
    touch(dir, "submitted");
    double t0 = now();
    ray_value v;
    int rc = ray_get(r, timeout_ms, &v);
    if (rc != RAY_OK) {
        printf("get: %s after %.1f s: %s\n", ray_strerror(rc), now() - t0, ray_last_error());
        return 1;
    }
    int64_t c = counter_of(&v, mb);
    ray_value_release(&v);
    printf("got the value (counter %lld) %.1f s after the get\n", (long long)c, now() - t0);
    return c == 5151 ? 0 : 1;
}

int ray_main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (strcmp(s, "lost") == 0)
        return sc_lost(dir, argc > 3 ? atoll(argv[3]) : 10, argc > 4 ? atoi(argv[4]) : 4,
                       argc > 5 ? atoi(argv[5]) : 20);
    if (strcmp(s, "retry_big") == 0)
        return sc_retry_big(dir);
    if (strcmp(s, "soak") == 0)
        return sc_soak(dir, argc > 3 ? atoi(argv[3]) : 3600);
    if (strcmp(s, "trim") == 0)
        return sc_trim(dir, argc > 3 ? atoll(argv[3]) : 1, argc > 4 ? atoi(argv[4]) : 20);
    if (strcmp(s, "tasks") == 0)
        return sc_tasks(dir, argc > 3 ? atoi(argv[3]) : 1000, argc > 4 ? atoi(argv[4]) : 0, false);
    if (strcmp(s, "chaos") == 0)
        return sc_tasks(dir, argc > 3 ? atoi(argv[3]) : 20000, argc > 4 ? atoi(argv[4]) : 0, true);
    if (strcmp(s, "freed") == 0)
        return sc_freed(dir, argc > 3 ? atoi(argv[3]) : 20, argc > 4 ? atoll(argv[4]) : 1);
    if (strcmp(s, "waiters") == 0)
        return sc_waiters(dir, argc > 3 ? atoll(argv[3]) : 4, false);
    if (strcmp(s, "far_waiters") == 0)
        return sc_waiters(dir, argc > 3 ? atoll(argv[3]) : 4, true);
    if (strcmp(s, "missed") == 0)
        return sc_missed(dir, argc > 3 ? atoll(argv[3]) : 1, argc > 4 ? atoi(argv[4]) : 30000);
    if (strcmp(s, "where") == 0)
        return sc_where(argc > 2 ? argv[2] : NULL);
    fprintf(stderr, "unknown scenario '%s'\n", s);
    return 2;
}
