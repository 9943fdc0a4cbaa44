/*
 * config.c — the daemon's settings table and everything it drives: defaults,
 * setting by name, the YAML loader (libyaml), flag parsing, --help, the
 * re-exec argv and the YAML dump (see config.h).
 *
 * DESIGN: every setting is one row of cfg_table: name, type, offset of its
 * field in struct rayd_config, default (as text), bounds, flags and help.
 * Defaults are applied through the same parser as user input, so a default
 * can never disagree with its own type or bounds. All paths into a setting
 * (config_init, config_set, YAML, flags) end in cfg_apply, which parses into
 * a temporary value, checks bounds and an optional per-setting validator, and
 * only then stores it: a failed set leaves the field unchanged. Adding a
 * setting is a field in config.h plus one row here (and a line in
 * docs/config.md and configs/rayd.yaml, which tests check).
 */
#include "session/config.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "sched/resources.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

enum cfg_type { CFG_BOOL, CFG_INT, CFG_DOUBLE, CFG_STRING, CFG_SIZE, CFG_ENUM, CFG_DURATION };

#define CFG_FLAG_ONLY 0x01  /* command line only, not YAML (YAML_OK otherwise) */
#define CFG_HEAD_ONLY 0x02  /* only used by a head node */
#define CFG_AUTO      0x04  /* accepts "auto": -1 / NULL, filled in by the daemon */
#define CFG_SECRET    0x08  /* never written by config_dump */

typedef int cfg_check_fn(const char *value, char *err, size_t errlen);

struct cfg_entry {
    const char *name;
    enum cfg_type type;
    size_t offset;
    const char *def;            /* text default; NULL = none (false / NULL) */
    double min, max;            /* inclusive bounds for numeric types */
    unsigned flags;
    const char *meta;           /* value placeholder in --help; NULL = from type */
    const char *const *enums;   /* CFG_ENUM: NULL-terminated names, index = value */
    cfg_check_fn *check;        /* CFG_STRING: extra validation, or NULL */
    const char *help;
};

static cfg_check_fn cfg_check_hostport, cfg_check_redis_url, cfg_check_resources;

/* Index = enum log_level value (common/log.h). */
static const char *const cfg_log_levels[] = { "debug", "info", "warn", "error", NULL };

#define F(field) offsetof(struct rayd_config, field)
#define SIZE_MAX_CFG 1152921504606846976.0 /* 1 EiB */

static const struct cfg_entry cfg_table[] = {
    { "head", CFG_BOOL, F(head), NULL, 0, 0, CFG_FLAG_ONLY, NULL, NULL, NULL,
      "start a head node (GCS, global scheduler, Redis)" },
    { "address", CFG_STRING, F(address), NULL, 0, 0, 0, "HOST:PORT", NULL, cfg_check_hostport,
      "GCS address of an existing cluster to join" },
    { "port", CFG_INT, F(port), "6379", 1, 65535, 0, NULL, NULL, NULL,
      "GCS port (the head's redis-server listens here)" },
    { "node_ip_address", CFG_STRING, F(node_ip_address), "auto", 0, 0, CFG_AUTO, "IP|auto", NULL, NULL,
      "this node's IP address (auto: the one that reaches the GCS)" },
    { "gcs_address", CFG_STRING, F(gcs_address), NULL, 0, 0, CFG_HEAD_ONLY, "URL", NULL,
      cfg_check_redis_url, "use this Redis (redis://[:password@]host:port), do not start one" },
    { "dashboard_port", CFG_INT, F(dashboard_port), "8265", 0, 65535, CFG_HEAD_ONLY, NULL, NULL, NULL,
      "dashboard HTTP port (0: ephemeral)" },
    { "dashboard_host", CFG_STRING, F(dashboard_host), "127.0.0.1", 0, 0, CFG_HEAD_ONLY, "IP", NULL, NULL,
      "address the dashboard listens on (0.0.0.0: every interface)" },
    { "metrics_export_port", CFG_INT, F(metrics_export_port), "0", 0, 65535, 0, NULL, NULL, NULL,
      "Prometheus /metrics HTTP port of this node (0: ephemeral)" },
    { "tls_cert", CFG_STRING, F(tls_cert), NULL, 0, 0, 0, "FILE", NULL, NULL,
      "TLS certificate (PEM chain) for connections between nodes and the dashboard" },
    { "tls_key", CFG_STRING, F(tls_key), NULL, 0, 0, 0, "FILE", NULL, NULL,
      "TLS private key (PEM) of --tls-cert" },
    { "tls_ca", CFG_STRING, F(tls_ca), NULL, 0, 0, 0, "FILE", NULL, NULL,
      "CA (PEM) the other nodes' certificates must chain to" },
    { "node_manager_port", CFG_INT, F(node_manager_port), "0", 0, 65535, 0, NULL, NULL, NULL,
      "node manager TCP port (0: ephemeral)" },
    { "object_manager_port", CFG_INT, F(object_manager_port), "0", 0, 65535, 0, NULL, NULL, NULL,
      "object transfer TCP port (0: ephemeral)" },
    { "token", CFG_STRING, F(token), NULL, 0, 0, CFG_SECRET, "SECRET", NULL, NULL,
      "cluster token (default: $RAY_TOKEN, else ~/.ray/tokens/HOST_PORT, else ~/.ray/auth_token)" },
    { "cluster_name", CFG_STRING, F(cluster_name), "default", 0, 0, 0, "NAME", NULL, NULL,
      "cluster name, the prefix of its GCS keys" },
    { "num_cpus", CFG_DOUBLE, F(num_cpus), "auto", 0, 100000, CFG_AUTO, NULL, NULL, NULL,
      "CPUs this node offers (auto: online CPUs)" },
    { "num_gpus", CFG_DOUBLE, F(num_gpus), "auto", 0, 1024, CFG_AUTO, NULL, NULL, NULL,
      "GPUs this node offers (auto: detected NVIDIA GPUs)" },
    { "memory", CFG_SIZE, F(memory), "auto", 0, SIZE_MAX_CFG, CFG_AUTO, NULL, NULL, NULL,
      "memory resource for tasks (auto: RAM not given to the store)" },
    { "resources", CFG_STRING, F(resources), NULL, 0, 0, 0, "'name=n,...'|JSON", NULL, cfg_check_resources,
      "custom resources, e.g. 'foo=2,bar=0.5' or '{\"foo\": 2}'" },
    { "object_store_memory", CFG_SIZE, F(object_store_memory), "auto", 1048576, SIZE_MAX_CFG, CFG_AUTO, NULL,
      NULL, NULL, "object store size (auto: 30% of RAM, capped by /dev/shm)" },
    { "temp_dir", CFG_STRING, F(temp_dir), "/tmp/ray", 0, 0, 0, "DIR", NULL, NULL,
      "root of session directories, logs and sockets" },
    { "object_spill_dir", CFG_STRING, F(object_spill_dir), "auto", 0, 0, CFG_AUTO, "DIR|auto", NULL, NULL,
      "where objects spill to disk (auto: <session>/spill)" },
    { "redis_server", CFG_STRING, F(redis_server), "redis-server", 0, 0, CFG_HEAD_ONLY, "PATH", NULL, NULL,
      "redis-server binary the head starts" },
    { "config", CFG_STRING, F(config), NULL, 0, 0, CFG_FLAG_ONLY, "FILE", NULL, NULL,
      "YAML file of settings; flags override it" },
    { "block", CFG_BOOL, F(block), NULL, 0, 0, CFG_FLAG_ONLY, NULL, NULL, NULL,
      "stay in the foreground until stopped" },
    { "heartbeat_interval_ms", CFG_DURATION, F(heartbeat_interval_ms), "500", 10, 60000, 0, NULL, NULL, NULL,
      "how often a node heartbeats to the GCS" },
    { "node_timeout_ms", CFG_DURATION, F(node_timeout_ms), "5000", 100, 600000, 0, NULL, NULL, NULL,
      "a node is dead after this long without a heartbeat" },
    { "gcs_reconnect_timeout_ms", CFG_DURATION, F(gcs_reconnect_timeout_ms), "60000", 1000, 86400000, 0, NULL,
      NULL, NULL, "a node that cannot reach the GCS this long (head or Redis gone) exits" },
    { "max_workers", CFG_INT, F(max_workers), "0", 0, 10000, 0, NULL, NULL, NULL,
      "cap on worker processes per node (0: auto)" },
    { "prestart_workers", CFG_BOOL, F(prestart_workers), "true", 0, 0, 0, NULL, NULL, NULL,
      "start one worker per CPU at node start" },
    { "worker_idle_timeout_ms", CFG_DURATION, F(worker_idle_timeout_ms), "60000", 0, 86400000, 0, NULL, NULL,
      NULL, "idle workers beyond the prestarted ones exit after this (0: never)" },
    { "queue_threshold", CFG_INT, F(queue_threshold), "0", 0, 1000000, 0, NULL, NULL, NULL,
      "tasks queued locally before spilling to the global scheduler (0: auto)" },
    { "event_log_max_len", CFG_INT, F(event_log_max_len), "100000", 100, 100000000, CFG_HEAD_ONLY, NULL,
      NULL, NULL, "cap on the GCS event log stream (entries)" },
    { "task_table_max_finished", CFG_INT, F(task_table_max_finished), "10000", 0, 100000000, CFG_HEAD_ONLY,
      NULL, NULL, NULL, "finished tasks kept in the task table" },
    { "lineage_max_bytes", CFG_SIZE, F(lineage_max_bytes), "1GiB", 0, SIZE_MAX_CFG, 0, NULL, NULL, NULL,
      "task specs a node keeps to rebuild lost objects (oldest forgotten first, logged)" },
    { "log_level", CFG_ENUM, F(log_level), "info", 0, 0, 0, NULL, cfg_log_levels, NULL,
      "log verbosity" },
};

#define CFG_N (sizeof cfg_table / sizeof cfg_table[0])

union cfg_val {
    bool b;
    int i;
    double d;
    int64_t z;
    char *s;
};

static void cfg_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* User text for an error message: escaped, at most ~64 characters. */
static const char *cfg_show(char *dst, size_t dstlen, const char *s)
{
    size_t len = strlen(s);
    return log_escape(dst, dstlen, s, len > 64 ? 64 : len);
}

static void *cfg_field(const struct rayd_config *c, const struct cfg_entry *e)
{
    return (char *)c + e->offset;
}

/* Find a setting by name, '-' and '_' being the same; LEN bytes of NAME. */
static const struct cfg_entry *cfg_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < CFG_N; i++) {
        const char *t = cfg_table[i].name;
        if (strlen(t) != len)
            continue;
        size_t k = 0;
        for (; k < len; k++)
            if (t[k] != (name[k] == '-' ? '_' : name[k]))
                break;
        if (k == len)
            return &cfg_table[i];
    }
    return NULL;
}

/* ------------------------------------------------------- value validators */

static int cfg_check_hostport(const char *v, char *err, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == v || colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        cfg_errf(err, errlen, "expected HOST:PORT");
        return -1;
    }
    return 0;
}

static int cfg_check_redis_url(const char *v, char *err, size_t errlen)
{
    if (strncmp(v, "redis://", 8) != 0) {
        cfg_errf(err, errlen, "expected redis://[:password@]host:port");
        return -1;
    }
    const char *hp = strrchr(v + 8, '@');
    hp = hp ? hp + 1 : v + 8;
    if (cfg_check_hostport(hp, err, errlen) < 0) {
        cfg_errf(err, errlen, "expected redis://[:password@]host:port");
        return -1;
    }
    return 0;
}

static int cfg_check_resources(const char *v, char *err, size_t errlen)
{
    struct res_set s = RES_SET_INIT;
    int rc = res_parse(&s, v, err, errlen);
    res_free(&s);
    return rc;
}

/* ---------------------------------------------------------- text -> value */

static bool cfg_is_auto(const struct cfg_entry *e, const char *v)
{
    return (e->flags & CFG_AUTO) && strcasecmp(v, "auto") == 0;
}

static int cfg_parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* A plain unsigned decimal ("12", "1.5", ".5") at V; returns its length, 0
 * if there is none. Rejects what strtod would also take: signs, exponents,
 * hex, inf, nan. */
static size_t cfg_decimal_len(const char *v)
{
    size_t n = 0, digits = 0;
    bool dot = false;
    for (; v[n]; n++) {
        if (isdigit((unsigned char)v[n]))
            digits++;
        else if (v[n] == '.' && !dot)
            dot = true;
        else
            break;
    }
    return digits ? n : 0;
}

/* Bytes: a decimal and an optional unit. K/M/G/T (with or without B) are
 * powers of 1000, KiB/MiB/GiB/TiB powers of 1024, B or nothing is bytes;
 * case-insensitive; rounded to the nearest byte. */
static int cfg_parse_size(const char *v, int64_t *out)
{
    static const struct { const char *unit; long double mult; } units[] = {
        { "", 1 }, { "b", 1 },
        { "k", 1e3L }, { "kb", 1e3L }, { "m", 1e6L }, { "mb", 1e6L },
        { "g", 1e9L }, { "gb", 1e9L }, { "t", 1e12L }, { "tb", 1e12L },
        { "kib", 1024.0L }, { "mib", 1048576.0L }, { "gib", 1073741824.0L }, { "tib", 1099511627776.0L },
    };
    size_t n = cfg_decimal_len(v);
    if (n == 0)
        return -1;
    char num[64];
    if (n >= sizeof num)
        return -1;
    memcpy(num, v, n);
    num[n] = '\0';
    const char *u = v + n;
    while (*u == ' ')
        u++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(u, units[i].unit) != 0)
            continue;
        long double x = strtold(num, NULL) * units[i].mult;
        if (x >= 9.2e18L)
            return -2;
        *out = (int64_t)llroundl(x);
        return 0;
    }
    return -1;
}

/* Milliseconds: a decimal and an optional unit ms (default), s, m, h. */
static int cfg_parse_duration(const char *v, long long *out)
{
    static const struct { const char *unit; double mult; } units[] = {
        { "", 1 }, { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
    };
    size_t n = cfg_decimal_len(v);
    if (n == 0 || n >= 64)
        return -1;
    char num[64];
    memcpy(num, v, n);
    num[n] = '\0';
    const char *u = v + n;
    while (*u == ' ')
        u++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(u, units[i].unit) != 0)
            continue;
        double x = strtod(num, NULL) * units[i].mult;
        *out = x >= 9e18 ? LLONG_MAX : llround(x);
        return 0;
    }
    return -1;
}

/* Bytes as text: exact binary units when they fit ("2GiB"), else digits. */
static void cfg_size_str(char *dst, size_t len, int64_t z)
{
    static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
    for (int i = 0; i < 4 && z > 0; i++) {
        int64_t m = (int64_t)1 << (10 * (4 - i));
        if (z % m == 0) {
            snprintf(dst, len, "%lld%s", (long long)(z / m), units[i]);
            return;
        }
    }
    snprintf(dst, len, "%lld", (long long)z);
}

static void cfg_bound_str(const struct cfg_entry *e, char *dst, size_t len, double b)
{
    if (e->type == CFG_SIZE)
        cfg_size_str(dst, len, (int64_t)b);
    else
        snprintf(dst, len, "%.15g", b);
}

/* Parse V for E into *OUT (a fresh string for CFG_STRING, owned by the
 * caller). LABEL names the setting in messages. Returns 0 or -1 with ERR. */
static int cfg_parse_value(const struct cfg_entry *e, const char *label, const char *v, union cfg_val *out,
                           char *err, size_t errlen)
{
    char shown[300], lo[32], hi[32];
    double num = 0;
    cfg_show(shown, sizeof shown, v);

    if (cfg_is_auto(e, v)) {
        if (e->type == CFG_STRING)
            out->s = NULL;
        else if (e->type == CFG_DOUBLE)
            out->d = CONFIG_AUTO;
        else if (e->type == CFG_SIZE)
            out->z = CONFIG_AUTO;
        else
            out->i = CONFIG_AUTO;
        return 0;
    }
    switch (e->type) {
    case CFG_BOOL:
        if (cfg_parse_bool(v, &out->b) < 0) {
            cfg_errf(err, errlen, "%s: expected true or false (yes/no, on/off, 1/0), got '%s'", label, shown);
            return -1;
        }
        return 0;
    case CFG_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end != '\0' || isspace((unsigned char)*v)) {
            cfg_errf(err, errlen, "%s: expected an integer, got '%s'", label, shown);
            return -1;
        }
        if (errno == ERANGE || x < e->min || x > e->max)
            goto range;
        out->i = (int)x;
        return 0;
    }
    case CFG_DURATION: {
        long long x;
        if (cfg_parse_duration(v, &x) < 0) {
            cfg_errf(err, errlen, "%s: expected milliseconds (or a number with ms, s, m, h), got '%s'", label,
                     shown);
            return -1;
        }
        if (x < e->min || x > e->max)
            goto range;
        out->i = (int)x;
        return 0;
    }
    case CFG_DOUBLE: {
        char *end;
        num = strtod(v, &end);
        if (end == v || *end != '\0' || !isfinite(num) || isspace((unsigned char)*v)) {
            cfg_errf(err, errlen, "%s: expected a number, got '%s'", label, shown);
            return -1;
        }
        if (num < e->min || num > e->max)
            goto range;
        out->d = num;
        return 0;
    }
    case CFG_SIZE: {
        int rc = cfg_parse_size(v, &out->z);
        if (rc == -1) {
            cfg_errf(err, errlen, "%s: expected a size such as 512MB, 2GiB or a byte count, got '%s'", label,
                     shown);
            return -1;
        }
        if (rc == -2 || out->z < e->min || out->z > e->max)
            goto range;
        return 0;
    }
    case CFG_ENUM:
        for (int k = 0; e->enums[k]; k++) {
            if (strcasecmp(v, e->enums[k]) == 0) {
                out->i = k;
                return 0;
            }
        }
        {
            char names[128] = "";
            for (int k = 0; e->enums[k]; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "|" : "",
                         e->enums[k]);
            cfg_errf(err, errlen, "%s: expected one of %s, got '%s'", label, names, shown);
        }
        return -1;
    case CFG_STRING: {
        if (*v == '\0') {
            if (e->def && !(e->flags & CFG_AUTO)) {
                cfg_errf(err, errlen, "%s: must not be empty", label);
                return -1;
            }
            out->s = NULL; /* "" means none */
            return 0;
        }
        if (e->check) {
            char why[200];
            if (e->check(v, why, sizeof why) < 0) {
                cfg_errf(err, errlen, "%s: %s (in '%s')", label, why, shown);
                return -1;
            }
        }
        out->s = xstrdup(v);
        return 0;
    }
    }
    cfg_errf(err, errlen, "%s: unsupported setting type", label);
    return -1;
range:
    cfg_bound_str(e, lo, sizeof lo, e->min);
    cfg_bound_str(e, hi, sizeof hi, e->max);
    cfg_errf(err, errlen, "%s: %s is out of range %s..%s", label, shown, lo, hi);
    return -1;
}

static void cfg_store(struct rayd_config *c, const struct cfg_entry *e, union cfg_val v)
{
    void *p = cfg_field(c, e);
    switch (e->type) {
    case CFG_BOOL:
        *(bool *)p = v.b;
        break;
    case CFG_INT:
    case CFG_ENUM:
    case CFG_DURATION:
        *(int *)p = v.i;
        break;
    case CFG_DOUBLE:
        *(double *)p = v.d;
        break;
    case CFG_SIZE:
        *(int64_t *)p = v.z;
        break;
    case CFG_STRING:
        free(*(char **)p);
        *(char **)p = v.s;
        break;
    }
}

/* Parse and store; the field is untouched on failure. */
static int cfg_apply(struct rayd_config *c, const struct cfg_entry *e, const char *label, const char *v,
                     char *err, size_t errlen)
{
    union cfg_val val;
    memset(&val, 0, sizeof val);
    if (cfg_parse_value(e, label, v, &val, err, errlen) < 0)
        return -1;
    cfg_store(c, e, val);
    return 0;
}

/* Back to the default (NULL default: false / 0 / NULL). */
static void cfg_reset(struct rayd_config *c, const struct cfg_entry *e)
{
    if (e->def) {
        char err[256];
        if (cfg_apply(c, e, e->name, e->def, err, sizeof err) < 0)
            log_fatal("config: bad built-in default: %s", err);
        return;
    }
    union cfg_val val;
    memset(&val, 0, sizeof val);
    cfg_store(c, e, val);
}

/* ---------------------------------------------------------- value -> text */

/* E's value in C as text that cfg_parse_value reads back to the same value.
 * Returns NULL for a NULL string. */
static const char *cfg_format(const struct rayd_config *c, const struct cfg_entry *e, char *dst, size_t len)
{
    const void *p = cfg_field(c, e);
    switch (e->type) {
    case CFG_BOOL:
        return *(const bool *)p ? "true" : "false";
    case CFG_INT:
    case CFG_DURATION:
        snprintf(dst, len, "%d", *(const int *)p);
        return dst;
    case CFG_ENUM:
        return e->enums[*(const int *)p];
    case CFG_DOUBLE: {
        double d = *(const double *)p;
        if ((e->flags & CFG_AUTO) && d < 0)
            return "auto";
        for (int prec = 1; prec <= 17; prec++) { /* shortest text that round-trips */
            snprintf(dst, len, "%.*g", prec, d);
            if (strtod(dst, NULL) == d)
                break;
        }
        return dst;
    }
    case CFG_SIZE: {
        int64_t z = *(const int64_t *)p;
        if ((e->flags & CFG_AUTO) && z < 0)
            return "auto";
        cfg_size_str(dst, len, z);
        return dst;
    }
    case CFG_STRING: {
        const char *s = *(char *const *)p;
        if (s == NULL && (e->flags & CFG_AUTO))
            return "auto";
        return s;
    }
    }
    return NULL;
}

static bool cfg_equal(const struct rayd_config *a, const struct rayd_config *b, const struct cfg_entry *e)
{
    const void *pa = cfg_field(a, e), *pb = cfg_field(b, e);
    switch (e->type) {
    case CFG_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    case CFG_INT:
    case CFG_ENUM:
    case CFG_DURATION:
        return *(const int *)pa == *(const int *)pb;
    case CFG_DOUBLE:
        return *(const double *)pa == *(const double *)pb;
    case CFG_SIZE:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    case CFG_STRING: {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
        return sa == sb || (sa && sb && strcmp(sa, sb) == 0);
    }
    }
    return false;
}

/* ------------------------------------------------------------- public API */

void config_init(struct rayd_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CFG_N; i++)
        cfg_reset(c, &cfg_table[i]);
}

void config_free(struct rayd_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CFG_N; i++) {
        if (cfg_table[i].type == CFG_STRING) {
            char **p = cfg_field(c, &cfg_table[i]);
            free(*p);
            *p = NULL;
        }
    }
}

int config_set(struct rayd_config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const struct cfg_entry *e = cfg_lookup(name, strlen(name));
    if (e == NULL) {
        char shown[128];
        cfg_errf(err, errlen, "unknown setting '%s'", cfg_show(shown, sizeof shown, name));
        return -1;
    }
    return cfg_apply(c, e, e->name, value, err, errlen);
}

/* ------------------------------------------------------------------- YAML */

/* Top-level keys of a cluster launcher config (SPEC section 8) that no node
 * setting has: a file with any of them is meant for `ray up`. (cluster_name
 * and max_workers are node settings too, so they tell nothing.) */
static const char *const cfg_launcher_keys[] = {
    "provider", "auth", "available_node_types", "head_node_type", "min_workers",
    "upscaling_speed", "idle_timeout_minutes", "docker", "file_mounts", "cluster_synced_files",
    "rsync_exclude", "rsync_filter", "initialization_commands", "setup_commands",
    "head_setup_commands", "worker_setup_commands", "head_start_ray_commands",
    "worker_start_ray_commands", "head_node", "worker_nodes", NULL,
};

static bool cfg_is_launcher_key(const char *name, size_t len)
{
    for (int i = 0; cfg_launcher_keys[i]; i++)
        if (strlen(cfg_launcher_keys[i]) == len && memcmp(cfg_launcher_keys[i], name, len) == 0)
            return true;
    return false;
}

/* Warnings are held until the whole file is read: a cluster config gets its
 * one error line, not a warning per key first. */
struct cfg_warnings {
    char **v;
    size_t n;
};

static void cfg_warn(struct cfg_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfg_warn(struct cfg_warnings *w, const char *fmt, ...)
{
    va_list ap;
    char line[512];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    w->v = xreallocarray(w->v, w->n + 1, sizeof *w->v);
    w->v[w->n++] = xstrdup(line);
}

/* Log the held warnings (if SHOW) and free them. */
static void cfg_warnings_flush(struct cfg_warnings *w, bool show)
{
    for (size_t i = 0; i < w->n; i++) {
        if (show)
            log_warnx("%s", w->v[i]);
        free(w->v[i]);
    }
    free(w->v);
    w->v = NULL;
    w->n = 0;
}

static bool cfg_yaml_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return ev->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

int config_load_yaml(struct rayd_config *c, const char *path, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    bool have_ev = false, parser_ok = false, seen_doc = false;
    int rc = -1;
    int depth = 0;                    /* 0: top, 1: in the top mapping */
    const struct cfg_entry *key = NULL;
    bool have_key = false;
    char keyname[128] = "";
    size_t keyline = 0;
    /* after a bad value the rest is only read (nothing applied), to tell a
     * cluster config from a node config with a mistake */
    bool failed = false, launcher = false;
    struct cfg_warnings warnings = { 0 };

    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        cfg_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        cfg_errf(err, errlen, "%s: cannot initialise the YAML parser", path);
        goto done;
    }
    parser_ok = true;
    yaml_parser_set_input_file(&parser, fp);

    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            cfg_errf(err, errlen, "%s:%zu:%zu: YAML syntax error: %s%s%s", path,
                     (size_t)parser.problem_mark.line + 1, (size_t)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "unknown problem", parser.context ? " " : "",
                     parser.context ? parser.context : "");
            goto done;
        }
        have_ev = true;
        size_t line = ev.start_mark.line + 1;

        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            rc = failed ? -1 : 0;
            goto done;
        case YAML_DOCUMENT_START_EVENT:
            if (seen_doc) {
                cfg_errf(err, errlen, "%s:%zu: only one YAML document is allowed", path, line);
                goto done;
            }
            seen_doc = true;
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth == 0 && ev.type == YAML_MAPPING_START_EVENT) {
                depth = 1;
                break;
            }
            if (depth == 0) {
                cfg_errf(err, errlen, "%s:%zu: expected a mapping of setting: value at the top level", path, line);
                goto done;
            }
            if (depth == 1 && !have_key) {
                cfg_errf(err, errlen, "%s:%zu: setting names must be plain words", path, line);
                goto done;
            }
            if (depth == 1 && key != NULL && !failed) {
                cfg_errf(err, errlen, "%s:%zu: %s: expected a single value, not a list or mapping", path, line,
                         key->name);
                failed = true;
            }
            depth++; /* skipping the value of an unknown key */
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            if (depth == 1)
                have_key = false; /* finished skipping a nested value */
            break;
        case YAML_ALIAS_EVENT:
            cfg_errf(err, errlen, "%s:%zu: YAML aliases are not supported", path, line);
            goto done;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            char shown[160];
            if (depth == 0) {
                if (cfg_yaml_null(&ev))
                    break; /* an empty document */
                cfg_errf(err, errlen, "%s:%zu: expected a mapping of setting: value at the top level", path, line);
                goto done;
            }
            if (depth > 1)
                break; /* inside a skipped value */
            if (!have_key) {
                have_key = true;
                keyline = line;
                cfg_show(keyname, sizeof keyname, v);
                if (cfg_is_launcher_key(v, ev.data.scalar.length)) {
                    cfg_errf(err, errlen, "%s: this is a cluster config (for ray up), not a node config",
                             path);
                    launcher = true;
                    rc = -1;
                    goto done;
                }
                key = cfg_lookup(v, ev.data.scalar.length);
                if (key == NULL)
                    cfg_warn(&warnings, "%s:%zu: unknown key '%s' ignored", path, line, keyname);
                else if (key->flags & CFG_FLAG_ONLY) {
                    cfg_warn(&warnings, "%s:%zu: '%s' can only be given as a flag (--%s); ignored", path,
                             line, key->name, key->name);
                    key = NULL;
                }
                break;
            }
            have_key = false;
            if (key == NULL || failed)
                break;
            if (cfg_yaml_null(&ev)) {
                cfg_reset(c, key);
                break;
            }
            if (cfg_apply(c, key, key->name, v, shown, sizeof shown) < 0) {
                cfg_errf(err, errlen, "%s:%zu: %s", path, keyline, shown);
                failed = true;
            }
            break;
        }
        case YAML_NO_EVENT:
            break;
        }
        yaml_event_delete(&ev);
        have_ev = false;
    }

done: /* the one cleanup path, for success and failure */
    cfg_warnings_flush(&warnings, !launcher);
    if (have_ev)
        yaml_event_delete(&ev);
    if (parser_ok)
        yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

/* ------------------------------------------------------------------ flags */

struct cfg_pending {
    const struct cfg_entry *e;
    const char *value;
    char label[80];
};

int config_parse_args(struct rayd_config *c, int argc, char **argv, int *next, char *err, size_t errlen)
{
    struct cfg_pending *todo = xcalloc(argc > 0 ? (size_t)argc : 1, sizeof *todo);
    size_t ntodo = 0;
    const char *config_path = NULL;
    int rc = -1, i = 1;
    char shown[128];

    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            rc = 1;
            goto done;
        }
        if (a[1] != '-') {
            cfg_errf(err, errlen, "unknown option %s (see ray start --help)", cfg_show(shown, sizeof shown, a));
            goto done;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        const struct cfg_entry *e = cfg_lookup(name, nlen);
        bool negated = false;
        if (e == NULL && nlen > 3 && (strncmp(name, "no-", 3) == 0 || strncmp(name, "no_", 3) == 0)) {
            e = cfg_lookup(name + 3, nlen - 3);
            if (e && e->type != CFG_BOOL)
                e = NULL;
            negated = e != NULL;
        }
        if (e == NULL) {
            char nm[128];
            log_escape(nm, sizeof nm, name, nlen > 64 ? 64 : nlen);
            cfg_errf(err, errlen, "unknown option --%s (see ray start --help)", nm);
            goto done;
        }
        struct cfg_pending *t = &todo[ntodo++];
        t->e = e;
        snprintf(t->label, sizeof t->label, "--%.*s", (int)(nlen > 64 ? 64 : nlen), name);
        if (negated) {
            if (value) {
                cfg_errf(err, errlen, "option %s takes no value", t->label);
                goto done;
            }
            value = "false";
        } else if (value == NULL && e->type == CFG_BOOL) {
            value = "true";
        } else if (value == NULL) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
                cfg_errf(err, errlen, "option %s needs a value", t->label);
                goto done;
            }
            value = argv[++i];
        }
        t->value = value;
        if (e->offset == offsetof(struct rayd_config, config))
            config_path = value;
    }

    if (config_path && *config_path && config_load_yaml(c, config_path, err, errlen) < 0)
        goto done;
    for (size_t k = 0; k < ntodo; k++)
        if (cfg_apply(c, todo[k].e, todo[k].label, todo[k].value, err, errlen) < 0)
            goto done;
    rc = 0;
done:
    if (next)
        *next = i;
    free(todo);
    return rc;
}

int config_validate(const struct rayd_config *c, char *err, size_t errlen)
{
    if (c->head && c->address) {
        cfg_errf(err, errlen, "--head and --address cannot be used together");
        return -1;
    }
    if (c->heartbeat_interval_ms >= c->node_timeout_ms) {
        cfg_errf(err, errlen, "heartbeat_interval_ms (%d) must be below node_timeout_ms (%d)",
                 c->heartbeat_interval_ms, c->node_timeout_ms);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------- help, argv, dump */

static const char *cfg_meta(const struct cfg_entry *e)
{
    if (e->meta)
        return e->meta;
    switch (e->type) {
    case CFG_BOOL:
        return "";
    case CFG_INT:
        return "N";
    case CFG_DOUBLE:
        return (e->flags & CFG_AUTO) ? "N|auto" : "N";
    case CFG_SIZE:
        return (e->flags & CFG_AUTO) ? "BYTES|auto" : "BYTES";
    case CFG_DURATION:
        return "MS";
    case CFG_ENUM:
        return NULL; /* built from the names */
    case CFG_STRING:
        return "STR";
    }
    return "";
}

void config_usage(FILE *fp, const char *usage_line)
{
    struct rayd_config def;
    config_init(&def);
    if (usage_line)
        fprintf(fp, "usage: %s\n\n", usage_line);
    fprintf(fp, "Options (also YAML keys, with '_' for '-', in the file given to --config):\n");
    for (size_t i = 0; i < CFG_N; i++) {
        const struct cfg_entry *e = &cfg_table[i];
        char flag[128], meta[96], dflt[64], val[64] = "";
        const char *m = cfg_meta(e);
        if (m == NULL) {
            meta[0] = '\0';
            for (int k = 0; e->enums[k]; k++)
                snprintf(meta + strlen(meta), sizeof meta - strlen(meta), "%s%s", k ? "|" : "", e->enums[k]);
            m = meta;
        }
        snprintf(flag, sizeof flag, "--%s", e->name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        const char *v = cfg_format(&def, e, val, sizeof val);
        dflt[0] = '\0';
        if (v && !(e->type == CFG_BOOL && !*(bool *)cfg_field(&def, e)))
            snprintf(dflt, sizeof dflt, " [default %s]", v);
        char left[256];
        snprintf(left, sizeof left, "%s%s%s", flag, *m ? " " : "", m);
        fprintf(fp, "  %-36s %s%s%s%s\n", left, e->help, dflt, (e->flags & CFG_FLAG_ONLY) ? " [flag only]" : "",
                (e->flags & CFG_HEAD_ONLY) ? " [head only]" : "");
    }
    fprintf(fp, "  %-36s %s\n", "-h, --help", "print this help");
    fprintf(fp, "Sizes: bytes, or with K/M/G/T (powers of 1000, B optional) or KiB/MiB/GiB/TiB.\n"
                "Booleans: --flag, --no-flag or --flag=true|false|yes|no.\n");
    config_free(&def);
}

int config_to_argv(const struct rayd_config *c, char ***argv_out, int *argc_out)
{
    struct rayd_config def;
    config_init(&def);
    char **argv = xcalloc(CFG_N + 1, sizeof *argv);
    int n = 0;
    for (size_t i = 0; i < CFG_N; i++) {
        const struct cfg_entry *e = &cfg_table[i];
        if (e->offset == offsetof(struct rayd_config, config) || cfg_equal(c, &def, e))
            continue;
        char flag[96], val[64];
        snprintf(flag, sizeof flag, "%s", e->name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        const char *v = cfg_format(c, e, val, sizeof val);
        if (e->type == CFG_BOOL)
            argv[n++] = xasprintf("--%s%s", *(bool *)cfg_field(c, e) ? "" : "no-", flag);
        else
            argv[n++] = xasprintf("--%s=%s", flag, v ? v : "");
    }
    argv[n] = NULL;
    config_free(&def);
    *argv_out = argv;
    *argc_out = n;
    return 0;
}

void config_argv_free(char **argv, int argc)
{
    if (argv == NULL)
        return;
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* S as a YAML double-quoted scalar. */
static void cfg_yaml_quote(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(fp, "\\x%02x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

void config_dump(FILE *fp, const struct rayd_config *c)
{
    for (size_t i = 0; i < CFG_N; i++) {
        const struct cfg_entry *e = &cfg_table[i];
        char val[64];
        if (e->flags & CFG_FLAG_ONLY)
            continue;
        fprintf(fp, "# %s%s\n", e->help, (e->flags & CFG_HEAD_ONLY) ? " (head only)" : "");
        const char *v = (e->flags & CFG_SECRET) ? NULL : cfg_format(c, e, val, sizeof val);
        fprintf(fp, "%s: ", e->name);
        if (v == NULL)
            fputs("null", fp);
        else if (e->type == CFG_STRING && *(char *const *)cfg_field(c, e) != NULL)
            cfg_yaml_quote(fp, v);
        else
            fputs(v, fp);
        fputc('\n', fp);
    }
}
