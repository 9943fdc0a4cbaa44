/*
 * job_serve.c — the deployments test_serve.sh and `make bench` serve:
 *   echo     answers "METHOD PATH?QUERY\n" + the body; /echo/add?N asks
 *            deployment "adder" through a handle (composition)
 *   adder    base (init arg) + N
 *   front    passes the request to deployment "back" of application "chain"
 *            through a handle (composition under load, handle-driven autoscaling)
 *   compute  /compute?n=N: the sum of squares 1..N; /compute/pid: its pid;
 *            /compute/fail: ray_fail with a message (500)
 *   slow     sleeps ?ms=N milliseconds, then answers its pid
 *   noop     answers "ok" (the benchmark's handler)
 */
#include <ray.h>
#include <ray_serve.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *plain_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t;
    long long base = n > 0 && a[0].type == RAY_INT ? a[0].as.i : 0;
    long long *self = malloc(sizeof *self);
    if (self)
        *self = base;
    return self;
}
static void plain_free(void *self) { free(self); }

#define CLASS(c)                                                                     \
    static void *c##_new(ray_task *t, const ray_value *a, size_t n) { return plain_new(t, a, n); } \
    static void c##_free(void *self) { plain_free(self); }                          \
    RAY_ACTOR(c)

CLASS(echo);
CLASS(adder);
CLASS(compute);
CLASS(slow);
CLASS(noop);
CLASS(front);

static ray_serve_handle *adder_h;

static int echo_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    ray_serve_request rq;
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    if (strcmp(rq.path, "/echo/add") == 0) {
        if (adder_h == NULL && ray_serve_handle_get("echo", "adder", &adder_h) != RAY_OK)
            return ray_fail(t, "no adder: %s", ray_last_error());
        ray_serve_request sub = { .method = "GET", .path = "/", .query = rq.query };
        ray_serve_response resp;
        if (ray_serve_handle_request(adder_h, &sub, 10000, &resp) != RAY_OK)
            return ray_fail(t, "adder: %s", ray_last_error());
        int rc = ray_serve_respond(t, resp.status, resp.content_type, resp.body, resp.body_len);
        ray_serve_response_release(&resp);
        return rc;
    }
    char head[8192];
    int n = snprintf(head, sizeof head, "%s %s?%s\n", rq.method, rq.path, rq.query);
    if (rq.body_len > 0) { /* a body is answered alone, written in place */
        void *out;
        int rc = ray_serve_respond_alloc(t, 200, "application/octet-stream", rq.body_len, &out);
        if (rc == RAY_OK)
            memcpy(out, rq.body, rq.body_len);
        return rc;
    }
    char ua[128];
    if (ray_serve_request_header(&rq, "X-Test", ua, sizeof ua) >= 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "x-test=%s\n", ua);
    return ray_serve_respond(t, 200, "text/plain", head, (size_t)n);
}
RAY_METHOD(echo, call);

static int adder_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    long long *base = self;
    ray_serve_request rq;
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    char *end;
    long long x = strtoll(rq.query, &end, 10);
    if (!rq.query[0] || *end)
        return ray_fail(t, "adder wants a number, got '%s'", rq.query);
    char out[64];
    int n = snprintf(out, sizeof out, "%lld\n", *base + x);
    return ray_serve_respond(t, 200, "text/plain", out, (size_t)n);
}
RAY_METHOD(adder, call);

static int compute_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    ray_serve_request rq;
    char out[128];
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    if (strcmp(rq.path, "/compute/fail") == 0)
        return ray_fail(t, "compute refuses %s on purpose", rq.path);
    if (strcmp(rq.path, "/compute/pid") == 0) {
        int n = snprintf(out, sizeof out, "%d\n", (int)getpid());
        return ray_serve_respond(t, 200, "text/plain", out, (size_t)n);
    }
    long long nmax = 1000;
    if (strncmp(rq.query, "n=", 2) == 0)
        nmax = atoll(rq.query + 2);
    long long s = 0;
    for (long long i = 1; i <= nmax; i++)
        s += i * i;
    int n = snprintf(out, sizeof out, "%lld\n", s);
    return ray_serve_respond(t, 200, "application/json", out, (size_t)n);
}
RAY_METHOD(compute, call);

static int slow_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    ray_serve_request rq;
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    long ms = 100;
    if (strncmp(rq.query, "ms=", 3) == 0)
        ms = atol(rq.query + 3);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    char out[64];
    int n = snprintf(out, sizeof out, "slept %ld pid %d\n", ms, (int)getpid());
    return ray_serve_respond(t, 200, "text/plain", out, (size_t)n);
}
RAY_METHOD(slow, call);

static int noop_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    return ray_serve_respond(t, 200, "text/plain", "ok\n", 3);
}
RAY_METHOD(noop, call);

/* front: passes the request on to deployment "back" of application
 * "chain" through a handle (composition under load) */
static ray_serve_handle *back_h;

static int front_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    (void)self;
    ray_serve_request rq;
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    if (back_h == NULL && ray_serve_handle_get("chain", "back", &back_h) != RAY_OK)
        return ray_fail(t, "no back: %s", ray_last_error());
    ray_serve_response resp;
    if (ray_serve_handle_request(back_h, &rq, 10000, &resp) != RAY_OK)
        return ray_fail(t, "back: %s", ray_last_error());
    int rc = ray_serve_respond(t, resp.status, resp.content_type, resp.body, resp.body_len);
    ray_serve_response_release(&resp);
    return rc;
}
RAY_METHOD(front, call);

/* ray submit job_serve.so PORT: ray_serve_run from C, then a handle call. */
int ray_main(int argc, char **argv)
{
    ray_serve_deployment d = RAY_SERVE_DEPLOYMENT;
    d.name = "capi";
    d.actor_class = "compute";
    ray_serve_application app = { .name = "capi", .route_prefix = "/capi", .deployments = &d,
                                  .n_deployments = 1 };
    ray_serve_http_options http = RAY_SERVE_HTTP_OPTIONS;
    if (argc > 1)
        http.port = atoi(argv[1]);
    int rc = ray_serve_run(&app, &http);
    printf("ray_serve_run: %s\n", rc == RAY_OK ? "ok" : ray_last_error());
    ray_serve_handle *h;
    if (rc == RAY_OK && (rc = ray_serve_handle_get("capi", "capi", &h)) == RAY_OK) {
        ray_serve_request rq = { .method = "GET", .path = "/capi", .query = "n=3" };
        ray_serve_response resp;
        rc = ray_serve_handle_request(h, &rq, 10000, &resp);
        if (rc == RAY_OK) {
            printf("handle: %d %.*s", resp.status, (int)resp.body_len, (const char *)resp.body);
            ray_serve_response_release(&resp);
        }
        ray_serve_handle_free(h);
    }
    ray_serve_deployment bad = RAY_SERVE_DEPLOYMENT;
    bad.name = "bad";
    bad.actor_class = "no_such_class";
    ray_serve_application badapp = { .name = "bad", .route_prefix = "/bad", .deployments = &bad,
                                     .n_deployments = 1 };
    int brc = ray_serve_run(&badapp, &http);
    printf("bad class: %s: %s\n", ray_strerror(brc), ray_last_error());
    return rc == RAY_OK ? 0 : 1;
}
