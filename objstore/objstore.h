/*
 * objstore.h — the per-node shared-memory object store.
 *
 * The daemon owns one objstore: a POSIX shm region that workers and drivers
 * map too, an allocator and an object index kept in the daemon's heap, pins
 * per client, and LRU spilling to files on a helper thread. Every objstore_*
 * call on a store is made from the daemon's loop thread and never blocks on
 * disk; the helper thread reports through objstore_notify_fd(), which the
 * loop watches and answers with objstore_process_completions().
 * Clients only map the region (objstore_client_map) and read or write the
 * bytes the daemon tells them about. See docs/objstore.md.
 */
#ifndef RAY_OBJSTORE_H
#define RAY_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

typedef struct objstore objstore;

/* Results of store operations. */
enum objstore_rc {
    OBJSTORE_OK = 0,
    OBJSTORE_FOUND = 0,         /* get/lookup: the object is there */
    OBJSTORE_EXISTS,            /* create/put: the ID is already in the store */
    OBJSTORE_FULL_RETRY,        /* no room now; spills are under way: retry on the space callback */
    OBJSTORE_NOMEM,             /* can never fit: larger than the store, or the rest is pinned */
    OBJSTORE_NOT_FOUND,         /* no such object (or it is being deleted) */
    OBJSTORE_NOT_SEALED,        /* get of an object still being written */
    OBJSTORE_SPILLED_RESTORING, /* get: on disk, being read back: wait for the ready callback */
    OBJSTORE_ALREADY_SEALED,    /* seal of a sealed object */
    OBJSTORE_IO_ERROR,          /* get: the spill file could not be read back; the data is lost */
    OBJSTORE_EINVAL             /* a bad argument (negative client id, ...) */
};

enum objstore_state {
    OBJSTORE_CREATED,   /* allocated, being written by a client */
    OBJSTORE_SEALED,    /* immutable, in memory */
    OBJSTORE_SPILLING,  /* in memory and being written to disk */
    OBJSTORE_SPILLED,   /* on disk only */
    OBJSTORE_RESTORING  /* memory allocated, being read back from disk */
};

struct objstore_info {
    uint64_t offset; /* from the start of the region; a multiple of 64 */
    uint64_t size;
    uint32_t vtype;  /* the caller's type tag, opaque to the store */
    int state;       /* enum objstore_state */
    uint32_t pins;   /* all clients together */
};

struct objstore_stats {
    uint64_t capacity, used, pinned_bytes; /* pinned: memory that cannot be spilled now */
    uint64_t num_objects, num_spilled, spilled_bytes; /* spilled: on disk only, now */
    uint64_t num_spills, num_restores;     /* completed since start */
    uint64_t pin_table_bytes; /* the daemon heap that counts pins per client */
};

/* Called on the loop thread when ID becomes readable (sealed or restored) or
 * when a wanted restore failed for good (get then says why). */
typedef void (*objstore_ready_cb)(void *arg, const uint8_t *id);
/* Called on the loop thread when memory was freed (spill done, deletes), so
 * creates that got OBJSTORE_FULL_RETRY can try again. */
typedef void (*objstore_space_cb)(void *arg);
typedef bool (*objstore_pred)(const uint8_t *id, void *arg);

/* Create the region SHM_NAME ("/rayd-<node8>-store": one leading slash),
 * CAPACITY bytes (rounded down to 64; pages are touched lazily), and the
 * spill directory SPILL_DIR (created if missing), and start the helper
 * thread. Returns the store, or NULL with a message in ERR (errlen bytes):
 * the name already exists, shm or mmap failed, the directory cannot be made.
 * The caller owns the store; objstore_free releases everything. */
objstore *objstore_new(const char *shm_name, uint64_t capacity, const char *spill_dir,
                       char *err, size_t errlen);
/* Stop the helper thread, unlink the shm name, unmap, remove the spill files
 * of every object and the spill directory if it is then empty. NULL: no-op. */
void objstore_free(objstore *s);

/* The daemon's own mapping, the capacity and the shm name (owned by S). */
void *objstore_base(const objstore *s);
uint64_t objstore_capacity(const objstore *s);
const char *objstore_shm_name(const objstore *s);

/* Allocate SIZE bytes (0 allowed) for a new object ID, state CREATED.
 * OK: *OFFSET is where the client writes it, then objstore_seal.
 * EXISTS, NOMEM (never fits), FULL_RETRY (LRU spills were started or are in
 * flight; retry when the space callback fires). O(1) when there is room. */
int objstore_create(objstore *s, const uint8_t *id, uint32_t vtype, uint64_t size, uint64_t *offset);
/* CREATED -> SEALED; fires the ready callback before it returns.
 * OK, NOT_FOUND, ALREADY_SEALED. O(1). */
int objstore_seal(objstore *s, const uint8_t *id);
/* create + copy LEN bytes of DATA (the caller keeps DATA) + seal; same codes
 * as objstore_create. The copy runs on the loop: for small inline values. */
int objstore_put(objstore *s, const uint8_t *id, uint32_t vtype, const void *data, uint64_t len);

/* Pin ID for CLIENT (>= 0) and describe it in *INFO. FOUND; NOT_FOUND;
 * NOT_SEALED; SPILLED_RESTORING (a restore is started or queued: wait for the
 * ready callback and call again); NOMEM (it cannot be restored: the store is
 * pinned full); IO_ERROR (the spill file is unreadable); EINVAL. Only FOUND
 * takes a pin. O(1) unless a restore has to make room. */
int objstore_get(objstore *s, const uint8_t *id, int client, struct objstore_info *info);
/* Drop one of CLIENT's pins on ID. OK, or NOT_FOUND if CLIENT holds none.
 * The last unpin of a delete-pending object deletes it. O(1). */
int objstore_release(objstore *s, const uint8_t *id, int client);
/* Drop every pin CLIENT holds (it disconnected). Returns how many pins were
 * dropped. O(objects) when CLIENT holds any pin, O(1) otherwise. */
uint64_t objstore_client_release_all(objstore *s, int client);

/* Whether ID exists, is sealed (in memory or on disk) and not being deleted.
 * No pin, no LRU touch. O(1). */
bool objstore_contains(const objstore *s, const uint8_t *id);
/* Describe ID in *INFO without pinning it (any state). FOUND or NOT_FOUND. O(1). */
int objstore_lookup(const objstore *s, const uint8_t *id, struct objstore_info *info);
/* Delete ID: at once if nothing pins it, else when its last pin goes (it is
 * invisible to get/contains meanwhile). A spilled object's file is removed
 * (by the helper thread). A CREATED object is freed at once: the daemon uses
 * this to abort a create whose writer went away. OK or NOT_FOUND. O(1). */
int objstore_delete(objstore *s, const uint8_t *id);
/* objstore_delete every object for which PRED(id, ARG) is true; returns how
 * many. O(objects). PRED must not call into the store. */
uint64_t objstore_delete_if(objstore *s, objstore_pred pred, void *arg);

/* Call FN(id, info, ARG) for each object not being deleted, in no order,
 * until FN returns false. Returns how many were visited. FN must not call
 * into the store. O(objects): for listings (ray memory), not hot paths. */
typedef bool (*objstore_visit_fn)(const uint8_t *id, const struct objstore_info *info, void *arg);
uint64_t objstore_foreach(const objstore *s, objstore_visit_fn fn, void *arg);
void objstore_set_ready_cb(objstore *s, objstore_ready_cb cb, void *arg);
void objstore_set_space_cb(objstore *s, objstore_space_cb cb, void *arg);

/* A nonblocking descriptor (eventfd) that becomes readable when the helper
 * thread finished work or space was freed; watch it with EV_READ|EV_PERSIST
 * and call objstore_process_completions. Owned by S. */
int objstore_notify_fd(const objstore *s);
/* Apply finished spills and restores, start queued restores, then fire the
 * space and ready callbacks. Never blocks. Callbacks may call into the store. */
void objstore_process_completions(objstore *s);

/* Fault in the pages of [OFFSET, OFFSET+LEN) on a short-lived helper
 * thread (MADV_POPULATE_WRITE; contents are not touched), so that a writer
 * filling a large new object — a pull from another node, a client's
 * ray_create — does not pay one page fault per 4 KiB on its own time. Only
 * chunks this store has not populated before are walked (common/populate.h).
 * Never blocks; a no-op for small ranges, for ranges populated already, or
 * where the kernel lacks the advice. */
void objstore_prefault(objstore *s, uint64_t offset, uint64_t len);

void objstore_stats(const objstore *s, struct objstore_stats *st);
/* Name of an objstore_rc ("FULL_RETRY"). */
const char *objstore_rc_name(int rc);
/* One line explaining RC for a request of ASKED bytes into BUF, e.g.
 * "object store full: asked 104857600 bytes, 1073741824 of 1073741824 pinned".
 * Returns BUF. */
char *objstore_error_format(const objstore *s, int rc, uint64_t asked, char *buf, size_t len);

/* Client side: map the region SHM_NAME read-write (CAPACITY as the daemon
 * announced it). Returns the base address, or NULL with ERR filled (no such
 * name, smaller than CAPACITY, mmap failed). Offsets from the daemon are
 * relative to this base. Unmap with objstore_client_unmap. */
void *objstore_client_map(const char *shm_name, size_t capacity, char *err, size_t errlen);
void objstore_client_unmap(void *base, size_t capacity);

#endif
