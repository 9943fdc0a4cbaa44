/*
 * timeline.c — the GCS timeline stream (docs/gcs.md; batches of spans that workers, drivers and
 * nodes record, runtime/observe.c) as a Chrome trace: a JSON array of
 * complete events ({cat, name, pid, tid, ts, dur, ph:"X", args}) plus "M"
 * events naming one process per node and one thread per worker or driver.
 * A span's name is its function (or ray_get, ray_wait, ray_put), its cat the
 * phase: task:submit, task:fetch_args, task:execute, task:store_outputs
 * (actor_call:* for actor calls), api. ts is in microseconds from the
 * whole second the trace starts in (ts_zero_unix_us of each process_name).
 * Loads in Perfetto and chrome://tracing. The newest N events are kept.
 * What `ray timeline` writes and the dashboard's /api/timeline serves
 * (state.h).
 *
 * Bounded: the stream is read newest first in pages of TL_PAGE entries and
 * reading stops once N events are in hand; each event is written as one
 * line of about 150 bytes, so 100,000 events are about 15 MB.
 */
#include "state/state.h"

#include "common/xmalloc.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TL_PAGE 50

struct tl_event {
    char code;
    long long ts, dur;
    int attempt;
    int pid;       /* index of the node, 1-based */
    int tid;       /* worker/driver pid */
    char task[41];
    char job[9];
    char name[128];
};

struct tl_thread {
    int pid, tid;
    char role[16];
};

static void json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(fp, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(fp, "\\u%04x", ch);
        else
            fputc(ch, fp);
    }
    fputc('"', fp);
}

static const char *code_cat(char c)
{
    switch (c) {
    case 'S': return "task:submit";
    case 'F': return "task:fetch_args";
    case 'E': return "task:execute";
    case 'O': return "task:store_outputs";
    case 's': return "actor_call:submit";
    case 'f': return "actor_call:fetch_args";
    case 'e': return "actor_call:execute";
    case 'o': return "actor_call:store_outputs";
    case 'G': case 'W': case 'P': return "api";
    default: return "other";
    }
}

static const struct gcs_reply *field(const struct gcs_reply *kv, const char *name, size_t *len,
                                     const char **s)
{
    size_t n = gcs_reply_elements(kv);
    for (size_t i = 0; i + 1 < n; i += 2) {
        size_t kl;
        const char *k = gcs_reply_str(gcs_reply_element(kv, i), &kl);
        if (k && kl == strlen(name) && memcmp(k, name, kl) == 0) {
            *s = gcs_reply_str(gcs_reply_element(kv, i + 1), len);
            return *s ? gcs_reply_element(kv, i + 1) : NULL;
        }
    }
    *s = NULL;
    return NULL;
}

int state_timeline_write(FILE *fp, struct gcs_sync *gs, const struct gcs_node *nodes, size_t nn,
                         const char *job, long limit, size_t *nevents, char *err, size_t errlen)
{
    size_t cap = 4096, nev = 0;
    struct tl_event *ev = xmalloc(cap * sizeof *ev);
    size_t tcap = 64, nthr = 0;
    struct tl_thread *thr = xmalloc(tcap * sizeof *thr);
    char key[256], end_id[64] = "+";
    snprintf(key, sizeof key, "%stimeline", gcs_sync_prefix(gs));
    int rc = 0;
    while ((long)nev < limit) {
        struct gcs_reply *r = gcs_sync_command(gs, "XREVRANGE %s %s - COUNT %d", key, end_id,
                                               TL_PAGE);
        if (gcs_reply_type(r) != GCS_REPLY_ARRAY) {
            if (gcs_reply_type(r) == GCS_REPLY_ERROR)
                rc = -1, snprintf(err, errlen, "reading %s: %s", key, gcs_reply_str(r, NULL));
            gcs_reply_free(r);
            break;
        }
        size_t ne = gcs_reply_elements(r);
        for (size_t e = 0; e < ne && (long)nev < limit; e++) {
            const struct gcs_reply *ent = gcs_reply_element(r, e);
            const char *eid = gcs_reply_str(gcs_reply_element(ent, 0), NULL);
            if (eid)
                snprintf(end_id, sizeof end_id, "(%s", eid);
            const struct gcs_reply *kv = gcs_reply_element(ent, 1);
            size_t l;
            const char *node, *pid, *role, *bjob, *batch;
            char nodehex[48] = "";
            if (field(kv, "node", &l, &node))
                snprintf(nodehex, sizeof nodehex, "%.*s", (int)l, node);
            /* sections: "@ PID ROLE JOB" lines, each for the lines after it
             * (an entry with pid/role/job fields is one section) */
            size_t nsec = 0, seccap = 16;
            struct tl_section { long off; int tid; char role[16], job[9]; } *sec =
                xmalloc(seccap * sizeof *sec);
            sec[0] = (struct tl_section){ .off = -1 };
            if (field(kv, "pid", &l, &pid))
                sec[0].tid = atoi(pid);
            if (field(kv, "role", &l, &role))
                snprintf(sec[0].role, sizeof sec[0].role, "%.*s", (int)l, role);
            if (field(kv, "job", &l, &bjob))
                snprintf(sec[0].job, sizeof sec[0].job, "%.*s", (int)l, bjob);
            nsec = 1;
            if (!field(kv, "events", &l, &batch)) {
                free(sec);
                continue;
            }
            for (const char *q = batch; q < batch + l;) {
                const char *nl = memchr(q, '\n', (size_t)(batch + l - q));
                size_t ll = nl ? (size_t)(nl - q) : (size_t)(batch + l - q);
                if (ll > 2 && q[0] == '@' && q[1] == ' ') {
                    char hdr[128];
                    snprintf(hdr, sizeof hdr, "%.*s", (int)(ll < 127 ? ll : 127), q);
                    if (nsec == seccap) {
                        seccap *= 2;
                        sec = xreallocarray(sec, seccap, sizeof *sec);
                    }
                    struct tl_section *x = &sec[nsec];
                    *x = (struct tl_section){ .off = (long)(q - batch) };
                    if (sscanf(hdr, "@ %d %15s %8s", &x->tid, x->role, x->job) == 3)
                        nsec++;
                }
                q += ll + 1;
            }
            int pidx = 0;
            for (size_t k = 0; k < nn; k++)
                if (strcmp(nodes[k].node_id, nodehex) == 0)
                    pidx = (int)k + 1;
            /* the lines of the entry, newest (last) first */
            const char *endp = batch + l;
            size_t si = nsec - 1;
            int last_tid = -1;
            while (endp > batch && (long)nev < limit) {
                const char *ls = endp - 1;
                while (ls > batch && ls[-1] != '\n')
                    ls--;
                size_t ll = (size_t)(endp - ls);
                endp = ls;
                if (ll == 0 || ls[0] == '@')
                    continue;
                while (si > 0 && sec[si].off > (long)(ls - batch))
                    si--;
                char line[256];
                snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1),
                         ls);
                struct tl_event x = { 0 };
                char task[48], name[128];
                long long store = -1;
                if (line[0] == 'T' || line[0] == 't') {
                    /* a task's execute and store-outputs spans in one line */
                    if (sscanf(line, "%c %lld %lld %47s %d %lld %127[^\n]", &x.code, &x.ts, &x.dur,
                               task, &x.attempt, &store, name) != 7)
                        continue;
                } else if (sscanf(line, "%c %lld %lld %47s %d %127[^\n]", &x.code, &x.ts, &x.dur,
                                  task, &x.attempt, name) != 6) {
                    continue;
                }
                if (strcmp(task, "-") != 0 && strlen(task) == 40)
                    memcpy(x.task, task, 41);
                snprintf(x.job, sizeof x.job, "%.8s", x.task[0] ? x.task : sec[si].job);
                if (job && strcmp(x.job, job) != 0)
                    continue;
                snprintf(x.name, sizeof x.name, "%s", name);
                x.pid = pidx;
                x.tid = sec[si].tid;
                if (nev + 2 > cap) {
                    cap *= 2;
                    ev = xreallocarray(ev, cap, sizeof *ev);
                }
                if (store >= 0) {
                    /* newest first: store outputs, then execute */
                    struct tl_event o = x;
                    o.code = x.code == 'T' ? 'O' : 'o';
                    o.ts = x.ts + x.dur;
                    o.dur = store;
                    ev[nev++] = o;
                    x.code = x.code == 'T' ? 'E' : 'e';
                }
                if ((long)nev < limit)
                    ev[nev++] = x;
                if (x.tid == last_tid)
                    continue;
                last_tid = x.tid;
                bool have = false;
                for (size_t k = 0; k < nthr && !have; k++)
                    have = thr[k].pid == pidx && thr[k].tid == x.tid;
                if (!have) {
                    if (nthr == tcap) {
                        tcap *= 2;
                        thr = xreallocarray(thr, tcap, sizeof *thr);
                    }
                    thr[nthr].pid = pidx;
                    thr[nthr].tid = x.tid;
                    snprintf(thr[nthr].role, sizeof thr[nthr].role, "%s", sec[si].role);
                    nthr++;
                }
            }
            free(sec);
        }
        gcs_reply_free(r);
        if (ne < TL_PAGE)
            break;
    }
    if (rc != 0)
        goto out;
    fputs("[\n", fp);
    bool first = true;
    /* times are relative to the first whole second of the trace (smaller
     * numbers); each process_name says where that is on the wall clock */
    long long base = 0;
    for (size_t k = 0; k < nev; k++)
        if (base == 0 || ev[k].ts < base)
            base = ev[k].ts;
    base -= base % 1000000;
    for (size_t k = 0; k < nn; k++) {
        bool used = false;
        for (size_t t = 0; t < nthr && !used; t++)
            used = thr[t].pid == (int)k + 1;
        if (!used)
            continue;
        fprintf(fp, "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%zu,\"tid\":0,"
                    "\"args\":{\"name\":\"node %.8s %s%s\",\"ts_zero_unix_us\":%lld}}",
                first ? "" : ",\n", k + 1, nodes[k].node_id, nodes[k].address,
                nodes[k].is_head ? " (head)" : "", base);
        first = false;
    }
    /* threads are numbered 1.. in the trace (short "tid"s keep 100,000 tasks
     * under 50 MB); each one's name says which process it is */
    for (size_t t = 0; t < nthr; t++) {
        fprintf(fp, "%s{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%zu,"
                    "\"args\":{\"name\":\"%s %d\"}}",
                first ? "" : ",\n", thr[t].pid, t + 1,
                thr[t].role[0] ? thr[t].role : "process", thr[t].tid);
        first = false;
    }
    /* oldest first */
    size_t last_thr = 0;
    for (size_t k = nev; k-- > 0;) {
        const struct tl_event *x = &ev[k];
        if (nthr && (thr[last_thr].pid != x->pid || thr[last_thr].tid != x->tid))
            for (size_t t = 0; t < nthr; t++)
                if (thr[t].pid == x->pid && thr[t].tid == x->tid) {
                    last_thr = t;
                    break;
                }
        fprintf(fp, "%s{\"cat\":\"%s\",\"name\":", first ? "" : ",\n", code_cat(x->code));
        json_str(fp, x->name);
        fprintf(fp, ",\"pid\":%d,\"tid\":%zu,\"ts\":%lld,\"dur\":%lld,\"ph\":\"X\",\"args\":{",
                x->pid, last_thr + 1, x->ts - base, x->dur);
        /* a task ID begins with its job's (the first 8 hex digits), so a
         * span with a task_id has no job_id besides (20 bytes of 170); only
         * the node knows a task's attempt (its fetch_args spans): workers'
         * and drivers' spans carry none */
        if (x->task[0])
            fprintf(fp, "\"task_id\":\"%s\"", x->task);
        else
            fprintf(fp, "\"job_id\":\"%s\"", x->job);
        if (x->code == 'F' || x->code == 'f')
            fprintf(fp, ",\"attempt\":%d", x->attempt);
        fputs("}}", fp);
        first = false;
    }
    fputs("\n]\n", fp);
    *nevents = nev;
out:
    free(ev);
    free(thr);
    return rc;
}
