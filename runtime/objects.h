/*
 * objects.h — OBJ_* messages: puts, creates, gets, waits and pushes; error
 * objects; the waiters of an object. The functions of runtime/objects.c that
 * the other files of the runtime call; runtime/internal.h has what they all
 * share. Loop thread only.
 */
#ifndef RAY_RUNTIME_OBJECTS_H
#define RAY_RUNTIME_OBJECTS_H

#include "runtime/internal.h"

struct get_req;
struct wait_req;
struct push_req;

enum waiter_kind { WAIT_TASK_DEP, WAIT_GET, WAIT_WAIT, WAIT_PUSH };
void objects_init(struct runtime *rt);
void objects_free(struct runtime *rt);
/* The store's ready callback: ID is readable; wake its waiters. */
void objects_ready(struct runtime *rt, const uint8_t *id);
/* Store an ERROR object (code, message) under ID, replacing what was there
 * unless it is pinned. */
void objects_put_error(struct runtime *rt, const uint8_t *id, int code, const char *msg);
/* Send each return of T sealed in memory here, of at most MAX_BYTES (and,
 * with SCALARS_ONLY, a scalar: no STR or BYTES), to C as a TYPE message
 * (id, vtype, data): copies for whoever will want them. */
void objects_send_returns(struct runtime *rt, const struct task *t, struct conn *c, uint32_t type,
                          uint64_t max_bytes, bool scalars_only);
/* T ended well: send its small scalar returns to the client that submitted
 * it (OBJ_VALUE), so that client answers ray_get/ray_wait of them itself. */
void objects_push_values(struct runtime *rt, const struct task *t);
/* ID (SIZE bytes) was sealed here: record it in the object table, or
 * delete it if it was freed or its job has ended (objlife.c). */
void objects_sealed(struct runtime *rt, const uint8_t *id, uint64_t size);
/* Store a copy of a small object made on another node (no-op if present). */
void objects_put_copy(struct runtime *rt, const uint8_t *id, uint32_t vtype, const void *data,
                      size_t len);
/* True if ID is sealed here (in memory or spilled). */
bool objects_have(struct runtime *rt, const uint8_t *id);
/* Register W as waiting for ID. */
void objects_wait_for(struct runtime *rt, const uint8_t *id, enum waiter_kind kind, void *ptr);
/* Drop every waiter entry pointing at PTR (a task being freed...). */
void objects_forget_waiter(struct runtime *rt, void *ptr);
/* A client went away: fail its pending gets/waits, drop its pins and unsealed creates. */
void objects_client_gone(struct runtime *rt, struct client *cl);
/* Delete every object of job NUM. */
void objects_delete_job(struct runtime *rt, uint32_t num);
/* True if something here waits for ID (a task's argument, a get, a wait, a push). */
bool objects_waited_for(const struct runtime *rt, const uint8_t *id);
/* Nodes were seen join: look in the cluster for every object waited for
 * here that is not here. A wait that began while this node saw no other
 * node alive started no search (objmgr_want_here), e.g. the arguments of
 * work placed here by a node this one had not seen yet. (cluster.c) */
void objects_nodes_joined(struct runtime *rt);
/* The number of objects something here waits for. */
size_t objects_nwaited(const struct runtime *rt);

#endif
