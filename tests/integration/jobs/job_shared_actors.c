/*
 * job_shared_actors.c — actors that share a worker process
 * (ray_opts.share_worker, docs/actors-shared.md), for test_shared_actors.sh.
 *
 *   ray submit job_shared_actors.so -- basic N OUTFILE
 *       N shared counters (each its own start value) and one actor of its
 *       own: separate state, call order per actor (each call carries the
 *       number its actor expects next), ray_actor_self, an actor that waits
 *       for another actor of its process, kill of one (the others answer,
 *       its state is freed: "freed counter K"), a restart after a kill
 *       without no_restart. Writes "ACTOR_HEX PID" lines to OUTFILE (the
 *       test compares them with `ray list actors`). Prints "basic ok".
 *   ray submit job_shared_actors.so -- crash
 *       four shared counters in one process, two with max_restarts 1, two
 *       with 0; a call that segfaults kills the process: the first two
 *       answer again from a new process with their state started over, the
 *       other two are dead (RAY_EACTOR). Prints "crash ok".
 *   ray submit job_shared_actors.so -- far N
 *       N (up to 16) shared counters that need the resource "far", which
 *       only another node has: they share one process there; one is killed
 *       from here, the others answer from that process. Prints "far ok".
 *   ray submit job_shared_actors.so -- bad
 *       share_worker with num_gpus, with max_concurrency > 1, with detached:
 *       each refused with RAY_EINVAL; prints each error line.
 */
#include "job_check.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct counter {
    int64_t base, n;     /* value = base + n */
    int64_t expect;      /* the sequence number the next call must carry */
};

static void *counter_new(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT) {
        ray_fail(t, "counter wants a start value");
        return NULL;
    }
    struct counter *c = calloc(1, sizeof *c);
    c->base = args[0].as.i;
    return c;
}
static void counter_free(void *self)
{
    struct counter *c = self;
    printf("freed counter %lld\n", (long long)c->base);
    free(c);
}
RAY_ACTOR(counter);

/* incr(SEQ): SEQ must be the number of calls this instance ran before. */
static int counter_incr(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct counter *c = self;
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "incr wants its sequence number");
    if (args[0].as.i != c->expect)
        return ray_fail(t, "counter %lld: call %lld ran out of order (expected %lld)",
                        (long long)c->base, (long long)args[0].as.i, (long long)c->expect);
    c->expect++;
    c->n++;
    return ray_return(t, RAY_I(c->base + c->n));
}
RAY_METHOD(counter, incr);

static int counter_get(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    struct counter *c = self;
    return ray_return(t, RAY_I(c->base + c->n));
}
RAY_METHOD(counter, get);

/* say(): a line on stdout and one on stderr, each naming this counter. */
static int counter_say(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    struct counter *c = self;
    printf("counter %lld says hi\n", (long long)c->base);
    fprintf(stderr, "counter %lld warns\n", (long long)c->base);
    return ray_return(t, RAY_I(c->base));
}
RAY_METHOD(counter, say);

static int counter_pid(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(getpid()));
}
RAY_METHOD(counter, pid);

/* self(): the ID ray_actor_self gives, as bytes. */
static int counter_self(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    ray_actor me;
    if (ray_actor_self(&me) != RAY_OK)
        return ray_fail(t, "ray_actor_self: %s", ray_last_error());
    return ray_return(t, RAY_BYTES_V(me.id, RAY_ID_SIZE));
}
RAY_METHOD(counter, self);

/* ask(OTHER): OTHER.get(), waited for here (OTHER may share this process). */
static int counter_ask(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    if (nargs != 1 || args[0].type != RAY_ACTOR)
        return ray_fail(t, "ask wants an actor");
    ray_ref r;
    ray_value v;
    if (ray_actor_call(args[0].as.actor, "get", NULL, 0, NULL, &r) != RAY_OK ||
        ray_get(r, 20000, &v) != RAY_OK)
        return ray_fail(t, "ask: %s", ray_last_error());
    int64_t x = v.as.i;
    ray_value_release(&v);
    return ray_return(t, RAY_I(x));
}
RAY_METHOD(counter, ask);

/* nap(MS): sleep, then answer MS. */
static int counter_nap(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "nap wants milliseconds");
    usleep((useconds_t)args[0].as.i * 1000);
    return ray_return(t, args[0]);
}
RAY_METHOD(counter, nap);

static int counter_crash(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)t;
    (void)args;
    (void)nargs;
    fflush(stdout);
    raise(SIGSEGV);
    return 0;
}
RAY_METHOD(counter, crash);

static int get_int(ray_actor a, const char *m, const ray_value *args, size_t nargs, int64_t *out)
{
    ray_ref r;
    ray_value v;
    int rc = ray_actor_call(a, m, args, nargs, NULL, &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 60000, &v);
    if (rc != RAY_OK)
        return rc;
    *out = v.type == RAY_INT ? v.as.i : -1;
    ray_value_release(&v);
    return RAY_OK;
}

static int make(ray_actor *a, int64_t base, int max_restarts, bool share)
{
    ray_opts o = RAY_ACTOR_OPTS;
    o.share_worker = share;
    o.max_restarts = max_restarts;
    ray_value arg = RAY_I(base);
    return ray_actor_create("counter", &arg, 1, &o, a);
}

#define CALLS 40

static int basic(int n, const char *outfile)
{
    ray_actor *a = calloc((size_t)n, sizeof *a);
    int64_t *pid = calloc((size_t)n, sizeof *pid);
    ray_ref *r = calloc((size_t)n * CALLS, sizeof *r);
    for (int i = 0; i < n; i++)
        CHECK(make(&a[i], 1000 * (i + 1), 0, true) == RAY_OK, "create shared counter %d", i);
    /* interleaved: call k of every actor before call k+1 of any */
    for (int k = 0; k < CALLS; k++)
        for (int i = 0; i < n; i++) {
            ray_value arg = RAY_I(k);
            CHECK(ray_actor_call(a[i], "incr", &arg, 1, NULL, &r[k * n + i]) == RAY_OK, "incr");
        }
    for (int k = 0; k < CALLS; k++)
        for (int i = 0; i < n; i++) {
            ray_value v;
            CHECK(ray_get(r[k * n + i], 60000, &v) == RAY_OK, "incr %d of counter %d", k, i);
            CHECK(v.as.i == 1000 * (i + 1) + k + 1, "counter %d call %d gave %lld", i, k,
                  (long long)v.as.i);
            ray_value_release(&v);
        }
    printf("%d shared counters: %d calls each, in order, separate state\n", n, CALLS);
    {
        /* every counter prints, interleaved with the others of its process */
        ray_ref *sr = calloc((size_t)n, sizeof *sr);
        for (int i = 0; i < n; i++)
            CHECK(ray_actor_call(a[i], "say", NULL, 0, NULL, &sr[i]) == RAY_OK, "say");
        for (int i = 0; i < n; i++) {
            ray_value v;
            CHECK(ray_get(sr[i], 60000, &v) == RAY_OK, "say of %d", i);
            ray_value_release(&v);
        }
        free(sr);
    }
    for (int i = 0; i < n; i++) {
        CHECK(get_int(a[i], "pid", NULL, 0, &pid[i]) == RAY_OK, "pid of %d", i);
        ray_ref sr;
        ray_value v;
        CHECK(ray_actor_call(a[i], "self", NULL, 0, NULL, &sr) == RAY_OK &&
                  ray_get(sr, 60000, &v) == RAY_OK, "self of %d", i);
        CHECK(v.type == RAY_BYTES && v.as.buf.len == RAY_ID_SIZE &&
                  memcmp(v.as.buf.ptr, a[i].id, RAY_ID_SIZE) == 0,
              "ray_actor_self of counter %d is not its handle", i);
        ray_value_release(&v);
    }
    int procs = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen = seen || pid[j] == pid[i];
        procs += !seen;
    }
    printf("%d shared counters in %d worker process(es)\n", n, procs);
    FILE *f = fopen(outfile, "w");
    CHECK(f != NULL, "open %s", outfile);
    for (int i = 0; i < n; i++) {
        char hex[2 * RAY_ID_SIZE + 1];
        for (int b = 0; b < RAY_ID_SIZE; b++)
            snprintf(hex + 2 * b, 3, "%02x", a[i].id[b]);
        fprintf(f, "%s %lld\n", hex, (long long)pid[i]);
    }
    fclose(f);

    /* an actor of its own: another process */
    ray_actor own;
    int64_t own_pid;
    CHECK(make(&own, 7, 0, false) == RAY_OK && get_int(own, "pid", NULL, 0, &own_pid) == RAY_OK,
          "own actor");
    for (int i = 0; i < n; i++)
        CHECK(own_pid != pid[i], "the actor of its own shares pid %lld", (long long)own_pid);
    printf("an actor without share_worker has a process of its own\n");

    /* a shared actor waits for another one of its process */
    int64_t x;
    ray_value other = RAY_A(a[1]);
    CHECK(get_int(a[0], "ask", &other, 1, &x) == RAY_OK && x == 2000 + CALLS,
          "counter 0 asking counter 1 gave %lld", (long long)x);
    printf("a shared actor waited for another of its process: %lld\n", (long long)x);

    /* kill one: the others answer, its calls fail */
    CHECK(ray_actor_kill(a[0], true) == RAY_OK, "kill");
    ray_ref kr;
    ray_value v;
    int rc = RAY_OK;
    for (int tries = 0; tries < 200; tries++) { /* the kill and the call race: wait for the end */
        CHECK(ray_actor_call(a[0], "get", NULL, 0, NULL, &kr) == RAY_OK, "call after kill");
        rc = ray_get(kr, 60000, &v);
        if (rc != RAY_OK)
            break;
        ray_value_release(&v);
        usleep(20000);
    }
    CHECK(rc == RAY_EACTOR, "a call of the killed actor gave %s", ray_strerror(rc));
    printf("killed counter: %s\n", ray_last_error());
    for (int i = 1; i < n; i++) {
        CHECK(get_int(a[i], "get", NULL, 0, &x) == RAY_OK && x == 1000 * (i + 1) + CALLS,
              "counter %d after the kill", i);
        int64_t p;
        CHECK(get_int(a[i], "pid", NULL, 0, &p) == RAY_OK && p == pid[i],
              "counter %d moved from pid %lld to %lld", i, (long long)pid[i], (long long)p);
    }
    printf("the other %d counters answer from the same process\n", n - 1);

    /* killed while a call runs: the call cannot be stopped, but its caller
     * gets the death, and keeps it once the call's late answer came */
    ray_actor nap;
    CHECK(make(&nap, 900, 0, true) == RAY_OK, "napper");
    CHECK(get_int(nap, "get", NULL, 0, &x) == RAY_OK && x == 900, "napper alive");
    ray_value ms = RAY_I(400);
    ray_ref nr;
    CHECK(ray_actor_call(nap, "nap", &ms, 1, NULL, &nr) == RAY_OK, "nap");
    usleep(100000);
    CHECK(ray_actor_kill(nap, true) == RAY_OK, "kill the napper");
    rc = ray_get(nr, 60000, &v);
    CHECK(rc == RAY_EACTOR, "the running call of a killed actor gave %s", ray_strerror(rc));
    usleep(600000); /* its answer has come by now */
    rc = ray_get(nr, 60000, &v);
    CHECK(rc == RAY_EACTOR, "after its late answer the call gave %s", ray_strerror(rc));
    CHECK(get_int(a[1], "get", NULL, 0, &x) == RAY_OK && x == 2000 + CALLS, "counter 1 after");
    printf("a call running when its actor was killed failed, and stays failed\n");

    /* a kill that allows a restart: constructed again, its state new */
    ray_actor rs;
    CHECK(make(&rs, 500, 1, true) == RAY_OK, "restartable");
    ray_value arg0 = RAY_I(0);
    CHECK(get_int(rs, "incr", &arg0, 1, &x) == RAY_OK && x == 501, "restartable incr");
    CHECK(ray_actor_kill(rs, false) == RAY_OK, "kill with restart");
    x = -1;
    for (int tries = 0; tries < 300; tries++) {
        if (get_int(rs, "get", NULL, 0, &x) == RAY_OK && x == 500)
            break;
        usleep(20000);
    }
    CHECK(x == 500, "the restarted actor reads %lld", (long long)x);
    printf("killed with restart: constructed again, state %lld\n", (long long)x);
    printf("basic ok\n");
    fflush(stdout);
    free(a);
    free(pid);
    free(r);
    return 0;
}

static int crash(void)
{
    ray_actor a[4];
    int64_t pid[4];
    for (int i = 0; i < 4; i++) {
        CHECK(make(&a[i], 100 * (i + 1), i < 2 ? 1 : 0, true) == RAY_OK, "create %d", i);
        ray_value arg = RAY_I(0);
        int64_t x;
        CHECK(get_int(a[i], "incr", &arg, 1, &x) == RAY_OK && x == 100 * (i + 1) + 1, "incr %d", i);
        CHECK(get_int(a[i], "pid", NULL, 0, &pid[i]) == RAY_OK, "pid %d", i);
    }
    for (int i = 1; i < 4; i++)
        CHECK(pid[i] == pid[0], "counter %d is in pid %lld, counter 0 in %lld", i,
              (long long)pid[i], (long long)pid[0]);
    printf("4 shared counters in pid %lld\n", (long long)pid[0]);
    ray_ref cr;
    ray_value v;
    CHECK(ray_actor_call(a[2], "crash", NULL, 0, NULL, &cr) == RAY_OK, "crash call");
    int rc = ray_get(cr, 60000, &v);
    CHECK(rc == RAY_EACTOR, "the crashing call gave %s", ray_strerror(rc));
    printf("the crashing call failed: %s\n", ray_last_error());
    for (int i = 0; i < 2; i++) {
        int64_t x = -1, p = -1;
        CHECK(get_int(a[i], "get", NULL, 0, &x) == RAY_OK, "restarted counter %d", i);
        CHECK(x == 100 * (i + 1), "restarted counter %d reads %lld", i, (long long)x);
        CHECK(get_int(a[i], "pid", NULL, 0, &p) == RAY_OK && p != pid[0],
              "restarted counter %d in pid %lld", i, (long long)p);
        printf("counter %d (max_restarts 1) restarted in pid %lld, state %lld\n", i, (long long)p,
               (long long)x);
    }
    for (int i = 2; i < 4; i++) {
        int64_t x;
        rc = get_int(a[i], "get", NULL, 0, &x);
        CHECK(rc == RAY_EACTOR, "counter %d (max_restarts 0) gave %s", i, ray_strerror(rc));
        printf("counter %d (max_restarts 0) is dead: %s\n", i, ray_last_error());
    }
    printf("crash ok\n");
    return 0;
}

/* N shared counters that need the custom resource "far" (another node has
 * it): placed there, hosted by one process of that node, called and killed
 * from here. */
static int far(int n)
{
    ray_actor a[16];
    int64_t pid[16] = { 0 };
    if (n > 16)
        n = 16;
    for (int i = 0; i < n; i++) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.share_worker = true;
        o.resources = "far=1";
        ray_value arg = RAY_I(10 * (i + 1));
        CHECK(ray_actor_create("counter", &arg, 1, &o, &a[i]) == RAY_OK, "far counter %d", i);
    }
    for (int i = 0; i < n; i++) {
        ray_value arg = RAY_I(0);
        int64_t x;
        CHECK(get_int(a[i], "incr", &arg, 1, &x) == RAY_OK && x == 10 * (i + 1) + 1,
              "far counter %d incr", i);
        CHECK(get_int(a[i], "pid", NULL, 0, &pid[i]) == RAY_OK && pid[i] == pid[0],
              "far counter %d in pid %lld, counter 0 in %lld", i, (long long)pid[i],
              (long long)pid[0]);
    }
    printf("%d far counters in pid %lld\n", n, (long long)pid[0]);
    CHECK(ray_actor_kill(a[0], true) == RAY_OK, "kill far 0");
    int rc = RAY_OK;
    for (int tries = 0; tries < 200 && rc == RAY_OK; tries++) {
        int64_t x;
        rc = get_int(a[0], "get", NULL, 0, &x);
        if (rc == RAY_OK)
            usleep(20000);
    }
    CHECK(rc == RAY_EACTOR, "the killed far counter gave %s", ray_strerror(rc));
    for (int i = 1; i < n; i++) {
        int64_t x, p;
        CHECK(get_int(a[i], "get", NULL, 0, &x) == RAY_OK && x == 10 * (i + 1) + 1,
              "far counter %d after the kill", i);
        CHECK(get_int(a[i], "pid", NULL, 0, &p) == RAY_OK && p == pid[0], "far pid %d", i);
    }
    printf("far ok\n");
    return 0;
}

static int bad(void)
{
    ray_actor a;
    ray_value arg = RAY_I(1);
    ray_opts o = RAY_ACTOR_OPTS;
    o.share_worker = true;
    o.num_gpus = 1;
    CHECK(ray_actor_create("counter", &arg, 1, &o, &a) == RAY_EINVAL, "share with a GPU");
    printf("refused: %s\n", ray_last_error());
    o = RAY_ACTOR_OPTS;
    o.share_worker = true;
    o.max_concurrency = 4;
    CHECK(ray_actor_create("counter", &arg, 1, &o, &a) == RAY_EINVAL, "share with concurrency");
    printf("refused: %s\n", ray_last_error());
    o = RAY_ACTOR_OPTS;
    o.share_worker = true;
    o.detached = true;
    o.name = "shared_detached";
    CHECK(ray_actor_create("counter", &arg, 1, &o, &a) == RAY_EINVAL, "share detached");
    printf("refused: %s\n", ray_last_error());
    printf("bad ok\n");
    return 0;
}

int ray_main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 4 && strcmp(argv[1], "basic") == 0)
        return basic(atoi(argv[2]), argv[3]);
    if (argc >= 2 && strcmp(argv[1], "crash") == 0)
        return crash();
    if (argc >= 2 && strcmp(argv[1], "bad") == 0)
        return bad();
    if (argc >= 3 && strcmp(argv[1], "far") == 0)
        return far(atoi(argv[2]));
    fprintf(stderr, "usage: job_shared_actors.so basic N OUTFILE | crash | far N | bad\n");
    return 2;
}
