/*
 * memory.c — `ray memory [--group-by node|job] [--sort-by size]`: the objects
 * each live node holds, as it knows them (NODE_STATS, runtime/observe.c):
 * size, where (shared memory or spilled), pins, reference type and call
 * site, with totals per node. Also the per-node activity block of
 * `ray status -v` (running tasks by name, actors, objects and their bytes).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem_obj {
    char id[41];
    uint64_t size, pins;
    char where[16], ref[32], site[16];
    size_t node;
};

struct node_stats {
    bool ok;
    uint64_t capacity, used, spilled, nobjects, queued;
    struct buf raw;        /* the NODE_STATS map */
};

/* Ask node ND for its stats, with at most MAX_OBJECTS objects listed. */
static int stats_fetch(const struct gcs_node *nd, const char *token, uint64_t max_objects,
                       struct node_stats *st, char *err, size_t errlen)
{
    struct cli_node_conn nc;
    memset(st, 0, sizeof *st);
    if (cli_node_open(&nc, nd, token, err, errlen) < 0)
        return -1;
    struct buf f = BUF_INIT;
    proto_pack(&f, PROTO_NODE_STATS_REQ, (uint64_t)1, max_objects);
    cli_node_send(&nc, &f);
    buf_free(&f);
    struct proto_msg m;
    int r;
    while ((r = cli_node_next(&nc, &m, 10000)) == 1 && m.type != PROTO_NODE_STATS)
        ;
    if (r != 1) {
        snprintf(err, errlen, "node %.8s did not answer", nd->node_id);
        cli_node_close(&nc);
        return -1;
    }
    buf_append(&st->raw, m.f[1].as.s.ptr, m.f[1].as.s.len);
    cli_node_close(&nc);
    st->ok = true;
    return 0;
}

/* Walk the stats map: numbers into ST, and each array KEY's rows to FN. */
typedef void (*row_fn)(void *arg, struct mpr *r, uint32_t nfields);
static void stats_walk(struct node_stats *st, const char *key, row_fn fn, void *arg)
{
    struct mpr r;
    uint32_t n;
    mpr_init(&r, st->raw.data, st->raw.len);
    if (mpr_map(&r, &n) < 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        size_t kl;
        if (mpr_str(&r, &k, &kl) < 0)
            return;
        uint64_t *num = NULL;
#define IS(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
        if (IS("store_capacity"))
            num = &st->capacity;
        else if (IS("store_used"))
            num = &st->used;
        else if (IS("spilled_bytes"))
            num = &st->spilled;
        else if (IS("num_objects"))
            num = &st->nobjects;
        else if (IS("queued"))
            num = &st->queued;
        if (num) {
            if (mpr_uint(&r, num) < 0)
                return;
            continue;
        }
        if (key && kl == strlen(key) && memcmp(k, key, kl) == 0) {
            uint32_t rows;
            if (mpr_array(&r, &rows) < 0)
                return;
            for (uint32_t j = 0; j < rows; j++) {
                uint32_t nf;
                if (mpr_array(&r, &nf) < 0)
                    return;
                struct mpr save = r;
                fn(arg, &r, nf);
                r = save;
                for (uint32_t q = 0; q < nf; q++)
                    if (mpr_skip(&r) < 0)
                        return;
            }
            continue;
        }
#undef IS
        if (mpr_skip(&r) < 0)
            return;
    }
}

static void rd_str(struct mpr *r, char *out, size_t outlen)
{
    const char *s;
    size_t l;
    if (mpr_str(r, &s, &l) < 0) {
        out[0] = '\0';
        mpr_skip(r);
        return;
    }
    snprintf(out, outlen, "%.*s", (int)l, s);
}

struct obj_list {
    struct mem_obj *v;
    size_t n, cap, node;
};

static void obj_row(void *arg, struct mpr *r, uint32_t nf)
{
    struct obj_list *l = arg;
    if (nf < 6)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
    }
    struct mem_obj *o = &l->v[l->n];
    rd_str(r, o->id, sizeof o->id);
    mpr_uint(r, &o->size);
    rd_str(r, o->where, sizeof o->where);
    mpr_uint(r, &o->pins);
    rd_str(r, o->ref, sizeof o->ref);
    rd_str(r, o->site, sizeof o->site);
    o->node = l->node;
    l->n++;
}

static int by_size(const void *a, const void *b)
{
    const struct mem_obj *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : strcmp(x->id, y->id);
}

static int by_job(const void *a, const void *b)
{
    const struct mem_obj *x = a, *y = b;
    int c = strncmp(x->id, y->id, 8);
    return c ? c : (x->node < y->node ? -1 : x->node > y->node);
}

static void print_header(void)
{
    printf(" %-40s  %14s  %-13s  %4s  %-20s  %-10s  %s\n", "OBJECT_ID", "SIZE", "WHERE", "PINS",
           "REFERENCE_TYPE", "CALL_SITE", "NODE");
}

static void print_obj(const struct mem_obj *o, const struct gcs_node *nodes)
{
    char sz[32];
    snprintf(sz, sizeof sz, "%llu B", (unsigned long long)o->size);
    printf(" %-40s  %14s  %-13s  %4llu  %-20s  %-10s  %.8s\n", o->id, sz,
           strcmp(o->where, "spilled") == 0 ? "spilled" : "shared memory",
           (unsigned long long)o->pins, o->ref, o->site, nodes[o->node].node_id);
}

int cli_memory(int argc, char **argv)
{
    struct cli_target tg = { 0 };
    bool group_job = false, sort_size = false;
    for (int i = 1; i < argc; i++) {
        int r = cli_target_option("memory", &tg, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: ray memory [--group-by node|job] [--sort-by size] [--address HOST:PORT]\n"
                   "                  [--temp-dir DIR] [--token SECRET]\n\n"
                   "The objects each live node holds: size, where (shared memory or spilled),\n"
                   "pins, reference type and call site, and totals per node.\n\n"
                   "Options:\n"
                   "  --group-by node|job  group the objects by node [default] or by job\n"
                   "  --sort-by size       largest first\n" CLI_TARGET_HELP);
            return 0;
        } else if (strcmp(a, "--group-by") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "job") == 0)
                group_job = true;
            else if (strcmp(v, "node") != 0) {
                cli_error("memory", "--group-by takes node or job (got '%s')", v);
                return 2;
            }
        } else if (strcmp(a, "--sort-by") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "size") != 0) {
                cli_error("memory", "--sort-by takes size (got '%s')", v);
                return 2;
            }
            sort_size = true;
        } else {
            cli_error("memory", "unknown option %s (see ray memory --help)", a);
            return 2;
        }
    }
    char err[512], token[256];
    struct gcs_node *nodes;
    size_t n;
    struct gcs_sync *gs = cli_gcs_nodes("memory", &tg, token, sizeof token, &nodes, &n);
    if (gs == NULL)
        return 1;
    struct node_stats *st = xcalloc(n ? n : 1, sizeof *st);
    struct obj_list all = { 0 };
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(nodes[i].state, "ALIVE") != 0)
            continue;
        if (stats_fetch(&nodes[i], token, 100000, &st[i], err, sizeof err) < 0) {
            fprintf(stderr, "ray memory: %s\n", err);
            rc = 1;
            continue;
        }
        all.node = i;
        stats_walk(&st[i], "objects", obj_row, &all);
    }
    if (sort_size)
        qsort(all.v, all.n, sizeof *all.v, by_size);
    if (group_job) {
        if (!sort_size)
            qsort(all.v, all.n, sizeof *all.v, by_job);
        else {
            /* stable by job, sizes kept in order within each */
            for (size_t i = 1; i < all.n; i++)
                for (size_t j = i; j > 0 && strncmp(all.v[j - 1].id, all.v[j].id, 8) > 0; j--) {
                    struct mem_obj t = all.v[j];
                    all.v[j] = all.v[j - 1];
                    all.v[j - 1] = t;
                }
        }
        for (size_t i = 0; i < all.n;) {
            size_t j = i;
            uint64_t bytes = 0;
            while (j < all.n && strncmp(all.v[j].id, all.v[i].id, 8) == 0)
                bytes += all.v[j++].size;
            char b[32];
            state_fmt_bytes((double)bytes, b, sizeof b);
            printf("======== job %.8s: %zu objects, %s ========\n", all.v[i].id, j - i, b);
            print_header();
            for (size_t k = i; k < j; k++)
                print_obj(&all.v[k], nodes);
            printf("\n");
            i = j;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!st[i].ok)
            continue;
        if (!group_job) {
            printf("======== node %s  %s%s ========\n", nodes[i].node_id, nodes[i].address,
                   nodes[i].is_head ? "  (head)" : "");
            print_header();
            for (size_t k = 0; k < all.n; k++)
                if (all.v[k].node == i)
                    print_obj(&all.v[k], nodes);
        }
        char used[32], capb[32], sp[32];
        state_fmt_bytes((double)st[i].used, used, sizeof used);
        state_fmt_bytes((double)st[i].capacity, capb, sizeof capb);
        state_fmt_bytes((double)st[i].spilled, sp, sizeof sp);
        printf("%sTotal on node %.8s: %llu objects, %s of %s shared memory used, %s spilled\n\n",
               group_job ? "" : " ", nodes[i].node_id, (unsigned long long)st[i].nobjects, used,
               capb, sp);
    }
    for (size_t i = 0; i < n; i++)
        buf_free(&st[i].raw);
    free(st);
    free(all.v);
    gcs_node_array_free(nodes, n);
    gcs_sync_free(gs);
    return rc;
}

/* ---- ray status -v ------------------------------------------------------------- */

struct name_count {
    char name[128];
    char extra[16];
    int n;
};

struct counts {
    struct name_count *v;
    size_t n, cap;
};

static void count_add(struct counts *c, const char *name, const char *extra)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0 && strcmp(c->v[i].extra, extra) == 0) {
            c->v[i].n++;
            return;
        }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
    }
    snprintf(c->v[c->n].name, sizeof c->v[c->n].name, "%s", name);
    snprintf(c->v[c->n].extra, sizeof c->v[c->n].extra, "%s", extra);
    c->v[c->n++].n = 1;
}

static void running_row(void *arg, struct mpr *r, uint32_t nf)
{
    char id[48], name[128];
    if (nf < 2)
        return;
    rd_str(r, id, sizeof id);
    rd_str(r, name, sizeof name);
    count_add(arg, name, "");
}

static void actor_row(void *arg, struct mpr *r, uint32_t nf)
{
    char id[48], cls[128], state[16];
    if (nf < 3)
        return;
    rd_str(r, id, sizeof id);
    rd_str(r, cls, sizeof cls);
    rd_str(r, state, sizeof state);
    if (strcmp(state, "DEAD") != 0)
        count_add(arg, cls, state);
}

void cli_status_activity(const struct gcs_node *nd, const char *token)
{
    struct node_stats st;
    char err[512];
    if (stats_fetch(nd, token, 0, &st, err, sizeof err) < 0) {
        printf(" (activity unknown: %s)\n", err);
        return;
    }
    struct counts run = { 0 }, act = { 0 };
    stats_walk(&st, "running", running_row, &run);
    stats_walk(&st, "actors", actor_row, &act);
    int total = 0;
    for (size_t k = 0; k < run.n; k++)
        total += run.v[k].n;
    printf(" Activity:\n");
    printf("  Running tasks: %d%s\n", total, total ? "" : " (idle)");
    for (size_t k = 0; k < run.n; k++)
        printf("   %d %s\n", run.v[k].n, run.v[k].name);
    printf("  Queued tasks: %llu\n", (unsigned long long)st.queued);
    total = 0;
    for (size_t k = 0; k < act.n; k++)
        total += act.v[k].n;
    printf("  Actors: %d\n", total);
    for (size_t k = 0; k < act.n; k++)
        printf("   %d %s (%s)\n", act.v[k].n, act.v[k].name, act.v[k].extra);
    char used[32], sp[32];
    state_fmt_bytes((double)st.used, used, sizeof used);
    state_fmt_bytes((double)st.spilled, sp, sizeof sp);
    printf("  Objects: %llu (%s in shared memory, %s spilled)\n", (unsigned long long)st.nobjects,
           used, sp);
    free(run.v);
    free(act.v);
    buf_free(&st.raw);
}
