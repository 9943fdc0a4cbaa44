/*
 * log.h — leveled logging for every rayd process (daemon, workers, CLI).
 *
 * Messages go to one FILE (stderr by default, or the process's log file in
 * the session's logs/ directory). Below the active level the arguments are
 * not evaluated. log_warn appends strerror(errno); log_warnx does not.
 * log_fatal is for start-up only: it logs, prints one line to stderr and exits 1.
 * Untrusted text should go through log_escape() first.
 */
#ifndef RAY_LOG_H
#define RAY_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL_OFF };

extern int log_level_active;

/* Open PATH for appending and log there (NULL: stderr). Returns 0 or -1 (errno). */
int log_open(const char *path);
/* Name put in front of every line ("rayd", "worker", ...); the string is copied. */
void log_set_name(const char *name);
/* Parse "debug|info|warn|error"; returns the level or -1. */
int log_level_parse(const char *s);
/* Route libevent's internal messages into this log. */
void log_route_libevent(void);
/* The file log_open opened (NULL: none, stderr). Owned by the log. */
const char *log_path(void);
/* Hand every formatted line (LEN bytes, ending in a newline; valid during
 * the call) to FN(ARG, ...) instead of writing it: a daemon whose event loop
 * must not write files queues them for its helper thread (daemon/bio.h).
 * FN runs under the log's lock, from whichever thread logs; it must not log.
 * log_fatal's line is still written directly (exit follows). NULL: write
 * to the file again. */
typedef void (*log_sink_fn)(void *arg, const char *line, size_t len);
void log_set_sink(log_sink_fn fn, void *arg);

void log_write_(int level, int with_errno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_at_(lvl, e, ...) \
    do { if ((lvl) >= log_level_active) log_write_((lvl), (e), __VA_ARGS__); } while (0)
#define log_debug(...) log_at_(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_info(...)  log_at_(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_warn(...)  log_at_(LOG_LEVEL_WARN, 1, __VA_ARGS__)
#define log_warnx(...) log_at_(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_error(...) log_at_(LOG_LEVEL_ERROR, 0, __VA_ARGS__)

/* Copy SRC (LEN bytes) into DST (size DSTLEN, always NUL-terminated), with
 * control and non-ASCII bytes written as \xNN. Returns DST. */
char *log_escape(char *dst, size_t dstlen, const void *src, size_t len);

#endif
