/*
 * push.h — results pushed to this process as they are made, and a thread's
 * frames written to the node in one go: for a library on the client
 * runtime that serves many calls at once from one event loop and must
 * neither block on a reply nor pay a round trip per result (Serve's proxy,
 * libs/serve/serve_proxy.c). Not in ray.h: a job author waits with ray_get.
 *
 * A subscription (api_push_subscribe) asks the node to send object ID to
 * this process once it is made (sealed on this node, copied here, or an
 * error stored for it: a failed task, a dead actor, a freed object), in
 * the message when it is at most MAX_INLINE bytes and in memory. The
 * process's push handler gets exactly one struct api_push per
 * subscription, on the connection's I/O thread. The object itself stays in
 * the node's store until ray_free, as any result does.
 */
#ifndef RAY_API_PUSH_H
#define RAY_API_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "ray.h"

struct api_push {
    uint8_t id[RAY_ID_SIZE]; /* the object */
    int status;              /* RAY_OK, or the error stored for it (RAY_ETASK, RAY_EACTOR...) */
    bool fetch;              /* RAY_OK, but not sent (larger than asked, or on disk): ray_get it */
    uint64_t size;           /* the object's size in the store */
    ray_value value;         /* RAY_OK and !fetch: the value, pointing into this push */
    const char *error;       /* status != RAY_OK: the message (never NULL; "" otherwise) */
    STAILQ_ENTRY(api_push) next; /* the receiver's to use (a queue link) */
    void *frame_, *elems_;   /* internal: what value points into */
};

/*
 * Called on the I/O thread for each push; owns P (api_push_free it when
 * done, on any thread). Must not block: queue P and wake the thread that
 * handles it.
 */
typedef void (*api_push_fn)(void *arg, struct api_push *p);

/* Install the process's push handler (one per process; NULL: pushes are
 * dropped). Set it before the first subscription. */
void api_push_handler_set(api_push_fn fn, void *arg);

/*
 * Ask the node to push REF's object once it is made (at most MAX_INLINE
 * bytes in the message). Returns RAY_OK or RAY_ECONN (not connected; message
 * set). Like ray_actor_call, it only writes a frame (corked, see below). The
 * subscription lives until its push: one for an object that is never made
 * stays at the node until this process disconnects or frees the object
 * (ray_free answers it with an error push).
 */
int api_push_subscribe(const ray_ref *ref, uint32_t max_inline);

/* Free P (NULL: nothing). */
void api_push_free(struct api_push *p);

/*
 * Cork the calling thread: the frames its calls write (ray_actor_call,
 * ray_free, api_push_subscribe...) wait in a buffer of this thread until
 * api_push_flush, which writes them to the node in one go. A call of this
 * thread that waits for a reply (ray_get, ray_put, ray_actor_lookup...)
 * writes the buffer first. Returns nothing; never fails (a failed write
 * is reported by the flush).
 */
void api_push_cork(void);
/* Write what the calling thread corked and uncork it. Returns RAY_OK, or
 * RAY_ECONN if the connection broke (the frames are lost; message set). */
int api_push_flush(void);

/*
 * Report this process's Prometheus lines to its node, replacing the last
 * report: the node serves them on /metrics with its own series until they
 * are 15 s old (daemon/metrics_report.h says what a report may hold:
 * families named ray_serve_* only). TEXT (LEN bytes, at most 256 KiB) is
 * copied. Returns RAY_OK, RAY_EINVAL (too long) or RAY_ECONN; like a call,
 * it only writes a frame (corked when the thread is).
 */
int api_metrics_report(const char *text, size_t len);

#endif
