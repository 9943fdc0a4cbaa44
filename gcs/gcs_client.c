/*
 * gcs_client.c — the asynchronous GCS client: two hiredis async connections
 * (commands, pub/sub) on the caller's libevent loop.
 *
 * DESIGN. Each connection is a small state machine (WAIT -> CONNECTING ->
 * HANDSHAKE -> READY, back to WAIT on any failure) driven by hiredis'
 * connect/disconnect callbacks and one retry timer with exponential backoff
 * (50 ms doubling to 2 s, reset on success). The handshake is AUTH (when
 * there is a password) then PING; only a PONG makes a connection READY (a
 * Redis loading its data after a restart answers LOADING: tried again). Commands
 * are formatted once (redisFormatCommand*) into a struct gcs_cmd; when the
 * command connection is READY and nothing is queued they are written at
 * once (hiredis pipelines: no command waits for another's reply), otherwise
 * they wait in a FIFO, bounded at GCS_QUEUE_MAX (oldest dropped), that is
 * flushed in order when the next handshake succeeds. A command already sent
 * when the connection drops is not resent (its effect is unknown): hiredis
 * calls its callback with NULL, and so do we for dropped and freed ones, so
 * each callback runs exactly once. Subscriptions are kept in a list and
 * replayed on every pub/sub reconnect; messages are dispatched by channel.
 * gcs_client_free inside one of our callbacks only marks the client and
 * activates a reaper event (hiredis must not be freed under its own feet).
 */
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_keys.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

enum gcs_conn_state { GCS_CONN_WAIT, GCS_CONN_CONNECTING, GCS_CONN_HANDSHAKE, GCS_CONN_READY };
static const char *const conn_state_names[] = { "WAIT", "CONNECTING", "HANDSHAKE", "READY" };

struct gcs_conn {
    struct gcs_client *c;
    const char *name; /* "command" or "pubsub", for logs */
    bool pubsub;
    redisAsyncContext *ac;
    enum gcs_conn_state state;
    int backoff_ms;
    struct event *retry_ev;
};

struct gcs_cmd {
    STAILQ_ENTRY(gcs_cmd) link; /* in the offline queue */
    struct gcs_client *c;
    char *buf; /* formatted RESP while queued; NULL once sent */
    size_t len;
    gcs_reply_fn cb;
    void *arg;
};

struct gcs_sub {
    LIST_ENTRY(gcs_sub) link;
    char *suffix;
    gcs_message_fn cb;
    void *arg;
    bool dead;          /* removed; freed after dispatch */
    bool unsub_pending; /* placeholder for an UNSUBSCRIBE in flight */
};

struct gcs_client {
    struct event_base *base;
    char *host, *password, *prefix;
    int port;
    struct gcs_conn cmd, sub;
    STAILQ_HEAD(, gcs_cmd) queue; /* offline queue, oldest first */
    size_t qlen;
    LIST_HEAD(, gcs_sub) subs;
    int dispatching;
    gcs_state_fn state_cb;
    void *state_arg;
    int reported; /* -1 nothing reported yet, else the last bool reported */
    char errstr[256];
    long events_cap, tasks_kept;
    unsigned long finished_writes; /* final task writes: every Nth trims (gcs_tables.c) */
    int in_cb;
    bool free_pending, freeing;
    bool muted; /* gcs_client_mute: no callback runs any more */
    struct event *reap_ev;
    /* write batching of the table functions (gcs_tables.c) */
    void *batch;
    void (*batch_flush)(struct gcs_client *c);
    void (*batch_free)(void *batch);
    struct event *batch_ev;
    bool batch_flushing;
};

static void conn_start(struct gcs_conn *conn);
static void client_destroy(struct gcs_client *c);

/* ---------------------------------------------------------------- replies */

int gcs_reply_type(const struct gcs_reply *r)
{
    if (r == NULL)
        return 0;
    switch (((const redisReply *)r)->type) {
    case REDIS_REPLY_STRING: return GCS_REPLY_STRING;
    case REDIS_REPLY_ARRAY: return GCS_REPLY_ARRAY;
    case REDIS_REPLY_INTEGER: return GCS_REPLY_INTEGER;
    case REDIS_REPLY_NIL: return GCS_REPLY_NIL;
    case REDIS_REPLY_STATUS: return GCS_REPLY_STATUS;
    case REDIS_REPLY_ERROR: return GCS_REPLY_ERROR;
    default: return 0;
    }
}

const char *gcs_reply_str(const struct gcs_reply *r, size_t *len)
{
    const redisReply *rr = (const redisReply *)r;
    if (rr == NULL || (rr->type != REDIS_REPLY_STRING && rr->type != REDIS_REPLY_STATUS &&
                       rr->type != REDIS_REPLY_ERROR)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = rr->len;
    return rr->str;
}

long long gcs_reply_integer(const struct gcs_reply *r)
{
    const redisReply *rr = (const redisReply *)r;
    return rr && rr->type == REDIS_REPLY_INTEGER ? rr->integer : 0;
}

size_t gcs_reply_elements(const struct gcs_reply *r)
{
    const redisReply *rr = (const redisReply *)r;
    return rr && rr->type == REDIS_REPLY_ARRAY ? rr->elements : 0;
}

const struct gcs_reply *gcs_reply_element(const struct gcs_reply *r, size_t i)
{
    const redisReply *rr = (const redisReply *)r;
    if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || i >= rr->elements)
        return NULL;
    return (const struct gcs_reply *)rr->element[i];
}

void gcs_reply_free(struct gcs_reply *r)
{
    if (r)
        freeReplyObject(r);
}

/* ------------------------------------------------------------ state */

static void client_report(struct gcs_client *c, bool connected)
{
    if (c->reported == (int)connected || c->freeing)
        return;
    c->reported = connected;
    if (connected)
        log_info("gcs: connected to %s:%d", c->host, c->port);
    else
        log_warnx("gcs: not connected: %s", c->errstr[0] ? c->errstr : "disconnected");
    if (c->state_cb) {
        c->in_cb++;
        c->state_cb(c->state_arg, connected);
        c->in_cb--;
    }
}

static void conn_set_state(struct gcs_conn *conn, enum gcs_conn_state st)
{
    if (conn->state != st)
        log_debug("gcs: %s connection %s -> %s", conn->name, conn_state_names[conn->state],
                  conn_state_names[st]);
    conn->state = st;
}

/* The connection is gone (its context freed or being freed): retry later. */
static void conn_lost(struct gcs_conn *conn)
{
    conn->ac = NULL;
    conn_set_state(conn, GCS_CONN_WAIT);
    if (conn->c->freeing)
        return;
    struct timeval tv = { conn->backoff_ms / 1000, (conn->backoff_ms % 1000) * 1000 };
    evtimer_add(conn->retry_ev, &tv);
    conn->backoff_ms = conn->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : conn->backoff_ms * 2;
    if (!conn->pubsub)
        client_report(conn->c, false);
}

/* ---------------------------------------------------------- command queue */

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct gcs_cmd *cmd = privdata;
    struct gcs_client *c = cmd->c;
    if (cmd->cb && !c->muted) {
        c->in_cb++;
        cmd->cb(cmd->arg, reply);
        c->in_cb--;
    }
    free(cmd->buf);
    free(cmd);
}

/* Write CMD on the command connection; 0 or -1 (not ready: caller queues). */
static int cmd_write(struct gcs_client *c, struct gcs_cmd *cmd)
{
    if (c->cmd.state != GCS_CONN_READY || c->cmd.ac == NULL)
        return -1;
    if (redisAsyncFormattedCommand(c->cmd.ac, on_reply, cmd, cmd->buf, cmd->len) != REDIS_OK)
        return -1;
    free(cmd->buf);
    cmd->buf = NULL;
    return 0;
}

static void queue_flush(struct gcs_client *c)
{
    struct gcs_cmd *cmd;
    while ((cmd = STAILQ_FIRST(&c->queue)) != NULL) {
        if (cmd_write(c, cmd) < 0)
            return;
        STAILQ_REMOVE_HEAD(&c->queue, link);
        c->qlen--;
    }
}

static void cmd_submit(struct gcs_client *c, struct gcs_cmd *cmd)
{
    if (STAILQ_EMPTY(&c->queue) && cmd_write(c, cmd) == 0)
        return;
    STAILQ_INSERT_TAIL(&c->queue, cmd, link);
    c->qlen++;
    while (c->qlen > GCS_QUEUE_MAX) {
        struct gcs_cmd *old = STAILQ_FIRST(&c->queue);
        STAILQ_REMOVE_HEAD(&c->queue, link);
        c->qlen--;
        log_warnx("gcs: offline queue full (%d commands): dropping the oldest", GCS_QUEUE_MAX);
        on_reply(NULL, NULL, old);
    }
}

static int cmd_new(struct gcs_client *c, gcs_reply_fn cb, void *arg, char *buf, int len)
{
    if (len < 0 || buf == NULL) {
        free(buf);
        return -1;
    }
    struct gcs_cmd *cmd = xcalloc(1, sizeof *cmd);
    cmd->c = c;
    cmd->buf = buf;
    cmd->len = (size_t)len;
    cmd->cb = cb;
    cmd->arg = arg;
    cmd_submit(c, cmd);
    return 0;
}

/* Writes batched by the table functions go out before any other command, so
 * every command reaches Redis in the order the caller made it. */
static void batch_flush_now(struct gcs_client *c)
{
    if (c->batch_flush && !c->batch_flushing) {
        c->batch_flushing = true;
        c->batch_flush(c);
        c->batch_flushing = false;
    }
}

static void on_batch_ev(evutil_socket_t fd, short what, void *arg)
{
    batch_flush_now(arg);
}

void *gcs_client_batch_(struct gcs_client *c)
{
    return c->batch;
}

void gcs_client_set_batch_(struct gcs_client *c, void *batch,
                           void (*flush)(struct gcs_client *c), void (*fr)(void *batch))
{
    c->batch = batch;
    c->batch_flush = flush;
    c->batch_free = fr;
}

void gcs_client_batch_later_(struct gcs_client *c)
{
    if (c->batch_ev)
        event_active(c->batch_ev, 0, 0);
}

void gcs_client_batch_flush_(struct gcs_client *c)
{
    batch_flush_now(c);
}

void gcs_flush(struct gcs_client *c)
{
    if (c == NULL || c->freeing)
        return;
    /* (into hiredis' buffer, written at the loop's next writable turn:
     * writing it here would run hiredis' error path, which frees the
     * context and calls back into the client, from inside the caller) */
    batch_flush_now(c);
}

bool gcs_client_batch_flushing_(const struct gcs_client *c)
{
    return c->batch_flushing;
}

int gcs_command(struct gcs_client *c, gcs_reply_fn cb, void *arg, const char *fmt, ...)
{
    if (c == NULL || c->freeing || fmt == NULL)
        return -1;
    batch_flush_now(c);
    char *buf = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&buf, fmt, ap);
    va_end(ap);
    return cmd_new(c, cb, arg, buf, len);
}

int gcs_command_argv(struct gcs_client *c, gcs_reply_fn cb, void *arg, int argc,
                     const char **argv, const size_t *argvlen)
{
    if (c == NULL || c->freeing || argc <= 0 || argv == NULL)
        return -1;
    batch_flush_now(c);
    char *buf = NULL;
    int len = redisFormatCommandArgv(&buf, argc, argv, argvlen);
    return cmd_new(c, cb, arg, buf, len);
}

/* ---------------------------------------------------------------- pub/sub */

static void sub_sweep(struct gcs_client *c)
{
    for (struct gcs_sub *s = LIST_FIRST(&c->subs), *next; s; s = next) {
        next = LIST_NEXT(s, link);
        if (s->dead && !s->unsub_pending) {
            LIST_REMOVE(s, link);
            free(s->suffix);
            free(s);
        }
    }
}

static struct gcs_sub *sub_find(struct gcs_client *c, const char *suffix, bool pending)
{
    for (struct gcs_sub *s = LIST_FIRST(&c->subs); s; s = LIST_NEXT(s, link))
        if (strcmp(s->suffix, suffix) == 0 && (pending ? s->unsub_pending : !s->dead))
            return s;
    return NULL;
}

static void on_message(redisAsyncContext *ac, void *reply, void *privdata);

static void sub_send(struct gcs_client *c, const char *verb, const char *suffix)
{
    if (c->sub.state != GCS_CONN_READY || c->sub.ac == NULL)
        return;
    redisAsyncCommand(c->sub.ac, strcmp(verb, "SUBSCRIBE") == 0 ? on_message : NULL, &c->sub,
                      "%s %s%s", verb, c->prefix, suffix);
}

static void on_message(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct gcs_conn *conn = privdata;
    struct gcs_client *c = conn->c;
    const redisReply *r = reply;
    if (r == NULL || c->freeing || ac != conn->ac || r->type != REDIS_REPLY_ARRAY ||
        r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    size_t plen = strlen(c->prefix);
    const char *chan = r->element[1]->str;
    if (r->element[1]->len < plen || memcmp(chan, c->prefix, plen) != 0)
        return;
    const char *suffix = chan + plen;
    const char *kind = r->element[0]->str;
    if (strcmp(kind, "unsubscribe") == 0) {
        /* hiredis dropped the channel's callback: re-add it if wanted again */
        struct gcs_sub *p = sub_find(c, suffix, true);
        if (p)
            p->unsub_pending = false;
        if (sub_find(c, suffix, true) == NULL && sub_find(c, suffix, false))
            sub_send(c, "SUBSCRIBE", suffix);
        if (c->dispatching == 0)
            sub_sweep(c);
        return;
    }
    if (strcmp(kind, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    c->dispatching++;
    c->in_cb++;
    for (struct gcs_sub *s = LIST_FIRST(&c->subs); s; s = LIST_NEXT(s, link))
        if (!s->dead && strcmp(s->suffix, suffix) == 0)
            if (!c->muted)
                s->cb(s->arg, suffix, r->element[2]->str, r->element[2]->len);
    c->in_cb--;
    if (--c->dispatching == 0)
        sub_sweep(c);
}

/* Replay every wanted channel after a pub/sub handshake. */
static void sub_resubscribe(struct gcs_client *c)
{
    for (struct gcs_sub *s = LIST_FIRST(&c->subs); s; s = LIST_NEXT(s, link))
        s->unsub_pending = false;
    for (struct gcs_sub *s = LIST_FIRST(&c->subs); s; s = LIST_NEXT(s, link)) {
        if (s->dead || sub_find(c, s->suffix, false) != s)
            continue;
        sub_send(c, "SUBSCRIBE", s->suffix);
    }
}

int gcs_subscribe(struct gcs_client *c, const char *suffix, gcs_message_fn cb, void *arg)
{
    if (c == NULL || c->freeing || suffix == NULL || cb == NULL)
        return -1;
    bool had = sub_find(c, suffix, false) != NULL;
    struct gcs_sub *s = xcalloc(1, sizeof *s);
    s->suffix = xstrdup(suffix);
    s->cb = cb;
    s->arg = arg;
    LIST_INSERT_HEAD(&c->subs, s, link);
    if (!had && sub_find(c, suffix, true) == NULL)
        sub_send(c, "SUBSCRIBE", suffix);
    return 0;
}

int gcs_unsubscribe(struct gcs_client *c, const char *suffix, gcs_message_fn cb, void *arg)
{
    if (c == NULL || suffix == NULL)
        return -1;
    for (struct gcs_sub *s = LIST_FIRST(&c->subs); s; s = LIST_NEXT(s, link)) {
        if (s->dead || s->cb != cb || s->arg != arg || strcmp(s->suffix, suffix) != 0)
            continue;
        s->dead = true;
        if (sub_find(c, suffix, false) == NULL && c->sub.state == GCS_CONN_READY) {
            s->unsub_pending = true;
            sub_send(c, "UNSUBSCRIBE", suffix);
        }
        if (c->dispatching == 0)
            sub_sweep(c);
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ connections */

/* The last step of the handshake: PING. A Redis that is still loading its
 * append-only file (just restarted) accepts AUTH but answers "LOADING" to
 * everything else: not ready yet; disconnect and try again after the
 * back-off (docs/restart.md). Only a PONG makes the connection READY. */
static void on_ping(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct gcs_conn *conn = privdata;
    struct gcs_client *c = conn->c;
    if (c->freeing || ac != conn->ac || reply == NULL)
        return; /* the disconnect callback handles a lost connection */
    const redisReply *r = reply;
    if (r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "LOADING", 7) == 0) {
        snprintf(c->errstr, sizeof c->errstr, "GCS at %s:%d is loading its data", c->host, c->port);
        log_info("gcs: %s connection: %s; trying again", conn->name, c->errstr);
        redisAsyncDisconnect(ac);
        return;
    }
    if (gcs_handshake_check_(reply) < 0) {
        snprintf(c->errstr, sizeof c->errstr,
                 "GCS at %s:%d: authentication failed (wrong cluster token?)", c->host, c->port);
        log_warnx("gcs: %s connection: %s (%.*s)", conn->name, c->errstr,
                  r->type == REDIS_REPLY_ERROR ? (int)r->len : 0, r->str ? r->str : "");
        if (!conn->pubsub)
            client_report(c, false);
        redisAsyncDisconnect(ac);
        return;
    }
    conn_set_state(conn, GCS_CONN_READY);
    conn->backoff_ms = BACKOFF_MIN_MS;
    if (conn->pubsub) {
        sub_resubscribe(c);
    } else {
        c->errstr[0] = '\0';
        gcs_scripts_load_(ac); /* Redis may have restarted: before any EVALSHA */
        queue_flush(c);
        client_report(c, true);
    }
}

/* AUTH's reply: a wrong token ends the handshake; else PING (on_ping). */
static void on_handshake(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct gcs_conn *conn = privdata;
    if (conn->c->freeing || ac != conn->ac || reply == NULL)
        return;
    const redisReply *r = reply;
    if (r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "LOADING", 7) == 0) {
        on_ping(ac, reply, privdata); /* (a Redis that refuses AUTH while loading) */
        return;
    }
    if (gcs_handshake_check_(reply) < 0) {
        on_ping(ac, reply, privdata); /* reports the failure */
        return;
    }
    redisAsyncCommand(ac, on_ping, conn, "PING");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct gcs_conn *conn = ac->data;
    struct gcs_client *c = conn->c;
    if (c->freeing || ac != conn->ac)
        return;
    if (status != REDIS_OK) {
        snprintf(c->errstr, sizeof c->errstr, "cannot reach GCS at %s:%d: %s", c->host, c->port,
                 ac->errstr);
        conn_lost(conn); /* hiredis frees the context after we return */
        return;
    }
    conn_set_state(conn, GCS_CONN_HANDSHAKE);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct gcs_conn *conn = ac->data;
    struct gcs_client *c = conn->c;
    if (c->freeing || ac != conn->ac)
        return;
    if (status != REDIS_OK)
        snprintf(c->errstr, sizeof c->errstr, "lost connection to GCS at %s:%d: %s", c->host,
                 c->port, ac->errstr);
    conn_lost(conn);
}

static void conn_start(struct gcs_conn *conn)
{
    struct gcs_client *c = conn->c;
    conn_set_state(conn, GCS_CONN_CONNECTING);
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (ac == NULL || ac->err) {
        snprintf(c->errstr, sizeof c->errstr, "cannot reach GCS at %s:%d: %s", c->host, c->port,
                 ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        conn_lost(conn);
        return;
    }
    ac->data = conn;
    conn->ac = ac;
    redisLibeventAttach(ac, c->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (c->password)
        redisAsyncCommand(ac, on_handshake, conn, "AUTH %s", c->password);
    else
        redisAsyncCommand(ac, on_ping, conn, "PING");
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    conn_start(arg);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    client_destroy(arg);
}

static void conn_init(struct gcs_client *c, struct gcs_conn *conn, const char *name, bool pubsub)
{
    conn->c = c;
    conn->name = name;
    conn->pubsub = pubsub;
    conn->state = GCS_CONN_WAIT;
    conn->backoff_ms = BACKOFF_MIN_MS;
    conn->retry_ev = evtimer_new(c->base, on_retry, conn);
    if (conn->retry_ev == NULL)
        log_fatal("gcs: cannot create a timer event");
}

struct gcs_client *gcs_client_new(struct event_base *base, const char *host, int port,
                                  const char *password, const char *cluster_name)
{
    char *prefix = gcs_prefix_make_(cluster_name);
    if (prefix == NULL || base == NULL || host == NULL) {
        free(prefix);
        return NULL;
    }
    struct gcs_client *c = xcalloc(1, sizeof *c);
    STAILQ_INIT(&c->queue);
    LIST_INIT(&c->subs);
    c->base = base;
    c->host = xstrdup(host);
    c->port = port;
    c->password = password && password[0] ? xstrdup(password) : NULL;
    c->prefix = prefix;
    c->reported = -1;
    c->events_cap = GCS_EVENTS_CAP_DEFAULT;
    c->tasks_kept = GCS_TASKS_KEPT_DEFAULT;
    c->reap_ev = event_new(base, -1, 0, on_reap, c);
    c->batch_ev = event_new(base, -1, 0, on_batch_ev, c);
    if (c->reap_ev == NULL)
        log_fatal("gcs: cannot create an event");
    conn_init(c, &c->cmd, "command", false);
    conn_init(c, &c->sub, "pubsub", true);
    conn_start(&c->cmd);
    conn_start(&c->sub);
    return c;
}

void gcs_client_on_state(struct gcs_client *c, gcs_state_fn cb, void *arg)
{
    c->state_cb = cb;
    c->state_arg = arg;
}

bool gcs_client_connected(const struct gcs_client *c)
{
    return c && c->cmd.state == GCS_CONN_READY;
}

const char *gcs_client_errstr(const struct gcs_client *c)
{
    return c->errstr;
}

const char *gcs_client_prefix(const struct gcs_client *c)
{
    return c->prefix;
}

void gcs_client_set_limits(struct gcs_client *c, long events_cap, long tasks_kept)
{
    if (events_cap > 0)
        c->events_cap = events_cap;
    if (tasks_kept > 0)
        c->tasks_kept = tasks_kept;
}

long gcs_client_events_cap_(const struct gcs_client *c) { return c->events_cap; }
long gcs_client_tasks_kept_(const struct gcs_client *c) { return c->tasks_kept; }

/*
 * Trimming tasks:finished runs a script; with a large bound it is done on
 * every 256th (bound 8192 or more) or 32nd (1024 or more) final state this
 * client writes, so the set may hold up to 255 or 31 more per client for a
 * while; with a small bound, every time.
 */
long gcs_client_trim_bound_(struct gcs_client *c)
{
    unsigned long every = c->tasks_kept >= 8192 ? 256 : c->tasks_kept >= 1024 ? 32 : 1;
    return c->finished_writes++ % every == 0 ? c->tasks_kept : 0;
}

size_t gcs_client_queued(const struct gcs_client *c)
{
    return c->qlen;
}

static void client_destroy(struct gcs_client *c)
{
    batch_flush_now(c); /* queued writes are sent, or get their callbacks */
    c->freeing = true;
    if (c->cmd.ac) /* calls every sent command's callback with NULL */
        redisAsyncFree(c->cmd.ac);
    if (c->sub.ac)
        redisAsyncFree(c->sub.ac);
    c->cmd.ac = c->sub.ac = NULL;
    struct gcs_cmd *cmd;
    while ((cmd = STAILQ_FIRST(&c->queue)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->queue, link);
        on_reply(NULL, NULL, cmd);
    }
    struct gcs_sub *s;
    while ((s = LIST_FIRST(&c->subs)) != NULL) {
        LIST_REMOVE(s, link);
        free(s->suffix);
        free(s);
    }
    event_free(c->cmd.retry_ev);
    event_free(c->sub.retry_ev);
    event_free(c->reap_ev);
    if (c->batch_ev)
        event_free(c->batch_ev);
    if (c->batch_free)
        c->batch_free(c->batch);
    free(c->host);
    free(c->password);
    free(c->prefix);
    free(c);
}

void gcs_client_mute(struct gcs_client *c)
{
    if (c)
        c->muted = true;
}

void gcs_client_free(struct gcs_client *c)
{
    if (c == NULL || c->free_pending)
        return;
    if (c->in_cb > 0) {
        c->free_pending = true;
        event_active(c->reap_ev, 0, 0);
        return;
    }
    client_destroy(c);
}
