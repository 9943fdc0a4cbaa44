/*
 * pg_spec.h — the decoder of PG_CREATE's spec (docs/protocol.md "Placement
 * groups"): {"id": bin20, "bundles": [str...], "strategy": 0..3,
 * "name": str|nil, "detached_creator": bin20 (added by the node)}. Pure, so it is fuzzed alone (tests/fuzz/fuzz_pg_spec.c);
 * runtime/pg.c turns the result into a group.
 */
#ifndef RAY_SCHED_PG_SPEC_H
#define RAY_SCHED_PG_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "sched/pg_policy.h"
#include "sched/resources.h"

#define PG_SPEC_NAME_MAX 256

struct pg_spec {
    const uint8_t *id;                    /* 20 bytes, into the input */
    const uint8_t *creator;               /* the detached actor that made it (20 bytes), or NULL */
    int strategy;
    char name[PG_SPEC_NAME_MAX + 1];      /* "" for an unnamed group */
    size_t nb;
    struct res_set bundles[PG_MAX_BUNDLES];
    char *text[PG_MAX_BUNDLES];           /* each bundle normalised (res_format), owned */
};

/* Decode SPEC (LEN bytes) into OUT. Returns 0, or -1 with one line in ERR
 * (malformed spec, bad bundle "bundle 1 \"CPU=x\": ...", 0 or more than 64
 * bundles, a name too long) and nothing to free. Checks every bound before
 * it allocates; allocation failures abort (daemon code). */
int pg_spec_parse(const void *spec, size_t len, struct pg_spec *out, char *err, size_t errlen);
/* Free what pg_spec_parse allocated; OUT is empty again. */
void pg_spec_free(struct pg_spec *out);

#endif
