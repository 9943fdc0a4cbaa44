/*
 * runtime.c — the node's runtime: accepts authenticated peers and answers the
 * administrative messages (node info). Tasks, objects, actors and jobs are
 * added by the files of issue 3.
 */
#include "daemon/runtime.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "daemon/node.h"
#include "daemon/server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct runtime {
    struct node *n;
};

static void info_map(struct node *n, struct buf *b)
{
    struct buf tot = BUF_INIT, av = BUF_INIT;
    res_format(&n->total, &tot);
    buf_append(&tot, "", 1);
    res_format(&n->avail, &av);
    buf_append(&av, "", 1);
    mpw_map(b, 8);
    mpw_cstr(b, "node_id");
    mpw_cstr(b, n->hex);
    mpw_cstr(b, "node_ip");
    mpw_cstr(b, n->ip);
    mpw_cstr(b, "session_dir");
    mpw_cstr(b, n->session_dir);
    mpw_cstr(b, "store");
    mpw_cstr(b, n->store_name);
    mpw_cstr(b, "store_size");
    mpw_uint(b, n->store_size);
    mpw_cstr(b, "resources_total");
    mpw_cstr(b, tot.data);
    mpw_cstr(b, "resources_available");
    mpw_cstr(b, av.data);
    mpw_cstr(b, "pid");
    mpw_uint(b, (uint64_t)getpid());
    buf_free(&tot);
    buf_free(&av);
}

static int rt_hello(struct conn *c, const struct proto_msg *m, uint64_t role, void *arg)
{
    struct runtime *rt = arg;
    (void)m;
    switch (role) {
    case PROTO_ROLE_CLI:
    case PROTO_ROLE_NODE:
    case PROTO_ROLE_DRIVER:
    case PROTO_ROLE_WORKER:
        break;
    default:
        conn_fail(c, -1, "unknown role %llu", (unsigned long long)role);
        return -1;
    }
    struct buf info = BUF_INIT;
    info_map(rt->n, &info);
    int rc = conn_send(c, PROTO_HELLO_OK, (uint64_t)PROTO_VERSION, rt->n->hex, info.data, info.len);
    buf_free(&info);
    return rc;
}

static int rt_node_info(struct conn *c, const struct proto_msg *m, void *arg)
{
    struct runtime *rt = arg;
    struct buf info = BUF_INIT;
    info_map(rt->n, &info);
    int rc = conn_send(c, PROTO_NODE_INFO, m->f[0].as.u, info.data, info.len);
    buf_free(&info);
    return rc;
}

struct runtime *runtime_new(struct node *n)
{
    struct runtime *rt = xcalloc(1, sizeof *rt);
    rt->n = n;
    server_on_hello(n->srv, rt_hello, rt);
    server_on(n->srv, PROTO_NODE_INFO_REQ, rt_node_info, rt);
    return rt;
}

void runtime_stop(struct runtime *rt)
{
    (void)rt;
}

void runtime_free(struct runtime *rt)
{
    free(rt);
}

long long runtime_queue_len(const struct runtime *rt)
{
    (void)rt;
    return 0;
}

void runtime_node_dead(struct runtime *rt, const char *node_hex)
{
    (void)rt;
    (void)node_hex;
}
