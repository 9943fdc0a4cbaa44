/*
 * test_resources.c — unit tests for sched/resources.c: parsing both spec
 * forms, formatting and round trips, fixed-point exactness, fits/add/sub.
 */
#include "tests/unit/unit.h"
#include "sched/resources.h"
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

/* Parse SPEC, format it, return the text (static buffer). Fails the test on a
 * parse error. */
static const char *roundtrip(const char *spec)
{
    static char text[1024];
    struct res_set s = RES_SET_INIT;
    struct buf b = BUF_INIT;
    ck_assert_msg(res_parse(&s, spec, err, sizeof err) == 0, "%s: %s", spec, err);
    res_format(&s, &b);
    snprintf(text, sizeof text, "%.*s", (int)b.len, b.data ? b.data : "");
    buf_free(&b);
    res_free(&s);
    return text;
}

static void expect_bad(const char *spec, const char *needle)
{
    struct res_set s = RES_SET_INIT;
    err[0] = '\0';
    ck_assert_msg(res_parse(&s, spec, err, sizeof err) == -1, "accepted '%s'", spec);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s': error '%s' lacks '%s'", spec, err, needle);
    ck_assert_uint_eq(s.n, 0);
    res_free(&s);
}

START_TEST(test_parse_pairs)
{
    struct res_set s = RES_SET_INIT;
    ck_assert_int_eq(res_parse(&s, "foo=0.5, GPU=1 ,CPU=2,node:127.0.0.1=1", err, sizeof err), 0);
    ck_assert_uint_eq(s.n, 4);
    ck_assert_int_eq(res_get(&s, "CPU"), 20000);
    ck_assert_int_eq(res_get(&s, "GPU"), 10000);
    ck_assert_int_eq(res_get(&s, "foo"), 5000);
    ck_assert_int_eq(res_get(&s, "node:127.0.0.1"), 10000);
    ck_assert_int_eq(res_get(&s, "absent"), 0);
    ck_assert(!res_has(&s, "absent"));
    /* standard names come first, in their fixed order */
    ck_assert_str_eq(s.e[0].name, "CPU");
    ck_assert_str_eq(s.e[1].name, "GPU");
    res_free(&s);
    res_free(&s); /* twice is fine */
    res_free(NULL);
}
END_TEST

START_TEST(test_parse_json)
{
    struct res_set s = RES_SET_INIT;
    ck_assert_int_eq(res_parse(&s, " {\"foo\": 2, \"bar\":1.5 }\n", err, sizeof err), 0);
    ck_assert_int_eq(res_get(&s, "foo"), 20000);
    ck_assert_int_eq(res_get(&s, "bar"), 15000);
    ck_assert_int_eq(res_parse(&s, "{}", err, sizeof err), 0);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_int_eq(res_parse(&s, "", err, sizeof err), 0);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_int_eq(res_parse(&s, NULL, err, sizeof err), 0);
    res_free(&s);
}
END_TEST

START_TEST(test_parse_errors)
{
    expect_bad("CPU=-1", "amount of 'CPU' must not be negative");
    expect_bad("CPU=nan", "is not a number");
    expect_bad("CPU=inf", "is not a number");
    expect_bad("CPU=1e3", "is not a number");
    expect_bad("CPU=", "is not a number");
    expect_bad("CPU", "expected name=amount");
    expect_bad("CPU=1,", "expected name=amount");
    expect_bad("=1", "empty resource name");
    expect_bad("a b=1", "expected name=amount");
    expect_bad("fo/o=1", "bad resource name");
    expect_bad("CPU=1,CPU=2", "duplicate resource 'CPU'");
    expect_bad("CPU=0.00001", "4 decimal places");
    expect_bad("CPU=1 2", "unexpected");
    expect_bad("CPU=99999999999999999999", "too large");
    expect_bad("{\"a\": 1", "expected ',' or '}'");
    expect_bad("{\"a\": \"1\"}", "is not a number");
    expect_bad("{\"a\": {\"b\": 1}}", "is not a number");
    expect_bad("{a: 1}", "quoted name");
    expect_bad("{\"a\\n\": 1}", "escapes");
    expect_bad("{\"a\": 1} x", "trailing");
    expect_bad("{\"a\": -2}", "negative");
    expect_bad("{\"a\": 1,}", "quoted name");

    char longname[RES_NAME_MAX + 8];
    memset(longname, 'x', RES_NAME_MAX + 1);
    strcpy(longname + RES_NAME_MAX + 1, "=1");
    expect_bad(longname, "longer than");
    longname[RES_NAME_MAX] = '=';
    longname[RES_NAME_MAX + 1] = '1';
    longname[RES_NAME_MAX + 2] = '\0';
    ck_assert_str_eq(roundtrip(longname), longname); /* exactly 64 is fine */

    /* 64 entries parse, 65 do not */
    struct buf b = BUF_INIT;
    for (int i = 0; i < RES_MAX_ENTRIES; i++)
        buf_printf(&b, "%sr%02d=1", i ? "," : "", i);
    buf_append(&b, "", 1);
    struct res_set s = RES_SET_INIT;
    ck_assert_int_eq(res_parse(&s, b.data, err, sizeof err), 0);
    ck_assert_uint_eq(s.n, RES_MAX_ENTRIES);
    res_free(&s);
    b.len--;
    buf_printf(&b, ",extra=1");
    buf_append(&b, "", 1);
    expect_bad(b.data, "too many resources");
    buf_free(&b);
}
END_TEST

/* res_scan: the check ray_call runs, with the same verdicts as res_parse. */
static void count_pair(const char *name, int64_t amount, void *arg)
{
    (void)name;
    *(int64_t *)arg += amount;
}

START_TEST(test_scan_checks_like_parse)
{
    static const char *const good[] = { "", "CPU=2,foo=0.5", "{\"a\": 1}", " x = 1 " };
    static const char *const bad[] = { "CPU", "foo=abc", "foo=-1", "=3", "a=1,a=2", "a=1,",
                                       "{\"a\": 1", "CPU=0.00001" };
    struct res_set s = RES_SET_INIT;
    char e1[200], e2[200];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_int_eq(res_scan(good[i], NULL, NULL, e1, sizeof e1), 0);
        ck_assert_int_eq(res_parse(&s, good[i], e2, sizeof e2), 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(res_scan(bad[i], NULL, NULL, e1, sizeof e1), -1);
        ck_assert_int_eq(res_parse(&s, bad[i], e2, sizeof e2), -1);
        ck_assert_str_eq(e1, e2);
    }
    ck_assert_int_eq(res_scan("foo=abc", NULL, NULL, NULL, 0), -1); /* no error buffer */
    int64_t sum = 0;
    ck_assert_int_eq(res_scan("a=1,b=0.5", count_pair, &sum, e1, sizeof e1), 0);
    ck_assert_int_eq(sum, 15000);
    ck_assert_int_eq(res_scan("foo=abc", NULL, NULL, e1, sizeof e1), -1);
    ck_assert_str_eq(e1, "amount of 'foo' is not a number (got 'abc')");
    res_free(&s);
}
END_TEST

START_TEST(test_format_roundtrip)
{
    ck_assert_str_eq(roundtrip("foo=0.5,GPU=0,CPU=2"), "CPU=2,GPU=0,foo=0.5");
    ck_assert_str_eq(roundtrip("{\"b\": 1.25, \"a\": 0.0001, \"memory\": 1073741824}"),
                     "memory=1073741824,a=0.0001,b=1.25");
    ck_assert_str_eq(roundtrip("object_store_memory=3,memory=2,GPU=1,CPU=0.1"),
                     "CPU=0.1,GPU=1,memory=2,object_store_memory=3");
    ck_assert_str_eq(roundtrip(""), "");
    ck_assert_str_eq(roundtrip("x=1.50000"), "x=1.5");
    /* formatting a formatted set gives the same text */
    const char *once = roundtrip("z=3,y=0.3333,CPU=16,GPU=8");
    char copy[256];
    snprintf(copy, sizeof copy, "%s", once);
    ck_assert_str_eq(roundtrip(copy), copy);
}
END_TEST

START_TEST(test_set_amount)
{
    struct res_set s = RES_SET_INIT;
    ck_assert_int_eq(res_set_amount(&s, "foo", res_units(3)), 0);
    ck_assert_int_eq(res_set_amount(&s, "CPU", 5000), 0);
    ck_assert_int_eq(res_set_amount(&s, "foo", 1), 0); /* overwrite */
    ck_assert_uint_eq(s.n, 2);
    ck_assert_str_eq(s.e[0].name, "CPU");
    ck_assert_int_eq(res_get(&s, "foo"), 1);
    ck_assert_int_eq(res_set_amount(&s, "bad name", 1), -1);
    ck_assert_int_eq(res_set_amount(&s, "x", -1), -1);
    ck_assert_int_eq(res_set_amount(&s, "x", RES_AMOUNT_MAX + 1), -1);
    ck_assert(!res_has(&s, "x"));

    struct res_set c = RES_SET_INIT;
    res_copy(&c, &s);
    res_set_amount(&s, "foo", 7);
    ck_assert_int_eq(res_get(&c, "foo"), 1);
    ck_assert_int_eq(res_get(&c, "CPU"), 5000);
    res_free(&c);
    res_free(&s);
}
END_TEST

START_TEST(test_fits)
{
    struct res_set avail = RES_SET_INIT, d = RES_SET_INIT, empty = RES_SET_INIT;
    ck_assert_int_eq(res_parse(&avail, "CPU=1,foo=2", err, sizeof err), 0);
    ck_assert(res_fits(&avail, &empty));
    ck_assert(res_fits(&empty, &empty));
    res_parse(&d, "CPU=1", NULL, 0);
    ck_assert(res_fits(&avail, &d));          /* equal fits */
    res_parse(&d, "CPU=1.0001", NULL, 0);
    ck_assert(!res_fits(&avail, &d));         /* one unit too much */
    res_parse(&d, "GPU=0", NULL, 0);
    ck_assert(res_fits(&avail, &d));          /* absent but zero demand */
    res_parse(&d, "GPU=0.0001", NULL, 0);
    ck_assert(!res_fits(&avail, &d));         /* absent = 0 */
    res_parse(&d, "CPU=0.5,foo=2,bar=0", NULL, 0);
    ck_assert(res_fits(&avail, &d));
    ck_assert(!res_fits(&empty, &d));
    res_free(&avail);
    res_free(&d);
}
END_TEST

START_TEST(test_add_sub_exact)
{
    struct res_set avail = RES_SET_INIT, half = RES_SET_INIT, tenth = RES_SET_INIT, one = RES_SET_INIT;
    res_parse(&half, "CPU=0.5", NULL, 0);
    res_parse(&one, "CPU=1", NULL, 0);
    ck_assert_int_eq(res_add(&avail, &half), 0);
    ck_assert_int_eq(res_add(&avail, &half), 0);
    ck_assert_int_eq(res_get(&avail, "CPU"), res_units(1)); /* exactly 1 */
    ck_assert(res_fits(&avail, &one));

    /* ten times 0.1 is exactly 1: no float drift */
    res_parse(&tenth, "CPU=0.1", NULL, 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(res_sub(&avail, &tenth), 0);
    ck_assert_int_eq(res_get(&avail, "CPU"), 0);
    ck_assert(res_has(&avail, "CPU"));  /* stays present at 0 */
    ck_assert(res_is_empty(&avail));
    /* sub that does not fit leaves it unchanged */
    ck_assert_int_eq(res_sub(&avail, &tenth), -1);
    ck_assert_int_eq(res_get(&avail, "CPU"), 0);

    struct res_set big = RES_SET_INIT;
    res_set_amount(&big, "CPU", RES_AMOUNT_MAX);
    ck_assert_int_eq(res_add(&big, &one), -1);
    ck_assert_int_eq(res_get(&big, "CPU"), RES_AMOUNT_MAX);

    struct buf b = BUF_INIT;
    res_parse(&avail, "CPU=4,GPU=2,foo=1", NULL, 0);
    res_parse(&tenth, "CPU=1.5,foo=1,bar=0", NULL, 0);
    ck_assert_int_eq(res_sub(&avail, &tenth), 0);
    res_format(&avail, &b);
    buf_append(&b, "", 1);
    ck_assert_str_eq(b.data, "CPU=2.5,GPU=2,foo=0");
    ck_assert(!res_is_empty(&avail));
    ck_assert_int_eq(res_add(&avail, &tenth), 0);
    buf_reset(&b);
    res_format(&avail, &b);
    buf_append(&b, "", 1);
    ck_assert_str_eq(b.data, "CPU=4,GPU=2,bar=0,foo=1");

    struct res_set empty = RES_SET_INIT;
    ck_assert(res_is_empty(&empty));
    buf_free(&b);
    res_free(&avail);
    res_free(&half);
    res_free(&tenth);
    res_free(&one);
    res_free(&big);
}
END_TEST

START_TEST(test_add_too_many)
{
    struct res_set a = RES_SET_INIT, d = RES_SET_INIT;
    char name[16];
    for (int i = 0; i < RES_MAX_ENTRIES; i++) {
        snprintf(name, sizeof name, "a%d", i);
        ck_assert_int_eq(res_set_amount(&a, name, 1), 0);
    }
    ck_assert_int_eq(res_set_amount(&a, "one_more", 1), -1);
    res_set_amount(&d, "zzz", 1);
    ck_assert_int_eq(res_add(&a, &d), -1);
    ck_assert_uint_eq(a.n, RES_MAX_ENTRIES);
    res_free(&a);
    res_free(&d);
}
END_TEST

START_TEST(test_equal)
{
    struct res_set a = RES_SET_INIT, b = RES_SET_INIT;
    ck_assert_int_eq(res_parse(&a, "CPU=1,foo=2", err, sizeof err), 0);
    ck_assert_int_eq(res_parse(&b, "foo=2, CPU=1", err, sizeof err), 0);
    ck_assert(res_equal(&a, &b)); /* the same set, written in another order */
    res_set_amount(&b, "foo", res_units(3));
    ck_assert(!res_equal(&a, &b));
    res_set_amount(&b, "foo", res_units(2));
    res_set_amount(&b, RES_GPU, 0);
    ck_assert(!res_equal(&a, &b)); /* GPU=0 present is not GPU absent */
    res_free(&a);
    res_free(&b);
}
END_TEST

static bool starts_with_g(const char *name, void *arg)
{
    (void)arg;
    return name[0] == 'g';
}

/* res_clear keeps the array (a task's demand is refilled without an
 * allocation); res_drop_if removes matching entries, standard names among
 * them, and what is left stays in set order. */
START_TEST(test_clear_and_drop)
{
    struct res_set a = RES_SET_INIT, c = RES_SET_INIT;
    ck_assert_int_eq(res_parse(&a, "CPU=1,GPU=2,gx=1,hy=2,memory=3", err, sizeof err), 0);
    struct res_entry *arr = a.e;
    size_t cap = a.cap;
    res_clear(&a);
    ck_assert_uint_eq(a.n, 0);
    ck_assert_ptr_eq(a.e, arr);
    ck_assert_uint_eq(a.cap, cap);
    ck_assert_int_eq(res_get(&a, RES_CPU), 0);
    ck_assert_int_eq(res_parse(&a, "CPU=0.5,gz=4,gy=1,k=2", err, sizeof err), 0);
    ck_assert_ptr_eq(a.e, arr); /* refilled in place */
    res_copy(&c, &a);
    res_drop_if(&a, starts_with_g, NULL);
    struct buf b = BUF_INIT;
    res_format(&a, &b);
    buf_append(&b, "", 1);
    ck_assert_str_eq(b.data, "CPU=0.5,k=2");
    buf_reset(&b);
    res_format(&c, &b); /* the copy owns its own names */
    buf_append(&b, "", 1);
    ck_assert_str_eq(b.data, "CPU=0.5,gy=1,gz=4,k=2");
    res_clear(&c);
    res_set_amount(&c, RES_MEMORY, 1);
    ck_assert_int_eq(res_get(&c, "memory"), 1);
    buf_free(&b);
    res_free(&a);
    res_free(&c);
    res_clear(&a); /* an empty, freed set */
}
END_TEST

static Suite *resources_suite(void)
{
    Suite *s = suite_create("resources");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_pairs);
    tcase_add_test(tc, test_parse_json);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_scan_checks_like_parse);
    tcase_add_test(tc, test_format_roundtrip);
    tcase_add_test(tc, test_set_amount);
    tcase_add_test(tc, test_fits);
    tcase_add_test(tc, test_add_sub_exact);
    tcase_add_test(tc, test_add_too_many);
    tcase_add_test(tc, test_equal);
    tcase_add_test(tc, test_clear_and_drop);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(resources_suite);
