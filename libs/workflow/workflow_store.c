/*
 * workflow_store.c — the workflow library's files (workflow_internal.h has
 * the formats): the dag and checkpoint codecs, atomic writes, the status
 * file and the run lock. No ray_* runtime calls here, so the fuzz target
 * (tests/fuzz/fuzz_workflow.c) links this file and the value codec alone.
 */
#include "libs/workflow/workflow_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void put_u32(struct ray_pool_buf_ *b, uint32_t x)
{
    ray_pool_buf_put_(b, &x, sizeof x);
}

static void put_str(struct ray_pool_buf_ *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u32(b, (uint32_t)n);
    ray_pool_buf_put_(b, s ? s : "", n);
    ray_pool_buf_put_(b, "", 1);
}

void ray_wf_dag_head_put_(struct ray_pool_buf_ *b, uint32_t n, uint32_t output)
{
    ray_pool_buf_put_(b, RAY_WF_DAG_MAGIC_, 8);
    put_u32(b, n);
    put_u32(b, output);
}

int ray_wf_step_put_(struct ray_pool_buf_ *b, const char *name, const char *fn,
                     const ray_value *args, size_t nargs, const int *deps, size_t ndeps,
                     const ray_opts *o)
{
    put_str(b, name);
    put_str(b, fn);
    if (ray_pool_item_put_(b, args, nargs) != RAY_OK)
        return RAY_EINVAL;
    put_u32(b, (uint32_t)ndeps);
    for (size_t i = 0; i < ndeps; i++)
        put_u32(b, (uint32_t)deps[i]);
    ray_pool_buf_put_(b, &o->num_cpus, 8);
    ray_pool_buf_put_(b, &o->num_gpus, 8);
    ray_pool_buf_put_(b, &o->memory, 8);
    put_str(b, o->resources);
    int32_t r = o->max_retries;
    ray_pool_buf_put_(b, &r, 4);
    uint8_t e = o->retry_on_error ? 1 : 0;
    ray_pool_buf_put_(b, &e, 1);
    return RAY_OK;
}

static int get_f64(const uint8_t **p, const uint8_t *end, double *x)
{
    if (end - *p < 8)
        return -1;
    memcpy(x, *p, 8);
    *p += 8;
    return 0;
}

static void *arena_calloc(struct ray_pool_arena_ *a, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        void **x = realloc(a->blocks, cap * sizeof *x);
        if (x == NULL)
            return NULL;
        a->blocks = x;
        a->cap = cap;
    }
    void *m = calloc(n ? n : 1, 1);
    if (m)
        a->blocks[a->n++] = m;
    return m;
}

/* A NUL-terminated string with no NUL inside (names and resources are C strings). */
static int get_cstr(const uint8_t **p, const uint8_t *end, const char **s)
{
    const uint8_t *at = *p;
    if (ray_pool_str_get_(p, end, s) < 0)
        return -1;
    return strlen(*s) == (size_t)(*p - at) - 5 ? 0 : -1;
}

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

int ray_wf_dag_decode_(const uint8_t *p, size_t len, struct ray_wf_dag_ *d, char *err,
                       size_t errlen)
{
    const uint8_t *end = p + len;
    memset(d, 0, sizeof *d);
    if (len < 16 || memcmp(p, RAY_WF_DAG_MAGIC_, 8) != 0)
        BAD("not a workflow dag file (bad magic)");
    p += 8;
    uint32_t n, output;
    if (ray_pool_u32_get_(&p, end, &n) < 0 || ray_pool_u32_get_(&p, end, &output) < 0)
        BAD("truncated header");
    if (n == 0 || n > RAY_WF_MAX_STEPS_)
        BAD("%u steps (1..%d allowed)", n, RAY_WF_MAX_STEPS_);
    if (output >= n)
        BAD("output step %u of %u steps", output, n);
    if ((size_t)n > (size_t)(end - p) / 16) /* a step record is far more than 16 bytes */
        BAD("truncated: %u steps in %zu bytes", n, len);
    d->steps = arena_calloc(&d->arena, (size_t)n * sizeof *d->steps);
    if (d->steps == NULL)
        BAD("out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct ray_wf_step_ *s = &d->steps[i];
        uint32_t na, nd;
        if (get_cstr(&p, end, &s->name) < 0 || get_cstr(&p, end, &s->fn) < 0)
            BAD("step %u: bad name or function", i);
        if (s->fn[0] == '\0')
            BAD("step %u: empty function name", i);
        if (ray_pool_u32_get_(&p, end, &na) < 0 || na > (size_t)(end - p))
            BAD("step %u: bad argument count", i);
        s->args = arena_calloc(&d->arena, (size_t)na * sizeof *s->args);
        if (s->args == NULL)
            BAD("out of memory");
        s->nargs = na;
        for (uint32_t j = 0; j < na; j++)
            if (ray_pool_value_get_(&p, end, &s->args[j], &d->arena) < 0)
                BAD("step %u: argument %u is malformed", i, j);
        if (ray_pool_u32_get_(&p, end, &nd) < 0 || nd > i || (size_t)nd * 4 > (size_t)(end - p))
            BAD("step %u: bad dependency count", i);
        s->deps = arena_calloc(&d->arena, (size_t)nd * sizeof *s->deps);
        if (s->deps == NULL)
            BAD("out of memory");
        s->ndeps = nd;
        for (uint32_t j = 0; j < nd; j++)
            if (ray_pool_u32_get_(&p, end, &s->deps[j]) < 0 || s->deps[j] >= i)
                BAD("step %u: dependency %u is not an earlier step", i, j);
        if (get_f64(&p, end, &s->num_cpus) < 0 || get_f64(&p, end, &s->num_gpus) < 0 ||
            get_f64(&p, end, &s->memory) < 0 || get_cstr(&p, end, &s->resources) < 0 ||
            end - p < 5)
            BAD("step %u: truncated options", i);
        memcpy(&s->max_retries, p, 4);
        if (p[4] > 1)
            BAD("step %u: retry_on_error byte is %u, not 0 or 1", i, p[4]);
        s->retry_on_error = p[4];
        p += 5;
    }
    if (p != end)
        BAD("%zu trailing bytes", (size_t)(end - p));
    d->n = n;
    d->output = output;
    return 0;
fail:
    ray_wf_dag_free_(d);
    return -1;
}

void ray_wf_dag_free_(struct ray_wf_dag_ *d)
{
    if (d == NULL)
        return;
    ray_pool_arena_free_(&d->arena);
    memset(d, 0, sizeof *d);
}

int ray_wf_out_decode_(const uint8_t *p, size_t len, ray_value *v, struct ray_pool_arena_ *arena)
{
    const uint8_t *end = p + len;
    if (len < 9 || memcmp(p, RAY_WF_OUT_MAGIC_, 8) != 0)
        return -1;
    p += 8;
    if (ray_pool_value_get_(&p, end, v, arena) < 0 || p != end)
        return -1;
    if (v->type == RAY_REF || v->type == RAY_ACTOR)
        return -1;
    return 0;
}

int ray_wf_storage_(const char *storage, char *out, size_t outlen)
{
    const char *s = storage;
    if (s == NULL || s[0] == '\0')
        s = getenv("RAY_WORKFLOW_STORAGE");
    if (s == NULL || s[0] == '\0')
        s = "/tmp/ray/workflow_data";
    int n = snprintf(out, outlen, "%s", s);
    return n < 0 || (size_t)n >= outlen - RAY_WORKFLOW_ID_MAX - 32 ? -1 : 0;
}

int ray_wf_id_ok_(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > RAY_WORKFLOW_ID_MAX || id[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int fsync_dir_of(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int ray_wf_file_write_(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    return fsync_dir_of(path);
fail: {
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}
}

int ray_wf_file_read_(const char *path, size_t max, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        if (errno == 0 || S_ISREG(st.st_mode))
            errno = EFBIG;
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *d = malloc(n ? n : 1);
    if (d == NULL) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, d + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *data = d;
    *len = got;
    return 0;
}

static const char *const status_names[] = { "RUNNING", "SUCCESSFUL", "FAILED", "RESUMABLE",
                                            "CANCELED" };

const char *ray_workflow_status_name(ray_workflow_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "UNKNOWN";
}

int ray_wf_status_write_(const char *dir, ray_workflow_status s, const char *msg)
{
    char path[4200], text[1024];
    snprintf(path, sizeof path, "%s/status", dir);
    int n = snprintf(text, sizeof text, "%s\n%s", ray_workflow_status_name(s), msg ? msg : "");
    if (n < 0)
        return -1;
    return ray_wf_file_write_(path, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

int ray_wf_status_read_(const char *dir, ray_workflow_status *s, char *msg, size_t msglen)
{
    char path[4200];
    uint8_t *d;
    size_t len;
    snprintf(path, sizeof path, "%s/status", dir);
    if (ray_wf_file_read_(path, 64 * 1024, &d, &len) < 0)
        return -1;
    const char *nl = memchr(d, '\n', len);
    size_t wl = nl ? (size_t)(nl - (const char *)d) : len;
    int found = -1;
    for (int i = 0; i < 5; i++)
        if (strlen(status_names[i]) == wl && memcmp(d, status_names[i], wl) == 0)
            found = i;
    if (found < 0 || found == RAY_WORKFLOW_RESUMABLE) {
        free(d);
        errno = EINVAL;
        return -1;
    }
    *s = (ray_workflow_status)found;
    if (msg && msglen) {
        size_t ml = nl ? len - wl - 1 : 0;
        if (ml >= msglen)
            ml = msglen - 1;
        if (ml)
            memcpy(msg, nl + 1, ml);
        msg[ml] = '\0';
    }
    free(d);
    return 0;
}

int ray_wf_lock_(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
