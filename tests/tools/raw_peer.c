/*
 * raw_peer.c — a driver that sends the node requests ray_call would never
 * send (tests/integration/test_values.sh): well-framed TASK_SUBMIT,
 * ACTOR_CALL, ACTOR_CREATE, OBJ_WAIT and OBJ_FREE messages whose contents
 * are wrong. The node must answer each (the returns
 * become RAY_EINVAL errors, a waiting create gets RAY_EINVAL) and keep the
 * connection; a framing error must still close it.
 *
 *   raw_peer unix:SOCKET [LIBRARY]
 *
 * With LIBRARY (build/jobs/job_semantics.so), it also delivers one actor
 * call twice under the same caller and call number (api/callseq.h): the
 * actor's worker must run it once and refuse the repeat.
 *
 * It links libray.a and uses the client's internals (api_internal.h) to
 * put frames on the connection as they are. Prints one line per check;
 * exits 0 when all passed.
 */
#include "api/api_internal.h"
#include "common/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            printf("ok   ");                                                \
        } else {                                                            \
            printf("FAIL ");                                                \
            fails++;                                                        \
        }                                                                   \
        printf(__VA_ARGS__);                                                \
        printf(" [%s]\n", ray_last_error());                                \
    } while (0)

/* Send one message whose only field is the raw spec map SPEC. */
static int send_spec(uint32_t type, const struct buf *spec)
{
    struct buf f = BUF_INIT;
    int rc = proto_pack(&f, type, spec->data, spec->len) < 0 ? RAY_EINVAL : api_client_send_(&f);
    buf_free(&f);
    return rc;
}

/* The start of a task spec: id, fn, and N more pairs to come. */
static void spec_start(struct buf *b, uint8_t id[RAY_ID_SIZE], uint32_t more)
{
    api_id_new_(id, 0);
    mpw_map(b, 2 + more);
    api_spec_key_(b, "id");
    mpw_bin(b, id, RAY_ID_SIZE);
    api_spec_key_(b, "fn");
    mpw_cstr(b, "add");
}

/* ray_get of return INDEX of task ID must fail with RAY_EINVAL naming WANT. */
static void expect_refused(const char *desc, const uint8_t *id, uint32_t index, const char *want)
{
    ray_ref r;
    ray_value v;
    ids_with_index(r.id, id, index);
    int rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_EINVAL && strstr(ray_last_error(), want) != NULL,
          "%s: return %u gives RAY_EINVAL with '%s' (got %d)", desc, index, want, rc);
    if (rc == RAY_OK)
        ray_value_release(&v);
}

/* The connection still answers: a STR put and gotten back through the node. */
static void expect_alive(const char *after)
{
    ray_ref r;
    ray_value v;
    int rc = ray_put(RAY_S("still here"), &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_OK && v.type == RAY_STR && strcmp(v.as.buf.ptr, "still here") == 0,
          "connection still answers after %s", after);
    if (rc == RAY_OK)
        ray_value_release(&v);
}

/* One ACTOR_CALL of counter.incr on A numbered SEQ of CALLER, with a task id
 * of its own (written to ID). */
static int send_numbered_incr(ray_actor a, const uint8_t *caller, uint64_t seq,
                              uint8_t id[RAY_ID_SIZE])
{
    struct buf b = BUF_INIT;
    api_id_new_(id, 0);
    mpw_map(&b, 7);
    api_spec_key_(&b, "id");
    mpw_bin(&b, id, RAY_ID_SIZE);
    api_spec_key_(&b, "caller");
    mpw_bin(&b, caller, RAY_ID_SIZE);
    api_spec_key_(&b, "seq");
    mpw_uint(&b, seq);
    api_spec_key_(&b, "actor");
    mpw_bin(&b, a.id, RAY_ID_SIZE);
    api_spec_key_(&b, "fn");
    mpw_cstr(&b, "incr");
    api_spec_key_(&b, "args");
    mpw_array(&b, 0);
    api_spec_key_(&b, "nret");
    mpw_uint(&b, 1);
    int rc = send_spec(PROTO_ACTOR_CALL, &b);
    buf_free(&b);
    return rc;
}

/* The same actor call delivered twice: it runs once, the repeat is refused. */
static void check_repeat_refused(void)
{
    ray_actor a;
    int rc = ray_actor_create("counter", NULL, 0, NULL, &a);
    CHECK(rc == RAY_OK, "created a counter actor (rc %d)", rc);
    if (rc != RAY_OK)
        return;
    uint8_t caller[RAY_ID_SIZE], id1[RAY_ID_SIZE], id2[RAY_ID_SIZE];
    api_id_new_(caller, 0);
    CHECK(send_numbered_incr(a, caller, 1, id1) == RAY_OK &&
              send_numbered_incr(a, caller, 1, id2) == RAY_OK,
          "sent counter.incr numbered 1 twice");
    ray_ref r;
    ray_value v;
    ids_with_index(r.id, id1, 1);
    rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_OK && v.type == RAY_INT && v.as.i == 1, "the first delivery ran (rc %d)", rc);
    ids_with_index(r.id, id2, 1);
    rc = ray_get(r, 20000, &v);
    CHECK(rc != RAY_OK && strstr(ray_last_error(), "came twice; it already ran") != NULL,
          "the repeat is refused by the actor's worker (rc %d)", rc);
    rc = ray_actor_call(a, "incr", NULL, 0, NULL, &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_OK && v.type == RAY_INT && v.as.i == 2,
          "the next call counts 2: the repeat did not run (rc %d, %lld)", rc,
          rc == RAY_OK ? (long long)v.as.i : -1LL);
    ray_actor_kill(a, true);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: raw_peer unix:SOCKET [LIBRARY]\n");
        return 2;
    }
    ray_config cfg = { .address = argv[1], .library = argc == 3 ? argv[2] : NULL };
    if (ray_init(&cfg) != RAY_OK) {
        fprintf(stderr, "raw_peer: ray_init: %s\n", ray_last_error());
        return 1;
    }
    uint8_t id[RAY_ID_SIZE];
    struct buf b = BUF_INIT;

    /* a resource string ray_call would refuse; two returns, both answered */
    spec_start(&b, id, 3);
    api_spec_key_(&b, "args");
    mpw_array(&b, 0);
    api_spec_key_(&b, "nret");
    mpw_uint(&b, 2);
    api_spec_key_(&b, "res");
    mpw_cstr(&b, "foo=abc");
    CHECK(send_spec(PROTO_TASK_SUBMIT, &b) == RAY_OK, "sent TASK_SUBMIT with res \"foo=abc\"");
    expect_refused("bad res", id, 1, "amount of 'foo' is not a number");
    expect_refused("bad res", id, 2, "resources \"foo=abc\"");
    expect_alive("a bad resource string");

    /* a negative CPU demand */
    buf_reset(&b);
    spec_start(&b, id, 1);
    api_spec_key_(&b, "cpu");
    mpw_double(&b, -1);
    CHECK(send_spec(PROTO_TASK_SUBMIT, &b) == RAY_OK, "sent TASK_SUBMIT with cpu -1");
    expect_refused("cpu -1", id, 1, "num_cpus must be");

    /* a field of the wrong type, before the id */
    buf_reset(&b);
    mpw_map(&b, 3);
    api_spec_key_(&b, "cpu");
    mpw_cstr(&b, "lots");
    api_spec_key_(&b, "id");
    api_id_new_(id, 0);
    mpw_bin(&b, id, RAY_ID_SIZE);
    api_spec_key_(&b, "fn");
    mpw_cstr(&b, "add");
    CHECK(send_spec(PROTO_TASK_SUBMIT, &b) == RAY_OK, "sent TASK_SUBMIT with cpu \"lots\"");
    expect_refused("cpu \"lots\"", id, 1, "field 'cpu' has the wrong type");

    /* arguments that are not values */
    buf_reset(&b);
    spec_start(&b, id, 1);
    api_spec_key_(&b, "args");
    mpw_cstr(&b, "not an array");
    CHECK(send_spec(PROTO_TASK_SUBMIT, &b) == RAY_OK, "sent TASK_SUBMIT with args a string");
    expect_refused("args a string", id, 1, "refused TASK_SUBMIT");

    /* an actor call without an actor */
    buf_reset(&b);
    spec_start(&b, id, 1);
    api_spec_key_(&b, "nret");
    mpw_uint(&b, 1);
    CHECK(send_spec(PROTO_ACTOR_CALL, &b) == RAY_OK, "sent ACTOR_CALL without an actor");
    expect_refused("no actor", id, 1, "refused ACTOR_CALL");

    /* no id: nothing to answer but an ERROR message; the connection stays */
    buf_reset(&b);
    mpw_map(&b, 1);
    api_spec_key_(&b, "fn");
    mpw_cstr(&b, "add");
    CHECK(send_spec(PROTO_TASK_SUBMIT, &b) == RAY_OK, "sent TASK_SUBMIT without an id");
    buf_reset(&b);
    mpw_cstr(&b, "not a map");
    CHECK(send_spec(PROTO_TASK_SUBMIT, &b) == RAY_OK, "sent TASK_SUBMIT whose spec is a string");
    expect_alive("specs without an id");

    /* a named actor with bad resources: its create waits, the reply refuses */
    buf_reset(&b);
    uint64_t reqid = api_client_reqid_();
    spec_start(&b, id, 3);
    api_spec_key_(&b, "name");
    mpw_cstr(&b, "raw_peer_actor");
    api_spec_key_(&b, "reqid");
    mpw_uint(&b, reqid);
    api_spec_key_(&b, "res");
    mpw_cstr(&b, "=3");
    struct buf f = BUF_INIT;
    void *body = NULL;
    struct proto_msg m;
    proto_pack(&f, PROTO_ACTOR_CREATE, b.data, b.len);
    int rc = api_client_request_(&f, reqid, &body, &m);
    CHECK(rc == RAY_OK && m.type == PROTO_ACTOR_CREATE_OK && m.f[1].as.i == RAY_EINVAL &&
              memmem(m.f[2].as.s.ptr, m.f[2].as.s.len, "empty resource name", 19) != NULL,
          "ACTOR_CREATE with res \"=3\" answered RAY_EINVAL (rc %d)", rc);
    free(body);
    buf_free(&f);
    expect_alive("a refused ACTOR_CREATE");

    /* ACTOR_LOOKUP of an empty name: answered, not found (it used to wait forever) */
    reqid = api_client_reqid_();
    proto_pack(&f, PROTO_ACTOR_LOOKUP, reqid, "");
    body = NULL;
    rc = api_client_request_(&f, reqid, &body, &m);
    CHECK(rc == RAY_OK && m.type == PROTO_ACTOR_LOOKUP_OK && m.f[1].as.i == RAY_ENOTFOUND,
          "ACTOR_LOOKUP of \"\" answered RAY_ENOTFOUND (rc %d)", rc);
    free(body);
    buf_free(&f);

    /* OBJ_WAIT whose ids are not IDs: answered (nil), connection kept */
    buf_reset(&b);
    mpw_array(&b, 1);
    mpw_cstr(&b, "not an id");
    reqid = api_client_reqid_();
    static const uint8_t no_task[RAY_ID_SIZE];
    proto_pack(&f, PROTO_OBJ_WAIT, reqid, b.data, b.len, (uint64_t)1, (int64_t)0, no_task);
    body = NULL;
    rc = api_client_request_(&f, reqid, &body, &m);
    CHECK(rc == RAY_OK && m.type == PROTO_OBJ_WAIT_OK && m.f[1].as.s.len == 1 &&
              (uint8_t)m.f[1].as.s.ptr[0] == 0xc0,
          "OBJ_WAIT with a string for an id answered nil (rc %d)", rc);
    free(body);
    buf_free(&f);
    /* OBJ_FREE likewise (it has no reply) */
    proto_pack(&f, PROTO_OBJ_FREE, b.data, b.len);
    CHECK(api_client_send_(&f) == RAY_OK, "sent OBJ_FREE with a string for an id");
    buf_free(&f);
    expect_alive("bad OBJ_WAIT and OBJ_FREE");

    if (argc == 3)
        check_repeat_refused();

    /* a framing error still closes the connection */
    struct buf junk = BUF_INIT;
    buf_append(&junk, "\x00\x00\x00\x02\x91\xc1", 6); /* 0xc1: never valid msgpack */
    api_client_send_(&junk);
    buf_free(&junk);
    ray_ref r;
    ray_value v;
    rc = ray_put(RAY_S("after junk"), &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 20000, &v);
    CHECK(rc == RAY_ECONN, "a framing error closes the connection (rc %d)", rc);

    buf_free(&b);
    printf("%s\n", fails ? "raw_peer: FAILED" : "raw_peer: all passed");
    return fails ? 1 : 0;
}
