/*
 * serve_proxy.c — the HTTP proxy: actor class "ray_serve_proxy", one
 * detached instance per proxy node (named SERVE_PROXY, or SERVE_PROXY:IP).
 *
 * DESIGN. The actor's constructor starts an evhttp server on its own thread
 * (its own event_base: the node's event loop is another process and never
 * sees HTTP). That thread parses requests, routes them by longest prefix to
 * an application's ingress deployment, admits them (power of two choices
 * among replicas with fewer than max_ongoing_requests ongoing; otherwise the
 * deployment's queue; past max_queued_requests 503) and makes the actor
 * call itself: ray_actor_call, then a subscription to its result
 * (api/push.h: the node pushes the result to this process as soon as the
 * replica returns it, in the same message when it is at most
 * PROXY_PUSH_MAX bytes), so a request costs no thread hop and no round trip
 * of its own to the node. The thread is corked: the frames of every
 * request handled in one turn of its loop go to the node in one write, at
 * the end of the turn (flush_ev). It never waits for a reply; a write to
 * the node can wait while the node's socket buffer is full (back-pressure
 * from the node, not a round trip).
 *
 * Pushes arrive on the connection's I/O thread, which queues them and makes
 * done_ev active (libevent's pthreads support); the HTTP thread matches each
 * to its request (a hash by result ID that only it touches), sends the
 * response and admits queued requests. Two slow paths use a few caller
 * threads, which may block: a body over PROXY_INLINE_BODY is put in the
 * store first (ray_put), and a result over PROXY_PUSH_MAX (or spilled) is
 * fetched (ray_get) and sent straight from shared memory (an evbuffer
 * reference released after it is written). Each request has a timer on the
 * HTTP loop for request_timeout_s (504).
 *
 * Controllers own the routes: each one calls the proxy's "update" method
 * every 200 ms with its application's route and replica set and gets the
 * ongoing counts back (its autoscaling signal, and how it knows a replica it
 * took away has drained). A replica taken out of the set keeps serving the
 * requests it holds and is forgotten once idle. Nothing but routes of
 * deployments is served: no other path, no code, no admin API over HTTP.
 *
 * Locking: P.mu guards the routing state (applications, replicas, queues,
 * counters, the list of requests to start); the HTTP thread and the actor's
 * method thread take it briefly. P.qmu guards the queues of pushes and of
 * requests the caller threads finished. Everything else of a request
 * belongs to the HTTP thread except while a caller thread holds it.
 */
#include "libs/serve/serve_internal.h"

#include "api/push.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char serve_proxy_class_[] = "ray_serve_proxy";

#define PROXY_CALLERS 4               /* threads for the slow paths (ray_put, ray_get) */
#define PROXY_INLINE_BODY (64u << 10) /* larger bodies go through ray_put */
#define PROXY_PUSH_MAX (64u << 10)    /* larger results are fetched from shared memory */
#define PROXY_COPY_MAX 4096           /* smaller bodies are copied into the reply */
#define PROXY_MAX_BODY (64u << 20)
#define PROXY_FREE_BATCH 64           /* ray_free this many results at once */
#define PROXY_FREE_MAX 4096
#define PROXY_CALL_BUCKETS 1024       /* requests waiting for their push, by result ID */
#define PROXY_IDLE_MS 100             /* frees left over are written this often */

struct replica {
    ray_actor a;
    int ongoing;
    uint64_t total;
    bool in_set;   /* in its application's current set */
    struct replica *next;
};

struct preq;

/* Counters for /metrics (daemon/metrics_report.h), under P.mu: answers by
 * method and status code, and a latency histogram. Fixed arrays: nothing
 * is allocated per request. */
#define PROXY_CODES 24 /* (method, status) pairs told apart per application */
static const double lat_bounds_ms[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500,
                                        1000, 2000, 5000, 10000, 30000, 60000 };
#define PROXY_LAT_BUCKETS (sizeof lat_bounds_ms / sizeof lat_bounds_ms[0])
static const char *const method_names[] = { "GET", "POST", "HEAD", "PUT", "DELETE",
                                            "OPTIONS", "PATCH", "OTHER" };
struct stats {
    struct {
        uint16_t code;
        uint8_t method;
        uint64_t n;
    } codes[PROXY_CODES];
    size_t ncodes;
    uint64_t lat[PROXY_LAT_BUCKETS + 1]; /* the last: over every bound */
    double lat_sum_ms;
    uint64_t lat_n;
};

struct app {
    char name[SERVE_NAME_MAX], prefix[128], handler[SERVE_NAME_MAX];
    int max_ongoing, max_queued;
    double timeout_s;
    struct replica *reps; /* all, in the set or draining */
    size_t nset;
    struct preq *qhead, *qtail; /* waiting for room */
    int qlen;
    uint64_t total, errors, rejected;
    struct stats st;
    bool used;
};

/* Where a request is; the HTTP thread moves it on. */
enum preq_state {
    PREQ_QUEUED,   /* in its application's queue, or on P.starts */
    PREQ_PUTTING,  /* a caller thread puts its body in the store */
    PREQ_CALLED,   /* the call is made; waiting for its push (in P.calls) */
    PREQ_FETCHING, /* a caller thread gets its large result */
    PREQ_DONE,     /* answered by a caller thread, a push or remove: to finish */
};

struct preq {
    struct evhttp_request *req; /* NULL once the client went away */
    struct evhttp_connection *conn;
    struct app *app;
    struct replica *rep;
    enum evhttp_cmd_type cmd;
    enum preq_state state;
    double t0; /* when it came in (serve_now_), for the latency histogram */
    double timeout_s;
    int attempts;
    ray_ref ret, body_ref; /* freed (batched) once the answer is written */
    bool have_ret, have_body_ref;
    bool timer_on;
    /* the result: a push, or a value a caller thread got */
    int rc;
    struct api_push *push;
    ray_value v;
    bool have_v;
    struct preq *next;     /* in a queue or list */
    struct preq *hnext;    /* in its P.calls bucket */
    /* above: zeroed for each request; below: kept (preq_new) */
    struct event timer;    /* request_timeout_s, from the call */
    struct evbuffer *headers, *body; /* emptied, reused */
    char err[512];         /* rc's message (set with rc) */
    char method[16], path[2048], query[4096], handler[SERVE_NAME_MAX];
};
#define PREQ_ZEROED offsetof(struct preq, timer)
#define PREQ_SPARE_MAX 256 /* answered requests kept for the next ones */

static struct {
    pthread_mutex_t mu;
    struct app apps[SERVE_MAX_APPS];
    struct preq *starts, *starts_tail; /* admitted, for the HTTP thread to call (under mu) */
    struct event_base *base;
    struct evhttp *http;
    struct event *done_ev, *flush_ev, *idle_ev;
    bool flush_pending;
    pthread_t loop_th, callers[PROXY_CALLERS];
    /* work for callers */
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    struct preq *whead, *wtail;
    /* for the HTTP thread: pushes, and requests callers finished (under qmu) */
    pthread_mutex_t qmu;
    struct api_push *phead, *ptail;
    struct preq *dhead, *dtail;
    bool done_armed; /* done_ev made active since on_done last took the queues */
    /* HTTP thread only: calls waiting for their push; refs to free */
    struct preq *calls[PROXY_CALL_BUCKETS];
    ray_ref frees[PROXY_FREE_MAX];
    size_t nfrees;
    struct preq *spare; /* freed requests, reused: nothing allocated per request */
    size_t nspare;
    struct stats unrouted; /* answers no application had (400, 404, 405) */
    uint64_t stats_gen, reported_gen; /* answers counted; how many the last report had */
    double reported_at;
    bool started;
    char bind_host[64];
    int port;
    unsigned seed;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER, .wmu = PTHREAD_MUTEX_INITIALIZER,
        .wcv = PTHREAD_COND_INITIALIZER, .qmu = PTHREAD_MUTEX_INITIALIZER };

static void complete(struct preq *r);
static void run_starts(void);
static void stats_report(void);

/* ---- writes to the node (HTTP thread) ---------------------------------------------- */

/* Something was corked: write it at the end of this turn of the loop. */
static void want_flush(void)
{
    if (!P.flush_pending) {
        P.flush_pending = true;
        event_active(P.flush_ev, EV_TIMEOUT, 0);
    }
}

static void frees_write(void)
{
    if (P.nfrees) {
        ray_free(P.frees, P.nfrees);
        P.nfrees = 0;
    }
}

/* Queue REF for a batched ray_free. */
static void free_later(const ray_ref *ref)
{
    if (P.nfrees == PROXY_FREE_MAX)
        frees_write();
    P.frees[P.nfrees++] = *ref;
    want_flush();
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    P.flush_pending = false;
    if (P.nfrees >= PROXY_FREE_BATCH)
        frees_write();
    api_push_flush();
    api_push_cork();
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (P.nfrees) {
        frees_write();
        want_flush();
    }
    stats_report();
}

/* ---- calls waiting for their push (HTTP thread) ------------------------------------ */

static size_t call_bucket(const uint8_t *id)
{
    /* a process's IDs differ in their counter (bytes 12..15) */
    uint32_t h = ((uint32_t)id[12] << 24 | (uint32_t)id[13] << 16 | (uint32_t)id[14] << 8 | id[15]);
    return (h * 2654435761u >> 8) % PROXY_CALL_BUCKETS;
}

static void calls_put(struct preq *r)
{
    struct preq **b = &P.calls[call_bucket(r->ret.id)];
    r->hnext = *b;
    *b = r;
}

/* Take the request whose result ID is ID out of the table; NULL if none. */
static struct preq *calls_take(const uint8_t *id)
{
    for (struct preq **pp = &P.calls[call_bucket(id)]; *pp; pp = &(*pp)->hnext)
        if (memcmp((*pp)->ret.id, id, RAY_ID_SIZE) == 0) {
            struct preq *r = *pp;
            *pp = r->hnext;
            r->hnext = NULL;
            return r;
        }
    return NULL;
}

/* ---- the caller threads (slow paths) ------------------------------------------------ */

static void work_push(struct preq *r)
{
    pthread_mutex_lock(&P.wmu);
    r->next = NULL;
    if (P.wtail)
        P.wtail->next = r;
    else
        P.whead = r;
    P.wtail = r;
    pthread_cond_signal(&P.wcv);
    pthread_mutex_unlock(&P.wmu);
}

/* Hand R back to the HTTP thread (any thread). */
/* Wake the HTTP thread for what was queued, unless it is woken already
 * (P.qmu held): one event_active per batch, not per result, so the I/O
 * thread seldom takes the event base's lock. */
static bool done_arm(void)
{
    bool wake = !P.done_armed;
    P.done_armed = true;
    return wake;
}

static void done_push(struct preq *r)
{
    pthread_mutex_lock(&P.qmu);
    r->next = NULL;
    if (P.dtail)
        P.dtail->next = r;
    else
        P.dhead = r;
    P.dtail = r;
    bool wake = done_arm();
    pthread_mutex_unlock(&P.qmu);
    if (wake)
        event_active(P.done_ev, EV_READ, 0);
}

static void *caller_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&P.wmu);
        while (P.whead == NULL)
            pthread_cond_wait(&P.wcv, &P.wmu);
        struct preq *r = P.whead;
        P.whead = r->next;
        if (P.whead == NULL)
            P.wtail = NULL;
        pthread_mutex_unlock(&P.wmu);

        if (r->state == PREQ_PUTTING) {
            size_t bl = evbuffer_get_length(r->body);
            const void *bp = evbuffer_pullup(r->body, -1);
            r->rc = ray_put(RAY_BYTES_V(bp, bl), &r->body_ref);
            r->have_body_ref = r->rc == RAY_OK;
        } else {
            int64_t to = r->timeout_s > 0 ? (int64_t)(r->timeout_s * 1000) : -1;
            r->rc = ray_get(r->ret, to, &r->v);
            r->have_v = r->rc == RAY_OK;
        }
        if (r->rc != RAY_OK)
            snprintf(r->err, sizeof r->err, "%s", ray_last_error());
        done_push(r);
    }
    return NULL;
}

/* ---- pushes (the I/O thread) --------------------------------------------------------- */

static void on_push(void *arg, struct api_push *p)
{
    (void)arg;
    pthread_mutex_lock(&P.qmu);
    p->next = NULL;
    if (P.ptail)
        P.ptail->next = p;
    else
        P.phead = p;
    P.ptail = p;
    bool wake = done_arm();
    pthread_mutex_unlock(&P.qmu);
    if (wake)
        event_active(P.done_ev, EV_READ, 0);
}

/* ---- routing (under P.mu) --------------------------------------------------------- */

static struct app *route(const char *path)
{
    struct app *best = NULL;
    size_t bl = 0;
    for (size_t i = 0; i < SERVE_MAX_APPS; i++) {
        struct app *a = &P.apps[i];
        if (!a->used || !a->prefix[0] || !serve_prefix_match_(a->prefix, path))
            continue;
        size_t l = strlen(a->prefix);
        if (best == NULL || l > bl) {
            best = a;
            bl = l;
        }
    }
    return best;
}

/* Power of two choices among replicas in the set with room; AVOID is
 * skipped when another has room (a retry goes elsewhere). */
static struct replica *pick(struct app *a, struct replica *avoid)
{
    struct replica *room[SERVE_MAX_REPLICAS];
    size_t n = 0;
    for (struct replica *r = a->reps; r && n < SERVE_MAX_REPLICAS; r = r->next)
        if (r->in_set && r->ongoing < a->max_ongoing && r != avoid)
            room[n++] = r;
    if (n == 0 && avoid && avoid->in_set && avoid->ongoing < a->max_ongoing)
        return avoid;
    if (n == 0)
        return NULL;
    if (n == 1)
        return room[0];
    size_t i = (size_t)rand_r(&P.seed) % n, j = (size_t)rand_r(&P.seed) % (n - 1);
    if (j >= i)
        j++;
    return room[i]->ongoing <= room[j]->ongoing ? room[i] : room[j];
}

/* R goes to REP: counted now, called by the HTTP thread (run_starts). */
static void dispatch(struct preq *r, struct replica *rep)
{
    rep->ongoing++;
    r->rep = rep;
    snprintf(r->handler, sizeof r->handler, "%s", r->app->handler);
    r->timeout_s = r->app->timeout_s;
    r->state = PREQ_QUEUED;
    r->next = NULL;
    if (P.starts_tail)
        P.starts_tail->next = r;
    else
        P.starts = r;
    P.starts_tail = r;
}

static void enqueue(struct app *a, struct preq *r)
{
    r->rep = NULL;
    r->state = PREQ_QUEUED;
    r->next = NULL;
    if (a->qtail)
        a->qtail->next = r;
    else
        a->qhead = r;
    a->qtail = r;
    a->qlen++;
}

/* Admit queued requests of A while replicas have room. */
static void pump(struct app *a)
{
    while (a->qhead) {
        struct replica *rep = pick(a, NULL);
        if (rep == NULL)
            return;
        struct preq *r = a->qhead;
        a->qhead = r->next;
        if (a->qhead == NULL)
            a->qtail = NULL;
        a->qlen--;
        dispatch(r, rep);
    }
}

/* Forget idle replicas out of the set. */
static void reap(struct app *a)
{
    struct replica **pp = &a->reps;
    while (*pp) {
        struct replica *r = *pp;
        if (!r->in_set && r->ongoing == 0) {
            *pp = r->next;
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* ---- metrics (under P.mu) ------------------------------------------------------------ */

static int method_index(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET: return 0;
    case EVHTTP_REQ_POST: return 1;
    case EVHTTP_REQ_HEAD: return 2;
    case EVHTTP_REQ_PUT: return 3;
    case EVHTTP_REQ_DELETE: return 4;
    case EVHTTP_REQ_OPTIONS: return 5;
    case EVHTTP_REQ_PATCH: return 6;
    default: return 7;
    }
}

/* One answer with status CODE to a request that came in at T0. */
static void stats_count(struct stats *s, enum evhttp_cmd_type cmd, int code, double t0)
{
    uint8_t m = (uint8_t)method_index(cmd);
    size_t i = 0;
    while (i < s->ncodes && !(s->codes[i].code == code && s->codes[i].method == m))
        i++;
    if (i == s->ncodes) {
        if (s->ncodes == PROXY_CODES) /* full: counted with the last pair */
            i = PROXY_CODES - 1;
        else {
            s->ncodes++;
            s->codes[i].code = (uint16_t)code;
            s->codes[i].method = m;
            s->codes[i].n = 0;
        }
    }
    s->codes[i].n++;
    double ms = (serve_now_() - t0) * 1000;
    if (ms < 0)
        ms = 0;
    size_t b = 0;
    while (b < PROXY_LAT_BUCKETS && ms > lat_bounds_ms[b])
        b++;
    s->lat[b]++;
    s->lat_sum_ms += ms;
    s->lat_n++;
    P.stats_gen++;
}

/* The status code R's answer will have (reply() sends it). */
static int answer_code(struct preq *r)
{
    if (r->rc == RAY_OK) {
        int st;
        const char *ct;
        size_t ctl, bl;
        const void *body;
        const ray_value *v = r->push ? &r->push->value : &r->v;
        return serve_resp_decode_(v, &st, &ct, &ctl, &body, &bl) < 0 ? 500 : st;
    }
    if (r->rc == RAY_ETIMEOUT)
        return 504;
    if (r->rc == RAY_ENOTFOUND || r->rc == RAY_EACTOR || r->rc == RAY_EWORKER)
        return 503;
    return 500;
}

/* A label value, escaped (Prometheus text format). */
static void prom_label(struct evbuffer *o, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            evbuffer_add_printf(o, "\\%c", *v);
        else if (*v == '\n')
            evbuffer_add(o, "\\n", 2);
        else if ((unsigned char)*v >= 0x20)
            evbuffer_add(o, v, 1);
    }
}

/* route=..,application=.. of A (NULL: the unrouted answers) */
static void prom_app(struct evbuffer *o, const struct app *a, const char *node)
{
    evbuffer_add_printf(o, "route=\"");
    prom_label(o, a ? a->prefix : "");
    evbuffer_add_printf(o, "\",application=\"");
    prom_label(o, a ? a->name : "");
    evbuffer_add_printf(o, "\",NodeId=\"%s\"", node);
}

/* This proxy's series (Ray's names), for its node's /metrics. A report
 * stays under the node's 256 KiB: past 200 KiB, further applications are
 * left out of a family (32 applications with every status code). */
#define ROOM(o) (evbuffer_get_length(o) < (200u << 10))
static void stats_write(struct evbuffer *o)
{
    const char *node = ray_node_id();
    struct { const struct app *a; const struct stats *s; } all[SERVE_MAX_APPS + 1];
    size_t n = 0;
    for (size_t i = 0; i < SERVE_MAX_APPS; i++)
        if (P.apps[i].used)
            all[n++] = (typeof(all[0])){ &P.apps[i], &P.apps[i].st };
    all[n++] = (typeof(all[0])){ NULL, &P.unrouted };

    evbuffer_add_printf(o, "# HELP ray_serve_num_http_requests_total HTTP requests this proxy "
                           "answered, by route, method and status code\n"
                           "# TYPE ray_serve_num_http_requests_total counter\n");
    for (size_t k = 0; k < n && ROOM(o); k++)
        for (size_t i = 0; i < all[k].s->ncodes; i++) {
            evbuffer_add_printf(o, "ray_serve_num_http_requests_total{");
            prom_app(o, all[k].a, node);
            evbuffer_add_printf(o, ",method=\"%s\",status_code=\"%d\"} %llu\n",
                                method_names[all[k].s->codes[i].method], all[k].s->codes[i].code,
                                (unsigned long long)all[k].s->codes[i].n);
        }
    evbuffer_add_printf(o, "# HELP ray_serve_num_http_error_requests_total HTTP requests this "
                           "proxy answered with a 4xx or 5xx status\n"
                           "# TYPE ray_serve_num_http_error_requests_total counter\n");
    for (size_t k = 0; k < n && ROOM(o); k++)
        for (size_t i = 0; i < all[k].s->ncodes; i++) {
            if (all[k].s->codes[i].code < 400)
                continue;
            evbuffer_add_printf(o, "ray_serve_num_http_error_requests_total{");
            prom_app(o, all[k].a, node);
            evbuffer_add_printf(o, ",method=\"%s\",error_code=\"%d\"} %llu\n",
                                method_names[all[k].s->codes[i].method], all[k].s->codes[i].code,
                                (unsigned long long)all[k].s->codes[i].n);
        }
    evbuffer_add_printf(o, "# HELP ray_serve_http_request_latency_ms Time from a request's "
                           "arrival at this proxy to its answer (ms)\n"
                           "# TYPE ray_serve_http_request_latency_ms histogram\n");
    for (size_t k = 0; k < n && ROOM(o); k++) {
        const struct stats *s = all[k].s;
        if (s->lat_n == 0)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b <= PROXY_LAT_BUCKETS; b++) {
            cum += s->lat[b];
            evbuffer_add_printf(o, "ray_serve_http_request_latency_ms_bucket{");
            prom_app(o, all[k].a, node);
            if (b < PROXY_LAT_BUCKETS)
                evbuffer_add_printf(o, ",le=\"%g\"} %llu\n", lat_bounds_ms[b],
                                    (unsigned long long)cum);
            else
                evbuffer_add_printf(o, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        evbuffer_add_printf(o, "ray_serve_http_request_latency_ms_sum{");
        prom_app(o, all[k].a, node);
        evbuffer_add_printf(o, "} %.3f\n", s->lat_sum_ms);
        evbuffer_add_printf(o, "ray_serve_http_request_latency_ms_count{");
        prom_app(o, all[k].a, node);
        evbuffer_add_printf(o, "} %llu\n", (unsigned long long)s->lat_n);
    }
    evbuffer_add_printf(o, "# HELP ray_serve_num_ongoing_http_requests Requests this proxy holds "
                           "(at a replica or queued)\n"
                           "# TYPE ray_serve_num_ongoing_http_requests gauge\n");
    for (size_t k = 0; k + 1 < n && ROOM(o); k++) {
        int ongoing = 0;
        for (const struct replica *r = all[k].a->reps; r; r = r->next)
            ongoing += r->ongoing;
        evbuffer_add_printf(o, "ray_serve_num_ongoing_http_requests{");
        prom_app(o, all[k].a, node);
        evbuffer_add_printf(o, "} %d\n", ongoing + all[k].a->qlen);
    }
    evbuffer_add_printf(o, "# HELP ray_serve_deployment_queued_queries Requests queued at this "
                           "proxy for a replica with room\n"
                           "# TYPE ray_serve_deployment_queued_queries gauge\n");
    for (size_t k = 0; k + 1 < n && ROOM(o); k++) {
        evbuffer_add_printf(o, "ray_serve_deployment_queued_queries{");
        prom_app(o, all[k].a, node);
        evbuffer_add_printf(o, "} %d\n", all[k].a->qlen);
    }
    evbuffer_add_printf(o, "# HELP ray_serve_num_router_requests_rejected_total Requests refused "
                           "with 503 past max_queued_requests\n"
                           "# TYPE ray_serve_num_router_requests_rejected_total counter\n");
    for (size_t k = 0; k + 1 < n && ROOM(o); k++) {
        evbuffer_add_printf(o, "ray_serve_num_router_requests_rejected_total{");
        prom_app(o, all[k].a, node);
        evbuffer_add_printf(o, "} %llu\n", (unsigned long long)all[k].a->rejected);
    }
}

/* Report the series to the node when they changed (at most once a second)
 * or every 5 s (a report lives 15 s there). HTTP thread, corked. */
static void stats_report(void)
{
    double now = serve_now_();
    pthread_mutex_lock(&P.mu);
    bool due = (P.stats_gen != P.reported_gen && now - P.reported_at >= 1.0) ||
               now - P.reported_at >= 5.0;
    if (!due) {
        pthread_mutex_unlock(&P.mu);
        return;
    }
    struct evbuffer *o = evbuffer_new();
    if (o)
        stats_write(o);
    P.reported_gen = P.stats_gen;
    P.reported_at = now;
    pthread_mutex_unlock(&P.mu);
    if (o == NULL)
        return;
    size_t len = evbuffer_get_length(o);
    if (api_metrics_report((const char *)evbuffer_pullup(o, -1), len) != RAY_OK)
        fprintf(stderr, "ray_serve_proxy: metrics report: %s\n", ray_last_error());
    evbuffer_free(o);
    want_flush();
}

/* ---- the HTTP side ------------------------------------------------------------------ */

/* A request to fill (HTTP thread): a spare one, or a new one. NULL if out of memory. */
static struct preq *preq_new(void)
{
    struct preq *r = P.spare;
    if (r) {
        P.spare = r->next;
        P.nspare--;
        memset(r, 0, PREQ_ZEROED);
        r->err[0] = '\0';
        return r;
    }
    if ((r = calloc(1, sizeof *r)) == NULL)
        return NULL;
    if ((r->headers = evbuffer_new()) == NULL || (r->body = evbuffer_new()) == NULL) {
        evbuffer_free(r->headers);
        free(r);
        return NULL;
    }
    return r;
}

static void preq_free(struct preq *r)
{
    if (r == NULL)
        return;
    if (r->timer_on)
        evtimer_del(&r->timer);
    if (r->have_v)
        ray_value_release(&r->v); /* an OBJ_RELEASE, corked */
    api_push_free(r->push);
    /* the answer is written (or dropped): its objects can go now */
    if (r->have_ret)
        free_later(&r->ret);
    if (r->have_body_ref)
        free_later(&r->body_ref);
    want_flush();
    if (P.nspare < PREQ_SPARE_MAX && evbuffer_get_length(r->body) <= PROXY_INLINE_BODY) {
        evbuffer_drain(r->headers, evbuffer_get_length(r->headers));
        evbuffer_drain(r->body, evbuffer_get_length(r->body));
        r->next = P.spare;
        P.spare = r;
        P.nspare++;
        return;
    }
    evbuffer_free(r->headers);
    evbuffer_free(r->body);
    free(r);
}

static void on_conn_close(struct evhttp_connection *c, void *arg)
{
    struct preq *r = arg;
    (void)c;
    r->req = NULL; /* evhttp frees the request with the connection */
    r->conn = NULL;
}

static void send_text(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_text(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
{
    struct evbuffer *b = evbuffer_new();
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(b, fmt, ap);
    va_end(ap);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void release_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    preq_free(arg);
}

/* Send R's result and free R (now, or once its body is written). */
static void reply(struct preq *r)
{
    struct evhttp_request *req = r->req;
    if (req == NULL) {
        preq_free(r);
        return;
    }
    if (r->conn)
        evhttp_connection_set_closecb(r->conn, NULL, NULL);
    if (r->rc == RAY_OK) {
        int st;
        const char *ct;
        size_t ctl, bl;
        const void *body;
        const ray_value *v = r->push ? &r->push->value : &r->v;
        if (serve_resp_decode_(v, &st, &ct, &ctl, &body, &bl) < 0) {
            send_text(req, 500, "Internal Server Error",
                      "ray_serve: the handler returned a value that is not a response\n");
            preq_free(r);
            return;
        }
        char ctype[256];
        snprintf(ctype, sizeof ctype, "%.*s", (int)ctl, ct);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
        struct evbuffer *b = evbuffer_new();
        bool by_ref = bl > PROXY_COPY_MAX;
        if (by_ref)
            evbuffer_add_reference(b, body, bl, release_cb, r);
        else if (bl)
            evbuffer_add(b, body, bl);
        evhttp_send_reply(req, st, NULL, b);
        evbuffer_free(b);
        if (!by_ref)
            preq_free(r);
        return;
    }
    fprintf(stderr, "ray_serve_proxy: %s %s: %s: %s\n", r->method, r->path, ray_strerror(r->rc),
            r->err);
    if (r->rc == RAY_ETIMEOUT)
        send_text(req, 504, "Gateway Timeout", "request timed out after %.3g s\n", r->timeout_s);
    else if (r->rc == RAY_ETASK)
        send_text(req, 500, "Internal Server Error", "%s\n", r->err);
    else if (r->rc == RAY_ENOTFOUND)
        send_text(req, 503, "Service Unavailable", "%s: %s\n", ray_strerror(r->rc), r->err);
    else if (r->rc == RAY_EACTOR || r->rc == RAY_EWORKER)
        send_text(req, 503, "Service Unavailable", "the replica died: %s\n", r->err);
    else
        send_text(req, 500, "Internal Server Error", "%s: %s\n", ray_strerror(r->rc), r->err);
    preq_free(r);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct preq *r = arg;
    r->timer_on = false;
    if (r->state != PREQ_CALLED || calls_take(r->ret.id) != r)
        return; /* being fetched: that ray_get has the same timeout */
    r->rc = RAY_ETIMEOUT;
    snprintf(r->err, sizeof r->err, "no answer from the replica");
    complete(r); /* a late push finds no request: dropped */
    run_starts();
}

/* Make R's actor call (HTTP thread, corked); a large body is put first. */
static void call(struct preq *r)
{
    size_t hl = evbuffer_get_length(r->headers), bl = evbuffer_get_length(r->body);
    if (bl > PROXY_INLINE_BODY && !r->have_body_ref) { /* (a retry reuses it) */
        r->state = PREQ_PUTTING;
        work_push(r);
        return;
    }
    const void *hp = evbuffer_pullup(r->headers, -1);
    const void *bp = r->have_body_ref ? NULL : evbuffer_pullup(r->body, -1);
    ray_value args[SERVE_REQ_NARGS];
    serve_req_args_(args, r->method, r->path, r->query, hp, hl, bp, bl);
    if (r->have_body_ref)
        args[4] = RAY_R(r->body_ref);
    if (r->have_ret) { /* a retry: the failed attempt's result goes */
        free_later(&r->ret);
        r->have_ret = false;
    }
    r->rc = ray_actor_call(r->rep->a, r->handler, args, SERVE_REQ_NARGS, NULL, &r->ret);
    if (r->rc == RAY_OK) {
        r->have_ret = true;
        r->rc = api_push_subscribe(&r->ret, PROXY_PUSH_MAX);
    }
    want_flush();
    if (r->rc != RAY_OK) {
        snprintf(r->err, sizeof r->err, "%s", ray_last_error());
        r->state = PREQ_DONE;
        done_push(r); /* finished in the next turn, not inside this one */
        return;
    }
    r->state = PREQ_CALLED;
    calls_put(r);
    if (r->timeout_s > 0) {
        struct timeval tv = { (time_t)r->timeout_s,
                              (suseconds_t)((r->timeout_s - (double)(time_t)r->timeout_s) * 1e6) };
        evtimer_assign(&r->timer, P.base, on_timeout, r);
        evtimer_add(&r->timer, &tv);
        r->timer_on = true;
    }
}

/* Call the requests admitted meanwhile (HTTP thread). */
static void run_starts(void)
{
    for (;;) {
        pthread_mutex_lock(&P.mu);
        struct preq *list = P.starts;
        P.starts = P.starts_tail = NULL;
        pthread_mutex_unlock(&P.mu);
        if (list == NULL)
            return;
        while (list) {
            struct preq *r = list;
            list = r->next;
            r->next = NULL;
            call(r);
        }
    }
}

/* R has its result (or failed): count it, retry it once if its replica died
 * and it is a GET, else answer it; admit what waits (HTTP thread). */
static void complete(struct preq *r)
{
    bool answer = true;
    if (r->timer_on) {
        evtimer_del(&r->timer);
        r->timer_on = false;
    }
    pthread_mutex_lock(&P.mu);
    struct app *a = r->app;
    struct replica *dead = r->rep;
    if (dead) {
        dead->ongoing--;
        dead->total++;
    }
    r->rep = NULL;
    bool died = r->rc == RAY_EACTOR || r->rc == RAY_EWORKER;
    if (died && r->cmd == EVHTTP_REQ_GET && r->attempts == 0 && r->req && a->used) {
        /* an idempotent request is retried once, on another replica if one has room */
        r->attempts++;
        r->rc = RAY_OK;
        r->err[0] = '\0';
        api_push_free(r->push);
        r->push = NULL;
        struct replica *rep = pick(a, dead);
        if (rep)
            dispatch(r, rep);
        else
            enqueue(a, r);
        answer = false;
    } else {
        a->total++;
        if (r->rc != RAY_OK)
            a->errors++;
        stats_count(&a->st, r->cmd, answer_code(r), r->t0);
    }
    pump(a);
    reap(a);
    pthread_mutex_unlock(&P.mu);
    if (answer)
        reply(r);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pthread_mutex_lock(&P.qmu);
    struct api_push *pushes = P.phead;
    struct preq *dones = P.dhead;
    P.phead = P.ptail = NULL;
    P.dhead = P.dtail = NULL;
    P.done_armed = false;
    pthread_mutex_unlock(&P.qmu);
    while (pushes) {
        struct api_push *p = pushes;
        pushes = p->next;
        struct preq *r = calls_take(p->id);
        if (r == NULL) { /* timed out, or freed meanwhile */
            api_push_free(p);
            continue;
        }
        if (p->status != RAY_OK) {
            r->rc = p->status;
            snprintf(r->err, sizeof r->err, "%s", p->error);
            api_push_free(p);
        } else if (p->fetch) {
            api_push_free(p);
            if (r->timer_on) {
                evtimer_del(&r->timer);
                r->timer_on = false;
            }
            r->state = PREQ_FETCHING;
            work_push(r);
            continue;
        } else {
            r->push = p;
        }
        r->state = PREQ_DONE;
        complete(r);
    }
    while (dones) {
        struct preq *r = dones;
        dones = r->next;
        r->next = NULL;
        if (r->state == PREQ_PUTTING && r->rc == RAY_OK)
            call(r);
        else
            complete(r);
    }
    run_starts();
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct preq *r = preq_new();
    if (r == NULL) {
        send_text(req, 503, "Service Unavailable", "out of memory\n");
        return;
    }
    r->t0 = serve_now_();
    int bad = serve_http_parts_(req, r->method, sizeof r->method, r->path, sizeof r->path, r->query,
                                sizeof r->query, r->headers, r->body);
    if (bad) {
        pthread_mutex_lock(&P.mu);
        stats_count(&P.unrouted, evhttp_request_get_command(req), bad, r->t0);
        pthread_mutex_unlock(&P.mu);
        preq_free(r);
        send_text(req, bad, bad == 405 ? "Method Not Allowed" : "Bad Request",
                  bad == 405 ? "method not allowed\n" : "bad request target\n");
        return;
    }
    r->req = req;
    r->cmd = evhttp_request_get_command(req);
    const char *path = r->path;
    pthread_mutex_lock(&P.mu);
    struct app *a = route(path);
    if (a == NULL) {
        stats_count(&P.unrouted, r->cmd, 404, r->t0);
        pthread_mutex_unlock(&P.mu);
        preq_free(r);
        send_text(req, 404, "Not Found", "no application serves %s\n", path);
        return;
    }
    r->app = a;
    struct replica *rep = pick(a, NULL);
    if (rep == NULL && a->max_queued >= 0 && a->qlen >= a->max_queued) {
        a->rejected++;
        stats_count(&a->st, r->cmd, 503, r->t0);
        pthread_mutex_unlock(&P.mu);
        preq_free(r);
        send_text(req, 503, "Service Unavailable",
                  "application %s is over its queue limit (max_queued_requests %d)\n", a->name,
                  a->max_queued);
        return;
    }
    r->conn = evhttp_request_get_connection(req);
    if (r->conn)
        evhttp_connection_set_closecb(r->conn, on_conn_close, r);
    if (rep)
        dispatch(r, rep);
    else
        enqueue(a, r);
    pthread_mutex_unlock(&P.mu);
    run_starts();
}

static void *loop_main(void *arg)
{
    (void)arg;
    api_push_cork(); /* this thread's frames go out once per turn (on_flush) */
    event_base_dispatch(P.base);
    return NULL;
}

/* ---- the actor -------------------------------------------------------------------------- */

/* init args: host, port */
static void *ray_serve_proxy_new(ray_task *t, const ray_value *args, size_t nargs)
{
    if (P.started) /* one proxy per process */
        return &P;
    if (nargs != 2 || args[0].type != RAY_STR || args[1].type != RAY_INT) {
        ray_fail(t, "ray_serve_proxy: wants (host, port)");
        return NULL;
    }
    snprintf(P.bind_host, sizeof P.bind_host, "%s", (const char *)args[0].as.buf.ptr);
    P.port = (int)args[1].as.i;
    P.seed = (unsigned)getpid();
    evthread_use_pthreads();
    /* epoll's changelist: a connection's read/write interest, switched
     * several times in one loop turn by evhttp, costs one epoll_ctl */
    struct event_config *cfg = event_config_new();
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    P.base = cfg ? event_base_new_with_config(cfg) : NULL;
    if (cfg)
        event_config_free(cfg);
    if (P.base == NULL)
        P.base = event_base_new();
    P.http = P.base ? evhttp_new(P.base) : NULL;
    if (P.http == NULL) {
        ray_fail(t, "ray_serve_proxy: out of memory");
        return NULL;
    }
    evhttp_set_max_body_size(P.http, PROXY_MAX_BODY);
    evhttp_set_timeout(P.http, 120);
    evhttp_set_allowed_methods(P.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                           EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(P.http, on_request, NULL);
    struct evhttp_bound_socket *bs = NULL;
    for (int i = 0; i < 50 && bs == NULL; i++) { /* a restarted proxy may find the port busy a moment */
        bs = evhttp_bind_socket_with_handle(P.http, P.bind_host, (uint16_t)P.port);
        if (bs == NULL)
            usleep(100 * 1000);
    }
    if (bs == NULL) {
        ray_fail(t, "ray_serve_proxy: cannot listen on %s:%d", P.bind_host, P.port);
        return NULL;
    }
    P.done_ev = event_new(P.base, -1, EV_READ | EV_PERSIST, on_done, NULL);
    P.flush_ev = event_new(P.base, -1, 0, on_flush, NULL);
    P.idle_ev = event_new(P.base, -1, EV_PERSIST, on_idle, NULL);
    if (P.done_ev == NULL || P.flush_ev == NULL || P.idle_ev == NULL) {
        ray_fail(t, "ray_serve_proxy: out of memory");
        return NULL;
    }
    struct timeval idle = { 0, PROXY_IDLE_MS * 1000 };
    event_add(P.done_ev, NULL);
    event_add(P.idle_ev, &idle);
    api_push_handler_set(on_push, NULL);
    for (int i = 0; i < PROXY_CALLERS; i++)
        pthread_create(&P.callers[i], NULL, caller_main, NULL);
    pthread_create(&P.loop_th, NULL, loop_main, NULL);
    P.started = true;
    fprintf(stderr, "ray_serve_proxy: listening on http://%s:%d\n", P.bind_host, P.port);
    return &P;
}

static void ray_serve_proxy_free(void *self)
{
    (void)self; /* the process ends with the actor; its threads with it */
}

static struct app *app_find(const char *name, bool make)
{
    struct app *freeslot = NULL;
    for (size_t i = 0; i < SERVE_MAX_APPS; i++) {
        if (P.apps[i].used && !strcmp(P.apps[i].name, name))
            return &P.apps[i];
        if (!P.apps[i].used && freeslot == NULL && P.apps[i].reps == NULL && P.apps[i].qhead == NULL)
            freeslot = &P.apps[i];
    }
    if (!make || freeslot == NULL)
        return NULL;
    memset(freeslot, 0, sizeof *freeslot);
    snprintf(freeslot->name, sizeof freeslot->name, "%s", name);
    freeslot->used = true;
    return freeslot;
}

/* update(app, prefix, handler, max_ongoing, max_queued, timeout_s, [replicas...])
 *   -> [queued, draining, [ongoing per replica, in the order given]] */
static int ray_serve_proxy_update(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    if (n != 7 || a[0].type != RAY_STR || a[1].type != RAY_STR || a[2].type != RAY_STR ||
        a[3].type != RAY_INT || a[4].type != RAY_INT || a[5].type != RAY_FLOAT ||
        a[6].type != RAY_LIST || ray_list_len(&a[6]) > SERVE_MAX_REPLICAS)
        return ray_fail(t, "ray_serve_proxy.update: bad arguments");
    size_t nr = ray_list_len(&a[6]);
    ray_value ongoing[SERVE_MAX_REPLICAS], out[3];
    pthread_mutex_lock(&P.mu);
    struct app *ap = app_find(a[0].as.buf.ptr, true);
    if (ap == NULL) {
        pthread_mutex_unlock(&P.mu);
        return ray_fail(t, "ray_serve_proxy: too many applications");
    }
    snprintf(ap->prefix, sizeof ap->prefix, "%s", (const char *)a[1].as.buf.ptr);
    snprintf(ap->handler, sizeof ap->handler, "%s", (const char *)a[2].as.buf.ptr);
    ap->max_ongoing = (int)a[3].as.i;
    ap->max_queued = (int)a[4].as.i;
    ap->timeout_s = a[5].as.f;
    for (struct replica *r = ap->reps; r; r = r->next)
        r->in_set = false;
    for (size_t i = 0; i < nr; i++) {
        const ray_value *e = ray_list_at(&a[6], i);
        struct replica *r = NULL;
        if (e->type == RAY_ACTOR) {
            for (r = ap->reps; r; r = r->next)
                if (!memcmp(&r->a, &e->as.actor, sizeof r->a))
                    break;
            if (r == NULL && (r = calloc(1, sizeof *r)) != NULL) {
                r->a = e->as.actor;
                r->next = ap->reps;
                ap->reps = r;
            }
        }
        if (r)
            r->in_set = true;
        ongoing[i] = RAY_I(r ? r->ongoing : 0);
    }
    ap->nset = nr;
    int64_t draining = 0;
    for (struct replica *r = ap->reps; r; r = r->next)
        if (!r->in_set)
            draining += r->ongoing;
    out[0] = RAY_I(ap->qlen);
    out[1] = RAY_I(draining);
    out[2] = RAY_LIST_V(ongoing, nr);
    pump(ap);
    reap(ap);
    pthread_mutex_unlock(&P.mu);
    if (P.done_ev)
        event_active(P.done_ev, EV_READ, 0); /* in case pump admitted nothing but routes changed */
    return ray_return(t, RAY_LIST_V(out, 3));
}

/* remove(app): its route goes; queued requests get 503; ongoing ones finish. */
static int ray_serve_proxy_remove(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    if (n != 1 || a[0].type != RAY_STR)
        return ray_fail(t, "ray_serve_proxy.remove: bad arguments");
    int64_t left = 0;
    pthread_mutex_lock(&P.mu);
    struct app *ap = app_find(a[0].as.buf.ptr, false);
    if (ap) {
        ap->used = false;
        ap->prefix[0] = '\0';
        for (struct replica *r = ap->reps; r; r = r->next) {
            r->in_set = false;
            left += r->ongoing;
        }
        while (ap->qhead) {
            struct preq *r = ap->qhead;
            ap->qhead = r->next;
            r->rep = NULL;
            r->rc = RAY_ENOTFOUND;
            r->state = PREQ_DONE;
            snprintf(r->err, sizeof r->err, "application %s was deleted", ap->name);
            done_push(r);
        }
        ap->qtail = NULL;
        ap->qlen = 0;
        reap(ap);
    }
    pthread_mutex_unlock(&P.mu);
    if (P.done_ev)
        event_active(P.done_ev, EV_READ, 0);
    return ray_return(t, RAY_I(left));
}

/* status() -> STR: one line per application */
static int ray_serve_proxy_status(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    char buf[8192];
    size_t used = 0;
    pthread_mutex_lock(&P.mu);
    used += (size_t)snprintf(buf, sizeof buf, "proxy http://%s:%d on node %.8s\n", P.bind_host,
                             P.port, ray_node_id());
    for (size_t i = 0; i < SERVE_MAX_APPS && used < sizeof buf - 256; i++) {
        struct app *ap = &P.apps[i];
        if (!ap->used)
            continue;
        int ongoing = 0;
        for (struct replica *r = ap->reps; r; r = r->next)
            ongoing += r->ongoing;
        used += (size_t)snprintf(buf + used, sizeof buf - used,
                                 "  route %s -> %s: %zu replicas, %d ongoing, %d queued, %llu "
                                 "requests, %llu errors, %llu rejected (503)\n",
                                 ap->prefix[0] ? ap->prefix : "(none)", ap->name, ap->nset, ongoing,
                                 ap->qlen, (unsigned long long)ap->total,
                                 (unsigned long long)ap->errors, (unsigned long long)ap->rejected);
    }
    pthread_mutex_unlock(&P.mu);
    return ray_return(t, RAY_S(buf));
}

/* apps() -> [names of the applications it routes] */
static int ray_serve_proxy_apps(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    char names[SERVE_MAX_APPS][SERVE_NAME_MAX];
    ray_value out[SERVE_MAX_APPS];
    size_t k = 0;
    pthread_mutex_lock(&P.mu);
    for (size_t i = 0; i < SERVE_MAX_APPS; i++)
        if (P.apps[i].used) {
            memcpy(names[k], P.apps[i].name, SERVE_NAME_MAX);
            out[k] = RAY_S(names[k]);
            k++;
        }
    pthread_mutex_unlock(&P.mu);
    return ray_return(t, RAY_LIST_V(out, k)); /* copied */
}

/* ping() -> INT 1: the proxy is up */
static int ray_serve_proxy_ping(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    return ray_return(t, RAY_I(1));
}

/* address() -> LIST [STR host, INT port]: where this proxy listens (a deploy
 * asking for another address must not print one the proxy does not serve) */
static int ray_serve_proxy_address(void *self, ray_task *t, const ray_value *a, size_t n)
{
    (void)self;
    (void)a;
    (void)n;
    ray_value v[2] = { RAY_S(P.bind_host), RAY_I(P.port) };
    return ray_return(t, RAY_LIST_V(v, 2)); /* copied */
}

RAY_ACTOR(ray_serve_proxy);
RAY_METHOD(ray_serve_proxy, address);
RAY_METHOD(ray_serve_proxy, update);
RAY_METHOD(ray_serve_proxy, remove);
RAY_METHOD(ray_serve_proxy, status);
RAY_METHOD(ray_serve_proxy, ping);
RAY_METHOD(ray_serve_proxy, apps);
