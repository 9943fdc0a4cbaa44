/*
 * session.c — session directories, pid files and node.info (see
 * session.h).
 */
#include "session/session.h"

#include "common/ids.h"
#include "common/token.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int session_mkdirs(const char *path, int mode)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

char *session_create(const char *temp_dir, char *err, size_t errlen)
{
    if (session_mkdirs(temp_dir, 0755) < 0) {
        snprintf(err, errlen, "cannot create temp dir %s: %s", temp_dir, strerror(errno));
        return NULL;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y-%m-%d_%H-%M-%S", &tm);
    char *dir = xasprintf("%s/session_%s_%06ld_%d", temp_dir, stamp, (long)tv.tv_usec,
                          (int)getpid());
    static const struct { const char *sub; int mode; } subs[] = {
        { "", 0700 }, { "/logs", 0700 }, { "/sockets", 0700 }, { "/jobs", 0700 },
        { "/spill", 0700 }, { "/redis", 0700 },
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", dir, subs[i].sub);
        if (mkdir(path, (mode_t)subs[i].mode) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            free(dir);
            return NULL;
        }
        chmod(path, (mode_t)subs[i].mode);
    }
    return dir;
}

void session_token_new(char *out)
{
    uint8_t raw[32];
    ids_random(raw, sizeof raw);
    ids_hex(raw, sizeof raw, out);
}

int session_publish(const char *temp_dir, const char *session_dir, const char *gcs_address)
{
    int rc = 0;
    char text[600];
    snprintf(text, sizeof text, "%s\n", gcs_address);
    if (session_file_write(temp_dir, "ray_current_cluster", text, 0644) < 0)
        rc = -1;
    char link[4096], tmplink[4096];
    snprintf(link, sizeof link, "%s/session_latest", temp_dir);
    snprintf(tmplink, sizeof tmplink, "%s/.session_latest.%d", temp_dir, (int)getpid());
    unlink(tmplink);
    const char *slash = strrchr(session_dir, '/');
    const char *base = slash ? slash + 1 : session_dir;
    if (symlink(base, tmplink) < 0 || rename(tmplink, link) < 0) {
        unlink(tmplink);
        rc = -1;
    }
    return rc;
}

int session_current_cluster(const char *temp_dir, char *out, size_t outlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ray_current_cluster", temp_dir ? temp_dir : "/tmp/ray");
    return token_read(path, out, outlen);
}

int session_file_write(const char *dir, const char *name, const char *text, int mode)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    return rename(tmp, path);
}

int session_pidfile_write(const char *dir, const char *name, pid_t pid)
{
    char text[32];
    snprintf(text, sizeof text, "%d\n", (int)pid);
    return session_file_write(dir, name, text, 0600);
}

pid_t session_pidfile_read(const char *dir, const char *name)
{
    char path[4096], line[32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    pid_t pid = -1;
    if (fgets(line, sizeof line, fp))
        pid = (pid_t)atoi(line);
    fclose(fp);
    return pid > 0 ? pid : -1;
}

int session_info_get(const char *dir, const char *key, char *out, size_t outlen)
{
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/node.info", dir);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    size_t kl = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(out, outlen, "%s", line + kl + 1);
            rc = 0;
            break;
        }
    }
    fclose(fp);
    return rc;
}

int session_foreach(const char *temp_dir, void (*fn)(const char *path, void *arg), void *arg)
{
    DIR *d = opendir(temp_dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "session_", 8) != 0 || strcmp(de->d_name, "session_latest") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", temp_dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        fn(path, arg);
        n++;
    }
    closedir(d);
    return n;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(path) < 0 && errno != ENOENT ? 0 : 0;
    unlink(path);
    return 0;
}

int session_remove_tree(const char *path)
{
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char self_exe[4096];

void session_set_self_exe(const char *path)
{
    snprintf(self_exe, sizeof self_exe, "%s", path);
}

const char *session_self_exe(void)
{
    char *path = self_exe;
    if (path[0] == '\0') {
        ssize_t n = readlink("/proc/self/exe", path, sizeof self_exe - 1);
        if (n <= 0)
            snprintf(path, sizeof self_exe, "/proc/self/exe");
        else
            path[n] = '\0';
    }
    return path;
}

bool session_pid_is(pid_t pid, const char *what)
{
    if (pid <= 0 || kill(pid, 0) < 0)
        return false;
    char path[64], cmd[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return false;
    size_t len = fread(cmd, 1, sizeof cmd - 1, fp);
    fclose(fp);
    for (size_t i = 0; i < len; i++)
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    cmd[len] = '\0';
    /* a zombie has an empty cmdline: count it as gone */
    return len > 0 && strstr(cmd, what) != NULL;
}

struct head_find {
    const char *host;
    int port;
    char best[4096];
};

/* One candidate DIR for session_find_head: keep the newest that fits. */
static void head_find_one(const char *dir, void *arg)
{
    struct head_find *hf = arg;
    char v[512];
    if (session_info_get(dir, "is_head", v, sizeof v) < 0 || strcmp(v, "1") != 0)
        return;
    if (session_info_get(dir, "gcs_address", v, sizeof v) < 0)
        return;
    char *colon = strrchr(v, ':');
    if (colon == NULL || atoi(colon + 1) != hf->port)
        return;
    *colon = '\0';
    if (hf->host && *hf->host && strcmp(hf->host, v) != 0)
        return;
    /* a head that stopped (ray stop, SIGTERM) removed its rayd.pid: only one
     * that died (kill -9, a crash, the machine) is resumed */
    pid_t rayd = session_pidfile_read(dir, "rayd.pid");
    if (rayd <= 0)
        return;
    /* one killed a moment ago may still be exiting: give it a second */
    for (int i = 0; i < 100 && session_pid_is(rayd, "rayd"); i++)
        usleep(10000);
    if (session_pid_is(rayd, "rayd"))
        return;
    char tok[4200];
    snprintf(tok, sizeof tok, "%s/auth_token", dir);
    if (access(tok, R_OK) != 0)
        return;
    /* names carry their start time: the greatest is the newest */
    const char *a = strrchr(dir, '/'), *b = strrchr(hf->best, '/');
    if (hf->best[0] == '\0' || strcmp(a ? a : dir, b ? b : hf->best) > 0)
        snprintf(hf->best, sizeof hf->best, "%s", dir);
}

int session_find_head(const char *temp_dir, const char *host, int port, char *out, size_t outlen)
{
    struct head_find hf = { .host = host, .port = port };
    session_foreach(temp_dir, head_find_one, &hf);
    if (hf.best[0] == '\0')
        return -1;
    snprintf(out, outlen, "%s", hf.best);
    return 0;
}
