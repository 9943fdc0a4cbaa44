/*
 * list.c — `ray list nodes|jobs|tasks|actors|objects|placement-groups
 * [--format table|json] [--limit N] [--address A]`: the GCS tables
 * (read by state/tables.c) as a table or as JSON (one array of objects).
 */
#include "cli/cli.h"

#include "gcs/gcs_sync.h"
#include "state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void table_print(const struct state_table *t, bool json, size_t limit)
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
    size_t w[STATE_MAX_COLS];
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
    if (!state_table_known(what))
        return cli_error("list", "cannot list '%s': choose nodes|jobs|tasks|actors|objects|"
                                 "placement-groups", what);
    char err[512];
    struct gcs_sync *gs = cli_gcs_connect(&tg, NULL, 0, err, sizeof err);
    if (gs == NULL)
        return cli_error("list", "%s", err);
    struct state_table t;
    int rc = state_table_read(gs, what, &t);
    gcs_sync_free(gs);
    if (rc < 0) {
        state_table_free(&t);
        return cli_error("list", "cannot read the %s table", what);
    }
    table_print(&t, json, limit);
    state_table_free(&t);
    return 0;
}
