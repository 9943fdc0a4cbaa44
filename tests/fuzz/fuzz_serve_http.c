/*
 * fuzz_serve_http.c — libFuzzer target for what reaches a Serve handler
 * from the network: each input is the bytes a client sends to the proxy.
 * They go, over a real loopback connection, to a real evhttp server whose
 * callback is the proxy's conversion (serve_http_parts_, serve_req_args_)
 * followed by the handler's side (ray_serve_request_get,
 * ray_serve_request_header) and the response decoder (serve_resp_decode_)
 * on a response built from the request's own bytes. Checked:
 *   - a converted request has a known method, a path starting with '/'
 *     holding no '?', '#' or control byte, and a query without control bytes;
 *   - the header block is "Name: value\n" lines, each found again by
 *     ray_serve_request_header under its own name;
 *   - the body is exactly the bytes evhttp read;
 *   - serve_prefix_match_ never matches a path that does not start with
 *     the prefix, and "/" matches every path;
 *   - serve_resp_decode_ never points outside its value.
 */
#include "libs/serve/serve_internal.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* api/errors.c's ray_node_id / ray_job_id need these; no client here */
const char *api_client_node_hex_(void);
const char *api_client_job_hex_(void);
const char *api_client_node_hex_(void) { return ""; }
const char *api_client_job_hex_(void) { return ""; }

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

static struct event_base *base;
static struct evhttp *http;
static int port;

static void check_request(struct evhttp_request *req)
{
    char method[16], path[2048], query[4096];
    struct evbuffer *h = evbuffer_new(), *b = evbuffer_new();
    size_t in_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    int bad = serve_http_parts_(req, method, sizeof method, path, sizeof path, query, sizeof query,
                                h, b);
    if (bad) {
        FUZZ_CHECK(bad == 400 || bad == 405);
        evhttp_send_reply(req, bad, "no", NULL);
        evbuffer_free(h);
        evbuffer_free(b);
        return;
    }
    FUZZ_CHECK(evbuffer_get_length(b) == in_len);
    size_t hl = evbuffer_get_length(h), bl = evbuffer_get_length(b);
    const char *hp = (const char *)evbuffer_pullup(h, -1);
    const void *bp = evbuffer_pullup(b, -1);
    ray_value args[SERVE_REQ_NARGS];
    serve_req_args_(args, method, path, query, hp, hl, bp, bl);
    ray_serve_request rq;
    FUZZ_CHECK(ray_serve_request_get(args, SERVE_REQ_NARGS, &rq) == RAY_OK);
    FUZZ_CHECK(rq.path[0] == '/' && strpbrk(rq.path, "?#") == NULL);
    for (const char *p = rq.path; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    for (const char *p = rq.query; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    FUZZ_CHECK(rq.body_len == bl);
    FUZZ_CHECK(serve_prefix_match_("/", rq.path));
    if (serve_prefix_match_("/a/b", rq.path))
        FUZZ_CHECK(strncmp(rq.path, "/a/b", 4) == 0);
    /* every header line is found again under its name */
    const char *p = hp, *end = hp ? hp + hl : NULL;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        FUZZ_CHECK(nl != NULL);
        const char *colon = memchr(p, ':', (size_t)(nl - p));
        FUZZ_CHECK(colon != NULL);
        char name[256], val[64];
        size_t nlen = (size_t)(colon - p);
        if (nlen > 0 && nlen < sizeof name) {
            memcpy(name, p, nlen);
            name[nlen] = '\0';
            FUZZ_CHECK(ray_serve_request_header(&rq, name, val, sizeof val) >= 0);
        }
        p = nl + 1;
    }
    /* the response decoder over the body's bytes, as if a handler returned them */
    ray_value v = bl ? RAY_BYTES_V(bp, bl) : RAY_NIL_V;
    int st;
    const char *ct;
    size_t ctl, rbl;
    const void *rb;
    if (serve_resp_decode_(&v, &st, &ct, &ctl, &rb, &rbl) == 0 && bl) {
        FUZZ_CHECK(st >= 100 && st <= 599);
        FUZZ_CHECK((const char *)rb + rbl == (const char *)bp + bl);
        FUZZ_CHECK(ct >= (const char *)bp || ctl == strlen(ct));
    }
    evhttp_send_reply(req, 200, "OK", NULL);
    evbuffer_free(h);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    check_request(req);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    base = event_base_new();
    http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, NULL);
    evhttp_set_max_body_size(http, 1 << 20);
    evhttp_set_allowed_methods(http, 0x7fff);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (bs == NULL)
        abort();
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    port = ntohs(sa.sin_port);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    shutdown(fd, SHUT_WR);
    /* run the server until it closes the connection (or 200 turns) */
    char buf[4096];
    for (int i = 0; i < 200; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0)
            break;
    }
    close(fd);
    for (int i = 0; i < 4; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}
