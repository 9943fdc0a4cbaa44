/*
 * test_serve.c — Serve's pieces that need no cluster: the URI split and
 * prefix match the proxy routes with, the request and response encodings,
 * the Serve YAML loader (defaults, Ray's keys, errors with file, line and
 * key), and the configuration's round trip through the controller's
 * constructor argument.
 */
#include "libs/serve/serve_internal.h"
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_uri_split)
{
    char p[64], q[64];
    ck_assert_int_eq(serve_uri_split_("/a/b?x=1&y", 10, p, sizeof p, q, sizeof q), 0);
    ck_assert_str_eq(p, "/a/b");
    ck_assert_str_eq(q, "x=1&y");
    ck_assert_int_eq(serve_uri_split_("/", 1, p, sizeof p, q, sizeof q), 0);
    ck_assert_str_eq(p, "/");
    ck_assert_str_eq(q, "");
    ck_assert_int_eq(serve_uri_split_("a/b", 3, p, sizeof p, q, sizeof q), -1);
    ck_assert_int_eq(serve_uri_split_("/a\tb", 4, p, sizeof p, q, sizeof q), -1);
    ck_assert_int_eq(serve_uri_split_("/a#f", 4, p, sizeof p, q, sizeof q), -1);
    char longp[100];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    ck_assert_int_eq(serve_uri_split_(longp, sizeof longp, p, sizeof p, q, sizeof q), -1);
}
END_TEST

START_TEST(test_prefix)
{
    ck_assert(serve_prefix_match_("/", "/anything"));
    ck_assert(serve_prefix_match_("/echo", "/echo"));
    ck_assert(serve_prefix_match_("/echo", "/echo/x"));
    ck_assert(serve_prefix_match_("/echo/", "/echo/x"));
    ck_assert(!serve_prefix_match_("/echo", "/echox"));
    ck_assert(!serve_prefix_match_("/echo", "/ech"));
}
END_TEST

START_TEST(test_request_response)
{
    ray_value a[SERVE_REQ_NARGS];
    const char hdr[] = "Host: x\nX-Test: abc\n";
    serve_req_args_(a, "POST", "/p", "q=1", hdr, sizeof hdr - 1, "body", 4);
    ray_serve_request rq;
    ck_assert_int_eq(ray_serve_request_get(a, SERVE_REQ_NARGS, &rq), RAY_OK);
    ck_assert_str_eq(rq.method, "POST");
    ck_assert_str_eq(rq.path, "/p");
    ck_assert_str_eq(rq.query, "q=1");
    ck_assert_uint_eq(rq.body_len, 4);
    char v[8];
    ck_assert_int_eq(ray_serve_request_header(&rq, "x-test", v, sizeof v), 3);
    ck_assert_str_eq(v, "abc");
    ck_assert_int_eq(ray_serve_request_header(&rq, "Missing", v, sizeof v), -1);
    ck_assert_int_eq(ray_serve_request_get(a, 2, &rq), RAY_EINVAL);

    uint8_t resp[] = { 'R', 'S', 'V', '1', 0x01, 0xf4, 4, 't', 'e', 'x', 't', 'o', 'o', 'p', 's' };
    ray_value rv = RAY_BYTES_V(resp, sizeof resp);
    int st;
    const char *ct;
    size_t ctl, bl;
    const void *b;
    ck_assert_int_eq(serve_resp_decode_(&rv, &st, &ct, &ctl, &b, &bl), 0);
    ck_assert_int_eq(st, 500);
    ck_assert_uint_eq(ctl, 4);
    ck_assert_uint_eq(bl, 4);
    ck_assert(memcmp(b, "oops", 4) == 0);
    resp[6] = 200; /* content type past the end */
    ck_assert_int_eq(serve_resp_decode_(&rv, &st, &ct, &ctl, &b, &bl), -1);
    ray_value sv = RAY_S("plain");
    ck_assert_int_eq(serve_resp_decode_(&sv, &st, &ct, &ctl, &b, &bl), 0);
    ck_assert_int_eq(st, 200);
    ck_assert_uint_eq(bl, 5);
    ray_value iv = RAY_I(3);
    ck_assert_int_eq(serve_resp_decode_(&iv, &st, &ct, &ctl, &b, &bl), -1);
}
END_TEST

static struct serve_config cfg;

static int load(const char *text, char *err, size_t errlen)
{
    char warn[1024];
    return serve_config_load_("t.yaml", text, strlen(text), &cfg, err, errlen, warn, sizeof warn);
}

START_TEST(test_yaml_defaults_and_keys)
{
    char err[512];
    const char *y = "proxy_location: EveryNode\n"
                    "http_options: {host: 0.0.0.0, port: 9000, request_timeout_s: 2.5}\n"
                    "applications:\n"
                    "  - name: app\n"
                    "    route_prefix: /app\n"
                    "    import_path: mod:app\n"
                    "    deployments:\n"
                    "      - name: Ingress\n"
                    "        init_args: [1, 2.5, \"3\", true, x]\n"
                    "        autoscaling_config: {min_replicas: 1, max_replicas: 4, target_ongoing_requests: 3}\n"
                    "        ray_actor_options: {num_cpus: 0.5, resources: {gpu_slot: 1}, max_restarts: 2}\n"
                    "      - name: other\n"
                    "        actor_class: cls\n"
                    "        handler: run\n"
                    "        num_replicas: 3\n";
    ck_assert_int_eq(load(y, err, sizeof err), 0);
    ck_assert_int_eq(cfg.http.location, RAY_SERVE_EVERY_NODE);
    ck_assert_int_eq(cfg.http.port, 9000);
    ck_assert_str_eq(cfg.http.host, "0.0.0.0");
    ck_assert_uint_eq(cfg.napps, 1);
    struct serve_app_cfg *a = &cfg.apps[0];
    ck_assert_str_eq(a->route_prefix, "/app");
    ck_assert_uint_eq(a->ndeps, 2);
    ck_assert_str_eq(a->deps[0].cls, "Ingress");
    ck_assert_str_eq(a->deps[0].handler, "call");
    ck_assert(a->deps[0].autoscaling);
    ck_assert_int_eq(a->deps[0].as.max_replicas, 4);
    ck_assert_int_eq(a->deps[0].max_ongoing, 5);
    ck_assert_int_eq(a->deps[0].max_queued, -1);
    ck_assert_int_eq(a->deps[0].max_restarts, 2);
    ck_assert_str_eq(a->deps[0].resources, "gpu_slot=1");
    ck_assert_uint_eq(a->deps[0].nargs, 5);
    ck_assert_int_eq(a->deps[0].args[0].type, RAY_INT);
    ck_assert_int_eq(a->deps[0].args[1].type, RAY_FLOAT);
    ck_assert_int_eq(a->deps[0].args[2].type, RAY_STR);
    ck_assert_int_eq(a->deps[0].args[3].type, RAY_BOOL);
    ck_assert_str_eq(a->deps[1].cls, "cls");
    ck_assert_str_eq(a->deps[1].handler, "run");
    ck_assert_int_eq(a->deps[1].num_replicas, 3);
    ck_assert_int_eq(a->deps[1].max_restarts, -1);

    /* the controller's constructor argument gives the same application back */
    struct serve_arena *ar = serve_arena_new_();
    ray_value v = serve_app_encode_(a, &cfg.http, ar);
    static struct serve_app_cfg back;
    struct serve_http_cfg hb;
    ck_assert_int_eq(serve_app_decode_(&v, &back, &hb), 0);
    ck_assert_str_eq(back.name, "app");
    ck_assert_int_eq(back.deps[0].as.max_replicas, 4);
    ck_assert_str_eq(back.deps[0].args[2].s, "3");
    ck_assert_int_eq(hb.port, 9000);
    serve_arena_free_(ar);
}
END_TEST

START_TEST(test_yaml_errors)
{
    char err[512];
    ck_assert_int_eq(load("applications:\n  - name: x\n    deployments:\n      - name: d\n"
                          "        num_replicas: many\n", err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:5: key 'num_replicas': wants a number, got 'many'");
    ck_assert_int_eq(load("http_options: {port: 70000}\napplications: []\n", err, sizeof err), -1);
    ck_assert(strstr(err, "t.yaml:1: key 'port'") != NULL);
    ck_assert_int_eq(load("applications: [\n", err, sizeof err), -1);
    ck_assert(strstr(err, "bad YAML") != NULL);
    ck_assert_int_eq(load("applications:\n  - name: a\n    deployments:\n      - name: d\n"
                          "        num_replicas: 2\n        autoscaling_config: {max_replicas: 2}\n",
                          err, sizeof err), -1);
    ck_assert(strstr(err, "sets both num_replicas and autoscaling_config") != NULL);
    ck_assert_int_eq(load("applications:\n  - name: a\n    route_prefix: nope\n    deployments: [{name: d}]\n",
                          err, sizeof err), -1);
    ck_assert(strstr(err, "route_prefix 'nope' must start with '/'") != NULL);
    ck_assert_int_eq(load("applications:\n  - {name: a, deployments: [{name: d}]}\n"
                          "  - {name: a, deployments: [{name: e}]}\n", err, sizeof err), -1);
    ck_assert(strstr(err, "two applications are called 'a'") != NULL);
    ck_assert_uint_eq(cfg.napps, 0);
}
END_TEST

static Suite *serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_uri_split);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_request_response);
    tcase_add_test(tc, test_yaml_defaults_and_keys);
    tcase_add_test(tc, test_yaml_errors);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(serve_suite);
