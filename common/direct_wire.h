/*
 * direct_wire.h — the one body of the direct path that is not a plain
 * protocol.h field: the batch of DIRECT_DONE (docs/direct.md), a leased
 * worker's notice to its node of the tasks it ran for a driver. Shared by
 * the worker (api/direct_worker.c encodes) and the node (runtime/lease.c
 * decodes); the decoder checks every bound before it hands an entry out and
 * never allocates.
 *
 * The batch is a msgpack array of at most DIRECT_BATCH_MAX entries, each
 * [id bin20, name str, status int, message str, nret uint].
 */
#ifndef RAY_DIRECT_WIRE_H
#define RAY_DIRECT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/proto.h"

#define DIRECT_BATCH_MAX 4096   /* entries in one DIRECT_DONE */
#define DIRECT_NAME_MAX 255     /* bytes of an entry's name */
#define DIRECT_NRET_MAX 64      /* returns of one entry (the node's TASKS_MAX_RETURNS) */

/* One entry; strings point into the batch and are not NUL-terminated. */
struct direct_entry {
    const uint8_t *id;          /* 20 bytes */
    const char *name;
    size_t namelen;
    int64_t status;             /* 0, or a RAY_E* code */
    const char *msg;
    size_t msglen;
    uint64_t nret;
};

/* Append one entry to B (the caller counts them and writes the array
 * header with mpw_array before the entries when it sends). Out of memory
 * sets B's sticky error (buf.h). */
void direct_entry_pack(struct buf *b, const uint8_t *id, const char *name, int64_t status,
                       const char *msg, uint64_t nret);
/* Start reading the batch P (LEN bytes): *N entries follow. Returns 0, or
 * -1 when it is not an array or holds more than DIRECT_BATCH_MAX. */
int direct_batch_open(struct mpr *r, const void *p, size_t len, uint32_t *n);
/* Read the next entry into *E. Returns 0, or -1 when it is malformed (not a
 * 5-array, an ID of the wrong size, a name over DIRECT_NAME_MAX, nret over
 * DIRECT_NRET_MAX, wrong types); the rest of the batch is then unreadable. */
int direct_batch_next(struct mpr *r, struct direct_entry *e);

#endif
