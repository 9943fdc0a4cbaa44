/*
 * netutil.h — small socket helpers shared by the daemon, the CLI and the
 * client library: listen/connect on TCP and Unix sockets, address parsing,
 * blocking full reads/writes. Setup helpers fill a caller's error buffer.
 */
#ifndef RAY_NETUTIL_H
#define RAY_NETUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Split "host:port" (host may be empty: "127.0.0.1" is used). Returns 0 or -1
 * (err says why). */
int net_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                       size_t errlen);
/* Listen on IP:PORT (PORT 0: ephemeral), non-blocking, close-on-exec.
 * Returns the fd (and *bound_port) or -1 with err ("port 6379 on 127.0.0.1 is in use"). */
int net_listen_tcp(const char *ip, int port, int *bound_port, char *err, size_t errlen);
/* Listen on a Unix socket at PATH (an old socket file is replaced). Returns fd or -1. */
int net_listen_unix(const char *path, char *err, size_t errlen);
/* Blocking connect with a timeout; the returned fd is blocking, close-on-exec.
 * Returns fd or -1 with err ("cannot connect to 1.2.3.4:5: Connection refused"). */
int net_connect_tcp(const char *host, int port, int timeout_ms, char *err, size_t errlen);
int net_connect_unix(const char *path, char *err, size_t errlen);
int net_set_nonblock(int fd);
/* 1 if a TCP listener could bind IP:PORT now, else 0. */
int net_port_is_free(const char *ip, int port);
/* Write all LEN bytes (EINTR-safe). Returns 0 or -1 (errno). */
int net_write_all(int fd, const void *p, size_t len);
/* Read up to LEN bytes once (EINTR-safe). Returns bytes, 0 on EOF, -1 (errno). */
ssize_t net_read_some(int fd, void *p, size_t len);
/* Monotonic milliseconds. */
long long net_now_ms(void);
/* Wall-clock milliseconds since the epoch. */
long long net_wall_ms(void);

#endif
