/*
 * driver_standalone.c — a driver that is its own program: it links -lray,
 * connects with ray_init, and runs the functions of a job library (here
 * job_squares.so) on the cluster.
 *
 *   cc -I include examples/driver_standalone.c -rdynamic -L lib -lray -lpthread -ldl -lm -o driver
 *   ./driver [ADDRESS] [LIBRARY]
 */
#include <ray.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    ray_config cfg = {
        .address = argc > 1 && argv[1][0] ? argv[1] : NULL,
        .library = argc > 2 ? argv[2] : "examples/build/job_squares.so",
    };
    int rc = ray_init(&cfg);
    if (rc != RAY_OK) {
        fprintf(stderr, "driver: ray_init: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    printf("driver: connected to node %.8s as job %s\n", ray_node_id(), ray_job_id());
    ray_ref refs[5];
    for (int i = 0; i < 5; i++) {
        ray_value arg = RAY_I(i + 1);
        if (ray_call("square", &arg, 1, NULL, &refs[i]) != RAY_OK) {
            fprintf(stderr, "driver: ray_call: %s\n", ray_last_error());
            return 1;
        }
    }
    int64_t sum = 0;
    for (int i = 0; i < 5; i++) {
        ray_value v;
        if (ray_get(refs[i], 10000, &v) != RAY_OK) {
            fprintf(stderr, "driver: ray_get: %s\n", ray_last_error());
            return 1;
        }
        sum += v.as.i;
    }
    printf("driver: 1+4+9+16+25 = %lld\n", (long long)sum);
    ray_shutdown();
    return sum == 55 ? 0 : 1;
}
