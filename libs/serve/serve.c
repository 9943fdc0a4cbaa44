/*
 * serve.c — the caller's side of ray_serve.h: deploying an application
 * (proxies started if missing, the application's controller replaced),
 * deleting one, the status report, and deployment handles. All of it is
 * actor calls on Serve's named actors (serve_internal.h), so it works the
 * same from a job's driver, from `ray serve` and from inside a replica.
 */
#include "libs/serve/serve_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVE_CALL_TIMEOUT_MS 30000
#define HANDLE_REFRESH_S 1.0

/* Call METHOD of A with ARGS and wait for the value (*OUT, release it). */
static int call_get(ray_actor a, const char *method, const ray_value *args, size_t n,
                    int64_t timeout_ms, ray_value *out)
{
    ray_ref ref;
    int rc = ray_actor_call(a, method, args, n, NULL, &ref);
    if (rc != RAY_OK)
        return rc;
    rc = ray_get(ref, timeout_ms, out);
    if (rc != RAY_OK) { /* ray_free clears ray_last_error: keep it */
        char why[1024];
        snprintf(why, sizeof why, "%s", ray_last_error());
        ray_free(&ref, 1);
        return ray_error_set(rc, "%s", why);
    }
    ray_free(&ref, 1);
    return rc;
}

static void proxy_name(const char *ip, char *out, size_t len)
{
    if (ip && *ip)
        snprintf(out, len, SERVE_PROXY_NAME ":%s", ip);
    else
        snprintf(out, len, SERVE_PROXY_NAME);
}

/* Whether running proxy A listens on HOST:PORT. Returns RAY_OK (*SAME set,
 * and its address in AT), or the error of asking it. */
static int proxy_at(ray_actor a, const char *host, int port, bool *same, char *at, size_t atlen,
                    struct serve_http_cfg *where)
{
    ray_value v;
    int rc = call_get(a, "address", NULL, 0, SERVE_CALL_TIMEOUT_MS, &v);
    if (rc != RAY_OK)
        return rc;
    const ray_value *h = ray_list_at(&v, 0), *p = ray_list_at(&v, 1);
    *same = true;
    if (h && p && h->type == RAY_STR && p->type == RAY_INT) {
        snprintf(at, atlen, "%.*s:%lld", (int)h->as.buf.len, (const char *)h->as.buf.ptr,
                 (long long)p->as.i);
        *same = p->as.i == port && h->as.buf.len == strlen(host) &&
                memcmp(h->as.buf.ptr, host, h->as.buf.len) == 0;
        if (where) {
            snprintf(where->host, sizeof where->host, "%.*s", (int)h->as.buf.len,
                     (const char *)h->as.buf.ptr);
            where->port = (int)p->as.i;
        }
    }
    ray_value_release(&v);
    return RAY_OK;
}

/* Make sure proxy NAME runs (pinned to node IP when given) and listens where
 * HTTP says (when it says). A proxy serving no application yet listening elsewhere is
 * started again at the new address; one that serves applications is left
 * alone, and the deploy fails saying where it listens. */
static int proxy_ensure(const char *name, const char *ip, const struct serve_http_cfg *http,
                        struct serve_http_cfg *where)
{
    ray_actor a;
    ray_value v;
    const char *host = http->host[0] ? http->host : "127.0.0.1";
    if (http->location == RAY_SERVE_EVERY_NODE && ip && *ip && strcmp(host, "0.0.0.0") != 0)
        host = ip; /* several nodes of one machine: each listens on its own address */
    for (int attempt = 0;; attempt++) {
        if (ray_actor_lookup(name, &a) != RAY_OK) {
            char res[128];
            ray_opts o = RAY_ACTOR_OPTS;
            o.detached = true;
            o.name = name;
            o.max_restarts = -1;
            o.max_concurrency = 2;
            if (ip && *ip) {
                snprintf(res, sizeof res, "node:%s=0.001", ip);
                o.resources = res;
            }
            ray_value args[2] = { RAY_S(host), RAY_I(http->port) };
            int rc = ray_actor_create(serve_proxy_class_, args, 2, &o, &a);
            if (rc != RAY_OK && ray_actor_lookup(name, &a) != RAY_OK) { /* a racing deploy made it */
                if (attempt < 50 && rc == RAY_EINVAL) { /* the name of one just killed, not free yet */
                    usleep(100 * 1000);
                    continue;
                }
                return ray_error_set(rc, "ray_serve: cannot start proxy %s: %s", name,
                                     ray_last_error());
            }
        }
        int rc = call_get(a, "ping", NULL, 0, SERVE_CALL_TIMEOUT_MS, &v);
        if (rc != RAY_OK)
            return ray_error_set(rc, "ray_serve: proxy %s did not start: %s", name, ray_last_error());
        ray_value_release(&v);
        bool same = true;
        char at[128] = "?";
        if ((rc = proxy_at(a, host, http->port, &same, at, sizeof at, where)) != RAY_OK)
            return ray_error_set(rc, "ray_serve: proxy %s does not answer: %s", name, ray_last_error());
        if (same || !http->addr_given)
            return RAY_OK;
        if ((rc = call_get(a, "apps", NULL, 0, SERVE_CALL_TIMEOUT_MS, &v)) != RAY_OK)
            return ray_error_set(rc, "ray_serve: proxy %s does not answer: %s", name, ray_last_error());
        size_t napps = ray_list_len(&v);
        ray_value_release(&v);
        if (napps > 0 || attempt > 0)
            return ray_error_set(RAY_EINVAL,
                                 "ray_serve: http_options ask for %s:%d but the proxy serving %zu "
                                 "application(s) listens on %s: delete them first (ray serve delete "
                                 "NAME), or deploy with its address",
                                 host, http->port, napps, at);
        if ((rc = ray_actor_kill(a, true)) != RAY_OK)
            return ray_error_set(rc, "ray_serve: cannot stop proxy %s at %s: %s", name, at,
                                 ray_last_error());
        for (int i = 0; i < 100 && ray_actor_lookup(name, &a) == RAY_OK; i++)
            usleep(50 * 1000); /* until its name is free */
    }
}

int serve_deploy_(const struct serve_app_cfg *cfg, const struct serve_http_cfg *http,
                  const char *const *proxy_ips, size_t nproxy, struct serve_http_cfg *where)
{
    char names[SERVE_MAX_PROXIES][SERVE_NAME_MAX + 32];
    size_t np = 0;
    int rc;
    if (http->location != RAY_SERVE_NO_PROXY) {
        if (nproxy == 0) {
            proxy_name(NULL, names[np], sizeof names[np]);
            if ((rc = proxy_ensure(names[np], NULL, http, np == 0 ? where : NULL)) != RAY_OK)
                return rc;
            np++;
        }
        for (size_t i = 0; i < nproxy && np < SERVE_MAX_PROXIES; i++) {
            if (i == 0 || http->location != RAY_SERVE_EVERY_NODE)
                proxy_name(i == 0 ? NULL : proxy_ips[i], names[np], sizeof names[np]);
            else
                proxy_name(proxy_ips[i], names[np], sizeof names[np]);
            if ((rc = proxy_ensure(names[np], proxy_ips[i], http, np == 0 ? where : NULL)) != RAY_OK)
                return rc;
            np++;
            if (http->location != RAY_SERVE_EVERY_NODE)
                break;
        }
    }
    /* proxies of this deploy that older applications do not know yet */
    if (np > 1) {
        ray_actor head;
        ray_value apps;
        if (ray_actor_lookup(names[0], &head) == RAY_OK &&
            call_get(head, "apps", NULL, 0, 10000, &apps) == RAY_OK) {
            ray_value pl[SERVE_MAX_PROXIES], v;
            for (size_t i = 0; i < np; i++)
                pl[i] = RAY_S(names[i]);
            ray_value arg = RAY_LIST_V(pl, np);
            for (size_t i = 0; i < ray_list_len(&apps); i++) {
                const ray_value *e = ray_list_at(&apps, i);
                char cn[SERVE_NAME_MAX + 32];
                ray_actor ctl;
                if (e->type != RAY_STR)
                    continue;
                snprintf(cn, sizeof cn, SERVE_CONTROLLER_PREFIX "%s", (const char *)e->as.buf.ptr);
                if (ray_actor_lookup(cn, &ctl) == RAY_OK &&
                    call_get(ctl, "add_proxies", &arg, 1, 10000, &v) == RAY_OK)
                    ray_value_release(&v);
            }
            ray_value_release(&apps);
        }
    }
    /* replace an application of the same name */
    rc = ray_serve_delete(cfg->name);
    if (rc != RAY_OK && rc != RAY_ENOTFOUND)
        return rc;

    char cname[SERVE_NAME_MAX + 32];
    snprintf(cname, sizeof cname, SERVE_CONTROLLER_PREFIX "%s", cfg->name);
    struct serve_arena *arena = serve_arena_new_();
    if (arena == NULL)
        return ray_error_set(RAY_ENOMEM, "ray_serve: out of memory");
    ray_value plist[SERVE_MAX_PROXIES];
    for (size_t i = 0; i < np; i++)
        plist[i] = RAY_S(names[i]);
    ray_value args[2] = { serve_app_encode_(cfg, http, arena), RAY_LIST_V(plist, np) };
    if (args[0].type == RAY_NIL) {
        serve_arena_free_(arena);
        return ray_error_set(RAY_ENOMEM, "ray_serve: out of memory");
    }
    ray_opts o = RAY_ACTOR_OPTS;
    o.detached = true;
    o.name = cname;
    o.max_restarts = -1;
    o.max_concurrency = 4;
    ray_actor ctl;
    rc = ray_actor_create(serve_controller_class_, args, 2, &o, &ctl);
    serve_arena_free_(arena);
    if (rc != RAY_OK)
        return ray_error_set(rc, "ray_serve: application %s: cannot start its controller: %s",
                             cfg->name, ray_last_error());
    ray_value to = RAY_I(60000), v;
    rc = call_get(ctl, "ready", &to, 1, 90000, &v);
    if (rc != RAY_OK) {
        char why[600];
        snprintf(why, sizeof why, "%s", ray_last_error());
        ray_actor_kill(ctl, true);
        if (rc == RAY_ETASK && strstr(why, "did not take") != NULL)
            rc = RAY_ETIMEOUT; /* the proxies never answered */
        else if (rc == RAY_ETASK || rc == RAY_EACTOR)
            rc = RAY_EINVAL;   /* the controller could not start the replicas */
        return ray_error_set(rc,
                             "ray_serve: application %s did not start: %s", cfg->name, why);
    }
    ray_value_release(&v);
    return RAY_OK;
}

int ray_serve_run(const ray_serve_application *app, const ray_serve_http_options *http)
{
    struct serve_app_cfg *cfg = calloc(1, sizeof *cfg);
    struct serve_http_cfg h;
    char err[512];
    if (cfg == NULL)
        return ray_error_set(RAY_ENOMEM, "ray_serve_run: out of memory");
    if (serve_app_from_public_(app, cfg, err, sizeof err) < 0) {
        free(cfg);
        return ray_error_set(RAY_EINVAL, "ray_serve_run: %s", err);
    }
    serve_http_from_public_(http, &h);
    int rc = serve_deploy_(cfg, &h, NULL, 0, NULL);
    free(cfg);
    return rc;
}

int ray_serve_delete(const char *name)
{
    char cname[SERVE_NAME_MAX + 32];
    ray_actor ctl;
    ray_value v;
    if (name == NULL)
        return ray_error_set(RAY_EINVAL, "ray_serve_delete: no name");
    snprintf(cname, sizeof cname, SERVE_CONTROLLER_PREFIX "%s", name);
    if (ray_actor_lookup(cname, &ctl) != RAY_OK)
        return ray_error_set(RAY_ENOTFOUND, "ray_serve: no application named %s", name);
    int rc = call_get(ctl, "shutdown", NULL, 0, 60000, &v);
    if (rc == RAY_OK)
        ray_value_release(&v);
    ray_actor_kill(ctl, true);
    for (int i = 0; i < 100; i++) { /* the name is free once the kill is through */
        ray_actor again;
        if (ray_actor_lookup(cname, &again) != RAY_OK || memcmp(&again, &ctl, sizeof ctl) != 0)
            break;
        usleep(50000);
    }
    return RAY_OK;
}

int ray_serve_status(char **text)
{
    ray_actor px;
    ray_value v;
    *text = NULL;
    if (ray_actor_lookup(SERVE_PROXY_NAME, &px) != RAY_OK)
        return ray_error_set(RAY_ENOTFOUND, "ray_serve: Serve is not running (no proxy)");
    int rc = call_get(px, "status", NULL, 0, 10000, &v);
    if (rc != RAY_OK)
        return ray_error_set(rc, "ray_serve: the proxy does not answer: %s", ray_last_error());
    size_t cap = v.as.buf.len + 1 + 16384, used = 0;
    char *out = malloc(cap);
    if (out == NULL) {
        ray_value_release(&v);
        return ray_error_set(RAY_ENOMEM, "ray_serve_status: out of memory");
    }
    used += (size_t)snprintf(out, cap, "%s", v.type == RAY_STR ? (const char *)v.as.buf.ptr : "");
    /* each route line names an application: "  route P -> APP: ..." */
    char *copy = strdup(out);
    ray_value_release(&v);
    for (char *line = copy ? strtok(copy, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char *arrow = strstr(line, " -> "), *colon;
        if (arrow == NULL || (colon = strchr(arrow + 4, ':')) == NULL)
            continue;
        char app[SERVE_NAME_MAX], cname[SERVE_NAME_MAX + 32];
        snprintf(app, sizeof app, "%.*s", (int)(colon - arrow - 4), arrow + 4);
        snprintf(cname, sizeof cname, SERVE_CONTROLLER_PREFIX "%s", app);
        ray_actor ctl;
        ray_value s;
        if (ray_actor_lookup(cname, &ctl) != RAY_OK ||
            call_get(ctl, "status", NULL, 0, 10000, &s) != RAY_OK)
            continue;
        if (s.type == RAY_STR)
            used += (size_t)snprintf(out + used, cap - used, "%s", (const char *)s.as.buf.ptr);
        ray_value_release(&s);
        if (used >= cap)
            break;
    }
    free(copy);
    *text = out;
    return RAY_OK;
}

/* ---- responses (serve_codec.c decodes them) -------------------------------------- */

static int resp_header(int status, const char *ctype, size_t *ctlen)
{
    if (status < 100 || status > 599)
        return ray_error_set(RAY_EINVAL, "ray_serve_respond: status %d is not an HTTP status",
                             status);
    *ctlen = strlen(ctype ? ctype : "text/plain");
    if (*ctlen > 255)
        return ray_error_set(RAY_EINVAL, "ray_serve_respond: content type longer than 255 bytes");
    return RAY_OK;
}

int ray_serve_respond_alloc(ray_task *t, int status, const char *content_type, size_t len,
                            void **data)
{
    size_t ctlen = 0;
    const char *ct = content_type ? content_type : "text/plain";
    int rc = resp_header(status, ct, &ctlen);
    if (rc != RAY_OK)
        return rc;
    uint8_t *p;
    rc = ray_return_alloc(t, SERVE_RESP_HDR + ctlen + len, (void **)&p);
    if (rc != RAY_OK)
        return rc;
    memcpy(p, SERVE_RESP_MAGIC, 4);
    p[4] = (uint8_t)(status >> 8);
    p[5] = (uint8_t)status;
    p[6] = (uint8_t)ctlen;
    memcpy(p + SERVE_RESP_HDR, ct, ctlen);
    *data = p + SERVE_RESP_HDR + ctlen;
    return RAY_OK;
}

/* Responses up to this size are built here and returned by value (one
 * OBJ_PUT message from the replica); larger ones are written in place in
 * shared memory (ray_return_alloc: a create round trip and a seal). */
#define SERVE_RESP_INLINE (64u << 10)

int ray_serve_respond(ray_task *t, int status, const char *content_type, const void *body,
                      size_t len)
{
    size_t ctlen = 0;
    const char *ct = content_type ? content_type : "text/plain";
    int rc = resp_header(status, ct, &ctlen);
    if (rc != RAY_OK)
        return rc;
    size_t n = SERVE_RESP_HDR + ctlen + len;
    if (len > SERVE_RESP_INLINE || n > SERVE_RESP_INLINE) {
        void *d;
        rc = ray_serve_respond_alloc(t, status, content_type, len, &d);
        if (rc == RAY_OK && len)
            memcpy(d, body, len);
        return rc;
    }
    uint8_t small[1024], *p = n <= sizeof small ? small : malloc(n);
    if (p == NULL)
        return ray_error_set(RAY_ENOMEM, "ray_serve_respond: out of memory");
    memcpy(p, SERVE_RESP_MAGIC, 4);
    p[4] = (uint8_t)(status >> 8);
    p[5] = (uint8_t)status;
    p[6] = (uint8_t)ctlen;
    memcpy(p + SERVE_RESP_HDR, ct, ctlen);
    if (len)
        memcpy(p + SERVE_RESP_HDR + ctlen, body, len);
    rc = ray_return(t, RAY_BYTES_V(p, n)); /* copied */
    if (p != small)
        free(p);
    return rc;
}

/* ---- handles ------------------------------------------------------------------------ */

struct hrep {
    ray_actor a;
    int ongoing;
};

struct ray_serve_handle {
    pthread_mutex_t mu;
    ray_actor ctl;
    char app[SERVE_NAME_MAX], dep[SERVE_NAME_MAX], handler[SERVE_NAME_MAX];
    struct hrep reps[SERVE_MAX_REPLICAS];
    size_t n;
    double refreshed;
    unsigned seed;
};

/* Refresh H's replica set from its controller (H->mu held). */
static int handle_refresh(ray_serve_handle *h)
{
    /* with the set comes this handle's load report: its ongoing calls, the
     * one about to start included (the autoscaling signal of a deployment
     * reached through handles) */
    int64_t ongoing = 1;
    for (size_t i = 0; i < h->n; i++)
        ongoing += h->reps[i].ongoing;
    char key[64];
    snprintf(key, sizeof key, "%s:%d:%p", ray_node_id(), (int)getpid(), (void *)h);
    ray_value args[3] = { RAY_S(h->dep), RAY_I(ongoing), RAY_S(key) }, v;
    int rc = call_get(h->ctl, "replicas", args, 3, 10000, &v);
    if (rc != RAY_OK) {
        if (rc == RAY_EACTOR) { /* the controller restarted or was replaced: look it up again */
            char cname[SERVE_NAME_MAX + 32];
            snprintf(cname, sizeof cname, SERVE_CONTROLLER_PREFIX "%s", h->app);
            ray_actor_lookup(cname, &h->ctl);
        }
        return rc;
    }
    const ray_value *hd = ray_list_at(&v, 0), *set = ray_list_at(&v, 1);
    if (hd == NULL || hd->type != RAY_STR || set == NULL) {
        ray_value_release(&v);
        return ray_error_set(RAY_EINVAL, "ray_serve: bad answer from the controller");
    }
    snprintf(h->handler, sizeof h->handler, "%s", (const char *)hd->as.buf.ptr);
    struct hrep old[SERVE_MAX_REPLICAS];
    size_t on = h->n;
    memcpy(old, h->reps, sizeof old);
    h->n = 0;
    for (size_t i = 0; i < ray_list_len(set) && h->n < SERVE_MAX_REPLICAS; i++) {
        const ray_value *e = ray_list_at(set, i);
        if (e->type != RAY_ACTOR)
            continue;
        struct hrep *r = &h->reps[h->n++];
        r->a = e->as.actor;
        r->ongoing = 0;
        for (size_t k = 0; k < on; k++)
            if (!memcmp(&old[k].a, &r->a, sizeof r->a))
                r->ongoing = old[k].ongoing;
    }
    ray_value_release(&v);
    h->refreshed = serve_now_();
    return RAY_OK;
}

int ray_serve_handle_get(const char *app, const char *deployment, ray_serve_handle **out)
{
    *out = NULL;
    if (app == NULL || deployment == NULL || strlen(app) >= SERVE_NAME_MAX ||
        strlen(deployment) >= SERVE_NAME_MAX)
        return ray_error_set(RAY_EINVAL, "ray_serve_handle_get: bad name");
    ray_serve_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return ray_error_set(RAY_ENOMEM, "ray_serve_handle_get: out of memory");
    pthread_mutex_init(&h->mu, NULL);
    snprintf(h->app, sizeof h->app, "%s", app);
    snprintf(h->dep, sizeof h->dep, "%s", deployment);
    h->seed = (unsigned)getpid() ^ (unsigned)(uintptr_t)h;
    char cname[SERVE_NAME_MAX + 32];
    snprintf(cname, sizeof cname, SERVE_CONTROLLER_PREFIX "%s", app);
    if (ray_actor_lookup(cname, &h->ctl) != RAY_OK) {
        ray_serve_handle_free(h);
        return ray_error_set(RAY_ENOTFOUND, "ray_serve: no application named %s", app);
    }
    int rc = handle_refresh(h);
    if (rc != RAY_OK) {
        ray_serve_handle_free(h);
        return ray_error_set(rc == RAY_ETASK ? RAY_ENOTFOUND : rc, "ray_serve: %s",
                             ray_last_error());
    }
    *out = h;
    return RAY_OK;
}

static struct hrep *handle_pick(ray_serve_handle *h, const ray_actor *avoid)
{
    if (h->n == 0)
        return NULL;
    if (h->n == 1)
        return &h->reps[0];
    size_t i = (size_t)rand_r(&h->seed) % h->n, j = (size_t)rand_r(&h->seed) % (h->n - 1);
    if (j >= i)
        j++;
    struct hrep *a = &h->reps[i], *b = &h->reps[j];
    if (avoid && !memcmp(&a->a, avoid, sizeof *avoid))
        return b;
    if (avoid && !memcmp(&b->a, avoid, sizeof *avoid))
        return a;
    return a->ongoing <= b->ongoing ? a : b;
}

int ray_serve_handle_request(ray_serve_handle *h, const ray_serve_request *rq, int64_t timeout_ms,
                             ray_serve_response *out)
{
    memset(out, 0, sizeof *out);
    if (h == NULL || rq == NULL)
        return ray_error_set(RAY_EINVAL, "ray_serve_handle_request: NULL handle or request");
    const char *method = rq->method ? rq->method : "GET";
    ray_value args[SERVE_REQ_NARGS] = {
        RAY_S(method), RAY_S(rq->path ? rq->path : "/"), RAY_S(rq->query ? rq->query : ""),
        RAY_BYTES_V(rq->headers ? rq->headers : "", rq->headers ? rq->headers_len : 0),
        rq->body_len ? RAY_BYTES_V(rq->body, rq->body_len) : RAY_NIL_V
    };
    ray_actor avoid;
    bool have_avoid = false;
    for (int attempt = 0;; attempt++) {
        pthread_mutex_lock(&h->mu);
        if (serve_now_() - h->refreshed > HANDLE_REFRESH_S || h->n == 0)
            handle_refresh(h);
        struct hrep *r = handle_pick(h, have_avoid ? &avoid : NULL);
        if (r == NULL) {
            pthread_mutex_unlock(&h->mu);
            return ray_error_set(RAY_ENOTFOUND, "ray_serve: deployment %s/%s has no replicas",
                                 h->app, h->dep);
        }
        ray_actor a = r->a;
        r->ongoing++;
        char handler[SERVE_NAME_MAX];
        snprintf(handler, sizeof handler, "%s", h->handler);
        pthread_mutex_unlock(&h->mu);

        ray_ref ref;
        int rc = ray_actor_call(a, handler, args, SERVE_REQ_NARGS, NULL, &ref);
        char why[1024] = "";
        if (rc == RAY_OK) {
            rc = ray_get(ref, timeout_ms, &out->v_);
            if (rc != RAY_OK)
                snprintf(why, sizeof why, "%s", ray_last_error());
            ray_free(&ref, 1);
        } else {
            snprintf(why, sizeof why, "%s", ray_last_error());
        }
        pthread_mutex_lock(&h->mu);
        for (size_t i = 0; i < h->n; i++)
            if (!memcmp(&h->reps[i].a, &a, sizeof a) && h->reps[i].ongoing > 0)
                h->reps[i].ongoing--;
        pthread_mutex_unlock(&h->mu);

        if (rc == RAY_OK) {
            const char *ct;
            size_t ctl;
            if (serve_resp_decode_(&out->v_, &out->status, &ct, &ctl, &out->body,
                                   &out->body_len) < 0) {
                ray_value_release(&out->v_);
                memset(out, 0, sizeof *out);
                return ray_error_set(RAY_EINVAL, "ray_serve: %s/%s answered a value that is not a "
                                                 "response", h->app, h->dep);
            }
            char *c = malloc(ctl + 1);
            if (c) {
                memcpy(c, ct, ctl);
                c[ctl] = '\0';
            }
            out->content_type = c ? c : "";
            return RAY_OK;
        }
        if (rc == RAY_ETASK) { /* the handler failed: a 500 with its message */
            char *msg = strdup(why);
            out->status = 500;
            out->content_type = NULL;
            out->body = msg ? msg : "";
            out->body_len = msg ? strlen(msg) : 0;
            out->v_ = RAY_I(msg ? 1 : 0); /* marks an owned body */
            return RAY_OK;
        }
        if ((rc == RAY_EACTOR || rc == RAY_EWORKER) && attempt == 0 && !strcmp(method, "GET")) {
            avoid = a;
            have_avoid = true;
            continue;
        }
        return ray_error_set(rc, "%s", why);
    }
}

void ray_serve_response_release(ray_serve_response *r)
{
    if (r == NULL)
        return;
    if (r->v_.type == RAY_INT) {
        if (r->v_.as.i == 1)
            free((void *)r->body);
    } else {
        ray_value_release(&r->v_);
        free((void *)r->content_type);
    }
    memset(r, 0, sizeof *r);
}

void ray_serve_handle_free(ray_serve_handle *h)
{
    if (h == NULL)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}
