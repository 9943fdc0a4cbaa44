/*
 * config.c — the cluster YAML loader (see config.h).
 *
 * DESIGN: the schema is one table per mapping (top level, provider, auth):
 * key name, type, offset of its field in struct launch_config (or none for
 * keys that are accepted and ignored), and flags. libyaml's document loader
 * gives a node tree with line numbers; lc_map walks one mapping against its
 * table, so every key, known or not, is checked in one place. The walk never
 * recurses into values it ignores (docker, metadata, available_node_types),
 * so aliases and deep nesting cost nothing. This file uses no logging and no
 * filesystem beyond launch_config_load's read, so the fuzz target
 * (tests/fuzz/fuzz_launcher_config.c) links it alone.
 */
#include "launcher/config.h"

#include "common/buf.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum lc_type {
    LC_STR,    /* a scalar */
    LC_INT,    /* a whole number within [min, max] */
    LC_NUM,    /* a number within [min, max] */
    LC_BOOL,   /* true/false (yes/no) */
    LC_STRV,   /* a list of scalars */
    LC_MOUNTS, /* a mapping of remote path: local path */
    LC_MAP,    /* a mapping checked against a sub-table */
    LC_TYPES,  /* available_node_types: a mapping of type name: type */
    LC_ANY,    /* anything; ignored */
};

#define LC_REQUIRED    0x01
#define LC_UNSUPPORTED 0x02 /* accepted, warned: rayd does not do this */
#define LC_NOFIELD     SIZE_MAX

struct lc_key {
    const char *name;
    enum lc_type type;
    size_t off;              /* field in struct launch_config, or LC_NOFIELD */
    size_t given_off;        /* bool set when the key is present, or LC_NOFIELD */
    double min, max;         /* LC_INT, LC_NUM */
    unsigned flags;
    const struct lc_key *sub; /* LC_MAP: its table, ended by a NULL name */
    const char *note;        /* LC_UNSUPPORTED: what the warning says */
};

#define F(f) offsetof(struct launch_config, f)
#define NF   LC_NOFIELD

static const struct lc_key lc_provider[] = {
    { "type", LC_STR, F(provider_type), NF, 0, 0, LC_REQUIRED, NULL, NULL },
    { "head_ip", LC_STR, F(head_ip), NF, 0, 0, 0, NULL, NULL },
    { "worker_ips", LC_STRV, F(worker_ips), NF, 0, 0, 0, NULL, NULL },
    { "external_head_ip", LC_STR, NF, NF, 0, 0, 0, NULL, NULL },
    { "coordinator_address", LC_STR, NF, NF, 0, 0, LC_UNSUPPORTED, NULL,
      "no coordinator server: list the machines in head_ip and worker_ips" },
    { "project_id", LC_STR, F(project_id), NF, 0, 0, 0, NULL, NULL },
    { "region", LC_STR, F(region), NF, 0, 0, 0, NULL, NULL },
    { "availability_zone", LC_STR, F(availability_zone), NF, 0, 0, 0, NULL, NULL },
    { "location", LC_STR, F(location), NF, 0, 0, 0, NULL, NULL },
    { "resource_group", LC_STR, F(resource_group), NF, 0, 0, 0, NULL, NULL },
    { "subscription_id", LC_STR, NF, NF, 0, 0, 0, NULL, NULL },
    { "cache_stopped_nodes", LC_BOOL, NF, NF, 0, 0, 0, NULL, NULL },
    { "use_internal_ips", LC_BOOL, NF, NF, 0, 0, 0, NULL, NULL },
    { NULL, LC_ANY, NF, NF, 0, 0, 0, NULL, NULL },
};

static const struct lc_key lc_auth[] = {
    { "ssh_user", LC_STR, F(ssh_user), NF, 0, 0, 0, NULL, NULL },
    { "ssh_private_key", LC_STR, F(ssh_private_key), NF, 0, 0, 0, NULL, NULL },
    { "ssh_public_key", LC_STR, NF, NF, 0, 0, 0, NULL, NULL },
    { "ssh_proxy_command", LC_STR, NF, NF, 0, 0, LC_UNSUPPORTED, NULL,
      "ignored: put a ProxyCommand in ~/.ssh/config instead" },
    { NULL, LC_ANY, NF, NF, 0, 0, 0, NULL, NULL },
};

static const struct lc_key lc_top[] = {
    { "cluster_name", LC_STR, F(cluster_name), NF, 0, 0, LC_REQUIRED, NULL, NULL },
    { "max_workers", LC_INT, F(max_workers), NF, 0, 100000, 0, NULL, NULL },
    { "min_workers", LC_INT, F(min_workers), NF, 0, 100000, 0, NULL, NULL },
    { "upscaling_speed", LC_NUM, F(upscaling_speed), NF, 0, 1e6, 0, NULL, NULL },
    { "idle_timeout_minutes", LC_NUM, F(idle_timeout_minutes), NF, 0, 1e6, 0, NULL, NULL },
    { "provider", LC_MAP, NF, NF, 0, 0, LC_REQUIRED, lc_provider, NULL },
    { "auth", LC_MAP, NF, NF, 0, 0, 0, lc_auth, NULL },
    { "docker", LC_ANY, NF, F(has_docker), 0, 0, LC_UNSUPPORTED, NULL,
      "unsupported: rayd runs commands on the host, not in a container" },
    { "available_node_types", LC_TYPES, NF, F(types_given), 0, 0, 0, NULL, NULL },
    { "head_node_type", LC_STR, F(head_node_type), NF, 0, 0, 0, NULL, NULL },
    { "file_mounts", LC_MOUNTS, NF, NF, 0, 0, 0, NULL, NULL },
    { "cluster_synced_files", LC_STRV, F(cluster_synced_files), NF, 0, 0, 0, NULL, NULL },
    { "file_mounts_sync_continuously", LC_BOOL, NF, NF, 0, 0, 0, NULL, NULL },
    { "rsync_exclude", LC_STRV, F(rsync_exclude), NF, 0, 0, 0, NULL, NULL },
    { "rsync_filter", LC_STRV, F(rsync_filter), NF, 0, 0, 0, NULL, NULL },
    { "initialization_commands", LC_STRV, F(initialization_commands), NF, 0, 0, 0, NULL, NULL },
    { "setup_commands", LC_STRV, F(setup_commands), NF, 0, 0, 0, NULL, NULL },
    { "head_setup_commands", LC_STRV, F(head_setup_commands), NF, 0, 0, 0, NULL, NULL },
    { "worker_setup_commands", LC_STRV, F(worker_setup_commands), NF, 0, 0, 0, NULL, NULL },
    { "head_start_ray_commands", LC_STRV, F(head_start_ray_commands), F(head_start_given), 0, 0,
      0, NULL, NULL },
    { "worker_start_ray_commands", LC_STRV, F(worker_start_ray_commands), F(worker_start_given),
      0, 0, 0, NULL, NULL },
    { "no_restart", LC_BOOL, F(no_restart), NF, 0, 0, 0, NULL, NULL },
    { "metadata", LC_ANY, NF, NF, 0, 0, 0, NULL, NULL },
    { NULL, LC_ANY, NF, NF, 0, 0, 0, NULL, NULL },
};

struct lc_ctx {
    const char *name; /* file name in messages */
    yaml_document_t *doc;
    struct launch_config *c;
    struct buf *warnings;
    char *err;
    size_t errlen;
};

static const char *const lc_providers[] = { "local", "gcp", "azure" };

/* User text for a message: printable ASCII only, at most 60 characters. */
static const char *lc_show(char *dst, size_t dstlen, const char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 5 < dstlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i == 60) {
            o += (size_t)snprintf(dst + o, dstlen - o, "...");
            break;
        }
        if (ch >= 0x20 && ch < 0x7f)
            dst[o++] = (char)ch;
        else
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", ch);
    }
    dst[o < dstlen ? o : dstlen - 1] = '\0';
    return dst;
}

static int lc_fail(struct lc_ctx *x, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lc_fail(struct lc_ctx *x, const yaml_node_t *at, const char *fmt, ...)
{
    int n = snprintf(x->err, x->errlen, "%s:%zu: ", x->name, at ? (size_t)at->start_mark.line + 1 : 1);
    if (n < 0 || (size_t)n >= x->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void lc_warn(struct lc_ctx *x, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lc_warn(struct lc_ctx *x, const yaml_node_t *at, const char *fmt, ...)
{
    if (x->warnings == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    buf_printf(x->warnings, "%s:%zu: warning: %s\n", x->name, (size_t)at->start_mark.line + 1, msg);
}

static const char *lc_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a single value";
    }
}

static bool lc_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* A scalar's text with no embedded NUL, or NULL. */
static const char *lc_text(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return NULL;
    return (const char *)n->data.scalar.value;
}

static void *lc_field(struct lc_ctx *x, const struct lc_key *k)
{
    return (char *)x->c + k->off;
}

static void lc_strv_free(struct launch_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void lc_strv_add(struct launch_strv *s, const char *v)
{
    s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
    s->v[s->n++] = xstrdup(v);
}

static int lc_value(struct lc_ctx *x, const struct lc_key *k, const char *path, yaml_node_t *kn,
                    yaml_node_t *v);

/* Walk mapping node M against TABLE; PREFIX names it in messages ("" at
 * the top, "provider." below); a missing key is reported at AT (the key
 * that holds M, NULL at the top: line 1). */
static int lc_map(struct lc_ctx *x, const struct lc_key *table, const char *prefix, yaml_node_t *m,
                  yaml_node_t *at)
{
    char shown[128], path[192];
    size_t nkeys = 0;
    while (table[nkeys].name)
        nkeys++;
    bool seen[32] = { false };
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
        const char *key = kn ? lc_text(kn) : NULL;
        if (key == NULL || vn == NULL)
            return lc_fail(x, kn, "%skeys must be plain words, not %s", prefix,
                           kn ? lc_kind(kn) : "nothing");
        size_t i = 0;
        while (i < nkeys && strcmp(table[i].name, key) != 0)
            i++;
        if (i == nkeys) {
            lc_warn(x, kn, "unknown key '%s%s' ignored", prefix, lc_show(shown, sizeof shown, key));
            continue;
        }
        const struct lc_key *k = &table[i];
        snprintf(path, sizeof path, "%s%s", prefix, k->name);
        if (seen[i])
            return lc_fail(x, kn, "key '%s' is given twice", path);
        seen[i] = true;
        if (k->given_off != NF)
            *(bool *)((char *)x->c + k->given_off) = true;
        if (k->flags & LC_UNSUPPORTED)
            lc_warn(x, kn, "key '%s': %s", path, k->note);
        if (lc_value(x, k, path, kn, vn) < 0)
            return -1;
    }
    for (size_t i = 0; i < nkeys; i++)
        if ((table[i].flags & LC_REQUIRED) && !seen[i])
            return lc_fail(x, at, "missing key '%s%s'", prefix, table[i].name);
    return 0;
}

static int lc_scalar_of(struct lc_ctx *x, const char *path, yaml_node_t *v, const char *want,
                        const char **out)
{
    *out = lc_text(v);
    if (*out == NULL)
        return lc_fail(x, v, "key '%s': expected %s, found %s", path, want, lc_kind(v));
    return 0;
}

#define LC_FLAT_MAX   256 /* most node_config scalars kept per type */
#define LC_FLAT_DEPTH 8   /* deepest node_config nesting read (aliases can loop) */

/* node_config's scalars as "a.b.0.c=value" lines into OUT; worker_ips (a
 * list at the top) also into IPS. Deeper or bigger than the limits above
 * is simply not kept (node_config is the cloud's; we read a few keys). */
static void lc_flatten(struct lc_ctx *x, yaml_node_t *n, const char *prefix, int depth,
                       struct launch_strv *out, struct launch_strv *ips)
{
    char key[512];
    if (n == NULL || depth > LC_FLAT_DEPTH || out->n >= LC_FLAT_MAX)
        return;
    if (n->type == YAML_SCALAR_NODE) {
        const char *t = lc_text(n);
        if (t && *prefix) {
            struct buf b = BUF_INIT;
            buf_printf(&b, "%s=%s", prefix, t);
            lc_strv_add(out, b.data);
            buf_free(&b);
        }
        return;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        int i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
            yaml_node_t *e = yaml_document_get_node(x->doc, *it);
            if (ips && e && lc_text(e))
                lc_strv_add(ips, lc_text(e));
            snprintf(key, sizeof key, "%s%s%d", prefix, *prefix ? "." : "", i);
            lc_flatten(x, e, key, depth + 1, out, NULL);
        }
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        const char *k = kn ? lc_text(kn) : NULL;
        if (k == NULL || strlen(k) > 200)
            continue;
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", k);
        lc_flatten(x, yaml_document_get_node(x->doc, p->value), key, depth + 1, out,
                   depth == 0 && strcmp(k, "worker_ips") == 0 ? ips : NULL);
    }
}

/* resources: {CPU: 2, GPU: 1, bee: 1} into "CPU=2,GPU=1,bee=1" (NULL when {}). */
static int lc_resources(struct lc_ctx *x, const char *path, yaml_node_t *v, char **out)
{
    char shown[128];
    if (lc_is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return lc_fail(x, v, "key '%s': expected a mapping of resource: amount, found %s", path,
                       lc_kind(v));
    struct buf b = BUF_INIT;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
        const char *name = kn ? lc_text(kn) : NULL, *amt = vn ? lc_text(vn) : NULL;
        bool ok_name = name && *name && strlen(name) < 64;
        for (const char *q = name; ok_name && *q; q++)
            ok_name = *q != '=' && *q != ',' && *q != ' ' && (unsigned char)*q > 0x20 &&
                      (unsigned char)*q < 0x7f && *q != '\'' && *q != '"';
        if (!ok_name) {
            buf_free(&b);
            return lc_fail(x, kn ? kn : v, "key '%s': a resource name must be one word", path);
        }
        char *end = NULL;
        errno = 0;
        double d = amt ? strtod(amt, &end) : 0;
        if (amt == NULL || end == amt || *end != '\0' || errno != 0 || !isfinite(d) || d < 0 ||
            d > 1e15) {
            buf_free(&b);
            return lc_fail(x, vn ? vn : v, "key '%s.%s': expected a number >= 0, found '%s'", path,
                           lc_show(shown, sizeof shown, name),
                           amt ? lc_show(shown + 64, sizeof shown - 64, amt) : "nothing");
        }
        buf_printf(&b, "%s%s=%s", b.len ? "," : "", name, amt);
    }
    if (b.len)
        *out = xstrdup(b.data);
    buf_free(&b);
    return 0;
}

/* available_node_types: NAME: {resources, node_config, min_workers, max_workers}. */
static int lc_types(struct lc_ctx *x, const char *path, yaml_node_t *v)
{
    char shown[128], kp[400];
    struct launch_config *c = x->c;
    if (v->type != YAML_MAPPING_NODE)
        return lc_fail(x, v, "key '%s': expected a mapping of node type name: its settings, found %s",
                       path, lc_kind(v));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *tn = yaml_document_get_node(x->doc, p->value);
        const char *name = kn ? lc_text(kn) : NULL;
        if (name == NULL || !*name || strlen(name) > 100 || tn == NULL)
            return lc_fail(x, kn ? kn : v, "key '%s': a node type's name must be a word", path);
        lc_show(shown, sizeof shown, name);
        for (size_t i = 0; i < c->ntypes; i++)
            if (strcmp(c->types[i].name, name) == 0)
                return lc_fail(x, kn, "key '%s.%s' is given twice", path, shown);
        if (c->ntypes >= 64)
            return lc_fail(x, kn, "key '%s': more than 64 node types", path);
        c->types = xreallocarray(c->types, c->ntypes + 1, sizeof *c->types);
        struct launch_node_type *t = &c->types[c->ntypes++];
        memset(t, 0, sizeof *t);
        t->name = xstrdup(name);
        t->max_workers = -1;
        if (lc_is_null(tn))
            continue;
        if (tn->type != YAML_MAPPING_NODE)
            return lc_fail(x, tn, "key '%s.%s': expected a mapping, found %s", path, shown, lc_kind(tn));
        for (yaml_node_pair_t *q = tn->data.mapping.pairs.start; q < tn->data.mapping.pairs.top; q++) {
            yaml_node_t *fk = yaml_document_get_node(x->doc, q->key);
            yaml_node_t *fv = yaml_document_get_node(x->doc, q->value);
            const char *f = fk ? lc_text(fk) : NULL;
            if (f == NULL || fv == NULL)
                return lc_fail(x, fk ? fk : tn, "key '%s.%s': keys must be plain words", path, shown);
            snprintf(kp, sizeof kp, "%s.%s.%s", path, shown, lc_show(shown + 64, sizeof shown - 64, f));
            if (strcmp(f, "resources") == 0) {
                if (t->resources)
                    return lc_fail(x, fk, "key '%s' is given twice", kp);
                if (lc_resources(x, kp, fv, &t->resources) < 0)
                    return -1;
            } else if (strcmp(f, "node_config") == 0) {
                if (!lc_is_null(fv) && fv->type != YAML_MAPPING_NODE)
                    return lc_fail(x, fv, "key '%s': expected a mapping, found %s", kp, lc_kind(fv));
                lc_flatten(x, fv, "", 0, &t->node_config, &t->worker_ips);
            } else if (strcmp(f, "min_workers") == 0 || strcmp(f, "max_workers") == 0) {
                struct lc_key k = { f, LC_INT, NF, NF, 0, 100000, 0, NULL, NULL };
                if (lc_value(x, &k, kp, fk, fv) < 0)
                    return -1;
                const char *s = lc_text(fv);
                int n = s && !lc_is_null(fv) ? atoi(s) : (f[1] == 'i' ? 0 : -1);
                if (f[1] == 'i')
                    t->min_workers = n;
                else
                    t->max_workers = n;
            } else if (strcmp(f, "worker_setup_commands") == 0 || strcmp(f, "docker") == 0 ||
                       strcmp(f, "initialization_commands") == 0) {
                lc_warn(x, fk, "key '%s': per-type %s are not supported; ignored", kp, f);
            } else {
                lc_warn(x, fk, "unknown key '%s' ignored", kp);
            }
        }
        if (t->max_workers >= 0 && t->min_workers > t->max_workers)
            return lc_fail(x, tn, "key '%s.%s.min_workers': %d is more than its max_workers (%d)", path,
                           shown, t->min_workers, t->max_workers);
    }
    return 0;
}

static int lc_value(struct lc_ctx *x, const struct lc_key *k, const char *path, yaml_node_t *kn,
                    yaml_node_t *v)
{
    const char *s;
    char shown[128];
    if (k->type == LC_ANY)
        return 0;
    if (lc_is_null(v) && !(k->flags & LC_REQUIRED))
        return 0; /* "key:" with nothing: the default */
    switch (k->type) {
    case LC_STR:
        if (lc_scalar_of(x, path, v, "a string", &s) < 0)
            return -1;
        if (*s == '\0' && (k->flags & LC_REQUIRED))
            return lc_fail(x, v, "key '%s': must not be empty", path);
        if (k->off != NF) {
            char **f = lc_field(x, k);
            free(*f);
            *f = xstrdup(s);
        }
        return 0;
    case LC_INT:
    case LC_NUM: {
        if (lc_scalar_of(x, path, v, "a number", &s) < 0)
            return -1;
        errno = 0;
        char *end;
        double d = k->type == LC_INT ? (double)strtoll(s, &end, 10) : strtod(s, &end);
        if (end == s || *end != '\0' || errno != 0 || !isfinite(d))
            return lc_fail(x, v, "key '%s': expected %s, found '%s'", path,
                           k->type == LC_INT ? "a whole number" : "a number",
                           lc_show(shown, sizeof shown, s));
        if (d < k->min || d > k->max)
            return lc_fail(x, v, "key '%s': %s is out of range [%g, %g]", path,
                           lc_show(shown, sizeof shown, s), k->min, k->max);
        if (k->off != NF) {
            if (k->type == LC_INT)
                *(int *)lc_field(x, k) = (int)d;
            else
                *(double *)lc_field(x, k) = d;
        }
        return 0;
    }
    case LC_BOOL: {
        if (lc_scalar_of(x, path, v, "true or false", &s) < 0)
            return -1;
        static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on" };
        static const char *const no[] = { "false", "False", "FALSE", "no", "No", "off" };
        int b = -1;
        for (size_t i = 0; i < 6; i++) {
            if (strcmp(s, yes[i]) == 0)
                b = 1;
            if (strcmp(s, no[i]) == 0)
                b = 0;
        }
        if (b < 0)
            return lc_fail(x, v, "key '%s': expected true or false, found '%s'", path,
                           lc_show(shown, sizeof shown, s));
        if (k->off != NF)
            *(bool *)lc_field(x, k) = b;
        return 0;
    }
    case LC_STRV: {
        if (v->type != YAML_SEQUENCE_NODE)
            return lc_fail(x, v, "key '%s': expected a list of strings, found %s", path, lc_kind(v));
        struct launch_strv *f = k->off != NF ? lc_field(x, k) : NULL;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *e = yaml_document_get_node(x->doc, *it);
            if (e == NULL || (s = lc_text(e)) == NULL)
                return lc_fail(x, e ? e : v, "key '%s': expected a list of strings, found %s in it",
                               path, e ? lc_kind(e) : "nothing");
            if (f)
                lc_strv_add(f, s);
        }
        return 0;
    }
    case LC_MOUNTS: {
        if (v->type != YAML_MAPPING_NODE)
            return lc_fail(x, v, "key '%s': expected a mapping of remote path: local path, found %s",
                           path, lc_kind(v));
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *rn = yaml_document_get_node(x->doc, p->key);
            yaml_node_t *ln = yaml_document_get_node(x->doc, p->value);
            const char *r = rn ? lc_text(rn) : NULL, *l = ln ? lc_text(ln) : NULL;
            if (r == NULL || l == NULL || !*r || !*l)
                return lc_fail(x, rn ? rn : v, "key '%s': expected remote path: local path", path);
            struct launch_config *c = x->c;
            c->mounts = xreallocarray(c->mounts, c->nmounts + 1, sizeof *c->mounts);
            c->mounts[c->nmounts].remote = xstrdup(r);
            c->mounts[c->nmounts].local = xstrdup(l);
            c->nmounts++;
        }
        return 0;
    }
    case LC_TYPES:
        return lc_types(x, path, v);
    case LC_MAP:
        if (v->type != YAML_MAPPING_NODE)
            return lc_fail(x, v, "key '%s': expected a mapping, found %s", path, lc_kind(v));
        {
            char prefix[200];
            snprintf(prefix, sizeof prefix, "%s.", path);
            return lc_map(x, k->sub, prefix, v, kn);
        }
    case LC_ANY:
        break;
    }
    return 0;
}

/* After the walk: rules across keys, and the defaults. */
static int lc_finish(struct lc_ctx *x, yaml_node_t *root)
{
    struct launch_config *c = x->c;
    char shown[128];
    bool known = false;
    for (size_t i = 0; i < sizeof lc_providers / sizeof lc_providers[0]; i++)
        known |= strcmp(c->provider_type, lc_providers[i]) == 0;
    if (!known) {
        /* name the line of the type itself */
        yaml_node_t *at = root;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
            if (kn && lc_text(kn) && strcmp(lc_text(kn), "provider") == 0 && vn)
                for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
                    yaml_node_t *tk = yaml_document_get_node(x->doc, q->key);
                    if (tk && lc_text(tk) && strcmp(lc_text(tk), "type") == 0)
                        at = yaml_document_get_node(x->doc, q->value);
                }
        }
        return lc_fail(x, at, "key 'provider.type': unknown provider '%s' (known: local, gcp, azure)",
                       lc_show(shown, sizeof shown, c->provider_type));
    }
    if (strcmp(c->provider_type, "local") == 0 && (c->head_ip == NULL || !*c->head_ip))
        return lc_fail(x, root, "missing key 'provider.head_ip' (provider local needs the head's address)");
    if (c->min_workers >= 0 && c->max_workers >= 0 && c->min_workers > c->max_workers)
        return lc_fail(x, root, "key 'min_workers': %d is more than max_workers (%d)", c->min_workers,
                       c->max_workers);
    if (c->ntypes > 0 && c->head_node_type == NULL)
        return lc_fail(x, root, "missing key 'head_node_type' (needed with available_node_types)");
    if (c->ntypes > 0 && launch_node_type_find(c, c->head_node_type) == NULL)
        return lc_fail(x, root, "key 'head_node_type': '%s' is not one of available_node_types",
                       lc_show(shown, sizeof shown, c->head_node_type));
    if (c->ntypes == 0) {
        /* Ray's defaults: one head type and one worker type */
        c->types = xcalloc(2, sizeof *c->types);
        c->ntypes = 2;
        c->types[0].name = xstrdup("ray.head.default");
        c->types[0].max_workers = 0;
        c->types[1].name = xstrdup("ray.worker.default");
        c->types[1].min_workers = c->min_workers > 0 ? c->min_workers : 0;
        c->types[1].max_workers = c->max_workers;
        free(c->head_node_type);
        c->head_node_type = xstrdup("ray.head.default");
        c->types_given = false;
    }
    if (!c->head_start_given) {
        const char *d[] = { LAUNCH_DEFAULT_HEAD_START };
        for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
            lc_strv_add(&c->head_start_ray_commands, d[i]);
    }
    if (!c->worker_start_given) {
        const char *d[] = { LAUNCH_DEFAULT_WORKER_START };
        for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
            lc_strv_add(&c->worker_start_ray_commands, d[i]);
    }
    return 0;
}

/* The key a syntax error is near: the word before ':' on LINE (0-based) of
 * TEXT, or "" when there is none. */
static void lc_line_key(const char *text, size_t len, size_t line, char *out, size_t outlen)
{
    size_t i = 0;
    for (size_t l = 0; l < line && i < len; i++)
        if (text[i] == '\n')
            l++;
    while (i < len && (text[i] == ' ' || text[i] == '-' || text[i] == '\t'))
        i++;
    size_t o = 0;
    while (i < len && o + 1 < outlen && o < 60 &&
           (text[i] == '_' || text[i] == '-' || text[i] == '.' || (text[i] >= 'a' && text[i] <= 'z') ||
            (text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= '0' && text[i] <= '9')))
        out[o++] = text[i++];
    out[o] = '\0';
    if (i >= len || text[i] != ':')
        out[0] = '\0';
}

int launch_config_parse(struct launch_config *c, const char *name, const char *text, size_t len,
                        struct buf *warnings, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->max_workers = -1;
    c->min_workers = -1;
    c->upscaling_speed = 1.0;
    c->idle_timeout_minutes = 5;
    c->path = xstrdup(name);
    struct lc_ctx x = { name, NULL, c, warnings, err, errlen };
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    bool have_doc = false;
    size_t warn_mark = warnings ? warnings->len : 0;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", name);
        goto out;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        char key[64];
        size_t line = parser.problem_mark.line;
        if (parser.problem == NULL)
            line = parser.context_mark.line;
        lc_line_key(text, len, line, key, sizeof key);
        snprintf(err, errlen, "%s:%zu: bad YAML%s%s%s: %s%s%s", name, line + 1,
                 key[0] ? " at key '" : "", key, key[0] ? "'" : "",
                 parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                 parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        goto out;
    }
    have_doc = true;
    x.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL || lc_is_null(root)) {
        snprintf(err, errlen, "%s:1: missing key 'cluster_name' (the file is empty)", name);
        goto parsed;
    }
    if (root->type != YAML_MAPPING_NODE) {
        lc_fail(&x, root, "expected a mapping of key: value at the top level, found %s", lc_kind(root));
        goto parsed;
    }
    /* a second document is a mistake, not something to ignore */
    yaml_document_t extra;
    if (yaml_parser_load(&parser, &extra)) {
        bool more = yaml_document_get_root_node(&extra) != NULL;
        size_t l = extra.start_mark.line + 1;
        yaml_document_delete(&extra);
        if (more) {
            snprintf(err, errlen, "%s:%zu: only one YAML document is allowed", name, l);
            goto parsed;
        }
    }
    if (lc_map(&x, lc_top, "", root, NULL) < 0 || lc_finish(&x, root) < 0)
        goto parsed;
    rc = 0;
parsed:
    yaml_parser_delete(&parser);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    if (rc < 0) {
        launch_config_free(c);
        if (warnings)
            warnings->len = warn_mark; /* the error is the one line */
    }
    return rc;
}

int launch_config_load(struct launch_config *c, const char *path, struct buf *warnings, char *err,
                       size_t errlen)
{
    memset(c, 0, sizeof *c);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct buf text = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        buf_append(&text, chunk, n);
        if (text.len > (4u << 20)) {
            fclose(fp);
            buf_free(&text);
            snprintf(err, errlen, "%s: bigger than 4 MiB; not a cluster config", path);
            return -1;
        }
    }
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        buf_free(&text);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    int rc = launch_config_parse(c, path, text.data ? text.data : "", text.len, warnings, err, errlen);
    buf_free(&text);
    return rc;
}

void launch_config_free(struct launch_config *c)
{
    free(c->path);
    free(c->cluster_name);
    free(c->provider_type);
    free(c->head_ip);
    free(c->project_id);
    free(c->region);
    free(c->availability_zone);
    free(c->location);
    free(c->resource_group);
    free(c->ssh_user);
    free(c->ssh_private_key);
    for (size_t i = 0; i < c->nmounts; i++) {
        free(c->mounts[i].remote);
        free(c->mounts[i].local);
    }
    free(c->mounts);
    for (size_t i = 0; i < c->ntypes; i++) {
        free(c->types[i].name);
        free(c->types[i].resources);
        lc_strv_free(&c->types[i].node_config);
        lc_strv_free(&c->types[i].worker_ips);
    }
    free(c->types);
    free(c->head_node_type);
    struct launch_strv *lists[] = { &c->worker_ips, &c->cluster_synced_files, &c->rsync_exclude,
                                    &c->rsync_filter, &c->initialization_commands,
                                    &c->setup_commands, &c->head_setup_commands,
                                    &c->worker_setup_commands, &c->head_start_ray_commands,
                                    &c->worker_start_ray_commands };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        lc_strv_free(lists[i]);
    memset(c, 0, sizeof *c);
}

const struct launch_node_type *launch_node_type_find(const struct launch_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->ntypes; i++)
        if (strcmp(c->types[i].name, name) == 0)
            return &c->types[i];
    return NULL;
}

bool launch_node_type_is_worker(const struct launch_config *c, const struct launch_node_type *t)
{
    if (c->head_node_type == NULL || strcmp(t->name, c->head_node_type) != 0)
        return true;
    return t->max_workers > 0;
}

const char *launch_node_config(const struct launch_node_type *t, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; t && i < t->node_config.n; i++)
        if (strncmp(t->node_config.v[i], key, kl) == 0 && t->node_config.v[i][kl] == '=')
            return t->node_config.v[i] + kl + 1;
    return NULL;
}
