/*
 * test_pool.c — the pool library's pieces that need no cluster: the item and
 * result codec (every value type round-trips, truncated input is refused) and
 * the core's local task contexts that pool actors run items in.
 */
#include "libs/pool/pool_internal.h"
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

START_TEST(test_codec_roundtrip)
{
    ray_actor a;
    ray_ref r;
    memset(a.id, 7, RAY_ID_SIZE);
    memset(r.id, 9, RAY_ID_SIZE);
    ray_value in[] = { RAY_NIL_V, RAY_B(true), RAY_I(-42), RAY_F(2.5), RAY_S("hello"),
                       RAY_BYTES_V("a\0b", 3), RAY_R(r), RAY_A(a) };
    size_t n = sizeof in / sizeof in[0];
    struct ray_pool_buf_ b = { 0 };
    ck_assert_int_eq(ray_pool_item_put_(&b, in, n), RAY_OK);
    ck_assert(!b.oom);
    const uint8_t *p = b.data, *end = b.data + b.len;
    uint32_t nv;
    ck_assert_int_eq(ray_pool_u32_get_(&p, end, &nv), 0);
    ck_assert_uint_eq(nv, n);
    ray_value v[8];
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ray_pool_value_get_(&p, end, &v[i], NULL), 0);
        ck_assert_int_eq(v[i].type, in[i].type);
    }
    ck_assert(p == end);
    ck_assert(v[1].as.b);
    ck_assert_int_eq(v[2].as.i, -42);
    ck_assert(v[3].as.f == 2.5);
    ck_assert_str_eq(v[4].as.buf.ptr, "hello"); /* NUL-terminated in place */
    ck_assert_uint_eq(v[5].as.buf.len, 3);
    ck_assert(memcmp(v[5].as.buf.ptr, "a\0b", 3) == 0);
    ck_assert(memcmp(v[6].as.ref.id, r.id, RAY_ID_SIZE) == 0);
    ck_assert(memcmp(v[7].as.actor.id, a.id, RAY_ID_SIZE) == 0);
    /* every truncation is refused, never read past the end */
    for (size_t cut = 1; cut < b.len; cut++) {
        const uint8_t *q = b.data + 4;
        int bad = 0;
        for (size_t i = 0; i < n && !bad; i++)
            bad = ray_pool_value_get_(&q, b.data + cut, &v[0], NULL) < 0;
        ck_assert(bad || cut == b.len);
    }
    ray_pool_buf_free_(&b);
}
END_TEST

START_TEST(test_codec_results)
{
    struct ray_pool_buf_ b = { 0 };
    ray_value v = RAY_S("ok");
    ray_pool_result_put_(&b, &v, NULL);
    ray_pool_result_put_(&b, NULL, "bad item 3");
    const uint8_t *p = b.data, *end = b.data + b.len;
    uint8_t tag;
    ray_value got;
    const char *msg;
    ck_assert_int_eq(ray_pool_u8_get_(&p, end, &tag), 0);
    ck_assert_int_eq(tag, RAY_POOL_REC_OK_);
    ck_assert_int_eq(ray_pool_value_get_(&p, end, &got, NULL), 0);
    ck_assert_str_eq(got.as.buf.ptr, "ok");
    ck_assert_int_eq(ray_pool_u8_get_(&p, end, &tag), 0);
    ck_assert_int_eq(tag, RAY_POOL_REC_FAILED_);
    ck_assert_int_eq(ray_pool_str_get_(&p, end, &msg), 0);
    ck_assert_str_eq(msg, "bad item 3");
    ck_assert(p == end);
    /* an unknown type tag is malformed */
    uint8_t junk[] = { 99 };
    p = junk;
    ck_assert_int_eq(ray_pool_value_get_(&p, junk + 1, &got, NULL), -1);
    ray_pool_buf_free_(&b);
}
END_TEST

START_TEST(test_codec_compound)
{
    ray_value inner[] = { RAY_I(1), RAY_S("two") };
    ray_value keys[] = { RAY_S("list"), RAY_S("f") }, vals[] = { RAY_LIST_V(inner, 2), RAY_F(0.5) };
    ray_value m = RAY_MAP_V(keys, vals, 2), got;
    struct ray_pool_buf_ b = { 0 };
    struct ray_pool_arena_ arena = { 0 };
    ck_assert_int_eq(ray_pool_value_put_(&b, &m), RAY_OK);
    const uint8_t *p = b.data;
    ck_assert_int_eq(ray_pool_value_get_(&p, b.data + b.len, &got, NULL), -1); /* needs an arena */
    p = b.data;
    ck_assert_int_eq(ray_pool_value_get_(&p, b.data + b.len, &got, &arena), 0);
    ck_assert(p == b.data + b.len);
    const ray_value *l = ray_map_get(&got, "list");
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(ray_list_len(l), 2);
    ck_assert_str_eq(ray_list_at(l, 1)->as.buf.ptr, "two");
    ck_assert(ray_map_get(&got, "f")->as.f == 0.5);
    ray_pool_arena_free_(&arena);
    /* too deep: refused on the way out */
    ray_value lv[RAY_MAX_DEPTH + 2];
    lv[0] = RAY_I(0);
    for (int d = 1; d < RAY_MAX_DEPTH + 2; d++)
        lv[d] = RAY_LIST_V(&lv[d - 1], 1);
    b.len = 0;
    ck_assert_int_eq(ray_pool_value_put_(&b, &lv[RAY_MAX_DEPTH]), RAY_OK);
    ck_assert_int_eq(ray_pool_value_put_(&b, &lv[RAY_MAX_DEPTH + 1]), RAY_EINVAL);
    ray_pool_buf_free_(&b);
}
END_TEST

static int make_list(ray_task *t, const ray_value *a, size_t n)
{
    ray_value xs[3] = { RAY_I(7), RAY_S("eight"), RAY_NIL_V };
    return ray_return(t, RAY_LIST_V(xs, 3)); /* xs dies here: the context copies */
}

static int echo_upper(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 1 || a[0].type != RAY_STR)
        return ray_fail(t, "want a string, got %zu values", n);
    char buf[32];
    snprintf(buf, sizeof buf, "%s!", (const char *)a[0].as.buf.ptr);
    return ray_return(t, RAY_S(buf)); /* buf dies here: the context copies */
}

static int twice(ray_task *t, const ray_value *a, size_t n)
{
    ray_return(t, RAY_I(1));
    return ray_return(t, RAY_I(2)) == RAY_EINVAL ? 0 : 1;
}

static int nonzero(ray_task *t, const ray_value *a, size_t n)
{
    return 7;
}

static int alloc_bytes(ray_task *t, const ray_value *a, size_t n)
{
    void *p;
    int rc = ray_return_alloc(t, 4, &p);
    if (rc == RAY_OK)
        memcpy(p, "wxyz", 4);
    return rc;
}

START_TEST(test_local_task)
{
    int owner;
    ray_task *t = ray_task_local_new("unit", &owner);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(ray_task_local_data(t), &owner);
    ck_assert_ptr_null(ray_task_local_data(NULL));
    ray_value arg = RAY_S("hi"), ret;
    ck_assert_int_eq(ray_task_local_run(t, echo_upper, &arg, 1, &ret), RAY_OK);
    ck_assert_int_eq(ret.type, RAY_STR);
    ck_assert_str_eq(ret.as.buf.ptr, "hi!");
    ck_assert_int_eq(ray_task_local_run(t, echo_upper, NULL, 0, &ret), RAY_ETASK);
    ck_assert_str_eq(ray_last_error(), "want a string, got 0 values");
    ck_assert_int_eq(ret.type, RAY_NIL);
    /* a failure does not stick to the next run */
    ck_assert_int_eq(ray_task_local_run(t, twice, NULL, 0, &ret), RAY_OK);
    ck_assert_int_eq(ret.as.i, 1);
    ck_assert_int_eq(ray_task_local_run(t, nonzero, NULL, 0, &ret), RAY_ETASK);
    ck_assert_str_eq(ray_last_error(), "returned 7");
    ck_assert_int_eq(ray_task_local_run(t, alloc_bytes, NULL, 0, &ret), RAY_OK);
    ck_assert_int_eq(ret.type, RAY_BYTES);
    ck_assert(ret.as.buf.len == 4 && memcmp(ret.as.buf.ptr, "wxyz", 4) == 0);
    ck_assert_int_eq(ray_task_local_run(t, make_list, NULL, 0, &ret), RAY_OK);
    ck_assert_int_eq(ret.type, RAY_LIST);
    ck_assert_uint_eq(ray_list_len(&ret), 3);
    ck_assert_int_eq(ray_list_at(&ret, 0)->as.i, 7);
    ck_assert_str_eq(ray_list_at(&ret, 1)->as.buf.ptr, "eight");
    ck_assert_int_eq(ray_task_local_run(NULL, nonzero, NULL, 0, &ret), RAY_EINVAL);
    ray_task_local_free(t);
    ray_task_local_free(NULL);
    ck_assert_int_eq(ray_error_set(RAY_ENOTFOUND, "x %s", ray_last_error()), RAY_ENOTFOUND);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_codec_roundtrip);
    tcase_add_test(tc, test_codec_results);
    tcase_add_test(tc, test_codec_compound);
    tcase_add_test(tc, test_local_task);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(pool_suite);
