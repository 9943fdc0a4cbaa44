/*
 * json.h — the little JSON the dashboard and `ray job` need: writing
 * escaped strings into a buffer, and reading untrusted text (a member of a
 * top-level object, a string, an array of strings) with bounded nesting.
 * Nothing here allocates except json_string_array's result.
 */
#ifndef RAY_JSON_H
#define RAY_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

#define JSON_MAX_DEPTH 64

/* Append S (NUL-terminated) to B as a JSON string literal, quotes included.
 * Bytes below 0x20, '"' and '\\' are escaped; other bytes pass unchanged. */
void json_put_str(struct buf *b, const char *s);
/* The same for LEN bytes at S (NUL bytes become \u0000). */
void json_put_strn(struct buf *b, const char *s, size_t len);

/* Is S (LEN bytes) one complete JSON value, with only whitespace around it?
 * Nesting deeper than JSON_MAX_DEPTH is refused. */
bool json_valid(const char *s, size_t len);

/* In the top-level object S (LEN bytes), find member KEY (compared with the
 * key's raw text, so keys with escapes never match). Returns 0 and the
 * value's text in *VAL / *VLEN (pointing into S), or -1 if S is not an
 * object, is malformed before KEY is found, or has no such member. */
int json_member(const char *s, size_t len, const char *key, const char **val, size_t *vlen);

/* Decode the JSON string literal VAL (VLEN bytes, quotes included) into OUT
 * (OUTLEN bytes, NUL-terminated; \uXXXX becomes UTF-8, surrogate pairs
 * joined). Returns its length, or -1 if VAL is not a string, or it holds a
 * NUL, or it does not fit. */
long json_string(const char *val, size_t vlen, char *out, size_t outlen);

/* Decode VAL (VLEN bytes) as an array of at most MAX strings, each under
 * 64 KiB. Returns the count and *OUT (an array of xmalloc'ed strings the
 * caller frees with json_strings_free), or -1 (nothing to free). */
int json_string_array(const char *val, size_t vlen, int max, char ***out);
void json_strings_free(char **v, int n);

#endif
