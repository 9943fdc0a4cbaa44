/*
 * fuzz_pg_spec.c — libFuzzer target for PG_CREATE's spec decoder
 * (sched/pg_spec.c; docs/fuzzing.md). The input is the msgpack spec. What
 * decodes must hold 1..64 bundles each with a positive amount whose
 * normalised text parses back to the same set, and an ID of 20 bytes inside
 * the input; what fails must say why. Any inconsistency calls abort().
 */
#include "sched/pg_spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pg_spec ps;
    char err[600] = "";
    if (pg_spec_parse(data, size, &ps, err, sizeof err) < 0) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(ps.nb >= 1 && ps.nb <= PG_MAX_BUNDLES);
    FUZZ_CHECK(ps.id >= data && ps.id + 20 <= data + size);
    FUZZ_CHECK(ps.strategy >= PG_PACK && ps.strategy <= PG_STRICT_SPREAD);
    FUZZ_CHECK(strlen(ps.name) <= PG_SPEC_NAME_MAX);
    for (size_t b = 0; b < ps.nb; b++) {
        FUZZ_CHECK(!res_is_empty(&ps.bundles[b]));
        struct res_set back = RES_SET_INIT;
        char e[300];
        FUZZ_CHECK(res_parse(&back, ps.text[b], e, sizeof e) == 0);
        FUZZ_CHECK(res_fits(&back, &ps.bundles[b]) && res_fits(&ps.bundles[b], &back));
        res_free(&back);
    }
    pg_spec_free(&ps);
    return 0;
}
