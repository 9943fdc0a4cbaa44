/*
 * list.c — `ray list nodes|jobs|tasks|actors|objects|placement-groups
 * [--format table|json] [--limit N] [--address A]`: the GCS tables as a
 * table or as JSON (one array of objects).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cli_list(int argc, char **argv)
{
    const char *what = NULL, *addr = NULL, *temp_dir = "/tmp/ray";
    bool json = false;
    size_t limit = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
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
        } else if (strcmp(a, "--address") == 0 && i + 1 < argc) {
            addr = argv[++i];
        } else if (strcmp(a, "--temp-dir") == 0 && i + 1 < argc) {
            temp_dir = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: ray list nodes|jobs|tasks|actors|objects|placement-groups\n"
                   "                [--format table|json] [--limit N] [--address HOST:PORT]\n");
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
    if (strcmp(what, "nodes") == 0)
        fn = list_nodes;
    else if (strcmp(what, "jobs") && strcmp(what, "tasks") && strcmp(what, "actors") &&
             strcmp(what, "objects") && strcmp(what, "placement-groups"))
        return cli_error("list", "cannot list '%s': choose nodes|jobs|tasks|actors|objects|"
                                 "placement-groups", what);
    if (fn == NULL)
        return cli_error("list", "listing %s is not available yet", what);
    char err[512];
    struct gcs_sync *gs = cli_gcs_connect(addr, temp_dir, err, sizeof err);
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
