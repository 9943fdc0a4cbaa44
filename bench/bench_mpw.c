/*
 * bench_mpw.c — the msgpack-c decision (docs/protocol.md "Writer"): encode
 * the frames rayd writes most (a ray_call's TASK_SUBMIT with its spec map,
 * and a small OBJ_GET) with our hand-written mpw_* writer and with
 * msgpack-c's packer writing through a callback into the same struct buf,
 * check both give the same bytes, and print the ns of each, in alternating
 * runs. Both sides frame the same way (length prefix, the spec checked as
 * proto_pack checks a 'v' field), so only the writers differ.
 *
 * msgpack-c is not a dependency of rayd (the decision this measured): it
 * needs libmsgpack-dev's headers to build.
 *
 *   make bench-mpw, or build/bench/bench_mpw [FRAMES] [RUNS]
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/proto.h"

static const uint8_t ID[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

/* ---- ours: the spec as api/tasks.c writes it, the frame as proto_pack does ---- */

static void key_mpw(struct buf *b, const char *k) { mpw_str(b, k, strlen(k)); }

static void spec_mpw(struct buf *s)
{
    mpw_map(s, 14);
    key_mpw(s, "id");
    mpw_bin(s, ID, 20);
    key_mpw(s, "fn");
    mpw_cstr(s, "square");
    key_mpw(s, "args");
    mpw_array(s, 2);
    mpw_int(s, 7);
    mpw_str(s, "some text argument", 18);
    key_mpw(s, "nret");
    mpw_uint(s, 1);
    key_mpw(s, "cpu");
    mpw_double(s, 1.0);
    key_mpw(s, "gpu");
    mpw_double(s, 0.0);
    key_mpw(s, "mem");
    mpw_double(s, 0.0);
    key_mpw(s, "res");
    mpw_cstr(s, "");
    key_mpw(s, "pg");
    mpw_bin(s, ID, 20);
    key_mpw(s, "bundle");
    mpw_int(s, -1);
    key_mpw(s, "renv");
    mpw_cstr(s, "");
    key_mpw(s, "retries");
    mpw_int(s, 3);
    key_mpw(s, "retry_err");
    mpw_bool(s, false);
    key_mpw(s, "name");
    mpw_cstr(s, "square");
}

/* ---- msgpack-c: its packer, a write callback appending to struct buf ---- */

static int buf_write_cb(void *data, const char *p, size_t n)
{
    return buf_append(data, p, n);
}

static void key_mp(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

static void str_mp(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void bin_mp(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

static void spec_mp(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 14);
    key_mp(pk, "id");
    bin_mp(pk, ID, 20);
    key_mp(pk, "fn");
    str_mp(pk, "square", 6);
    key_mp(pk, "args");
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, 7);
    str_mp(pk, "some text argument", 18);
    key_mp(pk, "nret");
    msgpack_pack_uint64(pk, 1);
    key_mp(pk, "cpu");
    msgpack_pack_double(pk, 1.0);
    key_mp(pk, "gpu");
    msgpack_pack_double(pk, 0.0);
    key_mp(pk, "mem");
    msgpack_pack_double(pk, 0.0);
    key_mp(pk, "res");
    str_mp(pk, "", 0);
    key_mp(pk, "pg");
    bin_mp(pk, ID, 20);
    key_mp(pk, "bundle");
    msgpack_pack_int64(pk, -1);
    key_mp(pk, "renv");
    str_mp(pk, "", 0);
    key_mp(pk, "retries");
    msgpack_pack_int64(pk, 3);
    key_mp(pk, "retry_err");
    msgpack_pack_false(pk);
    key_mp(pk, "name");
    str_mp(pk, "square", 6);
}

/* A frame as proto_pack writes it: 4-byte length, then [type, fields...]. */
static void frame_begin(struct buf *f, size_t *start)
{
    *start = f->len;
    buf_append(f, "\0\0\0\0", 4);
}

static void frame_end(struct buf *f, size_t start)
{
    size_t body = f->len - start - 4;
    uint8_t *p = (uint8_t *)f->data + start;
    p[0] = (uint8_t)(body >> 24);
    p[1] = (uint8_t)(body >> 16);
    p[2] = (uint8_t)(body >> 8);
    p[3] = (uint8_t)body;
}

static void frames_mp(struct buf *spec, struct buf *f)
{
    msgpack_packer pk;
    size_t start;
    buf_reset(spec);
    msgpack_packer_init(&pk, spec, buf_write_cb);
    spec_mp(&pk);
    msgpack_packer_init(&pk, f, buf_write_cb);
    frame_begin(f, &start);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, PROTO_TASK_SUBMIT);
    /* the 'v' field: raw msgpack, checked as proto_pack checks it */
    struct mpr r;
    mpr_init(&r, spec->data, spec->len);
    if (mpr_skip(&r) == 0 && mpr_at_end(&r))
        buf_append(f, spec->data, spec->len);
    frame_end(f, start);
    frame_begin(f, &start);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint64(&pk, PROTO_OBJ_GET);
    msgpack_pack_uint64(&pk, 123456);
    bin_mp(&pk, ID, 20);
    msgpack_pack_int64(&pk, 10000);
    bin_mp(&pk, ID, 20);
    frame_end(f, start);
}

static void frames_hw(struct buf *spec, struct buf *f)
{
    size_t start;
    buf_reset(spec);
    spec_mpw(spec);
    frame_begin(f, &start);
    mpw_array(f, 2);
    mpw_uint(f, PROTO_TASK_SUBMIT);
    /* the 'v' field: raw msgpack, checked as proto_pack checks it */
    struct mpr r;
    mpr_init(&r, spec->data, spec->len);
    if (mpr_skip(&r) == 0 && mpr_at_end(&r))
        buf_append(f, spec->data, spec->len);
    frame_end(f, start);
    frame_begin(f, &start);
    mpw_array(f, 5);
    mpw_uint(f, PROTO_OBJ_GET);
    mpw_uint(f, 123456);
    mpw_bin(f, ID, 20);
    mpw_int(f, 10000);
    mpw_bin(f, ID, 20);
    frame_end(f, start);
}

/* The spec map alone: the writers compared with nothing else around them. */
static void spec_only_hw(struct buf *spec, struct buf *f)
{
    (void)f;
    buf_reset(spec);
    spec_mpw(spec);
}

static void spec_only_mp(struct buf *spec, struct buf *f)
{
    (void)f;
    msgpack_packer pk;
    buf_reset(spec);
    msgpack_packer_init(&pk, spec, buf_write_cb);
    spec_mp(&pk);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ns per pair of frames over N pairs, the output buffer reused (as a
 * connection's output buffer is) every 64 pairs. */
static double run(void (*fn)(struct buf *, struct buf *), long n)
{
    struct buf spec = BUF_INIT, f = BUF_INIT;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if ((i & 63) == 0)
            buf_reset(&f);
        fn(&spec, &f);
    }
    double t = (now_ns() - t0) / (double)n;
    buf_free(&spec);
    buf_free(&f);
    return t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (runs < 1 || runs > 64 || n < 1)
        return 2;
    /* the same bytes, or the comparison means nothing */
    struct buf s1 = BUF_INIT, f1 = BUF_INIT, s2 = BUF_INIT, f2 = BUF_INIT;
    frames_hw(&s1, &f1);
    frames_mp(&s2, &f2);
    if (f1.len != f2.len || memcmp(f1.data, f2.data, f1.len) != 0) {
        fprintf(stderr, "bench_mpw: the two writers differ (%zu vs %zu bytes)\n", f1.len, f2.len);
        return 1;
    }
    printf("frames: TASK_SUBMIT (%zu-byte spec) + OBJ_GET = %zu bytes, identical from both writers\n",
           s1.len, f1.len);
    buf_free(&s1);
    buf_free(&f1);
    buf_free(&s2);
    buf_free(&f2);
    static const struct {
        const char *what;
        void (*ours)(struct buf *, struct buf *), (*theirs)(struct buf *, struct buf *);
    } cases[] = {
        { "spec map only", spec_only_hw, spec_only_mp },
        { "both frames", frames_hw, frames_mp },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double a[64], b[64];
        run(cases[c].ours, n / 10); /* warm-up */
        run(cases[c].theirs, n / 10);
        for (int r = 0; r < runs; r++) { /* alternating, so load hits both alike */
            a[r] = run(cases[c].ours, n);
            b[r] = run(cases[c].theirs, n);
        }
        qsort(a, (size_t)runs, sizeof *a, cmp);
        qsort(b, (size_t)runs, sizeof *b, cmp);
        printf("%-13s  hand-written: median %7.1f ns (min %7.1f, max %7.1f; %d runs of %ld)\n",
               cases[c].what, a[runs / 2], a[0], a[runs - 1], runs, n);
        printf("%-13s  msgpack-c   : median %7.1f ns (min %7.1f, max %7.1f)   msgpack-c / hand-written = %.2f\n",
               cases[c].what, b[runs / 2], b[0], b[runs - 1], b[runs / 2] / a[runs / 2]);
    }
    return 0;
}
