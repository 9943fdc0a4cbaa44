/*
 * job_autoscale.c — a job library for test_autoscaler: work that keeps a
 * worker busy in ways other than its resources, so the autoscaler must not
 * take the worker for idle.
 *
 *   ray submit job_autoscale.so -- hold RES MS
 *
 * `hold` runs one task needing RES (e.g. "bee=1") that returns a 4 MiB
 * object, which stays in the store of the node that ran it; the driver
 * then holds the ref MS milliseconds without reading it (the node looks
 * idle: no task, all its resources free) and only then gets it, checking
 * the bytes. Prints "held object ok after MS ms" and returns 0 when the
 * object could still be read.
 */
#include <ray.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOLD_BYTES (4u << 20)

static int make_block(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    unsigned char *b = malloc(HOLD_BYTES);
    if (b == NULL)
        return ray_fail(t, "out of memory");
    for (size_t i = 0; i < HOLD_BYTES; i++)
        b[i] = (unsigned char)(i % 253);
    int rc = ray_return(t, RAY_BYTES_V(b, HOLD_BYTES));
    free(b);
    return rc;
}
RAY_REMOTE(make_block);

int ray_main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[1], "hold") != 0) {
        fprintf(stderr, "usage: job_autoscale.so -- hold RES MS\n");
        return 2;
    }
    ray_opts o = RAY_OPTS;
    o.resources = argv[2];
    int ms = atoi(argv[3]);
    ray_ref r;
    if (ray_call("make_block", NULL, 0, &o, &r) != RAY_OK) {
        fprintf(stderr, "call: %s\n", ray_last_error());
        return 1;
    }
    usleep((useconds_t)ms * 1000);
    ray_value v;
    if (ray_get(r, 60000, &v) != RAY_OK) {
        fprintf(stderr, "get after %d ms: %s\n", ms, ray_last_error());
        return 1;
    }
    int bad = v.type != RAY_BYTES || v.as.buf.len != HOLD_BYTES;
    for (size_t i = 0; !bad && i < HOLD_BYTES; i += 4099)
        bad = ((const unsigned char *)v.as.buf.ptr)[i] != (unsigned char)(i % 253);
    ray_value_release(&v);
    if (bad) {
        fprintf(stderr, "the object's bytes are wrong\n");
        return 1;
    }
    printf("held object ok after %d ms\n", ms);
    return 0;
}
