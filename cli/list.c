/*
 * list.c — `ray list nodes|jobs|tasks|actors|objects|placement-groups
 * [--format table|json] [--limit N] [--address A]`: the GCS tables as a
 * table or as JSON (one array of objects).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_MAX_COLS 12

struct table {
    const char *cols[LIST_MAX_COLS];
    int ncols;
    char **cells; /* rows * ncols, owned */
    size_t rows, cap;
    bool json_num[LIST_MAX_COLS];
};

static void table_row(struct table *t, const char *const *vals)
{
    if (t->rows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xreallocarray(t->cells, t->cap * (size_t)t->ncols, sizeof *t->cells);
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = xstrdup(vals[i] ? vals[i] : "");
    t->rows++;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void table_print(const struct table *t, bool json, size_t limit)
{
    size_t rows = t->rows < limit ? t->rows : limit;
    if (json) {
        printf("[");
        for (size_t r = 0; r < rows; r++) {
            printf("%s\n  {", r ? "," : "");
            for (int c = 0; c < t->ncols; c++) {
                const char *v = t->cells[r * (size_t)t->ncols + (size_t)c];
                printf("%s", c ? ", " : "");
                json_str(t->cols[c]);
                printf(": ");
                if (t->json_num[c] && *v)
                    printf("%s", v);
                else
                    json_str(v);
            }
            printf("}");
        }
        printf("%s]\n", rows ? "\n" : "");
        return;
    }
    size_t w[LIST_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = strlen(t->cols[c]);
        for (size_t r = 0; r < rows; r++) {
            size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (l > w[c])
                w[c] = l;
        }
    }
    for (int c = 0; c < t->ncols; c++)
        printf("%-*s%s", (int)w[c], t->cols[c], c + 1 < t->ncols ? "  " : "\n");
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < t->ncols; c++)
            printf("%-*s%s", (int)w[c], t->cells[r * (size_t)t->ncols + (size_t)c],
                   c + 1 < t->ncols ? "  " : "\n");
    if (t->rows > rows)
        printf("(%zu more; raise --limit)\n", t->rows - rows);
    else if (rows == 0)
        printf("(none)\n");
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

static int list_nodes(struct gcs_sync *gs, struct table *t)
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

static int list_jobs(struct gcs_sync *gs, struct table *t)
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

static int list_actors(struct gcs_sync *gs, struct table *t)
{
    struct gcs_actor *v = NULL;
    size_t n = 0;
    if (gcs_sync_actors(gs, &v, &n) < 0)
        return -1;
    static const char *cols[] = { "actor_id", "class", "state", "name", "node", "job",
                                  "restarts", "detached", "death_cause", "pending_reason" };
    t->ncols = 10;
    memcpy(t->cols, cols, sizeof cols);
    t->json_num[6] = true;
    for (size_t i = 0; i < n; i++) {
        char restarts[24];
        snprintf(restarts, sizeof restarts, "%lld", v[i].restarts);
        const char *row[] = { v[i].actor_id, v[i].class_name, v[i].state, v[i].name, v[i].node,
                              v[i].job, restarts, v[i].detached ? "true" : "false",
                              v[i].death_cause, v[i].pending_reason };
        table_row(t, row);
    }
    gcs_actor_array_free(v, n);
    return 0;
}

static int list_tasks(struct gcs_sync *gs, struct table *t)
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

static int list_objects(struct gcs_sync *gs, struct table *t)
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

static int list_pgs(struct gcs_sync *gs, struct table *t)
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
    int (*fn)(struct gcs_sync *, struct table *);
} list_kinds[] = { { "nodes", list_nodes }, { "jobs", list_jobs }, { "tasks", list_tasks },
                   { "actors", list_actors }, { "objects", list_objects },
                   { "placement-groups", list_pgs } };

int cli_list_page(struct gcs_sync *gs, const char *what, size_t offset, size_t limit,
                  struct buf *out)
{
    int (*fn)(struct gcs_sync *, struct table *) = NULL;
    for (size_t k = 0; k < sizeof list_kinds / sizeof list_kinds[0]; k++)
        if (strcmp(what, list_kinds[k].name) == 0)
            fn = list_kinds[k].fn;
    if (fn == NULL)
        return -1;
    struct table t = { 0 };
    if (fn(gs, &t) < 0) {
        table_free(&t);
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
    table_free(&t);
    return 0;
}

int cli_list(int argc, char **argv)
{
    const char *what = NULL;
    struct cli_target tg = { 0 };
    bool json = false;
    size_t limit = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            a = argv[++i];
            if (strcmp(a, "json") == 0)
                json = true;
            else if (strcmp(a, "table") != 0)
                return cli_error("list", "--format must be table or json, not '%s'", a);
        } else if (strcmp(a, "--limit") == 0 && i + 1 < argc) {
            char *end;
            long l = strtol(argv[++i], &end, 10);
            if (*end || l <= 0)
                return cli_error("list", "--limit needs a positive number");
            limit = (size_t)l;
        } else if ((r = cli_target_option("list", &tg, argc, argv, &i)) != 0) {
            if (r < 0)
                return 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: ray list nodes|jobs|tasks|actors|objects|placement-groups\n"
                   "                [--format table|json] [--limit N] [--address HOST:PORT]\n"
                   "                [--temp-dir DIR] [--token SECRET]\n\n"
                   "List a GCS table. Jobs are listed oldest first; tasks include those of\n"
                   "ended jobs (the head keeps the last task_table_max_finished finished ones).\n\n"
                   "Options:\n"
                   "  --format table|json  [default table]\n"
                   "  --limit N            rows shown [default 100]\n" CLI_TARGET_HELP);
            return 0;
        } else if (a[0] == '-') {
            return cli_error("list", "unknown option %s (see ray list --help)", a);
        } else if (what == NULL) {
            what = a;
        } else {
            return cli_error("list", "unexpected argument '%s'", a);
        }
    }
    if (what == NULL)
        return cli_error("list", "what to list? nodes|jobs|tasks|actors|objects|placement-groups");
    int (*fn)(struct gcs_sync *, struct table *) = NULL;
    for (size_t k = 0; k < sizeof list_kinds / sizeof list_kinds[0]; k++)
        if (strcmp(what, list_kinds[k].name) == 0)
            fn = list_kinds[k].fn;
    if (fn == NULL)
        return cli_error("list", "cannot list '%s': choose nodes|jobs|tasks|actors|objects|"
                                 "placement-groups", what);
    char err[512];
    struct gcs_sync *gs = cli_gcs_connect(&tg, NULL, 0, err, sizeof err);
    if (gs == NULL)
        return cli_error("list", "%s", err);
    struct table t = { 0 };
    int rc = fn(gs, &t);
    gcs_sync_free(gs);
    if (rc < 0) {
        table_free(&t);
        return cli_error("list", "cannot read the %s table", what);
    }
    table_print(&t, json, limit);
    table_free(&t);
    return 0;
}
