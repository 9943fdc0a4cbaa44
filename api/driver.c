/*
 * driver.c — becoming a driver: api_driver_main (`rayd --driver`, started by
 * the node for `ray submit`), and ray_init / ray_shutdown for standalone
 * programs that link -lray.
 *
 * ray_init finds its node as docs/runtime.md says: an address "unix:PATH"
 * is a node's socket; any other address is the GCS "host:port", whose node
 * table names the nodes (one whose session directory exists here is reached
 * through its Unix socket, else the head's, or any live node's, TCP port);
 * no address (and no $RAY_ADDRESS) means the node started on this machine,
 * found through /tmp/ray/session_latest/node.info.
 */
#include "api/api.h"
#include "api/api_internal.h"

#include "common/ids.h"
#include "common/netutil.h"
#include "common/token.h"
#include "gcs/gcs_sync.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_NODE_INFO_DEFAULT "/tmp/ray/session_latest/node.info"
#define API_GCS_TIMEOUT_MS 5000

static pthread_mutex_t life_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- node.info ---------------------------------------------------------------- */

struct node_info {
    char socket[512];
    char session_dir[1024];
    char node_ip[64];
    int node_port;
};

/* Read the key=value lines of PATH. Returns 0, or -1 (errno) if unreadable. */
static int node_info_read(const char *path, struct node_info *ni)
{
    char line[2048];
    memset(ni, 0, sizeof *ni);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "socket") == 0)
            snprintf(ni->socket, sizeof ni->socket, "%s", v);
        else if (strcmp(k, "session_dir") == 0)
            snprintf(ni->session_dir, sizeof ni->session_dir, "%s", v);
        else if (strcmp(k, "node_ip") == 0)
            snprintf(ni->node_ip, sizeof ni->node_ip, "%s", v);
        else if (strcmp(k, "node_port") == 0)
            ni->node_port = atoi(v);
    }
    fclose(f);
    return 0;
}

/* ---- finding the node through the GCS -------------------------------------------- */

struct target {
    char unix_path[512];
    char host[256];
    int port;
    char session_dir[1024];
    char token[512]; /* the token the GCS took: the node's too */
};

static int target_from_gcs(const char *address, const char *token, struct target *tg)
{
    char host[256], err[512];
    int port;
    struct gcs_node *nodes = NULL;
    size_t n = 0;
    char tok[512];

    if (net_parse_hostport(address, host, sizeof host, &port, err, sizeof err) < 0)
        return api_error_(RAY_EINVAL, "%s", err);
    char latest[] = "/tmp/ray/session_latest";
    struct token_where w = { .given = token, .host = host, .port = port, .fallback_dir = latest };
    token_find(&w, tok, sizeof tok);
    snprintf(tg->token, sizeof tg->token, "%s", tok);
    struct gcs_sync *gs = gcs_sync_connect(host, port, tok[0] ? tok : NULL, "default",
                                           API_GCS_TIMEOUT_MS, err, sizeof err);
    if (gs == NULL)
        return api_error_(strstr(err, "authentication") ? RAY_EAUTH : RAY_ECONN, "%s", err);
    if (gcs_sync_nodes(gs, &nodes, &n) < 0) {
        int rc = api_error_(RAY_ECONN, "cannot read the node table from %s: %s", address,
                            gcs_sync_errstr(gs));
        gcs_sync_free(gs);
        return rc;
    }
    gcs_sync_free(gs);

    int local = -1, head = -1, any = -1;
    for (size_t i = 0; i < n; i++) {
        const struct gcs_node *nd = &nodes[i];
        if (nd->state && strcmp(nd->state, "ALIVE") != 0)
            continue;
        if (any < 0)
            any = (int)i;
        if (nd->is_head && head < 0)
            head = (int)i;
        /* a node on this machine: the head if it is here (several nodes can
         * share a machine; the head is the one a user means), else the first */
        bool better = local < 0 || (nd->is_head && !nodes[local].is_head);
        if (better && nd->session_dir && nd->session_dir[0]) {
            char path[1100];
            struct node_info ni;
            snprintf(path, sizeof path, "%s/node.info", nd->session_dir);
            if (node_info_read(path, &ni) == 0 && ni.socket[0]) {
                local = (int)i;
                snprintf(tg->unix_path, sizeof tg->unix_path, "%s", ni.socket);
                snprintf(tg->session_dir, sizeof tg->session_dir, "%s", nd->session_dir);
            }
        }
    }
    int rc = RAY_OK;
    if (local < 0) {
        int pick = head >= 0 ? head : any;
        if (pick < 0 || nodes[pick].address == NULL || nodes[pick].port <= 0) {
            rc = api_error_(RAY_ECONN, "the cluster at %s has no live node", address);
        } else {
            snprintf(tg->host, sizeof tg->host, "%s", nodes[pick].address);
            tg->port = nodes[pick].port;
        }
    }
    gcs_node_array_free(nodes, n);
    return rc;
}

/* Fill *TG from ADDRESS (NULL/"": this machine's node). */
static int target_resolve(const char *address, const char *token, struct target *tg)
{
    memset(tg, 0, sizeof *tg);
    if (address == NULL || address[0] == '\0') {
        struct node_info ni;
        if (node_info_read(API_NODE_INFO_DEFAULT, &ni) < 0 || ni.socket[0] == '\0')
            return api_error_(RAY_ECONN,
                              "no node is running on this machine (%s: %s); start one with "
                              "`ray start --head` or give an address",
                              API_NODE_INFO_DEFAULT, errno ? strerror(errno) : "no socket line");
        snprintf(tg->unix_path, sizeof tg->unix_path, "%s", ni.socket);
        snprintf(tg->session_dir, sizeof tg->session_dir, "%s", ni.session_dir);
        return RAY_OK;
    }
    if (strncmp(address, "unix:", 5) == 0) {
        snprintf(tg->unix_path, sizeof tg->unix_path, "%s", address + 5);
        return RAY_OK;
    }
    return target_from_gcs(address, token, tg);
}

/* ---- ray_init / ray_shutdown ------------------------------------------------------- */

/* Read PATH whole into a malloc'd buffer. Returns RAY_OK or RAY_EINVAL/RAY_ENOMEM. */
static int file_read(const char *path, void **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return api_error_(RAY_EINVAL, "cannot read job library %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || st.st_size <= 0) {
        fclose(f);
        return api_error_(RAY_EINVAL, "job library %s is empty or unreadable", path);
    }
    void *p = malloc((size_t)st.st_size);
    if (p == NULL) {
        fclose(f);
        return api_error_(RAY_ENOMEM, "out of memory reading %s", path);
    }
    size_t n = fread(p, 1, (size_t)st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        free(p);
        return api_error_(RAY_EINVAL, "short read of job library %s", path);
    }
    *data = p;
    *len = n;
    return RAY_OK;
}

int ray_init(const ray_config *cfg)
{
    void *lib = NULL;
    size_t lib_len = 0;
    struct target tg;
    struct buf f = BUF_INIT;
    int rc;

    api_error_clear_();
    pthread_mutex_lock(&life_mu);
    if (api_client_connected_()) {
        pthread_mutex_unlock(&life_mu);
        return RAY_OK;
    }
    api_client_close_(); /* a broken earlier connection, if any */

    const char *address = cfg && cfg->address ? cfg->address : getenv("RAY_ADDRESS");
    const char *library = cfg ? cfg->library : NULL;
    const char *token = cfg ? cfg->token : NULL;

    if (cfg && cfg->runtime_env && (rc = api_renv_set_job_(cfg->runtime_env)) != RAY_OK)
        goto out;
    if (library) {
        if (dlopen(library, RTLD_NOW | RTLD_GLOBAL) == NULL) {
            rc = api_error_(RAY_EINVAL, "cannot load job library %s: %s", library, dlerror());
            goto out;
        }
        api_registry_set_library_(library);
        if ((rc = file_read(library, &lib, &lib_len)) != RAY_OK)
            goto out;
    }
    if ((rc = target_resolve(address, token, &tg)) != RAY_OK)
        goto out;
    if (library && proto_pack(&f, PROTO_JOB_LIBRARY, lib, lib_len, library) < 0) {
        rc = api_pack_error_(&f, "job library %s is too large to send", library);
        goto out;
    }

    /* a driver outlives its node's rayd: it reconnects to the same address
     * and sends its library again first (docs/faults.md) */
    struct api_connect_opts o = {
        .unix_path = tg.unix_path[0] ? tg.unix_path : NULL,
        .tcp_host = tg.host,
        .tcp_port = tg.port,
        .token = tg.token[0] ? tg.token : token,
        .session_dir = tg.session_dir[0] ? tg.session_dir : NULL,
        .role = PROTO_ROLE_DRIVER,
        .reconnect = true,
        .first = library ? &f : NULL,
    };
    if ((rc = api_client_connect_(&o)) != RAY_OK)
        goto out;
    if (library) {
        if ((rc = api_client_send_(&f)) != RAY_OK) {
            api_client_close_();
            goto out;
        }
    }
    if ((rc = api_renv_upload_()) != RAY_OK) {
        api_client_close_();
        goto out;
    }
out:
    pthread_mutex_unlock(&life_mu);
    free(lib);
    buf_free(&f);
    return rc;
}

void ray_shutdown(void)
{
    api_error_clear_();
    pthread_mutex_lock(&life_mu);
    /* A task calling ray_shutdown must not cut its worker off the node. */
    if (api_client_role_() != PROTO_ROLE_WORKER) {
        api_events_flush_();
        api_client_close_();
    }
    pthread_mutex_unlock(&life_mu);
}

/* ---- rayd --driver -------------------------------------------------------------------- */

typedef int (*ray_main_fn)(int argc, char **argv);

/*
 * The node that started this driver died, and with it the read ends of the
 * driver's stdout and stderr (a write there would kill the driver with
 * SIGPIPE, which it ignores now). Once reconnected, fds 1 and 2 become
 * pipes of its own, and a thread sends their lines to the node as
 * DRIVER_OUTPUT, which streams them to `ray submit` (reattached: JOB_ATTACH)
 * and the job's log as before (docs/faults.md). Runs on the I/O thread, once
 * per reconnect; the pipes are made once.
 */
static struct {
    bool on;
    int rfd[2];         /* read ends: stdout, stderr */
    pthread_t thread;
} drv_out = { .rfd = { -1, -1 } };

/* Send the whole lines of B (stream STREAM); keeps a partial last line. */
static void drv_out_lines(struct buf *b, int stream, bool all)
{
    size_t pos = 0;
    for (;;) {
        char *nl = memchr(b->data + pos, '\n', b->len - pos);
        size_t end = nl ? (size_t)(nl - b->data) : b->len;
        if (nl == NULL && (!all || end == pos))
            break;
        struct buf f = BUF_INIT;
        struct buf line = BUF_INIT;
        buf_append(&line, b->data + pos, end - pos);
        buf_append(&line, "", 1);
        if (proto_pack(&f, PROTO_DRIVER_OUTPUT, (uint64_t)stream, line.data) == 0)
            api_client_send_(&f);
        buf_free(&f);
        buf_free(&line);
        pos = nl ? end + 1 : end;
        if (nl == NULL)
            break;
    }
    buf_consume(b, pos);
}

static void *drv_out_main(void *arg)
{
    (void)arg;
    struct buf acc[2] = { BUF_INIT, BUF_INIT };
    bool open_[2] = { true, true };
    while (open_[0] || open_[1]) {
        struct pollfd p[2] = { { .fd = open_[0] ? drv_out.rfd[0] : -1, .events = POLLIN },
                               { .fd = open_[1] ? drv_out.rfd[1] : -1, .events = POLLIN } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int s = 0; s < 2; s++) {
            if (!open_[s] || !(p[s].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t n = read(drv_out.rfd[s], chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                open_[s] = false;
                drv_out_lines(&acc[s], s + 1, true);
                continue;
            }
            buf_append(&acc[s], chunk, (size_t)n);
            drv_out_lines(&acc[s], s + 1, acc[s].len > 65536);
        }
    }
    buf_free(&acc[0]);
    buf_free(&acc[1]);
    return NULL;
}

static void driver_reconnected(void)
{
    if (drv_out.on)
        return;
    int p[2][2];
    if (pipe2(p[0], O_CLOEXEC) < 0)
        return;
    if (pipe2(p[1], O_CLOEXEC) < 0) {
        close(p[0][0]);
        close(p[0][1]);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    dup2(p[0][1], 1);
    dup2(p[1][1], 2);
    close(p[0][1]);
    close(p[1][1]);
    drv_out.rfd[0] = p[0][0];
    drv_out.rfd[1] = p[1][0];
    if (pthread_create(&drv_out.thread, NULL, drv_out_main, NULL) != 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
        close(p[0][0]);
        close(p[1][0]);
        return;
    }
    drv_out.on = true;
}

/* At the driver's end: the last lines sent, then its status. */
static void driver_output_end(int status)
{
    if (!drv_out.on)
        return;
    fflush(stdout);
    fflush(stderr);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(null, 1); /* the pipes' last write ends: the thread reads to EOF */
    dup2(null, 2);
    close(null);
    pthread_join(drv_out.thread, NULL);
    close(drv_out.rfd[0]);
    close(drv_out.rfd[1]);
    drv_out.on = false;
    struct buf f = BUF_INIT;
    if (proto_pack(&f, PROTO_DRIVER_EXIT, (int64_t)status) == 0)
        api_client_send_(&f);
    buf_free(&f);
}

int api_driver_main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *sock = getenv("RAY_NODE_SOCKET");
    const char *job = getenv("RAY_JOB_ID");
    const char *lib = getenv("RAY_JOB_LIBRARY");
    if (!sock || !sock[0] || !job || !job[0] || !lib || !lib[0]) {
        fprintf(stderr, "ray: --driver needs RAY_NODE_SOCKET, RAY_JOB_ID and RAY_JOB_LIBRARY "
                        "(drivers are started by their node)\n");
        return 2;
    }
    char *end;
    unsigned long jobn = strtoul(job, &end, 16);
    if (*end != '\0' || jobn > UINT32_MAX) {
        fprintf(stderr, "ray: bad RAY_JOB_ID '%s'\n", job);
        return 2;
    }
    const char *name = api_library_name_(lib);
    if (api_renv_enter_() < 0)
        return 2;
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (h == NULL) {
        fprintf(stderr, "ray: %s: %s\n", name, api_dlerror_(lib));
        return 2;
    }
    ray_main_fn entry;
    *(void **)&entry = dlsym(h, "ray_main");
    if (entry == NULL) {
        fprintf(stderr, "ray: %s: not a job library (no ray_main)\n", name);
        return 2;
    }
    api_registry_set_library_(name);

    struct api_connect_opts o = {
        .unix_path = sock,
        .session_dir = getenv("RAY_SESSION_DIR"),
        .role = PROTO_ROLE_DRIVER,
        .has_job = true,
        .job = (uint32_t)jobn,
        .reconnect = true,
        .on_reconnected = driver_reconnected,
    };
    signal(SIGPIPE, SIG_IGN); /* its node's death must not kill it through its output pipe */
    pthread_mutex_lock(&life_mu);
    int rc = api_client_connect_(&o);
    pthread_mutex_unlock(&life_mu);
    if (rc != RAY_OK) {
        fprintf(stderr, "ray: cannot connect to the node: %s\n", ray_last_error());
        return 1;
    }

    /* argv: skip the program name (or "--driver") and a "--driver" after it. */
    int first = 1;
    if (argc > 1 && strcmp(argv[0], "--driver") != 0 && strcmp(argv[1], "--driver") == 0)
        first = 2;
    int jargc = argc >= first ? argc - first + 1 : 1;
    char **jargv = calloc((size_t)jargc + 1, sizeof *jargv);
    if (jargv == NULL) {
        fprintf(stderr, "ray: out of memory\n");
        return 1;
    }
    const char *slash = strrchr(name, '/');
    jargv[0] = (char *)(slash ? slash + 1 : name);
    for (int i = 1; i < jargc; i++)
        jargv[i] = argv[first + i - 1];

    rc = entry(jargc, jargv);
    fflush(stdout);
    fflush(stderr);
    driver_output_end(rc); /* only after a reconnect: the node did not start us */
    ray_shutdown();
    free(jargv);
    return rc;
}

/*
 * A standalone driver links libray.a, and the linker takes from an archive
 * only the objects the program refers to. The job library it dlopens calls
 * ray_* functions the driver itself may never name (ray_return,
 * ray_register_function_, ...), so this table refers to every public entry
 * point: linking ray_init brings the whole API in. (The driver must also be
 * linked with -rdynamic so the job library can see them; ray.pc says so.)
 */
__attribute__((used)) static const void *const api_keep_[] = {
    (const void *)ray_strerror, (const void *)ray_last_error, (const void *)ray_init,
    (const void *)ray_shutdown, (const void *)ray_put, (const void *)ray_create,
    (const void *)ray_seal, (const void *)ray_get, (const void *)ray_get_all,
    (const void *)ray_value_release, (const void *)ray_wait, (const void *)ray_free,
    (const void *)ray_call, (const void *)ray_return, (const void *)ray_return_alloc,
    (const void *)ray_fail, (const void *)ray_actor_create, (const void *)ray_actor_call,
    (const void *)ray_actor_kill, (const void *)ray_actor_lookup, (const void *)ray_pg_create,
    (const void *)ray_pg_wait, (const void *)ray_pg_remove, (const void *)ray_pg_lookup, (const void *)ray_node_id,
    (const void *)ray_job_id, (const void *)ray_register_function_,
    (const void *)ray_register_actor_, (const void *)ray_register_method_,
    (const void *)ray_strlen_,
};
