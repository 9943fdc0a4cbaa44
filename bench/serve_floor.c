/*
 * serve_floor.c — the floor for Serve's benchmark: a plain evhttp
 * hello-world server (one thread, one event loop, "ok\n" to every request),
 * measured with the same wrk command in the same run as the proxy.
 *   serve_floor PORT
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>

static void hello(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, "ok\n", 3);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: serve_floor PORT\n");
        return 2;
    }
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, hello, NULL);
    if (evhttp_bind_socket(http, "127.0.0.1", (unsigned short)atoi(argv[1])) != 0) {
        fprintf(stderr, "serve_floor: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    event_base_dispatch(base);
    return 0;
}
