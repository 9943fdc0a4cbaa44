/*
 * job_collective.c — data-parallel training in miniature: four actors each
 * compute a "gradient" on their own shard, allreduce it (SUM) so every one
 * holds the same total, and divide by the world size: the average, as
 * torch.distributed / Ray's collective groups would do it.
 *
 *   ray submit examples/build/job_collective.so [-- ELEMENTS]
 */
#include <ray.h>
#include <ray_collective.h>

#include <stdio.h>
#include <stdlib.h>

struct trainer {
    int unused;
};
static void *trainer_new(ray_task *t, const ray_value *a, size_t n)
{
    return calloc(1, sizeof(struct trainer));
}
static void trainer_free(void *self)
{
    free(self);
}

/* step(N): a gradient of N floats (rank r's element i is r + i), averaged
 * over the group; returns element 1 of the average. */
static int trainer_step(void *self, ray_task *t, const ray_value *a, size_t n)
{
    ray_collective_group *g;
    if (ray_collective_group_open("trainers", &g) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    size_t len = (size_t)a[0].as.i;
    int r = ray_collective_rank(g), w = ray_collective_world_size(g);
    float *grad = malloc(len * sizeof *grad);
    for (size_t i = 0; i < len; i++)
        grad[i] = (float)(r + i);
    int rc = ray_collective_allreduce(g, grad, len, RAY_COLL_FLOAT32, RAY_COLL_SUM);
    for (size_t i = 0; i < len; i++)
        grad[i] /= (float)w;
    double e1 = grad[1];
    free(grad);
    ray_collective_group_close(g);
    if (rc != RAY_OK)
        return ray_fail(t, "allreduce: %s", ray_last_error());
    return ray_return(t, RAY_F(e1));
}
RAY_ACTOR(trainer);
RAY_METHOD(trainer, step);

int ray_main(int argc, char **argv)
{
    int64_t len = argc > 1 ? atoll(argv[1]) : 1000000;
    ray_actor w[4];
    for (int i = 0; i < 4; i++)
        ray_actor_create("trainer", NULL, 0, NULL, &w[i]);
    if (ray_collective_create_group(w, 4, 4, NULL, "trainers") != RAY_OK) {
        fprintf(stderr, "create_group: %s\n", ray_last_error());
        return 1;
    }
    ray_ref r[4];
    ray_value arg = RAY_I(len);
    for (int i = 0; i < 4; i++)
        ray_actor_call(w[i], "step", &arg, 1, NULL, &r[i]);
    for (int i = 0; i < 4; i++) {
        ray_value v;
        if (ray_get(r[i], -1, &v) != RAY_OK) {
            fprintf(stderr, "rank %d: %s\n", i, ray_last_error());
            return 1;
        }
        /* element 1: (0+1 + 1+1 + 2+1 + 3+1) / 4 = 2.5 */
        printf("rank %d: averaged gradient[1] = %.2f\n", i, v.as.f);
    }
    ray_collective_destroy_group("trainers");
    return 0;
}
