/*
 * internal.h — what every file of the runtime shares, and only that: the
 * record types by name (each defined in the .c file that owns it: struct
 * client in runtime.c, struct task in tasks.c, struct worker in
 * workers.c, struct actor in actors.c, struct job in jobs.c, struct
 * cluster_node in cluster.c, struct waiter in objects.c), the runtime's
 * context (struct runtime: the node, the modules' state, the helper
 * thread), and a timer helper. Each module's functions are declared in its
 * own header (runtime/tasks.h, runtime/workers.h, ...); nothing outside
 * runtime/ includes any of them (scripts/check-layout.sh): the rest of the
 * daemon sees runtime/runtime.h only.
 *
 * Everything runs on the node's loop thread.
 */
#ifndef RAY_RUNTIME_INTERNAL_H
#define RAY_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/idmap.h"
#include "common/ids.h"
#include "daemon/bio.h"
#include "daemon/node.h"
#include "daemon/server.h"
#include "objmgr/objmgr.h"
#include "objmgr/objrec.h"
#include "runtime/runtime.h"
#include "sched/local.h"
#include "sched/resources.h"

struct actor;
struct client;
struct cluster_node;
struct event;
struct job;
struct task;
struct worker;

/* Value type tags of store objects beyond ray_type's 0..7. */
#define VT_ERROR 100

/* The runtime's context: the node it runs on, what every file uses (the
 * helper thread, the object manager, stopping), and one pointer to each
 * module's state, whose struct is private to that module's .c file (the
 * others call its functions: docs/architecture.md "The runtime's seams"). */
struct runtime {
    struct node *n;
    struct objrecs *objrecs;    /* object-table entries held back (objmgr/objrec.c) */
    struct objlife *objlife;    /* freed objects, ended jobs, kept objects (objlife.c) */
    struct objmgr *om;          /* object transfers (objmgr/objmgr.c) */
    struct spill *sp;           /* spillback and remote placement (spillback.c) */
    struct tasks_state *ts;     /* task records and the local scheduler (tasks.c) */
    struct workers_state *ws;   /* the worker pool (workers.c) */
    struct actors_state *as;    /* the actors known here (actors.c) */
    struct clients_state *cls;  /* the connected workers and drivers (runtime.c) */
    struct jobs_state *js;      /* the jobs known here (jobs.c) */
    struct objects_state *os;   /* waiters and waiting requests of objects (objects.c) */
    struct cluster_state *cs;   /* the node table and connections to other nodes (cluster.c) */
    struct taskrec_state *trs;  /* task-table writes held back (taskrec.c) */
    struct pgs *pgs;            /* placement groups (pg.c) */
    struct pg_node *pgn;        /* this node's bundles and tombstones (pg_node.c) */
    struct bio *bio;            /* the helper thread: file writes, hashing, forks (bio.h) */
    struct bio_file *logf;      /* the node's own log, written through bio (log_set_sink) */
    bool stopping;
};

/* Arm EV, a one-shot timer, to fire at DUE_MS (net_now_ms's clock), at
 * least a millisecond from now. (runtime.c) */
void rt_timer_at(struct event *ev, long long due_ms);

#endif
