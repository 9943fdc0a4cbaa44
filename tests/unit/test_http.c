/*
 * test_http.c — the dashboard's decoders (common/http.c, common/json.c):
 * the token check (header, cookie, wrong and empty tokens), query strings,
 * multipart/form-data as curl sends it, chunked and plain responses, and
 * the JSON reader and writer.
 */
#include "tests/unit/unit.h"

#include "common/buf.h"
#include "common/http.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_token)
{
    ck_assert(http_token_ok("Bearer s3cret", NULL, "s3cret"));
    ck_assert(http_token_ok("bearer  s3cret ", NULL, "s3cret"));
    ck_assert(!http_token_ok("Bearer s3cre", NULL, "s3cret"));
    ck_assert(!http_token_ok("Bearer s3cretx", NULL, "s3cret"));
    ck_assert(!http_token_ok("Basic s3cret", NULL, "s3cret"));
    ck_assert(http_token_ok(NULL, "a=1; ray_token=s3cret; b=2", "s3cret"));
    ck_assert(http_token_ok(NULL, "ray_token=s3cret", "s3cret"));
    ck_assert(!http_token_ok(NULL, "xray_token=s3cret", "s3cret"));
    ck_assert(!http_token_ok(NULL, "ray_token=", "s3cret"));
    ck_assert(!http_token_ok("Bearer ", "ray_token=", ""));
    ck_assert(!http_token_ok(NULL, NULL, "s3cret"));
    ck_assert(http_ct_equal("abc", "abc", 3));
    ck_assert(!http_ct_equal("abc", "abd", 3));
}
END_TEST

START_TEST(test_query)
{
    char v[32];
    ck_assert_int_eq(http_query_get("limit=10&offset=5", "offset", v, sizeof v), 1);
    ck_assert_str_eq(v, "5");
    ck_assert_int_eq(http_query_get("a=x%20y+z", "a", v, sizeof v), 5);
    ck_assert_str_eq(v, "x y z");
    ck_assert_int_eq(http_query_get("a=%zz", "a", v, sizeof v), -1);
    ck_assert_int_eq(http_query_get("a=%00", "a", v, sizeof v), -1);
    ck_assert_int_eq(http_query_get("ab=1", "a", v, sizeof v), -1);
    ck_assert_int_eq(http_query_get(NULL, "a", v, sizeof v), -1);
    long n;
    ck_assert_int_eq(http_query_long("limit=7", "limit", 100, 1, 10, &n), 0);
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(http_query_long("x=1", "limit", 100, 1, 10, &n), 0);
    ck_assert_int_eq(n, 100);
    ck_assert_int_eq(http_query_long("limit=11", "limit", 100, 1, 10, &n), -1);
    ck_assert_int_eq(http_query_long("limit=abc", "limit", 100, 1, 10, &n), -1);
    ck_assert_int_eq(http_query_long("limit=", "limit", 100, 1, 10, &n), -1);
}
END_TEST

START_TEST(test_multipart)
{
    const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"library\"; filename=\"j.so\"\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n\177ELF\r\n--X\r\n"
                       "--XyZ\r\nContent-Disposition: form-data; name=\"args\"\r\n\r\n[\"a\"]\r\n"
                       "--XyZ--\r\n";
    struct http_part p[4];
    char err[128];
    int n = http_multipart_parse("multipart/form-data; boundary=XyZ", body, strlen(body), p, 4,
                                 err, sizeof err);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq((int)p[0].namelen, 7);
    ck_assert(memcmp(p[0].name, "library", 7) == 0);
    ck_assert(p[0].filename && memcmp(p[0].filename, "j.so", 4) == 0);
    ck_assert_int_eq((int)p[0].len, 9); /* \177ELF CR LF --X: a near-delimiter inside */
    ck_assert(memcmp(p[1].data, "[\"a\"]", 5) == 0 && p[1].len == 5 && p[1].filename == NULL);
    ck_assert_int_eq(http_multipart_parse("text/plain", body, strlen(body), p, 4, err, sizeof err), -1);
    ck_assert_int_eq(http_multipart_parse("multipart/form-data; boundary=XyZ", body, 40, p, 4, err,
                                          sizeof err), -1);
    ck_assert_int_eq(http_multipart_parse("multipart/form-data; boundary=XyZ", body, strlen(body), p,
                                          1, err, sizeof err), -1);
    ck_assert(strstr(err, "too many") != NULL);
}
END_TEST

START_TEST(test_response)
{
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloXX";
    int st;
    const char *b;
    size_t bl;
    struct buf d = BUF_INIT;
    ck_assert_int_eq(http_response_parse(r, strlen(r), &st, &b, &bl, &d), 0);
    ck_assert_int_eq(st, 200);
    ck_assert_int_eq((int)bl, 5);
    const char *c = "HTTP/1.1 404 NF\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    ck_assert_int_eq(http_response_parse(c, strlen(c), &st, &b, &bl, &d), 0);
    ck_assert_int_eq(st, 404);
    ck_assert_int_eq((int)bl, 5);
    ck_assert(memcmp(b, "abcde", 5) == 0);
    ck_assert_int_eq(http_response_parse("HTTP/1.1 200 OK\r\n", 17, &st, &b, &bl, &d), -1);
    buf_free(&d);
    char host[64];
    int port;
    ck_assert_int_eq(http_parse_address("http://10.0.0.1:9000", 8265, host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "10.0.0.1");
    ck_assert_int_eq(port, 9000);
    ck_assert_int_eq(http_parse_address("h", 8265, host, sizeof host, &port), 0);
    ck_assert_int_eq(port, 8265);
    ck_assert_int_eq(http_parse_address("https://h", 8265, host, sizeof host, &port), -1);
    ck_assert_int_eq(http_parse_address("http://h:0", 8265, host, sizeof host, &port), -1);
}
END_TEST

START_TEST(test_json)
{
    const char *s = "{\"a\": [1, {\"b\": null}], \"job_id\": \"00\\u0030001\", \"n\": -1.5e3}";
    const char *v;
    size_t vl;
    ck_assert(json_valid(s, strlen(s)));
    ck_assert_int_eq(json_member(s, strlen(s), "job_id", &v, &vl), 0);
    char out[32];
    ck_assert_int_eq(json_string(v, vl, out, sizeof out), 6);
    ck_assert_str_eq(out, "000001");
    ck_assert_int_eq(json_member(s, strlen(s), "n", &v, &vl), 0);
    ck_assert_int_eq((int)vl, 6);
    ck_assert_int_eq(json_member(s, strlen(s), "zz", &v, &vl), -1);
    ck_assert(!json_valid("{\"a\":}", 6));
    ck_assert(!json_valid("[1,]", 4));
    ck_assert(!json_valid("01x", 3));
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert(!json_valid(deep, 200)); /* deeper than JSON_MAX_DEPTH */
    char **arr;
    int n = json_string_array("[\"x\", \"\\u00e9\\n\"]", 17, 10, &arr);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(arr[1], "\xc3\xa9\n");
    json_strings_free(arr, n);
    ck_assert_int_eq(json_string_array("[\"x\", 1]", 8, 10, &arr), -1);
    ck_assert_int_eq(json_string_array("[\"a\",\"b\"]", 9, 1, &arr), -1);
    ck_assert_int_eq(json_string("\"a\\u0000\"", 9, out, sizeof out), -1);
    struct buf b = BUF_INIT;
    json_put_str(&b, "q\"\\\x01\n");
    ck_assert(b.len == 15 && memcmp(b.data, "\"q\\\"\\\\\\u0001\\n\"", 15) == 0);
    buf_free(&b);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_token);
    tcase_add_test(tc, test_query);
    tcase_add_test(tc, test_multipart);
    tcase_add_test(tc, test_response);
    tcase_add_test(tc, test_json);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(http_suite);
