/*
 * tune_space.c — search spaces and configs as bytes (tune_internal.h), so the
 * controller actor can resample and perturb parameters for PBT. Values use
 * the pool library's codec: both libraries are internal to rayd/libray.a.
 */
#include "ray_tune.h"

#include "libs/pool/pool_internal.h"
#include "libs/tune/tune_internal.h"

#include <stdlib.h>
#include <string.h>

int ray_tune_space_put_(struct ray_pool_buf_ *b, const void *space, size_t n)
{
    const ray_tune_param *sp = space;
    uint32_t n32 = (uint32_t)n;
    ray_pool_buf_put_(b, &n32, 4);
    for (size_t k = 0; k < n; k++) {
        uint8_t kind = (uint8_t)sp[k].kind;
        uint32_t nv = (uint32_t)sp[k].nvalues;
        ray_pool_buf_put_(b, &kind, 1);
        ray_pool_buf_put_(b, &sp[k].lo, 8);
        ray_pool_buf_put_(b, &sp[k].hi, 8);
        ray_pool_buf_put_(b, &nv, 4);
        for (size_t j = 0; j < sp[k].nvalues; j++)
            if (ray_pool_value_put_(b, &sp[k].values[j]) != RAY_OK)
                return RAY_EINVAL;
    }
    return b->oom ? RAY_ENOMEM : RAY_OK;
}

void ray_tune_space_free_(struct ray_tune_sparam_ *sp, size_t n)
{
    if (sp == NULL)
        return;
    for (size_t k = 0; k < n; k++)
        free(sp[k].values);
    free(sp);
}

static int get_f64(const uint8_t **p, const uint8_t *end, double *x)
{
    if (end - *p < 8)
        return -1;
    memcpy(x, *p, 8);
    *p += 8;
    return 0;
}

int ray_tune_space_get_(const uint8_t *data, size_t len, struct ray_tune_sparam_ **out, size_t *n)
{
    const uint8_t *p = data, *end = data + len;
    uint32_t np;
    *out = NULL;
    *n = 0;
    if (ray_pool_u32_get_(&p, end, &np) < 0 || np > 64)
        return -1;
    struct ray_tune_sparam_ *sp = calloc(np ? np : 1, sizeof *sp);
    if (sp == NULL)
        return -1;
    for (uint32_t k = 0; k < np; k++) {
        uint8_t kind;
        uint32_t nv;
        if (ray_pool_u8_get_(&p, end, &kind) < 0 || get_f64(&p, end, &sp[k].lo) < 0 ||
            get_f64(&p, end, &sp[k].hi) < 0 || ray_pool_u32_get_(&p, end, &nv) < 0 ||
            nv > (size_t)(end - p))
            goto fail;
        sp[k].kind = kind;
        sp[k].nvalues = nv;
        if ((sp[k].values = calloc(nv ? nv : 1, sizeof *sp[k].values)) == NULL)
            goto fail;
        for (uint32_t j = 0; j < nv; j++)
            if (ray_pool_value_get_(&p, end, &sp[k].values[j], NULL) < 0)
                goto fail;
    }
    *out = sp;
    *n = np;
    return 0;
fail:
    ray_tune_space_free_(sp, np);
    return -1;
}

int ray_tune_config_get_(const uint8_t *data, size_t len, ray_value *vals, size_t n)
{
    const uint8_t *p = data, *end = data + len;
    for (size_t k = 0; k < n; k++)
        if (ray_pool_value_get_(&p, end, &vals[k], NULL) < 0)
            return -1;
    return p == end ? 0 : -1;
}
