/*
 * json.c — writing JSON strings and reading small untrusted JSON documents
 * (json.h). The reader is a recursive-descent skipper with a depth limit:
 * it never builds a tree, it only finds the text of the value asked for.
 */
#include "common/json.h"

#include "common/buf.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void json_put_strn(struct buf *b, const char *s, size_t len)
{
    buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        if (ch == '"' || ch == '\\') {
            char e[2] = { '\\', (char)ch };
            buf_append(b, e, 2);
        } else if (ch == '\n') {
            buf_append(b, "\\n", 2);
        } else if (ch == '\t') {
            buf_append(b, "\\t", 2);
        } else {
            buf_printf(b, "\\u%04x", ch);
        }
    }
    buf_append(b, s + run, len - run);
    buf_append(b, "\"", 1);
}

void json_put_str(struct buf *b, const char *s)
{
    json_put_strn(b, s ? s : "", s ? strlen(s) : 0);
}

/* ---- reading ---------------------------------------------------------------- */

struct jr {
    const char *p, *end;
};

static void ws(struct jr *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int skip_string(struct jr *r)
{
    if (r->p >= r->end || *r->p != '"')
        return -1;
    for (r->p++; r->p < r->end; r->p++) {
        unsigned char ch = (unsigned char)*r->p;
        if (ch == '"') {
            r->p++;
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch == '\\') {
            if (++r->p >= r->end)
                return -1;
            if (*r->p == 'u') {
                for (int k = 0; k < 4; k++)
                    if (++r->p >= r->end || !strchr("0123456789abcdefABCDEF", *r->p) || !*r->p)
                        return -1;
            } else if (!strchr("\"\\/bfnrt", *r->p) || !*r->p) {
                return -1;
            }
        }
    }
    return -1;
}

static int skip_number(struct jr *r)
{
    const char *start = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    const char *digits = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
        r->p++;
    if (r->p == digits)
        return -1;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        const char *f = r->p;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
        if (r->p == f)
            return -1;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        const char *e = r->p;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
        if (r->p == e)
            return -1;
    }
    return r->p > start ? 0 : -1;
}

static int skip_value(struct jr *r, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return -1;
    ws(r);
    if (r->p >= r->end)
        return -1;
    char c = *r->p;
    if (c == '"')
        return skip_string(r);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        r->p++;
        ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                ws(r);
                if (skip_string(r) < 0)
                    return -1;
                ws(r);
                if (r->p >= r->end || *r->p != ':')
                    return -1;
                r->p++;
            }
            if (skip_value(r, depth + 1) < 0)
                return -1;
            ws(r);
            if (r->p >= r->end)
                return -1;
            if (*r->p == close) {
                r->p++;
                return 0;
            }
            if (*r->p != ',')
                return -1;
            r->p++;
        }
    }
    static const char *const words[] = { "true", "false", "null" };
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(words[i]);
        if ((size_t)(r->end - r->p) >= l && memcmp(r->p, words[i], l) == 0) {
            r->p += l;
            return 0;
        }
    }
    return skip_number(r);
}

bool json_valid(const char *s, size_t len)
{
    struct jr r = { s, s + len };
    if (skip_value(&r, 0) < 0)
        return false;
    ws(&r);
    return r.p == r.end;
}

int json_member(const char *s, size_t len, const char *key, const char **val, size_t *vlen)
{
    struct jr r = { s, s + len };
    size_t klen = strlen(key);
    ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return -1;
    r.p++;
    ws(&r);
    if (r.p < r.end && *r.p == '}')
        return -1;
    for (;;) {
        ws(&r);
        const char *k = r.p;
        if (skip_string(&r) < 0)
            return -1;
        bool match = (size_t)(r.p - k) == klen + 2 && memcmp(k + 1, key, klen) == 0;
        ws(&r);
        if (r.p >= r.end || *r.p != ':')
            return -1;
        r.p++;
        ws(&r);
        const char *v = r.p;
        if (skip_value(&r, 1) < 0)
            return -1;
        if (match) {
            *val = v;
            *vlen = (size_t)(r.p - v);
            return 0;
        }
        ws(&r);
        if (r.p >= r.end || *r.p != ',')
            return -1;
        r.p++;
    }
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

long json_string(const char *val, size_t vlen, char *out, size_t outlen)
{
    struct jr r = { val, val + vlen };
    if (outlen == 0 || skip_string(&r) < 0 || r.p != r.end)
        return -1;
    size_t o = 0;
    const char *p = val + 1, *end = val + vlen - 1;
    while (p < end) {
        uint32_t cp;
        if (*p != '\\') {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = *p++;
            continue;
        }
        p++;
        char e = *p++;
        switch (e) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            int h = hex4(p);
            p += 4;
            cp = (uint32_t)h;
            if (h >= 0xD800 && h < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                int lo = hex4(p + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + (((uint32_t)h - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    p += 6;
                }
            }
            break;
        }
        default: cp = (unsigned char)e; break;
        }
        if (cp == 0)
            return -1;
        char u[4];
        size_t n;
        if (cp < 0x80) {
            u[0] = (char)cp;
            n = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            u[0] = (char)(0xE0 | (cp >> 12));
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            u[0] = (char)(0xF0 | (cp >> 18));
            u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[3] = (char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        if (o + n >= outlen)
            return -1;
        memcpy(out + o, u, n);
        o += n;
    }
    out[o] = '\0';
    return (long)o;
}

void json_strings_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int json_string_array(const char *val, size_t vlen, int max, char ***out)
{
    struct jr r = { val, val + vlen };
    ws(&r);
    if (r.p >= r.end || *r.p != '[')
        return -1;
    r.p++;
    char **v = NULL;
    int n = 0;
    char *tmp = xmalloc(65536);
    ws(&r);
    if (r.p < r.end && *r.p == ']') {
        r.p++;
        goto done;
    }
    for (;;) {
        ws(&r);
        const char *s = r.p;
        if (skip_string(&r) < 0 || n >= max)
            goto fail;
        long l = json_string(s, (size_t)(r.p - s), tmp, 65536);
        if (l < 0)
            goto fail;
        v = xreallocarray(v, (size_t)n + 1, sizeof *v);
        v[n++] = xstrndup(tmp, (size_t)l);
        ws(&r);
        if (r.p < r.end && *r.p == ']') {
            r.p++;
            break;
        }
        if (r.p >= r.end || *r.p != ',')
            goto fail;
        r.p++;
    }
done:
    ws(&r);
    if (r.p != r.end)
        goto fail;
    free(tmp);
    *out = v;
    return n;
fail:
    free(tmp);
    json_strings_free(v, n);
    return -1;
}
