/*
 * test_nomem.c — libray.a never aborts on out-of-memory: with the library
 * allocator's fault injection (common/mem.h, mem_fail_after_) every
 * allocation point of an operation is made to fail in turn, and the
 * operation must report it (buf's sticky error, proto_pack's -1, the API's
 * RAY_ENOMEM, the GCS decoders' NULL/-1 and the sync client's error line
 * against a real redis-server) and then work again once memory is back.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "common/buf.h"
#include "common/idmap.h"
#include "common/mem.h"
#include "common/proto.h"
#include "gcs/gcs_keys.h"
#include "gcs/gcs_sync.h"
#include "tests/unit/unit.h"

/*
 * Run OP with the allocation after the first N failing, for N = 0, 1, ...
 * until OP runs with no injected failure. OP returns 0 when it succeeded,
 * 1 when it reported out-of-memory, anything else for a wrong answer.
 * Every run whose allocations reached the failing one must report it; the
 * last must succeed. Returns the number of allocation points seen.
 */
static long each_failure(int (*op)(void *), void *arg)
{
    for (long n = 0; n < 10000; n++) {
        mem_fail_after_(n);
        int rc = op(arg);
        long used = mem_fail_after_(-1);
        if (used > n) {
            ck_assert_msg(rc == 1, "allocation %ld of %ld failed but the operation said %d", n,
                          used, rc);
        } else {
            ck_assert_msg(rc == 0, "no allocation failed (%ld of them) but the operation said %d",
                          used, rc);
            return used;
        }
    }
    ck_abort_msg("the operation never ran without a failure");
    return -1;
}

START_TEST(test_mem_basics)
{
    mem_fail_after_(0);
    errno = 0;
    ck_assert_ptr_null(mem_malloc(16));
    ck_assert_int_eq(errno, ENOMEM);
    void *p = mem_malloc(16); /* the failure happens once */
    ck_assert_ptr_nonnull(p);
    free(p);
    ck_assert_ptr_null(mem_calloc(SIZE_MAX / 2, 4)); /* overflow, not a huge allocation */
    ck_assert_ptr_null(mem_reallocarray(NULL, SIZE_MAX / 2, 4));
    char *s = mem_strndup("abcdef", 3);
    ck_assert_str_eq(s, "abc");
    free(s);
    mem_fail_after_(1);
    s = mem_strdup("x"); /* the first allocation still works */
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_null(mem_realloc(s, 100)); /* the second fails, S untouched */
    ck_assert_str_eq(s, "x");
    free(s);
    mem_fail_after_(-1);
}
END_TEST

START_TEST(test_buf_sticky)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
    mem_fail_after_(0);
    char big[4096];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(buf_append(&b, big, sizeof big), -1); /* needs to grow: fails */
    mem_fail_after_(-1);
    ck_assert(buf_failed(&b));
    ck_assert_uint_eq(b.len, 5);
    ck_assert(memcmp(b.data, "hello", 5) == 0); /* the bytes before are kept */
    /* sticky: nothing more is appended, even what would fit */
    ck_assert_int_eq(buf_append(&b, "!", 1), -1);
    ck_assert_int_eq(buf_printf(&b, "%d", 7), -1);
    ck_assert_ptr_null(buf_reserve(&b, 1));
    ck_assert_uint_eq(b.len, 5);
    buf_reset(&b); /* a new content: the error goes */
    ck_assert(!buf_failed(&b));
    ck_assert_int_eq(buf_printf(&b, "%s-%d", "ok", 1), 0);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_ptr_null(buf_reserve(&b, SIZE_MAX)); /* overflow is a failure too */
    ck_assert(buf_failed(&b));
    buf_free(&b);
    ck_assert(!buf_failed(&b));
}
END_TEST

/* One TASK_SUBMIT frame with a 3 KB spec written by mpw_*, the way
 * api/tasks.c builds it. */
static int op_pack(void *arg)
{
    (void)arg;
    struct buf spec = BUF_INIT, f = BUF_INIT;
    int rc = 0;
    mpw_map(&spec, 3);
    mpw_cstr(&spec, "id");
    mpw_bin(&spec, "01234567890123456789", 20);
    mpw_cstr(&spec, "args");
    mpw_array(&spec, 30);
    for (int i = 0; i < 30; i++) {
        char s[100];
        memset(s, 'a' + i % 26, sizeof s);
        mpw_str(&spec, s, sizeof s);
    }
    mpw_cstr(&spec, "n");
    mpw_uint(&spec, 1u << 20);
    if (buf_failed(&spec)) {
        rc = 1;
        goto out;
    }
    if (proto_pack(&f, PROTO_TASK_SUBMIT, spec.data, spec.len) < 0) {
        rc = buf_failed(&f) && f.len == 0 ? 1 : 2;
        goto out;
    }
    /* what was packed decodes */
    struct proto_msg m;
    char err[128];
    rc = f.len > 4 && proto_decode(f.data + 4, f.len - 4, &m, err, sizeof err) == 0 &&
                 m.f[0].as.s.len == spec.len
             ? 0
             : 3;
out:
    buf_free(&spec);
    buf_free(&f);
    return rc;
}

START_TEST(test_proto_pack_nomem)
{
    ck_assert_int_ge(each_failure(op_pack, NULL), 3); /* several growth steps */
    /* a buffer that failed refuses frames until it is reset */
    struct buf f = BUF_INIT;
    mem_fail_after_(0);
    ck_assert_int_eq(proto_pack(&f, PROTO_OBJ_SEAL, (const uint8_t *)"01234567890123456789"), -1);
    mem_fail_after_(-1);
    ck_assert(buf_failed(&f));
    ck_assert_int_eq(proto_pack(&f, PROTO_OBJ_SEAL, (const uint8_t *)"01234567890123456789"), -1);
    buf_reset(&f);
    ck_assert_int_eq(proto_pack(&f, PROTO_OBJ_SEAL, (const uint8_t *)"01234567890123456789"), 0);
    buf_free(&f);
    /* the incremental decoder turns a failed feed into PROTO_BAD */
    struct proto_decoder d;
    proto_decoder_init(&d, PROTO_MAX_FRAME);
    struct proto_msg m;
    mem_fail_after_(0);
    proto_decoder_feed(&d, "\0\0\0\1", 4);
    mem_fail_after_(-1);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    ck_assert_ptr_nonnull(strstr(d.errstr, "out of memory"));
    proto_decoder_free(&d);
}
END_TEST

/* The API's value encoder: a list of 40 strings and a nested map. */
static int op_args(void *arg)
{
    (void)arg;
    static char text[40][64];
    ray_value items[40], keys[2] = { RAY_S("a"), RAY_S("b") }, vals[2];
    for (int i = 0; i < 40; i++) {
        memset(text[i], 'k', sizeof text[i] - 1);
        items[i] = RAY_S(text[i]);
    }
    vals[0] = RAY_LIST_V(items, 40);
    vals[1] = RAY_I(-5);
    ray_value args[3] = { RAY_LIST_V(items, 40), RAY_MAP_V(keys, vals, 2), RAY_BYTES_V(text, 2000) };
    struct buf b = BUF_INIT;
    int rc = api_args_pack_(&b, args, 3);
    int out;
    if (rc == RAY_ENOMEM)
        out = strstr(ray_last_error(), "out of memory") ? 1 : 4;
    else if (rc != RAY_OK)
        out = 2;
    else
        out = buf_failed(&b) || b.len < 2000 ? 3 : 0;
    buf_free(&b);
    return out;
}

START_TEST(test_api_values_nomem)
{
    ck_assert_int_ge(each_failure(op_args, NULL), 3);
}
END_TEST

/* A list-script reply of two node records, as hiredis would build it. */
struct fake_reply {
    redisReply top, rec[2], kv[2][6];
    redisReply *recp[2], *kvp[2][6];
};

static void fake_reply_init(struct fake_reply *f)
{
    static const char *const fields[2][6] = {
        { "node_id", "n1", "address", "10.0.0.1", "port", "6379" },
        { "node_id", "n2", "address", "10.0.0.2", "state", "ALIVE" },
    };
    memset(f, 0, sizeof *f);
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < 6; i++) {
            f->kv[r][i].type = REDIS_REPLY_STRING;
            f->kv[r][i].str = (char *)fields[r][i];
            f->kv[r][i].len = strlen(fields[r][i]);
            f->kvp[r][i] = &f->kv[r][i];
        }
        f->rec[r].type = REDIS_REPLY_ARRAY;
        f->rec[r].elements = 6;
        f->rec[r].element = f->kvp[r];
        f->recp[r] = &f->rec[r];
    }
    f->top.type = REDIS_REPLY_ARRAY;
    f->top.elements = 2;
    f->top.element = f->recp;
}

static int op_decode(void *arg)
{
    size_t n = 99;
    errno = 0;
    struct gcs_node *v = gcs_records_from_list_(&gcs_table_node_, arg, &n);
    if (v == NULL)
        return errno == ENOMEM && n == 0 ? 1 : 2;
    int ok = n == 2 && strcmp(v[0].address, "10.0.0.1") == 0 && v[0].port == 6379 &&
             strcmp(v[1].state, "ALIVE") == 0 && strcmp(v[1].hostname, "") == 0;
    gcs_node_array_free(v, n);
    return ok ? 0 : 3;
}

START_TEST(test_gcs_decode_nomem)
{
    struct fake_reply f;
    fake_reply_init(&f);
    /* one array, then one string per string field of each record */
    ck_assert_int_ge(each_failure(op_decode, &f.top), 1 + 2 * 8);
    redisReply notarray = { .type = REDIS_REPLY_INTEGER };
    size_t n = 5;
    errno = 0;
    ck_assert_ptr_null(gcs_records_from_list_(&gcs_table_node_, &notarray, &n));
    ck_assert_int_eq(errno, EPROTO); /* told apart from out-of-memory */
    ck_assert_uint_eq(n, 0);
    mem_fail_after_(0);
    errno = 0;
    ck_assert_ptr_null(gcs_prefix_make_("test"));
    ck_assert_int_eq(errno, ENOMEM);
    mem_fail_after_(-1);
    char *p = gcs_prefix_make_("test");
    ck_assert_str_eq(p, "ray:test:");
    free(p);
}
END_TEST

/* The sync client a standalone driver uses (api/driver.c), against a real
 * redis-server holding two node records. */
static int redis_port;

static int op_sync(void *arg)
{
    (void)arg;
    char err[256] = "";
    struct gcs_sync *gs = gcs_sync_connect("127.0.0.1", redis_port, "pw", "test", 5000, err,
                                           sizeof err);
    if (gs == NULL)
        return strstr(err, "out of memory") ? 1 : 2;
    struct gcs_node *v;
    size_t n;
    int rc = gcs_sync_nodes(gs, &v, &n);
    int out;
    if (rc < 0)
        out = strstr(gcs_sync_errstr(gs), "out of memory") ? 1 : 3;
    else
        out = n == 2 ? 0 : 4;
    if (rc == 0)
        gcs_node_array_free(v, n);
    gcs_sync_free(gs);
    return out;
}

START_TEST(test_gcs_sync_nomem)
{
    redis_port = unit_redis_start("pw");
    ck_assert_int_gt(redis_port, 0);
    char err[256];
    struct gcs_sync *gs = gcs_sync_connect("127.0.0.1", redis_port, "pw", "test", 5000, err,
                                           sizeof err);
    ck_assert_msg(gs != NULL, "%s", err);
    struct gcs_reply *r[3] = {
        gcs_sync_command(gs, "SADD ray:test:nodes n1 n2"),
        gcs_sync_command(gs, "HSET ray:test:node:n1 node_id n1 address 10.0.0.1 port 1"),
        gcs_sync_command(gs, "HSET ray:test:node:n2 node_id n2 address 10.0.0.2 port 2"),
    };
    for (size_t i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(r[i]);
        freeReplyObject(r[i]);
    }
    gcs_sync_free(gs);
    long points = each_failure(op_sync, NULL);
    unit_redis_stop();
    ck_assert_int_ge(points, 3);
}
END_TEST

/* The ID map's library entry point: growth that fails leaves the map as it
 * was and usable (the client's scalar cache, api/objects.c). */
START_TEST(test_idmap_try_put_nomem)
{
    struct idmap m = IDMAP_INIT;
    static int vals[100];
    uint8_t k[IDS_SIZE] = { 0 };
    mem_fail_after_(0);
    ck_assert_int_eq(idmap_try_put(&m, k, &vals[0], NULL), -1); /* the first table */
    mem_fail_after_(-1);
    ck_assert_uint_eq(m.len, 0);
    ck_assert_ptr_null(idmap_get(&m, k));
    ck_assert_int_eq(idmap_try_put(&m, k, &vals[0], NULL), 0);
    int added = 1;
    for (int i = 1; i < 100; i++) {
        k[0] = (uint8_t)i;
        mem_fail_after_(0); /* fails only when the map must grow */
        void *old = &vals[99];
        if (idmap_try_put(&m, k, &vals[i], &old) == 0) {
            ck_assert_ptr_null(old);
            added++;
        }
        mem_fail_after_(-1);
    }
    /* the first table holds 48 (three quarters of 64); every later put
     * needed to grow, and failed */
    ck_assert_int_eq(added, 48);
    ck_assert_uint_eq(m.len, 48);
    ck_assert_uint_eq(m.cap, 64);
    for (int i = 0; i < 100; i++) {
        k[0] = (uint8_t)i;
        void *v = idmap_get(&m, k);
        ck_assert(v == NULL || v == &vals[i]);
    }
    k[0] = 0;
    void *old = NULL; /* replacing needs no room */
    ck_assert_int_eq(idmap_try_put(&m, k, &vals[50], &old), 0);
    idmap_free(&m);
}
END_TEST

static Suite *nomem_suite(void)
{
    Suite *s = suite_create("nomem");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mem_basics);
    tcase_add_test(tc, test_buf_sticky);
    tcase_add_test(tc, test_proto_pack_nomem);
    tcase_add_test(tc, test_api_values_nomem);
    tcase_add_test(tc, test_gcs_decode_nomem);
    tcase_add_test(tc, test_gcs_sync_nomem);
    tcase_add_test(tc, test_idmap_try_put_nomem);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(nomem_suite);
