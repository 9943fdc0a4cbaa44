/*
 * timeline.c — `ray timeline [-o FILE] [--limit N] [--job J]`: the GCS
 * timeline stream as a Chrome trace (written by state/timeline.c) into a
 * file or stdout.
 */
#include "cli/cli.h"

#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "state/state.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void tl_usage(FILE *fp)
{
    fprintf(fp, "usage: ray timeline [-o FILE] [--limit N] [--job JOB] [--address HOST:PORT]\n"
                "                    [--temp-dir DIR] [--token SECRET]\n\n"
                "Write a Chrome trace (chrome://tracing, https://ui.perfetto.dev) of the\n"
                "cluster's recent tasks, actor calls and ray_get/ray_wait/ray_put calls.\n\n"
                "Options:\n"
                "  -o FILE              where to write it (- for stdout) [default\n"
                "                       ./timeline-<time>.json]\n"
                "  --limit N            the newest N events [default 100000]\n"
                "  --job JOB            only that job's events (8 hex digits)\n" CLI_TARGET_HELP);
}

int cli_timeline(int argc, char **argv)
{
    struct cli_target tg = { 0 };
    const char *out_path = NULL, *job = NULL;
    long limit = 100000;
    for (int i = 1; i < argc; i++) {
        int r = cli_target_option("timeline", &tg, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            tl_usage(stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                cli_error("timeline", "option %s needs a file name", a);
                return 2;
            }
            out_path = argv[++i];
        } else if (strcmp(a, "--limit") == 0) {
            char *end = NULL;
            if (i + 1 < argc)
                limit = strtol(argv[++i], &end, 10);
            if (end == NULL || *end || limit <= 0 || limit > 10000000) {
                cli_error("timeline", "--limit needs a number of events from 1 to 10000000");
                return 2;
            }
        } else if (strcmp(a, "--job") == 0) {
            if (i + 1 >= argc || strlen(argv[i + 1]) != 8) {
                cli_error("timeline", "--job needs a job ID (8 hex digits, see ray list jobs)");
                return 2;
            }
            job = argv[++i];
        } else {
            cli_error("timeline", "unknown option %s (see ray timeline --help)", a);
            return 2;
        }
    }
    struct gcs_node *nodes;
    size_t nn;
    struct gcs_sync *gs = cli_gcs_nodes("timeline", &tg, NULL, 0, &nodes, &nn);
    if (gs == NULL)
        return 1;
    int rc = 0;
    size_t nev = 0;
    char defpath[64];
    if (out_path == NULL) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(defpath, sizeof defpath, "timeline-%Y%m%d-%H%M%S.json", &tm);
        out_path = defpath;
    }
    bool to_stdout = strcmp(out_path, "-") == 0;
    FILE *fp = to_stdout ? stdout : fopen(out_path, "w");
    if (fp == NULL) {
        rc = cli_error("timeline", "cannot write %s: %m", out_path);
        goto out;
    }
    static char fbuf[1 << 20];
    setvbuf(fp, fbuf, _IOFBF, sizeof fbuf);
    char err[512];
    if (state_timeline_write(fp, gs, nodes, nn, job, limit, &nev, err, sizeof err) < 0) {
        rc = cli_error("timeline", "%s", err);
        if (!to_stdout) {
            fclose(fp);
            unlink(out_path); /* nothing was written into it */
        }
        goto out;
    }
    if (fflush(fp) != 0 || (!to_stdout && fclose(fp) != 0)) {
        rc = cli_error("timeline", "cannot write %s: %m", out_path);
        goto out;
    }
    if (!to_stdout)
        fprintf(stderr, "ray timeline: %zu events written to %s\n", nev, out_path);
out:
    gcs_node_array_free(nodes, nn);
    gcs_sync_free(gs);
    return rc;
}
