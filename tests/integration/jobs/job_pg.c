/*
 * job_pg.c — placement groups as a user sees them (test_placement_groups):
 *
 *   basic                 PACK group of 2 one-CPU bundles: tasks in bundle 0,
 *                         1 and -1 run; bad index and removed group are RAY_EPG;
 *                         wait after remove is RAY_EPG; remove twice is OK
 *   strategy S N          N one-CPU bundles under S; prints "S nodes: K distinct"
 *   infeasible            a STRICT_SPREAD group of 9 bundles: ray_pg_wait times
 *                         out; prints "ready", waits for FILE, then removes it
 *   gang                  STRICT_SPREAD 3: an actor per bundle, all called; a
 *                         long task in the group; remove kills both (EPG / EACTOR)
 *   named                 a named group found by ray_pg_lookup from a task
 *   detached | kill_keeper   a detached actor "keeper" makes group "kept" (which
 *                         outlives the job) | kill that actor (the group goes)
 *   hold FILE             a 1-CPU group busy with a task until FILE exists
 *   resched FILE R0 R1    2 bundles needing R0 and R1: prints their nodes and
 *                         "ready", waits for FILE, then until bundle 1 runs on
 *                         another node; the actor of bundle 0 keeps its count
 */
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cuda(ray_task *t, const ray_value *a, size_t n)
{
    (void)a, (void)n;
    const char *v = getenv("CUDA_VISIBLE_DEVICES");
    return ray_return(t, RAY_S(v ? v : "(unset)"));
}
RAY_REMOTE(cuda);

/* gpu: a task of one GPU in a bundle of one GPU sees its device */
static int gpu(void)
{
    const char *b[] = { "CPU=1,GPU=1" };
    ray_pg pg;
    if (ray_pg_create(b, 1, RAY_PACK, NULL, &pg) != RAY_OK || ray_pg_wait(pg, 20000) != RAY_OK) {
        printf("gpu group: %s\n", ray_last_error());
        return 1;
    }
    ray_opts o = RAY_OPTS;
    o.num_gpus = 1;
    o.pg = pg;
    o.bundle = 0;
    ray_ref r;
    ray_value v;
    if (ray_call("cuda", NULL, 0, &o, &r) != RAY_OK || ray_get(r, 20000, &v) != RAY_OK) {
        printf("gpu task: %s\n", ray_last_error());
        return 1;
    }
    printf("CUDA_VISIBLE_DEVICES in the bundle: %s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    ray_pg_remove(pg);
    return 0;
}

static int where(ray_task *t, const ray_value *a, size_t n)
{
    (void)a, (void)n;
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(where);

static int nap(ray_task *t, const ray_value *a, size_t n)
{
    long ms = n > 0 && a[0].type == RAY_INT ? (long)a[0].as.i : 100;
    usleep((useconds_t)ms * 1000);
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(nap);

/* fan(pg id): run "where" in bundle 0 of the group and wait for it, from a
 * task of that bundle: the waiting task gives its bundle CPU back */
static int fan(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 1 || a[0].type != RAY_BYTES || a[0].as.buf.len != sizeof(ray_pg))
        return ray_fail(t, "fan wants a group");
    ray_opts o = RAY_OPTS;
    memcpy(o.pg.id, a[0].as.buf.ptr, sizeof o.pg.id);
    o.bundle = 0;
    ray_ref r;
    ray_value v;
    int rc = ray_call("where", NULL, 0, &o, &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 20000, &v);
    if (rc != RAY_OK)
        return ray_fail(t, "child: %s", ray_last_error());
    ray_value_release(&v);
    return ray_return(t, RAY_I(1));
}
RAY_REMOTE(fan);

static int find_group(ray_task *t, const ray_value *a, size_t n)
{
    ray_pg pg;
    if (n != 1 || a[0].type != RAY_STR)
        return ray_fail(t, "find_group wants a name");
    int rc = ray_pg_lookup(a[0].as.buf.ptr, &pg);
    if (rc != RAY_OK)
        return ray_fail(t, "lookup: %s", ray_last_error());
    ray_opts o = RAY_OPTS;
    o.pg = pg;
    o.bundle = 0;
    ray_ref r;
    ray_value v;
    if ((rc = ray_call("where", NULL, 0, &o, &r)) != RAY_OK || (rc = ray_get(r, 20000, &v)) != RAY_OK)
        return ray_fail(t, "task in looked-up group: %s", ray_last_error());
    rc = ray_return(t, v);
    ray_value_release(&v);
    return rc;
}
RAY_REMOTE(find_group);

/* an actor that counts and says where it lives */
static void *member_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t, (void)a, (void)n;
    return calloc(1, sizeof(long));
}
static void member_free(void *s)
{
    free(s);
}
static int member_incr(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)a, (void)n;
    return ray_return(t, RAY_I(++*(long *)s));
}
static int member_node(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)s, (void)a, (void)n;
    return ray_return(t, RAY_S(ray_node_id()));
}
/* make_group(): a named one-bundle group made by this actor */
static int member_make_group(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)s, (void)a, (void)n;
    const char *b[] = { "CPU=1" };
    ray_pg pg;
    if (ray_pg_create(b, 1, RAY_PACK, "kept", &pg) != RAY_OK || ray_pg_wait(pg, 20000) != RAY_OK)
        return ray_fail(t, "group: %s", ray_last_error());
    return ray_return(t, RAY_I(1));
}
RAY_ACTOR(member);
RAY_METHOD(member, incr);
RAY_METHOD(member, node);
RAY_METHOD(member, make_group);

static int call_in(ray_pg pg, int bundle, const char *fn, long arg, char *node, size_t len,
                   int64_t timeout)
{
    ray_opts o = RAY_OPTS;
    o.pg = pg;
    o.bundle = bundle;
    ray_ref r;
    ray_value v;
    ray_value args[] = { RAY_I(arg) };
    int rc = ray_call(fn, args, 1, &o, &r);
    if (rc != RAY_OK)
        return rc;
    if ((rc = ray_get(r, timeout, &v)) != RAY_OK)
        return rc;
    snprintf(node, len, "%s", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    return RAY_OK;
}

static void wait_file(const char *path, int secs)
{
    struct stat st;
    for (int i = 0; i < secs * 10 && stat(path, &st) != 0; i++)
        usleep(100000);
}

static int basic(void)
{
    const char *b[] = { "CPU=1", "CPU=1" };
    ray_pg pg;
    int rc = ray_pg_create(b, 2, RAY_PACK, NULL, &pg);
    if (rc != RAY_OK || (rc = ray_pg_wait(pg, 20000)) != RAY_OK) {
        printf("create/wait failed: %s\n", ray_last_error());
        return 1;
    }
    printf("group created\n");
    char n0[64], n1[64], nany[64];
    if (call_in(pg, 0, "where", 0, n0, sizeof n0, 20000) == RAY_OK &&
        call_in(pg, 1, "where", 0, n1, sizeof n1, 20000) == RAY_OK &&
        call_in(pg, -1, "where", 0, nany, sizeof nany, 20000) == RAY_OK)
        printf("tasks in bundles 0, 1 and any ran\n");
    else
        printf("task in bundle failed: %s\n", ray_last_error());
    /* a task of the one-CPU bundle waits for its child in the same bundle */
    ray_opts fo = RAY_OPTS;
    fo.pg = pg;
    fo.bundle = 0;
    ray_ref fr;
    ray_value fv;
    ray_value fa[] = { RAY_BYTES_V(pg.id, sizeof pg.id) };
    rc = ray_call("fan", fa, 1, &fo, &fr);
    if (rc == RAY_OK)
        rc = ray_get(fr, 30000, &fv);
    printf("nested task in the same bundle: %s\n", rc == RAY_OK ? "ran" : ray_last_error());
    ray_opts o = RAY_OPTS;
    o.pg = pg;
    o.bundle = 5;
    ray_ref r;
    rc = ray_call("where", NULL, 0, &o, &r);
    printf("bundle 5: %s (%s)\n", rc == RAY_EPG ? "RAY_EPG" : ray_strerror(rc), ray_last_error());
    /* zero-CPU task in bundle 0 lands on its node */
    ray_opts z = RAY_OPTS;
    z.num_cpus = 0;
    z.pg = pg;
    z.bundle = 0;
    ray_value v;
    if (ray_call("where", NULL, 0, &z, &r) == RAY_OK && ray_get(r, 20000, &v) == RAY_OK) {
        printf("zero-CPU task ran %s\n", strcmp(v.as.buf.ptr, n0) == 0 ? "on bundle 0's node" : "elsewhere");
        ray_value_release(&v);
    }
    /* a task running in the group when it is removed */
    ray_opts lo = RAY_OPTS;
    lo.pg = pg;
    lo.bundle = 1;
    lo.max_retries = 3;
    ray_ref longr;
    ray_call("nap", (ray_value[]){ RAY_I(20000) }, 1, &lo, &longr);
    usleep(1500000);
    if ((rc = ray_pg_remove(pg)) != RAY_OK)
        printf("remove: %s\n", ray_last_error());
    rc = ray_get(longr, 15000, &v);
    printf("running task after remove: %s (%s)\n", rc == RAY_EPG ? "RAY_EPG" : ray_strerror(rc),
           ray_last_error());
    rc = ray_pg_wait(pg, 1000);
    printf("wait after remove: %s\n", rc == RAY_EPG ? "RAY_EPG" : ray_strerror(rc));
    rc = ray_pg_remove(pg);
    printf("remove again: %s\n", rc == RAY_OK ? "RAY_OK" : ray_strerror(rc));
    o.bundle = 0;
    rc = ray_call("where", NULL, 0, &o, &r);
    printf("call in removed group: %s\n", rc == RAY_EPG ? "RAY_EPG" : ray_strerror(rc));
    const char *bad[] = { "CPU=abc" };
    rc = ray_pg_create(bad, 1, RAY_PACK, NULL, &pg);
    printf("bad bundle: %s (%s)\n", rc == RAY_EINVAL ? "RAY_EINVAL" : ray_strerror(rc),
           ray_last_error());
    const char *none[] = { "CPU=0" };
    rc = ray_pg_create(none, 1, RAY_PACK, NULL, &pg);
    printf("empty bundle: %s (%s)\n", rc == RAY_EINVAL ? "RAY_EINVAL" : ray_strerror(rc),
           ray_last_error());
    return 0;
}

static int strategy(const char *s, int n)
{
    ray_pg_strategy st = strcmp(s, "PACK") == 0 ? RAY_PACK
                         : strcmp(s, "SPREAD") == 0 ? RAY_SPREAD
                         : strcmp(s, "STRICT_PACK") == 0 ? RAY_STRICT_PACK : RAY_STRICT_SPREAD;
    const char *b[16];
    for (int i = 0; i < n && i < 16; i++)
        b[i] = "CPU=1";
    ray_pg pg;
    int rc = ray_pg_create(b, (size_t)n, st, NULL, &pg);
    if (rc != RAY_OK || (rc = ray_pg_wait(pg, 20000)) != RAY_OK) {
        printf("%s: %s\n", s, ray_last_error());
        return 1;
    }
    char nodes[16][64];
    int distinct = 0;
    for (int i = 0; i < n; i++) {
        if (call_in(pg, i, "where", 0, nodes[i], sizeof nodes[i], 20000) != RAY_OK) {
            printf("%s: bundle %d: %s\n", s, i, ray_last_error());
            return 1;
        }
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen |= strcmp(nodes[k], nodes[i]) == 0;
        distinct += !seen;
    }
    printf("%s nodes: %d distinct\n", s, distinct);
    ray_pg_remove(pg);
    return 0;
}

static int infeasible(const char *file)
{
    const char *b[9];
    for (int i = 0; i < 9; i++)
        b[i] = "CPU=1";
    ray_pg pg;
    int rc = ray_pg_create(b, 9, RAY_STRICT_SPREAD, "toobig", &pg);
    if (rc != RAY_OK) {
        printf("create: %s\n", ray_last_error());
        return 1;
    }
    rc = ray_pg_wait(pg, 1500);
    printf("wait: %s (%s)\n", rc == RAY_ETIMEOUT ? "RAY_ETIMEOUT" : ray_strerror(rc),
           ray_last_error());
    printf("ready\n");
    fflush(stdout);
    wait_file(file, 30);
    rc = ray_pg_remove(pg);
    printf("removed pending group: %s\n", rc == RAY_OK ? "RAY_OK" : ray_strerror(rc));
    return 0;
}

static int gang(void)
{
    const char *b[] = { "CPU=1", "CPU=1", "CPU=1" };
    ray_pg pg;
    int rc = ray_pg_create(b, 3, RAY_STRICT_SPREAD, NULL, &pg);
    if (rc != RAY_OK || (rc = ray_pg_wait(pg, 20000)) != RAY_OK) {
        printf("create/wait: %s\n", ray_last_error());
        return 1;
    }
    ray_actor a[3];
    char nodes[3][64];
    int distinct = 0;
    for (int i = 0; i < 3; i++) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.num_cpus = 1;
        o.pg = pg;
        o.bundle = i;
        if ((rc = ray_actor_create("member", NULL, 0, &o, &a[i])) != RAY_OK) {
            printf("actor %d: %s\n", i, ray_last_error());
            return 1;
        }
    }
    for (int i = 0; i < 3; i++) {
        ray_ref r;
        ray_value v;
        if ((rc = ray_actor_call(a[i], "node", NULL, 0, NULL, &r)) != RAY_OK ||
            (rc = ray_get(r, 30000, &v)) != RAY_OK) {
            printf("actor %d call: %s\n", i, ray_last_error());
            return 1;
        }
        snprintf(nodes[i], sizeof nodes[i], "%s", (const char *)v.as.buf.ptr);
        ray_value_release(&v);
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen |= strcmp(nodes[k], nodes[i]) == 0;
        distinct += !seen;
    }
    printf("gang of 3 actors on %d nodes\n", distinct);
    /* the bundles are full: a task of the group waits; one more actor too */
    ray_opts o = RAY_OPTS;
    o.pg = pg;
    o.bundle = -1;
    ray_ref waiting;
    ray_call("nap", (ray_value[]){ RAY_I(10) }, 1, &o, &waiting);
    bool ready = false;
    ray_wait(&waiting, 1, 1, 1000, &ready);
    printf("a task in a full group waits: %s\n", ready ? "no" : "yes");
    rc = ray_pg_remove(pg);
    ray_value v;
    rc = ray_get(waiting, 20000, &v);
    printf("the waiting task after remove: %s\n", rc == RAY_EPG ? "RAY_EPG" : ray_strerror(rc));
    ray_ref r;
    int dead = 0;
    for (int i = 0; i < 3; i++) {
        for (int tries = 0; tries < 50; tries++) {
            if (ray_actor_call(a[i], "incr", NULL, 0, NULL, &r) != RAY_OK)
                break;
            rc = ray_get(r, 10000, &v);
            if (rc == RAY_EACTOR) {
                dead++;
                break;
            }
            if (rc == RAY_OK)
                ray_value_release(&v);
            usleep(100000);
        }
    }
    printf("actors dead after remove: %d\n", dead);
    return 0;
}

static int named(void)
{
    const char *b[] = { "CPU=1" };
    ray_pg pg, found;
    int rc = ray_pg_create(b, 1, RAY_PACK, "trainers", &pg);
    if (rc != RAY_OK || ray_pg_wait(pg, 20000) != RAY_OK) {
        printf("create: %s\n", ray_last_error());
        return 1;
    }
    rc = ray_pg_create(b, 1, RAY_PACK, "trainers", &found);
    printf("duplicate name: %s (%s)\n", rc == RAY_EINVAL ? "RAY_EINVAL" : ray_strerror(rc),
           ray_last_error());
    rc = ray_pg_lookup("trainers", &found);
    printf("lookup: %s, same id: %s\n", rc == RAY_OK ? "RAY_OK" : ray_strerror(rc),
           memcmp(found.id, pg.id, sizeof pg.id) == 0 ? "yes" : "no");
    rc = ray_pg_lookup("nobody", &found);
    printf("lookup unknown: %s\n", rc == RAY_ENOTFOUND ? "RAY_ENOTFOUND" : ray_strerror(rc));
    ray_ref r;
    ray_value v;
    ray_opts o = RAY_OPTS;
    o.num_cpus = 0;
    if (ray_call("find_group", (ray_value[]){ RAY_S("trainers") }, 1, &o, &r) == RAY_OK &&
        ray_get(r, 30000, &v) == RAY_OK) {
        printf("a task found the group by name and ran in it\n");
        ray_value_release(&v);
    } else {
        printf("find_group: %s\n", ray_last_error());
    }
    return 0; /* the job's end removes the group */
}

/* `ray list placement-groups` run the moment ray_pg_wait returns lists
 * the group CREATED (as Ray's state API does once pg.ready() returns), and
 * the moment ray_pg_remove returns lists it REMOVED, ROUNDS times: RAY is
 * the ray binary, ADDR the GCS, DIR the temp dir. */
static int listed(const char *ray, const char *addr, const char *dir)
{
    enum { ROUNDS = 5 };
    const char *b[] = { "CPU=1" };
    int ok = 0, removed = 0;
    char want[64], cmd[1024], line[1024], last[1024] = "";
    for (int k = 0; k < ROUNDS; k++) {
        ray_pg pg;
        snprintf(want, sizeof want, "listed-%d", k);
        if (ray_pg_create(b, 1, RAY_PACK, want, &pg) != RAY_OK || ray_pg_wait(pg, 20000) != RAY_OK) {
            printf("create %s: %s\n", want, ray_last_error());
            return 1;
        }
        snprintf(cmd, sizeof cmd, "'%s' list placement-groups --address '%s' --temp-dir '%s' 2>&1",
                 ray, addr, dir);
        FILE *f = popen(cmd, "r");
        bool seen = false;
        snprintf(last, sizeof last, "(no row for %s)", want);
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, want)) {
                seen = strstr(line, "CREATED") != NULL;
                snprintf(last, sizeof last, "%s", line);
            }
        if (f)
            pclose(f);
        ok += seen;
        if (!seen)
            printf("round %d: ray list right after ray_pg_wait: %s\n", k, last);
        if (ray_pg_remove(pg) != RAY_OK) {
            printf("remove %s: %s\n", want, ray_last_error());
            return 1;
        }
        f = popen(cmd, "r");
        seen = false;
        snprintf(last, sizeof last, "(no row for %s)", want);
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, want)) {
                seen = strstr(line, "REMOVED") != NULL;
                snprintf(last, sizeof last, "%s", line);
            }
        if (f)
            pclose(f);
        removed += seen;
        if (!seen)
            printf("round %d: ray list right after ray_pg_remove: %s\n", k, last);
    }
    printf("listed CREATED right after ray_pg_wait: %d of %d\n", ok, ROUNDS);
    printf("listed REMOVED right after ray_pg_remove: %d of %d\n", removed, ROUNDS);
    return ok == ROUNDS && removed == ROUNDS ? 0 : 1;
}

static int hold(const char *file)
{
    const char *b[] = { "CPU=1" };
    ray_pg pg;
    int rc = ray_pg_create(b, 1, RAY_PACK, "held", &pg);
    if (rc != RAY_OK || ray_pg_wait(pg, 20000) != RAY_OK) {
        printf("create: %s\n", ray_last_error());
        return 1;
    }
    ray_opts o = RAY_OPTS;
    o.pg = pg;
    o.bundle = 0;
    ray_ref r;
    ray_call("nap", (ray_value[]){ RAY_I(30000) }, 1, &o, &r);
    usleep(500000);
    printf("ready\n");
    fflush(stdout);
    wait_file(file, 30);
    return 0;
}

static int resched(const char *file, const char *res0, const char *res)
{
    char b0[128], b1[128];
    snprintf(b0, sizeof b0, "CPU=1,%s=1", res0);
    snprintf(b1, sizeof b1, "CPU=1,%s=1", res);
    const char *b[] = { b0, b1 };
    ray_pg pg;
    int rc = ray_pg_create(b, 2, RAY_STRICT_SPREAD, NULL, &pg);
    if (rc != RAY_OK || ray_pg_wait(pg, 20000) != RAY_OK) {
        printf("create: %s\n", ray_last_error());
        return 1;
    }
    ray_opts o = RAY_ACTOR_OPTS;
    o.pg = pg;
    o.bundle = 0;
    ray_actor a;
    ray_ref r;
    ray_value v;
    char n0[64] = "", n1[64] = "";
    if (ray_actor_create("member", NULL, 0, &o, &a) != RAY_OK ||
        ray_actor_call(a, "node", NULL, 0, NULL, &r) != RAY_OK || ray_get(r, 30000, &v) != RAY_OK) {
        printf("actor: %s\n", ray_last_error());
        return 1;
    }
    snprintf(n0, sizeof n0, "%s", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    ray_actor_call(a, "incr", NULL, 0, NULL, &r);
    if (call_in(pg, 1, "where", 0, n1, sizeof n1, 20000) != RAY_OK) {
        printf("bundle 1: %s\n", ray_last_error());
        return 1;
    }
    printf("bundle 0 on %s\nbundle 1 on %s\nready\n", n0, n1);
    fflush(stdout);
    wait_file(file, 60);
    /* the node of bundle 1 is gone: the group is rescheduled */
    char now[64] = "";
    for (int i = 0; i < 60; i++) {
        rc = ray_pg_wait(pg, 1000);
        if (rc == RAY_OK && call_in(pg, 1, "where", 0, now, sizeof now, 5000) == RAY_OK &&
            strcmp(now, n1) != 0)
            break;
        now[0] = '\0';
        usleep(200000);
    }
    printf("bundle 1 now on %s\n", now[0] ? now : "(nowhere)");
    if (ray_actor_call(a, "incr", NULL, 0, NULL, &r) == RAY_OK && ray_get(r, 10000, &v) == RAY_OK) {
        printf("the actor of bundle 0 kept running: count %lld\n", (long long)v.as.i);
    } else {
        printf("actor of bundle 0: %s\n", ray_last_error());
    }
    ray_pg_remove(pg);
    return 0;
}

/* detached: a detached actor makes group "kept"; kill_keeper: kill that actor */
static int detached(bool kill)
{
    ray_actor a;
    ray_ref r;
    ray_value v;
    if (kill) {
        int rc = ray_actor_lookup("keeper", &a);
        if (rc == RAY_OK)
            rc = ray_actor_kill(a, true);
        printf("keeper killed: %s\n", rc == RAY_OK ? "yes" : ray_last_error());
        return 0;
    }
    ray_opts o = RAY_ACTOR_OPTS;
    o.detached = true;
    o.name = "keeper";
    if (ray_actor_create("member", NULL, 0, &o, &a) != RAY_OK ||
        ray_actor_call(a, "make_group", NULL, 0, NULL, &r) != RAY_OK || ray_get(r, 30000, &v) != RAY_OK) {
        printf("keeper: %s\n", ray_last_error());
        return 1;
    }
    printf("keeper made its group\n");
    return 0;
}

int ray_main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "basic";
    if (strcmp(mode, "basic") == 0)
        return basic();
    if (strcmp(mode, "strategy") == 0 && argc > 3)
        return strategy(argv[2], atoi(argv[3]));
    if (strcmp(mode, "infeasible") == 0 && argc > 2)
        return infeasible(argv[2]);
    if (strcmp(mode, "gang") == 0)
        return gang();
    if (strcmp(mode, "named") == 0)
        return named();
    if (strcmp(mode, "gpu") == 0)
        return gpu();
    if (strcmp(mode, "detached") == 0 || strcmp(mode, "kill_keeper") == 0)
        return detached(mode[0] == 'k');
    if (strcmp(mode, "listed") == 0 && argc > 4)
        return listed(argv[2], argv[3], argv[4]);
    if (strcmp(mode, "hold") == 0 && argc > 2)
        return hold(argv[2]);
    if (strcmp(mode, "resched") == 0 && argc > 4)
        return resched(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: job_pg.so basic|strategy S N|infeasible FILE|gang|named|listed RAY ADDR DIR|hold FILE|"
                    "resched FILE RES0 RES1\n");
    return 2;
}
