/*
 * api.h — the two entry points cmd/main.c dispatches to when rayd is
 * re-executed by a node as a worker (`rayd --worker`) or as the driver of
 * `ray submit` (`rayd --driver ARGS...`). Everything else of the client
 * runtime is reached through include/ray.h.
 */
#ifndef RAY_API_H
#define RAY_API_H

/*
 * Run a worker process: read RAY_NODE_SOCKET, RAY_WORKER_ID, RAY_JOB_ID,
 * RAY_JOB_LIBRARY and RAY_NODE_ID from the environment, dlopen the job
 * library, connect to the node and execute the tasks it sends until the
 * connection closes. ARGC/ARGV are ignored. Returns the process exit status
 * (2: bad environment or library, 1: connection failed or lost); it may also
 * end the process itself (_exit) when the node goes away mid-task.
 */
int api_worker_main(int argc, char **argv);

/*
 * Run the driver of `ray submit`: the same environment minus RAY_WORKER_ID.
 * ARGV is the process's argv: argv[0] and one leading "--driver" are skipped,
 * the rest are the job's arguments; ray_main gets them with argv[0] replaced
 * by the library's file name. Returns ray_main's value (or 2 when the
 * library cannot be loaded or has no ray_main, 1 when the node is
 * unreachable); the caller exits with it.
 */
int api_driver_main(int argc, char **argv);

#endif
