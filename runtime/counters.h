/*
 * counters.h — the runtime's process-wide counters for /metrics: tasks
 * that ended here by name and outcome, tasks spilled to the global
 * scheduler. Loop thread only (no lock); read through runtime.h
 * (runtime_each_final, runtime_stats).
 */
#ifndef RAY_RUNTIME_COUNTERS_H
#define RAY_RUNTIME_COUNTERS_H

#include <stdbool.h>

/* A task (or actor call) named NAME (NULL: "") reached its end on this
 * node. Cheap: no lock, no allocation once NAME has been seen (at most 256
 * names are told apart; later ones count under "other"). */
void counters_task_final(const char *name, bool failed);
/* A task was spilled to the global scheduler / placed here by it. */
void counters_task_spilled(void);
/* The number of counters_task_spilled calls since start. */
unsigned long long counters_spilled(void);
/* Call FN(ARG, NAME, FINISHED, FAILED) for every name with a non-zero count. */
void counters_each_final(void (*fn)(void *arg, const char *name, unsigned long long finished,
                                    unsigned long long failed),
                         void *arg);

#endif
