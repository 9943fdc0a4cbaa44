/*
 * job.c — `ray job submit|list|status|logs|stop`: the dashboard's job API
 * (SPEC section 11) from the command line, over HTTP with the cluster
 * token as a Bearer header. `submit` uploads the library as
 * multipart/form-data, then (without --no-wait) prints the job's output as
 * it grows and exits with the job's status, as `ray submit` does.
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/joblib.h"
#include "common/http.h"
#include "common/json.h"
#include "common/netutil.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "session/session.h"
#include "common/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOB_MAX_RESP (64u << 20)
#define JOB_TIMEOUT_MS 30000
#define JOB_POLL_MS 300
/* what the dashboard takes (daemon/dashboard.c DASH_MAX_BODY), less room
 * for the form around the library */
#define JOB_MAX_LIBRARY ((63u << 20) - (64u << 10))

struct jobctx {
    char host[256];
    int port;
    char token[256];
    bool https;
    const char *ca;   /* https: the CA file (--tls-ca / $RAY_TLS_CA) */
};

static void job_usage(FILE *fp)
{
    fprintf(fp,
            "usage: ray job submit [--no-wait] [--runtime-env-json JSON] JOB.so [-- ARGS...]\n"
            "       ray job list\n"
            "       ray job status JOB\n"
            "       ray job logs [--follow] [--err] JOB\n"
            "       ray job stop JOB\n\n"
            "Jobs through the dashboard's job API. JOB is a job ID (8 hex digits) or a\n"
            "submission ID (raysubmit_...).\n\n"
            "Options (every subcommand):\n"
            "  --address http://HOST:PORT  the dashboard, or https:// (default: $RAY_ADDRESS if\n"
            "                       it is an http(s):// address, else the head started on this machine\n"
            "                       under --temp-dir, else http://127.0.0.1:8265)\n"
            "  --temp-dir DIR       where this machine's sessions are [default /tmp/ray]\n"
            "  --tls-ca FILE        an https:// dashboard's CA (default: $RAY_TLS_CA)\n"
            "  --token SECRET       the cluster token (default: $RAY_TOKEN, else\n"
            "                       ~/.ray/auth_token, else the local head's)\n");
}

/* One request; prints the one-line error itself. Returns the HTTP status
 * (200.. with RESP filled) or -1. */
static int job_http(const struct jobctx *c, const char *sub, const char *method, const char *path,
                    const char *ctype, const void *body, size_t len, struct buf *resp)
{
    char err[512];
    int st = c->https ? tls_http_request(c->host, c->port, c->ca, method, path, c->token, ctype,
                                         body, len, JOB_MAX_RESP, JOB_TIMEOUT_MS, resp, err,
                                         sizeof err)
                      : http_request(c->host, c->port, method, path, c->token, ctype, body, len,
                                     JOB_MAX_RESP, JOB_TIMEOUT_MS, resp, err, sizeof err);
    if (st < 0) {
        cli_error("job", "%s: %s (is the dashboard at %s://%s:%d?)", sub, err,
                  c->https ? "https" : "http", c->host, c->port);
        return -1;
    }
    if (st == 401) {
        cli_error("job", "%s: the dashboard refused the token (401): give the cluster's with "
                         "--token or $RAY_TOKEN", sub);
        return -1;
    }
    if (st != 200) {
        const char *v;
        size_t vl;
        char msg[1024] = "";
        if (resp->data && json_member(resp->data, resp->len, "error", &v, &vl) == 0)
            json_string(v, vl, msg, sizeof msg);
        cli_error("job", "%s: %s (HTTP %d)", sub, msg[0] ? msg : "request failed", st);
        return -1;
    }
    return st;
}

/* The string member KEY of the JSON object S into OUT ("" if absent/not a string). */
static void member_str(const struct buf *s, const char *key, char *out, size_t outlen)
{
    const char *v;
    size_t vl;
    out[0] = '\0';
    if (s->data && json_member(s->data, s->len, key, &v, &vl) == 0 && vl > 0 && v[0] == '"')
        json_string(v, vl, out, outlen);
    else if (s->data && json_member(s->data, s->len, key, &v, &vl) == 0 && vl < outlen &&
             v[0] != '"')
        snprintf(out, outlen, "%.*s", (int)vl, v);
}

static int read_file(const char *path, struct buf *out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > JOB_MAX_LIBRARY) {
        snprintf(err, errlen, "%s: job library of %lld bytes is too big (limit %u)", path,
                 (long long)st.st_size, JOB_MAX_LIBRARY);
        close(fd);
        return -1;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = net_read_some(fd, chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    close(fd);
    return joblib_check(path, out->data ? out->data : "", out->len, err, errlen);
}

static volatile sig_atomic_t job_interrupted;
static void job_sigint(int sig)
{
    (void)sig;
    job_interrupted = 1;
}

/* Print the job's output from *OFFSET on; advance *OFFSET. Returns 0 or -1. */
static int print_new_logs(const struct jobctx *c, const char *id, bool err, long long *offset)
{
    char path[256];
    snprintf(path, sizeof path, "/api/jobs/%s/logs?offset=%lld%s", id, *offset,
             err ? "&err=1" : "");
    struct buf r = BUF_INIT;
    if (job_http(c, "logs", "GET", path, NULL, NULL, 0, &r) < 0) {
        buf_free(&r);
        return -1;
    }
    const char *v;
    size_t vl;
    if (json_member(r.data, r.len, "logs", &v, &vl) == 0) {
        char *text = xmalloc(vl + 1);
        long l = json_string(v, vl, text, vl + 1);
        if (l > 0) {
            fwrite(text, 1, (size_t)l, stdout);
            fflush(stdout);
        }
        free(text);
    }
    char off[32];
    member_str(&r, "offset", off, sizeof off);
    if (off[0])
        *offset = strtoll(off, NULL, 10);
    buf_free(&r);
    return 0;
}

/* Status of job ID into STATUS (and its exit code). Returns 0 or -1. */
static int job_state(const struct jobctx *c, const char *id, char *status, size_t slen,
                     int *code, char *msg, size_t msglen)
{
    char path[256];
    snprintf(path, sizeof path, "/api/jobs/%s", id);
    struct buf r = BUF_INIT;
    if (job_http(c, "status", "GET", path, NULL, NULL, 0, &r) < 0) {
        buf_free(&r);
        return -1;
    }
    char ec[32];
    member_str(&r, "status", status, slen);
    member_str(&r, "exit_code", ec, sizeof ec);
    if (msg)
        member_str(&r, "message", msg, msglen);
    *code = strcmp(ec, "null") == 0 || !ec[0] ? -1 : atoi(ec);
    buf_free(&r);
    return 0;
}

static bool terminal(const char *st)
{
    return strcmp(st, "SUCCEEDED") == 0 || strcmp(st, "FAILED") == 0 ||
           strcmp(st, "STOPPED") == 0;
}

/* Follow job ID's output until it ends. Returns the exit status for the CLI. */
static int follow(const struct jobctx *c, const char *id, bool err, bool quiet_end)
{
    long long offset = 0;
    char st[32] = "", msg[512] = "";
    int code = -1;
    struct sigaction sa = { .sa_handler = job_sigint };
    sigaction(SIGINT, &sa, NULL);
    for (;;) {
        if (job_state(c, id, st, sizeof st, &code, msg, sizeof msg) < 0)
            return 1;
        if (print_new_logs(c, id, err, &offset) < 0)
            return 1;
        if (terminal(st))
            break;
        if (job_interrupted) {
            fprintf(stderr, "ray job: stopped following job %s (it keeps running; "
                            "ray job stop %s stops it)\n", id, id);
            return 130;
        }
        struct timespec ts = { 0, JOB_POLL_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
    print_new_logs(c, id, err, &offset); /* the last lines */
    if (!quiet_end)
        fprintf(stderr, "ray job: job %s %s%s%s\n", id,
                strcmp(st, "SUCCEEDED") == 0 ? "succeeded" : strcmp(st, "STOPPED") == 0 ? "was stopped" : "failed",
                msg[0] ? ": " : "", msg);
    if (strcmp(st, "SUCCEEDED") == 0)
        return 0;
    return code > 0 ? code : 1;
}

static int job_submit(struct jobctx *c, int argc, char **argv, int i)
{
    bool wait = true;
    const char *renv = NULL, *lib = NULL;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--no-wait") == 0)
            wait = false;
        else if (strcmp(argv[i], "--runtime-env-json") == 0 && i + 1 < argc)
            renv = argv[++i];
        else if (argv[i][0] == '-')
            return cli_error("job", "submit: unknown option %s (see ray job --help)", argv[i]);
        else if (lib == NULL)
            lib = argv[i];
        else
            break;
    }
    if (lib == NULL)
        return cli_error("job", "submit: which job library? ray job submit JOB.so [-- ARGS]");
    if (renv && !json_valid(renv, strlen(renv)))
        return cli_error("job", "submit: --runtime-env-json is not JSON");
    char err[1024];
    struct buf image = BUF_INIT, body = BUF_INIT, resp = BUF_INIT;
    int rc = 1;
    if (read_file(lib, &image, err, sizeof err) < 0) {
        rc = cli_error("job", "submit: %s", err);
        goto out;
    }
    char boundary[64];
    snprintf(boundary, sizeof boundary, "----rayjob%lld%d", net_wall_ms(), (int)getpid());
    const char *base = strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib;
    buf_printf(&body, "--%s\r\nContent-Disposition: form-data; name=\"library\"; filename=\"",
               boundary);
    for (const char *p = base; *p; p++)
        buf_append(&body, *p == '"' || (unsigned char)*p < 0x20 ? "_" : p, 1);
    buf_printf(&body, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    buf_append(&body, image.data, image.len);
    buf_printf(&body, "\r\n--%s\r\nContent-Disposition: form-data; name=\"args\"\r\n\r\n[", boundary);
    for (int j = i; j < argc; j++) {
        if (j > i)
            buf_append(&body, ",", 1);
        json_put_str(&body, argv[j]);
    }
    buf_printf(&body, "]\r\n--%s\r\nContent-Disposition: form-data; name=\"entrypoint\"\r\n\r\n%s",
               boundary, lib);
    if (renv)
        buf_printf(&body, "\r\n--%s\r\nContent-Disposition: form-data; name=\"runtime_env\"\r\n\r\n%s",
                   boundary, renv);
    buf_printf(&body, "\r\n--%s--\r\n", boundary);
    char ctype[128];
    snprintf(ctype, sizeof ctype, "multipart/form-data; boundary=%s", boundary);
    if (job_http(c, "submit", "POST", "/api/jobs/", ctype, body.data, body.len, &resp) < 0)
        goto out;
    char job_id[64], sub_id[64];
    member_str(&resp, "job_id", job_id, sizeof job_id);
    member_str(&resp, "submission_id", sub_id, sizeof sub_id);
    fprintf(stderr, "ray job: job %s submitted (submission %s)\n", job_id, sub_id);
    if (!wait) {
        printf("%s\n", job_id);
        rc = 0;
        goto out;
    }
    rc = follow(c, job_id, false, false);
out:
    buf_free(&image);
    buf_free(&body);
    buf_free(&resp);
    return rc;
}

int cli_job(int argc, char **argv)
{
    struct jobctx c = { .port = 8265 };
    signal(SIGPIPE, SIG_IGN); /* a dashboard that closes early is an error line, not a kill */
    snprintf(c.host, sizeof c.host, "127.0.0.1");
    const char *address = NULL, *token = NULL, *sub = NULL, *temp_dir = NULL, *ca = NULL;
    int i = 1;
    /* options may come before the subcommand too */
    char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (; i < argc; i++)
                rest[nrest++] = argv[i];
            break;
        }
        if ((strcmp(argv[i], "--address") == 0 || strcmp(argv[i], "--token") == 0 ||
             strcmp(argv[i], "--temp-dir") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'a')
                address = argv[++i];
            else if (argv[i][2] == 't' && argv[i][3] == 'o')
                token = argv[++i];
            else
                temp_dir = argv[++i];
        } else if (strcmp(argv[i], "--tls-ca") == 0 && i + 1 < argc) {
            ca = argv[++i];
        } else if (strncmp(argv[i], "--address=", 10) == 0) {
            address = argv[i] + 10;
        } else if (strncmp(argv[i], "--token=", 8) == 0) {
            token = argv[i] + 8;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            job_usage(stdout);
            free(rest);
            return 0;
        } else if (sub == NULL && argv[i][0] != '-') {
            sub = argv[i];
        } else {
            rest[nrest++] = argv[i];
        }
    }
    int rc = 1;
    if (sub == NULL) {
        job_usage(stderr);
        rc = 2;
        goto out;
    }
    if (address == NULL) {
        const char *env = getenv("RAY_ADDRESS");
        if (env && (strncmp(env, "http://", 7) == 0 || strncmp(env, "https://", 8) == 0))
            address = env;
    }
    /* else the dashboard of the head started on this machine, if any */
    char latest[4096], url[512] = "";
    snprintf(latest, sizeof latest, "%s/session_latest", temp_dir ? temp_dir : "/tmp/ray");
    if (address == NULL && session_info_get(latest, "dashboard_url", url, sizeof url) == 0 &&
        url[0])
        address = url;
    if (address && http_parse_url(address, 8265, c.host, sizeof c.host, &c.port, &c.https) < 0) {
        rc = cli_error("job", "--address must be http://HOST:PORT or https://HOST:PORT, not '%s'",
                       address);
        goto out;
    }
    c.ca = ca ? ca : getenv("RAY_TLS_CA");
    if (c.https && (c.ca == NULL || !*c.ca)) {
        rc = cli_error("job", "the dashboard at %s is HTTPS: give its CA with --tls-ca FILE "
                              "(or $RAY_TLS_CA)", address);
        goto out;
    }
    struct token_where w = { .given = token, .fallback_dir = latest };
    if (token_find(&w, c.token, sizeof c.token) < 0) {
        rc = cli_error("job", "no cluster token: give it with --token or $RAY_TOKEN");
        goto out;
    }
    if (strcmp(sub, "submit") == 0) {
        rc = job_submit(&c, nrest, rest, 1);
        goto out;
    }
    if (strcmp(sub, "list") == 0) {
        struct buf r = BUF_INIT;
        if (job_http(&c, "list", "GET", "/api/jobs/", NULL, NULL, 0, &r) == 200) {
            fwrite(r.data, 1, r.len, stdout);
            rc = 0;
        }
        buf_free(&r);
        goto out;
    }
    bool err = false, follow_logs = false;
    const char *id = NULL;
    for (int k = 1; k < nrest; k++) {
        if (strcmp(rest[k], "--err") == 0)
            err = true;
        else if (strcmp(rest[k], "--follow") == 0 || strcmp(rest[k], "-f") == 0)
            follow_logs = true;
        else if (rest[k][0] == '-') {
            rc = cli_error("job", "%s: unknown option %s", sub, rest[k]);
            goto out;
        } else if (id == NULL)
            id = rest[k];
    }
    if (id == NULL || strlen(id) > 40 || strspn(id, "0123456789abcdefraysubmit_") != strlen(id)) {
        rc = cli_error("job", "%s: which job? give a job ID or submission ID", sub);
        goto out;
    }
    if (strcmp(sub, "status") == 0) {
        char st[32], msg[512];
        int code;
        if (job_state(&c, id, st, sizeof st, &code, msg, sizeof msg) == 0) {
            printf("%s%s%s\n", st, msg[0] ? ": " : "", msg);
            rc = 0;
        }
    } else if (strcmp(sub, "logs") == 0) {
        if (follow_logs) {
            rc = follow(&c, id, err, true);
            if (rc != 130 && rc != 1)
                rc = 0;
        } else {
            long long off = 0;
            rc = print_new_logs(&c, id, err, &off) == 0 ? 0 : 1;
        }
    } else if (strcmp(sub, "stop") == 0) {
        char path[128];
        snprintf(path, sizeof path, "/api/jobs/%s/stop", id);
        struct buf r = BUF_INIT;
        if (job_http(&c, "stop", "POST", path, NULL, NULL, 0, &r) == 200) {
            char stopped[16];
            member_str(&r, "stopped", stopped, sizeof stopped);
            printf("%s\n", strcmp(stopped, "true") == 0 ? "stop requested" : "not running");
            rc = 0;
        }
        buf_free(&r);
    } else {
        rc = cli_error("job", "unknown subcommand '%s' (submit, list, status, logs, stop)", sub);
    }
out:
    free(rest);
    return rc;
}
