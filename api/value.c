/*
 * value.c — ray_value codecs (docs/runtime.md "Values"): one msgpack value
 * per task argument (REF and ACTOR as 20-byte ext types 1 and 2, LIST and
 * MAP as msgpack arrays and maps), and the typed payload of a store object
 * (INT/FLOAT 8 bytes little-endian, STR with its NUL, LIST/MAP msgpack,
 * ERROR as msgpack [code, message]), plus the ray_list_* / ray_map_*
 * accessors. Decoders treat their input as untrusted: every size, the
 * nesting and the number of values are checked before anything is
 * allocated, and lists are decoded in two passes (check and count, then
 * fill one block) so a malformed value costs no allocation.
 */
#include "api/api_internal.h"
#include "common/bigcopy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_EXT_REF 1
#define API_EXT_ACTOR 2

/* Lists and maps are counted against the reader's own limits: one container
 * can never hold more than mpr accepts. */
_Static_assert(RAY_MAX_ITEMS == PROTO_MAX_ELEMS, "RAY_MAX_ITEMS is the wire's element limit");
/* The public value keeps its size and layout (LIST and MAP fit the union). */
_Static_assert(sizeof(void *) != 8 || sizeof(ray_value) == 40, "ray_value ABI changed");

/* Prefix the calling thread's error text with PREFIX (a copy is taken
 * first: api_error_ must not format from its own buffer). Returns CODE. */
static int error_prefix(int code, const char *fmt, size_t i)
{
    char inner[900];
    snprintf(inner, sizeof inner, "%s", ray_last_error());
    char prefix[64];
    snprintf(prefix, sizeof prefix, fmt, i);
    return api_error_(code, "%s: %s", prefix, inner);
}

/* Ext 8 header for a 20-byte payload: 0xc7, length, type. */
static void pack_ext20(struct buf *b, uint8_t type, const uint8_t *id)
{
    uint8_t hdr[3] = { 0xc7, RAY_ID_SIZE, type };
    buf_append(b, hdr, sizeof hdr);
    buf_append(b, id, RAY_ID_SIZE);
}

/* A STR inside a list or map: msgpack str of its bytes and a NUL (counted
 * in the str length), so a gotten element is NUL-terminated in place. */
static void pack_str_nul(struct buf *b, const char *s, size_t len)
{
    uint8_t h[5];
    size_t n = len + 1, hl;
    if (n < 32) {
        h[0] = (uint8_t)(0xa0 | n);
        hl = 1;
    } else if (n <= 0xff) {
        h[0] = 0xd9;
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n <= 0xffff) {
        h[0] = 0xda;
        h[1] = (uint8_t)(n >> 8);
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        h[0] = 0xdb;
        h[1] = (uint8_t)(n >> 24);
        h[2] = (uint8_t)(n >> 16);
        h[3] = (uint8_t)(n >> 8);
        h[4] = (uint8_t)n;
        hl = 5;
    }
    buf_append(b, h, hl);
    if (len)
        buf_append(b, s, len);
    buf_append(b, "", 1);
}

/* Append V, which LEVEL lists/maps enclose; *TOTAL counts the values inside
 * containers so far. On failure B may hold part of V (callers rewind). */
static int pack_value(struct buf *b, const ray_value *v, int level, size_t *total)
{
    switch (v->type) {
    case RAY_NIL: mpw_nil(b); return RAY_OK;
    case RAY_BOOL: mpw_bool(b, v->as.b); return RAY_OK;
    case RAY_INT: mpw_int(b, v->as.i); return RAY_OK;
    case RAY_FLOAT: mpw_double(b, v->as.f); return RAY_OK;
    case RAY_STR:
    case RAY_BYTES:
        if (v->as.buf.ptr == NULL && v->as.buf.len > 0)
            return api_error_(RAY_EINVAL, "%s value with NULL data and length %zu",
                              v->type == RAY_STR ? "STR" : "BYTES", v->as.buf.len);
        if (v->as.buf.len >= UINT32_MAX)
            return api_error_(RAY_EINVAL, "value of %zu bytes is too large for an argument",
                              v->as.buf.len);
        if (v->type == RAY_BYTES)
            mpw_bin(b, v->as.buf.ptr, v->as.buf.len);
        else if (level > 0)
            pack_str_nul(b, v->as.buf.ptr, v->as.buf.len);
        else
            mpw_str(b, v->as.buf.ptr, v->as.buf.len);
        return RAY_OK;
    case RAY_REF: pack_ext20(b, API_EXT_REF, v->as.ref.id); return RAY_OK;
    case RAY_ACTOR: pack_ext20(b, API_EXT_ACTOR, v->as.actor.id); return RAY_OK;
    case RAY_LIST:
    case RAY_MAP: {
        bool map = v->type == RAY_MAP;
        size_t n = map ? v->as.map.n : v->as.list.n;
        if (level + 1 > RAY_MAX_DEPTH)
            return api_error_(RAY_EINVAL, "lists and maps nest deeper than %d levels",
                              RAY_MAX_DEPTH);
        if (n > RAY_MAX_ITEMS)
            return api_error_(RAY_EINVAL, "%s of %zu %s is longer than %u", map ? "map" : "list",
                              n, map ? "pairs" : "elements", RAY_MAX_ITEMS);
        if (n > 0 && (map ? v->as.map.keys == NULL || v->as.map.vals == NULL
                          : v->as.list.items == NULL))
            return api_error_(RAY_EINVAL, "%s of %zu %s with a NULL array", map ? "map" : "list",
                              n, map ? "pairs" : "elements");
        if ((map ? 2 * n : n) > RAY_MAX_TOTAL - *total)
            return api_error_(RAY_EINVAL, "more than %u values in one value", RAY_MAX_TOTAL);
        *total += map ? 2 * n : n;
        if (map)
            mpw_map(b, (uint32_t)n);
        else
            mpw_array(b, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            int rc;
            if (!map) {
                if ((rc = pack_value(b, &v->as.list.items[i], level + 1, total)) != RAY_OK)
                    return error_prefix(rc, "element %zu", i);
            } else if ((rc = pack_value(b, &v->as.map.keys[i], level + 1, total)) != RAY_OK) {
                return error_prefix(rc, "key %zu", i);
            } else if ((rc = pack_value(b, &v->as.map.vals[i], level + 1, total)) != RAY_OK) {
                return error_prefix(rc, "value %zu", i);
            }
        }
        return RAY_OK;
    }
    }
    return api_error_(RAY_EINVAL, "unknown value type %d", (int)v->type);
}

int api_value_pack_(struct buf *b, const ray_value *v)
{
    size_t total = 0, mark = b->len;
    int rc = pack_value(b, v, 0, &total);
    if (rc == RAY_OK && buf_failed(b))
        rc = api_buf_check_(b, "a value");
    if (rc != RAY_OK)
        b->len = mark;
    return rc;
}

int api_args_pack_(struct buf *b, const ray_value *args, size_t nargs)
{
    if (nargs > 0 && args == NULL)
        return api_error_(RAY_EINVAL, "%zu arguments but args is NULL", nargs);
    if (nargs > PROTO_MAX_ELEMS)
        return api_error_(RAY_EINVAL, "too many arguments (%zu)", nargs);
    size_t mark = b->len, total = 0;
    mpw_array(b, (uint32_t)nargs);
    for (size_t i = 0; i < nargs; i++) {
        int rc = pack_value(b, &args[i], 0, &total);
        if (rc != RAY_OK) {
            b->len = mark;
            return error_prefix(rc, "argument %zu", i);
        }
    }
    if (buf_failed(b)) {
        b->len = mark;
        return api_buf_check_(b, "the arguments");
    }
    return RAY_OK;
}

/* ---- decoding ------------------------------------------------------------------ */

/* Check the value at R, which LEVEL lists/maps enclose, and add the number
 * of ray_values its lists and maps hold (all levels) to *TOTAL. Nothing is
 * allocated. Returns RAY_OK or RAY_EINVAL with the message set. */
static int scan_value(struct mpr *r, int level, size_t *total)
{
    struct mpr_item it;
    if (mpr_next(r, &it) < 0)
        return api_error_(RAY_EINVAL, "malformed or truncated msgpack");
    switch (it.kind) {
    case MPR_NIL:
    case MPR_BOOL:
    case MPR_INT:
    case MPR_FLOAT:
    case MPR_BIN:
        return RAY_OK;
    case MPR_UINT:
        if (it.as.u > INT64_MAX)
            return api_error_(RAY_EINVAL, "integer %llu is out of range",
                              (unsigned long long)it.as.u);
        return RAY_OK;
    case MPR_STR:
        if (level > 0 && (it.as.s.len == 0 || it.as.s.ptr[it.as.s.len - 1] != '\0'))
            return api_error_(RAY_EINVAL, "string element without its NUL");
        return RAY_OK;
    case MPR_EXT: {
        /* The reader skips the ext type byte, which sits just before the
         * payload in every ext encoding (fixext, ext 8/16/32). */
        uint8_t type = ((const uint8_t *)it.as.s.ptr)[-1];
        if (it.as.s.len != RAY_ID_SIZE || (type != API_EXT_REF && type != API_EXT_ACTOR))
            return api_error_(RAY_EINVAL, "ext type %u of %zu bytes is not a REF or ACTOR", type,
                              it.as.s.len);
        return RAY_OK;
    }
    case MPR_ARRAY:
    case MPR_MAP: {
        bool map = it.kind == MPR_MAP;
        size_t n = map ? 2 * (size_t)it.as.n : it.as.n; /* it.as.n <= RAY_MAX_ITEMS (mpr) */
        if (level + 1 > RAY_MAX_DEPTH)
            return api_error_(RAY_EINVAL, "lists and maps nest deeper than %d levels",
                              RAY_MAX_DEPTH);
        if (n > RAY_MAX_TOTAL - *total)
            return api_error_(RAY_EINVAL, "more than %u values in one value", RAY_MAX_TOTAL);
        *total += n;
        for (size_t i = 0; i < n; i++) {
            int rc = scan_value(r, level + 1, total);
            if (rc != RAY_OK)
                return error_prefix(rc, map ? (i % 2 ? "value %zu" : "key %zu") : "element %zu",
                                    map ? i / 2 : i);
        }
        return RAY_OK;
    }
    }
    return api_error_(RAY_EINVAL, "not a value");
}

/* Fill *OUT from the value at R, already checked by scan_value at the same
 * LEVEL. Lists and maps take their arrays from *NEXT (advanced past them);
 * STR (NUL-terminated in place when LEVEL > 0) and BYTES point into R. */
static void fill_value(struct mpr *r, int level, ray_value *out, ray_value **next)
{
    struct mpr_item it;
    memset(out, 0, sizeof *out);
    mpr_next(r, &it);
    switch (it.kind) {
    case MPR_NIL: out->type = RAY_NIL; break;
    case MPR_BOOL: out->type = RAY_BOOL; out->as.b = it.as.b; break;
    case MPR_UINT: out->type = RAY_INT; out->as.i = (int64_t)it.as.u; break;
    case MPR_INT: out->type = RAY_INT; out->as.i = it.as.i; break;
    case MPR_FLOAT: out->type = RAY_FLOAT; out->as.f = it.as.f; break;
    case MPR_STR:
    case MPR_BIN:
        out->type = it.kind == MPR_STR ? RAY_STR : RAY_BYTES;
        out->as.buf.ptr = it.as.s.ptr;
        out->as.buf.len = it.as.s.len - (it.kind == MPR_STR && level > 0 ? 1 : 0);
        break;
    case MPR_EXT:
        if (((const uint8_t *)it.as.s.ptr)[-1] == API_EXT_REF) {
            out->type = RAY_REF;
            memcpy(out->as.ref.id, it.as.s.ptr, RAY_ID_SIZE);
        } else {
            out->type = RAY_ACTOR;
            memcpy(out->as.actor.id, it.as.s.ptr, RAY_ID_SIZE);
        }
        break;
    case MPR_ARRAY: {
        ray_value *items = *next;
        *next += it.as.n;
        out->type = RAY_LIST;
        out->as.list.items = it.as.n ? items : NULL;
        out->as.list.n = it.as.n;
        for (uint32_t i = 0; i < it.as.n; i++)
            fill_value(r, level + 1, &items[i], next);
        break;
    }
    case MPR_MAP: {
        ray_value *keys = *next, *vals = keys + it.as.n;
        *next += 2 * (size_t)it.as.n;
        out->type = RAY_MAP;
        out->as.map.keys = it.as.n ? keys : NULL;
        out->as.map.vals = it.as.n ? vals : NULL;
        out->as.map.n = it.as.n;
        for (uint32_t i = 0; i < it.as.n; i++) {
            fill_value(r, level + 1, &keys[i], next);
            fill_value(r, level + 1, &vals[i], next);
        }
        break;
    }
    }
}

int api_args_decode_(const void *raw, size_t len, ray_value **vals, size_t *n)
{
    struct mpr r;
    struct mpr_item it;
    uint32_t count = 0;
    size_t strbytes = 0, total = 0;
    ray_value *v = NULL;

    *vals = NULL;
    *n = 0;
    if (len == 0)
        return RAY_OK;
    mpr_init(&r, raw, len);
    /* Pass 1: validate and size (nothing allocated yet). */
    const uint8_t *save = r.p;
    if (*save == 0xc0) { /* nil: no arguments */
        if (mpr_next(&r, &it) < 0 || !mpr_at_end(&r))
            return api_error_(RAY_EINVAL, "malformed task arguments");
        return RAY_OK;
    }
    if (mpr_array(&r, &count) < 0)
        return api_error_(RAY_EINVAL, "task arguments are not an array");
    for (uint32_t i = 0; i < count; i++) {
        struct mpr at = r;
        if (scan_value(&r, 0, &total) != RAY_OK)
            return error_prefix(RAY_EINVAL, "argument %zu", i);
        if (mpr_next(&at, &it) == 0 && it.kind == MPR_STR)
            strbytes += it.as.s.len + 1;
    }
    if (!mpr_at_end(&r))
        return api_error_(RAY_EINVAL, "trailing bytes after task arguments");

    /* Pass 2: fill one block: the arguments, the arrays of their lists and
     * maps, then copies of top-level strings (NUL-terminated). Strings in
     * lists carry their NUL and stay in RAW, like BYTES. */
    size_t slots = (size_t)count + total;
    size_t need = slots * sizeof(ray_value) + strbytes;
    v = malloc(need ? need : 1);
    if (v == NULL)
        return api_error_(RAY_ENOMEM, "out of memory decoding %u arguments", count);
    ray_value *next = v + count;
    char *strs = (char *)(v + slots);
    mpr_init(&r, raw, len);
    mpr_array(&r, &count);
    for (uint32_t i = 0; i < count; i++) {
        fill_value(&r, 0, &v[i], &next);
        if (v[i].type == RAY_STR) {
            memcpy(strs, v[i].as.buf.ptr, v[i].as.buf.len);
            strs[v[i].as.buf.len] = '\0';
            v[i].as.buf.ptr = strs;
            strs += v[i].as.buf.len + 1;
        }
    }
    *vals = v;
    *n = count;
    return RAY_OK;
}

int api_compound_pack_(struct buf *b, const ray_value *v)
{
    if (v->type != RAY_LIST && v->type != RAY_MAP)
        return api_error_(RAY_EINVAL, "not a LIST or MAP (type %d)", (int)v->type);
    return api_value_pack_(b, v);
}

int api_object_decode_(uint32_t vtype, const void *data, size_t size, ray_value *out,
                       void **elems)
{
    *elems = NULL;
    if (vtype != RAY_LIST && vtype != RAY_MAP)
        return api_payload_decode_(vtype, data, size, out) == RAY_OK
                   ? RAY_OK
                   : api_error_(RAY_EINVAL, "malformed payload (type %u, %zu bytes)", vtype, size);
    memset(out, 0, sizeof *out);
    if (data == NULL || size == 0)
        return api_error_(RAY_EINVAL, "empty %s payload", vtype == RAY_LIST ? "LIST" : "MAP");
    struct mpr r;
    struct mpr_item it;
    size_t total = 0;
    mpr_init(&r, data, size);
    struct mpr head = r;
    if (mpr_next(&head, &it) < 0 || it.kind != (vtype == RAY_LIST ? MPR_ARRAY : MPR_MAP))
        return api_error_(RAY_EINVAL, "%s payload is not a msgpack %s",
                          vtype == RAY_LIST ? "LIST" : "MAP", vtype == RAY_LIST ? "array" : "map");
    if (scan_value(&r, 0, &total) != RAY_OK)
        return RAY_EINVAL;
    if (!mpr_at_end(&r))
        return api_error_(RAY_EINVAL, "trailing bytes after a %s payload",
                          vtype == RAY_LIST ? "LIST" : "MAP");
    ray_value *block = malloc((total ? total : 1) * sizeof *block);
    if (block == NULL)
        return api_error_(RAY_ENOMEM, "out of memory decoding a value of %zu elements", total);
    ray_value *next = block;
    mpr_init(&r, data, size);
    fill_value(&r, 0, out, &next);
    *elems = block;
    return RAY_OK;
}

size_t api_payload_size_(const ray_value *v)
{
    switch (v->type) {
    case RAY_NIL: return 0;
    case RAY_BOOL: return 1;
    case RAY_INT:
    case RAY_FLOAT: return 8;
    case RAY_STR: return v->as.buf.len + 1;
    case RAY_BYTES: return v->as.buf.len;
    case RAY_REF:
    case RAY_ACTOR: return RAY_ID_SIZE;
    case RAY_LIST:
    case RAY_MAP: break; /* api_compound_pack_ */
    }
    return (size_t)-1;
}

static void put_le64(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

void api_payload_write_(const ray_value *v, void *dst)
{
    uint8_t *d = dst;
    uint64_t bits;
    switch (v->type) {
    case RAY_NIL: break;
    case RAY_BOOL: d[0] = v->as.b ? 1 : 0; break;
    case RAY_INT: put_le64(d, (uint64_t)v->as.i); break;
    case RAY_FLOAT:
        memcpy(&bits, &v->as.f, sizeof bits);
        put_le64(d, bits);
        break;
    case RAY_STR:
        if (v->as.buf.len)
            big_copy(d, v->as.buf.ptr, v->as.buf.len);
        d[v->as.buf.len] = '\0';
        break;
    case RAY_BYTES:
        if (v->as.buf.len) /* (a large one into the store: big_copy's fast path) */
            big_copy(d, v->as.buf.ptr, v->as.buf.len);
        break;
    case RAY_REF: memcpy(d, v->as.ref.id, RAY_ID_SIZE); break;
    case RAY_ACTOR: memcpy(d, v->as.actor.id, RAY_ID_SIZE); break;
    case RAY_LIST:
    case RAY_MAP: break; /* never asked: api_payload_size_ refuses them */
    }
}

int api_payload_decode_(uint32_t vtype, const void *data, size_t size, ray_value *out)
{
    const uint8_t *p = data;
    uint64_t bits;
    memset(out, 0, sizeof *out);
    if (size > 0 && data == NULL)
        return RAY_EINVAL;
    switch (vtype) {
    case RAY_NIL:
        if (size != 0)
            return RAY_EINVAL;
        out->type = RAY_NIL;
        return RAY_OK;
    case RAY_BOOL:
        if (size != 1 || p[0] > 1)
            return RAY_EINVAL;
        out->type = RAY_BOOL;
        out->as.b = p[0] == 1;
        return RAY_OK;
    case RAY_INT:
        if (size != 8)
            return RAY_EINVAL;
        out->type = RAY_INT;
        out->as.i = (int64_t)get_le64(p);
        return RAY_OK;
    case RAY_FLOAT:
        if (size != 8)
            return RAY_EINVAL;
        out->type = RAY_FLOAT;
        bits = get_le64(p);
        memcpy(&out->as.f, &bits, sizeof bits);
        return RAY_OK;
    case RAY_STR:
        if (size < 1 || p[size - 1] != '\0')
            return RAY_EINVAL;
        out->type = RAY_STR;
        out->as.buf.ptr = p;
        out->as.buf.len = size - 1;
        return RAY_OK;
    case RAY_BYTES:
        out->type = RAY_BYTES;
        out->as.buf.ptr = p;
        out->as.buf.len = size;
        return RAY_OK;
    case RAY_REF:
    case RAY_ACTOR:
        if (size != RAY_ID_SIZE)
            return RAY_EINVAL;
        out->type = (ray_type)vtype;
        memcpy(vtype == RAY_REF ? out->as.ref.id : out->as.actor.id, p, RAY_ID_SIZE);
        return RAY_OK;
    default:
        return RAY_EINVAL;
    }
}

void api_error_payload_encode_(struct buf *b, int code, const char *msg)
{
    mpw_array(b, 2);
    mpw_int(b, code);
    mpw_str(b, msg ? msg : "", msg ? strlen(msg) : 0);
}

int api_error_payload_decode_(const void *data, size_t size, int *code, char *msg, size_t msglen)
{
    struct mpr r;
    uint32_t n;
    int64_t c;
    const char *s;
    size_t slen;

    if (data == NULL || size == 0)
        return -1;
    mpr_init(&r, data, size);
    if (mpr_array(&r, &n) < 0 || n != 2 || mpr_int(&r, &c) < 0 || mpr_str(&r, &s, &slen) < 0 ||
        !mpr_at_end(&r))
        return -1;
    *code = (c < 0 && c >= RAY_EPG) ? (int)c : RAY_ETASK;
    if (msglen > 0) {
        size_t k = slen < msglen - 1 ? slen : msglen - 1;
        memcpy(msg, s, k);
        msg[k] = '\0';
    }
    return 0;
}

/* ---- lists and maps (ray.h) ------------------------------------------------------ */

size_t ray_list_len(const ray_value *v)
{
    return v && v->type == RAY_LIST ? v->as.list.n : 0;
}

const ray_value *ray_list_at(const ray_value *v, size_t i)
{
    return v && v->type == RAY_LIST && i < v->as.list.n ? &v->as.list.items[i] : NULL;
}

size_t ray_map_len(const ray_value *v)
{
    return v && v->type == RAY_MAP ? v->as.map.n : 0;
}

const ray_value *ray_map_key(const ray_value *v, size_t i)
{
    return v && v->type == RAY_MAP && i < v->as.map.n ? &v->as.map.keys[i] : NULL;
}

const ray_value *ray_map_val(const ray_value *v, size_t i)
{
    return v && v->type == RAY_MAP && i < v->as.map.n ? &v->as.map.vals[i] : NULL;
}

const ray_value *ray_map_get(const ray_value *v, const char *key)
{
    if (v == NULL || v->type != RAY_MAP || key == NULL)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->as.map.n; i++) {
        const ray_value *k = &v->as.map.keys[i];
        if (k->type == RAY_STR && k->as.buf.len == kl && (kl == 0 || memcmp(k->as.buf.ptr, key, kl) == 0))
            return &v->as.map.vals[i];
    }
    return NULL;
}
