/*
 * populate.h — fault a mapped shared-memory region's pages in once per process.
 *
 * Writing a large object into the object store costs, besides the copy, the
 * kernel's work of mapping each 4 KiB page into the writer's page tables.
 * MADV_POPULATE_WRITE does that work for a whole range in one call, but it
 * walks every page again on every call, even when the process mapped them
 * long ago: with 100 MB objects put over and over into the same extents the
 * walk cost 40 % of ray_put's time (BENCHMARKS.md, round 14). A populate map
 * remembers, per chunk of POPULATE_CHUNK bytes of one mapping, that this
 * process has populated it, so later writes there skip the walk. Chunks at
 * the edges of a range that it does not wholly cover are populated each
 * time and never marked (a neighbouring object may own the rest).
 *
 * The map only ever says "was populated": if the kernel later takes pages
 * back (reclaim), writes fault them in again as usual; nothing is wrong,
 * only slower. Thread-safe: chunks are claimed with atomic bit operations,
 * so two threads never both populate one chunk.
 */
#ifndef RAY_COMMON_POPULATE_H
#define RAY_COMMON_POPULATE_H

#include <stddef.h>
#include <stdint.h>

#define POPULATE_CHUNK ((uint64_t)256 << 10)

struct populate_map;

/* A map for a mapping of SIZE bytes, nothing populated. Returns NULL when
 * out of memory (callers then populate every time, as before). The caller
 * owns it: populate_map_free. */
struct populate_map *populate_map_new(uint64_t size);
void populate_map_free(struct populate_map *m);
/* Forgets every claim (the mapping was replaced by a new one at the same
 * address). A claim made meanwhile by another thread may be lost: that chunk
 * is then populated once more, which is harmless. */
void populate_map_reset(struct populate_map *m);

/* The ranges of [OFF, OFF+LEN) (offsets into the mapping) that still need
 * populating: the chunks it wholly covers that no call claimed before (they
 * are claimed now) and the partial chunks at its two ends, merged into at
 * most MAX ranges (the last one runs to the end when there are more gaps).
 * Writes OFFS[i]/LENS[i]; returns how many. M NULL: the whole range. */
int populate_claim(struct populate_map *m, uint64_t off, uint64_t len, uint64_t *offs,
                   uint64_t *lens, int max);

/* MADV_POPULATE_WRITE over [BASE+OFF, BASE+OFF+LEN), page-aligned outward,
 * in steps of STEP bytes (0: one call) so that a writer copying right behind
 * finds the first pages ready early. Returns 0, or -1 when the kernel does
 * not know the advice (then writes fault as usual). */
int populate_range(void *base, uint64_t off, uint64_t len, uint64_t step);

#endif
