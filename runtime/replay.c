/*
 * replay.c — what a node writes again after its GCS connection came back
 * (docs/restart.md).
 *
 * DESIGN. The async client queues commands while Redis is unreachable and
 * flushes them on reconnect, so writes made during an outage are not lost.
 * Two kinds of write can still be: a command that was on the wire when the
 * connection dropped (its callback gets NULL; its effect is unknown), and,
 * after a Redis crash, whatever Redis had acknowledged but not yet fsynced
 * to its append-only file (appendfsync everysec: up to about a second). So
 * on every reconnect a node writes again the records it is the authority
 * for: its node record (node.c), the location of every object its store
 * holds, the directory record of every actor it hosts, and for each job
 * whose driver it serves the job counter's floor and (if absent) the job
 * record. Each write is
 * idempotent (SADD, a whole-record HSET), so repeating one that did arrive
 * changes nothing. Objects freed or of an ended job are skipped: their
 * entries were deleted on purpose. And since pub/sub messages sent while
 * the connection was down are lost, the node table is read again. Before
 * any of it the node reads its own record (daemon/node.c, which then calls
 * runtime_gcs_reconnected here): one the head declared DEAD
 * meanwhile does not write itself ALIVE again under its old ID, it rejoins
 * as a new node (the head used to repeat DEAD every 2 s to such a node).
 */
#include "common/ids.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/xmalloc.h"
#include "daemon/node.h"
#include "runtime/runtime.h"
#include "runtime/internal.h"
#include "runtime/actors.h"
#include "runtime/cluster.h"
#include "runtime/jobs.h"
#include "runtime/objlife.h"
#include "runtime/tasks.h"
#include "gcs/gcs.h"
#include "objstore/objstore.h"

#include <stdlib.h>
#include <string.h>

struct replay_objs {
    uint8_t (*ids)[IDS_SIZE];
    uint64_t *sizes;
    size_t n, cap;
};

static bool replay_collect(const uint8_t *id, const struct objstore_info *info, void *arg)
{
    struct replay_objs *r = arg;
    if (info->state == OBJSTORE_CREATED)
        return true; /* not sealed: not in the table yet */
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->ids = xreallocarray(r->ids, r->cap, sizeof *r->ids);
        r->sizes = xreallocarray(r->sizes, r->cap, sizeof *r->sizes);
    }
    memcpy(r->ids[r->n], id, IDS_SIZE);
    r->sizes[r->n++] = info->size;
    return true;
}

static const char *replay_state_name(enum actor_state s)
{
    switch (s) {
    case ACTOR_PENDING: return "PENDING";
    case ACTOR_ALIVE: return "ALIVE";
    case ACTOR_RESTARTING: return "RESTARTING";
    case ACTOR_DEAD: return "DEAD";
    }
    return "PENDING";
}

void runtime_gcs_reconnected(struct runtime *rt)
{
    if (rt == NULL || rt->n->stopping)
        return;
    struct gcs_client *g = rt->n->gcs;
    cluster_resync(rt);
    objmgr_gcs_reconnected(rt->om); /* publications of holders may have been lost too */
    /* objects: collected first (the visit may not call into the store) */
    struct replay_objs r = { 0 };
    objstore_foreach(rt->n->store, replay_collect, &r);
    size_t objs = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (objlife_is_freed(rt, r.ids[i]) || objlife_job_over(rt, r.ids[i]))
            continue;
        char hex[IDS_HEX_SIZE];
        gcs_object_add_location(g, ids_hex(r.ids[i], IDS_SIZE, hex), rt->n->hex,
                                (long long)r.sizes[i]);
        objs++;
    }
    free(r.ids);
    free(r.sizes);
    /* actors hosted here, as they are now */
    size_t actors = 0;
    struct idmap_slot *slot;
    for (size_t pos = 0; (slot = idmap_next(actors_map(rt), &pos)) != NULL; pos++) {
        struct actor *a = slot->val;
        if (actor_remote(a) || actor_state(a) == ACTOR_DEAD || actor_state(a) == ACTOR_PENDING)
            continue;
        struct gcs_actor rec = {
            .actor_id = (char *)actor_hex(a),
            .class_name = (char *)actor_cls(a),
            .state = (char *)replay_state_name(actor_state(a)),
            .node = rt->n->hex,
            .address = rt->n->ip,
            .name = actor_name(a) ? (char *)actor_name(a) : "",
            .job = actor_job(a) ? (char *)job_hex(actor_job(a)) : "",
            .death_cause = "",
            .port = rt->n->tcp_port,
            .restarts = actor_restarts(a),
            .max_restarts = actor_max_restarts(a),
            .detached = actor_detached(a),
        };
        gcs_actor_put(g, &rec, NULL, NULL);
        actors++;
    }
    /* jobs whose driver is here: the job counter must never hand out their
     * number again (an INCR lost with the AOF's last second would), and a
     * job record lost that way is written again (only if absent: an
     * existing one, perhaps already ended, is left alone) */
    size_t jobs = 0;
    const char *p = gcs_client_prefix(g);
    for (struct job *j = jobs_first(rt); j; j = job_next(j)) {
        if (job_remote(j) || job_ending(j) || job_ended(j))
            continue;
        gcs_command(g, NULL, NULL,
                    "EVAL %s 3 %sjob_counter %sjob:%s %sjobs %u %s %s %s %s %lld",
                    "local c = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
                    "if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end\n"
                    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
                    "  redis.call('HSET', KEYS[2], 'job_id', ARGV[2], 'state', 'RUNNING',\n"
                    "    'driver_node', ARGV[3], 'library_hash', ARGV[4], 'entrypoint', ARGV[5],\n"
                    "    'start_time_ms', ARGV[6])\n"
                    "  redis.call('SADD', KEYS[3], ARGV[2])\n"
                    "end\n"
                    "return 1",
                    p, p, job_hex(j), p, job_num(j), job_hex(j), rt->n->hex, job_lib_hash(j),
                    job_entrypoint(j) ? job_entrypoint(j) : "", (long long)net_wall_ms());
        jobs++;
    }
    log_info("GCS back: wrote again the locations of %zu objects, %zu actors and %zu jobs held "
             "here", objs, actors, jobs);
}
