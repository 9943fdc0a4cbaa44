/*
 * objmgr_ops.h — the runtime's side of the object manager (objmgr/objmgr.h).
 * The functions of runtime/objmgr_ops.c that the other files of the runtime
 * call; runtime/internal.h has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_OBJMGR_OPS_H
#define RAY_RUNTIME_OBJMGR_OPS_H

#include "runtime/internal.h"

/* objmgr_ops.c: the runtime's side of the object manager (objmgr/objmgr.h):
 * the ops table it is built with, and the calls the runtime makes into it */
void rt_objmgr_init(struct runtime *rt);
void rt_objmgr_free(struct runtime *rt);
/* Something on this node waits for ID, which is not in the local store:
 * ask the object manager to find a holder in the cluster and pull it,
 * unless this node will make it itself (tasks_expected_here), is alone, or
 * is stopping. Idempotent. */
void objmgr_want_here(struct runtime *rt, const uint8_t *id);

#endif
