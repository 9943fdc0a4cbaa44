/*
 * workflow.c — durable workflows (include/ray_workflow.h) on ray.h alone.
 *
 * DESIGN. The driver is the workflow's engine and its storage's only
 * writer. ray_workflow_step encodes each step as it is added (the dag file's
 * step records, workflow_internal.h); run stores the dag under STORAGE/ID,
 * takes the folder's lock and hands over to engine_run, which is also what
 * resume calls: it decodes the stored dag (so a run and a resume do exactly
 * the same thing), treats every step with a checkpoint file as finished,
 * and loops: submit (ray_call) each unfinished step whose dependencies are
 * all checkpointed, ray_wait for one in flight (200 ms, so a cancel is
 * seen), ray_get its output, write it to steps/N (fsync + rename) and only
 * then count the step as finished. A dependency reaches its dependents as
 * the REF of the task that made it (zero copy, no re-read) or, after a
 * resume, as the value read back from its checkpoint. A step that fails
 * after its retries (ray_get gives RAY_ETASK / RAY_EWORKER) fails the
 * workflow with its message; the steps still in flight are left to finish
 * and their outputs dropped. Checkpoints are written by the driver, so the
 * storage must be on the driver's machine (Ray's default filesystem storage
 * is too); docs/workflow.md says why this and not the GCS.
 */
#include "libs/workflow/workflow_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Paths are STORAGE/ID/steps/N: ray_wf_storage_ keeps STORAGE 160 bytes
 * short of PATH_MAX_, so none of the snprintf below truncates. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#define PATH_MAX_ 4096
#define DAG_MAX (1u << 30)   /* a dag file larger than this is damaged */
#define OUT_MAX ((size_t)1 << 34)
#define POLL_MS 200

struct ray_workflow {
    struct ray_pool_buf_ recs; /* step records, back to back */
    uint32_t n, output;
    int output_set;
};

/* ---- building -------------------------------------------------------------- */

int ray_workflow_new(ray_workflow **out)
{
    if (out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_workflow_new: OUT is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? RAY_OK : ray_error_set(RAY_ENOMEM, "ray_workflow_new: out of memory");
}

void ray_workflow_free(ray_workflow *w)
{
    if (w == NULL)
        return;
    ray_pool_buf_free_(&w->recs);
    free(w);
}

/* Whether V holds no REF or ACTOR at any level. */
static int plain_value(const ray_value *v, int depth)
{
    if (depth > RAY_MAX_DEPTH)
        return 0;
    switch (v->type) {
    case RAY_REF:
    case RAY_ACTOR:
        return 0;
    case RAY_LIST:
        for (size_t i = 0; i < v->as.list.n; i++)
            if (v->as.list.items == NULL || !plain_value(&v->as.list.items[i], depth + 1))
                return 0;
        return 1;
    case RAY_MAP:
        for (size_t i = 0; i < v->as.map.n; i++)
            if (v->as.map.keys == NULL || v->as.map.vals == NULL ||
                !plain_value(&v->as.map.keys[i], depth + 1) ||
                !plain_value(&v->as.map.vals[i], depth + 1))
                return 0;
        return 1;
    default:
        return 1;
    }
}

int ray_workflow_step(ray_workflow *w, const char *name, const char *fn, const ray_value *args,
                      size_t nargs, const int *deps, size_t ndeps, const ray_opts *opts,
                      int *step)
{
    if (w == NULL || fn == NULL || fn[0] == '\0')
        return ray_error_set(RAY_EINVAL, "ray_workflow_step: %s is NULL",
                             w == NULL ? "the workflow" : "FN");
    if (name == NULL)
        name = fn;
    if (w->n >= RAY_WF_MAX_STEPS_)
        return ray_error_set(RAY_EINVAL, "ray_workflow_step: more than %d steps",
                             RAY_WF_MAX_STEPS_);
    if ((nargs > 0 && args == NULL) || (ndeps > 0 && deps == NULL))
        return ray_error_set(RAY_EINVAL, "ray_workflow_step '%s': NULL ARGS or DEPS", name);
    if (nargs + ndeps > 1024)
        return ray_error_set(RAY_EINVAL, "ray_workflow_step '%s': more than 1024 arguments", name);
    for (size_t i = 0; i < ndeps; i++)
        if (deps[i] < 0 || (uint32_t)deps[i] >= w->n)
            return ray_error_set(RAY_EINVAL,
                                 "ray_workflow_step '%s': dependency %zu (%d) is not an earlier step",
                                 name, i, deps[i]);
    for (size_t i = 0; i < nargs; i++)
        if (!plain_value(&args[i], 1))
            return ray_error_set(RAY_EINVAL,
                                 "ray_workflow_step '%s': argument %zu holds a REF or ACTOR (or is "
                                 "malformed); a workflow's arguments must be plain values",
                                 name, i);
    ray_opts o = opts ? *opts : RAY_OPTS;
    if (o.num_cpus < 0 || o.num_gpus < 0 || o.memory < 0 || o.max_retries < -1)
        return ray_error_set(RAY_EINVAL, "ray_workflow_step '%s': negative resources or retries",
                             name);
    size_t at = w->recs.len;
    if (ray_wf_step_put_(&w->recs, name, fn, args, nargs, deps, ndeps, &o) != RAY_OK) {
        w->recs.len = at;
        return ray_error_set(RAY_EINVAL, "ray_workflow_step '%s': an argument cannot be encoded",
                             name);
    }
    if (w->recs.oom) {
        w->recs.oom = 0;
        w->recs.len = at;
        return ray_error_set(RAY_ENOMEM, "ray_workflow_step: out of memory");
    }
    if (step)
        *step = (int)w->n;
    w->n++;
    return RAY_OK;
}

int ray_workflow_set_output(ray_workflow *w, int step)
{
    if (w == NULL || step < 0 || (uint32_t)step >= w->n)
        return ray_error_set(RAY_EINVAL, "ray_workflow_set_output: no step %d", step);
    w->output = (uint32_t)step;
    w->output_set = 1;
    return RAY_OK;
}

/* ---- outputs ------------------------------------------------------------------- */

struct hold {
    uint8_t *data;
    struct ray_pool_arena_ arena;
};

void ray_workflow_output_release(ray_workflow_output *o)
{
    if (o == NULL)
        return;
    struct hold *h = o->hold_;
    if (h) {
        free(h->data);
        ray_pool_arena_free_(&h->arena);
        free(h);
    }
    memset(o, 0, sizeof *o);
}

/* Read checkpoint PATH into *OUT. Returns 0, or -1 (missing: errno ENOENT;
 * damaged: EINVAL; ENOMEM). */
static int out_load(const char *path, ray_workflow_output *out)
{
    struct hold *h = calloc(1, sizeof *h);
    size_t len;
    memset(out, 0, sizeof *out);
    if (h == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (ray_wf_file_read_(path, OUT_MAX, &h->data, &len) < 0) {
        free(h);
        return -1;
    }
    if (ray_wf_out_decode_(h->data, len, &out->value, &h->arena) < 0) {
        free(h->data);
        ray_pool_arena_free_(&h->arena);
        free(h);
        memset(out, 0, sizeof *out);
        errno = EINVAL;
        return -1;
    }
    out->hold_ = h;
    return 0;
}

/* ---- paths ----------------------------------------------------------------------- */

/* DIR = STORAGE/ID. Returns RAY_OK or RAY_EINVAL (bad ID, too long). */
static int wf_dir(const char *storage, const char *id, char *root, char *dir)
{
    if (!ray_wf_id_ok_(id))
        return ray_error_set(RAY_EINVAL,
                             "workflow ID '%.140s' is not valid: 1..%d of [A-Za-z0-9_.-], not "
                             "starting with '.'",
                             id ? id : "(null)", RAY_WORKFLOW_ID_MAX);
    if (ray_wf_storage_(storage, root, PATH_MAX_) < 0)
        return ray_error_set(RAY_EINVAL, "workflow storage path is too long");
    snprintf(dir, PATH_MAX_, "%s/%s", root, id);
    return RAY_OK;
}

static int mkdir_p(const char *path)
{
    char p[PATH_MAX_];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int dir_exists(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Status of DIR as a user sees it: the file's, with RUNNING turned
 * RESUMABLE when no process holds the lock. 0 or -1. */
static int status_now(const char *dir, ray_workflow_status *s, char *msg, size_t msglen)
{
    if (ray_wf_status_read_(dir, s, msg, msglen) < 0)
        return -1;
    int fd = ray_wf_lock_(dir);
    if (fd >= 0) {
        close(fd);
        if (*s == RAY_WORKFLOW_RUNNING)
            *s = RAY_WORKFLOW_RESUMABLE;
    } else if (errno == EWOULDBLOCK && *s != RAY_WORKFLOW_CANCELED) {
        *s = RAY_WORKFLOW_RUNNING; /* e.g. FAILED on disk while a resume is starting */
    }
    return 0;
}

/* ---- the engine ---------------------------------------------------------------------- */

struct stepstate {
    int state; /* 0 pending, 1 in flight, 2 finished (checkpointed) */
    int have_ref;
    ray_ref ref;
    int loaded;
    ray_workflow_output ck; /* its checkpoint, read back for a dependent */
};

static int ck_path(char *p, const char *dir, uint32_t i)
{
    return snprintf(p, PATH_MAX_, "%s/steps/%u", dir, i);
}

/* Write V as step I's checkpoint. RAY_OK, RAY_EINVAL (not plain; I/O), RAY_ENOMEM. */
static int ck_write(const char *dir, uint32_t i, const struct ray_wf_step_ *s, const ray_value *v,
                    const char *id)
{
    char path[PATH_MAX_];
    if (!plain_value(v, 1))
        return ray_error_set(RAY_EINVAL,
                             "workflow '%s': step '%s' (%s) returned a REF or ACTOR; a step's "
                             "output must be a plain value to be checkpointed",
                             id, s->name, s->fn);
    struct ray_pool_buf_ b = { 0 };
    ray_pool_buf_put_(&b, RAY_WF_OUT_MAGIC_, 8);
    if (ray_pool_value_put_(&b, v) != RAY_OK || b.oom) {
        int oom = b.oom;
        ray_pool_buf_free_(&b);
        return ray_error_set(oom ? RAY_ENOMEM : RAY_EINVAL,
                             "workflow '%s': step '%s' output cannot be encoded", id, s->name);
    }
    ck_path(path, dir, i);
    int rc = ray_wf_file_write_(path, b.data, b.len);
    ray_pool_buf_free_(&b);
    if (rc < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot write checkpoint %s: %s", id, path,
                             strerror(errno));
    return RAY_OK;
}

/* Fail the workflow: status FAILED with the message already in ray_last_error. */
static int fail_with(const char *dir, int rc)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ray_last_error());
    ray_wf_status_write_(dir, RAY_WORKFLOW_FAILED, msg);
    return ray_error_set(rc, "%s", msg);
}

static int canceled(const char *dir)
{
    ray_workflow_status s;
    return ray_wf_status_read_(dir, &s, NULL, 0) == 0 && s == RAY_WORKFLOW_CANCELED;
}

/* Run the dag stored in DIR until its output step is checkpointed. The
 * caller holds the lock and has written status RUNNING. */
static int engine_run(const char *dir, const char *id, ray_workflow_output *out)
{
    char path[PATH_MAX_], err[256];
    uint8_t *dagbuf = NULL;
    size_t daglen;
    struct ray_wf_dag_ d;
    struct stepstate *st = NULL;
    ray_ref *wrefs = NULL;
    uint32_t *widx = NULL;
    bool *ready = NULL;
    int rc = RAY_OK;
    memset(&d, 0, sizeof d);
    snprintf(path, sizeof path, "%s/dag", dir);
    if (ray_wf_file_read_(path, DAG_MAX, &dagbuf, &daglen) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot read %s: %s", id, path,
                             strerror(errno));
    if (ray_wf_dag_decode_(dagbuf, daglen, &d, err, sizeof err) < 0) {
        free(dagbuf);
        return ray_error_set(RAY_EINVAL, "workflow '%s': %s is damaged: %s", id, path, err);
    }
    st = calloc(d.n, sizeof *st);
    wrefs = calloc(d.n, sizeof *wrefs);
    widx = calloc(d.n, sizeof *widx);
    ready = calloc(d.n, sizeof *ready);
    if (!st || !wrefs || !widx || !ready) {
        rc = ray_error_set(RAY_ENOMEM, "workflow '%s': out of memory", id);
        goto done;
    }
    for (uint32_t i = 0; i < d.n; i++) {
        ck_path(path, dir, i);
        if (access(path, F_OK) == 0)
            st[i].state = 2;
    }
    for (;;) {
        if (canceled(dir)) {
            rc = ray_error_set(RAY_ETASK, "workflow '%s' was canceled", id);
            goto done;
        }
        if (st[d.output].state == 2)
            break;
        /* submit every step whose dependencies are all checkpointed */
        for (uint32_t i = 0; i < d.n; i++) {
            struct ray_wf_step_ *s = &d.steps[i];
            if (st[i].state != 0)
                continue;
            bool ok = true;
            for (uint32_t j = 0; j < s->ndeps && ok; j++)
                ok = st[s->deps[j]].state == 2;
            if (!ok)
                continue;
            ray_value args[1024 + 64];
            size_t na = 0;
            if (s->nargs + s->ndeps > 1024) {
                ray_error_set(RAY_EINVAL, "workflow '%s': step '%s' has too many arguments", id,
                              s->name);
                rc = fail_with(dir, RAY_EINVAL);
                goto done;
            }
            for (uint32_t j = 0; j < s->nargs; j++)
                args[na++] = s->args[j];
            for (uint32_t j = 0; j < s->ndeps; j++) {
                struct stepstate *ds = &st[s->deps[j]];
                if (ds->have_ref) {
                    args[na++] = RAY_R(ds->ref);
                    continue;
                }
                if (!ds->loaded) {
                    ck_path(path, dir, s->deps[j]);
                    if (out_load(path, &ds->ck) < 0) {
                        ray_error_set(RAY_EINVAL, "workflow '%s': checkpoint %s is unreadable: %s",
                                      id, path, strerror(errno));
                        rc = fail_with(dir, RAY_EINVAL);
                        goto done;
                    }
                    ds->loaded = 1;
                }
                args[na++] = ds->ck.value;
            }
            ray_opts o = RAY_OPTS;
            o.num_cpus = s->num_cpus;
            o.num_gpus = s->num_gpus;
            o.memory = s->memory;
            o.resources = s->resources[0] ? s->resources : NULL;
            o.max_retries = s->max_retries;
            o.retry_on_error = s->retry_on_error;
            int crc = ray_call(s->fn, args, na, &o, &st[i].ref);
            if (crc != RAY_OK) {
                ray_error_set(crc, "workflow '%s': step '%s' (%s) could not start: %s", id,
                              s->name, s->fn, ray_last_error());
                rc = fail_with(dir, crc);
                goto done;
            }
            st[i].state = 1;
        }
        size_t k = 0;
        for (uint32_t i = 0; i < d.n; i++)
            if (st[i].state == 1) {
                wrefs[k] = st[i].ref;
                widx[k++] = i;
            }
        if (k == 0) { /* cannot happen for a dag whose deps point backwards */
            rc = ray_error_set(RAY_EINVAL, "workflow '%s': nothing left to run", id);
            goto done;
        }
        memset(ready, 0, k * sizeof *ready);
        int nr = ray_wait(wrefs, k, 1, POLL_MS, ready);
        if (nr < 0) {
            rc = ray_error_set(nr, "workflow '%s': ray_wait: %s", id, ray_last_error());
            goto done; /* the cluster went away: stays RUNNING on disk, so RESUMABLE */
        }
        for (size_t j = 0; j < k; j++) {
            if (!ready[j])
                continue;
            uint32_t i = widx[j];
            struct ray_wf_step_ *s = &d.steps[i];
            ray_value v;
            int grc = ray_get(st[i].ref, -1, &v);
            if (grc == RAY_ECONN) {
                rc = ray_error_set(grc, "workflow '%s': %s", id, ray_last_error());
                goto done;
            }
            if (grc != RAY_OK) {
                ray_error_set(grc, "workflow '%s': step '%s' (%s) failed: %s", id, s->name, s->fn,
                              ray_last_error());
                rc = fail_with(dir, RAY_ETASK);
                goto done;
            }
            int wrc = ck_write(dir, i, s, &v, id);
            ray_value_release(&v);
            if (wrc != RAY_OK) {
                rc = fail_with(dir, wrc);
                goto done;
            }
            st[i].state = 2;
            st[i].have_ref = 1;
        }
    }
    /* the output step is checkpointed */
    if (ray_wf_status_write_(dir, RAY_WORKFLOW_SUCCESSFUL, NULL) < 0) {
        rc = ray_error_set(RAY_EINVAL, "workflow '%s': cannot write %s/status: %s", id, dir,
                           strerror(errno));
        goto done;
    }
    if (out) {
        ck_path(path, dir, d.output);
        if (out_load(path, out) < 0)
            rc = ray_error_set(RAY_EINVAL, "workflow '%s': cannot read its output %s: %s", id,
                               path, strerror(errno));
    }
done:;
    /* ray_free below is a ray_* call: it resets ray_last_error() */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", rc != RAY_OK ? ray_last_error() : "");
    if (st) {
        for (uint32_t i = 0; i < d.n; i++) {
            if (st[i].have_ref)
                ray_free(&st[i].ref, 1);
            ray_workflow_output_release(&st[i].ck);
        }
    }
    free(st);
    free(wrefs);
    free(widx);
    free(ready);
    ray_wf_dag_free_(&d);
    free(dagbuf);
    return rc == RAY_OK ? RAY_OK : ray_error_set(rc, "%s", saved);
}

static int output_of(const char *dir, const char *id, ray_workflow_output *out);
static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

/* ---- run, run_async, resume ------------------------------------------------------------ */

/* Store W under a new folder for ID (made if NULL into IDBUF) and take its
 * lock: *LOCKFD. RAY_OK or the error. */
static int run_prepare(ray_workflow *w, const char *storage, const char *id, char *idbuf,
                       char *dir, int *lockfd)
{
    char root[PATH_MAX_], path[PATH_MAX_];
    if (w == NULL)
        return ray_error_set(RAY_EINVAL, "ray_workflow_run: the workflow is NULL");
    if (w->n == 0)
        return ray_error_set(RAY_EINVAL, "ray_workflow_run: the workflow has no steps");
    if (id == NULL) {
        unsigned r = 0;
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, &r, sizeof r) != sizeof r)
                r = (unsigned)getpid();
            close(fd);
        }
        snprintf(idbuf, RAY_WORKFLOW_ID_MAX + 1, "workflow_%lld_%08x", (long long)time(NULL), r);
        id = idbuf;
    } else {
        snprintf(idbuf, RAY_WORKFLOW_ID_MAX + 1, "%s", id);
    }
    int rc = wf_dir(storage, id, root, dir);
    if (rc != RAY_OK)
        return rc;
    if (mkdir_p(root) < 0)
        return ray_error_set(RAY_EINVAL, "workflow storage %s: %s", root, strerror(errno));
    if (mkdir(dir, 0755) < 0) {
        if (errno != EEXIST)
            return ray_error_set(RAY_EINVAL, "workflow '%s': cannot make %s: %s", id, dir,
                                 strerror(errno));
        ray_workflow_status s;
        const char *sn = status_now(dir, &s, NULL, 0) == 0 ? ray_workflow_status_name(s) : "?";
        return ray_error_set(RAY_EINVAL,
                             "workflow '%s' already exists in %s (status %s): resume or delete it",
                             id, root, sn);
    }
    *lockfd = ray_wf_lock_(dir);
    if (*lockfd < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot lock %s/lock: %s", id, dir,
                             strerror(errno));
    struct ray_pool_buf_ b = { 0 };
    ray_wf_dag_head_put_(&b, w->n, w->output_set ? w->output : w->n - 1);
    ray_pool_buf_put_(&b, w->recs.data, w->recs.len);
    snprintf(path, sizeof path, "%s/steps", dir);
    if (b.oom) {
        rc = ray_error_set(RAY_ENOMEM, "ray_workflow_run: out of memory");
    } else if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        rc = ray_error_set(RAY_EINVAL, "workflow '%s': cannot make %s: %s", id, path,
                           strerror(errno));
    } else {
        snprintf(path, sizeof path, "%s/dag", dir);
        if (ray_wf_status_write_(dir, RAY_WORKFLOW_RUNNING, NULL) < 0 ||
            ray_wf_file_write_(path, b.data, b.len) < 0)
            rc = ray_error_set(RAY_EINVAL, "workflow '%s': cannot write %s: %s", id, dir,
                               strerror(errno));
    }
    ray_pool_buf_free_(&b);
    if (rc != RAY_OK) {
        /* leave no half-made folder behind: the ID stays free */
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        close(*lockfd);
        *lockfd = -1;
    }
    return rc;
}

int ray_workflow_run(ray_workflow *w, const char *storage, const char *id,
                     ray_workflow_output *out)
{
    char idbuf[RAY_WORKFLOW_ID_MAX + 1], dir[PATH_MAX_];
    int lockfd = -1;
    if (out)
        memset(out, 0, sizeof *out);
    int rc = run_prepare(w, storage, id, idbuf, dir, &lockfd);
    if (rc != RAY_OK)
        return rc;
    rc = engine_run(dir, idbuf, out);
    close(lockfd);
    return rc;
}

struct ray_workflow_handle {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char id[RAY_WORKFLOW_ID_MAX + 1];
    char dir[PATH_MAX_];
    char err[1024];
    int lockfd, done, rc, joined, out_taken;
    ray_workflow_output out;
};

static void *run_thread(void *arg)
{
    struct ray_workflow_handle *h = arg;
    ray_workflow_output out;
    memset(&out, 0, sizeof out);
    int rc = engine_run(h->dir, h->id, &out);
    close(h->lockfd);
    pthread_mutex_lock(&h->mu);
    h->rc = rc;
    h->out = out;
    snprintf(h->err, sizeof h->err, "%s", rc == RAY_OK ? "" : ray_last_error());
    h->done = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int ray_workflow_run_async(ray_workflow *w, const char *storage, const char *id,
                           ray_workflow_handle **out)
{
    if (out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_workflow_run_async: OUT is NULL");
    struct ray_workflow_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return ray_error_set(RAY_ENOMEM, "ray_workflow_run_async: out of memory");
    int rc = run_prepare(w, storage, id, h->id, h->dir, &h->lockfd);
    if (rc != RAY_OK) {
        free(h);
        return rc;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->th, NULL, run_thread, h) != 0) {
        close(h->lockfd);
        ray_wf_status_write_(h->dir, RAY_WORKFLOW_RUNNING, NULL); /* left RESUMABLE */
        free(h);
        return ray_error_set(RAY_ENOMEM, "ray_workflow_run_async: cannot start a thread");
    }
    *out = h;
    return RAY_OK;
}

const char *ray_workflow_handle_id(const ray_workflow_handle *h)
{
    return h ? h->id : "";
}

int ray_workflow_wait(ray_workflow_handle *h, int64_t timeout_ms, ray_workflow_output *out)
{
    if (h == NULL)
        return ray_error_set(RAY_EINVAL, "ray_workflow_wait: the handle is NULL");
    if (out)
        memset(out, 0, sizeof *out);
    pthread_mutex_lock(&h->mu);
    if (timeout_ms < 0) {
        while (!h->done)
            pthread_cond_wait(&h->cv, &h->mu);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!h->done)
            if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) != 0)
                break;
    }
    if (!h->done) {
        pthread_mutex_unlock(&h->mu);
        return ray_error_set(RAY_ETIMEOUT, "workflow '%s' is still running", h->id);
    }
    int rc = h->rc;
    if (rc == RAY_OK && out && !h->out_taken) {
        *out = h->out;
        memset(&h->out, 0, sizeof h->out);
        h->out_taken = 1;
    }
    pthread_mutex_unlock(&h->mu);
    if (!h->joined) {
        pthread_join(h->th, NULL);
        h->joined = 1;
    }
    return rc == RAY_OK ? RAY_OK : ray_error_set(rc, "%s", h->err);
}

void ray_workflow_handle_free(ray_workflow_handle *h)
{
    if (h == NULL)
        return;
    ray_workflow_wait(h, -1, NULL);
    ray_workflow_output_release(&h->out);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

int ray_workflow_resume(const char *storage, const char *id, ray_workflow_output *out)
{
    char root[PATH_MAX_], dir[PATH_MAX_], path[PATH_MAX_];
    ray_workflow_status s;
    if (out)
        memset(out, 0, sizeof *out);
    int rc = wf_dir(storage, id, root, dir);
    if (rc != RAY_OK)
        return rc;
    if (!dir_exists(dir))
        return ray_error_set(RAY_ENOTFOUND, "workflow '%s' not found in %s", id, root);
    int lockfd = ray_wf_lock_(dir);
    if (lockfd < 0)
        return ray_error_set(RAY_EINVAL, errno == EWOULDBLOCK
                                             ? "workflow '%s' is RUNNING: its driver is alive"
                                             : "workflow '%s': cannot lock it",
                             id);
    if (ray_wf_status_read_(dir, &s, NULL, 0) < 0) {
        rc = ray_error_set(RAY_EINVAL, "workflow '%s': %s/status is missing or damaged", id, dir);
    } else if (s == RAY_WORKFLOW_CANCELED) {
        rc = ray_error_set(RAY_EINVAL, "workflow '%s' was canceled; it cannot be resumed", id);
    } else if (s == RAY_WORKFLOW_SUCCESSFUL) {
        rc = out ? output_of(dir, id, out) : RAY_OK;
    } else if (ray_wf_status_write_(dir, RAY_WORKFLOW_RUNNING, NULL) < 0) {
        snprintf(path, sizeof path, "%s/status", dir);
        rc = ray_error_set(RAY_EINVAL, "workflow '%s': cannot write %s: %s", id, path,
                           strerror(errno));
    } else {
        rc = engine_run(dir, id, out);
    }
    close(lockfd);
    return rc;
}

/* ---- status, list, cancel, delete ------------------------------------------------------- */

static int info_of(const char *dir, const char *id, ray_workflow_info *info)
{
    char path[PATH_MAX_], err[256];
    uint8_t *buf;
    size_t len;
    struct ray_wf_dag_ d;
    memset(info, 0, sizeof *info);
    snprintf(info->id, sizeof info->id, "%s", id);
    if (status_now(dir, &info->status, info->message, sizeof info->message) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': %s/status is missing or damaged", id, dir);
    snprintf(path, sizeof path, "%s/dag", dir);
    if (ray_wf_file_read_(path, DAG_MAX, &buf, &len) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot read %s: %s", id, path,
                             strerror(errno));
    int rc = ray_wf_dag_decode_(buf, len, &d, err, sizeof err);
    free(buf);
    if (rc < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': %s is damaged: %s", id, path, err);
    info->steps = (int)d.n;
    for (uint32_t i = 0; i < d.n; i++) {
        ck_path(path, dir, i);
        if (access(path, F_OK) == 0)
            info->steps_done++;
    }
    ray_wf_dag_free_(&d);
    return RAY_OK;
}

int ray_workflow_get_info(const char *storage, const char *id, ray_workflow_info *info)
{
    char root[PATH_MAX_], dir[PATH_MAX_];
    if (info == NULL)
        return ray_error_set(RAY_EINVAL, "ray_workflow_get_info: INFO is NULL");
    int rc = wf_dir(storage, id, root, dir);
    if (rc != RAY_OK)
        return rc;
    if (!dir_exists(dir))
        return ray_error_set(RAY_ENOTFOUND, "workflow '%s' not found in %s", id, root);
    return info_of(dir, id, info);
}

int ray_workflow_get_output(const char *storage, const char *id, ray_workflow_output *out)
{
    char root[PATH_MAX_], dir[PATH_MAX_];
    ray_workflow_status s;
    if (out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_workflow_get_output: OUT is NULL");
    memset(out, 0, sizeof *out);
    int rc = wf_dir(storage, id, root, dir);
    if (rc != RAY_OK)
        return rc;
    if (!dir_exists(dir))
        return ray_error_set(RAY_ENOTFOUND, "workflow '%s' not found in %s", id, root);
    if (status_now(dir, &s, NULL, 0) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': %s/status is missing or damaged", id, dir);
    if (s != RAY_WORKFLOW_SUCCESSFUL)
        return ray_error_set(RAY_EINVAL, "workflow '%s' is %s, not SUCCESSFUL: no output yet", id,
                             ray_workflow_status_name(s));
    return output_of(dir, id, out);
}

/* The output step's checkpoint of the workflow in DIR into *OUT. */
static int output_of(const char *dir, const char *id, ray_workflow_output *out)
{
    char path[PATH_MAX_], err[256];
    int rc;
    uint8_t *buf;
    size_t len;
    struct ray_wf_dag_ d;
    snprintf(path, sizeof path, "%s/dag", dir);
    if (ray_wf_file_read_(path, DAG_MAX, &buf, &len) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot read %s: %s", id, path,
                             strerror(errno));
    rc = ray_wf_dag_decode_(buf, len, &d, err, sizeof err);
    free(buf);
    if (rc < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': %s is damaged: %s", id, path, err);
    ck_path(path, dir, d.output);
    ray_wf_dag_free_(&d);
    if (out_load(path, out) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot read its output %s: %s", id, path,
                             strerror(errno));
    return RAY_OK;
}

static int info_cmp(const void *a, const void *b)
{
    return strcmp(((const ray_workflow_info *)a)->id, ((const ray_workflow_info *)b)->id);
}

int ray_workflow_list(const char *storage, ray_workflow_info *infos, size_t cap, size_t *n)
{
    char root[PATH_MAX_], dir[PATH_MAX_];
    if (n == NULL || (cap > 0 && infos == NULL))
        return ray_error_set(RAY_EINVAL, "ray_workflow_list: N or INFOS is NULL");
    *n = 0;
    if (ray_wf_storage_(storage, root, sizeof root) < 0)
        return ray_error_set(RAY_EINVAL, "workflow storage path is too long");
    DIR *dp = opendir(root);
    if (dp == NULL)
        return errno == ENOENT ? RAY_OK
                               : ray_error_set(RAY_EINVAL, "workflow storage %s: %s", root,
                                               strerror(errno));
    struct dirent *de;
    size_t got = 0, all = 0;
    ray_workflow_info *tmp = NULL;
    size_t tcap = 0;
    while ((de = readdir(dp)) != NULL) {
        if (!ray_wf_id_ok_(de->d_name))
            continue;
        snprintf(dir, sizeof dir, "%s/%s", root, de->d_name);
        ray_workflow_info info;
        if (!dir_exists(dir) || info_of(dir, de->d_name, &info) != RAY_OK)
            continue; /* not a workflow folder, or one being made */
        if (got == tcap) {
            size_t nc = tcap ? tcap * 2 : 16;
            ray_workflow_info *x = realloc(tmp, nc * sizeof *x);
            if (x == NULL) {
                closedir(dp);
                free(tmp);
                return ray_error_set(RAY_ENOMEM, "ray_workflow_list: out of memory");
            }
            tmp = x;
            tcap = nc;
        }
        tmp[got++] = info;
        all++;
    }
    closedir(dp);
    if (got)
        qsort(tmp, got, sizeof *tmp, info_cmp);
    for (size_t i = 0; i < got && i < cap; i++)
        infos[i] = tmp[i];
    free(tmp);
    *n = all;
    return RAY_OK;
}

int ray_workflow_cancel(const char *storage, const char *id)
{
    char root[PATH_MAX_], dir[PATH_MAX_];
    ray_workflow_status s;
    int rc = wf_dir(storage, id, root, dir);
    if (rc != RAY_OK)
        return rc;
    if (!dir_exists(dir))
        return ray_error_set(RAY_ENOTFOUND, "workflow '%s' not found in %s", id, root);
    if (ray_wf_status_read_(dir, &s, NULL, 0) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': %s/status is missing or damaged", id, dir);
    if (s == RAY_WORKFLOW_SUCCESSFUL)
        return ray_error_set(RAY_EINVAL, "workflow '%s' has already finished (SUCCESSFUL)", id);
    if (ray_wf_status_write_(dir, RAY_WORKFLOW_CANCELED, NULL) < 0)
        return ray_error_set(RAY_EINVAL, "workflow '%s': cannot write %s/status: %s", id, dir,
                             strerror(errno));
    return RAY_OK;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int ray_workflow_delete(const char *storage, const char *id)
{
    char root[PATH_MAX_], dir[PATH_MAX_];
    int rc = wf_dir(storage, id, root, dir);
    if (rc != RAY_OK)
        return rc;
    if (!dir_exists(dir))
        return ray_error_set(RAY_ENOTFOUND, "workflow '%s' not found in %s", id, root);
    int fd = ray_wf_lock_(dir);
    if (fd < 0)
        return ray_error_set(RAY_EINVAL,
                             errno == EWOULDBLOCK
                                 ? "workflow '%s' is RUNNING; cancel it before deleting it"
                                 : "workflow '%s': cannot lock it",
                             id);
    rc = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0
             ? ray_error_set(RAY_EINVAL, "workflow '%s': cannot delete %s: %s", id, dir,
                             strerror(errno))
             : RAY_OK;
    close(fd);
    return rc;
}
