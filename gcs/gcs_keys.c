/*
 * gcs_keys.c — key names, record descriptors and reply parsing shared by the
 * async client, the table functions and the sync client. Each table's C
 * struct is described once (field name, type, offset), so writing a record
 * (HSET pairs), reading it back (HGETALL) and freeing it never go out of
 * step with docs/gcs.md.
 *
 * This file is part of libray.a (the sync client a driver uses to find its
 * node): it allocates with mem.h's allocator and reports out-of-memory,
 * never aborts. The daemon-only helpers (keys and argument vectors for the
 * async table functions, which may abort) are in gcs_argv.c.
 */
#include "gcs/gcs_keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define F(st, fname, ty, member) { fname, ty, offsetof(struct st, member), 0 }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct gcs_field_ node_fields[] = {
    F(gcs_node, "node_id", GCS_F_STR, node_id),
    F(gcs_node, "address", GCS_F_STR, address),
    F(gcs_node, "port", GCS_F_INT, port),
    F(gcs_node, "hostname", GCS_F_STR, hostname),
    F(gcs_node, "pid", GCS_F_LL, pid),
    F(gcs_node, "session_dir", GCS_F_STR, session_dir),
    F(gcs_node, "resources_total", GCS_F_STR, resources_total),
    F(gcs_node, "resources_available", GCS_F_STR, resources_available),
    F(gcs_node, "state", GCS_F_STR, state),
    F(gcs_node, "is_head", GCS_F_BOOL, is_head),
    F(gcs_node, "start_time_ms", GCS_F_LL, start_time_ms),
    F(gcs_node, "last_heartbeat_ms", GCS_F_LL, last_heartbeat_ms),
    F(gcs_node, "queue_len", GCS_F_LL, queue_len),
    F(gcs_node, "death_reason", GCS_F_STR, death_reason),
};
static const struct gcs_field_ job_fields[] = {
    F(gcs_job, "job_id", GCS_F_STR, job_id),
    F(gcs_job, "state", GCS_F_STR, state),
    F(gcs_job, "driver_node", GCS_F_STR, driver_node),
    F(gcs_job, "driver_pid", GCS_F_LL, driver_pid),
    F(gcs_job, "library_hash", GCS_F_STR, library_hash),
    F(gcs_job, "start_time_ms", GCS_F_LL, start_time_ms),
    F(gcs_job, "end_time_ms", GCS_F_LL, end_time_ms),
    F(gcs_job, "entrypoint", GCS_F_STR, entrypoint),
};
static const struct gcs_field_ actor_fields[] = {
    F(gcs_actor, "actor_id", GCS_F_STR, actor_id),
    F(gcs_actor, "class", GCS_F_STR, class_name),
    F(gcs_actor, "state", GCS_F_STR, state),
    F(gcs_actor, "node", GCS_F_STR, node),
    F(gcs_actor, "address", GCS_F_STR, address),
    F(gcs_actor, "port", GCS_F_INT, port),
    F(gcs_actor, "restarts", GCS_F_LL, restarts),
    F(gcs_actor, "max_restarts", GCS_F_LL, max_restarts),
    F(gcs_actor, "name", GCS_F_STR, name),
    F(gcs_actor, "job", GCS_F_STR, job),
    F(gcs_actor, "detached", GCS_F_BOOL, detached),
    F(gcs_actor, "death_cause", GCS_F_STR, death_cause),
    F(gcs_actor, "pending_reason", GCS_F_STR, pending_reason),
    F(gcs_actor, "pid", GCS_F_LL, pid),
};
static const struct gcs_field_ pg_fields[] = {
    F(gcs_pg, "pg_id", GCS_F_STR, pg_id),
    F(gcs_pg, "name", GCS_F_STR, name),
    F(gcs_pg, "strategy", GCS_F_STR, strategy),
    F(gcs_pg, "bundles", GCS_F_STR, bundles),
    F(gcs_pg, "state", GCS_F_STR, state),
    F(gcs_pg, "job", GCS_F_STR, job),
    F(gcs_pg, "nodes", GCS_F_STR, nodes),
};
static const struct gcs_field_ task_fields[] = {
    F(gcs_task, "task_id", GCS_F_STR, task_id),
    F(gcs_task, "job", GCS_F_STR, job),
    F(gcs_task, "name", GCS_F_STR, name),
    F(gcs_task, "state", GCS_F_STR, state),
    F(gcs_task, "node", GCS_F_STR, node),
    F(gcs_task, "attempts", GCS_F_LL, attempts),
    F(gcs_task, "updated_ms", GCS_F_LL, updated_ms),
    { "spec", GCS_F_BYTES, offsetof(struct gcs_task, spec), offsetof(struct gcs_task, spec_len) },
};
static const struct gcs_field_ object_fields[] = {
    F(gcs_object, "object_id", GCS_F_STR, object_id),
    F(gcs_object, "job", GCS_F_STR, job),
    F(gcs_object, "size", GCS_F_LL, size),
    F(gcs_object, "nodes", GCS_F_STR, nodes),
};

#define TABLE(tname, fam, st, f) \
    const struct gcs_table_ tname = { fam, sizeof(struct st), f, COUNT(f) }
TABLE(gcs_table_node_, "node", gcs_node, node_fields);
TABLE(gcs_table_job_, "job", gcs_job, job_fields);
TABLE(gcs_table_actor_, "actor", gcs_actor, actor_fields);
TABLE(gcs_table_pg_, "pg", gcs_pg, pg_fields);
TABLE(gcs_table_task_, "task", gcs_task, task_fields);
TABLE(gcs_table_object_, "obj", gcs_object, object_fields);

const char gcs_lua_list_[] =
    "local ids = redis.call('SMEMBERS', KEYS[1])\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HGETALL', ARGV[1] .. id)\n"
    "  if #h > 0 then out[#out + 1] = h end\n"
    "end\n"
    "return out\n";

/* Like gcs_lua_list_ over the node table, with each record's dynamic fields
 * (last_heartbeat_ms, queue_len, resources_available) taken from its entry
 * in <p>hb (see gcs_node_heartbeat). ARGV[1] is "<p>node:". */
const char gcs_lua_list_nodes_[] =
    "local ids = redis.call('SMEMBERS', KEYS[1])\n"
    "local hbkey = string.sub(ARGV[1], 1, #ARGV[1] - 5) .. 'hb'\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HGETALL', ARGV[1] .. id)\n"
    "  if #h > 0 then\n"
    "    local hb = redis.call('HGET', hbkey, id)\n"
    "    local ms, q, av\n"
    "    if hb then ms, q, av = string.match(hb, '^(%d+)\\t(%d+)\\t(.*)$') end\n"
    "    if ms then\n"
    "      for i = 1, #h, 2 do\n"
    "        if h[i] == 'last_heartbeat_ms' then h[i + 1] = ms\n"
    "        elseif h[i] == 'queue_len' then h[i + 1] = q\n"
    "        elseif h[i] == 'resources_available' then h[i + 1] = av end\n"
    "      end\n"
    "    end\n"
    "    out[#out + 1] = h\n"
    "  end\n"
    "end\n"
    "return out\n";

const char gcs_lua_list_objects_[] =
    "local ids = redis.call('SMEMBERS', KEYS[1])\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HGETALL', ARGV[1] .. id)\n"
    "  local locs = redis.call('SMEMBERS', ARGV[2] .. id)\n"
    "  h[#h + 1] = 'object_id'; h[#h + 1] = id\n"
    "  h[#h + 1] = 'nodes'; h[#h + 1] = table.concat(locs, ',')\n"
    "  out[#out + 1] = h\n"
    "end\n"
    "return out\n";

const char gcs_lua_list_tasks_[] =
    LUA_TASK_UNPACK
    "local p = string.sub(ARGV[1], 1, #ARGV[1] - 5)\n"
    "local out = {}\n"
    "for _, j in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local h = redis.call('HGETALL', p .. 'job:' .. j .. ':taskrecs')\n"
    "  for i = 1, #h, 2 do out[#out + 1] = unpackrec(h[i], h[i + 1]) end\n"
    "end\n"
    "return out\n";

char *gcs_prefix_make_(const char *cluster_name)
{
    const char *name = cluster_name ? cluster_name : "default";
    if (name[0] == '\0' || strlen(name) > 128)
        return NULL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return NULL;
    size_t n = strlen(name);
    char *p = mem_malloc(n + 6);
    if (p != NULL)
        snprintf(p, n + 6, "ray:%s:", name);
    return p;
}

bool gcs_id_ok_(const char *id)
{
    if (id == NULL || id[0] == '\0')
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

static const redisReply *hash_find(const redisReply *r, const char *name)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i];
        if (k->type == REDIS_REPLY_STRING && strlen(name) == k->len &&
            memcmp(k->str, name, k->len) == 0)
            return r->element[i + 1];
    }
    return NULL;
}

int gcs_record_from_hash_(const struct gcs_table_ *t, void *rec, const redisReply *r)
{
    char *base = rec;
    for (size_t i = 0; i < t->nfields; i++) {
        const struct gcs_field_ *f = &t->fields[i];
        const redisReply *v = hash_find(r, f->name);
        const char *s = v && v->type == REDIS_REPLY_STRING ? v->str : "";
        size_t len = v && v->type == REDIS_REPLY_STRING ? v->len : 0;
        switch (f->type) {
        case GCS_F_STR:
        case GCS_F_BYTES: {
            char *p = mem_malloc(len + 1);
            if (p == NULL) {
                gcs_record_free_(t, rec);
                return -1;
            }
            memcpy(p, s, len);
            p[len] = '\0';
            *(char **)(base + f->off) = p;
            if (f->type == GCS_F_BYTES)
                *(size_t *)(base + f->lenoff) = len;
            break;
        }
        case GCS_F_INT:
            *(int *)(base + f->off) = (int)strtol(s, NULL, 10);
            break;
        case GCS_F_LL:
            *(long long *)(base + f->off) = strtoll(s, NULL, 10);
            break;
        case GCS_F_BOOL:
            *(bool *)(base + f->off) = strtol(s, NULL, 10) != 0;
            break;
        }
    }
    return 0;
}

void *gcs_records_from_list_(const struct gcs_table_ *t, const redisReply *r, size_t *n)
{
    *n = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        errno = EPROTO;
        return NULL;
    }
    char *v = mem_calloc(r->elements ? r->elements : 1, t->size);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < r->elements; i++)
        if (gcs_record_from_hash_(t, v + i * t->size, r->element[i]) < 0) {
            gcs_records_free_(t, v, i);
            errno = ENOMEM;
            return NULL;
        }
    *n = r->elements;
    return v;
}

void gcs_record_free_(const struct gcs_table_ *t, void *rec)
{
    if (rec == NULL)
        return;
    char *base = rec;
    for (size_t i = 0; i < t->nfields; i++) {
        const struct gcs_field_ *f = &t->fields[i];
        if (f->type == GCS_F_STR || f->type == GCS_F_BYTES) {
            free(*(char **)(base + f->off));
            *(char **)(base + f->off) = NULL;
        }
    }
}

void gcs_records_free_(const struct gcs_table_ *t, void *v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        gcs_record_free_(t, (char *)v + i * t->size);
    free(v);
}

void gcs_node_free_fields(struct gcs_node *n) { gcs_record_free_(&gcs_table_node_, n); }
void gcs_job_free_fields(struct gcs_job *j) { gcs_record_free_(&gcs_table_job_, j); }
void gcs_actor_free_fields(struct gcs_actor *a) { gcs_record_free_(&gcs_table_actor_, a); }
void gcs_pg_free_fields(struct gcs_pg *p) { gcs_record_free_(&gcs_table_pg_, p); }
void gcs_task_free_fields(struct gcs_task *t) { gcs_record_free_(&gcs_table_task_, t); }
void gcs_object_free_fields(struct gcs_object *o) { gcs_record_free_(&gcs_table_object_, o); }

int gcs_handshake_check_(const redisReply *r)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return -1;
    return 0;
}
