/*
 * idmap.c — open-addressing hash map keyed by 20-byte IDs (see idmap.h).
 * The hash is ids_hash: all 20 bytes mixed, since IDs of one process share
 * their random part and differ in a counter, and the returns of one task
 * differ only in their index bytes. It allocates with mem.h: idmap_try_put
 * reports out-of-memory (for library code), idmap_put aborts (the daemon's).
 */
#include "common/idmap.h"

#include "common/ids.h"
#include "common/mem.h"

#include <stdio.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static size_t idmap_hash(const uint8_t *k) { return (size_t)ids_hash(k); }

void *idmap_get(const struct idmap *m, const uint8_t *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = idmap_hash(key) & mask;; i = (i + 1) & mask) {
        struct idmap_slot *s = &m->slots[i];
        if (s->val == NULL)
            return NULL;
        if (memcmp(s->key, key, IDS_SIZE) == 0)
            return s->val;
    }
}

/* Store into a table with room (no growth). */
static void *do_put(struct idmap *m, const uint8_t *key, void *val)
{
    size_t mask = m->cap - 1;
    for (size_t i = idmap_hash(key) & mask;; i = (i + 1) & mask) {
        struct idmap_slot *s = &m->slots[i];
        if (s->val == NULL) {
            memcpy(s->key, key, IDS_SIZE);
            s->val = val;
            m->len++;
            return NULL;
        }
        if (memcmp(s->key, key, IDS_SIZE) == 0) {
            void *oldv = s->val;
            s->val = val;
            return oldv;
        }
    }
}

static int idmap_grow(struct idmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct idmap_slot *old = m->slots, *slots = mem_calloc(ncap, sizeof *slots);
    size_t ocap = m->cap;
    if (slots == NULL)
        return -1;
    m->slots = slots;
    m->cap = ncap;
    m->len = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].val)
            do_put(m, old[i].key, old[i].val);
    free(old);
    return 0;
}

int idmap_try_put(struct idmap *m, const uint8_t *key, void *val, void **old)
{
    void *o;
    if ((m->len + 1) * 4 > m->cap * 3 && idmap_get(m, key) == NULL && idmap_grow(m) < 0)
        return -1;
    o = do_put(m, key, val);
    if (old)
        *old = o;
    return 0;
}

void *idmap_put(struct idmap *m, const uint8_t *key, void *val)
{
    void *old;
    if (idmap_try_put(m, key, val, &old) < 0) {
        fprintf(stderr, "rayd: out of memory growing an ID map to %zu entries\n", m->len + 1);
        abort();
    }
    return old;
}

void *idmap_del(struct idmap *m, const uint8_t *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = idmap_hash(key) & mask;
    for (;; i = (i + 1) & mask) {
        if (m->slots[i].val == NULL)
            return NULL;
        if (memcmp(m->slots[i].key, key, IDS_SIZE) == 0)
            break;
    }
    void *val = m->slots[i].val;
    m->slots[i].val = NULL;
    m->len--;
    /* backward-shift the cluster that follows */
    for (size_t j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
        size_t home = idmap_hash(m->slots[j].key) & mask;
        /* move j into the hole at i if home is not in (i, j] cyclically */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            m->slots[i] = m->slots[j];
            m->slots[j].val = NULL;
            i = j;
        }
    }
    return val;
}

struct idmap_slot *idmap_next(const struct idmap *m, size_t *pos)
{
    while (*pos < m->cap) {
        struct idmap_slot *s = &m->slots[*pos];
        if (s->val)
            return s;
        (*pos)++;
    }
    return NULL;
}

void idmap_free(struct idmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}
