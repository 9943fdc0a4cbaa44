/*
 * provider.h — where a cluster's machines come from: one small interface
 * (create, list, terminate; each machine has a name and an address) and one
 * implementation per provider.type. `local` has fixed machines (head_ip,
 * worker_ips) and no create/terminate; `gcp` drives `gcloud compute
 * instances create/list/delete` and `azure` drives `az vm
 * create/list/delete`, reading the addresses from the CLI's JSON. A new
 * provider (Kubernetes, AWS) is one more table here; nothing else changes.
 */
#ifndef RAY_LAUNCHER_PROVIDER_H
#define RAY_LAUNCHER_PROVIDER_H

#include <stddef.h>

struct launch_config;
struct launch_node_type;

struct launch_machine {
    char name[128];
    char ip[256];
    char kind[16]; /* "head" or "worker", from the machine's labels/tags */
};

struct launch_provider {
    const char *type;
    const char *cli;     /* the program it runs, NULL for local */
    const char *install; /* what to install when CLI is missing */
    /* Make machine NAME of KIND for the cluster of C, of node type T (its
     * node_config picks the machine; NULL: the CLI's defaults), and fill
     * its address. Returns 0 or -1 with one line in ERR (the CLI's own
     * error). */
    int (*create)(const struct launch_config *c, const char *name, const char *kind,
                  const struct launch_node_type *t, char *ip, size_t iplen, char *err,
                  size_t errlen);
    /* The cluster's machines that exist now (*OUT owned by the caller). */
    int (*list)(const struct launch_config *c, struct launch_machine **out, size_t *n, char *err,
                size_t errlen);
    /* Delete machine NAME. */
    int (*terminate)(const struct launch_config *c, const char *name, char *err, size_t errlen);
};

/* The name of machine KIND number IDX (0: no number) of CLUSTER:
 * "ray-<cluster>-head", "ray-<cluster>-worker-2" (lower case, [a-z0-9-]). */
void launch_machine_name(const char *cluster, const char *kind, int idx, char *out, size_t outlen);
/* The provider of TYPE, or NULL. */
const struct launch_provider *launch_provider_get(const char *type);
/* 0 if P needs no CLI or its CLI is on PATH; else -1 with ERR saying what
 * to install. */
int launch_provider_check(const struct launch_provider *p, char *err, size_t errlen);

#endif
