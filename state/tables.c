/*
 * tables.c — the GCS tables (nodes, jobs, tasks, actors, objects,
 * placement groups) read through the blocking GCS client into rows of
 * text, and one page of them as JSON: what `ray list` prints and what the
 * head's dashboard serves (state.h).
 */
#include "state/state.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void table_row(struct state_table *t, const char *const *vals)
{
    if (t->rows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xreallocarray(t->cells, t->cap * (size_t)t->ncols, sizeof *t->cells);
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = xstrdup(vals[i] ? vals[i] : "");
    t->rows++;
}

void state_table_free(struct state_table *t)
{
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

static int list_nodes(struct gcs_sync *gs, struct state_table *t)
{
    struct gcs_node *v = NULL;
    size_t n = 0;
    if (gcs_sync_nodes(gs, &v, &n) < 0)
        return -1;
    static const char *cols[] = { "node_id", "state", "address", "port", "is_head",
                                  "resources_total", "resources_available", "pid" };
    t->ncols = 8;
    memcpy(t->cols, cols, sizeof cols);
    t->json_num[3] = t->json_num[7] = true;
    for (size_t i = 0; i < n; i++) {
        char port[16], pid[24];
        snprintf(port, sizeof port, "%d", v[i].port);
        snprintf(pid, sizeof pid, "%lld", v[i].pid);
        const char *row[] = { v[i].node_id, v[i].state, v[i].address, port,
                              v[i].is_head ? "true" : "false", v[i].resources_total,
                              v[i].resources_available, pid };
        table_row(t, row);
    }
    gcs_node_array_free(v, n);
    return 0;
}

static void fmt_ms(long long ms, char *out, size_t outlen)
{
    if (ms <= 0) {
        out[0] = '\0';
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Oldest first, so the newest job is the last line: by start time, then by
 * job number (IDs are 8 hex digits of the number). */
static int job_cmp(const void *a, const void *b)
{
    const struct gcs_job *x = a, *y = b;
    if (x->start_time_ms != y->start_time_ms)
        return x->start_time_ms < y->start_time_ms ? -1 : 1;
    return strcmp(x->job_id ? x->job_id : "", y->job_id ? y->job_id : "");
}

static int list_jobs(struct gcs_sync *gs, struct state_table *t)
{
    struct gcs_job *v = NULL;
    size_t n = 0;
    if (gcs_sync_jobs(gs, &v, &n) < 0)
        return -1;
    if (n > 1)
        qsort(v, n, sizeof *v, job_cmp);
    static const char *cols[] = { "job_id", "state", "entrypoint", "driver_node", "driver_pid",
                                  "start_time", "end_time", "library_hash" };
    t->ncols = 8;
    memcpy(t->cols, cols, sizeof cols);
    t->json_num[4] = true;
    for (size_t i = 0; i < n; i++) {
        char pid[24], st[32], et[32];
        snprintf(pid, sizeof pid, "%lld", v[i].driver_pid);
        fmt_ms(v[i].start_time_ms, st, sizeof st);
        fmt_ms(v[i].end_time_ms, et, sizeof et);
        const char *row[] = { v[i].job_id, v[i].state, v[i].entrypoint, v[i].driver_node, pid,
                              st, et, v[i].library_hash };
        table_row(t, row);
    }
    gcs_job_array_free(v, n);
    return 0;
}

static int list_actors(struct gcs_sync *gs, struct state_table *t)
{
    struct gcs_actor *v = NULL;
    size_t n = 0;
    if (gcs_sync_actors(gs, &v, &n) < 0)
        return -1;
    static const char *cols[] = { "actor_id", "class", "state", "name", "node", "job",
                                  "restarts", "detached", "death_cause", "pending_reason",
                                  "pid" };
    t->ncols = 11;
    memcpy(t->cols, cols, sizeof cols);
    t->json_num[6] = t->json_num[10] = true;
    for (size_t i = 0; i < n; i++) {
        char restarts[24], pid[24];
        snprintf(restarts, sizeof restarts, "%lld", v[i].restarts);
        snprintf(pid, sizeof pid, "%lld", v[i].pid);
        const char *row[] = { v[i].actor_id, v[i].class_name, v[i].state, v[i].name, v[i].node,
                              v[i].job, restarts, v[i].detached ? "true" : "false",
                              v[i].death_cause, v[i].pending_reason, pid };
        table_row(t, row);
    }
    gcs_actor_array_free(v, n);
    return 0;
}

static int list_tasks(struct gcs_sync *gs, struct state_table *t)
{
    struct gcs_task *v = NULL;
    size_t n = 0;
    if (gcs_sync_tasks(gs, &v, &n) < 0)
        return -1;
    static const char *cols[] = { "task_id", "name", "state", "job", "node", "attempts",
                                  "updated" };
    t->ncols = 7;
    memcpy(t->cols, cols, sizeof cols);
    t->json_num[5] = true;
    for (size_t i = 0; i < n; i++) {
        char att[24], up[32];
        snprintf(att, sizeof att, "%lld", v[i].attempts);
        fmt_ms(v[i].updated_ms, up, sizeof up);
        const char *row[] = { v[i].task_id, v[i].name, v[i].state, v[i].job, v[i].node, att, up };
        table_row(t, row);
    }
    gcs_task_array_free(v, n);
    return 0;
}

static int list_objects(struct gcs_sync *gs, struct state_table *t)
{
    struct gcs_object *v = NULL;
    size_t n = 0;
    if (gcs_sync_objects(gs, &v, &n) < 0)
        return -1;
    static const char *cols[] = { "object_id", "size", "job", "nodes" };
    t->ncols = 4;
    memcpy(t->cols, cols, sizeof cols);
    t->json_num[1] = true;
    for (size_t i = 0; i < n; i++) {
        char size[24];
        snprintf(size, sizeof size, "%lld", v[i].size);
        const char *row[] = { v[i].object_id, size, v[i].job, v[i].nodes };
        table_row(t, row);
    }
    gcs_object_array_free(v, n);
    return 0;
}

static int list_pgs(struct gcs_sync *gs, struct state_table *t)
{
    struct gcs_pg *v = NULL;
    size_t n = 0;
    if (gcs_sync_pgs(gs, &v, &n) < 0)
        return -1;
    static const char *cols[] = { "placement_group_id", "name", "strategy", "state", "bundles",
                                  "nodes", "job" };
    t->ncols = 7;
    memcpy(t->cols, cols, sizeof cols);
    for (size_t i = 0; i < n; i++) {
        const char *row[] = { v[i].pg_id, v[i].name, v[i].strategy, v[i].state, v[i].bundles,
                              v[i].nodes ? v[i].nodes : "", v[i].job };
        table_row(t, row);
    }
    gcs_pg_array_free(v, n);
    return 0;
}

/* The table kinds, by the name `ray list` takes. */
static const struct {
    const char *name;
    int (*fn)(struct gcs_sync *, struct state_table *);
} list_kinds[] = { { "nodes", list_nodes }, { "jobs", list_jobs }, { "tasks", list_tasks },
                   { "actors", list_actors }, { "objects", list_objects },
                   { "placement-groups", list_pgs } };

bool state_table_known(const char *what)
{
    for (size_t k = 0; k < sizeof list_kinds / sizeof list_kinds[0]; k++)
        if (strcmp(what, list_kinds[k].name) == 0)
            return true;
    return false;
}

int state_table_read(struct gcs_sync *gs, const char *what, struct state_table *t)
{
    memset(t, 0, sizeof *t);
    for (size_t k = 0; k < sizeof list_kinds / sizeof list_kinds[0]; k++)
        if (strcmp(what, list_kinds[k].name) == 0)
            return list_kinds[k].fn(gs, t) < 0 ? -1 : 0;
    return -2;
}

int state_list_page(struct gcs_sync *gs, const char *what, size_t offset, size_t limit,
                    struct buf *out)
{
    struct state_table t;
    if (state_table_read(gs, what, &t) < 0) {
        state_table_free(&t);
        return -1;
    }
    buf_append(out, "{\"result\": [", 12);
    size_t end = offset < t.rows ? (limit < t.rows - offset ? offset + limit : t.rows) : offset;
    for (size_t r = offset; r < end; r++) {
        buf_append(out, r > offset ? ",\n{" : "\n{", r > offset ? 3 : 2);
        for (int c = 0; c < t.ncols; c++) {
            const char *v = t.cells[r * (size_t)t.ncols + (size_t)c];
            if (c)
                buf_append(out, ", ", 2);
            json_put_str(out, t.cols[c]);
            buf_append(out, ": ", 2);
            if (t.json_num[c] && *v)
                buf_append(out, v, strlen(v));
            else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
                buf_append(out, v, strlen(v));
            else
                json_put_str(out, v);
        }
        buf_append(out, "}", 1);
    }
    buf_printf(out, "], \"total\": %zu}\n", t.rows);
    state_table_free(&t);
    return 0;
}

