/*
 * restart_driver.c — a standalone driver (links libray) for the restart
 * tests (test_head_restart, test_redis_restart). It connects to one node
 * (ADDRESS, e.g. unix:<session>/sockets/raylet.sock) and runs the
 * functions of build/jobs/job_restart.so:
 *
 *   restart_driver ADDRESS LIBRARY create NAME RESOURCES
 *       a detached actor "keeper" named NAME placed by RESOURCES; one incr
 *   restart_driver ADDRESS LIBRARY loop NAME SECONDS
 *       every 100 ms: NAME.incr() and twice(i), each result checked (the
 *       counter goes up by one per call, twice(i) == 2i); ends with
 *       "summary calls=N tasks=N lost=L bad=B first=F last=V"
 *   restart_driver ADDRESS LIBRARY incr NAME
 *       one NAME.incr(): "value=V"
 *   restart_driver ADDRESS LIBRARY task RESOURCES
 *       twice(21) on a node with RESOURCES: "task=42" (made while the only
 *       such node, the head, is down: it must wait for it, not fail)
 *
 *   restart_driver ADDRESS LIBRARY reconnect NAME RESOURCES
 *       (test_driver_reconnect) NAME.incr(), then four naps of 5 s on a node
 *       with RESOURCES, two returning an int, two a 200 KiB value; prints
 *       "job=J" and "submitted", then gets them (the test kills this
 *       driver's node meanwhile and starts it again), then twice(5) and
 *       NAME.incr() again: "summary naps=N bad=B twice=T before=V0 after=V1"
 *   restart_driver ADDRESS LIBRARY pg NAME FILE RESOURCES
 *       (test_pg_restart) a PACK group NAME of two bundles "CPU=1,RESOURCES";
 *       a task in each bundle; "created"; waits for FILE (the head is
 *       restarted meanwhile); then: the group is found by name, tasks run in
 *       both bundles again, "tasks-after ok"; waits for FILE.rm, removes the
 *       group: "removed", and a task in it is RAY_EPG: "summary pg ok"
 *   restart_driver ADDRESS LIBRARY wait RESOURCES
 *       one nap of 30 s on a node with RESOURCES, got: "wait=OK" or the error
 *
 * Every get has a 60 s bound, so a lost result shows as lost=1, not a hang.
 */
#include <ray.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int incr(ray_actor a, int64_t *out)
{
    ray_ref r;
    ray_value v;
    int rc = ray_actor_call(a, "incr", NULL, 0, NULL, &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 60000, &v);
    if (rc != RAY_OK)
        return rc;
    *out = v.as.i;
    ray_value_release(&v);
    return RAY_OK;
}

static bool exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

static void wait_file(const char *path)
{
    for (int i = 0; i < 1200 && !exists(path); i++) {
        struct timespec pause = { 0, 100 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

/* twice(B * 10 + 1) in bundle B of PG: RAY_OK when right */
static int in_bundle(ray_pg pg, int b)
{
    ray_opts o = RAY_OPTS;
    o.pg = pg;
    o.bundle = b;
    ray_value arg = RAY_I(b * 10 + 1), v;
    ray_ref r;
    int rc = ray_call("twice", &arg, 1, &o, &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 60000, &v);
    if (rc != RAY_OK)
        return rc;
    rc = v.as.i == 2 * (b * 10 + 1) ? RAY_OK : RAY_ETASK;
    ray_value_release(&v);
    return rc;
}

static int pg_mode(const char *name, const char *file, const char *res)
{
    char bundle[256];
    snprintf(bundle, sizeof bundle, "CPU=1,%s", res);
    const char *b[2] = { bundle, bundle };
    ray_pg pg, found;
    int rc;
    if ((rc = ray_pg_create(b, 2, RAY_PACK, name, &pg)) != RAY_OK ||
        (rc = ray_pg_wait(pg, 30000)) != RAY_OK || (rc = in_bundle(pg, 0)) != RAY_OK ||
        (rc = in_bundle(pg, 1)) != RAY_OK) {
        printf("before: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    printf("created\n");
    wait_file(file);
    printf("looking up\n");
    if ((rc = ray_pg_lookup(name, &found)) == RAY_OK)
        printf("found\n");
    if (rc != RAY_OK || (rc = ray_pg_wait(found, 20000)) != RAY_OK) {
        printf("lookup after: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    printf("placed\n");
    if ((rc = in_bundle(found, 0)) != RAY_OK || (rc = in_bundle(found, 1)) != RAY_OK) {
        printf("tasks after: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    printf("tasks-after ok\n");
    char rm[600];
    snprintf(rm, sizeof rm, "%s.rm", file);
    wait_file(rm);
    if ((rc = ray_pg_remove(found)) != RAY_OK) {
        printf("remove: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    printf("removed\n");
    rc = in_bundle(found, 0);
    printf("after remove: %s\n", ray_strerror(rc));
    if (rc != RAY_EPG)
        return 1;
    printf("summary pg ok\n");
    ray_shutdown();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: restart_driver ADDRESS LIBRARY create|loop|incr NAME [ARG]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    ray_config cfg = { .address = argv[1], .library = argv[2] };
    const char *mode = argv[3], *name = argv[4];
    int rc = ray_init(&cfg);
    if (rc != RAY_OK) {
        fprintf(stderr, "restart_driver: ray_init: %s: %s\n", ray_strerror(rc), ray_last_error());
        return 1;
    }
    ray_actor a;
    int64_t v = 0;
    if (strcmp(mode, "create") == 0) {
        ray_opts o = RAY_ACTOR_OPTS;
        o.name = name;
        o.detached = true;
        o.resources = argc > 5 ? argv[5] : NULL;
        if ((rc = ray_actor_create("keeper", NULL, 0, &o, &a)) != RAY_OK ||
            (rc = incr(a, &v)) != RAY_OK) {
            fprintf(stderr, "restart_driver: create: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        printf("created value=%lld\n", (long long)v);
        ray_shutdown();
        return 0;
    }
    if (strcmp(mode, "task") == 0) {
        ray_opts o = RAY_OPTS;
        o.resources = name;
        o.num_cpus = 0;
        ray_value arg = RAY_I(21), tv;
        ray_ref r;
        if ((rc = ray_call("twice", &arg, 1, &o, &r)) != RAY_OK || (rc = ray_get(r, 90000, &tv)) != RAY_OK) {
            fprintf(stderr, "restart_driver: task: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        printf("task=%lld\n", (long long)tv.as.i);
        ray_value_release(&tv);
        ray_shutdown();
        return 0;
    }
    if (strcmp(mode, "pg") == 0 && argc > 6)
        return pg_mode(name, argv[5], argv[6]);
    if (strcmp(mode, "pglookup") == 0) {
        ray_pg pg;
        rc = ray_pg_lookup(name, &pg);
        printf("pglookup %s: %s\n", name, rc == RAY_OK ? "found" : ray_last_error());
        return rc == RAY_OK ? 0 : 1;
    }
    if (strcmp(mode, "wait") == 0) {
        ray_opts o = RAY_OPTS;
        o.resources = name;
        ray_value args[2] = { RAY_I(30000), RAY_I(1) }, tv;
        ray_ref r;
        if ((rc = ray_call("nap", args, 2, &o, &r)) == RAY_OK)
            rc = ray_get(r, 90000, &tv);
        if (rc != RAY_OK) {
            printf("wait: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        printf("wait=OK\n");
        ray_shutdown();
        return 0;
    }
    if ((rc = ray_actor_lookup(name, &a)) != RAY_OK) {
        fprintf(stderr, "restart_driver: lookup %s: %s: %s\n", name, ray_strerror(rc),
                ray_last_error());
        return 1;
    }
    if (strcmp(mode, "reconnect") == 0) {
        int64_t before = 0, after = 0;
        if ((rc = incr(a, &before)) != RAY_OK) {
            fprintf(stderr, "restart_driver: incr: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        ray_opts o = RAY_OPTS;
        o.resources = argc > 5 ? argv[5] : NULL;
        ray_ref naps[4];
        for (int i = 0; i < 4; i++) {
            ray_value args[3] = { RAY_I(5000), RAY_I(i + 1), RAY_I(i < 2 ? 0 : 200 << 10) };
            if ((rc = ray_call("nap", args, 3, &o, &naps[i])) != RAY_OK) {
                fprintf(stderr, "restart_driver: nap: %s: %s\n", ray_strerror(rc), ray_last_error());
                return 1;
            }
        }
        printf("job=%s\nsubmitted\n", ray_job_id());
        long ok = 0, bad = 0;
        for (int i = 0; i < 4; i++) {
            ray_value nv;
            if ((rc = ray_get(naps[i], 60000, &nv)) != RAY_OK) {
                printf("nap %d: %s: %s\n", i + 1, ray_strerror(rc), ray_last_error());
                bad++;
                continue;
            }
            bool good = i < 2 ? nv.type == RAY_INT && nv.as.i == 3 * (i + 1)
                              : nv.type == RAY_BYTES && nv.as.buf.len == (200u << 10) &&
                                    ((const char *)nv.as.buf.ptr)[0] == 'a' + i + 1 &&
                                    ((const char *)nv.as.buf.ptr)[nv.as.buf.len - 1] == 'a' + i + 1;
            printf("nap %d: %s\n", i + 1, good ? "ok" : "wrong value");
            if (good)
                ok++;
            else
                bad++;
            ray_value_release(&nv);
        }
        ray_ref tr;
        ray_value arg = RAY_I(5), tv;
        int64_t tw = -1;
        if ((rc = ray_call("twice", &arg, 1, NULL, &tr)) == RAY_OK && (rc = ray_get(tr, 60000, &tv)) == RAY_OK)
            tw = tv.as.i;
        else
            printf("twice: %s: %s\n", ray_strerror(rc), ray_last_error());
        if ((rc = incr(a, &after)) != RAY_OK)
            printf("incr: %s: %s\n", ray_strerror(rc), ray_last_error());
        printf("summary naps=%ld bad=%ld twice=%lld before=%lld after=%lld\n", ok, bad, (long long)tw,
               (long long)before, (long long)after);
        ray_shutdown();
        return bad ? 1 : 0;
    }
    if (strcmp(mode, "incr") == 0) {
        if ((rc = incr(a, &v)) != RAY_OK) {
            fprintf(stderr, "restart_driver: incr: %s: %s\n", ray_strerror(rc), ray_last_error());
            return 1;
        }
        printf("value=%lld\n", (long long)v);
        ray_shutdown();
        return 0;
    }
    double secs = argc > 5 ? atof(argv[5]) : 10;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long calls = 0, tasks = 0, lost = 0, bad = 0;
    int64_t first = 0, prev = 0;
    for (long i = 1;; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (el >= secs)
            break;
        ray_ref tr;
        ray_value arg = RAY_I(i), tv;
        int trc = ray_call("twice", &arg, 1, NULL, &tr);
        rc = incr(a, &v);
        if (rc != RAY_OK) {
            printf("call %ld: %s: %s\n", i, ray_strerror(rc), ray_last_error());
            lost++;
        } else {
            calls++;
            if (first == 0)
                first = v;
            else if (v != prev + 1) {
                printf("call %ld: counter %lld after %lld\n", i, (long long)v, (long long)prev);
                bad++;
            }
            prev = v;
        }
        if (trc == RAY_OK)
            trc = ray_get(tr, 60000, &tv);
        if (trc != RAY_OK) {
            printf("task %ld: %s: %s\n", i, ray_strerror(trc), ray_last_error());
            lost++;
        } else {
            tasks++;
            if (tv.as.i != 2 * i) {
                printf("task %ld: twice gave %lld\n", i, (long long)tv.as.i);
                bad++;
            }
            ray_value_release(&tv);
        }
        if (i % 10 == 0)
            printf("at %.1f s: call %ld counter %lld\n", el, i, (long long)prev);
        struct timespec pause = { 0, 100 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    printf("summary calls=%ld tasks=%ld lost=%ld bad=%ld first=%lld last=%lld\n", calls, tasks, lost,
           bad, (long long)first, (long long)prev);
    ray_shutdown();
    return lost || bad ? 1 : 0;
}
