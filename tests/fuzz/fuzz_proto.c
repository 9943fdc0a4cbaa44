/*
 * fuzz_proto.c — libFuzzer target for the wire decoder (see docs/fuzzing.md).
 *
 * The input is treated as a byte stream from a peer. It is fed to a
 * proto_decoder in pieces whose sizes come from the input itself, and, as a
 * differential check, all at once to a second decoder: both must yield the
 * same messages and the same final status. Every decoded message has its 'v'
 * fields walked with mpr_skip and mpr_next, is re-encoded with
 * proto_pack_msg and must decode again to identical fields. The whole input
 * is also given to proto_decode as one body and to the mpr_* typed readers.
 * Any inconsistency calls abort() so libFuzzer reports it.
 */
#include "common/proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)       \
    do {                    \
        if (!(c))           \
            abort();        \
    } while (0)

/* Walk one raw value item by item with mpr_next; returns items seen. */
static size_t walk_value(const char *p, size_t len)
{
    struct mpr r;
    struct mpr_item it;
    uint64_t pending = 1; /* values still to read */
    size_t items = 0;
    mpr_init(&r, p, len);
    while (pending > 0) {
        FUZZ_CHECK(mpr_next(&r, &it) == 0); /* decoder already validated it */
        pending--;
        items++;
        if (it.kind == MPR_ARRAY)
            pending += it.as.n;
        else if (it.kind == MPR_MAP)
            pending += 2 * (uint64_t)it.as.n;
    }
    FUZZ_CHECK(mpr_at_end(&r));
    return items;
}

static bool fields_equal(const struct proto_field *a, const struct proto_field *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case 'u': return a->as.u == b->as.u;
    case 'i': return a->as.i == b->as.i;
    case 'd': return memcmp(&a->as.d, &b->as.d, sizeof a->as.d) == 0;
    case 'b': return a->as.b == b->as.b;
    default:
        return a->as.s.len == b->as.s.len &&
               (a->as.s.len == 0 || memcmp(a->as.s.ptr, b->as.s.ptr, a->as.s.len) == 0);
    }
}

static void check_msg(const struct proto_msg *m)
{
    const char *fmt = proto_format(m->type);
    FUZZ_CHECK(fmt != NULL && (int)strlen(fmt) == m->nfields);
    for (int i = 0; i < m->nfields; i++) {
        FUZZ_CHECK(m->f[i].kind == fmt[i]);
        FUZZ_CHECK(proto_field_name(m->type, i) != NULL);
        if (m->f[i].kind == 'I')
            FUZZ_CHECK(m->f[i].as.s.len == PROTO_ID_SIZE);
        if (m->f[i].kind == 'v') {
            struct mpr r;
            mpr_init(&r, m->f[i].as.s.ptr, m->f[i].as.s.len);
            FUZZ_CHECK(mpr_skip(&r) == 0 && mpr_at_end(&r));
            FUZZ_CHECK(walk_value(m->f[i].as.s.ptr, m->f[i].as.s.len) >= 1);
        }
    }
    if (m->type == PROTO_HELLO) {
        char err[160];
        uint64_t role = 0;
        int rc = proto_hello_verify(m, "fuzz-token", &role, err, sizeof err);
        FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2);
        FUZZ_CHECK(err[0] != '\0' || rc == 0);
    }

    /* Re-encode and decode again: fields must be identical. */
    struct buf out = BUF_INIT;
    FUZZ_CHECK(proto_pack_msg(&out, m) == 0);
    size_t body = 0;
    char err[160];
    FUZZ_CHECK(proto_frame_need(out.data, out.len, PROTO_MAX_FRAME, &body, err, sizeof err) == PROTO_OK);
    FUZZ_CHECK(body + 4 == out.len);
    struct proto_msg again;
    FUZZ_CHECK(proto_decode(out.data + 4, body, &again, err, sizeof err) == 0);
    FUZZ_CHECK(again.type == m->type && again.nfields == m->nfields);
    for (int i = 0; i < m->nfields; i++)
        FUZZ_CHECK(fields_equal(&m->f[i], &again.f[i]));
    buf_free(&out);
}

/* Poke the typed readers at arbitrary bytes: they must fail cleanly. */
static void typed_readers(const uint8_t *data, size_t size)
{
    struct mpr r;
    mpr_init(&r, data, size);
    for (int k = 0; k < 64 && !r.err && !mpr_at_end(&r); k++) {
        uint64_t u;
        int64_t i;
        double d;
        bool b;
        const char *s;
        const void *p;
        size_t n;
        uint32_t c;
        struct mpr save = r;
        switch (k % 9) {
        case 0: (void)mpr_uint(&r, &u); break;
        case 1: (void)mpr_int(&r, &i); break;
        case 2: (void)mpr_double(&r, &d); break;
        case 3: (void)mpr_bool(&r, &b); break;
        case 4: (void)mpr_str(&r, &s, &n); break;
        case 5: (void)mpr_bin(&r, &p, &n); break;
        case 6: (void)mpr_array(&r, &c); break;
        case 7: (void)mpr_map(&r, &c); break;
        default: (void)mpr_skip(&r); break;
        }
        if (r.err) { /* a type mismatch: skip the value instead and go on */
            r = save;
            (void)mpr_skip(&r);
        }
        FUZZ_CHECK(r.p <= r.end);
    }
}

#define FUZZ_MAX_MSGS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_frame = (size & 1) ? PROTO_MAX_FRAME_PREAUTH : PROTO_MAX_FRAME;

    /* Reference: everything fed at once. */
    struct proto_decoder whole;
    proto_decoder_init(&whole, max_frame);
    proto_decoder_feed(&whole, data, size);
    static uint32_t types[FUZZ_MAX_MSGS];
    int nwhole = 0, st_whole;
    struct proto_msg m;
    while ((st_whole = proto_decoder_next(&whole, &m)) == PROTO_OK) {
        check_msg(&m);
        if (nwhole < FUZZ_MAX_MSGS)
            types[nwhole] = m.type;
        nwhole++;
    }

    /* Same stream in pieces sized by the input. */
    struct proto_decoder d;
    proto_decoder_init(&d, max_frame);
    size_t pos = 0;
    int npieces = 0, st = PROTO_NEED_MORE;
    while (pos < size) {
        size_t piece = 1 + data[pos] % 67u;
        if (piece > size - pos)
            piece = size - pos;
        proto_decoder_feed(&d, data + pos, piece);
        pos += piece;
        while ((st = proto_decoder_next(&d, &m)) == PROTO_OK) {
            check_msg(&m);
            FUZZ_CHECK(npieces >= FUZZ_MAX_MSGS || npieces >= nwhole || types[npieces] == m.type);
            npieces++;
        }
        if (st == PROTO_BAD) {
            FUZZ_CHECK(d.errstr[0] != '\0');
            FUZZ_CHECK(proto_decoder_next(&d, &m) == PROTO_BAD); /* sticky */
            break;
        }
    }
    FUZZ_CHECK(npieces == nwhole);
    FUZZ_CHECK(size == 0 || st == st_whole);
    if (st_whole == PROTO_BAD)
        FUZZ_CHECK(strcmp(d.errstr, whole.errstr) == 0);
    proto_decoder_free(&d);
    proto_decoder_free(&whole);

    /* The whole input as one frame body. */
    char err[160];
    if (proto_decode(data, size, &m, err, sizeof err) == 0)
        check_msg(&m);
    else
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof err);

    typed_readers(data, size);
    return 0;
}
