/*
 * renv_driver.c — a standalone driver (links libray) whose ray_config gives
 * the job a runtime_env (test_runtime_env): its tasks see the env_vars and
 * run in the working directory, which ray_init packed and sent to the node.
 *
 *   renv_driver ADDRESS JOB.so RUNTIME_ENV_JSON
 *   -> "standalone task: GREETING=... data=..." or "ray_init: <error>"
 */
#include <ray.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return fprintf(stderr, "usage: renv_driver ADDRESS JOB.so JSON\n"), 2;
    ray_config cfg = { .address = argv[1], .library = argv[2], .runtime_env = argv[3] };
    int rc = ray_init(&cfg);
    if (rc != RAY_OK) {
        printf("ray_init: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    ray_ref r;
    ray_value v;
    if ((rc = ray_call("env_of", NULL, 0, NULL, &r)) != RAY_OK || (rc = ray_get(r, 30000, &v)) != RAY_OK) {
        printf("task: %s\n", ray_last_error());
        return 1;
    }
    printf("standalone task: %s\n", (const char *)v.as.buf.ptr);
    ray_value_release(&v);
    ray_shutdown();
    return 0;
}
