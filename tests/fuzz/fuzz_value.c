/*
 * fuzz_value.c — libFuzzer target for the ray_value decoders (api/value.c;
 * see docs/fuzzing.md): what a worker reads from a TASK_EXECUTE's args and
 * what ray_get reads from a store object, lists and maps included.
 *
 * Input byte 0 picks the store vtype (its value mod 11: the ten ray_type
 * values and ERROR); the rest is the payload. It goes to api_object_decode_
 * under that vtype, to api_args_decode_ as task arguments, and to
 * api_error_payload_decode_. Whatever decodes is walked completely (every
 * STR and BYTES byte is read, a STR inside a list must end in its NUL),
 * encoded again (api_compound_pack_ / api_args_pack_) and must decode to
 * an equal value. Any inconsistency calls abort().
 */
#include "api/api_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

/* errors.c's "where am I" accessors want the client; the target has none. */
const char *api_client_node_hex_(void) { return ""; }
const char *api_client_job_hex_(void) { return ""; }

static volatile uint8_t sink;

/* Read every byte V points at; LEVEL lists/maps enclose it. */
static void walk(const ray_value *v, int level)
{
    FUZZ_CHECK(level <= RAY_MAX_DEPTH);
    switch (v->type) {
    case RAY_STR:
    case RAY_BYTES:
        for (size_t i = 0; i < v->as.buf.len; i++)
            sink ^= ((const uint8_t *)v->as.buf.ptr)[i];
        if (v->type == RAY_STR && level > 0)
            FUZZ_CHECK(((const char *)v->as.buf.ptr)[v->as.buf.len] == '\0');
        break;
    case RAY_LIST:
        FUZZ_CHECK(v->as.list.n <= RAY_MAX_ITEMS);
        for (size_t i = 0; i < ray_list_len(v); i++)
            walk(ray_list_at(v, i), level + 1);
        break;
    case RAY_MAP:
        FUZZ_CHECK(v->as.map.n <= RAY_MAX_ITEMS);
        for (size_t i = 0; i < ray_map_len(v); i++) {
            walk(ray_map_key(v, i), level + 1);
            walk(ray_map_val(v, i), level + 1);
        }
        (void)ray_map_get(v, "k");
        break;
    default:
        FUZZ_CHECK(v->type <= RAY_ACTOR);
        break;
    }
}

static bool same(const ray_value *a, const ray_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case RAY_NIL: return true;
    case RAY_BOOL: return a->as.b == b->as.b;
    case RAY_INT: return a->as.i == b->as.i;
    case RAY_FLOAT: return memcmp(&a->as.f, &b->as.f, sizeof a->as.f) == 0;
    case RAY_STR:
    case RAY_BYTES:
        return a->as.buf.len == b->as.buf.len &&
               (a->as.buf.len == 0 || memcmp(a->as.buf.ptr, b->as.buf.ptr, a->as.buf.len) == 0);
    case RAY_REF: return memcmp(a->as.ref.id, b->as.ref.id, RAY_ID_SIZE) == 0;
    case RAY_ACTOR: return memcmp(a->as.actor.id, b->as.actor.id, RAY_ID_SIZE) == 0;
    case RAY_LIST:
        if (a->as.list.n != b->as.list.n)
            return false;
        for (size_t i = 0; i < a->as.list.n; i++)
            if (!same(&a->as.list.items[i], &b->as.list.items[i]))
                return false;
        return true;
    case RAY_MAP:
        if (a->as.map.n != b->as.map.n)
            return false;
        for (size_t i = 0; i < a->as.map.n; i++)
            if (!same(&a->as.map.keys[i], &b->as.map.keys[i]) ||
                !same(&a->as.map.vals[i], &b->as.map.vals[i]))
                return false;
        return true;
    }
    return false;
}

static void object(uint32_t vtype, const uint8_t *p, size_t len)
{
    ray_value v, again;
    void *elems = (void *)1, *elems2 = NULL;
    int rc = api_object_decode_(vtype, p, len, &v, &elems);
    if (rc != RAY_OK) {
        FUZZ_CHECK(elems == NULL && ray_last_error()[0] != '\0');
        return;
    }
    FUZZ_CHECK((elems != NULL) == (vtype == RAY_LIST || vtype == RAY_MAP));
    walk(&v, 0);
    if (vtype == RAY_LIST || vtype == RAY_MAP) {
        struct buf b = BUF_INIT;
        FUZZ_CHECK(api_compound_pack_(&b, &v) == RAY_OK);
        FUZZ_CHECK(api_object_decode_(vtype, b.data, b.len, &again, &elems2) == RAY_OK);
        FUZZ_CHECK(same(&v, &again));
        free(elems2);
        buf_free(&b);
    }
    free(elems);
}

static void args(const uint8_t *p, size_t len)
{
    ray_value *v = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    if (api_args_decode_(p, len, &v, &n) != RAY_OK) {
        FUZZ_CHECK(v == NULL);
        return;
    }
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        walk(&v[i], 0);
    FUZZ_CHECK(api_args_pack_(&b, v, n) == RAY_OK);
    FUZZ_CHECK(api_args_decode_(b.data, b.len, &again, &n2) == RAY_OK && n2 == n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(same(&v[i], &again[i]));
    free(again);
    free(v);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint32_t pick = data[0] % 11u;
    uint32_t vtype = pick == 10 ? API_VT_ERROR : pick;
    /* an exact-size copy, so that ASan sees any read past the end */
    uint8_t *p = malloc(size - 1 ? size - 1 : 1);
    memcpy(p, data + 1, size - 1);
    object(vtype, p, size - 1);
    args(p, size - 1);
    int code;
    char msg[64];
    (void)api_error_payload_decode_(p, size - 1, &code, msg, sizeof msg);
    free(p);
    return 0;
}
