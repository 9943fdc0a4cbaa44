/*
 * server.c — listeners, connections, framing and dispatch (see server.h).
 *
 * Each connection is a bufferevent. The read callback takes whole frames off
 * the input buffer: it peeks the 4-byte length, rejects a frame above the
 * state's limit before reading its body, decodes the body in place
 * (proto_decode: no allocation) and dispatches by type. A connection moves
 * HANDSHAKE -> READY -> CLOSING through conn_set_state, which checks and
 * traces every transition; a READY connection whose owner is not ready yet
 * may be HELD (nothing dispatched, its input kept) and released to READY.
 *
 * Peers that have not said HELLO are kept on a short leash (server.h,
 * docs/security.md): an absolute deadline from accept, a bound on how many
 * there are in all and per source address, and listeners that pause instead
 * of spinning when the node runs out of descriptors.
 */
#include "daemon/server.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/ids.h"
#include "common/proto.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include "common/tls.h"
#include <event2/event.h>
#include <event2/listener.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVER_MAX_TYPES 1000
#define SERVER_MAX_FRAMES_PER_WAKEUP 512
#define SERVER_LAST_WORDS_MAX (4u << 20) /* read from a peer that went away */
#define SERVER_CLOSE_TIMEOUT_S 2

struct server {
    struct event_base *base;
    char *token;
    void *tls;           /* SSL_CTX for TCP connections (common/tls.h), NULL = plain */
    struct evconnlistener *listeners[4];
    int nlisteners;
    char *unix_path;
    struct { server_handler_fn fn; void *arg; } handlers[SERVER_MAX_TYPES];
    server_hello_fn hello_fn;
    void *hello_arg;
    struct conn *conns;
    size_t nconns;
    uint64_t next_id;
    struct buf scratch;  /* conn_send's encoding buffer */
    /* unauthenticated connections (server.h limits): all of them on the
     * list (for the deadline), the TCP ones counted */
    struct conn *unauth;
    size_t nunauth, max_unauth;
    unsigned long refused;      /* over a limit since the last log line */
    long long refused_log_ms;
    const char *refused_why;
    struct event *refused_ev;   /* reports the last refusals of a burst */
    /* descriptor exhaustion: a reserve fd, and listeners paused meanwhile */
    int reserve_fd;
    struct event *backoff_ev;
    bool paused;
};

static void unauth_remove(struct conn *c)
{
    struct server *s = c->srv;
    if (!c->unauth_)
        return;
    c->unauth_ = false;
    if (c->uprev_)
        c->uprev_->unext_ = c->unext_;
    else
        s->unauth = c->unext_;
    if (c->unext_)
        c->unext_->uprev_ = c->uprev_;
    c->unext_ = c->uprev_ = NULL;
    if (c->src_ != 0)
        s->nunauth--;
    if (c->deadline_ev_) {
        event_free(c->deadline_ev_);
        c->deadline_ev_ = NULL;
    }
}

static const char *conn_state_name(enum conn_state s)
{
    switch (s) {
    case CONN_HANDSHAKE: return "handshake";
    case CONN_READY: return "ready";
    case CONN_HELD: return "held";
    case CONN_CLOSING: return "closing";
    }
    return "?";
}

static void conn_set_state(struct conn *c, enum conn_state to)
{
    bool ok = (c->state == CONN_HANDSHAKE && (to == CONN_READY || to == CONN_CLOSING)) ||
              (c->state == CONN_READY && (to == CONN_HELD || to == CONN_CLOSING)) ||
              (c->state == CONN_HELD && (to == CONN_READY || to == CONN_CLOSING));
    if (!ok) {
        log_error("conn %llu: bad state change %s -> %s", (unsigned long long)c->id,
                  conn_state_name(c->state), conn_state_name(to));
        return;
    }
    log_debug("conn %llu (%s): %s -> %s", (unsigned long long)c->id, c->peer,
              conn_state_name(c->state), conn_state_name(to));
    if (c->state == CONN_HANDSHAKE)
        unauth_remove(c); /* authenticated or refused: no longer on the leash */
    c->state = to;
}

void conn_set_owner(struct conn *c, struct conn_owner *o)
{
    c->owner = o;
}

struct conn_owner *conn_owner(const struct conn *c, enum conn_owner_kind kind)
{
    return c->owner && c->owner->kind == kind ? c->owner : NULL;
}

static void conn_free(struct conn *c)
{
    struct server *s = c->srv;
    if (c->prev_)
        c->prev_->next_ = c->next_;
    else
        s->conns = c->next_;
    if (c->next_)
        c->next_->prev_ = c->prev_;
    s->nconns--;
    unauth_remove(c);
    struct conn_owner *o = c->owner;
    c->owner = NULL;
    if (o && o->on_close)
        o->on_close(c, o);
    if (c->bev_)
        bufferevent_free(c->bev_);
    free(c);
}

void conn_close(struct conn *c)
{
    if (c->dead_)
        return;
    c->dead_ = true;
    if (!c->in_dispatch_)
        conn_free(c);
}

size_t conn_outbuf_len(const struct conn *c)
{
    return c->bev_ ? evbuffer_get_length(bufferevent_get_output(c->bev_)) : 0;
}

int conn_send_raw(struct conn *c, const void *p, size_t len)
{
    if (c->dead_ || c->state == CONN_CLOSING)
        return -1;
    return bufferevent_write(c->bev_, p, len);
}

int conn_send_ref(struct conn *c, const void *p, size_t len,
                  void (*done)(const void *p, size_t len, void *arg), void *arg)
{
    if (c->dead_ || c->state == CONN_CLOSING ||
        evbuffer_add_reference(bufferevent_get_output(c->bev_), p, len, done, arg) < 0) {
        done(p, len, arg); /* libevent calls it only for a reference it took */
        return -1;
    }
    return 0;
}

int conn_send(struct conn *c, uint32_t type, ...)
{
    if (c->dead_ || c->state == CONN_CLOSING)
        return -1;
    /* one scratch buffer per server: the loop is single-threaded, and a
     * message per task should not cost a malloc and a free */
    struct buf *b = &c->srv->scratch;
    buf_reset(b);
    va_list ap;
    va_start(ap, type);
    int rc = proto_vpack(b, type, ap);
    va_end(ap);
    if (rc == 0)
        rc = bufferevent_write(c->bev_, b->data, b->len);
    else
        log_error("conn %llu: cannot encode message %u", (unsigned long long)c->id, type);
    if (b->cap > (1u << 20))
        buf_free(b); /* do not keep a big frame's memory */
    return rc;
}

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (c->drain_cb_ && !c->dead_ && c->state == CONN_READY)
        c->drain_cb_(c, c->drain_arg_);
}

void conn_on_drain(struct conn *c, void (*cb)(struct conn *c, void *arg), void *arg)
{
    if (c->dead_ || c->state == CONN_CLOSING)
        return;
    c->drain_cb_ = cb;
    c->drain_arg_ = arg;
    /* bulk senders: write up to 1 MiB per syscall instead of libevent's 16 KiB */
    bufferevent_set_max_single_write(c->bev_, cb ? (1u << 20) : 16384);
    bufferevent_setwatermark(c->bev_, EV_WRITE, cb ? CONN_DRAIN_LOW_WATER : 0, 0);
    bufferevent_setcb(c->bev_, conn_read_cb, cb ? conn_write_cb : NULL, conn_event_cb, c);
}

static void conn_closing_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_close(c);
}

static void conn_closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    conn_close(arg);
}

void conn_fail(struct conn *c, int code, const char *fmt, ...)
{
    if (c->dead_ || c->state == CONN_CLOSING)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char esc[600];
    log_warnx("closing connection %llu from %s: %s", (unsigned long long)c->id, c->peer,
              log_escape(esc, sizeof esc, msg, strlen(msg)));
    struct buf b = BUF_INIT;
    if (proto_pack(&b, PROTO_ERROR, (int64_t)code, msg) == 0)
        bufferevent_write(c->bev_, b.data, b.len);
    buf_free(&b);
    conn_set_state(c, CONN_CLOSING);
    c->drain_cb_ = NULL;
    bufferevent_setwatermark(c->bev_, EV_WRITE, 0, 0);
    bufferevent_disable(c->bev_, EV_READ);
    struct timeval tv = { SERVER_CLOSE_TIMEOUT_S, 0 };
    bufferevent_set_timeouts(c->bev_, NULL, &tv);
    bufferevent_setcb(c->bev_, NULL, conn_closing_write_cb, conn_closing_event_cb, c);
    if (evbuffer_get_length(bufferevent_get_output(c->bev_)) == 0 && !c->in_dispatch_)
        conn_close(c);
}

static int conn_dispatch(struct conn *c, const struct proto_msg *m)
{
    struct server *s = c->srv;
    if (c->state == CONN_HANDSHAKE) {
        if (m->type != PROTO_HELLO) {
            conn_fail(c, -10, "expected HELLO first, got %s", proto_name(m->type));
            return -1;
        }
        uint64_t role = 0;
        char err[200];
        int rc = proto_hello_verify(m, s->token, &role, err, sizeof err);
        if (rc < 0) {
            conn_fail(c, rc == -2 ? -10 : -1, "%s", err);
            return -1;
        }
        c->pid = (pid_t)m->f[3].as.u;
        conn_set_state(c, CONN_READY);
        c->role = (int)role;
        if (s->hello_fn && s->hello_fn(c, m, role, s->hello_arg) < 0) {
            if (!c->dead_ && c->state != CONN_CLOSING)
                conn_fail(c, -1, "connection refused");
            return -1;
        }
        return 0;
    }
    if (c->outgoing && m->type == PROTO_HELLO_OK) {
        /* the listener must prove it holds the token too */
        const void *proof = NULL;
        size_t plen = 0;
        struct mpr r;
        uint32_t n;
        mpr_init(&r, m->f[2].as.s.ptr, m->f[2].as.s.len);
        if (mpr_map(&r, &n) == 0)
            for (uint32_t i = 0; i < n; i++) {
                const char *k;
                size_t kl;
                if (mpr_str(&r, &k, &kl) < 0)
                    break;
                if (kl == 5 && memcmp(k, "proof", 5) == 0) {
                    if (mpr_bin(&r, &proof, &plen) < 0)
                        proof = NULL;
                    break;
                }
                if (mpr_skip(&r) < 0)
                    break;
            }
        unsigned char diff = plen == sizeof c->proof_ ? 0 : 1;
        for (size_t i = 0; proof && i < sizeof c->proof_ && i < plen; i++)
            diff |= ((const unsigned char *)proof)[i] ^ c->proof_[i];
        if (proof == NULL || diff != 0) {
            log_warnx("node %s did not prove the cluster token: closing", c->peer);
            conn_close(c);
            return -1;
        }
        c->verified_ = true;
        return 0;
    }
    if (c->outgoing && !c->verified_ && m->type != PROTO_ERROR) {
        log_warnx("node %s sent %s before proving the cluster token: closing", c->peer,
                  proto_name(m->type));
        conn_close(c);
        return -1;
    }
    if (c->outgoing && m->type == PROTO_ERROR) {
        char esc[300];
        log_warnx("peer %s refused us: %s", c->peer,
                  log_escape(esc, sizeof esc, m->f[1].as.s.ptr, m->f[1].as.s.len));
        conn_close(c);
        return -1;
    }
    if (m->type < SERVER_MAX_TYPES && s->handlers[m->type].fn) {
        if (s->handlers[m->type].fn(c, m, s->handlers[m->type].arg) < 0) {
            if (!c->dead_ && c->state != CONN_CLOSING)
                conn_fail(c, -1, "bad %s message", proto_name(m->type));
            return -1;
        }
        return 0;
    }
    if (m->type == PROTO_PING)
        return conn_send(c, PROTO_PONG, m->f[0].as.u);
    conn_fail(c, -1, "message %s not accepted here", proto_name(m->type));
    return -1;
}

/* Dispatch up to MAX complete frames of C's input. Returns false if C was
 * closed meanwhile (and is freed). */
static bool conn_read_frames(struct conn *c, int max)
{
    struct bufferevent *bev = c->bev_;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->in_dispatch_ = true;
    for (int handled = 0; handled < max; handled++) {
        if (c->dead_ || c->state == CONN_CLOSING || c->state == CONN_HELD)
            break;
        size_t avail = evbuffer_get_length(in);
        unsigned char hdr[4];
        if (avail < 4)
            break;
        evbuffer_copyout(in, hdr, 4);
        size_t body = 0;
        char err[200];
        size_t limit = c->state == CONN_HANDSHAKE ? PROTO_MAX_FRAME_PREAUTH : PROTO_MAX_FRAME;
        int rc = proto_frame_need(hdr, 4, limit, &body, err, sizeof err);
        if (rc == PROTO_BAD) {
            conn_fail(c, -1, "%s", err);
            break;
        }
        if (avail < 4 + body) {
            /* let the buffer grow to the frame size, no further */
            bufferevent_setwatermark(bev, EV_READ, 0, 0);
            break;
        }
        unsigned char *p = evbuffer_pullup(in, (ssize_t)(4 + body));
        struct proto_msg m;
        if (proto_decode(p + 4, body, &m, err, sizeof err) < 0) {
            conn_fail(c, -1, "%s", err);
            break;
        }
        int hr = conn_dispatch(c, &m);
        if (!c->dead_)
            evbuffer_drain(in, 4 + body);
        if (hr < 0)
            break;
    }
    c->in_dispatch_ = false;
    if (c->dead_) {
        conn_free(c);
        return false;
    }
    return true;
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!conn_read_frames(c, SERVER_MAX_FRAMES_PER_WAKEUP))
        return;
    if (c->state == CONN_HELD) {
        /* keep what arrives, up to a bound; then TCP pushes back */
        bufferevent_setwatermark(bev, EV_READ, 0, SERVER_HOLD_MAX_BYTES);
        return;
    }
    if (c->state != CONN_CLOSING && evbuffer_get_length(in) >= 4) {
        /* more complete frames may be waiting: come back on the next turn */
        unsigned char hdr[4];
        evbuffer_copyout(in, hdr, 4);
        size_t body = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
        if (evbuffer_get_length(in) >= 4 + body)
            bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        log_debug("conn %llu (%s) closed%s", (unsigned long long)c->id, c->peer,
                  (what & BEV_EVENT_ERROR) ? " with an error" : "");
        /* what a peer sent before it went away still counts (a dead
         * worker's last TASK_DONEs): frames left for the next turn by the
         * per-wakeup bound, and bytes still in the socket when the end shows
         * first as a failed write to it, are dispatched now */
        if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && c->state == CONN_READY) {
            struct evbuffer *in = bufferevent_get_input(bev);
            /* (a TLS connection's socket holds ciphertext: nothing to add) */
            evutil_socket_t fd = c->srv->tls && !c->is_unix ? -1 : bufferevent_getfd(bev);
            while (fd >= 0 && evbuffer_get_length(in) < SERVER_LAST_WORDS_MAX &&
                   evbuffer_read(in, fd, 65536) > 0)
                ;
            if (!conn_read_frames(c, INT_MAX))
                return;
        }
        conn_close(c);
    }
}

void conn_hold(struct conn *c)
{
    if (c->dead_ || c->state != CONN_READY)
        return;
    conn_set_state(c, CONN_HELD);
    bufferevent_setwatermark(c->bev_, EV_READ, 0, SERVER_HOLD_MAX_BYTES);
}

void conn_release(struct conn *c)
{
    if (c->dead_ || c->state != CONN_HELD)
        return;
    conn_set_state(c, CONN_READY);
    bufferevent_setwatermark(c->bev_, EV_READ, 0, 0);
    if (evbuffer_get_length(bufferevent_get_input(c->bev_)) > 0)
        bufferevent_trigger(c->bev_, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (c->state != CONN_HANDSHAKE || c->dead_)
        return;
    log_debug("conn %llu (%s): no HELLO within %d s: closing", (unsigned long long)c->id, c->peer,
              SERVER_HELLO_DEADLINE_S);
    conn_close(c);
}

/* Number of unauthenticated connections from SRC (a bounded walk: at most
 * max_unauth entries). */
static size_t unauth_from(const struct server *s, uint32_t src)
{
    size_t n = 0;
    for (const struct conn *c = s->unauth; c; c = c->unext_)
        n += c->src_ == src;
    return n;
}

static void server_timer_ms(struct event *ev, long long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(ev, &tv);
}

static void server_refused_report(struct server *s)
{
    if (s->refused == 0)
        return;
    log_warnx("refused %lu unauthenticated connection(s) since the last report (latest: %s; "
              "limits: %zu in all, %d per source address)",
              s->refused, s->refused_why, s->max_unauth, SERVER_MAX_UNAUTH_PER_SOURCE);
    s->refused = 0;
    s->refused_log_ms = net_now_ms();
}

static void server_refused_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server_refused_report(arg);
}

/* A connection over a limit: accepted and closed at once, counted, and
 * summed up in at most one log line a second (the last of a burst by a
 * timer). */
static void server_refuse(struct server *s, evutil_socket_t fd, const char *why)
{
    close(fd);
    s->refused++;
    s->refused_why = why;
    long long left = s->refused_log_ms + 1000 - net_now_ms();
    if (left <= 0)
        server_refused_report(s);
    else if (!evtimer_pending(s->refused_ev, NULL))
        server_timer_ms(s->refused_ev, left);
}

/* Link C (its bufferevent made) into the server's connections and start reading. */
static void conn_attach(struct server *s, struct conn *c)
{
    c->next_ = s->conns;
    if (s->conns)
        s->conns->prev_ = c;
    s->conns = c;
    s->nconns++;
    bufferevent_setcb(c->bev_, conn_read_cb, NULL, conn_event_cb, c);
    bufferevent_enable(c->bev_, EV_READ | EV_WRITE);
}

static void server_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                             int salen, void *arg)
{
    (void)l;
    (void)salen;
    struct server *s = arg;
    uint32_t src = 0;
    if (sa->sa_family == AF_INET) {
        src = ((struct sockaddr_in *)sa)->sin_addr.s_addr;
        if (s->nunauth >= s->max_unauth) {
            server_refuse(s, fd, "too many in all");
            return;
        }
        if (unauth_from(s, src) >= SERVER_MAX_UNAUTH_PER_SOURCE) {
            server_refuse(s, fd, "too many from one address");
            return;
        }
    }
    struct conn *c = xcalloc(1, sizeof *c);
    c->id = ++s->next_id;
    c->srv = s;
    c->state = CONN_HANDSHAKE;
    c->src_ = src;
    if (sa->sa_family == AF_UNIX) {
        c->is_unix = true;
        snprintf(c->peer, sizeof c->peer, "unix:%d", (int)fd);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%d", ip, ntohs(in->sin_port));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (s->tls && !c->is_unix)
        c->bev_ = tls_bufferevent(s->base, fd, s->tls, true); /* closes FD on failure */
    else if ((c->bev_ = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
        close(fd);
    if (c->bev_ == NULL) {
        free(c);
        return;
    }
    conn_attach(s, c);
    /* an unauthenticated peer gets SERVER_HELLO_DEADLINE_S from now to say
     * HELLO, however it spaces its bytes */
    c->unauth_ = true;
    c->unext_ = s->unauth;
    if (s->unauth)
        s->unauth->uprev_ = c;
    s->unauth = c;
    if (c->src_ != 0)
        s->nunauth++;
    c->deadline_ev_ = evtimer_new(s->base, conn_deadline_cb, c);
    struct timeval tv = { SERVER_HELLO_DEADLINE_S, 0 };
    evtimer_add(c->deadline_ev_, &tv);
    log_debug("conn %llu accepted from %s", (unsigned long long)c->id, c->peer);
}

void server_set_tls(struct server *s, void *ssl_ctx)
{
    s->tls = ssl_ctx;
}

struct conn *server_connect(struct server *s, const char *ip, int port, char *err, size_t errlen)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "bad node address %s", ip);
        return NULL;
    }
    struct conn *c = xcalloc(1, sizeof *c);
    c->id = ++s->next_id;
    c->srv = s;
    c->state = CONN_READY;
    c->role = PROTO_ROLE_NODE;
    c->outgoing = true;
    snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
    c->bev_ = s->tls ? tls_bufferevent(s->base, -1, s->tls, false)
                     : bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev_ == NULL) {
        free(c);
        snprintf(err, errlen, "cannot create a connection");
        return NULL;
    }
    conn_attach(s, c);
    uint8_t nonce[16];
    ids_random(nonce, sizeof nonce);
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, s->token, strlen(s->token));
    sha256_update(&h, nonce, sizeof nonce);
    sha256_final(&h, c->proof_);
    struct buf hello = BUF_INIT, info = BUF_INIT;
    mpw_map(&info, 1);
    mpw_cstr(&info, "nonce");
    mpw_bin(&info, nonce, sizeof nonce);
    proto_pack(&hello, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)PROTO_ROLE_NODE, s->token,
               (uint64_t)getpid(), info.data, info.len);
    bufferevent_write(c->bev_, hello.data, hello.len);
    buf_free(&hello);
    buf_free(&info);
    /* the failure of an async connect arrives as an event; a synchronous one
     * is reported from the loop too, so callers never see on_close early */
    if (bufferevent_socket_connect(c->bev_, (struct sockaddr *)&sa, sizeof sa) < 0)
        bufferevent_trigger_event(c->bev_, BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
    return c;
}

bool server_hello_proof(const struct server *s, const struct proto_msg *hello, uint8_t proof[32])
{
    struct mpr r;
    uint32_t n;
    mpr_init(&r, hello->f[4].as.s.ptr, hello->f[4].as.s.len);
    if (mpr_map(&r, &n) < 0)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        if (mpr_str(&r, &k, &kl) < 0)
            return false;
        if (kl == 5 && memcmp(k, "nonce", 5) == 0) {
            const void *p;
            size_t len;
            if (mpr_bin(&r, &p, &len) < 0 || len == 0 || len > 64)
                return false;
            struct sha256_ctx h;
            sha256_init(&h);
            sha256_update(&h, s->token, strlen(s->token));
            sha256_update(&h, p, len);
            sha256_final(&h, proof);
            return true;
        }
        if (mpr_skip(&r) < 0)
            return false;
    }
    return false;
}

static void server_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct server *s = arg;
    s->paused = false;
    for (int i = 0; i < s->nlisteners; i++)
        evconnlistener_enable(s->listeners[i]);
    if (s->reserve_fd < 0)
        s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void server_accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct server *s = arg;
    int err = errno;
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
        log_warn("accept");
        return;
    }
    /* Out of descriptors: the pending connection would wake us at once,
     * forever. Use the reserve descriptor to take it off the queue and
     * close it, and pause every listener for a while. */
    if (s->reserve_fd >= 0) {
        close(s->reserve_fd);
        s->reserve_fd = -1;
        int fd = accept4(evconnlistener_get_fd(l), NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            close(fd);
        s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (!s->paused) {
        s->paused = true;
        for (int i = 0; i < s->nlisteners; i++)
            evconnlistener_disable(s->listeners[i]);
        struct timeval tv = { 0, SERVER_ACCEPT_BACKOFF_MS * 1000 };
        evtimer_add(s->backoff_ev, &tv);
    }
    log_debug("accept failed with %zu connections open", s->nconns);
    errno = err;
    /* the same text each time, so that the log collapses an episode */
    log_warn("accept: pausing new connections for %d ms", SERVER_ACCEPT_BACKOFF_MS);
}

struct server *server_new(struct event_base *base, const char *token)
{
    struct server *s = xcalloc(1, sizeof *s);
    s->base = base;
    s->token = xstrdup(token);
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    s->backoff_ev = evtimer_new(base, server_backoff_cb, s);
    s->refused_ev = evtimer_new(base, server_refused_cb, s);
    /* unauthenticated peers may hold at most a quarter of our descriptors */
    s->max_unauth = SERVER_MAX_UNAUTH;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < s->max_unauth)
        s->max_unauth = rl.rlim_cur / 4 > 16 ? (size_t)(rl.rlim_cur / 4) : 16;
    return s;
}

static int server_add_listener(struct server *s, int fd, char *err, size_t errlen)
{
    if (s->nlisteners >= 4) {
        snprintf(err, errlen, "too many listeners");
        close(fd);
        return -1;
    }
    struct evconnlistener *l = evconnlistener_new(s->base, server_accept_cb, s,
                                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                                  0 /* listening already: keep its backlog */, fd);
    if (l == NULL) {
        snprintf(err, errlen, "evconnlistener_new failed");
        close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l, server_accept_error_cb);
    s->listeners[s->nlisteners++] = l;
    return 0;
}

int server_listen_unix(struct server *s, const char *path, char *err, size_t errlen)
{
    int fd = net_listen_unix(path, err, errlen);
    if (fd < 0)
        return -1;
    free(s->unix_path);
    s->unix_path = xstrdup(path);
    return server_add_listener(s, fd, err, errlen);
}

int server_listen_tcp(struct server *s, const char *ip, int port, int *bound, char *err,
                      size_t errlen)
{
    int fd = net_listen_tcp(ip, port, bound, err, errlen);
    if (fd < 0)
        return -1;
    return server_add_listener(s, fd, err, errlen);
}

void server_on(struct server *s, uint32_t type, server_handler_fn fn, void *arg)
{
    if (type < SERVER_MAX_TYPES) {
        s->handlers[type].fn = fn;
        s->handlers[type].arg = arg;
    }
}

void server_on_hello(struct server *s, server_hello_fn fn, void *arg)
{
    s->hello_fn = fn;
    s->hello_arg = arg;
}

size_t server_conn_count(const struct server *s)
{
    return s->nconns;
}

struct conn *server_conn_find(const struct server *s, uint64_t id)
{
    for (struct conn *c = s->conns; c; c = c->next_)
        if (c->id == id)
            return c->dead_ || c->state == CONN_CLOSING ? NULL : c;
    return NULL;
}

void server_free(struct server *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->nlisteners; i++)
        evconnlistener_free(s->listeners[i]);
    while (s->conns) {
        struct conn *c = s->conns;
        c->dead_ = true;
        c->in_dispatch_ = false;
        conn_free(c);
    }
    if (s->unix_path) {
        unlink(s->unix_path);
        free(s->unix_path);
    }
    buf_free(&s->scratch);
    if (s->backoff_ev)
        event_free(s->backoff_ev);
    if (s->refused_ev)
        event_free(s->refused_ev);
    if (s->reserve_fd >= 0)
        close(s->reserve_fd);
    free(s->token);
    free(s);
}
