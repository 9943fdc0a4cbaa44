/*
 * collective.c — the ranks' side of ray_collective.h: groups, and the
 * collectives built from one exchange primitive (xchg: post some object
 * references under keys, take others, in one call to the group's
 * rendezvous actor; collective_store.c).
 *
 * DESIGN. Data never goes through the rendezvous: a rank writes what a peer
 * needs into an object (ray_create + memcpy + ray_seal, the one copy out of
 * the caller's buffer) and the peer reads it with ray_get, in place from
 * shared memory on its node (the object manager pulls it from another node
 * first). allreduce is a reduce-scatter followed by an all-gather, each one
 * direct exchange: rank r owns segment r of the array; in phase 1 every
 * rank hands segment j to rank j and rank r reduces the N contributions to
 * its segment (its own, then the others' in rank order: no timing in it); in
 * phase 2 it hands its reduced segment to all and copies theirs in. Each
 * rank sends and receives 2 (N-1)/N of the array, as in a ring allreduce,
 * but in 2 rounds of latency instead of 2 (N-1): on one machine the copies
 * are memory bandwidth and the rounds are what a ring would add. Groups of
 * more than 8 ranks (or any, on request) use ring_allreduce instead: N - 1
 * steps per phase, one neighbour each, so no rank juggles N - 1 transfers.
 * reducescatter is phase 1 alone, reduce is phase 1 then a gather of the
 * segments to the root, allgather and broadcast are one round (broadcast
 * reads the root's one object; across nodes the object manager pulls it
 * once per node), barrier is an all-to-all of empty entries, send/recv one
 * entry per message with a sequence number per pair. Each rank tells the
 * rendezvous which entries it has finished reading in its next xchg (or at
 * close); an object is freed when its last reader is done.
 */
#include "libs/collective/collective_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 120000
#define GET_MARGIN_MS 30000 /* the rendezvous enforces the timeout; this is a backstop */

struct ray_collective_group {
    char name[RAY_COLLECTIVE_NAME_MAX + 1];
    ray_actor store;
    int rank, world;
    int64_t timeout_ms;
    ray_collective_algo algo;
    uint64_t seq;
    uint64_t *sendseq, *recvseq; /* per peer */
    char (*rel)[RAY_COLL_KEY_MAX_];
    size_t nrel, caprel;
    int destroyed;
};

static int check_name(const char *name, char *actor_name, size_t len)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > RAY_COLLECTIVE_NAME_MAX)
        return ray_error_set(RAY_EINVAL,
                             "collective group name must be 1..%d characters",
                             RAY_COLLECTIVE_NAME_MAX);
    snprintf(actor_name, len, "%s%s", RAY_COLL_NAME_PREFIX_, name);
    return RAY_OK;
}

int ray_collective_create_group(const ray_actor *actors, size_t n, int world_size,
                                const int *ranks, const char *name)
{
    char an[RAY_COLLECTIVE_NAME_MAX + 32];
    int rc = check_name(name, an, sizeof an);
    if (rc != RAY_OK)
        return rc;
    if (actors == NULL || n == 0 || n > RAY_COLLECTIVE_MAX_WORLD || world_size != (int)n)
        return ray_error_set(RAY_EINVAL,
                             "collective group '%s': world_size %d and %zu actors (1..%d, equal)",
                             name, world_size, n, RAY_COLLECTIVE_MAX_WORLD);
    ray_value *mem = calloc(n, sizeof *mem), *rk = calloc(n, sizeof *rk);
    char *seen = calloc(n, 1);
    if (mem == NULL || rk == NULL || seen == NULL) {
        rc = ray_error_set(RAY_ENOMEM, "ray_collective_create_group: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int r = ranks ? ranks[i] : (int)i;
        if (r < 0 || r >= world_size || seen[r]) {
            rc = ray_error_set(RAY_EINVAL,
                               "collective group '%s': rank %d of actor %zu is %s", name, r, i,
                               r < 0 || r >= world_size ? "out of range" : "given twice");
            goto out;
        }
        seen[r] = 1;
        mem[i] = RAY_A(actors[i]);
        rk[i] = RAY_I(r);
    }
    ray_actor existing;
    if (ray_actor_lookup(an, &existing) == RAY_OK) {
        rc = ray_error_set(RAY_EINVAL, "collective group '%s' already exists", name);
        goto out;
    }
    ray_opts o = RAY_ACTOR_OPTS;
    o.name = an;
    o.max_concurrency = 2 * world_size + 4;
    ray_value args[] = { RAY_I(world_size), RAY_LIST_V(mem, n), RAY_LIST_V(rk, n), RAY_S(name) };
    ray_actor st;
    if ((rc = ray_actor_create(ray_coll_store_class_, args, 4, &o, &st)) != RAY_OK) {
        rc = ray_error_set(rc, "collective group '%s': cannot start its rendezvous: %s", name,
                           ray_last_error());
        goto out;
    }
    ray_ref r;
    ray_value v;
    if ((rc = ray_actor_call(st, "ping", NULL, 0, NULL, &r)) == RAY_OK &&
        (rc = ray_get(r, 60000, &v)) == RAY_OK) {
        ray_value_release(&v);
        ray_free(&r, 1);
    } else {
        rc = ray_error_set(rc, "collective group '%s': its rendezvous did not start: %s", name,
                           ray_last_error());
        ray_actor_kill(st, true);
    }
out:
    free(mem);
    free(rk);
    free(seen);
    return rc;
}

int ray_collective_destroy_group(const char *name)
{
    char an[RAY_COLLECTIVE_NAME_MAX + 32];
    int rc = check_name(name, an, sizeof an);
    if (rc != RAY_OK)
        return rc;
    ray_actor st;
    if (ray_actor_lookup(an, &st) != RAY_OK)
        return ray_error_set(RAY_ENOTFOUND, "no collective group '%s'", name);
    rc = ray_actor_kill(st, true);
    return rc == RAY_OK ? RAY_OK
                        : ray_error_set(rc, "collective group '%s': %s", name, ray_last_error());
}

int ray_collective_group_open(const char *name, ray_collective_group **out)
{
    char an[RAY_COLLECTIVE_NAME_MAX + 32];
    int rc = check_name(name, an, sizeof an);
    if (rc != RAY_OK)
        return rc;
    if (out == NULL)
        return ray_error_set(RAY_EINVAL, "ray_collective_group_open: OUT is NULL");
    ray_actor me, st;
    if (ray_actor_self(&me) != RAY_OK)
        return ray_error_set(RAY_EINVAL,
                             "collective group '%s': ray_collective_group_open must be called "
                             "inside one of the group's actors",
                             name);
    if (ray_actor_lookup(an, &st) != RAY_OK)
        return ray_error_set(RAY_ENOTFOUND,
                             "no collective group '%s' (never created, or destroyed)", name);
    ray_ref r;
    ray_value v, arg = RAY_A(me);
    if ((rc = ray_actor_call(st, "whoami", &arg, 1, NULL, &r)) != RAY_OK)
        return ray_error_set(rc, "collective group '%s': %s", name, ray_last_error());
    char err[1024];
    rc = ray_get(r, 60000, &v);
    snprintf(err, sizeof err, "%s", rc == RAY_OK ? "" : ray_last_error());
    ray_free(&r, 1); /* a ray_* call: resets ray_last_error() */
    if (rc == RAY_EACTOR)
        return ray_error_set(RAY_ENOTFOUND, "collective group '%s' was destroyed", name);
    if (rc == RAY_ETASK && strstr(err, "this actor is not"))
        return ray_error_set(RAY_EINVAL, "%s", strstr(err, "this actor is not"));
    if (rc != RAY_OK)
        return ray_error_set(rc, "collective group '%s': %s", name, err);
    if (v.type != RAY_LIST || ray_list_len(&v) != 5) {
        ray_value_release(&v);
        return ray_error_set(RAY_EINVAL, "collective group '%s': a bad answer from its rendezvous",
                             name);
    }
    int rank = (int)ray_list_at(&v, 0)->as.i, world = (int)ray_list_at(&v, 1)->as.i;
    ray_collective_group *g = calloc(1, sizeof *g);
    if (g == NULL || (g->sendseq = calloc((size_t)world, 8)) == NULL ||
        (g->recvseq = calloc((size_t)world, 8)) == NULL) {
        ray_value_release(&v);
        if (g)
            free(g->sendseq);
        free(g);
        return ray_error_set(RAY_ENOMEM, "ray_collective_group_open: out of memory");
    }
    /* go on numbering calls where this rank's last handle stopped */
    g->seq = (uint64_t)ray_list_at(&v, 2)->as.i;
    const ray_value *ss = ray_list_at(&v, 3), *rs = ray_list_at(&v, 4);
    if (ss->type == RAY_BYTES && ss->as.buf.len == (size_t)world * 8 && rs->type == RAY_BYTES &&
        rs->as.buf.len == (size_t)world * 8) {
        memcpy(g->sendseq, ss->as.buf.ptr, (size_t)world * 8);
        memcpy(g->recvseq, rs->as.buf.ptr, (size_t)world * 8);
    }
    ray_value_release(&v);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->store = st;
    g->rank = rank;
    g->world = world;
    g->timeout_ms = DEFAULT_TIMEOUT_MS;
    *out = g;
    return RAY_OK;
}

int ray_collective_rank(const ray_collective_group *g)
{
    return g ? g->rank : -1;
}

int ray_collective_world_size(const ray_collective_group *g)
{
    return g ? g->world : -1;
}

void ray_collective_set_timeout(ray_collective_group *g, int64_t timeout_ms)
{
    if (g)
        g->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

void ray_collective_set_algorithm(ray_collective_group *g, ray_collective_algo algo)
{
    if (g && (unsigned)algo <= RAY_COLL_ALGO_RING)
        g->algo = algo;
}

/* ---- the exchange ------------------------------------------------------------ */

static int rel_add(ray_collective_group *g, const char *key)
{
    if (g->nrel == g->caprel) {
        size_t nc = g->caprel ? g->caprel * 2 : 16;
        void *x = realloc(g->rel, nc * sizeof *g->rel);
        if (x == NULL)
            return ray_error_set(RAY_ENOMEM, "collective: out of memory");
        g->rel = x;
        g->caprel = nc;
    }
    snprintf(g->rel[g->nrel++], RAY_COLL_KEY_MAX_, "%s", key);
    return RAY_OK;
}

/*
 * One call to the rendezvous: release what was read since the last one,
 * post NPOST (key, value) pairs for READERS readers each, and wait for the
 * NTAKE TAKE keys; OUT[i] gets TAKE[i]'s value (a REF, or NIL). TAKE keys
 * are queued for release. Returns RAY_OK or the error (set).
 */
static int xchg(ray_collective_group *g, char (*post)[RAY_COLL_KEY_MAX_], const ray_value *pvals,
                size_t npost, int readers, char (*take)[RAY_COLL_KEY_MAX_], size_t ntake,
                ray_value *out)
{
    if (g->destroyed)
        return ray_error_set(RAY_EINVAL, "collective group '%s' was destroyed", g->name);
    size_t nall = npost + ntake + g->nrel;
    ray_value *k = calloc(nall ? nall : 1, sizeof *k);
    if (k == NULL)
        return ray_error_set(RAY_ENOMEM, "collective: out of memory");
    for (size_t i = 0; i < npost; i++)
        k[i] = RAY_S(post[i]);
    for (size_t i = 0; i < ntake; i++)
        k[npost + i] = RAY_S(take[i]);
    for (size_t i = 0; i < g->nrel; i++)
        k[npost + ntake + i] = RAY_S(g->rel[i]);
    ray_value args[] = { RAY_LIST_V(k, npost), RAY_LIST_V(pvals, npost), RAY_I(readers),
                         RAY_LIST_V(k + npost, ntake), RAY_LIST_V(k + npost + ntake, g->nrel),
                         RAY_I(g->timeout_ms) };
    ray_ref r;
    ray_value v;
    int rc = ray_actor_call(g->store, "xchg", args, 6, NULL, &r);
    free(k);
    if (rc != RAY_OK)
        return ray_error_set(rc, "collective group '%s': %s", g->name, ray_last_error());
    char err[1024];
    rc = ray_get(r, g->timeout_ms < 0 ? -1 : g->timeout_ms + GET_MARGIN_MS, &v);
    snprintf(err, sizeof err, "%s", rc == RAY_OK ? "" : ray_last_error());
    ray_free(&r, 1); /* a ray_* call: resets ray_last_error() */
    if (rc == RAY_EACTOR) {
        g->destroyed = 1;
        return ray_error_set(RAY_EINVAL, "collective group '%s' was destroyed", g->name);
    }
    if (rc == RAY_ETASK && strstr(err, "timed out after") && strstr(err, "collective group"))
        return ray_error_set(RAY_ETIMEOUT, "%s", strstr(err, "collective group"));
    if (rc == RAY_ETASK && strstr(err, "collective group"))
        return ray_error_set(rc, "%s", strstr(err, "collective group"));
    if (rc != RAY_OK)
        return ray_error_set(rc, "collective group '%s': %s", g->name, err);
    g->nrel = 0;
    if (v.type != RAY_LIST || ray_list_len(&v) != ntake) {
        ray_value_release(&v);
        return ray_error_set(RAY_EINVAL, "collective group '%s': a bad answer from its rendezvous",
                             g->name);
    }
    for (size_t i = 0; i < ntake; i++) {
        out[i] = *ray_list_at(&v, i);
        rel_add(g, take[i]);
    }
    ray_value_release(&v);
    return RAY_OK;
}

/* An object holding LEN bytes of P (NIL for 0 bytes) in *OUT. */
static int put_bytes(const void *p, size_t len, ray_value *out)
{
    if (len == 0) {
        *out = RAY_NIL_V;
        return RAY_OK;
    }
    void *d;
    ray_ref r;
    int rc = ray_create(len, &d, &r);
    if (rc != RAY_OK)
        return ray_error_set(rc, "collective: cannot make a %zu-byte object: %s", len,
                             ray_last_error());
    memcpy(d, p, len);
    if ((rc = ray_seal(r)) != RAY_OK)
        return rc;
    *out = RAY_R(r);
    return RAY_OK;
}

/* Map V (a REF from xchg, or NIL) and check it holds LEN bytes: *GOT is
 * pinned (ray_value_release it) unless LEN is 0. */
static int get_bytes(ray_collective_group *g, const ray_value *v, size_t len, ray_value *got,
                     int from)
{
    memset(got, 0, sizeof *got);
    if (v->type == RAY_NIL && len == 0)
        return RAY_OK;
    if (v->type != RAY_REF)
        return ray_error_set(RAY_EINVAL, "collective group '%s': rank %d sent no data, expected %zu bytes",
                             g->name, from, len);
    int rc = ray_get(v->as.ref, g->timeout_ms, got);
    if (rc != RAY_OK)
        return ray_error_set(rc, "collective group '%s': reading rank %d's data: %s", g->name,
                             from, ray_last_error());
    if (got->type != RAY_BYTES || got->as.buf.len != len) {
        size_t gl = got->type == RAY_BYTES ? got->as.buf.len : 0;
        ray_value_release(got);
        return ray_error_set(RAY_EINVAL,
                             "collective group '%s': rank %d sent %zu bytes, this rank expected %zu "
                             "(a different count or dtype?)",
                             g->name, from, gl, len);
    }
    return RAY_OK;
}

static int check_args(ray_collective_group *g, const void *buf, size_t count,
                      ray_collective_dtype dt, int op, int root)
{
    if (g == NULL)
        return ray_error_set(RAY_EINVAL, "collective: the group handle is NULL");
    if (g->destroyed)
        return ray_error_set(RAY_EINVAL, "collective group '%s' was destroyed", g->name);
    if (ray_collective_dtype_size(dt) == 0)
        return ray_error_set(RAY_EINVAL, "collective group '%s': unknown dtype %d", g->name, (int)dt);
    if (op < 0 || op > RAY_COLL_MAX)
        return ray_error_set(RAY_EINVAL, "collective group '%s': unknown op %d", g->name, op);
    if (root < 0 || root >= g->world)
        return ray_error_set(RAY_EINVAL, "collective group '%s': rank %d is not in 0..%d", g->name,
                             root, g->world - 1);
    if (buf == NULL && count > 0)
        return ray_error_set(RAY_EINVAL, "collective group '%s': NULL buffer", g->name);
    if (count > SIZE_MAX / 8 / (size_t)g->world)
        return ray_error_set(RAY_EINVAL, "collective group '%s': count too large", g->name);
    return RAY_OK;
}

typedef char key_t_[RAY_COLL_KEY_MAX_];

/*
 * Phase 1 of allreduce / reduce / reducescatter: rank r hands segment j of
 * SRC (element range SEG(j)) to rank j and reduces into DST (its own
 * segment's length) the segment r of every rank, in rank order. SRC and
 * DST may overlap only as DST == SRC + SEG(r) (in place).
 */
static int reduce_scatter(ray_collective_group *g, uint64_t seq, const uint8_t *src,
                          const size_t *lo, const size_t *hi, ray_collective_dtype dt,
                          ray_collective_op op, uint8_t *dst)
{
    int N = g->world, r = g->rank, rc = RAY_OK;
    size_t es = ray_collective_dtype_size(dt), mine = hi[r] - lo[r];
    key_t_ *post = calloc((size_t)N, sizeof *post), *take = calloc((size_t)N, sizeof *take);
    ray_value *pv = calloc((size_t)N, sizeof *pv), *tv = calloc((size_t)N, sizeof *tv);
    size_t np = 0, nt = 0;
    if (!post || !take || !pv || !tv) {
        rc = ray_error_set(RAY_ENOMEM, "collective: out of memory");
        goto out;
    }
    for (int j = 0; j < N; j++) {
        if (j == r)
            continue;
        snprintf(post[np], RAY_COLL_KEY_MAX_, "%llu/rs/%d/%d", (unsigned long long)seq, r, j);
        if ((rc = put_bytes(src + lo[j] * es, (hi[j] - lo[j]) * es, &pv[np])) != RAY_OK)
            goto out;
        np++;
        snprintf(take[nt++], RAY_COLL_KEY_MAX_, "%llu/rs/%d/%d", (unsigned long long)seq, j, r);
    }
    if ((rc = xchg(g, post, pv, np, 1, take, nt, tv)) != RAY_OK)
        goto out;
    /* its own segment first, then the others' in rank order: one rank
     * computes each segment, so the result never depends on timing */
    ray_value got;
    memmove(dst, src + lo[r] * es, mine * es);
    for (int j = 0, t = 0; j < N; j++) {
        if (j == r)
            continue;
        if ((rc = get_bytes(g, &tv[t++], mine * es, &got, j)) != RAY_OK)
            goto out;
        if (mine > 0)
            ray_coll_reduce_(dst, got.as.buf.ptr, mine, dt, op);
        ray_value_release(&got);
    }
out:
    free(post);
    free(take);
    free(pv);
    free(tv);
    return rc;
}

/*
 * Everyone's segment to everyone (the all-gather phase): rank r hands
 * MINE (SEG(r), LEN elements) to all and copies rank j's into DST + SEG(j).
 * ROOT >= 0: only ROOT takes (a gather); the others just post.
 */
static int gather(ray_collective_group *g, uint64_t seq, const char *kind, const uint8_t *mine,
                  const size_t *lo, const size_t *hi, size_t es, uint8_t *dst, int root)
{
    int N = g->world, r = g->rank, rc = RAY_OK;
    key_t_ post[1], *take = calloc((size_t)N, sizeof *take);
    ray_value pv[1], *tv = calloc((size_t)N, sizeof *tv), got;
    size_t nt = 0;
    if (!take || !tv) {
        rc = ray_error_set(RAY_ENOMEM, "collective: out of memory");
        goto out;
    }
    size_t np = 0;
    if (root < 0 || r != root) {
        snprintf(post[0], RAY_COLL_KEY_MAX_, "%llu/%s/%d/*", (unsigned long long)seq, kind, r);
        if ((rc = put_bytes(mine, (hi[r] - lo[r]) * es, &pv[0])) != RAY_OK)
            goto out;
        np = 1;
    }
    if (root < 0 || r == root)
        for (int j = 0; j < N; j++)
            if (j != r)
                snprintf(take[nt++], RAY_COLL_KEY_MAX_, "%llu/%s/%d/*", (unsigned long long)seq,
                         kind, j);
    if ((rc = xchg(g, post, pv, np, root < 0 ? N - 1 : 1, take, nt, tv)) != RAY_OK)
        goto out;
    size_t t = 0;
    for (int j = 0; j < N && nt > 0; j++) {
        if (j == r)
            continue;
        size_t len = (hi[j] - lo[j]) * es;
        if ((rc = get_bytes(g, &tv[t++], len, &got, j)) != RAY_OK)
            goto out;
        if (len)
            memcpy(dst + lo[j] * es, got.as.buf.ptr, len);
        ray_value_release(&got);
    }
out:
    free(take);
    free(tv);
    return rc;
}

static int segments(ray_collective_group *g, size_t count, size_t **lo, size_t **hi)
{
    *lo = calloc((size_t)g->world, sizeof **lo);
    *hi = calloc((size_t)g->world, sizeof **hi);
    if (*lo == NULL || *hi == NULL) {
        free(*lo);
        free(*hi);
        return ray_error_set(RAY_ENOMEM, "collective: out of memory");
    }
    for (int i = 0; i < g->world; i++)
        ray_coll_segment_(count, g->world, i, &(*lo)[i], &(*hi)[i]);
    return RAY_OK;
}

/*
 * allreduce around the ring: in step s of phase 1 rank r hands its partial
 * segment (r - s) mod N to rank r + 1 and folds rank r - 1's partial
 * segment (r - s - 1) into its own copy, so after N - 1 steps it holds the
 * whole reduction of segment (r + 1) mod N; phase 2 passes the finished
 * segments around the ring the same way. Each step is one xchg: post one
 * entry, take one.
 */
static int ring_allreduce(ray_collective_group *g, uint64_t seq, uint8_t *b, const size_t *lo,
                          const size_t *hi, ray_collective_dtype dt, ray_collective_op op)
{
    int N = g->world, r = g->rank, next = (r + 1) % N, prev = (r + N - 1) % N, rc;
    size_t es = ray_collective_dtype_size(dt);
    for (int phase = 0; phase < 2; phase++)
        for (int s = 0; s < N - 1; s++) {
            /* phase 0 sends (r - s), receives (r - s - 1); phase 1 sends
             * (r + 1 - s), receives (r - s) */
            int send = ((r - s + phase) % N + N) % N, recv = ((r - s - 1 + phase) % N + N) % N;
            key_t_ post, take;
            ray_value pv, tv, got;
            snprintf(post, sizeof post, "%llu/ring%d.%d/%d/%d", (unsigned long long)seq, phase, s,
                     r, next);
            snprintf(take, sizeof take, "%llu/ring%d.%d/%d/%d", (unsigned long long)seq, phase, s,
                     prev, r);
            if ((rc = put_bytes(b + lo[send] * es, (hi[send] - lo[send]) * es, &pv)) != RAY_OK ||
                (rc = xchg(g, &post, &pv, 1, 1, &take, 1, &tv)) != RAY_OK)
                return rc;
            size_t n = hi[recv] - lo[recv];
            if ((rc = get_bytes(g, &tv, n * es, &got, prev)) != RAY_OK)
                return rc;
            if (n > 0) {
                if (phase == 0)
                    ray_coll_reduce_(b + lo[recv] * es, got.as.buf.ptr, n, dt, op);
                else
                    memcpy(b + lo[recv] * es, got.as.buf.ptr, n * es);
            }
            ray_value_release(&got);
        }
    return RAY_OK;
}

int ray_collective_allreduce(ray_collective_group *g, void *buf, size_t count,
                             ray_collective_dtype dt, ray_collective_op op)
{
    int rc = check_args(g, buf, count, dt, (int)op, 0);
    if (rc != RAY_OK || g->world == 1 || count == 0)
        return rc;
    size_t *lo, *hi, es = ray_collective_dtype_size(dt);
    if ((rc = segments(g, count, &lo, &hi)) != RAY_OK)
        return rc;
    uint64_t seq = ++g->seq;
    uint8_t *b = buf, *mine = b + lo[g->rank] * es;
    bool ring = g->algo == RAY_COLL_ALGO_RING || (g->algo == RAY_COLL_ALGO_AUTO && g->world > 8);
    if (ring) {
        rc = ring_allreduce(g, seq, b, lo, hi, dt, op);
    } else {
        rc = reduce_scatter(g, seq, b, lo, hi, dt, op, mine);
        if (rc == RAY_OK)
            rc = gather(g, seq, "ag", mine, lo, hi, es, b, -1);
    }
    free(lo);
    free(hi);
    return rc;
}

int ray_collective_reduce(ray_collective_group *g, void *buf, size_t count,
                          ray_collective_dtype dt, ray_collective_op op, int root)
{
    int rc = check_args(g, buf, count, dt, (int)op, root);
    if (rc != RAY_OK || g->world == 1 || count == 0)
        return rc;
    size_t *lo, *hi, es = ray_collective_dtype_size(dt);
    if ((rc = segments(g, count, &lo, &hi)) != RAY_OK)
        return rc;
    uint64_t seq = ++g->seq;
    uint8_t *b = buf, *seg = NULL;
    size_t mine = (hi[g->rank] - lo[g->rank]) * es;
    if (g->rank == root) {
        seg = b + lo[g->rank] * es; /* the root's own segment, in place */
    } else if ((seg = malloc(mine ? mine : 1)) == NULL) {
        rc = ray_error_set(RAY_ENOMEM, "collective: out of memory");
        goto out;
    }
    rc = reduce_scatter(g, seq, b, lo, hi, dt, op, seg);
    if (rc == RAY_OK)
        rc = gather(g, seq, "rg", seg, lo, hi, es, b, root);
    if (g->rank != root)
        free(seg);
out:
    free(lo);
    free(hi);
    return rc;
}

int ray_collective_reducescatter(ray_collective_group *g, const void *send, size_t count,
                                 ray_collective_dtype dt, ray_collective_op op, void *recv)
{
    int rc = check_args(g, send, count, dt, (int)op, 0);
    if (rc == RAY_OK && recv == NULL && count > 0)
        rc = ray_error_set(RAY_EINVAL, "collective group '%s': NULL receive buffer", g->name);
    if (rc != RAY_OK || count == 0)
        return rc;
    size_t es = ray_collective_dtype_size(dt);
    if (g->world == 1) {
        memmove(recv, send, count * es);
        return RAY_OK;
    }
    size_t *lo = calloc((size_t)g->world, sizeof *lo), *hi = calloc((size_t)g->world, sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return ray_error_set(RAY_ENOMEM, "collective: out of memory");
    }
    for (int i = 0; i < g->world; i++) {
        lo[i] = (size_t)i * count;
        hi[i] = lo[i] + count;
    }
    rc = reduce_scatter(g, ++g->seq, send, lo, hi, dt, op, recv);
    free(lo);
    free(hi);
    return rc;
}

int ray_collective_allgather(ray_collective_group *g, const void *send, size_t count,
                             ray_collective_dtype dt, void *recv)
{
    int rc = check_args(g, send, count, dt, 0, 0);
    if (rc == RAY_OK && recv == NULL && count > 0)
        rc = ray_error_set(RAY_EINVAL, "collective group '%s': NULL receive buffer", g->name);
    if (rc != RAY_OK || count == 0)
        return rc;
    size_t es = ray_collective_dtype_size(dt);
    memmove((uint8_t *)recv + (size_t)g->rank * count * es, send, count * es);
    if (g->world == 1)
        return RAY_OK;
    size_t *lo = calloc((size_t)g->world, sizeof *lo), *hi = calloc((size_t)g->world, sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return ray_error_set(RAY_ENOMEM, "collective: out of memory");
    }
    for (int i = 0; i < g->world; i++) {
        lo[i] = (size_t)i * count;
        hi[i] = lo[i] + count;
    }
    rc = gather(g, ++g->seq, "ag", send, lo, hi, es, recv, -1);
    free(lo);
    free(hi);
    return rc;
}

int ray_collective_broadcast(ray_collective_group *g, void *buf, size_t count,
                             ray_collective_dtype dt, int root)
{
    int rc = check_args(g, buf, count, dt, 0, root);
    if (rc != RAY_OK || g->world == 1 || count == 0)
        return rc;
    size_t len = count * ray_collective_dtype_size(dt);
    uint64_t seq = ++g->seq;
    key_t_ key;
    ray_value v, got;
    snprintf(key, sizeof key, "%llu/bc/%d/*", (unsigned long long)seq, root);
    if (g->rank == root) {
        if ((rc = put_bytes(buf, len, &v)) != RAY_OK)
            return rc;
        return xchg(g, &key, &v, 1, g->world - 1, NULL, 0, NULL);
    }
    if ((rc = xchg(g, NULL, NULL, 0, 0, &key, 1, &v)) != RAY_OK)
        return rc;
    if ((rc = get_bytes(g, &v, len, &got, root)) != RAY_OK)
        return rc;
    memcpy(buf, got.as.buf.ptr, len);
    ray_value_release(&got);
    return RAY_OK;
}

int ray_collective_barrier(ray_collective_group *g)
{
    int rc = check_args(g, NULL, 0, RAY_COLL_INT32, 0, 0);
    if (rc != RAY_OK || g->world == 1)
        return rc;
    size_t lo[RAY_COLLECTIVE_MAX_WORLD], hi[RAY_COLLECTIVE_MAX_WORLD];
    memset(lo, 0, (size_t)g->world * sizeof *lo);
    memset(hi, 0, (size_t)g->world * sizeof *hi);
    return gather(g, ++g->seq, "bar", NULL, lo, hi, 1, NULL, -1);
}

int ray_collective_send(ray_collective_group *g, const void *buf, size_t count,
                        ray_collective_dtype dt, int dst)
{
    int rc = check_args(g, buf, count, dt, 0, dst);
    if (rc != RAY_OK)
        return rc;
    if (dst == g->rank)
        return ray_error_set(RAY_EINVAL, "collective group '%s': rank %d cannot send to itself",
                             g->name, dst);
    key_t_ key;
    ray_value v;
    snprintf(key, sizeof key, "%llu/p2p/%d/%d", (unsigned long long)++g->sendseq[dst], g->rank,
             dst);
    if ((rc = put_bytes(buf, count * ray_collective_dtype_size(dt), &v)) != RAY_OK)
        return rc;
    return xchg(g, &key, &v, 1, 1, NULL, 0, NULL);
}

int ray_collective_recv(ray_collective_group *g, void *buf, size_t count, ray_collective_dtype dt,
                        int src)
{
    int rc = check_args(g, buf, count, dt, 0, src);
    if (rc != RAY_OK)
        return rc;
    if (src == g->rank)
        return ray_error_set(RAY_EINVAL, "collective group '%s': rank %d cannot receive from itself",
                             g->name, src);
    key_t_ key;
    ray_value v, got;
    size_t len = count * ray_collective_dtype_size(dt);
    snprintf(key, sizeof key, "%llu/p2p/%d/%d", (unsigned long long)++g->recvseq[src], src,
             g->rank);
    if ((rc = xchg(g, NULL, NULL, 0, 0, &key, 1, &v)) != RAY_OK)
        return rc;
    if ((rc = get_bytes(g, &v, len, &got, src)) != RAY_OK)
        return rc;
    if (len)
        memcpy(buf, got.as.buf.ptr, len);
    ray_value_release(&got);
    return RAY_OK;
}

void ray_collective_group_close(ray_collective_group *g)
{
    if (g == NULL)
        return;
    if (g->nrel > 0 && !g->destroyed)
        xchg(g, NULL, NULL, 0, 0, NULL, 0, NULL); /* just the releases */
    if (!g->destroyed) {
        /* the counters, for this rank's next handle (waited for: the
         * rendezvous runs calls concurrently, so order is not enough) */
        size_t len = (size_t)g->world * 8;
        ray_value args[] = { RAY_I(g->rank), RAY_I((int64_t)g->seq),
                             RAY_BYTES_V(g->sendseq, len), RAY_BYTES_V(g->recvseq, len) };
        ray_ref r;
        ray_value v;
        if (ray_actor_call(g->store, "save", args, 4, NULL, &r) == RAY_OK) {
            if (ray_get(r, 60000, &v) == RAY_OK)
                ray_value_release(&v);
            ray_free(&r, 1);
        }
    }
    free(g->rel);
    free(g->sendseq);
    free(g->recvseq);
    free(g);
}
