/*
 * wake.c — the eventfd wake-up of a loop by a helper thread (wake.h).
 */
#include "common/wake.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int wake_open(struct wake *w)
{
    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return w->fd < 0 ? -1 : 0;
}

int wake_signal(struct wake *w)
{
    uint64_t one = 1;
    if (write(w->fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return -1;
    return 0;
}

int wake_drain(struct wake *w)
{
    uint64_t v;
    if (read(w->fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return -1;
    return 0;
}

int wake_fd(const struct wake *w)
{
    return w->fd;
}

void wake_close(struct wake *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}
