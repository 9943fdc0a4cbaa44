/*
 * protocol.h — the rayd wire protocol: one table of every message.
 *
 * Frames: a 4-byte big-endian body length, then a msgpack array whose first
 * element is the message type (uint) and whose other elements are the
 * message's fields, in the order and with the types this table gives.
 * The same frames flow over Unix sockets (same node) and TCP (between nodes,
 * remote drivers and the CLI).
 *
 * Every connection starts with HELLO from the side that connected, carrying
 * PROTO_VERSION and the cluster token; the accepting side answers HELLO_OK or
 * ERROR and closes. Until HELLO is accepted a peer may send nothing else and
 * frames are limited to PROTO_MAX_FRAME_PREAUTH bytes.
 *
 * Field kinds (one letter each, in the table's format strings):
 *   u  unsigned integer (uint64)        i  signed integer (int64)
 *   d  float64                          b  bool
 *   s  string (str)                     y  bytes (bin)
 *   I  an ID: bin of exactly PROTO_ID_SIZE bytes
 *   v  any msgpack value (map, array, ...), kept raw and walked with mpr_*
 *
 * Message numbers live in ranges by subsystem and are never reused: a retired
 * message stays here as a comment.
 *    1- 99  connection          100-199  node administration / CLI
 *  200-299  objects             300-399  tasks
 *  400-499  actors              500-599  jobs and logs
 *  600-699  node to node (object transfer, spillback)
 *  700-799  observability (logs, node state, timeline events)
 *  800-849  placement groups and runtime environments (620-629 node to node)
 *  900-919  faults: drivers and `ray submit` reconnecting (docs/faults.md)
 *  920-939  Serve: pushed results, clients' metrics reports
 *  970-989  direct submission: leases, a leased worker's own socket
 */
#ifndef RAY_PROTOCOL_H
#define RAY_PROTOCOL_H

#define PROTO_VERSION 3 /* 2: OBJ_VALUE pushes; 3: OBJ_GET/OBJ_WAIT name their task, TASK_NEST */
#define PROTO_ID_SIZE 20

/* Limits, enforced before anything is allocated. */
#define PROTO_MAX_FRAME (64u << 20)        /* body bytes, authenticated peers */
#define PROTO_MAX_FRAME_PREAUTH (64u << 10)/* body bytes before HELLO is accepted */
#define PROTO_MAX_DEPTH 16                 /* nesting of arrays/maps */
#define PROTO_MAX_ELEMS (1u << 20)         /* elements in one array or map */
#define PROTO_MAX_FIELDS 16                /* top-level fields after the type */

/* Peer roles, sent in HELLO. */
enum proto_role {
    PROTO_ROLE_WORKER = 1,  /* a worker process of this node */
    PROTO_ROLE_DRIVER = 2,  /* a driver (ray submit's or standalone) */
    PROTO_ROLE_CLI = 3,     /* the ray CLI */
    PROTO_ROLE_NODE = 4,    /* another rayd node */
};

/*
 * X(NAME, number, "fields", "field names, for docs and error messages")
 */
#define PROTO_MESSAGES(X)                                                                  \
    /* 1-99: connection */                                                                 \
    X(HELLO, 1, "uusuv", "version role token pid info")                                    \
    X(HELLO_OK, 2, "usv", "version node_id info")                                          \
    X(ERROR, 3, "is", "code message")                                                      \
    X(PING, 4, "u", "seq")                                                                 \
    X(PONG, 5, "u", "seq")                                                                 \
    /* 100-199: node administration */                                                     \
    X(NODE_INFO_REQ, 100, "u", "reqid")                                                    \
    X(NODE_INFO, 101, "uv", "reqid info")                                                  \
    /* 200-299: objects */                                                                 \
    X(OBJ_PUT, 200, "Iuy", "id vtype data")                                                \
    X(OBJ_CREATE, 201, "uIuu", "reqid id vtype size")                                      \
    X(OBJ_CREATE_OK, 202, "uius", "reqid status offset message")                           \
    X(OBJ_SEAL, 203, "I", "id")                                                            \
    X(OBJ_GET, 204, "uIiI", "reqid id timeout_ms task_id")                                 \
    X(OBJ_GET_OK, 205, "uiuuuy", "reqid status vtype offset size inline")                  \
    X(OBJ_RELEASE, 206, "I", "id")                                                         \
    X(OBJ_WAIT, 207, "uvuiI", "reqid ids num_ready timeout_ms task_id")                    \
    X(OBJ_WAIT_OK, 208, "uv", "reqid ready")                                               \
    X(OBJ_FREE, 209, "v", "ids")                                                           \
    X(OBJ_VALUE, 210, "Iuy", "id vtype data")                                              \
    /* 300-399: tasks */                                                                   \
    X(TASK_SUBMIT, 300, "v", "spec")                                                       \
    X(TASK_EXECUTE, 301, "vv", "spec args")                                                \
    X(TASK_DONE, 302, "Iis", "task_id status message")                                     \
    /* 303, 304: retired before release (WORKER_BLOCKED, WORKER_UNBLOCKED) */              \
    X(TASK_RECALL, 305, "I", "task_id")                                                    \
    X(TASK_NEST, 306, "vv", "spec args")                                                   \
    /* 400-499: actors */                                                                  \
    X(ACTOR_CREATE, 400, "v", "spec")                                                      \
    X(ACTOR_CALL, 401, "v", "spec")                                                        \
    X(ACTOR_KILL, 402, "Ib", "actor_id no_restart")                                        \
    X(ACTOR_LOOKUP, 403, "us", "reqid name")                                               \
    X(ACTOR_LOOKUP_OK, 404, "uiI", "reqid status actor_id")                                \
    X(ACTOR_CREATE_OK, 405, "uis", "reqid status message")                                 \
    /* 500-599: jobs and logs */                                                           \
    X(JOB_SUBMIT, 500, "yvv", "library args options")                                      \
    X(JOB_STARTED, 501, "ss", "job_id node_id")                                            \
    X(JOB_LOG, 502, "us", "stream line")                                                   \
    X(JOB_EXIT, 503, "is", "status message")                                               \
    X(JOB_STOP, 504, "s", "job_id")                                                        \
    X(JOB_LIBRARY, 505, "ys", "library path")                                             \
    /* 600-699: node to node */                                                           \
    X(NODE_OBJ_PULL, 600, "uI", "reqid id")                                                \
    X(NODE_OBJ_HEADER, 601, "uiuu", "reqid status vtype size")                             \
    X(NODE_OBJ_CHUNK, 602, "uuy", "reqid offset data")                                     \
    X(NODE_OBJ_CANCEL, 603, "u", "reqid")                                                  \
    X(NODE_OBJ_PUT, 604, "Iuy", "id vtype data")                                           \
    X(NODE_OBJ_FREE, 605, "v", "ids")                                                      \
    X(NODE_TASK_SPILL, 610, "uvssu", "kind spec origin library local_bytes")               \
    X(NODE_TASK_PLACE, 611, "uvss", "kind spec origin library")                            \
    X(NODE_ACTOR_CALL, 612, "v", "spec")                                                   \
    X(NODE_JOB_LOG, 613, "sus", "job stream line")                                        \
    X(NODE_ACTOR_KILL, 614, "Ib", "actor_id no_restart")                                         \
    /* 620-629: placement groups between nodes (runtime/pg.c) */                           \
    X(NODE_PG_PREPARE, 620, "Iuus", "pg_id attempt bundle resources")                    \
    X(NODE_PG_PREPARED, 621, "Iuui", "pg_id attempt bundle status")                      \
    X(NODE_PG_COMMIT, 622, "Iu", "pg_id attempt")                                         \
    X(NODE_PG_RELEASE, 623, "Iub", "pg_id attempt removed")                               \
    /* 700-799: observability (runtime/observe.c) */                                       \
    X(LOG_LIST_REQ, 700, "u", "reqid")                                                    \
    X(LOG_LIST, 701, "uv", "reqid files")                                                 \
    X(LOG_READ, 702, "usuyub", "reqid source stream filter tail follow")                  \
    X(LOG_DATA, 703, "uiys", "reqid status data message")                                 \
    X(NODE_STATS_REQ, 704, "uu", "reqid max_objects")                                     \
    X(NODE_STATS, 705, "uv", "reqid stats")                                               \
    X(EVENTS, 706, "y", "batch")                                                          \
    /* 800-849: placement groups (runtime/pg.c; a node forwards them to the head) */       \
    X(PG_CREATE, 800, "uv", "reqid spec")                                                 \
    X(PG_REPLY, 801, "uis", "reqid status message")                                       \
    X(PG_WAIT, 802, "uI", "reqid pg_id")                                                  \
    X(PG_REMOVE, 803, "uI", "reqid pg_id")                                                \
    X(PG_LOOKUP, 804, "us", "reqid name")                                                 \
    X(PG_LOOKUP_OK, 805, "uiIus", "reqid status pg_id bundles message")                   \
    X(RENV_UPLOAD, 806, "uy", "reqid tar")                                                \
    X(RENV_UPLOAD_OK, 807, "uis", "reqid status hash")                                    \
    /* 900-919: faults (a driver of a node that died, reconnected: docs/faults.md) */     \
    X(DRIVER_OUTPUT, 900, "us", "stream line")                                            \
    X(JOB_ATTACH, 901, "s", "job_id")                                                     \
    X(DRIVER_EXIT, 902, "i", "status")                                                      \
    /* 920-939: Serve's: pushed results (objects.c, api/push.c), metrics (metrics_report.c) */  \
    X(OBJ_SUBSCRIBE, 920, "Iu", "id max_inline")                                          \
    X(OBJ_PUSH, 921, "Iuuy", "id vtype size data")                                        \
    X(METRICS_REPORT, 922, "y", "text") /* a client's ray_serve_* lines (metrics_report.h) */ \
    /* 970-989: direct submission to leased workers (docs/direct.md) */                   \
    X(LEASE_REQUEST, 970, "v", "shape")             /* driver -> node: a spec-like map */  \
    X(LEASE_GRANT, 971, "IiIs", "lease_id status worker_id message") /* node -> driver */  \
    X(LEASE_RETURN, 972, "I", "lease_id")           /* driver -> node */                   \
    X(LEASE_REVOKE, 973, "I", "lease_id")           /* node -> driver: give it back */     \
    X(DIRECT_HELLO, 974, "us", "version token")     /* driver -> leased worker */          \
    X(DIRECT_TASK, 975, "vv", "spec args")          /* driver -> leased worker */          \
    X(DIRECT_RESULT, 976, "Iisuy", "task_id status message vtype data") /* worker -> driver */ \
    X(DIRECT_DONE, 977, "v", "batch")               /* worker -> node: [[id,name,status,msg,nret]...] */ \
    X(DIRECT_PENDING, 978, "v", "batch")            /* driver -> node: tasks long unanswered; status 1 running, 2 pending */ \
    X(ACTOR_LEASE_REQUEST, 979, "I", "actor_id")    /* driver -> node: its worker, for direct calls */ \
    X(ACTOR_LEASE_GRANT, 980, "IiIs", "actor_id status worker_id message") /* node -> driver */ \
    X(DIRECT_ACTOR_LOST, 981, "IIv", "actor_id worker_id batch") /* driver -> node: direct calls unanswered at its worker's death */ \
    X(DIRECT_BACKLOG, 982, "vu", "shape count")      /* driver -> node: tasks of a shape it holds for a lease's room */

enum proto_type {
#define PROTO_ENUM_(name, num, fmt, doc) PROTO_##name = num,
    PROTO_MESSAGES(PROTO_ENUM_)
#undef PROTO_ENUM_
};

#endif
