/*
 * rayprobe.c — a raw-protocol client for the integration tests of a node's
 * connection handling (tests/integration/test_hardening.sh). It speaks just
 * enough of the wire protocol (common/proto.c) to do what a well-behaved
 * client never does:
 *
 *   rayprobe early HOST PORT TOKEN [close]
 *       HELLO as a standalone driver and, in the same write, OBJ_PUT,
 *       OBJ_GET of that object, PING and NODE_INFO_REQ; checks every answer
 *       (exit 0) — or with "close", hangs up right after the write.
 *   rayprobe flood HOST PORT N HOLD_S SRC...
 *       open N idle TCP connections, round-robin from the source addresses
 *       SRC (127.0.0.x), hold them HOLD_S seconds, then print how many the
 *       node had closed meanwhile.
 *   rayprobe authhold HOST PORT TOKEN N HOLD_S
 *       open N connections that say HELLO as the CLI (authenticated) and hold
 *       them HOLD_S seconds: uses up the node's descriptors.
 *   rayprobe trickle HOST PORT TOKEN MAX_S
 *       send a valid HELLO one byte a second; print after how many seconds
 *       the node closed the connection (exit 0), or exit 1 at MAX_S.
 *
 * Test code: blocking, single-threaded, exits on the first surprise.
 */
#include "common/buf.h"
#include "common/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Connect to HOST:PORT from SRC (NULL: any); NONBLOCK leaves the connect in
 * progress. Returns the fd or -1. */
static int dial(const char *host, int port, const char *src, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    if (src) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        inet_pton(AF_INET, src, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void pack_hello(struct buf *b, const char *token, int role)
{
    struct buf info = BUF_INIT;
    mpw_map(&info, 0);
    proto_pack(b, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)role, token, (uint64_t)getpid(),
               info.data, info.len);
    buf_free(&info);
}

static int write_all(int fd, const void *p, size_t len)
{
    const char *s = p;
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int cmd_early(const char *host, int port, const char *token, int hangup)
{
    int fd = dial(host, port, NULL, 0);
    if (fd < 0) {
        perror("connect");
        return 2;
    }
    uint8_t id[PROTO_ID_SIZE];
    for (int i = 0; i < PROTO_ID_SIZE; i++)
        id[i] = (uint8_t)(rand() ^ (getpid() >> (i % 8)));
    static const char data[] = "put before HELLO_OK";
    struct buf b = BUF_INIT;
    pack_hello(&b, token, PROTO_ROLE_DRIVER);
    proto_pack(&b, PROTO_OBJ_PUT, id, (uint64_t)0, data, sizeof data - 1);
    static const uint8_t no_task[PROTO_ID_SIZE]; /* a driver runs no task */
    proto_pack(&b, PROTO_OBJ_GET, (uint64_t)7, id, (int64_t)5000, no_task);
    proto_pack(&b, PROTO_PING, (uint64_t)9);
    proto_pack(&b, PROTO_NODE_INFO_REQ, (uint64_t)11);
    if (write_all(fd, b.data, b.len) < 0) {
        perror("write");
        return 2;
    }
    buf_free(&b);
    if (hangup) {
        close(fd);
        return 0;
    }
    struct proto_decoder d;
    proto_decoder_init(&d, PROTO_MAX_FRAME);
    int hello = 0, got = 0, pong = 0, info = 0;
    double end = now_s() + 10;
    while (!(hello && got && pong && info) && now_s() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 500) <= 0)
            continue;
        char in[65536];
        ssize_t n = read(fd, in, sizeof in);
        if (n <= 0) {
            printf("connection closed by the node\n");
            break;
        }
        proto_decoder_feed(&d, in, (size_t)n);
        struct proto_msg m;
        int rc;
        while ((rc = proto_decoder_next(&d, &m)) == PROTO_OK) {
            printf("got %s\n", proto_name(m.type));
            switch (m.type) {
            case PROTO_HELLO_OK:
                hello = !got && !pong && !info; /* HELLO_OK comes first */
                break;
            case PROTO_OBJ_GET_OK:
                printf("  reqid %llu status %lld size %llu\n", (unsigned long long)m.f[0].as.u,
                       (long long)m.f[1].as.i, (unsigned long long)m.f[4].as.u);
                got = m.f[0].as.u == 7 && m.f[1].as.i == 0 && m.f[4].as.u == sizeof data - 1;
                break;
            case PROTO_PONG:
                pong = m.f[0].as.u == 9;
                break;
            case PROTO_NODE_INFO:
                info = m.f[0].as.u == 11;
                break;
            case PROTO_ERROR:
                printf("  error %lld: %.*s\n", (long long)m.f[0].as.i, (int)m.f[1].as.s.len,
                       m.f[1].as.s.ptr);
                break;
            }
        }
        if (rc == PROTO_BAD) {
            printf("bad frame: %s\n", d.errstr);
            break;
        }
    }
    proto_decoder_free(&d);
    close(fd);
    printf("hello_ok %d obj_get_ok %d pong %d node_info %d\n", hello, got, pong, info);
    return hello && got && pong && info ? 0 : 1;
}

/* True if the peer has closed FD (EOF or reset). */
static int peer_closed(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 0) <= 0)
        return 0;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int cmd_flood(const char *host, int port, int n, int hold, char **srcs, int nsrc)
{
    int *fds = calloc((size_t)n, sizeof *fds);
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = dial(host, port, srcs[i % nsrc], 1);
        opened += fds[i] >= 0;
    }
    printf("opened %d\n", opened);
    fflush(stdout);
    sleep((unsigned)hold);
    int closed = 0;
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) {
            closed += peer_closed(fds[i]);
            close(fds[i]);
        }
    printf("closed_by_node %d of %d\n", closed, opened);
    free(fds);
    return 0;
}

static int cmd_authhold(const char *host, int port, const char *token, int n, int hold)
{
    struct buf b = BUF_INIT;
    pack_hello(&b, token, PROTO_ROLE_CLI);
    int *fds = calloc((size_t)n, sizeof *fds);
    int opened = 0, answered = 0, unanswered = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = dial(host, port, NULL, 1);
        if (fds[i] < 0)
            continue;
        struct pollfd p = { fds[i], POLLOUT, 0 };
        if (poll(&p, 1, 200) == 1 && send(fds[i], b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len)
            opened++;
        /* one at a time while the node answers (each becomes authenticated);
         * once it stops answering (out of descriptors), a few more wait in
         * its accept queue */
        if (unanswered == 0) {
            p.events = POLLIN;
            if (poll(&p, 1, 300) == 1)
                answered++;
            else
                unanswered++;
        } else if (++unanswered > 20) {
            break;
        }
    }
    printf("opened %d answered %d\n", opened, answered);
    fflush(stdout);
    sleep((unsigned)hold);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    buf_free(&b);
    return 0;
}

static int cmd_trickle(const char *host, int port, const char *token, int max_s)
{
    int fd = dial(host, port, NULL, 0);
    if (fd < 0) {
        perror("connect");
        return 2;
    }
    struct buf b = BUF_INIT;
    pack_hello(&b, token, PROTO_ROLE_CLI);
    double start = now_s();
    for (size_t i = 0; i + 1 < b.len && now_s() - start < max_s; i++) {
        if (send(fd, b.data + i, 1, MSG_NOSIGNAL) != 1 || peer_closed(fd)) {
            printf("closed after %.1f s\n", now_s() - start);
            return 0;
        }
        for (int t = 0; t < 10; t++) {
            usleep(100000);
            if (peer_closed(fd)) {
                printf("closed after %.1f s\n", now_s() - start);
                return 0;
            }
        }
    }
    printf("still open after %.1f s\n", now_s() - start);
    return 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl; /* a flood needs descriptors of its own */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    srand((unsigned)(time(NULL) ^ getpid()));
    if (argc >= 5 && strcmp(argv[1], "early") == 0)
        return cmd_early(argv[2], atoi(argv[3]), argv[4], argc > 5 && strcmp(argv[5], "close") == 0);
    if (argc >= 7 && strcmp(argv[1], "flood") == 0)
        return cmd_flood(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv + 6, argc - 6);
    if (argc == 7 && strcmp(argv[1], "authhold") == 0)
        return cmd_authhold(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]), atoi(argv[6]));
    if (argc == 6 && strcmp(argv[1], "trickle") == 0)
        return cmd_trickle(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
    fprintf(stderr, "usage: rayprobe early|flood|authhold|trickle ... (see rayprobe.c)\n");
    return 2;
}
