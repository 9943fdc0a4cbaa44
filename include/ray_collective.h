/*
 * ray_collective.h — collective communication between actors (Ray's
 * ray.util.collective): a named group of actors, each with a rank, that
 * call allreduce, broadcast, allgather, reduce, reducescatter, barrier and
 * send/recv on arrays of int32, int64, float32 or float64, as MPI ranks do.
 *
 *     // the driver: four actors of the job's own class, then the group
 *     ray_actor w[4];
 *     for (int i = 0; i < 4; i++) ray_actor_create("worker", NULL, 0, NULL, &w[i]);
 *     int ranks[] = { 0, 1, 2, 3 };
 *     ray_collective_create_group(w, 4, 4, ranks, "grads");
 *
 *     // a method of "worker" (in each actor)
 *     ray_collective_group *g;
 *     ray_collective_group_open("grads", &g);        // finds this actor's rank
 *     ray_collective_allreduce(g, grad, n, RAY_COLL_FLOAT32, RAY_COLL_SUM);
 *     ray_collective_group_close(g);
 *
 * Every rank of a group must make the same collective calls in the same
 * order (MPI's rule); a call returns when this rank's part is done. Data
 * moves through the object store: a rank writes what others need into
 * objects (ray_create) and reads theirs with ray_get, in place from shared
 * memory on its own node and pulled by the object manager from another.
 * The group's rendezvous is one small actor of the library's
 * ("ray_collective_store", 0 CPUs) that hands object references between
 * ranks and frees the objects once their readers are done; no data passes
 * through it. docs/collective.md has the algorithms and their costs.
 *
 * Handles are per actor (no hidden globals): one thread uses a handle at a
 * time. Several groups are independent, and one actor may be in several.
 * The library lives in rayd and libray.a: job libraries still link nothing.
 */
#ifndef RAY_COLLECTIVE_H
#define RAY_COLLECTIVE_H

#include "ray.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ray's ReduceOp */
typedef enum { RAY_COLL_SUM, RAY_COLL_PRODUCT, RAY_COLL_MIN, RAY_COLL_MAX } ray_collective_op;
typedef enum { RAY_COLL_INT32, RAY_COLL_INT64, RAY_COLL_FLOAT32, RAY_COLL_FLOAT64 } ray_collective_dtype;
/* Bytes of one element of DT; 0 for an unknown type. */
size_t ray_collective_dtype_size(ray_collective_dtype dt);

typedef struct ray_collective_group ray_collective_group; /* one rank's handle (opaque) */

#define RAY_COLLECTIVE_NAME_MAX 100
#define RAY_COLLECTIVE_MAX_WORLD 1024

/*
 * From a driver (or any task): make group NAME of N actors, ACTORS[i] with
 * rank RANKS[i] (NULL: rank i); WORLD_SIZE must equal N and the ranks must
 * be 0..N-1, each once (Ray's create_collective_group). Starts the group's
 * rendezvous actor and waits (up to 60 s) until it answers; returns
 * RAY_OK, RAY_EINVAL (bad sizes or ranks, a NAME that is empty, longer than
 * RAY_COLLECTIVE_NAME_MAX or already a group; ray_last_error says which),
 * or the failure of starting the actor (RAY_ECONN, RAY_ETIMEOUT...). The
 * actors need not be running yet.
 */
int ray_collective_create_group(const ray_actor *actors, size_t n, int world_size,
                                const int *ranks, const char *name);
/*
 * Destroy group NAME: its rendezvous actor is killed, calls in flight on
 * any rank fail and every later call on a handle of it returns RAY_EINVAL
 * "collective group 'NAME' was destroyed". RAY_OK, RAY_ENOTFOUND (no such
 * group). The objects it was handing over are freed with the job.
 */
int ray_collective_destroy_group(const char *name);

/*
 * Inside an actor of group NAME: *OUT is this rank's handle (the caller's,
 * ray_collective_group_close). Returns RAY_OK, RAY_ENOTFOUND (no group
 * NAME: never made, or destroyed), RAY_EINVAL (not called in an actor, or
 * this actor is not a member), RAY_ENOMEM, RAY_ECONN.
 */
int ray_collective_group_open(const char *name, ray_collective_group **out);
/* Tell the rendezvous this rank is done with the objects it last read and
 * where its call numbering stopped (so a handle opened later, by the next
 * method call, goes on from there), and free G. NULL: no-op. Does not
 * destroy the group. A rank has one open handle per group at a time. */
void ray_collective_group_close(ray_collective_group *g);
int ray_collective_rank(const ray_collective_group *g);       /* -1 for NULL */
int ray_collective_world_size(const ray_collective_group *g); /* -1 for NULL */
/* How long one call waits for the other ranks (default 120,000 ms; < 0: forever). */
void ray_collective_set_timeout(ray_collective_group *g, int64_t timeout_ms);
/* allreduce's algorithm (docs/collective.md). AUTO: DIRECT up to 8 ranks,
 * RING above. DIRECT: reduce-scatter + all-gather, each one exchange with
 * every peer (2 rounds). RING: the same two phases around the ring of ranks
 * (2 (N - 1) rounds, one neighbour each). Both move the same bytes. Every
 * rank of a group must use the same one. */
typedef enum { RAY_COLL_ALGO_AUTO, RAY_COLL_ALGO_DIRECT, RAY_COLL_ALGO_RING } ray_collective_algo;
void ray_collective_set_algorithm(ray_collective_group *g, ray_collective_algo algo);

/*
 * The collectives. BUF and friends are the caller's; COUNT is in elements
 * of DT. Each returns RAY_OK, or: RAY_EINVAL (NULL G or buffer, bad DT/OP/
 * rank, a destroyed group), RAY_ETIMEOUT (another rank did not make its
 * matching call within the timeout; ray_last_error names it), RAY_ENOMEM
 * (the object store is full), RAY_ECONN. After a failure other than
 * RAY_EINVAL the group's ranks may be out of step: destroy it.
 */
/* BUF (COUNT elements) becomes OP over every rank's BUF, on every rank. */
int ray_collective_allreduce(ray_collective_group *g, void *buf, size_t count,
                             ray_collective_dtype dt, ray_collective_op op);
/* ROOT's BUF becomes OP over every rank's BUF; the others' BUF is left as it was. */
int ray_collective_reduce(ray_collective_group *g, void *buf, size_t count,
                          ray_collective_dtype dt, ray_collective_op op, int root);
/* Every rank's BUF becomes ROOT's. */
int ray_collective_broadcast(ray_collective_group *g, void *buf, size_t count,
                             ray_collective_dtype dt, int root);
/* RECV (WORLD_SIZE * COUNT elements) gets rank i's SEND (COUNT) at i * COUNT. */
int ray_collective_allgather(ray_collective_group *g, const void *send, size_t count,
                             ray_collective_dtype dt, void *recv);
/* SEND has WORLD_SIZE * COUNT elements; rank r's RECV (COUNT) becomes OP over
 * every rank's SEND[r * COUNT .. (r + 1) * COUNT). */
int ray_collective_reducescatter(ray_collective_group *g, const void *send, size_t count,
                                 ray_collective_dtype dt, ray_collective_op op, void *recv);
/* Returns once every rank has called it. */
int ray_collective_barrier(ray_collective_group *g);
/* Hand BUF (copied) to rank DST; returns once it is handed over, before DST
 * receives it (a buffered send). Messages between two ranks keep their order. */
int ray_collective_send(ray_collective_group *g, const void *buf, size_t count,
                        ray_collective_dtype dt, int dst);
/* Receive the next message from rank SRC into BUF; RAY_EINVAL when its
 * size is not COUNT elements of DT. */
int ray_collective_recv(ray_collective_group *g, void *buf, size_t count, ray_collective_dtype dt,
                        int src);

#ifdef __cplusplus
}
#endif

#endif
