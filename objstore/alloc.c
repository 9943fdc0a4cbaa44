/*
 * alloc.c — 64-byte aligned range allocator for the object store (alloc.h).
 *
 * DESIGN
 * Sizes are counted in granules of ALLOC_ALIGN bytes. Every block (used or
 * free) is a record in a pool array, linked to its physical neighbours in
 * address order, so freeing merges with free neighbours in O(1). Free blocks
 * sit in segregated lists indexed by a two-level size class (TLSF): first
 * level = power of two of the size, second level = 16 linear subdivisions of
 * that power; sizes below 16 granules (1 KiB) have exact classes. Two bitmaps
 * say which lists are non-empty, so finding a list is a couple of
 * count-trailing-zeros, O(1). A request is rounded up to the next class
 * boundary before the search, so any block in the list found fits ("good
 * fit": at most 1/16 larger than the best fit); if none does, the request's
 * own class is scanned for a block that happens to fit, which makes a request
 * of exactly the largest free block (or the whole capacity) succeed. The
 * found block is split and the tail goes back as a free block, so a block
 * never wastes more than the rounding to 64 bytes.
 *
 * alloc_free takes an offset; allocated blocks are found through an open
 * addressing hash (offset -> record), linear probing with backward-shift
 * deletion. No operation scans all blocks; alloc_validate (tests) does.
 */
#include "objstore/alloc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define SL_BITS 4
#define SL_COUNT (1u << SL_BITS)
#define FL_COUNT 64
#define NIL UINT32_MAX

struct block {
    uint64_t off;  /* granules */
    uint64_t size; /* granules */
    uint32_t phys_prev, phys_next;
    uint32_t free_prev, free_next; /* free lists; free_next also links the pool's spare records */
    bool is_free;
};

struct hslot {
    uint64_t key; /* granule offset + 1; 0 = empty */
    uint32_t idx;
};

struct alloc {
    uint64_t capacity; /* granules */
    uint64_t used;     /* granules */
    uint64_t nused, nfree;

    struct block *blocks;
    uint32_t nblocks, cap_blocks, spare; /* spare: head of unused records */

    uint64_t fl_map;
    uint32_t sl_map[FL_COUNT];
    uint32_t heads[FL_COUNT][SL_COUNT];

    struct hslot *hash;
    uint64_t hash_cap, hash_len; /* cap is a power of two */
};

/* ---- size classes -------------------------------------------------------- */

static int msb64(uint64_t x)
{
    return 63 - __builtin_clzll(x);
}

static void mapping(uint64_t u, uint32_t *fl, uint32_t *sl)
{
    if (u < SL_COUNT) {
        *fl = 0;
        *sl = (uint32_t)u;
        return;
    }
    int m = msb64(u);
    *fl = (uint32_t)(m - SL_BITS + 1);
    *sl = (uint32_t)(u >> (m - SL_BITS)) - SL_COUNT;
}

/* ---- block records ------------------------------------------------------- */

static uint32_t block_new(alloc *a)
{
    if (a->spare != NIL) {
        uint32_t i = a->spare;
        a->spare = a->blocks[i].free_next;
        return i;
    }
    if (a->nblocks == a->cap_blocks) {
        a->cap_blocks = a->cap_blocks ? a->cap_blocks * 2 : 64;
        a->blocks = xreallocarray(a->blocks, a->cap_blocks, sizeof *a->blocks);
    }
    return a->nblocks++;
}

static void block_release(alloc *a, uint32_t i)
{
    a->blocks[i].free_next = a->spare;
    a->spare = i;
}

static void freelist_insert(alloc *a, uint32_t i)
{
    struct block *b = &a->blocks[i];
    uint32_t fl, sl;
    mapping(b->size, &fl, &sl);
    b->is_free = true;
    b->free_prev = NIL;
    b->free_next = a->heads[fl][sl];
    if (b->free_next != NIL)
        a->blocks[b->free_next].free_prev = i;
    a->heads[fl][sl] = i;
    a->fl_map |= 1ull << fl;
    a->sl_map[fl] |= 1u << sl;
    a->nfree++;
}

static void freelist_remove(alloc *a, uint32_t i)
{
    struct block *b = &a->blocks[i];
    uint32_t fl, sl;
    mapping(b->size, &fl, &sl);
    if (b->free_prev != NIL)
        a->blocks[b->free_prev].free_next = b->free_next;
    else
        a->heads[fl][sl] = b->free_next;
    if (b->free_next != NIL)
        a->blocks[b->free_next].free_prev = b->free_prev;
    if (a->heads[fl][sl] == NIL) {
        a->sl_map[fl] &= ~(1u << sl);
        if (a->sl_map[fl] == 0)
            a->fl_map &= ~(1ull << fl);
    }
    b->is_free = false;
    a->nfree--;
}

/* ---- offset hash ---------------------------------------------------------- */

static uint64_t hash_slot(const alloc *a, uint64_t key)
{
    return (key * 0x9E3779B97F4A7C15ull) >> 17 & (a->hash_cap - 1);
}

static void hash_put(alloc *a, uint64_t off, uint32_t idx);

static void hash_grow(alloc *a)
{
    struct hslot *old = a->hash;
    uint64_t oldcap = a->hash_cap;
    a->hash_cap = oldcap ? oldcap * 2 : 256;
    a->hash = xcalloc(a->hash_cap, sizeof *a->hash);
    a->hash_len = 0;
    for (uint64_t i = 0; i < oldcap; i++)
        if (old[i].key)
            hash_put(a, old[i].key - 1, old[i].idx);
    free(old);
}

static void hash_put(alloc *a, uint64_t off, uint32_t idx)
{
    if ((a->hash_len + 1) * 2 > a->hash_cap)
        hash_grow(a);
    uint64_t key = off + 1, mask = a->hash_cap - 1;
    uint64_t i = hash_slot(a, key);
    while (a->hash[i].key)
        i = (i + 1) & mask;
    a->hash[i].key = key;
    a->hash[i].idx = idx;
    a->hash_len++;
}

/* Remove OFF; returns its record or NIL. */
static uint32_t hash_take(alloc *a, uint64_t off)
{
    if (a->hash_cap == 0)
        return NIL;
    uint64_t key = off + 1, mask = a->hash_cap - 1;
    uint64_t i = hash_slot(a, key);
    while (a->hash[i].key && a->hash[i].key != key)
        i = (i + 1) & mask;
    if (a->hash[i].key == 0)
        return NIL;
    uint32_t idx = a->hash[i].idx;
    /* backward-shift deletion keeps probe chains intact without tombstones */
    uint64_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (a->hash[j].key == 0)
            break;
        uint64_t home = hash_slot(a, a->hash[j].key);
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            a->hash[hole] = a->hash[j];
            hole = j;
        }
    }
    a->hash[hole].key = 0;
    a->hash_len--;
    return idx;
}

/* ---- public --------------------------------------------------------------- */

static void reset(alloc *a)
{
    a->used = a->nused = a->nfree = 0;
    a->nblocks = 0;
    a->spare = NIL;
    a->fl_map = 0;
    memset(a->sl_map, 0, sizeof a->sl_map);
    memset(a->heads, 0xff, sizeof a->heads);
    if (a->hash)
        memset(a->hash, 0, a->hash_cap * sizeof *a->hash);
    a->hash_len = 0;
    if (a->capacity == 0)
        return;
    uint32_t i = block_new(a);
    a->blocks[i] = (struct block){ .off = 0, .size = a->capacity, .phys_prev = NIL, .phys_next = NIL };
    freelist_insert(a, i);
}

alloc *alloc_new(uint64_t capacity)
{
    alloc *a = xcalloc(1, sizeof *a);
    a->capacity = capacity / ALLOC_ALIGN;
    reset(a);
    return a;
}

void alloc_destroy(alloc *a)
{
    if (a == NULL)
        return;
    free(a->blocks);
    free(a->hash);
    free(a);
}

void alloc_free_all(alloc *a)
{
    reset(a);
}

uint64_t alloc_block_size(uint64_t size)
{
    if (size == 0)
        size = 1;
    if (size > UINT64_MAX - ALLOC_ALIGN)
        return UINT64_MAX & ~(uint64_t)(ALLOC_ALIGN - 1);
    return (size + ALLOC_ALIGN - 1) & ~(uint64_t)(ALLOC_ALIGN - 1);
}

/* First free block of class >= (fl, sl), or NIL. */
static uint32_t find_suitable(const alloc *a, uint32_t fl, uint32_t sl)
{
    if (fl >= FL_COUNT)
        return NIL;
    uint32_t slmap = sl < 32 ? a->sl_map[fl] & (~0u << sl) : 0;
    if (slmap == 0) {
        uint64_t flmap = fl + 1 < FL_COUNT ? a->fl_map & (~0ull << (fl + 1)) : 0;
        if (flmap == 0)
            return NIL;
        fl = (uint32_t)__builtin_ctzll(flmap);
        slmap = a->sl_map[fl];
    }
    return a->heads[fl][__builtin_ctz(slmap)];
}

int alloc_alloc(alloc *a, uint64_t size, uint64_t *offset)
{
    if (size > a->capacity * ALLOC_ALIGN)
        return -1;
    uint64_t u = alloc_block_size(size) / ALLOC_ALIGN;
    uint32_t fl, sl, i;
    if (u < SL_COUNT) {
        mapping(u, &fl, &sl);
        i = find_suitable(a, fl, sl);
    } else {
        /* round up to the next class boundary: every block found then fits */
        uint64_t step = 1ull << (msb64(u) - SL_BITS);
        mapping(u + step - 1, &fl, &sl);
        i = find_suitable(a, fl, sl);
        if (i == NIL) {
            /* the request's own class may still hold a big enough block */
            mapping(u, &fl, &sl);
            for (i = a->heads[fl][sl]; i != NIL; i = a->blocks[i].free_next)
                if (a->blocks[i].size >= u)
                    break;
        }
    }
    if (i == NIL)
        return -1;

    freelist_remove(a, i);
    struct block *b = &a->blocks[i];
    if (b->size > u) {
        uint32_t r = block_new(a);
        b = &a->blocks[i]; /* the pool may have moved */
        struct block *t = &a->blocks[r];
        *t = (struct block){ .off = b->off + u, .size = b->size - u, .phys_prev = i,
                             .phys_next = b->phys_next };
        if (b->phys_next != NIL)
            a->blocks[b->phys_next].phys_prev = r;
        b->phys_next = r;
        b->size = u;
        freelist_insert(a, r);
        b = &a->blocks[i];
    }
    a->used += u;
    a->nused++;
    hash_put(a, b->off, i);
    *offset = b->off * ALLOC_ALIGN;
    return 0;
}

int alloc_free(alloc *a, uint64_t offset)
{
    if (offset % ALLOC_ALIGN)
        return -1;
    uint32_t i = hash_take(a, offset / ALLOC_ALIGN);
    if (i == NIL)
        return -1;
    struct block *b = &a->blocks[i];
    a->used -= b->size;
    a->nused--;
    uint32_t p = b->phys_prev, n = b->phys_next;
    if (n != NIL && a->blocks[n].is_free) {
        freelist_remove(a, n);
        b->size += a->blocks[n].size;
        b->phys_next = a->blocks[n].phys_next;
        if (b->phys_next != NIL)
            a->blocks[b->phys_next].phys_prev = i;
        block_release(a, n);
    }
    if (p != NIL && a->blocks[p].is_free) {
        freelist_remove(a, p);
        struct block *pb = &a->blocks[p];
        pb->size += b->size;
        pb->phys_next = b->phys_next;
        if (pb->phys_next != NIL)
            a->blocks[pb->phys_next].phys_prev = p;
        block_release(a, i);
        i = p;
    }
    freelist_insert(a, i);
    return 0;
}

uint64_t alloc_capacity(const alloc *a)
{
    return a->capacity * ALLOC_ALIGN;
}

uint64_t alloc_used(const alloc *a)
{
    return a->used * ALLOC_ALIGN;
}

uint64_t alloc_largest_free(const alloc *a)
{
    if (a->fl_map == 0)
        return 0;
    uint32_t fl = (uint32_t)msb64(a->fl_map);
    uint32_t sl = (uint32_t)(31 - __builtin_clz(a->sl_map[fl]));
    uint64_t best = 0;
    for (uint32_t i = a->heads[fl][sl]; i != NIL; i = a->blocks[i].free_next)
        if (a->blocks[i].size > best)
            best = a->blocks[i].size;
    return best * ALLOC_ALIGN;
}

uint64_t alloc_num_used(const alloc *a)
{
    return a->nused;
}

uint64_t alloc_num_free(const alloc *a)
{
    return a->nfree;
}

int alloc_validate(const alloc *a)
{
    if (a->capacity == 0)
        return a->nblocks == 0 ? 0 : -1;
    /* find the first block: the one in use with no physical predecessor */
    bool *spare = xcalloc(a->nblocks ? a->nblocks : 1, sizeof *spare);
    for (uint32_t s = a->spare; s != NIL; s = a->blocks[s].free_next)
        spare[s] = true;
    uint32_t first = NIL;
    int bad = 0;
    for (uint32_t i = 0; i < a->nblocks; i++) {
        if (!spare[i] && a->blocks[i].phys_prev == NIL) {
            if (first != NIL)
                bad = 1;
            first = i;
        }
    }
    free(spare);
    if (bad)
        return -1;
    if (first == NIL || a->blocks[first].off != 0)
        return -1;
    uint64_t at = 0, used = 0, nused = 0, nfree = 0;
    bool prev_free = false;
    for (uint32_t i = first, prev = NIL; i != NIL; prev = i, i = a->blocks[i].phys_next) {
        const struct block *b = &a->blocks[i];
        if (b->off != at || b->size == 0 || b->phys_prev != prev)
            return -1;
        if (b->is_free) {
            if (prev_free)
                return -1; /* two free neighbours: coalescing missed */
            uint32_t fl, sl;
            mapping(b->size, &fl, &sl);
            if (!(a->sl_map[fl] & (1u << sl)) || !(a->fl_map & (1ull << fl)))
                return -1;
            nfree++;
        } else {
            used += b->size;
            nused++;
        }
        prev_free = b->is_free;
        at += b->size;
    }
    if (at != a->capacity || used != a->used || nused != a->nused || nfree != a->nfree ||
        a->hash_len != nused)
        return -1;
    /* every free list holds only blocks of its class */
    uint64_t listed = 0;
    for (uint32_t fl = 0; fl < FL_COUNT; fl++)
        for (uint32_t sl = 0; sl < SL_COUNT; sl++)
            for (uint32_t i = a->heads[fl][sl]; i != NIL; i = a->blocks[i].free_next) {
                uint32_t f2, s2;
                mapping(a->blocks[i].size, &f2, &s2);
                if (f2 != fl || s2 != sl || !a->blocks[i].is_free)
                    return -1;
                listed++;
            }
    return listed == nfree ? 0 : -1;
}
