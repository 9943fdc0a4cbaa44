/*
 * fuzz_launcher_config.c — libFuzzer target for the cluster YAML loader
 * (launcher/config.c; see docs/fuzzing.md). Each input is a cluster config
 * as a user could write it. The loader must never crash, and:
 *   - on success the config is complete: cluster_name and provider.type set,
 *     the provider one of local/gcp/azure, a local one has head_ip, every
 *     list holds non-NULL strings, start commands are filled in;
 *   - on failure the error is exactly one line starting "fuzz.yaml:LINE: ",
 *     no warning is left behind, and the config is empty;
 *   - every warning is one line starting "fuzz.yaml:".
 * Parsing twice gives the same result (no hidden state).
 */
#include "common/buf.h"
#include "launcher/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

static void check_lines(const struct buf *w)
{
    size_t i = 0;
    while (i < w->len) {
        FUZZ_CHECK(w->len - i > 10 && memcmp(w->data + i, "fuzz.yaml:", 10) == 0);
        const char *nl = memchr(w->data + i, '\n', w->len - i);
        FUZZ_CHECK(nl != NULL);
        i = (size_t)(nl - w->data) + 1;
    }
}

static void check_strv(const struct launch_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        FUZZ_CHECK(v->v[i] != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct launch_config c, c2;
    struct buf w = BUF_INIT, w2 = BUF_INIT;
    char err[1024], err2[1024];
    int rc = launch_config_parse(&c, "fuzz.yaml", (const char *)data, size, &w, err, sizeof err);
    int rc2 = launch_config_parse(&c2, "fuzz.yaml", (const char *)data, size, &w2, err2, sizeof err2);
    FUZZ_CHECK(rc == rc2);
    FUZZ_CHECK(w.len == w2.len && (w.len == 0 || memcmp(w.data, w2.data, w.len) == 0));
    if (rc == 0) {
        FUZZ_CHECK(c.cluster_name && c.provider_type);
        FUZZ_CHECK(strcmp(c.provider_type, "local") == 0 || strcmp(c.provider_type, "gcp") == 0 ||
                   strcmp(c.provider_type, "azure") == 0);
        FUZZ_CHECK(strcmp(c.provider_type, "local") != 0 || (c.head_ip && *c.head_ip));
        FUZZ_CHECK(c.head_start_given || c.head_start_ray_commands.n == 2);
        FUZZ_CHECK(c.worker_start_given || c.worker_start_ray_commands.n == 2);
        FUZZ_CHECK(c.min_workers < 0 || c.max_workers < 0 || c.min_workers <= c.max_workers);
        struct launch_strv *lists[] = { &c.worker_ips, &c.cluster_synced_files, &c.rsync_exclude,
                                        &c.rsync_filter, &c.initialization_commands,
                                        &c.setup_commands, &c.head_setup_commands,
                                        &c.worker_setup_commands, &c.head_start_ray_commands,
                                        &c.worker_start_ray_commands };
        for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
            check_strv(lists[i]);
        for (size_t i = 0; i < c.nmounts; i++)
            FUZZ_CHECK(c.mounts[i].remote && c.mounts[i].local);
        /* node types: always some (Ray's defaults when none), the head's among them */
        FUZZ_CHECK(c.ntypes > 0 && c.head_node_type && launch_node_type_find(&c, c.head_node_type));
        for (size_t i = 0; i < c.ntypes; i++) {
            const struct launch_node_type *t = &c.types[i];
            FUZZ_CHECK(t->name && (t->max_workers < 0 || t->min_workers <= t->max_workers));
            FUZZ_CHECK(t->resources == NULL || *t->resources);
            check_strv(&t->node_config);
            check_strv(&t->worker_ips);
            FUZZ_CHECK(t->node_config.n <= 256);
        }
        check_lines(&w);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(strcmp(err, err2) == 0);
        FUZZ_CHECK(strncmp(err, "fuzz.yaml:", 10) == 0 && strchr(err, '\n') == NULL);
        FUZZ_CHECK(w.len == 0);
        FUZZ_CHECK(c.cluster_name == NULL && c.nmounts == 0 && c.worker_ips.n == 0);
    }
    launch_config_free(&c);
    launch_config_free(&c2);
    buf_free(&w);
    buf_free(&w2);
    return 0;
}
