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
};

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
