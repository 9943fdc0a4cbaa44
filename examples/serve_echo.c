/*
 * serve_echo.c — a complete Serve example (docs/serve.md): deployment
 * "echo" answers every request with its method, path, query and body;
 * deployment "adder" (composition) is called by "echo" through a handle
 * for /echo/add?N, and adds its init argument to N.
 *
 *   cc -shared -fPIC -Iinclude examples/serve_echo.c -o serve_echo.so
 *   ray serve deploy serve_echo.so examples/serve_echo.yaml
 *   curl -d hello http://127.0.0.1:8000/echo/x?y=1
 *   curl http://127.0.0.1:8000/echo/add?5
 *
 * Its ray_main does the same from C: ray submit serve_echo.so
 */
#include <ray.h>
#include <ray_serve.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct echo {
    ray_serve_handle *adder; /* made on first use */
};

static void *echo_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    (void)args;
    (void)nargs;
    return calloc(1, sizeof(struct echo));
}

static void echo_free(void *self)
{
    struct echo *e = self;
    ray_serve_handle_free(e->adder);
    free(e);
}

static int echo_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct echo *e = self;
    ray_serve_request rq;
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    if (strcmp(rq.path, "/echo/add") == 0) { /* composition: ask the adder */
        if (e->adder == NULL && ray_serve_handle_get("echo", "adder", &e->adder) != RAY_OK)
            return ray_fail(t, "no adder: %s", ray_last_error());
        ray_serve_request sub = { .method = "GET", .path = "/", .query = rq.query };
        ray_serve_response resp;
        if (ray_serve_handle_request(e->adder, &sub, 10000, &resp) != RAY_OK)
            return ray_fail(t, "adder: %s", ray_last_error());
        int rc = ray_serve_respond(t, resp.status, resp.content_type, resp.body, resp.body_len);
        ray_serve_response_release(&resp);
        return rc;
    }
    char head[4352];
    int n = snprintf(head, sizeof head, "%s %s?%s\n", rq.method, rq.path, rq.query);
    void *out;
    int rc = ray_serve_respond_alloc(t, 200, "text/plain", (size_t)n + rq.body_len, &out);
    if (rc != RAY_OK)
        return rc;
    memcpy(out, head, (size_t)n);
    if (rq.body_len)
        memcpy((char *)out + n, rq.body, rq.body_len);
    return RAY_OK;
}
RAY_ACTOR(echo);
RAY_METHOD(echo, call);

/* adder(base): answers base + N for the query "N" */
struct adder {
    long long base;
};

static void *adder_new(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)t;
    struct adder *a = calloc(1, sizeof *a);
    if (a && nargs > 0 && args[0].type == RAY_INT)
        a->base = args[0].as.i;
    return a;
}

static void adder_free(void *self) { free(self); }

static int adder_call(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    struct adder *a = self;
    ray_serve_request rq;
    if (ray_serve_request_get(args, nargs, &rq) != RAY_OK)
        return ray_fail(t, "%s", ray_last_error());
    char *end;
    long long x = strtoll(rq.query, &end, 10);
    if (!rq.query[0] || *end)
        return ray_fail(t, "adder wants a number, got '%s'", rq.query);
    char out[64];
    int n = snprintf(out, sizeof out, "%lld\n", a->base + x);
    return ray_serve_respond(t, 200, "text/plain", out, (size_t)n);
}
RAY_ACTOR(adder);
RAY_METHOD(adder, call);

/* `ray submit serve_echo.so [PORT]`: the same application from C. */
int ray_main(int argc, char **argv)
{
    ray_serve_deployment deps[2] = { RAY_SERVE_DEPLOYMENT, RAY_SERVE_DEPLOYMENT };
    deps[0].name = "echo";
    deps[0].actor_class = "echo";
    deps[0].num_replicas = 2;
    ray_value base = RAY_I(100);
    deps[1].name = "adder";
    deps[1].actor_class = "adder";
    deps[1].init_args = &base;
    deps[1].n_init_args = 1;
    ray_serve_application app = { .name = "echo", .route_prefix = "/echo", .deployments = deps,
                                  .n_deployments = 2 };
    ray_serve_http_options http = RAY_SERVE_HTTP_OPTIONS;
    if (argc > 1)
        http.port = atoi(argv[1]);
    int rc = ray_serve_run(&app, &http);
    printf("ray_serve_run: %s%s%s\n", ray_strerror(rc), rc ? ": " : "", rc ? ray_last_error() : "");
    return rc == RAY_OK ? 0 : 1;
}
