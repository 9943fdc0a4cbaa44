/*
 * lease.h — leases of workers to drivers for direct submission
 * (docs/direct.md): LEASE_REQUEST / LEASE_RETURN from drivers, LEASE_REVOKE
 * to them, and the batched DIRECT_DONE notices of leased workers. The
 * functions of runtime/lease.c that the other files of the runtime call;
 * runtime/internal.h has what they all share. Loop thread only.
 */
#ifndef RAY_RUNTIME_LEASE_H
#define RAY_RUNTIME_LEASE_H

#include "runtime/internal.h"

struct buf;
struct res_set;

/* Register the lease messages on the node's server. */
void lease_init(struct runtime *rt);
/* End every lease (the runtime stops): resources back, workers idle. */
void lease_free(struct runtime *rt);
/* The worker holding lease T died (WHY): the lease ends, nothing is
 * retried here (the driver sees its direct socket close and submits the
 * unanswered tasks again through the node). T is destroyed. */
void lease_worker_died(struct runtime *rt, struct task *t, const char *why);
/* Client CL's connection closed: end its leases, forget its backlogs. */
void lease_client_gone(struct runtime *rt, struct client *cl);
/* The drivers' backlogs (DIRECT_BACKLOG: tasks a driver holds until its
 * leases have room), for the node's published demands (tasks.c,
 * `ray status`, the autoscaler): lease_backlog_take returns how many tasks
 * of exactly DEMAND the drivers hold and marks those entries counted;
 * lease_backlog_rest appends a "SHAPE<TAB>COUNT<TAB>pending" line to TEXT
 * for each entry not counted, and clears the marks. */
long lease_backlog_take(struct runtime *rt, const struct res_set *demand);
void lease_backlog_rest(struct runtime *rt, struct buf *text);
/* A line of worker W's output that starts with 0x1e is a marker (the
 * worker's stdio says which task it sent directly is printing): true if
 * LINE was one (it is not output: drop it). */
bool lease_output_marker(struct runtime *rt, struct worker *w, const char *line, size_t len);
/* The direct task leased worker W prints for now (its ID and name), or
 * NULL: its output is tagged with it (ray logs TASK, the job's prefix). */
const uint8_t *lease_output_task(const struct runtime *rt, const struct worker *w);
const char *lease_output_name(const struct runtime *rt, const struct worker *w);
/* One entry E of a DIRECT_DONE batch from client CL (a worker; NULL for
 * a driver's lost actor call, runtime/actors.c, never with RECORD): its returns stored
 * (NIL where a success set none, ERROR objects for a failure with E's
 * status), the counters told, and when RECORD (a task, not an actor call:
 * those have no record, as on the node's path) the task table. Never fails. */
struct direct_entry;
void lease_direct_done(struct runtime *rt, struct client *cl, const struct direct_entry *e,
                       bool record);
/* Tasks that leased workers ran and reported here since start (/metrics:
 * ray_direct_tasks_total), and leases granted. */
unsigned long long lease_direct_tasks(void);
unsigned long long lease_granted(void);

#endif
