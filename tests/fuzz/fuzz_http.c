/*
 * fuzz_http.c — libFuzzer target for the dashboard's decoders of untrusted
 * bytes (see docs/fuzzing.md): common/http.c (the token check, query
 * strings, multipart/form-data, HTTP responses, addresses) and
 * common/json.c (validation, members, strings, string arrays). Byte 0 of
 * the input picks the decoder, the rest is copied to an exact-size buffer
 * (ASan sees any read past it). Results are checked for consistency:
 * parts lie inside the body, decoded strings have the length returned,
 * a member's value is itself valid JSON, an array of strings re-encoded
 * decodes to the same strings. Any inconsistency calls abort().
 */
#include "common/buf.h"
#include "common/http.h"
#include "common/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

static char *cstr(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t op = data[0] % 8;
    data++;
    size--;
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    switch (op) {
    case 0: { /* Authorization and Cookie headers, split at the first NUL or half */
        char *s = cstr(data, size);
        size_t h = strlen(s) < size ? strlen(s) : size / 2;
        char *auth = cstr(data, h), *cookie = cstr(data + h, size - h);
        bool ok = http_token_ok(auth, cookie, "secret-token");
        bool direct = strcmp(auth, "Bearer secret-token") == 0;
        FUZZ_CHECK(!direct || ok);
        FUZZ_CHECK(!http_token_ok(auth, cookie, ""));
        free(s);
        free(auth);
        free(cookie);
        break;
    }
    case 1: { /* query strings */
        char *q = cstr(data, size);
        char out[64];
        static const char *const keys[] = { "limit", "offset", "token", "job", "" };
        for (int k = 0; k < 5; k++) {
            long l = http_query_get(q, keys[k], out, sizeof out);
            FUZZ_CHECK(l < 0 || ((size_t)l < sizeof out && strlen(out) == (size_t)l));
            long v;
            if (http_query_long(q, keys[k], 7, 1, 10000, &v) == 0)
                FUZZ_CHECK(v == 7 || (v >= 1 && v <= 10000));
        }
        free(q);
        break;
    }
    case 2: { /* multipart: the first line is the content type */
        const char *nl = memchr(buf, '\n', size);
        size_t cl = nl ? (size_t)(nl - buf) : 0;
        char *ctype = cstr(data, cl);
        const char *body = nl ? nl + 1 : buf;
        size_t blen = nl ? size - cl - 1 : size;
        struct http_part parts[8];
        char err[256];
        int n = http_multipart_parse(ctype, body, blen, parts, 8, err, sizeof err);
        FUZZ_CHECK(n <= 8);
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(parts[i].data >= body && parts[i].data + parts[i].len <= body + blen);
            FUZZ_CHECK(parts[i].name >= body && parts[i].name + parts[i].namelen <= body + blen);
            if (parts[i].filename)
                FUZZ_CHECK(parts[i].filename + parts[i].filenamelen <= body + blen);
            volatile char sink = 0;
            for (size_t k = 0; k < parts[i].len; k++)
                sink ^= parts[i].data[k];
            (void)sink;
        }
        if (n < 0)
            FUZZ_CHECK(err[0] != '\0');
        free(ctype);
        break;
    }
    case 3: { /* HTTP responses */
        int status;
        const char *body;
        size_t bl;
        struct buf dech = BUF_INIT;
        if (http_response_parse(buf, size, &status, &body, &bl, &dech) == 0) {
            FUZZ_CHECK(status >= 0 && status <= 999);
            FUZZ_CHECK((body >= buf && body + bl <= buf + size) ||
                       (dech.data && body == dech.data && bl == dech.len) || bl == 0);
        }
        buf_free(&dech);
        break;
    }
    case 4: { /* JSON: valid, members */
        bool valid = json_valid(buf, size);
        const char *v;
        size_t vl;
        static const char *const keys[] = { "job_id", "status", "logs", "error", "a" };
        for (int k = 0; k < 5; k++)
            if (json_member(buf, size, keys[k], &v, &vl) == 0) {
                FUZZ_CHECK(v >= buf && v + vl <= buf + size);
                FUZZ_CHECK(json_valid(v, vl));
            }
        (void)valid;
        break;
    }
    case 5: { /* JSON strings, and the writer's round trip */
        char out[512];
        long l = json_string(buf, size, out, sizeof out);
        if (l >= 0) {
            FUZZ_CHECK((size_t)l < sizeof out && strlen(out) == (size_t)l);
            struct buf b = BUF_INIT;
            json_put_str(&b, out);
            char back[512];
            FUZZ_CHECK(json_valid(b.data, b.len));
            FUZZ_CHECK(json_string(b.data, b.len, back, sizeof back) == l || b.len > 500);
            if (b.len <= 500)
                FUZZ_CHECK(strcmp(back, out) == 0);
            buf_free(&b);
        }
        break;
    }
    case 6: { /* arrays of strings round trip */
        char **v = NULL;
        int n = json_string_array(buf, size, 1000, &v);
        if (n >= 0) {
            FUZZ_CHECK(json_valid(buf, size));
            struct buf b = BUF_INIT;
            buf_append(&b, "[", 1);
            for (int i = 0; i < n; i++) {
                if (i)
                    buf_append(&b, ",", 1);
                json_put_str(&b, v[i]);
            }
            buf_append(&b, "]", 1);
            char **w = NULL;
            int m = json_string_array(b.data, b.len, 1000, &w);
            FUZZ_CHECK(m == n);
            for (int i = 0; i < n; i++)
                FUZZ_CHECK(strcmp(v[i], w[i]) == 0);
            json_strings_free(w, m);
            buf_free(&b);
            json_strings_free(v, n);
        }
        break;
    }
    case 7: { /* addresses */
        char *u = cstr(data, size);
        char host[64];
        int port;
        if (http_parse_address(u, 8265, host, sizeof host, &port) == 0)
            FUZZ_CHECK(port >= 1 && port <= 65535 && host[0] && strlen(host) < sizeof host);
        bool https;
        if (http_parse_url(u, 8265, host, sizeof host, &port, &https) == 0)
            FUZZ_CHECK(port >= 1 && port <= 65535 && host[0] && strlen(host) < sizeof host);
        free(u);
        break;
    }
    }
    free(buf);
    return 0;
}
