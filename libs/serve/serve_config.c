/*
 * serve_config.c — Ray's Serve config file (the YAML of `ray serve deploy`),
 * loaded with libyaml's document API into struct serve_config, and the
 * checks and defaults every application gets (from YAML or from C).
 *
 *   proxy_location: HeadOnly | EveryNode | Disabled
 *   http_options: { host, port, request_timeout_s }
 *   applications:
 *     - name, route_prefix, import_path (accepted, unused: C has no modules),
 *       deployments:
 *         - name, actor_class, handler, init_args: [scalars], num_replicas,
 *           max_ongoing_requests, max_queued_requests,
 *           autoscaling_config: { min_replicas, max_replicas,
 *             target_ongoing_requests, upscale_delay_s, downscale_delay_s,
 *             look_back_period_s },
 *           ray_actor_options: { num_cpus, num_gpus, memory, resources: {K: V},
 *             max_restarts }
 *
 * Errors are one line "FILE:LINE: key 'K': ..."; unknown keys are warnings.
 */
#include "libs/serve/serve_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define SERVE_YAML_MAX (1u << 20)

struct sc {
    yaml_document_t *doc;
    const char *file;
    char *err;
    size_t errlen;
    char *warn;
    size_t wlen;
};

static int sc_fail(struct sc *x, const yaml_node_t *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int sc_fail(struct sc *x, const yaml_node_t *at, const char *key, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(x->err, x->errlen, "%s:%zu: key '%s': %s", x->file,
             at ? (size_t)at->start_mark.line + 1 : 1, key, msg);
    return -1;
}

static void sc_warn(struct sc *x, const yaml_node_t *at, const char *key)
{
    if (x->warn == NULL || x->wlen == 0)
        return;
    size_t used = strlen(x->warn);
    if (used + 1 >= x->wlen)
        return;
    snprintf(x->warn + used, x->wlen - used, "%s:%zu: unknown key '%s' ignored\n", x->file,
             at ? (size_t)at->start_mark.line + 1 : 1, key);
}

static const char *sc_text(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int sc_str(struct sc *x, const yaml_node_t *v, const char *key, char *out, size_t len)
{
    const char *s = sc_text(v);
    if (s == NULL)
        return sc_fail(x, v, key, "wants a string");
    if (strlen(s) >= len)
        return sc_fail(x, v, key, "longer than %zu bytes", len - 1);
    snprintf(out, len, "%s", s);
    return 0;
}

static int sc_num(struct sc *x, const yaml_node_t *v, const char *key, double lo, double hi,
                  double *out)
{
    const char *s = sc_text(v);
    char *end;
    if (s == NULL || !*s)
        return sc_fail(x, v, key, "wants a number");
    errno = 0;
    double d = strtod(s, &end);
    if (*end || errno || !isfinite(d))
        return sc_fail(x, v, key, "wants a number, got '%.40s'", s);
    if (d < lo || d > hi)
        return sc_fail(x, v, key, "%g is out of range [%g, %g]", d, lo, hi);
    *out = d;
    return 0;
}

static int sc_int(struct sc *x, const yaml_node_t *v, const char *key, int lo, int hi, int *out)
{
    double d;
    if (sc_num(x, v, key, lo, hi, &d) < 0)
        return -1;
    if (d != floor(d))
        return sc_fail(x, v, key, "wants a whole number");
    *out = (int)d;
    return 0;
}

/* Iterate the pairs of mapping M (or fail naming KEY). */
#define SC_PAIRS(x, m, p) \
    for (yaml_node_pair_t *p = (m)->data.mapping.pairs.start; p < (m)->data.mapping.pairs.top; p++)

static int sc_want_map(struct sc *x, const yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return sc_fail(x, m, key, "wants a mapping");
    return 0;
}

static int sc_arg(struct sc *x, const yaml_node_t *v, struct serve_arg *a)
{
    const char *s = sc_text(v);
    if (s == NULL)
        return sc_fail(x, v, "init_args", "wants scalars (numbers, strings, booleans)");
    memset(a, 0, sizeof *a);
    bool quoted = v->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                  v->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    char *end;
    if (!quoted && (!strcmp(s, "null") || !strcmp(s, "~") || !*s)) {
        a->type = RAY_NIL;
        return 0;
    }
    if (!quoted && (!strcmp(s, "true") || !strcmp(s, "false"))) {
        a->type = RAY_BOOL;
        a->b = s[0] == 't';
        return 0;
    }
    if (!quoted) {
        errno = 0;
        long long i = strtoll(s, &end, 10);
        if (!*end && !errno) {
            a->type = RAY_INT;
            a->i = i;
            return 0;
        }
        double d = strtod(s, &end);
        if (!*end && !errno && isfinite(d)) {
            a->type = RAY_FLOAT;
            a->f = d;
            return 0;
        }
    }
    if (strlen(s) >= sizeof a->s)
        return sc_fail(x, v, "init_args", "a string longer than %zu bytes", sizeof a->s - 1);
    a->type = RAY_STR;
    snprintf(a->s, sizeof a->s, "%s", s);
    return 0;
}

static int sc_autoscaling(struct sc *x, yaml_node_t *m, struct serve_dep_cfg *d)
{
    if (sc_want_map(x, m, "autoscaling_config") < 0)
        return -1;
    d->autoscaling = true;
    SC_PAIRS(x, m, p) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *k = sc_text(kn);
        int rc = 0;
        if (k == NULL)
            return sc_fail(x, kn, "autoscaling_config", "keys must be strings");
        if (!strcmp(k, "min_replicas"))
            rc = sc_int(x, v, k, 0, SERVE_MAX_REPLICAS, &d->as.min_replicas);
        else if (!strcmp(k, "max_replicas"))
            rc = sc_int(x, v, k, 1, SERVE_MAX_REPLICAS, &d->as.max_replicas);
        else if (!strcmp(k, "target_ongoing_requests") || !strcmp(k, "target_num_ongoing_requests_per_replica"))
            rc = sc_num(x, v, k, 0.001, 1e6, &d->as.target_ongoing_requests);
        else if (!strcmp(k, "upscale_delay_s"))
            rc = sc_num(x, v, k, 0, 86400, &d->as.upscale_delay_s);
        else if (!strcmp(k, "downscale_delay_s"))
            rc = sc_num(x, v, k, 0, 86400, &d->as.downscale_delay_s);
        else if (!strcmp(k, "look_back_period_s"))
            rc = sc_num(x, v, k, 0, 86400, &d->as.look_back_period_s);
        else /* initial_replicas, metrics_interval_s, *_smoothing_factor, ...: not built */
            sc_warn(x, kn, k);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int sc_actor_opts(struct sc *x, yaml_node_t *m, struct serve_dep_cfg *d)
{
    if (sc_want_map(x, m, "ray_actor_options") < 0)
        return -1;
    SC_PAIRS(x, m, p) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *k = sc_text(kn);
        int rc = 0;
        if (k == NULL)
            return sc_fail(x, kn, "ray_actor_options", "keys must be strings");
        if (!strcmp(k, "num_cpus"))
            rc = sc_num(x, v, k, 0, 1e6, &d->num_cpus);
        else if (!strcmp(k, "num_gpus"))
            rc = sc_num(x, v, k, 0, 1e6, &d->num_gpus);
        else if (!strcmp(k, "memory"))
            rc = sc_num(x, v, k, 0, 1e18, &d->memory);
        else if (!strcmp(k, "max_restarts"))
            rc = sc_int(x, v, k, -1, 1000000, &d->max_restarts);
        else if (!strcmp(k, "resources")) {
            if (sc_want_map(x, v, k) < 0)
                return -1;
            size_t used = 0;
            d->resources[0] = '\0';
            SC_PAIRS(x, v, q) {
                const yaml_node_t *rk = yaml_document_get_node(x->doc, q->key);
                yaml_node_t *rv = yaml_document_get_node(x->doc, q->value);
                const char *name = sc_text(rk);
                double amt;
                if (name == NULL || !*name || strpbrk(name, ",= "))
                    return sc_fail(x, rk, "resources", "a resource name must be a plain word");
                if (sc_num(x, rv, name, 0, 1e9, &amt) < 0)
                    return -1;
                int w = snprintf(d->resources + used, sizeof d->resources - used, "%s%s=%g",
                                 used ? "," : "", name, amt);
                if (w < 0 || (size_t)w >= sizeof d->resources - used)
                    return sc_fail(x, rk, "resources", "too many resources");
                used += (size_t)w;
            }
        } else
            sc_warn(x, kn, k);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void dep_defaults(struct serve_dep_cfg *d)
{
    memset(d, 0, sizeof *d);
    d->num_replicas = 1;
    d->as = RAY_SERVE_AUTOSCALING;
    d->max_ongoing = 5;
    d->max_queued = -1;
    d->max_restarts = -1;
}

static int sc_deployment(struct sc *x, yaml_node_t *m, struct serve_dep_cfg *d)
{
    dep_defaults(d);
    if (sc_want_map(x, m, "deployments") < 0)
        return -1;
    bool have_nr = false;
    yaml_node_t *namen = NULL;
    SC_PAIRS(x, m, p) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *k = sc_text(kn);
        int rc = 0;
        if (k == NULL)
            return sc_fail(x, kn, "deployments", "keys must be strings");
        if (!strcmp(k, "name")) {
            namen = v;
            rc = sc_str(x, v, k, d->name, sizeof d->name);
        } else if (!strcmp(k, "actor_class"))
            rc = sc_str(x, v, k, d->cls, sizeof d->cls);
        else if (!strcmp(k, "handler"))
            rc = sc_str(x, v, k, d->handler, sizeof d->handler);
        else if (!strcmp(k, "num_replicas")) {
            const char *s = sc_text(v);
            if (s && !strcmp(s, "auto")) {
                d->autoscaling = true;
            } else {
                rc = sc_int(x, v, k, 0, SERVE_MAX_REPLICAS, &d->num_replicas);
                have_nr = true;
            }
        } else if (!strcmp(k, "max_ongoing_requests") || !strcmp(k, "max_concurrent_queries"))
            rc = sc_int(x, v, k, 1, 100000, &d->max_ongoing);
        else if (!strcmp(k, "max_queued_requests"))
            rc = sc_int(x, v, k, -1, 10000000, &d->max_queued);
        else if (!strcmp(k, "autoscaling_config"))
            rc = sc_autoscaling(x, v, d);
        else if (!strcmp(k, "ray_actor_options"))
            rc = sc_actor_opts(x, v, d);
        else if (!strcmp(k, "init_args")) {
            if (v == NULL || v->type != YAML_SEQUENCE_NODE)
                return sc_fail(x, v, k, "wants a list");
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                if (d->nargs == SERVE_MAX_INIT_ARGS)
                    return sc_fail(x, v, k, "at most %d arguments", SERVE_MAX_INIT_ARGS);
                if (sc_arg(x, yaml_document_get_node(x->doc, *it), &d->args[d->nargs++]) < 0)
                    return -1;
            }
        } else
            sc_warn(x, kn, k);
        if (rc < 0)
            return -1;
    }
    if (!d->name[0])
        return sc_fail(x, m, "name", "every deployment needs a name");
    if (!d->cls[0])
        memcpy(d->cls, d->name, sizeof d->cls);
    if (have_nr && d->autoscaling)
        return sc_fail(x, namen ? namen : m, "num_replicas",
                       "deployment '%s' sets both num_replicas and autoscaling_config", d->name);
    return 0;
}

static int sc_app(struct sc *x, yaml_node_t *m, struct serve_app_cfg *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->route_prefix, sizeof a->route_prefix, "/");
    if (sc_want_map(x, m, "applications") < 0)
        return -1;
    yaml_node_t *deps = NULL;
    SC_PAIRS(x, m, p) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *k = sc_text(kn);
        int rc = 0;
        if (k == NULL)
            return sc_fail(x, kn, "applications", "keys must be strings");
        if (!strcmp(k, "name"))
            rc = sc_str(x, v, k, a->name, sizeof a->name);
        else if (!strcmp(k, "route_prefix")) {
            const char *s = sc_text(v);
            if (s && (!strcmp(s, "null") || !strcmp(s, "~") || !*s))
                a->route_prefix[0] = '\0';
            else
                rc = sc_str(x, v, k, a->route_prefix, sizeof a->route_prefix);
        } else if (!strcmp(k, "import_path") || !strcmp(k, "runtime_env") || !strcmp(k, "args"))
            ; /* Ray's Python-side keys: accepted, nothing to do in C */
        else if (!strcmp(k, "deployments"))
            deps = v;
        else
            sc_warn(x, kn, k);
        if (rc < 0)
            return -1;
    }
    if (deps == NULL)
        return sc_fail(x, m, "deployments", "application '%s' lists no deployments",
                       a->name[0] ? a->name : "default");
    if (deps->type != YAML_SEQUENCE_NODE)
        return sc_fail(x, deps, "deployments", "wants a list");
    for (yaml_node_item_t *it = deps->data.sequence.items.start; it < deps->data.sequence.items.top;
         it++) {
        if (a->ndeps == SERVE_MAX_DEPLOYMENTS)
            return sc_fail(x, deps, "deployments", "at most %d per application",
                           SERVE_MAX_DEPLOYMENTS);
        if (sc_deployment(x, yaml_document_get_node(x->doc, *it), &a->deps[a->ndeps++]) < 0)
            return -1;
    }
    if (!a->name[0])
        snprintf(a->name, sizeof a->name, "default");
    char e[256];
    if (serve_app_check_(a, e, sizeof e) < 0)
        return sc_fail(x, m, "applications", "%s", e);
    return 0;
}

static int sc_top(struct sc *x, yaml_node_t *root, struct serve_config *c)
{
    if (root == NULL)
        return sc_fail(x, NULL, "applications", "the file is empty");
    if (sc_want_map(x, root, "(top level)") < 0)
        return -1;
    yaml_node_t *apps = NULL;
    SC_PAIRS(x, root, p) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        const char *k = sc_text(kn);
        if (k == NULL)
            return sc_fail(x, kn, "(top level)", "keys must be strings");
        if (!strcmp(k, "proxy_location")) {
            const char *s = sc_text(v);
            if (s && !strcmp(s, "HeadOnly"))
                c->http.location = RAY_SERVE_HEAD_ONLY;
            else if (s && !strcmp(s, "EveryNode"))
                c->http.location = RAY_SERVE_EVERY_NODE;
            else if (s && (!strcmp(s, "Disabled") || !strcmp(s, "NoServer")))
                c->http.location = RAY_SERVE_NO_PROXY;
            else
                return sc_fail(x, v, k, "wants HeadOnly, EveryNode or Disabled");
        } else if (!strcmp(k, "http_options")) {
            if (sc_want_map(x, v, k) < 0)
                return -1;
            SC_PAIRS(x, v, q) {
                yaml_node_t *hk = yaml_document_get_node(x->doc, q->key);
                yaml_node_t *hv = yaml_document_get_node(x->doc, q->value);
                const char *h = sc_text(hk);
                int rc = 0;
                if (h == NULL)
                    return sc_fail(x, hk, k, "keys must be strings");
                if (!strcmp(h, "host"))
                    rc = sc_str(x, hv, h, c->http.host, sizeof c->http.host);
                else if (!strcmp(h, "port"))
                    rc = sc_int(x, hv, h, 1, 65535, &c->http.port);
                if (!strcmp(h, "host") || !strcmp(h, "port"))
                    c->http.addr_given = true;
                else if (!strcmp(h, "request_timeout_s"))
                    rc = sc_num(x, hv, h, 0, 86400, &c->http.request_timeout_s);
                else
                    sc_warn(x, hk, h);
                if (rc < 0)
                    return -1;
            }
        } else if (!strcmp(k, "applications")) {
            apps = v;
        } else if (!strcmp(k, "logging_config") || !strcmp(k, "grpc_options")) {
            sc_warn(x, kn, k);
        } else {
            sc_warn(x, kn, k);
        }
    }
    if (apps == NULL)
        return sc_fail(x, root, "applications", "missing: the file declares no applications");
    if (apps->type != YAML_SEQUENCE_NODE)
        return sc_fail(x, apps, "applications", "wants a list");
    for (yaml_node_item_t *it = apps->data.sequence.items.start; it < apps->data.sequence.items.top;
         it++) {
        if (c->napps == SERVE_MAX_APPS)
            return sc_fail(x, apps, "applications", "at most %d", SERVE_MAX_APPS);
        yaml_node_t *an = yaml_document_get_node(x->doc, *it);
        if (sc_app(x, an, &c->apps[c->napps]) < 0)
            return -1;
        for (size_t k = 0; k < c->napps; k++)
            if (!strcmp(c->apps[k].name, c->apps[c->napps].name))
                return sc_fail(x, an, "name", "two applications are called '%s'",
                               c->apps[k].name);
        c->napps++;
    }
    if (c->napps == 0)
        return sc_fail(x, apps, "applications", "the list is empty");
    return 0;
}

int serve_config_load_(const char *file, const char *text, size_t len, struct serve_config *c,
                       char *err, size_t errlen, char *warn, size_t wlen)
{
    memset(c, 0, sizeof *c);
    snprintf(c->http.host, sizeof c->http.host, "127.0.0.1");
    c->http.port = 8000;
    if (warn && wlen)
        warn[0] = '\0';
    struct sc x = { .file = file, .err = err, .errlen = errlen, .warn = warn, .wlen = wlen };
    if (len > SERVE_YAML_MAX) {
        snprintf(err, errlen, "%s:1: the file is larger than %u bytes", file, SERVE_YAML_MAX);
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu: bad YAML: %s", file, (size_t)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        memset(c, 0, sizeof *c);
        return -1;
    }
    x.doc = &doc;
    int rc = sc_top(&x, yaml_document_get_root_node(&doc), c);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc < 0) {
        memset(c, 0, sizeof *c);
        if (warn && wlen)
            warn[0] = '\0';
    }
    return rc;
}

/* ---- checks shared with the C API ----------------------------------------------- */

static bool name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s == ':' || *s == '/' || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

int serve_app_check_(struct serve_app_cfg *a, char *err, size_t errlen)
{
    if (!name_ok(a->name)) {
        snprintf(err, errlen, "application name '%s' must be a printable word without ':' or '/'",
                 a->name);
        return -1;
    }
    if (a->route_prefix[0] && (a->route_prefix[0] != '/' || strpbrk(a->route_prefix, "?#{} "))) {
        snprintf(err, errlen, "route_prefix '%s' must start with '/' (and hold no ?, #, {, } or "
                              "spaces)", a->route_prefix);
        return -1;
    }
    if (a->ndeps == 0) {
        snprintf(err, errlen, "application '%s' has no deployments", a->name);
        return -1;
    }
    for (size_t i = 0; i < a->ndeps; i++) {
        struct serve_dep_cfg *d = &a->deps[i];
        if (!name_ok(d->name)) {
            snprintf(err, errlen, "deployment name '%s' must be a printable word without ':' or '/'",
                     d->name);
            return -1;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(a->deps[k].name, d->name)) {
                snprintf(err, errlen, "two deployments are called '%s'", d->name);
                return -1;
            }
        if (!d->cls[0])
            memcpy(d->cls, d->name, sizeof d->cls);
        if (!d->handler[0])
            snprintf(d->handler, sizeof d->handler, "call");
        if (d->autoscaling) {
            if (d->as.max_replicas < 1 || d->as.max_replicas > SERVE_MAX_REPLICAS ||
                d->as.min_replicas < 0 || d->as.min_replicas > d->as.max_replicas) {
                snprintf(err, errlen, "deployment '%s': autoscaling_config wants 0 <= min_replicas "
                                      "(%d) <= max_replicas (%d) <= %d", d->name,
                         d->as.min_replicas, d->as.max_replicas, SERVE_MAX_REPLICAS);
                return -1;
            }
            if (!(d->as.target_ongoing_requests > 0)) {
                snprintf(err, errlen, "deployment '%s': target_ongoing_requests must be > 0",
                         d->name);
                return -1;
            }
            if (d->as.upscale_delay_s < 0 || d->as.downscale_delay_s < 0 ||
                d->as.look_back_period_s < 0) {
                snprintf(err, errlen, "deployment '%s': autoscaling delays must be >= 0", d->name);
                return -1;
            }
        } else if (d->num_replicas < 0 || d->num_replicas > SERVE_MAX_REPLICAS) {
            snprintf(err, errlen, "deployment '%s': num_replicas %d is out of range [0, %d]",
                     d->name, d->num_replicas, SERVE_MAX_REPLICAS);
            return -1;
        }
        if (d->max_ongoing < 1) {
            snprintf(err, errlen, "deployment '%s': max_ongoing_requests must be >= 1", d->name);
            return -1;
        }
        if (d->max_queued < -1) {
            snprintf(err, errlen, "deployment '%s': max_queued_requests must be -1 or >= 0",
                     d->name);
            return -1;
        }
    }
    return 0;
}

int serve_app_from_public_(const ray_serve_application *app, struct serve_app_cfg *out,
                           char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (app == NULL || app->deployments == NULL || app->n_deployments == 0 ||
        app->n_deployments > SERVE_MAX_DEPLOYMENTS) {
        snprintf(err, errlen, "an application needs 1 to %d deployments", SERVE_MAX_DEPLOYMENTS);
        return -1;
    }
    snprintf(out->name, sizeof out->name, "%s", app->name ? app->name : "default");
    if (app->route_prefix == NULL)
        snprintf(out->route_prefix, sizeof out->route_prefix, "/");
    else if (strcmp(app->route_prefix, "none") != 0)
        snprintf(out->route_prefix, sizeof out->route_prefix, "%s", app->route_prefix);
    for (size_t i = 0; i < app->n_deployments; i++) {
        const ray_serve_deployment *p = &app->deployments[i];
        struct serve_dep_cfg *d = &out->deps[i];
        if (p->name == NULL || p->actor_class == NULL) {
            snprintf(err, errlen, "deployment %zu needs a name and an actor_class", i);
            return -1;
        }
        if (strlen(p->name) >= sizeof d->name || strlen(p->actor_class) >= sizeof d->cls ||
            (p->handler && strlen(p->handler) >= sizeof d->handler)) {
            snprintf(err, errlen, "deployment %zu: a name longer than %d bytes", i,
                     SERVE_NAME_MAX - 1);
            return -1;
        }
        snprintf(d->name, sizeof d->name, "%s", p->name);
        snprintf(d->cls, sizeof d->cls, "%s", p->actor_class);
        snprintf(d->handler, sizeof d->handler, "%s", p->handler ? p->handler : "call");
        if (p->n_init_args > SERVE_MAX_INIT_ARGS || (p->n_init_args && !p->init_args)) {
            snprintf(err, errlen, "deployment '%s': at most %d init_args", d->name,
                     SERVE_MAX_INIT_ARGS);
            return -1;
        }
        for (size_t k = 0; k < p->n_init_args; k++) {
            const ray_value *v = &p->init_args[k];
            struct serve_arg *g = &d->args[k];
            g->type = v->type;
            switch (v->type) {
            case RAY_NIL: break;
            case RAY_BOOL: g->b = v->as.b; break;
            case RAY_INT: g->i = v->as.i; break;
            case RAY_FLOAT: g->f = v->as.f; break;
            case RAY_STR:
                if (v->as.buf.len >= sizeof g->s) {
                    snprintf(err, errlen, "deployment '%s': init_args %zu is too long", d->name, k);
                    return -1;
                }
                memcpy(g->s, v->as.buf.ptr, v->as.buf.len);
                break;
            default:
                snprintf(err, errlen, "deployment '%s': init_args %zu must be a scalar or a string",
                         d->name, k);
                return -1;
            }
        }
        d->nargs = p->n_init_args;
        d->num_replicas = p->num_replicas;
        d->autoscaling = p->autoscaling;
        d->as = p->autoscaling_config;
        d->max_ongoing = p->max_ongoing_requests;
        d->max_queued = p->max_queued_requests;
        d->num_cpus = p->actor_options.num_cpus;
        d->num_gpus = p->actor_options.num_gpus;
        d->memory = p->actor_options.memory;
        if (p->actor_options.resources)
            snprintf(d->resources, sizeof d->resources, "%s", p->actor_options.resources);
        d->max_restarts = p->actor_options.max_restarts;
    }
    out->ndeps = app->n_deployments;
    return serve_app_check_(out, err, errlen);
}

void serve_http_from_public_(const ray_serve_http_options *h, struct serve_http_cfg *out)
{
    ray_serve_http_options d = RAY_SERVE_HTTP_OPTIONS;
    bool given = h != NULL;
    if (h == NULL)
        h = &d;
    memset(out, 0, sizeof *out);
    out->addr_given = given;
    snprintf(out->host, sizeof out->host, "%s", h->host ? h->host : "127.0.0.1");
    out->port = h->port ? h->port : 8000;
    out->request_timeout_s = h->request_timeout_s;
    out->location = h->location;
}
