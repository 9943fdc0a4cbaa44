/*
 * test_value.c — ray_value codecs: msgpack arguments and store payloads round
 * trip for every type, and malformed input is rejected.
 */
#include "api/api_internal.h"
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>

static ray_ref ref_of(uint8_t seed)
{
    ray_ref r;
    for (int i = 0; i < RAY_ID_SIZE; i++)
        r.id[i] = (uint8_t)(seed + i);
    return r;
}

/* Every type, as the caller would write it. */
static size_t sample_values(ray_value *v)
{
    static const uint8_t bytes[] = { 0, 1, 2, 0xff, 0 };
    ray_actor a;
    memset(a.id, 0xab, sizeof a.id);
    size_t n = 0;
    v[n++] = RAY_NIL_V;
    v[n++] = RAY_B(true);
    v[n++] = RAY_B(false);
    v[n++] = RAY_I(0);
    v[n++] = RAY_I(-1);
    v[n++] = RAY_I(INT64_MIN);
    v[n++] = RAY_I(INT64_MAX);
    v[n++] = RAY_F(3.25);
    v[n++] = RAY_F(-1e300);
    v[n++] = RAY_S("hello, world");
    v[n++] = RAY_S("");
    v[n++] = RAY_BYTES_V(bytes, sizeof bytes);
    v[n++] = RAY_BYTES_V(NULL, 0);
    v[n++] = RAY_R(ref_of(7));
    v[n++] = RAY_A(a);
    return n;
}

static void assert_same(const ray_value *a, const ray_value *b)
{
    ck_assert_int_eq(a->type, b->type);
    switch (a->type) {
    case RAY_NIL: break;
    case RAY_BOOL: ck_assert(a->as.b == b->as.b); break;
    case RAY_INT: ck_assert(a->as.i == b->as.i); break;
    case RAY_FLOAT: ck_assert(a->as.f == b->as.f); break;
    case RAY_STR:
    case RAY_BYTES:
        ck_assert_uint_eq(a->as.buf.len, b->as.buf.len);
        if (a->as.buf.len)
            ck_assert(memcmp(a->as.buf.ptr, b->as.buf.ptr, a->as.buf.len) == 0);
        break;
    case RAY_REF: ck_assert(memcmp(a->as.ref.id, b->as.ref.id, RAY_ID_SIZE) == 0); break;
    case RAY_ACTOR: ck_assert(memcmp(a->as.actor.id, b->as.actor.id, RAY_ID_SIZE) == 0); break;
    case RAY_LIST:
        ck_assert_uint_eq(a->as.list.n, b->as.list.n);
        for (size_t i = 0; i < a->as.list.n; i++)
            assert_same(&a->as.list.items[i], &b->as.list.items[i]);
        break;
    case RAY_MAP:
        ck_assert_uint_eq(a->as.map.n, b->as.map.n);
        for (size_t i = 0; i < a->as.map.n; i++) {
            assert_same(&a->as.map.keys[i], &b->as.map.keys[i]);
            assert_same(&a->as.map.vals[i], &b->as.map.vals[i]);
        }
        break;
    }
}

START_TEST(test_args_roundtrip)
{
    ray_value in[32];
    size_t n = sample_values(in);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(api_args_pack_(&b, in, n), RAY_OK);

    ray_value *out;
    size_t nout;
    ck_assert_int_eq(api_args_decode_(b.data, b.len, &out, &nout), RAY_OK);
    ck_assert_uint_eq(nout, n);
    for (size_t i = 0; i < n; i++) {
        assert_same(&in[i], &out[i]);
        if (out[i].type == RAY_STR) /* strings come back NUL-terminated */
            ck_assert_str_eq(out[i].as.buf.ptr, in[i].as.buf.ptr);
    }
    free(out);
    buf_free(&b);
}
END_TEST

START_TEST(test_args_empty_and_nil)
{
    struct buf b = BUF_INIT;
    ray_value *out = (ray_value *)1;
    size_t n = 99;
    ck_assert_int_eq(api_args_pack_(&b, NULL, 0), RAY_OK);
    ck_assert_int_eq(api_args_decode_(b.data, b.len, &out, &n), RAY_OK);
    ck_assert_uint_eq(n, 0);
    free(out);
    buf_reset(&b);
    mpw_nil(&b);
    ck_assert_int_eq(api_args_decode_(b.data, b.len, &out, &n), RAY_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(api_args_pack_(&b, NULL, 2), RAY_EINVAL);
    buf_free(&b);
}
END_TEST

START_TEST(test_ext_wire_format)
{
    /* REF is ext 8, type 1, 20 bytes: what the daemon parses. */
    ray_value v = RAY_R(ref_of(1));
    struct buf b = BUF_INIT;
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_OK);
    ck_assert_uint_eq(b.len, 23);
    ck_assert_uint_eq((uint8_t)b.data[0], 0xc7);
    ck_assert_uint_eq((uint8_t)b.data[1], 20);
    ck_assert_uint_eq((uint8_t)b.data[2], 1);
    ck_assert_uint_eq((uint8_t)b.data[3], 1);
    buf_free(&b);
}
END_TEST

START_TEST(test_pack_rejects_bad)
{
    struct buf b = BUF_INIT;
    ray_value v = { .type = (ray_type)42 };
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_EINVAL);
    v = RAY_BYTES_V(NULL, 5);
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_EINVAL);
    ray_value args[2] = { RAY_I(1), { .type = (ray_type)42 } };
    ck_assert_int_eq(api_args_pack_(&b, args, 2), RAY_EINVAL);
    ck_assert_uint_eq(b.len, 0); /* nothing half-written is left */
    ck_assert(strstr(ray_last_error(), "argument 1") != NULL);
    buf_free(&b);
}
END_TEST

static int decode_raw(const void *p, size_t len)
{
    ray_value *out = NULL;
    size_t n = 0;
    int rc = api_args_decode_(p, len, &out, &n);
    free(out);
    return rc;
}

START_TEST(test_args_malformed)
{
    /* not an array */
    ck_assert_int_eq(decode_raw("\x01", 1), RAY_EINVAL);
    /* array of 2, one element present */
    ck_assert_int_eq(decode_raw("\x92\x01", 2), RAY_EINVAL);
    /* trailing bytes */
    ck_assert_int_eq(decode_raw("\x91\x01\x01", 3), RAY_EINVAL);
    /* a nested array is a LIST, a map a MAP (empty ones here) */
    ck_assert_int_eq(decode_raw("\x91\x90", 2), RAY_OK);
    ck_assert_int_eq(decode_raw("\x91\x80", 2), RAY_OK);
    /* an array claiming more elements than there are bytes */
    ck_assert_int_eq(decode_raw("\x91\x93\x01", 3), RAY_EINVAL);
    /* ext of the wrong length (fixext 16, type 1) */
    uint8_t e16[2 + 1 + 16] = { 0x91, 0xd8, 1 };
    ck_assert_int_eq(decode_raw(e16, sizeof e16), RAY_EINVAL);
    /* ext 8 of 20 bytes with an unknown type */
    uint8_t e20[1 + 3 + 20] = { 0x91, 0xc7, 20, 9 };
    ck_assert_int_eq(decode_raw(e20, sizeof e20), RAY_EINVAL);
    e20[3] = 2; /* ACTOR is fine */
    ck_assert_int_eq(decode_raw(e20, sizeof e20), RAY_OK);
    /* truncated ext */
    ck_assert_int_eq(decode_raw(e20, sizeof e20 - 1), RAY_EINVAL);
    /* uint above INT64_MAX */
    uint8_t big[] = { 0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    ck_assert_int_eq(decode_raw(big, sizeof big), RAY_EINVAL);
    /* string longer than the input */
    ck_assert_int_eq(decode_raw("\x91\xa5" "ab", 4), RAY_EINVAL);
}
END_TEST

START_TEST(test_payload_roundtrip)
{
    ray_value in[32];
    size_t n = sample_values(in);
    for (size_t i = 0; i < n; i++) {
        size_t size = api_payload_size_(&in[i]);
        ck_assert(size != (size_t)-1);
        uint8_t *p = malloc(size + 1);
        api_payload_write_(&in[i], p);
        ray_value out;
        ck_assert_int_eq(api_payload_decode_((uint32_t)in[i].type, p, size, &out), RAY_OK);
        assert_same(&in[i], &out);
        if (out.type == RAY_STR) {
            ck_assert_uint_eq(size, in[i].as.buf.len + 1);
            ck_assert_str_eq(out.as.buf.ptr, in[i].as.buf.ptr);
            ck_assert_ptr_eq(out.as.buf.ptr, p); /* zero copy */
        }
        free(p);
    }
}
END_TEST

START_TEST(test_payload_layout)
{
    uint8_t p[8];
    ray_value v = RAY_I(0x0102030405060708);
    api_payload_write_(&v, p);
    ck_assert_uint_eq(p[0], 8); /* little-endian */
    ck_assert_uint_eq(p[7], 1);
    v = RAY_F(1.0);
    api_payload_write_(&v, p);
    ck_assert_uint_eq(p[7], 0x3f);
    ck_assert_uint_eq(p[6], 0xf0);
}
END_TEST

START_TEST(test_payload_malformed)
{
    ray_value out;
    uint8_t p[32] = { 'a', 'b' };
    ck_assert_int_eq(api_payload_decode_(RAY_NIL, p, 1, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_BOOL, p, 2, &out), RAY_EINVAL);
    p[0] = 2;
    ck_assert_int_eq(api_payload_decode_(RAY_BOOL, p, 1, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_INT, p, 7, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_FLOAT, p, 9, &out), RAY_EINVAL);
    p[0] = 'a';
    ck_assert_int_eq(api_payload_decode_(RAY_STR, p, 2, &out), RAY_EINVAL); /* no NUL */
    ck_assert_int_eq(api_payload_decode_(RAY_STR, p, 0, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_REF, p, 19, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_ACTOR, p, 21, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(8, p, 0, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(API_VT_ERROR, p, 4, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_BYTES, NULL, 4, &out), RAY_EINVAL);
    ck_assert_int_eq(api_payload_decode_(RAY_BYTES, p, 0, &out), RAY_OK);
}
END_TEST

START_TEST(test_error_payload)
{
    struct buf b = BUF_INIT;
    int code = 0;
    char msg[64];
    api_error_payload_encode_(&b, RAY_EWORKER, "worker running f died");
    ck_assert_int_eq(api_error_payload_decode_(b.data, b.len, &code, msg, sizeof msg), 0);
    ck_assert_int_eq(code, RAY_EWORKER);
    ck_assert_str_eq(msg, "worker running f died");
    /* truncated message */
    ck_assert_int_eq(api_error_payload_decode_(b.data, b.len, &code, msg, 7), 0);
    ck_assert_str_eq(msg, "worker");
    /* a code that is not a RAY_E* value becomes RAY_ETASK */
    buf_reset(&b);
    api_error_payload_encode_(&b, 5, "x");
    ck_assert_int_eq(api_error_payload_decode_(b.data, b.len, &code, msg, sizeof msg), 0);
    ck_assert_int_eq(code, RAY_ETASK);
    /* malformed */
    ck_assert_int_eq(api_error_payload_decode_(b.data, b.len - 1, &code, msg, sizeof msg), -1);
    ck_assert_int_eq(api_error_payload_decode_("\x92\xa1x\x01", 4, &code, msg, sizeof msg), -1);
    ck_assert_int_eq(api_error_payload_decode_("\x91\x01", 2, &code, msg, sizeof msg), -1);
    ck_assert_int_eq(api_error_payload_decode_(NULL, 0, &code, msg, sizeof msg), -1);
    buf_free(&b);
}
END_TEST

START_TEST(test_strerror_and_last_error)
{
    ck_assert_str_eq(ray_strerror(RAY_ETASK), "task failed");
    ck_assert_str_eq(ray_strerror(12345), "unknown error");
    ck_assert_int_eq(api_error_(RAY_EINVAL, "bad %d", 7), RAY_EINVAL);
    ck_assert_str_eq(ray_last_error(), "bad 7");
    /* ray_free leaves the last failure's message; its own failures set it */
    ck_assert_int_eq(ray_free(NULL, 0), RAY_OK);
    ck_assert_str_eq(ray_last_error(), "bad 7");
    ck_assert_int_eq(ray_free(NULL, 2), RAY_EINVAL);
    ck_assert_str_eq(ray_last_error(), "ray_free: refs is NULL");
    ray_ref r = { { 0 } };
    ck_assert_int_eq(api_error_(RAY_EINVAL, "bad %d", 8), RAY_EINVAL);
    ck_assert_int_eq(ray_free(&r, 1), RAY_ECONN); /* no node here */
    ck_assert_str_ne(ray_last_error(), "bad 8");
    ck_assert_str_ne(ray_last_error(), "");
    api_error_clear_();
    ck_assert_str_eq(ray_last_error(), "");
    ck_assert_uint_eq(ray_strlen_(NULL), 0);
    ck_assert_uint_eq(ray_strlen_("abc"), 3);
}
END_TEST

/* ---- lists and maps ---------------------------------------------------------- */

/* [1, "two", [3.5, b"\0\1"], {"k": nil, 7: [ref]}, []] */
static ray_value sample_compound(ray_value *store)
{
    static const uint8_t raw[] = { 0, 1 };
    ray_value *inner = store, *keys = store + 2, *vals = store + 4, *reflist = store + 6,
              *top = store + 7;
    inner[0] = RAY_F(3.5);
    inner[1] = RAY_BYTES_V(raw, sizeof raw);
    reflist[0] = RAY_R(ref_of(3));
    keys[0] = RAY_S("k");
    vals[0] = RAY_NIL_V;
    keys[1] = RAY_I(7);
    vals[1] = RAY_LIST_V(reflist, 1);
    top[0] = RAY_I(1);
    top[1] = RAY_S("two");
    top[2] = RAY_LIST_V(inner, 2);
    top[3] = RAY_MAP_V(keys, vals, 2);
    top[4] = RAY_LIST_V(NULL, 0);
    return RAY_LIST_V(top, 5);
}

/* Every STR inside V is NUL-terminated and lies within [LO, HI). */
static void assert_strs_in(const ray_value *v, const char *lo, const char *hi)
{
    if (v->type == RAY_STR || v->type == RAY_BYTES) {
        const char *p = v->as.buf.ptr;
        if (v->as.buf.len == 0 && v->type == RAY_BYTES)
            return;
        ck_assert(p >= lo && p + v->as.buf.len <= hi);
        if (v->type == RAY_STR)
            ck_assert_int_eq(p[v->as.buf.len], '\0');
    }
    for (size_t i = 0; i < ray_list_len(v); i++)
        assert_strs_in(ray_list_at(v, i), lo, hi);
    for (size_t i = 0; i < ray_map_len(v); i++) {
        assert_strs_in(ray_map_key(v, i), lo, hi);
        assert_strs_in(ray_map_val(v, i), lo, hi);
    }
}

START_TEST(test_list_wire_format)
{
    /* plain msgpack: what any reader reads (STR elements carry their NUL) */
    ray_value xs[] = { RAY_I(1), RAY_I(2), RAY_I(3), RAY_I(4), RAY_I(5) };
    ray_value v = RAY_LIST_V(xs, 5);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(api_compound_pack_(&b, &v), RAY_OK);
    ck_assert_uint_eq(b.len, 6);
    ck_assert(memcmp(b.data, "\x95\x01\x02\x03\x04\x05", 6) == 0);
    buf_reset(&b);
    ray_value k[] = { RAY_S("a") }, val[] = { RAY_I(-1) };
    v = RAY_MAP_V(k, val, 1);
    ck_assert_int_eq(api_compound_pack_(&b, &v), RAY_OK);
    ck_assert_uint_eq(b.len, 5);
    ck_assert(memcmp(b.data, "\x81\xa2" "a\0\xff", 5) == 0);
    buf_reset(&b);
    v = RAY_I(1);
    ck_assert_int_eq(api_compound_pack_(&b, &v), RAY_EINVAL); /* only LIST and MAP */
    buf_free(&b);
}
END_TEST

START_TEST(test_list_payload_roundtrip)
{
    ray_value store[16];
    ray_value in = sample_compound(store);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(api_compound_pack_(&b, &in), RAY_OK);
    ray_value out;
    void *elems = NULL;
    ck_assert_int_eq(api_object_decode_(RAY_LIST, b.data, b.len, &out, &elems), RAY_OK);
    ck_assert_ptr_nonnull(elems);
    assert_same(&in, &out);
    /* zero copy: strings and bytes point into the payload, NUL-terminated */
    assert_strs_in(&out, b.data, b.data + b.len);
    ck_assert_str_eq(ray_list_at(&out, 1)->as.buf.ptr, "two");
    ck_assert_ptr_null(out.pin_);
    free(elems);

    /* a map at the top, with a map inside */
    ray_value ik[] = { RAY_S("x") }, iv[] = { RAY_B(true) };
    ray_value keys[] = { RAY_S("name"), RAY_S("inner"), RAY_S("") };
    ray_value vals[] = { RAY_S("ray"), RAY_MAP_V(ik, iv, 1), RAY_I(0) };
    in = RAY_MAP_V(keys, vals, 3);
    buf_reset(&b);
    ck_assert_int_eq(api_compound_pack_(&b, &in), RAY_OK);
    ck_assert_int_eq(api_object_decode_(RAY_MAP, b.data, b.len, &out, &elems), RAY_OK);
    assert_same(&in, &out);
    ck_assert_str_eq(ray_map_get(&out, "name")->as.buf.ptr, "ray");
    ck_assert(ray_map_get(ray_map_get(&out, "inner"), "x")->as.b);
    ck_assert_int_eq(ray_map_get(&out, "")->as.i, 0);
    ck_assert_ptr_null(ray_map_get(&out, "nope"));
    free(elems);
    /* the vtype must match the payload's kind */
    ck_assert_int_eq(api_object_decode_(RAY_LIST, b.data, b.len, &out, &elems), RAY_EINVAL);
    ck_assert_ptr_null(elems);
    /* scalars go through the same entry point and allocate nothing */
    uint8_t p[8] = { 42 };
    ck_assert_int_eq(api_object_decode_(RAY_INT, p, 8, &out, &elems), RAY_OK);
    ck_assert_int_eq(out.as.i, 42);
    ck_assert_ptr_null(elems);
    buf_free(&b);
}
END_TEST

START_TEST(test_list_args_roundtrip)
{
    ray_value store[16];
    ray_value in[3];
    in[0] = RAY_S("top");
    in[1] = sample_compound(store);
    in[2] = RAY_I(9);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(api_args_pack_(&b, in, 3), RAY_OK);
    ray_value *out;
    size_t n;
    ck_assert_int_eq(api_args_decode_(b.data, b.len, &out, &n), RAY_OK);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_same(&in[i], &out[i]);
    ck_assert_str_eq(out[0].as.buf.ptr, "top");
    /* strings in lists stay in the message, NUL-terminated */
    assert_strs_in(&out[1], b.data, b.data + b.len);
    free(out); /* one block */
    buf_free(&b);
}
END_TEST

/* A list nested DEPTH levels deep: [[[...[1]...]]]. */
static ray_value nested(ray_value *cells, int depth)
{
    cells[depth - 1] = RAY_I(1);
    for (int d = depth - 1; d > 0; d--)
        cells[d - 1] = RAY_LIST_V(&cells[d], 1);
    return RAY_LIST_V(&cells[0], 1);
}

START_TEST(test_list_limits)
{
    ray_value cells[RAY_MAX_DEPTH + 4];
    struct buf b = BUF_INIT;
    ray_value v = nested(cells, RAY_MAX_DEPTH);
    ck_assert_int_eq(api_compound_pack_(&b, &v), RAY_OK);
    ray_value out;
    void *elems;
    ck_assert_int_eq(api_object_decode_(RAY_LIST, b.data, b.len, &out, &elems), RAY_OK);
    free(elems);
    buf_reset(&b);
    v = nested(cells, RAY_MAX_DEPTH + 1);
    ck_assert_int_eq(api_compound_pack_(&b, &v), RAY_EINVAL);
    ck_assert(strstr(ray_last_error(), "nest deeper than 12") != NULL);
    ck_assert_uint_eq(b.len, 0);
    /* as an argument: the same limit, and the message says where */
    ray_value args[2] = { RAY_I(0), v };
    ck_assert_int_eq(api_args_pack_(&b, args, 2), RAY_EINVAL);
    ck_assert(strncmp(ray_last_error(), "argument 1: element 0: element 0", 32) == 0);

    /* NULL arrays with a length */
    v = RAY_LIST_V(NULL, 2);
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_EINVAL);
    ray_value k[1] = { RAY_S("a") };
    v = RAY_MAP_V(k, NULL, 1);
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_EINVAL);
    /* a bad element deep inside */
    ray_value bad[2] = { RAY_I(1), RAY_BYTES_V(NULL, 3) };
    ray_value mid[1] = { RAY_LIST_V(bad, 2) };
    ray_value vals[1] = { RAY_LIST_V(mid, 1) };
    v = RAY_MAP_V(k, vals, 1);
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_EINVAL);
    ck_assert_str_eq(ray_last_error(),
                     "value 0: element 0: element 1: BYTES value with NULL data and length 3");
    ck_assert_uint_eq(b.len, 0);
    /* too long */
    v = RAY_LIST_V(k, (size_t)RAY_MAX_ITEMS + 1);
    ck_assert_int_eq(api_value_pack_(&b, &v), RAY_EINVAL);

    /* too many values in all: 5 lists of 2^20 nils (5 Mi > RAY_MAX_TOTAL) */
    buf_reset(&b);
    mpw_array(&b, 5);
    for (int i = 0; i < 5; i++) {
        mpw_array(&b, RAY_MAX_ITEMS);
        memset(buf_reserve(&b, RAY_MAX_ITEMS), 0xc0, RAY_MAX_ITEMS);
        b.len += RAY_MAX_ITEMS;
    }
    ck_assert_int_eq(api_object_decode_(RAY_LIST, b.data, b.len, &out, &elems), RAY_EINVAL);
    ck_assert(strstr(ray_last_error(), "more than") != NULL);
    ck_assert_ptr_null(elems);
    /* one list longer than the reader's limit */
    buf_reset(&b);
    mpw_array(&b, RAY_MAX_ITEMS + 1);
    memset(buf_reserve(&b, RAY_MAX_ITEMS + 1), 0xc0, RAY_MAX_ITEMS + 1);
    b.len += RAY_MAX_ITEMS + 1;
    ck_assert_int_eq(api_object_decode_(RAY_LIST, b.data, b.len, &out, &elems), RAY_EINVAL);
    buf_free(&b);
}
END_TEST

START_TEST(test_list_malformed)
{
    ray_value out;
    void *elems = (void *)1;
    /* every truncation of a good payload is refused, and allocates nothing */
    ray_value store[16];
    ray_value in = sample_compound(store);
    struct buf b = BUF_INIT;
    ck_assert_int_eq(api_compound_pack_(&b, &in), RAY_OK);
    for (size_t len = 0; len < b.len; len++) {
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, b.data, len);
        ck_assert_int_eq(api_object_decode_(RAY_LIST, copy, len, &out, &elems), RAY_EINVAL);
        ck_assert_ptr_null(elems);
        ray_value *args = NULL;
        size_t n;
        if (len > 0) /* as task arguments: an array of 5 cut short */
            ck_assert_int_eq(api_args_decode_(copy, len, &args, &n), RAY_EINVAL);
        ck_assert_ptr_null(args);
        free(copy);
    }
    /* trailing bytes */
    buf_append(&b, "\xc0", 1);
    ck_assert_int_eq(api_object_decode_(RAY_LIST, b.data, b.len, &out, &elems), RAY_EINVAL);
    /* too deep as raw bytes: 13 nested arrays */
    uint8_t deep[RAY_MAX_DEPTH + 2];
    memset(deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0xc0;
    ck_assert_int_eq(api_object_decode_(RAY_LIST, deep, sizeof deep, &out, &elems), RAY_EINVAL);
    ck_assert(strstr(ray_last_error(), "deeper") != NULL);
    ck_assert_int_eq(api_object_decode_(RAY_LIST, deep + 1, sizeof deep - 1, &out, &elems), RAY_OK);
    free(elems);
    /* a string element without its NUL */
    ck_assert_int_eq(api_object_decode_(RAY_LIST, "\x91\xa2" "ab", 4, &out, &elems), RAY_EINVAL);
    ck_assert_int_eq(api_object_decode_(RAY_LIST, "\x91\xa0", 2, &out, &elems), RAY_EINVAL);
    ck_assert_int_eq(api_object_decode_(RAY_LIST, "\x91\xa3" "ab\0", 5, &out, &elems), RAY_OK);
    ck_assert_str_eq(out.as.list.items[0].as.buf.ptr, "ab");
    ck_assert_uint_eq(out.as.list.items[0].as.buf.len, 2);
    free(elems);
    /* elements that are not values */
    ck_assert_int_eq(api_object_decode_(RAY_LIST, "\x91\xc1", 2, &out, &elems), RAY_EINVAL);
    uint8_t e20[2 + 3 + 20] = { 0x91, 0xc7, 20, 9 };
    ck_assert_int_eq(api_object_decode_(RAY_LIST, e20, sizeof e20 - 1, &out, &elems), RAY_EINVAL);
    e20[3] = 1; /* a REF is fine */
    ck_assert_int_eq(api_object_decode_(RAY_LIST, e20, sizeof e20 - 1, &out, &elems), RAY_OK);
    ck_assert_int_eq(out.as.list.items[0].type, RAY_REF);
    free(elems);
    uint8_t big[] = { 0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    ck_assert_int_eq(api_object_decode_(RAY_LIST, big, sizeof big, &out, &elems), RAY_EINVAL);
    /* a map with a key and no value */
    ck_assert_int_eq(api_object_decode_(RAY_MAP, "\x81\x01", 2, &out, &elems), RAY_EINVAL);
    ck_assert_int_eq(api_object_decode_(RAY_MAP, NULL, 0, &out, &elems), RAY_EINVAL);
    ck_assert_ptr_null(elems);
    buf_free(&b);
}
END_TEST

START_TEST(test_list_accessors)
{
    ray_value xs[] = { RAY_I(1), RAY_S("b") };
    ray_value l = RAY_LIST_V(xs, 2);
    ray_value k[] = { RAY_I(5), RAY_S("five") }, v[] = { RAY_S("int key"), RAY_I(5) };
    ray_value m = RAY_MAP_V(k, v, 2);
    ray_value i = RAY_I(3);
    ck_assert_uint_eq(ray_list_len(&l), 2);
    ck_assert_ptr_eq(ray_list_at(&l, 1), &xs[1]);
    ck_assert_ptr_null(ray_list_at(&l, 2));
    ck_assert_uint_eq(ray_list_len(&m), 0);
    ck_assert_ptr_null(ray_list_at(&i, 0));
    ck_assert_uint_eq(ray_list_len(NULL), 0);
    ck_assert_uint_eq(ray_map_len(&m), 2);
    ck_assert_ptr_eq(ray_map_key(&m, 0), &k[0]);
    ck_assert_ptr_eq(ray_map_val(&m, 1), &v[1]);
    ck_assert_ptr_null(ray_map_key(&m, 2));
    ck_assert_ptr_null(ray_map_val(&l, 0));
    ck_assert_uint_eq(ray_map_len(&l), 0);
    ck_assert_ptr_eq(ray_map_get(&m, "five"), &v[1]);
    ck_assert_ptr_null(ray_map_get(&m, "5")); /* an INT key is not the string "5" */
    ck_assert_ptr_null(ray_map_get(&m, NULL));
    ck_assert_ptr_null(ray_map_get(&l, "five"));
    ck_assert_ptr_null(ray_map_get(NULL, "five"));
    /* releasing a value the caller built is a no-op */
    ray_value_release(&l);
    ck_assert_uint_eq(ray_list_len(&l), 2);
}
END_TEST

static Suite *value_suite(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_args_roundtrip);
    tcase_add_test(tc, test_args_empty_and_nil);
    tcase_add_test(tc, test_ext_wire_format);
    tcase_add_test(tc, test_pack_rejects_bad);
    tcase_add_test(tc, test_args_malformed);
    tcase_add_test(tc, test_payload_roundtrip);
    tcase_add_test(tc, test_payload_layout);
    tcase_add_test(tc, test_payload_malformed);
    tcase_add_test(tc, test_error_payload);
    tcase_add_test(tc, test_strerror_and_last_error);
    tcase_add_test(tc, test_list_wire_format);
    tcase_add_test(tc, test_list_payload_roundtrip);
    tcase_add_test(tc, test_list_args_roundtrip);
    tcase_add_test(tc, test_list_limits);
    tcase_add_test(tc, test_list_malformed);
    tcase_add_test(tc, test_list_accessors);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(value_suite);
