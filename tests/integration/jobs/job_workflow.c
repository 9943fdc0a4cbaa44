/*
 * job_workflow.c — what test_workflow.sh submits: durable workflows as a
 * user drives them, each mode printing what a user would see.
 *
 *   ray submit job_workflow.so -- run STORAGE ID SIDE GATE     the 5-step diamond (below)
 *                                 resume STORAGE ID            resume, print the output
 *                                 info STORAGE ID | list STORAGE
 *                                 fail STORAGE ID SIDE         a step that fails, retried
 *                                 crash STORAGE ID SIDE        a step whose worker crashes once
 *                                 cancel STORAGE ID SIDE GATE  run_async, cancel, resume, delete
 *                                 badref STORAGE ID            a step that returns a REF
 *
 * The diamond: load (5) -> a = 10 + load (on the node with resource "side")
 * and b = 2 * load -> slow = a + b (waits for the file GATE) -> final = 1 + slow = 26.
 * Every step appends "NAME NODE" to the file SIDE when it has done its work:
 * the side effects the test counts.
 */
#include <ray.h>
#include <ray_workflow.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void side_effect(const char *side, const char *name)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s %s\n", name, ray_node_id());
    int fd = open(side, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n)
            perror("side effect");
        close(fd);
    }
}

/* wf_step(SIDE, NAME, OP, K, GATE, deps...): OP const: K; add: K + deps;
 * mul: K * deps; slow: waits up to 60 s for GATE, then add; fail: ray_fail
 * (appending NAME-attempt first); crash: aborts the first time (GATE is the marker). */
static int wf_step(ray_task *t, const ray_value *a, size_t n)
{
    if (n < 5 || a[0].type != RAY_STR || a[1].type != RAY_STR || a[2].type != RAY_STR ||
        a[3].type != RAY_INT || a[4].type != RAY_STR)
        return ray_fail(t, "wf_step wants SIDE NAME OP K GATE deps...");
    const char *side = a[0].as.buf.ptr, *name = a[1].as.buf.ptr, *op = a[2].as.buf.ptr;
    const char *gate = a[4].as.buf.ptr;
    int64_t k = a[3].as.i, sum = 0;
    for (size_t i = 5; i < n; i++) {
        if (a[i].type != RAY_INT)
            return ray_fail(t, "dependency %zu is not an int", i - 5);
        sum += a[i].as.i;
    }
    int64_t v;
    if (strcmp(op, "const") == 0) {
        v = k;
    } else if (strcmp(op, "add") == 0) {
        v = k + sum;
    } else if (strcmp(op, "mul") == 0) {
        v = k * sum;
    } else if (strcmp(op, "slow") == 0) {
        char started[300];
        snprintf(started, sizeof started, "%s-started", name);
        side_effect(side, started);
        for (int i = 0; i < 600 && access(gate, F_OK) != 0; i++)
            usleep(100000);
        v = k + sum;
    } else if (strcmp(op, "fail") == 0) {
        char att[300];
        snprintf(att, sizeof att, "%s-attempt", name);
        side_effect(side, att);
        return ray_fail(t, "bad input %lld", (long long)(k + sum));
    } else if (strcmp(op, "crash") == 0) {
        int fd = open(gate, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd >= 0)
            abort();
        v = k + sum;
    } else if (strcmp(op, "ref") == 0) {
        ray_ref r;
        ray_put(RAY_I(1), &r);
        return ray_return(t, RAY_R(r));
    } else {
        return ray_fail(t, "unknown op %s", op);
    }
    side_effect(side, name);
    return ray_return(t, RAY_I(v));
}
RAY_REMOTE(wf_step);

/* Add step NAME: wf_step(side, NAME, OP, K, GATE, deps...). */
static int add(ray_workflow *w, const char *side, const char *name, const char *op, int64_t k,
               const char *gate, const int *deps, size_t nd, const ray_opts *o)
{
    ray_value args[] = { RAY_S(side), RAY_S(name), RAY_S(op), RAY_I(k), RAY_S(gate) };
    int idx = -1;
    int rc = ray_workflow_step(w, name, "wf_step", args, 5, deps, nd, o, &idx);
    if (rc != RAY_OK)
        printf("step %s: %s\n", name, ray_last_error());
    return idx;
}

static void print_out(const char *what, int rc, ray_workflow_output *out)
{
    if (rc == RAY_OK && out->value.type == RAY_INT)
        printf("%s: %s, output %lld\n", what, ray_strerror(rc), (long long)out->value.as.i);
    else
        printf("%s: %s: %s\n", what, ray_strerror(rc), rc == RAY_OK ? "" : ray_last_error());
    ray_workflow_output_release(out);
}

static void print_info(const char *storage, const char *id)
{
    ray_workflow_info in;
    int rc = ray_workflow_get_info(storage, id, &in);
    if (rc != RAY_OK)
        printf("info %s: %s: %s\n", id, ray_strerror(rc), ray_last_error());
    else
        printf("info %s: %s %d/%d steps%s%s\n", in.id, ray_workflow_status_name(in.status),
               in.steps_done, in.steps, in.message[0] ? ": " : "", in.message);
}

int ray_main(int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: run|resume|info|list|fail|crash|cancel|badref STORAGE [ID ...]\n");
        return 2;
    }
    const char *mode = argv[1], *storage = argv[2], *id = argc > 3 ? argv[3] : "wf";
    const char *side = argc > 4 ? argv[4] : "/dev/null", *gate = argc > 5 ? argv[5] : "";
    ray_workflow_output out;
    int rc;

    if (strcmp(mode, "run") == 0 || strcmp(mode, "cancel") == 0) {
        ray_workflow *w;
        ray_workflow_new(&w);
        ray_opts on2 = RAY_OPTS;
        on2.resources = "side=1";
        int load = add(w, side, "load", "const", 5, "", NULL, 0, NULL);
        int a = add(w, side, "a", "add", 10, "", &load, 1, &on2);
        int b = add(w, side, "b", "mul", 2, "", &load, 1, NULL);
        int ab[] = { a, b };
        int slow = add(w, side, "slow", "slow", 0, gate, ab, 2, NULL);
        add(w, side, "final", "add", 1, "", &slow, 1, NULL);
        if (strcmp(mode, "run") == 0) {
            printf("driver pid %d\n", (int)getpid());
            fflush(stdout);
            rc = ray_workflow_run(w, storage, id, &out);
            print_out("run", rc, &out);
        } else {
            ray_workflow_handle *h;
            rc = ray_workflow_run_async(w, storage, id, &h);
            printf("run_async: %s %s\n", ray_strerror(rc), ray_workflow_handle_id(h));
            rc = ray_workflow_wait(h, 100, &out);
            printf("wait 100 ms: %s\n", ray_strerror(rc));
            print_info(storage, id);
            rc = ray_workflow_cancel(storage, id);
            printf("cancel: %s\n", ray_strerror(rc));
            rc = ray_workflow_wait(h, 30000, &out);
            print_out("wait", rc, &out);
            ray_workflow_handle_free(h);
            print_info(storage, id);
            rc = ray_workflow_resume(storage, id, &out);
            print_out("resume", rc, &out);
            rc = ray_workflow_delete(storage, id);
            printf("delete: %s\n", ray_strerror(rc));
            print_info(storage, id);
        }
        ray_workflow_free(w);
    } else if (strcmp(mode, "resume") == 0) {
        rc = ray_workflow_resume(storage, id, &out);
        print_out("resume", rc, &out);
        print_info(storage, id);
    } else if (strcmp(mode, "info") == 0) {
        print_info(storage, id);
    } else if (strcmp(mode, "list") == 0) {
        ray_workflow_info infos[16];
        size_t n = 0;
        rc = ray_workflow_list(storage, infos, 16, &n);
        printf("list: %s, %zu workflows\n", ray_strerror(rc), n);
        for (size_t i = 0; i < n && i < 16; i++)
            printf("list %s %s\n", infos[i].id, ray_workflow_status_name(infos[i].status));
    } else if (strcmp(mode, "fail") == 0 || strcmp(mode, "crash") == 0 ||
               strcmp(mode, "badref") == 0) {
        ray_workflow *w;
        ray_workflow_new(&w);
        int s0 = add(w, side, "first", "const", 7, "", NULL, 0, NULL);
        ray_opts o = RAY_OPTS;
        if (strcmp(mode, "fail") == 0) {
            o.max_retries = 2;
            o.retry_on_error = true;
            add(w, side, "second", "fail", 0, "", &s0, 1, &o);
        } else if (strcmp(mode, "crash") == 0) {
            o.max_retries = 1;
            add(w, side, "second", "crash", 100, gate, &s0, 1, &o);
        } else {
            add(w, side, "second", "ref", 0, "", &s0, 1, NULL);
        }
        rc = ray_workflow_run(w, storage, id, &out);
        print_out(mode, rc, &out);
        print_info(storage, id);
        rc = ray_workflow_run(w, storage, id, &out);
        print_out("again", rc, &out);
        ray_workflow_free(w);
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
