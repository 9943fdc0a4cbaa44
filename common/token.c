/*
 * token.c — cluster token files and the lookup order (see token.h).
 */
#include "common/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int token_read(const char *path, char *out, size_t outlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    if (fgets(out, (int)outlen, fp) == NULL) {
        fclose(fp);
        out[0] = '\0';
        return -1;
    }
    fclose(fp);
    size_t n = strcspn(out, "\r\n");
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* mkdir -p of PATH's parent folders, mode 0700 for new ones. */
static int token_mkparents(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

int token_write(const char *path, const char *token)
{
    if (token_mkparents(path) < 0)
        return -1;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t n = strlen(token);
    int bad = write(fd, token, n) != (ssize_t)n || write(fd, "\n", 1) != 1;
    if (close(fd) < 0)
        bad = 1;
    if (bad || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

static const char *token_home(void)
{
    const char *home = getenv("HOME");
    return home && *home ? home : "/root";
}

void token_home_path(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/.ray/auth_token", token_home());
}

void token_cluster_path(const char *host, int port, char *out, size_t outlen)
{
    char safe[256];
    size_t i = 0;
    for (; host && host[i] && i + 1 < sizeof safe; i++) {
        char c = host[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-';
        safe[i] = ok ? c : '_';
    }
    safe[i] = '\0';
    snprintf(out, outlen, "%s/.ray/tokens/%s_%d", token_home(), safe, port);
}

int token_find(const struct token_where *w, char *out, size_t outlen)
{
    static const struct token_where none;
    char path[4200];
    if (w == NULL)
        w = &none;
    const char *env = getenv("RAY_TOKEN");
    if (w->given && *w->given) {
        snprintf(out, outlen, "%s", w->given);
        return 0;
    }
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return 0;
    }
    if (w->session_dir && *w->session_dir) {
        snprintf(path, sizeof path, "%s/auth_token", w->session_dir);
        if (token_read(path, out, outlen) == 0)
            return 0;
    }
    if (w->host && *w->host && w->port > 0) {
        token_cluster_path(w->host, w->port, path, sizeof path);
        if (token_read(path, out, outlen) == 0)
            return 0;
    }
    token_home_path(path, sizeof path);
    if (token_read(path, out, outlen) == 0)
        return 0;
    if (w->fallback_dir && *w->fallback_dir) {
        snprintf(path, sizeof path, "%s/auth_token", w->fallback_dir);
        if (token_read(path, out, outlen) == 0)
            return 0;
    }
    out[0] = '\0';
    return -1;
}
