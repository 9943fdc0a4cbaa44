/*
 * gcs_keys.h — internals shared by the GCS client files (async client,
 * tables, sync client): key names, the record descriptors that map each
 * table's C struct to its Redis hash fields, reply parsing, argument vectors
 * and the Lua scripts used for listing. Not for use outside gcs/.
 */
#ifndef RAY_GCS_KEYS_H
#define RAY_GCS_KEYS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "gcs/gcs.h"

/* One field of a record: hash field NAME stored at byte offset OFF. */
enum gcs_ftype_ { GCS_F_STR, GCS_F_INT, GCS_F_LL, GCS_F_BOOL, GCS_F_BYTES };
struct gcs_field_ {
    const char *name;
    enum gcs_ftype_ type;
    size_t off;
    size_t lenoff; /* GCS_F_BYTES: offset of the size_t length */
};
struct gcs_table_ {
    const char *family; /* key family: "node", "job", ... */
    size_t size;        /* sizeof the record */
    const struct gcs_field_ *fields;
    size_t nfields;
};
extern const struct gcs_table_ gcs_table_node_, gcs_table_job_, gcs_table_actor_,
    gcs_table_pg_, gcs_table_task_, gcs_table_object_;

/* gcs_keys.c is linked into libray.a: its functions allocate with mem.h and
 * report out-of-memory. gcs_key_ and gcs_argv_* (gcs_argv.c) are the
 * daemon's and abort on it. */

/* "ray:<name>:" for a valid cluster name (NULL: "default"), or NULL (errno
 * ENOMEM when out of memory, else the name is invalid). Caller frees. */
char *gcs_prefix_make_(const char *cluster_name);
/* True for a non-empty ID made of [0-9A-Za-z_-]. */
bool gcs_id_ok_(const char *id);
/* PREFIX followed by the printf-formatted rest; caller frees; never NULL
 * (aborts on out-of-memory: daemon only, gcs_argv.c). */
char *gcs_key_(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill REC (zeroed by the caller) from a flat HGETALL reply
 * (field, value, ...). Absent string fields become "". Returns 0, or -1 out
 * of memory (REC's fields freed again). */
int gcs_record_from_hash_(const struct gcs_table_ *t, void *rec, const redisReply *r);
/* An array of records from a list-script reply (array of HGETALL arrays);
 * never NULL on success (even for 0), NULL if R is not an array (errno
 * EPROTO) or out of memory (errno ENOMEM). */
void *gcs_records_from_list_(const struct gcs_table_ *t, const redisReply *r, size_t *n);
void gcs_record_free_(const struct gcs_table_ *t, void *rec);
void gcs_records_free_(const struct gcs_table_ *t, void *v, size_t n);

/* A growable argument vector for gcs_command_argv (gcs_argv.c; daemon only). */
struct gcs_argv_ {
    const char **v;
    size_t *len;
    char **owned;
    int n, cap, nowned;
};
void gcs_argv_add_(struct gcs_argv_ *a, const void *p, size_t len);
void gcs_argv_adds_(struct gcs_argv_ *a, const char *s); /* NULL adds "" */
/* Add a copy of LEN bytes at P that the vector owns (add_ only refers). */
void gcs_argv_addcopy_(struct gcs_argv_ *a, const void *p, size_t len);
void gcs_argv_addf_(struct gcs_argv_ *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append field/value pairs of every field of REC. */
void gcs_argv_add_record_(struct gcs_argv_ *a, const struct gcs_table_ *t, const void *rec);
void gcs_argv_free_(struct gcs_argv_ *a);

/*
 * A list of byte strings kept in one buffer, for the writes that wait in the
 * batch (gcs_tables.c): a string is copied in at its end, so the list needs
 * no allocation per string, and gcs_arena_reset_ keeps its memory for the
 * next batch (none at all once warm). A string is built in pieces between
 * gcs_arena_open_ and gcs_arena_close_; each ends in a NUL (not counted).
 * Daemon only (gcs_argv.c): out of memory aborts. The arena owns everything
 * it holds; gcs_arena_argv_'s pointers are valid until its next change.
 */
struct gcs_arena_ {
    struct buf bytes;  /* the strings, one after another */
    size_t *off, *len; /* per string: where it starts, its length */
    const char **v;    /* gcs_arena_argv_'s pointers (cap of them) */
    int n, cap;
    size_t open_at;    /* where the string being built starts */
};
void gcs_arena_open_(struct gcs_arena_ *a);
void gcs_arena_put_(struct gcs_arena_ *a, const void *p, size_t len);
void gcs_arena_puts_(struct gcs_arena_ *a, const char *s); /* NULL puts nothing */
void gcs_arena_putll_(struct gcs_arena_ *a, long long v);  /* in decimal */
void gcs_arena_close_(struct gcs_arena_ *a);
/* One whole string: LEN bytes at P; S (NULL adds ""); V in decimal. */
void gcs_arena_add_(struct gcs_arena_ *a, const void *p, size_t len);
void gcs_arena_adds_(struct gcs_arena_ *a, const char *s);
void gcs_arena_addll_(struct gcs_arena_ *a, long long v);
/* String I (0 <= I < n), NUL-terminated. */
const char *gcs_arena_at_(const struct gcs_arena_ *a, int i);
/* The strings as gcs_command_argv's ARGV (and *LEN its lengths): owned by
 * the arena, valid until it changes. */
const char **gcs_arena_argv_(struct gcs_arena_ *a, const size_t **len);
/* Empty it, keeping its memory (up to GCS_ARENA_KEEP bytes of strings). */
#define GCS_ARENA_KEEP (4u << 20)
void gcs_arena_reset_(struct gcs_arena_ *a);
/* Release its memory; it is empty (all zero) again. */
void gcs_arena_free_(struct gcs_arena_ *a);

/* The client's limits (gcs_client_set_limits). */
long gcs_client_events_cap_(const struct gcs_client *c);
long gcs_client_tasks_kept_(const struct gcs_client *c);
/* The bound to pass to a script writing a final task state: tasks_kept when
 * this write should trim tasks:finished, else 0 (no trimming). */
long gcs_client_trim_bound_(struct gcs_client *c);

/* First command on every connection: AUTH PASSWORD, or PING without one.
 * gcs_handshake_check_ returns 0 when its reply shows the connection can be
 * used, -1 when authentication failed. */
int gcs_handshake_check_(const redisReply *r);

/* Lua: KEYS[1] a set of IDs, ARGV[1] a hash key prefix; returns the
 * HGETALL of each member's hash (empty ones skipped). */
/* Scripts by SHA-1 (gcs_scripts.c). SCRIPT must be a string with static
 * storage. Fills SHA (40 hex digits + NUL) and returns 1 if the script was
 * used before (call it with EVALSHA), 0 the first time (call it with EVAL,
 * which also caches it in Redis). */
int gcs_script_sha_(const char *script, char sha[41]);
/* Queue SCRIPT LOAD of every script used so far on AC (after AUTH). */
struct redisAsyncContext;
void gcs_scripts_load_(struct redisAsyncContext *ac);

/* Write batching (gcs_client.c): the table functions keep fire-and-forget
 * script calls in a batch the client flushes before any other command and at
 * the end of the loop turn (gcs_client_batch_later_). */
void *gcs_client_batch_(struct gcs_client *c);
void gcs_client_set_batch_(struct gcs_client *c, void *batch,
                           void (*flush)(struct gcs_client *c), void (*fr)(void *batch));
void gcs_client_batch_later_(struct gcs_client *c);
/* Flush it now (the batch's flush function, flagged as flushing, so what is
 * written meanwhile goes out at once; nothing when already flushing). */
void gcs_client_batch_flush_(struct gcs_client *c);
bool gcs_client_batch_flushing_(const struct gcs_client *c);

extern const char gcs_lua_list_[];
/* Lua: the node table, dynamic fields merged from <p>hb. */
extern const char gcs_lua_list_nodes_[];
/* Lua: KEYS[1] the jobs set, ARGV[1] "<p>task:"; every job's packed task
 * records (job:<j>:taskrecs), unpacked as HGETALL would give them. */
extern const char gcs_lua_list_tasks_[];
/* Lua: KEYS[1] <p>objects, ARGV[1] "<p>obj:", ARGV[2] "<p>objloc:"; each
 * object's hash plus object_id and nodes (comma-separated). */
extern const char gcs_lua_list_objects_[];

/* Lua: unpack(id, v) turns a packed record into HGETALL's field/value list. */
#define LUA_TASK_UNPACK                                                                      \
    "local function unpackrec(id, v)\n"                                                       \
    "  local f, p = {}, 1\n"                                                                  \
    "  for i = 1, 6 do\n"                                                                     \
    "    local q = string.find(v, '\\n', p, true)\n"                                         \
    "    if not q then return {'task_id', id} end\n"                                          \
    "    f[i] = string.sub(v, p, q - 1)\n"                                                    \
    "    p = q + 1\n"                                                                         \
    "  end\n"                                                                                 \
    "  return {'task_id', id, 'state', f[1], 'node', f[2], 'attempts', f[3],\n"              \
    "          'updated_ms', f[4], 'job', f[5], 'name', f[6], 'spec', string.sub(v, p)}\n"    \
    "end\n"

#endif
