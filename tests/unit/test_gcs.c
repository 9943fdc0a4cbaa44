/*
 * test_gcs.c — the GCS client against a real redis-server with a password:
 * every table, pub/sub, pipelining order, offline queue across a Redis
 * SIGKILL and restart, authentication errors, the sync client, and freeing
 * the client inside its own callback.
 */
#include <check.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"
#include "tests/unit/unit.h"

#define PW "secret-pw"

static int port;
static struct event_base *base;
static struct gcs_client *gc;
static pid_t own_redis = -1;
static char own_dir[64];

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    *(bool *)arg = true;
}

/* Run the loop until *FLAG is true or MS elapse; returns *FLAG. */
static bool wait_for(bool *flag, int ms)
{
    bool expired = false;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    struct event *t = evtimer_new(base, on_timeout, &expired);
    evtimer_add(t, &tv);
    while (!*flag && !expired)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    return *flag;
}

static void on_connected(void *arg, bool connected)
{
    if (connected)
        *(bool *)arg = true;
}

static void setup(void)
{
    port = unit_redis_start(PW);
    ck_assert_int_gt(port, 0);
    base = event_base_new();
    gc = gcs_client_new(base, "127.0.0.1", port, PW, "test");
    ck_assert_ptr_nonnull(gc);
    static bool up;
    up = false;
    gcs_client_on_state(gc, on_connected, &up);
    ck_assert(wait_for(&up, 5000));
    gcs_client_on_state(gc, NULL, NULL);
}

static void teardown(void)
{
    gcs_client_free(gc);
    gc = NULL;
    event_base_free(base);
    unit_redis_stop();
    if (own_redis > 0) {
        kill(own_redis, SIGKILL);
        waitpid(own_redis, NULL, 0);
        own_redis = -1;
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", own_dir);
        if (system(cmd) != 0) { /* best effort */ }
    }
}

/* A barrier: a PING whose reply proves every earlier command was processed. */
static void on_flag(void *arg, const struct gcs_reply *r)
{
    *(bool *)arg = true;
}
static void sync_point(void)
{
    bool done = false;
    ck_assert_int_eq(gcs_command(gc, on_flag, &done, "PING"), 0);
    ck_assert(wait_for(&done, 5000));
}

/* Wait (up to 5 s) until Redis counts a subscriber on channel SUFFIX (our
 * prefix added): gcs_subscribe goes over the pub/sub connection, which a
 * PING on the command connection does not wait for. */
struct numsub { bool done; long long n; };
static void on_numsub(void *arg, const struct gcs_reply *r)
{
    struct numsub *x = arg;
    x->done = true;
    x->n = r && gcs_reply_elements(r) == 2 ? gcs_reply_integer(gcs_reply_element(r, 1)) : 0;
}
static void subscribed(const char *suffix)
{
    for (int i = 0; i < 500; i++) {
        struct numsub x = { 0 };
        ck_assert_int_eq(gcs_command(gc, on_numsub, &x, "PUBSUB NUMSUB %s%s",
                                     gcs_client_prefix(gc), suffix), 0);
        ck_assert(wait_for(&x.done, 5000));
        if (x.n >= 1)
            return;
        usleep(10000);
    }
    ck_abort_msg("no subscriber on %s after 5 s", suffix);
}

/* Run a command and keep its integer reply. */
struct intres { bool done; long long v; int type; };
static void on_int(void *arg, const struct gcs_reply *r)
{
    struct intres *x = arg;
    x->done = true;
    x->type = gcs_reply_type(r);
    x->v = gcs_reply_integer(r);
}
static long long int_cmd(const char *cmd, const char *key)
{
    struct intres x = { 0 };
    char *k = NULL;
    if (asprintf(&k, "%s%s", gcs_client_prefix(gc), key) < 0)
        ck_abort();
    gcs_command(gc, on_int, &x, "%s %s", cmd, k);
    free(k);
    ck_assert(wait_for(&x.done, 5000));
    ck_assert_int_eq(x.type, GCS_REPLY_INTEGER);
    return x.v;
}

/* ----------------------------------------------------------------- nodes */

struct nodes_res { bool done; size_t n; struct gcs_node first; };
static void on_nodes(void *arg, const struct gcs_node *v, size_t n)
{
    struct nodes_res *x = arg;
    ck_assert_ptr_nonnull(v);
    x->done = true;
    x->n = n;
    if (n > 0) {
        x->first = v[0];
        x->first.state = strdup(v[0].state);
        x->first.resources_available = strdup(v[0].resources_available);
        x->first.death_reason = strdup(v[0].death_reason);
        x->first.hostname = strdup(v[0].hostname);
        x->first.node_id = x->first.address = x->first.session_dir = NULL;
        x->first.resources_total = NULL;
    }
}

struct msg_res { bool done; char msg[128]; char suffix[128]; int count; };
static void on_msg(void *arg, const char *suffix, const char *msg, size_t len)
{
    struct msg_res *x = arg;
    x->done = true;
    x->count++;
    snprintf(x->msg, sizeof x->msg, "%.*s", (int)len, msg);
    snprintf(x->suffix, sizeof x->suffix, "%s", suffix);
}

static void on_done(void *arg, int status)
{
    int *p = arg;
    *p = status;
}

START_TEST(test_node_table)
{
    struct msg_res m = { 0 };
    ck_assert_int_eq(gcs_subscribe(gc, "ch:nodes", on_msg, &m), 0);
    struct gcs_node n = { .node_id = "aa01", .address = "127.0.0.2", .port = 7001,
                          .hostname = "host1", .pid = 4242, .session_dir = "/tmp/s",
                          .resources_total = "CPU=2,GPU=0", .resources_available = "CPU=2,GPU=0",
                          .is_head = true, .start_time_ms = 1000, .last_heartbeat_ms = 1000 };
    int st = 99;
    ck_assert_int_eq(gcs_node_register(gc, &n, on_done, &st), 0);
    ck_assert_int_eq(gcs_node_heartbeat(gc, "aa01", 5000, "CPU=1,GPU=0", 3), 0);
    ck_assert_int_eq(gcs_node_heartbeat(gc, "ffff", 5000, "CPU=1", 0), 0); /* unknown node */
    struct nodes_res r = { 0 };
    ck_assert_int_eq(gcs_nodes_list(gc, on_nodes, &r), 0);
    ck_assert(wait_for(&r.done, 5000));
    ck_assert_int_eq(st, 0);
    ck_assert_uint_eq(r.n, 1); /* the heartbeat did not create "ffff" */
    ck_assert_str_eq(r.first.state, "ALIVE");
    ck_assert_str_eq(r.first.resources_available, "CPU=1,GPU=0");
    ck_assert_str_eq(r.first.hostname, "host1");
    ck_assert_int_eq(r.first.port, 7001);
    ck_assert_int_eq(r.first.pid, 4242);
    ck_assert_int_eq(r.first.last_heartbeat_ms, 5000);
    ck_assert_int_eq(r.first.queue_len, 3);
    ck_assert(r.first.is_head);
    gcs_node_free_fields(&r.first);

    subscribed("ch:nodes"); /* the subscription is live once the pub/sub link is up */
    ck_assert_int_eq(gcs_node_mark_dead(gc, "aa01", "heartbeat timeout"), 0);
    ck_assert(wait_for(&m.done, 5000));
    ck_assert_str_eq(m.msg, "aa01 DEAD");
    ck_assert_str_eq(m.suffix, "ch:nodes");
    struct nodes_res r2 = { 0 };
    gcs_nodes_list(gc, on_nodes, &r2);
    ck_assert(wait_for(&r2.done, 5000));
    ck_assert_str_eq(r2.first.state, "DEAD");
    ck_assert_str_eq(r2.first.death_reason, "heartbeat timeout");
    gcs_node_free_fields(&r2.first);
    ck_assert_int_eq(gcs_node_register(gc, &(struct gcs_node){ .node_id = "" }, NULL, NULL), -1);
}
END_TEST

/* ---------------------------------------------------------------- events */

struct str_res { bool done; char s[256]; int type; };
static void on_last_event(void *arg, const struct gcs_reply *r)
{
    struct str_res *x = arg;
    x->done = true;
    x->type = gcs_reply_type(r);
    /* XREVRANGE COUNT 1: [[id, [f, v, f, v...]]] */
    const struct gcs_reply *fields = gcs_reply_element(gcs_reply_element(r, 0), 1);
    for (size_t i = 0; i + 1 < gcs_reply_elements(fields); i += 2) {
        size_t len;
        const char *f = gcs_reply_str(gcs_reply_element(fields, i), NULL);
        const char *v = gcs_reply_str(gcs_reply_element(fields, i + 1), &len);
        size_t used = strlen(x->s);
        snprintf(x->s + used, sizeof x->s - used, "%s=%.*s;", f, (int)len, v);
    }
}

START_TEST(test_event_stream)
{
    gcs_client_set_limits(gc, 50, 0);
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%04d", i);
        ck_assert_int_eq(gcs_event_add(gc, "TASK_FINISHED", id, "aa01", "ok"), 0);
    }
    long long len = int_cmd("XLEN", "events");
    ck_assert_int_lt(len, 1000); /* trimmed (approximately: MAXLEN ~) */
    ck_assert_int_ge(len, 50);
    struct str_res x = { 0 };
    char *k = NULL;
    ck_assert_int_ge(asprintf(&k, "%sevents", gcs_client_prefix(gc)), 0);
    gcs_command(gc, on_last_event, &x, "XREVRANGE %s + - COUNT 1", k);
    free(k);
    ck_assert(wait_for(&x.done, 5000));
    ck_assert_ptr_nonnull(strstr(x.s, "kind=TASK_FINISHED;id=t0999;node=aa01;detail=ok;"));
    ck_assert_ptr_nonnull(strstr(x.s, "ts_ms="));
}
END_TEST

/* --------------------------------------------------------------- objects */

struct strings_res { bool done; bool failed; size_t n; char joined[256]; };
static void on_strings(void *arg, const char *const *names, size_t n)
{
    struct strings_res *x = arg;
    x->done = true;
    x->failed = names == NULL;
    x->n = n;
    x->joined[0] = '\0';
    /* sorted join so set order does not matter */
    const char *sorted[16];
    for (size_t i = 0; i < n && i < 16; i++)
        sorted[i] = names[i];
    for (size_t i = 0; i < n && i < 16; i++)
        for (size_t j = i + 1; j < n && j < 16; j++)
            if (strcmp(sorted[j], sorted[i]) < 0) {
                const char *t = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = t;
            }
    for (size_t i = 0; i < n && i < 16; i++) {
        strcat(x->joined, sorted[i]);
        strcat(x->joined, ",");
    }
}

START_TEST(test_object_table)
{
    const char *obj = "0000000100aabbccddeeff00112233440000000001";
    char suffix[96];
    snprintf(suffix, sizeof suffix, "ch:obj:%s", obj);
    struct msg_res m = { 0 };
    gcs_subscribe(gc, suffix, on_msg, &m);
    subscribed(suffix);
    ck_assert_int_eq(gcs_object_add_location(gc, obj, "node1", 1234), 0);
    ck_assert(wait_for(&m.done, 5000));
    ck_assert_str_eq(m.msg, "node1");
    gcs_object_add_location(gc, obj, "node2", 1234);
    struct strings_res s = { 0 };
    gcs_object_locations(gc, obj, on_strings, &s);
    ck_assert(wait_for(&s.done, 5000));
    ck_assert_str_eq(s.joined, "node1,node2,");

    gcs_object_remove_location(gc, obj, "node1");
    s.done = false;
    gcs_object_locations(gc, obj, on_strings, &s);
    ck_assert(wait_for(&s.done, 5000));
    ck_assert_str_eq(s.joined, "node2,");
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 1);

    /* unsubscribed: the next publish is not delivered to us */
    ck_assert_int_eq(gcs_unsubscribe(gc, suffix, on_msg, &m), 0);
    ck_assert_int_eq(gcs_unsubscribe(gc, suffix, on_msg, &m), -1);
    int before = m.count;
    gcs_object_add_location(gc, obj, "node3", 1234);
    sync_point();
    ck_assert_int_eq(m.count, before);

    gcs_object_delete(gc, obj);
    s.done = false;
    gcs_object_locations(gc, obj, on_strings, &s);
    ck_assert(wait_for(&s.done, 5000));
    ck_assert_uint_eq(s.n, 0);
    ck_assert(!s.failed);
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 0);
}
END_TEST

/* ----------------------------------------------------------------- tasks */

struct task_res { bool done; bool found; char state[32]; char node[32]; long long attempts;
                  size_t spec_len; char spec[16]; char name[32]; };
static void on_task(void *arg, const struct gcs_task *t)
{
    struct task_res *x = arg;
    x->done = true;
    x->found = t != NULL;
    if (t) {
        snprintf(x->state, sizeof x->state, "%s", t->state);
        snprintf(x->node, sizeof x->node, "%s", t->node);
        snprintf(x->name, sizeof x->name, "%s", t->name ? t->name : "");
        x->attempts = t->attempts;
        x->spec_len = t->spec_len;
        memcpy(x->spec, t->spec, t->spec_len < 16 ? t->spec_len : 16);
    }
}

START_TEST(test_task_table)
{
    gcs_client_set_limits(gc, 0, 5);
    const char spec[] = { 'a', 0, 'b', (char)0xff };
    char id[32];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "job1aaaat%02d", i);
        ck_assert_int_eq(gcs_task_put(gc, id, "job1aaaa", "square", spec, sizeof spec), 0);
    }
    struct task_res t = { 0 };
    gcs_task_get(gc, "job1aaaat00", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found);
    ck_assert_str_eq(t.state, "PENDING");
    ck_assert_uint_eq(t.spec_len, sizeof spec);
    ck_assert_int_eq(memcmp(t.spec, spec, sizeof spec), 0);

    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "job1aaaat%02d", i);
        gcs_task_set_state(gc, id, "RUNNING", "node1", 1);
        gcs_task_set_state(gc, id, i % 2 ? "FAILED" : "FINISHED", NULL, -1);
    }
    ck_assert_int_eq(int_cmd("ZCARD", "tasks:finished"), 5);
    ck_assert_int_eq(int_cmd("HLEN", "job:job1aaaa:taskrecs"), 5);
    memset(&t, 0, sizeof t);
    gcs_task_get(gc, "job1aaaat00", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(!t.found); /* trimmed */
    memset(&t, 0, sizeof t);
    gcs_task_get(gc, "job1aaaat19", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found);
    ck_assert_str_eq(t.state, "FAILED");
    ck_assert_str_eq(t.node, "node1");
    ck_assert_int_eq(t.attempts, 1);

    /* job cleanup removes the job's objects and the records of tasks that
     * never finished; finished ones stay for `ray list tasks` until trimmed */
    gcs_object_add_location(gc, "job1aaaa0011", "node1", 10);
    gcs_object_add_location(gc, "otherjob0011", "node1", 10);
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 2);
    gcs_task_put(gc, "job1aaaat99", "job1aaaa", "never", spec, sizeof spec);
    ck_assert_int_eq(int_cmd("HLEN", "job:job1aaaa:taskrecs"), 6);
    gcs_job_cleanup(gc, "job1aaaa", true);
    ck_assert_int_eq(int_cmd("HLEN", "job:job1aaaa:taskrecs"), 5);
    ck_assert_int_eq(int_cmd("ZCARD", "tasks:finished"), 5);
    memset(&t, 0, sizeof t);
    gcs_task_get(gc, "job1aaaat99", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(!t.found); /* never finished: gone with its job */
    memset(&t, 0, sizeof t);
    gcs_task_get(gc, "job1aaaat19", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found); /* finished: kept */
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 1);
    ck_assert_int_eq(int_cmd("EXISTS", "obj:job1aaaa0011"), 0);
    ck_assert_int_eq(int_cmd("EXISTS", "obj:otherjob0011"), 1);
}
END_TEST

/* gcs_task_record: one write of a whole record in its state; a final one
 * enters tasks:finished and is trimmed like state changes are. */
START_TEST(test_task_record)
{
    gcs_client_set_limits(gc, 0, 3);
    const char spec[] = { 'x', 0, 'y' };
    char id[32];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "job2bbbbr%02d", i);
        struct gcs_task r = { .task_id = id, .job = "job2bbbb", .name = "noop",
                              .state = i < 5 ? "FINISHED" : "RUNNING", .node = "node7",
                              .attempts = 1, .spec = (char *)spec, .spec_len = sizeof spec };
        ck_assert_int_eq(gcs_task_record(gc, &r), 0);
    }
    struct gcs_task bad = { .task_id = "job2bbbbr99", .job = "job2bbbb", .state = "" };
    ck_assert_int_eq(gcs_task_record(gc, &bad), -1);
    struct task_res t = { 0 };
    gcs_task_get(gc, "job2bbbbr05", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found);
    ck_assert_str_eq(t.state, "RUNNING");
    ck_assert_str_eq(t.node, "node7");
    ck_assert_int_eq(t.attempts, 1);
    ck_assert_uint_eq(t.spec_len, sizeof spec);
    ck_assert_int_eq(memcmp(t.spec, spec, sizeof spec), 0);
    ck_assert_int_eq(int_cmd("ZCARD", "tasks:finished"), 3); /* 5 finished, 3 kept */
    struct task_res gone = { 0 };
    gcs_task_get(gc, "job2bbbbr00", on_task, &gone);
    ck_assert(wait_for(&gone.done, 5000));
    ck_assert(!gone.found); /* trimmed */
    ck_assert_int_eq(int_cmd("HLEN", "job:job2bbbb:taskrecs"), 4);
    /* its final state, later, as a state change */
    gcs_task_set_state(gc, "job2bbbbr05", "FINISHED", NULL, -1);
    memset(&t, 0, sizeof t);
    gcs_task_get(gc, "job2bbbbr05", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert_str_eq(t.state, "FINISHED");
    gcs_job_cleanup(gc, "job2bbbb", true);
    ck_assert_int_eq(int_cmd("HLEN", "job:job2bbbb:taskrecs"), 3); /* the finished ones, trimmed to 3 */
}
END_TEST

/* Records of more jobs than the batch has hashes for (8), made in one turn
 * of the loop: the batch is flushed from inside gcs_task_record when its
 * hashes are all taken, and every record arrives whole (its numbers in
 * decimal, a line break of a text field as a space). */
START_TEST(test_task_record_jobs)
{
    gcs_client_set_limits(gc, 0, 100000);
    char id[48], job[24];
    for (int i = 0; i < 12; i++) {
        snprintf(job, sizeof job, "job5e%03d", i);
        snprintf(id, sizeof id, "%sr1", job);
        struct gcs_task r = { .task_id = id, .job = job, .name = "two\nlines",
                              .state = "FINISHED", .node = "node9",
                              .attempts = i == 11 ? -1234567890123LL : i, .spec = "ab",
                              .spec_len = 2 };
        ck_assert_int_eq(gcs_task_record(gc, &r), 0);
    }
    for (int i = 0; i < 12; i++) {
        char key[64];
        snprintf(key, sizeof key, "job:job5e%03d:taskrecs", i);
        ck_assert_int_eq(int_cmd("HLEN", key), 1);
    }
    struct task_res t = { 0 };
    gcs_task_get(gc, "job5e011r1", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found);
    ck_assert_str_eq(t.state, "FINISHED");
    ck_assert_str_eq(t.node, "node9");
    ck_assert_str_eq(t.name, "two lines");
    ck_assert_int_eq(t.attempts, -1234567890123LL);
    ck_assert_uint_eq(t.spec_len, 2);
    ck_assert_int_eq(memcmp(t.spec, "ab", 2), 0);
    memset(&t, 0, sizeof t);
    gcs_task_get(gc, "job5e000r1", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found);
    ck_assert_int_eq(t.attempts, 0);
    ck_assert_int_ge(int_cmd("ZCARD", "tasks:finished"), 12);
}
END_TEST

/* Thousands of records in one turn of the loop: the batch fills and is
 * flushed from inside gcs_task_record more than once, and every record
 * arrives once. */
START_TEST(test_task_record_burst)
{
    gcs_client_set_limits(gc, 0, 100000);
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "job3ccccb%05d", i);
        struct gcs_task r = { .task_id = id, .job = "job3cccc", .name = "noop",
                              .state = i % 3 ? "FINISHED" : "PENDING", .node = "n",
                              .attempts = 1, .spec = "s", .spec_len = 1 };
        ck_assert_int_eq(gcs_task_record(gc, &r), 0);
    }
    ck_assert_int_eq(int_cmd("HLEN", "job:job3cccc:taskrecs"), 5000);
    ck_assert_int_eq(int_cmd("ZCARD", "tasks:finished"), 3333);
    struct task_res t = { 0 };
    gcs_task_get(gc, "job3ccccb04999", on_task, &t);
    ck_assert(wait_for(&t.done, 5000));
    ck_assert(t.found);
    ck_assert_str_eq(t.state, "FINISHED");
    gcs_job_cleanup(gc, "job3cccc", true);
    ck_assert_int_eq(int_cmd("HLEN", "job:job3cccc:taskrecs"), 3333); /* the PENDING ones went */
    ck_assert_int_eq(int_cmd("ZCARD", "tasks:finished"), 3333);
}
END_TEST

/* Job cleanup leaves the objects listed in jobkeep:<job8> (a detached
 * actor's), in the table and in the job's index, and can run again (every
 * node that ran the job sweeps once its own writes are out). */
START_TEST(test_job_cleanup_keeps)
{
    gcs_object_add_location(gc, "job4dddd0001", "node1", 10);
    gcs_object_add_location(gc, "job4dddd0002", "node1", 10);
    gcs_object_add_location(gc, "job4dddd0003", "node2", 10);
    char *k = NULL;
    ck_assert_int_ge(asprintf(&k, "%sjobkeep:job4dddd", gcs_client_prefix(gc)), 0);
    gcs_command(gc, NULL, NULL, "SADD %s %s", k, "job4dddd0002");
    free(k);
    gcs_job_cleanup(gc, "job4dddd", true);
    ck_assert_int_eq(int_cmd("EXISTS", "obj:job4dddd0001"), 0);
    ck_assert_int_eq(int_cmd("EXISTS", "objloc:job4dddd0003"), 0);
    ck_assert_int_eq(int_cmd("EXISTS", "obj:job4dddd0002"), 1);
    ck_assert_int_eq(int_cmd("SCARD", "objloc:job4dddd0002"), 1);
    ck_assert_int_eq(int_cmd("SCARD", "jobobjs:job4dddd"), 1);
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 1);
    /* a late write, then a node's sweep: the late one goes, the kept one stays */
    gcs_object_add_location(gc, "job4dddd0004", "node2", 10);
    gcs_job_cleanup(gc, "job4dddd", true);
    ck_assert_int_eq(int_cmd("EXISTS", "obj:job4dddd0004"), 0);
    ck_assert_int_eq(int_cmd("EXISTS", "obj:job4dddd0002"), 1);
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 1);
    /* the actor's end: its object goes like any freed one */
    gcs_object_delete(gc, "job4dddd0002");
    ck_assert_int_eq(int_cmd("SCARD", "objects"), 0);
    ck_assert_int_eq(int_cmd("EXISTS", "jobobjs:job4dddd"), 0);
}
END_TEST

/* ------------------------------------------------------------- functions */

struct bytes_res { bool done; bool found; size_t len; char b[64]; };
static void on_bytes(void *arg, const char *s, size_t len)
{
    struct bytes_res *x = arg;
    x->done = true;
    x->found = s != NULL;
    x->len = len;
    if (s)
        memcpy(x->b, s, len < 64 ? len : 64);
}

START_TEST(test_function_table)
{
    int st1 = 99, st2 = 99;
    gcs_function_put(gc, "abc123", "LIB\0one", 7, on_done, &st1);
    gcs_function_put(gc, "abc123", "LIB\0two", 7, on_done, &st2);
    struct bytes_res b = { 0 };
    gcs_function_get(gc, "abc123", on_bytes, &b);
    ck_assert(wait_for(&b.done, 5000));
    ck_assert_int_eq(st1, 0);
    ck_assert_int_eq(st2, 0);
    ck_assert(b.found);
    ck_assert_uint_eq(b.len, 7);
    ck_assert_int_eq(memcmp(b.b, "LIB\0one", 7), 0); /* stored once */
    memset(&b, 0, sizeof b);
    gcs_function_get(gc, "missing", on_bytes, &b);
    ck_assert(wait_for(&b.done, 5000));
    ck_assert(!b.found);

    const char *names[] = { "square", "Counter", "Counter.incr" };
    gcs_job_functions_add(gc, "job1", names, 3);
    gcs_job_functions_add(gc, "job1", names, 1);
    struct strings_res s = { 0 };
    gcs_job_functions(gc, "job1", on_strings, &s);
    ck_assert(wait_for(&s.done, 5000));
    ck_assert_str_eq(s.joined, "Counter,Counter.incr,square,");
}
END_TEST

/* ------------------------------------------------------------------ jobs */

struct jobs_res { bool done; size_t n; char state[32]; long long end; char entry[64]; };
static void on_jobs(void *arg, const struct gcs_job *v, size_t n)
{
    struct jobs_res *x = arg;
    x->done = true;
    x->n = n;
    if (n) {
        snprintf(x->state, sizeof x->state, "%s", v[0].state);
        snprintf(x->entry, sizeof x->entry, "%s", v[0].entrypoint);
        x->end = v[0].end_time_ms;
    }
}

START_TEST(test_job_table)
{
    struct gcs_job j = { .job_id = "00000001", .state = "RUNNING", .driver_node = "aa01",
                         .driver_pid = 77, .library_hash = "abc", .start_time_ms = 10,
                         .entrypoint = "pi.so" };
    int st = 99;
    gcs_job_put(gc, &j, on_done, &st);
    gcs_job_set_state(gc, "00000001", "FINISHED", 20);
    struct jobs_res r = { 0 };
    gcs_jobs_list(gc, on_jobs, &r);
    ck_assert(wait_for(&r.done, 5000));
    ck_assert_int_eq(st, 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_str_eq(r.state, "FINISHED");
    ck_assert_str_eq(r.entry, "pi.so");
    ck_assert_int_eq(r.end, 20);
}
END_TEST

/* ---------------------------------------------------------------- actors */

struct actor_res { bool done; bool found; char state[32]; char node[32]; char name[32];
                   long long restarts; int port; bool detached; };
static void on_actor(void *arg, const struct gcs_actor *a)
{
    struct actor_res *x = arg;
    x->done = true;
    x->found = a != NULL;
    if (a) {
        snprintf(x->state, sizeof x->state, "%s", a->state);
        snprintf(x->node, sizeof x->node, "%s", a->node);
        snprintf(x->name, sizeof x->name, "%s", a->name);
        x->restarts = a->restarts;
        x->port = a->port;
        x->detached = a->detached;
    }
}
static void on_actors(void *arg, const struct gcs_actor *v, size_t n)
{
    *(size_t *)arg = n + 1;
}

START_TEST(test_actor_table)
{
    struct gcs_actor a1 = { .actor_id = "ac01", .class_name = "Counter", .state = "PENDING",
                            .name = "counter", .job = "job1", .max_restarts = 3,
                            .detached = true };
    struct gcs_actor a2 = a1;
    a2.actor_id = "ac02";
    int st1 = 99, st2 = 99, st3 = 99, st4 = 99;
    gcs_actor_put(gc, &a1, on_done, &st1);
    gcs_actor_put(gc, &a2, on_done, &st2);
    gcs_actor_put(gc, &a1, on_done, &st3); /* same actor again: fine */
    struct bytes_res b = { 0 };
    gcs_actor_lookup_name(gc, "counter", on_bytes, &b);
    ck_assert(wait_for(&b.done, 5000));
    ck_assert_int_eq(st1, 0);
    ck_assert_int_eq(st2, GCS_ECONFLICT);
    ck_assert_int_eq(st3, 0);
    ck_assert(b.found);
    ck_assert_int_eq(memcmp(b.b, "ac01", 4), 0);
    struct actor_res r = { 0 };
    gcs_actor_get(gc, "ac02", on_actor, &r);
    ck_assert(wait_for(&r.done, 5000));
    ck_assert(!r.found); /* the conflicting put wrote nothing */

    struct msg_res m = { 0 };
    gcs_subscribe(gc, "ch:actors", on_msg, &m);
    subscribed("ch:actors");
    gcs_actor_set_state(gc, "ac01", "ALIVE", "aa01", "127.0.0.2", 7100, 0, NULL);
    ck_assert(wait_for(&m.done, 5000));
    ck_assert_str_eq(m.msg, "ac01 ALIVE");
    memset(&r, 0, sizeof r);
    gcs_actor_get(gc, "ac01", on_actor, &r);
    ck_assert(wait_for(&r.done, 5000));
    ck_assert_str_eq(r.state, "ALIVE");
    ck_assert_str_eq(r.node, "aa01");
    ck_assert_int_eq(r.port, 7100);
    ck_assert(r.detached);

    gcs_actor_set_state(gc, "ac01", "DEAD", NULL, NULL, -1, 3, "max restarts");
    gcs_actor_put(gc, &a2, on_done, &st4); /* name released by DEAD */
    size_t n = 0;
    gcs_actors_list(gc, on_actors, &n);
    for (int i = 0; i < 500 && n == 0; i++)
        event_base_loop(base, EVLOOP_ONCE);
    ck_assert_int_eq(st4, 0);
    ck_assert_uint_eq(n, 2 + 1);
}
END_TEST

/* ------------------------------------------------------ placement groups */

struct pg_res { bool done; bool found; char strategy[32]; char bundles[64]; };
static void on_pg(void *arg, const struct gcs_pg *p)
{
    struct pg_res *x = arg;
    x->done = true;
    x->found = p != NULL;
    if (p) {
        snprintf(x->strategy, sizeof x->strategy, "%s", p->strategy);
        snprintf(x->bundles, sizeof x->bundles, "%s", p->bundles);
    }
}
static void on_pgs(void *arg, const struct gcs_pg *v, size_t n)
{
    *(size_t *)arg = n + 1;
}

START_TEST(test_pg_table)
{
    struct gcs_pg p = { .pg_id = "pg01", .name = "g", .strategy = "SPREAD",
                        .bundles = "CPU=1;CPU=1", .state = "CREATED", .job = "job1" };
    gcs_pg_put(gc, &p, NULL, NULL);
    struct pg_res r = { 0 };
    gcs_pg_get(gc, "pg01", on_pg, &r);
    ck_assert(wait_for(&r.done, 5000));
    ck_assert(r.found);
    ck_assert_str_eq(r.strategy, "SPREAD");
    ck_assert_str_eq(r.bundles, "CPU=1;CPU=1");
    size_t n = 0;
    gcs_pgs_list(gc, on_pgs, &n);
    for (int i = 0; i < 500 && n == 0; i++)
        event_base_loop(base, EVLOOP_ONCE);
    ck_assert_uint_eq(n, 1 + 1);
    gcs_pg_remove(gc, "pg01");
    memset(&r, 0, sizeof r);
    gcs_pg_get(gc, "pg01", on_pg, &r);
    ck_assert(wait_for(&r.done, 5000));
    ck_assert(!r.found);
    ck_assert_int_eq(int_cmd("SCARD", "pgs"), 0);
}
END_TEST

/* ------------------------------------------------- pipelining, reconnect */

struct seq { int next; int bad; int errors; bool done; int total; };
static void on_seq(void *arg, const struct gcs_reply *r)
{
    struct seq *s = arg;
    if (r == NULL || gcs_reply_type(r) != GCS_REPLY_INTEGER)
        s->errors++;
    else if (gcs_reply_integer(r) != s->next + 1)
        s->bad++;
    s->next++;
    if (s->next == s->total)
        s->done = true;
}

START_TEST(test_pipelining)
{
    struct seq s = { .total = 1000 };
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(gcs_command(gc, on_seq, &s, "INCR %scounter", gcs_client_prefix(gc)), 0);
    ck_assert(wait_for(&s.done, 10000));
    ck_assert_int_eq(s.errors, 0);
    ck_assert_int_eq(s.bad, 0);
}
END_TEST

static void spawn_redis(int p)
{
    snprintf(own_dir, sizeof own_dir, "/tmp/ray-unit-gcs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(own_dir));
    char ps[16], logfile[128];
    snprintf(ps, sizeof ps, "%d", p);
    snprintf(logfile, sizeof logfile, "%s/redis.log", own_dir);
    own_redis = fork();
    if (own_redis == 0) {
        execlp("redis-server", "redis-server", "--port", ps, "--bind", "127.0.0.1", "--dir",
               own_dir, "--save", "", "--appendonly", "no", "--logfile", logfile, "--requirepass",
               PW, (char *)NULL);
        _exit(127);
    }
}

static void on_state_log(void *arg, bool connected)
{
    int *p = arg;
    *p = connected ? 1 : 0;
}

START_TEST(test_reconnect_queue)
{
    int state = -1;
    gcs_client_on_state(gc, on_state_log, &state);
    unit_redis_stop(); /* SIGKILL */
    bool never = false;
    for (int i = 0; i < 200 && state != 0; i++)
        wait_for(&never, 20);
    ck_assert_int_eq(state, 0);
    ck_assert(!gcs_client_connected(gc));
    struct seq s = { .total = 50 };
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(gcs_command(gc, on_seq, &s, "INCR %scounter", gcs_client_prefix(gc)), 0);
    ck_assert_uint_eq(gcs_client_queued(gc), 50);
    wait_for(&never, 200); /* a few failed reconnect attempts */
    ck_assert_int_eq(s.next, 0);
    spawn_redis(port);
    ck_assert(wait_for(&s.done, 10000));
    ck_assert_int_eq(s.errors, 0);
    ck_assert_int_eq(s.bad, 0); /* fresh Redis, in order: 1..50 */
    ck_assert_int_eq(state, 1);
    ck_assert_uint_eq(gcs_client_queued(gc), 0);

    /* pub/sub came back too */
    struct msg_res m = { 0 };
    gcs_subscribe(gc, "ch:nodes", on_msg, &m);
    for (int i = 0; i < 100 && !m.done; i++) {
        gcs_node_mark_dead(gc, "bb02", "x");
        wait_for(&m.done, 50);
    }
    ck_assert_str_eq(m.msg, "bb02 DEAD");
}
END_TEST

START_TEST(test_wrong_password)
{
    struct gcs_client *bad = gcs_client_new(base, "127.0.0.1", port, "wrong", "test");
    int state = -1;
    gcs_client_on_state(bad, on_state_log, &state);
    bool never = false;
    for (int i = 0; i < 200 && state != 0; i++)
        wait_for(&never, 20);
    ck_assert_int_eq(state, 0);
    ck_assert(!gcs_client_connected(bad));
    char want[128];
    snprintf(want, sizeof want, "GCS at 127.0.0.1:%d: authentication failed (wrong cluster token?)",
             port);
    ck_assert_str_eq(gcs_client_errstr(bad), want);
    /* a command waits in the queue, and gets NULL when the client is freed */
    struct seq s = { .total = 1 };
    gcs_command(bad, on_seq, &s, "PING");
    gcs_client_free(bad);
    ck_assert_int_eq(s.errors, 1);
    ck_assert(gcs_client_new(base, "127.0.0.1", port, PW, "bad name") == NULL);
}
END_TEST

/* ------------------------------------------------------------ sync client */

START_TEST(test_sync_client)
{
    struct gcs_node n1 = { .node_id = "cc01", .address = "127.0.0.3", .port = 1,
                           .state = "ALIVE" };
    struct gcs_node n2 = { .node_id = "cc02", .address = "127.0.0.4", .port = 2 };
    gcs_node_register(gc, &n1, NULL, NULL);
    gcs_node_register(gc, &n2, NULL, NULL);
    gcs_object_add_location(gc, "00000001aa", "cc01", 99);
    sync_point();

    char err[256] = "";
    struct gcs_sync *gs = gcs_sync_connect("127.0.0.1", port, PW, "test", 2000, err, sizeof err);
    ck_assert_msg(gs != NULL, "%s", err);
    struct gcs_node *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(gcs_sync_nodes(gs, &v, &n), 0);
    ck_assert_uint_eq(n, 2);
    int ports = 0;
    for (size_t i = 0; i < n; i++) {
        ports += v[i].port;
        ck_assert_str_eq(v[i].state, "ALIVE");
        ck_assert_str_eq(v[i].death_reason, "");
    }
    ck_assert_int_eq(ports, 3);
    gcs_node_array_free(v, n);
    struct gcs_object *ov = NULL;
    ck_assert_int_eq(gcs_sync_objects(gs, &ov, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ov[0].object_id, "00000001aa");
    ck_assert_str_eq(ov[0].nodes, "cc01");
    ck_assert_str_eq(ov[0].job, "00000001");
    ck_assert_int_eq(ov[0].size, 99);
    gcs_object_array_free(ov, n);
    struct gcs_job *jv = NULL;
    ck_assert_int_eq(gcs_sync_jobs(gs, &jv, &n), 0);
    ck_assert_ptr_nonnull(jv);
    ck_assert_uint_eq(n, 0);
    gcs_job_array_free(jv, n);
    struct gcs_reply *r = gcs_sync_command(gs, "SCARD %snodes", gcs_sync_prefix(gs));
    ck_assert_int_eq(gcs_reply_integer(r), 2);
    gcs_reply_free(r);
    gcs_sync_free(gs);

    /* other cluster names see nothing */
    gs = gcs_sync_connect("127.0.0.1", port, PW, NULL, 2000, err, sizeof err);
    ck_assert_ptr_nonnull(gs);
    ck_assert_int_eq(gcs_sync_nodes(gs, &v, &n), 0);
    ck_assert_uint_eq(n, 0);
    gcs_node_array_free(v, n);
    gcs_sync_free(gs);

    char want[160];
    ck_assert(gcs_sync_connect("127.0.0.1", port, "nope", "test", 2000, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "GCS at 127.0.0.1:%d: authentication failed (wrong cluster token?)",
             port);
    ck_assert_str_eq(err, want);
    ck_assert(gcs_sync_connect("127.0.0.1", port, NULL, "test", 2000, err, sizeof err) == NULL);
    ck_assert_str_eq(err, want);
    unit_redis_stop();
    ck_assert(gcs_sync_connect("127.0.0.1", port, PW, "test", 2000, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "cannot reach GCS at 127.0.0.1:%d: Connection refused", port);
    ck_assert_str_eq(err, want);
}
END_TEST

/* ------------------------------------------------- free inside a callback */

struct freer { int calls; int nulls; };
static void on_free_me(void *arg, const struct gcs_reply *r)
{
    struct freer *f = arg;
    f->calls++;
    if (r == NULL)
        f->nulls++;
    if (f->calls == 1) {
        gcs_client_free(gc); /* deferred */
        gc = NULL;
    }
}

START_TEST(test_free_in_callback)
{
    struct freer f = { 0 };
    for (int i = 0; i < 3; i++)
        gcs_command(gc, on_free_me, &f, "PING");
    bool never = false;
    wait_for(&never, 300);
    ck_assert_int_eq(f.calls, 3); /* each callback exactly once */
    ck_assert_ptr_null(gc);
}
END_TEST

static Suite *gcs_suite(void)
{
    Suite *s = suite_create("gcs");
    TCase *tc = tcase_create("redis");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_node_table);
    tcase_add_test(tc, test_event_stream);
    tcase_add_test(tc, test_object_table);
    tcase_add_test(tc, test_task_table);
    tcase_add_test(tc, test_task_record);
    tcase_add_test(tc, test_task_record_burst);
    tcase_add_test(tc, test_task_record_jobs);
    tcase_add_test(tc, test_job_cleanup_keeps);
    tcase_add_test(tc, test_function_table);
    tcase_add_test(tc, test_job_table);
    tcase_add_test(tc, test_actor_table);
    tcase_add_test(tc, test_pg_table);
    tcase_add_test(tc, test_pipelining);
    tcase_add_test(tc, test_reconnect_queue);
    tcase_add_test(tc, test_wrong_password);
    tcase_add_test(tc, test_sync_client);
    tcase_add_test(tc, test_free_in_callback);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(gcs_suite);
