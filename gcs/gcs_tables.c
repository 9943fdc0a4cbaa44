/*
 * gcs_tables.c — the cluster's tables on top of the async client: nodes,
 * the event log, objects, tasks, functions, jobs, actors and placement
 * groups. docs/gcs.md describes every key these functions touch.
 *
 * Each call is ONE Redis command: a plain command where one key changes, a
 * short Lua script (EVAL) where several keys must change together. A script
 * runs atomically, and being a single command it is either sent whole or
 * queued whole across reconnects, so a table is never left half-written.
 * Record <-> hash mapping comes from the descriptors in gcs_keys.c.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_keys.h"

/* KEYS[1] hash, KEYS[2..] sets that get ARGV[1]; ARGV[2..] field/value pairs.
 * Replaces the whole record. */
static const char lua_put[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "for i = 2, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end\n"
    "return 1\n";

/* KEYS[1] hash; ARGV[1] channel ('' none), ARGV[2] message, ARGV[3..] pairs.
 * Updates an existing record only; publishes either way. */
static const char lua_update[] =
    "local ok = redis.call('EXISTS', KEYS[1])\n"
    "if ok == 1 and #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end\n"
    "if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end\n"
    "return ok\n";

/* KEYS[1] hash, KEYS[2] set; ARGV[1] id. */
static const char lua_remove[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('SREM', KEYS[2], ARGV[1])\n"
    "return 1\n";

/* KEYS: obj, objloc, objects, jobobjs; ARGV: id, node, size, job8, channel. */
static const char lua_obj_add[] =
    "redis.call('HSET', KEYS[1], 'size', ARGV[3], 'job', ARGV[4])\n"
    "redis.call('SADD', KEYS[2], ARGV[2])\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "redis.call('SADD', KEYS[4], ARGV[1])\n"
    "redis.call('PUBLISH', ARGV[5], ARGV[2])\n"
    "return 1\n";

/* KEYS: objects; ARGV: prefix, node. Removes NODE from every object's
 * locations (a dead node holds nothing). An object left with no holder gets
 * lost_from = NODE in its obj: hash and "LOST <node>" on its channel, so
 * its waiters learn it is gone (lineage, docs/faults.md) rather than
 * taking "no holder" for "not made yet". */
static const char lua_obj_forget_node[] =
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local k = ARGV[1] .. 'objloc:' .. id\n"
    "  if redis.call('SREM', k, ARGV[2]) == 1 and redis.call('SCARD', k) == 0 then\n"
    "    redis.call('HSET', ARGV[1] .. 'obj:' .. id, 'lost_from', ARGV[2])\n"
    "    redis.call('PUBLISH', ARGV[1] .. 'ch:obj:' .. id, 'LOST ' .. ARGV[2])\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* KEYS: obj, objloc, objects, jobobjs; ARGV: id. */
static const char lua_obj_del[] =
    "redis.call('DEL', KEYS[1], KEYS[2])\n"
    "redis.call('SREM', KEYS[3], ARGV[1])\n"
    "redis.call('SREM', KEYS[4], ARGV[1])\n"
    "return 1\n";

/*
 * The task table keeps one hash per job, <p>job:<job>:taskrecs, whose
 * field is a task ID and whose value is the task's record as text:
 *
 *     STATE \n NODE \n ATTEMPTS \n UPDATED_MS \n JOB \n NAME \n SPEC-BYTES
 *
 * (gcs_task_pack_). A burst of tasks of one job is then one HSET of many
 * fields, not one command per task. The scripts below unpack a value into
 * the field/value list HGETALL of a hash would give, so records decode like
 * every other table's (LUA_TASK_UNPACK).
 */
/* Lua: bulk(cmd, key, list) runs CMD [KEY] on the items of LIST, up to 1000
 * at a time: one command per thousand keys rather than one per key. */
#define LUA_BULK                                                                             \
    "local function bulk(cmd, key, list)\n"                                                   \
    "  for i = 1, #list, 1000 do\n"                                                           \
    "    local j = math.min(i + 999, #list)\n"                                                \
    "    if key then redis.call(cmd, key, unpack(list, i, j))\n"                              \
    "    else redis.call(cmd, unpack(list, i, j)) end\n"                                      \
    "  end\n"                                                                                 \
    "end\n"

/* Lua: a finished task enters FK (tasks:finished, scored NOW); beyond KEPT
 * (0: do not trim this time) the oldest leave it and their records leave
 * their job's hash (prefix PFX; a task ID starts with its job's 8 hex
 * digits). Needs locals FK, KEPT, PFX and LUA_BULK. */
#define LUA_TASK_TRIM                                                                        \
    "local excess = KEPT > 0 and redis.call('ZCARD', FK) - KEPT or 0\n"                      \
    "if excess > 0 then\n"                                                                    \
    "  local old = redis.call('ZRANGE', FK, 0, excess - 1)\n"                                 \
    "  redis.call('ZREMRANGEBYRANK', FK, 0, excess - 1)\n"                                    \
    "  local byjob = {}\n"                                                                    \
    "  for i = 1, #old do\n"                                                                  \
    "    local j = string.sub(old[i], 1, 8)\n"                                                \
    "    byjob[j] = byjob[j] or {}\n"                                                         \
    "    table.insert(byjob[j], old[i])\n"                                                    \
    "  end\n"                                                                                 \
    "  for j, ids in pairs(byjob) do bulk('HDEL', PFX .. 'job:' .. j .. ':taskrecs', ids) end\n" \
    "end\n"

/* KEYS: job:<j>:taskrecs, tasks:finished; ARGV: id, state, node|'',
 * attempts|'', now, kept, prefix. A task no longer there is not made again;
 * PENDING does not overwrite FINISHED or FAILED. */
static const char lua_task_state[] =
    LUA_BULK
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local f, p = {}, 1\n"
    "for i = 1, 4 do\n"
    "  local q = string.find(v, '\\n', p, true)\n"
    "  if not q then return 0 end\n"
    "  f[i] = string.sub(v, p, q - 1)\n"
    "  p = q + 1\n"
    "end\n"
    "if ARGV[2] == 'PENDING' and (f[1] == 'FINISHED' or f[1] == 'FAILED') then return 1 end\n"
    "local node = ARGV[3] ~= '' and ARGV[3] or f[2]\n"
    "local att = ARGV[4] ~= '' and ARGV[4] or f[3]\n"
    "redis.call('HSET', KEYS[1], ARGV[1],\n"
    "           ARGV[2] .. '\\n' .. node .. '\\n' .. att .. '\\n' .. ARGV[5] .. '\\n' .. string.sub(v, p))\n"
    "if ARGV[2] == 'FINISHED' or ARGV[2] == 'FAILED' then\n"
    "  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])\n"
    "  local FK, KEPT, PFX = KEYS[2], tonumber(ARGV[6]), ARGV[7]\n"
    LUA_TASK_TRIM
    "else\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "end\n"
    "return 1\n";

/* Trim tasks:finished. KEYS: tasks:finished; ARGV: kept, prefix. */
static const char lua_task_trim[] =
    LUA_BULK
    "local FK, KEPT, PFX = KEYS[1], tonumber(ARGV[1]), ARGV[2]\n"
    LUA_TASK_TRIM
    "return 1\n";

/* One task's record as HGETALL would list it, or nothing. KEYS:
 * job:<j>:taskrecs; ARGV: id. */
static const char lua_task_get[] =
    LUA_TASK_UNPACK
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return {} end\n"
    "return unpackrec(ARGV[1], v)\n";

/* Every task record, through the jobs' hashes (gcs_sync_tasks). KEYS[1]
 * the jobs set; ARGV[1] <p>task: (gcs_sync's family prefix). */
/* KEYS: job:<j>:taskrecs, job:<j>:functions, jobobjs:<job8>, jobkeep:<job8>;
 * ARGV: prefix, "1" to delete task records too. The job's finished task
 * records stay, for `ray list tasks`, until the tasks:finished cap trims
 * them; the records of tasks that never finished go (nothing would ever
 * trim them). */
static const char lua_job_cleanup[] =
    "local p = ARGV[1]\n"
    LUA_BULK
    "if ARGV[2] == '1' then\n"
    "  local ids, open = redis.call('HKEYS', KEYS[1]), {}\n"
    "  for _, id in ipairs(ids) do\n"
    "    if not redis.call('ZSCORE', p .. 'tasks:finished', id) then open[#open + 1] = id end\n"
    "  end\n"
    "  bulk('HDEL', KEYS[1], open)\n"
    "end\n"
    "local ids = redis.call('SMEMBERS', KEYS[3])\n"
    "local keys = {}\n"
    "local gone, kept, keep = {}, {}, redis.call('EXISTS', KEYS[4]) == 1\n"
    "for _, id in ipairs(ids) do\n"
    "  if keep and redis.call('SISMEMBER', KEYS[4], id) == 1 then kept[#kept + 1] = id\n"
    "  else\n"
    "    gone[#gone + 1] = id\n"
    "    keys[#keys + 1] = p .. 'obj:' .. id\n"
    "    keys[#keys + 1] = p .. 'objloc:' .. id\n"
    "  end\n"
    "end\n"
    "bulk('DEL', nil, keys)\n"
    "bulk('SREM', p .. 'objects', gone)\n"
    "redis.call('DEL', KEYS[2], KEYS[3])\n"
    "bulk('SADD', KEYS[3], kept)\n"
    "return 1\n";

/* KEYS: actor, actors, actor_name:<name>; ARGV: id, name, pairs. Returns 0
 * when the name belongs to another actor. */
static const char lua_actor_put[] =
    "if ARGV[2] ~= '' then\n"
    "  local cur = redis.call('GET', KEYS[3])\n"
    "  if cur and cur ~= ARGV[1] then return 0 end\n"
    "  redis.call('SET', KEYS[3], ARGV[1])\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3))\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "return 1\n";

/* KEYS: actor; ARGV: prefix, id, channel, pairs. DEAD releases the name. */
static const char lua_actor_state[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 4))\n"
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if st == 'DEAD' then\n"
    "  local name = redis.call('HGET', KEYS[1], 'name')\n"
    "  if name and name ~= '' then\n"
    "    local k = ARGV[1] .. 'actor_name:' .. name\n"
    "    if redis.call('GET', k) == ARGV[2] then redis.call('DEL', k) end\n"
    "  end\n"
    "end\n"
    "redis.call('PUBLISH', ARGV[3], ARGV[2] .. ' ' .. st)\n"
    "return 1\n";

/* ------------------------------------------------------------- plumbing */

/* What to do with a reply: which callback type FN holds is told by KIND. */
enum tctx_kind { K_DONE, K_LIST, K_GET, K_STRINGS, K_BYTES };
struct tctx {
    enum tctx_kind kind;
    const struct gcs_table_ *t;
    bool conflict_on_zero;
    const char *what; /* for logs */
    union {
        gcs_done_fn done;
        gcs_nodes_fn nodes;
        gcs_jobs_fn jobs;
        gcs_actors_fn actors;
        gcs_pgs_fn pgs;
        gcs_actor_fn actor;
        gcs_pg_fn pg;
        gcs_task_fn task;
        gcs_strings_fn strings;
        gcs_bytes_fn bytes;
    } fn;
    void *arg;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct tctx *tctx_new(enum tctx_kind kind, const char *what, void *arg)
{
    struct tctx *x = xcalloc(1, sizeof *x);
    x->kind = kind;
    x->what = what;
    x->arg = arg;
    return x;
}

static void deliver_list(struct tctx *x, const void *v, size_t n)
{
    if (x->t == &gcs_table_node_)
        x->fn.nodes(x->arg, v, n);
    else if (x->t == &gcs_table_job_)
        x->fn.jobs(x->arg, v, n);
    else if (x->t == &gcs_table_actor_)
        x->fn.actors(x->arg, v, n);
    else if (x->t == &gcs_table_pg_)
        x->fn.pgs(x->arg, v, n);
}

static void deliver_one(struct tctx *x, const void *rec)
{
    if (x->t == &gcs_table_node_)
        x->fn.nodes(x->arg, rec, rec ? 1 : 0);
    else if (x->t == &gcs_table_actor_)
        x->fn.actor(x->arg, rec);
    else if (x->t == &gcs_table_pg_)
        x->fn.pg(x->arg, rec);
    else if (x->t == &gcs_table_task_)
        x->fn.task(x->arg, rec);
}

static void on_table_reply(void *arg, const struct gcs_reply *gr)
{
    struct tctx *x = arg;
    const redisReply *r = (const redisReply *)gr;
    bool failed = r == NULL || r->type == REDIS_REPLY_ERROR;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_warnx("gcs: %s: %s", x->what, r->str);
    switch (x->kind) {
    case K_DONE:
        if (x->fn.done)
            x->fn.done(x->arg, failed ? -1
                               : x->conflict_on_zero && r->type == REDIS_REPLY_INTEGER &&
                                       r->integer == 0
                                   ? GCS_ECONFLICT
                                   : 0);
        break;
    case K_LIST: {
        size_t n = 0;
        void *v = failed ? NULL : gcs_records_from_list_(x->t, r, &n);
        deliver_list(x, v, n);
        gcs_records_free_(x->t, v, n);
        break;
    }
    case K_GET: {
        if (failed || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            deliver_one(x, NULL);
            break;
        }
        void *rec = xcalloc(1, x->t->size);
        if (gcs_record_from_hash_(x->t, rec, r) < 0)
            abort(); /* the daemon's policy on out-of-memory (mem.h) */
        deliver_one(x, rec);
        gcs_records_free_(x->t, rec, 1);
        break;
    }
    case K_STRINGS: {
        if (failed || r->type != REDIS_REPLY_ARRAY) {
            x->fn.strings(x->arg, NULL, 0);
            break;
        }
        const char **names = xcalloc(r->elements + 1, sizeof *names);
        size_t n = 0;
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                names[n++] = r->element[i]->str;
        x->fn.strings(x->arg, names, n);
        free(names);
        break;
    }
    case K_BYTES:
        if (failed || r->type != REDIS_REPLY_STRING)
            x->fn.bytes(x->arg, NULL, 0);
        else
            x->fn.bytes(x->arg, r->str, r->len);
        break;
    }
    free(x);
}

/*
 * Batching. A write nobody waits for (no callback) does not need its own
 * command: such script calls made in one turn of the event loop go out as
 * ONE call of a dispatcher script that runs each of them in order — one
 * command, one append-only-file entry and one script lookup for the lot,
 * instead of one per task state change or object location. Any other
 * command first flushes the batch, so Redis sees every command in the order
 * it was made. The dispatcher runs the very same script bodies, as functions
 * of (KEYS, ARGV).
 */
static const char *const batchable[] = {
    lua_put, lua_update, lua_remove, lua_obj_add, lua_obj_del, lua_task_state,
    lua_task_trim, lua_job_cleanup, lua_actor_put, lua_actor_state,
};
#define NBATCHABLE (sizeof batchable / sizeof batchable[0])
#define BATCH_MAX_OPS 2000

#define BATCH_MAX_HSETS 8

/* Every string of the batch lives in one of its arenas (gcs_keys.h), which
 * keep their memory from one flush to the next: a write that joins the
 * batch allocates nothing once the arenas have grown to a loop turn's size. */
struct batch {
    struct gcs_arena_ args; /* per op: index, nkeys, nargs, keys..., args... */
    int nops;
    /* task records (gcs_task_record): HSET key field value..., one per job hash */
    struct gcs_arena_ hsets[BATCH_MAX_HSETS];
    int nhsets, nrecs;
    struct gcs_arena_ fin;  /* ZADD tasks:finished score id... */
    struct gcs_arena_ now;  /* a command of the table functions sent at once
                             * (arena_command empties it again) */
};

static char *batch_script; /* made once, kept for the process's life */
static pthread_once_t batch_script_once = PTHREAD_ONCE_INIT;

static void batch_script_make(void)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "local F = {}\n");
    for (size_t i = 0; i < NBATCHABLE; i++)
        buf_printf(&b, "F[%zu] = function(KEYS, ARGV)\n%s\nend\n", i, batchable[i]);
    buf_printf(&b, "local i, n = 1, #ARGV\n"
                   "while i <= n do\n"
                   "  local f, nk, na = F[tonumber(ARGV[i])], tonumber(ARGV[i+1]), tonumber(ARGV[i+2])\n"
                   "  local k, a = {}, {}\n"
                   "  for j = 1, nk do k[j] = ARGV[i+2+j] end\n"
                   "  for j = 1, na do a[j] = ARGV[i+2+nk+j] end\n"
                   "  f(k, a)\n"
                   "  i = i + 3 + nk + na\n"
                   "end\n"
                   "return 1\n");
    batch_script = b.data; /* NUL-terminated by buf_printf */
}

static int batch_index(const char *script)
{
    for (size_t i = 0; i < NBATCHABLE; i++)
        if (batchable[i] == script)
            return (int)i;
    return -1;
}

static void batch_free_(void *p)
{
    struct batch *bt = p;
    if (bt == NULL)
        return;
    gcs_arena_free_(&bt->args);
    for (int i = 0; i < BATCH_MAX_HSETS; i++)
        gcs_arena_free_(&bt->hsets[i]);
    gcs_arena_free_(&bt->fin);
    gcs_arena_free_(&bt->now);
    free(bt);
}

static int eval_send_now(struct gcs_client *c, struct tctx *x, const char *script, char **keys,
                         int nkeys, struct gcs_argv_ *args);
static int eval_send_arena(struct gcs_client *c, struct tctx *x, const char *script, int nkeys,
                           struct gcs_arena_ *ar);

/* Send the strings of arena A as one command (nobody waits for its reply);
 * empties A (memory kept). Returns 0, or -1 as gcs_command_argv. */
static int arena_command(struct gcs_client *c, struct gcs_arena_ *a)
{
    int rc = 0;
    if (a->n) {
        const size_t *len;
        const char **v = gcs_arena_argv_(a, &len);
        rc = gcs_command_argv(c, NULL, NULL, a->n, v, len);
    }
    gcs_arena_reset_(a);
    return rc;
}

/* The batch's flush function: runs flagged as flushing (gcs_client_batch_flush_),
 * so nothing joins the batch while it is sent from its arenas in place. */
static void batch_flush_(struct gcs_client *c)
{
    struct batch *bt = gcs_client_batch_(c);
    if (bt == NULL)
        return;
    /* task records first: the scripts after them may change their state */
    for (int i = 0; i < bt->nhsets; i++)
        arena_command(c, &bt->hsets[i]);
    arena_command(c, &bt->fin);
    if (bt->nops)
        eval_send_arena(c, tctx_new(K_DONE, "batched writes", NULL), batch_script, 0, &bt->args);
    gcs_arena_reset_(&bt->args);
    bt->nhsets = bt->nrecs = bt->nops = 0;
}

/* The client's batch, made on first use; NULL while it is being flushed
 * (writes made then go out at once). */
static struct batch *batch_get(struct gcs_client *c)
{
    if (gcs_client_batch_flushing_(c))
        return NULL;
    pthread_once(&batch_script_once, batch_script_make);
    if (batch_script == NULL)
        return NULL;
    struct batch *bt = gcs_client_batch_(c);
    if (bt == NULL) {
        bt = xcalloc(1, sizeof *bt);
        gcs_client_set_batch_(c, bt, batch_flush_, batch_free_);
    }
    return bt;
}

/* An empty arena for a command sent at once (arena_command): the batch's,
 * reused, or OWN (zeroed by the caller, who frees it after) when there is
 * no batch. Nothing between filling it and arena_command uses it again
 * (sending a command flushes the batch, which does not). */
static struct gcs_arena_ *now_arena(struct gcs_client *c, struct gcs_arena_ *own)
{
    struct batch *bt = gcs_client_batch_(c) ? gcs_client_batch_(c) : batch_get(c);
    struct gcs_arena_ *a = bt ? &bt->now : own;
    gcs_arena_reset_(a);
    return a;
}

/* After a write joined the batch: flush it when full, else make sure it
 * goes out at the end of this loop turn. */
static void batch_joined(struct gcs_client *c, struct batch *bt)
{
    if (bt->nops >= BATCH_MAX_OPS || bt->nrecs >= BATCH_MAX_OPS)
        gcs_client_batch_flush_(c);
    else if (bt->nops + bt->nrecs == 1)
        gcs_client_batch_later_(c);
}

/*
 * A fire-and-forget call of a batchable script, written in place: op_begin
 * gives the arena its keys then its arguments go into (NKEYS and NARGS of
 * them, in that order), op_end finishes it. Into the batch, or, while the
 * batch cannot take it (being flushed), into the op's own arena, sent at
 * once by op_end. No allocation when it joins a warm batch.
 */
struct op {
    struct gcs_arena_ *a;
    struct gcs_arena_ own;
    struct batch *bt;
    const char *script;
    int nkeys;
};

static struct gcs_arena_ *op_begin(struct gcs_client *c, struct op *o, const char *script,
                                   int nkeys, int nargs)
{
    memset(o, 0, sizeof *o);
    o->script = script;
    o->nkeys = nkeys;
    o->bt = batch_index(script) >= 0 ? batch_get(c) : NULL;
    if (o->bt == NULL)
        return o->a = &o->own;
    o->a = &o->bt->args;
    gcs_arena_addll_(o->a, batch_index(script));
    gcs_arena_addll_(o->a, nkeys);
    gcs_arena_addll_(o->a, nargs);
    return o->a;
}

/* Returns 0, or -1 when a call sent at once could not be (logged as WHAT). */
static int op_end(struct gcs_client *c, struct op *o, const char *what)
{
    if (o->bt) {
        o->bt->nops++;
        batch_joined(c, o->bt);
        return 0;
    }
    int rc = eval_send_arena(c, tctx_new(K_DONE, what, NULL), o->script, o->nkeys, &o->own);
    gcs_arena_free_(&o->own);
    return rc;
}

/* Send "EVAL SCRIPT nkeys KEYS... ARGS..." (frees KEYS' strings, ARGS);
 * writes nobody waits for join the batch. */
static int eval_send(struct gcs_client *c, struct tctx *x, const char *script, char **keys,
                     int nkeys, struct gcs_argv_ *args)
{
    if (x->kind == K_DONE && x->fn.done == NULL && batch_index(script) >= 0 &&
        !gcs_client_batch_flushing_(c)) {
        struct op o;
        struct gcs_arena_ *a = op_begin(c, &o, script, nkeys, args ? args->n : 0);
        if (o.bt) {
            /* the batch outlives the caller's strings: copy them */
            for (int i = 0; i < nkeys; i++) {
                gcs_arena_adds_(a, keys[i]);
                free(keys[i]);
            }
            for (int i = 0; args && i < args->n; i++)
                gcs_arena_add_(a, args->v[i], args->len[i]);
            if (args)
                gcs_argv_free_(args);
            free(x);
            return op_end(c, &o, NULL);
        }
    }
    return eval_send_now(c, x, script, keys, nkeys, args);
}

/* "EVALSHA sha NKEYS" (or EVAL with the script's text) into A. */
static void script_head(struct gcs_argv_ *a, const char *script, int nkeys, char sha[41])
{
    if (gcs_script_sha_(script, sha)) {
        gcs_argv_adds_(a, "EVALSHA");
        gcs_argv_adds_(a, sha);
    } else {
        gcs_argv_adds_(a, "EVAL");
        gcs_argv_adds_(a, script);
    }
    gcs_argv_addf_(a, "%d", nkeys);
}

static int eval_send_now(struct gcs_client *c, struct tctx *x, const char *script, char **keys,
                         int nkeys, struct gcs_argv_ *args)
{
    struct gcs_argv_ a = { 0 };
    char sha[41];
    script_head(&a, script, nkeys, sha);
    for (int i = 0; i < nkeys; i++)
        gcs_argv_adds_(&a, keys[i]);
    for (int i = 0; args && i < args->n; i++)
        gcs_argv_add_(&a, args->v[i], args->len[i]);
    int rc = gcs_command_argv(c, on_table_reply, x, a.n, a.v, a.len);
    if (rc < 0)
        free(x);
    gcs_argv_free_(&a);
    if (args)
        gcs_argv_free_(args);
    for (int i = 0; i < nkeys; i++)
        free(keys[i]);
    return rc;
}

/* Send SCRIPT with the strings of AR as its NKEYS keys and then arguments
 * (AR stays the caller's; its strings are referred to, not copied). */
static int eval_send_arena(struct gcs_client *c, struct tctx *x, const char *script, int nkeys,
                           struct gcs_arena_ *ar)
{
    struct gcs_argv_ a = { 0 };
    char sha[41];
    script_head(&a, script, nkeys, sha);
    for (int i = 0; i < ar->n; i++)
        gcs_argv_add_(&a, gcs_arena_at_(ar, i), ar->len[i]);
    int rc = gcs_command_argv(c, on_table_reply, x, a.n, a.v, a.len);
    if (rc < 0)
        free(x);
    gcs_argv_free_(&a);
    return rc;
}

/* Key PREFIX + MID + TAIL (TAIL may be NULL) as one string of A. */
static void arena_key(struct gcs_arena_ *a, const char *prefix, const char *mid, const char *tail)
{
    gcs_arena_open_(a);
    gcs_arena_puts_(a, prefix);
    gcs_arena_puts_(a, mid);
    gcs_arena_puts_(a, tail);
    gcs_arena_close_(a);
}

static int list_send(struct gcs_client *c, const struct gcs_table_ *t, const char *set,
                     struct tctx *x)
{
    const char *p = gcs_client_prefix(c);
    char *keys[1] = { gcs_key_(p, "%s", set) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_addf_(&args, "%s%s:", p, t->family);
    x->kind = K_LIST;
    x->t = t;
    return eval_send(c, x, gcs_lua_list_, keys, 1, &args);
}

static int get_send(struct gcs_client *c, const struct gcs_table_ *t, const char *id,
                    struct tctx *x)
{
    x->kind = K_GET;
    x->t = t;
    char *key = gcs_key_(gcs_client_prefix(c), "%s:%s", t->family, id);
    int rc = gcs_command(c, on_table_reply, x, "HGETALL %s", key);
    if (rc < 0)
        free(x);
    free(key);
    return rc;
}

/* Generic whole-record write with lua_put into hash <family>:<id> and SETS. */
static int put_send(struct gcs_client *c, const struct gcs_table_ *t, const char *id,
                    const void *rec, const char *const *sets, int nsets, struct tctx *x)
{
    const char *p = gcs_client_prefix(c);
    char *keys[4];
    keys[0] = gcs_key_(p, "%s:%s", t->family, id);
    for (int i = 0; i < nsets && i < 3; i++)
        keys[i + 1] = gcs_key_(p, "%s", sets[i]);
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, id);
    gcs_argv_add_record_(&args, t, rec);
    return eval_send(c, x, lua_put, keys, 1 + (nsets < 3 ? nsets : 3), &args);
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* ---------------------------------------------------------------- nodes */

int gcs_node_register(struct gcs_client *c, const struct gcs_node *n, gcs_done_fn cb, void *arg)
{
    if (n == NULL || !gcs_id_ok_(n->node_id))
        return -1;
    struct gcs_node copy = *n;
    if (copy.state == NULL || copy.state[0] == '\0')
        copy.state = "ALIVE";
    gcs_node_heartbeat(c, n->node_id, n->last_heartbeat_ms, n->resources_available, n->queue_len);
    struct tctx *x = tctx_new(K_DONE, "node register", arg);
    x->fn.done = cb;
    const char *sets[] = { "nodes" };
    return put_send(c, &gcs_table_node_, n->node_id, &copy, sets, 1, x);
}

int gcs_node_heartbeat(struct gcs_client *c, const char *node_hex, long long now,
                       const char *resources_available, long long queue_len)
{
    if (!gcs_id_ok_(node_hex))
        return -1;
    char *v = xasprintf("%lld\t%lld\t%s", now, queue_len,
                        resources_available ? resources_available : "");
    int rc = gcs_command(c, NULL, NULL, "HSET %shb %s %s", gcs_client_prefix(c), node_hex, v);
    free(v);
    return rc;
}

int gcs_node_mark_dead(struct gcs_client *c, const char *node_hex, const char *reason)
{
    if (!gcs_id_ok_(node_hex))
        return -1;
    const char *p = gcs_client_prefix(c);
    gcs_command(c, NULL, NULL, "HDEL %shb %s", p, node_hex);
    char *keys[1] = { gcs_key_(p, "node:%s", node_hex) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_addf_(&args, "%sch:nodes", p);
    gcs_argv_addf_(&args, "%s DEAD", node_hex);
    gcs_argv_adds_(&args, "state");
    gcs_argv_adds_(&args, "DEAD");
    gcs_argv_adds_(&args, "death_reason");
    gcs_argv_adds_(&args, nz(reason));
    return eval_send(c, tctx_new(K_DONE, "node mark dead", NULL), lua_update, keys, 1, &args);
}

int gcs_nodes_list(struct gcs_client *c, gcs_nodes_fn cb, void *arg)
{
    if (cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_LIST, "nodes list", arg);
    x->fn.nodes = cb;
    const char *p = gcs_client_prefix(c);
    char *keys[1] = { gcs_key_(p, "nodes") };
    struct gcs_argv_ args = { 0 };
    gcs_argv_addf_(&args, "%snode:", p);
    x->t = &gcs_table_node_;
    return eval_send(c, x, gcs_lua_list_nodes_, keys, 1, &args);
}

int gcs_node_get(struct gcs_client *c, const char *node_hex, gcs_nodes_fn cb, void *arg)
{
    if (!gcs_id_ok_(node_hex) || cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_GET, "node get", arg);
    x->fn.nodes = cb;
    return get_send(c, &gcs_table_node_, node_hex, x);
}

struct hb_ctx {
    gcs_heartbeats_fn cb;
    void *arg;
};

static void on_heartbeats(void *arg, const struct gcs_reply *gr)
{
    struct hb_ctx *x = arg;
    const redisReply *r = (const redisReply *)gr;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r && r->type == REDIS_REPLY_ERROR)
            log_warnx("gcs: heartbeats: %s", r->str);
        x->cb(x->arg, NULL, 0);
        free(x);
        return;
    }
    size_t n = r->elements / 2, k = 0;
    struct gcs_heartbeat *v = xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const redisReply *id = r->element[2 * i], *val = r->element[2 * i + 1];
        if (id->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        /* "<ms>\t<queue>\t<resources>": the reply's own buffer is split in place */
        char *s = val->str, *t1 = strchr(s, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2 == NULL)
            continue;
        *t1 = *t2 = '\0';
        v[k].node_id = id->str;
        v[k].last_ms = strtoll(s, NULL, 10);
        v[k].queue_len = strtoll(t1 + 1, NULL, 10);
        v[k].resources_available = t2 + 1;
        k++;
    }
    x->cb(x->arg, v, k);
    free(v);
    free(x);
}

int gcs_node_heartbeats(struct gcs_client *c, gcs_heartbeats_fn cb, void *arg)
{
    if (cb == NULL)
        return -1;
    struct hb_ctx *x = xcalloc(1, sizeof *x);
    x->cb = cb;
    x->arg = arg;
    int rc = gcs_command(c, on_heartbeats, x, "HGETALL %shb", gcs_client_prefix(c));
    if (rc < 0)
        free(x);
    return rc;
}

/* ---------------------------------------------------------------- events */

int gcs_event_add(struct gcs_client *c, const char *kind, const char *id_hex,
                  const char *node_hex, const char *detail)
{
    if (kind == NULL || kind[0] == '\0')
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "events");
    char cap[32], ts[32];
    snprintf(cap, sizeof cap, "%ld", gcs_client_events_cap_(c));
    snprintf(ts, sizeof ts, "%lld", now_ms());
    const char *argv[] = { "XADD", key, "MAXLEN", "~", cap, "*", "ts_ms", ts, "kind", kind,
                           "id", nz(id_hex), "node", nz(node_hex), "detail", nz(detail) };
    struct tctx *x = tctx_new(K_DONE, "event add", NULL);
    int rc = gcs_command_argv(c, on_table_reply, x, (int)(sizeof argv / sizeof argv[0]), argv,
                              NULL);
    if (rc < 0)
        free(x);
    free(key);
    return rc;
}

/* --------------------------------------------------------------- objects */

/* The four keys of object OBJ_HEX's scripts: obj, objloc, objects, jobobjs. */
static void obj_keys(struct gcs_arena_ *a, const char *p, const char *obj_hex)
{
    arena_key(a, p, "obj:", obj_hex);
    arena_key(a, p, "objloc:", obj_hex);
    arena_key(a, p, "objects", NULL);
    gcs_arena_open_(a);
    gcs_arena_puts_(a, p);
    gcs_arena_puts_(a, "jobobjs:");
    gcs_arena_put_(a, obj_hex, strnlen(obj_hex, 8)); /* its job's 8 hex digits */
    gcs_arena_close_(a);
}

int gcs_object_add_location(struct gcs_client *c, const char *obj_hex, const char *node_hex,
                            long long size)
{
    if (!gcs_id_ok_(obj_hex) || !gcs_id_ok_(node_hex))
        return -1;
    const char *p = gcs_client_prefix(c);
    struct op o;
    struct gcs_arena_ *a = op_begin(c, &o, lua_obj_add, 4, 5);
    obj_keys(a, p, obj_hex);
    gcs_arena_adds_(a, obj_hex);
    gcs_arena_adds_(a, node_hex);
    gcs_arena_addll_(a, size);
    gcs_arena_add_(a, obj_hex, strnlen(obj_hex, 8));
    arena_key(a, p, "ch:obj:", obj_hex);
    return op_end(c, &o, "object add location");
}

int gcs_node_forget_objects(struct gcs_client *c, const char *node_hex)
{
    if (!gcs_id_ok_(node_hex))
        return -1;
    const char *p = gcs_client_prefix(c);
    char *keys[1] = { gcs_key_(p, "objects") };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, p);
    gcs_argv_adds_(&args, node_hex);
    return eval_send(c, tctx_new(K_DONE, "node forget objects", NULL), lua_obj_forget_node, keys, 1,
                     &args);
}

int gcs_object_remove_location(struct gcs_client *c, const char *obj_hex, const char *node_hex)
{
    if (!gcs_id_ok_(obj_hex) || !gcs_id_ok_(node_hex))
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "objloc:%s", obj_hex);
    struct tctx *x = tctx_new(K_DONE, "object remove location", NULL);
    int rc = gcs_command(c, on_table_reply, x, "SREM %s %s", key, node_hex);
    if (rc < 0)
        free(x);
    free(key);
    return rc;
}

int gcs_object_delete(struct gcs_client *c, const char *obj_hex)
{
    if (!gcs_id_ok_(obj_hex))
        return -1;
    struct op o;
    struct gcs_arena_ *a = op_begin(c, &o, lua_obj_del, 4, 1);
    obj_keys(a, gcs_client_prefix(c), obj_hex);
    gcs_arena_adds_(a, obj_hex);
    return op_end(c, &o, "object delete");
}

static int strings_send(struct gcs_client *c, const char *key, gcs_strings_fn cb, void *arg,
                        const char *what)
{
    struct tctx *x = tctx_new(K_STRINGS, what, arg);
    x->fn.strings = cb;
    int rc = gcs_command(c, on_table_reply, x, "SMEMBERS %s", key);
    if (rc < 0)
        free(x);
    return rc;
}

int gcs_object_locations(struct gcs_client *c, const char *obj_hex, gcs_strings_fn cb, void *arg)
{
    if (!gcs_id_ok_(obj_hex) || cb == NULL)
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "objloc:%s", obj_hex);
    int rc = strings_send(c, key, cb, arg, "object locations");
    free(key);
    return rc;
}

/* ----------------------------------------------------------------- tasks */

static bool is_final(const char *state)
{
    return strcmp(state, "FINISHED") == 0 || strcmp(state, "FAILED") == 0;
}

/* The job a task ID belongs to: its first 8 hex digits (common/ids.h). */
static bool task_job8(const char *task_hex, char job8[9])
{
    if (strlen(task_hex) < 8)
        return false;
    memcpy(job8, task_hex, 8);
    job8[8] = '\0';
    return true;
}

/* Put T's packed record (the format above lua_task_state) into the string
 * being built in A, its times in decimal without printf (one per task). */
static void task_pack(struct gcs_arena_ *a, const struct gcs_task *t)
{
    const char *text[] = { t->state, nz(t->node), NULL, NULL, t->job, nz(t->name) };
    for (int i = 0; i < 6; i++) {
        if (i == 2 || i == 3) {
            gcs_arena_putll_(a, i == 2 ? t->attempts : t->updated_ms);
        } else {
            /* a line break would end the field: such a byte is written as a space */
            const char *s = text[i], *nl;
            while ((nl = strchr(s, '\n')) != NULL) {
                gcs_arena_put_(a, s, (size_t)(nl - s));
                gcs_arena_put_(a, " ", 1);
                s = nl + 1;
            }
            gcs_arena_puts_(a, s);
        }
        gcs_arena_put_(a, "\n", 1);
    }
    if (t->spec_len)
        gcs_arena_put_(a, t->spec, t->spec_len);
}

/* T's record packed as one string of A (T's fields checked, updated_ms set). */
static void task_pack_add(struct gcs_arena_ *a, const struct gcs_task *t)
{
    gcs_arena_open_(a);
    task_pack(a, t);
    gcs_arena_close_(a);
}

/* <p>job:<job8>:taskrecs as one string of A. */
static void taskrecs_key(struct gcs_arena_ *a, const char *p, const char job8[9])
{
    gcs_arena_open_(a);
    gcs_arena_puts_(a, p);
    gcs_arena_puts_(a, "job:");
    gcs_arena_puts_(a, job8);
    gcs_arena_puts_(a, ":taskrecs");
    gcs_arena_close_(a);
}

/* True for a record gcs_task_record(_nx) can write; fills JOB8. */
static bool task_ok(const struct gcs_task *t, char job8[9])
{
    return t && gcs_id_ok_(t->task_id) && gcs_id_ok_(t->job) && t->state && t->state[0] &&
           task_job8(t->task_id, job8);
}

/*
 * Records wait in the batch (struct batch) as one HSET per job hash and one
 * ZADD for those that finished, and go out ahead of the batch's scripts, so
 * a state change made after a record finds it. The HSET of job JOB8, begun
 * if need be (flushing the batch when all are in use); NULL when the batch
 * cannot take it now.
 */
static struct gcs_arena_ *batch_hset(struct gcs_client *c, const char *p, const char job8[9])
{
    struct batch *bt = batch_get(c);
    if (bt == NULL)
        return NULL;
    size_t plen = strlen(p);
    for (int i = 0; i < bt->nhsets; i++) {
        const char *k = gcs_arena_at_(&bt->hsets[i], 1); /* <p>job:<job8>:taskrecs */
        if (bt->hsets[i].len[1] == plen + 4 + 8 + 9 && memcmp(k + plen + 4, job8, 8) == 0)
            return &bt->hsets[i];
    }
    if (bt->nhsets == BATCH_MAX_HSETS) {
        gcs_client_batch_flush_(c);
        if (bt->nhsets == BATCH_MAX_HSETS)
            return NULL;
    }
    struct gcs_arena_ *a = &bt->hsets[bt->nhsets++];
    gcs_arena_reset_(a);
    gcs_arena_adds_(a, "HSET");
    taskrecs_key(a, p, job8);
    return a;
}

/* "CMD <p>job:<job8>:taskrecs id record" sent at once from A (now_arena's). */
static int record_now(struct gcs_client *c, struct gcs_arena_ *a, const char *cmd, const char *p,
                      const char job8[9], const struct gcs_task *rec)
{
    gcs_arena_adds_(a, cmd);
    taskrecs_key(a, p, job8);
    gcs_arena_adds_(a, rec->task_id);
    task_pack_add(a, rec);
    return arena_command(c, a);
}

int gcs_task_record_nx(struct gcs_client *c, const struct gcs_task *t)
{
    char job8[9];
    if (!task_ok(t, job8))
        return -1;
    struct gcs_task rec = *t;
    rec.updated_ms = now_ms();
    if (rec.spec == NULL)
        rec.spec_len = 0;
    struct gcs_arena_ own = { 0 }, *a = now_arena(c, &own);
    int rc = record_now(c, a, "HSETNX", gcs_client_prefix(c), job8, &rec);
    gcs_arena_free_(&own);
    return rc;
}

/* Trim tasks:finished to the client's cap when this final write's turn has
 * come (gcs_client_trim_bound_): a script call that joins the batch. */
static void task_trim_maybe(struct gcs_client *c, const char *p)
{
    long kept = gcs_client_trim_bound_(c);
    if (kept <= 0)
        return;
    struct op o;
    struct gcs_arena_ *a = op_begin(c, &o, lua_task_trim, 1, 2);
    arena_key(a, p, "tasks:finished", NULL);
    gcs_arena_addll_(a, kept);
    gcs_arena_adds_(a, p);
    op_end(c, &o, "task trim");
}

int gcs_task_record(struct gcs_client *c, const struct gcs_task *t)
{
    char job8[9];
    if (!task_ok(t, job8))
        return -1;
    const char *p = gcs_client_prefix(c);
    struct gcs_task rec = *t;
    rec.updated_ms = now_ms();
    if (rec.spec == NULL)
        rec.spec_len = 0;
    bool fin = is_final(rec.state);
    int rc = 0;
    struct gcs_arena_ *h = batch_hset(c, p, job8);
    if (h == NULL) { /* the batch is being flushed: HSET (and ZADD) now */
        struct gcs_arena_ own = { 0 }, *a = now_arena(c, &own);
        rc = record_now(c, a, "HSET", p, job8, &rec);
        if (fin && rc == 0) {
            gcs_arena_adds_(a, "ZADD");
            arena_key(a, p, "tasks:finished", NULL);
            gcs_arena_addll_(a, rec.updated_ms);
            gcs_arena_adds_(a, rec.task_id);
            rc = arena_command(c, a);
        }
        gcs_arena_free_(&own);
    } else {
        struct batch *bt = gcs_client_batch_(c);
        gcs_arena_adds_(h, rec.task_id);
        task_pack_add(h, &rec);
        bt->nrecs++;
        if (fin) {
            if (bt->fin.n == 0) {
                gcs_arena_adds_(&bt->fin, "ZADD");
                arena_key(&bt->fin, p, "tasks:finished", NULL);
            }
            gcs_arena_addll_(&bt->fin, rec.updated_ms);
            gcs_arena_adds_(&bt->fin, rec.task_id);
        }
    }
    if (fin && rc == 0)
        task_trim_maybe(c, p);
    if (h)
        batch_joined(c, gcs_client_batch_(c));
    return rc;
}

int gcs_task_put(struct gcs_client *c, const char *task_hex, const char *job_hex,
                 const char *name, const void *spec, size_t speclen)
{
    struct gcs_task t = {
        .task_id = (char *)task_hex, .job = (char *)job_hex, .name = (char *)nz(name),
        .state = "PENDING", .node = "", .attempts = 0,
        .spec = (char *)spec, .spec_len = spec ? speclen : 0,
    };
    return gcs_task_record(c, &t);
}

int gcs_task_set_state(struct gcs_client *c, const char *task_hex, const char *state,
                       const char *node_hex, int attempts)
{
    char job8[9];
    if (!gcs_id_ok_(task_hex) || state == NULL || state[0] == '\0' || !task_job8(task_hex, job8))
        return -1;
    const char *p = gcs_client_prefix(c);
    struct op o;
    struct gcs_arena_ *a = op_begin(c, &o, lua_task_state, 2, 7);
    taskrecs_key(a, p, job8);
    arena_key(a, p, "tasks:finished", NULL);
    gcs_arena_adds_(a, task_hex);
    gcs_arena_adds_(a, state);
    gcs_arena_adds_(a, nz(node_hex));
    if (attempts >= 0)
        gcs_arena_addll_(a, attempts);
    else
        gcs_arena_adds_(a, "");
    gcs_arena_addll_(a, now_ms());
    gcs_arena_addll_(a, is_final(state) ? gcs_client_trim_bound_(c) : 0);
    gcs_arena_adds_(a, p);
    return op_end(c, &o, "task set state");
}

int gcs_task_get(struct gcs_client *c, const char *task_hex, gcs_task_fn cb, void *arg)
{
    char job8[9];
    if (!gcs_id_ok_(task_hex) || cb == NULL || !task_job8(task_hex, job8))
        return -1;
    struct tctx *x = tctx_new(K_GET, "task get", arg);
    x->fn.task = cb;
    x->t = &gcs_table_task_;
    char *keys[1] = { gcs_key_(gcs_client_prefix(c), "job:%s:taskrecs", job8) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, task_hex);
    return eval_send(c, x, lua_task_get, keys, 1, &args);
}

/* ------------------------------------------------------------- functions */

int gcs_function_put(struct gcs_client *c, const char *hash_hex, const void *bytes, size_t len,
                     gcs_done_fn cb, void *arg)
{
    if (!gcs_id_ok_(hash_hex) || (bytes == NULL && len > 0))
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "fnlib:%s", hash_hex);
    struct tctx *x = tctx_new(K_DONE, "function put", arg);
    x->fn.done = cb;
    int rc = gcs_command(c, on_table_reply, x, "SET %s %b NX", key, bytes ? bytes : "", len);
    if (rc < 0)
        free(x);
    free(key);
    return rc;
}

int gcs_function_get(struct gcs_client *c, const char *hash_hex, gcs_bytes_fn cb, void *arg)
{
    if (!gcs_id_ok_(hash_hex) || cb == NULL)
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "fnlib:%s", hash_hex);
    struct tctx *x = tctx_new(K_BYTES, "function get", arg);
    x->fn.bytes = cb;
    int rc = gcs_command(c, on_table_reply, x, "GET %s", key);
    if (rc < 0)
        free(x);
    free(key);
    return rc;
}

int gcs_job_functions_add(struct gcs_client *c, const char *job_hex, const char *const *names,
                          size_t n)
{
    if (!gcs_id_ok_(job_hex) || (names == NULL && n > 0))
        return -1;
    if (n == 0)
        return 0;
    char *key = gcs_key_(gcs_client_prefix(c), "job:%s:functions", job_hex);
    struct gcs_argv_ a = { 0 };
    gcs_argv_adds_(&a, "SADD");
    gcs_argv_adds_(&a, key);
    for (size_t i = 0; i < n; i++)
        gcs_argv_adds_(&a, names[i]);
    struct tctx *x = tctx_new(K_DONE, "job functions add", NULL);
    int rc = gcs_command_argv(c, on_table_reply, x, a.n, a.v, a.len);
    if (rc < 0)
        free(x);
    gcs_argv_free_(&a);
    free(key);
    return rc;
}

int gcs_job_functions(struct gcs_client *c, const char *job_hex, gcs_strings_fn cb, void *arg)
{
    if (!gcs_id_ok_(job_hex) || cb == NULL)
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "job:%s:functions", job_hex);
    int rc = strings_send(c, key, cb, arg, "job functions");
    free(key);
    return rc;
}

/* ------------------------------------------------------------------ jobs */

int gcs_job_put(struct gcs_client *c, const struct gcs_job *j, gcs_done_fn cb, void *arg)
{
    if (j == NULL || !gcs_id_ok_(j->job_id))
        return -1;
    struct tctx *x = tctx_new(K_DONE, "job put", arg);
    x->fn.done = cb;
    const char *sets[] = { "jobs" };
    return put_send(c, &gcs_table_job_, j->job_id, j, sets, 1, x);
}

int gcs_job_set_state(struct gcs_client *c, const char *job_hex, const char *state,
                      long long end_time_ms)
{
    if (!gcs_id_ok_(job_hex) || state == NULL || state[0] == '\0')
        return -1;
    char *keys[1] = { gcs_key_(gcs_client_prefix(c), "job:%s", job_hex) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, "");
    gcs_argv_adds_(&args, "");
    gcs_argv_adds_(&args, "state");
    gcs_argv_adds_(&args, state);
    if (end_time_ms > 0) {
        gcs_argv_adds_(&args, "end_time_ms");
        gcs_argv_addf_(&args, "%lld", end_time_ms);
    }
    return eval_send(c, tctx_new(K_DONE, "job set state", NULL), lua_update, keys, 1, &args);
}

int gcs_jobs_list(struct gcs_client *c, gcs_jobs_fn cb, void *arg)
{
    if (cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_LIST, "jobs list", arg);
    x->fn.jobs = cb;
    return list_send(c, &gcs_table_job_, "jobs", x);
}

/* KEYS[4] of lua_job_cleanup: jobkeep:<job8>, the objects of the job that a
 * detached actor keeps: they stay (and stay in jobobjs:<job8>). */
int gcs_job_cleanup(struct gcs_client *c, const char *job_hex, bool tasks)
{
    if (!gcs_id_ok_(job_hex))
        return -1;
    const char *p = gcs_client_prefix(c);
    char *keys[4] = { gcs_key_(p, "job:%s:taskrecs", job_hex), gcs_key_(p, "job:%s:functions", job_hex),
                      gcs_key_(p, "jobobjs:%.8s", job_hex), gcs_key_(p, "jobkeep:%.8s", job_hex) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, p);
    gcs_argv_adds_(&args, tasks ? "1" : "0");
    return eval_send(c, tctx_new(K_DONE, "job cleanup", NULL), lua_job_cleanup, keys, 4, &args);
}

/* ---------------------------------------------------------------- actors */

int gcs_actor_put(struct gcs_client *c, const struct gcs_actor *a, gcs_done_fn cb, void *arg)
{
    if (a == NULL || !gcs_id_ok_(a->actor_id))
        return -1;
    const char *p = gcs_client_prefix(c);
    char *keys[3] = { gcs_key_(p, "actor:%s", a->actor_id), gcs_key_(p, "actors"),
                      gcs_key_(p, "actor_name:%s", nz(a->name)) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, a->actor_id);
    gcs_argv_adds_(&args, nz(a->name));
    gcs_argv_add_record_(&args, &gcs_table_actor_, a);
    struct tctx *x = tctx_new(K_DONE, "actor put", arg);
    x->fn.done = cb;
    x->conflict_on_zero = true;
    return eval_send(c, x, lua_actor_put, keys, 3, &args);
}

int gcs_actor_set_state(struct gcs_client *c, const char *actor_hex, const char *state,
                        const char *node_hex, const char *address, int port, int restarts,
                        const char *death_cause)
{
    if (!gcs_id_ok_(actor_hex) || state == NULL || state[0] == '\0')
        return -1;
    const char *p = gcs_client_prefix(c);
    char *keys[1] = { gcs_key_(p, "actor:%s", actor_hex) };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, p);
    gcs_argv_adds_(&args, actor_hex);
    gcs_argv_addf_(&args, "%sch:actors", p);
    gcs_argv_adds_(&args, "state");
    gcs_argv_adds_(&args, state);
    if (node_hex) {
        gcs_argv_adds_(&args, "node");
        gcs_argv_adds_(&args, node_hex);
    }
    if (address) {
        gcs_argv_adds_(&args, "address");
        gcs_argv_adds_(&args, address);
    }
    if (port >= 0) {
        gcs_argv_adds_(&args, "port");
        gcs_argv_addf_(&args, "%d", port);
    }
    if (restarts >= 0) {
        gcs_argv_adds_(&args, "restarts");
        gcs_argv_addf_(&args, "%d", restarts);
    }
    if (death_cause) {
        gcs_argv_adds_(&args, "death_cause");
        gcs_argv_adds_(&args, death_cause);
    }
    return eval_send(c, tctx_new(K_DONE, "actor set state", NULL), lua_actor_state, keys, 1,
                     &args);
}

int gcs_actor_get(struct gcs_client *c, const char *actor_hex, gcs_actor_fn cb, void *arg)
{
    if (!gcs_id_ok_(actor_hex) || cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_GET, "actor get", arg);
    x->fn.actor = cb;
    return get_send(c, &gcs_table_actor_, actor_hex, x);
}

int gcs_actor_lookup_name(struct gcs_client *c, const char *name, gcs_bytes_fn cb, void *arg)
{
    if (name == NULL || name[0] == '\0' || cb == NULL)
        return -1;
    char *key = gcs_key_(gcs_client_prefix(c), "actor_name:%s", name);
    struct tctx *x = tctx_new(K_BYTES, "actor lookup name", arg);
    x->fn.bytes = cb;
    int rc = gcs_command(c, on_table_reply, x, "GET %s", key);
    if (rc < 0)
        free(x);
    free(key);
    return rc;
}

int gcs_actors_list(struct gcs_client *c, gcs_actors_fn cb, void *arg)
{
    if (cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_LIST, "actors list", arg);
    x->fn.actors = cb;
    return list_send(c, &gcs_table_actor_, "actors", x);
}

/* ------------------------------------------------------ placement groups */

int gcs_pg_put(struct gcs_client *c, const struct gcs_pg *pg, gcs_done_fn cb, void *arg)
{
    if (pg == NULL || !gcs_id_ok_(pg->pg_id))
        return -1;
    struct tctx *x = tctx_new(K_DONE, "pg put", arg);
    x->fn.done = cb;
    const char *sets[] = { "pgs" };
    return put_send(c, &gcs_table_pg_, pg->pg_id, pg, sets, 1, x);
}

int gcs_pg_get(struct gcs_client *c, const char *pg_hex, gcs_pg_fn cb, void *arg)
{
    if (!gcs_id_ok_(pg_hex) || cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_GET, "pg get", arg);
    x->fn.pg = cb;
    return get_send(c, &gcs_table_pg_, pg_hex, x);
}

int gcs_pg_remove(struct gcs_client *c, const char *pg_hex)
{
    if (!gcs_id_ok_(pg_hex))
        return -1;
    const char *p = gcs_client_prefix(c);
    char *keys[2] = { gcs_key_(p, "pg:%s", pg_hex), gcs_key_(p, "pgs") };
    struct gcs_argv_ args = { 0 };
    gcs_argv_adds_(&args, pg_hex);
    return eval_send(c, tctx_new(K_DONE, "pg remove", NULL), lua_remove, keys, 2, &args);
}

int gcs_pgs_list(struct gcs_client *c, gcs_pgs_fn cb, void *arg)
{
    if (cb == NULL)
        return -1;
    struct tctx *x = tctx_new(K_LIST, "pgs list", arg);
    x->fn.pgs = cb;
    return list_send(c, &gcs_table_pg_, "pgs", x);
}
