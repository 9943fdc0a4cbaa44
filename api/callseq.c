/*
 * callseq.c — call numbers of actor calls and the worker's check that none
 * runs twice (see callseq.h).
 */
#include "api/callseq.h"

#include "api/api_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint8_t caller_id[RAY_ID_SIZE];
static pthread_once_t caller_once = PTHREAD_ONCE_INIT;

/* A stripe of the caller's counters; padded to a cache line of its own. */
struct callseq_out {
    pthread_mutex_t mu;
    uint64_t next;
} __attribute__((aligned(64)));

static struct callseq_out stripes[CALLSEQ_STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void caller_make(void)
{
    api_id_new_(caller_id, 0);
}

const uint8_t *callseq_caller(void)
{
    pthread_once(&caller_once, caller_make);
    return caller_id;
}

static void stripes_make(void)
{
    for (size_t i = 0; i < CALLSEQ_STRIPES; i++)
        pthread_mutex_init(&stripes[i].mu, NULL);
}

struct callseq_out *callseq_out_begin(const uint8_t actor[RAY_ID_SIZE], uint64_t *seq)
{
    pthread_once(&stripes_once, stripes_make);
    uint32_t h = 2166136261u; /* FNV-1a over the ID: its bytes past the job are random */
    for (int i = 0; i < RAY_ID_SIZE; i++)
        h = (h ^ actor[i]) * 16777619u;
    struct callseq_out *o = &stripes[h % CALLSEQ_STRIPES];
    pthread_mutex_lock(&o->mu);
    *seq = ++o->next;
    return o;
}

void callseq_out_end(struct callseq_out *o)
{
    pthread_mutex_unlock(&o->mu);
}

void callseq_key(const uint8_t caller[RAY_ID_SIZE], const uint8_t actor[RAY_ID_SIZE],
                 uint8_t key[RAY_ID_SIZE])
{
    for (int i = 0; i < RAY_ID_SIZE; i++)
        key[i] = caller[i] ^ actor[i];
}

/* One remembered caller: its highest number and, as a ring indexed by
 * number modulo the window, which of the last CALLSEQ_WINDOW numbers up to
 * it were seen. */
struct seen {
    uint8_t caller[RAY_ID_SIZE];
    uint64_t high;
    uint64_t last_use;
    uint64_t bits[CALLSEQ_WINDOW / 64];
};

static struct seen *table; /* CALLSEQ_CALLERS entries, made on first use */
static size_t used;
static uint64_t clock_;

static bool bit_get(const struct seen *s, uint64_t seq)
{
    uint64_t i = seq % CALLSEQ_WINDOW;
    return s->bits[i / 64] >> (i % 64) & 1;
}

static void bit_put(struct seen *s, uint64_t seq, bool on)
{
    uint64_t i = seq % CALLSEQ_WINDOW;
    if (on)
        s->bits[i / 64] |= (uint64_t)1 << (i % 64);
    else
        s->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static struct seen *last; /* the caller of the last call: usually the next one's */

static struct seen *find(const uint8_t *caller)
{
    if (last != NULL && memcmp(last->caller, caller, RAY_ID_SIZE) == 0)
        return last;
    if (table == NULL)
        table = calloc(CALLSEQ_CALLERS, sizeof *table);
    if (table == NULL)
        return NULL;
    struct seen *oldest = NULL;
    for (size_t i = 0; i < used; i++) {
        if (memcmp(table[i].caller, caller, RAY_ID_SIZE) == 0)
            return last = &table[i];
        if (oldest == NULL || table[i].last_use < oldest->last_use)
            oldest = &table[i];
    }
    struct seen *s = used < CALLSEQ_CALLERS ? &table[used++] : oldest;
    memset(s, 0, sizeof *s);
    memcpy(s->caller, caller, RAY_ID_SIZE);
    return last = s;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static bool check_locked(const uint8_t caller[RAY_ID_SIZE], uint64_t seq, const char **why)
{
    struct seen *s = find(caller);
    if (s == NULL)
        return true; /* out of memory: cannot tell; let it run */
    s->last_use = ++clock_;
    if (seq > s->high) {
        /* the slots of high+1..seq held numbers now out of the window */
        if (seq - s->high >= CALLSEQ_WINDOW)
            memset(s->bits, 0, sizeof s->bits);
        else
            for (uint64_t n = s->high + 1; n < seq; n++)
                bit_put(s, n, false);
        bit_put(s, seq, true);
        s->high = seq;
        return true;
    }
    if (s->high - seq >= CALLSEQ_WINDOW) {
        *why = "it is older than the calls this actor remembers";
        return false;
    }
    if (bit_get(s, seq)) {
        *why = "it already ran on this actor";
        return false;
    }
    bit_put(s, seq, true);
    return true;
}

bool callseq_check(const uint8_t caller[RAY_ID_SIZE], uint64_t seq, const char **why)
{
    *why = "";
    if (seq == 0)
        return true;
    pthread_mutex_lock(&mu);
    bool fresh = check_locked(caller, seq, why);
    pthread_mutex_unlock(&mu);
    return fresh;
}

void callseq_reset(void)
{
    pthread_mutex_lock(&mu);
    free(table);
    table = NULL;
    last = NULL;
    used = 0;
    clock_ = 0;
    pthread_mutex_unlock(&mu);
}
