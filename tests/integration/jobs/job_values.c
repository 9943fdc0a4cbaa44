/*
 * job_values.c — job library of test_values.sh: bad call options are
 * refused in the caller without hurting the connection, and compound values
 * (lists and maps) travel through ray_put/ray_get, task arguments, returns
 * and actor calls.
 *
 *   ray submit job_values.so -- SCENARIO
 *
 * Each scenario prints what it checked and returns 0 when all is well,
 * non-zero otherwise (the reason on stderr).
 */
#include <ray.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_check.h"

static int add(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 2 || args[0].type != RAY_INT || args[1].type != RAY_INT)
        return ray_fail(t, "add wants two ints");
    return ray_return(t, RAY_I(args[0].as.i + args[1].as.i));
}
RAY_REMOTE(add);


/* Sum of the INTs of a list (nested lists count too, strings are skipped);
 * fails on anything else. */
static int sum_of(const ray_value *v, int64_t *sum)
{
    if (v->type == RAY_INT) {
        *sum += v->as.i;
        return 0;
    }
    if (v->type == RAY_STR)
        return 0;
    if (v->type != RAY_LIST)
        return -1;
    for (size_t i = 0; i < ray_list_len(v); i++)
        if (sum_of(ray_list_at(v, i), sum) < 0)
            return -1;
    return 0;
}

static int sum_list(ray_task *t, const ray_value *args, size_t nargs)
{
    int64_t sum = 0;
    if (nargs != 1 || args[0].type != RAY_LIST || sum_of(&args[0], &sum) < 0)
        return ray_fail(t, "sum_list wants a list of ints (got type %d)",
                        nargs ? (int)args[0].type : -1);
    return ray_return(t, RAY_I(sum));
}
RAY_REMOTE(sum_list);

static int echo(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1)
        return ray_fail(t, "echo wants one argument");
    return ray_return(t, args[0]);
}
RAY_REMOTE(echo);

/* describe(map) -> {"keys": [k...], "n": len, "name": map["name"]} */
static int describe(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_MAP)
        return ray_fail(t, "describe wants a map");
    const ray_value *m = &args[0];
    const ray_value *name = ray_map_get(m, "name");
    if (name == NULL || name->type != RAY_STR || ((const char *)name->as.buf.ptr)[name->as.buf.len] != '\0')
        return ray_fail(t, "describe: no NUL-terminated \"name\"");
    ray_value keys[] = { RAY_S("keys"), RAY_S("n"), RAY_S("name") };
    ray_value vals[] = { RAY_LIST_V(m->as.map.keys, ray_map_len(m)), RAY_I(ray_map_len(m)), *name };
    return ray_return(t, RAY_MAP_V(keys, vals, 3));
}
RAY_REMOTE(describe);

/* first_ref([ref]): a REF inside a list stays a REF; get it here. */
static int first_ref(ray_task *t, const ray_value *args, size_t nargs)
{
    const ray_value *e = nargs == 1 ? ray_list_at(&args[0], 0) : NULL;
    if (e == NULL || e->type != RAY_REF)
        return ray_fail(t, "first_ref wants [ref] (element type %d)", e ? (int)e->type : -1);
    ray_value v;
    if (ray_get(e->as.ref, 30000, &v) != RAY_OK)
        return ray_fail(t, "first_ref: get: %s", ray_last_error());
    int rc = ray_return(t, v);
    ray_value_release(&v);
    return rc;
}
RAY_REMOTE(first_ref);

/* range_list(n): [0, 1, ..., n-1] and a string, as one list */
static int range_list(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 1 || args[0].type != RAY_INT || args[0].as.i < 0 || args[0].as.i > 1000000)
        return ray_fail(t, "range_list wants a count");
    size_t n = (size_t)args[0].as.i;
    ray_value *xs = malloc((n + 1) * sizeof *xs);
    if (xs == NULL)
        return ray_fail(t, "out of memory");
    for (size_t i = 0; i < n; i++)
        xs[i] = RAY_I(i);
    xs[n] = RAY_S("end");
    int rc = ray_return(t, RAY_LIST_V(xs, n + 1));
    free(xs);
    return rc;
}
RAY_REMOTE(range_list);

struct counter { int64_t n; };
static void *counter_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    return calloc(1, sizeof(struct counter));
}
static void counter_free(void *self)
{
    free(self);
}
static int counter_incr(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct counter *c = self;
    c->n += nargs == 1 && args[0].type == RAY_INT ? args[0].as.i : 1;
    return ray_return(t, RAY_I(c->n));
}
/* add_all([ints]): adds their sum, returns {"n": total, "seen": the list} */
static int counter_add_all(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct counter *c = self;
    int64_t sum = 0;
    if (nargs != 1 || sum_of(&args[0], &sum) < 0)
        return ray_fail(t, "add_all wants a list of ints");
    c->n += sum;
    ray_value keys[] = { RAY_S("n"), RAY_S("seen") }, vals[] = { RAY_I(c->n), args[0] };
    return ray_return(t, RAY_MAP_V(keys, vals, 2));
}
RAY_ACTOR(counter);
RAY_METHOD(counter, incr);
RAY_METHOD(counter, add_all);

/* ---------------------------------------------------------- bad options */

/* One bad option: every call that takes options refuses it with RAY_EINVAL
 * and a message containing WANT, and nothing is sent. */
static int refuse(const char *desc, ray_opts o, const char *want)
{
    ray_value args[] = { RAY_I(1), RAY_I(2) };
    ray_ref r;
    ray_actor a;
    int rc = ray_call("add", args, 2, &o, &r);
    CHECK(rc == RAY_EINVAL, "%s: ray_call gave %d", desc, rc);
    CHECK(strstr(ray_last_error(), want) != NULL, "%s: ray_call said '%s', want '%s'", desc,
          ray_last_error(), want);
    ray_opts ao = o;
    ao.num_cpus = o.num_cpus == 1 ? 0 : o.num_cpus; /* actors hold 0 CPU by default */
    rc = ray_actor_create("counter", NULL, 0, &ao, &a);
    CHECK(rc == RAY_EINVAL, "%s: ray_actor_create gave %d", desc, rc);
    CHECK(strstr(ray_last_error(), want) != NULL, "%s: ray_actor_create said '%s'", desc,
          ray_last_error());
    printf("refused %-24s %s\n", desc, ray_last_error());
    return 0;
}

static int sc_bad_resources(void)
{
    static const struct { const char *res, *want; } bad[] = {
        { "CPU", "resources \"CPU\": expected name=amount, got 'CPU'" },
        { "foo=abc", "resources \"foo=abc\": amount of 'foo' is not a number" },
        { "foo=-1", "resources \"foo=-1\": amount of 'foo' must not be negative" },
        { "=3", "resources \"=3\": empty resource name" },
        { "foo=1,foo=2", "duplicate resource 'foo'" },
        { "foo=1e3", "amount of 'foo' is not a number" },
        { "{\"a\": 1", "expected ',' or '}'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ray_opts o = RAY_OPTS;
        o.resources = bad[i].res;
        if (refuse(bad[i].res, o, bad[i].want))
            return 1;
    }
    static const struct { const char *desc; double cpu, gpu, mem; const char *want; } amounts[] = {
        { "num_cpus=-1", -1, 0, 0, "num_cpus must be" },
        { "num_cpus=NaN", NAN, 0, 0, "num_cpus must be" },
        { "num_cpus=1e7", 1e7, 0, 0, "num_cpus must be" },
        { "num_gpus=-0.5", 1, -0.5, 0, "num_gpus must be" },
        { "num_gpus=inf", 1, INFINITY, 0, "num_gpus must be" },
        { "memory=-1", 1, 0, -1, "memory must be" },
        { "memory=NaN", 1, 0, NAN, "memory must be" },
        { "memory=1e20", 1, 0, 1e20, "memory must be" },
    };
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        ray_opts o = RAY_OPTS;
        o.num_cpus = amounts[i].cpu;
        o.num_gpus = amounts[i].gpu;
        o.memory = amounts[i].mem;
        if (refuse(amounts[i].desc, o, amounts[i].want))
            return 1;
    }
    /* actor calls check their options too */
    ray_actor a;
    CHECK(ray_actor_create("counter", NULL, 0, NULL, &a) == RAY_OK, "create counter");
    ray_opts o = RAY_OPTS;
    o.resources = "foo=abc";
    ray_ref r;
    CHECK(ray_actor_call(a, "incr", NULL, 0, &o, &r) == RAY_EINVAL, "actor call with bad res");
    CHECK(strstr(ray_last_error(), "amount of 'foo' is not a number"), "actor call message");

    /* the connection is fine: a normal call, a good resource string, the actor */
    ray_value args[] = { RAY_I(20), RAY_I(22) };
    ray_value v;
    CHECK(ray_call("add", args, 2, NULL, &r) == RAY_OK, "normal call");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_INT && v.as.i == 42, "normal get");
    o = RAY_OPTS;
    o.resources = " CPU = 0.5 , {}";
    CHECK(ray_call("add", args, 2, &o, &r) == RAY_EINVAL, "a JSON object after pairs");
    o.resources = "{\"CPU\": 0.5}";
    CHECK(ray_call("add", args, 2, &o, &r) == RAY_OK, "JSON resources");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 42, "get with JSON resources");
    CHECK(ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK, "actor call");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 1, "actor call result");
    printf("after the refusals: add(20, 22) = 42, counter.incr() = 1\n");
    return 0;
}

/* ------------------------------------------------------- lists and maps */

static int sc_lists(void)
{
    ray_ref r, r2;
    ray_value v, w;

    /* ray.put([1, 2, 3, 4, 5]) */
    ray_value xs[] = { RAY_I(1), RAY_I(2), RAY_I(3), RAY_I(4), RAY_I(5) };
    CHECK(ray_put(RAY_LIST_V(xs, 5), &r) == RAY_OK, "put [1..5]");
    CHECK(ray_get(r, 30000, &v) == RAY_OK, "get [1..5]");
    CHECK(v.type == RAY_LIST && ray_list_len(&v) == 5, "a list of 5 (type %d)", (int)v.type);
    for (size_t i = 0; i < 5; i++)
        CHECK(ray_list_at(&v, i)->type == RAY_INT && ray_list_at(&v, i)->as.i == (int64_t)i + 1,
              "element %zu", i);
    ray_value_release(&v);
    CHECK(v.type == RAY_NIL, "released value is cleared");
    printf("put/get [1, 2, 3, 4, 5]: ok\n");

    /* a map, with a list and bytes in it; zero copy of its strings */
    static const char blob[] = "\x00\x01\x02";
    ray_value sizes[] = { RAY_I(10), RAY_I(20) };
    ray_value mk[] = { RAY_S("name"), RAY_S("sizes"), RAY_S("blob"), RAY_I(7) };
    ray_value mv[] = { RAY_S("ray"), RAY_LIST_V(sizes, 2), RAY_BYTES_V(blob, 3), RAY_F(0.5) };
    CHECK(ray_put(RAY_MAP_V(mk, mv, 4), &r) == RAY_OK, "put map");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_MAP && ray_map_len(&v) == 4, "get map");
    CHECK(ray_get(r, 30000, &w) == RAY_OK, "get map again");
    const ray_value *name = ray_map_get(&v, "name");
    CHECK(name && name->type == RAY_STR && strcmp(name->as.buf.ptr, "ray") == 0, "map[name]");
    CHECK(ray_map_get(&w, "name")->as.buf.ptr == name->as.buf.ptr,
          "two gets of a map: its strings at one address (shared memory, no copy)");
    CHECK(ray_map_get(&v, "name") != ray_map_get(&w, "name"), "each get has its own arrays");
    CHECK(ray_list_at(ray_map_get(&v, "sizes"), 1)->as.i == 20, "map[sizes][1]");
    const ray_value *b = ray_map_get(&v, "blob");
    CHECK(b && b->type == RAY_BYTES && b->as.buf.len == 3 && memcmp(b->as.buf.ptr, blob, 3) == 0,
          "map[blob]");
    CHECK(ray_map_key(&v, 3)->type == RAY_INT && ray_map_val(&v, 3)->as.f == 0.5, "int key");
    ray_value_release(&w);
    CHECK(strcmp(name->as.buf.ptr, "ray") == 0, "one release leaves the other get intact");
    ray_value_release(&v);
    printf("put/get of a map with a list, bytes and an int key: ok, zero copy\n");

    /* task arguments: by value and by ref, nested */
    ray_value inner[] = { RAY_I(100), RAY_I(200) };
    ray_value ys[] = { RAY_I(1), RAY_LIST_V(inner, 2), RAY_I(3) };
    ray_value arg = RAY_LIST_V(ys, 3);
    CHECK(ray_call("sum_list", &arg, 1, NULL, &r) == RAY_OK, "call sum_list");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_INT && v.as.i == 304,
          "sum_list by value = 304 (got %lld)", (long long)v.as.i);
    CHECK(ray_put(arg, &r2) == RAY_OK, "put the list");
    arg = RAY_R(r2);
    CHECK(ray_call("sum_list", &arg, 1, NULL, &r) == RAY_OK, "call sum_list by ref");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.as.i == 304, "sum_list by ref = 304");
    printf("a nested list as a task argument, by value and by ref: ok\n");

    /* returns: echo a map back, describe builds one */
    ray_value dk[] = { RAY_S("name"), RAY_S("x") }, dv[] = { RAY_S("dict"), RAY_LIST_V(xs, 5) };
    arg = RAY_MAP_V(dk, dv, 2);
    CHECK(ray_call("echo", &arg, 1, NULL, &r) == RAY_OK, "call echo");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_MAP, "echo returns a map");
    CHECK(strcmp(ray_map_get(&v, "name")->as.buf.ptr, "dict") == 0 &&
              ray_list_at(ray_map_get(&v, "x"), 4)->as.i == 5, "echoed map intact");
    ray_value_release(&v);
    CHECK(ray_call("describe", &arg, 1, NULL, &r) == RAY_OK, "call describe");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_MAP, "describe returns a map");
    CHECK(ray_map_get(&v, "n")->as.i == 2 && ray_list_len(ray_map_get(&v, "keys")) == 2 &&
              strcmp(ray_list_at(ray_map_get(&v, "keys"), 1)->as.buf.ptr, "x") == 0 &&
              strcmp(ray_map_get(&v, "name")->as.buf.ptr, "dict") == 0,
          "describe's map");
    ray_value_release(&v);
    printf("lists and maps returned by tasks: ok\n");

    /* a REF inside a list stays a REF */
    CHECK(ray_put(RAY_S("behind a ref"), &r2) == RAY_OK, "put str");
    ray_value refs[] = { RAY_R(r2) };
    arg = RAY_LIST_V(refs, 1);
    CHECK(ray_call("first_ref", &arg, 1, NULL, &r) == RAY_OK, "call first_ref");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_STR &&
              strcmp(v.as.buf.ptr, "behind a ref") == 0, "first_ref got the ref's value");
    ray_value_release(&v);
    printf("a ref inside a list reaches the task as a ref: ok\n");

    /* large: a 100,000-element list made by a task (> 64 KiB: created in
     * place), passed on by ref to another task, and gotten here */
    ray_value n = RAY_I(100000);
    CHECK(ray_call("range_list", &n, 1, NULL, &r) == RAY_OK, "call range_list");
    CHECK(ray_get(r, 60000, &v) == RAY_OK && ray_list_len(&v) == 100001, "big list back");
    CHECK(ray_list_at(&v, 99999)->as.i == 99999 &&
              strcmp(ray_list_at(&v, 100000)->as.buf.ptr, "end") == 0, "big list contents");
    CHECK(ray_get(r, 60000, &w) == RAY_OK &&
              ray_list_at(&w, 100000)->as.buf.ptr == ray_list_at(&v, 100000)->as.buf.ptr,
          "big list: zero copy");
    ray_value_release(&w);
    ray_value_release(&v);
    arg = RAY_R(r);
    CHECK(ray_call("sum_list", &arg, 1, NULL, &r2) == RAY_OK, "sum of big list");
    CHECK(ray_get(r2, 60000, &v) == RAY_OK && v.type == RAY_INT && v.as.i == 4999950000LL,
          "sum of 0..99999 (got %lld)", (long long)v.as.i);
    printf("a 100,000-element list returned, gotten zero-copy and passed by ref: ok\n");

    /* many small lists at once */
    enum { K = 50 };
    ray_ref many[K];
    for (int i = 0; i < K; i++) {
        ray_value e[] = { RAY_I(i), RAY_S("x") };
        CHECK(ray_put(RAY_LIST_V(e, 2), &many[i]) == RAY_OK, "put %d", i);
    }
    ray_value got[K];
    CHECK(ray_get_all(many, K, 30000, got) == RAY_OK, "get_all");
    for (int i = 0; i < K; i++) {
        CHECK(ray_list_at(&got[i], 0)->as.i == i, "get_all %d", i);
        ray_value_release(&got[i]);
    }

    /* actors take and return them too */
    ray_actor a;
    CHECK(ray_actor_create("counter", NULL, 0, NULL, &a) == RAY_OK, "create counter");
    arg = RAY_LIST_V(xs, 5);
    CHECK(ray_actor_call(a, "add_all", &arg, 1, NULL, &r) == RAY_OK, "add_all");
    CHECK(ray_actor_call(a, "add_all", &arg, 1, NULL, &r) == RAY_OK, "add_all again");
    CHECK(ray_get(r, 30000, &v) == RAY_OK && v.type == RAY_MAP, "add_all returns a map");
    CHECK(ray_map_get(&v, "n")->as.i == 30 && ray_list_len(ray_map_get(&v, "seen")) == 5,
          "actor state 30 (got %lld)", (long long)ray_map_get(&v, "n")->as.i);
    ray_value_release(&v);
    printf("lists to and maps from an actor: ok\n");

    /* too deep: refused in the caller, the connection is fine */
    ray_value cells[RAY_MAX_DEPTH + 2]; /* cells[0]: 13 levels, cells[1]: 12 */
    cells[RAY_MAX_DEPTH + 1] = RAY_I(1);
    for (int d = RAY_MAX_DEPTH + 1; d > 0; d--)
        cells[d - 1] = RAY_LIST_V(&cells[d], 1);
    CHECK(ray_put(cells[0], &r) == RAY_EINVAL && strstr(ray_last_error(), "deeper"),
          "13 levels refused");
    CHECK(ray_put(cells[1], &r) == RAY_OK && ray_get(r, 30000, &v) == RAY_OK, "12 levels fine");
    const ray_value *e = &v;
    for (int d = 0; d < RAY_MAX_DEPTH; d++)
        e = ray_list_at(e, 0);
    CHECK(e && e->type == RAY_INT && e->as.i == 1, "12 levels deep intact");
    ray_value_release(&v);
    /* as an argument too: 12 levels pass the node's frame limits both ways */
    CHECK(ray_call("echo", &cells[1], 1, NULL, &r) == RAY_OK, "echo 12 levels");
    CHECK(ray_get(r, 30000, &v) == RAY_OK, "echo 12 levels back");
    e = &v;
    for (int d = 0; d < RAY_MAX_DEPTH; d++)
        e = ray_list_at(e, 0);
    CHECK(e && e->type == RAY_INT && e->as.i == 1, "12 levels through a task intact");
    ray_value_release(&v);
    CHECK(ray_call("echo", &cells[0], 1, NULL, &r) == RAY_EINVAL, "13 levels as an argument");
    printf("nesting limit %d: ok\n", RAY_MAX_DEPTH);
    return 0;
}

int ray_main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "bad_resources";
    if (strcmp(s, "bad_resources") == 0)
        return sc_bad_resources();
    if (strcmp(s, "lists") == 0)
        return sc_lists();
    fprintf(stderr, "unknown scenario %s\n", s);
    return 2;
}
