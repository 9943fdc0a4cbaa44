/*
 * nomem_driver.c — libray never aborts, end to end (tests/integration/
 * test_build.sh): a standalone driver on a real cluster that makes each of
 * the client's allocations fail in turn (common/mem.h, mem_fail_after_)
 * during ray_call + ray_get of square(7), ray_put + ray_get of a list, and
 * ray_call with a big argument. Every attempt must end in RAY_OK or
 * RAY_ENOMEM (with "out of memory" in ray_last_error()), never in a crash
 * or a wrong answer, and the same calls work afterwards.
 *
 *   nomem_driver HOST:PORT LIBRARY
 *
 * It links libray's objects (not libray.a, whose mem_* are local) to reach
 * the fault-injection hook. Prints a summary line; exits 0 when all passed.
 */
#include "common/mem.h"
#include "ray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad;

/* One round of the calls; returns RAY_OK or the first failure's code. */
static int round_trip(void)
{
    static char big[20000];
    memset(big, 'b', sizeof big - 1);
    ray_ref r;
    ray_value v, seven = RAY_I(7);
    int rc = ray_call("square", &seven, 1, NULL, &r);
    if (rc == RAY_OK && (rc = ray_get(r, 30000, &v)) == RAY_OK) {
        if (v.type != RAY_INT || v.as.i != 49)
            bad++;
        ray_value_release(&v);
    }
    if (rc != RAY_OK)
        return rc;
    ray_value items[3] = { RAY_I(1), RAY_S("two"), RAY_F(3.0) }, list = RAY_LIST_V(items, 3);
    if ((rc = ray_put(list, &r)) != RAY_OK || (rc = ray_get(r, 30000, &v)) != RAY_OK)
        return rc;
    if (v.type != RAY_LIST || v.as.list.n != 3)
        bad++;
    ray_value_release(&v);
    ray_value arg = RAY_S(big);
    if ((rc = ray_call("square", &arg, 1, NULL, &r)) != RAY_OK)
        return rc;
    rc = ray_get(r, 30000, &v); /* square refuses a string: the task fails */
    if (rc == RAY_OK)
        ray_value_release(&v);
    return rc == RAY_ETASK ? RAY_OK : rc;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int rc = ray_init(&(ray_config){ .address = argv[1], .library = argv[2] });
    if (rc != RAY_OK) {
        fprintf(stderr, "nomem_driver: ray_init: %s\n", ray_last_error());
        return 1;
    }
    long points = 0, nomem = 0, other = 0;
    for (long n = 0; n < 2000; n++) {
        mem_fail_after_(n);
        rc = round_trip();
        long used = mem_fail_after_(-1);
        if (rc == RAY_ECONN && strstr(ray_last_error(), "out of memory") != NULL) {
            /* the I/O thread could not grow its read buffer: the connection
             * is closed, as documented; start a new one */
            nomem++;
            ray_shutdown();
            if ((rc = ray_init(&(ray_config){ .address = argv[1], .library = argv[2] })) != RAY_OK) {
                printf("nomem_driver: ray_init again: %s\n", ray_last_error());
                other++;
                break;
            }
        } else if (rc == RAY_ENOMEM) {
            nomem++;
            if (strstr(ray_last_error(), "out of memory") == NULL) {
                printf("nomem_driver: RAY_ENOMEM without saying so: %s\n", ray_last_error());
                other++;
            }
        } else if (rc != RAY_OK) {
            printf("nomem_driver: allocation %ld: %s: %s\n", n, ray_strerror(rc), ray_last_error());
            other++;
        }
        if (used <= n) { /* no allocation failed this time: every point was tried */
            points = used;
            break;
        }
    }
    rc = round_trip(); /* and all is well afterwards */
    printf("nomem_driver: %ld allocation points, %ld answered RAY_ENOMEM, %ld other failures, "
           "%d wrong answers, afterwards %s\n",
           points, nomem, other, bad, rc == RAY_OK ? "ok" : ray_last_error());
    ray_shutdown();
    return points > 0 && nomem > 0 && other == 0 && bad == 0 && rc == RAY_OK ? 0 : 1;
}
