/*
 * bio.h — the node's helper thread for slow work ("background I/O", after
 * redis' bio.c): appending to log files, hashing and writing job libraries
 * and packed working directories, forking workers and drivers, reading log
 * files for `ray logs`. The event loop hands a job over and goes on; the
 * job runs on the helper thread; its completion runs back on the loop
 * thread, woken through an eventfd. So no handler, timer or Redis reply
 * waits for a disk or a fork.
 *
 * Jobs run one at a time in the order they were submitted (one FIFO, one
 * thread), so a file's writes land in order, and a job submitted after a
 * write to a file (a read of it) sees that write.
 */
#ifndef RAY_BIO_H
#define RAY_BIO_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct bio;
struct bio_file;

/* Runs on the helper thread. It may touch only what ARG owns (never the
 * runtime, the loop or another module's state); it may log. */
typedef void (*bio_work_fn)(void *arg);
/* Runs on the loop thread after the work, with CANCELLED false; or from
 * bio_free with CANCELLED true (the loop has stopped, the runtime may be
 * gone: free ARG and what it holds, touch nothing else). Called exactly
 * once per bio_submit. */
typedef void (*bio_done_fn)(void *arg, bool cancelled);

/* Start the helper thread; completions are run by an event on BASE.
 * Returns the handle, or NULL with ERR (no thread, no eventfd). */
struct bio *bio_new(struct event_base *base, char *err, size_t errlen);
/* Queue WORK(ARG) (may be NULL: a barrier) and then DONE(ARG, false) on the
 * loop. DONE may be NULL (nothing to call back). Never blocks, never fails
 * (allocation failure aborts, as in the rest of the daemon). */
void bio_submit(struct bio *b, bio_work_fn work, bio_done_fn done, void *arg);
/* Stop: file writes still queued are written, work not yet started is not
 * run, the thread is joined, and every completion not yet run is called with
 * CANCELLED true. Files must be closed before (their handles are freed by
 * the thread). NULL is a no-op. */
void bio_free(struct bio *b);
/* Jobs submitted and not yet completed (queued, running, or done and
 * waiting for the loop). For tests and /metrics. */
size_t bio_pending(struct bio *b);

/* An append-only file written by the helper thread: opened (O_APPEND |
 * O_CREAT, MODE) on its first write there and kept open until
 * bio_file_close. Writes made between two turns of the helper are written
 * with one write(2). Returns the handle (owned by the caller until
 * bio_file_close); never fails: a file that cannot be opened or written is
 * logged once and its bytes are dropped. PATH is copied. */
struct bio_file *bio_file_open(struct bio *b, const char *path, int mode);
/* Queue LEN bytes (copied) for F. At most BIO_FILE_MAX_QUEUED bytes wait
 * per file: beyond that (a disk that stopped) bytes are dropped and counted
 * in the file's next warning. NULL F is a no-op. */
#define BIO_FILE_MAX_QUEUED (64u << 20)
void bio_file_write(struct bio_file *f, const void *p, size_t len);
/* Write what is queued, close the file and free F (on the helper thread).
 * F must not be used after. NULL is a no-op. */
void bio_file_close(struct bio_file *f);

#endif
