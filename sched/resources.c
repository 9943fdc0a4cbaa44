/*
 * resources.c — resource sets (see resources.h).
 *
 * Sets are tiny (a handful of entries), so they are sorted arrays searched
 * linearly; the ordering rule (standard names first, then strcmp) lives in
 * res_cmp_ alone. Parsing is by hand: the "a=1,b=2" form and a JSON object of
 * numbers are the only inputs, and amounts are read digit by digit into
 * fixed point so "0.1" is exactly 1000 units, never 999.99...
 */
#include "sched/resources.h"
#include "common/buf.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const res_std_names[] = { RES_CPU, RES_GPU, RES_MEMORY, RES_OBJECT_STORE_MEMORY };
#define RES_NSTD (sizeof res_std_names / sizeof res_std_names[0])

static void res_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void res_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Rank of a standard name (0..3), or RES_NSTD for a custom one. */
static size_t res_rank(const char *name)
{
    for (size_t i = 0; i < RES_NSTD; i++)
        if (strcmp(name, res_std_names[i]) == 0)
            return i;
    return RES_NSTD;
}

/* Set order: standard names in their fixed order, then custom by strcmp. */
static int res_cmp_(const char *a, const char *b)
{
    size_t ra = res_rank(a), rb = res_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return ra < RES_NSTD ? 0 : strcmp(a, b);
}

void res_init(struct res_set *s)
{
    s->e = NULL;
    s->n = 0;
    s->cap = 0;
}

void res_free(struct res_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].name);
    free(s->e);
    res_init(s);
}

void res_copy(struct res_set *dst, const struct res_set *src)
{
    if (dst == src)
        return;
    res_free(dst);
    if (src->n == 0)
        return;
    dst->e = xcalloc(src->n, sizeof *dst->e);
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->e[i].name = xstrdup(src->e[i].name);
        dst->e[i].amount = src->e[i].amount;
    }
    dst->n = src->n;
}

static bool res_name_char(int c)
{
    return isalnum(c) || c == '_' || c == ':' || c == '.' || c == '-';
}

bool res_name_valid(const char *name)
{
    size_t len = 0;
    if (name == NULL)
        return false;
    for (const char *p = name; *p; p++, len++)
        if (!res_name_char((unsigned char)*p))
            return false;
    return len >= 1 && len <= RES_NAME_MAX;
}

/* Index of NAME in S, or -1; *POS gets where it would be inserted. */
static long res_find(const struct res_set *s, const char *name, size_t *pos)
{
    size_t i = 0;
    for (; i < s->n; i++) {
        int c = res_cmp_(s->e[i].name, name);
        if (c == 0 && strcmp(s->e[i].name, name) == 0)
            return (long)i;
        if (c > 0)
            break;
    }
    if (pos)
        *pos = i;
    return -1;
}

int64_t res_get(const struct res_set *s, const char *name)
{
    long i = res_find(s, name, NULL);
    return i < 0 ? 0 : s->e[i].amount;
}

bool res_has(const struct res_set *s, const char *name)
{
    return res_find(s, name, NULL) >= 0;
}

int res_set_amount(struct res_set *s, const char *name, int64_t amount)
{
    if (!res_name_valid(name) || amount < 0 || amount > RES_AMOUNT_MAX) {
        errno = EINVAL;
        return -1;
    }
    size_t pos;
    long i = res_find(s, name, &pos);
    if (i >= 0) {
        s->e[i].amount = amount;
        return 0;
    }
    if (s->n >= RES_MAX_ENTRIES) {
        errno = E2BIG;
        return -1;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->e = xreallocarray(s->e, s->cap, sizeof *s->e);
    }
    memmove(&s->e[pos + 1], &s->e[pos], (s->n - pos) * sizeof *s->e);
    s->e[pos].name = xstrdup(name);
    s->e[pos].amount = amount;
    s->n++;
    return 0;
}

bool res_fits(const struct res_set *avail, const struct res_set *demand)
{
    for (size_t i = 0; i < demand->n; i++)
        if (demand->e[i].amount > res_get(avail, demand->e[i].name))
            return false;
    return true;
}

int res_sub(struct res_set *avail, const struct res_set *demand)
{
    if (!res_fits(avail, demand)) {
        errno = ERANGE;
        return -1;
    }
    for (size_t i = 0; i < demand->n; i++) {
        long j = res_find(avail, demand->e[i].name, NULL);
        if (j >= 0) /* absent only when the demand is 0 */
            avail->e[j].amount -= demand->e[i].amount;
    }
    return 0;
}

int res_add(struct res_set *avail, const struct res_set *demand)
{
    size_t added = 0;
    for (size_t i = 0; i < demand->n; i++) {
        long j = res_find(avail, demand->e[i].name, NULL);
        if (j < 0)
            added++;
        else if (avail->e[j].amount > RES_AMOUNT_MAX - demand->e[i].amount) {
            errno = ERANGE;
            return -1;
        }
    }
    if (avail->n + added > RES_MAX_ENTRIES) {
        errno = E2BIG;
        return -1;
    }
    for (size_t i = 0; i < demand->n; i++) {
        int64_t have = res_get(avail, demand->e[i].name);
        res_set_amount(avail, demand->e[i].name, have + demand->e[i].amount);
    }
    return 0;
}

bool res_is_empty(const struct res_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].amount != 0)
            return false;
    return true;
}

void res_format(const struct res_set *s, struct buf *out)
{
    for (size_t i = 0; i < s->n; i++) {
        int64_t a = s->e[i].amount;
        buf_printf(out, "%s%s=%lld", i ? "," : "", s->e[i].name, (long long)(a / RES_SCALE));
        int64_t frac = a % RES_SCALE;
        if (frac) {
            char digits[8];
            snprintf(digits, sizeof digits, "%04lld", (long long)frac);
            size_t n = strlen(digits);
            while (n > 0 && digits[n - 1] == '0')
                n--;
            buf_printf(out, ".%.*s", (int)n, digits);
        }
    }
}

/* ------------------------------------------------------------------ parsing */

/* Read a decimal amount at *P (digits, optional '.' and up to 4 digits) into
 * *OUT units; advances *P. Returns 0 or -1 with ERR set. */
static int res_parse_amount(const char **p, const char *name, int64_t *out, char *err, size_t errlen)
{
    const char *s = *p;
    int64_t whole = 0, frac = 0;
    int nint = 0, nfrac = 0;
    if (*s == '-') {
        res_errf(err, errlen, "resource '%s': amount must not be negative", name);
        return -1;
    }
    if (*s == '+')
        s++;
    for (; isdigit((unsigned char)*s); s++, nint++) {
        if (whole > RES_AMOUNT_MAX / RES_SCALE)
            goto too_big;
        whole = whole * 10 + (*s - '0');
    }
    if (*s == '.') {
        s++;
        for (; isdigit((unsigned char)*s); s++, nfrac++) {
            if (nfrac < 4)
                frac = frac * 10 + (*s - '0');
            else if (*s != '0') {
                res_errf(err, errlen, "resource '%s': at most 4 decimal places allowed", name);
                return -1;
            }
        }
    }
    if (nint + nfrac == 0 || isalpha((unsigned char)*s)) {
        int len = 0;
        while ((*p)[len] && (*p)[len] != ',' && (*p)[len] != '}' && len < 32)
            len++;
        res_errf(err, errlen, "resource '%s': expected a non-negative number, got '%.*s'", name, len, *p);
        return -1;
    }
    for (int k = nfrac; k < 4; k++)
        frac *= 10;
    if (whole > RES_AMOUNT_MAX / RES_SCALE)
        goto too_big;
    *out = whole * RES_SCALE + frac;
    if (*out > RES_AMOUNT_MAX)
        goto too_big;
    *p = s;
    return 0;
too_big:
    res_errf(err, errlen, "resource '%s': amount too large", name);
    return -1;
}

static void res_skip_ws(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
}

/* Add NAME=AMOUNT to OUT, rejecting a duplicate or a 65th entry. */
static int res_parse_put(struct res_set *out, const char *name, int64_t amount, char *err, size_t errlen)
{
    if (res_has(out, name)) {
        res_errf(err, errlen, "duplicate resource '%s'", name);
        return -1;
    }
    if (out->n >= RES_MAX_ENTRIES) {
        res_errf(err, errlen, "too many resources (at most %d)", RES_MAX_ENTRIES);
        return -1;
    }
    return res_set_amount(out, name, amount);
}

/* Read a name (P up to a delimiter) into NAME; checks charset and length. */
static int res_parse_name(const char *start, size_t len, char *name, char *err, size_t errlen)
{
    if (len == 0) {
        res_errf(err, errlen, "empty resource name");
        return -1;
    }
    if (len > RES_NAME_MAX) {
        res_errf(err, errlen, "resource name '%.16s...' longer than %d characters", start, RES_NAME_MAX);
        return -1;
    }
    memcpy(name, start, len);
    name[len] = '\0';
    if (!res_name_valid(name)) {
        res_errf(err, errlen, "bad resource name '%s' (allowed: letters, digits, _ : . -)", name);
        return -1;
    }
    return 0;
}

static int res_parse_json(struct res_set *out, const char *p, char *err, size_t errlen)
{
    char name[RES_NAME_MAX + 1];
    p++; /* '{' */
    res_skip_ws(&p);
    if (*p == '}')
        goto end;
    for (;;) {
        res_skip_ws(&p);
        if (*p != '"') {
            res_errf(err, errlen, "resources JSON: expected a quoted name at '%.16s'", p);
            return -1;
        }
        const char *start = ++p;
        while (*p && *p != '"' && *p != '\\')
            p++;
        if (*p == '\\') {
            res_errf(err, errlen, "resources JSON: escapes in names are not supported");
            return -1;
        }
        if (*p != '"') {
            res_errf(err, errlen, "resources JSON: unterminated string");
            return -1;
        }
        if (res_parse_name(start, (size_t)(p - start), name, err, errlen) < 0)
            return -1;
        p++;
        res_skip_ws(&p);
        if (*p != ':') {
            res_errf(err, errlen, "resources JSON: expected ':' after \"%s\"", name);
            return -1;
        }
        p++;
        res_skip_ws(&p);
        int64_t amount;
        if (res_parse_amount(&p, name, &amount, err, errlen) < 0 ||
            res_parse_put(out, name, amount, err, errlen) < 0)
            return -1;
        res_skip_ws(&p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}')
            break;
        res_errf(err, errlen, "resources JSON: expected ',' or '}' after \"%s\"", name);
        return -1;
    }
end:
    p++;
    res_skip_ws(&p);
    if (*p) {
        res_errf(err, errlen, "resources JSON: trailing text '%.16s'", p);
        return -1;
    }
    return 0;
}

static int res_parse_pairs(struct res_set *out, const char *p, char *err, size_t errlen)
{
    char name[RES_NAME_MAX + 1];
    for (;;) {
        res_skip_ws(&p);
        const char *start = p;
        while (*p && *p != '=' && *p != ',' && !isspace((unsigned char)*p))
            p++;
        const char *end = p;
        res_skip_ws(&p);
        if (*p != '=') {
            res_errf(err, errlen, "expected name=amount, got '%.*s'", (int)(end - start), start);
            return -1;
        }
        if (res_parse_name(start, (size_t)(end - start), name, err, errlen) < 0)
            return -1;
        p++;
        res_skip_ws(&p);
        int64_t amount;
        if (res_parse_amount(&p, name, &amount, err, errlen) < 0)
            return -1;
        res_skip_ws(&p);
        if (*p != ',' && *p != '\0') {
            res_errf(err, errlen, "resource '%s': unexpected '%.16s' after the amount", name, p);
            return -1;
        }
        if (res_parse_put(out, name, amount, err, errlen) < 0)
            return -1;
        if (*p == '\0')
            return 0;
        p++; /* ',' : another pair must follow */
    }
}

int res_parse(struct res_set *out, const char *spec, char *err, size_t errlen)
{
    res_free(out);
    const char *p = spec ? spec : "";
    res_skip_ws(&p);
    if (*p == '\0')
        return 0;
    int rc = *p == '{' ? res_parse_json(out, p, err, errlen) : res_parse_pairs(out, p, err, errlen);
    if (rc < 0)
        res_free(out);
    return rc;
}
