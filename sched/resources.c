/*
 * resources.c — resource sets (see resources.h).
 *
 * Sets are tiny (a handful of entries), so they are sorted arrays searched
 * linearly; the ordering rule (standard names first, then strcmp) lives in
 * res_cmp_ alone. The text form is read by res_scan (resparse.c).
 */
#include "sched/resources.h"
#include "common/buf.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const res_std_names[] = { RES_CPU, RES_GPU, RES_MEMORY, RES_OBJECT_STORE_MEMORY };
#define RES_NSTD (sizeof res_std_names / sizeof res_std_names[0])

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

/* NAME as an entry holds it: the static string of a standard name (no
 * allocation: a task's demand is usually CPU alone), else a copy. */
static char *res_name_dup(const char *name)
{
    size_t r = res_rank(name);
    return r < RES_NSTD ? (char *)res_std_names[r] : xstrdup(name);
}

static void res_name_free(char *name)
{
    for (size_t i = 0; i < RES_NSTD; i++)
        if (name == res_std_names[i])
            return;
    free(name);
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
    res_clear(s);
    free(s->e);
    res_init(s);
}

void res_clear(struct res_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        res_name_free(s->e[i].name);
    s->n = 0;
}

void res_drop_if(struct res_set *s, bool (*drop)(const char *name, void *arg), void *arg)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (drop(s->e[i].name, arg)) {
            res_name_free(s->e[i].name);
            continue;
        }
        s->e[k++] = s->e[i];
    }
    s->n = k;
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
        dst->e[i].name = res_name_dup(src->e[i].name);
        dst->e[i].amount = src->e[i].amount;
    }
    dst->n = src->n;
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
    s->e[pos].name = res_name_dup(name);
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

/* The text is read by res_scan (resparse.c, also linked into libray.a so
 * that ray_call rejects a bad string before sending it); this only keeps
 * the pairs it finds. */
static void res_parse_keep(const char *name, int64_t amount, void *arg)
{
    res_set_amount(arg, name, amount); /* res_scan checked name, amount and count */
}

int res_parse(struct res_set *out, const char *spec, char *err, size_t errlen)
{
    res_clear(out);
    int rc = res_scan(spec, res_parse_keep, out, err, errlen);
    if (rc < 0)
        res_free(out);
    return rc;
}

bool res_equal(const struct res_set *a, const struct res_set *b)
{
    /* both sorted the same way: compare entry by entry */
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].amount != b->e[i].amount || strcmp(a->e[i].name, b->e[i].name) != 0)
            return false;
    return true;
}
