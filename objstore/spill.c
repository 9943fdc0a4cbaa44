/*
 * spill.c — the object store's helper thread: writes spilled objects to one
 * file per object (named by the hex object ID) under the spill directory,
 * reads them back into the region on restore, and removes files of deleted
 * objects. It never touches the store's index; it takes jobs from a FIFO
 * (mutex + condition variable) and hands finished WRITE and READ jobs back
 * on a done list, waking the loop thread through an eventfd.
 *
 * Files are not fsynced: they are a cache for this daemon's lifetime, and a
 * crashed node loses its objects anyway (lineage rebuilds them).
 */
#include "objstore/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wake.h"
#include "common/xmalloc.h"

struct spiller {
    char *dir;
    uint8_t *base;
    struct wake wake;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct spill_jobs queued, done;
};

static void spill_path(const spiller *sp, const uint8_t *id, char *buf, size_t len)
{
    char hex[IDS_HEX_SIZE];
    snprintf(buf, len, "%s/%s", sp->dir, ids_hex(id, IDS_SIZE, hex));
}

/* mkdir -p; returns 0 or -1 (errno). */
static int mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *c = p + 1; ; c++) {
        if (*c == '/' || *c == '\0') {
            char save = *c;
            *c = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *c = save;
            if (save == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

static int do_write(const spiller *sp, const struct spill_job *j)
{
    char path[4096];
    spill_path(sp, j->id, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    const uint8_t *p = sp->base + j->offset;
    uint64_t left = j->size;
    while (left > 0) {
        ssize_t n = write(fd, p, left > (1u << 30) ? (1u << 30) : left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            unlink(path);
            return e;
        }
        p += n;
        left -= (uint64_t)n;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return e;
    }
    return 0;
}

static int do_read(const spiller *sp, const struct spill_job *j)
{
    char path[4096];
    spill_path(sp, j->id, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != j->size) {
        close(fd);
        return EIO; /* truncated or replaced behind our back */
    }
    uint8_t *p = sp->base + j->offset;
    uint64_t left = j->size;
    while (left > 0) {
        ssize_t n = read(fd, p, left > (1u << 30) ? (1u << 30) : left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return e;
        }
        p += n;
        left -= (uint64_t)n;
    }
    close(fd);
    return 0;
}

static void *spill_main(void *arg)
{
    spiller *sp = arg;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        while (!sp->stop && STAILQ_EMPTY(&sp->queued))
            pthread_cond_wait(&sp->cv, &sp->mu);
        if (sp->stop)
            break;
        struct spill_job *j = STAILQ_FIRST(&sp->queued);
        STAILQ_REMOVE_HEAD(&sp->queued, link);
        pthread_mutex_unlock(&sp->mu);

        char path[4096];
        switch (j->op) {
        case SPILL_OP_WRITE: j->err = do_write(sp, j); break;
        case SPILL_OP_READ: j->err = do_read(sp, j); break;
        default:
            spill_path(sp, j->id, path, sizeof path);
            if (unlink(path) != 0 && errno != ENOENT)
                j->err = errno;
            break;
        }

        pthread_mutex_lock(&sp->mu);
        if (j->op == SPILL_OP_UNLINK) {
            free(j);
            continue;
        }
        STAILQ_INSERT_TAIL(&sp->done, j, link);
        spill_wake_(sp);
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

spiller *spill_start_(const char *dir, void *base, char *err, size_t errlen)
{
    spiller *sp = xcalloc(1, sizeof *sp);
    sp->dir = xstrdup(dir);
    sp->base = base;
    sp->wake.fd = -1;
    STAILQ_INIT(&sp->queued);
    STAILQ_INIT(&sp->done);
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->cv, NULL);
    if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "spill directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (wake_open(&sp->wake) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    int e = pthread_create(&sp->thread, NULL, spill_main, sp);
    if (e != 0) {
        snprintf(err, errlen, "spill thread: %s", strerror(e));
        goto fail;
    }
    sp->started = true;
    return sp;
fail:
    spill_stop_(sp);
    return NULL;
}

void spill_join_(spiller *sp)
{
    if (sp->started) {
        pthread_mutex_lock(&sp->mu);
        sp->stop = true;
        pthread_cond_signal(&sp->cv);
        pthread_mutex_unlock(&sp->mu);
        pthread_join(sp->thread, NULL);
        sp->started = false;
    }
    struct spill_job *j;
    while ((j = STAILQ_FIRST(&sp->queued)) != NULL) {
        STAILQ_REMOVE_HEAD(&sp->queued, link);
        if (j->op == SPILL_OP_UNLINK)
            spill_unlink_now_(sp, j->id);
        free(j);
    }
}

void spill_stop_(spiller *sp)
{
    if (sp == NULL)
        return;
    spill_join_(sp);
    struct spill_job *j;
    while ((j = STAILQ_FIRST(&sp->done)) != NULL) {
        STAILQ_REMOVE_HEAD(&sp->done, link);
        free(j);
    }
    wake_close(&sp->wake);
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->cv);
    free(sp->dir);
    free(sp);
}

void spill_submit_(spiller *sp, int op, const uint8_t *id, uint64_t offset, uint64_t size)
{
    struct spill_job *j = xcalloc(1, sizeof *j);
    j->op = op;
    memcpy(j->id, id, IDS_SIZE);
    j->offset = offset;
    j->size = size;
    pthread_mutex_lock(&sp->mu);
    STAILQ_INSERT_TAIL(&sp->queued, j, link);
    pthread_cond_signal(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
}

void spill_take_done_(spiller *sp, struct spill_jobs *out)
{
    if (wake_drain(&sp->wake) < 0)
        log_warn("objstore: reading notify fd");
    pthread_mutex_lock(&sp->mu);
    STAILQ_CONCAT(out, &sp->done);
    pthread_mutex_unlock(&sp->mu);
}

int spill_fd_(const spiller *sp)
{
    return wake_fd(&sp->wake);
}

void spill_wake_(spiller *sp)
{
    if (wake_signal(&sp->wake) < 0)
        log_warn("objstore: writing notify fd");
}

void spill_unlink_now_(spiller *sp, const uint8_t *id)
{
    char path[4096];
    spill_path(sp, id, path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        log_warn("objstore: removing %s", path);
}

void spill_rmdir_(spiller *sp)
{
    rmdir(sp->dir); /* fails harmlessly when other files are there */
}
