/*
 * log.c — implementation of log.h: timestamped, leveled lines to one FILE.
 *
 * A line identical to the one before (same level and text) within
 * LOG_REPEAT_WINDOW_MS of the last one written is counted, not written; the
 * count comes out as "last message repeated N times" before the next
 * different line, or with the next copy once the window has passed. So a
 * peer that makes the daemon fail the same way a million times a second
 * costs one line per window, and a message that recurs slowly keeps every
 * timestamp.
 */
#include "common/log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_level_active = LOG_LEVEL_INFO;
static FILE *log_fp;
static char log_name[32] = "ray";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_file_path;     /* what log_open opened, or NULL */
static log_sink_fn log_sink;    /* under log_lock: lines go here instead of log_fp */
static void *log_sink_arg;

#define LOG_REPEAT_WINDOW_MS 10000
static struct {
    char text[2400];      /* the last line written, without its time stamp */
    long long written_ms; /* when */
    unsigned long count;  /* copies since, not written */
    int level;
} log_last;

int log_open(const char *path)
{
    if (path == NULL) {
        log_fp = NULL;
        return 0;
    }
    /* logs stay private to the session's user, whatever the umask */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    fchmod(fd, 0600);
    FILE *fp = fdopen(fd, "a");
    if (fp == NULL) {
        close(fd);
        return -1;
    }
    setvbuf(fp, NULL, _IOLBF, 0);
    if (log_fp != NULL && log_fp != stderr)
        fclose(log_fp);
    log_fp = fp;
    char *copy = strdup(path);
    if (copy) {
        free(log_file_path);
        log_file_path = copy;
    }
    return 0;
}

const char *log_path(void)
{
    return log_fp ? log_file_path : NULL;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
    pthread_mutex_lock(&log_lock);
    log_sink = fn;
    log_sink_arg = arg;
    pthread_mutex_unlock(&log_lock);
}

void log_set_name(const char *name)
{
    snprintf(log_name, sizeof log_name, "%s", name);
}

int log_level_parse(const char *s)
{
    static const char *names[] = { "debug", "info", "warn", "error", "off" };
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static void log_vwrite(int level, int with_errno, bool direct, const char *fmt, va_list ap)
{
    static const char *tags[] = { "debug", "info", "warn", "error", "" };
    int saved = errno;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    char text[sizeof log_last.text];
    if (with_errno)
        snprintf(text, sizeof text, "%s: %s: %s", tags[level], msg, strerror(saved));
    else
        snprintf(text, sizeof text, "%s: %s", tags[level], msg);
    long long now = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;

    FILE *fp = log_fp ? log_fp : stderr;
    pthread_mutex_lock(&log_lock);
    bool same = strcmp(text, log_last.text) == 0;
    if (same && now - log_last.written_ms < LOG_REPEAT_WINDOW_MS) {
        log_last.count++;
        pthread_mutex_unlock(&log_lock);
        errno = saved;
        return;
    }
    char out[2 * sizeof log_last.text + 256];
    int n = 0;
    if (log_last.count > 0)
        n = snprintf(out, sizeof out, "%s.%03ldZ %s[%d] %s: last message repeated %lu times\n", ts,
                     (long)tv.tv_usec / 1000, log_name, (int)getpid(), tags[log_last.level],
                     log_last.count);
    n += snprintf(out + n, sizeof out - (size_t)n, "%s.%03ldZ %s[%d] %s\n", ts,
                  (long)tv.tv_usec / 1000, log_name, (int)getpid(), text);
    if ((size_t)n >= sizeof out)
        n = (int)sizeof out - 1;
    if (log_sink && !direct) {
        log_sink(log_sink_arg, out, (size_t)n);
    } else {
        fwrite(out, 1, (size_t)n, fp);
        fflush(fp);
    }
    if (!same)
        memcpy(log_last.text, text, sizeof text);
    log_last.written_ms = now;
    log_last.count = 0;
    log_last.level = level;
    pthread_mutex_unlock(&log_lock);
    errno = saved;
}

void log_write_(int level, int with_errno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, with_errno, false, fmt, ap);
    va_end(ap);
}

static void log_direct_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_direct_(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, 0, true, fmt, ap);
    va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
    va_list ap;
    char msg[2048];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_direct_(LOG_LEVEL_ERROR, "fatal: %s", msg); /* exit(1) follows: not through a sink */
    if (log_fp != NULL)
        fprintf(stderr, "%s: %s\n", log_name, msg);
    exit(1);
}

static void log_libevent_cb(int severity, const char *msg)
{
    int lvl = severity == EVENT_LOG_DEBUG ? LOG_LEVEL_DEBUG
              : severity == EVENT_LOG_MSG ? LOG_LEVEL_INFO
              : severity == EVENT_LOG_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR;
    log_at_(lvl, 0, "libevent: %s", msg);
}

void log_route_libevent(void)
{
    event_set_log_callback(log_libevent_cb);
}

char *log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t o = 0;
    if (dstlen == 0)
        return dst;
    for (size_t i = 0; i < len && o + 1 < dstlen; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
            dst[o++] = (char)s[i];
        } else {
            if (o + 5 >= dstlen)
                break;
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", s[i]);
        }
    }
    dst[o] = '\0';
    return dst;
}
