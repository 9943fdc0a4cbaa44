/*
 * stop.c — `ray stop [--force] [--temp-dir DIR]`: stop every node whose
 * session lives under DIR (default /tmp/ray): SIGTERM to each rayd (which
 * ends its workers and its Redis, and marks itself dead in the GCS), SIGKILL
 * after a grace period or at once with --force, then sweep what a killed
 * node could leave: its process group (workers, redis-server), its shared
 * memory segment and its sockets.
 */
#include "cli/cli.h"

#include "common/netutil.h"
#include "session/session.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STOP_GRACE_MS 10000

struct stop_ctx {
    bool force;
    int stopped;
};


static void wait_gone(pid_t pid, const char *what, int ms)
{
    long long end = net_now_ms() + ms;
    while (session_pid_is(pid, what) && net_now_ms() < end)
        usleep(10000);
}

static void stop_session(const char *dir, void *arg)
{
    struct stop_ctx *ctx = arg;
    pid_t rayd = session_pidfile_read(dir, "rayd.pid");
    pid_t redis = session_pidfile_read(dir, "redis.pid");
    bool had = false;
    if (session_pid_is(rayd, "rayd")) {
        had = true;
        kill(rayd, ctx->force ? SIGKILL : SIGTERM);
        wait_gone(rayd, "rayd", ctx->force ? 2000 : STOP_GRACE_MS);
        if (session_pid_is(rayd, "rayd")) {
            kill(rayd, SIGKILL);
            wait_gone(rayd, "rayd", 2000);
        }
        /* whatever the node started lives in its process group */
        if (getpgid(rayd) < 0 || getpgid(rayd) == rayd)
            kill(-rayd, SIGKILL);
    }
    if (session_pid_is(redis, "redis")) {
        had = true;
        kill(redis, ctx->force ? SIGKILL : SIGTERM);
        wait_gone(redis, "redis", 5000);
        if (session_pid_is(redis, "redis"))
            kill(redis, SIGKILL);
    }
    /* sweep: shared memory, sockets, pid files */
    char store[256];
    if (session_info_get(dir, "store", store, sizeof store) == 0 && store[0] == '/')
        shm_unlink(store);
    char path[4096];
    snprintf(path, sizeof path, "%s/sockets/raylet.sock", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/rayd.pid", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/redis.pid", dir);
    unlink(path);
    if (had)
        ctx->stopped++;
}

int cli_stop(int argc, char **argv)
{
    struct stop_ctx ctx = { 0 };
    struct cli_target tg = { 0 };
    for (int i = 1; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) {
            ctx.force = true;
        } else if ((r = cli_target_option("stop", &tg, argc, argv, &i)) != 0) {
            if (r < 0)
                return 2;
            if (tg.address)
                return cli_error("stop", "--address: ray stop stops this machine's nodes; "
                                         "choose them with --temp-dir");
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: ray stop [--force] [--temp-dir DIR]\n\n"
                   "Stop the nodes whose sessions are under DIR (default /tmp/ray), with their\n"
                   "workers and Redis.\n\n"
                   "Options:\n"
                   "  --force, -f          SIGKILL at once instead of SIGTERM and a grace period\n"
                   "  --temp-dir DIR       where this machine's sessions are [default /tmp/ray]\n"
                   "  --token SECRET       accepted like everywhere else; stopping local\n"
                   "                       processes needs no token\n");
            return 0;
        } else {
            return cli_error("stop", "unknown option %s (see ray stop --help)", argv[i]);
        }
    }
    const char *temp_dir = tg.temp_dir && *tg.temp_dir ? tg.temp_dir : "/tmp/ray";
    session_foreach(temp_dir, stop_session, &ctx);
    char path[4096];
    snprintf(path, sizeof path, "%s/ray_current_cluster", temp_dir);
    unlink(path);
    if (ctx.stopped == 0)
        printf("Did not find any active Ray processes.\n");
    else
        printf("Stopped all %d Ray node(s).\n", ctx.stopped);
    return 0;
}
