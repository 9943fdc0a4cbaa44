/*
 * http.h — small HTTP helpers shared by the dashboard, the metrics
 * endpoint and `ray job`: the token check every request passes, query
 * strings, multipart/form-data bodies, and a blocking one-request client
 * for the CLI. Servers themselves use libevent's evhttp; this header does
 * not depend on it. Every parser here takes untrusted bytes with explicit
 * lengths and never reads past them (tests/fuzz/fuzz_http.c).
 */
#ifndef RAY_HTTP_H
#define RAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Name of the cookie /login sets. */
#define HTTP_TOKEN_COOKIE "ray_token"

/* Does the request carry TOKEN, as "Authorization: Bearer TOKEN" (header
 * value AUTHORIZATION, NULL if absent) or as the cookie ray_token=TOKEN
 * (header value COOKIE, NULL if absent)? The comparison takes the same time
 * wherever the first difference is. An empty TOKEN never matches. */
bool http_token_ok(const char *authorization, const char *cookie, const char *token);
/* Compare A and B (LEN bytes each) in constant time; true if equal. */
bool http_ct_equal(const void *a, const void *b, size_t len);

/* In query string QUERY ("a=1&b=x%20y", no '?'; NULL = none) find KEY and
 * URL-decode its value into OUT (OUTLEN bytes, NUL-terminated; '+' is a
 * space). Returns the value's length, or -1 if absent, malformed (bad %XX, a
 * NUL) or too long. */
long http_query_get(const char *query, const char *key, char *out, size_t outlen);
/* http_query_get as a number in [MIN, MAX]; DEF if absent. Returns -1 when
 * present but not a number in range (the value stays unset), else 0. */
int http_query_long(const char *query, const char *key, long def, long min, long max, long *out);

/* One part of a multipart/form-data body (pointers into the body). */
struct http_part {
    const char *name;     /* the form field's name (NAMELEN bytes) */
    size_t namelen;
    const char *filename; /* NULL if the part is not a file */
    size_t filenamelen;
    const char *data;     /* its content */
    size_t len;
};
/* Split BODY (LEN bytes) sent with CONTENT_TYPE ("multipart/form-data;
 * boundary=..."). Fills up to MAX parts into PARTS and returns how many, or
 * -1 with one line in ERR (not multipart, no boundary, a part without a
 * name, no closing boundary, more than MAX parts). */
int http_multipart_parse(const char *content_type, const char *body, size_t len,
                         struct http_part *parts, int max, char *err, size_t errlen);

/* Parse a whole HTTP/1.x response (DATA, LEN bytes): the status code into
 * *STATUS and its body (after the headers; de-chunked into DECHUNKED if the
 * response is chunked, else pointing into DATA) into *BODY / *BODYLEN.
 * Returns 0, or -1 if it is not a complete response. */
int http_response_parse(const char *data, size_t len, int *status, const char **body,
                        size_t *bodylen, struct buf *dechunked);

/* A blocking client's last step: RAW, a whole response read from HOST:PORT
 * (the names are for ERR), parsed; its body (de-chunked, NUL-terminated
 * past its length) replaces *RESP. Returns the status code, or -1 with one
 * line in ERR if RAW is not an HTTP response. */
int http_response_take(const struct buf *raw, const char *host, int port, struct buf *resp,
                       char *err, size_t errlen);

/* Blocking client: send METHOD PATH to HOST:PORT with "Authorization:
 * Bearer TOKEN" (if TOKEN), and BODY (BODYLEN bytes, CONTENT_TYPE) if BODY,
 * then read the whole response (Connection: close), at most MAXRESP bytes,
 * within TIMEOUT_MS. Returns the status code with the body in *RESP
 * (the caller's buffer, reset first), or -1 with one line in ERR. */
int http_request(const char *host, int port, const char *method, const char *path,
                 const char *token, const char *content_type, const void *body,
                 size_t bodylen, size_t maxresp, int timeout_ms, struct buf *resp, char *err,
                 size_t errlen);

/* Split "http://HOST:PORT[/...]" (the scheme is optional, the port defaults
 * to DEFPORT) into HOST/PORT. Returns 0, or -1 if it is not such an address. */
int http_parse_address(const char *url, int defport, char *host, size_t hostlen, int *port);
/* The same, "https://" accepted too: *HTTPS says which. */
int http_parse_url(const char *url, int defport, char *host, size_t hostlen, int *port,
                   bool *https);
/* Append to OUT the request line and headers http_request sends (BODYLEN
 * bytes of CONTENT_TYPE follow when HAS_BODY), for other transports (TLS). */
void http_request_head(struct buf *out, const char *host, int port, const char *method,
                       const char *path, const char *token, const char *content_type,
                       bool has_body, size_t bodylen);

#endif
