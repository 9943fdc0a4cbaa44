/*
 * job_semantics.c — the job library the integration tests submit: one
 * scenario per SPEC section 2 semantic, chosen by the first argument:
 *
 *   ray submit job_semantics.so -- SCENARIO [ARGS]
 *
 * Each scenario prints what it checked and returns 0 when the behaviour is
 * the one a user relies on, non-zero otherwise (with the reason on stderr).
 */
#include <ray.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job_check.h"

/* ---------------------------------------------------------------- tasks */

static int echo(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1)
        return ray_fail(t, "echo wants one argument, got %zu", nargs);
    return ray_return(t, args[0]);
}
RAY_REMOTE(echo);

static int add(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 2 || args[0].type != RAY_INT || args[1].type != RAY_INT)
        return ray_fail(t, "add wants two ints");
    return ray_return(t, RAY_I(args[0].as.i + args[1].as.i));
}
RAY_REMOTE(add);

static int might_fail(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs == 1 && args[0].type == RAY_INT && args[0].as.i < 0)
        return ray_fail(t, "Negative value %lld", (long long)args[0].as.i);
    return ray_return(t, RAY_I(nargs ? args[0].as.i : 0));
}
RAY_REMOTE(might_fail);

static int returns_nonzero(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    return 7;
}
RAY_REMOTE(returns_nonzero);

/* Crashes while the marker file does not exist yet (creating it), so the
 * first attempt dies and the retry succeeds. */
static int crash_once(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_STR)
        return ray_fail(t, "crash_once wants a marker path");
    const char *path = args[0].as.buf.ptr;
    if (access(path, F_OK) != 0) {
        FILE *fp = fopen(path, "w");
        if (fp)
            fclose(fp);
        raise(SIGSEGV);
    }
    return ray_return(t, RAY_S("survived"));
}
RAY_REMOTE(crash_once);

static int crash_always(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    if (nargs == 1 && args[0].type == RAY_INT && args[0].as.i == 1)
        abort();
    if (nargs == 1 && args[0].type == RAY_INT && args[0].as.i == 2)
        exit(3);
    raise(SIGSEGV);
    return 0;
}
RAY_REMOTE(crash_always);

static int sleep_ms(ray_task *t, const ray_value *args, size_t nargs)
{
    int64_t ms = nargs && args[0].type == RAY_INT ? args[0].as.i : 100;
    usleep((useconds_t)(ms * 1000));
    return ray_return(t, RAY_I(ms));
}
RAY_REMOTE(sleep_ms);

static int fib(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "fib wants an int");
    int64_t n = args[0].as.i;
    if (n < 2)
        return ray_return(t, RAY_I(n));
    ray_ref r[2];
    ray_value a1 = RAY_I(n - 1), a2 = RAY_I(n - 2);
    if (ray_call("fib", &a1, 1, NULL, &r[0]) != RAY_OK || ray_call("fib", &a2, 1, NULL, &r[1]) != RAY_OK)
        return ray_fail(t, "fib: ray_call: %s", ray_last_error());
    ray_value v[2];
    if (ray_get_all(r, 2, -1, v) != RAY_OK)
        return ray_fail(t, "fib: ray_get: %s", ray_last_error());
    return ray_return(t, RAY_I(v[0].as.i + v[1].as.i));
}
RAY_REMOTE(fib);

static int three(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    ray_return(t, RAY_I(1));
    ray_return(t, RAY_S("two"));
    return ray_return(t, RAY_F(3.5));
}
RAY_REMOTE(three);

/* Sum of the bytes of a BYTES argument. */
static int checksum(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_BYTES)
        return ray_fail(t, "checksum wants bytes");
    const unsigned char *p = args[0].as.buf.ptr;
    uint64_t s = 0;
    for (size_t i = 0; i < args[0].as.buf.len; i++)
        s += p[i];
    return ray_return(t, RAY_I((int64_t)s));
}
RAY_REMOTE(checksum);

/* A BYTES result of N bytes, byte i = i % 251, written in place. */
static int make_bytes(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "make_bytes wants a size");
    size_t n = (size_t)args[0].as.i;
    void *p;
    int rc = ray_return_alloc(t, n, &p);
    if (rc != RAY_OK)
        return ray_fail(t, "ray_return_alloc: %s", ray_last_error());
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = (unsigned char)(i % 251);
    return 0;
}
RAY_REMOTE(make_bytes);

static int say(ray_task *t, const ray_value *args, size_t nargs)
{
    printf("hello from a task: %s\n", nargs && args[0].type == RAY_STR ? (const char *)args[0].as.buf.ptr : "");
    fprintf(stderr, "a line on stderr\n");
    return ray_return(t, RAY_NIL_V);
}
RAY_REMOTE(say);

static int gpu_env(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    const char *v = getenv("CUDA_VISIBLE_DEVICES");
    return ray_return(t, RAY_S(v ? v : "(unset)"));
}
RAY_REMOTE(gpu_env);

/* Calls actor A's incr through a handle passed as an argument. */
static int use_actor(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_ACTOR)
        return ray_fail(t, "use_actor wants an actor handle");
    ray_ref r;
    ray_value one = RAY_I(1);
    if (ray_actor_call(args[0].as.actor, "incr", &one, 1, NULL, &r) != RAY_OK)
        return ray_fail(t, "actor call: %s", ray_last_error());
    ray_value v;
    if (ray_get(r, -1, &v) != RAY_OK)
        return ray_fail(t, "get: %s", ray_last_error());
    return ray_return(t, v);
}
RAY_REMOTE(use_actor);

static int lookup_and_read(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_STR)
        return ray_fail(t, "wants a name");
    ray_actor a;
    if (ray_actor_lookup(args[0].as.buf.ptr, &a) != RAY_OK)
        return ray_fail(t, "lookup: %s", ray_last_error());
    ray_ref r;
    if (ray_actor_call(a, "read", NULL, 0, NULL, &r) != RAY_OK)
        return ray_fail(t, "call: %s", ray_last_error());
    ray_value v;
    if (ray_get(r, -1, &v) != RAY_OK)
        return ray_fail(t, "get: %s", ray_last_error());
    return ray_return(t, v);
}
RAY_REMOTE(lookup_and_read);

static int where(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs == 1 && args[0].type == RAY_INT)
        usleep((useconds_t)args[0].as.i * 1000);
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(where);

/* Calls `where` needing resources RES from inside a task: where it ran. */
static int relay(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_STR)
        return ray_fail(t, "relay wants a resource spec");
    ray_opts o = RAY_OPTS;
    o.resources = args[0].as.buf.ptr;
    ray_ref r;
    if (ray_call("where", NULL, 0, &o, &r) != RAY_OK)
        return ray_fail(t, "relay: %s", ray_last_error());
    ray_value v;
    if (ray_get(r, 60000, &v) != RAY_OK)
        return ray_fail(t, "relay get: %s", ray_last_error());
    int rc = ray_return(t, v);
    ray_value_release(&v);
    return rc;
}
RAY_REMOTE(relay);

/* ---------------------------------------------------------------- actors */

typedef struct { int64_t value; } counter;

static void *counter_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    counter *c = calloc(1, sizeof *c);
    if (c && nargs > 0 && args[0].type == RAY_INT)
        c->value = args[0].as.i;
    return c;
}
static void counter_free(void *self)
{
    free(self);
}
static int counter_incr(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    counter *c = self;
    c->value += nargs > 0 && args[0].type == RAY_INT ? args[0].as.i : 1;
    return ray_return(t, RAY_I(c->value));
}
static int counter_read(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(((counter *)self)->value));
}
static int counter_crash(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)t;
    (void)args;
    (void)nargs;
    abort();
}
static int counter_slow(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    usleep(nargs && args[0].type == RAY_INT ? (useconds_t)args[0].as.i * 1000 : 300000);
    return ray_return(t, RAY_I(getpid()));
}
static int counter_where(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_S(ray_node_id()));
}
static int counter_gpus(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    const char *v = getenv("CUDA_VISIBLE_DEVICES");
    return ray_return(t, RAY_S(v ? v : "(unset)"));
}
RAY_ACTOR(counter);
RAY_METHOD(counter, gpus);
RAY_METHOD(counter, where);
RAY_METHOD(counter, incr);
RAY_METHOD(counter, read);
RAY_METHOD(counter, crash);
RAY_METHOD(counter, slow);

/* ---------------------------------------------------------------- scenarios */

static int sc_values(void)
{
    static const char bytes[] = { 0, 1, 2, (char)255 };
    ray_value in[] = { RAY_NIL_V, RAY_B(true), RAY_I(-42), RAY_F(2.5), RAY_S("hello"),
                       RAY_BYTES_V(bytes, 4) };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        /* through a task ... */
        ray_ref r;
        CHECK(ray_call("echo", &in[i], 1, NULL, &r) == RAY_OK, "call echo %zu", i);
        ray_value v;
        CHECK(ray_get(r, 20000, &v) == RAY_OK, "get echo %zu", i);
        CHECK(v.type == in[i].type, "echo %zu type %d != %d", i, v.type, in[i].type);
        /* ... and through put/get */
        ray_ref p;
        CHECK(ray_put(in[i], &p) == RAY_OK, "put %zu", i);
        ray_value w;
        CHECK(ray_get(p, 20000, &w) == RAY_OK, "get put %zu", i);
        CHECK(w.type == in[i].type, "put %zu type", i);
        const ray_value *vs[] = { &v, &w };
        for (int k = 0; k < 2; k++) {
            const ray_value *x = vs[k];
            switch (in[i].type) {
            case RAY_BOOL: CHECK(x->as.b == true, "bool"); break;
            case RAY_INT: CHECK(x->as.i == -42, "int %lld", (long long)x->as.i); break;
            case RAY_FLOAT: CHECK(x->as.f == 2.5, "float"); break;
            case RAY_STR: CHECK(strcmp(x->as.buf.ptr, "hello") == 0 && x->as.buf.len == 5, "str"); break;
            case RAY_BYTES: CHECK(x->as.buf.len == 4 && memcmp(x->as.buf.ptr, bytes, 4) == 0, "bytes"); break;
            default: break;
            }
        }
        ray_value_release(&v);
        ray_value_release(&w);
    }
    /* a REF argument reaches the task as the object's value */
    ray_ref p, r;
    CHECK(ray_put(RAY_I(20), &p) == RAY_OK, "put 20");
    ray_value args[] = { RAY_R(p), RAY_I(22) };
    CHECK(ray_call("add", args, 2, NULL, &r) == RAY_OK, "call add");
    ray_value v;
    CHECK(ray_get(r, 20000, &v) == RAY_OK && v.as.i == 42, "add(ref 20, 22) = %lld", (long long)v.as.i);
    /* a ref stored inside an object */
    ray_ref outer;
    CHECK(ray_put(RAY_R(p), &outer) == RAY_OK, "put a ref");
    CHECK(ray_get(outer, 20000, &v) == RAY_OK && v.type == RAY_REF, "get a ref");
    CHECK(memcmp(v.as.ref.id, p.id, RAY_ID_SIZE) == 0, "same ref back");
    /* chains: add(add(add(1,1),1),1) ... */
    ray_ref cur;
    CHECK(ray_put(RAY_I(0), &cur) == RAY_OK, "put 0");
    for (int i = 0; i < 50; i++) {
        ray_value a[] = { RAY_R(cur), RAY_I(1) };
        CHECK(ray_call("add", a, 2, NULL, &cur) == RAY_OK, "chain call");
    }
    CHECK(ray_get(cur, 30000, &v) == RAY_OK && v.as.i == 50, "chain of 50 = %lld", (long long)v.as.i);
    printf("values ok\n");
    return 0;
}

static int sc_zerocopy(void)
{
    void *p;
    ray_ref r;
    CHECK(ray_create(1 << 20, &p, &r) == RAY_OK, "create");
    memset(p, 7, 1 << 20);
    CHECK(ray_seal(r) == RAY_OK, "seal");
    ray_value a, b;
    CHECK(ray_get(r, 1000, &a) == RAY_OK && ray_get(r, 1000, &b) == RAY_OK, "gets");
    CHECK(a.type == RAY_BYTES && a.as.buf.len == (1 << 20), "type/len");
    CHECK(a.as.buf.ptr == b.as.buf.ptr, "two gets give the same address: %p %p", a.as.buf.ptr, b.as.buf.ptr);
    CHECK(((const char *)a.as.buf.ptr)[12345] == 7, "content");
    ray_value_release(&a);
    ray_value_release(&b);
    /* a task sees the created object too */
    ray_ref s;
    ray_value arg = RAY_R(r);
    CHECK(ray_call("checksum", &arg, 1, NULL, &s) == RAY_OK, "checksum call");
    ray_value v;
    CHECK(ray_get(s, 20000, &v) == RAY_OK && v.as.i == 7 * (1 << 20), "checksum %lld", (long long)v.as.i);
    printf("zero-copy ok (same address twice)\n");
    return 0;
}

static int sc_wait(void)
{
    ray_ref refs[4];
    int64_t ms[] = { 50, 50, 3000, 3000 };
    for (int i = 0; i < 4; i++) {
        ray_value a = RAY_I(ms[i]);
        CHECK(ray_call("sleep_ms", &a, 1, NULL, &refs[i]) == RAY_OK, "call");
    }
    bool ready[4] = { 0 };
    double t0 = now();
    int n = ray_wait(refs, 4, 2, -1, ready);
    CHECK(n == 2 && ready[0] && ready[1] && !ready[2] && !ready[3], "wait 2 of 4: n=%d", n);
    memset(ready, 0, sizeof ready);
    n = ray_wait(refs, 4, 4, 300, ready);
    CHECK(n == 2, "wait with timeout marks only the ready ones: %d", n);
    CHECK(now() - t0 < 2.5, "timeout honoured");
    memset(ready, 0, sizeof ready);
    n = ray_wait(refs, 4, 1, 0, ready);
    CHECK(n == 1, "at most num_ready marked: %d", n);
    /* failed tasks count as ready */
    ray_ref bad;
    ray_value neg = RAY_I(-1);
    CHECK(ray_call("might_fail", &neg, 1, NULL, &bad) == RAY_OK, "call");
    bool r1;
    CHECK(ray_wait(&bad, 1, 1, 10000, &r1) == 1 && r1, "failed task is ready");
    memset(ready, 0, sizeof ready);
    CHECK(ray_wait(refs, 4, 4, -1, ready) == 4, "all four in the end");
    printf("wait ok\n");
    return 0;
}

static int sc_errors(void)
{
    ray_ref r;
    ray_value neg = RAY_I(-5);
    CHECK(ray_call("might_fail", &neg, 1, NULL, &r) == RAY_OK, "call");
    ray_value v;
    int rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_ETASK, "ray_fail gives RAY_ETASK, got %d", rc);
    CHECK(strstr(ray_last_error(), "Negative value -5") != NULL, "message: %s", ray_last_error());
    CHECK(strstr(ray_last_error(), "might_fail") != NULL, "names the task: %s", ray_last_error());
    printf("error message: %s\n", ray_last_error());
    CHECK(ray_call("returns_nonzero", NULL, 0, NULL, &r) == RAY_OK, "call");
    rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_ETASK, "non-zero return gives RAY_ETASK, got %d", rc);
    /* an error flows through a task that takes the failed ref */
    ray_ref r2;
    CHECK(ray_call("might_fail", &neg, 1, NULL, &r) == RAY_OK, "call");
    ray_value a[] = { RAY_R(r), RAY_I(1) };
    CHECK(ray_call("add", a, 2, NULL, &r2) == RAY_OK, "call");
    rc = ray_get(r2, 20000, &v);
    CHECK(rc == RAY_ETASK && strstr(ray_last_error(), "Negative value"), "error propagates: %d", rc);
    /* unknown function: at once */
    rc = ray_call("no_such_function", NULL, 0, NULL, &r);
    CHECK(rc == RAY_EINVAL, "unknown function gives RAY_EINVAL, got %d", rc);
    CHECK(strstr(ray_last_error(), "no_such_function") != NULL, "message names it: %s", ray_last_error());
    printf("unknown function: %s\n", ray_last_error());
    /* a get with a timeout on a slow task */
    ray_value ms = RAY_I(2000);
    CHECK(ray_call("sleep_ms", &ms, 1, NULL, &r) == RAY_OK, "call");
    rc = ray_get(r, 100, &v);
    CHECK(rc == RAY_ETIMEOUT, "get timeout gives RAY_ETIMEOUT, got %d", rc);
    printf("errors ok\n");
    return 0;
}

static int sc_crash(const char *marker)
{
    /* crash then retry succeeds */
    ray_ref r;
    ray_value m = RAY_S(marker);
    CHECK(ray_call("crash_once", &m, 1, NULL, &r) == RAY_OK, "call");
    ray_value v;
    int rc = ray_get(r, 30000, &v);
    CHECK(rc == RAY_OK && v.type == RAY_STR && strcmp(v.as.buf.ptr, "survived") == 0,
          "crash then retry: rc=%d", rc);
    ray_value_release(&v);
    /* crash with no retries */
    ray_opts o = RAY_OPTS;
    o.max_retries = 0;
    ray_value kinds[] = { RAY_I(0), RAY_I(1), RAY_I(2) };
    const char *want[] = { "signal 11", "signal 6", "status 3" };
    for (int i = 0; i < 3; i++) {
        CHECK(ray_call("crash_always", &kinds[i], 1, &o, &r) == RAY_OK, "call");
        rc = ray_get(r, 30000, &v);
        CHECK(rc == RAY_EWORKER, "crash without retries gives RAY_EWORKER, got %d", rc);
        CHECK(strstr(ray_last_error(), want[i]) != NULL, "names %s: %s", want[i], ray_last_error());
        printf("crash: %s\n", ray_last_error());
    }
    /* retries used up */
    o.max_retries = 2;
    CHECK(ray_call("crash_always", &kinds[0], 1, &o, &r) == RAY_OK, "call");
    CHECK(ray_get(r, 30000, &v) == RAY_EWORKER, "retries used up");
    /* the pool is healthy afterwards */
    ray_ref refs[20];
    for (int i = 0; i < 20; i++) {
        ray_value a[] = { RAY_I(i), RAY_I(i) };
        CHECK(ray_call("add", a, 2, NULL, &refs[i]) == RAY_OK, "call");
    }
    for (int i = 0; i < 20; i++)
        CHECK(ray_get(refs[i], 30000, &v) == RAY_OK && v.as.i == 2 * i, "healthy pool %d", i);
    printf("crash ok\n");
    return 0;
}

static int sc_nested(void)
{
    ray_ref r;
    ray_value n = RAY_I(10);
    CHECK(ray_call("fib", &n, 1, NULL, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 120000, &v) == RAY_OK, "fib get");
    CHECK(v.as.i == 55, "fib(10) = %lld", (long long)v.as.i);
    printf("fib(10) = %lld\n", (long long)v.as.i);
    return 0;
}

static int sc_returns(void)
{
    ray_opts o = RAY_OPTS;
    o.num_returns = 3;
    ray_ref r[3];
    CHECK(ray_call("three", NULL, 0, &o, r) == RAY_OK, "call");
    ray_value v[3];
    CHECK(ray_get_all(r, 3, 20000, v) == RAY_OK, "get all");
    CHECK(v[0].as.i == 1 && strcmp(v[1].as.buf.ptr, "two") == 0 && v[2].as.f == 3.5, "values");
    for (int i = 0; i < 3; i++)
        ray_value_release(&v[i]);
    /* fewer returns set than asked: NIL */
    o.num_returns = 2;
    ray_value one = RAY_I(9);
    CHECK(ray_call("echo", &one, 1, &o, r) == RAY_OK, "call");
    CHECK(ray_get(r[1], 20000, &v[0]) == RAY_OK && v[0].type == RAY_NIL, "unset return is NIL");
    printf("num_returns ok\n");
    return 0;
}

static int sc_big(void)
{
    size_t in = 64u << 20, out = 32u << 20;
    unsigned char *buf = malloc(in);
    uint64_t sum = 0;
    for (size_t i = 0; i < in; i++) {
        buf[i] = (unsigned char)(i * 7);
        sum += buf[i];
    }
    ray_ref p, r, q;
    CHECK(ray_put(RAY_BYTES_V(buf, in), &p) == RAY_OK, "put 64 MiB");
    free(buf);
    ray_value a = RAY_R(p);
    CHECK(ray_call("checksum", &a, 1, NULL, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 60000, &v) == RAY_OK && (uint64_t)v.as.i == sum, "64 MiB in: checksum");
    ray_value n = RAY_I((int64_t)out);
    CHECK(ray_call("make_bytes", &n, 1, NULL, &q) == RAY_OK, "call");
    CHECK(ray_get(q, 60000, &v) == RAY_OK && v.type == RAY_BYTES && v.as.buf.len == out, "32 MiB out");
    const unsigned char *o = v.as.buf.ptr;
    for (size_t i = 0; i < out; i += 4093)
        CHECK(o[i] == (unsigned char)(i % 251), "content at %zu", i);
    ray_value_release(&v);
    printf("big objects ok\n");
    return 0;
}

/* Puts COUNT objects of MB MiB each into a smaller store: older ones spill
 * and come back intact. */
static int sc_spill(int count, int mb)
{
    size_t len = (size_t)mb << 20;
    ray_ref *refs = calloc((size_t)count, sizeof *refs);
    for (int i = 0; i < count; i++) {
        void *p;
        CHECK(ray_create(len, &p, &refs[i]) == RAY_OK, "create %d: %s", i, ray_last_error());
        memset(p, 'a' + i % 26, len);
        CHECK(ray_seal(refs[i]) == RAY_OK, "seal");
    }
    for (int i = 0; i < count; i++) {
        ray_value v;
        CHECK(ray_get(refs[i], 60000, &v) == RAY_OK, "get %d back", i);
        const char *c = v.as.buf.ptr;
        CHECK(v.as.buf.len == len && c[0] == 'a' + i % 26 && c[len - 1] == 'a' + i % 26, "content %d", i);
        ray_value_release(&v);
    }
    printf("spill ok: %d x %d MiB through the store\n", count, mb);
    free(refs);
    return 0;
}

/* A create that can never fit: RAY_ENOMEM saying how much was asked and
 * how much is pinned (here: MB MiB, held pinned by a get meanwhile). */
static int sc_enomem(int mb, int hold_mb)
{
    void *p;
    ray_ref held, r;
    ray_value v;
    CHECK(ray_create((size_t)hold_mb << 20, &p, &held) == RAY_OK, "create the held object");
    CHECK(ray_seal(held) == RAY_OK, "seal");
    CHECK(ray_get(held, 1000, &v) == RAY_OK, "get pins it");
    int rc = ray_create((size_t)mb << 20, &p, &r);
    CHECK(rc == RAY_ENOMEM, "create of %d MiB gives RAY_ENOMEM, got %d", mb, rc);
    CHECK(strstr(ray_last_error(), "asked") && strstr(ray_last_error(), "pinned"),
          "message says asked and pinned: %s", ray_last_error());
    printf("enomem: %s\n", ray_last_error());
    ray_value_release(&v);
    return 0;
}

static int sc_resources(void)
{
    ray_ref r[2];
    ray_value ms = RAY_I(1000);
    double t0 = now();
    for (int i = 0; i < 2; i++)
        CHECK(ray_call("sleep_ms", &ms, 1, NULL, &r[i]) == RAY_OK, "call");
    ray_value v[2];
    CHECK(ray_get_all(r, 2, 30000, v) == RAY_OK, "get");
    double par = now() - t0;
    ray_opts o = RAY_OPTS;
    o.num_cpus = 2;
    t0 = now();
    for (int i = 0; i < 2; i++)
        CHECK(ray_call("sleep_ms", &ms, 1, &o, &r[i]) == RAY_OK, "call");
    CHECK(ray_get_all(r, 2, 30000, v) == RAY_OK, "get");
    double ser = now() - t0;
    printf("two 1 s tasks: %.2f s with 1 CPU each, %.2f s with 2 CPUs each\n", par, ser);
    CHECK(par < 1.8, "1-CPU tasks ran in parallel (%.2f s)", par);
    CHECK(ser >= 1.95, "2-CPU tasks ran one at a time (%.2f s)", ser);
    return 0;
}

static int sc_infeasible(void)
{
    ray_opts o = RAY_OPTS;
    o.num_cpus = 64;
    ray_ref r;
    CHECK(ray_call("echo", (ray_value[]){ RAY_I(1) }, 1, &o, &r) == RAY_OK, "call");
    o = RAY_OPTS;
    o.resources = "unobtainium=1";
    ray_ref r2, r3;
    CHECK(ray_call("echo", (ray_value[]){ RAY_I(1) }, 1, &o, &r2) == RAY_OK, "call");
    o = RAY_OPTS;
    o.num_cpus = 64; /* a shape already warned of: no second warning */
    CHECK(ray_call("echo", (ray_value[]){ RAY_I(2) }, 1, &o, &r3) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 1500, &v) == RAY_ETIMEOUT, "infeasible task stays pending");
    printf("infeasible pending\n");
    fflush(stdout);
    sleep(4); /* the test looks at `ray status` meanwhile */
    /* other work still runs */
    ray_ref ok;
    CHECK(ray_call("echo", (ray_value[]){ RAY_I(5) }, 1, NULL, &ok) == RAY_OK, "call");
    CHECK(ray_get(ok, 20000, &v) == RAY_OK && v.as.i == 5, "feasible work runs");
    return 0;
}

static int sc_actors(void)
{
    ray_actor c;
    ray_value start = RAY_I(1000);
    CHECK(ray_actor_create("counter", &start, 1, NULL, &c) == RAY_OK, "create");
    ray_ref refs[200];
    for (int i = 0; i < 200; i++) {
        ray_value one = RAY_I(1);
        CHECK(ray_actor_call(c, "incr", &one, 1, NULL, &refs[i]) == RAY_OK, "call");
    }
    for (int i = 0; i < 200; i++) {
        ray_value v;
        CHECK(ray_get(refs[i], 30000, &v) == RAY_OK, "get %d", i);
        CHECK(v.as.i == 1001 + i, "call %d ran in order: %lld", i, (long long)v.as.i);
    }
    printf("actor order and constructor args ok\n");
    /* named actor, looked up from a task */
    ray_opts o = RAY_ACTOR_OPTS;
    o.name = "the_counter";
    ray_actor named;
    ray_value s2 = RAY_I(7);
    CHECK(ray_actor_create("counter", &s2, 1, &o, &named) == RAY_OK, "create named");
    ray_actor dup;
    CHECK(ray_actor_create("counter", &s2, 1, &o, &dup) == RAY_EINVAL, "name taken");
    ray_actor found;
    CHECK(ray_actor_lookup("the_counter", &found) == RAY_OK, "lookup");
    CHECK(memcmp(found.id, named.id, RAY_ID_SIZE) == 0, "same actor");
    CHECK(ray_actor_lookup("nobody", &found) == RAY_ENOTFOUND, "unknown name");
    ray_ref r;
    ray_value nm = RAY_S("the_counter");
    CHECK(ray_call("lookup_and_read", &nm, 1, NULL, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 7, "named actor read from a task");
    /* a handle passed to a task */
    ray_value h = RAY_A(c);
    CHECK(ray_call("use_actor", &h, 1, NULL, &r) == RAY_OK, "call");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 1201, "handle in a task: %lld", (long long)v.as.i);
    printf("named actors and handles ok\n");
    /* kill */
    CHECK(ray_actor_kill(named, true) == RAY_OK, "kill");
    usleep(300000);
    CHECK(ray_actor_call(named, "read", NULL, 0, NULL, &r) == RAY_OK, "call after kill");
    int rc = ray_get(r, 30000, &v);
    CHECK(rc == RAY_EACTOR, "call after kill gives RAY_EACTOR, got %d", rc);
    printf("killed actor: %s\n", ray_last_error());
    return 0;
}

static int sc_restart(void)
{
    ray_opts o = RAY_ACTOR_OPTS;
    o.max_restarts = 1;
    ray_actor c;
    ray_value start = RAY_I(10);
    CHECK(ray_actor_create("counter", &start, 1, &o, &c) == RAY_OK, "create");
    ray_ref r;
    ray_value v;
    CHECK(ray_actor_call(c, "incr", NULL, 0, NULL, &r) == RAY_OK && ray_get(r, 30000, &v) == RAY_OK &&
              v.as.i == 11, "incr");
    CHECK(ray_actor_call(c, "crash", NULL, 0, NULL, &r) == RAY_OK, "crash call");
    int rc = ray_get(r, 30000, &v);
    CHECK(rc == RAY_EACTOR, "the crashing call fails with RAY_EACTOR, got %d", rc);
    CHECK(ray_actor_call(c, "read", NULL, 0, NULL, &r) == RAY_OK, "read");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 10, "restarted: constructor re-run (%lld)", (long long)v.as.i);
    CHECK(ray_actor_call(c, "crash", NULL, 0, NULL, &r) == RAY_OK, "crash again");
    ray_get(r, 30000, &v);
    CHECK(ray_actor_call(c, "read", NULL, 0, NULL, &r) == RAY_OK, "read");
    rc = ray_get(r, 30000, &v);
    CHECK(rc == RAY_EACTOR, "no restarts left: RAY_EACTOR, got %d", rc);
    printf("restart ok: %s\n", ray_last_error());
    /* max_concurrency runs calls at once */
    o = RAY_ACTOR_OPTS;
    o.max_concurrency = 4;
    CHECK(ray_actor_create("counter", NULL, 0, &o, &c) == RAY_OK, "create");
    ray_ref rs[4];
    double t0 = now();
    for (int i = 0; i < 4; i++) {
        ray_value ms = RAY_I(600);
        CHECK(ray_actor_call(c, "slow", &ms, 1, NULL, &rs[i]) == RAY_OK, "call");
    }
    ray_value vs[4];
    CHECK(ray_get_all(rs, 4, 30000, vs) == RAY_OK, "get");
    double el = now() - t0;
    printf("4 calls of 0.6 s with max_concurrency 4: %.2f s\n", el);
    CHECK(el < 2.0, "concurrent calls overlapped (%.2f s)", el);
    return 0;
}

static int sc_print(void)
{
    ray_ref r;
    ray_value s = RAY_S("marker-1234");
    CHECK(ray_call("say", &s, 1, NULL, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 20000, &v) == RAY_OK, "get");
    printf("driver line\n");
    return 0;
}

struct thr { int id, n, ok; };
static void *thr_main(void *arg)
{
    struct thr *t = arg;
    ray_ref *refs = calloc((size_t)t->n, sizeof *refs);
    for (int i = 0; i < t->n; i++) {
        ray_value a[] = { RAY_I(t->id * 100000), RAY_I(i) };
        if (ray_call("add", a, 2, NULL, &refs[i]) != RAY_OK)
            return NULL;
    }
    for (int i = 0; i < t->n; i++) {
        ray_value v;
        if (ray_get(refs[i], 60000, &v) != RAY_OK || v.as.i != t->id * 100000 + i)
            return NULL;
    }
    t->ok = 1;
    free(refs);
    return NULL;
}

static int sc_threads(void)
{
    pthread_t th[4];
    struct thr a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct thr){ .id = i + 1, .n = 500 };
        pthread_create(&th[i], NULL, thr_main, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(a[i].ok, "thread %d", i);
    }
    printf("four threads ok\n");
    return 0;
}

static int sc_many(int n)
{
    ray_ref *refs = calloc((size_t)n, sizeof *refs);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        ray_value a[] = { RAY_I(i), RAY_I(1) };
        CHECK(ray_call("add", a, 2, NULL, &refs[i]) == RAY_OK, "call %d", i);
    }
    for (int i = 0; i < n; i++) {
        ray_value v;
        CHECK(ray_get(refs[i], 120000, &v) == RAY_OK && v.as.i == i + 1, "result %d", i);
    }
    printf("%d tasks in %.2f s\n", n, now() - t0);
    free(refs);
    return 0;
}

static int sc_gpu(void)
{
    ray_opts o = RAY_OPTS;
    o.num_gpus = 1;
    ray_ref r;
    CHECK(ray_call("gpu_env", NULL, 0, &o, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 30000, &v) == RAY_OK, "get");
    printf("CUDA_VISIBLE_DEVICES=%s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    return 0;
}

/* An actor holding both GPUs of the node sees both; restarted, it gets them
 * again; killed, it gives them back to a task that asks for both. */
static int sc_gpu_actor(void)
{
    ray_opts o = RAY_ACTOR_OPTS;
    o.num_gpus = 2;
    o.max_restarts = 1;
    ray_actor c;
    ray_ref r;
    ray_value v;
    CHECK(ray_actor_create("counter", NULL, 0, &o, &c) == RAY_OK, "create");
    CHECK(ray_actor_call(c, "gpus", NULL, 0, NULL, &r) == RAY_OK && ray_get(r, 30000, &v) == RAY_OK,
          "gpus");
    printf("actor: CUDA_VISIBLE_DEVICES=%s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    CHECK(ray_actor_call(c, "crash", NULL, 0, NULL, &r) == RAY_OK, "crash call");
    CHECK(ray_get(r, 30000, &v) == RAY_EACTOR, "the crashing call fails");
    CHECK(ray_actor_call(c, "gpus", NULL, 0, NULL, &r) == RAY_OK && ray_get(r, 30000, &v) == RAY_OK,
          "gpus after the restart");
    printf("restarted actor: CUDA_VISIBLE_DEVICES=%s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    CHECK(ray_actor_kill(c, true) == RAY_OK, "kill");
    ray_opts t = RAY_OPTS;
    t.num_gpus = 2;
    CHECK(ray_call("gpu_env", NULL, 0, &t, &r) == RAY_OK, "call");
    CHECK(ray_get(r, 60000, &v) == RAY_OK, "get");
    printf("task after the actor: CUDA_VISIBLE_DEVICES=%s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    return 0;
}

/* A detached named actor outlives the job that made it: "detached make"
 * creates it and leaves; "detached use" (a later job) finds and calls it. */
static int sc_detached(const char *step)
{
    ray_value v;
    ray_ref r;
    if (strcmp(step, "make") == 0) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.name = "keeper";
        o.detached = true;
        ray_actor a;
        ray_value start = RAY_I(40);
        CHECK(ray_actor_create("counter", &start, 1, &o, &a) == RAY_OK, "create detached");
        CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK, "incr");
        CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 41, "first job sees 41");
        printf("detached actor made\n");
        return 0;
    }
    if (strcmp(step, "queued") == 0) {
        /* both CPUs busy with this job's tasks: the detached actor's
         * creation (1 CPU) waits in the node's queue when the job ends */
        ray_value nap = RAY_I(60000);
        for (int i = 0; i < 2; i++)
            CHECK(ray_call("sleep_ms", &nap, 1, NULL, &r) == RAY_OK, "busy task %d", i);
        ray_opts o = RAY_ACTOR_OPTS;
        o.name = "queued_keeper";
        o.detached = true;
        o.num_cpus = 1;
        ray_actor a;
        ray_value start = RAY_I(7);
        CHECK(ray_actor_create("counter", &start, 1, &o, &a) == RAY_OK, "create detached");
        printf("detached actor asked for behind busy CPUs; the job ends now\n");
        return 0;
    }
    if (strcmp(step, "queued_use") == 0) {
        ray_actor a;
        CHECK(ray_actor_lookup("queued_keeper", &a) == RAY_OK, "the queued detached actor is known");
        CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK, "incr");
        CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 8,
              "a detached actor still queued when its job ended was made: %s", ray_last_error());
        CHECK(ray_actor_kill(a, true) == RAY_OK, "kill");
        printf("detached actor queued at its job's end was made: 8\n");
        return 0;
    }
    ray_actor a;
    CHECK(ray_actor_lookup("keeper", &a) == RAY_OK, "the detached actor is still there");
    CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK, "incr");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 42, "its state survived the first job: %lld",
          (long long)v.as.i);
    CHECK(ray_actor_kill(a, true) == RAY_OK, "kill");
    printf("detached actor outlived its job: 42\n");
    return 0;
}

/* ---------------------------------------------------------------- multi-node */

/* Where does a task that needs RES run? Prints "ran on NODEID". */
static int sc_where(const char *res)
{
    ray_opts o = RAY_OPTS;
    o.resources = res;
    ray_ref r;
    CHECK(ray_call("where", NULL, 0, &o, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 60000, &v) == RAY_OK, "get");
    printf("ran on %s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    return 0;
}

/* A task on the node with resource FROM submits one needing TO. */
static int sc_nested_route(const char *from, const char *to)
{
    ray_opts o = RAY_OPTS;
    o.resources = from;
    ray_value arg = RAY_S(to);
    ray_ref r;
    CHECK(ray_call("relay", &arg, 1, &o, &r) == RAY_OK, "call");
    ray_value v;
    CHECK(ray_get(r, 60000, &v) == RAY_OK, "get");
    printf("nested task ran on %s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    return 0;
}

static int sc_spread(int n, int ms)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        ray_value a = RAY_I(ms);
        CHECK(ray_call("where", &a, 1, NULL, &r[i]) == RAY_OK, "call");
    }
    char nodes[16][48];
    int nn = 0;
    for (int i = 0; i < n; i++) {
        ray_value v;
        CHECK(ray_get(r[i], 60000, &v) == RAY_OK, "get %d", i);
        int k = 0;
        while (k < nn && strcmp(nodes[k], v.as.buf.ptr) != 0)
            k++;
        if (k == nn && nn < 16)
            snprintf(nodes[nn++], sizeof nodes[0], "%s", (const char *)v.as.buf.ptr);
        ray_value_release(&v);
    }
    double el = now() - t0;
    printf("%d tasks of %d ms on %d nodes in %.2f s (serial: %.2f s)\n", n, ms, nn, el, n * ms / 1000.0);
    free(r);
    return 0;
}

/* An object made on the node with resource B, consumed on the node with C, fetched here. */
static int sc_transfer(const char *b, const char *c, int mb)
{
    ray_opts ob = RAY_OPTS, oc = RAY_OPTS;
    ob.resources = b;
    oc.resources = c;
    ray_ref made, sum, whereb;
    size_t n = (size_t)mb << 20;
    ray_value size = RAY_I((int64_t)n);
    CHECK(ray_call("make_bytes", &size, 1, &ob, &made) == RAY_OK, "make");
    ray_value arg = RAY_R(made);
    CHECK(ray_call("checksum", &arg, 1, &oc, &sum) == RAY_OK, "checksum");
    CHECK(ray_call("where", NULL, 0, &ob, &whereb) == RAY_OK, "where");
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += (unsigned char)(i % 251);
    ray_value v;
    CHECK(ray_get(sum, 60000, &v) == RAY_OK, "checksum get");
    CHECK((uint64_t)v.as.i == want, "checksum on C: %lld != %llu", (long long)v.as.i, (unsigned long long)want);
    CHECK(ray_get(made, 60000, &v) == RAY_OK && v.type == RAY_BYTES && v.as.buf.len == n, "driver get");
    const unsigned char *p = v.as.buf.ptr;
    for (size_t i = 0; i < n; i += 997)
        CHECK(p[i] == (unsigned char)(i % 251), "content at %zu", i);
    ray_value_release(&v);
    printf("object of %d MiB made on B, summed on C, fetched by the driver intact\n", mb);
    return 0;
}

/* Objects put while the head is alone, consumed on a node that joins after:
 * the head held their table entries back, and must write them once it sees
 * the new node. Waits for MARKER (the test creates it once the node is up). */
static int sc_late_join(const char *marker, const char *res)
{
    ray_ref x, y, r1, r2;
    static unsigned char buf[1 << 20];
    uint64_t want = 0;
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (unsigned char)(i % 251);
        want += buf[i];
    }
    CHECK(ray_put(RAY_I(41), &x) == RAY_OK, "put int");
    CHECK(ray_put(RAY_BYTES_V(buf, sizeof buf), &y) == RAY_OK, "put bytes");
    printf("objects put\n");
    fflush(stdout);
    for (int i = 0; i < 600 && access(marker, F_OK) != 0; i++)
        usleep(100 * 1000);
    ray_opts o = RAY_OPTS;
    o.resources = res;
    ray_value args[2] = { RAY_R(x), RAY_I(1) };
    CHECK(ray_call("add", args, 2, &o, &r1) == RAY_OK, "call add");
    ray_value a2 = RAY_R(y);
    CHECK(ray_call("checksum", &a2, 1, &o, &r2) == RAY_OK, "call checksum");
    ray_value v;
    CHECK(ray_get(r1, 60000, &v) == RAY_OK && v.as.i == 42, "add on the new node: %s", ray_last_error());
    CHECK(ray_get(r2, 60000, &v) == RAY_OK && (uint64_t)v.as.i == want, "checksum on the new node");
    printf("objects put before the node joined were read on it\n");
    return 0;
}

/* The client's cache of small values: many of them (the cache grows past
 * its first size), half freed (exact deletion), the rest still right, the
 * freed ones gone; task results pushed by the node likewise. */
static int sc_cache(int n)
{
    ray_ref *r = calloc((size_t)n, sizeof *r), *odd = calloc((size_t)n, sizeof *odd);
    CHECK(r && odd, "memory");
    for (int i = 0; i < n; i++)
        CHECK(ray_put(RAY_I(i), &r[i]) == RAY_OK, "put %d", i);
    for (int i = 0; i < n; i++) {
        ray_value v;
        CHECK(ray_get(r[i], 10000, &v) == RAY_OK && v.as.i == i, "get %d", i);
    }
    size_t nodd = 0;
    for (int i = 0; i < n; i++) {
        if (i % 2 == 0)
            CHECK(ray_free(&r[i], 1) == RAY_OK, "free %d", i);
        else
            odd[nodd++] = r[i];
    }
    for (size_t k = 0; k < nodd; k++) {
        ray_value v;
        CHECK(ray_get(odd[k], 10000, &v) == RAY_OK && v.as.i == (int64_t)(2 * k + 1),
              "kept value %zu after freeing the others", 2 * k + 1);
    }
    ray_value v;
    CHECK(ray_get(r[0], 200, &v) == RAY_ENOTFOUND, "a freed value is not answered from the cache");
    CHECK(ray_get(r[n - 2], 200, &v) == RAY_ENOTFOUND, "nor the last freed one");
    /* results of this process's tasks, pushed when they end */
    for (int i = 0; i < n; i++) {
        ray_value a[2] = { RAY_I(i), RAY_I(1) };
        CHECK(ray_call("add", a, 2, NULL, &r[i]) == RAY_OK, "call %d", i);
    }
    bool *ready = calloc((size_t)n, sizeof *ready);
    CHECK(ready && ray_wait(r, (size_t)n, (size_t)n, 60000, ready) == n, "wait for all results");
    for (int i = 0; i < n; i++)
        CHECK(ray_get(r[i], 10000, &v) == RAY_OK && v.as.i == i + 1, "result %d", i);
    ray_free(r, (size_t)n);
    printf("cache: %d values kept, freed and pushed correctly\n", n);
    free(ready);
    free(r);
    free(odd);
    return 0;
}

/* One wait for N objects that are made one by one while it waits: each is
 * ray_create'd (not sealed, so not ready), a second thread seals them all
 * once the wait is sent, and the wait must answer as soon as the last is
 * sealed. The node counts each object made against the wait in O(1); it
 * used to count all N again at each one (O(N^2): 100,000 objects held its
 * loop for minutes, so the wait timed out with fewer ready). */
struct wait_many_arg {
    ray_ref *r;
    int n, sealed;
    double t_sealed;
};

static void *wait_many_sealer(void *p)
{
    struct wait_many_arg *a = p;
    usleep(500 * 1000); /* let the main thread's OBJ_WAIT reach the node first */
    for (int i = 0; i < a->n; i++)
        if (ray_seal(a->r[i]) == RAY_OK)
            a->sealed++;
    a->t_sealed = now();
    return NULL;
}

static int sc_wait_many(int n)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    bool *ready = calloc((size_t)n, sizeof *ready);
    CHECK(r && ready, "memory");
    for (int i = 0; i < n; i++) {
        void *d;
        CHECK(ray_create(sizeof(int64_t), &d, &r[i]) == RAY_OK, "create %d: %s", i, ray_last_error());
        int64_t v = i;
        memcpy(d, &v, sizeof v);
    }
    struct wait_many_arg a = { .r = r, .n = n };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, wait_many_sealer, &a) == 0, "thread");
    double t0 = now();
    int got = ray_wait(r, (size_t)n, (size_t)n, 60000, ready);
    double t1 = now();
    pthread_join(th, NULL);
    CHECK(a.sealed == n, "sealed %d of %d: %s", a.sealed, n, ray_last_error());
    CHECK(got == n, "wait for %d objects sealed while it waits: %d ready after %.1f s (%s)", n, got,
          t1 - t0, got < 0 ? ray_last_error() : "a stall");
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += !ready[i];
    CHECK(bad == 0, "%d objects not marked ready", bad);
    ray_value v;
    CHECK(ray_get(r[n - 1], 10000, &v) == RAY_OK && v.type == RAY_BYTES && v.as.buf.len == 8,
          "the last object reads back");
    int64_t last;
    memcpy(&last, v.as.buf.ptr, sizeof last);
    ray_value_release(&v);
    CHECK(last == n - 1, "the last object holds %lld", (long long)last);
    ray_free(r, (size_t)n);
    printf("wait: %d objects sealed while waited for, all ready %.2f s after the last seal\n", n,
           t1 > a.t_sealed ? t1 - a.t_sealed : 0.0);
    free(ready);
    free(r);
    return 0;
}

/* N actors of 1 CPU each from the head: those its CPUs cannot hold spill to
 * other nodes rather than wait for the head's. Prints "N actors on K nodes". */
static int sc_actor_spread(int n)
{
    ray_opts o = RAY_ACTOR_OPTS;
    o.num_cpus = 1;
    ray_actor a[16];
    ray_ref w[16];
    char nodes[16][64];
    int k = 0;
    if (n > 16)
        n = 16;
    for (int i = 0; i < n; i++) {
        CHECK(ray_actor_create("counter", NULL, 0, &o, &a[i]) == RAY_OK, "create %d", i);
        CHECK(ray_actor_call(a[i], "where", NULL, 0, NULL, &w[i]) == RAY_OK, "where %d", i);
    }
    for (int i = 0; i < n; i++) {
        ray_value v;
        CHECK(ray_get(w[i], 30000, &v) == RAY_OK, "actor %d answers", i);
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = strcmp(nodes[j], (const char *)v.as.buf.ptr) == 0;
        if (!seen)
            snprintf(nodes[k++], sizeof nodes[0], "%s", (const char *)v.as.buf.ptr);
        ray_value_release(&v);
    }
    printf("%d actors on %d nodes\n", n, k);
    /* one more than the cluster's CPUs: it waits where the global scheduler
     * put it (the head itself, when all ties), and starts once the others go */
    ray_actor extra;
    ray_ref we;
    ray_value v;
    CHECK(ray_actor_create("counter", NULL, 0, &o, &extra) == RAY_OK, "create the extra one");
    CHECK(ray_actor_call(extra, "where", NULL, 0, NULL, &we) == RAY_OK, "where extra");
    CHECK(ray_get(we, 1500, &v) == RAY_ETIMEOUT, "the extra actor waits for a CPU");
    for (int i = 0; i < n; i++)
        CHECK(ray_actor_kill(a[i], true) == RAY_OK, "kill %d", i);
    CHECK(ray_get(we, 30000, &v) == RAY_OK, "the extra actor starts once the others are gone");
    ray_value_release(&v);
    printf("the extra actor started once the others were gone\n");
    return 0;
}

static int sc_actor_on(const char *res)
{
    ray_opts o = RAY_ACTOR_OPTS;
    o.resources = res;
    ray_actor a;
    ray_value start = RAY_I(0);
    CHECK(ray_actor_create("counter", &start, 1, &o, &a) == RAY_OK, "create");
    ray_ref r[10], w;
    for (int i = 0; i < 10; i++)
        CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r[i]) == RAY_OK, "call");
    CHECK(ray_actor_call(a, "where", NULL, 0, NULL, &w) == RAY_OK, "where");
    for (int i = 0; i < 10; i++) {
        ray_value v;
        CHECK(ray_get(r[i], 60000, &v) == RAY_OK && v.as.i == i + 1, "call %d in order", i);
    }
    ray_value v;
    CHECK(ray_get(w, 60000, &v) == RAY_OK, "where get");
    printf("actor lives on %s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    /* a handle passed to a task elsewhere reaches it too */
    ray_value h = RAY_A(a);
    ray_ref u;
    CHECK(ray_call("use_actor", &h, 1, NULL, &u) == RAY_OK, "use_actor");
    CHECK(ray_get(u, 60000, &v) == RAY_OK && v.as.i == 11, "handle from a task: %lld", (long long)v.as.i);
    return 0;
}

/* N tasks of MS each; a node is killed meanwhile; every result must arrive. */
static int sc_survive(int n, int ms)
{
    ray_ref *r = calloc((size_t)n, sizeof *r);
    for (int i = 0; i < n; i++) {
        ray_value a[] = { RAY_I(ms) };
        CHECK(ray_call("sleep_ms", a, 1, NULL, &r[i]) == RAY_OK, "call");
    }
    printf("submitted\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(r[i], 120000, &v);
        CHECK(rc == RAY_OK && v.as.i == ms, "task %d: rc=%d", i, rc);
    }
    printf("all %d tasks finished\n", n);
    free(r);
    return 0;
}

int ray_main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "values";
    if (strcmp(s, "values") == 0) return sc_values();
    if (strcmp(s, "zerocopy") == 0) return sc_zerocopy();
    if (strcmp(s, "wait") == 0) return sc_wait();
    if (strcmp(s, "errors") == 0) return sc_errors();
    if (strcmp(s, "crash") == 0) return sc_crash(argc > 2 ? argv[2] : "/tmp/ray-crash-marker");
    if (strcmp(s, "nested") == 0) return sc_nested();
    if (strcmp(s, "returns") == 0) return sc_returns();
    if (strcmp(s, "big") == 0) return sc_big();
    if (strcmp(s, "spill") == 0) return sc_spill(argc > 2 ? atoi(argv[2]) : 10, argc > 3 ? atoi(argv[3]) : 40);
    if (strcmp(s, "resources") == 0) return sc_resources();
    if (strcmp(s, "enomem") == 0) return sc_enomem(atoi(argv[2]), atoi(argv[3]));
    if (strcmp(s, "infeasible") == 0) return sc_infeasible();
    if (strcmp(s, "actors") == 0) return sc_actors();
    if (strcmp(s, "restart") == 0) return sc_restart();
    if (strcmp(s, "print") == 0) return sc_print();
    if (strcmp(s, "threads") == 0) return sc_threads();
    if (strcmp(s, "many") == 0) return sc_many(argc > 2 ? atoi(argv[2]) : 20000);
    if (strcmp(s, "gpu") == 0) return sc_gpu();
    if (strcmp(s, "gpu_actor") == 0) return sc_gpu_actor();
    if (strcmp(s, "where") == 0) return sc_where(argc > 2 ? argv[2] : "");
    if (strcmp(s, "detached") == 0) return sc_detached(argv[2]);
    if (strcmp(s, "nested_route") == 0) return sc_nested_route(argv[2], argv[3]);
    if (strcmp(s, "spread") == 0) return sc_spread(argc > 2 ? atoi(argv[2]) : 12, argc > 3 ? atoi(argv[3]) : 500);
    if (strcmp(s, "transfer") == 0) return sc_transfer(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 8);
    if (strcmp(s, "actor_on") == 0) return sc_actor_on(argv[2]);
    if (strcmp(s, "actor_spread") == 0) return sc_actor_spread(argc > 2 ? atoi(argv[2]) : 3);
    if (strcmp(s, "late_join") == 0) return sc_late_join(argv[2], argv[3]);
    if (strcmp(s, "wait_many") == 0) return sc_wait_many(argc > 2 ? atoi(argv[2]) : 100000);
    if (strcmp(s, "cache") == 0) return sc_cache(argc > 2 ? atoi(argv[2]) : 20000);
    if (strcmp(s, "survive") == 0) return sc_survive(argc > 2 ? atoi(argv[2]) : 24, argc > 3 ? atoi(argv[3]) : 1000);
    if (strcmp(s, "exit") == 0) return argc > 2 ? atoi(argv[2]) : 7;
    fprintf(stderr, "unknown scenario %s\n", s);
    return 2;
}
