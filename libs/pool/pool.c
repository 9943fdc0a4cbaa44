/*
 * pool.c — the driver side of ray_pool (include/ray_pool.h): actors, chunks,
 * retries and the hand-out of results.
 *
 * DESIGN
 * A pool is N slots, each an actor of class ray_pool_actor with a
 * generation (bumped when the actor is replaced) and a count of calls in
 * flight. Every map, imap and apply_async is a "run": its items encoded once
 * into one buffer with an offset per item, a cursor over the items not yet
 * sent, a stack of retries, and the calls in flight (ref, slot, generation,
 * chunk). A run makes progress only when its caller drives it (map, iter_next,
 * async_get, join): fill the slots up to WINDOW calls each, ray_wait for one
 * of its calls, decode the chunk's result records into per-item results.
 *
 * A call that fails with RAY_EACTOR/RAY_EWORKER means its actor died: the
 * first run to see it for that generation kills the actor for good and
 * starts a replacement in the slot; each item of the chunk is queued again
 * alone with attempt 1, and an item whose attempt-1 call dies too fails with
 * RAY_EWORKER. Any other call failure fails the chunk's items with its
 * message. Results with STR/BYTES payloads share a refcounted copy of their
 * chunk's bytes (struct hold), so a result outlives the pool and the object
 * is freed at once.
 */
#include "ray_pool.h"

#include "libs/pool/pool_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 2                 /* calls queued per actor */
#define CHUNK_MAX_BYTES (1u << 20)

struct hold {
    size_t refs;
    struct ray_pool_arena_ arena; /* LIST/MAP arrays of the results decoded from DATA */
    uint8_t data[];
};

struct slot {
    ray_actor actor;
    uint32_t gen;
    int inflight; /* calls of this generation not yet collected */
    bool alone;   /* it holds a retry, which must run alone (see chunk_died) */
};

struct chunk {
    size_t first, count;
    int attempt;
};

struct flight {
    ray_ref ref;
    struct chunk c;
    int slot;
    uint32_t gen;
};

struct run {
    ray_pool *p; /* NULL once the pool is freed */
    struct run *prev, *next;
    char *fn;
    size_t n;
    uint8_t *enc;  /* items, encoded back to back */
    size_t *off;   /* n + 1 offsets into enc */
    size_t chunksize;
    size_t cursor; /* first item never sent */
    struct chunk *retry;
    size_t nretry, capretry;
    struct flight *fl;
    size_t nfl, capfl;
    ray_pool_result *res; /* n, by item index */
    bool own_res;
    bool *done;   /* item i's result is in (res[i]) */
    bool *moved;  /* ... and was handed to the caller (no longer ours to release) */
    size_t ndone;
    size_t *order; /* item indices in the order they finished */
    size_t nhanded; /* results handed out (iterators) */
    bool ordered;
    int fatal;      /* the pool's own failure, once */
    char fatal_msg[512];
};

struct ray_pool {
    int n;
    struct slot *slots;
    ray_pool_opts opts;
    bool closed;
    uint64_t restarts;
    unsigned rr; /* round-robin start for ties */
    struct run *runs;
};

struct ray_pool_iter {
    struct run *r;
};

struct ray_pool_async {
    struct run *r;
};

/* ---- errors ------------------------------------------------------------------- */

#define perr ray_error_set

/* ---- results -------------------------------------------------------------------- */

static void hold_unref(void *h)
{
    struct hold *x = h;
    if (x && --x->refs == 0) {
        ray_pool_arena_free_(&x->arena);
        free(x);
    }
}

void ray_pool_result_release(ray_pool_result *r, size_t n)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        hold_unref(r[i].hold_);
        memset(&r[i], 0, sizeof r[i]);
        r[i].error = "";
    }
}

/* Fail item I of R with STATUS and "item I: MSG". */
static void item_fail(struct run *r, size_t i, int status, const char *msg)
{
    if (r->done[i])
        return;
    char buf[1200];
    int len = snprintf(buf, sizeof buf, "item %zu: %s", i, msg);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof buf)
        len = sizeof buf - 1;
    ray_pool_result *res = &r->res[i];
    memset(res, 0, sizeof *res);
    res->index = i;
    res->status = status;
    struct hold *h = calloc(1, sizeof *h + (size_t)len + 1);
    if (h) {
        h->refs = 1;
        memcpy(h->data, buf, (size_t)len + 1);
        res->error = (const char *)h->data;
        res->hold_ = h;
    } else {
        res->error = "item failed (no memory for its message)";
    }
    r->done[i] = true;
    r->order[r->ndone++] = i;
}

/* Every item not done fails with the pool's failure. */
static void run_fail_all(struct run *r, int code, const char *msg)
{
    if (r->fatal == 0) {
        r->fatal = code;
        snprintf(r->fatal_msg, sizeof r->fatal_msg, "%s", msg);
    }
    for (size_t i = 0; i < r->n; i++)
        item_fail(r, i, code, msg);
    r->cursor = r->n;
    r->nretry = 0;
}

/* Decode a chunk's result records (DATA, LEN: the gotten BYTES) into R.
 * The bytes are copied into a hold first and decoded from the copy, so the
 * results' payloads (LIST/MAP arrays included) live in the hold. */
static void chunk_results(struct run *r, const struct chunk *c, const uint8_t *data, size_t len)
{
    struct hold *h = calloc(1, sizeof *h + len);
    size_t k = 0;
    if (h == NULL) {
        for (; k < c->count; k++)
            item_fail(r, c->first + k, RAY_ENOMEM, "no memory for its result");
        return;
    }
    memcpy(h->data, data, len);
    const uint8_t *p = h->data, *end = h->data + len;
    for (; k < c->count; k++) {
        size_t i = c->first + k;
        uint8_t tag;
        if (ray_pool_u8_get_(&p, end, &tag) < 0)
            break;
        if (tag == RAY_POOL_REC_OK_) {
            ray_value v;
            if (ray_pool_value_get_(&p, end, &v, &h->arena) < 0)
                break;
            if (r->done[i])
                continue;
            ray_pool_result *res = &r->res[i];
            memset(res, 0, sizeof *res);
            res->index = i;
            res->status = RAY_OK;
            res->error = "";
            if (v.type == RAY_STR || v.type == RAY_BYTES || v.type == RAY_LIST ||
                v.type == RAY_MAP) {
                h->refs++;
                res->hold_ = h;
            }
            res->value = v;
            r->done[i] = true;
            r->order[r->ndone++] = i;
        } else {
            const char *msg;
            if (ray_pool_str_get_(&p, end, &msg) < 0)
                break;
            item_fail(r, i, RAY_ETASK, msg);
        }
    }
    for (; k < c->count; k++)
        item_fail(r, c->first + k, RAY_ETASK, "its pool actor sent a malformed result");
    if (h->refs == 0) {
        ray_pool_arena_free_(&h->arena);
        free(h);
    }
}

/* ---- slots ----------------------------------------------------------------------- */

static int slot_start(ray_pool *p, int i)
{
    ray_opts o = p->opts.actor;
    o.max_restarts = 0;
    o.max_concurrency = 1; /* an actor's items run in one local context */
    o.name = NULL;
    o.detached = false;
    int rc = ray_actor_create(ray_pool_actor_class_, NULL, 0, &o, &p->slots[i].actor);
    if (rc != RAY_OK)
        return perr(rc, "starting pool actor %d: %s", i, ray_last_error());
    p->slots[i].inflight = 0;
    p->slots[i].alone = false;
    return RAY_OK;
}

/* Slot S's actor (generation GEN) died: replace it unless someone did. */
static int slot_replace(ray_pool *p, int s, uint32_t gen)
{
    struct slot *sl = &p->slots[s];
    if (sl->gen != gen)
        return RAY_OK;
    ray_actor_kill(sl->actor, true);
    sl->gen++;
    p->restarts++;
    return slot_start(p, s);
}

/* ---- runs ------------------------------------------------------------------------- */

static void run_free(struct run *r)
{
    if (r == NULL)
        return;
    if (r->p) {
        if (r->prev)
            r->prev->next = r->next;
        else
            r->p->runs = r->next;
        if (r->next)
            r->next->prev = r->prev;
        /* calls in flight are abandoned; their slots' counts go with them */
        for (size_t k = 0; k < r->nfl; k++) {
            struct slot *sl = &r->p->slots[r->fl[k].slot];
            if (sl->gen == r->fl[k].gen && sl->inflight > 0)
                sl->inflight--;
            if (sl->gen == r->fl[k].gen && r->fl[k].c.attempt > 0)
                sl->alone = false;
        }
    }
    if (r->res && r->own_res) {
        for (size_t i = 0; i < r->n; i++)
            if (r->done[i] && !r->moved[i])
                ray_pool_result_release(&r->res[i], 1);
        free(r->res);
    }
    free(r->fn);
    free(r->enc);
    free(r->off);
    free(r->retry);
    free(r->fl);
    free(r->done);
    free(r->moved);
    free(r->order);
    free(r);
}

/* A run of FN over N items, each NARGS_EACH consecutive values of ITEMS
 * (map: 1) — or, with NARGS_EACH 0, one item of ALL of ITEMS' N values. */
static int run_new(ray_pool *p, const char *fn, const ray_value *items, size_t n,
                   bool one_item, ray_pool_result *res, struct run **out)
{
    *out = NULL;
    if (p == NULL || fn == NULL || (n > 0 && items == NULL))
        return perr(RAY_EINVAL, "ray_pool: pool, function name and items must not be NULL");
    if (p->closed)
        return perr(RAY_EINVAL, "ray_pool: the pool is closed");
    if (ray_function_lookup(fn) == NULL)
        return perr(RAY_EINVAL, "ray_pool: no remote function '%s' in this job (RAY_REMOTE)", fn);
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return perr(RAY_ENOMEM, "ray_pool: out of memory");
    size_t nitems = one_item ? 1 : n;
    struct ray_pool_buf_ b = { 0 };
    r->n = nitems;
    r->fn = strdup(fn);
    r->off = malloc((nitems + 1) * sizeof *r->off);
    r->done = calloc(nitems ? nitems : 1, sizeof *r->done);
    r->moved = calloc(nitems ? nitems : 1, sizeof *r->moved);
    r->order = malloc((nitems ? nitems : 1) * sizeof *r->order);
    r->own_res = res == NULL;
    r->res = res ? res : calloc(nitems ? nitems : 1, sizeof *r->res);
    if (!r->fn || !r->off || !r->done || !r->moved || !r->order || !r->res)
        goto oom;
    for (size_t i = 0; i < nitems; i++) {
        r->off[i] = b.len;
        int rc = one_item ? ray_pool_item_put_(&b, items, n) : ray_pool_item_put_(&b, &items[i], 1);
        if (rc != RAY_OK) {
            ray_pool_buf_free_(&b);
            run_free(r);
            return perr(RAY_EINVAL, "ray_pool: item %zu is not a value the pool can carry", i);
        }
    }
    r->off[nitems] = b.len;
    if (b.oom)
        goto oom;
    r->enc = b.data;
    size_t per = (size_t)p->n * 4;
    r->chunksize = p->opts.chunksize ? p->opts.chunksize : (nitems + per - 1) / per;
    if (r->chunksize == 0)
        r->chunksize = 1;
    r->p = p;
    r->next = p->runs;
    if (p->runs)
        p->runs->prev = r;
    p->runs = r;
    *out = r;
    return RAY_OK;
oom:
    ray_pool_buf_free_(&b);
    run_free(r);
    return perr(RAY_ENOMEM, "ray_pool: out of memory for %zu items", nitems);
}

/* The next chunk to send, from the retries first; false when none. */
static bool next_chunk(struct run *r, struct chunk *c)
{
    if (r->nretry > 0) {
        *c = r->retry[--r->nretry];
        return true;
    }
    if (r->cursor >= r->n)
        return false;
    size_t first = r->cursor, count = 1;
    while (count < r->chunksize && first + count < r->n &&
           r->off[first + count + 1] - r->off[first] <= CHUNK_MAX_BYTES)
        count++;
    r->cursor += count;
    *c = (struct chunk){ first, count, 0 };
    return true;
}

static int push_retry(struct run *r, struct chunk c)
{
    if (r->nretry == r->capretry) {
        size_t cap = r->capretry ? r->capretry * 2 : 16;
        struct chunk *x = realloc(r->retry, cap * sizeof *x);
        if (x == NULL)
            return -1;
        r->retry = x;
        r->capretry = cap;
    }
    r->retry[r->nretry++] = c;
    return 0;
}

/* C's actor died (RC, MSG): queue its items again alone, or fail them. */
static void chunk_died(struct run *r, struct chunk c, int rc, const char *msg)
{
    for (size_t k = c.count; k-- > 0;) {
        size_t i = c.first + k;
        if (c.attempt == 0) {
            if (push_retry(r, (struct chunk){ i, 1, 1 }) == 0)
                continue;
            item_fail(r, i, RAY_ENOMEM, "no memory to retry it");
        } else {
            char m[1100];
            snprintf(m, sizeof m, "its pool actor died running it, twice: %s", msg);
            item_fail(r, i, RAY_EWORKER, m);
        }
    }
}

/* Pick a slot for one more call: fewest in flight, below WINDOW unless
 * FORCE, never one that runs a retry alone. A RETRY wants an idle slot (so
 * that a death during it is its own); -1 when none fits. */
static int pick_slot(ray_pool *p, bool retry, bool force)
{
    int best = -1;
    for (int k = 0; k < p->n; k++) {
        int s = (int)((p->rr + (unsigned)k) % (unsigned)p->n);
        if (p->slots[s].alone && !force)
            continue;
        if (best < 0 || p->slots[s].inflight < p->slots[best].inflight)
            best = s;
    }
    if (best >= 0 && !force && p->slots[best].inflight >= (retry ? 1 : WINDOW))
        return -1;
    p->rr++;
    return best;
}

/* Send chunks while slots have room (and at least one call of R's own). */
static void run_fill(struct run *r)
{
    ray_pool *p = r->p;
    struct chunk c;
    while (r->fatal == 0) {
        bool retry = r->nretry > 0;
        if (!retry && r->cursor >= r->n)
            return;
        int s = pick_slot(p, retry, r->nfl == 0);
        if (s < 0 || !next_chunk(r, &c))
            return;
        if (r->nfl == r->capfl) {
            size_t cap = r->capfl ? r->capfl * 2 : 8;
            struct flight *x = realloc(r->fl, cap * sizeof *x);
            if (x == NULL) {
                run_fail_all(r, RAY_ENOMEM, "out of memory");
                return;
            }
            r->fl = x;
            r->capfl = cap;
        }
        ray_value args[3] = {
            RAY_S(r->fn), RAY_I((int64_t)c.count),
            RAY_BYTES_V(r->enc + r->off[c.first], r->off[c.first + c.count] - r->off[c.first])
        };
        struct flight *f = &r->fl[r->nfl];
        int rc = ray_actor_call(p->slots[s].actor, RAY_POOL_METHOD_, args, 3, NULL, &f->ref);
        if (rc == RAY_EACTOR || rc == RAY_EWORKER) {
            char m[1024];
            snprintf(m, sizeof m, "%s", ray_last_error());
            chunk_died(r, c, rc, m);
            if ((rc = slot_replace(p, s, p->slots[s].gen)) != RAY_OK) {
                run_fail_all(r, rc, ray_last_error());
                return;
            }
            continue;
        }
        if (rc != RAY_OK) {
            char m[1024];
            snprintf(m, sizeof m, "sending a chunk to its pool actor: %s", ray_last_error());
            if (push_retry(r, c) < 0) {} /* the run fails as a whole anyway */
            run_fail_all(r, rc, m);
            return;
        }
        f->c = c;
        f->slot = s;
        f->gen = p->slots[s].gen;
        p->slots[s].inflight++;
        if (c.attempt > 0)
            p->slots[s].alone = true;
        r->nfl++;
    }
}

/* Collect flight K (ready). */
static void run_collect(struct run *r, size_t k)
{
    ray_pool *p = r->p;
    struct flight f = r->fl[k];
    r->fl[k] = r->fl[--r->nfl];
    struct slot *sl = &p->slots[f.slot];
    if (sl->gen == f.gen && sl->inflight > 0)
        sl->inflight--;
    if (sl->gen == f.gen && f.c.attempt > 0)
        sl->alone = false;
    ray_value v;
    int rc = ray_get(f.ref, -1, &v);
    char m[1024];
    if (rc == RAY_OK) {
        if (v.type == RAY_BYTES)
            chunk_results(r, &f.c, v.as.buf.ptr, v.as.buf.len);
        else
            for (size_t i = 0; i < f.c.count; i++)
                item_fail(r, f.c.first + i, RAY_ETASK, "its pool actor sent no results");
        ray_value_release(&v);
    } else if (rc == RAY_EACTOR || rc == RAY_EWORKER) {
        snprintf(m, sizeof m, "%s", ray_last_error());
        chunk_died(r, f.c, rc, m);
        if ((rc = slot_replace(p, f.slot, f.gen)) != RAY_OK)
            run_fail_all(r, rc, ray_last_error());
    } else if (rc == RAY_ETASK) {
        snprintf(m, sizeof m, "%s", ray_last_error());
        for (size_t i = 0; i < f.c.count; i++)
            item_fail(r, f.c.first + i, RAY_ETASK, m);
    } else {
        snprintf(m, sizeof m, "getting a chunk's results: %s", ray_last_error());
        run_fail_all(r, rc, m);
    }
    ray_free(&f.ref, 1);
}

/* One round: send what fits, wait up to TIMEOUT_MS for a call, collect it.
 * Returns RAY_OK (progress, or nothing left to wait for), RAY_ETIMEOUT,
 * RAY_EINVAL (the pool was freed). */
static int run_step(struct run *r, int64_t timeout_ms)
{
    if (r->p == NULL)
        return perr(RAY_EINVAL, "ray_pool: its pool was freed");
    run_fill(r);
    if (r->nfl == 0)
        return RAY_OK;
    ray_ref refs[64];
    bool ready[64];
    size_t n = r->nfl < 64 ? r->nfl : 64;
    for (size_t k = 0; k < n; k++)
        refs[k] = r->fl[k].ref;
    int got = ray_wait(refs, n, 1, timeout_ms, ready);
    if (got < 0) {
        char m[1024];
        snprintf(m, sizeof m, "waiting for the pool's actors: %s", ray_last_error());
        run_fail_all(r, got, m);
        r->nfl = 0;
        return RAY_OK;
    }
    if (got == 0)
        return RAY_ETIMEOUT;
    for (size_t k = n; k-- > 0;)
        if (ready[k])
            run_collect(r, k);
    run_fill(r);
    return RAY_OK;
}

static int run_finish(struct run *r)
{
    while (r->ndone < r->n) {
        int rc = run_step(r, -1);
        if (rc != RAY_OK)
            return rc;
    }
    return RAY_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Drive R until PRED(R) or TIMEOUT_MS pass. */
static int run_until(struct run *r, bool (*pred)(struct run *), int64_t timeout_ms)
{
    uint64_t end = timeout_ms >= 0 ? now_ms() + (uint64_t)timeout_ms : 0;
    while (!pred(r)) {
        int64_t left = -1;
        if (timeout_ms >= 0) {
            uint64_t t = now_ms();
            left = t >= end ? 0 : (int64_t)(end - t);
        }
        int rc = run_step(r, left);
        if (rc == RAY_ETIMEOUT || (rc == RAY_OK && timeout_ms >= 0 && !pred(r) && now_ms() >= end))
            return pred(r) ? RAY_OK : RAY_ETIMEOUT;
        if (rc != RAY_OK)
            return rc;
    }
    return RAY_OK;
}

/* The summary of a finished run: RAY_OK or the first failed item's status. */
static int run_summary(struct run *r)
{
    size_t nfail = 0, first = 0;
    for (size_t i = r->n; i-- > 0;)
        if (r->res[i].status != RAY_OK) {
            nfail++;
            first = i;
        }
    if (nfail == 0)
        return RAY_OK;
    return perr(r->res[first].status, "%zu of %zu items failed; the first: %s", nfail, r->n,
                r->res[first].error);
}

/* ---- the pool ----------------------------------------------------------------------- */

int ray_pool_new(int n, const ray_pool_opts *opts, ray_pool **out)
{
    if (out == NULL || n < 1)
        return perr(RAY_EINVAL, "ray_pool_new: N must be >= 1 and OUT not NULL (N = %d)", n);
    *out = NULL;
    ray_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->slots = calloc((size_t)n, sizeof *p->slots)) == NULL) {
        free(p);
        return perr(RAY_ENOMEM, "ray_pool_new: out of memory");
    }
    p->opts = opts ? *opts : RAY_POOL_OPTS;
    p->n = n;
    for (int i = 0; i < n; i++) {
        int rc = slot_start(p, i);
        if (rc != RAY_OK) {
            for (int k = 0; k < i; k++)
                ray_actor_kill(p->slots[k].actor, true);
            free(p->slots);
            free(p);
            return rc;
        }
    }
    *out = p;
    return RAY_OK;
}

int ray_pool_map(ray_pool *p, const char *fn, const ray_value *items, size_t n,
                 ray_pool_result *results)
{
    struct run *r;
    if (results == NULL && n > 0)
        return perr(RAY_EINVAL, "ray_pool_map: RESULTS must not be NULL");
    int rc = run_new(p, fn, items, n, false, results, &r);
    if (rc != RAY_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        results[i] = (ray_pool_result){ .index = i, .error = "" };
    rc = run_finish(r);
    if (rc == RAY_OK)
        rc = run_summary(r);
    run_free(r);
    return rc;
}

int ray_pool_map_unordered(ray_pool *p, const char *fn, const ray_value *items, size_t n,
                           ray_pool_result *results)
{
    struct run *r;
    if (results == NULL && n > 0)
        return perr(RAY_EINVAL, "ray_pool_map_unordered: RESULTS must not be NULL");
    int rc = run_new(p, fn, items, n, false, NULL, &r);
    if (rc != RAY_OK)
        return rc;
    rc = run_finish(r);
    if (rc == RAY_OK)
        rc = run_summary(r);
    for (size_t k = 0; k < r->ndone; k++) {
        results[k] = r->res[r->order[k]];
        r->moved[r->order[k]] = true;
    }
    run_free(r);
    return rc;
}

int ray_pool_imap(ray_pool *p, const char *fn, const ray_value *items, size_t n, bool ordered,
                  ray_pool_iter **out)
{
    if (out == NULL)
        return perr(RAY_EINVAL, "ray_pool_imap: OUT must not be NULL");
    *out = NULL;
    ray_pool_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return perr(RAY_ENOMEM, "ray_pool_imap: out of memory");
    int rc = run_new(p, fn, items, n, false, NULL, &it->r);
    if (rc != RAY_OK) {
        free(it);
        return rc;
    }
    it->r->ordered = ordered;
    run_fill(it->r);
    *out = it;
    return RAY_OK;
}

static bool next_ready(struct run *r)
{
    if (r->nhanded >= r->n)
        return true;
    return r->ordered ? r->done[r->nhanded] : r->ndone > r->nhanded;
}

int ray_pool_iter_next(ray_pool_iter *it, int64_t timeout_ms, ray_pool_result *out)
{
    if (it == NULL || out == NULL)
        return perr(RAY_EINVAL, "ray_pool_iter_next: IT and OUT must not be NULL");
    struct run *r = it->r;
    if (r->nhanded >= r->n)
        return perr(RAY_ENOTFOUND, "ray_pool_iter_next: every result was handed out");
    int rc = run_until(r, next_ready, timeout_ms);
    if (rc != RAY_OK)
        return rc;
    size_t i = r->ordered ? r->nhanded : r->order[r->nhanded];
    *out = r->res[i];
    r->moved[i] = true; /* the caller's now: run_free must not release it */
    r->nhanded++;
    return RAY_OK;
}

void ray_pool_iter_free(ray_pool_iter *it)
{
    if (it == NULL)
        return;
    /* items already handed out are the caller's; mark the rest as ours */
    run_free(it->r);
    free(it);
}

int ray_pool_apply_async(ray_pool *p, const char *fn, const ray_value *args, size_t nargs,
                         ray_pool_async **out)
{
    if (out == NULL)
        return perr(RAY_EINVAL, "ray_pool_apply_async: OUT must not be NULL");
    *out = NULL;
    if (nargs > 64)
        return perr(RAY_EINVAL, "ray_pool_apply_async: at most 64 arguments (got %zu)", nargs);
    ray_pool_async *a = calloc(1, sizeof *a);
    if (a == NULL)
        return perr(RAY_ENOMEM, "ray_pool_apply_async: out of memory");
    int rc = run_new(p, fn, args, nargs, true, NULL, &a->r);
    if (rc != RAY_OK) {
        free(a);
        return rc;
    }
    run_fill(a->r);
    *out = a;
    return RAY_OK;
}

static bool all_done(struct run *r)
{
    return r->ndone >= r->n;
}

int ray_pool_async_get(ray_pool_async *a, int64_t timeout_ms, ray_pool_result *out)
{
    if (a == NULL || out == NULL)
        return perr(RAY_EINVAL, "ray_pool_async_get: A and OUT must not be NULL");
    int rc = run_until(a->r, all_done, timeout_ms);
    if (rc != RAY_OK)
        return rc;
    *out = a->r->res[0];
    if (out->hold_)
        ((struct hold *)out->hold_)->refs++;
    if (out->status != RAY_OK)
        perr(out->status, "%s", out->error);
    return out->status;
}

bool ray_pool_async_ready(ray_pool_async *a)
{
    if (a == NULL)
        return false;
    if (!all_done(a->r) && a->r->p)
        run_step(a->r, 0);
    return all_done(a->r);
}

void ray_pool_async_free(ray_pool_async *a)
{
    if (a == NULL)
        return;
    run_free(a->r);
    free(a);
}

void ray_pool_close(ray_pool *p)
{
    if (p)
        p->closed = true;
}

int ray_pool_join(ray_pool *p)
{
    if (p == NULL)
        return perr(RAY_EINVAL, "ray_pool_join: no pool");
    if (!p->closed)
        return perr(RAY_EINVAL, "ray_pool_join: call ray_pool_close first");
    int rc = RAY_OK;
    for (struct run *r = p->runs; r; r = r->next) {
        int x = run_finish(r);
        if (x == RAY_OK && r->fatal)
            x = perr(r->fatal, "%s", r->fatal_msg);
        if (rc == RAY_OK)
            rc = x;
    }
    for (int i = 0; i < p->n; i++)
        ray_actor_kill(p->slots[i].actor, true);
    return rc;
}

void ray_pool_free(ray_pool *p)
{
    if (p == NULL)
        return;
    for (struct run *r = p->runs; r; r = r->next)
        r->p = NULL;
    for (int i = 0; i < p->n; i++)
        ray_actor_kill(p->slots[i].actor, true);
    free(p->slots);
    free(p);
}

uint64_t ray_pool_restarts(const ray_pool *p)
{
    return p ? p->restarts : 0;
}

int ray_pool_actor_at(const ray_pool *p, int i, ray_actor *out)
{
    if (p == NULL || out == NULL || i < 0 || i >= p->n)
        return perr(RAY_EINVAL, "ray_pool_actor_at: no actor %d", i);
    *out = p->slots[i].actor;
    return RAY_OK;
}
