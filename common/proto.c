/*
 * proto.c — the wire codec: message table lookups, a msgpack writer, a
 * bounds-checked msgpack reader and the frame decoder (see proto.h).
 *
 * DESIGN: encoding is hand-written standard msgpack (smallest form for every
 * integer, length and count), so the fuzz target needs no third-party code.
 * Decoding never allocates and never trusts a length before checking it: a
 * str/bin/ext length must fit in the bytes left, an array or map count must
 * be <= PROTO_MAX_ELEMS and <= the bytes left (every element takes at least
 * one byte), and nesting is limited to PROTO_MAX_DEPTH, counting the frame's
 * own top-level array as depth 1. Values are skipped by recursion bounded by
 * that depth, so total work is linear in the frame size. The internal
 * readers take an optional error buffer so proto_decode can say exactly what
 * was wrong, while the public mpr_* functions only set r->err.
 */
#include "common/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- message table ---------------------------------------------------- */

struct proto_entry {
    uint32_t type;
    const char *name;
    const char *fmt;
    const char *doc;
};

static const struct proto_entry proto_table[] = {
#define PROTO_ENTRY_(name, num, fmt, doc) { num, #name, fmt, doc },
    PROTO_MESSAGES(PROTO_ENTRY_)
#undef PROTO_ENTRY_
};

#define PROTO_NMSG ((int)(sizeof proto_table / sizeof proto_table[0]))

/* Index into proto_table, or -1. The switch is generated from the same table. */
enum {
#define PROTO_IDX_(name, num, fmt, doc) PROTO_IDX_##name,
    PROTO_MESSAGES(PROTO_IDX_)
#undef PROTO_IDX_
};

static int proto_index(uint32_t type)
{
    switch (type) {
#define PROTO_CASE_(name, num, fmt, doc) \
    case num:                            \
        return PROTO_IDX_##name;
        PROTO_MESSAGES(PROTO_CASE_)
#undef PROTO_CASE_
    default:
        return -1;
    }
}

const char *proto_format(uint32_t type)
{
    int i = proto_index(type);
    return i < 0 ? NULL : proto_table[i].fmt;
}

const char *proto_name(uint32_t type)
{
    int i = proto_index(type);
    return i < 0 ? NULL : proto_table[i].name;
}

void proto_foreach(void (*fn)(uint32_t type, const char *name, const char *fmt, void *arg), void *arg)
{
    for (int i = 0; i < PROTO_NMSG; i++)
        fn(proto_table[i].type, proto_table[i].name, proto_table[i].fmt, arg);
}

/* Field names, split once out of the doc column. */
static char proto_names_buf[PROTO_NMSG][128];
static const char *proto_names[PROTO_NMSG][PROTO_MAX_FIELDS];
static pthread_once_t proto_names_once = PTHREAD_ONCE_INIT;

static void proto_names_init(void)
{
    for (int i = 0; i < PROTO_NMSG; i++) {
        char *s = proto_names_buf[i];
        snprintf(s, sizeof proto_names_buf[i], "%s", proto_table[i].doc);
        int n = 0;
        char *save = NULL;
        for (char *w = strtok_r(s, " ", &save); w && n < PROTO_MAX_FIELDS; w = strtok_r(NULL, " ", &save))
            proto_names[i][n++] = w;
    }
}

const char *proto_field_name(uint32_t type, int idx)
{
    int i = proto_index(type);
    if (i < 0 || idx < 0 || idx >= PROTO_MAX_FIELDS || idx >= (int)strlen(proto_table[i].fmt))
        return NULL;
    pthread_once(&proto_names_once, proto_names_init);
    return proto_names[i][idx];
}

/* ---- msgpack writer --------------------------------------------------- */
/* Hand-written rather than msgpack-c's packer, which measured slower on
 * our frames (docs/protocol.md "Writer", bench/bench_mpw.c). */

static void put_be(struct buf *b, uint8_t tag, uint64_t v, int nbytes)
{
    uint8_t *p = (uint8_t *)buf_reserve(b, 1 + (size_t)nbytes);
    if (p == NULL)
        return; /* B's sticky error says so */
    p[0] = tag;
    for (int i = 0; i < nbytes; i++)
        p[1 + i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
    b->len += 1 + (size_t)nbytes;
}

static void put_byte(struct buf *b, uint8_t c)
{
    buf_append(b, &c, 1);
}

void mpw_nil(struct buf *b)
{
    put_byte(b, 0xc0);
}

void mpw_bool(struct buf *b, bool v)
{
    put_byte(b, v ? 0xc3 : 0xc2);
}

void mpw_uint(struct buf *b, uint64_t v)
{
    if (v <= 0x7f)
        put_byte(b, (uint8_t)v);
    else if (v <= UINT8_MAX)
        put_be(b, 0xcc, v, 1);
    else if (v <= UINT16_MAX)
        put_be(b, 0xcd, v, 2);
    else if (v <= UINT32_MAX)
        put_be(b, 0xce, v, 4);
    else
        put_be(b, 0xcf, v, 8);
}

void mpw_int(struct buf *b, int64_t v)
{
    if (v >= 0)
        mpw_uint(b, (uint64_t)v);
    else if (v >= -32)
        put_byte(b, (uint8_t)(0xe0 | (v & 0x1f)));
    else if (v >= INT8_MIN)
        put_be(b, 0xd0, (uint64_t)v, 1);
    else if (v >= INT16_MIN)
        put_be(b, 0xd1, (uint64_t)v, 2);
    else if (v >= INT32_MIN)
        put_be(b, 0xd2, (uint64_t)v, 4);
    else
        put_be(b, 0xd3, (uint64_t)v, 8);
}

void mpw_double(struct buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_be(b, 0xcb, bits, 8);
}

/* Header for str/bin/array/map: FIX (or 0 if none) below FIXMAX, else 8/16/32-bit forms. */
static void put_len(struct buf *b, uint64_t n, uint8_t fix, uint64_t fixmax, uint8_t t8, uint8_t t16,
                    uint8_t t32)
{
    if (n > UINT32_MAX) { /* not representable in msgpack; frames are far smaller */
        b->err = EOVERFLOW;
        return;
    }
    if (fix && n <= fixmax)
        put_byte(b, (uint8_t)(fix | n));
    else if (t8 && n <= UINT8_MAX)
        put_be(b, t8, n, 1);
    else if (n <= UINT16_MAX)
        put_be(b, t16, n, 2);
    else
        put_be(b, t32, n, 4);
}

void mpw_str(struct buf *b, const char *s, size_t len)
{
    put_len(b, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
    buf_append(b, s, len);
}

void mpw_cstr(struct buf *b, const char *s)
{
    if (s == NULL)
        mpw_nil(b);
    else
        mpw_str(b, s, strlen(s));
}

void mpw_bin(struct buf *b, const void *p, size_t len)
{
    put_len(b, len, 0, 0, 0xc4, 0xc5, 0xc6);
    buf_append(b, p, len);
}

void mpw_array(struct buf *b, uint32_t n)
{
    put_len(b, n, 0x90, 15, 0, 0xdc, 0xdd);
}

void mpw_map(struct buf *b, uint32_t n)
{
    put_len(b, n, 0x80, 15, 0, 0xde, 0xdf);
}

int mpw_map_extend(struct buf *b, const void *map, size_t len, uint32_t extra)
{
    const uint8_t *p = map;
    uint32_t n;
    size_t hdr;
    if (len >= 1 && (p[0] & 0xf0) == 0x80) {
        n = p[0] & 0x0f;
        hdr = 1;
    } else if (len >= 3 && p[0] == 0xde) {
        n = (uint32_t)p[1] << 8 | p[2];
        hdr = 3;
    } else if (len >= 5 && p[0] == 0xdf) {
        n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        hdr = 5;
    } else {
        return -1;
    }
    if (extra > UINT32_MAX - n)
        return -1;
    mpw_map(b, n + extra);
    buf_append(b, p + hdr, len - hdr);
    return 0;
}

/* ---- msgpack reader --------------------------------------------------- */

static const char *const mpr_kind_names[] = {
    [MPR_NIL] = "nil",     [MPR_BOOL] = "bool",  [MPR_UINT] = "uint",   [MPR_INT] = "int",
    [MPR_FLOAT] = "float", [MPR_STR] = "string", [MPR_BIN] = "bytes",   [MPR_ARRAY] = "array",
    [MPR_MAP] = "map",     [MPR_EXT] = "ext",
};

__attribute__((format(printf, 4, 5))) static int rd_fail(struct mpr *r, char *e, size_t el,
                                                         const char *fmt, ...)
{
    if (e != NULL && el > 0 && !r->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e, el, fmt, ap);
        va_end(ap);
    }
    r->err = 1;
    return -1;
}

static size_t rd_left(const struct mpr *r)
{
    return (size_t)(r->end - r->p);
}

static uint64_t rd_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

void mpr_init(struct mpr *r, const void *p, size_t len)
{
    r->p = p;
    r->end = r->p + len;
    r->err = 0;
    if (p == NULL)
        r->end = r->p = (const uint8_t *)"";
}

bool mpr_at_end(const struct mpr *r)
{
    return !r->err && r->p == r->end;
}

/* Read N big-endian bytes after the tag. Fails if fewer are left. */
static int rd_num(struct mpr *r, int n, uint64_t *v, char *e, size_t el)
{
    if (rd_left(r) < (size_t)n)
        return rd_fail(r, e, el, "truncated: %d-byte number runs past the end", n);
    *v = rd_be(r->p, n);
    r->p += n;
    return 0;
}

/* Payload of LEN bytes (str/bin/ext): must fit in what is left. */
static int rd_payload(struct mpr *r, struct mpr_item *it, uint64_t len, const char *what, char *e,
                      size_t el)
{
    if (len > rd_left(r))
        return rd_fail(r, e, el, "%s of %" PRIu64 " bytes runs past the end (%zu bytes left)", what, len,
                       rd_left(r));
    it->as.s.ptr = (const char *)r->p;
    it->as.s.len = (size_t)len;
    r->p += len;
    return 0;
}

/* Container count: bounded by the limit and by the bytes left (PER bytes at least per count). */
static int rd_count(struct mpr *r, struct mpr_item *it, uint64_t n, unsigned per, char *e, size_t el)
{
    const char *what = it->kind == MPR_ARRAY ? "array" : "map";
    if (n > PROTO_MAX_ELEMS)
        return rd_fail(r, e, el, "%s of %" PRIu64 " elements exceeds limit %u", what, n, PROTO_MAX_ELEMS);
    if (n * per > rd_left(r))
        return rd_fail(r, e, el, "%s of %" PRIu64 " elements is longer than the %zu bytes left", what, n,
                       rd_left(r));
    it->as.n = (uint32_t)n;
    return 0;
}

static int rd_next(struct mpr *r, struct mpr_item *it, char *e, size_t el)
{
    uint64_t v = 0;
    if (r->err)
        return -1;
    if (r->p >= r->end)
        return rd_fail(r, e, el, "truncated: value expected at end of data");
    uint8_t c = *r->p++;

    if (c <= 0x7f) {
        it->kind = MPR_UINT;
        it->as.u = c;
        return 0;
    }
    if (c >= 0xe0) {
        it->kind = MPR_INT;
        it->as.i = (int8_t)c;
        return 0;
    }
    if ((c & 0xf0) == 0x80) {
        it->kind = MPR_MAP;
        return rd_count(r, it, c & 0x0f, 2, e, el);
    }
    if ((c & 0xf0) == 0x90) {
        it->kind = MPR_ARRAY;
        return rd_count(r, it, c & 0x0f, 1, e, el);
    }
    if ((c & 0xe0) == 0xa0) {
        it->kind = MPR_STR;
        return rd_payload(r, it, c & 0x1f, "string", e, el);
    }
    switch (c) {
    case 0xc0:
        it->kind = MPR_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        it->kind = MPR_BOOL;
        it->as.b = c == 0xc3;
        return 0;
    case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
        it->kind = MPR_BIN;
        if (rd_num(r, 1 << (c - 0xc4), &v, e, el) < 0)
            return -1;
        return rd_payload(r, it, v, "bytes", e, el);
    case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: length, type byte, payload */
        it->kind = MPR_EXT;
        if (rd_num(r, 1 << (c - 0xc7), &v, e, el) < 0)
            return -1;
        if (rd_left(r) < 1)
            return rd_fail(r, e, el, "truncated: ext type runs past the end");
        r->p++;
        return rd_payload(r, it, v, "ext", e, el);
    case 0xca: { /* float 32 */
        if (rd_num(r, 4, &v, e, el) < 0)
            return -1;
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof f);
        it->kind = MPR_FLOAT;
        it->as.f = f;
        return 0;
    }
    case 0xcb: /* float 64 */
        if (rd_num(r, 8, &v, e, el) < 0)
            return -1;
        it->kind = MPR_FLOAT;
        memcpy(&it->as.f, &v, sizeof v);
        return 0;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8..64 */
        it->kind = MPR_UINT;
        return rd_num(r, 1 << (c - 0xcc), &it->as.u, e, el);
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: { /* int 8..64, sign-extended */
        int n = 1 << (c - 0xd0);
        if (rd_num(r, n, &v, e, el) < 0)
            return -1;
        if (n < 8 && (v >> (8 * n - 1)) & 1)
            v |= ~(uint64_t)0 << (8 * n);
        it->kind = MPR_INT;
        memcpy(&it->as.i, &v, sizeof v);
        return 0;
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext 1..16 */
        it->kind = MPR_EXT;
        if (rd_left(r) < 1)
            return rd_fail(r, e, el, "truncated: ext type runs past the end");
        r->p++;
        return rd_payload(r, it, (uint64_t)1 << (c - 0xd4), "ext", e, el);
    case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
        it->kind = MPR_STR;
        if (rd_num(r, 1 << (c - 0xd9), &v, e, el) < 0)
            return -1;
        return rd_payload(r, it, v, "string", e, el);
    case 0xdc: case 0xdd: /* array 16/32 */
        it->kind = MPR_ARRAY;
        if (rd_num(r, c == 0xdc ? 2 : 4, &v, e, el) < 0)
            return -1;
        return rd_count(r, it, v, 1, e, el);
    case 0xde: case 0xdf: /* map 16/32 */
        it->kind = MPR_MAP;
        if (rd_num(r, c == 0xde ? 2 : 4, &v, e, el) < 0)
            return -1;
        return rd_count(r, it, v, 2, e, el);
    default: /* 0xc1 is never used */
        return rd_fail(r, e, el, "invalid msgpack byte 0x%02x", c);
    }
}

/* Skip one value whose enclosing containers number DEPTH. */
static int rd_skip(struct mpr *r, int depth, char *e, size_t el)
{
    struct mpr_item it;
    if (rd_next(r, &it, e, el) < 0)
        return -1;
    if (it.kind != MPR_ARRAY && it.kind != MPR_MAP)
        return 0;
    if (depth + 1 > PROTO_MAX_DEPTH)
        return rd_fail(r, e, el, "nesting deeper than limit %d", PROTO_MAX_DEPTH);
    uint64_t n = it.kind == MPR_MAP ? 2 * (uint64_t)it.as.n : it.as.n;
    for (uint64_t k = 0; k < n; k++)
        if (rd_skip(r, depth + 1, e, el) < 0)
            return -1;
    return 0;
}

int mpr_next(struct mpr *r, struct mpr_item *it)
{
    return rd_next(r, it, NULL, 0);
}

int mpr_skip(struct mpr *r)
{
    return rd_skip(r, 0, NULL, 0);
}

int mpr_uint(struct mpr *r, uint64_t *v)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind == MPR_UINT)
        *v = it.as.u;
    else if (it.kind == MPR_INT && it.as.i >= 0)
        *v = (uint64_t)it.as.i;
    else
        return rd_fail(r, NULL, 0, "type");
    return 0;
}

int mpr_int(struct mpr *r, int64_t *v)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind == MPR_INT)
        *v = it.as.i;
    else if (it.kind == MPR_UINT && it.as.u <= INT64_MAX)
        *v = (int64_t)it.as.u;
    else
        return rd_fail(r, NULL, 0, "type");
    return 0;
}

int mpr_double(struct mpr *r, double *v)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind == MPR_FLOAT)
        *v = it.as.f;
    else if (it.kind == MPR_UINT)
        *v = (double)it.as.u;
    else if (it.kind == MPR_INT)
        *v = (double)it.as.i;
    else
        return rd_fail(r, NULL, 0, "type");
    return 0;
}

int mpr_bool(struct mpr *r, bool *v)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind != MPR_BOOL)
        return rd_fail(r, NULL, 0, "type");
    *v = it.as.b;
    return 0;
}

int mpr_str(struct mpr *r, const char **s, size_t *len)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind != MPR_STR)
        return rd_fail(r, NULL, 0, "type");
    *s = it.as.s.ptr;
    *len = it.as.s.len;
    return 0;
}

int mpr_bin(struct mpr *r, const void **p, size_t *len)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind != MPR_BIN)
        return rd_fail(r, NULL, 0, "type");
    *p = it.as.s.ptr;
    *len = it.as.s.len;
    return 0;
}

int mpr_array(struct mpr *r, uint32_t *n)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind != MPR_ARRAY)
        return rd_fail(r, NULL, 0, "type");
    *n = it.as.n;
    return 0;
}

int mpr_map(struct mpr *r, uint32_t *n)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return -1;
    if (it.kind != MPR_MAP)
        return rd_fail(r, NULL, 0, "type");
    *n = it.as.n;
    return 0;
}

/* ---- encoding frames -------------------------------------------------- */

/* True if P/LEN is exactly one valid msgpack value nestable inside a frame. */
static bool raw_value_ok(const void *p, size_t len)
{
    struct mpr r;
    mpr_init(&r, p, len);
    return rd_skip(&r, 1, NULL, 0) == 0 && mpr_at_end(&r);
}

/* Append field F (kind already checked against the table), refusing
 * payloads longer than ROOM (what is left of the frame limit) before
 * copying anything. Returns 0 or -1. */
static int pack_field(struct buf *out, const struct proto_field *f, size_t room)
{
    switch (f->kind) {
    case 'u': mpw_uint(out, f->as.u); return 0;
    case 'i': mpw_int(out, f->as.i); return 0;
    case 'd': mpw_double(out, f->as.d); return 0;
    case 'b': mpw_bool(out, f->as.b); return 0;
    case 's':
        if (f->as.s.len > room)
            return -1;
        mpw_str(out, f->as.s.ptr ? f->as.s.ptr : "", f->as.s.ptr ? f->as.s.len : 0);
        return 0;
    case 'y':
        if (f->as.s.len > room || (f->as.s.ptr == NULL && f->as.s.len != 0))
            return -1;
        mpw_bin(out, f->as.s.ptr, f->as.s.len);
        return 0;
    case 'I':
        if (f->as.s.ptr == NULL || f->as.s.len != PROTO_ID_SIZE)
            return -1;
        mpw_bin(out, f->as.s.ptr, PROTO_ID_SIZE);
        return 0;
    case 'v':
        if (f->as.s.len == 0) {
            mpw_nil(out);
            return 0;
        }
        if (f->as.s.len > room || f->as.s.ptr == NULL || !raw_value_ok(f->as.s.ptr, f->as.s.len))
            return -1;
        buf_append(out, f->as.s.ptr, f->as.s.len);
        return 0;
    default:
        return -1;
    }
}

int proto_pack_msg(struct buf *out, const struct proto_msg *msg)
{
    const char *fmt = proto_format(msg->type);
    if (fmt == NULL || msg->nfields != (int)strlen(fmt))
        return -1;
    size_t start = out->len;
    if (buf_reserve(out, 4) == NULL)
        return -1;
    out->len += 4;
    mpw_array(out, (uint32_t)msg->nfields + 1);
    mpw_uint(out, msg->type);
    for (int i = 0; i < msg->nfields; i++) {
        size_t used = out->len - start - 4;
        if (msg->f[i].kind != fmt[i] || used > PROTO_MAX_FRAME ||
            pack_field(out, &msg->f[i], PROTO_MAX_FRAME - used) < 0 ||
            out->len - start - 4 > PROTO_MAX_FRAME || out->err)
            goto fail;
    }
    size_t body = out->len - start - 4;
    uint8_t *p = (uint8_t *)out->data + start;
    p[0] = (uint8_t)(body >> 24);
    p[1] = (uint8_t)(body >> 16);
    p[2] = (uint8_t)(body >> 8);
    p[3] = (uint8_t)body;
    return 0;
fail:
    out->len = start;
    return -1;
}

int proto_vpack(struct buf *out, uint32_t type, va_list ap)
{
    struct proto_msg m = { .type = type };
    const char *fmt = proto_format(type);
    if (fmt == NULL)
        return -1;
    for (const char *c = fmt; *c && m.nfields < PROTO_MAX_FIELDS; c++) {
        struct proto_field *f = &m.f[m.nfields++];
        f->kind = *c;
        switch (*c) {
        case 'u': f->as.u = va_arg(ap, uint64_t); break;
        case 'i': f->as.i = va_arg(ap, int64_t); break;
        case 'd': f->as.d = va_arg(ap, double); break;
        case 'b': f->as.b = va_arg(ap, int) != 0; break;
        case 's':
            f->as.s.ptr = va_arg(ap, const char *);
            f->as.s.len = f->as.s.ptr ? strlen(f->as.s.ptr) : 0;
            break;
        case 'I':
            f->as.s.ptr = (const char *)va_arg(ap, const uint8_t *);
            f->as.s.len = PROTO_ID_SIZE;
            break;
        case 'y':
        case 'v':
            f->as.s.ptr = va_arg(ap, const void *);
            f->as.s.len = va_arg(ap, size_t);
            break;
        default:
            break;
        }
    }
    return proto_pack_msg(out, &m);
}

int proto_pack(struct buf *out, uint32_t type, ...)
{
    va_list ap;
    va_start(ap, type);
    int rc = proto_vpack(out, type, ap);
    va_end(ap);
    return rc;
}

/* ---- decoding frames -------------------------------------------------- */

int proto_frame_need(const void *p, size_t avail, size_t max_frame, size_t *body_len, char *errstr,
                     size_t errlen)
{
    if (avail < 4)
        return PROTO_NEED_MORE;
    size_t n = (size_t)rd_be(p, 4);
    if (n == 0) {
        snprintf(errstr, errlen, "empty frame (length 0)");
        return PROTO_BAD;
    }
    if (n > max_frame) {
        snprintf(errstr, errlen, "frame of %zu bytes exceeds limit %zu", n, max_frame);
        return PROTO_BAD;
    }
    *body_len = n;
    return PROTO_OK;
}

static const char *kind_expected(char k)
{
    switch (k) {
    case 'u': return "uint";
    case 'i': return "int";
    case 'd': return "float";
    case 'b': return "bool";
    case 's': return "string";
    case 'y': return "bytes";
    case 'I': return "20-byte id";
    default: return "value";
    }
}

/* Read field I (0-based) of kind K into F. Returns 0 or -1 with ERRSTR set. */
static int decode_field(struct mpr *r, uint32_t type, int i, char k, struct proto_field *f, char *e,
                        size_t el)
{
    struct mpr_item it;
    const char *start = (const char *)r->p;
    char why[120];
    f->kind = k;
    if (k == 'v') {
        if (rd_skip(r, 1, why, sizeof why) < 0)
            goto bad;
        f->as.s.ptr = start;
        f->as.s.len = (size_t)((const char *)r->p - start);
        return 0;
    }
    if (rd_next(r, &it, why, sizeof why) < 0)
        goto bad;
    bool ok = false;
    switch (k) {
    case 'u':
        ok = it.kind == MPR_UINT || (it.kind == MPR_INT && it.as.i >= 0);
        if (ok)
            f->as.u = it.kind == MPR_UINT ? it.as.u : (uint64_t)it.as.i;
        break;
    case 'i':
        ok = it.kind == MPR_INT || (it.kind == MPR_UINT && it.as.u <= INT64_MAX);
        if (ok)
            f->as.i = it.kind == MPR_INT ? it.as.i : (int64_t)it.as.u;
        if (!ok && it.kind == MPR_UINT) {
            snprintf(why, sizeof why, "expected int, got uint %" PRIu64 " above INT64_MAX", it.as.u);
            goto bad;
        }
        break;
    case 'd':
        ok = it.kind == MPR_FLOAT || it.kind == MPR_UINT || it.kind == MPR_INT;
        if (ok)
            f->as.d = it.kind == MPR_FLOAT ? it.as.f
                      : it.kind == MPR_UINT ? (double)it.as.u : (double)it.as.i;
        break;
    case 'b':
        ok = it.kind == MPR_BOOL;
        f->as.b = ok && it.as.b;
        break;
    case 's':
    case 'y':
    case 'I':
        ok = it.kind == (k == 's' ? MPR_STR : MPR_BIN);
        if (ok && k == 'I' && it.as.s.len != PROTO_ID_SIZE) {
            snprintf(why, sizeof why, "expected %d-byte id, got %zu bytes", PROTO_ID_SIZE, it.as.s.len);
            goto bad;
        }
        if (ok)
            f->as.s.ptr = it.as.s.ptr, f->as.s.len = it.as.s.len;
        break;
    default:
        break;
    }
    if (!ok) {
        if (k == 'u' && it.kind == MPR_INT)
            snprintf(why, sizeof why, "expected uint, got negative int");
        else
            snprintf(why, sizeof why, "expected %s, got %s", kind_expected(k), mpr_kind_names[it.kind]);
        goto bad;
    }
    return 0;
bad:
    r->err = 1;
    const char *fname = proto_field_name(type, i);
    snprintf(e, el, "%s field %d (%s): %s", proto_name(type), i + 1, fname ? fname : "?", why);
    return -1;
}

int proto_decode(const void *body, size_t len, struct proto_msg *msg, char *errstr, size_t errlen)
{
    struct mpr r;
    struct mpr_item it;
    char why[120];
    char dummy[1];
    if (errstr == NULL || errlen == 0) {
        errstr = dummy;
        errlen = sizeof dummy;
    }
    errstr[0] = '\0';
    msg->type = 0;
    msg->nfields = 0;
    mpr_init(&r, body, len);

    if (rd_next(&r, &it, why, sizeof why) < 0) {
        snprintf(errstr, errlen, "bad message header: %s", why);
        return -1;
    }
    if (it.kind != MPR_ARRAY) {
        snprintf(errstr, errlen, "message is not an array (got %s)", mpr_kind_names[it.kind]);
        return -1;
    }
    if (it.as.n == 0) {
        snprintf(errstr, errlen, "empty message array");
        return -1;
    }
    uint32_t n = it.as.n;
    if (rd_next(&r, &it, why, sizeof why) < 0) {
        snprintf(errstr, errlen, "bad message type: %s", why);
        return -1;
    }
    if (it.kind != MPR_UINT) {
        snprintf(errstr, errlen, "message type is not a uint (got %s)", mpr_kind_names[it.kind]);
        return -1;
    }
    const char *fmt = it.as.u <= UINT32_MAX ? proto_format((uint32_t)it.as.u) : NULL;
    if (fmt == NULL) {
        snprintf(errstr, errlen, "unknown message type %" PRIu64, it.as.u);
        return -1;
    }
    uint32_t type = (uint32_t)it.as.u;
    size_t nf = strlen(fmt);
    if (n - 1 != nf) {
        snprintf(errstr, errlen, "%s: expected %zu fields, got %" PRIu32, proto_name(type), nf, n - 1);
        return -1;
    }
    for (size_t i = 0; i < nf; i++)
        if (decode_field(&r, type, (int)i, fmt[i], &msg->f[i], errstr, errlen) < 0)
            return -1;
    if (!mpr_at_end(&r)) {
        snprintf(errstr, errlen, "%s: %zu trailing bytes after the message", proto_name(type),
                 (size_t)(r.end - r.p));
        return -1;
    }
    msg->type = type;
    msg->nfields = (int)nf;
    return 0;
}

/* ---- handshake -------------------------------------------------------- */

int proto_hello_verify(const struct proto_msg *m, const char *token, uint64_t *role, char *errstr,
                       size_t errlen)
{
    char dummy[1];
    if (errstr == NULL || errlen == 0) {
        errstr = dummy;
        errlen = sizeof dummy;
    }
    if (m->type != PROTO_HELLO || m->nfields != 5 || m->f[0].kind != 'u' || m->f[1].kind != 'u' ||
        m->f[2].kind != 's') {
        snprintf(errstr, errlen, "expected HELLO, got %s", proto_name(m->type) ? proto_name(m->type) : "?");
        return -1;
    }
    if (m->f[0].as.u != PROTO_VERSION) {
        snprintf(errstr, errlen, "protocol version %" PRIu64 " not supported (this node speaks %d)",
                 m->f[0].as.u, PROTO_VERSION);
        return -1;
    }
    size_t want = token ? strlen(token) : 0;
    const volatile unsigned char *got = (const unsigned char *)m->f[2].as.s.ptr;
    size_t glen = got ? m->f[2].as.s.len : 0;
    /* Constant time in the length of TOKEN: every byte is looked at, no early exit. */
    unsigned diff = (unsigned)(glen != want) | (unsigned)(want == 0);
    for (size_t i = 0; i < want; i++) {
        unsigned char g = i < glen ? got[i] : 0;
        diff |= (unsigned)(g ^ (unsigned char)token[i]);
    }
    if (diff != 0) {
        snprintf(errstr, errlen, "authentication failed: bad cluster token");
        return -2;
    }
    if (role != NULL)
        *role = m->f[1].as.u;
    errstr[0] = '\0';
    return 0;
}

/* ---- incremental decoder ---------------------------------------------- */

void proto_decoder_init(struct proto_decoder *d, size_t max_frame)
{
    memset(d, 0, sizeof *d);
    d->max_frame = max_frame;
}

void proto_decoder_free(struct proto_decoder *d)
{
    if (d == NULL)
        return;
    buf_free(&d->in);
    d->consumed = 0;
}

/* Drop consumed bytes once they are all of the buffer or at least half of it. */
static void decoder_compact(struct proto_decoder *d)
{
    if (d->consumed == 0)
        return;
    if (d->consumed >= d->in.len) {
        buf_reset(&d->in);
        d->consumed = 0;
    } else if (d->consumed >= 4096 && d->consumed * 2 >= d->in.len) {
        buf_consume(&d->in, d->consumed);
        d->consumed = 0;
    }
}

void proto_decoder_feed(struct proto_decoder *d, const void *p, size_t len)
{
    if (d->errstr[0] != '\0')
        return; /* PROTO_BAD is sticky: nothing more is kept */
    decoder_compact(d);
    if (buf_append(&d->in, p, len) < 0)
        snprintf(d->errstr, sizeof d->errstr, "out of memory buffering %zu bytes", len);
}

int proto_decoder_next(struct proto_decoder *d, struct proto_msg *msg)
{
    if (d->errstr[0] != '\0')
        return PROTO_BAD;
    decoder_compact(d);
    if (d->in.data == NULL)
        return PROTO_NEED_MORE;
    const char *p = d->in.data + d->consumed;
    size_t avail = d->in.len - d->consumed;
    size_t body = 0;
    int st = proto_frame_need(p, avail, d->max_frame, &body, d->errstr, sizeof d->errstr);
    if (st != PROTO_OK)
        return st;
    if (avail - 4 < body)
        return PROTO_NEED_MORE;
    if (proto_decode(p + 4, body, msg, d->errstr, sizeof d->errstr) < 0) {
        if (d->errstr[0] == '\0')
            snprintf(d->errstr, sizeof d->errstr, "bad message");
        return PROTO_BAD;
    }
    d->consumed += 4 + body;
    return PROTO_OK;
}

int proto_frame_next(const void *p, size_t avail, size_t *pos, struct proto_msg *msg,
                     char *errstr, size_t errlen)
{
    const char *f = (const char *)p + *pos;
    size_t left = avail - *pos, body = 0;
    int st = proto_frame_need(f, left, PROTO_MAX_FRAME, &body, errstr, errlen);
    if (st != PROTO_OK)
        return st;
    if (left - 4 < body)
        return PROTO_NEED_MORE;
    if (proto_decode(f + 4, body, msg, errstr, errlen) < 0)
        return PROTO_BAD;
    *pos += 4 + body;
    return PROTO_OK;
}
