/*
 * job_pool.c — what test_pool.sh submits: ray_pool's calls, each printing
 * what a user would see (results, failed items by index, restarts).
 *
 *   ray submit job_pool.so -- map N | unordered N | imap N | apply | str N |
 *                             crash_once DIR | crash_always DIR | unknown | nodes N
 */
#include <ray.h>
#include <ray_pool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

/* square(i): i*i, but an item i with i % 50 == 17 fails. */
static int square(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 1 || a[0].type != RAY_INT)
        return ray_fail(t, "square wants one int");
    if (a[0].as.i % 50 == 17)
        return ray_fail(t, "bad item %lld", (long long)a[0].as.i);
    return ray_return(t, RAY_I(a[0].as.i * a[0].as.i));
}
RAY_REMOTE(square);

static int add(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 2 || a[0].type != RAY_INT || a[1].type != RAY_INT)
        return ray_fail(t, "add wants two ints, got %zu values", n);
    return ray_return(t, RAY_I(a[0].as.i + a[1].as.i));
}
RAY_REMOTE(add);

/* label(i): the string "item-<i>" */
static int label(ray_task *t, const ray_value *a, size_t n)
{
    char buf[64];
    (void)n;
    snprintf(buf, sizeof buf, "item-%lld", (long long)a[0].as.i);
    return ray_return(t, RAY_S(buf));
}
RAY_REMOTE(label);

static int where(ray_task *t, const ray_value *a, size_t n)
{
    (void)a;
    (void)n;
    usleep(2000);
    return ray_return(t, RAY_S(ray_node_id()));
}
RAY_REMOTE(where);

/* crash(s): S is "DIR|MODE|i"; item 7 aborts its process (MODE once: only
 * the first time, remembered by DIR/crashed). */
static int crash(ray_task *t, const ray_value *a, size_t n)
{
    char dir[512], mode[16];
    long i;
    if (n != 1 || a[0].type != RAY_STR ||
        sscanf(a[0].as.buf.ptr, "%511[^|]|%15[^|]|%ld", dir, mode, &i) != 3)
        return ray_fail(t, "crash wants DIR|MODE|i");
    if (i == 7) {
        char marker[600];
        snprintf(marker, sizeof marker, "%s/crashed", dir);
        int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd >= 0 || strcmp(mode, "always") == 0)
            abort();
    }
    return ray_return(t, RAY_I(i));
}
RAY_REMOTE(crash);

/* slow(s): S is "DIR|i"; sleeps 10 ms, leaves DIR/pid.<its pid> and returns i. */
static int slow(ray_task *t, const ray_value *a, size_t n)
{
    char dir[512], path[600];
    long i;
    if (n != 1 || a[0].type != RAY_STR || sscanf(a[0].as.buf.ptr, "%511[^|]|%ld", dir, &i) != 2)
        return ray_fail(t, "slow wants DIR|i");
    /* DIR/pid.<pid>: written once per process, renamed into place whole */
    char tmp[620];
    snprintf(path, sizeof path, "%s/pid.%d", dir, (int)getpid());
    if (access(path, F_OK) != 0) {
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
            rename(tmp, path);
        }
    }
    usleep(10000);
    return ray_return(t, RAY_I(i));
}
RAY_REMOTE(slow);

/* describe([i, "s"]): the map {"i": i * 10, "s": "<s>!"} */
static int describe(ray_task *t, const ray_value *a, size_t n)
{
    if (n != 1 || ray_list_len(&a[0]) != 2 || ray_list_at(&a[0], 0)->type != RAY_INT ||
        ray_list_at(&a[0], 1)->type != RAY_STR)
        return ray_fail(t, "describe wants [int, str]");
    char buf[64];
    snprintf(buf, sizeof buf, "%s!", (const char *)ray_list_at(&a[0], 1)->as.buf.ptr);
    ray_value k[2] = { RAY_S("i"), RAY_S("s") };
    ray_value v[2] = { RAY_I(ray_list_at(&a[0], 0)->as.i * 10), RAY_S(buf) };
    return ray_return(t, RAY_MAP_V(k, v, 2));
}
RAY_REMOTE(describe);

static void print_failures(const ray_pool_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].status != RAY_OK)
            printf("failed: index %zu status %s: %s\n", r[i].index, ray_strerror(r[i].status),
                   r[i].error);
}

static ray_value *int_items(size_t n)
{
    ray_value *v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = RAY_I((int64_t)i);
    return v;
}

int ray_main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "map";
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    /* nodes: 4 actors that need the custom resource "side" only the second node has */
    int nact = strcmp(mode, "nodes") == 0 ? 4 : 2;
    ray_pool_opts po = RAY_POOL_OPTS;
    if (nact == 4) {
        po.actor.num_cpus = 0;
        po.actor.resources = "side=1";
    }
    ray_pool *p;
    int rc = ray_pool_new(nact, &po, &p);
    if (rc != RAY_OK) {
        printf("ray_pool_new: %s\n", ray_last_error());
        return 1;
    }
    if (strncmp(mode, "crash", 5) == 0 || strcmp(mode, "kill") == 0)
        n = 10;
    ray_value *items = int_items(n);
    ray_pool_result *res = calloc(n ? n : 1, sizeof *res);
    int status = 0;

    if (strcmp(mode, "map") == 0 || strcmp(mode, "unordered") == 0) {
        bool ord = strcmp(mode, "map") == 0;
        rc = ord ? ray_pool_map(p, "square", items, n, res)
                 : ray_pool_map_unordered(p, "square", items, n, res);
        printf("%s: rc %s: %s\n", mode, ray_strerror(rc), ray_last_error());
        size_t ok = 0, bad = 0, wrong = 0, inorder = 0;
        bool *seen = calloc(n, 1);
        for (size_t i = 0; i < n; i++) {
            size_t idx = res[i].index;
            if (idx < n)
                seen[idx] = true;
            if (idx == i)
                inorder++;
            if (res[i].status == RAY_OK) {
                ok++;
                if (res[i].value.type != RAY_INT || res[i].value.as.i != (int64_t)(idx * idx))
                    wrong++;
            } else {
                bad++;
            }
        }
        size_t cover = 0;
        for (size_t i = 0; i < n; i++)
            cover += seen[i];
        printf("%s: %zu ok, %zu failed, %zu wrong values, %zu of %zu indices, %s\n", mode, ok, bad,
               wrong, cover, n, inorder == n ? "in order" : "not in order");
        print_failures(res, n);
        ray_pool_result_release(res, n);
        free(seen);
    } else if (strcmp(mode, "imap") == 0) {
        for (int ord = 1; ord >= 0; ord--) {
            ray_pool_iter *it;
            if ((rc = ray_pool_imap(p, "square", items, n, ord, &it)) != RAY_OK) {
                printf("imap: %s\n", ray_last_error());
                return 1;
            }
            ray_pool_result r;
            size_t got = 0, inorder = 0, bad = 0;
            while ((rc = ray_pool_iter_next(it, 30000, &r)) == RAY_OK) {
                if (r.index == got)
                    inorder++;
                if (r.status != RAY_OK)
                    bad++;
                got++;
                ray_pool_result_release(&r, 1);
            }
            printf("imap %s: %zu results, %zu failed, %s, last rc %s\n",
                   ord ? "ordered" : "unordered", got, bad,
                   inorder == got ? "in order" : "not in order", ray_strerror(rc));
            ray_pool_iter_free(it);
        }
    } else if (strcmp(mode, "apply") == 0) {
        ray_pool_async *a, *b;
        ray_value args[2] = { RAY_I(40), RAY_I(2) };
        ray_pool_apply_async(p, "add", args, 2, &a);
        ray_pool_apply_async(p, "add", args, 1, &b);
        ray_pool_result r;
        rc = ray_pool_async_get(a, 30000, &r);
        printf("apply add(40, 2): %s = %lld\n", ray_strerror(rc), (long long)r.value.as.i);
        ray_pool_result_release(&r, 1);
        rc = ray_pool_async_get(b, 30000, &r);
        printf("apply add(40): %s: %s\n", ray_strerror(rc), r.error);
        ray_pool_result_release(&r, 1);
        printf("ready: %d\n", ray_pool_async_ready(a));
        ray_pool_async_free(a);
        ray_pool_async_free(b);
        rc = ray_pool_map(p, "no_such_fn", items, n, res);
        printf("unknown: %s: %s\n", ray_strerror(rc), ray_last_error());
        ray_pool_close(p);
        rc = ray_pool_map(p, "square", items, n, res);
        printf("after close: %s: %s\n", ray_strerror(rc), ray_last_error());
        printf("join: %s\n", ray_strerror(ray_pool_join(p)));
    } else if (strcmp(mode, "str") == 0) {
        rc = ray_pool_map(p, "label", items, n, res);
        ray_pool_free(p);
        p = NULL;
        size_t good = 0;
        char want[64];
        for (size_t i = 0; i < n; i++) {
            snprintf(want, sizeof want, "item-%zu", i);
            if (res[i].status == RAY_OK && res[i].value.type == RAY_STR &&
                strcmp(res[i].value.as.buf.ptr, want) == 0)
                good++;
        }
        printf("str: %s, %zu of %zu labels right after the pool was freed\n", ray_strerror(rc),
               good, n);
        ray_pool_result_release(res, n);
    } else if (strcmp(mode, "crash_once") == 0 || strcmp(mode, "crash_always") == 0) {
        const char *dir = argv[2];
        size_t nc = 40;
        char (*s)[600] = calloc(nc, sizeof *s);
        ray_value *it = calloc(nc, sizeof *it);
        for (size_t i = 0; i < nc; i++) {
            snprintf(s[i], sizeof s[i], "%s|%s|%zu", dir, mode + 6, i);
            it[i] = RAY_S(s[i]);
        }
        ray_pool_result *cr = calloc(nc, sizeof *cr);
        rc = ray_pool_map(p, "crash", it, nc, cr);
        size_t ok = 0;
        for (size_t i = 0; i < nc; i++)
            ok += cr[i].status == RAY_OK && cr[i].value.as.i == (int64_t)i;
        printf("%s: rc %s, %zu of %zu ok, restarts %llu\n", mode, ray_strerror(rc), ok, nc,
               (unsigned long long)ray_pool_restarts(p));
        print_failures(cr, nc);
        ray_pool_result_release(cr, nc);
        free(cr);
        free(it);
        free(s);
        /* the pool still works after the replacement */
        rc = ray_pool_map(p, "square", items, 10, res);
        printf("after: map of 10: %s\n", ray_strerror(rc));
        ray_pool_result_release(res, 10);
    } else if (strcmp(mode, "kill") == 0) {
        /* test_pool.sh kills the worker named in DIR/pid while this runs */
        const char *dir = argv[2];
        size_t nk = 300;
        char (*s)[600] = calloc(nk, sizeof *s);
        ray_value *it = calloc(nk, sizeof *it);
        for (size_t i = 0; i < nk; i++) {
            snprintf(s[i], sizeof s[i], "%s|%zu", dir, i);
            it[i] = RAY_S(s[i]);
        }
        ray_pool_iter *iter;
        ray_pool_result r;
        ray_pool_imap(p, "slow", it, nk, true, &iter);
        rc = ray_pool_iter_next(iter, 1, &r);
        printf("kill: first result within 1 ms: %s\n", ray_strerror(rc));
        if (rc == RAY_OK)
            ray_pool_result_release(&r, 1);
        size_t ok = rc == RAY_OK, got = rc == RAY_OK, inorder = 0;
        while ((rc = ray_pool_iter_next(iter, 60000, &r)) == RAY_OK) {
            inorder += r.index == got;
            ok += r.status == RAY_OK && r.value.as.i == (int64_t)r.index;
            got++;
            if (r.status != RAY_OK)
                printf("failed: index %zu: %s\n", r.index, r.error);
            ray_pool_result_release(&r, 1);
        }
        ray_pool_iter_free(iter);
        printf("kill: %zu of %zu ok, %s, restarts %llu\n", ok, nk,
               inorder + 1 >= got ? "in order" : "not in order",
               (unsigned long long)ray_pool_restarts(p));
        free(s);
        free(it);
    } else if (strcmp(mode, "lists") == 0) {
        ray_value (*pair)[2] = calloc(n, sizeof *pair);
        char (*str)[32] = calloc(n, sizeof *str);
        ray_value *it = calloc(n, sizeof *it);
        for (size_t i = 0; i < n; i++) {
            snprintf(str[i], sizeof str[i], "s%zu", i);
            pair[i][0] = RAY_I((int64_t)i);
            pair[i][1] = RAY_S(str[i]);
            it[i] = RAY_LIST_V(pair[i], 2);
        }
        rc = ray_pool_map(p, "describe", it, n, res);
        free(pair);
        free(str);
        free(it);
        ray_pool_free(p); /* the maps outlive the pool */
        p = NULL;
        size_t good = 0;
        for (size_t i = 0; i < n; i++) {
            const ray_value *iv = ray_map_get(&res[i].value, "i"), *sv = ray_map_get(&res[i].value, "s");
            char want[40];
            snprintf(want, sizeof want, "s%zu!", i);
            good += res[i].status == RAY_OK && iv && iv->as.i == (int64_t)i * 10 && sv &&
                    strcmp(sv->as.buf.ptr, want) == 0;
        }
        printf("lists: %s, %zu of %zu maps right\n", ray_strerror(rc), good, n);
        ray_pool_result_release(res, n);
    } else if (strcmp(mode, "nodes") == 0) {
        rc = ray_pool_map(p, "where", items, n, res);
        char nodes[8][64];
        size_t nn = 0, ok = 0;
        for (size_t i = 0; i < n; i++) {
            if (res[i].status != RAY_OK)
                continue;
            ok++;
            size_t k;
            for (k = 0; k < nn; k++)
                if (strcmp(nodes[k], res[i].value.as.buf.ptr) == 0)
                    break;
            if (k == nn && nn < 8)
                snprintf(nodes[nn++], sizeof nodes[0], "%s", (const char *)res[i].value.as.buf.ptr);
        }
        printf("nodes: %s, %zu of %zu ok on %zu node(s), %s\n", ray_strerror(rc), ok, n, nn,
               nn == 1 && strcmp(nodes[0], ray_node_id()) != 0 ? "not the driver's" : "the driver's");
        ray_pool_result_release(res, n);
    } else {
        printf("unknown mode %s\n", mode);
        status = 2;
    }
    ray_pool_free(p);
    free(items);
    free(res);
    return status;
}
