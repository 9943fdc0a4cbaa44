/*
 * redis_launch.c — start and stop the head's own redis-server (see
 * redis_launch.h). Runs before the event loop starts, so it may block.
 */
#include "daemon/redis_launch.h"

#include "common/netutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int redis_find_binary(const char *binary, char *out, size_t outlen)
{
    if (strchr(binary, '/')) {
        if (access(binary, X_OK) == 0) {
            snprintf(out, outlen, "%s", binary);
            return 0;
        }
        return -1;
    }
    const char *path = getenv("PATH");
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, outlen, "%s/%s", dir, binary);
        if (access(out, X_OK) == 0)
            return 0;
    }
    /* Debian installs it in /usr/bin; sbin paths may be missing from PATH */
    snprintf(out, outlen, "/usr/bin/%s", binary);
    return access(out, X_OK) == 0 ? 0 : -1;
}

static void last_log_line(const char *path, char *out, size_t outlen)
{
    out[0] = '\0';
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            snprintf(out, outlen, "%.*s", (int)(outlen > 0 ? outlen - 1 : 0), line);
    }
    fclose(fp);
}

/* fork and exec RL's binary on RL's config; the child's pid in RL. */
int redis_launch_respawn(struct redis_launch *rl, char *err, size_t errlen)
{
    const char *bin = rl->bin, *conf = rl->conf;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* redis dies with its head: SIGTERM (a clean shutdown, the AOF
         * flushed) when the thread that started it exits, however it exits;
         * if the head is already gone, do not start at all */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
            _exit(127);
        /* redis must not inherit the daemon's sockets; stdio to /dev/null */
#ifdef SYS_close_range
        if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
#endif
            for (int fd = 3; fd < 65536; fd++)
                close(fd);
        freopen("/dev/null", "r", stdin);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        signal(SIGPIPE, SIG_DFL);
        umask(077); /* its AOF and log are the session's: private */
        execl(bin, bin, conf, (char *)NULL);
        _exit(127);
    }
    rl->pid = pid;
    rl->started_ms = net_now_ms();
    return 0;
}

int redis_launch_reap(struct redis_launch *rl, int *status)
{
    if (rl->pid <= 0)
        return -1;
    pid_t r = waitpid(rl->pid, status, WNOHANG);
    if (r == rl->pid || (r < 0 && errno == ECHILD)) {
        rl->pid = -1;
        return 1;
    }
    return 0;
}

int redis_launch_start(struct redis_launch *rl, const char *binary, const char *ip, int port,
                       const char *password, const char *session_dir, char *err, size_t errlen)
{
    char bin[4096];
    memset(rl, 0, sizeof *rl);
    rl->pid = -1;
    if (redis_find_binary(binary, bin, sizeof bin) < 0) {
        snprintf(err, errlen,
                 "%s not found: install redis-server (apt-get install redis-server) or use "
                 "--gcs-address redis://HOST:PORT",
                 binary);
        return -1;
    }
    if (!net_port_is_free(ip, port)) {
        snprintf(err, errlen, "GCS port %d on %s is in use (another cluster? try --port)", port, ip);
        return -1;
    }
    char conf[4096], logpath[4096], datadir[4096];
    snprintf(datadir, sizeof datadir, "%s/redis", session_dir);
    snprintf(conf, sizeof conf, "%s/redis/redis.conf", session_dir);
    snprintf(logpath, sizeof logpath, "%s/logs/redis.log", session_dir);
    FILE *fp = fopen(conf, "w");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", conf, strerror(errno));
        return -1;
    }
    fchmod(fileno(fp), 0600);
    fprintf(fp,
            "# written by rayd for this session's GCS\n"
            "bind %s\nport %d\nrequirepass %s\ndir %s\nlogfile %s\n"
            "appendonly yes\nappendfsync everysec\nsave \"\"\ndaemonize no\n"
            "protected-mode yes\ntcp-backlog 511\ntimeout 0\nmaxclients 10000\n"
            "databases 1\nlatency-tracking no\n",
            ip, port, password, datadir, logpath);
    fclose(fp);
    /* redis-server appends to its log: made here, it is 0600 whatever the umask */
    int lfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (lfd >= 0) {
        fchmod(lfd, 0600);
        close(lfd);
    }

    snprintf(rl->bin, sizeof rl->bin, "%s", bin);
    snprintf(rl->conf, sizeof rl->conf, "%s", conf);
    if (redis_launch_respawn(rl, err, errlen) < 0)
        return -1;
    pid_t pid = rl->pid;
    rl->port = port;
    snprintf(rl->ip, sizeof rl->ip, "%s", ip);
    for (int i = 0; i < 1000; i++) {
        char cerr[256];
        int fd = net_connect_tcp(ip, port, 100, cerr, sizeof cerr);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char last[400];
            last_log_line(logpath, last, sizeof last);
            snprintf(err, errlen, "redis-server exited at start-up: %s",
                     last[0] ? last : "see logs/redis.log");
            rl->pid = -1;
            return -1;
        }
        usleep(i < 100 ? 2000 : 10000);
    }
    snprintf(err, errlen, "redis-server did not answer on %s:%d within 10 s", ip, port);
    redis_launch_stop(rl);
    return -1;
}

void redis_launch_stop(struct redis_launch *rl)
{
    if (rl->pid <= 0)
        return;
    kill(rl->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(rl->pid, NULL, WNOHANG) == rl->pid) {
            rl->pid = -1;
            return;
        }
        usleep(10000);
    }
    kill(rl->pid, SIGKILL);
    waitpid(rl->pid, NULL, 0);
    rl->pid = -1;
}
