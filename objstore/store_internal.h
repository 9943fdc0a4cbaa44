/*
 * store_internal.h — between store.c (index, loop thread) and spill.c (the
 * helper thread that moves object bytes between the region and files).
 * The helper never sees the index: a job carries the ID, the offset and the
 * size, and comes back on the done list with an errno.
 */
#ifndef RAY_STORE_INTERNAL_H
#define RAY_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/ids.h"

enum spill_op { SPILL_OP_WRITE, SPILL_OP_READ, SPILL_OP_UNLINK };

struct spill_job {
    int op;                 /* enum spill_op */
    uint8_t id[IDS_SIZE];
    uint64_t offset, size;  /* the bytes at base+offset (WRITE: source, READ: target) */
    int err;                /* 0, or the errno of the failed step */
    STAILQ_ENTRY(spill_job) link;
};
STAILQ_HEAD(spill_jobs, spill_job);

typedef struct spiller spiller;

/* Start the helper thread for files under DIR (created if missing) and bytes
 * at BASE. Returns NULL with ERR filled on failure. */
spiller *spill_start_(const char *dir, void *base, char *err, size_t errlen);
/* Stop and join the thread: the job in progress finishes, queued writes and
 * reads are dropped, queued unlinks are done here. Idempotent. */
void spill_join_(spiller *sp);
/* spill_join_, then close the fd and free SP. NULL: no-op. */
void spill_stop_(spiller *sp);
/* Queue a job; the helper does them in order. WRITE and READ come back on
 * the done list; UNLINK does not. Never blocks on disk. */
void spill_submit_(spiller *sp, int op, const uint8_t *id, uint64_t offset, uint64_t size);
/* Clear the notify fd and move the finished jobs, oldest first, to OUT (an
 * initialised list; the caller frees each job with free()). */
void spill_take_done_(spiller *sp, struct spill_jobs *out);
/* The eventfd the loop watches; spill_wake_ makes it readable from the loop
 * thread itself (deferred space notification). */
int spill_fd_(const spiller *sp);
void spill_wake_(spiller *sp);
/* Remove ID's file now (blocking: for shutdown only). */
void spill_unlink_now_(spiller *sp, const uint8_t *id);
/* Remove the spill directory if it is empty (shutdown). */
void spill_rmdir_(spiller *sp);

#endif
