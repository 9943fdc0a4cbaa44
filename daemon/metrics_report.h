/*
 * metrics_report.h — Prometheus lines a node's clients report for /metrics
 * (METRICS_REPORT, 922): Serve's proxy reports its request counters and
 * latency histogram this way, about once a second, and the node serves
 * them with its own series (docs/serve.md "Metrics").
 *
 * A report is Prometheus text (format 0.0.4) of families named ray_serve_*
 * only: "# TYPE NAME counter|gauge|histogram" opens a family, "# HELP NAME
 * TEXT" may describe it, and its samples follow ("NAME[{labels}] VALUE",
 * NAME the family's or, for a histogram, its _bucket / _sum / _count). A
 * client's new report replaces its last; a report older than
 * METRICS_REPORT_STALE_MS is dropped (its process is gone). At scrape time
 * the reports are merged by family, so two clients reporting the same
 * family give one TYPE line and the samples of both.
 */
#ifndef RAY_METRICS_REPORT_H
#define RAY_METRICS_REPORT_H

#include <stddef.h>

#include "common/buf.h"

#define METRICS_REPORT_MAX (256u << 10) /* bytes of one report */
#define METRICS_REPORT_CLIENTS 64       /* clients whose reports are kept */
#define METRICS_REPORT_FAMILIES 64      /* families told apart in one merge */
#define METRICS_REPORT_STALE_MS 15000

/*
 * Merge the N reports TEXTS[i] (LENS[i] bytes each; need not be
 * NUL-terminated) into OUT: each family's HELP and TYPE once, then every
 * sample of it from every report, in the order first seen. A line that is
 * not of the format above (a bad name, a control byte, a sample outside its
 * family, a family not named ray_serve_*, one TYPE of two kinds) is
 * skipped, never copied. Returns the number of samples written. Never
 * fails (OUT grows; common/buf aborts on out-of-memory, as the daemon's
 * allocations do).
 */
size_t metrics_report_merge(const char *const *texts, const size_t *lens, size_t n,
                            struct buf *out);

/* Client CLIENT (its store id: one per connection) reported TEXT (LEN
 * bytes, copied) at NOW_MS. A report over METRICS_REPORT_MAX is refused
 * (returns -1); past METRICS_REPORT_CLIENTS clients the stalest is
 * forgotten. Returns 0. Loop thread only. */
int metrics_report_set(int client, const char *text, size_t len, long long now_ms);

/* Append the merged reports not older than METRICS_REPORT_STALE_MS to OUT,
 * plus EXTRA (LEN bytes of the node's own ray_serve_* lines, merged with
 * them; NULL: none). Loop thread only. */
void metrics_report_write(struct buf *out, long long now_ms, const char *extra, size_t extra_len);

/* Forget every report (the node stops). */
void metrics_report_clear(void);

#endif
