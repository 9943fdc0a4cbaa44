/*
 * serve_http.c — an HTTP request (as evhttp parsed it) into the parts of a
 * Serve request: what reaches a handler from the network. Kept apart from
 * the proxy so the fuzzer (tests/fuzz/fuzz_serve_http.c) runs exactly this
 * code behind a real evhttp parser.
 */
#include "libs/serve/serve_internal.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <stdio.h>
#include <string.h>

void serve_req_args_(ray_value args[SERVE_REQ_NARGS], const char *method, const char *path,
                     const char *query, const void *headers, size_t hlen, const void *body,
                     size_t blen)
{
    args[0] = RAY_S(method);
    args[1] = RAY_S(path);
    args[2] = RAY_S(query);
    args[3] = RAY_BYTES_V(headers && hlen ? headers : "", headers ? hlen : 0);
    args[4] = blen ? RAY_BYTES_V(body, blen) : RAY_NIL_V;
}

static bool text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

int serve_http_parts_(struct evhttp_request *req, char *method, size_t mlen, char *path,
                      size_t plen, char *query, size_t qlen, struct evbuffer *headers,
                      struct evbuffer *body)
{
    const char *m;
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: m = "GET"; break;
    case EVHTTP_REQ_POST: m = "POST"; break;
    case EVHTTP_REQ_HEAD: m = "HEAD"; break;
    case EVHTTP_REQ_PUT: m = "PUT"; break;
    case EVHTTP_REQ_DELETE: m = "DELETE"; break;
    case EVHTTP_REQ_OPTIONS: m = "OPTIONS"; break;
    case EVHTTP_REQ_PATCH: m = "PATCH"; break;
    default: return 405;
    }
    snprintf(method, mlen, "%s", m);
    const char *uri = evhttp_request_get_uri(req);
    if (uri == NULL || serve_uri_split_(uri, strlen(uri), path, plen, query, qlen) < 0)
        return 400;
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = hs ? hs->tqh_first : NULL; kv; kv = kv->next.tqe_next) {
        if (!text_ok(kv->key) || !text_ok(kv->value) || strchr(kv->key, ':'))
            return 400;
        evbuffer_add(headers, kv->key, strlen(kv->key));
        evbuffer_add(headers, ": ", 2);
        evbuffer_add(headers, kv->value, strlen(kv->value));
        evbuffer_add(headers, "\n", 1);
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    if (in)
        evbuffer_add_buffer(body, in); /* moves the chains: no copy */
    return 0;
}
