/*
 * job_actor_once.c — at-most-once actor calls under worker kills, for
 * test_actor_once.sh (SPEC section 7: the call that was running fails at
 * most once; queued calls run once on the restarted actor, in order).
 *
 *   ray submit job_actor_once.so -- LOG PIDFILE N
 *
 * A "logger" actor (max_restarts -1) appends the number of each call to LOG
 * as it runs it, and writes its pid to PIDFILE when it is constructed (the
 * test kills that pid meanwhile). The driver makes N calls in a burst, then
 * checks that no number ran twice, that the numbers ran in the order made,
 * and that every call that succeeded ran. Prints "N calls: K ok, F failed,
 * no call ran twice".
 */
#include <ray.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct logger {
    int fd;
};

static void *logger_new(ray_task *t, const ray_value *args, size_t nargs)
{
    if (nargs != 2 || args[0].type != RAY_STR || args[1].type != RAY_STR) {
        ray_fail(t, "logger wants LOG and PIDFILE");
        return NULL;
    }
    struct logger *l = calloc(1, sizeof *l);
    l->fd = open(args[0].as.buf.ptr, O_WRONLY | O_CREAT | O_APPEND, 0600);
    char tmp[4200], pid[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", (const char *)args[1].as.buf.ptr);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (fd < 0 || l->fd < 0 || write(fd, pid, (size_t)n) != n || close(fd) < 0 ||
        rename(tmp, args[1].as.buf.ptr) < 0) {
        ray_fail(t, "logger: cannot open its files");
        return NULL;
    }
    return l;
}
static void logger_free(void *self)
{
    struct logger *l = self;
    close(l->fd);
    free(l);
}
RAY_ACTOR(logger);

static int logger_log(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct logger *l = self;
    if (nargs != 1 || args[0].type != RAY_INT)
        return ray_fail(t, "log wants an int");
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)args[0].as.i);
    if (write(l->fd, line, (size_t)n) != n)
        return ray_fail(t, "log: write failed");
    usleep(100);
    return ray_return(t, args[0]);
}
RAY_METHOD(logger, log);

int ray_main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int n = atoi(argv[3]);
    ray_opts o = RAY_ACTOR_OPTS;
    o.max_restarts = -1;
    ray_actor a;
    ray_value cargs[2] = { RAY_S(argv[1]), RAY_S(argv[2]) };
    if (ray_actor_create("logger", cargs, 2, &o, &a) != RAY_OK)
        return 1;
    ray_ref *r = calloc((size_t)n, sizeof *r);
    for (int i = 0; i < n; i++) {
        ray_value v = RAY_I(i);
        if (ray_actor_call(a, "log", &v, 1, NULL, &r[i]) != RAY_OK)
            return 1;
    }
    int okn = 0, failed = 0;
    char *ran_ok = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) {
        ray_value v;
        int rc = ray_get(r[i], 120000, &v);
        if (rc == RAY_OK && v.as.i == i) {
            okn++;
            ran_ok[i] = 1;
        } else if (rc == RAY_EACTOR) {
            failed++;
        } else {
            fprintf(stderr, "call %d: unexpected %d: %s\n", i, rc, ray_last_error());
            return 1;
        }
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL)
        return 1;
    int *seen = calloc((size_t)n, sizeof *seen);
    int last = -1, x, bad = 0;
    while (fscanf(f, "%d", &x) == 1) {
        if (x < 0 || x >= n) {
            fprintf(stderr, "the log holds %d\n", x);
            bad = 1;
            continue;
        }
        if (++seen[x] == 2) {
            fprintf(stderr, "call %d ran twice\n", x);
            bad = 1;
        }
        if (x <= last) {
            fprintf(stderr, "call %d ran after call %d\n", x, last);
            bad = 1;
        }
        last = x;
    }
    fclose(f);
    for (int i = 0; i < n; i++)
        if (ran_ok[i] && seen[i] != 1) {
            fprintf(stderr, "call %d succeeded but ran %d times\n", i, seen[i]);
            bad = 1;
        }
    printf("%d calls: %d ok, %d failed, no call ran twice%s\n", n, okn, failed,
           bad ? " -- NOT TRUE" : "");
    return bad;
}
