/*
 * pg_spec.c — decoding PG_CREATE's spec (pg_spec.h). The map's keys may come
 * in any order; unknown keys are skipped; each bundle goes through
 * pg_policy_bundle_parse, so a bundle accepted here can be reserved.
 */
#include "sched/pg_spec.h"

#include "common/buf.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_spec_free(struct pg_spec *out)
{
    for (size_t i = 0; i < out->nb; i++) {
        res_free(&out->bundles[i]);
        free(out->text[i]);
        out->text[i] = NULL;
    }
    out->nb = 0;
}

static bool key(const char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

int pg_spec_parse(const void *spec, size_t len, struct pg_spec *out, char *err, size_t errlen)
{
    struct mpr r;
    uint32_t n;
    uint64_t strategy = 0;
    const uint8_t *bundles_at = NULL;
    size_t bundles_len = 0;
    memset(out, 0, sizeof *out);
    mpr_init(&r, spec, len);
    if (mpr_map(&r, &n) < 0)
        goto bad;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        const void *p;
        size_t pl;
        if (mpr_str(&r, &k, &kl) < 0)
            goto bad;
        if (key(k, kl, "id")) {
            if (mpr_bin(&r, &p, &pl) < 0 || pl != 20)
                goto bad;
            out->id = p;
        } else if (key(k, kl, "detached_creator")) {
            if (mpr_bin(&r, &p, &pl) < 0 || pl != 20)
                goto bad;
            out->creator = p;
        } else if (key(k, kl, "strategy")) {
            if (mpr_uint(&r, &strategy) < 0)
                goto bad;
        } else if (key(k, kl, "name")) {
            struct mpr_item it;
            if (mpr_next(&r, &it) < 0 || (it.kind != MPR_STR && it.kind != MPR_NIL))
                goto bad;
            if (it.kind == MPR_STR) {
                if (it.as.s.len > PG_SPEC_NAME_MAX || memchr(it.as.s.ptr, '\0', it.as.s.len)) {
                    snprintf(err, errlen, "a placement group name has at most %d characters",
                             PG_SPEC_NAME_MAX);
                    return -1;
                }
                memcpy(out->name, it.as.s.ptr, it.as.s.len);
                out->name[it.as.s.len] = '\0';
            }
        } else if (key(k, kl, "bundles")) {
            bundles_at = r.p;
            if (mpr_skip(&r) < 0)
                goto bad;
            bundles_len = (size_t)(r.p - bundles_at);
        } else if (mpr_skip(&r) < 0) {
            goto bad;
        }
    }
    if (out->id == NULL || bundles_at == NULL || strategy > PG_STRICT_SPREAD)
        goto bad;
    out->strategy = (int)strategy;
    struct mpr br;
    uint32_t nb;
    mpr_init(&br, bundles_at, bundles_len);
    if (mpr_array(&br, &nb) < 0 || nb == 0 || nb > PG_MAX_BUNDLES) {
        snprintf(err, errlen, "a placement group needs 1 to %d bundles", PG_MAX_BUNDLES);
        return -1;
    }
    for (uint32_t b = 0; b < nb; b++) {
        const char *s;
        size_t sl;
        char text[1024], why[300];
        if (mpr_str(&br, &s, &sl) < 0 || sl >= sizeof text || memchr(s, '\0', sl)) {
            pg_spec_free(out);
            snprintf(err, errlen, "bundle %u is not a resource string", b);
            return -1;
        }
        memcpy(text, s, sl);
        text[sl] = '\0';
        res_init(&out->bundles[b]);
        if (pg_policy_bundle_parse(text, &out->bundles[b], why, sizeof why) < 0) {
            pg_spec_free(out);
            snprintf(err, errlen, "bundle %u \"%.200s\": %s", b, text, why);
            return -1;
        }
        struct buf t = BUF_INIT;
        res_format(&out->bundles[b], &t);
        buf_append(&t, "", 1);
        out->text[b] = xstrdup(t.data);
        buf_free(&t);
        out->nb = b + 1;
    }
    return 0;
bad:
    snprintf(err, errlen, "malformed placement group spec");
    return -1;
}
