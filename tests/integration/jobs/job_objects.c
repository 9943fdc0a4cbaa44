/*
 * job_objects.c — the job library of test_freed.sh and test_job_objects.sh:
 * what happens to objects that are freed, and to the objects of a job that
 * ends. The first argument chooses the scenario:
 *
 *   ray submit job_objects.so -- freed [RES]      ray_free'd objects answer at once
 *   ray submit job_objects.so -- waitfree N RES   a get waiting on the node with
 *       RES for an object freed meanwhile is answered, N times
 *   ray submit job_objects.so -- fill N KIB RES HOW
 *       N ray_puts and N task returns of KIB KiB on the node with RES (and
 *       as many copies pulled back here), then HOW: ok (return 0), fail
 *       (return 3), crash (abort), hang (sleep until killed)
 *   ray submit job_objects.so -- detached make|check|kill
 *       a detached actor's own objects outlive the job that made it
 *
 * Each scenario prints what it checked and returns 0 when the behaviour is
 * the one a user relies on, non-zero otherwise (with the reason on stderr).
 */
#include <ray.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job_check.h"

static const char *hex(ray_ref r, char out[2 * RAY_ID_SIZE + 1])
{
    for (int i = 0; i < RAY_ID_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", r.id[i]);
    return out;
}

/* ---------------------------------------------------------------- tasks */

static int add(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 2 || args[0].type != RAY_INT || args[1].type != RAY_INT)
        return ray_fail(t, "add wants two ints");
    return ray_return(t, RAY_I(args[0].as.i + args[1].as.i));
}
RAY_REMOTE(add);

static int size_of(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_BYTES)
        return ray_fail(t, "size_of wants bytes");
    return ray_return(t, RAY_I((int64_t)args[0].as.buf.len));
}
RAY_REMOTE(size_of);

static int sleep_ms(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "sleep_ms wants an int");
    usleep((useconds_t)args[0].as.i * 1000);
    return ray_return(t, RAY_I(args[0].as.i));
}
RAY_REMOTE(sleep_ms);

/* ray_get of the ref inside the argument (a put RAY_REF): its status. */
static int get_inner(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_REF)
        return ray_fail(t, "get_inner wants a ref");
    ray_value v;
    int rc = ray_get(args[0].as.ref, 20000, &v);
    if (rc == RAY_OK)
        ray_value_release(&v);
    return ray_return(t, RAY_I(rc));
}
RAY_REMOTE(get_inner);

/* KIB KiB of 'x', written in place. */
static int blob(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "blob wants a size in KiB");
    void *p;
    size_t n = (size_t)args[0].as.i << 10;
    if (ray_return_alloc(t, n, &p) != RAY_OK)
        return ray_fail(t, "ray_return_alloc: %s", ray_last_error());
    memset(p, 'x', n);
    return 0;
}
RAY_REMOTE(blob);

/* ---------------------------------------------------------------- freed */

/* A freed object answers at once: ray_get (with a timeout and forever),
 * ray_get_all, ray_wait (ready), a task given it as argument (fails at
 * once, naming it), on this node and on the node with RES. An object that
 * is not made yet still waits. */
static int sc_freed(const char *res)
{
    char h[2 * RAY_ID_SIZE + 1];
    ray_value v;
    ray_ref small, big, ret;
    CHECK(ray_put(RAY_I(7), &small) == RAY_OK, "put");
    static char buf[200000];
    memset(buf, 'b', sizeof buf);
    CHECK(ray_put(RAY_BYTES_V(buf, sizeof buf), &big) == RAY_OK, "put big");
    ray_value a[2] = { RAY_I(1), RAY_I(2) };
    CHECK(ray_call("add", a, 2, NULL, &ret) == RAY_OK, "call");
    CHECK(ray_get(ret, 30000, &v) == RAY_OK && v.as.i == 3, "add");
    CHECK(ray_get(small, 30000, &v) == RAY_OK && v.as.i == 7, "get before free");
    ray_ref holder;
    CHECK(ray_put(RAY_R(big), &holder) == RAY_OK, "put a ref");
    ray_ref all[3] = { small, big, ret };
    CHECK(ray_free(all, 3) == RAY_OK, "free");

    double t0 = now();
    int rc = ray_get(small, 20000, &v);
    CHECK(rc == RAY_ENOTFOUND, "get of a freed put object: %s", ray_strerror(rc));
    CHECK(strstr(ray_last_error(), hex(small, h)) && strstr(ray_last_error(), "freed"),
          "the error names the object and says it was freed: %s", ray_last_error());
    char why[512];
    snprintf(why, sizeof why, "%s", ray_last_error());
    CHECK(ray_free(&small, 1) == RAY_OK, "free again");
    CHECK(strcmp(ray_last_error(), why) == 0,
          "ray_free leaves the last failure's message: '%s', was '%s'", ray_last_error(), why);
    rc = ray_get(big, -1, &v);
    CHECK(rc == RAY_ENOTFOUND, "get (forever) of a freed object: %s", ray_strerror(rc));
    rc = ray_get(ret, -1, &v);
    CHECK(rc == RAY_ENOTFOUND, "get of a freed task return: %s", ray_strerror(rc));
    rc = ray_get_all(all, 3, -1, (ray_value[3]){ 0 });
    CHECK(rc == RAY_ENOTFOUND, "get_all of freed objects: %s", ray_strerror(rc));
    bool ready[3];
    rc = ray_wait(all, 3, 3, 20000, ready);
    CHECK(rc == 3 && ready[0] && ready[1] && ready[2], "wait reports freed objects ready: %d", rc);

    /* a task given a freed object fails at once, here and on another node */
    for (int k = 0; k < (res ? 2 : 1); k++) {
        ray_opts o = RAY_OPTS;
        o.resources = k ? res : NULL;
        ray_value arg = RAY_R(big);
        ray_ref r;
        CHECK(ray_call("size_of", &arg, 1, &o, &r) == RAY_OK, "call with a freed arg");
        rc = ray_get(r, -1, &v);
        CHECK(rc == RAY_ENOTFOUND, "the task's return gives ENOTFOUND (%s): %s",
              k ? "other node" : "this node", ray_strerror(rc));
        CHECK(strstr(ray_last_error(), hex(big, h)) && strstr(ray_last_error(), "size_of"),
              "the error names the task and its argument: %s", ray_last_error());
        printf("task with a freed argument on %s: %s\n", k ? "another node" : "this node",
               ray_last_error());
    }
    /* an actor call given a freed object fails the same way */
    {
        ray_actor act;
        ray_ref r;
        CHECK(ray_actor_create("keeper", NULL, 0, NULL, &act) == RAY_OK, "create an actor");
        ray_value arg = RAY_R(big);
        CHECK(ray_actor_call(act, "len", &arg, 1, NULL, &r) == RAY_OK, "call with a freed arg");
        rc = ray_get(r, -1, &v);
        CHECK(rc == RAY_ENOTFOUND && strstr(ray_last_error(), hex(big, h)),
              "the actor call's return gives ENOTFOUND naming the object: %s (%s)",
              ray_strerror(rc), ray_last_error());
        ray_actor_kill(act, true);
    }

    /* a task's own ray_get of a freed object, here and on another node */
    for (int k = 0; k < (res ? 2 : 1); k++) {
        ray_opts o = RAY_OPTS;
        o.resources = k ? res : NULL;
        ray_value arg = RAY_R(holder);
        ray_ref r;
        CHECK(ray_call("get_inner", &arg, 1, &o, &r) == RAY_OK, "call get_inner");
        CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == RAY_ENOTFOUND,
              "a task's ray_get of a freed object gives ENOTFOUND at once: %s",
              v.type == RAY_INT ? ray_strerror((int)v.as.i) : "?");
    }
    double el = now() - t0;
    CHECK(el < 10, "all of that took %.1f s", el);

    /* freed while a task (on the node with RES) waits for it: answered then */
    {
        ray_ref slow, h2, r;
        ray_value s2 = RAY_I(4000);
        CHECK(ray_call("sleep_ms", &s2, 1, NULL, &slow) == RAY_OK, "call sleep");
        CHECK(ray_put(RAY_R(slow), &h2) == RAY_OK, "put a ref");
        ray_opts o = RAY_OPTS;
        o.resources = res;
        o.num_cpus = 0.5; /* another shape: not queued behind the sleep on its worker */
        ray_value arg = RAY_R(h2);
        CHECK(ray_call("get_inner", &arg, 1, &o, &r) == RAY_OK, "call get_inner");
        usleep(800 * 1000);
        double t1 = now();
        CHECK(ray_free(&slow, 1) == RAY_OK, "free while waited for");
        CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == RAY_ENOTFOUND,
              "a waiting get learns of the free: %s",
              v.type == RAY_INT ? ray_strerror((int)v.as.i) : "?");
        CHECK(now() - t1 < 2.5, "at once (%.1f s), not when the task ends", now() - t1);
    }

    /* not made yet: still waits, then answers */
    ray_value s = RAY_I(1500);
    CHECK(ray_call("sleep_ms", &s, 1, NULL, &ret) == RAY_OK, "call sleep");
    bool r1;
    CHECK(ray_wait(&ret, 1, 1, 300, &r1) == 0 && !r1, "a running task's return is not ready");
    CHECK(ray_get(ret, 200, &v) == RAY_ETIMEOUT, "nor gotten: %s", ray_last_error());
    CHECK(ray_get(ret, 30000, &v) == RAY_OK && v.as.i == 1500, "then it comes");
    ray_free(&ret, 1);
    CHECK(ray_get(ret, -1, &v) == RAY_ENOTFOUND, "and once freed it is gone");
    printf("freed objects answered at once (%.2f s)\n", el);
    return 0;
}

/* ---------------------------------------------------------------- a job's end */

static int sc_fill(int n, int kib, const char *res, const char *how)
{
    ray_opts o = RAY_OPTS;
    o.resources = res;
    static char buf[1 << 20];
    size_t len = (size_t)kib << 10;
    if (len > sizeof buf)
        len = sizeof buf;
    memset(buf, 'p', len);
    ray_ref *r = calloc((size_t)n, sizeof *r), *p = calloc((size_t)n, sizeof *p);
    CHECK(r && p, "memory");
    for (int i = 0; i < n; i++) {
        CHECK(ray_put(RAY_BYTES_V(buf, len), &p[i]) == RAY_OK, "put %d", i);
        ray_value a = RAY_I(kib);
        CHECK(ray_call("blob", &a, 1, &o, &r[i]) == RAY_OK, "call %d", i);
    }
    for (int i = 0; i < n; i++) {
        ray_value v;
        CHECK(ray_get(r[i], 60000, &v) == RAY_OK && v.as.buf.len == len, "get %d", i);
        ray_value_release(&v);
    }
    printf("filled: %d objects here, %d made on the node with %s\n", n, n, res);
    fflush(stdout);
    if (strcmp(how, "fail") == 0)
        return 3;
    if (strcmp(how, "crash") == 0)
        abort();
    if (strcmp(how, "hang") == 0 || strcmp(how, "busy") == 0) {
        /* busy: keep making objects on both nodes until killed */
        for (int i = 0; strcmp(how, "busy") == 0; i = (i + 1) % n) {
            ray_value a = RAY_I(kib);
            ray_free(&r[i], 1);
            CHECK(ray_call("blob", &a, 1, &o, &r[i]) == RAY_OK, "call %d", i);
            if (i % 64 == 0)
                usleep(1000);
        }
        for (;;)
            sleep(1);
    }
    return 0;
}

/* ---------------------------------------------------------------- detached actors */

typedef struct { ray_ref kept; } keeper;

static void *keeper_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    keeper *k = calloc(1, sizeof *k);
    return k;
}
static void keeper_free(void *self) { free(self); }
RAY_ACTOR(keeper);

/* Put an object the actor keeps; return its ref. */
static int keeper_make(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    keeper *k = self;
    static char buf[100000];
    memset(buf, 'k', sizeof buf);
    if (ray_put(RAY_BYTES_V(buf, sizeof buf), &k->kept) != RAY_OK)
        return ray_fail(t, "put: %s", ray_last_error());
    return ray_return(t, RAY_R(k->kept));
}
RAY_METHOD(keeper, make);

/* Read the kept object back: its size. */
static int keeper_read(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    keeper *k = self;
    ray_value v;
    if (ray_get(k->kept, 5000, &v) != RAY_OK)
        return ray_fail(t, "the kept object is gone: %s", ray_last_error());
    size_t len = v.as.buf.len;
    ray_value_release(&v);
    return ray_return(t, RAY_I((int64_t)len));
}
RAY_METHOD(keeper, read);

/* The length of a BYTES argument. */
static int keeper_len(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    if (nargs != 1 || args[0].type != RAY_BYTES)
        return ray_fail(t, "len wants bytes");
    return ray_return(t, RAY_I((int64_t)args[0].as.buf.len));
}
RAY_METHOD(keeper, len);

static int sc_detached(const char *step)
{
    ray_actor a;
    ray_ref r;
    ray_value v;
    if (strcmp(step, "make") == 0) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.name = "objkeeper";
        o.detached = true;
        CHECK(ray_actor_create("keeper", NULL, 0, &o, &a) == RAY_OK, "create");
        CHECK(ray_actor_call(a, "make", NULL, 0, NULL, &r) == RAY_OK, "make");
        CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_REF, "make returns a ref");
        char h[2 * RAY_ID_SIZE + 1];
        printf("kept object %s\n", hex(v.as.ref, h));
        return 0;
    }
    CHECK(ray_actor_lookup("objkeeper", &a) == RAY_OK, "the detached actor is there");
    if (strcmp(step, "kill") == 0) {
        CHECK(ray_actor_kill(a, true) == RAY_OK, "kill");
        printf("detached actor killed\n");
        return 0;
    }
    CHECK(ray_actor_call(a, "read", NULL, 0, NULL, &r) == RAY_OK, "read");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 100000, "its object outlived its job");
    printf("the detached actor's object outlived its job\n");
    return 0;
}

/* The waiting-get case of sc_freed, N times in a row: the sleeps pile up
 * and spill to the node with RES, and each ref holder is put just as the
 * task on the other node needs it (the object manager's subscribe race). */
static int sc_waitfree(int n, const char *res)
{
    for (int i = 0; i < n; i++) {
        ray_ref slow, h2, r;
        ray_value v;
        ray_value s2 = RAY_I(3000);
        CHECK(ray_call("sleep_ms", &s2, 1, NULL, &slow) == RAY_OK, "call sleep");
        CHECK(ray_put(RAY_R(slow), &h2) == RAY_OK, "put a ref");
        ray_opts o = RAY_OPTS;
        o.resources = res;
        ray_value arg = RAY_R(h2);
        CHECK(ray_call("get_inner", &arg, 1, &o, &r) == RAY_OK, "call get_inner");
        usleep(800 * 1000);
        double t1 = now();
        CHECK(ray_free(&slow, 1) == RAY_OK, "free while waited for");
        CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == RAY_ENOTFOUND,
              "round %d: a waiting get learns of the free: %s", i,
              v.type == RAY_INT ? ray_strerror((int)v.as.i) : "?");
        printf("round %d: %.2f s\n", i, now() - t1);
        fflush(stdout);
    }
    return 0;
}

int ray_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: job_objects.so SCENARIO [ARGS]\n");
        return 2;
    }
    const char *sc = argv[1];
    if (strcmp(sc, "freed") == 0)
        return sc_freed(argc > 2 ? argv[2] : NULL);
    if (strcmp(sc, "fill") == 0 && argc >= 6)
        return sc_fill(atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
    if (strcmp(sc, "waitfree") == 0 && argc >= 4)
        return sc_waitfree(atoi(argv[2]), argv[3]);
    if (strcmp(sc, "detached") == 0 && argc >= 3)
        return sc_detached(argv[2]);
    fprintf(stderr, "unknown scenario %s\n", sc);
    return 2;
}
