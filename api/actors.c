/*
 * actors.c — creating, calling, killing and looking up actors
 * (docs/runtime.md "Actors"); placement groups are in pg.c.
 *
 * The process remembers the class of every actor it created, so that
 * ray_actor_call can reject a method the class does not have before
 * submitting; handles it did not create (lookup, arguments) are not checked
 * here and the actor's worker fails an unknown method instead.
 */
#include "api/api_internal.h"
#include "api/callseq.h"

#include "common/ids.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct known_actor {
    uint8_t id[RAY_ID_SIZE];
    char *cls;
    struct known_actor *next;
};
static pthread_mutex_t known_mu = PTHREAD_MUTEX_INITIALIZER;
static struct known_actor *known;

static void known_add(const uint8_t *id, const char *cls)
{
    struct known_actor *k = calloc(1, sizeof *k);
    if (k == NULL || (k->cls = strdup(cls)) == NULL) {
        free(k); /* only a local check is lost */
        return;
    }
    memcpy(k->id, id, RAY_ID_SIZE);
    pthread_mutex_lock(&known_mu);
    k->next = known;
    known = k;
    pthread_mutex_unlock(&known_mu);
}

/* Whether this process created actor ID; if so, CLS is its class. */
static bool known_class(const uint8_t *id, char *cls, size_t clslen)
{
    bool found = false;
    pthread_mutex_lock(&known_mu);
    for (struct known_actor *k = known; k; k = k->next) {
        if (memcmp(k->id, id, RAY_ID_SIZE) == 0) {
            snprintf(cls, clslen, "%s", k->cls);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&known_mu);
    return found;
}

int ray_actor_create(const char *cls, const ray_value *args, size_t nargs, const ray_opts *opts,
                     ray_actor *out)
{
    ray_opts o;
    uint8_t id[RAY_ID_SIZE];
    struct buf spec = BUF_INIT, f = BUF_INIT;
    void *body = NULL;
    struct proto_msg m;
    uint64_t reqid = 0;
    int rc;

    api_error_clear_();
    if (cls == NULL || out == NULL)
        return api_error_(RAY_EINVAL, "ray_actor_create: cls and out must not be NULL");
    if ((rc = api_opts_resolve_(opts, RAY_ACTOR_OPTS, &o)) != RAY_OK)
        return rc;
    if (o.max_concurrency < 1)
        return api_error_(RAY_EINVAL, "max_concurrency must be >= 1 (got %d)", o.max_concurrency);
    if (api_registry_actor_(cls, NULL, NULL) < 0)
        return api_error_(RAY_EINVAL, "no actor class '%s' in job library %s", cls,
                          api_registry_library_());
    if (o.share_worker && o.num_gpus > 0)
        return api_error_(RAY_EINVAL, "actor %s: share_worker cannot be given with num_gpus %g: "
                          "a GPU actor gets a worker process of its own", cls, o.num_gpus);
    if (o.share_worker && o.max_concurrency > 1)
        return api_error_(RAY_EINVAL, "actor %s: share_worker needs max_concurrency 1 (got %d): "
                          "a shared worker runs one call of each actor at a time", cls,
                          o.max_concurrency);
    if (o.share_worker && o.detached)
        return api_error_(RAY_EINVAL, "actor %s: share_worker cannot be given with detached: "
                          "a shared worker belongs to its job", cls);
    if ((rc = api_client_check_()) != RAY_OK)
        return rc;

    /* job number, 12 random bytes, index 0 */
    uint32_t job = api_client_job_();
    id[0] = (uint8_t)(job >> 24);
    id[1] = (uint8_t)(job >> 16);
    id[2] = (uint8_t)(job >> 8);
    id[3] = (uint8_t)job;
    if ((rc = api_random_(id + 4, 12, "ray_actor_create")) != RAY_OK)
        return rc;
    ids_with_index(id, id, 0);

    bool named = o.name && o.name[0];
    if (named)
        reqid = api_client_reqid_();
    mpw_map(&spec, 6 + API_SPEC_RESOURCE_PAIRS + (named ? 2 : 0) + (o.share_worker ? 1 : 0));
    api_spec_key_(&spec, "id");
    mpw_bin(&spec, id, RAY_ID_SIZE);
    api_spec_key_(&spec, "fn");
    mpw_cstr(&spec, cls);
    api_spec_key_(&spec, "args");
    if ((rc = api_args_pack_(&spec, args, nargs)) != RAY_OK)
        goto out;
    api_spec_resources_(&spec, &o);
    api_spec_key_(&spec, "max_restarts");
    mpw_int(&spec, o.max_restarts);
    api_spec_key_(&spec, "max_conc");
    mpw_uint(&spec, (uint64_t)o.max_concurrency);
    api_spec_key_(&spec, "detached");
    mpw_bool(&spec, o.detached);
    if (o.share_worker) {
        api_spec_key_(&spec, "share"); /* docs/actors-shared.md */
        mpw_bool(&spec, true);
    }
    if (named) {
        api_spec_key_(&spec, "name");
        mpw_cstr(&spec, o.name);
        api_spec_key_(&spec, "reqid");
        mpw_uint(&spec, reqid);
    }
    if ((rc = api_buf_check_(&spec, cls)) != RAY_OK)
        goto out;
    if (proto_pack(&f, PROTO_ACTOR_CREATE, spec.data, spec.len) < 0) {
        rc = api_pack_error_(&f, "actor %s: arguments too large for one message", cls);
        goto out;
    }
    if (named) {
        if ((rc = api_client_request_(&f, reqid, &body, &m)) != RAY_OK)
            goto out;
        int64_t status = m.f[1].as.i;
        if (status != RAY_OK) {
            rc = api_error_(status < 0 && status >= RAY_EPG ? (int)status : RAY_EINVAL, "%.*s",
                            (int)m.f[2].as.s.len, m.f[2].as.s.ptr);
            goto out;
        }
    } else if ((rc = api_client_send_(&f)) != RAY_OK) {
        goto out;
    }
    known_add(id, cls);
    memcpy(out->id, id, RAY_ID_SIZE);
out:
    free(body);
    buf_free(&spec);
    buf_free(&f);
    return rc;
}

static int ray_actor_call_impl(ray_actor a, const char *method, const ray_value *args, size_t nargs,
                   const ray_opts *opts, ray_ref *ret);

/* ray_actor_call with its timeline span (submit, events.c). */
int ray_actor_call(ray_actor a, const char *method, const ray_value *args, size_t nargs,
                   const ray_opts *opts, ray_ref *ret)
{
    if (!api_events_on_())
        return ray_actor_call_impl(a, method, args, nargs, opts, ret);
    long long t0 = api_events_now_us_();
    int rc = ray_actor_call_impl(a, method, args, nargs, opts, ret);
    if (rc == RAY_OK && ret) {
        uint8_t task[RAY_ID_SIZE];
        ids_with_index(task, ret->id, 0);
        api_event_add_('s', t0, api_events_now_us_(), task, 0, method);
    }
    return rc;
}

static int ray_actor_call_impl(ray_actor a, const char *method, const ray_value *args, size_t nargs,
                   const ray_opts *opts, ray_ref *ret)
{
    ray_opts o;
    uint8_t id[RAY_ID_SIZE];
    char cls[128];
    struct buf spec = BUF_INIT;
    int rc;

    api_error_clear_();
    if (method == NULL || ret == NULL)
        return api_error_(RAY_EINVAL, "ray_actor_call: method and ret must not be NULL");
    if (opts && opts->runtime_env)
        return api_error_(RAY_EINVAL, "runtime_env: an actor's calls run in its own environment; "
                          "give runtime_env to ray_actor_create");
    if ((rc = api_opts_resolve_(opts, RAY_OPTS, &o)) != RAY_OK)
        return rc;
    if (ids_is_zero(a.id))
        return api_error_(RAY_EINVAL, "ray_actor_call: not an actor handle");
    bool mine = known_class(a.id, cls, sizeof cls);
    if (mine && api_registry_method_(cls, method) == NULL)
        return api_error_(RAY_EINVAL, "actor class '%s' has no method '%s' in job library %s",
                          cls, method, api_registry_library_());
    if ((rc = api_client_check_()) != RAY_OK)
        return rc;

    api_id_new_(id, 0);
    mpw_map(&spec, 7);
    api_spec_key_(&spec, "id");
    mpw_bin(&spec, id, RAY_ID_SIZE);
    api_spec_key_(&spec, "actor");
    mpw_bin(&spec, a.id, RAY_ID_SIZE);
    api_spec_key_(&spec, "fn");
    mpw_cstr(&spec, method);
    api_spec_key_(&spec, "args");
    if ((rc = api_args_pack_(&spec, args, nargs)) != RAY_OK)
        goto out;
    api_spec_key_(&spec, "nret");
    mpw_uint(&spec, (uint64_t)o.num_returns);
    /* numbered last, so that the actor's worker can refuse a repeat: the
     * number is taken and the call sent under one lock, so that the actor
     * gets this process's calls in number order (callseq.h) */
    api_spec_key_(&spec, "caller");
    mpw_bin(&spec, callseq_caller(), RAY_ID_SIZE);
    api_spec_key_(&spec, "seq");
    uint64_t seq;
    struct callseq_out *cs = callseq_out_begin(a.id, &seq);
    mpw_uint(&spec, seq);
    char name[sizeof cls + 96]; /* "Class.method" as the node names it; "method" for a handle not made here */
    if (mine)
        snprintf(name, sizeof name, "%s.%s", cls, method);
    else
        snprintf(name, sizeof name, "%s", method);
    /* to the actor's worker when it can (direct_actor.c), else to the node */
    if (api_buf_check_(&spec, method) == RAY_OK &&
        api_direct_actor_call_(a.id, &spec, id, name, o.num_returns, args, nargs) == RAY_OK)
        ids_with_index(ret[0].id, id, 1);
    else
        rc = api_spec_send_(&spec, PROTO_ACTOR_CALL, "actor call", method, id, o.num_returns, ret);
    callseq_out_end(cs);
out:
    buf_free(&spec);
    return rc;
}

int ray_actor_kill(ray_actor a, bool no_restart)
{
    api_error_clear_();
    if (ids_is_zero(a.id))
        return api_error_(RAY_EINVAL, "ray_actor_kill: not an actor handle");
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    struct buf f = BUF_INIT;
    proto_pack(&f, PROTO_ACTOR_KILL, a.id, (int)no_restart);
    rc = api_client_send_(&f);
    buf_free(&f);
    return rc;
}

int ray_actor_lookup(const char *name, ray_actor *out)
{
    api_error_clear_();
    if (name == NULL || name[0] == '\0' || out == NULL)
        return api_error_(RAY_EINVAL, "ray_actor_lookup: name and out must be given");
    void *body;
    struct proto_msg m;
    int status;
    int rc = api_client_lookup_(PROTO_ACTOR_LOOKUP, name, &body, &m, &status);
    if (rc != RAY_OK)
        return rc;
    if (status == RAY_OK)
        memcpy(out->id, m.f[2].as.s.ptr, RAY_ID_SIZE);
    else if (status == RAY_ENOTFOUND)
        rc = api_error_(RAY_ENOTFOUND, "no actor named '%s'", name);
    else
        rc = api_error_(status < 0 && status >= RAY_EAUTH ? (int)status : RAY_ECONN,
                        "cannot look up actor '%s': %s", name, ray_strerror((int)status));
    free(body);
    return rc;
}
