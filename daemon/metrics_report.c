/*
 * metrics_report.c — clients' Prometheus reports, kept and merged by
 * family (metrics_report.h). The merge is the decoder of what a client
 * sends: every line is checked (names, labels, value, no control bytes)
 * before a byte of it is copied; tests/fuzz/fuzz_metrics_report.c runs it.
 */
#include "daemon/metrics_report.h"

#include "common/xmalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 127
#define HELP_MAX_LEN 300
#define LINE_MAX_LEN 4096
#define FAMILY_PREFIX "ray_serve_"

enum fam_type { FAM_COUNTER, FAM_GAUGE, FAM_HISTOGRAM };
static const char *const type_names[] = { "counter", "gauge", "histogram" };

struct family {
    char name[NAME_MAX_LEN + 1];
    enum fam_type type;
    char help[HELP_MAX_LEN + 1];
    struct buf samples;
    size_t nsamples;
};

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Length of the metric or label name at P (at most END), 0 if none. */
static size_t name_len(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && name_char(p[n], n == 0))
        n++;
    return n;
}

static bool text_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return true;
}

/* P..END is "{name="value",...}" (quotes escaped with \): returns the byte
 * after the closing brace, or NULL. */
static const char *labels_end(const char *p, const char *end)
{
    if (p >= end || *p != '{')
        return NULL;
    p++;
    if (p < end && *p == '}')
        return p + 1;
    for (;;) {
        size_t n = name_len(p, end);
        if (n == 0)
            return NULL;
        p += n;
        if (end - p < 2 || p[0] != '=' || p[1] != '"')
            return NULL;
        p += 2;
        while (p < end && *p != '"') {
            if (*p == '\\') {
                if (end - p < 2 || (p[1] != '\\' && p[1] != '"' && p[1] != 'n'))
                    return NULL;
                p++;
            }
            p++;
        }
        if (p >= end)
            return NULL;
        p++; /* the closing quote */
        if (p < end && *p == ',') {
            p++;
            if (p < end && *p == '}')
                return p + 1;
            continue;
        }
        if (p < end && *p == '}')
            return p + 1;
        return NULL;
    }
}

/* A value (and an optional integer timestamp): digits, sign, '.', 'e', or
 * NaN / +Inf / -Inf. */
static bool value_ok(const char *p, const char *end)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    const char *vend = sp ? sp : end;
    size_t n = (size_t)(vend - p);
    if (n == 0 || n > 40)
        return false;
    if ((n == 3 && memcmp(p, "NaN", 3) == 0) || (n == 4 && memcmp(p, "+Inf", 4) == 0) ||
        (n == 4 && memcmp(p, "-Inf", 4) == 0)) {
        /* fine */
    } else {
        char tmp[48];
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        char *e;
        strtod(tmp, &e);
        if (*e != '\0' || strspn(tmp, "0123456789+-.eE") != n)
            return false;
    }
    if (sp == NULL)
        return true;
    p = sp + 1;
    if (p >= end || (*p == '-' && ++p >= end))
        return false;
    for (; p < end; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static struct family *fam_find(struct family *f, size_t nf, const char *name, size_t len)
{
    for (size_t i = 0; i < nf; i++)
        if (strlen(f[i].name) == len && memcmp(f[i].name, name, len) == 0)
            return &f[i];
    return NULL;
}

static bool fam_name_ok(const char *p, size_t n)
{
    return n > strlen(FAMILY_PREFIX) && n <= NAME_MAX_LEN &&
           memcmp(p, FAMILY_PREFIX, strlen(FAMILY_PREFIX)) == 0;
}

/* Whether sample name NAME (N bytes) belongs to family F. */
static bool sample_of(const struct family *f, const char *name, size_t n)
{
    size_t fl = strlen(f->name);
    if (n == fl)
        return memcmp(name, f->name, n) == 0;
    if (f->type != FAM_HISTOGRAM || n < fl || memcmp(name, f->name, fl) != 0)
        return false;
    const char *suf = name + fl;
    size_t sl = n - fl;
    return (sl == 7 && memcmp(suf, "_bucket", 7) == 0) || (sl == 4 && memcmp(suf, "_sum", 4) == 0) ||
           (sl == 6 && memcmp(suf, "_count", 6) == 0);
}

size_t metrics_report_merge(const char *const *texts, const size_t *lens, size_t n,
                            struct buf *out)
{
    struct family *fams = xcalloc(METRICS_REPORT_FAMILIES, sizeof *fams);
    size_t nf = 0, total = 0;
    for (size_t t = 0; t < n; t++) {
        const char *p = texts[t], *end = texts[t] ? texts[t] + lens[t] : NULL;
        struct family *cur = NULL;
        char help_for[NAME_MAX_LEN + 1] = "", help[HELP_MAX_LEN + 1] = "";
        while (p && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            const char *line = p;
            size_t ll = (size_t)(le - line);
            p = nl ? nl + 1 : end;
            if (ll == 0 || ll > LINE_MAX_LEN || !text_ok(line, ll))
                continue;
            if (line[0] == '#') {
                bool is_type = ll > 7 && memcmp(line, "# TYPE ", 7) == 0;
                bool is_help = ll > 7 && memcmp(line, "# HELP ", 7) == 0;
                if (!is_type && !is_help)
                    continue; /* a comment */
                const char *nm = line + 7;
                size_t nlen = name_len(nm, le);
                if (!fam_name_ok(nm, nlen) || nm + nlen >= le || nm[nlen] != ' ')
                    continue;
                const char *rest = nm + nlen + 1;
                size_t rl = (size_t)(le - rest);
                if (is_help) {
                    if (rl > HELP_MAX_LEN)
                        rl = HELP_MAX_LEN;
                    memcpy(help_for, nm, nlen);
                    help_for[nlen] = '\0';
                    memcpy(help, rest, rl);
                    help[rl] = '\0';
                    struct family *f = fam_find(fams, nf, nm, nlen);
                    if (f && !f->help[0])
                        memcpy(f->help, help, rl + 1);
                    continue;
                }
                int ty = -1;
                for (int k = 0; k < 3; k++)
                    if (strlen(type_names[k]) == rl && memcmp(rest, type_names[k], rl) == 0)
                        ty = k;
                cur = NULL;
                if (ty < 0)
                    continue;
                struct family *f = fam_find(fams, nf, nm, nlen);
                if (f == NULL) {
                    if (nf == METRICS_REPORT_FAMILIES)
                        continue;
                    f = &fams[nf++];
                    memcpy(f->name, nm, nlen);
                    f->name[nlen] = '\0';
                    f->type = (enum fam_type)ty;
                } else if (f->type != (enum fam_type)ty) {
                    continue; /* two kinds of one name: its samples of this report are skipped */
                }
                if (!f->help[0] && strcmp(help_for, f->name) == 0)
                    snprintf(f->help, sizeof f->help, "%s", help);
                cur = f;
                continue;
            }
            size_t nlen = name_len(line, le);
            if (cur == NULL || nlen == 0 || !sample_of(cur, line, nlen))
                continue;
            const char *q = line + nlen;
            if (q < le && *q == '{' && (q = labels_end(q, le)) == NULL)
                continue;
            if (q >= le || *q != ' ' || !value_ok(q + 1, le))
                continue;
            buf_append(&cur->samples, line, ll);
            buf_append(&cur->samples, "\n", 1);
            cur->nsamples++;
            total++;
        }
    }
    for (size_t i = 0; i < nf; i++) {
        struct family *f = &fams[i];
        if (f->nsamples) {
            if (f->help[0])
                buf_printf(out, "# HELP %s %s\n", f->name, f->help);
            buf_printf(out, "# TYPE %s %s\n", f->name, type_names[f->type]);
            buf_append(out, f->samples.data, f->samples.len);
        }
        buf_free(&f->samples);
    }
    free(fams);
    return total;
}

/* ---- the reports kept (loop thread) ------------------------------------------------- */

static struct report {
    bool used;
    int client;
    long long at_ms;
    char *text;
    size_t len;
} reports[METRICS_REPORT_CLIENTS];

int metrics_report_set(int client, const char *text, size_t len, long long now_ms)
{
    if (len > METRICS_REPORT_MAX)
        return -1;
    struct report *r = NULL;
    for (size_t i = 0; i < METRICS_REPORT_CLIENTS && r == NULL; i++)
        if (reports[i].used && reports[i].client == client)
            r = &reports[i];
    for (size_t i = 0; i < METRICS_REPORT_CLIENTS && r == NULL; i++)
        if (!reports[i].used)
            r = &reports[i];
    if (r == NULL) { /* every slot taken: the stalest goes */
        r = &reports[0];
        for (size_t i = 1; i < METRICS_REPORT_CLIENTS; i++)
            if (reports[i].at_ms < r->at_ms)
                r = &reports[i];
    }
    free(r->text);
    r->text = xmemdup(len ? text : "", len ? len : 1);
    r->len = len;
    r->client = client;
    r->at_ms = now_ms;
    r->used = true;
    return 0;
}

void metrics_report_write(struct buf *out, long long now_ms, const char *extra, size_t extra_len)
{
    const char *texts[METRICS_REPORT_CLIENTS + 1];
    size_t lens[METRICS_REPORT_CLIENTS + 1], n = 0;
    if (extra) {
        texts[n] = extra;
        lens[n++] = extra_len;
    }
    for (size_t i = 0; i < METRICS_REPORT_CLIENTS; i++) {
        struct report *r = &reports[i];
        if (!r->used)
            continue;
        if (now_ms - r->at_ms > METRICS_REPORT_STALE_MS) {
            free(r->text);
            memset(r, 0, sizeof *r);
            continue;
        }
        texts[n] = r->text;
        lens[n++] = r->len;
    }
    metrics_report_merge(texts, lens, n, out);
}

void metrics_report_clear(void)
{
    for (size_t i = 0; i < METRICS_REPORT_CLIENTS; i++) {
        free(reports[i].text);
        memset(&reports[i], 0, sizeof reports[i]);
    }
}
