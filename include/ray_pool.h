/*
 * ray_pool.h — a process pool over actors, in the manner of Python's
 * multiprocessing.Pool (and ray.util.multiprocessing): N actors that run a
 * job's RAY_REMOTE function over many items.
 *
 *     static int square(ray_task *t, const ray_value *a, size_t n)
 *     {
 *         return ray_return(t, RAY_I(a[0].as.i * a[0].as.i));
 *     }
 *     RAY_REMOTE(square);
 *     ...
 *     ray_pool *p;
 *     ray_pool_new(4, NULL, &p);
 *     ray_pool_result res[100];
 *     int rc = ray_pool_map(p, "square", items, 100, res);
 *     ...
 *     ray_pool_result_release(res, 100);
 *     ray_pool_free(p);
 *
 * The function is any RAY_REMOTE function of the job: the pool's actors run
 * it in their own process (ray_task_local_run), one item after another, many
 * items per actor call (the chunk size), so an item costs a function call and
 * a few bytes of the message, not a task. An item is one argument for the map
 * calls (or the argument list of ray_pool_apply_async); its result is the
 * function's first ray_return value. Items and results are any ray_value,
 * LIST and MAP included; RAY_REF items reach the function as the object's
 * value, like ray_call's arguments.
 *
 * Failures are per item: an item whose function calls ray_fail (or returns
 * non-zero) gets status RAY_ETASK and an error "item 17: <its message>"
 * while every other item completes. When a pool actor dies (crash, kill,
 * node lost) the pool starts a replacement and runs each item of the chunks
 * that actor held once more, alone; an item whose own retry kills its actor
 * too fails with RAY_EWORKER, naming the item and the death. So one item that
 * crashes its process never costs the others their results.
 *
 * A pool, and the iterators and async results made from it, are used by one
 * thread at a time (like a hiredis context); several pools are independent.
 * The library lives in rayd and libray.a: job libraries still link nothing.
 */
#ifndef RAY_POOL_H
#define RAY_POOL_H

#include "ray.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ray_pool ray_pool;             /* opaque */
typedef struct ray_pool_iter ray_pool_iter;   /* an imap in progress */
typedef struct ray_pool_async ray_pool_async; /* an apply_async in progress */

typedef struct {
    ray_opts actor;   /* each pool actor's options; default RAY_ACTOR_OPTS with 1 CPU
                         (Ray's Pool: one CPU per process). max_restarts, name,
                         detached and max_concurrency are ignored (1):
                         the pool replaces dead actors itself */
    size_t chunksize; /* items per actor call; 0: automatic, ceil(n / (4 * actors)),
                         at most 1 MiB of encoded items per call */
} ray_pool_opts;

#define RAY_POOL_OPTS                                                                  \
    ((ray_pool_opts){ .actor = { .num_cpus = 1, .num_returns = 1, .max_concurrency = 1, \
                                 .bundle = -1 } })

/* One item's outcome. */
typedef struct {
    size_t index;    /* the item's index in the ITEMS given */
    int status;      /* RAY_OK; RAY_ETASK (the function failed); RAY_EWORKER (its actor
                        died on it twice); or the pool's own failure (RAY_ECONN, ...) */
    ray_value value; /* the function's first return value (NIL if none, or on failure);
                        STR/BYTES payloads and LIST/MAP arrays are owned by the result */
    const char *error; /* "" on success, else e.g. "item 17: negative input -3";
                          owned by the result */
    void *hold_;     /* internal: what owns the payloads */
} ray_pool_result;

/*
 * Start N (>= 1) actors for a pool; OPTS NULL means RAY_POOL_OPTS. Returns at
 * once (the actors start in the background, like ray_actor_create) with
 * *OUT, the caller's to ray_pool_free. Returns RAY_OK, RAY_EINVAL (N < 1, bad
 * options, OUT NULL), RAY_ENOMEM, or ray_actor_create's failure (RAY_ECONN,
 * ...); ray_last_error() says more. Nothing is left running on failure.
 */
int ray_pool_new(int n, const ray_pool_opts *opts, ray_pool **out);

/*
 * Run FN (a RAY_REMOTE function name) on each of the N ITEMS and wait for all:
 * RESULTS[i] (room for N, the caller's) is item i's outcome. ITEMS are
 * encoded before the first call, so they need not outlive it.
 * Returns RAY_OK when every item succeeded; otherwise the status of the first
 * failed item in index order (RAY_ETASK, RAY_EWORKER...) with
 * ray_last_error() "3 of 100 items failed; the first: item 17: ...", every
 * other item's result still filled. RAY_EINVAL: FN not registered here, the
 * pool closed, a NULL argument, an item that is not a plain value (RESULTS
 * untouched). Release the results with ray_pool_result_release.
 */
int ray_pool_map(ray_pool *p, const char *fn, const ray_value *items, size_t n,
                 ray_pool_result *results);
/* ray_pool_map with RESULTS in the order they finished (result.index says
 * whose each is); same returns. */
int ray_pool_map_unordered(ray_pool *p, const char *fn, const ray_value *items, size_t n,
                           ray_pool_result *results);

/*
 * Start FN over the N ITEMS and return at once with *OUT, an iterator that
 * hands out results as they come: in item order when ORDERED (Pool.imap),
 * else as they finish (Pool.imap_unordered). Returns as ray_pool_map's
 * RAY_EINVAL cases, or RAY_ENOMEM. Free it with ray_pool_iter_free.
 */
int ray_pool_imap(ray_pool *p, const char *fn, const ray_value *items, size_t n, bool ordered,
                  ray_pool_iter **out);
/*
 * The next result into *OUT (the caller's; release it with
 * ray_pool_result_release), waiting up to TIMEOUT_MS (< 0: forever).
 * Returns RAY_OK (look at out->status: a failed item is a result too),
 * RAY_ENOTFOUND when every result was handed out, RAY_ETIMEOUT, RAY_EINVAL
 * (NULL, or its pool was freed), or the pool's failure (RAY_ECONN).
 */
int ray_pool_iter_next(ray_pool_iter *it, int64_t timeout_ms, ray_pool_result *out);
/* Forget IT; results not yet handed out are dropped. NULL: no-op. */
void ray_pool_iter_free(ray_pool_iter *it);

/*
 * Run FN(ARGS, NARGS) once on a pool actor (Pool.apply_async); returns at once
 * with *OUT, freed by ray_pool_async_free. Returns like ray_pool_imap.
 */
int ray_pool_apply_async(ray_pool *p, const char *fn, const ray_value *args, size_t nargs,
                         ray_pool_async **out);
/*
 * Wait up to TIMEOUT_MS (< 0: forever) for A's outcome and fill *OUT (the
 * caller's; release it). Returns out->status (RAY_OK, RAY_ETASK ... with
 * ray_last_error() the error), or RAY_ETIMEOUT (call again), RAY_EINVAL.
 * May be called again after it returned: it gives the same outcome.
 */
int ray_pool_async_get(ray_pool_async *a, int64_t timeout_ms, ray_pool_result *out);
/* Whether A's outcome is in (AsyncResult.ready); never blocks. */
bool ray_pool_async_ready(ray_pool_async *a);
void ray_pool_async_free(ray_pool_async *a); /* NULL: no-op */

/* Release the payloads of N results (each may be released once; zeroed
 * after). Results of a pool outlive it until released. */
void ray_pool_result_release(ray_pool_result *r, size_t n);

/* No more work may be submitted (RAY_EINVAL after); work already submitted
 * goes on. Idempotent. */
void ray_pool_close(ray_pool *p);
/*
 * Wait for every apply_async not yet collected and every imap iterator still
 * open to finish, then stop the actors. Call ray_pool_close first (Pool.join
 * wants that too): returns RAY_EINVAL otherwise, or the first failure of
 * the pool's own (RAY_ECONN) — item failures are the items' business.
 */
int ray_pool_join(ray_pool *p);
/* Stop the actors (Pool.terminate: work in flight is abandoned) and free P.
 * Iterators and async results still alive turn RAY_EINVAL. NULL: no-op. */
void ray_pool_free(ray_pool *p);

/* How many actors the pool has started to replace dead ones. */
uint64_t ray_pool_restarts(const ray_pool *p);
/* Pool actor I's handle (0 <= I < N; e.g. to kill it in a test); RAY_EINVAL else. */
int ray_pool_actor_at(const ray_pool *p, int i, ray_actor *out);

#ifdef __cplusplus
}
#endif

#endif
