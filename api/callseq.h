/*
 * callseq.h — at-most-once delivery of actor calls, checked by the actor's
 * worker (SPEC section 7, issue 10). Every caller process numbers its actor
 * calls per actor: one counter for each of CALLSEQ_STRIPES stripes, an
 * actor's stripe chosen by its ID, so the numbers one actor sees from one
 * caller only grow (with gaps where a stripe-mate's calls took numbers).
 * The number is taken under the stripe's lock, held until the call is
 * written to the node (callseq_out_begin/end), so an actor receives a
 * caller's calls in number order however many threads call it. The worker
 * that hosts an actor remembers, per (caller, actor), the highest number it
 * ran and which of the CALLSEQ_WINDOW numbers below it it saw, and refuses
 * a call it has seen (or one too old to tell). Numbers may still arrive out
 * of order by a little (a corked thread's calls, api/push.h, go out at its
 * flush); a repeat never runs.
 *
 * Thread-safe (one lock for the worker's table; one per stripe for the
 * caller's counters).
 */
#ifndef RAY_API_CALLSEQ_H
#define RAY_API_CALLSEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "ray.h"

#define CALLSEQ_WINDOW 4096u  /* numbers below a caller's highest still told apart */
#define CALLSEQ_CALLERS 1024u /* callers remembered; the least recently seen goes */
#define CALLSEQ_STRIPES 256u  /* counters of a caller process, by actor ID */

/* This process's caller id (random, made on first use; thread-safe). */
const uint8_t *callseq_caller(void);
/* One stripe of this process's call counters (opaque). */
struct callseq_out;

/* Take the next number of a call to ACTOR (1, 2, ... per stripe) into *SEQ
 * and lock its stripe: the caller writes the call (numbered SEQ) to the
 * node and then calls callseq_out_end with the returned stripe, so that
 * calls reach the actor in number order. Never fails; the stripe is static
 * (not to be freed). A number whose send failed is never reused (the node
 * may have got it). Do not call it again before callseq_out_end. */
struct callseq_out *callseq_out_begin(const uint8_t actor[RAY_ID_SIZE], uint64_t *seq);
/* Unlock the stripe callseq_out_begin returned. */
void callseq_out_end(struct callseq_out *o);

/* Whether call SEQ of CALLER is new to this worker (CALLER: the caller's
 * ID combined with the actor's, callseq_key, so each actor keeps its own
 * window): true (and now recorded),
 * or false for a repeat or a number older than the window, with WHY (a
 * static string) saying which. SEQ 0 means "not numbered" (an older
 * client): always new. A caller forgotten for room (more than
 * CALLSEQ_CALLERS since) starts afresh. */
bool callseq_check(const uint8_t caller[RAY_ID_SIZE], uint64_t seq, const char **why);

/* The key callseq_check remembers a caller's calls to ACTOR by (into KEY). */
void callseq_key(const uint8_t caller[RAY_ID_SIZE], const uint8_t actor[RAY_ID_SIZE],
                 uint8_t key[RAY_ID_SIZE]);

/* Forget every caller (tests). */
void callseq_reset(void);

#endif
