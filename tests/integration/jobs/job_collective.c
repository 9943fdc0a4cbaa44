/*
 * job_collective.c — what test_collective.sh submits: a group of four
 * actors (two on each node) running every collective on arrays whose right
 * answer each rank computes itself, each result printed as a user sees it.
 *
 *   ray submit job_collective.so -- all      every collective, dtype and op
 *                                   errors   destroyed group, non-member, timeout, bad sizes
 *                                   groups   two groups sharing actors, used interleaved
 */
#include <ray.h>
#include <ray_collective.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* rank R's element I: small integers, so every op's answer is exact */
static double val(int r, size_t i)
{
    return (double)(r + 1) + (double)(i % 5);
}

static double expect(ray_collective_op op, int world, size_t i)
{
    double a = val(0, i);
    for (int r = 1; r < world; r++) {
        double b = val(r, i);
        a = op == RAY_COLL_SUM ? a + b : op == RAY_COLL_PRODUCT ? a * b : op == RAY_COLL_MIN ? (b < a ? b : a) : (b > a ? b : a);
    }
    return a;
}

static void put(void *buf, ray_collective_dtype dt, size_t i, double v)
{
    switch (dt) {
    case RAY_COLL_INT32: ((int32_t *)buf)[i] = (int32_t)v; break;
    case RAY_COLL_INT64: ((int64_t *)buf)[i] = (int64_t)v; break;
    case RAY_COLL_FLOAT32: ((float *)buf)[i] = (float)v; break;
    case RAY_COLL_FLOAT64: ((double *)buf)[i] = v; break;
    }
}

static double get(const void *buf, ray_collective_dtype dt, size_t i)
{
    switch (dt) {
    case RAY_COLL_INT32: return ((const int32_t *)buf)[i];
    case RAY_COLL_INT64: return (double)((const int64_t *)buf)[i];
    case RAY_COLL_FLOAT32: return ((const float *)buf)[i];
    case RAY_COLL_FLOAT64: return ((const double *)buf)[i];
    }
    return 0;
}

static const char *dtn[] = { "int32", "int64", "float32", "float64" };
static const char *opn[] = { "SUM", "PRODUCT", "MIN", "MAX" };

struct cworker { int dummy; };
static void *cworker_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t; (void)a; (void)n;
    return calloc(1, sizeof(struct cworker));
}
static void cworker_free(void *self) { free(self); }

#define FAIL(...) do { snprintf(msg, sizeof msg, __VA_ARGS__); goto done; } while (0)

/* run(GROUP, WHAT, COUNT, ARG): one collective on this rank; returns "ok ..."
 * or what went wrong (a STR). */
static int cworker_run(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    char msg[1024] = "ok";
    if (n != 4 || a[0].type != RAY_STR || a[1].type != RAY_STR || a[2].type != RAY_INT ||
        a[3].type != RAY_INT)
        return ray_fail(t, "run wants GROUP WHAT COUNT ARG");
    const char *group = a[0].as.buf.ptr, *what = a[1].as.buf.ptr;
    size_t count = (size_t)a[2].as.i;
    int arg = (int)a[3].as.i;
    ray_collective_group *g = NULL;
    void *buf = NULL, *out = NULL;
    int rc = ray_collective_group_open(group, &g);
    if (rc != RAY_OK)
        FAIL("open: %s: %s", ray_strerror(rc), ray_last_error());
    int r = ray_collective_rank(g), W = ray_collective_world_size(g);
    buf = calloc(count * W + 1, 8);
    out = calloc(count * W + 1, 8);
    if (strcmp(what, "allreduce") == 0 || strcmp(what, "reduce") == 0) {
        /* ARG: algorithm * 16 + dtype * 4 + op; reduce: root 2 */
        ray_collective_set_algorithm(g, (ray_collective_algo)(arg / 16));
        arg %= 16;
        ray_collective_dtype dt = (ray_collective_dtype)(arg / 4);
        ray_collective_op op = (ray_collective_op)(arg % 4);
        for (size_t i = 0; i < count; i++)
            put(buf, dt, i, val(r, i));
        bool red = what[0] == 'r';
        rc = red ? ray_collective_reduce(g, buf, count, dt, op, 2)
                 : ray_collective_allreduce(g, buf, count, dt, op);
        if (rc != RAY_OK)
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
        for (size_t i = 0; i < count; i++) {
            double want = red && r != 2 ? val(r, i) : expect(op, W, i);
            if (get(buf, dt, i) != want)
                FAIL("%s %s %s: element %zu is %g, not %g", what, dtn[dt], opn[op], i,
                     get(buf, dt, i), want);
        }
    } else if (strcmp(what, "broadcast") == 0) {
        for (size_t i = 0; i < count; i++)
            put(buf, RAY_COLL_INT64, i, val(r, i));
        if ((rc = ray_collective_broadcast(g, buf, count, RAY_COLL_INT64, arg)) != RAY_OK)
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
        for (size_t i = 0; i < count; i++)
            if (get(buf, RAY_COLL_INT64, i) != val(arg, i))
                FAIL("broadcast: element %zu is %g, not %g", i, get(buf, RAY_COLL_INT64, i), val(arg, i));
    } else if (strcmp(what, "allgather") == 0) {
        for (size_t i = 0; i < count; i++)
            put(buf, RAY_COLL_FLOAT32, i, val(r, i));
        if ((rc = ray_collective_allgather(g, buf, count, RAY_COLL_FLOAT32, out)) != RAY_OK)
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
        for (int j = 0; j < W; j++)
            for (size_t i = 0; i < count; i++)
                if (get(out, RAY_COLL_FLOAT32, j * count + i) != val(j, i))
                    FAIL("allgather: rank %d's element %zu is wrong", j, i);
    } else if (strcmp(what, "reducescatter") == 0) {
        for (size_t i = 0; i < count * W; i++)
            put(buf, RAY_COLL_INT32, i, val(r, i));
        if ((rc = ray_collective_reducescatter(g, buf, count, RAY_COLL_INT32, RAY_COLL_SUM, out)) != RAY_OK)
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
        for (size_t i = 0; i < count; i++)
            if (get(out, RAY_COLL_INT32, i) != expect(RAY_COLL_SUM, W, r * count + i))
                FAIL("reducescatter: element %zu is %g, not %g", i, get(out, RAY_COLL_INT32, i),
                     expect(RAY_COLL_SUM, W, r * count + i));
    } else if (strcmp(what, "barrier") == 0) {
        usleep((useconds_t)r * 300000);
        double before = now_s();
        if ((rc = ray_collective_barrier(g)) != RAY_OK)
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
        snprintf(msg, sizeof msg, "ok %.6f %.6f", before, now_s());
    } else if (strcmp(what, "sendrecv") == 0) {
        /* a ring, ARG rounds: send to r+1, receive from r-1 */
        for (int k = 0; k < arg; k++) {
            for (size_t i = 0; i < count; i++)
                put(buf, RAY_COLL_FLOAT64, i, val(r, i) + k);
            if ((rc = ray_collective_send(g, buf, count, RAY_COLL_FLOAT64, (r + 1) % W)) != RAY_OK)
                FAIL("send: %s: %s", ray_strerror(rc), ray_last_error());
            int from = (r + W - 1) % W;
            if ((rc = ray_collective_recv(g, out, count, RAY_COLL_FLOAT64, from)) != RAY_OK)
                FAIL("recv: %s: %s", ray_strerror(rc), ray_last_error());
            for (size_t i = 0; i < count; i++)
                if (get(out, RAY_COLL_FLOAT64, i) != val(from, i) + k)
                    FAIL("recv round %d: element %zu is wrong", k, i);
        }
    } else if (strcmp(what, "timeout") == 0) {
        /* only ARG's rank calls: it waits for the others, 500 ms */
        ray_collective_set_timeout(g, 500);
        if (r == arg) {
            rc = ray_collective_allreduce(g, buf, count, RAY_COLL_INT32, RAY_COLL_SUM);
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
        }
    } else if (strcmp(what, "badsize") == 0) {
        /* rank 0 sends COUNT elements, rank 1 expects COUNT + 1 */
        if (r == 0)
            rc = ray_collective_send(g, buf, count, RAY_COLL_INT32, 1);
        else if (r == 1)
            rc = ray_collective_recv(g, buf, count + 1, RAY_COLL_INT32, 0);
        if (rc != RAY_OK)
            FAIL("%s: %s", ray_strerror(rc), ray_last_error());
    } else if (strcmp(what, "after") == 0) {
        /* the group is destroyed while this handle is open: wait, then call */
        usleep(1500000);
        rc = ray_collective_allreduce(g, buf, count, RAY_COLL_INT32, RAY_COLL_SUM);
        FAIL("%s: %s", ray_strerror(rc), ray_last_error());
    } else if (strcmp(what, "node") == 0) {
        snprintf(msg, sizeof msg, "ok rank %d node %s", r, ray_node_id());
    } else {
        FAIL("unknown %s", what);
    }
done:
    ray_collective_group_close(g);
    free(buf);
    free(out);
    return ray_return(t, RAY_S(msg));
}
RAY_ACTOR(cworker);
RAY_METHOD(cworker, run);

static ray_actor W[5];

/* Run WHAT on actors FIRST..FIRST+N-1 of group GROUP at once; print each answer. */
static int run_all(const char *label, const char *group, int first, int n, const char *what,
                   int64_t count, int arg, char res[][1024])
{
    ray_ref refs[5];
    int bad = 0;
    for (int i = 0; i < n; i++) {
        ray_value args[] = { RAY_S(group), RAY_S(what), RAY_I(count), RAY_I(arg) };
        ray_actor_call(W[first + i], "run", args, 4, NULL, &refs[i]);
    }
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(refs[i], 120000, &v);
        const char *s = rc == RAY_OK && v.type == RAY_STR ? v.as.buf.ptr : ray_last_error();
        if (res)
            snprintf(res[i], 1024, "%s", s);
        if (strncmp(s, "ok", 2) != 0) {
            printf("%s: actor %d: %s\n", label, first + i, s);
            bad++;
        }
        if (rc == RAY_OK)
            ray_value_release(&v);
    }
    return bad;
}

/* K calls of WHAT on each of actors 0..3 of G4, all submitted before any
 * answer is read (each call opens and closes its own handle); wrong answers. */
static int run_pipelined(const char *what, int64_t count, int arg, int k)
{
    ray_ref refs[4][8];
    int bad = 0;
    for (int j = 0; j < k; j++)
        for (int i = 0; i < 4; i++) {
            ray_value args[] = { RAY_S("g4"), RAY_S(what), RAY_I(count), RAY_I(arg) };
            ray_actor_call(W[i], "run", args, 4, NULL, &refs[i][j]);
        }
    for (int j = 0; j < k; j++)
        for (int i = 0; i < 4; i++) {
            ray_value v;
            int rc = ray_get(refs[i][j], 120000, &v);
            const char *s = rc == RAY_OK && v.type == RAY_STR ? v.as.buf.ptr : ray_last_error();
            if (strncmp(s, "ok", 2) != 0) {
                printf("pipelined %s: actor %d call %d: %s\n", what, i, j, s);
                bad++;
            }
            if (rc == RAY_OK)
                ray_value_release(&v);
        }
    return bad;
}

int ray_main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    /* actors 0, 1 on the head, 2, 3 on the node with resource "side"; 4 is no member */
    for (int i = 0; i < 5; i++) {
        ray_opts o = RAY_ACTOR_OPTS;
        if (i == 2 || i == 3)
            o.resources = "side=1";
        if (ray_actor_create("cworker", NULL, 0, &o, &W[i]) != RAY_OK) {
            printf("actor %d: %s\n", i, ray_last_error());
            return 1;
        }
    }
    int ranks[] = { 0, 1, 2, 3 };
    int rc = ray_collective_create_group(W, 4, 4, ranks, "g4");
    printf("create g4: %s\n", ray_strerror(rc));
    char res[5][1024];
    if (strcmp(mode, "all") == 0) {
        run_all("node", "g4", 0, 4, "node", 0, 0, res);
        for (int i = 0; i < 4; i++)
            printf("%s\n", res[i]);
        int bad = 0;
        for (int dt = 0; dt < 4; dt++)
            for (int op = 0; op < 4; op++)
                bad += run_all("allreduce", "g4", 0, 4, "allreduce", 1003, dt * 4 + op, NULL);
        printf("allreduce: 16 dtype/op pairs, %d wrong\n", bad);
        bad = 0;
        for (int dt = 0; dt < 4; dt++)
            for (int op = 0; op < 4; op++)
                bad += run_all("allreduce ring", "g4", 0, 4, "allreduce", 1003,
                               RAY_COLL_ALGO_RING * 16 + dt * 4 + op, NULL);
        printf("allreduce (ring): 16 dtype/op pairs, %d wrong\n", bad);
        bad = run_all("allreduce ring big", "g4", 0, 4, "allreduce", 3 << 20,
                      RAY_COLL_ALGO_RING * 16 + RAY_COLL_FLOAT32 * 4, NULL);
        printf("allreduce (ring) 12 MiB float32 SUM: %d wrong\n", bad);
        bad = run_all("allreduce ring tiny", "g4", 0, 4, "allreduce", 3,
                      RAY_COLL_ALGO_RING * 16 + RAY_COLL_INT32 * 4 + RAY_COLL_SUM, NULL);
        printf("allreduce (ring) of 3 elements on 4 ranks: %d wrong\n", bad);
        bad = run_all("allreduce big", "g4", 0, 4, "allreduce", 3 << 20, RAY_COLL_FLOAT32 * 4, NULL);
        printf("allreduce 12 MiB float32 SUM: %d wrong\n", bad);
        bad = run_all("allreduce tiny", "g4", 0, 4, "allreduce", 3, RAY_COLL_INT64 * 4 + RAY_COLL_MAX, NULL);
        printf("allreduce of 3 elements on 4 ranks: %d wrong\n", bad);
        bad = 0;
        for (int op = 0; op < 4; op++)
            bad += run_all("reduce", "g4", 0, 4, "reduce", 777, RAY_COLL_FLOAT64 * 4 + op, NULL);
        printf("reduce to rank 2: %d wrong\n", bad);
        bad = run_all("broadcast", "g4", 0, 4, "broadcast", 100000, 3, NULL);
        printf("broadcast from rank 3: %d wrong\n", bad);
        bad = run_all("allgather", "g4", 0, 4, "allgather", 5000, 0, NULL);
        printf("allgather: %d wrong\n", bad);
        bad = run_all("reducescatter", "g4", 0, 4, "reducescatter", 4097, 0, NULL);
        printf("reducescatter: %d wrong\n", bad);
        bad = run_all("sendrecv", "g4", 0, 4, "sendrecv", 20000, 5, NULL);
        printf("send/recv ring, 5 rounds: %d wrong\n", bad);
        bad = run_all("barrier", "g4", 0, 4, "barrier", 0, 0, res);
        double maxb = 0, mina = 1e300;
        for (int i = 0; i < 4 && !bad; i++) {
            double b, a;
            sscanf(res[i], "ok %lf %lf", &b, &a);
            maxb = b > maxb ? b : maxb;
            mina = a < mina ? a : mina;
        }
        printf("barrier: %d wrong, %s\n", bad,
               !bad && mina >= maxb ? "no rank left before the last arrived" : "a rank left early");
    } else if (strcmp(mode, "groups") == 0) {
        /* g2: actors 3 and 2 as ranks 0 and 1; used between g4's calls */
        int r2[] = { 1, 0 };
        rc = ray_collective_create_group(&W[2], 2, 2, r2, "g2");
        printf("create g2: %s\n", ray_strerror(rc));
        int bad = 0;
        for (int k = 0; k < 3; k++) {
            bad += run_all("g4", "g4", 0, 4, "allreduce", 999, RAY_COLL_INT32 * 4, NULL);
            bad += run_all("g2", "g2", 2, 2, "allreduce", 999, RAY_COLL_INT32 * 4, NULL);
            bad += run_all("g2 bcast", "g2", 2, 2, "broadcast", 999, 1, NULL);
        }
        printf("two groups interleaved: %d wrong\n", bad);
        bad = run_pipelined("broadcast", 5000, 0, 6) + run_pipelined("sendrecv", 100, 2, 6) +
              run_pipelined("allreduce", 5000, RAY_COLL_INT64 * 4 + RAY_COLL_SUM, 6);
        printf("6 calls each of broadcast, send/recv and allreduce queued at once: %d wrong\n", bad);
        run_all("g2 ranks", "g2", 2, 2, "node", 0, 0, res);
        printf("g2: actor 2 is %.9s, actor 3 is %.9s\n", res[0], res[1]);
        rc = ray_collective_create_group(W, 4, 4, ranks, "g4");
        printf("create g4 again: %s: %s\n", ray_strerror(rc), ray_last_error());
    } else if (strcmp(mode, "errors") == 0) {
        run_all("non-member", "g4", 4, 1, "node", 0, 0, res);
        run_all("no group", "nope", 0, 1, "node", 0, 0, res);
        int bad_ranks[] = { 0, 1, 1, 3 };
        rc = ray_collective_create_group(W, 4, 4, bad_ranks, "gbad");
        printf("create with rank 1 twice: %s: %s\n", ray_strerror(rc), ray_last_error());
        rc = ray_collective_create_group(W, 4, 3, NULL, "gbad");
        printf("create with world_size 3 and 4 actors: %s: %s\n", ray_strerror(rc), ray_last_error());
        run_all("timeout", "g4", 0, 4, "timeout", 10, 1, res);
        run_all("badsize", "g4", 0, 2, "badsize", 10, 0, res);
        rc = ray_collective_group_open("g4", &(ray_collective_group *){ NULL });
        printf("open in the driver: %s: %s\n", ray_strerror(rc), ray_last_error());
        /* destroy while handles are open, then every call is refused */
        ray_ref refs[4];
        for (int i = 0; i < 4; i++) {
            ray_value args[] = { RAY_S("g4"), RAY_S("after"), RAY_I(10), RAY_I(0) };
            ray_actor_call(W[i], "run", args, 4, NULL, &refs[i]);
        }
        usleep(500000);
        rc = ray_collective_destroy_group("g4");
        printf("destroy g4: %s\n", ray_strerror(rc));
        for (int i = 0; i < 4; i++) {
            ray_value v;
            if (ray_get(refs[i], 60000, &v) == RAY_OK) {
                printf("after destroy: actor %d: %s\n", i, (const char *)v.as.buf.ptr);
                ray_value_release(&v);
            }
        }
        run_all("open after destroy", "g4", 0, 1, "node", 0, 0, res);
        rc = ray_collective_destroy_group("g4");
        printf("destroy g4 again: %s: %s\n", ray_strerror(rc), ray_last_error());
    }
    return 0;
}
