/*
 * test_proto.c — the wire codec: every message of the table round-trips, the
 * writer emits standard msgpack in its smallest encodings (byte by byte, as
 * the msgpack spec gives them: msgpack-c is no longer a dependency,
 * docs/protocol.md "Writer"), the reader and decoder reject every kind of
 * malformed input with a one-line reason, the incremental decoder copes with
 * 1-byte feeds and stays broken after PROTO_BAD, and the HELLO check.
 * Malformed inputs are copied into exactly-sized heap blocks so that
 * AddressSanitizer catches any read past the end.
 */
#include "common/proto.h"
#include "tests/unit/unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* Decode LEN bytes at P from an exactly-sized copy; returns proto_decode's result. */
static int decode_copy(const void *p, size_t len, struct proto_msg *m, char *err, size_t errlen)
{
    void *c = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(c);
    if (len)
        memcpy(c, p, len);
    int rc = proto_decode(c, len, m, err, errlen);
    free(c);
    return rc;
}

/* Expect BODY to be rejected with an error containing WANT (and being one line). */
static void expect_bad(const void *body, size_t len, const char *want)
{
    struct proto_msg m;
    char err[200] = "";
    int rc = decode_copy(body, len, &m, err, sizeof err);
    ck_assert_msg(rc == -1, "decode accepted bad input (wanted \"%s\")", want);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    ck_assert_ptr_null(strchr(err, '\n'));
}

/* Decode in place (M points into BODY afterwards) and expect success. */
static void expect_good(const void *body, size_t len, struct proto_msg *m)
{
    char err[200] = "";
    int rc = proto_decode(body, len, m, err, sizeof err);
    ck_assert_msg(rc == 0, "decode failed: %s", err);
}

/* Build a body: array header for 1+NF elements, type, then raw field bytes. */
static void body_start(struct buf *b, uint32_t nf, uint64_t type)
{
    buf_reset(b);
    mpw_array(b, nf + 1);
    mpw_uint(b, type);
}

/* ---- table -------------------------------------------------------------- */

struct table_walk {
    int n;
    uint32_t types[128];
};

static void collect(uint32_t type, const char *name, const char *fmt, void *arg)
{
    struct table_walk *w = arg;
    ck_assert_ptr_nonnull(name);
    ck_assert_str_eq(proto_name(type), name);
    ck_assert_str_eq(proto_format(type), fmt);
    ck_assert_int_le((int)strlen(fmt), PROTO_MAX_FIELDS);
    ck_assert_uint_eq(strspn(fmt, "uidbsyIv"), strlen(fmt));
    for (int i = 0; i < (int)strlen(fmt); i++)
        ck_assert_ptr_nonnull(proto_field_name(type, i));
    ck_assert_ptr_null(proto_field_name(type, (int)strlen(fmt)));
    for (int i = 0; i < w->n; i++)
        ck_assert_uint_ne(w->types[i], type); /* numbers never reused */
    ck_assert_int_lt(w->n, 128);
    w->types[w->n++] = type;
}

START_TEST(test_proto_table)
{
    struct table_walk w = { 0 };
    proto_foreach(collect, &w);
    ck_assert_int_ge(w.n, 30);
    ck_assert_str_eq(proto_name(PROTO_HELLO), "HELLO");
    ck_assert_str_eq(proto_format(PROTO_HELLO), "uusuv");
    ck_assert_str_eq(proto_field_name(PROTO_HELLO, 2), "token");
    ck_assert_str_eq(proto_field_name(PROTO_OBJ_GET_OK, 5), "inline");
    ck_assert_ptr_null(proto_field_name(PROTO_HELLO, -1));
    ck_assert_ptr_null(proto_format(9999));
    ck_assert_ptr_null(proto_name(0));
    ck_assert_ptr_null(proto_field_name(9999, 0));
}
END_TEST

/* docs/protocol.md must list every message with its number and format. */
struct doc_walk {
    const char *text;
    int n;
};

static void doc_row(uint32_t type, const char *name, const char *fmt, void *arg)
{
    struct doc_walk *w = arg;
    char row[160];
    snprintf(row, sizeof row, "| %u | `%s` | `%s` |", type, name, fmt);
    ck_assert_msg(strstr(w->text, row) != NULL, "docs/protocol.md lacks the row \"%s\"", row);
    w->n++;
}

START_TEST(test_proto_doc_table)
{
    FILE *fp = fopen("docs/protocol.md", "r");
    ck_assert_msg(fp != NULL, "docs/protocol.md not found (run the tests from the repository root)");
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    struct doc_walk w = { text, 0 };
    proto_foreach(doc_row, &w);
    /* ...and no message that the table no longer has. */
    int rows = 0;
    for (const char *p = strstr(text, "\n## Messages"); p && (p = strstr(p, "\n| ")); p++)
        if (p[3] >= '0' && p[3] <= '9')
            rows++;
    ck_assert_int_eq(rows, w.n);
}
END_TEST

/* ---- round trip of every message ---------------------------------------- */

struct rt_ctx {
    struct buf vals[PROTO_MAX_FIELDS]; /* raw 'v' values */
    uint8_t id[PROTO_ID_SIZE];
    uint8_t bytes[300];
    struct buf stream;                 /* every frame, concatenated */
    uint32_t types[128];
    int n;
};

/* Fill field I of kind K with a value that depends on TYPE and I. */
static void gen_field(struct rt_ctx *c, uint32_t type, int i, char k, struct proto_field *f)
{
    f->kind = k;
    switch (k) {
    case 'u': f->as.u = (i % 2) ? (uint64_t)type * 1000003u + (uint64_t)i : UINT64_MAX - (uint64_t)i; break;
    case 'i': f->as.i = (i % 2) ? -(int64_t)type * 77 - i : INT64_MIN + i; break;
    case 'd': f->as.d = -1.25 * type; break;
    case 'b': f->as.b = (type + (uint32_t)i) % 2; break;
    case 's': {
        static const char *strs[] = { "", "token-\xc3\xa9", "a string longer than thirty-one bytes, to force str8" };
        f->as.s.ptr = strs[(type + (uint32_t)i) % 3];
        f->as.s.len = strlen(f->as.s.ptr);
        break;
    }
    case 'y':
        f->as.s.ptr = (const char *)c->bytes;
        f->as.s.len = (type + (uint32_t)i) % 2 ? sizeof c->bytes : 3;
        break;
    case 'I':
        c->id[0] = (uint8_t)type;
        f->as.s.ptr = (const char *)c->id;
        f->as.s.len = PROTO_ID_SIZE;
        break;
    case 'v': {
        struct buf *v = &c->vals[i];
        buf_reset(v);
        mpw_map(v, 3);
        mpw_cstr(v, "n");
        mpw_int(v, -(int64_t)type);
        mpw_cstr(v, "list");
        mpw_array(v, 4);
        mpw_nil(v);
        mpw_bool(v, true);
        mpw_double(v, 0.5);
        mpw_bin(v, c->id, PROTO_ID_SIZE);
        mpw_cstr(v, "name");
        mpw_cstr(v, proto_name(type));
        f->as.s.ptr = v->data;
        f->as.s.len = v->len;
        break;
    }
    default:
        ck_abort_msg("unknown format letter %c", k);
    }
}

static void check_same(const struct proto_field *a, const struct proto_field *b)
{
    ck_assert_int_eq(a->kind, b->kind);
    switch (a->kind) {
    case 'u': ck_assert_uint_eq(a->as.u, b->as.u); break;
    case 'i': ck_assert_int_eq(a->as.i, b->as.i); break;
    case 'd': ck_assert_double_eq(a->as.d, b->as.d); break;
    case 'b': ck_assert_int_eq(a->as.b, b->as.b); break;
    default:
        ck_assert_uint_eq(a->as.s.len, b->as.s.len);
        ck_assert_mem_eq(a->as.s.ptr, b->as.s.ptr, a->as.s.len);
    }
}

static void roundtrip_one(uint32_t type, const char *name, const char *fmt, void *arg)
{
    struct rt_ctx *c = arg;
    struct proto_msg in = { .type = type, .nfields = (int)strlen(fmt) };
    for (int i = 0; i < in.nfields; i++)
        gen_field(c, type, i, fmt[i], &in.f[i]);

    struct buf out = BUF_INIT;
    ck_assert_int_eq(proto_pack_msg(&out, &in), 0);
    size_t body = 0;
    char err[160];
    ck_assert_int_eq(proto_frame_need(out.data, out.len, PROTO_MAX_FRAME, &body, err, sizeof err), PROTO_OK);
    ck_assert_uint_eq(body + 4, out.len);

    struct proto_msg m;
    expect_good(out.data + 4, body, &m);
    ck_assert_uint_eq(m.type, type);
    ck_assert_int_eq(m.nfields, in.nfields);
    for (int i = 0; i < in.nfields; i++)
        check_same(&in.f[i], &m.f[i]);

    /* One field too few / too many is rejected. */
    struct proto_msg bad = in;
    bad.nfields = in.nfields - 1;
    ck_assert_int_eq(proto_pack_msg(&out, &bad), -1);
    ck_assert_uint_eq(out.len, body + 4); /* left as it was */

    buf_append(&c->stream, out.data, out.len);
    c->types[c->n++] = type;
    buf_free(&out);
    (void)name;
}

START_TEST(test_proto_roundtrip_all)
{
    static struct rt_ctx c; /* static: zeroed, and big */
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < sizeof c.bytes; i++)
        c.bytes[i] = (uint8_t)(i * 13);
    for (int i = 0; i < PROTO_ID_SIZE; i++)
        c.id[i] = (uint8_t)(0xa0 + i);
    proto_foreach(roundtrip_one, &c);
    ck_assert_int_ge(c.n, 30);

    /* The whole stream, fed one byte at a time, yields every message in order. */
    struct proto_decoder d;
    struct proto_msg m;
    proto_decoder_init(&d, PROTO_MAX_FRAME);
    int got = 0;
    for (size_t i = 0; i < c.stream.len; i++) {
        proto_decoder_feed(&d, c.stream.data + i, 1);
        int st;
        while ((st = proto_decoder_next(&d, &m)) == PROTO_OK) {
            ck_assert_int_lt(got, c.n);
            ck_assert_uint_eq(m.type, c.types[got]);
            got++;
        }
        ck_assert_int_eq(st, PROTO_NEED_MORE);
    }
    ck_assert_int_eq(got, c.n);
    proto_decoder_free(&d);
    proto_decoder_free(NULL);

    buf_free(&c.stream);
    for (int i = 0; i < PROTO_MAX_FIELDS; i++)
        buf_free(&c.vals[i]);
}
END_TEST

/* ---- proto_frame_next: in-place frames of a reader's buffer ----------- */
START_TEST(test_proto_frame_next)
{
    struct buf a = BUF_INIT;
    struct proto_msg m;
    char err[160];
    size_t pos = 0;
    ck_assert_int_eq(proto_pack(&a, PROTO_ERROR, (int64_t)-7, "one"), 0);
    ck_assert_int_eq(proto_pack(&a, PROTO_ERROR, (int64_t)8, "two"), 0);
    size_t whole = a.len;
    /* the first frame whole, the second cut short: one message, then more is needed */
    ck_assert_int_eq(proto_frame_next(a.data, whole - 1, &pos, &m, err, sizeof err), PROTO_OK);
    ck_assert_int_eq(m.f[0].as.i, -7);
    size_t first = pos;
    ck_assert_int_eq(proto_frame_next(a.data, whole - 1, &pos, &m, err, sizeof err), PROTO_NEED_MORE);
    ck_assert_uint_eq(pos, first);
    ck_assert_int_eq(proto_frame_next(a.data, whole, &pos, &m, err, sizeof err), PROTO_OK);
    ck_assert_int_eq(m.f[0].as.i, 8);
    ck_assert_uint_eq(pos, whole);
    ck_assert_int_eq(proto_frame_next(a.data, whole, &pos, &m, err, sizeof err), PROTO_NEED_MORE);
    /* a length prefix over the limit is bad, and says so */
    unsigned char huge[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
    pos = 0;
    ck_assert_int_eq(proto_frame_next(huge, sizeof huge, &pos, &m, err, sizeof err), PROTO_BAD);
    ck_assert(err[0] != '\0');
    buf_free(&a);
}
END_TEST

/* ---- proto_pack (variadic) ---------------------------------------------- */

START_TEST(test_proto_pack_variadic)
{
    struct buf a = BUF_INIT, b = BUF_INIT, v = BUF_INIT;
    uint8_t id[PROTO_ID_SIZE];
    for (int i = 0; i < PROTO_ID_SIZE; i++)
        id[i] = (uint8_t)i;
    mpw_array(&v, 2);
    mpw_uint(&v, 1);
    mpw_cstr(&v, "x");

    /* u u s u v */
    ck_assert_int_eq(proto_pack(&a, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)PROTO_ROLE_CLI, "tok",
                                (uint64_t)42, v.data, v.len), 0);
    struct proto_msg m = { .type = PROTO_HELLO, .nfields = 5 };
    m.f[0] = (struct proto_field){ .kind = 'u', .as.u = PROTO_VERSION };
    m.f[1] = (struct proto_field){ .kind = 'u', .as.u = PROTO_ROLE_CLI };
    m.f[2] = (struct proto_field){ .kind = 's', .as.s = { "tok", 3 } };
    m.f[3] = (struct proto_field){ .kind = 'u', .as.u = 42 };
    m.f[4] = (struct proto_field){ .kind = 'v', .as.s = { v.data, v.len } };
    ck_assert_int_eq(proto_pack_msg(&b, &m), 0);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_mem_eq(a.data, b.data, a.len);

    /* i s, I u y, I b, and NULL string / empty 'v' become "" / nil. */
    buf_reset(&a);
    ck_assert_int_eq(proto_pack(&a, PROTO_ERROR, (int64_t)-7, (const char *)NULL), 0);
    ck_assert_int_eq(proto_pack(&a, PROTO_OBJ_PUT, id, (uint64_t)3, "xyz", (size_t)3), 0);
    ck_assert_int_eq(proto_pack(&a, PROTO_ACTOR_KILL, id, 1), 0);
    ck_assert_int_eq(proto_pack(&a, PROTO_JOB_SUBMIT, "", (size_t)0, (const void *)NULL, (size_t)0,
                                v.data, v.len), 0);
    struct proto_decoder d;
    proto_decoder_init(&d, PROTO_MAX_FRAME_PREAUTH);
    proto_decoder_feed(&d, a.data, a.len);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_OK);
    ck_assert_uint_eq(m.type, PROTO_ERROR);
    ck_assert_int_eq(m.f[0].as.i, -7);
    ck_assert_uint_eq(m.f[1].as.s.len, 0);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_OK);
    ck_assert_uint_eq(m.type, PROTO_OBJ_PUT);
    ck_assert_mem_eq(m.f[0].as.s.ptr, id, PROTO_ID_SIZE);
    ck_assert_uint_eq(m.f[1].as.u, 3);
    ck_assert_uint_eq(m.f[2].as.s.len, 3);
    ck_assert_mem_eq(m.f[2].as.s.ptr, "xyz", 3);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_OK);
    ck_assert_uint_eq(m.type, PROTO_ACTOR_KILL);
    ck_assert(m.f[1].as.b);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_OK);
    ck_assert_uint_eq(m.type, PROTO_JOB_SUBMIT);
    ck_assert_uint_eq(m.f[0].as.s.len, 0);
    ck_assert_uint_eq(m.f[1].as.s.len, 1);
    ck_assert_int_eq((uint8_t)m.f[1].as.s.ptr[0], 0xc0); /* nil */
    ck_assert_uint_eq(m.f[2].as.s.len, v.len);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_NEED_MORE);
    proto_decoder_free(&d);

    /* Failures leave the buffer as it was. */
    size_t len = a.len;
    ck_assert_int_eq(proto_pack(&a, 9999, (uint64_t)1), -1);
    ck_assert_int_eq(proto_pack(&a, PROTO_OBJ_SEAL, (const uint8_t *)NULL), -1);
    ck_assert_int_eq(proto_pack(&a, PROTO_OBJ_FREE, v.data, v.len - 1), -1); /* truncated value */
    ck_assert_int_eq(proto_pack(&a, PROTO_OBJ_FREE, "\xc0\xc0", (size_t)2), -1); /* two values */
    ck_assert_int_eq(proto_pack(&a, PROTO_OBJ_FREE, "\xc1", (size_t)1), -1);
    ck_assert_uint_eq(a.len, len);
    /* Too big for a frame: refused before the payload is read (it is 3 bytes). */
    ck_assert_int_eq(proto_pack(&a, PROTO_OBJ_PUT, id, (uint64_t)1, "big", (size_t)PROTO_MAX_FRAME), -1);
    ck_assert_int_eq(proto_pack(&a, PROTO_JOB_LOG, (uint64_t)1, (const char *)NULL), 0);
    ck_assert_uint_gt(a.len, len);
    a.len = len;
    struct proto_msg wrong = { .type = PROTO_PING, .nfields = 1 };
    wrong.f[0] = (struct proto_field){ .kind = 's', .as.s = { "x", 1 } };
    ck_assert_int_eq(proto_pack_msg(&a, &wrong), -1);
    ck_assert_uint_eq(a.len, len);

    buf_free(&a);
    buf_free(&b);
    buf_free(&v);
}
END_TEST

static int vpack_wrapper(struct buf *out, uint32_t type, ...)
{
    va_list ap;
    va_start(ap, type);
    int rc = proto_vpack(out, type, ap);
    va_end(ap);
    return rc;
}

START_TEST(test_proto_map_extend)
{
    /* fixmap, map16 and map32 headers each get the extra pairs counted */
    for (int form = 0; form < 3; form++) {
        struct buf m = BUF_INIT, out = BUF_INIT;
        uint32_t n = form == 0 ? 2 : form == 1 ? 20 : 70000;
        mpw_map(&m, n);
        if (form == 2) { /* mpw_map writes map16 below 65536: make a map32 by hand */
            buf_reset(&m);
            uint8_t h[5] = { 0xdf, 0, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
            buf_append(&m, h, 5);
        }
        for (uint32_t i = 0; i < n; i++) {
            mpw_uint(&m, i);
            mpw_uint(&m, i);
        }
        ck_assert_int_eq(mpw_map_extend(&out, m.data, m.len, 1), 0);
        mpw_cstr(&out, "kind");
        mpw_cstr(&out, "x");
        struct mpr r;
        struct mpr_item it;
        mpr_init(&r, out.data, out.len);
        ck_assert_int_eq(mpr_next(&r, &it), 0);
        ck_assert_int_eq(it.kind, MPR_MAP);
        ck_assert_uint_eq(it.as.n, n + 1);
        for (uint32_t i = 0; i < 2 * n + 2; i++) /* every pair is there, the new one last */
            ck_assert_int_eq(mpr_skip(&r), 0);
        ck_assert(r.p == r.end);
        buf_free(&m);
        buf_free(&out);
    }
    struct buf out = BUF_INIT;
    ck_assert_int_eq(mpw_map_extend(&out, "\x91\x01", 2, 1), -1); /* an array, not a map */
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(mpw_map_extend(&out, "", 0, 1), -1);
    buf_free(&out);
}
END_TEST

START_TEST(test_proto_vpack)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    uint8_t id[PROTO_ID_SIZE] = { 1, 2, 3 };
    ck_assert_int_eq(vpack_wrapper(&a, PROTO_OBJ_GET, (uint64_t)7, id, (int64_t)-1, id), 0);
    ck_assert_int_eq(proto_pack(&b, PROTO_OBJ_GET, (uint64_t)7, id, (int64_t)-1, id), 0);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_mem_eq(a.data, b.data, a.len);
    ck_assert_int_eq(vpack_wrapper(&a, 12345, (uint64_t)7), -1);
    ck_assert_uint_eq(a.len, b.len);
    buf_free(&a);
    buf_free(&b);
}
END_TEST

/* ---- writer encodings --------------------------------------------------- */

static void expect_bytes(struct buf *b, const char *hex)
{
    char got[64] = "";
    for (size_t i = 0; i < b->len && i < 16; i++)
        snprintf(got + 2 * i, 3, "%02x", (uint8_t)b->data[i]);
    ck_assert_str_eq(got, hex);
    buf_reset(b);
}

START_TEST(test_proto_mpw_encodings)
{
    struct buf b = BUF_INIT;
    mpw_uint(&b, 0x7f); expect_bytes(&b, "7f");
    mpw_uint(&b, 0x80); expect_bytes(&b, "cc80");
    mpw_uint(&b, 0x100); expect_bytes(&b, "cd0100");
    mpw_uint(&b, 0x10000); expect_bytes(&b, "ce00010000");
    mpw_uint(&b, 1ull << 32); expect_bytes(&b, "cf0000000100000000");
    mpw_int(&b, 5); expect_bytes(&b, "05");
    mpw_int(&b, -1); expect_bytes(&b, "ff");
    mpw_int(&b, -32); expect_bytes(&b, "e0");
    mpw_int(&b, -33); expect_bytes(&b, "d0df");
    mpw_int(&b, -129); expect_bytes(&b, "d1ff7f");
    mpw_int(&b, -32769); expect_bytes(&b, "d2ffff7fff");
    mpw_int(&b, INT64_MIN); expect_bytes(&b, "d38000000000000000");
    mpw_double(&b, 1.5); expect_bytes(&b, "cb3ff8000000000000");
    mpw_nil(&b); mpw_bool(&b, false); mpw_bool(&b, true); expect_bytes(&b, "c0c2c3");
    mpw_cstr(&b, NULL); mpw_cstr(&b, "ab"); expect_bytes(&b, "c0a26162");
    mpw_bin(&b, "", 0); expect_bytes(&b, "c400");
    mpw_array(&b, 15); expect_bytes(&b, "9f");
    mpw_array(&b, 16); expect_bytes(&b, "dc0010");
    mpw_array(&b, 65536); expect_bytes(&b, "dd00010000");
    mpw_map(&b, 1); expect_bytes(&b, "81");
    mpw_map(&b, 16); expect_bytes(&b, "de0010");

    char big[70000];
    memset(big, 'x', sizeof big);
    mpw_str(&b, big, 31); ck_assert_uint_eq((uint8_t)b.data[0], 0xbf); buf_reset(&b);
    mpw_str(&b, big, 32); expect_bytes(&b, "d9207878787878787878787878787878");
    mpw_str(&b, big, 256); ck_assert_uint_eq((uint8_t)b.data[0], 0xda); ck_assert_uint_eq(b.len, 259); buf_reset(&b);
    mpw_str(&b, big, 65536); ck_assert_uint_eq((uint8_t)b.data[0], 0xdb); ck_assert_uint_eq(b.len, 65541); buf_reset(&b);
    mpw_bin(&b, big, 256); ck_assert_uint_eq((uint8_t)b.data[0], 0xc5); buf_reset(&b);
    mpw_bin(&b, big, 65536); ck_assert_uint_eq((uint8_t)b.data[0], 0xc6); buf_reset(&b);

    /* a mixed value reads back with mpr */
    mpw_array(&b, 7);
    mpw_int(&b, -40000);
    mpw_uint(&b, UINT64_MAX);
    mpw_double(&b, -2.5);
    mpw_str(&b, big, 40);
    mpw_bin(&b, big, 300);
    mpw_map(&b, 1);
    mpw_cstr(&b, "k");
    mpw_nil(&b);
    mpw_bool(&b, true);
    struct mpr r;
    uint32_t n;
    int64_t i64;
    uint64_t u64;
    double d;
    const char *str;
    const void *bin;
    size_t len;
    bool bo;
    struct mpr_item it;
    mpr_init(&r, b.data, b.len);
    ck_assert_int_eq(mpr_array(&r, &n), 0);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(mpr_int(&r, &i64), 0);
    ck_assert_int_eq(i64, -40000);
    ck_assert_int_eq(mpr_uint(&r, &u64), 0);
    ck_assert_uint_eq(u64, UINT64_MAX);
    ck_assert_int_eq(mpr_double(&r, &d), 0);
    ck_assert_double_eq(d, -2.5);
    ck_assert_int_eq(mpr_str(&r, &str, &len), 0);
    ck_assert_uint_eq(len, 40);
    ck_assert_int_eq(mpr_bin(&r, &bin, &len), 0);
    ck_assert_uint_eq(len, 300);
    ck_assert_int_eq(mpr_map(&r, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mpr_str(&r, &str, &len), 0);
    ck_assert_int_eq(mpr_next(&r, &it), 0);
    ck_assert_int_eq(it.kind, MPR_NIL);
    ck_assert_int_eq(mpr_bool(&r, &bo), 0);
    ck_assert(bo);
    ck_assert(mpr_at_end(&r));
    buf_free(&b);
}
END_TEST

/* ---- reader ------------------------------------------------------------- */

START_TEST(test_proto_mpr_good)
{
    /* [int8 5, -3, uint64 max, float32 1.5, float64 2.0, "hi", bin 1, {k: nil}, true, fixext1, ext8] */
    static const uint8_t in[] = {
        0x9b, 0xd0, 0x05, 0xfd, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xca, 0x3f, 0xc0, 0x00, 0x00, 0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0,
        0xa2, 'h', 'i', 0xc4, 0x01, 0x09, 0x81, 0xa1, 'k', 0xc0, 0xc3,
        0xd4, 0x01, 0x2a, 0xc7, 0x02, 0x05, 0x10, 0x11,
    };
    struct mpr r;
    uint32_t n;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    const char *s;
    const void *p;
    size_t len;
    struct mpr_item it;
    mpr_init(&r, in, sizeof in);
    ck_assert_int_eq(mpr_array(&r, &n), 0);
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(mpr_uint(&r, &u), 0); /* int8 5 read as uint */
    ck_assert_uint_eq(u, 5);
    ck_assert_int_eq(mpr_int(&r, &i), 0);
    ck_assert_int_eq(i, -3);
    ck_assert_int_eq(mpr_uint(&r, &u), 0);
    ck_assert_uint_eq(u, UINT64_MAX);
    ck_assert_int_eq(mpr_double(&r, &d), 0);
    ck_assert_double_eq(d, 1.5);
    ck_assert_int_eq(mpr_double(&r, &d), 0);
    ck_assert_double_eq(d, 2.0);
    ck_assert_int_eq(mpr_str(&r, &s, &len), 0);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(s, "hi", 2);
    ck_assert_int_eq(mpr_bin(&r, &p, &len), 0);
    ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(*(const uint8_t *)p, 9);
    ck_assert_int_eq(mpr_map(&r, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mpr_skip(&r), 0);
    ck_assert_int_eq(mpr_skip(&r), 0);
    ck_assert_int_eq(mpr_bool(&r, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(mpr_next(&r, &it), 0);
    ck_assert_int_eq(it.kind, MPR_EXT);
    ck_assert_uint_eq(it.as.s.len, 1);
    ck_assert_int_eq(it.as.s.ptr[0], 0x2a);
    ck_assert_int_eq(mpr_next(&r, &it), 0);
    ck_assert_int_eq(it.kind, MPR_EXT);
    ck_assert_uint_eq(it.as.s.len, 2);
    ck_assert(mpr_at_end(&r));

    /* Conversions: int accepts uint <= INT64_MAX, double accepts ints. */
    mpr_init(&r, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff\x05\xfb", 11);
    ck_assert_int_eq(mpr_int(&r, &i), 0);
    ck_assert_int_eq(i, INT64_MAX);
    ck_assert_int_eq(mpr_double(&r, &d), 0);
    ck_assert_double_eq(d, 5.0);
    ck_assert_int_eq(mpr_double(&r, &d), 0);
    ck_assert_double_eq(d, -5.0);
    ck_assert(mpr_at_end(&r));

    /* Skip a whole nested value; an empty reader is at its end. */
    mpr_init(&r, in, sizeof in);
    ck_assert_int_eq(mpr_skip(&r), 0);
    ck_assert(mpr_at_end(&r));
    mpr_init(&r, NULL, 0);
    ck_assert(mpr_at_end(&r));
    ck_assert_int_eq(mpr_next(&r, &it), -1);
}
END_TEST

/* Run one typed read on an exact copy of IN; expect failure and a sticky err. */
static void mpr_expect_fail(const void *in, size_t len, int which)
{
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, in, len);
    struct mpr r;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    const char *s;
    const void *p;
    size_t n;
    uint32_t cnt;
    mpr_init(&r, c, len);
    int rc = 0;
    switch (which) {
    case 0: rc = mpr_uint(&r, &u); break;
    case 1: rc = mpr_int(&r, &i); break;
    case 2: rc = mpr_double(&r, &d); break;
    case 3: rc = mpr_bool(&r, &b); break;
    case 4: rc = mpr_str(&r, &s, &n); break;
    case 5: rc = mpr_bin(&r, &p, &n); break;
    case 6: rc = mpr_array(&r, &cnt); break;
    case 7: rc = mpr_map(&r, &cnt); break;
    default: rc = mpr_skip(&r); break;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_int_ne(r.err, 0);
    ck_assert(!mpr_at_end(&r));
    struct mpr_item it;
    ck_assert_int_eq(mpr_next(&r, &it), -1); /* sticky */
    free(c);
}

START_TEST(test_proto_mpr_bad)
{
    mpr_expect_fail("\xff", 1, 0);                                       /* negative as uint */
    mpr_expect_fail("\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9, 1);      /* > INT64_MAX as int */
    mpr_expect_fail("\xa1x", 2, 2);                                      /* str as double */
    mpr_expect_fail("\x01", 1, 3);                                       /* int as bool */
    mpr_expect_fail("\xc4\x01x", 3, 4);                                  /* bin as str */
    mpr_expect_fail("\xa1x", 2, 5);                                      /* str as bin */
    mpr_expect_fail("\x80", 1, 6);                                       /* map as array */
    mpr_expect_fail("\x90", 1, 7);                                       /* array as map */
    mpr_expect_fail("\xc1", 1, 8);                                       /* never-used byte */
    mpr_expect_fail("\xdb\x00\x01\x00\x00" "ab", 7, 4);                  /* str32 past end */
    mpr_expect_fail("\xdd\x80\x00\x00\x00\x01", 6, 6);                   /* 2^31 elements */
    mpr_expect_fail("\xdd\x00\x00\x01\x00\x01\x02", 7, 6);               /* 256 elements, 2 bytes */
    mpr_expect_fail("\x82\x01\x02\x03", 4, 7);                           /* 2 pairs need 4 bytes */
    mpr_expect_fail("\xc9\xff\xff\xff\xff\x01", 6, 8);                   /* ext32 past end */
    mpr_expect_fail("\xd8\x01\x00", 3, 8);                               /* fixext16 truncated */
    mpr_expect_fail("", 0, 8);

    /* Every strict prefix of a nested value fails to skip, without overreading. */
    struct buf b = BUF_INIT;
    mpw_map(&b, 2);
    mpw_cstr(&b, "key");
    mpw_array(&b, 3);
    mpw_uint(&b, 70000);
    mpw_double(&b, 3.0);
    mpw_bin(&b, "abcdef", 6);
    mpw_int(&b, -1000);
    mpw_str(&b, "a string value", 14);
    for (size_t len = 0; len < b.len; len++)
        mpr_expect_fail(b.data, len, 8);
    buf_free(&b);

    /* Depth: 16 nested arrays skip, 17 do not. */
    uint8_t deep[40];
    memset(deep, 0x91, sizeof deep);
    deep[15] = 0x90;
    struct mpr r;
    mpr_init(&r, deep, 16);
    ck_assert_int_eq(mpr_skip(&r), 0);
    ck_assert(mpr_at_end(&r));
    deep[15] = 0x91;
    deep[16] = 0x90;
    mpr_expect_fail(deep, 17, 8);
}
END_TEST

/* ---- frames and decoding ------------------------------------------------ */

START_TEST(test_proto_frame_need)
{
    size_t body = 0;
    char err[160];
    ck_assert_int_eq(proto_frame_need("\x00\x00\x00", 3, 100, &body, err, sizeof err), PROTO_NEED_MORE);
    ck_assert_int_eq(proto_frame_need("\x00\x00\x00\x00", 4, 100, &body, err, sizeof err), PROTO_BAD);
    ck_assert_str_eq(err, "empty frame (length 0)");
    ck_assert_int_eq(proto_frame_need("\x06\x40\x00\x00", 4, PROTO_MAX_FRAME_PREAUTH, &body, err, sizeof err),
                     PROTO_BAD);
    ck_assert_str_eq(err, "frame of 104857600 bytes exceeds limit 65536");
    ck_assert_int_eq(proto_frame_need("\xff\xff\xff\xff", 4, PROTO_MAX_FRAME, &body, err, sizeof err), PROTO_BAD);
    ck_assert_int_eq(proto_frame_need("\x00\x01\x00\x00", 4, PROTO_MAX_FRAME_PREAUTH, &body, err, sizeof err),
                     PROTO_OK);
    ck_assert_uint_eq(body, 65536);
    ck_assert_int_eq(proto_frame_need("\x00\x01\x00\x01", 4, PROTO_MAX_FRAME_PREAUTH, &body, err, sizeof err),
                     PROTO_BAD);
}
END_TEST

START_TEST(test_proto_decode_truncated)
{
    struct buf f = BUF_INIT, v = BUF_INIT;
    mpw_map(&v, 1);
    mpw_cstr(&v, "cpus");
    mpw_array(&v, 2);
    mpw_uint(&v, 4);
    mpw_double(&v, 0.5);
    ck_assert_int_eq(proto_pack(&f, PROTO_HELLO, (uint64_t)1, (uint64_t)2, "a token of some length",
                                (uint64_t)99999, v.data, v.len), 0);
    struct proto_msg m;
    /* Every strict prefix of the body is rejected. */
    for (size_t len = 0; len < f.len - 4; len++)
        expect_bad(f.data + 4, len, len == 0 ? "truncated" : "");
    expect_good(f.data + 4, f.len - 4, &m);

    /* The stream decoder waits for every prefix of the frame, then decodes it. */
    for (size_t len = 0; len <= f.len; len++) {
        struct proto_decoder d;
        proto_decoder_init(&d, PROTO_MAX_FRAME_PREAUTH);
        proto_decoder_feed(&d, f.data, len);
        ck_assert_int_eq(proto_decoder_next(&d, &m), len < f.len ? PROTO_NEED_MORE : PROTO_OK);
        proto_decoder_free(&d);
    }
    buf_free(&f);
    buf_free(&v);
}
END_TEST

START_TEST(test_proto_decode_malformed)
{
    struct buf b = BUF_INIT;
    struct proto_msg m;

    /* HELLO whose token is a uint. */
    body_start(&b, 5, PROTO_HELLO);
    mpw_uint(&b, 1); mpw_uint(&b, 1); mpw_uint(&b, 7); mpw_uint(&b, 1); mpw_nil(&b);
    expect_bad(b.data, b.len, "HELLO field 3 (token): expected string, got uint");

    /* Field counts. */
    body_start(&b, 2, PROTO_PING);
    mpw_uint(&b, 1); mpw_uint(&b, 2);
    expect_bad(b.data, b.len, "PING: expected 1 fields, got 2");
    body_start(&b, 0, PROTO_PING);
    expect_bad(b.data, b.len, "PING: expected 1 fields, got 0");

    /* Type: unknown, not a uint, too big, negative; empty array; not an array. */
    body_start(&b, 1, 9999);
    mpw_uint(&b, 1);
    expect_bad(b.data, b.len, "unknown message type 9999");
    body_start(&b, 0, 1ull << 32 | PROTO_PING);
    expect_bad(b.data, b.len, "unknown message type 4294967300");
    buf_reset(&b); mpw_array(&b, 2); mpw_cstr(&b, "PING"); mpw_uint(&b, 1);
    expect_bad(b.data, b.len, "message type is not a uint (got string)");
    buf_reset(&b); mpw_array(&b, 2); mpw_int(&b, -4); mpw_uint(&b, 1);
    expect_bad(b.data, b.len, "message type is not a uint (got int)");
    buf_reset(&b); mpw_array(&b, 0);
    expect_bad(b.data, b.len, "empty message array");
    buf_reset(&b); mpw_map(&b, 1); mpw_uint(&b, PROTO_PING); mpw_uint(&b, 1);
    expect_bad(b.data, b.len, "message is not an array (got map)");
    expect_bad("\x04", 1, "message is not an array (got uint)");

    /* Field kinds, accepted and rejected encodings. */
    body_start(&b, 1, PROTO_PING);
    buf_append(&b, "\xd0\x05", 2); /* non-negative int8 is a fine 'u' */
    expect_good(b.data, b.len, &m);
    ck_assert_uint_eq(m.f[0].as.u, 5);
    body_start(&b, 1, PROTO_PING);
    mpw_int(&b, -5);
    expect_bad(b.data, b.len, "PING field 1 (seq): expected uint, got negative int");
    body_start(&b, 2, PROTO_ERROR);
    mpw_uint(&b, INT64_MAX); mpw_cstr(&b, "m");
    expect_good(b.data, b.len, &m);
    ck_assert_int_eq(m.f[0].as.i, INT64_MAX);
    body_start(&b, 2, PROTO_ERROR);
    mpw_uint(&b, (uint64_t)INT64_MAX + 1); mpw_cstr(&b, "m");
    expect_bad(b.data, b.len, "ERROR field 1 (code): expected int, got uint");
    body_start(&b, 2, PROTO_ACTOR_KILL);
    mpw_bin(&b, "01234567890123456789", 20); mpw_uint(&b, 1);
    expect_bad(b.data, b.len, "ACTOR_KILL field 2 (no_restart): expected bool, got uint");
    body_start(&b, 3, PROTO_OBJ_PUT);
    mpw_bin(&b, "01234567890123456789", 20); mpw_uint(&b, 1); mpw_cstr(&b, "not bytes");
    expect_bad(b.data, b.len, "OBJ_PUT field 3 (data): expected bytes, got string");

    /* IDs: exactly PROTO_ID_SIZE bytes of bin. */
    body_start(&b, 1, PROTO_OBJ_SEAL);
    mpw_bin(&b, "0123456789012345678", 19);
    expect_bad(b.data, b.len, "OBJ_SEAL field 1 (id): expected 20-byte id, got 19 bytes");
    body_start(&b, 1, PROTO_OBJ_SEAL);
    mpw_bin(&b, "012345678901234567890", 21);
    expect_bad(b.data, b.len, "got 21 bytes");
    body_start(&b, 1, PROTO_OBJ_SEAL);
    mpw_cstr(&b, "01234567890123456789");
    expect_bad(b.data, b.len, "expected 20-byte id, got string");

    /* str32 length past the end. */
    body_start(&b, 2, PROTO_JOB_STARTED);
    buf_append(&b, "\xdb\x00\x01\x00\x00" "ab", 7);
    expect_bad(b.data, b.len, "JOB_STARTED field 1 (job_id): string of 65536 bytes runs past the end");

    /* Trailing bytes. */
    body_start(&b, 1, PROTO_PING);
    mpw_uint(&b, 1);
    mpw_nil(&b);
    expect_bad(b.data, b.len, "PING: 1 trailing bytes after the message");

    /* Element-count bombs: at top level and inside a 'v' field. */
    expect_bad("\xdd\x80\x00\x00\x00\x04\x01", 7, "array of 2147483648 elements exceeds limit 1048576");
    expect_bad("\xdd\x00\x01\x00\x00\x04\x01", 7, "array of 65536 elements is longer than the 2 bytes left");
    body_start(&b, 1, PROTO_OBJ_FREE);
    buf_append(&b, "\xdf\x7f\xff\xff\xff\x01\x02", 7);
    expect_bad(b.data, b.len, "OBJ_FREE field 1 (ids): map of 2147483647 elements exceeds limit");
    body_start(&b, 1, PROTO_OBJ_FREE);
    buf_append(&b, "\xde\x00\x02\x01\x02\x03", 6);
    expect_bad(b.data, b.len, "map of 2 elements is longer than the 3 bytes left");

    /* Depth: the frame array is level 1, so a 'v' may nest 15 arrays. */
    body_start(&b, 1, PROTO_TASK_SUBMIT);
    for (int i = 0; i < PROTO_MAX_DEPTH - 2; i++)
        mpw_array(&b, 1);
    mpw_array(&b, 0);
    expect_good(b.data, b.len, &m);
    ck_assert_uint_eq(m.f[0].as.s.len, PROTO_MAX_DEPTH - 1);
    body_start(&b, 1, PROTO_TASK_SUBMIT);
    for (int i = 0; i < PROTO_MAX_DEPTH - 1; i++)
        mpw_array(&b, 1);
    mpw_array(&b, 0);
    expect_bad(b.data, b.len, "TASK_SUBMIT field 1 (spec): nesting deeper than limit 16");
    body_start(&b, 1, PROTO_TASK_SUBMIT); /* a depth bomb */
    for (int i = 0; i < 50000; i++)
        mpw_array(&b, 1);
    mpw_nil(&b);
    expect_bad(b.data, b.len, "nesting deeper than limit 16");
    body_start(&b, 1, PROTO_TASK_SUBMIT); /* maps count too */
    for (int i = 0; i < 20; i++) {
        mpw_map(&b, 1);
        mpw_nil(&b);
    }
    mpw_nil(&b);
    expect_bad(b.data, b.len, "nesting deeper than limit 16");

    /* Invalid byte inside a value; ext values are accepted in 'v'. */
    body_start(&b, 1, PROTO_TASK_SUBMIT);
    buf_append(&b, "\x91\xc1", 2);
    expect_bad(b.data, b.len, "TASK_SUBMIT field 1 (spec): invalid msgpack byte 0xc1");
    body_start(&b, 1, PROTO_TASK_SUBMIT);
    buf_append(&b, "\x92\xd4\x01\x02\xc7\x00\x05", 7);
    expect_good(b.data, b.len, &m);
    ck_assert_uint_eq(m.f[0].as.s.len, 7);

    /* Empty body. */
    expect_bad("", 0, "truncated");
    buf_free(&b);
}
END_TEST

START_TEST(test_proto_decoder_stream)
{
    struct buf f = BUF_INIT;
    struct proto_msg m;
    struct proto_decoder d;

    /* Many frames in one feed (exercises compaction past 4096 bytes). */
    for (uint64_t i = 0; i < 3000; i++)
        ck_assert_int_eq(proto_pack(&f, PROTO_PING, i * 1000), 0);
    proto_decoder_init(&d, PROTO_MAX_FRAME_PREAUTH);
    size_t half = f.len / 2 + 3;
    proto_decoder_feed(&d, f.data, half);
    uint64_t want = 0;
    while (proto_decoder_next(&d, &m) == PROTO_OK)
        ck_assert_uint_eq(m.f[0].as.u, 1000 * want++);
    proto_decoder_feed(&d, f.data + half, f.len - half);
    while (proto_decoder_next(&d, &m) == PROTO_OK)
        ck_assert_uint_eq(m.f[0].as.u, 1000 * want++);
    ck_assert_uint_eq(want, 3000);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_NEED_MORE);
    ck_assert_str_eq(d.errstr, "");

    /* An oversized frame is refused from its 4-byte prefix alone; PROTO_BAD sticks. */
    proto_decoder_feed(&d, "\x00\x01", 2);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_NEED_MORE);
    proto_decoder_feed(&d, "\x00\x01", 2);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    ck_assert_str_eq(d.errstr, "frame of 65537 bytes exceeds limit 65536");
    buf_reset(&f);
    ck_assert_int_eq(proto_pack(&f, PROTO_PING, (uint64_t)1), 0);
    proto_decoder_feed(&d, f.data, f.len);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    proto_decoder_free(&d);

    /* A good frame, then a malformed one: first OK, then BAD for good. */
    proto_decoder_init(&d, PROTO_MAX_FRAME);
    proto_decoder_feed(&d, f.data, f.len);
    proto_decoder_feed(&d, "\x00\x00\x00\x03\x92\x04\xa0", 7);
    proto_decoder_feed(&d, f.data, f.len);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_OK);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    ck_assert_str_eq(d.errstr, "PING field 1 (seq): expected uint, got string");
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    proto_decoder_free(&d);

    /* A zero-length frame is bad too. */
    proto_decoder_init(&d, PROTO_MAX_FRAME);
    proto_decoder_feed(&d, "\x00\x00\x00\x00", 4);
    ck_assert_int_eq(proto_decoder_next(&d, &m), PROTO_BAD);
    ck_assert_str_eq(d.errstr, "empty frame (length 0)");
    proto_decoder_free(&d);
    buf_free(&f);
}
END_TEST

/* ---- handshake ---------------------------------------------------------- */

static int hello_check(uint64_t version, const char *sent, const char *want, uint64_t *role, char *err)
{
    struct buf f = BUF_INIT;
    struct proto_msg m;
    ck_assert_int_eq(proto_pack(&f, PROTO_HELLO, version, (uint64_t)PROTO_ROLE_NODE, sent, (uint64_t)1,
                                (const void *)NULL, (size_t)0), 0);
    expect_good(f.data + 4, f.len - 4, &m);
    int rc = proto_hello_verify(&m, want, role, err, 160);
    buf_free(&f);
    return rc;
}

START_TEST(test_proto_hello_verify)
{
    char err[160];
    uint64_t role = 0;
    ck_assert_int_eq(hello_check(PROTO_VERSION, "s3cret", "s3cret", &role, err), 0);
    ck_assert_uint_eq(role, PROTO_ROLE_NODE);
    ck_assert_int_eq(hello_check(7, "s3cret", "s3cret", &role, err), -1);
    ck_assert_str_eq(err, "protocol version 7 not supported (this node speaks 3)");
    ck_assert_int_eq(hello_check(PROTO_VERSION, "s3creT", "s3cret", &role, err), -2);
    ck_assert_str_eq(err, "authentication failed: bad cluster token");
    ck_assert_int_eq(hello_check(PROTO_VERSION, "s3cre", "s3cret", &role, err), -2);
    ck_assert_int_eq(hello_check(PROTO_VERSION, "s3crett", "s3cret", &role, err), -2);
    ck_assert_int_eq(hello_check(PROTO_VERSION, "", "s3cret", &role, err), -2);
    ck_assert_int_eq(hello_check(PROTO_VERSION, "", "", &role, err), -2);   /* no token configured */
    ck_assert_int_eq(hello_check(PROTO_VERSION, "x", NULL, &role, err), -2);

    struct buf f = BUF_INIT;
    struct proto_msg m;
    ck_assert_int_eq(proto_pack(&f, PROTO_PING, (uint64_t)1), 0);
    expect_good(f.data + 4, f.len - 4, &m);
    ck_assert_int_eq(proto_hello_verify(&m, "s3cret", &role, err, sizeof err), -1);
    ck_assert_str_eq(err, "expected HELLO, got PING");
    buf_free(&f);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_proto_table);
    tcase_add_test(tc, test_proto_doc_table);
    tcase_add_test(tc, test_proto_roundtrip_all);
    tcase_add_test(tc, test_proto_pack_variadic);
    tcase_add_test(tc, test_proto_frame_next);
    tcase_add_test(tc, test_proto_vpack);
    tcase_add_test(tc, test_proto_map_extend);
    tcase_add_test(tc, test_proto_mpw_encodings);
    tcase_add_test(tc, test_proto_mpr_good);
    tcase_add_test(tc, test_proto_mpr_bad);
    tcase_add_test(tc, test_proto_frame_need);
    tcase_add_test(tc, test_proto_decode_truncated);
    tcase_add_test(tc, test_proto_decode_malformed);
    tcase_add_test(tc, test_proto_decoder_stream);
    tcase_add_test(tc, test_proto_hello_verify);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(proto_suite);
