/*
 * objlife.h — the end of objects: tombstones of freed objects, sweeps of ended
 * jobs, objects kept by detached actors. The functions of runtime/objlife.c
 * that the other files of the runtime call; runtime/internal.h has what they
 * all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_OBJLIFE_H
#define RAY_RUNTIME_OBJLIFE_H

#include "runtime/internal.h"

void objlife_init(struct runtime *rt);
void objlife_free(struct runtime *rt);
/* ID was freed (ray_free, here or on another node): remember it. */
void objlife_freed(struct runtime *rt, const uint8_t *id);
/* True if ID was freed (as far as this node remembers). */
bool objlife_is_freed(struct runtime *rt, const uint8_t *id);
/* If ID is known to be gone for good (freed, or of a job that ended here
 * and not kept by a detached actor), returns RAY_ENOTFOUND and, if PAYLOAD
 * is not NULL, appends the ERROR payload ([code, message]) that says so;
 * else 0 (not made yet, as far as this node knows). */
int objlife_gone(struct runtime *rt, const uint8_t *id, struct buf *payload);
/* True if ID belongs to a job that ended here and no live detached actor keeps it. */
bool objlife_job_over(struct runtime *rt, const uint8_t *id);
/* Someone started waiting for ID, which is gone: answer its waiters on the
 * next loop turn (objlife_answer_now). */
void objlife_answer_later(struct runtime *rt, const uint8_t *id);
/* Wake ID's waiters now with an ERROR object saying why ID is gone, stored
 * here only (not in the object table). No-op if ID is here, has no waiter
 * or is not gone. */
void objlife_answer_now(struct runtime *rt, const uint8_t *id);
/* Client CL put or creates ID: kept past its job's end if CL is a detached actor. */
void objlife_put_by(struct runtime *rt, struct client *cl, const uint8_t *id);
/* Detached actor A became alive here: its job is not "ended" here any more. */
void objlife_actor_alive(struct runtime *rt, const struct actor *a);
/* A call CALL_ID (its ID carries its caller's job) from or to a detached
 * actor arrived here: if that job is listed as ended here it is not any
 * more, and its pending sweeps are dropped (a detached actor of it is
 * calling; the call's returns are sealed or fetched here). */
void objlife_call_in(struct runtime *rt, const uint8_t *call_id);
/* ID was freed: if it was kept, it is not any more. */
void objlife_kept_freed(struct runtime *rt, const uint8_t *id);
/* Job NUM ended here: delete its objects from the store now, remember the
 * end, and sweep store and GCS again a second and five seconds later. */
void objlife_job_ended(struct runtime *rt, uint32_t num);

#endif
