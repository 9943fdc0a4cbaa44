/*
 * collective_internal.h — what the files of the collective library share:
 * the rendezvous actor's class and method names, its argument layout, and
 * the typed reduction kernels (collective_reduce.c). Built on ray.h alone;
 * names end in '_' and start with ray_coll_ so libray.a exports nothing
 * but ray_* names.
 *
 * The rendezvous ("ray_collective_store", one per group, named
 * "ray_collective:<group>") keeps a table KEY -> (REF or NIL, readers left):
 *   new(world INT, members LIST of ACTOR, ranks LIST of INT, name STR)
 *   whoami(actor ACTOR) -> LIST [rank INT, world INT, seq INT, sendseq BYTES,
 *                                recvseq BYTES]            (fails: not a member)
 *   save(rank INT, seq INT, sendseq BYTES, recvseq BYTES) -> NIL
 *       a closing handle's call counters (world u64 each for send/recv),
 *       given back by the rank's next whoami: keys stay unique across handles
 *   xchg(post_keys LIST of STR, post_vals LIST of REF|NIL, readers INT,
 *        take_keys LIST of STR, release_keys LIST of STR, timeout_ms INT)
 *       -> LIST of REF|NIL, one per take key
 * xchg first counts one release per RELEASE key (the last one frees the
 * entry's object with ray_free), then posts, then waits until every TAKE key
 * is posted (at most TIMEOUT_MS; < 0 forever) and returns their values.
 * Keys are "SEQ/KIND/FROM/TO" (FROM and TO ranks, "*" for everyone): the
 * rendezvous's timeout message names the rank it was waiting for.
 */
#ifndef RAY_COLLECTIVE_INTERNAL_H
#define RAY_COLLECTIVE_INTERNAL_H

#include "ray_collective.h"

#include <stddef.h>

extern const char ray_coll_store_class_[];
#define RAY_COLL_NAME_PREFIX_ "ray_collective:"
#define RAY_COLL_KEY_MAX_ 64

/* DST[i] = DST[i] OP SRC[i] for N elements of DT (both
 * aligned to the element size). Returns 0, or -1 for an unknown DT or OP. */
int ray_coll_reduce_(void *dst, const void *src, size_t n, ray_collective_dtype dt,
                     ray_collective_op op);
/* Element range [*LO, *HI) of segment I of COUNT elements split in N parts
 * (sizes differ by at most one). */
void ray_coll_segment_(size_t count, int n, int i, size_t *lo, size_t *hi);

#endif
