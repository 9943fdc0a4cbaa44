/*
 * proto.h — encoder and incremental, limit-enforcing decoder for the frames
 * described in protocol.h.
 *
 * Encoding: proto_pack() appends one whole frame to a struct buf, checking the
 * arguments against the message table. Raw msgpack for 'v' fields is built
 * with the mpw_* writer.
 *
 * Decoding is zero-copy and allocation-free: proto_frame_need() looks at the
 * 4-byte length prefix and rejects oversized frames before any body is read;
 * proto_decode() validates a whole body against the table (types, field
 * count, nesting depth, element counts, lengths against the bytes present)
 * and fills a struct proto_msg whose strings point into the caller's buffer.
 * 'v' fields are walked with the mpr_* reader, which re-checks every bound.
 * struct proto_decoder wraps both for blocking clients that read into a buffer.
 */
#ifndef RAY_PROTO_H
#define RAY_PROTO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/protocol.h"

/* ---- message table ---------------------------------------------------- */

/* Field format ("uusuv") of message TYPE, or NULL if TYPE is unknown. */
const char *proto_format(uint32_t type);
/* Message name ("HELLO"), or NULL if unknown. */
const char *proto_name(uint32_t type);
/* Calls FN for every message type in the table; used by tests and docs. */
void proto_foreach(void (*fn)(uint32_t type, const char *name, const char *fmt, void *arg), void *arg);
/* Name of field IDX (0-based, as in proto_msg.f[IDX]) of message TYPE, from
 * the table's doc column ("token"), or NULL if TYPE or IDX is out of range.
 * The string is static. */
const char *proto_field_name(uint32_t type, int idx);

/* ---- encoding --------------------------------------------------------- */

/*
 * Append one frame of message TYPE to OUT. The variadic arguments follow the
 * message's format string:
 *   u: uint64_t   i: int64_t   d: double   b: int (0/1)
 *   s: const char * (NUL-terminated; NULL is sent as "")
 *   y: const void *, size_t       I: const uint8_t * (PROTO_ID_SIZE bytes)
 *   v: const void *, size_t  (one complete msgpack value, from mpw_*; len 0 sends nil)
 * Returns 0, or -1 if TYPE is unknown, the frame would exceed PROTO_MAX_FRAME,
 * or memory ran out (OUT's bytes are left as they were; on out-of-memory
 * buf_failed(OUT) is true, and it fails at once while that is so).
 */
int proto_pack(struct buf *out, uint32_t type, ...);
/* The same with a va_list (for wrappers such as conn_send). */
int proto_vpack(struct buf *out, uint32_t type, va_list ap);
/*
 * Append one frame holding MSG (type, nfields, and f[i].kind/as set as
 * proto_decode fills them; 'v' fields are raw msgpack, len 0 sends nil).
 * This is proto_pack for callers that hold fields in a struct, e.g. to
 * re-encode a decoded message. Returns 0, or -1 if the type is unknown, the
 * field count or a field kind does not match the table, an 'I' field is not
 * PROTO_ID_SIZE bytes, a 'v' field is not exactly one valid msgpack value, or
 * the frame would exceed PROTO_MAX_FRAME, or memory ran out (OUT is left as
 * it was but for buf_failed, as for proto_pack).
 */
struct proto_msg;
int proto_pack_msg(struct buf *out, const struct proto_msg *msg);

/* Raw msgpack writer, appending to a struct buf (for 'v' fields). Out of
 * memory (or a length above UINT32_MAX) sets B's sticky error (buf.h) and
 * writes nothing more: check buf_failed(B) once after the last write. */
void mpw_nil(struct buf *b);
void mpw_bool(struct buf *b, bool v);
void mpw_uint(struct buf *b, uint64_t v);
void mpw_int(struct buf *b, int64_t v);
void mpw_double(struct buf *b, double v);
void mpw_str(struct buf *b, const char *s, size_t len);
void mpw_cstr(struct buf *b, const char *s); /* NULL writes nil */
void mpw_bin(struct buf *b, const void *p, size_t len);
void mpw_array(struct buf *b, uint32_t n);   /* then n values */
void mpw_map(struct buf *b, uint32_t n);     /* then n key/value pairs */
/* The msgpack map MAP (LEN bytes: a map header, then its pairs) with room
 * for EXTRA more pairs: writes a header for n + EXTRA pairs and MAP's pairs
 * into B; the caller then writes the EXTRA pairs. Returns 0, or -1 when MAP
 * does not start with a map header (nothing written). */
int mpw_map_extend(struct buf *b, const void *map, size_t len, uint32_t extra);

/* ---- decoding --------------------------------------------------------- */

enum proto_status { PROTO_NEED_MORE = 0, PROTO_OK = 1, PROTO_BAD = -1 };

/*
 * Look at AVAIL bytes at P (the start of a frame). Returns PROTO_NEED_MORE if
 * fewer than 4 bytes are there, PROTO_BAD if the announced body length is 0
 * or above MAX_FRAME (errstr says so), else PROTO_OK with *BODY_LEN set; the
 * whole frame is 4 + *BODY_LEN bytes.
 */
int proto_frame_need(const void *p, size_t avail, size_t max_frame, size_t *body_len,
                     char *errstr, size_t errlen);

struct proto_field {
    char kind; /* the format letter */
    union {
        uint64_t u;
        int64_t i;
        double d;
        bool b;
        struct { const char *ptr; size_t len; } s; /* s, y, I, and v (raw msgpack) */
    } as;
};

struct proto_msg {
    uint32_t type;
    int nfields;
    struct proto_field f[PROTO_MAX_FIELDS];
};

/*
 * Decode and validate one frame body (BODY, LEN bytes, without the length
 * prefix). Returns 0 and fills MSG (pointers into BODY) or -1 with a one-line
 * reason in ERRSTR: unknown type, wrong field count or type, nesting deeper
 * than PROTO_MAX_DEPTH, more than PROTO_MAX_ELEMS elements, a length past the
 * end, trailing bytes. Never allocates.
 */
int proto_decode(const void *body, size_t len, struct proto_msg *msg, char *errstr, size_t errlen);

/*
 * Check a decoded HELLO against this node: the type must be PROTO_HELLO, the
 * version PROTO_VERSION and the token equal to TOKEN (compared in constant
 * time for a given TOKEN length). Returns 0 and sets *ROLE (if ROLE is not
 * NULL) to the peer's role field; -1 if M is not a well-formed HELLO or its
 * version differs ("protocol version 7 not supported (this node speaks 1)");
 * -2 if the token does not match, or TOKEN is NULL or empty
 * ("authentication failed: bad cluster token"). ERRSTR gets the reason. The
 * role value is not range-checked here.
 */
int proto_hello_verify(const struct proto_msg *m, const char *token, uint64_t *role, char *errstr,
                       size_t errlen);

/* Raw msgpack reader over a validated (or untrusted: every read is checked) buffer. */
struct mpr {
    const uint8_t *p, *end;
    int err; /* set on any failed read; later reads fail too */
};
enum mpr_kind { MPR_NIL, MPR_BOOL, MPR_UINT, MPR_INT, MPR_FLOAT, MPR_STR, MPR_BIN,
                MPR_ARRAY, MPR_MAP, MPR_EXT };
struct mpr_item {
    enum mpr_kind kind;
    union {
        bool b;
        uint64_t u;
        int64_t i;
        double f;
        struct { const char *ptr; size_t len; } s; /* STR, BIN, EXT payload */
        uint32_t n;                                /* ARRAY elements, MAP pairs */
    } as;
};
void mpr_init(struct mpr *r, const void *p, size_t len);
/* Read the next item header (arrays/maps: just the count). Returns 0 or -1. */
int mpr_next(struct mpr *r, struct mpr_item *it);
/* Skip one whole value (recursively, depth-limited). Returns 0 or -1. */
int mpr_skip(struct mpr *r);
/* Typed helpers: return 0, or -1 (and r->err) on a type mismatch. UINT
 * accepts non-negative INT and INT accepts UINT <= INT64_MAX; FLOAT accepts ints. */
int mpr_uint(struct mpr *r, uint64_t *v);
int mpr_int(struct mpr *r, int64_t *v);
int mpr_double(struct mpr *r, double *v);
int mpr_bool(struct mpr *r, bool *v);
int mpr_str(struct mpr *r, const char **s, size_t *len);   /* STR only */
int mpr_bin(struct mpr *r, const void **p, size_t *len);   /* BIN only */
int mpr_array(struct mpr *r, uint32_t *n);
int mpr_map(struct mpr *r, uint32_t *n);
bool mpr_at_end(const struct mpr *r);

/* Incremental decoder for byte streams (blocking clients, tests, the fuzzer). */
struct proto_decoder {
    struct buf in;        /* bytes received and not yet consumed */
    size_t max_frame;     /* current frame limit */
    size_t consumed;      /* bytes of `in` already handed out as messages */
    char errstr[160];
};
void proto_decoder_init(struct proto_decoder *d, size_t max_frame);
void proto_decoder_free(struct proto_decoder *d);
/* Append received bytes. */
void proto_decoder_feed(struct proto_decoder *d, const void *p, size_t len);
/*
 * Take the next message: PROTO_OK (MSG valid until the next call to
 * proto_decoder_next or _feed), PROTO_NEED_MORE, or PROTO_BAD (errstr says
 * why; the stream cannot be resynchronised: close the connection).
 */
int proto_decoder_next(struct proto_decoder *d, struct proto_msg *msg);

/*
 * Decode, in place, the next whole frame of the AVAIL bytes at P, starting
 * at *POS (the frames a reader has buffered): PROTO_OK with MSG filled (its
 * strings point into P) and *POS moved past the frame, PROTO_NEED_MORE when
 * the frame is not all there, or PROTO_BAD (ERRSTR says why; close the
 * connection). Frames above PROTO_MAX_FRAME are bad.
 */
int proto_frame_next(const void *p, size_t avail, size_t *pos, struct proto_msg *msg,
                     char *errstr, size_t errlen);

#endif
