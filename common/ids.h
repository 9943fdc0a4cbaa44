/*
 * ids.h — 20-byte IDs (nodes, jobs, tasks, objects, actors) and their hex form.
 *
 * Layout of task and object IDs (see docs/ids.md):
 *   bytes 0..3   job number (big-endian)
 *   bytes 4..15  unique part: random per process + counter
 *   bytes 16..19 index: 0 for a task or actor; i (1-based) for its i-th return;
 *                IDS_PUT_INDEX | n for the n-th ray_put/ray_create of a task
 */
#ifndef RAY_IDS_H
#define RAY_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDS_SIZE 20
#define IDS_HEX_SIZE (2 * IDS_SIZE + 1)
#define IDS_PUT_INDEX 0x80000000u

/* Fill P with N bytes from the kernel's random source (getrandom). Returns
 * 0, or -1 with errno (the kernel's: ENOSYS, EPERM under a seccomp
 * filter...) and P's bytes unspecified. Never aborts: libray.a calls it. */
int ids_random_fill(void *p, size_t n);
/* The same for the daemon and the CLI, which cannot go on without it:
 * aborts with a message on failure. In common/xids.c, which libray.a does
 * not hold (a library caller would not link). */
void ids_random(void *p, size_t n);
/* Write 2*N lowercase hex digits and a NUL into OUT (size >= 2*N+1); returns OUT. */
char *ids_hex(const void *p, size_t n, char *out);
/* The value of hex digit C (either case), or -1 if it is none. */
int ids_hex_digit(char c);
/* Parse 2*N hex digits from HEX into OUT; returns 0 or -1. */
int ids_unhex(const char *hex, void *out, size_t n);
bool ids_is_zero(const void *id);
/* Index field (bytes 16..19) of an ID, and a copy of BASE with that index. */
uint32_t ids_index(const uint8_t *id);
void ids_with_index(uint8_t *out, const uint8_t *base, uint32_t index);
uint32_t ids_job(const uint8_t *id);
/* A well-mixed 64-bit hash of all 20 bytes of ID (job, unique part and
 * index all vary), for hash tables keyed by IDs. */
uint64_t ids_hash(const uint8_t *id);

#endif
