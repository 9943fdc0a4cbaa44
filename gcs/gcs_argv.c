/*
 * gcs_argv.c — the daemon-only helpers of the GCS table functions: key
 * names built with printf, and the growable argument vectors passed to
 * gcs_command_argv, and the arenas (one buffer of strings) that the write
 * batch keeps its commands in. They use the daemon's aborting allocators (xmalloc.h);
 * nothing in libray.a calls them (the sync client builds its few keys in
 * place: gcs_sync.c).
 */
#include "gcs/gcs_keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

char *gcs_key_(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    char *rest;
    va_start(ap, fmt);
    int r = vasprintf(&rest, fmt, ap);
    va_end(ap);
    if (r < 0)
        rest = xstrdup("");
    char *key = xasprintf("%s%s", prefix, rest);
    free(rest);
    return key;
}

static void argv_grow(struct gcs_argv_ *a)
{
    if (a->n < a->cap)
        return;
    a->cap = a->cap ? a->cap * 2 : 16;
    a->v = xreallocarray(a->v, (size_t)a->cap, sizeof *a->v);
    a->len = xreallocarray(a->len, (size_t)a->cap, sizeof *a->len);
    a->owned = xreallocarray(a->owned, (size_t)a->cap, sizeof *a->owned);
}

void gcs_argv_add_(struct gcs_argv_ *a, const void *p, size_t len)
{
    argv_grow(a);
    a->v[a->n] = p ? p : "";
    a->len[a->n] = p ? len : 0;
    a->n++;
}

void gcs_argv_adds_(struct gcs_argv_ *a, const char *s)
{
    gcs_argv_add_(a, s ? s : "", s ? strlen(s) : 0);
}

void gcs_argv_addcopy_(struct gcs_argv_ *a, const void *p, size_t len)
{
    char *s = xmalloc(len + 1);
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    argv_grow(a);
    a->owned[a->nowned++] = s;
    gcs_argv_add_(a, s, len);
}

void gcs_argv_addf_(struct gcs_argv_ *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        s = xstrdup("");
    argv_grow(a);
    a->owned[a->nowned++] = s;
    gcs_argv_add_(a, s, strlen(s));
}

void gcs_argv_add_record_(struct gcs_argv_ *a, const struct gcs_table_ *t, const void *rec)
{
    const char *base = rec;
    for (size_t i = 0; i < t->nfields; i++) {
        const struct gcs_field_ *f = &t->fields[i];
        gcs_argv_adds_(a, f->name);
        switch (f->type) {
        case GCS_F_STR: {
            const char *v = *(char *const *)(base + f->off);
            gcs_argv_adds_(a, v ? v : ""); /* a field left out is empty */
            break;
        }
        case GCS_F_BYTES:
            gcs_argv_add_(a, *(char *const *)(base + f->off), *(const size_t *)(base + f->lenoff));
            break;
        case GCS_F_INT:
            gcs_argv_addf_(a, "%d", *(const int *)(base + f->off));
            break;
        case GCS_F_LL:
            gcs_argv_addf_(a, "%lld", *(const long long *)(base + f->off));
            break;
        case GCS_F_BOOL:
            gcs_argv_addf_(a, "%d", *(const bool *)(base + f->off) ? 1 : 0);
            break;
        }
    }
}

void gcs_argv_free_(struct gcs_argv_ *a)
{
    for (int i = 0; i < a->nowned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->v);
    free(a->len);
    memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------- arenas */

void gcs_arena_open_(struct gcs_arena_ *a)
{
    a->open_at = a->bytes.len;
}

void gcs_arena_put_(struct gcs_arena_ *a, const void *p, size_t len)
{
    buf_append(&a->bytes, p, len); /* cannot fail: the daemon's allocator aborts */
}

void gcs_arena_puts_(struct gcs_arena_ *a, const char *s)
{
    if (s)
        gcs_arena_put_(a, s, strlen(s));
}

void gcs_arena_putll_(struct gcs_arena_ *a, long long v)
{
    buf_append_ll(&a->bytes, v);
}

void gcs_arena_close_(struct gcs_arena_ *a)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->off = xreallocarray(a->off, (size_t)a->cap, sizeof *a->off);
        a->len = xreallocarray(a->len, (size_t)a->cap, sizeof *a->len);
        a->v = xreallocarray(a->v, (size_t)a->cap, sizeof *a->v);
    }
    a->off[a->n] = a->open_at;
    a->len[a->n] = a->bytes.len - a->open_at;
    a->n++;
    buf_append(&a->bytes, "", 1);
}

void gcs_arena_add_(struct gcs_arena_ *a, const void *p, size_t len)
{
    gcs_arena_open_(a);
    gcs_arena_put_(a, p, len);
    gcs_arena_close_(a);
}

void gcs_arena_adds_(struct gcs_arena_ *a, const char *s)
{
    gcs_arena_add_(a, s ? s : "", s ? strlen(s) : 0);
}

void gcs_arena_addll_(struct gcs_arena_ *a, long long v)
{
    gcs_arena_open_(a);
    gcs_arena_putll_(a, v);
    gcs_arena_close_(a);
}

const char *gcs_arena_at_(const struct gcs_arena_ *a, int i)
{
    return a->bytes.data + a->off[i];
}

const char **gcs_arena_argv_(struct gcs_arena_ *a, const size_t **len)
{
    for (int i = 0; i < a->n; i++)
        a->v[i] = a->bytes.data + a->off[i];
    *len = a->len;
    return a->v;
}

void gcs_arena_reset_(struct gcs_arena_ *a)
{
    if (a->bytes.cap > GCS_ARENA_KEEP)
        buf_free(&a->bytes); /* one huge batch does not pin its memory for good */
    buf_reset(&a->bytes);
    a->n = 0;
    a->open_at = 0;
}

void gcs_arena_free_(struct gcs_arena_ *a)
{
    buf_free(&a->bytes);
    free(a->off);
    free(a->len);
    free(a->v);
    memset(a, 0, sizeof *a);
}
