/*
 * serve_internal.h — what the files of libs/serve share: the request and
 * response encodings (serve_codec.c), the owned form of a configuration and
 * its YAML loader (serve_config.c), and the names of Serve's actors.
 * Nothing here is public; include/ray_serve.h is.
 */
#ifndef RAY_SERVE_INTERNAL_H
#define RAY_SERVE_INTERNAL_H

#include <ray.h>
#include <ray_serve.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Actor names (cluster-wide): the proxy of a node, an application's
 * controller, a replica. */
#define SERVE_PROXY_NAME "SERVE_PROXY"               /* + ":" node IP for EveryNode */
#define SERVE_CONTROLLER_PREFIX "SERVE_CONTROLLER:"  /* + app */
#define SERVE_REPLICA_PREFIX "SERVE_REPLICA:"        /* + app ":" deployment ":" index */
extern const char serve_proxy_class_[];      /* "ray_serve_proxy" */
extern const char serve_controller_class_[]; /* "ray_serve_controller" */

#define SERVE_NAME_MAX 64
#define SERVE_MAX_DEPLOYMENTS 16
#define SERVE_MAX_INIT_ARGS 16
#define SERVE_MAX_REPLICAS 64
#define SERVE_MAX_APPS 32
#define SERVE_MAX_PROXIES 16

/* ---- the request: five arguments of the handler's call ---------------------
 *   0 STR method   1 STR path   2 STR query   3 BYTES headers   4 BYTES body
 * (a large body travels as a REF to a ray_put object: the replica maps it). */
#define SERVE_REQ_NARGS 5

/* Split URI ("/a/b?x=1", as evhttp gives it) into PATH and QUERY (each
 * NUL-terminated, at most PLEN / QLEN bytes with the NUL). Returns 0, or -1
 * when the URI is not an absolute path, holds a NUL or a control byte, or
 * does not fit. Never allocates. */
int serve_uri_split_(const char *uri, size_t len, char *path, size_t plen, char *query,
                     size_t qlen);

/* The five arguments of a request (STR method, path, query; BYTES headers;
 * BYTES body or NIL). They point at the strings and buffers given. */
void serve_req_args_(ray_value args[SERVE_REQ_NARGS], const char *method, const char *path,
                     const char *query, const void *headers, size_t hlen, const void *body,
                     size_t blen);

/* An evhttp request into the parts of a Serve request (serve_http.c): its
 * METHOD name, PATH and QUERY (serve_uri_split_), its headers as
 * "Name: value\n" lines appended to HEADERS, and its body moved (not copied)
 * into BODY. Returns 0, 400 (a bad target, or a header with a control
 * byte) or 405 (a method Serve does not pass on). Takes nothing over. */
struct evhttp_request;
struct evbuffer;
int serve_http_parts_(struct evhttp_request *req, char *method, size_t mlen, char *path,
                      size_t plen, char *query, size_t qlen, struct evbuffer *headers,
                      struct evbuffer *body);

/* Longest-prefix match: true if PATH falls under PREFIX ("/" matches all;
 * "/a" matches "/a", "/a/..." and "/a?..." but not "/ab"). */
bool serve_prefix_match_(const char *prefix, const char *path);

/* ---- the response: one BYTES value ------------------------------------------
 *   "RSV1" | status (2 bytes, big-endian) | ctype length (1 byte) | ctype | body */
#define SERVE_RESP_MAGIC "RSV1"
#define SERVE_RESP_HDR 7
/* Decode a handler's return value V: fills STATUS, CTYPE (CTLEN bytes, not
 * NUL-terminated), BODY. A plain STR/BYTES/NIL answers 200 (see ray_serve.h).
 * Returns 0, or -1 for any other value. Pointers point into V. */
int serve_resp_decode_(const ray_value *v, int *status, const char **ctype, size_t *ctlen,
                       const void **body, size_t *blen);

/* ---- configuration, owned ---------------------------------------------------- */
struct serve_arg {
    ray_type type; /* NIL, BOOL, INT, FLOAT, STR */
    bool b;
    int64_t i;
    double f;
    char s[256];
};

struct serve_dep_cfg {
    char name[SERVE_NAME_MAX], cls[SERVE_NAME_MAX], handler[SERVE_NAME_MAX];
    struct serve_arg args[SERVE_MAX_INIT_ARGS];
    size_t nargs;
    int num_replicas;
    bool autoscaling;
    ray_serve_autoscaling as;
    int max_ongoing, max_queued;
    double num_cpus, num_gpus, memory;
    char resources[256];
    int max_restarts;
};

struct serve_app_cfg {
    char name[SERVE_NAME_MAX];
    char route_prefix[128]; /* "" = no HTTP route */
    struct serve_dep_cfg deps[SERVE_MAX_DEPLOYMENTS];
    size_t ndeps;
};

struct serve_http_cfg {
    char host[64];
    int port;
    double request_timeout_s;
    ray_serve_proxy_location location;
    bool addr_given; /* host or port was asked for (else: wherever the proxy runs) */
};

struct serve_config {
    struct serve_http_cfg http;
    struct serve_app_cfg apps[SERVE_MAX_APPS];
    size_t napps;
};

/* Load Ray's Serve config schema (proxy_location, http_options,
 * applications[] with name, route_prefix, deployments[]) from the YAML text
 * TEXT (LEN bytes; FILE names it in messages) into *C. Unknown keys are one
 * warning line each into WARN (may be NULL; WLEN bytes, lines appended).
 * Returns 0, or -1 with ERR = "FILE:LINE: key 'K': what is wrong". */
int serve_config_load_(const char *file, const char *text, size_t len, struct serve_config *c,
                       char *err, size_t errlen, char *warn, size_t wlen);

/* Check one application and fill defaults; -1 with ERR naming the field. */
int serve_app_check_(struct serve_app_cfg *a, char *err, size_t errlen);

/* The public application (ray_serve.h) in the owned form; -1 with ERR. */
int serve_app_from_public_(const ray_serve_application *app, struct serve_app_cfg *out,
                           char *err, size_t errlen);
void serve_http_from_public_(const ray_serve_http_options *h, struct serve_http_cfg *out);

/* The owned form as one value (the controller's constructor argument, kept
 * in the GCS actor directory with the actor), and back. The value's arrays
 * are allocated in ARENA (serve_arena_free); out of memory gives a NIL value. */
struct serve_arena;
struct serve_arena *serve_arena_new_(void);
void serve_arena_free_(struct serve_arena *a);
ray_value serve_app_encode_(const struct serve_app_cfg *a, const struct serve_http_cfg *h,
                            struct serve_arena *arena);
int serve_app_decode_(const ray_value *v, struct serve_app_cfg *a, struct serve_http_cfg *h);
/* An init argument as a ray_value (STR points into ARG). */
ray_value serve_arg_value_(const struct serve_arg *arg);

/* Deploy CFG as application (what ray_serve_run and `ray serve deploy` do;
 * the caller is a driver of the job library). PROXY_NODES names the node IPs
 * to start proxies on (NULL, 0: the caller's own node... see serve.c).
 * WHERE (may be NULL) gets the host and port the first proxy listens on:
 * HTTP's when it names them, else the running proxy's. Returns RAY_OK or an
 * error (ray_last_error says why: also a proxy that serves applications on
 * another address than HTTP names). */
int serve_deploy_(const struct serve_app_cfg *cfg, const struct serve_http_cfg *http,
                  const char *const *proxy_ips, size_t nproxy, struct serve_http_cfg *where);

/* Monotonic seconds. */
double serve_now_(void);

#endif
