/*
 * actor_direct.h — the node's part of direct actor calls (docs/direct.md
 * "Actor calls"): ACTOR_LEASE_REQUEST and DIRECT_ACTOR_LOST from drivers.
 * Loop thread only.
 */
#ifndef RAY_RUNTIME_ACTOR_DIRECT_H
#define RAY_RUNTIME_ACTOR_DIRECT_H

#include "runtime/internal.h"

/* Register the two messages on the node's server. */
void actor_direct_init(struct runtime *rt);

#endif
