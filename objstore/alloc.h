/*
 * alloc.h — the object store's space allocator: hands out 64-byte aligned
 * ranges of [0, capacity). It knows nothing about shared memory: offsets are
 * plain numbers, and all its metadata lives in the caller's heap, so a client
 * process scribbling over the shared region can never corrupt it.
 *
 * Two-level segregated fit (TLSF-style) with immediate coalescing: every
 * operation is O(1) apart from the hash lookup of an offset (amortized O(1)).
 * See objstore/alloc.c for the DESIGN and docs/objstore.md for fragmentation.
 * Not thread-safe: the store calls it from the daemon's loop thread only.
 */
#ifndef RAY_ALLOC_H
#define RAY_ALLOC_H

#include <stdint.h>

#define ALLOC_ALIGN 64u

typedef struct alloc alloc;

/* A new allocator managing [0, capacity rounded down to ALLOC_ALIGN), all
 * free. Never NULL (aborts on OOM); a capacity under ALLOC_ALIGN gives an
 * allocator on which every alloc_alloc fails. Free it with alloc_destroy. */
alloc *alloc_new(uint64_t capacity);
/* Release the allocator's metadata; NULL is a no-op. */
void alloc_destroy(alloc *a);

/* Reserve SIZE bytes (0 is treated as 1: every block is distinct). On success
 * stores the block's offset (a multiple of ALLOC_ALIGN) in *OFFSET and returns
 * 0; returns -1 when no free block is large enough (nothing changes). */
int alloc_alloc(alloc *a, uint64_t size, uint64_t *offset);
/* Return the block starting at OFFSET (as given by alloc_alloc) and merge it
 * with free neighbours. Returns 0, or -1 if OFFSET is not an allocated block
 * (nothing changes). */
int alloc_free(alloc *a, uint64_t offset);
/* Free every block at once: the whole range becomes one free block. */
void alloc_free_all(alloc *a);

/* Bytes a SIZE-byte request really takes (rounded up to ALLOC_ALIGN, min 64). */
uint64_t alloc_block_size(uint64_t size);
/* The managed capacity (a multiple of ALLOC_ALIGN). */
uint64_t alloc_capacity(const alloc *a);
/* Bytes in allocated blocks (rounded sizes). */
uint64_t alloc_used(const alloc *a);
/* Size of the largest free block: the biggest request that would succeed now.
 * Scans one size class (used for stats and messages, not on the hot path). */
uint64_t alloc_largest_free(const alloc *a);
/* Number of allocated blocks and of free blocks (the latter measures
 * fragmentation: 1 when all free space is contiguous). */
uint64_t alloc_num_used(const alloc *a);
uint64_t alloc_num_free(const alloc *a);
/* Walk every block and check the invariants (blocks tile the range in order,
 * no two free neighbours, counters and size-class lists agree). O(n): for
 * tests. Returns 0, or -1 on the first violation. */
int alloc_validate(const alloc *a);

#endif
