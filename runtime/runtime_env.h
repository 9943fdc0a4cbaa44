/*
 * runtime_env.h — runtime environments: the workers' environment, working
 * directories kept on the node. The functions of runtime/runtime_env.c that
 * the other files of the runtime call; runtime/internal.h has what they all
 * share. Loop thread only.
 */
#ifndef RAY_RUNTIME_RUNTIME_ENV_H
#define RAY_RUNTIME_RUNTIME_ENV_H

#include "runtime/internal.h"

/* Register RENV_UPLOAD (a standalone driver's packed working directory). */
void renv_init(struct runtime *rt);
/* The "NAME=value" strings (*EXTRA, *NEXTRA of them; the caller frees each
 * and the array) a worker of environment RENV gets. Returns 0, 1 when its
 * working directory is not on this node yet (fetching it; try again), or -1
 * for a malformed RENV (logged). */
int renv_worker_env(struct runtime *rt, const char *renv, char ***extra, size_t *nextra);
/* Keep a packed working directory (LEN BYTES whose SHA-256 must be HASH)
 * under SESSION_DIR/runtime_resources. Hashes and writes: call it on the
 * helper thread (bio.h); it touches no runtime state (the caller puts the
 * bytes in the function table, on the loop). Returns 0 or -1 (logged). */
int renv_store_tar_(const char *session_dir, const char *hash, const void *bytes, size_t len);

#endif
