/*
 * tls.c — OpenSSL contexts and TLS bufferevents for node connections and
 * the dashboard (tls.h).
 */
#include "common/tls.h"

#include "common/buf.h"
#include "common/http.h"
#include "common/netutil.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void ssl_why(char *err, size_t errlen, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s %s: %s", what, path, buf[0] ? buf : "unreadable");
    ERR_clear_error();
}

void *tls_ctx_new(const char *cert, const char *key, const char *ca, bool peer_cert, char *err,
                  size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "TLS: cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* no SSL_MODE_ENABLE_PARTIAL_WRITE: libevent's OpenSSL bufferevent
     * drains what SSL_write reports across several buffer pieces, so a
     * partial write of one piece followed by the next would reorder bytes
     * (test_tls moves 48 MiB objects to see it) */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (access(cert, R_OK) != 0 || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_why(err, errlen, "--tls-cert", cert);
        goto fail;
    }
    if (access(key, R_OK) != 0 || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            snprintf(err, errlen, "--tls-key %s does not match --tls-cert %s", key, cert);
        } else {
            ssl_why(err, errlen, "--tls-key", key);
        }
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "--tls-key %s does not match --tls-cert %s", key, cert);
        goto fail;
    }
    if (access(ca, R_OK) != 0 || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_why(err, errlen, "--tls-ca", ca);
        goto fail;
    }
    SSL_CTX_set_verify(ctx, peer_cert ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                      : SSL_VERIFY_NONE, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(void *ctx)
{
    if (ctx)
        SSL_CTX_free(ctx);
}

int tls_check_flags(const char *cert, const char *key, const char *ca, bool *on, char *err,
                    size_t errlen)
{
    bool c = cert && *cert, k = key && *key, a = ca && *ca;
    *on = c || k || a;
    if (*on && !(c && k && a)) {
        snprintf(err, errlen, "TLS needs --tls-cert, --tls-key and --tls-ca together (missing %s)",
                 !c ? "--tls-cert" : !k ? "--tls-key" : "--tls-ca");
        return -1;
    }
    return 0;
}

struct bufferevent *tls_bufferevent(struct event_base *base, int fd, void *ctx, bool accepting)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, fd, ssl, accepting ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
        BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

int tls_http_request(const char *host, int port, const char *ca, const char *method,
                     const char *path, const char *token, const char *content_type,
                     const void *body, size_t bodylen, size_t maxresp, int timeout_ms,
                     struct buf *resp, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    struct buf req = BUF_INIT, raw = BUF_INIT;
    int rc = -1, fd = -1;
    if (ctx == NULL) {
        snprintf(err, errlen, "TLS: cannot create a context");
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (access(ca, R_OK) != 0 || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_why(err, errlen, "--tls-ca", ca);
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* evhttp closes after its answer without a close_notify: that is the end */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    fd = net_connect_tcp(host, port, timeout_ms, err, errlen);
    if (fd < 0)
        goto out;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        unsigned long e = ERR_get_error();
        char why[256] = "handshake failed";
        if (e)
            ERR_error_string_n(e, why, sizeof why);
        snprintf(err, errlen, "TLS to %s:%d: %s", host, port, why);
        goto out;
    }
    http_request_head(&req, host, port, method, path, token, content_type, body != NULL, bodylen);
    if (body)
        buf_append(&req, body, bodylen);
    for (size_t off = 0; off < req.len;) {
        int n = SSL_write(ssl, req.data + off, (int)(req.len - off > (1u << 30) ? 1u << 30 : req.len - off));
        if (n <= 0) {
            snprintf(err, errlen, "cannot send to %s:%d over TLS", host, port);
            goto out;
        }
        off += (size_t)n;
    }
    for (;;) {
        char chunk[65536];
        int n = SSL_read(ssl, chunk, sizeof chunk);
        if (n <= 0) {
            int e = SSL_get_error(ssl, n);
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && raw.len > 0))
                break;
            snprintf(err, errlen, "no answer from %s:%d over TLS within %d ms", host, port,
                     timeout_ms);
            goto out;
        }
        if (raw.len + (size_t)n > maxresp) {
            snprintf(err, errlen, "the answer from %s:%d is over %zu bytes", host, port, maxresp);
            goto out;
        }
        buf_append(&raw, chunk, (size_t)n);
    }
    rc = http_response_take(&raw, host, port, resp, err, errlen);
out:
    ERR_clear_error();
    if (ssl)
        SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    if (ctx)
        SSL_CTX_free(ctx);
    buf_free(&req);
    buf_free(&raw);
    return rc;
}
