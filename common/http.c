/*
 * http.c — the token check, query strings, multipart/form-data, response
 * parsing and a blocking client (http.h).
 */
#include "common/http.h"

#include "common/buf.h"
#include "common/ids.h"
#include "common/netutil.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

bool http_ct_equal(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < len; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

/* Compare CAND (CLEN bytes) with TOKEN in time depending only on the
 * token's length. */
static bool token_eq(const char *cand, size_t clen, const char *token, size_t tlen)
{
    unsigned char d = clen == tlen ? 0 : 1;
    for (size_t i = 0; i < tlen; i++)
        d |= (unsigned char)((i < clen ? (unsigned char)cand[i] : 0) ^ (unsigned char)token[i]);
    return d == 0;
}

bool http_token_ok(const char *authorization, const char *cookie, const char *token)
{
    size_t tlen = token ? strlen(token) : 0;
    if (tlen == 0)
        return false;
    bool ok = false;
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *t = authorization + 7;
        while (*t == ' ')
            t++;
        size_t l = strlen(t);
        while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'))
            l--;
        ok |= token_eq(t, l, token, tlen);
    }
    for (const char *p = cookie; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        size_t nl = strlen(HTTP_TOKEN_COOKIE);
        if (l > nl && memcmp(p, HTTP_TOKEN_COOKIE, nl) == 0 && p[nl] == '=')
            ok |= token_eq(p + nl + 1, l - nl - 1, token, tlen);
        p += l;
    }
    return ok;
}

long http_query_get(const char *query, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l >= klen && memcmp(p, key, klen) == 0 && (l == klen || p[klen] == '=')) {
            const char *v = l == klen ? p + l : p + klen + 1;
            const char *ve = p + l;
            size_t o = 0;
            while (v < ve) {
                int ch = (unsigned char)*v;
                if (ch == '%') {
                    int h = ve - v >= 3 ? ids_hex_digit(v[1]) : -1, lo = ve - v >= 3 ? ids_hex_digit(v[2]) : -1;
                    if (h < 0 || lo < 0)
                        return -1;
                    ch = h * 16 + lo;
                    v += 3;
                } else {
                    if (ch == '+')
                        ch = ' ';
                    v++;
                }
                if (ch == 0 || o + 1 >= outlen)
                    return -1;
                out[o++] = (char)ch;
            }
            if (outlen == 0)
                return -1;
            out[o] = '\0';
            return (long)o;
        }
        p += l;
        if (*p == '&')
            p++;
    }
    return -1;
}

int http_query_long(const char *query, const char *key, long def, long min, long max, long *out)
{
    char v[32];
    long l = http_query_get(query, key, v, sizeof v);
    if (l < 0) {
        /* present but unreadable is an error; absent is the default */
        char probe[2];
        if (query && http_query_get(query, key, probe, sizeof probe) < 0) {
            size_t klen = strlen(key);
            for (const char *p = query; *p;) {
                if (strncmp(p, key, klen) == 0 && (p[klen] == '=' || p[klen] == '&' || !p[klen]))
                    return -1;
                const char *amp = strchr(p, '&');
                if (!amp)
                    break;
                p = amp + 1;
            }
        }
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (l == 0 || *end || errno || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* ---- multipart/form-data ---------------------------------------------------- */

static const char *mem_find(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0 || hl < nl)
        return NULL;
    return memmem(h, hl, n, nl);
}

/* In header block H (HL bytes), the value of parameter NAME="..." of the
 * Content-Disposition line. Returns 0 or -1. */
static int disposition_param(const char *h, size_t hl, const char *name, const char **v,
                             size_t *vl)
{
    const char *cd = NULL;
    for (const char *p = h; p < h + hl;) {
        const char *eol = mem_find(p, (size_t)(h + hl - p), "\r\n", 2);
        size_t l = eol ? (size_t)(eol - p) : (size_t)(h + hl - p);
        if (l >= 20 && strncasecmp(p, "Content-Disposition:", 20) == 0) {
            cd = p;
            hl = (size_t)(p + l - h);
            break;
        }
        p += l + 2;
    }
    if (cd == NULL)
        return -1;
    const char *end = h + hl;
    size_t nl = strlen(name);
    for (const char *p = cd + 20; p < end; p++) {
        if (*p != ';')
            continue;
        const char *q = p + 1;
        while (q < end && *q == ' ')
            q++;
        if ((size_t)(end - q) > nl + 1 && strncasecmp(q, name, nl) == 0 && q[nl] == '=') {
            q += nl + 1;
            if (q < end && *q == '"') {
                const char *close = memchr(q + 1, '"', (size_t)(end - q - 1));
                if (close == NULL)
                    return -1;
                *v = q + 1;
                *vl = (size_t)(close - q - 1);
            } else {
                const char *s = q;
                while (q < end && *q != ';' && *q != ' ')
                    q++;
                *v = s;
                *vl = (size_t)(q - s);
            }
            return 0;
        }
    }
    return -1;
}

int http_multipart_parse(const char *content_type, const char *body, size_t len,
                         struct http_part *parts, int max, char *err, size_t errlen)
{
    if (content_type == NULL || strncasecmp(content_type, "multipart/form-data", 19) != 0) {
        snprintf(err, errlen, "the body must be multipart/form-data");
        return -1;
    }
    const char *b = strstr(content_type, "boundary=");
    if (b == NULL) {
        snprintf(err, errlen, "multipart/form-data without a boundary");
        return -1;
    }
    b += 9;
    char delim[80];
    size_t bl;
    if (*b == '"') {
        const char *close = strchr(b + 1, '"');
        bl = close ? (size_t)(close - b - 1) : 0;
        b++;
    } else {
        bl = strcspn(b, "; ");
    }
    if (bl == 0 || bl > 70) {
        snprintf(err, errlen, "bad multipart boundary");
        return -1;
    }
    int dl = snprintf(delim, sizeof delim, "\r\n--%.*s", (int)bl, b);
    /* the first delimiter may open the body without the CRLF */
    const char *p;
    if (len >= (size_t)dl - 2 && memcmp(body, delim + 2, (size_t)dl - 2) == 0) {
        p = body + dl - 2;
    } else {
        p = mem_find(body, len, delim, (size_t)dl);
        if (p == NULL) {
            snprintf(err, errlen, "multipart body without its boundary");
            return -1;
        }
        p += dl;
    }
    const char *end = body + len;
    int n = 0;
    for (;;) {
        /* after a delimiter: "--" closes, CRLF opens a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return n;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            snprintf(err, errlen, "malformed multipart body");
            return -1;
        }
        p += 2;
        const char *hend = mem_find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (hend == NULL) {
            snprintf(err, errlen, "multipart part without headers' end");
            return -1;
        }
        const char *data = hend + 4;
        const char *next = mem_find(data, (size_t)(end - data), delim, (size_t)dl);
        if (next == NULL) {
            snprintf(err, errlen, "multipart body without its closing boundary");
            return -1;
        }
        if (n >= max) {
            snprintf(err, errlen, "too many multipart parts (at most %d)", max);
            return -1;
        }
        struct http_part *pt = &parts[n];
        memset(pt, 0, sizeof *pt);
        if (disposition_param(p, (size_t)(hend - p + 2), "name", &pt->name, &pt->namelen) < 0) {
            snprintf(err, errlen, "multipart part without a form-data name");
            return -1;
        }
        if (disposition_param(p, (size_t)(hend - p + 2), "filename", &pt->filename,
                              &pt->filenamelen) < 0)
            pt->filename = NULL;
        pt->data = data;
        pt->len = (size_t)(next - data);
        n++;
        p = next + dl;
    }
}

/* ---- responses and the client ---------------------------------------------- */

int http_response_parse(const char *data, size_t len, int *status, const char **body,
                        size_t *bodylen, struct buf *dechunked)
{
    if (len < 12 || memcmp(data, "HTTP/1.", 7) != 0 || data[8] != ' ')
        return -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (data[i] < '0' || data[i] > '9')
            return -1;
        st = st * 10 + (data[i] - '0');
    }
    const char *hend = mem_find(data, len, "\r\n\r\n", 4);
    if (hend == NULL)
        return -1;
    const char *b = hend + 4, *end = data + len;
    bool chunked = false;
    long long clen = -1;
    for (const char *p = data; p < hend;) {
        const char *eol = mem_find(p, (size_t)(hend + 2 - p), "\r\n", 2);
        if (eol == NULL)
            break;
        size_t l = (size_t)(eol - p);
        if (l > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0 &&
            mem_find(p, l, "chunked", 7))
            chunked = true;
        if (l > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
            clen = 0;
            for (const char *q = p + 15; q < eol; q++)
                if (*q >= '0' && *q <= '9' && clen < (1LL << 40))
                    clen = clen * 10 + (*q - '0');
        }
        p = eol + 2;
    }
    *status = st;
    if (!chunked) {
        size_t have = (size_t)(end - b);
        if (clen >= 0) {
            if ((unsigned long long)clen > have)
                return -1;
            have = (size_t)clen;
        }
        *body = b;
        *bodylen = have;
        return 0;
    }
    buf_reset(dechunked);
    const char *p = b;
    for (;;) {
        const char *eol = mem_find(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL)
            return -1;
        size_t sz = 0;
        const char *q = p;
        for (; q < eol && ids_hex_digit(*q) >= 0; q++) {
            if (sz > ((size_t)1 << 40))
                return -1;
            sz = sz * 16 + (size_t)ids_hex_digit(*q);
        }
        if (q == p)
            return -1;
        p = eol + 2;
        if (sz == 0)
            break;
        if ((size_t)(end - p) < sz + 2)
            return -1;
        buf_append(dechunked, p, sz);
        p += sz + 2;
    }
    buf_append(dechunked, "", 1);
    dechunked->len--;
    *body = dechunked->data ? dechunked->data : "";
    *bodylen = dechunked->len;
    return 0;
}

int http_parse_address(const char *url, int defport, char *host, size_t hostlen, int *port)
{
    bool https;
    if (http_parse_url(url, defport, host, hostlen, port, &https) < 0 || https)
        return -1;
    return 0;
}

int http_parse_url(const char *url, int defport, char *host, size_t hostlen, int *port,
                   bool *https)
{
    const char *p = url;
    *https = false;
    if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strncmp(p, "https://", 8) == 0) {
        p += 8;
        *https = true;
    } else if (strstr(p, "://")) {
        return -1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, p, hl);
    host[hl] = '\0';
    p += hl;
    *port = defport;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535 || (*end && *end != '/'))
            return -1;
        *port = (int)v;
    } else if (*p && *p != '/') {
        return -1;
    }
    return 0;
}

void http_request_head(struct buf *req, const char *host, int port, const char *method,
                       const char *path, const char *token, const char *content_type,
                       bool has_body, size_t bodylen)
{
    buf_printf(req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n", method, path,
               host, port);
    if (token && *token)
        buf_printf(req, "Authorization: Bearer %s\r\n", token);
    if (has_body) {
        buf_printf(req, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                   content_type ? content_type : "application/octet-stream", bodylen);
    } else if (strcmp(method, "POST") == 0) {
        buf_printf(req, "Content-Length: 0\r\n");
    }
    buf_append(req, "\r\n", 2);
}

int http_response_take(const struct buf *raw, const char *host, int port, struct buf *resp,
                       char *err, size_t errlen)
{
    int status;
    const char *b;
    size_t bl;
    struct buf dech = BUF_INIT;
    if (http_response_parse(raw->data ? raw->data : "", raw->len, &status, &b, &bl, &dech) < 0) {
        snprintf(err, errlen, "%s:%d did not answer HTTP", host, port);
        buf_free(&dech);
        return -1;
    }
    buf_reset(resp);
    buf_append(resp, b, bl);
    buf_append(resp, "", 1);
    resp->len--;
    buf_free(&dech);
    return status;
}

int http_request(const char *host, int port, const char *method, const char *path,
                 const char *token, const char *content_type, const void *body,
                 size_t bodylen, size_t maxresp, int timeout_ms, struct buf *resp, char *err,
                 size_t errlen)
{
    long long deadline = net_now_ms() + timeout_ms;
    int fd = net_connect_tcp(host, port, timeout_ms, err, errlen);
    if (fd < 0)
        return -1;
    struct buf req = BUF_INIT, raw = BUF_INIT;
    int rc = -1;
    http_request_head(&req, host, port, method, path, token, content_type, body != NULL, bodylen);
    if (body)
        buf_append(&req, body, bodylen);
    if (net_write_all(fd, req.data, req.len) < 0) {
        snprintf(err, errlen, "cannot send to %s:%d: %s", host, port, strerror(errno));
        goto out;
    }
    for (;;) {
        int left = (int)(deadline - net_now_ms());
        if (left <= 0) {
            snprintf(err, errlen, "no answer from %s:%d within %d ms", host, port, timeout_ms);
            goto out;
        }
        struct pollfd pfd = { fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "reading from %s:%d: %s", host, port, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (raw.len + (size_t)n > maxresp) {
            snprintf(err, errlen, "the answer from %s:%d is over %zu bytes", host, port, maxresp);
            goto out;
        }
        buf_append(&raw, chunk, (size_t)n);
    }
    rc = http_response_take(&raw, host, port, resp, err, errlen);
out:
    close(fd);
    buf_free(&req);
    buf_free(&raw);
    return rc;
}
