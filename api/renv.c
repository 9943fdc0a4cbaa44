/*
 * renv.c — runtime environments on the client side (docs/api.md "Runtime
 * environments"): the job's environment (ray_config.runtime_env, or
 * $RAY_RUNTIME_ENV that the node gives the driver and workers of a job),
 * each call's runtime_env merged over it variable by variable into the
 * canonical JSON that travels in the call's spec, and, in a worker or a
 * submitted driver, entering the environment before the job library loads:
 * the node already put env_vars in the process environment; the working
 * directory is unpacked here once per node (the first process to need it
 * extracts the node's copy of the packed directory into a temporary folder
 * and renames it into place, so others either see all of it or none) and
 * becomes the current directory.
 */
#include "api/api_internal.h"

#include "common/runtime_env.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static struct renv job_env = RENV_INIT;
static bool job_loaded;
static char *job_canon; /* canonical job_env, or NULL until made */
static void *up_tar;    /* ray_config's working_dir, packed, until uploaded */
static size_t up_len;
static char up_hash[65];
static __thread char *call_buf;

static void job_load_locked(void)
{
    if (job_loaded)
        return;
    job_loaded = true;
    const char *e = getenv("RAY_RUNTIME_ENV");
    if (e && e[0] && renv_parse(e, strlen(e), RENV_INTERNAL, &job_env, NULL, 0) != RENV_OK)
        renv_free(&job_env);
}

int api_renv_set_job_(const char *json)
{
    struct renv e = RENV_INIT;
    char err[300];
    int rc = renv_parse(json, strlen(json), 0, &e, err, sizeof err);
    if (rc == RENV_ENOMEM)
        return api_error_(RAY_ENOMEM, "runtime_env: out of memory");
    if (rc != RENV_OK)
        return api_error_(RAY_EINVAL, "%s", err);
    if (e.working_dir) {
        /* packed now (nothing runs if it cannot be), uploaded once connected */
        void *tar;
        size_t len;
        char hash[65];
        rc = renv_pack_dir(e.working_dir, &tar, &len, hash, err, sizeof err);
        if (rc != RENV_OK) {
            renv_free(&e);
            return api_error_(rc == RENV_ENOMEM ? RAY_ENOMEM : RAY_EINVAL, "%s", err);
        }
        free(e.working_dir);
        e.working_dir = NULL;
        e.working_dir_hash = strdup(hash);
        if (e.working_dir_hash == NULL) {
            free(tar);
            renv_free(&e);
            return api_error_(RAY_ENOMEM, "runtime_env: out of memory");
        }
        pthread_mutex_lock(&job_mu);
        free(up_tar);
        up_tar = tar;
        up_len = len;
        memcpy(up_hash, hash, sizeof up_hash);
        pthread_mutex_unlock(&job_mu);
    }
    pthread_mutex_lock(&job_mu);
    job_load_locked();
    struct renv merged = RENV_INIT;
    rc = renv_merge(&job_env, &e, &merged);
    if (rc == RENV_OK) {
        renv_free(&job_env);
        job_env = merged;
        free(job_canon);
        job_canon = NULL;
    }
    pthread_mutex_unlock(&job_mu);
    renv_free(&e);
    return rc == RENV_OK ? RAY_OK : api_error_(RAY_ENOMEM, "runtime_env: out of memory");
}

int api_renv_upload_(void)
{
    pthread_mutex_lock(&job_mu);
    void *tar = up_tar;
    size_t len = up_len;
    char hash[65];
    memcpy(hash, up_hash, sizeof hash);
    up_tar = NULL;
    pthread_mutex_unlock(&job_mu);
    if (tar == NULL)
        return RAY_OK;
    struct buf f = BUF_INIT;
    void *body = NULL;
    struct proto_msg m;
    uint64_t reqid = api_client_reqid_();
    int rc;
    if (proto_pack(&f, PROTO_RENV_UPLOAD, reqid, tar, len) < 0) {
        rc = api_pack_error_(&f, "runtime_env.working_dir: too large for one message");
    } else if ((rc = api_client_request_(&f, reqid, &body, &m)) == RAY_OK) {
        if (m.f[1].as.i != RAY_OK || m.f[2].as.s.len != 64 || memcmp(m.f[2].as.s.ptr, hash, 64) != 0)
            rc = api_error_(RAY_EINVAL, "runtime_env.working_dir: the node refused it: %.*s",
                            (int)m.f[2].as.s.len, m.f[2].as.s.ptr);
        free(body);
    }
    buf_free(&f);
    free(tar);
    return rc;
}

int api_renv_call_(const char *json, const char **canonical)
{
    struct renv call = RENV_INIT, merged = RENV_INIT;
    char err[300];
    int rc = RENV_OK;
    if (json == NULL) {
        /* the usual case: the job's own, made once */
        pthread_mutex_lock(&job_mu);
        job_load_locked();
        if (job_canon == NULL)
            job_canon = renv_canonical(&job_env);
        *canonical = job_canon ? job_canon : "";
        pthread_mutex_unlock(&job_mu);
        return job_canon ? RAY_OK : api_error_(RAY_ENOMEM, "runtime_env: out of memory");
    }
    if ((rc = renv_parse(json, strlen(json), 0, &call, err, sizeof err)) != RENV_OK)
        return rc == RENV_ENOMEM ? api_error_(RAY_ENOMEM, "runtime_env: out of memory")
                                 : api_error_(RAY_EINVAL, "%s", err);
    if (call.working_dir) {
        renv_free(&call);
        return api_error_(RAY_EINVAL, "runtime_env.working_dir cannot be set for one task or "
                          "actor (as in Ray): give it to the job (ray submit --working-dir)");
    }
    pthread_mutex_lock(&job_mu);
    job_load_locked();
    rc = renv_merge(&job_env, &call, &merged);
    pthread_mutex_unlock(&job_mu);
    renv_free(&call);
    char *text = rc == RENV_OK ? renv_canonical(&merged) : NULL;
    renv_free(&merged);
    if (text == NULL)
        return api_error_(RAY_ENOMEM, "runtime_env: out of memory");
    free(call_buf);
    call_buf = text;
    *canonical = call_buf;
    return RAY_OK;
}

/* Run ARGV; 0 if it exited 0. */
static int run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int api_renv_enter_(void)
{
    const char *dir = getenv("RAY_WORKING_DIR"), *tar = getenv("RAY_WORKING_DIR_TAR");
    if (dir == NULL || dir[0] == '\0')
        return 0;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (tar == NULL || stat(tar, &st) != 0) {
            fprintf(stderr, "ray: working_dir: the packed directory %s is missing\n",
                    tar ? tar : "(none)");
            return -1;
        }
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", dir);
        if (mkdtemp(tmp) == NULL) {
            fprintf(stderr, "ray: working_dir: cannot make %s: %s\n", tmp, strerror(errno));
            return -1;
        }
        char *const targv[] = { "tar", "-xf", (char *)tar, "-C", tmp, NULL };
        if (run(targv) != 0) {
            fprintf(stderr, "ray: working_dir: cannot unpack %s\n", tar);
            char *const rmv[] = { "rm", "-rf", tmp, NULL };
            run(rmv);
            return -1;
        }
        if (rename(tmp, dir) != 0) {
            /* another process of this node got there first */
            char *const rmv[] = { "rm", "-rf", tmp, NULL };
            run(rmv);
        }
    }
    if (chdir(dir) != 0) {
        fprintf(stderr, "ray: working_dir: cannot enter %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}
