/*
 * job_callseq.c — many threads of one driver calling the same actors at
 * once, asynchronously, for test_actor_once.sh (api/callseq.h: the actor's
 * worker must tell a repeat from a call that is merely late, however the
 * threads interleave).
 *
 *   ray submit job_callseq.so -- THREADS CALLS ACTORS SHARED
 *
 * ACTORS "tally" actors (the first SHARED of them with share_worker, the
 * rest each in a process of its own); THREADS threads each make CALLS calls
 * without waiting, spread over the actors, then get every result and check
 * it is the argument given. Each actor then says how many calls it ran:
 * the sum must be THREADS * CALLS. Prints "THREADS threads, N calls to
 * ACTORS actors: every call ran once".
 */
#include "job_check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tally {
    int64_t n;
};

static void *tally_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t, (void)args, (void)nargs;
    return calloc(1, sizeof(struct tally));
}
static void tally_free(void *self)
{
    free(self);
}
RAY_ACTOR(tally);

/* add(X): counts the call, returns X. */
static int tally_add(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct tally *c = self;
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "add wants an int");
    c->n++;
    return ray_return(t, args[0]);
}
RAY_METHOD(tally, add);

/* count(): the calls of add this instance ran. */
static int tally_count(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args, (void)nargs;
    struct tally *c = self;
    return ray_return(t, RAY_I(c->n));
}
RAY_METHOD(tally, count);

static ray_actor *actors;
static int nthreads, ncalls, nactors;
static pthread_barrier_t start;

struct client {
    int index;
    int rc; /* 0 ok */
};

static int client_run(struct client *c)
{
    ray_ref *r = calloc((size_t)ncalls, sizeof *r);
    ray_value *v = calloc((size_t)ncalls, sizeof *v);
    CHECK(r != NULL && v != NULL, "out of memory");
    pthread_barrier_wait(&start);
    for (int i = 0; i < ncalls; i++) {
        ray_value x = RAY_I((int64_t)c->index * 100000000 + i);
        int rc = ray_actor_call(actors[(i + c->index) % nactors], "add", &x, 1, NULL, &r[i]);
        CHECK(rc == RAY_OK, "thread %d: call %d not sent: %s", c->index, i, ray_strerror(rc));
    }
    for (int i = 0; i < ncalls; i++) {
        int rc = ray_get(r[i], 120000, &v[i]);
        CHECK(rc == RAY_OK, "thread %d: call %d to actor %d failed: %s", c->index, i,
              (i + c->index) % nactors, ray_strerror(rc));
        CHECK(v[i].type == RAY_INT && v[i].as.i == (int64_t)c->index * 100000000 + i,
              "thread %d: call %d returned the wrong value", c->index, i);
        ray_value_release(&v[i]);
    }
    ray_free(r, (size_t)ncalls);
    free(r);
    free(v);
    return 0;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    c->rc = client_run(c);
    return NULL;
}

int ray_main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: job_callseq.so THREADS CALLS ACTORS SHARED\n");
        return 2;
    }
    nthreads = atoi(argv[1]);
    ncalls = atoi(argv[2]);
    nactors = atoi(argv[3]);
    int shared = atoi(argv[4]);
    CHECK(nthreads > 0 && nthreads <= 64 && ncalls > 0 && nactors > 0 && nactors <= 64 &&
          shared >= 0 && shared <= nactors, "bad arguments");
    actors = calloc((size_t)nactors, sizeof *actors);
    for (int k = 0; k < nactors; k++) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.num_cpus = 0;
        o.share_worker = k < shared;
        CHECK(ray_actor_create("tally", NULL, 0, &o, &actors[k]) == RAY_OK, "create %d", k);
        ray_ref r;
        ray_value v;
        CHECK(ray_actor_call(actors[k], "count", NULL, 0, NULL, &r) == RAY_OK, "count %d", k);
        CHECK(ray_get(r, 60000, &v) == RAY_OK && v.as.i == 0, "actor %d starts", k);
        ray_free(&r, 1);
    }
    pthread_t th[64];
    struct client c[64];
    pthread_barrier_init(&start, NULL, (unsigned)nthreads);
    for (int i = 0; i < nthreads; i++) {
        c[i] = (struct client){ .index = i };
        CHECK(pthread_create(&th[i], NULL, client_main, &c[i]) == 0, "pthread_create");
    }
    int bad = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        bad |= c[i].rc;
    }
    pthread_barrier_destroy(&start);
    if (bad)
        return 1;
    int64_t sum = 0;
    for (int k = 0; k < nactors; k++) {
        ray_ref r;
        ray_value v;
        CHECK(ray_actor_call(actors[k], "count", NULL, 0, NULL, &r) == RAY_OK, "count %d", k);
        CHECK(ray_get(r, 60000, &v) == RAY_OK && v.type == RAY_INT, "count of actor %d", k);
        sum += v.as.i;
        ray_free(&r, 1);
    }
    CHECK(sum == (int64_t)nthreads * ncalls, "the actors ran %lld calls, not %lld",
          (long long)sum, (long long)nthreads * ncalls);
    printf("%d threads, %lld calls to %d actors: every call ran once\n", nthreads,
           (long long)sum, nactors);
    return 0;
}
