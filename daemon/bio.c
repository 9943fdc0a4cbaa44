/*
 * bio.c — the node's helper thread (bio.h): a FIFO of jobs run off the
 * event loop, and a done list whose completions the loop runs when an
 * eventfd wakes it.
 *
 * DESIGN. One mutex guards the queue, the done list and every file's
 * queued bytes. A job is a work function, a completion and an argument, or
 * a file flush or close. A file keeps one buffer of bytes not yet written
 * and at most one flush job in the queue: a write appends to the buffer
 * and queues the flush only if none is queued, so however many lines come
 * between two turns of the helper, they go out in one write(2). The helper
 * takes the buffer under the lock and writes it without it. Nothing logs
 * while holding the lock: the daemon's own log writes through a bio file
 * (log_set_sink), from any thread.
 * Completions are run by the loop in submission order, at most
 * BIO_DONE_PER_WAKEUP per wakeup (the rest wake it again), so a burst of
 * finished jobs cannot hold the loop.
 */
#include "daemon/bio.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/wake.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIO_DONE_PER_WAKEUP 256

enum bio_kind { BIO_WORK, BIO_FLUSH, BIO_CLOSE };

struct bio_job {
    enum bio_kind kind;
    bio_work_fn work;
    bio_done_fn done;
    void *arg;
    struct bio_file *file;
    bool cancelled;
    struct bio_job *next;
};

struct bio_file {
    struct bio *b;
    char *path;
    int mode;
    int fd;                 /* helper thread only */
    bool failed;            /* helper thread only: logged once */
    struct buf queued;      /* under b->mu */
    bool flush_queued;      /* under b->mu */
    size_t dropped;         /* under b->mu */
};

struct bio {
    struct event_base *base;
    struct event *ev;
    struct wake wake;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    size_t pending;                          /* submitted, completion not run */
    struct bio_job *head, *tail;             /* queued */
    struct bio_job *done_head, *done_tail;   /* finished, completion to run */
};

/* B->mu held: so it does not log (the log may write through a bio file) */
static void bio_wake(struct bio *b)
{
    (void)wake_signal(&b->wake); /* fails only when it is readable anyway */
}

/* Append J to the queue; B->mu held. */
static void do_enqueue(struct bio *b, struct bio_job *j)
{
    j->next = NULL;
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    pthread_cond_signal(&b->cv);
}

/* ---- the helper thread -------------------------------------------------------- */

static void file_flush(struct bio_file *f)
{
    struct bio *b = f->b;
    pthread_mutex_lock(&b->mu);
    struct buf out = f->queued;
    f->queued = (struct buf)BUF_INIT;
    f->flush_queued = false;
    size_t dropped = f->dropped;
    f->dropped = 0;
    pthread_mutex_unlock(&b->mu);
    if (dropped)
        log_warnx("%s: %zu bytes dropped (its writes fell behind)", f->path, dropped);
    if (out.len == 0)
        goto out;
    if (f->fd < 0 && !f->failed) {
        f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, (mode_t)f->mode);
        if (f->fd < 0) {
            log_warn("cannot open %s", f->path);
            f->failed = true;
        }
    }
    if (f->fd >= 0 && net_write_all(f->fd, out.data, out.len) < 0 && !f->failed) {
        log_warn("cannot write %s", f->path);
        f->failed = true;
    }
out:
    buf_free(&out);
}

static void *bio_main(void *arg)
{
    struct bio *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->stop && b->head == NULL)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->head == NULL)
            break; /* stopping, and everything queued is done */
        struct bio_job *j = b->head;
        b->head = j->next;
        if (b->head == NULL)
            b->tail = NULL;
        bool skip = b->stop && j->kind == BIO_WORK; /* work not started is not run at stop */
        pthread_mutex_unlock(&b->mu);

        switch (j->kind) {
        case BIO_WORK:
            if (skip)
                j->cancelled = true;
            else if (j->work)
                j->work(j->arg);
            break;
        case BIO_FLUSH:
            file_flush(j->file);
            break;
        case BIO_CLOSE:
            file_flush(j->file);
            if (j->file->fd >= 0)
                close(j->file->fd);
            buf_free(&j->file->queued);
            free(j->file->path);
            free(j->file);
            break;
        }

        pthread_mutex_lock(&b->mu);
        if (j->kind != BIO_WORK || j->done == NULL) {
            if (j->kind == BIO_WORK)
                b->pending--;
            free(j);
            continue;
        }
        j->next = NULL;
        if (b->done_tail)
            b->done_tail->next = j;
        else
            b->done_head = j;
        b->done_tail = j;
        bio_wake(b);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- the loop thread ------------------------------------------------------------ */

static void bio_done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct bio *b = arg;
    if (wake_drain(&b->wake) < 0)
        log_warn("bio: reading its eventfd");
    for (int n = 0; n < BIO_DONE_PER_WAKEUP; n++) {
        pthread_mutex_lock(&b->mu);
        struct bio_job *j = b->done_head;
        if (j) {
            b->done_head = j->next;
            if (b->done_head == NULL)
                b->done_tail = NULL;
        }
        pthread_mutex_unlock(&b->mu);
        if (j == NULL)
            return;
        j->done(j->arg, j->cancelled);
        pthread_mutex_lock(&b->mu);
        b->pending--;
        pthread_mutex_unlock(&b->mu);
        free(j);
    }
    pthread_mutex_lock(&b->mu);
    if (b->done_head)
        bio_wake(b); /* more next turn: other events go first */
    pthread_mutex_unlock(&b->mu);
}

struct bio *bio_new(struct event_base *base, char *err, size_t errlen)
{
    struct bio *b = xcalloc(1, sizeof *b);
    b->base = base;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (wake_open(&b->wake) < 0) {
        snprintf(err, errlen, "helper thread: eventfd: %s", strerror(errno));
        goto fail;
    }
    b->ev = event_new(base, wake_fd(&b->wake), EV_READ | EV_PERSIST, bio_done_cb, b);
    if (b->ev == NULL || event_add(b->ev, NULL) < 0) {
        snprintf(err, errlen, "helper thread: cannot watch its eventfd");
        goto fail;
    }
    /* signals are the loop's (libevent's handlers); a child forked here
     * resets its mask before exec */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&b->thread, NULL, bio_main, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        snprintf(err, errlen, "helper thread: %s", strerror(e));
        goto fail;
    }
    b->started = true;
    return b;
fail:
    bio_free(b);
    return NULL;
}

void bio_submit(struct bio *b, bio_work_fn work, bio_done_fn done, void *arg)
{
    struct bio_job *j = xcalloc(1, sizeof *j);
    j->kind = BIO_WORK;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&b->mu);
    b->pending++;
    do_enqueue(b, j);
    pthread_mutex_unlock(&b->mu);
}

size_t bio_pending(struct bio *b)
{
    pthread_mutex_lock(&b->mu);
    size_t n = b->pending;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void bio_free(struct bio *b)
{
    if (b == NULL)
        return;
    if (b->ev)
        event_free(b->ev);
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
    }
    /* without a thread (bio_new failed) nothing was ever queued */
    for (struct bio_job *j = b->done_head, *n; j; j = n) {
        n = j->next;
        j->done(j->arg, true);
        free(j);
    }
    wake_close(&b->wake);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

/* ---- files ----------------------------------------------------------------------- */

struct bio_file *bio_file_open(struct bio *b, const char *path, int mode)
{
    struct bio_file *f = xcalloc(1, sizeof *f);
    f->b = b;
    f->path = xstrdup(path);
    f->mode = mode;
    f->fd = -1;
    return f;
}

void bio_file_write(struct bio_file *f, const void *p, size_t len)
{
    if (f == NULL || len == 0)
        return;
    struct bio *b = f->b;
    pthread_mutex_lock(&b->mu);
    if (f->queued.len + len > BIO_FILE_MAX_QUEUED) {
        f->dropped += len;
    } else {
        buf_append(&f->queued, p, len);
        if (!f->flush_queued) {
            struct bio_job *j = xcalloc(1, sizeof *j);
            j->kind = BIO_FLUSH;
            j->file = f;
            f->flush_queued = true;
            do_enqueue(b, j);
        }
    }
    pthread_mutex_unlock(&b->mu);
}

void bio_file_close(struct bio_file *f)
{
    if (f == NULL)
        return;
    struct bio *b = f->b;
    struct bio_job *j = xcalloc(1, sizeof *j);
    j->kind = BIO_CLOSE;
    j->file = f;
    pthread_mutex_lock(&b->mu);
    do_enqueue(b, j);
    pthread_mutex_unlock(&b->mu);
}
