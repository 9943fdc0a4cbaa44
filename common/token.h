/*
 * token.h — where a cluster's token is kept, and how a client finds the one
 * of the cluster it addresses (SPEC section 9, docs/runtime.md "Tokens").
 * Shared by the daemon, the CLI and libray.a.
 *
 *   <session_dir>/auth_token        the token of the node's own cluster
 *   ~/.ray/tokens/<host>_<port>     one file per cluster, keyed by its GCS
 *                                   address; written by every node once it is up
 *   ~/.ray/auth_token               the cluster of the last head that came up
 *                                   on this machine (what a user copies)
 *
 * Several clusters can run on one machine, so a client looks for the token
 * of the cluster it talks to before the machine-wide last one.
 */
#ifndef RAY_TOKEN_H
#define RAY_TOKEN_H

#include <stddef.h>

/* Read the first line of PATH (trailing whitespace dropped) into OUT.
 * Returns 0, or -1 if unreadable or empty. */
int token_read(const char *path, char *out, size_t outlen);
/* Write TOKEN and a newline to PATH, mode 0600, atomically (temp file and
 * rename), creating missing parent folders 0700. Returns 0 or -1 (errno). */
int token_write(const char *path, const char *token);
/* ~/.ray/auth_token ($HOME, else /root). */
void token_home_path(char *out, size_t outlen);
/* ~/.ray/tokens/<host>_<port> (characters other than [A-Za-z0-9.-] in HOST
 * become '_'). */
void token_cluster_path(const char *host, int port, char *out, size_t outlen);

/* What a client knows about the cluster it addresses; NULL/0 = unknown. */
struct token_where {
    const char *given;         /* --token / cfg.token */
    const char *session_dir;   /* a session of that very cluster on this machine */
    const char *host;          /* its GCS address */
    int port;
    const char *fallback_dir;  /* a session tried last (the default local one) */
};

/* Find the token, first found wins: W->given, $RAY_TOKEN,
 * W->session_dir/auth_token, ~/.ray/tokens/<host>_<port>,
 * ~/.ray/auth_token, W->fallback_dir/auth_token. Fills OUT and returns 0, or
 * returns -1 (OUT = "") when there is none. Never fails otherwise. */
int token_find(const struct token_where *w, char *out, size_t outlen);

#endif
