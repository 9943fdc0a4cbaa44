/*
 * tls.c — OpenSSL contexts and TLS bufferevents for node connections and
 * the dashboard (tls.h).
 */
#include "daemon/tls.h"

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
