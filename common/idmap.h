/*
 * idmap.h — a hash map from 20-byte IDs to pointers (open addressing,
 * linear probing, tombstone-free backward-shift deletion). Keys are copied;
 * values are the caller's. Not thread-safe.
 */
#ifndef RAY_IDMAP_H
#define RAY_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

struct idmap_slot {
    uint8_t key[IDS_SIZE];
    void *val; /* NULL marks an empty slot */
};

struct idmap {
    struct idmap_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t len;
};

#define IDMAP_INIT { NULL, 0, 0 }

/* The value stored under KEY, or NULL. O(1) expected. */
void *idmap_get(const struct idmap *m, const uint8_t *key);
/* Store VAL (non-NULL) under KEY, replacing any old value; returns the old
 * value or NULL. Grows as needed (aborts on OOM: the daemon's). */
void *idmap_put(struct idmap *m, const uint8_t *key, void *val);
/* The same for library code: returns 0 (the old value or NULL in *OLD, if
 * OLD is not NULL), or -1 out of memory with the map unchanged. */
int idmap_try_put(struct idmap *m, const uint8_t *key, void *val, void **old);
/* Remove KEY; returns its value or NULL. */
void *idmap_del(struct idmap *m, const uint8_t *key);
/* Iterate: start with *POS = 0; returns the next slot or NULL at the end.
 * The map must not change during iteration except by idmap_del of the slot
 * just returned (then do not advance: call again with the same *POS). */
struct idmap_slot *idmap_next(const struct idmap *m, size_t *pos);
void idmap_free(struct idmap *m); /* frees the table, not the values */

#endif
