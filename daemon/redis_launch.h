/*
 * redis_launch.h — the head's embedded Redis: write its config into the
 * session directory, start redis-server, wait until it answers, stop it.
 */
#ifndef RAY_REDIS_LAUNCH_H
#define RAY_REDIS_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

struct redis_launch {
    pid_t pid;
    int port;
    char ip[64];
    char bin[4096];        /* the redis-server binary and the config it runs with, */
    char conf[4096];       /* kept to restart it the same way (redis_launch_respawn) */
    long long started_ms;  /* monotonic time of its last start */
};

/* Find BINARY in $PATH (or as a path). Returns 0 and the full path in OUT, or -1. */
int redis_find_binary(const char *binary, char *out, size_t outlen);
/*
 * Start BINARY (redis-server) bound to IP:PORT with PASSWORD, appendonly on,
 * data and redis.conf under SESSION_DIR/redis, log in SESSION_DIR/logs/redis.log.
 * Blocks (start-up only) until it accepts connections, up to 10 s.
 * Returns 0 and fills RL, or -1 with a one-line reason in err (binary
 * missing, port in use, it exited: with the last line of its log).
 */
int redis_launch_start(struct redis_launch *rl, const char *binary, const char *ip, int port,
                       const char *password, const char *session_dir, char *err, size_t errlen);
/* SIGTERM it (Redis flushes its append-only file) and wait up to 5 s, then SIGKILL. */
void redis_launch_stop(struct redis_launch *rl);
/* Never blocks: has the redis-server of RL exited? Returns 1 (reaped: RL's
 * pid is -1 now, its wait status in *STATUS), 0 if it runs, -1 if RL has
 * none. */
int redis_launch_reap(struct redis_launch *rl, int *status);
/* Start redis-server again with the binary and config of the last
 * redis_launch_start (its append-only file in the same folder brings the
 * data back). Never blocks: returns 0 once it is forked (it may still fail
 * to come up: redis_launch_reap tells), or -1 with err. */
int redis_launch_respawn(struct redis_launch *rl, char *err, size_t errlen);

#endif
