/*
 * test_sha256.c — SHA-256 against the FIPS 180-4 / NIST example vectors, and
 * the incremental API against the one-shot one for every split point.
 */
#include "common/sha256.h"
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const uint8_t d[SHA256_SIZE], char out[2 * SHA256_SIZE + 1])
{
    for (int i = 0; i < SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check_vec(const char *msg, const char *want)
{
    uint8_t d[SHA256_SIZE];
    char h[2 * SHA256_SIZE + 1];
    sha256(msg, strlen(msg), d);
    hex(d, h);
    ck_assert_str_eq(h, want);
}

START_TEST(test_sha256_vectors)
{
    check_vec("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_vec("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_vec("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_vec("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(test_sha256_million_a)
{
    size_t n = 1000000;
    char *a = malloc(n);
    ck_assert_ptr_nonnull(a);
    memset(a, 'a', n);
    uint8_t d[SHA256_SIZE];
    char h[2 * SHA256_SIZE + 1];
    sha256(a, n, d);
    hex(d, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    /* Incrementally, in odd-sized pieces that straddle block boundaries. */
    struct sha256_ctx c;
    sha256_init(&c);
    for (size_t off = 0, step = 1; off < n; off += step, step = step % 97 + 13)
        sha256_update(&c, a + off, off + step > n ? n - off : step);
    uint8_t d2[SHA256_SIZE];
    sha256_final(&c, d2);
    ck_assert_mem_eq(d, d2, SHA256_SIZE);
    free(a);
}
END_TEST

START_TEST(test_sha256_incremental_splits)
{
    /* Lengths around the padding edge (55, 56, 63, 64, 65...) and every split point. */
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    for (size_t len = 0; len <= sizeof msg; len += (len < 130 ? 1 : 7)) {
        uint8_t want[SHA256_SIZE];
        sha256(msg, len, want);
        for (size_t cut = 0; cut <= len; cut += 5) {
            struct sha256_ctx c;
            uint8_t got[SHA256_SIZE];
            sha256_init(&c);
            sha256_update(&c, msg, cut);
            sha256_update(&c, NULL, 0);
            sha256_update(&c, msg + cut, len - cut);
            sha256_final(&c, got);
            ck_assert_mem_eq(want, got, SHA256_SIZE);
        }
    }
    /* Different inputs give different digests (a broken update would collide). */
    uint8_t x[SHA256_SIZE], y[SHA256_SIZE];
    sha256("abd", 3, x);
    sha256("abc", 3, y);
    ck_assert_int_ne(memcmp(x, y, SHA256_SIZE), 0);
}
END_TEST

static Suite *sha256_suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_sha256_million_a);
    tcase_add_test(tc, test_sha256_incremental_splits);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(sha256_suite);
