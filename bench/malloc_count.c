/*
 * malloc_count.c — an LD_PRELOAD shim that counts a process's heap
 * allocations, for bench/alloc_cost.sh (how many allocations the node makes
 * per task). A measuring instrument of bench/, never linked into rayd.
 *
 * Every process started with it (MALLOC_COUNT_DIR set) maps the file
 * MALLOC_COUNT_DIR/count.PID (shared, so another process reads the counts
 * while this one runs) and adds one to it at each malloc, calloc, realloc
 * (of a new block or a move), posix_memalign, aligned_alloc, memalign and
 * valloc. With MALLOC_COUNT_MATCH set, only a process whose command line
 * holds that string counts, and it takes the shim out of its children's
 * environment (Redis, started by the node, does not run under it); the
 * others pass it on. With MALLOC_COUNT_SITES=1 it also keeps, in the same file, up to
 * SITES_MAX distinct call stacks (DEPTH return addresses, from backtrace(3))
 * with their counts, and copies /proc/self/maps to maps.PID once, so that
 * alloc_cost.sh can name them with addr2line. Layout of count.PID: struct
 * shared below. The real allocator is reached through the glibc names
 * (__libc_malloc ...), so no dlsym is needed before the first allocation.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SITES_MAX 4096
#define DEPTH 8

struct site {
    uint64_t count;
    uintptr_t pc[DEPTH];
};

struct shared {
    uint64_t allocs; /* every allocation */
    uint64_t nsites; /* sites[] in use */
    uint64_t lost;   /* allocations whose stack found no free slot */
    struct site sites[SITES_MAX];
};

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static struct shared *sh;
static int sites_on;
static __thread int inside; /* backtrace allocates on its first call */
static int state;           /* 0 not set up, 1 setting up, 2 counting, 3 off */

static void setup(void)
{
    state = 1;
    const char *dir = getenv("MALLOC_COUNT_DIR");
    if (dir == NULL) {
        state = 3;
        return;
    }
    const char *m = getenv("MALLOC_COUNT_MATCH");
    if (m && m[0]) {
        char cmd[4096];
        int cf = open("/proc/self/cmdline", O_RDONLY);
        ssize_t n = cf >= 0 ? read(cf, cmd, sizeof cmd - 1) : -1;
        if (cf >= 0)
            close(cf);
        for (ssize_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n > 0 ? n : 0] = '\0';
        if (strstr(cmd, m) == NULL) {
            state = 3;
            return;
        }
        unsetenv("LD_PRELOAD");
    }
    char path[512];
    snprintf(path, sizeof path, "%s/count.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, sizeof *sh) < 0) {
        state = 3;
        return;
    }
    void *p = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        state = 3;
        return;
    }
    sh = p;
    const char *s = getenv("MALLOC_COUNT_SITES");
    sites_on = s && s[0] == '1';
    state = 2;
}

static void save_maps(void)
{
    static int saved;
    if (saved)
        return;
    saved = 1;
    char path[512], buf[4096];
    snprintf(path, sizeof path, "%s/maps.%d", getenv("MALLOC_COUNT_DIR"), (int)getpid());
    int in = open("/proc/self/maps", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

/* One allocation: count it, and its call stack when asked. Single-threaded
 * processes are exact; threads may race on a new site's slot (a count lost
 * to a torn slot is within the measurement's noise, the total is atomic). */
static void count(void)
{
    if (state == 0)
        setup();
    if (state != 2 || inside)
        return;
    __atomic_add_fetch(&sh->allocs, 1, __ATOMIC_RELAXED);
    if (!sites_on)
        return;
    inside = 1;
    void *pc[DEPTH + 2] = { 0 };
    int n = backtrace(pc, DEPTH + 2); /* [0] is count, [1] the shim's malloc */
    struct site key = { 0 };
    for (int i = 2; i < n && i - 2 < DEPTH; i++)
        key.pc[i - 2] = (uintptr_t)pc[i];
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < DEPTH; i++)
        h = (h ^ key.pc[i]) * 1099511628211ull;
    for (uint64_t k = 0; k < SITES_MAX; k++) {
        struct site *s = &sh->sites[(h + k) % SITES_MAX];
        if (s->count && memcmp(s->pc, key.pc, sizeof key.pc) == 0) {
            __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
            goto done;
        }
        if (s->count == 0) {
            memcpy(s->pc, key.pc, sizeof key.pc);
            __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&sh->nsites, 1, __ATOMIC_RELAXED);
            save_maps();
            goto done;
        }
    }
    __atomic_add_fetch(&sh->lost, 1, __ATOMIC_RELAXED);
done:
    inside = 0;
}

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    count();
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    void *q = __libc_realloc(p, n);
    if (q != p && q != NULL)
        count(); /* a new block, or one that moved */
    return q;
}

void free(void *p)
{
    __libc_free(p);
}

int posix_memalign(void **out, size_t al, size_t n)
{
    count();
    void *p = __libc_memalign(al, n);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t al, size_t n)
{
    count();
    return __libc_memalign(al, n);
}

void *memalign(size_t al, size_t n)
{
    count();
    return __libc_memalign(al, n);
}

void *valloc(size_t n)
{
    count();
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}
