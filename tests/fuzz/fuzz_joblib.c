/*
 * fuzz_joblib.c — libFuzzer target for the job-library check
 * (common/joblib.c; docs/fuzzing.md), which reads the ELF headers and the
 * dynamic symbol table of what a user uploads (`ray submit`, `ray job
 * submit`, the dashboard's POST /api/jobs/). The input is the image, copied
 * to an exact-size buffer so ASan sees any read past its end (and at an
 * 8-aligned address, as malloc gives, so the symbol table walk runs). It
 * must return 0 or -1, and -1 only with a message naming the file.
 */
#include "common/joblib.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *image = malloc(size ? size : 1);
    if (image == NULL)
        return 0;
    memcpy(image, data, size);
    char err[512] = "";
    int rc = joblib_check("job.so", image, size, err, sizeof err);
    if (rc != 0 && (rc != -1 || strncmp(err, "job.so: ", 8) != 0))
        abort();
    free(image);
    return 0;
}
