/*
 * bench_floor.c — this machine's floor, measured in the same `make bench`
 * run: what the fastest possible version of each rayd path would still pay.
 * Prints one JSON line per probe ({"benchmark": "floor_...", "value": X,
 * "unit": U, "runs": N, "min": A, "max": B}; the value is the median):
 *   floor_unix_rtt_us     1-byte ping-pong over a Unix stream socketpair
 *                         between two processes (one round trip)
 *   floor_unix_rtt_1cpu_us  the same with both processes pinned to one CPU
 *                         (no cross-CPU wake-up: two context switches)
 *   floor_tcp_rtt_us      the same over loopback TCP with TCP_NODELAY
 *   floor_fork_exec_ms    fork + execve(/bin/true) + waitpid
 *   floor_memcpy_gbps     memcpy of 256 MB between two touched buffers
 *   floor_tcp_gbps        1 GB streamed over loopback TCP in 1 MiB writes
 * Usage: bench_floor [RUNS]   (default 5 measurements after one warm-up)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PINGS 5000
#define COPY_BYTES (256u * 1000 * 1000)
#define STREAM_BYTES (1000u * 1000 * 1000)
#define CHUNK (1u << 20)
#define MAX_RUNS 50

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Read exactly N bytes; exits on error or EOF. */
static void read_full(int fd, void *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            die("read");
        }
        p = (char *)p + k;
        n -= (size_t)k;
    }
}

static void write_full(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            die("write");
        }
        p = (const char *)p + k;
        n -= (size_t)k;
    }
}

/* A connected pair of sockets: Unix socketpair, or loopback TCP. */
static void sock_pair(int tcp, int fd[2])
{
    if (!tcp) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd) < 0)
            die("socketpair");
        return;
    }
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) < 0)
        die("listen");
    fd[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (fd[0] < 0 || connect(fd[0], (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    fd[1] = accept(l, NULL, NULL);
    if (fd[1] < 0)
        die("accept");
    close(l);
    setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Round trip in µs of a 1-byte ping-pong between this process and a child. */
static double pingpong_us(int tcp)
{
    int fd[2];
    char c = 'x';
    sock_pair(tcp, fd);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(fd[0]);
        for (int i = 0; i < PINGS; i++) {
            read_full(fd[1], &c, 1);
            write_full(fd[1], &c, 1);
        }
        _exit(0);
    }
    close(fd[1]);
    double t0 = now_s();
    for (int i = 0; i < PINGS; i++) {
        write_full(fd[0], &c, 1);
        read_full(fd[0], &c, 1);
    }
    double t = now_s() - t0;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return t / PINGS * 1e6;
}

static double unix_rtt(void)
{
    return pingpong_us(0);
}

/* Unix ping-pong with this process and its child pinned to the first allowed CPU. */
static double unix_rtt_1cpu(void)
{
    cpu_set_t old, one;
    if (sched_getaffinity(0, sizeof old, &old) < 0)
        die("sched_getaffinity");
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &old)) {
            CPU_SET(c, &one);
            break;
        }
    if (sched_setaffinity(0, sizeof one, &one) < 0)
        die("sched_setaffinity");
    double us = pingpong_us(0);
    sched_setaffinity(0, sizeof old, &old);
    return us;
}

static double tcp_rtt(void)
{
    return pingpong_us(1);
}

/* fork + exec of /bin/true + wait, in ms (mean of 100). */
static double fork_exec_ms(void)
{
    const int n = 100;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
    }
    return (now_s() - t0) / n * 1e3;
}

/* memcpy bandwidth, GB/s (1e9 bytes), buffers touched first. */
static double memcpy_gbps(void)
{
    static char *a, *b;
    if (a == NULL) {
        a = malloc(COPY_BYTES);
        b = malloc(COPY_BYTES);
        if (a == NULL || b == NULL)
            die("malloc");
        memset(a, 1, COPY_BYTES);
        memset(b, 2, COPY_BYTES);
    }
    double t0 = now_s();
    for (int i = 0; i < 4; i++) {
        memcpy(i % 2 ? a : b, i % 2 ? b : a, COPY_BYTES);
        __asm__ volatile("" ::: "memory");
    }
    return 4.0 * COPY_BYTES / (now_s() - t0) / 1e9;
}

/* Loopback TCP bandwidth, GB/s: a child sinks STREAM_BYTES sent in CHUNK writes. */
static double tcp_gbps(void)
{
    int fd[2];
    static char buf[CHUNK];
    sock_pair(1, fd);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(fd[0]);
        size_t got = 0;
        while (got < STREAM_BYTES) {
            ssize_t k = read(fd[1], buf, sizeof buf);
            if (k <= 0)
                _exit(1);
            got += (size_t)k;
        }
        write_full(fd[1], "k", 1);
        _exit(0);
    }
    close(fd[1]);
    memset(buf, 9, sizeof buf);
    double t0 = now_s();
    for (size_t sent = 0; sent < STREAM_BYTES; sent += CHUNK)
        write_full(fd[0], buf, STREAM_BYTES - sent < CHUNK ? STREAM_BYTES - sent : CHUNK);
    char c;
    read_full(fd[0], &c, 1);
    double t = now_s() - t0;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return STREAM_BYTES / t / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void probe(const char *name, const char *unit, double (*fn)(void), int runs)
{
    double v[MAX_RUNS];
    fn(); /* warm-up */
    for (int i = 0; i < runs; i++)
        v[i] = fn();
    qsort(v, (size_t)runs, sizeof v[0], cmp_double);
    double med = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
    printf("{\"benchmark\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"runs\": %d, "
           "\"min\": %.6g, \"max\": %.6g}\n",
           name, med, unit, runs, v[0], v[runs - 1]);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 5;
    probe("floor_unix_rtt_us", "us", unix_rtt, runs);
    probe("floor_unix_rtt_1cpu_us", "us", unix_rtt_1cpu, runs);
    probe("floor_tcp_rtt_us", "us", tcp_rtt, runs);
    probe("floor_fork_exec_ms", "ms", fork_exec_ms, runs);
    probe("floor_memcpy_gbps", "GB/s", memcpy_gbps, runs);
    probe("floor_tcp_gbps", "GB/s", tcp_gbps, runs);
    return 0;
}
