/*
 * ray.h — the one public header of rayd: tasks, actors and objects from C.
 *
 * A job is a shared library built with
 *     cc -shared -fPIC -I<prefix>/include job.c -o job.so
 * that links nothing: its ray_* symbols resolve against the process that
 * loads it (a rayd worker or driver). It registers remote functions with
 * RAY_REMOTE, actor classes with RAY_ACTOR / RAY_METHOD, and exports
 * ray_main(), the driver's entry point, run by `ray submit job.so`.
 * A standalone driver links -lray and calls ray_init() itself.
 *
 * Every call is thread-safe and returns RAY_OK (0) or a negative RAY_E* code;
 * ray_last_error() gives the detail of the calling thread's last failure.
 */
#ifndef RAY_H
#define RAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------ */
enum {
    RAY_OK = 0,
    RAY_EINVAL = -1,
    RAY_ENOTFOUND = -2,
    RAY_ETIMEOUT = -3,
    RAY_ETASK = -4,    /* the task failed: it called ray_fail or returned non-zero   */
    RAY_EWORKER = -5,  /* its worker died (crash, signal, node lost), retries used up */
    RAY_EACTOR = -6,   /* the actor is dead                                          */
    RAY_ELOST = -7,    /* the object is gone and could not be rebuilt                */
    RAY_ECONN = -8,
    RAY_ENOMEM = -9,
    RAY_EAUTH = -10
};
/* Second wave (SPEC section 12): the placement group was removed, or its
 * bundle index is invalid. */
enum { RAY_EPG = -11 };
/* A static description of CODE ("task failed"); never NULL. */
const char *ray_strerror(int code);
/* The calling thread's detail of its last failure, e.g.
 * "task might_fail failed on node 3f2a..: Negative value"; "" if none.
 * Valid until the thread's next ray_* call. */
const char *ray_last_error(void);

/* ---- IDs and values ------------------------------------------------------ */
#define RAY_ID_SIZE 20
typedef struct { uint8_t id[RAY_ID_SIZE]; } ray_ref;   /* an object         */
typedef struct { uint8_t id[RAY_ID_SIZE]; } ray_actor; /* an actor handle   */
typedef struct { uint8_t id[RAY_ID_SIZE]; } ray_pg;    /* a placement group */

typedef enum { RAY_NIL, RAY_BOOL, RAY_INT, RAY_FLOAT, RAY_STR, RAY_BYTES, RAY_REF,
               RAY_ACTOR, RAY_LIST, RAY_MAP } ray_type;

typedef struct ray_value {
    ray_type type;
    union {
        bool b;
        int64_t i;
        double f;
        struct { const void *ptr; size_t len; } buf; /* STR (NUL-terminated; len excludes the NUL) and BYTES */
        ray_ref ref;
        ray_actor actor;
        struct { const struct ray_value *items; size_t n; } list;      /* LIST: N values */
        struct { const struct ray_value *keys, *vals; size_t n; } map; /* MAP: N pairs KEYS[i] -> VALS[i] */
    } as;
    void *pin_; /* internal: keeps a gotten object mapped */
} ray_value;

#define RAY_NIL_V ((ray_value){ .type = RAY_NIL })
#define RAY_B(v) ((ray_value){ .type = RAY_BOOL, .as.b = (v) })
#define RAY_I(v) ((ray_value){ .type = RAY_INT, .as.i = (int64_t)(v) })
#define RAY_F(v) ((ray_value){ .type = RAY_FLOAT, .as.f = (double)(v) })
#define RAY_S(s) ((ray_value){ .type = RAY_STR, .as.buf = { (s), ray_strlen_(s) } })
#define RAY_BYTES_V(p, n) ((ray_value){ .type = RAY_BYTES, .as.buf = { (p), (n) } })
#define RAY_R(r) ((ray_value){ .type = RAY_REF, .as.ref = (r) })
#define RAY_A(a) ((ray_value){ .type = RAY_ACTOR, .as.actor = (a) })
size_t ray_strlen_(const char *s); /* strlen, NULL-safe; for RAY_S */

/*
 * Lists and maps: Python's list and dict, of any values (lists and maps
 * included). The caller owns the arrays: RAY_LIST_V(items, n) and
 * RAY_MAP_V(keys, vals, n) only point at them, and ray_put, ray_call,
 * ray_actor_create, ray_actor_call and ray_return copy what they point at
 * before returning.
 *
 *     ray_value xs[] = { RAY_I(1), RAY_I(2), RAY_I(3), RAY_I(4), RAY_I(5) };
 *     ray_put(RAY_LIST_V(xs, 5), &ref);
 *     ray_value k[] = { RAY_S("name"), RAY_S("size") }, v[] = { RAY_S("x"), RAY_I(3) };
 *     ray_put(RAY_MAP_V(k, v, 2), &ref);
 *
 * A list or map that ray_get returns, or that a task gets as an argument,
 * lives in memory the runtime allocated for it and its STR and BYTES
 * elements point into the node's shared memory (no copy): all of it stays
 * valid until ray_value_release of the outer value (for arguments: until
 * the task returns). Elements themselves are never released one by one.
 *
 * Limits, checked on the way out (RAY_EINVAL) and on the way in: lists and
 * maps nest at most RAY_MAX_DEPTH levels (the outer one is level 1), one
 * list or map holds at most RAY_MAX_ITEMS elements or pairs, and one value
 * at most RAY_MAX_TOTAL values at all levels together. Map keys may be any
 * value; a map may repeat a key (ray_map_get finds the first).
 */
#define RAY_MAX_DEPTH 12
#define RAY_MAX_ITEMS (1u << 20)
#define RAY_MAX_TOTAL (1u << 22)
#define RAY_LIST_V(items, n) ((ray_value){ .type = RAY_LIST, .as.list = { (items), (n) } })
#define RAY_MAP_V(keys, vals, n) ((ray_value){ .type = RAY_MAP, .as.map = { (keys), (vals), (n) } })
/* Number of elements of list V; 0 when V is NULL or not a RAY_LIST. */
size_t ray_list_len(const ray_value *v);
/* Element I of list V, or NULL when V is not a RAY_LIST or I >= its length.
 * Points into V: valid as long as V is. */
const ray_value *ray_list_at(const ray_value *v, size_t i);
/* Number of pairs of map V; 0 when V is NULL or not a RAY_MAP. */
size_t ray_map_len(const ray_value *v);
/* Key / value of pair I of map V, or NULL when V is not a RAY_MAP or I >= its
 * length. Point into V: valid as long as V is. */
const ray_value *ray_map_key(const ray_value *v, size_t i);
const ray_value *ray_map_val(const ray_value *v, size_t i);
/* The value of the first pair of map V whose key is the STR KEY, or NULL
 * (V not a RAY_MAP, KEY NULL, or no such key). Keys of other types never
 * match; compare them with ray_map_key. */
const ray_value *ray_map_get(const ray_value *v, const char *key);

/* ---- lifecycle ------------------------------------------------------------ */
typedef struct {
    const char *address; /* "host:port" of the GCS; NULL: $RAY_ADDRESS, then the local node */
    const char *library; /* the job library workers load (standalone drivers) */
    const char *token;   /* cluster token; NULL: $RAY_TOKEN, then ~/.ray/auth_token */
    const char *runtime_env; /* the job's Ray runtime_env JSON ({"env_vars": {...}}); NULL: none */
} ray_config;
/* Connect this process to a cluster as a driver. NULL: all defaults. A driver
 * started by `ray submit` is already connected; calling it again is a no-op.
 * Returns RAY_OK, RAY_ECONN (no node reachable), RAY_EAUTH (token refused),
 * RAY_EINVAL (library missing or not a job library). */
int ray_init(const ray_config *cfg);
/* Disconnect; the job's objects and tasks end when the driver does. */
void ray_shutdown(void);
/* Exported by a job library: the driver's entry point. */
int ray_main(int argc, char **argv);

/* ---- objects -------------------------------------------------------------- */
/* Copy V into the object store once; *OUT names it. A REF value is stored as
 * a reference. A LIST or MAP is stored whole, with its nested values (a REF
 * inside stays a reference: it is not resolved when the list is gotten or
 * passed). RAY_EINVAL for a malformed value (NULL arrays with a length,
 * unknown types, limits passed; ray_last_error says where). */
int ray_put(ray_value v, ray_ref *out);
/* Reserve a BYTES object of LEN bytes in shared memory and point *DATA at it;
 * write it, then ray_seal(*out) to make it visible. Fails with RAY_ENOMEM. */
int ray_create(size_t len, void **data, ray_ref *out);
int ray_seal(ray_ref ref);
/* Wait for REF (timeout_ms < 0: forever) and fill *OUT. STR and BYTES point
 * into the node's shared memory (no copy) and stay valid until
 * ray_value_release(out); so do a LIST's or MAP's element arrays (allocated
 * for this get) and their STR and BYTES elements (in shared memory). Fails with RAY_ETIMEOUT, RAY_ETASK / RAY_EWORKER /
 * RAY_EACTOR (the task that makes it failed; see ray_last_error), RAY_ELOST. */
int ray_get(ray_ref ref, int64_t timeout_ms, ray_value *out);
/* ray_get of N refs; on failure the values already gotten are released. */
int ray_get_all(const ray_ref *refs, size_t n, int64_t timeout_ms, ray_value *out);
/* Unpin a gotten value (and, for a LIST or MAP, free the element arrays
 * ray_get allocated, nested ones included); no-op for anything else, such as
 * a value built with RAY_LIST_V or an element of a gotten list. */
void ray_value_release(ray_value *v);
/* Mark up to NUM_READY refs that are ready (made, or failed) in READY[];
 * returns how many it marked (fewer on timeout), or a negative code. */
int ray_wait(const ray_ref *refs, size_t n, size_t num_ready, int64_t timeout_ms, bool *ready);
/* Delete these objects now, on every node. */
int ray_free(const ray_ref *refs, size_t n);

/* ---- options ---------------------------------------------------------------- */
typedef struct {
    double num_cpus, num_gpus, memory; /* RAY_OPTS: 1 CPU; RAY_ACTOR_OPTS: 0 CPU held while alive */
    const char *resources;             /* custom, "name=amount,name=amount" */
    int num_returns;                   /* 1 */
    int max_retries;                   /* tasks: 3; -1 forever; retried when the worker or node dies */
    bool retry_on_error;               /* also retry when the task fails by itself */
    int max_restarts;                  /* actors: 0; -1 forever */
    int max_concurrency;               /* actors: 1 */
    const char *name;                  /* actors: a cluster-wide name */
    bool detached;                     /* actors: outlive the job */
    ray_pg pg;                         /* placement group (all zero: none) */
    int bundle;                        /* bundle index (-1: any) */
    const char *runtime_env;           /* Ray's runtime_env JSON for this call, merged over the
                                        * job's variable by variable; NULL: the job's */
    bool share_worker;                 /* actors: may share a worker process with other actors
                                        * of the job that ask the same (same runtime_env, no
                                        * GPU, max_concurrency 1, not detached; up to 64 in
                                        * one process): a crash of one kills them all;
                                        * docs/actors-shared.md. false: a process of its own,
                                        * as Ray always gives an actor */
} ray_opts;

#define RAY_OPTS ((ray_opts){ .num_cpus = 1, .num_returns = 1, .max_retries = 3, \
                              .max_concurrency = 1, .bundle = -1 })
#define RAY_ACTOR_OPTS ((ray_opts){ .num_cpus = 0, .num_returns = 1, .max_retries = 0, \
                                    .max_concurrency = 1, .bundle = -1 })

/* ---- tasks ------------------------------------------------------------------ */
/* Run FN (a name registered with RAY_REMOTE) with ARGS somewhere in the
 * cluster; returns at once (a driver holding 16,384 short tasks of FN's
 * shape for its leased workers, with no node free for them, first waits
 * for room: docs/direct.md "Back-pressure"). RET has room for
 * opts->num_returns refs.
 * RAY_REF arguments reach the task as the object's value (a REF nested in a
 * LIST or MAP argument stays a REF). RAY_EINVAL for bad options or
 * arguments, with ray_last_error naming the bad part (nothing is sent). */
int ray_call(const char *fn, const ray_value *args, size_t nargs, const ray_opts *opts,
             ray_ref *ret);

/* Implementing tasks, inside a job library. */
typedef struct ray_task ray_task; /* the running call, opaque */
typedef int (*ray_fn)(ray_task *t, const ray_value *args, size_t nargs);
/* Set the next return value (copied). Returns RAY_EINVAL past num_returns. */
int ray_return(ray_task *t, ray_value v);
/* Set the next return value as a BYTES object of LEN bytes written in place at *DATA. */
int ray_return_alloc(ray_task *t, size_t len, void **data);
/* Fail the task with a message: callers' ray_get gives RAY_ETASK. Returns
 * RAY_ETASK, so `return ray_fail(t, "bad input %d", x);` works. */
int ray_fail(ray_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- actors ----------------------------------------------------------------- */
typedef void *(*ray_actor_new_fn)(ray_task *t, const ray_value *args, size_t nargs);
typedef void (*ray_actor_free_fn)(void *self);
typedef int (*ray_method_fn)(void *self, ray_task *t, const ray_value *args, size_t nargs);
int ray_actor_create(const char *cls, const ray_value *args, size_t nargs, const ray_opts *opts,
                     ray_actor *out);
int ray_actor_call(ray_actor a, const char *method, const ray_value *args, size_t nargs,
                   const ray_opts *opts, ray_ref *ret);
int ray_actor_kill(ray_actor a, bool no_restart);
int ray_actor_lookup(const char *name, ray_actor *out);
/* Inside an actor's constructor or methods: *OUT is the handle of the actor
 * this process hosts (Ray's get_runtime_context().current_actor), e.g. for a
 * library to find its rank in a group of actors. RAY_EINVAL anywhere else
 * (a driver, a normal task) or for OUT NULL. */
int ray_actor_self(ray_actor *out);

/* ---- placement groups -------------------------------------------------------- */
/* Bundles are resource strings ("CPU=1,GPU=1"); docs/api.md "Placement groups". */
typedef enum { RAY_PACK, RAY_SPREAD, RAY_STRICT_PACK, RAY_STRICT_SPREAD } ray_pg_strategy;
/* Ask the head to reserve N bundles (1..64) under strategy S; returns at
 * once with *OUT naming the group (PENDING until every bundle is reserved).
 * NAME (may be NULL) names it cluster-wide. RAY_EINVAL for a bad bundle
 * string, strategy or a name in use (ray_last_error says which). The group
 * lives until ray_pg_remove or the end of the job that created it. */
int ray_pg_create(const char *const *bundles, size_t n, ray_pg_strategy s, const char *name,
                  ray_pg *out);
/* Wait up to TIMEOUT_MS (< 0: forever) until every bundle of PG is reserved.
 * RAY_OK, RAY_ETIMEOUT (not placed yet: `ray status` shows why), RAY_EPG
 * (removed or unknown). A query to the head, repeated until the deadline. */
int ray_pg_wait(ray_pg pg, int64_t timeout_ms);
/* Remove PG: its actors and running tasks are killed (their callers get
 * RAY_EPG), its reservations freed on every node. Removing twice is RAY_OK. */
int ray_pg_remove(ray_pg pg);
/* The live group named NAME, cluster-wide, into *OUT; RAY_ENOTFOUND if none. */
int ray_pg_lookup(const char *name, ray_pg *out);

/* ---- where am I --------------------------------------------------------------- */
const char *ray_node_id(void); /* hex ID of this process's node */
const char *ray_job_id(void);

/* For libraries built on this header (ray_pool, ray_tune): set the calling
 * thread's ray_last_error() (FMT's arguments may include ray_last_error()
 * itself) and return CODE, so `return ray_error_set(RAY_EINVAL, "...");`. */
int ray_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- running a registered function in this process (for libraries) ------------
 * ray_pool's actors and ray_tune's trials run many calls of a job's function
 * inside one task; a local context keeps the function's return value in
 * memory instead of the object store. Not thread-safe: one context per thread. */
/* The function registered under NAME (RAY_REMOTE) in this process, or NULL. */
ray_fn ray_function_lookup(const char *name);
/* A context for running functions here. NAME names it in messages; DATA is
 * the owner's, given back by ray_task_local_data (the context never frees
 * it). Returns NULL when out of memory. */
ray_task *ray_task_local_new(const char *name, void *data);
/* DATA of a local context; NULL for any other task (a job's own, or NULL). */
void *ray_task_local_data(ray_task *t);
/* Call FN(T, ARGS, NARGS) in the calling thread, now. On RAY_OK *RET (may be
 * NULL) is its first ray_return / ray_return_alloc value (NIL if it set
 * none); its STR/BYTES payload belongs to T and stays valid until T's next
 * run or ray_task_local_free. Returns RAY_ETASK when FN called ray_fail or
 * returned non-zero (ray_last_error: its message, or "returned N"),
 * RAY_EINVAL without a local context or FN. Does not catch crashes. */
int ray_task_local_run(ray_task *t, ray_fn fn, const ray_value *args, size_t nargs,
                       ray_value *ret);
void ray_task_local_free(ray_task *t); /* NULL: no-op */

/* ---- registration (used by the macros below) ----------------------------------- */
void ray_register_function_(const char *name, ray_fn fn);
void ray_register_actor_(const char *cls, ray_actor_new_fn mk, ray_actor_free_fn fr);
void ray_register_method_(const char *cls, const char *method, ray_method_fn fn);

/* RAY_REMOTE(fn); at file scope, after fn (which may be static). */
#define RAY_REMOTE(fn)                                                              \
    __attribute__((constructor)) static void ray_register_fn_##fn##_(void)          \
    {                                                                               \
        ray_register_function_(#fn, (fn));                                          \
    }                                                                               \
    struct ray_semicolon_##fn##_

/* RAY_ACTOR(cls): class "cls" made by cls_new() and freed by cls_free(). */
#define RAY_ACTOR(cls)                                                              \
    __attribute__((constructor)) static void ray_register_actor_##cls##_(void)      \
    {                                                                               \
        ray_register_actor_(#cls, cls##_new, cls##_free);                           \
    }                                                                               \
    struct ray_semicolon_actor_##cls##_

/* RAY_METHOD(cls, m): method "m" of class "cls", implemented by cls_m(). */
#define RAY_METHOD(cls, m)                                                          \
    __attribute__((constructor)) static void ray_register_method_##cls##_##m##_(void) \
    {                                                                               \
        ray_register_method_(#cls, #m, cls##_##m);                                  \
    }                                                                               \
    struct ray_semicolon_method_##cls##_##m##_

#ifdef __cplusplus
}
#endif

#endif
