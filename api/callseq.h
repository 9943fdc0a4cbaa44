/*
 * callseq.h — at-most-once delivery of actor calls, checked by the actor's
 * worker (SPEC section 7, issue 10). Every caller process numbers its actor
 * calls (one counter per process, so numbers only grow); the worker that
 * hosts an actor remembers, per caller, the highest number it ran and which
 * of the CALLSEQ_WINDOW numbers below it it saw, and refuses a call it has
 * seen (or one too old to tell). Numbers may arrive out of order (threads of
 * one caller send concurrently); a repeat never runs.
 *
 * Thread-safe (one lock; the worker checks calls one at a time anyway).
 */
#ifndef RAY_API_CALLSEQ_H
#define RAY_API_CALLSEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "ray.h"

#define CALLSEQ_WINDOW 4096u  /* numbers below a caller's highest still told apart */
#define CALLSEQ_CALLERS 1024u /* callers remembered; the least recently seen goes */

/* This process's caller id (random, made on first use; thread-safe). */
const uint8_t *callseq_caller(void);
/* The next call number of this process (1, 2, ...; thread-safe). */
uint64_t callseq_next(void);

/* Whether call SEQ of CALLER is new to this worker: true (and now recorded),
 * or false for a repeat or a number older than the window, with WHY (a
 * static string) saying which. SEQ 0 means "not numbered" (an older
 * client): always new. A caller forgotten for room (more than
 * CALLSEQ_CALLERS since) starts afresh. */
bool callseq_check(const uint8_t caller[RAY_ID_SIZE], uint64_t seq, const char **why);

/* Forget every caller (tests). */
void callseq_reset(void);

#endif
