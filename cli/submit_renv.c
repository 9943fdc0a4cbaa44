/*
 * submit_renv.c — `ray submit --runtime-env-json JSON --working-dir DIR`:
 * check the runtime_env (an error names the key), pack the working
 * directory with the system's tar (sorted names, zero times and owners, so
 * the same content gives the same hash), refuse one past the size limit,
 * and put both in JOB_SUBMIT's options. The node stores the tar once by its
 * SHA-256 (daemon/runtime_env.c).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/ids.h"
#include "common/proto.h"
#include "common/runtime_env.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKING_DIR_MAX_DEFAULT (100u << 20)

static size_t wd_limit(void)
{
    const char *e = getenv("RAY_WORKING_DIR_MAX_BYTES");
    char *end;
    unsigned long long v = e ? strtoull(e, &end, 10) : 0;
    return e && *end == '\0' && v > 0 ? (size_t)v : WORKING_DIR_MAX_DEFAULT;
}

/* tar DIR into OUT; -1 with ERR (too big, tar failed). */
static int pack(const char *dir, struct buf *out, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) < 0) {
        snprintf(err, errlen, "working_dir: pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "working_dir: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("tar", "tar", "-cf", "-", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
               "--numeric-owner", "-C", dir, ".", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t limit = wd_limit();
    char chunk[65536];
    bool big = false;
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out->len + (size_t)n > limit) {
            big = true;
            break;
        }
        buf_append(out, chunk, (size_t)n);
    }
    close(fds[0]);
    if (big)
        kill(pid, 9);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (big) {
        snprintf(err, errlen, "runtime_env.working_dir: %s packs to more than the %zu-byte limit "
                 "(RAY_WORKING_DIR_MAX_BYTES)", dir, limit);
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, errlen, "runtime_env.working_dir: tar could not pack %s", dir);
        return -1;
    }
    return 0;
}

int cli_submit_renv(const char *json, const char *wdir, struct buf *opts, int *npairs, char *err,
                    size_t errlen)
{
    struct renv e = RENV_INIT;
    char why[300];
    *npairs = 0;
    if (json == NULL && wdir == NULL)
        return 0;
    if (json && renv_parse(json, strlen(json), 0, &e, why, sizeof why) != RENV_OK) {
        snprintf(err, errlen, "--runtime-env-json: %s", why);
        return -1;
    }
    const char *dir = wdir ? wdir : e.working_dir;
    struct buf tar = BUF_INIT;
    int rc = -1;
    if (dir) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: '%s' is not a directory",
                     wdir ? "--working-dir" : "runtime_env.working_dir", dir);
            goto out;
        }
        if (pack(dir, &tar, err, errlen) < 0)
            goto out;
        uint8_t digest[SHA256_SIZE];
        char hex[2 * SHA256_SIZE + 1];
        sha256(tar.data ? tar.data : "", tar.len, digest);
        ids_hex(digest, sizeof digest, hex);
        free(e.working_dir);
        e.working_dir = NULL;
        free(e.working_dir_hash);
        e.working_dir_hash = strdup(hex);
    }
    char *canon = renv_canonical(&e);
    if (canon == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    mpw_cstr(opts, "runtime_env");
    mpw_cstr(opts, canon);
    *npairs = 1;
    free(canon);
    if (dir) {
        mpw_cstr(opts, "working_dir");
        mpw_bin(opts, tar.data ? tar.data : "", tar.len);
        *npairs = 2;
    }
    rc = 0;
out:
    buf_free(&tar);
    renv_free(&e);
    return rc;
}
