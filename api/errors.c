/*
 * errors.c — status strings, the thread-local ray_last_error() text, and the
 * small "where am I" accessors of ray.h.
 */
#include "api/api_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define API_ERROR_MAX 1024

static __thread char last_error[API_ERROR_MAX];

const char *ray_strerror(int code)
{
    switch (code) {
    case RAY_OK: return "success";
    case RAY_EINVAL: return "invalid argument";
    case RAY_ENOTFOUND: return "not found";
    case RAY_ETIMEOUT: return "timed out";
    case RAY_ETASK: return "task failed";
    case RAY_EWORKER: return "worker died";
    case RAY_EACTOR: return "actor is dead";
    case RAY_ELOST: return "object lost";
    case RAY_ECONN: return "connection to the node failed";
    case RAY_ENOMEM: return "out of memory";
    case RAY_EAUTH: return "authentication failed";
    case RAY_EPG: return "placement group removed or bundle index invalid";
    default: return "unknown error";
    }
}

const char *ray_last_error(void)
{
    return last_error;
}

int api_error_(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

int api_buf_check_(const struct buf *b, const char *what)
{
    if (!buf_failed(b))
        return RAY_OK;
    return api_error_(b->err == ENOMEM ? RAY_ENOMEM : RAY_EINVAL, "%s: %s encoding it", what,
                      b->err == ENOMEM ? "out of memory" : "a length too large");
}

int api_frame_check_(const struct buf *frame)
{
    if (buf_failed(frame))
        return api_buf_check_(frame, "a message to the node");
    if (frame->len == 0)
        return api_error_(RAY_EINVAL, "a message to the node could not be encoded");
    return RAY_OK;
}

int api_pack_error_(const struct buf *f, const char *fmt, ...)
{
    if (buf_failed(f))
        return api_buf_check_(f, "a message to the node");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return RAY_EINVAL;
}

int ray_error_set(int code, const char *fmt, ...)
{
    char msg[API_ERROR_MAX]; /* FMT's arguments may be ray_last_error() itself */
    va_list ap;
    va_start(ap, fmt);
    if (fmt)
        vsnprintf(msg, sizeof msg, fmt, ap);
    else
        msg[0] = '\0';
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return code;
}

void api_error_clear_(void)
{
    last_error[0] = '\0';
}

size_t ray_strlen_(const char *s)
{
    return s ? strlen(s) : 0;
}

const char *ray_node_id(void)
{
    return api_client_node_hex_();
}

const char *ray_job_id(void)
{
    return api_client_job_hex_();
}
