/*
 * recover.c — a head that starts on a GCS that already holds a cluster (a
 * head restart, docs/restart.md) derives its state from the tables, plus
 * what the nodes report as they reconnect; nothing of an earlier head's
 * memory is needed.
 *
 * DESIGN. One table of steps, run in order once the head has registered.
 * Each step is one GCS read (a listing script) whose callback acts on what
 * it finds; steps do not wait for each other, and each is safe to run on an
 * empty GCS (a first start) or twice. What the head keeps in memory is
 * either derived here, or rebuilt by the cluster view (cluster.c: the node
 * table and <p>hb, which every node rewrites when it reconnects: node.c,
 * replay.c), or belongs to work that died with the earlier head. To add a
 * table (placement groups, <p>pg:<id>): write a step that lists it and
 * re-adopts what is live (its reservations are reported by the nodes that
 * hold them), and add it to recover_steps.
 */
#include "daemon/recover.h"

#include "common/log.h"
#include "common/netutil.h"
#include "common/xmalloc.h"
#include "session/config.h"
#include "daemon/node.h"
#include "runtime/runtime.h"
#include "session/session.h"
#include "gcs/gcs.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Head, once registered: a head of this cluster that the node table still
 * shows ALIVE but whose rayd is dead on this machine is the one this head
 * replaces (it was killed: nothing marked it). Declared dead now rather than
 * after node_timeout_ms, so the nodes forget its objects and stop routing to
 * it at once. A head on another machine, or alive, is left to the death
 * watch (heartbeat.c). */
struct old_heads {
    struct node *n;
    int refs;       /* one per GCS read still to answer */
    size_t count;
    char (*ids)[IDS_HEX_SIZE];
};

static void old_heads_unref(struct old_heads *oh)
{
    if (--oh->refs > 0)
        return;
    free(oh->ids);
    free(oh);
}

static bool old_heads_has(const struct old_heads *oh, const char *id)
{
    for (size_t k = 0; id && k < oh->count; k++)
        if (strcmp(id, oh->ids[k]) == 0)
            return true;
    return false;
}

/* Actors that lived on a head that died went with it (its workers are tied
 * to its rayd). One with no restart left is DEAD now: callers get
 * RAY_EACTOR and its name is free, instead of waiting for an actor nobody
 * will bring back. One that may restart is left to node-death handling. */
static void recover_actors_cb(void *arg, const struct gcs_actor *v, size_t nv)
{
    struct old_heads *oh = arg;
    struct node *n = oh->n;
    for (size_t i = 0; v && !n->stopping && i < nv; i++) {
        if (strcmp(v[i].state, "DEAD") == 0 || !old_heads_has(oh, v[i].node))
            continue;
        bool restarts_left = v[i].max_restarts < 0 || v[i].restarts < v[i].max_restarts;
        if (restarts_left)
            continue;
        log_warnx("actor %s (%s) lived on the dead head %.8s: it is dead", v[i].class_name,
                  v[i].actor_id, v[i].node);
        gcs_actor_set_state(n->gcs, v[i].actor_id, "DEAD", NULL, NULL, -1, -1,
                            "its node, the head, died (no restarts left)");
    }
    old_heads_unref(oh);
}

/* Jobs whose driver ran on a head that died: the driver is its own
 * process and reconnects (api/client.c) for up to 60 s, then this head
 * becomes its job's driver node (jobs_adopt rewrites driver_node). A job
 * still driven by a dead head once that time (gcs_reconnect_timeout_ms,
 * plus 10 s) has passed lost its driver: it is marked FAILED and cleaned
 * up as its own node would have, and announced on ch:jobs so nodes running
 * its placed work end it (detached actors stay). Until then its work goes
 * on. The heads are kept in static storage (no allocation to lose if the
 * node stops first). */
#define RECOVER_DRIVER_GRACE_EXTRA_MS 10000
#define RECOVER_MAX_HEADS 8

static struct {
    struct node *n;
    size_t count;
    char ids[RECOVER_MAX_HEADS][IDS_HEX_SIZE];
    bool armed;
} orphans;

static void recover_orphan_jobs_cb(void *arg, const struct gcs_job *v, size_t nv)
{
    (void)arg;
    struct node *n = orphans.n;
    orphans.armed = false;
    for (size_t i = 0; v && n && !n->stopping && i < nv; i++) {
        if (strcmp(v[i].state, "RUNNING") != 0)
            continue;
        for (size_t k = 0; k < orphans.count; k++) {
            if (strcmp(v[i].driver_node, orphans.ids[k]) != 0)
                continue;
            log_warnx("job %s: its driver's node, head %.8s, died and its driver did not "
                      "reconnect: the job failed", v[i].job_id, orphans.ids[k]);
            gcs_job_set_state(n->gcs, v[i].job_id, "FAILED", net_wall_ms());
            gcs_job_cleanup(n->gcs, v[i].job_id, true);
            gcs_event_add(n->gcs, "JOB_FINISHED", v[i].job_id, n->hex,
                          "FAILED: its head died and its driver did not reconnect");
            gcs_command(n->gcs, NULL, NULL, "PUBLISH %sch:jobs %s END", gcs_client_prefix(n->gcs),
                        v[i].job_id);
            runtime_pg_job_ended(n->rt,
                                 (uint32_t)strtoul(v[i].job_id, NULL, 16)); /* its groups go */
        }
    }
}

static void orphan_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (orphans.n == NULL || orphans.n->stopping ||
        gcs_jobs_list(orphans.n->gcs, recover_orphan_jobs_cb, NULL) < 0)
        orphans.armed = false;
}

static void recover_orphan_jobs_later(struct node *n, const struct old_heads *oh)
{
    orphans.n = n;
    for (size_t k = 0; k < oh->count && orphans.count < RECOVER_MAX_HEADS; k++)
        snprintf(orphans.ids[orphans.count++], IDS_HEX_SIZE, "%s", oh->ids[k]);
    if (orphans.armed)
        return;
    long long ms = (long long)n->cfg->gcs_reconnect_timeout_ms + RECOVER_DRIVER_GRACE_EXTRA_MS;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    if (event_base_once(n->base, -1, EV_TIMEOUT, orphan_timer_cb, NULL, &tv) == 0)
        orphans.armed = true;
    log_info("head recovery: jobs driven from the dead head fail unless their drivers "
             "reconnect within %lld s", ms / 1000);
}

static void recover_old_heads_cb(void *arg, const struct gcs_node *v, size_t nv)
{
    struct node *n = arg;
    if (v == NULL || n->stopping)
        return;
    if (n->resumed && nv <= 1)
        log_warnx("resumed session %s but the GCS holds no earlier node: its data is gone "
                  "(appendonly off, or its folder removed?); live nodes register again as they "
                  "reconnect, jobs and finished tasks of before are not known",
                  n->session_dir);
    char hostname[256] = "";
    gethostname(hostname, sizeof hostname - 1);
    struct old_heads *oh = xcalloc(1, sizeof *oh);
    oh->n = n;
    for (size_t i = 0; i < nv; i++) {
        if (!v[i].is_head || strcmp(v[i].state, "ALIVE") != 0 || strcmp(v[i].node_id, n->hex) == 0)
            continue;
        if (strcmp(v[i].hostname, hostname) != 0 || session_pid_is(v[i].pid, "rayd"))
            continue;
        char reason[160];
        snprintf(reason, sizeof reason, "head restarted: replaced by head %.8s", n->hex);
        log_warnx("earlier head %s (%s) is dead: %s", v[i].node_id, v[i].address, reason);
        gcs_node_mark_dead(n->gcs, v[i].node_id, reason);
        gcs_node_forget_objects(n->gcs, v[i].node_id);
        gcs_event_add(n->gcs, "NODE_DEAD", v[i].node_id, v[i].node_id, reason);
        gcs_command(n->gcs, NULL, NULL, "DEL %sdemands:%s", gcs_client_prefix(n->gcs),
                    v[i].node_id); /* its queue died with it */
        runtime_node_dead(n->rt, v[i].node_id);
        oh->ids = xreallocarray(oh->ids, oh->count + 1, sizeof *oh->ids);
        snprintf(oh->ids[oh->count++], IDS_HEX_SIZE, "%s", v[i].node_id);
    }
    /* placement groups: their bundles stay on the nodes alive */
    char (*alive)[IDS_HEX_SIZE] = xcalloc(nv ? nv : 1, sizeof *alive);
    size_t nalive = 0;
    for (size_t i = 0; i < nv; i++)
        if (strcmp(v[i].state, "ALIVE") == 0 && strcmp(v[i].node_id, n->hex) != 0 &&
            !old_heads_has(oh, v[i].node_id))
            snprintf(alive[nalive++], IDS_HEX_SIZE, "%s", v[i].node_id);
    runtime_pg_recover(n->rt, (const char (*)[IDS_HEX_SIZE])alive, nalive);
    free(alive);
    if (oh->count == 0) {
        free(oh);
        return;
    }
    recover_orphan_jobs_later(n, oh);
    oh->refs = 1;
    gcs_actors_list(n->gcs, recover_actors_cb, oh);
}

/* Step "nodes": heads that died on this machine (recover_old_heads_cb),
 * and through them the jobs their drivers ran (recover_orphan_jobs_cb) and
 * the actors they hosted (recover_actors_cb). */
static void recover_nodes(struct node *n)
{
    gcs_nodes_list(n->gcs, recover_old_heads_cb, n);
}

static const struct recover_step {
    const char *name;
    void (*run)(struct node *n);
} recover_steps[] = {
    { "nodes", recover_nodes },
    /* placement groups are read back in the "nodes" step, which knows
     * which nodes are alive (pg_recover, runtime/pg.c) */
};

void recover_head_start(struct node *n)
{
    for (size_t i = 0; i < sizeof recover_steps / sizeof recover_steps[0]; i++) {
        log_debug("head recovery: %s", recover_steps[i].name);
        recover_steps[i].run(n);
    }
}
