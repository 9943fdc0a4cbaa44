/*
 * registry.c — the remote functions, actor classes and methods a process
 * knows, filled by the constructors that RAY_REMOTE / RAY_ACTOR / RAY_METHOD
 * put in a job library (they run inside dlopen, or before main for a
 * program that defines them itself). Workers look names up to run them;
 * callers check names before submitting. A name registered twice keeps the
 * last registration, with a warning on stderr.
 *
 * Entries live in one list in registration order; lookups are linear, which
 * is fine for the tens of names a job registers. Names are copied. If a copy
 * cannot be allocated the registration is dropped with a message on stderr
 * (constructors cannot report errors); the name then fails its lookup later.
 */
#include "api/api_internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reg_entry {
    enum api_reg_kind kind;
    char *name;   /* function or class */
    char *method; /* methods only */
    union {
        ray_fn fn;
        struct { ray_actor_new_fn mk; ray_actor_free_fn fr; } cls;
        ray_method_fn method;
    } u;
    struct reg_entry *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct reg_entry *reg_head, *reg_tail;
static char *reg_library;

static const char *kind_word(enum api_reg_kind k)
{
    return k == API_REG_FUNCTION ? "remote function" : k == API_REG_ACTOR ? "actor class" : "method";
}

/* Caller holds reg_mu. */
static struct reg_entry *do_find(enum api_reg_kind kind, const char *name, const char *method)
{
    for (struct reg_entry *e = reg_head; e; e = e->next) {
        if (e->kind != kind || strcmp(e->name, name) != 0)
            continue;
        if (kind == API_REG_METHOD && strcmp(e->method, method) != 0)
            continue;
        return e;
    }
    return NULL;
}

/* Find or add the entry for (KIND, NAME, METHOD); NULL on OOM or bad names. */
static struct reg_entry *do_slot(enum api_reg_kind kind, const char *name, const char *method)
{
    if (name == NULL || name[0] == '\0' || (kind == API_REG_METHOD && (method == NULL || !method[0]))) {
        fprintf(stderr, "ray: ignoring a %s registered without a name\n", kind_word(kind));
        return NULL;
    }
    struct reg_entry *e = do_find(kind, name, method);
    if (e) {
        if (kind == API_REG_METHOD)
            fprintf(stderr, "ray: method '%s.%s' registered twice; the last one wins\n", name,
                    method);
        else
            fprintf(stderr, "ray: %s '%s' registered twice; the last one wins\n", kind_word(kind),
                    name);
        return e;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL)
        goto fail;
    e->kind = kind;
    e->name = strdup(name);
    if (e->name == NULL)
        goto fail;
    if (kind == API_REG_METHOD && (e->method = strdup(method)) == NULL)
        goto fail;
    if (reg_tail)
        reg_tail->next = e;
    else
        reg_head = e;
    reg_tail = e;
    return e;
fail:
    fprintf(stderr, "ray: out of memory registering %s '%s'\n", kind_word(kind), name);
    if (e) {
        free(e->name);
        free(e->method);
        free(e);
    }
    return NULL;
}

void ray_register_function_(const char *name, ray_fn fn)
{
    pthread_mutex_lock(&reg_mu);
    struct reg_entry *e = do_slot(API_REG_FUNCTION, name, NULL);
    if (e)
        e->u.fn = fn;
    pthread_mutex_unlock(&reg_mu);
}

void ray_register_actor_(const char *cls, ray_actor_new_fn mk, ray_actor_free_fn fr)
{
    pthread_mutex_lock(&reg_mu);
    struct reg_entry *e = do_slot(API_REG_ACTOR, cls, NULL);
    if (e) {
        e->u.cls.mk = mk;
        e->u.cls.fr = fr;
    }
    pthread_mutex_unlock(&reg_mu);
}

void ray_register_method_(const char *cls, const char *method, ray_method_fn fn)
{
    pthread_mutex_lock(&reg_mu);
    struct reg_entry *e = do_slot(API_REG_METHOD, cls, method);
    if (e)
        e->u.method = fn;
    pthread_mutex_unlock(&reg_mu);
}

ray_fn api_registry_function_(const char *name)
{
    ray_fn fn = NULL;
    if (name == NULL)
        return NULL;
    pthread_mutex_lock(&reg_mu);
    struct reg_entry *e = do_find(API_REG_FUNCTION, name, NULL);
    if (e)
        fn = e->u.fn;
    pthread_mutex_unlock(&reg_mu);
    return fn;
}

int api_registry_actor_(const char *cls, ray_actor_new_fn *mk, ray_actor_free_fn *fr)
{
    int rc = -1;
    if (cls == NULL)
        return -1;
    pthread_mutex_lock(&reg_mu);
    struct reg_entry *e = do_find(API_REG_ACTOR, cls, NULL);
    if (e) {
        if (mk)
            *mk = e->u.cls.mk;
        if (fr)
            *fr = e->u.cls.fr;
        rc = 0;
    }
    pthread_mutex_unlock(&reg_mu);
    return rc;
}

ray_method_fn api_registry_method_(const char *cls, const char *method)
{
    ray_method_fn fn = NULL;
    if (cls == NULL || method == NULL)
        return NULL;
    pthread_mutex_lock(&reg_mu);
    struct reg_entry *e = do_find(API_REG_METHOD, cls, method);
    if (e)
        fn = e->u.method;
    pthread_mutex_unlock(&reg_mu);
    return fn;
}

void api_registry_foreach_(void (*fn)(enum api_reg_kind kind, const char *name,
                                      const char *method, void *arg),
                           void *arg)
{
    pthread_mutex_lock(&reg_mu);
    for (struct reg_entry *e = reg_head; e; e = e->next)
        fn(e->kind, e->name, e->method, arg);
    pthread_mutex_unlock(&reg_mu);
}

void api_registry_set_library_(const char *path)
{
    char *copy = NULL;
    if (path) {
        const char *slash = strrchr(path, '/');
        copy = strdup(slash ? slash + 1 : path);
    }
    pthread_mutex_lock(&reg_mu);
    free(reg_library);
    reg_library = copy;
    pthread_mutex_unlock(&reg_mu);
}

const char *api_registry_library_(void)
{
    /* Set once at start-up (driver/worker main, ray_init) before calls that
     * read it, so the pointer stays valid while it is used. */
    pthread_mutex_lock(&reg_mu);
    const char *s = reg_library ? reg_library : "(none loaded)";
    pthread_mutex_unlock(&reg_mu);
    return s;
}

const char *api_library_name_(const char *path)
{
    const char *name = getenv("RAY_JOB_ENTRYPOINT");
    return name && name[0] ? name : path;
}

const char *api_dlerror_(const char *path)
{
    const char *e = dlerror();
    if (e == NULL)
        return "unknown error";
    size_t n = strlen(path);
    if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
        e += n + 2;
    return e;
}
