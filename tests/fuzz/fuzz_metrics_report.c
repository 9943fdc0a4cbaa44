/*
 * fuzz_metrics_report.c — libFuzzer target for the merge of clients'
 * Prometheus reports (daemon/metrics_report.c; docs/fuzzing.md): what a
 * Serve proxy (or anything that speaks METRICS_REPORT) sends the node. The
 * input is split at NUL bytes into up to 8 reports. Whatever comes out must
 * be clean text (no control byte but newline, every line ending in one),
 * give each family one TYPE line, and merge again to itself: the output is
 * a valid report. Any inconsistency calls abort().
 */
#include "daemon/metrics_report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *texts[8];
    size_t lens[8], n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (n < 8 && p <= end) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        texts[n] = p;
        lens[n++] = (size_t)((z ? z : end) - p);
        if (z == NULL)
            break;
        p = z + 1;
    }
    struct buf out = BUF_INIT;
    size_t ns = metrics_report_merge(texts, lens, n, &out);
    FUZZ_CHECK(ns == 0 || out.len > 0);
    for (size_t i = 0; i < out.len; i++)
        FUZZ_CHECK((unsigned char)out.data[i] >= 0x20 || out.data[i] == '\n');
    FUZZ_CHECK(out.len == 0 || out.data[out.len - 1] == '\n');
    /* one TYPE line per family */
    for (size_t i = 0; i < out.len;) {
        const char *line = out.data + i, *nl = memchr(line, '\n', out.len - i);
        size_t ll = (size_t)(nl - line);
        if (ll > 7 && memcmp(line, "# TYPE ", 7) == 0) {
            const char *sp = memchr(line + 7, ' ', ll - 7);
            FUZZ_CHECK(sp != NULL);
            size_t nl2 = (size_t)(sp - line); /* "# TYPE name" */
            for (size_t j = (size_t)(nl + 1 - out.data); j < out.len;) {
                const char *l2 = out.data + j, *e2 = memchr(l2, '\n', out.len - j);
                FUZZ_CHECK(!((size_t)(e2 - l2) > nl2 && memcmp(l2, line, nl2) == 0 && l2[nl2] == ' '));
                j = (size_t)(e2 + 1 - out.data);
            }
        }
        i += ll + 1;
    }
    /* the output is a report that merges to itself */
    const char *t2 = out.data ? out.data : "";
    size_t l2 = out.len;
    struct buf again = BUF_INIT;
    size_t ns2 = metrics_report_merge(&t2, &l2, 1, &again);
    FUZZ_CHECK(ns2 == ns && again.len == out.len &&
               (out.len == 0 || memcmp(again.data, out.data, out.len) == 0));
    buf_free(&again);
    buf_free(&out);
    return 0;
}
