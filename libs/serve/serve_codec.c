/*
 * serve_codec.c — the encodings Serve's processes agree on: a request as the
 * handler's five arguments, a response as one BYTES value, an application's
 * configuration as one value (the controller's constructor argument), and
 * the pure helpers the proxy routes with (URI split, prefix match). Every
 * decoder here takes untrusted input and is fuzzed (tests/fuzz/fuzz_serve_http.c).
 */
#include "libs/serve/serve_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

double serve_now_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests ------------------------------------------------------------- */

int serve_uri_split_(const char *uri, size_t len, char *path, size_t plen, char *query,
                     size_t qlen)
{
    if (uri == NULL || len == 0 || uri[0] != '/' || plen == 0 || qlen == 0)
        return -1;
    size_t q = len;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)uri[i];
        if (ch < 0x20 || ch == 0x7f)
            return -1;
        if (ch == '?' && q == len)
            q = i;
        if (ch == '#' && q == len) /* a fragment is never sent; refuse it */
            return -1;
    }
    if (q >= plen)
        return -1;
    size_t ql = q < len ? len - q - 1 : 0;
    if (ql >= qlen)
        return -1;
    memcpy(path, uri, q);
    path[q] = '\0';
    if (ql)
        memcpy(query, uri + q + 1, ql);
    query[ql] = '\0';
    return 0;
}

bool serve_prefix_match_(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    if (n == 1 && prefix[0] == '/')
        return path[0] == '/';
    if (strncmp(prefix, path, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/' || path[n] == '?';
}

int ray_serve_request_get(const ray_value *args, size_t nargs, ray_serve_request *rq)
{
    memset(rq, 0, sizeof *rq);
    if (args == NULL || nargs != SERVE_REQ_NARGS || args[0].type != RAY_STR ||
        args[1].type != RAY_STR || args[2].type != RAY_STR || args[3].type != RAY_BYTES ||
        (args[4].type != RAY_BYTES && args[4].type != RAY_NIL))
        return ray_error_set(RAY_EINVAL, "ray_serve: the handler's arguments are not a Serve "
                                         "request (%zu arguments)", nargs);
    rq->method = args[0].as.buf.ptr;
    rq->path = args[1].as.buf.ptr;
    rq->query = args[2].as.buf.ptr;
    rq->headers = args[3].as.buf.ptr;
    rq->headers_len = args[3].as.buf.len;
    if (args[4].type == RAY_BYTES && args[4].as.buf.len) {
        rq->body = args[4].as.buf.ptr;
        rq->body_len = args[4].as.buf.len;
    }
    return RAY_OK;
}

int ray_serve_request_header(const ray_serve_request *rq, const char *name, char *out, size_t len)
{
    if (rq == NULL || name == NULL || rq->headers == NULL)
        return -1;
    size_t nl = strlen(name);
    const char *p = rq->headers, *end = rq->headers + rq->headers_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && *v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (out && len) {
                size_t c = vl < len - 1 ? vl : len - 1;
                memcpy(out, v, c);
                out[c] = '\0';
            }
            return (int)vl;
        }
        p = eol + 1;
    }
    return -1;
}

/* ---- responses ---------------------------------------------------------------- */

int serve_resp_decode_(const ray_value *v, int *status, const char **ctype, size_t *ctlen,
                       const void **body, size_t *blen)
{
    switch (v->type) {
    case RAY_NIL:
        *status = 200;
        *ctype = "text/plain";
        *ctlen = 10;
        *body = "";
        *blen = 0;
        return 0;
    case RAY_STR:
    case RAY_BYTES: {
        const uint8_t *p = v->as.buf.ptr;
        size_t n = v->as.buf.len;
        if (v->type == RAY_BYTES && n >= SERVE_RESP_HDR && memcmp(p, SERVE_RESP_MAGIC, 4) == 0) {
            int st = (p[4] << 8) | p[5];
            size_t cl = p[6];
            if (st < 100 || st > 599 || SERVE_RESP_HDR + cl > n)
                return -1;
            *status = st;
            *ctype = (const char *)p + SERVE_RESP_HDR;
            *ctlen = cl;
            *body = p + SERVE_RESP_HDR + cl;
            *blen = n - SERVE_RESP_HDR - cl;
            return 0;
        }
        *status = 200;
        *ctype = v->type == RAY_STR ? "text/plain" : "application/octet-stream";
        *ctlen = strlen(*ctype);
        *body = p;
        *blen = n;
        return 0;
    }
    default:
        return -1;
    }
}

/* ---- configuration as one value --------------------------------------------------
 * [ app_name, route_prefix, [host, port, timeout, location],
 *   [ [name, cls, handler, [args...], num_replicas, autoscaling,
 *      min, max, target, up_s, down_s, look_back_s, max_ongoing, max_queued,
 *      num_cpus, num_gpus, memory, resources, max_restarts], ... ] ] */
#define DEP_FIELDS 19

struct serve_arena {
    void **blocks;
    size_t n, cap;
};

struct serve_arena *serve_arena_new_(void) { return calloc(1, sizeof(struct serve_arena)); }

void serve_arena_free_(struct serve_arena *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    free(a);
}

static ray_value *arena_vals(struct serve_arena *a, size_t n)
{
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 16;
        void **b = realloc(a->blocks, c * sizeof *b);
        if (b == NULL)
            return NULL;
        a->blocks = b;
        a->cap = c;
    }
    ray_value *v = calloc(n ? n : 1, sizeof *v);
    if (v == NULL)
        return NULL;
    a->blocks[a->n++] = v;
    return v;
}

ray_value serve_arg_value_(const struct serve_arg *arg)
{
    switch (arg->type) {
    case RAY_BOOL: return RAY_B(arg->b);
    case RAY_INT: return RAY_I(arg->i);
    case RAY_FLOAT: return RAY_F(arg->f);
    case RAY_STR: return RAY_S(arg->s);
    default: return RAY_NIL_V;
    }
}

ray_value serve_app_encode_(const struct serve_app_cfg *a, const struct serve_http_cfg *h,
                            struct serve_arena *arena)
{
    ray_value *top = arena_vals(arena, 4), *hv = arena_vals(arena, 4),
              *deps = arena_vals(arena, a->ndeps);
    if (top == NULL || hv == NULL || deps == NULL)
        return RAY_NIL_V; /* out of memory (the arena frees what it got) */
    top[0] = RAY_S(a->name);
    top[1] = RAY_S(a->route_prefix);
    hv[0] = RAY_S(h->host);
    hv[1] = RAY_I(h->port);
    hv[2] = RAY_F(h->request_timeout_s);
    hv[3] = RAY_I(h->location);
    top[2] = RAY_LIST_V(hv, 4);
    for (size_t i = 0; i < a->ndeps; i++) {
        const struct serve_dep_cfg *d = &a->deps[i];
        ray_value *f = arena_vals(arena, DEP_FIELDS), *args = arena_vals(arena, d->nargs);
        if (f == NULL || args == NULL)
            return RAY_NIL_V;
        for (size_t k = 0; k < d->nargs; k++)
            args[k] = serve_arg_value_(&d->args[k]);
        f[0] = RAY_S(d->name);
        f[1] = RAY_S(d->cls);
        f[2] = RAY_S(d->handler);
        f[3] = RAY_LIST_V(args, d->nargs);
        f[4] = RAY_I(d->num_replicas);
        f[5] = RAY_B(d->autoscaling);
        f[6] = RAY_I(d->as.min_replicas);
        f[7] = RAY_I(d->as.max_replicas);
        f[8] = RAY_F(d->as.target_ongoing_requests);
        f[9] = RAY_F(d->as.upscale_delay_s);
        f[10] = RAY_F(d->as.downscale_delay_s);
        f[11] = RAY_F(d->as.look_back_period_s);
        f[12] = RAY_I(d->max_ongoing);
        f[13] = RAY_I(d->max_queued);
        f[14] = RAY_F(d->num_cpus);
        f[15] = RAY_F(d->num_gpus);
        f[16] = RAY_F(d->memory);
        f[17] = RAY_S(d->resources);
        f[18] = RAY_I(d->max_restarts);
        deps[i] = RAY_LIST_V(f, DEP_FIELDS);
    }
    top[3] = RAY_LIST_V(deps, a->ndeps);
    return RAY_LIST_V(top, 4);
}

static int get_str(const ray_value *v, char *out, size_t len)
{
    if (v == NULL || v->type != RAY_STR || v->as.buf.len >= len)
        return -1;
    memcpy(out, v->as.buf.ptr, v->as.buf.len);
    out[v->as.buf.len] = '\0';
    return 0;
}

static int get_int(const ray_value *v, int64_t *out)
{
    if (v == NULL || v->type != RAY_INT)
        return -1;
    *out = v->as.i;
    return 0;
}

static int get_f(const ray_value *v, double *out)
{
    if (v == NULL || v->type != RAY_FLOAT)
        return -1;
    *out = v->as.f;
    return 0;
}

int serve_app_decode_(const ray_value *v, struct serve_app_cfg *a, struct serve_http_cfg *h)
{
    memset(a, 0, sizeof *a);
    memset(h, 0, sizeof *h);
    int64_t x;
    if (ray_list_len(v) != 4 || get_str(ray_list_at(v, 0), a->name, sizeof a->name) ||
        get_str(ray_list_at(v, 1), a->route_prefix, sizeof a->route_prefix))
        return -1;
    const ray_value *hv = ray_list_at(v, 2), *deps = ray_list_at(v, 3);
    if (ray_list_len(hv) != 4 || get_str(ray_list_at(hv, 0), h->host, sizeof h->host) ||
        get_int(ray_list_at(hv, 1), &x))
        return -1;
    h->port = (int)x;
    if (get_f(ray_list_at(hv, 2), &h->request_timeout_s) || get_int(ray_list_at(hv, 3), &x))
        return -1;
    h->location = (ray_serve_proxy_location)x;
    size_t nd = ray_list_len(deps);
    if (nd == 0 || nd > SERVE_MAX_DEPLOYMENTS)
        return -1;
    for (size_t i = 0; i < nd; i++) {
        const ray_value *f = ray_list_at(deps, i);
        struct serve_dep_cfg *d = &a->deps[i];
        if (ray_list_len(f) != DEP_FIELDS || get_str(ray_list_at(f, 0), d->name, sizeof d->name) ||
            get_str(ray_list_at(f, 1), d->cls, sizeof d->cls) ||
            get_str(ray_list_at(f, 2), d->handler, sizeof d->handler))
            return -1;
        const ray_value *args = ray_list_at(f, 3);
        d->nargs = ray_list_len(args);
        if (d->nargs > SERVE_MAX_INIT_ARGS)
            return -1;
        for (size_t k = 0; k < d->nargs; k++) {
            const ray_value *e = ray_list_at(args, k);
            struct serve_arg *g = &d->args[k];
            g->type = e->type;
            switch (e->type) {
            case RAY_NIL: break;
            case RAY_BOOL: g->b = e->as.b; break;
            case RAY_INT: g->i = e->as.i; break;
            case RAY_FLOAT: g->f = e->as.f; break;
            case RAY_STR:
                if (get_str(e, g->s, sizeof g->s))
                    return -1;
                break;
            default: return -1;
            }
        }
        int64_t nr, mn, mx, mo, mq, mr;
        if (get_int(ray_list_at(f, 4), &nr) || ray_list_at(f, 5)->type != RAY_BOOL ||
            get_int(ray_list_at(f, 6), &mn) || get_int(ray_list_at(f, 7), &mx) ||
            get_f(ray_list_at(f, 8), &d->as.target_ongoing_requests) ||
            get_f(ray_list_at(f, 9), &d->as.upscale_delay_s) ||
            get_f(ray_list_at(f, 10), &d->as.downscale_delay_s) ||
            get_f(ray_list_at(f, 11), &d->as.look_back_period_s) ||
            get_int(ray_list_at(f, 12), &mo) || get_int(ray_list_at(f, 13), &mq) ||
            get_f(ray_list_at(f, 14), &d->num_cpus) || get_f(ray_list_at(f, 15), &d->num_gpus) ||
            get_f(ray_list_at(f, 16), &d->memory) ||
            get_str(ray_list_at(f, 17), d->resources, sizeof d->resources) ||
            get_int(ray_list_at(f, 18), &mr))
            return -1;
        d->autoscaling = ray_list_at(f, 5)->as.b;
        d->num_replicas = (int)nr;
        d->as.min_replicas = (int)mn;
        d->as.max_replicas = (int)mx;
        d->max_ongoing = (int)mo;
        d->max_queued = (int)mq;
        d->max_restarts = (int)mr;
    }
    a->ndeps = nd;
    char err[256];
    return serve_app_check_(a, err, sizeof err);
}
