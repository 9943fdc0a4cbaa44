/*
 * fuzz_runtime_env.c — libFuzzer target for the runtime_env JSON decoder
 * (common/runtime_env.c; docs/fuzzing.md). Input byte 0 picks the flags
 * (bit 0: RENV_INTERNAL), the rest is the JSON. Whatever parses must hold
 * sorted unique names within the limits, write a canonical form that parses
 * (internally) to the same canonical text, and merge with itself to itself.
 * A failure must leave an error message. Any inconsistency calls abort().
 */
#include "common/runtime_env.h"

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
    if (size == 0)
        return 0;
    int flags = data[0] & 1 ? RENV_INTERNAL : 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct renv e = RENV_INIT;
    char err[300] = "";
    int rc = renv_parse(text, len, flags, &e, err, sizeof err);
    if (rc != RENV_OK) {
        FUZZ_CHECK(rc == RENV_EINVAL && err[0] != '\0');
        FUZZ_CHECK(e.nvars == 0 && e.names == NULL && e.working_dir == NULL);
        return 0;
    }
    FUZZ_CHECK(e.nvars <= RENV_MAX_VARS);
    for (size_t i = 1; i < e.nvars; i++)
        FUZZ_CHECK(strcmp(e.names[i - 1], e.names[i]) < 0);
    if (!flags)
        FUZZ_CHECK(e.working_dir_hash == NULL);
    char *c1 = renv_canonical(&e);
    FUZZ_CHECK(c1 != NULL);
    struct renv back = RENV_INIT;
    FUZZ_CHECK(renv_parse(c1, strlen(c1), RENV_INTERNAL, &back, err, sizeof err) == RENV_OK);
    char *c2 = renv_canonical(&back);
    FUZZ_CHECK(c2 != NULL && strcmp(c1, c2) == 0);
    struct renv m = RENV_INIT;
    FUZZ_CHECK(renv_merge(&back, &back, &m) == RENV_OK);
    char *c3 = renv_canonical(&m);
    FUZZ_CHECK(c3 != NULL && strcmp(c1, c3) == 0);
    free(c1);
    free(c2);
    free(c3);
    renv_free(&e);
    renv_free(&back);
    renv_free(&m);
    return 0;
}
