/*
 * server.h — the node's listeners and connections: a Unix socket for local
 * workers, drivers and the CLI, and a TCP port for other nodes, remote
 * drivers and the CLI. Every connection starts with HELLO (protocol version
 * and cluster token, protocol.h); until then frames are limited to
 * PROTO_MAX_FRAME_PREAUTH bytes. A peer that breaks the protocol (bad frame,
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
struct proto_msg;
struct server;

enum conn_state {
    CONN_HANDSHAKE, /* waiting for HELLO */
    CONN_READY,     /* authenticated: messages are dispatched */
    CONN_CLOSING,   /* flushing its last output, then freed */
};

struct conn {
    uint64_t id;            /* unique per node, never reused */
    enum conn_state state;
    int role;               /* PROTO_ROLE_*, once READY */
    pid_t pid;              /* the peer's pid from HELLO */
    bool is_unix;
    bool outgoing;          /* we dialed it (server_connect) */
    char peer[80];          /* "unix" or "ip:port", for logs */
    void *owner;            /* the module object this connection belongs to */
    void (*on_close)(struct conn *c, void *owner); /* called once when it goes away */
    struct server *srv;
    /* private to server.c */
    uint8_t proof_[32];     /* outgoing: what the listener must answer */
    bool verified_;         /* outgoing: the listener proved the token */
    struct bufferevent *bev_;
    bool in_dispatch_, dead_;
    void (*drain_cb_)(struct conn *c, void *arg);
    void *drain_arg_;
    struct conn *next_, *prev_;
};

/* Handler for one message type. Return 0, or -1 to close the connection
 * (after logging why). */
typedef int (*server_handler_fn)(struct conn *c, const struct proto_msg *m, void *arg);
/* HELLO accepted: the module decides what the connection is (worker, driver,
 * CLI, node) from ROLE and the HELLO info map, and answers HELLO_OK itself
 * (or ERROR). Return 0 or -1 to close. */
typedef int (*server_hello_fn)(struct conn *c, const struct proto_msg *m, uint64_t role, void *arg);

/* Create the server; TOKEN is copied. Never fails. */
struct server *server_new(struct event_base *base, const char *token);
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
/* Bytes queued for output. */
size_t conn_outbuf_len(const struct conn *c);
/* Number of live connections. */
size_t server_conn_count(const struct server *s);
/* Close every connection and listener and free the server. NULL is a no-op. */
void server_free(struct server *s);

#endif
