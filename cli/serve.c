/*
 * serve.c — `ray serve deploy JOB.so CONFIG.yaml`, `ray serve status`,
 * `ray serve delete NAME` (docs/serve.md). The CLI connects as a driver of
 * the job library (ray_init) and does what ray_serve.h does; the YAML is
 * Ray's Serve config (libs/serve/serve_config.c). The head's IP (for the
 * HeadOnly proxy) and every live node's (EveryNode) come from the node table.
 */
#include "cli/cli.h"

#include "common/netutil.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "libs/serve/serve_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int serve_usage(FILE *fp)
{
    fprintf(fp, "usage: ray serve deploy JOB.so CONFIG.yaml [options]\n"
                "       ray serve status [options]\n"
                "       ray serve delete NAME [options]\n\n"
                "Serve: HTTP endpoints backed by actor replicas (docs/serve.md).\n"
                "  deploy   deploy the applications of CONFIG.yaml (Ray's Serve config) with the\n"
                "           actor classes of JOB.so; replaces applications of the same names\n"
                "  status   applications, deployments, replicas, requests\n"
                "  delete   stop application NAME (ongoing requests finish first)\n\n"
                "options:\n" CLI_TARGET_HELP);
    return fp == stdout ? 0 : 2;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            if (cap > (2u << 20)) /* over the loader's limit: it says so */
                break;
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b)
        *len = n;
    return b;
}

/* ray_init as a driver of LIBRARY (may be NULL) on T's cluster; fills the
 * node IPs (head first) when IPS is not NULL. Returns 0 or 1 after the error. */
static int serve_connect(const char *cmd, const struct cli_target *t, const char *library,
                         char ips[][64], size_t *nips)
{
    char token[256], host[256], err[256];
    int port;
    bool local;
    struct gcs_node *nodes;
    size_t n;
    struct gcs_sync *gs = cli_gcs_nodes(cmd, t, token, sizeof token, &nodes, &n);
    if (gs == NULL)
        return 1;
    if (nips) {
        *nips = 0;
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < n && *nips < SERVE_MAX_PROXIES; i++) {
                if (strcmp(nodes[i].state, "ALIVE") != 0 || nodes[i].is_head != (pass == 0))
                    continue;
                char h[256];
                int p;
                if (net_parse_hostport(nodes[i].address, h, sizeof h, &p, err, sizeof err) < 0)
                    snprintf(h, sizeof h, "%s", nodes[i].address);
                snprintf(ips[(*nips)++], 64, "%.63s", h);
            }
    }
    gcs_node_array_free(nodes, n);
    gcs_sync_free(gs);
    if (cli_resolve_address(t, host, sizeof host, &port, &local, err, sizeof err) < 0)
        return cli_error(cmd, "%s", err);
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    ray_config cfg = { .address = addr, .library = library, .token = token };
    int rc = ray_init(&cfg);
    if (rc != RAY_OK)
        return cli_error(cmd, "%s: %s", ray_strerror(rc), ray_last_error());
    return 0;
}

static int serve_deploy_cmd(const struct cli_target *t, const char *job, const char *yaml)
{
    const char *cmd = "serve deploy";
    size_t len = 0;
    char *text = read_file(yaml, &len);
    if (text == NULL)
        return cli_error(cmd, "cannot read %s: %s", yaml, strerror(errno));
    struct serve_config *c = calloc(1, sizeof *c);
    char err[512], warn[4096];
    if (c == NULL) {
        free(text);
        return cli_error(cmd, "out of memory");
    }
    int rc = serve_config_load_(yaml, text, len, c, err, sizeof err, warn, sizeof warn);
    free(text);
    if (rc < 0) {
        free(c);
        return cli_error(cmd, "%s", err);
    }
    if (warn[0])
        fprintf(stderr, "%s", warn);
    char ips[SERVE_MAX_PROXIES][64];
    size_t nips = 0;
    if (serve_connect(cmd, t, job, ips, &nips) != 0) {
        free(c);
        return 1;
    }
    const char *ipv[SERVE_MAX_PROXIES];
    for (size_t i = 0; i < nips; i++)
        ipv[i] = ips[i];
    int status = 0;
    struct serve_http_cfg where = c->http; /* where the proxy listens */
    for (size_t i = 0; i < c->napps; i++) {
        rc = serve_deploy_(&c->apps[i], &c->http, ipv, nips, &where);
        if (rc != RAY_OK) {
            status = cli_error(cmd, "%s", ray_last_error());
            break;
        }
        printf("deployed application %s at %s (%zu deployments)\n", c->apps[i].name,
               c->apps[i].route_prefix[0] ? c->apps[i].route_prefix : "(no route)",
               c->apps[i].ndeps);
    }
    if (status == 0 && c->http.location != RAY_SERVE_NO_PROXY)
        printf("proxy: http://%s:%d/\n",
               c->http.location == RAY_SERVE_EVERY_NODE || !strcmp(where.host, "0.0.0.0")
                   ? (nips ? ips[0] : where.host) : where.host,
               where.port);
    free(c);
    ray_shutdown();
    return status;
}

int cli_serve(int argc, char **argv)
{
    struct cli_target t = { 0 };
    const char *pos[3] = { 0 };
    size_t npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return serve_usage(stdout);
        int r = cli_target_option("serve", &t, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || npos == 3) {
            cli_error("serve", "unexpected argument '%s' (see ray serve --help)", argv[i]);
            return 2;
        }
        pos[npos++] = argv[i];
    }
    if (npos == 0)
        return serve_usage(stderr);
    if (!strcmp(pos[0], "deploy")) {
        if (npos != 3) {
            cli_error("serve deploy", "wants JOB.so CONFIG.yaml");
            return 2;
        }
        return serve_deploy_cmd(&t, pos[1], pos[2]);
    }
    if (!strcmp(pos[0], "status")) {
        if (serve_connect("serve status", &t, NULL, NULL, NULL) != 0)
            return 1;
        char *text;
        int rc = ray_serve_status(&text);
        if (rc != RAY_OK) {
            int st = cli_error("serve status", "%s", ray_last_error());
            ray_shutdown();
            return st;
        }
        fputs(text, stdout);
        free(text);
        ray_shutdown();
        return 0;
    }
    if (!strcmp(pos[0], "delete")) {
        if (npos != 2) {
            cli_error("serve delete", "wants the application's NAME");
            return 2;
        }
        if (serve_connect("serve delete", &t, NULL, NULL, NULL) != 0)
            return 1;
        int rc = ray_serve_delete(pos[1]);
        int st = 0;
        if (rc != RAY_OK)
            st = cli_error("serve delete", "%s", ray_last_error());
        else
            printf("deleted application %s\n", pos[1]);
        ray_shutdown();
        return st;
    }
    cli_error("serve", "unknown subcommand '%s' (deploy, status, delete)", pos[0]);
    return 2;
}
