/*
 * submit_renv.c — `ray submit --runtime-env-json JSON --working-dir DIR`:
 * check the runtime_env (an error names the key), pack the working
 * directory (renv_pack_dir: the system's tar, a size limit), and put both in
 * JOB_SUBMIT's options. The node stores the tar once by its
 * SHA-256 (runtime/runtime_env.c).
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
    void *tar = NULL;
    size_t tarlen = 0;
    int rc = -1;
    if (dir) {
        char hex[65];
        if (renv_pack_dir(dir, &tar, &tarlen, hex, err, errlen) != RENV_OK) {
            if (wdir && strstr(err, "is not a directory"))
                snprintf(err, errlen, "--working-dir: '%s' is not a directory", dir);
            goto out;
        }
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
        mpw_bin(opts, tar ? tar : "", tarlen);
        *npairs = 2;
    }
    rc = 0;
out:
    free(tar);
    renv_free(&e);
    return rc;
}
