/*
 * bench_idmap.c — one hash table for the tree? (docs/architecture.md "One
 * hash table"): common/idmap against the two other hand-written tables, on
 * their own workloads, in alternating runs:
 *  - the object store's index (objstore/store.c): slots hold a pointer to
 *    the object record, whose ID is compared through the pointer; load 1/2;
 *  - the client's scalar cache (api/objects.c): slots hold the ID and the
 *    value inline, never deleted; load 3/4. With idmap each value needs an
 *    allocation of its own.
 * IDs are made as a process makes them (one random part, a counter).
 *
 *   make bench-idmap, or build/bench/bench_idmap [N] [RUNS]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/idmap.h"
#include "common/ids.h"
#include "ray.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void make_id(uint8_t id[IDS_SIZE], uint32_t i, uint32_t salt)
{
    memset(id, 0x5a, IDS_SIZE);
    memcpy(id, &salt, 4);
    memcpy(id + 12, &i, 4);
}

/* ---- the store's index, as objstore/store.c has it ---- */

struct obj {
    uint8_t id[IDS_SIZE];
    uint64_t offset, size, fp;
    uint32_t vtype;
    int state;
    void *other[6]; /* the rest of a record: pins, list links */
};

struct ptable {
    struct obj **slots;
    uint64_t nslots, nobjs;
};

static struct obj *pt_find(const struct ptable *s, const uint8_t *id)
{
    uint64_t mask = s->nslots - 1;
    for (uint64_t i = ids_hash(id) & mask; s->slots[i]; i = (i + 1) & mask)
        if (memcmp(s->slots[i]->id, id, IDS_SIZE) == 0)
            return s->slots[i];
    return NULL;
}

static void pt_put(struct ptable *s, struct obj *o)
{
    if ((s->nobjs + 1) * 2 > s->nslots) {
        struct obj **old = s->slots;
        uint64_t n = s->nslots;
        s->nslots = n ? n * 2 : 1024;
        s->slots = calloc(s->nslots, sizeof *s->slots);
        s->nobjs = 0;
        for (uint64_t i = 0; i < n; i++)
            if (old[i])
                pt_put(s, old[i]);
        free(old);
    }
    uint64_t mask = s->nslots - 1, i = ids_hash(o->id) & mask;
    while (s->slots[i])
        i = (i + 1) & mask;
    s->slots[i] = o;
    s->nobjs++;
}

static void pt_del(struct ptable *s, const struct obj *o)
{
    uint64_t mask = s->nslots - 1, i = ids_hash(o->id) & mask;
    while (s->slots[i] != o)
        i = (i + 1) & mask;
    uint64_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (s->slots[j] == NULL)
            break;
        uint64_t home = ids_hash(s->slots[j]->id) & mask;
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            s->slots[hole] = s->slots[j];
            hole = j;
        }
    }
    s->slots[hole] = NULL;
    s->nobjs--;
}

static volatile uintptr_t sink;

/* insert N records, look each up, miss N times, delete all: ns per operation */
static double store_ptable(struct obj *objs, long n)
{
    struct ptable t = { 0 };
    uint8_t miss[IDS_SIZE];
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        pt_put(&t, &objs[i]);
    for (long i = 0; i < n; i++)
        sink += (uintptr_t)pt_find(&t, objs[(i * 7919) % n].id);
    for (long i = 0; i < n; i++) {
        make_id(miss, (uint32_t)i, 2);
        sink += (uintptr_t)pt_find(&t, miss);
    }
    for (long i = 0; i < n; i++)
        pt_del(&t, &objs[i]);
    double dt = (now_ns() - t0) / (4.0 * (double)n);
    free(t.slots);
    return dt;
}

static double store_idmap(struct obj *objs, long n)
{
    struct idmap m = IDMAP_INIT;
    uint8_t miss[IDS_SIZE];
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        idmap_put(&m, objs[i].id, &objs[i]);
    for (long i = 0; i < n; i++)
        sink += (uintptr_t)idmap_get(&m, objs[(i * 7919) % n].id);
    for (long i = 0; i < n; i++) {
        make_id(miss, (uint32_t)i, 2);
        sink += (uintptr_t)idmap_get(&m, miss);
    }
    for (long i = 0; i < n; i++)
        idmap_del(&m, objs[i].id);
    double dt = (now_ns() - t0) / (4.0 * (double)n);
    idmap_free(&m);
    return dt;
}

/* ---- the scalar cache, as api/objects.c has it ---- */

struct scalar_entry {
    uint8_t id[IDS_SIZE];
    bool used, freed;
    ray_value v;
};

struct stable {
    struct scalar_entry *e;
    size_t slots, count;
};

static size_t st_probe(const struct stable *t, const uint8_t *id)
{
    size_t i = (size_t)ids_hash(id) & (t->slots - 1);
    while (t->e[i].used && memcmp(t->e[i].id, id, IDS_SIZE) != 0)
        i = (i + 1) & (t->slots - 1);
    return i;
}

static void st_put(struct stable *t, const uint8_t *id, const ray_value *v)
{
    if (t->e == NULL || (t->count + 1) * 4 > t->slots * 3) {
        size_t n = t->e ? t->slots * 2 : 4096, on = t->slots;
        struct scalar_entry *old = t->e;
        t->e = calloc(n, sizeof *t->e);
        t->slots = n;
        for (size_t i = 0; i < on; i++)
            if (old[i].used)
                t->e[st_probe(t, old[i].id)] = old[i];
        free(old);
    }
    size_t i = st_probe(t, id);
    if (!t->e[i].used)
        t->count++;
    t->e[i].used = true;
    memcpy(t->e[i].id, id, IDS_SIZE);
    t->e[i].v = *v;
}

/* put N values, get each twice (a gotten value is gotten again), miss N times */
static double scalar_table(long n)
{
    struct stable t = { 0 };
    uint8_t id[IDS_SIZE];
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        make_id(id, (uint32_t)i, 1);
        ray_value v = RAY_I(i);
        st_put(&t, id, &v);
    }
    for (long k = 0; k < 2 * n; k++) {
        make_id(id, (uint32_t)((k * 7919) % n), 1);
        size_t i = st_probe(&t, id);
        sink += t.e[i].used ? (uintptr_t)t.e[i].v.as.i : 0;
    }
    for (long i = 0; i < n; i++) {
        make_id(id, (uint32_t)i, 3);
        sink += t.e[st_probe(&t, id)].used;
    }
    double dt = (now_ns() - t0) / (4.0 * (double)n);
    free(t.e);
    return dt;
}

struct scalar_val {
    bool freed;
    ray_value v;
};

static double scalar_idmap(long n)
{
    struct idmap m = IDMAP_INIT;
    uint8_t id[IDS_SIZE];
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        make_id(id, (uint32_t)i, 1);
        struct scalar_val *sv = malloc(sizeof *sv);
        sv->freed = false;
        sv->v = RAY_I(i);
        free(idmap_put(&m, id, sv));
    }
    for (long k = 0; k < 2 * n; k++) {
        make_id(id, (uint32_t)((k * 7919) % n), 1);
        struct scalar_val *sv = idmap_get(&m, id);
        sink += sv ? (uintptr_t)sv->v.as.i : 0;
    }
    for (long i = 0; i < n; i++) {
        make_id(id, (uint32_t)i, 3);
        sink += (uintptr_t)idmap_get(&m, id);
    }
    double dt = (now_ns() - t0) / (4.0 * (double)n);
    size_t pos = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&m, &pos)) != NULL) {
        free(s->val);
        pos++;
    }
    idmap_free(&m);
    return dt;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int runs = argc > 2 ? atoi(argv[2]) : 9;
    if (n < 1 || runs < 1 || runs > 64)
        return 2;
    struct obj *objs = calloc((size_t)n, sizeof *objs);
    for (long i = 0; i < n; i++)
        make_id(objs[i].id, (uint32_t)i, 1);
    double a[64], b[64], c[64], d[64];
    store_ptable(objs, n / 10); /* warm-up */
    store_idmap(objs, n / 10);
    for (int r = 0; r < runs; r++) {
        a[r] = store_ptable(objs, n);
        b[r] = store_idmap(objs, n);
        c[r] = scalar_table(n);
        d[r] = scalar_idmap(n);
    }
    qsort(a, (size_t)runs, sizeof *a, cmp);
    qsort(b, (size_t)runs, sizeof *b, cmp);
    qsort(c, (size_t)runs, sizeof *c, cmp);
    qsort(d, (size_t)runs, sizeof *d, cmp);
    int m = runs / 2;
    printf("store index  (%ld records): own table %.1f ns/op (%.1f-%.1f), idmap %.1f ns/op (%.1f-%.1f): idmap/own %.2f\n",
           n, a[m], a[0], a[runs - 1], b[m], b[0], b[runs - 1], b[m] / a[m]);
    printf("scalar cache (%ld values):  own table %.1f ns/op (%.1f-%.1f), idmap %.1f ns/op (%.1f-%.1f): idmap/own %.2f\n",
           n, c[m], c[0], c[runs - 1], d[m], d[0], d[runs - 1], d[m] / c[m]);
    free(objs);
    return 0;
}
