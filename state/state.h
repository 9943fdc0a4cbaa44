/*
 * state.h — the cluster's state as a user reads it: the GCS tables as rows
 * and JSON pages, the text of `ray status`, the timeline as a Chrome trace.
 * Shared by the CLI (`ray list`, `ray status`, `ray timeline`) and the
 * head's dashboard (its own thread), so that neither includes the other.
 *
 * Every function reads through a blocking GCS client (gcs/gcs_sync.h) the
 * caller connected and still owns; none keeps a pointer after it returns.
 * Not for the node's event loop: the reads block.
 */
#ifndef RAY_STATE_H
#define RAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct buf;
struct gcs_node;
struct gcs_sync;

/* ---- tables.c: the GCS tables -------------------------------------------- */

#define STATE_MAX_COLS 12

/* One table: NCOLS columns named COLS (static strings), ROWS rows of text
 * cells (CELLS[row * ncols + col], owned); JSON_NUM[c]: column C is a
 * number in JSON. */
struct state_table {
    const char *cols[STATE_MAX_COLS];
    int ncols;
    char **cells;
    size_t rows, cap;
    bool json_num[STATE_MAX_COLS];
};

/* True if WHAT names a table: nodes, jobs, tasks, actors, objects,
 * placement-groups (`ray list`'s names). */
bool state_table_known(const char *what);
/* Read table WHAT into T (initialised here). Returns 0, -1 if a read failed
 * (T may hold some rows), -2 for an unknown WHAT. Free T with
 * state_table_free either way. */
int state_table_read(struct gcs_sync *gs, const char *what, struct state_table *t);
void state_table_free(struct state_table *t);
/* One page of table WHAT as {"result": [rows OFFSET.. up to LIMIT],
 * "total": N} appended to OUT. Returns 0, or -1 for an unknown table or a
 * failed read (OUT may hold a partial prefix). */
int state_list_page(struct gcs_sync *gs, const char *what, size_t offset, size_t limit,
                    struct buf *out);

/* ---- status.c, status_pg.c: `ray status` ---------------------------------- */

/* The cluster's status as text into OUT: nodes alive and dead, the
 * autoscaler's pending and failed nodes, resources in use per node and in
 * total (placement groups' reservations apart), demands. NODES (N) is the
 * node table the caller read (gcs_sync_nodes). PER_NODE (may be NULL) is
 * called after each alive node's resources, with ARG (`ray status -v`
 * prints the node's activity there). Reads that fail leave their part out. */
void state_status_report(FILE *out, struct gcs_sync *gs, const struct gcs_node *nodes, size_t n,
                         void (*per_node)(const struct gcs_node *nd, void *arg), void *arg);
/* Format BYTES as "1.50GiB" into OUT. */
void state_fmt_bytes(double bytes, char *out, size_t outlen);

/* ---- timeline.c: the timeline as a Chrome trace ---------------------------- */

/* Read the newest LIMIT events of the GCS timeline stream (only job JOB's,
 * 8 hex digits, if JOB is not NULL) and write them to FP as a Chrome trace
 * (a JSON array; nodes from NODES, NN). Nothing is written before every read
 * succeeded. Returns 0 with *NEVENTS, or -1 with one line in ERR (a failed
 * read; FP untouched). Write errors are FP's (the caller checks fflush). */
int state_timeline_write(FILE *fp, struct gcs_sync *gs, const struct gcs_node *nodes, size_t nn,
                         const char *job, long limit, size_t *nevents, char *err, size_t errlen);

#endif
