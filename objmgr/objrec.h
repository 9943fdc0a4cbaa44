/*
 * objrec.h — a lone node's object-table entries, written behind (the
 * DESIGN paragraph is in objrec.c): while no other node is alive, a new
 * object's location waits up to a second before it reaches the GCS, and an
 * object freed meanwhile never does. On the node's loop thread only.
 */
#ifndef RAY_OBJREC_H
#define RAY_OBJREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct gcs_client;
struct objrecs;

/* The entries of node NODE_HEX (copied), written through GCS on BASE (both
 * the caller's; they must outlive it). OTHERS(CTX) says how many other
 * nodes are alive now. Never fails (aborts on out-of-memory). */
struct objrecs *objrec_new(struct event_base *base, struct gcs_client *gcs, const char *node_hex,
                           size_t (*others)(void *ctx), void *ctx);
/* Drop what is held back (the node's objects go with it) and free it all.
 * NULL is a no-op. */
void objrec_free(struct objrecs *o);
/* Object ID (SIZE bytes) was sealed here: its entry is written now when
 * another node is alive, else within a second unless it is freed first. */
void objrec_sealed(struct objrecs *o, const uint8_t *id, uint64_t size);
/* ID was freed: true if its entry was still held back (now dropped, so
 * there is nothing to delete from the table), else false. */
bool objrec_freed(struct objrecs *o, const uint8_t *id);
/* Job NUM ended: drop its entries held back (its cleanup covers the table). */
void objrec_job_ended(struct objrecs *o, uint32_t num);

#endif
