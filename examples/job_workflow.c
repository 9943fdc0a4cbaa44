/*
 * job_workflow.c — a durable workflow: fetch three numbers, square each,
 * sum the squares. Every step's output is checkpointed under the storage
 * folder before the steps after it run, so if this driver dies (Ctrl-C,
 * kill -9, ray stop) `-- resume` picks up where it stopped, running only
 * the steps that had not finished.
 *
 *   ray submit examples/build/job_workflow.so -- run [ID]      (default ID: squares)
 *   ray submit examples/build/job_workflow.so -- resume [ID]
 *   ray submit examples/build/job_workflow.so -- list
 * Storage: $RAY_WORKFLOW_STORAGE, else /tmp/ray/workflow_data.
 */
#include <ray.h>
#include <ray_workflow.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fetch(ray_task *t, const ray_value *a, size_t n)
{
    sleep(1); /* pretend to download something */
    return ray_return(t, RAY_I(a[0].as.i));
}
RAY_REMOTE(fetch);

static int square(ray_task *t, const ray_value *a, size_t n)
{
    return ray_return(t, RAY_I(a[0].as.i * a[0].as.i));
}
RAY_REMOTE(square);

static int sum(ray_task *t, const ray_value *a, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i].as.i;
    return ray_return(t, RAY_I(s));
}
RAY_REMOTE(sum);

int ray_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "run", *id = argc > 2 ? argv[2] : "squares";
    ray_workflow_output out;
    int rc;
    if (strcmp(cmd, "list") == 0) {
        ray_workflow_info infos[32];
        size_t n;
        if ((rc = ray_workflow_list(NULL, infos, 32, &n)) != RAY_OK) {
            fprintf(stderr, "list: %s\n", ray_last_error());
            return 1;
        }
        for (size_t i = 0; i < n && i < 32; i++)
            printf("%-24s %-10s %d/%d steps %s\n", infos[i].id,
                   ray_workflow_status_name(infos[i].status), infos[i].steps_done,
                   infos[i].steps, infos[i].message);
        return 0;
    }
    if (strcmp(cmd, "resume") == 0) {
        rc = ray_workflow_resume(NULL, id, &out);
    } else {
        ray_workflow *w;
        ray_workflow_new(&w);
        int sq[3];
        for (int i = 0; i < 3; i++) {
            ray_value x = RAY_I(i + 2);
            int f;
            ray_workflow_step(w, "fetch", "fetch", &x, 1, NULL, 0, NULL, &f);
            ray_workflow_step(w, "square", "square", NULL, 0, &f, 1, NULL, &sq[i]);
        }
        ray_workflow_step(w, "sum", "sum", NULL, 0, sq, 3, NULL, NULL);
        rc = ray_workflow_run(w, NULL, id, &out);
        ray_workflow_free(w);
    }
    if (rc != RAY_OK) {
        fprintf(stderr, "workflow %s: %s\n", id, ray_last_error());
        return 1;
    }
    printf("workflow %s: 2*2 + 3*3 + 4*4 = %lld\n", id, (long long)out.value.as.i);
    ray_workflow_output_release(&out);
    return 0;
}
