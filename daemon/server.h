/*
 * server.h — the node's listeners and connections: a Unix socket for local
 * workers, drivers and the CLI, and a TCP port for other nodes, remote
 * drivers and the CLI. Every connection starts with HELLO (protocol version
 * and cluster token, protocol.h); until then frames are limited to
 * PROTO_MAX_FRAME_PREAUTH bytes. A connection moves HANDSHAKE -> READY (<->
 * HELD) -> CLOSING. A peer that breaks the protocol (bad frame,
 * unknown message, limits) is logged and disconnected; the daemon goes on.
 *
 * Modules register a handler per message type with server_on(); handlers run
 * on the loop thread with the decoded message, whose strings point into the
 * connection's input buffer and are valid only during the call.
 */
#ifndef RAY_SERVER_H
#define RAY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct event;
struct proto_msg;
struct server;
struct conn;

enum conn_state {
    CONN_HANDSHAKE, /* waiting for HELLO (at most SERVER_HELLO_DEADLINE_S from accept) */
    CONN_READY,     /* authenticated: messages are dispatched */
    CONN_HELD,      /* authenticated, its owner not ready: frames wait (conn_hold) */
    CONN_CLOSING,   /* flushing its last output, then freed */
};

/* What a connection belongs to: each kind is one struct of one module. */
enum conn_owner_kind {
    CONN_OWNER_CLIENT = 1,  /* struct client: a worker, or a driver with its job (runtime.c) */
    CONN_OWNER_STANDALONE,  /* struct standalone_ctx: a driver waiting for its job number (runtime.c) */
    CONN_OWNER_PEER,        /* struct runtime's peer owner: another node (cluster.c; the
                             * object manager's transfers ride on it) */
    CONN_OWNER_SUBMITTER,   /* struct job: the `ray submit` connection of a running job (jobs.c) */
    CONN_OWNER_PENDING_JOB, /* struct pending: a JOB_SUBMIT whose job is not started yet (jobs.c) */
    CONN_OWNER_LOGREQ,      /* struct logreq: a `ray logs` read in progress (observe.c) */
};

/* A connection's owner: embedded in the owning module's struct, which gets
 * itself back with CONN_OWNER_OF (container_of), so ON_CLOSE knows its
 * object — and through it its runtime — without any process-wide global.
 * Readers ask for the kind they expect (conn_owner) and get NULL for any
 * other, so no module mistakes another module's object for its own. */
struct conn_owner {
    enum conn_owner_kind kind;
    void (*on_close)(struct conn *c, struct conn_owner *o); /* once, when C goes; may be NULL */
};
/* The struct TYPE whose member MEMBER is the conn_owner O (O may be NULL). */
#define CONN_OWNER_OF(o, type, member) \
    ((o) ? (type *)(void *)((char *)(o) - offsetof(type, member)) : (type *)NULL)

struct conn {
    uint64_t id;            /* unique per node, never reused */
    enum conn_state state;
    int role;               /* PROTO_ROLE_*, once READY */
    pid_t pid;              /* the peer's pid from HELLO */
    bool is_unix;
    bool outgoing;          /* we dialed it (server_connect) */
    char peer[80];          /* "unix" or "ip:port", for logs */
    struct conn_owner *owner; /* what it belongs to (conn_set_owner), or NULL */
    struct server *srv;
    /* private to server.c */
    uint8_t proof_[32];     /* outgoing: what the listener must answer */
    bool verified_;         /* outgoing: the listener proved the token */
    struct bufferevent *bev_;
    bool in_dispatch_, dead_;
    bool unauth_;           /* counted in the server's unauthenticated connections */
    uint32_t src_;          /* TCP peer's IPv4 address (network order), 0 for Unix */
    struct event *deadline_ev_; /* HELLO deadline, while HANDSHAKE */
    struct conn *unext_, *uprev_; /* the server's unauthenticated connections */
    void (*drain_cb_)(struct conn *c, void *arg);
    void *drain_arg_;
    struct conn *next_, *prev_;
};

/* Limits on peers that have not said HELLO (docs/security.md). A TCP peer
 * must complete HELLO within SERVER_HELLO_DEADLINE_S of being accepted,
 * whatever it sends meanwhile; at most SERVER_MAX_UNAUTH_PER_SOURCE such
 * connections per source address and SERVER_MAX_UNAUTH in all (fewer when
 * the descriptor limit is low: a quarter of RLIMIT_NOFILE) are kept; further
 * ones are accepted and closed at once. Unix-socket peers (the socket lives
 * in a 0700 directory) get the same deadline but no count limit. */
#define SERVER_HELLO_DEADLINE_S 10
#define SERVER_MAX_UNAUTH 1024
#define SERVER_MAX_UNAUTH_PER_SOURCE 32
/* When accept fails for lack of descriptors (EMFILE/ENFILE) the listeners
 * pause this long; a reserve descriptor lets the node accept and close the
 * connection at the head of the queue meanwhile. */
#define SERVER_ACCEPT_BACKOFF_MS 250
/* A held connection (conn_hold) buffers at most this much input before
 * the node stops reading from it. */
#define SERVER_HOLD_MAX_BYTES (1u << 20)

/* Handler for one message type. Return 0, or -1 to close the connection
 * (after logging why). */
typedef int (*server_handler_fn)(struct conn *c, const struct proto_msg *m, void *arg);
/* HELLO accepted: the module decides what the connection is (worker, driver,
 * CLI, node) from ROLE and the HELLO info map, and answers HELLO_OK itself
 * (or ERROR). Return 0 or -1 to close. */
typedef int (*server_hello_fn)(struct conn *c, const struct proto_msg *m, uint64_t role, void *arg);

/* Create the server; TOKEN is copied. Never fails. */
struct server *server_new(struct event_base *base, const char *token);
/* Put TCP connections (accepted and made) under TLS with SSL_CTX SSL_CTX
 * (common/tls.h; the caller keeps it alive longer than S). Before listening. */
void server_set_tls(struct server *s, void *ssl_ctx);
/* Listen on a Unix socket PATH. Returns 0 or -1 with err. */
int server_listen_unix(struct server *s, const char *path, char *err, size_t errlen);
/* Listen on IP:PORT (0: ephemeral); *BOUND gets the port. Returns 0 or -1 with err. */
int server_listen_tcp(struct server *s, const char *ip, int port, int *bound, char *err,
                      size_t errlen);
void server_on(struct server *s, uint32_t type, server_handler_fn fn, void *arg);
void server_on_hello(struct server *s, server_hello_fn fn, void *arg);
/* Dial another node at IP:PORT as a PROTO_ROLE_NODE peer. The connection
 * is usable at once: HELLO (with TOKEN) goes first and frames sent meanwhile
 * wait in its output buffer until the connect completes. Frames the peer
 * sends back are dispatched through the same handler table (HELLO_OK is
 * absorbed; an ERROR is logged and closes it). If the dial fails the
 * connection closes and its on_close runs (from the loop, never inside this
 * call). Returns the conn, or NULL with err for an immediate failure. */
struct conn *server_connect(struct server *s, const char *ip, int port, char *err, size_t errlen);
/* The listener's half of mutual authentication: a node dialing us sends a
 * random nonce in its HELLO info ("nonce"); we answer HELLO_OK with
 * "proof" = SHA-256(token || nonce), which only a holder of the token can
 * make. Fills PROOF and returns true if HELLO carries a nonce. */
bool server_hello_proof(const struct server *s, const struct proto_msg *hello, uint8_t proof[32]);
/* Queue one frame to C (arguments as for proto_pack). Returns 0, or -1 if the
 * connection is closing or the message is invalid. Never blocks. */
int conn_send(struct conn *c, uint32_t type, ...);
/* Queue pre-encoded frame bytes. */
int conn_send_raw(struct conn *c, const void *p, size_t len);
/* Queue LEN bytes at P without copying them (evbuffer_add_reference):
 * they must stay valid and unchanged until DONE(P, LEN, ARG) runs, which
 * happens once they are written or dropped with the connection — and at
 * once if this fails. Returns 0, or -1 if the connection is closing. */
int conn_send_ref(struct conn *c, const void *p, size_t len,
                  void (*done)(const void *p, size_t len, void *arg), void *arg);
/* Send ERROR(code, message) and close once flushed. */
void conn_fail(struct conn *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Close now (output not yet written is dropped). Safe inside handlers: the
 * free is deferred. on_close runs once. */
void conn_close(struct conn *c);
/* Call CB(C, ARG) on the loop whenever C's output buffer has fallen to
 * CONN_DRAIN_LOW_WATER bytes or fewer after a write to the socket, so a
 * module streaming bulk data can keep the buffer bounded: queue more, then
 * wait for the next call. CB NULL removes it. Not called once C is closing.
 * One callback per connection (a second call replaces the first). */
#define CONN_DRAIN_LOW_WATER (4u << 20)
void conn_on_drain(struct conn *c, void (*cb)(struct conn *c, void *arg), void *arg);
/* Set C's owner to O (NULL: none); O->on_close runs once when C goes away,
 * unless the owner is changed first. O stays the caller's and must outlive
 * its ownership. */
void conn_set_owner(struct conn *c, struct conn_owner *o);
/* C's owner if it is of KIND, else NULL. */
struct conn_owner *conn_owner(const struct conn *c, enum conn_owner_kind kind);
/* Move a READY C to HELD: its frames are no longer dispatched; they wait, in order, in its
 * input buffer (up to SERVER_HOLD_MAX_BYTES; then the node stops reading
 * from the socket) until conn_release. Safe inside a handler: the frame
 * being handled is the last one dispatched. For a peer whose owner is not
 * ready yet (a standalone driver waiting for its job number). */
void conn_hold(struct conn *c);
/* Back from HELD to READY: its waiting frames are dispatched from the loop (never inside
 * this call). */
void conn_release(struct conn *c);
/* Bytes queued for output. */
size_t conn_outbuf_len(const struct conn *c);
/* Number of live connections. */
size_t server_conn_count(const struct server *s);
/* The open connection whose id is ID, or NULL (closed, closing, or never
 * was): for work that finishes later (bio.h) and answers the peer that
 * asked. A linear scan: for rare requests. */
struct conn *server_conn_find(const struct server *s, uint64_t id);
/* Close every connection and listener and free the server. NULL is a no-op. */
void server_free(struct server *s);

#endif
