/*
 * store.c — the per-node object store: shm region, object index, pins, LRU
 * spilling and restore (objstore.h).
 *
 * DESIGN
 * Region: one POSIX shm object (shm_open O_EXCL, ftruncate, MAP_SHARED). It
 * is never memset, so tmpfs pages appear only when objects touch them.
 * Clients map the same name read-write and write objects in place between
 * create and seal. Everything that describes the region (allocator, index,
 * pins) lives in the daemon's heap, so a client can corrupt object bytes but
 * never the store.
 * Index: the tree's ID map (common/idmap.h: open addressing, backward-shift
 * deletion) from the 20-byte ID to a heap record. Lookups are O(1).
 * LRU: SEALED objects with no pin, no pending delete and no failed spill sit
 * on a doubly linked list in order of last release/seal; spilling takes
 * from its head. Pinning takes an object off; the last unpin puts it at the
 * tail. lru.bytes and inflight (unpinned SPILLING bytes) give, with the free
 * bytes, what could ever be freed, so "can never fit" is decided in O(1).
 * States:
 *   CREATED --seal--> SEALED --spill starts--> SPILLING --write done, no pin--> SPILLED
 *   SPILLING --write done, pinned--> SEALED (the file is kept: has_file)
 *   SPILLED --get, room found--> RESTORING --read done--> SEALED
 *   SPILLED --get, room after spills--> SPILLED + restore_wanted (queued; started
 *           when space is freed; NOMEM then fires the ready callback so get answers)
 * A SPILLING object keeps its memory and stays readable: get pins it and the
 * completion then keeps the memory. A SEALED object whose file is still valid
 * (has_file) spills without a write. Delete of a pinned, SPILLING or
 * RESTORING object only sets delete_pending; the last unpin or the
 * completion finishes it. The helper thread (spill.c) touches only the bytes
 * of jobs whose memory stays allocated until their completion is processed.
 * Making room (make_room): try the allocator; else if free + evictable bytes
 * cannot cover the request -> NOMEM; else start spilling from the LRU head
 * until free + in-flight bytes cover it -> FULL_RETRY. Every FULL_RETRY has a
 * spill in flight, so a completion always comes to retry, and each retry
 * either succeeds, starts more spills or ends in NOMEM: no livelock.
 */
#include "objstore/objstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/idmap.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/populate.h"
#include "common/xmalloc.h"
#include "objstore/alloc.h"
#include "objstore/store_internal.h"

#define CLIENT_MAX (1 << 20)

struct pinrec {
    int client;
    uint32_t n;
};

struct obj {
    uint8_t id[IDS_SIZE];
    uint64_t offset, size, fp; /* fp: bytes taken in the region */
    uint32_t vtype;
    int state;
    bool delete_pending, has_file, restore_wanted, lost, no_spill, listed;
    uint32_t pins;
    struct pinrec *pinv;
    uint32_t npinv, cappinv;
    uint64_t tick;
    TAILQ_ENTRY(obj) link; /* LRU list (SEALED) or restore queue (SPILLED) */
    struct obj *next_spare; /* on the store's spare list */
};

/* Destroyed records kept for the next objstore_create, with their pin
 * array (one allocation less per object on the task path); off under
 * AddressSanitizer, so a use after free of a record is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define OBJ_SPARE_MAX 0
#else
#define OBJ_SPARE_MAX 16384
#endif
#define OBJ_SPARE_PINS 8 /* a bigger pin array is not kept */

struct olist {
    TAILQ_HEAD(, obj) q;
    uint64_t bytes;
};

struct objstore {
    char *shm_name;
    uint8_t *base;
    uint64_t capacity;
    alloc *a;
    spiller *sp;

    struct idmap index; /* ID -> struct obj (owned) */

    struct olist lru, waitq;
    uint64_t inflight; /* bytes of unpinned SPILLING objects */
    uint64_t tick;
    uint64_t num_spilled, spilled_bytes, num_spills, num_restores;
    bool space_pending;
    bool space_signaled;  /* a wake for process_completions is on its way */

    /* client -> how many pins it holds, for clients holding any: a count
     * stored as the value, the client's number as the key (client_key). A
     * hash, not an array by client number: transfers pin as 1,000,000 +
     * their connection. */
    struct idmap client_pins;

    objstore_ready_cb ready_cb;
    void *ready_arg;
    objstore_space_cb space_cb;
    void *space_arg;

    struct obj *spare; /* destroyed records to reuse, through next_spare */
    long nspare; /* signed: compared with a limit that is 0 under ASan */

    struct populate_map *pop; /* chunks of this mapping objstore_prefault did */
};

/* ---- index ---------------------------------------------------------------- */
/* The tree's one ID table (common/idmap.h): ID -> record. */

static struct obj *obj_find(const objstore *s, const uint8_t *id)
{
    return idmap_get(&s->index, id);
}

static void index_put(objstore *s, struct obj *o)
{
    idmap_put(&s->index, o->id, o);
}

static void index_del(objstore *s, const struct obj *o)
{
    idmap_del(&s->index, o->id);
}

/* ---- lists ---------------------------------------------------------------- */

static void list_add(struct olist *l, struct obj *o)
{
    TAILQ_INSERT_TAIL(&l->q, o, link);
    l->bytes += o->fp;
    o->listed = true;
}

static void list_del(struct olist *l, struct obj *o)
{
    TAILQ_REMOVE(&l->q, o, link);
    l->bytes -= o->fp;
    o->listed = false;
}

/* Put O at the LRU tail if it may be spilled. */
static void lru_add(objstore *s, struct obj *o)
{
    if (!o->listed && o->state == OBJSTORE_SEALED && o->pins == 0 && !o->delete_pending &&
        !o->no_spill)
        list_add(&s->lru, o);
}

static void unlist(objstore *s, struct obj *o)
{
    if (!o->listed)
        return;
    if (o->state == OBJSTORE_SPILLED)
        list_del(&s->waitq, o);
    else
        list_del(&s->lru, o);
    o->restore_wanted = false;
}

/* ---- object life ---------------------------------------------------------- */

static void set_state(objstore *s, struct obj *o, int state)
{
    if (o->state == OBJSTORE_SPILLED) {
        s->num_spilled--;
        s->spilled_bytes -= o->size;
    }
    if (state == OBJSTORE_SPILLED) {
        s->num_spilled++;
        s->spilled_bytes += o->size;
    }
    o->state = state;
}

static void mem_release(objstore *s, struct obj *o)
{
    if (alloc_free(s->a, o->offset) != 0)
        log_error("objstore: freeing unknown offset %llu", (unsigned long long)o->offset);
    s->space_pending = true;
}

/* Drop O from the store: memory (if it holds any), file, index. The caller
 * makes sure no helper job still uses O's memory. */
static void obj_destroy(objstore *s, struct obj *o)
{
    unlist(s, o);
    if (o->state != OBJSTORE_SPILLED)
        mem_release(s, o);
    if (o->has_file)
        spill_submit_(s->sp, SPILL_OP_UNLINK, o->id, 0, 0);
    set_state(s, o, OBJSTORE_CREATED); /* settle the spilled counters */
    index_del(s, o);
    if (s->nspare < OBJ_SPARE_MAX && o->cappinv <= OBJ_SPARE_PINS) {
        o->next_spare = s->spare;
        s->spare = o;
        s->nspare++;
    } else {
        free(o->pinv);
        free(o);
    }
    if (!s->space_signaled) { /* space callback from the next process_completions: */
        s->space_signaled = true; /* one wake for every object freed before it runs */
        spill_wake_(s->sp);
    }
}

/* A zeroed record: a spare one (its pin array's memory kept), or new. */
static struct obj *obj_alloc(objstore *s)
{
    struct obj *o = s->spare;
    if (o == NULL)
        return xcalloc(1, sizeof *o);
    s->spare = o->next_spare;
    s->nspare--;
    struct pinrec *pinv = o->pinv;
    uint32_t cap = o->cappinv;
    memset(o, 0, sizeof *o);
    o->pinv = pinv;
    o->cappinv = cap;
    return o;
}

static void client_key(int client, uint8_t key[IDS_SIZE])
{
    memset(key, 0, IDS_SIZE);
    key[0] = (uint8_t)((uint32_t)client >> 24);
    key[1] = (uint8_t)((uint32_t)client >> 16);
    key[2] = (uint8_t)((uint32_t)client >> 8);
    key[3] = (uint8_t)client;
}

/* How many pins CLIENT holds (0: none). */
static uint64_t client_pins_of(const objstore *s, int client)
{
    uint8_t key[IDS_SIZE];
    client_key(client, key);
    return (uint64_t)(uintptr_t)idmap_get(&s->client_pins, key);
}

/* CLIENT holds one pin more (DELTA 1) or one fewer (-1); at none it leaves
 * the table. */
static void client_pins_add(objstore *s, int client, int delta)
{
    uint8_t key[IDS_SIZE];
    client_key(client, key);
    uint64_t n = (uint64_t)(uintptr_t)idmap_get(&s->client_pins, key) + (uint64_t)(int64_t)delta;
    if (n == 0)
        idmap_del(&s->client_pins, key);
    else
        idmap_put(&s->client_pins, key, (void *)(uintptr_t)n);
}

static void pin(objstore *s, struct obj *o, int client)
{
    uint32_t k;
    for (k = 0; k < o->npinv && o->pinv[k].client != client; k++)
        ;
    if (k == o->npinv) {
        if (o->npinv == o->cappinv) {
            o->cappinv = o->cappinv ? o->cappinv * 2 : 2;
            o->pinv = xreallocarray(o->pinv, o->cappinv, sizeof *o->pinv);
        }
        o->pinv[k] = (struct pinrec){ client, 0 };
        o->npinv++;
    }
    o->pinv[k].n++;
    client_pins_add(s, client, 1);
    if (o->pins++ == 0) {
        unlist(s, o);
        if (o->state == OBJSTORE_SPILLING)
            s->inflight -= o->fp;
    }
    o->tick = ++s->tick;
}

/* Returns 0, or -1 if CLIENT holds no pin on O. May destroy O. */
static int unpin(objstore *s, struct obj *o, int client)
{
    uint32_t k;
    for (k = 0; k < o->npinv && o->pinv[k].client != client; k++)
        ;
    if (k == o->npinv)
        return -1;
    if (--o->pinv[k].n == 0)
        o->pinv[k] = o->pinv[--o->npinv];
    client_pins_add(s, client, -1);
    o->tick = ++s->tick;
    if (--o->pins > 0)
        return 0;
    if (o->state == OBJSTORE_SPILLING)
        s->inflight += o->fp;
    if (o->delete_pending) {
        if (o->state == OBJSTORE_SEALED)
            obj_destroy(s, o);
        return 0; /* SPILLING/RESTORING: the completion finishes the delete */
    }
    lru_add(s, o);
    return 0;
}

/* Spill the LRU head: at once if its file is still valid, else on the helper. */
static void spill_one(objstore *s, struct obj *o)
{
    list_del(&s->lru, o);
    if (o->has_file) {
        mem_release(s, o);
        set_state(s, o, OBJSTORE_SPILLED);
        s->num_spills++;
        return;
    }
    set_state(s, o, OBJSTORE_SPILLING);
    s->inflight += o->fp;
    spill_submit_(s->sp, SPILL_OP_WRITE, o->id, o->offset, o->size);
}

static int make_room(objstore *s, uint64_t fp, uint64_t *off)
{
    for (;;) {
        if (alloc_alloc(s->a, fp, off) == 0)
            return OBJSTORE_OK;
        if (fp > s->capacity)
            return OBJSTORE_NOMEM;
        uint64_t freeb = s->capacity - alloc_used(s->a);
        if (freeb + s->lru.bytes + s->inflight < fp)
            return OBJSTORE_NOMEM;
        if (s->inflight > 0 && freeb + s->inflight >= fp)
            return OBJSTORE_FULL_RETRY;
        if (TAILQ_EMPTY(&s->lru.q))
            return s->inflight > 0 ? OBJSTORE_FULL_RETRY : OBJSTORE_NOMEM;
        spill_one(s, TAILQ_FIRST(&s->lru.q));
    }
}

/* SPILLED O: allocate and start reading it back, or queue it. */
static int restore_start(objstore *s, struct obj *o)
{
    uint64_t off;
    int rc = make_room(s, o->fp, &off);
    if (rc == OBJSTORE_OK) {
        o->offset = off;
        set_state(s, o, OBJSTORE_RESTORING);
        spill_submit_(s->sp, SPILL_OP_READ, o->id, o->offset, o->size);
        return OBJSTORE_SPILLED_RESTORING;
    }
    if (rc == OBJSTORE_FULL_RETRY) {
        o->restore_wanted = true;
        list_add(&s->waitq, o);
        return OBJSTORE_SPILLED_RESTORING;
    }
    return rc;
}

static void fill_info(const struct obj *o, struct objstore_info *info)
{
    if (info == NULL)
        return;
    info->offset = o->offset;
    info->size = o->size;
    info->vtype = o->vtype;
    info->state = o->state;
    info->pins = o->pins;
}

/* ---- public ---------------------------------------------------------------- */

objstore *objstore_new(const char *shm_name, uint64_t capacity, const char *spill_dir,
                       char *err, size_t errlen)
{
    objstore *s = xcalloc(1, sizeof *s);
    int fd = -1;
    TAILQ_INIT(&s->lru.q);
    TAILQ_INIT(&s->waitq.q);
    capacity &= ~(uint64_t)(ALLOC_ALIGN - 1);
    if (shm_name == NULL || shm_name[0] != '/' || strchr(shm_name + 1, '/') || capacity == 0 ||
        spill_dir == NULL || spill_dir[0] == '\0') {
        snprintf(err, errlen, "object store: bad shm name, capacity or spill directory");
        goto fail;
    }
    fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "shm_open %s: %s", shm_name, strerror(errno));
        goto fail;
    }
    s->shm_name = xstrdup(shm_name);
    if (ftruncate(fd, (off_t)capacity) != 0) {
        snprintf(err, errlen, "sizing %s to %llu bytes: %s", shm_name,
                 (unsigned long long)capacity, strerror(errno));
        goto fail;
    }
    void *p = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mmap %s: %s", shm_name, strerror(errno));
        goto fail;
    }
    s->base = p;
    s->capacity = capacity;
    close(fd);
    fd = -1;
    s->sp = spill_start_(spill_dir, s->base, err, errlen);
    if (s->sp == NULL)
        goto fail;
    s->a = alloc_new(capacity);
    s->pop = populate_map_new(capacity); /* NULL: every prefault walks its pages */
    return s;
fail:
    if (fd >= 0)
        close(fd);
    if (s->base)
        munmap(s->base, s->capacity);
    if (s->shm_name)
        shm_unlink(s->shm_name);
    free(s->shm_name);
    free(s);
    return NULL;
}

void objstore_free(objstore *s)
{
    if (s == NULL)
        return;
    spill_join_(s->sp);
    size_t pos = 0;
    for (struct idmap_slot *sl; (sl = idmap_next(&s->index, &pos)) != NULL; pos++) {
        struct obj *o = sl->val;
        if (o->has_file || o->state == OBJSTORE_SPILLING)
            spill_unlink_now_(s->sp, o->id);
        free(o->pinv);
        free(o);
    }
    for (struct obj *o = s->spare, *next; o; o = next) {
        next = o->next_spare;
        free(o->pinv);
        free(o);
    }
    spill_rmdir_(s->sp);
    spill_stop_(s->sp);
    idmap_free(&s->index);
    idmap_free(&s->client_pins);
    alloc_destroy(s->a);
    populate_map_free(s->pop);
    munmap(s->base, s->capacity);
    shm_unlink(s->shm_name);
    free(s->shm_name);
    free(s);
}

void *objstore_base(const objstore *s)
{
    return s->base;
}

uint64_t objstore_capacity(const objstore *s)
{
    return s->capacity;
}

const char *objstore_shm_name(const objstore *s)
{
    return s->shm_name;
}

int objstore_create(objstore *s, const uint8_t *id, uint32_t vtype, uint64_t size, uint64_t *offset)
{
    if (obj_find(s, id))
        return OBJSTORE_EXISTS;
    uint64_t fp = alloc_block_size(size), off;
    int rc = make_room(s, fp, &off);
    if (rc != OBJSTORE_OK)
        return rc;
    struct obj *o = obj_alloc(s);
    memcpy(o->id, id, IDS_SIZE);
    o->offset = off;
    o->size = size;
    o->fp = fp;
    o->vtype = vtype;
    o->state = OBJSTORE_CREATED;
    o->tick = ++s->tick;
    index_put(s, o);
    if (offset)
        *offset = off;
    return OBJSTORE_OK;
}

int objstore_seal(objstore *s, const uint8_t *id)
{
    struct obj *o = obj_find(s, id);
    if (o == NULL || o->delete_pending)
        return OBJSTORE_NOT_FOUND;
    if (o->state != OBJSTORE_CREATED)
        return OBJSTORE_ALREADY_SEALED;
    o->state = OBJSTORE_SEALED;
    o->tick = ++s->tick;
    lru_add(s, o);
    if (s->ready_cb)
        s->ready_cb(s->ready_arg, id);
    return OBJSTORE_OK;
}

int objstore_put(objstore *s, const uint8_t *id, uint32_t vtype, const void *data, uint64_t len)
{
    uint64_t off;
    int rc = objstore_create(s, id, vtype, len, &off);
    if (rc != OBJSTORE_OK)
        return rc;
    if (len)
        memcpy(s->base + off, data, len);
    return objstore_seal(s, id);
}

int objstore_get(objstore *s, const uint8_t *id, int client, struct objstore_info *info)
{
    if (client < 0 || client >= CLIENT_MAX)
        return OBJSTORE_EINVAL;
    struct obj *o = obj_find(s, id);
    if (o == NULL || o->delete_pending)
        return OBJSTORE_NOT_FOUND;
    switch (o->state) {
    case OBJSTORE_CREATED:
        return OBJSTORE_NOT_SEALED;
    case OBJSTORE_SEALED:
    case OBJSTORE_SPILLING:
        pin(s, o, client);
        fill_info(o, info);
        return OBJSTORE_FOUND;
    case OBJSTORE_RESTORING:
        return OBJSTORE_SPILLED_RESTORING;
    default: /* SPILLED */
        if (o->lost)
            return OBJSTORE_IO_ERROR;
        if (o->restore_wanted)
            return OBJSTORE_SPILLED_RESTORING;
        return restore_start(s, o);
    }
}

int objstore_release(objstore *s, const uint8_t *id, int client)
{
    struct obj *o = obj_find(s, id);
    if (o == NULL || client < 0 || unpin(s, o, client) != 0)
        return OBJSTORE_NOT_FOUND;
    return OBJSTORE_OK;
}

uint64_t objstore_client_release_all(objstore *s, int client)
{
    if (client < 0 || client_pins_of(s, client) == 0)
        return 0;
    /* collect first: unpinning may delete objects and reshuffle the index */
    struct obj **v = xreallocarray(NULL, s->index.len ? s->index.len : 1, sizeof *v);
    uint64_t n = 0, dropped = 0;
    size_t pos = 0;
    for (struct idmap_slot *sl; (sl = idmap_next(&s->index, &pos)) != NULL; pos++) {
        struct obj *o = sl->val;
        for (uint32_t k = 0; k < o->npinv; k++)
            if (o->pinv[k].client == client) {
                v[n++] = o;
                break;
            }
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t k;
        for (k = 0; k < v[i]->npinv && v[i]->pinv[k].client != client; k++)
            ;
        uint32_t times = v[i]->pinv[k].n;
        for (uint32_t t = 0; t < times; t++)
            unpin(s, v[i], client); /* the last one may free v[i] */
        dropped += times;
    }
    free(v);
    return dropped;
}

bool objstore_contains(const objstore *s, const uint8_t *id)
{
    const struct obj *o = obj_find(s, id);
    return o && !o->delete_pending && o->state != OBJSTORE_CREATED && !o->lost;
}

int objstore_lookup(const objstore *s, const uint8_t *id, struct objstore_info *info)
{
    const struct obj *o = obj_find(s, id);
    if (o == NULL || o->delete_pending)
        return OBJSTORE_NOT_FOUND;
    fill_info(o, info);
    return OBJSTORE_FOUND;
}

int objstore_delete(objstore *s, const uint8_t *id)
{
    struct obj *o = obj_find(s, id);
    if (o == NULL || o->delete_pending)
        return OBJSTORE_NOT_FOUND;
    bool busy = o->state == OBJSTORE_SPILLING || o->state == OBJSTORE_RESTORING ||
                (o->state == OBJSTORE_SEALED && o->pins > 0);
    if (busy) {
        o->delete_pending = true;
        unlist(s, o);
    } else {
        obj_destroy(s, o);
    }
    return OBJSTORE_OK;
}

uint64_t objstore_delete_if(objstore *s, objstore_pred pred, void *arg)
{
    uint8_t (*ids)[IDS_SIZE] = xreallocarray(NULL, s->index.len ? s->index.len : 1, IDS_SIZE);
    uint64_t n = 0, deleted = 0;
    size_t pos = 0;
    for (struct idmap_slot *sl; (sl = idmap_next(&s->index, &pos)) != NULL; pos++) {
        const struct obj *o = sl->val;
        if (!o->delete_pending && pred(o->id, arg))
            memcpy(ids[n++], o->id, IDS_SIZE);
    }
    for (uint64_t i = 0; i < n; i++)
        if (objstore_delete(s, ids[i]) == OBJSTORE_OK)
            deleted++;
    free(ids);
    return deleted;
}

uint64_t objstore_foreach(const objstore *s, objstore_visit_fn fn, void *arg)
{
    uint64_t n = 0;
    size_t pos = 0;
    for (struct idmap_slot *sl; (sl = idmap_next(&s->index, &pos)) != NULL; pos++) {
        const struct obj *o = sl->val;
        if (o->delete_pending)
            continue;
        struct objstore_info info = { .offset = o->offset, .size = o->size, .vtype = o->vtype,
                                      .state = o->state, .pins = o->pins };
        n++;
        if (!fn(o->id, &info, arg))
            break;
    }
    return n;
}

void objstore_set_ready_cb(objstore *s, objstore_ready_cb cb, void *arg)
{
    s->ready_cb = cb;
    s->ready_arg = arg;
}

void objstore_set_space_cb(objstore *s, objstore_space_cb cb, void *arg)
{
    s->space_cb = cb;
    s->space_arg = arg;
}

int objstore_notify_fd(const objstore *s)
{
    return spill_fd_(s->sp);
}

/* Apply one finished job; appends IDs whose waiters must hear to READY. */
static void complete(objstore *s, const struct spill_job *j, uint8_t (*ready)[IDS_SIZE], size_t *nready)
{
    struct obj *o = obj_find(s, j->id);
    char hex[IDS_HEX_SIZE];
    if (j->op == SPILL_OP_WRITE) {
        if (o == NULL || o->state != OBJSTORE_SPILLING)
            return;
        if (o->pins == 0)
            s->inflight -= o->fp;
        if (j->err) {
            errno = j->err;
            log_warn("objstore: spilling %s", ids_hex(o->id, IDS_SIZE, hex));
            set_state(s, o, OBJSTORE_SEALED);
            o->no_spill = true; /* stays in memory from now on */
            s->space_pending = true; /* waiters retry and learn NOMEM if need be */
        } else if (o->pins > 0) {
            set_state(s, o, OBJSTORE_SEALED); /* read while spilling: keep it, and the file */
            o->has_file = true;
            return;
        } else {
            o->has_file = true;
            mem_release(s, o);
            set_state(s, o, OBJSTORE_SPILLED);
            s->num_spills++;
        }
        if (o->delete_pending && o->pins == 0)
            obj_destroy(s, o);
        return;
    }
    /* READ */
    if (o == NULL || o->state != OBJSTORE_RESTORING)
        return;
    if (j->err) {
        errno = j->err;
        log_warn("objstore: restoring %s", ids_hex(o->id, IDS_SIZE, hex));
        mem_release(s, o);
        set_state(s, o, OBJSTORE_SPILLED);
        o->lost = true;
    } else {
        set_state(s, o, OBJSTORE_SEALED);
        s->num_restores++;
        o->tick = ++s->tick;
        lru_add(s, o);
    }
    if (o->delete_pending) {
        obj_destroy(s, o);
        return;
    }
    memcpy(ready[(*nready)++], o->id, IDS_SIZE);
}

void objstore_process_completions(objstore *s)
{
    struct spill_jobs jobs = STAILQ_HEAD_INITIALIZER(jobs);
    s->space_signaled = false; /* (before the drain: a later destroy wakes again) */
    spill_take_done_(s->sp, &jobs);
    size_t cap = 0;
    struct spill_job *j;
    STAILQ_FOREACH(j, &jobs, link)
        cap++;
    struct obj *o;
    TAILQ_FOREACH(o, &s->waitq.q, link)
        cap++;
    uint8_t (*ready)[IDS_SIZE] = xreallocarray(NULL, cap ? cap : 1, IDS_SIZE);
    size_t nready = 0;
    while ((j = STAILQ_FIRST(&jobs)) != NULL) {
        STAILQ_REMOVE_HEAD(&jobs, link);
        complete(s, j, ready, &nready);
        free(j);
    }
    bool space = s->space_pending;
    s->space_pending = false;
    if (space && !TAILQ_EMPTY(&s->waitq.q)) {
        /* retry queued restores, oldest first; each either starts, stays queued or fails */
        struct olist q = { .bytes = s->waitq.bytes };
        TAILQ_INIT(&q.q);
        TAILQ_CONCAT(&q.q, &s->waitq.q, link);
        s->waitq.bytes = 0;
        while ((o = TAILQ_FIRST(&q.q)) != NULL) {
            list_del(&q, o);
            o->restore_wanted = false;
            if (restore_start(s, o) == OBJSTORE_NOMEM)
                memcpy(ready[nready++], o->id, IDS_SIZE);
        }
    }
    if (space && s->space_cb)
        s->space_cb(s->space_arg);
    for (size_t i = 0; i < nready; i++)
        if (s->ready_cb)
            s->ready_cb(s->ready_arg, ready[i]);
    free(ready);
}

void objstore_stats(const objstore *s, struct objstore_stats *st)
{
    memset(st, 0, sizeof *st);
    st->capacity = s->capacity;
    st->used = alloc_used(s->a);
    st->pinned_bytes = st->used - s->lru.bytes - s->inflight;
    st->num_objects = s->index.len;
    st->pin_table_bytes = s->client_pins.cap * sizeof(struct idmap_slot);
    st->num_spilled = s->num_spilled;
    st->spilled_bytes = s->spilled_bytes;
    st->num_spills = s->num_spills;
    st->num_restores = s->num_restores;
}

const char *objstore_rc_name(int rc)
{
    switch (rc) {
    case OBJSTORE_OK: return "OK";
    case OBJSTORE_EXISTS: return "EXISTS";
    case OBJSTORE_FULL_RETRY: return "FULL_RETRY";
    case OBJSTORE_NOMEM: return "NOMEM";
    case OBJSTORE_NOT_FOUND: return "NOT_FOUND";
    case OBJSTORE_NOT_SEALED: return "NOT_SEALED";
    case OBJSTORE_SPILLED_RESTORING: return "SPILLED_RESTORING";
    case OBJSTORE_ALREADY_SEALED: return "ALREADY_SEALED";
    case OBJSTORE_IO_ERROR: return "IO_ERROR";
    case OBJSTORE_EINVAL: return "EINVAL";
    default: return "UNKNOWN";
    }
}

char *objstore_error_format(const objstore *s, int rc, uint64_t asked, char *buf, size_t len)
{
    struct objstore_stats st;
    objstore_stats(s, &st);
    if (rc == OBJSTORE_NOMEM && asked > st.capacity)
        snprintf(buf, len, "object store too small: asked %llu bytes, capacity %llu",
                 (unsigned long long)asked, (unsigned long long)st.capacity);
    else if (rc == OBJSTORE_NOMEM || rc == OBJSTORE_FULL_RETRY)
        snprintf(buf, len, "object store full: asked %llu bytes, %llu of %llu pinned",
                 (unsigned long long)asked, (unsigned long long)st.pinned_bytes,
                 (unsigned long long)st.capacity);
    else
        snprintf(buf, len, "object store: %s", objstore_rc_name(rc));
    return buf;
}

void *objstore_client_map(const char *shm_name, size_t capacity, char *err, size_t errlen)
{
    void *p = NULL;
    int fd = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "shm_open %s: %s", shm_name, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < capacity || capacity == 0) {
        snprintf(err, errlen, "object store %s is smaller than %zu bytes", shm_name, capacity);
        goto fail;
    }
    p = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mmap %s: %s", shm_name, strerror(errno));
        p = NULL;
        goto fail;
    }
fail:
    if (fd >= 0)
        close(fd);
    return p;
}

void objstore_client_unmap(void *base, size_t capacity)
{
    if (base)
        munmap(base, capacity);
}

/* ---- prefaulting ----------------------------------------------------------- */

#define OBJSTORE_PREFAULT_MIN (8u << 20)
#define OBJSTORE_PREFAULT_STEP (32u << 20)
#define OBJSTORE_PREFAULT_RANGES 8

struct prefault {
    void *base;
    int n;
    uint64_t offs[OBJSTORE_PREFAULT_RANGES], lens[OBJSTORE_PREFAULT_RANGES];
};

static void *prefault_main(void *arg)
{
    struct prefault *pf = arg;
    /* in steps, so the writer behind us finds the first pages ready soon */
    for (int i = 0; i < pf->n; i++)
        if (populate_range(pf->base, pf->offs[i], pf->lens[i], OBJSTORE_PREFAULT_STEP) < 0)
            break;
    free(pf);
    return NULL;
}

/* Only the chunks this node has not populated before get a thread's work
 * (s->pop): once a region of the store has been faulted in here, its pages
 * stay mapped, and walking them again for every large object only took CPU
 * from the writer. */
void objstore_prefault(objstore *s, uint64_t offset, uint64_t len)
{
    if (len < OBJSTORE_PREFAULT_MIN || offset + len > s->capacity)
        return;
    struct prefault *pf = malloc(sizeof *pf);
    if (pf == NULL)
        return;
    pf->base = s->base;
    pf->n = populate_claim(s->pop, offset, len, pf->offs, pf->lens, OBJSTORE_PREFAULT_RANGES);
    uint64_t total = 0;
    for (int i = 0; i < pf->n; i++)
        total += pf->lens[i];
    if (total == 0) { /* every chunk done before */
        free(pf);
        return;
    }
    /* (a few new chunks, the object's edges: the thread still walks them,
     * since the map now counts them as done) */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, prefault_main, pf) != 0)
        free(pf);
    pthread_attr_destroy(&attr);
}
