/*
 * fuzz_node.c — stateful libFuzzer target over the node's message handlers
 * (issue 10; see docs/fuzzing.md).
 *
 * One in-process head node is made once: a real event loop, a real object
 * store in /dev/shm, the real server, runtime and handlers, and a real
 * redis-server (started here, on a free port, in a temporary directory) as
 * its GCS. Its worker pool is capped at zero processes and the binary it
 * would exec for drivers is /bin/true, so nothing the input asks for ever
 * runs user code: tasks and actors queue, a submitted job's driver exits at
 * once.
 *
 * Each input is a little program of operations over up to three
 * connections to the node's Unix socket (see run_input): open a
 * connection and say HELLO (role from the input, the right or a wrong
 * token), send a frame of any message type with fields made from the input
 * (IDs drawn from a small pool so that later frames name earlier objects,
 * tasks and actors; 'v' fields built from a grammar of spec-like maps),
 * send raw bytes, turn the loop, or close a connection. After the program
 * the loop runs until the node is quiet and every connection is closed, so
 * the state each input leaves behind is the next input's starting point,
 * as on a long-lived node. A crash or sanitizer report is a bug in a
 * handler.
 */
#include "common/ids.h"
#include "common/log.h"
#include "common/netutil.h"
#include "common/proto.h"
#include "session/config.h"
#include "daemon/node.h"
#include "runtime/runtime.h"
#include "daemon/server.h"
#include "session/session.h"
#include "gcs/gcs.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "fuzz-node-token-0123456789abcdef"
#define MAX_CONNS 3
#define NIDS 8

static struct rayd_config cfg;
static struct node node_, *n = &node_;
static char tmpdir[] = "/tmp/fuzz_node.XXXXXX";
static pid_t redis_pid = -1;

static void stop_redis(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
    }
    if (n->store)
        objstore_free(n->store);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_node: could not remove %s\n", tmpdir);
}

static int start_redis(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    int port = ntohs(sa.sin_port);
    close(fd);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    redis_pid = fork();
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--dir",
               tmpdir, "--save", "", "--appendonly", "no", "--requirepass", TOKEN, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) { /* up within 5 s */
        int s = socket(AF_INET, SOCK_STREAM, 0);
        sa.sin_port = htons((uint16_t)port);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(s);
            return port;
        }
        close(s);
        usleep(50000);
    }
    return -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    if (mkdtemp(tmpdir) == NULL) {
        perror("fuzz_node: mkdtemp");
        exit(1);
    }
    int port = start_redis();
    atexit(stop_redis);
    if (port < 0) {
        fprintf(stderr, "fuzz_node: cannot start redis-server\n");
        exit(1);
    }
    log_level_active = LOG_LEVEL_ERROR; /* the handlers' complaints are expected */
    config_init(&cfg);
    cfg.head = true;
    n->cfg = &cfg;
    n->is_head = true;
    n->redis.pid = -1;
    n->ready_fd = -1;
    n->start_ms = net_now_ms();
    n->base = event_base_new();
    if ((n->session_dir = session_create(tmpdir, err, sizeof err)) == NULL) {
        fprintf(stderr, "fuzz_node: %s\n", err);
        exit(1);
    }
    session_set_self_exe("/bin/true"); /* drivers and workers exit at once */
    ids_random(n->id, sizeof n->id);
    ids_hex(n->id, sizeof n->id, n->hex);
    snprintf(n->ip, sizeof n->ip, "127.0.0.1");
    snprintf(n->token, sizeof n->token, "%s", TOKEN);
    snprintf(n->gcs_host, sizeof n->gcs_host, "127.0.0.1");
    n->gcs_port = port;
    snprintf(n->gcs_password, sizeof n->gcs_password, "%s", TOKEN);
    n->gcs = gcs_client_new(n->base, n->gcs_host, port, TOKEN, "fuzz");
    n->srv = server_new(n->base, n->token);
    snprintf(n->sock_path, sizeof n->sock_path, "%s/sockets/raylet.sock", n->session_dir);
    if (server_listen_unix(n->srv, n->sock_path, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_node: %s\n", err);
        exit(1);
    }
    n->store_size = 64u << 20;
    res_init(&n->total);
    res_parse(&n->total, "CPU=2,GPU=1,memory=1073741824,object_store_memory=67108864,"
                         "node:127.0.0.1=1,custom=4", err, sizeof err);
    res_copy(&n->avail, &n->total);
    snprintf(n->store_name, sizeof n->store_name, "/rayd-fuzz-%d-store", (int)getpid());
    char spill[600];
    snprintf(spill, sizeof spill, "%s/spill", n->session_dir);
    n->store = objstore_new(n->store_name, n->store_size, spill, err, sizeof err);
    if (n->store == NULL) {
        fprintf(stderr, "fuzz_node: %s\n", err);
        exit(1);
    }
    n->rejoin_fn = node_rejoin;
    n->check_node = heartbeat_check_node;
    n->rt = runtime_new(n);
    runtime_set_worker_cap(n->rt, 0); /* nothing the input asks for runs */
    n->registered = true;
    /* let the GCS connection come up */
    for (int i = 0; i < 50 && !gcs_client_connected(n->gcs); i++) {
        event_base_loop(n->base, EVLOOP_NONBLOCK);
        usleep(10000);
    }
    return 0;
}

/* ---- the input, read as a program ----------------------------------------- */

struct input {
    const uint8_t *p, *end;
};

static unsigned take(struct input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static uint64_t take_n(struct input *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | take(in);
    return v;
}

static uint8_t ids[NIDS][IDS_SIZE];

/* An ID: mostly from the pool (so frames name each other), sometimes new. */
static const uint8_t *take_id(struct input *in)
{
    unsigned c = take(in);
    uint8_t *id = ids[c % NIDS];
    if (c >= 0xe0) {
        for (int i = 0; i < IDS_SIZE; i++)
            id[i] = (uint8_t)take(in);
    } else if (c >= 0xc0) {
        /* the same task's return (as ray_call makes them) */
        memcpy(id, ids[(c + 1) % NIDS], IDS_SIZE);
        ids_with_index(id, ids[(c + 1) % NIDS], take(in) % 4);
    }
    return id;
}

static const char *const keys[] = {
    "id", "fn", "args", "nret", "actor", "res", "cpu", "gpu", "mem", "retries", "max_restarts",
    "max_conc", "detached", "name", "reqid", "kind", "retry_err", "caller", "seq", "job",
    "namespace", "pid", "worker_id", "store_id", "library", "node_id", "share",
};
static const char *const strs[] = {
    "add", "counter", "incr", "actor_new", "actor_call", "CPU=1", "GPU=1", "custom=2",
    "CPU=100", "foo=abc", "", "node:127.0.0.1=1", "memory=1", "x", "actor_free",
};

static void take_value(struct input *in, struct buf *b, int depth);

static void take_map(struct input *in, struct buf *b, int depth)
{
    uint32_t cnt = take(in) % 8;
    mpw_map(b, cnt);
    for (uint32_t i = 0; i < cnt; i++) {
        unsigned k = take(in);
        if (k < 0xf0)
            mpw_cstr(b, keys[k % (sizeof keys / sizeof keys[0])]);
        else
            take_value(in, b, depth + 1); /* a key that is not a string */
        unsigned kind = take(in);
        if (kind < 0x40) { /* the value a key wants, mostly */
            const char *key = keys[k % (sizeof keys / sizeof keys[0])];
            if (!strcmp(key, "id") || !strcmp(key, "actor") || !strcmp(key, "caller") ||
                !strcmp(key, "worker_id") || !strcmp(key, "node_id"))
                mpw_bin(b, take_id(in), IDS_SIZE);
            else
                take_value(in, b, depth + 1);
        } else {
            take_value(in, b, depth + 1);
        }
    }
}

static void take_value(struct input *in, struct buf *b, int depth)
{
    unsigned t = take(in);
    if (depth > 4)
        t %= 6;
    switch (t % 12) {
    case 0:
        mpw_uint(b, take_n(in, 1 + take(in) % 8));
        break;
    case 1:
        mpw_int(b, -(int64_t)take_n(in, 1 + take(in) % 8));
        break;
    case 2:
        mpw_cstr(b, strs[take(in) % (sizeof strs / sizeof strs[0])]);
        break;
    case 3:
        mpw_bin(b, take_id(in), IDS_SIZE);
        break;
    case 4:
        mpw_nil(b);
        break;
    case 5: {
        double d;
        uint64_t u = take_n(in, 8);
        memcpy(&d, &u, sizeof d);
        mpw_double(b, d);
        break;
    }
    case 6:
    case 7:
        take_map(in, b, depth);
        break;
    case 8: { /* an argument list: values and object references */
        uint32_t cnt = take(in) % 6;
        mpw_array(b, cnt);
        for (uint32_t i = 0; i < cnt; i++)
            take_value(in, b, depth + 1);
        break;
    }
    case 9: { /* an ext: a reference (type 1) to a pool ID, or other */
        unsigned et = take(in);
        const uint8_t *id = take_id(in);
        uint8_t hdr[3] = { 0xc7 /* ext 8 */, IDS_SIZE, (uint8_t)(et < 0xe0 ? 1 : et) };
        buf_append(b, hdr, 3);
        buf_append(b, id, IDS_SIZE);
        break;
    }
    case 10:
        mpw_bool(b, take(in) & 1);
        break;
    default: {
        size_t len = take(in) % 64;
        char s[64];
        for (size_t i = 0; i < len; i++)
            s[i] = (char)take(in);
        mpw_str(b, s, len);
        break;
    }
    }
}

static uint32_t types[256];
static int ntypes;

static void collect_type(uint32_t type, const char *name, const char *fmt, void *arg)
{
    (void)name;
    (void)fmt;
    (void)arg;
    if (ntypes < 256)
        types[ntypes++] = type;
}

/* A frame of a type chosen by the input, fields made from it. */
static void take_frame(struct input *in, struct buf *out)
{
    uint32_t type = types[take(in) % ntypes];
    const char *fmt = proto_format(type);
    struct proto_msg m = { .type = type };
    struct buf vals[PROTO_MAX_FIELDS];
    char strbuf[PROTO_MAX_FIELDS][64];
    for (int i = 0; fmt[i] && i < PROTO_MAX_FIELDS; i++) {
        struct proto_field *f = &m.f[m.nfields++];
        f->kind = fmt[i];
        vals[i] = (struct buf)BUF_INIT;
        switch (fmt[i]) {
        case 'u':
            f->as.u = take(in) < 0xf0 ? take(in) % 16 : take_n(in, 8);
            break;
        case 'i':
            f->as.i = take(in) < 0xf0 ? (int64_t)(take(in) % 16) - 4 : (int64_t)take_n(in, 8);
            break;
        case 'd': {
            uint64_t u = take_n(in, 8);
            memcpy(&f->as.d, &u, sizeof f->as.d);
            break;
        }
        case 'b':
            f->as.b = take(in) & 1;
            break;
        case 's': {
            unsigned c = take(in);
            if (c < 0x80) {
                const char *s = strs[c % (sizeof strs / sizeof strs[0])];
                f->as.s.ptr = s;
                f->as.s.len = strlen(s);
            } else {
                size_t len = take(in) % sizeof strbuf[i];
                for (size_t k = 0; k < len; k++)
                    strbuf[i][k] = (char)take(in);
                f->as.s.ptr = strbuf[i];
                f->as.s.len = len;
            }
            break;
        }
        case 'y': {
            size_t len = take(in) < 0xf0 ? take(in) % 48 : take_n(in, 2) % 100000;
            for (size_t k = 0; k < len; k++) {
                uint8_t c = (uint8_t)(in->p < in->end ? *in->p : k);
                in->p += in->p < in->end;
                buf_append(&vals[i], &c, 1);
            }
            f->as.s.ptr = vals[i].data ? vals[i].data : "";
            f->as.s.len = vals[i].len;
            break;
        }
        case 'I':
            f->as.s.ptr = (const char *)take_id(in);
            f->as.s.len = IDS_SIZE;
            break;
        case 'v':
            take_value(in, &vals[i], 0);
            f->as.s.ptr = vals[i].data;
            f->as.s.len = vals[i].len;
            break;
        }
    }
    proto_pack_msg(out, &m); /* may refuse (too big): then nothing is sent */
    for (int i = 0; i < m.nfields; i++)
        if (fmt[i] == 'y' || fmt[i] == 'v')
            buf_free(&vals[i]);
}

static int conns[MAX_CONNS] = { -1, -1, -1 };

/* Read and drop what the node sent us (so that it never blocks on us). */
static void drain(void)
{
    char sink[65536];
    for (int i = 0; i < MAX_CONNS; i++)
        while (conns[i] >= 0 && recv(conns[i], sink, sizeof sink, MSG_DONTWAIT) > 0) {
        }
}

static void turn(int times)
{
    for (int i = 0; i < times; i++) {
        event_base_loop(n->base, EVLOOP_NONBLOCK);
        drain();
    }
}

static void send_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len > 0) {
        ssize_t w = send(fd, c, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0) {
            turn(1); /* the node reads, then we try again (or give up: closed) */
            w = send(fd, c, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w <= 0)
                return;
        }
        c += w;
        len -= (size_t)w;
    }
}

static void open_conn(struct input *in, int slot)
{
    if (conns[slot] >= 0)
        close(conns[slot]);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", n->sock_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        conns[slot] = -1;
        return;
    }
    conns[slot] = fd;
    unsigned how = take(in);
    struct buf b = BUF_INIT;
    struct buf info = BUF_INIT;
    take_value(in, &info, 1);
    uint64_t role = 1 + how % 4;                        /* worker, driver, cli, node */
    const char *token = how >= 0xf8 ? "wrong" : TOKEN; /* now and then, the wrong one */
    uint64_t version = how == 0xf7 ? 99 : PROTO_VERSION;
    proto_pack(&b, PROTO_HELLO, version, role, token, (uint64_t)getpid(), info.data, info.len);
    send_all(fd, b.data, b.len);
    buf_free(&b);
    buf_free(&info);
}

static void run_input(const uint8_t *data, size_t size)
{
    struct input in = { data, data + size };
    struct buf b = BUF_INIT;
    open_conn(&in, 0);
    int ops = 0;
    while (in.p < in.end && ops++ < 64) {
        unsigned op = take(&in);
        int slot = (int)(op >> 6) % MAX_CONNS;
        switch (op & 7) {
        case 0:
        case 1:
        case 2: /* a frame, the most common thing a peer sends */
            if (conns[slot] < 0)
                break;
            buf_reset(&b);
            take_frame(&in, &b);
            send_all(conns[slot], b.data, b.len);
            break;
        case 3: /* raw bytes (a torn frame, garbage) */
            if (conns[slot] >= 0) {
                size_t len = take(&in) % 32;
                if (len > (size_t)(in.end - in.p))
                    len = (size_t)(in.end - in.p);
                send_all(conns[slot], in.p, len);
                in.p += len;
            }
            break;
        case 4:
            turn(1 + take(&in) % 4);
            break;
        case 5:
            open_conn(&in, slot);
            break;
        case 6:
            if (conns[slot] >= 0) {
                close(conns[slot]);
                conns[slot] = -1;
            }
            break;
        default: /* a frame cut in the middle, then the rest later */
            if (conns[slot] >= 0) {
                buf_reset(&b);
                take_frame(&in, &b);
                size_t cut = b.len ? take(&in) % b.len : 0;
                send_all(conns[slot], b.data, cut);
                turn(1);
                send_all(conns[slot], b.data + cut, b.len - cut);
            }
            break;
        }
    }
    buf_free(&b);
    turn(4);
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i] >= 0) {
            close(conns[i]);
            conns[i] = -1;
        }
    /* the node notices the closes and settles (GCS replies included) */
    for (int i = 0; i < 3; i++) {
        struct timeval tv = { 0, 2000 };
        event_base_loopexit(n->base, &tv);
        event_base_dispatch(n->base);
    }
}

/* FUZZ_NODE_STATS=N: every N inputs, what the node holds (to tell state
 * that grows without bound from the sanitizer's quarantine). */
static void stats(void)
{
    static long runs, every = -1;
    if (every < 0) {
        const char *e = getenv("FUZZ_NODE_STATS");
        every = e ? atol(e) : 0;
    }
    if (every <= 0 || ++runs % every != 0)
        return;
    struct runtime_stats rs;
    runtime_stats(n->rt, &rs);
    fprintf(stderr,
            "fuzz_node: %ld inputs: %zu jobs, %zu clients, %zu tasks, %zu actors, %zu waiters, "
            "%d workers, %lld queued, %lld waiting\n",
            runs, rs.jobs, rs.clients, rs.tasks, rs.actors, rs.waiters, rs.workers, rs.queued,
            rs.waiting);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ntypes == 0)
        proto_foreach(collect_type, NULL);
    run_input(data, size);
    stats();
    return 0;
}
