/*
 * xids.c — ids_random (common/ids.h): random bytes for the daemon and the
 * CLI, which abort with a message when the kernel gives none (as xmalloc.c
 * does on out-of-memory). Not in libray.a, whose code calls
 * ids_random_fill and fails cleanly instead.
 */
#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ids_random(void *p, size_t n)
{
    if (ids_random_fill(p, n) < 0) {
        fprintf(stderr, "ray: cannot read random bytes (getrandom): %s\n", strerror(errno));
        abort();
    }
}
