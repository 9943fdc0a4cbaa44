/*
 * value.c — ray_value codecs (docs/runtime.md "Values"): one msgpack value
 * per task argument (REF and ACTOR as 20-byte ext types 1 and 2), and the
 * typed payload of a store object (INT/FLOAT 8 bytes little-endian, STR with
 * its NUL, ERROR as msgpack [code, message]). Decoders treat their input as
 * untrusted: every size is checked before use.
 */
#include "api/api_internal.h"

#include <stdlib.h>
#include <string.h>

#define API_EXT_REF 1
#define API_EXT_ACTOR 2

/* Ext 8 header for a 20-byte payload: 0xc7, length, type. */
static void pack_ext20(struct buf *b, uint8_t type, const uint8_t *id)
{
    uint8_t hdr[3] = { 0xc7, RAY_ID_SIZE, type };
    buf_append(b, hdr, sizeof hdr);
    buf_append(b, id, RAY_ID_SIZE);
}

int api_value_pack_(struct buf *b, const ray_value *v)
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
        if (v->as.buf.len > UINT32_MAX)
            return api_error_(RAY_EINVAL, "value of %zu bytes is too large for an argument",
                              v->as.buf.len);
        if (v->type == RAY_STR)
            mpw_str(b, v->as.buf.ptr, v->as.buf.len);
        else
            mpw_bin(b, v->as.buf.ptr, v->as.buf.len);
        return RAY_OK;
    case RAY_REF: pack_ext20(b, API_EXT_REF, v->as.ref.id); return RAY_OK;
    case RAY_ACTOR: pack_ext20(b, API_EXT_ACTOR, v->as.actor.id); return RAY_OK;
    }
    return api_error_(RAY_EINVAL, "unknown value type %d", (int)v->type);
}

int api_args_pack_(struct buf *b, const ray_value *args, size_t nargs)
{
    if (nargs > 0 && args == NULL)
        return api_error_(RAY_EINVAL, "%zu arguments but args is NULL", nargs);
    if (nargs > PROTO_MAX_ELEMS)
        return api_error_(RAY_EINVAL, "too many arguments (%zu)", nargs);
    size_t mark = b->len;
    mpw_array(b, (uint32_t)nargs);
    for (size_t i = 0; i < nargs; i++) {
        int rc = api_value_pack_(b, &args[i]);
        if (rc != RAY_OK) {
            b->len = mark;
            return api_error_(rc, "argument %zu: %s", i, ray_last_error());
        }
    }
    return RAY_OK;
}

int api_value_unpack_(struct mpr *r, ray_value *out)
{
    struct mpr_item it;
    memset(out, 0, sizeof *out);
    if (mpr_next(r, &it) < 0)
        return RAY_EINVAL;
    switch (it.kind) {
    case MPR_NIL: out->type = RAY_NIL; return RAY_OK;
    case MPR_BOOL: out->type = RAY_BOOL; out->as.b = it.as.b; return RAY_OK;
    case MPR_UINT:
        if (it.as.u > INT64_MAX)
            return RAY_EINVAL;
        out->type = RAY_INT;
        out->as.i = (int64_t)it.as.u;
        return RAY_OK;
    case MPR_INT: out->type = RAY_INT; out->as.i = it.as.i; return RAY_OK;
    case MPR_FLOAT: out->type = RAY_FLOAT; out->as.f = it.as.f; return RAY_OK;
    case MPR_STR:
    case MPR_BIN:
        out->type = it.kind == MPR_STR ? RAY_STR : RAY_BYTES;
        out->as.buf.ptr = it.as.s.ptr;
        out->as.buf.len = it.as.s.len;
        return RAY_OK;
    case MPR_EXT: {
        /* The reader skips the ext type byte, which sits just before the
         * payload in every ext encoding (fixext, ext 8/16/32). */
        if (it.as.s.len != RAY_ID_SIZE)
            return RAY_EINVAL;
        uint8_t type = ((const uint8_t *)it.as.s.ptr)[-1];
        if (type == API_EXT_REF) {
            out->type = RAY_REF;
            memcpy(out->as.ref.id, it.as.s.ptr, RAY_ID_SIZE);
        } else if (type == API_EXT_ACTOR) {
            out->type = RAY_ACTOR;
            memcpy(out->as.actor.id, it.as.s.ptr, RAY_ID_SIZE);
        } else {
            return RAY_EINVAL;
        }
        return RAY_OK;
    }
    case MPR_ARRAY:
    case MPR_MAP:
        break;
    }
    return RAY_EINVAL;
}

int api_args_decode_(const void *raw, size_t len, ray_value **vals, size_t *n)
{
    struct mpr r;
    struct mpr_item it;
    uint32_t count = 0;
    size_t strbytes = 0;
    ray_value *v = NULL;

    *vals = NULL;
    *n = 0;
    if (len == 0)
        return RAY_OK;
    mpr_init(&r, raw, len);
    /* Pass 1: validate and size. */
    const uint8_t *save = r.p;
    if (*save == 0xc0) { /* nil: no arguments */
        if (mpr_next(&r, &it) < 0 || !mpr_at_end(&r))
            return api_error_(RAY_EINVAL, "malformed task arguments");
        return RAY_OK;
    }
    if (mpr_array(&r, &count) < 0)
        return api_error_(RAY_EINVAL, "task arguments are not an array");
    for (uint32_t i = 0; i < count; i++) {
        ray_value tmp;
        if (api_value_unpack_(&r, &tmp) != RAY_OK)
            return api_error_(RAY_EINVAL, "argument %u is malformed or not a value", i);
        if (tmp.type == RAY_STR)
            strbytes += tmp.as.buf.len + 1;
    }
    if (!mpr_at_end(&r))
        return api_error_(RAY_EINVAL, "trailing bytes after task arguments");

    /* Pass 2: fill one block, values then strings. */
    size_t need = (size_t)count * sizeof(ray_value) + strbytes;
    v = malloc(need ? need : 1);
    if (v == NULL)
        return api_error_(RAY_ENOMEM, "out of memory decoding %u arguments", count);
    char *strs = (char *)(v + count);
    mpr_init(&r, raw, len);
    mpr_array(&r, &count);
    for (uint32_t i = 0; i < count; i++) {
        api_value_unpack_(&r, &v[i]);
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
            memcpy(d, v->as.buf.ptr, v->as.buf.len);
        d[v->as.buf.len] = '\0';
        break;
    case RAY_BYTES:
        if (v->as.buf.len)
            memcpy(d, v->as.buf.ptr, v->as.buf.len);
        break;
    case RAY_REF: memcpy(d, v->as.ref.id, RAY_ID_SIZE); break;
    case RAY_ACTOR: memcpy(d, v->as.actor.id, RAY_ID_SIZE); break;
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
    *code = (c < 0 && c >= RAY_EAUTH) ? (int)c : RAY_ETASK;
    if (msglen > 0) {
        size_t k = slen < msglen - 1 ? slen : msglen - 1;
        memcpy(msg, s, k);
        msg[k] = '\0';
    }
    return 0;
}
