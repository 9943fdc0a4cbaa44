/*
 * collective_store.c — the rendezvous actor of a collective group
 * ("ray_collective_store"; its methods in collective_internal.h). Ranks
 * post object references under keys and take the ones they wait for; the
 * store never touches the data. It runs with max_concurrency 2 * world + 4
 * so every rank can block in a take at once; its table is guarded by one
 * mutex and waiters sleep on one condition variable, woken by every post.
 * An entry is freed (and its object ray_free'd) when its last reader has
 * released it, which readers do in their next xchg.
 */
#include "libs/collective/collective_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char ray_coll_store_class_[] = "ray_collective_store";

#define NBUCKETS 1024

struct entry {
    struct entry *next;
    char key[RAY_COLL_KEY_MAX_];
    ray_value val; /* REF or NIL */
    int64_t readers;
};

/* A rank's call counters, kept here between its handles (save at close,
 * given back by whoami), so a rank that opens a handle per method call
 * goes on numbering its calls where the last handle stopped. */
struct rankstate {
    uint64_t seq;
    uint64_t *sendseq, *recvseq; /* world each; NULL until saved */
};

struct store {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int world;
    char name[RAY_COLLECTIVE_NAME_MAX + 1];
    ray_actor *members;
    int *ranks;
    struct rankstate *rs; /* by rank */
    struct entry *b[NBUCKETS];
};

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static struct entry **find(struct store *st, const char *key)
{
    struct entry **pp = &st->b[hash(key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void *ray_collective_store_new(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 4 || a[0].type != RAY_INT || a[1].type != RAY_LIST || a[2].type != RAY_LIST ||
        a[3].type != RAY_STR || a[0].as.i < 1 || a[0].as.i > RAY_COLLECTIVE_MAX_WORLD ||
        ray_list_len(&a[1]) != (size_t)a[0].as.i || ray_list_len(&a[2]) != (size_t)a[0].as.i) {
        ray_fail(t, "ray_collective_store: bad arguments");
        return NULL;
    }
    struct store *st = calloc(1, sizeof *st);
    int w = (int)a[0].as.i;
    if (st == NULL || (st->members = calloc((size_t)w, sizeof *st->members)) == NULL ||
        (st->ranks = calloc((size_t)w, sizeof *st->ranks)) == NULL ||
        (st->rs = calloc((size_t)w, sizeof *st->rs)) == NULL) {
        if (st) {
            free(st->members);
            free(st->ranks);
        }
        free(st);
        ray_fail(t, "ray_collective_store: out of memory");
        return NULL;
    }
    st->world = w;
    snprintf(st->name, sizeof st->name, "%s", (const char *)a[3].as.buf.ptr);
    for (int i = 0; i < w; i++) {
        const ray_value *m = ray_list_at(&a[1], (size_t)i), *r = ray_list_at(&a[2], (size_t)i);
        if (m->type != RAY_ACTOR || r->type != RAY_INT || r->as.i < 0 || r->as.i >= w) {
            free(st->members);
            free(st->ranks);
            free(st->rs);
            free(st);
            ray_fail(t, "ray_collective_store: member %d is not an actor with an int rank", i);
            return NULL;
        }
        st->members[i] = m->as.actor;
        st->ranks[i] = (int)r->as.i;
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    return st;
}

static void ray_collective_store_free(void *self)
{
    struct store *st = self;
    if (st == NULL)
        return;
    for (int i = 0; i < NBUCKETS; i++)
        for (struct entry *e = st->b[i], *nx; e; e = nx) {
            nx = e->next;
            free(e);
        }
    for (int i = 0; i < st->world; i++) {
        free(st->rs[i].sendseq);
        free(st->rs[i].recvseq);
    }
    free(st->rs);
    free(st->members);
    free(st->ranks);
    free(st);
}

static int ray_collective_store_ping(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    return ray_return(t, RAY_NIL_V);
}

static int ray_collective_store_whoami(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct store *st = self;
    if (n != 1 || a[0].type != RAY_ACTOR)
        return ray_fail(t, "whoami wants an actor");
    for (int i = 0; i < st->world; i++)
        if (memcmp(st->members[i].id, a[0].as.actor.id, RAY_ID_SIZE) == 0) {
            int r = st->ranks[i];
            pthread_mutex_lock(&st->mu);
            struct rankstate *rs = &st->rs[r];
            size_t len = rs->sendseq ? (size_t)st->world * 8 : 0;
            ray_value v[] = { RAY_I(r), RAY_I(st->world), RAY_I((int64_t)rs->seq),
                              RAY_BYTES_V(rs->sendseq, len), RAY_BYTES_V(rs->recvseq, len) };
            int rc = ray_return(t, RAY_LIST_V(v, 5));
            pthread_mutex_unlock(&st->mu);
            return rc;
        }
    return ray_fail(t, "this actor is not a member of collective group '%s'", st->name);
}

/* save(rank INT, seq INT, sendseq BYTES, recvseq BYTES): a closing handle's counters. */
static int ray_collective_store_save(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct store *st = self;
    size_t len = (size_t)st->world * 8;
    if (n != 4 || a[0].type != RAY_INT || a[1].type != RAY_INT || a[2].type != RAY_BYTES ||
        a[3].type != RAY_BYTES || a[0].as.i < 0 || a[0].as.i >= st->world ||
        a[2].as.buf.len != len || a[3].as.buf.len != len)
        return ray_fail(t, "save: bad arguments");
    struct rankstate *rs = &st->rs[a[0].as.i];
    pthread_mutex_lock(&st->mu);
    if (rs->sendseq == NULL) {
        rs->sendseq = calloc(st->world, 8);
        rs->recvseq = calloc(st->world, 8);
    }
    if (rs->sendseq && rs->recvseq) {
        rs->seq = (uint64_t)a[1].as.i;
        memcpy(rs->sendseq, a[2].as.buf.ptr, len);
        memcpy(rs->recvseq, a[3].as.buf.ptr, len);
    }
    pthread_mutex_unlock(&st->mu);
    return rs->sendseq && rs->recvseq ? ray_return(t, RAY_NIL_V) : ray_fail(t, "save: out of memory");
}

static int keys_ok(const ray_value *l)
{
    for (size_t i = 0; i < ray_list_len(l); i++) {
        const ray_value *k = ray_list_at(l, i);
        if (k->type != RAY_STR || k->as.buf.len == 0 || k->as.buf.len >= RAY_COLL_KEY_MAX_)
            return 0;
    }
    return 1;
}

static int ray_collective_store_xchg(void *self, ray_task *t, const ray_value *a, size_t n)
{
    struct store *st = self;
    if (n != 6 || a[0].type != RAY_LIST || a[1].type != RAY_LIST || a[2].type != RAY_INT ||
        a[3].type != RAY_LIST || a[4].type != RAY_LIST || a[5].type != RAY_INT ||
        ray_list_len(&a[0]) != ray_list_len(&a[1]) || !keys_ok(&a[0]) || !keys_ok(&a[3]) ||
        !keys_ok(&a[4]))
        return ray_fail(t, "xchg: bad arguments");
    size_t npost = ray_list_len(&a[0]), ntake = ray_list_len(&a[3]), nrel = ray_list_len(&a[4]);
    int64_t readers = a[2].as.i, timeout = a[5].as.i;
    ray_ref *tofree = nrel ? calloc(nrel, sizeof *tofree) : NULL;
    ray_value *out = calloc(ntake ? ntake : 1, sizeof *out);
    size_t nfree = 0;
    int rc = RAY_OK;
    if ((nrel && tofree == NULL) || out == NULL) {
        free(tofree);
        free(out);
        return ray_fail(t, "xchg: out of memory");
    }
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < nrel; i++) {
        struct entry **pp = find(st, ray_list_at(&a[4], i)->as.buf.ptr), *e = *pp;
        if (e == NULL || --e->readers > 0)
            continue;
        if (e->val.type == RAY_REF)
            tofree[nfree++] = e->val.as.ref;
        *pp = e->next;
        free(e);
    }
    for (size_t i = 0; i < npost; i++) {
        const char *key = ray_list_at(&a[0], i)->as.buf.ptr;
        const ray_value *v = ray_list_at(&a[1], i);
        struct entry **pp = find(st, key);
        if (*pp != NULL) {
            rc = ray_fail(t, "collective group '%s': key %s posted twice (ranks out of step)",
                          st->name, key);
            goto unlock;
        }
        struct entry *e = calloc(1, sizeof *e);
        if (e == NULL) {
            rc = ray_fail(t, "xchg: out of memory");
            goto unlock;
        }
        snprintf(e->key, sizeof e->key, "%s", key);
        e->val = v->type == RAY_REF ? *v : RAY_NIL_V;
        e->readers = readers;
        *pp = e;
    }
    if (npost)
        pthread_cond_broadcast(&st->cv);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout >= 0) {
        dl.tv_sec += timeout / 1000;
        dl.tv_nsec += (long)(timeout % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    for (size_t i = 0; i < ntake; i++) {
        const char *key = ray_list_at(&a[3], i)->as.buf.ptr;
        struct entry *e;
        while ((e = *find(st, key)) == NULL) {
            int w = timeout < 0 ? pthread_cond_wait(&st->cv, &st->mu)
                                : pthread_cond_timedwait(&st->cv, &st->mu, &dl);
            if (w == ETIMEDOUT && *find(st, key) == NULL) {
                unsigned long long seq;
                char kind[16], from[16];
                if (sscanf(key, "%llu/%15[^/]/%15[^/]", &seq, kind, from) != 3)
                    snprintf(from, sizeof from, "?");
                rc = ray_fail(t,
                              "collective group '%s': timed out after %lld ms waiting for rank %s "
                              "(call %llu, %s): has every rank made the same calls?",
                              st->name, (long long)timeout, from, seq, kind);
                goto unlock;
            }
        }
        out[i] = e->val;
    }
unlock:
    pthread_mutex_unlock(&st->mu);
    if (nfree)
        ray_free(tofree, nfree);
    free(tofree);
    if (rc == RAY_OK)
        rc = ray_return(t, RAY_LIST_V(out, ntake));
    free(out);
    return rc;
}

RAY_ACTOR(ray_collective_store);
RAY_METHOD(ray_collective_store, ping);
RAY_METHOD(ray_collective_store, whoami);
RAY_METHOD(ray_collective_store, save);
RAY_METHOD(ray_collective_store, xchg);
