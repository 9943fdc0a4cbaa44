/*
 * fuzz_direct.c — libFuzzer target for the direct path's one new decoder:
 * the DIRECT_DONE / DIRECT_PENDING / DIRECT_ACTOR_LOST batch (common/direct_wire.c), read as the
 * node reads it (runtime/lease.c), and the same bytes as a whole frame body
 * of the direct messages (proto_decode against the table, then the batch
 * of a DIRECT_DONE). Every entry handed out must lie inside the input and
 * respect the bounds the header promises.
 */
#include "common/direct_wire.h"
#include "common/proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void walk(const uint8_t *p, size_t len)
{
    struct mpr r;
    uint32_t n;
    struct direct_entry e;
    if (direct_batch_open(&r, p, len, &n) < 0)
        return;
    if (n > DIRECT_BATCH_MAX)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        if (direct_batch_next(&r, &e) < 0)
            return;
        const uint8_t *end = p + len;
        if (e.id < p || e.id + 20 > end || e.namelen > DIRECT_NAME_MAX || e.nret > DIRECT_NRET_MAX)
            abort();
        if (e.namelen && ((const uint8_t *)e.name < p || (const uint8_t *)e.name + e.namelen > end))
            abort();
        if (e.msglen && ((const uint8_t *)e.msg < p || (const uint8_t *)e.msg + e.msglen > end))
            abort();
        char name[DIRECT_NAME_MAX + 1];
        memcpy(name, e.name, e.namelen); /* what the node copies */
        name[e.namelen] = '\0';
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size);
    struct proto_msg m;
    char err[160];
    if (proto_decode(data, size, &m, err, sizeof err) == 0 &&
        (m.type == PROTO_DIRECT_DONE || m.type == PROTO_DIRECT_PENDING ||
         m.type == PROTO_DIRECT_ACTOR_LOST)) {
        int b = m.type == PROTO_DIRECT_ACTOR_LOST ? 2 : 0; /* after the actor and worker IDs */
        walk((const uint8_t *)m.f[b].as.s.ptr, m.f[b].as.s.len);
    }
    /* and an encoder round trip: what the worker writes reads back */
    struct buf b = BUF_INIT, v = BUF_INIT;
    uint8_t id[20] = { 0 };
    memcpy(id, data, size < 20 ? size : 20);
    char name[64] = "";
    size_t nl = size > 20 ? size - 20 : 0;
    if (nl > sizeof name - 1)
        nl = sizeof name - 1;
    if (nl)
        memcpy(name, data + 20, nl);
    name[strnlen(name, sizeof name)] = '\0';
    direct_entry_pack(&v, id, name, (int64_t)size, name, size % 65);
    mpw_array(&b, 1);
    buf_append(&b, v.data, v.len);
    struct mpr r;
    uint32_t n;
    struct direct_entry e;
    if (!buf_failed(&b) && (direct_batch_open(&r, b.data, b.len, &n) < 0 || n != 1 ||
                            direct_batch_next(&r, &e) < 0 || memcmp(e.id, id, 20) != 0 ||
                            e.nret != size % 65))
        abort();
    buf_free(&b);
    buf_free(&v);
    return 0;
}
