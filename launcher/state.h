/*
 * state.h — what the launcher knows about a cluster it brought up, kept in
 * ~/.ray/clusters/<cluster_name>.json (nodes, their IPs, kind and state) so
 * `ray down`, `ray exec`, `ray get-head-ip` and `ray get-worker-ips` work
 * from any later shell, and the cluster's token beside it in
 * ~/.ray/clusters/<cluster_name>.token (0600).
 */
#ifndef RAY_LAUNCHER_STATE_H
#define RAY_LAUNCHER_STATE_H

#include <stddef.h>

struct launch_node {
    char ip[256];
    char name[128]; /* the machine's name at a cloud provider, "" for local */
    char kind[16];  /* "head" or "worker" */
    char state[16]; /* "up", "failed", "stopped" */
};

struct launch_state {
    char cluster_name[128];
    char provider[16];
    char config[4096];       /* absolute path of the YAML */
    struct launch_node *nodes; /* owned */
    size_t n;
};

/* ~/.ray/clusters/<name>.EXT (characters other than [A-Za-z0-9._-] in NAME
 * become '_'). */
void launch_state_path(const char *name, const char *ext, char *out, size_t outlen);
/* Read the state of cluster NAME into ST (zeroed first; the caller frees it
 * with launch_state_free). Returns 0, 1 when there is none, -1 with err when
 * the file is unreadable or not ours. */
int launch_state_load(const char *name, struct launch_state *st, char *err, size_t errlen);
/* Write ST atomically (temp file and rename), creating ~/.ray/clusters.
 * Returns 0 or -1 with err. */
int launch_state_save(const struct launch_state *st, char *err, size_t errlen);
/* Set the kind and state of node IP, adding it when new. */
void launch_state_set(struct launch_state *st, const char *ip, const char *kind, const char *state);
/* Record the cloud machine NAME of node IP (which must be set already). */
void launch_state_name(struct launch_state *st, const char *ip, const char *name);
/* The node IP, or NULL. */
struct launch_node *launch_state_find(struct launch_state *st, const char *ip);
/* Remove the state file of cluster NAME (not its token). */
void launch_state_remove(const char *name);
void launch_state_free(struct launch_state *st);

/* The cluster's token: read it from ~/.ray/clusters/<name>.token, or make a
 * new one there (0600) when there is none. Returns 0 or -1 with err. */
int launch_state_token(const char *name, char *out, size_t outlen, char *err, size_t errlen);

#endif
