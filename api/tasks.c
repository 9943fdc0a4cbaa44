/*
 * tasks.c — submitting tasks (ray_call: TASK_SUBMIT, fire and forget, return
 * IDs computed locally) and the context of a running task (ray_return,
 * ray_return_alloc, ray_fail) that worker.c hands to job functions.
 */
#include "api/api_internal.h"

#include "common/ids.h"
#include "sched/resources.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ray_task {
    pthread_mutex_t mu;
    uint8_t id[RAY_ID_SIZE];
    char name[128];
    int nret;     /* returns the caller expects */
    int nset;     /* returns set so far (ray_return / ray_return_alloc) */
    int nalloc;   /* of which created in place, to seal when the function returns */
    uint32_t alloc_index[API_MAX_RETURNS];
    bool failed;
    char msg[1024];
    /* local contexts (ray_task_local_new): the return value stays here */
    bool local;
    void *data;      /* the owner's pointer, ray_task_local_data */
    ray_value lret;  /* the first return value (NIL if none) */
    void *lmem;      /* payload of a STR/BYTES lret; grows, reused */
    struct buf lpack; /* a LIST/MAP lret, packed; its elements point here ... */
    void *lelems;    /* ... and its arrays are this block */
    size_t lcap;
    /* OBJ_PUT frames of small returns, sent with the task's TASK_DONE in one
     * write (api_task_frames_): a return is the task's to give when it ends */
    struct buf out;
};

/* ---- options and spec helpers ------------------------------------------------ */

/* Check one of num_cpus / num_gpus / memory against the node's rules
 * (runtime/tasks.c spec_parse and spec_demand): finite, >= 0 and below MAX. */
static int check_amount(const char *what, double x, double max)
{
    if (!isfinite(x) || x < 0 || x >= max)
        return api_error_(RAY_EINVAL, "%s must be a finite number >= 0 and below %g (got %g)", what,
                          max, x);
    return RAY_OK;
}

int api_opts_resolve_(const ray_opts *opts, ray_opts defaults, ray_opts *o)
{
    char err[200];
    int rc;
    *o = opts ? *opts : defaults;
    if (o->num_returns < 1 || o->num_returns > API_MAX_RETURNS)
        return api_error_(RAY_EINVAL, "num_returns must be 1..%d (got %d)", API_MAX_RETURNS,
                          o->num_returns);
    if ((rc = check_amount("num_cpus", o->num_cpus, API_MAX_UNITS)) != RAY_OK ||
        (rc = check_amount("num_gpus", o->num_gpus, API_MAX_UNITS)) != RAY_OK ||
        (rc = check_amount("memory", o->memory, (double)(RES_AMOUNT_MAX / RES_SCALE))) != RAY_OK)
        return rc;
    /* the node reads it with the same parser: what it would refuse fails here */
    if (o->resources && res_scan(o->resources, NULL, NULL, err, sizeof err) < 0)
        return api_error_(RAY_EINVAL, "resources \"%s\": %s", o->resources, err);
    if (o->max_retries < -1 || o->max_restarts < -1)
        return api_error_(RAY_EINVAL, "max_retries and max_restarts must be >= -1");
    if (!ids_is_zero(o->pg.id) && (rc = api_pg_check_(o->pg, o->bundle)) != RAY_OK)
        return rc;
    /* from here on o->runtime_env is the call's canonical environment */
    const char *canon = NULL;
    if ((rc = api_renv_call_(o->runtime_env, &canon)) != RAY_OK)
        return rc;
    o->runtime_env = canon;
    return RAY_OK;
}

void api_spec_key_(struct buf *b, const char *key)
{
    mpw_str(b, key, strlen(key));
}

void api_spec_resources_(struct buf *b, const ray_opts *o)
{
    api_spec_key_(b, "cpu");
    mpw_double(b, o->num_cpus);
    api_spec_key_(b, "gpu");
    mpw_double(b, o->num_gpus);
    api_spec_key_(b, "mem");
    mpw_double(b, o->memory);
    api_spec_key_(b, "res");
    mpw_cstr(b, o->resources ? o->resources : "");
    api_spec_key_(b, "pg"); /* 20 zero bytes: none */
    mpw_bin(b, o->pg.id, RAY_ID_SIZE);
    api_spec_key_(b, "bundle");
    mpw_int(b, ids_is_zero(o->pg.id) ? -1 : o->bundle);
    api_spec_key_(b, "renv"); /* canonical (api_opts_resolve_), "" for none */
    mpw_cstr(b, o->runtime_env ? o->runtime_env : "");
}

/* ---- ray_call ------------------------------------------------------------------- */

static int ray_call_impl(const char *fn, const ray_value *args, size_t nargs, const ray_opts *opts,
             ray_ref *ret);

/* ray_call with its timeline span (submit, events.c). */
int ray_call(const char *fn, const ray_value *args, size_t nargs, const ray_opts *opts,
             ray_ref *ret)
{
    if (!api_events_on_())
        return ray_call_impl(fn, args, nargs, opts, ret);
    long long t0 = api_events_now_us_();
    int rc = ray_call_impl(fn, args, nargs, opts, ret);
    if (rc == RAY_OK && ret) {
        uint8_t task[RAY_ID_SIZE];
        ids_with_index(task, ret->id, 0);
        api_event_add_('S', t0, api_events_now_us_(), task, 0, fn);
    }
    return rc;
}

static int ray_call_impl(const char *fn, const ray_value *args, size_t nargs, const ray_opts *opts,
             ray_ref *ret)
{
    ray_opts o;
    uint8_t id[RAY_ID_SIZE];
    struct buf spec = BUF_INIT;
    int rc;

    api_error_clear_();
    if (fn == NULL || ret == NULL)
        return api_error_(RAY_EINVAL, "ray_call: fn and ret must not be NULL");
    if ((rc = api_opts_resolve_(opts, RAY_OPTS, &o)) != RAY_OK)
        return rc;
    if (api_registry_function_(fn) == NULL)
        return api_error_(RAY_EINVAL, "no remote function '%s' in job library %s", fn,
                          api_registry_library_());
    if ((rc = api_client_check_()) != RAY_OK)
        return rc;

    api_id_new_(id, 0);
    mpw_map(&spec, 7 + API_SPEC_RESOURCE_PAIRS);
    api_spec_key_(&spec, "id");
    mpw_bin(&spec, id, RAY_ID_SIZE);
    api_spec_key_(&spec, "fn");
    mpw_cstr(&spec, fn);
    api_spec_key_(&spec, "args");
    if ((rc = api_args_pack_(&spec, args, nargs)) != RAY_OK)
        goto out;
    api_spec_key_(&spec, "nret");
    mpw_uint(&spec, (uint64_t)o.num_returns);
    api_spec_resources_(&spec, &o);
    api_spec_key_(&spec, "retries");
    mpw_int(&spec, o.max_retries);
    api_spec_key_(&spec, "retry_err");
    mpw_bool(&spec, o.retry_on_error);
    api_spec_key_(&spec, "name");
    mpw_cstr(&spec, fn);
    if ((rc = api_buf_check_(&spec, fn)) != RAY_OK)
        goto out;
    /* a repeated shape goes straight to a leased worker (direct.c) */
    if ((rc = api_direct_submit_(&spec, id, fn, &o, args, nargs)) == RAY_OK) {
        ret[0] = (ray_ref){ { 0 } };
        ids_with_index(ret[0].id, id, 1);
        goto out;
    }
    rc = api_spec_send_(&spec, PROTO_TASK_SUBMIT, "ray_call", fn, id, o.num_returns, ret);
out:
    buf_free(&spec);
    return rc;
}

int api_spec_send_(const struct buf *spec, uint32_t type, const char *what, const char *name,
                   const uint8_t *id, int nret, ray_ref *ret)
{
    struct buf f = BUF_INIT;
    int rc = api_buf_check_(spec, name);
    if (rc != RAY_OK)
        return rc;
    if (proto_pack(&f, type, spec->data, spec->len) < 0)
        rc = api_pack_error_(&f, "%s %s: arguments too large for one message", what, name);
    else
        rc = api_client_send_(&f);
    buf_free(&f);
    for (int i = 0; rc == RAY_OK && i < nret; i++)
        ids_with_index(ret[i].id, id, (uint32_t)i + 1);
    return rc;
}

/* ---- the running task -------------------------------------------------------------- */

static int local_return(ray_task *t, ray_value v, size_t alloc_len, void **data);

ray_task *api_task_new_(const uint8_t id[RAY_ID_SIZE], const char *name, int nret)
{
    ray_task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    memcpy(t->id, id, RAY_ID_SIZE);
    snprintf(t->name, sizeof t->name, "%s", name ? name : "?");
    t->nret = nret < 0 ? 0 : nret > API_MAX_RETURNS ? API_MAX_RETURNS : nret;
    return t;
}

void api_task_free_(ray_task *t)
{
    if (t == NULL)
        return;
    buf_free(&t->out);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void api_task_finish_(ray_task *t)
{
    uint8_t rid[RAY_ID_SIZE];
    pthread_mutex_lock(&t->mu);
    int n = t->nalloc;
    t->nalloc = 0;
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; i < n; i++) {
        ids_with_index(rid, t->id, t->alloc_index[i]);
        api_object_seal_(rid);
    }
}

bool api_task_failed_(ray_task *t)
{
    pthread_mutex_lock(&t->mu);
    bool f = t->failed;
    pthread_mutex_unlock(&t->mu);
    return f;
}

bool api_task_returned_(ray_task *t)
{
    pthread_mutex_lock(&t->mu);
    bool r = t->nset > 0;
    pthread_mutex_unlock(&t->mu);
    return r;
}

const char *api_task_message_(ray_task *t)
{
    return t->msg;
}

/* Claim the next return index (1-based); returns 0 when all are set. */
static uint32_t next_return(ray_task *t)
{
    uint32_t idx = 0;
    pthread_mutex_lock(&t->mu);
    if (t->nset < t->nret)
        idx = (uint32_t)++t->nset;
    pthread_mutex_unlock(&t->mu);
    return idx;
}

int ray_return(ray_task *t, ray_value v)
{
    uint8_t rid[RAY_ID_SIZE];
    api_error_clear_();
    if (t == NULL)
        return api_error_(RAY_EINVAL, "ray_return: no task");
    uint32_t idx = next_return(t);
    if (idx == 0)
        return api_error_(RAY_EINVAL, "%s has %d return value%s; ray_return called once too often",
                          t->name, t->nret, t->nret == 1 ? "" : "s");
    if (t->local)
        return local_return(t, v, 0, NULL);
    ids_with_index(rid, t->id, idx);
    /* a small value's OBJ_PUT waits for the TASK_DONE (one write for both);
     * a large one is written in the store now */
    struct buf frames = BUF_INIT;
    api_put_capture_(&frames);
    int rc = api_object_store_(rid, &v);
    api_put_capture_(NULL);
    if (frames.len) {
        pthread_mutex_lock(&t->mu);
        buf_append(&t->out, frames.data, frames.len);
        pthread_mutex_unlock(&t->mu);
    }
    buf_free(&frames);
    return rc;
}

struct buf *api_task_frames_(ray_task *t)
{
    return &t->out;
}

int ray_return_alloc(ray_task *t, size_t len, void **data)
{
    uint8_t rid[RAY_ID_SIZE];
    api_error_clear_();
    if (t == NULL || data == NULL)
        return api_error_(RAY_EINVAL, "ray_return_alloc: task and data must not be NULL");
    *data = NULL;
    uint32_t idx = next_return(t);
    if (idx == 0)
        return api_error_(RAY_EINVAL,
                          "%s has %d return value%s; ray_return_alloc called once too often",
                          t->name, t->nret, t->nret == 1 ? "" : "s");
    if (t->local)
        return local_return(t, RAY_BYTES_V(NULL, len), len, data);
    ids_with_index(rid, t->id, idx);
    int rc = api_object_create_(rid, RAY_BYTES, len, data);
    if (rc != RAY_OK)
        return rc;
    pthread_mutex_lock(&t->mu);
    t->alloc_index[t->nalloc++] = idx;
    pthread_mutex_unlock(&t->mu);
    return RAY_OK;
}

int ray_fail(ray_task *t, const char *fmt, ...)
{
    if (t == NULL) {
        api_error_clear_();
        return RAY_ETASK;
    }
    /* format first: `ray_fail(t, "...: %s", ray_last_error())` is common */
    char msg[sizeof t->msg];
    va_list ap;
    va_start(ap, fmt);
    if (fmt)
        vsnprintf(msg, sizeof msg, fmt, ap);
    else
        snprintf(msg, sizeof msg, "failed");
    va_end(ap);
    api_error_clear_();
    pthread_mutex_lock(&t->mu);
    memcpy(t->msg, msg, sizeof msg);
    t->failed = true;
    pthread_mutex_unlock(&t->mu);
    return RAY_ETASK;
}

/* ---- local contexts: a registered function run in this thread ------------------------
 * For libraries that run many small calls inside one task (ray_pool's actors,
 * ray_tune's trials): the function's return value is kept in the context
 * instead of the object store, so a call costs a function call. */

/* Keep V (or, with DATA, room for ALLOC_LEN bytes) as T's return value. */
static int local_return(ray_task *t, ray_value v, size_t alloc_len, void **data)
{
    size_t need = 0;
    if (data == NULL && (v.type == RAY_LIST || v.type == RAY_MAP)) {
        /* copied as ray_return would: packed, then decoded over the copy */
        buf_reset(&t->lpack);
        int rc = api_compound_pack_(&t->lpack, &v);
        if (rc != RAY_OK)
            return rc;
        free(t->lelems);
        t->lelems = NULL;
        rc = api_object_decode_((uint32_t)v.type, t->lpack.data, t->lpack.len, &t->lret,
                                &t->lelems);
        if (rc != RAY_OK)
            t->lret = RAY_NIL_V;
        t->lret.pin_ = NULL;
        return rc;
    }
    if (data)
        need = alloc_len;
    else if (v.type == RAY_STR)
        need = v.as.buf.len + 1;
    else if (v.type == RAY_BYTES)
        need = v.as.buf.len;
    else if (v.type > RAY_MAP)
        return api_error_(RAY_EINVAL, "%s: ray_return of an unknown value type %d", t->name,
                          (int)v.type);
    if (need > t->lcap) {
        void *m = realloc(t->lmem, need);
        if (m == NULL)
            return api_error_(RAY_ENOMEM, "%s: no memory for a %zu-byte return value", t->name,
                              need);
        t->lmem = m;
        t->lcap = need;
    }
    t->lret = v;
    t->lret.pin_ = NULL;
    if (data) {
        *data = t->lmem;
        t->lret.as.buf.ptr = t->lmem;
    } else if (v.type == RAY_STR || v.type == RAY_BYTES) {
        if (v.as.buf.len > 0 && v.as.buf.ptr == NULL)
            return api_error_(RAY_EINVAL, "%s: ray_return of a NULL buffer", t->name);
        if (v.as.buf.len > 0)
            memcpy(t->lmem, v.as.buf.ptr, v.as.buf.len);
        if (v.type == RAY_STR)
            ((char *)t->lmem)[v.as.buf.len] = '\0';
        t->lret.as.buf.ptr = t->lmem;
    }
    return RAY_OK;
}

ray_fn ray_function_lookup(const char *name)
{
    return api_registry_function_(name);
}

ray_task *ray_task_local_new(const char *name, void *data)
{
    ray_task *t = api_task_new_((const uint8_t[RAY_ID_SIZE]){ 0 }, name, 1);
    if (t == NULL)
        return NULL;
    t->local = true;
    t->data = data;
    t->lret = RAY_NIL_V;
    return t;
}

void *ray_task_local_data(ray_task *t)
{
    return t && t->local ? t->data : NULL;
}

int ray_task_local_run(ray_task *t, ray_fn fn, const ray_value *args, size_t nargs,
                       ray_value *ret)
{
    api_error_clear_();
    if (ret)
        *ret = RAY_NIL_V;
    if (t == NULL || !t->local || fn == NULL)
        return api_error_(RAY_EINVAL, "ray_task_local_run: a local task and a function, please");
    t->nset = 0;
    t->failed = false;
    t->msg[0] = '\0';
    t->lret = RAY_NIL_V;
    int rc = fn(t, args, nargs);
    if (t->failed)
        return api_error_(RAY_ETASK, "%s", t->msg);
    if (rc != 0)
        return api_error_(RAY_ETASK, "returned %d", rc);
    if (ret)
        *ret = t->lret;
    return RAY_OK;
}

void ray_task_local_free(ray_task *t)
{
    if (t == NULL)
        return;
    free(t->lmem);
    free(t->lelems);
    buf_free(&t->lpack);
    api_task_free_(t);
}
