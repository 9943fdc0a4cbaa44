/*
 * counters.c — the runtime's per-name task counters and the spill count
 * (counters.h): a fixed open-addressing table of 256 names, filled on the
 * loop thread at each task's end, read at /metrics scrape time
 * (daemon/metrics.c through runtime_each_final).
 */
#include "runtime/counters.h"

#include "common/xmalloc.h"

#include <stddef.h>
#include <string.h>

#define COUNTERS_NAMES 256

struct name_count {
    char *name; /* NULL: free slot */
    unsigned long long finished, failed;
};
static struct name_count names[COUNTERS_NAMES];
static struct name_count other = { "other", 0, 0 };
static unsigned nnames;
static unsigned long long spilled_total;

static struct name_count *name_slot(const char *name)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    for (unsigned i = 0; i < COUNTERS_NAMES; i++) {
        struct name_count *s = &names[(h + i) % COUNTERS_NAMES];
        if (s->name == NULL) {
            if (nnames >= COUNTERS_NAMES * 3 / 4)
                return &other;
            s->name = xstrdup(name);
            nnames++;
            return s;
        }
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return &other;
}

void counters_task_final(const char *name, bool failed)
{
    struct name_count *s = name_slot(name ? name : "");
    if (failed)
        s->failed++;
    else
        s->finished++;
}

void counters_task_spilled(void)
{
    spilled_total++;
}

unsigned long long counters_spilled(void)
{
    return spilled_total;
}

void counters_each_final(void (*fn)(void *arg, const char *name, unsigned long long finished,
                                    unsigned long long failed),
                         void *arg)
{
    for (int i = 0; i <= COUNTERS_NAMES; i++) {
        struct name_count *s = i < COUNTERS_NAMES ? &names[i] : &other;
        if (s->name == NULL || (s->finished == 0 && s->failed == 0))
            continue;
        fn(arg, s->name, s->finished, s->failed);
    }
}
