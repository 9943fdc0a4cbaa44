/*
 * events.c — timeline events of this process (a worker or a driver): spans
 * of task phases and of ray_get / ray_wait / ray_put, kept in memory and sent
 * to the node in batches (EVENTS, docs/protocol.md), which appends each batch
 * to the GCS timeline stream (`ray timeline` reads it).
 *
 * Cheap by design: recording a span is a clock read and a short formatted
 * append under an uncontended mutex; a batch goes out when it holds
 * API_EVENTS_BATCH events or its first event is 100 ms old (checked when an
 * event is added), when a worker runs out of work (at most every 1 ms, so a
 * job's last events are out before its workers are stopped), or at
 * ray_shutdown.
 * RAY_TIMELINE=0 in the environment turns recording off.
 */
#include "api/api_internal.h"

#include "common/buf.h"
#include "common/ids.h"
#include "common/proto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_EVENTS_BATCH 512
#define API_EVENTS_AGE_US 100000
#define API_EVENTS_IDLE_US 1000 /* an idle worker sends at most this often */

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf ev_buf;       /* under ev_mu: lines not yet sent */
static int ev_n;                /* under ev_mu */
static long long ev_first_us;   /* under ev_mu: when the oldest was recorded */
static atomic_int ev_pending;   /* ev_n, readable without the lock */
static int ev_enabled = -1;     /* -1: not decided yet */
static _Atomic long long ev_last_flush_us; /* when a batch last went out */

long long api_events_now_us_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool api_events_on_(void)
{
    if (ev_enabled < 0) {
        const char *e = getenv("RAY_TIMELINE");
        ev_enabled = !(e && strcmp(e, "0") == 0);
    }
    return ev_enabled; /* not connected: the batch is dropped when it is sent */
}

/* Take the batch (under ev_mu) into FRAME. */
static void take_locked(struct buf *frame)
{
    /* events are best effort: a batch that ran out of memory is dropped */
    if (ev_n > 0 && (buf_failed(&ev_buf) ||
                     proto_pack(frame, PROTO_EVENTS, ev_buf.data, ev_buf.len) < 0))
        buf_reset(frame);
    buf_reset(&ev_buf);
    ev_n = 0;
    atomic_store(&ev_pending, 0);
}

void api_events_flush_(void)
{
    if (atomic_load(&ev_pending) == 0)
        return;
    struct buf frame = BUF_INIT;
    pthread_mutex_lock(&ev_mu);
    take_locked(&frame);
    pthread_mutex_unlock(&ev_mu);
    if (frame.len && api_client_connected_())
        api_client_send_(&frame);
    buf_free(&frame);
    atomic_store(&ev_last_flush_us, api_events_now_us_());
}

bool api_events_pending_(void)
{
    return atomic_load(&ev_pending) > 0;
}

long long api_events_idle_(void)
{
    if (atomic_load(&ev_pending) == 0)
        return -1;
    long long since = api_events_now_us_() - atomic_load(&ev_last_flush_us);
    if (since >= API_EVENTS_IDLE_US) {
        api_events_flush_();
        return -1;
    }
    return API_EVENTS_IDLE_US - since;
}

/* "00" "01" ... "99": two digits per division (a timestamp has 16) */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of V (>= 0) at P; returns the end. */
static char *put_uint(char *p, unsigned long long v)
{
    int n = 1;
    for (unsigned long long t = v; t >= 10; t /= 10)
        n++;
    char *end = p + n, *q = end;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        *--q = digit_pairs[d + 1];
        *--q = digit_pairs[d];
    }
    if (v >= 10) {
        *--q = digit_pairs[v * 2 + 1];
        *--q = digit_pairs[v * 2];
    } else {
        *--q = (char)('0' + v);
    }
    return end;
}

/* One line: CODE START DUR TASK ATTEMPT [EXTRA] NAME (EXTRA when >= 0). */
static void event_line(char code, long long start_us, long long end_us, const uint8_t *task,
                       int attempt, long long extra, const char *name)
{
    /* formatted by hand: this runs for every task (printf would be most of
     * its cost; bench/instr_cost.sh counts what is left) */
    char line[64 + 2 * IDS_SIZE + 128], *p = line;
    *p++ = code;
    *p++ = ' ';
    p = put_uint(p, (unsigned long long)(start_us > 0 ? start_us : 0));
    *p++ = ' ';
    p = put_uint(p, (unsigned long long)(end_us > start_us ? end_us - start_us : 0));
    *p++ = ' ';
    if (task && !ids_is_zero(task)) {
        ids_hex(task, IDS_SIZE, p); /* its NUL is overwritten below */
        p += 2 * IDS_SIZE;
    } else {
        *p++ = '-';
    }
    *p++ = ' ';
    p = put_uint(p, (unsigned long long)(attempt > 0 ? attempt : 0));
    *p++ = ' ';
    if (extra >= 0) {
        p = put_uint(p, (unsigned long long)extra);
        *p++ = ' ';
    }
    if (name == NULL || *name == '\0')
        name = "?";
    for (int i = 0; name[i] && i < 120; i++)
        *p++ = (name[i] == '\n' || name[i] == ' ') ? '_' : name[i];
    *p++ = '\n';

    struct buf frame = BUF_INIT;
    pthread_mutex_lock(&ev_mu);
    if (ev_n == 0)
        ev_first_us = start_us;
    buf_append(&ev_buf, line, (size_t)(p - line));
    ev_n++;
    atomic_store_explicit(&ev_pending, ev_n, memory_order_relaxed);
    if (ev_n >= API_EVENTS_BATCH || end_us - ev_first_us >= API_EVENTS_AGE_US)
        take_locked(&frame);
    pthread_mutex_unlock(&ev_mu);
    if (frame.len) {
        api_client_send_(&frame);
        atomic_store(&ev_last_flush_us, end_us);
    }
    buf_free(&frame);
}

void api_event_add_(char code, long long start_us, long long end_us, const uint8_t *task,
                    int attempt, const char *name)
{
    if (api_events_on_())
        event_line(code, start_us, end_us, task, attempt, -1, name);
}

void api_event_task_(bool actor_call, long long exec_us, long long store_us, long long end_us,
                     const uint8_t *task, const char *name)
{
    if (api_events_on_())
        event_line(actor_call ? 't' : 'T', exec_us, store_us, task, 0,
                   end_us > store_us ? end_us - store_us : 0, name);
}
