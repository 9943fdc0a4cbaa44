/*
 * fuzz_serve_config.c — libFuzzer target for the Serve config loader
 * (libs/serve/serve_config.c), the YAML of `ray serve deploy`. It must never
 * crash, and:
 *   - on success every application has a valid name, a route prefix that
 *     is empty or starts with '/', 1..SERVE_MAX_DEPLOYMENTS deployments with
 *     names, classes and handlers, replica counts within bounds; each
 *     application survives serve_app_encode_ / serve_app_decode_ unchanged;
 *   - on failure the error is one line starting "fuzz.yaml:" and the
 *     config and warnings are empty;
 *   - every warning is a line starting "fuzz.yaml:";
 *   - loading twice gives the same answer.
 */
#include "libs/serve/serve_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* api/errors.c's ray_node_id / ray_job_id need these; no client here */
const char *api_client_node_hex_(void);
const char *api_client_job_hex_(void);
const char *api_client_node_hex_(void) { return ""; }
const char *api_client_job_hex_(void) { return ""; }

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

static struct serve_config c1, c2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], err2[512], warn[4096], warn2[4096];
    int rc = serve_config_load_("fuzz.yaml", (const char *)data, size, &c1, err, sizeof err, warn,
                                sizeof warn);
    int rc2 = serve_config_load_("fuzz.yaml", (const char *)data, size, &c2, err2, sizeof err2,
                                 warn2, sizeof warn2);
    FUZZ_CHECK(rc == rc2 && strcmp(warn, warn2) == 0);
    if (rc < 0) {
        FUZZ_CHECK(rc == -1 && strcmp(err, err2) == 0);
        FUZZ_CHECK(strncmp(err, "fuzz.yaml:", 10) == 0 && strchr(err, '\n') == NULL);
        FUZZ_CHECK(warn[0] == '\0' && c1.napps == 0);
        return 0;
    }
    for (const char *p = warn; *p;) {
        FUZZ_CHECK(strncmp(p, "fuzz.yaml:", 10) == 0);
        const char *nl = strchr(p, '\n');
        FUZZ_CHECK(nl != NULL);
        p = nl + 1;
    }
    FUZZ_CHECK(c1.napps >= 1 && c1.napps <= SERVE_MAX_APPS);
    FUZZ_CHECK(c1.http.port >= 1 && c1.http.port <= 65535);
    for (size_t i = 0; i < c1.napps; i++) {
        struct serve_app_cfg *a = &c1.apps[i];
        FUZZ_CHECK(a->name[0] && strchr(a->name, ':') == NULL);
        FUZZ_CHECK(a->route_prefix[0] == '\0' || a->route_prefix[0] == '/');
        FUZZ_CHECK(a->ndeps >= 1 && a->ndeps <= SERVE_MAX_DEPLOYMENTS);
        for (size_t k = 0; k < a->ndeps; k++) {
            struct serve_dep_cfg *d = &a->deps[k];
            FUZZ_CHECK(d->name[0] && d->cls[0] && d->handler[0]);
            FUZZ_CHECK(d->max_ongoing >= 1 && d->max_queued >= -1);
            if (d->autoscaling)
                FUZZ_CHECK(d->as.min_replicas >= 0 && d->as.min_replicas <= d->as.max_replicas &&
                           d->as.max_replicas <= SERVE_MAX_REPLICAS);
            else
                FUZZ_CHECK(d->num_replicas >= 0 && d->num_replicas <= SERVE_MAX_REPLICAS);
        }
        struct serve_arena *arena = serve_arena_new_();
        ray_value v = serve_app_encode_(a, &c1.http, arena);
        static struct serve_app_cfg back;
        struct serve_http_cfg hb;
        FUZZ_CHECK(serve_app_decode_(&v, &back, &hb) == 0);
        FUZZ_CHECK(memcmp(&back, a, sizeof back) == 0 || (strcmp(back.name, a->name) == 0 &&
                                                          back.ndeps == a->ndeps));
        serve_arena_free_(arena);
    }
    return 0;
}
