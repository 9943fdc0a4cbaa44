/*
 * logs.c — `ray logs`: without an ID, every live node's log files by group
 * (rayd, redis, workers, jobs); with one, that job's, actor's, task's or
 * node's output, fetched from the node that keeps it (LOG_READ, answered by
 * runtime/observe.c): a job's from its driver's node, an actor's from its
 * node, a task's from the node the task table names (every live node when
 * the table has no record of it yet), a node's own rayd log from itself.
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/ids.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "state/state.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void logs_usage(FILE *fp)
{
    fprintf(fp,
            "usage: ray logs [--address HOST:PORT] [--temp-dir DIR] [--token SECRET]\n"
            "       ray logs [--follow] [--tail N] [--err] JOB|ACTOR|TASK|NODE\n\n"
            "Without an ID: the log files of every live node, by group. With one: that\n"
            "job's, actor's or task's stdout (stderr with --err), or a node's own log.\n\n"
            "Options:\n"
            "  -f, --follow         keep printing what is written later (Ctrl-C ends)\n"
            "  --tail N             only the last N lines\n"
            "  --err                stderr instead of stdout\n" CLI_TARGET_HELP);
}

static bool all_hex(const char *s, size_t want)
{
    if (strlen(s) != want)
        return false;
    for (size_t i = 0; i < want; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static const char *file_group(const char *name)
{
    if (strncmp(name, "rayd", 4) == 0)
        return "rayd";
    if (strncmp(name, "redis", 5) == 0)
        return "redis";
    if (strncmp(name, "worker-", 7) == 0 || strncmp(name, "tasks.", 6) == 0)
        return "workers";
    if (strncmp(name, "job-", 4) == 0 || strncmp(name, "driver", 6) == 0)
        return "jobs";
    return "other";
}

/* List every live node's files. */
static int logs_list(const struct gcs_node *nodes, size_t n, const char *token)
{
    static const char *groups[] = { "rayd", "redis", "workers", "jobs", "other" };
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(nodes[i].state, "ALIVE") != 0)
            continue;
        char err[512];
        struct cli_node_conn nc;
        printf("======== node %s  %s%s ========\n", nodes[i].node_id, nodes[i].address,
               nodes[i].is_head ? "  (head)" : "");
        if (cli_node_open(&nc, &nodes[i], token, err, sizeof err) < 0) {
            fprintf(stderr, "ray logs: %s\n", err);
            rc = 1;
            continue;
        }
        struct buf f = BUF_INIT;
        proto_pack(&f, PROTO_LOG_LIST_REQ, (uint64_t)1);
        cli_node_send(&nc, &f);
        buf_free(&f);
        struct proto_msg m;
        int r;
        while ((r = cli_node_next(&nc, &m, 10000)) == 1 && m.type != PROTO_LOG_LIST)
            ;
        if (r != 1) {
            fprintf(stderr, "ray logs: node %.8s did not list its logs\n", nodes[i].node_id);
            rc = 1;
            cli_node_close(&nc);
            continue;
        }
        /* the files, sorted by name */
        struct lfile { char name[256]; uint64_t size; } *fv = NULL;
        size_t nf = 0;
        struct mpr rd;
        uint32_t cnt = 0;
        mpr_init(&rd, m.f[1].as.s.ptr, m.f[1].as.s.len);
        if (mpr_array(&rd, &cnt) == 0 && cnt > 0)
            fv = calloc(cnt, sizeof *fv);
        for (uint32_t k = 0; fv && k < cnt; k++) {
            uint32_t three;
            const char *name;
            size_t nl;
            uint64_t size, mtime;
            if (mpr_array(&rd, &three) < 0 || three != 3 || mpr_str(&rd, &name, &nl) < 0 ||
                mpr_uint(&rd, &size) < 0 || mpr_uint(&rd, &mtime) < 0)
                break;
            snprintf(fv[nf].name, sizeof fv[nf].name, "%.*s", (int)nl, name);
            fv[nf++].size = size;
        }
        if (nf > 1)
            qsort(fv, nf, sizeof *fv, (int (*)(const void *, const void *))strcmp);
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            bool head = false;
            for (size_t k = 0; k < nf; k++) {
                if (strcmp(file_group(fv[k].name), groups[g]) != 0)
                    continue;
                if (!head)
                    printf("%s:\n", groups[g]);
                head = true;
                char sz[32];
                state_fmt_bytes((double)fv[k].size, sz, sizeof sz);
                printf("  %-24s %10s  %s/logs/%s\n", fv[k].name, sz, nodes[i].session_dir,
                       fv[k].name);
            }
        }
        free(fv);
        cli_node_close(&nc);
    }
    return rc;
}

static volatile sig_atomic_t logs_stop;
static void logs_sigint(int sig)
{
    (void)sig;
    logs_stop = 1;
}

/* Stream SOURCE (docs/protocol.md LOG_READ) from node ND to stdout. Returns
 * 0, 1 on an error (printed), and sets *GOT to whether any byte came. */
static int logs_read(const struct gcs_node *nd, const char *token, const char *source,
                     int stream, const uint8_t *filter, uint32_t tail, bool follow, bool *got)
{
    char err[512];
    struct cli_node_conn nc;
    if (cli_node_open(&nc, nd, token, err, sizeof err) < 0)
        return cli_error("logs", "%s", err);
    struct buf f = BUF_INIT;
    proto_pack(&f, PROTO_LOG_READ, (uint64_t)1, source, (uint64_t)stream, filter ? (const void *)filter : (const void *)"",
               (size_t)(filter ? IDS_SIZE : 0), (uint64_t)tail, follow);
    cli_node_send(&nc, &f);
    buf_free(&f);
    int rc = 0;
    for (;;) {
        if (logs_stop)
            break;
        struct proto_msg m;
        int r = cli_node_next(&nc, &m, follow ? 500 : 30000);
        if (r == -2 && follow)
            continue;
        if (r != 1) {
            if (!(follow && logs_stop))
                rc = cli_error("logs", "node %.8s: %s", nd->node_id,
                               r == 0 ? "closed the connection" : "no answer");
            break;
        }
        if (m.type != PROTO_LOG_DATA)
            continue;
        if (m.f[0].as.i < 0 || m.f[1].as.i < 0) {
            rc = cli_error("logs", "%.*s", (int)m.f[3].as.s.len, m.f[3].as.s.ptr);
            break;
        }
        if (m.f[2].as.s.len) {
            fwrite(m.f[2].as.s.ptr, 1, m.f[2].as.s.len, stdout);
            fflush(stdout);
            *got = true;
        }
        if (m.f[1].as.i == 1)
            break;
    }
    cli_node_close(&nc);
    return rc;
}

static const struct gcs_node *node_by_id(const struct gcs_node *v, size_t n, const char *hex)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].node_id, hex) == 0)
            return &v[i];
    return NULL;
}

/* A hash field or NULL (caller frees with free()). */
static char *hget(struct gcs_sync *gs, const char *key, const char *field)
{
    struct gcs_reply *r = gcs_sync_command(gs, "HGET %s %s", key, field);
    char *out = NULL;
    size_t len = 0;
    const char *s = gcs_reply_type(r) == GCS_REPLY_STRING ? gcs_reply_str(r, &len) : NULL;
    if (s) {
        out = malloc(len + 1);
        if (out) {
            memcpy(out, s, len);
            out[len] = '\0';
        }
    }
    gcs_reply_free(r);
    return out;
}

int cli_logs(int argc, char **argv)
{
    struct cli_target tg = { 0 };
    const char *id = NULL;
    bool follow = false, err_stream = false;
    long tail = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_target_option("logs", &tg, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            logs_usage(stdout);
            return 0;
        } else if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
            follow = true;
        } else if (strcmp(a, "--err") == 0) {
            err_stream = true;
        } else if (strcmp(a, "--tail") == 0 || strncmp(a, "--tail=", 7) == 0) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            char *end = NULL;
            if (v)
                tail = strtol(v, &end, 10);
            if (v == NULL || end == v || *end || tail <= 0 || tail > 100000) {
                cli_error("logs", "--tail needs a number of lines from 1 to 100000");
                return 2;
            }
        } else if (a[0] == '-') {
            cli_error("logs", "unknown option %s (see ray logs --help)", a);
            return 2;
        } else if (id == NULL) {
            id = a;
        } else {
            cli_error("logs", "one ID at a time (got %s and %s)", id, a);
            return 2;
        }
    }
    char token[256];
    struct gcs_node *nodes;
    size_t n;
    struct gcs_sync *gs = cli_gcs_nodes("logs", &tg, token, sizeof token, &nodes, &n);
    if (gs == NULL)
        return 1;
    int rc = 0;
    bool got = false;
    int stream = err_stream ? 2 : 1;
    struct sigaction sa = { .sa_handler = logs_sigint };
    if (follow) {
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    const char *p = gcs_sync_prefix(gs);
    char key[512];
    if (id == NULL) {
        rc = logs_list(nodes, n, token);
        goto out;
    }
    if (all_hex(id, 8)) {
        /* a job: its output as its driver's node keeps it */
        snprintf(key, sizeof key, "%sjob:%s", p, id);
        char *drv = hget(gs, key, "driver_node");
        if (drv == NULL) {
            rc = cli_error("logs", "no job %s in the cluster (see ray list jobs)", id);
            goto out;
        }
        const struct gcs_node *nd = node_by_id(nodes, n, drv);
        if (nd == NULL || strcmp(nd->state, "ALIVE") != 0) {
            rc = cli_error("logs", "job %s ran its driver on node %.8s, which is not alive", id,
                           drv);
            free(drv);
            goto out;
        }
        free(drv);
        char src[16];
        snprintf(src, sizeof src, "job:%s", id);
        rc = logs_read(nd, token, src, stream, NULL, (uint32_t)tail, follow, &got);
        goto out;
    }
    if (!all_hex(id, 2 * IDS_SIZE)) {
        rc = cli_error("logs", "'%s' is not a job (8 hex digits), actor, task or node ID (40 hex "
                               "digits)", id);
        goto out;
    }
    const struct gcs_node *nd = node_by_id(nodes, n, id);
    if (nd) {
        if (strcmp(nd->state, "ALIVE") != 0) {
            rc = cli_error("logs", "node %s is dead: its logs stay in %s/logs on %s", id,
                           nd->session_dir, nd->hostname);
            goto out;
        }
        rc = logs_read(nd, token, "node", 1, NULL, (uint32_t)tail, follow, &got);
        goto out;
    }
    uint8_t bin[IDS_SIZE];
    ids_unhex(id, bin, IDS_SIZE);
    snprintf(key, sizeof key, "%sactor:%s", p, id);
    char *where = hget(gs, key, "node");
    if (where == NULL) {
        /* a task: the task table's record names its node (line 2) */
        snprintf(key, sizeof key, "%sjob:%.8s:taskrecs", p, id);
        char *rec = hget(gs, key, id);
        /* to follow one node, wait for the record (a node writes it within a second) */
        for (int tries = 0; rec == NULL && follow && tries < 15; tries++) {
            usleep(200000);
            rec = hget(gs, key, id);
        }
        if (rec) {
            char *nl = strchr(rec, '\n');
            char *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
            if (nl2) {
                *nl2 = '\0';
                where = strdup(nl + 1);
            }
            free(rec);
        } else {
            snprintf(key, sizeof key, "%sjob:%.8s", p, id);
            char *drv = hget(gs, key, "driver_node");
            if (drv == NULL) {
                rc = cli_error("logs", "no job, actor, task or node with ID %s", id);
                goto out;
            }
            free(drv);
        }
    }
    nd = where && *where ? node_by_id(nodes, n, where) : NULL;
    if (nd && strcmp(nd->state, "ALIVE") == 0) {
        rc = logs_read(nd, token, "tasks", stream, bin, (uint32_t)tail, follow, &got);
    } else if (where && *where && nd) {
        rc = cli_error("logs", "%s ran on node %.8s, which is not alive", id, where);
    } else {
        /* not recorded yet (the table lags a node by up to a second): ask every node */
        for (size_t i = 0; i < n && rc == 0 && !got; i++)
            if (strcmp(nodes[i].state, "ALIVE") == 0)
                rc = logs_read(&nodes[i], token, "tasks", stream, bin, (uint32_t)tail,
                               follow && i + 1 == n, &got);
    }
    free(where);
out:
    gcs_node_array_free(nodes, n);
    gcs_sync_free(gs);
    return rc;
}
