/*
 * job_observe.c — what test_observe.sh looks at with ray logs, ray timeline,
 * ray memory and ray status -v:
 *
 *   print            a task prints known lines on stdout and stderr; prints
 *                    "task <TASK_ID>"; an actor prints too ("actor <ID>")
 *   follow FILE      a task prints "early line", waits for FILE, prints
 *                    "late line"; the driver prints "task <TASK_ID>" first
 *   hold FILE        ray_put of 1 MiB ("put <OBJECT_ID>") and a task that runs
 *                    (slow_task) until FILE exists
 *   remote           a task on the node with resource "side" prints a line
 *   many N           N small tasks, ray_wait, ray_get_all, a ray_put, a chain
 */
#include <ray.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex(const uint8_t *id, int index0, char *out)
{
    for (int i = 0; i < RAY_ID_SIZE; i++)
        sprintf(out + 2 * i, "%02x", (index0 && i >= 16) ? 0 : id[i]);
}

static int wait_file(const char *path, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (access(path, F_OK) == 0)
            return 0;
        usleep(50000);
    }
    return -1;
}

static int talker(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    for (int i = 1; i <= 5; i++)
        printf("talker out line %d\n", i);
    fprintf(stderr, "talker err line\n");
    return ray_return(t, RAY_I(1));
}
RAY_REMOTE(talker);

static int side(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    printf("side task line on %s\n", ray_node_id());
    return ray_return(t, RAY_I(5));
}
RAY_REMOTE(side);

static int quiet(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(2));
}
RAY_REMOTE(quiet);

static int late(ray_task *t, const ray_value *args, size_t nargs)
{
    printf("early line\n");
    fflush(stdout);
    wait_file(nargs ? (const char *)args[0].as.buf.ptr : "", 30);
    printf("late line\n");
    return ray_return(t, RAY_I(3));
}
RAY_REMOTE(late);

static int slow_task(ray_task *t, const ray_value *args, size_t nargs)
{
    wait_file(nargs ? (const char *)args[0].as.buf.ptr : "", 60);
    return ray_return(t, RAY_I(4));
}
RAY_REMOTE(slow_task);

static int tiny(ray_task *t, const ray_value *args, size_t nargs)
{
    return ray_return(t, RAY_I(nargs ? args[0].as.i + 1 : 0));
}
RAY_REMOTE(tiny);

struct Parrot { int n; };
static void *Parrot_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    return calloc(1, sizeof(struct Parrot));
}
static void Parrot_free(void *self) { free(self); }
RAY_ACTOR(Parrot);
static int Parrot_speak(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    struct Parrot *p = self;
    printf("parrot says %d\n", ++p->n);
    return ray_return(t, RAY_I(p->n));
}
RAY_METHOD(Parrot, speak);

int ray_main(int argc, char **argv)
{
    const char *sc = argc > 1 ? argv[1] : "";
    char h[2 * RAY_ID_SIZE + 1];
    ray_ref r;
    ray_value v;
    if (strcmp(sc, "print") == 0) {
        if (ray_call("talker", NULL, 0, NULL, &r) != RAY_OK || ray_get(r, 30000, &v) != RAY_OK)
            return 1;
        hex(r.id, 1, h);
        printf("task %s\n", h);
        if (ray_call("quiet", NULL, 0, NULL, &r) != RAY_OK || ray_get(r, 30000, &v) != RAY_OK)
            return 1;
        hex(r.id, 1, h);
        printf("quiet %s\n", h);
        fprintf(stderr, "driver err line\n");
        ray_actor a;
        ray_opts o = RAY_ACTOR_OPTS;
        if (ray_actor_create("Parrot", NULL, 0, &o, &a) != RAY_OK)
            return 1;
        for (int i = 0; i < 3; i++)
            if (ray_actor_call(a, "speak", NULL, 0, NULL, &r) != RAY_OK ||
                ray_get(r, 30000, &v) != RAY_OK)
                return 1;
        hex(a.id, 0, h);
        printf("actor %s\n", h);
        fflush(stdout);
        /* keep the actor alive while the test looks */
        wait_file(argc > 2 ? argv[2] : "", 60);
        return 0;
    }
    if (strcmp(sc, "remote") == 0) {
        /* a task on the node with resource "side", and a few tiny ones there */
        ray_opts o = RAY_OPTS;
        o.resources = "side=1";
        if (ray_call("side", NULL, 0, &o, &r) != RAY_OK || ray_get(r, 30000, &v) != RAY_OK)
            return 1;
        hex(r.id, 1, h);
        printf("task %s\n", h);
        for (int i = 0; i < 20; i++) {
            ray_value a = RAY_I(i);
            if (ray_call("tiny", &a, 1, &o, &r) != RAY_OK || ray_get(r, 30000, &v) != RAY_OK)
                return 1;
        }
        return 0;
    }
    if (strcmp(sc, "follow") == 0) {
        ray_value f = RAY_S(argc > 2 ? argv[2] : "");
        if (ray_call("late", &f, 1, NULL, &r) != RAY_OK)
            return 1;
        hex(r.id, 1, h);
        printf("task %s\n", h);
        fflush(stdout);
        return ray_get(r, 60000, &v) == RAY_OK ? 0 : 1;
    }
    if (strcmp(sc, "hold") == 0) {
        size_t len = 1 << 20;
        char *buf = malloc(len);
        memset(buf, 'x', len);
        ray_ref p;
        if (ray_put(RAY_BYTES_V(buf, len), &p) != RAY_OK)
            return 1;
        hex(p.id, 0, h);
        printf("put %s\n", h);
        ray_value f = RAY_S(argc > 2 ? argv[2] : "");
        if (ray_call("slow_task", &f, 1, NULL, &r) != RAY_OK)
            return 1;
        fflush(stdout);
        int rc = ray_get(r, 90000, &v) == RAY_OK ? 0 : 1;
        free(buf);
        return rc;
    }
    if (strcmp(sc, "many") == 0) {
        int n = argc > 2 ? atoi(argv[2]) : 1000;
        ray_ref *refs = calloc((size_t)n, sizeof *refs);
        for (int i = 0; i < n; i++) {
            ray_value a = RAY_I(i);
            if (ray_call("tiny", &a, 1, NULL, &refs[i]) != RAY_OK)
                return 1;
        }
        ray_value *vals = calloc((size_t)n, sizeof *vals);
        bool *ready = calloc((size_t)n, sizeof *ready);
        if (ray_wait(refs, (size_t)n, (size_t)n, 120000, ready) < 0)
            return 1;
        if (ray_get_all(refs, (size_t)n, 120000, vals) != RAY_OK)
            return 1;
        ray_ref p;
        if (ray_put(RAY_I(7), &p) != RAY_OK)
            return 1;
        /* a chain: each waits at its node for the one before (fetch arguments) */
        ray_ref prev = refs[0];
        for (int i = 0; i < 20; i++) {
            ray_value a = RAY_R(prev);
            if (ray_call("tiny", &a, 1, NULL, &prev) != RAY_OK)
                return 1;
        }
        if (ray_get(prev, 60000, &vals[0]) != RAY_OK)
            return 1;
        printf("ran %d tasks\n", n);
        return 0;
    }
    fprintf(stderr, "unknown scenario '%s'\n", sc);
    return 2;
}
