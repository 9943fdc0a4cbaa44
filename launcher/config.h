/*
 * config.h — the cluster YAML of `ray up` (SPEC section 8, docs/launcher.md):
 * Ray's top-level schema, read with libyaml into one struct. One table of
 * known keys (config.c) drives the loader; unknown keys are warnings, wrong
 * types, a missing cluster_name or provider.type, an unknown provider and
 * YAML syntax errors are one error line "FILE:LINE: ..." naming the key.
 */
#ifndef RAY_LAUNCHER_CONFIG_H
#define RAY_LAUNCHER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* A list of strings; owns every string and the array. */
struct launch_strv {
    char **v;
    size_t n;
};

/* One file_mounts entry: REMOTE path on every node <- LOCAL path here. */
struct launch_mount {
    char *remote;
    char *local;
};

/* One entry of available_node_types (docs/launcher.md, "Node types"). */
struct launch_node_type {
    char *name;
    char *resources;                /* "CPU=2,bee=1" (rayd's shape syntax); NULL: not given or {} */
    int min_workers;                /* 0 when not given */
    int max_workers;                /* -1: not given (the top-level max_workers caps it) */
    struct launch_strv node_config; /* its scalars, flattened: "machineType=n1-standard-2",
                                       "azure_arm_parameters.vmSize=...", "disks.0.x=..." */
    struct launch_strv worker_ips;  /* local: node_config.worker_ips (rayd's own key) */
};

struct launch_config {
    char *path;             /* the file it was read from */
    char *cluster_name;
    int max_workers;        /* -1: not given */
    int min_workers;        /* -1: not given */
    double upscaling_speed;
    double idle_timeout_minutes;
    bool no_restart;
    bool has_docker;        /* a docker: section was given (unsupported, warned) */

    /* provider */
    char *provider_type;    /* "local", "gcp" or "azure" */
    char *head_ip;
    struct launch_strv worker_ips;
    char *project_id, *region, *availability_zone; /* gcp */
    char *location, *resource_group;               /* azure */

    /* auth */
    char *ssh_user;         /* NULL: $USER */
    char *ssh_private_key;  /* NULL: ssh's own defaults; "~/" is expanded */

    struct launch_mount *mounts;
    size_t nmounts;
    struct launch_strv cluster_synced_files, rsync_exclude, rsync_filter;
    struct launch_strv initialization_commands, setup_commands, head_setup_commands,
        worker_setup_commands, head_start_ray_commands, worker_start_ray_commands;
    bool head_start_given, worker_start_given; /* else the defaults below were filled in */

    /* available_node_types and head_node_type. When the YAML gives none,
     * launch_config_parse fills in two: "ray.head.default" (the head) and
     * "ray.worker.default" (resources not known, min/max_workers the
     * top-level ones, the provider's worker_ips), so every reader sees
     * types. types_given says which it was. */
    struct launch_node_type *types;
    size_t ntypes;
    char *head_node_type;
    bool types_given;
};

/* The type called NAME in C, or NULL. */
const struct launch_node_type *launch_node_type_find(const struct launch_config *c, const char *name);
/* Whether type T is one workers are made of: every type but head_node_type,
 * and that one too when it sets max_workers > 0. */
bool launch_node_type_is_worker(const struct launch_config *c, const struct launch_node_type *t);
/* The flattened node_config value of KEY ("machineType",
 * "azure_arm_parameters.vmSize") of T, or NULL. T may be NULL. */
const char *launch_node_config(const struct launch_node_type *t, const char *key);

/* The default start commands (SPEC section 8). */
#define LAUNCH_DEFAULT_HEAD_START                                                              \
    "ray stop", "ray start --head --port=6379 --autoscaling-config=~/ray_bootstrap_config.yaml"
#define LAUNCH_DEFAULT_WORKER_START "ray stop", "ray start --address=$RAY_HEAD_IP:6379"

/* Parse LEN bytes of YAML TEXT, named NAME in messages, into C (which the
 * caller then owns and frees with launch_config_free). Each warning is one
 * line appended to WARNINGS ("NAME:LINE: warning: ..."; WARNINGS may be
 * NULL). Returns 0, or -1 with one line in ERR ("NAME:LINE: key 'k': ...")
 * and C left empty. Never touches the filesystem. */
int launch_config_parse(struct launch_config *c, const char *name, const char *text, size_t len,
                        struct buf *warnings, char *err, size_t errlen);
/* Read PATH and parse it as above. */
int launch_config_load(struct launch_config *c, const char *path, struct buf *warnings, char *err,
                       size_t errlen);
/* Free what C owns; C is zeroed. A zeroed C is a no-op. */
void launch_config_free(struct launch_config *c);

#endif
