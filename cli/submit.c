/*
 * submit.c — `ray submit [--address A] JOB.so [-- ARGS...]`: send the job
 * library to the cluster's head node, which stores it in the function table,
 * starts a driver running ray_main(ARGS), and streams back the output of the
 * driver and of every task and actor of the job. Exits with ray_main's
 * return value. Ctrl-C stops the job (a second Ctrl-C leaves at once).
 * When the head's rayd dies, the job's driver carries on and reconnects to
 * the head started again; so does `ray submit` (reattach, below), and the
 * stream resumes (docs/faults.md).
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/joblib.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "session/session.h"
#include "gcs/gcs.h"
#include "gcs/gcs_sync.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBMIT_MAX_LIBRARY (PROTO_MAX_FRAME - (1u << 20))

static volatile sig_atomic_t submit_interrupts;

static void submit_sigint(int sig)
{
    (void)sig;
    submit_interrupts++;
}

/* Read the whole file. Returns 0 or -1 with err. */
static int read_library(const char *path, struct buf *out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > SUBMIT_MAX_LIBRARY) {
        snprintf(err, errlen, "%s: job library of %lld bytes is too big (limit %u)", path,
                 (long long)st.st_size, SUBMIT_MAX_LIBRARY);
        close(fd);
        return -1;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = net_read_some(fd, chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return joblib_check(path, out->data, out->len, err, errlen);
}

/* Connect to the head node of the cluster: its Unix socket when the head
 * runs on this machine, else its TCP port. Returns fd or -1 with err. */
static int connect_head(const struct cli_target *tg, char *token, size_t toklen, char *err,
                        size_t errlen)
{
    struct gcs_sync *gs = cli_gcs_connect(tg, token, toklen, err, errlen);
    if (gs == NULL)
        return -1;
    struct gcs_node *v = NULL;
    size_t n = 0;
    int fd = -1;
    if (gcs_sync_nodes(gs, &v, &n) < 0) {
        snprintf(err, errlen, "cannot read the node table");
        goto out;
    }
    const struct gcs_node *head = NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i].is_head && strcmp(v[i].state, "ALIVE") == 0)
            head = &v[i];
    if (head == NULL) {
        snprintf(err, errlen, "the cluster has no live head node");
        goto out;
    }
    char sock[4096];
    snprintf(sock, sizeof sock, "%s/sockets/raylet.sock", head->session_dir);
    if (access(sock, F_OK) == 0)
        fd = net_connect_unix(sock, err, errlen);
    if (fd < 0)
        fd = net_connect_tcp(head->address, head->port, 5000, err, errlen);
out:
    gcs_node_array_free(v, n);
    gcs_sync_free(gs);
    return fd;
}

/* Wait for one message. Returns 1 (MSG set), 0 on EOF, -1 on a bad stream,
 * 2 when interrupted by a signal. */
static int read_msg(int fd, struct proto_decoder *d, struct proto_msg *m)
{
    for (;;) {
        int rc = proto_decoder_next(d, m);
        if (rc == PROTO_OK)
            return 1;
        if (rc == PROTO_BAD)
            return -1;
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            return 2;
        if (n <= 0)
            return 0;
        proto_decoder_feed(d, chunk, (size_t)n);
    }
}

/* The state of job HEX in the GCS ("" if unknown), into STATE. */
static void job_state(const struct cli_target *tg, const char *hex, char *state, size_t len)
{
    char token[256], err[256];
    state[0] = '\0';
    struct gcs_sync *gs = cli_gcs_connect(tg, token, sizeof token, err, sizeof err);
    if (gs == NULL)
        return;
    struct gcs_job *v = NULL;
    size_t n = 0;
    if (gcs_sync_jobs(gs, &v, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (strcmp(v[i].job_id, hex) == 0)
                snprintf(state, len, "%s", v[i].state);
    for (size_t i = 0; i < n; i++)
        gcs_job_free_fields(&v[i]);
    free(v);
    gcs_sync_free(gs);
}

/*
 * The head closed the connection while job HEX ran: its rayd died. The
 * driver is its own process and reconnects to the head started again
 * (api/client.c), which then takes the job over; reconnect too and send
 * JOB_ATTACH until that head streams the job again (JOB_STARTED), with
 * back-off, for up to $RAY_DRIVER_RECONNECT_MS (60 s). Returns the new
 * connection (*DEC reset for it), or -1 with ERR, or -2 with *RC set when
 * the job turned out to have ended meanwhile.
 */
static int reattach(const struct cli_target *tg, const char *hex, struct proto_decoder *dec,
                    int *rc, char *err, size_t errlen)
{
    const char *env = getenv("RAY_DRIVER_RECONNECT_MS");
    long bound = env && *env ? strtol(env, NULL, 10) : 60000;
    if (bound <= 0)
        bound = 60000;
    fprintf(stderr, "ray submit: lost the connection to the head; the job goes on: "
                    "reconnecting for up to %ld s\n", bound / 1000);
    long long t0 = net_now_ms();
    int backoff = 100;
    snprintf(err, errlen, "no head answered");
    while (net_now_ms() - t0 < bound) {
        usleep((useconds_t)backoff * 1000);
        backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
        char token[256], state[32];
        job_state(tg, hex, state, sizeof state);
        if (strcmp(state, "FINISHED") == 0 || strcmp(state, "FAILED") == 0 ||
            strcmp(state, "STOPPED") == 0) {
            fprintf(stderr, "ray submit: job %s ended (%s) while ray submit was away\n", hex, state);
            *rc = strcmp(state, "FINISHED") == 0 ? 0 : 1;
            return -2;
        }
        int fd = connect_head(tg, token, sizeof token, err, errlen);
        if (fd < 0)
            continue;
        struct buf frame = BUF_INIT, hello = BUF_INIT;
        mpw_map(&hello, 0);
        proto_pack(&frame, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)PROTO_ROLE_CLI, token,
                   (uint64_t)getpid(), hello.data, hello.len);
        proto_pack(&frame, PROTO_JOB_ATTACH, hex);
        int w = net_write_all(fd, frame.data, frame.len);
        buf_free(&frame);
        buf_free(&hello);
        proto_decoder_free(dec);
        proto_decoder_init(dec, PROTO_MAX_FRAME);
        struct proto_msg m;
        int r;
        while (w == 0 && (r = read_msg(fd, dec, &m)) > 0) {
            if (r == 2 || m.type == PROTO_HELLO_OK)
                continue;
            if (m.type == PROTO_JOB_STARTED) {
                fprintf(stderr, "ray submit: reconnected to the head after %.1f s; the job's output "
                                "continues\n", (double)(net_now_ms() - t0) / 1000.0);
                return fd;
            }
            if (m.type == PROTO_ERROR)
                snprintf(err, errlen, "%.*s", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
            break;
        }
        close(fd);
    }
    return -1;
}

int cli_submit(int argc, char **argv)
{
    const char *lib = NULL, *renv_json = NULL, *wdir = NULL;
    struct cli_target tg = { 0 };
    int i = 1;
    if (argc > 1 && cli_is_cluster_yaml(argv[1]))
        return cli_submit_cluster(argc, argv); /* launcher/exec.c: run it on the head */
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        int r = cli_target_option("submit", &tg, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: ray submit [--address HOST:PORT] [--temp-dir DIR] [--token SECRET]\n"
                   "                  [--runtime-env-json JSON] [--working-dir DIR]\n"
                   "                  JOB.so [-- ARGS...]\n\n"
                   "Run the job library's ray_main(ARGS) on the cluster, stream its output and\n"
                   "its tasks' output, and exit with ray_main's return value.\n\n"
                   "Options:\n" CLI_TARGET_HELP
                   "  --runtime-env-json JSON  the job's runtime_env, as in Ray:\n"
                   "                           {\"env_vars\": {\"K\": \"V\"}, \"working_dir\": \"DIR\"}\n"
                   "  --working-dir DIR        pack DIR (100 MiB at most); the job's driver and\n"
                   "                           workers run in a copy of it on every node\n");
            return 0;
        } else if (strcmp(argv[i], "--runtime-env-json") == 0 || strcmp(argv[i], "--working-dir") == 0) {
            if (i + 1 >= argc)
                return cli_error("submit", "%s needs a value", argv[i]);
            if (argv[i][2] == 'r')
                renv_json = argv[++i];
            else
                wdir = argv[++i];
        } else if (argv[i][0] == '-')
            return cli_error("submit", "unknown option %s (see ray submit --help)", argv[i]);
        else if (lib == NULL)
            lib = argv[i];
        else
            break; /* job arguments without "--" */
    }
    if (lib == NULL)
        return cli_error("submit", "which job library? usage: ray submit JOB.so [-- ARGS...]");
    char err[1024], token[256];
    struct buf library = BUF_INIT, frame = BUF_INIT, args = BUF_INIT, opts = BUF_INIT;
    struct proto_decoder dec;
    proto_decoder_init(&dec, PROTO_MAX_FRAME);
    int rc = 1, fd = -1;
    if (read_library(lib, &library, err, sizeof err) < 0) {
        rc = cli_error("submit", "%s", err);
        goto out;
    }
    struct buf renv_opts = BUF_INIT;
    int renv_pairs = 0;
    if (cli_submit_renv(renv_json, wdir, &renv_opts, &renv_pairs, err, sizeof err) < 0) {
        buf_free(&renv_opts);
        rc = cli_error("submit", "%s", err);
        goto out;
    }
    fd = connect_head(&tg, token, sizeof token, err, sizeof err);
    if (fd < 0) {
        rc = cli_error("submit", "%s", err);
        goto out;
    }
    mpw_map(&opts, 1 + (uint32_t)renv_pairs);
    mpw_cstr(&opts, "entrypoint");
    mpw_cstr(&opts, lib);
    buf_append(&opts, renv_opts.data ? renv_opts.data : "", renv_opts.len);
    buf_free(&renv_opts);
    struct buf hello = BUF_INIT;
    mpw_map(&hello, 0);
    proto_pack(&frame, PROTO_HELLO, (uint64_t)PROTO_VERSION, (uint64_t)PROTO_ROLE_CLI, token,
               (uint64_t)getpid(), hello.data, hello.len);
    buf_free(&hello);
    int nargs = argc - i;
    mpw_array(&args, (uint32_t)nargs);
    for (int j = i; j < argc; j++)
        mpw_cstr(&args, argv[j]);
    if (proto_pack(&frame, PROTO_JOB_SUBMIT, library.data, library.len, args.data, args.len,
                   opts.data, opts.len) < 0 ||
        net_write_all(fd, frame.data, frame.len) < 0) {
        rc = cli_error("submit", "cannot send the job: %s", strerror(errno));
        goto out;
    }
    struct sigaction sa = { .sa_handler = submit_sigint };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool stop_sent = false;
    long long first_interrupt = 0;
    char job_hex[16] = "";
    for (;;) {
        /* one Ctrl-C can arrive twice (to the CLI and again through its
         * process group, e.g. under timeout(1)): a second one counts only
         * when it comes a moment later */
        if (submit_interrupts >= 2 && net_now_ms() - first_interrupt < 300)
            submit_interrupts = 1;
        if (submit_interrupts >= 2) {
            fprintf(stderr, "ray submit: interrupted\n");
            rc = 130;
            break;
        }
        if (submit_interrupts == 1 && !stop_sent) {
            first_interrupt = net_now_ms();
            fprintf(stderr, "ray submit: stopping the job (Ctrl-C again to leave now)\n");
            buf_reset(&frame);
            proto_pack(&frame, PROTO_JOB_STOP, "");
            net_write_all(fd, frame.data, frame.len);
            stop_sent = true;
        }
        struct proto_msg m;
        int r = read_msg(fd, &dec, &m);
        if (r == 2)
            continue;
        if (r == 0 && job_hex[0] && !stop_sent) {
            close(fd);
            fd = reattach(&tg, job_hex, &dec, &rc, err, sizeof err);
            if (fd == -2) {
                fd = -1;
                break;
            }
            if (fd >= 0)
                continue;
            rc = cli_error("submit", "the node closed the connection, and no head took job %s "
                           "back: %s", job_hex, err);
            break;
        }
        if (r == 0) {
            rc = cli_error("submit", "the node closed the connection");
            break;
        }
        if (r < 0) {
            rc = cli_error("submit", "bad message from the node: %s", dec.errstr);
            break;
        }
        if (m.type == PROTO_JOB_STARTED && m.f[0].as.s.len < sizeof job_hex)
            snprintf(job_hex, sizeof job_hex, "%.*s", (int)m.f[0].as.s.len, m.f[0].as.s.ptr);
        if (m.type == PROTO_HELLO_OK || m.type == PROTO_JOB_STARTED)
            continue;
        if (m.type == PROTO_JOB_LOG) {
            FILE *fp = m.f[0].as.u == 2 ? stderr : stdout;
            fwrite(m.f[1].as.s.ptr, 1, m.f[1].as.s.len, fp);
            fputc('\n', fp);
            fflush(fp);
            continue;
        }
        if (m.type == PROTO_JOB_EXIT) {
            rc = (int)m.f[0].as.i;
            if (m.f[1].as.s.len)
                fprintf(stderr, "ray submit: %.*s\n", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
            break;
        }
        if (m.type == PROTO_ERROR) {
            rc = cli_error("submit", "%.*s", (int)m.f[1].as.s.len, m.f[1].as.s.ptr);
            break;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    proto_decoder_free(&dec);
    buf_free(&library);
    buf_free(&frame);
    buf_free(&args);
    buf_free(&opts);
    return rc;
}
