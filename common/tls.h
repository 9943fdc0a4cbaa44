/*
 * tls.h — opt-in TLS (SPEC section 11): `--tls-cert`, `--tls-key`,
 * `--tls-ca` put the node's TCP connections to other nodes (and the head's
 * dashboard) under TLS, through libevent's OpenSSL bufferevents. Node
 * connections are mutually authenticated: each side presents its
 * certificate and requires the other's to chain to the CA (the cluster
 * token's HELLO still follows, inside). Host names are not checked: the CA
 * is the cluster's own. Unix sockets (workers, local drivers and CLI) stay
 * as they are. docs/security.md "TLS".
 */
#ifndef RAY_TLS_H
#define RAY_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct event_base;

/* An OpenSSL context (SSL_CTX) from the PEM files CERT (chain), KEY and CA.
 * PEER_CERT: require the peer's certificate (node connections) or not (the
 * dashboard's browsers). Returns it (tls_ctx_free) or NULL with one line in
 * ERR naming the file that is wrong. */
void *tls_ctx_new(const char *cert, const char *key, const char *ca, bool peer_cert, char *err,
                  size_t errlen);
void tls_ctx_free(void *ctx);

/* All three of CERT, KEY, CA or none: returns 0 (then *ON says which), or
 * -1 with ERR naming the one missing. */
int tls_check_flags(const char *cert, const char *key, const char *ca, bool *on, char *err,
                    size_t errlen);

/* A bufferevent on FD (-1: connect later with bufferevent_socket_connect)
 * speaking TLS with context CTX, as the accepting or the connecting side.
 * It owns FD (BEV_OPT_CLOSE_ON_FREE). Returns NULL on failure (FD closed). */
struct bufferevent *tls_bufferevent(struct event_base *base, int fd, void *ctx, bool accepting);

/* http_request (common/http.h) over TLS, for `ray job` and an https://
 * dashboard: the server's certificate must chain to CA (a PEM file; its
 * name is not checked, as between nodes). Returns the status code with the
 * body in *RESP, or -1 with one line in ERR. */
struct buf;
int tls_http_request(const char *host, int port, const char *ca, const char *method,
                     const char *path, const char *token, const char *content_type,
                     const void *body, size_t bodylen, size_t maxresp, int timeout_ms,
                     struct buf *resp, char *err, size_t errlen);

#endif
