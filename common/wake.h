/*
 * wake.h — an eventfd that a helper thread makes readable to wake an event
 * loop, and that the loop drains when it runs: the one wake-up of the
 * node's helper thread (daemon/bio.c) and the store's spill thread
 * (objstore/spill.c). The loop watches wake_fd() for EV_READ; any number of
 * wake_signal() calls before it runs give one wake-up.
 */
#ifndef RAY_WAKE_H
#define RAY_WAKE_H

struct wake {
    int fd; /* -1: not open */
};

/* Open W's eventfd (non-blocking, close-on-exec). Returns 0, or -1 with
 * errno (W->fd is then -1). */
int wake_open(struct wake *w);

/* Make W readable (any thread). Does not log, so it may be called with a
 * lock held that the log takes. Returns 0, or -1 with errno; an eventfd
 * write fails only when its counter would overflow, and EAGAIN (it is
 * readable then) counts as success. */
int wake_signal(struct wake *w);

/* Take what was signalled (the loop thread, in its read callback). Returns
 * 0 (also when nothing was pending), or -1 with errno when the read failed. */
int wake_drain(struct wake *w);

/* The descriptor to watch for EV_READ; -1 when not open. W keeps it. */
int wake_fd(const struct wake *w);

/* Close W's eventfd; a W never opened, or closed, is a no-op. */
void wake_close(struct wake *w);

#endif
