/*
 * direct_wire.c — DIRECT_DONE's batch: encoder and bounded decoder
 * (direct_wire.h).
 */
#include "common/direct_wire.h"

#include <string.h>

void direct_entry_pack(struct buf *b, const uint8_t *id, const char *name, int64_t status,
                       const char *msg, uint64_t nret)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl > DIRECT_NAME_MAX)
        nl = DIRECT_NAME_MAX;
    mpw_array(b, 5);
    mpw_bin(b, id, 20);
    mpw_str(b, name ? name : "", nl);
    mpw_int(b, status);
    mpw_cstr(b, msg ? msg : "");
    mpw_uint(b, nret);
}

int direct_batch_open(struct mpr *r, const void *p, size_t len, uint32_t *n)
{
    mpr_init(r, p, len);
    if (mpr_array(r, n) < 0 || *n > DIRECT_BATCH_MAX)
        return -1;
    return 0;
}

int direct_batch_next(struct mpr *r, struct direct_entry *e)
{
    uint32_t k;
    const void *id;
    size_t idlen;
    memset(e, 0, sizeof *e);
    if (mpr_array(r, &k) < 0 || k != 5)
        return -1;
    if (mpr_bin(r, &id, &idlen) < 0 || idlen != 20)
        return -1;
    e->id = id;
    if (mpr_str(r, &e->name, &e->namelen) < 0 || e->namelen > DIRECT_NAME_MAX)
        return -1;
    if (mpr_int(r, &e->status) < 0)
        return -1;
    if (mpr_str(r, &e->msg, &e->msglen) < 0)
        return -1;
    if (mpr_uint(r, &e->nret) < 0 || e->nret > DIRECT_NRET_MAX)
        return -1;
    return 0;
}
