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
    ray_value args[2] = { RAY_I(1), { .type = (ray_type)9 } };
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
    /* nested array is not a value */
    ck_assert_int_eq(decode_raw("\x91\x90", 2), RAY_EINVAL);
    /* map is not a value */
    ck_assert_int_eq(decode_raw("\x91\x80", 2), RAY_EINVAL);
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
    api_error_clear_();
    ck_assert_str_eq(ray_last_error(), "");
    ck_assert_uint_eq(ray_strlen_(NULL), 0);
    ck_assert_uint_eq(ray_strlen_("abc"), 3);
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
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(value_suite);
