/*
 * node.h — the node daemon ("raylet"; on the head also the GCS service):
 * its state, shared by the daemon's modules (server, heartbeat, workers,
 * scheduler, objects, jobs). One libevent loop runs everything.
 */
#ifndef RAY_NODE_H
#define RAY_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ids.h"
#include "session/config.h"
#include "daemon/redis_launch.h"
#include "objstore/objstore.h"
#include "sched/resources.h"

struct event;
struct event_base;
struct gcs_client;
struct server;
struct runtime;

struct node {
    struct rayd_config *cfg;
    struct event_base *base;
    uint8_t id[IDS_SIZE];
    char hex[IDS_HEX_SIZE];
    bool is_head;
    char *session_dir;
    char token[160];
    char ip[64];
    char gcs_host[256];
    int gcs_port;
    char gcs_password[256];
    struct redis_launch redis;        /* head's own redis-server (pid -1 if external) */
    struct gcs_client *gcs;
    struct server *srv;
    char sock_path[512];
    int tcp_port;
    struct res_set total;             /* CPU, GPU, memory, object_store_memory, custom, node:<ip> */
    struct res_set avail;             /* what is free now (the scheduler keeps it) */
    int num_gpus;                     /* whole GPUs, for CUDA_VISIBLE_DEVICES */
    objstore *store;
    char store_name[64];
    uint64_t store_size;
    bool registered;
    bool stopping;
    int ready_fd;                     /* start-up report to `ray start`, -1 when done */
    long long start_ms;
    struct event *hb_timer, *start_timer, *store_ev;
    struct event *sig_term, *sig_int, *sig_chld, *sig_hup;
    struct runtime *rt;               /* tasks, workers, actors, jobs (runtime/runtime.h) */
    /* What the runtime calls up into the process's top, set before
     * runtime_new (node_main; so runtime/ calls no function of node.c or
     * heartbeat.c): rejoin_fn is node_rejoin, check_node heartbeat_check_node. */
    void (*rejoin_fn)(struct node *n, const char *why);
    bool (*check_node)(struct node *n, const char *id, const char *address, long long last_hb);
    struct node_monitor *monitor;     /* head only: heartbeat tracking (heartbeat.c) */
    char hb_avail[512];               /* what the last heartbeat said (heartbeat.c) */
    long long hb_queue, hb_sent_ms;
    struct metrics *metrics;          /* /metrics on metrics_export_port (metrics.c) */
    struct dashboard *dash;           /* head only: the dashboard (dashboard.c) */

    /* restarts (docs/restart.md) */
    bool resumed;                     /* head: this session was a dead head's, resumed */
    int exit_code;                    /* non-zero: why the node gave up (GCS gone too long) */
    long long gcs_down_ms;            /* monotonic time the GCS became unreachable, 0 if up */
    long long gcs_down_logged_ms;
    long long redis_due_ms;           /* head: when to start the dead redis-server again */
    int redis_backoff_ms;
    struct event *gcs_watch;          /* once a second: the GCS bound, the embedded Redis */

    bool rejoin;                      /* declared dead while alive: start again as a new node */
    void *tls, *tls_dash;             /* SSL_CTXs of --tls-* (tls.c): nodes, dashboard; NULL = off */
};

/* Run a node with settings CFG until it is told to stop. Returns the exit
 * status of the process (0 on a clean stop), or NODE_MAIN_REJOIN when the
 * cluster declared this node dead while it ran (a partition): everything it
 * ran and held is gone, and the caller runs node_main again, which joins as
 * a new node (new ID, same session directory and process). */
int node_main(struct rayd_config *cfg);
#define NODE_MAIN_REJOIN 100
/* The cluster declared this (non-head) node dead (WHY) while it still runs:
 * its work was redone elsewhere, so it drops everything (workers, tasks,
 * objects) and node_main returns NODE_MAIN_REJOIN. No-op on the head. */
void node_rejoin(struct node *n, const char *why);
/* Write N's node record again, whole (state ALIVE): after a GCS outage. */
void node_register_again(struct node *n);

/* Heartbeats (heartbeat.c): every node writes one each interval; the head
 * marks nodes DEAD whose heartbeat stops for node_timeout_ms. */
void heartbeat_start(struct node *n);
void heartbeat_stop(struct node *n);
/* Head: node ID (at ADDRESS, for the log) last heartbeat LAST_HB as read
 * from <p>hb. Declares it dead (marks it DEAD in the GCS, tells the
 * runtime) once that has not changed for node_timeout_ms; returns true then.
 * Called by the cluster view with each of its reads. */
bool heartbeat_check_node(struct node *n, const char *id, const char *address, long long last_hb);
/* Current "resources available" and queue length as the heartbeat reports them. */
void heartbeat_send_now(struct node *n);

#endif
