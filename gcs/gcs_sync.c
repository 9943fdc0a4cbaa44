/*
 * gcs_sync.c — the blocking GCS client used by the CLI: one hiredis
 * connection with connect and command timeouts, AUTH first (then PING,
 * waiting while a restarted Redis is still LOADING), and table
 * listings that reuse the async client's Lua listing scripts and record
 * descriptors (gcs_keys.c), so both clients read the same fields.
 *
 * Part of libray.a (a standalone driver finds its node with it): every
 * allocation failure is an error the caller sees, never an abort.
 */
#include "gcs/gcs_sync.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "gcs/gcs_keys.h"

struct gcs_sync {
    redisContext *rc;
    char *prefix;
    char errstr[256];
    char where[96]; /* "host:port" */
};

static bool is_loading(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "LOADING", 7) == 0;
}

struct gcs_sync *gcs_sync_connect(const char *host, int port, const char *password,
                                  const char *cluster_name, int timeout_ms, char *err,
                                  size_t errlen)
{
    struct gcs_sync *gs = NULL;
    redisReply *r = NULL;
    char *prefix = gcs_prefix_make_(cluster_name);
    if (prefix == NULL) {
        if (errno == ENOMEM)
            snprintf(err, errlen, "out of memory");
        else
            snprintf(err, errlen, "invalid cluster name '%s'", cluster_name ? cluster_name : "");
        goto fail;
    }
    if (host == NULL)
        host = "127.0.0.1";
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisContext *rc = redisConnectWithTimeout(host, port, tv);
    if (rc == NULL || rc->err) {
        snprintf(err, errlen, "cannot reach GCS at %s:%d: %s", host, port,
                 rc ? rc->errstr : "out of memory");
        if (rc)
            redisFree(rc);
        goto fail;
    }
    if ((gs = mem_calloc(1, sizeof *gs)) == NULL) {
        snprintf(err, errlen, "out of memory");
        redisFree(rc);
        goto fail;
    }
    gs->rc = rc;
    gs->prefix = prefix;
    prefix = NULL;
    snprintf(gs->where, sizeof gs->where, "%s:%d", host, port);
    redisSetTimeout(rc, tv);
    r = password && password[0] ? redisCommand(rc, "AUTH %s", password) : redisCommand(rc, "PING");
    if (r == NULL) {
        snprintf(err, errlen, "cannot reach GCS at %s: %s", gs->where, rc->errstr);
        goto fail;
    }
    if (gcs_handshake_check_(r) < 0 && !is_loading(r)) {
        snprintf(err, errlen, "GCS at %s: authentication failed (wrong cluster token?)", gs->where);
        goto fail;
    }
    /* a Redis that just restarted answers LOADING until its AOF is read:
     * wait for it, within the timeout (docs/restart.md) */
    for (int waited = 0;; waited += 100) {
        freeReplyObject(r);
        r = redisCommand(rc, "PING");
        if (r == NULL) {
            snprintf(err, errlen, "cannot reach GCS at %s: %s", gs->where, rc->errstr);
            goto fail;
        }
        if (!is_loading(r))
            break;
        if (waited >= timeout_ms) {
            snprintf(err, errlen, "GCS at %s is still loading its data (just restarted?)", gs->where);
            goto fail;
        }
        usleep(100 * 1000);
    }
    if (gcs_handshake_check_(r) < 0) {
        snprintf(err, errlen, "GCS at %s: %.*s", gs->where, (int)r->len, r->str ? r->str : "");
        goto fail;
    }
    freeReplyObject(r);
    return gs;
fail:
    if (r)
        freeReplyObject(r);
    free(prefix);
    gcs_sync_free(gs);
    return NULL;
}

void gcs_sync_free(struct gcs_sync *gs)
{
    if (gs == NULL)
        return;
    redisFree(gs->rc);
    free(gs->prefix);
    free(gs);
}

const char *gcs_sync_prefix(const struct gcs_sync *gs)
{
    return gs->prefix;
}

const char *gcs_sync_errstr(const struct gcs_sync *gs)
{
    return gs->errstr;
}

struct gcs_reply *gcs_sync_command(struct gcs_sync *gs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(gs->rc, fmt, ap);
    va_end(ap);
    if (r == NULL)
        snprintf(gs->errstr, sizeof gs->errstr, "GCS at %s: %s", gs->where,
                 gs->rc->errstr[0] ? gs->rc->errstr : "no reply");
    return (struct gcs_reply *)r;
}

/* Run a listing script and decode its reply as records of table T. */
static int sync_list(struct gcs_sync *gs, const struct gcs_table_ *t, const char *script,
                     const char *set, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    /* a prefix is at most "ray:" + 128 + ":" (gcs_prefix_make_) */
    char key[192], hp[192], lp[192];
    snprintf(key, sizeof key, "%s%s", gs->prefix, set);
    snprintf(hp, sizeof hp, "%s%s:", gs->prefix, t->family);
    snprintf(lp, sizeof lp, "%sobjloc:", gs->prefix);
    redisReply *r = redisCommand(gs->rc, "EVAL %s 1 %s %s %s", script, key, hp, lp);
    int rc = -1;
    if (r == NULL) {
        snprintf(gs->errstr, sizeof gs->errstr, "GCS at %s: %s", gs->where,
                 gs->rc->errstr[0] ? gs->rc->errstr : "no reply");
        goto done;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(gs->errstr, sizeof gs->errstr, "GCS at %s: %s", gs->where, r->str);
        goto done;
    }
    *out = gcs_records_from_list_(t, r, n);
    if (*out == NULL) {
        snprintf(gs->errstr, sizeof gs->errstr, "GCS at %s: %s", gs->where,
                 errno == ENOMEM ? "out of memory reading the reply" : "unexpected reply");
        goto done;
    }
    rc = 0;
done:
    if (r)
        freeReplyObject(r);
    return rc;
}

#define SYNC_LIST(fname, st, table, script, set)                             \
    int fname(struct gcs_sync *gs, struct st **out, size_t *n)               \
    {                                                                        \
        void *v;                                                             \
        int rc = sync_list(gs, &table, script, set, &v, n);                  \
        *out = v;                                                            \
        return rc;                                                           \
    }
SYNC_LIST(gcs_sync_nodes, gcs_node, gcs_table_node_, gcs_lua_list_nodes_, "nodes")
SYNC_LIST(gcs_sync_jobs, gcs_job, gcs_table_job_, gcs_lua_list_, "jobs")
SYNC_LIST(gcs_sync_actors, gcs_actor, gcs_table_actor_, gcs_lua_list_, "actors")
SYNC_LIST(gcs_sync_pgs, gcs_pg, gcs_table_pg_, gcs_lua_list_, "pgs")
SYNC_LIST(gcs_sync_tasks, gcs_task, gcs_table_task_, gcs_lua_list_tasks_, "jobs")
SYNC_LIST(gcs_sync_objects, gcs_object, gcs_table_object_, gcs_lua_list_objects_, "objects")

void gcs_node_array_free(struct gcs_node *v, size_t n) { gcs_records_free_(&gcs_table_node_, v, n); }
void gcs_job_array_free(struct gcs_job *v, size_t n) { gcs_records_free_(&gcs_table_job_, v, n); }
void gcs_actor_array_free(struct gcs_actor *v, size_t n) { gcs_records_free_(&gcs_table_actor_, v, n); }
void gcs_pg_array_free(struct gcs_pg *v, size_t n) { gcs_records_free_(&gcs_table_pg_, v, n); }
void gcs_task_array_free(struct gcs_task *v, size_t n) { gcs_records_free_(&gcs_table_task_, v, n); }
void gcs_object_array_free(struct gcs_object *v, size_t n) { gcs_records_free_(&gcs_table_object_, v, n); }
