/*
 * runtime_env.h — Ray's runtime_env JSON (SPEC section 12):
 *   {"env_vars": {"NAME": "value", ...}, "working_dir": "DIR"}
 * parsed strictly (unknown keys and wrong types are errors naming the key),
 * merged (a call's env_vars over its job's, variable by variable), and
 * written back in one canonical form (keys sorted), which is what travels
 * in task specs and tells workers' environments apart. In the canonical
 * form the working directory is its packed content's SHA-256
 * ("working_dir_hash"), which only renv_parse with RENV_INTERNAL accepts.
 *
 * Linked into libray.a and rayd: no aborts; every allocation failure is
 * RENV_ENOMEM. Everything returned is malloc'd and the caller's.
 */
#ifndef RAY_COMMON_RUNTIME_ENV_H
#define RAY_COMMON_RUNTIME_ENV_H

#include <stdbool.h>
#include <stddef.h>

#define RENV_MAX_TEXT (64u << 10)  /* longest runtime_env JSON */
#define RENV_MAX_VARS 256
#define RENV_MAX_DEPTH 32

enum { RENV_OK = 0, RENV_EINVAL = -1, RENV_ENOMEM = -2 };
/* renv_parse flags */
#define RENV_INTERNAL 1 /* accept "working_dir_hash" (canonical form from a node or client) */

struct renv {
    size_t nvars;
    char **names, **values;  /* nvars each, sorted by name, names unique */
    char *working_dir;       /* the user's directory, or NULL */
    char *working_dir_hash;  /* 64 hex digits of the packed directory, or NULL */
};

#define RENV_INIT { 0, NULL, NULL, NULL, NULL }

/* Parse TEXT (LEN bytes; NUL not needed) into OUT (initialised, or holding
 * an old value: it is freed). Returns RENV_OK, RENV_EINVAL with one line in
 * ERR naming the key ("runtime_env: unknown key 'foo'", "runtime_env.env_vars.X
 * must be a string", "runtime_env is not JSON: ...") or RENV_ENOMEM; OUT is
 * empty on failure. Empty text (or only spaces) is an empty environment. */
int renv_parse(const char *text, size_t len, int flags, struct renv *out, char *err,
               size_t errlen);
void renv_free(struct renv *e);
/* True when E sets nothing. */
bool renv_empty(const struct renv *e);
/* OUT = BASE with CALL's variables set over it (CALL's working_dir_hash, if
 * any, replaces BASE's). Returns RENV_OK or RENV_ENOMEM. */
int renv_merge(const struct renv *base, const struct renv *call, struct renv *out);
/* Largest packed working directory: $RAY_WORKING_DIR_MAX_BYTES, else 100 MiB. */
size_t renv_working_dir_limit(void);
/* Pack directory DIR with the system's tar (sorted names, zero times and
 * owners: the same content gives the same bytes) into *OUT (malloc'd, *LEN
 * bytes) and its SHA-256 in HASH (64 hex + NUL). Returns RENV_OK, or
 * RENV_EINVAL with ERR naming runtime_env.working_dir (not a directory,
 * past the size limit, tar failed) or RENV_ENOMEM. Blocks while tar runs:
 * for clients (ray submit, a driver's ray_init), never a daemon's loop. */
int renv_pack_dir(const char *dir, void **out, size_t *len, char hash[65], char *err, size_t errlen);

/* The canonical JSON of E (working_dir_hash, never working_dir), or "" for
 * an empty E. Returns a malloc'd string or NULL on allocation failure. */
char *renv_canonical(const struct renv *e);

#endif
