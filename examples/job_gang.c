/*
 * job_gang.c — a gang of actors scheduled together with a placement group:
 * N "shard" actors, one per one-CPU bundle, all started or none. Each sums
 * its share of 1..M; the driver adds the shares up and checks the total.
 *
 *   ray submit examples/build/job_gang.so -- [N [STRATEGY [M]]]
 *   (N: 2, STRATEGY: PACK | SPREAD | STRICT_PACK | STRICT_SPREAD, M: 1000000)
 *
 * On a cluster too small for N bundles the group stays pending: the job says
 * so after 10 s (`ray status` shows it) and exits 1.
 */
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shard {
    int64_t from, to;
};

static void *shard_new(ray_task *t, const ray_value *args, size_t n)
{
    if (n != 2 || args[0].type != RAY_INT || args[1].type != RAY_INT) {
        ray_fail(t, "shard wants (from, to)");
        return NULL;
    }
    struct shard *s = malloc(sizeof *s);
    if (s) {
        s->from = args[0].as.i;
        s->to = args[1].as.i;
    }
    return s;
}

static void shard_free(void *self)
{
    free(self);
}

/* sum(): the sum of from..to, and where it ran */
static int shard_sum(void *self, ray_task *t, const ray_value *args, size_t n)
{
    (void)args, (void)n;
    struct shard *s = self;
    int64_t sum = 0;
    for (int64_t i = s->from; i <= s->to; i++)
        sum += i;
    printf("shard %lld..%lld on node %.8s: %lld\n", (long long)s->from, (long long)s->to,
           ray_node_id(), (long long)sum);
    return ray_return(t, RAY_I(sum));
}

RAY_ACTOR(shard);
RAY_METHOD(shard, sum);

static ray_pg_strategy strategy_of(const char *s)
{
    if (strcmp(s, "SPREAD") == 0)
        return RAY_SPREAD;
    if (strcmp(s, "STRICT_PACK") == 0)
        return RAY_STRICT_PACK;
    if (strcmp(s, "STRICT_SPREAD") == 0)
        return RAY_STRICT_SPREAD;
    return RAY_PACK;
}

int ray_main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2;
    ray_pg_strategy st = strategy_of(argc > 2 ? argv[2] : "PACK");
    int64_t m = argc > 3 ? atoll(argv[3]) : 1000000;
    if (n < 1 || n > 16 || m < n)
        return fprintf(stderr, "usage: job_gang.so [N (1..16) [STRATEGY [M]]]\n"), 2;

    const char *bundles[16];
    for (int i = 0; i < n; i++)
        bundles[i] = "CPU=1";
    ray_pg pg;
    if (ray_pg_create(bundles, (size_t)n, st, NULL, &pg) != RAY_OK)
        return fprintf(stderr, "ray_pg_create: %s\n", ray_last_error()), 1;
    int rc = ray_pg_wait(pg, 10000);
    if (rc != RAY_OK) {
        fprintf(stderr, "the gang cannot be placed: %s\n", ray_last_error());
        ray_pg_remove(pg);
        return 1;
    }

    ray_actor shards[16];
    ray_ref parts[16];
    for (int i = 0; i < n; i++) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.num_cpus = 1; /* held from bundle i for the actor's life */
        o.pg = pg;
        o.bundle = i;
        ray_value args[] = { RAY_I(m * i / n + 1), RAY_I(m * (i + 1) / n) };
        if (ray_actor_create("shard", args, 2, &o, &shards[i]) != RAY_OK ||
            ray_actor_call(shards[i], "sum", NULL, 0, NULL, &parts[i]) != RAY_OK)
            return fprintf(stderr, "shard %d: %s\n", i, ray_last_error()), 1;
    }
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        ray_value v;
        if (ray_get(parts[i], 60000, &v) != RAY_OK)
            return fprintf(stderr, "shard %d: %s\n", i, ray_last_error()), 1;
        total += v.as.i;
    }
    int64_t want = m * (m + 1) / 2;
    printf("gang of %d shards: sum 1..%lld = %lld (%s)\n", n, (long long)m, (long long)total,
           total == want ? "correct" : "WRONG");
    ray_pg_remove(pg); /* ends the shards too */
    return total == want ? 0 : 1;
}
