/*
 * test_metrics_report.c — the merge of clients' Prometheus reports
 * (daemon/metrics_report.c): families from several reports give one TYPE
 * line and all their samples; bad lines (control bytes, a foreign family,
 * a sample outside its family, broken labels or values, a second kind for
 * one name) are skipped; reports replace each other per client and go
 * stale.
 */
#include "daemon/metrics_report.h"
#include "tests/unit/unit.h"

#include <string.h>

static size_t merge2(const char *a, const char *b, struct buf *out)
{
    const char *t[2] = { a, b };
    size_t l[2] = { strlen(a), b ? strlen(b) : 0 };
    return metrics_report_merge(t, l, b ? 2 : 1, out);
}

static size_t count(const struct buf *b, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (size_t i = 0; i + nl <= b->len; i++)
        if (memcmp(b->data + i, needle, nl) == 0)
            n++;
    return n;
}

START_TEST(test_merge_families)
{
    struct buf out = BUF_INIT;
    const char *a = "# HELP ray_serve_n requests\n# TYPE ray_serve_n counter\n"
                    "ray_serve_n{app=\"a\"} 1\n"
                    "# TYPE ray_serve_lat histogram\n"
                    "ray_serve_lat_bucket{le=\"1\"} 1\nray_serve_lat_bucket{le=\"+Inf\"} 2\n"
                    "ray_serve_lat_sum 3.5\nray_serve_lat_count 2\n";
    const char *b = "# TYPE ray_serve_n counter\nray_serve_n{app=\"b\"} 4\n";
    ck_assert_uint_eq(merge2(a, b, &out), 6);
    buf_append(&out, "", 1);
    ck_assert_uint_eq(count(&out, "# TYPE ray_serve_n counter\n"), 1);
    ck_assert_uint_eq(count(&out, "# HELP ray_serve_n requests\n"), 1);
    ck_assert_ptr_nonnull(strstr(out.data, "# TYPE ray_serve_n counter\nray_serve_n{app=\"a\"} 1\n"
                                           "ray_serve_n{app=\"b\"} 4\n"));
    ck_assert_ptr_nonnull(strstr(out.data, "ray_serve_lat_count 2\n"));
    buf_free(&out);
}
END_TEST

START_TEST(test_merge_refuses)
{
    struct buf out = BUF_INIT;
    const char *a = "# TYPE ray_tasks gauge\nray_tasks 1\n"         /* not ray_serve_* */
                    "ray_serve_orphan 1\n"                           /* before any TYPE */
                    "# TYPE ray_serve_g gauge\n"
                    "ray_serve_g{a=\"x\"} 1\n"
                    "ray_serve_g{a=\"x} 1\n"                         /* unterminated label */
                    "ray_serve_g{a=x} 1\n"                           /* unquoted */
                    "ray_serve_g 1x\n"                               /* bad value */
                    "ray_serve_g\t1\n"                               /* control byte */
                    "ray_serve_g_sum 1\n"                            /* a gauge has no _sum */
                    "ray_serve_other 2\n"                            /* outside its family */
                    "ray_serve_g{a=\"y\\\"q\"} 2 1700000000\n";      /* escaped, timestamp */
    const char *b = "# TYPE ray_serve_g counter\nray_serve_g{a=\"z\"} 3\n"; /* another kind */
    ck_assert_uint_eq(merge2(a, b, &out), 2);
    buf_append(&out, "", 1);
    ck_assert_ptr_null(strstr(out.data, "ray_tasks"));
    ck_assert_ptr_null(strstr(out.data, "orphan"));
    ck_assert_ptr_null(strstr(out.data, "a=\"z\""));
    ck_assert_ptr_nonnull(strstr(out.data, "ray_serve_g{a=\"y\\\"q\"} 2 1700000000\n"));
    buf_free(&out);
    /* nothing valid: nothing written, not even a TYPE line */
    ck_assert_uint_eq(merge2("# TYPE ray_serve_e gauge\n", NULL, &out), 0);
    ck_assert_uint_eq(out.len, 0);
    buf_free(&out);
}
END_TEST

START_TEST(test_reports_kept)
{
    struct buf out = BUF_INIT;
    metrics_report_clear();
    ck_assert_int_eq(metrics_report_set(1, "# TYPE ray_serve_n counter\nray_serve_n 1\n", 42, 1000), 0);
    ck_assert_int_eq(metrics_report_set(1, "# TYPE ray_serve_n counter\nray_serve_n 5\n", 42, 2000), 0);
    ck_assert_int_eq(metrics_report_set(2, "# TYPE ray_serve_n counter\nray_serve_n 7\n", 42, 2000), 0);
    metrics_report_write(&out, 3000, NULL, 0);
    buf_append(&out, "", 1);
    ck_assert_ptr_null(strstr(out.data, "ray_serve_n 1\n")); /* replaced */
    ck_assert_ptr_nonnull(strstr(out.data, "ray_serve_n 5\nray_serve_n 7\n"));
    buf_free(&out);
    /* stale: gone */
    metrics_report_write(&out, 2000 + METRICS_REPORT_STALE_MS + 1, NULL, 0);
    ck_assert_uint_eq(out.len, 0);
    static char big[METRICS_REPORT_MAX + 1];
    ck_assert_int_eq(metrics_report_set(3, big, sizeof big, 1), -1);
    metrics_report_clear();
    buf_free(&out);
}
END_TEST

static Suite *metrics_report_suite(void)
{
    Suite *s = suite_create("metrics_report");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_merge_families);
    tcase_add_test(tc, test_merge_refuses);
    tcase_add_test(tc, test_reports_kept);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(metrics_report_suite);
