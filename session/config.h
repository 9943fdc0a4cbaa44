/*
 * config.h — the daemon's settings: one table drives configs/rayd.yaml, the
 * flags of `ray start` / `rayd`, and their --help text (docs/config.md lists
 * every setting).
 *
 * struct rayd_config is a plain struct with one field per setting, so code
 * reads cfg->num_cpus. Settings marked "auto" in the table hold a sentinel
 * until the daemon fills them in: -1 for numbers (num_cpus, num_gpus, memory,
 * object_store_memory) and NULL for strings (node_ip_address,
 * object_spill_dir). Sizes are bytes (int64_t), durations milliseconds.
 *
 * Precedence: defaults < YAML file (--config) < command-line flags.
 */
#ifndef RAY_CONFIG_H
#define RAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_AUTO (-1)   /* value of an "auto" numeric setting */

struct rayd_config {
    /* role and addresses */
    bool head;                   /* start a head node (flag only) */
    char *address;               /* HOST:PORT of an existing cluster's GCS; NULL = none */
    int port;                    /* GCS port */
    char *node_ip_address;       /* NULL = auto */
    char *gcs_address;           /* redis://[:password@]host:port; NULL = start our own */
    int dashboard_port;
    char *dashboard_host;        /* head: dashboard listen address */
    int metrics_export_port;     /* 0 = ephemeral */
    char *tls_cert, *tls_key, *tls_ca; /* all NULL: no TLS (common/tls.h) */
    int node_manager_port;       /* 0 = ephemeral */
    int object_manager_port;     /* 0 = ephemeral */
    char *token;                 /* NULL = read from the token files */
    char *cluster_name;
    /* resources */
    double num_cpus;             /* CONFIG_AUTO = detect */
    double num_gpus;             /* CONFIG_AUTO = detect */
    int64_t memory;              /* bytes; CONFIG_AUTO = detect */
    char *resources;             /* custom resources, "name=n,..." or JSON; NULL = none */
    int64_t object_store_memory; /* bytes; CONFIG_AUTO = 30% of RAM capped by /dev/shm */
    /* files */
    char *temp_dir;
    char *object_spill_dir;      /* NULL = auto (<session>/spill) */
    char *redis_server;          /* redis-server binary the head starts */
    char *config;                /* YAML file that was loaded (flag only); NULL = none */
    /* behaviour */
    bool block;                  /* stay in the foreground (flag only) */
    int heartbeat_interval_ms;
    int node_timeout_ms;
    int gcs_reconnect_timeout_ms; /* a node that cannot reach the GCS this long exits */
    int max_workers;             /* 0 = auto */
    bool prestart_workers;
    int worker_idle_timeout_ms;
    int queue_threshold;         /* 0 = auto */
    int event_log_max_len;
    int task_table_max_finished;
    int64_t lineage_max_bytes;   /* task specs kept per node to rebuild lost objects */
    int log_level;               /* LOG_LEVEL_DEBUG..LOG_LEVEL_ERROR (common/log.h) */
};

/* Fill C with every setting's default. C need not be initialised; it owns
 * its strings afterwards (release with config_free). Never fails. */
void config_init(struct rayd_config *c);

/* Free C's strings; C must be config_init'ed again before reuse. NULL is a
 * no-op. */
void config_free(struct rayd_config *c);

/* Set the setting NAME ("num_cpus"; "num-cpus" also accepted) from its text
 * form VALUE (copied), checking type and bounds. "auto" is accepted by auto
 * settings. Returns 0, or -1 with one line in ERR (ERRLEN bytes) such as
 * "port: 70000 is out of range 1..65535", leaving the setting unchanged.
 * Flag-only settings can be set here too. */
int config_set(struct rayd_config *c, const char *name, const char *value, char *err, size_t errlen);

/* Load PATH: a YAML mapping of `key: scalar` at the top level (an empty file
 * is fine). A null value (`~`, `null`, nothing) means the default. Unknown
 * keys and flag-only keys are warned about with log_warnx
 * ("configs/x.yaml:12: unknown key 'foo' ignored") and skipped. Returns 0, or
 * -1 with one line in ERR, prefixed "PATH:LINE: " (or "PATH:LINE:COL: " for
 * YAML syntax errors), for an unreadable file, a syntax error, a non-mapping
 * document, a non-scalar value, a wrong type or an out-of-range value.
 * Settings loaded before the error keep their new values; after a bad value
 * the rest of the file is read but not applied. A launcher config (a
 * top-level key such as `provider`, `auth`, `available_node_types`,
 * `head_node_type`: SPEC section 8) fails with "PATH: this is a cluster
 * config (for ray up), not a node config" and no warnings. Warnings are
 * logged once the whole file is read. */
int config_load_yaml(struct rayd_config *c, const char *path, char *err, size_t errlen);

/* Parse flags from ARGV[1..ARGC) (ARGV[0] is the program or subcommand name,
 * as with getopt): --name VALUE, --name=VALUE, bare --bool-flag and
 * --no-bool-flag (a bool takes a value only with '='). Names use '-' or '_'.
 * Stops at the first argument that is not a flag, or after "--"; *NEXT (if
 * not NULL) gets the index of the first argument not consumed. If --config
 * FILE is among the flags the file is loaded first and the other flags
 * override it, whatever their order.
 * Returns 0; 1 when -h/--help was seen (nothing applied; print config_usage);
 * or -1 with one line in ERR: "unknown option --foo (see ray start --help)",
 * "option --port needs a value", "--port: 70000 is out of range 1..65535",
 * or a YAML error from config_load_yaml. */
int config_parse_args(struct rayd_config *c, int argc, char **argv, int *next, char *err, size_t errlen);

/* Check settings against each other (--head with --address, heartbeat
 * interval not below the node timeout). Returns 0, or -1 with ERR. */
int config_validate(const struct rayd_config *c, char *err, size_t errlen);

/* Print "usage: USAGE_LINE" (if not NULL) and one line per setting, made from
 * the table: flag, value kind, help, default. */
void config_usage(FILE *fp, const char *usage_line);

/* Every setting that differs from its default, as "--name=value" strings in
 * table order, so `ray start` can re-exec `rayd` with identical settings
 * (--config is left out: its values are already in C). Note that a token set
 * on C appears in the argv. *ARGV_OUT is a NULL-terminated array the caller
 * frees with config_argv_free. Returns 0 (never fails; aborts on OOM). */
int config_to_argv(const struct rayd_config *c, char ***argv_out, int *argc_out);
void config_argv_free(char **argv, int argc);

/* Write every YAML-settable setting of C to FP as a commented YAML file that
 * config_load_yaml reads back to the same values (configs/rayd.yaml is the
 * dump of the defaults). Secret settings (token) are written as null. */
void config_dump(FILE *fp, const struct rayd_config *c);

#endif
