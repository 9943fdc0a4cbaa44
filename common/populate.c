/*
 * populate.c — a per-process record of which store chunks are populated
 * (populate.h). One bit per POPULATE_CHUNK of the mapping; libray links it,
 * so nothing here aborts on out-of-memory.
 */
#include "common/populate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels answer EINVAL */
#endif

struct populate_map {
    uint64_t nchunks;
    uint64_t words[]; /* bit i: chunk i claimed */
};

struct populate_map *populate_map_new(uint64_t size)
{
    uint64_t n = (size + POPULATE_CHUNK - 1) / POPULATE_CHUNK;
    struct populate_map *m = calloc(1, sizeof *m + (n + 63) / 64 * sizeof(uint64_t));
    if (m != NULL)
        m->nchunks = n;
    return m;
}

void populate_map_free(struct populate_map *m)
{
    free(m);
}

void populate_map_reset(struct populate_map *m)
{
    for (uint64_t i = 0; i < (m->nchunks + 63) / 64; i++)
        __atomic_store_n(&m->words[i], 0, __ATOMIC_RELAXED);
}

/* Claims chunk I; true when this call is the first to. */
static bool claim(struct populate_map *m, uint64_t i)
{
    uint64_t bit = (uint64_t)1 << (i % 64);
    uint64_t *w = &m->words[i / 64];
    if (__atomic_load_n(w, __ATOMIC_RELAXED) & bit)
        return false;
    return !(__atomic_fetch_or(w, bit, __ATOMIC_RELAXED) & bit);
}

/* Adds [A, B) to the ranges, merging with the last one when they touch. */
static void add(uint64_t a, uint64_t b, uint64_t *offs, uint64_t *lens, int max, int *n)
{
    if (a >= b)
        return;
    if (*n > 0 && offs[*n - 1] + lens[*n - 1] == a) {
        lens[*n - 1] = b - offs[*n - 1];
        return;
    }
    if (*n == max) { /* no room: the last range grows to cover this one too */
        lens[*n - 1] = b - offs[*n - 1];
        return;
    }
    offs[*n] = a;
    lens[*n] = b - a;
    (*n)++;
}

int populate_claim(struct populate_map *m, uint64_t off, uint64_t len, uint64_t *offs,
                   uint64_t *lens, int max)
{
    int n = 0;
    if (len == 0 || max < 1)
        return 0;
    uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
    if (m == NULL) {
        add(off, end, offs, lens, max, &n);
        return n;
    }
    uint64_t first = (off + POPULATE_CHUNK - 1) / POPULATE_CHUNK; /* first whole chunk */
    uint64_t last = end / POPULATE_CHUNK;                         /* one past the last */
    if (last > m->nchunks)
        last = m->nchunks;
    if (first >= last) { /* no whole chunk inside: all of it, unmarked */
        add(off, end, offs, lens, max, &n);
        return n;
    }
    add(off, first * POPULATE_CHUNK, offs, lens, max, &n);
    for (uint64_t i = first; i < last; i++)
        if (claim(m, i))
            add(i * POPULATE_CHUNK, (i + 1) * POPULATE_CHUNK, offs, lens, max, &n);
    add(last * POPULATE_CHUNK, end, offs, lens, max, &n);
    return n;
}

int populate_range(void *base, uint64_t off, uint64_t len, uint64_t step)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)base + off) & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)base + off + len + page - 1) & ~(uintptr_t)(page - 1);
    if (step == 0)
        step = end - start;
    for (uintptr_t p = start; p < end; p += step) {
        uintptr_t n = end - p < step ? end - p : step;
        if (madvise((void *)p, n, MADV_POPULATE_WRITE) < 0)
            return -1;
    }
    return 0;
}
