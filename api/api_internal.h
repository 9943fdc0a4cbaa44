/*
 * api_internal.h — what the files of the client runtime (api/) share:
 * thread-local errors, value codecs, the function registry, the node
 * connection and the task context.
 *
 * DESIGN
 * One process has at most one connection to its node (struct in client.c).
 * Caller threads encode a frame and send it under a send mutex; requests that
 * expect a reply register a waiter keyed by a per-connection reqid first. One
 * I/O thread reads frames, hands replies to their waiters (the reply body is
 * copied, the waiter owns it) and passes TASK_EXECUTE bodies to the executor
 * hook that worker.c installs; in a driver, a waiting caller may read the
 * socket itself instead (client.c, docs/direct.md "Who reads the socket"). When the connection breaks, every waiter wakes
 * with RAY_ECONN and the lost hook runs (a worker exits). Nothing here aborts
 * on out-of-memory except struct buf growth (common/buf.c), which the frame
 * encoder needs.
 */
#ifndef RAY_API_INTERNAL_H
#define RAY_API_INTERNAL_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/proto.h"
#include "ray.h"

/* Largest payload sent inline with OBJ_PUT; bigger ones use OBJ_CREATE + OBJ_SEAL. */
#define API_INLINE_MAX (64u << 10)
/* Store vtype of an ERROR object (ray_type values are 0..9). */
#define API_VT_ERROR 100
/* Largest num_returns of one call. */
#define API_MAX_RETURNS 64
/* num_cpus and num_gpus of one call stay below this (the node's limit too). */
#define API_MAX_UNITS 1e6

/* ---- errors.c ------------------------------------------------------------- */
/* Set the calling thread's ray_last_error() text; returns CODE so that
 * `return api_error_(RAY_EINVAL, "...")` works. */
int api_error_(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clear ray_last_error() (every public call starts with this). */
void api_error_clear_(void);
/* Out-of-memory while encoding (buf.h's sticky error): RAY_OK if B has not
 * failed, else RAY_ENOMEM with "WHAT: out of memory encoding it" set. */
int api_buf_check_(const struct buf *b, const char *what);
/* Every send path checks its frame: RAY_OK, RAY_ENOMEM if it failed to
 * encode for memory, RAY_EINVAL if it is empty (a proto_pack that failed
 * and whose result went unchecked). */
int api_frame_check_(const struct buf *frame);
/* After proto_pack into F returned -1: RAY_ENOMEM (with a message) if F ran
 * out of memory, else RAY_EINVAL with the printf-formatted message. */
int api_pack_error_(const struct buf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send SPEC, a task's or actor call's encoded spec, as one TYPE message
 * (NAME: the function or method, in messages): checks SPEC (api_buf_check_),
 * packs it ("WHAT NAME: arguments too large for one message" when it cannot
 * be), sends it, and then sets RET[0..NRET-1] to ID's return IDs. Returns
 * RAY_OK, or RAY_ENOMEM / RAY_EINVAL / RAY_ECONN with the message set. SPEC
 * stays the caller's. */
int api_spec_send_(const struct buf *spec, uint32_t type, const char *what, const char *name,
                   const uint8_t *id, int nret, ray_ref *ret);

/* ---- value.c -------------------------------------------------------------- */
/* Append V as one msgpack value (docs/runtime.md "Values"); a LIST or MAP
 * with everything in it (STR elements carry their NUL). Returns RAY_OK or
 * RAY_EINVAL (unknown type, NULL buffer or array with a length, limits of
 * ray.h passed; message set, B as it was). */
int api_value_pack_(struct buf *b, const ray_value *v);
/* Append ARGS as a msgpack array. Returns RAY_OK or RAY_EINVAL (message set). */
int api_args_pack_(struct buf *b, const ray_value *args, size_t nargs);
/*
 * Decode a msgpack array of values (RAW, LEN bytes) into one malloc'd block
 * *VALS (free with free()) of *N values, followed by the arrays of their
 * lists and maps. Top-level STR values are copied, NUL-terminated, into the
 * block; BYTES and the STR and BYTES inside lists and maps point into RAW,
 * which must outlive them. Returns RAY_OK, RAY_EINVAL (malformed, too deep,
 * too many values; message set) or RAY_ENOMEM; nothing is allocated before
 * the whole input has been checked. A nil instead of an array means no
 * arguments.
 */
int api_args_decode_(const void *raw, size_t len, ray_value **vals, size_t *n);
/* The store payload of a LIST or MAP V (its msgpack, as api_value_pack_). */
int api_compound_pack_(struct buf *b, const ray_value *v);
/*
 * Turn a store payload of any value type into *OUT. For RAY_LIST / RAY_MAP
 * the arrays of all levels are one malloc'd block, *ELEMS (the caller frees
 * it when done with *OUT), and STR / BYTES elements point into DATA; for the
 * other types *ELEMS is NULL and this is api_payload_decode_. Returns
 * RAY_OK, RAY_EINVAL (malformed, trailing bytes, too deep, too many values;
 * message set) or RAY_ENOMEM. Checks everything before allocating.
 */
int api_object_decode_(uint32_t vtype, const void *data, size_t size, ray_value *out,
                       void **elems);
/* Store payload size of a scalar, STR or BYTES V (STR counts its NUL), or
 * (size_t)-1 for another type (LIST and MAP: api_compound_pack_). */
size_t api_payload_size_(const ray_value *v);
/* Write V's payload (api_payload_size_ bytes) at DST. */
void api_payload_write_(const ray_value *v, void *dst);
/*
 * Turn a store payload of type VTYPE back into a value. STR and BYTES point
 * at DATA. Returns RAY_OK or RAY_EINVAL (size does not fit the type, STR not
 * NUL-terminated, unknown vtype, LIST or MAP: use api_object_decode_, or
 * API_VT_ERROR: use api_error_payload_decode_).
 */
int api_payload_decode_(uint32_t vtype, const void *data, size_t size, ray_value *out);
/* The node pushed the value of object ID (OBJ_VALUE): keep it if it is a
 * scalar this process may answer ray_get/ray_wait of itself (objects.c). A
 * malformed or non-scalar payload is ignored. */
void api_scalar_push_(const uint8_t *id, uint32_t vtype, const void *data, size_t size);
/* From now on (B) or no longer (NULL), the calling thread's small object
 * writes (OBJ_PUT frames of api_object_store_) are appended to B instead of
 * sent: ray_return keeps a task's small returns for its TASK_DONE. */
void api_put_capture_(struct buf *b);
/* An OBJ_PUSH frame (BODY, consumed; M decoded from it) for the process's
 * push handler (push.c, push.h). */
void api_push_in_(void *body, const struct proto_msg *m);
/* Append an ERROR payload: msgpack [code, message]. */
void api_error_payload_encode_(struct buf *b, int code, const char *msg);
/* Decode an ERROR payload into *CODE (a negative RAY_E* code; anything else
 * becomes RAY_ETASK) and MSG. Returns 0 or -1 if malformed. */
int api_error_payload_decode_(const void *data, size_t size, int *code, char *msg, size_t msglen);

/* ---- registry.c ----------------------------------------------------------- */
enum api_reg_kind { API_REG_FUNCTION, API_REG_ACTOR, API_REG_METHOD };
ray_fn api_registry_function_(const char *name);
/* Returns 0 and the class's hooks, or -1 if CLS is not registered. */
int api_registry_actor_(const char *cls, ray_actor_new_fn *mk, ray_actor_free_fn *fr);
ray_method_fn api_registry_method_(const char *cls, const char *method);
/* Calls FN for every registration (METHOD is NULL except for methods), in
 * registration order, with the registry locked: FN must not register. */
void api_registry_foreach_(void (*fn)(enum api_reg_kind kind, const char *name,
                                      const char *method, void *arg),
                           void *arg);
/* The job library's path, for messages ("no remote function 'f' in job library x.so").
 * The string is copied; NULL forgets it. api_registry_library_ never returns NULL. */
void api_registry_set_library_(const char *path);
const char *api_registry_library_(void);
/* The job library as its user named it: $RAY_JOB_ENTRYPOINT (set by the node
 * for the driver and workers of a submitted job: `ray submit`'s argument),
 * else PATH (the node's cached copy, <session>/jobs/<sha256>.so). */
const char *api_library_name_(const char *path);
/* dlerror() without its leading "PATH: " (the cached copy's path), so a
 * message can name the user's file instead. Never NULL. */
const char *api_dlerror_(const char *path);

/* ---- worker.c -------------------------------------------------------------- */
/* The ID of the task this thread runs (20 zero bytes outside a task): sent
 * with OBJ_GET / OBJ_WAIT so the node knows which task waits. */
const uint8_t *api_worker_task_(void);

/* ---- events.c -------------------------------------------------------------- */
/* Wall-clock microseconds (the timeline's clock on every node). */
long long api_events_now_us_(void);
/* Whether spans are recorded (RAY_TIMELINE is not 0 in the environment). */
bool api_events_on_(void);
/* Record a span [START_US, END_US) of CODE (docs/protocol.md EVENTS) for
 * TASK (may be NULL) and NAME; sends the batch when it is full or old. */
void api_event_add_(char code, long long start_us, long long end_us, const uint8_t *task,
                    int attempt, const char *name);
/* A task ran: its execute span [EXEC_US, STORE_US) and store-outputs span
 * [STORE_US, END_US), recorded as one line (code T, t for an actor call). */
void api_event_task_(bool actor_call, long long exec_us, long long store_us, long long end_us,
                     const uint8_t *task, const char *name);
/* Send what is recorded now (a no-op when nothing is). */
void api_events_flush_(void);
bool api_events_pending_(void);
/* A worker has nothing to run: send the batch unless one went out less than
 * 1 ms ago. Returns -1 when nothing is left to send, else the microseconds
 * after which to call again. */
long long api_events_idle_(void);

/* ---- client.c -------------------------------------------------------------- */
struct api_connect_opts {
    const char *unix_path;   /* one of these two */
    const char *tcp_host;
    int tcp_port;
    const char *token;       /* NULL: found as docs/runtime.md says (common/token.h) */
    const char *session_dir; /* the node's session: its auth_token first (may be NULL) */
    int role;                /* PROTO_ROLE_WORKER or PROTO_ROLE_DRIVER */
    const uint8_t *worker_id;/* workers: 20 bytes */
    bool has_job;            /* send {"job": job} */
    uint32_t job;
    /* Worker hooks, run on the I/O thread: a TASK_EXECUTE body (malloc'd,
     * ownership passes to the hook) and the connection's loss. */
    void (*on_execute)(void *body, size_t len);
    void (*on_recall)(const uint8_t *task_id); /* TASK_RECALL */
    void (*on_nest)(void *body, size_t len);   /* TASK_NEST, like on_execute */
    /* Called by the thread of a request before it waits for the node's
     * answer (BEGIN true) and after (false), on that thread. */
    void (*on_wait)(bool begin);
    void (*on_lost)(const char *why);
    /* Drivers: when the connection breaks (the node's rayd died or was
     * restarted), reconnect to the same address with back-off, for up to
     * $RAY_DRIVER_RECONNECT_MS (default 60000) ms, HELLO with this job, and
     * resend every request still waiting for its reply (docs/faults.md).
     * FIRST (may be NULL; copied) is sent first on every new connection
     * (JOB_LIBRARY); ON_RECONNECTED runs on the I/O thread after it. */
    bool reconnect;
    const struct buf *first;
    void (*on_reconnected)(void);
};
/* Connect, HELLO, map the store, start the I/O thread. Returns RAY_OK,
 * RAY_ECONN, RAY_EAUTH, RAY_EINVAL (already connected), RAY_ENOMEM;
 * the message is in ray_last_error(). */
int api_client_connect_(const struct api_connect_opts *o);
/* Close the connection and join the I/O thread; no-op when not connected. */
void api_client_close_(void);
bool api_client_connected_(void);
int api_client_role_(void);
/* A fresh reqid (never 0). */
uint64_t api_client_reqid_(void);
/* Send one encoded frame. Returns RAY_OK or RAY_ECONN (message set). */
int api_client_send_(const struct buf *frame);
/*
 * Send FRAME, which carries REQID, and wait for the reply with that reqid.
 * On RAY_OK *BODY is the malloc'd reply body (caller frees) and *MSG is
 * decoded with pointers into it. Fails with RAY_ECONN (not connected, or
 * the connection broke while waiting).
 */
int api_client_request_(const struct buf *frame, uint64_t reqid, void **body, struct proto_msg *msg);
/*
 * A look-up by name (PROTO_ACTOR_LOOKUP, PROTO_PG_LOOKUP: fields reqid,
 * NAME): checks the connection, sends it and waits for the reply. On
 * RAY_OK *STATUS is the reply's status field (field 1), *BODY the malloc'd
 * reply body (caller frees) and *MSG decoded into it, as for
 * api_client_request_. Fails with RAY_ECONN or RAY_ENOMEM (message set);
 * then *BODY is NULL and *STATUS untouched.
 */
int api_client_lookup_(uint32_t type, const char *name, void **body, struct proto_msg *msg,
                       int *status);
/* The same for N requests sent in one go (FRAMES holds them all, with
 * REQIDS): waits for every reply. On RAY_OK BODIES[i]/MSGS[i] are the
 * replies (the caller frees each body); on failure nothing is returned. */
int api_client_request_many_(const struct buf *frames, const uint64_t *reqids, size_t n,
                             void **bodies, struct proto_msg *msgs);
/* The mapped store (NULL over TCP: objects then travel inline) and its size. */
void *api_client_store_(size_t *size);
/* Connection generation: changes on every connect, so stale pins are not released twice. */
uint64_t api_client_gen_(void);
uint32_t api_client_job_(void);
/* Fill P with N random bytes (getrandom). Returns RAY_OK, or RAY_ECONN with
 * "WHAT: cannot read random bytes (getrandom): ..." as the message. */
int api_random_(void *p, size_t n, const char *what);
/* A new ID: [job BE][8 random bytes of this process][4-byte counter BE][INDEX BE].
 * The random bytes are read at the first connect, which fails without them. */
void api_id_new_(uint8_t out[RAY_ID_SIZE], uint32_t index);
/* Sets "not connected" (RAY_ECONN) when there is no connection. */
int api_client_check_(void);
/* For errors.c: the node's ID (hex) and the job's (8 hex), "" when not connected. */
const char *api_client_node_hex_(void);
const char *api_client_job_hex_(void);

/* ---- objects.c ------------------------------------------------------------- */
/* Store V under ID (ray_put and ray_return): OBJ_PUT, or OBJ_CREATE+copy+OBJ_SEAL.
 * Returns RAY_OK or a RAY_E* code with the message set. */
int api_object_store_(const uint8_t id[RAY_ID_SIZE], const ray_value *v);
/* OBJ_CREATE for ID; on RAY_OK *DATA is where to write LEN bytes. Over TCP
 * (no mapped store) the bytes are kept locally and sent at seal time. */
int api_object_create_(const uint8_t id[RAY_ID_SIZE], uint32_t vtype, size_t len, void **data);
/* OBJ_SEAL for ID (or OBJ_PUT of the local bytes over TCP). */
int api_object_seal_(const uint8_t id[RAY_ID_SIZE]);
/* A task's resolved REF argument: the payload (VTYPE, DATA, SIZE, in the
 * store, pinned by the node for the task) into *OUT; a LIST/MAP gets a pin_
 * that owns its arrays and never unpins the object. Returns RAY_OK,
 * RAY_EINVAL (malformed) or RAY_ENOMEM. */
int api_arg_resolve_(uint32_t vtype, const void *data, size_t size, ray_value *out);
/* Free a task's arguments (api_args_decode_'s block) and what resolved
 * arguments hold (api_arg_resolve_). NULL is a no-op. */
void api_args_free_(ray_value *args, size_t n);

/* ---- tasks.c --------------------------------------------------------------- */
/* Kinds of TASK_EXECUTE. */
enum api_task_kind { API_TASK_NORMAL, API_TASK_ACTOR_NEW, API_TASK_ACTOR_CALL };
/* Make a task context for a running call (worker.c). Returns NULL on OOM. */
ray_task *api_task_new_(const uint8_t id[RAY_ID_SIZE], const char *name, int nret);
void api_task_free_(ray_task *t);
/* The frames of T's small returns (ray_return), for its TASK_DONE's write;
 * owned by T. */
struct buf *api_task_frames_(ray_task *t);
/* Seal what ray_return_alloc created (called when the function returned). */
void api_task_finish_(ray_task *t);
/* Whether ray_fail was called, and its message ("" if not). */
bool api_task_failed_(ray_task *t);
const char *api_task_message_(ray_task *t);
/* Validate OPTS' common fields; fills *O from OPTS or DEFAULTS. Returns
 * RAY_OK or RAY_EINVAL with ray_last_error() naming the bad field, e.g.
 * resources "foo=abc": amount of 'foo' is not a number: ... */
int api_opts_resolve_(const ray_opts *opts, ray_opts defaults, ray_opts *o);
/* Append the 4 resource pairs (cpu, gpu, mem, res) of O to a spec map. */
#define API_SPEC_RESOURCE_PAIRS 7 /* and pg, bundle, renv */
void api_spec_resources_(struct buf *b, const ray_opts *o);
/* Append a key (str) to a spec map. */
void api_spec_key_(struct buf *b, const char *key);

/* ---- pg.c -------------------------------------------------------------------- */
/* Whether a call may name bundle BUNDLE of group PG, as far as this process
 * knows (the groups it created, looked up or removed). RAY_OK (valid or not
 * known here: the head decides), or RAY_EPG with the message set. */
int api_pg_check_(ray_pg pg, int bundle);

/* ---- renv.c ------------------------------------------------------------------ */
/* Merge JSON (ray_config.runtime_env) into the job's runtime environment;
 * its working_dir is packed now (api_renv_upload_ sends it). RAY_OK,
 * RAY_EINVAL (message names the key) or RAY_ENOMEM. */
int api_renv_set_job_(const char *json);
/* After ray_init connected: send the working directory api_renv_set_job_
 * packed (if any) to the node. RAY_OK, RAY_ECONN or RAY_EINVAL (message set). */
int api_renv_upload_(void);
/* The canonical runtime_env of a call whose own runtime_env is JSON (may be
 * NULL): the job's with JSON's variables over it. *CANONICAL ("" for none)
 * stays valid until the thread's next call. RAY_OK, RAY_EINVAL (bad JSON, an
 * unknown key, a per-call working_dir; message set) or RAY_ENOMEM. */
int api_renv_call_(const char *json, const char **canonical);
/* In a worker or submitted driver: unpack the working directory the node
 * named (once per node) and enter it. Returns 0, or -1 with a line on stderr. */
int api_renv_enter_(void);

/* ---- actors.c -------------------------------------------------------------- */
/* Nothing shared beyond ray.h. */

/* UNTIL = now + MS milliseconds on CLOCK_REALTIME, for
 * pthread_cond_timedwait (client.c). MS >= 0. */
void api_deadline_(struct timespec *until, long long ms);

/* ---- direct.c, direct_worker.c: direct submission to leased workers (docs/direct.md) ---- */
/* The cluster token this process connected with, into OUT ("" before). */
void api_client_token_(char *out, size_t outlen);
/* ray_call's fast path: if the call qualifies (a driver, one return, no
 * placement group or GPU, no REF in its arguments, retries allowed, not
 * retry_on_error, RAY_DIRECT not "0"), queue SPEC (the encoded spec; copied)
 * for a leased worker and return RAY_OK; return 1 when it does not qualify
 * or no lease can be had now (the caller sends it to the node as before).
 * O is the resolved options, ARGS the call's arguments. */
int api_direct_submit_(const struct buf *spec, const uint8_t *id, const char *fn,
                       const ray_opts *o, const ray_value *args, size_t nargs);
/* ray_get's hook: if ID is a return of a task sent directly and not yet
 * answered, wait (up to TIMEOUT_MS; < 0 forever) for its answer. Returns
 * at once otherwise. Never fails. */
void api_direct_await_(const uint8_t *id, int64_t timeout_ms);
/* The I/O thread: LEASE_GRANT or LEASE_REVOKE from the node. */
void api_direct_node_msg_(const struct proto_msg *m);
/* ray_shutdown: return every lease and close the direct sockets (before
 * the node connection closes). */
void api_direct_shutdown_(void);
/* Directly submitted tasks since start (tests, ray_direct_stats). */
unsigned long long api_direct_count_(void);
/* Whether a call with ARGS may go directly: RAY_DIRECT is not "0", this
 * process is a driver with its node's store mapped, and no REF is in ARGS
 * (lists and maps included). */
bool api_direct_eligible_(const ray_value *args, size_t nargs);
/* Connect to worker WORKER's direct socket and say DIRECT_HELLO. Returns
 * the fd (the caller's), or -1. */
int api_direct_connect_(const uint8_t *worker);
/* Read what FD holds onto the end of IN (up to CHUNK bytes). Returns 1
 * when bytes came, 0 when none were there (EAGAIN, EINTR), -1 at EOF, on
 * an error or out of memory (the connection is gone). */
int api_direct_fill_(int fd, struct buf *in, size_t chunk);
/* A DIRECT_RESULT M that carries a scalar first return: put it in the
 * value cache for the ray_gets that wait for it (as OBJ_VALUE does). */
void api_direct_result_push_(const struct proto_msg *m);

/* ---- direct_actor.c: actor calls sent to the actor's worker (docs/direct.md "Actor calls") ---- */
/* ray_actor_call's fast path, called with the call's number taken and its
 * callseq stripe held (so calls to one actor come here in number order).
 * SPEC is the call's spec (copied), ID its task ID, NAME "Class.method" as
 * the node names it, NRET its returns. Returns RAY_OK when the call was
 * sent to the actor's worker or held for it (its return ref is ID's index
 * 1), or 1: the caller sends it to the node as before (after this
 * process's direct calls to the actor were answered: order is kept). */
int api_direct_actor_call_(const uint8_t *actor, const struct buf *spec, const uint8_t *id,
                           const char *name, int nret, const ray_value *args, size_t nargs);
/* ray_get's hook: wait (up to TIMEOUT_MS, < 0 forever) while task TID is
 * a direct actor call unanswered. Returns at once otherwise. */
void api_direct_actor_await_(const uint8_t *tid, int64_t timeout_ms);
/* The I/O thread: ACTOR_LEASE_GRANT from the node. */
void api_direct_actor_node_msg_(const struct proto_msg *m);
/* ray_shutdown: close the actors' direct sockets; calls still unanswered
 * are left to the node (their worker reports them there). */
void api_direct_actor_shutdown_(void);
/* Actor calls sent directly since start (RAY_DIRECT_DEBUG, tests). */
unsigned long long api_direct_actor_count_(void);

/* The worker side (direct_worker.c). A direct connection from a driver. */
struct api_dconn;
/* Listen on this worker's direct socket (abstract "rayd-direct-WORKERHEX");
 * each DIRECT_TASK frame's BODY (malloc'd, LEN bytes) goes to EXEC with
 * its connection (one reference taken for it: api_dconn_unref_ when done).
 * Returns 0, or -1 (the worker then simply gets no leases). */
typedef void (*api_direct_exec_fn)(void *body, size_t len, struct api_dconn *dc);
int api_direct_worker_start_(const char *worker_hex, api_direct_exec_fn exec);
void api_dconn_unref_(struct api_dconn *dc);
/* Task ID (named NAME, NRET returns) that came on DC ended with STATUS and
 * MSG (RETURNED: it set a return); FRAMES holds its small returns' OBJ_PUT
 * frames (consumed). Its
 * objects and a notice go to the node and its answer to the driver, in
 * batches: written now when IDLE (nothing more queued here) or a batch is
 * full. */
void api_direct_worker_done_(struct api_dconn *dc, const uint8_t *id, const char *name,
                             int status, const char *msg, int nret, bool returned,
                             struct buf *frames, bool idle);
/* tasks.c: T set at least one return. */
bool api_task_returned_(ray_task *t);
/* The main thread starts task ID (NAME) sent directly, or (ID NULL) one
 * from the node: what the task prints is tagged with it (a marker line
 * before its first output; nothing when it prints nothing). */
void api_direct_worker_begin_(const uint8_t *id, const char *name);
/* Write what is batched (a thread of this worker is about to wait for the node). */
void api_direct_worker_flush_(void);

#endif
