/*
 * objrec.c — the object table entries of a node alone in its cluster,
 * written behind.
 *
 * DESIGN. An object's location matters to other nodes only: they look it up
 * to pull it or to wait for it. While a node sees no other node alive, it
 * holds each new object's entry back up to OBJREC_DELAY_MS, and an object
 * freed in that time (the usual fate of a task's small result) never
 * reaches Redis at all: no HSET/SADD on creation, no DEL/SREM on free. An
 * object still alive when its delay runs out is written as usual, so `ray
 * list objects` lags a lone node by at most a second.
 *
 * The moment the node sees another node alive — at the next object sealed
 * or at the next tick, whichever comes first — everything held back is
 * written (publishing each location, so a node already waiting for one of
 * them is called back), and from then on entries are written at once.
 * Entries of a job that ends are dropped: its cleanup deletes the job's
 * objects from the table anyway.
 *
 * It knows the cluster only through the callback it was built with (how
 * many other nodes are alive), and includes nothing of daemon/.
 */
#include "objmgr/objrec.h"

#include "common/idmap.h"
#include "common/ids.h"
#include "common/netutil.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJREC_DELAY_MS 1000
/* Unlinked entries kept for the next objrec_sealed (one allocation less
 * per object on the task path); off under AddressSanitizer, so a use
 * after free of an entry is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define OBJREC_SPARE_MAX 0
#else
#define OBJREC_SPARE_MAX 16384
#endif

struct objrec {
    uint8_t id[IDS_SIZE];
    uint64_t size;
    long long due_ms;
    struct objrec *next, *prev;
};

struct objrecs {
    struct idmap by_id; /* id -> struct objrec */
    struct objrec *head, *tail; /* oldest first */
    struct event *ev;
    struct gcs_client *gcs;
    char node_hex[IDS_HEX_SIZE];
    size_t (*others)(void *ctx);
    void *ctx;
    struct objrec *spare; /* unlinked entries, through next */
    long nspare; /* signed: compared with a limit that is 0 under ASan */
};

static void write_loc(struct objrecs *o, const uint8_t *id, uint64_t size)
{
    char hex[IDS_HEX_SIZE];
    gcs_object_add_location(o->gcs, ids_hex(id, IDS_SIZE, hex), o->node_hex, (long long)size);
}

static void unlink_entry(struct objrecs *o, struct objrec *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        o->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        o->tail = e->prev;
    idmap_del(&o->by_id, e->id);
    if (o->nspare >= OBJREC_SPARE_MAX) {
        free(e);
        return;
    }
    e->next = o->spare;
    o->spare = e;
    o->nspare++;
}

static void arm(struct objrecs *o)
{
    if (o->head == NULL)
        return;
    long long left = o->head->due_ms - net_now_ms();
    if (left < 1)
        left = 1;
    struct timeval tv = { left / 1000, (left % 1000) * 1000 };
    event_add(o->ev, &tv);
}

/* Write what is due, or everything when ALL. */
static void flush(struct objrecs *o, bool all)
{
    long long now = net_now_ms();
    while (o->head && (all || o->head->due_ms <= now)) {
        write_loc(o, o->head->id, o->head->size);
        unlink_entry(o, o->head);
    }
    arm(o);
}

static void objrec_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct objrecs *o = arg;
    flush(o, o->others(o->ctx) > 0);
}

void objrec_sealed(struct objrecs *o, const uint8_t *id, uint64_t size)
{
    if (o->others(o->ctx) > 0) {
        if (o->head)
            flush(o, true);
        write_loc(o, id, size);
        return;
    }
    struct objrec *e = idmap_get(&o->by_id, id);
    if (e) {
        e->size = size; /* made again (a retried task): one entry still */
        return;
    }
    if ((e = o->spare) != NULL) {
        o->spare = e->next;
        o->nspare--;
        memset(e, 0, sizeof *e);
    } else {
        e = xcalloc(1, sizeof *e);
    }
    memcpy(e->id, id, IDS_SIZE);
    e->size = size;
    e->due_ms = net_now_ms() + OBJREC_DELAY_MS;
    e->prev = o->tail;
    if (o->tail)
        o->tail->next = e;
    else
        o->head = e;
    o->tail = e;
    idmap_put(&o->by_id, e->id, e);
    if (e == o->head)
        arm(o);
}

bool objrec_freed(struct objrecs *o, const uint8_t *id)
{
    struct objrec *e = idmap_get(&o->by_id, id);
    if (e == NULL)
        return false;
    unlink_entry(o, e);
    return true;
}

void objrec_job_ended(struct objrecs *o, uint32_t num)
{
    for (struct objrec *e = o->head, *next; e; e = next) {
        next = e->next;
        if (ids_job(e->id) == num)
            unlink_entry(o, e);
    }
}

struct objrecs *objrec_new(struct event_base *base, struct gcs_client *gcs, const char *node_hex,
                           size_t (*others)(void *ctx), void *ctx)
{
    struct objrecs *o = xcalloc(1, sizeof *o);
    o->gcs = gcs;
    snprintf(o->node_hex, sizeof o->node_hex, "%s", node_hex);
    o->others = others;
    o->ctx = ctx;
    o->ev = event_new(base, -1, 0, objrec_tick, o);
    return o;
}

void objrec_free(struct objrecs *o)
{
    if (o == NULL)
        return;
    /* the node is going away with its objects: nothing left to tell */
    while (o->head)
        unlink_entry(o, o->head);
    for (struct objrec *e = o->spare, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    idmap_free(&o->by_id);
    if (o->ev)
        event_free(o->ev);
    free(o);
}
