/*
 * ssh.c — running ssh, scp and rsync (see ssh.h). Each call is one child
 * process with an argv we build; its output is read until EOF, then it is
 * reaped. The caller's stdin never reaches a remote command unless given as
 * INPUT (so a secret such as the cluster token travels inside the SSH
 * channel and never on a command line).
 */
#include "launcher/ssh.h"

#include "common/buf.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void launch_sh_quote(struct buf *b, const char *s)
{
    buf_append(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            buf_append(b, "'\\''", 4);
        else
            buf_append(b, s, 1);
    }
    buf_append(b, "'", 1);
    *buf_reserve(b, 1) = '\0'; /* B->data stays a C string */
}

/* argv under construction */
struct av {
    char **v;
    size_t n;
};

static void av_add(struct av *a, const char *s)
{
    a->v = xreallocarray(a->v, a->n + 2, sizeof *a->v);
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

static void av_free(struct av *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* The -o options every tool shares, as separate words. */
static void ssh_common(const struct launch_ssh *s, struct av *a)
{
    char opt[4200];
    av_add(a, "-o");
    av_add(a, "BatchMode=yes");
    av_add(a, "-o");
    snprintf(opt, sizeof opt, "ConnectTimeout=%d", s->connect_timeout_s);
    av_add(a, opt);
    av_add(a, "-o");
    av_add(a, "StrictHostKeyChecking=accept-new");
    av_add(a, "-o");
    snprintf(opt, sizeof opt, "UserKnownHostsFile=%s", s->known_hosts);
    av_add(a, opt);
    av_add(a, "-o");
    av_add(a, "LogLevel=ERROR");
    av_add(a, "-o");
    av_add(a, "ServerAliveInterval=5");
    av_add(a, "-o");
    av_add(a, "ServerAliveCountMax=3");
    /* one connection per host, reused by every step (no new handshake) */
    if (s->control_path[0]) {
        av_add(a, "-o");
        av_add(a, "ControlMaster=auto");
        av_add(a, "-o");
        snprintf(opt, sizeof opt, "ControlPath=%s", s->control_path);
        av_add(a, opt);
        av_add(a, "-o");
        av_add(a, "ControlPersist=60s");
    }
    if (s->key) {
        av_add(a, "-i");
        av_add(a, s->key);
        av_add(a, "-o");
        av_add(a, "IdentitiesOnly=yes");
    }
}

/* "user@host" or "host" */
static void ssh_dest(const struct launch_ssh *s, const char *host, char *out, size_t outlen)
{
    if (s->user && *s->user)
        snprintf(out, outlen, "%s@%s", s->user, host);
    else
        snprintf(out, outlen, "%s", host);
}

/* Run ARGV; see launch_ssh_run for INPUT and OUT. */
static int run_argv(char **argv, const char *input, size_t inlen, struct buf *out)
{
    return launch_run_argv(argv, input, inlen, out);
}

int launch_run_argv(char *const *argv, const char *input, size_t inlen, struct buf *out)
{
    int in[2] = { -1, -1 }, op[2] = { -1, -1 };
    if (pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (out && pipe2(op, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        if (out) {
            close(op[0]);
            close(op[1]);
        }
        errno = e;
        return -1;
    }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        dup2(in[0], 0);
        if (out) {
            dup2(op[1], 1);
            dup2(op[1], 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    if (out)
        close(op[1]);
    /* small inputs (a token, a script) fit in the pipe; write, then read */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (input && off < inlen) {
        ssize_t n = write(in[1], input + off, inlen - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(in[1]);
    signal(SIGPIPE, old);
    if (out) {
        char chunk[8192];
        for (;;) {
            ssize_t n = read(op[0], chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (out->len < (8u << 20)) /* keep the start; the tail is what errors show */
                buf_append(out, chunk, (size_t)n);
        }
        close(op[0]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int launch_ssh_run(const struct launch_ssh *s, const char *host, const char *cmd,
                   const char *input, size_t inlen, struct buf *out)
{
    struct av a = { 0 };
    char dest[512];
    av_add(&a, "ssh");
    ssh_common(s, &a);
    av_add(&a, "-T");
    ssh_dest(s, host, dest, sizeof dest);
    av_add(&a, dest);
    av_add(&a, "--");
    av_add(&a, cmd);
    int rc = run_argv(a.v, input, inlen, out);
    av_free(&a);
    return rc;
}

int launch_ssh_interactive(const struct launch_ssh *s, const char *host, const char *cmd)
{
    struct av a = { 0 };
    char dest[512];
    av_add(&a, "ssh");
    ssh_common(s, &a);
    av_add(&a, "-t");
    ssh_dest(s, host, dest, sizeof dest);
    av_add(&a, dest);
    av_add(&a, "--");
    av_add(&a, cmd);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(a.v[0], a.v);
        fprintf(stderr, "cannot run ssh: %s\n", strerror(errno));
        _exit(127);
    }
    av_free(&a);
    if (pid < 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int launch_ssh_copy(const struct launch_ssh *s, const char *host, const char *local,
                    const char *remote, bool down, bool use_rsync, char *const *exclude,
                    size_t nexcl, int *changed, struct buf *out)
{
    struct av a = { 0 };
    char dest[4600], src[4700], dst[4700];
    struct stat st;
    bool dir = !down && stat(local, &st) == 0 && S_ISDIR(st.st_mode);
    if (s->user && *s->user)
        snprintf(dest, sizeof dest, "%s@%s:%s", s->user, host, remote);
    else
        snprintf(dest, sizeof dest, "%s:%s", host, remote);
    size_t mark = out ? out->len : 0;
    if (changed)
        *changed = 0;
    if (use_rsync) {
        /* rsync's -e takes one string; it splits it on spaces and honours quotes */
        struct av o = { 0 };
        ssh_common(s, &o);
        struct buf e = BUF_INIT;
        buf_printf(&e, "ssh");
        for (size_t i = 0; i < o.n; i++) {
            buf_append(&e, " ", 1);
            launch_sh_quote(&e, o.v[i]);
        }
        buf_append(&e, "", 1);
        av_free(&o);
        av_add(&a, "rsync");
        av_add(&a, "-az");
        av_add(&a, "--out-format=>%n");
        av_add(&a, "-e");
        av_add(&a, e.data);
        buf_free(&e);
        for (size_t i = 0; i < nexcl; i++) {
            av_add(&a, "--exclude");
            av_add(&a, exclude[i]);
        }
        if (down) {
            snprintf(src, sizeof src, "%s", dest);
            snprintf(dst, sizeof dst, "%s", local);
        } else {
            snprintf(src, sizeof src, "%s%s", local, dir ? "/" : "");
            snprintf(dst, sizeof dst, "%s%s", dest, dir ? "/" : "");
        }
    } else {
        av_add(&a, "scp");
        av_add(&a, "-q");
        av_add(&a, "-p");
        av_add(&a, "-r");
        ssh_common(s, &a);
        if (down) {
            snprintf(src, sizeof src, "%s", dest);
            snprintf(dst, sizeof dst, "%s", local);
        } else if (dir) {
            snprintf(src, sizeof src, "%s/.", local);
            snprintf(dst, sizeof dst, "%s", dest);
        } else {
            snprintf(src, sizeof src, "%s", local);
            snprintf(dst, sizeof dst, "%s", dest);
        }
    }
    av_add(&a, src);
    av_add(&a, dst);
    int rc = run_argv(a.v, NULL, 0, out);
    av_free(&a);
    if (out && changed) {
        /* rsync names each file it sent on a line of its own, "><name>" */
        for (size_t i = mark; i < out->len; i++)
            if (out->data[i] == '>' && (i == mark || out->data[i - 1] == '\n') && i + 1 < out->len &&
                out->data[i + 1] != '\n' && !(i + 2 < out->len && out->data[i + 1] == '.' &&
                                               out->data[i + 2] == '/'))
                (*changed)++;
        if (!use_rsync && rc == 0)
            *changed = -1; /* scp: unknown, everything was sent */
    }
    return rc;
}

void launch_ssh_last_line(const struct buf *out, char *line, size_t linelen)
{
    line[0] = '\0';
    if (out == NULL || out->len == 0)
        return;
    size_t end = out->len;
    while (end > 0) {
        while (end > 0 && (out->data[end - 1] == '\n' || out->data[end - 1] == '\r' ||
                           out->data[end - 1] == ' '))
            end--;
        size_t start = end;
        while (start > 0 && out->data[start - 1] != '\n')
            start--;
        if (end > start) {
            size_t n = end - start, o = 0;
            for (size_t i = 0; i < n && o + 1 < linelen; i++) {
                unsigned char ch = (unsigned char)out->data[start + i];
                line[o++] = ch >= 0x20 && ch != 0x7f ? (char)ch : '?';
            }
            line[o] = '\0';
            return;
        }
        end = start;
    }
}

void launch_ssh_init(struct launch_ssh *s, const char *user, const char *key)
{
    memset(s, 0, sizeof *s);
    s->user = user;
    s->key = key;
    s->connect_timeout_s = 5;
    const char *home = getenv("HOME");
    char dir[4000];
    snprintf(dir, sizeof dir, "%s/.ray", home && *home ? home : "/root");
    mkdir(dir, 0700);
    snprintf(s->known_hosts, sizeof s->known_hosts, "%s/known_hosts", dir);
    snprintf(s->control_path, sizeof s->control_path, "%s/ssh", dir);
    mkdir(s->control_path, 0700);
    snprintf(s->control_path, sizeof s->control_path, "%s/ssh/%%C", dir);
    /* a Unix socket path holds ~107 bytes and %C is 40 hex digits (plus
     * ssh's own temporary suffix): with a long $HOME, no shared connection */
    if (strlen(dir) + 5 + 40 + 20 > 104)
        s->control_path[0] = '\0';
}

void launch_ssh_close(const struct launch_ssh *s, const char *host)
{
    if (!s->control_path[0])
        return;
    struct av a = { 0 };
    char dest[512];
    av_add(&a, "ssh");
    ssh_common(s, &a);
    av_add(&a, "-O");
    av_add(&a, "exit");
    ssh_dest(s, host, dest, sizeof dest);
    av_add(&a, dest);
    struct buf out = BUF_INIT;
    run_argv(a.v, NULL, 0, &out); /* "no master running" is fine */
    buf_free(&out);
    av_free(&a);
}
