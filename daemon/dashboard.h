/*
 * dashboard.h — the head's dashboard (SPEC section 11): HTTP on
 * --dashboard-host:--dashboard-port with libevent's evhttp, in its own
 * thread with its own event loop, so no request ever stalls the node's
 * loop. Every request needs the cluster token (Authorization: Bearer, or
 * the cookie /login?token= sets): 401 otherwise. It serves the pages
 * (daemon/dashboard_assets.c), the JSON endpoints, the job API that
 * `ray job` uses, and writes the Prometheus discovery file. The thread
 * talks to the cluster as the CLI does: the GCS through a blocking client
 * and its own node through the node's Unix socket (the token's HELLO).
 * docs/observability.md "Dashboard" lists the endpoints.
 */
#ifndef RAY_DASHBOARD_H
#define RAY_DASHBOARD_H

#include <stddef.h>

struct node;
struct dashboard;

/* Listen on cfg->dashboard_host:cfg->dashboard_port (0: ephemeral) and start
 * the thread. N's token, addresses and session directory are copied: the
 * thread never touches N afterwards. Returns the dashboard (the caller
 * stops it with dashboard_stop) or NULL with one line in ERR (the port is
 * taken, the host is not an address of this machine). */
struct dashboard *dashboard_start(struct node *n, char *err, size_t errlen);
/* The port bound. */
int dashboard_port(const struct dashboard *d);
/* Stop the thread (jobs it submitted are stopped by the node as their
 * connections close) and free D. NULL is a no-op. */
void dashboard_stop(struct dashboard *d);

/* The pages, served from the binary (dashboard_assets.c): the one HTML
 * page for every view, its style sheet and its script. */
extern const char dashboard_html[], dashboard_css[], dashboard_js[];

#endif
