/*
 * nodes.c — the CLI talking to nodes themselves (not the GCS): connect to a
 * node as PROTO_ROLE_CLI (its Unix socket when its session is on this
 * machine, else its TCP port), send a request, read the answers. Used by
 * `ray logs`, `ray memory` and `ray status -v` (runtime/observe.c answers).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "gcs/gcs.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_node_open(struct cli_node_conn *nc, const struct gcs_node *nd, const char *token,
                  char *err, size_t errlen)
{
    nc->fd = -1;
    proto_decoder_init(&nc->dec, PROTO_MAX_FRAME);
    char sock[4096];
    snprintf(sock, sizeof sock, "%s/sockets/raylet.sock", nd->session_dir);
    if (access(sock, F_OK) == 0)
        nc->fd = net_connect_unix(sock, err, errlen);
    if (nc->fd < 0)
        nc->fd = net_connect_tcp(nd->address, nd->port, 5000, err, errlen);
    if (nc->fd < 0)
        return -1;
    struct buf hello = BUF_INIT, frame = BUF_INIT;
    mpw_map(&hello, 0);
    proto_pack(&frame, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)PROTO_ROLE_CLI, token,
               (uint64_t)getpid(), hello.data, hello.len);
    int rc = net_write_all(nc->fd, frame.data, frame.len);
    buf_free(&hello);
    buf_free(&frame);
    if (rc < 0) {
        snprintf(err, errlen, "node %.8s: %s", nd->node_id, strerror(errno));
        cli_node_close(nc);
        return -1;
    }
    struct proto_msg m;
    int r = cli_node_next(nc, &m, 5000);
    if (r == 1 && m.type == PROTO_HELLO_OK)
        return 0;
    if (r == 1 && m.type == PROTO_ERROR)
        snprintf(err, errlen, "node %.8s: %.*s", nd->node_id, (int)m.f[1].as.s.len,
                 m.f[1].as.s.ptr);
    else
        snprintf(err, errlen, "node %.8s at %s:%d did not answer", nd->node_id, nd->address,
                 nd->port);
    cli_node_close(nc);
    return -1;
}

int cli_node_send(struct cli_node_conn *nc, const struct buf *frame)
{
    return net_write_all(nc->fd, frame->data, frame->len);
}

int cli_node_next(struct cli_node_conn *nc, struct proto_msg *m, int timeout_ms)
{
    long long deadline = timeout_ms < 0 ? 0 : net_now_ms() + timeout_ms;
    for (;;) {
        int rc = proto_decoder_next(&nc->dec, m);
        if (rc == PROTO_OK)
            return 1;
        if (rc == PROTO_BAD)
            return -1;
        int wait = -1;
        if (timeout_ms >= 0) {
            long long left = deadline - net_now_ms();
            if (left <= 0)
                return -2;
            wait = (int)left;
        }
        struct pollfd p = { nc->fd, POLLIN, 0 };
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -2;
        char chunk[65536];
        ssize_t n = read(nc->fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        proto_decoder_feed(&nc->dec, chunk, (size_t)n);
    }
}

void cli_node_close(struct cli_node_conn *nc)
{
    if (nc->fd >= 0)
        close(nc->fd);
    nc->fd = -1;
    proto_decoder_free(&nc->dec);
}
