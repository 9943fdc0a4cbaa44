/*
 * resources.h — resource sets: what a node has, what a task asks for.
 *
 * A res_set is a small list of (name, amount) pairs. Amounts are fixed-point
 * int64 in units of 1/RES_SCALE (1/10000), so 0.5 + 0.5 CPU is exactly 1 and
 * repeated add/sub never drifts. The four standard resources (CPU, GPU,
 * memory, object_store_memory) always come first, in that order, followed by
 * custom names in strcmp order; that order is what res_format prints, so the
 * text of a set is stable and can be compared as a string.
 *
 * An entry that is present with amount 0 ("GPU=0") is kept and printed; an
 * absent entry reads as 0 everywhere (res_get, res_fits).
 *
 * Used by the local and global schedulers, the node table's resource strings
 * and `ray status`. Daemon code: allocation failures abort (xmalloc); only
 * the reader of the text form (res_scan, res_name_valid: resparse.c) is also
 * linked into the client library.
 */
#ifndef RAY_RESOURCES_H
#define RAY_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define RES_SCALE 10000             /* fixed-point units per 1.0 */
#define RES_NAME_MAX 64             /* longest resource name, in bytes */
#define RES_MAX_ENTRIES 512         /* most entries in one set (placement groups add 4 per bundle) */
/* Largest amount an entry holds, in units: about 4.6e14 whole units (so byte
 * counts up to ~460 TB fit), and a sum of two amounts never overflows int64. */
#define RES_AMOUNT_MAX (INT64_MAX / 2 / RES_SCALE * RES_SCALE)

/* Standard resource names. */
#define RES_CPU "CPU"
#define RES_GPU "GPU"
#define RES_MEMORY "memory"
#define RES_OBJECT_STORE_MEMORY "object_store_memory"

struct res_entry {
    char *name;      /* NUL-terminated, valid per res_name_valid; owned, except
                      * a standard name's, which points at a static string */
    int64_t amount;  /* in 1/RES_SCALE units, 0 <= amount <= RES_AMOUNT_MAX */
};

struct res_set {
    struct res_entry *e;  /* owned array, sorted (standard names first) */
    size_t n;             /* entries used */
    size_t cap;           /* entries allocated */
};

#define RES_SET_INIT { NULL, 0, 0 }

/* Whole units <-> fixed point. res_units(2) == 2 * RES_SCALE. */
#define res_units(x) ((int64_t)(x) * RES_SCALE)

/* Make S an empty set (same as RES_SET_INIT). */
void res_init(struct res_set *s);
/* Release S's memory; S is empty again and may be reused. NULL is a no-op. */
void res_free(struct res_set *s);
/* Empty S, keeping its array for the next entries (no allocation then). */
void res_clear(struct res_set *s);
/* Drop S's entries whose name DROP(name, ARG) returns true for. */
void res_drop_if(struct res_set *s, bool (*drop)(const char *name, void *arg), void *arg);
/* Replace DST's contents with a deep copy of SRC (DST initialised). */
void res_copy(struct res_set *dst, const struct res_set *src);

/* True if NAME is 1..RES_NAME_MAX characters of [A-Za-z0-9_:.-]. */
bool res_name_valid(const char *name);

/* Parse SPEC into OUT (which must be initialised; its old entries are
 * dropped, its array kept). Accepted forms:
 *   ""  or whitespace only        -> empty set
 *   "CPU=2,GPU=1,foo=0.5"         (spaces around names and values allowed)
 *   '{"foo": 2, "bar": 1.5}'      (a JSON object of plain numbers; strings
 *                                  without escapes; no nesting)
 * Amounts are plain decimals with at most 4 fractional digits (no sign, no
 * exponent, no NaN/inf). Duplicate names are rejected.
 * At most RES_MAX_ENTRIES pairs; names per res_name_valid.
 * Returns 0, or -1 with one line in ERR (ERRLEN bytes, may be 0) and OUT empty. */
int res_parse(struct res_set *out, const char *spec, char *err, size_t errlen);

/* Called by res_scan for each NAME=AMOUNT (units) in text order. */
typedef void (*res_pair_fn)(const char *name, int64_t amount, void *arg);
/* Read SPEC by res_parse's rules without building a set: FN (may be NULL:
 * only check) gets each pair as it is read, so on failure it may have seen
 * the pairs before the bad one. Allocates nothing and never aborts
 * (resparse.c is linked into libray.a too). Returns 0, or -1 with ERR set. */
int res_scan(const char *spec, res_pair_fn fn, void *arg, char *err, size_t errlen);

/* Append S to OUT as "CPU=2,GPU=0,foo=0.5" (set order, trailing fractional
 * zeros trimmed; "" for an empty set). The text round-trips via res_parse. */
void res_format(const struct res_set *s, struct buf *out);

/* Amount of NAME in S in 1/RES_SCALE units; 0 when absent. */
int64_t res_get(const struct res_set *s, const char *name);
/* Whether NAME is present in S (even with amount 0). */
bool res_has(const struct res_set *s, const char *name);
/* Set NAME to AMOUNT (units), adding the entry if absent (it stays present
 * even when AMOUNT is 0). Returns 0, or -1 (errno EINVAL: bad name or amount
 * out of 0..RES_AMOUNT_MAX; E2BIG: set already has RES_MAX_ENTRIES). */
int res_set_amount(struct res_set *s, const char *name, int64_t amount);

/* True if every amount DEMAND asks for is <= what AVAIL holds (absent = 0).
 * An empty demand always fits. */
bool res_fits(const struct res_set *avail, const struct res_set *demand);
/* AVAIL -= DEMAND. Returns 0, or -1 (errno ERANGE) leaving AVAIL unchanged
 * when DEMAND does not fit. Entries that reach 0 stay present. */
int res_sub(struct res_set *avail, const struct res_set *demand);
/* AVAIL += DEMAND, adding absent names. Returns 0, or -1 leaving AVAIL
 * unchanged (errno ERANGE: an amount would pass RES_AMOUNT_MAX; E2BIG: too
 * many entries). */
int res_add(struct res_set *avail, const struct res_set *demand);
/* True if A and B hold the same entries with the same amounts (an entry
 * present with 0 differs from an absent one, as res_format prints them). */
bool res_equal(const struct res_set *a, const struct res_set *b);
/* True when no entry has a non-zero amount (an empty set included). */
bool res_is_empty(const struct res_set *s);

#endif
