/*
 * status.c — the text of `ray status` (state.h), also the dashboard's
 * cluster status: the cluster's nodes (alive and dead),
 * resources used/total per node and in total, and the demands that are
 * pending or that no node can ever meet, in a layout close to Ray's; with
 * an autoscaler (launcher/autoscaler.c), also its launching ("Pending")
 * and recently failed nodes and why, from <p>autoscaler (docs/gcs.md).
 */
#include "state/state.h"
#include "state/state_internal.h"

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

void state_fmt_bytes(double bytes, char *out, size_t outlen)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%.0f%s", bytes, units[u]);
    else
        snprintf(out, outlen, "%.2f%s", bytes, units[u]);
}

static void print_usage_line(FILE *out, const char *name, int64_t used, int64_t total,
                             int64_t reserved, int64_t pg_free)
{
    double u = (double)used / RES_SCALE, t = (double)total / RES_SCALE;
    if (reserved > 0) {
        int64_t pu = reserved - pg_free;
        if (pu < 0)
            pu = 0;
        fprintf(out, " %.1f/%.1f %s (%.1f used of %.1f reserved in placement groups)\n", u, t,
                name, (double)pu / RES_SCALE, (double)reserved / RES_SCALE);
        return;
    }
    if (strcmp(name, RES_MEMORY) == 0 || strcmp(name, RES_OBJECT_STORE_MEMORY) == 0) {
        char a[32], b[32];
        state_fmt_bytes(u, a, sizeof a);
        state_fmt_bytes(t, b, sizeof b);
        fprintf(out, " %s/%s %s\n", a, b, name);
    } else {
        fprintf(out, " %.1f/%.1f %s\n", u, t, name);
    }
}

/* used = total - available, per resource of TOTAL. node:<ip> entries are skipped. */
static void print_usage(FILE *out, const struct res_set *total, const struct res_set *avail,
                        const struct res_set *reserved)
{
    struct res_set pgfree = RES_SET_INIT;
    state_pg_free_(avail, &pgfree);
    for (size_t i = 0; i < total->n; i++) {
        const char *name = total->e[i].name;
        if (strncmp(name, "node:", 5) == 0)
            continue;
        int64_t used = total->e[i].amount - res_get(avail, name);
        if (used < 0)
            used = 0;
        print_usage_line(out, name, used, total->e[i].amount, res_get(reserved, name),
                         res_get(&pgfree, name));
    }
    res_free(&pgfree);
}

/* Each node keeps its pending demands in <p>demands:<node> (written by its
 * scheduler, docs/gcs.md): lines "SHAPE<TAB>COUNT<TAB>infeasible|pending|cap:N".
 * Returns how many lines it printed. */
static int print_demands(FILE *out, struct gcs_sync *gs, const char *node_hex)
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
                fprintf(out, " {%s}: %ld (infeasible: no node can ever run it)\n", shape, count);
            else if (sscanf(kind, "cap:%d", &cap) == 1)
                fprintf(out, " {%s}: %ld pending (no worker: node %.8s runs its cap of %d worker "
                       "processes)\n", shape, count, node_hex, cap);
            else
                fprintf(out, " {%s}: %ld pending\n", shape, count);
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
static int print_autoscaler(FILE *out, struct gcs_sync *gs, const char *kind)
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
                fprintf(out, " %s: %s, %s (%s)\n", f[1], f[2], f[3], f[4]);
            else if (strcmp(kind, "failed") == 0 && nf >= 4)
                fprintf(out, " %s (LaunchFailed %s s ago: %s)\n", f[1], f[2], f[3]);
            else if (strcmp(kind, "unmet") == 0 && nf >= 3)
                fprintf(out, " {%s}: the autoscaler cannot add a node for it: %s\n", f[1], f[2]);
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

void state_status_report(FILE *out, struct gcs_sync *gs, const struct gcs_node *nodes, size_t n,
                         void (*per_node)(const struct gcs_node *nd, void *arg), void *arg)
{

    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(out, "======== Cluster status: %s ========\n", ts);
    fprintf(out, "Node status\n---------------------------------------------------------------\n");
    size_t alive = 0, dead = 0;
    for (size_t i = 0; i < n; i++)
        strcmp(nodes[i].state, "ALIVE") == 0 ? alive++ : dead++;
    fprintf(out, "Active:\n");
    if (alive == 0)
        fprintf(out, " (no active nodes)\n");
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].state, "ALIVE") == 0)
            fprintf(out, " 1 node_%s  %s:%d%s\n", nodes[i].node_id, nodes[i].address, nodes[i].port,
                   nodes[i].is_head ? "  (head)" : "");
    fprintf(out, "Dead:\n");
    if (dead == 0)
        fprintf(out, " (no dead nodes)\n");
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].state, "ALIVE") != 0)
            fprintf(out, " 1 node_%s  %s:%d  %s\n", nodes[i].node_id, nodes[i].address, nodes[i].port,
                   nodes[i].death_reason);
    fprintf(out, "Pending:\n");
    if (print_autoscaler(out, gs, "pending") == 0)
        fprintf(out, " (no pending nodes)\n");
    fprintf(out, "Recent failures:\n");
    if (print_autoscaler(out, gs, "failed") == 0)
        fprintf(out, " (no failures)\n");

    /* per alive node, and the totals over them */
    struct res_set total = RES_SET_INIT, avail = RES_SET_INIT;
    struct res_set *tot = xcalloc(n ? n : 1, sizeof *tot), *av = xcalloc(n ? n : 1, sizeof *av);
    bool *ok = xcalloc(n ? n : 1, sizeof *ok);
    struct res_set *rsv = xcalloc(n ? n : 1, sizeof *rsv), rsv_all = RES_SET_INIT;
    state_pg_reserved_(gs, nodes, n, rsv);
    for (size_t i = 0; i < n; i++) {
        char e[128];
        ok[i] = strcmp(nodes[i].state, "ALIVE") == 0 &&
                res_parse(&tot[i], nodes[i].resources_total, e, sizeof e) == 0 &&
                res_parse(&av[i], nodes[i].resources_available, e, sizeof e) == 0;
        if (ok[i]) {
            res_add(&total, &tot[i]);
            res_add(&avail, &av[i]);
            res_add(&rsv_all, &rsv[i]);
        }
    }
    fprintf(out, "\nResources\n---------------------------------------------------------------\n");
    fprintf(out, "Usage:\n");
    print_usage(out, &total, &avail, &rsv_all);
    for (size_t i = 0; i < n; i++) {
        if (ok[i]) {
            fprintf(out, "\nnode_%s (%s):\n", nodes[i].node_id, nodes[i].address);
            print_usage(out, &tot[i], &av[i], &rsv[i]);
            if (per_node)
                per_node(&nodes[i], arg);
        }
        res_free(&tot[i]);
        res_free(&av[i]);
        res_free(&rsv[i]);
    }
    free(rsv);
    res_free(&rsv_all);
    free(tot);
    free(av);
    free(ok);
    res_free(&total);
    res_free(&avail);

    fprintf(out, "\nDemands:\n");
    int shown = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].state, "ALIVE") == 0)
            shown += print_demands(out, gs, nodes[i].node_id);
    if (shown == 0)
        fprintf(out, " (no resource demands)\n");
    (void)print_autoscaler(out, gs, "unmet"); /* under the demands they are about */
    state_pg_pending_(out, gs);
}
