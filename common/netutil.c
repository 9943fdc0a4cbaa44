/*
 * netutil.c — socket helpers (see netutil.h).
 */
#include "common/netutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A burst of connects (a flood, or a hundred nodes joining at once) waits in
 * the kernel's queue rather than being dropped and retried seconds later;
 * the kernel clamps it to net.core.somaxconn. */
#define NET_LISTEN_BACKLOG 4096

int net_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                       size_t errlen)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL) {
        snprintf(err, errlen, "address '%s' is not HOST:PORT", s);
        return -1;
    }
    size_t hl = (size_t)(colon - s);
    if (hl >= hostlen) {
        snprintf(err, errlen, "address '%s': host name too long", s);
        return -1;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535) {
        snprintf(err, errlen, "address '%s': bad port", s);
        return -1;
    }
    if (hl == 0)
        snprintf(host, hostlen, "127.0.0.1");
    else {
        memcpy(host, s, hl);
        host[hl] = '\0';
    }
    *port = (int)p;
    return 0;
}

static int fill_sockaddr(const char *ip, int port, struct sockaddr_in *sa, char *err, size_t errlen)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sa->sin_addr) == 1)
        return 0;
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(ip, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "cannot resolve '%s': %s", ip, gai_strerror(rc));
        return -1;
    }
    sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

int net_listen_tcp(const char *ip, int port, int *bound_port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (fill_sockaddr(ip, port, &sa, err, errlen) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno == EADDRINUSE)
            snprintf(err, errlen, "port %d on %s is in use", port, ip);
        else
            snprintf(err, errlen, "cannot listen on %s:%d: %s", ip, port, strerror(errno));
        goto fail;
    }
    if (listen(fd, NET_LISTEN_BACKLOG) < 0) {
        snprintf(err, errlen, "listen on %s:%d: %s", ip, port, strerror(errno));
        goto fail;
    }
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    if (bound_port)
        *bound_port = ntohs(sa.sin_port);
    return fd;
fail:
    close(fd);
    return -1;
}

int net_listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, NET_LISTEN_BACKLOG) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int net_connect_tcp(const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (fill_sockaddr(host, port, &sa, err, errlen) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int n = poll(&pfd, 1, timeout_ms);
        if (n == 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (n < 0 || soerr != 0) {
            if (soerr)
                errno = soerr;
            goto fail;
        }
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
fail:
    snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, strerror(errno));
    close(fd);
    return -1;
}

int net_connect_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int net_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int net_port_is_free(const char *ip, int port)
{
    char err[128];
    int fd = net_listen_tcp(ip, port, NULL, err, sizeof err);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int net_write_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len > 0) {
        ssize_t n = write(fd, c, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t net_read_some(int fd, void *p, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

long long net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long net_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
