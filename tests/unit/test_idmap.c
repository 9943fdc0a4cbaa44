/*
 * test_idmap.c — the ID map every module indexes by (common/idmap.h):
 * put/get/replace/delete against a plain array model over many keys, keys
 * that collide in their low bits (the probe chains), deletion's backward
 * shift keeping every other key findable, iteration with deletion, growth.
 */
#include "common/idmap.h"
#include "tests/unit/unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Key number I: its bytes vary where a hash on all 20 bytes sees them. */
static void key(uint8_t k[IDS_SIZE], uint32_t i, uint32_t salt)
{
    memset(k, 0, IDS_SIZE);
    memcpy(k, &salt, 4);
    memcpy(k + 16, &i, 4);
    k[8] = (uint8_t)(i * 37);
}

START_TEST(test_idmap_model)
{
    enum { N = 20000 };
    struct idmap m = IDMAP_INIT;
    static int vals[N];
    static bool in[N];
    uint8_t k[IDS_SIZE];
    ck_assert_ptr_null(idmap_get(&m, (uint8_t[IDS_SIZE]){ 0 }));
    srand(7);
    for (int round = 0; round < 5 * N; round++) {
        uint32_t i = (uint32_t)rand() % N;
        key(k, i, 1);
        int op = rand() % 3;
        if (op < 2) {
            void *old = idmap_put(&m, k, &vals[i]);
            ck_assert_ptr_eq(old, in[i] ? &vals[i] : NULL);
            in[i] = true;
        } else {
            void *old = idmap_del(&m, k);
            ck_assert_ptr_eq(old, in[i] ? &vals[i] : NULL);
            in[i] = false;
        }
    }
    size_t want = 0;
    for (uint32_t i = 0; i < N; i++) {
        key(k, i, 1);
        ck_assert_ptr_eq(idmap_get(&m, k), in[i] ? &vals[i] : NULL);
        want += in[i];
        key(k, i, 2); /* never stored */
        ck_assert_ptr_null(idmap_get(&m, k));
    }
    ck_assert_uint_eq(m.len, want);
    ck_assert_uint_eq(m.cap & (m.cap - 1), 0); /* a power of two */
    ck_assert(m.len < m.cap);
    idmap_free(&m);
    ck_assert_uint_eq(m.len, 0);
    idmap_free(&m); /* twice: a no-op */
}
END_TEST

START_TEST(test_idmap_iterate_and_delete)
{
    struct idmap m = IDMAP_INIT;
    static int vals[1000];
    uint8_t k[IDS_SIZE];
    for (uint32_t i = 0; i < 1000; i++) {
        key(k, i, 3);
        idmap_put(&m, k, &vals[i]);
    }
    /* delete the even ones while iterating, as the modules do */
    size_t pos = 0, seen = 0;
    struct idmap_slot *s;
    while ((s = idmap_next(&m, &pos)) != NULL) {
        seen++;
        int idx = (int)((int *)s->val - vals);
        if (idx % 2 == 0)
            idmap_del(&m, s->key); /* do not advance */
        else
            pos++;
    }
    ck_assert_uint_ge(seen, 1000);
    ck_assert_uint_eq(m.len, 500);
    for (uint32_t i = 0; i < 1000; i++) {
        key(k, i, 3);
        ck_assert_ptr_eq(idmap_get(&m, k), i % 2 ? &vals[i] : NULL);
    }
    idmap_free(&m);
}
END_TEST

START_TEST(test_idmap_same_low_bits)
{
    /* keys equal but for one high byte: long probe chains, then deletes in
     * the middle of them */
    struct idmap m = IDMAP_INIT;
    static int vals[256];
    uint8_t k[IDS_SIZE];
    for (int i = 0; i < 256; i++) {
        memset(k, 0xab, IDS_SIZE);
        k[0] = (uint8_t)i;
        idmap_put(&m, k, &vals[i]);
    }
    for (int i = 0; i < 256; i += 3) {
        memset(k, 0xab, IDS_SIZE);
        k[0] = (uint8_t)i;
        ck_assert_ptr_eq(idmap_del(&m, k), &vals[i]);
    }
    for (int i = 0; i < 256; i++) {
        memset(k, 0xab, IDS_SIZE);
        k[0] = (uint8_t)i;
        ck_assert_ptr_eq(idmap_get(&m, k), i % 3 ? &vals[i] : NULL);
    }
    idmap_free(&m);
}
END_TEST

static Suite *idmap_suite(void)
{
    Suite *s = suite_create("idmap");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_idmap_model);
    tcase_add_test(tc, test_idmap_iterate_and_delete);
    tcase_add_test(tc, test_idmap_same_low_bits);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(idmap_suite);
