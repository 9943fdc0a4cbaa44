/*
 * push.c — subscriptions to objects and the pushes that answer them
 * (push.h; the node's side is runtime/objects.c "Pushes"), and metrics
 * reports (daemon/metrics_report.c). The cork of push.h lives with the
 * sending code in client.c.
 */
#include "api/api_internal.h"
#include "api/push.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t push_mu = PTHREAD_MUTEX_INITIALIZER;
static api_push_fn push_fn;
static void *push_arg;

void api_push_handler_set(api_push_fn fn, void *arg)
{
    pthread_mutex_lock(&push_mu);
    push_fn = fn;
    push_arg = arg;
    pthread_mutex_unlock(&push_mu);
}

int api_push_subscribe(const ray_ref *ref, uint32_t max_inline)
{
    api_error_clear_();
    if (ref == NULL)
        return api_error_(RAY_EINVAL, "api_push_subscribe: no ref");
    struct buf f = BUF_INIT;
    proto_pack(&f, PROTO_OBJ_SUBSCRIBE, ref->id, (uint64_t)max_inline);
    int rc = api_client_send_(&f);
    buf_free(&f);
    return rc;
}

int api_metrics_report(const char *text, size_t len)
{
    api_error_clear_();
    if (len > (256u << 10))
        return api_error_(RAY_EINVAL, "api_metrics_report: %zu bytes is over the 256 KiB limit",
                          len);
    struct buf f = BUF_INIT;
    proto_pack(&f, PROTO_METRICS_REPORT, text ? text : "", text ? len : (size_t)0);
    int rc = api_client_send_(&f);
    buf_free(&f);
    return rc;
}

void api_push_free(struct api_push *p)
{
    if (p == NULL)
        return;
    free(p->frame_);
    free(p->elems_);
    free(p);
}

/* OBJ_PUSH: id vtype size data (data empty and size > 0: not sent). */
void api_push_in_(void *body, const struct proto_msg *m)
{
    pthread_mutex_lock(&push_mu);
    api_push_fn fn = push_fn;
    void *arg = push_arg;
    pthread_mutex_unlock(&push_mu);
    uint32_t vtype = (uint32_t)m->f[1].as.u;
    uint64_t size = m->f[2].as.u;
    const void *data = m->f[3].as.s.ptr;
    size_t len = m->f[3].as.s.len;
    char msg[1024] = "";
    struct api_push *p = NULL;
    if (fn == NULL)
        goto drop;
    if (vtype == API_VT_ERROR) {
        int code = RAY_ETASK;
        if (api_error_payload_decode_(data, len, &code, msg, sizeof msg) < 0) {
            code = RAY_ETASK;
            snprintf(msg, sizeof msg, "a malformed error was pushed");
        }
        size_t ml = strlen(msg) + 1;
        if ((p = calloc(1, sizeof *p + ml)) == NULL)
            goto drop;
        memcpy(p + 1, msg, ml);
        p->error = (const char *)(p + 1);
        p->status = code;
    } else {
        if ((p = calloc(1, sizeof *p)) == NULL)
            goto drop;
        p->error = "";
        p->size = size;
        if (len != size) {
            p->fetch = true;
        } else if (vtype > RAY_MAP ||
                   api_object_decode_(vtype, data, len, &p->value, &p->elems_) != RAY_OK) {
            p->status = RAY_EINVAL;
            p->error = "a malformed value was pushed";
        }
    }
    memcpy(p->id, m->f[0].as.s.ptr, RAY_ID_SIZE);
    p->frame_ = body;
    fn(arg, p);
    return;
drop:
    free(body);
}
