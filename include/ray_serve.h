/*
 * ray_serve.h — Ray Serve for C jobs: HTTP endpoints backed by actor replicas.
 *
 * A *deployment* is a RAY_ACTOR class of the job library plus the RAY_METHOD
 * that handles one request, run as N *replicas* (detached actors). An
 * *application* groups deployments behind one route prefix; its *ingress*
 * (the first deployment) gets the HTTP requests, the others are reached
 * through *handles* (model composition). A *proxy* (an evhttp server in a
 * detached actor on the head, port 8000) routes each request by longest
 * prefix to a replica chosen by power of two choices on ongoing requests.
 * Deployments are detached: they outlive the job that made them. See
 * docs/serve.md for the guide and the design.
 *
 * A handler is a plain RAY_METHOD: it reads the request with
 * ray_serve_request_get and answers with ray_serve_respond (or
 * ray_serve_respond_alloc to write a large body in place):
 *
 *     static int echo_call(void *self, ray_task *t, const ray_value *a, size_t n)
 *     {
 *         ray_serve_request rq;
 *         if (ray_serve_request_get(a, n, &rq) != RAY_OK)
 *             return ray_fail(t, "%s", ray_last_error());
 *         return ray_serve_respond(t, 200, "text/plain", rq.body, rq.body_len);
 *     }
 *     RAY_METHOD(echo, call);
 *
 * Everything here is thread-safe, built on ray.h alone, and returns RAY_OK or
 * a negative RAY_E* code with ray_last_error() saying why.
 */
#ifndef RAY_SERVE_H
#define RAY_SERVE_H

#include <ray.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- requests and responses, inside a handler ----------------------------- */

/* One HTTP request as a handler sees it. Every pointer points into the
 * handler's arguments (the body into the node's shared memory when it is
 * large: no copy) and stays valid until the handler returns. Strings are
 * NUL-terminated. */
typedef struct {
    const char *method;   /* "GET", "POST", ... */
    const char *path;     /* the full path, route prefix included, "/echo/x" */
    const char *query;    /* after '?', still %-encoded; "" if none */
    const char *headers;  /* "Name: value\n" lines, as received */
    size_t headers_len;
    const void *body;     /* the request body (BYTES); NULL with body_len 0 if none */
    size_t body_len;
} ray_serve_request;

/* Fill *RQ from a handler's ARGS (what the proxy or a handle sent).
 * Returns RAY_OK, or RAY_EINVAL when the arguments are not a Serve request
 * (the method was called some other way). Owns nothing. */
int ray_serve_request_get(const ray_value *args, size_t nargs, ray_serve_request *rq);

/* The value of header NAME (case-insensitive) copied into OUT (LEN bytes,
 * truncated, NUL-terminated). Returns its full length, or -1 if absent. */
int ray_serve_request_header(const ray_serve_request *rq, const char *name, char *out,
                             size_t len);

/* Answer the request: HTTP STATUS (100-599), CONTENT_TYPE (NULL:
 * "text/plain"), and LEN bytes of BODY (copied). This is the task's return
 * value: call it once, as the handler's last step. Returns RAY_OK, or
 * RAY_EINVAL for a bad status or a content type over 255 bytes. */
int ray_serve_respond(ray_task *t, int status, const char *content_type, const void *body,
                      size_t len);

/* ray_serve_respond with a body of LEN bytes the handler writes in place at
 * *DATA (in shared memory for large bodies: the proxy sends it from there).
 * *DATA belongs to the task and is valid until the handler returns. */
int ray_serve_respond_alloc(ray_task *t, int status, const char *content_type, size_t len,
                            void **data);

/* A handler that returns a plain STR or BYTES (ray_return) answers 200 with
 * text/plain or application/octet-stream; NIL answers 200 with no body;
 * ray_fail answers 500 with the message. */

/* ---- deployments and applications ----------------------------------------- */

/* Autoscaling on the ongoing-requests signal (Ray's autoscaling_config). */
typedef struct {
    int min_replicas;               /* 1 */
    int max_replicas;               /* 1; must be >= min_replicas */
    double target_ongoing_requests; /* 2: per replica */
    double upscale_delay_s;         /* 30: the signal must ask for more this long */
    double downscale_delay_s;       /* 600: ... for fewer this long */
    double look_back_period_s;      /* 30: the smoothing window */
} ray_serve_autoscaling;

#define RAY_SERVE_AUTOSCALING ((ray_serve_autoscaling){ .min_replicas = 1, .max_replicas = 1, \
    .target_ongoing_requests = 2, .upscale_delay_s = 30, .downscale_delay_s = 600,             \
    .look_back_period_s = 30 })

typedef struct {
    const char *name;           /* unique in its application */
    const char *actor_class;    /* a RAY_ACTOR class of the job library */
    const char *handler;        /* its RAY_METHOD that answers requests; NULL: "call" */
    const ray_value *init_args; /* the class's constructor arguments (scalars, lists, maps) */
    size_t n_init_args;
    int num_replicas;           /* 1; ignored when autoscaling */
    bool autoscaling;           /* use autoscaling_config instead of num_replicas */
    ray_serve_autoscaling autoscaling_config;
    int max_ongoing_requests;   /* 5: requests one replica runs or holds at once */
    int max_queued_requests;    /* -1 (no limit): per proxy, past it 503 */
    ray_opts actor_options;     /* RAY_ACTOR_OPTS; detached and name are set by Serve;
                                   max_restarts -1 by default (a crashed replica restarts) */
} ray_serve_deployment;

/* RAY_SERVE_DEPLOYMENT: the defaults above. */
#define RAY_SERVE_DEPLOYMENT ((ray_serve_deployment){ .num_replicas = 1,                 \
    .autoscaling_config = RAY_SERVE_AUTOSCALING, .max_ongoing_requests = 5,              \
    .max_queued_requests = -1, .actor_options = { .num_cpus = 0, .num_returns = 1,       \
    .max_restarts = -1, .max_concurrency = 1, .bundle = -1 } })

typedef enum { RAY_SERVE_HEAD_ONLY, RAY_SERVE_EVERY_NODE, RAY_SERVE_NO_PROXY } ray_serve_proxy_location;

/* Ray's http_options and proxy_location. */
typedef struct {
    const char *host;          /* "0.0.0.0" in Ray; ours: NULL = "127.0.0.1" (secure by default) */
    int port;                  /* 8000 */
    double request_timeout_s;  /* 0: none; past it 504 */
    ray_serve_proxy_location location; /* HEAD_ONLY */
} ray_serve_http_options;

#define RAY_SERVE_HTTP_OPTIONS ((ray_serve_http_options){ .port = 8000 })

typedef struct {
    const char *name;          /* "default" if NULL */
    const char *route_prefix;  /* "/" if NULL; "" or "none": not reachable over HTTP */
    const ray_serve_deployment *deployments; /* the first is the ingress */
    size_t n_deployments;
} ray_serve_application;

/* Deploy APP (replacing an application of the same name, whose replicas
 * drain first) and start the proxy HTTP asks for if none runs yet (NULL:
 * RAY_SERVE_HTTP_OPTIONS; the options of a running proxy are not changed;
 * from C the proxy starts on the caller's node). Returns once the
 * application's controller has started its replicas and every proxy has
 * its routes (at most about 60 s, then RAY_ETIMEOUT). Replicas are actors
 * of the calling job's library and outlive the job. RAY_EINVAL for a bad
 * application (ray_last_error names the field) or an actor class the job
 * library lacks; a handler method it lacks answers the first request 500. */
int ray_serve_run(const ray_serve_application *app, const ray_serve_http_options *http);

/* Delete application NAME: its routes go first, ongoing requests finish,
 * then its replicas and controller stop. RAY_ENOTFOUND if none. */
int ray_serve_delete(const char *name);

/* A text report of every application, deployment and replica (state,
 * ongoing and total requests), as `ray serve status` prints it. *TEXT is
 * malloc'd, the caller frees it. RAY_ENOTFOUND when Serve is not running. */
int ray_serve_status(char **text);

/* ---- handles: calling a deployment from code (composition) ----------------- */

typedef struct ray_serve_handle ray_serve_handle;

/* A handle on deployment DEPLOYMENT of application APP. Routes like the
 * proxy (power of two choices on this handle's ongoing calls); the replica
 * set is refreshed from the application's controller about once a second,
 * and the handle's load reported with it (the deployment's autoscaling
 * signal when it is not the ingress).
 * Returns RAY_ENOTFOUND for an unknown application or deployment. The
 * caller owns *OUT (ray_serve_handle_free). */
int ray_serve_handle_get(const char *app, const char *deployment, ray_serve_handle **out);

/* A response: STATUS, CONTENT_TYPE and BODY point into memory the response
 * holds until ray_serve_response_release. */
typedef struct {
    int status;
    const char *content_type;
    const void *body;
    size_t body_len;
    ray_value v_; /* internal */
} ray_serve_response;

/* Send RQ (method, path, query, headers, body; NULL fields are empty) to a
 * replica and wait up to TIMEOUT_MS (< 0: forever) for its answer. A handler
 * that failed answers status 500 with its message as the body (RAY_OK);
 * RAY_ETIMEOUT, RAY_EACTOR (the replica died; a GET is retried once on
 * another replica first). */
int ray_serve_handle_request(ray_serve_handle *h, const ray_serve_request *rq,
                             int64_t timeout_ms, ray_serve_response *out);
void ray_serve_response_release(ray_serve_response *r);
void ray_serve_handle_free(ray_serve_handle *h); /* NULL: no-op */

#ifdef __cplusplus
}
#endif

#endif
