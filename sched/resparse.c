/*
 * resparse.c — the one reader of resource strings ("CPU=2,foo=0.5" and a
 * JSON object of numbers; see res_parse in resources.h).
 *
 * It allocates nothing and never aborts, so it is linked into libray.a as
 * well as rayd: the node builds res_sets from what it reads (res_parse), and
 * ray_call / ray_actor_create check a user's string with the same rules
 * before sending it (res_scan with no callback). Amounts are read digit by
 * digit into fixed point, so "0.1" is exactly 1000 units, never 999.99...
 */
#include "sched/resources.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct res_scan_state {
    res_pair_fn fn;
    void *arg;
    char *err;
    size_t errlen;
    size_t n;                                   /* pairs read so far */
    char names[RES_MAX_ENTRIES][RES_NAME_MAX + 1]; /* for duplicates */
};

static void res_errf(struct res_scan_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void res_errf(struct res_scan_state *st, const char *fmt, ...)
{
    if (st->err == NULL || st->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, st->errlen, fmt, ap);
    va_end(ap);
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

/* Length of the amount text at P, for messages (up to a delimiter, at most 32). */
static int res_amount_text(const char *p)
{
    int len = 0;
    while (p[len] && p[len] != ',' && p[len] != '}' && len < 32)
        len++;
    return len;
}

/* Read a decimal amount at *P (digits, optional '.' and up to 4 digits) into
 * *OUT units; advances *P. Returns 0 or -1 with the error set. */
static int res_parse_amount(struct res_scan_state *st, const char **p, const char *name,
                            int64_t *out)
{
    const char *s = *p;
    int64_t whole = 0, frac = 0;
    int nint = 0, nfrac = 0;
    if (*s == '-') {
        res_errf(st, "amount of '%s' must not be negative (got '%.*s')", name,
                 res_amount_text(*p), *p);
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
                res_errf(st, "amount of '%s' has more than 4 decimal places", name);
                return -1;
            }
        }
    }
    if (nint + nfrac == 0 || isalpha((unsigned char)*s)) {
        res_errf(st, "amount of '%s' is not a number (got '%.*s')",
                 name, res_amount_text(*p), *p);
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
    res_errf(st, "amount of '%s' is too large", name);
    return -1;
}

static void res_skip_ws(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
}

/* One NAME=AMOUNT read: reject a duplicate or a 65th entry, then report it. */
static int res_parse_put(struct res_scan_state *st, const char *name, int64_t amount)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->names[i], name) == 0) {
            res_errf(st, "duplicate resource '%s'", name);
            return -1;
        }
    if (st->n >= RES_MAX_ENTRIES) {
        res_errf(st, "too many resources (at most %d)", RES_MAX_ENTRIES);
        return -1;
    }
    memcpy(st->names[st->n++], name, strlen(name) + 1);
    if (st->fn)
        st->fn(name, amount, st->arg);
    return 0;
}

/* Read a name (START, LEN bytes) into NAME; checks charset and length. */
static int res_parse_name(struct res_scan_state *st, const char *start, size_t len, char *name)
{
    if (len == 0) {
        res_errf(st, "empty resource name");
        return -1;
    }
    if (len > RES_NAME_MAX) {
        res_errf(st, "resource name '%.16s...' longer than %d characters", start, RES_NAME_MAX);
        return -1;
    }
    memcpy(name, start, len);
    name[len] = '\0';
    if (!res_name_valid(name)) {
        res_errf(st, "bad resource name '%s' (allowed: letters, digits, _ : . -)", name);
        return -1;
    }
    return 0;
}

static int res_parse_json(struct res_scan_state *st, const char *p)
{
    char name[RES_NAME_MAX + 1];
    p++; /* '{' */
    res_skip_ws(&p);
    if (*p == '}')
        goto end;
    for (;;) {
        res_skip_ws(&p);
        if (*p != '"') {
            res_errf(st, "resources JSON: expected a quoted name at '%.16s'", p);
            return -1;
        }
        const char *start = ++p;
        while (*p && *p != '"' && *p != '\\')
            p++;
        if (*p == '\\') {
            res_errf(st, "resources JSON: escapes in names are not supported");
            return -1;
        }
        if (*p != '"') {
            res_errf(st, "resources JSON: unterminated string");
            return -1;
        }
        if (res_parse_name(st, start, (size_t)(p - start), name) < 0)
            return -1;
        p++;
        res_skip_ws(&p);
        if (*p != ':') {
            res_errf(st, "resources JSON: expected ':' after \"%s\"", name);
            return -1;
        }
        p++;
        res_skip_ws(&p);
        int64_t amount;
        if (res_parse_amount(st, &p, name, &amount) < 0 || res_parse_put(st, name, amount) < 0)
            return -1;
        res_skip_ws(&p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}')
            break;
        res_errf(st, "resources JSON: expected ',' or '}' after \"%s\"", name);
        return -1;
    }
end:
    p++;
    res_skip_ws(&p);
    if (*p) {
        res_errf(st, "resources JSON: trailing text '%.16s'", p);
        return -1;
    }
    return 0;
}

static int res_parse_pairs(struct res_scan_state *st, const char *p)
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
            res_errf(st, "expected name=amount, got '%.*s'", (int)(end - start), start);
            return -1;
        }
        if (res_parse_name(st, start, (size_t)(end - start), name) < 0)
            return -1;
        p++;
        res_skip_ws(&p);
        int64_t amount;
        if (res_parse_amount(st, &p, name, &amount) < 0)
            return -1;
        res_skip_ws(&p);
        if (*p != ',' && *p != '\0') {
            res_errf(st, "resource '%s': unexpected '%.16s' after the amount", name, p);
            return -1;
        }
        if (res_parse_put(st, name, amount) < 0)
            return -1;
        if (*p == '\0')
            return 0;
        p++; /* ',' : another pair must follow */
    }
}

int res_scan(const char *spec, res_pair_fn fn, void *arg, char *err, size_t errlen)
{
    struct res_scan_state st;
    st.fn = fn;
    st.arg = arg;
    st.err = err;
    st.errlen = errlen;
    st.n = 0;
    const char *p = spec ? spec : "";
    res_skip_ws(&p);
    if (*p == '\0')
        return 0;
    return *p == '{' ? res_parse_json(&st, p) : res_parse_pairs(&st, p);
}
