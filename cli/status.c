/*
 * status.c — `ray status [--address A]`: the cluster's nodes (alive and dead),
 * resources used/total per node and in total, and the demands that are
 * pending or that no node can ever meet, in a layout close to Ray's; with
 * an autoscaler (launcher/autoscaler.c), also its launching ("Pending")
 * and recently failed nodes and why, from <p>autoscaler (docs/gcs.md).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "sched/resources.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_usage_line(const char *name, int64_t used, int64_t total)
{
    double u = (double)used / RES_SCALE, t = (double)total / RES_SCALE;
    if (strcmp(name, RES_MEMORY) == 0 || strcmp(name, RES_OBJECT_STORE_MEMORY) == 0) {
        char a[32], b[32];
        cli_fmt_bytes(u, a, sizeof a);
        cli_fmt_bytes(t, b, sizeof b);
        printf(" %s/%s %s\n", a, b, name);
    } else {
        printf(" %.1f/%.1f %s\n", u, t, name);
    }
}

/* used = total - available, per resource of TOTAL. node:<ip> entries are skipped. */
static void print_usage(const struct res_set *total, const struct res_set *avail)
{
    for (size_t i = 0; i < total->n; i++) {
        const char *name = total->e[i].name;
        if (strncmp(name, "node:", 5) == 0)
            continue;
        int64_t used = total->e[i].amount - res_get(avail, name);
        if (used < 0)
            used = 0;
        print_usage_line(name, used, total->e[i].amount);
    }
}

/* Each node keeps its pending demands in <p>demands:<node> (written by its
 * scheduler, docs/gcs.md): lines "SHAPE<TAB>COUNT<TAB>infeasible|pending|cap:N".
 * Returns how many lines it printed. */
static int print_demands(struct gcs_sync *gs, const char *node_hex)
{
    char key[256];
    snprintf(key, sizeof key, "%sdemands:%s", gcs_sync_prefix(gs), node_hex);
    struct gcs_reply *r = gcs_sync_command(gs, "GET %s", key);
    int shown = 0;
    size_t len = 0;
    const char *s = gcs_reply_type(r) == GCS_REPLY_STRING ? gcs_reply_str(r, &len) : NULL;
    while (s && len > 0) {
        const char *nl = memchr(s, '\n', len);
        size_t ll = nl ? (size_t)(nl - s) : len;
        char line[512], shape[400], kind[32];
        long count = 0;
        snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), s);
        int cap = 0;
        /* SHAPE may be empty (a zero-CPU actor): split at the tabs */
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1 && t2) {
            snprintf(shape, sizeof shape, "%.*s", (int)(t1 - line), line);
            count = strtol(t1 + 1, NULL, 10);
            snprintf(kind, sizeof kind, "%s", t2 + 1);
            if (strcmp(kind, "infeasible") == 0)
                printf(" {%s}: %ld (infeasible: no node can ever run it)\n", shape, count);
            else if (sscanf(kind, "cap:%d", &cap) == 1)
                printf(" {%s}: %ld pending (no worker: node %.8s runs its cap of %d worker "
                       "processes)\n", shape, count, node_hex, cap);
            else
                printf(" {%s}: %ld pending\n", shape, count);
            shown++;
        }
        if (!nl)
            break;
        len -= ll + 1;
        s = nl + 1;
    }
    gcs_reply_free(r);
    return shown;
}

/* The autoscaler's lines of KIND ("pending", "failed", "unmet") in
 * <p>autoscaler, printed as Ray prints them. Returns how many. */
static int print_autoscaler(struct gcs_sync *gs, const char *kind)
{
    struct gcs_reply *r = gcs_sync_command(gs, "GET %sautoscaler", gcs_sync_prefix(gs));
    size_t len = 0, kl = strlen(kind);
    const char *s = gcs_reply_type(r) == GCS_REPLY_STRING ? gcs_reply_str(r, &len) : NULL;
    int shown = 0;
    while (s && len > 0) {
        const char *nl = memchr(s, '\n', len);
        size_t ll = nl ? (size_t)(nl - s) : len;
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), s);
        char *f[5] = { NULL };
        int nf = 0;
        for (char *p = line; p && nf < 5; nf++) {
            f[nf] = p;
            p = nf < 4 ? strchr(p, '\t') : NULL;
            if (p)
                *p++ = '\0';
        }
        if (ll > kl && strncmp(s, kind, kl) == 0 && s[kl] == '\t') {
            if (strcmp(kind, "pending") == 0 && nf == 5)
                printf(" %s: %s, %s (%s)\n", f[1], f[2], f[3], f[4]);
            else if (strcmp(kind, "failed") == 0 && nf >= 4)
                printf(" %s (LaunchFailed %s s ago: %s)\n", f[1], f[2], f[3]);
            else if (strcmp(kind, "unmet") == 0 && nf >= 3)
                printf(" {%s}: the autoscaler cannot add a node for it: %s\n", f[1], f[2]);
            shown++;
        }
        if (!nl)
            break;
        len -= ll + 1;
        s = nl + 1;
    }
    gcs_reply_free(r);
    return shown;
}

int cli_status(int argc, char **argv)
{
    struct cli_target tg = { 0 };
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        int r = cli_target_option("status", &tg, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: ray status [-v] [--address HOST:PORT] [--temp-dir DIR] [--token SECRET]\n\n"
                   "Show the cluster's nodes, resources used/total and resource demands.\n\n"
                   "Options:\n"
                   "  -v, --verbose        also each node's activity: running tasks by name,\n"
                   "                       actors, objects and their bytes\n" CLI_TARGET_HELP);
            return 0;
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = true;
            continue;
        }
        return cli_error("status", "unknown option %s (see ray status --help)", argv[i]);
    }
    char token[256];
    struct gcs_node *nodes;
    size_t n;
    struct gcs_sync *gs = cli_gcs_nodes("status", &tg, token, sizeof token, &nodes, &n);
    if (gs == NULL)
        return 1;

    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    printf("======== Cluster status: %s ========\n", ts);
    printf("Node status\n---------------------------------------------------------------\n");
    size_t alive = 0, dead = 0;
    for (size_t i = 0; i < n; i++)
        strcmp(nodes[i].state, "ALIVE") == 0 ? alive++ : dead++;
    printf("Active:\n");
    if (alive == 0)
        printf(" (no active nodes)\n");
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].state, "ALIVE") == 0)
            printf(" 1 node_%s  %s:%d%s\n", nodes[i].node_id, nodes[i].address, nodes[i].port,
                   nodes[i].is_head ? "  (head)" : "");
    printf("Dead:\n");
    if (dead == 0)
        printf(" (no dead nodes)\n");
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].state, "ALIVE") != 0)
            printf(" 1 node_%s  %s:%d  %s\n", nodes[i].node_id, nodes[i].address, nodes[i].port,
                   nodes[i].death_reason);
    printf("Pending:\n");
    if (print_autoscaler(gs, "pending") == 0)
        printf(" (no pending nodes)\n");
    printf("Recent failures:\n");
    if (print_autoscaler(gs, "failed") == 0)
        printf(" (no failures)\n");

    /* per alive node, and the totals over them */
    struct res_set total = RES_SET_INIT, avail = RES_SET_INIT;
    struct res_set *tot = xcalloc(n ? n : 1, sizeof *tot), *av = xcalloc(n ? n : 1, sizeof *av);
    bool *ok = xcalloc(n ? n : 1, sizeof *ok);
    for (size_t i = 0; i < n; i++) {
        char e[128];
        ok[i] = strcmp(nodes[i].state, "ALIVE") == 0 &&
                res_parse(&tot[i], nodes[i].resources_total, e, sizeof e) == 0 &&
                res_parse(&av[i], nodes[i].resources_available, e, sizeof e) == 0;
        if (ok[i]) {
            res_add(&total, &tot[i]);
            res_add(&avail, &av[i]);
        }
    }
    printf("\nResources\n---------------------------------------------------------------\n");
    printf("Usage:\n");
    print_usage(&total, &avail);
    for (size_t i = 0; i < n; i++) {
        if (ok[i]) {
            printf("\nnode_%s (%s):\n", nodes[i].node_id, nodes[i].address);
            print_usage(&tot[i], &av[i]);
            if (verbose)
                cli_status_activity(&nodes[i], token); /* memory.c */
        }
        res_free(&tot[i]);
        res_free(&av[i]);
    }
    free(tot);
    free(av);
    free(ok);
    res_free(&total);
    res_free(&avail);

    printf("\nDemands:\n");
    int shown = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].state, "ALIVE") == 0)
            shown += print_demands(gs, nodes[i].node_id);
    if (shown == 0)
        printf(" (no resource demands)\n");
    (void)print_autoscaler(gs, "unmet"); /* under the demands they are about */
    gcs_node_array_free(nodes, n);
    gcs_sync_free(gs);
    return 0;
}
