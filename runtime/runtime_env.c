/*
 * runtime_env.c — runtime environments in the node (SPEC section 12): what
 * a worker of a given environment gets at spawn (its env_vars, and where its
 * working directory is), and the node's copy of packed working directories.
 *
 * DESIGN. A call's environment travels in its spec as canonical JSON
 * (common/runtime_env.h); workers are started with it and pooled by it
 * (workers.c compares the text), so two environments never share a worker.
 * A packed working directory (a tar made by `ray submit`) is stored once by
 * its SHA-256 in the function table like a job library, and once per node
 * under <session>/runtime_resources/<hash>.tar; a node without it fetches
 * it from the GCS the first time a worker needs it (the worker waits, no
 * loop blocking). Hashing and writing it runs on the helper thread (bio.h:
 * tarstore_*); RENV_UPLOAD is answered from the completion. The worker itself unpacks it into
 * <session>/runtime_resources/working_dir_files/<hash>/ (api/renv.c) and
 * runs there.
 */
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/runtime_env.h"
#include "common/sha256.h"
#include "common/xmalloc.h"
#include "runtime/runtime_env.h"
#include "runtime/clients.h"
#include "runtime/tasks.h"
#include "session/session.h"
#include "gcs/gcs.h"
#include "ray.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tar_path(struct runtime *rt, const char *hash)
{
    return xasprintf("%s/runtime_resources/%s.tar", rt->n->session_dir, hash);
}

int renv_store_tar_(const char *session_dir, const char *hash, const void *bytes, size_t len)
{
    uint8_t digest[SHA256_SIZE];
    char got[2 * SHA256_SIZE + 1];
    sha256(bytes, len, digest);
    ids_hex(digest, sizeof digest, got);
    if (strcmp(got, hash) != 0) {
        log_warnx("working_dir %.12s: content does not match its hash", hash);
        return -1;
    }
    char *dir = xasprintf("%s/runtime_resources", session_dir);
    char *path = xasprintf("%s/%s.tar", dir, hash);
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int rc = -1, fd = -1;
    struct stat st;
    if (session_mkdirs(dir, 0700) < 0) {
        log_warn("cannot create %s", dir);
        goto out;
    }
    if (stat(path, &st) == 0 && (size_t)st.st_size == len) {
        rc = 0;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || net_write_all(fd, bytes, len) < 0 || close(fd) < 0) {
        log_warn("cannot write %s", tmp);
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        log_warn("cannot rename %s", tmp);
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(dir);
    free(path);
    free(tmp);
    return rc;
}

struct fetch;
static struct fetch *fetching[16]; /* hashes being fetched and stored (a handful at most) */

/* A packed working directory being stored by the helper thread (bio.h). */
struct tarstore {
    struct runtime *rt;
    char *session_dir;
    char hash[65];               /* RENV_UPLOAD: computed on the helper */
    void *bytes;                 /* owned */
    size_t len;
    bool upload;                 /* RENV_UPLOAD: reply on CONN_ID, put in the function table */
    uint64_t conn_id, reqid;
    struct fetch *fetch;         /* fetched from the function table */
    int rc;
};

static void tarstore_work(void *arg)
{
    struct tarstore *ts = arg;
    if (ts->upload) {
        uint8_t digest[SHA256_SIZE];
        sha256(ts->bytes, ts->len, digest);
        ids_hex(digest, sizeof digest, ts->hash);
    }
    ts->rc = renv_store_tar_(ts->session_dir, ts->hash, ts->bytes, ts->len);
}

static struct conn *conn_of_client(struct runtime *rt, uint64_t id)
{
    for (struct client *cl = client_first(rt); cl; cl = client_next(cl))
        if (client_conn(cl) && client_conn(cl)->id == id)
            return client_conn(cl);
    return NULL;
}

static void tarstore_done(void *arg, bool cancelled)
{
    struct tarstore *ts = arg;
    struct runtime *rt = ts->rt;
    if (!cancelled && ts->upload) {
        if (ts->rc == 0)
            gcs_function_put(rt->n->gcs, ts->hash, ts->bytes, ts->len, NULL, NULL);
        struct conn *c = conn_of_client(rt, ts->conn_id); /* NULL: the driver left meanwhile */
        if (c && ts->rc < 0)
            conn_send(c, PROTO_RENV_UPLOAD_OK, ts->reqid, (int64_t)RAY_EINVAL,
                      "the node could not store the working directory");
        else if (c)
            conn_send(c, PROTO_RENV_UPLOAD_OK, ts->reqid, (int64_t)RAY_OK, ts->hash);
    } else if (!cancelled && ts->rc == 0) {
        tasks_schedule(rt); /* workers that waited for it can start */
    }
    for (int i = 0; ts->fetch && i < 16; i++)
        if (fetching[i] == ts->fetch)
            fetching[i] = NULL;
    free(ts->fetch);
    free(ts->session_dir);
    free(ts->bytes);
    free(ts);
}

struct fetch {
    struct runtime *rt;
    char hash[65];
};

static void fetched(void *arg, const char *s, size_t len)
{
    struct fetch *f = arg;
    if (s == NULL)
        log_warnx("working_dir %.12s: not in the function table", f->hash);
    if (s == NULL || f->rt == NULL) {
        for (int i = 0; i < 16; i++)
            if (fetching[i] == f)
                fetching[i] = NULL;
        free(f);
        return;
    }
    /* stays in fetching[] until stored: a worker asking meanwhile waits */
    struct tarstore *ts = xcalloc(1, sizeof *ts);
    ts->rt = f->rt;
    ts->session_dir = xstrdup(f->rt->n->session_dir);
    snprintf(ts->hash, sizeof ts->hash, "%s", f->hash);
    ts->bytes = xmemdup(s, len);
    ts->len = len;
    ts->fetch = f;
    bio_submit(ts->rt->bio, tarstore_work, tarstore_done, ts);
}

int renv_worker_env(struct runtime *rt, const char *renv, char ***extra, size_t *nextra)
{
    *extra = NULL;
    *nextra = 0;
    if (renv == NULL || renv[0] == '\0')
        return 0;
    struct renv e = RENV_INIT;
    char err[300];
    if (renv_parse(renv, strlen(renv), RENV_INTERNAL, &e, err, sizeof err) != RENV_OK) {
        log_warnx("a task's runtime_env: %s", err);
        return -1;
    }
    size_t cap = e.nvars + 4, n = 0;
    char **set = xcalloc(cap, sizeof *set);
    for (size_t i = 0; i < e.nvars; i++)
        set[n++] = xasprintf("%s=%s", e.names[i], e.values[i]);
    set[n++] = xasprintf("RAY_RUNTIME_ENV=%s", renv);
    if (e.working_dir_hash) {
        char *path = tar_path(rt, e.working_dir_hash);
        struct stat st;
        if (stat(path, &st) != 0) {
            /* not on this node yet: fetch it, the worker starts once it is here */
            bool already = false;
            for (int i = 0; i < 16; i++)
                already |= fetching[i] && strcmp(fetching[i]->hash, e.working_dir_hash) == 0;
            for (int i = 0; i < 16 && !already; i++)
                if (fetching[i] == NULL) {
                    struct fetch *f = xcalloc(1, sizeof *f);
                    f->rt = rt;
                    snprintf(f->hash, sizeof f->hash, "%s", e.working_dir_hash);
                    fetching[i] = f;
                    gcs_function_get(rt->n->gcs, f->hash, fetched, f);
                    break;
                }
            free(path);
            for (size_t i = 0; i < n; i++)
                free(set[i]);
            free(set);
            renv_free(&e);
            return 1;
        }
        set[n++] = xasprintf("RAY_WORKING_DIR_TAR=%s", path);
        set[n++] = xasprintf("RAY_WORKING_DIR=%s/runtime_resources/working_dir_files/%s",
                             rt->n->session_dir, e.working_dir_hash);
        free(path);
        /* its parent folder is made by the spawn, on the helper (workers.c) */
    }
    renv_free(&e);
    *extra = set;
    *nextra = n;
    return 0;
}

/* RENV_UPLOAD from a driver: keep its packed working directory (hashed and
 * written on the helper thread; the reply comes from tarstore_done). */
static int h_upload(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct client *cl = rt_client_of(c);
    if (cl == NULL || !client_is_driver(cl))
        return -1;
    struct tarstore *ts = xcalloc(1, sizeof *ts);
    ts->rt = rt;
    ts->session_dir = xstrdup(rt->n->session_dir);
    ts->bytes = xmemdup(m->f[1].as.s.ptr, m->f[1].as.s.len);
    ts->len = m->f[1].as.s.len;
    ts->upload = true;
    ts->conn_id = c->id;
    ts->reqid = m->f[0].as.u;
    bio_submit(rt->bio, tarstore_work, tarstore_done, ts);
    return 0;
}

void renv_init(struct runtime *rt)
{
    server_on(rt->n->srv, PROTO_RENV_UPLOAD, h_upload, rt);
}
