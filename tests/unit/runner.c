/*
 * runner.c — runs every registered unit-test suite (fork mode) and exits
 * non-zero if any test failed. `test_unit SUITE...` runs only the named ones.
 */
#include "tests/unit/unit.h"

#include "common/log.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#define UNIT_MAX 64
static struct { const char *name; unit_suite_fn fn; } suites[UNIT_MAX];
static int nsuites;

void unit_register(const char *name, unit_suite_fn fn)
{
    if (nsuites < UNIT_MAX) {
        suites[nsuites].name = name;
        suites[nsuites].fn = fn;
        nsuites++;
    }
}

static pid_t redis_pid = -1;
static char redis_dir[64];

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

int unit_redis_start(const char *password)
{
    int port = free_port();
    if (port < 0)
        return -1;
    snprintf(redis_dir, sizeof redis_dir, "/tmp/ray-unit-redis-XXXXXX");
    if (mkdtemp(redis_dir) == NULL)
        return -1;
    char portstr[16], logfile[128];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(logfile, sizeof logfile, "%s/redis.log", redis_dir); /* not the test's output */
    redis_pid = fork();
    if (redis_pid == 0) {
        if (password)
            execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1",
                   "--dir", redis_dir, "--save", "", "--appendonly", "no", "--logfile", logfile,
                   "--requirepass", password, (char *)NULL);
        else
            execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1",
                   "--dir", redis_dir, "--save", "", "--appendonly", "no", "--logfile", logfile,
                   (char *)NULL);
        _exit(127);
    }
    /* wait until it accepts connections */
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok)
            return port;
        usleep(10000);
    }
    unit_redis_stop();
    return -1;
}

void unit_redis_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = -1;
    }
    if (redis_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", redis_dir);
        if (system(cmd) != 0) { /* best effort */ }
        redis_dir[0] = '\0';
    }
}

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    /* the code under test logs at info ("gcs: connected ..."); show warnings
     * and errors only, unless RAY_UNIT_LOG=debug|info asks for more */
    const char *lv = getenv("RAY_UNIT_LOG");
    log_level_active = lv && strcmp(lv, "debug") == 0  ? LOG_LEVEL_DEBUG
                       : lv && strcmp(lv, "info") == 0 ? LOG_LEVEL_INFO
                                                       : LOG_LEVEL_WARN;
    for (int i = 0; i < nsuites; i++) {
        bool want = argc < 2;
        for (int j = 1; j < argc; j++)
            if (strcmp(argv[j], suites[i].name) == 0 || strstr(suites[i].name, argv[j]))
                want = true;
        if (!want)
            continue;
        if (sr == NULL)
            sr = srunner_create(suites[i].fn());
        else
            srunner_add_suite(sr, suites[i].fn());
    }
    if (sr == NULL) {
        fprintf(stderr, "test_unit: no suite matches\n");
        return 2;
    }
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
