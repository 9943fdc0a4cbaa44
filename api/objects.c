/*
 * objects.c — ray_put / ray_create / ray_seal / ray_get / ray_wait / ray_free
 * over the node connection (docs/runtime.md "Objects").
 *
 * Small payloads (<= 64 KiB) go inline with OBJ_PUT; bigger ones are
 * reserved with OBJ_CREATE, copied into the mapped store and sealed.
 * ray_get of STR/BYTES returns a pointer into the mapped store and keeps the
 * node's pin until ray_value_release (the value's pin_ names the object);
 * so does a LIST/MAP, whose decoded arrays the pin also owns (their STR and
 * BYTES elements point into the store); scalars are decoded and unpinned at
 * once. Over TCP (no mapped store)
 * objects travel inline in OBJ_PUT / OBJ_GET_OK; ray_create then writes into
 * local memory that ray_seal sends.
 */
#include "api/api_internal.h"

#include "common/ids.h"
#include "common/netutil.h"
#include "common/populate.h"

#include <pthread.h>

/* ray_get spans shorter than this are not recorded: the value was here */
#define API_GET_SPAN_MIN_US 5
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <unistd.h>

/* What a gotten STR/BYTES/LIST/MAP value holds on to. */
struct api_pin {
    uint8_t id[RAY_ID_SIZE];
    uint64_t gen;  /* connection that holds the node's pin */
    void *owned;   /* inline copy (TCP): freed on release, nothing to unpin */
    void *elems;   /* LIST/MAP: the decoded arrays (api_object_decode_), freed on release */
    bool no_unpin; /* a task's argument: the node's pin is the task's, not this value's */
};

/* ray_create over TCP: the bytes wait here until ray_seal. */
struct pending_create {
    uint8_t id[RAY_ID_SIZE];
    uint32_t vtype;
    void *data;
    size_t len;
    LIST_ENTRY(pending_create) link;
};
static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, pending_create) pending = LIST_HEAD_INITIALIZER(pending);

static const char *hex8(const uint8_t *id, char *out)
{
    ids_hex(id, RAY_ID_SIZE, out);
    return out;
}

/* While set (api_put_capture_), this thread's OBJ_PUT frames are appended
 * here instead of sent. */
static __thread struct buf *put_capture;

void api_put_capture_(struct buf *b)
{
    put_capture = b;
}

static int send_put(const uint8_t *id, uint32_t vtype, const void *data, size_t len)
{
    struct buf f = BUF_INIT, *out = put_capture ? put_capture : &f;
    char hex[IDS_HEX_SIZE];
    if (len > PROTO_MAX_FRAME - 64 ||
        proto_pack(out, PROTO_OBJ_PUT, id, (uint64_t)vtype, data, len) < 0) {
        int rc = api_pack_error_(out, "object %s of %zu bytes is larger than a message may be",
                                 hex8(id, hex), len);
        buf_free(&f);
        return rc;
    }
    if (out != &f)
        return RAY_OK;
    int rc = api_client_send_(&f);
    buf_free(&f);
    return rc;
}

static void send_release(const uint8_t *id)
{
    struct buf f = BUF_INIT;
    if (proto_pack(&f, PROTO_OBJ_RELEASE, id) == 0)
        api_client_send_(&f);
    buf_free(&f);
}

/*
 * A large object is about to be written into the mapped store: fault its
 * pages into this process in one call (MADV_POPULATE_WRITE, Linux 5.14)
 * rather than one page fault per 4 KiB page during the copy, which on this
 * class of machine costs as much as the copy itself. Each mapping has a
 * populate map (common/populate.h), so the chunks this process populated
 * before are not walked again: repeated puts of large objects reuse the same
 * extents, and the walk alone cost 40 % of ray_put's time. The maps are kept
 * for the process's life, one per mapping address (a few hundred bytes per
 * GiB of store), and reset when a new connection maps a store there.
 */
#define PREFAULT_MIN (1u << 20)
#define PREFAULT_RANGES 8

struct pop_entry {
    void *base;
    size_t size;
    uint64_t gen; /* the connection that mapped it (api_client_gen_) */
    struct populate_map *map;
    struct pop_entry *next;
};
static pthread_mutex_t pop_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pop_entry *pops;

/* The populate map of the store mapped at BASE, or NULL (out of memory). */
static struct populate_map *pop_map(void *base, size_t size)
{
    uint64_t gen = api_client_gen_();
    struct pop_entry *e;
    pthread_mutex_lock(&pop_mu);
    for (e = pops; e != NULL; e = e->next)
        if (e->base == base && e->size == size)
            break;
    if (e != NULL && e->gen != gen) {
        populate_map_reset(e->map);
        e->gen = gen;
    }
    if (e == NULL && (e = calloc(1, sizeof *e)) != NULL) {
        e->map = populate_map_new(size);
        if (e->map == NULL) {
            free(e);
            e = NULL;
        } else {
            e->base = base;
            e->size = size;
            e->gen = gen;
            e->next = pops;
            pops = e;
        }
    }
    pthread_mutex_unlock(&pop_mu);
    return e ? e->map : NULL;
}

static void prefault(void *store, size_t cap, uint64_t offset, size_t len)
{
    if (len < PREFAULT_MIN)
        return;
    uint64_t offs[PREFAULT_RANGES], lens[PREFAULT_RANGES];
    int n = populate_claim(pop_map(store, cap), offset, len, offs, lens, PREFAULT_RANGES);
    for (int i = 0; i < n; i++)
        if (populate_range(store, offs[i], lens[i], 0) < 0)
            break;
}

int api_object_create_(const uint8_t id[RAY_ID_SIZE], uint32_t vtype, size_t len, void **data)
{
    size_t cap;
    char hex[IDS_HEX_SIZE];
    void *store = api_client_store_(&cap);
    *data = NULL;

    if (store == NULL) {
        struct pending_create *pc = calloc(1, sizeof *pc);
        void *p = malloc(len ? len : 1);
        if (pc == NULL || p == NULL) {
            free(pc);
            free(p);
            return api_error_(RAY_ENOMEM, "out of memory creating a %zu-byte object", len);
        }
        memcpy(pc->id, id, RAY_ID_SIZE);
        pc->vtype = vtype;
        pc->data = p;
        pc->len = len;
        pthread_mutex_lock(&pending_mu);
        LIST_INSERT_HEAD(&pending, pc, link);
        pthread_mutex_unlock(&pending_mu);
        *data = p;
        return RAY_OK;
    }

    struct buf f = BUF_INIT;
    void *body = NULL;
    struct proto_msg m;
    uint64_t reqid = api_client_reqid_();
    proto_pack(&f, PROTO_OBJ_CREATE, reqid, id, (uint64_t)vtype, (uint64_t)len);
    int rc = api_client_request_(&f, reqid, &body, &m);
    buf_free(&f);
    if (rc != RAY_OK)
        return rc;
    int64_t status = m.f[1].as.i;
    uint64_t offset = m.f[2].as.u;
    char why[300];
    snprintf(why, sizeof why, "%.*s", (int)m.f[3].as.s.len, m.f[3].as.s.ptr);
    free(body);
    if (status == RAY_ENOMEM)
        return api_error_(RAY_ENOMEM, "%s", why[0] ? why : "the object store is full");
    if (status == RAY_EINVAL)
        return api_error_(RAY_EINVAL, "object %s already exists", hex8(id, hex));
    if (status != RAY_OK)
        return api_error_(status < 0 && status >= RAY_EPG ? (int)status : RAY_ECONN,
                          "cannot create object %s: %s", hex8(id, hex),
                          ray_strerror((int)status));
    if (offset > cap || len > cap - offset)
        return api_error_(RAY_ECONN, "the node placed object %s outside the store", hex8(id, hex));
    *data = (char *)store + offset;
    prefault(store, cap, offset, len);
    return RAY_OK;
}

int api_object_seal_(const uint8_t id[RAY_ID_SIZE])
{
    struct pending_create *pc;
    pthread_mutex_lock(&pending_mu);
    LIST_FOREACH(pc, &pending, link)
        if (memcmp(pc->id, id, RAY_ID_SIZE) == 0) {
            LIST_REMOVE(pc, link);
            break;
        }
    pthread_mutex_unlock(&pending_mu);
    if (pc) {
        int rc = send_put(pc->id, pc->vtype, pc->data, pc->len);
        free(pc->data);
        free(pc);
        return rc;
    }
    if (api_client_store_(NULL) == NULL) {
        char hex[IDS_HEX_SIZE];
        return api_error_(RAY_EINVAL, "object %s was not created by ray_create in this process",
                          hex8(id, hex));
    }
    struct buf f = BUF_INIT;
    proto_pack(&f, PROTO_OBJ_SEAL, id);
    int rc = api_client_send_(&f);
    buf_free(&f);
    return rc;
}

/* Store a LIST or MAP: its msgpack, inline or created in place like BYTES. */
static int store_compound(const uint8_t id[RAY_ID_SIZE], const ray_value *v)
{
    struct buf b = BUF_INIT;
    int rc = api_compound_pack_(&b, v);
    if (rc != RAY_OK)
        goto out;
    if (b.len <= API_INLINE_MAX || api_client_store_(NULL) == NULL) {
        rc = send_put(id, (uint32_t)v->type, b.data, b.len);
        goto out;
    }
    void *dst;
    if ((rc = api_object_create_(id, (uint32_t)v->type, b.len, &dst)) != RAY_OK)
        goto out;
    memcpy(dst, b.data, b.len);
    rc = api_object_seal_(id);
out:
    buf_free(&b);
    return rc;
}

int api_object_store_(const uint8_t id[RAY_ID_SIZE], const ray_value *v)
{
    if (v->type == RAY_LIST || v->type == RAY_MAP)
        return store_compound(id, v);
    size_t size = api_payload_size_(v);
    if (size == (size_t)-1)
        return api_error_(RAY_EINVAL, "unknown value type %d", (int)v->type);
    if ((v->type == RAY_STR || v->type == RAY_BYTES) && v->as.buf.ptr == NULL && v->as.buf.len)
        return api_error_(RAY_EINVAL, "value with NULL data and length %zu", v->as.buf.len);
    if (v->type == RAY_STR && v->as.buf.len == SIZE_MAX)
        return api_error_(RAY_EINVAL, "string too long");

    if (size <= API_INLINE_MAX || api_client_store_(NULL) == NULL) {
        if (v->type == RAY_BYTES)
            return send_put(id, RAY_BYTES, v->as.buf.ptr, size);
        uint8_t small[64];
        void *tmp = size <= sizeof small ? small : malloc(size);
        if (tmp == NULL)
            return api_error_(RAY_ENOMEM, "out of memory copying a %zu-byte value", size);
        api_payload_write_(v, tmp);
        int rc = send_put(id, (uint32_t)v->type, tmp, size);
        if (tmp != small)
            free(tmp);
        return rc;
    }
    void *dst;
    int rc = api_object_create_(id, (uint32_t)v->type, size, &dst);
    if (rc != RAY_OK)
        return rc;
    api_payload_write_(v, dst);
    return api_object_seal_(id);
}

static int ray_put_impl(ray_value v, ray_ref *out);

/* The task a timeline span of an object call belongs to: the caller's
 * running task, else the one that makes OBJ (its ID with index 0, in BASE),
 * else none (all zeros). OBJ may be NULL. */
static const uint8_t *span_task(const uint8_t *obj, uint8_t base[RAY_ID_SIZE])
{
    const uint8_t *task = api_worker_task_();
    if (ids_is_zero(task) && obj) {
        ids_with_index(base, obj, 0);
        return base;
    }
    return task;
}

/* ray_put with its timeline span (events.c): the task is the caller's while a
 * task runs, else the one that makes the object. */
int ray_put(ray_value v, ray_ref *out)
{
    if (!api_events_on_())
        return ray_put_impl(v, out);
    long long t0 = api_events_now_us_();
    int rc = ray_put_impl(v, out);
    uint8_t base[RAY_ID_SIZE];
    const uint8_t *task = span_task(out ? out->id : NULL, base);
    api_event_add_('P', t0, api_events_now_us_(), task, 0, "ray_put");
    return rc;
}

static int ray_put_impl(ray_value v, ray_ref *out)
{
    api_error_clear_();
    if (out == NULL)
        return api_error_(RAY_EINVAL, "ray_put: out is NULL");
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    ray_ref r;
    api_id_new_(r.id, IDS_PUT_INDEX);
    rc = api_object_store_(r.id, &v);
    if (rc == RAY_OK)
        *out = r;
    return rc;
}

int ray_create(size_t len, void **data, ray_ref *out)
{
    api_error_clear_();
    if (data == NULL || out == NULL)
        return api_error_(RAY_EINVAL, "ray_create: data and out must not be NULL");
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    ray_ref r;
    api_id_new_(r.id, IDS_PUT_INDEX);
    rc = api_object_create_(r.id, RAY_BYTES, len, data);
    if (rc == RAY_OK)
        *out = r;
    return rc;
}

int ray_seal(ray_ref ref)
{
    api_error_clear_();
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    return api_object_seal_(ref.id);
}

/*
 * Objects are immutable, so a scalar value (NIL, BOOL, INT, FLOAT, REF,
 * ACTOR: no memory to pin) gotten once, or pushed by the node when a task
 * this process submitted ended (OBJ_VALUE), can be answered again without a
 * round trip to the node, as Ray's in-process memory store does for small
 * objects. An open-addressing table that grows as needed (kept at most
 * three quarters full) up to SCALAR_CACHE_MAX_SLOTS, and starts over only
 * when even that is full. ray_free turns the freed entries into "freed"
 * marks, and adds one for a freed task return not cached yet: a push of
 * that value still on its way (the node sent it before the free) is then
 * not cached, so a freed object is never answered from here. A process that
 * never caches anything allocates nothing.
 */
#define SCALAR_CACHE_MIN_SLOTS 4096u       /* power of two */
#define SCALAR_CACHE_MAX_SLOTS (1u << 21)  /* 2M slots, about 100 MB at most */

struct scalar_entry {
    uint8_t id[RAY_ID_SIZE];
    bool used;
    bool freed;  /* a freed mark: not a value */
    ray_value v;
};
static struct scalar_entry *scalar_cache;
static size_t scalar_slots, scalar_count;
static pthread_mutex_t scalar_lock = PTHREAD_MUTEX_INITIALIZER;

/* All 20 bytes count: a process's IDs share their random part and differ
 * in a counter (bytes 12..15) and the return index. */
static size_t scalar_slot(const uint8_t *id) { return (size_t)ids_hash(id) & (scalar_slots - 1); }

/* Index of ID's entry, or of the empty slot ending its probe chain. */
static size_t scalar_probe(const uint8_t *id)
{
    size_t i = scalar_slot(id);
    while (scalar_cache[i].used && memcmp(scalar_cache[i].id, id, RAY_ID_SIZE) != 0)
        i = (i + 1) & (scalar_slots - 1);
    return i;
}

static bool scalar_find(const uint8_t *id, ray_value *out)
{
    bool found = false;
    pthread_mutex_lock(&scalar_lock);
    if (scalar_cache) {
        size_t i = scalar_probe(id);
        if (scalar_cache[i].used && !scalar_cache[i].freed) {
            *out = scalar_cache[i].v;
            found = true;
        }
    }
    pthread_mutex_unlock(&scalar_lock);
    return found;
}

/* Make room for one more entry (under the lock): grow, or start over at
 * the largest size. False if there is no memory (the value is not cached). */
static bool scalar_room(void)
{
    if (scalar_cache && (scalar_count + 1) * 4 <= scalar_slots * 3)
        return true;
    size_t n = scalar_cache ? scalar_slots * 2 : SCALAR_CACHE_MIN_SLOTS;
    if (n > SCALAR_CACHE_MAX_SLOTS) {
        memset(scalar_cache, 0, scalar_slots * sizeof *scalar_cache);
        scalar_count = 0;
        return true;
    }
    struct scalar_entry *old = scalar_cache, *t = calloc(n, sizeof *t);
    if (t == NULL)
        return old != NULL && (scalar_count + 1) < scalar_slots;
    size_t oldn = scalar_slots;
    scalar_cache = t;
    scalar_slots = n;
    for (size_t i = 0; i < oldn; i++)
        if (old[i].used)
            scalar_cache[scalar_probe(old[i].id)] = old[i];
    free(old);
    return true;
}

static void scalar_put(const uint8_t *id, const ray_value *v)
{
    pthread_mutex_lock(&scalar_lock);
    if (scalar_room()) {
        size_t i = scalar_probe(id);
        if (scalar_cache[i].freed) {
            pthread_mutex_unlock(&scalar_lock);
            return; /* freed meanwhile: a late push */
        }
        if (!scalar_cache[i].used)
            scalar_count++;
        scalar_cache[i].used = true;
        memcpy(scalar_cache[i].id, id, RAY_ID_SIZE);
        scalar_cache[i].v = *v;
        scalar_cache[i].v.pin_ = NULL;
    }
    pthread_mutex_unlock(&scalar_lock);
}

void api_scalar_push_(const uint8_t *id, uint32_t vtype, const void *data, size_t size)
{
    ray_value v;
    if (vtype > RAY_ACTOR || vtype == RAY_STR || vtype == RAY_BYTES ||
        api_payload_decode_(vtype, data, size, &v) != RAY_OK)
        return;
    scalar_put(id, &v);
}

/* Forget freed objects: mark each entry freed; mark a task return that is
 * not cached yet too (its pushed value may still arrive). */
static void scalar_forget(const ray_ref *refs, size_t n)
{
    pthread_mutex_lock(&scalar_lock);
    for (size_t k = 0; k < n; k++) {
        uint32_t index = ids_index(refs[k].id);
        bool pushed = index != 0 && !(index & IDS_PUT_INDEX); /* a task return */
        if (scalar_cache == NULL && !pushed)
            continue;
        if (scalar_cache) {
            size_t i = scalar_probe(refs[k].id);
            if (scalar_cache[i].used) {
                scalar_cache[i].freed = true;
                continue;
            }
        }
        if (!pushed || !scalar_room())
            continue;
        size_t i = scalar_probe(refs[k].id);
        if (!scalar_cache[i].used)
            scalar_count++;
        memset(&scalar_cache[i], 0, sizeof scalar_cache[i]);
        scalar_cache[i].used = true;
        scalar_cache[i].freed = true;
        memcpy(scalar_cache[i].id, refs[k].id, RAY_ID_SIZE);
    }
    pthread_mutex_unlock(&scalar_lock);
}

/* One OBJ_GET round trip; fills *OUT as ray_get documents. */
static int get_decode(const uint8_t *id, int64_t timeout_ms, void *body, const struct proto_msg *mp,
                      ray_value *out);

static int get_one(const uint8_t *id, int64_t timeout_ms, ray_value *out)
{
    if (scalar_find(id, out))
        return RAY_OK;
    api_direct_await_(id, timeout_ms); /* a task sent to a leased worker answers here (direct.c) */
    if (scalar_find(id, out))
        return RAY_OK;
    struct buf f = BUF_INIT;
    void *body = NULL;
    struct proto_msg m;
    uint64_t reqid = api_client_reqid_();

    memset(out, 0, sizeof *out);
    proto_pack(&f, PROTO_OBJ_GET, reqid, id, (int64_t)timeout_ms, api_worker_task_());
    int rc = api_client_request_(&f, reqid, &body, &m);
    buf_free(&f);
    if (rc != RAY_OK)
        return rc;
    return get_decode(id, timeout_ms, body, &m, out);
}

/* Turn an OBJ_GET_OK reply (BODY, consumed) for ID into *OUT. */
static int get_decode(const uint8_t *id, int64_t timeout_ms, void *body, const struct proto_msg *mp,
                      ray_value *out)
{
    char hex[IDS_HEX_SIZE];
    size_t cap;
    int rc = RAY_OK;
    const struct proto_msg m = *mp;
    memset(out, 0, sizeof *out);

    int64_t status = m.f[1].as.i;
    uint64_t vtype = m.f[2].as.u, offset = m.f[3].as.u, size = m.f[4].as.u;
    const void *inl = m.f[5].as.s.ptr;
    size_t inl_len = m.f[5].as.s.len;
    if (status != RAY_OK) {
        free(body);
        hex8(id, hex);
        if (status == RAY_ETIMEOUT)
            return api_error_(RAY_ETIMEOUT, "timed out after %lld ms waiting for object %s",
                              (long long)timeout_ms, hex);
        int code = status < 0 && status >= RAY_EPG ? (int)status : RAY_ECONN;
        return api_error_(code, "cannot get object %s: %s", hex, ray_strerror(code));
    }

    /* Where the payload is: inline in the reply, or in the mapped store. */
    const void *data;
    bool inline_data;
    void *store = api_client_store_(&cap);
    if (inl_len > 0 || store == NULL) {
        if (inl_len != size) {
            rc = api_error_(RAY_ECONN, "object %s: %zu inline bytes for a %llu-byte object",
                            hex8(id, hex), inl_len, (unsigned long long)size);
            goto fail_release;
        }
        data = inl;
        inline_data = true;
    } else {
        if (offset > cap || size > cap - offset) {
            rc = api_error_(RAY_ECONN, "the node placed object %s outside the store", hex8(id, hex));
            goto fail_release;
        }
        data = (const char *)store + offset;
        inline_data = false;
    }

    if (vtype == API_VT_ERROR) {
        int code;
        char msg[1024];
        if (api_error_payload_decode_(data, (size_t)size, &code, msg, sizeof msg) < 0)
            rc = api_error_(RAY_ETASK, "object %s holds a malformed error", hex8(id, hex));
        else
            rc = api_error_(code, "%s", msg);
        goto fail_release;
    }
    void *elems = NULL;
    if (vtype > RAY_MAP ||
        (rc = api_object_decode_((uint32_t)vtype, data, (size_t)size, out, &elems)) != RAY_OK) {
        if (rc == RAY_ENOMEM)
            goto fail_release;
        rc = api_error_(RAY_EINVAL, "object %s has a malformed payload (type %llu, %llu bytes)",
                        hex8(id, hex), (unsigned long long)vtype, (unsigned long long)size);
        goto fail_release;
    }
    if (out->type != RAY_STR && out->type != RAY_BYTES && out->type != RAY_LIST &&
        out->type != RAY_MAP) {
        send_release(id);
        free(body);
        scalar_put(id, out);
        return RAY_OK;
    }
    /* STR, BYTES and the elements of LIST and MAP point at the payload */
    struct api_pin *pin = calloc(1, sizeof *pin);
    if (pin == NULL) {
        free(elems);
        memset(out, 0, sizeof *out);
        rc = api_error_(RAY_ENOMEM, "out of memory");
        goto fail_release;
    }
    pin->elems = elems;
    memcpy(pin->id, id, RAY_ID_SIZE);
    pin->gen = api_client_gen_();
    if (inline_data) {
        /* The value points into the reply body, which the pin now owns. */
        pin->owned = body;
        send_release(id);
    }
    out->pin_ = pin;
    if (!inline_data)
        free(body);
    return RAY_OK;

fail_release:
    memset(out, 0, sizeof *out);
    send_release(id);
    free(body);
    return rc;
}

static int ray_get_impl(ray_ref ref, int64_t timeout_ms, ray_value *out);

/* ray_get with its timeline span (events.c): the task is the caller's while a
 * task runs, else the one that makes the object. */
int ray_get(ray_ref ref, int64_t timeout_ms, ray_value *out)
{
    if (!api_events_on_())
        return ray_get_impl(ref, timeout_ms, out);
    long long t0 = api_events_now_us_();
    int rc = ray_get_impl(ref, timeout_ms, out);
    uint8_t base[RAY_ID_SIZE];
    const uint8_t *task = span_task(ref.id, base);
    long long t1 = api_events_now_us_();
    if (t1 - t0 >= API_GET_SPAN_MIN_US) /* a value this process had: no span */
        api_event_add_('G', t0, t1, task, 0, "ray_get");
    return rc;
}

static int ray_get_impl(ray_ref ref, int64_t timeout_ms, ray_value *out)
{
    api_error_clear_();
    if (out == NULL)
        return api_error_(RAY_EINVAL, "ray_get: out is NULL");
    memset(out, 0, sizeof *out);
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    return get_one(ref.id, timeout_ms, out);
}

static int ray_get_all_impl(const ray_ref *refs, size_t n, int64_t timeout_ms, ray_value *out);

/* ray_get_all with its timeline span (events.c): the task is the caller's while a
 * task runs, else the one that makes the object. */
int ray_get_all(const ray_ref *refs, size_t n, int64_t timeout_ms, ray_value *out)
{
    if (!api_events_on_())
        return ray_get_all_impl(refs, n, timeout_ms, out);
    long long t0 = api_events_now_us_();
    int rc = ray_get_all_impl(refs, n, timeout_ms, out);
    uint8_t base[RAY_ID_SIZE];
    const uint8_t *task = span_task((n && refs) ? refs[0].id : NULL, base);
    long long t1 = api_events_now_us_();
    if (t1 - t0 >= API_GET_SPAN_MIN_US)
        api_event_add_('G', t0, t1, task, 0, "ray_get_all");
    return rc;
}

static int ray_get_all_impl(const ray_ref *refs, size_t n, int64_t timeout_ms, ray_value *out)
{
    api_error_clear_();
    if (n == 0)
        return RAY_OK;
    if (refs == NULL || out == NULL)
        return api_error_(RAY_EINVAL, "ray_get_all: refs and out must not be NULL");
    memset(out, 0, n * sizeof *out);
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    /* In groups: every request of a group is sent at once and the replies
     * are collected after, one round trip per group instead of per ref. */
    enum { GROUP = 256 };
    long long deadline = timeout_ms < 0 ? 0 : net_now_ms() + timeout_ms;
    uint64_t reqids[GROUP];
    void *bodies[GROUP];
    struct proto_msg *msgs = malloc(GROUP * sizeof *msgs);
    size_t idx[GROUP];
    if (msgs == NULL)
        return api_error_(RAY_ENOMEM, "out of memory");
    size_t done = 0;
    rc = RAY_OK;
    for (size_t i = 0; i < n; i++) /* tasks sent to leased workers answer here (direct.c) */
        api_direct_await_(refs[i].id,
                          timeout_ms < 0 ? -1 : (deadline > net_now_ms() ? deadline - net_now_ms() : 0));
    while (done < n && rc == RAY_OK) {
        int64_t left = -1;
        if (timeout_ms >= 0) {
            long long l = deadline - net_now_ms();
            left = l > 0 ? l : 0;
        }
        struct buf f = BUF_INIT;
        size_t k = 0, i = done;
        for (; i < n && k < GROUP; i++) {
            if (scalar_find(refs[i].id, &out[i]))
                continue;
            reqids[k] = api_client_reqid_();
            idx[k] = i;
            proto_pack(&f, PROTO_OBJ_GET, reqids[k], refs[i].id, (int64_t)left, api_worker_task_());
            k++;
        }
        if (k > 0)
            rc = api_client_request_many_(&f, reqids, k, bodies, msgs);
        buf_free(&f);
        for (size_t j = 0; j < k && rc == RAY_OK; j++) {
            rc = get_decode(refs[idx[j]].id, left, bodies[j], &msgs[j], &out[idx[j]]);
            if (rc != RAY_OK)
                for (size_t r = j + 1; r < k; r++) {
                    ray_value tmp; /* decode to drop the pins the node took */
                    if (get_decode(refs[idx[r]].id, left, bodies[r], &msgs[r], &tmp) == RAY_OK)
                        ray_value_release(&tmp);
                }
        }
        done = i;
    }
    free(msgs);
    if (rc != RAY_OK) {
        for (size_t j = 0; j < n; j++)
            ray_value_release(&out[j]);
        memset(out, 0, n * sizeof *out);
    }
    return rc;
}

void ray_value_release(ray_value *v)
{
    if (v == NULL || v->pin_ == NULL)
        return;
    struct api_pin *pin = v->pin_;
    if (pin->owned)
        free(pin->owned);
    else if (!pin->no_unpin && pin->gen == api_client_gen_() && api_client_connected_())
        send_release(pin->id);
    free(pin->elems);
    free(pin);
    memset(v, 0, sizeof *v);
}

int api_arg_resolve_(uint32_t vtype, const void *data, size_t size, ray_value *out)
{
    void *elems = NULL;
    if (vtype > RAY_MAP || api_object_decode_(vtype, data, size, out, &elems) != RAY_OK)
        return RAY_EINVAL;
    if (elems == NULL)
        return RAY_OK;
    struct api_pin *pin = calloc(1, sizeof *pin);
    if (pin == NULL) {
        free(elems);
        memset(out, 0, sizeof *out);
        return RAY_ENOMEM;
    }
    pin->elems = elems;
    pin->no_unpin = true;
    out->pin_ = pin;
    return RAY_OK;
}

void api_args_free_(ray_value *args, size_t n)
{
    for (size_t i = 0; args && i < n; i++)
        ray_value_release(&args[i]);
    free(args);
}

/* Append REFS as a msgpack array of bin20. */
static int pack_ids(struct buf *b, const ray_ref *refs, size_t n)
{
    if (n > PROTO_MAX_ELEMS)
        return api_error_(RAY_EINVAL, "too many refs (%zu)", n);
    mpw_array(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        mpw_bin(b, refs[i].id, RAY_ID_SIZE);
    return api_buf_check_(b, "the refs");
}

static int ray_wait_impl(const ray_ref *refs, size_t n, size_t num_ready, int64_t timeout_ms, bool *ready);

/* ray_wait with its timeline span (events.c): the task is the caller's while a
 * task runs, else the one that makes the object. */
int ray_wait(const ray_ref *refs, size_t n, size_t num_ready, int64_t timeout_ms, bool *ready)
{
    if (!api_events_on_())
        return ray_wait_impl(refs, n, num_ready, timeout_ms, ready);
    long long t0 = api_events_now_us_();
    int rc = ray_wait_impl(refs, n, num_ready, timeout_ms, ready);
    uint8_t base[RAY_ID_SIZE];
    const uint8_t *task = span_task((n && refs) ? refs[0].id : NULL, base);
    api_event_add_('W', t0, api_events_now_us_(), task, 0, "ray_wait");
    return rc;
}

static int ray_wait_impl(const ray_ref *refs, size_t n, size_t num_ready, int64_t timeout_ms, bool *ready)
{
    api_error_clear_();
    if (n > 0 && (refs == NULL || ready == NULL))
        return api_error_(RAY_EINVAL, "ray_wait: refs and ready must not be NULL");
    if (num_ready > n)
        return api_error_(RAY_EINVAL, "ray_wait: num_ready %zu is more than the %zu refs", num_ready,
                          n);
    for (size_t i = 0; i < n; i++)
        ready[i] = false;
    if (num_ready == 0)
        return 0;
    /* enough of them known here already (values this process holds) */
    size_t known = 0;
    for (size_t i = 0; i < n && known < num_ready; i++) {
        ray_value v;
        if (scalar_find(refs[i].id, &v)) {
            ready[i] = true;
            known++;
        }
    }
    if (known == num_ready)
        return (int)known;
    for (size_t i = 0; i < n; i++)
        ready[i] = false;
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;

    struct buf ids = BUF_INIT, f = BUF_INIT;
    void *body = NULL;
    struct proto_msg m;
    uint64_t reqid = api_client_reqid_();
    rc = pack_ids(&ids, refs, n);
    if (rc != RAY_OK)
        goto out;
    if (proto_pack(&f, PROTO_OBJ_WAIT, reqid, ids.data, ids.len, (uint64_t)num_ready,
                   (int64_t)timeout_ms, api_worker_task_()) < 0) {
        rc = api_pack_error_(&f, "ray_wait: too many refs for one message");
        goto out;
    }
    rc = api_client_request_(&f, reqid, &body, &m);
    if (rc != RAY_OK)
        goto out;

    struct mpr r;
    uint32_t cnt;
    if (m.f[1].as.s.len == 1 && (uint8_t)m.f[1].as.s.ptr[0] == 0xc0) {
        rc = api_error_(RAY_EINVAL, "ray_wait: the node refused the request");
        goto out;
    }
    mpr_init(&r, m.f[1].as.s.ptr, m.f[1].as.s.len);
    if (mpr_array(&r, &cnt) < 0 || cnt != n) {
        rc = api_error_(RAY_ECONN, "malformed OBJ_WAIT_OK from the node");
        goto out;
    }
    int marked = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        bool b;
        if (mpr_bool(&r, &b) < 0) {
            for (size_t j = 0; j < n; j++)
                ready[j] = false;
            rc = api_error_(RAY_ECONN, "malformed OBJ_WAIT_OK from the node");
            goto out;
        }
        if (b && (size_t)marked < num_ready) {
            ready[i] = true;
            marked++;
        }
    }
    rc = marked;
out:
    free(body);
    buf_free(&ids);
    buf_free(&f);
    return rc;
}

/* Unlike the other calls, ray_free leaves ray_last_error() as it is unless
 * it fails itself (as free(3) leaves errno): it is the clean-up after a
 * failure, made before the failure's message is printed. */
int ray_free(const ray_ref *refs, size_t n)
{
    if (n == 0)
        return RAY_OK;
    if (refs == NULL)
        return api_error_(RAY_EINVAL, "ray_free: refs is NULL");
    int rc = api_client_check_();
    if (rc != RAY_OK)
        return rc;
    scalar_forget(refs, n);
    struct buf ids = BUF_INIT, f = BUF_INIT;
    rc = pack_ids(&ids, refs, n);
    if (rc == RAY_OK) {
        if (proto_pack(&f, PROTO_OBJ_FREE, ids.data, ids.len) < 0)
            rc = api_pack_error_(&f, "ray_free: too many refs for one message");
        else
            rc = api_client_send_(&f);
    }
    buf_free(&ids);
    buf_free(&f);
    return rc;
}
